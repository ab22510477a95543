-- The audit chain's head, one row per chain. Appenders lock this row (SELECT … FOR UPDATE) for
-- the length of one batch, so writers in many processes extend one linear chain: no fork, no
-- gap, no duplicate seq. The lock lives in the database, not in any one process.
CREATE TABLE audit_chain_heads (
    chain       text        PRIMARY KEY,
    next_seq    bigint      NOT NULL CHECK (next_seq >= 0),
    chain_hash  text        NOT NULL,
    updated_at  timestamptz NOT NULL DEFAULT now()
);

INSERT INTO audit_chain_heads (chain, next_seq, chain_hash)
SELECT DISTINCT ON (chain) chain, seq + 1, chain_hash FROM audit_events ORDER BY chain, seq DESC;

-- Append-only: events are inserted and read, never updated or deleted. Only the table owner can
-- switch this off (ALTER TABLE … DISABLE TRIGGER), and the verifier still sees what was done.
CREATE FUNCTION audit_events_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit_events is append-only: % refused', TG_OP USING ERRCODE = 'insufficient_privilege';
END
$$;
CREATE TRIGGER audit_events_append_only BEFORE UPDATE OR DELETE ON audit_events
    FOR EACH ROW EXECUTE FUNCTION audit_events_refuse_change();
CREATE TRIGGER audit_events_no_truncate BEFORE TRUNCATE ON audit_events
    FOR EACH STATEMENT EXECUTE FUNCTION audit_events_refuse_change();
