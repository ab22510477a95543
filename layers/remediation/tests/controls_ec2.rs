//! EC2 remediations against moto: each creates a non-compliant resource, runs plan → apply →
//! verify, reads the real state back, re-runs for idempotency, and checks the exemptions and
//! every guard (tickets, reconsider-later, suppress).

mod support;

use aws_sdk_ec2::types::{
    AttributeBooleanValue, Filter, HttpTokensState, InstanceStateName, IpPermission, IpRange, Ipv6Range, OperationType,
    PermissionGroup, SnapshotAttributeName, Tag, UserIdGroupPair,
};
use secops_core::RemediationExemption;
use secops_remediation::Outcome;
use support::*;
use time::OffsetDateTime;

fn ec2(h: &Harness) -> aws_sdk_ec2::Client {
    aws_sdk_ec2::Client::new(&h.sdk)
}

fn filter(name: &str, value: &str) -> Filter {
    Filter::builder().name(name).values(value).build()
}

/// An RFC 3339 time `days` before now (for first-observed rules).
fn days_ago(days: i64) -> String {
    (OffsetDateTime::now_utc() - time::Duration::days(days))
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap()
}

fn exempt_account(control: &str) -> impl FnOnce(&mut secops_core::RemediationConfig) + '_ {
    move |s| s.exempt_accounts = vec![RemediationExemption { scope: ACCOUNT.into(), control: Some(control.into()) }]
}

async fn vpc(ec2: &aws_sdk_ec2::Client) -> String {
    let out = ec2.create_vpc().cidr_block("10.0.0.0/16").send().await.unwrap();
    out.vpc().unwrap().vpc_id().unwrap().to_owned()
}

async fn subnet(ec2: &aws_sdk_ec2::Client, vpc: &str) -> String {
    let out = ec2.create_subnet().vpc_id(vpc).cidr_block("10.0.1.0/24").send().await.unwrap();
    out.subnet().unwrap().subnet_id().unwrap().to_owned()
}

async fn group(ec2: &aws_sdk_ec2::Client, vpc: &str, name: &str) -> String {
    let out = ec2.create_security_group().group_name(name).description("test").vpc_id(vpc).send().await.unwrap();
    out.group_id().unwrap().to_owned()
}

async fn default_group(ec2: &aws_sdk_ec2::Client, vpc: &str) -> String {
    let out = ec2
        .describe_security_groups()
        .filters(filter("vpc-id", vpc))
        .filters(filter("group-name", "default"))
        .send()
        .await
        .unwrap();
    out.security_groups()[0].group_id().unwrap().to_owned()
}

async fn tag(ec2: &aws_sdk_ec2::Client, id: &str, key: &str, value: &str) {
    ec2.create_tags().resources(id).tags(Tag::builder().key(key).value(value).build()).send().await.unwrap();
}

/// A world-or-not TCP ingress rule.
async fn allow(ec2: &aws_sdk_ec2::Client, group: &str, cidr: &str, from: i32, to: i32, description: &str) {
    allow_protocol(ec2, group, "tcp", cidr, from, to, description).await
}

async fn allow_protocol(
    ec2: &aws_sdk_ec2::Client,
    group: &str,
    protocol: &str,
    cidr: &str,
    from: i32,
    to: i32,
    description: &str,
) {
    let p = IpPermission::builder().ip_protocol(protocol).from_port(from).to_port(to);
    let p = if cidr.contains(':') {
        p.ipv6_ranges(Ipv6Range::builder().cidr_ipv6(cidr).description(description).build())
    } else {
        p.ip_ranges(IpRange::builder().cidr_ip(cidr).description(description).build())
    };
    ec2.authorize_security_group_ingress().group_id(group).ip_permissions(p.build()).send().await.unwrap();
}

/// The group's ingress rules as (source, protocol, from, to, description), sorted.
async fn ingress(ec2: &aws_sdk_ec2::Client, group: &str) -> Vec<(String, String, i32, i32, String)> {
    let out = ec2.describe_security_group_rules().filters(filter("group-id", group)).send().await.unwrap();
    let mut rules: Vec<_> = out
        .security_group_rules()
        .iter()
        .filter(|r| r.is_egress() == Some(false))
        .map(|r| {
            let source = r
                .cidr_ipv4()
                .or(r.cidr_ipv6())
                .map(str::to_owned)
                .or_else(|| r.referenced_group_info().and_then(|g| g.group_id()).map(str::to_owned))
                .unwrap_or_default();
            (
                source,
                r.ip_protocol().unwrap_or_default().to_owned(),
                r.from_port().unwrap_or_default(),
                r.to_port().unwrap_or_default(),
                r.description().unwrap_or_default().to_owned(),
            )
        })
        .collect();
    rules.sort();
    rules
}

fn rule(source: &str, from: i32, to: i32, description: &str) -> (String, String, i32, i32, String) {
    (source.into(), "tcp".into(), from, to, description.into())
}

async fn rule_count(ec2: &aws_sdk_ec2::Client, group: &str) -> usize {
    let out = ec2.describe_security_group_rules().filters(filter("group-id", group)).send().await.unwrap();
    out.security_group_rules().len()
}

fn sg_finding(control: &str, group: &str) -> FindingBuilder {
    finding(control, "AwsEc2SecurityGroup", &format!("arn:aws:ec2:{REGION}:{ACCOUNT}:security-group/{group}"))
}

