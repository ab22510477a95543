//! IAM.8 — Unused IAM user credentials should be removed: deactivate every active access key and
//! delete the console password (login profile) unused for 90 or more days; the user is kept.

use async_trait::async_trait;
use serde_json::json;
use std::collections::BTreeMap;
use time::OffsetDateTime;

use super::iam_common::{self, access_keys, day};
use crate::context::{to_offset, Ctx};
use crate::plan::{unplanned, Change};
use crate::spec::{Assessment, Check, Remediation, Spec, TestedWith};
use crate::support::{aws, has_code};
use secops_aws::AwsError;

pub struct Iam8;

const UNUSED_DAYS: i64 = 90;

static SPEC: Spec = Spec {
    control: "IAM.8",
    title: "Unused IAM user credentials should be removed",
    change: "deactivates the user's access keys and deletes its console password when unused for 90 or more days \
             (the user itself is kept)",
    resource_types: &["AwsIamUser"],
    actions: &[
        "iam:ListUserTags",
        "iam:GetUser",
        "iam:GetLoginProfile",
        "iam:ListAccessKeys",
        "iam:GetAccessKeyLastUsed",
        "iam:UpdateAccessKey",
        "iam:DeleteLoginProfile",
    ],
    disruptive: true,
    verification: "re-reads the user: no active access key and no console password unused for 90 or more days",
    exemption_tags: &["secops:iam:break-glass-intended"],
    tested_with: TestedWith::Moto,
};

/// One credential unused for too long.
enum Unused {
    Key { id: String, since: OffsetDateTime },
    Password { since: OffsetDateTime },
}

#[async_trait]
impl Remediation for Iam8 {
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
        let Some(unused) = unused(ctx).await? else {
            return Ok(Assessment::Gone(format!("IAM user {user} no longer exists")));
        };
        if unused.is_empty() {
            return Ok(Assessment::Compliant(format!(
                "IAM user {user} has no credential unused for {UNUSED_DAYS} days"
            )));
        }
        let changes = unused
            .iter()
            .map(|u| match u {
                Unused::Key { id, since } => iam_common::deactivate(
                    ctx,
                    id,
                    format!(
                        "not used since {} ({} days); deactivated, not deleted",
                        day(*since),
                        ctx.days_since(*since)
                    ),
                ),
                Unused::Password { since } => Change::new(
                    "iam:DeleteLoginProfile",
                    iam_common::user_arn(ctx),
                    json!({"UserName": user}),
                    format!(
                        "the console password was not used since {} ({} days); the user keeps its other access and \
                         an administrator can set a new password",
                        day(*since),
                        ctx.days_since(*since)
                    ),
                ),
            })
            .collect();
        Ok(Assessment::Changes(changes))
    }

    async fn execute(&self, ctx: &Ctx, change: &Change) -> Result<(), AwsError> {
        match change.action.as_str() {
            "iam:UpdateAccessKey" => iam_common::update_access_key(ctx, change).await,
            "iam:DeleteLoginProfile" => ctx
                .iam()
                .delete_login_profile()
                .user_name(change.text("UserName")?)
                .send()
                .await
                .map(|_| ())
                .map_err(aws("iam:DeleteLoginProfile")),
            _ => Err(unplanned(change)),
        }
    }

    async fn verify(&self, ctx: &Ctx) -> Result<Check, AwsError> {
        let user = &ctx.target.name;
        Ok(match unused(ctx).await? {
            None => Check::Fails(format!("IAM user {user} no longer exists")),
            Some(u) if u.is_empty() => {
                Check::Holds(format!("IAM user {user}: no credential unused for {UNUSED_DAYS} days"))
            }
            Some(u) => {
                let names: Vec<String> = u
                    .iter()
                    .map(|c| match c {
                        Unused::Key { id, .. } => format!("access key {id}"),
                        Unused::Password { .. } => "console password".into(),
                    })
                    .collect();
                Check::Fails(format!("IAM user {user} still has unused: {}", names.join(", ")))
            }
        })
    }
}

/// The user's credentials unused for `UNUSED_DAYS` or more; `None` when the user no longer exists.
async fn unused(ctx: &Ctx) -> Result<Option<Vec<Unused>>, AwsError> {
    let user = &ctx.target.name;
    let password_last_used = match ctx.iam().get_user().user_name(user).send().await {
        Ok(out) => out.user().and_then(|u| u.password_last_used()).and_then(to_offset),
        Err(e) if has_code(&e, &["NoSuchEntity"]) => return Ok(None),
        Err(e) => return Err(aws("iam:GetUser")(e)),
    };
    let Some(keys) = access_keys(ctx).await? else { return Ok(None) };
    let mut found = Vec::new();
    for key in keys.iter().filter(|k| k.active) {
        let last_used = ctx
            .iam()
            .get_access_key_last_used()
            .access_key_id(&key.id)
            .send()
            .await
            .map_err(aws("iam:GetAccessKeyLastUsed"))?
            .access_key_last_used()
            .and_then(|u| u.last_used_date())
            .and_then(to_offset);
        if let Some(since) = last_used.or(key.created) {
            if ctx.days_since(since) >= UNUSED_DAYS {
                found.push(Unused::Key { id: key.id.clone(), since });
            }
        }
    }
    let profile_created = match ctx.iam().get_login_profile().user_name(user).send().await {
        Ok(out) => out.login_profile().and_then(|p| to_offset(p.create_date())),
        // No login profile: the user has no console password.
        Err(e) if has_code(&e, &["NoSuchEntity"]) => None,
        Err(e) => return Err(aws("iam:GetLoginProfile")(e)),
    };
    if let Some(created) = profile_created {
        // A password set after its last use (reset by an administrator) counts from when it was set.
        let since = password_last_used.map_or(created, |used| used.max(created));
        if ctx.days_since(since) >= UNUSED_DAYS {
            found.push(Unused::Password { since });
        }
    }
    Ok(Some(found))
}
