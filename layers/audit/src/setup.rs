//! From configuration to adapters: which signer, which checkpoint store, which redactor. The
//! `audit` function and the CLI both start here, so they can never disagree about the keys.

use crate::checkpoint::{AnyCheckpointStore, FileCheckpointStore, SsmCheckpointStore};
use crate::error::AuditError;
use crate::redact::{CorrelationKey, Destination, Policy, Redactor};
use crate::signer::{
    derive_correlation_key, load_key_file, load_or_create_key_file, load_ssm_keyring, AnySigner, KmsSigner,
};
use aws_config::SdkConfig;
use secops_core::{AuditConfig, AuditKeySource, CheckpointTarget};
use std::path::Path;

/// Whether the configuration reaches AWS (so the caller loads an SDK config).
pub fn needs_aws(config: &AuditConfig) -> bool {
    !matches!(config.keys, AuditKeySource::File(_)) || matches!(config.checkpoints, CheckpointTarget::SsmParameter(_))
}

fn sdk<'a>(aws: Option<&'a SdkConfig>, what: &str) -> Result<&'a SdkConfig, AuditError> {
    aws.ok_or_else(|| AuditError::Key(format!("{what} needs AWS, but no AWS configuration was loaded")))
}

/// The signer the configuration names. A local key file is created on first use.
pub async fn signer(config: &AuditConfig, aws: Option<&SdkConfig>) -> Result<AnySigner, AuditError> {
    Ok(match &config.keys {
        AuditKeySource::Kms { key_id, retired_key_ids } => {
            AnySigner::Kms(KmsSigner::new(sdk(aws, "SECOPS_AUDIT_KMS_KEY_ID")?, key_id, retired_key_ids).await?)
        }
        AuditKeySource::SsmParameter(name) => {
            AnySigner::Keyring(load_ssm_keyring(sdk(aws, "SECOPS_AUDIT_KEY_PARAMETER")?, name).await?)
        }
        AuditKeySource::File(path) => AnySigner::Keyring(load_or_create_key_file(Path::new(path))?),
    })
}

/// The signer for verification only: a missing key file is an error here, because a key
/// created now could verify nothing.
pub async fn verifying_signer(config: &AuditConfig, aws: Option<&SdkConfig>) -> Result<AnySigner, AuditError> {
    match &config.keys {
        AuditKeySource::File(path) => Ok(AnySigner::Keyring(load_key_file(Path::new(path))?)),
        _ => signer(config, aws).await,
    }
}

pub fn checkpoint_store(config: &AuditConfig, aws: Option<&SdkConfig>) -> Result<AnyCheckpointStore, AuditError> {
    Ok(match &config.checkpoints {
        CheckpointTarget::SsmParameter(name) => {
            AnyCheckpointStore::Ssm(SsmCheckpointStore::new(sdk(aws, "SECOPS_AUDIT_CHECKPOINT_PARAMETER")?, name))
        }
        CheckpointTarget::File(path) => AnyCheckpointStore::File(FileCheckpointStore::new(path)),
    })
}

/// The redactor for `destination`, with the configured overrides and a correlation key derived
/// from the audit key (so tokens agree across every process that shares it).
pub async fn redactor(
    config: &AuditConfig,
    signer: &AnySigner,
    destination: Destination,
) -> Result<Redactor, AuditError> {
    let policy = Policy::load(destination, config.redaction_policy_file.as_deref().map(Path::new))
        .map_err(|e| AuditError::InvalidInput(e.to_string()))?;
    Ok(Redactor::new(policy, CorrelationKey::new(derive_correlation_key(signer).await?)))
}
