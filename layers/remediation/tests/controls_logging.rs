//! Account logging and detection remediations against moto (CloudTrail, Config, GuardDuty, ELB
//! access logs): each creates the non-compliant state, runs plan → apply → verify, reads the real
//! state back, re-runs for idempotency, and checks the exemption and the guards.

mod support;

use secops_remediation::Outcome;
use support::*;

const LOG_BUCKET: &str = "secops-logs-123456789012-us-east-1";

fn account_exempt(control: &str) -> impl FnOnce(&mut secops_core::RemediationConfig) {
    let control = control.to_owned();
    move |s| {
        s.exempt_accounts = vec![secops_core::RemediationExemption { scope: ACCOUNT.into(), control: Some(control) }]
    }
}

fn trail_arn(name: &str) -> String {
    format!("arn:aws:cloudtrail:{REGION}:{ACCOUNT}:trail/{name}")
}

/// A single-region trail into its own bucket, not logging, without validation or encryption.
async fn plain_trail(h: &Harness, name: &str) -> aws_sdk_cloudtrail::Client {
    let s3 = aws_sdk_s3::Client::new(&h.sdk);
    let bucket = format!("{name}-bucket");
    s3.create_bucket().bucket(&bucket).send().await.unwrap();
    let ct = aws_sdk_cloudtrail::Client::new(&h.sdk);
    ct.create_trail().name(name).s3_bucket_name(&bucket).send().await.expect("create trail");
    ct
}

async fn trail(ct: &aws_sdk_cloudtrail::Client, name: &str) -> aws_sdk_cloudtrail::types::Trail {
    ct.get_trail().name(name).send().await.unwrap().trail().unwrap().clone()
}

/// IAM returns policy documents URL-encoded.
fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' {
            out.push(u8::from_str_radix(std::str::from_utf8(&b[i + 1..i + 3]).unwrap(), 16).unwrap());
            i += 3;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8(out).unwrap()
}

fn trail_finding(control: &str, name: &str) -> FindingBuilder {
    finding(control, "AwsCloudTrailTrail", &trail_arn(name))
}

#[tokio::test]
async fn cloudtrail_1_creates_a_multi_region_trail_and_is_idempotent() {
    let h = Harness::start().await;
    let report = h.remediates(&account_finding("CloudTrail.1").build()).await;
    let actions: Vec<&str> = report.applied.iter().map(|c| c.action.as_str()).collect();
    assert_eq!(
        &actions[actions.len() - 3..],
        ["cloudtrail:CreateTrail", "cloudtrail:PutEventSelectors", "cloudtrail:StartLogging"]
    );
    assert_eq!(actions[0], "s3:CreateBucket", "the log bucket comes first");
    let ct = aws_sdk_cloudtrail::Client::new(&h.sdk);
    let t = trail(&ct, "secops-trail").await;
    assert_eq!(t.is_multi_region_trail(), Some(true));
    assert_eq!(t.include_global_service_events(), Some(true));
    assert_eq!(t.log_file_validation_enabled(), Some(true));
    assert_eq!(t.s3_bucket_name(), Some(LOG_BUCKET));
    assert_eq!(ct.get_trail_status().name("secops-trail").send().await.unwrap().is_logging(), Some(true));
    let sel = ct.get_event_selectors().trail_name("secops-trail").send().await.unwrap();
    let s = &sel.event_selectors()[0];
    assert_eq!(
        (s.read_write_type(), s.include_management_events()),
        (Some(&aws_sdk_cloudtrail::types::ReadWriteType::All), Some(true))
    );
}

#[tokio::test]
async fn cloudtrail_1_fixes_its_own_stopped_trail_without_a_second_one() {
    let h = Harness::start().await;
    let ct = plain_trail(&h, "secops-trail").await;
    let report = h.remediates(&account_finding("CloudTrail.1").build()).await;
    let actions: Vec<&str> = report.applied.iter().map(|c| c.action.as_str()).collect();
    assert_eq!(actions, ["cloudtrail:UpdateTrail", "cloudtrail:PutEventSelectors", "cloudtrail:StartLogging"]);
    let trails = ct.describe_trails().send().await.unwrap();
    assert_eq!(trails.trail_list().len(), 1, "no duplicate trail");
    assert_eq!(trail(&ct, "secops-trail").await.is_multi_region_trail(), Some(true));
    assert_eq!(ct.get_trail_status().name("secops-trail").send().await.unwrap().is_logging(), Some(true));
}

