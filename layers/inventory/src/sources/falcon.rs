//! What the CrowdStrike Falcon collector stores: host records (`/devices/entities/devices/v2`) and
//! alerts (`/alerts/entities/alerts/v2`), exactly as the API returns them; and the collector.

use crate::collector::{RecordSink, VendorCollector};
use crate::error::{InventoryError, Result};
use crate::schema::*;
use crate::sources::http::{error_list, form_urlencoded, Body, Failure, HttpPolicy, Request, VendorHttp};
use reqwest::Method;
use secrecy::{ExposeSecret, SecretString};
use serde_json::Value;
use std::collections::HashSet;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;
use tokio::time::Instant;

/// The tables this collector fills.
pub static TABLES: &[&Table] = &[&HOSTS, &ALERTS];

/// The AWS region of a host, from its availability zone (`us-east-1a` → `us-east-1`).
fn region_of_zone(host: &Value) -> Option<Value> {
    let zone = host.get("zone_group")?.as_str()?;
    let region = zone.trim_end_matches(|c: char| c.is_ascii_lowercase());
    (region.len() < zone.len() && region.ends_with(|c: char| c.is_ascii_digit()))
        .then(|| Value::String(region.to_owned()))
}

/// The AWS region of the host an alert is about.
fn alert_region(alert: &Value) -> Option<Value> {
    region_of_zone(alert.get("device")?)
}

pub static HOSTS: Table = Table {
    name: "falcon_hosts",
    file: "falcon.devices",
    records: "/resources/*",
    parent: None,
    key: &["device_id"],
    placement: Placement::Record {
        account: Extract::Path("/service_provider_account_id"),
        region: Extract::Computed(region_of_zone),
    },
    columns: &[
        text("device_id", "/device_id"),
        text("hostname", "/hostname"),
        ip("local_ip", "/local_ip"),
        ip("external_ip", "/external_ip"),
        text("mac_address", "/mac_address"),
        text("instance_id", "/instance_id"),
        text("service_provider", "/service_provider"),
        text("agent_version", "/agent_version"),
        text("platform", "/platform_name"),
        text("os_version", "/os_version"),
        text("status", "/status"),
        timestamp("first_seen", "/first_seen"),
        timestamp("last_seen", "/last_seen"),
        all("falcon_tags", "/tags/*"),
    ],
};

pub static ALERTS: Table = Table {
    name: "falcon_alerts",
    file: "falcon.alerts",
    records: "/resources/*",
    parent: None,
    key: &["composite_id"],
    placement: Placement::Record {
        account: Extract::Path("/device/service_provider_account_id"),
        region: Extract::Computed(alert_region),
    },
    columns: &[
        text("composite_id", "/composite_id"),
        text("device_id", "/device/device_id"),
        text("hostname", "/device/hostname"),
        text("instance_id", "/device/instance_id"),
        int("severity", "/severity"),
        text("severity_name", "/severity_name"),
        text("status", "/status"),
        text("name", "/display_name"),
        text("tactic", "/tactic"),
        text("technique", "/technique"),
        timestamp("created_at", "/created_timestamp"),
        timestamp("updated_at", "/updated_timestamp"),
    ],
};

/// Where and as whom the collector signs in to the Falcon API (an API client with the read-only
/// `Hosts: Read` and `Alerts: Read` scopes).
#[derive(Debug, Clone)]
pub struct FalconConfig {
    /// The API of the customer's cloud, e.g. `https://api.crowdstrike.com` (US-1) or
    /// `https://api.eu-1.crowdstrike.com`.
    pub base_url: String,
    pub client_id: String,
    pub client_secret: SecretString,
    /// The child CID to read, for a Flight Control parent's API client.
    pub member_cid: Option<String>,
}

/// Reads Falcon hosts and alerts: OAuth2 client credentials, scroll/after-token id queries, then
/// the entities in batches, each entities answer handed on unchanged.
pub struct FalconCollector {
    http: VendorHttp,
    client_id: String,
    client_secret: SecretString,
    member_cid: Option<String>,
    /// The current bearer token; the lock is held while a new one is fetched, so concurrent
    /// callers wait for that one instead of each fetching their own.
    token: tokio::sync::Mutex<Option<BearerToken>>,
    tokens_issued: AtomicU64,
}

