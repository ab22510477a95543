//! The plan-only (dry run) adapter, the single binary's default: it changes nothing in AWS and
//! appends what the EC2 adapter would do, one JSON line per request, to a local file:
//!
//! `{"planned_at":"…","request":{…},"steps":["…", …]}`

use std::io::Write;
use std::path::{Path, PathBuf};

use async_trait::async_trait;
use serde::Serialize;
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

use crate::quarantine::{IsolationReport, IsolationRequest, Quarantine, FINDING_TAG};
use crate::{Result, SoarError};

/// See the module documentation.
#[derive(Debug, Clone)]
pub struct PlanOnlyQuarantine {
    path: PathBuf,
}

#[derive(Serialize)]
struct PlanLine<'a> {
    planned_at: String,
    request: &'a IsolationRequest,
    steps: Vec<String>,
}

impl PlanOnlyQuarantine {
    /// Plans are appended to `path`; its directory is created on the first plan.
    pub fn new(path: PathBuf) -> Self {
        Self { path }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }
}

/// What [`super::ec2::Ec2Quarantine`] would do for `request`, step by step.
pub fn planned_steps(request: &IsolationRequest) -> Vec<String> {
    let IsolationRequest { account_id, region, instance_id, finding_id, terminate } = request;
    let mut steps = vec![
        format!(
            "describe instance {instance_id} in account {account_id}, region {region}: its VPC, the security groups \
             of each network interface, its EBS volumes"
        ),
        "find the security group tagged secops:quarantine=true in the instance's VPC, or create \
         secops-quarantine-<vpc id>; revoke all of its inbound and outbound rules"
            .to_owned(),
        format!(
            "if every network interface already has only the quarantine group and the instance is tagged \
             {FINDING_TAG}={finding_id}, change nothing and report from the tags"
        ),
        format!(
            "tag instance {instance_id} with {FINDING_TAG}={finding_id} and secops:quarantine:previous-groups \
             (each interface's current groups)"
        ),
        "replace the security groups of every network interface with the quarantine group".to_owned(),
        format!("snapshot every attached EBS volume, tagged {FINDING_TAG}={finding_id}"),
    ];
    steps.push(if *terminate {
        format!("disable termination protection of {instance_id} and terminate it")
    } else {
        format!("leave {instance_id} running (termination was not requested)")
    });
    steps
}

#[async_trait]
impl Quarantine for PlanOnlyQuarantine {
    async fn isolate(&self, request: &IsolationRequest) -> Result<IsolationReport> {
        let planned_at = OffsetDateTime::now_utc()
            .format(&Rfc3339)
            .map_err(|e| SoarError::InvalidInput(format!("cannot format the current time: {e}")))?;
        let line = PlanLine { planned_at, request, steps: planned_steps(request) };
        let mut buffer = serde_json::to_vec(&line)
            .map_err(|e| SoarError::InvalidInput(format!("cannot encode the isolation plan: {e}")))?;
        buffer.push(b'\n');
        let path = self.path.clone();
        tokio::task::spawn_blocking(move || append_line(&path, &buffer))
            .await
            .map_err(|e| SoarError::io(self.path.display(), std::io::Error::other(e)))??;
        Ok(IsolationReport {
            instance_id: request.instance_id.clone(),
            vpc_id: None,
            quarantine_group_id: "planned".to_owned(),
            previous_groups: Vec::new(),
            snapshot_ids: Vec::new(),
            terminated: false,
            plan_only: true,
        })
    }
}

/// One `write_all` of the whole line on a file opened for appending: with O_APPEND every write
/// lands at the end, so concurrent plans never interleave within a line.
fn append_line(path: &Path, line: &[u8]) -> Result<()> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(|e| SoarError::io(dir.display(), e))?;
    }
    let mut file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .map_err(|e| SoarError::io(path.display(), e))?;
    file.write_all(line).map_err(|e| SoarError::io(path.display(), e))
}
