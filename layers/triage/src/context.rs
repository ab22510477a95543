//! What the database knows about a finding: a fixed catalogue of read-only queries, each run with
//! parameters taken from the finding (never from its free text), each result kept with the
//! query's name so a report can cite it as evidence.
//!
//! The same catalogue is what a language model may call as tools ([`tool_specs`], [`run_tool`]):
//! a tool is a named query with typed, pattern-checked parameters, so no text from a finding or a
//! model ever becomes SQL.
//!
//! Every query reads the current inventory snapshot (`current_inventory_snapshot()`), returns its
//! rows as JSON objects, keeps at most [`MAX_ROWS`] of them and counts them all.
//!
//! | query | parameters | what it answers |
//! |---|---|---|
//! | `resource` | resource id | the finding's resource: an instance, bucket, RDS instance or snapshot, load balancer, ECR repository, security group or Falcon host |
//! | `related_resources` | instance or security group | instances of the same auto-scaling group, EKS cluster or VPC; what uses a security group |
//! | `edr_status` | instance id | the instance's Falcon sensor: matched or unprotected, why, version, last seen |
//! | `exposure` | resource id | how the internet reaches it (rows of the `exposure` view) |
//! | `attack_paths` | resource id | attack paths that start or end at its network nodes |
//! | `similar_findings` | kind | other open findings of the kind per account, earlier triage verdicts, closed tickets of the control |
//! | `resource_findings` | resource id | other open findings on the same resource |
//! | `open_tickets` | (the finding) | open tickets for the finding; earlier triage tickets on its resource |
//! | `account` | account id | the cached account data and the environment most of its instances carry |

use std::collections::BTreeSet;
use std::sync::OnceLock;

use regex::Regex;
use secops_core::StepError;
use serde::Serialize;
use serde_json::{json, Value};

use crate::db;
use crate::finding::SecurityFinding;
use crate::llm::ToolSpec;

/// The most rows one query contributes (the rest is counted, not kept).
pub const MAX_ROWS: usize = 25;

/// One query that ran and what it returned.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ContextItem {
    /// The catalogue name (`resource`, `edr_status`, …): what evidence cites.
    pub query: String,
    /// What the query answers, in a sentence.
    pub description: String,
    /// The parameters it ran with.
    pub parameters: Value,
    /// At most [`MAX_ROWS`] rows, each a JSON object of the columns.
    pub rows: Vec<Value>,
    /// Rows there were in all (more than `rows.len()` when truncated).
    pub total_rows: usize,
}

/// Everything gathered for one finding.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Context {
    pub items: Vec<ContextItem>,
}

impl Context {
    pub fn item(&self, query: &str) -> Option<&ContextItem> {
        self.items.iter().find(|i| i.query == query)
    }

    /// The names evidence may cite.
    pub fn queries_run(&self) -> BTreeSet<String> {
        self.items.iter().map(|i| i.query.clone()).collect()
    }

    pub fn push(&mut self, item: ContextItem) {
        self.items.push(item);
    }
}

/// The catalogue's names, in the order [`gather`] runs them.
pub mod query {
    pub const RESOURCE: &str = "resource";
    pub const RELATED_RESOURCES: &str = "related_resources";
    pub const EDR_STATUS: &str = "edr_status";
    pub const EXPOSURE: &str = "exposure";
    pub const ATTACK_PATHS: &str = "attack_paths";
    pub const SIMILAR_FINDINGS: &str = "similar_findings";
    pub const RESOURCE_FINDINGS: &str = "resource_findings";
    pub const OPEN_TICKETS: &str = "open_tickets";
    pub const ACCOUNT: &str = "account";

    pub const ALL: [&str; 9] = [
        RESOURCE,
        RELATED_RESOURCES,
        EDR_STATUS,
        EXPOSURE,
        ATTACK_PATHS,
        SIMILAR_FINDINGS,
        RESOURCE_FINDINGS,
        OPEN_TICKETS,
        ACCOUNT,
    ];
}

// ---------------------------------------------------------------------------------------------
// Resources: which table a finding's resource id points into.
// ---------------------------------------------------------------------------------------------

/// What kind of inventory record a resource id names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ResourceKind {
    Instance,
    SecurityGroup,
    S3Bucket,
    RdsInstance,
    RdsSnapshot,
    LoadBalancer,
    EcrRepository,
    FalconHost,
    /// A bare name: a bucket, an RDS instance or an ECR repository.
    Named,
    /// Anything else (an access key, an IAM user, a Lambda function, …): no inventory table.
    Other,
}

impl ResourceKind {
    /// The name the SQL branches on.
    pub fn as_str(self) -> &'static str {
        match self {
            ResourceKind::Instance => "instance",
            ResourceKind::SecurityGroup => "security_group",
            ResourceKind::S3Bucket => "s3_bucket",
            ResourceKind::RdsInstance => "rds_instance",
            ResourceKind::RdsSnapshot => "rds_snapshot",
            ResourceKind::LoadBalancer => "load_balancer",
            ResourceKind::EcrRepository => "ecr_repository",
            ResourceKind::FalconHost => "falcon_host",
            ResourceKind::Named => "named",
            ResourceKind::Other => "other",
        }
    }
}

/// A resource id as the inventory keys it: the kind, the key of its table (an instance id, a
/// bucket name, an ARN, …) and the ways other findings may spell the same resource.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ResourceRef {
    pub kind: ResourceKind,
    pub key: String,
    /// The id as the finding gave it.
    pub id: String,
    /// Another finding names the same resource when its id ends with this (`/i-…` of an EC2
    /// ARN, `:::bucket` of an S3 ARN, `:db:name` of an RDS ARN).
    pub suffix: Option<String>,
    /// … or starts with this (the image ARNs of an ECR repository).
    pub prefix: Option<String>,
}

