-- Reconciliation: EDR coverage (EC2 ↔ Falcon), S3 and RDS posture, drift, and the canonical
-- security views. Results are per snapshot; the views read the newest reconciled snapshot.

-- Which snapshots have been reconciled, and what the pass found.
CREATE TABLE reconciliations (
    snapshot_id    bigint      PRIMARY KEY REFERENCES snapshots (id) ON DELETE CASCADE,
    reconciled_at  timestamptz NOT NULL DEFAULT now(),
    summary        jsonb       NOT NULL
);

-- Every live instance of a snapshot: matched to a Falcon host, or unprotected.
CREATE TABLE edr_instances (
    snapshot_id    bigint NOT NULL REFERENCES snapshots (id) ON DELETE CASCADE,
    account_id     text   NOT NULL,
    region         text   NOT NULL,
    instance_id    text   NOT NULL,
    vpc_id         text,
    private_ip     inet,
    status         text   NOT NULL CHECK (status IN ('matched', 'unprotected')),
    -- The rule that matched: the instance id, or the private IP fallback.
    rule           text   CHECK (rule IN ('instance_id', 'private_ip')),
    device_id      text,
    agent_version  text,
    last_seen      timestamptz,
    -- Why an instance is unprotected (no sensor record, an ambiguous IP, a sensor seen only before launch).
    reason         text   NOT NULL,
    CHECK ((status = 'matched') = (rule IS NOT NULL AND device_id IS NOT NULL)),
    PRIMARY KEY (snapshot_id, instance_id)
);

-- Every Falcon host record of a snapshot: live (its instance is live and it is the newest record
-- for it) or stale, with the reason.
CREATE TABLE edr_falcon_hosts (
    snapshot_id  bigint NOT NULL REFERENCES snapshots (id) ON DELETE CASCADE,
    device_id    text   NOT NULL,
    status       text   NOT NULL CHECK (status IN ('live', 'stale')),
    instance_id  text,
    rule         text   CHECK (rule IN ('instance_id', 'private_ip')),
    reason       text   NOT NULL,
    PRIMARY KEY (snapshot_id, device_id)
);

-- One row per posture check per resource, with the reason when it fails.
CREATE TABLE posture_results (
    snapshot_id    bigint  NOT NULL REFERENCES snapshots (id) ON DELETE CASCADE,
    resource_type  text    NOT NULL CHECK (resource_type IN ('s3_bucket', 'rds_instance', 'rds_snapshot')),
    account_id     text    NOT NULL,
    region         text,
    resource_id    text    NOT NULL,
    check_name     text    NOT NULL,
    passed         boolean NOT NULL,
    reason         text,
    CHECK (passed OR reason IS NOT NULL),
    PRIMARY KEY (snapshot_id, resource_type, account_id, resource_id, check_name)
);

-- EC2 states that mean the instance exists (a stopped instance still needs a sensor).
CREATE FUNCTION is_live_instance_state(state text) RETURNS boolean LANGUAGE sql IMMUTABLE
    RETURN state IN ('pending', 'running', 'stopping', 'stopped');

