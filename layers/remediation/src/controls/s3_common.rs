//! Shared by the S3 and logging controls: the catalogue's log bucket (`ctx.log_bucket()`), planned
//! as its own changes when it is missing or incomplete, bucket policies as JSON, and lifecycle
//! rules.

use aws_sdk_s3::types::{
    AbortIncompleteMultipartUpload, BucketLocationConstraint, BucketVersioningStatus, CreateBucketConfiguration,
    ExpirationStatus, LifecycleRule, LifecycleRuleFilter, NoncurrentVersionExpiration, ObjectOwnership,
    OwnershipControls, OwnershipControlsRule, ServerSideEncryption, ServerSideEncryptionByDefault,
    ServerSideEncryptionConfiguration, ServerSideEncryptionRule, VersioningConfiguration,
};
use secops_aws::AwsError;
use secops_core::ErrorClass;
use serde::Deserialize;
use serde_json::{json, Value};

use crate::context::Ctx;
use crate::plan::Change;
use crate::support::{aws, has_code};

/// The actions a control needs to read and complete the log bucket (declare them all in its
/// spec: the plan may contain any of the writes).
pub(crate) const LOG_BUCKET_ACTIONS: &[&str] = &[
    "s3:ListBucket",
    "s3:CreateBucket",
    "s3:GetBucketOwnershipControls",
    "s3:PutBucketOwnershipControls",
    "s3:GetBucketPublicAccessBlock",
    "s3:PutBucketPublicAccessBlock",
    "s3:GetEncryptionConfiguration",
    "s3:PutEncryptionConfiguration",
    "s3:GetBucketVersioning",
    "s3:PutBucketVersioning",
    "s3:GetBucketPolicy",
    "s3:PutBucketPolicy",
];

/// The bucket's ARN in the target's partition.
pub(crate) fn bucket_arn(ctx: &Ctx, bucket: &str) -> String {
    format!("arn:{}:s3:::{bucket}", ctx.target.partition)
}

/// The statements that let the AWS log delivery services write into the log bucket, each scoped
/// to this account with `aws:SourceAccount`.
pub(crate) fn delivery_statements(ctx: &Ctx, bucket: &str) -> Vec<Value> {
    let arn = bucket_arn(ctx, bucket);
    let account = ctx.account();
    let source = json!({"StringEquals": {"aws:SourceAccount": account}});
    let owner_full_control =
        json!({"StringEquals": {"aws:SourceAccount": account, "s3:x-amz-acl": "bucket-owner-full-control"}});
    let mut statements = vec![
        // Every object key: one statement serves every source bucket of the account, whatever its
        // prefix (the condition keeps other accounts out).
        json!({"Sid": "SecOpsS3ServerAccessLogs", "Effect": "Allow",
               "Principal": {"Service": "logging.s3.amazonaws.com"}, "Action": "s3:PutObject",
               "Resource": format!("{arn}/*"), "Condition": source}),
        json!({"Sid": "SecOpsCloudTrailAclCheck", "Effect": "Allow",
               "Principal": {"Service": "cloudtrail.amazonaws.com"}, "Action": "s3:GetBucketAcl",
               "Resource": arn, "Condition": source}),
        json!({"Sid": "SecOpsCloudTrailWrite", "Effect": "Allow",
               "Principal": {"Service": "cloudtrail.amazonaws.com"}, "Action": "s3:PutObject",
               "Resource": format!("{arn}/AWSLogs/{account}/*"), "Condition": owner_full_control}),
        json!({"Sid": "SecOpsConfigAclCheck", "Effect": "Allow",
               "Principal": {"Service": "config.amazonaws.com"}, "Action": ["s3:GetBucketAcl", "s3:ListBucket"],
               "Resource": arn, "Condition": source}),
        json!({"Sid": "SecOpsConfigWrite", "Effect": "Allow",
               "Principal": {"Service": "config.amazonaws.com"}, "Action": "s3:PutObject",
               "Resource": format!("{arn}/AWSLogs/{account}/Config/*"), "Condition": owner_full_control}),
        json!({"Sid": "SecOpsElbLogDelivery", "Effect": "Allow",
               "Principal": {"Service": "logdelivery.elasticloadbalancing.amazonaws.com"}, "Action": "s3:PutObject",
               "Resource": format!("{arn}/elb/*"), "Condition": source}),
    ];
    // Regions older than August 2022 deliver load balancer logs as a regional ELB account, not
    // the service principal; that principal takes no SourceAccount condition, so the statement is
    // scoped to this account's folder instead.
    if let Some(elb) = elb_account(ctx.region()) {
        statements.push(json!({"Sid": "SecOpsElbLogDeliveryRegional", "Effect": "Allow",
               "Principal": {"AWS": format!("arn:{}:iam::{elb}:root", ctx.target.partition)}, "Action": "s3:PutObject",
               "Resource": format!("{arn}/elb/AWSLogs/{account}/*")}));
    }
    statements
}

