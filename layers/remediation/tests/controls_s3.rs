//! S3 remediations against moto: each creates a non-compliant bucket (or account setting), runs
//! plan → apply → verify, reads the real state back, re-runs for idempotency, and checks the
//! exemption.

mod support;

use support::*;

async fn bucket(h: &Harness, name: &str) -> aws_sdk_s3::Client {
    let s3 = aws_sdk_s3::Client::new(&h.sdk);
    s3.create_bucket().bucket(name).send().await.expect("create bucket");
    s3
}

fn bucket_finding(control: &str, name: &str) -> FindingBuilder {
    finding(control, "AwsS3Bucket", &format!("arn:aws:s3:::{name}"))
}

async fn all_blocked(s3: &aws_sdk_s3::Client, name: &str) -> bool {
    let out = s3.get_public_access_block().bucket(name).send().await.expect("public access block");
    let c = out.public_access_block_configuration().expect("configuration");
    [c.block_public_acls(), c.ignore_public_acls(), c.block_public_policy(), c.restrict_public_buckets()]
        .iter()
        .all(|v| *v == Some(true))
}

#[tokio::test]
async fn s3_2_blocks_public_read_and_is_idempotent() {
    let h = Harness::start().await;
    let s3 = bucket(&h, "public-read").await;
    s3.put_bucket_acl().bucket("public-read").acl(aws_sdk_s3::types::BucketCannedAcl::PublicRead).send().await.unwrap();
    let report = h.remediates(&bucket_finding("S3.2", "public-read").build()).await;
    assert_eq!(report.applied[0].action, "s3:PutBucketPublicAccessBlock");
    assert!(all_blocked(&s3, "public-read").await);
}

#[tokio::test]
async fn s3_2_exemptions() {
    let h = Harness::start().await;
    let s3 = bucket(&h, "public-on-purpose").await;
    // A live tag on the bucket (read through GetBucketTagging) exempts it.
    let tagging = aws_sdk_s3::types::Tagging::builder()
        .tag_set(aws_sdk_s3::types::Tag::builder().key("secops:s3:public-read-intended").value("true").build().unwrap())
        .build()
        .unwrap();
    s3.put_bucket_tagging().bucket("public-on-purpose").tagging(tagging).send().await.unwrap();
    let report = h.exempt(&bucket_finding("S3.2", "public-on-purpose").build()).await;
    assert!(report.reason.contains("secops:s3:public-read-intended"), "{}", report.reason);
    // So does secops:exempt naming the control on the finding's resource.
    bucket(&h, "exempt-by-finding-tag").await;
    h.exempt(&bucket_finding("S3.2", "exempt-by-finding-tag").tag("secops:exempt", "S3.8, S3.2").build()).await;
    let r = s3.get_public_access_block().bucket("exempt-by-finding-tag").send().await;
    assert!(r.is_err(), "nothing was changed on an exempt bucket");
}

#[tokio::test]
async fn s3_2_website_bucket_is_a_ticket_not_a_change() {
    let h = Harness::start().await;
    let s3 = bucket(&h, "www-site").await;
    let website = aws_sdk_s3::types::WebsiteConfiguration::builder()
        .index_document(aws_sdk_s3::types::IndexDocument::builder().suffix("index.html").build().unwrap())
        .build();
    s3.put_bucket_website().bucket("www-site").website_configuration(website).send().await.unwrap();
    let report = h.run(&bucket_finding("S3.2", "www-site").build()).await;
    assert_eq!(report.outcome, secops_remediation::Outcome::Ticket, "{}", report.summary());
    assert!(report.reason.contains("static website"));
}

#[tokio::test]
async fn s3_2_missing_bucket_is_suppressed() {
    let h = Harness::start().await;
    let report = h.run(&bucket_finding("S3.2", "no-such-bucket-here").build()).await;
    assert_eq!(report.outcome, secops_remediation::Outcome::Suppress, "{}", report.summary());
    assert!(report.reason.contains("no longer exists"), "{}", report.reason);
}

