//! EC2 isolation against moto_server, and the plan-only adapter.
//!
//! Instances are launched with their groups on the network interfaces (not `SecurityGroupIds`):
//! moto keeps launch-time `SecurityGroupIds` on the instance and adds them to every interface's
//! groups forever, which AWS does not do (an instance's groups are its interfaces' groups).

use std::collections::{BTreeMap, BTreeSet};

use aws_sdk_ec2::types::{
    AttributeBooleanValue, BlockDeviceMapping, EbsBlockDevice, Filter, InstanceNetworkInterfaceSpecification,
    InstanceStateName, IpPermission, IpRange,
};
use aws_sdk_ec2::Client;
use secops_aws::testing::MotoServer;
use secops_aws::{load_sdk_config, AssumeRoleCache, AwsSettings, RoleRequest};
use secops_core::ErrorClass;
use secops_soar::quarantine::ec2::{
    Ec2Quarantine, PREVIOUS_GROUPS_TAG, QUARANTINE_GROUP_TAG, SNAPSHOT_DEVICE_TAG, SNAPSHOT_INSTANCE_TAG,
};
use secops_soar::quarantine::plan::PlanOnlyQuarantine;
use secops_soar::quarantine::{IsolationRequest, Quarantine, FINDING_TAG};

const REGION: &str = "eu-west-1";
const ACCOUNT: &str = "123456789012";
const IMAGE: &str = "ami-0123456789abcdef0";

/// A VPC with a subnet and two groups, `web` and `admin`.
struct Lab {
    _moto: MotoServer,
    config: aws_config::SdkConfig,
    ec2: Client,
    vpc: String,
    subnet: String,
    web: String,
    admin: String,
}

async fn lab() -> Lab {
    let moto = MotoServer::start();
    let config = load_sdk_config(&AwsSettings::for_endpoint(&moto.endpoint, REGION)).await;
    let (ec2, vpc, subnet, web, admin) = network(&config).await;
    Lab { _moto: moto, config, ec2, vpc, subnet, web, admin }
}

async fn network(config: &aws_config::SdkConfig) -> (Client, String, String, String, String) {
    let ec2 = Client::new(config);
    let vpc =
        ec2.create_vpc().cidr_block("10.0.0.0/16").send().await.unwrap().vpc().unwrap().vpc_id().unwrap().to_owned();
    let subnet = ec2
        .create_subnet()
        .vpc_id(&vpc)
        .cidr_block("10.0.1.0/24")
        .send()
        .await
        .unwrap()
        .subnet()
        .unwrap()
        .subnet_id()
        .unwrap()
        .to_owned();
    let group = |name: &'static str| {
        let (ec2, vpc) = (ec2.clone(), vpc.clone());
        async move {
            let out = ec2.create_security_group().group_name(name).description(name).vpc_id(vpc).send().await.unwrap();
            out.group_id().unwrap().to_owned()
        }
    };
    let (web, admin) = (group("web").await, group("admin").await);
    (ec2, vpc, subnet, web, admin)
}

impl Lab {
    /// An instance with one interface per entry of `interfaces` (its groups) and one EBS volume
    /// per device name.
    async fn launch(&self, interfaces: &[&[&str]], devices: &[&str], protected: bool) -> String {
        launch(&self.ec2, &self.subnet, interfaces, devices, protected).await
    }

    fn request(&self, instance_id: &str, finding_id: &str, terminate: bool) -> IsolationRequest {
        IsolationRequest {
            account_id: ACCOUNT.into(),
            region: REGION.into(),
            instance_id: instance_id.into(),
            finding_id: finding_id.into(),
            terminate,
        }
    }

    async fn instance(&self, instance_id: &str) -> aws_sdk_ec2::types::Instance {
        let out = self.ec2.describe_instances().instance_ids(instance_id).send().await.unwrap();
        out.reservations()[0].instances()[0].clone()
    }

    /// Each interface's group ids, primary first.
    async fn interface_groups(&self, instance_id: &str) -> Vec<BTreeSet<String>> {
        let mut interfaces: Vec<_> = self
            .instance(instance_id)
            .await
            .network_interfaces()
            .iter()
            .map(|eni| {
                let index = eni.attachment().unwrap().device_index().unwrap();
                (index, eni.groups().iter().map(|g| g.group_id().unwrap().to_owned()).collect())
            })
            .collect();
        interfaces.sort_by_key(|(index, _)| *index);
        interfaces.into_iter().map(|(_, groups)| groups).collect()
    }

