//! Isolation of an EC2 instance in its own account (the member role) or, for tests and single
//! accounts, with the caller's credentials.
//!
//! Steps, each safe to repeat:
//! 1. DescribeInstances: the VPC and security groups of every network interface, the EBS volumes.
//! 2. The quarantine group of each VPC the interfaces sit in: the group tagged
//!    `secops:quarantine=true`, else a new `secops-quarantine-<vpc id>`. Whichever it is, it is
//!    left with no inbound and no outbound rule (new groups start with allow-all egress).
//! 3. Unless the instance is already isolated for this finding: tag the instance with the finding,
//!    the quarantine group and the previous groups, *then* give every interface the quarantine
//!    group alone (ModifyNetworkInterfaceAttribute) — tagging first means the previous groups are
//!    recorded even if the swap stops half-way.
//! 4. Snapshot every attached EBS volume that has no snapshot for this finding yet.
//! 5. With `terminate`: clear termination protection, terminate.
//!
//! A replay of the same finding finds the instance isolated and the snapshots taken, changes
//! nothing and answers with the same report.
//!
//! Tags on the instance:
//! - [`FINDING_TAG`]: the finding id (a finding id longer than a tag value allows is stored as
//!   `sha256:<hex>` of the id; snapshots carry the same value).
//! - [`QUARANTINE_GROUP_ID_TAG`]: the quarantine group of the instance's VPC.
//! - [`PREVIOUS_GROUPS_TAG`]: `eni-1=sg-a+sg-b;eni-2=sg-c` — per interface, its groups before the
//!   swap. A value longer than 256 characters continues in `…:previous-groups:2`, `:3`, …, to be
//!   read concatenated. Restoring is the reverse: ModifyNetworkInterfaceAttribute per interface.

use std::collections::{BTreeMap, BTreeSet};

use async_trait::async_trait;
use aws_config::SdkConfig;
use aws_sdk_ec2::error::ProvideErrorMetadata;
use aws_sdk_ec2::types::{
    AttributeBooleanValue, Filter, Instance, InstanceStateName, ResourceType, SecurityGroup, Tag, TagSpecification,
};
use aws_sdk_ec2::Client;
use secops_aws::config::in_region;
use secops_aws::{AssumeRoleCache, AwsError, RoleRequest};
use secops_core::ErrorClass;
use sha2::{Digest, Sha256};

use crate::quarantine::{IsolationReport, IsolationRequest, Quarantine, FINDING_TAG};
use crate::{Result, SoarError};

/// Marks a quarantine group (value `true`).
pub const QUARANTINE_GROUP_TAG: &str = "secops:quarantine";
/// On the instance: the quarantine group it was moved into.
pub const QUARANTINE_GROUP_ID_TAG: &str = "secops:quarantine:group-id";
/// On the instance: the groups of each interface before the swap (format in the module docs).
pub const PREVIOUS_GROUPS_TAG: &str = "secops:quarantine:previous-groups";
/// On a snapshot: the instance and the device name the volume was attached as.
pub const SNAPSHOT_INSTANCE_TAG: &str = "secops:quarantine:instance-id";
pub const SNAPSHOT_DEVICE_TAG: &str = "secops:quarantine:device";

/// EC2 tag values hold at most 256 characters.
const TAG_VALUE_MAX_CHARS: usize = 256;
/// EC2 descriptions hold at most 255 characters.
const DESCRIPTION_MAX_CHARS: usize = 255;
/// An instance has at most 50 tags, so no more continuation tags can exist.
const MAX_PREVIOUS_GROUPS_CHUNKS: usize = 50;
/// A group has at most a few hundred rules: 1,000 a page makes one page the norm.
const RULES_PAGE_SIZE: i32 = 1_000;
const MAX_RULE_PAGES: usize = 10;
/// Revoking races with whoever adds rules; after this many rounds it is their move, not ours.
const MAX_STRIP_ROUNDS: usize = 3;
/// Snapshots of one finding and one instance: one per volume, a handful of pages at most.
const MAX_SNAPSHOT_PAGES: usize = 20;
const MAX_GROUP_PAGES: usize = 10;

/// Where the EC2 client's credentials come from.
#[derive(Debug)]
enum Credentials {
    /// The given configuration as it is (same account: tests, single-account setups).
    Direct(SdkConfig),
    /// AssumeRole into the member account of each request.
    MemberRole { sessions: AssumeRoleCache, role_name: String },
}

