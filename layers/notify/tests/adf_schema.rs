//! Every CommonMark spec example (0.31.2, 652 of them) and 1,000 generated triage reports,
//! converted to ADF and validated against Atlassian's published JSON schema
//! (`@atlaskit/adf-schema` `dist/json-schema/v1/full.json`) by `scripts/lib/adf_validate.mjs`
//! (ajv, draft-04). Needs Node and the modules `./scripts/bootstrap` installs; fails, never
//! skips, without them.

mod support;

use std::path::{Path, PathBuf};
use std::process::Command;

use secops_notify::adf::{markdown_to_adf, sample_triage_reports};
use serde_json::{json, Value};
use support::adf::{tools_dir, validate};

const SPEC_EXAMPLES: usize = 652;
const REPORTS: usize = 1000;

fn node_modules() -> PathBuf {
    let modules = tools_dir().join("node/node_modules");
    let node = Command::new("node").arg("--version").output();
    let missing: Vec<&str> = ["ajv-draft-04", "commonmark-spec", "@atlaskit/adf-schema/dist/json-schema/v1/full.json"]
        .into_iter()
        .filter(|module| !modules.join(module).exists())
        .collect();
    assert!(
        node.is_ok_and(|out| out.status.success()) && missing.is_empty(),
        "node or the Node modules {missing:?} are missing under {}: run ./scripts/bootstrap",
        modules.display()
    );
    modules
}

/// The spec's examples as (number, markdown); the spec writes tabs as `→`.
fn spec_examples(modules: &Path) -> Vec<(u64, String)> {
    let dump = "const tests = require(process.argv[1]).tests; \
                process.stdout.write(JSON.stringify(tests.map(t => [t.number, t.markdown.replace(/\\u2192/g, '\\t')])))";
    let out = Command::new("node").args(["-e", dump]).arg(modules.join("commonmark-spec")).output().expect("node runs");
    assert!(out.status.success(), "reading commonmark-spec failed: {}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).expect("the spec dump is JSON")
}

#[test]
fn all_commonmark_examples_and_generated_reports_are_schema_valid_adf() {
    let modules = node_modules();
    let examples = spec_examples(&modules);
    assert_eq!(examples.len(), SPEC_EXAMPLES, "commonmark-spec 0.31.2 has 652 examples");

    let reports = sample_triage_reports(REPORTS, 0x5EC0_9A05);
    let inputs = examples
        .iter()
        .map(|(number, markdown)| (format!("spec-{number}"), markdown.as_str()))
        .chain(reports.iter().enumerate().map(|(index, report)| (format!("report-{index}"), report.as_str())));
    let mut docs = Vec::new();
    for (id, markdown) in inputs {
        // What Doc::write_json writes is what goes to Jira (and what serde's path parses).
        let mut json = Vec::new();
        markdown_to_adf(markdown).write_json(&mut json);
        let adf: Value = serde_json::from_slice(&json).unwrap_or_else(|e| panic!("{id}: not JSON: {e}"));
        docs.push((id, adf));
    }

    let (code, summary) = validate(&docs);
    assert_eq!(summary["invalid"], json!([]), "documents the ADF schema rejects");
    assert_eq!((code, &summary["total"], &summary["valid"]), (0, &json!(docs.len()), &json!(SPEC_EXAMPLES + REPORTS)));
}

/// The validator must reject what the schema rejects, or the test above proves nothing.
#[test]
fn the_validator_rejects_invalid_adf() {
    node_modules();
    let docs = [
        ("valid", json!({"type": "doc", "version": 1, "content": []})),
        ("empty-text", json!({"type": "doc", "version": 1, "content": [{"type": "paragraph", "content": [{"type": "text", "text": ""}]}]})),
        ("heading-in-quote", json!({"type": "doc", "version": 1, "content": [{"type": "blockquote", "content": [{"type": "heading", "attrs": {"level": 1}, "content": []}]}]})),
        ("code-and-strong", json!({"type": "doc", "version": 1, "content": [{"type": "paragraph", "content": [{"type": "text", "text": "x", "marks": [{"type": "code"}, {"type": "strong"}]}]}]})),
        ("empty-list", json!({"type": "doc", "version": 1, "content": [{"type": "bulletList", "content": []}]})),
    ]
    .map(|(id, adf)| (id.to_owned(), adf));
    let (code, summary) = validate(&docs);
    let invalid: Vec<&str> = summary["invalid"].as_array().unwrap().iter().map(|i| i["id"].as_str().unwrap()).collect();
    assert_eq!(code, 1);
    assert_eq!(invalid, ["empty-text", "heading-in-quote", "code-and-strong", "empty-list"]);
    assert_eq!((&summary["total"], &summary["valid"]), (&json!(5), &json!(1)));
}