    async fn interface_ids(&self, instance_id: &str) -> Vec<String> {
        let mut interfaces: Vec<_> = self
            .instance(instance_id)
            .await
            .network_interfaces()
            .iter()
            .map(|eni| {
                (eni.attachment().unwrap().device_index().unwrap(), eni.network_interface_id().unwrap().to_owned())
            })
            .collect();
        interfaces.sort();
        interfaces.into_iter().map(|(_, id)| id).collect()
    }

    async fn tags(&self, instance_id: &str) -> BTreeMap<String, String> {
        let instance = self.instance(instance_id).await;
        instance.tags().iter().map(|t| (t.key().unwrap().to_owned(), t.value().unwrap().to_owned())).collect()
    }

    async fn quarantine_groups(&self) -> Vec<aws_sdk_ec2::types::SecurityGroup> {
        let out = self
            .ec2
            .describe_security_groups()
            .filters(Filter::builder().name("vpc-id").values(&self.vpc).build())
            .filters(Filter::builder().name(format!("tag:{QUARANTINE_GROUP_TAG}")).values("true").build())
            .send()
            .await
            .unwrap();
        out.security_groups().to_vec()
    }

    /// Snapshots carrying the finding tag, by snapshot id.
    async fn snapshots_of(&self, finding_id: &str) -> BTreeMap<String, aws_sdk_ec2::types::Snapshot> {
        let out = self
            .ec2
            .describe_snapshots()
            .owner_ids("self")
            .filters(Filter::builder().name(format!("tag:{FINDING_TAG}")).values(finding_id).build())
            .send()
            .await
            .unwrap();
        out.snapshots().iter().map(|s| (s.snapshot_id().unwrap().to_owned(), s.clone())).collect()
    }

    /// All snapshots the account owns (moto's images come with some).
    async fn snapshot_count(&self) -> usize {
        self.ec2.describe_snapshots().owner_ids("self").send().await.unwrap().snapshots().len()
    }
}

async fn launch(ec2: &Client, subnet: &str, interfaces: &[&[&str]], devices: &[&str], protected: bool) -> String {
    let mut run = ec2.run_instances().image_id(IMAGE).min_count(1).max_count(1);
    for (index, groups) in interfaces.iter().enumerate() {
        let spec = groups.iter().fold(
            InstanceNetworkInterfaceSpecification::builder().device_index(index as i32).subnet_id(subnet),
            |spec, group| spec.groups(*group),
        );
        run = run.network_interfaces(spec.build());
    }
    for device in devices {
        run = run.block_device_mappings(
            BlockDeviceMapping::builder()
                .device_name(*device)
                .ebs(EbsBlockDevice::builder().volume_size(8).build())
                .build(),
        );
    }
    let instance = run.send().await.unwrap().instances()[0].instance_id().unwrap().to_owned();
    if protected {
        // moto ignores DisableApiTermination on RunInstances, so protect after the launch.
        ec2.modify_instance_attribute()
            .instance_id(&instance)
            .disable_api_termination(AttributeBooleanValue::builder().value(true).build())
            .send()
            .await
            .unwrap();
    }
    instance
}

fn tag<'a>(tags: &'a [aws_sdk_ec2::types::Tag], key: &str) -> Option<&'a str> {
    tags.iter().find(|t| t.key() == Some(key)).and_then(|t| t.value())
}