#[tokio::test]
async fn cloudtrail_1_exempt_account_is_untouched() {
    let h = Harness::start_with(account_exempt("CloudTrail.1")).await;
    let report = h.exempt(&account_finding("CloudTrail.1").build()).await;
    assert!(report.reason.contains("by configuration"), "{}", report.reason);
    let ct = aws_sdk_cloudtrail::Client::new(&h.sdk);
    assert!(ct.describe_trails().send().await.unwrap().trail_list().is_empty());
}

#[tokio::test]
async fn cloudtrail_1_own_trail_with_data_selectors_is_a_ticket() {
    let h = Harness::start().await;
    let ct = plain_trail(&h, "secops-trail").await;
    let data = aws_sdk_cloudtrail::types::DataResource::builder()
        .r#type("AWS::S3::Object")
        .values("arn:aws:s3:::secops-trail-bucket/")
        .build();
    let selector = aws_sdk_cloudtrail::types::EventSelector::builder()
        .read_write_type(aws_sdk_cloudtrail::types::ReadWriteType::WriteOnly)
        .include_management_events(false)
        .data_resources(data)
        .build();
    ct.put_event_selectors().trail_name("secops-trail").event_selectors(selector).send().await.unwrap();
    ct.update_trail().name("secops-trail").is_multi_region_trail(true).send().await.unwrap();
    ct.start_logging().name("secops-trail").send().await.unwrap();
    let report = h.run(&account_finding("CloudTrail.1").build()).await;
    assert_eq!(report.outcome, Outcome::Ticket, "{}", report.summary());
    assert!(report.reason.contains("data-event or advanced selectors"), "{}", report.reason);
}

#[tokio::test]
async fn cloudtrail_2_encrypts_with_a_new_key_and_reuses_it() {
    let h = Harness::start().await;
    let ct = plain_trail(&h, "audit").await;
    plain_trail(&h, "audit-two").await;
    let report = h.remediates(&trail_finding("CloudTrail.2", "audit").build()).await;
    let actions: Vec<&str> = report.applied.iter().map(|c| c.action.as_str()).collect();
    assert_eq!(actions, ["kms:CreateKey", "cloudtrail:UpdateTrail"]);
    let alias_arn = format!("arn:aws:kms:{REGION}:{ACCOUNT}:alias/secops-cloudtrail");
    assert_eq!(trail(&ct, "audit").await.kms_key_id(), Some(alias_arn.as_str()));
    let kms = aws_sdk_kms::Client::new(&h.sdk);
    let key = kms.describe_key().key_id("alias/secops-cloudtrail").send().await.unwrap();
    let key_id = key.key_metadata().unwrap().key_id().to_owned();
    let policy = kms.get_key_policy().key_id(&key_id).policy_name("default").send().await.unwrap();
    let policy: serde_json::Value = serde_json::from_str(policy.policy().unwrap()).unwrap();
    assert_eq!(policy["Statement"][0]["Principal"]["AWS"], format!("arn:aws:iam::{ACCOUNT}:root"));
    assert_eq!(policy["Statement"][1]["Principal"]["Service"], "cloudtrail.amazonaws.com");
    assert_eq!(policy["Statement"][1]["Action"], "kms:GenerateDataKey*");
    assert_eq!(
        policy["Statement"][1]["Condition"]["StringLike"]["aws:SourceArn"],
        format!("arn:aws:cloudtrail:*:{ACCOUNT}:trail/*")
    );
    // A second trail reuses the key: no second CreateKey.
    let second = h.remediates(&trail_finding("CloudTrail.2", "audit-two").build()).await;
    let actions: Vec<&str> = second.applied.iter().map(|c| c.action.as_str()).collect();
    assert_eq!(actions, ["cloudtrail:UpdateTrail"]);
    assert_eq!(kms.list_keys().send().await.unwrap().keys().len(), 1, "one key for every trail");
}

