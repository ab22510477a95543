//! Route 53 hosted zones and their record sets (fetched per zone), global.

use crate::collector::{AwsCollector, AwsScope, AwsTarget, RecordSink};
use crate::error::{InventoryError, Result};
use crate::schema::*;

pub static COLLECTOR: AwsCollector = AwsCollector {
    name: "route53",
    scope: AwsScope::Global,
    tables: &[&HOSTED_ZONES, &RECORD_SETS],
    actions: &["route53:ListHostedZones", "route53:ListResourceRecordSets"],
    fetch: |target, out| Box::pin(fetch(target, out)),
};

async fn fetch(target: &AwsTarget, out: &mut dyn RecordSink) -> Result<()> {
    let _ = (target, out);
    Err(InventoryError::permanent("HELPER: fetch not written"))
}

pub static HOSTED_ZONES: Table = Table {
    name: "route53_hosted_zones",
    file: "route53.list-hosted-zones",
    records: "/HostedZones/*",
    parent: None,
    key: &["zone_id"],
    placement: Placement::Target,
    columns: &[
        text("zone_id", "/Id"),
        text("name", "/Name"),
        flag("private_zone", "/Config/PrivateZone"),
        int("record_count", "/ResourceRecordSetCount"),
    ],
};

pub static RECORD_SETS: Table = Table {
    name: "route53_record_sets",
    file: "route53.list-resource-record-sets",
    records: "/ResourceRecordSets/*",
    parent: Some("zone_id"),
    key: &["zone_id", "name", "type", "set_identifier"],
    placement: Placement::Target,
    columns: &[
        parent("zone_id"),
        text("name", "/Name"),
        text("type", "/Type"),
        text("set_identifier", "/SetIdentifier"),
        int("ttl", "/TTL"),
        all("values", "/ResourceRecords/*/Value"),
        text("alias_dns_name", "/AliasTarget/DNSName"),
    ],
};
