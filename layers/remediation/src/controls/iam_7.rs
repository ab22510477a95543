//! IAM.7 — Password policies for IAM users should have strong configurations: merge the
//! account's password policy up to the control's minimums, keeping every stricter value.

use async_trait::async_trait;
use aws_sdk_iam::types::PasswordPolicy;
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::context::Ctx;
use crate::plan::{unplanned, Change};
use crate::spec::{Assessment, Check, Remediation, Spec, TestedWith};
use crate::support::{aws, has_code};
use secops_aws::AwsError;

pub struct Iam7;

const MIN_LENGTH: i32 = 14;
const MAX_AGE: i32 = 90;
const REUSE: i32 = 24;

static SPEC: Spec = Spec {
    control: "IAM.7",
    title: "Password policies for IAM users should have strong configurations",
    change: "sets the account password policy to at least 14 characters, all four character classes, expiry within \
             90 days, 24 remembered passwords and self-service changes, keeping stricter existing values",
    resource_types: &["AwsAccount"],
    actions: &["iam:GetAccountPasswordPolicy", "iam:UpdateAccountPasswordPolicy"],
    disruptive: false,
    verification: "GetAccountPasswordPolicy meets every minimum",
    exemption_tags: &[],
    tested_with: TestedWith::Moto,
};

/// The whole policy as UpdateAccountPasswordPolicy takes it (it replaces the policy, so every
/// field is sent).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
struct Policy {
    minimum_password_length: i32,
    require_uppercase_characters: bool,
    require_lowercase_characters: bool,
    require_numbers: bool,
    require_symbols: bool,
    allow_users_to_change_password: bool,
    /// `None`: passwords never expire.
    max_password_age: Option<i32>,
    /// `None`: no reuse prevention.
    password_reuse_prevention: Option<i32>,
    hard_expiry: Option<bool>,
}

impl Policy {
    fn read(p: Option<&PasswordPolicy>) -> Policy {
        Policy {
            minimum_password_length: p.and_then(|p| p.minimum_password_length()).unwrap_or(0),
            require_uppercase_characters: p.is_some_and(|p| p.require_uppercase_characters()),
            require_lowercase_characters: p.is_some_and(|p| p.require_lowercase_characters()),
            require_numbers: p.is_some_and(|p| p.require_numbers()),
            require_symbols: p.is_some_and(|p| p.require_symbols()),
            allow_users_to_change_password: p.is_some_and(|p| p.allow_users_to_change_password()),
            max_password_age: p.and_then(|p| p.max_password_age()).filter(|d| *d > 0),
            password_reuse_prevention: p.and_then(|p| p.password_reuse_prevention()).filter(|n| *n > 0),
            hard_expiry: p.and_then(|p| p.hard_expiry()),
        }
    }

    /// This policy raised to the control's minimums; stricter values stay as they are.
    fn merged(&self) -> Policy {
        Policy {
            minimum_password_length: self.minimum_password_length.max(MIN_LENGTH),
            require_uppercase_characters: true,
            require_lowercase_characters: true,
            require_numbers: true,
            require_symbols: true,
            allow_users_to_change_password: true,
            max_password_age: Some(self.max_password_age.map_or(MAX_AGE, |d| d.min(MAX_AGE))),
            password_reuse_prevention: Some(self.password_reuse_prevention.map_or(REUSE, |n| n.max(REUSE))),
            hard_expiry: self.hard_expiry,
        }
    }

    fn describe(&self) -> String {
        format!(
            "MinimumPasswordLength={}, RequireUppercase={}, RequireLowercase={}, RequireNumbers={}, \
             RequireSymbols={}, AllowUsersToChangePassword={}, MaxPasswordAge={}, PasswordReusePrevention={}",
            self.minimum_password_length,
            self.require_uppercase_characters,
            self.require_lowercase_characters,
            self.require_numbers,
            self.require_symbols,
            self.allow_users_to_change_password,
            self.max_password_age.map_or("never".into(), |d| d.to_string()),
            self.password_reuse_prevention.map_or("off".into(), |n| n.to_string()),
        )
    }
}

