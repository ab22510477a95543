//! Shared by the ECR, Lambda, SNS, SQS, SSM and Secrets Manager controls: parsing their ARNs,
//! reading resource policies, the page bound, and the ECR repository reads.

use secops_aws::AwsError;
use std::collections::BTreeMap;

use crate::context::Ctx;
use crate::support::aws;
use crate::target::Arn;

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

    #[test]
    fn ecr_repository_names() {
        assert_eq!(ecr_repository_name("arn:aws:ecr:us-east-1:111122223333:repository/team/app").unwrap(), "team/app");
        assert!(ecr_repository_name("arn:aws:ecr:us-east-1:111122223333:repository/").is_err());
        assert!(ecr_repository_name("arn:aws:s3:::repository/x").is_err());
        assert!(ecr_repository_name("team/app").unwrap_err().contains("repository/<name>"));
    }
}
