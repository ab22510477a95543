-- Inventory: a snapshot is now one whole collection run (every collector × account × region it
-- ran), with each collector run recorded on its own; the inventory tables hold the normalized
-- columns declared in layers/inventory/src/sources beside the raw vendor record.

ALTER TABLE snapshots ADD COLUMN origin text;
ALTER TABLE snapshots DROP CONSTRAINT snapshots_status_check;
ALTER TABLE snapshots ADD CONSTRAINT snapshots_status_check
    CHECK (status IN ('running', 'complete', 'partial', 'failed'));
CREATE INDEX snapshots_inventory_idx ON snapshots (id DESC) WHERE source = 'inventory';

-- A finished snapshot is evidence: it may be deleted as a whole (retention) but never changed.
CREATE FUNCTION snapshots_immutable() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF OLD.status <> 'running' THEN
        RAISE EXCEPTION 'snapshot % is % and cannot change', OLD.id, OLD.status
            USING ERRCODE = 'check_violation';
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER snapshots_immutable BEFORE UPDATE ON snapshots
    FOR EACH ROW EXECUTE FUNCTION snapshots_immutable();

-- One collector over one account and region (or one vendor) inside a snapshot.
CREATE TABLE snapshot_sources (
    id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    snapshot_id   bigint      NOT NULL REFERENCES snapshots (id) ON DELETE CASCADE,
    collector     text        NOT NULL,
    account_id    text        CHECK (account_id ~ '^[0-9]{12}$'),
    region        text,
    status        text        NOT NULL DEFAULT 'running' CHECK (status IN ('running', 'complete', 'failed')),
    record_count  integer     NOT NULL DEFAULT 0 CHECK (record_count >= 0),
    error_class   text        CHECK (error_class IN ('Transient', 'Throttled', 'InvalidInput', 'Conflict', 'Permanent')),
    error         text,
    started_at    timestamptz NOT NULL DEFAULT now(),
    completed_at  timestamptz,
    CHECK ((status = 'failed') = (error IS NOT NULL))
);
CREATE INDEX snapshot_sources_snapshot_idx ON snapshot_sources (snapshot_id);

-- The shape of the raw records of each table in a snapshot: top-level key → JSON type → count.
CREATE TABLE record_shapes (
    snapshot_id  bigint NOT NULL REFERENCES snapshots (id) ON DELETE CASCADE,
    table_name   text   NOT NULL,
    key          text   NOT NULL,
    json_type    text   NOT NULL,
    records      bigint NOT NULL CHECK (records > 0),
    PRIMARY KEY (snapshot_id, table_name, key, json_type)
);

-- How a vendor's record shape changed against the previous snapshot that had that table.
CREATE TABLE shape_changes (
    snapshot_id           bigint NOT NULL REFERENCES snapshots (id) ON DELETE CASCADE,
    previous_snapshot_id  bigint NOT NULL,
    table_name            text   NOT NULL,
    key                   text   NOT NULL,
    change                text   NOT NULL CHECK (change IN ('new', 'missing', 'retyped')),
    before_types          text[],
    after_types           text[],
    PRIMARY KEY (snapshot_id, table_name, key)
);

-- Compare one snapshot's record shapes with the previous snapshot of each table. A key is new or
-- missing when no record had it before / has it now; retyped when the set of JSON types it took
-- changed (null aside, so an optional field going unset is not a change).
CREATE FUNCTION record_shape_changes(snap bigint) RETURNS integer LANGUAGE plpgsql AS $$
DECLARE
    changed integer;