-- EDR reconciliation of one snapshot. Rules, in order:
--   1. instance id: a Falcon host whose instance_id is a live instance; several → newest last_seen
--      wins, the others are stale duplicates.
--   2. private IP, only for Falcon hosts without an instance id, only within the host's AWS account
--      (and region when the host names its zone), only when the IP belongs to exactly one live
--      instance there (the same IP in two VPCs proves nothing), and only when the host was seen
--      after that instance launched (a ghost of the IP's previous owner must not match).
--      Several hosts for one instance → newest wins.
--   Everything else is stale, with the reason; every live instance without a host is unprotected.
CREATE FUNCTION reconcile_edr(snap bigint) RETURNS jsonb LANGUAGE plpgsql AS $$
DECLARE
    result jsonb;
BEGIN
    DELETE FROM edr_instances WHERE snapshot_id = snap;
    DELETE FROM edr_falcon_hosts WHERE snapshot_id = snap;

    CREATE TEMP TABLE edr_live ON COMMIT DROP AS
    SELECT DISTINCT ON (instance_id) account_id, region, instance_id, vpc_id, private_ip, launch_time,
           coalesce(private_ips, '{}') || coalesce(array[host(private_ip)], '{}') AS ips
    FROM ec2_instances
    WHERE snapshot_id = snap AND instance_id IS NOT NULL AND is_live_instance_state(state)
    ORDER BY instance_id, launch_time DESC NULLS LAST;
    CREATE INDEX ON edr_live (instance_id);
    -- Temporary tables have no statistics until analysed; without them the planner guesses.
    ANALYZE edr_live;

    CREATE TEMP TABLE edr_hosts ON COMMIT DROP AS
    SELECT DISTINCT ON (device_id) device_id, nullif(instance_id, '') AS instance_id, account_id, region,
           local_ip, last_seen, agent_version, service_provider
    FROM falcon_hosts WHERE snapshot_id = snap AND device_id IS NOT NULL
    ORDER BY device_id, last_seen DESC NULLS LAST;

    -- Rule 1: by instance id.
    CREATE INDEX ON edr_hosts (instance_id);
    ANALYZE edr_hosts;

    CREATE TEMP TABLE edr_by_id ON COMMIT DROP AS
    SELECT h.device_id, l.instance_id,
           row_number() OVER (PARTITION BY l.instance_id ORDER BY h.last_seen DESC NULLS LAST, h.device_id) AS rank
    FROM edr_hosts h JOIN edr_live l ON l.instance_id = h.instance_id;

    -- Every private IP of every live instance, for an indexed join instead of an array scan.
    CREATE TEMP TABLE edr_live_ips ON COMMIT DROP AS
    SELECT DISTINCT l.account_id, l.region, ip, l.instance_id, l.launch_time
    FROM edr_live l, unnest(l.ips) AS ip;
    CREATE INDEX ON edr_live_ips (account_id, ip);
    ANALYZE edr_live_ips;

    -- Rule 2 candidates: hosts without an instance id, by IP, in the same account (and region).
    CREATE TEMP TABLE edr_ip_candidates ON COMMIT DROP AS
    SELECT h.device_id, h.last_seen, l.instance_id, l.launch_time,
           count(*) OVER (PARTITION BY h.device_id) AS owners
    FROM edr_hosts h
    JOIN edr_live_ips l ON l.account_id = h.account_id
                       AND l.ip = host(h.local_ip)
                       AND (h.region IS NULL OR l.region = h.region)
    WHERE h.instance_id IS NULL AND h.local_ip IS NOT NULL;

    CREATE INDEX ON edr_ip_candidates (device_id);
    CREATE INDEX ON edr_ip_candidates (instance_id);
    ANALYZE edr_ip_candidates;

    CREATE TEMP TABLE edr_by_ip ON COMMIT DROP AS
    SELECT c.device_id, c.instance_id,
           row_number() OVER (PARTITION BY c.instance_id ORDER BY c.last_seen DESC NULLS LAST, c.device_id) AS rank
    FROM edr_ip_candidates c
    WHERE c.owners = 1
      AND c.last_seen >= c.launch_time
      AND NOT EXISTS (SELECT 1 FROM edr_by_id i WHERE i.instance_id = c.instance_id);

    INSERT INTO edr_falcon_hosts (snapshot_id, device_id, status, instance_id, rule, reason)
    SELECT snap, h.device_id,
           CASE WHEN i.rank = 1 OR p.rank = 1 THEN 'live' ELSE 'stale' END,
           coalesce(i.instance_id, p.instance_id, h.instance_id),
           CASE WHEN i.device_id IS NOT NULL THEN 'instance_id' WHEN p.device_id IS NOT NULL THEN 'private_ip' END,
           CASE
               WHEN i.rank = 1 THEN 'matched by instance id'
               WHEN p.rank = 1 THEN 'matched by private IP within the account'
               WHEN i.rank > 1 OR p.rank > 1 THEN 'duplicate: a newer Falcon record exists for this instance'
               WHEN h.instance_id IS NOT NULL THEN 'instance is not live in this snapshot'
               WHEN h.local_ip IS NULL THEN 'no instance id and no private IP'
               WHEN h.account_id IS NULL THEN 'no instance id and no AWS account to match the private IP in'
               WHEN EXISTS (SELECT 1 FROM edr_ip_candidates c WHERE c.device_id = h.device_id AND c.owners > 1)
                   THEN 'private IP belongs to several live instances of the account (IP reused across VPCs)'
               WHEN EXISTS (SELECT 1 FROM edr_ip_candidates c WHERE c.device_id = h.device_id AND c.last_seen < c.launch_time)
                   THEN 'last seen before the instance with this private IP launched (a previous owner of the IP)'
               WHEN EXISTS (SELECT 1 FROM edr_ip_candidates c WHERE c.device_id = h.device_id)
                   THEN 'private IP of an instance already matched by instance id'
               ELSE 'no live instance with this private IP in the account'
           END
    FROM edr_hosts h
    LEFT JOIN edr_by_id i ON i.device_id = h.device_id
    LEFT JOIN edr_by_ip p ON p.device_id = h.device_id;

    INSERT INTO edr_instances (snapshot_id, account_id, region, instance_id, vpc_id, private_ip, status, rule,
                               device_id, agent_version, last_seen, reason)
    SELECT snap, l.account_id, l.region, l.instance_id, l.vpc_id, l.private_ip,
           CASE WHEN f.device_id IS NULL THEN 'unprotected' ELSE 'matched' END,
           f.rule, f.device_id, h.agent_version, h.last_seen,
           CASE
               WHEN f.device_id IS NOT NULL THEN f.reason
               WHEN EXISTS (SELECT 1 FROM edr_ip_candidates c WHERE c.instance_id = l.instance_id AND c.owners > 1)
                   THEN 'no sensor record; a Falcon host has this private IP but the IP is reused across VPCs'
               WHEN EXISTS (SELECT 1 FROM edr_ip_candidates c WHERE c.instance_id = l.instance_id AND c.last_seen < c.launch_time)
                   THEN 'no sensor record; the Falcon host with this private IP was last seen before launch'
               ELSE 'no Falcon sensor record for this instance'
           END
    FROM edr_live l
    LEFT JOIN edr_falcon_hosts f ON f.snapshot_id = snap AND f.instance_id = l.instance_id AND f.status = 'live'
    LEFT JOIN edr_hosts h ON h.device_id = f.device_id;

    SELECT jsonb_build_object(
        'live_instances', (SELECT count(*) FROM edr_instances WHERE snapshot_id = snap),
        'matched', (SELECT count(*) FROM edr_instances WHERE snapshot_id = snap AND status = 'matched'),
        'matched_by_instance_id', (SELECT count(*) FROM edr_instances WHERE snapshot_id = snap AND rule = 'instance_id'),
        'matched_by_private_ip', (SELECT count(*) FROM edr_instances WHERE snapshot_id = snap AND rule = 'private_ip'),
        'unprotected', (SELECT count(*) FROM edr_instances WHERE snapshot_id = snap AND status = 'unprotected'),
        'falcon_hosts', (SELECT count(*) FROM edr_falcon_hosts WHERE snapshot_id = snap),
        'falcon_live', (SELECT count(*) FROM edr_falcon_hosts WHERE snapshot_id = snap AND status = 'live'),
        'falcon_stale', (SELECT count(*) FROM edr_falcon_hosts WHERE snapshot_id = snap AND status = 'stale')
    ) INTO result;
    DROP TABLE edr_live, edr_live_ips, edr_hosts, edr_by_id, edr_ip_candidates, edr_by_ip;
    RETURN result;
END $$;

-- S3 posture of one snapshot: public access, block-public-access, encryption, versioning, logging.
CREATE FUNCTION reconcile_s3_posture(snap bigint) RETURNS integer LANGUAGE plpgsql AS $$
DECLARE
    failed integer;
BEGIN
    DELETE FROM posture_results WHERE snapshot_id = snap AND resource_type = 's3_bucket';
    WITH buckets AS (
        SELECT b.account_id, b.bucket, b.bucket_region,
               ps.is_public AS policy_public,
               coalesce(acl.public_grants, '{}') AS public_grants,
               (pab.block_public_acls AND pab.ignore_public_acls AND pab.block_public_policy AND pab.restrict_public_buckets) AS bucket_blocks,
               (apab.block_public_acls AND apab.ignore_public_acls AND apab.block_public_policy AND apab.restrict_public_buckets) AS account_blocks,
               coalesce(pab.ignore_public_acls, false) OR coalesce(apab.ignore_public_acls, false) AS acls_ignored,
               coalesce(pab.restrict_public_buckets, false) OR coalesce(apab.restrict_public_buckets, false) AS policy_restricted,
               enc.sse_algorithm, ver.status AS versioning, log.target_bucket
        FROM s3_buckets b
        LEFT JOIN s3_bucket_policy_status ps ON ps.snapshot_id = b.snapshot_id AND ps.account_id = b.account_id AND ps.bucket = b.bucket
        LEFT JOIN s3_bucket_acls acl ON acl.snapshot_id = b.snapshot_id AND acl.account_id = b.account_id AND acl.bucket = b.bucket
        LEFT JOIN s3_bucket_public_access_blocks pab ON pab.snapshot_id = b.snapshot_id AND pab.account_id = b.account_id AND pab.bucket = b.bucket
        LEFT JOIN s3_account_public_access_block apab ON apab.snapshot_id = b.snapshot_id AND apab.account_id = b.account_id
        LEFT JOIN s3_bucket_encryption enc ON enc.snapshot_id = b.snapshot_id AND enc.account_id = b.account_id AND enc.bucket = b.bucket
        LEFT JOIN s3_bucket_versioning ver ON ver.snapshot_id = b.snapshot_id AND ver.account_id = b.account_id AND ver.bucket = b.bucket
        LEFT JOIN s3_bucket_logging log ON log.snapshot_id = b.snapshot_id AND log.account_id = b.account_id AND log.bucket = b.bucket
        WHERE b.snapshot_id = snap
    ), checks AS (
        SELECT account_id, bucket_region, bucket, 'public_access' AS check_name,
               NOT ((coalesce(policy_public, false) AND NOT policy_restricted) OR (cardinality(public_grants) > 0 AND NOT acls_ignored)) AS passed,
               nullif(concat_ws('; ',
                   CASE WHEN coalesce(policy_public, false) AND NOT policy_restricted THEN 'the bucket policy grants public access' END,
                   CASE WHEN cardinality(public_grants) > 0 AND NOT acls_ignored
                        THEN 'the ACL grants ' || array_to_string(public_grants, ', ') || ' to everyone' END), '') AS reason
        FROM buckets
        UNION ALL
        SELECT account_id, bucket_region, bucket, 'block_public_access',
               coalesce(bucket_blocks, false) OR coalesce(account_blocks, false),
               CASE WHEN bucket_blocks IS NULL AND account_blocks IS NULL THEN 'no public access block on the bucket or the account'
                    ELSE 'the public access block does not turn on all four settings' END
        FROM buckets
        UNION ALL
        SELECT account_id, bucket_region, bucket, 'encryption', sse_algorithm IS NOT NULL,
               'no default encryption configured'
        FROM buckets
        UNION ALL
        SELECT account_id, bucket_region, bucket, 'versioning', coalesce(versioning = 'Enabled', false),
               CASE WHEN versioning IS NULL THEN 'versioning was never enabled' ELSE 'versioning is ' || versioning END
        FROM buckets
        UNION ALL
        SELECT account_id, bucket_region, bucket, 'logging', target_bucket IS NOT NULL,
               'server access logging is off'
        FROM buckets
    )
    INSERT INTO posture_results (snapshot_id, resource_type, account_id, region, resource_id, check_name, passed, reason)
    SELECT snap, 's3_bucket', account_id, bucket_region, bucket, check_name, passed, CASE WHEN NOT passed THEN reason END
    FROM checks;
    SELECT count(*) INTO failed FROM posture_results
    WHERE snapshot_id = snap AND resource_type = 's3_bucket' AND NOT passed;
    RETURN failed;
END $$;

-- RDS posture of one snapshot: encryption, public access, backups (7 days or more), multi-AZ,
-- deletion protection per instance; encryption and public restore per manual snapshot.
CREATE FUNCTION reconcile_rds_posture(snap bigint) RETURNS integer LANGUAGE plpgsql AS $$
DECLARE
    failed integer;
BEGIN
    DELETE FROM posture_results WHERE snapshot_id = snap AND resource_type IN ('rds_instance', 'rds_snapshot');
    INSERT INTO posture_results (snapshot_id, resource_type, account_id, region, resource_id, check_name, passed, reason)
    SELECT snap, 'rds_instance', account_id, region, db_instance_id, c.check_name, c.passed, CASE WHEN NOT c.passed THEN c.reason END
    FROM rds_db_instances d
    CROSS JOIN LATERAL (VALUES
        ('encryption', coalesce(d.storage_encrypted, false), 'storage is not encrypted'),
        ('public_access', NOT coalesce(d.publicly_accessible, false), 'the endpoint is publicly accessible'),
        ('backups', coalesce(d.backup_retention_period, 0) >= 7,
            CASE WHEN coalesce(d.backup_retention_period, 0) = 0 THEN 'automated backups are off'
                 ELSE 'backups are kept ' || d.backup_retention_period || ' days (fewer than 7)' END),
        ('multi_az', coalesce(d.multi_az, false), 'single-AZ deployment'),
        ('deletion_protection', coalesce(d.deletion_protection, false), 'deletion protection is off')
    ) AS c (check_name, passed, reason)
    WHERE d.snapshot_id = snap AND d.db_instance_id IS NOT NULL;

    INSERT INTO posture_results (snapshot_id, resource_type, account_id, region, resource_id, check_name, passed, reason)
    SELECT snap, 'rds_snapshot', s.account_id, s.region, s.db_snapshot_id, c.check_name, c.passed, CASE WHEN NOT c.passed THEN c.reason END
    FROM rds_db_snapshots s
    LEFT JOIN rds_db_snapshot_attributes a
           ON a.snapshot_id = s.snapshot_id AND a.account_id = s.account_id AND a.region = s.region AND a.db_snapshot_id = s.db_snapshot_id
    CROSS JOIN LATERAL (VALUES
        ('encryption', coalesce(s.encrypted, false), 'snapshot is not encrypted'),
        ('public_restore', NOT ('all' = ANY (coalesce(a.restorable_by, '{}'))), 'anyone can restore this snapshot')
    ) AS c (check_name, passed, reason)
    WHERE s.snapshot_id = snap AND s.db_snapshot_id IS NOT NULL;

    SELECT count(*) INTO failed FROM posture_results
    WHERE snapshot_id = snap AND resource_type IN ('rds_instance', 'rds_snapshot') AND NOT passed;
    RETURN failed;
END $$;

-- The snapshot the views read: the newest reconciled one.
CREATE FUNCTION current_inventory_snapshot() RETURNS bigint LANGUAGE sql STABLE
    RETURN (SELECT max(snapshot_id) FROM reconciliations);

CREATE FUNCTION is_production(environment text) RETURNS boolean LANGUAGE sql IMMUTABLE
    RETURN environment ~* '^(prod|production|prd)([-_ ].*)?$';

-- Live instances without a working sensor.
CREATE VIEW unprotected_hosts AS
SELECT e.account_id, e.region, e.instance_id, i.name, i.environment, i.role, i.eks_cluster, e.vpc_id,
       host(e.private_ip) AS private_ip, i.launch_time, e.reason
FROM edr_instances e
JOIN ec2_instances i ON i.snapshot_id = e.snapshot_id AND i.instance_id = e.instance_id
WHERE e.snapshot_id = current_inventory_snapshot() AND e.status = 'unprotected'
ORDER BY e.account_id, e.region, e.instance_id;

-- EDR coverage over live instances, per account and in total (the `account_id` NULL row).
CREATE VIEW edr_coverage AS
SELECT account_id, count(*) AS live_instances,
       count(*) FILTER (WHERE status = 'matched') AS protected,
       count(*) FILTER (WHERE status = 'unprotected') AS unprotected,
       round(100.0 * count(*) FILTER (WHERE status = 'matched') / nullif(count(*), 0), 2) AS coverage_pct
FROM edr_instances
WHERE snapshot_id = current_inventory_snapshot()
GROUP BY ROLLUP (account_id)
ORDER BY account_id NULLS LAST;

-- Sensor versions on live instances broken down by any tag (`secops query sensor_versions --tag K`).
CREATE FUNCTION sensor_versions_by_tag(tag_key text) RETURNS TABLE (tag_value text, agent_version text, hosts bigint)
LANGUAGE sql STABLE AS $$
    SELECT coalesce(i.tags ->> tag_key, '(untagged)'), e.agent_version, count(*)
    FROM edr_instances e
    JOIN ec2_instances i ON i.snapshot_id = e.snapshot_id AND i.instance_id = e.instance_id
    WHERE e.snapshot_id = current_inventory_snapshot() AND e.status = 'matched'
    GROUP BY 1, 2 ORDER BY 1, 2
$$;

CREATE VIEW sensor_versions_by_role AS
SELECT coalesce(i.role, '(no role)') AS role, e.agent_version, count(*) AS hosts
FROM edr_instances e
JOIN ec2_instances i ON i.snapshot_id = e.snapshot_id AND i.instance_id = e.instance_id
WHERE e.snapshot_id = current_inventory_snapshot() AND e.status = 'matched'
GROUP BY 1, 2 ORDER BY 1, 2;

CREATE VIEW sensor_versions_by_cluster AS
SELECT coalesce(i.eks_cluster, '(not EKS)') AS eks_cluster, e.agent_version, count(*) AS hosts
FROM edr_instances e
JOIN ec2_instances i ON i.snapshot_id = e.snapshot_id AND i.instance_id = e.instance_id
WHERE e.snapshot_id = current_inventory_snapshot() AND e.status = 'matched'
GROUP BY 1, 2 ORDER BY 1, 2;

-- Buckets that are public or not protected by a public access block, with the reasons.
CREATE VIEW s3_exposure AS
SELECT account_id, region, resource_id AS bucket,
       bool_or(check_name = 'public_access' AND NOT passed) AS public,
       array_agg(check_name ORDER BY check_name) FILTER (WHERE NOT passed) AS failed_checks,
       string_agg(reason, '; ' ORDER BY check_name) FILTER (WHERE NOT passed) AS reasons
FROM posture_results
WHERE snapshot_id = current_inventory_snapshot() AND resource_type = 's3_bucket'
GROUP BY account_id, region, resource_id
HAVING bool_or(NOT passed AND check_name IN ('public_access', 'block_public_access'))
ORDER BY public DESC, account_id, bucket;

-- Every S3 bucket's posture, one row per bucket.
CREATE VIEW s3_posture AS
SELECT account_id, region, resource_id AS bucket,
       bool_and(passed) AS compliant,
       array_agg(check_name ORDER BY check_name) FILTER (WHERE NOT passed) AS failed_checks,
       string_agg(reason, '; ' ORDER BY check_name) FILTER (WHERE NOT passed) AS reasons
FROM posture_results
WHERE snapshot_id = current_inventory_snapshot() AND resource_type = 's3_bucket'
GROUP BY account_id, region, resource_id
ORDER BY compliant, account_id, bucket;

-- RDS instances and manual snapshots that fail a posture check, with the reasons.
CREATE VIEW rds_posture AS
SELECT resource_type, account_id, region, resource_id,
       array_agg(check_name ORDER BY check_name) FILTER (WHERE NOT passed) AS failed_checks,
       string_agg(reason, '; ' ORDER BY check_name) FILTER (WHERE NOT passed) AS reasons
FROM posture_results
WHERE snapshot_id = current_inventory_snapshot() AND resource_type IN ('rds_instance', 'rds_snapshot')
GROUP BY resource_type, account_id, region, resource_id
HAVING bool_or(NOT passed)
ORDER BY resource_type, account_id, resource_id;

-- Ingress open to the internet (0.0.0.0/0 or ::/0) on security groups attached to live production
-- instances (production by the instance's or its VPC's environment tag).
CREATE VIEW open_ingress_production AS
SELECT DISTINCT i.account_id, i.region, i.instance_id, i.name, coalesce(i.environment, v.environment) AS environment,
       r.group_id, r.security_group_rule_id, r.ip_protocol, r.from_port, r.to_port,
       coalesce(host(r.cidr_ipv4) || '/' || masklen(r.cidr_ipv4), host(r.cidr_ipv6) || '/' || masklen(r.cidr_ipv6)) AS source,
       host(i.public_ip) AS public_ip
FROM ec2_instances i
LEFT JOIN ec2_vpcs v ON v.snapshot_id = i.snapshot_id AND v.account_id = i.account_id AND v.region = i.region AND v.vpc_id = i.vpc_id
JOIN ec2_security_group_rules r
  ON r.snapshot_id = i.snapshot_id AND r.account_id = i.account_id AND r.region = i.region
 AND r.group_id = ANY (i.security_group_ids)
WHERE i.snapshot_id = current_inventory_snapshot()
  AND is_live_instance_state(i.state)
  AND is_production(coalesce(i.environment, v.environment))
  AND NOT r.is_egress
  AND (r.cidr_ipv4 = '0.0.0.0/0'::inet OR r.cidr_ipv6 = '::/0'::inet)
ORDER BY i.account_id, i.instance_id, r.from_port;

-- Threats on live hosts: open GuardDuty findings on live instances and Falcon alerts on live sensors.
CREATE VIEW active_threats AS
SELECT 'guardduty' AS source, g.finding_id AS id, g.account_id, g.region, g.instance_id, NULL::text AS device_id,
       g.type AS threat, g.title,
       CASE WHEN g.severity >= 7 THEN 'HIGH' WHEN g.severity >= 4 THEN 'MEDIUM' ELSE 'LOW' END AS severity,
       g.updated_at AS observed_at
FROM guardduty_findings g
JOIN edr_instances e ON e.snapshot_id = g.snapshot_id AND e.instance_id = g.instance_id
WHERE g.snapshot_id = current_inventory_snapshot() AND NOT coalesce(g.archived, false)
UNION ALL
SELECT 'falcon', a.composite_id, e.account_id, e.region, f.instance_id, a.device_id,
       coalesce(a.tactic || ' / ' || a.technique, a.name), a.name,
       CASE WHEN a.severity >= 70 THEN 'HIGH' WHEN a.severity >= 40 THEN 'MEDIUM' ELSE 'LOW' END,
       coalesce(a.updated_at, a.created_at)
FROM falcon_alerts a
JOIN edr_falcon_hosts f ON f.snapshot_id = a.snapshot_id AND f.device_id = a.device_id AND f.status = 'live'
LEFT JOIN edr_instances e ON e.snapshot_id = f.snapshot_id AND e.instance_id = f.instance_id
WHERE a.snapshot_id = current_inventory_snapshot() AND coalesce(a.status, 'new') NOT IN ('closed', 'resolved')
ORDER BY observed_at DESC;

-- Drift of one inventory table between two snapshots: resources that appeared, disappeared, or
-- changed a normalized attribute (raw and bookkeeping columns aside). `keys` are the columns that
-- identify a resource within its account and region.
CREATE FUNCTION inventory_drift(tbl regclass, keys text[], from_snap bigint, to_snap bigint)
RETURNS TABLE (change text, account_id text, region text, resource_key text, attribute text, before jsonb, after jsonb)
LANGUAGE plpgsql STABLE AS $$
DECLARE
    key_expr text := (SELECT string_agg(format('coalesce(t.%I::text, %L)', k, ''), ' || ''/'' || ') FROM unnest(keys) AS k);
BEGIN
    RETURN QUERY EXECUTE format($q$
        WITH a AS (
            SELECT t.account_id, t.region, %1$s AS k,
                   to_jsonb(t) - 'snapshot_id' - 'source_run' - 'raw' AS cols
            FROM %2$s t WHERE t.snapshot_id = $1
        ), b AS (
            SELECT t.account_id, t.region, %1$s AS k,
                   to_jsonb(t) - 'snapshot_id' - 'source_run' - 'raw' AS cols
            FROM %2$s t WHERE t.snapshot_id = $2
        )
        SELECT 'appeared'::text, b.account_id, b.region, b.k, NULL::text, NULL::jsonb, b.cols
        FROM b LEFT JOIN a ON a.account_id IS NOT DISTINCT FROM b.account_id AND a.region IS NOT DISTINCT FROM b.region AND a.k = b.k
        WHERE a.k IS NULL
        UNION ALL
        SELECT 'disappeared', a.account_id, a.region, a.k, NULL, a.cols, NULL
        FROM a LEFT JOIN b ON a.account_id IS NOT DISTINCT FROM b.account_id AND a.region IS NOT DISTINCT FROM b.region AND a.k = b.k
        WHERE b.k IS NULL
        UNION ALL
        SELECT 'changed', b.account_id, b.region, b.k, e.key, a.cols -> e.key, e.value
        FROM a JOIN b ON a.account_id IS NOT DISTINCT FROM b.account_id AND a.region IS NOT DISTINCT FROM b.region AND a.k = b.k
        CROSS JOIN LATERAL jsonb_each(b.cols) AS e
        WHERE (a.cols -> e.key) IS DISTINCT FROM e.value
    $q$, key_expr, tbl) USING from_snap, to_snap;
END $$;
