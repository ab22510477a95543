//! `secops report` over a database filled by the real commands (fixtures, collect, decide,
//! triage), rendered in headless Chromium: the key figures, computed here by SQL, are on the
//! page; the charts are there; nothing is loaded from elsewhere; attacker-controlled text is
//! only ever shown escaped.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

const PLANTED_TITLE: &str = "<script>alert('title')</script>\"><img src=x onerror=alert(1)>";

fn tempdir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("secops-report-{name}-{}-{}", std::process::id(), nanos()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn nanos() -> u128 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos()
}

fn said(o: &Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr))
}

/// A process killed (and reaped) when the test ends, however it ends.
struct Killed(Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Debian's `chromium`; a test that cannot find it fails and says how to get it.
fn chromium() -> PathBuf {
    let found = std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).map(|d| d.join("chromium")).find(|c| c.is_file()))
        .unwrap_or(None);
    found.unwrap_or_else(|| {
        panic!("chromium is not installed: run ./scripts/bootstrap (it installs the Debian package 'chromium')")
    })
}

/// The DOM Chromium builds from `page`, serialized (`--dump-dom`), within 90 seconds.
fn render(page: &Path) -> String {
    let profile = tempdir("chromium-profile");
    let dom_file = profile.join("dom.html");
    let stderr_file = profile.join("stderr.txt");
    let child = Command::new(chromium())
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
            "--disable-dev-shm-usage",
        ])
        .arg(format!("--user-data-dir={}", profile.join("data").display()))
        .arg("--dump-dom")
        .arg(format!("file://{}", page.display()))
        .stdin(Stdio::null())
        .stdout(std::fs::File::create(&dom_file).unwrap())
        .stderr(std::fs::File::create(&stderr_file).unwrap())
        .spawn()
        .expect("start chromium");
    let mut child = Killed(child);
    let deadline = Instant::now() + Duration::from_secs(90);
    let status = loop {
        if let Some(status) = child.0.try_wait().unwrap() {
            break status;
        }
        assert!(
            Instant::now() < deadline,
            "chromium did not finish within 90 s: {}",
            std::fs::read_to_string(&stderr_file).unwrap_or_default()
        );
        std::thread::sleep(Duration::from_millis(100));
    };
    let dom = std::fs::read_to_string(&dom_file).unwrap();
    assert!(
        status.success() && dom.contains("</html>"),
        "chromium failed ({status}): {}",
        std::fs::read_to_string(&stderr_file).unwrap_or_default()
    );
    let _ = std::fs::remove_dir_all(&profile);
    dom
}

/// Every `src`/`href` value of a page, as written.
fn references(page: &str) -> Vec<String> {
    let mut found = Vec::new();
    for attribute in ["src=\"", "href=\"", "src='", "href='"] {
        let quote = attribute.chars().last().unwrap();
        let mut rest = page;
        while let Some(i) = rest.find(attribute) {
            rest = &rest[i + attribute.len()..];
            let end = rest.find(quote).unwrap_or(rest.len());
            found.push(rest[..end].to_owned());
        }
    }
    found
}

struct Env<'a> {
    db_url: &'a str,
    state: PathBuf,
}

