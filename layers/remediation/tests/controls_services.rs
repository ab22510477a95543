//! ECR, Lambda, SNS, SQS, SSM and Secrets Manager remediations: each creates a non-compliant
//! resource in moto (or answers as the service with wiremock where moto cannot), runs plan →
//! apply → verify, reads the real state back, re-runs for idempotency, and checks exemptions and
//! guards.

mod support;

use secops_remediation::{Outcome, Request};
use serde_json::{json, Value};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use support::*;
use wiremock::matchers::{body_partial_json, header, method};
use wiremock::{Mock, MockServer, Respond, ResponseTemplate};

fn arn(service: &str, resource: &str) -> String {
    format!("arn:aws:{service}:{REGION}:{ACCOUNT}:{resource}")
}

// ---------------------------------------------------------------- ECR

async fn repository(h: &Harness, name: &str) -> aws_sdk_ecr::Client {
    let ecr = aws_sdk_ecr::Client::new(&h.sdk);
    ecr.create_repository().repository_name(name).send().await.expect("create repository");
    ecr
}

fn repo_finding(control: &str, name: &str) -> FindingBuilder {
    finding(control, "AwsEcrRepository", &arn("ecr", &format!("repository/{name}")))
}

async fn repo(ecr: &aws_sdk_ecr::Client, name: &str) -> aws_sdk_ecr::types::Repository {
    let out = ecr.describe_repositories().repository_names(name).send().await.expect("describe");
    out.repositories()[0].clone()
}

fn scan_on_push(r: &aws_sdk_ecr::types::Repository) -> bool {
    r.image_scanning_configuration().expect("scanning configuration").scan_on_push()
}

#[tokio::test]
async fn ecr_1_turns_on_scan_on_push_and_is_idempotent() {
    let h = Harness::start().await;
    let ecr = repository(&h, "team/app").await;
    assert!(!scan_on_push(&repo(&ecr, "team/app").await));
    let report = h.remediates(&repo_finding("ECR.1", "team/app").build()).await;
    assert_eq!(report.applied.len(), 1);
    assert_eq!(report.applied[0].action, "ecr:PutImageScanningConfiguration");
    assert_eq!(
        report.applied[0].parameters,
        json!({"RegistryId": ACCOUNT, "RepositoryName": "team/app", "ScanOnPush": true})
    );
    assert!(scan_on_push(&repo(&ecr, "team/app").await));
}

#[tokio::test]
async fn ecr_1_enhanced_registry_scanning_of_every_repository_is_compliant() {
    let h = Harness::start().await;
    let ecr = repository(&h, "covered").await;
    let filter = aws_sdk_ecr::types::ScanningRepositoryFilter::builder()
        .filter("*")
        .filter_type(aws_sdk_ecr::types::ScanningRepositoryFilterType::Wildcard)
        .build()
        .unwrap();
    let rule = aws_sdk_ecr::types::RegistryScanningRule::builder()
        .scan_frequency(aws_sdk_ecr::types::ScanFrequency::ScanOnPush)
        .repository_filters(filter)
        .build()
        .unwrap();
    ecr.put_registry_scanning_configuration()
        .scan_type(aws_sdk_ecr::types::ScanType::Enhanced)
        .rules(rule)
        .send()
        .await
        .unwrap();
    let report = h.run(&repo_finding("ECR.1", "covered").build()).await;
    assert_eq!(report.outcome, Outcome::AlreadyCompliant, "{}", report.summary());
    assert!(report.reason.contains("ENHANCED, filter *"), "{}", report.reason);
    assert!(!scan_on_push(&repo(&ecr, "covered").await), "the repository setting was left alone");
}

#[tokio::test]
async fn ecr_1_exempt_repository_is_not_changed() {
    let h = Harness::start().await;
    let ecr = repository(&h, "exempt-scan").await;
    h.exempt(&repo_finding("ECR.1", "exempt-scan").tag("secops:exempt", "ECR.1").build()).await;
    assert!(!scan_on_push(&repo(&ecr, "exempt-scan").await));
}

