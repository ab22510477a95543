//! `secops demo` as a new user runs it: the embedded defaults (a private PostgreSQL cluster under
//! its own state folder, local adapters, the offline analyst), on a small seeded estate. Checks
//! what it leaves behind — tickets that are schema-valid ADF, a chain that verifies on its own,
//! a report whose figures match the database — then runs it again (nothing new but a snapshot)
//! and once more with `--fresh` (everything again, from nothing).

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::{json, Value};

const SIZE: [&str; 6] = ["--accounts", "2", "--instances", "40", "--findings", "60"];

struct Demo {
    dir: PathBuf,
}

impl Demo {
    fn new(name: &str) -> Demo {
        let dir = std::env::temp_dir().join(format!("secops-demo-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        Demo { dir }
    }

    fn state(&self) -> PathBuf {
        self.dir.join("state")
    }

    fn secops(&self, args: &[&str]) -> Output {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
        Command::new(env!("CARGO_BIN_EXE_secops"))
            .args(args)
            .current_dir(root)
            .env_remove("SECOPS_DATABASE_URL")
            .env_remove("SECOPS_DATABASE_URL_PARAMETER")
            .env_remove("SECOPS_CONFIG")
            .env("SECOPS_STATE_DIR", self.state())
            .output()
            .expect("run secops")
    }

    fn demo(&self, extra: &[&str]) -> String {
        let mut args = vec!["demo"];
        args.extend(SIZE);
        args.extend(extra);
        let out = self.secops(&args);
        let said = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
        assert!(out.status.success(), "secops demo {extra:?} failed:\n{said}");
        said
    }

    /// A count from the demo's private database (started by `secops db start` below, so it keeps
    /// running between the demo runs; stopped in Drop).
    fn count(&self, query: &str) -> i64 {
        use secops_store::cluster::{placement, Durability, LocalCluster};
        let cluster = LocalCluster::new(placement(&self.state().join("pg")), Durability::Durable).expect("the cluster");
        let url = cluster.url("postgres").expect("the cluster's URL");
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        runtime.block_on(async {
            let client = secops_store::db::connect(&url).await.expect("connect to the demo's database");
            client.query_one(query, &[]).await.unwrap_or_else(|e| panic!("{query}: {e}")).get::<_, i64>(0)
        })
    }

    /// The ticket files: (key, Markdown, ADF document).
    fn tickets(&self) -> Vec<(String, String, Value)> {
        let dir = self.state().join("tickets");
        let mut out = Vec::new();
        for entry in std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())) {
            let path = entry.unwrap().path();
            let Some(name) = path.file_name().and_then(|n| n.to_str()) else { continue };
            if let Some(key) = name.strip_suffix(".md") {
                let markdown = std::fs::read_to_string(&path).unwrap();
                let adf_path = dir.join(format!("{key}.adf.json"));
                let adf: Value = serde_json::from_str(
                    &std::fs::read_to_string(&adf_path)
                        .unwrap_or_else(|e| panic!("{} has no ADF beside it ({e})", path.display())),
                )
                .unwrap();
                out.push((key.to_owned(), markdown, adf));
            }
        }
        out.sort_by(|a, b| a.0.cmp(&b.0));
        out
    }
}

