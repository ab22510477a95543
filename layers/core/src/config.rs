//! Typed configuration, parsed once at start from `SECOPS_*` variables.
//!
//! Parsing is pure (it takes a lookup function) so it is tested without touching the process
//! environment; `Config::from_env()` is the one place that reads it.

use secrecy::{ExposeSecret, SecretString};
use std::fmt;

/// Where a configuration value came from, for error messages.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("configuration variable {var}={value:?} is invalid: expected {expected}")]
pub struct ConfigError {
    pub var: &'static str,
    pub value: String,
    pub expected: &'static str,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    Json,
    Text,
}

/// How the database is reached.
#[derive(Clone)]
pub enum DatabaseSource {
    /// A connection URL (never printed: it may carry a password).
    Url(SecretString),
    /// The name of an SSM SecureString parameter that holds the URL (the default on AWS).
    SsmParameter(String),
    /// Nothing configured: the single binary starts its private cluster under the state folder.
    Embedded,
}

impl fmt::Debug for DatabaseSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DatabaseSource::Url(_) => f.write_str("Url(<redacted>)"),
            DatabaseSource::SsmParameter(name) => f.debug_tuple("SsmParameter").field(name).finish(),
            DatabaseSource::Embedded => f.write_str("Embedded"),
        }
    }
}

impl DatabaseSource {
    pub fn url(&self) -> Option<&str> {
        match self {
            DatabaseSource::Url(u) => Some(u.expose_secret()),
            _ => None,
        }
    }
}

/// The whole configuration of a step or of the CLI.
#[derive(Debug, Clone)]
pub struct Config {
    /// `SECOPS_DATABASE_URL` or `SECOPS_DATABASE_URL_PARAMETER`; neither means embedded.
    pub database: DatabaseSource,
    /// `SECOPS_DATABASE_POOL_SIZE`, default 4 (a Lambda handles one event at a time).
    pub database_pool_size: usize,
    /// `SECOPS_AWS_ENDPOINT_URL`: send every AWS call here (moto_server in tests).
    pub aws_endpoint_url: Option<String>,
    /// `SECOPS_REGIONS`, comma separated; default: `AWS_REGION`, else us-east-1.
    pub regions: Vec<String>,
    /// `SECOPS_MEMBER_ROLE_NAME`: the role assumed in member accounts.
    pub member_role_name: String,
    /// `SECOPS_PIPELINE_ENABLED`: when false, decide does nothing (kill switch).
    pub pipeline_enabled: bool,
    /// `SECOPS_STATE_DIR`: where the single binary keeps its cluster, keys and outputs.
    pub state_dir: String,
    /// `SECOPS_LOG_FORMAT`: json in Lambda, text elsewhere, unless set.
    pub log_format: LogFormat,
    /// `SECOPS_AUDIT_*`: where the audit chain's keys and checkpoints live.
    pub audit: AuditConfig,
    /// `SECOPS_DEFER_*`, the decide adapters and the policy file.
    pub decide: DecideConfig,
    pub notify: NotifyConfig,
    /// `SECOPS_COLLECT_*`, `SECOPS_FALCON_*`, `SECOPS_CLOUDFLARE_*`: what collection reads.
    pub inventory: InventoryConfig,
    /// `SECOPS_REMEDIATION_*`: the auto-remediation catalogue.
    pub remediation: RemediationConfig,
    /// `SECOPS_TRIAGE_*` and the analyst's settings.
    pub triage: crate::triage_config::TriageConfig,
}

/// Where the hot per-event state lives (DESIGN §4).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HotStateStore {
    /// The PostgreSQL tables of migration V003 (the single binary's default).
    Postgres,
    /// `SECOPS_TICKETS_TABLE` and `SECOPS_STATE_TABLE` (both, or neither).
    DynamoDb { tickets_table: String, state_table: String },
}

/// Where finding status writes go: `SECOPS_FINDINGS_HUB`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FindingsHubTarget {
    /// Security Hub BatchUpdateFindings (`securityhub`).
    SecurityHub,
    /// The `finding_updates` table (`postgres`, the default).
    Postgres,
}

/// Where account data comes from: `SECOPS_ACCOUNT_DIRECTORY`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AccountSource {
    /// AWS Organizations (`organizations`).
    Organizations,
    /// A YAML/JSON file of accounts (any other value: its path). Default `<state_dir>/accounts.yaml`.
    File(String),
}

/// How incidents isolate instances: `SECOPS_QUARANTINE`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum QuarantineMode {
    /// Change nothing; write the plan to `<state_dir>/quarantine-plans.jsonl` (`plan`, the default).
    PlanOnly,
    /// Really isolate through the EC2 API in the member account (`ec2`).
    Ec2,
}

#[derive(Debug, Clone)]
pub struct DecideConfig {
    /// `SECOPS_DEFER_INCIDENTS`: incidents end in do_nothing.
    pub defer_incidents: bool,
    /// `SECOPS_DEFER_AUTOREMEDIATIONS`: remediable controls end in do_nothing.
    pub defer_autoremediations: bool,
    /// `SECOPS_DEFER_TEAM_FIXES`: team tickets are not opened.
    pub defer_team_fixes: bool,
    /// `SECOPS_POLICY_FILE`: read the decide policy from this YAML file instead of the state
    /// store (where `secops policy load` puts it) or the built-in default.
    pub policy_file: Option<String>,
    pub state_store: HotStateStore,
    pub findings_hub: FindingsHubTarget,
    pub accounts: AccountSource,
    pub quarantine: QuarantineMode,
}

