//! The `triage` function's actions, which the triage state machine calls:
//!
//! - `select_findings`: select (see [`crate::selection`]), open the run's books, and hand the Map
//!   its items and concurrency. A retried selection of the same execution returns what was
//!   selected the first time.
//! - `record_analysis`: check an analyst's output (the report is validated again here: the
//!   analyst's output is data), render it, file the ticket once, and book it.
//! - `record_failure`: book a failed analysis with its reason.
//! - `finish_batch`: close the books and return the lines and totals for the summary.

use std::sync::Arc;

use secops_core::json::step_input;
use secops_core::outbound::{NewTicket, TicketKind};
use secops_core::StepError;
use secops_soar::state::TicketRecord;
use secops_soar::tickets::text::inert;
use secops_soar::Soar;
use serde::Deserialize;
use serde_json::{json, Value};
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

use crate::analysis::Analysis;
use crate::batch::{self, AnalysedEntry, CostModel, NewRun};
use crate::db;
use crate::finding::{FindingKey, Source};
use crate::markdown::to_markdown;
use crate::report::Report;
use crate::selection::{self, Exclusions, SelectionRequest, TicketIndex};

pub const TRIAGE_ACTIONS: &[&str] = &["select_findings", "record_analysis", "record_failure", "finish_batch"];

/// What the triage step needs.
#[derive(Debug, Clone)]
pub struct TriageStep {
    pool: deadpool_postgres::Pool,
    tickets: Arc<dyn TicketIndex>,
    /// Files and records tickets; None where no ticketing is wired (reports are still kept).
    soar: Option<Soar>,
    exclusions: Arc<Exclusions>,
    costs: Arc<CostModel>,
    settings: secops_core::TriageConfig,
}

#[derive(Debug, Deserialize)]
struct Select {
    execution_id: String,
    started_at: Option<String>,
    /// The execution's input: a schedule's event (nothing of it is read) or a run's options.
    #[serde(default)]
    input: Value,
}

/// What a run may ask for in its input; every field is optional and checked when present.
#[derive(Debug, Default, Deserialize)]
struct SelectOptions {
    /// RFC 3339; wins over `lookback`.
    since: Option<String>,
    /// `24h`, `7d`, … before the execution's start.
    lookback: Option<String>,
    limit: Option<usize>,
    concurrency: Option<usize>,
    provider: Option<String>,
    /// Re-run these findings only.
    #[serde(default)]
    only: Vec<FindingKey>,
    /// With `only`: analyse them even when they have an open ticket (which is kept, not doubled).
    #[serde(default)]
    rerun: bool,
}

impl SelectOptions {
    /// Fields other than these (a schedule event's) are ignored.
    fn from_input(input: &Value) -> Result<SelectOptions, StepError> {
        if !input.is_object() {
            return Ok(SelectOptions::default());
        }
        serde_path_to_error::deserialize(input)
            .map_err(|e| StepError::invalid_input(format!("select_findings: input.{}: {}", e.path(), e.inner())))
    }
}

/// A Map item's finding, as select_findings handed it out: enough to file and book its report
/// without reading the finding again.
#[derive(Debug, Deserialize)]
struct ItemFinding {
    id: String,
    source: Source,
    kind: String,
    account_id: Option<String>,
    environment: Option<String>,
    #[serde(with = "time::serde::rfc3339")]
    observed_at: OffsetDateTime,
    penalty_score: f64,
}

impl ItemFinding {
    /// The finding as the item carries it, with the report's facts.
    fn subject(&self, report: &Report) -> crate::finding::SecurityFinding {
        crate::finding::SecurityFinding {
            source: self.source,
            id: self.id.clone(),
            product_arn: String::new(),
            account_id: self.account_id.clone(),
            region: report.finding.region.clone(),
            kind: self.kind.clone(),
            title: report.finding.title.clone(),
            severity: report.finding.severity.clone(),
            severity_normalized: 0,
            resource_type: report.finding.resource_type.clone(),
            resource_id: report.finding.resource_id.clone(),
            environment: self.environment.clone(),
            observed_at: self.observed_at,
            penalty_score: self.penalty_score,
            raw: Value::Null,
        }
    }
}

#[derive(Debug, Deserialize)]
struct RecordAnalysis {
    execution_id: String,
    finding: ItemFinding,
    analysis: Value,
}

#[derive(Debug, Deserialize)]
struct RecordFailure {
    execution_id: String,
    finding: ItemFinding,
    error: Option<Value>,
}

#[derive(Debug, Deserialize)]
struct Finish {
    execution_id: String,
}

fn time(s: &str, field: &str) -> Result<OffsetDateTime, StepError> {
    OffsetDateTime::parse(s, &Rfc3339)
        .map_err(|e| StepError::invalid_input(format!("{field}: expected an RFC 3339 time, got {s:?}: {e}")))
}

fn rfc3339(t: OffsetDateTime) -> String {
    t.format(&Rfc3339).unwrap_or_default()
}

