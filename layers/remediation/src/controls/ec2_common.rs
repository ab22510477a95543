//! What the EC2, ELB and ECS controls share: bounded pagination, EC2 tags, security groups and
//! their rules, "is this group used" (every page of network interfaces), and world-open ingress
//! detection with range splitting for EC2.13, EC2.14 and EC2.19.

use aws_sdk_ec2::types::{
    Filter, Instance, InstanceStateName, IpPermission, IpRange, Ipv6Range, SecurityGroup, SecurityGroupRule,
};
use secops_aws::AwsError;
use serde::{Deserialize, Serialize};
use serde_json::json;
use std::collections::BTreeMap;

use crate::context::Ctx;
use crate::plan::Change;
use crate::spec::{Assessment, Check};
use crate::support::{aws, has_code};
use crate::support::{too_many_pages, MAX_PAGES};
use crate::target::arn_resource_after;

/// The next page's token, when there is one (some services send an empty string at the end).
pub(crate) fn next_token(token: Option<&str>) -> Option<String> {
    token.filter(|t| !t.is_empty()).map(str::to_owned)
}

/// `filter(name, value)`: an EC2 filter with one value.
pub(crate) fn filter(name: &str, value: &str) -> Filter {
    Filter::builder().name(name).values(value).build()
}

/// At most ten items and the total, for tickets ("eni-1, eni-2 (2 in all)").
pub(crate) fn some_of(items: &[String]) -> String {
    let shown: Vec<&str> = items.iter().take(10).map(String::as_str).collect();
    let more = if items.len() > shown.len() { ", ..." } else { "" };
    format!("{}{more} ({} in all)", shown.join(", "), items.len())
}

/// The tags of one EC2 resource (instance, group, subnet, VPC, address), every page.
pub(crate) async fn ec2_tags(ctx: &Ctx, resource_id: &str) -> Result<BTreeMap<String, String>, AwsError> {
    let mut tags = BTreeMap::new();
    let mut token = None;
    for _ in 0..MAX_PAGES {
        let out = ctx
            .ec2()
            .describe_tags()
            .filters(filter("resource-id", resource_id))
            .set_next_token(token)
            .send()
            .await
            .map_err(aws("ec2:DescribeTags"))?;
        for t in out.tags() {
            if let (Some(k), Some(v)) = (t.key(), t.value()) {
                tags.insert(k.to_owned(), v.to_owned());
            }
        }
        token = next_token(out.next_token());
        if token.is_none() {
            return Ok(tags);
        }
    }
    Err(too_many_pages("ec2:DescribeTags"))
}

/// The group id of an `AwsEc2SecurityGroup` resource (ARN or `sg-` id).
pub(crate) fn group_id_of(resource_id: &str) -> Result<String, String> {
    arn_resource_after(resource_id, "security-group/", "sg-")
}

/// The security group, or `None` when it does not exist (any more).
pub(crate) async fn find_security_group(ctx: &Ctx, group_id: &str) -> Result<Option<SecurityGroup>, AwsError> {
    match ctx.ec2().describe_security_groups().group_ids(group_id).send().await {
        Ok(out) => Ok(out.security_groups().iter().find(|g| g.group_id() == Some(group_id)).cloned()),
        Err(e) if has_code(&e, &["InvalidGroup.NotFound"]) => Ok(None),
        Err(e) => Err(aws("ec2:DescribeSecurityGroups")(e)),
    }
}

/// Every rule of the group, ingress and egress, every page.
pub(crate) async fn group_rules(ctx: &Ctx, group_id: &str) -> Result<Vec<SecurityGroupRule>, AwsError> {
    let mut rules = Vec::new();
    let mut token = None;
    for _ in 0..MAX_PAGES {
        let out = ctx
            .ec2()
            .describe_security_group_rules()
            .filters(filter("group-id", group_id))
            .set_next_token(token)
            .send()
            .await
            .map_err(aws("ec2:DescribeSecurityGroupRules"))?;
        rules.extend(out.security_group_rules().iter().cloned());
        token = next_token(out.next_token());
        if token.is_none() {
            return Ok(rules);
        }
    }
    Err(too_many_pages("ec2:DescribeSecurityGroupRules"))
}

