//! CloudTrail.1 — CloudTrail should be enabled and configured with at least one multi-Region trail
//! that includes read and write management events: create (or fix) the trail `secops-trail` into
//! the catalogue's log bucket and start it.

use async_trait::async_trait;
use aws_sdk_cloudtrail::types::{EventSelector, ReadWriteType, Trail};
use serde_json::{json, Value};

use crate::context::Ctx;
use crate::plan::{unplanned, Change};
use crate::spec::{Assessment, Check, Remediation, Spec, TestedWith};
use crate::support::aws;
use secops_aws::AwsError;

use super::s3_common::{execute_log_bucket, log_bucket_changes};

pub struct CloudTrail1;

pub(crate) const TRAIL: &str = "secops-trail";

static SPEC: Spec = Spec {
    control: "CloudTrail.1",
    title: "CloudTrail should be enabled and configured with at least one multi-Region trail that includes read and \
            write management events",
    change: "creates (or fixes) the multi-Region trail secops-trail logging all management events into the \
             catalogue's log bucket, and starts it",
    resource_types: &["AwsAccount"],
    actions: &[
        "cloudtrail:DescribeTrails",
        "cloudtrail:GetTrailStatus",
        "cloudtrail:GetEventSelectors",
        "cloudtrail:CreateTrail",
        "cloudtrail:UpdateTrail",
        "cloudtrail:PutEventSelectors",
        "cloudtrail:StartLogging",
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
    verification: "DescribeTrails, GetTrailStatus and GetEventSelectors show a logging multi-Region trail with all \
                   management events",
    exemption_tags: &[],
    tested_with: TestedWith::Moto,
};

/// What one trail does, as read.
struct TrailState {
    trail: Trail,
    logging: bool,
    management_all: bool,
    /// Selectors other than one plain management selector (data events, advanced selectors):
    /// rewriting them is a person's decision.
    custom_selectors: bool,
}

impl TrailState {
    fn complies(&self) -> bool {
        self.trail.is_multi_region_trail() == Some(true) && self.logging && self.management_all
    }

    fn describe(&self) -> String {
        format!(
            "{} (multi-Region {}, logging {}, all management events {})",
            self.trail.trail_arn().unwrap_or_default(),
            self.trail.is_multi_region_trail() == Some(true),
            self.logging,
            self.management_all
        )
    }
}

#[async_trait]
impl Remediation for CloudTrail1 {
    fn spec(&self) -> &'static Spec {
        &SPEC
    }

    fn name_of(&self, resource_id: &str, _details: Option<&Value>) -> Result<String, String> {
        crate::target::account_of(resource_id)
    }

    async fn plan(&self, ctx: &Ctx) -> Result<Assessment, AwsError> {
        let trails = trail_states(ctx).await?;
        if let Some(t) = trails.iter().find(|t| t.complies()) {
            return Ok(Assessment::Compliant(format!("trail {}", t.describe())));
        }
        let arn = ctx.target.arn("cloudtrail", &format!("trail/{TRAIL}"));
        let ours = trails.iter().find(|t| t.trail.name() == Some(TRAIL));
        let Some(ours) = ours else {
            let mut changes = log_bucket_changes(ctx).await?;
            changes.push(Change::new(
                "cloudtrail:CreateTrail",
                arn.clone(),
                json!({"Name": TRAIL, "S3BucketName": ctx.log_bucket(), "IsMultiRegionTrail": true,
                       "IncludeGlobalServiceEvents": true, "EnableLogFileValidation": true}),
                "no trail is multi-Region, logging and recording all management events",
            ));
            changes.push(selectors_change(&arn));
            changes.push(start_change(&arn));
            return Ok(Assessment::Changes(changes));
        };
        if ours.trail.home_region() != Some(ctx.region()) {
            return Ok(Assessment::Ticket(format!(
                "trail {TRAIL} exists with home region {} but does not comply ({}); fix it there",
                ours.trail.home_region().unwrap_or("unknown"),
                ours.describe()
            )));
        }
        let mut changes = Vec::new();
        if ours.trail.is_multi_region_trail() != Some(true) {
            changes.push(Change::new(
                "cloudtrail:UpdateTrail",
                arn.clone(),
                json!({"Name": TRAIL, "IsMultiRegionTrail": true, "IncludeGlobalServiceEvents": true}),
                "the catalogue's trail covers one region only",
            ));
        }
        if !ours.management_all {
            if ours.custom_selectors {
                return Ok(Assessment::Ticket(format!(
                    "trail {TRAIL} has data-event or advanced selectors but does not record all management events; \
                     add read and write management events to its selectors by hand"
                )));
            }
            changes.push(selectors_change(&arn));
        }
        if !ours.logging {
            changes.push(start_change(&arn));
        }
        Ok(Assessment::Changes(changes))
    }

    async fn execute(&self, ctx: &Ctx, change: &Change) -> Result<(), AwsError> {
        if let Some(done) = execute_log_bucket(ctx, change).await {
            return done;
        }
        let ct = ctx.cloudtrail();
        let flag = |key: &str| change.parameters.get(key).and_then(Value::as_bool);
        match change.action.as_str() {
            "cloudtrail:CreateTrail" => ct
                .create_trail()
                .name(change.text("Name")?)
                .s3_bucket_name(change.text("S3BucketName")?)
                .set_is_multi_region_trail(flag("IsMultiRegionTrail"))
                .set_include_global_service_events(flag("IncludeGlobalServiceEvents"))
                .set_enable_log_file_validation(flag("EnableLogFileValidation"))
                .send()
                .await
                .map(|_| ())
                .map_err(aws("cloudtrail:CreateTrail")),
            "cloudtrail:UpdateTrail" => ct
                .update_trail()
                .name(change.text("Name")?)
                .set_is_multi_region_trail(flag("IsMultiRegionTrail"))
                .set_include_global_service_events(flag("IncludeGlobalServiceEvents"))
                .send()
                .await
                .map(|_| ())
                .map_err(aws("cloudtrail:UpdateTrail")),
            "cloudtrail:PutEventSelectors" => {
                let selector = EventSelector::builder()
                    .read_write_type(ReadWriteType::All)
                    .include_management_events(flag("IncludeManagementEvents").unwrap_or(false))
                    .build();
                ct.put_event_selectors()
                    .trail_name(change.text("TrailName")?)
                    .event_selectors(selector)
                    .send()
                    .await
                    .map(|_| ())
                    .map_err(aws("cloudtrail:PutEventSelectors"))
            }
            "cloudtrail:StartLogging" => ct
                .start_logging()
                .name(change.text("Name")?)
                .send()
                .await
                .map(|_| ())
                .map_err(aws("cloudtrail:StartLogging")),
            _ => Err(unplanned(change)),
        }
    }

    async fn verify(&self, ctx: &Ctx) -> Result<Check, AwsError> {
        let trails = trail_states(ctx).await?;
        let text: Vec<String> = trails.iter().map(TrailState::describe).collect();
        let text = format!("trails: {}", if text.is_empty() { "none".into() } else { text.join("; ") });
        Ok(if trails.iter().any(TrailState::complies) { Check::Holds(text) } else { Check::Fails(text) })
    }
}

