//! Config.1 — AWS Config should be enabled and use the service-linked role for resource
//! recording: record all supported resources (global ones too) with the service-linked role,
//! deliver to the catalogue's log bucket, and start the recorder.

use async_trait::async_trait;
use aws_sdk_config::types::{ConfigurationRecorder, DeliveryChannel, RecordingGroup};
use serde_json::{json, Value};

use crate::context::Ctx;
use crate::plan::{unplanned, Change};
use crate::spec::{Assessment, Check, Remediation, Spec, TestedWith};
use crate::support::aws;
use secops_aws::AwsError;

use super::s3_common::{execute_log_bucket, log_bucket_changes};
use crate::support::{too_many_pages, MAX_PAGES};

pub struct Config1;

const SLR_PATH: &str = "/aws-service-role/config.amazonaws.com/";
const SLR_NAME: &str = "AWSServiceRoleForConfig";

static SPEC: Spec = Spec {
    control: "Config.1",
    title: "AWS Config should be enabled and use the service-linked role for resource recording",
    change: "records all supported resources (global ones too) with the service-linked role AWSServiceRoleForConfig, \
             delivers to the catalogue's log bucket and starts the recorder, creating what is missing",
    resource_types: &["AwsAccount"],
    actions: &[
        "config:DescribeConfigurationRecorders",
        "config:DescribeConfigurationRecorderStatus",
        "config:DescribeDeliveryChannels",
        "config:PutConfigurationRecorder",
        "config:PutDeliveryChannel",
        "config:StartConfigurationRecorder",
        "iam:ListRoles",
        "iam:CreateServiceLinkedRole",
        "iam:PassRole",
        "s3:ListBucket",
        "s3:CreateBucket",
        "s3:GetBucketOwnershipControls",
        "s3:PutBucketOwnershipControls",
        "s3:GetBucketPublicAccessBlock",
        "s3:PutBucketPublicAccessBlock",
        "s3:GetEncryptionConfiguration",
        "s3:PutEncryptionConfiguration",
        "s3:GetBucketVersioning",
        "s3:PutBucketVersioning",
        "s3:GetBucketPolicy",
        "s3:PutBucketPolicy",
    ],
    disruptive: false,
    verification: "the recorder records all supported and global resources with the service-linked role, is \
                   recording, and a delivery channel exists",
    exemption_tags: &[],
    tested_with: TestedWith::Moto,
};

/// AWS Config's state in the region, as read.
struct State {
    recorder: Option<ConfigurationRecorder>,
    recording: bool,
    channel: Option<DeliveryChannel>,
    /// The service-linked role's ARN when it exists.
    role: Option<String>,
}

impl State {
    fn records_all(&self, role_arn: &str) -> bool {
        self.recorder.as_ref().is_some_and(|r| {
            r.recording_group().is_some_and(|g| g.all_supported() && g.include_global_resource_types())
                && r.role_arn().is_some_and(|a| a.eq_ignore_ascii_case(role_arn))
        })
    }

    fn describe(&self) -> String {
        let group = self.recorder.as_ref().and_then(|r| r.recording_group());
        format!(
            "recorder {} (all supported {}, global {}, role {}), recording {}, delivery channel {}",
            self.recorder.as_ref().and_then(|r| r.name()).unwrap_or("none"),
            group.is_some_and(|g| g.all_supported()),
            group.is_some_and(|g| g.include_global_resource_types()),
            self.recorder.as_ref().and_then(|r| r.role_arn()).unwrap_or("none"),
            self.recording,
            self.channel.as_ref().and_then(|c| c.name()).unwrap_or("none"),
        )
    }
}

