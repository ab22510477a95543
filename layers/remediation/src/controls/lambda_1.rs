//! Lambda.1 — Lambda function policies should prohibit public access: remove each statement of
//! the function's resource-based policy that lets anyone invoke it without a restricting
//! condition.

use async_trait::async_trait;
use serde_json::{json, Value};
use std::collections::BTreeMap;

use super::services_common::arn_part;
use crate::context::Ctx;
use crate::plan::{unplanned, Change};
use crate::policy_doc::{allows, conditions, parse_policy, statements, strings};
use crate::spec::{Assessment, Check, Remediation, Spec, TestedWith};
use crate::support::{aws, has_code};
use secops_aws::AwsError;

pub struct Lambda1;

static SPEC: Spec = Spec {
    control: "Lambda.1",
    title: "Lambda function policies should prohibit public access",
    change: "removes the function policy's statements that let any principal invoke it without a restricting condition",
    resource_types: &["AwsLambdaFunction"],
    actions: &["lambda:GetFunction", "lambda:ListTags", "lambda:GetPolicy", "lambda:RemovePermission"],
    disruptive: true,
    verification:
        "GetPolicy shows no statement allowing principal * without a source, organization or IAM-auth condition",
    exemption_tags: &["secops:lambda:public-intended"],
    tested_with: TestedWith::Moto,
};

/// Condition keys that confine a `*` principal to one account, resource or organization.
const RESTRICTING_KEYS: [&str; 4] = ["aws:sourceaccount", "aws:sourcearn", "aws:sourceowner", "aws:principalorgid"];

#[async_trait]
impl Remediation for Lambda1 {
    fn spec(&self) -> &'static Spec {
        &SPEC
    }

    fn name_of(&self, resource_id: &str, _details: Option<&serde_json::Value>) -> Result<String, String> {
        let shape = "arn:aws:lambda:<region>:<account>:function:<name> (unqualified)";
        let rest = arn_part(resource_id, "lambda", "function:", shape)?;
        // A qualified ARN names a version's or alias's own policy, which this control does not read.
        if rest.contains(':') {
            return Err(format!("expected an ARN of the form {shape}"));
        }
        Ok(rest)
    }

    async fn live_tags(&self, ctx: &Ctx) -> Result<Option<BTreeMap<String, String>>, AwsError> {
        let out =
            ctx.lambda().list_tags().resource(&ctx.target.resource_id).send().await.map_err(aws("lambda:ListTags"))?;
        Ok(Some(out.tags().cloned().unwrap_or_default().into_iter().collect()))
    }

    async fn plan(&self, ctx: &Ctx) -> Result<Assessment, AwsError> {
        let name = &ctx.target.name;
        // GetPolicy answers ResourceNotFoundException both for a missing function and for a
        // function without a policy; GetFunction tells them apart (its error means gone).
        ctx.lambda().get_function().function_name(name).send().await.map_err(aws("lambda:GetFunction"))?;
        let Some(policy) = function_policy(ctx).await? else {
            return Ok(Assessment::Compliant(format!("function {name} has no resource-based policy")));
        };
        let public = public_statements(&policy);
        if public.is_empty() {
            return Ok(Assessment::Compliant(format!("function {name}'s policy grants no public access")));
        }
        let mut changes = Vec::new();
        for statement in public {
            let Some(sid) = statement.get("Sid").and_then(Value::as_str).filter(|s| !s.is_empty()) else {
                return Ok(Assessment::Ticket(format!(
                    "function {name}'s policy has a public statement without a Sid, which RemovePermission cannot \
                     address; remove it by hand: {statement}"
                )));
            };
            changes.push(Change::new(
                "lambda:RemovePermission",
                ctx.target.resource_id.clone(),
                json!({ "FunctionName": name, "StatementId": sid }),
                format!(
                    "statement {sid} lets any principal call {} on {name} without a source, organization or \
                     IAM-auth condition; callers that rely on it lose access",
                    strings(statement.get("Action")).join(", ")
                ),
            ));
        }
        Ok(Assessment::Changes(changes))
    }

    async fn execute(&self, ctx: &Ctx, change: &Change) -> Result<(), AwsError> {
        match change.action.as_str() {
            "lambda:RemovePermission" => ctx
                .lambda()
                .remove_permission()
                .function_name(change.text("FunctionName")?)
                .statement_id(change.text("StatementId")?)
                .send()
                .await
                .map(|_| ())
                .map_err(aws("lambda:RemovePermission")),
            _ => Err(unplanned(change)),
        }
    }

    async fn verify(&self, ctx: &Ctx) -> Result<Check, AwsError> {
        let name = &ctx.target.name;
        let Some(policy) = function_policy(ctx).await? else {
            return Ok(Check::Holds(format!("function {name} has no resource-based policy")));
        };
        let public: Vec<String> = public_statements(&policy).iter().map(|s| s.to_string()).collect();
        Ok(if public.is_empty() {
            Check::Holds(format!("function {name}'s policy grants no public access: {policy}"))
        } else {
            Check::Fails(format!("function {name}'s policy still has public statements: {}", public.join(", ")))
        })
    }
}