#[tokio::test]
async fn ecr_1_missing_repository_is_suppressed() {
    let h = Harness::start().await;
    let report = h.run(&repo_finding("ECR.1", "never-created").build()).await;
    assert_eq!(report.outcome, Outcome::Suppress, "{}", report.summary());
    assert!(report.reason.contains("no longer exists"), "{}", report.reason);
}

#[tokio::test]
async fn ecr_1_rejects_an_id_that_is_not_a_repository_arn() {
    let h = Harness::start().await;
    let f = finding("ECR.1", "AwsEcrRepository", "team/app").build();
    let err = h.run_with(&f, Request::default()).await.expect_err("an invalid id is refused");
    assert!(err.to_string().contains("repository/<name>"), "{err}");
}

#[tokio::test]
async fn ecr_2_makes_tags_immutable_and_is_idempotent() {
    let h = Harness::start().await;
    let ecr = repository(&h, "team/api").await;
    let report = h.remediates(&repo_finding("ECR.2", "team/api").build()).await;
    assert_eq!(report.applied[0].action, "ecr:PutImageTagMutability");
    assert!(report.applied[0].why.contains("latest"), "{}", report.applied[0].why);
    assert_eq!(repo(&ecr, "team/api").await.image_tag_mutability().map(|m| m.as_str()), Some("IMMUTABLE"));
}

#[tokio::test]
async fn ecr_2_mutable_tags_intended_tag_exempts() {
    let h = Harness::start().await;
    let ecr = repository(&h, "moving-tags").await;
    let tag = aws_sdk_ecr::types::Tag::builder().key("secops:ecr:mutable-tags-intended").value("true").build().unwrap();
    ecr.tag_resource().resource_arn(arn("ecr", "repository/moving-tags")).tags(tag).send().await.unwrap();
    let report = h.exempt(&repo_finding("ECR.2", "moving-tags").build()).await;
    assert!(report.reason.contains("secops:ecr:mutable-tags-intended"), "{}", report.reason);
    assert_eq!(repo(&ecr, "moving-tags").await.image_tag_mutability().map(|m| m.as_str()), Some("MUTABLE"));
}

#[tokio::test]
async fn ecr_2_needs_approval_in_prod() {
    let h = Harness::start_with(|s| s.approval_environments = vec!["PROD".into()]).await;
    let ecr = repository(&h, "prod-repo").await;
    let request = Request { environment: Some("PROD".into()), ..Request::default() };
    let report = h.run_with(&repo_finding("ECR.2", "prod-repo").build(), request).await.unwrap();
    assert_eq!(report.outcome, Outcome::ApprovalRequired, "{}", report.summary());
    assert!(report.applied.is_empty());
    assert_eq!(repo(&ecr, "prod-repo").await.image_tag_mutability().map(|m| m.as_str()), Some("MUTABLE"));
}

#[tokio::test]
async fn ecr_3_adds_an_untagged_expiry_policy_and_is_idempotent() {
    let h = Harness::start().await;
    let ecr = repository(&h, "team/batch").await;
    let report = h.remediates(&repo_finding("ECR.3", "team/batch").build()).await;
    assert_eq!(report.applied[0].action, "ecr:PutLifecyclePolicy");
    let out = ecr.get_lifecycle_policy().repository_name("team/batch").send().await.unwrap();
    let policy: Value = serde_json::from_str(out.lifecycle_policy_text().unwrap()).unwrap();
    assert_eq!(
        policy,
        json!({"rules": [{
            "rulePriority": 1,
            "description": "secops: expire untagged images 30 days after push",
            "selection": {"tagStatus": "untagged", "countType": "sinceImagePushed", "countUnit": "days", "countNumber": 30},
            "action": {"type": "expire"}
        }]})
    );
}

#[tokio::test]
async fn ecr_3_existing_policy_is_kept() {
    let h = Harness::start().await;
    let ecr = repository(&h, "own-policy").await;
    let own = r#"{"rules":[{"rulePriority":1,"selection":{"tagStatus":"any","countType":"imageCountMoreThan","countNumber":500},"action":{"type":"expire"}}]}"#;
    ecr.put_lifecycle_policy().repository_name("own-policy").lifecycle_policy_text(own).send().await.unwrap();
    let report = h.run(&repo_finding("ECR.3", "own-policy").build()).await;
    assert_eq!(report.outcome, Outcome::AlreadyCompliant, "{}", report.summary());
    let out = ecr.get_lifecycle_policy().repository_name("own-policy").send().await.unwrap();
    assert_eq!(out.lifecycle_policy_text(), Some(own));
}