/// The network interfaces that use the group (`eni-… (description)`), from every page: one
/// interface on page 7 makes the group used.
pub(crate) async fn interfaces_using(ctx: &Ctx, group_id: &str) -> Result<Vec<String>, AwsError> {
    let mut found = Vec::new();
    let mut token = None;
    for _ in 0..MAX_PAGES {
        let out = ctx
            .ec2()
            .describe_network_interfaces()
            .filters(filter("group-id", group_id))
            .set_next_token(token)
            .send()
            .await
            .map_err(aws("ec2:DescribeNetworkInterfaces"))?;
        for eni in out.network_interfaces() {
            let id = eni.network_interface_id().unwrap_or("an interface without id");
            found.push(match eni.description().filter(|d| !d.is_empty()) {
                Some(d) => format!("{id} ({d})"),
                None => id.to_owned(),
            });
        }
        token = next_token(out.next_token());
        if token.is_none() {
            return Ok(found);
        }
    }
    Err(too_many_pages("ec2:DescribeNetworkInterfaces"))
}

/// The instance id of an `AwsEc2Instance` resource (ARN or `i-` id).
pub(crate) fn instance_id_of(resource_id: &str) -> Result<String, String> {
    arn_resource_after(resource_id, "instance/", "i-")
}

/// The instance, or `None` when EC2 no longer knows it.
pub(crate) async fn find_instance(ctx: &Ctx, instance_id: &str) -> Result<Option<Instance>, AwsError> {
    match ctx.ec2().describe_instances().instance_ids(instance_id).send().await {
        Ok(out) => Ok(out
            .reservations()
            .iter()
            .flat_map(|r| r.instances())
            .find(|i| i.instance_id() == Some(instance_id))
            .cloned()),
        Err(e) if has_code(&e, &["InvalidInstanceID.NotFound"]) => Ok(None),
        Err(e) => Err(aws("ec2:DescribeInstances")(e)),
    }
}

/// Whether the instance is terminated or on its way there.
pub(crate) fn is_terminating(instance: &Instance) -> bool {
    matches!(
        instance.state().and_then(|s| s.name()),
        Some(InstanceStateName::ShuttingDown | InstanceStateName::Terminated)
    )
}

/// Revoke ingress or egress rules by id (`{"GroupId", "SecurityGroupRuleIds"}`).
pub(crate) async fn revoke_rules(ctx: &Ctx, change: &Change, egress: bool) -> Result<(), AwsError> {
    #[derive(Deserialize)]
    #[serde(rename_all = "PascalCase")]
    struct Revoke {
        group_id: String,
        security_group_rule_ids: Vec<String>,
    }
    let p: Revoke = change.params()?;
    if egress {
        ctx.ec2()
            .revoke_security_group_egress()
            .group_id(&p.group_id)
            .set_security_group_rule_ids(Some(p.security_group_rule_ids))
            .send()
            .await
            .map(|_| ())
            .map_err(aws("ec2:RevokeSecurityGroupEgress"))
    } else {
        ctx.ec2()
            .revoke_security_group_ingress()
            .group_id(&p.group_id)
            .set_security_group_rule_ids(Some(p.security_group_rule_ids))
            .send()
            .await
            .map(|_| ())
            .map_err(aws("ec2:RevokeSecurityGroupIngress"))
    }
}

/// The world-open CIDR of an ingress rule (`0.0.0.0/0` or `::/0`), with whether it is IPv6.
fn world_cidr(rule: &SecurityGroupRule) -> Option<(&str, bool)> {
    if rule.is_egress() == Some(true) {
        return None;
    }
    match (rule.cidr_ipv4(), rule.cidr_ipv6()) {
        (Some(c @ "0.0.0.0/0"), _) => Some((c, false)),
        (_, Some(c @ "::/0")) => Some((c, true)),
        _ => None,
    }
}

/// Whether the rule is TCP (the ports these controls list are TCP services; UDP and ICMP rules
/// are outside them and left alone).
fn is_tcp(rule: &SecurityGroupRule) -> bool {
    matches!(rule.ip_protocol(), Some("tcp" | "6"))
}

/// Whether `from..=to` includes any of `ports`.
pub(crate) fn covers(from: i32, to: i32, ports: &[i32]) -> bool {
    ports.iter().any(|p| (from..=to).contains(p))
}

