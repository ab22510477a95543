//! `secops-aws`: AWS plumbing only — SDK configuration with an endpoint override, sessions in
//! member accounts, SSM secrets, and one classification of SDK errors. No business logic.
#![forbid(unsafe_code)]

pub mod assume_role;
pub mod config;
pub mod errors;
pub mod ssm;
pub mod task_token;
#[cfg(any(test, feature = "test-harness"))]
pub mod testing;

pub use assume_role::{caller_account, AssumeRoleCache, RoleRequest};
pub use config::{load_sdk_config, AwsSettings};
pub use errors::{classify, AwsError};
pub use task_token::TaskTokenReporter;

/// The database URL from configuration: given directly, or read from SSM (the Lambda default).
/// `None` means nothing is configured and the single binary uses its private cluster. A caller
/// that already loaded the SDK passes it as `loaded`; otherwise it is loaded only when the
/// parameter has to be read.
pub async fn resolve_database_url(
    config: &secops_core::Config,
    settings: &AwsSettings,
    loaded: Option<&aws_config::SdkConfig>,
) -> Result<Option<secrecy::SecretString>, AwsError> {
    use secops_core::DatabaseSource;
    match &config.database {
        DatabaseSource::Url(url) => Ok(Some(url.clone())),
        DatabaseSource::SsmParameter(name) => match loaded {
            Some(sdk) => ssm::get_secret_parameter(sdk, name).await.map(Some),
            None => ssm::get_secret_parameter(&load_sdk_config(settings).await, name).await.map(Some),
        },
        DatabaseSource::Embedded => Ok(None),
    }
}
