//! What the database knows about a finding: a fixed catalogue of read-only queries, each run with
//! parameters taken from the finding (never from its free text), each result kept with the
//! query's name so a report can cite it as evidence.
//!
//! The same catalogue is what a language model may call as tools ([`tool_specs`], [`run_tool`]):
//! a tool is a named query with typed, pattern-checked parameters, so no text from a finding or a
//! model ever becomes SQL.

use std::collections::BTreeSet;

use serde::Serialize;
use serde_json::Value;

/// The most rows one query contributes (the rest is counted, not kept).
pub const MAX_ROWS: usize = 25;

/// One query that ran and what it returned.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ContextItem {
    /// The catalogue name (`resource`, `edr_status`, …): what evidence cites.
    pub query: String,
    /// What the query answers, in a sentence.
    pub description: String,
    /// The parameters it ran with.
    pub parameters: Value,
    /// At most [`MAX_ROWS`] rows, each a JSON object of the columns.
    pub rows: Vec<Value>,
    /// Rows there were in all (more than `rows.len()` when truncated).
    pub total_rows: usize,
}

/// Everything gathered for one finding.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Context {
    pub items: Vec<ContextItem>,
}

impl Context {
    pub fn item(&self, query: &str) -> Option<&ContextItem> {
        self.items.iter().find(|i| i.query == query)
    }

    /// The names evidence may cite.
    pub fn queries_run(&self) -> BTreeSet<String> {
        self.items.iter().map(|i| i.query.clone()).collect()
    }

    pub fn push(&mut self, item: ContextItem) {
        self.items.push(item);
    }
}
