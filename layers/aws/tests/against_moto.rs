//! The AWS plumbing against real servers on loopback: moto_server for STS and SSM, wiremock for
//! the failure modes moto cannot produce (throttling, 5xx), and a closed port for network failure.

use secops_aws::testing::MotoServer;
use secops_aws::{load_sdk_config, AssumeRoleCache, AwsError, AwsSettings, RoleRequest};
use secops_core::{Config, ErrorClass};
use secrecy::ExposeSecret;
use wiremock::matchers::method;
use wiremock::{Mock, MockServer, ResponseTemplate};

#[tokio::test]
async fn assumed_sessions_act_in_the_member_account_and_are_cached() {
    let moto = MotoServer::start();
    let base = load_sdk_config(&AwsSettings::for_endpoint(&moto.endpoint, "us-east-1")).await;
    let cache = AssumeRoleCache::new(&base, "secops-test");

    let request = RoleRequest::new("444455556666", "SecOpsAutopilotMember", "eu-west-1");
    let member = cache.config_for(&request).await.unwrap();
    let who = aws_sdk_sts::Client::new(&member).get_caller_identity().send().await.unwrap();
    assert_eq!(who.account(), Some("444455556666"));
    assert!(who.arn().unwrap().contains("assumed-role/SecOpsAutopilotMember/secops-test"), "{:?}", who.arn());
    assert_eq!(member.region().map(|r| r.as_ref()), Some("eu-west-1"));

    // Same key: served from the cache. Another region or a session policy: a new session.
    cache.config_for(&request).await.unwrap();
    assert_eq!(cache.len().await, 1);
    cache.config_for(&RoleRequest::new("444455556666", "SecOpsAutopilotMember", "us-east-1")).await.unwrap();
    let narrowed = request.clone().with_session_policy(r#"{"Version":"2012-10-17","Statement":[]}"#);
    cache.config_for(&narrowed).await.unwrap();
    assert_eq!(cache.len().await, 3);
}

#[tokio::test]
async fn database_url_comes_from_an_ssm_secure_string() {
    let moto = MotoServer::start();
    let settings = AwsSettings::for_endpoint(&moto.endpoint, "us-east-1");
    let sdk = load_sdk_config(&settings).await;
    aws_sdk_ssm::Client::new(&sdk)
        .put_parameter()
        .name("/secops/database-url")
        .value("postgresql://secops:s3cret@db.internal:5432/secops")
        .r#type(aws_sdk_ssm::types::ParameterType::SecureString)
        .send()
        .await
        .unwrap();
    let config =
        Config::from_lookup(|k| (k == "SECOPS_DATABASE_URL_PARAMETER").then(|| "/secops/database-url".into())).unwrap();
    let url = secops_aws::resolve_database_url(&config, &settings, None).await.unwrap().unwrap();
    assert_eq!(url.expose_secret(), "postgresql://secops:s3cret@db.internal:5432/secops");

    // A missing parameter is Permanent and names the operation.
    let missing = secops_aws::ssm::get_secret_parameter(&sdk, "/secops/nope").await.unwrap_err();
    assert_eq!(missing.class, ErrorClass::Permanent);
    assert_eq!(missing.operation, "ssm:GetParameter");
    assert!(missing.message.contains("ParameterNotFound"), "{missing}");
}

/// What SSM's GetParameter turns into when the service answers `status` with error `code`.
async fn ssm_error_for(status: u16, code: &str, message: &str) -> AwsError {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(
            ResponseTemplate::new(status)
                .insert_header("content-type", "application/x-amz-json-1.1")
                .set_body_string(format!(r#"{{"__type":"{code}","message":"{message}"}}"#)),
        )
        .mount(&server)
        .await;
    let sdk = load_sdk_config(&AwsSettings::for_endpoint(server.uri(), "us-east-1")).await;
    secops_aws::ssm::get_secret_parameter(&sdk, "/x").await.unwrap_err()
}

#[tokio::test]
async fn throttling_is_throttled() {
    let e = ssm_error_for(400, "ThrottlingException", "Rate exceeded").await;
    assert_eq!(e.class, ErrorClass::Throttled, "{e}");
    assert!(e.message.contains("Rate exceeded"));
}

#[tokio::test]
async fn server_errors_are_transient() {
    assert_eq!(ssm_error_for(500, "InternalServerError", "boom").await.class, ErrorClass::Transient);
}

#[tokio::test]
async fn access_denied_is_permanent() {
    assert_eq!(ssm_error_for(400, "AccessDeniedException", "not allowed").await.class, ErrorClass::Permanent);
}

#[tokio::test]
async fn a_closed_port_is_transient() {
    // Bind and drop to get a loopback port with nothing listening.
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let sdk = load_sdk_config(&AwsSettings::for_endpoint(format!("http://127.0.0.1:{port}"), "us-east-1")).await;
    let e = secops_aws::ssm::get_secret_parameter(&sdk, "/x").await.unwrap_err();
    assert_eq!(e.class, ErrorClass::Transient, "{e}");
}
