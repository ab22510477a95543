//! `secops.toml`: one documented file for every setting of the single binary.
//!
//! Every key stands for exactly one `SECOPS_*` variable ([`SETTINGS`]); a variable set in the
//! environment overrides the file's key, and the file overrides the built-in defaults. The file
//! is turned into the same variable lookup that [`Config::from_lookup`] parses, so the file and
//! the environment are validated by one set of rules. Loading collects every problem, each
//! named by its key path (or by its variable when the value came from the environment).
//!
//! The tables `daemon`, `schedules` and `ingestion` belong to the daemon: they are kept raw
//! ([`ConfigFile::section`]) and not checked here.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::path::Path;

use crate::config::Config;

/// The variable that names the configuration file (the CLI's `--config`).
pub const CONFIG_VAR: &str = "SECOPS_CONFIG";

/// Tables of the file that other parts of the program parse (the daemon's).
pub const FOREIGN_TABLES: [&str; 3] = ["daemon", "schedules", "ingestion"];

/// What TOML value a key takes, besides a string (every key also takes the variable's text).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ValueKind {
    Text,
    Integer,
    Flag,
    /// An array of strings, joined with commas as the variable expects.
    List,
    /// An integer or a float.
    Number,
    /// A table or an array, passed on as JSON text.
    Json,
}

impl ValueKind {
    fn expected(self) -> &'static str {
        match self {
            ValueKind::Text => "a string",
            ValueKind::Integer => "a whole number",
            ValueKind::Flag => "true or false",
            ValueKind::List => "an array of strings",
            ValueKind::Number => "a number",
            ValueKind::Json => "a table or an array (or its JSON as a string)",
        }
    }
}

/// One key of the file and the variable it sets.
#[derive(Debug, Clone, Copy)]
pub struct Setting {
    /// `section.name`.
    pub key: &'static str,
    pub var: &'static str,
    pub kind: ValueKind,
    /// Never printed; a file holding it must not be readable by others.
    pub secret: bool,
}

const fn setting(key: &'static str, var: &'static str, kind: ValueKind) -> Setting {
    Setting { key, var, kind, secret: false }
}

const fn secret(key: &'static str, var: &'static str) -> Setting {
    Setting { key, var, kind: ValueKind::Text, secret: true }
}

use ValueKind::{Flag, Integer, Json, List, Number, Text};