#[tokio::test]
async fn isolation_moves_every_interface_into_an_empty_quarantine_group_and_snapshots_every_volume() {
    let lab = lab().await;
    let instance = lab.launch(&[&[&lab.web, &lab.admin], &[&lab.admin]], &["/dev/sdf", "/dev/sdg"], false).await;
    let volumes: BTreeMap<String, String> = lab
        .instance(&instance)
        .await
        .block_device_mappings()
        .iter()
        .map(|m| (m.ebs().unwrap().volume_id().unwrap().to_owned(), m.device_name().unwrap().to_owned()))
        .collect();
    assert_eq!(volumes.len(), 2);
    let quarantine = Ec2Quarantine::direct(&lab.config);

    let report = quarantine.isolate(&lab.request(&instance, "finding-1", false)).await.unwrap();
    let group = report.quarantine_group_id.clone();
    assert!(group.starts_with("sg-") && group != lab.web && group != lab.admin, "{report:?}");
    assert_eq!(report.instance_id, instance);
    assert_eq!(report.vpc_id.as_deref(), Some(lab.vpc.as_str()));
    assert_eq!(report.previous_groups, [lab.web.clone(), lab.admin.clone()]);
    assert_eq!((report.terminated, report.plan_only), (false, false));

    // Every interface has the quarantine group alone.
    let only_quarantine = BTreeSet::from([group.clone()]);
    assert_eq!(lab.interface_groups(&instance).await, [only_quarantine.clone(), only_quarantine]);

    // The group allows nothing either way, and is the VPC's tagged quarantine group.
    let groups = lab.quarantine_groups().await;
    assert_eq!(groups.len(), 1);
    assert_eq!(groups[0].group_id(), Some(group.as_str()));
    assert_eq!(groups[0].group_name(), Some(format!("secops-quarantine-{}", lab.vpc).as_str()));
    assert!(groups[0].ip_permissions().is_empty(), "{:?}", groups[0].ip_permissions());
    assert!(groups[0].ip_permissions_egress().is_empty(), "{:?}", groups[0].ip_permissions_egress());

    // One snapshot per volume, tagged with the finding, the instance and the device.
    let snapshots = lab.snapshots_of("finding-1").await;
    assert_eq!(snapshots.keys().cloned().collect::<Vec<_>>(), report.snapshot_ids);
    let snapshotted: BTreeMap<String, String> = snapshots
        .values()
        .map(|s| {
            assert_eq!(tag(s.tags(), SNAPSHOT_INSTANCE_TAG), Some(instance.as_str()));
            assert!(s.description().unwrap().contains("finding-1"), "{:?}", s.description());
            (s.volume_id().unwrap().to_owned(), tag(s.tags(), SNAPSHOT_DEVICE_TAG).unwrap().to_owned())
        })
        .collect();
    assert_eq!(snapshotted, volumes);

    // The instance records the finding and, per interface, the groups to restore.
    let tags = lab.tags(&instance).await;
    let enis = lab.interface_ids(&instance).await;
    assert_eq!(tags.get(FINDING_TAG).map(String::as_str), Some("finding-1"));
    assert_eq!(
        tags.get(PREVIOUS_GROUPS_TAG),
        Some(&format!("{}={}+{};{}={}", enis[0], lab.web, lab.admin, enis[1], lab.admin))
    );

    // A replay changes nothing and answers the same.
    let snapshots_before = lab.snapshot_count().await;
    let replay = quarantine.isolate(&lab.request(&instance, "finding-1", false)).await.unwrap();
    assert_eq!(replay, report);
    assert_eq!(lab.snapshot_count().await, snapshots_before, "no new snapshot");
    assert_eq!(lab.tags(&instance).await, tags);
}

#[tokio::test]
async fn instances_in_one_vpc_share_one_quarantine_group_even_when_isolated_at_once() {
    let lab = lab().await;
    let first = lab.launch(&[&[&lab.web]], &["/dev/sdf"], false).await;
    let second = lab.launch(&[&[&lab.admin]], &[], false).await;
    let quarantine = Ec2Quarantine::direct(&lab.config);
    let (request_a, request_b) = (lab.request(&first, "finding-a", false), lab.request(&second, "finding-b", false));
    let (a, b) = tokio::join!(quarantine.isolate(&request_a), quarantine.isolate(&request_b));
    let (a, b) = (a.unwrap(), b.unwrap());
    assert_eq!(a.quarantine_group_id, b.quarantine_group_id);
    assert_eq!(lab.quarantine_groups().await.len(), 1);
    assert_eq!(b.previous_groups, [lab.admin.as_str()]);
    // Launched without mappings, moto gives the instance its image's root volume.
    let root_volumes = lab.instance(&second).await.block_device_mappings().len();
    assert_eq!(b.snapshot_ids.len(), root_volumes);

    // Someone opens the quarantine group; the next isolation closes it again.
    lab.ec2
        .authorize_security_group_ingress()
        .group_id(&a.quarantine_group_id)
        .ip_permissions(
            IpPermission::builder()
                .ip_protocol("tcp")
                .from_port(22)
                .to_port(22)
                .ip_ranges(IpRange::builder().cidr_ip("10.0.0.0/8").build())
                .build(),
        )
        .send()
        .await
        .unwrap();
    let third = lab.launch(&[&[&lab.web]], &[], false).await;
    let c = quarantine.isolate(&lab.request(&third, "finding-c", false)).await.unwrap();
    assert_eq!(c.quarantine_group_id, a.quarantine_group_id);
    let groups = lab.quarantine_groups().await;
    assert!(groups[0].ip_permissions().is_empty() && groups[0].ip_permissions_egress().is_empty(), "{groups:?}");
}