// ---- S3 and logging (helper a) ----

use secops_remediation::Outcome;

const LOG_BUCKET: &str = "secops-logs-123456789012-us-east-1";

fn account_exempt(control: &str) -> impl FnOnce(&mut secops_core::RemediationConfig) {
    let control = control.to_owned();
    move |s| {
        s.exempt_accounts = vec![secops_core::RemediationExemption { scope: ACCOUNT.into(), control: Some(control) }]
    }
}

async fn tag_bucket(s3: &aws_sdk_s3::Client, name: &str, key: &str, value: &str) {
    let tagging = aws_sdk_s3::types::Tagging::builder()
        .tag_set(aws_sdk_s3::types::Tag::builder().key(key).value(value).build().unwrap())
        .build()
        .unwrap();
    s3.put_bucket_tagging().bucket(name).tagging(tagging).send().await.unwrap();
}

async fn policy_of(s3: &aws_sdk_s3::Client, name: &str) -> serde_json::Value {
    let out = s3.get_bucket_policy().bucket(name).send().await.expect("bucket policy");
    serde_json::from_str(out.policy().unwrap()).unwrap()
}

async fn account_block(h: &Harness) -> Option<[Option<bool>; 4]> {
    let s3c = aws_sdk_s3control::Client::new(&h.sdk);
    let out = s3c.get_public_access_block().account_id(ACCOUNT).send().await.ok()?;
    let c = out.public_access_block_configuration()?;
    Some([c.block_public_acls(), c.ignore_public_acls(), c.block_public_policy(), c.restrict_public_buckets()])
}

#[tokio::test]
async fn s3_1_blocks_public_access_account_wide_and_is_idempotent() {
    let h = Harness::start().await;
    let report = h.remediates(&account_finding("S3.1").build()).await;
    assert_eq!(report.applied.len(), 1);
    assert_eq!(report.applied[0].action, "s3:PutAccountPublicAccessBlock");
    assert_eq!(account_block(&h).await, Some([Some(true); 4]));
}

#[tokio::test]
async fn s3_1_exempt_account_is_untouched() {
    let h = Harness::start_with(account_exempt("S3.1")).await;
    let report = h.exempt(&account_finding("S3.1").build()).await;
    assert!(report.reason.contains("exempt from S3.1 by configuration"), "{}", report.reason);
    assert_eq!(account_block(&h).await, None, "no account setting was written");
}

#[tokio::test]
async fn s3_3_blocks_public_write_and_is_idempotent() {
    let h = Harness::start().await;
    let s3 = bucket(&h, "public-write").await;
    s3.put_bucket_acl()
        .bucket("public-write")
        .acl(aws_sdk_s3::types::BucketCannedAcl::PublicReadWrite)
        .send()
        .await
        .unwrap();
    let report = h.remediates(&bucket_finding("S3.3", "public-write").build()).await;
    assert_eq!(report.applied[0].action, "s3:PutBucketPublicAccessBlock");
    assert!(all_blocked(&s3, "public-write").await);
}

#[tokio::test]
async fn s3_3_exemptions() {
    let h = Harness::start().await;
    let s3 = bucket(&h, "upload-drop").await;
    tag_bucket(&s3, "upload-drop", "secops:s3:public-write-intended", "true").await;
    let report = h.exempt(&bucket_finding("S3.3", "upload-drop").build()).await;
    assert!(report.reason.contains("secops:s3:public-write-intended"), "{}", report.reason);
    bucket(&h, "exempt-s3-3").await;
    h.exempt(&bucket_finding("S3.3", "exempt-s3-3").tag("secops:exempt", "S3.3").build()).await;
    for name in ["upload-drop", "exempt-s3-3"] {
        assert!(s3.get_public_access_block().bucket(name).send().await.is_err(), "{name} was changed");
    }
}

