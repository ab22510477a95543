//! DNS bridging (migration V008) on a real PostgreSQL: Cloudflare and Route 53 records of a
//! hand-written offline estate followed to the AWS resources behind them, compared row by row.

mod support;

use secops_inventory::{collect_from_dir, offline::parent_file_name, query, reconcile::reconcile};
use secops_store::testing::TestDb;
use serde_json::{json, Value};
use support::*;

const G: &str = "global";
const CLOUDFLARE_ZONE: &str = "023e105f4ecef8ad9ca31a8372d0c353";
const PUBLIC_ZONE: &str = "/hostedzone/Z0AWSEXAMPLE01";
const PRIVATE_ZONE: &str = "/hostedzone/Z0CORPINTERNAL1";
const ENI_WEB: &str = "eni-0a1b2c3d4e5f60001";
const ENI_VPN: &str = "eni-0a1b2c3d4e5f60002";
const EIP_ATTACHED: &str = "eipalloc-0a1b2c3d4e5f60001";
const EIP_SPARE: &str = "eipalloc-0a1b2c3d4e5f60002";
const ALB_WEB: &str = "arn:aws:elasticloadbalancing:us-east-1:111111111111:loadbalancer/app/web/50dc6c495c0c9188";
const ALB_TOOLS: &str = "arn:aws:elasticloadbalancing:us-east-1:111111111111:loadbalancer/app/tools/6d0ecf831eec9f09";
const ALB_WEB_DNS: &str = "web-1234567890.us-east-1.elb.amazonaws.com";
const DISTRIBUTION: &str = "E2QWRUHAPOMQZL";

/// One network interface as DescribeNetworkInterfaces prints it.
fn interface(id: &str, instance: &str, private_ip: &str, public: Option<(&str, Option<&str>)>, ipv6: &[&str]) -> Value {
    // An auto-assigned public IP is owned by `amazon`; an Elastic IP by the account, with its allocation.
    let association = public.map(|(ip, allocation)| match allocation {
        Some(allocation) => json!({
            "AllocationId": allocation, "AssociationId": format!("eipassoc-{}", &allocation[9..]),
            "IpOwnerId": ACCOUNT_A, "PublicDnsName": "", "PublicIp": ip}),
        None => json!({
            "IpOwnerId": "amazon", "PublicDnsName": format!("ec2-{}.compute-1.amazonaws.com", ip.replace('.', "-")),
            "PublicIp": ip}),
    });
    let private_name = format!("ip-{}.ec2.internal", private_ip.replace('.', "-"));
    let mut private = json!({"Primary": true, "PrivateDnsName": private_name, "PrivateIpAddress": private_ip});
    let mut eni = json!({
        "Attachment": {"AttachmentId": format!("eni-attach-{}", &id[4..]), "DeleteOnTermination": true, "DeviceIndex": 0,
                       "InstanceId": instance, "InstanceOwnerId": ACCOUNT_A, "Status": "attached"},
        "AvailabilityZone": "us-east-1a",
        "Description": "",
        "Groups": [{"GroupId": "sg-0a1b2c3d4e5f60001", "GroupName": "web"}],
        "InterfaceType": "interface",
        "Ipv6Addresses": ipv6.iter().map(|a| json!({"Ipv6Address": a, "IsPrimaryIpv6": false})).collect::<Vec<_>>(),
        "MacAddress": "0e:12:34:56:78:9a",
        "NetworkInterfaceId": id,
        "OwnerId": ACCOUNT_A,
        "PrivateIpAddress": private_ip,
        "RequesterManaged": false,
        "SourceDestCheck": true,
        "Status": "in-use",
        "SubnetId": "subnet-0a1b2c3d4e5f60001",
        "TagSet": [],
        "VpcId": "vpc-0a1b2c3d4e5f60001",
    });
    if let Some(association) = association {
        private["Association"] = association.clone();
        eni["Association"] = association;
    }
    eni["PrivateIpAddresses"] = json!([private]);
    eni
}

