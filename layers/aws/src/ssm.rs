//! Secrets from SSM Parameter Store (SecureString, decrypted by SSM with its KMS key).

use crate::errors::AwsError;
use aws_config::SdkConfig;
use secrecy::SecretString;

/// Read one SecureString (or String) parameter, decrypted.
pub async fn get_secret_parameter(config: &SdkConfig, name: &str) -> Result<SecretString, AwsError> {
    let out = aws_sdk_ssm::Client::new(config)
        .get_parameter()
        .name(name)
        .with_decryption(true)
        .send()
        .await
        .map_err(|e| AwsError::from_sdk("ssm:GetParameter", e))?;
    out.parameter().and_then(|p| p.value()).map(|v| SecretString::from(v.to_owned())).ok_or_else(|| {
        AwsError::new("ssm:GetParameter", secops_core::ErrorClass::Permanent, format!("parameter {name} has no value"))
    })
}

/// A configured secret: the value itself, or read from its SSM parameter. `what` names the
/// secret in the error when no AWS configuration was loaded to read the parameter with.
pub async fn resolve_secret(
    source: &secops_core::SecretSource,
    aws: Option<&SdkConfig>,
    what: &str,
) -> Result<SecretString, AwsError> {
    match source {
        secops_core::SecretSource::Value(v) => Ok(v.clone()),
        secops_core::SecretSource::SsmParameter(name) => {
            let aws = aws.ok_or_else(|| {
                AwsError::new(
                    "ssm:GetParameter",
                    secops_core::ErrorClass::InvalidInput,
                    format!("{what} is in SSM parameter {name}, but no AWS configuration was loaded"),
                )
            })?;
            get_secret_parameter(aws, name).await
        }
    }
}
