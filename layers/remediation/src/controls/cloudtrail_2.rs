//! CloudTrail.2 — CloudTrail should have encryption at-rest enabled: encrypt the trail's log files
//! with the catalogue's KMS key `alias/secops-cloudtrail`, created once per account and region.

use async_trait::async_trait;
use aws_sdk_kms::types::KeyState;
use serde_json::{json, Value};
use std::collections::BTreeMap;

use crate::context::Ctx;
use crate::plan::{unplanned, Change};
use crate::spec::{Assessment, Check, Remediation, Spec, TestedWith};
use crate::support::{aws, has_code};
use secops_aws::AwsError;

use super::cloudtrail_common::{get_trail, trail_arn, trail_name_of, trail_tags};
use crate::policy_doc::{allows, statements, strings};

pub struct CloudTrail2;

pub(crate) const ALIAS: &str = "alias/secops-cloudtrail";

static SPEC: Spec = Spec {
    control: "CloudTrail.2",
    title: "CloudTrail should have encryption at-rest enabled",
    change: "encrypts the trail's log files with the KMS key alias/secops-cloudtrail (created when missing, with a \
             key policy that lets only this account's trails use it)",
    resource_types: &["AwsCloudTrailTrail"],
    actions: &[
        "cloudtrail:GetTrail",
        "cloudtrail:ListTags",
        "cloudtrail:UpdateTrail",
        "kms:DescribeKey",
        "kms:GetKeyPolicy",
        "kms:CreateKey",
        "kms:CreateAlias",
        "kms:ScheduleKeyDeletion",
    ],
    disruptive: false,
    verification: "GetTrail shows a KmsKeyId",
    exemption_tags: &[],
    tested_with: TestedWith::Moto,
};

#[async_trait]
impl Remediation for CloudTrail2 {
    fn spec(&self) -> &'static Spec {
        &SPEC
    }

    fn name_of(&self, resource_id: &str, _details: Option<&Value>) -> Result<String, String> {
        trail_name_of(resource_id)
    }

    async fn live_tags(&self, ctx: &Ctx) -> Result<Option<BTreeMap<String, String>>, AwsError> {
        trail_tags(ctx).await.map(Some)
    }

    async fn plan(&self, ctx: &Ctx) -> Result<Assessment, AwsError> {
        let name = &ctx.target.name;
        let trail = get_trail(ctx).await?;
        if let Some(key) = trail.kms_key_id().filter(|k| !k.is_empty()) {
            return Ok(Assessment::Compliant(format!("trail {name} is encrypted with {key}")));
        }
        let alias_arn = format!("arn:{}:kms:{}:{}:{ALIAS}", ctx.target.partition, ctx.region(), ctx.account());
        let mut changes = Vec::new();
        match ctx.kms().describe_key().key_id(ALIAS).send().await {
            Ok(out) => {
                let Some(meta) = out.key_metadata() else {
                    return Ok(Assessment::Ticket(format!("{ALIAS} exists but DescribeKey returned no metadata")));
                };
                if meta.key_state() != Some(&KeyState::Enabled) {
                    return Ok(Assessment::Ticket(format!(
                        "{ALIAS} points at key {} in state {}; enable it (or remove the alias) before trail {name} \
                         can be encrypted",
                        meta.key_id(),
                        meta.key_state().map_or("unknown", |s| s.as_str())
                    )));
                }
                let policy = ctx
                    .kms()
                    .get_key_policy()
                    .key_id(meta.key_id())
                    .policy_name("default")
                    .send()
                    .await
                    .map_err(aws("kms:GetKeyPolicy"))?;
                let doc: Value = serde_json::from_str(policy.policy().unwrap_or("{}")).unwrap_or(Value::Null);
                if !lets_cloudtrail_encrypt(&doc) {
                    return Ok(Assessment::Ticket(format!(
                        "key {ALIAS} ({}) exists, but its key policy does not let cloudtrail.amazonaws.com call \
                         kms:GenerateDataKey*; add that statement (with an aws:SourceArn condition) and re-run",
                        meta.key_id()
                    )));
                }
            }
            // NotFoundException here means the alias does not exist yet (it would otherwise read as
            // the trail being gone).
            Err(e) if has_code(&e, &["NotFoundException"]) => changes.push(Change::new(
                "kms:CreateKey",
                alias_arn.clone(),
                json!({
                    "Alias": ALIAS,
                    "Description": "SecOps Autopilot: encrypts this account's CloudTrail log files",
                    "Policy": key_policy(ctx).to_string(),
                }),
                format!("the catalogue's key {ALIAS} does not exist yet; creates it and names it {ALIAS}"),
            )),
            Err(e) => return Err(aws("kms:DescribeKey")(e)),
        }
        changes.push(Change::new(
            "cloudtrail:UpdateTrail",
            trail_arn(ctx),
            json!({"Name": trail_arn(ctx), "KmsKeyId": alias_arn}),
            format!("trail {name} writes its log files with SSE-S3 only"),
        ));
        Ok(Assessment::Changes(changes))
    }

    async fn execute(&self, ctx: &Ctx, change: &Change) -> Result<(), AwsError> {
        match change.action.as_str() {
            "kms:CreateKey" => create_key(ctx, change).await,
            "cloudtrail:UpdateTrail" => ctx
                .cloudtrail()
                .update_trail()
                .name(change.text("Name")?)
                .kms_key_id(change.text("KmsKeyId")?)
                .send()
                .await
                .map(|_| ())
                .map_err(aws("cloudtrail:UpdateTrail")),
            _ => Err(unplanned(change)),
        }
    }

    async fn verify(&self, ctx: &Ctx) -> Result<Check, AwsError> {
        let trail = get_trail(ctx).await?;
        Ok(match trail.kms_key_id().filter(|k| !k.is_empty()) {
            Some(key) => Check::Holds(format!("trail {} is encrypted with {key}", ctx.target.name)),
            None => Check::Fails(format!("trail {} has no KmsKeyId", ctx.target.name)),
        })
    }
}

