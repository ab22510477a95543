//! Every ASFF fixture parses, validates, writes back unchanged, and is classified as expected;
//! every invalid fixture fails with the expected path and message.

mod common;

use common::{fixture, fixture_value, json_fixtures};
use secops_core::asff::{
    parse_finding, parse_finding_value, AsffError, AwsSecurityFinding, ComplianceStatus, ControlId, Product,
    RecordState, ResourceType, SeverityLabel, Workflow, WorkflowStatus,
};
use secops_core::error::ErrorClass;
use serde_json::{json, Value};

#[test]
fn every_fixture_round_trips_exactly() {
    for (name, text) in json_fixtures("asff") {
        let original: Value = serde_json::from_str(&text).unwrap();
        let finding = parse_finding(&text).unwrap_or_else(|e| panic!("{name}: {e}"));
        let written = serde_json::to_value(&finding).unwrap();
        assert_eq!(written, original, "{name} changed on the way through");

        let from_value = parse_finding_value(&original).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(from_value, finding, "{name}: text and value parsing disagree");

        // Typed fields must really be typed, not swallowed by the catch-all map.
        for typed in ["Id", "Severity", "Resources", "Types", "UpdatedAt", "Workflow", "ProductFields"] {
            assert!(!finding.extra.contains_key(typed), "{name}: {typed} ended up in extra");
        }
    }
}

struct Expected {
    file: &'static str,
    product: Product,
    control: Option<&'static str>,
    severity: SeverityLabel,
    resolved: bool,
    resource: ResourceType,
    account: &'static str,
}

fn expectations() -> Vec<Expected> {
    use ResourceType::*;
    let e = |file, product, control, severity, resolved, resource, account| Expected {
        file,
        product,
        control,
        severity,
        resolved,
        resource,
        account,
    };
    vec![
        e(
            "access-analyzer-external-access-s3.json",
            Product::IamAccessAnalyzer,
            None,
            SeverityLabel::Low,
            false,
            AwsS3Bucket,
            "111122223333",
        ),
        e(
            "archived-ec2-18.json",
            Product::SecurityHubControl,
            Some("EC2.18"),
            SeverityLabel::High,
            true,
            AwsEc2SecurityGroup,
            "111122223333",
        ),
        e(
            "crowdstrike-falcon-detection.json",
            Product::ThirdParty { company: "CrowdStrike".into(), product: "CrowdStrike Falcon".into() },
            None,
            SeverityLabel::High,
            false,
            AwsEc2Instance,
            "111122223333",
        ),
        e(
            "guardduty-backdoor-c2-dns.json",
            Product::GuardDuty,
            None,
            SeverityLabel::High,
            false,
            AwsEc2Instance,
            "111122223333",
        ),
        e(
            "health-ec2-operational-notification.json",
            Product::Health,
            None,
            SeverityLabel::High,
            false,
            AwsAccount,
            "444455556666",
        ),
        e(
            "inspector-cve-ec2.json",
            Product::Inspector,
            None,
            SeverityLabel::High,
            false,
            AwsEc2Instance,
            "444455556666",
        ),
        e(
            "macie-sensitive-data-s3.json",
            Product::Macie,
            None,
            SeverityLabel::High,
            false,
            AwsS3Bucket,
            "111122223333",
        ),
        e(
            "resolved-notified-passed-ec2-13.json",
            Product::SecurityHubControl,
            Some("EC2.13"),
            SeverityLabel::Informational,
            true,
            AwsEc2SecurityGroup,
            "444455556666",
        ),
        e(
            "securityhub-ec2-19-security-group.json",
            Product::SecurityHubControl,
            Some("EC2.19"),
            SeverityLabel::Critical,
            false,
            AwsEc2SecurityGroup,
            "111122223333",
        ),
        e(
            "securityhub-s3-8-bucket.json",
            Product::SecurityHubControl,
            Some("S3.8"),
            SeverityLabel::High,
            false,
            AwsS3Bucket,
            "444455556666",
        ),
    ]
}

