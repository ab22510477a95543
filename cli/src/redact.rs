//! `secops redact`: redact standard input for one destination and write it to standard output.
//!
//! - text (default): the whole input, redacted by the destination's policy;
//! - `--json`: one JSON document or JSON lines; the same shape comes out, every string leaf
//!   redacted (see `Redactor::redact_json`);
//! - `--detect`: nothing is rewritten; one JSON line per input line,
//!   `{"spans":[{"start","end","byte_start","byte_end","category"}]}`, with character offsets
//!   (`start`/`end`) and byte offsets into that line. Detection runs over the whole input, so a
//!   private key spanning lines is reported on every line it covers.
//!
//! Bad input (not UTF-8, not JSON, a bad policy file) is reported on standard error with where
//! it is, and exits 2; nothing is written to standard output then.

use anyhow::{Context, Result};
use secops_audit::redact::{CorrelationKey, Destination, Detection, Policy, Redactor};
use serde_json::{json, Value};
use std::io::{BufWriter, Read, Write};
use std::path::Path;
use std::process::ExitCode;

const BAD_INPUT: u8 = 2;

pub(crate) fn run(
    destination: Destination,
    policy_file: Option<&Path>,
    json: bool,
    detect: bool,
    key: CorrelationKey,
) -> Result<ExitCode> {
    if json && detect {
        return Ok(bad_input("--json and --detect do not go together: --detect reports spans per line of text"));
    }
    let policy = match Policy::load(destination, policy_file) {
        Ok(policy) => policy,
        Err(e) => return Ok(bad_input(&e.to_string())),
    };
    let redactor = Redactor::new(policy, key);

    let mut input = Vec::new();
    std::io::stdin().lock().read_to_end(&mut input).context("reading standard input")?;
    let text = match String::from_utf8(input) {
        Ok(text) => text,
        Err(e) => {
            let valid = e.utf8_error().valid_up_to();
            let (line, column) = line_and_column(&e.as_bytes()[..valid]);
            return Ok(bad_input(&format!(
                "standard input is not valid UTF-8 at byte {valid} (line {line}, column {column})"
            )));
        }
    };

    let output = if detect {
        detect_per_line(&redactor, &text)
    } else if json {
        match redact_json_input(&redactor, &text) {
            Ok(out) => out,
            Err(e) => return Ok(bad_input(&e)),
        }
    } else {
        redactor.redact_text(&text).into_owned()
    };
    let stdout = std::io::stdout();
    let mut out = BufWriter::new(stdout.lock());
    out.write_all(output.as_bytes()).and_then(|()| out.flush()).context("writing standard output")?;
    Ok(ExitCode::SUCCESS)
}

fn bad_input(message: &str) -> ExitCode {
    eprintln!("secops redact: {message}");
    ExitCode::from(BAD_INPUT)
}

/// 1-based line and column (in characters) just after `before`.
fn line_and_column(before: &[u8]) -> (usize, usize) {
    let line = before.iter().filter(|&&b| b == b'\n').count() + 1;
    let line_start = before.iter().rposition(|&b| b == b'\n').map_or(0, |i| i + 1);
    let column = String::from_utf8_lossy(&before[line_start..]).chars().count() + 1;
    (line, column)
}

/// One JSON document (written back pretty if it came in over several lines) or JSON lines
/// (written back one compact value per line). The whole input is parsed before anything is
/// written, so a parse error leaves standard output empty.
fn redact_json_input(redactor: &Redactor, text: &str) -> Result<String, String> {
    let mut values = Vec::new();
    for value in serde_json::Deserializer::from_str(text).into_iter::<Value>() {
        let value = value.map_err(|e| {
            // serde_json ends its message with the position; it is said first here.
            let message = e.to_string();
            let message = message.rsplit_once(" at line ").map_or(message.as_str(), |(m, _)| m).to_owned();
            format!("standard input is not valid JSON at line {} column {}: {message}", e.line(), e.column())
        })?;
        values.push(redactor.redact_json(&value));
    }
    let mut out = String::with_capacity(text.len());
    match values.as_slice() {
        [one] if text.trim().contains('\n') => {
            out.push_str(&serde_json::to_string_pretty(one).unwrap_or_default());
            out.push('\n');
        }
        values => {
            for value in values {
                out.push_str(&value.to_string());
                out.push('\n');
            }
        }
    }
    Ok(out)
}

