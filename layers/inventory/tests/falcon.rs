//! The CrowdStrike Falcon collector against a wiremock Falcon API on loopback, through the real
//! loader into PostgreSQL: OAuth2 tokens (reuse, refresh after a 401), scroll and after-token
//! paging with entity batches, rate limits, retries, and how each failure is recorded.

mod vendor_support;

use secops_inventory::{CloudflareCollector, CloudflareConfig, FalconCollector, FalconConfig};
use secops_store::testing::TestDb;
use serde_json::{json, Value};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use vendor_support::*;
use wiremock::matchers::{header, method, path, query_param, query_param_is_missing};
use wiremock::{Mock, MockServer, Request, ResponseTemplate};

const CLIENT_ID: &str = "3b1f5e0c9a7d4e2f8c6b1a0d9e8f7c6b";
/// With `/` and `+`, which the token form must percent-encode.
const CLIENT_SECRET: &str = "Zq8x/V2mN+5pR7tY1uI3oP6aS9dF4gH0jKlW";
const MEMBER_CID: &str = "8a1c2d3e4f5061728394a5b6c7d8e9f0";
const CID: &str = "f0e9d8c7b6a594837261504f3e2d1c0b";
const TOKEN_A: &str = "eyJhbGciOiJSUzI1NiIsImtpZCI6InB1YmxpYzo4In0.falcon-token-a.c2lnbmF0dXJl";
const TOKEN_B: &str = "eyJhbGciOiJSUzI1NiIsImtpZCI6InB1YmxpYzo4In0.falcon-token-b.c2lnbmF0dXJl";
const ACCOUNT: &str = "111122223333";

const HOSTS_QUERY: &str = "/devices/queries/devices-scroll/v1";
const HOSTS_ENTITIES: &str = "/devices/entities/devices/v2";
const ALERTS_QUERY: &str = "/alerts/queries/alerts/v2";
const ALERTS_ENTITIES: &str = "/alerts/entities/alerts/v2";
const TOKEN_PATH: &str = "/oauth2/token";

fn config(server: &MockServer) -> FalconConfig {
    FalconConfig {
        base_url: server.uri(),
        client_id: CLIENT_ID.into(),
        client_secret: CLIENT_SECRET.into(),
        member_cid: Some(MEMBER_CID.into()),
    }
}

fn collector(server: &MockServer, max_wait: Duration) -> FalconCollector {
    FalconCollector::new(config(server)).expect("valid configuration").with_http_policy(quick_policy(max_wait))
}

fn device_id(n: usize) -> String {
    format!("5a{n:030x}")
}

fn host_number(device_id: &str) -> usize {
    usize::from_str_radix(&device_id[2..], 16).expect("a test device id")
}

/// A host record as `/devices/entities/devices/v2` returns it (an EC2 instance in eu-west-1).
fn host(n: usize) -> Value {
    json!({
        "device_id": device_id(n),
        "cid": CID,
        "agent_load_flags": "1",
        "agent_local_time": "2026-01-05T10:00:00.123Z",
        "agent_version": if n.is_multiple_of(3) { "7.18.17106.0" } else { "7.20.17308.0" },
        "bios_manufacturer": "Amazon EC2",
        "bios_version": "1.0",
        "config_id_base": "65994763",
        "config_id_build": "17308",
        "config_id_platform": "8",
        "external_ip": format!("34.240.{}.{}", n / 250 % 250, n % 250),
        "mac_address": format!("0a-1b-2c-{:02x}-{:02x}-{:02x}", n >> 16 & 0xff, n >> 8 & 0xff, n & 0xff),
        "hostname": format!("ip-10-0-{}-{}.eu-west-1.compute.internal", n / 250 % 250, n % 250),
        "first_seen": "2025-11-02T09:14:03Z",
        "last_seen": "2026-01-05T10:00:05Z",
        "local_ip": format!("10.0.{}.{}", n / 250 % 250, n % 250),
        "machine_domain": "",
        "major_version": "6",
        "minor_version": "1",
        "os_version": "Amazon Linux 2023",
        "platform_id": "3",
        "platform_name": "Linux",
        "product_type_desc": "Server",
        "provision_status": "Provisioned",
        "serial_number": format!("ec2{n:013x}"),
        "status": "normal",
        "system_manufacturer": "Amazon EC2",
        "system_product_name": "m6i.large",
        "tags": ["SensorGroupingTags/prod", format!("SensorGroupingTags/shard-{}", n % 4)],
        "modified_timestamp": "2026-01-05T10:00:06Z",
        "instance_id": format!("i-0{n:016x}"),
        "service_provider": "AWS_EC2_V2",
        "service_provider_account_id": ACCOUNT,
        "zone_group": if n.is_multiple_of(2) { "eu-west-1a" } else { "eu-west-1b" },
        "kernel_version": "6.1.115-126.197.amzn2023.x86_64",
        "chassis_type": "1",
        "chassis_type_desc": "Other"
    })
}