impl std::fmt::Debug for FalconCollector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FalconCollector")
            .field("base_url", &self.http.base_url())
            .field("client_id", &self.client_id)
            .field("member_cid", &self.member_cid)
            .finish_non_exhaustive()
    }
}

struct BearerToken {
    value: SecretString,
    /// A little before it expires, so a request never leaves with a token about to lapse.
    refresh_at: Instant,
    /// Which token this is, so a 401 replaces the refused token and not a newer one.
    generation: u64,
}

/// The longest a token is used before its expiry: Falcon's tokens live 30 minutes.
const TOKEN_REFRESH_MARGIN: Duration = Duration::from_secs(60);
/// More id pages than any tenant has (5,000 hosts or 10,000 alerts a page): a server that keeps
/// handing out new tokens is an error, not an endless run.
const MAX_ID_PAGES: usize = 10_000;

/// One kind of Falcon entity: how its ids are queried and how the entities are fetched.
struct EntityKind {
    table: &'static Table,
    /// For messages: `hosts`, `alerts`.
    what: &'static str,
    query_path: &'static str,
    /// Ids per query page (the endpoint's maximum).
    limit: &'static str,
    /// The query parameter that carries the next-page token, and where the answer puts it.
    token_param: &'static str,
    token_pointer: &'static str,
    entities_path: &'static str,
    /// The member of the entities request body that lists the ids.
    ids_member: &'static str,
    /// Ids per entities request (the endpoint's maximum).
    batch: usize,
    needs: &'static str,
}

/// Hosts through the scroll query: unlike the offset query it has no 10,000-result ceiling.
static HOST_ENTITIES: EntityKind = EntityKind {
    table: &HOSTS,
    what: "hosts",
    query_path: "/devices/queries/devices-scroll/v1",
    limit: "5000",
    token_param: "offset",
    token_pointer: "/meta/pagination/offset",
    entities_path: "/devices/entities/devices/v2",
    ids_member: "ids",
    batch: 5000,
    needs: "the API client needs the `Hosts: Read` scope",
};

/// Alerts through `after` tokens: numeric offsets stop at offset + limit = 10,000.
static ALERT_ENTITIES: EntityKind = EntityKind {
    table: &ALERTS,
    what: "alerts",
    query_path: "/alerts/queries/alerts/v2",
    limit: "10000",
    token_param: "after",
    token_pointer: "/meta/pagination/after",
    entities_path: "/alerts/entities/alerts/v2",
    ids_member: "composite_ids",
    batch: 1000,
    needs: "the API client needs the `Alerts: Read` scope",
};

impl FalconCollector {
    pub fn new(config: FalconConfig) -> Result<Self> {
        let http = VendorHttp::new("falcon base_url", &config.base_url)?;
        if config.client_id.trim().is_empty() {
            return Err(InventoryError::invalid_input("falcon client_id is empty"));
        }
        if config.client_secret.expose_secret().trim().is_empty() {
            return Err(InventoryError::invalid_input("falcon client_secret is empty"));
        }
        if config.member_cid.as_deref().is_some_and(|cid| cid.trim().is_empty()) {
            return Err(InventoryError::invalid_input("falcon member_cid is set but empty"));
        }
        Ok(Self {
            http,
            client_id: config.client_id.trim().to_owned(),
            client_secret: config.client_secret,
            member_cid: config.member_cid.map(|cid| cid.trim().to_owned()),
            token: tokio::sync::Mutex::new(None),
            tokens_issued: AtomicU64::new(0),
        })
    }

    /// Retries and waits other than the defaults (tests shorten them).
    pub fn with_http_policy(mut self, policy: HttpPolicy) -> Self {
        self.http.set_policy(policy);
        self
    }