fn load_balancer(arn: &str, name: &str, dns: &str) -> Value {
    json!({
        "LoadBalancerArn": arn, "DNSName": dns, "CanonicalHostedZoneId": "Z35SXDOTRQ7X7K",
        "CreatedTime": "2026-01-01T00:00:00.000Z", "LoadBalancerName": name, "Scheme": "internet-facing",
        "VpcId": "vpc-0a1b2c3d4e5f60001", "State": {"Code": "active"}, "Type": "application",
        "AvailabilityZones": [{"ZoneName": "us-east-1a", "SubnetId": "subnet-0a1b2c3d4e5f60001", "LoadBalancerAddresses": []}],
        "SecurityGroups": ["sg-0a1b2c3d4e5f60009"], "IpAddressType": "dualstack",
    })
}

fn cloudflare_record(id: u32, name: &str, kind: &str, content: &str, proxied: bool) -> Value {
    json!({
        "id": format!("{id:032x}"), "zone_id": CLOUDFLARE_ZONE, "zone_name": "example.com", "name": name, "type": kind,
        "content": content, "proxiable": kind != "MX" && kind != "TXT", "proxied": proxied, "ttl": 1, "locked": false,
        "meta": {"auto_added": false, "managed_by_apps": false, "managed_by_argo_tunnel": false},
        "comment": null, "tags": [], "created_on": "2026-01-01T00:00:00.000000Z", "modified_on": "2026-01-01T00:00:00.000000Z",
    })
}

/// A Route 53 record set with values, or (`alias`) an alias record.
fn record_set(name: &str, kind: &str, values: &[&str], alias: Option<(&str, &str)>) -> Value {
    match alias {
        Some((zone, target)) => json!({"Name": name, "Type": kind,
            "AliasTarget": {"HostedZoneId": zone, "DNSName": target, "EvaluateTargetHealth": true}}),
        None => json!({"Name": name, "Type": kind, "TTL": 300,
            "ResourceRecords": values.iter().map(|v| json!({"Value": v})).collect::<Vec<_>>()}),
    }
}

