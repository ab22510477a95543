//! S3.2 — S3 general purpose buckets should block public read access: turn on all four settings
//! of the bucket's Block Public Access.

use async_trait::async_trait;
use serde_json::json;
use std::collections::BTreeMap;

use crate::context::Ctx;
use crate::plan::{unplanned, Change};
use crate::spec::{Assessment, Check, Remediation, Spec, TestedWith};
use crate::support::{aws, has_code};
use secops_aws::AwsError;

pub struct S3_2;

static SPEC: Spec = Spec {
    control: "S3.2",
    title: "S3 general purpose buckets should block public read access",
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
    exemption_tags: &["secops:s3:public-read-intended"],
    tested_with: TestedWith::Moto,
};

#[async_trait]
impl Remediation for S3_2 {
    fn spec(&self) -> &'static Spec {
        &SPEC
    }

    async fn live_tags(&self, ctx: &Ctx) -> Result<Option<BTreeMap<String, String>>, AwsError> {
        bucket_tags(ctx).await.map(Some)
    }

    async fn plan(&self, ctx: &Ctx) -> Result<Assessment, AwsError> {
        plan_block_all(ctx, Some("secops:s3:public-read-intended"), "").await
    }

    async fn execute(&self, ctx: &Ctx, change: &Change) -> Result<(), AwsError> {
        execute_block_all(ctx, change).await
    }

    async fn verify(&self, ctx: &Ctx) -> Result<Check, AwsError> {
        verify_block_all(ctx).await
    }
}

/// The plan of the bucket Block Public Access controls (S3.2, S3.3, S3.8): compliant when all
/// four settings are on, else one PutPublicAccessBlock. With `website_tag`, a bucket that serves
/// a static website is a ticket instead (blocking would take the site down), naming the tag that
/// exempts it on purpose. `why` prefixes the change's reason.
pub(crate) async fn plan_block_all(ctx: &Ctx, website_tag: Option<&str>, why: &str) -> Result<Assessment, AwsError> {
    let bucket = &ctx.target.name;
    if let Some(tag) = website_tag {
        let website = ctx.s3().get_bucket_website().bucket(bucket).expected_bucket_owner(ctx.account()).send().await;
        match website {
            Ok(_) => {
                return Ok(Assessment::Ticket(format!(
                    "bucket {bucket} serves a static website; blocking public access would take it down. Serve it \
                     through CloudFront with origin access control, or tag it {tag}=true"
                )))
            }
            Err(e) if has_code(&e, &["NoSuchWebsiteConfiguration"]) => {}
            Err(e) => return Err(aws("s3:GetBucketWebsite")(e)),
        }
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
        format!("{why}now {}", describe(&current)),
    )]))
}

pub(crate) async fn execute_block_all(ctx: &Ctx, change: &Change) -> Result<(), AwsError> {
    match change.action.as_str() {
        "s3:PutBucketPublicAccessBlock" => put_block_all(ctx, change.text("Bucket")?).await,
        _ => Err(unplanned(change)),
    }
}

pub(crate) async fn verify_block_all(ctx: &Ctx) -> Result<Check, AwsError> {
    let current = public_access_block(ctx).await?;
    let text = describe(&current);
    Ok(if current.iter().all(|(_, on)| *on) { Check::Holds(text) } else { Check::Fails(text) })
}

/// The bucket's four Block Public Access settings (all false when none is configured).
pub(crate) async fn public_access_block(ctx: &Ctx) -> Result<[(&'static str, bool); 4], AwsError> {
    let reply =
        ctx.s3().get_public_access_block().bucket(&ctx.target.name).expected_bucket_owner(ctx.account()).send().await;
    let config = match reply {
        Ok(out) => out.public_access_block_configuration().cloned(),
        Err(e) if has_code(&e, &["NoSuchPublicAccessBlockConfiguration"]) => None,
        Err(e) => return Err(aws("s3:GetBucketPublicAccessBlock")(e)),
    };
    let c = config.unwrap_or_else(|| aws_sdk_s3::types::PublicAccessBlockConfiguration::builder().build());
    Ok([
        ("BlockPublicAcls", c.block_public_acls().unwrap_or(false)),
        ("IgnorePublicAcls", c.ignore_public_acls().unwrap_or(false)),
        ("BlockPublicPolicy", c.block_public_policy().unwrap_or(false)),
        ("RestrictPublicBuckets", c.restrict_public_buckets().unwrap_or(false)),
    ])
}

pub(crate) fn describe(settings: &[(&'static str, bool); 4]) -> String {
    let parts: Vec<String> = settings.iter().map(|(k, v)| format!("{k}={v}")).collect();
    format!("Block Public Access: {}", parts.join(", "))
}

pub(crate) async fn put_block_all(ctx: &Ctx, bucket: &str) -> Result<(), AwsError> {
    let config = aws_sdk_s3::types::PublicAccessBlockConfiguration::builder()
        .block_public_acls(true)
        .ignore_public_acls(true)
        .block_public_policy(true)
        .restrict_public_buckets(true)
        .build();
    ctx.s3()
        .put_public_access_block()
        .bucket(bucket)
        .expected_bucket_owner(ctx.account())
        .public_access_block_configuration(config)
        .send()
        .await
        .map(|_| ())
        .map_err(aws("s3:PutBucketPublicAccessBlock"))
}

/// The bucket's tags (none when it has no tag set).
pub(crate) async fn bucket_tags(ctx: &Ctx) -> Result<BTreeMap<String, String>, AwsError> {
    match ctx.s3().get_bucket_tagging().bucket(&ctx.target.name).expected_bucket_owner(ctx.account()).send().await {
        Ok(out) => Ok(out.tag_set().iter().map(|t| (t.key().to_owned(), t.value().to_owned())).collect()),
        Err(e) if has_code(&e, &["NoSuchTagSet"]) => Ok(BTreeMap::new()),
        Err(e) => Err(aws("s3:GetBucketTagging")(e)),
    }
}
