//! Markdown → ADF (issue 10): conversion and serialisation throughput on 1,000 generated triage
//! reports and on the CommonMark spec's examples. The issue's budget is relative — at least 20×
//! the faster of two npm converters on the same inputs, measured by `scripts/compare-adf` — so
//! the table judges against 20× the faster converter's figure recorded on this machine (see
//! docs/performance.md); schema validity is held by `layers/notify/tests/adf_schema.rs`.

use std::path::PathBuf;
use std::time::Instant;

use anyhow::{bail, Context, Result};
use secops_notify::adf::{markdown_to_adf, sample_triage_reports};

use super::{on_one_core, thousands, Ctx, Row};

/// The faster npm converter's docs/s on each corpus (`scripts/compare-adf 10`, marklassian both
/// times, issue 10's closing note).
const NPM_REPORTS_DOCS_PER_S: f64 = 3_691.0;
const NPM_SPEC_DOCS_PER_S: f64 = 40_239.0;

/// Convert every document `repetitions` times; (docs/s, MB/s of Markdown).
fn throughput(docs: &[String], repetitions: usize) -> (f64, f64) {
    let mut out = Vec::with_capacity(64 << 10);
    let started = Instant::now();
    for _ in 0..repetitions {
        for markdown in docs {
            out.clear();
            markdown_to_adf(markdown).write_json(&mut out);
            std::hint::black_box(&out);
        }
    }
    let seconds = started.elapsed().as_secs_f64().max(f64::EPSILON);
    let bytes: usize = docs.iter().map(String::len).sum::<usize>() * repetitions;
    ((docs.len() * repetitions) as f64 / seconds, bytes as f64 / 1e6 / seconds)
}

fn row(id: &'static str, benchmark: String, npm: f64, (docs, mb): (f64, f64)) -> Row {
    let budget = 20.0 * npm;
    Row::new(
        "adf",
        id,
        benchmark,
        format!("≥ 20× the faster npm converter ({} docs/s) = {} docs/s (issue 10)", thousands(npm), thousands(budget)),
    )
    .measured(
        docs,
        "docs/s",
        format!("{} docs/s, {mb:.1} MB/s ({:.1}× npm)", thousands(docs), docs / npm),
        Some(docs >= budget),
    )
}

/// The spec's examples (tabs are written as → there), from the Node tools `scripts/bootstrap`
/// installs.
fn spec_examples() -> Result<Vec<String>> {
    let tools = std::env::var_os("SECOPS_TOOLS_DIR").map(PathBuf::from).unwrap_or_else(|| {
        PathBuf::from(std::env::var_os("HOME").unwrap_or_default()).join(".cache/secops-autopilot/tools")
    });
    let path = tools.join("node/node_modules/commonmark-spec/spec.txt");
    let text = std::fs::read_to_string(&path)
        .with_context(|| format!("reading the CommonMark spec at {} (run ./scripts/bootstrap)", path.display()))?;
    let fence = "````````````````````````````````";
    let mut examples = Vec::new();
    let mut lines = text.lines();
    while let Some(line) = lines.next() {
        if line.starts_with(fence) && line.trim_end().ends_with(" example") {
            let mut markdown = String::new();
            for l in lines.by_ref() {
                if l == "." {
                    break;
                }
                markdown.push_str(&l.replace('→', "\t"));
                markdown.push('\n');
            }
            examples.push(markdown);
        }
    }
    if examples.len() < 600 {
        bail!("{}: found {} examples, expected the spec's 652", path.display(), examples.len());
    }
    Ok(examples)
}

pub async fn run(ctx: &Ctx) -> Result<Vec<Row>> {
    let (reports, repetitions) = if ctx.quick { (100, 1) } else { (1_000, 20) };
    let spec = spec_examples();
    on_one_core(move |_| {
        let docs = sample_triage_reports(reports, 1);
        let reports_row = row(
            "adf.reports",
            format!("{reports} generated triage reports × {repetitions}, convert + serialise, one core"),
            NPM_REPORTS_DOCS_PER_S,
            throughput(&docs, repetitions),
        );
        let spec_row = match spec {
            Ok(examples) => row(
                "adf.commonmark_spec",
                format!("{} CommonMark spec examples × {}, one core", examples.len(), repetitions * 10),
                NPM_SPEC_DOCS_PER_S,
                throughput(&examples, repetitions * 10),
            ),
            Err(e) => {
                let mut r = Row::new("adf", "adf.commonmark_spec", "CommonMark spec examples", "");
                r.error = Some(format!("{e:#}"));
                r
            }
        };
        Ok(vec![reports_row, spec_row])
    })
    .await
}