impl Env<'_> {
    fn run(&self, args: &[&str]) -> Output {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
        let out = Command::new(env!("CARGO_BIN_EXE_secops"))
            .args(args)
            .current_dir(root)
            .env("SECOPS_DATABASE_URL", self.db_url)
            .env("SECOPS_STATE_DIR", &self.state)
            .env_remove("SECOPS_DATABASE_URL_PARAMETER")
            .env_remove("SECOPS_POLICY_FILE")
            .env_remove("SECOPS_ACCOUNT_DIRECTORY")
            .env_remove("SECOPS_TICKETS_DIR")
            .env_remove("SECOPS_JIRA_URL")
            .env_remove("SECOPS_REMEDIATION_MODE")
            .output()
            .expect("run secops");
        assert!(out.status.success(), "secops {}: {}", args.join(" "), said(&out));
        out
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn the_page_shows_the_key_figures_in_chromium_with_no_external_asset() {
    chromium(); // fail first, and clearly, when it is missing
    let secops = Path::new(env!("CARGO_BIN_EXE_secops"));
    let analyst = secops.with_file_name("analyst");
    assert!(analyst.is_file(), "{} is missing: cargo build --workspace --bins builds it", analyst.display());
    let db = secops_store::testing::TestDb::new().await;
    let dir = tempdir("full");
    let env = Env { db_url: &db.url, state: dir.join("state") };
    std::fs::create_dir_all(&env.state).unwrap();
    std::fs::write(
        env.state.join("accounts.yaml"),
        "accounts:\n  - {id: \"444455556666\", name: shop-prod, email: aws@example.com, status: ACTIVE,\n     joined_at: 2024-01-01T00:00:00Z, ou_path: [Workloads], tags: {secops:environment: prod, secops:team: shop}}\n",
    )
    .unwrap();

    // The estate, collected and reconciled.
    let estate = dir.join("estate");
    let estate_arg = estate.to_str().unwrap();
    env.run(&["fixtures", "estate", "--out", estate_arg, "--accounts", "2", "--instances", "24", "--findings", "60"]);
    env.run(&["collect", "--from-dir", estate_arg, "--reconcile"]);

    // The sample events decided (every finding of each), one title planted with markup.
    let events = Path::new(env!("CARGO_MANIFEST_DIR")).join("../layers/core/tests/fixtures/events");
    for (i, name) in ["imported-1-finding.json", "imported-3-findings.json"].iter().enumerate() {
        let mut event: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(events.join(name)).unwrap()).unwrap();
        for f in event["detail"]["findings"].as_array_mut().unwrap() {
            f["AwsAccountId"] = "444455556666".into();
        }
        if i == 1 {
            event["detail"]["findings"][0]["Title"] = PLANTED_TITLE.into();
        }
        let path = dir.join(name);
        std::fs::write(&path, event.to_string()).unwrap();
        env.run(&["decide", "--event", path.to_str().unwrap()]);
    }

    // Triage with the offline analyst, one process per finding, a ticket each.
    env.run(&["triage", "--since", "2020-01-01T00:00:00Z", "--limit", "5", "--json"]);

    let out_dir = dir.join("report");
    let printed = env.run(&["report", "--out", out_dir.to_str().unwrap()]);
    let printed = String::from_utf8_lossy(&printed.stdout).into_owned();
    assert!(printed.contains(&format!("report: {}", out_dir.join("index.html").display())), "{printed}");
    assert!(printed.contains("audit chain: verified"), "{printed}");

    // The figures, independently.
    let client = db.pool.get().await.unwrap();
    let coverage: String = client
        .query_one("SELECT round(coverage_pct, 1)::text FROM edr_coverage WHERE account_id IS NULL", &[])
        .await
        .unwrap()
        .get(0);
    let triage_reports: i64 = client
        .query_one(
            "SELECT count(*) FROM triage_reports WHERE execution_id = \
             (SELECT execution_id FROM triage_runs ORDER BY started_at DESC LIMIT 1)",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    let tickets: i64 = client.query_one("SELECT count(*) FROM tickets", &[]).await.unwrap().get(0);
    let audit_events: i64 = client.query_one("SELECT count(*) FROM audit_events", &[]).await.unwrap().get(0);
    let ticket_keys: Vec<String> = client
        .query("SELECT ticket_id FROM triage_reports WHERE ticket_id IS NOT NULL", &[])
        .await
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert_eq!(triage_reports, 5);
    assert!(tickets >= 6 && audit_events > 5, "decide and triage filed tickets and audited: {tickets} {audit_events}");

    let page_path = out_dir.join("index.html");
    let page = std::fs::read_to_string(&page_path).unwrap();
    let dom = render(&page_path);

    for (figure, value) in [
        ("edr-coverage", format!("{coverage}%")),
        ("triage-reports", triage_reports.to_string()),
        ("tickets", tickets.to_string()),
        ("audit-events", audit_events.to_string()),
        ("audit-verified", "verified".to_owned()),
        ("audit-status", "verified".to_owned()),
    ] {
        assert!(
            dom.contains(&format!("data-figure=\"{figure}\">{value}<")),
            "the page does not show {figure} = {value}:\n{dom}"
        );
    }
    assert!(dom.matches("<svg").count() >= 4, "the coverage donut, exposure, findings and verdict charts");
    for section in
        ["estate", "exposure", "posture", "findings", "triage", "tickets", "attack-paths", "remediation", "audit"]
    {
        assert!(dom.contains(&format!("<section id=\"{section}\"")), "section {section} is missing");
    }
    // Each triage ticket is linked to its Markdown file, which exists.
    for key in &ticket_keys {
        let file = env.state.join("tickets").join(format!("{key}.md"));
        assert!(file.is_file(), "{}", file.display());
        assert!(dom.contains(&format!("<a href=\"file://{}\">{key}</a>", file.display())), "no link to ticket {key}");
    }

    // Nothing external: no script at all, and every reference is in the page or a local ticket.
    assert!(!page.contains("<script") && !dom.contains("<script"), "a script element");
    for reference in references(&page).iter().chain(references(&dom).iter()) {
        assert!(
            reference.starts_with('#') || reference.starts_with("file:///"),
            "an external or unexpected reference: {reference}"
        );
    }
    assert!(!page.contains("@import") && !page.contains("url("), "no CSS imports or remote resources");

    // The planted title reached the page, escaped only.
    assert!(
        dom.contains("&lt;script&gt;alert('title')&lt;/script&gt;\"&gt;&lt;img src=x onerror=alert(1)&gt;"),
        "{dom}"
    );
    assert!(!dom.contains("<img") && !page.contains("<img"), "markup from a finding title became an element");

    // report.json carries the same figures for machines.
    let data: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out_dir.join("report.json")).unwrap()).unwrap();
    assert_eq!(data["tickets"]["total"], tickets);
    assert_eq!(data["audit"]["events"], audit_events);
    assert_eq!(data["audit"]["ok"], true);
    assert_eq!(data["triage"]["reports"].as_array().unwrap().len() as i64, triage_reports);
    assert_eq!(format!("{:.1}", data["estate"]["edr_coverage_pct"].as_f64().unwrap()), coverage);
    assert!(data["findings"]["decided"].as_u64().unwrap() >= 4, "{:#}", data["findings"]);
    assert!(data["attack_paths"]["top"].as_array().unwrap().len() <= 10);
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test(flavor = "multi_thread")]
async fn an_empty_database_gives_a_valid_page_that_says_so() {
    chromium();
    let db = secops_store::testing::TestDb::new().await;
    let dir = tempdir("empty");
    let env = Env { db_url: &db.url, state: dir.join("state") };
    std::fs::create_dir_all(&env.state).unwrap();
    let out_dir = dir.join("report");
    let printed = env.run(&["report", "--out", out_dir.to_str().unwrap()]);
    assert!(String::from_utf8_lossy(&printed.stdout).contains("no snapshot yet"), "{}", said(&printed));
    let dom = render(&out_dir.join("index.html"));
    assert!(dom.contains("no snapshot yet") && dom.contains("No triage run yet"), "{dom}");
    assert!(dom.contains("data-figure=\"edr-coverage\">n/a<") && dom.contains("data-figure=\"tickets\">0<"), "{dom}");
    assert!(dom.contains("no audit events yet"), "{dom}");
    let data: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out_dir.join("report.json")).unwrap()).unwrap();
    assert!(data["snapshot"].is_null() && data["triage"].is_null(), "{data:#}");
    let _ = std::fs::remove_dir_all(&dir);
}
