//! The fixture estate: reproducible byte for byte, shaped as the table declarations expect, and
//! loadable into PostgreSQL with every table's row count equal to the truth's.

use secops_inventory::fixtures::{generate, DeviceCase, DeviceStatus, EdrStatus, EstateSpec, EstateTruth, MatchedBy};
use secops_inventory::sources;
use secops_store::testing::TestDb;
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// Every file under `root` (relative path → FNV-1a 64 hash of its bytes).
fn digest(root: &Path) -> BTreeMap<PathBuf, u64> {
    fn walk(root: &Path, dir: &Path, out: &mut BTreeMap<PathBuf, u64>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                walk(root, &path, out);
            } else {
                let bytes = std::fs::read(&path).unwrap();
                let hash = bytes
                    .iter()
                    .fold(0xcbf2_9ce4_8422_2325u64, |h, b| (h ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3));
                out.insert(path.strip_prefix(root).unwrap().to_path_buf(), hash);
            }
        }
    }
    let mut out = BTreeMap::new();
    walk(root, root, &mut out);
    out
}

fn small() -> EstateSpec {
    EstateSpec::default()
}

#[test]
fn the_same_seed_gives_a_byte_identical_folder_and_another_seed_does_not() {
    let (a, b, c) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let truth_a = generate(&small(), a.path()).unwrap();
    let truth_b = generate(&small(), b.path()).unwrap();
    let (files_a, files_b) = (digest(a.path()), digest(b.path()));
    assert!(files_a.len() > 100, "only {} files", files_a.len());
    assert_eq!(files_a, files_b, "same seed and spec, different folders");
    assert_eq!(truth_a, truth_b);

    generate(&EstateSpec { seed: small().seed + 1, ..small() }, c.path()).unwrap();
    let files_c = digest(c.path());
    let same = files_a.iter().filter(|(path, hash)| files_c.get(*path) == Some(hash)).count();
    assert_ne!(files_a, files_c, "another seed gave the same folder");
    assert!(files_a.get(Path::new("truth.json")) != files_c.get(Path::new("truth.json")));
    // Account ids come from the seed, so no AWS file can coincide.
    assert!(same < files_a.len() / 10, "{same} of {} files identical across seeds", files_a.len());
}

#[test]
fn generating_into_a_folder_that_is_not_empty_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("keep.txt"), "mine").unwrap();
    let err = generate(&small(), dir.path()).unwrap_err();
    assert_eq!(err.class, secops_core::ErrorClass::InvalidInput, "{err}");
    assert!(err.message.contains("not"), "{err}");
    let bad = EstateSpec { regions: vec!["moon-base".into()], ..small() };
    let err = generate(&bad, tempfile::tempdir().unwrap().path()).unwrap_err();
    assert!(err.message.contains("moon-base"), "{err}");
}

/// Every generated file parses, every table with a file finds records in it, and the records the
/// declarations find add up to the truth's counts.
#[test]
fn every_file_parses_and_every_table_finds_its_records() {
    let dir = tempfile::tempdir().unwrap();
    let truth = generate(&small(), dir.path()).unwrap();
    let tables = sources::all_tables();
    let mut found: BTreeMap<&str, u64> = BTreeMap::new();
    let mut files = 0;
    for path in digest(dir.path()).keys() {
        if path == Path::new("truth.json") {
            continue;
        }
        files += 1;
        let text = std::fs::read_to_string(dir.path().join(path)).unwrap();
        let pages: Vec<Value> = if path.extension().unwrap() == "jsonl" {
            text.lines()
                .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{}: {e}", path.display())))
                .collect()
        } else {
            match serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display())) {
                Value::Array(pages) => pages,
                page => vec![page],
            }
        };
        // The table is named by the file (or, for per-resource calls, by its folder).
        let name = path.file_stem().unwrap().to_str().unwrap();
        let folder = path.parent().and_then(|p| p.file_name()).and_then(|n| n.to_str()).unwrap_or_default();
        let table = tables
            .iter()
            .find(|t| t.parent.is_none() && t.file == name || t.parent.is_some() && t.file == folder)
            .unwrap_or_else(|| panic!("{}: no table declares this file", path.display()));
        for page in &pages {
            assert!(page.is_object(), "{}: a page is not an object", path.display());
            *found.entry(table.name).or_default() += table.records_of(page).len() as u64;
        }
    }
    assert!(files > 100);
    for table in &tables {
        let n = found.get(table.name).copied().unwrap_or(0);
        assert!(n > 0, "{}: no records found at {}", table.name, table.records);
        assert_eq!(Some(&n), truth.counts.get(table.name), "{}", table.name);
    }
    assert_eq!(truth.counts.len(), tables.len());
}