fn re(cell: &'static OnceLock<Regex>, pattern: &str) -> &'static Regex {
    // The patterns are literals of this file; a test compiles every one of them.
    cell.get_or_init(|| Regex::new(pattern).expect("a valid built-in pattern"))
}

impl ResourceRef {
    /// Classify a resource id by its shape. `resource_type` only tells a Falcon device id apart.
    pub fn resolve(resource_type: Option<&str>, id: &str) -> ResourceRef {
        static INSTANCE: OnceLock<Regex> = OnceLock::new();
        static GROUP: OnceLock<Regex> = OnceLock::new();
        static EC2_ARN: OnceLock<Regex> = OnceLock::new();
        static S3_ARN: OnceLock<Regex> = OnceLock::new();
        static RDS_ARN: OnceLock<Regex> = OnceLock::new();
        static ECR_ARN: OnceLock<Regex> = OnceLock::new();
        static DEVICE: OnceLock<Regex> = OnceLock::new();
        static NAME: OnceLock<Regex> = OnceLock::new();
        let id = id.trim();
        let build = |kind: ResourceKind, key: &str, suffix: Option<String>, prefix: Option<String>| ResourceRef {
            kind,
            key: key.to_owned(),
            id: id.to_owned(),
            suffix,
            prefix,
        };
        if re(&INSTANCE, r"^i-[0-9a-f]{8,17}$").is_match(id) {
            return build(ResourceKind::Instance, id, Some(format!("/{id}")), None);
        }
        if re(&GROUP, r"^sg-[0-9a-f]{8,17}$").is_match(id) {
            return build(ResourceKind::SecurityGroup, id, Some(format!("/{id}")), None);
        }
        if let Some(c) =
            re(&EC2_ARN, r"^arn:aws[a-z-]*:ec2:[a-z0-9-]*:[0-9]{12}:(instance|security-group)/((i|sg)-[0-9a-f]{8,17})$")
                .captures(id)
        {
            let key = &c[2];
            let kind = if &c[1] == "instance" { ResourceKind::Instance } else { ResourceKind::SecurityGroup };
            return build(kind, key, Some(format!("/{key}")), None);
        }
        if let Some(c) = re(&S3_ARN, r"^arn:aws[a-z-]*:s3:::([a-z0-9][a-z0-9.-]{1,61}[a-z0-9])$").captures(id) {
            let key = &c[1];
            return build(ResourceKind::S3Bucket, key, Some(format!(":::{key}")), None);
        }
        if let Some(c) =
            re(&RDS_ARN, r"^arn:aws[a-z-]*:rds:[a-z0-9-]+:[0-9]{12}:(db|snapshot):([A-Za-z0-9][A-Za-z0-9-]{0,254})$")
                .captures(id)
        {
            let key = &c[2];
            let kind = if &c[1] == "db" { ResourceKind::RdsInstance } else { ResourceKind::RdsSnapshot };
            return build(kind, key, Some(format!(":{}:{key}", &c[1])), None);
        }
        if id.starts_with("arn:aws") && id.contains(":elasticloadbalancing:") && id.contains(":loadbalancer/") {
            return build(ResourceKind::LoadBalancer, id, None, None);
        }
        if let Some(c) = re(
            &ECR_ARN,
            r"^(arn:aws[a-z-]*:ecr:[a-z0-9-]+:[0-9]{12}:repository/([a-z0-9][a-z0-9._/-]{0,255}?))(/sha256:[0-9a-f]{64})?$",
        )
        .captures(id)
        {
            let key = &c[2];
            return build(ResourceKind::EcrRepository, key, None, Some(format!("{}/", &c[1])));
        }
        if re(&DEVICE, r"^[0-9a-f]{32}$").is_match(id) && resource_type.is_none_or(|t| t == "FalconHost") {
            return build(ResourceKind::FalconHost, id, None, None);
        }
        if re(&NAME, r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$").is_match(id) {
            return build(ResourceKind::Named, id, None, None);
        }
        build(ResourceKind::Other, id, None, None)
    }

    /// The finding's resource, when it names one.
    pub fn of(finding: &SecurityFinding) -> Option<ResourceRef> {
        let id = finding.resource_id.as_deref().map(str::trim).filter(|s| !s.is_empty())?;
        Some(ResourceRef::resolve(finding.resource_type.as_deref(), id))
    }

    /// The ids other findings may give this resource exactly (an ECR repository's own ARN
    /// besides its images').
    fn exact_ids(&self) -> Vec<String> {
        let mut ids = vec![self.key.clone()];
        for other in
            [Some(self.id.as_str()), self.prefix.as_deref().map(|p| p.trim_end_matches('/'))].into_iter().flatten()
        {
            if !ids.iter().any(|i| i == other) {
                ids.push(other.to_owned());
            }
        }
        ids
    }

    /// Whether the network model can hold it: it has nodes for instances' interfaces, load
    /// balancers and (when it can tell them apart) RDS instances' interfaces.
    fn in_network(&self) -> bool {
        matches!(
            self.kind,
            ResourceKind::Instance | ResourceKind::LoadBalancer | ResourceKind::RdsInstance | ResourceKind::Named
        )
    }
}

// ---------------------------------------------------------------------------------------------
// The catalogue's SQL. Parameters only; each statement returns `(row jsonb, total bigint)`.
// ---------------------------------------------------------------------------------------------

/// `$1` kind, `$2` key, `$3` account id (or NULL): the resource's own record.
const RESOURCE_SQL: &str = "
WITH snap AS MATERIALIZED (SELECT current_inventory_snapshot() AS id),
found AS (
    SELECT 1 AS ord, i.instance_id AS key, jsonb_build_object(
        'resource_kind', 'instance', 'resource_type', 'AwsEc2Instance', 'id', i.instance_id,
        'account_id', i.account_id, 'region', i.region, 'name', i.name, 'tags', i.tags,
        'environment', coalesce(i.environment, v.environment),
        'environment_from', CASE WHEN i.environment IS NOT NULL THEN 'instance_tag'
                                 WHEN v.environment IS NOT NULL THEN 'vpc_tag' END,
        'role', i.role, 'asg_name', i.asg_name, 'eks_cluster', i.eks_cluster,
        'vpc_id', i.vpc_id, 'subnet_id', i.subnet_id, 'public_ip', host(i.public_ip),
        'private_ip', host(i.private_ip), 'image_id', i.image_id, 'iam_profile_arn', i.iam_profile_arn,
        'state', i.state, 'instance_type', i.instance_type, 'platform', i.platform,
        'launch_time', i.launch_time, 'http_tokens', i.http_tokens,
        'security_group_ids', to_jsonb(i.security_group_ids)) AS row
    FROM ec2_instances i
    LEFT JOIN ec2_vpcs v ON v.snapshot_id = i.snapshot_id AND v.account_id = i.account_id
                        AND v.region = i.region AND v.vpc_id = i.vpc_id
    WHERE $1 = 'instance' AND i.snapshot_id = (SELECT id FROM snap) AND i.instance_id = $2
    UNION ALL
    SELECT 2, g.group_id, jsonb_build_object(
        'resource_kind', 'security_group', 'resource_type', 'AwsEc2SecurityGroup', 'id', g.group_id,
        'account_id', g.account_id, 'region', g.region, 'name', g.group_name, 'vpc_id', g.vpc_id,
        'tags', g.tags,
        'internet_ingress', (SELECT coalesce(jsonb_agg(jsonb_build_object(
                                    'protocol', r.ip_protocol, 'from_port', r.from_port, 'to_port', r.to_port,
                                    'source', coalesce(host(r.cidr_ipv4) || '/' || masklen(r.cidr_ipv4),
                                                       host(r.cidr_ipv6) || '/' || masklen(r.cidr_ipv6)),
                                    'sensitive_port', triage_sensitive_ports(
                                        CASE WHEN r.ip_protocol = '-1' THEN NULL ELSE r.from_port::integer END,
                                        r.to_port::integer))
                                    ORDER BY r.from_port), '[]'::jsonb)
                             FROM ec2_security_group_rules r
                             WHERE r.snapshot_id = g.snapshot_id AND r.account_id = g.account_id
                               AND r.group_id = g.group_id AND NOT r.is_egress
                               AND (r.cidr_ipv4 = '0.0.0.0/0'::inet OR r.cidr_ipv6 = '::/0'::inet))) AS row
    FROM ec2_security_groups g
    WHERE $1 = 'security_group' AND g.snapshot_id = (SELECT id FROM snap) AND g.group_id = $2
      AND ($3::text IS NULL OR g.account_id = $3)
    UNION ALL
    SELECT 3, b.bucket, jsonb_build_object(
        'resource_kind', 's3_bucket', 'resource_type', 'AwsS3Bucket', 'id', b.bucket,
        'account_id', b.account_id, 'region', coalesce(b.bucket_region, b.region), 'created_at', b.created_at,
        'public', coalesce('public_access' = ANY (p.failed_checks), false),
        'compliant', p.compliant, 'failed_checks', to_jsonb(p.failed_checks), 'reasons', p.reasons) AS row
    FROM s3_buckets b
    LEFT JOIN s3_posture p ON p.account_id = b.account_id AND p.bucket = b.bucket
    WHERE $1 IN ('s3_bucket', 'named') AND b.snapshot_id = (SELECT id FROM snap) AND b.bucket = $2
    UNION ALL
    SELECT 4, d.db_instance_id, jsonb_build_object(
        'resource_kind', 'rds_instance', 'resource_type', 'AwsRdsDbInstance', 'id', d.db_instance_id,
        'arn', d.db_instance_arn, 'account_id', d.account_id, 'region', d.region, 'engine', d.engine,
        'engine_version', d.engine_version, 'instance_class', d.instance_class, 'status', d.status,
        'storage_encrypted', d.storage_encrypted, 'publicly_accessible', d.publicly_accessible,
        'backup_retention_period', d.backup_retention_period, 'multi_az', d.multi_az,
        'deletion_protection', d.deletion_protection, 'vpc_id', d.vpc_id, 'endpoint_port', d.endpoint_port,
        'tags', d.tags, 'environment', d.environment,
        'environment_from', CASE WHEN d.environment IS NOT NULL THEN 'resource_tag' END) AS row
    FROM rds_db_instances d
    WHERE $1 IN ('rds_instance', 'named') AND d.snapshot_id = (SELECT id FROM snap) AND d.db_instance_id = $2
      AND ($3::text IS NULL OR d.account_id = $3)
    UNION ALL
    SELECT 5, s.db_snapshot_id, jsonb_build_object(
        'resource_kind', 'rds_snapshot', 'resource_type', 'AwsRdsDbSnapshot', 'id', s.db_snapshot_id,
        'arn', s.db_snapshot_arn, 'account_id', s.account_id, 'region', s.region,
        'db_instance_id', s.db_instance_id, 'snapshot_type', s.snapshot_type, 'encrypted', s.encrypted,
        'created_at', s.created_at, 'tags', s.tags,
        'restorable_by', (SELECT to_jsonb(a.restorable_by) FROM rds_db_snapshot_attributes a
                          WHERE a.snapshot_id = s.snapshot_id AND a.account_id = s.account_id
                            AND a.region = s.region AND a.db_snapshot_id = s.db_snapshot_id LIMIT 1)) AS row
    FROM rds_db_snapshots s
    WHERE $1 = 'rds_snapshot' AND s.snapshot_id = (SELECT id FROM snap) AND s.db_snapshot_id = $2
      AND ($3::text IS NULL OR s.account_id = $3)
    UNION ALL
    SELECT 6, l.load_balancer_arn, jsonb_build_object(
        'resource_kind', 'load_balancer', 'resource_type', 'AwsElbv2LoadBalancer', 'id', l.load_balancer_arn,
        'account_id', l.account_id, 'region', l.region, 'name', l.name, 'type', l.type, 'scheme', l.scheme,
        'vpc_id', l.vpc_id, 'dns_name', l.dns_name, 'state', l.state,
        'security_group_ids', to_jsonb(l.security_group_ids),
        'listeners', (SELECT coalesce(jsonb_agg(jsonb_build_object('port', x.port, 'protocol', x.protocol,
                                                                   'ssl_policy', x.ssl_policy) ORDER BY x.port), '[]'::jsonb)
                      FROM elb_listeners x
                      WHERE x.snapshot_id = l.snapshot_id AND x.load_balancer_arn = l.load_balancer_arn)) AS row
    FROM elb_load_balancers l
    WHERE $1 = 'load_balancer' AND l.snapshot_id = (SELECT id FROM snap) AND l.load_balancer_arn = $2
    UNION ALL
    SELECT 7, r.repository_name, jsonb_build_object(
        'resource_kind', 'ecr_repository', 'resource_type', 'AwsEcrRepository', 'id', r.repository_name,
        'arn', r.repository_arn, 'uri', r.repository_uri, 'account_id', r.account_id, 'region', r.region,
        'tag_mutability', r.tag_mutability, 'scan_on_push', r.scan_on_push,
        'encryption_type', r.encryption_type, 'created_at', r.created_at) AS row
    FROM ecr_repositories r
    WHERE $1 IN ('ecr_repository', 'named') AND r.snapshot_id = (SELECT id FROM snap) AND r.repository_name = $2
      AND ($3::text IS NULL OR r.account_id = $3)
    UNION ALL
    SELECT 8, h.device_id, jsonb_build_object(
        'resource_kind', 'falcon_host', 'resource_type', 'FalconHost', 'id', h.device_id,
        'account_id', h.account_id, 'region', h.region, 'name', h.hostname, 'instance_id', h.instance_id,
        'local_ip', host(h.local_ip), 'external_ip', host(h.external_ip), 'agent_version', h.agent_version,
        'platform', h.platform, 'os_version', h.os_version, 'sensor_status', h.status,
        'first_seen', h.first_seen, 'last_seen', h.last_seen,
        'edr_status', f.status, 'edr_reason', f.reason) AS row
    FROM (SELECT * FROM falcon_hosts
          WHERE $1 = 'falcon_host' AND snapshot_id = (SELECT id FROM snap) AND device_id = $2
          ORDER BY last_seen DESC NULLS LAST LIMIT 1) h
    LEFT JOIN edr_falcon_hosts f ON f.snapshot_id = h.snapshot_id AND f.device_id = h.device_id
)
SELECT row, count(*) OVER () AS total FROM found ORDER BY ord, key LIMIT 25";

/// `$1` kind, `$2` key: instances sharing the instance's auto-scaling group, EKS cluster or VPC
/// (the closest relation only), or what uses a security group.
const RELATED_RESOURCES_SQL: &str = "
WITH snap AS MATERIALIZED (SELECT current_inventory_snapshot() AS id),
subject AS MATERIALIZED (
    SELECT i.snapshot_id, i.account_id, i.region, i.instance_id, i.asg_name, i.eks_cluster, i.vpc_id
    FROM ec2_instances i
    WHERE $1 = 'instance' AND i.snapshot_id = (SELECT id FROM snap) AND i.instance_id = $2
    LIMIT 1
),
live AS (
    SELECT o.* FROM ec2_instances o
    WHERE o.snapshot_id = (SELECT id FROM snap) AND is_live_instance_state(o.state)
),
instance_relations AS (
    SELECT DISTINCT ON (o.instance_id) o.instance_id, r.ord, r.relation
    FROM subject s
    JOIN live o ON o.account_id = s.account_id AND o.region = s.region AND o.instance_id <> s.instance_id
    CROSS JOIN LATERAL (VALUES
        (1, 'same_group', s.asg_name IS NOT NULL AND o.asg_name = s.asg_name),
        (2, 'same_cluster', s.eks_cluster IS NOT NULL AND o.eks_cluster = s.eks_cluster),
        (3, 'same_vpc', s.vpc_id IS NOT NULL AND o.vpc_id = s.vpc_id)
    ) AS r (ord, relation, holds)
    WHERE r.holds
    ORDER BY o.instance_id, r.ord
),
group_users AS (
    SELECT 4 AS ord, 'uses_security_group' AS relation, 'AwsEc2Instance' AS resource_type, o.instance_id AS id,
           o.account_id, o.region
    FROM live o WHERE $1 = 'security_group' AND $2 = ANY (o.security_group_ids)
    UNION ALL
    SELECT 5, 'uses_security_group', 'AwsRdsDbInstance', d.db_instance_id, d.account_id, d.region
    FROM rds_db_instances d
    WHERE $1 = 'security_group' AND d.snapshot_id = (SELECT id FROM snap) AND $2 = ANY (d.security_group_ids)
    UNION ALL
    SELECT 6, 'uses_security_group', 'AwsElbv2LoadBalancer', l.load_balancer_arn, l.account_id, l.region
    FROM elb_load_balancers l
    WHERE $1 = 'security_group' AND l.snapshot_id = (SELECT id FROM snap) AND $2 = ANY (l.security_group_ids)
),
related AS (
    SELECT r.ord, r.relation, o.instance_id AS id, jsonb_build_object(
        'relation', r.relation, 'resource_type', 'AwsEc2Instance', 'id', o.instance_id,
        'account_id', o.account_id, 'region', o.region, 'name', o.name,
        'environment', o.environment, 'role', o.role, 'state', o.state, 'vpc_id', o.vpc_id,
        'asg_name', o.asg_name, 'eks_cluster', o.eks_cluster, 'public_ip', host(o.public_ip),
        'edr_status', e.status) AS row
    FROM instance_relations r
    JOIN live o ON o.instance_id = r.instance_id
    LEFT JOIN edr_instances e ON e.snapshot_id = o.snapshot_id AND e.instance_id = o.instance_id
    UNION ALL
    SELECT u.ord, u.relation, u.id, jsonb_build_object(
        'relation', u.relation, 'resource_type', u.resource_type, 'id', u.id,
        'account_id', u.account_id, 'region', u.region) AS row
    FROM group_users u
)
SELECT row, count(*) OVER () AS total FROM related ORDER BY ord, id LIMIT 25";

/// `$1` instance id: its row of the EDR reconciliation and the sensor it matched.
const EDR_STATUS_SQL: &str = "
SELECT to_jsonb(x) AS row, count(*) OVER () AS total FROM (
    SELECT e.instance_id, e.account_id, e.region, e.status, e.reason, e.rule, e.device_id,
           e.agent_version, e.last_seen, host(e.private_ip) AS private_ip,
           h.hostname, h.platform, h.os_version, h.status AS sensor_status
    FROM edr_instances e
    LEFT JOIN LATERAL (
        SELECT f.hostname, f.platform, f.os_version, f.status FROM falcon_hosts f
        WHERE f.snapshot_id = e.snapshot_id AND f.device_id = e.device_id
        ORDER BY f.last_seen DESC NULLS LAST LIMIT 1
    ) h ON true
    WHERE e.snapshot_id = current_inventory_snapshot() AND e.instance_id = $1
) x
LIMIT 25";

/// `$1` resource key: the `exposure` view's rows for it, sensitive ports first.
const EXPOSURE_SQL: &str = "
SELECT to_jsonb(x) AS row, count(*) OVER () AS total FROM (
    SELECT e.account_id, e.region, e.vpc_id, e.resource_type, e.resource, e.node_id, e.protocol,
           e.from_port, e.to_port, e.address_family, e.mechanism, e.address, e.via_load_balancer,
           e.ingress_rule, triage_sensitive_ports(e.from_port, e.to_port) AS sensitive_port
    FROM exposure e
    WHERE e.resource = $1
      AND e.node_id IN (SELECT n.node_id FROM network_nodes n
                        WHERE n.snapshot_id = current_inventory_snapshot() AND (n.resource_id = $1 OR n.node_id = $1))
) x
ORDER BY x.sensitive_port DESC, x.protocol, x.from_port NULLS FIRST, x.address_family, x.mechanism, x.node_id
LIMIT 25";

/// `$1` resource key: a summary, then the walks that start at its nodes, then the shortest path
/// to each resource they reach, then the shortest path from each start that reaches it.
const ATTACK_PATHS_SQL: &str = "
WITH snap AS MATERIALIZED (SELECT current_inventory_snapshot() AS id),
nodes AS MATERIALIZED (
    SELECT n.node_id FROM network_nodes n
    WHERE n.snapshot_id = (SELECT id FROM snap) AND (n.resource_id = $1 OR n.node_id = $1)
),
paths_from AS MATERIALIZED (
    SELECT p.* FROM attack_paths p
    WHERE p.snapshot_id = (SELECT id FROM snap) AND p.start_id IN (SELECT node_id FROM nodes)
),
paths_to AS MATERIALIZED (
    SELECT p.* FROM attack_paths p
    WHERE p.snapshot_id = (SELECT id FROM snap) AND p.target_id IN (SELECT node_id FROM nodes)
),
found AS (
    SELECT 0 AS ord, 0 AS hops, '' AS a, '' AS b, jsonb_build_object(
        'kind', 'summary', 'nodes', (SELECT count(*) FROM nodes),
        'paths_from_resource', (SELECT count(*) FROM paths_from),
        'targets_reached', (SELECT count(DISTINCT target_id) FROM paths_from),
        'databases_reached', (SELECT count(DISTINCT target_id) FROM paths_from WHERE 'database' = ANY (target_traits)),
        'unprotected_hosts_reached', (SELECT count(DISTINCT target_id) FROM paths_from
                                      WHERE 'unprotected' = ANY (target_traits)),
        'paths_to_resource', (SELECT count(*) FROM paths_to),
        'starts_reaching_resource', (SELECT count(DISTINCT start_id) FROM paths_to),
        'paths_to_resource_from_internet', (SELECT count(*) FROM paths_to WHERE mode = 'internet')) AS row
    WHERE EXISTS (SELECT FROM nodes)
    UNION ALL
    SELECT 1, 0, s.mode, s.start_id, jsonb_build_object(
        'kind', 'start', 'mode', s.mode, 'start_id', s.start_id, 'max_hops', s.max_hops, 'rank', s.rank,
        'score', s.score, 'reached', s.reached, 'reached_databases', s.reached_databases,
        'reached_unprotected', s.reached_unprotected, 'reached_vulnerable', s.reached_vulnerable)
    FROM attack_path_starts s
    WHERE s.snapshot_id = (SELECT id FROM snap) AND s.start_id IN (SELECT node_id FROM nodes)
    UNION ALL
    SELECT 2, p.hops, p.start_id, p.target_id, jsonb_build_object(
        'kind', 'from_resource', 'mode', p.mode, 'start_id', p.start_id, 'target_id', p.target_id,
        'target_resource_type', t.resource_type, 'target_resource_id', t.resource_id,
        'target_account_id', t.account_id, 'target_region', t.region,
        'target_traits', to_jsonb(p.target_traits), 'hops', p.hops, 'nodes', to_jsonb(p.nodes))
    FROM (SELECT DISTINCT ON (target_id) * FROM paths_from ORDER BY target_id, hops, mode) p
    LEFT JOIN network_nodes t ON t.snapshot_id = p.snapshot_id AND t.node_id = p.target_id
    UNION ALL
    SELECT 3, p.hops, p.start_id, p.target_id, jsonb_build_object(
        'kind', 'to_resource', 'mode', p.mode, 'start_id', p.start_id, 'target_id', p.target_id,
        'start_resource_type', s.resource_type, 'start_resource_id', s.resource_id,
        'target_traits', to_jsonb(p.target_traits), 'hops', p.hops, 'nodes', to_jsonb(p.nodes))
    FROM (SELECT DISTINCT ON (start_id) * FROM paths_to ORDER BY start_id, hops, mode) p
    LEFT JOIN network_nodes s ON s.snapshot_id = p.snapshot_id AND s.node_id = p.start_id
)
SELECT row, count(*) OVER () AS total FROM found ORDER BY ord, hops, a, b LIMIT 25";

/// `$1` kind, `$2` the finding's source, `$3` its id: other open findings of the kind per
/// account, earlier triage verdicts on them (`triage_reports` keeps no kind, so a report is
/// matched through its finding, which must still be open), and closed tickets of the control.
const SIMILAR_FINDINGS_SQL: &str = "
WITH open AS MATERIALIZED (
    SELECT source, id, account_id, resource_id, severity FROM security_findings
    WHERE kind = $1 AND NOT (source = $2 AND id = $3)
),
found AS (
    SELECT 1 AS ord, coalesce(account_id, '') AS a, '' AS b, jsonb_build_object(
        'section', 'open_findings', 'account_id', account_id, 'findings', count(*),
        'resources', count(DISTINCT resource_id), 'sources', to_jsonb(array_agg(DISTINCT source)),
        'highest_severity', (array_agg(severity ORDER BY array_position(
            ARRAY['CRITICAL', 'HIGH', 'MEDIUM', 'LOW', 'INFORMATIONAL'], severity)))[1]) AS row
    FROM open GROUP BY account_id
    UNION ALL
    SELECT 2, coalesce(r.finished_at::text, ''), r.finding_id, jsonb_build_object(
        'section', 'earlier_report', 'source', r.source, 'finding_id', r.finding_id,
        'execution_id', r.execution_id, 'verdict', r.verdict, 'risk_score', r.risk_score,
        'provider', r.provider, 'ticket_id', r.ticket_id, 'finished_at', r.finished_at)
    FROM triage_reports r
    JOIN open f ON f.source = r.source AND f.id = r.finding_id
    WHERE r.status = 'analysed'
    UNION ALL
    SELECT 3, coalesce(t.closed_at::text, ''), t.finding_id, jsonb_build_object(
        'section', 'closed_ticket', 'ticket_id', t.ticket_id, 'kind', t.kind, 'finding_id', t.finding_id,
        'account_id', t.account_id, 'severity', t.severity, 'environment', t.environment,
        'opened_at', t.opened_at, 'closed_at', t.closed_at)
    FROM tickets t
    WHERE t.control_id = $1 AND t.closed_at IS NOT NULL AND t.finding_id <> $3
)
SELECT row, count(*) OVER () AS total FROM found ORDER BY ord, a DESC, b LIMIT 25";

/// `$1` exact ids, `$2` id suffix (or NULL), `$3` id prefix (or NULL), `$4` source, `$5` id:
/// the other open findings on the same resource, heaviest first.
const RESOURCE_FINDINGS_SQL: &str = "
SELECT to_jsonb(x) AS row, count(*) OVER () AS total FROM (
    SELECT f.source, f.id, f.kind, f.severity, f.severity_normalized, f.account_id, f.region,
           f.resource_type, f.resource_id, f.observed_at, f.penalty_score
    FROM security_findings f
    WHERE (f.resource_id = ANY ($1::text[])
           OR ($2::text IS NOT NULL AND right(f.resource_id, length($2)) = $2)
           OR ($3::text IS NOT NULL AND left(f.resource_id, length($3)) = $3))
      AND NOT (f.source = $4 AND f.id = $5)
) x
ORDER BY x.penalty_score DESC, x.severity_normalized DESC, x.source, x.id
LIMIT 25";

/// `$1` finding id, `$2` exact ids of its resource: open tickets of the finding, and triage
/// reports that opened a ticket for the finding or its resource.
const OPEN_TICKETS_SQL: &str = "
WITH found AS (
    SELECT 1 AS ord, t.opened_at::text AS a, jsonb_build_object(
        'section', 'open_ticket', 'ticket_id', t.ticket_id, 'kind', t.kind, 'finding_id', t.finding_id,
        'account_id', t.account_id, 'control_id', t.control_id, 'severity', t.severity,
        'team', t.team, 'opened_at', t.opened_at) AS row
    FROM tickets t WHERE t.finding_id = $1 AND t.closed_at IS NULL
    UNION ALL
    SELECT 2, coalesce(r.finished_at::text, ''), jsonb_build_object(
        'section', 'triage_ticket', 'ticket_id', r.ticket_id, 'source', r.source, 'finding_id', r.finding_id,
        'execution_id', r.execution_id, 'verdict', r.verdict, 'risk_score', r.risk_score,
        'finished_at', r.finished_at)
    FROM triage_reports r
    WHERE r.ticket_id IS NOT NULL
      AND (r.finding_id = $1 OR r.report -> 'finding' ->> 'resource_id' = ANY ($2::text[]))
)
SELECT row, count(*) OVER () AS total FROM found ORDER BY ord, a DESC LIMIT 25";

/// `$1` account id: the cached account data, and the environment most of its live instances carry.
const ACCOUNT_SQL: &str = "
WITH instances AS (
    SELECT coalesce(i.environment, v.environment) AS environment
    FROM ec2_instances i
    LEFT JOIN ec2_vpcs v ON v.snapshot_id = i.snapshot_id AND v.account_id = i.account_id
                        AND v.region = i.region AND v.vpc_id = i.vpc_id
    WHERE i.snapshot_id = current_inventory_snapshot() AND i.account_id = $1 AND is_live_instance_state(i.state)
),
summary AS (
    SELECT count(*) AS live_instances,
           mode() WITHIN GROUP (ORDER BY environment) FILTER (WHERE environment IS NOT NULL) AS instance_environment,
           count(*) FILTER (WHERE environment IS NOT NULL) AS tagged_instances
    FROM instances
),
cached AS (SELECT data, expires_at FROM account_cache WHERE account_id = $1)
SELECT jsonb_build_object(
    'account_id', $1::text, 'cached', c.data IS NOT NULL,
    'name', c.data ->> 'name', 'environment', c.data ->> 'environment', 'team', c.data ->> 'team',
    'organizational_unit', c.data ->> 'organizational_unit', 'cache_expires_at', c.expires_at,
    'live_instances', s.live_instances, 'tagged_instances', s.tagged_instances,
    'instance_environment', s.instance_environment) AS row,
    1::bigint AS total
FROM summary s
LEFT JOIN cached c ON true
WHERE c.data IS NOT NULL OR s.live_instances > 0";

// ---------------------------------------------------------------------------------------------
// Running queries.
// ---------------------------------------------------------------------------------------------

fn description(name: &str) -> &'static str {
    match name {
        query::RESOURCE => "The finding's resource in the current inventory snapshot.",
        query::RELATED_RESOURCES => {
            "Live instances in the same auto-scaling group, EKS cluster or VPC as the instance, or what uses the security group."
        }
        query::EDR_STATUS => "The instance's CrowdStrike Falcon sensor status from the EDR reconciliation.",
        query::EXPOSURE => "How the internet reaches the resource (protocol, ports, mechanism).",
        query::ATTACK_PATHS => "Attack paths that start or end at the resource's network interfaces or load balancer.",
        query::SIMILAR_FINDINGS => {
            "Other open findings of the same kind per account, earlier triage verdicts on the kind, and closed tickets of the control."
        }
        query::RESOURCE_FINDINGS => "Other open findings on the same resource.",
        query::OPEN_TICKETS => "Open tickets for this finding, and triage tickets on its resource.",
        query::ACCOUNT => "The account's cached data (name, environment, team) and its instances' usual environment.",
        _ => "",
    }
}

