//! Jira Cloud REST v3.