fn instance_finding(control: &str, id: &str) -> FindingBuilder {
    finding(control, "AwsEc2Instance", &format!("arn:aws:ec2:{REGION}:{ACCOUNT}:instance/{id}"))
}

async fn instance(ec2: &aws_sdk_ec2::Client) -> String {
    let out = ec2.run_instances().image_id("ami-12c6146b").min_count(1).max_count(1).send().await.unwrap();
    out.instances()[0].instance_id().unwrap().to_owned()
}

async fn described(ec2: &aws_sdk_ec2::Client, id: &str) -> aws_sdk_ec2::types::Instance {
    let out = ec2.describe_instances().instance_ids(id).send().await.unwrap();
    out.reservations()[0].instances()[0].clone()
}

async fn state(ec2: &aws_sdk_ec2::Client, id: &str) -> InstanceStateName {
    described(ec2, id).await.state().unwrap().name().unwrap().clone()
}

async fn eni(ec2: &aws_sdk_ec2::Client, subnet: &str, group: &str) -> String {
    let out = ec2.create_network_interface().subnet_id(subnet).groups(group).send().await.unwrap();
    out.network_interface().unwrap().network_interface_id().unwrap().to_owned()
}

fn assert_outcome(report: &secops_remediation::Report, outcome: Outcome, reason: &str) {
    assert_eq!(report.outcome, outcome, "{}", report.summary());
    assert!(report.reason.contains(reason), "expected {reason:?} in: {}", report.reason);
    assert!(report.applied.is_empty(), "nothing is applied on a {outcome:?}");
}

// ---------------------------------------------------------------- EC2.1

async fn snapshot(ec2: &aws_sdk_ec2::Client) -> String {
    let vol = ec2.create_volume().availability_zone("us-east-1a").size(1).send().await.unwrap();
    let snap = ec2.create_snapshot().volume_id(vol.volume_id().unwrap()).send().await.unwrap();
    snap.snapshot_id().unwrap().to_owned()
}

async fn share(ec2: &aws_sdk_ec2::Client, snapshot: &str, public: bool, account: Option<&str>) {
    let call = ec2
        .modify_snapshot_attribute()
        .snapshot_id(snapshot)
        .attribute(SnapshotAttributeName::CreateVolumePermission)
        .operation_type(OperationType::Add);
    let call = if public { call.group_names(PermissionGroup::All.as_str()) } else { call };
    let call = match account {
        Some(a) => call.user_ids(a),
        None => call,
    };
    call.send().await.unwrap();
}

/// The snapshot's create-volume permissions as ("group"|"user", value), sorted.
async fn permissions(ec2: &aws_sdk_ec2::Client, snapshot: &str) -> Vec<(String, String)> {
    let out = ec2
        .describe_snapshot_attribute()
        .snapshot_id(snapshot)
        .attribute(SnapshotAttributeName::CreateVolumePermission)
        .send()
        .await
        .unwrap();
    let mut perms: Vec<(String, String)> = out
        .create_volume_permissions()
        .iter()
        .map(|p| match (p.group(), p.user_id()) {
            (Some(g), _) => ("group".to_owned(), g.as_str().to_owned()),
            (None, u) => ("user".to_owned(), u.unwrap_or_default().to_owned()),
        })
        .collect();
    perms.sort();
    perms
}

#[tokio::test]
async fn ec2_1_makes_own_snapshots_private_and_is_idempotent() {
    let h = Harness::start().await;
    let ec2 = ec2(&h);
    let public = snapshot(&ec2).await;
    share(&ec2, &public, true, None).await;
    let shared = snapshot(&ec2).await;
    share(&ec2, &shared, true, Some("111122223333")).await;
    let private = snapshot(&ec2).await;
    let report = h.remediates(&account_finding("EC2.1").build()).await;
    let mut touched: Vec<&str> = report.applied.iter().map(|c| c.resource.as_str()).collect();
    touched.sort();
    let mut expected = vec![public.as_str(), shared.as_str()];
    expected.sort();
    assert_eq!(touched, expected);
    assert!(report.applied.iter().all(|c| c.action == "ec2:ModifySnapshotAttribute"));
    assert_eq!(permissions(&ec2, &public).await, vec![]);
    // Sharing with a named account is not public and stays.
    assert_eq!(permissions(&ec2, &shared).await, vec![("user".to_owned(), "111122223333".to_owned())]);
    assert_eq!(permissions(&ec2, &private).await, vec![]);
}

#[tokio::test]
async fn ec2_1_account_exemption_by_configuration() {
    let h = Harness::start_with(exempt_account("EC2.1")).await;
    let ec2 = ec2(&h);
    let public = snapshot(&ec2).await;
    share(&ec2, &public, true, None).await;
    let report = h.exempt(&account_finding("EC2.1").build()).await;
    assert!(report.reason.contains("exempt from EC2.1 by configuration"), "{}", report.reason);
    assert_eq!(permissions(&ec2, &public).await, vec![("group".to_owned(), "all".to_owned())]);
}

