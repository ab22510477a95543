//! ECR.2 — ECR private repositories should have tag immutability configured: set the
//! repository's image tag mutability to IMMUTABLE.

use async_trait::async_trait;
use aws_sdk_ecr::types::ImageTagMutability;
use serde_json::json;
use std::collections::BTreeMap;

use super::services_common::{ecr_repository, ecr_repository_name, ecr_tags};
use crate::context::Ctx;
use crate::plan::{unplanned, Change};
use crate::spec::{Assessment, Check, Remediation, Spec, TestedWith};
use crate::support::aws;
use secops_aws::AwsError;

pub struct Ecr2;

static SPEC: Spec = Spec {
    control: "ECR.2",
    title: "ECR private repositories should have tag immutability configured",
    change: "sets the repository's image tag mutability to IMMUTABLE",
    resource_types: &["AwsEcrRepository"],
    actions: &["ecr:DescribeRepositories", "ecr:ListTagsForResource", "ecr:PutImageTagMutability"],
    disruptive: true,
    verification: "DescribeRepositories shows imageTagMutability IMMUTABLE (or IMMUTABLE_WITH_EXCLUSION)",
    exemption_tags: &["secops:ecr:mutable-tags-intended"],
    tested_with: TestedWith::Moto,
};

#[async_trait]
impl Remediation for Ecr2 {
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
        let Some(mutability) = mutability(ctx).await? else {
            return Ok(Assessment::Gone(format!("repository {name} no longer exists")));
        };
        if immutable(&mutability) {
            return Ok(Assessment::Compliant(format!("repository {name} has imageTagMutability {mutability}")));
        }
        Ok(Assessment::Changes(vec![Change::new(
            "ecr:PutImageTagMutability",
            ctx.target.resource_id.clone(),
            json!({ "RegistryId": ctx.account(), "RepositoryName": name, "ImageTagMutability": "IMMUTABLE" }),
            format!(
                "repository {name} has imageTagMutability {mutability}: a pushed tag can be moved to another \
                 image. After this change a pipeline that re-pushes an existing tag (e.g. `latest`) fails; tag \
                 the repository secops:ecr:mutable-tags-intended=true if it must keep moving tags"
            ),
        )]))
    }

    async fn execute(&self, ctx: &Ctx, change: &Change) -> Result<(), AwsError> {
        match change.action.as_str() {
            "ecr:PutImageTagMutability" => ctx
                .ecr()
                .put_image_tag_mutability()
                .registry_id(change.text("RegistryId")?)
                .repository_name(change.text("RepositoryName")?)
                .image_tag_mutability(ImageTagMutability::from(change.text("ImageTagMutability")?))
                .send()
                .await
                .map(|_| ())
                .map_err(aws("ecr:PutImageTagMutability")),
            _ => Err(unplanned(change)),
        }
    }

    async fn verify(&self, ctx: &Ctx) -> Result<Check, AwsError> {
        let name = &ctx.target.name;
        Ok(match mutability(ctx).await? {
            None => Check::Fails(format!("repository {name} was not found")),
            Some(m) if immutable(&m) => Check::Holds(format!("repository {name} has imageTagMutability {m}")),
            Some(m) => Check::Fails(format!("repository {name} has imageTagMutability {m}")),
        })
    }
}

/// The repository's tag mutability (`None`: the repository is gone).
async fn mutability(ctx: &Ctx) -> Result<Option<String>, AwsError> {
    let repo = ecr_repository(ctx).await?;
    Ok(repo.map(|r| r.image_tag_mutability().map_or("MUTABLE", |m| m.as_str()).to_owned()))
}

/// IMMUTABLE_WITH_EXCLUSION is immutable too: its mutable tags were excluded on purpose.
fn immutable(mutability: &str) -> bool {
    mutability == "IMMUTABLE" || mutability == "IMMUTABLE_WITH_EXCLUSION"
}
