//! Workspace-level integration and contract tests live in `tests/` of this crate.
