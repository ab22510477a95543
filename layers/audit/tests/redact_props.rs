//! Properties that hold for any input: redaction never panics, detections are well-formed,
//! and a redacted text contains none of the values that were redacted.
//!
//! The fuzzing run: `PROPTEST_CASES=200000 cargo test --release -p secops-audit --test redact_props`
//! (each property runs that many cases).

use proptest::prelude::*;
use secops_audit::redact::{Category, CorrelationKey, Destination, Policy, Redactor, Rule, Strategy as Redaction};
use serde_json::Value;

/// Pieces of every sensitive shape and of the separators around them, so random
/// concatenations land on and around the detectors' edge cases.
const FRAGMENTS: &[&str] = &[
    "alice@example.com",
    "@",
    ".",
    "-",
    " ",
    "\n",
    "\r\n",
    "\t",
    ":",
    "::",
    "=",
    "\"",
    "'",
    "\\",
    "\\n",
    "/",
    "+",
    "(",
    ")",
    "+44 20 7946 0958",
    "(212) 555-0147",
    "+1",
    "555-",
    "10.0.0.1",
    "255.",
    "999.1.1.1",
    "2001:db8::",
    "::ffff:",
    "fe80::1",
    "123-45-6789",
    "078 05 1120",
    "4111 1111 1111 1111",
    "4111",
    "378282246310005",
    "DOB: ",
    "born on ",
    "1985-03-12",
    "March 3, 1985",
    "Driver's License: ",
    "DL# ",
    "D1234567",
    "AKIAIOSFODNN7EXAMPLE",
    "AKIA",
    "aws_secret_access_key=",
    "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
    "api_key=",
    "token: ",
    "x-api-key: ",
    "client_secret=",
    "sk_test_4eC39HqLyjWDarjtT1zdp7dc",
    "Authorization: Bearer ",
    "bearer ",
    "Basic ",
    "eyJhbGciOiJIUzI1NiJ9",
    "eyJ",
    ".eyJzdWIiOiIxIn0.",
    "sig_abc123",
    "-----BEGIN RSA PRIVATE KEY-----",
    "-----END RSA PRIVATE KEY-----",
    "-----BEGIN PRIVATE KEY-----",
    "MIIEowIBAAKCAQEA",
    "password=",
    "passwd: ",
    "\"password\": \"",
    "pwd=",
    "postgres://app:",
    "@db:5432",
    "xoxb-123456789012-abcdef",
    "xapp-",
    "https://hooks.slack.com/services/",
    "T04F8JQ2L/B06KQ7ZP1RM/qW3rT8yU",
    "ghp_",
    "1A2b3C4d5E6f7G8h9I0jK1l2M3n4O5p6Q7r8",
    "github_pat_",
    "é",
    "ü",
    "日本",
    "📧",
    "\u{200b}",
    "\u{0}",
    "ǅ",
    "İ",
    "K",
];

fn fragments() -> impl Strategy<Value = String> {
    prop::collection::vec(prop::sample::select(FRAGMENTS), 0..48).prop_map(|parts| parts.concat())
}

fn any_strategy() -> impl Strategy<Value = Rule> {
    prop_oneof![
        Just(Rule::Keep),
        Just(Rule::Redact(Redaction::Remove)),
        (0usize..8).prop_map(|keep| Rule::Redact(Redaction::Mask { keep })),
        Just(Rule::Redact(Redaction::Hash)),
        Just(Rule::Redact(Redaction::CorrelationHash)),
        (0usize..8).prop_map(|keep| Rule::Redact(Redaction::Truncate { keep })),
        ".{0,6}".prop_map(|label| Rule::Redact(Redaction::Replace { label: Some(label) })),
        Just(Rule::Redact(Redaction::replace())),
    ]
}

fn any_policy() -> impl Strategy<Value = Policy> {
    (prop::sample::select(Destination::ALL.to_vec()), prop::collection::vec(any_strategy(), Category::ALL.len()))
        .prop_map(|(destination, rules)| {
            let mut policy = Policy::default_for(destination);
            for (category, rule) in Category::ALL.into_iter().zip(rules) {
                policy.set(category, rule);
            }
            policy
        })
}

fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<f64>().prop_filter("finite", |f| f.is_finite()).prop_map(Value::from),
        any::<String>().prop_map(Value::String),
        fragments().prop_map(Value::String),
    ];
    let key = prop_oneof![
        any::<String>(),
        prop::sample::select(vec!["password", "Client-Secret", "token", "api_key", "user", "ip", "Authorization"])
            .prop_map(str::to_owned),
    ];
    leaf.prop_recursive(4, 64, 8, move |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..8).prop_map(Value::Array),
            prop::collection::vec((key.clone(), inner), 0..8).prop_map(|kv| Value::Object(kv.into_iter().collect())),
        ]
    })
}

/// Detections are sorted, non-overlapping, non-empty and on character boundaries.
fn check_detections(redactor: &Redactor, text: &str) -> Result<(), TestCaseError> {
    let detections = redactor.detect(text);
    let mut previous_end = 0;
    for d in &detections {
        prop_assert!(d.start < d.end && d.end <= text.len(), "{d:?} in {} bytes", text.len());
        prop_assert!(d.start >= previous_end, "overlap or disorder at {d:?}");
        prop_assert!(text.is_char_boundary(d.start) && text.is_char_boundary(d.end), "{d:?} splits a character");
        previous_end = d.end;
    }
    Ok(())
}

proptest! {
    #[test]
    fn arbitrary_unicode_never_panics(text in "(?s).{0,600}", policy in any_policy()) {
        let redactor = Redactor::new(policy, CorrelationKey::new([9; 32]));
        check_detections(&redactor, &text)?;
        let _ = redactor.redact_text(&text);
    }

    #[test]
    fn sensitive_fragments_never_panic_and_never_survive_full_redaction(text in fragments(), policy in any_policy()) {
        let redactor = Redactor::new(policy, CorrelationKey::new([9; 32]));
        check_detections(&redactor, &text)?;
        let _ = redactor.redact_text(&text);

        // With every category replaced by a label no value contains, a detected value that
        // occurs once in the input does not occur in the output.
        let full = Category::ALL
            .into_iter()
            .fold(Policy::default_for(Destination::Audit), |p, c| p.with(c, Rule::Redact(Redaction::replace_with("\u{1}"))));
        let full = Redactor::new(full, CorrelationKey::new([9; 32]));
        let out = full.redact_text(&text);
        for d in full.detect(&text) {
            let value = &text[d.range()];
            if text.matches(value).count() == 1 {
                prop_assert!(!out.contains(value), "{value:?} survived in {out:?}");
            }
        }
    }

    #[test]
    fn arbitrary_json_never_panics_and_keeps_its_shape(value in json_value(), policy in any_policy()) {
        let redactor = Redactor::new(policy, CorrelationKey::new([9; 32]));
        let out = redactor.redact_json(&value);
        prop_assert_eq!(shape(&value), shape(&out));
    }
}

/// The JSON structure with leaves reduced to "a leaf": redaction may turn a number under a
/// secret-named key into a string, but never adds or drops keys or elements.
fn shape(value: &Value) -> Value {
    match value {
        Value::Array(items) => Value::Array(items.iter().map(shape).collect()),
        Value::Object(map) => Value::Object(map.iter().map(|(k, v)| (k.clone(), shape(v))).collect()),
        _ => Value::Null,
    }
}
