-- Network exposure: the inventory tables the flattening needs beyond V005 (peering, Elastic IPs,
-- target groups and their targets), then what the flattening of one snapshot produces: the nodes
-- it reasons about, the reachability between them with evidence, what it could not resolve, and
-- the attack paths walked over it.

-- ec2.describe-vpc-peering-connections
CREATE TABLE ec2_vpc_peering_connections (
    snapshot_id bigint NOT NULL REFERENCES snapshots (id) ON DELETE CASCADE,
    source_run bigint NOT NULL,
    account_id text,
    region text,
    vpc_peering_connection_id text,
    status text,
    requester_vpc_id text,
    requester_owner_id text,
    requester_region text,
    accepter_vpc_id text,
    accepter_owner_id text,
    accepter_region text,
    tags jsonb,
    raw jsonb NOT NULL
);
CREATE INDEX ec2_vpc_peering_connections_key_idx ON ec2_vpc_peering_connections (snapshot_id, vpc_peering_connection_id);
CREATE INDEX ec2_vpc_peering_connections_raw_idx ON ec2_vpc_peering_connections USING gin (raw jsonb_path_ops) WITH (gin_pending_list_limit = 65536);

-- ec2.describe-addresses
CREATE TABLE ec2_addresses (
    snapshot_id bigint NOT NULL REFERENCES snapshots (id) ON DELETE CASCADE,
    source_run bigint NOT NULL,
    account_id text,
    region text,
    allocation_id text,
    public_ip inet,
    private_ip inet,
    network_interface_id text,
    instance_id text,
    association_id text,
    domain text,
    tags jsonb,
    raw jsonb NOT NULL
);
CREATE INDEX ec2_addresses_key_idx ON ec2_addresses (snapshot_id, allocation_id);
CREATE INDEX ec2_addresses_raw_idx ON ec2_addresses USING gin (raw jsonb_path_ops) WITH (gin_pending_list_limit = 65536);

-- elbv2.describe-target-groups
CREATE TABLE elb_target_groups (
    snapshot_id bigint NOT NULL REFERENCES snapshots (id) ON DELETE CASCADE,
    source_run bigint NOT NULL,
    account_id text,
    region text,
    target_group_arn text,
    name text,
    protocol text,
    port bigint,
    vpc_id text,
    target_type text,
    load_balancer_arns text[],
    raw jsonb NOT NULL
);
CREATE INDEX elb_target_groups_key_idx ON elb_target_groups (snapshot_id, target_group_arn);
CREATE INDEX elb_target_groups_raw_idx ON elb_target_groups USING gin (raw jsonb_path_ops) WITH (gin_pending_list_limit = 65536);

-- elbv2.describe-target-health
CREATE TABLE elb_target_health (
    snapshot_id bigint NOT NULL REFERENCES snapshots (id) ON DELETE CASCADE,
    source_run bigint NOT NULL,
    account_id text,
    region text,
    target_group_arn text,
    target_id text,
    port bigint,
    availability_zone text,
    state text,
    reason text,
    raw jsonb NOT NULL
);
CREATE INDEX elb_target_health_key_idx ON elb_target_health (snapshot_id, target_group_arn, target_id, port);
CREATE INDEX elb_target_health_raw_idx ON elb_target_health USING gin (raw jsonb_path_ops) WITH (gin_pending_list_limit = 65536);

-- The things reachability is about: the internet, each network interface (labelled with the
-- resource it belongs to) and each load balancer.
CREATE TABLE network_nodes (
    snapshot_id   bigint NOT NULL REFERENCES snapshots (id) ON DELETE CASCADE,
    node_id       text   NOT NULL,
    kind          text   NOT NULL CHECK (kind IN ('internet', 'eni', 'load_balancer')),
    resource_type text,
    resource_id   text,
    name          text,
    account_id    text,
    region        text,
    vpc_id        text,
    subnet_id     text,
    private_ips   inet[] NOT NULL DEFAULT '{}',
    public_ips    inet[] NOT NULL DEFAULT '{}',
    security_group_ids text[] NOT NULL DEFAULT '{}',
    PRIMARY KEY (snapshot_id, node_id)
);
CREATE INDEX network_nodes_resource_idx ON network_nodes (snapshot_id, resource_id);

