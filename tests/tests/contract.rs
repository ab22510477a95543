//! Contracts between the pieces that no compiler checks: the SAM template, the Lambda binaries,
//! the thin mains, and the error names the state machines match.

use regex::Regex;
use secops_core::ErrorClass;
use serde_json::Value;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

const STEPS: [&str; 7] = ["collect", "reconcile", "decide", "remediate", "triage", "notify", "audit"];

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap().to_path_buf()
}

fn capitalized(s: &str) -> String {
    let mut c = s.chars();
    c.next().map(|f| f.to_uppercase().chain(c).collect()).unwrap_or_default()
}

#[test]
fn every_step_is_a_thin_lambda_main_with_a_unique_binary() {
    for step in STEPS {
        let dir = root().join("functions").join(step);
        let manifest = std::fs::read_to_string(dir.join("Cargo.toml")).unwrap();
        assert!(manifest.contains(&format!("name = \"{step}\"")), "functions/{step} must build the binary '{step}'");
        assert!(manifest.contains("lambda_runtime"), "functions/{step} must be a Lambda");
        let main = std::fs::read_to_string(dir.join("src/main.rs")).unwrap();
        let lines = main.lines().count();
        assert!(lines <= 40, "functions/{step}/src/main.rs has {lines} lines; logic belongs in layers/");
    }
}

#[test]
fn template_builds_each_step_binary_once() {
    let template = std::fs::read_to_string(root().join("template.yaml")).unwrap();
    let binaries: Vec<String> =
        Regex::new(r"(?m)^\s*Binary:\s*(\S+)\s*$").unwrap().captures_iter(&template).map(|c| c[1].to_owned()).collect();
    let unique: BTreeSet<&String> = binaries.iter().collect();
    assert_eq!(unique.len(), binaries.len(), "a Binary is built twice: {binaries:?}");
    let expected: BTreeSet<String> = STEPS.iter().map(|s| s.to_string()).collect();
    assert_eq!(binaries.iter().cloned().collect::<BTreeSet<_>>(), expected);
    for step in STEPS {
        let logical_id = format!("{}Function:", capitalized(step));
        assert!(template.contains(&logical_id), "template.yaml lacks {logical_id}");
    }
    assert!(!template.contains("BuildMethod: rust-cargo-lambda"), "the builder is rust-cargolambda");
    assert_eq!(template.matches("BuildMethod: rust-cargolambda").count(), STEPS.len());
}

/// Error names our own tasks raise are exactly the StepError classes; anything else in an
/// `ErrorEquals` must be a Step Functions or service-integration name.
#[test]
fn state_machines_match_only_error_names_that_exist() {
    let ours: BTreeSet<&str> = ErrorClass::ALL.iter().map(|c| c.name()).collect();
    let dir = root().join("statemachines");
    let mut checked = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        if !path.to_string_lossy().ends_with(".asl.json") {
            continue;
        }
        let definition: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        let mut names = Vec::new();
        collect_error_equals(&definition, &mut names);
        for name in names {
            let service = ["States.", "Lambda.", "DynamoDB.", "ECS.", "StepFunctions.", "SecurityHub."]
                .iter()
                .any(|p| name.starts_with(p));
            assert!(ours.contains(name.as_str()) || service, "{}: unknown error name {name}", path.display());
        }
        checked += 1;
    }
    println!("checked {checked} state machines");
}

fn collect_error_equals(v: &Value, out: &mut Vec<String>) {
    match v {
        Value::Object(map) => {
            if let Some(Value::Array(names)) = map.get("ErrorEquals") {
                out.extend(names.iter().filter_map(|n| n.as_str().map(str::to_owned)));
            }
            map.values().for_each(|x| collect_error_equals(x, out));
        }
        Value::Array(items) => items.iter().for_each(|x| collect_error_equals(x, out)),
        _ => {}
    }
}