#[tokio::test]
async fn cloudtrail_2_exemption_and_foreign_key_ticket() {
    let h = Harness::start().await;
    let ct = plain_trail(&h, "exempt-trail").await;
    h.exempt(&trail_finding("CloudTrail.2", "exempt-trail").tag("secops:exempt", "CloudTrail.2").build()).await;
    assert_eq!(trail(&ct, "exempt-trail").await.kms_key_id(), None);
    // Someone else's key under the catalogue's alias, without a CloudTrail statement: a ticket.
    let kms = aws_sdk_kms::Client::new(&h.sdk);
    let key = kms.create_key().send().await.unwrap().key_metadata().unwrap().key_id().to_owned();
    kms.create_alias().alias_name("alias/secops-cloudtrail").target_key_id(&key).send().await.unwrap();
    plain_trail(&h, "other-trail").await;
    let report = h.run(&trail_finding("CloudTrail.2", "other-trail").build()).await;
    assert_eq!(report.outcome, Outcome::Ticket, "{}", report.summary());
    assert!(report.reason.contains("does not let cloudtrail.amazonaws.com"), "{}", report.reason);
    assert_eq!(trail(&ct, "other-trail").await.kms_key_id(), None);
}

#[tokio::test]
async fn cloudtrail_2_missing_trail_is_suppressed() {
    let h = Harness::start().await;
    let report = h.run(&trail_finding("CloudTrail.2", "deleted-trail").build()).await;
    assert_eq!(report.outcome, Outcome::Suppress, "{}", report.summary());
    assert!(report.reason.contains("no longer exists"), "{}", report.reason);
}

#[tokio::test]
async fn cloudtrail_4_turns_on_log_file_validation_and_is_idempotent() {
    let h = Harness::start().await;
    let ct = plain_trail(&h, "unvalidated").await;
    assert_eq!(trail(&ct, "unvalidated").await.log_file_validation_enabled(), Some(false));
    let report = h.remediates(&trail_finding("CloudTrail.4", "unvalidated").build()).await;
    assert_eq!(report.applied[0].parameters["EnableLogFileValidation"], true);
    assert_eq!(trail(&ct, "unvalidated").await.log_file_validation_enabled(), Some(true));
}

#[tokio::test]
async fn cloudtrail_4_exempt_trail_is_untouched() {
    let h = Harness::start().await;
    let ct = plain_trail(&h, "legacy").await;
    let tag = aws_sdk_cloudtrail::types::Tag::builder().key("secops:exempt").value("CloudTrail.4").build().unwrap();
    ct.add_tags().resource_id(trail_arn("legacy")).tags_list(tag).send().await.unwrap();
    let report = h.exempt(&trail_finding("CloudTrail.4", "legacy").build()).await;
    assert!(report.reason.contains("secops:exempt"), "{}", report.reason);
    assert_eq!(trail(&ct, "legacy").await.log_file_validation_enabled(), Some(false));
}