#[tokio::test]
async fn s3_5_denies_insecure_transport_keeping_other_statements() {
    let h = Harness::start().await;
    let s3 = bucket(&h, "tls-only").await;
    let allow = serde_json::json!({"Version": "2012-10-17", "Statement": [{"Sid": "ReadersRead", "Effect": "Allow",
        "Principal": {"AWS": "arn:aws:iam::123456789012:root"}, "Action": "s3:GetObject", "Resource": "arn:aws:s3:::tls-only/*"}]});
    s3.put_bucket_policy().bucket("tls-only").policy(allow.to_string()).send().await.unwrap();
    let report = h.remediates(&bucket_finding("S3.5", "tls-only").build()).await;
    assert_eq!(report.applied[0].action, "s3:PutBucketPolicy");
    let policy = policy_of(&s3, "tls-only").await;
    let statements = policy["Statement"].as_array().unwrap();
    assert_eq!(statements.len(), 2);
    assert_eq!(statements[0], allow["Statement"][0], "the existing Allow survives unchanged");
    assert_eq!(
        statements[1],
        serde_json::json!({"Sid": "SecOpsDenyInsecureTransport", "Effect": "Deny", "Principal": "*", "Action": "s3:*",
            "Resource": ["arn:aws:s3:::tls-only", "arn:aws:s3:::tls-only/*"],
            "Condition": {"Bool": {"aws:SecureTransport": "false"}}})
    );
}

#[tokio::test]
async fn s3_5_bucket_without_policy_gets_one() {
    let h = Harness::start().await;
    let s3 = bucket(&h, "no-policy-yet").await;
    h.remediates(&bucket_finding("S3.5", "no-policy-yet").build()).await;
    let policy = policy_of(&s3, "no-policy-yet").await;
    assert_eq!(policy["Statement"].as_array().unwrap().len(), 1);
    assert_eq!(policy["Statement"][0]["Sid"], "SecOpsDenyInsecureTransport");
}

#[tokio::test]
async fn s3_5_exempt_bucket_keeps_its_policy() {
    let h = Harness::start().await;
    let s3 = bucket(&h, "legacy-http").await;
    tag_bucket(&s3, "legacy-http", "secops:exempt", "S3.5").await;
    h.exempt(&bucket_finding("S3.5", "legacy-http").build()).await;
    assert!(s3.get_bucket_policy().bucket("legacy-http").send().await.is_err(), "no policy was written");
}

#[tokio::test]
async fn s3_8_blocks_public_access_and_is_idempotent() {
    let h = Harness::start().await;
    let s3 = bucket(&h, "half-open").await;
    let partial = aws_sdk_s3::types::PublicAccessBlockConfiguration::builder().block_public_acls(true).build();
    s3.put_public_access_block().bucket("half-open").public_access_block_configuration(partial).send().await.unwrap();
    let report = h.remediates(&bucket_finding("S3.8", "half-open").build()).await;
    assert!(report.plan.unwrap().changes[0].why.contains("BlockPublicAcls=true, IgnorePublicAcls=false"));
    assert!(all_blocked(&s3, "half-open").await);
}

#[tokio::test]
async fn s3_8_exemptions_and_website_ticket() {
    let h = Harness::start().await;
    let s3 = bucket(&h, "open-data").await;
    tag_bucket(&s3, "open-data", "secops:s3:public-access-intended", "yes").await;
    let report = h.exempt(&bucket_finding("S3.8", "open-data").build()).await;
    assert!(report.reason.contains("secops:s3:public-access-intended"), "{}", report.reason);
    bucket(&h, "site-s3-8").await;
    let website = aws_sdk_s3::types::WebsiteConfiguration::builder()
        .index_document(aws_sdk_s3::types::IndexDocument::builder().suffix("index.html").build().unwrap())
        .build();
    s3.put_bucket_website().bucket("site-s3-8").website_configuration(website).send().await.unwrap();
    let report = h.run(&bucket_finding("S3.8", "site-s3-8").build()).await;
    assert_eq!(report.outcome, Outcome::Ticket, "{}", report.summary());
    assert!(report.reason.contains("static website"), "{}", report.reason);
    for name in ["open-data", "site-s3-8"] {
        assert!(s3.get_public_access_block().bucket(name).send().await.is_err(), "{name} was changed");
    }
}

