-- The hot state store of the single binary (the serverless deployment keeps the same state in
-- DynamoDB). Every "only if" of the StateStore port is a constraint or a WHERE clause here, so
-- two executions racing on one finding cannot both win.

-- Claims make side effects idempotent: key = finding id | action | finding UpdatedAt.
CREATE TABLE decide_claims (
    key          text        PRIMARY KEY,
    owner        text        NOT NULL,
    state        text        NOT NULL CHECK (state IN ('in_progress', 'done')),
    lease_until  timestamptz NOT NULL,
    result       jsonb,
    expires_at   timestamptz,
    CHECK (state = 'in_progress' OR result IS NOT NULL)
);
CREATE INDEX decide_claims_expires ON decide_claims (expires_at) WHERE expires_at IS NOT NULL;

-- Tickets keep their history: a finding may be ticketed again after its ticket closed, but never
-- has two open tickets (the partial unique index).
CREATE TABLE tickets (
    finding_id     text             NOT NULL,
    ticket_id      text             NOT NULL,
    kind           text             NOT NULL CHECK (kind IN ('team', 'autofixed', 'incident', 'failure')),
    account_id     text             NOT NULL,
    control_id     text,
    title          text             NOT NULL,
    severity       text             NOT NULL,
    environment    text,
    team           text,
    penalty_score  double precision NOT NULL,
    opened_at      timestamptz      NOT NULL,
    closed_at      timestamptz,
    reminders      text[]           NOT NULL DEFAULT '{}',
    expires_at     timestamptz,
    PRIMARY KEY (finding_id, opened_at),
    CHECK (closed_at IS NULL OR closed_at >= opened_at)
);
CREATE UNIQUE INDEX tickets_one_open_per_finding ON tickets (finding_id) WHERE closed_at IS NULL;
CREATE INDEX tickets_open_by_age ON tickets (opened_at) WHERE closed_at IS NULL;

CREATE TABLE account_cache (
    account_id  text        PRIMARY KEY,
    data        jsonb       NOT NULL,
    expires_at  timestamptz NOT NULL
);

CREATE TABLE enabled_controls (
    account_id  text        NOT NULL,
    region      text        NOT NULL,
    controls    text[]      NOT NULL,
    synced_at   timestamptz NOT NULL,
    PRIMARY KEY (account_id, region)
);

-- The decide policy as loaded (`secops policy load`); one current document.
CREATE TABLE decide_policy (
    id         boolean     PRIMARY KEY DEFAULT true CHECK (id),
    yaml       text        NOT NULL,
    sha256     text        NOT NULL,
    loaded_at  timestamptz NOT NULL,
    source     text        NOT NULL
);

-- Inputs that could not be processed, exactly as received, with why.
CREATE TABLE dead_letters (
    id           text        PRIMARY KEY,
    event_id     text        NOT NULL,
    item_index   integer,
    error        text        NOT NULL,
    raw          jsonb       NOT NULL,
    received_at  timestamptz NOT NULL
);
CREATE INDEX dead_letters_newest ON dead_letters (received_at DESC);

CREATE TABLE incidents (
    finding_id     text             NOT NULL,
    updated_at     text             NOT NULL,
    account_id     text             NOT NULL,
    family         text             NOT NULL,
    finding_type   text             NOT NULL,
    severity       text             NOT NULL,
    title          text             NOT NULL,
    penalty_score  double precision NOT NULL,
    responses      text[]           NOT NULL,
    ticket_id      text,
    recorded_at    timestamptz      NOT NULL,
    PRIMARY KEY (finding_id, updated_at)
);

-- The findings hub of the single binary: what would have been written to Security Hub, one row
-- per finding and change, in order.
CREATE TABLE finding_updates (
    seq                  bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    finding_id           text        NOT NULL,
    product_arn          text        NOT NULL,
    workflow_status      text        CHECK (workflow_status IN ('NEW', 'NOTIFIED', 'RESOLVED', 'SUPPRESSED')),
    note                 text,
    user_defined_fields  jsonb       NOT NULL DEFAULT '{}',
    updated_at           timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX finding_updates_by_finding ON finding_updates (finding_id, seq);
