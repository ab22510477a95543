//! `secops bench`: the suite runs end to end at quick sizes and reports every benchmark with a
//! figure and a budget. No figure is judged here (timed assertions do not belong in tests).

use std::path::Path;
use std::process::{Command, Output};

/// Every benchmark the table must carry, in order.
const IDS: &[&str] = &[
    "asl.map_transitions",
    "asl.findings_machine",
    "audit.verify",
    "audit.verify_vs_raw",
    "audit.append",
    "redaction.throughput",
    "decide.route",
    "decide.classify",
    "decide.suppression_200",
    "decide.policy_load",
    "adf.reports",
    "adf.commonmark_spec",
    "inventory.load",
    "inventory.reconcile",
    "network.flatten",
    "network.attack_paths",
    "triage.offline_per_finding",
    "triage.batch_wall",
    "triage.analyst_peak_rss",
];

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("the repository root")
}

fn secops(args: &[&str], database_url: Option<&str>, state: &Path) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_secops"));
    command
        .args(args)
        .current_dir(root())
        .env("SECOPS_STATE_DIR", state)
        .env_remove("SECOPS_DATABASE_URL")
        .env_remove("SECOPS_DATABASE_URL_PARAMETER");
    if let Some(url) = database_url {
        command.env("SECOPS_DATABASE_URL", url);
    }
    command.output().expect("run secops")
}

#[tokio::test(flavor = "multi_thread")]
async fn the_quick_suite_reports_every_benchmark_with_a_figure_and_a_budget() {
    let db = secops_store::testing::TestDb::new().await;
    let state = tempfile::tempdir().unwrap();
    let out = secops(&["bench", "--quick", "--json"], Some(&db.url), state.path());
    let stderr = String::from_utf8_lossy(&out.stderr);
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!("bench --json printed no JSON ({e}): {}\n{stderr}", String::from_utf8_lossy(&out.stdout))
    });
    let rows = doc["rows"].as_array().expect("rows");
    let errors: Vec<String> =
        rows.iter().filter(|r| !r["error"].is_null()).map(|r| format!("{}: {}", r["id"], r["error"])).collect();
    assert!(errors.is_empty(), "benchmarks that could not run: {errors:#?}\n{stderr}");
    assert!(out.status.success(), "exit {:?}\n{stderr}", out.status);
    let ids: Vec<&str> = rows.iter().map(|r| r["id"].as_str().unwrap_or("?")).collect();
    assert_eq!(ids, IDS);
    for r in rows {
        let id = &r["id"];
        assert!(r["value"].as_f64().is_some_and(|v| v.is_finite() && v > 0.0), "{id}: no figure: {r}");
        for field in ["budget", "measured", "benchmark", "unit"] {
            assert!(r[field].as_str().is_some_and(|s| !s.is_empty()), "{id}: no {field}: {r}");
        }
        assert!(r["within_budget"].is_boolean() || r["within_budget"].is_null(), "{id}: {r}");
    }
    assert_eq!(doc["quick"], true);

    // The scratch databases are gone.
    let admin = secops_store::db::connect(&db.url).await.unwrap();
    let left: i64 = admin
        .query_one("SELECT count(*) FROM pg_database WHERE datname LIKE 'secops_bench_%'", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(left, 0, "scratch databases left behind");
}

#[test]
fn only_selects_areas_and_rejects_unknown_names() {
    let state = tempfile::tempdir().unwrap();
    // decide needs no database: nothing is started or asked for.
    let out = secops(&["bench", "--quick", "--only", "decide", "--json"], None, state.path());
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let ids: Vec<&str> = doc["rows"].as_array().unwrap().iter().map(|r| r["id"].as_str().unwrap()).collect();
    assert_eq!(ids, ["decide.route", "decide.classify", "decide.suppression_200", "decide.policy_load"]);
    assert!(!state.path().join("pg").exists(), "no cluster was made for a pure benchmark");

    let out = secops(&["bench", "--only", "decide,warp-drive"], None, state.path());
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("--only \"warp-drive\": not an area"), "{stderr}");

    // The table form: a header, the four rows, and the machine line.
    let out = secops(&["bench", "--quick", "--only", "decide.route"], None, state.path());
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let table = String::from_utf8_lossy(&out.stdout);
    assert!(table.starts_with("area "), "{table}");
    assert!(table.contains("decide | route a failed control"), "{table}");
    assert!(!table.contains("classify"), "--only a benchmark id keeps only that row: {table}");
}