/// See the module documentation.
#[derive(Debug)]
pub struct Ec2Quarantine {
    credentials: Credentials,
}

impl Ec2Quarantine {
    /// Act in each request's account through `member_role_name`, assumed from `base`.
    pub fn new(base: &SdkConfig, member_role_name: impl Into<String>) -> Self {
        Self {
            credentials: Credentials::MemberRole {
                sessions: AssumeRoleCache::new(base, "secops-quarantine"),
                role_name: member_role_name.into(),
            },
        }
    }

    /// Act with `config`'s own credentials, in the request's region.
    pub fn direct(config: &SdkConfig) -> Self {
        Self { credentials: Credentials::Direct(config.clone()) }
    }

    async fn client(&self, request: &IsolationRequest) -> Result<Client> {
        let config = match &self.credentials {
            Credentials::Direct(config) => in_region(config, &request.region),
            Credentials::MemberRole { sessions, role_name } => {
                sessions.config_for(&RoleRequest::new(&request.account_id, role_name, &request.region)).await?
            }
        };
        Ok(Client::new(&config))
    }
}

#[async_trait]
impl Quarantine for Ec2Quarantine {
    async fn isolate(&self, request: &IsolationRequest) -> Result<IsolationReport> {
        let ec2 = self.client(request).await?;
        Isolation { ec2: &ec2, request, finding_tag: finding_tag_value(&request.finding_id) }.run().await
    }
}

/// One network interface of the instance.
#[derive(Debug)]
struct Interface {
    id: String,
    vpc_id: String,
    groups: Vec<String>,
}

/// An EBS volume attached to the instance.
#[derive(Debug)]
struct Volume {
    id: String,
    device: String,
}

/// What DescribeInstances says about the instance.
#[derive(Debug)]
struct InstanceView {
    vpc_id: Option<String>,
    state: Option<InstanceStateName>,
    interfaces: Vec<Interface>,
    volumes: Vec<Volume>,
    tags: BTreeMap<String, String>,
}

impl InstanceView {
    fn is_gone(&self) -> bool {
        matches!(self.state, Some(InstanceStateName::ShuttingDown | InstanceStateName::Terminated))
    }
}

struct Isolation<'a> {
    ec2: &'a Client,
    request: &'a IsolationRequest,
    finding_tag: String,
}

