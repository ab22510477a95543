//! Triage (issue 9): the offline analyst per finding including its queries, and a whole batch on
//! the embedded executor — real `analyst` processes (the binary beside `secops`) against a
//! language-model stub on loopback that answers every call after a fixed delay.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use secops_asl::TaskRegistry;
use secops_core::Config;
use secops_inventory::fixtures::{generate, EstateSpec};
use secops_triage::bench::{quantile, time_offline_analysis};
use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use super::{ms, Ctx, Row};
use crate::asl::{Output, RunOptions};
use crate::steps::LocalSteps;

/// Orchestration allowed on top of the model's own time: issue 9's 20 s for three waves of 5 s.
const ORCHESTRATION_BUDGET: Duration = Duration::from_secs(5);
const ANALYST_RSS_BUDGET_MB: f64 = 50.0;

/// A scratch database holding `spec`'s estate, collected and reconciled.
async fn estate(ctx: &mut Ctx, spec: &EstateSpec) -> Result<super::scratch::ScratchDb> {
    let dir = tempfile::tempdir()?;
    generate(spec, dir.path())?;
    let db = ctx.scratch.fresh(4).await?;
    let snapshot = secops_inventory::collect_from_dir(&db.pool, dir.path(), 4).await?;
    if snapshot.status != "complete" {
        bail!("snapshot {} is {}: {:?}", snapshot.snapshot_id, snapshot.status, snapshot.failed_runs);
    }
    secops_inventory::reconcile::reconcile(&db.pool, Some(snapshot.snapshot_id)).await?;
    Ok(db)
}

pub async fn run(ctx: &mut Ctx) -> Result<Vec<Row>> {
    let mut rows = vec![offline(ctx).await?];
    rows.extend(batch(ctx).await?);
    Ok(rows)
}

async fn offline(ctx: &mut Ctx) -> Result<Row> {
    let (spec, limit) = if ctx.quick { (super::quick_estate(), 20) } else { (EstateSpec::default(), 200) };
    let db = estate(ctx, &spec).await?;
    // A live database has statistics (autovacuum analyses new tables within a minute); a freshly
    // loaded one has not, and the planner then nests loops (see docs/performance.md).
    db.pool.get().await?.batch_execute("ANALYZE").await?;
    let client = db.pool.get().await?;
    let t = time_offline_analysis(&client, Some(limit)).await?;
    if t.per_finding.is_empty() {
        bail!("the estate has no findings to analyse");
    }
    if t.invalid > 0 {
        bail!("{} offline assessments failed the report schema", t.invalid);
    }
    let times = &t.per_finding;
    let max = times.last().copied().unwrap_or_default();
    let mean = ms(times.iter().sum::<Duration>()) / times.len() as f64;
    Ok(Row::new(
        "triage",
        "triage.offline_per_finding",
        format!(
            "offline analyst, gather + assess, {} heaviest of {} findings ({} instances estate, after ANALYZE)",
            times.len(),
            t.candidates,
            spec.instances
        ),
        "< 100 ms per finding incl. its queries (issue 9)",
    )
    .measured(
        ms(max),
        "ms (max)",
        format!("p50 {:.1} / p95 {:.1} / max {:.1} ms", ms(quantile(times, 0.5)), ms(quantile(times, 0.95)), ms(max)),
        Some(max < Duration::from_millis(100)),
    )
    .detail(format!(
        "mean {mean:.1} ms, {} context queries, gather p95 {:.1} ms",
        t.queries,
        ms(quantile(&t.gather, 0.95))
    )))
}

