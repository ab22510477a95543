//! SQS.1 — Amazon SQS queues should be encrypted at rest: turn on SQS-managed server-side
//! encryption (SSE-SQS) when the queue has neither it nor a KMS key.

use async_trait::async_trait;
use aws_sdk_sqs::types::QueueAttributeName;
use serde_json::json;
use std::collections::{BTreeMap, HashMap};

use super::services_common::arn_part;
use crate::context::Ctx;
use crate::plan::{unplanned, Change};
use crate::spec::{Assessment, Check, Remediation, Spec, TestedWith};
use crate::support::aws;
use secops_aws::AwsError;
use secops_core::ErrorClass;

pub struct Sqs1;

static SPEC: Spec = Spec {
    control: "SQS.1",
    title: "Amazon SQS queues should be encrypted at rest",
    change: "turns on SQS-managed server-side encryption (SqsManagedSseEnabled=true)",
    resource_types: &["AwsSqsQueue"],
    actions: &["sqs:GetQueueUrl", "sqs:ListQueueTags", "sqs:GetQueueAttributes", "sqs:SetQueueAttributes"],
    disruptive: false,
    verification: "GetQueueAttributes shows SqsManagedSseEnabled=true or a KmsMasterKeyId",
    exemption_tags: &[],
    tested_with: TestedWith::Moto,
};

#[async_trait]
impl Remediation for Sqs1 {
    fn spec(&self) -> &'static Spec {
        &SPEC
    }

    fn name_of(&self, resource_id: &str, _details: Option<&serde_json::Value>) -> Result<String, String> {
        let shape = "arn:aws:sqs:<region>:<account>:<queue>";
        let name = arn_part(resource_id, "sqs", "", shape)?;
        if name.contains(':') {
            return Err(format!("expected an ARN of the form {shape}"));
        }
        Ok(name)
    }

    async fn live_tags(&self, ctx: &Ctx) -> Result<Option<BTreeMap<String, String>>, AwsError> {
        let url = queue_url(ctx).await?;
        let out = ctx.sqs().list_queue_tags().queue_url(url).send().await.map_err(aws("sqs:ListQueueTags"))?;
        Ok(Some(out.tags().cloned().unwrap_or_default().into_iter().collect()))
    }

    async fn plan(&self, ctx: &Ctx) -> Result<Assessment, AwsError> {
        let url = queue_url(ctx).await?;
        let (encrypted, found) = encryption(ctx, &url).await?;
        if encrypted {
            return Ok(Assessment::Compliant(found));
        }
        Ok(Assessment::Changes(vec![Change::new(
            "sqs:SetQueueAttributes",
            ctx.target.resource_id.clone(),
            json!({ "QueueUrl": url, "SqsManagedSseEnabled": "true" }),
            format!(
                "{found}; SSE-SQS encrypts new messages with keys SQS manages, and senders and receivers need no \
                 KMS permissions"
            ),
        )]))
    }

    async fn execute(&self, ctx: &Ctx, change: &Change) -> Result<(), AwsError> {
        match change.action.as_str() {
            "sqs:SetQueueAttributes" => ctx
                .sqs()
                .set_queue_attributes()
                .queue_url(change.text("QueueUrl")?)
                .attributes(QueueAttributeName::SqsManagedSseEnabled, change.text("SqsManagedSseEnabled")?)
                .send()
                .await
                .map(|_| ())
                .map_err(aws("sqs:SetQueueAttributes")),
            _ => Err(unplanned(change)),
        }
    }

    async fn verify(&self, ctx: &Ctx) -> Result<Check, AwsError> {
        let url = queue_url(ctx).await?;
        let (encrypted, found) = encryption(ctx, &url).await?;
        Ok(if encrypted { Check::Holds(found) } else { Check::Fails(found) })
    }
}

/// The queue's URL, from its name and the target's account.
async fn queue_url(ctx: &Ctx) -> Result<String, AwsError> {
    let out = ctx
        .sqs()
        .get_queue_url()
        .queue_name(&ctx.target.name)
        .queue_owner_aws_account_id(ctx.account())
        .send()
        .await
        .map_err(aws("sqs:GetQueueUrl"))?;
    out.queue_url().filter(|u| !u.is_empty()).map(str::to_owned).ok_or_else(|| {
        AwsError::new(
            "sqs:GetQueueUrl",
            ErrorClass::Permanent,
            format!("GetQueueUrl answered without a URL for queue {}", ctx.target.name),
        )
    })
}

/// Whether the queue is encrypted at rest (SSE-SQS or a KMS key), and what was read.
async fn encryption(ctx: &Ctx, url: &str) -> Result<(bool, String), AwsError> {
    let out = ctx
        .sqs()
        .get_queue_attributes()
        .queue_url(url)
        .attribute_names(QueueAttributeName::SqsManagedSseEnabled)
        .attribute_names(QueueAttributeName::KmsMasterKeyId)
        .send()
        .await
        .map_err(aws("sqs:GetQueueAttributes"))?;
    let attributes: HashMap<QueueAttributeName, String> = out.attributes().cloned().unwrap_or_default();
    let name = &ctx.target.name;
    if let Some(key) = attributes.get(&QueueAttributeName::KmsMasterKeyId).filter(|k| !k.trim().is_empty()) {
        return Ok((true, format!("queue {name} is encrypted with KMS key {key}")));
    }
    let sse = attributes.get(&QueueAttributeName::SqsManagedSseEnabled).map_or("false", String::as_str);
    Ok((sse.eq_ignore_ascii_case("true"), format!("queue {name} has SqsManagedSseEnabled={sse} and no KMS key")))
}
