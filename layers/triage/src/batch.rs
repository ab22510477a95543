//! The books of a triage run: what was selected and why the rest was not, what each analysis
//! produced or why it failed, how long it took, the tokens it used, and what it cost (modelled:
//! the Bedrock price table in configuration, Fargate vCPU- and GB-seconds). Stored in
//! `triage_runs` and `triage_reports`; the totals go to notify for the completion summary.

use std::collections::BTreeMap;

use secops_core::json::error_reason;
use secops_core::{StepError, TriageConfig};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use time::OffsetDateTime;

use crate::db;
use crate::finding::{FindingKey, SecurityFinding};
use crate::llm::Usage;
use crate::selection::Selection;

/// USD per million tokens.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TokenPrice {
    pub input_per_million: f64,
    pub output_per_million: f64,
}

/// Bedrock on-demand prices (USD per million tokens, us-east-1, as published in 2025); a
/// deployment overrides or extends them with `SECOPS_TRIAGE_PRICES`.
const BUILT_IN_PRICES: &[(&str, f64, f64)] = &[
    ("amazon.nova-micro-v1:0", 0.035, 0.14),
    ("amazon.nova-lite-v1:0", 0.06, 0.24),
    ("amazon.nova-pro-v1:0", 0.8, 3.2),
    ("anthropic.claude-3-haiku-20240307-v1:0", 0.25, 1.25),
    ("anthropic.claude-3-5-haiku-20241022-v1:0", 0.8, 4.0),
    ("anthropic.claude-3-5-sonnet-20241022-v2:0", 3.0, 15.0),
    ("anthropic.claude-3-7-sonnet-20250219-v1:0", 3.0, 15.0),
    ("anthropic.claude-sonnet-4-20250514-v1:0", 3.0, 15.0),
    ("meta.llama3-1-70b-instruct-v1:0", 0.72, 0.72),
];

/// The cost model of one deployment.
#[derive(Debug, Clone)]
pub struct CostModel {
    prices: BTreeMap<String, TokenPrice>,
    vcpu: f64,
    memory_gb: f64,
    vcpu_hour_usd: f64,
    gb_hour_usd: f64,
}

impl CostModel {
    /// The built-in table with `config.prices` (JSON: model id → price) over it.
    pub fn from_config(config: &TriageConfig) -> Result<CostModel, String> {
        let mut prices: BTreeMap<String, TokenPrice> = BUILT_IN_PRICES
            .iter()
            .map(|(m, i, o)| ((*m).to_owned(), TokenPrice { input_per_million: *i, output_per_million: *o }))
            .collect();
        if !config.prices.trim().is_empty() {
            let extra: BTreeMap<String, TokenPrice> = serde_json::from_str(&config.prices).map_err(|e| {
                format!("SECOPS_TRIAGE_PRICES: expected {{\"model id\": {{\"input_per_million\": n, \"output_per_million\": n}}}}: {e}")
            })?;
            for (model, price) in &extra {
                let valid = |n: f64| n.is_finite() && n >= 0.0;
                if !valid(price.input_per_million) || !valid(price.output_per_million) {
                    return Err(format!("SECOPS_TRIAGE_PRICES.{model}: prices must be non-negative numbers"));
                }
            }
            prices.extend(extra);
        }
        Ok(CostModel {
            prices,
            vcpu: config.fargate_vcpu,
            memory_gb: config.fargate_memory_gb,
            vcpu_hour_usd: config.fargate_vcpu_hour_usd,
            gb_hour_usd: config.fargate_gb_hour_usd,
        })
    }

    /// The price of a model id; cross-Region inference profiles (`us.`, `eu.`, `apac.`, `global.`)
    /// cost what their model costs.
    pub fn price(&self, model: &str) -> Option<TokenPrice> {
        let base =
            ["us.", "eu.", "apac.", "global.", "us-gov."].iter().find_map(|p| model.strip_prefix(p)).unwrap_or(model);
        self.prices.get(model).or_else(|| self.prices.get(base)).copied()
    }

    /// The tokens' cost; None when the model has no price (recorded as unpriced, not as free).
    pub fn llm_cost(&self, model: Option<&str>, usage: Usage) -> Option<f64> {
        if usage.input_tokens == 0 && usage.output_tokens == 0 {
            return Some(0.0);
        }
        let price = self.price(model?)?;
        Some(
            usage.input_tokens as f64 / 1e6 * price.input_per_million
                + usage.output_tokens as f64 / 1e6 * price.output_per_million,
        )
    }

    /// A Fargate task of `duration_ms`: billed per second, one minute at least.
    pub fn compute_cost(&self, duration_ms: u64) -> f64 {
        let seconds = (duration_ms.div_ceil(1000)).max(60) as f64;
        seconds / 3600.0 * (self.vcpu * self.vcpu_hour_usd + self.memory_gb * self.gb_hour_usd)
    }
}

