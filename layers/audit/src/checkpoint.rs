//! Signed checkpoints of the chain head, kept outside the audit table.
//!
//! A chain alone cannot show that its tail was cut off: the shorter chain is still a valid
//! chain. A checkpoint records `seq` and `chain_hash` of the head at a moment, signed, in a place
//! the table's writers cannot rewrite (an SSM parameter on AWS, a file locally). Verification
//! then requires the chain to reach that seq with that hash.
//!
//! Signed message: `checkpoint|chain|seq|chain_hash|created_at`.

use crate::error::AuditError;
use crate::event::{check_key_id, format_timestamp};
use crate::signer::{MacCheck, Signer};
use serde::{Deserialize, Serialize};
use std::future::Future;
use std::path::{Path, PathBuf};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Checkpoint {
    pub chain: String,
    pub seq: i64,
    pub chain_hash: String,
    pub created_at: String,
    pub key_id: String,
    pub signature: String,
}

fn message(chain: &str, seq: i64, chain_hash: &str, created_at: &str) -> String {
    format!("checkpoint|{chain}|{seq}|{chain_hash}|{created_at}")
}

impl Checkpoint {
    /// Sign a checkpoint of the event `seq` whose chain hash is `chain_hash`.
    pub async fn sign<S: Signer>(signer: &S, chain: &str, seq: i64, chain_hash: &str) -> Result<Self, AuditError> {
        let created_at = format_timestamp(time::OffsetDateTime::now_utc());
        let mac = signer.sign(message(chain, seq, chain_hash, &created_at).as_bytes()).await?;
        Ok(Checkpoint {
            chain: chain.to_owned(),
            seq,
            chain_hash: chain_hash.to_owned(),
            created_at,
            key_id: signer.active_key_id().to_owned(),
            signature: hex::encode(mac),
        })
    }

    /// Whether the checkpoint is signed by a listed key.
    pub async fn check<S: Signer>(&self, signer: &S) -> Result<MacCheck, AuditError> {
        let Ok(mac) = hex::decode(&self.signature) else { return Ok(MacCheck::Invalid) };
        if check_key_id(&self.key_id).is_err() {
            return Ok(MacCheck::UnknownKey);
        }
        signer
            .verify(&self.key_id, message(&self.chain, self.seq, &self.chain_hash, &self.created_at).as_bytes(), &mac)
            .await
    }

    pub fn from_json(text: &str, source: &str) -> Result<Self, AuditError> {
        serde_json::from_str(text).map_err(|e| AuditError::Checkpoint(format!("{source}: not a checkpoint: {e}")))
    }
}

/// Where checkpoints are published and read back.
pub trait CheckpointStore: Send + Sync {
    fn publish(&self, checkpoint: &Checkpoint) -> impl Future<Output = Result<(), AuditError>> + Send;
    /// The newest checkpoint, or None when none was ever published.
    fn latest(&self) -> impl Future<Output = Result<Option<Checkpoint>, AuditError>> + Send;
    fn describe(&self) -> String;
}

/// A JSON file, replaced atomically (write beside, then rename).
#[derive(Debug, Clone)]
pub struct FileCheckpointStore {
    path: PathBuf,
}

