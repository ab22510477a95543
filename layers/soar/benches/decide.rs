//! The pure part of decide, per finding: routing, classification, scoring and suppression-rule
//! matching against a policy of 200 rules; and loading such a policy. (The I/O part — claims and
//! status writes — is measured by the workflow tests' wall time, not here.)

use criterion::{criterion_group, criterion_main, Criterion};
use secops_core::asff::parse_finding_value;
use secops_core::scratchpad::PipelineFlags;
use secops_soar::incident::classify;
use secops_soar::policy::{Facts, Policy, RuleAction, Subject, BUILT_IN_YAML};
use secops_soar::route::route;
use secops_soar::score::penalty_score;
use std::hint::black_box;

fn fixture(name: &str) -> serde_json::Value {
    let path = format!("{}/../core/tests/fixtures/asff/{name}.json", env!("CARGO_MANIFEST_DIR"));
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// The built-in policy plus `n` suppression rules, none of which matches the benchmark's facts
/// (the worst case: every rule is tried).
fn policy_with_rules(n: usize) -> String {
    let base = BUILT_IN_YAML.split("\nsuppressions:").next().unwrap();
    let mut yaml = format!("{base}\nsuppressions:\n");
    for i in 0..n {
        yaml.push_str(&format!(
            "  - id: rule-{i}\n    control: \"EC2.*\"\n    action: suppress\n    reason: bench\n    when:\n      environment: [DEV]\n      resource_tags: {{owner: \"team-{i}-*\"}}\n      resource_id: \"arn:aws:ec2:*:*:security-group/sg-{i:08}*\"\n"
        ));
    }
    yaml
}

fn bench(c: &mut Criterion) {
    let finding = parse_finding_value(&fixture("securityhub-ec2-19-security-group")).unwrap();
    let threat = parse_finding_value(&fixture("guardduty-backdoor-c2-dns")).unwrap();
    let flags = PipelineFlags::default();
    let yaml = policy_with_rules(200);
    let policy = Policy::from_yaml(&yaml, "bench").unwrap();
    let facts = Facts {
        account_id: "111122223333".into(),
        environment: Some("production".into()),
        resource_ids: vec![finding.resources[0].id.clone()],
        resource_types: vec!["AwsEc2SecurityGroup".into()],
        resource_tags: [("owner".to_owned(), "payments".to_owned())].into(),
        ..Default::default()
    };

    c.bench_function("route a failed control", |b| b.iter(|| route(black_box(&finding), &flags, None)));
    c.bench_function("classify a GuardDuty finding", |b| b.iter(|| classify(black_box(&threat))));
    c.bench_function("score", |b| b.iter(|| penalty_score(&policy, black_box(90), Some("production"))));
    c.bench_function("match 200 suppression rules (none matches)", |b| {
        b.iter(|| policy.suppression(Subject::Control(black_box("EC2.19")), RuleAction::Suppress, &facts))
    });
    c.bench_function("load a policy of 200 rules", |b| {
        b.iter(|| Policy::from_yaml(black_box(&yaml), "bench").unwrap())
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