fn composite_id(n: usize) -> String {
    format!("{CID}:ind:{}:{n:011}-10356-{}", device_id(n), 40_000 + n)
}

fn alert_number(composite_id: &str) -> usize {
    composite_id
        .split(':')
        .nth(3)
        .and_then(|rest| rest.split('-').next())
        .and_then(|n| n.parse().ok())
        .expect("a test id")
}

/// An alert as `/alerts/entities/alerts/v2` returns it.
fn alert(n: usize) -> Value {
    json!({
        "composite_id": composite_id(n),
        "aggregate_id": format!("aggind:{}:{n}", device_id(n)),
        "cid": CID,
        "agent_id": device_id(n),
        "type": "ldt",
        "product": "epp",
        "scenario": "suspicious_activity",
        "severity": if n.is_multiple_of(2) { 70 } else { 50 },
        "severity_name": if n.is_multiple_of(2) { "High" } else { "Medium" },
        "status": "new",
        "display_name": "CredentialDumpingViaLsass",
        "description": "A process accessed LSASS memory.",
        "tactic": "Credential Access",
        "tactic_id": "TA0006",
        "technique": "OS Credential Dumping",
        "technique_id": "T1003",
        "created_timestamp": "2026-01-05T10:12:13.123456789Z",
        "updated_timestamp": "2026-01-05T11:00:00.000000001Z",
        "timestamp": "2026-01-05T10:12:12.001Z",
        "falcon_host_link": format!("https://falcon.eu-1.crowdstrike.com/activity-v2/detections/{n}"),
        "device": {
            "device_id": device_id(n),
            "hostname": format!("ip-10-0-{}-{}.eu-west-1.compute.internal", n / 250 % 250, n % 250),
            "instance_id": format!("i-0{n:016x}"),
            "service_provider": "AWS_EC2_V2",
            "service_provider_account_id": ACCOUNT,
            "zone_group": "eu-west-1a",
            "platform_name": "Linux",
            "local_ip": format!("10.0.{}.{}", n / 250 % 250, n % 250)
        }
    })
}

fn meta(pagination: Value) -> Value {
    json!({"query_time": 0.012345, "pagination": pagination, "powered_by": "device-api", "trace_id": "9f2b3c4d-1e2f-4a5b-8c7d-0e1f2a3b4c5d"})
}

/// The scroll token Falcon hands out after `page` (1-based) of the hosts query.
fn scroll_token(page: usize) -> String {
    format!("FQluY2x1ZGVfY29udGV4dF91dWlkDnF1ZXJ5VGhlbkZldGNoBRRuNWY{page}")
}

fn token_answer(token: &str) -> ResponseTemplate {
    ResponseTemplate::new(201).set_body_json(json!({"access_token": token, "token_type": "bearer", "expires_in": 1799}))
}

/// The token endpoint: hands out `tokens` in order, the last one from then on.
async fn mount_tokens(server: &MockServer, tokens: &[&'static str]) {
    let (last, script) = tokens.split_last().expect("at least one token");
    let last = *last;
    let (responder, _) = Scripted::new(script.iter().map(|t| token_answer(t)).collect(), move |_| token_answer(last));
    Mock::given(method("POST")).and(path(TOKEN_PATH)).respond_with(responder).mount(server).await;
}

/// The hosts scroll query: page `i` (1-based) holds `sizes[i-1]` ids and points at page `i+1`.
async fn mount_host_pages(server: &MockServer, sizes: &[usize]) {
    let total: usize = sizes.iter().sum();
    let mut first = 0;
    for (i, size) in sizes.iter().enumerate() {
        let ids: Vec<String> = (first..first + size).map(device_id).collect();
        first += size;
        let body = json!({
            "meta": meta(json!({"offset": scroll_token(i + 2), "expires_at": 1_767_607_200_000_000_000_u64, "total": total})),
            "resources": ids,
            "errors": []
        });
        let mock = Mock::given(method("GET")).and(path(HOSTS_QUERY)).and(query_param("limit", "5000"));
        let mock = if i == 0 {
            mock.and(query_param_is_missing("offset"))
        } else {
            mock.and(query_param("offset", scroll_token(i + 1)))
        };
        mock.respond_with(ResponseTemplate::new(200).set_body_json(body)).mount(server).await;
    }
}

fn entities_answer(resources: Vec<Value>) -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_json(json!({"meta": meta(Value::Null), "resources": resources, "errors": []}))
}