impl Isolation<'_> {
    async fn run(&self) -> Result<IsolationReport> {
        let instance_id = &self.request.instance_id;
        let view = self.describe_instance().await?;
        let isolated_for_this_finding = view.tags.get(FINDING_TAG) == Some(&self.finding_tag);
        let recorded = recorded_previous_groups(&view.tags)?;

        if view.is_gone() {
            // Nothing left to isolate; a replay after our own termination answers from the tags.
            return match view.tags.get(QUARANTINE_GROUP_ID_TAG) {
                Some(group) if isolated_for_this_finding => Ok(IsolationReport {
                    instance_id: instance_id.clone(),
                    vpc_id: view.vpc_id.clone(),
                    quarantine_group_id: group.clone(),
                    previous_groups: flatten(&recorded),
                    snapshot_ids: sorted(self.existing_snapshots().await?.into_values().collect()),
                    terminated: true,
                    plan_only: false,
                }),
                _ => Err(SoarError::Permanent(format!(
                    "instance {instance_id} is {}: there is nothing left to isolate",
                    view.state.as_ref().map_or("gone", |s| s.as_str())
                ))),
            };
        }
        let vpc_id = view.vpc_id.clone().ok_or_else(|| {
            SoarError::Permanent(format!("instance {instance_id} is not in a VPC, so no security group can isolate it"))
        })?;

        // Each interface's VPC has its own quarantine group (multi-VPC attachments exist).
        let mut groups_by_vpc = BTreeMap::new();
        let quarantine_group_id = self.quarantine_group_cached(&mut groups_by_vpc, &vpc_id).await?;
        let mut targets: Vec<(&Interface, String)> = Vec::with_capacity(view.interfaces.len());
        for interface in &view.interfaces {
            targets.push((interface, self.quarantine_group_cached(&mut groups_by_vpc, &interface.vpc_id).await?));
        }
        let is_quarantined = |(interface, group): &(&Interface, String)| interface.groups == [group.as_str()];

        let previous = if isolated_for_this_finding && targets.iter().all(is_quarantined) {
            recorded
        } else {
            // An interface already in quarantine (an earlier finding, or a swap that stopped
            // half-way) keeps the groups recorded then — none if nothing was — because its
            // current group says nothing about where it came from.
            let previous: Vec<(String, Vec<String>)> = targets
                .iter()
                .map(|target @ (interface, group)| {
                    let groups = if is_quarantined(target) {
                        recorded
                            .iter()
                            .find(|(eni, _)| *eni == interface.id)
                            .map(|(_, g)| g.clone())
                            .unwrap_or_default()
                    } else {
                        interface.groups.iter().filter(|g| *g != group).cloned().collect()
                    };
                    (interface.id.clone(), groups)
                })
                .collect();
            self.tag_instance(&view, &quarantine_group_id, &previous).await?;
            for (interface, group) in targets.iter().filter(|t| !is_quarantined(t)) {
                self.swap_groups(&interface.id, group).await?;
            }
            previous
        };

        let snapshot_ids = self.snapshot_volumes(&view.volumes).await?;
        if self.request.terminate {
            self.terminate().await?;
        }
        Ok(IsolationReport {
            instance_id: instance_id.clone(),
            vpc_id: Some(vpc_id),
            quarantine_group_id,
            previous_groups: flatten(&previous),
            snapshot_ids,
            terminated: self.request.terminate,
            plan_only: false,
        })
    }

    async fn describe_instance(&self) -> Result<InstanceView> {
        let instance_id = &self.request.instance_id;
        let out = match self.ec2.describe_instances().instance_ids(instance_id).send().await {
            Ok(out) => out,
            Err(e) if e.code().is_some_and(|c| c.starts_with("InvalidInstanceID.")) => {
                return Err(SoarError::Permanent(format!(
                    "instance {instance_id} does not exist in account {} region {}: {}",
                    self.request.account_id,
                    self.request.region,
                    AwsError::from_sdk("ec2:DescribeInstances", e)
                )))
            }
            Err(e) => return Err(AwsError::from_sdk("ec2:DescribeInstances", e).into()),
        };
        let instance = out
            .reservations()
            .iter()
            .flat_map(|r| r.instances())
            .find(|i| i.instance_id() == Some(instance_id.as_str()))
            .ok_or_else(|| {
                SoarError::Permanent(format!("ec2:DescribeInstances: the answer does not list {instance_id}"))
            })?;
        Ok(instance_view(instance))
    }

    async fn quarantine_group_cached(
        &self,
        groups_by_vpc: &mut BTreeMap<String, String>,
        vpc_id: &str,
    ) -> Result<String> {
        if let Some(group) = groups_by_vpc.get(vpc_id) {
            return Ok(group.clone());
        }
        let group = self.quarantine_group(vpc_id).await?;
        groups_by_vpc.insert(vpc_id.to_owned(), group.clone());
        Ok(group)
    }

    /// The quarantine group of `vpc_id`, found or created, with no rules left.
    async fn quarantine_group(&self, vpc_id: &str) -> Result<String> {
        if let Some(group) = self.find_quarantine_group(vpc_id).await? {
            let group_id = required(group.group_id(), "ec2:DescribeSecurityGroups", "GroupId")?;
            if !group.ip_permissions().is_empty() || !group.ip_permissions_egress().is_empty() {
                self.strip_rules(&group_id).await?;
            }
            return Ok(group_id);
        }
        let created = self
            .ec2
            .create_security_group()
            .group_name(format!("secops-quarantine-{vpc_id}"))
            .description("SecOps Autopilot quarantine: no inbound, no outbound traffic")
            .vpc_id(vpc_id)
            // Tagged at birth, so a concurrent isolation that lost the race finds it by the tag.
            .tag_specifications(tag_spec(ResourceType::SecurityGroup, [(QUARANTINE_GROUP_TAG, "true")]))
            .send()
            .await;
        let group_id = match created {
            Ok(out) => required(out.group_id(), "ec2:CreateSecurityGroup", "GroupId")?,
            Err(e) if e.code() == Some("InvalidGroup.Duplicate") => {
                let group = self.find_quarantine_group(vpc_id).await?.ok_or_else(|| {
                    SoarError::Permanent(format!(
                        "a security group secops-quarantine-{vpc_id} exists without the tag {QUARANTINE_GROUP_TAG}=true; \
                         tag it or delete it"
                    ))
                })?;
                required(group.group_id(), "ec2:DescribeSecurityGroups", "GroupId")?
            }
            Err(e) => return Err(AwsError::from_sdk("ec2:CreateSecurityGroup", e).into()),
        };
        // A new group allows all egress; also covers the racer that found the group before this
        // revoke ran.
        self.strip_rules(&group_id).await?;
        Ok(group_id)
    }

    async fn find_quarantine_group(&self, vpc_id: &str) -> Result<Option<SecurityGroup>> {
        let mut found: Vec<SecurityGroup> = Vec::new();
        let mut next_token: Option<String> = None;
        for _page in 0..MAX_GROUP_PAGES {
            let out = self
                .ec2
                .describe_security_groups()
                .filters(filter("vpc-id", vpc_id))
                .filters(filter(&format!("tag:{QUARANTINE_GROUP_TAG}"), "true"))
                .set_next_token(next_token.take())
                .send()
                .await
                .map_err(|e| AwsError::from_sdk("ec2:DescribeSecurityGroups", e))?;
            found.extend(out.security_groups().iter().cloned());
            match out.next_token() {
                Some(token) if !token.is_empty() => next_token = Some(token.to_owned()),
                // Several tagged groups (made by hand): always the same one, the lowest id.
                _ => return Ok(found.into_iter().min_by(|a, b| a.group_id().cmp(&b.group_id()))),
            }
        }
        Err(too_many_pages("ec2:DescribeSecurityGroups", MAX_GROUP_PAGES))
    }

    /// Revoke every inbound and outbound rule of the group.
    async fn strip_rules(&self, group_id: &str) -> Result<()> {
        for _round in 0..MAX_STRIP_ROUNDS {
            let (egress, ingress) = self.rule_ids(group_id).await?;
            if egress.is_empty() && ingress.is_empty() {
                return Ok(());
            }
            if !egress.is_empty() {
                let revoked = self
                    .ec2
                    .revoke_security_group_egress()
                    .group_id(group_id)
                    .set_security_group_rule_ids(Some(egress))
                    .send()
                    .await;
                match revoked {
                    Ok(_) => {}
                    // Another isolation revoked it first; the next round checks what is left.
                    Err(e) if e.code() == Some("InvalidPermission.NotFound") => {}
                    Err(e) => return Err(AwsError::from_sdk("ec2:RevokeSecurityGroupEgress", e).into()),
                }
            }
            if !ingress.is_empty() {
                let revoked = self
                    .ec2
                    .revoke_security_group_ingress()
                    .group_id(group_id)
                    .set_security_group_rule_ids(Some(ingress))
                    .send()
                    .await;
                match revoked {
                    Ok(_) => {}
                    Err(e) if e.code() == Some("InvalidPermission.NotFound") => {}
                    Err(e) => return Err(AwsError::from_sdk("ec2:RevokeSecurityGroupIngress", e).into()),
                }
            }
        }
        Err(SoarError::Conflict(format!(
            "quarantine group {group_id} still has rules after {MAX_STRIP_ROUNDS} rounds of revoking: someone keeps adding them"
        )))
    }

    /// The group's (egress, ingress) rule ids.
    async fn rule_ids(&self, group_id: &str) -> Result<(Vec<String>, Vec<String>)> {
        let (mut egress, mut ingress) = (Vec::new(), Vec::new());
        let mut next_token: Option<String> = None;
        for _page in 0..MAX_RULE_PAGES {
            let out = self
                .ec2
                .describe_security_group_rules()
                .filters(filter("group-id", group_id))
                .max_results(RULES_PAGE_SIZE)
                .set_next_token(next_token.take())
                .send()
                .await
                .map_err(|e| AwsError::from_sdk("ec2:DescribeSecurityGroupRules", e))?;
            for rule in out.security_group_rules() {
                if let Some(id) = rule.security_group_rule_id() {
                    if rule.is_egress() == Some(true) { &mut egress } else { &mut ingress }.push(id.to_owned());
                }
            }
            match out.next_token() {
                Some(token) if !token.is_empty() => next_token = Some(token.to_owned()),
                _ => return Ok((egress, ingress)),
            }
        }
        Err(too_many_pages("ec2:DescribeSecurityGroupRules", MAX_RULE_PAGES))
    }

    async fn tag_instance(
        &self,
        view: &InstanceView,
        quarantine_group_id: &str,
        previous: &[(String, Vec<String>)],
    ) -> Result<()> {
        let chunks = split_tag_value(&encode_previous_groups(previous));
        let mut tags = vec![
            Tag::builder().key(FINDING_TAG).value(&self.finding_tag).build(),
            Tag::builder().key(QUARANTINE_GROUP_ID_TAG).value(quarantine_group_id).build(),
        ];
        tags.extend(
            chunks.iter().enumerate().map(|(n, chunk)| Tag::builder().key(previous_groups_key(n)).value(chunk).build()),
        );
        self.ec2
            .create_tags()
            .resources(&self.request.instance_id)
            .set_tags(Some(tags))
            .send()
            .await
            .map_err(|e| AwsError::from_sdk("ec2:CreateTags", e))?;
        // Continuation tags of an earlier, longer value would be read as part of this one.
        let stale: Vec<Tag> = (chunks.len()..MAX_PREVIOUS_GROUPS_CHUNKS)
            .map(previous_groups_key)
            .filter(|key| view.tags.contains_key(key))
            .map(|key| Tag::builder().key(key).build())
            .collect();
        if !stale.is_empty() {
            self.ec2
                .delete_tags()
                .resources(&self.request.instance_id)
                .set_tags(Some(stale))
                .send()
                .await
                .map_err(|e| AwsError::from_sdk("ec2:DeleteTags", e))?;
        }
        Ok(())
    }

    async fn swap_groups(&self, interface_id: &str, quarantine_group_id: &str) -> Result<()> {
        self.ec2
            .modify_network_interface_attribute()
            .network_interface_id(interface_id)
            .groups(quarantine_group_id)
            .send()
            .await
            .map_err(|e| AwsError::from_sdk("ec2:ModifyNetworkInterfaceAttribute", e))?;
        Ok(())
    }

    /// Snapshots of this finding and instance, by volume id.
    async fn existing_snapshots(&self) -> Result<BTreeMap<String, String>> {
        let mut by_volume = BTreeMap::new();
        let mut next_token: Option<String> = None;
        for _page in 0..MAX_SNAPSHOT_PAGES {
            let out = self
                .ec2
                .describe_snapshots()
                .owner_ids("self")
                .filters(filter(&format!("tag:{FINDING_TAG}"), &self.finding_tag))
                .filters(filter(&format!("tag:{SNAPSHOT_INSTANCE_TAG}"), &self.request.instance_id))
                .set_next_token(next_token.take())
                .send()
                .await
                .map_err(|e| AwsError::from_sdk("ec2:DescribeSnapshots", e))?;
            for snapshot in out.snapshots() {
                if let (Some(volume), Some(id)) = (snapshot.volume_id(), snapshot.snapshot_id()) {
                    by_volume.insert(volume.to_owned(), id.to_owned());
                }
            }
            match out.next_token() {
                Some(token) if !token.is_empty() => next_token = Some(token.to_owned()),
                _ => return Ok(by_volume),
            }
        }
        Err(too_many_pages("ec2:DescribeSnapshots", MAX_SNAPSHOT_PAGES))
    }

    /// One snapshot per volume for this finding: the ones taken before, plus new ones for the
    /// volumes that have none. Sorted, so a replay reports the same list.
    async fn snapshot_volumes(&self, volumes: &[Volume]) -> Result<Vec<String>> {
        let mut by_volume = self.existing_snapshots().await?;
        for volume in volumes {
            if by_volume.contains_key(&volume.id) {
                continue;
            }
            let description = truncate(
                &format!(
                    "secops quarantine of {} ({}) for finding {}",
                    self.request.instance_id, volume.device, self.request.finding_id
                ),
                DESCRIPTION_MAX_CHARS,
            );
            let out = self
                .ec2
                .create_snapshot()
                .volume_id(&volume.id)
                .description(description)
                .tag_specifications(tag_spec(
                    ResourceType::Snapshot,
                    [
                        (FINDING_TAG, self.finding_tag.as_str()),
                        (SNAPSHOT_INSTANCE_TAG, self.request.instance_id.as_str()),
                        (SNAPSHOT_DEVICE_TAG, volume.device.as_str()),
                    ],
                ))
                .send()
                .await
                .map_err(|e| AwsError::from_sdk("ec2:CreateSnapshot", e))?;
            by_volume.insert(volume.id.clone(), required(out.snapshot_id(), "ec2:CreateSnapshot", "SnapshotId")?);
        }
        Ok(sorted(by_volume.into_values().collect()))
    }

    async fn terminate(&self) -> Result<()> {
        let instance_id = &self.request.instance_id;
        // Termination protection would refuse the terminate; the incident policy opted in.
        self.ec2
            .modify_instance_attribute()
            .instance_id(instance_id)
            .disable_api_termination(AttributeBooleanValue::builder().value(false).build())
            .send()
            .await
            .map_err(|e| AwsError::from_sdk("ec2:ModifyInstanceAttribute", e))?;
        self.ec2
            .terminate_instances()
            .instance_ids(instance_id)
            .send()
            .await
            .map_err(|e| AwsError::from_sdk("ec2:TerminateInstances", e))?;
        Ok(())
    }
}