#[tokio::test]
async fn ecr_3_exempt_repository_gets_no_policy() {
    let h = Harness::start().await;
    let ecr = repository(&h, "exempt-lifecycle").await;
    h.exempt(&repo_finding("ECR.3", "exempt-lifecycle").tag("secops:exempt", "all").build()).await;
    let err = ecr.get_lifecycle_policy().repository_name("exempt-lifecycle").send().await.unwrap_err();
    assert_eq!(
        aws_smithy_types::error::metadata::ProvideErrorMetadata::code(&err),
        Some("LifecyclePolicyNotFoundException")
    );
}

// ---------------------------------------------------------------- Lambda

async fn function(h: &Harness, name: &str) -> aws_sdk_lambda::Client {
    let iam = aws_sdk_iam::Client::new(&h.sdk);
    let trust = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"lambda.amazonaws.com"},"Action":"sts:AssumeRole"}]}"#;
    let role = match iam.create_role().role_name("fn-role").assume_role_policy_document(trust).send().await {
        Ok(out) => out.role().unwrap().arn().to_owned(),
        Err(_) => iam.get_role().role_name("fn-role").send().await.unwrap().role().unwrap().arn().to_owned(),
    };
    let lambda = aws_sdk_lambda::Client::new(&h.sdk);
    lambda
        .create_function()
        .function_name(name)
        .runtime(aws_sdk_lambda::types::Runtime::Python312)
        .role(role)
        .handler("index.handler")
        .code(aws_sdk_lambda::types::FunctionCode::builder().zip_file(zip_with_handler().into()).build())
        .send()
        .await
        .expect("create function");
    lambda
}

