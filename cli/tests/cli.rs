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

/// `secops run` and `secops decide` with the real decide, notify (tickets) and audit steps, against
/// a test database and an account file: the workflow runs end to end, a second delivery of the
/// same event is recognised, and steps that are not built yet still fail loudly.
#[tokio::test(flavor = "multi_thread")]
async fn run_and_decide_wire_the_built_steps_for_real() {
    let db = secops_store::testing::TestDb::new().await;
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
    let dir = tempdir("decide");
    let state = dir.join("state");
    std::fs::create_dir_all(&state).unwrap();
    std::fs::write(
        state.join("accounts.yaml"),
        "accounts:\n  - {id: \"444455556666\", name: shop-prod, email: aws@example.com, status: ACTIVE,\n     joined_at: 2024-01-01T00:00:00Z, ou_path: [Workloads], tags: {secops:environment: prod, secops:team: shop}}\n",
    )
    .unwrap();
    let mut event: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(fixtures().join("events/imported-3-findings.json")).unwrap())
            .unwrap();
    for f in event["detail"]["findings"].as_array_mut().unwrap() {
        f["AwsAccountId"] = "444455556666".into();
    }
    let event_path = dir.join("event.json");
    std::fs::write(&event_path, event.to_string()).unwrap();
    let run = |args: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_secops"))
            .args(args)
            .current_dir(root)
            .env("SECOPS_DATABASE_URL", &db.url)
            .env("SECOPS_STATE_DIR", &state)
            .env_remove("SECOPS_POLICY_FILE")
            .env_remove("SECOPS_ACCOUNT_DIRECTORY")
            .output()
            .expect("run secops")
    };

    let out = run(&["decide", "--event", event_path.to_str().unwrap(), "--dry-run", "--json"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let printed: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let decisions: Vec<&str> =
        printed["findings"].as_array().unwrap().iter().map(|r| r["decision"].as_str().unwrap()).collect();
    assert_eq!(decisions, ["failed_control", "incident", "incident"]);
    assert_eq!(printed["findings"][0]["score"], 22.5, "CRITICAL in production");

    let out = run(&["run", "findings", "--input", event_path.to_str().unwrap(), "--json"]);
    assert!(out.status.success(), "{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    let printed: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let outcomes: Vec<&str> =
        printed["output"]["results"].as_array().unwrap().iter().map(|r| r["outcome"].as_str().unwrap()).collect();
    assert_eq!(outcomes, ["ticketed", "incident_handled", "incident_handled"]);
    let tickets = std::fs::read_dir(state.join("tickets")).unwrap().filter_map(Result::ok);
    assert_eq!(
        tickets.filter(|e| e.path().extension().is_some_and(|x| x == "md")).count(),
        3,
        "a team ticket and two SOC tickets"
    );
    let adf_records = std::fs::read_dir(state.join("tickets")).unwrap().filter_map(Result::ok);
    assert_eq!(adf_records.filter(|e| e.path().to_string_lossy().ends_with(".adf.json")).count(), 3);

    // Every ticket went through the outbox and was delivered; nothing waits.
    let out = run(&["notify", "outbox", "--jsonl"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let entries: Vec<serde_json::Value> =
        String::from_utf8_lossy(&out.stdout).lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    let tickets: Vec<&serde_json::Value> = entries.iter().filter(|e| e["destination"] == "tickets").collect();
    assert_eq!(tickets.len(), 3, "{entries:#?}");
    assert!(entries.iter().all(|e| e["status"] == "delivered"), "{entries:#?}");
    assert!(tickets.iter().all(|e| e["remote_id"].as_str().unwrap().starts_with("LOCAL-")));
    let out = run(&["notify", "replay"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stdout));
    assert!(String::from_utf8_lossy(&out.stdout).contains("still queued: 0"));
    let out = run(&["notify", "breakers"]);
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("tickets  closed"),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );

    let out = run(&["decide", "--event", event_path.to_str().unwrap()]);
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(text.matches("duplicate delivery").count(), 3, "{text}");

    let out = run(&["run", "nosuch", "--input", event_path.to_str().unwrap()]);
    assert!(String::from_utf8_lossy(&out.stderr).contains("no state machine 'nosuch'"));
}

/// The inventory workflow through the embedded executor on a recorded folder, then the
/// operator's commands over what it stored.
#[tokio::test(flavor = "multi_thread")]
async fn run_inventory_collects_a_recorded_folder_and_the_views_answer() {
    let db = secops_store::testing::TestDb::new().await;
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
    let dir = tempdir("inventory");
    let estate = dir.join("estate");
    let write = |relative: &str, value: serde_json::Value| {
        let path = estate.join(relative);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, value.to_string()).unwrap();
    };
    let instance = |id: &str, ip: &str| {
        serde_json::json!({"InstanceId": id, "State": {"Name": "running"}, "PrivateIpAddress": ip, "VpcId": "vpc-1",
                           "LaunchTime": "2026-11-01T00:00:00+00:00", "Tags": [{"Key": "Role", "Value": "api"}]})
    };
    write(
        "aws/111122223333/eu-west-1/ec2.describe-instances.json",
        serde_json::json!({"Reservations": [{"Instances": [instance("i-0aaaaaaaaaaaaaaa1", "10.1.0.1"), instance("i-0aaaaaaaaaaaaaaa2", "10.1.0.2")]}]}),
    );
    write(
        "falcon/falcon.devices.json",
        serde_json::json!({"resources": [{"device_id": "d1", "instance_id": "i-0aaaaaaaaaaaaaaa1", "agent_version": "7.18.19106.0",
                                          "last_seen": "2026-11-20T00:00:00Z"}]}),
    );
    std::fs::write(dir.join("input.json"), "{}").unwrap();
    // `secops run` wires every step, decide included, and decide reads the account directory.
    std::fs::create_dir_all(dir.join("state")).unwrap();
    std::fs::write(dir.join("state/accounts.yaml"), "accounts: []\n").unwrap();
    let run = |args: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_secops"))
            .args(args)
            .current_dir(root)
            .env("SECOPS_DATABASE_URL", &db.url)
            .env("SECOPS_STATE_DIR", dir.join("state"))
            .env("SECOPS_COLLECT_FROM_DIR", &estate)
            .output()
            .expect("run secops")
    };
    let said = |o: &Output| format!("{}{}", stdout(o), String::from_utf8_lossy(&o.stderr));

    let input = dir.join("input.json");
    let out = run(&["run", "inventory", "--input", input.to_str().unwrap(), "--json"]);
    assert!(out.status.success(), "{}", said(&out));
    let printed: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(printed["output"]["collect"]["result"]["status"], "complete", "{printed:#}");
    assert_eq!(printed["output"]["reconcile"]["result"]["edr"]["unprotected"], 1, "{printed:#}");

    let out = run(&["query", "edr_coverage", "--json"]);
    assert!(out.status.success(), "{}", said(&out));
    let total: serde_json::Value = stdout(&out)
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
        .find(|r| r["account_id"].is_null())
        .unwrap();
    assert_eq!((total["live_instances"].as_i64(), total["coverage_pct"].as_f64()), (Some(2), Some(50.0)));
    let out = run(&["query", "unprotected_hosts"]);
    assert!(stdout(&out).contains("i-0aaaaaaaaaaaaaaa2") && stdout(&out).contains("(1 rows)"), "{}", said(&out));

    // Again by hand: a second snapshot, then drift (none) and retention.
    let out = run(&["collect", "--from-dir", estate.to_str().unwrap(), "--reconcile"]);
    assert!(out.status.success(), "{}", said(&out));
    assert!(stdout(&out).contains("EDR coverage 50"), "{}", said(&out));
    let out = run(&["query", "drift", "--table", "ec2_instances", "--since", "1d", "--json"]);
    assert!(out.status.success() && stdout(&out).trim().is_empty(), "{}", said(&out));
    let out = run(&["snapshots", "prune", "--keep", "1", "--older-than", "0d"]);
    assert!(stdout(&out).contains("deleted 1 snapshots"), "{}", said(&out));
    let out = run(&["query", "no_such_view"]);
    assert!(!out.status.success() && said(&out).contains("unprotected_hosts"), "{}", said(&out));
    let out = run(&["query", "list"]);
    assert!(stdout(&out).contains("open_ingress_production"), "{}", said(&out));
}

#[test]
fn md2adf_converts_standard_input() {
    let mut child = Command::new(env!("CARGO_BIN_EXE_secops"))
        .arg("md2adf")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("run secops");
    use std::io::Write;
    child.stdin.take().unwrap().write_all(b"# Finding\n\nBucket `logs` is **public**.\n").unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success());
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(doc["type"], "doc");
    assert_eq!(doc["version"], 1);
    assert_eq!(doc["content"][0]["type"], "heading");
    assert_eq!(doc["content"][1]["content"][1]["marks"][0]["type"], "code");
}

