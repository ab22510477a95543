//! S3.9 — S3 general purpose buckets should have server access logging enabled: log into the
//! catalogue's log bucket under `s3-access/<bucket>/`, creating or completing the log bucket first.

use async_trait::async_trait;
use aws_sdk_s3::types::{BucketLoggingStatus, LoggingEnabled};
use serde_json::json;
use std::collections::BTreeMap;

use crate::context::Ctx;
use crate::plan::{unplanned, Change};
use crate::spec::{Assessment, Check, Remediation, Spec, TestedWith};
use crate::support::aws;
use secops_aws::AwsError;

use super::s3_common::{bucket_arn, build_error, execute_log_bucket, log_bucket_changes};

pub struct S3_9;

static SPEC: Spec = Spec {
    control: "S3.9",
    title: "S3 general purpose buckets should have server access logging enabled",
    change: "turns on server access logging into the catalogue's log bucket (prefix s3-access/<bucket>/), creating \
             the log bucket when missing",
    resource_types: &["AwsS3Bucket"],
    actions: &[
        "s3:GetBucketTagging",
        "s3:GetBucketLogging",
        "s3:PutBucketLogging",
        "s3:ListBucket",
        "s3:CreateBucket",
        "s3:GetBucketOwnershipControls",
        "s3:PutBucketOwnershipControls",
        "s3:GetBucketPublicAccessBlock",
        "s3:PutBucketPublicAccessBlock",
        "s3:GetEncryptionConfiguration",
        "s3:PutEncryptionConfiguration",
        "s3:GetBucketVersioning",
        "s3:PutBucketVersioning",
        "s3:GetBucketPolicy",
        "s3:PutBucketPolicy",
    ],
    disruptive: false,
    verification: "GetBucketLogging shows a target bucket",
    exemption_tags: &[],
    tested_with: TestedWith::Moto,
};

#[async_trait]
impl Remediation for S3_9 {
    fn spec(&self) -> &'static Spec {
        &SPEC
    }

    async fn live_tags(&self, ctx: &Ctx) -> Result<Option<BTreeMap<String, String>>, AwsError> {
        super::s3_2::bucket_tags(ctx).await.map(Some)
    }

    async fn plan(&self, ctx: &Ctx) -> Result<Assessment, AwsError> {
        let bucket = &ctx.target.name;
        let log_bucket = ctx.log_bucket();
        if *bucket == log_bucket {
            return Ok(Assessment::Exempt(format!(
                "bucket {bucket} is the catalogue's log bucket; logging it into itself would log every log write"
            )));
        }
        if let Some(target) = logging_target(ctx).await? {
            return Ok(Assessment::Compliant(format!("bucket {bucket} already logs to {target}")));
        }
        let mut changes = log_bucket_changes(ctx).await?;
        changes.push(Change::new(
            "s3:PutBucketLogging",
            bucket_arn(ctx, bucket),
            json!({"Bucket": bucket, "TargetBucket": log_bucket, "TargetPrefix": format!("s3-access/{bucket}/")}),
            format!("bucket {bucket} has no server access logging"),
        ));
        Ok(Assessment::Changes(changes))
    }

    async fn execute(&self, ctx: &Ctx, change: &Change) -> Result<(), AwsError> {
        if let Some(done) = execute_log_bucket(ctx, change).await {
            return done;
        }
        match change.action.as_str() {
            "s3:PutBucketLogging" => {
                let enabled = LoggingEnabled::builder()
                    .target_bucket(change.text("TargetBucket")?)
                    .target_prefix(change.text("TargetPrefix")?)
                    .build()
                    .map_err(|e| build_error("s3:PutBucketLogging", e))?;
                ctx.s3()
                    .put_bucket_logging()
                    .bucket(change.text("Bucket")?)
                    .expected_bucket_owner(ctx.account())
                    .bucket_logging_status(BucketLoggingStatus::builder().logging_enabled(enabled).build())
                    .send()
                    .await
                    .map(|_| ())
                    .map_err(aws("s3:PutBucketLogging"))
            }
            _ => Err(unplanned(change)),
        }
    }

    async fn verify(&self, ctx: &Ctx) -> Result<Check, AwsError> {
        Ok(match logging_target(ctx).await? {
            Some(target) => Check::Holds(format!("server access logs go to {target}")),
            None => Check::Fails(format!("bucket {} has no server access logging", ctx.target.name)),
        })
    }
}

/// Where the bucket logs to (`bucket/prefix`), if it does.
async fn logging_target(ctx: &Ctx) -> Result<Option<String>, AwsError> {
    let out = ctx
        .s3()
        .get_bucket_logging()
        .bucket(&ctx.target.name)
        .expected_bucket_owner(ctx.account())
        .send()
        .await
        .map_err(aws("s3:GetBucketLogging"))?;
    Ok(out.logging_enabled().map(|l| format!("{}/{}", l.target_bucket(), l.target_prefix())))
}