/// A zip archive with one stored (uncompressed) file, enough for moto's CreateFunction.
fn zip_with_handler() -> Vec<u8> {
    let name = b"index.py";
    let data = b"def handler(event, context):\n    return None\n";
    let crc = crc32(data);
    let mut out = Vec::new();
    let local = |out: &mut Vec<u8>| {
        out.extend_from_slice(&[0x50, 0x4b, 0x03, 0x04, 20, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
        out.extend_from_slice(&crc.to_le_bytes());
        out.extend_from_slice(&(data.len() as u32).to_le_bytes());
        out.extend_from_slice(&(data.len() as u32).to_le_bytes());
        out.extend_from_slice(&(name.len() as u16).to_le_bytes());
        out.extend_from_slice(&[0, 0]);
    };
    local(&mut out);
    out.extend_from_slice(name);
    out.extend_from_slice(data);
    let central_at = out.len() as u32;
    out.extend_from_slice(&[0x50, 0x4b, 0x01, 0x02, 20, 0, 20, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
    out.extend_from_slice(&crc.to_le_bytes());
    out.extend_from_slice(&(data.len() as u32).to_le_bytes());
    out.extend_from_slice(&(data.len() as u32).to_le_bytes());
    out.extend_from_slice(&(name.len() as u16).to_le_bytes());
    out.extend_from_slice(&[0; 12]);
    out.extend_from_slice(&0u32.to_le_bytes());
    out.extend_from_slice(name);
    let central_len = out.len() as u32 - central_at;
    out.extend_from_slice(&[0x50, 0x4b, 0x05, 0x06, 0, 0, 0, 0, 1, 0, 1, 0]);
    out.extend_from_slice(&central_len.to_le_bytes());
    out.extend_from_slice(&central_at.to_le_bytes());
    out.extend_from_slice(&[0, 0]);
    out
}

fn crc32(data: &[u8]) -> u32 {
    let mut crc = 0xffff_ffffu32;
    for byte in data {
        crc ^= u32::from(*byte);
        for _ in 0..8 {
            crc = if crc & 1 == 1 { (crc >> 1) ^ 0xedb8_8320 } else { crc >> 1 };
        }
    }
    !crc
}

fn function_finding(name: &str) -> FindingBuilder {
    finding("Lambda.1", "AwsLambdaFunction", &arn("lambda", &format!("function:{name}")))
}

async fn policy_sids(lambda: &aws_sdk_lambda::Client, name: &str) -> Vec<String> {
    let out = lambda.get_policy().function_name(name).send().await.expect("policy");
    let policy: Value = serde_json::from_str(out.policy().unwrap()).unwrap();
    policy["Statement"].as_array().unwrap().iter().map(|s| s["Sid"].as_str().unwrap().to_owned()).collect()
}

#[tokio::test]
async fn lambda_1_removes_public_statements_and_is_idempotent() {
    let h = Harness::start().await;
    let lambda = function(&h, "orders").await;
    let add = |sid: &str, principal: &str| {
        lambda
            .add_permission()
            .function_name("orders")
            .statement_id(sid)
            .action("lambda:InvokeFunction")
            .principal(principal)
    };
    add("anyone", "*").send().await.unwrap();
    add("same-account", "*").source_account(ACCOUNT).send().await.unwrap();
    add("bucket", "s3.amazonaws.com").source_arn("arn:aws:s3:::orders-in").send().await.unwrap();
    let report = h.remediates(&function_finding("orders").build()).await;
    assert_eq!(report.applied.len(), 1);
    assert_eq!(report.applied[0].action, "lambda:RemovePermission");
    assert_eq!(report.applied[0].parameters, json!({"FunctionName": "orders", "StatementId": "anyone"}));
    assert_eq!(policy_sids(&lambda, "orders").await, ["same-account", "bucket"]);
}

#[tokio::test]
async fn lambda_1_function_without_policy_is_compliant() {
    let h = Harness::start().await;
    function(&h, "private-fn").await;
    let report = h.run(&function_finding("private-fn").build()).await;
    assert_eq!(report.outcome, Outcome::AlreadyCompliant, "{}", report.summary());
    assert!(report.reason.contains("no resource-based policy"), "{}", report.reason);
}

#[tokio::test]
async fn lambda_1_public_intended_tag_exempts() {
    let h = Harness::start().await;
    let lambda = function(&h, "public-api").await;
    lambda
        .add_permission()
        .function_name("public-api")
        .statement_id("anyone")
        .action("lambda:InvokeFunction")
        .principal("*")
        .send()
        .await
        .unwrap();
    lambda
        .tag_resource()
        .resource(arn("lambda", "function:public-api"))
        .tags("secops:lambda:public-intended", "yes")
        .send()
        .await
        .unwrap();
    let report = h.exempt(&function_finding("public-api").build()).await;
    assert!(report.reason.contains("secops:lambda:public-intended"), "{}", report.reason);
    assert_eq!(policy_sids(&lambda, "public-api").await, ["anyone"]);
}

#[tokio::test]
async fn lambda_1_missing_function_is_suppressed() {
    let h = Harness::start().await;
    let report = h.run(&function_finding("never-deployed").build()).await;
    assert_eq!(report.outcome, Outcome::Suppress, "{}", report.summary());
    assert!(report.reason.contains("no longer exists"), "{}", report.reason);
}

#[tokio::test]
async fn lambda_1_public_statement_without_sid_is_a_ticket() {
    // moto always stores a Sid; wiremock answers as Lambda with a policy whose public statement has none.
    let lambda = MockServer::start().await;
    Mock::given(method("GET"))
        .and(wiremock::matchers::path("/2015-03-31/functions/legacy"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"Configuration": {"FunctionName": "legacy"}})))
        .expect(1)
        .mount(&lambda)
        .await;
    let policy = json!({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": "*", "Action": "lambda:InvokeFunction", "Resource": arn("lambda", "function:legacy")}
    ]});
    Mock::given(method("GET"))
        .and(wiremock::matchers::path("/2015-03-31/functions/legacy/policy"))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(json!({"Policy": policy.to_string(), "RevisionId": "1"})),
        )
        .expect(1)
        .mount(&lambda)
        .await;
    Mock::given(method("GET"))
        .and(wiremock::matchers::path_regex("^/2017-03-31/tags/"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"Tags": {}})))
        .expect(1)
        .mount(&lambda)
        .await;
    Mock::given(method("DELETE")).respond_with(ResponseTemplate::new(204)).expect(0).mount(&lambda).await;
    let h = Harness::start_routed(secops_aws::testing::LoopbackRouter::new().redirect("lambda", lambda.uri()), |_| {})
        .await;
    let report = h.run(&function_finding("legacy").build()).await;
    assert_eq!(report.outcome, Outcome::Ticket, "{}", report.summary());
    assert!(report.reason.contains("without a Sid"), "{}", report.reason);
}