#[tokio::test]
async fn ec2_1_snapshot_public_on_purpose_is_exempt() {
    let h = Harness::start().await;
    let ec2 = ec2(&h);
    let dataset = snapshot(&ec2).await;
    share(&ec2, &dataset, true, None).await;
    tag(&ec2, &dataset, "secops:ec2:public-snapshot-intended", "true").await;
    let report = h.run(&account_finding("EC2.1").build()).await;
    assert_outcome(&report, Outcome::Suppress, "secops:ec2:public-snapshot-intended");
    assert!(report.reason.contains(&dataset), "{}", report.reason);
    assert_eq!(permissions(&ec2, &dataset).await, vec![("group".to_owned(), "all".to_owned())]);
}

// ---------------------------------------------------------------- EC2.2

/// A VPC whose default group has AWS's usual rules: ingress from itself, egress to anywhere.
async fn default_group_with_rules(ec2: &aws_sdk_ec2::Client) -> (String, String) {
    let vpc = vpc(ec2).await;
    let group = default_group(ec2, &vpc).await;
    let self_ref = IpPermission::builder()
        .ip_protocol("-1")
        .user_id_group_pairs(UserIdGroupPair::builder().group_id(&group).build())
        .build();
    ec2.authorize_security_group_ingress().group_id(&group).ip_permissions(self_ref).send().await.unwrap();
    assert_eq!(rule_count(ec2, &group).await, 2);
    (vpc, group)
}

#[tokio::test]
async fn ec2_2_revokes_every_rule_of_the_unused_default_group() {
    let h = Harness::start().await;
    let ec2 = ec2(&h);
    let (_, group) = default_group_with_rules(&ec2).await;
    let report = h.remediates(&sg_finding("EC2.2", &group).build()).await;
    let actions: Vec<&str> = report.applied.iter().map(|c| c.action.as_str()).collect();
    assert_eq!(actions, ["ec2:RevokeSecurityGroupIngress", "ec2:RevokeSecurityGroupEgress"]);
    assert_eq!(rule_count(&ec2, &group).await, 0);
}

#[tokio::test]
async fn ec2_2_exemption_by_tag() {
    let h = Harness::start().await;
    let ec2 = ec2(&h);
    let (_, group) = default_group_with_rules(&ec2).await;
    h.exempt(&sg_finding("EC2.2", &group).tag("secops:exempt", "EC2.2").build()).await;
    assert_eq!(rule_count(&ec2, &group).await, 2);
}

#[tokio::test]
async fn ec2_2_default_group_in_use_is_a_ticket() {
    let h = Harness::start().await;
    let ec2 = ec2(&h);
    let (vpc, group) = default_group_with_rules(&ec2).await;
    let subnet = subnet(&ec2, &vpc).await;
    let eni = eni(&ec2, &subnet, &group).await;
    let report = h.run(&sg_finding("EC2.2", &group).build()).await;
    assert_outcome(&report, Outcome::Ticket, &format!("used by network interfaces {eni} (1 in all)"));
    assert_eq!(rule_count(&ec2, &group).await, 2);
}

#[tokio::test]
async fn ec2_2_non_default_group_is_a_ticket_and_missing_group_is_suppressed() {
    let h = Harness::start().await;
    let ec2 = ec2(&h);
    let vpc = vpc(&ec2).await;
    let other = group(&ec2, &vpc, "app").await;
    let report = h.run(&sg_finding("EC2.2", &other).build()).await;
    assert_outcome(&report, Outcome::Ticket, "is named \"app\"");
    assert_eq!(rule_count(&ec2, &other).await, 1, "its egress rule stays");
    let report = h.run(&sg_finding("EC2.2", "sg-0123456789abcdef0").build()).await;
    assert_outcome(&report, Outcome::Suppress, "sg-0123456789abcdef0");
}

// ---------------------------------------------------------------- EC2.4

async fn stopped_instance(ec2: &aws_sdk_ec2::Client) -> String {
    let id = instance(ec2).await;
    ec2.stop_instances().instance_ids(&id).send().await.unwrap();
    assert_eq!(state(ec2, &id).await, InstanceStateName::Stopped);
    id
}

async fn termination_snapshots(ec2: &aws_sdk_ec2::Client, id: &str) -> Vec<String> {
    let out = ec2
        .describe_snapshots()
        .owner_ids("self")
        .filters(filter("tag:secops:before-termination", id))
        .send()
        .await
        .unwrap();
    out.snapshots().iter().map(|s| s.volume_id().unwrap().to_owned()).collect()
}

#[tokio::test]
async fn ec2_4_snapshots_and_terminates_an_instance_stopped_for_30_days() {
    let h = Harness::start().await;
    let ec2 = ec2(&h);
    let id = stopped_instance(&ec2).await;
    let volume = described(&ec2, &id).await.block_device_mappings()[0].ebs().unwrap().volume_id().unwrap().to_owned();
    let h = h.days_later(31);
    let report = h.remediates(&instance_finding("EC2.4", &id).build()).await;
    let actions: Vec<&str> = report.applied.iter().map(|c| c.action.as_str()).collect();
    assert_eq!(actions, ["ec2:CreateSnapshots", "ec2:TerminateInstances"]);
    assert_eq!(state(&ec2, &id).await, InstanceStateName::Terminated);
    assert_eq!(termination_snapshots(&ec2, &id).await, vec![volume]);
}