/// Every key of `secops.toml`, in the order of the documented example.
pub const SETTINGS: &[Setting] = &[
    setting("state.dir", "SECOPS_STATE_DIR", Text),
    setting("state.log_format", "SECOPS_LOG_FORMAT", Text),
    setting("state.pipeline_enabled", "SECOPS_PIPELINE_ENABLED", Flag),
    secret("database.url", "SECOPS_DATABASE_URL"),
    setting("database.url_parameter", "SECOPS_DATABASE_URL_PARAMETER", Text),
    setting("database.pool_size", "SECOPS_DATABASE_POOL_SIZE", Integer),
    setting("aws.regions", "SECOPS_REGIONS", List),
    setting("aws.endpoint_url", "SECOPS_AWS_ENDPOINT_URL", Text),
    setting("aws.member_role_name", "SECOPS_MEMBER_ROLE_NAME", Text),
    setting("collect.accounts", "SECOPS_COLLECT_ACCOUNTS", List),
    setting("collect.role_name", "SECOPS_COLLECTOR_ROLE_NAME", Text),
    setting("collect.concurrency", "SECOPS_COLLECT_CONCURRENCY", Integer),
    setting("collect.from_dir", "SECOPS_COLLECT_FROM_DIR", Text),
    setting("falcon.url", "SECOPS_FALCON_URL", Text),
    setting("falcon.client_id", "SECOPS_FALCON_CLIENT_ID", Text),
    secret("falcon.client_secret", "SECOPS_FALCON_CLIENT_SECRET"),
    setting("falcon.client_secret_parameter", "SECOPS_FALCON_CLIENT_SECRET_PARAMETER", Text),
    setting("falcon.member_cid", "SECOPS_FALCON_MEMBER_CID", Text),
    setting("cloudflare.api_url", "SECOPS_CLOUDFLARE_API_URL", Text),
    secret("cloudflare.api_token", "SECOPS_CLOUDFLARE_API_TOKEN"),
    setting("cloudflare.api_token_parameter", "SECOPS_CLOUDFLARE_API_TOKEN_PARAMETER", Text),
    setting("cloudflare.account_id", "SECOPS_CLOUDFLARE_ACCOUNT_ID", Text),
    setting("decide.policy_file", "SECOPS_POLICY_FILE", Text),
    setting("decide.defer_incidents", "SECOPS_DEFER_INCIDENTS", Flag),
    setting("decide.defer_autoremediations", "SECOPS_DEFER_AUTOREMEDIATIONS", Flag),
    setting("decide.defer_team_fixes", "SECOPS_DEFER_TEAM_FIXES", Flag),
    setting("decide.findings_hub", "SECOPS_FINDINGS_HUB", Text),
    setting("decide.account_directory", "SECOPS_ACCOUNT_DIRECTORY", Text),
    setting("decide.quarantine", "SECOPS_QUARANTINE", Text),
    setting("decide.tickets_table", "SECOPS_TICKETS_TABLE", Text),
    setting("decide.state_table", "SECOPS_STATE_TABLE", Text),
    setting("remediation.mode", "SECOPS_REMEDIATION_MODE", Text),
    setting("remediation.role_name", "SECOPS_REMEDIATION_ROLE_NAME", Text),
    setting("remediation.approval_environments", "SECOPS_REMEDIATION_APPROVAL_ENVIRONMENTS", List),
    setting("remediation.exempt_accounts", "SECOPS_REMEDIATION_EXEMPT_ACCOUNTS", List),
    setting("remediation.exempt_ous", "SECOPS_REMEDIATION_EXEMPT_OUS", List),
    setting("remediation.verify_attempts", "SECOPS_REMEDIATION_VERIFY_ATTEMPTS", Integer),
    setting("remediation.verify_delay_ms", "SECOPS_REMEDIATION_VERIFY_DELAY_MS", Integer),
    setting("remediation.log_bucket_prefix", "SECOPS_REMEDIATION_LOG_BUCKET_PREFIX", Text),
    setting("jira.url", "SECOPS_JIRA_URL", Text),
    setting("jira.email", "SECOPS_JIRA_EMAIL", Text),
    secret("jira.api_token", "SECOPS_JIRA_API_TOKEN"),
    setting("jira.api_token_parameter", "SECOPS_JIRA_API_TOKEN_PARAMETER", Text),
    setting("jira.project", "SECOPS_JIRA_PROJECT", Text),
    setting("jira.issue_type", "SECOPS_JIRA_ISSUE_TYPE", Text),
    setting("jira.components", "SECOPS_JIRA_COMPONENTS", List),
    setting("jira.custom_fields", "SECOPS_JIRA_CUSTOM_FIELDS", Json),
    secret("slack.bot_token", "SECOPS_SLACK_BOT_TOKEN"),
    setting("slack.bot_token_parameter", "SECOPS_SLACK_BOT_TOKEN_PARAMETER", Text),
    setting("slack.channel", "SECOPS_SLACK_CHANNEL", Text),
    secret("slack.webhook_url", "SECOPS_SLACK_WEBHOOK_URL"),
    setting("slack.webhook_url_parameter", "SECOPS_SLACK_WEBHOOK_URL_PARAMETER", Text),
    setting("slack.api_url", "SECOPS_SLACK_API_URL", Text),
    setting("chat.file", "SECOPS_CHAT_FILE", Text),
    setting("tickets.dir", "SECOPS_TICKETS_DIR", Text),
    setting("notify.slack_per_minute", "SECOPS_SLACK_PER_MINUTE", Integer),
    setting("notify.breaker_failures", "SECOPS_BREAKER_FAILURES", Integer),
    setting("notify.breaker_open_seconds", "SECOPS_BREAKER_OPEN_SECONDS", Integer),
    setting("triage.lookback", "SECOPS_TRIAGE_LOOKBACK", Text),
    setting("triage.limit", "SECOPS_TRIAGE_LIMIT", Integer),
    setting("triage.concurrency", "SECOPS_TRIAGE_CONCURRENCY", Integer),
    setting("triage.exclusions", "SECOPS_TRIAGE_EXCLUSIONS", Json),
    setting("triage.max_tool_calls", "SECOPS_TRIAGE_MAX_TOOL_CALLS", Integer),
    setting("triage.prices", "SECOPS_TRIAGE_PRICES", Json),
    setting("triage.fargate_vcpu", "SECOPS_TRIAGE_FARGATE_VCPU", Number),
    setting("triage.fargate_memory_gb", "SECOPS_TRIAGE_FARGATE_MEMORY_GB", Number),
    setting("triage.fargate_vcpu_hour_usd", "SECOPS_TRIAGE_FARGATE_VCPU_HOUR_USD", Number),
    setting("triage.fargate_gb_hour_usd", "SECOPS_TRIAGE_FARGATE_GB_HOUR_USD", Number),
    setting("llm.provider", "SECOPS_TRIAGE_PROVIDER", Text),
    setting("llm.bedrock_model_id", "SECOPS_BEDROCK_MODEL_ID", Text),
    setting("llm.openai_base_url", "SECOPS_OPENAI_BASE_URL", Text),
    setting("llm.openai_model", "SECOPS_OPENAI_MODEL", Text),
    secret("llm.openai_api_key", "SECOPS_OPENAI_API_KEY"),
    setting("llm.openai_api_key_parameter", "SECOPS_OPENAI_API_KEY_PARAMETER", Text),
    setting("analyst.timeout_seconds", "SECOPS_ANALYST_TIMEOUT_SECONDS", Integer),
    setting("analyst.cpu_seconds", "SECOPS_ANALYST_CPU_SECONDS", Integer),
    setting("analyst.memory_mb", "SECOPS_ANALYST_MEMORY_MB", Integer),
    setting("audit.chain", "SECOPS_AUDIT_CHAIN", Text),
    setting("audit.kms_key_id", "SECOPS_AUDIT_KMS_KEY_ID", Text),
    setting("audit.kms_retired_key_ids", "SECOPS_AUDIT_KMS_RETIRED_KEY_IDS", List),
    setting("audit.key_parameter", "SECOPS_AUDIT_KEY_PARAMETER", Text),
    setting("audit.key_file", "SECOPS_AUDIT_KEY_FILE", Text),
    setting("audit.checkpoint_parameter", "SECOPS_AUDIT_CHECKPOINT_PARAMETER", Text),
    setting("audit.checkpoint_file", "SECOPS_AUDIT_CHECKPOINT_FILE", Text),
    setting("audit.redaction_policy_file", "SECOPS_REDACTION_POLICY_FILE", Text),
];

