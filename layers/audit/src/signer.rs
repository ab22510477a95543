//! The `Signer` port: who signs events and checkpoints, and who can check them.
//!
//! Two adapters. A [`Keyring`] holds HMAC keys in memory; it is loaded from a local key file
//! (mode 0600, the single binary's default) or from an SSM SecureString — the same document
//! either way. [`KmsSigner`] calls KMS `GenerateMac`/`VerifyMac` with an HMAC_256 key, so the
//! key never leaves KMS (the default on AWS). Every event names the key that signed it; keys
//! that are retired but still listed keep verifying, a key that is not listed is `unknown_key`.

use crate::error::AuditError;
use crate::event::check_key_id;
use base64::Engine as _;
use hmac::{Hmac, KeyInit, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;
use std::collections::BTreeMap;
use std::future::Future;
use std::path::Path;

type HmacSha256 = Hmac<Sha256>;

/// What checking a MAC says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MacCheck {
    Valid,
    Invalid,
    /// The key id is not in the list of keys this verifier accepts.
    UnknownKey,
}

pub trait Signer: Send + Sync {
    /// The key id new events are signed with.
    fn active_key_id(&self) -> &str;
    /// HMAC-SHA256 of `message` with the active key.
    fn sign(&self, message: &[u8]) -> impl Future<Output = Result<Vec<u8>, AuditError>> + Send;
    /// Check `mac` over `message` with the key named `key_id`.
    fn verify(
        &self,
        key_id: &str,
        message: &[u8],
        mac: &[u8],
    ) -> impl Future<Output = Result<MacCheck, AuditError>> + Send;
}

/// The keyring document, in a key file or an SSM SecureString.
///
/// ```json
/// {"active": "audit-20261121T101500Z",
///  "keys": [{"id": "audit-20261121T101500Z", "secret": "<base64 of 32 random bytes>",
///            "created_at": "2026-11-21T10:15:00Z"},
///           {"id": "audit-20260101T000000Z", "secret": "…", "created_at": "…",
///            "retired_at": "2026-11-21T10:15:00Z"}]}
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KeyringDocument {
    pub active: String,
    pub keys: Vec<KeyDocument>,
}

#[derive(Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KeyDocument {
    pub id: String,
    pub secret: String,
    pub created_at: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retired_at: Option<String>,
}

impl std::fmt::Debug for KeyDocument {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeyDocument")
            .field("id", &self.id)
            .field("secret", &"<redacted>")
            .field("created_at", &self.created_at)
            .field("retired_at", &self.retired_at)
            .finish()
    }
}

/// Local HMAC keys, pre-keyed so verifying a million events does not redo the key schedule.
#[derive(Clone)]
pub struct Keyring {
    active: String,
    keys: BTreeMap<String, HmacSha256>,
    /// Where the keys came from, for error messages ("key file …", "SSM parameter …").
    source: String,
}

impl std::fmt::Debug for Keyring {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Keyring")
            .field("active", &self.active)
            .field("keys", &self.keys.keys().collect::<Vec<_>>())
            .field("source", &self.source)
            .finish()
    }
}

/// Keys are at least 32 bytes: HMAC-SHA256's full strength.
const MIN_KEY_BYTES: usize = 32;

impl Keyring {
    pub fn from_document(doc: &KeyringDocument, source: &str) -> Result<Keyring, AuditError> {
        let mut keys = BTreeMap::new();
        for (i, key) in doc.keys.iter().enumerate() {
            check_key_id(&key.id).map_err(|e| AuditError::Key(format!("{source}: keys[{i}]: {e}")))?;
            let secret = base64::engine::general_purpose::STANDARD
                .decode(key.secret.trim())
                .map_err(|e| AuditError::Key(format!("{source}: key {}: secret is not base64: {e}", key.id)))?;
            if secret.len() < MIN_KEY_BYTES {
                return Err(AuditError::Key(format!(
                    "{source}: key {}: secret is {} bytes; at least {MIN_KEY_BYTES} are required",
                    key.id,
                    secret.len()
                )));
            }
            let mac = HmacSha256::new_from_slice(&secret)
                .map_err(|e| AuditError::Key(format!("{source}: key {}: {e}", key.id)))?;
            if keys.insert(key.id.clone(), mac).is_some() {
                return Err(AuditError::Key(format!("{source}: key id {} is listed twice", key.id)));
            }
        }
        if !keys.contains_key(&doc.active) {
            return Err(AuditError::Key(format!(
                "{source}: the active key {:?} is not among the listed keys ({})",
                doc.active,
                doc.keys.iter().map(|k| k.id.as_str()).collect::<Vec<_>>().join(", ")
            )));
        }
        Ok(Keyring { active: doc.active.clone(), keys, source: source.to_owned() })
    }

