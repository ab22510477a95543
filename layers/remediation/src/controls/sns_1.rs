//! SNS.1 — SNS topics should be encrypted at-rest using AWS KMS: turn on server-side encryption
//! with the AWS managed key `alias/aws/sns`, unless publishers that key cannot serve exist.

use async_trait::async_trait;
use serde_json::{json, Value};
use std::collections::{BTreeMap, HashMap};

use super::services_common::arn_part;
use crate::context::Ctx;
use crate::plan::{unplanned, Change};
use crate::policy_doc::{allows, grants, parse_policy, statements, strings};
use crate::spec::{Assessment, Check, Remediation, Spec, TestedWith};
use crate::support::aws;
use crate::target::Arn;
use secops_aws::AwsError;

pub struct Sns1;

static SPEC: Spec = Spec {
    control: "SNS.1",
    title: "SNS topics should be encrypted at-rest using AWS KMS",
    change: "sets the topic's KmsMasterKeyId to the AWS managed key alias/aws/sns",
    resource_types: &["AwsSnsTopic"],
    actions: &["sns:GetTopicAttributes", "sns:ListTagsForResource", "sns:SetTopicAttributes"],
    disruptive: false,
    verification: "GetTopicAttributes shows a KmsMasterKeyId",
    exemption_tags: &[],
    tested_with: TestedWith::Moto,
};

const MANAGED_KEY: &str = "alias/aws/sns";

#[async_trait]
impl Remediation for Sns1 {
    fn spec(&self) -> &'static Spec {
        &SPEC
    }

    fn name_of(&self, resource_id: &str, _details: Option<&serde_json::Value>) -> Result<String, String> {
        let shape = "arn:aws:sns:<region>:<account>:<topic>";
        let name = arn_part(resource_id, "sns", "", shape)?;
        // A subscription ARN has one more `:` part; it is not a topic.
        if name.contains(':') {
            return Err(format!("expected an ARN of the form {shape}"));
        }
        Ok(name)
    }

    async fn live_tags(&self, ctx: &Ctx) -> Result<Option<BTreeMap<String, String>>, AwsError> {
        let out = ctx
            .sns()
            .list_tags_for_resource()
            .resource_arn(&ctx.target.resource_id)
            .send()
            .await
            .map_err(aws("sns:ListTagsForResource"))?;
        Ok(Some(out.tags().iter().map(|t| (t.key().to_owned(), t.value().to_owned())).collect()))
    }

    async fn plan(&self, ctx: &Ctx) -> Result<Assessment, AwsError> {
        let name = &ctx.target.name;
        let attributes = topic_attributes(ctx).await?;
        if let Some(key) = kms_key(&attributes) {
            return Ok(Assessment::Compliant(format!("topic {name} is encrypted with KMS key {key}")));
        }
        if let Some(text) = attributes.get("Policy") {
            let policy = parse_policy("sns:GetTopicAttributes", text)?;
            let publishers = unservable_publishers(&policy, ctx.account());
            if !publishers.is_empty() {
                return Ok(Assessment::Ticket(format!(
                    "topic {name} lets {} publish; the AWS managed key {MANAGED_KEY} cannot grant them kms:Decrypt \
                     and kms:GenerateDataKey, so their messages would be lost. Create a customer managed key whose \
                     key policy allows those publishers, then set it as the topic's KmsMasterKeyId",
                    publishers.join(", ")
                )));
            }
        }
        Ok(Assessment::Changes(vec![Change::new(
            "sns:SetTopicAttributes",
            ctx.target.resource_id.clone(),
            json!({
                "TopicArn": ctx.target.resource_id,
                "AttributeName": "KmsMasterKeyId",
                "AttributeValue": MANAGED_KEY,
            }),
            format!(
                "topic {name} is not encrypted at rest; its policy names no AWS service or other account as a \
                 publisher, so the AWS managed key serves its publishers"
            ),
        )]))
    }

    async fn execute(&self, ctx: &Ctx, change: &Change) -> Result<(), AwsError> {
        match change.action.as_str() {
            "sns:SetTopicAttributes" => ctx
                .sns()
                .set_topic_attributes()
                .topic_arn(change.text("TopicArn")?)
                .attribute_name(change.text("AttributeName")?)
                .attribute_value(change.text("AttributeValue")?)
                .send()
                .await
                .map(|_| ())
                .map_err(aws("sns:SetTopicAttributes")),
            _ => Err(unplanned(change)),
        }
    }

    async fn verify(&self, ctx: &Ctx) -> Result<Check, AwsError> {
        let name = &ctx.target.name;
        Ok(match kms_key(&topic_attributes(ctx).await?) {
            Some(key) => Check::Holds(format!("topic {name} is encrypted with KMS key {key}")),
            None => Check::Fails(format!("topic {name} has no KmsMasterKeyId")),
        })
    }
}

async fn topic_attributes(ctx: &Ctx) -> Result<HashMap<String, String>, AwsError> {
    let out = ctx
        .sns()
        .get_topic_attributes()
        .topic_arn(&ctx.target.resource_id)
        .send()
        .await
        .map_err(aws("sns:GetTopicAttributes"))?;
    Ok(out.attributes().cloned().unwrap_or_default())
}

fn kms_key(attributes: &HashMap<String, String>) -> Option<&str> {
    attributes.get("KmsMasterKeyId").map(|k| k.trim()).filter(|k| !k.is_empty())
}

/// Who may publish under `policy` but cannot use the AWS managed key: AWS service principals and
/// principals of other accounts (its key policy only serves this account's principals).
fn unservable_publishers(policy: &Value, account: &str) -> Vec<String> {
    let mut found = Vec::new();
    for statement in statements(policy) {
        if !allows(statement) || !grants(statement, "sns:Publish") {
            continue;
        }
        let Some(Value::Object(principal)) = statement.get("Principal") else { continue };
        for service in strings(principal.get("Service")) {
            found.push(format!("the service {service}"));
        }
        for who in strings(principal.get("AWS")) {
            let owner = Arn::parse(who).map_or(who, |a| a.account);
            if owner.len() == 12 && owner.bytes().all(|b| b.is_ascii_digit()) && owner != account {
                found.push(format!("account {owner} ({who})"));
            }
        }
    }
    found.sort();
    found.dedup();
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn publishers_the_managed_key_cannot_serve() {
        let policy = json!({"Statement": [
            {"Effect": "Allow", "Principal": {"AWS": "*"}, "Action": ["SNS:Publish", "SNS:Subscribe"],
             "Condition": {"StringEquals": {"AWS:SourceOwner": "111122223333"}}},
            {"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::111122223333:role/app"}, "Action": "sns:Publish"},
            {"Effect": "Allow", "Principal": {"Service": ["events.amazonaws.com"]}, "Action": "sns:Publish"},
            {"Effect": "Allow", "Principal": {"AWS": "444455556666"}, "Action": "sns:*"},
            {"Effect": "Allow", "Principal": {"Service": "s3.amazonaws.com"}, "Action": "sns:Subscribe"}
        ]});
        assert_eq!(
            unservable_publishers(&policy, "111122223333"),
            ["account 444455556666 (444455556666)", "the service events.amazonaws.com"]
        );
    }
}
