//! Per-destination redaction of personal data and secrets (built in a helper worktree).
