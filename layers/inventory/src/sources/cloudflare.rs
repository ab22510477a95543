//! What the Cloudflare collector stores: zones (`/zones`) and their DNS records
//! (`/zones/{zone_id}/dns_records`, the zone is the parent), exactly as the API returns them.

use crate::schema::*;

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