#[async_trait]
impl Remediation for Iam7 {
    fn spec(&self) -> &'static Spec {
        &SPEC
    }

    fn name_of(&self, resource_id: &str, _details: Option<&serde_json::Value>) -> Result<String, String> {
        crate::target::account_of(resource_id)
    }

    async fn plan(&self, ctx: &Ctx) -> Result<Assessment, AwsError> {
        let current = current(ctx).await?;
        let Some(now) = &current else {
            let wanted = Policy::read(None).merged();
            return Ok(Assessment::Changes(vec![update(ctx, &wanted, "the account has no password policy".into())]));
        };
        let wanted = now.merged();
        if &wanted == now {
            return Ok(Assessment::Compliant(format!("the account password policy is strong: {}", now.describe())));
        }
        Ok(Assessment::Changes(vec![update(ctx, &wanted, format!("now {}", now.describe()))]))
    }

    async fn execute(&self, ctx: &Ctx, change: &Change) -> Result<(), AwsError> {
        match change.action.as_str() {
            "iam:UpdateAccountPasswordPolicy" => {
                let p: Policy = change.params()?;
                ctx.iam()
                    .update_account_password_policy()
                    .minimum_password_length(p.minimum_password_length)
                    .require_uppercase_characters(p.require_uppercase_characters)
                    .require_lowercase_characters(p.require_lowercase_characters)
                    .require_numbers(p.require_numbers)
                    .require_symbols(p.require_symbols)
                    .allow_users_to_change_password(p.allow_users_to_change_password)
                    .set_max_password_age(p.max_password_age)
                    .set_password_reuse_prevention(p.password_reuse_prevention)
                    .set_hard_expiry(p.hard_expiry)
                    .send()
                    .await
                    .map(|_| ())
                    .map_err(aws("iam:UpdateAccountPasswordPolicy"))
            }
            _ => Err(unplanned(change)),
        }
    }

    async fn verify(&self, ctx: &Ctx) -> Result<Check, AwsError> {
        Ok(match current(ctx).await? {
            None => Check::Fails("the account has no password policy".into()),
            Some(p) if p.merged() == p => Check::Holds(p.describe()),
            Some(p) => Check::Fails(p.describe()),
        })
    }
}

/// The account's password policy; `None` when it has none (NoSuchEntity).
async fn current(ctx: &Ctx) -> Result<Option<Policy>, AwsError> {
    match ctx.iam().get_account_password_policy().send().await {
        Ok(out) => Ok(Some(Policy::read(out.password_policy()))),
        Err(e) if has_code(&e, &["NoSuchEntity"]) => Ok(None),
        Err(e) => Err(aws("iam:GetAccountPasswordPolicy")(e)),
    }
}

fn update(ctx: &Ctx, wanted: &Policy, now: String) -> Change {
    Change::new(
        "iam:UpdateAccountPasswordPolicy",
        format!("arn:{}:iam::{}:account-password-policy", ctx.target.partition, ctx.account()),
        json!(wanted),
        format!("{now}; the policy becomes {} (stricter existing values are kept)", wanted.describe()),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn merge_keeps_stricter_values() {
        let strict = Policy {
            minimum_password_length: 20,
            require_uppercase_characters: true,
            require_lowercase_characters: false,
            require_numbers: true,
            require_symbols: false,
            allow_users_to_change_password: false,
            max_password_age: Some(30),
            password_reuse_prevention: Some(24),
            hard_expiry: Some(true),
        };
        let m = strict.merged();
        assert_eq!((m.minimum_password_length, m.max_password_age, m.hard_expiry), (20, Some(30), Some(true)));
        assert!(m.require_lowercase_characters && m.require_symbols && m.allow_users_to_change_password);
        let lax = Policy::read(None).merged();
        assert_eq!(
            (lax.minimum_password_length, lax.max_password_age, lax.password_reuse_prevention),
            (14, Some(90), Some(24))
        );
        assert_eq!(lax.hard_expiry, None);
    }
}