/// The key policy: the account administers the key through IAM; CloudTrail may encrypt with it
/// and describe it only for this account's trails.
fn key_policy(ctx: &Ctx) -> Value {
    let p = &ctx.target.partition;
    let account = ctx.account();
    let trails = format!("arn:{p}:cloudtrail:*:{account}:trail/*");
    json!({
        "Version": "2012-10-17",
        "Id": "secops-cloudtrail",
        "Statement": [
            {"Sid": "AccountAdministersTheKey", "Effect": "Allow",
             "Principal": {"AWS": format!("arn:{p}:iam::{account}:root")}, "Action": "kms:*", "Resource": "*"},
            {"Sid": "CloudTrailEncryptsLogs", "Effect": "Allow",
             "Principal": {"Service": "cloudtrail.amazonaws.com"}, "Action": "kms:GenerateDataKey*", "Resource": "*",
             "Condition": {"StringLike": {"aws:SourceArn": trails, "kms:EncryptionContext:aws:cloudtrail:arn": trails}}},
            {"Sid": "CloudTrailDescribesKey", "Effect": "Allow",
             "Principal": {"Service": "cloudtrail.amazonaws.com"}, "Action": "kms:DescribeKey", "Resource": "*",
             "Condition": {"StringLike": {"aws:SourceArn": trails}}}
        ]
    })
}

/// Whether a key policy lets CloudTrail generate data keys (so UpdateTrail will accept the key).
fn lets_cloudtrail_encrypt(policy: &Value) -> bool {
    statements(policy).iter().any(|st| {
        allows(st)
            && st
                .get("Principal")
                .and_then(|p| p.get("Service"))
                .is_some_and(|s| strings(Some(s)).contains(&"cloudtrail.amazonaws.com"))
            && strings(st.get("Action")).iter().any(|a| *a == "kms:GenerateDataKey*" || *a == "kms:*")
    })
}

/// Creates the key and its alias as one step: a key without the alias would never be found
/// again, so when the alias cannot be made the new key is scheduled for deletion.
async fn create_key(ctx: &Ctx, change: &Change) -> Result<(), AwsError> {
    let kms = ctx.kms();
    let created = kms
        .create_key()
        .description(change.text("Description")?)
        .policy(change.text("Policy")?)
        .send()
        .await
        .map_err(aws("kms:CreateKey"))?;
    let key_id = created.key_metadata().map(|m| m.key_id().to_owned()).unwrap_or_default();
    let alias = kms.create_alias().alias_name(change.text("Alias")?).target_key_id(&key_id).send().await;
    match alias {
        Ok(_) => Ok(()),
        Err(e) => {
            // Best effort: the alias error is the one to report.
            let _ = kms.schedule_key_deletion().key_id(&key_id).pending_window_in_days(7).send().await;
            Err(aws("kms:CreateAlias")(e))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cloudtrail_statement_is_recognised() {
        let ok = json!({"Statement": [{"Effect": "Allow", "Principal": {"Service": "cloudtrail.amazonaws.com"}, "Action": ["kms:GenerateDataKey*"]}]});
        let not =
            json!({"Statement": [{"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::1:root"}, "Action": "kms:*"}]});
        assert!(lets_cloudtrail_encrypt(&ok));
        assert!(!lets_cloudtrail_encrypt(&not));
    }
}