fn write_estate(f: &Folder) {
    f.aws(
        ACCOUNT_A,
        REGION,
        "ec2.describe-network-interfaces",
        &json!({"NetworkInterfaces": [
            interface(ENI_WEB, "i-0a1b2c3d4e5f60001", "10.0.1.10", Some(("198.51.100.10", None)), &["2600:1f18:abcd:1200::10"]),
            interface(ENI_VPN, "i-0a1b2c3d4e5f60002", "10.0.1.20", Some(("198.51.100.20", Some(EIP_ATTACHED))), &[]),
        ]}),
    );
    f.aws(
        ACCOUNT_A,
        REGION,
        "ec2.describe-addresses",
        &json!({"Addresses": [
            {"AllocationId": EIP_ATTACHED, "AssociationId": "eipassoc-0a1b2c3d4e5f60001", "Domain": "vpc", "InstanceId": "i-0a1b2c3d4e5f60002",
             "NetworkInterfaceId": ENI_VPN, "NetworkInterfaceOwnerId": ACCOUNT_A, "PrivateIpAddress": "10.0.1.20",
             "PublicIp": "198.51.100.20", "PublicIpv4Pool": "amazon", "NetworkBorderGroup": "us-east-1", "Tags": []},
            {"AllocationId": EIP_SPARE, "Domain": "vpc", "PublicIp": "198.51.100.30", "PublicIpv4Pool": "amazon",
             "NetworkBorderGroup": "us-east-1", "Tags": [{"Key": "Name", "Value": "spare"}]}]}),
    );
    f.aws(
        ACCOUNT_A,
        REGION,
        "elbv2.describe-load-balancers",
        &json!({"LoadBalancers": [
            load_balancer(ALB_WEB, "web", ALB_WEB_DNS),
            load_balancer(ALB_TOOLS, "tools", "tools-987654321.us-east-1.elb.amazonaws.com")]}),
    );
    let databases: Vec<Value> = ["orders", "ledger", "reports"].iter().map(|id| json!({
            "DBInstanceIdentifier": id, "DBInstanceArn": format!("arn:aws:rds:us-east-1:{ACCOUNT_A}:db:{id}"),
            "Engine": "postgres", "EngineVersion": "16.4", "DBInstanceClass": "db.m6g.large", "DBInstanceStatus": "available",
            "StorageEncrypted": *id == "ledger", "PubliclyAccessible": false, "BackupRetentionPeriod": 7, "MultiAZ": true,
            "DeletionProtection": true, "DBSubnetGroup": {"VpcId": "vpc-0a1b2c3d4e5f60001"},
            "Endpoint": {"Address": format!("{id}.c9akciq32.us-east-1.rds.amazonaws.com"), "Port": 5432}})).collect();
    f.aws(ACCOUNT_A, REGION, "rds.describe-db-instances", &json!({ "DBInstances": databases }));
    f.aws(
        ACCOUNT_A,
        G,
        "cloudfront.list-distributions",
        &json!({"DistributionList": {"Marker": "", "MaxItems": 100, "IsTruncated": false, "Quantity": 1, "Items": [{
            "Id": DISTRIBUTION, "ARN": format!("arn:aws:cloudfront::{ACCOUNT_A}:distribution/{DISTRIBUTION}"),
            "Status": "Deployed", "DomainName": "d111111abcdef8.cloudfront.net",
            "Aliases": {"Quantity": 1, "Items": ["cdn.example.com"]},
            "Origins": {"Quantity": 1, "Items": [{"Id": "assets", "DomainName": "assets-example.s3.us-east-1.amazonaws.com"}]},
            "DefaultCacheBehavior": {"TargetOriginId": "assets", "ViewerProtocolPolicy": "redirect-to-https"},
            "ViewerCertificate": {"MinimumProtocolVersion": "TLSv1.2_2021"}, "Enabled": true, "WebACLId": ""}]}}),
    );
    let bucket = |name: &str| json!({"Name": name, "CreationDate": "2026-01-01T00:00:00Z", "BucketRegion": REGION});
    f.aws(
        ACCOUNT_A,
        G,
        "s3.list-buckets",
        &json!({"Buckets": [bucket("assets-example"), bucket("static.aws.example.com")],
                "Owner": {"ID": "79a59df900b949e55d96a1e698fbacedfd6e09d98eacf8f8d5218e7cd47ef2be"}}),
    );
    f.aws(
        ACCOUNT_A,
        G,
        "route53.list-hosted-zones",
        &json!({"HostedZones": [
            {"Id": PUBLIC_ZONE, "Name": "aws.example.com.", "CallerReference": "public", "ResourceRecordSetCount": 10,
             "Config": {"Comment": "", "PrivateZone": false}},
            {"Id": PRIVATE_ZONE, "Name": "corp.internal.", "CallerReference": "private", "ResourceRecordSetCount": 3,
             "Config": {"Comment": "", "PrivateZone": true}}],
            "IsTruncated": false, "MaxItems": "100"}),
    );
    let s3_website = Some(("Z3AQBSTGFYJSTF", "s3-website-us-east-1.amazonaws.com."));
    let zone_records = |zone: &str, sets: Vec<Value>| {
        f.write(
            &format!("aws/{ACCOUNT_A}/{G}/route53.list-resource-record-sets/{}.json", parent_file_name(zone)),
            &json!({"ResourceRecordSets": sets, "IsTruncated": false, "MaxItems": "300"}),
        )
    };
    zone_records(
        PUBLIC_ZONE,
        vec![
            record_set("aws.example.com.", "NS", &["ns-1.awsdns-01.org.", "ns-2.awsdns-02.com."], None),
            record_set(
                "aws.example.com.",
                "SOA",
                &["ns-1.awsdns-01.org. awsdns-hostmaster.amazon.com. 1 7200 900 1209600 86400"],
                None,
            ),
            // Aliases name load balancers with a `dualstack.` prefix, in whatever case was typed.
            record_set(
                "app.aws.example.com.",
                "A",
                &[],
                Some(("Z35SXDOTRQ7X7K", "dualstack.WEB-1234567890.us-east-1.elb.amazonaws.com.")),
            ),
            record_set("shop.aws.example.com.", "A", &[], Some((&PUBLIC_ZONE[12..], "app.aws.example.com."))),
            record_set(
                "tools.aws.example.com.",
                "A",
                &[],
                Some(("Z35SXDOTRQ7X7K", "dualstack.tools-987654321.us-east-1.elb.amazonaws.com.")),
            ),
            record_set("static.aws.example.com.", "A", &[], s3_website),
            // Its bucket was deleted: anyone can create `gone.aws.example.com` and serve this name.
            record_set("gone.aws.example.com.", "A", &[], s3_website),
            record_set("\\052.aws.example.com.", "CNAME", &["app.aws.example.com"], None),
            record_set("mail.aws.example.com.", "MX", &["10 inbound-smtp.us-east-1.amazonaws.com"], None),
        ],
    );
    zone_records(
        PRIVATE_ZONE,
        vec![
            record_set("corp.internal.", "NS", &["ns-0.awsdns-00.com."], None),
            record_set("db.corp.internal.", "A", &["10.0.1.5"], None),
        ],
    );
    f.write(
        "cloudflare/cloudflare.zones.json",
        &json!({"result": [{"id": CLOUDFLARE_ZONE, "name": "example.com", "status": "active", "paused": false, "type": "full",
            "account": {"id": "01a7362d577a6c3019a474fd6f485823", "name": "Example"},
            "name_servers": ["ada.ns.cloudflare.com", "bob.ns.cloudflare.com"]}],
            "result_info": {"page": 1, "per_page": 50, "count": 1, "total_count": 1, "total_pages": 1},
            "success": true, "errors": [], "messages": []}),
    );
    let mut mail = cloudflare_record(13, "example.com", "MX", "mx1.example.com", false);
    mail["priority"] = json!(10);
    let records = vec![
        cloudflare_record(1, "api.example.com", "A", "198.51.100.10", false),
        // The same address written out in full: compared as an address, not as text.
        cloudflare_record(2, "api.example.com", "AAAA", "2600:1F18:ABCD:1200:0:0:0:10", false),
        cloudflare_record(3, "vpn.example.com", "A", "198.51.100.20", false),
        cloudflare_record(4, "spare.example.com", "A", "198.51.100.30", false),
        cloudflare_record(5, "www.example.com", "CNAME", "shop.aws.example.com", true),
        cloudflare_record(6, "cdn.example.com", "CNAME", "d111111abcdef8.cloudfront.net", true),
        cloudflare_record(7, "assets.example.com", "CNAME", "assets-example.s3-website-us-east-1.amazonaws.com", true),
        // The load balancer this named was deleted; its hostname can be claimed by someone else.
        cloudflare_record(8, "legacy.example.com", "CNAME", "legacy-old-1234.us-east-1.elb.amazonaws.com", false),
        cloudflare_record(9, "loop-a.example.com", "CNAME", "loop-b.example.com", false),
        cloudflare_record(10, "loop-b.example.com", "CNAME", "loop-a.example.com", false),
        cloudflare_record(11, "ext.example.com", "CNAME", "partner.example.net", false),
        cloudflare_record(12, "example.com", "TXT", "v=spf1 include:_spf.example.net ~all", false),
        mail,
    ];
    f.write(
        &format!("cloudflare/cloudflare.dns-records/{CLOUDFLARE_ZONE}.json"),
        &json!({"result": records, "result_info": {"page": 1, "per_page": 5000, "count": 13, "total_count": 13, "total_pages": 1},
                "success": true, "errors": [], "messages": []}),
    );
}

