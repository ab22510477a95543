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