#[tokio::test]
async fn ec2_4_exemption_by_live_tag() {
    let h = Harness::start().await;
    let ec2 = ec2(&h);
    let id = stopped_instance(&ec2).await;
    tag(&ec2, &id, "secops:ec2:stopped-intended", "true").await;
    let h = h.days_later(31);
    let report = h.exempt(&instance_finding("EC2.4", &id).build()).await;
    assert!(report.reason.contains("secops:ec2:stopped-intended"), "{}", report.reason);
    assert_eq!(state(&ec2, &id).await, InstanceStateName::Stopped);
}

#[tokio::test]
async fn ec2_4_recently_stopped_instance_is_reconsidered_later() {
    let h = Harness::start().await;
    let ec2 = ec2(&h);
    let id = stopped_instance(&ec2).await;
    let report = h.run(&instance_finding("EC2.4", &id).build()).await;
    assert_outcome(&report, Outcome::ReconsiderLater, "has been stopped for 0 days");
    assert!(report.reason.contains("from its state transition reason"), "{}", report.reason);
    assert_eq!(state(&ec2, &id).await, InstanceStateName::Stopped);
}

#[tokio::test]
async fn ec2_4_termination_protection_is_a_ticket() {
    let h = Harness::start().await;
    let ec2 = ec2(&h);
    let id = stopped_instance(&ec2).await;
    ec2.modify_instance_attribute()
        .instance_id(&id)
        .disable_api_termination(AttributeBooleanValue::builder().value(true).build())
        .send()
        .await
        .unwrap();
    let h = h.days_later(31);
    let report = h.run(&instance_finding("EC2.4", &id).build()).await;
    assert_outcome(&report, Outcome::Ticket, "termination protection on");
    assert_eq!(state(&ec2, &id).await, InstanceStateName::Stopped);
    assert_eq!(termination_snapshots(&ec2, &id).await, Vec::<String>::new());
}

#[tokio::test]
async fn ec2_4_running_instance_is_compliant() {
    let h = Harness::start().await;
    let ec2 = ec2(&h);
    let id = instance(&ec2).await;
    let report = h.days_later(31).run(&instance_finding("EC2.4", &id).build()).await;
    assert_outcome(&report, Outcome::AlreadyCompliant, "is running, not stopped");
}

// ---------------------------------------------------------------- EC2.6

fn vpc_finding(id: &str) -> FindingBuilder {
    finding("EC2.6", "AwsEc2Vpc", &format!("arn:aws:ec2:{REGION}:{ACCOUNT}:vpc/{id}"))
}

async fn flow_logs(ec2: &aws_sdk_ec2::Client, vpc: &str) -> Vec<aws_sdk_ec2::types::FlowLog> {
    let out = ec2.describe_flow_logs().filter(filter("resource-id", vpc)).send().await.unwrap();
    out.flow_logs().to_vec()
}

#[tokio::test]
async fn ec2_6_logs_rejected_traffic_and_reuses_the_role() {
    let h = Harness::start().await;
    let ec2 = ec2(&h);
    let iam = aws_sdk_iam::Client::new(&h.sdk);
    let (first, second) = (vpc(&ec2).await, vpc(&ec2).await);
    let role_arn = format!("arn:aws:iam::{ACCOUNT}:role/SecOpsVpcFlowLogs");

    let report = h.remediates(&vpc_finding(&first).build()).await;
    let actions: Vec<&str> = report.applied.iter().map(|c| c.action.as_str()).collect();
    assert_eq!(actions, ["iam:CreateRole", "iam:PutRolePolicy", "ec2:CreateFlowLogs"]);
    // The second VPC reuses the role: one CreateRole in all.
    let report = h.remediates(&vpc_finding(&second).build()).await;
    let actions: Vec<&str> = report.applied.iter().map(|c| c.action.as_str()).collect();
    assert_eq!(actions, ["ec2:CreateFlowLogs"]);

    for vpc in [&first, &second] {
        let logs = flow_logs(&ec2, vpc).await;
        assert_eq!(logs.len(), 1, "{vpc}");
        let log = &logs[0];
        assert_eq!(log.traffic_type(), Some(&aws_sdk_ec2::types::TrafficType::Reject));
        assert_eq!(log.log_group_name(), Some(format!("/secops/vpc-flow-logs/{vpc}").as_str()));
        assert_eq!(log.deliver_logs_permission_arn(), Some(role_arn.as_str()));
        assert_eq!(log.flow_log_status(), Some("ACTIVE"));
    }
    let roles = iam.list_roles().send().await.unwrap();
    let named: Vec<&str> = roles.roles().iter().map(|r| r.role_name()).filter(|n| n.starts_with("SecOps")).collect();
    assert_eq!(named, ["SecOpsVpcFlowLogs"]);
    let role = iam.get_role().role_name("SecOpsVpcFlowLogs").send().await.unwrap();
    let trust = role.role().unwrap().assume_role_policy_document().unwrap_or_default().to_owned();
    assert!(trust.contains("vpc-flow-logs.amazonaws.com") && trust.contains(ACCOUNT), "{trust}");
    let policy = iam
        .get_role_policy()
        .role_name("SecOpsVpcFlowLogs")
        .policy_name("SecOpsVpcFlowLogsDelivery")
        .send()
        .await
        .unwrap();
    let document = percent_decoded(policy.policy_document());
    assert!(document.contains("log-group:/secops/vpc-flow-logs/*\""), "{document}");
    assert!(document.contains("\"logs:PutLogEvents\""), "{document}");
}

