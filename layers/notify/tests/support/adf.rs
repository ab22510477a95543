//! Schema validation of ADF documents with Atlassian's published JSON schema, through
//! `scripts/lib/adf_validate.mjs` (ajv). The Node tools come from `./scripts/bootstrap`; when
//! they are missing the test fails and says so (it never skips).

use std::path::PathBuf;
use std::process::Command;

use serde_json::{json, Value};

pub fn tools_dir() -> PathBuf {
    std::env::var_os("SECOPS_TOOLS_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(std::env::var_os("HOME").expect("HOME")).join(".cache/secops-autopilot/tools"))
}

fn script() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../scripts/lib/adf_validate.mjs")
}

/// Validate `(id, doc)` pairs: the validator's exit status and its JSON summary
/// `{"total", "valid", "invalid": [{"id", "errors"}]}`.
pub fn validate(docs: &[(String, Value)]) -> (i32, Value) {
    let dir = tempfile::tempdir().expect("temp dir");
    let input = dir.path().join("docs.jsonl");
    let lines: String = docs.iter().map(|(id, adf)| format!("{}\n", json!({"id": id, "adf": adf}))).collect();
    std::fs::write(&input, lines).expect("write docs");
    let out = Command::new("node")
        .arg(script())
        .arg(&input)
        .env("SECOPS_TOOLS_DIR", tools_dir())
        .output()
        .expect("node runs (install Node.js and run ./scripts/bootstrap)");
    let code = out.status.code().unwrap_or(-1);
    assert_ne!(code, 2, "the ADF validator could not run: {}", String::from_utf8_lossy(&out.stderr));
    let summary = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("validator output is not JSON ({e}): {}", String::from_utf8_lossy(&out.stdout)));
    (code, summary)
}

/// Every document is valid ADF.
pub fn assert_valid(docs: &[Value]) {
    assert!(!docs.is_empty(), "nothing to validate");
    let pairs: Vec<(String, Value)> = docs.iter().enumerate().map(|(i, d)| (format!("doc-{i}"), d.clone())).collect();
    let (code, summary) = validate(&pairs);
    assert_eq!(code, 0, "invalid ADF: {summary:#}");
    assert_eq!(summary["valid"], docs.len());
}

/// Every text node of an ADF document, concatenated in document order.
pub fn text(node: &Value) -> String {
    let mut out = String::new();
    collect_text(node, &mut out);
    out
}

fn collect_text(node: &Value, out: &mut String) {
    if node["type"] == "text" {
        out.push_str(node["text"].as_str().unwrap_or_default());
    }
    for child in node["content"].as_array().into_iter().flatten() {
        collect_text(child, out);
    }
}
