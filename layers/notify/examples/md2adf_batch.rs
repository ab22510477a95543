//! Batch Markdown → ADF conversion for benchmarks.
//!
//!   md2adf_batch INPUT.jsonl [REPETITIONS]      (default 1)
//!
//! Reads `{"id":..,"markdown":..}` lines, converts every document REPETITIONS times and writes
//! `{"id":..,"adf":..}` lines (from the last repetition) to stdout, and to stderr
//! `{"docs":n,"bytes":b,"seconds":s,"docs_per_second":x,"mb_per_second":y}` where n and b count
//! every repetition. The clock covers conversion and serialisation to JSON bytes only.

use std::io::Write;
use std::time::Instant;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let path = args.next().ok_or("usage: md2adf_batch INPUT.jsonl [REPETITIONS]")?;
    let repetitions: usize = args.next().as_deref().unwrap_or("1").parse()?;
    if repetitions == 0 {
        return Err("REPETITIONS must be at least 1".into());
    }

    let mut docs: Vec<(serde_json::Value, String)> = Vec::new();
    for (number, line) in std::fs::read_to_string(&path)?.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let mut record: serde_json::Value =
            serde_json::from_str(line).map_err(|e| format!("{path}:{}: {e}", number + 1))?;
        let markdown = match record.get_mut("markdown").map(serde_json::Value::take) {
            Some(serde_json::Value::String(markdown)) => markdown,
            _ => return Err(format!("{path}:{}: no string \"markdown\"", number + 1).into()),
        };
        let id = record.get_mut("id").map(serde_json::Value::take).unwrap_or(serde_json::Value::Null);
        docs.push((id, markdown));
    }

    let mut outputs: Vec<Vec<u8>> = docs.iter().map(|_| Vec::new()).collect();
    let started = Instant::now();
    for _ in 0..repetitions {
        for ((_, markdown), output) in docs.iter().zip(outputs.iter_mut()) {
            output.clear();
            secops_notify::adf::markdown_to_adf(markdown).write_json(output);
        }
    }
    let seconds = started.elapsed().as_secs_f64();

    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    for ((id, _), adf) in docs.iter().zip(&outputs) {
        out.write_all(b"{\"id\":")?;
        serde_json::to_writer(&mut out, id)?;
        out.write_all(b",\"adf\":")?;
        out.write_all(adf)?;
        out.write_all(b"}\n")?;
    }
    out.flush()?;

    let converted = docs.len() * repetitions;
    let bytes = docs.iter().map(|(_, markdown)| markdown.len()).sum::<usize>() * repetitions;
    let timing = serde_json::json!({
        "docs": converted,
        "bytes": bytes,
        "seconds": seconds,
        "docs_per_second": converted as f64 / seconds,
        "mb_per_second": bytes as f64 / 1e6 / seconds,
    });
    eprintln!("{timing}");
    Ok(())
}
