//! KMS.4 — AWS KMS key rotation should be enabled: turn on automatic rotation of a customer
//! managed symmetric key whose key material KMS generated.

use async_trait::async_trait;
use aws_sdk_kms::types::{KeyManagerType, KeyMetadata, KeySpec, KeyState, MultiRegionKeyType, OriginType};
use serde_json::json;
use std::collections::BTreeMap;

use crate::context::Ctx;
use crate::plan::{unplanned, Change};
use crate::spec::{Assessment, Check, Remediation, Spec, TestedWith};
use crate::support::aws;
use crate::support::{too_many_pages, MAX_PAGES};
use crate::target::Arn;
use secops_aws::AwsError;

pub struct Kms4;

static SPEC: Spec = Spec {
    control: "KMS.4",
    title: "AWS KMS key rotation should be enabled",
    change: "enables automatic yearly rotation of the customer managed KMS key",
    resource_types: &["AwsKmsKey"],
    actions: &["kms:ListResourceTags", "kms:DescribeKey", "kms:GetKeyRotationStatus", "kms:EnableKeyRotation"],
    disruptive: false,
    verification: "GetKeyRotationStatus shows KeyRotationEnabled=true",
    exemption_tags: &[],
    tested_with: TestedWith::Moto,
};

#[async_trait]
impl Remediation for Kms4 {
    fn spec(&self) -> &'static Spec {
        &SPEC
    }

    fn name_of(&self, resource_id: &str, _details: Option<&serde_json::Value>) -> Result<String, String> {
        key_id(resource_id)
    }

    async fn live_tags(&self, ctx: &Ctx) -> Result<Option<BTreeMap<String, String>>, AwsError> {
        let mut tags = BTreeMap::new();
        let mut marker: Option<String> = None;
        for _ in 0..MAX_PAGES {
            let out = ctx
                .kms()
                .list_resource_tags()
                .key_id(&ctx.target.name)
                .set_marker(marker.take())
                .send()
                .await
                .map_err(aws("kms:ListResourceTags"))?;
            tags.extend(out.tags().iter().map(|t| (t.tag_key().to_owned(), t.tag_value().to_owned())));
            match out.next_marker() {
                Some(m) if out.truncated() => marker = Some(m.to_owned()),
                _ => return Ok(Some(tags)),
            }
        }
        Err(too_many_pages("kms:ListResourceTags"))
    }

    async fn plan(&self, ctx: &Ctx) -> Result<Assessment, AwsError> {
        let key = &ctx.target.name;
        let out = ctx.kms().describe_key().key_id(key).send().await.map_err(aws("kms:DescribeKey"))?;
        let Some(meta) = out.key_metadata() else {
            return Ok(Assessment::Gone(format!("KMS key {key} was not described (no metadata)")));
        };
        if let Some(answer) = not_rotatable(meta) {
            return Ok(answer);
        }
        if rotation_enabled(ctx).await? {
            return Ok(Assessment::Compliant(format!("KMS key {key} rotates automatically")));
        }
        Ok(Assessment::Changes(vec![Change::new(
            "kms:EnableKeyRotation",
            meta.arn().map_or_else(|| ctx.target.resource_id.clone(), str::to_owned),
            json!({"KeyId": key}),
            "automatic rotation is off; KMS then makes new key material every year and keeps the old material for \
             decrypting, so nothing that uses the key changes",
        )]))
    }

    async fn execute(&self, ctx: &Ctx, change: &Change) -> Result<(), AwsError> {
        match change.action.as_str() {
            "kms:EnableKeyRotation" => ctx
                .kms()
                .enable_key_rotation()
                .key_id(change.text("KeyId")?)
                .send()
                .await
                .map(|_| ())
                .map_err(aws("kms:EnableKeyRotation")),
            _ => Err(unplanned(change)),
        }
    }

    async fn verify(&self, ctx: &Ctx) -> Result<Check, AwsError> {
        let on = rotation_enabled(ctx).await?;
        let text = format!("KMS key {}: KeyRotationEnabled={on}", ctx.target.name);
        Ok(if on { Check::Holds(text) } else { Check::Fails(text) })
    }
}

async fn rotation_enabled(ctx: &Ctx) -> Result<bool, AwsError> {
    let out = ctx
        .kms()
        .get_key_rotation_status()
        .key_id(&ctx.target.name)
        .send()
        .await
        .map_err(aws("kms:GetKeyRotationStatus"))?;
    Ok(out.key_rotation_enabled())
}

/// The key id of a key ARN (`arn:aws:kms:<region>:<acct>:key/<id>`) or a bare key id.
fn key_id(id: &str) -> Result<String, String> {
    let key = match Arn::parse(id) {
        Some(arn) if arn.service != "kms" => {
            return Err(format!("expected a KMS key ARN, got service {:?}", arn.service))
        }
        Some(arn) => arn
            .resource
            .strip_prefix("key/")
            .ok_or_else(|| format!("expected a KMS key ARN (resource key/<id>), got {:?}", arn.resource))?,
        None => id,
    };
    if !key.is_empty() && key.len() <= 64 && key.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-') {
        Ok(key.to_owned())
    } else {
        Err(format!("expected a KMS key id (letters, digits and hyphens), got {key:?}"))
    }
}

