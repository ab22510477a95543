//! The scratchpad contract: the initial document has exactly the agreed keys, and a document
//! written by any state reads back unchanged.

mod common;

use common::{fixture, fixture_value};
use secops_core::asff::{parse_finding, AsffError};
use secops_core::scratchpad::{
    Decision, PipelineFlags, Scratchpad, Tag, TicketRef, DEFAULT_ACTIONS_REQUIRED, DEFAULT_ACTIONS_TAKEN,
};
use serde_json::{json, Value};

fn initial() -> Scratchpad {
    let finding = parse_finding(&fixture("asff", "securityhub-ec2-19-security-group.json")).unwrap();
    Scratchpad::new(finding, &PipelineFlags { defer_team_fixes: true, ..PipelineFlags::default() })
}

#[test]
fn a_new_scratchpad_has_exactly_the_agreed_keys() {
    let v = serde_json::to_value(initial()).unwrap();
    let mut keys: Vec<&str> = v.as_object().unwrap().keys().map(String::as_str).collect();
    keys.sort_unstable();
    assert_eq!(
        keys,
        [
            "account",
            "actions",
            "db",
            "defer_autoremediations",
            "defer_incidents",
            "defer_team_fixes",
            "finding",
            "messages",
            "pipeline_enabled",
            "tags"
        ]
    );
    assert_eq!(v["pipeline_enabled"], json!(true));
    assert_eq!(v["defer_team_fixes"], json!(true));
    assert_eq!(v["defer_incidents"], json!(false));
    assert_eq!(
        v["actions"],
        json!({"suppress_finding": false, "autoremediation_not_done": false, "reconsider_later": false})
    );
    assert_eq!(v["messages"]["actions_taken"], json!("None."));
    assert_eq!(v["messages"]["actions_required"], json!(DEFAULT_ACTIONS_REQUIRED));
    assert_eq!(v["messages"]["ai"], json!({"plaintext": "", "html": ""}));
    assert_eq!(v["tags"], json!({"resource": []}));
    assert_eq!(v["db"], json!({}));
    assert_eq!(
        v["finding"],
        fixture_value("asff", "securityhub-ec2-19-security-group.json"),
        "finding is verbatim ASFF"
    );
    assert_eq!(DEFAULT_ACTIONS_TAKEN, "None.");
    assert!(DEFAULT_ACTIONS_REQUIRED.contains("infrastructure-as-code"));
}

#[test]
fn a_worked_scratchpad_round_trips() {
    let mut pad = initial();
    pad.account.id = Some("111122223333".into());
    pad.account.name = Some("payments-prod".into());
    pad.account.team_email = Some("payments-team@example.com".into());
    pad.account.environment = Some("production".into());
    pad.account.tags.insert("cost-center".into(), "4711".into());
    pad.account.extra.insert("SomethingLater".into(), json!({"x": [1, 2.5]}));
    pad.tags.resource.push(Tag { key: "team".into(), value: "payments".into() });
    pad.actions.autoremediation_not_done = true;
    pad.messages.actions_taken = "Revoked the 0.0.0.0/0 rule on port 3389.".into();
    pad.messages.extra.insert("email".into(), json!({"subject": "TEAM FIX: x", "body": "y", "html": ""}));
    pad.db.insert("enabled_controls".into(), json!({"Item": {"id": {"S": "111122223333#EC2.19"}}}));
    pad.decide(Decision::FailedControl, "control EC2.19 failed");
    pad.ticket = Some(TicketRef { open: true, id: "SEC-1301".into() });
    pad.penalty_score = Some(12.5);
    pad.error = Some(json!({"Error": "Transient", "Cause": "timeout"}));
    pad.extra.insert("incident".into(), json!({"type": "EC2", "terminate": false}));

    let v = serde_json::to_value(&pad).unwrap();
    assert_eq!(v["decision"], json!("failed_control"));
    assert_eq!(v["decision_reason"], json!("control EC2.19 failed"));
    assert_eq!(v["ticket"], json!({"open": true, "id": "SEC-1301"}));
    assert_eq!(v["tags"]["resource"], json!([{"Key": "team", "Value": "payments"}]));
    assert_eq!(v["incident"]["type"], json!("EC2"), "unknown keys stay at the top level");

    let back = Scratchpad::from_value(&v).unwrap();
    assert_eq!(back, pad);
    assert_eq!(serde_json::to_value(&back).unwrap(), v);
    let text = serde_json::to_string(&pad).unwrap();
    assert_eq!(Scratchpad::from_json(&text).unwrap(), pad);
}

#[test]
fn decisions_are_snake_case_names() {
    let names: Vec<String> = Decision::ALL.iter().map(|d| serde_json::to_value(d).unwrap().to_string()).collect();
    assert_eq!(
        names,
        [r#""do_nothing""#, r#""suppress""#, r#""close_ticket""#, r#""failed_control""#, r#""incident""#]
    );
    for d in Decision::ALL {
        assert_eq!(d.as_str().parse::<Decision>().unwrap(), *d);
    }
}

#[test]
fn a_bad_scratchpad_names_the_path() {
    let mut v = serde_json::to_value(initial()).unwrap();
    v["decision"] = json!("suppress_finding");
    let err = Scratchpad::from_value(&v).unwrap_err();
    assert_eq!(err.path(), "decision");
    assert!(err.to_string().contains("unknown variant `suppress_finding`"), "{err}");

    let mut v = serde_json::to_value(initial()).unwrap();
    v["finding"]["Severity"]["Label"] = json!("SEVERE");
    assert_eq!(Scratchpad::from_value(&v).unwrap_err().path(), "finding.Severity.Label");

    let mut v = serde_json::to_value(initial()).unwrap();
    v["pipeline_enabled"] = json!("Yes");
    let err = Scratchpad::from_value(&v).unwrap_err();
    assert_eq!(err.to_string(), r#"pipeline_enabled: invalid type: string "Yes", expected a boolean"#);

    let mut v = serde_json::to_value(initial()).unwrap();
    v.as_object_mut().unwrap().remove("finding");
    assert!(matches!(Scratchpad::from_value(&v), Err(AsffError::Shape { .. })));
    assert_eq!(Scratchpad::from_value(&v).unwrap_err().to_string(), "finding: required field is missing");
}

#[test]
fn sparse_sections_from_other_states_get_defaults() {
    let finding = fixture_value("asff", "guardduty-backdoor-c2-dns.json");
    let v = json!({
        "pipeline_enabled": true,
        "defer_incidents": false,
        "defer_autoremediations": false,
        "defer_team_fixes": false,
        "finding": finding,
        "account": {"id": "111122223333", "account_new": true},
        "actions": {"reconsider_later": true},
        "penalty_score": 7,
    });
    let pad = Scratchpad::from_value(&v).unwrap();
    assert!(pad.account.account_new);
    assert!(pad.actions.reconsider_later && !pad.actions.suppress_finding);
    assert_eq!(pad.messages.actions_taken, DEFAULT_ACTIONS_TAKEN);
    assert_eq!(pad.penalty_score, Some(7.0));
    assert!(pad.db.is_empty() && pad.tags.resource.is_empty());
    let _: Value = serde_json::to_value(&pad).unwrap();
}