    pub fn from_json(text: &str, source: &str) -> Result<Keyring, AuditError> {
        let doc: KeyringDocument = serde_json::from_str(text)
            .map_err(|e| AuditError::Key(format!("{source}: not a keyring document: {e}")))?;
        Keyring::from_document(&doc, source)
    }

    /// One fresh key, for tests and for a key file's first use.
    pub fn generate(id: &str) -> Result<(Keyring, KeyringDocument), AuditError> {
        let doc = KeyringDocument { active: id.to_owned(), keys: vec![new_key_document(id)?] };
        Ok((Keyring::from_document(&doc, "generated keyring")?, doc))
    }

    pub fn key_ids(&self) -> impl Iterator<Item = &str> {
        self.keys.keys().map(String::as_str)
    }

    pub fn source(&self) -> &str {
        &self.source
    }

    /// The synchronous core of [`Signer::verify`], for the verifier's hot loop.
    pub fn check(&self, key_id: &str, message: &[u8], tag: &[u8]) -> MacCheck {
        match self.keys.get(key_id) {
            None => MacCheck::UnknownKey,
            Some(mac) => {
                let mut mac = mac.clone();
                mac.update(message);
                if mac.verify_slice(tag).is_ok() {
                    MacCheck::Valid
                } else {
                    MacCheck::Invalid
                }
            }
        }
    }

    pub fn mac_with_active(&self, message: &[u8]) -> Vec<u8> {
        let mut mac = self.keys[&self.active].clone();
        mac.update(message);
        mac.finalize().into_bytes().to_vec()
    }
}

impl Signer for Keyring {
    fn active_key_id(&self) -> &str {
        &self.active
    }

    async fn sign(&self, message: &[u8]) -> Result<Vec<u8>, AuditError> {
        Ok(self.mac_with_active(message))
    }

    async fn verify(&self, key_id: &str, message: &[u8], mac: &[u8]) -> Result<MacCheck, AuditError> {
        Ok(self.check(key_id, message, mac))
    }
}

fn now_rfc3339() -> String {
    crate::event::format_timestamp(time::OffsetDateTime::now_utc())
}

fn new_key_document(id: &str) -> Result<KeyDocument, AuditError> {
    let mut secret = [0u8; 32];
    getrandom::fill(&mut secret).map_err(|e| AuditError::Key(format!("no randomness for a new key: {e}")))?;
    Ok(KeyDocument {
        id: id.to_owned(),
        secret: base64::engine::general_purpose::STANDARD.encode(secret),
        created_at: now_rfc3339(),
        retired_at: None,
    })
}

