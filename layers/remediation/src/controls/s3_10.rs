//! S3.10 — S3 general purpose buckets with versioning enabled should have Lifecycle configurations:
//! add a whole-bucket rule that expires noncurrent versions after 365 days (keeping the newest
//! one) and aborts incomplete multipart uploads after 7 days. Current objects never expire.

use async_trait::async_trait;
use aws_sdk_s3::types::BucketVersioningStatus;
use serde_json::json;
use std::collections::BTreeMap;

use crate::context::Ctx;
use crate::plan::{unplanned, Change};
use crate::spec::{Assessment, Check, Remediation, Spec, TestedWith};
use crate::support::aws;
use secops_aws::AwsError;

use super::s3_common::{plan_lifecycle, put_lifecycle, verify_lifecycle};

pub struct S3_10;

static SPEC: Spec = Spec {
    control: "S3.10",
    title: "S3 general purpose buckets with versioning enabled should have Lifecycle configurations",
    change: "adds the lifecycle rule secops-noncurrent-versions (noncurrent versions expire after 365 days, the \
             newest one kept; incomplete multipart uploads aborted after 7 days), keeping every existing rule",
    resource_types: &["AwsS3Bucket"],
    actions: &[
        "s3:GetBucketTagging",
        "s3:GetBucketVersioning",
        "s3:GetLifecycleConfiguration",
        "s3:PutLifecycleConfiguration",
    ],
    disruptive: false,
    verification: "GetBucketLifecycleConfiguration shows an enabled rule",
    exemption_tags: &[],
    tested_with: TestedWith::Moto,
};

#[async_trait]
impl Remediation for S3_10 {
    fn spec(&self) -> &'static Spec {
        &SPEC
    }

    async fn live_tags(&self, ctx: &Ctx) -> Result<Option<BTreeMap<String, String>>, AwsError> {
        super::s3_2::bucket_tags(ctx).await.map(Some)
    }

    async fn plan(&self, ctx: &Ctx) -> Result<Assessment, AwsError> {
        let bucket = &ctx.target.name;
        let versioning = ctx
            .s3()
            .get_bucket_versioning()
            .bucket(bucket)
            .expected_bucket_owner(ctx.account())
            .send()
            .await
            .map_err(aws("s3:GetBucketVersioning"))?;
        if versioning.status() != Some(&BucketVersioningStatus::Enabled) {
            return Ok(Assessment::Compliant(format!(
                "bucket {bucket} is not versioned (status {}), so the control does not apply",
                versioning.status().map_or("never enabled", |s| s.as_str())
            )));
        }
        plan_lifecycle(
            ctx,
            json!({"Id": "secops-noncurrent-versions", "NoncurrentDays": 365, "NewerNoncurrentVersions": 1, "AbortIncompleteDays": 7}),
        )
        .await
    }

    async fn execute(&self, ctx: &Ctx, change: &Change) -> Result<(), AwsError> {
        match change.action.as_str() {
            "s3:PutLifecycleConfiguration" => put_lifecycle(ctx, change).await,
            _ => Err(unplanned(change)),
        }
    }

    async fn verify(&self, ctx: &Ctx) -> Result<Check, AwsError> {
        verify_lifecycle(ctx).await
    }
}
