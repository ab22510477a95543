-- Approval requests of disruptive remediations in approval environments (default PROD): the
-- remediation workflow waits on a task token until a person approves or rejects, or the wait
-- times out (then the finding is ticketed).
CREATE TABLE remediation_approvals (
    id            text PRIMARY KEY,                 -- apr-<hex>, what people type and see
    task_token    text NOT NULL UNIQUE,             -- the capability to resume the workflow; never shown in chat
    callback_url  text,                             -- the embedded executor's loopback endpoint; NULL = Step Functions
    finding_id    text NOT NULL,
    control       text NOT NULL,
    account_id    text NOT NULL,
    region        text NOT NULL,
    resource      text NOT NULL,
    environment   text,
    plan          jsonb NOT NULL,
    requested_at  timestamptz NOT NULL DEFAULT now(),
    expires_at    timestamptz NOT NULL,
    decision      text CHECK (decision IN ('approved', 'rejected', 'expired')),
    decided_by    text,
    decided_at    timestamptz,
    note          text,
    CHECK ((decision IS NULL) = (decided_at IS NULL))
);

CREATE INDEX remediation_approvals_pending ON remediation_approvals (requested_at) WHERE decision IS NULL;
CREATE INDEX remediation_approvals_finding ON remediation_approvals (finding_id);