/// The parts of `from..=to` that remain open when `ports` close, as inclusive ranges.
pub(crate) fn remaining(from: i32, to: i32, ports: &[i32]) -> Vec<(i32, i32)> {
    let mut closed: Vec<i32> = ports.iter().copied().filter(|p| (from..=to).contains(p)).collect();
    closed.sort_unstable();
    closed.dedup();
    let mut out = Vec::new();
    let mut start = from;
    for p in closed {
        if p > start {
            out.push((start, p - 1));
        }
        start = p + 1;
    }
    if start <= to {
        out.push((start, to));
    }
    out
}

/// One world-open TCP range to keep (re-authorized after its rule is revoked).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct Opening {
    pub cidr: String,
    pub ipv6: bool,
    pub from_port: i32,
    pub to_port: i32,
    pub description: Option<String>,
}

/// What the group's world-open ingress looks like with respect to `ports`.
struct Exposure {
    /// World-open all-traffic rules (protocol -1): they cannot be narrowed without a person.
    all_traffic: Vec<String>,
    /// World-open TCP rules covering a listed port.
    offending: Vec<SecurityGroupRule>,
    /// World-open TCP rules as they are (to avoid re-authorizing a range that exists).
    existing: Vec<Opening>,
}

fn exposure(rules: &[SecurityGroupRule], ports: &[i32]) -> Exposure {
    let mut e = Exposure { all_traffic: Vec::new(), offending: Vec::new(), existing: Vec::new() };
    for rule in rules {
        let Some((cidr, ipv6)) = world_cidr(rule) else { continue };
        let id = rule.security_group_rule_id().unwrap_or_default().to_owned();
        if rule.ip_protocol() == Some("-1") {
            e.all_traffic.push(format!("{id} ({cidr})"));
            continue;
        }
        if !is_tcp(rule) {
            continue;
        }
        let (from, to) = (rule.from_port().unwrap_or(0), rule.to_port().unwrap_or(65535));
        e.existing.push(Opening {
            cidr: cidr.to_owned(),
            ipv6,
            from_port: from,
            to_port: to,
            description: rule.description().map(str::to_owned),
        });
        if covers(from, to, ports) {
            e.offending.push(rule.clone());
        }
    }
    e
}

/// The plan of EC2.13, EC2.14 and EC2.19: close `ports` (named `what`) to the world, keeping
/// every other port of a wider rule open.
pub(crate) async fn plan_world_ports(ctx: &Ctx, ports: &[i32], what: &str) -> Result<Assessment, AwsError> {
    let group = &ctx.target.name;
    if find_security_group(ctx, group).await?.is_none() {
        return Ok(Assessment::Gone(format!("security group {group} does not exist")));
    }
    let rules = group_rules(ctx, group).await?;
    let e = exposure(&rules, ports);
    if !e.all_traffic.is_empty() {
        return Ok(Assessment::Ticket(format!(
            "security group {group} allows all traffic from the internet through rule(s) {}; closing {what} means \
             replacing it with the ports the workload really serves, which a person must decide",
            e.all_traffic.join(", ")
        )));
    }
    if e.offending.is_empty() {
        return Ok(Assessment::Compliant(format!("no ingress rule of {group} opens {what} to 0.0.0.0/0 or ::/0")));
    }
    let mut keep: Vec<Opening> = Vec::new();
    let mut revoke: Vec<String> = Vec::new();
    let mut described: Vec<String> = Vec::new();
    for rule in &e.offending {
        let (cidr, ipv6) = world_cidr(rule).unwrap_or(("0.0.0.0/0", false));
        let (from, to) = (rule.from_port().unwrap_or(0), rule.to_port().unwrap_or(65535));
        let id = rule.security_group_rule_id().unwrap_or_default();
        revoke.push(id.to_owned());
        described.push(format!("{id} (tcp {from}-{to} from {cidr})"));
        for (f, t) in remaining(from, to, ports) {
            let opening = Opening {
                cidr: cidr.to_owned(),
                ipv6,
                from_port: f,
                to_port: t,
                description: rule.description().map(str::to_owned),
            };
            // A range an earlier, interrupted run already re-authorized is kept as it is.
            let exists = e.existing.iter().any(|x| {
                (x.cidr.as_str(), x.from_port, x.to_port) == (opening.cidr.as_str(), opening.from_port, opening.to_port)
            });
            if !exists && !keep.contains(&opening) {
                keep.push(opening);
            }
        }
    }
    let mut changes = Vec::new();
    if !keep.is_empty() {
        let ranges: Vec<String> =
            keep.iter().map(|o| format!("{}-{} from {}", o.from_port, o.to_port, o.cidr)).collect();
        // Authorized before the revoke so the ports that stay open are never closed in between.
        changes.push(Change::new(
            "ec2:AuthorizeSecurityGroupIngress",
            group.clone(),
            json!({ "GroupId": group, "Openings": keep }),
            format!("re-opens tcp {} so that only {what} close (the wider rules are revoked next)", ranges.join(", ")),
        ));
    }
    changes.push(Change::new(
        "ec2:RevokeSecurityGroupIngress",
        group.clone(),
        json!({ "GroupId": group, "SecurityGroupRuleIds": revoke }),
        format!("rule(s) {} open {what} to the internet", described.join(", ")),
    ));
    Ok(Assessment::Changes(changes))
}