/// A collected estate and its snapshot id.
async fn estate() -> (TestDb, i64) {
    let f = Folder::new();
    write_estate(&f);
    let db = TestDb::new().await;
    let summary = collect_from_dir(&db.pool, f.path(), 2).await.unwrap();
    assert_eq!(summary.status, "complete", "{summary:?}");
    (db, summary.snapshot_id)
}

/// One row of `dns_bridge`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct Bridged {
    provider: String,
    zone: Option<String>,
    name: String,
    record_type: String,
    proxied: Option<bool>,
    private_zone: Option<bool>,
    chain: Vec<String>,
    target: String,
    resource_type: Option<String>,
    resource_id: Option<String>,
    node_id: Option<String>,
    account_id: Option<String>,
    region: Option<String>,
    dangling: bool,
}

async fn bridged(db: &TestDb, from: &str, params: &[&(dyn tokio_postgres::types::ToSql + Sync)]) -> Vec<Bridged> {
    let sql = format!(
        "SELECT provider, zone, name, record_type, proxied, private_zone, chain, target, resource_type, resource_id, \
                node_id, account_id, region, dangling FROM {from}"
    );
    let mut rows: Vec<Bridged> = db
        .pool
        .get()
        .await
        .unwrap()
        .query(&sql, params)
        .await
        .unwrap()
        .iter()
        .map(|r| Bridged {
            provider: r.get(0),
            zone: r.get(1),
            name: r.get(2),
            record_type: r.get(3),
            proxied: r.get(4),
            private_zone: r.get(5),
            chain: r.get(6),
            target: r.get(7),
            resource_type: r.get(8),
            resource_id: r.get(9),
            node_id: r.get(10),
            account_id: r.get(11),
            region: r.get(12),
            dangling: r.get(13),
        })
        .collect();
    // Sorted here: the database's collation decides where `*` sorts.
    rows.sort();
    rows
}