/// Why this key is not rotated automatically, when it cannot or need not be.
fn not_rotatable(meta: &KeyMetadata) -> Option<Assessment> {
    let key = meta.key_id();
    if meta.key_manager() == Some(&KeyManagerType::Aws) {
        return Some(Assessment::Exempt(format!(
            "KMS key {key} is AWS managed: AWS rotates it, and rotation is not supported for customers to change"
        )));
    }
    if meta.key_spec().is_some_and(|s| *s != KeySpec::SymmetricDefault) {
        let spec = meta.key_spec().map(|s| s.as_str()).unwrap_or_default();
        return Some(Assessment::Exempt(format!(
            "KMS key {key} has key spec {spec} (asymmetric or HMAC): rotation is not supported"
        )));
    }
    if let Some(origin) = meta.origin().filter(|o| **o != OriginType::AwsKms) {
        return Some(Assessment::Exempt(format!(
            "KMS key {key} has origin {} (imported or custom key store material): automatic rotation is not supported",
            origin.as_str()
        )));
    }
    match meta.key_state() {
        Some(KeyState::PendingDeletion | KeyState::PendingReplicaDeletion | KeyState::Disabled) => {
            let state = meta.key_state().map(|s| s.as_str()).unwrap_or_default();
            return Some(Assessment::Exempt(format!(
                "KMS key {key} is {state}: it encrypts nothing new, so rotating it protects nothing"
            )));
        }
        Some(KeyState::Enabled) | None => {}
        Some(other) => {
            return Some(Assessment::ReconsiderLater(format!(
                "KMS key {key} is {}; rotation is changed once it is Enabled",
                other.as_str()
            )))
        }
    }
    let config = meta.multi_region_configuration();
    if config.and_then(|c| c.multi_region_key_type()) == Some(&MultiRegionKeyType::Replica) {
        let primary = config.and_then(|c| c.primary_key()).and_then(|p| p.arn()).unwrap_or("its primary key");
        return Some(Assessment::Ticket(format!(
            "KMS key {key} is a multi-Region replica, whose rotation follows the primary key; enable rotation on \
             {primary}"
        )));
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_kms::types::{MultiRegionConfiguration, MultiRegionKey};

    fn key() -> aws_sdk_kms::types::builders::KeyMetadataBuilder {
        KeyMetadata::builder()
            .key_id("1234abcd-12ab-34cd-56ef-1234567890ab")
            .key_manager(KeyManagerType::Customer)
            .key_spec(KeySpec::SymmetricDefault)
            .origin(OriginType::AwsKms)
            .key_state(KeyState::Enabled)
    }

    fn reason(meta: KeyMetadata) -> Option<Assessment> {
        not_rotatable(&meta)
    }

    #[test]
    fn which_keys_cannot_rotate() {
        assert_eq!(reason(key().build().unwrap()), None);
        let aws_managed = reason(key().key_manager(KeyManagerType::Aws).build().unwrap());
        assert!(matches!(aws_managed, Some(Assessment::Exempt(ref r)) if r.contains("AWS managed")), "{aws_managed:?}");
        let hmac = reason(key().key_spec(KeySpec::Hmac256).build().unwrap());
        assert!(matches!(hmac, Some(Assessment::Exempt(ref r)) if r.contains("HMAC_256")), "{hmac:?}");
        let hsm = reason(key().origin(OriginType::AwsCloudhsm).build().unwrap());
        assert!(matches!(hsm, Some(Assessment::Exempt(ref r)) if r.contains("AWS_CLOUDHSM")), "{hsm:?}");
        let updating = reason(key().key_state(KeyState::Updating).build().unwrap());
        assert!(matches!(updating, Some(Assessment::ReconsiderLater(ref r)) if r.contains("Updating")), "{updating:?}");
        let primary = "arn:aws:kms:us-east-1:111122223333:key/mrk-1";
        let replica = key()
            .multi_region_configuration(
                MultiRegionConfiguration::builder()
                    .multi_region_key_type(MultiRegionKeyType::Replica)
                    .primary_key(MultiRegionKey::builder().arn(primary).build())
                    .build(),
            )
            .build()
            .unwrap();
        assert!(matches!(reason(replica), Some(Assessment::Ticket(ref r)) if r.contains(primary)));
    }

    #[test]
    fn key_ids_from_arns() {
        assert_eq!(key_id("arn:aws:kms:us-east-1:111122223333:key/mrk-1a2b").unwrap(), "mrk-1a2b");
        assert_eq!(key_id("1234abcd-12ab").unwrap(), "1234abcd-12ab");
        assert!(key_id("arn:aws:kms:us-east-1:111122223333:alias/app").unwrap_err().contains("key/"));
        assert!(key_id("arn:aws:s3:::b").is_err());
    }
}