/// A key id that says when the key was made: `audit-YYYYMMDDTHHMMSSZ`, with a suffix if taken.
fn fresh_key_id(doc: Option<&KeyringDocument>) -> String {
    const FORMAT: &[time::format_description::BorrowedFormatItem<'static>] =
        time::macros::format_description!("audit-[year][month][day]T[hour][minute][second]Z");
    let base = time::OffsetDateTime::now_utc().format(FORMAT).unwrap_or_else(|_| "audit".to_owned());
    let taken = |id: &str| doc.is_some_and(|d| d.keys.iter().any(|k| k.id == id));
    (1..).map(|n| if n == 1 { base.clone() } else { format!("{base}-{n}") }).find(|id| !taken(id)).unwrap_or(base)
}

/// The local key file: read it, or create it (mode 0600) with one fresh key when it is absent.
/// A file that others can read is refused, as ssh refuses a readable private key.
pub fn load_or_create_key_file(path: &Path) -> Result<Keyring, AuditError> {
    match read_key_file(path) {
        Ok(doc) => Keyring::from_document(&doc, &format!("key file {}", path.display())),
        Err(AuditError::Io { source, .. }) if source.kind() == std::io::ErrorKind::NotFound => {
            let id = fresh_key_id(None);
            let doc = KeyringDocument { active: id.clone(), keys: vec![new_key_document(&id)?] };
            write_key_file(path, &doc, true)?;
            tracing::info!(path = %path.display(), key_id = %id, "created a new audit key file");
            Keyring::from_document(&doc, &format!("key file {}", path.display()))
        }
        Err(e) => Err(e),
    }
}

/// Read an existing key file (missing is an error here: verification must not invent keys).
pub fn load_key_file(path: &Path) -> Result<Keyring, AuditError> {
    let doc = read_key_file(path)?;
    Keyring::from_document(&doc, &format!("key file {}", path.display()))
}

/// Add a fresh key, make it active, mark the previous active key retired (still listed, so its
/// events keep verifying). Returns the new key id.
pub fn rotate_key_file(path: &Path) -> Result<String, AuditError> {
    let mut doc = read_key_file(path)?;
    let id = fresh_key_id(Some(&doc));
    let now = now_rfc3339();
    for key in doc.keys.iter_mut().filter(|k| k.id == doc.active) {
        key.retired_at = Some(now.clone());
    }
    doc.keys.push(new_key_document(&id)?);
    doc.active = id.clone();
    Keyring::from_document(&doc, &format!("key file {}", path.display()))?;
    write_key_file(path, &doc, false)?;
    Ok(id)
}

fn read_key_file(path: &Path) -> Result<KeyringDocument, AuditError> {
    let meta = std::fs::metadata(path).map_err(|e| AuditError::io(path.display(), e))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = meta.permissions().mode() & 0o777;
        if mode & 0o077 != 0 {
            return Err(AuditError::Key(format!(
                "key file {} has mode {mode:04o}: others can read the audit key; run chmod 600 {}",
                path.display(),
                path.display()
            )));
        }
    }
    let _ = meta;
    let text = std::fs::read_to_string(path).map_err(|e| AuditError::io(path.display(), e))?;
    serde_json::from_str(&text)
        .map_err(|e| AuditError::Key(format!("key file {}: not a keyring document: {e}", path.display())))
}

fn write_key_file(path: &Path, doc: &KeyringDocument, create_new: bool) -> Result<(), AuditError> {
    use std::io::Write;
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(|e| AuditError::io(dir.display(), e))?;
    }
    let text = serde_json::to_string_pretty(doc).map_err(|e| AuditError::Key(e.to_string()))?;
    // Write beside, then rename: a crash never leaves a half-written keyring.
    let tmp = path.with_extension("json.tmp");
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(&tmp).map_err(|e| AuditError::io(tmp.display(), e))?;
    file.write_all(text.as_bytes()).and_then(|_| file.sync_all()).map_err(|e| AuditError::io(tmp.display(), e))?;
    if create_new {
        // A hard link fails if the name exists: two first uses cannot both create a key.
        let linked = std::fs::hard_link(&tmp, path);
        let _ = std::fs::remove_file(&tmp);
        return linked.map_err(|e| match e.kind() {
            std::io::ErrorKind::AlreadyExists => {
                AuditError::Key(format!("key file {} appeared while it was being created; run again", path.display()))
            }
            _ => AuditError::io(path.display(), e),
        });
    }
    std::fs::rename(&tmp, path).map_err(|e| AuditError::io(path.display(), e))
}

/// A keyring from an SSM SecureString parameter holding a [`KeyringDocument`].
pub async fn load_ssm_keyring(config: &aws_config::SdkConfig, parameter: &str) -> Result<Keyring, AuditError> {
    use secrecy::ExposeSecret;
    let text = secops_aws::ssm::get_secret_parameter(config, parameter).await?;
    Keyring::from_json(text.expose_secret(), &format!("SSM parameter {parameter}"))
}

/// KMS `GenerateMac`/`VerifyMac` with an HMAC_256 key. Events record the key's ARN (an alias
/// may later point elsewhere); retired keys are listed by ARN or key id.
#[derive(Debug, Clone)]
pub struct KmsSigner {
    client: aws_sdk_kms::Client,
    active_arn: String,
    listed: Vec<String>,
}

