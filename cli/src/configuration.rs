//! The configuration every command runs with — the environment alone, or a `secops.toml`
//! (`--config FILE` / `SECOPS_CONFIG`) with the environment over it — and `secops config`.

use std::path::Path;
use std::process::ExitCode;

use secops_core::config_file::{self, ConfigFile, ConfigProblem, ValueSource};
use secops_core::{AuditKeySource, ChatTarget, Config, DatabaseSource, TriageProvider};

#[derive(Debug, clap::Subcommand)]
pub enum ConfigCommand {
    /// Check the configuration file (--config or SECOPS_CONFIG) with the environment over it:
    /// print every problem as KEY: MESSAGE and exit 1, or print ok and what is configured.
    Check,
    /// Print each setting's effective value and where it comes from (env, file or default);
    /// secrets are shown as <redacted>.
    Show,
}

fn environment(name: &str) -> Option<String> {
    std::env::var(name).ok()
}

/// The configuration for every other command. Without a file it is exactly
/// `Config::from_env()`; with one, a refused configuration lists every problem.
pub fn load(path: Option<&Path>) -> Result<Config, String> {
    let Some(path) = path else {
        return Config::from_env().map_err(|e| e.to_string());
    };
    let file = ConfigFile::read(path).map_err(|problem| problem.to_string())?;
    match Config::load(Some(&file), &environment) {
        Ok(config) => {
            export_to_environment(&file);
            Ok(config)
        }
        Err(problems) => {
            let lines: Vec<String> = problems.iter().map(|p| format!("  {p}")).collect();
            Err(format!(
                "{} problem(s) in the configuration {} (see `secops config check`):\n{}",
                problems.len(),
                file.origin(),
                lines.join("\n")
            ))
        }
    }
}

/// The file's values become variables of this process where the environment does not set
/// them, so what reads variables later (the analyst subprocess inherits its settings) sees
/// the same configuration. Called before any thread starts.
fn export_to_environment(file: &ConfigFile) {
    for (var, value) in file.variables() {
        if std::env::var(var).map_or(true, |v| v.trim().is_empty()) {
            std::env::set_var(var, value);
        }
    }
}

/// Every problem `secops config check` reports: the settings, then the daemon's own tables
/// (`daemon`, `schedules`, `ingestion`).
pub fn problems(file: Option<&ConfigFile>) -> Vec<ConfigProblem> {
    let mut problems = config_file::check(file, &environment);
    if let Some(file) = file {
        problems.extend(
            crate::daemon::settings::check_sections(file.document())
                .into_iter()
                .map(|(key, message)| ConfigProblem { key, message }),
        );
    }
    problems
}

pub fn run(path: Option<&Path>, command: &ConfigCommand) -> ExitCode {
    let file = match path.map(ConfigFile::read).transpose() {
        Ok(file) => file,
        Err(problem) => {
            println!("{problem}");
            return ExitCode::FAILURE;
        }
    };
    let origin = file
        .as_ref()
        .map_or_else(|| "environment (no --config or SECOPS_CONFIG)".to_owned(), |f| f.origin().to_owned());
    match command {
        ConfigCommand::Check => check(file.as_ref(), &origin),
        ConfigCommand::Show => show(file.as_ref(), &origin),
    }
}

fn check(file: Option<&ConfigFile>, origin: &str) -> ExitCode {
    let problems = problems(file);
    if !problems.is_empty() {
        println!("{origin}: {} problem(s)", problems.len());
        for problem in &problems {
            println!("{problem}");
        }
        return ExitCode::FAILURE;
    }
    match Config::load(file, &environment) {
        Ok(config) => {
            println!("{origin}: ok");
            for (what, how) in summary(&config) {
                println!("  {what}: {how}");
            }
            ExitCode::SUCCESS
        }
        Err(problems) => {
            for problem in &problems {
                println!("{problem}");
            }
            ExitCode::FAILURE
        }
    }
}

fn show(file: Option<&ConfigFile>, origin: &str) -> ExitCode {
    println!("# {origin}");
    for (setting, source, value) in config_file::sources(file, &environment) {
        match (source, value) {
            (ValueSource::Default, _) | (_, None) => println!("{:<40} (default)", setting.key),
            (ValueSource::Environment, Some(value)) => {
                println!("{:<40} {value:?}  (env {})", setting.key, setting.var)
            }
            (ValueSource::File, Some(value)) => println!("{:<40} {value:?}  (file)", setting.key),
        }
    }
    let problems = problems(file);
    if problems.is_empty() {
        ExitCode::SUCCESS
    } else {
        println!("{} problem(s): run `secops config check`", problems.len());
        ExitCode::FAILURE
    }
}

/// What is configured, in a few words per port.
fn summary(config: &Config) -> Vec<(&'static str, String)> {
    let database = match &config.database {
        DatabaseSource::Embedded => format!("embedded (private cluster under {})", config.state_dir),
        DatabaseSource::Url(_) => "url".to_owned(),
        DatabaseSource::SsmParameter(name) => format!("ssm ({name})"),
    };
    let ticketing = match &config.notify.jira {
        None => format!("files ({})", config.notify.tickets_dir),
        Some(jira) => format!("jira ({}, project {})", jira.url, jira.project),
    };
    let chat = match &config.notify.chat {
        ChatTarget::File(path) => format!("file ({path})"),
        ChatTarget::SlackWebApi { channel, .. } => format!("slack (channel {channel})"),
        ChatTarget::SlackWebhook { .. } => "slack (webhook)".to_owned(),
    };
    let t = &config.triage;
    let llm = match t.provider {
        TriageProvider::Offline => "offline".to_owned(),
        TriageProvider::Bedrock => format!("bedrock ({})", t.bedrock_model_id.as_deref().unwrap_or_default()),
        TriageProvider::OpenAi => format!("openai ({} at {})", t.openai_model, t.openai_base_url),
    };
    let signer = match &config.audit.keys {
        AuditKeySource::File(path) => format!("key file ({path})"),
        AuditKeySource::SsmParameter(name) => format!("ssm ({name})"),
        AuditKeySource::Kms { key_id, .. } => format!("kms ({key_id})"),
    };
    vec![("database", database), ("ticketing", ticketing), ("chat", chat), ("llm", llm), ("signer", signer)]
}