/// The spans of every line, one JSON line each; a detection that spans lines is cut at each
/// line's end.
fn detect_per_line(redactor: &Redactor, text: &str) -> String {
    let detections = redactor.detect(text);
    let mut out = String::new();
    let mut next = 0; // first detection that may still touch the current line
    let mut line_start = 0;
    for raw_line in text.split_inclusive('\n') {
        let line = raw_line.trim_end_matches(['\n', '\r']);
        let line_end = line_start + line.len();
        while next < detections.len() && detections[next].end <= line_start {
            next += 1;
        }
        let spans: Vec<Value> = detections[next..]
            .iter()
            .take_while(|d| d.start < line_end.max(line_start + 1))
            .filter_map(|d| clip(d, line, line_start, line_end))
            .collect();
        out.push_str(&json!({ "spans": spans }).to_string());
        out.push('\n');
        line_start += raw_line.len();
    }
    out
}

fn clip(d: &Detection, line: &str, line_start: usize, line_end: usize) -> Option<Value> {
    let start = d.start.max(line_start) - line_start;
    let end = d.end.min(line_end) - line_start;
    (start < end).then(|| {
        json!({
            "start": line[..start].chars().count(),
            "end": line[..end].chars().count(),
            "byte_start": start,
            "byte_end": end,
            "category": d.category,
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn redactor() -> Redactor {
        Redactor::new(Policy::default_for(Destination::Jira), CorrelationKey::new([1; 32]))
    }

    #[test]
    fn detect_reports_each_line_with_character_and_byte_offsets() {
        let out = detect_per_line(&redactor(), "é a@b.io\n\nno secrets\r\nip 10.0.0.1");
        let lines: Vec<Value> = out.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
        assert_eq!(lines.len(), 4);
        assert_eq!(
            lines[0],
            json!({"spans": [{"start": 2, "end": 8, "byte_start": 3, "byte_end": 9, "category": "email"}]})
        );
        assert_eq!(lines[1], json!({"spans": []}));
        assert_eq!(lines[2], json!({"spans": []}));
        assert_eq!(lines[3]["spans"][0]["category"], "ipv4");
    }

    #[test]
    fn detect_reports_a_multi_line_key_on_every_line() {
        let text = "-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC\n-----END PRIVATE KEY-----\nafter";
        let out = detect_per_line(&redactor(), text);
        let lines: Vec<Value> = out.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
        for line in &lines[..3] {
            assert_eq!(line["spans"][0]["category"], "private_key", "{out}");
        }
        assert_eq!(lines[3], json!({"spans": []}));
    }

    #[test]
    fn json_documents_and_json_lines_keep_their_form() {
        let pretty = redact_json_input(&redactor(), "{\n  \"user\": \"a@b.io\"\n}\n").unwrap();
        assert_eq!(pretty, "{\n  \"user\": \"[EMAIL]\"\n}\n");
        let lines = redact_json_input(&redactor(), "{\"password\":\"x\"}\n{\"n\":1}\n\"a@b.io\"\n").unwrap();
        assert_eq!(lines, "{\"password\":\"[PASSWORD]\"}\n{\"n\":1}\n\"[EMAIL]\"\n");
    }

    #[test]
    fn json_errors_name_the_line_and_column() {
        let e = redact_json_input(&redactor(), "{\"a\":1}\n{\"b\": tru}\n").unwrap_err();
        assert_eq!(e, "standard input is not valid JSON at line 2 column 10: expected ident");
    }

    #[test]
    fn positions_count_lines_and_characters() {
        assert_eq!(line_and_column(b""), (1, 1));
        assert_eq!(line_and_column("ab\nçd".as_bytes()), (2, 3));
    }
}