/// One bound parameter of a query.
enum Param {
    Text(Option<String>),
    TextArray(Vec<String>),
}

impl Param {
    fn as_sql(&self) -> &(dyn tokio_postgres::types::ToSql + Sync) {
        match self {
            Param::Text(v) => v,
            Param::TextArray(v) => v,
        }
    }
}

fn text(v: impl Into<String>) -> Param {
    Param::Text(Some(v.into()))
}

fn opt_text(v: Option<&str>) -> Param {
    Param::Text(v.map(str::to_owned))
}

/// A query ready to run: its name, SQL, bound parameters and the parameters as reported.
struct Planned {
    name: &'static str,
    sql: &'static str,
    params: Vec<Param>,
    shown: Value,
}

impl Planned {
    async fn run(self, db: &tokio_postgres::Client) -> Result<ContextItem, StepError> {
        let params: Vec<&(dyn tokio_postgres::types::ToSql + Sync)> = self.params.iter().map(Param::as_sql).collect();
        let rows = db.query(self.sql, &params).await.map_err(db::err(&format!("context query {}", self.name)))?;
        let mut total = 0usize;
        let mut kept = Vec::with_capacity(rows.len().min(MAX_ROWS));
        for row in rows.iter().take(MAX_ROWS) {
            let value: Value =
                row.try_get(0).map_err(db::err(&format!("context query {}: reading a row", self.name)))?;
            let count: i64 =
                row.try_get(1).map_err(db::err(&format!("context query {}: reading the count", self.name)))?;
            total = usize::try_from(count).unwrap_or(usize::MAX);
            kept.push(value);
        }
        Ok(ContextItem {
            query: self.name.to_owned(),
            description: description(self.name).to_owned(),
            parameters: self.shown,
            total_rows: total.max(kept.len()),
            rows: kept,
        })
    }
}