    /// A bearer token that is not about to expire and is not the one `refused` (the generation
    /// of a token the API answered 401 to).
    async fn token(&self, refused: Option<u64>) -> Result<(SecretString, u64)> {
        let mut current = self.token.lock().await;
        if let Some(token) = current.as_ref() {
            if Some(token.generation) != refused && Instant::now() < token.refresh_at {
                return Ok((token.value.clone(), token.generation));
            }
        }
        let fresh = self.fetch_token().await?;
        let issued = (fresh.value.clone(), fresh.generation);
        *current = Some(fresh);
        Ok(issued)
    }

    async fn fetch_token(&self) -> Result<BearerToken> {
        let mut form =
            vec![("client_id", self.client_id.as_str()), ("client_secret", self.client_secret.expose_secret())];
        if let Some(cid) = &self.member_cid {
            form.push(("member_cid", cid.as_str()));
        }
        let request = Request {
            what: "OAuth2 token",
            method: Method::POST,
            path: "/oauth2/token",
            query: &[],
            body: Body::Form(SecretString::from(form_urlencoded(&form))),
            bearer: None,
            needs: "the API client's id and secret were refused",
        };
        let answer = self.http.send(&request).await.map_err(|failure| match failure {
            Failure::Unauthorized(e) => {
                InventoryError::permanent(format!("{}; the API client's id or secret was refused", e.message))
            }
            Failure::Failed(e) => e,
        })?;
        let value = answer.get("access_token").and_then(Value::as_str).filter(|t| !t.is_empty()).ok_or_else(|| {
            InventoryError::permanent("OAuth2 token (POST /oauth2/token): the answer has no access_token")
        })?;
        let lifetime = answer.get("expires_in").and_then(Value::as_u64).map(Duration::from_secs).ok_or_else(|| {
            InventoryError::permanent("OAuth2 token (POST /oauth2/token): the answer has no expires_in")
        })?;
        // Short-lived tokens are refreshed at half their life instead of a minute before expiry.
        let margin = TOKEN_REFRESH_MARGIN.min(lifetime / 2);
        Ok(BearerToken {
            value: SecretString::from(value),
            refresh_at: Instant::now() + lifetime - margin,
            generation: self.tokens_issued.fetch_add(1, Ordering::Relaxed) + 1,
        })
    }

    /// One authenticated API call; a 401 gets a new token and one more try, since a token can
    /// be revoked before it expires (a rotated secret, a Falcon-side reset).
    async fn call(
        &self,
        what: &str,
        method: Method,
        path: &str,
        query: &[(&str, &str)],
        body: Option<&Value>,
        needs: &str,
    ) -> Result<Value> {
        let (token, generation) = self.token(None).await?;
        let request = |bearer| Request {
            what,
            method: method.clone(),
            path,
            query,
            body: body.map_or(Body::Empty, Body::Json),
            bearer: Some(bearer),
            needs,
        };
        match self.http.send(&request(&token)).await {
            Ok(answer) => Ok(answer),
            Err(Failure::Failed(e)) => Err(e),
            Err(Failure::Unauthorized(_)) => {
                let (token, _) = self.token(Some(generation)).await?;
                self.http.send(&request(&token)).await.map_err(|failure| match failure {
                    Failure::Unauthorized(e) => {
                        InventoryError::permanent(format!("{}; refused a freshly issued token too", e.message))
                    }
                    Failure::Failed(e) => e,
                })
            }
        }
    }

