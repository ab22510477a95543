//! The DynamoDB hot state store against moto_server on loopback: the shared adapter contract,
//! plus what only DynamoDB has (the sparse open-tickets index, TTL attributes, table set-up,
//! items written by someone else).

mod common;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use aws_sdk_dynamodb::types::{AttributeValue, KeyType, TimeToLiveStatus};
use common::state_contract::{check_concurrent_claims, check_state_store};
use secops_aws::testing::MotoServer;
use secops_aws::{load_sdk_config, AwsSettings};
use secops_core::ErrorClass;
use secops_soar::state::dynamodb::{create_tables, DynamoStateStore, OPEN_TICKETS_INDEX};
use secops_soar::state::{Claim, ClaimKey, StateStore, TicketKind, TicketRecord};
use secops_soar::SoarError;
use serde_json::json;
use time::macros::datetime;
use wiremock::matchers::{body_partial_json, header, method};
use wiremock::{Mock, MockServer, ResponseTemplate};

const TICKETS: &str = "secops-tickets";
const STATE: &str = "secops-state";

struct Moto {
    // Kept for its Drop: the server stops with the test.
    _server: MotoServer,
    config: aws_config::SdkConfig,
}

impl Moto {
    async fn with_tables() -> Moto {
        let server = MotoServer::start();
        let config = load_sdk_config(&AwsSettings::for_endpoint(&server.endpoint, "eu-west-1")).await;
        create_tables(&config, TICKETS, STATE).await.unwrap();
        Moto { _server: server, config }
    }

    fn store(&self) -> DynamoStateStore {
        DynamoStateStore::new(&self.config, TICKETS, STATE)
    }

    fn client(&self) -> aws_sdk_dynamodb::Client {
        aws_sdk_dynamodb::Client::new(&self.config)
    }

    async fn raw_item(&self, table: &str, key: &str, value: &str) -> HashMap<String, AttributeValue> {
        let out = self
            .client()
            .get_item()
            .table_name(table)
            .key(key, AttributeValue::S(value.into()))
            .consistent_read(true)
            .send()
            .await
            .unwrap();
        out.item.unwrap_or_else(|| panic!("{table} has no item {key}={value}"))
    }

    async fn put_raw(&self, table: &str, item: &[(&str, AttributeValue)]) {
        let item = item.iter().map(|(k, v)| (k.to_string(), v.clone())).collect();
        self.client().put_item().table_name(table).set_item(Some(item)).send().await.unwrap();
    }
}

fn s(value: &str) -> AttributeValue {
    AttributeValue::S(value.into())
}

fn n(value: i64) -> AttributeValue {
    AttributeValue::N(value.to_string())
}

fn open_ticket(finding_id: &str) -> TicketRecord {
    TicketRecord {
        finding_id: finding_id.into(),
        ticket_id: format!("SEC-{finding_id}"),
        kind: TicketKind::Team,
        account_id: "111122223333".into(),
        control_id: Some("S3.8".into()),
        title: "bucket is public".into(),
        severity: "HIGH".into(),
        environment: None,
        team: None,
        penalty_score: 3.0,
        opened_at: datetime!(2030-01-01 00:00:00 UTC),
        closed_at: None,
        reminders: Vec::new(),
        expires_at: None,
    }
}