#[async_trait]
impl Remediation for Config1 {
    fn spec(&self) -> &'static Spec {
        &SPEC
    }

    fn name_of(&self, resource_id: &str, _details: Option<&Value>) -> Result<String, String> {
        crate::target::account_of(resource_id)
    }

    async fn plan(&self, ctx: &Ctx) -> Result<Assessment, AwsError> {
        let state = read(ctx).await?;
        let role_arn = state.role.clone().unwrap_or_else(|| expected_role_arn(ctx));
        if state.records_all(&role_arn) && state.recording && state.channel.is_some() {
            return Ok(Assessment::Compliant(state.describe()));
        }
        let recorder_name = state.recorder.as_ref().and_then(|r| r.name()).unwrap_or("default").to_owned();
        // A Control Tower landing zone owns its recorder: changing it here would be drift that
        // Control Tower reverts (or flags), so the fix belongs in Control Tower.
        let role_name = state.recorder.as_ref().and_then(|r| r.role_arn()).unwrap_or_default();
        if recorder_name.starts_with("aws-controltower") || role_name.contains("aws-controltower") {
            return Ok(Assessment::Ticket(format!(
                "AWS Config is managed by AWS Control Tower here ({}); fix it in Control Tower, not in the account",
                state.describe()
            )));
        }
        let recorder_arn = ctx.target.arn("config", &format!("config-recorder/{recorder_name}"));
        let mut changes = Vec::new();
        if state.role.is_none() {
            changes.push(Change::new(
                "iam:CreateServiceLinkedRole",
                role_arn.clone(),
                json!({"AWSServiceName": "config.amazonaws.com"}),
                "AWS Config's service-linked role does not exist yet",
            ));
        }
        if state.channel.is_none() {
            changes.extend(log_bucket_changes(ctx).await?);
        }
        if !state.records_all(&role_arn) {
            changes.push(Change::new(
                "config:PutConfigurationRecorder",
                recorder_arn.clone(),
                json!({"Name": recorder_name, "RoleARN": role_arn, "AllSupported": true, "IncludeGlobalResourceTypes": true}),
                format!("now {}", state.describe()),
            ));
        }
        if state.channel.is_none() {
            changes.push(Change::new(
                "config:PutDeliveryChannel",
                ctx.target.arn("config", "delivery-channel/default"),
                json!({"Name": "default", "S3BucketName": ctx.log_bucket()}),
                "AWS Config has no delivery channel",
            ));
        }
        if !state.recording {
            changes.push(Change::new(
                "config:StartConfigurationRecorder",
                recorder_arn,
                json!({"ConfigurationRecorderName": recorder_name}),
                "the recorder is not recording",
            ));
        }
        Ok(Assessment::Changes(changes))
    }

    async fn execute(&self, ctx: &Ctx, change: &Change) -> Result<(), AwsError> {
        if let Some(done) = execute_log_bucket(ctx, change).await {
            return done;
        }
        let config = ctx.config_service();
        match change.action.as_str() {
            "iam:CreateServiceLinkedRole" => ctx
                .iam()
                .create_service_linked_role()
                .aws_service_name(change.text("AWSServiceName")?)
                .send()
                .await
                .map(|_| ())
                .map_err(aws("iam:CreateServiceLinkedRole")),
            "config:PutConfigurationRecorder" => {
                let flag = |key: &str| change.parameters.get(key).and_then(Value::as_bool).unwrap_or(false);
                let group = RecordingGroup::builder()
                    .all_supported(flag("AllSupported"))
                    .include_global_resource_types(flag("IncludeGlobalResourceTypes"))
                    .build();
                let recorder = ConfigurationRecorder::builder()
                    .name(change.text("Name")?)
                    .role_arn(change.text("RoleARN")?)
                    .recording_group(group)
                    .build();
                config
                    .put_configuration_recorder()
                    .configuration_recorder(recorder)
                    .send()
                    .await
                    .map(|_| ())
                    .map_err(aws("config:PutConfigurationRecorder"))
            }
            "config:PutDeliveryChannel" => {
                let channel = DeliveryChannel::builder()
                    .name(change.text("Name")?)
                    .s3_bucket_name(change.text("S3BucketName")?)
                    .build();
                config
                    .put_delivery_channel()
                    .delivery_channel(channel)
                    .send()
                    .await
                    .map(|_| ())
                    .map_err(aws("config:PutDeliveryChannel"))
            }
            "config:StartConfigurationRecorder" => config
                .start_configuration_recorder()
                .configuration_recorder_name(change.text("ConfigurationRecorderName")?)
                .send()
                .await
                .map(|_| ())
                .map_err(aws("config:StartConfigurationRecorder")),
            _ => Err(unplanned(change)),
        }
    }

    async fn verify(&self, ctx: &Ctx) -> Result<Check, AwsError> {
        let state = read(ctx).await?;
        let holds =
            state.role.as_deref().is_some_and(|r| state.records_all(r)) && state.recording && state.channel.is_some();
        Ok(if holds { Check::Holds(state.describe()) } else { Check::Fails(state.describe()) })
    }
}

fn expected_role_arn(ctx: &Ctx) -> String {
    format!("arn:{}:iam::{}:role{SLR_PATH}{SLR_NAME}", ctx.target.partition, ctx.account())
}

async fn read(ctx: &Ctx) -> Result<State, AwsError> {
    let config = ctx.config_service();
    let recorders =
        config.describe_configuration_recorders().send().await.map_err(aws("config:DescribeConfigurationRecorders"))?;
    // One customer-managed recorder per region.
    let recorder = recorders.configuration_recorders().first().cloned();
    let recording = match recorder.as_ref().and_then(|r| r.name()) {
        None => false,
        Some(name) => config
            .describe_configuration_recorder_status()
            .configuration_recorder_names(name)
            .send()
            .await
            .map_err(aws("config:DescribeConfigurationRecorderStatus"))?
            .configuration_recorders_status()
            .iter()
            .any(|s| s.recording()),
    };
    let channels = config.describe_delivery_channels().send().await.map_err(aws("config:DescribeDeliveryChannels"))?;
    Ok(State { recorder, recording, channel: channels.delivery_channels().first().cloned(), role: slr_arn(ctx).await? })
}

/// The service-linked role's ARN, found by its path (IAM role names compare case-insensitively).
async fn slr_arn(ctx: &Ctx) -> Result<Option<String>, AwsError> {
    let mut marker: Option<String> = None;
    for _ in 0..MAX_PAGES {
        let out = ctx
            .iam()
            .list_roles()
            .path_prefix(SLR_PATH)
            .set_marker(marker.take())
            .send()
            .await
            .map_err(aws("iam:ListRoles"))?;
        if let Some(role) = out.roles().iter().find(|r| r.role_name().eq_ignore_ascii_case(SLR_NAME)) {
            return Ok(Some(role.arn().to_owned()));
        }
        match out.marker() {
            Some(m) if out.is_truncated() => marker = Some(m.to_owned()),
            _ => return Ok(None),
        }
    }
    Err(too_many_pages("iam:ListRoles"))
}