fn host_entities(request: &Request) -> ResponseTemplate {
    let body: Value = request.body_json().expect("a JSON body");
    let ids = body["ids"].as_array().expect("ids");
    entities_answer(ids.iter().map(|id| host(host_number(id.as_str().expect("id")))).collect())
}

fn alert_entities(request: &Request) -> ResponseTemplate {
    let body: Value = request.body_json().expect("a JSON body");
    let ids = body["composite_ids"].as_array().expect("composite_ids");
    entities_answer(ids.iter().map(|id| alert(alert_number(id.as_str().expect("id")))).collect())
}

async fn mount_host_entities(server: &MockServer) {
    Mock::given(method("POST")).and(path(HOSTS_ENTITIES)).respond_with(host_entities).mount(server).await;
}

/// The alerts query: page `i` (1-based) holds `sizes[i-1]` ids and an `after` token to the next.
async fn mount_alert_pages(server: &MockServer, sizes: &[usize]) {
    let total: usize = sizes.iter().sum();
    let mut first = 0;
    for (i, size) in sizes.iter().enumerate() {
        let ids: Vec<String> = (first..first + size).map(composite_id).collect();
        first += size;
        let mut pagination = json!({"offset": 0, "limit": 10000, "total": total});
        if i + 1 < sizes.len() {
            pagination["after"] = json!(format!("eyJ2ZXJzaW9uIjoidjEiLCJ0cyI6{}", i + 2));
        }
        let body = json!({"meta": meta(pagination), "resources": ids, "errors": []});
        let mock = Mock::given(method("GET")).and(path(ALERTS_QUERY)).and(query_param("limit", "10000"));
        let mock = if i == 0 {
            mock.and(query_param_is_missing("after"))
        } else {
            mock.and(query_param("after", format!("eyJ2ZXJzaW9uIjoidjEiLCJ0cyI6{}", i + 1)))
        };
        mock.respond_with(ResponseTemplate::new(200).set_body_json(body)).mount(server).await;
    }
    Mock::given(method("POST")).and(path(ALERTS_ENTITIES)).respond_with(alert_entities).mount(server).await;
}

/// A tenant with `hosts` hosts (one query page) and no alerts.
async fn mount_small_tenant(server: &MockServer, hosts: usize) {
    mount_tokens(server, &[TOKEN_A]).await;
    mount_host_pages(server, &[hosts]).await;
    mount_host_entities(server).await;
    mount_alert_pages(server, &[0]).await;
}

fn ids_in(request: &Request, member: &str) -> usize {
    let body: Value = request.body_json().expect("a JSON body");
    body[member].as_array().expect("an id list").len()
}

fn assert_clean(text: &str) {
    assert_no_secrets(text, &[CLIENT_SECRET, TOKEN_A, TOKEN_B, "Zq8x%2FV2mN"]);
}