/// The permanent store error of a corrupt item; its message.
fn corrupt_message<T: std::fmt::Debug>(result: secops_soar::Result<T>) -> String {
    match result {
        Err(SoarError::Store { class: ErrorClass::Permanent, message }) => message,
        other => panic!("expected a permanent store error, got {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_dynamodb_store_meets_the_state_store_contract_twice_on_one_store() {
    let moto = Moto::with_tables().await;
    let store = moto.store();
    // The second run meets the first run's data: the contract must not depend on an empty store.
    check_state_store(&store).await;
    check_state_store(&store).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn of_twenty_concurrent_claims_exactly_one_wins() {
    let moto = Moto::with_tables().await;
    check_concurrent_claims(Arc::new(moto.store())).await;
}

#[tokio::test]
async fn the_open_tickets_index_is_sparse_closed_tickets_leave_it() {
    let moto = Moto::with_tables().await;
    let store = moto.store();
    for finding in ["stays-open", "gets-closed"] {
        assert!(store.insert_ticket(&open_ticket(finding)).await.unwrap());
    }
    let open = moto.raw_item(TICKETS, "finding_id", "stays-open").await;
    assert_eq!(open.get("open"), Some(&s("open")));
    assert_eq!(open.get("open_since"), Some(&s("2030-01-01T00:00:00.000000000Z")));
    assert_eq!(open.get("expires_at"), None, "an open ticket never expires");

    let closed_at = datetime!(2030-01-02 00:00:00 UTC);
    let expires_at = datetime!(2030-04-01 00:00:00 UTC);
    store.close_ticket("gets-closed", closed_at, expires_at).await.unwrap().expect("open");
    let closed = moto.raw_item(TICKETS, "finding_id", "gets-closed").await;
    assert_eq!(closed.get("open"), None);
    assert_eq!(closed.get("open_since"), None);
    assert_eq!(closed.get("expires_at"), Some(&n(expires_at.unix_timestamp())), "TTL in epoch seconds");

    // The index itself, not just what the adapter makes of it.
    let indexed = moto
        .client()
        .query()
        .table_name(TICKETS)
        .index_name(OPEN_TICKETS_INDEX)
        .key_condition_expression("#open = :open")
        .expression_attribute_names("#open", "open")
        .expression_attribute_values(":open", s("open"))
        .send()
        .await
        .unwrap();
    let indexed: Vec<_> = indexed.items().iter().map(|item| item.get("finding_id").cloned()).collect();
    assert_eq!(indexed, [Some(s("stays-open"))]);
    let listed: Vec<String> = store.open_tickets().await.unwrap().into_iter().map(|t| t.finding_id).collect();
    assert_eq!(listed, ["stays-open"]);
}

#[tokio::test]
async fn claim_items_expire_a_day_after_the_lease_and_done_items_at_keep_until() {
    let moto = Moto::with_tables().await;
    let store = moto.store();
    let key = ClaimKey::new("finding-1", "remediate", "2030-01-01T00:00:00Z");
    let now = datetime!(2030-01-01 00:00:00 UTC);
    assert_eq!(store.claim(&key, "worker-a", now, Duration::from_secs(60)).await.unwrap(), Claim::Acquired);
    let pk = format!("claim#{key}");
    let held = moto.raw_item(STATE, "pk", &pk).await;
    let lease_until = now.unix_timestamp() + 60;
    assert_eq!(held.get("lease_until"), Some(&n(lease_until)));
    assert_eq!(held.get("expires_at"), Some(&n(lease_until + 86_400)));

    let keep_until = datetime!(2030-02-01 00:00:00 UTC);
    store.complete(&key, "worker-a", &json!({"ok": true}), keep_until).await.unwrap();
    let done = moto.raw_item(STATE, "pk", &pk).await;
    assert_eq!(done.get("state"), Some(&s("done")));
    assert_eq!(done.get("expires_at"), Some(&n(keep_until.unix_timestamp())));
    assert_eq!(done.get("lease_until"), None);
}

#[tokio::test]
async fn a_fractional_lease_is_rounded_up_never_shortened() {
    let moto = Moto::with_tables().await;
    let store = moto.store();
    let key = ClaimKey::new("finding-2", "remediate", "2030-01-01T00:00:00Z");
    let t0 = datetime!(2030-01-01 00:00:00 UTC);
    let lease = Duration::from_secs(60);
    assert_eq!(
        store.claim(&key, "worker-a", t0 + time::Duration::milliseconds(500), lease).await.unwrap(),
        Claim::Acquired
    );
    // The lease really ends at 60.5 s; stored as 61 s, it holds through 60.9 s.
    let late = store.claim(&key, "worker-b", t0 + time::Duration::milliseconds(60_900), lease).await.unwrap();
    assert_eq!(late, Claim::InProgress { owner: "worker-a".into(), lease_until: t0 + time::Duration::seconds(61) });
    assert_eq!(store.claim(&key, "worker-b", t0 + time::Duration::seconds(61), lease).await.unwrap(), Claim::Acquired);
}

#[tokio::test]
async fn corrupt_items_are_permanent_store_errors_naming_table_key_and_attribute() {
    let moto = Moto::with_tables().await;
    let store = moto.store();

    // A ticket without a title, open, so the index query meets it too.
    moto.put_raw(
        TICKETS,
        &[
            ("finding_id", s("no-title")),
            ("ticket_id", s("SEC-1")),
            ("kind", s("team")),
            ("account_id", s("111122223333")),
            ("severity", s("HIGH")),
            ("penalty_score", AttributeValue::N("1".into())),
            ("opened_at", s("2030-01-01T00:00:00Z")),
            ("open", s("open")),
            ("open_since", s("2030-01-01T00:00:00Z")),
        ],
    )
    .await;
    let message = corrupt_message(store.ticket("no-title").await);
    for part in [TICKETS, "finding_id=no-title", "attribute title is missing"] {
        assert!(message.contains(part), "{message:?} names {part:?}");
    }
    assert!(corrupt_message(store.open_tickets().await).contains("attribute title"));

    moto.put_raw(
        TICKETS,
        &[
            ("finding_id", s("bad-kind")),
            ("ticket_id", s("SEC-2")),
            ("kind", s("urgent")),
            ("account_id", s("111122223333")),
            ("title", s("t")),
            ("severity", s("HIGH")),
            ("penalty_score", s("high")),
            ("opened_at", s("2030-01-01T00:00:00Z")),
        ],
    )
    .await;
    assert!(corrupt_message(store.ticket("bad-kind").await).contains("attribute kind is an unknown kind \"urgent\""));

    moto.put_raw(
        STATE,
        &[("pk", s("account#123456789012")), ("data", s("{not json")), ("expires_at", n(i64::from(i32::MAX)))],
    )
    .await;
    let message = corrupt_message(store.cached_account("123456789012", datetime!(2030-01-01 00:00:00 UTC)).await);
    assert!(message.contains(STATE) && message.contains("pk=account#123456789012"), "{message}");
    assert!(message.contains("attribute data is not the expected JSON"), "{message}");

    let key = ClaimKey::new("finding-3", "remediate", "2030-01-01T00:00:00Z");
    moto.put_raw(STATE, &[("pk", s(&format!("claim#{key}"))), ("owner", s("worker-a")), ("state", s("paused"))]).await;
    let claimed = store.claim(&key, "worker-b", datetime!(2030-01-01 00:00:00 UTC), Duration::from_secs(60)).await;
    assert!(corrupt_message(claimed).contains("attribute state is \"paused\""));
}

#[tokio::test]
async fn create_tables_is_repeatable_and_refuses_a_table_of_another_design() {
    let moto = Moto::with_tables().await;
    create_tables(&moto.config, TICKETS, STATE).await.unwrap();

    let client = moto.client();
    for table in [TICKETS, STATE] {
        let ttl = client.describe_time_to_live().table_name(table).send().await.unwrap();
        let ttl = ttl.time_to_live_description().expect("a TTL description");
        assert_eq!(ttl.time_to_live_status(), Some(&TimeToLiveStatus::Enabled), "{table}");
        assert_eq!(ttl.attribute_name(), Some("expires_at"), "{table}");
    }
    let tickets = client.describe_table().table_name(TICKETS).send().await.unwrap().table.expect("described");
    let index = tickets.global_secondary_indexes().iter().find(|i| i.index_name() == Some(OPEN_TICKETS_INDEX));
    let keys: Vec<(&str, &KeyType)> =
        index.expect("the index").key_schema().iter().map(|k| (k.attribute_name(), k.key_type())).collect();
    assert_eq!(keys, [("open", &KeyType::Hash), ("open_since", &KeyType::Range)]);

    // The state table's design under the tickets table's name: no index, another key.
    let refused = create_tables(&moto.config, STATE, "secops-other-state").await;
    assert!(corrupt_message(refused).contains("table secops-state exists with partition key pk, expected finding_id"));
}

#[tokio::test]
async fn sdk_errors_keep_the_operation_and_their_class() {
    let moto = Moto::with_tables().await;
    let store = DynamoStateStore::new(&moto.config, "no-such-tickets", "no-such-state");
    match store.ticket("finding-1").await {
        Err(SoarError::Aws { class: ErrorClass::Permanent, message }) => {
            assert!(message.starts_with("dynamodb:GetItem: ResourceNotFoundException"), "{message}");
        }
        other => panic!("expected a permanent AWS error, got {other:?}"),
    }

    // Nothing listens on a port that was just released: a transient failure.
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let nowhere = load_sdk_config(&AwsSettings::for_endpoint(format!("http://127.0.0.1:{port}"), "eu-west-1")).await;
    let store = DynamoStateStore::new(&nowhere, TICKETS, STATE);
    match store.open_tickets().await {
        Err(SoarError::Aws { class: ErrorClass::Transient, message }) => assert!(message.starts_with("dynamodb:Query")),
        other => panic!("expected a transient AWS error, got {other:?}"),
    }
}

/// A stand-in DynamoDB (wiremock) for what moto never does: a failed claim condition that comes
/// back without the conflicting item. The store then reads the item consistently.
struct FakeDynamo {
    server: MockServer,
}

impl FakeDynamo {
    async fn start() -> FakeDynamo {
        FakeDynamo { server: MockServer::start().await }
    }

    fn json(body: serde_json::Value) -> ResponseTemplate {
        ResponseTemplate::new(200).set_body_raw(body.to_string(), "application/x-amz-json-1.0")
    }

    fn condition_failed_without_item() -> ResponseTemplate {
        let body = json!({
            "__type": "com.amazonaws.dynamodb.v20120810#ConditionalCheckFailedException",
            "message": "The conditional request failed"
        });
        ResponseTemplate::new(400).set_body_raw(body.to_string(), "application/x-amz-json-1.0")
    }

    /// `PutItem` answers `first` `times` times, then succeeds; every call is expected.
    async fn put_item(&self, first: ResponseTemplate, times: u64, then_succeeds: u64) {
        Mock::given(method("POST"))
            .and(header("x-amz-target", "DynamoDB_20120810.PutItem"))
            .respond_with(first)
            .up_to_n_times(times)
            .with_priority(1)
            .expect(times)
            .mount(&self.server)
            .await;
        Mock::given(method("POST"))
            .and(header("x-amz-target", "DynamoDB_20120810.PutItem"))
            .respond_with(Self::json(json!({})))
            .with_priority(2)
            .expect(then_succeeds)
            .mount(&self.server)
            .await;
    }

    /// Consistent `GetItem` calls, each answered with `item` (None: no such item).
    async fn get_item(&self, item: Option<serde_json::Value>, times: u64) {
        let body = match item {
            Some(item) => json!({"Item": item}),
            None => json!({}),
        };
        Mock::given(method("POST"))
            .and(header("x-amz-target", "DynamoDB_20120810.GetItem"))
            .and(body_partial_json(json!({"ConsistentRead": true})))
            .respond_with(Self::json(body))
            .expect(times)
            .mount(&self.server)
            .await;
    }

    async fn store(&self) -> DynamoStateStore {
        let config = load_sdk_config(&AwsSettings::for_endpoint(self.server.uri(), "eu-west-1")).await;
        DynamoStateStore::new(&config, TICKETS, STATE)
    }
}

const FAKE_NOW: time::OffsetDateTime = datetime!(2030-01-01 00:00:00 UTC);

fn fake_key() -> ClaimKey {
    ClaimKey::new("finding-9", "remediate", "2030-01-01T00:00:00Z")
}

#[tokio::test]
async fn without_the_old_item_a_failed_claim_reads_it_and_reports_what_it_found() {
    let fake = FakeDynamo::start().await;
    fake.put_item(FakeDynamo::condition_failed_without_item(), 1, 0).await;
    let done = json!({"pk": {"S": "claim#x"}, "state": {"S": "done"}, "result": {"S": "{\"ticket_id\":\"SEC-9\"}"}});
    fake.get_item(Some(done), 1).await;
    let claim = fake.store().await.claim(&fake_key(), "worker-a", FAKE_NOW, Duration::from_secs(60)).await.unwrap();
    assert_eq!(claim, Claim::Done { result: json!({"ticket_id": "SEC-9"}) });
}

#[tokio::test]
async fn a_claim_that_vanished_between_the_failed_write_and_the_read_is_tried_again() {
    let fake = FakeDynamo::start().await;
    fake.put_item(FakeDynamo::condition_failed_without_item(), 1, 1).await;
    fake.get_item(None, 1).await;
    let claim = fake.store().await.claim(&fake_key(), "worker-a", FAKE_NOW, Duration::from_secs(60)).await.unwrap();
    assert_eq!(claim, Claim::Acquired);
}

#[tokio::test]
async fn a_claim_that_keeps_changing_under_the_store_is_a_conflict_after_three_attempts() {
    let fake = FakeDynamo::start().await;
    fake.put_item(FakeDynamo::condition_failed_without_item(), 3, 0).await;
    // Each read finds a lease that already ended, so each attempt starts over.
    let expired = json!({
        "pk": {"S": "claim#x"}, "state": {"S": "in_progress"}, "owner": {"S": "worker-b"},
        "lease_until": {"N": FAKE_NOW.unix_timestamp().to_string()}
    });
    fake.get_item(Some(expired), 3).await;
    let claim = fake.store().await.claim(&fake_key(), "worker-a", FAKE_NOW, Duration::from_secs(60)).await;
    assert!(matches!(claim, Err(SoarError::Conflict(ref m)) if m.contains("3 attempts")), "{claim:?}");
}

fn ticket_json(finding_id: &str, opened_at: &str) -> serde_json::Value {
    json!({
        "finding_id": {"S": finding_id}, "ticket_id": {"S": "SEC-1"}, "kind": {"S": "team"},
        "account_id": {"S": "111122223333"}, "title": {"S": "t"}, "severity": {"S": "LOW"},
        "penalty_score": {"N": "1.5"}, "opened_at": {"S": opened_at}, "reminders": {"L": []},
        "open": {"S": "open"}, "open_since": {"S": opened_at}
    })
}

#[tokio::test]
async fn open_tickets_follow_the_last_evaluated_key_across_pages() {
    let fake = FakeDynamo::start().await;
    let page_two_key =
        json!({"finding_id": {"S": "b"}, "open": {"S": "open"}, "open_since": {"S": "2030-01-01T00:00:02Z"}});
    Mock::given(method("POST"))
        .and(header("x-amz-target", "DynamoDB_20120810.Query"))
        .and(body_partial_json(json!({"IndexName": OPEN_TICKETS_INDEX, "ExclusiveStartKey": page_two_key})))
        .respond_with(FakeDynamo::json(json!({"Items": [ticket_json("c", "2030-01-01T00:00:03Z")]})))
        .with_priority(1)
        .expect(1)
        .mount(&fake.server)
        .await;
    Mock::given(method("POST"))
        .and(header("x-amz-target", "DynamoDB_20120810.Query"))
        .respond_with(FakeDynamo::json(json!({
            "Items": [ticket_json("a", "2030-01-01T00:00:01Z"), ticket_json("b", "2030-01-01T00:00:02Z")],
            "LastEvaluatedKey": page_two_key
        })))
        .with_priority(2)
        .expect(1)
        .mount(&fake.server)
        .await;
    let open = fake.store().await.open_tickets().await.unwrap();
    let ids: Vec<&str> = open.iter().map(|t| t.finding_id.as_str()).collect();
    assert_eq!(ids, ["a", "b", "c"]);
}

#[tokio::test]
async fn a_scan_that_never_ends_stops_at_the_page_cap() {
    let fake = FakeDynamo::start().await;
    Mock::given(method("POST"))
        .and(header("x-amz-target", "DynamoDB_20120810.Scan"))
        .respond_with(FakeDynamo::json(json!({"Items": [], "LastEvaluatedKey": {"pk": {"S": "dead#x"}}})))
        .expect(1000)
        .mount(&fake.server)
        .await;
    let message = corrupt_message(fake.store().await.dead_letters(10).await);
    assert!(message.contains("more than 1000 scan pages"), "{message}");
}
