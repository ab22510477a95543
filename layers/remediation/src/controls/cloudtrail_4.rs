//! CloudTrail.4 — CloudTrail log file validation should be enabled: turn it on for the trail.

use async_trait::async_trait;
use serde_json::json;
use std::collections::BTreeMap;

use crate::context::Ctx;
use crate::plan::{unplanned, Change};
use crate::spec::{Assessment, Check, Remediation, Spec, TestedWith};
use crate::support::aws;
use secops_aws::AwsError;

use super::cloudtrail_common::{get_trail, trail_arn, trail_name_of, trail_tags};

pub struct CloudTrail4;

static SPEC: Spec = Spec {
    control: "CloudTrail.4",
    title: "CloudTrail log file validation should be enabled",
    change: "turns on log file validation (signed digest files) for the trail",
    resource_types: &["AwsCloudTrailTrail"],
    actions: &["cloudtrail:GetTrail", "cloudtrail:ListTags", "cloudtrail:UpdateTrail"],
    disruptive: false,
    verification: "GetTrail shows LogFileValidationEnabled true",
    exemption_tags: &[],
    tested_with: TestedWith::Moto,
};

#[async_trait]
impl Remediation for CloudTrail4 {
    fn spec(&self) -> &'static Spec {
        &SPEC
    }

    fn name_of(&self, resource_id: &str, _details: Option<&serde_json::Value>) -> Result<String, String> {
        trail_name_of(resource_id)
    }

    async fn live_tags(&self, ctx: &Ctx) -> Result<Option<BTreeMap<String, String>>, AwsError> {
        trail_tags(ctx).await.map(Some)
    }

    async fn plan(&self, ctx: &Ctx) -> Result<Assessment, AwsError> {
        let trail = get_trail(ctx).await?;
        if trail.log_file_validation_enabled() == Some(true) {
            return Ok(Assessment::Compliant(format!("trail {} already validates its log files", ctx.target.name)));
        }
        Ok(Assessment::Changes(vec![Change::new(
            "cloudtrail:UpdateTrail",
            trail_arn(ctx),
            json!({"Name": trail_arn(ctx), "EnableLogFileValidation": true}),
            format!("trail {} does not validate its log files", ctx.target.name),
        )]))
    }

    async fn execute(&self, ctx: &Ctx, change: &Change) -> Result<(), AwsError> {
        match change.action.as_str() {
            "cloudtrail:UpdateTrail" => ctx
                .cloudtrail()
                .update_trail()
                .name(change.text("Name")?)
                .enable_log_file_validation(true)
                .send()
                .await
                .map(|_| ())
                .map_err(aws("cloudtrail:UpdateTrail")),
            _ => Err(unplanned(change)),
        }
    }

    async fn verify(&self, ctx: &Ctx) -> Result<Check, AwsError> {
        let on = get_trail(ctx).await?.log_file_validation_enabled() == Some(true);
        let text = format!("trail {}: LogFileValidationEnabled={on}", ctx.target.name);
        Ok(if on { Check::Holds(text) } else { Check::Fails(text) })
    }
}