#[tokio::test]
async fn a_new_finding_on_a_quarantined_instance_keeps_the_groups_from_before_the_first() {
    let lab = lab().await;
    let instance = lab.launch(&[&[&lab.web, &lab.admin]], &["/dev/sdf"], false).await;
    let quarantine = Ec2Quarantine::direct(&lab.config);
    let first = quarantine.isolate(&lab.request(&instance, "finding-1", false)).await.unwrap();
    let second = quarantine.isolate(&lab.request(&instance, "finding-2", false)).await.unwrap();
    assert_eq!(second.previous_groups, [lab.web.clone(), lab.admin.clone()], "not the quarantine group");
    assert_eq!(second.quarantine_group_id, first.quarantine_group_id);
    assert_eq!(lab.tags(&instance).await.get(FINDING_TAG).map(String::as_str), Some("finding-2"));
    assert_eq!(second.snapshot_ids.len(), 1);
    assert_ne!(second.snapshot_ids, first.snapshot_ids, "the new finding gets its own snapshot");
    assert_eq!(lab.snapshots_of("finding-1").await.len(), 1);
}

#[tokio::test]
async fn terminate_clears_termination_protection_then_terminates_and_a_replay_reports_the_same() {
    let lab = lab().await;
    let instance = lab.launch(&[&[&lab.web]], &["/dev/sdf"], true).await;
    let refused = lab.ec2.terminate_instances().instance_ids(&instance).send().await.unwrap_err();
    assert_eq!(refused.into_service_error().meta().code(), Some("OperationNotPermitted"), "protected");
    let quarantine = Ec2Quarantine::direct(&lab.config);
    let report = quarantine.isolate(&lab.request(&instance, "finding-t", true)).await.unwrap();
    assert!(report.terminated);
    assert_eq!(report.snapshot_ids.len(), 1, "snapshots come before termination");
    let state = lab.instance(&instance).await.state().unwrap().name().unwrap().clone();
    assert!(matches!(state, InstanceStateName::ShuttingDown | InstanceStateName::Terminated), "{state:?}");

    let snapshots_before = lab.snapshot_count().await;
    let replay = quarantine.isolate(&lab.request(&instance, "finding-t", true)).await.unwrap();
    assert_eq!(replay, report);
    assert_eq!(lab.snapshot_count().await, snapshots_before);

    // Terminated, but not by us for this finding: nothing to isolate.
    let err = quarantine.isolate(&lab.request(&instance, "another-finding", false)).await.unwrap_err();
    assert_eq!(err.class(), ErrorClass::Permanent, "{err}");
    assert!(err.to_string().contains(&instance), "{err}");
}

#[tokio::test]
async fn termination_protection_stays_when_termination_is_not_requested() {
    let lab = lab().await;
    let instance = lab.launch(&[&[&lab.web]], &[], true).await;
    let report = Ec2Quarantine::direct(&lab.config).isolate(&lab.request(&instance, "f", false)).await.unwrap();
    assert!(!report.terminated);
    let out = lab.ec2.describe_instance_attribute().instance_id(&instance).attribute("disableApiTermination".into());
    let protected = out.send().await.unwrap().disable_api_termination().and_then(AttributeBooleanValue::value);
    assert_eq!(protected, Some(true));
    assert_eq!(lab.instance(&instance).await.state().unwrap().name(), Some(&InstanceStateName::Running));
}