#[test]
fn every_fixture_is_classified_as_expected() {
    let expected = expectations();
    let files: Vec<String> = json_fixtures("asff").into_iter().map(|(name, _)| name).collect();
    let listed: Vec<&str> = expected.iter().map(|e| e.file).collect();
    assert_eq!(files, listed, "every fixture needs a row in expectations()");

    for e in expected {
        let f = parse_finding(&fixture("asff", e.file)).unwrap();
        assert_eq!(f.product(), e.product, "{}: product", e.file);
        assert_eq!(f.control_id().as_ref().map(ControlId::as_str), e.control, "{}: control id", e.file);
        assert_eq!(f.severity_label(), Some(e.severity), "{}: severity", e.file);
        assert_eq!(f.is_resolved(), e.resolved, "{}: resolved", e.file);
        assert_eq!(f.first_resource().map(|r| &r.resource_type), Some(&e.resource), "{}: resource type", e.file);
        assert_eq!(f.aws_account_id, e.account, "{}: account", e.file);
        assert!(f.updated_at_time().is_ok() && f.created_at_time().is_ok(), "{}: timestamps", e.file);
    }
}

#[test]
fn accessors_read_the_fields_the_pipeline_uses() {
    let f = parse_finding(&fixture("asff", "securityhub-ec2-19-security-group.json")).unwrap();
    assert_eq!(f.workflow_status(), Some(WorkflowStatus::New));
    assert_eq!(f.compliance_status(), Some(ComplianceStatus::Failed));
    assert_eq!(f.record_state(), Some(RecordState::Active));
    assert_eq!(f.product_field("aws/securityhub/ProductName"), Some("Security Hub"));
    let sg = f.first_resource().unwrap();
    assert_eq!(sg.tag("team"), Some("payments"));
    assert_eq!(sg.arn_account(), Some("111122223333"));
    let rules = &sg.details_of("AwsEc2SecurityGroup").unwrap()["IpPermissions"];
    assert_eq!(rules[0]["FromPort"], json!(3389));
    assert_eq!(f.updated_at_time().unwrap().unix_timestamp(), 1_772_611_089);
    assert_eq!(f.first_observed_at_time().unwrap().map(|t| t.year()), Some(2026));

    let s3 = parse_finding(&fixture("asff", "securityhub-s3-8-bucket.json")).unwrap();
    assert_eq!(s3.user_defined_field("TicketId"), Some("SEC-1187"));
    assert_eq!(s3.note.as_ref().map(|n| n.updated_by.as_str()), Some("SecOps Autopilot"));

    let inspector = parse_finding(&fixture("asff", "inspector-cve-ec2.json")).unwrap();
    assert_eq!(inspector.vulnerability_ids(), ["CVE-2026-10042"]);

    let gd = parse_finding(&fixture("asff", "guardduty-backdoor-c2-dns.json")).unwrap();
    assert_eq!(gd.severity.product_value(), Some(8.0));
    assert_eq!(gd.action.as_ref().unwrap()["ActionType"], json!("DNS_REQUEST"));
}

