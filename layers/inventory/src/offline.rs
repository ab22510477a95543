//! The offline source: recorded vendor responses in a folder, loaded exactly as live collection
//! would load them, so an estate can be imported without credentials.
//!
//! ```text
//! DIR/aws/<account id>/<region>/<file>.json     e.g. aws/111122223333/eu-west-1/ec2.describe-instances.json
//! DIR/aws/<account id>/global/<file>.json       S3, CloudFront, Route 53
//! DIR/aws/<account id>/<region>/<file>/<parent>.json   per-resource calls, e.g. s3.get-bucket-encryption/my-bucket.json
//! DIR/falcon/<file>.json                          falcon.devices.json, falcon.alerts.json
//! DIR/cloudflare/<file>.json, DIR/cloudflare/cloudflare.dns-records/<zone id>.json
//! ```
//! A `.json` file holds one response (what `aws ec2 describe-instances --output json` prints, what
//! the Falcon API returns) or a JSON array of responses (pages); a `.jsonl` file holds one
//! response per line. In a parent's file name `/` is written `%2F` and `%` is written `%25`
//! (Route 53 zone ids and load balancer ARNs contain slashes).

use crate::collector::{AwsScope, RecordSink};
use crate::error::{InventoryError, Result};
use crate::schema::Table;
use crate::sources;
use serde_json::Value;
use std::path::{Path, PathBuf};
use tokio::io::AsyncBufReadExt;

/// One collector run found in the folder.
#[derive(Debug, Clone)]
pub struct OfflineRun {
    pub collector: &'static str,
    pub tables: &'static [&'static Table],
    pub account_id: Option<String>,
    pub region: Option<String>,
    pub dir: PathBuf,
}

/// Every run the folder holds data for, in a stable order.
pub fn plan(root: &Path) -> Result<Vec<OfflineRun>> {
    if !root.is_dir() {
        return Err(InventoryError::invalid_input(format!("{}: not a folder", root.display())));
    }
    let mut runs = Vec::new();
    let aws = root.join("aws");
    for account_dir in sorted_dirs(&aws)? {
        let account = file_name(&account_dir);
        if account.len() != 12 || !account.bytes().all(|b| b.is_ascii_digit()) {
            return Err(InventoryError::invalid_input(format!(
                "{}: expected a 12-digit AWS account id as the folder name",
                account_dir.display()
            )));
        }
        for region_dir in sorted_dirs(&account_dir)? {
            let region = file_name(&region_dir);
            let global = region == "global";
            if !global && !secops_core::config::is_region_name(&region) {
                return Err(InventoryError::invalid_input(format!(
                    "{}: expected an AWS region name or `global` as the folder name",
                    region_dir.display()
                )));
            }
            for collector in sources::aws::COLLECTORS {
                if (collector.scope == AwsScope::Global) != global {
                    continue;
                }
                if collector.tables.iter().any(|t| has_data(&region_dir, t)) {
                    runs.push(OfflineRun {
                        collector: collector.name,
                        tables: collector.tables,
                        account_id: Some(account.clone()),
                        region: Some(region.clone()),
                        dir: region_dir.clone(),
                    });
                }
            }
        }
    }
    for (vendor, name, tables) in
        [("falcon", "falcon", sources::falcon::TABLES), ("cloudflare", "cloudflare", sources::cloudflare::TABLES)]
    {
        let dir = root.join(vendor);
        if tables.iter().any(|t| has_data(&dir, t)) {
            runs.push(OfflineRun { collector: name, tables, account_id: None, region: None, dir });
        }
    }
    Ok(runs)
}

/// Feed one run's files to the sink, table by table.
pub async fn replay(run: &OfflineRun, out: &mut dyn RecordSink) -> Result<()> {
    for &table in run.tables {
        for file in data_files(&run.dir, table)? {
            let parent = if table.parent.is_some() { Some(parent_of(&file)) } else { None };
            read_pages(&file, table, parent.as_deref(), out).await?;
        }
    }
    Ok(())
}

fn has_data(dir: &Path, table: &Table) -> bool {
    data_files(dir, table).is_ok_and(|files| !files.is_empty())
}

