//! `SECOPS_TRIAGE_*`, `SECOPS_BEDROCK_*`, `SECOPS_OPENAI_*` and `SECOPS_ANALYST_*`: how triage
//! selects findings, which language model analyses them, what a run costs, and the limits of
//! the local analyst process. Exclusion rules and the price table are JSON that the triage
//! capability parses (it owns their shape); they are kept here as text so every setting is read
//! in one place.

use std::time::Duration;

use secrecy::SecretString;

use crate::config::{ConfigError, SecretSource};

/// Which analyst writes the reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TriageProvider {
    /// Deterministic rules over the database context: no model, no network.
    Offline,
    /// Amazon Bedrock's Converse API.
    Bedrock,
    /// An OpenAI-compatible chat-completions endpoint (a self-hosted Ollama, vLLM, …).
    OpenAi,
}

impl TriageProvider {
    pub fn parse(s: &str) -> Option<TriageProvider> {
        match s.to_ascii_lowercase().as_str() {
            "offline" | "none" => Some(TriageProvider::Offline),
            "bedrock" => Some(TriageProvider::Bedrock),
            "openai" => Some(TriageProvider::OpenAi),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            TriageProvider::Offline => "offline",
            TriageProvider::Bedrock => "bedrock",
            TriageProvider::OpenAi => "openai",
        }
    }
}

/// The triage settings.
#[derive(Debug, Clone)]
pub struct TriageConfig {
    /// `SECOPS_TRIAGE_PROVIDER`: offline, bedrock or openai. Default: bedrock when
    /// `SECOPS_BEDROCK_MODEL_ID` is set (the stack sets it from AnalystModelId), else offline.
    pub provider: TriageProvider,
    /// `SECOPS_BEDROCK_MODEL_ID`.
    pub bedrock_model_id: Option<String>,
    /// `SECOPS_OPENAI_BASE_URL` (default `http://127.0.0.1:11434/v1`, a local Ollama).
    pub openai_base_url: String,
    /// `SECOPS_OPENAI_MODEL` (default `llama3.1`).
    pub openai_model: String,
    /// `SECOPS_OPENAI_API_KEY` or `SECOPS_OPENAI_API_KEY_PARAMETER`.
    pub openai_api_key: Option<SecretSource>,
    /// `SECOPS_TRIAGE_LOOKBACK`: findings observed this long ago or later (default 24h; `90m`,
    /// `24h`, `7d`).
    pub lookback: Duration,
    /// `SECOPS_TRIAGE_LIMIT`: findings analysed per run at most (default 50).
    pub limit: usize,
    /// `SECOPS_TRIAGE_CONCURRENCY`: analyses at once (default 10, at most 40).
    pub concurrency: usize,
    /// `SECOPS_TRIAGE_EXCLUSIONS`: a JSON array of exclusion rules (empty: none).
    pub exclusions: String,
    /// `SECOPS_TRIAGE_PRICES`: a JSON object of model id → `{input_per_million, output_per_million}`
    /// in USD, merged over the built-in table.
    pub prices: String,
    /// `SECOPS_TRIAGE_MAX_TOOL_CALLS`: read-only queries a model may ask for per finding (default 8).
    pub max_tool_calls: u32,
    /// `SECOPS_TRIAGE_FARGATE_VCPU` / `_MEMORY_GB` (the task definition's size: 1 vCPU, 2 GB) and
    /// `_VCPU_HOUR_USD` / `_GB_HOUR_USD` (Fargate ARM64 on-demand, us-east-1), for the modelled cost.
    pub fargate_vcpu: f64,
    pub fargate_memory_gb: f64,
    pub fargate_vcpu_hour_usd: f64,
    pub fargate_gb_hour_usd: f64,
    /// `SECOPS_ANALYST_TIMEOUT_SECONDS` (600), `SECOPS_ANALYST_CPU_SECONDS` (300) and
    /// `SECOPS_ANALYST_MEMORY_MB` (1024, address space): the local analyst process's limits.
    pub analyst_timeout: Duration,
    pub analyst_cpu_seconds: u64,
    pub analyst_memory_mb: u64,
}