impl KmsSigner {
    /// Resolve the active key (an id, ARN or alias) to its ARN and check it is an HMAC key.
    pub async fn new(
        config: &aws_config::SdkConfig,
        key_id: &str,
        retired_key_ids: &[String],
    ) -> Result<KmsSigner, AuditError> {
        let client = aws_sdk_kms::Client::new(config);
        let described = client
            .describe_key()
            .key_id(key_id)
            .send()
            .await
            .map_err(|e| AuditError::from(secops_aws::AwsError::from_sdk("kms:DescribeKey", e)))?;
        let meta = described
            .key_metadata()
            .ok_or_else(|| AuditError::Key(format!("KMS key {key_id}: DescribeKey returned no metadata")))?;
        let usage = meta.key_usage().map(|u| u.as_str()).unwrap_or("(none)");
        let spec = meta.key_spec().map(|s| s.as_str()).unwrap_or("(none)");
        if usage != "GENERATE_VERIFY_MAC" || spec != "HMAC_256" {
            return Err(AuditError::Key(format!(
                "KMS key {key_id} has key spec {spec} and key usage {usage}; the audit chain needs key spec HMAC_256 \
                 with key usage GENERATE_VERIFY_MAC"
            )));
        }
        let active_arn = meta.arn().unwrap_or(meta.key_id()).to_owned();
        check_key_id(&active_arn)?;
        let mut listed = vec![active_arn.clone(), meta.key_id().to_owned()];
        listed.extend(retired_key_ids.iter().cloned());
        Ok(KmsSigner { client, active_arn, listed })
    }

    fn is_listed(&self, key_id: &str) -> bool {
        // A retired key may be listed by bare key id while events carry its ARN.
        self.listed.iter().any(|l| l == key_id || key_id.ends_with(&format!(":key/{l}")))
    }
}

impl Signer for KmsSigner {
    fn active_key_id(&self) -> &str {
        &self.active_arn
    }

    async fn sign(&self, message: &[u8]) -> Result<Vec<u8>, AuditError> {
        let out = self
            .client
            .generate_mac()
            .key_id(&self.active_arn)
            .mac_algorithm(aws_sdk_kms::types::MacAlgorithmSpec::HmacSha256)
            .message(aws_sdk_kms::primitives::Blob::new(message))
            .send()
            .await
            .map_err(|e| AuditError::from(secops_aws::AwsError::from_sdk("kms:GenerateMac", e)))?;
        out.mac()
            .map(|b| b.as_ref().to_vec())
            .ok_or_else(|| AuditError::Key(format!("KMS key {}: GenerateMac returned no MAC", self.active_arn)))
    }

    async fn verify(&self, key_id: &str, message: &[u8], mac: &[u8]) -> Result<MacCheck, AuditError> {
        if !self.is_listed(key_id) {
            return Ok(MacCheck::UnknownKey);
        }
        let result = self
            .client
            .verify_mac()
            .key_id(key_id)
            .mac_algorithm(aws_sdk_kms::types::MacAlgorithmSpec::HmacSha256)
            .message(aws_sdk_kms::primitives::Blob::new(message))
            .mac(aws_sdk_kms::primitives::Blob::new(mac))
            .send()
            .await;
        match result {
            Ok(out) if out.mac_valid() => Ok(MacCheck::Valid),
            Ok(_) => Ok(MacCheck::Invalid),
            // KMS answers a wrong MAC with an exception, not with MacValid=false.
            Err(e) if e.as_service_error().is_some_and(|s| s.is_kms_invalid_mac_exception()) => Ok(MacCheck::Invalid),
            Err(e) => Err(secops_aws::AwsError::from_sdk("kms:VerifyMac", e).into()),
        }
    }
}

/// The signer chosen by configuration.
#[derive(Debug, Clone)]
pub enum AnySigner {
    Keyring(Keyring),
    Kms(KmsSigner),
}

impl AnySigner {
    /// The local keys, when there are any: the verifier checks those without awaiting.
    pub fn keyring(&self) -> Option<&Keyring> {
        match self {
            AnySigner::Keyring(k) => Some(k),
            AnySigner::Kms(_) => None,
        }
    }
}