// ---------------------------------------------------------------- SNS

async fn topic(h: &Harness, name: &str) -> (aws_sdk_sns::Client, String) {
    let sns = aws_sdk_sns::Client::new(&h.sdk);
    let out = sns.create_topic().name(name).send().await.expect("create topic");
    (sns, out.topic_arn().unwrap().to_owned())
}

async fn topic_key(sns: &aws_sdk_sns::Client, topic: &str) -> Option<String> {
    let out = sns.get_topic_attributes().topic_arn(topic).send().await.unwrap();
    out.attributes().unwrap().get("KmsMasterKeyId").cloned()
}

#[tokio::test]
async fn sns_1_encrypts_with_the_managed_key_and_is_idempotent() {
    let h = Harness::start().await;
    let (sns, topic_arn) = topic(&h, "alerts").await;
    let report = h.remediates(&finding("SNS.1", "AwsSnsTopic", &topic_arn).build()).await;
    assert_eq!(
        report.applied[0].parameters,
        json!({"TopicArn": topic_arn, "AttributeName": "KmsMasterKeyId", "AttributeValue": "alias/aws/sns"})
    );
    assert_eq!(topic_key(&sns, &topic_arn).await.as_deref(), Some("alias/aws/sns"));
}

#[tokio::test]
async fn sns_1_service_publisher_is_a_ticket() {
    let h = Harness::start().await;
    let (sns, topic_arn) = topic(&h, "event-target").await;
    let policy = json!({"Version": "2012-10-17", "Statement": [{
        "Sid": "events", "Effect": "Allow", "Principal": {"Service": "events.amazonaws.com"},
        "Action": "sns:Publish", "Resource": topic_arn
    }]});
    sns.set_topic_attributes()
        .topic_arn(&topic_arn)
        .attribute_name("Policy")
        .attribute_value(policy.to_string())
        .send()
        .await
        .unwrap();
    let report = h.run(&finding("SNS.1", "AwsSnsTopic", &topic_arn).build()).await;
    assert_eq!(report.outcome, Outcome::Ticket, "{}", report.summary());
    assert!(report.reason.contains("the service events.amazonaws.com"), "{}", report.reason);
    assert!(report.reason.contains("customer managed key"), "{}", report.reason);
    assert_eq!(topic_key(&sns, &topic_arn).await, None);
}

#[tokio::test]
async fn sns_1_exempt_topic_is_not_changed() {
    let h = Harness::start().await;
    let (sns, topic_arn) = topic(&h, "exempt-topic").await;
    let tag = aws_sdk_sns::types::Tag::builder().key("secops:exempt").value("SNS.1").build().unwrap();
    sns.tag_resource().resource_arn(&topic_arn).tags(tag).send().await.unwrap();
    h.exempt(&finding("SNS.1", "AwsSnsTopic", &topic_arn).build()).await;
    assert_eq!(topic_key(&sns, &topic_arn).await, None);
}

// ---------------------------------------------------------------- SQS

async fn queue(
    h: &Harness,
    name: &str,
    attribute: (aws_sdk_sqs::types::QueueAttributeName, &str),
) -> (aws_sdk_sqs::Client, String) {
    let sqs = aws_sdk_sqs::Client::new(&h.sdk);
    let out =
        sqs.create_queue().queue_name(name).attributes(attribute.0, attribute.1).send().await.expect("create queue");
    (sqs, out.queue_url().unwrap().to_owned())
}

async fn queue_attribute(
    sqs: &aws_sdk_sqs::Client,
    url: &str,
    name: aws_sdk_sqs::types::QueueAttributeName,
) -> Option<String> {
    let out = sqs.get_queue_attributes().queue_url(url).attribute_names(name.clone()).send().await.unwrap();
    out.attributes().and_then(|a| a.get(&name).cloned())
}

