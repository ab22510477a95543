-- Triage: the five finding sources as one shape, the read-only role the analyst connects with,
-- and the bookkeeping of every run (what was selected, analysed, failed, and what it cost).

-- The analyst's role: it may read everything and write nothing. NOLOGIN: a deployment grants it
-- to a login user (or IAM-authenticated user) of its own; the single binary enters it per
-- connection (`options=-c role=secops_readonly`), which is why the migrating user is a member.
-- Roles belong to the cluster, so several databases of one cluster may race to create it.
DO $$
BEGIN
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'secops_readonly') THEN
        BEGIN
            CREATE ROLE secops_readonly NOLOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOINHERIT;
        EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL;
        END;
    END IF;
    IF NOT pg_has_role(current_user, 'secops_readonly', 'MEMBER') THEN
        BEGIN
            EXECUTE format('GRANT secops_readonly TO %I', current_user);
        EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL;
        END;
    END IF;
END
$$;
GRANT USAGE ON SCHEMA public TO secops_readonly;
GRANT SELECT ON ALL TABLES IN SCHEMA public TO secops_readonly;
GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA public TO secops_readonly;
ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT SELECT ON TABLES TO secops_readonly;
-- Except what is a capability or a message in flight: approval task tokens resume workflows,
-- and the outbox holds undelivered tickets and chat messages.
REVOKE SELECT ON remediation_approvals, outbox FROM secops_readonly;

-- The environment weight of the penalty score (decide's built-in policy: PROD 10, STAGING 2,
-- everything else 1) and the score itself: ((normalized + 60) / 100)² × weight, 4 decimals.
CREATE FUNCTION triage_environment_weight(environment text) RETURNS double precision
LANGUAGE sql IMMUTABLE
    RETURN CASE
        WHEN is_production(environment) THEN 10
        WHEN environment ~* '^(stag|staging|stg|uat|preprod|pre-prod)([-_ ].*)?$' THEN 2
        ELSE 1
    END;

CREATE FUNCTION triage_penalty_score(normalized integer, environment text) RETURNS double precision
LANGUAGE sql IMMUTABLE
    RETURN round((((least(greatest(coalesce(normalized, 0), 0), 100) + 60) / 100.0) ^ 2
                  * triage_environment_weight(environment))::numeric, 4)::double precision;

-- A Security Hub severity label for a 0–100 score (the ASFF bands).
CREATE FUNCTION triage_severity_label(normalized integer) RETURNS text LANGUAGE sql IMMUTABLE
    RETURN CASE
        WHEN normalized >= 90 THEN 'CRITICAL'
        WHEN normalized >= 70 THEN 'HIGH'
        WHEN normalized >= 40 THEN 'MEDIUM'
        WHEN normalized >= 1 THEN 'LOW'
        ELSE 'INFORMATIONAL'
    END;

-- Ports whose exposure to the internet is worse than a web port: remote administration and
-- data stores.
CREATE FUNCTION triage_sensitive_ports(from_port integer, to_port integer) RETURNS boolean
LANGUAGE sql IMMUTABLE
    RETURN from_port IS NULL
        OR EXISTS (SELECT FROM unnest(ARRAY[22, 23, 135, 139, 445, 1433, 1521, 2375, 3306, 3389, 5432, 5601, 5900,
                                            6379, 9200, 11211, 27017]) AS p WHERE p BETWEEN from_port AND to_port);