impl Signer for AnySigner {
    fn active_key_id(&self) -> &str {
        match self {
            AnySigner::Keyring(k) => k.active_key_id(),
            AnySigner::Kms(k) => k.active_key_id(),
        }
    }

    async fn sign(&self, message: &[u8]) -> Result<Vec<u8>, AuditError> {
        match self {
            AnySigner::Keyring(k) => k.sign(message).await,
            AnySigner::Kms(k) => k.sign(message).await,
        }
    }

    async fn verify(&self, key_id: &str, message: &[u8], mac: &[u8]) -> Result<MacCheck, AuditError> {
        match self {
            AnySigner::Keyring(k) => k.verify(key_id, message, mac).await,
            AnySigner::Kms(k) => k.verify(key_id, message, mac).await,
        }
    }
}

/// A 32-byte key for redaction's correlation hashes, derived from the active signing key
/// (HMAC of a fixed label), so the same value gets the same token in every process that
/// shares the audit key, and the token cannot be reversed without it.
pub async fn derive_correlation_key<S: Signer>(signer: &S) -> Result<[u8; 32], AuditError> {
    let mac = signer.sign(b"secops-autopilot redaction correlation key v1").await?;
    mac.get(..32)
        .and_then(|m| <[u8; 32]>::try_from(m).ok())
        .ok_or_else(|| AuditError::Key("the signer returned a MAC shorter than 32 bytes".into()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_keyring_signs_and_checks_and_names_unknown_keys() {
        let (ring, _) = Keyring::generate("k1").unwrap();
        let tag = ring.mac_with_active(b"hello");
        assert_eq!(tag.len(), 32);
        assert_eq!(ring.check("k1", b"hello", &tag), MacCheck::Valid);
        assert_eq!(ring.check("k1", b"hellp", &tag), MacCheck::Invalid);
        assert_eq!(ring.check("k2", b"hello", &tag), MacCheck::UnknownKey);
    }

    #[test]
    fn a_keyring_document_with_problems_is_refused_with_the_reason() {
        let short = KeyringDocument {
            active: "k".into(),
            keys: vec![KeyDocument {
                id: "k".into(),
                secret: "c2hvcnQ=".into(),
                created_at: "x".into(),
                retired_at: None,
            }],
        };
        let err = Keyring::from_document(&short, "test").unwrap_err().to_string();
        assert!(err.contains("at least 32"), "{err}");
        let (_, mut doc) = Keyring::generate("k").unwrap();
        doc.active = "other".into();
        let err = Keyring::from_document(&doc, "test").unwrap_err().to_string();
        assert!(err.contains("active key \"other\" is not among"), "{err}");
        let err = Keyring::from_json("{\"active\":1}", "test").unwrap_err().to_string();
        assert!(err.starts_with("test: not a keyring document"), "{err}");
    }

    #[test]
    fn debug_output_never_shows_a_secret() {
        let (ring, doc) = Keyring::generate("k").unwrap();
        assert!(!format!("{ring:?}{doc:?}").contains(&doc.keys[0].secret));
    }

    #[test]
    fn the_key_file_is_created_0600_rotated_and_refused_when_readable_by_others() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state/audit-keys.json");
        let first = load_or_create_key_file(&path).unwrap();
        let first_id = first.active_key_id().to_owned();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            assert_eq!(std::fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o600);
        }
        let tag = first.mac_with_active(b"event");
        assert_eq!(load_or_create_key_file(&path).unwrap().active_key_id(), first_id, "second load reuses the key");

        let second_id = rotate_key_file(&path).unwrap();
        assert_ne!(second_id, first_id);
        let rotated = load_key_file(&path).unwrap();
        assert_eq!(rotated.active_key_id(), second_id);
        assert_eq!(rotated.check(&first_id, b"event", &tag), MacCheck::Valid, "retired keys still verify");

        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
            let err = load_key_file(&path).unwrap_err().to_string();
            assert!(err.contains("mode 0644") && err.contains("chmod 600"), "{err}");
        }
        let err = load_key_file(&dir.path().join("missing.json")).unwrap_err().to_string();
        assert!(err.contains("missing.json"), "{err}");
    }
}