/// The Elastic Load Balancing account of a region that predates the log delivery service
/// principal (AWS's "Enable access logs for your Application Load Balancer" table).
pub(crate) fn elb_account(region: &str) -> Option<&'static str> {
    Some(match region {
        "us-east-1" => "127311923021",
        "us-east-2" => "033677994240",
        "us-west-1" => "027434742980",
        "us-west-2" => "797873946194",
        "af-south-1" => "098369216593",
        "ap-east-1" => "754344448648",
        "ap-southeast-3" => "589379963580",
        "ap-south-1" => "718504428378",
        "ap-northeast-3" => "383597477331",
        "ap-northeast-2" => "600734575887",
        "ap-southeast-1" => "114774131450",
        "ap-southeast-2" => "783225319266",
        "ap-northeast-1" => "582318560864",
        "ca-central-1" => "985666609251",
        "eu-central-1" => "054676820928",
        "eu-west-1" => "156460612806",
        "eu-west-2" => "652711504416",
        "eu-south-1" => "635631232127",
        "eu-west-3" => "009996457667",
        "eu-north-1" => "897822967062",
        "me-south-1" => "076674570225",
        "sa-east-1" => "507241528517",
        "us-gov-west-1" => "048591011584",
        "us-gov-east-1" => "190560391635",
        _ => return None,
    })
}

/// `policy` with `wanted` merged in by Sid: a statement with the same Sid is replaced, every other
/// statement is kept. `None` when nothing would change.
pub(crate) fn merge_statements(policy: Option<&Value>, wanted: &[Value]) -> Option<Value> {
    let mut statements: Vec<Value> =
        policy.map(|p| crate::policy_doc::statements(p).into_iter().cloned().collect()).unwrap_or_default();
    let mut changed = false;
    for st in wanted {
        match statements.iter_mut().find(|s| s.get("Sid").is_some() && s.get("Sid") == st.get("Sid")) {
            Some(existing) if existing == st => {}
            Some(existing) => {
                *existing = st.clone();
                changed = true;
            }
            None => {
                statements.push(st.clone());
                changed = true;
            }
        }
    }
    changed.then(|| {
        let version = policy.and_then(|p| p.get("Version").cloned()).unwrap_or_else(|| json!("2012-10-17"));
        let mut out = policy.cloned().filter(Value::is_object).unwrap_or_else(|| json!({}));
        out["Version"] = version;
        out["Statement"] = Value::Array(statements);
        out
    })
}

/// The bucket's policy as JSON (`None` when it has none).
pub(crate) async fn bucket_policy(ctx: &Ctx, bucket: &str) -> Result<Option<Value>, AwsError> {
    match ctx.s3().get_bucket_policy().bucket(bucket).expected_bucket_owner(ctx.account()).send().await {
        Ok(out) => {
            let text = out.policy().unwrap_or("{}");
            serde_json::from_str(text).map(Some).map_err(|e| {
                AwsError::new(
                    "s3:GetBucketPolicy",
                    ErrorClass::Permanent,
                    format!("the policy of bucket {bucket} is not JSON: {e}"),
                )
            })
        }
        Err(e) if has_code(&e, &["NoSuchBucketPolicy"]) => Ok(None),
        Err(e) => Err(aws("s3:GetBucketPolicy")(e)),
    }
}