/// The setting of a key path (`jira.url`).
pub fn setting_of_key(key: &str) -> Option<&'static Setting> {
    SETTINGS.iter().find(|s| s.key == key)
}

/// The setting of a variable (`SECOPS_JIRA_URL`).
pub fn setting_of_var(var: &str) -> Option<&'static Setting> {
    SETTINGS.iter().find(|s| s.var == var)
}

/// One thing wrong with the configuration, named by its key path or variable.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigProblem {
    /// `jira.url`; the variable's name when the value came from the environment; the file's
    /// path for problems of the whole file (syntax, reading).
    pub key: String,
    pub message: String,
}

impl fmt::Display for ConfigProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.key, self.message)
    }
}

impl ConfigProblem {
    fn new(key: impl Into<String>, message: impl Into<String>) -> Self {
        ConfigProblem { key: key.into(), message: message.into() }
    }
}

/// Where an effective value came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ValueSource {
    Environment,
    File,
    Default,
}

/// A parsed `secops.toml`: the variables its keys set, and what is wrong with its shape.
#[derive(Debug, Clone)]
pub struct ConfigFile {
    origin: String,
    document: toml::Table,
    /// Variable → the text the file sets it to.
    values: BTreeMap<&'static str, String>,
    problems: Vec<ConfigProblem>,
}

impl ConfigFile {
    /// Reads and parses a file; a file holding secrets must be private to its owner.
    pub fn read(path: &Path) -> Result<ConfigFile, ConfigProblem> {
        let origin = path.display().to_string();
        let text = std::fs::read_to_string(path)
            .map_err(|e| ConfigProblem::new(&origin, format!("cannot read the configuration file: {e}")))?;
        let mut file = ConfigFile::parse(&text, &origin)?;
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(path)
                .map_err(|e| ConfigProblem::new(&origin, format!("cannot read the file's permissions: {e}")))?
                .permissions()
                .mode();
            file.check_permissions(mode);
        }
        Ok(file)
    }

    /// Parses the text of a file (`origin` names it in problems). A TOML syntax error is the
    /// one problem that stops parsing; every other one is kept in [`ConfigFile::problems`].
    pub fn parse(text: &str, origin: &str) -> Result<ConfigFile, ConfigProblem> {
        let document: toml::Table = text.parse().map_err(|e: toml::de::Error| {
            let message = e.message().trim().replace('\n', "; ");
            match e.span() {
                Some(span) => {
                    let (line, column) = line_column(text, span.start);
                    ConfigProblem::new(origin, format!("TOML syntax error at line {line}, column {column}: {message}"))
                }
                None => ConfigProblem::new(origin, format!("TOML syntax error: {message}")),
            }
        })?;
        let mut file =
            ConfigFile { origin: origin.to_owned(), document, values: BTreeMap::new(), problems: Vec::new() };
        file.collect_values();
        Ok(file)
    }

    fn collect_values(&mut self) {
        let sections: BTreeSet<&str> = SETTINGS.iter().filter_map(|s| s.key.split_once('.')).map(|(s, _)| s).collect();
        for (section, value) in &self.document {
            if FOREIGN_TABLES.contains(&section.as_str()) {
                continue;
            }
            let shown_section = printable(section);
            let Some(table) = value.as_table().filter(|_| sections.contains(section.as_str())) else {
                let problem = if sections.contains(section.as_str()) {
                    format!("expected a table ([{section}]), found {}", type_name(value))
                } else if value.is_table() {
                    format!("unknown section{}", suggestion(section, true))
                } else {
                    format!("unknown key{}", suggestion(section, false))
                };
                self.problems.push(ConfigProblem::new(shown_section, problem));
                continue;
            };
            for (name, value) in table {
                let key = format!("{section}.{name}");
                let Some(setting) = setting_of_key(&key) else {
                    self.problems.push(ConfigProblem::new(
                        format!("{shown_section}.{}", printable(name)),
                        format!("unknown key{}", suggestion(&key, false)),
                    ));
                    continue;
                };
                match to_variable_text(setting.kind, value) {
                    Some(text) => {
                        self.values.insert(setting.var, text);
                    }
                    None => self.problems.push(ConfigProblem::new(
                        &key,
                        format!("expected {}, found {}", setting.kind.expected(), type_name(value)),
                    )),
                }
            }
        }
    }

    /// A secret written into a file that group or others can read is a problem (`mode` is the
    /// file's unix mode).
    fn check_permissions(&mut self, mode: u32) {
        if mode & 0o077 == 0 {
            return;
        }
        for setting in SETTINGS.iter().filter(|s| s.secret) {
            let Some(value) = self.values.get(setting.var) else { continue };
            // A database URL is a secret only when it carries a password.
            if setting.var == "SECOPS_DATABASE_URL" && !url_has_password(value) {
                continue;
            }
            let parameter = format!("{}_parameter", setting.key);
            let instead = if setting_of_key(&parameter).is_some() {
                format!(" or use {parameter} (SSM SecureString)")
            } else {
                String::new()
            };
            self.problems.push(ConfigProblem::new(
                setting.key,
                format!(
                    "a secret in a file that others can read (mode {:o}): chmod 600 {}{instead}",
                    mode & 0o777,
                    self.origin
                ),
            ));
        }
    }

    /// The file's path (or the name given to [`ConfigFile::parse`]).
    pub fn origin(&self) -> &str {
        &self.origin
    }

    /// The whole parsed document.
    pub fn document(&self) -> &toml::Table {
        &self.document
    }

    /// A top-level table, raw (the daemon reads `daemon`, `schedules` and `ingestion` here).
    pub fn section(&self, name: &str) -> Option<&toml::Table> {
        self.document.get(name).and_then(toml::Value::as_table)
    }

    /// Unknown keys, wrong types and exposed secrets, each with its key path.
    pub fn problems(&self) -> &[ConfigProblem] {
        &self.problems
    }

    /// The text the file sets a variable to, if it sets it.
    pub fn value(&self, var: &str) -> Option<&str> {
        self.values.get(var).map(String::as_str)
    }

    /// Every variable the file sets, with its text.
    pub fn variables(&self) -> impl Iterator<Item = (&'static str, &str)> {
        self.values.iter().map(|(var, value)| (*var, value.as_str()))
    }
}