#[tokio::test]
async fn hosts_and_alerts_are_paged_and_fetched_in_batches_with_one_token() {
    let server = MockServer::start().await;
    mount_tokens(&server, &[TOKEN_A]).await;
    mount_host_pages(&server, &[5000, 5000, 2000]).await;
    mount_host_entities(&server).await;
    mount_alert_pages(&server, &[1500, 1500]).await;
    let db = TestDb::new().await;

    let summary = collect_vendors(&db, vec![Arc::new(collector(&server, Duration::from_secs(2)))]).await;

    assert_eq!(summary.status, "complete", "{summary:?}");
    let run = run_of(&db, summary.snapshot_id, "falcon").await;
    assert_eq!((run.status.as_str(), run.record_count), ("complete", 15_000), "{run:?}");

    let token_requests = requests_to(&server, TOKEN_PATH).await;
    assert_eq!(token_requests.len(), 1, "one token serves every request");
    let form = String::from_utf8(token_requests[0].body.clone()).expect("a text form");
    let fields: Vec<&str> = form.split('&').collect();
    assert_eq!(
        fields,
        [
            format!("client_id={CLIENT_ID}"),
            "client_secret=Zq8x%2FV2mN%2B5pR7tY1uI3oP6aS9dF4gH0jKlW".to_owned(),
            format!("member_cid={MEMBER_CID}")
        ]
    );
    let api_requests: Vec<Request> = server
        .received_requests()
        .await
        .expect("recorded")
        .into_iter()
        .filter(|r| r.url.path() != TOKEN_PATH)
        .collect();
    assert!(api_requests
        .iter()
        .all(|r| r.headers.get("authorization").is_some_and(|v| v == &format!("Bearer {TOKEN_A}"))));

    let host_queries = requests_to(&server, HOSTS_QUERY).await;
    let offsets: Vec<Option<String>> = host_queries.iter().map(|r| query_of(r, "offset")).collect();
    assert_eq!(offsets, [None, Some(scroll_token(2)), Some(scroll_token(3))]);
    let host_batches: Vec<usize> =
        requests_to(&server, HOSTS_ENTITIES).await.iter().map(|r| ids_in(r, "ids")).collect();
    assert_eq!(host_batches, [5000, 5000, 2000]);
    assert_eq!(requests_to(&server, ALERTS_QUERY).await.len(), 2);
    let alert_batches: Vec<usize> =
        requests_to(&server, ALERTS_ENTITIES).await.iter().map(|r| ids_in(r, "composite_ids")).collect();
    assert_eq!(alert_batches, [1000, 500, 1000, 500]);

    assert_eq!(rows(&db, "falcon_hosts", summary.snapshot_id).await, 12_000);
    assert_eq!(rows(&db, "falcon_alerts", summary.snapshot_id).await, 3_000);
    let client = db.pool.get().await.expect("connection");
    let host_row = client
        .query_one(
            "SELECT account_id, region, hostname, host(local_ip), host(external_ip), instance_id, service_provider, \
                    agent_version, platform, status, first_seen = '2025-11-02T09:14:03Z'::timestamptz, \
                    last_seen = '2026-01-05T10:00:05Z'::timestamptz, falcon_tags, raw->>'cid', raw->>'system_product_name' \
             FROM falcon_hosts WHERE snapshot_id = $1 AND device_id = $2",
            &[&summary.snapshot_id, &device_id(7001)],
        )
        .await
        .expect("host 7001");
    assert_eq!(host_row.get::<_, Option<String>>(0).as_deref(), Some(ACCOUNT));
    assert_eq!(host_row.get::<_, Option<String>>(1).as_deref(), Some("eu-west-1"));
    assert_eq!(host_row.get::<_, String>(2), "ip-10-0-28-1.eu-west-1.compute.internal");
    assert_eq!(host_row.get::<_, String>(3), "10.0.28.1");
    assert_eq!(host_row.get::<_, String>(4), "34.240.28.1");
    assert_eq!(host_row.get::<_, String>(5), format!("i-0{:016x}", 7001));
    assert_eq!(host_row.get::<_, String>(6), "AWS_EC2_V2");
    assert_eq!(host_row.get::<_, String>(7), "7.20.17308.0");
    assert_eq!(host_row.get::<_, String>(8), "Linux");
    assert_eq!(host_row.get::<_, String>(9), "normal");
    assert!(host_row.get::<_, bool>(10) && host_row.get::<_, bool>(11), "first_seen and last_seen");
    assert_eq!(host_row.get::<_, Vec<String>>(12), ["SensorGroupingTags/prod", "SensorGroupingTags/shard-1"]);
    assert_eq!(host_row.get::<_, String>(13), CID);
    assert_eq!(host_row.get::<_, String>(14), "m6i.large");

    let alert_row = client
        .query_one(
            "SELECT account_id, device_id, hostname, instance_id, severity, severity_name, status, name, tactic, technique, \
                    created_at = '2026-01-05T10:12:13.123457Z'::timestamptz, raw->>'technique_id' \
             FROM falcon_alerts WHERE snapshot_id = $1 AND composite_id = $2",
            &[&summary.snapshot_id, &composite_id(2999)],
        )
        .await
        .expect("alert 2999");
    assert_eq!(alert_row.get::<_, Option<String>>(0).as_deref(), Some(ACCOUNT));
    assert_eq!(alert_row.get::<_, String>(1), device_id(2999));
    assert_eq!(alert_row.get::<_, String>(2), "ip-10-0-11-249.eu-west-1.compute.internal");
    assert_eq!(alert_row.get::<_, String>(3), format!("i-0{:016x}", 2999));
    assert_eq!(alert_row.get::<_, i64>(4), 50);
    assert_eq!(alert_row.get::<_, String>(5), "Medium");
    assert_eq!(alert_row.get::<_, String>(6), "new");
    assert_eq!(alert_row.get::<_, String>(7), "CredentialDumpingViaLsass");
    assert_eq!(alert_row.get::<_, String>(8), "Credential Access");
    assert_eq!(alert_row.get::<_, String>(9), "OS Credential Dumping");
    assert!(alert_row.get::<_, bool>(10), "created_at, to the microsecond");
    assert_eq!(alert_row.get::<_, String>(11), "T1003");
}

