//! Every routing rule of decide, table-driven, with real-shaped ASFF (the core crate's fixtures,
//! varied field by field) over the PostgreSQL state store.

mod common;

use common::harness::*;
use secops_core::scratchpad::{Decision, PipelineFlags};
use secops_soar::decide::{decide, DecideInput, EventRef};
use secops_soar::policy::Policy;
use secops_soar::state::{EnabledControls, TicketKind, TicketRecord};
use serde_json::{json, Value};

fn input(finding: Value, execution: &str) -> DecideInput {
    DecideInput {
        finding,
        event: EventRef { id: "evt-1".into(), time: "2026-03-04T09:00:00Z".into() },
        index: Some(0),
        execution_id: Some(execution.into()),
    }
}

/// One routing case: the finding, and what decide must answer.
struct Case {
    name: &'static str,
    finding: Value,
    decision: Decision,
    reason: &'static str,
}

fn guardduty(asff_type: &str) -> Value {
    with(fixture("guardduty-backdoor-c2-dns"), "/Types", json!([asff_type]))
}

fn cases() -> Vec<Case> {
    let notified_ticketed = |f: Value| {
        let f = with(f, "/Workflow/Status", "NOTIFIED".into());
        with(f, "/UserDefinedFields", json!({"TicketOpen": "Yes", "TicketId": "PAY-17"}))
    };
    vec![
        Case {
            name: "failed control",
            finding: failed_control(PROD),
            decision: Decision::FailedControl,
            reason: "control EC2.19 failed: ticket the team",
        },
        Case {
            name: "control without compliance status counts as failed",
            finding: without(failed_control(PROD), "Compliance"),
            decision: Decision::FailedControl,
            reason: "control EC2.19 failed",
        },
        Case {
            name: "control passed",
            finding: with(failed_control(PROD), "/Compliance/Status", "PASSED".into()),
            decision: Decision::DoNothing,
            reason: "control EC2.19 passed",
        },
        Case {
            name: "control warning",
            finding: with(failed_control(PROD), "/Compliance/Status", "WARNING".into()),
            decision: Decision::Suppress,
            reason: "compliance WARNING",
        },
        Case {
            name: "control not available",
            finding: with(failed_control(PROD), "/Compliance/Status", "NOT_AVAILABLE".into()),
            decision: Decision::Suppress,
            reason: "compliance NOT_AVAILABLE",
        },
        Case {
            name: "already notified",
            finding: with(failed_control(PROD), "/Workflow/Status", "NOTIFIED".into()),
            decision: Decision::DoNothing,
            reason: "already notified",
        },
        Case {
            name: "notified then passed, ticket in the finding",
            finding: with(notified_ticketed(failed_control(PROD)), "/Compliance/Status", "PASSED".into()),
            decision: Decision::CloseTicket,
            reason: "notified and its control now passes; its ticket PAY-17 is still open",
        },
        Case {
            name: "notified then passed fixture with its ticket",
            finding: fixture("resolved-notified-passed-ec2-13"),
            decision: Decision::CloseTicket,
            reason: "its ticket SEC-1201 is still open",
        },
        Case {
            name: "notified then passed without a ticket",
            finding: without(fixture("resolved-notified-passed-ec2-13"), "UserDefinedFields"),
            decision: Decision::DoNothing,
            reason: "no ticket is open",
        },
        Case {
            name: "archived with an open ticket",
            finding: with(
                fixture("archived-ec2-18"),
                "/UserDefinedFields",
                json!({"TicketOpen": "Yes", "TicketId": "PAY-9"}),
            ),
            decision: Decision::CloseTicket,
            reason: "archived; its ticket PAY-9",
        },
        Case {
            name: "archived without ticket",
            finding: without(fixture("archived-ec2-18"), "UserDefinedFields"),
            decision: Decision::DoNothing,
            reason: "archived; no ticket is open",
        },
        Case {
            name: "suppressed with a ticket that says closed",
            finding: with(
                with(failed_control(PROD), "/Workflow/Status", "SUPPRESSED".into()),
                "/UserDefinedFields",
                json!({"TicketOpen": "No", "TicketId": "PAY-3"}),
            ),
            decision: Decision::DoNothing,
            reason: "SUPPRESSED; no ticket is open",
        },
        Case {
            name: "resolved with an open ticket",
            finding: with(notified_ticketed(failed_control(PROD)), "/Workflow/Status", "RESOLVED".into()),
            decision: Decision::CloseTicket,
            reason: "RESOLVED; its ticket PAY-17",
        },
        Case {
            name: "guardduty ec2",
            finding: fixture("guardduty-backdoor-c2-dns"),
            decision: Decision::Incident,
            reason: "ec2 incident Backdoor:EC2/C&CActivity.B!DNS",
        },
        Case {
            name: "guardduty iam",
            finding: guardduty("TTPs/Discovery/Recon:IAMUser-MaliciousIPCaller"),
            decision: Decision::Incident,
            reason: "iam incident Recon:IAMUser/MaliciousIPCaller",
        },
        Case {
            name: "guardduty s3",
            finding: guardduty("Effects/Data Exfiltration/Exfiltration:S3-AnomalousBehavior"),
            decision: Decision::Incident,
            reason: "s3 incident",
        },
        Case {
            name: "guardduty kubernetes",
            finding: guardduty("TTPs/Credential Access/CredentialAccess:Kubernetes-MaliciousIPCaller"),
            decision: Decision::Incident,
            reason: "kubernetes incident",
        },
        Case {
            name: "guardduty runtime",
            finding: guardduty("TTPs/Execution/Execution:Runtime-NewBinaryExecuted"),
            decision: Decision::Incident,
            reason: "runtime incident",
        },
        Case {
            name: "guardduty malware protection",
            finding: guardduty("TTPs/Execution/Execution:EC2-MaliciousFile"),
            decision: Decision::Incident,
            reason: "malware incident",
        },
        Case {
            name: "guardduty rds",
            finding: guardduty("TTPs/Credential Access/CredentialAccess:RDS-AnomalousBehavior.SuccessfulLogin"),
            decision: Decision::Incident,
            reason: "rds incident",
        },
        Case {
            name: "guardduty lambda",
            finding: guardduty("TTPs/Command and Control/Backdoor:Lambda-C&CActivity.B"),
            decision: Decision::Incident,
            reason: "lambda incident",
        },
        Case {
            name: "inspector vulnerability",
            finding: with(fixture("inspector-cve-ec2"), "/AwsAccountId", PROD.into()),
            decision: Decision::DoNothing,
            reason: "analysed by the daily triage",
        },
        Case {
            name: "cloudwatch alarm",
            finding: cloudwatch_alarm(PROD, "INFRA-payments-5xx-HIGH"),
            decision: Decision::Incident,
            reason: "operational incident INFRA-payments-5xx-HIGH",
        },
        Case {
            name: "aws health",
            finding: with(fixture("health-ec2-operational-notification"), "/AwsAccountId", PROD.into()),
            decision: Decision::Incident,
            reason: "operational incident",
        },
        Case {
            name: "macie",
            finding: with(fixture("macie-sensitive-data-s3"), "/AwsAccountId", PROD.into()),
            decision: Decision::Incident,
            reason: "threat incident",
        },
        Case {
            name: "crowdstrike detection",
            finding: with(fixture("crowdstrike-falcon-detection"), "/AwsAccountId", PROD.into()),
            decision: Decision::Incident,
            reason: "threat incident",
        },
        Case {
            name: "new account defers a failed control",
            finding: failed_control(NEW),
            decision: Decision::DoNothing,
            reason: "joined the organization less than",
        },
        Case {
            name: "untagged account is decided and says what is missing",
            finding: failed_control(UNTAGGED),
            decision: Decision::FailedControl,
            reason: "has no secops:environment or secops:team tag",
        },
    ]
}