impl TriageStep {
    pub fn new(
        pool: deadpool_postgres::Pool,
        tickets: Arc<dyn TicketIndex>,
        soar: Option<Soar>,
        settings: secops_core::TriageConfig,
    ) -> Result<TriageStep, StepError> {
        let exclusions = Exclusions::parse(&settings.exclusions).map_err(StepError::invalid_input)?;
        let costs = CostModel::from_config(&settings).map_err(StepError::invalid_input)?;
        Ok(TriageStep { pool, tickets, soar, exclusions: Arc::new(exclusions), costs: Arc::new(costs), settings })
    }

    pub fn handles(action: &str) -> bool {
        TRIAGE_ACTIONS.contains(&action)
    }

    pub async fn handle(&self, input: Value) -> Result<Value, StepError> {
        let action = input.get("action").and_then(Value::as_str).unwrap_or_default().to_owned();
        match action.as_str() {
            "select_findings" => self.select(step_input(&input, &action)?).await,
            "record_analysis" => self.record_analysis(step_input(&input, &action)?).await,
            "record_failure" => self.record_failure(step_input(&input, &action)?).await,
            "finish_batch" => self.finish(step_input(&input, &action)?).await,
            other => Err(StepError::invalid_input(format!(
                "triage: unknown action '{other}' (known: {})",
                TRIAGE_ACTIONS.join(", ")
            ))),
        }
    }

    async fn client(&self) -> Result<deadpool_postgres::Object, StepError> {
        self.pool.get().await.map_err(db::pool)
    }

    async fn select(&self, s: Select) -> Result<Value, StepError> {
        let options = SelectOptions::from_input(&s.input)?;
        let started = match &s.started_at {
            Some(t) => time(t, "started_at")?,
            None => OffsetDateTime::now_utc(),
        };
        let since = match (&options.since, &options.lookback) {
            (Some(t), _) => time(t, "since")?,
            (None, Some(l)) => {
                started
                    - secops_core::triage_config::parse_duration(l).ok_or_else(|| {
                        StepError::invalid_input(format!("lookback: expected a duration such as 24h or 7d, got {l:?}"))
                    })?
            }
            (None, None) => started - self.settings.lookback,
        };
        let limit = options.limit.unwrap_or(self.settings.limit);
        let concurrency = options.concurrency.unwrap_or(self.settings.concurrency);
        if !(1..=10_000).contains(&limit) {
            return Err(StepError::invalid_input(format!("limit: expected 1 to 10000, got {limit}")));
        }
        if !(1..=40).contains(&concurrency) {
            return Err(StepError::invalid_input(format!("concurrency: expected 1 to 40, got {concurrency}")));
        }
        let provider = options.provider.clone().unwrap_or_else(|| self.settings.provider.as_str().to_owned());
        let selection = {
            let client = self.client().await?;
            selection::select(
                &client,
                self.tickets.as_ref(),
                &self.exclusions,
                &SelectionRequest {
                    since,
                    limit,
                    only: options.only.clone(),
                    check_tickets: !options.rerun || options.only.is_empty(),
                },
            )
            .await?
        };
        let run = NewRun { execution_id: s.execution_id.clone(), since, provider: provider.clone(), concurrency };
        let fresh = batch::open_run(&self.pool, &run, &selection).await?;
        let selected =
            if fresh { selection.selected.clone() } else { batch::selected(&self.pool, &s.execution_id).await? };
        tracing::info!(
            execution_id = %s.execution_id,
            candidates = selection.candidates,
            excluded = selection.excluded.len(),
            already_ticketed = selection.already_ticketed.len(),
            over_limit = selection.over_limit,
            selected = selected.len(),
            retried = !fresh,
            "triage selection"
        );
        let findings: Vec<Value> = selected
            .iter()
            .map(|f| {
                json!({
                    "id": f.id,
                    "source": f.source,
                    "product_arn": f.product_arn,
                    "title": f.title,
                    "severity": f.severity,
                    "penalty_score": f.penalty_score,
                    "kind": f.kind,
                    "account_id": f.account_id,
                    "environment": f.environment,
                    "observed_at": rfc3339(f.observed_at),
                })
            })
            .collect();
        Ok(json!({
            "execution_id": s.execution_id,
            "since": rfc3339(since),
            "provider": provider,
            "concurrency": concurrency,
            "counts": {
                "candidates": selection.candidates,
                "excluded": selection.excluded.len(),
                "already_ticketed": selection.already_ticketed.len(),
                "over_limit": selection.over_limit,
                "selected": findings.len(),
            },
            "findings": findings,
        }))
    }