/// The files holding a table's pages: `<file>.json`/`.jsonl`, or every file of the `<file>/`
/// folder when the table is fetched per parent.
fn data_files(dir: &Path, table: &Table) -> Result<Vec<PathBuf>> {
    if table.parent.is_some() {
        let folder = dir.join(table.file);
        if !folder.is_dir() {
            return Ok(Vec::new());
        }
        let mut files: Vec<PathBuf> = std::fs::read_dir(&folder)
            .map_err(|e| InventoryError::invalid_input(format!("{}: {e}", folder.display())))?
            .filter_map(|entry| entry.ok().map(|e| e.path()))
            .filter(|p| is_data_file(p))
            .collect();
        files.sort();
        Ok(files)
    } else {
        Ok(["json", "jsonl"]
            .iter()
            .map(|ext| dir.join(format!("{}.{ext}", table.file)))
            .filter(|p| p.is_file())
            .collect())
    }
}

fn is_data_file(path: &Path) -> bool {
    path.is_file() && matches!(path.extension().and_then(|e| e.to_str()), Some("json" | "jsonl"))
}

/// The parent id a per-resource file is named after.
fn parent_of(file: &Path) -> String {
    let stem = file.file_stem().and_then(|s| s.to_str()).unwrap_or_default();
    stem.replace("%2F", "/").replace("%2f", "/").replace("%25", "%")
}

/// The file name for a parent id (the inverse of `parent_of`).
pub fn parent_file_name(parent: &str) -> String {
    parent.replace('%', "%25").replace('/', "%2F")
}

/// Hand every response page in the file to the sink, streaming `.jsonl` line by line.
async fn read_pages(file: &Path, table: &'static Table, parent: Option<&str>, out: &mut dyn RecordSink) -> Result<()> {
    let bad = |what: String| InventoryError::invalid_input(format!("{}: {what}", file.display()));
    if file.extension().and_then(|e| e.to_str()) == Some("jsonl") {
        let handle = tokio::fs::File::open(file).await.map_err(|e| bad(e.to_string()))?;
        let mut lines = tokio::io::BufReader::with_capacity(1 << 20, handle).lines();
        let mut number = 0usize;
        while let Some(line) = lines.next_line().await.map_err(|e| bad(e.to_string()))? {
            number += 1;
            if line.trim().is_empty() {
                continue;
            }
            let page = serde_json::from_str(&line).map_err(|e| bad(format!("line {number}: {e}")))?;
            out.page(table, parent, page).await.map_err(|e| e.context(format!("{} line {number}", file.display())))?;
        }
        return Ok(());
    }
    let bytes = tokio::fs::read(file).await.map_err(|e| bad(e.to_string()))?;
    let value: Value = serde_json::from_slice(&bytes).map_err(|e| bad(e.to_string()))?;
    drop(bytes);
    match value {
        Value::Array(pages) => {
            for (i, page) in pages.into_iter().enumerate() {
                if !page.is_object() {
                    return Err(bad(format!("page {i} is not a JSON object")));
                }
                out.page(table, parent, page).await.map_err(|e| e.context(format!("{} page {i}", file.display())))?;
            }
            Ok(())
        }
        Value::Object(_) => out.page(table, parent, value).await.map_err(|e| e.context(file.display())),
        _ => Err(bad("expected a response object or an array of them".into())),
    }
}

fn sorted_dirs(dir: &Path) -> Result<Vec<PathBuf>> {
    if !dir.is_dir() {
        return Ok(Vec::new());
    }
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(|e| InventoryError::invalid_input(format!("{}: {e}", dir.display())))?
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .filter(|p| p.is_dir())
        .collect();
    dirs.sort();
    Ok(dirs)
}

fn file_name(path: &Path) -> String {
    path.file_name().and_then(|n| n.to_str()).unwrap_or_default().to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parent_names_round_trip_through_file_names() {
        for parent in [
            "/hostedzone/Z123",
            "arn:aws:elasticloadbalancing:eu-west-1:111122223333:loadbalancer/app/web/50dc6c495c0c9188",
            "100%/x",
            "plain",
        ] {
            let file = PathBuf::from(format!("{}.json", parent_file_name(parent)));
            assert_eq!(parent_of(&file), parent);
            assert!(!parent_file_name(parent).contains('/'));
        }
    }
}
