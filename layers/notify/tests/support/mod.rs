//! Fakes of the destinations and the ADF schema check, shared by the integration tests (each
//! test file uses a part).
#![allow(dead_code)]

pub mod adf;
pub mod harness;
pub mod jira_fake;
pub mod slack_fake;