    async fn record_analysis(&self, r: RecordAnalysis) -> Result<Value, StepError> {
        let key = FindingKey { source: r.finding.source, id: r.finding.id.clone() };
        // The report is checked again as it arrived: the analyst process is isolated, its output
        // is data.
        let report = Report::parse(r.analysis.get("report").unwrap_or(&Value::Null)).map_err(|e| {
            StepError::invalid_input(format!("record_analysis: the report for {} {}: {e}", key.source, key.id))
        })?;
        let analysis: Analysis = serde_json::from_value(r.analysis).map_err(|e| {
            StepError::invalid_input(format!(
                "record_analysis: the analyst's output for {} is not an analysis: {e}",
                key.id
            ))
        })?;
        if report.finding.source != key.source || report.finding.id != key.id {
            return Err(StepError::invalid_input(format!(
                "record_analysis: the analyst was given {} {} but reported on {} {}",
                key.source, key.id, report.finding.source, report.finding.id
            )));
        }
        let markdown = to_markdown(&report);
        let ticket_id = match &self.soar {
            Some(soar) => Some(self.ticket(soar, &r.finding.subject(&report), &report, &markdown).await?),
            None => None,
        };
        let entry = AnalysedEntry {
            execution_id: &r.execution_id,
            finding: &key,
            report: &report.to_value(),
            markdown: &markdown,
            persona: report.persona.as_str(),
            provider: &report.analyst.provider,
            model: report.analyst.model.as_deref(),
            fallback: report.analyst.fallback,
            verdict: report.assessment.verdict.as_str(),
            risk_score: i16::from(report.assessment.risk.score),
            duration_ms: analysis.duration_ms,
            peak_memory_kb: analysis.peak_memory_kb,
            usage: analysis.usage,
            llm_cost_usd: self.costs.llm_cost(analysis.model.as_deref(), analysis.usage),
            compute_cost_usd: self.costs.compute_cost(analysis.duration_ms),
            ticket_id: ticket_id.as_deref(),
        };
        batch::record_analysis(&self.pool, &entry).await?;
        Ok(json!({
            "finding_id": key.id,
            "source": key.source,
            "status": "analysed",
            "title": report.finding.title,
            "severity": report.finding.severity,
            "verdict": report.assessment.verdict,
            "risk_score": report.assessment.risk.score,
            "fallback": report.analyst.fallback,
            "ticket_key": ticket_id,
        }))
    }

    /// File the report as a ticket once per finding version, and record it so the next run skips
    /// the finding. A finding that already has an open ticket keeps it.
    async fn ticket(
        &self,
        soar: &Soar,
        finding: &crate::finding::SecurityFinding,
        report: &Report,
        markdown: &str,
    ) -> Result<String, StepError> {
        if let Some(open) = soar.store.ticket(&finding.id).await.map_err(StepError::from)?.filter(TicketRecord::is_open)
        {
            return Ok(open.ticket_id);
        }
        let verdict = report.assessment.verdict;
        let new = NewTicket {
            kind: TicketKind::Team,
            finding_id: finding.id.clone(),
            project: None,
            summary: format!(
                "[Triage] {} · risk {}/5 · {}",
                verdict.label(),
                report.assessment.risk.score,
                inert(&finding.title.chars().take(180).collect::<String>())
            ),
            body: markdown.to_owned(),
            severity: finding.severity.clone(),
            labels: vec![
                "secops-autopilot".into(),
                "triage".into(),
                verdict.as_str().into(),
                report.persona.as_str().into(),
                finding.source.as_str().into(),
            ],
            idempotency_key: format!("triage:{}:{}:{}", finding.source, finding.id, rfc3339(finding.observed_at)),
        };
        let id = soar.ticketing.open(&new).await?;
        let record = TicketRecord {
            finding_id: finding.id.clone(),
            ticket_id: id.clone(),
            kind: TicketKind::Team,
            account_id: finding.account_id.clone().unwrap_or_default(),
            control_id: (finding.source == Source::SecurityHub).then(|| finding.kind.clone()),
            title: finding.title.chars().take(512).collect(),
            severity: finding.severity.clone(),
            environment: finding.environment.clone(),
            team: report.assessment.owner.team.clone(),
            penalty_score: finding.penalty_score,
            opened_at: soar.clock.now(),
            closed_at: None,
            reminders: Vec::new(),
            expires_at: None,
        };
        if !soar.store.insert_ticket(&record).await.map_err(StepError::from)? {
            tracing::warn!(finding_id = %finding.id, ticket_id = %id, "another open ticket was recorded for this finding meanwhile");
        }
        Ok(id)
    }

    async fn record_failure(&self, r: RecordFailure) -> Result<Value, StepError> {
        let key = FindingKey { source: r.finding.source, id: r.finding.id.clone() };
        let error = r.error.unwrap_or_else(|| json!({"Error": "Unknown", "Cause": "no error was passed"}));
        let recorded = batch::record_failure(&self.pool, &r.execution_id, &key, &error, None).await?;
        Ok(json!({
            "finding_id": key.id,
            "source": key.source,
            "status": "failed",
            "error": error,
            "recorded": recorded,
        }))
    }

    async fn finish(&self, f: Finish) -> Result<Value, StepError> {
        let (totals, lines) = batch::finish(&self.pool, &f.execution_id).await?;
        Ok(json!({"totals": totals, "results": lines}))
    }
}