BEGIN
    WITH tables AS (
        SELECT DISTINCT table_name FROM record_shapes WHERE snapshot_id = snap
    ), previous AS (
        SELECT t.table_name,
               (SELECT max(r.snapshot_id) FROM record_shapes r
                 WHERE r.table_name = t.table_name AND r.snapshot_id < snap) AS previous_id
        FROM tables t
    ), now_types AS (
        SELECT table_name, key, array_agg(json_type ORDER BY json_type) FILTER (WHERE json_type <> 'null') AS types
        FROM record_shapes WHERE snapshot_id = snap GROUP BY table_name, key
    ), before_types AS (
        SELECT r.table_name, r.key, array_agg(r.json_type ORDER BY r.json_type) FILTER (WHERE r.json_type <> 'null') AS types
        FROM record_shapes r JOIN previous p ON p.table_name = r.table_name AND r.snapshot_id = p.previous_id
        GROUP BY r.table_name, r.key
    ), diff AS (
        SELECT coalesce(n.table_name, b.table_name) AS table_name, coalesce(n.key, b.key) AS key,
               CASE WHEN b.key IS NULL THEN 'new'
                    WHEN n.key IS NULL THEN 'missing'
                    ELSE 'retyped' END AS change,
               b.types AS before_types, n.types AS after_types
        FROM now_types n FULL JOIN before_types b ON b.table_name = n.table_name AND b.key = n.key
        WHERE b.key IS NULL OR n.key IS NULL
           OR coalesce(b.types, '{}') IS DISTINCT FROM coalesce(n.types, '{}')
    )
    INSERT INTO shape_changes (snapshot_id, previous_snapshot_id, table_name, key, change, before_types, after_types)
    SELECT snap, p.previous_id, d.table_name, d.key, d.change, d.before_types, d.after_types
    FROM diff d JOIN previous p ON p.table_name = d.table_name
    WHERE p.previous_id IS NOT NULL;
    GET DIAGNOSTICS changed = ROW_COUNT;
    RETURN changed;
END $$;

-- The inventory tables (generated from the declarations; a test keeps them equal).
-- ec2.describe-instances
CREATE TABLE ec2_instances (
    snapshot_id bigint NOT NULL REFERENCES snapshots (id) ON DELETE CASCADE,
    source_run bigint NOT NULL,
    account_id text,
    region text,
    instance_id text,
    instance_type text,
    state text,
    private_ip inet,
    public_ip inet,
    vpc_id text,
    subnet_id text,
    launch_time timestamp with time zone,
    image_id text,
    platform text,
    iam_profile_arn text,
    http_tokens text,
    security_group_ids text[],
    private_ips text[],
    tags jsonb,
    name text,
    environment text,
    role text,
    eks_cluster text,
    asg_name text,
    raw jsonb NOT NULL
);
CREATE INDEX ec2_instances_key_idx ON ec2_instances (snapshot_id, instance_id);
CREATE INDEX ec2_instances_raw_idx ON ec2_instances USING gin (raw jsonb_path_ops) WITH (gin_pending_list_limit = 65536);

-- ec2.describe-network-interfaces
CREATE TABLE ec2_network_interfaces (
    snapshot_id bigint NOT NULL REFERENCES snapshots (id) ON DELETE CASCADE,
    source_run bigint NOT NULL,
    account_id text,
    region text,
    network_interface_id text,
    instance_id text,
    interface_type text,
    status text,
    private_ip inet,
    private_ips text[],
    public_ip inet,
    mac_address text,
    vpc_id text,
    subnet_id text,
    security_group_ids text[],
    description text,
    requester_managed boolean,
    tags jsonb,
    raw jsonb NOT NULL
);
CREATE INDEX ec2_network_interfaces_key_idx ON ec2_network_interfaces (snapshot_id, network_interface_id);
CREATE INDEX ec2_network_interfaces_raw_idx ON ec2_network_interfaces USING gin (raw jsonb_path_ops) WITH (gin_pending_list_limit = 65536);

-- ec2.describe-vpcs
CREATE TABLE ec2_vpcs (
    snapshot_id bigint NOT NULL REFERENCES snapshots (id) ON DELETE CASCADE,
    source_run bigint NOT NULL,
    account_id text,
    region text,
    vpc_id text,
    cidr_block inet,
    cidr_blocks text[],
    ipv6_cidr_blocks text[],
    is_default boolean,
    state text,
    owner_id text,
    tags jsonb,
    name text,
    environment text,
    raw jsonb NOT NULL
);
CREATE INDEX ec2_vpcs_key_idx ON ec2_vpcs (snapshot_id, vpc_id);
CREATE INDEX ec2_vpcs_raw_idx ON ec2_vpcs USING gin (raw jsonb_path_ops) WITH (gin_pending_list_limit = 65536);

