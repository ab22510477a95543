//! DynamoDB.2 — DynamoDB tables should have point-in-time recovery enabled: turn it on.

use async_trait::async_trait;
use aws_sdk_dynamodb::types::{PointInTimeRecoverySpecification, PointInTimeRecoveryStatus};
use serde_json::json;
use std::collections::BTreeMap;

use crate::context::Ctx;
use crate::plan::{unplanned, Change};
use crate::spec::{Assessment, Check, Remediation, Spec, TestedWith};
use crate::support::{aws, has_code};
use crate::support::{too_many_pages, MAX_PAGES};
use crate::target::Arn;
use secops_aws::AwsError;

pub struct DynamoDb2;

static SPEC: Spec = Spec {
    control: "DynamoDB.2",
    title: "DynamoDB tables should have point-in-time recovery enabled",
    change: "enables point-in-time recovery of the table",
    resource_types: &["AwsDynamoDbTable"],
    actions: &["dynamodb:ListTagsOfResource", "dynamodb:DescribeContinuousBackups", "dynamodb:UpdateContinuousBackups"],
    disruptive: false,
    verification: "DescribeContinuousBackups shows PointInTimeRecoveryStatus=ENABLED",
    exemption_tags: &["secops:dynamodb:no-pitr-intended"],
    tested_with: TestedWith::Moto,
};

#[async_trait]
impl Remediation for DynamoDb2 {
    fn spec(&self) -> &'static Spec {
        &SPEC
    }

    fn name_of(&self, resource_id: &str, _details: Option<&serde_json::Value>) -> Result<String, String> {
        table_name(resource_id)
    }

    async fn live_tags(&self, ctx: &Ctx) -> Result<Option<BTreeMap<String, String>>, AwsError> {
        let arn = ctx.target.resource_arn("dynamodb", &format!("table/{}", ctx.target.name));
        let mut tags = BTreeMap::new();
        let mut token: Option<String> = None;
        for _ in 0..MAX_PAGES {
            let reply =
                ctx.dynamodb().list_tags_of_resource().resource_arn(&arn).set_next_token(token.take()).send().await;
            let out = match reply {
                Ok(out) => out,
                // A missing table has no tags; plan then says it is gone.
                Err(e) if has_code(&e, &["ResourceNotFoundException", "TableNotFoundException"]) => {
                    return Ok(Some(tags))
                }
                Err(e) => return Err(aws("dynamodb:ListTagsOfResource")(e)),
            };
            tags.extend(out.tags().iter().map(|t| (t.key().to_owned(), t.value().to_owned())));
            match out.next_token() {
                Some(t) => token = Some(t.to_owned()),
                None => return Ok(Some(tags)),
            }
        }
        Err(too_many_pages("dynamodb:ListTagsOfResource"))
    }

    async fn plan(&self, ctx: &Ctx) -> Result<Assessment, AwsError> {
        let table = &ctx.target.name;
        let Some(status) = pitr(ctx).await? else {
            return Ok(Assessment::Gone(format!("DynamoDB table {table} no longer exists")));
        };
        if status == PointInTimeRecoveryStatus::Enabled {
            return Ok(Assessment::Compliant(format!("DynamoDB table {table} has point-in-time recovery")));
        }
        Ok(Assessment::Changes(vec![Change::new(
            "dynamodb:UpdateContinuousBackups",
            ctx.target.resource_arn("dynamodb", &format!("table/{table}")),
            json!({"TableName": table, "PointInTimeRecoveryEnabled": true}),
            format!(
                "point-in-time recovery is {}; enabled, the table can be restored to any second of the last 35 days \
                 (it costs storage, not throughput)",
                status.as_str()
            ),
        )]))
    }

    async fn execute(&self, ctx: &Ctx, change: &Change) -> Result<(), AwsError> {
        match change.action.as_str() {
            "dynamodb:UpdateContinuousBackups" => {
                let enabled = change.parameters.get("PointInTimeRecoveryEnabled").and_then(serde_json::Value::as_bool);
                let spec = PointInTimeRecoverySpecification::builder()
                    .set_point_in_time_recovery_enabled(enabled)
                    .build()
                    .map_err(|e| {
                        AwsError::new("remediation:plan", secops_core::ErrorClass::Permanent, e.to_string())
                    })?;
                ctx.dynamodb()
                    .update_continuous_backups()
                    .table_name(change.text("TableName")?)
                    .point_in_time_recovery_specification(spec)
                    .send()
                    .await
                    .map(|_| ())
                    .map_err(aws("dynamodb:UpdateContinuousBackups"))
            }
            _ => Err(unplanned(change)),
        }
    }

    async fn verify(&self, ctx: &Ctx) -> Result<Check, AwsError> {
        let table = &ctx.target.name;
        Ok(match pitr(ctx).await? {
            None => Check::Fails(format!("DynamoDB table {table} no longer exists")),
            Some(PointInTimeRecoveryStatus::Enabled) => {
                Check::Holds(format!("DynamoDB table {table}: PointInTimeRecoveryStatus=ENABLED"))
            }
            Some(s) => Check::Fails(format!("DynamoDB table {table}: PointInTimeRecoveryStatus={}", s.as_str())),
        })
    }
}

/// The table's point-in-time recovery status; `None` when the table does not exist.
async fn pitr(ctx: &Ctx) -> Result<Option<PointInTimeRecoveryStatus>, AwsError> {
    let reply = ctx.dynamodb().describe_continuous_backups().table_name(&ctx.target.name).send().await;
    let out = match reply {
        Ok(out) => out,
        Err(e) if has_code(&e, &["TableNotFoundException", "ResourceNotFoundException"]) => return Ok(None),
        Err(e) => return Err(aws("dynamodb:DescribeContinuousBackups")(e)),
    };
    Ok(Some(
        out.continuous_backups_description()
            .and_then(|d| d.point_in_time_recovery_description())
            .and_then(|p| p.point_in_time_recovery_status())
            .cloned()
            .unwrap_or(PointInTimeRecoveryStatus::Disabled),
    ))
}

/// The table name of a table ARN (`arn:aws:dynamodb:<region>:<acct>:table/<name>`) or a bare name.
fn table_name(id: &str) -> Result<String, String> {
    let name = match Arn::parse(id) {
        Some(arn) if arn.service != "dynamodb" => {
            return Err(format!("expected a DynamoDB table ARN, got service {:?}", arn.service))
        }
        Some(arn) => arn
            .resource
            .strip_prefix("table/")
            .ok_or_else(|| format!("expected a DynamoDB table ARN (resource table/<name>), got {:?}", arn.resource))?,
        None => id,
    };
    let valid =
        (3..=255).contains(&name.len()) && name.bytes().all(|b| b.is_ascii_alphanumeric() || b"_.-".contains(&b));
    if valid {
        Ok(name.to_owned())
    } else {
        Err(format!("expected a DynamoDB table name (3-255 of letters, digits and _.-), got {name:?}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_names_from_arns() {
        assert_eq!(table_name("arn:aws:dynamodb:us-east-1:111122223333:table/orders.v2").unwrap(), "orders.v2");
        assert!(table_name("arn:aws:dynamodb:us-east-1:111122223333:table/orders/stream/2026").is_err());
        assert!(table_name("arn:aws:dynamodb:us-east-1:111122223333:backup/x").unwrap_err().contains("table/"));
        assert!(table_name("ab").is_err());
    }
}