#[tokio::test]
async fn every_routing_rule() {
    let h = Harness::new().await;
    let mut failures = Vec::new();
    for (i, case) in cases().into_iter().enumerate() {
        // A distinct finding id per case, so no case sees another's claim.
        let id = format!("{}-case-{i}", case.finding["Id"].as_str().unwrap());
        let finding = with(case.finding, "/Id", id.into());
        match decide(&h.soar, input(finding, &format!("exec-{i}"))).await {
            Ok(pad) => {
                let reason = pad.decision_reason.clone().unwrap_or_default();
                if pad.decision != Some(case.decision) || !reason.contains(case.reason) {
                    failures.push(format!(
                        "{}: got {:?} '{reason}', want {:?} '…{}…'",
                        case.name, pad.decision, case.decision, case.reason
                    ));
                }
            }
            Err(e) => failures.push(format!("{}: error {e}", case.name)),
        }
    }
    assert!(failures.is_empty(), "{} cases failed:\n{}", failures.len(), failures.join("\n"));
}

#[tokio::test]
async fn failed_control_is_scored_by_environment() {
    let h = Harness::new().await;
    let prod = decide(&h.soar, input(failed_control(PROD), "e1")).await.unwrap();
    assert_eq!(prod.penalty_score, Some(22.5), "CRITICAL (90) → 2.25 × PROD 10");
    assert_eq!(prod.extra["environment"], "PROD");
    assert_eq!(prod.account.team.as_deref(), Some("payments"));
    assert_eq!(prod.actions.extra["remediable"], json!(false));
    let staging = with(failed_control(STAGING), "/Id", "staging-copy".into());
    let staging = decide(&h.soar, input(staging, "e2")).await.unwrap();
    assert_eq!(staging.penalty_score, Some(4.5), "UAT is a STAGING name: 2.25 × 2");
}