-- ec2.describe-subnets
CREATE TABLE ec2_subnets (
    snapshot_id bigint NOT NULL REFERENCES snapshots (id) ON DELETE CASCADE,
    source_run bigint NOT NULL,
    account_id text,
    region text,
    subnet_id text,
    vpc_id text,
    cidr_block inet,
    ipv6_cidr_blocks text[],
    availability_zone text,
    map_public_ip_on_launch boolean,
    tags jsonb,
    name text,
    raw jsonb NOT NULL
);
CREATE INDEX ec2_subnets_key_idx ON ec2_subnets (snapshot_id, subnet_id);
CREATE INDEX ec2_subnets_raw_idx ON ec2_subnets USING gin (raw jsonb_path_ops) WITH (gin_pending_list_limit = 65536);

-- ec2.describe-internet-gateways
CREATE TABLE ec2_internet_gateways (
    snapshot_id bigint NOT NULL REFERENCES snapshots (id) ON DELETE CASCADE,
    source_run bigint NOT NULL,
    account_id text,
    region text,
    internet_gateway_id text,
    vpc_ids text[],
    owner_id text,
    tags jsonb,
    raw jsonb NOT NULL
);
CREATE INDEX ec2_internet_gateways_key_idx ON ec2_internet_gateways (snapshot_id, internet_gateway_id);
CREATE INDEX ec2_internet_gateways_raw_idx ON ec2_internet_gateways USING gin (raw jsonb_path_ops) WITH (gin_pending_list_limit = 65536);

-- ec2.describe-nat-gateways
CREATE TABLE ec2_nat_gateways (
    snapshot_id bigint NOT NULL REFERENCES snapshots (id) ON DELETE CASCADE,
    source_run bigint NOT NULL,
    account_id text,
    region text,
    nat_gateway_id text,
    vpc_id text,
    subnet_id text,
    state text,
    connectivity_type text,
    public_ips text[],
    private_ips text[],
    tags jsonb,
    raw jsonb NOT NULL
);
CREATE INDEX ec2_nat_gateways_key_idx ON ec2_nat_gateways (snapshot_id, nat_gateway_id);
CREATE INDEX ec2_nat_gateways_raw_idx ON ec2_nat_gateways USING gin (raw jsonb_path_ops) WITH (gin_pending_list_limit = 65536);

-- ec2.describe-security-groups
CREATE TABLE ec2_security_groups (
    snapshot_id bigint NOT NULL REFERENCES snapshots (id) ON DELETE CASCADE,
    source_run bigint NOT NULL,
    account_id text,
    region text,
    group_id text,
    group_name text,
    vpc_id text,
    owner_id text,
    description text,
    tags jsonb,
    raw jsonb NOT NULL
);
CREATE INDEX ec2_security_groups_key_idx ON ec2_security_groups (snapshot_id, group_id);
CREATE INDEX ec2_security_groups_raw_idx ON ec2_security_groups USING gin (raw jsonb_path_ops) WITH (gin_pending_list_limit = 65536);

-- ec2.describe-security-group-rules
CREATE TABLE ec2_security_group_rules (
    snapshot_id bigint NOT NULL REFERENCES snapshots (id) ON DELETE CASCADE,
    source_run bigint NOT NULL,
    account_id text,
    region text,
    security_group_rule_id text,
    group_id text,
    group_owner_id text,
    is_egress boolean,
    ip_protocol text,
    from_port bigint,
    to_port bigint,
    cidr_ipv4 inet,
    cidr_ipv6 inet,
    prefix_list_id text,
    referenced_group_id text,
    referenced_user_id text,
    referenced_vpc_peering_id text,
    description text,
    raw jsonb NOT NULL
);
CREATE INDEX ec2_security_group_rules_key_idx ON ec2_security_group_rules (snapshot_id, security_group_rule_id);
CREATE INDEX ec2_security_group_rules_raw_idx ON ec2_security_group_rules USING gin (raw jsonb_path_ops) WITH (gin_pending_list_limit = 65536);