#[tokio::test]
async fn s3_9_logs_into_a_new_complete_log_bucket_and_is_idempotent() {
    let h = Harness::start().await;
    let s3 = bucket(&h, "app-data").await;
    let report = h.remediates(&bucket_finding("S3.9", "app-data").build()).await;
    let actions: Vec<&str> = report.applied.iter().map(|c| c.action.as_str()).collect();
    assert_eq!(
        actions,
        [
            "s3:CreateBucket",
            "s3:PutBucketOwnershipControls",
            "s3:PutBucketPublicAccessBlock",
            "s3:PutEncryptionConfiguration",
            "s3:PutBucketVersioning",
            "s3:PutBucketPolicy",
            "s3:PutBucketLogging"
        ]
    );
    let logging = s3.get_bucket_logging().bucket("app-data").send().await.unwrap();
    let enabled = logging.logging_enabled().expect("logging on");
    assert_eq!((enabled.target_bucket(), enabled.target_prefix()), (LOG_BUCKET, "s3-access/app-data/"));
    // The log bucket itself: private, encrypted, versioned, owner-enforced, delivery allowed.
    assert!(all_blocked(&s3, LOG_BUCKET).await);
    let enc = s3.get_bucket_encryption().bucket(LOG_BUCKET).send().await.unwrap();
    let rule = &enc.server_side_encryption_configuration().unwrap().rules()[0];
    assert_eq!(
        rule.apply_server_side_encryption_by_default().unwrap().sse_algorithm(),
        &aws_sdk_s3::types::ServerSideEncryption::Aes256
    );
    let versioning = s3.get_bucket_versioning().bucket(LOG_BUCKET).send().await.unwrap();
    assert_eq!(versioning.status(), Some(&aws_sdk_s3::types::BucketVersioningStatus::Enabled));
    let own = s3.get_bucket_ownership_controls().bucket(LOG_BUCKET).send().await.unwrap();
    assert_eq!(
        own.ownership_controls().unwrap().rules()[0].object_ownership(),
        &aws_sdk_s3::types::ObjectOwnership::BucketOwnerEnforced
    );
    let policy = policy_of(&s3, LOG_BUCKET).await;
    let logging_statement = policy["Statement"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["Sid"] == "SecOpsS3ServerAccessLogs")
        .expect("server access log statement")
        .clone();
    assert_eq!(logging_statement["Principal"]["Service"], "logging.s3.amazonaws.com");
    assert_eq!(logging_statement["Condition"]["StringEquals"]["aws:SourceAccount"], ACCOUNT);
}

#[tokio::test]
async fn s3_9_completes_an_existing_log_bucket_keeping_its_policy() {
    let h = Harness::start().await;
    let s3 = bucket(&h, "second-app").await;
    bucket(&h, LOG_BUCKET).await;
    let theirs = serde_json::json!({"Version": "2012-10-17", "Statement": [{"Sid": "Auditors", "Effect": "Allow",
        "Principal": {"AWS": "arn:aws:iam::123456789012:root"}, "Action": "s3:GetObject", "Resource": format!("arn:aws:s3:::{LOG_BUCKET}/*")}]});
    s3.put_bucket_policy().bucket(LOG_BUCKET).policy(theirs.to_string()).send().await.unwrap();
    let report = h.remediates(&bucket_finding("S3.9", "second-app").build()).await;
    assert!(!report.applied.iter().any(|c| c.action == "s3:CreateBucket"), "the bucket is reused");
    let policy = policy_of(&s3, LOG_BUCKET).await;
    let statements = policy["Statement"].as_array().unwrap();
    assert_eq!(statements[0], theirs["Statement"][0]);
    // Six service-principal statements, plus us-east-1's regional ELB account (an older region).
    assert_eq!(statements.len(), 8, "their statement plus the seven delivery statements");
    let elb =
        statements.iter().find(|s| s["Sid"] == "SecOpsElbLogDeliveryRegional").expect("the regional ELB statement");
    assert_eq!(elb["Principal"]["AWS"], "arn:aws:iam::127311923021:root");
    assert_eq!(elb["Resource"], format!("arn:aws:s3:::{LOG_BUCKET}/elb/AWSLogs/{ACCOUNT}/*"));
}

