//! The Cloudflare collector against a wiremock Cloudflare API v4 on loopback, through the real
//! loader into PostgreSQL: zone and per-zone DNS record paging, `success: false` answers, rate
//! limits and retries.

mod vendor_support;

use secops_inventory::{CloudflareCollector, CloudflareConfig};
use secops_store::testing::TestDb;
use serde_json::{json, Value};
use std::sync::Arc;
use std::time::Duration;
use vendor_support::*;
use wiremock::matchers::{method, path, path_regex, query_param};
use wiremock::{Mock, MockServer, Request, ResponseTemplate};

const ZONES_PATH: &str = "/client/v4/zones";
const ZONE_COUNT: usize = 120;
const ZONES_PER_PAGE: usize = 50;

fn collector(server: &MockServer, account_id: Option<&str>) -> CloudflareCollector {
    CloudflareCollector::new(CloudflareConfig {
        api_url: format!("{}/client/v4/", server.uri()),
        api_token: CLOUDFLARE_TOKEN.into(),
        account_id: account_id.map(str::to_owned),
    })
    .expect("valid configuration")
    .with_http_policy(quick_policy(Duration::from_secs(2)))
}

fn zone_id(n: usize) -> String {
    zone(n)["id"].as_str().expect("zone id").to_owned()
}

/// The zones list: `ZONE_COUNT` zones, `ZONES_PER_PAGE` a page, as the `page` parameter asks.
fn zones_answer(request: &Request) -> ResponseTemplate {
    let page: usize = query_of(request, "page").and_then(|p| p.parse().ok()).expect("a page number");
    let zones: Vec<Value> = ((page - 1) * ZONES_PER_PAGE..(page * ZONES_PER_PAGE).min(ZONE_COUNT)).map(zone).collect();
    ResponseTemplate::new(200).set_body_json(cloudflare_page(zones, page, ZONES_PER_PAGE, ZONE_COUNT))
}

/// DNS records: two per zone, except zone 0, which has three pages of two.
fn records_answer(request: &Request) -> ResponseTemplate {
    let zone_id = request.url.path().split('/').nth(4).expect("a zone id").to_owned();
    let n = (0..ZONE_COUNT).find(|n| self::zone_id(*n) == zone_id).expect("a known zone");
    let zone_name = zone(n)["name"].as_str().expect("zone name").to_owned();
    let page: usize = query_of(request, "page").and_then(|p| p.parse().ok()).expect("a page number");
    let (per_page, total) = if n == 0 { (2, 6) } else { (5000, 2) };
    let first = (page - 1) * 2;
    let records = (first..first + 2).map(|r| dns_record(&zone_id, &zone_name, r)).collect();
    ResponseTemplate::new(200).set_body_json(cloudflare_page(records, page, per_page, total))
}

async fn mount_account(server: &MockServer) {
    Mock::given(method("GET")).and(path(ZONES_PATH)).respond_with(zones_answer).mount(server).await;
    Mock::given(method("GET"))
        .and(path_regex(r"^/client/v4/zones/[0-9a-f]{32}/dns_records$"))
        .respond_with(records_answer)
        .mount(server)
        .await;
}

fn dns_requests(requests: &[Request]) -> Vec<&Request> {
    requests.iter().filter(|r| r.url.path().ends_with("/dns_records")).collect()
}

