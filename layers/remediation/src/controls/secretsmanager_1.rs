//! SecretsManager.1 — Secrets Manager secrets should have automatic rotation enabled: turn
//! rotation on with the rotation function the secret already names; never invent one.

use async_trait::async_trait;
use aws_sdk_secretsmanager::operation::describe_secret::DescribeSecretOutput;
use aws_sdk_secretsmanager::types::RotationRulesType;
use serde::{Deserialize, Serialize};
use serde_json::json;
use std::collections::BTreeMap;

use super::services_common::arn_part;
use crate::context::Ctx;
use crate::plan::{unplanned, Change};
use crate::spec::{Assessment, Check, Remediation, Spec, TestedWith};
use crate::support::{aws, has_code};
use crate::target::Arn;
use secops_aws::AwsError;

pub struct SecretsManager1;

static SPEC: Spec = Spec {
    control: "SecretsManager.1",
    title: "Secrets Manager secrets should have automatic rotation enabled",
    change: "turns on automatic rotation (every 30 days, or the secret's stricter existing schedule) with the rotation function the secret already names",
    resource_types: &["AwsSecretsManagerSecret"],
    // RotateSecret also needs lambda:InvokeFunction: Secrets Manager tests the function with the
    // caller's permissions.
    actions: &[
        "secretsmanager:DescribeSecret",
        "lambda:GetFunction",
        "secretsmanager:RotateSecret",
        "lambda:InvokeFunction",
    ],
    disruptive: false,
    verification: "DescribeSecret shows RotationEnabled=true",
    exemption_tags: &[],
    tested_with: TestedWith::Wiremock,
};

/// Rotation interval when the secret has no schedule of its own.
const ROTATION_DAYS: i64 = 30;

/// The planned RotateSecret values.
#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Rotate {
    secret_id: String,
    #[serde(rename = "RotationLambdaARN")]
    rotation_lambda_arn: String,
    rotation_rules: Rules,
    rotate_immediately: bool,
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Rules {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    automatically_after_days: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    schedule_expression: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    duration: Option<String>,
}

#[async_trait]
impl Remediation for SecretsManager1 {
    fn spec(&self) -> &'static Spec {
        &SPEC
    }

    fn name_of(&self, resource_id: &str, _details: Option<&serde_json::Value>) -> Result<String, String> {
        arn_part(resource_id, "secretsmanager", "secret:", "arn:aws:secretsmanager:<region>:<account>:secret:<name>")
    }

    async fn live_tags(&self, ctx: &Ctx) -> Result<Option<BTreeMap<String, String>>, AwsError> {
        let secret = describe_secret(ctx).await?;
        Ok(Some(
            secret
                .tags()
                .iter()
                .map(|t| (t.key().unwrap_or_default().to_owned(), t.value().unwrap_or_default().to_owned()))
                .collect(),
        ))
    }

    async fn plan(&self, ctx: &Ctx) -> Result<Assessment, AwsError> {
        let name = &ctx.target.name;
        let secret = describe_secret(ctx).await?;
        if secret.deleted_date().is_some() {
            return Ok(Assessment::Gone(format!("secret {name} is scheduled for deletion")));
        }
        if secret.rotation_enabled() == Some(true) {
            return Ok(Assessment::Compliant(describe(name, &secret)));
        }
        if let Some(service) = secret.owning_service().filter(|s| !s.is_empty()) {
            return Ok(Assessment::Ticket(format!(
                "secret {name} is managed by {service}, which controls its rotation; turn rotation on in {service} \
                 (e.g. the managed master user password settings)"
            )));
        }
        let Some(function) = secret.rotation_lambda_arn().filter(|f| !f.is_empty()) else {
            return Ok(Assessment::Ticket(format!(
                "secret {name} has no rotation function: a rotation function is needed; see the AWS rotation \
                 templates for the secret's engine, deploy one, then enable rotation with it"
            )));
        };
        // RotateSecret with a deleted function fails with ResourceNotFoundException, which would
        // read as "the secret is gone"; check functions of this account first. Functions of
        // other accounts cannot be read with this session and are left to RotateSecret.
        if Arn::parse(function).is_some_and(|a| a.account == ctx.account()) {
            match ctx.lambda().get_function().function_name(function).send().await {
                Ok(_) => {}
                Err(e) if has_code(&e, &["ResourceNotFoundException"]) => {
                    return Ok(Assessment::Ticket(format!(
                        "secret {name} names the rotation function {function}, which no longer exists; deploy a \
                         rotation function (see the AWS rotation templates for the secret's engine) and enable \
                         rotation with it"
                    )))
                }
                Err(e) => return Err(aws("lambda:GetFunction")(e)),
            }
        }
        let rules = rules(secret.rotation_rules());
        let params = Rotate {
            secret_id: ctx.target.resource_id.clone(),
            rotation_lambda_arn: function.to_owned(),
            rotation_rules: rules,
            rotate_immediately: false,
        };
        Ok(Assessment::Changes(vec![Change::new(
            "secretsmanager:RotateSecret",
            ctx.target.resource_id.clone(),
            json!(params),
            format!(
                "secret {name} has rotation turned off although it names the rotation function {function}; this \
                 turns it on without rotating now (Secrets Manager only tests the function)"
            ),
        )]))
    }

    async fn execute(&self, ctx: &Ctx, change: &Change) -> Result<(), AwsError> {
        match change.action.as_str() {
            "secretsmanager:RotateSecret" => {
                let p: Rotate = change.params()?;
                let rules = RotationRulesType::builder()
                    .set_automatically_after_days(p.rotation_rules.automatically_after_days)
                    .set_schedule_expression(p.rotation_rules.schedule_expression)
                    .set_duration(p.rotation_rules.duration)
                    .build();
                ctx.secretsmanager()
                    .rotate_secret()
                    .secret_id(p.secret_id)
                    .rotation_lambda_arn(p.rotation_lambda_arn)
                    .rotation_rules(rules)
                    .rotate_immediately(p.rotate_immediately)
                    .send()
                    .await
                    .map(|_| ())
                    .map_err(aws("secretsmanager:RotateSecret"))
            }
            _ => Err(unplanned(change)),
        }
    }

    async fn verify(&self, ctx: &Ctx) -> Result<Check, AwsError> {
        let secret = describe_secret(ctx).await?;
        let found = describe(&ctx.target.name, &secret);
        Ok(if secret.rotation_enabled() == Some(true) { Check::Holds(found) } else { Check::Fails(found) })
    }
}