fn instance_view(instance: &Instance) -> InstanceView {
    let vpc_id = instance.vpc_id().map(str::to_owned);
    let mut interfaces: Vec<(i32, Interface)> = instance
        .network_interfaces()
        .iter()
        .filter_map(|eni| {
            let id = eni.network_interface_id()?.to_owned();
            let vpc = eni.vpc_id().map(str::to_owned).or_else(|| vpc_id.clone())?;
            let groups = eni.groups().iter().filter_map(|g| g.group_id().map(str::to_owned)).collect();
            let index = eni.attachment().and_then(|a| a.device_index()).unwrap_or(i32::MAX);
            Some((index, Interface { id, vpc_id: vpc, groups }))
        })
        .collect();
    // Primary interface first, so the tag and the report read in attachment order.
    interfaces.sort_by_key(|(index, _)| *index);
    InstanceView {
        vpc_id,
        state: instance.state().and_then(|s| s.name()).cloned(),
        interfaces: interfaces.into_iter().map(|(_, i)| i).collect(),
        volumes: instance
            .block_device_mappings()
            .iter()
            .filter_map(|m| {
                Some(Volume {
                    id: m.ebs()?.volume_id()?.to_owned(),
                    device: m.device_name().unwrap_or_default().to_owned(),
                })
            })
            .collect(),
        tags: instance
            .tags()
            .iter()
            .filter_map(|t| Some((t.key()?.to_owned(), t.value().unwrap_or_default().to_owned())))
            .collect(),
    }
}

