//! S3.3 — S3 general purpose buckets should block public write access: turn on all four settings
//! of the bucket's Block Public Access (they also stop public writes granted by ACL or policy).

use async_trait::async_trait;
use std::collections::BTreeMap;

use crate::context::Ctx;
use crate::plan::Change;
use crate::spec::{Assessment, Check, Remediation, Spec, TestedWith};
use secops_aws::AwsError;

use super::s3_2::{bucket_tags, execute_block_all, plan_block_all, verify_block_all};

pub struct S3_3;

static SPEC: Spec = Spec {
    control: "S3.3",
    title: "S3 general purpose buckets should block public write access",
    change: "turns on all four Block Public Access settings of the bucket",
    resource_types: &["AwsS3Bucket"],
    actions: &["s3:GetBucketTagging", "s3:GetBucketPublicAccessBlock", "s3:PutBucketPublicAccessBlock"],
    disruptive: true,
    verification: "GetPublicAccessBlock shows all four settings true",
    exemption_tags: &["secops:s3:public-write-intended"],
    tested_with: TestedWith::Moto,
};

#[async_trait]
impl Remediation for S3_3 {
    fn spec(&self) -> &'static Spec {
        &SPEC
    }

    async fn live_tags(&self, ctx: &Ctx) -> Result<Option<BTreeMap<String, String>>, AwsError> {
        bucket_tags(ctx).await.map(Some)
    }

    async fn plan(&self, ctx: &Ctx) -> Result<Assessment, AwsError> {
        plan_block_all(ctx, None, "public writes granted by ACL or policy stop; ").await
    }

    async fn execute(&self, ctx: &Ctx, change: &Change) -> Result<(), AwsError> {
        execute_block_all(ctx, change).await
    }

    async fn verify(&self, ctx: &Ctx) -> Result<Check, AwsError> {
        verify_block_all(ctx).await
    }
}
