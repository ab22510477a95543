//! The daemon's three tables of `secops.toml`: `[daemon]`, `[schedules]` and
//! `[ingestion.securityhub]`. Every problem is reported with its key path, all at once.

use std::net::SocketAddr;
use std::time::Duration;

use super::schedule::Schedule;

/// The schedules the daemon knows, in the order they start when due together.
pub const SCHEDULES: [&str; 3] = ["inventory", "triage", "housekeeping"];

pub const DEFAULT_LISTEN: &str = "127.0.0.1:9464";
pub const DEFAULT_SHUTDOWN_GRACE: Duration = Duration::from_secs(30);
pub const DEFAULT_INTERVAL: Duration = Duration::from_secs(300);
pub const DEFAULT_PAGE_SIZE: i32 = 100;

#[derive(Debug, Clone)]
pub struct DaemonSettings {
    /// Where `/healthz` and `/metrics` are served.
    pub listen: SocketAddr,
    /// How long SIGTERM waits for in-flight executions before cancelling them.
    pub shutdown_grace: Duration,
    /// The enabled schedules, in [`SCHEDULES`] order.
    pub schedules: Vec<(String, Schedule)>,
    pub ingestion: Option<IngestionSettings>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct IngestionSettings {
    pub interval: Duration,
    /// None: the configured regions (`SECOPS_REGIONS`).
    pub regions: Option<Vec<String>>,
    /// GetFindings MaxResults, and the most findings per findings-workflow execution.
    pub page_size: i32,
}

/// A problem: the key path (`schedules.triage`) and what is wrong.
pub type Problem = (String, String);

/// Every problem in the daemon's tables (empty: they are valid), for `secops config check`.
pub fn check_sections(doc: &toml::Table) -> Vec<Problem> {
    match DaemonSettings::from_doc(doc) {
        Ok(_) => Vec::new(),
        Err(problems) => problems,
    }
}

impl DaemonSettings {
    pub fn from_doc(doc: &toml::Table) -> Result<DaemonSettings, Vec<Problem>> {
        let mut problems = Vec::new();
        let daemon = table(doc, "daemon", "daemon", &mut problems);
        let listen_text = string(daemon, "daemon", "listen", &mut problems);
        let allow_remote = match daemon.and_then(|t| t.get("allow_remote_metrics")) {
            None => false,
            Some(toml::Value::Boolean(b)) => *b,
            Some(_) => {
                problems.push(("daemon.allow_remote_metrics".into(), "expected true or false".into()));
                false
            }
        };
        let listen_text = listen_text.unwrap_or_else(|| DEFAULT_LISTEN.to_owned());
        let listen = match listen_text.parse::<SocketAddr>() {
            Ok(addr) if !addr.ip().is_loopback() && !allow_remote => {
                problems.push((
                    "daemon.listen".into(),
                    format!("{addr} is not a loopback address; /metrics and /healthz stay on loopback unless daemon.allow_remote_metrics = true"),
                ));
                None
            }
            Ok(addr) => Some(addr),
            Err(_) => {
                problems.push((
                    "daemon.listen".into(),
                    format!("{listen_text:?} is not an address and port such as \"127.0.0.1:9464\""),
                ));
                None
            }
        };
        let shutdown_grace =
            duration(daemon, "daemon", "shutdown_grace", &mut problems).unwrap_or(DEFAULT_SHUTDOWN_GRACE);
        unknown_keys(daemon, "daemon", &["listen", "allow_remote_metrics", "shutdown_grace"], &mut problems);

        let schedules_table = table(doc, "schedules", "schedules", &mut problems);
        let mut schedules = Vec::new();
        for name in SCHEDULES {
            if let Some(expr) = string(schedules_table, "schedules", name, &mut problems) {
                match Schedule::parse(&expr) {
                    Ok(s) => schedules.push((name.to_owned(), s)),
                    Err(e) => problems.push((format!("schedules.{name}"), e)),
                }
            }
        }
        unknown_keys(schedules_table, "schedules", &SCHEDULES, &mut problems);

        let ingestion_table = table(doc, "ingestion", "ingestion", &mut problems);
        let hub = table_in(ingestion_table, "ingestion", "securityhub", &mut problems);
        unknown_keys(ingestion_table, "ingestion", &["securityhub"], &mut problems);
        let ingestion = hub.and_then(|hub| {
            let path = "ingestion.securityhub";
            let enabled = match hub.get("enabled") {
                None => true,
                Some(toml::Value::Boolean(b)) => *b,
                Some(_) => {
                    problems.push((format!("{path}.enabled"), "expected true or false".into()));
                    false
                }
            };
            let interval = duration(Some(hub), path, "interval", &mut problems).unwrap_or(DEFAULT_INTERVAL);
            let regions = match hub.get("regions") {
                None => None,
                Some(toml::Value::Array(items)) => {
                    let list: Vec<String> = items.iter().filter_map(|v| v.as_str().map(str::to_owned)).collect();
                    if list.len() != items.len() || list.is_empty() {
                        problems.push((format!("{path}.regions"), "expected a non-empty list of region names".into()));
                        None
                    } else {
                        match secops_core::config::parse_regions(&list.join(",")) {
                            Ok(r) => Some(r),
                            Err(_) => {
                                problems.push((
                                    format!("{path}.regions"),
                                    format!("{list:?}: expected AWS region names such as \"us-east-1\""),
                                ));
                                None
                            }
                        }
                    }
                }
                Some(_) => {
                    problems.push((format!("{path}.regions"), "expected a list such as [\"us-east-1\"]".into()));
                    None
                }
            };
            let page_size = match hub.get("page_size") {
                None => DEFAULT_PAGE_SIZE,
                Some(toml::Value::Integer(n)) if (1..=100).contains(n) => *n as i32,
                Some(_) => {
                    problems.push((
                        format!("{path}.page_size"),
                        "expected a whole number from 1 to 100 (GetFindings MaxResults)".into(),
                    ));
                    DEFAULT_PAGE_SIZE
                }
            };
            unknown_keys(Some(hub), path, &["enabled", "interval", "regions", "page_size"], &mut problems);
            enabled.then_some(IngestionSettings { interval, regions, page_size })
        });

        match (problems.is_empty(), listen) {
            (true, Some(listen)) => Ok(DaemonSettings { listen, shutdown_grace, schedules, ingestion }),
            _ => Err(problems),
        }
    }
}

/// `doc[key]` when it is a table; a problem when it is something else.
fn table<'a>(doc: &'a toml::Table, key: &str, path: &str, problems: &mut Vec<Problem>) -> Option<&'a toml::Table> {
    match doc.get(key) {
        None => None,
        Some(toml::Value::Table(t)) => Some(t),
        Some(_) => {
            problems.push((path.to_owned(), "expected a table".into()));
            None
        }
    }
}