/// IAM returns policy documents URL-encoded.
fn percent_decoded(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            out.push(u8::from_str_radix(&s[i + 1..i + 3], 16).unwrap());
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).unwrap()
}

#[tokio::test]
async fn ec2_6_exemption_by_tag() {
    let h = Harness::start().await;
    let ec2 = ec2(&h);
    let vpc = vpc(&ec2).await;
    h.exempt(&vpc_finding(&vpc).tag("secops:exempt", "all").build()).await;
    assert!(flow_logs(&ec2, &vpc).await.is_empty());
}

#[tokio::test]
async fn ec2_6_foreign_role_of_the_same_name_is_a_ticket() {
    let h = Harness::start().await;
    let ec2 = ec2(&h);
    let iam = aws_sdk_iam::Client::new(&h.sdk);
    let trust = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"ec2.amazonaws.com"},"Action":"sts:AssumeRole"}]}"#;
    iam.create_role().role_name("SecOpsVpcFlowLogs").assume_role_policy_document(trust).send().await.unwrap();
    let vpc = vpc(&ec2).await;
    let report = h.run(&vpc_finding(&vpc).build()).await;
    assert_outcome(&report, Outcome::Ticket, "does not trust vpc-flow-logs.amazonaws.com");
    assert!(flow_logs(&ec2, &vpc).await.is_empty());
}

#[tokio::test]
async fn ec2_6_missing_vpc_is_suppressed() {
    let h = Harness::start().await;
    let report = h.run(&vpc_finding("vpc-0123456789abcdef0").build()).await;
    assert_outcome(&report, Outcome::Suppress, "no longer exists");
}

// ---------------------------------------------------------------- EC2.7

async fn ebs_default(ec2: &aws_sdk_ec2::Client) -> Option<bool> {
    ec2.get_ebs_encryption_by_default().send().await.unwrap().ebs_encryption_by_default()
}

#[tokio::test]
async fn ec2_7_enables_ebs_encryption_by_default() {
    let h = Harness::start().await;
    let ec2 = ec2(&h);
    assert_eq!(ebs_default(&ec2).await, Some(false));
    let report = h.remediates(&account_finding("EC2.7").build()).await;
    assert_eq!(report.applied[0].action, "ec2:EnableEbsEncryptionByDefault");
    assert_eq!(ebs_default(&ec2).await, Some(true));
}

#[tokio::test]
async fn ec2_7_account_exemption_by_configuration() {
    let h = Harness::start_with(exempt_account("EC2.7")).await;
    let ec2 = ec2(&h);
    h.exempt(&account_finding("EC2.7").build()).await;
    assert_eq!(ebs_default(&ec2).await, Some(false));
}

// ---------------------------------------------------------------- EC2.8

#[tokio::test]
async fn ec2_8_requires_imdsv2_keeping_the_endpoint() {
    let h = Harness::start().await;
    let ec2 = ec2(&h);
    let id = instance(&ec2).await;
    let before = described(&ec2, &id).await.metadata_options().cloned().unwrap();
    assert_ne!(before.http_tokens(), Some(&HttpTokensState::Required));
    let report = h.remediates(&instance_finding("EC2.8", &id).build()).await;
    assert_eq!(report.applied[0].parameters["HttpTokens"], "required");
    assert_eq!(report.applied[0].parameters["HttpEndpoint"], "enabled");
    let after = described(&ec2, &id).await.metadata_options().cloned().unwrap();
    assert_eq!(after.http_tokens(), Some(&HttpTokensState::Required));
    assert_eq!(after.http_endpoint(), before.http_endpoint());
}

#[tokio::test]
async fn ec2_8_exemption_by_live_tag() {
    let h = Harness::start().await;
    let ec2 = ec2(&h);
    let id = instance(&ec2).await;
    tag(&ec2, &id, "secops:ec2:imdsv1-intended", "legacy agent").await;
    let report = h.exempt(&instance_finding("EC2.8", &id).build()).await;
    assert!(report.reason.contains("secops:ec2:imdsv1-intended"), "{}", report.reason);
    let tokens = described(&ec2, &id).await.metadata_options().and_then(|m| m.http_tokens().cloned());
    assert_ne!(tokens, Some(HttpTokensState::Required));
}

#[tokio::test]
async fn ec2_8_terminated_instance_is_suppressed() {
    let h = Harness::start().await;
    let ec2 = ec2(&h);
    let id = instance(&ec2).await;
    ec2.terminate_instances().instance_ids(&id).send().await.unwrap();
    let report = h.run(&instance_finding("EC2.8", &id).build()).await;
    assert_outcome(&report, Outcome::Suppress, "does not exist or is terminated");
}

// ---------------------------------------------------------------- EC2.12

fn eip_finding(allocation: &str) -> FindingBuilder {
    finding("EC2.12", "AwsEc2Eip", &format!("arn:aws:ec2:{REGION}:{ACCOUNT}:elastic-ip/{allocation}"))
}