/// The value a variable takes: the environment (when set and not blank), else the file.
fn effective(
    file: Option<&ConfigFile>,
    env: &dyn Fn(&str) -> Option<String>,
    var: &str,
) -> Option<(String, ValueSource)> {
    if let Some(v) = env(var).filter(|v| !v.trim().is_empty()) {
        return Some((v, ValueSource::Environment));
    }
    file.and_then(|f| f.value(var)).map(|v| (v.to_owned(), ValueSource::File))
}

/// Where each setting's effective value comes from, and the value (secrets as `<redacted>`).
pub fn sources(
    file: Option<&ConfigFile>,
    env: &dyn Fn(&str) -> Option<String>,
) -> Vec<(&'static Setting, ValueSource, Option<String>)> {
    SETTINGS
        .iter()
        .map(|s| match effective(file, env, s.var) {
            Some((value, source)) => (s, source, Some(if s.secret { "<redacted>".to_owned() } else { value })),
            None => (s, ValueSource::Default, None),
        })
        .collect()
}

/// Stands in for a missing required value so that parsing goes on to the next problem.
const STAND_IN: &str = "stand-in-for-a-missing-value";

/// Every problem of the file (if any) and the environment together: the file's own problems,
/// then each value the validators refuse. The validators stop at the first bad variable, so
/// each refused value is recorded and taken out (a missing required value is recorded and a
/// stand-in put in its place) and the whole is parsed again, at most once per setting.
fn resolve(file: Option<&ConfigFile>, env: &dyn Fn(&str) -> Option<String>) -> (Option<Config>, Vec<ConfigProblem>) {
    let mut problems: Vec<ConfigProblem> = file.map(|f| f.problems.clone()).unwrap_or_default();
    // Variables taken out (None) or stood in for (Some) after a problem.
    let mut replaced: BTreeMap<&'static str, Option<String>> = BTreeMap::new();
    for _ in 0..=SETTINGS.len() {
        let lookup = |name: &str| match replaced.get(name) {
            Some(replacement) => replacement.clone(),
            None => effective(file, env, name).map(|(v, _)| v),
        };
        let error = match Config::from_lookup(lookup) {
            Ok(config) => return (Some(config), problems),
            Err(error) => error,
        };
        if replaced.contains_key(error.var) {
            // Refused again after being replaced: nothing more to learn.
            break;
        }
        let setting = setting_of_var(error.var);
        let expected = if file.is_some() { name_keys(error.expected) } else { error.expected.to_owned() };
        match effective(file, env, error.var) {
            Some((_, source)) => {
                let key = match (source, setting) {
                    (ValueSource::File, Some(s)) => s.key,
                    _ => error.var,
                };
                let shown = if setting.is_some_and(|s| s.secret) || error.value.starts_with('<') {
                    String::new()
                } else {
                    format!("{:?} is not valid; ", error.value)
                };
                problems.push(ConfigProblem::new(key, format!("{shown}expected {expected}")));
                replaced.insert(error.var, None);
            }
            None => {
                let key = match (file, setting) {
                    (Some(_), Some(s)) => s.key,
                    _ => error.var,
                };
                problems.push(ConfigProblem::new(key, format!("missing; expected {expected}")));
                replaced.insert(error.var, Some(STAND_IN.to_owned()));
            }
        }
    }
    (None, problems)
}