fn plan_resource(resource: Option<&ResourceRef>, account: Option<&str>) -> Planned {
    let (kind, key) = resource.map_or(("none", ""), |r| (r.kind.as_str(), r.key.as_str()));
    Planned {
        name: query::RESOURCE,
        sql: RESOURCE_SQL,
        params: vec![text(kind), text(key), opt_text(account)],
        shown: json!({"resource_id": resource.map(|r| &r.id), "kind": kind, "key": key, "account_id": account}),
    }
}

fn plan_related(r: &ResourceRef) -> Planned {
    Planned {
        name: query::RELATED_RESOURCES,
        sql: RELATED_RESOURCES_SQL,
        params: vec![text(r.kind.as_str()), text(&r.key)],
        shown: json!({"resource_id": r.id, "kind": r.kind.as_str(), "key": r.key}),
    }
}

fn plan_edr(instance_id: &str) -> Planned {
    Planned {
        name: query::EDR_STATUS,
        sql: EDR_STATUS_SQL,
        params: vec![text(instance_id)],
        shown: json!({"instance_id": instance_id}),
    }
}

fn plan_keyed(name: &'static str, sql: &'static str, r: &ResourceRef) -> Planned {
    Planned { name, sql, params: vec![text(&r.key)], shown: json!({"resource_id": r.id, "key": r.key}) }
}

