//! What the Falcon and Cloudflare tests share: a scripted wiremock responder that notes when each
//! request arrived, a small Cloudflare account, short retry timings, and readers of what the
//! collection recorded.

#![allow(dead_code)] // each test file uses its own part of the helpers

use secops_inventory::{collect, CollectPlan, HttpPolicy, SnapshotSummary, VendorCollector};
use secops_store::testing::TestDb;
use serde_json::{json, Value};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};
use wiremock::matchers::{method, path, path_regex};
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

pub const CLOUDFLARE_TOKEN: &str = "cf-token-Yt3kP9wQ2rLm8Zx4Vb6Nc1Hs5Dj7Fg0A";
pub const CLOUDFLARE_ACCOUNT: &str = "023e105f4ecef8ad9ca31a8372d0c353";

/// Retries in milliseconds and at most `max_wait` of waiting, so failure tests stay fast.
pub fn quick_policy(max_wait: Duration) -> HttpPolicy {
    HttpPolicy {
        request_timeout: Duration::from_secs(10),
        max_attempts: 4,
        base_backoff: Duration::from_millis(5),
        max_backoff: Duration::from_millis(20),
        max_wait,
    }
}

/// Answers from a script, then from `then` for every later request; notes each arrival time.
pub struct Scripted {
    script: Vec<ResponseTemplate>,
    then: Box<dyn Fn(&Request) -> ResponseTemplate + Send + Sync>,
    calls: AtomicUsize,
    arrivals: Arc<Mutex<Vec<SystemTime>>>,
}

impl Scripted {
    pub fn new(
        script: Vec<ResponseTemplate>,
        then: impl Fn(&Request) -> ResponseTemplate + Send + Sync + 'static,
    ) -> (Self, Arc<Mutex<Vec<SystemTime>>>) {
        let arrivals = Arc::new(Mutex::new(Vec::new()));
        let scripted =
            Scripted { script, then: Box::new(then), calls: AtomicUsize::new(0), arrivals: arrivals.clone() };
        (scripted, arrivals)
    }
}

impl Respond for Scripted {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        self.arrivals.lock().expect("arrivals").push(SystemTime::now());
        let call = self.calls.fetch_add(1, Ordering::SeqCst);
        match self.script.get(call) {
            Some(scripted) => scripted.clone(),
            None => (self.then)(request),
        }
    }
}

/// A 32-hex-digit Cloudflare id.
pub fn cloudflare_id(kind: u32, n: usize) -> String {
    format!("{kind:08x}{n:024x}")
}

pub fn zone(n: usize) -> Value {
    json!({
        "id": cloudflare_id(0x20e, n),
        "name": format!("shop-{n}.example.com"),
        "status": "active",
        "paused": n % 7 == 3,
        "type": "full",
        "development_mode": 0,
        "name_servers": ["ada.ns.cloudflare.com", "bob.ns.cloudflare.com"],
        "original_name_servers": ["ns1.example.net"],
        "original_registrar": null,
        "original_dnshost": null,
        "modified_on": "2025-12-01T10:11:12.123456Z",
        "created_on": "2023-04-05T06:07:08.654321Z",
        "activated_on": "2023-04-05T07:00:00.000000Z",
        "meta": {"step": 4, "custom_certificate_quota": 0, "page_rule_quota": 3, "phishing_detected": false},
        "owner": {"id": null, "type": "user", "email": null},
        "account": {"id": CLOUDFLARE_ACCOUNT, "name": "Payments Platform"},
        "permissions": ["#zone:read", "#dns_records:read"],
        "plan": {"id": "0feeeeeeeeeeeeeeeeeeeeeeeeeeeeee", "name": "Free Website", "price": 0, "currency": "USD"}
    })
}

pub fn dns_record(zone_id: &str, zone_name: &str, n: usize) -> Value {
    json!({
        "id": format!("{:08x}{}", n, &zone_id[8..]),
        "zone_id": zone_id,
        "zone_name": zone_name,
        "name": format!("host-{n}.{zone_name}"),
        "type": if n.is_multiple_of(2) { "A" } else { "CNAME" },
        "content": if n.is_multiple_of(2) { format!("203.0.113.{}", n % 250) } else { format!("lb-{n}.eu-west-1.elb.amazonaws.com") },
        "proxiable": true,
        "proxied": n.is_multiple_of(2),
        "ttl": if n.is_multiple_of(2) { 1 } else { 300 },
        "locked": false,
        "meta": {"auto_added": false, "managed_by_apps": false, "managed_by_argo_tunnel": false},
        "comment": null,
        "tags": [],
        "created_on": "2024-02-03T04:05:06.789012Z",
        "modified_on": "2025-11-30T23:59:59.000001Z"
    })
}

