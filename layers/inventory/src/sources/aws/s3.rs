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
use crate::sources::aws::cli_json::ToCliJson;
use crate::sources::aws::{each_page, emit};
use aws_config::Region;
use aws_sdk_s3::error::ProvideErrorMetadata;
use futures::StreamExt;
use secops_aws::AwsError;
use serde_json::Value;
use std::collections::HashMap;

pub static COLLECTOR: AwsCollector = AwsCollector {
    name: "s3",
    scope: AwsScope::Global,
    tables: &[
        &BUCKETS,
        &PUBLIC_ACCESS_BLOCKS,
        &POLICY_STATUS,
        &ACLS,
        &ENCRYPTION,
        &VERSIONING,
        &LOGGING,
        &ACCOUNT_PUBLIC_ACCESS_BLOCK,
    ],
    actions: &[
        "s3:ListAllMyBuckets",
        "s3:GetBucketLocation",
        "s3:GetBucketPublicAccessBlock",
        "s3:GetBucketPolicyStatus",
        "s3:GetBucketAcl",
        "s3:GetEncryptionConfiguration",
        "s3:GetBucketVersioning",
        "s3:GetBucketLogging",
        "s3:GetAccountPublicAccessBlock",
    ],
    fetch: |target, out| Box::pin(fetch(target, out)),
};

async fn fetch(target: &AwsTarget, out: &mut dyn RecordSink) -> Result<()> {
    let s3 = aws_sdk_s3::Client::new(&target.sdk);
    let mut buckets: Vec<(String, Option<String>)> = Vec::new();
    each_page!(s3.list_buckets().into_paginator().send(), "s3:ListBuckets", |page| {
        buckets.extend(
            page.buckets().iter().filter_map(|b| Some((b.name()?.to_owned(), b.bucket_region().map(str::to_owned)))),
        );
        emit(out, &BUCKETS, None, &page).await?;
    });
    // Bucket settings are answered only by the bucket's own region.
    let mut clients: HashMap<String, aws_sdk_s3::Client> = HashMap::new();
    let mut located = Vec::with_capacity(buckets.len());
    for (bucket, listed_region) in &buckets {
        let region = match listed_region {
            Some(region) => region.clone(),
            None => bucket_location(&s3, bucket).await?,
        };
        let client = clients.entry(region.clone()).or_insert_with(|| {
            aws_sdk_s3::Client::from_conf(
                aws_sdk_s3::config::Builder::from(&target.sdk).region(Region::new(region)).build(),
            )
        });
        located.push((client.clone(), bucket.clone()));
    }
    // Six calls per bucket: thousands of buckets one after another would outlast a Lambda, so
    // several buckets are read at once; their pages are loaded in listing order.
    let mut settings = futures::stream::iter(located)
        .map(|(client, bucket)| async move { bucket_settings(&client, &bucket).await.map(|pages| (bucket, pages)) })
        .buffered(BUCKETS_AT_ONCE);
    while let Some(result) = settings.next().await {
        let (bucket, pages) = result?;
        for (table, page) in pages {
            out.page(table, Some(&bucket), page).await?;
        }
    }
    let control = aws_sdk_s3control::Client::new(&target.sdk);
    match control.get_public_access_block().account_id(&target.account_id).send().await {
        Ok(page) => emit(out, &ACCOUNT_PUBLIC_ACCESS_BLOCK, None, &page).await?,
        Err(e) if e.code() == Some("NoSuchPublicAccessBlockConfiguration") => {}
        Err(e) => return Err(AwsError::from_sdk("s3control:GetPublicAccessBlock", e).into()),
    }
    Ok(())
}

/// The region of a bucket `ListBuckets` did not name one for (`GetBucketLocation` answers no
/// constraint for us-east-1 and the legacy `EU` for eu-west-1).
async fn bucket_location(s3: &aws_sdk_s3::Client, bucket: &str) -> Result<String> {
    let location = s3.get_bucket_location().bucket(bucket).send().await.map_err(|e| {
        InventoryError::from(AwsError::from_sdk("s3:GetBucketLocation", e)).context(format!("bucket {bucket}"))
    })?;
    Ok(match location.location_constraint().map(|c| c.as_str()) {
        None | Some("") => "us-east-1".to_owned(),
        Some("EU") => "eu-west-1".to_owned(),
        Some(region) => region.to_owned(),
    })
}

/// Buckets whose settings are read at the same time.
const BUCKETS_AT_ONCE: usize = 16;

/// One bucket's settings as (table, page); "not configured" answers give no page.
async fn bucket_settings(s3: &aws_sdk_s3::Client, bucket: &str) -> Result<Vec<(&'static Table, Value)>> {
    let at = |e: AwsError| InventoryError::from(e).context(format!("bucket {bucket}"));
    let mut pages = Vec::with_capacity(6);
    match s3.get_public_access_block().bucket(bucket).send().await {
        Ok(page) => pages.push((&PUBLIC_ACCESS_BLOCKS, page.to_cli_json())),
        Err(e) if e.code() == Some("NoSuchPublicAccessBlockConfiguration") => {}
        Err(e) => return Err(at(AwsError::from_sdk("s3:GetBucketPublicAccessBlock", e))),
    }
    match s3.get_bucket_policy_status().bucket(bucket).send().await {
        Ok(page) => pages.push((&POLICY_STATUS, page.to_cli_json())),
        Err(e) if e.code() == Some("NoSuchBucketPolicy") => {}
        Err(e) => return Err(at(AwsError::from_sdk("s3:GetBucketPolicyStatus", e))),
    }
    let acl =
        s3.get_bucket_acl().bucket(bucket).send().await.map_err(|e| at(AwsError::from_sdk("s3:GetBucketAcl", e)))?;
    pages.push((&ACLS, acl.to_cli_json()));
    match s3.get_bucket_encryption().bucket(bucket).send().await {
        Ok(page) => pages.push((&ENCRYPTION, page.to_cli_json())),
        Err(e) if e.code() == Some("ServerSideEncryptionConfigurationNotFoundError") => {}
        Err(e) => return Err(at(AwsError::from_sdk("s3:GetEncryptionConfiguration", e))),
    }
    let versioning = s3
        .get_bucket_versioning()
        .bucket(bucket)
        .send()
        .await
        .map_err(|e| at(AwsError::from_sdk("s3:GetBucketVersioning", e)))?;
    pages.push((&VERSIONING, versioning.to_cli_json()));
    let logging = s3
        .get_bucket_logging()
        .bucket(bucket)
        .send()
        .await
        .map_err(|e| at(AwsError::from_sdk("s3:GetBucketLogging", e)))?;
    pages.push((&LOGGING, logging.to_cli_json()));
    Ok(pages)
}

pub static BUCKETS: Table = Table {
    name: "s3_buckets",
    file: "s3.list-buckets",
    records: "/Buckets/*",
    parent: None,
    key: &["bucket"],
    placement: Placement::Target,
    columns: &[
        text("bucket", "/Name"),
        timestamp("created_at", "/CreationDate"),
        text("bucket_region", "/BucketRegion"),
    ],
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