/// What a record resolves to: resource type, resource id, node id, region.
type Resolved<'a> = Option<(&'a str, &'a str, Option<&'a str>, &'a str)>;

/// An expected row of the `example.com` Cloudflare zone.
fn cloudflare(name: &str, kind: &str, proxied: bool, chain: &[&str], target: &str, resolved: Resolved) -> Bridged {
    row("cloudflare", "example.com", None, name, kind, Some(proxied), chain, target, resolved, false)
}

/// An expected row of the public `aws.example.com` Route 53 zone.
fn route53(name: &str, kind: &str, chain: &[&str], target: &str, resolved: Resolved) -> Bridged {
    row("route53", "aws.example.com", Some(false), name, kind, None, chain, target, resolved, false)
}

#[allow(clippy::too_many_arguments)]
fn row(
    provider: &str,
    zone: &str,
    private_zone: Option<bool>,
    name: &str,
    kind: &str,
    proxied: Option<bool>,
    chain: &[&str],
    target: &str,
    resolved: Resolved,
    dangling: bool,
) -> Bridged {
    let owned = |s: &str| s.to_owned();
    Bridged {
        provider: owned(provider),
        zone: Some(owned(zone)),
        name: owned(name),
        record_type: owned(kind),
        proxied,
        private_zone,
        chain: chain.iter().copied().map(owned).collect(),
        target: owned(target),
        resource_type: resolved.map(|r| owned(r.0)),
        resource_id: resolved.map(|r| owned(r.1)),
        node_id: resolved.and_then(|r| r.2.map(owned)),
        account_id: resolved.map(|_| owned(ACCOUNT_A)),
        region: resolved.map(|r| owned(r.3)),
        dangling,
    }
}

fn dangling(mut row: Bridged) -> Bridged {
    row.dangling = true;
    row
}