fn selectors_change(arn: &str) -> Change {
    Change::new(
        "cloudtrail:PutEventSelectors",
        arn,
        json!({"TrailName": TRAIL, "ReadWriteType": "All", "IncludeManagementEvents": true}),
        "record read and write management events",
    )
}

fn start_change(arn: &str) -> Change {
    Change::new("cloudtrail:StartLogging", arn, json!({"Name": TRAIL}), "the trail is not logging")
}

/// Every trail visible in this region (shadow copies of other regions' multi-Region trails too)
/// with its status and selectors. DescribeTrails is not paginated.
async fn trail_states(ctx: &Ctx) -> Result<Vec<TrailState>, AwsError> {
    let ct = ctx.cloudtrail();
    let out =
        ct.describe_trails().include_shadow_trails(true).send().await.map_err(aws("cloudtrail:DescribeTrails"))?;
    let mut states = Vec::new();
    for trail in out.trail_list() {
        let Some(arn) = trail.trail_arn() else { continue };
        let status = ct.get_trail_status().name(arn).send().await.map_err(aws("cloudtrail:GetTrailStatus"))?;
        let selectors =
            ct.get_event_selectors().trail_name(arn).send().await.map_err(aws("cloudtrail:GetEventSelectors"))?;
        let basic = selectors.event_selectors();
        let advanced = selectors.advanced_event_selectors();
        // A missing ReadWriteType means All (the API's default).
        let basic_all = basic.iter().any(|s| {
            s.include_management_events() == Some(true) && s.read_write_type().is_none_or(|t| *t == ReadWriteType::All)
        });
        // An advanced selector records all management events when it selects the Management
        // category and does not narrow it by readOnly.
        let advanced_all = advanced.iter().any(|s| {
            let fields = s.field_selectors();
            fields.iter().any(|f| f.field() == "eventCategory" && f.equals().iter().any(|v| v == "Management"))
                && !fields.iter().any(|f| f.field() == "readOnly")
        });
        let custom_selectors = !advanced.is_empty()
            || basic.len() > 1
            || basic.iter().any(|s| !s.data_resources().is_empty() || s.include_management_events() == Some(false));
        states.push(TrailState {
            trail: trail.clone(),
            logging: status.is_logging() == Some(true),
            management_all: basic_all || advanced_all,
            custom_selectors,
        });
    }
    Ok(states)
}