#[tokio::test]
async fn cloudtrail_5_delivers_to_cloudwatch_logs_and_reuses_the_role() {
    let h = Harness::start().await;
    let ct = plain_trail(&h, "to-logs").await;
    plain_trail(&h, "to-logs-two").await;
    let report = h.remediates(&trail_finding("CloudTrail.5", "to-logs").build()).await;
    let actions: Vec<&str> = report.applied.iter().map(|c| c.action.as_str()).collect();
    assert_eq!(
        actions,
        [
            "logs:CreateLogGroup",
            "logs:PutRetentionPolicy",
            "iam:CreateRole",
            "iam:PutRolePolicy",
            "cloudtrail:UpdateTrail"
        ]
    );
    let t = trail(&ct, "to-logs").await;
    let group_arn = format!("arn:aws:logs:{REGION}:{ACCOUNT}:log-group:/secops/cloudtrail/to-logs");
    assert_eq!(t.cloud_watch_logs_log_group_arn(), Some(format!("{group_arn}:*").as_str()));
    assert_eq!(
        t.cloud_watch_logs_role_arn(),
        Some(format!("arn:aws:iam::{ACCOUNT}:role/SecOpsCloudTrailToLogs").as_str())
    );
    let logs = aws_sdk_cloudwatchlogs::Client::new(&h.sdk);
    let groups = logs.describe_log_groups().log_group_name_prefix("/secops/cloudtrail/to-logs").send().await.unwrap();
    assert_eq!(groups.log_groups()[0].retention_in_days(), Some(365));
    let iam = aws_sdk_iam::Client::new(&h.sdk);
    let inline = iam
        .get_role_policy()
        .role_name("SecOpsCloudTrailToLogs")
        .policy_name("secops-cloudtrail-logs-to-logs")
        .send()
        .await
        .unwrap();
    let doc: serde_json::Value = serde_json::from_str(&percent_decode(inline.policy_document())).unwrap();
    assert_eq!(
        doc["Statement"],
        serde_json::json!([{"Sid": "CloudTrailWritesItsLogGroup", "Effect": "Allow",
            "Action": ["logs:CreateLogStream", "logs:PutLogEvents"], "Resource": format!("{group_arn}:log-stream:*")}])
    );
    // The second trail reuses the role and adds its own inline policy.
    let second = h.remediates(&trail_finding("CloudTrail.5", "to-logs-two").build()).await;
    let actions: Vec<&str> = second.applied.iter().map(|c| c.action.as_str()).collect();
    assert_eq!(
        actions,
        ["logs:CreateLogGroup", "logs:PutRetentionPolicy", "iam:PutRolePolicy", "cloudtrail:UpdateTrail"]
    );
}

#[tokio::test]
async fn cloudtrail_5_exemption_and_foreign_role_ticket() {
    let h = Harness::start().await;
    let ct = plain_trail(&h, "quiet").await;
    h.exempt(&trail_finding("CloudTrail.5", "quiet").tag("secops:exempt", "CloudTrail.5").build()).await;
    assert_eq!(trail(&ct, "quiet").await.cloud_watch_logs_log_group_arn(), None);
    let iam = aws_sdk_iam::Client::new(&h.sdk);
    let trust = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"ec2.amazonaws.com"},"Action":"sts:AssumeRole"}]}"#;
    iam.create_role().role_name("SecOpsCloudTrailToLogs").assume_role_policy_document(trust).send().await.unwrap();
    let report = h.run(&trail_finding("CloudTrail.5", "quiet").build()).await;
    assert_eq!(report.outcome, Outcome::Ticket, "{}", report.summary());
    assert!(report.reason.contains("does not trust cloudtrail.amazonaws.com"), "{}", report.reason);
}

#[tokio::test]
async fn config_1_enables_recording_of_everything_and_is_idempotent() {
    let h = Harness::start().await;
    let report = h.remediates(&account_finding("Config.1").build()).await;
    let actions: Vec<&str> = report.applied.iter().map(|c| c.action.as_str()).collect();
    assert_eq!(actions[0], "iam:CreateServiceLinkedRole");
    assert_eq!(
        &actions[actions.len() - 3..],
        ["config:PutConfigurationRecorder", "config:PutDeliveryChannel", "config:StartConfigurationRecorder"]
    );
    let config = aws_sdk_config::Client::new(&h.sdk);
    let recorders = config.describe_configuration_recorders().send().await.unwrap();
    let r = &recorders.configuration_recorders()[0];
    assert_eq!(r.name(), Some("default"));
    let g = r.recording_group().unwrap();
    assert!(g.all_supported() && g.include_global_resource_types());
    assert!(r.role_arn().unwrap().ends_with("/aws-service-role/config.amazonaws.com/AWSServiceRoleForConfig"));
    let status = config.describe_configuration_recorder_status().send().await.unwrap();
    assert!(status.configuration_recorders_status()[0].recording());
    let channels = config.describe_delivery_channels().send().await.unwrap();
    assert_eq!(channels.delivery_channels()[0].s3_bucket_name(), Some(LOG_BUCKET));
}