#[tokio::test]
async fn switches_turn_routes_off() {
    let off = Harness::with(Policy::built_in(), PipelineFlags { pipeline_enabled: false, ..Default::default() }).await;
    let pad = decide(&off.soar, input(failed_control(PROD), "e")).await.unwrap();
    assert_eq!(pad.decision, Some(Decision::DoNothing));
    assert!(pad.decision_reason.unwrap().contains("switched off"));

    let deferred =
        Harness::with(Policy::built_in(), PipelineFlags { defer_incidents: true, ..Default::default() }).await;
    let pad = decide(&deferred.soar, input(fixture("guardduty-backdoor-c2-dns"), "e")).await.unwrap();
    assert_eq!(pad.decision, Some(Decision::DoNothing));
    assert!(pad.decision_reason.unwrap().contains("incidents are deferred"));
}

#[tokio::test]
async fn a_ticket_known_only_to_the_state_store_is_closed() {
    let h = Harness::new().await;
    let finding = with(fixture("archived-ec2-18"), "/AwsAccountId", PROD.into());
    let finding = without(finding, "UserDefinedFields");
    let id = finding["Id"].as_str().unwrap().to_owned();
    let ticket = TicketRecord {
        finding_id: id,
        ticket_id: "LOCAL-0A1B2C3D4E".into(),
        kind: TicketKind::Team,
        account_id: PROD.into(),
        control_id: Some("EC2.18".into()),
        title: "t".into(),
        severity: "HIGH".into(),
        environment: Some("PROD".into()),
        team: None,
        penalty_score: 16.9,
        opened_at: T0 - time::Duration::days(2),
        closed_at: None,
        reminders: vec![],
        expires_at: None,
    };
    assert!(h.soar.store.insert_ticket(&ticket).await.unwrap());
    let pad = decide(&h.soar, input(finding, "e")).await.unwrap();
    assert_eq!(pad.decision, Some(Decision::CloseTicket));
    assert_eq!(pad.ticket.unwrap().id, "LOCAL-0A1B2C3D4E");
}

#[tokio::test]
async fn a_disabled_control_is_suppressed_and_a_never_synced_account_is_not() {
    let h = Harness::new().await;
    let never_synced = decide(&h.soar, input(failed_control(PROD), "e1")).await.unwrap();
    assert_eq!(never_synced.decision, Some(Decision::FailedControl));

    let synced = EnabledControls {
        account_id: PROD.into(),
        region: "us-east-1".into(),
        controls: ["EC2.2".to_owned(), "S3.8".to_owned()].into(),
        synced_at: T0,
    };
    h.soar.store.put_enabled_controls(&synced).await.unwrap();
    let f = with(failed_control(PROD), "/UpdatedAt", "2026-03-04T08:00:00.000Z".into());
    let pad = decide(&h.soar, input(f, "e2")).await.unwrap();
    assert_eq!(pad.decision, Some(Decision::Suppress));
    assert!(pad.decision_reason.unwrap().contains("control EC2.19 is disabled in 111122223333/us-east-1"));
}

