//! EC2.1 — Amazon EBS snapshots should not be publicly restorable: remove the `all` group from the
//! create-volume permission of every snapshot the account owns in the region.

use async_trait::async_trait;
use aws_sdk_ec2::types::{OperationType, PermissionGroup, SnapshotAttributeName};
use serde_json::json;

use super::ec2_common::next_token;
use crate::context::Ctx;
use crate::plan::{unplanned, Change};
use crate::spec::{Assessment, Check, Remediation, Spec, TestedWith};
use crate::support::aws;
use crate::support::{too_many_pages, MAX_PAGES};
use crate::target::account_of;
use secops_aws::AwsError;

pub struct Ec2_1;

/// A snapshot tagged so is shared publicly on purpose (e.g. a published data set).
const INTENDED: &str = "secops:ec2:public-snapshot-intended";

static SPEC: Spec = Spec {
    control: "EC2.1",
    title: "Amazon EBS snapshots should not be publicly restorable",
    change: "removes the public (group all) create-volume permission from the account's own EBS snapshots",
    resource_types: &["AwsAccount"],
    actions: &["ec2:DescribeSnapshots", "ec2:DescribeSnapshotAttribute", "ec2:ModifySnapshotAttribute"],
    disruptive: false,
    verification: "DescribeSnapshotAttribute shows no snapshot of the account restorable by group all",
    exemption_tags: &[INTENDED],
    tested_with: TestedWith::Moto,
};

#[async_trait]
impl Remediation for Ec2_1 {
    fn spec(&self) -> &'static Spec {
        &SPEC
    }

    fn name_of(&self, resource_id: &str, _details: Option<&serde_json::Value>) -> Result<String, String> {
        account_of(resource_id)
    }

    async fn plan(&self, ctx: &Ctx) -> Result<Assessment, AwsError> {
        let scan = public_snapshots(ctx).await?;
        if scan.public.is_empty() && !scan.intended.is_empty() {
            return Ok(Assessment::Exempt(format!(
                "the only public snapshots, {}, are tagged {INTENDED}",
                scan.intended.join(", ")
            )));
        }
        if scan.public.is_empty() {
            return Ok(Assessment::Compliant(format!(
                "none of the account's {} snapshots in {} is publicly restorable",
                scan.owned,
                ctx.region()
            )));
        }
        let changes = scan
            .public
            .iter()
            .map(|id| {
                Change::new(
                    "ec2:ModifySnapshotAttribute",
                    id.clone(),
                    json!({ "SnapshotId": id, "Remove": "all" }),
                    format!(
                        "anyone can create a volume from snapshot {id}; accounts it is shared with by id keep access"
                    ),
                )
            })
            .collect();
        Ok(Assessment::Changes(changes))
    }

    async fn execute(&self, ctx: &Ctx, change: &Change) -> Result<(), AwsError> {
        match change.action.as_str() {
            "ec2:ModifySnapshotAttribute" => ctx
                .ec2()
                .modify_snapshot_attribute()
                .snapshot_id(change.text("SnapshotId")?)
                .attribute(SnapshotAttributeName::CreateVolumePermission)
                .operation_type(OperationType::Remove)
                .group_names(PermissionGroup::All.as_str())
                .send()
                .await
                .map(|_| ())
                .map_err(aws("ec2:ModifySnapshotAttribute")),
            _ => Err(unplanned(change)),
        }
    }

    async fn verify(&self, ctx: &Ctx) -> Result<Check, AwsError> {
        let scan = public_snapshots(ctx).await?;
        Ok(if scan.public.is_empty() {
            Check::Holds(format!("none of the account's {} snapshots is publicly restorable", scan.owned))
        } else {
            Check::Fails(format!("snapshots {} are still publicly restorable", scan.public.join(", ")))
        })
    }
}

struct Scan {
    /// How many snapshots the account owns in the region.
    owned: usize,
    /// Publicly restorable, not tagged as intended.
    public: Vec<String>,
    /// Publicly restorable on purpose.
    intended: Vec<String>,
}

/// Every own snapshot (every page), each with its create-volume permission read.
async fn public_snapshots(ctx: &Ctx) -> Result<Scan, AwsError> {
    let mut own: Vec<(String, bool)> = Vec::new();
    let mut token = None;
    let mut complete = false;
    for _ in 0..MAX_PAGES {
        let out = ctx
            .ec2()
            .describe_snapshots()
            .owner_ids("self")
            .set_next_token(token)
            .send()
            .await
            .map_err(aws("ec2:DescribeSnapshots"))?;
        // Only the account's own snapshots can be changed; the owner is checked, not assumed.
        for s in out.snapshots().iter().filter(|s| s.owner_id() == Some(ctx.account())) {
            let intended = s
                .tags()
                .iter()
                .any(|t| t.key() == Some(INTENDED) && !t.value().unwrap_or_default().eq_ignore_ascii_case("false"));
            own.extend(s.snapshot_id().map(|id| (id.to_owned(), intended)));
        }
        token = next_token(out.next_token());
        if token.is_none() {
            complete = true;
            break;
        }
    }
    if !complete {
        return Err(too_many_pages("ec2:DescribeSnapshots"));
    }
    let mut scan = Scan { owned: own.len(), public: Vec::new(), intended: Vec::new() };
    for (id, intended) in own {
        let out = ctx
            .ec2()
            .describe_snapshot_attribute()
            .snapshot_id(&id)
            .attribute(SnapshotAttributeName::CreateVolumePermission)
            .send()
            .await
            .map_err(aws("ec2:DescribeSnapshotAttribute"))?;
        if out.create_volume_permissions().iter().any(|p| p.group() == Some(&PermissionGroup::All)) {
            if intended {
                scan.intended.push(id);
            } else {
                scan.public.push(id);
            }
        }
    }
    Ok(scan)
}