#[tokio::test]
async fn config_1_leaves_a_control_tower_recorder_to_control_tower() {
    let h = Harness::start().await;
    let config = aws_sdk_config::Client::new(&h.sdk);
    // Control Tower records global resources only in its home region.
    let group = aws_sdk_config::types::RecordingGroup::builder()
        .all_supported(true)
        .include_global_resource_types(false)
        .build();
    let recorder = aws_sdk_config::types::ConfigurationRecorder::builder()
        .name("aws-controltower-BaselineConfigRecorder")
        .role_arn(format!("arn:aws:iam::{ACCOUNT}:role/aws-controltower-ConfigRecorderRole"))
        .recording_group(group)
        .build();
    config.put_configuration_recorder().configuration_recorder(recorder).send().await.unwrap();
    let report = h.run(&account_finding("Config.1").build()).await;
    assert_eq!(report.outcome, secops_remediation::Outcome::Ticket, "{}", report.summary());
    assert!(report.reason.contains("Control Tower"), "{}", report.reason);
    let recorders = config.describe_configuration_recorders().send().await.unwrap();
    let r = &recorders.configuration_recorders()[0];
    let group = r.recording_group().unwrap();
    assert!(!group.include_global_resource_types(), "the recorder is untouched");
    assert!(r.role_arn().unwrap().ends_with("role/aws-controltower-ConfigRecorderRole"));
}

#[tokio::test]
async fn config_1_exempt_account_is_untouched() {
    let h = Harness::start_with(account_exempt("Config.1")).await;
    h.exempt(&account_finding("Config.1").build()).await;
    let config = aws_sdk_config::Client::new(&h.sdk);
    assert!(config.describe_configuration_recorders().send().await.unwrap().configuration_recorders().is_empty());
}

#[tokio::test]
async fn guardduty_1_creates_a_detector_and_is_idempotent() {
    let h = Harness::start().await;
    let report = h.remediates(&account_finding("GuardDuty.1").build()).await;
    assert_eq!(report.applied[0].action, "guardduty:CreateDetector");
    let gd = aws_sdk_guardduty::Client::new(&h.sdk);
    let ids = gd.list_detectors().send().await.unwrap().detector_ids().to_vec();
    assert_eq!(ids.len(), 1);
    let d = gd.get_detector().detector_id(&ids[0]).send().await.unwrap();
    assert_eq!(d.status(), Some(&aws_sdk_guardduty::types::DetectorStatus::Enabled));
}

#[tokio::test]
async fn guardduty_1_enables_a_disabled_detector() {
    let h = Harness::start().await;
    let gd = aws_sdk_guardduty::Client::new(&h.sdk);
    let id = gd.create_detector().enable(false).send().await.unwrap().detector_id().unwrap().to_owned();
    let report = h.remediates(&account_finding("GuardDuty.1").build()).await;
    assert_eq!(report.applied[0].action, "guardduty:UpdateDetector");
    assert_eq!(report.applied[0].parameters["DetectorId"], id.as_str());
    assert_eq!(gd.list_detectors().send().await.unwrap().detector_ids(), [id.as_str()]);
    let d = gd.get_detector().detector_id(&id).send().await.unwrap();
    assert_eq!(d.status(), Some(&aws_sdk_guardduty::types::DetectorStatus::Enabled));
}

#[tokio::test]
async fn guardduty_1_exempt_account_is_untouched() {
    let h = Harness::start_with(account_exempt("GuardDuty.1")).await;
    h.exempt(&account_finding("GuardDuty.1").build()).await;
    let gd = aws_sdk_guardduty::Client::new(&h.sdk);
    assert!(gd.list_detectors().send().await.unwrap().detector_ids().is_empty());
}