    /// Page through the ids of one kind and load their entities, one id page at a time so a
    /// large tenant never sits in memory whole.
    async fn collect_entities(&self, kind: &'static EntityKind, out: &mut dyn RecordSink) -> Result<()> {
        let mut next_token: Option<String> = None;
        let mut tokens_seen: HashSet<String> = HashSet::new();
        let mut ids_loaded: u64 = 0;
        for page_number in 1..=MAX_ID_PAGES {
            let what = format!("{} query page {page_number}", kind.what);
            let mut query = vec![("limit", kind.limit)];
            if let Some(token) = &next_token {
                query.push((kind.token_param, token.as_str()));
            }
            let page = self.call(&what, Method::GET, kind.query_path, &query, None, kind.needs).await?;
            reject_listed_errors(&page, &what, kind.query_path, false)?;
            let ids = ids_of(&page, &what)?;
            if ids.is_empty() {
                return Ok(());
            }
            for (batch_number, batch) in ids.chunks(kind.batch).enumerate() {
                let what = format!("{} entities of page {page_number}, batch {}", kind.what, batch_number + 1);
                let body = serde_json::json!({ kind.ids_member: batch });
                let entities = self.call(&what, Method::POST, kind.entities_path, &[], Some(&body), kind.needs).await?;
                reject_listed_errors(&entities, &what, kind.entities_path, true)?;
                out.page(kind.table, None, entities).await?;
            }
            ids_loaded += ids.len() as u64;
            let total = page.pointer("/meta/pagination/total").and_then(Value::as_u64);
            if total.is_some_and(|total| ids_loaded >= total) {
                return Ok(());
            }
            let Some(token) = page.pointer(kind.token_pointer).and_then(Value::as_str).filter(|t| !t.is_empty()) else {
                return Ok(());
            };
            if !tokens_seen.insert(token.to_owned()) {
                return Err(InventoryError::permanent(format!(
                    "{what} (GET {}): the answer repeats the {} token of an earlier page after {ids_loaded} ids; \
                     stopping rather than loading the same {} again",
                    kind.query_path, kind.token_param, kind.what
                )));
            }
            next_token = Some(token.to_owned());
        }
        Err(InventoryError::permanent(format!(
            "{} query (GET {}): still more pages after {MAX_ID_PAGES}; stopping",
            kind.what, kind.query_path
        )))
    }
}

#[async_trait::async_trait]
impl VendorCollector for FalconCollector {
    fn name(&self) -> &'static str {
        "falcon"
    }

    fn tables(&self) -> &'static [&'static Table] {
        TABLES
    }

    async fn collect(&self, out: &mut dyn RecordSink) -> Result<()> {
        self.collect_entities(&HOST_ENTITIES, out).await?;
        self.collect_entities(&ALERT_ENTITIES, out).await
    }
}

/// The ids of a query page (`resources`: a list of strings; missing or null when there are none).
fn ids_of(page: &Value, what: &str) -> Result<Vec<String>> {
    match page.get("resources") {
        None | Some(Value::Null) => Ok(Vec::new()),
        Some(Value::Array(items)) => items
            .iter()
            .map(|item| {
                item.as_str()
                    .map(str::to_owned)
                    .ok_or_else(|| InventoryError::permanent(format!("{what}: `resources` holds {item}, not an id")))
            })
            .collect(),
        Some(other) => Err(InventoryError::permanent(format!("{what}: `resources` is {other}, not a list of ids"))),
    }
}

/// Falcon can answer 200 with an `errors` list beside partial results; those errors fail the run
/// rather than vanish. The exception is an entities answer whose errors are all 404s: hosts and
/// alerts removed between the id query and the fetch, which a live tenant always has.
fn reject_listed_errors(answer: &Value, what: &str, path: &str, vanished_ids_expected: bool) -> Result<()> {
    let Some(listed) = error_list(answer) else { return Ok(()) };
    let errors = answer.get("errors").and_then(Value::as_array).map(Vec::as_slice).unwrap_or_default();
    let all_not_found = errors.iter().all(|e| e.get("code").and_then(Value::as_u64) == Some(404));
    if vanished_ids_expected && all_not_found {
        tracing::warn!(request = what, path, missing = errors.len(), errors = %listed, "falcon ids vanished before their entities were fetched");
        return Ok(());
    }
    let server_side = errors.iter().any(|e| e.get("code").and_then(Value::as_u64).is_some_and(|code| code >= 500));
    let message = format!("{what} ({path}): the answer lists errors: {listed}");
    Err(if server_side { InventoryError::transient(message) } else { InventoryError::permanent(message) })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn region_comes_from_the_availability_zone() {
        assert_eq!(region_of_zone(&json!({"zone_group": "eu-west-1b"})), Some(json!("eu-west-1")));
        assert_eq!(region_of_zone(&json!({"zone_group": "us-gov-west-1a"})), Some(json!("us-gov-west-1")));
        assert_eq!(region_of_zone(&json!({"zone_group": ""})), None);
        assert_eq!(region_of_zone(&json!({})), None);
    }
}
