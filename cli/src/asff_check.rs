//! `secops asff check`: say exactly what is wrong with a finding, and where.

use anyhow::{Context, Result};
use secops_core::asff::{parse_finding_value, AsffError};
use secops_core::event::parse_event_value;
use serde_json::Value;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

pub fn run(files: &[PathBuf]) -> Result<ExitCode> {
    let mut bad = 0usize;
    let mut good = 0usize;
    for file in files {
        let text = read(file)?;
        let name = file.display();
        let value: Value = match serde_json::from_str(&text) {
            Ok(v) => v,
            Err(e) => {
                println!("{name}: not valid JSON at line {} column {}: {e}", e.line(), e.column());
                bad += 1;
                continue;
            }
        };
        for (place, outcome) in check_document(&value) {
            match outcome {
                Ok(summary) => {
                    good += 1;
                    println!("{name}{place}: ok — {summary}");
                }
                Err(e) => {
                    bad += 1;
                    for problem in e.problems() {
                        println!("{name}{place}: {problem}");
                    }
                }
            }
        }
    }
    println!("{good} valid, {bad} invalid");
    Ok(if bad == 0 { ExitCode::SUCCESS } else { ExitCode::FAILURE })
}

fn read(file: &Path) -> Result<String> {
    if file.as_os_str() == "-" {
        let mut s = String::new();
        std::io::stdin().read_to_string(&mut s).context("reading standard input")?;
        return Ok(s);
    }
    std::fs::read_to_string(file).with_context(|| format!("reading {}", file.display()))
}

/// Every finding of a document, each with where it is and either a summary or its problems.
fn check_document(value: &Value) -> Vec<(String, Result<String, AsffError>)> {
    let one = |v: &Value| parse_finding_value(v).map(|f| summary(&f));
    match value {
        Value::Object(map) if map.contains_key("detail") || map.contains_key("detail-type") => {
            match parse_event_value(value) {
                Ok(event) => {
                    let n = event.findings().len();
                    event
                        .findings()
                        .iter()
                        .enumerate()
                        .map(|(i, f)| (format!(" detail.findings[{i}] of {n}"), Ok(summary(f))))
                        .collect()
                }
                Err(e) => vec![(String::new(), Err(e))],
            }
        }
        Value::Object(map) if map.get("Findings").is_some_and(Value::is_array) => map["Findings"]
            .as_array()
            .into_iter()
            .flatten()
            .enumerate()
            .map(|(i, f)| (format!(" Findings[{i}]"), one(f)))
            .collect(),
        Value::Array(items) => items.iter().enumerate().map(|(i, f)| (format!(" [{i}]"), one(f))).collect(),
        other => vec![(String::new(), one(other))],
    }
}

fn summary(f: &secops_core::asff::AwsSecurityFinding) -> String {
    let severity = f.severity.effective_label().map(|l| l.to_string()).unwrap_or_else(|| "?".into());
    let control = f.security_control_id().map(|c| format!(" {c}")).unwrap_or_default();
    format!("{}{control} {severity} in {}: {}", f.product(), f.aws_account_id, f.title)
}
