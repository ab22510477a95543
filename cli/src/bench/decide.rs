//! The pure part of decide, per finding (issue 7 names no budget: the figures are reported):
//! routing, classifying, and matching a 200-rule suppression policy; and loading that policy,
//! which happens once per cold start. The I/O part (claims, status writes) is not timed here.

use std::hint::black_box;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use secops_core::asff::parse_finding_value;
use secops_core::scratchpad::PipelineFlags;
use secops_soar::incident::classify;
use secops_soar::policy::{Facts, Policy, RuleAction, Subject, BUILT_IN_YAML};
use secops_soar::route::route;

use super::{median, ms, on_one_core, time_runs, Ctx, Row};

const FAILED_CONTROL: &str =
    include_str!("../../../layers/core/tests/fixtures/asff/securityhub-ec2-19-security-group.json");
const THREAT: &str = include_str!("../../../layers/core/tests/fixtures/asff/guardduty-backdoor-c2-dns.json");
const NO_BUDGET: &str = "none named (issue 7); reported";

/// The built-in policy plus `n` suppression rules, none of which matches the benchmark's facts
/// (the worst case: every rule is tried).
fn policy_with_rules(n: usize) -> Result<String> {
    let base = BUILT_IN_YAML.split("\nsuppressions:").next().context("the built-in policy")?;
    let mut yaml = format!("{base}\nsuppressions:\n");
    for i in 0..n {
        yaml.push_str(&format!(
            "  - id: rule-{i}\n    control: \"EC2.*\"\n    action: suppress\n    reason: bench\n    when:\n      environment: [DEV]\n      resource_tags: {{owner: \"team-{i}-*\"}}\n      resource_id: \"arn:aws:ec2:*:*:security-group/sg-{i:08}*\"\n"
        ));
    }
    Ok(yaml)
}

/// Median time per call of `f`, over 5 rounds of `iterations` calls.
fn per_call(iterations: usize, mut f: impl FnMut()) -> Duration {
    let mut rounds: Vec<Duration> = (0..5)
        .map(|_| {
            let t = Instant::now();
            for _ in 0..iterations {
                f();
            }
            t.elapsed() / iterations.max(1) as u32
        })
        .collect();
    rounds.sort();
    median(&rounds)
}

fn nanos_row(id: &'static str, benchmark: &str, d: Duration) -> Row {
    let ns = d.as_secs_f64() * 1e9;
    let text =
        if ns >= 1000.0 { format!("{:.2} µs per finding", ns / 1000.0) } else { format!("{ns:.0} ns per finding") };
    Row::new("decide", id, benchmark, NO_BUDGET).measured(ns, "ns", text, None)
}

pub async fn run(ctx: &Ctx) -> Result<Vec<Row>> {
    let scale = if ctx.quick { 1 } else { 100 };
    on_one_core(move |_| {
        let finding = parse_finding_value(&serde_json::from_str(FAILED_CONTROL)?)
            .map_err(|e| anyhow::anyhow!("the EC2.19 fixture: {e:?}"))?;
        let threat = parse_finding_value(&serde_json::from_str(THREAT)?)
            .map_err(|e| anyhow::anyhow!("the GuardDuty fixture: {e:?}"))?;
        let flags = PipelineFlags::default();
        let yaml = policy_with_rules(200)?;
        let policy = Policy::from_yaml(&yaml, "bench").map_err(|e| anyhow::anyhow!("the 200-rule policy: {e}"))?;
        let facts = Facts {
            account_id: "111122223333".into(),
            environment: Some("production".into()),
            resource_ids: vec![finding.resources.first().context("the fixture has a resource")?.id.clone()],
            resource_types: vec!["AwsEc2SecurityGroup".into()],
            resource_tags: [("owner".to_owned(), "payments".to_owned())].into(),
            ..Default::default()
        };

        let route_time = per_call(2_000 * scale, || {
            black_box(route(black_box(&finding), &flags, None));
        });
        let classify_time = per_call(1_000 * scale, || {
            black_box(classify(black_box(&threat)));
        });
        let match_time = per_call(100 * scale, || {
            black_box(policy.suppression(Subject::Control(black_box("EC2.19")), RuleAction::Suppress, &facts));
        });
        let loads = time_runs(if scale == 1 { 2 } else { 9 }, || {
            black_box(Policy::from_yaml(black_box(&yaml), "bench").map_err(|e| anyhow::anyhow!("{e}"))?);
            Ok(())
        })?;
        let load = median(&loads);
        Ok(vec![
            nanos_row("decide.route", "route a failed control (EC2.19)", route_time),
            nanos_row("decide.classify", "classify a GuardDuty finding", classify_time),
            nanos_row("decide.suppression_200", "match 200 suppression rules, none matching (worst case)", match_time),
            Row::new("decide", "decide.policy_load", "load a policy of 200 rules (once per cold start)", NO_BUDGET)
                .measured(ms(load), "ms", format!("{:.1} ms", ms(load)), None),
        ])
    })
    .await
}