/// Whether the bucket exists and is this account's (`HeadBucket` with the expected owner).
async fn bucket_exists(ctx: &Ctx, bucket: &str) -> Result<bool, AwsError> {
    match ctx.s3().head_bucket().bucket(bucket).expected_bucket_owner(ctx.account()).send().await {
        Ok(_) => Ok(true),
        // "Not found" here is the log bucket's absence, which the plan fixes; it must not reach
        // the runner, which would read NotFound as the finding's resource being gone.
        Err(e)
            if e.as_service_error().is_some_and(|s| s.is_not_found())
                || has_code(&e, &["NotFound", "NoSuchBucket"]) =>
        {
            Ok(false)
        }
        Err(e) => Err(aws("s3:ListBucket")(e)),
    }
}

/// The changes that create or complete the log bucket, in order; empty when it is complete.
pub(crate) async fn log_bucket_changes(ctx: &Ctx) -> Result<Vec<Change>, AwsError> {
    let bucket = ctx.log_bucket();
    let arn = bucket_arn(ctx, &bucket);
    let change = |action: &str, params: Value, why: &str| Change::new(action, arn.clone(), params, why);
    let wanted = delivery_statements(ctx, &bucket);
    let policy_change = |policy: Value| {
        change(
            "s3:PutBucketPolicy",
            json!({"Bucket": bucket, "Policy": policy.to_string()}),
            "let the AWS log delivery services of this account write into the log bucket (other statements kept)",
        )
    };
    if !bucket_exists(ctx, &bucket).await? {
        let policy = merge_statements(None, &wanted).unwrap_or_else(|| json!({}));
        return Ok(vec![
            change(
                "s3:CreateBucket",
                json!({"Bucket": bucket, "Region": ctx.region()}),
                "the catalogue's log bucket does not exist yet",
            ),
            change(
                "s3:PutBucketOwnershipControls",
                json!({"Bucket": bucket}),
                "BucketOwnerEnforced: ACLs off, the account owns every log object",
            ),
            change("s3:PutBucketPublicAccessBlock", json!({"Bucket": bucket}), "block all public access to the logs"),
            change("s3:PutEncryptionConfiguration", json!({"Bucket": bucket}), "SSE-S3 default encryption"),
            change("s3:PutBucketVersioning", json!({"Bucket": bucket}), "keep overwritten or deleted logs"),
            policy_change(policy),
        ]);
    }
    let s3 = ctx.s3();
    let mut changes = Vec::new();
    let ownership =
        match s3.get_bucket_ownership_controls().bucket(&bucket).expected_bucket_owner(ctx.account()).send().await {
            Ok(out) => out.ownership_controls().is_some_and(|c| {
                c.rules().iter().any(|r| r.object_ownership() == &ObjectOwnership::BucketOwnerEnforced)
            }),
            Err(e) if has_code(&e, &["OwnershipControlsNotFoundError"]) => false,
            Err(e) => return Err(aws("s3:GetBucketOwnershipControls")(e)),
        };
    if !ownership {
        changes.push(change(
            "s3:PutBucketOwnershipControls",
            json!({"Bucket": bucket}),
            "BucketOwnerEnforced: ACLs off, the account owns every log object",
        ));
    }
    let blocked = match s3.get_public_access_block().bucket(&bucket).expected_bucket_owner(ctx.account()).send().await {
        Ok(out) => out.public_access_block_configuration().is_some_and(|c| {
            [c.block_public_acls(), c.ignore_public_acls(), c.block_public_policy(), c.restrict_public_buckets()]
                .iter()
                .all(|v| *v == Some(true))
        }),
        Err(e) if has_code(&e, &["NoSuchPublicAccessBlockConfiguration"]) => false,
        Err(e) => return Err(aws("s3:GetBucketPublicAccessBlock")(e)),
    };
    if !blocked {
        changes.push(change(
            "s3:PutBucketPublicAccessBlock",
            json!({"Bucket": bucket}),
            "block all public access to the logs",
        ));
    }
    // Any default encryption (SSE-S3 or a KMS key) is kept: only a bucket without one gets SSE-S3.
    let encrypted = match s3.get_bucket_encryption().bucket(&bucket).expected_bucket_owner(ctx.account()).send().await {
        Ok(out) => out.server_side_encryption_configuration().is_some_and(|c| !c.rules().is_empty()),
        Err(e) if has_code(&e, &["ServerSideEncryptionConfigurationNotFoundError"]) => false,
        Err(e) => return Err(aws("s3:GetEncryptionConfiguration")(e)),
    };
    if !encrypted {
        changes.push(change("s3:PutEncryptionConfiguration", json!({"Bucket": bucket}), "SSE-S3 default encryption"));
    }
    let versioning = s3
        .get_bucket_versioning()
        .bucket(&bucket)
        .expected_bucket_owner(ctx.account())
        .send()
        .await
        .map_err(aws("s3:GetBucketVersioning"))?;
    if versioning.status() != Some(&BucketVersioningStatus::Enabled) {
        changes.push(change("s3:PutBucketVersioning", json!({"Bucket": bucket}), "keep overwritten or deleted logs"));
    }
    if let Some(policy) = merge_statements(bucket_policy(ctx, &bucket).await?.as_ref(), &wanted) {
        changes.push(policy_change(policy));
    }
    Ok(changes)
}