#[tokio::test]
async fn suppression_rules_from_the_policy() {
    let yaml = format!(
        "{}\nsuppressions:\n  - id: prod-bastions\n    control: EC2.19\n    action: suppress\n    reason: Bastions are fronted by the VPN\n    when:\n      environment: [PROD]\n      resource_tags: {{Name: bastion-rdp}}\n  - id: recon-in-sandboxes\n    incident_type: \"Backdoor:EC2/*\"\n    action: suppress\n    reason: Sandboxes run red-team tooling\n    when:\n      ou: [Prod]\n",
        secops_soar::policy::BUILT_IN_YAML.split("\nsuppressions:").next().unwrap()
    );
    let policy = Policy::from_yaml(&yaml, "test policy").unwrap();
    let h = Harness::with(policy, PipelineFlags::default()).await;
    let pad = decide(&h.soar, input(failed_control(PROD), "e1")).await.unwrap();
    assert_eq!(pad.decision, Some(Decision::Suppress), "{:?}", pad.decision_reason);
    assert!(pad.decision_reason.unwrap().starts_with("suppression rule 'prod-bastions' (line"));
    // The same control in staging matches no rule.
    let staging = with(failed_control(STAGING), "/Id", "staging-ec2-19".into());
    let staging = decide(&h.soar, input(staging, "e2")).await.unwrap();
    assert_eq!(staging.decision, Some(Decision::FailedControl));
    let gd = decide(&h.soar, input(fixture("guardduty-backdoor-c2-dns"), "e3")).await.unwrap();
    assert_eq!(gd.decision, Some(Decision::Suppress));
    assert!(gd.decision_reason.unwrap().contains("recon-in-sandboxes"));
}

#[tokio::test]
async fn an_unknown_account_is_a_permanent_error_and_never_a_silent_drop() {
    let h = Harness::new().await;
    let err = decide(&h.soar, input(failed_control("999999999999"), "e")).await.unwrap_err();
    assert_eq!(err.class(), secops_core::ErrorClass::Permanent);
    assert!(err.to_string().contains("account 999999999999 is not a member of the organization"), "{err}");
    // The claim was released: once the account exists, a retry decides normally.
    let key = secops_soar::state::ClaimKey::new(
        failed_control("999999999999")["Id"].as_str().unwrap(),
        "decide",
        "2026-03-04T07:58:09.117Z",
    );
    let claim = h.soar.store.claim(&key, "someone-else", T0, std::time::Duration::from_secs(60)).await.unwrap();
    assert_eq!(claim, secops_soar::state::Claim::Acquired);
}

#[tokio::test]
async fn a_malformed_finding_becomes_a_dead_letter_with_its_parse_error() {
    let h = Harness::new().await;
    let bad = with(failed_control(PROD), "/Severity/Label", "SEVERE".into());
    let err = decide(&h.soar, DecideInput { index: Some(3), ..input(bad.clone(), "e") }).await.unwrap_err();
    assert_eq!(err.class(), secops_core::ErrorClass::InvalidInput);
    assert!(err.to_string().contains("Severity.Label"), "{err}");
    let letters = h.soar.store.dead_letters(10).await.unwrap();
    assert_eq!(letters.len(), 1);
    assert_eq!(letters[0].id, "evt-1#3");
    assert_eq!(letters[0].raw, bad);
    assert!(letters[0].error.contains("Severity.Label"));
}

#[tokio::test]
async fn replays_are_recognised_and_retries_get_the_same_answer() {
    let h = Harness::new().await;
    let first = decide(&h.soar, input(failed_control(PROD), "exec-a")).await.unwrap();
    assert_eq!(first.decision, Some(Decision::FailedControl));
    // The same execution retrying (a lost Lambda reply) gets its own answer again.
    let retry = decide(&h.soar, input(failed_control(PROD), "exec-a")).await.unwrap();
    assert_eq!(retry, first);
    // Another execution with the same finding version is a duplicate delivery.
    let replay = decide(&h.soar, input(failed_control(PROD), "exec-b")).await.unwrap();
    assert_eq!(replay.decision, Some(Decision::DoNothing));
    assert!(replay.decision_reason.unwrap().contains("duplicate delivery"));
    // A new version of the finding is decided afresh.
    let newer = with(failed_control(PROD), "/UpdatedAt", "2026-03-05T07:58:09.117Z".into());
    let next = decide(&h.soar, input(newer, "exec-c")).await.unwrap();
    assert_eq!(next.decision, Some(Decision::FailedControl));
}