/// The finding id, or `sha256:<hex>` of it when it is longer than a tag value may be.
fn finding_tag_value(finding_id: &str) -> String {
    if finding_id.chars().count() <= TAG_VALUE_MAX_CHARS {
        finding_id.to_owned()
    } else {
        format!("sha256:{}", hex::encode(Sha256::digest(finding_id.as_bytes())))
    }
}

fn previous_groups_key(chunk_index: usize) -> String {
    match chunk_index {
        0 => PREVIOUS_GROUPS_TAG.to_owned(),
        n => format!("{PREVIOUS_GROUPS_TAG}:{}", n + 1),
    }
}

/// `eni-1=sg-a+sg-b;eni-2=sg-c`.
fn encode_previous_groups(previous: &[(String, Vec<String>)]) -> String {
    previous.iter().map(|(eni, groups)| format!("{eni}={}", groups.join("+"))).collect::<Vec<_>>().join(";")
}

fn decode_previous_groups(value: &str) -> Option<Vec<(String, Vec<String>)>> {
    value
        .split(';')
        .filter(|entry| !entry.is_empty())
        .map(|entry| {
            let (eni, groups) = entry.split_once('=')?;
            Some((eni.to_owned(), groups.split('+').filter(|g| !g.is_empty()).map(str::to_owned).collect()))
        })
        .collect()
}