impl DecideConfig {
    fn from_vars(var: &dyn Fn(&str) -> Option<String>, state_dir: &str) -> Result<Self, ConfigError> {
        let flag = |name: &'static str| -> Result<bool, ConfigError> {
            match var(name) {
                None => Ok(false),
                Some(v) => {
                    parse_bool(&v).ok_or(ConfigError { var: name, value: v, expected: "true/false, yes/no or 1/0" })
                }
            }
        };
        let state_store = match (var("SECOPS_TICKETS_TABLE"), var("SECOPS_STATE_TABLE")) {
            (Some(tickets_table), Some(state_table)) => HotStateStore::DynamoDb { tickets_table, state_table },
            (None, None) => HotStateStore::Postgres,
            (one, _) => {
                return Err(ConfigError {
                    var: if one.is_some() { "SECOPS_STATE_TABLE" } else { "SECOPS_TICKETS_TABLE" },
                    value: String::new(),
                    expected: "both SECOPS_TICKETS_TABLE and SECOPS_STATE_TABLE (DynamoDB), or neither (PostgreSQL)",
                })
            }
        };
        let findings_hub = match var("SECOPS_FINDINGS_HUB").as_deref() {
            None | Some("postgres") => FindingsHubTarget::Postgres,
            Some("securityhub") => FindingsHubTarget::SecurityHub,
            Some(other) => {
                return Err(ConfigError {
                    var: "SECOPS_FINDINGS_HUB",
                    value: other.into(),
                    expected: "securityhub or postgres",
                })
            }
        };
        let accounts = match var("SECOPS_ACCOUNT_DIRECTORY") {
            Some(v) if v == "organizations" => AccountSource::Organizations,
            Some(path) => AccountSource::File(path),
            None => AccountSource::File(format!("{state_dir}/accounts.yaml")),
        };
        let quarantine = match var("SECOPS_QUARANTINE").as_deref() {
            None | Some("plan") => QuarantineMode::PlanOnly,
            Some("ec2") => QuarantineMode::Ec2,
            Some(other) => {
                return Err(ConfigError { var: "SECOPS_QUARANTINE", value: other.into(), expected: "plan or ec2" })
            }
        };
        Ok(DecideConfig {
            defer_incidents: flag("SECOPS_DEFER_INCIDENTS")?,
            defer_autoremediations: flag("SECOPS_DEFER_AUTOREMEDIATIONS")?,
            defer_team_fixes: flag("SECOPS_DEFER_TEAM_FIXES")?,
            policy_file: var("SECOPS_POLICY_FILE"),
            state_store,
            findings_hub,
            accounts,
            quarantine,
        })
    }
}

/// A secret given directly (environment) or read from an SSM SecureString parameter.
#[derive(Debug, Clone)]
pub enum SecretSource {
    Value(SecretString),
    SsmParameter(String),
}

/// Jira Cloud, when `SECOPS_JIRA_URL` is set.
#[derive(Debug, Clone)]
pub struct JiraSettings {
    /// `SECOPS_JIRA_URL`: `https://<site>.atlassian.net`.
    pub url: String,
    /// `SECOPS_JIRA_EMAIL`: the account the API token belongs to.
    pub email: String,
    /// `SECOPS_JIRA_API_TOKEN` or `SECOPS_JIRA_API_TOKEN_PARAMETER` (SSM SecureString).
    pub api_token: SecretSource,
    /// `SECOPS_JIRA_PROJECT`: the default project key.
    pub project: String,
    /// `SECOPS_JIRA_ISSUE_TYPE`, default `Task`.
    pub issue_type: String,
    /// `SECOPS_JIRA_COMPONENTS`: comma-separated component names.
    pub components: Vec<String>,
    /// `SECOPS_JIRA_CUSTOM_FIELDS`: a JSON object of custom field id → value, set on every issue.
    pub custom_fields: serde_json::Map<String, serde_json::Value>,
}

/// Where chat messages go.
#[derive(Debug, Clone)]
pub enum ChatTarget {
    /// JSON lines in a file (`SECOPS_CHAT_FILE`, default `<state_dir>/chat.jsonl`).
    File(String),
    /// Slack's Web API: `SECOPS_SLACK_BOT_TOKEN` (or `_PARAMETER`) and `SECOPS_SLACK_CHANNEL`;
    /// `SECOPS_SLACK_API_URL` overrides `https://slack.com`.
    SlackWebApi { api_url: String, bot_token: SecretSource, channel: String },
    /// A Slack incoming webhook: `SECOPS_SLACK_WEBHOOK_URL` (or `_PARAMETER`).
    SlackWebhook { url: SecretSource },
}

#[derive(Debug, Clone)]
pub struct NotifyConfig {
    /// None: tickets are Markdown + ADF files in `tickets_dir`.
    pub jira: Option<JiraSettings>,
    /// `SECOPS_TICKETS_DIR`: the local ticketing folder, default `<state_dir>/tickets`.
    pub tickets_dir: String,
    pub chat: ChatTarget,
    /// `SECOPS_SLACK_PER_MINUTE`: messages per minute per destination, default 30.
    pub slack_per_minute: u32,
    /// `SECOPS_BREAKER_FAILURES`: consecutive failures that open a destination's breaker (5).
    pub breaker_failures: u32,
    /// `SECOPS_BREAKER_OPEN_SECONDS`: how long it stays open before a probe (60).
    pub breaker_open_seconds: u64,
}