/// One page of a Cloudflare list, as the API answers it.
pub fn cloudflare_page(result: Vec<Value>, page: usize, per_page: usize, total_count: usize) -> Value {
    let total_pages = total_count.div_ceil(per_page).max(1);
    json!({
        "success": true,
        "errors": [],
        "messages": [],
        "result": result,
        "result_info": {"page": page, "per_page": per_page, "count": result.len(), "total_count": total_count, "total_pages": total_pages}
    })
}

/// One zone with two DNS records, for tests about another collector.
pub async fn mount_small_cloudflare(server: &MockServer) {
    let only = zone(0);
    let zone_id = only["id"].as_str().expect("zone id").to_owned();
    let zone_name = only["name"].as_str().expect("zone name").to_owned();
    Mock::given(method("GET"))
        .and(path("/client/v4/zones"))
        .respond_with(ResponseTemplate::new(200).set_body_json(cloudflare_page(vec![only], 1, 50, 1)))
        .mount(server)
        .await;
    let records = vec![dns_record(&zone_id, &zone_name, 0), dns_record(&zone_id, &zone_name, 1)];
    Mock::given(method("GET"))
        .and(path_regex(r"^/client/v4/zones/[0-9a-f]{32}/dns_records$"))
        .respond_with(ResponseTemplate::new(200).set_body_json(cloudflare_page(records, 1, 5000, 2)))
        .mount(server)
        .await;
}

/// Run one collection over the vendors, as the daemon does.
pub async fn collect_vendors(db: &TestDb, vendors: Vec<Arc<dyn VendorCollector>>) -> SnapshotSummary {
    collect(&db.pool, &CollectPlan { aws: None, vendors, concurrency: 2 }).await.expect("the collection is recorded")
}

/// One `snapshot_sources` row.
#[derive(Debug, Clone, PartialEq)]
pub struct Run {
    pub collector: String,
    pub status: String,
    pub error_class: Option<String>,
    pub error: Option<String>,
    pub record_count: i32,
}

pub async fn runs(db: &TestDb, snapshot_id: i64) -> Vec<Run> {
    let client = db.pool.get().await.expect("connection");
    client
        .query(
            "SELECT collector, status, error_class, error, record_count FROM snapshot_sources \
             WHERE snapshot_id = $1 ORDER BY collector",
            &[&snapshot_id],
        )
        .await
        .expect("snapshot_sources")
        .into_iter()
        .map(|r| Run {
            collector: r.get(0),
            status: r.get(1),
            error_class: r.get(2),
            error: r.get(3),
            record_count: r.get(4),
        })
        .collect()
}

pub async fn run_of(db: &TestDb, snapshot_id: i64, collector: &str) -> Run {
    runs(db, snapshot_id).await.into_iter().find(|r| r.collector == collector).expect("a run of the collector")
}

pub async fn rows(db: &TestDb, table: &str, snapshot_id: i64) -> i64 {
    let client = db.pool.get().await.expect("connection");
    client
        .query_one(&format!("SELECT count(*) FROM {table} WHERE snapshot_id = $1"), &[&snapshot_id])
        .await
        .expect("count")
        .get(0)
}

/// The requests the server received for `path`, in order.
pub async fn requests_to(server: &MockServer, wanted: &str) -> Vec<Request> {
    server.received_requests().await.unwrap_or_default().into_iter().filter(|r| r.url.path() == wanted).collect()
}

pub fn query_of(request: &Request, name: &str) -> Option<String> {
    request.url.query_pairs().find(|(key, _)| key == name).map(|(_, value)| value.into_owned())
}

/// No credential may reach an error message (they end up in the database and in logs).
pub fn assert_no_secrets(text: &str, secrets: &[&str]) {
    for secret in secrets {
        assert!(!text.contains(secret), "a secret leaked into {text:?}");
    }
}