-- ec2.describe-network-acls
CREATE TABLE ec2_network_acls (
    snapshot_id bigint NOT NULL REFERENCES snapshots (id) ON DELETE CASCADE,
    source_run bigint NOT NULL,
    account_id text,
    region text,
    network_acl_id text,
    vpc_id text,
    is_default boolean,
    subnet_ids text[],
    tags jsonb,
    raw jsonb NOT NULL
);
CREATE INDEX ec2_network_acls_key_idx ON ec2_network_acls (snapshot_id, network_acl_id);
CREATE INDEX ec2_network_acls_raw_idx ON ec2_network_acls USING gin (raw jsonb_path_ops) WITH (gin_pending_list_limit = 65536);

-- ec2.describe-route-tables
CREATE TABLE ec2_route_tables (
    snapshot_id bigint NOT NULL REFERENCES snapshots (id) ON DELETE CASCADE,
    source_run bigint NOT NULL,
    account_id text,
    region text,
    route_table_id text,
    vpc_id text,
    is_main boolean,
    subnet_ids text[],
    gateway_ids text[],
    tags jsonb,
    raw jsonb NOT NULL
);
CREATE INDEX ec2_route_tables_key_idx ON ec2_route_tables (snapshot_id, route_table_id);
CREATE INDEX ec2_route_tables_raw_idx ON ec2_route_tables USING gin (raw jsonb_path_ops) WITH (gin_pending_list_limit = 65536);

-- ec2.describe-managed-prefix-lists
CREATE TABLE ec2_managed_prefix_lists (
    snapshot_id bigint NOT NULL REFERENCES snapshots (id) ON DELETE CASCADE,
    source_run bigint NOT NULL,
    account_id text,
    region text,
    prefix_list_id text,
    prefix_list_name text,
    address_family text,
    owner_id text,
    max_entries bigint,
    state text,
    tags jsonb,
    raw jsonb NOT NULL
);
CREATE INDEX ec2_managed_prefix_lists_key_idx ON ec2_managed_prefix_lists (snapshot_id, prefix_list_id);
CREATE INDEX ec2_managed_prefix_lists_raw_idx ON ec2_managed_prefix_lists USING gin (raw jsonb_path_ops) WITH (gin_pending_list_limit = 65536);

-- ec2.get-managed-prefix-list-entries
CREATE TABLE ec2_prefix_list_entries (
    snapshot_id bigint NOT NULL REFERENCES snapshots (id) ON DELETE CASCADE,
    source_run bigint NOT NULL,
    account_id text,
    region text,
    prefix_list_id text,
    cidr inet,
    description text,
    raw jsonb NOT NULL
);
CREATE INDEX ec2_prefix_list_entries_key_idx ON ec2_prefix_list_entries (snapshot_id, prefix_list_id, cidr);
CREATE INDEX ec2_prefix_list_entries_raw_idx ON ec2_prefix_list_entries USING gin (raw jsonb_path_ops) WITH (gin_pending_list_limit = 65536);

-- s3.list-buckets
CREATE TABLE s3_buckets (
    snapshot_id bigint NOT NULL REFERENCES snapshots (id) ON DELETE CASCADE,
    source_run bigint NOT NULL,
    account_id text,
    region text,
    bucket text,
    created_at timestamp with time zone,
    bucket_region text,
    raw jsonb NOT NULL
);
CREATE INDEX s3_buckets_key_idx ON s3_buckets (snapshot_id, bucket);
CREATE INDEX s3_buckets_raw_idx ON s3_buckets USING gin (raw jsonb_path_ops) WITH (gin_pending_list_limit = 65536);

-- s3.get-public-access-block
CREATE TABLE s3_bucket_public_access_blocks (
    snapshot_id bigint NOT NULL REFERENCES snapshots (id) ON DELETE CASCADE,
    source_run bigint NOT NULL,
    account_id text,
    region text,
    bucket text,
    block_public_acls boolean,
    ignore_public_acls boolean,
    block_public_policy boolean,
    restrict_public_buckets boolean,
    raw jsonb NOT NULL
);
CREATE INDEX s3_bucket_public_access_blocks_key_idx ON s3_bucket_public_access_blocks (snapshot_id, bucket);
CREATE INDEX s3_bucket_public_access_blocks_raw_idx ON s3_bucket_public_access_blocks USING gin (raw jsonb_path_ops) WITH (gin_pending_list_limit = 65536);