#[tokio::test]
async fn a_refused_token_is_replaced_once_and_the_request_sent_again() {
    let server = MockServer::start().await;
    mount_tokens(&server, &[TOKEN_A, TOKEN_B]).await;
    let revoked = json!({"meta": meta(Value::Null), "resources": [], "errors": [{"code": 401, "message": "access denied, invalid bearer token"}]});
    Mock::given(header("authorization", format!("Bearer {TOKEN_A}").as_str()))
        .respond_with(ResponseTemplate::new(401).set_body_json(revoked))
        .with_priority(1)
        .mount(&server)
        .await;
    mount_host_pages(&server, &[3]).await;
    mount_host_entities(&server).await;
    mount_alert_pages(&server, &[2]).await;
    let db = TestDb::new().await;

    let summary = collect_vendors(&db, vec![Arc::new(collector(&server, Duration::from_secs(2)))]).await;

    assert_eq!(summary.status, "complete", "{summary:?}");
    assert_eq!(requests_to(&server, TOKEN_PATH).await.len(), 2, "one token, then one replacement after the 401");
    let api_requests: Vec<Request> = server
        .received_requests()
        .await
        .expect("recorded")
        .into_iter()
        .filter(|r| r.url.path() != TOKEN_PATH)
        .collect();
    let bearers: Vec<String> = api_requests
        .iter()
        .map(|r| r.headers.get("authorization").and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned())
        .collect();
    assert_eq!(bearers[0], format!("Bearer {TOKEN_A}"));
    assert!(bearers[1..].iter().all(|b| b == &format!("Bearer {TOKEN_B}")), "{bearers:?}");
    assert_eq!(api_requests.len(), 1 + 4, "the refused query once more, then entities, alerts query and entities");
    assert_eq!(rows(&db, "falcon_hosts", summary.snapshot_id).await, 3);
    assert_eq!(rows(&db, "falcon_alerts", summary.snapshot_id).await, 2);
}

#[tokio::test]
async fn a_spent_rate_limit_pauses_the_next_request_until_its_reset() {
    let server = MockServer::start().await;
    mount_tokens(&server, &[TOKEN_A]).await;
    let now = SystemTime::now().duration_since(UNIX_EPOCH).expect("after 1970").as_secs();
    // Between one and two seconds away: a request sent without pausing would arrive before it.
    let reset = now + 2;
    let body = json!({
        "meta": meta(json!({"offset": scroll_token(2), "expires_at": 1_767_607_200_000_000_000_u64, "total": 2})),
        "resources": [device_id(0), device_id(1)],
        "errors": []
    });
    Mock::given(method("GET"))
        .and(path(HOSTS_QUERY))
        .respond_with(
            ResponseTemplate::new(200)
                .insert_header("X-RateLimit-Limit", "6000")
                .insert_header("X-RateLimit-Remaining", "0")
                .insert_header("X-RateLimit-RetryAfter", reset.to_string().as_str())
                .set_body_json(body),
        )
        .mount(&server)
        .await;
    let (entities, arrivals) = Scripted::new(vec![], host_entities);
    Mock::given(method("POST")).and(path(HOSTS_ENTITIES)).respond_with(entities).mount(&server).await;
    mount_alert_pages(&server, &[0]).await;
    let db = TestDb::new().await;

    let summary = collect_vendors(&db, vec![Arc::new(collector(&server, Duration::from_secs(3)))]).await;

    assert_eq!(summary.status, "complete", "{summary:?}");
    let arrived = arrivals.lock().expect("arrivals")[0];
    assert!(
        arrived >= UNIX_EPOCH + Duration::from_secs(reset),
        "the entities request left before X-RateLimit-RetryAfter: {arrived:?} < {reset}"
    );
    assert_eq!(rows(&db, "falcon_hosts", summary.snapshot_id).await, 2);
}

