//! Which findings a run analyses: the `get_security_findings` SQL function (the five sources as
//! one shape, observed since the lookback, heaviest first), minus the configured exclusions,
//! minus findings that already have an open ticket (one bulk check), capped per run.

use std::collections::HashSet;

use async_trait::async_trait;
use regex::Regex;
use secops_core::StepError;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use tokio_postgres::Row;

use crate::db;
use crate::finding::{FindingKey, SecurityFinding, Source};

/// How many candidates one selection reads at most before exclusions (a run analyses far fewer).
pub const MAX_CANDIDATES: i32 = 10_000;

const COLUMNS: &str = "source, id, product_arn, account_id, region, kind, title, severity, severity_normalized, \
                       resource_type, resource_id, environment, observed_at, penalty_score, raw";

/// A finding row of `security_findings` (or `get_security_findings`).
pub fn from_row(row: &Row) -> Result<SecurityFinding, StepError> {
    let source: String = row.get("source");
    let source = Source::parse(&source)
        .ok_or_else(|| StepError::permanent(format!("security_findings: unknown source {source:?}")))?;
    Ok(SecurityFinding {
        source,
        id: row.get("id"),
        product_arn: row.get("product_arn"),
        account_id: row.get("account_id"),
        region: row.get("region"),
        kind: row.get("kind"),
        title: row.get("title"),
        severity: row.get("severity"),
        severity_normalized: row.get("severity_normalized"),
        resource_type: row.get("resource_type"),
        resource_id: row.get("resource_id"),
        environment: row.get("environment"),
        observed_at: row.get("observed_at"),
        penalty_score: row.get("penalty_score"),
        raw: row.get("raw"),
    })
}

/// One finding by its key, whenever it was observed (the analyst's view of its one finding).
pub async fn load(db: &tokio_postgres::Client, key: &FindingKey) -> Result<Option<SecurityFinding>, StepError> {
    let sql = format!("SELECT {COLUMNS} FROM security_findings WHERE source = $1 AND id = $2");
    let row = db.query_opt(&sql, &[&key.source.as_str(), &key.id]).await.map_err(db::err("reading the finding"))?;
    row.as_ref().map(from_row).transpose()
}

/// One exclusion rule: every field that is set must match (a rule with none matches nothing).
/// `type`, `title` and `resource` are regular expressions; `source` and `account` are exact.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExclusionRule {
    /// What the rule is for, shown in the run's books.
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub source: Option<Source>,
    #[serde(default, rename = "type")]
    pub kind: Option<String>,
    #[serde(default)]
    pub title: Option<String>,
    #[serde(default)]
    pub resource: Option<String>,
    #[serde(default)]
    pub account: Option<String>,
}

#[derive(Debug, Clone)]
struct CompiledRule {
    name: String,
    source: Option<Source>,
    kind: Option<Regex>,
    title: Option<Regex>,
    resource: Option<Regex>,
    account: Option<String>,
}

impl CompiledRule {
    fn matches(&self, f: &SecurityFinding) -> bool {
        let re = |r: &Option<Regex>, v: Option<&str>| r.as_ref().is_none_or(|r| v.is_some_and(|v| r.is_match(v)));
        self.source.is_none_or(|s| s == f.source)
            && self.account.as_deref().is_none_or(|a| f.account_id.as_deref() == Some(a))
            && re(&self.kind, Some(&f.kind))
            && re(&self.title, Some(&f.title))
            && re(&self.resource, f.resource_id.as_deref())
    }
}

/// The configured exclusion rules (`SECOPS_TRIAGE_EXCLUSIONS`, a JSON array).
#[derive(Debug, Clone, Default)]
pub struct Exclusions {
    rules: Vec<CompiledRule>,
}

impl Exclusions {
    /// Parse and compile; an error names the rule and the field.
    pub fn parse(json: &str) -> Result<Exclusions, String> {
        if json.trim().is_empty() {
            return Ok(Exclusions::default());
        }
        let rules: Vec<ExclusionRule> =
            serde_json::from_str(json).map_err(|e| format!("exclusions: expected a JSON array of rules: {e}"))?;
        Exclusions::compile(rules)
    }

    pub fn compile(rules: Vec<ExclusionRule>) -> Result<Exclusions, String> {
        let mut compiled = Vec::with_capacity(rules.len());
        for (i, r) in rules.into_iter().enumerate() {
            let name = r.name.clone().unwrap_or_else(|| format!("rule {}", i + 1));
            let regex = |field: &str, v: &Option<String>| -> Result<Option<Regex>, String> {
                v.as_deref()
                    .map(|p| Regex::new(p).map_err(|e| format!("exclusions[{i}] ({name}).{field}: {e}")))
                    .transpose()
            };
            let rule = CompiledRule {
                kind: regex("type", &r.kind)?,
                title: regex("title", &r.title)?,
                resource: regex("resource", &r.resource)?,
                source: r.source,
                account: r.account.clone(),
                name: name.clone(),
            };
            if rule.source.is_none()
                && rule.account.is_none()
                && rule.kind.is_none()
                && rule.title.is_none()
                && rule.resource.is_none()
            {
                return Err(format!("exclusions[{i}] ({name}): sets no field, so it would match nothing"));
            }
            compiled.push(rule);
        }
        Ok(Exclusions { rules: compiled })
    }