/// Authorize the planned openings (`{"GroupId", "Openings"}`).
pub(crate) async fn authorize_openings(ctx: &Ctx, change: &Change) -> Result<(), AwsError> {
    #[derive(Deserialize)]
    #[serde(rename_all = "PascalCase")]
    struct Authorize {
        group_id: String,
        openings: Vec<Opening>,
    }
    let p: Authorize = change.params()?;
    let permissions = p.openings.iter().map(|o| {
        let permission = IpPermission::builder().ip_protocol("tcp").from_port(o.from_port).to_port(o.to_port);
        if o.ipv6 {
            permission
                .ipv6_ranges(Ipv6Range::builder().cidr_ipv6(&o.cidr).set_description(o.description.clone()).build())
                .build()
        } else {
            permission
                .ip_ranges(IpRange::builder().cidr_ip(&o.cidr).set_description(o.description.clone()).build())
                .build()
        }
    });
    ctx.ec2()
        .authorize_security_group_ingress()
        .group_id(&p.group_id)
        .set_ip_permissions(Some(permissions.collect()))
        .send()
        .await
        .map(|_| ())
        .map_err(aws("ec2:AuthorizeSecurityGroupIngress"))
}

/// Verify of EC2.13, EC2.14 and EC2.19: no world-open rule covers `ports` any more.
pub(crate) async fn verify_world_ports(ctx: &Ctx, ports: &[i32], what: &str) -> Result<Check, AwsError> {
    let group = &ctx.target.name;
    let e = exposure(&group_rules(ctx, group).await?, ports);
    let open: Vec<String> = e
        .offending
        .iter()
        .map(|r| r.security_group_rule_id().unwrap_or_default().to_owned())
        .chain(e.all_traffic.iter().cloned())
        .collect();
    Ok(if open.is_empty() {
        Check::Holds(format!("no ingress rule of {group} opens {what} to 0.0.0.0/0 or ::/0"))
    } else {
        Check::Fails(format!("rule(s) {} of {group} still open {what} to the internet", open.join(", ")))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_split_around_the_closed_ports() {
        assert_eq!(remaining(0, 65535, &[22]), vec![(0, 21), (23, 65535)]);
        assert_eq!(remaining(22, 22, &[22]), Vec::<(i32, i32)>::new());
        assert_eq!(remaining(20, 25, &[20, 21, 22, 23, 25]), vec![(24, 24)]);
        assert_eq!(remaining(3000, 3400, &[3389, 3306, 3000]), vec![(3001, 3305), (3307, 3388), (3390, 3400)]);
        assert!(covers(0, 65535, &[3389]));
        assert!(!covers(23, 3388, &[22, 3389]));
    }

    #[test]
    fn some_of_shows_ten_and_the_count() {
        let items: Vec<String> = (1..=12).map(|i| format!("eni-{i}")).collect();
        let text = some_of(&items);
        assert!(text.starts_with("eni-1, eni-2"), "{text}");
        assert!(text.contains("eni-10, ...") && text.ends_with("(12 in all)"), "{text}");
        assert!(!text.contains("eni-11"), "{text}");
    }
}
