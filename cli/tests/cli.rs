//! The `secops` binary as a user runs it.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn secops(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_secops"))
        .args(args)
        .current_dir(dir)
        .env_remove("SECOPS_DATABASE_URL")
        .env_remove("SECOPS_DATABASE_URL_PARAMETER")
        .env_remove("SECOPS_STATE_DIR")
        .output()
        .expect("run secops")
}

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../layers/core/tests/fixtures")
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

#[test]
fn asff_check_accepts_every_sample() {
    let dir = fixtures();
    let mut args = vec!["asff".to_owned(), "check".to_owned()];
    for kind in ["asff", "events"] {
        for e in std::fs::read_dir(dir.join(kind)).unwrap() {
            args.push(e.unwrap().path().display().to_string());
        }
    }
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let out = secops(&dir, &args);
    assert!(out.status.success(), "{}{}", stdout(&out), String::from_utf8_lossy(&out.stderr));
    assert!(stdout(&out).contains("14 valid, 0 invalid"), "{}", stdout(&out));
}

#[test]
fn asff_check_names_the_field_and_fails() {
    let dir = fixtures().join("asff-invalid");
    let out = secops(&dir, &["asff", "check", "bad-severity-label.json", "account-11-digits.json"]);
    assert_eq!(out.status.code(), Some(1));
    let text = stdout(&out);
    assert!(text.contains("bad-severity-label.json: Severity.Label: unknown variant"), "{text}");
    assert!(text.contains("account-11-digits.json: AwsAccountId:"), "{text}");
    assert!(text.contains("0 valid, 2 invalid"), "{text}");
}

#[test]
fn asff_check_reports_broken_json_with_its_position() {
    let dir = std::env::temp_dir().join(format!("secops-cli-json-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("cut.json"), "{\"SchemaVersion\": \"2018-10-08\",\n \"Id\": ").unwrap();
    let out = secops(&dir, &["asff", "check", "cut.json"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stdout(&out).contains("cut.json: not valid JSON at line 2"), "{}", stdout(&out));
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn demo_runs_on_the_embedded_defaults_and_is_idempotent() {
    let dir = std::env::temp_dir().join(format!("secops-cli-demo-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let first = secops(&dir, &["demo"]);
    let text = stdout(&first);
    let notes = String::from_utf8_lossy(&first.stderr);
    assert!(first.status.success(), "{text}{notes}");
    assert!(notes.contains("private PostgreSQL cluster") && notes.contains("created and started"), "{notes}");
    assert!(text.contains("schema: applied V001__foundation"), "{text}");
    assert!(text.contains("second pass: 0 inserted, 0 updated"), "{text}");

    let again = secops(&dir, &["demo"]);
    let text = stdout(&again);
    assert!(again.status.success(), "{text}");
    assert!(text.contains("schema: up to date") && text.contains("first pass:  0 inserted, 0 updated"), "{text}");

    // The command stopped the cluster it started.
    let status = secops(&dir, &["db", "stop"]);
    assert!(stdout(&status).contains("is not running"), "{}", stdout(&status));
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn asl_run_answers_in_the_conformance_shape_with_retries_in_the_history() {
    let dir = tempdir("asl-run");
    std::fs::write(
        dir.join("machine.json"),
        r#"{"StartAt":"Call","States":{"Call":{"Type":"Task","Resource":"arn:aws:states:::lambda:invoke",
            "Parameters":{"FunctionName":"f","Payload.$":"$"},
            "Retry":[{"ErrorEquals":["Transient"],"IntervalSeconds":30,"BackoffRate":2.0,"MaxAttempts":2}],
            "OutputPath":"$.Payload","End":true}}}"#,
    )
    .unwrap();
    std::fs::write(dir.join("input.json"), r#"{"id": 1}"#).unwrap();
    std::fs::write(
        dir.join("stubs.json"),
        r#"[{"state":"Call","result":{"status":"FAILED","error":"Transient","cause":"later"}},
            {"state":"Call","result":{"status":"SUCCEEDED","output":{"Payload":{"ok":true}}}}]"#,
    )
    .unwrap();
    let out = secops(
        &dir,
        &[
            "asl",
            "run",
            "--definition",
            "machine.json",
            "--input",
            "input.json",
            "--task-stubs",
            "stubs.json",
            "--virtual-clock",
            "--history",
            "--json",
        ],
    );
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let printed: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(printed["status"], "SUCCEEDED");
    assert_eq!(printed["output"], serde_json::json!({"ok": true}));
    let retry = printed["history"].as_array().unwrap().iter().find_map(|e| e["details"].get("retry").cloned()).unwrap();
    assert_eq!(retry["delaySeconds"], 30.0);

    std::fs::write(dir.join("broken.json"), r#"{"StartAt":"A","States":{"A":{"Type":"Pass","Next":"B"}}}"#).unwrap();
    let out = secops(&dir, &["asl", "validate", "machine.json", "broken.json"]);
    assert_eq!(out.status.code(), Some(1));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("machine.json: valid") && text.contains("/States/A"), "{text}");
}

#[test]
fn run_takes_the_machines_from_the_template_and_fails_loudly_while_steps_are_not_built() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
    let event = root.join("layers/core/tests/fixtures/events/imported-1-finding.json");
    let out = secops(root, &["run", "findings", "--input", event.to_str().unwrap(), "--virtual-clock", "--json"]);
    assert_eq!(out.status.code(), Some(1));
    let printed: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(printed["status"], "FAILED");
    assert_eq!(printed["error"], "FindingsWorkflowFailed");
    let out = secops(root, &["run", "nosuch", "--input", event.to_str().unwrap()]);
    assert!(String::from_utf8_lossy(&out.stderr).contains("no state machine 'nosuch'"));
}

fn tempdir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("secops-cli-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}
