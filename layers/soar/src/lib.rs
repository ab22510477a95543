//! `secops-soar`: the decide capability — the per-finding workflow from a Security Hub event to
//! exactly one outcome (do nothing, suppress, close the ticket, remediate or ticket a failed
//! control, handle an incident), recorded in Security Hub and the hot state store, idempotently.
//!
//! Pieces: [`route`] (the decision table), [`policy`] (suppression rules, environment weights,
//! ticket deadlines, incident responses — one YAML document), [`score`], [`incident`]
//! (classification), [`account`], [`controls`], [`state`] (the hot state store), [`hub`]
//! (Security Hub writes), [`tickets`] (the ticket lifecycle), [`quarantine`] (EC2 isolation),
//! [`decide`] and [`step`] (what the state machines call).
#![forbid(unsafe_code)]

pub mod account;
pub mod clock;
pub mod controls;
pub mod decide;
pub mod deps;
pub mod error;
pub mod hub;
pub mod incident;
pub mod policy;
pub mod quarantine;
pub mod respond;
pub mod route;
pub mod score;
pub mod setup;
pub mod state;
pub mod step;
pub mod tickets;

pub use deps::{Settings, Soar};
pub use error::{Result, SoarError};