fn expected_rows() -> Vec<Bridged> {
    let dualstack_web = format!("dualstack.{ALB_WEB_DNS}");
    let web: Resolved = Some(("load_balancer", ALB_WEB, Some(ALB_WEB), REGION));
    let eni_web: Resolved = Some(("network_interface", ENI_WEB, Some(ENI_WEB), REGION));
    let s3_website = "s3-website-us-east-1.amazonaws.com";
    let mut rows = vec![
        cloudflare("api.example.com", "A", false, &["api.example.com"], "198.51.100.10", eni_web),
        cloudflare("api.example.com", "AAAA", false, &["api.example.com"], "2600:1F18:ABCD:1200:0:0:0:10", eni_web),
        cloudflare(
            "vpn.example.com",
            "A",
            false,
            &["vpn.example.com"],
            "198.51.100.20",
            Some(("elastic_ip", EIP_ATTACHED, Some(ENI_VPN), REGION)),
        ),
        cloudflare(
            "spare.example.com",
            "A",
            false,
            &["spare.example.com"],
            "198.51.100.30",
            Some(("elastic_ip", EIP_SPARE, None, REGION)),
        ),
        cloudflare(
            "www.example.com",
            "CNAME",
            true,
            &["www.example.com", "shop.aws.example.com", "app.aws.example.com"],
            &dualstack_web,
            web,
        ),
        cloudflare(
            "cdn.example.com",
            "CNAME",
            true,
            &["cdn.example.com"],
            "d111111abcdef8.cloudfront.net",
            Some(("cloudfront_distribution", DISTRIBUTION, None, G)),
        ),
        cloudflare(
            "assets.example.com",
            "CNAME",
            true,
            &["assets.example.com"],
            "assets-example.s3-website-us-east-1.amazonaws.com",
            Some(("s3_bucket", "assets-example", None, REGION)),
        ),
        dangling(cloudflare(
            "legacy.example.com",
            "CNAME",
            false,
            &["legacy.example.com"],
            "legacy-old-1234.us-east-1.elb.amazonaws.com",
            None,
        )),
        // The cycle ends where it would revisit a name, resolving to nothing.
        cloudflare(
            "loop-a.example.com",
            "CNAME",
            false,
            &["loop-a.example.com", "loop-b.example.com"],
            "loop-a.example.com",
            None,
        ),
        cloudflare(
            "loop-b.example.com",
            "CNAME",
            false,
            &["loop-b.example.com", "loop-a.example.com"],
            "loop-b.example.com",
            None,
        ),
        // Not an AWS hostname: unresolved, but nobody can claim it through AWS.
        cloudflare("ext.example.com", "CNAME", false, &["ext.example.com"], "partner.example.net", None),
        route53("app.aws.example.com", "A", &["app.aws.example.com"], &dualstack_web, web),
        route53("shop.aws.example.com", "A", &["shop.aws.example.com", "app.aws.example.com"], &dualstack_web, web),
        route53("*.aws.example.com", "CNAME", &["*.aws.example.com", "app.aws.example.com"], &dualstack_web, web),
        route53(
            "tools.aws.example.com",
            "A",
            &["tools.aws.example.com"],
            "dualstack.tools-987654321.us-east-1.elb.amazonaws.com",
            Some(("load_balancer", ALB_TOOLS, Some(ALB_TOOLS), REGION)),
        ),
        // A website alias names no bucket: S3 serves the bucket called like the record.
        route53(
            "static.aws.example.com",
            "A",
            &["static.aws.example.com"],
            s3_website,
            Some(("s3_bucket", "static.aws.example.com", None, REGION)),
        ),
        dangling(route53("gone.aws.example.com", "A", &["gone.aws.example.com"], s3_website, None)),
        row(
            "route53",
            "corp.internal",
            Some(true),
            "db.corp.internal",
            "A",
            None,
            &["db.corp.internal"],
            "10.0.1.5",
            None,
            false,
        ),
    ];
    rows.sort();
    rows
}

#[tokio::test]
async fn every_address_and_name_record_resolves_to_the_resource_behind_it_or_is_flagged() {
    let (db, snapshot) = estate().await;
    let rows = bridged(&db, "dns_bridge($1)", &[&snapshot]).await;
    let expected = expected_rows();
    for (got, want) in rows.iter().zip(&expected) {
        assert_eq!(got, want);
    }
    assert_eq!(rows.len(), expected.len(), "{rows:#?}");
    // MX, TXT, NS and SOA records are not address or name records.
    assert!(rows.iter().all(|r| ["A", "AAAA", "CNAME"].contains(&r.record_type.as_str())));
}

#[tokio::test]
async fn chains_stop_after_eight_steps() {
    let f = Folder::new();
    // hop0 → hop1 → … → hop11 → the load balancer: too long to follow to the end.
    let hops: Vec<Value> = (0..12)
        .map(|i| {
            cloudflare_record(
                i + 1,
                &format!("hop{i}.example.com"),
                "CNAME",
                &format!("hop{}.example.com", i + 1),
                false,
            )
        })
        .chain([cloudflare_record(13, "hop12.example.com", "CNAME", ALB_WEB_DNS, false)])
        .collect();
    f.write(
        "cloudflare/cloudflare.zones.json",
        &json!({"result": [{"id": CLOUDFLARE_ZONE, "name": "example.com"}], "success": true}),
    );
    f.write(
        &format!("cloudflare/cloudflare.dns-records/{CLOUDFLARE_ZONE}.json"),
        &json!({"result": hops, "success": true}),
    );
    f.aws(
        ACCOUNT_A,
        REGION,
        "elbv2.describe-load-balancers",
        &json!({"LoadBalancers": [load_balancer(ALB_WEB, "web", ALB_WEB_DNS)]}),
    );
    let db = TestDb::new().await;
    let snapshot = collect_from_dir(&db.pool, f.path(), 2).await.unwrap().snapshot_id;
    let rows = bridged(&db, "dns_bridge($1) WHERE name = 'hop0.example.com'", &[&snapshot]).await;
    let chain: Vec<String> = (0..9).map(|i| format!("hop{i}.example.com")).collect();
    assert_eq!(rows.len(), 1, "{rows:#?}");
    assert_eq!(rows[0].chain, chain);
    assert_eq!((rows[0].target.as_str(), rows[0].resource_type.as_deref()), ("hop9.example.com", None));
    // Four steps from the end, the load balancer is found.
    let near = bridged(&db, "dns_bridge($1) WHERE name = 'hop9.example.com'", &[&snapshot]).await;
    assert_eq!(near.len(), 1, "{near:#?}");
    assert_eq!(near[0].chain.len(), 4);
    assert_eq!(near[0].resource_id.as_deref(), Some(ALB_WEB));
}