fn tempdir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("secops-cli-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// `secops audit …` against a test database, with its own state folder (key file, checkpoint).
fn audit(state: &Path, db_url: &str, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_secops"))
        .arg("audit")
        .args(args)
        .current_dir(state)
        .env("SECOPS_DATABASE_URL", db_url)
        .env("SECOPS_STATE_DIR", state.join("state"))
        .env_remove("SECOPS_AUDIT_KMS_KEY_ID")
        .env_remove("SECOPS_AUDIT_KEY_PARAMETER")
        .env_remove("SECOPS_AUDIT_KEY_FILE")
        .env_remove("SECOPS_AUDIT_CHECKPOINT_PARAMETER")
        .env_remove("SECOPS_AUDIT_CHECKPOINT_FILE")
        .output()
        .expect("run secops audit")
}

fn json_out(o: &Output) -> serde_json::Value {
    serde_json::from_slice(&o.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}{}", stdout(o), String::from_utf8_lossy(&o.stderr)))
}

#[tokio::test(flavor = "multi_thread")]
async fn audit_append_export_checkpoint_verify_and_the_exit_codes() {
    let db = secops_store::testing::TestDb::new().await;
    let dir = tempdir("audit");
    let url = db.url.as_str();

    let empty = audit(&dir, url, &["verify", "--json"]);
    assert_eq!(empty.status.code(), Some(0), "{}", String::from_utf8_lossy(&empty.stderr));
    assert_eq!(json_out(&empty)["events"], 0);

    for i in 0..3 {
        let out =
            audit(&dir, url, &["append", "--type", "findings.suppressed", "--payload", &format!("{{\"n\": {i}}}")]);
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        assert!(stdout(&out).contains(&format!("appended seq {i}")), "{}", stdout(&out));
    }
    let out = audit(&dir, url, &["checkpoint"]);
    assert!(stdout(&out).contains("checkpoint: seq 2"), "{}", stdout(&out));

    let export = dir.join("chain.jsonl");
    let out = audit(&dir, url, &["export", "--jsonl", export.to_str().unwrap()]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let ok = audit(&dir, url, &["verify", "--jsonl", export.to_str().unwrap(), "--json"]);
    assert_eq!(ok.status.code(), Some(0));
    let report = json_out(&ok);
    assert_eq!((report["ok"].as_bool(), report["events"].as_u64()), (Some(true), Some(3)));

    // Tamper with the export: exit 1 and the problem in the documented shape.
    let text = std::fs::read_to_string(&export).unwrap();
    std::fs::write(&export, text.replacen("{\"n\":1}", "{\"n\":7}", 1)).unwrap();
    let bad = audit(&dir, url, &["verify", "--jsonl", export.to_str().unwrap(), "--json"]);
    assert_eq!(bad.status.code(), Some(1));
    let report = json_out(&bad);
    assert_eq!(report["ok"], false);
    let problem = &report["problems"][0];
    assert_eq!((problem["seq"].as_i64(), problem["kind"].as_str()), (Some(1), Some("payload_modified")));
    assert!(problem["expected"].is_string() && problem["found"].is_string());

    // Cut the tail of the export: the checkpoint of seq 2 shows it.
    let first_two: String = text.lines().take(2).map(|l| format!("{l}\n")).collect();
    std::fs::write(&export, first_two).unwrap();
    let cut = audit(&dir, url, &["verify", "--jsonl", export.to_str().unwrap(), "--json"]);
    assert_eq!(cut.status.code(), Some(1));
    assert_eq!(json_out(&cut)["problems"][0]["kind"], "truncated");

    // A corrupt line is a problem with its line number, not a crash.
    std::fs::write(&export, "{\"seq\": 0,\n").unwrap();
    let corrupt =
        audit(&dir, url, &["verify", "--jsonl", export.to_str().unwrap(), "--checkpoint", "/dev/null", "--json"]);
    assert_eq!(corrupt.status.code(), Some(2), "an unreadable checkpoint is an error: {}", stdout(&corrupt));
    let corrupt = audit(&dir, url, &["verify", "--jsonl", export.to_str().unwrap(), "--json"]);
    assert_eq!(corrupt.status.code(), Some(1));
    let report = json_out(&corrupt);
    assert!(
        report["problems"].as_array().unwrap().iter().any(|p| p["kind"] == "malformed" && p["line"] == 1),
        "{report}"
    );

    // Without the key file, an export cannot be verified: exit 2 and what to set.
    std::fs::remove_file(dir.join("state/audit-keys.json")).unwrap();
    let no_key = audit(&dir, url, &["verify", "--jsonl", export.to_str().unwrap()]);
    assert_eq!(no_key.status.code(), Some(2));
    let err = String::from_utf8_lossy(&no_key.stderr);
    assert!(err.contains("audit-keys.json") && err.contains("SECOPS_AUDIT_KEY_FILE"), "{err}");
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn remediate_list_shows_the_whole_catalogue() {
    let dir = tempdir("remediate-list");
    let o = secops(&dir, &["remediate", "list", "--json"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let specs = json_out(&o);
    let controls: Vec<&str> = specs.as_array().unwrap().iter().map(|s| s["control"].as_str().unwrap()).collect();
    assert!(controls.len() >= 50, "{} controls: {controls:?}", controls.len());
    assert!(controls.contains(&"S3.2") && controls.contains(&"EC2.13") && controls.contains(&"IAM.7"));
    let text = stdout(&secops(&dir, &["remediate", "list"]));
    assert!(text.ends_with(&format!("{} controls\n", controls.len())), "{text}");
}

/// `remediate plan` then `remediate apply --yes` on one finding, against moto: the plan changes
/// nothing, the apply changes exactly the plan and verifies, a re-run finds it compliant.
#[test]
fn remediate_plan_and_apply_one_finding_against_moto() {
    let moto = secops_aws::testing::MotoServer::start();
    let dir = tempdir("remediate-apply");
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let sdk = runtime
        .block_on(secops_aws::load_sdk_config(&secops_aws::AwsSettings::for_endpoint(&moto.endpoint, "us-east-1")));
    let s3 = aws_sdk_s3::Client::new(&sdk);
    runtime.block_on(s3.create_bucket().bucket("cli-bucket").send()).unwrap();
    let finding = serde_json::json!({
        "SchemaVersion": "2018-10-08",
        "Id": "arn:aws:securityhub:us-east-1:123456789012:security-control/S3.2/finding/cli",
        "ProductArn": "arn:aws:securityhub:us-east-1::product/aws/securityhub",
        "GeneratorId": "security-control/S3.2",
        "AwsAccountId": "123456789012",
        "Region": "us-east-1",
        "Types": ["Software and Configuration Checks"],
        "CreatedAt": "2026-11-01T08:00:00.000Z",
        "UpdatedAt": "2026-11-20T08:00:00.000Z",
        "Severity": {"Label": "HIGH", "Normalized": 70},
        "Title": "S3.2",
        "Description": "test",
        "Resources": [{"Type": "AwsS3Bucket", "Id": "arn:aws:s3:::cli-bucket", "Region": "us-east-1"}],
        "Compliance": {"Status": "FAILED", "SecurityControlId": "S3.2"}
    });
    std::fs::write(dir.join("finding.json"), finding.to_string()).unwrap();
    let run = |args: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_secops"))
            .args(args)
            .current_dir(&dir)
            .env("SECOPS_AWS_ENDPOINT_URL", &moto.endpoint)
            .env("AWS_ACCESS_KEY_ID", "testing")
            .env("AWS_SECRET_ACCESS_KEY", "testing")
            .env("AWS_REGION", "us-east-1")
            .env("SECOPS_REMEDIATION_VERIFY_DELAY_MS", "0")
            .env_remove("AWS_PROFILE")
            .output()
            .unwrap()
    };
    let blocked = || runtime.block_on(s3.get_public_access_block().bucket("cli-bucket").send()).is_ok();

    let plan = run(&["remediate", "plan", "--finding", "finding.json", "--json"]);
    assert!(plan.status.success(), "{}", String::from_utf8_lossy(&plan.stderr));
    let plan = json_out(&plan);
    assert_eq!(plan["outcome"], "planned");
    assert_eq!(plan["plan"]["changes"][0]["action"], "s3:PutBucketPublicAccessBlock");
    assert!(!blocked(), "planning changes nothing");

    let refused = run(&["remediate", "apply", "--finding", "finding.json"]);
    assert!(!refused.status.success());
    assert!(String::from_utf8_lossy(&refused.stderr).contains("--yes"));
    assert!(!blocked());

    let applied = run(&["remediate", "apply", "--finding", "finding.json", "--yes", "--json"]);
    assert!(applied.status.success(), "{}", String::from_utf8_lossy(&applied.stderr));
    let applied = json_out(&applied);
    assert_eq!(applied["outcome"], "remediated", "{applied}");
    assert!(blocked());
    let again = json_out(&run(&["remediate", "plan", "--finding", "finding.json", "--json"]));
    assert_eq!(again["outcome"], "already_compliant");
}

/// `secops triage` and `secops triage one` over a generated estate: the triage machine on the
/// embedded executor with the real `analyst` binary (built beside `secops` by the workspace's test
/// build) as one process per finding, the offline analyst, and the books printed as JSON; a
/// second run skips what the first ticketed, and `one` re-analyses a ticketed finding.
#[tokio::test(flavor = "multi_thread")]
async fn triage_analyses_the_estate_then_skips_what_it_ticketed() {
    let secops = Path::new(env!("CARGO_BIN_EXE_secops"));
    let analyst = secops.with_file_name("analyst");
    assert!(
        analyst.is_file(),
        "{} is missing: the workspace's test build (cargo nextest run --workspace) builds it",
        analyst.display()
    );
    let db = secops_store::testing::TestDb::new().await;
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
    let dir = tempdir("triage");
    let state = dir.join("state");
    std::fs::create_dir_all(&state).unwrap();
    std::fs::write(state.join("accounts.yaml"), "accounts: []\n").unwrap();
    let estate = dir.join("estate");
    let run = |args: &[&str]| {
        Command::new(secops)
            .args(args)
            .current_dir(root)
            .env("SECOPS_DATABASE_URL", &db.url)
            .env("SECOPS_STATE_DIR", &state)
            .output()
            .expect("run secops")
    };
    let said = |o: &Output| format!("{}{}", stdout(o), String::from_utf8_lossy(&o.stderr));
    let out = run(&[
        "fixtures",
        "estate",
        "--out",
        estate.to_str().unwrap(),
        "--accounts",
        "2",
        "--instances",
        "24",
        "--findings",
        "60",
    ]);
    assert!(out.status.success(), "{}", said(&out));
    let out = run(&["collect", "--from-dir", estate.to_str().unwrap(), "--reconcile"]);
    assert!(out.status.success(), "{}", said(&out));

    let out = run(&["triage", "--since", "2020-01-01T00:00:00Z", "--limit", "5", "--concurrency", "3", "--json"]);
    assert!(out.status.success(), "{}", said(&out));
    let books: serde_json::Value =
        serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}: {}", said(&out)));
    assert_eq!(books["counts"]["selected"], 5, "{books:#}");
    assert_eq!(
        (books["totals"]["analysed"].as_u64(), books["totals"]["failed"].as_u64()),
        (Some(5), Some(0)),
        "{books:#}"
    );
    let first: Vec<String> =
        books["results"].as_array().unwrap().iter().map(|r| r["finding_id"].as_str().unwrap().to_owned()).collect();
    assert!(books["results"].as_array().unwrap().iter().all(|r| r["ticket_key"].is_string()), "{books:#}");

    let out = run(&["triage", "--since", "2020-01-01T00:00:00Z", "--limit", "5", "--json"]);
    assert!(out.status.success(), "{}", said(&out));
    let again: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(again["counts"]["already_ticketed"], 5, "{again:#}");
    assert!(again["results"]
        .as_array()
        .unwrap()
        .iter()
        .all(|r| !first.contains(&r["finding_id"].as_str().unwrap().to_owned())));

    let out = run(&["triage", "one", &first[0], "--json"]);
    assert!(out.status.success(), "{}", said(&out));
    let one: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(one["results"][0]["finding_id"], first[0].as_str(), "{one:#}");
    assert_eq!(one["results"][0]["status"], "analysed");
    let out = run(&["triage", "--since", "yesterday"]);
    assert!(!out.status.success() && said(&out).contains("--since"), "{}", said(&out));
}
