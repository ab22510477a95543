//! Fixture loading shared by the integration tests.
#![allow(dead_code)]

use serde_json::Value;
use std::path::{Path, PathBuf};

pub fn fixtures_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests").join("fixtures")
}

/// `(file name, contents)` of every `*.json` in `tests/fixtures/<dir>`, sorted by name.
pub fn json_fixtures(dir: &str) -> Vec<(String, String)> {
    let path = fixtures_dir().join(dir);
    let mut out: Vec<(String, String)> = std::fs::read_dir(&path)
        .unwrap_or_else(|e| panic!("cannot list {}: {e}", path.display()))
        .map(|entry| entry.expect("directory entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .map(|p| {
            let name = p.file_name().expect("file name").to_string_lossy().into_owned();
            let text = std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("cannot read {}: {e}", p.display()));
            (name, text)
        })
        .collect();
    out.sort();
    assert!(!out.is_empty(), "no fixtures in {}", path.display());
    out
}

pub fn fixture(dir: &str, name: &str) -> String {
    let p = fixtures_dir().join(dir).join(name);
    std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("cannot read {}: {e}", p.display()))
}

pub fn fixture_value(dir: &str, name: &str) -> Value {
    serde_json::from_str(&fixture(dir, name)).expect("fixture is JSON")
}
