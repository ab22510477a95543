//! The hot state store: small, per-event state that must be written conditionally — claims that
//! make side effects idempotent, the ticket lifecycle, the account-data cache, enabled controls,
//! the loaded policy, dead letters and incident records.
//!
//! Two adapters (DESIGN §4): [`postgres::PgStateStore`] for the single binary and
//! [`dynamodb::DynamoStateStore`] for the serverless deployment. Both implement every operation
//! with a conditional write where the semantics below say "unless" or "only if", so that two
//! executions racing on the same finding cannot both win.

pub mod dynamodb;
pub mod postgres;

use std::collections::BTreeSet;
use std::time::Duration;

use async_trait::async_trait;
use secops_core::scratchpad::AccountData;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use time::OffsetDateTime;

use crate::Result;

/// The idempotency key of one side effect: finding id + action + the finding's `UpdatedAt`
/// (DESIGN §5). A replayed event carries the same three and so meets the same claim.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct ClaimKey(String);

impl ClaimKey {
    pub fn new(finding_id: &str, action: &str, updated_at: &str) -> Self {
        ClaimKey(format!("{finding_id}|{action}|{updated_at}"))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for ClaimKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// What [`StateStore::claim`] found.
#[derive(Debug, Clone, PartialEq)]
pub enum Claim {
    /// The caller now holds the key until its lease ends; it must `complete` or `release` it.
    Acquired,
    /// Another owner holds an unexpired lease.
    InProgress { owner: String, lease_until: OffsetDateTime },
    /// The side effect already happened; this is what it returned.
    Done { result: Value },
}

pub use secops_core::outbound::TicketKind;

/// One ticket the pipeline opened for a finding. At most one per finding is open at a time.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TicketRecord {
    pub finding_id: String,
    pub ticket_id: String,
    pub kind: TicketKind,
    pub account_id: String,
    pub control_id: Option<String>,
    pub title: String,
    /// The Security Hub severity label (`CRITICAL` … `INFORMATIONAL`).
    pub severity: String,
    pub environment: Option<String>,
    pub team: Option<String>,
    pub penalty_score: f64,
    #[serde(with = "time::serde::rfc3339")]
    pub opened_at: OffsetDateTime,
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub closed_at: Option<OffsetDateTime>,
    /// Reminders sent, by deadline name (`deadline`, `escalation`), oldest first.
    #[serde(default)]
    pub reminders: Vec<String>,
    /// When the row may be deleted (set on close; DynamoDB TTL).
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub expires_at: Option<OffsetDateTime>,
}

impl TicketRecord {
    pub fn is_open(&self) -> bool {
        self.closed_at.is_none()
    }

    /// Seconds from open to close (time-to-close), once closed.
    pub fn duration_seconds(&self) -> Option<i64> {
        self.closed_at.map(|c| (c - self.opened_at).whole_seconds())
    }
}

/// The Security Hub controls enabled in one account and region, as last synced.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EnabledControls {
    pub account_id: String,
    pub region: String,
    pub controls: BTreeSet<String>,
    #[serde(with = "time::serde::rfc3339")]
    pub synced_at: OffsetDateTime,
}

/// The policy document (YAML text) as loaded into the store, with its digest.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StoredPolicy {
    pub yaml: String,
    pub sha256: String,
    #[serde(with = "time::serde::rfc3339")]
    pub loaded_at: OffsetDateTime,
    /// Where it came from (a path, `built-in`).
    pub source: String,
}

/// A finding (or a whole event) that could not be processed, with why.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DeadLetter {
    /// Unique per letter: `<event id>#<index>`, so recording the same bad input twice is one letter.
    pub id: String,
    pub event_id: String,
    pub index: Option<u32>,
    pub error: String,
    /// The input exactly as received.
    pub raw: Value,
    #[serde(with = "time::serde::rfc3339")]
    pub received_at: OffsetDateTime,
}

/// One incident the pipeline handled.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IncidentRecord {
    pub finding_id: String,
    /// The finding's `UpdatedAt`: a later update of the same finding is a new record.
    pub updated_at: String,
    pub account_id: String,
    pub family: String,
    pub finding_type: String,
    pub severity: String,
    pub title: String,
    pub penalty_score: f64,
    pub responses: Vec<String>,
    pub ticket_id: Option<String>,
    #[serde(with = "time::serde::rfc3339")]
    pub recorded_at: OffsetDateTime,
}

/// See the module documentation.
#[async_trait]
pub trait StateStore: Send + Sync + std::fmt::Debug {
    /// Take `key` for `owner` with a lease of `lease`, unless another owner holds an unexpired
    /// lease (→ `InProgress`) or the key is done (→ `Done` with the stored result). An expired
    /// lease is taken over; the owner's own unfinished claim is renewed (an execution's retry
    /// continues what it started). Conditional write.
    async fn claim(&self, key: &ClaimKey, owner: &str, now: OffsetDateTime, lease: Duration) -> Result<Claim>;

    /// Mark `key` done with `result`, kept until `keep_until`. Only the current owner may do this
    /// (a `Conflict` error otherwise: the lease expired and someone else took over).
    async fn complete(&self, key: &ClaimKey, owner: &str, result: &Value, keep_until: OffsetDateTime) -> Result<()>;

    /// Give the key up after a failure so a retry can take it at once. Only the owner's claim is
    /// removed; a missing or foreign claim is left alone.
    async fn release(&self, key: &ClaimKey, owner: &str) -> Result<()>;

    /// The ticket row of a finding (open or the last closed one).
    async fn ticket(&self, finding_id: &str) -> Result<Option<TicketRecord>>;

    /// Insert `ticket` (which must be open) unless the finding already has an open ticket; true
    /// when inserted. Conditional write.
    async fn insert_ticket(&self, ticket: &TicketRecord) -> Result<bool>;

    /// Close the finding's open ticket at `closed_at`, to expire at `expires_at`; the closed row,
    /// or None when no ticket was open. Conditional write (only an open ticket is closed).
    async fn close_ticket(
        &self,
        finding_id: &str,
        closed_at: OffsetDateTime,
        expires_at: OffsetDateTime,
    ) -> Result<Option<TicketRecord>>;

    /// Every open ticket, oldest first.
    async fn open_tickets(&self) -> Result<Vec<TicketRecord>>;

    /// Append `reminder` to the open ticket's reminders unless it is already there; true when
    /// appended. Conditional write (one reminder per deadline, whoever runs the check).
    async fn record_reminder(&self, finding_id: &str, reminder: &str) -> Result<bool>;

    /// The cached account data, unless it expired at or before `now`.
    async fn cached_account(&self, account_id: &str, now: OffsetDateTime) -> Result<Option<AccountData>>;

    async fn cache_account(&self, account: &AccountData, expires_at: OffsetDateTime) -> Result<()>;

    async fn enabled_controls(&self, account_id: &str, region: &str) -> Result<Option<EnabledControls>>;

    async fn put_enabled_controls(&self, controls: &EnabledControls) -> Result<()>;

    async fn policy(&self) -> Result<Option<StoredPolicy>>;

    async fn put_policy(&self, policy: &StoredPolicy) -> Result<()>;

    /// Record a dead letter; recording the same id again keeps the first.
    async fn put_dead_letter(&self, letter: &DeadLetter) -> Result<()>;

    /// The most recent dead letters, newest first.
    async fn dead_letters(&self, limit: usize) -> Result<Vec<DeadLetter>>;

    /// Insert unless a record for the same finding id and `updated_at` exists; true when inserted.
    async fn insert_incident(&self, incident: &IncidentRecord) -> Result<bool>;
}
