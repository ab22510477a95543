//! The catalogue as a whole: the controls the issue asks for are there, every declaration is
//! well-formed and fits AWS's session-policy limit, the README's table is the catalogue's own,
//! and the member-account role grants exactly the union of the declared actions.

use secops_remediation::policy::{self, Access, MAX_SESSION_POLICY_CHARS};
use secops_remediation::Catalogue;
use serde_yaml_ng::Value;
use std::collections::BTreeSet;

const REQUIRED: [&str; 54] = [
    "S3.1",
    "S3.2",
    "S3.3",
    "S3.5",
    "S3.8",
    "S3.9",
    "S3.10",
    "S3.13",
    "EC2.1",
    "EC2.2",
    "EC2.4",
    "EC2.6",
    "EC2.7",
    "EC2.8",
    "EC2.12",
    "EC2.13",
    "EC2.14",
    "EC2.15",
    "EC2.19",
    "EC2.22",
    "RDS.1",
    "RDS.2",
    "RDS.4",
    "RDS.6",
    "RDS.7",
    "RDS.8",
    "RDS.9",
    "RDS.11",
    "RDS.13",
    "RDS.17",
    "IAM.3",
    "IAM.7",
    "IAM.8",
    "KMS.4",
    "DynamoDB.2",
    "ECR.1",
    "ECR.2",
    "ECR.3",
    "ECS.2",
    "ECS.12",
    "ELB.1",
    "ELB.4",
    "ELB.5",
    "CloudTrail.1",
    "CloudTrail.2",
    "CloudTrail.4",
    "CloudTrail.5",
    "Config.1",
    "GuardDuty.1",
    "Lambda.1",
    "SNS.1",
    "SQS.1",
    "SSM.4",
    "SecretsManager.1",
];

#[test]
fn the_catalogue_has_every_required_control() {
    let catalogue = Catalogue::standard();
    let missing: Vec<&str> = REQUIRED.iter().copied().filter(|c| catalogue.get(c).is_none()).collect();
    assert!(missing.is_empty(), "missing remediations: {missing:?}");
    assert!(catalogue.len() >= 50, "{} controls", catalogue.len());
}

#[test]
fn every_declaration_is_well_formed_and_fits_a_session_policy() {
    let action = regex::Regex::new(r"^[a-z0-9-]+:[A-Z][A-Za-z0-9]+\*?$").unwrap();
    let control = regex::Regex::new(r"^[A-Za-z0-9]+\.[0-9]+$").unwrap();
    for spec in Catalogue::standard().specs() {
        let at = spec.control;
        assert!(control.is_match(spec.control), "{at}: control id");
        assert!(!spec.title.is_empty() && !spec.change.is_empty() && !spec.verification.is_empty(), "{at}: texts");
        assert!(!spec.resource_types.is_empty(), "{at}: resource types");
        assert!(spec.resource_types.iter().all(|t| t.starts_with("Aws") || *t == "Other"), "{at}: resource types");
        for a in spec.actions {
            assert!(action.is_match(a), "{at}: {a} is not an IAM action name");
        }
        let unique: BTreeSet<&str> = spec.actions.iter().copied().collect();
        assert_eq!(unique.len(), spec.actions.len(), "{at}: an action is declared twice");
        assert!(spec.read_actions().count() > 0, "{at}: a remediation reads before it plans");
        assert!(spec.read_actions().count() < spec.actions.len(), "{at}: a remediation changes something");
        assert!(spec.exemption_tags.iter().all(|t| t.starts_with("secops:")), "{at}: exemption tags are secops:*");
        for access in [Access::ReadOnly, Access::Declared] {
            let p = policy::session_policy(spec, access);
            assert!(p.len() <= MAX_SESSION_POLICY_CHARS, "{at}: session policy of {} characters", p.len());
        }
    }
}

#[test]
fn the_readme_catalogue_table_is_the_catalogue() {
    let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../README.md")).unwrap();
    let start = readme.find("<!-- catalogue:start -->\n").expect("README catalogue start marker") + 25;
    let end = readme.find("<!-- catalogue:end -->").expect("README catalogue end marker");
    let expected = Catalogue::standard().markdown_table();
    assert!(
        readme[start..end] == expected,
        "README.md's catalogue table is stale; replace it with `secops remediate list --markdown`:\n{expected}"
    );
}

/// The IAM writes that could escalate privileges if they were allowed on any role.
const ROLE_WRITES: [&str; 5] =
    ["iam:CreateRole", "iam:PutRolePolicy", "iam:AttachRolePolicy", "iam:PassRole", "iam:CreateServiceLinkedRole"];

#[test]
fn the_member_role_grants_exactly_the_declared_actions() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../remediation-member-role.yaml");
    let template: Value = serde_yaml_ng::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let role = &template["Resources"]["RemediationRole"]["Properties"];
    let mut granted = BTreeSet::new();
    for p in role["Policies"].as_sequence().unwrap() {
        for st in p["PolicyDocument"]["Statement"].as_sequence().unwrap() {
            assert_eq!(st["Effect"].as_str(), Some("Allow"));
            let actions: Vec<String> = match &st["Action"] {
                Value::String(a) => vec![a.clone()],
                Value::Sequence(list) => list.iter().map(|a| a.as_str().unwrap().to_owned()).collect(),
                other => panic!("Action {other:?}"),
            };
            let any_resource = st["Resource"].as_str() == Some("*");
            for a in &actions {
                assert!(!(ROLE_WRITES.contains(&a.as_str()) && any_resource), "{a} must be limited to named roles");
            }
            granted.extend(actions);
        }
    }
    let declared: BTreeSet<String> =
        policy::member_role_actions(Catalogue::standard().specs()).into_iter().map(str::to_owned).collect();
    let missing: Vec<&String> = declared.difference(&granted).collect();
    let extra: Vec<&String> = granted.difference(&declared).collect();
    assert!(
        missing.is_empty() && extra.is_empty(),
        "missing from the role: {missing:?}; granted but undeclared: {extra:?}"
    );
}