/// A run being opened.
#[derive(Debug, Clone)]
pub struct NewRun {
    pub execution_id: String,
    pub since: OffsetDateTime,
    pub provider: String,
    pub concurrency: usize,
}

/// Open the run and its selected rows, in one transaction. A retried selection of the same
/// execution finds the run already open and keeps what was selected the first time.
pub async fn open_run(pool: &deadpool_postgres::Pool, run: &NewRun, selection: &Selection) -> Result<bool, StepError> {
    let mut client = pool.get().await.map_err(db::pool)?;
    let tx = client.transaction().await.map_err(db::err("triage books: begin"))?;
    let excluded: BTreeMap<&str, usize> = selection.excluded.iter().fold(BTreeMap::new(), |mut m, e| {
        *m.entry(e.rule.as_str()).or_default() += 1;
        m
    });
    let inserted = tx
        .execute(
            "INSERT INTO triage_runs (execution_id, since, provider, concurrency, candidates, excluded, \
             already_ticketed, over_limit, selected, exclusions) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) ON CONFLICT (execution_id) DO NOTHING",
            &[
                &run.execution_id,
                &run.since,
                &run.provider,
                &(run.concurrency as i32),
                &(selection.candidates as i32),
                &(selection.excluded.len() as i32),
                &(selection.already_ticketed.len() as i32),
                &(selection.over_limit as i32),
                &(selection.selected.len() as i32),
                &json!(excluded),
            ],
        )
        .await
        .map_err(db::err("triage books: opening the run"))?;
    if inserted == 0 {
        return Ok(false);
    }
    let statement = tx
        .prepare(
            "INSERT INTO triage_reports (execution_id, source, finding_id, position, title, severity, penalty_score) \
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .await
        .map_err(db::err("triage books: preparing"))?;
    for (i, f) in selection.selected.iter().enumerate() {
        tx.execute(
            &statement,
            &[&run.execution_id, &f.source.as_str(), &f.id, &(i as i32), &f.title, &f.severity, &f.penalty_score],
        )
        .await
        .map_err(db::err("triage books: recording a selected finding"))?;
    }
    tx.commit().await.map_err(db::err("triage books: commit"))?;
    Ok(true)
}

/// The findings a run selected, in order (what a retried selection returns), in one read. A
/// finding that has left the view since stays booked as selected and is reported unfinished.
pub async fn selected(pool: &deadpool_postgres::Pool, execution_id: &str) -> Result<Vec<SecurityFinding>, StepError> {
    let client = pool.get().await.map_err(db::pool)?;
    let rows = client
        .query(
            "SELECT f.* FROM triage_reports r JOIN security_findings f ON f.source = r.source AND f.id = r.finding_id \
             WHERE r.execution_id = $1 ORDER BY r.position",
            &[&execution_id],
        )
        .await
        .map_err(db::err("triage books: reading the selection"))?;
    rows.iter().map(crate::selection::from_row).collect()
}

/// One analysis's entry.
#[derive(Debug, Clone)]
pub struct AnalysedEntry<'a> {
    pub execution_id: &'a str,
    pub finding: &'a FindingKey,
    pub report: &'a Value,
    pub markdown: &'a str,
    pub persona: &'a str,
    pub provider: &'a str,
    pub model: Option<&'a str>,
    pub fallback: bool,
    pub verdict: &'a str,
    pub risk_score: i16,
    pub duration_ms: u64,
    pub peak_memory_kb: Option<u64>,
    pub usage: Usage,
    pub llm_cost_usd: Option<f64>,
    pub compute_cost_usd: f64,
    pub ticket_id: Option<&'a str>,
}

/// Record an analysis. A finding the run did not select is refused (`InvalidInput`).
pub async fn record_analysis(pool: &deadpool_postgres::Pool, e: &AnalysedEntry<'_>) -> Result<(), StepError> {
    let client = pool.get().await.map_err(db::pool)?;
    let updated = client
        .execute(
            "UPDATE triage_reports SET status = 'analysed', report = $4, markdown = $5, persona = $6, provider = $7, \
             model = $8, fallback = $9, verdict = $10, risk_score = $11, duration_ms = $12, input_tokens = $13, \
             output_tokens = $14, llm_cost_usd = $15, compute_cost_usd = $16, ticket_id = $17, peak_memory_kb = $18, \
             error = NULL, finished_at = now() \
             WHERE execution_id = $1 AND source = $2 AND finding_id = $3",
            &[
                &e.execution_id,
                &e.finding.source.as_str(),
                &e.finding.id,
                &e.report,
                &e.markdown,
                &e.persona,
                &e.provider,
                &e.model,
                &e.fallback,
                &e.verdict,
                &e.risk_score,
                &(e.duration_ms.min(i64::MAX as u64) as i64),
                &(e.usage.input_tokens.min(i64::MAX as u64) as i64),
                &(e.usage.output_tokens.min(i64::MAX as u64) as i64),
                &e.llm_cost_usd.unwrap_or(0.0),
                &e.compute_cost_usd,
                &e.ticket_id,
                &e.peak_memory_kb.map(|k| k.min(i64::MAX as u64) as i64),
            ],
        )
        .await
        .map_err(db::err("triage books: recording an analysis"))?;
    if updated == 0 {
        return Err(StepError::invalid_input(format!(
            "run {} did not select {} finding {}",
            e.execution_id, e.finding.source, e.finding.id
        )));
    }
    Ok(())
}

