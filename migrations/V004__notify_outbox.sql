-- Notify: the durable outbox every outgoing message passes through, and the circuit breakers
-- of the destinations when PostgreSQL is the hot state store.

-- One row per outgoing message, written before any send. `key` = destination + purpose +
-- finding + discriminator, so a retried step finds its message instead of adding a second.
-- Delivery is in `seq` order per destination.
CREATE TABLE outbox (
    seq           bigserial PRIMARY KEY,
    key           text        NOT NULL UNIQUE,
    destination   text        NOT NULL CHECK (destination IN ('tickets', 'chat', 'email')),
    purpose       text        NOT NULL,
    finding_id    text,
    -- the message, already redacted for its destination (no secrets at rest here)
    payload       jsonb       NOT NULL,
    status        text        NOT NULL DEFAULT 'queued' CHECK (status IN ('queued', 'delivered', 'rejected')),
    attempts      integer     NOT NULL DEFAULT 0,
    last_error    text,
    remote_id     text,
    remote_url    text,
    -- a sender holds a lease while it delivers, so concurrent workers never send one message twice
    lease_owner   text,
    lease_until   timestamptz,
    enqueued_at   timestamptz NOT NULL,
    attempted_at  timestamptz,
    delivered_at  timestamptz,
    CHECK ((status = 'delivered') = (delivered_at IS NOT NULL))
);
CREATE INDEX outbox_queued ON outbox (destination, seq) WHERE status = 'queued';
CREATE INDEX outbox_finding ON outbox (finding_id);

-- One row per destination: shared by every worker (Lambda or process), never held in memory only.
CREATE TABLE notify_breakers (
    destination           text PRIMARY KEY,
    state                 text        NOT NULL CHECK (state IN ('closed', 'open', 'half_open')),
    consecutive_failures  integer     NOT NULL DEFAULT 0,
    open_until            timestamptz,
    probe_until           timestamptz,
    last_error            text,
    changed_at            timestamptz NOT NULL,
    -- bumped by every write: writers compare and swap, so concurrent workers agree on one state
    version               bigint      NOT NULL
);

-- Every state change of a breaker, for operators (and the outage test).
CREATE TABLE notify_breaker_log (
    id           bigserial PRIMARY KEY,
    destination  text        NOT NULL,
    at           timestamptz NOT NULL,
    from_state   text        NOT NULL,
    to_state     text        NOT NULL,
    reason       text        NOT NULL
);