impl FileCheckpointStore {
    pub fn new(path: impl Into<PathBuf>) -> Self {
        FileCheckpointStore { path: path.into() }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl CheckpointStore for FileCheckpointStore {
    async fn publish(&self, checkpoint: &Checkpoint) -> Result<(), AuditError> {
        let path = &self.path;
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            tokio::fs::create_dir_all(dir).await.map_err(|e| AuditError::io(dir.display(), e))?;
        }
        let text = serde_json::to_string_pretty(checkpoint).map_err(|e| AuditError::Checkpoint(e.to_string()))? + "\n";
        let tmp = path.with_extension("tmp");
        tokio::fs::write(&tmp, text).await.map_err(|e| AuditError::io(tmp.display(), e))?;
        tokio::fs::rename(&tmp, path).await.map_err(|e| AuditError::io(path.display(), e))
    }

    async fn latest(&self) -> Result<Option<Checkpoint>, AuditError> {
        match tokio::fs::read_to_string(&self.path).await {
            Ok(text) => Checkpoint::from_json(&text, &self.path.display().to_string()).map(Some),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(AuditError::io(self.path.display(), e)),
        }
    }

    fn describe(&self) -> String {
        format!("file {}", self.path.display())
    }
}

/// An SSM String parameter, overwritten on each publish; SSM keeps the earlier versions in the
/// parameter's history, and the writer's role needs no right to delete them.
#[derive(Debug, Clone)]
pub struct SsmCheckpointStore {
    client: aws_sdk_ssm::Client,
    name: String,
}

impl SsmCheckpointStore {
    pub fn new(config: &aws_config::SdkConfig, name: impl Into<String>) -> Self {
        SsmCheckpointStore { client: aws_sdk_ssm::Client::new(config), name: name.into() }
    }
}

impl CheckpointStore for SsmCheckpointStore {
    async fn publish(&self, checkpoint: &Checkpoint) -> Result<(), AuditError> {
        let text = serde_json::to_string(checkpoint).map_err(|e| AuditError::Checkpoint(e.to_string()))?;
        self.client
            .put_parameter()
            .name(&self.name)
            .value(text)
            .r#type(aws_sdk_ssm::types::ParameterType::String)
            .overwrite(true)
            .send()
            .await
            .map_err(|e| secops_aws::AwsError::from_sdk("ssm:PutParameter", e))?;
        Ok(())
    }

    async fn latest(&self) -> Result<Option<Checkpoint>, AuditError> {
        match self.client.get_parameter().name(&self.name).send().await {
            Ok(out) => {
                let text = out.parameter().and_then(|p| p.value()).unwrap_or_default();
                // The stack creates the parameter with "{}" (SSM refuses empty values).
                if text.trim() == "{}" {
                    return Ok(None);
                }
                Checkpoint::from_json(text, &format!("SSM parameter {}", self.name)).map(Some)
            }
            Err(e) if e.as_service_error().is_some_and(|s| s.is_parameter_not_found()) => Ok(None),
            Err(e) => Err(secops_aws::AwsError::from_sdk("ssm:GetParameter", e).into()),
        }
    }

    fn describe(&self) -> String {
        format!("SSM parameter {}", self.name)
    }
}

/// The checkpoint store chosen by configuration.
#[derive(Debug, Clone)]
pub enum AnyCheckpointStore {
    File(FileCheckpointStore),
    Ssm(SsmCheckpointStore),
}

impl CheckpointStore for AnyCheckpointStore {
    async fn publish(&self, checkpoint: &Checkpoint) -> Result<(), AuditError> {
        match self {
            AnyCheckpointStore::File(s) => s.publish(checkpoint).await,
            AnyCheckpointStore::Ssm(s) => s.publish(checkpoint).await,
        }
    }

    async fn latest(&self) -> Result<Option<Checkpoint>, AuditError> {
        match self {
            AnyCheckpointStore::File(s) => s.latest().await,
            AnyCheckpointStore::Ssm(s) => s.latest().await,
        }
    }

    fn describe(&self) -> String {
        match self {
            AnyCheckpointStore::File(s) => s.describe(),
            AnyCheckpointStore::Ssm(s) => s.describe(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::signer::Keyring;

    #[tokio::test]
    async fn a_checkpoint_round_trips_through_a_file_and_its_signature_holds() {
        let (ring, _) = Keyring::generate("k1").unwrap();
        let dir = tempfile::tempdir().unwrap();
        let store = FileCheckpointStore::new(dir.path().join("cp/checkpoint.json"));
        assert_eq!(store.latest().await.unwrap(), None);
        let cp = Checkpoint::sign(&ring, "main", 41, &"ab".repeat(32)).await.unwrap();
        store.publish(&cp).await.unwrap();
        let back = store.latest().await.unwrap().unwrap();
        assert_eq!(back, cp);
        assert_eq!(back.check(&ring).await.unwrap(), MacCheck::Valid);

        let mut moved = back.clone();
        moved.seq = 40;
        assert_eq!(moved.check(&ring).await.unwrap(), MacCheck::Invalid);
        let (other, _) = Keyring::generate("k2").unwrap();
        assert_eq!(back.check(&other).await.unwrap(), MacCheck::UnknownKey);
    }

    #[test]
    fn a_malformed_checkpoint_says_where_it_came_from() {
        let err = Checkpoint::from_json("{\"seq\": \"x\"}", "cp.json").unwrap_err().to_string();
        assert!(err.starts_with("cp.json: not a checkpoint"), "{err}");
    }
}
