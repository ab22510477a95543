//! Shared by the CloudTrail and account-logging controls: the trail of a finding (name, ARN, tags),
//! IAM policy documents as IAM returns them, and the bound on followed pages.

use aws_sdk_cloudtrail::types::Trail;
use secops_aws::AwsError;
use secops_core::ErrorClass;
use std::collections::BTreeMap;

use crate::context::Ctx;
use crate::support::aws;

/// The trail name of an `AwsCloudTrailTrail` id (`arn:…:trail/<name>` or the bare name).
pub(crate) fn trail_name_of(resource_id: &str) -> Result<String, String> {
    let name = crate::target::arn_resource_after(resource_id, "trail/", "")?;
    if name.contains('/') || name.contains(':') {
        return Err(format!(
            "expected a trail ARN (arn:…:cloudtrail:<region>:<account>:trail/<name>), got {resource_id}"
        ));
    }
    Ok(name)
}

/// The finding's trail as an ARN (the APIs take it in any region; names only in the home region).
pub(crate) fn trail_arn(ctx: &Ctx) -> String {
    ctx.target.resource_arn("cloudtrail", &format!("trail/{}", ctx.target.name))
}

/// The finding's trail. A missing trail is `TrailNotFoundException`, which the runner suppresses.
pub(crate) async fn get_trail(ctx: &Ctx) -> Result<Trail, AwsError> {
    let out = ctx.cloudtrail().get_trail().name(trail_arn(ctx)).send().await.map_err(aws("cloudtrail:GetTrail"))?;
    out.trail().cloned().ok_or_else(|| {
        AwsError::new(
            "cloudtrail:GetTrail",
            ErrorClass::Permanent,
            format!("GetTrail of {} returned no trail", trail_arn(ctx)),
        )
    })
}

/// The trail's tags.
pub(crate) async fn trail_tags(ctx: &Ctx) -> Result<BTreeMap<String, String>, AwsError> {
    let out = ctx
        .cloudtrail()
        .list_tags()
        .resource_id_list(trail_arn(ctx))
        .send()
        .await
        .map_err(aws("cloudtrail:ListTags"))?;
    Ok(out
        .resource_tag_list()
        .iter()
        .flat_map(|r| r.tags_list())
        .map(|t| (t.key().to_owned(), t.value().unwrap_or_default().to_owned()))
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy_doc::{iam_document, trusts_service};

    #[test]
    fn names_and_documents() {
        assert_eq!(trail_name_of("arn:aws:cloudtrail:us-east-1:123456789012:trail/main").unwrap(), "main");
        assert_eq!(trail_name_of("main").unwrap(), "main");
        assert!(trail_name_of("arn:aws:cloudtrail:us-east-1:123456789012:eventdatastore/x").is_err());
        let doc = iam_document("%7B%22Version%22%3A%222012-10-17%22%7D").unwrap();
        assert_eq!(doc["Version"], "2012-10-17");
        assert_eq!(iam_document("{\"a\":1}").unwrap()["a"], 1);
        assert!(iam_document("%7").is_none());
        let trust = serde_json::json!({"Statement": [{"Effect": "Allow", "Principal": {"Service": ["cloudtrail.amazonaws.com"]}, "Action": "sts:AssumeRole"}]});
        assert!(trusts_service(&trust, "cloudtrail.amazonaws.com"));
        assert!(!trusts_service(&trust, "config.amazonaws.com"));
    }
}
