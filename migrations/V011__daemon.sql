-- `secops daemon`: its runs book, the Security Hub ingestion cursor, and what each ingestion
-- batch delivered to decide.

-- One execution the daemon started: a schedule's run or an ingestion batch. A run left
-- 'running' (crash) or 'interrupted' (SIGTERM after the grace) is re-run at the next start;
-- resumed_by names the run that took it over, so it is resumed once.
CREATE TABLE daemon_runs (
    id              bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    kind            text        NOT NULL CHECK (kind IN ('schedule', 'ingestion')),
    -- the schedule's name (inventory, triage, housekeeping) or securityhub:<region>
    name            text        NOT NULL,
    machine         text        NOT NULL,
    execution_name  text        NOT NULL UNIQUE,
    started_at      timestamptz NOT NULL DEFAULT now(),
    finished_at     timestamptz,
    status          text        NOT NULL DEFAULT 'running'
                    CHECK (status IN ('running', 'succeeded', 'failed', 'interrupted')),
    error           text,
    resumes         bigint      REFERENCES daemon_runs (id),
    resumed_by      bigint      REFERENCES daemon_runs (id),
    CHECK ((status = 'running') = (finished_at IS NULL))
);
CREATE INDEX daemon_runs_by_name ON daemon_runs (name, started_at DESC);
CREATE INDEX daemon_runs_to_resume ON daemon_runs (id) WHERE status IN ('running', 'interrupted') AND resumed_by IS NULL;

-- Per region: the last UpdatedAt delivered, and the finding ids already delivered at exactly
-- that instant (so equal timestamps are neither skipped nor repeated).
CREATE TABLE daemon_cursors (
    source       text        NOT NULL,
    region       text        NOT NULL,
    updated_at   timestamptz NOT NULL,
    seen_ids     text[]      NOT NULL DEFAULT '{}',
    advanced_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (source, region)
);

-- Every finding version an ingestion batch handed to the findings workflow, with decide's answer.
CREATE TABLE daemon_deliveries (
    run_id       bigint      NOT NULL REFERENCES daemon_runs (id) ON DELETE CASCADE,
    region       text        NOT NULL,
    finding_id   text        NOT NULL,
    updated_at   timestamptz NOT NULL,
    decision     text,
    PRIMARY KEY (run_id, finding_id)
);
CREATE INDEX daemon_deliveries_by_finding ON daemon_deliveries (finding_id, updated_at);