async fn describe_secret(ctx: &Ctx) -> Result<DescribeSecretOutput, AwsError> {
    ctx.secretsmanager()
        .describe_secret()
        .secret_id(&ctx.target.resource_id)
        .send()
        .await
        .map_err(aws("secretsmanager:DescribeSecret"))
}

/// The rotation schedule to turn on: a schedule expression the owner set is kept as it is; a
/// day interval is kept when it is stricter than `ROTATION_DAYS`; otherwise `ROTATION_DAYS`.
fn rules(existing: Option<&RotationRulesType>) -> Rules {
    let expression = existing.and_then(|r| r.schedule_expression()).filter(|e| !e.is_empty());
    if let Some(expression) = expression {
        return Rules {
            automatically_after_days: None,
            schedule_expression: Some(expression.to_owned()),
            duration: existing.and_then(|r| r.duration()).map(str::to_owned),
        };
    }
    let days = existing
        .and_then(|r| r.automatically_after_days())
        .filter(|d| (1..ROTATION_DAYS).contains(d))
        .unwrap_or(ROTATION_DAYS);
    Rules { automatically_after_days: Some(days), schedule_expression: None, duration: None }
}

fn describe(name: &str, secret: &DescribeSecretOutput) -> String {
    let schedule = secret.rotation_rules().map_or_else(String::new, |r| {
        match (r.automatically_after_days(), r.schedule_expression()) {
            (_, Some(e)) => format!(" on schedule {e}"),
            (Some(d), None) => format!(" every {d} days"),
            (None, None) => String::new(),
        }
    });
    format!(
        "secret {name}: RotationEnabled={}, rotation function {}{schedule}",
        secret.rotation_enabled().unwrap_or(false),
        secret.rotation_lambda_arn().unwrap_or("none")
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rotation_rules_keep_the_stricter_existing_schedule() {
        let days = |d: i64| RotationRulesType::builder().automatically_after_days(d).build();
        assert_eq!(rules(None).automatically_after_days, Some(30));
        assert_eq!(rules(Some(&days(7))).automatically_after_days, Some(7));
        assert_eq!(rules(Some(&days(90))).automatically_after_days, Some(30));
        let cron = RotationRulesType::builder().schedule_expression("rate(10 days)").duration("2h").build();
        let kept = rules(Some(&cron));
        assert_eq!(
            (kept.automatically_after_days, kept.schedule_expression.as_deref(), kept.duration.as_deref()),
            (None, Some("rate(10 days)"), Some("2h"))
        );
    }
}