#[tokio::test]
async fn a_429_is_waited_out_and_the_request_then_succeeds() {
    let server = MockServer::start().await;
    mount_tokens(&server, &[TOKEN_A]).await;
    let throttled = ResponseTemplate::new(429)
        .insert_header("Retry-After", "1")
        .insert_header("X-RateLimit-Remaining", "0")
        .set_body_json(json!({"meta": meta(Value::Null), "resources": [], "errors": [{"code": 429, "message": "API rate limit exceeded."}]}));
    let page = json!({"meta": meta(json!({"offset": 0, "limit": 10000, "total": 1})), "resources": [composite_id(9)], "errors": []});
    let (alerts_query, arrivals) =
        Scripted::new(vec![throttled], move |_| ResponseTemplate::new(200).set_body_json(page.clone()));
    Mock::given(method("GET")).and(path(ALERTS_QUERY)).respond_with(alerts_query).mount(&server).await;
    Mock::given(method("POST")).and(path(ALERTS_ENTITIES)).respond_with(alert_entities).mount(&server).await;
    mount_host_pages(&server, &[1]).await;
    mount_host_entities(&server).await;
    let db = TestDb::new().await;

    let summary = collect_vendors(&db, vec![Arc::new(collector(&server, Duration::from_secs(2)))]).await;

    assert_eq!(summary.status, "complete", "{summary:?}");
    let arrivals = arrivals.lock().expect("arrivals").clone();
    assert_eq!(arrivals.len(), 2);
    let waited = arrivals[1].duration_since(arrivals[0]).expect("in order");
    assert!(waited >= Duration::from_secs(1), "Retry-After: 1 was not honoured: {waited:?}");
    assert_eq!(rows(&db, "falcon_alerts", summary.snapshot_id).await, 1);
}

#[tokio::test]
async fn a_500_is_retried_and_the_request_then_succeeds() {
    let server = MockServer::start().await;
    mount_tokens(&server, &[TOKEN_A]).await;
    mount_host_pages(&server, &[4]).await;
    let failing = ResponseTemplate::new(500).set_body_json(
        json!({"meta": meta(Value::Null), "resources": [], "errors": [{"code": 500, "message": "internal error"}]}),
    );
    let (entities, arrivals) = Scripted::new(vec![failing], host_entities);
    Mock::given(method("POST")).and(path(HOSTS_ENTITIES)).respond_with(entities).mount(&server).await;
    mount_alert_pages(&server, &[0]).await;
    let db = TestDb::new().await;

    let summary = collect_vendors(&db, vec![Arc::new(collector(&server, Duration::from_secs(2)))]).await;

    assert_eq!(summary.status, "complete", "{summary:?}");
    assert_eq!(arrivals.lock().expect("arrivals").len(), 2, "one failure, one retry");
    assert_eq!(rows(&db, "falcon_hosts", summary.snapshot_id).await, 4);
}

fn falcon_down() -> ResponseTemplate {
    ResponseTemplate::new(503)
        .set_body_json(json!({"meta": meta(Value::Null), "resources": null, "errors": [{"code": 503, "message": "service unavailable"}]}))
}

#[tokio::test]
async fn a_falcon_outage_fails_its_run_and_leaves_the_snapshot_partial_when_cloudflare_landed() {
    let falcon = MockServer::start().await;
    mount_tokens(&falcon, &[TOKEN_A]).await;
    Mock::given(method("GET")).and(path(HOSTS_QUERY)).respond_with(falcon_down()).mount(&falcon).await;
    let cloudflare_server = MockServer::start().await;
    mount_small_cloudflare(&cloudflare_server).await;
    let cloudflare = CloudflareCollector::new(CloudflareConfig {
        api_url: format!("{}/client/v4", cloudflare_server.uri()),
        api_token: CLOUDFLARE_TOKEN.into(),
        account_id: None,
    })
    .expect("valid configuration");
    let db = TestDb::new().await;

    let summary =
        collect_vendors(&db, vec![Arc::new(collector(&falcon, Duration::from_secs(2))), Arc::new(cloudflare)]).await;

    assert_eq!(summary.status, "partial", "{summary:?}");
    let falcon_run = run_of(&db, summary.snapshot_id, "falcon").await;
    assert_eq!((falcon_run.status.as_str(), falcon_run.error_class.as_deref()), ("failed", Some("Transient")));
    let error = falcon_run.error.expect("an error");
    assert!(error.contains("GET /devices/queries/devices-scroll/v1"), "{error}");
    assert!(error.contains("503 Service Unavailable") && error.contains("service unavailable"), "{error}");
    assert!(error.contains("after 4 attempts"), "{error}");
    assert_clean(&error);
    assert_eq!(requests_to(&falcon, HOSTS_QUERY).await.len(), 4, "bounded attempts");
    let cloudflare_run = run_of(&db, summary.snapshot_id, "cloudflare").await;
    assert_eq!((cloudflare_run.status.as_str(), cloudflare_run.record_count), ("complete", 3));
    assert_eq!(rows(&db, "cloudflare_dns_records", summary.snapshot_id).await, 2);
    assert_eq!(rows(&db, "falcon_hosts", summary.snapshot_id).await, 0);
}

