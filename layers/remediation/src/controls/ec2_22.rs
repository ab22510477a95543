//! EC2.22 — Unused EC2 security groups should be removed: delete a group that no network interface
//! uses and no other group's rule references, once it has been reported for a day.

use async_trait::async_trait;
use serde_json::json;
use std::collections::BTreeMap;

use super::ec2_common::{ec2_tags, filter, find_security_group, group_id_of, interfaces_using, next_token, some_of};
use crate::context::Ctx;
use crate::plan::{unplanned, Change};
use crate::spec::{Assessment, Check, Remediation, Spec, TestedWith};
use crate::support::aws;
use crate::support::{too_many_pages, MAX_PAGES};
use secops_aws::AwsError;

pub struct Ec2_22;

/// A group reported unused for less than this may be about to be attached (fresh deployments).
const MIN_AGE_DAYS: i64 = 1;

static SPEC: Spec = Spec {
    control: "EC2.22",
    title: "Unused EC2 security groups should be removed",
    change: "deletes the security group when no network interface uses it and no other group references it",
    resource_types: &["AwsEc2SecurityGroup"],
    actions: &[
        "ec2:DescribeTags",
        "ec2:DescribeSecurityGroups",
        "ec2:DescribeNetworkInterfaces",
        "ec2:DeleteSecurityGroup",
    ],
    disruptive: false,
    verification: "DescribeSecurityGroups answers InvalidGroup.NotFound for the group",
    exemption_tags: &["secops:ec2:unused-group-intended"],
    tested_with: TestedWith::Moto,
};

#[async_trait]
impl Remediation for Ec2_22 {
    fn spec(&self) -> &'static Spec {
        &SPEC
    }

    fn name_of(&self, resource_id: &str, _details: Option<&serde_json::Value>) -> Result<String, String> {
        group_id_of(resource_id)
    }

    async fn live_tags(&self, ctx: &Ctx) -> Result<Option<BTreeMap<String, String>>, AwsError> {
        ec2_tags(ctx, &ctx.target.name).await.map(Some)
    }

    async fn plan(&self, ctx: &Ctx) -> Result<Assessment, AwsError> {
        let id = &ctx.target.name;
        // A deleted group is what this control asks for, so its absence is compliance.
        let Some(group) = find_security_group(ctx, id).await? else {
            return Ok(Assessment::Compliant(format!("security group {id} no longer exists")));
        };
        if group.group_name() == Some("default") {
            return Ok(Assessment::Ticket(format!(
                "{id} is the default security group of {}, which cannot be deleted; EC2.2 empties its rules instead, or \
                 disable EC2.22 for default groups",
                group.vpc_id().unwrap_or("its VPC")
            )));
        }
        let users = interfaces_using(ctx, id).await?;
        if !users.is_empty() {
            return Ok(Assessment::Ticket(format!(
                "security group {id} is used by network interfaces {}; it is not unused, so the finding is stale or \
                 the group must be detached by its owner first",
                some_of(&users)
            )));
        }
        let referrers = referencing_groups(ctx, id).await?;
        if !referrers.is_empty() {
            return Ok(Assessment::Ticket(format!(
                "security group {id} is referenced by rules of {}; remove those rules first (deleting it would fail)",
                some_of(&referrers)
            )));
        }
        match ctx.target.first_observed_at.map(|t| ctx.days_since(t)) {
            Some(days) if days >= MIN_AGE_DAYS => {}
            _ => {
                return Ok(Assessment::ReconsiderLater(format!(
                    "security group {id} was first reported unused less than {MIN_AGE_DAYS} day ago; a deployment may \
                     be about to use it"
                )))
            }
        }
        Ok(Assessment::Changes(vec![Change::new(
            "ec2:DeleteSecurityGroup",
            id.clone(),
            json!({ "GroupId": id }),
            format!(
                "{id} ({}) is used by no network interface and referenced by no other group",
                group.group_name().unwrap_or_default()
            ),
        )]))
    }

    async fn execute(&self, ctx: &Ctx, change: &Change) -> Result<(), AwsError> {
        match change.action.as_str() {
            "ec2:DeleteSecurityGroup" => ctx
                .ec2()
                .delete_security_group()
                .group_id(change.text("GroupId")?)
                .send()
                .await
                .map(|_| ())
                .map_err(aws("ec2:DeleteSecurityGroup")),
            _ => Err(unplanned(change)),
        }
    }

    async fn verify(&self, ctx: &Ctx) -> Result<Check, AwsError> {
        let id = &ctx.target.name;
        Ok(match find_security_group(ctx, id).await? {
            None => Check::Holds(format!("security group {id} does not exist (InvalidGroup.NotFound)")),
            Some(_) => Check::Fails(format!("security group {id} still exists")),
        })
    }
}

/// Other groups whose ingress or egress rules reference `id` (every page of both filters).
async fn referencing_groups(ctx: &Ctx, id: &str) -> Result<Vec<String>, AwsError> {
    let mut found: Vec<String> = Vec::new();
    for name in ["ip-permission.group-id", "egress.ip-permission.group-id"] {
        let mut token = None;
        let mut done = false;
        for _ in 0..MAX_PAGES {
            let out = ctx
                .ec2()
                .describe_security_groups()
                .filters(filter(name, id))
                .set_next_token(token)
                .send()
                .await
                .map_err(aws("ec2:DescribeSecurityGroups"))?;
            for g in out.security_groups() {
                let gid = g.group_id().unwrap_or_default();
                let text = format!("{gid} ({})", g.group_name().unwrap_or_default());
                if gid != id && !found.contains(&text) {
                    found.push(text);
                }
            }
            token = next_token(out.next_token());
            if token.is_none() {
                done = true;
                break;
            }
        }
        if !done {
            return Err(too_many_pages("ec2:DescribeSecurityGroups"));
        }
    }
    Ok(found)
}
