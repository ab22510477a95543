//! What the CrowdStrike Falcon collector stores: host records (`/devices/entities/devices/v2`) and
//! alerts (`/alerts/entities/alerts/v2`), exactly as the API returns them.

use crate::schema::*;
use serde_json::Value;

/// The tables this collector fills.
pub static TABLES: &[&Table] = &[&HOSTS, &ALERTS];

/// The AWS region of a host, from its availability zone (`us-east-1a` → `us-east-1`).
fn region_of_zone(host: &Value) -> Option<Value> {
    let zone = host.get("zone_group")?.as_str()?;
    let region = zone.trim_end_matches(|c: char| c.is_ascii_lowercase());
    (region.len() < zone.len() && region.ends_with(|c: char| c.is_ascii_digit())).then(|| Value::String(region.to_owned()))
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
        region: Extract::Path("/device/zone_group"),
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