async fn allocate(ec2: &aws_sdk_ec2::Client) -> String {
    let out = ec2.allocate_address().domain(aws_sdk_ec2::types::DomainType::Vpc).send().await.unwrap();
    out.allocation_id().unwrap().to_owned()
}

async fn address_exists(ec2: &aws_sdk_ec2::Client, allocation: &str) -> bool {
    match ec2.describe_addresses().allocation_ids(allocation).send().await {
        Ok(out) => !out.addresses().is_empty(),
        Err(e) => {
            use aws_sdk_ec2::error::ProvideErrorMetadata;
            assert_eq!(e.code(), Some("InvalidAllocationID.NotFound"), "{e:?}");
            false
        }
    }
}

#[tokio::test]
async fn ec2_12_releases_an_address_unused_for_30_days() {
    let h = Harness::start().await;
    let ec2 = ec2(&h);
    let allocation = allocate(&ec2).await;
    let report = h.remediates(&eip_finding(&allocation).first_observed(&days_ago(40)).build()).await;
    assert_eq!(report.applied[0].action, "ec2:ReleaseAddress");
    assert!(!address_exists(&ec2, &allocation).await);
}

#[tokio::test]
async fn ec2_12_exemption_by_live_tag() {
    let h = Harness::start().await;
    let ec2 = ec2(&h);
    let allocation = allocate(&ec2).await;
    tag(&ec2, &allocation, "secops:ec2:reserved-ip-intended", "partner allow-list").await;
    h.exempt(&eip_finding(&allocation).first_observed(&days_ago(40)).build()).await;
    assert!(address_exists(&ec2, &allocation).await);
}

#[tokio::test]
async fn ec2_12_recently_unused_address_is_reconsidered_later() {
    let h = Harness::start().await;
    let ec2 = ec2(&h);
    let allocation = allocate(&ec2).await;
    let report = h.run(&eip_finding(&allocation).first_observed(&days_ago(5)).build()).await;
    assert_outcome(&report, Outcome::ReconsiderLater, "first reported unused 5 days ago");
    assert!(address_exists(&ec2, &allocation).await);
}

#[tokio::test]
async fn ec2_12_associated_address_is_compliant() {
    let h = Harness::start().await;
    let ec2 = ec2(&h);
    let allocation = allocate(&ec2).await;
    let id = instance(&ec2).await;
    ec2.associate_address().allocation_id(&allocation).instance_id(&id).send().await.unwrap();
    let report = h.run(&eip_finding(&allocation).first_observed(&days_ago(40)).build()).await;
    assert_outcome(&report, Outcome::AlreadyCompliant, "is associated with");
    assert!(address_exists(&ec2, &allocation).await);
}

// ---------------------------------------------------------------- EC2.13, EC2.14, EC2.19

#[tokio::test]
async fn ec2_13_revokes_world_ssh_and_is_idempotent() {
    let h = Harness::start().await;
    let ec2 = ec2(&h);
    let vpc = vpc(&ec2).await;
    let g = group(&ec2, &vpc, "bastion").await;
    allow(&ec2, &g, "0.0.0.0/0", 22, 22, "ssh").await;
    allow(&ec2, &g, "10.0.0.0/8", 22, 22, "internal ssh").await;
    let report = h.remediates(&sg_finding("EC2.13", &g).build()).await;
    let actions: Vec<&str> = report.applied.iter().map(|c| c.action.as_str()).collect();
    assert_eq!(actions, ["ec2:RevokeSecurityGroupIngress"], "a 22-only rule leaves nothing to re-open");
    assert_eq!(ingress(&ec2, &g).await, vec![rule("10.0.0.0/8", 22, 22, "internal ssh")]);
}

#[tokio::test]
async fn ec2_13_splits_a_world_wide_range_around_port_22() {
    let h = Harness::start().await;
    let ec2 = ec2(&h);
    let vpc = vpc(&ec2).await;
    let g = group(&ec2, &vpc, "wide").await;
    allow(&ec2, &g, "0.0.0.0/0", 0, 65535, "everything").await;
    let report = h.remediates(&sg_finding("EC2.13", &g).build()).await;
    let actions: Vec<&str> = report.applied.iter().map(|c| c.action.as_str()).collect();
    assert_eq!(actions, ["ec2:AuthorizeSecurityGroupIngress", "ec2:RevokeSecurityGroupIngress"]);
    assert_eq!(
        ingress(&ec2, &g).await,
        vec![rule("0.0.0.0/0", 0, 21, "everything"), rule("0.0.0.0/0", 23, 65535, "everything")]
    );
}

#[tokio::test]
async fn ec2_13_revokes_ipv6_world_ssh() {
    let h = Harness::start().await;
    let ec2 = ec2(&h);
    let vpc = vpc(&ec2).await;
    let g = group(&ec2, &vpc, "v6").await;
    allow(&ec2, &g, "::/0", 20, 22, "v6 admin").await;
    allow(&ec2, &g, "0.0.0.0/0", 443, 443, "https").await;
    h.remediates(&sg_finding("EC2.13", &g).build()).await;
    assert_eq!(ingress(&ec2, &g).await, vec![rule("0.0.0.0/0", 443, 443, "https"), rule("::/0", 20, 21, "v6 admin")]);
}

