//! S3.8 — S3 general purpose buckets should block public access: turn on all four settings
//! of the bucket's Block Public Access. A bucket serving a static website is a ticket.

use async_trait::async_trait;
use serde_json::json;
use std::collections::BTreeMap;

use crate::context::Ctx;
use crate::plan::{unplanned, Change};
use crate::spec::{Assessment, Check, Remediation, Spec, TestedWith};
use crate::support::{aws, has_code};
use secops_aws::AwsError;

use super::s3_2::{bucket_tags, describe, public_access_block, put_block_all};

pub struct S3_8;

static SPEC: Spec = Spec {
    control: "S3.8",
    title: "S3 general purpose buckets should block public access",
    change: "turns on all four Block Public Access settings of the bucket",
    resource_types: &["AwsS3Bucket"],
    actions: &[
        "s3:GetBucketTagging",
        "s3:GetBucketWebsite",
        "s3:GetBucketPublicAccessBlock",
        "s3:PutBucketPublicAccessBlock",
    ],
    disruptive: true,
    verification: "GetPublicAccessBlock shows all four settings true",
    exemption_tags: &["secops:s3:public-access-intended"],
    tested_with: TestedWith::Moto,
};

#[async_trait]
impl Remediation for S3_8 {
    fn spec(&self) -> &'static Spec {
        &SPEC
    }

    async fn live_tags(&self, ctx: &Ctx) -> Result<Option<BTreeMap<String, String>>, AwsError> {
        bucket_tags(ctx).await.map(Some)
    }

    async fn plan(&self, ctx: &Ctx) -> Result<Assessment, AwsError> {
        let bucket = &ctx.target.name;
        let website = ctx.s3().get_bucket_website().bucket(bucket).expected_bucket_owner(ctx.account()).send().await;
        match website {
            Ok(_) => {
                return Ok(Assessment::Ticket(format!(
                    "bucket {bucket} serves a static website; blocking public access would take it down. Serve it \
                     through CloudFront with origin access control, or tag it secops:s3:public-access-intended=true"
                )))
            }
            Err(e) if has_code(&e, &["NoSuchWebsiteConfiguration"]) => {}
            Err(e) => return Err(aws("s3:GetBucketWebsite")(e)),
        }
        let current = public_access_block(ctx).await?;
        if current.iter().all(|(_, on)| *on) {
            return Ok(Assessment::Compliant(format!("bucket {bucket} already blocks all public access")));
        }
        Ok(Assessment::Changes(vec![Change::new(
            "s3:PutBucketPublicAccessBlock",
            format!("arn:{}:s3:::{bucket}", ctx.target.partition),
            json!({
                "Bucket": bucket,
                "BlockPublicAcls": true,
                "IgnorePublicAcls": true,
                "BlockPublicPolicy": true,
                "RestrictPublicBuckets": true,
            }),
            format!("now {}", describe(&current)),
        )]))
    }

    async fn execute(&self, ctx: &Ctx, change: &Change) -> Result<(), AwsError> {
        match change.action.as_str() {
            "s3:PutBucketPublicAccessBlock" => put_block_all(ctx, change.text("Bucket")?).await,
            _ => Err(unplanned(change)),
        }
    }

    async fn verify(&self, ctx: &Ctx) -> Result<Check, AwsError> {
        let current = public_access_block(ctx).await?;
        let text = describe(&current);
        Ok(if current.iter().all(|(_, on)| *on) { Check::Holds(text) } else { Check::Fails(text) })
    }
}