fn plan_similar(kind: &str, finding: &SecurityFinding) -> Planned {
    Planned {
        name: query::SIMILAR_FINDINGS,
        sql: SIMILAR_FINDINGS_SQL,
        params: vec![text(kind), text(finding.source.as_str()), text(&finding.id)],
        shown: json!({"kind": kind, "excluding": {"source": finding.source, "id": finding.id}}),
    }
}

fn plan_resource_findings(r: &ResourceRef, finding: &SecurityFinding) -> Planned {
    Planned {
        name: query::RESOURCE_FINDINGS,
        sql: RESOURCE_FINDINGS_SQL,
        params: vec![
            Param::TextArray(r.exact_ids()),
            opt_text(r.suffix.as_deref()),
            opt_text(r.prefix.as_deref()),
            text(finding.source.as_str()),
            text(&finding.id),
        ],
        shown: json!({"resource_id": r.id, "ids": r.exact_ids(), "suffix": r.suffix, "prefix": r.prefix,
                      "excluding": {"source": finding.source, "id": finding.id}}),
    }
}

fn plan_open_tickets(finding: &SecurityFinding) -> Planned {
    let ids = ResourceRef::of(finding).map(|r| r.exact_ids()).unwrap_or_default();
    Planned {
        name: query::OPEN_TICKETS,
        sql: OPEN_TICKETS_SQL,
        shown: json!({"finding_id": finding.id, "resource_ids": ids}),
        params: vec![text(&finding.id), Param::TextArray(ids)],
    }
}