impl NotifyConfig {
    fn from_vars(var: &dyn Fn(&str) -> Option<String>, state_dir: &str) -> Result<Self, ConfigError> {
        let secret = |value: &'static str, parameter: &'static str| -> Option<SecretSource> {
            match (var(value), var(parameter)) {
                (Some(v), _) => Some(SecretSource::Value(SecretString::from(v))),
                (None, Some(p)) => Some(SecretSource::SsmParameter(p)),
                (None, None) => None,
            }
        };
        let number = |name: &'static str, default: u64, max: u64| -> Result<u64, ConfigError> {
            match var(name) {
                None => Ok(default),
                Some(v) => v.parse::<u64>().ok().filter(|n| (1..=max).contains(n)).ok_or(ConfigError {
                    var: name,
                    value: v,
                    expected: "a whole number, at least 1",
                }),
            }
        };
        let jira = match var("SECOPS_JIRA_URL") {
            None => None,
            Some(url) => {
                if !(url.starts_with("https://")
                    || url.starts_with("http://127.0.0.1")
                    || url.starts_with("http://localhost"))
                {
                    return Err(ConfigError { var: "SECOPS_JIRA_URL", value: url, expected: "an https:// URL" });
                }
                let required = |name: &'static str| {
                    var(name).ok_or(ConfigError {
                        var: name,
                        value: String::new(),
                        expected: "a value when SECOPS_JIRA_URL is set",
                    })
                };
                let custom_fields = match var("SECOPS_JIRA_CUSTOM_FIELDS") {
                    None => serde_json::Map::new(),
                    Some(text) => match serde_json::from_str::<serde_json::Value>(&text) {
                        Ok(serde_json::Value::Object(map)) => map,
                        _ => {
                            return Err(ConfigError {
                                var: "SECOPS_JIRA_CUSTOM_FIELDS",
                                value: text,
                                expected: r#"a JSON object such as {"customfield_10010": "value"}"#,
                            })
                        }
                    },
                };
                Some(JiraSettings {
                    url: url.trim_end_matches('/').to_owned(),
                    email: required("SECOPS_JIRA_EMAIL")?,
                    api_token: secret("SECOPS_JIRA_API_TOKEN", "SECOPS_JIRA_API_TOKEN_PARAMETER").ok_or(
                        ConfigError {
                            var: "SECOPS_JIRA_API_TOKEN",
                            value: String::new(),
                            expected: "an API token (or SECOPS_JIRA_API_TOKEN_PARAMETER) when SECOPS_JIRA_URL is set",
                        },
                    )?,
                    project: required("SECOPS_JIRA_PROJECT")?,
                    issue_type: var("SECOPS_JIRA_ISSUE_TYPE").unwrap_or_else(|| "Task".to_owned()),
                    components: var("SECOPS_JIRA_COMPONENTS")
                        .map(|c| c.split(',').map(str::trim).filter(|c| !c.is_empty()).map(str::to_owned).collect())
                        .unwrap_or_default(),
                    custom_fields,
                })
            }
        };
        let webhook = secret("SECOPS_SLACK_WEBHOOK_URL", "SECOPS_SLACK_WEBHOOK_URL_PARAMETER");
        let bot_token = secret("SECOPS_SLACK_BOT_TOKEN", "SECOPS_SLACK_BOT_TOKEN_PARAMETER");
        let chat = match (bot_token, webhook) {
            (Some(_), Some(_)) => {
                return Err(ConfigError {
                    var: "SECOPS_SLACK_WEBHOOK_URL",
                    value: "<redacted>".into(),
                    expected: "either a bot token (SECOPS_SLACK_BOT_TOKEN) or a webhook, not both",
                })
            }
            (Some(bot_token), None) => ChatTarget::SlackWebApi {
                api_url: var("SECOPS_SLACK_API_URL").unwrap_or_else(|| "https://slack.com".to_owned()),
                bot_token,
                channel: var("SECOPS_SLACK_CHANNEL").ok_or(ConfigError {
                    var: "SECOPS_SLACK_CHANNEL",
                    value: String::new(),
                    expected: "a channel id or name when a Slack bot token is set",
                })?,
            },
            (None, Some(url)) => ChatTarget::SlackWebhook { url },
            (None, None) => {
                ChatTarget::File(var("SECOPS_CHAT_FILE").unwrap_or_else(|| format!("{state_dir}/chat.jsonl")))
            }
        };
        Ok(NotifyConfig {
            jira,
            tickets_dir: var("SECOPS_TICKETS_DIR").unwrap_or_else(|| format!("{state_dir}/tickets")),
            chat,
            slack_per_minute: number("SECOPS_SLACK_PER_MINUTE", 30, 6000)? as u32,
            breaker_failures: number("SECOPS_BREAKER_FAILURES", 5, 1000)? as u32,
            breaker_open_seconds: number("SECOPS_BREAKER_OPEN_SECONDS", 60, 86_400)?,
        })
    }
}

/// Where the audit chain's signing keys come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AuditKeySource {
    /// `SECOPS_AUDIT_KMS_KEY_ID`: a KMS HMAC_256 key; the key never leaves KMS (the default on
    /// AWS). `SECOPS_AUDIT_KMS_RETIRED_KEY_IDS` lists earlier keys whose events still verify.
    Kms { key_id: String, retired_key_ids: Vec<String> },
    /// `SECOPS_AUDIT_KEY_PARAMETER`: an SSM SecureString holding a keyring document.
    SsmParameter(String),
    /// `SECOPS_AUDIT_KEY_FILE` (default `<state dir>/audit-keys.json`): a keyring file, mode 0600,
    /// created on first use (the default of the single binary).
    File(String),
}