#[tokio::test]
async fn sqs_1_turns_on_sse_sqs_and_is_idempotent() {
    use aws_sdk_sqs::types::QueueAttributeName as A;
    let h = Harness::start().await;
    let (sqs, url) = queue(&h, "orders", (A::SqsManagedSseEnabled, "false")).await;
    let report = h.remediates(&finding("SQS.1", "AwsSqsQueue", &arn("sqs", "orders")).build()).await;
    assert_eq!(report.applied[0].action, "sqs:SetQueueAttributes");
    assert_eq!(report.applied[0].parameters["SqsManagedSseEnabled"], "true");
    assert_eq!(queue_attribute(&sqs, &url, A::SqsManagedSseEnabled).await.as_deref(), Some("true"));
}

#[tokio::test]
async fn sqs_1_kms_encrypted_queue_is_compliant() {
    use aws_sdk_sqs::types::QueueAttributeName as A;
    let h = Harness::start().await;
    let (sqs, url) = queue(&h, "kms-queue", (A::KmsMasterKeyId, "alias/orders")).await;
    let report = h.run(&finding("SQS.1", "AwsSqsQueue", &arn("sqs", "kms-queue")).build()).await;
    assert_eq!(report.outcome, Outcome::AlreadyCompliant, "{}", report.summary());
    assert!(report.reason.contains("KMS key alias/orders"), "{}", report.reason);
    assert_eq!(queue_attribute(&sqs, &url, A::KmsMasterKeyId).await.as_deref(), Some("alias/orders"));
}

#[tokio::test]
async fn sqs_1_exempt_queue_is_not_changed() {
    use aws_sdk_sqs::types::QueueAttributeName as A;
    let h = Harness::start().await;
    let (sqs, url) = queue(&h, "exempt-queue", (A::SqsManagedSseEnabled, "false")).await;
    sqs.tag_queue().queue_url(&url).tags("secops:exempt", "SQS.1").send().await.unwrap();
    h.exempt(&finding("SQS.1", "AwsSqsQueue", &arn("sqs", "exempt-queue")).build()).await;
    assert_eq!(queue_attribute(&sqs, &url, A::SqsManagedSseEnabled).await.as_deref(), Some("false"));
}

#[tokio::test]
async fn sqs_1_missing_queue_is_suppressed() {
    let h = Harness::start().await;
    let report = h.run(&finding("SQS.1", "AwsSqsQueue", &arn("sqs", "no-such-queue")).build()).await;
    assert_eq!(report.outcome, Outcome::Suppress, "{}", report.summary());
    assert!(report.reason.contains("no longer exists"), "{}", report.reason);
}

// ---------------------------------------------------------------- SSM

async fn document(h: &Harness, name: &str, share: &str) -> aws_sdk_ssm::Client {
    let ssm = aws_sdk_ssm::Client::new(&h.sdk);
    let content = json!({"schemaVersion": "2.2", "description": "test", "mainSteps": [
        {"action": "aws:runShellScript", "name": "hello", "inputs": {"runCommand": ["echo hello"]}}
    ]});
    ssm.create_document()
        .name(name)
        .content(content.to_string())
        .document_type(aws_sdk_ssm::types::DocumentType::Command)
        .send()
        .await
        .expect("create document");
    ssm.modify_document_permission()
        .name(name)
        .permission_type(aws_sdk_ssm::types::DocumentPermissionType::Share)
        .account_ids_to_add(share)
        .send()
        .await
        .expect("share document");
    ssm
}

async fn shares(ssm: &aws_sdk_ssm::Client, name: &str) -> Vec<String> {
    let out = ssm
        .describe_document_permission()
        .name(name)
        .permission_type(aws_sdk_ssm::types::DocumentPermissionType::Share)
        .send()
        .await
        .unwrap();
    out.account_ids().to_vec()
}

fn document_finding(resource_type: &str, name: &str) -> FindingBuilder {
    finding("SSM.4", resource_type, &arn("ssm", &format!("document/{name}")))
}