async fn load_balancer(
    h: &Harness,
    name: &str,
    kind: aws_sdk_elasticloadbalancingv2::types::LoadBalancerTypeEnum,
) -> String {
    let ec2 = aws_sdk_ec2::Client::new(&h.sdk);
    let subnets: Vec<String> = ec2
        .describe_subnets()
        .send()
        .await
        .unwrap()
        .subnets()
        .iter()
        .filter_map(|s| s.subnet_id().map(str::to_owned))
        .take(2)
        .collect();
    let elb = aws_sdk_elasticloadbalancingv2::Client::new(&h.sdk);
    let out = elb.create_load_balancer().name(name).set_subnets(Some(subnets)).r#type(kind).send().await.unwrap();
    out.load_balancers()[0].load_balancer_arn().unwrap().to_owned()
}

async fn lb_attributes(h: &Harness, arn: &str) -> std::collections::BTreeMap<String, String> {
    let elb = aws_sdk_elasticloadbalancingv2::Client::new(&h.sdk);
    let out = elb.describe_load_balancer_attributes().load_balancer_arn(arn).send().await.unwrap();
    out.attributes().iter().map(|a| (a.key().unwrap().to_owned(), a.value().unwrap_or_default().to_owned())).collect()
}

#[tokio::test]
async fn elb_5_turns_on_access_logs_and_is_idempotent() {
    let h = Harness::start().await;
    let arn = load_balancer(&h, "web", aws_sdk_elasticloadbalancingv2::types::LoadBalancerTypeEnum::Application).await;
    let report = h.remediates(&finding("ELB.5", "AwsElbv2LoadBalancer", &arn).build()).await;
    assert_eq!(report.applied.last().unwrap().action, "elasticloadbalancing:ModifyLoadBalancerAttributes");
    let attrs = lb_attributes(&h, &arn).await;
    assert_eq!(attrs["access_logs.s3.enabled"], "true");
    assert_eq!(attrs["access_logs.s3.bucket"], LOG_BUCKET);
    assert_eq!(attrs["access_logs.s3.prefix"], "elb/web");
    let s3 = aws_sdk_s3::Client::new(&h.sdk);
    let policy = s3.get_bucket_policy().bucket(LOG_BUCKET).send().await.unwrap();
    assert!(policy.policy().unwrap().contains("logdelivery.elasticloadbalancing.amazonaws.com"));
}

#[tokio::test]
async fn elb_5_network_load_balancer_is_a_ticket_and_exemption_works() {
    let h = Harness::start().await;
    let nlb = load_balancer(&h, "net", aws_sdk_elasticloadbalancingv2::types::LoadBalancerTypeEnum::Network).await;
    let report = h.run(&finding("ELB.5", "AwsElbv2LoadBalancer", &nlb).build()).await;
    assert_eq!(report.outcome, Outcome::Ticket, "{}", report.summary());
    assert!(report.reason.contains("is a network load balancer"), "{}", report.reason);
    let alb =
        load_balancer(&h, "internal", aws_sdk_elasticloadbalancingv2::types::LoadBalancerTypeEnum::Application).await;
    let elb = aws_sdk_elasticloadbalancingv2::Client::new(&h.sdk);
    let tag = aws_sdk_elasticloadbalancingv2::types::Tag::builder().key("secops:exempt").value("ELB.5").build();
    elb.add_tags().resource_arns(&alb).tags(tag).send().await.unwrap();
    h.exempt(&finding("ELB.5", "AwsElbv2LoadBalancer", &alb).build()).await;
    for arn in [nlb, alb] {
        assert_ne!(lb_attributes(&h, &arn).await.get("access_logs.s3.enabled").map(String::as_str), Some("true"));
    }
}

#[tokio::test]
async fn elb_5_rejects_an_id_that_is_not_a_load_balancer_arn() {
    let h = Harness::start().await;
    let err =
        h.run_with(&finding("ELB.5", "AwsElbv2LoadBalancer", "web").build(), Default::default()).await.unwrap_err();
    assert!(err.to_string().contains("expected a load balancer ARN"), "{err}");
}
