//! `secops config check` and `--config` / `SECOPS_CONFIG` as a user runs them.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// A folder of its own per test, removed when the test ends.
struct Scratch(PathBuf);

impl Scratch {
    fn new(name: &str) -> Scratch {
        let dir = std::env::temp_dir().join(format!("secops-config-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        Scratch(dir)
    }

    /// Writes a private (0600) file.
    fn file(&self, name: &str, text: &str) -> PathBuf {
        let path = self.0.join(name);
        std::fs::write(&path, text).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
        path
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Runs secops with no SECOPS_* variable of the test's own environment, plus `env`.
fn secops(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_secops"));
    command.args(args).current_dir(dir);
    for (name, _) in std::env::vars().filter(|(name, _)| name.starts_with("SECOPS_")) {
        command.env_remove(name);
    }
    command.envs(env.iter().copied()).output().expect("run secops")
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn all(o: &Output) -> String {
    format!("{}{}", stdout(o), String::from_utf8_lossy(&o.stderr))
}

const GOOD: &str = r#"
[database]
url_parameter = "/secops/database-url"
[aws]
regions = ["eu-west-2", "us-east-1"]
[jira]
url = "https://example.atlassian.net"
email = "bot@example.com"
api_token_parameter = "/secops/jira"
project = "SEC"
[slack]
webhook_url_parameter = "/secops/slack-webhook"
[llm]
provider = "openai"
[audit]
kms_key_id = "alias/secops-audit"
[daemon]
listen = "127.0.0.1:9464"
[schedules]
triage = "cron(0 5 * * ? *)"
"#;

#[test]
fn a_good_file_checks_ok_with_a_summary() {
    let scratch = Scratch::new("good");
    let path = scratch.file("secops.toml", GOOD);
    let out = secops(&scratch.0, &["config", "check", "--config", path.to_str().unwrap()], &[]);
    let text = stdout(&out);
    assert_eq!(out.status.code(), Some(0), "{}", all(&out));
    assert!(text.contains("secops.toml: ok"), "{text}");
    for line in [
        "database: ssm (/secops/database-url)",
        "ticketing: jira (https://example.atlassian.net, project SEC)",
        "chat: slack (webhook)",
        "llm: openai (llama3.1 at http://127.0.0.1:11434/v1)",
        "signer: kms (alias/secops-audit)",
    ] {
        assert!(text.contains(line), "{line} in {text}");
    }
    // SECOPS_CONFIG names the file as well as --config does.
    let out = secops(&scratch.0, &["config", "check"], &[("SECOPS_CONFIG", "secops.toml")]);
    assert_eq!(out.status.code(), Some(0), "{}", all(&out));
}

#[test]
fn a_bad_file_prints_every_problem_with_its_key_and_fails() {
    let scratch = Scratch::new("bad");
    scratch.file(
        "secops.toml",
        r#"
[database]
pool_size = 0
[aws]
regions = ["us-east-1", "Mars"]
[jira]
urll = "https://example.atlassian.net"
url = "https://example.atlassian.net"
api_token_parameter = "/secops/jira"
project = "SEC"
[remediation]
mode = "yolo"
verify_attempts = 2.5
[schedules]
triage = "whenever"
"#,
    );
    let out = secops(&scratch.0, &["--config", "secops.toml", "config", "check"], &[]);
    let text = stdout(&out);
    assert_eq!(out.status.code(), Some(1), "{}", all(&out));
    for line in [
        // The settings' six, then the daemon's own table.
        "secops.toml: 7 problem(s)",
        "schedules.triage: \"whenever\" is not a schedule expression",
        "jira.urll: unknown key; did you mean jira.url?",
        "remediation.verify_attempts: expected a whole number, found a float",
        "database.pool_size: \"0\" is not valid; expected a whole number from 1 to 64",
        "aws.regions: \"us-east-1,Mars\" is not valid",
        "jira.email: missing; expected a value when jira.url is set",
        "remediation.mode: \"yolo\" is not valid; expected plan or apply",
    ] {
        assert!(text.contains(line), "{line} in {text}");
    }

    // Every other command refuses the file with the settings' problems, before doing anything
    // (the daemon checks its own tables when it starts).
    let out = secops(&scratch.0, &["db", "status", "--config", "secops.toml"], &[]);
    assert_eq!(out.status.code(), Some(2), "{}", all(&out));
    assert!(all(&out).contains("6 problem(s) in the configuration secops.toml"), "{}", all(&out));
}

#[test]
fn the_environment_overrides_the_file() {
    let scratch = Scratch::new("env");
    scratch.file("secops.toml", "[remediation]\nmode = \"yolo\"\n[database]\npool_size = 8\n");
    let out =
        secops(&scratch.0, &["config", "check", "--config", "secops.toml"], &[("SECOPS_REMEDIATION_MODE", "apply")]);
    assert_eq!(out.status.code(), Some(0), "{}", all(&out));

    // A bad variable is named by the variable, not the key it overrides.
    let out = secops(
        &scratch.0,
        &["config", "check", "--config", "secops.toml"],
        &[("SECOPS_REMEDIATION_MODE", "apply"), ("SECOPS_DATABASE_POOL_SIZE", "lots")],
    );
    assert_eq!(out.status.code(), Some(1), "{}", all(&out));
    assert!(stdout(&out).contains("SECOPS_DATABASE_POOL_SIZE: \"lots\" is not valid"), "{}", stdout(&out));

    let out =
        secops(&scratch.0, &["config", "show", "--config", "secops.toml"], &[("SECOPS_REMEDIATION_MODE", "apply")]);
    let text = stdout(&out);
    assert_eq!(out.status.code(), Some(0), "{}", all(&out));
    let line = |key: &str| text.lines().find(|l| l.starts_with(&format!("{key} "))).unwrap_or_default().to_owned();
    assert!(line("remediation.mode").ends_with("\"apply\"  (env SECOPS_REMEDIATION_MODE)"), "{text}");
    assert!(line("database.pool_size").ends_with("\"8\"  (file)"), "{text}");
    assert!(line("triage.limit").ends_with("(default)"), "{text}");
}

#[test]
fn a_secret_in_a_file_others_can_read_is_a_problem_and_never_printed() {
    let scratch = Scratch::new("secret");
    let path = scratch.file(
        "secops.toml",
        "[slack]\nbot_token = \"xoxb-hunter2\"\nchannel = \"C1\"\n[jira]\nurl = \"https://x.atlassian.net\"\nemail = \"a@b.c\"\nproject = \"SEC\"\napi_token = \"hunter3\"\n",
    );
    let out = secops(&scratch.0, &["config", "check", "--config", "secops.toml"], &[]);
    assert_eq!(out.status.code(), Some(0), "{}", all(&out));
    let out = secops(&scratch.0, &["config", "show", "--config", "secops.toml"], &[]);
    assert!(stdout(&out).contains("slack.bot_token") && stdout(&out).contains("<redacted>"), "{}", all(&out));
    assert!(!all(&out).contains("hunter"), "{}", all(&out));

    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
    let out = secops(&scratch.0, &["config", "check", "--config", "secops.toml"], &[]);
    let text = stdout(&out);
    assert_eq!(out.status.code(), Some(1), "{}", all(&out));
    assert!(text.contains("jira.api_token: a secret in a file that others can read (mode 644): chmod 600"), "{text}");
    assert!(text.contains("slack.bot_token: a secret in a file"), "{text}");
    assert!(!all(&out).contains("hunter"), "{}", all(&out));
}

#[test]
fn broken_toml_and_a_missing_file_say_where() {
    let scratch = Scratch::new("syntax");
    scratch.file("secops.toml", "[jira]\nurl = \"https://x.atlassian.net\n");
    let out = secops(&scratch.0, &["config", "check", "--config", "secops.toml"], &[]);
    assert_eq!(out.status.code(), Some(1), "{}", all(&out));
    assert!(stdout(&out).starts_with("secops.toml: TOML syntax error at line 2"), "{}", stdout(&out));
    let out = secops(&scratch.0, &["config", "check", "--config", "nowhere.toml"], &[]);
    assert_eq!(out.status.code(), Some(1), "{}", all(&out));
    assert!(stdout(&out).starts_with("nowhere.toml: cannot read the configuration file"), "{}", stdout(&out));
}

#[test]
fn the_documented_example_checks_clean_and_no_file_means_the_environment() {
    let scratch = Scratch::new("example");
    let example = Path::new(env!("CARGO_MANIFEST_DIR")).join("../config/secops.toml");
    let out = secops(&scratch.0, &["config", "check", "--config", example.to_str().unwrap()], &[]);
    assert_eq!(out.status.code(), Some(0), "{}", all(&out));
    assert!(stdout(&out).contains("database: embedded"), "{}", stdout(&out));

    let out = secops(&scratch.0, &["config", "check"], &[("SECOPS_LOG_FORMAT", "xml")]);
    assert_eq!(out.status.code(), Some(1), "{}", all(&out));
    assert!(
        stdout(&out).contains("SECOPS_LOG_FORMAT: \"xml\" is not valid; expected json or text"),
        "{}",
        stdout(&out)
    );
}