/// The planted reconciliation cases are in the truth with the outcome the brief asks for.
#[test]
fn the_truth_holds_every_planted_edge_case() {
    let dir = tempfile::tempdir().unwrap();
    let spec = small();
    let truth = generate(&spec, dir.path()).unwrap();
    assert_eq!(truth.instances.len(), spec.instances);
    assert_eq!(truth.counts["ec2_instances"], spec.instances as u64);
    let written: Value = serde_json::from_slice(&std::fs::read(dir.path().join("truth.json")).unwrap()).unwrap();
    assert_eq!(written, serde_json::to_value(&truth).unwrap(), "truth.json is the returned truth");

    let cases: BTreeMap<DeviceCase, usize> = truth.falcon_devices.iter().fold(BTreeMap::new(), |mut m, d| {
        *m.entry(d.case).or_default() += 1;
        m
    });
    for case in [
        DeviceCase::InstanceId,
        DeviceCase::PrivateIp,
        DeviceCase::Superseded,
        DeviceCase::TerminatedInstance,
        DeviceCase::TerminatedInstanceIpReused,
        DeviceCase::AmbiguousPrivateIp,
        DeviceCase::SeenBeforeLaunch,
    ] {
        assert!(cases.get(&case).copied().unwrap_or(0) > 0, "no {case:?} device");
    }
    let live: Vec<_> = truth.falcon_devices.iter().filter(|d| d.status == DeviceStatus::Live).collect();
    let matched: Vec<_> = truth.instances.iter().filter(|i| i.edr == EdrStatus::Matched).collect();
    assert_eq!(live.len(), matched.len(), "one live record per protected instance");
    let unprotected = spec.instances - matched.len();
    assert_eq!(unprotected, (spec.unprotected_ratio * spec.instances as f64).round() as usize);
    let dead = truth.falcon_devices.len() - live.len();
    assert_eq!(dead, (spec.falcon_ghost_ratio * spec.instances as f64).round() as usize);
    assert_eq!(truth.counts["falcon_hosts"], truth.falcon_devices.len() as u64);
    assert!(matched.iter().any(|i| i.matched_by == Some(MatchedBy::PrivateIp)));

    // Two live instances of one account share a private IP, in different VPCs.
    let mut by_ip: BTreeMap<(&str, &str), BTreeSet<&str>> = BTreeMap::new();
    for i in &truth.instances {
        by_ip.entry((&i.account_id, &i.private_ip)).or_default().insert(&i.vpc_id);
    }
    let shared: Vec<_> = by_ip.iter().filter(|(_, vpcs)| vpcs.len() > 1).collect();
    assert_eq!(shared.len(), 1, "{shared:?}");
    let (shared_account, shared_ip) = shared[0].0;
    // (Other accounts may use the same address: matching is within an account.)
    for i in truth.instances.iter().filter(|i| i.account_id == *shared_account && i.private_ip == *shared_ip) {
        assert_eq!(i.edr, EdrStatus::Unprotected, "{} must not be matched through an ambiguous IP", i.instance_id);
    }

    // The files agree with the truth: the ambiguous host has no instance id and the shared IP.
    let hosts = read_hosts(dir.path());
    let ambiguous = truth.falcon_devices.iter().find(|d| d.case == DeviceCase::AmbiguousPrivateIp).unwrap();
    let host = &hosts[&ambiguous.device_id];
    assert!(host.get("instance_id").is_none());
    assert_eq!(host["local_ip"], *shared_ip);
    assert_eq!(host["service_provider_account_id"], *shared_account);
    // A record seen before launch sits on a live instance's IP with last_seen < launch_time.
    let early = truth.falcon_devices.iter().find(|d| d.case == DeviceCase::SeenBeforeLaunch).unwrap();
    let host = &hosts[&early.device_id];
    let account = host["service_provider_account_id"].as_str().unwrap();
    let target =
        truth.instances.iter().find(|i| i.account_id == account && host["local_ip"] == i.private_ip.as_str()).unwrap();
    assert!(host["last_seen"].as_str().unwrap() < target.launch_time.as_str());
    assert_eq!(target.edr, EdrStatus::Unprotected);
    // Ghosts name instances that do not exist, and were last seen days ago.
    let live_ids: BTreeSet<&str> = truth.instances.iter().map(|i| i.instance_id.as_str()).collect();
    for ghost in truth.falcon_devices.iter().filter(|d| d.case == DeviceCase::TerminatedInstance).take(200) {
        let host = &hosts[&ghost.device_id];
        assert!(!live_ids.contains(host["instance_id"].as_str().unwrap()));
        assert!(host["last_seen"].as_str().unwrap() < truth.base_time.as_str());
    }
    // Every live record's instance, and the superseded ones, agree with the host files.
    for device in truth.falcon_devices.iter().filter(|d| d.status == DeviceStatus::Live) {
        let owner = device.instance_id.as_deref().unwrap();
        let instance = truth.instances.iter().find(|i| i.instance_id == owner).unwrap();
        assert_eq!(instance.device_id.as_deref(), Some(device.device_id.as_str()));
        assert_eq!(hosts[&device.device_id]["local_ip"], instance.private_ip.as_str());
    }
    assert!(!truth.public_buckets.is_empty());
    assert!(!truth.blocked_public_buckets.is_empty());
    assert_eq!(truth.unencrypted_databases.len(), (spec.unencrypted_db_ratio * spec.databases as f64).round() as usize);
    assert!(!truth.dangling_dns_records.is_empty());
}