-- s3.get-bucket-policy-status
CREATE TABLE s3_bucket_policy_status (
    snapshot_id bigint NOT NULL REFERENCES snapshots (id) ON DELETE CASCADE,
    source_run bigint NOT NULL,
    account_id text,
    region text,
    bucket text,
    is_public boolean,
    raw jsonb NOT NULL
);
CREATE INDEX s3_bucket_policy_status_key_idx ON s3_bucket_policy_status (snapshot_id, bucket);
CREATE INDEX s3_bucket_policy_status_raw_idx ON s3_bucket_policy_status USING gin (raw jsonb_path_ops) WITH (gin_pending_list_limit = 65536);

-- s3.get-bucket-acl
CREATE TABLE s3_bucket_acls (
    snapshot_id bigint NOT NULL REFERENCES snapshots (id) ON DELETE CASCADE,
    source_run bigint NOT NULL,
    account_id text,
    region text,
    bucket text,
    owner_id text,
    public_grants text[],
    raw jsonb NOT NULL
);
CREATE INDEX s3_bucket_acls_key_idx ON s3_bucket_acls (snapshot_id, bucket);
CREATE INDEX s3_bucket_acls_raw_idx ON s3_bucket_acls USING gin (raw jsonb_path_ops) WITH (gin_pending_list_limit = 65536);

-- s3.get-bucket-encryption
CREATE TABLE s3_bucket_encryption (
    snapshot_id bigint NOT NULL REFERENCES snapshots (id) ON DELETE CASCADE,
    source_run bigint NOT NULL,
    account_id text,
    region text,
    bucket text,
    sse_algorithm text,
    kms_key_id text,
    bucket_key_enabled boolean,
    raw jsonb NOT NULL
);
CREATE INDEX s3_bucket_encryption_key_idx ON s3_bucket_encryption (snapshot_id, bucket);
CREATE INDEX s3_bucket_encryption_raw_idx ON s3_bucket_encryption USING gin (raw jsonb_path_ops) WITH (gin_pending_list_limit = 65536);

-- s3.get-bucket-versioning
CREATE TABLE s3_bucket_versioning (
    snapshot_id bigint NOT NULL REFERENCES snapshots (id) ON DELETE CASCADE,
    source_run bigint NOT NULL,
    account_id text,
    region text,
    bucket text,
    status text,
    mfa_delete text,
    raw jsonb NOT NULL
);
CREATE INDEX s3_bucket_versioning_key_idx ON s3_bucket_versioning (snapshot_id, bucket);
CREATE INDEX s3_bucket_versioning_raw_idx ON s3_bucket_versioning USING gin (raw jsonb_path_ops) WITH (gin_pending_list_limit = 65536);

-- s3.get-bucket-logging
CREATE TABLE s3_bucket_logging (
    snapshot_id bigint NOT NULL REFERENCES snapshots (id) ON DELETE CASCADE,
    source_run bigint NOT NULL,
    account_id text,
    region text,
    bucket text,
    target_bucket text,
    target_prefix text,
    raw jsonb NOT NULL
);
CREATE INDEX s3_bucket_logging_key_idx ON s3_bucket_logging (snapshot_id, bucket);
CREATE INDEX s3_bucket_logging_raw_idx ON s3_bucket_logging USING gin (raw jsonb_path_ops) WITH (gin_pending_list_limit = 65536);

-- s3control.get-public-access-block
CREATE TABLE s3_account_public_access_block (
    snapshot_id bigint NOT NULL REFERENCES snapshots (id) ON DELETE CASCADE,
    source_run bigint NOT NULL,
    account_id text,
    region text,
    block_public_acls boolean,
    ignore_public_acls boolean,
    block_public_policy boolean,
    restrict_public_buckets boolean,
    raw jsonb NOT NULL
);
CREATE INDEX s3_account_public_access_block_key_idx ON s3_account_public_access_block (snapshot_id, account_id);
CREATE INDEX s3_account_public_access_block_raw_idx ON s3_account_public_access_block USING gin (raw jsonb_path_ops) WITH (gin_pending_list_limit = 65536);

