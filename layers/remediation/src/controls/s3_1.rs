//! S3.1 — S3 general purpose buckets should have block public access settings enabled (the
//! account-level setting): turn on all four settings of the account's Block Public Access.

use async_trait::async_trait;
use aws_sdk_s3control::types::PublicAccessBlockConfiguration;
use serde_json::json;

use crate::context::Ctx;
use crate::plan::{unplanned, Change};
use crate::spec::{Assessment, Check, Remediation, Spec, TestedWith};
use crate::support::{aws, has_code};
use secops_aws::AwsError;

pub struct S3_1;

static SPEC: Spec = Spec {
    control: "S3.1",
    title: "S3 general purpose buckets should have block public access settings enabled",
    change: "turns on all four Block Public Access settings of the account",
    resource_types: &["AwsAccount"],
    actions: &["s3:GetAccountPublicAccessBlock", "s3:PutAccountPublicAccessBlock"],
    disruptive: true,
    verification: "GetPublicAccessBlock (s3control) shows all four account settings true",
    exemption_tags: &[],
    tested_with: TestedWith::Moto,
};

#[async_trait]
impl Remediation for S3_1 {
    fn spec(&self) -> &'static Spec {
        &SPEC
    }

    fn name_of(&self, resource_id: &str, _details: Option<&serde_json::Value>) -> Result<String, String> {
        crate::target::account_of(resource_id)
    }

    async fn plan(&self, ctx: &Ctx) -> Result<Assessment, AwsError> {
        let current = account_block(ctx).await?;
        if current.iter().all(|(_, on)| *on) {
            return Ok(Assessment::Compliant(format!(
                "account {} already blocks all public access to buckets",
                ctx.account()
            )));
        }
        Ok(Assessment::Changes(vec![Change::new(
            "s3:PutAccountPublicAccessBlock",
            format!("arn:{}:s3:::account/{}", ctx.target.partition, ctx.account()),
            json!({
                "AccountId": ctx.account(),
                "BlockPublicAcls": true,
                "IgnorePublicAcls": true,
                "BlockPublicPolicy": true,
                "RestrictPublicBuckets": true,
            }),
            format!("now account-wide {}", super::s3_2::describe(&current)),
        )]))
    }

    async fn execute(&self, ctx: &Ctx, change: &Change) -> Result<(), AwsError> {
        match change.action.as_str() {
            "s3:PutAccountPublicAccessBlock" => {
                let config = PublicAccessBlockConfiguration::builder()
                    .block_public_acls(true)
                    .ignore_public_acls(true)
                    .block_public_policy(true)
                    .restrict_public_buckets(true)
                    .build();
                ctx.s3control()
                    .put_public_access_block()
                    .account_id(change.text("AccountId")?)
                    .public_access_block_configuration(config)
                    .send()
                    .await
                    .map(|_| ())
                    .map_err(aws("s3:PutAccountPublicAccessBlock"))
            }
            _ => Err(unplanned(change)),
        }
    }

    async fn verify(&self, ctx: &Ctx) -> Result<Check, AwsError> {
        let current = account_block(ctx).await?;
        let text = format!("account-wide {}", super::s3_2::describe(&current));
        Ok(if current.iter().all(|(_, on)| *on) { Check::Holds(text) } else { Check::Fails(text) })
    }
}

/// The account's four settings (all false when none is configured).
async fn account_block(ctx: &Ctx) -> Result<[(&'static str, bool); 4], AwsError> {
    let reply = ctx.s3control().get_public_access_block().account_id(ctx.account()).send().await;
    let config = match reply {
        Ok(out) => out.public_access_block_configuration().cloned(),
        Err(e) if has_code(&e, &["NoSuchPublicAccessBlockConfiguration"]) => None,
        Err(e) => return Err(aws("s3:GetAccountPublicAccessBlock")(e)),
    };
    let c = config.unwrap_or_else(|| PublicAccessBlockConfiguration::builder().build());
    Ok([
        ("BlockPublicAcls", c.block_public_acls().unwrap_or(false)),
        ("IgnorePublicAcls", c.ignore_public_acls().unwrap_or(false)),
        ("BlockPublicPolicy", c.block_public_policy().unwrap_or(false)),
        ("RestrictPublicBuckets", c.restrict_public_buckets().unwrap_or(false)),
    ])
}
