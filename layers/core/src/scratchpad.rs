//! The scratchpad: the one JSON document the per-finding state machine passes from state to
//! state. Each state reads what it needs and adds its result under its own key.
//!
//! It is our own contract, so field names are snake_case and flags are real booleans (the
//! system this replaces used "Yes"/"No" strings); `finding` is the verbatim ASFF. Keys that later
//! states add and this type does not name are kept in `extra`, so a state that only reads and
//! writes back never drops another state's data.

use crate::asff::enums::closed_enum;
use crate::asff::{from_str_with_path, from_value_with_path, AsffError, AwsSecurityFinding};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use std::collections::BTreeMap;

/// The text of `messages.actions_taken` until a state takes an action.
pub const DEFAULT_ACTIONS_TAKEN: &str = "None.";

/// The text of `messages.actions_required` until a state knows better.
pub const DEFAULT_ACTIONS_REQUIRED: &str = "Please fix this in the infrastructure-as-code (CloudFormation, CDK, \
Terraform, ...) that manages the resource, so that the fix is not undone by the next deployment. If the resource \
is not managed as code, fix it directly and consider bringing it under infrastructure-as-code.";

/// The deploy-time switches copied into every scratchpad.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PipelineFlags {
    /// When false, decide does nothing (kill switch).
    pub pipeline_enabled: bool,
    /// Decide `do_nothing` instead of `incident`.
    pub defer_incidents: bool,
    /// Skip auto-remediation (ends in `do_nothing`).
    pub defer_autoremediations: bool,
    /// Skip team tickets (ends in `do_nothing`).
    pub defer_team_fixes: bool,
}

impl Default for PipelineFlags {
    /// Enabled, nothing deferred.
    fn default() -> Self {
        Self { pipeline_enabled: true, defer_incidents: false, defer_autoremediations: false, defer_team_fixes: false }
    }
}

/// The per-finding working document.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(expecting = "a scratchpad object")]
pub struct Scratchpad {
    pub pipeline_enabled: bool,
    pub defer_incidents: bool,
    pub defer_autoremediations: bool,
    pub defer_team_fixes: bool,
    /// Filled by the account-data lookup; empty until then.
    #[serde(default)]
    pub account: AccountData,
    pub finding: AwsSecurityFinding,
    #[serde(default)]
    pub tags: Tags,
    #[serde(default)]
    pub actions: Actions,
    #[serde(default)]
    pub messages: Messages,
    /// Whatever table lookups stored, by table name (`enabled_controls`, `tickets`, ...).
    #[serde(default)]
    pub db: Map<String, Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decision: Option<Decision>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decision_reason: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ticket: Option<TicketRef>,
    /// Always written as a float (`7` comes back as `7.0`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub penalty_score: Option<f64>,
    /// Where a Catch puts `{"Error": ..., "Cause": ...}`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<Value>,
    /// Keys added by later states that this type does not name.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl Scratchpad {
    /// The scratchpad the state machine starts with for one finding.
    pub fn new(finding: AwsSecurityFinding, flags: &PipelineFlags) -> Self {
        Self {
            pipeline_enabled: flags.pipeline_enabled,
            defer_incidents: flags.defer_incidents,
            defer_autoremediations: flags.defer_autoremediations,
            defer_team_fixes: flags.defer_team_fixes,
            account: AccountData::default(),
            finding,
            tags: Tags::default(),
            actions: Actions::default(),
            messages: Messages::default(),
            db: Map::new(),
            decision: None,
            decision_reason: None,
            ticket: None,
            penalty_score: None,
            error: None,
            extra: Map::new(),
        }
    }

    /// Reads a scratchpad from a state's input; errors name the JSON path
    /// (`finding.Severity.Label: ...`). The finding is not re-validated: it was at ingestion.
    pub fn from_value(value: &Value) -> Result<Self, AsffError> {
        from_value_with_path(value)
    }

    /// [`Scratchpad::from_value`] for JSON text.
    pub fn from_json(json: &str) -> Result<Self, AsffError> {
        from_str_with_path(json)
    }

    /// Records the decision and why it was taken.
    pub fn decide(&mut self, decision: Decision, reason: impl Into<String>) {
        self.decision = Some(decision);
        self.decision_reason = Some(reason.into());
    }
}

/// What the pipeline knows about the finding's account (from Organizations tags and the cache).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, expecting = "an account data object")]
pub struct AccountData {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    /// Where team tickets and e-mails go.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub team_email: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub organizational_unit: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub project_name: Option<String>,
    /// The ticket project for infrastructure findings.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub project_id: Option<String>,
    /// The ticket project for application findings.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub project_id_app: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub team: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub environment: Option<String>,
    pub tags: BTreeMap<String, String>,
    /// A freshly created account: its control findings are suppressed while it is set up.
    pub account_new: bool,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// Tags looked up for the finding's resource.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, expecting = "a tags object")]
pub struct Tags {
    pub resource: Vec<Tag>,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// One resource tag, in the `{Key, Value}` shape the AWS APIs return.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", expecting = "a tag object with Key and Value")]
pub struct Tag {
    pub key: String,
    pub value: String,
}

/// Flags the remediation and incident branches set for the states after them.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, expecting = "an actions object")]
pub struct Actions {
    /// Suppress the finding in Security Hub at the end.
    pub suppress_finding: bool,
    /// Auto-remediation did not (or could not) fix it: ticket the team instead.
    pub autoremediation_not_done: bool,
    /// Stop now and look again when the finding is next updated.
    pub reconsider_later: bool,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// Text for tickets and e-mails, built up by the states.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, expecting = "a messages object")]
pub struct Messages {
    pub actions_taken: String,
    pub actions_required: String,
    pub ai: AiMessages,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl Default for Messages {
    fn default() -> Self {
        Self {
            actions_taken: DEFAULT_ACTIONS_TAKEN.to_owned(),
            actions_required: DEFAULT_ACTIONS_REQUIRED.to_owned(),
            ai: AiMessages::default(),
            extra: Map::new(),
        }
    }
}

/// The analyst's text, empty until it has run (or when it timed out).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, expecting = "an ai messages object with plaintext and html")]
pub struct AiMessages {
    pub plaintext: String,
    pub html: String,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

closed_enum! {
    /// Where decide routes the finding. Serialized snake_case: the ASL Choice matches these names.
    pub enum Decision ("decision") {
        /// Nothing to do (pipeline off, deferred, already notified, passed).
        DoNothing = "do_nothing",
        /// Suppress the finding in Security Hub.
        Suppress = "suppress",
        /// The finding is resolved and has an open ticket: close it.
        CloseTicket = "close_ticket",
        /// A failed control: auto-remediate or ticket the team.
        FailedControl = "failed_control",
        /// A threat or other non-control finding: the incident branch.
        Incident = "incident",
    }
}

/// The ticket opened for this finding.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(expecting = "a ticket object with open and id")]
pub struct TicketRef {
    pub open: bool,
    pub id: String,
}