#[tokio::test]
async fn ssm_4_stops_public_sharing_and_is_idempotent() {
    let h = Harness::start().await;
    let ssm = document(&h, "public-doc", "all").await;
    let report = h.remediates(&document_finding("AwsSsmDocument", "public-doc").build()).await;
    assert_eq!(
        report.applied[0].parameters,
        json!({"Name": "public-doc", "PermissionType": "Share", "AccountIdsToRemove": ["all"]})
    );
    assert!(shares(&ssm, "public-doc").await.is_empty());
}

#[tokio::test]
async fn ssm_4_named_account_shares_are_compliant_and_kept() {
    let h = Harness::start().await;
    let ssm = document(&h, "team-doc", "111122223333").await;
    // Security Hub may report the document with the generic type `Other`.
    let report = h.run(&document_finding("Other", "team-doc").build()).await;
    assert_eq!(report.outcome, Outcome::AlreadyCompliant, "{}", report.summary());
    assert_eq!(shares(&ssm, "team-doc").await, ["111122223333"]);
}

#[tokio::test]
async fn ssm_4_exempt_document_stays_shared() {
    let h = Harness::start().await;
    let ssm = document(&h, "exempt-doc", "all").await;
    let tag = aws_sdk_ssm::types::Tag::builder().key("secops:exempt").value("SSM.4").build().unwrap();
    ssm.add_tags_to_resource()
        .resource_type(aws_sdk_ssm::types::ResourceTypeForTagging::Document)
        .resource_id("exempt-doc")
        .tags(tag)
        .send()
        .await
        .unwrap();
    h.exempt(&document_finding("AwsSsmDocument", "exempt-doc").build()).await;
    assert_eq!(shares(&ssm, "exempt-doc").await, ["all"]);
}

// ---------------------------------------------------------------- Secrets Manager

fn secret_arn(name: &str) -> String {
    arn("secretsmanager", &format!("secret:{name}-AbCdEf"))
}

/// Answers DescribeSecret as Secrets Manager would: rotation off until RotateSecret was called.
struct SecretState {
    arn: String,
    rotated: Arc<AtomicBool>,
    function: Option<String>,
    owning_service: Option<String>,
}

impl Respond for SecretState {
    fn respond(&self, _: &wiremock::Request) -> ResponseTemplate {
        let on = self.rotated.load(Ordering::SeqCst);
        let mut body = json!({"ARN": self.arn, "Name": "db-password", "RotationEnabled": on, "Tags": []});
        if let Some(f) = &self.function {
            body["RotationLambdaARN"] = json!(f);
        }
        if on {
            body["RotationRules"] = json!({"AutomaticallyAfterDays": 30});
        }
        if let Some(s) = &self.owning_service {
            body["OwningService"] = json!(s);
        }
        ResponseTemplate::new(200).set_body_raw(body.to_string(), "application/x-amz-json-1.1")
    }
}

struct Rotated(Arc<AtomicBool>);

impl Respond for Rotated {
    fn respond(&self, _: &wiremock::Request) -> ResponseTemplate {
        self.0.store(true, Ordering::SeqCst);
        ResponseTemplate::new(200)
            .set_body_raw(json!({"ARN": "x", "Name": "db-password"}).to_string(), "application/x-amz-json-1.1")
    }
}

async fn secrets_stub(
    function: Option<String>,
    owning_service: Option<&str>,
    describes: u64,
    rotations: u64,
) -> (MockServer, Arc<AtomicBool>) {
    let server = MockServer::start().await;
    let rotated = Arc::new(AtomicBool::new(false));
    let state = SecretState {
        arn: secret_arn("db-password"),
        rotated: rotated.clone(),
        function,
        owning_service: owning_service.map(str::to_owned),
    };
    Mock::given(method("POST"))
        .and(header("x-amz-target", "secretsmanager.DescribeSecret"))
        .and(body_partial_json(json!({"SecretId": secret_arn("db-password")})))
        .respond_with(state)
        .expect(describes)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(header("x-amz-target", "secretsmanager.RotateSecret"))
        .respond_with(Rotated(rotated.clone()))
        .expect(rotations)
        .mount(&server)
        .await;
    (server, rotated)
}

fn secret_finding(name: &str) -> FindingBuilder {
    finding("SecretsManager.1", "AwsSecretsManagerSecret", &secret_arn(name))
}

