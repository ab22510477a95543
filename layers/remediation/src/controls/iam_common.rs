//! What the IAM user controls (IAM.3, IAM.8) share: the user name from its ARN, the user's tags
//! and access keys (every page), and deactivating one key.

use aws_sdk_iam::types::StatusType;
use serde_json::json;
use std::collections::BTreeMap;
use time::OffsetDateTime;

use crate::context::{to_offset, Ctx};
use crate::plan::Change;
use crate::support::{aws, has_code};
use crate::support::{too_many_pages, MAX_PAGES};
use crate::target::Arn;
use secops_aws::AwsError;

/// The user name of a user ARN (`arn:aws:iam::<acct>:user/<path/>name`), or a bare user name.
pub(crate) fn user_name(id: &str) -> Result<String, String> {
    let name = match Arn::parse(id) {
        Some(arn) if arn.service != "iam" => {
            return Err(format!("expected an IAM user ARN, got service {:?}", arn.service))
        }
        Some(arn) => {
            let path = arn
                .resource
                .strip_prefix("user/")
                .ok_or_else(|| format!("expected an IAM user ARN (resource user/...), got {:?}", arn.resource))?;
            path.rsplit('/').next().unwrap_or_default()
        }
        None => id,
    };
    let valid = !name.is_empty()
        && name.len() <= 64
        && name.bytes().all(|b| b.is_ascii_alphanumeric() || b"+=,.@_-".contains(&b));
    if valid {
        Ok(name.to_owned())
    } else {
        Err(format!("expected an IAM user name (1-64 of letters, digits and +=,.@_-), got {name:?}"))
    }
}

/// The user's ARN, for plans.
pub(crate) fn user_arn(ctx: &Ctx) -> String {
    if ctx.target.resource_id.starts_with("arn:") {
        ctx.target.resource_id.clone()
    } else {
        format!("arn:{}:iam::{}:user/{}", ctx.target.partition, ctx.account(), ctx.target.name)
    }
}

/// The user's tags, every page (none when the user no longer exists: plan then says so).
pub(crate) async fn user_tags(ctx: &Ctx) -> Result<Option<BTreeMap<String, String>>, AwsError> {
    let mut tags = BTreeMap::new();
    let mut marker: Option<String> = None;
    for _ in 0..MAX_PAGES {
        let reply = ctx.iam().list_user_tags().user_name(&ctx.target.name).set_marker(marker.take()).send().await;
        let out = match reply {
            Ok(out) => out,
            Err(e) if has_code(&e, &["NoSuchEntity"]) => return Ok(Some(BTreeMap::new())),
            Err(e) => return Err(aws("iam:ListUserTags")(e)),
        };
        tags.extend(out.tags().iter().map(|t| (t.key().to_owned(), t.value().to_owned())));
        match out.marker() {
            Some(m) if out.is_truncated() => marker = Some(m.to_owned()),
            _ => return Ok(Some(tags)),
        }
    }
    Err(too_many_pages("iam:ListUserTags"))
}

/// One access key of the user.
#[derive(Debug, Clone)]
pub(crate) struct Key {
    pub id: String,
    pub active: bool,
    pub created: Option<OffsetDateTime>,
}

/// The user's access keys, every page; `None` when the user no longer exists.
pub(crate) async fn access_keys(ctx: &Ctx) -> Result<Option<Vec<Key>>, AwsError> {
    let mut keys = Vec::new();
    let mut marker: Option<String> = None;
    for _ in 0..MAX_PAGES {
        let reply = ctx.iam().list_access_keys().user_name(&ctx.target.name).set_marker(marker.take()).send().await;
        let out = match reply {
            Ok(out) => out,
            Err(e) if has_code(&e, &["NoSuchEntity"]) => return Ok(None),
            Err(e) => return Err(aws("iam:ListAccessKeys")(e)),
        };
        keys.extend(out.access_key_metadata().iter().filter_map(|k| {
            Some(Key {
                id: k.access_key_id()?.to_owned(),
                active: k.status() == Some(&StatusType::Active),
                created: k.create_date().and_then(to_offset),
            })
        }));
        match out.marker() {
            Some(m) if out.is_truncated() => marker = Some(m.to_owned()),
            _ => return Ok(Some(keys)),
        }
    }
    Err(too_many_pages("iam:ListAccessKeys"))
}

/// The planned deactivation of one key (never deletion: a person can turn it back on).
pub(crate) fn deactivate(ctx: &Ctx, key: &str, why: String) -> Change {
    Change::new(
        "iam:UpdateAccessKey",
        user_arn(ctx),
        json!({"UserName": ctx.target.name, "AccessKeyId": key, "Status": "Inactive"}),
        why,
    )
}

/// Performs one planned `iam:UpdateAccessKey`.
pub(crate) async fn update_access_key(ctx: &Ctx, change: &Change) -> Result<(), AwsError> {
    ctx.iam()
        .update_access_key()
        .user_name(change.text("UserName")?)
        .access_key_id(change.text("AccessKeyId")?)
        .status(StatusType::from(change.text("Status")?))
        .send()
        .await
        .map(|_| ())
        .map_err(aws("iam:UpdateAccessKey"))
}

/// A date for messages (`2026-11-21`).
pub(crate) fn day(t: OffsetDateTime) -> String {
    t.date().to_string()
}

/// The planned IAM calls of the controls that create their own service role (EC2.6's flow-log
/// role, CloudTrail.5's log-delivery role, RDS.6's monitoring role); `None` for any other action.
pub(crate) async fn execute_role_change(ctx: &Ctx, change: &Change, description: &str) -> Option<Result<(), AwsError>> {
    let iam = ctx.iam();
    let text = |key: &str| change.text(key).map(str::to_owned);
    Some(match change.action.as_str() {
        "iam:CreateRole" => {
            async {
                let description =
                    change.parameters.get("Description").and_then(serde_json::Value::as_str).unwrap_or(description);
                iam.create_role()
                    .role_name(text("RoleName")?)
                    .assume_role_policy_document(text("AssumeRolePolicyDocument")?)
                    .description(description)
                    .send()
                    .await
                    .map(|_| ())
                    .map_err(aws("iam:CreateRole"))
            }
            .await
        }
        "iam:PutRolePolicy" => {
            async {
                iam.put_role_policy()
                    .role_name(text("RoleName")?)
                    .policy_name(text("PolicyName")?)
                    .policy_document(text("PolicyDocument")?)
                    .send()
                    .await
                    .map(|_| ())
                    .map_err(aws("iam:PutRolePolicy"))
            }
            .await
        }
        "iam:AttachRolePolicy" => {
            async {
                iam.attach_role_policy()
                    .role_name(text("RoleName")?)
                    .policy_arn(text("PolicyArn")?)
                    .send()
                    .await
                    .map(|_| ())
                    .map_err(aws("iam:AttachRolePolicy"))
            }
            .await
        }
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_names_from_arns() {
        assert_eq!(user_name("arn:aws:iam::111122223333:user/alice").unwrap(), "alice");
        assert_eq!(user_name("arn:aws:iam::111122223333:user/team/ops/bob.smith@x").unwrap(), "bob.smith@x");
        assert_eq!(user_name("carol").unwrap(), "carol");
        assert!(user_name("arn:aws:iam::111122223333:role/admin").unwrap_err().contains("user/"));
        assert!(user_name("arn:aws:s3:::bucket").is_err());
        assert!(user_name("arn:aws:iam::111122223333:user/").is_err());
    }
}
