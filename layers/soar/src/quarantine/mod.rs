//! Isolating a compromised EC2 instance: swap its security groups for a quarantine group that
//! allows nothing, snapshot its EBS volumes for forensics, tag everything with the finding id.
//! Termination happens only when the incident policy opts in explicitly.

pub mod ec2;
pub mod plan;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use crate::Result;

/// The tag every resource the isolation touches gets, with the finding id as its value.
pub const FINDING_TAG: &str = "secops:quarantine:finding-id";

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IsolationRequest {
    pub account_id: String,
    pub region: String,
    pub instance_id: String,
    pub finding_id: String,
    /// Terminate after the snapshots (explicit opt-in in the incident policy).
    pub terminate: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IsolationReport {
    pub instance_id: String,
    pub vpc_id: Option<String>,
    pub quarantine_group_id: String,
    /// The groups the instance's network interfaces had before.
    pub previous_groups: Vec<String>,
    pub snapshot_ids: Vec<String>,
    pub terminated: bool,
    /// True when nothing was changed (the plan-only adapter): the report says what would be done.
    pub plan_only: bool,
}

/// See the module documentation.
#[async_trait]
pub trait Quarantine: Send + Sync + std::fmt::Debug {
    async fn isolate(&self, request: &IsolationRequest) -> Result<IsolationReport>;
}