/// Where signed checkpoints of the chain head are published, outside the audit table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CheckpointTarget {
    /// `SECOPS_AUDIT_CHECKPOINT_PARAMETER`: an SSM String parameter (its history keeps the old ones).
    SsmParameter(String),
    /// `SECOPS_AUDIT_CHECKPOINT_FILE` (default `<state dir>/audit-checkpoint.json`).
    File(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditConfig {
    /// `SECOPS_AUDIT_CHAIN`, default `main`: one linear chain per name.
    pub chain: String,
    pub keys: AuditKeySource,
    pub checkpoints: CheckpointTarget,
    /// `SECOPS_REDACTION_POLICY_FILE`: per-destination overrides of the redaction defaults.
    pub redaction_policy_file: Option<String>,
}

impl AuditConfig {
    fn from_vars(var: &dyn Fn(&str) -> Option<String>, state_dir: &str) -> Result<Self, ConfigError> {
        let chain = var("SECOPS_AUDIT_CHAIN").unwrap_or_else(|| "main".to_owned());
        if !(1..=64).contains(&chain.len()) || !chain.chars().all(|c| c.is_ascii_alphanumeric() || "_-.".contains(c)) {
            return Err(ConfigError { var: "SECOPS_AUDIT_CHAIN", value: chain, expected: "1-64 of A-Z a-z 0-9 _ - ." });
        }
        let retired = var("SECOPS_AUDIT_KMS_RETIRED_KEY_IDS")
            .map(|list| list.split(',').map(str::trim).filter(|k| !k.is_empty()).map(str::to_owned).collect())
            .unwrap_or_default();
        let keys =
            match (var("SECOPS_AUDIT_KMS_KEY_ID"), var("SECOPS_AUDIT_KEY_PARAMETER"), var("SECOPS_AUDIT_KEY_FILE")) {
                (Some(key_id), None, None) => AuditKeySource::Kms { key_id, retired_key_ids: retired },
                (None, Some(parameter), None) => AuditKeySource::SsmParameter(parameter),
                (None, None, file) => {
                    AuditKeySource::File(file.unwrap_or_else(|| format!("{state_dir}/audit-keys.json")))
                }
                (_, _, file) => {
                    // Name the last source that is set, so a caller that drops it can parse on.
                    return Err(ConfigError {
                        var: if file.is_some() { "SECOPS_AUDIT_KEY_FILE" } else { "SECOPS_AUDIT_KEY_PARAMETER" },
                        value: "<several>".into(),
                        expected:
                            "only one of SECOPS_AUDIT_KMS_KEY_ID, SECOPS_AUDIT_KEY_PARAMETER and SECOPS_AUDIT_KEY_FILE",
                    });
                }
            };
        let checkpoints = match (var("SECOPS_AUDIT_CHECKPOINT_PARAMETER"), var("SECOPS_AUDIT_CHECKPOINT_FILE")) {
            (Some(_), Some(_)) => {
                return Err(ConfigError {
                    var: "SECOPS_AUDIT_CHECKPOINT_PARAMETER",
                    value: "<both>".into(),
                    expected: "only one of SECOPS_AUDIT_CHECKPOINT_PARAMETER and SECOPS_AUDIT_CHECKPOINT_FILE",
                })
            }
            (Some(parameter), None) => CheckpointTarget::SsmParameter(parameter),
            (None, file) => {
                CheckpointTarget::File(file.unwrap_or_else(|| format!("{state_dir}/audit-checkpoint.json")))
            }
        };
        Ok(AuditConfig { chain, keys, checkpoints, redaction_policy_file: var("SECOPS_REDACTION_POLICY_FILE") })
    }
}

pub const DEFAULT_MEMBER_ROLE_NAME: &str = "SecOpsAutopilotMember";
/// CrowdStrike Falcon, when `SECOPS_FALCON_CLIENT_ID` is set.
#[derive(Debug, Clone)]
pub struct FalconSettings {
    /// `SECOPS_FALCON_URL`, default `https://api.crowdstrike.com` (the US-1 cloud).
    pub url: String,
    /// `SECOPS_FALCON_CLIENT_ID`: an API client with Hosts:read and Alerts:read.
    pub client_id: String,
    /// `SECOPS_FALCON_CLIENT_SECRET` or `SECOPS_FALCON_CLIENT_SECRET_PARAMETER` (SSM SecureString).
    pub client_secret: SecretSource,
    /// `SECOPS_FALCON_MEMBER_CID`: a child CID of a Flight Control parent.
    pub member_cid: Option<String>,
}

/// Cloudflare, when `SECOPS_CLOUDFLARE_API_TOKEN` (or its `_PARAMETER`) is set.
#[derive(Debug, Clone)]
pub struct CloudflareSettings {
    /// `SECOPS_CLOUDFLARE_API_URL`, default `https://api.cloudflare.com/client/v4`.
    pub url: String,
    /// `SECOPS_CLOUDFLARE_API_TOKEN` or `SECOPS_CLOUDFLARE_API_TOKEN_PARAMETER`: Zone:Read + DNS:Read.
    pub api_token: SecretSource,
    /// `SECOPS_CLOUDFLARE_ACCOUNT_ID`: only this account's zones.
    pub account_id: Option<String>,
}

/// What collection reads.
#[derive(Debug, Clone)]
pub struct InventoryConfig {
    /// `SECOPS_COLLECT_ACCOUNTS`: comma-separated account ids; empty means the account of the
    /// collector's own credentials.
    pub accounts: Vec<String>,
    /// `SECOPS_COLLECTOR_ROLE_NAME`: the read-only role assumed in every account
    /// (default `SecOpsInventoryReader`).
    pub collector_role_name: String,
    /// `SECOPS_COLLECT_CONCURRENCY`: collector runs at once (default 8).
    pub concurrency: usize,
    /// `SECOPS_COLLECT_FROM_DIR`: import this folder of recorded responses instead of calling the
    /// APIs (the single binary's default when set).
    pub from_dir: Option<String>,
    pub falcon: Option<FalconSettings>,
    pub cloudflare: Option<CloudflareSettings>,
}

pub const DEFAULT_COLLECTOR_ROLE_NAME: &str = "SecOpsInventoryReader";

/// Whether remediations change anything: `SECOPS_REMEDIATION_MODE`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RemediationMode {
    /// Read the resource and show the plan; change nothing (`plan`, the single binary's default:
    /// its session policy grants only the reading actions).
    Plan,
    /// Plan, apply and verify (`apply`; the Lambda function's setting).
    Apply,
}

/// An account or OU left alone, for every control or one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RemediationExemption {
    /// An account id, or an OU id / name (as account data names it).
    pub scope: String,
    /// `None`: every control.
    pub control: Option<String>,
}

impl RemediationExemption {
    pub fn covers(&self, scope: &str, control: &str) -> bool {
        self.scope.eq_ignore_ascii_case(scope)
            && self.control.as_deref().is_none_or(|c| c.eq_ignore_ascii_case(control))
    }
}

/// The remediation catalogue's settings.
#[derive(Debug, Clone)]
pub struct RemediationConfig {
    pub mode: RemediationMode,
    /// `SECOPS_REMEDIATION_ROLE_NAME`: the member-account role remediations assume (default
    /// `SecOpsRemediation`, deployed by remediation-member-role.yaml), always narrowed by a
    /// session policy to one remediation's declared actions.
    pub role_name: String,
    /// `SECOPS_REMEDIATION_APPROVAL_ENVIRONMENTS`: account environments whose disruptive plans
    /// wait for approval (comma separated, default `PROD`; `none` for no approvals).
    pub approval_environments: Vec<String>,
    /// `SECOPS_REMEDIATION_EXEMPT_ACCOUNTS`: `111122223333` or `111122223333:S3.2`, comma separated.
    pub exempt_accounts: Vec<RemediationExemption>,
    /// `SECOPS_REMEDIATION_EXEMPT_OUS`: OU ids or names, optionally `:CONTROL`, comma separated.
    pub exempt_ous: Vec<RemediationExemption>,
    /// `SECOPS_REMEDIATION_VERIFY_ATTEMPTS` (default 3) and `SECOPS_REMEDIATION_VERIFY_DELAY_MS`
    /// (default 2000): re-reads before a verification counts as failed (APIs are eventually consistent).
    pub verify_attempts: u32,
    pub verify_delay_ms: u64,
    /// `SECOPS_REMEDIATION_LOG_BUCKET_PREFIX`: log buckets the catalogue creates are named
    /// `<prefix>-<account>-<region>` (default `secops-logs`).
    pub log_bucket_prefix: String,
}

