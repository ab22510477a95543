//! The moto harness of the AWS collector tests: `secops_aws::testing::LoopbackRouter` serves
//! s3control on loopback and sends GuardDuty (which moto cannot serve findings for) to a wiremock
//! server.

#![allow(dead_code)]

use secops_aws::testing::{LoopbackRouter, MotoServer};
use secops_aws::{load_sdk_config, AwsSettings};
use serde_json::json;
use wiremock::matchers::{body_partial_json, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

pub const HOME: &str = "123456789012";
pub const MEMBER: &str = "210987654321";
pub const EAST: &str = "us-east-1";
pub const WEST: &str = "eu-west-1";
pub const IMAGE: &str = "ami-0123456789abcdef0";

pub async fn base_config(moto: &MotoServer, guardduty: &MockServer, region: &str) -> aws_config::SdkConfig {
    let config = load_sdk_config(&AwsSettings::for_endpoint(&moto.endpoint, region)).await;
    LoopbackRouter::new().redirect("guardduty", guardduty.uri()).install(&config)
}

/// A session in `account` (moto switches account on the assumed credentials).
pub async fn session(base: &aws_config::SdkConfig, account: &str, region: &str) -> aws_config::SdkConfig {
    let roles = secops_aws::AssumeRoleCache::new(base, "test-setup");
    roles
        .config_for(&secops_aws::RoleRequest::new(account, "SecOpsInventoryReader", region))
        .await
        .expect("assume role")
}

pub async fn guardduty_stub() -> MockServer {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/detector"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"detectorIds": ["det1"]})))
        .mount(&server)
        .await;
    // Two pages of ids, to prove the collector follows nextToken.
    Mock::given(method("POST"))
        .and(path("/detector/det1/findings"))
        .and(body_partial_json(json!({"nextToken": "page2"})))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"findingIds": ["gd-2"]})))
        .with_priority(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/detector/det1/findings"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"findingIds": ["gd-1"], "nextToken": "page2"})))
        .with_priority(2)
        .mount(&server)
        .await;
    let finding = |id: &str| {
        json!({"accountId": HOME, "arn": format!("arn:aws:guardduty:us-east-1:{HOME}:detector/det1/finding/{id}"),
               "createdAt": "2026-11-01T10:00:00.000Z", "updatedAt": "2026-11-02T10:00:00.000Z", "id": id,
               "partition": "aws", "region": "us-east-1", "schemaVersion": "2.0", "severity": 8.0,
               "title": "Crypto mining", "type": "CryptoCurrency:EC2/BitcoinTool.B!DNS",
               "resource": {"resourceType": "Instance", "instanceDetails": {"instanceId": "i-0guardduty"}},
               "service": {"archived": false, "count": 3, "serviceName": "guardduty"}})
    };
    Mock::given(method("POST"))
        .and(path("/detector/det1/findings/get"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"findings": [finding("gd-1"), finding("gd-2")]})))
        .mount(&server)
        .await;
    server
}