    /// The name of the first rule that excludes `f`.
    pub fn excludes(&self, f: &SecurityFinding) -> Option<&str> {
        self.rules.iter().find(|r| r.matches(f)).map(|r| r.name.as_str())
    }

    pub fn len(&self) -> usize {
        self.rules.len()
    }

    pub fn is_empty(&self) -> bool {
        self.rules.is_empty()
    }
}

/// The ticketing side of the selection: which of these findings already have an open ticket.
/// One call per selection, whatever the number of findings.
#[async_trait]
pub trait TicketIndex: Send + Sync + std::fmt::Debug {
    async fn ticketed(&self, findings: &[FindingKey]) -> Result<HashSet<FindingKey>, StepError>;
}

/// The ticket records decide and triage keep (DynamoDB on AWS, PostgreSQL locally): one read of
/// every open ticket.
#[derive(Debug, Clone)]
pub struct OpenTickets {
    store: std::sync::Arc<dyn secops_soar::state::StateStore>,
}

impl OpenTickets {
    pub fn new(store: std::sync::Arc<dyn secops_soar::state::StateStore>) -> Self {
        OpenTickets { store }
    }
}

#[async_trait]
impl TicketIndex for OpenTickets {
    async fn ticketed(&self, findings: &[FindingKey]) -> Result<HashSet<FindingKey>, StepError> {
        let open: HashSet<String> = self
            .store
            .open_tickets()
            .await
            .map_err(StepError::from)?
            .into_iter()
            .filter(|t| t.is_open())
            .map(|t| t.finding_id)
            .collect();
        Ok(findings.iter().filter(|k| open.contains(&k.id)).cloned().collect())
    }
}

/// What to select.
#[derive(Debug, Clone)]
pub struct SelectionRequest {
    pub since: OffsetDateTime,
    pub limit: usize,
    /// Only these findings (re-running chosen ones); empty = all.
    pub only: Vec<FindingKey>,
    /// Skip findings with an open ticket (false only for an explicit re-run of chosen findings).
    pub check_tickets: bool,
}

/// One excluded finding and the rule.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Excluded {
    pub finding: FindingKey,
    pub rule: String,
}

/// What the selection did, with the arithmetic: candidates = excluded + already ticketed +
/// over the limit + selected.
#[derive(Debug, Clone, Serialize)]
pub struct Selection {
    pub candidates: usize,
    pub excluded: Vec<Excluded>,
    pub already_ticketed: Vec<FindingKey>,
    pub over_limit: usize,
    pub selected: Vec<SecurityFinding>,
}

/// Select per the module documentation.
pub async fn select(
    db: &tokio_postgres::Client,
    tickets: &dyn TicketIndex,
    exclusions: &Exclusions,
    request: &SelectionRequest,
) -> Result<Selection, StepError> {
    let sql = format!("SELECT {COLUMNS} FROM get_security_findings($1, $2)");
    let rows = db.query(&sql, &[&request.since, &MAX_CANDIDATES]).await.map_err(db::err("selecting findings"))?;
    let mut candidates = Vec::with_capacity(rows.len());
    for row in &rows {
        let f = from_row(row)?;
        if request.only.is_empty() || request.only.contains(&f.key()) {
            candidates.push(f);
        }
    }
    let total = candidates.len();
    let mut excluded = Vec::new();
    candidates.retain(|f| match exclusions.excludes(f) {
        Some(rule) => {
            excluded.push(Excluded { finding: f.key(), rule: rule.to_owned() });
            false
        }
        None => true,
    });
    let keys: Vec<FindingKey> = candidates.iter().map(SecurityFinding::key).collect();
    let ticketed =
        if keys.is_empty() || !request.check_tickets { HashSet::new() } else { tickets.ticketed(&keys).await? };
    let mut already_ticketed = Vec::new();
    candidates.retain(|f| {
        let key = f.key();
        if ticketed.contains(&key) {
            already_ticketed.push(key);
            false
        } else {
            true
        }
    });
    let over_limit = candidates.len().saturating_sub(request.limit);
    candidates.truncate(request.limit);
    Ok(Selection { candidates: total, excluded, already_ticketed, over_limit, selected: candidates })
}

/// The ticket records in PostgreSQL (`tickets`), for wiring without decide: one query.
#[derive(Debug, Clone)]
pub struct PgTicketIndex {
    pool: deadpool_postgres::Pool,
}

impl PgTicketIndex {
    pub fn new(pool: deadpool_postgres::Pool) -> Self {
        PgTicketIndex { pool }
    }
}

#[async_trait]
impl TicketIndex for PgTicketIndex {
    async fn ticketed(&self, findings: &[FindingKey]) -> Result<HashSet<FindingKey>, StepError> {
        let client = self.pool.get().await.map_err(db::pool)?;
        let ids: Vec<&str> = findings.iter().map(|k| k.id.as_str()).collect();
        let rows = client
            .query("SELECT finding_id FROM tickets WHERE closed_at IS NULL AND finding_id = ANY($1)", &[&ids])
            .await
            .map_err(db::err("checking open tickets"))?;
        let open: HashSet<String> = rows.iter().map(|r| r.get(0)).collect();
        Ok(findings.iter().filter(|k| open.contains(&k.id)).cloned().collect())
    }
}