pub const DEFAULT_REMEDIATION_ROLE_NAME: &str = "SecOpsRemediation";

impl RemediationConfig {
    fn from_vars(var: &dyn Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let mode = match var("SECOPS_REMEDIATION_MODE").as_deref() {
            None | Some("plan") => RemediationMode::Plan,
            Some("apply") => RemediationMode::Apply,
            Some(other) => {
                return Err(ConfigError {
                    var: "SECOPS_REMEDIATION_MODE",
                    value: other.into(),
                    expected: "plan or apply",
                })
            }
        };
        let role_name = var("SECOPS_REMEDIATION_ROLE_NAME").unwrap_or_else(|| DEFAULT_REMEDIATION_ROLE_NAME.to_owned());
        if !is_role_name(&role_name) {
            return Err(ConfigError {
                var: "SECOPS_REMEDIATION_ROLE_NAME",
                value: role_name,
                expected: "an IAM role name (1-64 of A-Z a-z 0-9 +=,.@_-)",
            });
        }
        let list = |name: &str| -> Vec<String> {
            var(name)
                .map(|l| l.split(',').map(|p| p.trim().to_owned()).filter(|p| !p.is_empty()).collect())
                .unwrap_or_default()
        };
        let approval_environments = match var("SECOPS_REMEDIATION_APPROVAL_ENVIRONMENTS") {
            None => vec!["PROD".to_owned()],
            Some(v) if v.eq_ignore_ascii_case("none") => Vec::new(),
            Some(_) => {
                list("SECOPS_REMEDIATION_APPROVAL_ENVIRONMENTS").iter().map(|e| e.to_ascii_uppercase()).collect()
            }
        };
        let exemptions = |name: &'static str, accounts: bool| -> Result<Vec<RemediationExemption>, ConfigError> {
            list(name)
                .into_iter()
                .map(|entry| {
                    let (scope, control) = match entry.split_once(':') {
                        Some((s, c)) => (s.trim().to_owned(), Some(c.trim().to_owned())),
                        None => (entry.clone(), None),
                    };
                    let scope_ok = if accounts {
                        scope.len() == 12 && scope.bytes().all(|b| b.is_ascii_digit())
                    } else {
                        !scope.is_empty()
                    };
                    let control_ok = control.as_deref().is_none_or(|c| c.contains('.') && !c.contains(' '));
                    if scope_ok && control_ok {
                        Ok(RemediationExemption { scope, control })
                    } else {
                        Err(ConfigError {
                            var: name,
                            value: entry,
                            expected: if accounts {
                                "comma-separated 12-digit account ids, each optionally :CONTROL (e.g. 111122223333:S3.2)"
                            } else {
                                "comma-separated OU ids or names, each optionally :CONTROL (e.g. Sandbox:EC2.4)"
                            },
                        })
                    }
                })
                .collect()
        };
        let number = |name: &'static str, default: u64, max: u64| -> Result<u64, ConfigError> {
            match var(name) {
                None => Ok(default),
                Some(v) => v.parse::<u64>().ok().filter(|n| *n <= max).ok_or(ConfigError {
                    var: name,
                    value: v,
                    expected: "a whole number in range",
                }),
            }
        };
        let log_bucket_prefix = var("SECOPS_REMEDIATION_LOG_BUCKET_PREFIX").unwrap_or_else(|| "secops-logs".into());
        // The prefix plus "-<12 digits>-<region up to 14>" must stay a valid bucket name (63).
        if !(3..=32).contains(&log_bucket_prefix.len())
            || !log_bucket_prefix.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
            || log_bucket_prefix.starts_with('-')
        {
            return Err(ConfigError {
                var: "SECOPS_REMEDIATION_LOG_BUCKET_PREFIX",
                value: log_bucket_prefix,
                expected: "3-32 of a-z 0-9 - (the start of an S3 bucket name)",
            });
        }
        Ok(RemediationConfig {
            mode,
            role_name,
            approval_environments,
            exempt_accounts: exemptions("SECOPS_REMEDIATION_EXEMPT_ACCOUNTS", true)?,
            exempt_ous: exemptions("SECOPS_REMEDIATION_EXEMPT_OUS", false)?,
            verify_attempts: number("SECOPS_REMEDIATION_VERIFY_ATTEMPTS", 3, 20)?.max(1) as u32,
            verify_delay_ms: number("SECOPS_REMEDIATION_VERIFY_DELAY_MS", 2000, 60_000)?,
            log_bucket_prefix,
        })
    }
}

impl Default for RemediationConfig {
    fn default() -> Self {
        Self::from_vars(&|_| None).expect("the defaults are valid")
    }
}

/// A secret given directly or as the name of an SSM SecureString parameter.
fn secret_from(var: &dyn Fn(&str) -> Option<String>, value: &str, parameter: &str) -> Option<SecretSource> {
    match (var(value), var(parameter)) {
        (Some(v), _) => Some(SecretSource::Value(SecretString::from(v))),
        (None, Some(p)) => Some(SecretSource::SsmParameter(p)),
        (None, None) => None,
    }
}

/// Whether a URL with this scheme and host may carry a secret (a token, client credentials, a
/// webhook): https to a named host, or plain http only to this machine (tests, a local relay).
pub fn may_carry_secrets(scheme: &str, host: Option<&str>) -> bool {
    match (scheme, host) {
        ("https", Some(host)) => !host.is_empty(),
        ("http", Some(host)) => {
            host.eq_ignore_ascii_case("localhost")
                || host
                    .trim_start_matches('[')
                    .trim_end_matches(']')
                    .parse::<std::net::IpAddr>()
                    .is_ok_and(|ip| ip.is_loopback())
        }
        _ => false,
    }
}

/// An https URL, or http on a loopback host (local fakes in tests).
fn is_service_url(url: &str) -> bool {
    url.starts_with("https://")
        || ["http://127.0.0.1", "http://localhost", "http://[::1]"].iter().any(|p| url.starts_with(p))
}

