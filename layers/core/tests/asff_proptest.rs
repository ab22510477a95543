//! Losslessness under change: every fixture, with unknown fields added at random places
//! (top level, inside Severity, Resources[i], Resources[i].Details, Compliance, ...) holding
//! random JSON, parses and writes back exactly what was read.

mod common;

use common::json_fixtures;
use proptest::prelude::*;
use proptest::sample::Index;
use proptest::test_runner::{Config, TestCaseError, TestRunner};
use secops_core::asff::parse_finding;
use secops_core::event::parse_event;
use serde_json::{Map, Value};

const CASES_PER_FIXTURE: u32 = 64;

#[derive(Debug, Clone, PartialEq)]
enum Step {
    Key(String),
    Index(usize),
}

/// Where a document has an object, and whether that object is a string→string map
/// (`ProductFields`, `UserDefinedFields`, `Resources[i].Tags`), which only takes string values.
fn objects(value: &Value, path: &mut Vec<Step>, out: &mut Vec<(Vec<Step>, bool)>) {
    match value {
        Value::Object(map) => {
            out.push((path.clone(), is_string_map(path)));
            for (k, v) in map {
                path.push(Step::Key(k.clone()));
                objects(v, path, out);
                path.pop();
            }
        }
        Value::Array(items) => {
            for (i, v) in items.iter().enumerate() {
                path.push(Step::Index(i));
                objects(v, path, out);
                path.pop();
            }
        }
        _ => {}
    }
}

fn is_string_map(path: &[Step]) -> bool {
    let key = |s: &Step, name: &str| matches!(s, Step::Key(k) if k == name);
    match path {
        [.., last] if key(last, "ProductFields") || key(last, "UserDefinedFields") => {
            is_finding_root(&path[..path.len() - 1])
        }
        [.., resources, Step::Index(_), last] if key(last, "Tags") && key(resources, "Resources") => {
            is_finding_root(&path[..path.len() - 3])
        }
        _ => false,
    }
}

/// A finding document's root, or `detail.findings[i]` of an event.
fn is_finding_root(path: &[Step]) -> bool {
    matches!(path, [] | [Step::Key(_), Step::Key(_), Step::Index(_)])
}

fn object_at<'a>(root: &'a mut Value, path: &[Step]) -> &'a mut Map<String, Value> {
    let mut here = root;
    for step in path {
        here = match step {
            Step::Key(k) => &mut here[k.as_str()],
            Step::Index(i) => &mut here[*i],
        };
    }
    here.as_object_mut().expect("path leads to an object")
}

fn json_leaf() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        // Whole floats (1.0, -3.0) must stay floats.
        (-1000i32..1000).prop_map(|i| Value::from(f64::from(i))),
        any::<f64>().prop_filter("JSON has no NaN or infinity", |f| f.is_finite()).prop_map(Value::from),
        "[ -~]{0,12}".prop_map(Value::String),
        "\\PC{0,6}".prop_map(Value::String),
    ]
}

fn json_value() -> impl Strategy<Value = Value> {
    json_leaf().prop_recursive(3, 24, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::btree_map("[A-Za-z][A-Za-z0-9]{0,6}", inner, 0..4)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// (where, key, value). Keys start with `x`, so they never collide with a typed field
/// (ASFF fields are PascalCase, envelope fields are lowercase words without an `x` prefix).
fn insertions() -> impl Strategy<Value = Vec<(Index, String, Value)>> {
    prop::collection::vec((any::<Index>(), "x[A-Za-z0-9_/:.-]{0,10}", json_value()), 1..6)
}

fn mutate(doc: &Value, places: &[(Vec<Step>, bool)], inserts: &[(Index, String, Value)]) -> Value {
    let mut doc = doc.clone();
    for (at, key, value) in inserts {
        let (path, strings_only) = &places[at.index(places.len())];
        let value = match value {
            Value::String(_) => value.clone(),
            other if *strings_only => Value::String(other.to_string()),
            other => other.clone(),
        };
        object_at(&mut doc, path).insert(key.clone(), value);
    }
    doc
}

/// Runs `check` on every fixture of `dir` with random insertions.
fn run_for_fixtures(dir: &str, check: fn(&str) -> Result<Value, String>) {
    for (name, text) in json_fixtures(dir) {
        let original: Value = serde_json::from_str(&text).unwrap();
        let mut places = Vec::new();
        objects(&original, &mut Vec::new(), &mut places);
        assert!(places.len() > 5, "{name}: too few objects to mutate");

        let mut runner =
            TestRunner::new(Config { cases: CASES_PER_FIXTURE, failure_persistence: None, ..Config::default() });
        let result = runner.run(&insertions(), |inserts| {
            let mutated = mutate(&original, &places, &inserts);
            let text = serde_json::to_string(&mutated).map_err(|e| TestCaseError::fail(e.to_string()))?;
            // Compare with the same text parsed as a plain value, so float parsing is identical on both sides.
            let expected: Value = serde_json::from_str(&text).map_err(|e| TestCaseError::fail(e.to_string()))?;
            let written = check(&text).map_err(TestCaseError::fail)?;
            prop_assert_eq!(written, expected);
            Ok(())
        });
        if let Err(e) = result {
            panic!("{dir}/{name}: {e}");
        }
    }
}

#[test]
fn findings_with_unknown_fields_round_trip() {
    run_for_fixtures("asff", |text| {
        let finding = parse_finding(text).map_err(|e| e.to_string())?;
        serde_json::to_value(&finding).map_err(|e| e.to_string())
    });
}

#[test]
fn events_with_unknown_fields_round_trip() {
    run_for_fixtures("events", |text| {
        let event = parse_event(text).map_err(|e| e.to_string())?;
        serde_json::to_value(&event).map_err(|e| e.to_string())
    });
}

#[test]
fn the_mutation_reaches_the_places_it_should() {
    let (_, text) = json_fixtures("asff").into_iter().find(|(n, _)| n.starts_with("securityhub-ec2-19")).unwrap();
    let doc: Value = serde_json::from_str(&text).unwrap();
    let mut places = Vec::new();
    objects(&doc, &mut Vec::new(), &mut places);
    let has = |want: &[&str]| {
        places.iter().any(|(p, _)| {
            p.len() == want.len()
                && p.iter().zip(want).all(|(s, w)| match s {
                    Step::Key(k) => k == w,
                    Step::Index(i) => i.to_string() == *w,
                })
        })
    };
    assert!(has(&[]));
    assert!(has(&["Severity"]));
    assert!(has(&["Compliance"]));
    assert!(has(&["Resources", "0"]));
    assert!(has(&["Resources", "0", "Details"]));
    assert!(has(&["Resources", "0", "Details", "AwsEc2SecurityGroup", "IpPermissions", "0"]));
    assert!(has(&["Compliance", "AssociatedStandards", "1"]));
    assert!(has(&["FindingProviderFields", "Severity"]));
    let string_maps: Vec<_> = places.iter().filter(|(_, s)| *s).map(|(p, _)| p.clone()).collect();
    assert_eq!(string_maps.len(), 2, "ProductFields and Resources[0].Tags: {string_maps:?}");
}
