//! ECS.12 — ECS clusters should use Container Insights: turn on the cluster's containerInsights
//! setting.

use async_trait::async_trait;
use aws_sdk_ecs::types::{Cluster, ClusterField, ClusterSetting, ClusterSettingName};
use serde_json::json;
use std::collections::BTreeMap;

use crate::context::Ctx;
use crate::plan::{unplanned, Change};
use crate::spec::{Assessment, Check, Remediation, Spec, TestedWith};
use crate::support::aws;
use crate::target::arn_resource_after;
use secops_aws::AwsError;

pub struct Ecs12;

static SPEC: Spec = Spec {
    control: "ECS.12",
    title: "ECS clusters should use Container Insights",
    change: "sets the cluster's containerInsights setting to enabled (UpdateCluster)",
    resource_types: &["AwsEcsCluster"],
    actions: &["ecs:DescribeClusters", "ecs:UpdateCluster"],
    disruptive: false,
    verification: "DescribeClusters shows containerInsights enabled",
    exemption_tags: &[],
    tested_with: TestedWith::Moto,
};

#[async_trait]
impl Remediation for Ecs12 {
    fn spec(&self) -> &'static Spec {
        &SPEC
    }

    fn name_of(&self, resource_id: &str, _details: Option<&serde_json::Value>) -> Result<String, String> {
        if resource_id.starts_with("arn:") {
            arn_resource_after(resource_id, "cluster/", "")
        } else {
            Err("expected a cluster ARN arn:<partition>:ecs:<region>:<account>:cluster/<name>".into())
        }
    }

    // The tags come with DescribeClusters, so exemptions on live tags cost no extra call.
    async fn live_tags(&self, ctx: &Ctx) -> Result<Option<BTreeMap<String, String>>, AwsError> {
        Ok(Some(find_cluster(ctx).await?.map_or_else(BTreeMap::new, |c| {
            c.tags()
                .iter()
                .filter_map(|t| Some((t.key()?.to_owned(), t.value().unwrap_or_default().to_owned())))
                .collect()
        })))
    }

    async fn plan(&self, ctx: &Ctx) -> Result<Assessment, AwsError> {
        let name = &ctx.target.name;
        let Some(cluster) = find_cluster(ctx).await? else {
            return Ok(Assessment::Gone(format!("cluster {name} does not exist or is inactive")));
        };
        let value = insights(&cluster);
        // "enhanced" is Container Insights with more detail: stricter than asked, kept.
        if matches!(value.as_str(), "enabled" | "enhanced") {
            return Ok(Assessment::Compliant(format!("cluster {name} has containerInsights={value}")));
        }
        Ok(Assessment::Changes(vec![Change::new(
            "ecs:UpdateCluster",
            ctx.target.resource_id.clone(),
            json!({ "Cluster": name, "Name": "containerInsights", "Value": "enabled" }),
            format!("containerInsights is {value} on cluster {name}; enabling it adds CloudWatch metrics (billed)"),
        )]))
    }

    async fn execute(&self, ctx: &Ctx, change: &Change) -> Result<(), AwsError> {
        match change.action.as_str() {
            "ecs:UpdateCluster" => ctx
                .ecs()
                .update_cluster()
                .cluster(change.text("Cluster")?)
                .settings(
                    ClusterSetting::builder()
                        .name(ClusterSettingName::from(change.text("Name")?))
                        .value(change.text("Value")?)
                        .build(),
                )
                .send()
                .await
                .map(|_| ())
                .map_err(aws("ecs:UpdateCluster")),
            _ => Err(unplanned(change)),
        }
    }

    async fn verify(&self, ctx: &Ctx) -> Result<Check, AwsError> {
        let value = find_cluster(ctx).await?.map_or_else(|| "unknown (cluster missing)".to_owned(), |c| insights(&c));
        let text = format!("containerInsights={value}");
        Ok(if matches!(value.as_str(), "enabled" | "enhanced") { Check::Holds(text) } else { Check::Fails(text) })
    }
}

/// The cluster with its settings and tags, or `None` when ECS reports it missing or inactive.
async fn find_cluster(ctx: &Ctx) -> Result<Option<Cluster>, AwsError> {
    let out = ctx
        .ecs()
        .describe_clusters()
        .clusters(&ctx.target.name)
        .include(ClusterField::Settings)
        .include(ClusterField::Tags)
        .send()
        .await
        .map_err(aws("ecs:DescribeClusters"))?;
    Ok(out.clusters().iter().find(|c| c.status() == Some("ACTIVE")).cloned())
}

fn insights(cluster: &Cluster) -> String {
    cluster
        .settings()
        .iter()
        .find(|s| s.name() == Some(&ClusterSettingName::ContainerInsights))
        .and_then(|s| s.value())
        .unwrap_or("disabled")
        .to_owned()
}