-- rds.describe-db-instances
CREATE TABLE rds_db_instances (
    snapshot_id bigint NOT NULL REFERENCES snapshots (id) ON DELETE CASCADE,
    source_run bigint NOT NULL,
    account_id text,
    region text,
    db_instance_id text,
    db_instance_arn text,
    engine text,
    engine_version text,
    instance_class text,
    status text,
    storage_encrypted boolean,
    kms_key_id text,
    publicly_accessible boolean,
    backup_retention_period bigint,
    multi_az boolean,
    deletion_protection boolean,
    vpc_id text,
    endpoint_address text,
    endpoint_port bigint,
    security_group_ids text[],
    tags jsonb,
    environment text,
    raw jsonb NOT NULL
);
CREATE INDEX rds_db_instances_key_idx ON rds_db_instances (snapshot_id, db_instance_id);
CREATE INDEX rds_db_instances_raw_idx ON rds_db_instances USING gin (raw jsonb_path_ops) WITH (gin_pending_list_limit = 65536);

-- rds.describe-db-snapshots
CREATE TABLE rds_db_snapshots (
    snapshot_id bigint NOT NULL REFERENCES snapshots (id) ON DELETE CASCADE,
    source_run bigint NOT NULL,
    account_id text,
    region text,
    db_snapshot_id text,
    db_snapshot_arn text,
    db_instance_id text,
    snapshot_type text,
    encrypted boolean,
    created_at timestamp with time zone,
    tags jsonb,
    raw jsonb NOT NULL
);
CREATE INDEX rds_db_snapshots_key_idx ON rds_db_snapshots (snapshot_id, db_snapshot_id);
CREATE INDEX rds_db_snapshots_raw_idx ON rds_db_snapshots USING gin (raw jsonb_path_ops) WITH (gin_pending_list_limit = 65536);

-- rds.describe-db-snapshot-attributes
CREATE TABLE rds_db_snapshot_attributes (
    snapshot_id bigint NOT NULL REFERENCES snapshots (id) ON DELETE CASCADE,
    source_run bigint NOT NULL,
    account_id text,
    region text,
    db_snapshot_id text,
    restorable_by text[],
    raw jsonb NOT NULL
);
CREATE INDEX rds_db_snapshot_attributes_key_idx ON rds_db_snapshot_attributes (snapshot_id, db_snapshot_id);
CREATE INDEX rds_db_snapshot_attributes_raw_idx ON rds_db_snapshot_attributes USING gin (raw jsonb_path_ops) WITH (gin_pending_list_limit = 65536);

-- elbv2.describe-load-balancers
CREATE TABLE elb_load_balancers (
    snapshot_id bigint NOT NULL REFERENCES snapshots (id) ON DELETE CASCADE,
    source_run bigint NOT NULL,
    account_id text,
    region text,
    load_balancer_arn text,
    name text,
    type text,
    scheme text,
    vpc_id text,
    dns_name text,
    state text,
    security_group_ids text[],
    subnet_ids text[],
    raw jsonb NOT NULL
);
CREATE INDEX elb_load_balancers_key_idx ON elb_load_balancers (snapshot_id, load_balancer_arn);
CREATE INDEX elb_load_balancers_raw_idx ON elb_load_balancers USING gin (raw jsonb_path_ops) WITH (gin_pending_list_limit = 65536);

-- elbv2.describe-listeners
CREATE TABLE elb_listeners (
    snapshot_id bigint NOT NULL REFERENCES snapshots (id) ON DELETE CASCADE,
    source_run bigint NOT NULL,
    account_id text,
    region text,
    load_balancer_arn text,
    listener_arn text,
    port bigint,
    protocol text,
    ssl_policy text,
    target_group_arns text[],
    raw jsonb NOT NULL
);
CREATE INDEX elb_listeners_key_idx ON elb_listeners (snapshot_id, listener_arn);
CREATE INDEX elb_listeners_raw_idx ON elb_listeners USING gin (raw jsonb_path_ops) WITH (gin_pending_list_limit = 65536);