fn table_in<'a>(
    parent: Option<&'a toml::Table>,
    parent_path: &str,
    key: &str,
    problems: &mut Vec<Problem>,
) -> Option<&'a toml::Table> {
    table(parent?, key, &format!("{parent_path}.{key}"), problems)
}

fn string(t: Option<&toml::Table>, path: &str, key: &str, problems: &mut Vec<Problem>) -> Option<String> {
    match t?.get(key)? {
        toml::Value::String(s) => Some(s.clone()),
        _ => {
            problems.push((format!("{path}.{key}"), "expected a string".into()));
            None
        }
    }
}

fn duration(t: Option<&toml::Table>, path: &str, key: &str, problems: &mut Vec<Problem>) -> Option<Duration> {
    let text = string(t, path, key, problems)?;
    let parsed = secops_core::triage_config::parse_duration(&text);
    if parsed.is_none() {
        problems
            .push((format!("{path}.{key}"), format!("{text:?} is not a duration such as \"30s\", \"5m\" or \"1h\"")));
    }
    parsed
}

fn unknown_keys(t: Option<&toml::Table>, path: &str, known: &[&str], problems: &mut Vec<Problem>) {
    for key in t.into_iter().flat_map(|t| t.keys()) {
        if !known.contains(&key.as_str()) {
            problems.push((format!("{path}.{key}"), format!("unknown key (known: {})", known.join(", "))));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<DaemonSettings, Vec<Problem>> {
        DaemonSettings::from_doc(&text.parse::<toml::Table>().unwrap())
    }

    fn paths(text: &str) -> Vec<String> {
        parse(text).unwrap_err().into_iter().map(|(p, _)| p).collect()
    }

    #[test]
    fn the_documented_example_parses() {
        let s = parse(
            r#"
[daemon]
listen = "127.0.0.1:9464"
shutdown_grace = "30s"
[schedules]
inventory = "rate(6 hours)"
triage = "cron(0 5 * * ? *)"
housekeeping = "rate(1 hour)"
[ingestion.securityhub]
enabled = true
interval = "5m"
regions = ["us-east-1"]
page_size = 100
"#,
        )
        .unwrap();
        assert_eq!(s.listen.to_string(), "127.0.0.1:9464");
        assert_eq!(s.shutdown_grace, Duration::from_secs(30));
        let names: Vec<&str> = s.schedules.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(names, ["inventory", "triage", "housekeeping"]);
        assert_eq!(
            s.ingestion,
            Some(IngestionSettings {
                interval: Duration::from_secs(300),
                regions: Some(vec!["us-east-1".into()]),
                page_size: 100
            })
        );
    }

    #[test]
    fn an_empty_file_is_the_defaults_with_nothing_scheduled() {
        let s = parse("").unwrap();
        assert_eq!(s.listen.to_string(), DEFAULT_LISTEN);
        assert!(s.schedules.is_empty() && s.ingestion.is_none());
        let s = parse("[ingestion.securityhub]\nenabled = false\n").unwrap();
        assert!(s.ingestion.is_none());
        let s = parse("[ingestion.securityhub]\n").unwrap();
        assert_eq!(s.ingestion.unwrap().regions, None);
    }

    #[test]
    fn every_problem_is_named_by_its_key_path() {
        let got = paths(
            r#"
[daemon]
listen = "0.0.0.0:9464"
shutdown_grace = "soon"
colour = "blue"
[schedules]
triage = "cron(0 5 * * * *)"
weekly = "rate(7 days)"
[ingestion.securityhub]
interval = 5
regions = ["Mars North"]
page_size = 500
"#,
        );
        assert_eq!(
            got,
            [
                "daemon.listen",
                "daemon.shutdown_grace",
                "daemon.colour",
                "schedules.triage",
                "schedules.weekly",
                "ingestion.securityhub.interval",
                "ingestion.securityhub.regions",
                "ingestion.securityhub.page_size",
            ]
        );
        assert_eq!(check_sections(&"schedules = 3".parse().unwrap())[0].0, "schedules");
    }

    #[test]
    fn a_remote_listener_needs_the_explicit_opt_in() {
        assert!(parse("[daemon]\nlisten = \"0.0.0.0:9464\"\nallow_remote_metrics = true\n").is_ok());
        let problems = parse("[daemon]\nlisten = \"10.0.0.5:9464\"\n").unwrap_err();
        assert!(problems[0].1.contains("allow_remote_metrics"), "{problems:?}");
        assert_eq!(paths("[daemon]\nlisten = \"localhost\"\n"), ["daemon.listen"]);
    }
}