/// The previous groups recorded on the instance by an earlier isolation (empty when none).
fn recorded_previous_groups(tags: &BTreeMap<String, String>) -> Result<Vec<(String, Vec<String>)>> {
    let value: String =
        (0..MAX_PREVIOUS_GROUPS_CHUNKS).map_while(|n| tags.get(&previous_groups_key(n))).map(String::as_str).collect();
    decode_previous_groups(&value).ok_or_else(|| {
        SoarError::Permanent(format!(
            "the instance's tag {PREVIOUS_GROUPS_TAG} is not in the form eni-1=sg-a+sg-b;eni-2=sg-c: {value:?}; \
             fix or remove it so the groups to restore are not guessed"
        ))
    })
}

/// Every previous group once, in interface order.
fn flatten(previous: &[(String, Vec<String>)]) -> Vec<String> {
    let mut seen = BTreeSet::new();
    previous.iter().flat_map(|(_, groups)| groups).filter(|g| seen.insert(g.as_str())).cloned().collect()
}

fn split_tag_value(value: &str) -> Vec<String> {
    let chars: Vec<char> = value.chars().collect();
    if chars.is_empty() {
        return vec![String::new()];
    }
    chars.chunks(TAG_VALUE_MAX_CHARS).map(|chunk| chunk.iter().collect()).collect()
}

