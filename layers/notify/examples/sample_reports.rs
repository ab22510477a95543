//! Prints generated triage reports as JSONL `{"id":"report-N","markdown":...}` for the ADF
//! benchmark (`scripts/compare-adf`).
//!
//!   cargo run -p secops-notify --example sample_reports -- [COUNT] [SEED]   (default 1000 1)

use std::io::Write;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let count: usize = args.next().as_deref().unwrap_or("1000").parse()?;
    let seed: u64 = args.next().as_deref().unwrap_or("1").parse()?;
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    for (index, markdown) in secops_notify::adf::sample_triage_reports(count, seed).into_iter().enumerate() {
        serde_json::to_writer(&mut out, &serde_json::json!({"id": format!("report-{index}"), "markdown": markdown}))?;
        out.write_all(b"\n")?;
    }
    out.flush()?;
    Ok(())
}
