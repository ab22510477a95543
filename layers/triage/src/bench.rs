//! The offline analyst's per-finding timing: `context::gather` (every catalogue query that
//! applies) plus `offline::assess`, one finding at a time over the analyst's read-only role.
//! Shared by `examples/offline_bench.rs` and `secops bench`; the budget (issue 9) is under
//! 100 ms per finding including its queries.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use secops_core::StepError;

use crate::db::err;
use crate::report::Assessment;
use crate::selection::from_row;
use crate::{context, offline, Persona};

/// What one timing pass measured; every list of durations is sorted ascending.
#[derive(Debug, Clone, Default)]
pub struct OfflineTimings {
    /// Findings in `security_findings` (the candidates the timed ones were taken from).
    pub candidates: i64,
    /// Gather + assess, per finding.
    pub per_finding: Vec<Duration>,
    /// Gather alone (the queries), per finding.
    pub gather: Vec<Duration>,
    pub by_source: BTreeMap<&'static str, Vec<Duration>>,
    /// Context queries run over all findings.
    pub queries: usize,
    /// Assessments the report schema refused (checked outside the timing).
    pub invalid: usize,
}

/// Time the offline analysis of the `limit` heaviest findings (`None`: all of them). Enters the
/// read-only role on `client` first, as the analyst does.
pub async fn time_offline_analysis(
    client: &tokio_postgres::Client,
    limit: Option<i64>,
) -> Result<OfflineTimings, StepError> {
    client.batch_execute("SET ROLE secops_readonly").await.map_err(err("entering the read-only role"))?;
    let rows = client
        .query(
            "SELECT source, id, product_arn, account_id, region, kind, title, severity, severity_normalized, \
                    resource_type, resource_id, environment, observed_at, penalty_score, raw \
             FROM security_findings ORDER BY penalty_score DESC, severity_normalized DESC, source, id LIMIT $1",
            &[&limit.unwrap_or(i64::MAX)],
        )
        .await
        .map_err(err("selecting the heaviest findings"))?;
    let findings = rows.iter().map(from_row).collect::<Result<Vec<_>, _>>()?;
    let candidates: i64 = client
        .query_one("SELECT count(*) FROM security_findings", &[])
        .await
        .map_err(err("counting the findings"))?
        .get(0);

    let mut out = OfflineTimings { candidates, ..OfflineTimings::default() };
    for f in &findings {
        let t0 = Instant::now();
        let ctx = context::gather(client, f).await?;
        let t1 = Instant::now();
        let assessment = offline::assess(f, Persona::for_source(f.source), &ctx);
        let total = t0.elapsed();
        out.per_finding.push(total);
        out.gather.push(t1 - t0);
        out.by_source.entry(f.source.as_str()).or_default().push(total);
        out.queries += ctx.items.len();
        let value = serde_json::to_value(&assessment)
            .map_err(|e| StepError::permanent(format!("serialising an assessment: {e}")))?;
        if Assessment::parse(&value, &ctx.queries_run()).is_err() {
            out.invalid += 1;
        }
    }
    out.per_finding.sort();
    out.gather.sort();
    for times in out.by_source.values_mut() {
        times.sort();
    }
    Ok(out)
}

/// The value at quantile `q` (0–1) of `sorted` by nearest rank; zero when empty.
pub fn quantile(sorted: &[Duration], q: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let rank = ((q * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
    sorted[rank - 1]
}

/// A model stub's answer in the OpenAI chat-completions wire format, for the triage batch
/// benchmarks (`secops bench`, `functions/analyst/examples/triage_bench.rs`): an assessment
/// any finding's context supports (every analysis runs the `resource` query).
pub fn stub_chat_completion() -> serde_json::Value {
    let assessment = serde_json::json!({
        "verdict": "needs_human",
        "summary": "Benchmark stub.",
        "risk": {"score": 3, "reasons": ["stub"]},
        "affected_resources": [],
        "blast_radius": {"summary": "stub", "internet_exposed": false, "reachable_resources": 0,
                         "reachable_databases": 0, "reachable_unprotected_hosts": 0},
        "evidence": [{"observation": "stub", "query": "resource"}],
        "recommended_actions": [{"order": 1, "action": "Look.", "why": "stub", "urgency": "this_week"}],
        "owner": {"team": null, "environment": null, "basis": "unknown"},
    });
    serde_json::json!({
        "id": "bench", "object": "chat.completion", "model": "stub",
        "choices": [{"index": 0, "finish_reason": "stop", "message": {"role": "assistant", "content": assessment.to_string()}}],
        "usage": {"prompt_tokens": 4000, "completion_tokens": 500, "total_tokens": 4500},
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantile_takes_the_nearest_rank() {
        let v: Vec<Duration> = (1..=20).map(Duration::from_millis).collect();
        assert_eq!(quantile(&v, 0.5), Duration::from_millis(10));
        assert_eq!(quantile(&v, 0.95), Duration::from_millis(19));
        assert_eq!(quantile(&v, 1.0), Duration::from_millis(20));
        assert_eq!(quantile(&[], 0.5), Duration::ZERO);
    }
}