#[test]
fn numbers_keep_their_written_form() {
    let mut v = fixture_value("asff", "guardduty-backdoor-c2-dns.json");
    v["Severity"]["Product"] = json!(7.0);
    v["Confidence"] = json!(7);
    v["Criticality"] = serde_json::from_str("7.0").unwrap();
    let text = serde_json::to_string(&v).unwrap();
    let f = parse_finding(&text).unwrap();
    let out = serde_json::to_string(&f).unwrap();
    assert!(out.contains(r#""Product":7.0"#), "{out}");
    assert!(out.contains(r#""Confidence":7,"#) || out.contains(r#""Confidence":7}"#), "{out}");
    assert!(out.contains(r#""Criticality":7.0"#), "{out}");
    assert_eq!(serde_json::to_value(&f).unwrap(), v);
}

#[test]
fn explicit_null_on_a_typed_optional_field_is_dropped_but_kept_elsewhere() {
    let mut v = fixture_value("asff", "access-analyzer-external-access-s3.json");
    v["SourceUrl"] = Value::Null;
    v["SomethingNew"] = Value::Null;
    v["Resources"][0]["Details"] = json!({"AwsS3Bucket": {"OwnerName": null}});
    let f = parse_finding_value(&v).unwrap();
    let out = serde_json::to_value(&f).unwrap();
    assert!(out.get("SourceUrl").is_none(), "typed optional null is normalized away (documented)");
    assert_eq!(out["SomethingNew"], Value::Null, "unknown fields keep their null");
    assert_eq!(out["Resources"][0]["Details"]["AwsS3Bucket"]["OwnerName"], Value::Null);
}

/// The `.expected` file beside each invalid fixture: `path: ...` then `message: ...` (exact)
/// or `message-prefix: ...`.
fn read_expected(name: &str) -> (String, String, bool) {
    let text = fixture("asff-invalid", &name.replace(".json", ".expected"));
    let mut path = None;
    let mut message = None;
    for line in text.lines() {
        if let Some(p) = line.strip_prefix("path: ") {
            path = Some(p.to_owned());
        } else if let Some(m) = line.strip_prefix("message: ") {
            message = Some((m.to_owned(), false));
        } else if let Some(m) = line.strip_prefix("message-prefix: ") {
            message = Some((m.to_owned(), true));
        }
    }
    let (message, prefix) = message.unwrap_or_else(|| panic!("{name}: .expected has no message line"));
    (path.unwrap_or_else(|| panic!("{name}: .expected has no path line")), message, prefix)
}

#[test]
fn every_invalid_fixture_names_the_path_and_the_problem() {
    let invalid = json_fixtures("asff-invalid");
    assert!(invalid.len() >= 4);
    for (name, text) in invalid {
        let (path, message, is_prefix) = read_expected(&name);
        let err = parse_finding(&text).expect_err(&name);
        assert_eq!(err.class(), ErrorClass::InvalidInput);
        let problems = err.problems();
        assert_eq!(problems.len(), 1, "{name}: exactly one thing is broken, got {err}");
        assert_eq!(problems[0].path, path, "{name}: path");
        if is_prefix {
            assert!(problems[0].message.starts_with(&message), "{name}: message {:?}", problems[0].message);
        } else {
            assert_eq!(problems[0].message, message, "{name}: message");
        }
        assert!(err.to_string().starts_with(&format!("{path}: ")), "{name}: display {err}");

        // The same answer when the finding arrives as an already parsed value.
        let value: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(parse_finding_value(&value).unwrap_err().problems(), problems, "{name}: from value");
    }
}

#[test]
fn the_bad_label_error_reads_well() {
    let err = parse_finding(&fixture("asff-invalid", "bad-severity-label.json")).unwrap_err();
    assert_eq!(
        err.to_string(),
        "Severity.Label: unknown variant `SEVERE`, expected one of `INFORMATIONAL`, `LOW`, `MEDIUM`, `HIGH`, `CRITICAL`"
    );
}

#[test]
fn validate_reports_every_problem_at_once() {
    let mut v = fixture_value("asff", "securityhub-s3-8-bucket.json");
    v["Id"] = json!("");
    v["AwsAccountId"] = json!("4444-5555-6666");
    v["ProductArn"] = json!("securityhub");
    v["Title"] = json!("x".repeat(257));
    v["Types"] = json!([]);
    v["CreatedAt"] = json!("yesterday");
    v["Resources"] = json!([]);
    let f: AwsSecurityFinding = serde_json::from_value(v).unwrap();
    let problems = f.validate().unwrap_err();
    let paths: Vec<&str> = problems.iter().map(|p| p.path.as_str()).collect();
    assert_eq!(paths, ["Id", "ProductArn", "AwsAccountId", "Types", "CreatedAt", "Title", "Resources"]);
    assert_eq!(problems[5].message, "must be at most 256 characters, got 257");
    assert_eq!(problems[6].message, "must have 1 to 32 entries, got 0");
}

#[test]
fn resource_limits_and_empty_ids_are_checked() {
    let mut v = fixture_value("asff", "access-analyzer-external-access-s3.json");
    let resource = v["Resources"][0].clone();
    v["Resources"] = Value::Array(vec![resource; 33]);
    let problems: AsffError = parse_finding_value(&v).unwrap_err();
    assert_eq!(problems.to_string(), "Resources: must have 1 to 32 entries, got 33");

    v["Resources"] = json!([{"Type": "AwsS3Bucket", "Id": "arn:aws:s3:::a"}, {"Type": "", "Id": " "}]);
    let err = parse_finding_value(&v).unwrap_err();
    let paths: Vec<String> = err.problems().into_iter().map(|p| p.path).collect();
    assert_eq!(paths, ["Resources[1].Type", "Resources[1].Id"]);
}

#[test]
fn severity_needs_a_label_or_a_normalized_score() {
    let mut v = fixture_value("asff", "guardduty-backdoor-c2-dns.json");
    v["Severity"] = json!({"Product": 8});
    assert_eq!(parse_finding_value(&v).unwrap_err().to_string(), "Severity: must have Label or Normalized");

    for (normalized, label) in [
        (0, SeverityLabel::Informational),
        (1, SeverityLabel::Low),
        (39, SeverityLabel::Low),
        (40, SeverityLabel::Medium),
        (69, SeverityLabel::Medium),
        (70, SeverityLabel::High),
        (89, SeverityLabel::High),
        (90, SeverityLabel::Critical),
        (100, SeverityLabel::Critical),
    ] {
        v["Severity"] = json!({ "Normalized": normalized });
        let f = parse_finding_value(&v).unwrap();
        assert_eq!(f.severity_label(), Some(label), "normalized {normalized}");
    }
    v["Severity"] = json!({ "Normalized": 40.0 });
    assert_eq!(parse_finding_value(&v).unwrap().severity_label(), Some(SeverityLabel::Medium), "40.0 is whole");
    for bad in [json!(101), json!(-1), json!(40.5)] {
        v["Severity"] = json!({ "Normalized": bad });
        let err = parse_finding_value(&v).unwrap_err();
        assert_eq!(err.path(), "Severity.Normalized", "{bad}");
    }
}

#[test]
fn types_must_use_a_known_namespace() {
    let mut v = fixture_value("asff", "health-ec2-operational-notification.json");
    for good in ["Software and Configuration Checks", "TTPs/Discovery", "Effects/Data Exposure/External Access Granted"]
    {
        v["Types"] = json!([good]);
        assert!(parse_finding_value(&v).is_ok(), "{good}");
    }
    for bad in ["software and configuration checks", "TTPs//Backdoor", "TTPs/Discovery/", "/TTPs"] {
        v["Types"] = json!([bad]);
        assert_eq!(parse_finding_value(&v).unwrap_err().path(), "Types[0]", "{bad}");
    }
}

#[test]
fn wrong_shapes_name_the_nested_path() {
    let mut v = fixture_value("asff", "securityhub-ec2-19-security-group.json");
    v["Resources"][0]["Tags"]["team"] = json!(42);
    let err = parse_finding_value(&v).unwrap_err();
    assert_eq!(err.to_string(), "Resources[0].Tags.team: invalid type: integer `42`, expected a string");

    let mut v = fixture_value("asff", "securityhub-ec2-19-security-group.json");
    v["Compliance"]["Status"] = json!("COMPLIANT");
    let err = parse_finding_value(&v).unwrap_err();
    assert_eq!(err.path(), "Compliance.Status");
    assert!(err.to_string().contains("expected one of `PASSED`, `WARNING`, `FAILED`, `NOT_AVAILABLE`"), "{err}");

    let mut v = fixture_value("asff", "securityhub-ec2-19-security-group.json");
    v["Severity"] = json!("HIGH");
    let err = parse_finding_value(&v).unwrap_err();
    assert_eq!(err.path(), "Severity");
    assert!(err.to_string().contains("expected a Severity object"), "{err}");

    let mut v = fixture_value("asff", "securityhub-ec2-19-security-group.json");
    v["Note"] = json!({"Text": "x", "UpdatedAt": "2026-03-04T07:58:09.117Z"});
    assert_eq!(parse_finding_value(&v).unwrap_err().to_string(), "Note.UpdatedBy: required field is missing");
}

#[test]
fn text_that_is_not_json_is_a_syntax_error_with_a_position() {
    let text = fixture("asff", "guardduty-backdoor-c2-dns.json");
    let err = parse_finding(&text[..200]).unwrap_err();
    assert!(matches!(err, AsffError::Syntax { line: 2.., column: 1.., .. }), "{err:?}");
    assert!(err.to_string().starts_with("not valid JSON at line"), "{err}");

    let err = parse_finding(&format!("{text} trailing")).unwrap_err();
    assert!(matches!(err, AsffError::Syntax { .. }), "{err:?}");

    let err = parse_finding("[1, 2]").unwrap_err();
    assert_eq!(err.to_string(), "invalid type: sequence, expected an ASFF finding object");
}

/// `is_resolved`: ARCHIVED, or SUPPRESSED/RESOLVED, or NOTIFIED with PASSED.
#[test]
fn is_resolved_truth_table() {
    use ComplianceStatus as C;
    use RecordState as R;
    use WorkflowStatus as W;
    type Row = (Option<R>, Option<W>, Option<C>, bool);
    let rows: [Row; 18] = [
        (Some(R::Active), Some(W::New), Some(C::Failed), false),
        (Some(R::Active), Some(W::New), Some(C::Passed), false),
        (Some(R::Active), Some(W::New), None, false),
        (Some(R::Active), Some(W::Notified), Some(C::Failed), false),
        (Some(R::Active), Some(W::Notified), Some(C::Warning), false),
        (Some(R::Active), Some(W::Notified), Some(C::NotAvailable), false),
        (Some(R::Active), Some(W::Notified), None, false),
        (Some(R::Active), Some(W::Notified), Some(C::Passed), true),
        (Some(R::Active), Some(W::Resolved), Some(C::Failed), true),
        (Some(R::Active), Some(W::Suppressed), Some(C::Failed), true),
        (Some(R::Active), Some(W::Suppressed), None, true),
        (Some(R::Archived), Some(W::New), Some(C::Failed), true),
        (Some(R::Archived), None, None, true),
        (None, None, None, false),
        (None, None, Some(C::Passed), false),
        (None, Some(W::Resolved), None, true),
        (None, Some(W::Notified), Some(C::Passed), true),
        (Some(R::Active), None, Some(C::Passed), false),
    ];
    let base = parse_finding(&fixture("asff", "securityhub-ec2-19-security-group.json")).unwrap();
    for (record, workflow, compliance, expected) in rows {
        let mut f = base.clone();
        f.record_state = record;
        f.workflow = workflow.map(|status| Workflow { status: Some(status), ..Default::default() });
        match compliance {
            Some(status) => f.compliance.get_or_insert_with(Default::default).status = Some(status),
            None => f.compliance = None,
        }
        assert_eq!(f.is_resolved(), expected, "{record:?} {workflow:?} {compliance:?}");
    }
}

#[test]
fn control_ids_come_from_compliance_or_the_generator() {
    let mut f = parse_finding(&fixture("asff", "securityhub-ec2-19-security-group.json")).unwrap();
    assert_eq!(f.control_id().unwrap().to_string(), "EC2.19");

    f.compliance.as_mut().unwrap().security_control_id = None;
    assert_eq!(f.control_id().unwrap().to_string(), "EC2.19", "falls back to security-control/<id>");
    assert_eq!(f.product(), Product::SecurityHubControl);

    f.generator_id = "aws-foundational-security-best-practices/v/1.0.0/EC2.19".into();
    assert_eq!(f.control_id(), None);
    assert_eq!(f.product(), Product::SecurityHubControl, "standards generators are control checks");

    f.generator_id = "custom-check".into();
    assert_eq!(f.product(), Product::OtherAws { product: "Security Hub".into() });

    f.compliance.as_mut().unwrap().security_control_id = Some("not a control".into());
    assert_eq!(f.control_id(), None);

    for good in ["EC2.13", "S3.2", "IAM.21", "CloudFront.1"] {
        assert_eq!(good.parse::<ControlId>().unwrap().as_str(), good);
    }
    for bad in ["EC2", "EC2.", ".1", "EC2.01", "EC2.1.1", "EC 2.1", "ec2-13"] {
        assert!(bad.parse::<ControlId>().is_err(), "{bad}");
    }
}

#[test]
fn product_falls_back_to_names_when_the_arn_is_unusual() {
    let mut f = parse_finding(&fixture("asff", "guardduty-backdoor-c2-dns.json")).unwrap();
    f.product_arn = "arn:aws:securityhub:us-east-1::hub/default".into();
    assert_eq!(f.product(), Product::GuardDuty);
    f.company_name = Some("AWS".into());
    f.product_name = Some("IAM Access Analyzer".into());
    assert_eq!(f.product(), Product::IamAccessAnalyzer);
    f.product_arn = "arn:aws:securityhub:us-east-1::product/aws/config".into();
    f.product_name = Some("Config".into());
    assert_eq!(f.product(), Product::OtherAws { product: "Config".into() });
    assert!(f.product().is_aws());
    f.product_arn = "arn:aws:securityhub:us-east-1:111122223333:product/111122223333/default".into();
    f.company_name = Some("Personal".into());
    f.product_name = Some("Default".into());
    assert_eq!(f.product(), Product::ThirdParty { company: "Personal".into(), product: "Default".into() });
}