#[tokio::test]
async fn zones_and_their_dns_records_are_paged_with_the_zone_as_parent() {
    let server = MockServer::start().await;
    mount_account(&server).await;
    let db = TestDb::new().await;

    let summary = collect_vendors(&db, vec![Arc::new(collector(&server, Some(CLOUDFLARE_ACCOUNT)))]).await;

    assert_eq!(summary.status, "complete", "{summary:?}");
    let run = run_of(&db, summary.snapshot_id, "cloudflare").await;
    let records = 6 + (ZONE_COUNT - 1) * 2;
    assert_eq!((run.status.as_str(), run.record_count as usize), ("complete", ZONE_COUNT + records));

    let all = server.received_requests().await.expect("recorded");
    assert!(all
        .iter()
        .all(|r| r.headers.get("authorization").is_some_and(|v| v == &format!("Bearer {CLOUDFLARE_TOKEN}"))));
    let zone_pages: Vec<(Option<String>, Option<String>, Option<String>)> = requests_to(&server, ZONES_PATH)
        .await
        .iter()
        .map(|r| (query_of(r, "page"), query_of(r, "per_page"), query_of(r, "account.id")))
        .collect();
    let expected: Vec<_> =
        (1..=3).map(|p| (Some(p.to_string()), Some("50".to_owned()), Some(CLOUDFLARE_ACCOUNT.to_owned()))).collect();
    assert_eq!(zone_pages, expected);
    let dns = dns_requests(&all);
    assert_eq!(dns.len(), ZONE_COUNT + 2, "one page per zone, three for zone 0");
    assert!(dns.iter().all(|r| query_of(r, "per_page").as_deref() == Some("5000")));
    let zone_0_pages: Vec<Option<String>> =
        dns.iter().filter(|r| r.url.path().contains(&zone_id(0))).map(|r| query_of(r, "page")).collect();
    assert_eq!(zone_0_pages, [Some("1".to_owned()), Some("2".to_owned()), Some("3".to_owned())]);

    assert_eq!(rows(&db, "cloudflare_zones", summary.snapshot_id).await as usize, ZONE_COUNT);
    assert_eq!(rows(&db, "cloudflare_dns_records", summary.snapshot_id).await as usize, records);
    let client = db.pool.get().await.expect("connection");
    let zone_row = client
        .query_one(
            "SELECT name, status, paused, cloudflare_account_id, cloudflare_account, account_id, region, raw->'plan'->>'name' \
             FROM cloudflare_zones WHERE snapshot_id = $1 AND zone_id = $2",
            &[&summary.snapshot_id, &zone_id(3)],
        )
        .await
        .expect("zone 3");
    assert_eq!(zone_row.get::<_, String>(0), "shop-3.example.com");
    assert_eq!(zone_row.get::<_, String>(1), "active");
    assert!(zone_row.get::<_, bool>(2), "zone 3 is paused");
    assert_eq!(zone_row.get::<_, String>(3), CLOUDFLARE_ACCOUNT);
    assert_eq!(zone_row.get::<_, String>(4), "Payments Platform");
    assert_eq!((zone_row.get::<_, Option<String>>(5), zone_row.get::<_, Option<String>>(6)), (None, None));
    assert_eq!(zone_row.get::<_, String>(7), "Free Website");

    let zone_0_records = client
        .query(
            "SELECT zone_id, name, type, content, proxied, ttl, raw->>'zone_name' FROM cloudflare_dns_records \
             WHERE snapshot_id = $1 AND zone_id = $2 ORDER BY name",
            &[&summary.snapshot_id, &zone_id(0)],
        )
        .await
        .expect("zone 0 records");
    assert_eq!(zone_0_records.len(), 6, "all three pages of zone 0 carry zone 0 as their parent");
    let first = &zone_0_records[0];
    assert_eq!(first.get::<_, String>(1), "host-0.shop-0.example.com");
    assert_eq!(first.get::<_, String>(2), "A");
    assert_eq!(first.get::<_, String>(3), "203.0.113.0");
    assert!(first.get::<_, bool>(4));
    assert_eq!(first.get::<_, i64>(5), 1);
    assert_eq!(first.get::<_, String>(6), "shop-0.example.com");
    let cname = &zone_0_records[1];
    assert_eq!(
        (cname.get::<_, String>(2), cname.get::<_, i64>(5), cname.get::<_, bool>(4)),
        ("CNAME".to_owned(), 300, false)
    );
}

#[tokio::test]
async fn success_false_fails_the_run_with_cloudflare_s_code() {
    let server = MockServer::start().await;
    Mock::given(method("GET")).and(path(ZONES_PATH)).respond_with(zones_answer).mount(&server).await;
    // A 200 that is not a success: the body decides.
    Mock::given(method("GET"))
        .and(path(format!("/client/v4/zones/{}/dns_records", zone_id(1))))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "success": false,
            "errors": [{"code": 1003, "message": "Invalid or missing zone id."}],
            "messages": [],
            "result": null
        })))
        .with_priority(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path_regex(r"^/client/v4/zones/[0-9a-f]{32}/dns_records$"))
        .respond_with(records_answer)
        .mount(&server)
        .await;
    let db = TestDb::new().await;

    let summary = collect_vendors(&db, vec![Arc::new(collector(&server, None))]).await;

    assert_eq!(summary.status, "failed", "{summary:?}");
    let run = run_of(&db, summary.snapshot_id, "cloudflare").await;
    assert_eq!(run.error_class.as_deref(), Some("Permanent"));
    let error = run.error.expect("an error");
    assert!(error.contains("code 1003: Invalid or missing zone id."), "{error}");
    assert!(error.contains(&format!("DNS records of zone {}", zone_id(1))), "{error}");
    assert_no_secrets(&error, &[CLOUDFLARE_TOKEN]);
    assert_eq!(rows(&db, "cloudflare_zones", summary.snapshot_id).await, 0, "the run lands whole or not at all");
    let zone_pages = requests_to(&server, ZONES_PATH).await;
    assert!(zone_pages.iter().all(|r| query_of(r, "account.id").is_none()), "no account filter unless configured");
}

