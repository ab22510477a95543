//! S3.13 — S3 general purpose buckets should have Lifecycle configurations: add a whole-bucket
//! housekeeping rule (incomplete multipart uploads aborted after 7 days, noncurrent versions
//! expired after 365 days). Current objects never expire.

use async_trait::async_trait;
use serde_json::json;
use std::collections::BTreeMap;

use crate::context::Ctx;
use crate::plan::{unplanned, Change};
use crate::spec::{Assessment, Check, Remediation, Spec, TestedWith};
use secops_aws::AwsError;

use super::s3_common::{plan_lifecycle, put_lifecycle, verify_lifecycle};

pub struct S3_13;

static SPEC: Spec = Spec {
    control: "S3.13",
    title: "S3 general purpose buckets should have Lifecycle configurations",
    change: "adds the lifecycle rule secops-housekeeping (incomplete multipart uploads aborted after 7 days, \
             noncurrent versions expired after 365 days), keeping every existing rule",
    resource_types: &["AwsS3Bucket"],
    actions: &["s3:GetBucketTagging", "s3:GetLifecycleConfiguration", "s3:PutLifecycleConfiguration"],
    disruptive: false,
    verification: "GetBucketLifecycleConfiguration shows an enabled rule",
    exemption_tags: &[],
    tested_with: TestedWith::Moto,
};

#[async_trait]
impl Remediation for S3_13 {
    fn spec(&self) -> &'static Spec {
        &SPEC
    }

    async fn live_tags(&self, ctx: &Ctx) -> Result<Option<BTreeMap<String, String>>, AwsError> {
        super::s3_2::bucket_tags(ctx).await.map(Some)
    }

    async fn plan(&self, ctx: &Ctx) -> Result<Assessment, AwsError> {
        plan_lifecycle(ctx, json!({"Id": "secops-housekeeping", "NoncurrentDays": 365, "AbortIncompleteDays": 7})).await
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
