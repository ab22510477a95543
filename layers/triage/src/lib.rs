//! Triage: the daily first pass over every new finding.
//!
//! - [`selection`]: the five sources as one shape (`security_findings`), minus exclusions, minus
//!   what already has a ticket, heaviest first, capped.
//! - [`context`]: what the database knows about one finding, as named read-only queries.
//! - [`persona`]: who looks at it (threat analyst, DevSecOps engineer, security controller).
//! - [`llm`]: the language-model port and its providers; [`offline`]: the deterministic analyst.
//! - [`analysis`]: one finding, end to end, in the analyst process; [`report`]: what it produces.
//! - [`batch`]: the books of a run (selected, analysed, failed, durations, tokens, cost).

#![forbid(unsafe_code)]

pub mod analysis;
pub mod analyst;
pub mod batch;
pub mod bench;
pub mod context;
mod db;
pub mod finding;
pub mod llm;
pub mod markdown;
pub mod offline;
pub mod persona;
pub mod prompt;
pub mod report;
pub mod selection;
pub mod setup;
pub mod step;
mod untrusted;

pub use finding::{FindingClass, FindingKey, SecurityFinding, Source};
pub use persona::Persona;
pub use report::{Assessment, Report, Verdict};
pub use step::TriageStep;