/// Executes a log-bucket change; `None` when `change` is not one.
pub(crate) async fn execute_log_bucket(ctx: &Ctx, change: &Change) -> Option<Result<(), AwsError>> {
    let run = async {
        let s3 = ctx.s3();
        let bucket = change.text("Bucket")?;
        let owner = ctx.account();
        match change.action.as_str() {
            "s3:CreateBucket" => {
                let region = change.text("Region")?;
                let mut call = s3.create_bucket().bucket(bucket);
                // us-east-1 takes no location constraint; every other region needs its own.
                if region != "us-east-1" {
                    call = call.create_bucket_configuration(
                        CreateBucketConfiguration::builder()
                            .location_constraint(BucketLocationConstraint::from(region))
                            .build(),
                    );
                }
                call.send().await.map(|_| ()).map_err(aws("s3:CreateBucket"))
            }
            "s3:PutBucketOwnershipControls" => {
                let rule = OwnershipControlsRule::builder()
                    .object_ownership(ObjectOwnership::BucketOwnerEnforced)
                    .build()
                    .map_err(|e| build_error("s3:PutBucketOwnershipControls", e))?;
                let controls = OwnershipControls::builder()
                    .rules(rule)
                    .build()
                    .map_err(|e| build_error("s3:PutBucketOwnershipControls", e))?;
                s3.put_bucket_ownership_controls()
                    .bucket(bucket)
                    .expected_bucket_owner(owner)
                    .ownership_controls(controls)
                    .send()
                    .await
                    .map(|_| ())
                    .map_err(aws("s3:PutBucketOwnershipControls"))
            }
            "s3:PutBucketPublicAccessBlock" => super::s3_2::put_block_all(ctx, bucket).await,
            "s3:PutEncryptionConfiguration" => {
                let default = ServerSideEncryptionByDefault::builder()
                    .sse_algorithm(ServerSideEncryption::Aes256)
                    .build()
                    .map_err(|e| build_error("s3:PutEncryptionConfiguration", e))?;
                let config = ServerSideEncryptionConfiguration::builder()
                    .rules(ServerSideEncryptionRule::builder().apply_server_side_encryption_by_default(default).build())
                    .build()
                    .map_err(|e| build_error("s3:PutEncryptionConfiguration", e))?;
                s3.put_bucket_encryption()
                    .bucket(bucket)
                    .expected_bucket_owner(owner)
                    .server_side_encryption_configuration(config)
                    .send()
                    .await
                    .map(|_| ())
                    .map_err(aws("s3:PutEncryptionConfiguration"))
            }
            "s3:PutBucketVersioning" => s3
                .put_bucket_versioning()
                .bucket(bucket)
                .expected_bucket_owner(owner)
                .versioning_configuration(
                    VersioningConfiguration::builder().status(BucketVersioningStatus::Enabled).build(),
                )
                .send()
                .await
                .map(|_| ())
                .map_err(aws("s3:PutBucketVersioning")),
            "s3:PutBucketPolicy" => put_policy(ctx, bucket, change.text("Policy")?).await,
            _ => Err(crate::plan::unplanned(change)),
        }
    };
    let is_log_bucket_change = LOG_BUCKET_ACTIONS.contains(&change.action.as_str())
        && change.parameters.get("Bucket").and_then(Value::as_str) == Some(ctx.log_bucket().as_str());
    if is_log_bucket_change {
        Some(run.await)
    } else {
        None
    }
}