-- Every open finding of the current inventory snapshot, normalized: Security Hub control
-- failures, Inspector V2 vulnerabilities, GuardDuty threats, Falcon detections and internet
-- exposure from the reachability table. The environment is the resource's, else its VPC's.
CREATE VIEW security_findings AS
WITH snap AS (SELECT current_inventory_snapshot() AS id),
instances AS (
    SELECT i.account_id, i.region, i.instance_id, coalesce(i.environment, v.environment) AS environment
    FROM ec2_instances i
    LEFT JOIN ec2_vpcs v ON v.snapshot_id = i.snapshot_id AND v.account_id = i.account_id
                        AND v.region = i.region AND v.vpc_id = i.vpc_id
    WHERE i.snapshot_id = (SELECT id FROM snap)
),
hub AS (
    SELECT 'securityhub'::text AS source, s.finding_id AS id, s.product_arn,
           coalesce(s.aws_account_id, s.account_id) AS account_id, s.region,
           coalesce(s.control_id, s.generator_id, 'unknown') AS kind, coalesce(s.title, '') AS title,
           CASE WHEN upper(s.severity) IN ('INFORMATIONAL', 'LOW', 'MEDIUM', 'HIGH', 'CRITICAL') THEN upper(s.severity)
                ELSE 'INFORMATIONAL' END AS severity,
           coalesce((s.raw->'Severity'->>'Normalized')::integer,
                    CASE upper(s.severity) WHEN 'CRITICAL' THEN 90 WHEN 'HIGH' THEN 70 WHEN 'MEDIUM' THEN 40
                                           WHEN 'LOW' THEN 1 ELSE 0 END) AS severity_normalized,
           s.resource_type, s.resource_id,
           coalesce(i.environment, s.raw->'Resources'->0->'Tags'->>'Environment') AS environment,
           coalesce(s.updated_at, s.created_at) AS observed_at, s.raw
    FROM securityhub_findings s
    LEFT JOIN instances i ON i.instance_id = substring(s.resource_id FROM 'instance/(i-[0-9a-f]+)$')
    WHERE s.snapshot_id = (SELECT id FROM snap)
      AND s.compliance_status = 'FAILED'
      AND coalesce(s.record_state, 'ACTIVE') = 'ACTIVE'
      AND coalesce(s.workflow_status, 'NEW') IN ('NEW', 'NOTIFIED')
),
inspector AS (
    SELECT 'inspector', f.finding_arn, 'secops:inspector', f.account_id, f.region,
           coalesce(f.vulnerability_id, f.type, 'unknown'), coalesce(f.title, ''),
           CASE WHEN upper(f.severity) IN ('INFORMATIONAL', 'LOW', 'MEDIUM', 'HIGH', 'CRITICAL') THEN upper(f.severity)
                ELSE 'INFORMATIONAL' END,
           coalesce(round(f.inspector_score * 10)::integer,
                    CASE upper(f.severity) WHEN 'CRITICAL' THEN 90 WHEN 'HIGH' THEN 70 WHEN 'MEDIUM' THEN 40
                                           WHEN 'LOW' THEN 1 ELSE 0 END),
           f.resource_type, f.resource_id, i.environment,
           coalesce(f.last_observed_at, f.first_observed_at), f.raw
    FROM inspector_findings f
    LEFT JOIN instances i ON i.instance_id = f.resource_id
    WHERE f.snapshot_id = (SELECT id FROM snap) AND coalesce(f.status, 'ACTIVE') = 'ACTIVE'
),
guardduty AS (
    SELECT 'guardduty', g.finding_id, 'secops:guardduty', g.account_id, g.region,
           coalesce(g.type, 'unknown'), coalesce(g.title, ''),
           triage_severity_label(round(coalesce(g.severity, 0) * 10)::integer),
           round(coalesce(g.severity, 0) * 10)::integer,
           CASE WHEN g.instance_id IS NOT NULL THEN 'AwsEc2Instance' ELSE g.resource_type END,
           coalesce(g.instance_id, g.raw->'Resource'->>'ResourceType'), i.environment,
           coalesce(g.updated_at, g.created_at), g.raw
    FROM guardduty_findings g
    LEFT JOIN instances i ON i.instance_id = g.instance_id
    WHERE g.snapshot_id = (SELECT id FROM snap) AND NOT coalesce(g.archived, false)
),
falcon AS (
    SELECT 'falcon', a.composite_id, 'secops:falcon', coalesce(i.account_id, a.account_id), coalesce(i.region, a.region),
           coalesce(a.tactic || ' / ' || a.technique, a.name, 'unknown'), coalesce(a.name, ''),
           triage_severity_label(coalesce(a.severity, 0)::integer), least(coalesce(a.severity, 0), 100)::integer,
           CASE WHEN a.instance_id IS NOT NULL THEN 'AwsEc2Instance' ELSE 'FalconHost' END,
           coalesce(a.instance_id, a.device_id), i.environment,
           coalesce(a.updated_at, a.created_at), a.raw
    FROM falcon_alerts a
    LEFT JOIN instances i ON i.instance_id = a.instance_id
    WHERE a.snapshot_id = (SELECT id FROM snap) AND coalesce(a.status, 'new') NOT IN ('closed', 'resolved')
),
exposed AS (
    SELECT n.account_id, n.region, n.resource_type, coalesce(n.resource_id, n.node_id) AS resource, n.name,
           bool_or(triage_sensitive_ports(r.from_port, r.to_port)) AS sensitive,
           string_agg(DISTINCT r.protocol || CASE WHEN r.from_port IS NULL THEN '/all'
                                                  WHEN r.from_port = r.to_port THEN '/' || r.from_port
                                                  ELSE '/' || r.from_port || '-' || r.to_port END, ', ') AS ports,
           jsonb_agg(jsonb_build_object('protocol', r.protocol, 'from_port', r.from_port, 'to_port', r.to_port,
                                        'mechanism', r.mechanism, 'evidence', r.evidence)
                     ORDER BY r.protocol, r.from_port) AS paths,
           max(fl.flattened_at) AS flattened_at
    FROM reachability r
    JOIN network_nodes n ON n.snapshot_id = r.snapshot_id AND n.node_id = r.destination_id
    JOIN network_flattenings fl ON fl.snapshot_id = r.snapshot_id
    WHERE r.snapshot_id = (SELECT id FROM snap) AND r.source_id = 'internet'
    GROUP BY n.account_id, n.region, n.resource_type, coalesce(n.resource_id, n.node_id), n.name
),
exposure AS (
    SELECT 'exposure', 'exposure:' || coalesce(e.account_id, 'unknown') || ':' || e.resource, 'secops:exposure',
           e.account_id, e.region, 'internet-exposure',
           coalesce(e.resource_type, 'resource') || ' ' || e.resource || coalesce(' (' || e.name || ')', '')
               || ' is reachable from the internet on ' || e.ports,
           CASE WHEN e.sensitive THEN 'HIGH' ELSE 'MEDIUM' END, CASE WHEN e.sensitive THEN 70 ELSE 40 END,
           e.resource_type, e.resource, i.environment, e.flattened_at,
           jsonb_build_object('resource', e.resource, 'name', e.name, 'ports', e.ports, 'paths', e.paths)
    FROM exposed e
    LEFT JOIN instances i ON i.instance_id = e.resource
),
everything AS (
    SELECT * FROM hub UNION ALL SELECT * FROM inspector UNION ALL SELECT * FROM guardduty
    UNION ALL SELECT * FROM falcon UNION ALL SELECT * FROM exposure
)
SELECT source, id, product_arn, account_id, region, kind, title, severity, severity_normalized,
       resource_type, resource_id, environment, observed_at,
       triage_penalty_score(severity_normalized, environment) AS penalty_score, raw
