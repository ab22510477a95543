//! ECR.3 — ECR repositories should have at least one lifecycle policy configured: add one that
//! expires only untagged images older than 30 days.

use async_trait::async_trait;
use serde_json::json;
use std::collections::BTreeMap;

use super::services_common::{ecr_repository_name, ecr_tags};
use crate::context::Ctx;
use crate::plan::{unplanned, Change};
use crate::spec::{Assessment, Check, Remediation, Spec, TestedWith};
use crate::support::{aws, has_code};
use secops_aws::AwsError;

pub struct Ecr3;

static SPEC: Spec = Spec {
    control: "ECR.3",
    title: "ECR repositories should have at least one lifecycle policy configured",
    change:
        "adds a lifecycle policy that expires untagged images 30 days after they were pushed (tagged images are kept)",
    resource_types: &["AwsEcrRepository"],
    actions: &["ecr:ListTagsForResource", "ecr:GetLifecyclePolicy", "ecr:PutLifecyclePolicy"],
    disruptive: false,
    verification: "GetLifecyclePolicy returns a lifecycle policy",
    exemption_tags: &[],
    tested_with: TestedWith::Moto,
};

/// Days after which untagged images expire.
const UNTAGGED_DAYS: u32 = 30;

#[async_trait]
impl Remediation for Ecr3 {
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
        if let Some(text) = lifecycle_policy(ctx).await? {
            return Ok(Assessment::Compliant(format!("repository {name} has a lifecycle policy: {text}")));
        }
        Ok(Assessment::Changes(vec![Change::new(
            "ecr:PutLifecyclePolicy",
            ctx.target.resource_id.clone(),
            json!({ "RegistryId": ctx.account(), "RepositoryName": name, "LifecyclePolicyText": policy_text() }),
            format!(
                "repository {name} has no lifecycle policy; this one expires only untagged images older than \
                 {UNTAGGED_DAYS} days, never tagged ones (they may be deployed)"
            ),
        )]))
    }

    async fn execute(&self, ctx: &Ctx, change: &Change) -> Result<(), AwsError> {
        match change.action.as_str() {
            "ecr:PutLifecyclePolicy" => ctx
                .ecr()
                .put_lifecycle_policy()
                .registry_id(change.text("RegistryId")?)
                .repository_name(change.text("RepositoryName")?)
                .lifecycle_policy_text(change.text("LifecyclePolicyText")?)
                .send()
                .await
                .map(|_| ())
                .map_err(aws("ecr:PutLifecyclePolicy")),
            _ => Err(unplanned(change)),
        }
    }

    async fn verify(&self, ctx: &Ctx) -> Result<Check, AwsError> {
        let name = &ctx.target.name;
        Ok(match lifecycle_policy(ctx).await? {
            Some(text) => Check::Holds(format!("repository {name} has a lifecycle policy: {text}")),
            None => Check::Fails(format!("repository {name} has no lifecycle policy")),
        })
    }
}

/// The repository's lifecycle policy text (`None` when it has none).
async fn lifecycle_policy(ctx: &Ctx) -> Result<Option<String>, AwsError> {
    let reply =
        ctx.ecr().get_lifecycle_policy().registry_id(ctx.account()).repository_name(&ctx.target.name).send().await;
    match reply {
        Ok(out) => Ok(Some(out.lifecycle_policy_text().unwrap_or_default().to_owned())),
        Err(e) if has_code(&e, &["LifecyclePolicyNotFoundException"]) => Ok(None),
        Err(e) => Err(aws("ecr:GetLifecyclePolicy")(e)),
    }
}

/// One rule: untagged images expire `UNTAGGED_DAYS` days after they were pushed.
fn policy_text() -> String {
    json!({
        "rules": [{
            "rulePriority": 1,
            "description": format!("secops: expire untagged images {UNTAGGED_DAYS} days after push"),
            "selection": {
                "tagStatus": "untagged",
                "countType": "sinceImagePushed",
                "countUnit": "days",
                "countNumber": UNTAGGED_DAYS
            },
            "action": { "type": "expire" }
        }]
    })
    .to_string()
}
