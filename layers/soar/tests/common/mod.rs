//! Helpers shared by the integration tests of this crate (each test file uses a part of them).
#![allow(dead_code)]

pub mod harness;
pub mod state_contract;
