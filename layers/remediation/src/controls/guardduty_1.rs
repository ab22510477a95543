//! GuardDuty.1 — GuardDuty should be enabled: create the region's detector, or enable the
//! disabled one.

use async_trait::async_trait;
use aws_sdk_guardduty::types::DetectorStatus;
use serde_json::{json, Value};

use crate::context::Ctx;
use crate::plan::{unplanned, Change};
use crate::spec::{Assessment, Check, Remediation, Spec, TestedWith};
use crate::support::aws;
use secops_aws::AwsError;

use crate::support::{too_many_pages, MAX_PAGES};

pub struct GuardDuty1;

static SPEC: Spec = Spec {
    control: "GuardDuty.1",
    title: "GuardDuty should be enabled",
    change: "creates an enabled GuardDuty detector in the region, or enables the existing disabled one",
    resource_types: &["AwsAccount"],
    actions: &[
        "guardduty:ListDetectors",
        "guardduty:GetDetector",
        "guardduty:CreateDetector",
        "guardduty:UpdateDetector",
        // CreateDetector creates GuardDuty's service-linked role on the caller's permission.
        "iam:CreateServiceLinkedRole",
    ],
    disruptive: false,
    verification: "ListDetectors and GetDetector show an ENABLED detector",
    exemption_tags: &[],
    tested_with: TestedWith::Moto,
};

#[async_trait]
impl Remediation for GuardDuty1 {
    fn spec(&self) -> &'static Spec {
        &SPEC
    }

    fn name_of(&self, resource_id: &str, _details: Option<&Value>) -> Result<String, String> {
        crate::target::account_of(resource_id)
    }

    async fn plan(&self, ctx: &Ctx) -> Result<Assessment, AwsError> {
        let detectors = detectors(ctx).await?;
        if let Some((id, _)) = detectors.iter().find(|(_, s)| *s == DetectorStatus::Enabled) {
            return Ok(Assessment::Compliant(format!("detector {id} is enabled in {}", ctx.region())));
        }
        let change = match detectors.first() {
            None => Change::new(
                "guardduty:CreateDetector",
                ctx.target.arn("guardduty", "detector/*"),
                json!({"Enable": true}),
                format!("GuardDuty has no detector in {}", ctx.region()),
            ),
            Some((id, status)) => Change::new(
                "guardduty:UpdateDetector",
                ctx.target.arn("guardduty", &format!("detector/{id}")),
                json!({"DetectorId": id, "Enable": true}),
                format!("detector {id} is {}", status.as_str()),
            ),
        };
        Ok(Assessment::Changes(vec![change]))
    }

    async fn execute(&self, ctx: &Ctx, change: &Change) -> Result<(), AwsError> {
        let gd = ctx.guardduty();
        match change.action.as_str() {
            "guardduty:CreateDetector" => {
                gd.create_detector().enable(true).send().await.map(|_| ()).map_err(aws("guardduty:CreateDetector"))
            }
            "guardduty:UpdateDetector" => gd
                .update_detector()
                .detector_id(change.text("DetectorId")?)
                .enable(true)
                .send()
                .await
                .map(|_| ())
                .map_err(aws("guardduty:UpdateDetector")),
            _ => Err(unplanned(change)),
        }
    }

    async fn verify(&self, ctx: &Ctx) -> Result<Check, AwsError> {
        let detectors = detectors(ctx).await?;
        let text: Vec<String> = detectors.iter().map(|(id, s)| format!("{id} {}", s.as_str())).collect();
        let text = format!("detectors: {}", if text.is_empty() { "none".into() } else { text.join(", ") });
        Ok(if detectors.iter().any(|(_, s)| *s == DetectorStatus::Enabled) {
            Check::Holds(text)
        } else {
            Check::Fails(text)
        })
    }
}

/// The region's detectors with their status (every page).
async fn detectors(ctx: &Ctx) -> Result<Vec<(String, DetectorStatus)>, AwsError> {
    let gd = ctx.guardduty();
    let mut ids = Vec::new();
    let mut token: Option<String> = None;
    let mut done = false;
    for _ in 0..MAX_PAGES {
        let out =
            gd.list_detectors().set_next_token(token.take()).send().await.map_err(aws("guardduty:ListDetectors"))?;
        ids.extend(out.detector_ids().iter().cloned());
        match out.next_token() {
            Some(t) if !t.is_empty() => token = Some(t.to_owned()),
            _ => {
                done = true;
                break;
            }
        }
    }
    if !done {
        return Err(too_many_pages("guardduty:ListDetectors"));
    }
    let mut out = Vec::new();
    for id in ids {
        let d = gd.get_detector().detector_id(&id).send().await.map_err(aws("guardduty:GetDetector"))?;
        out.push((id, d.status().cloned().unwrap_or(DetectorStatus::Disabled)));
    }
    Ok(out)
}