/// The function's resource-based policy (`None` when it has none). Only called after the
/// function was found, so ResourceNotFoundException here means "no policy".
async fn function_policy(ctx: &Ctx) -> Result<Option<Value>, AwsError> {
    match ctx.lambda().get_policy().function_name(&ctx.target.name).send().await {
        Ok(out) => match out.policy() {
            Some(text) => parse_policy("lambda:GetPolicy", text).map(Some),
            None => Ok(None),
        },
        Err(e) if has_code(&e, &["ResourceNotFoundException"]) => Ok(None),
        Err(e) => Err(aws("lambda:GetPolicy")(e)),
    }
}

/// The statements that allow everyone (`*` or `{"AWS": "*"}`) without a restricting condition.
pub(crate) fn public_statements(policy: &Value) -> Vec<&Value> {
    statements(policy).into_iter().filter(|s| allows(s) && everyone(s.get("Principal")) && !restricted(s)).collect()
}

fn everyone(principal: Option<&Value>) -> bool {
    match principal {
        Some(Value::String(p)) => p == "*",
        Some(Value::Object(map)) => strings(map.get("AWS")).contains(&"*"),
        _ => false,
    }
}

fn restricted(statement: &Value) -> bool {
    conditions(statement).iter().any(|(key, values)| {
        RESTRICTING_KEYS.contains(&key.as_str()) || (key == "lambda:functionurlauthtype" && values.contains(&"AWS_IAM"))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn public_means_everyone_without_a_restricting_condition() {
        let policy = json!({"Statement": [
            {"Sid": "open", "Effect": "Allow", "Principal": "*", "Action": "lambda:InvokeFunction"},
            {"Sid": "open-aws", "Effect": "Allow", "Principal": {"AWS": ["*"]}, "Action": "lambda:InvokeFunction"},
            {"Sid": "src", "Effect": "Allow", "Principal": "*", "Action": "lambda:InvokeFunction",
             "Condition": {"ArnLike": {"AWS:SourceArn": "arn:aws:s3:::b"}}},
            {"Sid": "url-iam", "Effect": "Allow", "Principal": "*", "Action": "lambda:InvokeFunctionUrl",
             "Condition": {"StringEquals": {"lambda:FunctionUrlAuthType": "AWS_IAM"}}},
            {"Sid": "url-none", "Effect": "Allow", "Principal": "*", "Action": "lambda:InvokeFunctionUrl",
             "Condition": {"StringEquals": {"lambda:FunctionUrlAuthType": "NONE"}}},
            {"Sid": "svc", "Effect": "Allow", "Principal": {"Service": "s3.amazonaws.com"}, "Action": "lambda:InvokeFunction"},
            {"Sid": "deny", "Effect": "Deny", "Principal": "*", "Action": "lambda:InvokeFunction"}
        ]});
        let sids: Vec<&str> =
            public_statements(&policy).iter().filter_map(|s| s.get("Sid").and_then(Value::as_str)).collect();
        assert_eq!(sids, ["open", "open-aws", "url-none"]);
    }

    #[test]
    fn names_come_from_unqualified_function_arns() {
        let l = Lambda1;
        assert_eq!(l.name_of("arn:aws:lambda:us-east-1:111122223333:function:orders", None).unwrap(), "orders");
        assert!(l.name_of("arn:aws:lambda:us-east-1:111122223333:function:orders:prod", None).is_err());
        assert!(l.name_of("orders", None).unwrap_err().contains("function:<name>"));
    }
}