fn plan_account(account_id: &str) -> Planned {
    Planned {
        name: query::ACCOUNT,
        sql: ACCOUNT_SQL,
        params: vec![text(account_id)],
        shown: json!({"account_id": account_id}),
    }
}

fn is_account_id(s: &str) -> bool {
    s.len() == 12 && s.bytes().all(|b| b.is_ascii_digit())
}

/// The queries that apply to `finding`, in catalogue order: `resource`, `similar_findings` and
/// `open_tickets` always (so an analysis always has evidence to cite); the instance queries only
/// for an instance; the network queries only for a resource the network model can hold; `account`
/// only for a well-formed account id.
fn plan(finding: &SecurityFinding) -> Vec<Planned> {
    let resource = ResourceRef::of(finding);
    let account = finding.account_id.as_deref().filter(|a| is_account_id(a));
    let mut planned = vec![plan_resource(resource.as_ref(), account)];
    if let Some(r) = &resource {
        if matches!(r.kind, ResourceKind::Instance | ResourceKind::SecurityGroup) {
            planned.push(plan_related(r));
        }
        if r.kind == ResourceKind::Instance {
            planned.push(plan_edr(&r.key));
        }
        if r.in_network() {
            planned.push(plan_keyed(query::EXPOSURE, EXPOSURE_SQL, r));
            planned.push(plan_keyed(query::ATTACK_PATHS, ATTACK_PATHS_SQL, r));
        }
    }
    planned.push(plan_similar(&finding.kind, finding));
    if let Some(r) = &resource {
        planned.push(plan_resource_findings(r, finding));
    }
    planned.push(plan_open_tickets(finding));
    if let Some(a) = account {
        planned.push(plan_account(a));
    }
    planned
}

