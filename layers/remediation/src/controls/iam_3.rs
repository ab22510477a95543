//! IAM.3 — IAM users' access keys should be rotated every 90 days or less: deactivate (never
//! delete) every active key created 90 or more days ago.

use async_trait::async_trait;
use std::collections::BTreeMap;

use super::iam_common::{self, access_keys, day, Key};
use crate::context::Ctx;
use crate::plan::{unplanned, Change};
use crate::spec::{Assessment, Check, Remediation, Spec, TestedWith};
use secops_aws::AwsError;

pub struct Iam3;

const MAX_AGE_DAYS: i64 = 90;

static SPEC: Spec = Spec {
    control: "IAM.3",
    title: "IAM users' access keys should be rotated every 90 days or less",
    change: "deactivates (does not delete) every active access key of the user created 90 or more days ago",
    resource_types: &["AwsIamUser"],
    actions: &["iam:ListUserTags", "iam:ListAccessKeys", "iam:UpdateAccessKey"],
    disruptive: true,
    verification: "ListAccessKeys shows no active key created 90 or more days ago",
    exemption_tags: &[],
    tested_with: TestedWith::Moto,
};

#[async_trait]
impl Remediation for Iam3 {
    fn spec(&self) -> &'static Spec {
        &SPEC
    }

    fn name_of(&self, resource_id: &str, _details: Option<&serde_json::Value>) -> Result<String, String> {
        iam_common::user_name(resource_id)
    }

    async fn live_tags(&self, ctx: &Ctx) -> Result<Option<BTreeMap<String, String>>, AwsError> {
        iam_common::user_tags(ctx).await
    }

    async fn plan(&self, ctx: &Ctx) -> Result<Assessment, AwsError> {
        let user = &ctx.target.name;
        let Some(keys) = access_keys(ctx).await? else {
            return Ok(Assessment::Gone(format!("IAM user {user} no longer exists")));
        };
        let old = too_old(ctx, &keys);
        if old.is_empty() {
            let active = keys.iter().filter(|k| k.active).count();
            return Ok(Assessment::Compliant(format!(
                "IAM user {user} has no active access key older than {MAX_AGE_DAYS} days ({active} active)"
            )));
        }
        Ok(Assessment::Changes(
            old.into_iter()
                .map(|(key, created)| {
                    iam_common::deactivate(
                        ctx,
                        &key.id,
                        format!(
                            "created {} ({} days ago); deactivated, not deleted, so the owner can re-enable it while \
                             rotating to a new key",
                            day(created),
                            ctx.days_since(created)
                        ),
                    )
                })
                .collect(),
        ))
    }

    async fn execute(&self, ctx: &Ctx, change: &Change) -> Result<(), AwsError> {
        match change.action.as_str() {
            "iam:UpdateAccessKey" => iam_common::update_access_key(ctx, change).await,
            _ => Err(unplanned(change)),
        }
    }

    async fn verify(&self, ctx: &Ctx) -> Result<Check, AwsError> {
        let user = &ctx.target.name;
        let Some(keys) = access_keys(ctx).await? else {
            return Ok(Check::Fails(format!("IAM user {user} no longer exists")));
        };
        let old: Vec<String> = too_old(ctx, &keys).into_iter().map(|(k, _)| k.id.clone()).collect();
        let text = format!(
            "IAM user {user}: {} active keys, old active keys: {}",
            keys.iter().filter(|k| k.active).count(),
            if old.is_empty() { "none".into() } else { old.join(", ") }
        );
        Ok(if old.is_empty() { Check::Holds(text) } else { Check::Fails(text) })
    }
}

/// The active keys created `MAX_AGE_DAYS` or more days before now, with their creation time.
fn too_old<'a>(ctx: &Ctx, keys: &'a [Key]) -> Vec<(&'a Key, time::OffsetDateTime)> {
    keys.iter()
        .filter(|k| k.active)
        .filter_map(|k| Some((k, k.created?)))
        .filter(|(_, created)| ctx.days_since(*created) >= MAX_AGE_DAYS)
        .collect()
}
