//! The trust layer (issue 4): chain verification from a JSONL export on one core, beside raw
//! SHA-256 + HMAC-SHA256 of the same bytes; appends into PostgreSQL from 8 writers; redaction
//! throughput over mixed log text.

use std::sync::Arc;
use std::time::Instant;

use anyhow::{bail, Context, Result};
use hmac::{Hmac, KeyInit};
use secops_audit::ops::{verify_export, verify_table};
use secops_audit::redact::{CorrelationKey, Destination, Policy, Redactor};
use secops_audit::{bench, AuditSink, Keyring, PgAuditLog};
use sha2::Sha256;

use super::{median, ms, on_one_core, thousands, time_runs, Ctx, Row};

/// The labelled redaction corpus (one JSON record with a `text` per line).
const CORPUS: &str = include_str!("../../../layers/audit/tests/data/redaction-corpus.jsonl");

pub async fn run(ctx: &mut Ctx) -> Result<Vec<Row>> {
    let mut rows = verify(ctx.quick).await?;
    rows.push(append(ctx).await?);
    Ok(rows)
}

async fn verify(quick: bool) -> Result<Vec<Row>> {
    let (events, runs) = if quick { (5_000, 2) } else { (100_000, 5) };
    on_one_core(move |rt| {
        let (ring, _) = Keyring::generate("bench")?;
        let jsonl = rt.block_on(bench::export(&ring, events))?;
        let times = time_runs(runs, || {
            let report = rt.block_on(verify_export(&mut jsonl.as_slice(), "bench", &ring, None))?;
            if !report.ok || report.events != events as u64 {
                bail!("the benchmark's own export did not verify: {} events, {:?}", report.events, report.problems);
            }
            Ok(())
        })?;
        let verify_time = median(&times);
        let per_minute = events as f64 / verify_time.as_secs_f64() * 60.0;

        // The floor: SHA-256 of every line plus HMAC-SHA256 of every line, nothing else.
        let lines: Vec<&[u8]> = jsonl.split(|b| *b == b'\n').filter(|l| !l.is_empty()).collect();
        let mac =
            <Hmac<Sha256> as KeyInit>::new_from_slice(&[7u8; 32]).map_err(|e| anyhow::anyhow!("an HMAC key: {e}"))?;
        let mut sink = 0u8;
        let raw = time_runs(runs, || {
            sink ^= bench::raw_hash_and_mac(&lines, &mac);
            Ok(())
        })?;
        std::hint::black_box(sink);
        let raw_time = median(&raw);
        let ratio = verify_time.as_secs_f64() / raw_time.as_secs_f64().max(f64::EPSILON);
        let bytes_per_event = jsonl.len() / events.max(1);
        Ok(vec![
            Row::new(
                "audit",
                "audit.verify",
                format!("verify a {events}-event JSONL export ({bytes_per_event} B/event), one core, median of {runs}"),
                "≥ 1,000,000 events/min (issue 4)",
            )
            .measured(
                per_minute,
                "events/min",
                format!("{} events/min ({:.0} ms)", thousands(per_minute), ms(verify_time)),
                Some(per_minute >= 1_000_000.0),
            ),
            Row::new(
                "audit",
                "audit.verify_vs_raw",
                "verify time ÷ raw SHA-256 + HMAC-SHA256 of the same lines (in-process)",
                "within 3× (issue 4; the issue compares with openssl speed)",
            )
            .measured(
                ratio,
                "×",
                format!("{ratio:.2}× ({:.0} ms vs {:.0} ms)", ms(verify_time), ms(raw_time)),
                Some(ratio <= 3.0),
            ),
        ])
    })
    .await
}

async fn append(ctx: &mut Ctx) -> Result<Row> {
    const WRITERS: usize = 8;
    let (batch, batches) = if ctx.quick { (50, 2) } else { (250, 5) };
    let db = ctx.scratch.fresh(1).await?;
    let (ring, _) = Keyring::generate("bench")?;
    let mut logs = Vec::with_capacity(WRITERS);
    for _ in 0..WRITERS {
        // Each writer has its own connection, as concurrent Lambdas would.
        let pool = secops_store::db::connect_pool(&db.url, 1).await?;
        logs.push(Arc::new(PgAuditLog::new(pool, "bench", ring.clone(), bench::redactor())));
    }
    let started = Instant::now();
    let tasks: Vec<_> = logs
        .iter()
        .cloned()
        .map(|log| {
            tokio::spawn(async move {
                for _ in 0..batches {
                    log.append((0..batch).map(bench::event).collect()).await?;
                }
                anyhow::Ok(())
            })
        })
        .collect();
    for t in tasks {
        t.await??;
    }
    let took = started.elapsed();
    let events = WRITERS * batch * batches;
    let report = verify_table(&logs[0], None).await?;
    if !report.ok || report.events != events as u64 {
        bail!("after the appends the chain is not linear: {} events, {:?}", report.events, report.problems);
    }
    let rate = events as f64 / took.as_secs_f64();
    Ok(Row::new(
        "audit",
        "audit.append",
        format!("append {events} events into PostgreSQL: {WRITERS} writers, batches of {batch}"),
        "≥ 5,000 events/s, chain still linear (issue 4)",
    )
    .measured(rate, "events/s", format!("{} events/s ({:.0} ms)", thousands(rate), ms(took)), Some(rate >= 5_000.0))
    .detail(format!("the {events}-event chain verified intact afterwards")))
}

/// The corpus's texts repeated to at least `bytes`, one record per line.
fn mixed_log_text(bytes: usize) -> Result<String> {
    let mut texts = Vec::new();
    for (n, line) in CORPUS.lines().enumerate().filter(|(_, l)| !l.trim().is_empty()) {
        let record: serde_json::Value =
            serde_json::from_str(line).with_context(|| format!("redaction corpus line {}", n + 1))?;
        if let Some(text) = record.get("text").and_then(|t| t.as_str()) {
            texts.push(text.to_owned());
        }
    }
    if texts.is_empty() {
        bail!("the redaction corpus has no texts");
    }
    let mut text = String::new();
    while text.len() < bytes {
        for t in &texts {
            text.push_str(t);
            text.push('\n');
        }
    }
    Ok(text)
}

pub async fn redaction(ctx: &Ctx) -> Result<Vec<Row>> {
    let (size, runs) = if ctx.quick { (256 << 10, 2) } else { (4 << 20, 9) };
    on_one_core(move |_| {
        let text = mixed_log_text(size)?;
        let redactor = Redactor::new(Policy::default_for(Destination::Audit), CorrelationKey::new([7; 32]));
        let mut sink = 0usize;
        let times = time_runs(runs, || {
            sink ^= redactor.redact_text(std::hint::black_box(&text)).len();
            Ok(())
        })?;
        std::hint::black_box(sink);
        let mb_per_s = text.len() as f64 / 1e6 / median(&times).as_secs_f64();
        Ok(vec![Row::new(
            "redaction",
            "redaction.throughput",
            format!(
                "redact_text, audit policy (every detector), {:.1} MB of the labelled corpus, one core, median of {runs}",
                text.len() as f64 / 1e6
            ),
            "≥ 50 MB/s (issue 4)",
        )
        .measured(mb_per_s, "MB/s", format!("{mb_per_s:.1} MB/s"), Some(mb_per_s >= 50.0))])
    })
    .await
}