#[tokio::test]
async fn an_unknown_instance_is_a_permanent_error_naming_it() {
    let lab = lab().await;
    let err =
        Ec2Quarantine::direct(&lab.config).isolate(&lab.request("i-0123456789abcdef0", "f", false)).await.unwrap_err();
    assert_eq!(err.class(), ErrorClass::Permanent, "{err}");
    assert!(err.to_string().contains("i-0123456789abcdef0"), "{err}");
    assert!(lab.quarantine_groups().await.is_empty(), "nothing created for a missing instance");
}

#[tokio::test]
async fn the_member_role_isolates_in_the_request_account() {
    // moto switches to the role's account on the assumed credentials, as AWS does.
    let moto = MotoServer::start();
    let base = load_sdk_config(&AwsSettings::for_endpoint(&moto.endpoint, REGION)).await;
    let member = "210987654321";
    let member_config = AssumeRoleCache::new(&base, "test-setup")
        .config_for(&RoleRequest::new(member, "SecOpsQuarantine", REGION))
        .await
        .unwrap();
    let (ec2, _vpc, subnet, web, _admin) = network(&member_config).await;
    let instance = launch(&ec2, &subnet, &[&[&web]], &[], false).await;
    let request = IsolationRequest {
        account_id: member.into(),
        region: REGION.into(),
        instance_id: instance.clone(),
        finding_id: "finding-m".into(),
        terminate: false,
    };

    // The caller's own account has no such instance.
    let err = Ec2Quarantine::direct(&base).isolate(&request).await.unwrap_err();
    assert_eq!(err.class(), ErrorClass::Permanent, "{err}");

    let report = Ec2Quarantine::new(&base, "SecOpsQuarantine").isolate(&request).await.unwrap();
    assert_eq!(report.previous_groups, [web]);
    let out = ec2.describe_instances().instance_ids(&instance).send().await.unwrap();
    let eni = &out.reservations()[0].instances()[0].network_interfaces()[0];
    let groups: Vec<_> = eni.groups().iter().map(|g| g.group_id().unwrap()).collect();
    assert_eq!(groups, [report.quarantine_group_id.as_str()]);
}

#[tokio::test]
async fn plan_only_writes_one_line_per_request_and_changes_nothing() {
    let lab = lab().await;
    let instance = lab.launch(&[&[&lab.web]], &["/dev/sdf"], false).await;
    let snapshots_before = lab.snapshot_count().await;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("plans/nested/isolation.jsonl");
    let plan = PlanOnlyQuarantine::new(path.clone());

    let report = plan.isolate(&lab.request(&instance, "finding-p", true)).await.unwrap();
    assert!(report.plan_only);
    assert_eq!(report.instance_id, instance);
    assert_eq!(report.quarantine_group_id, "planned");
    assert!(report.previous_groups.is_empty() && report.snapshot_ids.is_empty() && !report.terminated);

    // Concurrent plans: whole lines, none lost.
    let requests: Vec<_> =
        (0..24).map(|n| lab.request(&format!("i-{n:017x}"), &format!("finding-{n}"), false)).collect();
    let results = futures::future::join_all(requests.iter().map(|r| plan.isolate(r))).await;
    assert!(results.iter().all(Result::is_ok));

    let text = std::fs::read_to_string(&path).unwrap();
    let lines: Vec<serde_json::Value> = text.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(lines.len(), 25);
    assert_eq!(lines[0]["request"]["instance_id"], instance.as_str());
    assert_eq!(lines[0]["request"]["terminate"], true);
    let steps: Vec<&str> = lines[0]["steps"].as_array().unwrap().iter().map(|s| s.as_str().unwrap()).collect();
    assert!(steps.iter().any(|s| s.contains("quarantine") && s.contains("security group")), "{steps:?}");
    assert!(steps.iter().any(|s| s.contains("snapshot")), "{steps:?}");
    assert!(steps.last().unwrap().contains("terminate"), "{steps:?}");
    let planned: BTreeSet<&str> = lines[1..].iter().map(|l| l["request"]["finding_id"].as_str().unwrap()).collect();
    assert_eq!(planned.len(), 24);

    // Nothing happened in EC2.
    assert_eq!(lab.interface_groups(&instance).await, [BTreeSet::from([lab.web.clone()])]);
    assert!(lab.quarantine_groups().await.is_empty());
    assert_eq!(lab.snapshot_count().await, snapshots_before);
    assert!(!lab.tags(&instance).await.contains_key(FINDING_TAG));
}