impl Config {
    /// The configuration from a file (optional) and the environment: a `SECOPS_*` variable
    /// overrides the file's key, the file overrides the defaults. Every problem is returned.
    pub fn load(file: Option<&ConfigFile>, env: &dyn Fn(&str) -> Option<String>) -> Result<Config, Vec<ConfigProblem>> {
        match resolve(file, env) {
            (Some(config), problems) if problems.is_empty() => Ok(config),
            (_, problems) => Err(problems),
        }
    }
}

/// Every problem of the file (if any) and the environment; empty when the configuration loads.
pub fn check(file: Option<&ConfigFile>, env: &dyn Fn(&str) -> Option<String>) -> Vec<ConfigProblem> {
    resolve(file, env).1
}

/// `SECOPS_JIRA_URL is set` → `jira.url is set`: messages speak the file's language.
fn name_keys(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find("SECOPS_") {
        out.push_str(&rest[..at]);
        let end = rest[at..]
            .find(|c: char| !(c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_'))
            .map_or(rest.len(), |n| at + n);
        let var = &rest[at..end];
        out.push_str(setting_of_var(var).map_or(var, |s| s.key));
        rest = &rest[end..];
    }
    out.push_str(rest);
    out
}

/// A TOML value as the text its variable takes, if its type fits the key.
fn to_variable_text(kind: ValueKind, value: &toml::Value) -> Option<String> {
    use toml::Value as V;
    match (kind, value) {
        (_, V::String(s)) => Some(s.clone()),
        (ValueKind::Integer | ValueKind::Number, V::Integer(n)) => Some(n.to_string()),
        (ValueKind::Number, V::Float(f)) if f.is_finite() => Some(f.to_string()),
        (ValueKind::Flag, V::Boolean(b)) => Some(b.to_string()),
        (ValueKind::List, V::Array(items)) => {
            let texts: Option<Vec<&str>> = items.iter().map(V::as_str).collect();
            texts.map(|t| t.join(","))
        }
        (ValueKind::Json, V::Array(_) | V::Table(_)) => serde_json::to_string(value).ok(),
        _ => None,
    }
}

fn type_name(value: &toml::Value) -> &'static str {
    match value {
        toml::Value::String(_) => "a string",
        toml::Value::Integer(_) => "an integer",
        toml::Value::Float(_) => "a float",
        toml::Value::Boolean(_) => "a boolean",
        toml::Value::Datetime(_) => "a date-time",
        toml::Value::Array(items) if items.iter().any(|i| !i.is_str()) => "an array of non-strings",
        toml::Value::Array(_) => "an array",
        toml::Value::Table(_) => "a table",
    }
}

/// A key from the file as it may be shown: quoted and escaped when it holds anything but
/// printable characters (a key can carry terminal escapes).
fn printable(key: &str) -> String {
    if key.chars().all(|c| !c.is_control() && !c.is_whitespace()) && !key.is_empty() {
        key.to_owned()
    } else {
        format!("{key:?}")
    }
}

/// `postgresql://user:secret@host/db` or `host=… password=…`.
fn url_has_password(url: &str) -> bool {
    let userinfo = url.split_once("://").and_then(|(_, rest)| rest.split_once('@')).map(|(info, _)| info);
    userinfo.is_some_and(|info| info.contains(':')) || url.contains("password=")
}

/// 1-based line and column (in characters) of a byte offset.
fn line_column(text: &str, offset: usize) -> (usize, usize) {
    let before = &text[..offset.min(text.len())];
    let line = before.matches('\n').count() + 1;
    let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (line, column)
}

/// `; did you mean jira.url?` for a near miss: a close spelling, or the same name in another section.
fn suggestion(unknown: &str, section: bool) -> String {
    let candidates: Vec<String> = if section {
        let sections: BTreeSet<&str> =
            SETTINGS.iter().filter_map(|s| s.key.split_once('.')).map(|(s, _)| s).chain(FOREIGN_TABLES).collect();
        sections.into_iter().map(str::to_owned).collect()
    } else {
        SETTINGS.iter().map(|s| s.key.to_owned()).collect()
    };
    let best = candidates.iter().map(|c| (edit_distance(unknown, c), c)).min_by_key(|(d, _)| *d);
    if let Some((distance, candidate)) = best {
        if distance <= (unknown.chars().count() / 4).clamp(1, 3) {
            return format!("; did you mean {candidate}?");
        }
    }
    let name = unknown.rsplit('.').next().unwrap_or(unknown);
    if !section {
        if let Some(s) = SETTINGS.iter().find(|s| s.key.rsplit('.').next() == Some(name)) {
            return format!("; did you mean {}?", s.key);
        }
    }
    String::new()
}

/// Levenshtein distance over characters.
fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut previous: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut current = vec![i + 1; b.len() + 1];
        for (j, cb) in b.iter().enumerate() {
            let substitution = previous[j] + usize::from(ca != *cb);
            current[j + 1] = substitution.min(previous[j + 1] + 1).min(current[j] + 1);
        }
        previous = current;
    }
    previous[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{ChatTarget, DatabaseSource, RemediationMode, SecretSource};

    fn no_env(_: &str) -> Option<String> {
        None
    }

    fn file(text: &str) -> ConfigFile {
        ConfigFile::parse(text, "secops.toml").expect("valid TOML")
    }

    fn keys(problems: &[ConfigProblem]) -> Vec<&str> {
        problems.iter().map(|p| p.key.as_str()).collect()
    }

    /// Variables that are not settings: the per-task inputs the task runner gives the analyst,
    /// and the variable that names the file itself.
    const NOT_SETTINGS: &[&str] = &[
        CONFIG_VAR,
        "SECOPS_TASK_TOKEN",
        "SECOPS_FINDING_ID",
        "SECOPS_FINDING_PRODUCT_ARN",
        "SECOPS_FINDING_SOURCE",
        "SECOPS_EXECUTION_ID",
    ];

    #[test]
    fn every_variable_the_sources_read_has_exactly_one_key() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
        let mut missing = Vec::new();
        let mut seen = 0;
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.file_name().is_some_and(|n| n == "config_file.rs") || path.extension().is_none_or(|e| e != "rs") {
                continue;
            }
            let text = std::fs::read_to_string(&path).unwrap();
            for (at, _) in text.match_indices("\"SECOPS_") {
                let name: String = text[at + 1..]
                    .chars()
                    .take_while(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || *c == '_')
                    .collect();
                seen += 1;
                if setting_of_var(&name).is_none() && !NOT_SETTINGS.contains(&name.as_str()) {
                    missing.push(format!("{name} ({})", path.display()));
                }
            }
        }
        assert!(seen > 80, "the scan found only {seen} variables");
        assert!(missing.is_empty(), "variables without a key in SETTINGS: {missing:?}");
        for (i, s) in SETTINGS.iter().enumerate() {
            assert!(SETTINGS[..i].iter().all(|o| o.key != s.key && o.var != s.var), "{} / {} twice", s.key, s.var);
            assert!(!NOT_SETTINGS.contains(&s.var));
        }
    }

    #[test]
    fn values_become_the_variables_text() {
        let f = file(
            r#"
[aws]
regions = ["eu-west-2", "us-east-1"]
[database]
pool_size = 8
[state]
pipeline_enabled = false
[triage]
fargate_vcpu = 0.5
[jira]
custom_fields = { customfield_10010 = "x" }
"#,
        );
        assert!(f.problems().is_empty(), "{:?}", f.problems());
        assert_eq!(f.value("SECOPS_REGIONS"), Some("eu-west-2,us-east-1"));
        assert_eq!(f.value("SECOPS_DATABASE_POOL_SIZE"), Some("8"));
        assert_eq!(f.value("SECOPS_PIPELINE_ENABLED"), Some("false"));
        assert_eq!(f.value("SECOPS_TRIAGE_FARGATE_VCPU"), Some("0.5"));
        assert_eq!(f.value("SECOPS_JIRA_CUSTOM_FIELDS"), Some(r#"{"customfield_10010":"x"}"#));
        let c = Config::load(Some(&f), &no_env).unwrap();
        assert_eq!(c.regions, ["eu-west-2", "us-east-1"]);
        assert_eq!(c.database_pool_size, 8);
        assert!(!c.pipeline_enabled);
        assert_eq!(c.triage.fargate_vcpu, 0.5);
    }

    #[test]
    fn wrong_types_name_the_key_and_the_expected_type() {
        let f = file(
            r#"
[database]
pool_size = 2.5
url_parameter = { name = "x" }
[aws]
regions = [["us-east-1"]]
[state]
pipeline_enabled = 1
[remediation]
exempt_accounts = [111122223333]
"#,
        );
        let messages: Vec<String> = f.problems().iter().map(ToString::to_string).collect();
        assert_eq!(
            messages,
            [
                "aws.regions: expected an array of strings, found an array of non-strings",
                "database.pool_size: expected a whole number, found a float",
                "database.url_parameter: expected a string, found a table",
                "remediation.exempt_accounts: expected an array of strings, found an array of non-strings",
                "state.pipeline_enabled: expected true or false, found an integer",
            ]
        );
        let problems = file("jira = 3").problems().to_vec();
        assert_eq!(problems[0].to_string(), "jira: expected a table ([jira]), found an integer");
    }

    #[test]
    fn unknown_keys_and_sections_with_a_suggestion() {
        let f = file("[jira]\nurll = \"https://x.atlassian.net\"\n[slak]\nchannel = \"c\"\n[slack]\nzzz = 1\n[chat]\nchannel = \"c\"\nregions = [\"us-east-1\"]\n");
        let messages: Vec<String> = f.problems().iter().map(ToString::to_string).collect();
        assert_eq!(
            messages,
            [
                "chat.channel: unknown key; did you mean slack.channel?",
                "chat.regions: unknown key; did you mean aws.regions?",
                "jira.urll: unknown key; did you mean jira.url?",
                "slack.zzz: unknown key",
                "slak: unknown section; did you mean slack?",
            ]
        );
        let hostile = file("[jira]\n\"\\u001b[2Jx\" = 1\n");
        assert_eq!(hostile.problems()[0].key, r#"jira."\u{1b}[2Jx""#);
        let top = file("regions = [\"us-east-1\"]\n");
        assert_eq!(top.problems()[0].to_string(), "regions: unknown key; did you mean aws.regions?");
    }

    #[test]
    fn the_daemons_tables_are_kept_raw_and_not_checked() {
        let f = file("[daemon]\nlisten = \"127.0.0.1:9464\"\nwhatever = 1\n[schedules]\ntriage = \"cron(0 5 * * ? *)\"\n[ingestion.securityhub]\nenabled = true\n");
        assert!(f.problems().is_empty(), "{:?}", f.problems());
        assert_eq!(f.section("daemon").unwrap()["listen"].as_str(), Some("127.0.0.1:9464"));
        assert!(f.section("ingestion").unwrap()["securityhub"].is_table());
        assert!(f.document().contains_key("schedules"));
        assert!(f.section("jira").is_none());
    }

    #[test]
    fn a_syntax_error_says_where() {
        let err = ConfigFile::parse("[jira]\nurl = \"https://x\"\nemail = \n", "secops.toml").unwrap_err();
        assert_eq!(err.key, "secops.toml");
        assert!(err.message.starts_with("TOML syntax error at line 3, column 9"), "{err}");
    }

    #[test]
    fn the_environment_overrides_the_file_which_overrides_the_defaults() {
        let f = file("[remediation]\nmode = \"apply\"\nrole_name = \"FromFile\"\n");
        let env = |name: &str| (name == "SECOPS_REMEDIATION_ROLE_NAME").then(|| "FromEnv".to_owned());
        let c = Config::load(Some(&f), &env).unwrap();
        assert_eq!(c.remediation.mode, RemediationMode::Apply);
        assert_eq!(c.remediation.role_name, "FromEnv");
        assert_eq!(c.remediation.verify_attempts, 3, "the default");
        let shown = sources(Some(&f), &env);
        let source = |key: &str| shown.iter().find(|(s, _, _)| s.key == key).map(|(_, src, _)| *src);
        assert_eq!(source("remediation.mode"), Some(ValueSource::File));
        assert_eq!(source("remediation.role_name"), Some(ValueSource::Environment));
        assert_eq!(source("remediation.verify_attempts"), Some(ValueSource::Default));
        // A blank variable does not hide the file's value.
        let blank = |name: &str| (name == "SECOPS_REMEDIATION_MODE").then(String::new);
        assert_eq!(Config::load(Some(&f), &blank).unwrap().remediation.mode, RemediationMode::Apply);
    }

    #[test]
    fn every_problem_is_collected_with_its_key_path() {
        let f = file(
            r#"
[database]
pool_size = 0
[aws]
regions = ["us-east-1", "Mars"]
[remediation]
mode = "yolo"
[jira]
url = "https://example.atlassian.net"
api_token_parameter = "/secops/jira"
[slack]
bot_token_parameter = "/secops/slack"
[audit]
key_parameter = "/secops/audit"
key_file = "/tmp/keys.json"
"#,
        );
        let env = |name: &str| (name == "SECOPS_TRIAGE_LIMIT").then(|| "none".to_owned());
        let problems = check(Some(&f), &env);
        let messages: Vec<String> = problems.iter().map(ToString::to_string).collect();
        assert_eq!(
            keys(&problems),
            [
                "database.pool_size",
                "aws.regions",
                "audit.key_file",
                "jira.email",
                "jira.project",
                "slack.channel",
                "remediation.mode",
                "SECOPS_TRIAGE_LIMIT",
            ],
            "{messages:#?}"
        );
        assert_eq!(messages[0], "database.pool_size: \"0\" is not valid; expected a whole number from 1 to 64");
        assert_eq!(messages[3], "jira.email: missing; expected a value when jira.url is set");
        assert!(messages[2].contains("only one of audit.kms_key_id, audit.key_parameter and audit.key_file"));
        assert!(Config::load(Some(&f), &env).is_err());
    }

    #[test]
    fn without_a_file_problems_name_the_variables() {
        let env = |name: &str| match name {
            "SECOPS_JIRA_URL" => Some("https://x.atlassian.net".to_owned()),
            "SECOPS_LOG_FORMAT" => Some("xml".to_owned()),
            _ => None,
        };
        let problems = check(None, &env);
        assert_eq!(
            keys(&problems),
            ["SECOPS_LOG_FORMAT", "SECOPS_JIRA_EMAIL", "SECOPS_JIRA_API_TOKEN", "SECOPS_JIRA_PROJECT"]
        );
        assert!(problems[1].message.contains("when SECOPS_JIRA_URL is set"));
    }

    #[test]
    fn secrets_in_a_readable_file_are_a_problem_and_never_print() {
        let text = "[jira]\nurl = \"https://x.atlassian.net\"\nemail = \"a@b.c\"\nproject = \"SEC\"\napi_token = \"hunter2\"\n[database]\nurl = \"postgresql://secops:hunter3@db/secops\"\n[slack]\nbot_token = \"xoxb-hunter4\"\nchannel = \"C1\"\n";
        let mut private = file(text);
        private.check_permissions(0o100600);
        assert!(private.problems().is_empty(), "{:?}", private.problems());
        let c = Config::load(Some(&private), &no_env).unwrap();
        assert!(matches!(c.notify.jira.as_ref().unwrap().api_token, SecretSource::Value(_)));
        assert!(matches!(c.database, DatabaseSource::Url(_)));
        assert!(matches!(c.notify.chat, ChatTarget::SlackWebApi { .. }));

        let mut shared = file(text);
        shared.check_permissions(0o100644);
        let messages: Vec<String> = shared.problems().iter().map(ToString::to_string).collect();
        assert_eq!(keys(shared.problems()), ["database.url", "jira.api_token", "slack.bot_token"]);
        assert_eq!(
            messages[1],
            "jira.api_token: a secret in a file that others can read (mode 644): chmod 600 secops.toml or use jira.api_token_parameter (SSM SecureString)"
        );
        let shown = format!("{messages:?}{:?}", sources(Some(&shared), &no_env));
        assert!(!shown.contains("hunter"), "{shown}");

        // A database URL without a password is not a secret.
        let mut plain = file("[database]\nurl = \"postgresql://secops@db/secops\"\n");
        plain.check_permissions(0o100644);
        assert!(plain.problems().is_empty());
        // A refused secret value is not printed either.
        let bad = file("[database]\nurl = \"mysql://u:hunter5@db\"\n");
        let problems = check(Some(&bad), &no_env);
        assert_eq!(keys(&problems), ["database.url"]);
        assert!(!problems[0].message.contains("hunter"), "{}", problems[0]);
    }

    #[cfg(unix)]
    #[test]
    fn read_checks_the_files_mode() {
        use std::os::unix::fs::PermissionsExt;
        let path = std::env::temp_dir().join(format!("secops-config-file-{}.toml", std::process::id()));
        std::fs::write(&path, "[slack]\nwebhook_url = \"https://hooks.slack.com/services/T/B/hunter\"\n").unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o640)).unwrap();
        let shared = ConfigFile::read(&path).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
        let private = ConfigFile::read(&path).unwrap();
        std::fs::remove_file(&path).unwrap();
        assert_eq!(keys(shared.problems()), ["slack.webhook_url"]);
        assert!(private.problems().is_empty());
        let missing = ConfigFile::read(Path::new("/nonexistent/secops.toml")).unwrap_err();
        assert!(missing.to_string().starts_with("/nonexistent/secops.toml: cannot read"), "{missing}");
    }

    fn example() -> String {
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("../../config/secops.toml")).unwrap()
    }

    #[test]
    fn the_documented_example_checks_clean() {
        let f = file(&example());
        assert!(check(Some(&f), &no_env).is_empty(), "{:?}", check(Some(&f), &no_env));
    }

    #[test]
    fn the_documented_example_shows_every_key_once() {
        // Uncommenting every `# key = value` and `# [section]` line gives a document with every key.
        let uncommented: String = example()
            .lines()
            .map(|line| {
                let rest = line.strip_prefix("# ").unwrap_or(line);
                let is_entry = rest.starts_with('[')
                    || rest.split_once(" = ").is_some_and(|(k, _)| {
                        !k.is_empty() && k.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
                    });
                if is_entry { rest } else { line }.to_owned() + "\n"
            })
            .collect();
        let f = ConfigFile::parse(&uncommented, "uncommented").unwrap_or_else(|e| panic!("{e}"));
        assert!(f.problems().is_empty(), "{:?}", f.problems());
        let missing: Vec<&str> = SETTINGS.iter().filter(|s| f.value(s.var).is_none()).map(|s| s.key).collect();
        assert!(missing.is_empty(), "keys the example does not show: {missing:?}");
        for table in FOREIGN_TABLES {
            assert!(f.section(table).is_some(), "the example shows [{table}]");
        }
    }

    #[test]
    fn suggestions() {
        assert_eq!(edit_distance("urll", "url"), 1);
        assert_eq!(edit_distance("kitten", "sitting"), 3);
        assert_eq!(suggestion("jira.urll", false), "; did you mean jira.url?");
        assert_eq!(suggestion("audit.chian", false), "; did you mean audit.chain?");
        assert_eq!(suggestion("xyz.qqq", false), "");
        assert_eq!(suggestion("schedule", true), "; did you mean schedules?");
    }
}
