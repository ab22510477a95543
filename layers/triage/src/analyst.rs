//! The analyst process (a Fargate task on AWS, an isolated subprocess locally): one finding, named
//! by its environment, analysed over a read-only database connection and reported on its task
//! token. It heartbeats while it works, so a hung analysis is noticed by the state machine.

use std::time::Duration;

use secops_aws::{load_sdk_config, AwsError, AwsSettings, TaskTokenReporter};
use secops_core::{AnalystTask, Config, StepError};
use serde_json::Value;

use crate::analysis;
use crate::finding::{FindingKey, Source};

/// Heartbeats while the analysis runs (the state machine's HeartbeatSeconds is 300).
const HEARTBEAT_EVERY: Duration = Duration::from_secs(60);

/// Analyse the task's finding and report the outcome on its token. Only a failure to report is an
/// error; a failed analysis is reported as such.
pub async fn run(config: &Config, task: &AnalystTask) -> Result<(), AwsError> {
    let sdk = load_sdk_config(&AwsSettings::from_config(config)).await;
    let reporter = TaskTokenReporter::new(&sdk, &task.task_token);
    reporter.heartbeat().await?;
    let beating = {
        let reporter = reporter.clone();
        tokio::spawn(async move {
            let mut ticker = tokio::time::interval(HEARTBEAT_EVERY);
            ticker.tick().await;
            loop {
                ticker.tick().await;
                if let Err(e) = reporter.heartbeat().await {
                    tracing::warn!("heartbeat failed: {e}");
                }
            }
        })
    };
    let outcome = analyse(config, &sdk, task).await;
    beating.abort();
    if let Err(e) = &outcome {
        tracing::warn!(error_type = e.name(), "{}", e.message);
    }
    reporter.report(&outcome).await
}

fn key(task: &AnalystTask) -> Result<FindingKey, StepError> {
    let id = task
        .finding_id
        .clone()
        .ok_or_else(|| StepError::invalid_input("no finding to analyse: SECOPS_FINDING_ID is not set".to_owned()))?;
    let source = task.source.as_deref().ok_or_else(|| {
        StepError::invalid_input(format!(
            "finding {id}: SECOPS_FINDING_SOURCE is not set, so the finding cannot be read"
        ))
    })?;
    let source = Source::parse(source).ok_or_else(|| {
        StepError::invalid_input(format!(
            "finding {id}: SECOPS_FINDING_SOURCE {source:?} is none of securityhub, inspector, guardduty, falcon, exposure"
        ))
    })?;
    Ok(FindingKey { source, id })
}

async fn analyse(config: &Config, sdk: &aws_config::SdkConfig, task: &AnalystTask) -> Result<Value, StepError> {
    let key = key(task)?;
    let db = connect(config, sdk, &key).await?;
    let finding = crate::selection::load(&db, &key).await?.ok_or_else(|| {
        StepError::invalid_input(format!(
            "finding {} {} is not in security_findings (resolved or collected away)",
            key.source, key.id
        ))
    })?;
    let model = crate::setup::model(config, Some(sdk)).await?;
    let settings = crate::setup::analysis_settings(config);
    let mut analysis = analysis::analyse(&db, &finding, model.as_deref(), &settings).await?;
    analysis.peak_memory_kb = peak_memory_kb();
    tracing::info!(
        finding_id = %key.id,
        verdict = analysis.report.assessment.verdict.as_str(),
        risk = analysis.report.assessment.risk.score,
        fallback = analysis.report.analyst.fallback,
        input_tokens = analysis.usage.input_tokens,
        output_tokens = analysis.usage.output_tokens,
        duration_ms = analysis.duration_ms,
        peak_memory_kb = analysis.peak_memory_kb,
        "analysed"
    );
    serde_json::to_value(&analysis).map_err(|e| StepError::permanent(format!("finding {}: the analysis: {e}", key.id)))
}

/// One connection, read-only twice over: the role in the URL (the deployment's read-only user, or
/// `secops_readonly` entered through the URL's options locally) and a read-only session.
async fn connect(
    config: &Config,
    sdk: &aws_config::SdkConfig,
    key: &FindingKey,
) -> Result<tokio_postgres::Client, StepError> {
    use secrecy::ExposeSecret;
    let url = secops_aws::resolve_database_url(config, &AwsSettings::from_config(config), Some(sdk))
        .await
        .map_err(|e| StepError::new(e.class, format!("finding {}: the database URL: {e}", key.id)))?
        .ok_or_else(|| {
            StepError::invalid_input(format!(
                "finding {}: no database configured (SECOPS_DATABASE_URL or SECOPS_DATABASE_URL_PARAMETER)",
                key.id
            ))
        })?;
    let (client, connection) =
        tokio_postgres::connect(url.expose_secret(), tokio_postgres::NoTls).await.map_err(|error| {
            StepError::from(secops_store::StoreError::Connect {
                target: format!("the analyst's database (finding {})", key.id),
                error,
            })
        })?;
    tokio::spawn(async move {
        if let Err(e) = connection.await {
            tracing::warn!("database connection ended: {e}");
        }
    });
    client
        .batch_execute("SET default_transaction_read_only = on; SET statement_timeout = '30s'")
        .await
        .map_err(crate::db::err("setting the session read-only"))?;
    Ok(client)
}

/// The read-only URL for a local analyst: the application's URL entering `secops_readonly` for
/// every statement, in read-only transactions.
pub fn read_only_url(url: &str) -> String {
    let options = "options=-c%20role%3Dsecops_readonly%20-c%20default_transaction_read_only%3Don";
    let separator = if url.contains('?') { '&' } else { '?' };
    format!("{url}{separator}{options}")
}

/// This process's peak resident set size in KiB (`VmHWM` in /proc/self/status; Linux only).
pub fn peak_memory_kb() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}