pub(crate) async fn put_policy(ctx: &Ctx, bucket: &str, policy: &str) -> Result<(), AwsError> {
    ctx.s3()
        .put_bucket_policy()
        .bucket(bucket)
        .expected_bucket_owner(ctx.account())
        .policy(policy)
        .send()
        .await
        .map(|_| ())
        .map_err(aws("s3:PutBucketPolicy"))
}

/// An SDK builder refusing our own input (a bug here, so Permanent).
pub(crate) fn build_error(action: &'static str, e: impl std::fmt::Display) -> AwsError {
    AwsError::new(action, ErrorClass::Permanent, format!("could not build the request: {e}"))
}

/// The bucket's lifecycle rules (none when it has no configuration).
pub(crate) async fn lifecycle_rules(ctx: &Ctx) -> Result<Vec<LifecycleRule>, AwsError> {
    let reply = ctx
        .s3()
        .get_bucket_lifecycle_configuration()
        .bucket(&ctx.target.name)
        .expected_bucket_owner(ctx.account())
        .send()
        .await;
    match reply {
        Ok(out) => Ok(out.rules().to_vec()),
        Err(e) if has_code(&e, &["NoSuchLifecycleConfiguration"]) => Ok(Vec::new()),
        Err(e) => Err(aws("s3:GetLifecycleConfiguration")(e)),
    }
}

/// A rule's id for plans and comparisons (rules may have none).
pub(crate) fn rule_id(rule: &LifecycleRule) -> String {
    rule.id().unwrap_or("(no id)").to_owned()
}

/// One whole-bucket housekeeping rule the catalogue adds. It never expires current objects.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct OwnRule {
    pub id: String,
    pub noncurrent_days: i32,
    /// How many newer noncurrent versions to keep beyond `noncurrent_days` (None: no minimum).
    pub newer_noncurrent_versions: Option<i32>,
    pub abort_incomplete_days: i32,
}

/// A lifecycle control's assessment: compliant when some rule is enabled; a ticket when our own
/// rule is there but disabled (someone turned it off); else the change that adds `own` while
/// keeping every existing rule.
pub(crate) async fn plan_lifecycle(ctx: &Ctx, own: Value) -> Result<crate::spec::Assessment, AwsError> {
    use crate::spec::Assessment;
    let bucket = &ctx.target.name;
    let rules = lifecycle_rules(ctx).await?;
    if let Some(r) = rules.iter().find(|r| r.status() == &ExpirationStatus::Enabled) {
        return Ok(Assessment::Compliant(format!("bucket {bucket} has the enabled lifecycle rule {}", rule_id(r))));
    }
    let own_id = own.get("Id").and_then(Value::as_str).unwrap_or_default().to_owned();
    if rules.iter().any(|r| r.id() == Some(own_id.as_str())) {
        return Ok(Assessment::Ticket(format!(
            "bucket {bucket} has the catalogue's lifecycle rule {own_id}, but disabled: someone turned it off. \
             Enable it (or another rule), or tag the bucket secops:exempt={}",
            ctx.target.control
        )));
    }
    let keep: Vec<String> = rules.iter().map(rule_id).collect();
    let why = if keep.is_empty() {
        format!("bucket {bucket} has no lifecycle configuration")
    } else {
        format!("bucket {bucket} has only disabled lifecycle rules ({}), which are kept", keep.join(", "))
    };
    Ok(Assessment::Changes(vec![Change::new(
        "s3:PutLifecycleConfiguration",
        bucket_arn(ctx, bucket),
        json!({"Bucket": bucket, "KeepRuleIds": keep, "AddRule": own}),
        why,
    )]))
}