async fn batch(ctx: &mut Ctx) -> Result<Vec<Row>> {
    let (spec, findings, concurrency, delay) = if ctx.quick {
        (super::quick_estate(), 4u64, 2u64, Duration::from_millis(300))
    } else {
        (EstateSpec::default(), 30, 10, Duration::from_secs(5))
    };
    let analyst = std::env::current_exe()?.with_file_name("analyst");
    if !analyst.is_file() {
        bail!("the analyst binary is not beside secops ({}): cargo build --workspace --bins", analyst.display());
    }
    let db = estate(ctx, &spec).await?;
    let (model_url, model) = model_stub(delay).await?;

    // Only local adapters, under a folder of this run: tickets, chat and audit keys never reach
    // the user's state folder or real destinations.
    let state = tempfile::tempdir()?;
    let state_dir = state.path().to_str().context("a UTF-8 temporary folder")?.to_owned();
    // decide (which files the tickets) reads its account directory from the state folder.
    std::fs::write(
        state.path().join("accounts.yaml"),
        "accounts:\n  - {id: \"111122223333\", name: bench, email: bench@example.com, status: ACTIVE,\n     joined_at: 2024-01-01T00:00:00Z, ou_path: [Workloads], tags: {secops:environment: prod, secops:team: bench}}\n",
    )?;
    let url = db.url.clone();
    let config = Config::from_lookup(|k| match k {
        "SECOPS_STATE_DIR" => Some(state_dir.clone()),
        "SECOPS_DATABASE_URL" => Some(url.clone()),
        _ => None,
    })?;
    let steps = LocalSteps::open(&config, &db.url).await?;
    let mut registry = TaskRegistry::new();
    steps.register(&mut registry, None);
    let mut setup = steps.analyst_setup();
    setup.env.retain(|(k, _)| {
        k != "RUST_LOG"
            && !k.starts_with("SECOPS_TRIAGE_")
            && !k.starts_with("SECOPS_OPENAI_")
            && !k.starts_with("SECOPS_BEDROCK_")
    });
    for (k, v) in [
        ("SECOPS_TRIAGE_PROVIDER", "openai"),
        ("SECOPS_OPENAI_BASE_URL", model_url.as_str()),
        ("SECOPS_OPENAI_MODEL", "stub"),
        ("RUST_LOG", "warn"),
    ] {
        setup.env.push((k.to_owned(), v.to_owned()));
    }
    let options = RunOptions {
        input: PathBuf::from("(secops bench)"),
        input_value: Some(json!({"since": "2020-01-01T00:00:00Z", "limit": findings, "concurrency": concurrency})),
        execution_name: None,
        task_stubs: None,
        virtual_clock: false,
        output: Output { history: false, json: true },
    };
    let started = Instant::now();
    let result = crate::asl::run_wired("triage", &ctx.template, &options, registry, &setup).await;
    let wall = started.elapsed();
    model.abort();
    let summary = result?.summary();
    if summary["status"] != json!("SUCCEEDED") {
        bail!("the triage workflow ended {}: {} {}", summary["status"], summary["error"], summary["cause"]);
    }
    let totals = &summary["output"]["batch"]["totals"];
    let count = |k: &str| totals[k].as_u64().unwrap_or(0);
    if count("selected") != findings || count("analysed") != findings || count("failed") > 0 || count("fallbacks") > 0 {
        let reasons: Vec<String> = summary["output"]["batch"]["results"]
            .as_array()
            .map(|rs| {
                rs.iter()
                    .filter(|r| r["status"] != json!("analysed"))
                    .map(|r| secops_core::json::error_reason(&r["error"]))
                    .collect()
            })
            .unwrap_or_default();
        bail!(
            "the batch selected {}, analysed {}, failed {}, fell back {} of {findings}: {}",
            count("selected"),
            count("analysed"),
            count("failed"),
            count("fallbacks"),
            reasons.join("; ")
        );
    }
    let waves = findings.div_ceil(concurrency);
    let floor = delay * u32::try_from(waves)?;
    let budget = floor + ORCHESTRATION_BUDGET;
    let peak_mb =
        totals["max_peak_memory_kb"].as_f64().context("the books carry the analysts' peak memory")? * 1024.0 / 1e6;
    Ok(vec![
        Row::new(
            "triage",
            "triage.batch_wall",
            format!(
                "triage.asl.json: {findings} findings, concurrency {concurrency}, model stub answering after {:.1} s, real analyst processes",
                delay.as_secs_f64()
            ),
            format!(
                "< {:.1} s wall: {waves} waves × {:.1} s + 5 s orchestration (issue 9: 30 at 10 with 5 s < 20 s)",
                budget.as_secs_f64(),
                delay.as_secs_f64()
            ),
        )
        .measured(
            wall.as_secs_f64(),
            "s",
            format!(
                "{:.2} s ({:.2} s over the model's {:.1} s)",
                wall.as_secs_f64(),
                wall.saturating_sub(floor).as_secs_f64(),
                floor.as_secs_f64()
            ),
            Some(wall < budget),
        )
        .detail(format!(
            "per finding {} ms mean, {} ms p95, {} ms max (analyst process start to report)",
            totals["duration_ms"]["mean"], totals["duration_ms"]["p95"], totals["duration_ms"]["max"]
        )),
        Row::new(
            "triage",
            "triage.analyst_peak_rss",
            "largest analyst process's peak RSS (VmHWM) in that batch",
            "< 50 MB (issue 9)",
        )
        .measured(peak_mb, "MB", format!("{peak_mb:.1} MB"), Some(peak_mb < ANALYST_RSS_BUDGET_MB)),
    ])
}

/// An OpenAI-compatible chat-completions stub on loopback: every request, after `delay`, gets an
/// assessment any finding's context supports. Returns its base URL and the accept loop (abort it).
async fn model_stub(delay: Duration) -> Result<(String, tokio::task::JoinHandle<()>)> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.context("binding the model stub")?;
    let base = format!("http://{}/v1", listener.local_addr()?);
    let body = secops_triage::bench::stub_chat_completion().to_string();
    let task = tokio::spawn(async move {
        while let Ok((socket, _)) = listener.accept().await {
            let body = body.clone();
            tokio::spawn(async move {
                // Bounded: a client that never finishes its request is dropped.
                let _ = tokio::time::timeout(Duration::from_secs(60), answer(socket, delay, &body)).await;
            });
        }
    });
    Ok((base, task))
}

/// Read one HTTP/1.1 request (headers, then Content-Length bytes), wait, answer and close.
async fn answer(mut socket: tokio::net::TcpStream, delay: Duration, body: &str) -> std::io::Result<()> {
    const MAX_REQUEST: usize = 16 << 20;
    let mut request = Vec::with_capacity(16 << 10);
    let mut chunk = [0u8; 8192];
    let header_end = loop {
        let n = socket.read(&mut chunk).await?;
        if n == 0 {
            return Ok(());
        }
        request.extend_from_slice(&chunk[..n]);
        if let Some(i) = request.windows(4).position(|w| w == b"\r\n\r\n") {
            break i + 4;
        }
        if request.len() > MAX_REQUEST {
            return Ok(());
        }
    };
    let headers = String::from_utf8_lossy(&request[..header_end]).to_ascii_lowercase();
    let length: usize = headers
        .lines()
        .find_map(|l| l.strip_prefix("content-length:"))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(0)
        .min(MAX_REQUEST);
    while request.len() < header_end + length {
        let n = socket.read(&mut chunk).await?;
        if n == 0 {
            break;
        }
        request.extend_from_slice(&chunk[..n]);
    }
    tokio::time::sleep(delay).await;
    let response = format!(
        "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
        body.len()
    );
    socket.write_all(response.as_bytes()).await?;
    socket.shutdown().await
}