impl InventoryConfig {
    fn from_vars(var: &dyn Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let accounts: Vec<String> = var("SECOPS_COLLECT_ACCOUNTS")
            .map(|list| list.split(',').map(|a| a.trim().to_owned()).filter(|a| !a.is_empty()).collect())
            .unwrap_or_default();
        if let Some(bad) = accounts.iter().find(|a| a.len() != 12 || !a.bytes().all(|b| b.is_ascii_digit())) {
            return Err(ConfigError {
                var: "SECOPS_COLLECT_ACCOUNTS",
                value: bad.clone(),
                expected: "comma-separated 12-digit AWS account ids",
            });
        }
        let collector_role_name =
            var("SECOPS_COLLECTOR_ROLE_NAME").unwrap_or_else(|| DEFAULT_COLLECTOR_ROLE_NAME.to_owned());
        if !is_role_name(&collector_role_name) {
            return Err(ConfigError {
                var: "SECOPS_COLLECTOR_ROLE_NAME",
                value: collector_role_name,
                expected: "an IAM role name (1-64 of A-Z a-z 0-9 +=,.@_-)",
            });
        }
        let concurrency = match var("SECOPS_COLLECT_CONCURRENCY") {
            None => 8,
            Some(v) => v.parse::<usize>().ok().filter(|n| (1..=64).contains(n)).ok_or(ConfigError {
                var: "SECOPS_COLLECT_CONCURRENCY",
                value: v,
                expected: "a whole number from 1 to 64",
            })?,
        };
        let url = |name: &'static str, default: &str| -> Result<String, ConfigError> {
            let url = var(name).unwrap_or_else(|| default.to_owned());
            if is_service_url(&url) {
                Ok(url.trim_end_matches('/').to_owned())
            } else {
                Err(ConfigError { var: name, value: url, expected: "an https:// URL (http only on loopback)" })
            }
        };
        let falcon = match var("SECOPS_FALCON_CLIENT_ID") {
            None => None,
            Some(client_id) => Some(FalconSettings {
                url: url("SECOPS_FALCON_URL", "https://api.crowdstrike.com")?,
                client_id,
                client_secret: secret_from(var, "SECOPS_FALCON_CLIENT_SECRET", "SECOPS_FALCON_CLIENT_SECRET_PARAMETER")
                    .ok_or(ConfigError {
                        var: "SECOPS_FALCON_CLIENT_SECRET",
                        value: String::new(),
                        expected: "a client secret (or SECOPS_FALCON_CLIENT_SECRET_PARAMETER) when SECOPS_FALCON_CLIENT_ID is set",
                    })?,
                member_cid: var("SECOPS_FALCON_MEMBER_CID"),
            }),
        };
        let cloudflare = match secret_from(var, "SECOPS_CLOUDFLARE_API_TOKEN", "SECOPS_CLOUDFLARE_API_TOKEN_PARAMETER")
        {
            None => None,
            Some(api_token) => Some(CloudflareSettings {
                url: url("SECOPS_CLOUDFLARE_API_URL", "https://api.cloudflare.com/client/v4")?,
                api_token,
                account_id: var("SECOPS_CLOUDFLARE_ACCOUNT_ID"),
            }),
        };
        Ok(InventoryConfig {
            accounts,
            collector_role_name,
            concurrency,
            from_dir: var("SECOPS_COLLECT_FROM_DIR"),
            falcon,
            cloudflare,
        })
    }
}

pub const DEFAULT_REGION: &str = "us-east-1";

impl Config {
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let var = |name: &str| get(name).map(|v| v.trim().to_owned()).filter(|v| !v.is_empty());

        let database = match (var("SECOPS_DATABASE_URL"), var("SECOPS_DATABASE_URL_PARAMETER")) {
            (Some(url), _) => {
                if !(url.starts_with("postgres://") || url.starts_with("postgresql://") || url.contains("host=")) {
                    return Err(ConfigError {
                        var: "SECOPS_DATABASE_URL",
                        value: "<redacted>".into(),
                        expected: "a postgres:// URL or a key=value connection string",
                    });
                }
                DatabaseSource::Url(SecretString::from(url))
            }
            (None, Some(param)) => DatabaseSource::SsmParameter(param),
            (None, None) => DatabaseSource::Embedded,
        };

        let database_pool_size = match var("SECOPS_DATABASE_POOL_SIZE") {
            None => 4,
            Some(v) => v.parse::<usize>().ok().filter(|n| (1..=64).contains(n)).ok_or(ConfigError {
                var: "SECOPS_DATABASE_POOL_SIZE",
                value: v,
                expected: "a whole number from 1 to 64",
            })?,
        };

        let regions = match var("SECOPS_REGIONS") {
            Some(list) => parse_regions(&list)?,
            None => vec![var("AWS_REGION").unwrap_or_else(|| DEFAULT_REGION.to_owned())],
        };

        let member_role_name = var("SECOPS_MEMBER_ROLE_NAME").unwrap_or_else(|| DEFAULT_MEMBER_ROLE_NAME.to_owned());
        if !is_role_name(&member_role_name) {
            return Err(ConfigError {
                var: "SECOPS_MEMBER_ROLE_NAME",
                value: member_role_name,
                expected: "an IAM role name (1-64 of A-Z a-z 0-9 +=,.@_-)",
            });
        }

        let pipeline_enabled = match var("SECOPS_PIPELINE_ENABLED") {
            None => true,
            Some(v) => parse_bool(&v).ok_or(ConfigError {
                var: "SECOPS_PIPELINE_ENABLED",
                value: v,
                expected: "true/false, yes/no or 1/0",
            })?,
        };

        let in_lambda = var("AWS_LAMBDA_FUNCTION_NAME").is_some();
        let log_format = match var("SECOPS_LOG_FORMAT").as_deref() {
            None => {
                if in_lambda {
                    LogFormat::Json
                } else {
                    LogFormat::Text
                }
            }
            Some("json") => LogFormat::Json,
            Some("text") => LogFormat::Text,
            Some(other) => {
                return Err(ConfigError { var: "SECOPS_LOG_FORMAT", value: other.into(), expected: "json or text" })
            }
        };

        let state_dir = var("SECOPS_STATE_DIR").unwrap_or_else(|| ".secops".to_owned());
        let audit = AuditConfig::from_vars(&var, &state_dir)?;
        let decide = DecideConfig::from_vars(&var, &state_dir)?;
        let notify = NotifyConfig::from_vars(&var, &state_dir)?;
        let inventory = InventoryConfig::from_vars(&var)?;
        let remediation = RemediationConfig::from_vars(&var)?;
        let triage = crate::triage_config::TriageConfig::from_vars(&var)?;