/// Adds the planned rule to the bucket's lifecycle configuration. The existing rules are re-read
/// and sent back as the SDK read them (their many optional fields do not survive a round trip
/// through the plan's JSON); when they are not the ones planned, nothing is written.
pub(crate) async fn put_lifecycle(ctx: &Ctx, change: &Change) -> Result<(), AwsError> {
    #[derive(Deserialize)]
    #[serde(rename_all = "PascalCase")]
    struct Params {
        bucket: String,
        keep_rule_ids: Vec<String>,
        add_rule: OwnRule,
    }
    let p: Params = change.params()?;
    let existing = lifecycle_rules(ctx).await?;
    let ids: Vec<String> = existing.iter().map(rule_id).collect();
    if ids != p.keep_rule_ids {
        return Err(AwsError::new(
            "s3:PutLifecycleConfiguration",
            ErrorClass::Permanent,
            format!(
                "the lifecycle rules of bucket {} changed since the plan (planned to keep {:?}, found {:?}); nothing \
                 was written",
                p.bucket, p.keep_rule_ids, ids
            ),
        ));
    }
    let mut noncurrent = NoncurrentVersionExpiration::builder().noncurrent_days(p.add_rule.noncurrent_days);
    if let Some(n) = p.add_rule.newer_noncurrent_versions {
        noncurrent = noncurrent.newer_noncurrent_versions(n);
    }
    let rule = LifecycleRule::builder()
        .id(&p.add_rule.id)
        .status(ExpirationStatus::Enabled)
        .filter(LifecycleRuleFilter::builder().prefix("").build())
        .noncurrent_version_expiration(noncurrent.build())
        .abort_incomplete_multipart_upload(
            AbortIncompleteMultipartUpload::builder().days_after_initiation(p.add_rule.abort_incomplete_days).build(),
        )
        .build()
        .map_err(|e| build_error("s3:PutLifecycleConfiguration", e))?;
    let mut rules = existing;
    rules.push(rule);
    let config = aws_sdk_s3::types::BucketLifecycleConfiguration::builder()
        .set_rules(Some(rules))
        .build()
        .map_err(|e| build_error("s3:PutLifecycleConfiguration", e))?;
    ctx.s3()
        .put_bucket_lifecycle_configuration()
        .bucket(&p.bucket)
        .expected_bucket_owner(ctx.account())
        .lifecycle_configuration(config)
        .send()
        .await
        .map(|_| ())
        .map_err(aws("s3:PutLifecycleConfiguration"))
}

/// Lifecycle verification: some rule of the bucket is enabled.
pub(crate) async fn verify_lifecycle(ctx: &Ctx) -> Result<crate::spec::Check, AwsError> {
    let rules = lifecycle_rules(ctx).await?;
    let text: Vec<String> = rules.iter().map(|r| format!("{} ({})", rule_id(r), r.status().as_str())).collect();
    let text = format!("lifecycle rules: {}", if text.is_empty() { "none".into() } else { text.join(", ") });
    Ok(if rules.iter().any(|r| r.status() == &ExpirationStatus::Enabled) {
        crate::spec::Check::Holds(text)
    } else {
        crate::spec::Check::Fails(text)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn merge_keeps_other_statements_and_replaces_by_sid() {
        let existing = json!({"Version": "2012-10-17", "Id": "p", "Statement": [
            {"Sid": "Theirs", "Effect": "Allow", "Principal": "*", "Action": "s3:GetObject", "Resource": "x"},
            {"Sid": "A", "Effect": "Allow", "Action": "old"}
        ]});
        let wanted = vec![json!({"Sid": "A", "Effect": "Allow", "Action": "new"}), json!({"Sid": "B"})];
        let merged = merge_statements(Some(&existing), &wanted).unwrap();
        assert_eq!(merged["Id"], "p");
        assert_eq!(
            merged["Statement"],
            json!([
                {"Sid": "Theirs", "Effect": "Allow", "Principal": "*", "Action": "s3:GetObject", "Resource": "x"},
                {"Sid": "A", "Effect": "Allow", "Action": "new"},
                {"Sid": "B"}
            ])
        );
        assert_eq!(merge_statements(Some(&merged), &wanted), None, "nothing to change the second time");
        let fresh = merge_statements(None, &wanted).unwrap();
        assert_eq!(fresh["Version"], "2012-10-17");
        assert_eq!(fresh["Statement"].as_array().unwrap().len(), 2);
    }

    #[test]
    fn every_control_that_uses_the_log_bucket_declares_its_actions() {
        for spec in crate::catalogue::Catalogue::standard().specs() {
            if ["S3.9", "CloudTrail.1", "Config.1", "ELB.5"].contains(&spec.control) {
                for a in LOG_BUCKET_ACTIONS {
                    assert!(spec.actions.contains(a), "{} does not declare {a}", spec.control);
                }
            }
        }
    }
}
