//! One collection: open a snapshot, run every collector over every account and region (or every
//! recorded folder) with a bound on parallel runs, land each run whole or record it as failed,
//! close the snapshot.

use crate::collector::{AwsCollector, AwsScope, AwsTarget, RecordSink, VendorCollector};
use crate::error::{InventoryError, Result};
use crate::load::RunLoader;
use crate::offline;
use crate::schema::Table;
use crate::snapshot::{self, SnapshotSummary};
use crate::sources;
use deadpool_postgres::Pool;
use futures::stream::{self, StreamExt};
use secops_aws::{AssumeRoleCache, RoleRequest};
use std::sync::Arc;

/// Where live AWS collection runs.
#[derive(Debug, Clone)]
pub struct AwsEstate {
    /// The collector's own credentials (the Lambda role, the daemon's instance role).
    pub base: aws_config::SdkConfig,
    pub accounts: Vec<String>,
    pub regions: Vec<String>,
    /// The read-only role assumed in every account.
    pub role_name: String,
}

/// What one collection reads.
#[derive(Debug, Default)]
pub struct CollectPlan {
    pub aws: Option<AwsEstate>,
    pub vendors: Vec<Arc<dyn VendorCollector>>,
    /// At most this many collector runs at once (each holds one database connection while it
    /// flushes, and one vendor connection while it fetches).
    pub concurrency: usize,
}

/// Collect live: AWS through AssumeRole into each account, and the configured vendors.
pub async fn collect(pool: &Pool, plan: &CollectPlan) -> Result<SnapshotSummary> {
    let snapshot_id = snapshot::begin(pool, "live").await?;
    let mut jobs: Vec<Job> = Vec::new();
    if let Some(estate) = &plan.aws {
        let roles = Arc::new(AssumeRoleCache::new(&estate.base, "secops-collect"));
        for account in &estate.accounts {
            for collector in sources::aws::COLLECTORS {
                let regions: Vec<Option<&String>> = match collector.scope {
                    AwsScope::Regional => estate.regions.iter().map(Some).collect(),
                    AwsScope::Global => vec![None],
                };
                for region in regions {
                    jobs.push(Job::Aws {
                        collector,
                        account_id: account.clone(),
                        region: region.cloned(),
                        // Global services are signed for the first configured region.
                        sign_region: region.or(estate.regions.first()).cloned().unwrap_or_else(|| "us-east-1".into()),
                        role_name: estate.role_name.clone(),
                        roles: roles.clone(),
                    });
                }
            }
        }
    }
    for vendor in &plan.vendors {
        jobs.push(Job::Vendor(vendor.clone()));
    }
    run_all(pool, snapshot_id, jobs, plan.concurrency).await?;
    snapshot::finish(pool, snapshot_id).await
}

/// Import a folder of recorded responses (see [`offline`]).
pub async fn collect_from_dir(pool: &Pool, dir: &std::path::Path, concurrency: usize) -> Result<SnapshotSummary> {
    let runs = offline::plan(dir)?;
    if runs.is_empty() {
        return Err(InventoryError::invalid_input(format!(
            "{}: no recorded responses found (expected aws/<account>/<region>/…, falcon/ or cloudflare/)",
            dir.display()
        )));
    }
    let snapshot_id = snapshot::begin(pool, &format!("dir:{}", dir.display())).await?;
    run_all(pool, snapshot_id, runs.into_iter().map(Job::Offline).collect(), concurrency).await?;
    snapshot::finish(pool, snapshot_id).await
}

enum Job {
    Aws {
        collector: &'static AwsCollector,
        account_id: String,
        region: Option<String>,
        sign_region: String,
        role_name: String,
        roles: Arc<AssumeRoleCache>,
    },
    Vendor(Arc<dyn VendorCollector>),
    Offline(offline::OfflineRun),
}

impl Job {
    fn describe(&self) -> (&'static str, &'static [&'static Table], Option<String>, Option<String>) {
        match self {
            Job::Aws { collector, account_id, region, .. } => (
                collector.name,
                collector.tables,
                Some(account_id.clone()),
                Some(region.clone().unwrap_or_else(|| "global".into())),
            ),
            Job::Vendor(v) => (v.name(), v.tables(), None, None),
            Job::Offline(run) => (run.collector, run.tables, run.account_id.clone(), run.region.clone()),
        }
    }

    async fn fetch(&self, out: &mut dyn RecordSink) -> Result<()> {
        match self {
            Job::Aws { collector, account_id, region, sign_region, role_name, roles } => {
                let request = RoleRequest::new(account_id.clone(), role_name.clone(), sign_region.clone());
                let sdk = roles.config_for(&request).await?;
                let target = AwsTarget {
                    account_id: account_id.clone(),
                    region: region.clone().unwrap_or_else(|| "global".into()),
                    sdk,
                };
                (collector.fetch)(&target, out).await
            }
            Job::Vendor(v) => v.collect(out).await,
            Job::Offline(run) => offline::replay(run, out).await,
        }
    }
}

async fn run_all(pool: &Pool, snapshot_id: i64, jobs: Vec<Job>, concurrency: usize) -> Result<()> {
    let results: Vec<Result<()>> = stream::iter(jobs)
        .map(|job| run_one(pool, snapshot_id, job))
        .buffer_unordered(concurrency.max(1))
        .collect()
        .await;
    // A run's own failure is recorded in the snapshot; only a failure to record it stops here.
    results.into_iter().collect()
}

async fn run_one(pool: &Pool, snapshot_id: i64, job: Job) -> Result<()> {
    let (collector, tables, account_id, region) = job.describe();
    let run_id = snapshot::begin_run(pool, snapshot_id, collector, account_id.as_deref(), region.as_deref()).await?;
    let mut loader = RunLoader::new(pool.clone(), snapshot_id, run_id, account_id.clone(), region.clone());
    let outcome = match job.fetch(&mut loader).await {
        Ok(()) => loader.finish().await,
        Err(e) => {
            // Whatever batch is still being copied must end before the run's rows are removed.
            let _ = loader.settle().await;
            Err(e)
        }
    };
    match &outcome {
        Ok(()) => snapshot::finish_run(pool, snapshot_id, run_id, tables, Ok((loader.records, &loader.shapes))).await,
        Err(e) => {
            let place =
                [Some(collector.to_owned()), account_id, region].into_iter().flatten().collect::<Vec<_>>().join(" ");
            let error = e.clone().context(place);
            tracing::warn!(snapshot_id, run_id, error = %error, "collector run failed; the snapshot will be partial");
            snapshot::finish_run(pool, snapshot_id, run_id, tables, Err(&error)).await
        }
    }
}
