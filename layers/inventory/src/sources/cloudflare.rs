//! What the Cloudflare collector stores: zones (`/zones`) and their DNS records
//! (`/zones/{zone_id}/dns_records`, the zone is the parent), exactly as the API returns them; and
//! the collector.

use crate::collector::{RecordSink, VendorCollector};
use crate::error::{InventoryError, Result};
use crate::schema::*;
use crate::sources::http::{error_list, Body, HttpPolicy, Request, VendorHttp};
use reqwest::Method;
use secrecy::{ExposeSecret, SecretString};
use serde_json::Value;

/// The tables this collector fills.
pub static TABLES: &[&Table] = &[&ZONES, &DNS_RECORDS];

pub static ZONES: Table = Table {
    name: "cloudflare_zones",
    file: "cloudflare.zones",
    records: "/result/*",
    parent: None,
    key: &["zone_id"],
    placement: Placement::Outside,
    columns: &[
        text("zone_id", "/id"),
        text("name", "/name"),
        text("status", "/status"),
        flag("paused", "/paused"),
        text("cloudflare_account_id", "/account/id"),
        text("cloudflare_account", "/account/name"),
    ],
};

pub static DNS_RECORDS: Table = Table {
    name: "cloudflare_dns_records",
    file: "cloudflare.dns-records",
    records: "/result/*",
    parent: Some("zone_id"),
    key: &["record_id"],
    placement: Placement::Outside,
    columns: &[
        parent("zone_id"),
        text("record_id", "/id"),
        text("name", "/name"),
        text("type", "/type"),
        text("content", "/content"),
        flag("proxied", "/proxied"),
        int("ttl", "/ttl"),
    ],
};

/// Cloudflare's API v4.
pub const DEFAULT_API_URL: &str = "https://api.cloudflare.com/client/v4";

/// Zones per page (the endpoint's maximum) and DNS records per page.
const ZONES_PER_PAGE: &str = "50";
const DNS_RECORDS_PER_PAGE: &str = "5000";
/// More pages than any account has: a server that never reaches its last page is an error.
const MAX_PAGES: u64 = 10_000;

/// Where and with what the collector reads Cloudflare (an API token with `Zone: Read` and
/// `DNS: Read`).
#[derive(Debug, Clone)]
pub struct CloudflareConfig {
    /// [`DEFAULT_API_URL`] unless a proxy sits in between.
    pub api_url: String,
    pub api_token: SecretString,
    /// Only this account's zones; every zone the token can read when `None`.
    pub account_id: Option<String>,
}

impl CloudflareConfig {
    /// The public API with this token, every account it can read.
    pub fn new(api_token: SecretString) -> Self {
        Self { api_url: DEFAULT_API_URL.to_owned(), api_token, account_id: None }
    }
}

/// Reads Cloudflare zones and, per zone, its DNS records; each answer is handed on unchanged.
pub struct CloudflareCollector {
    http: VendorHttp,
    api_token: SecretString,
    account_id: Option<String>,
}

impl std::fmt::Debug for CloudflareCollector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CloudflareCollector")
            .field("api_url", &self.http.base_url())
            .field("account_id", &self.account_id)
            .finish_non_exhaustive()
    }
}

impl CloudflareCollector {
    pub fn new(config: CloudflareConfig) -> Result<Self> {
        let http = VendorHttp::new("cloudflare api_url", &config.api_url)?;
        if config.api_token.expose_secret().trim().is_empty() {
            return Err(InventoryError::invalid_input("cloudflare api_token is empty"));
        }
        let account_id = match config.account_id {
            Some(id) if !is_cloudflare_id(id.trim()) => {
                return Err(InventoryError::invalid_input(format!(
                    "cloudflare account_id {id:?} is not a Cloudflare id (32 hex digits)"
                )))
            }
            other => other.map(|id| id.trim().to_owned()),
        };
        Ok(Self { http, api_token: config.api_token, account_id })
    }

    /// Retries and waits other than the defaults (tests shorten them).
    pub fn with_http_policy(mut self, policy: HttpPolicy) -> Self {
        self.http.set_policy(policy);
        self
    }

