//! SDK configuration: region, credentials and the endpoint override every adapter honours, so
//! the same code talks to AWS or to `moto_server` on loopback.

use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_credential_types::Credentials;
use std::time::Duration;

/// What differs between AWS, a test server, and a developer's machine.
#[derive(Debug, Clone)]
pub struct AwsSettings {
    pub region: String,
    /// Send every call here instead of AWS (tests: moto_server on 127.0.0.1).
    pub endpoint_url: Option<String>,
    /// Fixed credentials (tests); None = the default chain (Lambda role, profile, SSO, env).
    pub static_credentials: Option<(String, String)>,
    /// SDK-level attempts per call. Step Functions retries whole steps, so keep this small.
    pub max_attempts: u32,
}

impl AwsSettings {
    pub fn from_config(config: &secops_core::Config) -> Self {
        Self {
            region: config.regions.first().cloned().unwrap_or_else(|| secops_core::config::DEFAULT_REGION.into()),
            endpoint_url: config.aws_endpoint_url.clone(),
            static_credentials: None,
            max_attempts: 3,
        }
    }

    /// Settings for a local test server: fixed dummy credentials and no SDK retries, so a test
    /// sees the first answer (moto answers unimplemented operations with 5xx).
    pub fn for_endpoint(endpoint_url: impl Into<String>, region: impl Into<String>) -> Self {
        Self {
            region: region.into(),
            endpoint_url: Some(endpoint_url.into()),
            static_credentials: Some(("testing".into(), "testing".into())),
            max_attempts: 1,
        }
    }
}

/// Build the shared SDK configuration once per process.
pub async fn load_sdk_config(settings: &AwsSettings) -> SdkConfig {
    let mut loader = aws_config::defaults(BehaviorVersion::latest())
        .region(Region::new(settings.region.clone()))
        .retry_config(RetryConfig::standard().with_max_attempts(settings.max_attempts.max(1)))
        .timeout_config(
            TimeoutConfig::builder()
                .connect_timeout(Duration::from_secs(5))
                .operation_attempt_timeout(Duration::from_secs(30))
                .build(),
        );
    if let Some(url) = &settings.endpoint_url {
        loader = loader.endpoint_url(url);
    }
    if let Some((key, secret)) = &settings.static_credentials {
        loader = loader.credentials_provider(Credentials::new(key, secret, None, None, "secops-static"));
    }
    loader.load().await
}

/// The same configuration in another region (regional clients share credentials).
pub fn in_region(config: &SdkConfig, region: &str) -> SdkConfig {
    config.to_builder().region(Region::new(region.to_owned())).build()
}
