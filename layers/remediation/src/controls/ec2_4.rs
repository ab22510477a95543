//! EC2.4 — Stopped EC2 instances should be removed after a specified time period: after 30 days
//! stopped, snapshot every EBS volume of the instance (so it can be rebuilt) and terminate it.

use async_trait::async_trait;
use aws_sdk_ec2::types::{InstanceSpecification, InstanceStateName, ResourceType, Tag, TagSpecification};
use serde_json::json;
use std::collections::{BTreeMap, BTreeSet};
use time::OffsetDateTime;

use super::ec2_common::{ec2_tags, filter, find_instance, instance_id_of, is_terminating, next_token};
use crate::context::Ctx;
use crate::plan::{unplanned, Change};
use crate::spec::{Assessment, Check, Remediation, Spec, TestedWith};
use crate::support::aws;
use crate::support::{too_many_pages, MAX_PAGES};
use secops_aws::AwsError;

pub struct Ec2_4;

/// The control's allowed stopped period.
const STOPPED_DAYS: i64 = 30;

/// The tag on the snapshots taken before termination; its value is the instance id.
const SNAPSHOT_TAG: &str = "secops:before-termination";

static SPEC: Spec = Spec {
    control: "EC2.4",
    title: "Stopped EC2 instances should be removed after a specified time period",
    change: "snapshots every EBS volume of an instance stopped for 30 days or more (tagged \
             secops:before-termination=<instance id>), then terminates it",
    resource_types: &["AwsEc2Instance"],
    actions: &[
        "ec2:DescribeTags",
        "ec2:DescribeInstances",
        "ec2:DescribeInstanceAttribute",
        "ec2:DescribeSnapshots",
        "ec2:CreateSnapshots",
        // Tagging the snapshots as they are created needs CreateTags on them.
        "ec2:CreateTags",
        "ec2:TerminateInstances",
    ],
    disruptive: true,
    verification: "DescribeInstances shows the instance shutting-down or terminated",
    exemption_tags: &["secops:ec2:stopped-intended"],
    tested_with: TestedWith::Moto,
};

#[async_trait]
impl Remediation for Ec2_4 {
    fn spec(&self) -> &'static Spec {
        &SPEC
    }

    fn name_of(&self, resource_id: &str, _details: Option<&serde_json::Value>) -> Result<String, String> {
        instance_id_of(resource_id)
    }

    async fn live_tags(&self, ctx: &Ctx) -> Result<Option<BTreeMap<String, String>>, AwsError> {
        ec2_tags(ctx, &ctx.target.name).await.map(Some)
    }

    async fn plan(&self, ctx: &Ctx) -> Result<Assessment, AwsError> {
        let id = &ctx.target.name;
        // A terminated instance is what this control asks for.
        let Some(instance) = find_instance(ctx, id).await?.filter(|i| !is_terminating(i)) else {
            return Ok(Assessment::Compliant(format!("instance {id} is terminated")));
        };
        let state = instance.state().and_then(|s| s.name()).cloned();
        if state != Some(InstanceStateName::Stopped) {
            let name = state.as_ref().map_or("unknown", InstanceStateName::as_str);
            return Ok(Assessment::Compliant(format!("instance {id} is {name}, not stopped")));
        }
        let reason = instance.state_transition_reason().unwrap_or_default();
        let (since, source) = match stopped_at(reason) {
            Some(t) => (t, "its state transition reason"),
            None => match ctx.target.first_observed_at {
                Some(t) => (t, "the finding's first observation"),
                None => {
                    return Ok(Assessment::Ticket(format!(
                        "instance {id} is stopped, but neither its state transition reason ({reason:?}) nor the \
                         finding says since when; terminate it by hand if it is no longer needed"
                    )))
                }
            },
        };
        let days = ctx.days_since(since);
        if days < STOPPED_DAYS {
            return Ok(Assessment::ReconsiderLater(format!(
                "instance {id} has been stopped for {days} days (since {since}, from {source}); it is removed after \
                 {STOPPED_DAYS}"
            )));
        }
        if termination_protected(ctx, id).await? {
            return Ok(Assessment::Ticket(format!(
                "instance {id} has been stopped for {days} days but has termination protection on, so someone wanted \
                 it kept: its owner must terminate it or tag it secops:ec2:stopped-intended=true"
            )));
        }
        let volumes: BTreeSet<String> = instance
            .block_device_mappings()
            .iter()
            .filter_map(|m| m.ebs().and_then(|e| e.volume_id()).map(str::to_owned))
            .collect();
        let saved = snapshotted_volumes(ctx, id).await?;
        let mut changes = Vec::new();
        // Snapshots of an earlier, interrupted run are reused rather than taken twice.
        if !volumes.is_subset(&saved) {
            changes.push(Change::new(
                "ec2:CreateSnapshots",
                id.clone(),
                json!({ "InstanceId": id, "TagKey": SNAPSHOT_TAG, "TagValue": id }),
                format!(
                    "keeps a crash-consistent copy of volumes {} so the instance can be rebuilt after termination",
                    volumes.iter().cloned().collect::<Vec<_>>().join(", ")
                ),
            ));
        }
        changes.push(Change::new(
            "ec2:TerminateInstances",
            id.clone(),
            json!({ "InstanceId": id }),
            format!("instance {id} has been stopped for {days} days (since {since}, from {source})"),
        ));
        Ok(Assessment::Changes(changes))
    }

    async fn execute(&self, ctx: &Ctx, change: &Change) -> Result<(), AwsError> {
        match change.action.as_str() {
            "ec2:CreateSnapshots" => {
                let tag = Tag::builder().key(change.text("TagKey")?).value(change.text("TagValue")?).build();
                ctx.ec2()
                    .create_snapshots()
                    .instance_specification(
                        InstanceSpecification::builder().instance_id(change.text("InstanceId")?).build(),
                    )
                    .tag_specifications(
                        TagSpecification::builder().resource_type(ResourceType::Snapshot).tags(tag).build(),
                    )
                    .send()
                    .await
                    .map(|_| ())
                    .map_err(aws("ec2:CreateSnapshots"))
            }
            "ec2:TerminateInstances" => ctx
                .ec2()
                .terminate_instances()
                .instance_ids(change.text("InstanceId")?)
                .send()
                .await
                .map(|_| ())
                .map_err(aws("ec2:TerminateInstances")),
            _ => Err(unplanned(change)),
        }
    }

    async fn verify(&self, ctx: &Ctx) -> Result<Check, AwsError> {
        let id = &ctx.target.name;
        Ok(match find_instance(ctx, id).await? {
            None => Check::Holds(format!("instance {id} no longer exists")),
            Some(i) if is_terminating(&i) => Check::Holds(format!("instance {id} is shutting down or terminated")),
            Some(i) => Check::Fails(format!(
                "instance {id} is {}",
                i.state().and_then(|s| s.name()).map_or("unknown", InstanceStateName::as_str)
            )),
        })
    }
}