FROM everything
WHERE id IS NOT NULL;

-- The findings a triage run considers: observed since `since`, heaviest first, at most
-- `max_rows`. Exclusions and the ticket check are applied by the caller (they need regexes and
-- the ticketing port).
CREATE FUNCTION get_security_findings(since timestamptz, max_rows integer)
RETURNS SETOF security_findings LANGUAGE sql STABLE AS $$
    SELECT * FROM security_findings
    WHERE observed_at >= since
    ORDER BY penalty_score DESC, severity_normalized DESC, observed_at DESC, source, id
    LIMIT max_rows
$$;

-- One triage run: the selection's arithmetic and the batch's totals.
CREATE TABLE triage_runs (
    execution_id     text        PRIMARY KEY,
    started_at       timestamptz NOT NULL DEFAULT now(),
    finished_at      timestamptz,
    since            timestamptz NOT NULL,
    provider         text        NOT NULL,
    concurrency      integer     NOT NULL CHECK (concurrency > 0),
    candidates       integer     NOT NULL CHECK (candidates >= 0),
    excluded         integer     NOT NULL CHECK (excluded >= 0),
    already_ticketed integer     NOT NULL CHECK (already_ticketed >= 0),
    over_limit       integer     NOT NULL CHECK (over_limit >= 0),
    selected         integer     NOT NULL CHECK (selected >= 0),
    exclusions       jsonb       NOT NULL DEFAULT '{}',
    totals           jsonb
);

-- One selected finding of one run: its analysis (or why there is none), its cost, its ticket.
CREATE TABLE triage_reports (
    execution_id     text        NOT NULL REFERENCES triage_runs (execution_id) ON DELETE CASCADE,
    source           text        NOT NULL CHECK (source IN ('securityhub', 'inspector', 'guardduty', 'falcon', 'exposure')),
    finding_id       text        NOT NULL,
    position         integer     NOT NULL CHECK (position >= 0),
    title            text        NOT NULL,
    severity         text        NOT NULL,
    penalty_score    double precision NOT NULL,
    status           text        NOT NULL DEFAULT 'selected' CHECK (status IN ('selected', 'analysed', 'failed')),
    persona          text,
    provider         text,
    model            text,
    fallback         boolean,
    verdict          text        CHECK (verdict IN ('true_positive', 'likely_benign', 'needs_human')),
    risk_score       smallint    CHECK (risk_score BETWEEN 1 AND 5),
    report           jsonb,
    markdown         text,
    error            jsonb,
    duration_ms      bigint      CHECK (duration_ms >= 0),
    peak_memory_kb   bigint      CHECK (peak_memory_kb >= 0),
    input_tokens     bigint      NOT NULL DEFAULT 0 CHECK (input_tokens >= 0),
    output_tokens    bigint      NOT NULL DEFAULT 0 CHECK (output_tokens >= 0),
    llm_cost_usd     double precision NOT NULL DEFAULT 0,
    compute_cost_usd double precision NOT NULL DEFAULT 0,
    ticket_id        text,
    selected_at      timestamptz NOT NULL DEFAULT now(),
    finished_at      timestamptz,
    PRIMARY KEY (execution_id, source, finding_id),
    CHECK ((status = 'analysed') = (report IS NOT NULL)),
    CHECK (status <> 'failed' OR error IS NOT NULL)
);
CREATE INDEX triage_reports_finding_idx ON triage_reports (source, finding_id, finished_at DESC);