impl Default for TriageConfig {
    fn default() -> Self {
        Self::from_vars(&|_| None).expect("the defaults are valid")
    }
}

/// `90m`, `24h`, `7d`, `3600s` (a bare number is seconds).
pub fn parse_duration(s: &str) -> Option<Duration> {
    let s = s.trim();
    let (number, unit) = match s.find(|c: char| !c.is_ascii_digit()) {
        Some(i) => s.split_at(i),
        None => (s, "s"),
    };
    let n: u64 = number.parse().ok()?;
    let seconds = match unit {
        "s" => n,
        "m" => n.checked_mul(60)?,
        "h" => n.checked_mul(3600)?,
        "d" => n.checked_mul(86_400)?,
        _ => return None,
    };
    (seconds > 0).then(|| Duration::from_secs(seconds))
}

impl TriageConfig {
    pub(crate) fn from_vars(var: &dyn Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let bedrock_model_id = var("SECOPS_BEDROCK_MODEL_ID").filter(|m| !m.trim().is_empty());
        let provider = match var("SECOPS_TRIAGE_PROVIDER") {
            None if bedrock_model_id.is_some() => TriageProvider::Bedrock,
            None => TriageProvider::Offline,
            Some(v) => TriageProvider::parse(&v).ok_or(ConfigError {
                var: "SECOPS_TRIAGE_PROVIDER",
                value: v,
                expected: "offline, bedrock or openai",
            })?,
        };
        if provider == TriageProvider::Bedrock && bedrock_model_id.is_none() {
            return Err(ConfigError {
                var: "SECOPS_BEDROCK_MODEL_ID",
                value: String::new(),
                expected: "the Bedrock model id to analyse with (SECOPS_TRIAGE_PROVIDER is bedrock)",
            });
        }
        let openai_base_url = var("SECOPS_OPENAI_BASE_URL").unwrap_or_else(|| "http://127.0.0.1:11434/v1".into());
        if !(openai_base_url.starts_with("http://") || openai_base_url.starts_with("https://")) {
            return Err(ConfigError {
                var: "SECOPS_OPENAI_BASE_URL",
                value: openai_base_url,
                expected: "an http(s) URL ending in the API version, e.g. http://127.0.0.1:11434/v1",
            });
        }
        let openai_api_key = match (var("SECOPS_OPENAI_API_KEY"), var("SECOPS_OPENAI_API_KEY_PARAMETER")) {
            (Some(v), _) => Some(SecretSource::Value(SecretString::from(v))),
            (None, Some(p)) => Some(SecretSource::SsmParameter(p)),
            (None, None) => None,
        };
        let lookback = match var("SECOPS_TRIAGE_LOOKBACK") {
            None => Duration::from_secs(86_400),
            Some(v) => parse_duration(&v).ok_or(ConfigError {
                var: "SECOPS_TRIAGE_LOOKBACK",
                value: v,
                expected: "a duration such as 90m, 24h or 7d",
            })?,
        };
        let number = |name: &'static str, default: u64, min: u64, max: u64| -> Result<u64, ConfigError> {
            match var(name) {
                None => Ok(default),
                Some(v) => v.parse::<u64>().ok().filter(|n| (min..=max).contains(n)).ok_or(ConfigError {
                    var: name,
                    value: v,
                    expected: "a whole number in range",
                }),
            }
        };
        let amount = |name: &'static str, default: f64| -> Result<f64, ConfigError> {
            match var(name) {
                None => Ok(default),
                Some(v) => v.parse::<f64>().ok().filter(|n| n.is_finite() && *n >= 0.0).ok_or(ConfigError {
                    var: name,
                    value: v,
                    expected: "a non-negative number",
                }),
            }
        };
        Ok(TriageConfig {
            provider,
            bedrock_model_id,
            openai_base_url,
            openai_model: var("SECOPS_OPENAI_MODEL").unwrap_or_else(|| "llama3.1".into()),
            openai_api_key,
            lookback,
            limit: number("SECOPS_TRIAGE_LIMIT", 50, 1, 10_000)? as usize,
            concurrency: number("SECOPS_TRIAGE_CONCURRENCY", 10, 1, 40)? as usize,
            exclusions: var("SECOPS_TRIAGE_EXCLUSIONS").unwrap_or_default(),
            prices: var("SECOPS_TRIAGE_PRICES").unwrap_or_default(),
            max_tool_calls: number("SECOPS_TRIAGE_MAX_TOOL_CALLS", 8, 0, 50)? as u32,
            fargate_vcpu: amount("SECOPS_TRIAGE_FARGATE_VCPU", 1.0)?,
            fargate_memory_gb: amount("SECOPS_TRIAGE_FARGATE_MEMORY_GB", 2.0)?,
            fargate_vcpu_hour_usd: amount("SECOPS_TRIAGE_FARGATE_VCPU_HOUR_USD", 0.03238)?,
            fargate_gb_hour_usd: amount("SECOPS_TRIAGE_FARGATE_GB_HOUR_USD", 0.00356)?,
            analyst_timeout: Duration::from_secs(number("SECOPS_ANALYST_TIMEOUT_SECONDS", 600, 1, 86_400)?),
            analyst_cpu_seconds: number("SECOPS_ANALYST_CPU_SECONDS", 300, 1, 86_400)?,
            analyst_memory_mb: number("SECOPS_ANALYST_MEMORY_MB", 1024, 64, 65_536)?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(vars: &[(&str, &str)]) -> Result<TriageConfig, ConfigError> {
        TriageConfig::from_vars(&|name| vars.iter().find(|(k, _)| *k == name).map(|(_, v)| v.to_string()))
    }

    #[test]
    fn defaults_are_offline_daily_fifty_at_ten() {
        let c = parse(&[]).unwrap();
        assert_eq!(c.provider, TriageProvider::Offline);
        assert_eq!((c.lookback, c.limit, c.concurrency), (Duration::from_secs(86_400), 50, 10));
        assert_eq!(
            parse(&[("SECOPS_BEDROCK_MODEL_ID", "amazon.nova-lite-v1:0")]).unwrap().provider,
            TriageProvider::Bedrock
        );
    }

    #[test]
    fn bad_values_name_the_variable() {
        assert_eq!(parse(&[("SECOPS_TRIAGE_PROVIDER", "gpt")]).unwrap_err().var, "SECOPS_TRIAGE_PROVIDER");
        assert_eq!(parse(&[("SECOPS_TRIAGE_PROVIDER", "bedrock")]).unwrap_err().var, "SECOPS_BEDROCK_MODEL_ID");
        assert_eq!(parse(&[("SECOPS_TRIAGE_LOOKBACK", "yesterday")]).unwrap_err().var, "SECOPS_TRIAGE_LOOKBACK");
        assert_eq!(parse(&[("SECOPS_TRIAGE_CONCURRENCY", "0")]).unwrap_err().var, "SECOPS_TRIAGE_CONCURRENCY");
        assert_eq!(parse(&[("SECOPS_TRIAGE_FARGATE_VCPU", "-1")]).unwrap_err().var, "SECOPS_TRIAGE_FARGATE_VCPU");
    }

    #[test]
    fn durations() {
        assert_eq!(parse_duration("90m"), Some(Duration::from_secs(5400)));
        assert_eq!(parse_duration("7d"), Some(Duration::from_secs(604_800)));
        assert_eq!(parse_duration("30"), Some(Duration::from_secs(30)));
        assert_eq!(parse_duration("0h"), None);
        assert_eq!(parse_duration("1w"), None);
    }
}