#[tokio::test]
async fn a_falcon_outage_fails_the_snapshot_when_falcon_is_the_only_run() {
    let server = MockServer::start().await;
    mount_tokens(&server, &[TOKEN_A]).await;
    Mock::given(method("GET")).and(path(HOSTS_QUERY)).respond_with(ResponseTemplate::new(500)).mount(&server).await;
    let db = TestDb::new().await;

    let summary = collect_vendors(&db, vec![Arc::new(collector(&server, Duration::from_secs(2)))]).await;

    assert_eq!(summary.status, "failed", "{summary:?}");
    assert_eq!(summary.failed_runs.len(), 1);
    assert_eq!(summary.failed_runs[0].class, "Transient");
    assert!(summary.failed_runs[0].error.contains("500 Internal Server Error"), "{:?}", summary.failed_runs[0]);
}

#[tokio::test]
async fn a_429_asking_for_longer_than_the_cap_ends_the_run_as_throttled() {
    let server = MockServer::start().await;
    mount_tokens(&server, &[TOKEN_A]).await;
    Mock::given(method("GET"))
        .and(path(HOSTS_QUERY))
        .respond_with(ResponseTemplate::new(429).insert_header("Retry-After", "30").set_body_json(
            json!({"meta": meta(Value::Null), "resources": [], "errors": [{"code": 429, "message": "API rate limit exceeded."}]}),
        ))
        .mount(&server)
        .await;
    let db = TestDb::new().await;

    let summary = collect_vendors(&db, vec![Arc::new(collector(&server, Duration::from_secs(2)))]).await;

    let run = run_of(&db, summary.snapshot_id, "falcon").await;
    assert_eq!((run.status.as_str(), run.error_class.as_deref()), ("failed", Some("Throttled")));
    let error = run.error.expect("an error");
    assert!(error.contains("wait 30s") && error.contains("API rate limit exceeded."), "{error}");
    assert_eq!(requests_to(&server, HOSTS_QUERY).await.len(), 1, "no waiting beyond the cap, no retry");
}

#[tokio::test]
async fn a_403_is_permanent_names_the_missing_scope_and_discards_the_whole_run() {
    let server = MockServer::start().await;
    mount_tokens(&server, &[TOKEN_A]).await;
    mount_host_pages(&server, &[5]).await;
    mount_host_entities(&server).await;
    Mock::given(method("GET"))
        .and(path(ALERTS_QUERY))
        .respond_with(ResponseTemplate::new(403).set_body_json(
            json!({"meta": meta(Value::Null), "resources": [], "errors": [{"code": 403, "message": "access denied, authorization failed"}]}),
        ))
        .mount(&server)
        .await;
    let db = TestDb::new().await;

    let summary = collect_vendors(&db, vec![Arc::new(collector(&server, Duration::from_secs(2)))]).await;

    let run = run_of(&db, summary.snapshot_id, "falcon").await;
    assert_eq!((run.status.as_str(), run.error_class.as_deref()), ("failed", Some("Permanent")));
    let error = run.error.expect("an error");
    assert!(error.contains("code 403: access denied, authorization failed"), "{error}");
    assert!(error.contains("`Alerts: Read` scope"), "{error}");
    assert_clean(&error);
    assert_eq!(requests_to(&server, ALERTS_QUERY).await.len(), 1, "a 403 is not retried");
    assert_eq!(rows(&db, "falcon_hosts", summary.snapshot_id).await, 0, "the hosts of a failed run are discarded");
}

#[tokio::test]
async fn an_error_listed_in_a_200_answer_fails_the_run() {
    let server = MockServer::start().await;
    mount_tokens(&server, &[TOKEN_A]).await;
    mount_host_pages(&server, &[2]).await;
    Mock::given(method("POST"))
        .and(path(HOSTS_ENTITIES))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "meta": meta(Value::Null),
            "resources": [host(0)],
            "errors": [{"code": 400, "message": "invalid device id"}]
        })))
        .mount(&server)
        .await;
    let db = TestDb::new().await;

    let summary = collect_vendors(&db, vec![Arc::new(collector(&server, Duration::from_secs(2)))]).await;

    let run = run_of(&db, summary.snapshot_id, "falcon").await;
    assert_eq!(run.error_class.as_deref(), Some("Permanent"));
    assert!(run.error.expect("an error").contains("lists errors: code 400: invalid device id"));
}