impl Drop for Demo {
    fn drop(&mut self) {
        let _ = self.secops(&["db", "stop"]);
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn tools_dir() -> PathBuf {
    std::env::var_os("SECOPS_TOOLS_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(std::env::var_os("HOME").expect("HOME")).join(".cache/secops-autopilot/tools"))
}

/// Every document against Atlassian's published ADF schema (ajv, through the repository's
/// validator script); fails, never skips, when Node or its modules are missing.
fn assert_valid_adf(docs: &[(String, Value)], dir: &Path) {
    assert!(!docs.is_empty(), "no ADF documents to validate");
    let input = dir.join("adf.jsonl");
    let lines: String = docs.iter().map(|(id, adf)| format!("{}\n", json!({"id": id, "adf": adf}))).collect();
    std::fs::write(&input, lines).unwrap();
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../scripts/lib/adf_validate.mjs");
    let out = Command::new("node")
        .arg(script)
        .arg(&input)
        .env("SECOPS_TOOLS_DIR", tools_dir())
        .output()
        .expect("node runs (install Node.js and run ./scripts/bootstrap)");
    assert_ne!(out.status.code(), Some(2), "the ADF validator could not run: {}", String::from_utf8_lossy(&out.stderr));
    let summary: Value = serde_json::from_slice(&out.stdout).expect("validator summary is JSON");
    assert_eq!(summary["invalid"], json!([]), "tickets the ADF schema rejects");
    assert_eq!(summary["valid"], json!(docs.len()));
}

#[test]
fn the_demo_runs_the_pipeline_end_to_end_and_again_without_duplicates() {
    let demo = Demo::new("pipeline");
    let started = demo.secops(&["db", "start"]);
    assert!(started.status.success(), "secops db start: {}", String::from_utf8_lossy(&started.stderr));
    let said = demo.demo(&[]);
    for stage in ["inventory:", "findings:", "triage:", "notify:", "audit:", "report"] {
        assert!(said.contains(stage), "the demo did not report its {stage} stage:\n{said}");
    }
    assert!(said.contains("chain verified"), "{said}");

    // Tickets: one Markdown + ADF pair per ticket on record, every ADF document schema-valid.
    let tickets = demo.tickets();
    let on_record = demo.count("SELECT count(*) FROM tickets");
    assert!(on_record > 0, "the demo filed no tickets:\n{said}");
    let triage_tickets =
        demo.count("SELECT count(*) FROM triage_reports WHERE status = 'analysed' AND ticket_id IS NOT NULL");
    assert!(triage_tickets > 0, "triage filed no tickets:\n{said}");
    let keys: BTreeSet<&str> = tickets.iter().map(|t| t.0.as_str()).collect();
    assert_eq!(keys.len(), tickets.len());
    let mut docs = Vec::new();
    for (key, markdown, adf) in &tickets {
        assert!(!markdown.trim().is_empty(), "{key}.md is empty");
        docs.push((format!("{key}/description"), adf["description"].clone()));
        for (i, comment) in adf["comments"].as_array().into_iter().flatten().enumerate() {
            docs.push((format!("{key}/comment-{i}"), comment.clone()));
        }
    }
    assert_valid_adf(&docs, &demo.dir);

    // The chain verifies on its own, outside the demo.
    let verify = demo.secops(&["audit", "verify", "--json"]);
    assert!(verify.status.success(), "audit verify: {}", String::from_utf8_lossy(&verify.stdout));
    let audit: Value = serde_json::from_slice(&verify.stdout).expect("verify --json");
    assert_eq!(audit["ok"], json!(true));
    let events = audit["events"].as_u64().expect("events");
    assert!(events > 0);

    // The report: its figures are the database's.
    let report_dir = demo.state().join("demo/report");
    let page = std::fs::read_to_string(report_dir.join("index.html")).expect("the report page");
    let data: Value = serde_json::from_str(&std::fs::read_to_string(report_dir.join("report.json")).unwrap()).unwrap();
    let analysed = demo.count("SELECT count(*) FROM triage_reports WHERE status = 'analysed'");
    assert!(page.contains("<svg"), "the report has no chart");
    assert!(!page.contains("<script"), "the report runs scripts");
    assert_eq!(data["triage"]["analysed"], json!(analysed), "report.json triage: {:#}", data["triage"]);
    assert_eq!(data["audit"]["events"], json!(events), "report.json audit: {:#}", data["audit"]);
    assert_eq!(data["audit"]["ok"], json!(true));

    // Again: a new snapshot, and no new ticket, report or chat message for what was already done.
    let chat_before = std::fs::read_to_string(demo.state().join("chat.jsonl")).unwrap_or_default().lines().count();
    let said = demo.demo(&[]);
    assert_eq!(demo.count("SELECT count(*) FROM tickets"), on_record, "a second demo opened tickets:\n{said}");
    assert_eq!(demo.tickets().len(), tickets.len(), "a second demo wrote ticket files");
    assert_eq!(demo.count("SELECT count(*) FROM snapshots"), 2);
    assert_eq!(
        demo.count("SELECT count(*) FROM triage_reports WHERE status = 'analysed'"),
        analysed,
        "a second demo analysed findings it had ticketed:\n{said}"
    );
    let chat_after = std::fs::read_to_string(demo.state().join("chat.jsonl")).unwrap_or_default().lines().count();
    assert!(chat_after >= chat_before, "chat messages vanished");

    // --fresh: from nothing, the same figures.
    let said = demo.demo(&["--fresh"]);
    assert!(said.contains("fresh: emptied the private database"), "{said}");
    assert_eq!(demo.count("SELECT count(*) FROM snapshots"), 1);
    assert_eq!(demo.count("SELECT count(*) FROM tickets"), on_record);
    assert_eq!(demo.tickets().len(), tickets.len());
}

#[test]
fn fresh_refuses_a_database_it_does_not_own() {
    let demo = Demo::new("fresh-refused");
    let out = Command::new(env!("CARGO_BIN_EXE_secops"))
        .args(["demo", "--fresh"])
        .current_dir(Path::new(env!("CARGO_MANIFEST_DIR")).join(".."))
        .env("SECOPS_STATE_DIR", demo.state())
        .env("SECOPS_DATABASE_URL", "postgres://nobody@127.0.0.1:1/none")
        .output()
        .expect("run secops");
    assert_eq!(out.status.code(), Some(1));
    let said = String::from_utf8_lossy(&out.stderr);
    assert!(said.contains("--fresh empties the database"), "{said}");
}