/// Run every query that applies to `finding` (see `plan`) on one connection, pipelined, and
/// keep the results in catalogue order.
pub async fn gather(db: &tokio_postgres::Client, finding: &SecurityFinding) -> Result<Context, StepError> {
    let items = futures::future::try_join_all(plan(finding).into_iter().map(|p| p.run(db))).await?;
    Ok(Context { items })
}

// ---------------------------------------------------------------------------------------------
// The catalogue as tools.
// ---------------------------------------------------------------------------------------------

/// An instance id.
pub const INSTANCE_ID_PATTERN: &str = "^i-[0-9a-f]{8,17}$";
/// A 12-digit AWS account id.
pub const ACCOUNT_ID_PATTERN: &str = "^[0-9]{12}$";
/// A finding kind: a control id, GuardDuty type, CVE, Falcon tactic and technique, …
pub const KIND_PATTERN: &str = "^[A-Za-z0-9][A-Za-z0-9 ._:/!&()+,-]{0,127}$";
/// A resource id: an instance or security-group id, an AWS ARN, a Falcon device id, or a bare
/// bucket / RDS / repository name.
pub const RESOURCE_ID_PATTERN: &str = "^(i-[0-9a-f]{8,17}|sg-[0-9a-f]{8,17}|[0-9a-f]{32}\
|arn:aws[a-z-]*:[a-z0-9-]{1,64}:[a-z0-9-]{0,32}:([0-9]{12})?:[A-Za-z0-9][A-Za-z0-9/_.:+=@-]{0,1023}\
|[a-z0-9][a-z0-9.-]{1,61}[a-z0-9])$";

fn string_property(pattern: &str, max_length: usize, description: &str) -> Value {
    json!({"type": "string", "pattern": pattern, "maxLength": max_length, "description": description})
}

fn object_schema(properties: Value, required: &[&str]) -> Value {
    json!({"type": "object", "properties": properties, "required": required, "additionalProperties": false})
}

fn resource_id_schema() -> Value {
    object_schema(
        json!({"resource_id": string_property(RESOURCE_ID_PATTERN, 1100,
            "An instance id (i-…), security group id (sg-…), AWS ARN, Falcon device id, or bucket / RDS / ECR repository name.")}),
        &["resource_id"],
    )
}

/// The tools a language model may call: the catalogue, each with a strict input schema.
pub fn tool_specs() -> Vec<ToolSpec> {
    vec![
        ToolSpec {
            name: query::RESOURCE,
            description: "Look up a resource in the current inventory: an instance (name, tags, environment, role, auto-scaling group, EKS cluster, VPC, public IP, image, IAM profile), an S3 bucket, an RDS instance or snapshot, a load balancer, an ECR repository, a security group or a Falcon host.",
            input_schema: resource_id_schema(),
        },
        ToolSpec {
            name: query::RELATED_RESOURCES,
            description: "Live instances in the same auto-scaling group, EKS cluster or VPC as an instance (with the relation named), or the instances, databases and load balancers that use a security group.",
            input_schema: resource_id_schema(),
        },
        ToolSpec {
            name: query::EDR_STATUS,
            description: "The CrowdStrike Falcon sensor status of an instance: matched or unprotected, why, agent version, last seen.",
            input_schema: object_schema(
                json!({"instance_id": string_property(INSTANCE_ID_PATTERN, 19, "An EC2 instance id.")}),
                &["instance_id"],
            ),
        },
        ToolSpec {
            name: query::EXPOSURE,
            description: "How the internet reaches a resource: protocol, ports, mechanism (its own address or a load balancer), whether a port is sensitive.",
            input_schema: resource_id_schema(),
        },
        ToolSpec {
            name: query::ATTACK_PATHS,
            description: "Attack paths that start or end at a resource: what it reaches (databases, hosts without EDR, vulnerable hosts) and what reaches it.",
            input_schema: resource_id_schema(),
        },
        ToolSpec {
            name: query::SIMILAR_FINDINGS,
            description: "Other open findings of a kind (how many, in which accounts), earlier triage verdicts on findings of the kind, and closed tickets of the control.",
            input_schema: object_schema(
                json!({"kind": string_property(KIND_PATTERN, 128,
                    "A finding kind: a Security Hub control id, GuardDuty type, CVE id, or Falcon tactic / technique.")}),
                &["kind"],
            ),
        },
        ToolSpec {
            name: query::RESOURCE_FINDINGS,
            description: "Other open findings on a resource, from every source, heaviest first.",
            input_schema: resource_id_schema(),
        },
        ToolSpec {
            name: query::OPEN_TICKETS,
            description: "Open tickets for the finding under analysis, and earlier triage tickets on its resource.",
            input_schema: object_schema(json!({}), &[]),
        },
        ToolSpec {
            name: query::ACCOUNT,
            description: "An AWS account's cached data (name, environment, team, organizational unit) and the environment most of its instances carry.",
            input_schema: object_schema(
                json!({"account_id": string_property(ACCOUNT_ID_PATTERN, 12, "A 12-digit AWS account id.")}),
                &["account_id"],
            ),
        },
    ]
}

/// Why a tool call produced no result.
#[derive(Debug, thiserror::Error)]
pub enum ToolError {
    /// An unknown tool or an input that breaks its schema: nothing ran; the message goes back to
    /// the model.
    #[error("tool call refused: {0}")]
    Refused(String),
    /// The query ran and failed.
    #[error(transparent)]
    Failed(#[from] StepError),
}

fn tool_validators() -> &'static Vec<(&'static str, jsonschema::Validator)> {
    static V: OnceLock<Vec<(&'static str, jsonschema::Validator)>> = OnceLock::new();
    V.get_or_init(|| {
        tool_specs()
            .into_iter()
            .map(|t| {
                // The schemas are literals of this file; a test compiles every one of them.
                let v = jsonschema::validator_for(&t.input_schema).expect("a built-in tool schema compiles");
                (t.name, v)
            })
            .collect()
    })
}

fn field<'a>(input: &'a Value, name: &str) -> Result<&'a str, ToolError> {
    input[name].as_str().ok_or_else(|| ToolError::Refused(format!("`{name}` must be a string")))
}

