//! `secops daemon` end to end: PostgreSQL, moto_server's Security Hub, wiremock Jira and Slack,
//! and a slow OpenAI-compatible model (so triage can be interrupted mid-run). One schedule cycle
//! with `--once` (inventory and ingestion), then the daemon is started, stopped with SIGTERM
//! mid-triage, restarted, and must finish without duplicate tickets and without losing or
//! repeating an ingested finding.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

/// A running daemon, killed on drop (a failed test leaves nothing behind).
struct DaemonProcess {
    child: Child,
}

impl DaemonProcess {
    fn pid(&self) -> u32 {
        self.child.id()
    }

    /// SIGTERM, then wait (bounded) for the exit.
    fn terminate(&mut self, within: Duration) -> ExitStatus {
        let sent = Command::new("kill").args(["-TERM", &self.pid().to_string()]).status().expect("run kill");
        assert!(sent.success(), "kill -TERM {} failed", self.pid());
        let deadline = Instant::now() + within;
        loop {
            if let Some(status) = self.child.try_wait().expect("wait for the daemon") {
                return status;
            }
            assert!(Instant::now() < deadline, "the daemon did not exit within {within:?} of SIGTERM");
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

impl Drop for DaemonProcess {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// The Jira issues created, with their labels: create answers a new key, search finds by label
/// (as Jira does when a create whose reply was lost is looked up before a retry).
#[derive(Clone, Default)]
struct JiraIssues(Arc<Mutex<Vec<Issue>>>);

/// A created issue: its key and labels.
type Issue = (String, Vec<String>);

impl Respond for JiraIssues {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let body: Value = request.body_json().unwrap_or(Value::Null);
        let mut issues = self.0.lock().unwrap();
        if request.url.path().ends_with("/search/jql") {
            let jql = body["jql"].as_str().unwrap_or_default();
            let found: Vec<Value> = issues
                .iter()
                .filter(|(_, labels)| labels.iter().any(|l| jql.contains(&format!("\"{l}\""))))
                .map(|(key, labels)| json!({"id": "1", "key": key, "fields": {"labels": labels}}))
                .collect();
            return ResponseTemplate::new(200).set_body_json(json!({"issues": found, "isLast": true}));
        }
        let labels: Vec<String> = body["fields"]["labels"]
            .as_array()
            .map(|l| l.iter().filter_map(|v| v.as_str().map(str::to_owned)).collect())
            .unwrap_or_default();
        let key = format!("SEC-{}", issues.len() + 1);
        issues.push((key.clone(), labels));
        ResponseTemplate::new(201).set_body_json(json!({"id": (10_000 + issues.len()).to_string(), "key": key}))
    }
}

fn tempdir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("secops-daemon-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../layers/core/tests/fixtures/asff")
}

/// Wait (bounded) until `check` says yes.
async fn wait_until<F: AsyncFnMut() -> bool>(what: &str, within: Duration, mut check: F) {
    let deadline = Instant::now() + within;
    while !check().await {
        assert!(Instant::now() < deadline, "timed out after {within:?} waiting until {what}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// BatchImportFindings on moto (it checks no signature; the credential scope names the region).
async fn import(moto: &str, findings: &[Value]) {
    let answer = reqwest::Client::new()
        .post(format!("{moto}/findings/import"))
        .header("Content-Type", "application/json")
        .header(
            "Authorization",
            "AWS4-HMAC-SHA256 Credential=testing/20261122/us-east-1/securityhub/aws4_request, SignedHeaders=host, Signature=0",
        )
        .json(&json!({"Findings": findings}))
        .send()
        .await
        .unwrap();
    let status = answer.status();
    let body: Value = answer.json().await.unwrap_or(Value::Null);
    assert!(status.is_success() && body["FailedCount"] == 0, "import: {status} {body}");
}

#[tokio::test(flavor = "multi_thread")]
async fn sigterm_mid_triage_then_restart_finishes_without_duplicates_or_losses() {
    let secops = Path::new(env!("CARGO_BIN_EXE_secops"));
    assert!(
        secops.with_file_name("analyst").is_file(),
        "the analyst binary is missing: the workspace's test build (cargo nextest run --workspace) builds it"
    );
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
    let db = secops_store::testing::TestDb::new().await;
    let pool = secops_store::db::connect_pool(&db.url, 2).await.unwrap();
    let moto = secops_aws::testing::MotoServer::start();

    let jira = MockServer::start().await;
    let issues = JiraIssues::default();
    Mock::given(method("POST")).and(path("/rest/api/3/issue")).respond_with(issues.clone()).mount(&jira).await;
    Mock::given(method("POST")).and(path("/rest/api/3/search/jql")).respond_with(issues.clone()).mount(&jira).await;
    let slack = MockServer::start().await;
    Mock::given(method("POST")).respond_with(ResponseTemplate::new(200).set_body_string("ok")).mount(&slack).await;
    // The model refuses after a pause: each analysis takes that long, then falls back to the
    // offline analyst (a full report either way).
    let llm = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v1/chat/completions"))
        .respond_with(
            ResponseTemplate::new(400)
                .set_body_json(json!({"error": {"message": "model not loaded"}}))
                .set_delay(Duration::from_millis(1500)),
        )
        .mount(&llm)
        .await;

    let dir = tempdir("e2e");
    let state = dir.join("state");
    std::fs::create_dir_all(&state).unwrap();
    std::fs::write(state.join("accounts.yaml"), "accounts: []\n").unwrap();
    let estate = dir.join("estate");
    let env: Vec<(&str, String)> = vec![
        ("SECOPS_DATABASE_URL", db.url.clone()),
        ("SECOPS_STATE_DIR", state.display().to_string()),
        ("SECOPS_COLLECT_FROM_DIR", estate.display().to_string()),
        ("SECOPS_AWS_ENDPOINT_URL", moto.endpoint.clone()),
        ("SECOPS_REGIONS", "us-east-1".into()),
        ("AWS_REGION", "us-east-1".into()),
        ("AWS_ACCESS_KEY_ID", "testing".into()),
        ("AWS_SECRET_ACCESS_KEY", "testing".into()),
        ("SECOPS_JIRA_URL", jira.uri()),
        ("SECOPS_JIRA_EMAIL", "secops@example.com".into()),
        ("SECOPS_JIRA_API_TOKEN", "jira-test-token".into()),
        ("SECOPS_JIRA_PROJECT", "SEC".into()),
        ("SECOPS_SLACK_WEBHOOK_URL", format!("{}/services/T0/B0/test", slack.uri())),
        ("SECOPS_TRIAGE_PROVIDER", "openai".into()),
        ("SECOPS_OPENAI_BASE_URL", format!("{}/v1", llm.uri())),
        ("SECOPS_OPENAI_MODEL", "slow-model".into()),
        ("SECOPS_TRIAGE_CONCURRENCY", "1".into()),
        ("SECOPS_TRIAGE_LOOKBACK", "3650d".into()),
        ("SECOPS_TRIAGE_LIMIT", "6".into()),
        ("RUST_LOG", "info".into()),
    ];
    let command = |args: &[&str]| {
        let mut c = Command::new(secops);
        c.args(args)
            .current_dir(root)
            .env_remove("SECOPS_DATABASE_URL_PARAMETER")
            .envs(env.iter().map(|(k, v)| (*k, v)));
        c
    };
    let out = command(&[
        "fixtures",
        "estate",
        "--out",
        estate.to_str().unwrap(),
        "--accounts",
        "1",
        "--instances",
        "20",
        "--findings",
        "8",
    ])
    .output()
    .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));

    // The findings Security Hub holds: every sample, three of them updated at the same instant.
    // (Not the archived sample: aws-sdk-securityhub cannot read it back from moto.)
    let mut imported: Vec<Value> = std::fs::read_dir(fixtures())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| !p.ends_with("archived-ec2-18.json"))
        .map(|p| serde_json::from_str(&std::fs::read_to_string(p).unwrap()).unwrap())
        .collect();
    imported.sort_by(|a: &Value, b: &Value| a["Id"].as_str().cmp(&b["Id"].as_str()));
    for (i, f) in imported.iter_mut().enumerate() {
        f["UpdatedAt"] =
            json!(if i < 3 { "2026-11-20T10:00:00.000Z".to_owned() } else { format!("2026-11-20T10:00:{i:02}.000Z") });
    }
    import(&moto.endpoint, &imported).await;

    let config = |name: &str, listen: u16, body: &str| {
        let file = dir.join(name);
        std::fs::write(&file, format!("[daemon]\nlisten = \"127.0.0.1:{listen}\"\nshutdown_grace = \"1s\"\n{body}"))
            .unwrap();
        file
    };
    let ingestion = "[ingestion.securityhub]\ninterval = \"1s\"\nregions = [\"us-east-1\"]\npage_size = 2\n";

    // One cycle: inventory, then one ingestion pass.
    let once = config("once.toml", free_port(), &format!("[schedules]\ninventory = \"rate(1 day)\"\n{ingestion}"));
    let out = command(&["daemon", "--config", once.to_str().unwrap(), "--once"]).output().unwrap();
    let said = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(out.status.success(), "{said}");
    let client = pool.get().await.unwrap();
    let count = async |sql: &str| -> i64 { client.query_one(sql, &[]).await.unwrap().get(0) };
    assert_eq!(
        count("SELECT count(*) FROM daemon_runs WHERE name = 'inventory' AND status = 'succeeded'").await,
        1,
        "{said}"
    );
    assert_eq!(count("SELECT count(*) FROM daemon_deliveries").await, imported.len() as i64, "{said}");

    // A finding updated at the cursor's very instant after the pass: it must still come.
    let mut late = imported[0].clone();
    late["Id"] = json!("arn:aws:securityhub:us-east-1:111122223333:finding/late-at-the-same-instant");
    late["UpdatedAt"] = imported.last().unwrap()["UpdatedAt"].clone();
    import(&moto.endpoint, std::slice::from_ref(&late)).await;
    imported.push(late);

    // The daemon: triage is due at once (never ran), ingestion every second.
    let port = free_port();
    let main = config(
        "daemon.toml",
        port,
        &format!("[schedules]\ninventory = \"rate(1 day)\"\ntriage = \"rate(1 day)\"\n{ingestion}"),
    );
    let log = |name: &str| std::fs::File::create(dir.join(name)).unwrap();
    let start = |log_name: &str| DaemonProcess {
        child: command(&["daemon", "--config", main.to_str().unwrap()])
            .stdout(Stdio::null())
            .stderr(log(log_name))
            .spawn()
            .unwrap(),
    };
    let logs = |name: &str| std::fs::read_to_string(dir.join(name)).unwrap_or_default();
    let mut daemon = start("first.log");
    wait_until("triage has analysed one finding and has more to go", Duration::from_secs(180), async || {
        let analysed = count("SELECT count(*) FROM triage_reports WHERE status = 'analysed'").await;
        let waiting = count("SELECT count(*) FROM triage_reports WHERE status = 'selected'").await;
        analysed >= 1 && waiting >= 1
    })
    .await;
    wait_until("the late finding is delivered", Duration::from_secs(60), async || {
        count("SELECT count(*) FROM daemon_deliveries").await == imported.len() as i64
    })
    .await;
    let http = reqwest::Client::new();
    let health = http.get(format!("http://127.0.0.1:{port}/healthz")).send().await.unwrap();
    assert_eq!(health.status(), 200);
    let health: Value = health.json().await.unwrap();
    assert_eq!(health["database"]["reachable"], true, "{health:#}");
    assert_eq!(health["schedules"]["triage"]["last_run"]["status"], "running", "{health:#}");
    assert!(health["cursors"]["us-east-1"]["age_seconds"].is_i64(), "{health:#}");
    let metrics = http.get(format!("http://127.0.0.1:{port}/metrics")).send().await.unwrap().text().await.unwrap();
    for name in [
        "secops_daemon_runs{machine=\"triage\",status=\"running\"} 1",
        "secops_daemon_executions_in_flight ",
        "secops_daemon_findings_ingested_total 1",
        "secops_daemon_ingestion_cursor_lag_seconds{region=\"us-east-1\"}",
        "secops_daemon_last_success_timestamp_seconds{schedule=\"inventory\"}",
        "secops_daemon_up_seconds ",
    ] {
        assert!(metrics.contains(name), "{name} is missing from /metrics:\n{metrics}");
    }

    let selected_first: BTreeSet<String> =
        client.query("SELECT finding_id FROM triage_reports", &[]).await.unwrap().iter().map(|r| r.get(0)).collect();
    let status = daemon.terminate(Duration::from_secs(60));
    assert!(status.success(), "exit {status:?}\n{}", logs("first.log"));
    let interrupted = client
        .query_opt("SELECT id FROM daemon_runs WHERE name = 'triage' AND status = 'interrupted'", &[])
        .await
        .unwrap()
        .unwrap_or_else(|| panic!("triage was not booked interrupted\n{}", logs("first.log")))
        .get::<_, i64>(0);
    assert_eq!(count("SELECT count(*) FROM daemon_runs WHERE status = 'running'").await, 0, "{}", logs("first.log"));
    let unfinished_books = count("SELECT count(*) FROM triage_reports WHERE status = 'selected'").await;
    assert!(unfinished_books >= 1, "SIGTERM came after triage finished: the test proves nothing");

    // Restart: the interrupted triage is resumed first and finishes the rest.
    let mut daemon = start("second.log");
    let resumed = format!("SELECT count(*) FROM daemon_runs WHERE resumes = {interrupted} AND status = 'succeeded'");
    wait_until("the resumed triage succeeded", Duration::from_secs(240), async || count(&resumed).await == 1).await;
    let health = http.get(format!("http://127.0.0.1:{port}/healthz")).send().await.unwrap();
    assert_eq!(health.status(), 200);
    let status = daemon.terminate(Duration::from_secs(60));
    assert!(status.success(), "exit {status:?}\n{}", logs("second.log"));
    let said = format!("first run:\n{}\nsecond run:\n{}", logs("first.log"), logs("second.log"));

    // Every finding the first triage selected has exactly one report and one ticket.
    let analysed: BTreeMap<String, i64> = client
        .query("SELECT finding_id, count(*) FROM triage_reports WHERE status = 'analysed' GROUP BY 1", &[])
        .await
        .unwrap()
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect();
    assert!(analysed.values().all(|n| *n == 1), "a finding was analysed twice: {analysed:?}\n{said}");
    let analysed_ids: BTreeSet<String> = analysed.keys().cloned().collect();
    assert!(selected_first.is_subset(&analysed_ids), "lost: {:?}\n{said}", selected_first.difference(&analysed_ids));
    let creates: Vec<Value> = jira
        .received_requests()
        .await
        .unwrap()
        .iter()
        .filter(|r| r.method == wiremock::http::Method::POST && r.url.path() == "/rest/api/3/issue")
        .map(|r| r.body_json::<Value>().unwrap())
        .filter(|b| b["fields"]["labels"].as_array().is_some_and(|l| l.contains(&json!("triage"))))
        .collect();
    assert_eq!(creates.len(), analysed_ids.len(), "one Jira create per analysed finding\n{said}");
    let ticketed: i64 = client
        .query_one(
            "SELECT count(DISTINCT finding_id) FROM tickets WHERE finding_id = ANY($1)",
            &[&analysed_ids.iter().collect::<Vec<_>>()],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(ticketed, analysed_ids.len() as i64, "{said}");

    // Every imported finding went through decide exactly once; the cursor is where it should be.
    let deliveries: BTreeMap<String, i64> = client
        .query("SELECT finding_id, count(*) FROM daemon_deliveries GROUP BY 1", &[])
        .await
        .unwrap()
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect();
    let ids: BTreeSet<String> = imported.iter().map(|f| f["Id"].as_str().unwrap().to_owned()).collect();
    assert_eq!(deliveries.keys().cloned().collect::<BTreeSet<_>>(), ids, "{said}");
    assert!(deliveries.values().all(|n| *n == 1), "a finding was delivered twice: {deliveries:?}");
    let cursor = client
        .query_one(
            "SELECT updated_at = $1::text::timestamptz, cardinality(seen_ids) FROM daemon_cursors \
             WHERE source = 'securityhub' AND region = 'us-east-1'",
            &[&imported.last().unwrap()["UpdatedAt"].as_str().unwrap()],
        )
        .await
        .unwrap();
    assert!(cursor.get::<_, bool>(0), "the cursor is not at the last UpdatedAt");
    assert_eq!(cursor.get::<_, i32>(1), 2, "the last instant holds two findings");
}
