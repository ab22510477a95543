//! The fixture estate: reproducible byte for byte, shaped as the table declarations expect, and
//! loadable into PostgreSQL with every table's row count equal to the truth's.

use secops_inventory::fixtures::{generate, DeviceCase, DeviceStatus, EdrStatus, EstateSpec, MatchedBy};
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
