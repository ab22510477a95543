//! Fakes of the destinations, shared by the integration tests (each test file uses a part).
#![allow(dead_code)]

pub mod jira_fake;
pub mod slack_fake;