    /// Load every page of a list endpoint; the ids of its records go to `ids` when given (the
    /// zones, whose DNS records come next).
    async fn load_pages(
        &self,
        list: &Listing<'_>,
        out: &mut dyn RecordSink,
        mut ids: Option<&mut Vec<String>>,
    ) -> Result<()> {
        let Listing { table, parent, what, path, filter, per_page, needs } = *list;
        for page_number in 1..=MAX_PAGES {
            let page_text = page_number.to_string();
            let mut query = vec![("page", page_text.as_str()), ("per_page", per_page)];
            query.extend_from_slice(filter);
            let what = format!("{what} page {page_number}");
            let request = Request {
                what: &what,
                method: Method::GET,
                path,
                query: &query,
                body: Body::Empty,
                bearer: Some(&self.api_token),
                needs,
            };
            let page = self.http.send(&request).await.map_err(InventoryError::from)?;
            let place = format!("{what} (GET {path})");
            check_success(&page, &place)?;
            let records = page
                .get("result")
                .and_then(Value::as_array)
                .ok_or_else(|| InventoryError::permanent(format!("{place}: the answer has no `result` list")))?;
            let count = records.len();
            if let Some(ids) = ids.as_deref_mut() {
                for record in records {
                    match record.get("id").and_then(Value::as_str) {
                        Some(id) if is_cloudflare_id(id) => ids.push(id.to_owned()),
                        _ => {
                            return Err(InventoryError::permanent(format!(
                                "{place}: a record has no Cloudflare id: {}",
                                record.get("id").unwrap_or(&Value::Null)
                            )))
                        }
                    }
                }
            }
            let answered_page = page.pointer("/result_info/page").and_then(Value::as_u64);
            if answered_page.is_some_and(|answered| answered != page_number) {
                return Err(InventoryError::permanent(format!(
                    "{place}: answered page {} instead; stopping rather than loading a page twice",
                    answered_page.unwrap_or_default()
                )));
            }
            let total_pages = page.pointer("/result_info/total_pages").and_then(Value::as_u64);
            out.page(table, parent, page).await?;
            if count == 0 || total_pages.is_none_or(|total| page_number >= total) {
                return Ok(());
            }
        }
        Err(InventoryError::permanent(format!("{what} (GET {path}): still more pages after {MAX_PAGES}; stopping")))
    }
}

#[async_trait::async_trait]
impl VendorCollector for CloudflareCollector {
    fn name(&self) -> &'static str {
        "cloudflare"
    }

    fn tables(&self) -> &'static [&'static Table] {
        TABLES
    }

    async fn collect(&self, out: &mut dyn RecordSink) -> Result<()> {
        let filter: Vec<(&str, &str)> = self.account_id.iter().map(|id| ("account.id", id.as_str())).collect();
        let mut zone_ids = Vec::new();
        let zones = Listing {
            table: &ZONES,
            parent: None,
            what: "zones",
            path: "/zones",
            filter: &filter,
            per_page: ZONES_PER_PAGE,
            needs: "the API token needs the `Zone: Read` permission",
        };
        self.load_pages(&zones, out, Some(&mut zone_ids)).await?;
        for zone_id in &zone_ids {
            let records = Listing {
                table: &DNS_RECORDS,
                parent: Some(zone_id),
                what: &format!("DNS records of zone {zone_id}"),
                path: &format!("/zones/{zone_id}/dns_records"),
                filter: &[],
                per_page: DNS_RECORDS_PER_PAGE,
                needs: "the API token needs the `DNS: Read` permission",
            };
            self.load_pages(&records, out, None).await?;
        }
        Ok(())
    }
}

/// One list endpoint and where its pages go.
#[derive(Clone, Copy)]
struct Listing<'a> {
    table: &'static Table,
    /// The zone of a per-zone list.
    parent: Option<&'a str>,
    /// For messages: `zones`, `DNS records of zone …`.
    what: &'a str,
    path: &'a str,
    filter: &'a [(&'a str, &'a str)],
    per_page: &'static str,
    needs: &'static str,
}

/// Cloudflare answers `success: false` with its `errors` list, sometimes under a 200.
fn check_success(answer: &Value, place: &str) -> Result<()> {
    if answer.get("success").and_then(Value::as_bool) != Some(false) {
        return Ok(());
    }
    let listed = error_list(answer).unwrap_or_else(|| "no errors listed".to_owned());
    Err(InventoryError::permanent(format!("{place}: Cloudflare answered success: false: {listed}")))
}

/// Zone and account ids are 32 hex digits; anything else is refused before it goes into a path.
fn is_cloudflare_id(id: &str) -> bool {
    !id.is_empty() && id.len() <= 64 && id.bytes().all(|b| b.is_ascii_alphanumeric())
}
