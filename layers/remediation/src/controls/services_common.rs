//! Shared by the ECR, Lambda, SNS, SQS, SSM and Secrets Manager controls: parsing their ARNs,
//! reading resource policies, the page bound, and the ECR repository reads.

use secops_aws::AwsError;
use secops_core::ErrorClass;
use serde_json::Value;
use std::collections::BTreeMap;

use crate::context::Ctx;
use crate::support::aws;
use crate::target::Arn;

pub(crate) use crate::support::MAX_PAGES;

/// The error for a read that did not end within `MAX_PAGES` pages.
pub(crate) fn too_many_pages(action: &'static str, what: &str) -> AwsError {
    AwsError::new(
        action,
        ErrorClass::Permanent,
        format!("{what} did not end within {MAX_PAGES} pages; stopped reading"),
    )
}

/// The part of an ARN of `service` after `prefix` in its resource (`repository/`, `document/`,
/// ...), or an error naming the expected `shape`.
pub(crate) fn arn_part(id: &str, service: &str, prefix: &str, shape: &str) -> Result<String, String> {
    let expected = || format!("expected an ARN of the form {shape}");
    let arn = Arn::parse(id).filter(|a| a.service == service).ok_or_else(expected)?;
    match arn.resource.strip_prefix(prefix) {
        Some(rest) if !rest.is_empty() => Ok(rest.to_owned()),
        _ => Err(expected()),
    }
}

/// A policy's statements (`Statement` may be one object or a list).
pub(crate) fn statements(policy: &Value) -> Vec<&Value> {
    match policy.get("Statement") {
        Some(Value::Array(list)) => list.iter().collect(),
        Some(one @ Value::Object(_)) => vec![one],
        _ => Vec::new(),
    }
}

/// A policy field that may be one string or a list of strings.
pub(crate) fn strings(value: Option<&Value>) -> Vec<&str> {
    match value {
        Some(Value::String(s)) => vec![s.as_str()],
        Some(Value::Array(list)) => list.iter().filter_map(Value::as_str).collect(),
        _ => Vec::new(),
    }
}

pub(crate) fn allows(statement: &Value) -> bool {
    statement.get("Effect").and_then(Value::as_str) == Some("Allow")
}

/// Every condition of a statement as (key in lower case, values), whatever the operator.
pub(crate) fn conditions(statement: &Value) -> Vec<(String, Vec<&str>)> {
    let Some(Value::Object(operators)) = statement.get("Condition") else { return Vec::new() };
    operators
        .values()
        .filter_map(Value::as_object)
        .flat_map(|keys| keys.iter().map(|(k, v)| (k.to_ascii_lowercase(), strings(Some(v)))))
        .collect()
}

/// Whether a statement's actions include `action` (IAM compares actions case-insensitively;
/// `service:*` and `*` match every action of the service).
pub(crate) fn grants(statement: &Value, action: &str) -> bool {
    let service = action.split_once(':').map_or(action, |(s, _)| s);
    strings(statement.get("Action"))
        .iter()
        .any(|a| a.eq_ignore_ascii_case(action) || *a == "*" || a.eq_ignore_ascii_case(&format!("{service}:*")))
}

/// A parsed JSON policy document, or a Permanent error naming the action that returned it.
pub(crate) fn parse_policy(action: &'static str, text: &str) -> Result<Value, AwsError> {
    serde_json::from_str(text)
        .map_err(|e| AwsError::new(action, ErrorClass::Permanent, format!("the policy it returned is not JSON: {e}")))
}

/// The ECR repository name from a repository ARN (names may contain `/`).
pub(crate) fn ecr_repository_name(id: &str) -> Result<String, String> {
    arn_part(id, "ecr", "repository/", "arn:aws:ecr:<region>:<account>:repository/<name>")
}

/// The target repository (`None` when the registry answers without it).
pub(crate) async fn ecr_repository(ctx: &Ctx) -> Result<Option<aws_sdk_ecr::types::Repository>, AwsError> {
    let out = ctx
        .ecr()
        .describe_repositories()
        .registry_id(ctx.account())
        .repository_names(&ctx.target.name)
        .send()
        .await
        .map_err(aws("ecr:DescribeRepositories"))?;
    Ok(out.repositories().iter().find(|r| r.repository_name() == Some(ctx.target.name.as_str())).cloned())
}

/// The repository's live tags.
pub(crate) async fn ecr_tags(ctx: &Ctx) -> Result<BTreeMap<String, String>, AwsError> {
    let out = ctx
        .ecr()
        .list_tags_for_resource()
        .resource_arn(&ctx.target.resource_id)
        .send()
        .await
        .map_err(aws("ecr:ListTagsForResource"))?;
    Ok(out.tags().iter().map(|t| (t.key().to_owned(), t.value().to_owned())).collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn arn_parts_and_policy_fields() {
        assert_eq!(ecr_repository_name("arn:aws:ecr:us-east-1:111122223333:repository/team/app").unwrap(), "team/app");
        assert!(ecr_repository_name("arn:aws:ecr:us-east-1:111122223333:repository/").is_err());
        assert!(ecr_repository_name("arn:aws:s3:::repository/x").is_err());
        assert!(ecr_repository_name("team/app").unwrap_err().contains("repository/<name>"));
        let one = json!({"Statement": {"Effect": "Allow", "Action": "SNS:Publish",
            "Condition": {"StringEquals": {"AWS:SourceOwner": ["1", "2"]}}}});
        let list = statements(&one);
        assert_eq!(list.len(), 1);
        assert!(allows(list[0]) && grants(list[0], "sns:Publish") && !grants(list[0], "sns:Subscribe"));
        assert_eq!(conditions(list[0]), vec![("aws:sourceowner".to_owned(), vec!["1", "2"])]);
        assert!(grants(&json!({"Action": ["sns:*"]}), "sns:Publish"));
        assert!(statements(&json!({})).is_empty());
    }
}