-- cloudfront.list-distributions
CREATE TABLE cloudfront_distributions (
    snapshot_id bigint NOT NULL REFERENCES snapshots (id) ON DELETE CASCADE,
    source_run bigint NOT NULL,
    account_id text,
    region text,
    distribution_id text,
    arn text,
    domain_name text,
    aliases text[],
    origin_domains text[],
    enabled boolean,
    web_acl_id text,
    viewer_protocol_policy text,
    minimum_protocol_version text,
    raw jsonb NOT NULL
);
CREATE INDEX cloudfront_distributions_key_idx ON cloudfront_distributions (snapshot_id, distribution_id);
CREATE INDEX cloudfront_distributions_raw_idx ON cloudfront_distributions USING gin (raw jsonb_path_ops) WITH (gin_pending_list_limit = 65536);

-- route53.list-hosted-zones
CREATE TABLE route53_hosted_zones (
    snapshot_id bigint NOT NULL REFERENCES snapshots (id) ON DELETE CASCADE,
    source_run bigint NOT NULL,
    account_id text,
    region text,
    zone_id text,
    name text,
    private_zone boolean,
    record_count bigint,
    raw jsonb NOT NULL
);
CREATE INDEX route53_hosted_zones_key_idx ON route53_hosted_zones (snapshot_id, zone_id);
CREATE INDEX route53_hosted_zones_raw_idx ON route53_hosted_zones USING gin (raw jsonb_path_ops) WITH (gin_pending_list_limit = 65536);

-- route53.list-resource-record-sets
CREATE TABLE route53_record_sets (
    snapshot_id bigint NOT NULL REFERENCES snapshots (id) ON DELETE CASCADE,
    source_run bigint NOT NULL,
    account_id text,
    region text,
    zone_id text,
    name text,
    type text,
    set_identifier text,
    ttl bigint,
    values text[],
    alias_dns_name text,
    raw jsonb NOT NULL
);
CREATE INDEX route53_record_sets_key_idx ON route53_record_sets (snapshot_id, zone_id, name, type, set_identifier);
CREATE INDEX route53_record_sets_raw_idx ON route53_record_sets USING gin (raw jsonb_path_ops) WITH (gin_pending_list_limit = 65536);

-- securityhub.get-findings
CREATE TABLE securityhub_findings (
    snapshot_id bigint NOT NULL REFERENCES snapshots (id) ON DELETE CASCADE,
    source_run bigint NOT NULL,
    account_id text,
    region text,
    finding_id text,
    product_arn text,
    aws_account_id text,
    generator_id text,
    title text,
    severity text,
    compliance_status text,
    control_id text,
    workflow_status text,
    record_state text,
    resource_type text,
    resource_id text,
    created_at timestamp with time zone,
    updated_at timestamp with time zone,
    raw jsonb NOT NULL
);
CREATE INDEX securityhub_findings_key_idx ON securityhub_findings (snapshot_id, finding_id);
CREATE INDEX securityhub_findings_raw_idx ON securityhub_findings USING gin (raw jsonb_path_ops) WITH (gin_pending_list_limit = 65536);

-- guardduty.get-findings
CREATE TABLE guardduty_findings (
    snapshot_id bigint NOT NULL REFERENCES snapshots (id) ON DELETE CASCADE,
    source_run bigint NOT NULL,
    account_id text,
    region text,
    finding_id text,
    type text,
    title text,
    severity double precision,
    resource_type text,
    instance_id text,
    archived boolean,
    count bigint,
    created_at timestamp with time zone,
    updated_at timestamp with time zone,
    raw jsonb NOT NULL
);
CREATE INDEX guardduty_findings_key_idx ON guardduty_findings (snapshot_id, finding_id);
CREATE INDEX guardduty_findings_raw_idx ON guardduty_findings USING gin (raw jsonb_path_ops) WITH (gin_pending_list_limit = 65536);

-- inspector2.list-findings
CREATE TABLE inspector_findings (
    snapshot_id bigint NOT NULL REFERENCES snapshots (id) ON DELETE CASCADE,
    source_run bigint NOT NULL,
    account_id text,
    region text,
    finding_arn text,
    type text,
    severity text,
    status text,
    title text,
    inspector_score double precision,
    resource_type text,
    resource_id text,
    vulnerability_id text,
    fix_available text,
    exploit_available text,
    first_observed_at timestamp with time zone,
    last_observed_at timestamp with time zone,
    raw jsonb NOT NULL
);
CREATE INDEX inspector_findings_key_idx ON inspector_findings (snapshot_id, finding_arn);
CREATE INDEX inspector_findings_raw_idx ON inspector_findings USING gin (raw jsonb_path_ops) WITH (gin_pending_list_limit = 65536);

