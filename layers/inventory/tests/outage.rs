//! The outage of record: CrowdStrike answers 500s, or 429s with a Retry-After longer than the
//! collector will wait, in the middle of a live collection. The Falcon run fails with the right
//! class, every AWS run lands, the snapshot says `partial`, and reconciliation still runs over
//! the AWS data and says what it could not see.

mod aws_support;
mod vendor_support;

use aws_support::*;
use secops_aws::testing::MotoServer;
use secops_inventory::{collect, reconcile::reconcile, AwsEstate, CollectPlan, FalconCollector, FalconConfig};
use secops_store::testing::TestDb;
use serde_json::json;
use std::sync::Arc;
use std::time::Duration;
use vendor_support::{assert_no_secrets, quick_policy, run_of};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

const SECRET: &str = "falcon-secret-8Jq2Lw5Rt9Yx3Nv7";

/// A Falcon API whose token endpoint works and whose host query answers `failure` every time.
async fn falcon_failing(failure: ResponseTemplate) -> MockServer {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/oauth2/token"))
        .respond_with(
            ResponseTemplate::new(201).set_body_json(
                json!({"access_token": "falcon-token-Qm4Zr8", "token_type": "bearer", "expires_in": 1799}),
            ),
        )
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/devices/queries/devices-scroll/v1"))
        .respond_with(failure)
        .mount(&server)
        .await;
    server
}

async fn collect_during_outage(failure: ResponseTemplate, expected_class: &str) {
    let moto = MotoServer::start();
    let guardduty = guardduty_stub().await;
    let falcon = falcon_failing(failure).await;
    let db = TestDb::new().await;
    let base = base_config(&moto, &guardduty, EAST).await;
    let home = session(&base, HOME, EAST).await;
    let ec2 = aws_sdk_ec2::Client::new(&home);
    let launched = ec2
        .run_instances()
        .image_id(IMAGE)
        .instance_type(aws_sdk_ec2::types::InstanceType::T3Micro)
        .min_count(3)
        .max_count(3)
        .send()
        .await
        .unwrap();
    let mut launched_ids: Vec<String> =
        launched.instances().iter().map(|i| i.instance_id().unwrap().to_owned()).collect();
    launched_ids.sort();
    aws_sdk_s3::Client::new(&home).create_bucket().bucket("outage-evidence").send().await.unwrap();

    let falcon_collector = FalconCollector::new(FalconConfig {
        base_url: falcon.uri(),
        client_id: "falcon-client".into(),
        client_secret: SECRET.into(),
        member_cid: None,
    })
    .unwrap()
    .with_http_policy(quick_policy(Duration::from_secs(1)));
    let summary = collect(
        &db.pool,
        &CollectPlan {
            aws: Some(AwsEstate {
                base,
                accounts: vec![HOME.into()],
                regions: vec![EAST.into()],
                role_name: "SecOpsInventoryReader".into(),
            }),
            vendors: vec![Arc::new(falcon_collector)],
            concurrency: 4,
        },
    )
    .await
    .unwrap();

    assert_eq!(summary.status, "partial", "{summary:?}");
    assert_eq!(summary.failed_runs.len(), 1, "only Falcon failed: {:?}", summary.failed_runs);
    let falcon_run = run_of(&db, summary.snapshot_id, "falcon").await;
    assert_eq!(falcon_run.status, "failed");
    assert_eq!(falcon_run.error_class.as_deref(), Some(expected_class), "{falcon_run:?}");
    assert_no_secrets(falcon_run.error.as_deref().unwrap_or_default(), &[SECRET, "falcon-token-Qm4Zr8"]);

    // The AWS data is intact: every instance and the bucket landed, in complete runs.
    let client = db.pool.get().await.unwrap();
    let mut instances: Vec<String> = client
        .query("SELECT instance_id FROM ec2_instances WHERE snapshot_id = $1 ORDER BY 1", &[&summary.snapshot_id])
        .await
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    instances.sort();
    assert_eq!(instances, launched_ids);
    let bucket: i64 = client
        .query_one(
            "SELECT count(*) FROM s3_buckets WHERE snapshot_id = $1 AND bucket = 'outage-evidence'",
            &[&summary.snapshot_id],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(bucket, 1);
    let aws_failed: i64 = client
        .query_one("SELECT count(*) FROM snapshot_sources WHERE snapshot_id = $1 AND collector <> 'falcon' AND status <> 'complete'", &[&summary.snapshot_id])
        .await
        .unwrap()
        .get(0);
    assert_eq!(aws_failed, 0);

    // Reconciliation runs on what landed and names what it could not see: with no Falcon data,
    // every live instance is unprotected — and the summary says why the number is not final.
    let result = reconcile(&db.pool, Some(summary.snapshot_id)).await.unwrap();
    assert_eq!(result["snapshot_status"], "partial");
    assert_eq!(result["edr"]["live_instances"], 3);
    assert_eq!(result["not_collected"], json!(["falcon"]));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn falcon_answering_500_leaves_a_partial_snapshot_with_the_aws_data_intact() {
    let failure = ResponseTemplate::new(500).set_body_json(
        json!({"meta": {"query_time": 0.0}, "resources": null, "errors": [{"code": 500, "message": "internal error"}]}),
    );
    collect_during_outage(failure, "Transient").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn falcon_answering_429_longer_than_the_wait_cap_leaves_a_partial_snapshot_with_the_aws_data_intact() {
    let failure = ResponseTemplate::new(429).insert_header("Retry-After", "120").set_body_json(
        json!({"meta": {"query_time": 0.0}, "resources": null, "errors": [{"code": 429, "message": "API rate limit exceeded."}]}),
    );
    collect_during_outage(failure, "Throttled").await;
}
