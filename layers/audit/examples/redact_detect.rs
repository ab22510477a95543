//! Detection over labelled records, for `scripts/compare-redaction`.
//!
//! Reads JSON lines with a `"text"` field on standard input (the corpus format) and writes, per
//! record, one line `{"spans":[{"start","end","byte_start","byte_end","category"}]}` with
//! character offsets (`start`/`end`, Unicode scalar values) and byte offsets. Afterwards it
//! writes `{"seconds": s, "bytes": n}` to standard error: the time spent in `detect` alone,
//! and the UTF-8 size of the texts.
//!
//! `cargo run --release -p secops-audit --example redact_detect < layers/audit/tests/data/redaction-corpus.jsonl`

use secops_audit::redact::{CorrelationKey, Destination, Policy, Redactor};
use std::io::{BufRead, BufWriter, Write};
use std::process::ExitCode;
use std::time::{Duration, Instant};

const TIMED_PASSES: u32 = 10;

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("redact_detect: {e}");
            ExitCode::from(2)
        }
    }
}

fn run() -> Result<(), String> {
    let redactor = Redactor::new(Policy::default_for(Destination::Audit), CorrelationKey::new([0; 32]));
    let mut texts = Vec::new();
    for (n, line) in std::io::stdin().lock().lines().enumerate() {
        let line = line.map_err(|e| format!("reading line {}: {e}", n + 1))?;
        let record: serde_json::Value =
            serde_json::from_str(&line).map_err(|e| format!("line {}: not JSON: {e}", n + 1))?;
        let text = record.get("text").and_then(|t| t.as_str()).ok_or_else(|| format!("line {}: no \"text\"", n + 1))?;
        texts.push(text.to_owned());
    }
    for text in &texts {
        redactor.detect(text);
    }
    // Timed passes over short texts add up to milliseconds; several steady the figure.
    let mut spent = Duration::ZERO;
    for _ in 0..TIMED_PASSES {
        for text in &texts {
            let started = Instant::now();
            let detections = redactor.detect(text);
            spent += started.elapsed();
            std::hint::black_box(detections);
        }
    }
    let stdout = std::io::stdout();
    let mut out = BufWriter::new(stdout.lock());
    for text in &texts {
        let detections = redactor.detect(text);
        let spans: Vec<serde_json::Value> = detections
            .iter()
            .map(|d| {
                serde_json::json!({
                    "start": text[..d.start].chars().count(),
                    "end": text[..d.end].chars().count(),
                    "byte_start": d.start,
                    "byte_end": d.end,
                    "category": d.category,
                })
            })
            .collect();
        writeln!(out, "{}", serde_json::json!({ "spans": spans })).map_err(|e| format!("writing: {e}"))?;
    }
    out.flush().map_err(|e| format!("writing: {e}"))?;
    let bytes: usize = texts.iter().map(String::len).sum();
    eprintln!("{}", serde_json::json!({ "seconds": spent.as_secs_f64() / f64::from(TIMED_PASSES), "bytes": bytes }));
    Ok(())
}
