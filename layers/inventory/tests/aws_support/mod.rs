//! The moto harness of the AWS collector tests. Harness-only routing (no product hooks): a test
//! HTTP client strips the account-id host prefix s3control puts in front of the loopback address,
//! and sends requests signed for GuardDuty (which moto cannot serve findings for) to a wiremock
//! server.

#![allow(dead_code)]

use aws_smithy_runtime_api::client::http::{
    HttpClient, HttpConnector, HttpConnectorFuture, HttpConnectorSettings, SharedHttpClient, SharedHttpConnector,
};
use aws_smithy_runtime_api::client::orchestrator::{HttpRequest, HttpResponse};
use aws_smithy_runtime_api::client::result::ConnectorError;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::body::SdkBody;
use secops_aws::testing::MotoServer;
use secops_aws::{load_sdk_config, AwsSettings};
use serde_json::json;
use wiremock::matchers::{body_partial_json, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

pub const HOME: &str = "123456789012";
pub const MEMBER: &str = "210987654321";
pub const EAST: &str = "us-east-1";
pub const WEST: &str = "eu-west-1";
pub const IMAGE: &str = "ami-0123456789abcdef0";

/// The harness's HTTP client (reqwest, loopback only): `<account>.127.0.0.1` hosts go to
/// 127.0.0.1, requests signed for GuardDuty go to the stub.
#[derive(Debug, Clone)]
pub struct LoopbackRouter {
    http: reqwest::Client,
    guardduty: String,
}

impl HttpClient for LoopbackRouter {
    fn http_connector(&self, _: &HttpConnectorSettings, _: &RuntimeComponents) -> SharedHttpConnector {
        SharedHttpConnector::new(self.clone())
    }
}

impl LoopbackRouter {
    fn route(&self, request: &HttpRequest) -> String {
        let uri = request.uri().to_owned();
        let signed_for_guardduty =
            request.headers().get("authorization").is_some_and(|auth| auth.contains("/guardduty/aws4_request"));
        let (scheme, rest) = uri.split_once("://").expect("absolute uri");
        let (host, path) = rest.split_once('/').unwrap_or((rest, ""));
        if signed_for_guardduty {
            return format!("{}/{path}", self.guardduty);
        }
        match host.split_once('.') {
            Some((account, loopback))
                if account.len() == 12
                    && account.bytes().all(|b| b.is_ascii_digit())
                    && loopback.starts_with("127.0.0.1") =>
            {
                format!("{scheme}://{loopback}/{path}")
            }
            _ => uri,
        }
    }
}

impl HttpConnector for LoopbackRouter {
    fn call(&self, request: HttpRequest) -> HttpConnectorFuture {
        let url = self.route(&request);
        let method = reqwest::Method::from_bytes(request.method().as_bytes()).expect("method");
        let mut outgoing = self.http.request(method, &url);
        for (name, value) in request.headers() {
            if !name.eq_ignore_ascii_case("host") {
                outgoing = outgoing.header(name, value);
            }
        }
        let body = request.body().bytes().expect("in-memory request body").to_vec();
        let outgoing = outgoing.body(body);
        HttpConnectorFuture::new(async move {
            let reply = outgoing.send().await.map_err(|e| ConnectorError::io(e.into()))?;
            let status = reply.status().as_u16();
            let headers = reply.headers().clone();
            let bytes = reply.bytes().await.map_err(|e| ConnectorError::io(e.into()))?;
            let mut response = HttpResponse::new(status.try_into().expect("status"), SdkBody::from(bytes.to_vec()));
            for (name, value) in &headers {
                response.headers_mut().append(name.as_str().to_owned(), value.to_str().unwrap_or_default().to_owned());
            }
            Ok(response)
        })
    }
}

pub async fn base_config(moto: &MotoServer, guardduty: &MockServer, region: &str) -> aws_config::SdkConfig {
    let config = load_sdk_config(&AwsSettings::for_endpoint(&moto.endpoint, region)).await;
    let router = LoopbackRouter { http: reqwest::Client::new(), guardduty: guardduty.uri() };
    config.to_builder().http_client(SharedHttpClient::new(router)).build()
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
