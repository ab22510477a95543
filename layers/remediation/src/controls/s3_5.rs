//! S3.5 — S3 general purpose buckets should require requests to use SSL: merge a statement that
//! denies every request without TLS into the bucket policy, keeping every other statement.

use async_trait::async_trait;
use serde_json::{json, Value};
use std::collections::BTreeMap;

use crate::context::Ctx;
use crate::plan::{unplanned, Change};
use crate::spec::{Assessment, Check, Remediation, Spec, TestedWith};
use secops_aws::AwsError;

use super::s3_common::{bucket_arn, bucket_policy, merge_statements, put_policy};
use crate::policy_doc::{statements, strings};

pub struct S3_5;

const SID: &str = "SecOpsDenyInsecureTransport";

static SPEC: Spec = Spec {
    control: "S3.5",
    title: "S3 general purpose buckets should require requests to use SSL",
    change: "adds a statement denying requests without TLS (aws:SecureTransport false) to the bucket policy",
    resource_types: &["AwsS3Bucket"],
    actions: &["s3:GetBucketTagging", "s3:GetBucketPolicy", "s3:PutBucketPolicy"],
    disruptive: false,
    verification:
        "GetBucketPolicy shows a Deny of s3:* on the bucket and its objects when aws:SecureTransport is false",
    exemption_tags: &[],
    tested_with: TestedWith::Moto,
};

#[async_trait]
impl Remediation for S3_5 {
    fn spec(&self) -> &'static Spec {
        &SPEC
    }

    async fn live_tags(&self, ctx: &Ctx) -> Result<Option<BTreeMap<String, String>>, AwsError> {
        super::s3_2::bucket_tags(ctx).await.map(Some)
    }

    async fn plan(&self, ctx: &Ctx) -> Result<Assessment, AwsError> {
        let bucket = &ctx.target.name;
        let arn = bucket_arn(ctx, bucket);
        let policy = bucket_policy(ctx, bucket).await?;
        if let Some(sid) = policy.as_ref().and_then(|p| denying_statement(p, &arn)) {
            return Ok(Assessment::Compliant(format!("bucket {bucket}'s policy denies requests without TLS ({sid})")));
        }
        let statement = json!({
            "Sid": SID,
            "Effect": "Deny",
            "Principal": "*",
            "Action": "s3:*",
            "Resource": [arn, format!("{arn}/*")],
            "Condition": {"Bool": {"aws:SecureTransport": "false"}}
        });
        let Some(merged) = merge_statements(policy.as_ref(), &[statement]) else {
            return Ok(Assessment::Ticket(format!(
                "bucket {bucket}'s policy already has a statement {SID} that does not deny insecure transport as \
                 expected; a person must look at it"
            )));
        };
        let kept = policy.as_ref().map_or(0, |p| statements(p).len());
        Ok(Assessment::Changes(vec![Change::new(
            "s3:PutBucketPolicy",
            arn,
            json!({"Bucket": bucket, "Policy": merged.to_string()}),
            format!("no statement denies requests without TLS; adds {SID} and keeps the {kept} existing statement(s)"),
        )]))
    }

    async fn execute(&self, ctx: &Ctx, change: &Change) -> Result<(), AwsError> {
        match change.action.as_str() {
            "s3:PutBucketPolicy" => put_policy(ctx, change.text("Bucket")?, change.text("Policy")?).await,
            _ => Err(unplanned(change)),
        }
    }

    async fn verify(&self, ctx: &Ctx) -> Result<Check, AwsError> {
        let bucket = &ctx.target.name;
        let arn = bucket_arn(ctx, bucket);
        Ok(match bucket_policy(ctx, bucket).await? {
            None => Check::Fails(format!("bucket {bucket} has no policy")),
            Some(p) => match denying_statement(&p, &arn) {
                Some(sid) => Check::Holds(format!("statement {sid} denies requests without TLS")),
                None => Check::Fails(format!("no statement of the policy denies requests without TLS: {p}")),
            },
        })
    }
}

/// The Sid (or "(no Sid)") of a statement denying `s3:*` on the bucket and its objects to everyone
/// when `aws:SecureTransport` is false.
fn denying_statement(policy: &Value, arn: &str) -> Option<String> {
    statements(policy)
        .into_iter()
        .find(|st| denies_insecure(st, arn))
        .map(|st| st.get("Sid").and_then(Value::as_str).unwrap_or("(no Sid)").to_owned())
}

fn denies_insecure(st: &Value, arn: &str) -> bool {
    let everyone = match st.get("Principal") {
        Some(Value::String(p)) => p == "*",
        Some(Value::Object(p)) => strings(p.get("AWS")).contains(&"*"),
        _ => false,
    };
    let actions = strings(st.get("Action"));
    let resources = strings(st.get("Resource"));
    let covers = |r: &str| resources.iter().any(|x| *x == r || *x == "*");
    let insecure = st
        .get("Condition")
        .and_then(|c| c.get("Bool"))
        .and_then(Value::as_object)
        .and_then(|b| b.iter().find(|(k, _)| k.eq_ignore_ascii_case("aws:SecureTransport")).map(|(_, v)| v))
        .is_some_and(|v| {
            let values = match v {
                Value::Array(list) => list.clone(),
                other => vec![other.clone()],
            };
            values.iter().any(|x| x == &json!(false) || x.as_str().is_some_and(|s| s.eq_ignore_ascii_case("false")))
        });
    st.get("Effect").and_then(Value::as_str) == Some("Deny")
        && everyone
        && actions.iter().any(|a| *a == "s3:*" || *a == "*")
        && covers(arn)
        && covers(&format!("{arn}/*"))
        && insecure
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recognises_deny_statements() {
        let arn = "arn:aws:s3:::b";
        let st = |cond: Value, res: Value| json!({"Effect": "Deny", "Principal": {"AWS": ["*"]}, "Action": ["s3:*"], "Resource": res, "Condition": cond});
        let both = json!([arn, "arn:aws:s3:::b/*"]);
        assert!(denies_insecure(&st(json!({"Bool": {"aws:SecureTransport": false}}), both.clone()), arn));
        assert!(denies_insecure(&st(json!({"Bool": {"aws:securetransport": ["false"]}}), json!("*")), arn));
        assert!(!denies_insecure(&st(json!({"Bool": {"aws:SecureTransport": "true"}}), both.clone()), arn));
        assert!(!denies_insecure(&st(json!({"Bool": {"aws:SecureTransport": "false"}}), json!(arn)), arn));
        assert!(!denies_insecure(&st(json!({}), both), arn));
    }
}
