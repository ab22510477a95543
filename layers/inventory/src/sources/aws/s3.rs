//! S3 buckets (`s3:ListBuckets`, global, once per account) and, per bucket, the settings posture
//! reads: public access block, policy status, ACL, encryption, versioning and logging; plus the
//! account-level public access block (`s3control:GetPublicAccessBlock`).
//!
//! A setting that is not configured has no row (the API answers "NoSuch…" and there is nothing to
//! store); a setting that could not be read fails the collector run instead, so "no row" always
//! means "not configured" in a complete run.

use crate::collector::{AwsCollector, AwsScope, AwsTarget, RecordSink};
use crate::error::{InventoryError, Result};
use crate::schema::*;
use serde_json::Value;

pub static COLLECTOR: AwsCollector = AwsCollector {
    name: "s3",
    scope: AwsScope::Global,
    tables: &[&BUCKETS, &PUBLIC_ACCESS_BLOCKS, &POLICY_STATUS, &ACLS, &ENCRYPTION, &VERSIONING, &LOGGING, &ACCOUNT_PUBLIC_ACCESS_BLOCK],
    actions: &["s3:ListAllMyBuckets", "s3:GetBucketPublicAccessBlock", "s3:GetBucketPolicyStatus", "s3:GetBucketAcl", "s3:GetEncryptionConfiguration", "s3:GetBucketVersioning", "s3:GetBucketLogging", "s3:GetAccountPublicAccessBlock"],
    fetch: |target, out| Box::pin(fetch(target, out)),
};

async fn fetch(target: &AwsTarget, out: &mut dyn RecordSink) -> Result<()> {
    let _ = (target, out);
    Err(InventoryError::permanent("HELPER: fetch not written"))
}

pub static BUCKETS: Table = Table {
    name: "s3_buckets",
    file: "s3.list-buckets",
    records: "/Buckets/*",
    parent: None,
    key: &["bucket"],
    placement: Placement::Target,
    columns: &[text("bucket", "/Name"), timestamp("created_at", "/CreationDate"), text("bucket_region", "/BucketRegion")],
};

pub static PUBLIC_ACCESS_BLOCKS: Table = Table {
    name: "s3_bucket_public_access_blocks",
    file: "s3.get-public-access-block",
    records: "/PublicAccessBlockConfiguration",
    parent: Some("bucket"),
    key: &["bucket"],
    placement: Placement::Target,
    columns: &[
        parent("bucket"),
        flag("block_public_acls", "/BlockPublicAcls"),
        flag("ignore_public_acls", "/IgnorePublicAcls"),
        flag("block_public_policy", "/BlockPublicPolicy"),
        flag("restrict_public_buckets", "/RestrictPublicBuckets"),
    ],
};

pub static POLICY_STATUS: Table = Table {
    name: "s3_bucket_policy_status",
    file: "s3.get-bucket-policy-status",
    records: "/PolicyStatus",
    parent: Some("bucket"),
    key: &["bucket"],
    placement: Placement::Target,
    columns: &[parent("bucket"), flag("is_public", "/IsPublic")],
};

pub static ACLS: Table = Table {
    name: "s3_bucket_acls",
    file: "s3.get-bucket-acl",
    records: "",
    parent: Some("bucket"),
    key: &["bucket"],
    placement: Placement::Target,
    columns: &[
        parent("bucket"),
        text("owner_id", "/Owner/ID"),
        computed("public_grants", ColumnType::TextArray, public_grants),
    ],
};

/// The permissions granted to everyone or to every AWS user (`AllUsers`, `AuthenticatedUsers`).
fn public_grants(acl: &Value) -> Option<Value> {
    let grants = acl.get("Grants")?.as_array()?;
    let public = grants
        .iter()
        .filter(|g| {
            g.pointer("/Grantee/URI")
                .and_then(Value::as_str)
                .is_some_and(|uri| uri.ends_with("/global/AllUsers") || uri.ends_with("/global/AuthenticatedUsers"))
        })
        .filter_map(|g| g.get("Permission").cloned())
        .collect();
    Some(Value::Array(public))
}

pub static ENCRYPTION: Table = Table {
    name: "s3_bucket_encryption",
    file: "s3.get-bucket-encryption",
    records: "/ServerSideEncryptionConfiguration",
    parent: Some("bucket"),
    key: &["bucket"],
    placement: Placement::Target,
    columns: &[
        parent("bucket"),
        text("sse_algorithm", "/Rules/0/ApplyServerSideEncryptionByDefault/SSEAlgorithm"),
        text("kms_key_id", "/Rules/0/ApplyServerSideEncryptionByDefault/KMSMasterKeyID"),
        flag("bucket_key_enabled", "/Rules/0/BucketKeyEnabled"),
    ],
};

/// `s3:GetBucketVersioning` answers `{}` for a bucket that never had versioning; that is a row
/// with a NULL status.
pub static VERSIONING: Table = Table {
    name: "s3_bucket_versioning",
    file: "s3.get-bucket-versioning",
    records: "",
    parent: Some("bucket"),
    key: &["bucket"],
    placement: Placement::Target,
    columns: &[parent("bucket"), text("status", "/Status"), text("mfa_delete", "/MFADelete")],
};

/// `s3:GetBucketLogging` answers `{}` when logging is off: a row with NULL target.
pub static LOGGING: Table = Table {
    name: "s3_bucket_logging",
    file: "s3.get-bucket-logging",
    records: "",
    parent: Some("bucket"),
    key: &["bucket"],
    placement: Placement::Target,
    columns: &[
        parent("bucket"),
        text("target_bucket", "/LoggingEnabled/TargetBucket"),
        text("target_prefix", "/LoggingEnabled/TargetPrefix"),
    ],
};

pub static ACCOUNT_PUBLIC_ACCESS_BLOCK: Table = Table {
    name: "s3_account_public_access_block",
    file: "s3control.get-public-access-block",
    records: "/PublicAccessBlockConfiguration",
    parent: None,
    key: &["account_id"],
    placement: Placement::Target,
    columns: &[
        flag("block_public_acls", "/BlockPublicAcls"),
        flag("ignore_public_acls", "/IgnorePublicAcls"),
        flag("block_public_policy", "/BlockPublicPolicy"),
        flag("restrict_public_buckets", "/RestrictPublicBuckets"),
    ],
};