#[tokio::test]
async fn s3_9_the_log_bucket_is_never_logged_into_itself() {
    let h = Harness::start().await;
    let s3 = bucket(&h, LOG_BUCKET).await;
    let report = h.exempt(&bucket_finding("S3.9", LOG_BUCKET).build()).await;
    assert!(report.reason.contains("the catalogue's log bucket"), "{}", report.reason);
    assert!(s3.get_bucket_logging().bucket(LOG_BUCKET).send().await.unwrap().logging_enabled().is_none());
}

#[tokio::test]
async fn s3_9_exempt_bucket_is_untouched() {
    let h = Harness::start().await;
    let s3 = bucket(&h, "scratch-space").await;
    h.exempt(&bucket_finding("S3.9", "scratch-space").tag("secops:exempt", "all").build()).await;
    assert!(s3.get_bucket_logging().bucket("scratch-space").send().await.unwrap().logging_enabled().is_none());
    assert!(s3.head_bucket().bucket(LOG_BUCKET).send().await.is_err(), "no log bucket was created");
}

async fn versioned(h: &Harness, name: &str) -> aws_sdk_s3::Client {
    let s3 = bucket(h, name).await;
    let on = aws_sdk_s3::types::VersioningConfiguration::builder()
        .status(aws_sdk_s3::types::BucketVersioningStatus::Enabled)
        .build();
    s3.put_bucket_versioning().bucket(name).versioning_configuration(on).send().await.unwrap();
    s3
}

async fn put_rule(s3: &aws_sdk_s3::Client, name: &str, id: &str, status: aws_sdk_s3::types::ExpirationStatus) {
    let rule = aws_sdk_s3::types::LifecycleRule::builder()
        .id(id)
        .status(status)
        .filter(aws_sdk_s3::types::LifecycleRuleFilter::builder().prefix("tmp/").build())
        .expiration(aws_sdk_s3::types::LifecycleExpiration::builder().days(30).build())
        .build()
        .unwrap();
    let config = aws_sdk_s3::types::BucketLifecycleConfiguration::builder().rules(rule).build().unwrap();
    s3.put_bucket_lifecycle_configuration().bucket(name).lifecycle_configuration(config).send().await.unwrap();
}

async fn rules_of(s3: &aws_sdk_s3::Client, name: &str) -> Vec<aws_sdk_s3::types::LifecycleRule> {
    s3.get_bucket_lifecycle_configuration().bucket(name).send().await.unwrap().rules().to_vec()
}

#[tokio::test]
async fn s3_10_adds_noncurrent_version_rule_keeping_disabled_rules() {
    let h = Harness::start().await;
    let s3 = versioned(&h, "versioned-data").await;
    put_rule(&s3, "versioned-data", "old-tmp", aws_sdk_s3::types::ExpirationStatus::Disabled).await;
    h.remediates(&bucket_finding("S3.10", "versioned-data").build()).await;
    let rules = rules_of(&s3, "versioned-data").await;
    assert_eq!(rules.len(), 2);
    assert_eq!(rules[0].id(), Some("old-tmp"));
    assert_eq!(rules[0].status(), &aws_sdk_s3::types::ExpirationStatus::Disabled);
    assert_eq!(rules[0].expiration().and_then(|e| e.days()), Some(30), "the existing rule is kept as it was");
    let ours = &rules[1];
    assert_eq!(ours.id(), Some("secops-noncurrent-versions"));
    assert_eq!(ours.status(), &aws_sdk_s3::types::ExpirationStatus::Enabled);
    assert_eq!(ours.noncurrent_version_expiration().and_then(|n| n.noncurrent_days()), Some(365));
    assert_eq!(ours.abort_incomplete_multipart_upload().and_then(|a| a.days_after_initiation()), Some(7));
    assert!(ours.expiration().is_none(), "current objects never expire");
}