fn sorted(mut ids: Vec<String>) -> Vec<String> {
    ids.sort();
    ids
}

fn truncate(text: &str, max_chars: usize) -> String {
    text.chars().take(max_chars).collect()
}

fn filter(name: &str, value: &str) -> Filter {
    Filter::builder().name(name).values(value).build()
}

fn tag_spec<'a>(resource: ResourceType, tags: impl IntoIterator<Item = (&'a str, &'a str)>) -> TagSpecification {
    tags.into_iter()
        .fold(TagSpecification::builder().resource_type(resource), |spec, (key, value)| {
            spec.tags(Tag::builder().key(key).value(value).build())
        })
        .build()
}

fn required(value: Option<&str>, operation: &str, field: &str) -> Result<String> {
    value
        .map(str::to_owned)
        .ok_or_else(|| SoarError::aws(ErrorClass::Transient, format!("{operation}: no {field} in the answer")))
}

fn too_many_pages(operation: &str, pages: usize) -> SoarError {
    SoarError::Permanent(format!("{operation}: still more pages after {pages}; giving up rather than looping"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn previous_groups_round_trip_through_chunked_tags() {
        let previous: Vec<(String, Vec<String>)> = (0..8)
            .map(|n| (format!("eni-{n:017x}"), (0..5).map(|g| format!("sg-{:017x}", n * 10 + g)).collect()))
            .collect();
        let encoded = encode_previous_groups(&previous);
        let chunks = split_tag_value(&encoded);
        assert!(chunks.len() > 1, "long enough to need continuation tags: {} chars", encoded.len());
        assert!(chunks.iter().all(|c| c.chars().count() <= TAG_VALUE_MAX_CHARS));
        let tags: BTreeMap<String, String> =
            chunks.into_iter().enumerate().map(|(n, c)| (previous_groups_key(n), c)).collect();
        assert!(tags.contains_key("secops:quarantine:previous-groups:2"));
        assert_eq!(recorded_previous_groups(&tags).unwrap(), previous);
    }

    #[test]
    fn no_tag_means_no_previous_groups_and_a_mangled_tag_is_refused() {
        assert_eq!(recorded_previous_groups(&BTreeMap::new()).unwrap(), vec![]);
        let tags = BTreeMap::from([(PREVIOUS_GROUPS_TAG.to_owned(), "sg-a,sg-b".to_owned())]);
        let err = recorded_previous_groups(&tags).unwrap_err().to_string();
        assert!(err.contains("sg-a,sg-b"), "{err}");
    }

    #[test]
    fn long_finding_ids_are_hashed_to_fit_a_tag() {
        assert_eq!(finding_tag_value("arn:aws:securityhub:x"), "arn:aws:securityhub:x");
        let long = "f".repeat(300);
        let value = finding_tag_value(&long);
        assert!(value.starts_with("sha256:") && value.len() == 7 + 64, "{value}");
        assert_eq!(value, finding_tag_value(&long));
    }

    #[test]
    fn flatten_keeps_interface_order_and_drops_repeats() {
        let previous = vec![
            ("eni-1".to_owned(), vec!["sg-b".to_owned(), "sg-a".to_owned()]),
            ("eni-2".to_owned(), vec!["sg-a".to_owned(), "sg-c".to_owned()]),
        ];
        assert_eq!(flatten(&previous), ["sg-b", "sg-a", "sg-c"]);
    }
}