#[tokio::test]
async fn a_429_is_waited_out_and_a_500_retried() {
    let server = MockServer::start().await;
    let throttled = ResponseTemplate::new(429).insert_header("Retry-After", "1").set_body_json(json!({
        "success": false, "errors": [{"code": 10000, "message": "Rate limited. Please wait and consider throttling your request speed"}], "messages": [], "result": null
    }));
    let (zones, zone_arrivals) = Scripted::new(vec![throttled], zones_answer);
    Mock::given(method("GET")).and(path(ZONES_PATH)).respond_with(zones).mount(&server).await;
    let (records, record_arrivals) = Scripted::new(vec![ResponseTemplate::new(500)], records_answer);
    Mock::given(method("GET"))
        .and(path_regex(r"^/client/v4/zones/[0-9a-f]{32}/dns_records$"))
        .respond_with(records)
        .mount(&server)
        .await;
    let db = TestDb::new().await;

    let summary = collect_vendors(&db, vec![Arc::new(collector(&server, None))]).await;

    assert_eq!(summary.status, "complete", "{summary:?}");
    let zone_arrivals = zone_arrivals.lock().expect("arrivals").clone();
    assert_eq!(zone_arrivals.len(), 1 + 3, "the throttled page once more, then pages 2 and 3");
    let waited = zone_arrivals[1].duration_since(zone_arrivals[0]).expect("in order");
    assert!(waited >= Duration::from_secs(1), "Retry-After: 1 was not honoured: {waited:?}");
    assert_eq!(record_arrivals.lock().expect("arrivals").len(), 1 + ZONE_COUNT + 2, "the failed page once more");
    assert_eq!(rows(&db, "cloudflare_dns_records", summary.snapshot_id).await as usize, 6 + (ZONE_COUNT - 1) * 2);
}

#[tokio::test]
async fn a_403_is_permanent_and_names_the_permission() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path(ZONES_PATH))
        .and(query_param("page", "1"))
        .respond_with(ResponseTemplate::new(403).set_body_json(json!({
            "success": false, "errors": [{"code": 9109, "message": "Unauthorized to access requested resource"}], "messages": [], "result": null
        })))
        .mount(&server)
        .await;
    let db = TestDb::new().await;

    let summary = collect_vendors(&db, vec![Arc::new(collector(&server, None))]).await;

    let run = run_of(&db, summary.snapshot_id, "cloudflare").await;
    assert_eq!((run.status.as_str(), run.error_class.as_deref()), ("failed", Some("Permanent")));
    let error = run.error.expect("an error");
    assert!(error.contains("code 9109: Unauthorized to access requested resource"), "{error}");
    assert!(error.contains("`Zone: Read` permission"), "{error}");
    assert_no_secrets(&error, &[CLOUDFLARE_TOKEN]);
    assert_eq!(requests_to(&server, ZONES_PATH).await.len(), 1, "a 403 is not retried");
}

#[tokio::test]
async fn a_page_other_than_the_one_asked_for_is_an_error_not_a_loop() {
    let server = MockServer::start().await;
    // A server that ignores `page` and always answers page 1 of 3.
    Mock::given(method("GET"))
        .and(path(ZONES_PATH))
        .respond_with(ResponseTemplate::new(200).set_body_json(cloudflare_page(vec![zone(0)], 1, 1, 3)))
        .mount(&server)
        .await;
    let db = TestDb::new().await;

    let summary = collect_vendors(&db, vec![Arc::new(collector(&server, None))]).await;

    let run = run_of(&db, summary.snapshot_id, "cloudflare").await;
    assert_eq!(run.error_class.as_deref(), Some("Permanent"));
    assert!(run.error.expect("an error").contains("answered page 1 instead"));
    assert_eq!(requests_to(&server, ZONES_PATH).await.len(), 2);
}

#[test]
fn configuration_is_checked_before_any_request() {
    let config = |api_url: &str, account_id: Option<&str>| CloudflareConfig {
        api_url: api_url.into(),
        api_token: CLOUDFLARE_TOKEN.into(),
        account_id: account_id.map(str::to_owned),
    };
    let default = CloudflareConfig::new(CLOUDFLARE_TOKEN.into());
    assert_eq!(default.api_url, "https://api.cloudflare.com/client/v4");
    let collector = CloudflareCollector::new(default).expect("the default is valid");
    assert_no_secrets(&format!("{collector:?}"), &[CLOUDFLARE_TOKEN]);
    assert!(CloudflareCollector::new(config("http://127.0.0.1:8080/client/v4", Some(CLOUDFLARE_ACCOUNT))).is_ok());
    for bad in [
        config("http://api.cloudflare.com/client/v4", None),
        config("https://api.cloudflare.com/client/v4", Some("../zones")),
    ] {
        let error = CloudflareCollector::new(bad).expect_err("refused");
        assert_eq!(error.class.to_string(), "InvalidInput", "{error}");
    }
    let no_token = CloudflareConfig { api_token: "".into(), ..config("https://api.cloudflare.com/client/v4", None) };
    assert!(CloudflareCollector::new(no_token).expect_err("empty token").message.contains("api_token is empty"));
}