#[tokio::test]
async fn s3_10_unversioned_bucket_is_compliant_and_exemption_works() {
    let h = Harness::start().await;
    let s3 = bucket(&h, "plain-bucket").await;
    let report = h.run(&bucket_finding("S3.10", "plain-bucket").build()).await;
    assert_eq!(report.outcome, Outcome::AlreadyCompliant, "{}", report.summary());
    assert!(report.reason.contains("not versioned"), "{}", report.reason);
    versioned(&h, "versioned-exempt").await;
    h.exempt(&bucket_finding("S3.10", "versioned-exempt").tag("secops:exempt", "S3.10").build()).await;
    assert!(s3.get_bucket_lifecycle_configuration().bucket("versioned-exempt").send().await.is_err());
}

#[tokio::test]
async fn s3_10_disabled_own_rule_is_a_ticket() {
    let h = Harness::start().await;
    let s3 = versioned(&h, "rule-switched-off").await;
    put_rule(&s3, "rule-switched-off", "secops-noncurrent-versions", aws_sdk_s3::types::ExpirationStatus::Disabled)
        .await;
    let report = h.run(&bucket_finding("S3.10", "rule-switched-off").build()).await;
    assert_eq!(report.outcome, Outcome::Ticket, "{}", report.summary());
    assert!(report.reason.contains("but disabled"), "{}", report.reason);
    assert_eq!(rules_of(&s3, "rule-switched-off").await.len(), 1);
}

#[tokio::test]
async fn s3_13_adds_housekeeping_rule_and_is_idempotent() {
    let h = Harness::start().await;
    let s3 = bucket(&h, "no-lifecycle").await;
    h.remediates(&bucket_finding("S3.13", "no-lifecycle").build()).await;
    let rules = rules_of(&s3, "no-lifecycle").await;
    assert_eq!(rules.len(), 1);
    assert_eq!(rules[0].id(), Some("secops-housekeeping"));
    assert_eq!(rules[0].status(), &aws_sdk_s3::types::ExpirationStatus::Enabled);
    assert_eq!(rules[0].abort_incomplete_multipart_upload().and_then(|a| a.days_after_initiation()), Some(7));
    assert_eq!(rules[0].noncurrent_version_expiration().and_then(|n| n.noncurrent_days()), Some(365));
    assert!(rules[0].expiration().is_none(), "current objects never expire");
}

#[tokio::test]
async fn s3_13_enabled_rule_is_compliant_and_exemption_works() {
    let h = Harness::start().await;
    let s3 = bucket(&h, "has-lifecycle").await;
    put_rule(&s3, "has-lifecycle", "tmp-cleanup", aws_sdk_s3::types::ExpirationStatus::Enabled).await;
    let report = h.run(&bucket_finding("S3.13", "has-lifecycle").build()).await;
    assert_eq!(report.outcome, Outcome::AlreadyCompliant, "{}", report.summary());
    assert!(report.reason.contains("tmp-cleanup"), "{}", report.reason);
    bucket(&h, "lifecycle-exempt").await;
    tag_bucket(&s3, "lifecycle-exempt", "secops:exempt", "S3.13").await;
    h.exempt(&bucket_finding("S3.13", "lifecycle-exempt").build()).await;
    assert!(s3.get_bucket_lifecycle_configuration().bucket("lifecycle-exempt").send().await.is_err());
}