#[tokio::test]
async fn ec2_13_world_all_traffic_rule_is_a_ticket() {
    let h = Harness::start().await;
    let ec2 = ec2(&h);
    let vpc = vpc(&ec2).await;
    let g = group(&ec2, &vpc, "open").await;
    allow_protocol(&ec2, &g, "-1", "0.0.0.0/0", -1, -1, "all").await;
    let before = ingress(&ec2, &g).await;
    let report = h.run(&sg_finding("EC2.13", &g).build()).await;
    assert_outcome(&report, Outcome::Ticket, "allows all traffic from the internet");
    assert_eq!(ingress(&ec2, &g).await, before);
}

#[tokio::test]
async fn ec2_13_exemption_by_live_tag() {
    let h = Harness::start().await;
    let ec2 = ec2(&h);
    let vpc = vpc(&ec2).await;
    let g = group(&ec2, &vpc, "sftp").await;
    allow(&ec2, &g, "0.0.0.0/0", 22, 22, "public sftp").await;
    tag(&ec2, &g, "secops:ec2:public-ssh-intended", "true").await;
    h.exempt(&sg_finding("EC2.13", &g).build()).await;
    assert_eq!(ingress(&ec2, &g).await, vec![rule("0.0.0.0/0", 22, 22, "public sftp")]);
}

#[tokio::test]
async fn ec2_14_closes_only_3389() {
    let h = Harness::start().await;
    let ec2 = ec2(&h);
    let vpc = vpc(&ec2).await;
    let g = group(&ec2, &vpc, "rdp").await;
    allow(&ec2, &g, "0.0.0.0/0", 3380, 3390, "range").await;
    allow(&ec2, &g, "0.0.0.0/0", 22, 22, "ssh is EC2.13's").await;
    allow(&ec2, &g, "10.0.0.0/8", 3389, 3389, "internal rdp").await;
    h.remediates(&sg_finding("EC2.14", &g).build()).await;
    assert_eq!(
        ingress(&ec2, &g).await,
        vec![
            rule("0.0.0.0/0", 22, 22, "ssh is EC2.13's"),
            rule("0.0.0.0/0", 3380, 3388, "range"),
            rule("0.0.0.0/0", 3390, 3390, "range"),
            rule("10.0.0.0/8", 3389, 3389, "internal rdp"),
        ]
    );
}

#[tokio::test]
async fn ec2_14_exemption_by_tag() {
    let h = Harness::start().await;
    let ec2 = ec2(&h);
    let vpc = vpc(&ec2).await;
    let g = group(&ec2, &vpc, "rdp").await;
    allow(&ec2, &g, "0.0.0.0/0", 3389, 3389, "rdp").await;
    h.exempt(&sg_finding("EC2.14", &g).tag("secops:exempt", "EC2.14").build()).await;
    assert_eq!(ingress(&ec2, &g).await, vec![rule("0.0.0.0/0", 3389, 3389, "rdp")]);
}

#[tokio::test]
async fn ec2_19_closes_every_high_risk_port_and_nothing_else() {
    let h = Harness::start().await;
    let ec2 = ec2(&h);
    let vpc = vpc(&ec2).await;
    let g = group(&ec2, &vpc, "legacy").await;
    allow(&ec2, &g, "0.0.0.0/0", 0, 1000, "low").await;
    allow(&ec2, &g, "0.0.0.0/0", 3306, 3306, "mysql").await;
    allow(&ec2, &g, "0.0.0.0/0", 8443, 8443, "alt https").await;
    allow(&ec2, &g, "10.0.0.0/8", 5432, 5432, "internal postgres").await;
    h.remediates(&sg_finding("EC2.19", &g).build()).await;
    let kept: Vec<_> = [(0, 19), (24, 24), (26, 109), (111, 134), (136, 142), (144, 444), (446, 1000)]
        .into_iter()
        .map(|(f, t)| rule("0.0.0.0/0", f, t, "low"))
        .chain([rule("0.0.0.0/0", 8443, 8443, "alt https"), rule("10.0.0.0/8", 5432, 5432, "internal postgres")])
        .collect();
    let mut expected = kept;
    expected.sort();
    assert_eq!(ingress(&ec2, &g).await, expected);
}

#[tokio::test]
async fn ec2_19_exemption_by_live_tag() {
    let h = Harness::start().await;
    let ec2 = ec2(&h);
    let vpc = vpc(&ec2).await;
    let g = group(&ec2, &vpc, "grafana").await;
    allow(&ec2, &g, "0.0.0.0/0", 3000, 3000, "dashboards").await;
    tag(&ec2, &g, "secops:ec2:public-ports-intended", "true").await;
    h.exempt(&sg_finding("EC2.19", &g).build()).await;
    assert_eq!(ingress(&ec2, &g).await, vec![rule("0.0.0.0/0", 3000, 3000, "dashboards")]);
}

// ---------------------------------------------------------------- EC2.15

fn subnet_finding(id: &str) -> FindingBuilder {
    finding("EC2.15", "AwsEc2Subnet", &format!("arn:aws:ec2:{REGION}:{ACCOUNT}:subnet/{id}"))
}

async fn public_subnet(ec2: &aws_sdk_ec2::Client) -> String {
    let vpc = vpc(ec2).await;
    let id = subnet(ec2, &vpc).await;
    ec2.modify_subnet_attribute()
        .subnet_id(&id)
        .map_public_ip_on_launch(AttributeBooleanValue::builder().value(true).build())
        .send()
        .await
        .unwrap();
    id
}

