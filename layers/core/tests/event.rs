//! The EventBridge envelope: all findings are taken, and what is not a Security Hub findings
//! event is refused with a message that says what and where.

mod common;

use common::{fixture, fixture_value};
use secops_core::asff::{AsffError, Product};
use secops_core::error::ErrorClass;
use secops_core::event::{parse_event, parse_event_value, FindingsDetailType, SecurityHubFindingsImported};
use serde_json::{json, Value};

#[test]
fn an_event_with_three_findings_yields_all_three() {
    let text = fixture("events", "imported-3-findings.json");
    let event = parse_event(&text).unwrap();
    assert_eq!(event.detail_type, FindingsDetailType::Imported);
    assert_eq!(event.account, "111122223333");
    assert_eq!(event.findings().len(), 3);
    let products: Vec<Product> = event.findings().iter().map(|f| f.product()).collect();
    assert_eq!(
        products,
        [
            Product::SecurityHubControl,
            Product::GuardDuty,
            Product::ThirdParty { company: "CrowdStrike".into(), product: "CrowdStrike Falcon".into() }
        ]
    );
    assert_eq!(event.resources.len(), 3);
    let ids: Vec<String> = event.into_findings().into_iter().map(|f| f.id).collect();
    assert!(ids[1].starts_with("arn:aws:guardduty:"), "{ids:?}");
    assert!(ids[2].starts_with("ldt:"), "{ids:?}");
}

#[test]
fn events_round_trip_exactly() {
    for name in ["imported-3-findings.json", "imported-1-finding.json"] {
        let original = fixture_value("events", name);
        let event = parse_event_value(&original).unwrap();
        assert_eq!(serde_json::to_value(&event).unwrap(), original, "{name}");
        assert!(event.validate().is_ok());
    }
    let one = parse_event(&fixture("events", "imported-1-finding.json")).unwrap();
    assert_eq!(one.findings().len(), 1);
    assert_eq!(one.findings()[0].control_id().map(|c| c.to_string()).as_deref(), Some("S3.8"));
}

fn expect_wrong_event(v: &Value) -> (String, String) {
    match parse_event_value(v) {
        Err(AsffError::WrongEvent { problem }) => (problem.path, problem.message),
        other => panic!("expected WrongEvent, got {other:?}"),
    }
}

#[test]
fn an_empty_findings_array_is_refused() {
    let mut v = fixture_value("events", "imported-1-finding.json");
    v["detail"]["findings"] = json!([]);
    let (path, message) = expect_wrong_event(&v);
    assert_eq!(path, "detail.findings");
    assert_eq!(message, "the event carries no findings (expected at least one)");
    let err = parse_event_value(&v).unwrap_err();
    assert_eq!(err.class(), ErrorClass::InvalidInput);
    assert_eq!(
        err.to_string(),
        "not a Security Hub findings event: detail.findings: the event carries no findings (expected at least one)"
    );
}

#[test]
fn another_source_is_refused() {
    let mut v = fixture_value("events", "imported-1-finding.json");
    v["source"] = json!("aws.guardduty");
    assert_eq!(expect_wrong_event(&v), ("source".into(), r#"expected "aws.securityhub", got "aws.guardduty""#.into()));
    v.as_object_mut().unwrap().remove("source");
    assert_eq!(expect_wrong_event(&v), ("source".into(), "required field is missing".into()));
}

#[test]
fn another_detail_type_is_refused() {
    let mut v = fixture_value("events", "imported-1-finding.json");
    v["detail-type"] = json!("GuardDuty Finding");
    let (path, message) = expect_wrong_event(&v);
    assert_eq!(path, "detail-type");
    assert_eq!(
        message,
        r#"expected "Security Hub Findings - Imported" or "Security Hub Findings - Custom Action", got "GuardDuty Finding""#
    );

    v["detail-type"] = json!("Findings Imported V2");
    let (_, message) = expect_wrong_event(&v);
    assert!(message.contains("OCSF"), "{message}");

    v["detail-type"] = json!(7);
    let (_, message) = expect_wrong_event(&v);
    assert!(message.ends_with("got a number"), "{message}");

    assert!(matches!(parse_event("[]"), Err(AsffError::WrongEvent { .. })));
    assert!(matches!(parse_event("{"), Err(AsffError::Syntax { .. })));
}

#[test]
fn custom_action_events_are_accepted() {
    let mut v = fixture_value("events", "imported-1-finding.json");
    v["detail-type"] = json!("Security Hub Findings - Custom Action");
    v["detail"]["actionName"] = json!("SendToSecOps");
    v["detail"]["actionDescription"] = json!("Send the finding to the SecOps pipeline");
    let event = parse_event_value(&v).unwrap();
    assert_eq!(event.detail_type, FindingsDetailType::CustomAction);
    assert_eq!(event.detail.action_name.as_deref(), Some("SendToSecOps"));
    assert_eq!(serde_json::to_value(&event).unwrap(), v);
}

#[test]
fn a_bad_finding_is_named_by_its_index() {
    let mut v = fixture_value("events", "imported-3-findings.json");
    v["detail"]["findings"][2]["AwsAccountId"] = json!("11112222333");
    let err = parse_event_value(&v).unwrap_err();
    assert_eq!(err.path(), "detail.findings[2].AwsAccountId");
    assert!(err.to_string().starts_with("detail.findings[2].AwsAccountId: must be 12 digits"), "{err}");

    let mut v = fixture_value("events", "imported-3-findings.json");
    v["detail"]["findings"][1]["Severity"]["Label"] = json!("SEVERE");
    let err = parse_event_value(&v).unwrap_err();
    assert_eq!(err.path(), "detail.findings[1].Severity.Label");

    let mut v = fixture_value("events", "imported-3-findings.json");
    v["detail"]["findings"][0].as_object_mut().unwrap().remove("UpdatedAt");
    assert_eq!(
        parse_event_value(&v).unwrap_err().to_string(),
        "detail.findings[0].UpdatedAt: required field is missing"
    );

    let mut v = fixture_value("events", "imported-3-findings.json");
    v["detail"].as_object_mut().unwrap().remove("findings");
    assert_eq!(parse_event_value(&v).unwrap_err().to_string(), "detail.findings: required field is missing");
}

#[test]
fn validate_checks_the_envelope_and_prefixes_finding_paths() {
    let mut event: SecurityHubFindingsImported =
        serde_json::from_value(fixture_value("events", "imported-3-findings.json")).unwrap();
    event.account = "not-an-account".into();
    event.time = "now".into();
    event.detail.findings[0].title = String::new();
    event.detail.findings[2].resources.clear();
    let problems = event.validate().unwrap_err();
    let paths: Vec<&str> = problems.iter().map(|p| p.path.as_str()).collect();
    assert_eq!(paths, ["account", "time", "detail.findings[0].Title", "detail.findings[2].Resources"]);
}
