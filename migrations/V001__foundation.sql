-- The foundation schema: snapshots, findings and the audit log. Later capabilities add theirs.

-- One run of one collector over one account and region. Immutable once complete: child rows
-- reference it with ON DELETE CASCADE, so a snapshot is kept or dropped as a whole.
CREATE TABLE snapshots (
    id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    source        text        NOT NULL CHECK (source <> ''),
    account_id    text        CHECK (account_id ~ '^[0-9]{12}$'),
    region        text,
    started_at    timestamptz NOT NULL DEFAULT now(),
    completed_at  timestamptz,
    status        text        NOT NULL DEFAULT 'running' CHECK (status IN ('running', 'complete', 'failed')),
    record_count  integer     NOT NULL DEFAULT 0 CHECK (record_count >= 0),
    error         text,
    CHECK ((status = 'running') = (completed_at IS NULL))
);
CREATE INDEX snapshots_latest_idx ON snapshots (source, account_id, region, started_at DESC);

-- Every finding from every source, newest version only, keyed as AWS keys them.
CREATE TABLE findings (
    product_arn          text        NOT NULL,
    id                   text        NOT NULL,
    aws_account_id       text        NOT NULL CHECK (aws_account_id ~ '^[0-9]{12}$'),
    region               text,
    product              text        NOT NULL,
    generator_id         text        NOT NULL,
    title                text        NOT NULL,
    severity_label       text        NOT NULL
        CHECK (severity_label IN ('INFORMATIONAL', 'LOW', 'MEDIUM', 'HIGH', 'CRITICAL')),
    severity_normalized  smallint    CHECK (severity_normalized BETWEEN 0 AND 100),
    workflow_status      text        CHECK (workflow_status IN ('NEW', 'NOTIFIED', 'RESOLVED', 'SUPPRESSED')),
    record_state         text        CHECK (record_state IN ('ACTIVE', 'ARCHIVED')),
    compliance_status    text        CHECK (compliance_status IN ('PASSED', 'WARNING', 'FAILED', 'NOT_AVAILABLE')),
    security_control_id  text,
    resource_type        text,
    resource_id          text,
    first_observed_at    timestamptz,
    last_observed_at     timestamptz,
    created_at           timestamptz NOT NULL,
    updated_at           timestamptz NOT NULL,
    raw                  jsonb       NOT NULL,
    snapshot_id          bigint      REFERENCES snapshots (id) ON DELETE SET NULL,
    ingested_at          timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (product_arn, id)
);
CREATE INDEX findings_account_idx ON findings (aws_account_id);
CREATE INDEX findings_control_idx ON findings (security_control_id) WHERE security_control_id IS NOT NULL;
CREATE INDEX findings_open_idx ON findings (severity_label, updated_at DESC)
    WHERE record_state = 'ACTIVE' AND workflow_status IN ('NEW', 'NOTIFIED');
CREATE INDEX findings_resource_idx ON findings (resource_id);
CREATE INDEX findings_raw_idx ON findings USING gin (raw jsonb_path_ops);

-- The tamper-evident audit log: one linear chain per `chain`, gapless `seq` from 0.
CREATE TABLE audit_events (
    chain          text        NOT NULL DEFAULT 'main',
    seq            bigint      NOT NULL CHECK (seq >= 0),
    event_id       uuid        NOT NULL UNIQUE,
    "timestamp"    text        NOT NULL,
    event_type     text        NOT NULL,
    actor          text        NOT NULL,
    key_id         text        NOT NULL,
    payload        jsonb       NOT NULL,
    event_hash     text        NOT NULL,
    previous_hash  text        NOT NULL,
    signature      text        NOT NULL,
    chain_hash     text        NOT NULL,
    recorded_at    timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (chain, seq)
);
CREATE INDEX audit_events_type_idx ON audit_events (event_type, recorded_at);
