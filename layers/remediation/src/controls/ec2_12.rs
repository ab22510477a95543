//! EC2.12 — Unused EC2 EIPs should be removed: release an Elastic IP address that has been
//! unassociated for 30 days.

use async_trait::async_trait;
use aws_sdk_ec2::types::Address;
use serde_json::json;
use std::collections::BTreeMap;

use super::ec2_common::ec2_tags;
use crate::context::Ctx;
use crate::plan::{unplanned, Change};
use crate::spec::{Assessment, Check, Remediation, Spec, TestedWith};
use crate::support::{aws, has_code};
use crate::target::arn_resource_after;
use secops_aws::AwsError;

pub struct Ec2_12;

/// An address reported unused for less than this may be waiting for its instance.
const GRACE_DAYS: i64 = 30;

static SPEC: Spec = Spec {
    control: "EC2.12",
    title: "Unused EC2 EIPs should be removed",
    change: "releases the Elastic IP address when it is associated with nothing and was first reported unused at \
             least 30 days ago",
    resource_types: &["AwsEc2Eip"],
    actions: &["ec2:DescribeTags", "ec2:DescribeAddresses", "ec2:ReleaseAddress"],
    // A released address is gone for good: allow-lists and DNS records naming it break.
    disruptive: true,
    verification: "DescribeAddresses answers InvalidAllocationID.NotFound for the allocation",
    exemption_tags: &["secops:ec2:reserved-ip-intended"],
    tested_with: TestedWith::Moto,
};

#[async_trait]
impl Remediation for Ec2_12 {
    fn spec(&self) -> &'static Spec {
        &SPEC
    }

    fn name_of(&self, resource_id: &str, _details: Option<&serde_json::Value>) -> Result<String, String> {
        arn_resource_after(resource_id, "elastic-ip/", "eipalloc-")
    }

    async fn live_tags(&self, ctx: &Ctx) -> Result<Option<BTreeMap<String, String>>, AwsError> {
        ec2_tags(ctx, &ctx.target.name).await.map(Some)
    }

    async fn plan(&self, ctx: &Ctx) -> Result<Assessment, AwsError> {
        let id = &ctx.target.name;
        // A released address is what this control asks for, so its absence is compliance.
        let Some(address) = find_address(ctx).await? else {
            return Ok(Assessment::Compliant(format!("allocation {id} is released")));
        };
        let ip = address.public_ip().unwrap_or_default();
        if let Some(user) = association(&address) {
            return Ok(Assessment::Compliant(format!("Elastic IP {ip} ({id}) is associated with {user}")));
        }
        match ctx.target.first_observed_at.map(|t| ctx.days_since(t)) {
            Some(days) if days >= GRACE_DAYS => {}
            days => {
                return Ok(Assessment::ReconsiderLater(format!(
                    "Elastic IP {ip} ({id}) was first reported unused {} ago; it is released after {GRACE_DAYS} days",
                    days.map_or_else(|| "an unknown time".to_owned(), |d| format!("{d} days"))
                )))
            }
        }
        Ok(Assessment::Changes(vec![Change::new(
            "ec2:ReleaseAddress",
            id.clone(),
            json!({ "AllocationId": id }),
            format!(
                "Elastic IP {ip} has been associated with nothing for at least {GRACE_DAYS} days; once released it \
                 cannot be recovered"
            ),
        )]))
    }

    async fn execute(&self, ctx: &Ctx, change: &Change) -> Result<(), AwsError> {
        match change.action.as_str() {
            "ec2:ReleaseAddress" => ctx
                .ec2()
                .release_address()
                .allocation_id(change.text("AllocationId")?)
                .send()
                .await
                .map(|_| ())
                .map_err(aws("ec2:ReleaseAddress")),
            _ => Err(unplanned(change)),
        }
    }

    async fn verify(&self, ctx: &Ctx) -> Result<Check, AwsError> {
        let id = &ctx.target.name;
        Ok(match find_address(ctx).await? {
            None => Check::Holds(format!("allocation {id} no longer exists")),
            Some(a) => Check::Fails(format!("allocation {id} ({}) still exists", a.public_ip().unwrap_or_default())),
        })
    }
}

async fn find_address(ctx: &Ctx) -> Result<Option<Address>, AwsError> {
    let id = &ctx.target.name;
    match ctx.ec2().describe_addresses().allocation_ids(id).send().await {
        Ok(out) => Ok(out.addresses().iter().find(|a| a.allocation_id() == Some(id.as_str())).cloned()),
        Err(e) if has_code(&e, &["InvalidAllocationID.NotFound"]) => Ok(None),
        Err(e) => Err(aws("ec2:DescribeAddresses")(e)),
    }
}

/// What the address is associated with, if anything (empty strings mean nothing).
fn association(a: &Address) -> Option<String> {
    [a.association_id(), a.instance_id(), a.network_interface_id()]
        .into_iter()
        .flatten()
        .find(|v| !v.is_empty())
        .map(str::to_owned)
}
