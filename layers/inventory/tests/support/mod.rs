//! Small hand-made offline folders: exactly the records a test is about, nothing else.

#![allow(dead_code)]

use serde_json::{json, Value};
use std::path::{Path, PathBuf};

pub const ACCOUNT_A: &str = "111111111111";
pub const ACCOUNT_B: &str = "222222222222";
pub const REGION: &str = "us-east-1";

/// A folder being written.
pub struct Folder {
    pub dir: tempfile::TempDir,
}

impl Folder {
    pub fn new() -> Folder {
        Folder { dir: tempfile::tempdir().unwrap() }
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// Write `value` at `aws/<account>/<region>/<file>.json` (or any relative path).
    pub fn write(&self, relative: &str, value: &Value) -> PathBuf {
        let path = self.dir.path().join(relative);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, serde_json::to_vec_pretty(value).unwrap()).unwrap();
        path
    }

    pub fn aws(&self, account: &str, region: &str, file: &str, value: &Value) -> PathBuf {
        self.write(&format!("aws/{account}/{region}/{file}.json"), value)
    }
}

/// One EC2 instance as DescribeInstances prints it.
pub fn instance(id: &str, state: &str, ip: &str, vpc: &str, launched: &str, tags: &[(&str, &str)]) -> Value {
    json!({
        "InstanceId": id,
        "InstanceType": "m6i.large",
        "State": {"Code": 16, "Name": state},
        "PrivateIpAddress": ip,
        "VpcId": vpc,
        "SubnetId": format!("subnet-{vpc}"),
        "LaunchTime": launched,
        "ImageId": "ami-0abcdef1234567890",
        "PlatformDetails": "Linux/UNIX",
        "SecurityGroups": [{"GroupId": format!("sg-{id}"), "GroupName": "app"}],
        "NetworkInterfaces": [{"PrivateIpAddresses": [{"PrivateIpAddress": ip, "Primary": true}]}],
        "Tags": tags.iter().map(|(k, v)| json!({"Key": k, "Value": v})).collect::<Vec<_>>(),
    })
}

pub fn describe_instances(instances: Vec<Value>) -> Value {
    json!({"Reservations": [{"ReservationId": "r-0123456789abcdef0", "OwnerId": ACCOUNT_A, "Instances": instances}]})
}

/// One Falcon host entity as `/devices/entities/devices/v2` returns it.
pub fn falcon_host(
    device: &str,
    instance: Option<&str>,
    ip: Option<&str>,
    account: Option<&str>,
    last_seen: &str,
) -> Value {
    let mut host = json!({
        "device_id": device,
        "cid": "0123456789abcdef0123456789abcdef",
        "hostname": format!("ip-{}", ip.unwrap_or("none").replace('.', "-")),
        "agent_version": "7.18.19106.0",
        "platform_name": "Linux",
        "os_version": "Amazon Linux 2023",
        "service_provider": "AWS_EC2_V2",
        "zone_group": "us-east-1a",
        "first_seen": "2026-01-01T00:00:00Z",
        "last_seen": last_seen,
        "status": "normal",
        "tags": ["SensorGroupingTags/prod"],
    });
    if let Some(i) = instance {
        host["instance_id"] = json!(i);
    }
    if let Some(ip) = ip {
        host["local_ip"] = json!(ip);
    }
    if let Some(a) = account {
        host["service_provider_account_id"] = json!(a);
    }
    host
}

pub fn falcon_page(hosts: Vec<Value>) -> Value {
    json!({"meta": {"query_time": 0.01, "powered_by": "device-api", "trace_id": "00000000-0000-4000-8000-000000000000"},
           "resources": hosts, "errors": []})
}