        Ok(Config {
            database,
            database_pool_size,
            aws_endpoint_url: var("SECOPS_AWS_ENDPOINT_URL"),
            regions,
            member_role_name,
            pipeline_enabled,
            state_dir,
            log_format,
            audit,
            decide,
            notify,
            inventory,
            remediation,
            triage,
        })
    }
}

fn parse_bool(v: &str) -> Option<bool> {
    match v.to_ascii_lowercase().as_str() {
        "1" | "true" | "yes" | "on" => Some(true),
        "0" | "false" | "no" | "off" => Some(false),
        _ => None,
    }
}

fn is_role_name(name: &str) -> bool {
    (1..=64).contains(&name.len()) && name.chars().all(|c| c.is_ascii_alphanumeric() || "+=,.@_-".contains(c))
}

/// `us-east-1, eu-west-2` → validated region names, duplicates removed, order kept.
pub fn parse_regions(list: &str) -> Result<Vec<String>, ConfigError> {
    let mut out: Vec<String> = Vec::new();
    for part in list.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        if !is_region_name(part) {
            return Err(ConfigError {
                var: "SECOPS_REGIONS",
                value: list.to_owned(),
                expected: "comma-separated AWS region names such as us-east-1,eu-west-2",
            });
        }
        if !out.iter().any(|r| r == part) {
            out.push(part.to_owned());
        }
    }
    if out.is_empty() {
        return Err(ConfigError { var: "SECOPS_REGIONS", value: list.to_owned(), expected: "at least one region" });
    }
    Ok(out)
}

/// Region names look like `us-east-1`, `ap-southeast-2`, `us-gov-west-1`, `eu-central-2`.
pub fn is_region_name(s: &str) -> bool {
    let parts: Vec<&str> = s.split('-').collect();
    parts.len() >= 3
        && parts[..parts.len() - 1].iter().all(|p| !p.is_empty() && p.chars().all(|c| c.is_ascii_lowercase()))
        && parts[parts.len() - 1].parse::<u8>().is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn parse(pairs: &[(&str, &str)]) -> Result<Config, ConfigError> {
        let map: HashMap<String, String> = pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        Config::from_lookup(|k| map.get(k).cloned())
    }

    #[test]
    fn remediation_settings() {
        let c = parse(&[]).unwrap().remediation;
        assert_eq!(c.mode, RemediationMode::Plan);
        assert_eq!(c.role_name, DEFAULT_REMEDIATION_ROLE_NAME);
        assert_eq!(c.approval_environments, ["PROD"]);
        let c = parse(&[
            ("SECOPS_REMEDIATION_MODE", "apply"),
            ("SECOPS_REMEDIATION_APPROVAL_ENVIRONMENTS", "prod, staging"),
            ("SECOPS_REMEDIATION_EXEMPT_ACCOUNTS", "111122223333, 444455556666:S3.2"),
            ("SECOPS_REMEDIATION_EXEMPT_OUS", "Sandbox:EC2.4"),
        ])
        .unwrap()
        .remediation;
        assert_eq!(c.mode, RemediationMode::Apply);
        assert_eq!(c.approval_environments, ["PROD", "STAGING"]);
        assert!(c.exempt_accounts[0].covers("111122223333", "EC2.2"));
        assert!(c.exempt_accounts[1].covers("444455556666", "s3.2"));
        assert!(!c.exempt_accounts[1].covers("444455556666", "S3.3"));
        assert!(c.exempt_ous[0].covers("sandbox", "EC2.4"));
        assert!(parse(&[("SECOPS_REMEDIATION_APPROVAL_ENVIRONMENTS", "none")])
            .unwrap()
            .remediation
            .approval_environments
            .is_empty());
        let e = parse(&[("SECOPS_REMEDIATION_EXEMPT_ACCOUNTS", "12345")]).unwrap_err();
        assert_eq!(e.var, "SECOPS_REMEDIATION_EXEMPT_ACCOUNTS");
        assert_eq!(parse(&[("SECOPS_REMEDIATION_MODE", "yolo")]).unwrap_err().var, "SECOPS_REMEDIATION_MODE");
        assert_eq!(
            parse(&[("SECOPS_REMEDIATION_LOG_BUCKET_PREFIX", "Bad_")]).unwrap_err().var,
            "SECOPS_REMEDIATION_LOG_BUCKET_PREFIX"
        );
    }

    #[test]
    fn defaults_are_the_embedded_single_binary() {
        let c = parse(&[]).unwrap();
        assert!(matches!(c.database, DatabaseSource::Embedded));
        assert_eq!(c.regions, ["us-east-1"]);
        assert_eq!(c.member_role_name, DEFAULT_MEMBER_ROLE_NAME);
        assert!(c.pipeline_enabled);
        assert_eq!(c.log_format, LogFormat::Text);
        assert_eq!(c.state_dir, ".secops");
    }

    #[test]
    fn secrets_travel_over_https_or_to_this_machine_only() {
        for (scheme, host) in
            [("https", "api.crowdstrike.com"), ("http", "127.0.0.1"), ("http", "[::1]"), ("http", "LOCALHOST")]
        {
            assert!(may_carry_secrets(scheme, Some(host)), "{scheme}://{host}");
        }
        for (scheme, host) in [
            ("http", Some("api.crowdstrike.com")),
            ("http", Some("10.0.0.1")),
            ("https", None),
            ("ftp", Some("127.0.0.1")),
        ] {
            assert!(!may_carry_secrets(scheme, host), "{scheme}://{host:?}");
        }
    }

    #[test]
    fn inventory_settings_are_checked_with_the_variable_named() {
        let c = parse(&[]).unwrap();
        assert!(c.inventory.accounts.is_empty() && c.inventory.falcon.is_none() && c.inventory.cloudflare.is_none());
        assert_eq!(
            (c.inventory.collector_role_name.as_str(), c.inventory.concurrency),
            (DEFAULT_COLLECTOR_ROLE_NAME, 8)
        );
        let c = parse(&[
            ("SECOPS_COLLECT_ACCOUNTS", "111122223333, 444455556666"),
            ("SECOPS_FALCON_CLIENT_ID", "abc"),
            ("SECOPS_FALCON_CLIENT_SECRET_PARAMETER", "/secops/falcon"),
            ("SECOPS_CLOUDFLARE_API_TOKEN", "t"),
        ])
        .unwrap();
        assert_eq!(c.inventory.accounts, ["111122223333", "444455556666"]);
        let falcon = c.inventory.falcon.unwrap();
        assert_eq!(falcon.url, "https://api.crowdstrike.com");
        assert!(matches!(falcon.client_secret, SecretSource::SsmParameter(ref p) if p == "/secops/falcon"));
        assert_eq!(c.inventory.cloudflare.unwrap().url, "https://api.cloudflare.com/client/v4");
        for (var, value) in [
            ("SECOPS_COLLECT_ACCOUNTS", "12345"),
            ("SECOPS_COLLECT_CONCURRENCY", "0"),
            ("SECOPS_COLLECTOR_ROLE_NAME", "no spaces allowed"),
        ] {
            assert_eq!(parse(&[(var, value)]).unwrap_err().var, var);
        }
        let err = parse(&[("SECOPS_FALCON_CLIENT_ID", "abc")]).unwrap_err();
        assert_eq!(err.var, "SECOPS_FALCON_CLIENT_SECRET");
        let err = parse(&[("SECOPS_CLOUDFLARE_API_TOKEN", "t"), ("SECOPS_CLOUDFLARE_API_URL", "http://example.com")])
            .unwrap_err();
        assert_eq!(err.var, "SECOPS_CLOUDFLARE_API_URL");
    }

    #[test]
    fn lambda_defaults_to_json_logs_and_aws_region() {
        let c = parse(&[("AWS_LAMBDA_FUNCTION_NAME", "decide"), ("AWS_REGION", "eu-west-1")]).unwrap();
        assert_eq!(c.log_format, LogFormat::Json);
        assert_eq!(c.regions, ["eu-west-1"]);
    }

    #[test]
    fn database_url_never_prints() {
        let c = parse(&[("SECOPS_DATABASE_URL", "postgres://u:hunter2@db/x")]).unwrap();
        assert_eq!(c.database.url(), Some("postgres://u:hunter2@db/x"));
        assert!(!format!("{c:?}").contains("hunter2"));
        let e = parse(&[("SECOPS_DATABASE_URL", "mysql://u:hunter2@db")]).unwrap_err();
        assert!(!e.to_string().contains("hunter2"));
        assert_eq!(e.var, "SECOPS_DATABASE_URL");
    }

    #[test]
    fn bad_values_name_the_variable() {
        let e = parse(&[("SECOPS_REGIONS", "us-east-1,Mars")]).unwrap_err();
        assert_eq!(e.var, "SECOPS_REGIONS");
        assert!(e.to_string().contains("Mars"));
        assert_eq!(parse(&[("SECOPS_PIPELINE_ENABLED", "maybe")]).unwrap_err().var, "SECOPS_PIPELINE_ENABLED");
        assert_eq!(parse(&[("SECOPS_MEMBER_ROLE_NAME", "a b")]).unwrap_err().var, "SECOPS_MEMBER_ROLE_NAME");
        assert_eq!(parse(&[("SECOPS_DATABASE_POOL_SIZE", "0")]).unwrap_err().var, "SECOPS_DATABASE_POOL_SIZE");
        assert_eq!(parse(&[("SECOPS_LOG_FORMAT", "xml")]).unwrap_err().var, "SECOPS_LOG_FORMAT");
    }

    #[test]
    fn regions_are_deduplicated_in_order() {
        let c = parse(&[("SECOPS_REGIONS", " eu-west-2, us-east-1 ,eu-west-2,us-gov-west-1")]).unwrap();
        assert_eq!(c.regions, ["eu-west-2", "us-east-1", "us-gov-west-1"]);
        assert!(matches!(parse(&[("SECOPS_PIPELINE_ENABLED", "No")]).map(|c| c.pipeline_enabled), Ok(false)));
    }

    #[test]
    fn ssm_parameter_source() {
        let c = parse(&[("SECOPS_DATABASE_URL_PARAMETER", "/secops/database-url")]).unwrap();
        assert!(matches!(c.database, DatabaseSource::SsmParameter(ref p) if p == "/secops/database-url"));
    }
}