#[tokio::test]
async fn a_repeated_scroll_offset_is_an_error_not_an_endless_loop() {
    let server = MockServer::start().await;
    mount_tokens(&server, &[TOKEN_A]).await;
    let stuck = json!({
        "meta": meta(json!({"offset": scroll_token(2), "expires_at": 1_767_607_200_000_000_000_u64, "total": 50_000})),
        "resources": (0..10).map(device_id).collect::<Vec<_>>(),
        "errors": []
    });
    Mock::given(method("GET"))
        .and(path(HOSTS_QUERY))
        .respond_with(ResponseTemplate::new(200).set_body_json(stuck))
        .mount(&server)
        .await;
    mount_host_entities(&server).await;
    let db = TestDb::new().await;

    let summary = collect_vendors(&db, vec![Arc::new(collector(&server, Duration::from_secs(2)))]).await;

    let run = run_of(&db, summary.snapshot_id, "falcon").await;
    assert_eq!((run.status.as_str(), run.error_class.as_deref()), ("failed", Some("Permanent")));
    assert!(run.error.expect("an error").contains("repeats the offset token of an earlier page"));
    assert_eq!(requests_to(&server, HOSTS_QUERY).await.len(), 2);
}

#[tokio::test]
async fn refused_client_credentials_are_permanent_and_never_quoted() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(TOKEN_PATH))
        .respond_with(ResponseTemplate::new(401).set_body_json(
            json!({"meta": meta(Value::Null), "resources": [], "errors": [{"code": 401, "message": "access denied, invalid client"}]}),
        ))
        .mount(&server)
        .await;
    let db = TestDb::new().await;
    let falcon = collector(&server, Duration::from_secs(2));
    assert_clean(&format!("{falcon:?} {:?}", config(&server)));

    let summary = collect_vendors(&db, vec![Arc::new(falcon)]).await;

    let run = run_of(&db, summary.snapshot_id, "falcon").await;
    assert_eq!((run.status.as_str(), run.error_class.as_deref()), ("failed", Some("Permanent")));
    let error = run.error.expect("an error");
    assert!(error.contains("POST /oauth2/token") && error.contains("id or secret was refused"), "{error}");
    assert_clean(&error);
    assert_eq!(requests_to(&server, TOKEN_PATH).await.len(), 1);
}

#[tokio::test]
async fn an_empty_tenant_lands_a_complete_run_with_no_rows() {
    let server = MockServer::start().await;
    mount_small_tenant(&server, 0).await;
    let db = TestDb::new().await;

    let summary = collect_vendors(&db, vec![Arc::new(collector(&server, Duration::from_secs(2)))]).await;

    assert_eq!(summary.status, "complete", "{summary:?}");
    assert_eq!(requests_to(&server, HOSTS_ENTITIES).await.len(), 0, "no entities request for no ids");
    assert_eq!(rows(&db, "falcon_hosts", summary.snapshot_id).await, 0);
}

#[test]
fn configuration_is_checked_before_any_request() {
    let valid = |base_url: &str| FalconConfig {
        base_url: base_url.into(),
        client_id: CLIENT_ID.into(),
        client_secret: CLIENT_SECRET.into(),
        member_cid: None,
    };
    for ok in ["https://api.crowdstrike.com", "https://api.eu-1.crowdstrike.com/", "http://127.0.0.1:9000"] {
        assert!(FalconCollector::new(valid(ok)).is_ok(), "{ok}");
    }
    for bad in ["http://api.crowdstrike.com", "api.crowdstrike.com", "https://id:secret@api.crowdstrike.com"] {
        let error = FalconCollector::new(valid(bad)).expect_err(bad);
        assert_eq!(error.class.to_string(), "InvalidInput", "{bad}: {error}");
    }
    let no_secret = FalconConfig { client_secret: " ".into(), ..valid("https://api.crowdstrike.com") };
    assert!(FalconCollector::new(no_secret).expect_err("empty secret").message.contains("client_secret is empty"));
    let empty_cid = FalconConfig { member_cid: Some(String::new()), ..valid("https://api.crowdstrike.com") };
    assert!(FalconCollector::new(empty_cid).is_err());
}
