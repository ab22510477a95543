//! EC2.7 — EBS default encryption should be enabled: turn on encryption by default for new EBS
//! volumes in the account and region.

use async_trait::async_trait;
use serde_json::json;

use crate::context::Ctx;
use crate::plan::{unplanned, Change};
use crate::spec::{Assessment, Check, Remediation, Spec, TestedWith};
use crate::support::aws;
use crate::target::account_of;
use secops_aws::AwsError;

pub struct Ec2_7;

static SPEC: Spec = Spec {
    control: "EC2.7",
    title: "EBS default encryption should be enabled",
    change: "enables EBS encryption by default in the account and region (new volumes only)",
    resource_types: &["AwsAccount"],
    actions: &["ec2:GetEbsEncryptionByDefault", "ec2:EnableEbsEncryptionByDefault"],
    disruptive: false,
    verification: "GetEbsEncryptionByDefault answers true",
    exemption_tags: &[],
    tested_with: TestedWith::Moto,
};

#[async_trait]
impl Remediation for Ec2_7 {
    fn spec(&self) -> &'static Spec {
        &SPEC
    }

    fn name_of(&self, resource_id: &str, _details: Option<&serde_json::Value>) -> Result<String, String> {
        account_of(resource_id)
    }

    async fn plan(&self, ctx: &Ctx) -> Result<Assessment, AwsError> {
        if enabled(ctx).await? {
            return Ok(Assessment::Compliant(format!("EBS encryption by default is on in {}", ctx.region())));
        }
        Ok(Assessment::Changes(vec![Change::new(
            "ec2:EnableEbsEncryptionByDefault",
            format!("{}/{}", ctx.account(), ctx.region()),
            json!({}),
            "EBS encryption by default is off; existing volumes are not touched, new ones are encrypted with the \
             account's default EBS key",
        )]))
    }

    async fn execute(&self, ctx: &Ctx, change: &Change) -> Result<(), AwsError> {
        match change.action.as_str() {
            "ec2:EnableEbsEncryptionByDefault" => ctx
                .ec2()
                .enable_ebs_encryption_by_default()
                .send()
                .await
                .map(|_| ())
                .map_err(aws("ec2:EnableEbsEncryptionByDefault")),
            _ => Err(unplanned(change)),
        }
    }

    async fn verify(&self, ctx: &Ctx) -> Result<Check, AwsError> {
        Ok(if enabled(ctx).await? {
            Check::Holds("EbsEncryptionByDefault=true".into())
        } else {
            Check::Fails("EbsEncryptionByDefault=false".into())
        })
    }
}

async fn enabled(ctx: &Ctx) -> Result<bool, AwsError> {
    let out = ctx.ec2().get_ebs_encryption_by_default().send().await.map_err(aws("ec2:GetEbsEncryptionByDefault"))?;
    Ok(out.ebs_encryption_by_default() == Some(true))
}