#[cfg(test)]
mod audit_config_tests {
    use super::*;
    use std::collections::HashMap;

    fn audit(pairs: &[(&str, &str)]) -> Result<AuditConfig, ConfigError> {
        let map: HashMap<String, String> = pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        Config::from_lookup(|k| map.get(k).cloned()).map(|c| c.audit)
    }

    #[test]
    fn the_single_binary_defaults_to_a_key_file_and_a_checkpoint_file_in_the_state_dir() {
        let a = audit(&[("SECOPS_STATE_DIR", "/var/lib/secops")]).unwrap();
        assert_eq!(a.chain, "main");
        assert_eq!(a.keys, AuditKeySource::File("/var/lib/secops/audit-keys.json".into()));
        assert_eq!(a.checkpoints, CheckpointTarget::File("/var/lib/secops/audit-checkpoint.json".into()));
    }

    #[test]
    fn kms_with_retired_keys_and_an_ssm_checkpoint() {
        let a = audit(&[
            ("SECOPS_AUDIT_KMS_KEY_ID", "alias/secops-audit"),
            ("SECOPS_AUDIT_KMS_RETIRED_KEY_IDS", " key-1 , ,key-2"),
            ("SECOPS_AUDIT_CHECKPOINT_PARAMETER", "/secops/audit/checkpoint"),
        ])
        .unwrap();
        assert_eq!(
            a.keys,
            AuditKeySource::Kms {
                key_id: "alias/secops-audit".into(),
                retired_key_ids: vec!["key-1".into(), "key-2".into()]
            }
        );
        assert_eq!(a.checkpoints, CheckpointTarget::SsmParameter("/secops/audit/checkpoint".into()));
    }

    #[test]
    fn two_key_sources_or_a_bad_chain_name_are_refused_with_the_variable() {
        let err = audit(&[("SECOPS_AUDIT_KMS_KEY_ID", "k"), ("SECOPS_AUDIT_KEY_PARAMETER", "/p")]).unwrap_err();
        assert!(err.expected.contains("only one of"), "{err}");
        let err = audit(&[("SECOPS_AUDIT_CHAIN", "a|b")]).unwrap_err();
        assert_eq!(err.var, "SECOPS_AUDIT_CHAIN");
    }
}