async fn maps_public_ip(ec2: &aws_sdk_ec2::Client, id: &str) -> Option<bool> {
    ec2.describe_subnets().subnet_ids(id).send().await.unwrap().subnets()[0].map_public_ip_on_launch()
}

#[tokio::test]
async fn ec2_15_stops_assigning_public_ips() {
    let h = Harness::start().await;
    let ec2 = ec2(&h);
    let id = public_subnet(&ec2).await;
    h.remediates(&subnet_finding(&id).build()).await;
    assert_eq!(maps_public_ip(&ec2, &id).await, Some(false));
}

#[tokio::test]
async fn ec2_15_exemption_by_live_tag() {
    let h = Harness::start().await;
    let ec2 = ec2(&h);
    let id = public_subnet(&ec2).await;
    tag(&ec2, &id, "secops:ec2:public-subnet-intended", "true").await;
    h.exempt(&subnet_finding(&id).build()).await;
    assert_eq!(maps_public_ip(&ec2, &id).await, Some(true));
}

// ---------------------------------------------------------------- EC2.22

async fn group_exists(ec2: &aws_sdk_ec2::Client, id: &str) -> bool {
    match ec2.describe_security_groups().group_ids(id).send().await {
        Ok(out) => !out.security_groups().is_empty(),
        Err(e) => {
            use aws_sdk_ec2::error::ProvideErrorMetadata;
            assert_eq!(e.code(), Some("InvalidGroup.NotFound"), "{e:?}");
            false
        }
    }
}

#[tokio::test]
async fn ec2_22_deletes_an_unused_group() {
    let h = Harness::start().await;
    let ec2 = ec2(&h);
    let vpc = vpc(&ec2).await;
    let g = group(&ec2, &vpc, "leftover").await;
    let report = h.remediates(&sg_finding("EC2.22", &g).first_observed(&days_ago(3)).build()).await;
    assert_eq!(report.applied[0].action, "ec2:DeleteSecurityGroup");
    assert!(!group_exists(&ec2, &g).await);
}

#[tokio::test]
async fn ec2_22_exemption_by_live_tag() {
    let h = Harness::start().await;
    let ec2 = ec2(&h);
    let vpc = vpc(&ec2).await;
    let g = group(&ec2, &vpc, "spare").await;
    tag(&ec2, &g, "secops:ec2:unused-group-intended", "failover").await;
    h.exempt(&sg_finding("EC2.22", &g).first_observed(&days_ago(3)).build()).await;
    assert!(group_exists(&ec2, &g).await);
}

#[tokio::test]
async fn ec2_22_group_used_by_an_interface_is_a_ticket() {
    let h = Harness::start().await;
    let ec2 = ec2(&h);
    let vpc = vpc(&ec2).await;
    let g = group(&ec2, &vpc, "attached").await;
    let subnet = subnet(&ec2, &vpc).await;
    let eni = eni(&ec2, &subnet, &g).await;
    let report = h.run(&sg_finding("EC2.22", &g).first_observed(&days_ago(3)).build()).await;
    assert_outcome(&report, Outcome::Ticket, &format!("used by network interfaces {eni} (1 in all)"));
    assert!(group_exists(&ec2, &g).await);
}

#[tokio::test]
async fn ec2_22_group_referenced_by_another_group_is_a_ticket() {
    let h = Harness::start().await;
    let ec2 = ec2(&h);
    let vpc = vpc(&ec2).await;
    let g = group(&ec2, &vpc, "clients").await;
    let db = group(&ec2, &vpc, "db").await;
    let from_clients = IpPermission::builder()
        .ip_protocol("tcp")
        .from_port(5432)
        .to_port(5432)
        .user_id_group_pairs(UserIdGroupPair::builder().group_id(&g).build())
        .build();
    ec2.authorize_security_group_ingress().group_id(&db).ip_permissions(from_clients).send().await.unwrap();
    let report = h.run(&sg_finding("EC2.22", &g).first_observed(&days_ago(3)).build()).await;
    assert_outcome(&report, Outcome::Ticket, &format!("referenced by rules of {db} (db) (1 in all)"));
    assert!(group_exists(&ec2, &g).await);
}

#[tokio::test]
async fn ec2_22_default_group_is_a_ticket() {
    let h = Harness::start().await;
    let ec2 = ec2(&h);
    let vpc = vpc(&ec2).await;
    let g = default_group(&ec2, &vpc).await;
    let report = h.run(&sg_finding("EC2.22", &g).first_observed(&days_ago(3)).build()).await;
    assert_outcome(&report, Outcome::Ticket, "cannot be deleted");
    assert!(group_exists(&ec2, &g).await);
}

#[tokio::test]
async fn ec2_22_newly_reported_group_is_reconsidered_later() {
    let h = Harness::start().await;
    let ec2 = ec2(&h);
    let vpc = vpc(&ec2).await;
    let g = group(&ec2, &vpc, "fresh").await;
    let report = h.run(&sg_finding("EC2.22", &g).first_observed(&days_ago(0)).build()).await;
    assert_outcome(&report, Outcome::ReconsiderLater, "less than 1 day ago");
    assert!(group_exists(&ec2, &g).await);
}