-- ecr.describe-repositories
CREATE TABLE ecr_repositories (
    snapshot_id bigint NOT NULL REFERENCES snapshots (id) ON DELETE CASCADE,
    source_run bigint NOT NULL,
    account_id text,
    region text,
    repository_name text,
    repository_arn text,
    repository_uri text,
    tag_mutability text,
    scan_on_push boolean,
    encryption_type text,
    created_at timestamp with time zone,
    raw jsonb NOT NULL
);
CREATE INDEX ecr_repositories_key_idx ON ecr_repositories (snapshot_id, repository_name);
CREATE INDEX ecr_repositories_raw_idx ON ecr_repositories USING gin (raw jsonb_path_ops) WITH (gin_pending_list_limit = 65536);

-- falcon.devices
CREATE TABLE falcon_hosts (
    snapshot_id bigint NOT NULL REFERENCES snapshots (id) ON DELETE CASCADE,
    source_run bigint NOT NULL,
    account_id text,
    region text,
    device_id text,
    hostname text,
    local_ip inet,
    external_ip inet,
    mac_address text,
    instance_id text,
    service_provider text,
    agent_version text,
    platform text,
    os_version text,
    status text,
    first_seen timestamp with time zone,
    last_seen timestamp with time zone,
    falcon_tags text[],
    raw jsonb NOT NULL
);
CREATE INDEX falcon_hosts_key_idx ON falcon_hosts (snapshot_id, device_id);
CREATE INDEX falcon_hosts_raw_idx ON falcon_hosts USING gin (raw jsonb_path_ops) WITH (gin_pending_list_limit = 65536);

-- falcon.alerts
CREATE TABLE falcon_alerts (
    snapshot_id bigint NOT NULL REFERENCES snapshots (id) ON DELETE CASCADE,
    source_run bigint NOT NULL,
    account_id text,
    region text,
    composite_id text,
    device_id text,
    hostname text,
    instance_id text,
    severity bigint,
    severity_name text,
    status text,
    name text,
    tactic text,
    technique text,
    created_at timestamp with time zone,
    updated_at timestamp with time zone,
    raw jsonb NOT NULL
);
CREATE INDEX falcon_alerts_key_idx ON falcon_alerts (snapshot_id, composite_id);
CREATE INDEX falcon_alerts_raw_idx ON falcon_alerts USING gin (raw jsonb_path_ops) WITH (gin_pending_list_limit = 65536);

-- cloudflare.zones
CREATE TABLE cloudflare_zones (
    snapshot_id bigint NOT NULL REFERENCES snapshots (id) ON DELETE CASCADE,
    source_run bigint NOT NULL,
    account_id text,
    region text,
    zone_id text,
    name text,
    status text,
    paused boolean,
    cloudflare_account_id text,
    cloudflare_account text,
    raw jsonb NOT NULL
);
CREATE INDEX cloudflare_zones_key_idx ON cloudflare_zones (snapshot_id, zone_id);
CREATE INDEX cloudflare_zones_raw_idx ON cloudflare_zones USING gin (raw jsonb_path_ops) WITH (gin_pending_list_limit = 65536);

-- cloudflare.dns-records
CREATE TABLE cloudflare_dns_records (
    snapshot_id bigint NOT NULL REFERENCES snapshots (id) ON DELETE CASCADE,
    source_run bigint NOT NULL,
    account_id text,
    region text,
    zone_id text,
    record_id text,
    name text,
    type text,
    content text,
    proxied boolean,
    ttl bigint,
    raw jsonb NOT NULL
);
CREATE INDEX cloudflare_dns_records_key_idx ON cloudflare_dns_records (snapshot_id, record_id);
CREATE INDEX cloudflare_dns_records_raw_idx ON cloudflare_dns_records USING gin (raw jsonb_path_ops) WITH (gin_pending_list_limit = 65536);