/// The README's question — which unencrypted databases sit behind a Cloudflare-fronted name — as
/// one query over `dns_bridge`, `attack_paths`, `network_nodes` and `rds_db_instances`.
const UNENCRYPTED_DATABASES_BEHIND_CLOUDFLARE: &str = "\
SELECT DISTINCT d.name, db.account_id, db.region, db.db_instance_id, p.nodes
FROM dns_bridge($1) d
JOIN attack_paths p ON p.snapshot_id = $1 AND p.mode = 'internet' AND p.start_id = d.node_id
JOIN network_nodes n ON n.snapshot_id = p.snapshot_id AND n.node_id = p.target_id
JOIN rds_db_instances db ON db.snapshot_id = n.snapshot_id AND db.account_id = n.account_id
                        AND db.region = n.region AND db.db_instance_id = n.resource_id
WHERE d.provider = 'cloudflare' AND n.resource_type = 'rds_db_instance' AND NOT db.storage_encrypted
ORDER BY d.name, db.db_instance_id";

#[tokio::test]
async fn one_query_finds_the_unencrypted_database_behind_a_cloudflare_name() {
    let (db, snapshot) = estate().await;
    let client = db.pool.get().await.unwrap();
    // The flattening (`network::flatten_snapshot`) is not in this tree yet: its nodes, edges and
    // attack paths are written by hand. www.example.com → web ALB → web host → orders
    // (unencrypted) and ledger (encrypted); tools.aws.example.com (Route 53 only) → tools ALB →
    // tools host → reports (unencrypted).
    client
        .execute(
            "INSERT INTO network_nodes (snapshot_id, node_id, kind, resource_type, resource_id, account_id, region) VALUES
                ($1, 'internet', 'internet', NULL, NULL, NULL, NULL),
                ($1, $2, 'load_balancer', 'load_balancer', $2, $4, 'us-east-1'),
                ($1, $3, 'load_balancer', 'load_balancer', $3, $4, 'us-east-1'),
                ($1, 'eni-0000000000000web', 'eni', 'ec2_instance', 'i-0000000000000web', $4, 'us-east-1'),
                ($1, 'eni-00000000000tools', 'eni', 'ec2_instance', 'i-00000000000tools', $4, 'us-east-1'),
                ($1, 'eni-0000000000orders', 'eni', 'rds_db_instance', 'orders', $4, 'us-east-1'),
                ($1, 'eni-0000000000ledger', 'eni', 'rds_db_instance', 'ledger', $4, 'us-east-1'),
                ($1, 'eni-000000000reports', 'eni', 'rds_db_instance', 'reports', $4, 'us-east-1')",
            &[&snapshot, &ALB_WEB, &ALB_TOOLS, &ACCOUNT_A],
        )
        .await
        .unwrap();
    client
        .execute(
            "INSERT INTO reachability (snapshot_id, id, source_id, destination_id, protocol, from_port, to_port,
                                       address_family, mechanism, evidence) VALUES
                ($1, 1, 'internet', $2, 'tcp', 443, 443, 'ipv4', 'internet', '{}'),
                ($1, 2, $2, 'eni-0000000000000web', 'tcp', 8080, 8080, 'ipv4', 'load_balancer', '{}'),
                ($1, 3, 'eni-0000000000000web', 'eni-0000000000orders', 'tcp', 5432, 5432, 'ipv4', 'vpc', '{}'),
                ($1, 4, 'eni-0000000000000web', 'eni-0000000000ledger', 'tcp', 5432, 5432, 'ipv4', 'vpc', '{}'),
                ($1, 5, 'internet', $3, 'tcp', 443, 443, 'ipv4', 'internet', '{}'),
                ($1, 6, $3, 'eni-00000000000tools', 'tcp', 8080, 8080, 'ipv4', 'load_balancer', '{}'),
                ($1, 7, 'eni-00000000000tools', 'eni-000000000reports', 'tcp', 5432, 5432, 'ipv4', 'vpc', '{}')",
            &[&snapshot, &ALB_WEB, &ALB_TOOLS],
        )
        .await
        .unwrap();
    client
        .execute(
            "INSERT INTO attack_path_starts (snapshot_id, mode, start_id, max_hops, rank, score, reached,
                                             reached_databases, reached_unprotected, reached_vulnerable) VALUES
                ($1, 'internet', $2, 4, 1, 20, 3, 2, 0, 0),
                ($1, 'internet', $3, 4, 2, 10, 2, 1, 0, 0)",
            &[&snapshot, &ALB_WEB, &ALB_TOOLS],
        )
        .await
        .unwrap();
    client
        .execute(
            "INSERT INTO attack_paths (snapshot_id, mode, start_id, target_id, target_traits, hops, nodes, reachability_ids) VALUES
                ($1, 'internet', $2, 'eni-0000000000orders', '{database}', 2, ARRAY[$2, 'eni-0000000000000web', 'eni-0000000000orders'], '{2,3}'),
                ($1, 'internet', $2, 'eni-0000000000ledger', '{database}', 2, ARRAY[$2, 'eni-0000000000000web', 'eni-0000000000ledger'], '{2,4}'),
                ($1, 'internet', $3, 'eni-000000000reports', '{database}', 2, ARRAY[$3, 'eni-00000000000tools', 'eni-000000000reports'], '{6,7}')",
            &[&snapshot, &ALB_WEB, &ALB_TOOLS],
        )
        .await
        .unwrap();
    let found: Vec<(String, String, String, String, Vec<String>)> = client
        .query(UNENCRYPTED_DATABASES_BEHIND_CLOUDFLARE, &[&snapshot])
        .await
        .unwrap()
        .iter()
        .map(|r| (r.get(0), r.get(1), r.get(2), r.get(3), r.get(4)))
        .collect();
    let path = vec![ALB_WEB.to_owned(), "eni-0000000000000web".to_owned(), "eni-0000000000orders".to_owned()];
    assert_eq!(
        found,
        vec![("www.example.com".to_owned(), ACCOUNT_A.to_owned(), REGION.to_owned(), "orders".to_owned(), path)]
    );
}