fn read_hosts(root: &Path) -> BTreeMap<String, Value> {
    let text = std::fs::read_to_string(root.join("falcon/falcon.devices.jsonl")).unwrap();
    let mut out = BTreeMap::new();
    for line in text.lines() {
        let page: Value = serde_json::from_str(line).unwrap();
        let resources = page["resources"].as_array().unwrap();
        assert!(resources.len() <= 1000);
        for host in resources {
            out.insert(host["device_id"].as_str().unwrap().to_owned(), host.clone());
        }
    }
    out
}

#[test]
fn the_benchmark_estate_has_the_promised_size() {
    let dir = tempfile::tempdir().unwrap();
    let spec = EstateSpec::benchmark();
    let truth = generate(&spec, dir.path()).unwrap();
    assert_eq!(truth.counts["ec2_instances"], 2_000);
    assert_eq!(truth.instances.len(), 2_000);
    assert_eq!(truth.counts["falcon_hosts"], 50_000);
    assert!(truth.counts["ec2_security_group_rules"] >= 10_000, "{}", truth.counts["ec2_security_group_rules"]);
    assert_eq!(truth.counts["s3_buckets"], 5_000);
    // Pages never hold more than 1,000 records.
    for line in std::fs::read_to_string(dir.path().join("falcon/falcon.devices.jsonl")).unwrap().lines() {
        let page: Value = serde_json::from_str(line).unwrap();
        assert!(page["resources"].as_array().unwrap().len() <= 1000);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_default_estate_loads_completely_with_the_truths_counts() {
    let dir = tempfile::tempdir().unwrap();
    let truth = generate(&small(), dir.path()).unwrap();
    let db = TestDb::new().await;
    let summary = secops_inventory::collect_from_dir(&db.pool, dir.path(), 4).await.unwrap();
    assert_eq!(summary.status, "complete", "{:?}", summary.failed_runs);
    assert!(summary.failed_runs.is_empty());
    let expected: u64 = truth.counts.values().sum();
    assert_eq!(summary.records as u64, expected);
    let client = db.pool.get().await.unwrap();
    for (table, count) in &truth.counts {
        let row = client
            .query_one(&format!("SELECT count(*) FROM {table} WHERE snapshot_id = $1"), &[&summary.snapshot_id])
            .await
            .unwrap();
        let rows: i64 = row.get(0);
        assert_eq!(rows as u64, *count, "{table}");
    }
    // Falcon hosts are placed in their AWS account and region from their own fields.
    let row = client
        .query_one(
            "SELECT count(*) FILTER (WHERE account_id IS NULL OR region IS NULL), count(*) FILTER (WHERE instance_id IS NULL) \
             FROM falcon_hosts WHERE snapshot_id = $1",
            &[&summary.snapshot_id],
        )
        .await
        .unwrap();
    assert_eq!(row.get::<_, i64>(0), 0);
    let without_instance = truth
        .falcon_devices
        .iter()
        .filter(|d| {
            matches!(d.case, DeviceCase::PrivateIp | DeviceCase::AmbiguousPrivateIp | DeviceCase::SeenBeforeLaunch)
        })
        .count();
    assert_eq!(row.get::<_, i64>(1) as usize, without_instance);
}

/// Every record of `table` in the folder, each with the `<account>/<region>` folder it is in (the
/// vendor folder's name for Falcon and Cloudflare) and, for a per-resource call, its parent.
fn records_of(root: &Path, table: &str) -> Vec<(String, Option<String>, Value)> {
    let declared = sources::all_tables().into_iter().find(|t| t.name == table).unwrap();
    let mut out = Vec::new();
    for path in digest(root).keys() {
        let name = path.file_stem().unwrap().to_str().unwrap();
        let folder = path.parent().and_then(|p| p.file_name()).and_then(|n| n.to_str()).unwrap_or_default();
        let parent = match declared.parent {
            None if declared.file == name => None,
            Some(_) if declared.file == folder => Some(name.replace("%2F", "/").replace("%25", "%")),
            _ => continue,
        };
        let place: Vec<&str> = path.iter().map(|c| c.to_str().unwrap()).collect();
        let place = if place[0] == "aws" { format!("{}/{}", place[1], place[2]) } else { place[0].to_owned() };
        let text = std::fs::read_to_string(root.join(path)).unwrap();
        let pages: Vec<Value> = if path.extension().unwrap() == "jsonl" {
            text.lines().map(|l| serde_json::from_str(l).unwrap()).collect()
        } else {
            match serde_json::from_str(&text).unwrap() {
                Value::Array(pages) => pages,
                page => vec![page],
            }
        };
        for page in &pages {
            for record in declared.records_of(page) {
                out.push((place.clone(), parent.clone(), record.clone()));
            }
        }
    }
    out
}

fn text(v: &Value) -> &str {
    v.as_str().unwrap_or_else(|| panic!("not a string: {v}"))
}

/// Whether dotted `ip` lies in `cidr` (IPv4).
fn contains(cidr: &str, ip: &str) -> bool {
    let (base, bits) = cidr.split_once('/').unwrap();
    let (base, ip): (std::net::Ipv4Addr, std::net::Ipv4Addr) = (base.parse().unwrap(), ip.parse().unwrap());
    let mask = u32::MAX.checked_shl(32 - bits.parse::<u32>().unwrap()).unwrap_or(0);
    u32::from(base) & mask == u32::from(ip) & mask
}

/// The network files of the default estate agree with each other and with the truth: database
/// interfaces, target groups and their targets, Elastic IPs, peerings and their routes, and the
/// DNS names pointing at load balancers and instances.
#[test]
fn the_network_files_agree_with_each_other_and_with_the_truth() {
    let dir = tempfile::tempdir().unwrap();
    let truth: EstateTruth = generate(&small(), dir.path()).unwrap();
    let root = dir.path();
    let interfaces: BTreeMap<String, (String, Value)> = records_of(root, "ec2_network_interfaces")
        .into_iter()
        .map(|(place, _, r)| (text(&r["NetworkInterfaceId"]).to_owned(), (place, r)))
        .collect();
    let subnets: BTreeMap<String, Value> =
        records_of(root, "ec2_subnets").into_iter().map(|(_, _, r)| (text(&r["SubnetId"]).to_owned(), r)).collect();

    // Every database has one RDS interface: its groups, a subnet of its subnet group in its zone,
    // an address in that subnet, and a public address exactly when it is publicly accessible.
    let databases = records_of(root, "rds_db_instances");
    assert_eq!(databases.len(), 24);
    assert_eq!(truth.network.database_interfaces.len(), 24);
    let rds_interfaces = interfaces.values().filter(|(_, r)| r["RequesterId"] == "amazon-rds").count();
    assert_eq!(rds_interfaces, 24);
    let mut public_databases = 0;
    for (place, _, db) in &databases {
        let eni = &truth.network.database_interfaces[text(&db["DBInstanceIdentifier"])];
        let (eni_place, interface) = &interfaces[eni];
        assert_eq!(eni_place, place);
        assert_eq!(interface["Description"], "RDSNetworkInterface");
        assert_eq!(interface["RequesterManaged"], true);
        let groups: Vec<&str> = interface["Groups"].as_array().unwrap().iter().map(|g| text(&g["GroupId"])).collect();
        let wanted: Vec<&str> =
            db["VpcSecurityGroups"].as_array().unwrap().iter().map(|g| text(&g["VpcSecurityGroupId"])).collect();
        assert_eq!(groups, wanted);
        assert_eq!(interface["VpcId"], db["DBSubnetGroup"]["VpcId"]);
        let subnet_id = text(&interface["SubnetId"]);
        let group_subnets: Vec<&str> =
            db["DBSubnetGroup"]["Subnets"].as_array().unwrap().iter().map(|s| text(&s["SubnetIdentifier"])).collect();
        assert!(group_subnets.contains(&subnet_id), "{subnet_id} not in {group_subnets:?}");
        assert_eq!(interface["AvailabilityZone"], db["AvailabilityZone"]);
        assert_eq!(subnets[subnet_id]["AvailabilityZone"], db["AvailabilityZone"]);
        assert!(contains(text(&subnets[subnet_id]["CidrBlock"]), text(&interface["PrivateIpAddress"])));
        let public = db["PubliclyAccessible"].as_bool().unwrap();
        assert_eq!(interface.get("Association").is_some(), public, "{eni}");
        assert_eq!(subnets[subnet_id]["MapPublicIpOnLaunch"], public, "a public database sits in a public subnet");
        public_databases += usize::from(public);
    }
    assert!(public_databases > 0 && public_databases < 24, "{public_databases} public databases");

    // Two load balancers per site (web internet-facing, API internal), one target group each,
    // registered with its tier's instances on 8080; one interface per zone.
    let instances: BTreeMap<&str, &secops_inventory::fixtures::InstanceTruth> =
        truth.instances.iter().map(|i| (i.instance_id.as_str(), i)).collect();
    let groups = records_of(root, "elb_target_groups");
    assert_eq!(groups.len(), 12);
    assert_eq!(truth.network.load_balancers.len(), 12);
    let health = records_of(root, "elb_target_health");
    for lb in &truth.network.load_balancers {
        let group = &groups.iter().find(|(_, _, g)| g["TargetGroupArn"] == lb.target_group_arn.as_str()).unwrap().2;
        assert_eq!(group["LoadBalancerArns"], serde_json::json!([lb.arn]));
        assert_eq!(group["Port"], 8080);
        let mut registered: Vec<&str> = health
            .iter()
            .filter(|(_, parent, _)| parent.as_deref() == Some(lb.target_group_arn.as_str()))
            .map(|(_, _, t)| {
                assert_eq!(t["Target"]["Port"], 8080);
                text(&t["Target"]["Id"])
            })
            .collect();
        registered.sort();
        assert_eq!(registered, lb.targets.iter().map(String::as_str).collect::<Vec<_>>());
        let tier = if lb.internet_facing { "web" } else { "api" };
        assert!(!lb.targets.is_empty(), "{} has no targets", lb.arn);
        for target in &lb.targets {
            assert_eq!(instances[target.as_str()].role, tier);
            assert_eq!(instances[target.as_str()].vpc_id, text(&group["VpcId"]));
        }
        assert_eq!(lb.interfaces.len(), 3);
        for eni in &lb.interfaces {
            let interface = &interfaces[eni].1;
            assert_eq!(interface["RequesterId"], "amazon-elb");
            assert!(text(&interface["Description"]).starts_with("ELB app/"));
            assert_eq!(interface.get("Association").is_some(), lb.internet_facing);
        }
    }
    let total_targets: usize = truth.network.load_balancers.iter().map(|lb| lb.targets.len()).sum();
    assert_eq!(health.len(), total_targets);

    // Elastic IPs: the NAT gateways' and the bastions' (each on its interface with that address)
    // and one spare per production region.
    let addresses = records_of(root, "ec2_addresses");
    assert_eq!(addresses.len(), truth.network.elastic_ips.len());
    let spare: Vec<_> = truth.network.elastic_ips.iter().filter(|e| e.network_interface_id.is_none()).collect();
    assert_eq!(spare.len(), 2, "one spare per production region");
    for eip in &truth.network.elastic_ips {
        let record = &addresses.iter().find(|(_, _, a)| a["AllocationId"] == eip.allocation_id.as_str()).unwrap().2;
        assert_eq!(record["PublicIp"], eip.public_ip.as_str());
        match &eip.network_interface_id {
            Some(eni) => {
                assert_eq!(record["NetworkInterfaceId"], eni.as_str());
                assert_eq!(interfaces[eni].1["Association"]["PublicIp"], eip.public_ip.as_str());
                assert_eq!(interfaces[eni].1["Association"]["AllocationId"], eip.allocation_id.as_str());
            }
            None => assert!(record.get("AssociationId").is_none()),
        }
    }
    let bastions = truth.instances.iter().filter(|i| i.role == "bastion").count();
    let nats = records_of(root, "ec2_nat_gateways").len();
    assert_eq!(truth.network.elastic_ips.len(), nats + bastions + 2);

    // Peerings: listed in both sides' regions; the active one routed both ways, the pending one
    // not at all.
    let peerings = records_of(root, "ec2_vpc_peering_connections");
    assert_eq!(truth.network.peerings.len(), 2);
    assert_eq!(peerings.len(), 4, "each side lists each peering");
    let routes: Vec<(String, String)> = records_of(root, "ec2_route_tables")
        .iter()
        .flat_map(|(_, _, t)| {
            let vpc = text(&t["VpcId"]).to_owned();
            t["Routes"]
                .as_array()
                .unwrap()
                .iter()
                .filter_map(move |r| r["VpcPeeringConnectionId"].as_str().map(|p| (vpc.clone(), p.to_owned())))
        })
        .collect();
    for peering in &truth.network.peerings {
        let listed: Vec<&Value> = peerings
            .iter()
            .filter(|(_, _, p)| p["VpcPeeringConnectionId"] == peering.id.as_str())
            .map(|x| &x.2)
            .collect();
        assert_eq!(listed.len(), 2);
        for p in listed {
            assert_eq!(p["Status"]["Code"], peering.status.as_str());
            assert_eq!(p["RequesterVpcInfo"]["VpcId"], peering.requester_vpc_id.as_str());
            assert_eq!(p["AccepterVpcInfo"]["VpcId"], peering.accepter_vpc_id.as_str());
        }
        let routed: BTreeSet<&str> = routes.iter().filter(|(_, p)| *p == peering.id).map(|(v, _)| v.as_str()).collect();
        if peering.status == "active" {
            let both: BTreeSet<&str> = [peering.requester_vpc_id.as_str(), peering.accepter_vpc_id.as_str()].into();
            assert_eq!(routed, both);
        } else {
            assert_eq!(peering.status, "pending-acceptance");
            assert!(routed.is_empty());
        }
    }

    // Cloudflare: proxied CNAMEs to the web load balancers, A records to instances' public IPs.
    let dns = records_of(root, "cloudflare_dns_records");
    let web_dns: BTreeSet<&str> =
        truth.network.load_balancers.iter().filter(|lb| lb.internet_facing).map(|lb| lb.dns_name.as_str()).collect();
    let proxied_to_lb = dns
        .iter()
        .filter(|(_, _, r)| r["type"] == "CNAME" && r["proxied"] == true && web_dns.contains(text(&r["content"])))
        .count();
    // app-<region> for each of the six, and www for development (which has no CloudFront).
    assert_eq!(proxied_to_lb, 7);
    let public_ips: BTreeSet<&str> = interfaces
        .values()
        .filter(|(_, i)| i["Attachment"]["InstanceId"].is_string())
        .filter_map(|(_, i)| i["Association"]["PublicIp"].as_str())
        .collect();
    let to_instances =
        dns.iter().filter(|(_, _, r)| r["type"] == "A" && public_ips.contains(text(&r["content"]))).count();
    assert!(to_instances >= 3, "{to_instances} A records name an instance's public IP");
}

/// The network benchmark's estate, counted from its files (no database).
#[test]
fn the_network_benchmark_has_the_promised_size() {
    let dir = tempfile::tempdir().unwrap();
    let started = std::time::Instant::now();
    let truth = generate(&EstateSpec::network_benchmark(), dir.path()).unwrap();
    let elapsed = started.elapsed();
    let root = dir.path();
    let count = |table: &str| records_of(root, table).len();
    let interfaces = records_of(root, "ec2_network_interfaces");
    let mut per_vpc: BTreeMap<String, usize> = BTreeMap::new();
    for (_, _, i) in &interfaces {
        *per_vpc.entry(text(&i["VpcId"]).to_owned()).or_default() += 1;
    }
    let rules = records_of(root, "ec2_security_group_rules");
    let referencing = rules.iter().filter(|(_, _, r)| r["ReferencedGroupInfo"]["GroupId"].is_string()).count();
    let prefix_lists = rules.iter().filter(|(_, _, r)| r["PrefixListId"].is_string()).count();
    let world_open = rules.iter().filter(|(_, _, r)| r["IsEgress"] == false && r["CidrIpv4"] == "0.0.0.0/0").count();
    let acls = records_of(root, "ec2_network_acls");
    let denying = acls
        .iter()
        .filter(|(_, _, a)| {
            a["Entries"].as_array().unwrap().iter().any(|e| e["RuleAction"] == "deny" && e["RuleNumber"] != 32767)
        })
        .count();
    let internet_facing =
        records_of(root, "elb_load_balancers").iter().filter(|(_, _, lb)| lb["Scheme"] == "internet-facing").count();
    let peerings: BTreeSet<String> = records_of(root, "ec2_vpc_peering_connections")
        .iter()
        .map(|(_, _, p)| text(&p["VpcPeeringConnectionId"]).to_owned())
        .collect();
    let measured = [
        ("interfaces", interfaces.len()),
        ("security groups", count("ec2_security_groups")),
        ("rules", rules.len()),
        ("referencing rules", referencing),
        ("prefix-list rules", prefix_lists),
        ("world-open ingress rules", world_open),
        ("subnets", count("ec2_subnets")),
        ("network ACLs", acls.len()),
        ("ACLs with deny entries", denying),
        ("VPCs", count("ec2_vpcs")),
        ("VPCs with interfaces", per_vpc.len()),
        // (The 18 application VPCs and the legacy one; realistic VPC-wide rules need ≤ ~500 each.)
        ("most interfaces in a VPC", per_vpc.values().copied().max().unwrap_or(0)),
        ("internet-facing load balancers", internet_facing),
        ("target groups", count("elb_target_groups")),
        ("registered targets", count("elb_target_health")),
        ("peerings", peerings.len()),
    ];
    eprintln!("network benchmark generated in {elapsed:?}: {measured:?}");
    assert_eq!(
        measured.to_vec(),
        vec![
            ("interfaces", 5_000),
            ("security groups", 2_006),
            ("rules", 20_000),
            ("referencing rules", 4_943),
            ("prefix-list rules", 1_258),
            ("world-open ingress rules", 402),
            ("subnets", 505),
            ("network ACLs", 193),
            ("ACLs with deny entries", 85),
            ("VPCs", 25),
            ("VPCs with interfaces", 19),
            ("most interfaces in a VPC", 479),
            ("internet-facing load balancers", 18),
            ("target groups", 36),
            ("registered targets", 1_834),
            ("peerings", 4),
        ]
    );
    // The files hold what the truth counted.
    assert_eq!(truth.counts["ec2_network_interfaces"], interfaces.len() as u64);
    assert_eq!(truth.counts["ec2_security_group_rules"], rules.len() as u64);
}
