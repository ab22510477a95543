//! ECR.1 — ECR private repositories should have image scanning configured: turn on the
//! repository's scan on push (the registry-wide setting is left alone).

use async_trait::async_trait;
use serde_json::json;
use std::collections::BTreeMap;

use super::services_common::{ecr_repository, ecr_repository_name, ecr_tags};
use crate::context::Ctx;
use crate::plan::{unplanned, Change};
use crate::spec::{Assessment, Check, Remediation, Spec, TestedWith};
use crate::support::aws;
use secops_aws::AwsError;

pub struct Ecr1;

static SPEC: Spec = Spec {
    control: "ECR.1",
    title: "ECR private repositories should have image scanning configured",
    change: "turns on scan on push for the repository (PutImageScanningConfiguration scanOnPush=true)",
    resource_types: &["AwsEcrRepository"],
    actions: &[
        "ecr:DescribeRepositories",
        "ecr:ListTagsForResource",
        "ecr:GetRegistryScanningConfiguration",
        "ecr:PutImageScanningConfiguration",
    ],
    disruptive: false,
    verification: "DescribeRepositories shows scanOnPush=true, or the registry scans every repository (ENHANCED with a `*` filter)",
    exemption_tags: &[],
    tested_with: TestedWith::Moto,
};

#[async_trait]
impl Remediation for Ecr1 {
    fn spec(&self) -> &'static Spec {
        &SPEC
    }

    fn name_of(&self, resource_id: &str, _details: Option<&serde_json::Value>) -> Result<String, String> {
        ecr_repository_name(resource_id)
    }

    async fn live_tags(&self, ctx: &Ctx) -> Result<Option<BTreeMap<String, String>>, AwsError> {
        ecr_tags(ctx).await.map(Some)
    }

    async fn plan(&self, ctx: &Ctx) -> Result<Assessment, AwsError> {
        let name = &ctx.target.name;
        let (holds, found) = match state(ctx).await? {
            None => return Ok(Assessment::Gone(format!("repository {name} no longer exists"))),
            Some(state) => state,
        };
        if holds {
            return Ok(Assessment::Compliant(found));
        }
        Ok(Assessment::Changes(vec![Change::new(
            "ecr:PutImageScanningConfiguration",
            ctx.target.resource_id.clone(),
            json!({ "RegistryId": ctx.account(), "RepositoryName": name, "ScanOnPush": true }),
            format!("{found}; scanning each pushed image reports its known vulnerabilities"),
        )]))
    }

    async fn execute(&self, ctx: &Ctx, change: &Change) -> Result<(), AwsError> {
        match change.action.as_str() {
            "ecr:PutImageScanningConfiguration" => {
                let config = aws_sdk_ecr::types::ImageScanningConfiguration::builder().scan_on_push(true).build();
                ctx.ecr()
                    .put_image_scanning_configuration()
                    .registry_id(change.text("RegistryId")?)
                    .repository_name(change.text("RepositoryName")?)
                    .image_scanning_configuration(config)
                    .send()
                    .await
                    .map(|_| ())
                    .map_err(aws("ecr:PutImageScanningConfiguration"))
            }
            _ => Err(unplanned(change)),
        }
    }

    async fn verify(&self, ctx: &Ctx) -> Result<Check, AwsError> {
        Ok(match state(ctx).await? {
            None => Check::Fails(format!("repository {} was not found", ctx.target.name)),
            Some((true, found)) => Check::Holds(found),
            Some((false, found)) => Check::Fails(found),
        })
    }
}

/// Whether images pushed to the repository are scanned, and what was read (`None`: the
/// repository is gone). The registry is read only when the repository itself does not scan.
async fn state(ctx: &Ctx) -> Result<Option<(bool, String)>, AwsError> {
    let Some(repo) = ecr_repository(ctx).await? else { return Ok(None) };
    let name = &ctx.target.name;
    if repo.image_scanning_configuration().is_some_and(|c| c.scan_on_push()) {
        return Ok(Some((true, format!("repository {name} scans on push"))));
    }
    let registry = ctx
        .ecr()
        .get_registry_scanning_configuration()
        .send()
        .await
        .map_err(aws("ecr:GetRegistryScanningConfiguration"))?;
    let config = registry.scanning_configuration();
    let scan_type = config.and_then(|c| c.scan_type()).map_or("BASIC", |t| t.as_str());
    // Enhanced scanning with a `*` rule covers every repository, this one included.
    let covers_all = scan_type == "ENHANCED"
        && config.is_some_and(|c| c.rules().iter().any(|r| r.repository_filters().iter().any(|f| f.filter() == "*")));
    if covers_all {
        return Ok(Some((true, format!("the registry scans every repository (ENHANCED, filter *), {name} included"))));
    }
    Ok(Some((
        false,
        format!("repository {name} has scanOnPush=false and the registry scanning is {scan_type} without a * rule"),
    )))
}