/// Record a failed analysis (never over a recorded success: a late failure report of a retried
/// task does not erase the report that arrived).
pub async fn record_failure(
    pool: &deadpool_postgres::Pool,
    execution_id: &str,
    finding: &FindingKey,
    error: &Value,
    duration_ms: Option<u64>,
) -> Result<bool, StepError> {
    let client = pool.get().await.map_err(db::pool)?;
    let updated = client
        .execute(
            "UPDATE triage_reports SET status = 'failed', error = $4, duration_ms = coalesce($5, duration_ms), \
             finished_at = now() \
             WHERE execution_id = $1 AND source = $2 AND finding_id = $3 AND status <> 'analysed'",
            &[&execution_id, &finding.source.as_str(), &finding.id, error, &duration_ms.map(|d| d as i64)],
        )
        .await
        .map_err(db::err("triage books: recording a failure"))?;
    Ok(updated > 0)
}

/// One finding's line in the completion summary (the shape notify's `summarize_triage` reads).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ResultLine {
    pub finding_id: String,
    pub source: String,
    pub status: String,
    pub title: String,
    pub severity: String,
    pub risk_score: Option<f64>,
    pub verdict: Option<String>,
    pub ticket_key: Option<String>,
    pub error: Option<Value>,
}

/// A run's totals.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Totals {
    pub selected: u64,
    pub analysed: u64,
    pub failed: u64,
    /// Selected but never reported on (should be 0: every Map item ends analysed or failed).
    pub unfinished: u64,
    pub fallbacks: u64,
    pub verdicts: BTreeMap<String, u64>,
    pub input_tokens: u64,
    pub output_tokens: u64,
    pub llm_cost_usd: f64,
    pub compute_cost_usd: f64,
    pub cost_per_finding_usd: f64,
    pub duration_ms: DurationStats,
    /// The largest analyst process's peak resident memory.
    pub max_peak_memory_kb: Option<u64>,
    pub failures: Vec<FailureLine>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct DurationStats {
    pub mean: u64,
    pub p50: u64,
    pub p95: u64,
    pub max: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FailureLine {
    pub source: String,
    pub finding_id: String,
    pub reason: String,
}

fn percentile(sorted: &[u64], p: f64) -> u64 {
    if sorted.is_empty() {
        return 0;
    }
    let rank = ((p * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
    sorted[rank - 1]
}

/// Close the run: totals from its rows, stored on the run, with one line per finding.
pub async fn finish(
    pool: &deadpool_postgres::Pool,
    execution_id: &str,
) -> Result<(Totals, Vec<ResultLine>), StepError> {
    let client = pool.get().await.map_err(db::pool)?;
    let rows = client
        .query(
            "SELECT source, finding_id, status, title, severity, verdict, risk_score, error, duration_ms, \
             input_tokens, output_tokens, llm_cost_usd, compute_cost_usd, fallback, ticket_id, peak_memory_kb \
             FROM triage_reports WHERE execution_id = $1 ORDER BY position",
            &[&execution_id],
        )
        .await
        .map_err(db::err("triage books: reading the run"))?;
    let mut lines = Vec::with_capacity(rows.len());
    let mut durations = Vec::new();
    let mut totals = Totals {
        selected: rows.len() as u64,
        analysed: 0,
        failed: 0,
        unfinished: 0,
        fallbacks: 0,
        verdicts: BTreeMap::new(),
        input_tokens: 0,
        output_tokens: 0,
        llm_cost_usd: 0.0,
        compute_cost_usd: 0.0,
        cost_per_finding_usd: 0.0,
        duration_ms: DurationStats::default(),
        max_peak_memory_kb: None,
        failures: Vec::new(),
    };
    for row in &rows {
        let status: String = row.get("status");
        // Selected and never reported on: shown as a failure, counted as unfinished.
        let unfinished = status == "selected";
        let source: String = row.get("source");
        let finding_id: String = row.get("finding_id");
        let error: Option<Value> = row.get("error");
        let verdict: Option<String> = row.get("verdict");
        let risk: Option<i16> = row.get("risk_score");
        match status.as_str() {
            "analysed" => totals.analysed += 1,
            "failed" => {
                totals.failed += 1;
                totals.failures.push(FailureLine {
                    source: source.clone(),
                    finding_id: finding_id.clone(),
                    reason: error.as_ref().map(error_reason).unwrap_or_else(|| "no reason recorded".into()),
                });
            }
            _ => totals.unfinished += 1,
        }
        if let Some(v) = &verdict {
            *totals.verdicts.entry(v.clone()).or_default() += 1;
        }
        if row.get::<_, Option<bool>>("fallback") == Some(true) {
            totals.fallbacks += 1;
        }
        if let Some(kb) = row.get::<_, Option<i64>>("peak_memory_kb") {
            totals.max_peak_memory_kb = totals.max_peak_memory_kb.max(Some(kb.max(0) as u64));
        }
        if let Some(d) = row.get::<_, Option<i64>>("duration_ms") {
            durations.push(d.max(0) as u64);
        }
        totals.input_tokens += row.get::<_, i64>("input_tokens").max(0) as u64;
        totals.output_tokens += row.get::<_, i64>("output_tokens").max(0) as u64;
        totals.llm_cost_usd += row.get::<_, f64>("llm_cost_usd");
        totals.compute_cost_usd += row.get::<_, f64>("compute_cost_usd");
        lines.push(ResultLine {
            finding_id,
            source,
            status: if unfinished { "failed".into() } else { status },
            title: row.get("title"),
            severity: row.get("severity"),
            risk_score: risk.map(f64::from),
            verdict,
            ticket_key: row.get("ticket_id"),
            error: if unfinished { Some(json!({"Cause": "never reported"})) } else { error },
        });
    }
    durations.sort_unstable();
    if !durations.is_empty() {
        totals.duration_ms = DurationStats {
            mean: durations.iter().sum::<u64>() / durations.len() as u64,
            p50: percentile(&durations, 0.5),
            p95: percentile(&durations, 0.95),
            max: *durations.last().unwrap_or(&0),
        };
    }
    if totals.analysed > 0 {
        totals.cost_per_finding_usd = (totals.llm_cost_usd + totals.compute_cost_usd) / totals.analysed as f64;
    }
    let stored = serde_json::to_value(&totals).map_err(|e| StepError::permanent(format!("triage totals: {e}")))?;
    client
        .execute(
            "UPDATE triage_runs SET finished_at = coalesce(finished_at, now()), totals = $2 WHERE execution_id = $1",
            &[&execution_id, &stored],
        )
        .await
        .map_err(db::err("triage books: closing the run"))?;
    Ok((totals, lines))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn costs_follow_the_table_and_fargate_bills_a_minute_at_least() {
        let model = CostModel::from_config(&TriageConfig::default()).unwrap();
        let usage = Usage { input_tokens: 12_000, output_tokens: 1_500 };
        let nova = model.llm_cost(Some("us.amazon.nova-lite-v1:0"), usage).unwrap();
        assert!((nova - (0.012 * 0.06 + 0.0015 * 0.24)).abs() < 1e-12, "{nova}");
        assert_eq!(model.llm_cost(Some("unknown-model"), usage), None);
        assert_eq!(model.llm_cost(None, Usage::default()), Some(0.0));
        let minute = model.compute_cost(1_000);
        assert!((minute - 60.0 / 3600.0 * (0.03238 + 2.0 * 0.00356)).abs() < 1e-12);
        assert!(model.compute_cost(120_001) > 2.0 * minute);
    }

    #[test]
    fn configured_prices_extend_and_are_checked() {
        let mut config = TriageConfig {
            prices: r#"{"llama3.1": {"input_per_million": 0, "output_per_million": 0.5}}"#.into(),
            ..TriageConfig::default()
        };
        let model = CostModel::from_config(&config).unwrap();
        assert_eq!(model.price("llama3.1").unwrap().output_per_million, 0.5);
        config.prices = r#"{"x": {"input_per_million": -1, "output_per_million": 0}}"#.into();
        assert!(CostModel::from_config(&config).unwrap_err().contains("SECOPS_TRIAGE_PRICES.x"));
        config.prices = "[1]".into();
        assert!(CostModel::from_config(&config).unwrap_err().starts_with("SECOPS_TRIAGE_PRICES"));
    }

    #[test]
    fn percentiles() {
        let v: Vec<u64> = (1..=20).collect();
        assert_eq!((percentile(&v, 0.5), percentile(&v, 0.95)), (10, 19));
        assert_eq!(percentile(&[], 0.5), 0);
        assert_eq!(error_reason(&json!({"Error": "States.Timeout", "Cause": "killed"})), "killed");
    }
}