#[tokio::test]
async fn secretsmanager_1_enables_rotation_with_the_named_function() {
    let function_arn = arn("lambda", "function:rotate-db");
    // Runs: live tags, plan, verify; then live tags and plan again (already compliant).
    let (server, rotated) = secrets_stub(Some(function_arn.clone()), None, 5, 0).await;
    Mock::given(method("POST"))
        .and(header("x-amz-target", "secretsmanager.RotateSecret"))
        .and(body_partial_json(json!({
            "SecretId": secret_arn("db-password"),
            "RotationLambdaARN": function_arn,
            "RotationRules": {"AutomaticallyAfterDays": 30},
            "RotateImmediately": false
        })))
        .respond_with(Rotated(rotated.clone()))
        .with_priority(1)
        .expect(1)
        .mount(&server)
        .await;
    let h = Harness::start_routed(
        secops_aws::testing::LoopbackRouter::new().redirect("secretsmanager", server.uri()),
        |_| {},
    )
    .await;
    function(&h, "rotate-db").await;
    let report = h.remediates(&secret_finding("db-password").build()).await;
    assert_eq!(report.applied[0].action, "secretsmanager:RotateSecret");
    assert!(report.verification.as_deref().unwrap_or_default().contains("RotationEnabled=true"), "{report:?}");
    assert!(rotated.load(Ordering::SeqCst));
}

#[tokio::test]
async fn secretsmanager_1_without_rotation_function_is_a_ticket() {
    let h = Harness::start().await;
    let sm = aws_sdk_secretsmanager::Client::new(&h.sdk);
    let created = sm.create_secret().name("app/api-key").secret_string("s3cr3t").send().await.unwrap();
    let report = h.run(&finding("SecretsManager.1", "AwsSecretsManagerSecret", created.arn().unwrap()).build()).await;
    assert_eq!(report.outcome, Outcome::Ticket, "{}", report.summary());
    assert!(report.reason.contains("a rotation function is needed"), "{}", report.reason);
    let now = sm.describe_secret().secret_id("app/api-key").send().await.unwrap();
    assert_ne!(now.rotation_enabled(), Some(true));
}

#[tokio::test]
async fn secretsmanager_1_deleted_rotation_function_is_a_ticket() {
    // The secret names a function this account (moto) does not have.
    let (server, _) = secrets_stub(Some(arn("lambda", "function:deleted-rotator")), None, 2, 0).await;
    let h = Harness::start_routed(
        secops_aws::testing::LoopbackRouter::new().redirect("secretsmanager", server.uri()),
        |_| {},
    )
    .await;
    let report = h.run(&secret_finding("db-password").build()).await;
    assert_eq!(report.outcome, Outcome::Ticket, "{}", report.summary());
    assert!(report.reason.contains("deleted-rotator, which no longer exists"), "{}", report.reason);
}

#[tokio::test]
async fn secretsmanager_1_managed_secret_is_a_ticket() {
    let (server, _) = secrets_stub(None, Some("rds"), 2, 0).await;
    let h = Harness::start_routed(
        secops_aws::testing::LoopbackRouter::new().redirect("secretsmanager", server.uri()),
        |_| {},
    )
    .await;
    let report = h.run(&secret_finding("db-password").build()).await;
    assert_eq!(report.outcome, Outcome::Ticket, "{}", report.summary());
    assert!(report.reason.contains("managed by rds"), "{}", report.reason);
}

#[tokio::test]
async fn secretsmanager_1_exempt_secret_is_not_changed() {
    let h = Harness::start().await;
    let sm = aws_sdk_secretsmanager::Client::new(&h.sdk);
    let tag = aws_sdk_secretsmanager::types::Tag::builder().key("secops:exempt").value("SecretsManager.1").build();
    let created = sm.create_secret().name("legacy/token").secret_string("t").tags(tag).send().await.unwrap();
    h.exempt(&finding("SecretsManager.1", "AwsSecretsManagerSecret", created.arn().unwrap()).build()).await;
    let now = sm.describe_secret().secret_id("legacy/token").send().await.unwrap();
    assert_ne!(now.rotation_enabled(), Some(true));
}