/// Run one tool call for the finding under analysis. The name must be one of [`tool_specs`] and
/// the input must satisfy its schema, or the call is refused and nothing runs.
pub async fn run_tool(
    db: &tokio_postgres::Client,
    finding: &SecurityFinding,
    name: &str,
    input: &Value,
) -> Result<ContextItem, ToolError> {
    let Some((tool, validator)) = tool_validators().iter().find(|(n, _)| *n == name) else {
        let known = query::ALL.join(", ");
        let shown: String = name.chars().take(64).collect();
        return Err(ToolError::Refused(format!("unknown tool {shown:?}; the tools are: {known}")));
    };
    let problems: Vec<String> = validator
        .iter_errors(input)
        .take(5)
        .map(|e| {
            let at = e.instance_path().to_string();
            // The error text may quote the input; keep it short.
            let message: String = e.to_string().chars().take(200).collect();
            format!("{}: {message}", if at.is_empty() { "(input)".to_owned() } else { at })
        })
        .collect();
    if !problems.is_empty() {
        return Err(ToolError::Refused(format!("invalid input for `{tool}`: {}", problems.join("; "))));
    }
    let planned = match *tool {
        query::RESOURCE => {
            let r = ResourceRef::resolve(None, field(input, "resource_id")?);
            plan_resource(Some(&r), None)
        }
        query::RELATED_RESOURCES => plan_related(&ResourceRef::resolve(None, field(input, "resource_id")?)),
        query::EDR_STATUS => plan_edr(field(input, "instance_id")?),
        query::EXPOSURE => {
            plan_keyed(query::EXPOSURE, EXPOSURE_SQL, &ResourceRef::resolve(None, field(input, "resource_id")?))
        }
        query::ATTACK_PATHS => {
            plan_keyed(query::ATTACK_PATHS, ATTACK_PATHS_SQL, &ResourceRef::resolve(None, field(input, "resource_id")?))
        }
        query::SIMILAR_FINDINGS => plan_similar(field(input, "kind")?, finding),
        query::RESOURCE_FINDINGS => {
            plan_resource_findings(&ResourceRef::resolve(None, field(input, "resource_id")?), finding)
        }
        query::OPEN_TICKETS => plan_open_tickets(finding),
        query::ACCOUNT => plan_account(field(input, "account_id")?),
        other => return Err(ToolError::Refused(format!("tool `{other}` has no query"))),
    };
    Ok(planned.run(db).await?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_tool_schema_compiles_and_names_a_catalogue_query() {
        let specs = tool_specs();
        assert_eq!(specs.iter().map(|t| t.name).collect::<Vec<_>>(), query::ALL);
        assert_eq!(tool_validators().len(), query::ALL.len());
        for t in &specs {
            assert_eq!(t.input_schema["additionalProperties"], false, "{} must be strict", t.name);
            assert!(!description(t.name).is_empty());
        }
    }

    #[test]
    fn resource_ids_resolve_by_shape() {
        let cases = [
            (None, "i-0123456789abcdef0", ResourceKind::Instance, "i-0123456789abcdef0"),
            (None, "arn:aws:ec2:us-east-1:111111111111:instance/i-0123456789abcdef0", ResourceKind::Instance, "i-0123456789abcdef0"),
            (None, "arn:aws:ec2:us-east-1:111111111111:security-group/sg-0123456789abcdef0", ResourceKind::SecurityGroup, "sg-0123456789abcdef0"),
            (None, "sg-0123456789abcdef0", ResourceKind::SecurityGroup, "sg-0123456789abcdef0"),
            (None, "arn:aws:s3:::my-bucket.logs", ResourceKind::S3Bucket, "my-bucket.logs"),
            (None, "arn:aws:rds:eu-west-1:111111111111:db:orders-db", ResourceKind::RdsInstance, "orders-db"),
            (None, "arn:aws:rds:eu-west-1:111111111111:snapshot:orders-manual", ResourceKind::RdsSnapshot, "orders-manual"),
            (
                None,
                "arn:aws:elasticloadbalancing:us-east-1:111111111111:loadbalancer/app/web/0123456789abcdef",
                ResourceKind::LoadBalancer,
                "arn:aws:elasticloadbalancing:us-east-1:111111111111:loadbalancer/app/web/0123456789abcdef",
            ),
            (
                None,
                "arn:aws:ecr:us-east-1:111111111111:repository/team/api/sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
                ResourceKind::EcrRepository,
                "team/api",
            ),
            (None, "arn:aws:ecr:us-east-1:111111111111:repository/api", ResourceKind::EcrRepository, "api"),
            (Some("FalconHost"), "0123456789abcdef0123456789abcdef", ResourceKind::FalconHost, "0123456789abcdef0123456789abcdef"),
            (None, "orders-db", ResourceKind::Named, "orders-db"),
            (Some("AccessKey"), "AccessKey", ResourceKind::Other, "AccessKey"),
            (None, "'; DROP TABLE tickets; --", ResourceKind::Other, "'; DROP TABLE tickets; --"),
        ];
        for (ty, id, kind, key) in cases {
            let r = ResourceRef::resolve(ty, id);
            assert_eq!((r.kind, r.key.as_str()), (kind, key), "{id}");
        }
        let ecr = ResourceRef::resolve(None, "arn:aws:ecr:us-east-1:111111111111:repository/api");
        assert_eq!(ecr.prefix.as_deref(), Some("arn:aws:ecr:us-east-1:111111111111:repository/api/"));
        assert_eq!(ecr.exact_ids(), ["api", "arn:aws:ecr:us-east-1:111111111111:repository/api"]);
        let image = ResourceRef::resolve(
            None,
            "arn:aws:ecr:us-east-1:111111111111:repository/api/sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
        );
        assert_eq!(image.exact_ids().len(), 3);
        assert_eq!(image.exact_ids()[2], "arn:aws:ecr:us-east-1:111111111111:repository/api");
        let s3 = ResourceRef::resolve(None, "arn:aws:s3:::b1");
        assert_eq!(s3.kind, ResourceKind::Other, "three-letter minimum: not a bucket name");
    }

    #[test]
    fn the_resource_id_pattern_takes_what_resolve_understands() {
        let pattern = Regex::new(RESOURCE_ID_PATTERN).expect("pattern");
        for ok in [
            "i-0123456789abcdef0",
            "sg-01234567",
            "arn:aws:ec2:us-east-1:111111111111:instance/i-0123456789abcdef0",
            "arn:aws:s3:::my-bucket",
            "arn:aws:elasticloadbalancing:us-east-1:111111111111:loadbalancer/app/web/0123456789abcdef",
            "0123456789abcdef0123456789abcdef",
            "orders-db",
        ] {
            assert!(pattern.is_match(ok), "{ok}");
        }
        for bad in
            ["", "i-XYZ", "x'; DROP TABLE t; --", "arn:aws:ec2:us-east-1:1:instance/i-1 OR 1=1", "a\nb", "Bucket"]
        {
            assert!(!pattern.is_match(bad), "{bad:?}");
        }
        let kind = Regex::new(KIND_PATTERN).expect("pattern");
        for ok in [
            "EC2.19",
            "CVE-2024-3094",
            "Backdoor:EC2/C&CActivity.B!DNS",
            "Execution / Command and Scripting Interpreter",
            "internet-exposure",
        ] {
            assert!(kind.is_match(ok), "{ok}");
        }
        for bad in ["", "x'; --", "a;b", &"a".repeat(129)] {
            assert!(!kind.is_match(bad), "{bad:?}");
        }
    }
}