/// When the instance was stopped, from `User initiated (2026-10-01 12:00:00 GMT)`.
fn stopped_at(reason: &str) -> Option<OffsetDateTime> {
    let re = regex::Regex::new(r"\((\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}) (?:GMT|UTC)\)").ok()?;
    let text = re.captures(reason)?.get(1)?.as_str();
    let format = time::macros::format_description!("[year]-[month]-[day] [hour]:[minute]:[second]");
    time::PrimitiveDateTime::parse(text, &format).ok().map(time::PrimitiveDateTime::assume_utc)
}

async fn termination_protected(ctx: &Ctx, id: &str) -> Result<bool, AwsError> {
    let out = ctx
        .ec2()
        .describe_instance_attribute()
        .instance_id(id)
        .attribute(aws_sdk_ec2::types::InstanceAttributeName::DisableApiTermination)
        .send()
        .await
        .map_err(aws("ec2:DescribeInstanceAttribute"))?;
    Ok(out.disable_api_termination().and_then(|v| v.value()) == Some(true))
}

/// The volumes that already have a snapshot tagged for this instance's termination.
async fn snapshotted_volumes(ctx: &Ctx, id: &str) -> Result<BTreeSet<String>, AwsError> {
    let mut volumes = BTreeSet::new();
    let mut token = None;
    for _ in 0..MAX_PAGES {
        let out = ctx
            .ec2()
            .describe_snapshots()
            .owner_ids("self")
            .filters(filter(&format!("tag:{SNAPSHOT_TAG}"), id))
            .set_next_token(token)
            .send()
            .await
            .map_err(aws("ec2:DescribeSnapshots"))?;
        volumes.extend(out.snapshots().iter().filter_map(|s| s.volume_id().map(str::to_owned)));
        token = next_token(out.next_token());
        if token.is_none() {
            return Ok(volumes);
        }
    }
    Err(too_many_pages("ec2:DescribeSnapshots"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stop_time_from_the_transition_reason() {
        let t = stopped_at("User initiated (2026-10-01 12:30:05 GMT)").unwrap();
        assert_eq!((t.year(), u8::from(t.month()), t.day(), t.hour(), t.second()), (2026, 10, 1, 12, 5));
        assert!(stopped_at("User initiated (2026-11-21 22:30:02 UTC)").is_some());
        assert!(stopped_at("").is_none());
        assert!(stopped_at("Server.SpotInstanceTermination").is_none());
    }
}