#[tokio::test]
async fn the_view_answers_for_the_reconciled_snapshot_and_is_listed() {
    let (db, snapshot) = estate().await;
    let summary = reconcile(&db.pool, Some(snapshot)).await.unwrap();
    assert_eq!(bridged(&db, "dns_bridge", &[]).await, expected_rows());
    // The reconciliation summary counts the same rows.
    let client = db.pool.get().await.unwrap();
    let counts = client
        .query_one(
            "SELECT count(*), count(*) FILTER (WHERE resource_type IS NOT NULL), count(*) FILTER (WHERE dangling) FROM dns_bridge",
            &[],
        )
        .await
        .unwrap();
    let counts = json!({"records": counts.get::<_, i64>(0), "resolved": counts.get::<_, i64>(1), "dangling": counts.get::<_, i64>(2)});
    assert_eq!(summary["dns"], counts);
    assert_eq!(summary["dns"]["records"], json!(expected_rows().len()));
    let view = query::view(&db.pool, "dns_bridge", None).await.unwrap();
    assert_eq!(
        view.columns,
        [
            "provider",
            "zone",
            "name",
            "record_type",
            "proxied",
            "private_zone",
            "chain",
            "target",
            "resource_type",
            "resource_id",
            "node_id",
            "account_id",
            "region",
            "dangling"
        ]
    );
    assert_eq!(view.rows.len(), expected_rows().len());
    let www = view.objects().into_iter().find(|r| r["name"] == "www.example.com").unwrap();
    assert_eq!(www["chain"], json!(["www.example.com", "shop.aws.example.com", "app.aws.example.com"]));
    assert_eq!(www["node_id"], json!(ALB_WEB));
}