-- "source can reach destination over protocol/ports via mechanism", with the rules that allow it.
-- `id` numbers the rows of one snapshot so attack paths can cite their hops.
CREATE TABLE reachability (
    snapshot_id    bigint  NOT NULL REFERENCES snapshots (id) ON DELETE CASCADE,
    id             integer NOT NULL,
    source_id      text    NOT NULL,
    destination_id text    NOT NULL,
    protocol       text    NOT NULL,
    from_port      integer,
    to_port        integer,
    address_family text    NOT NULL CHECK (address_family IN ('ipv4', 'ipv6')),
    mechanism      text    NOT NULL CHECK (mechanism IN ('internet', 'load_balancer', 'vpc', 'peering')),
    evidence       jsonb   NOT NULL,
    PRIMARY KEY (snapshot_id, id),
    CHECK ((from_port IS NULL) = (to_port IS NULL) AND (from_port IS NULL OR from_port <= to_port))
);
CREATE INDEX reachability_source_idx ON reachability (snapshot_id, source_id);
CREATE INDEX reachability_destination_idx ON reachability (snapshot_id, destination_id);

-- What the flattening could not resolve (a rule naming a deleted group, a route to a missing
-- gateway, …): reported, never turned into reachability.
CREATE TABLE network_findings (
    snapshot_id bigint NOT NULL REFERENCES snapshots (id) ON DELETE CASCADE,
    kind        text   NOT NULL,
    resource_id text   NOT NULL,
    reference   text,
    account_id  text,
    region      text,
    detail      text   NOT NULL
);
CREATE INDEX network_findings_snapshot_idx ON network_findings (snapshot_id);

-- One flattening per snapshot (re-running replaces it).
CREATE TABLE network_flattenings (
    snapshot_id       bigint      PRIMARY KEY REFERENCES snapshots (id) ON DELETE CASCADE,
    flattened_at      timestamptz NOT NULL DEFAULT now(),
    nodes             integer     NOT NULL,
    reachability_rows integer     NOT NULL,
    findings          integer     NOT NULL,
    summary           jsonb       NOT NULL
);

-- Attack paths: for each starting point (an internet-reachable node, or a host with an active
-- threat), what it reaches within the hop limit, ranked.
CREATE TABLE attack_path_starts (
    snapshot_id         bigint  NOT NULL REFERENCES snapshots (id) ON DELETE CASCADE,
    mode                text    NOT NULL CHECK (mode IN ('internet', 'east_west')),
    start_id            text    NOT NULL,
    max_hops            integer NOT NULL CHECK (max_hops > 0),
    rank                integer NOT NULL,
    score               integer NOT NULL,
    reached             integer NOT NULL,
    reached_databases   integer NOT NULL,
    reached_unprotected integer NOT NULL,
    reached_vulnerable  integer NOT NULL,
    PRIMARY KEY (snapshot_id, mode, start_id)
);

-- The shortest path from a start to each resource it reaches that matters (a database, a host
-- without EDR, a host with a critical vulnerability): nodes in order and the reachability row of
-- each hop.
CREATE TABLE attack_paths (
    snapshot_id      bigint    NOT NULL REFERENCES snapshots (id) ON DELETE CASCADE,
    mode             text      NOT NULL CHECK (mode IN ('internet', 'east_west')),
    start_id         text      NOT NULL,
    target_id        text      NOT NULL,
    target_traits    text[]    NOT NULL,
    hops             integer   NOT NULL CHECK (hops > 0),
    nodes            text[]    NOT NULL,
    reachability_ids integer[] NOT NULL,
    PRIMARY KEY (snapshot_id, mode, start_id, target_id),
    CHECK (cardinality(nodes) = hops + 1 AND cardinality(reachability_ids) = hops)
);

-- Internet-reachable resources of the current snapshot: the port, how (its own public address,
-- or a load balancer in front of it) and the evidence.
CREATE VIEW exposure AS
SELECT n.account_id, n.region, n.vpc_id, n.resource_type, coalesce(n.resource_id, n.node_id) AS resource, n.name,
       r.destination_id AS node_id, r.protocol, r.from_port, r.to_port, r.address_family, r.mechanism,
       coalesce(r.evidence->>'address', r.evidence->'exposure'->>'address') AS address,
       r.evidence->'via'->>'load_balancer' AS via_load_balancer,
       coalesce(r.evidence->'ingress'->>'rule', r.evidence->'exposure'->'ingress'->>'rule') AS ingress_rule,
       r.evidence
FROM reachability r
JOIN network_nodes n ON n.snapshot_id = r.snapshot_id AND n.node_id = r.destination_id
WHERE r.snapshot_id = current_inventory_snapshot() AND r.source_id = 'internet'
ORDER BY n.account_id, n.region, resource, r.protocol, r.from_port, r.address_family, r.mechanism;

-- What the current snapshot's flattening could not resolve.
CREATE VIEW dangling_references AS
SELECT account_id, region, kind, resource_id, reference, detail
FROM network_findings
WHERE snapshot_id = current_inventory_snapshot()
ORDER BY account_id, region, kind, resource_id;
