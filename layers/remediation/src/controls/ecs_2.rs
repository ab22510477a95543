//! ECS.2 — ECS services should not have public IP addresses assigned to them automatically: update
//! the service's awsvpc network configuration to assignPublicIp DISABLED, keeping its current
//! subnets and security groups.

use async_trait::async_trait;
use aws_sdk_ecs::types::{AssignPublicIp, AwsVpcConfiguration, NetworkConfiguration, Service};
use serde::Deserialize;
use serde_json::json;
use std::collections::BTreeMap;

use crate::context::Ctx;
use crate::plan::{unplanned, Change};
use crate::spec::{Assessment, Check, Remediation, Spec, TestedWith};
use crate::support::aws;
use crate::target::Arn;
use secops_aws::AwsError;
use secops_core::ErrorClass;

pub struct Ecs2;

static SPEC: Spec = Spec {
    control: "ECS.2",
    title: "ECS services should not have public IP addresses assigned to them automatically",
    change: "updates the service's network configuration to assignPublicIp DISABLED with its current subnets and \
             security groups (a new deployment replaces the tasks)",
    resource_types: &["AwsEcsService"],
    actions: &["ecs:ListTagsForResource", "ecs:DescribeServices", "ecs:UpdateService"],
    // Tasks are replaced, and tasks in public subnets without a NAT route lose internet access.
    disruptive: true,
    verification: "DescribeServices shows awsvpcConfiguration.assignPublicIp DISABLED",
    exemption_tags: &["secops:ecs:public-ip-intended"],
    tested_with: TestedWith::Moto,
};

#[async_trait]
impl Remediation for Ecs2 {
    fn spec(&self) -> &'static Spec {
        &SPEC
    }

    /// `<cluster>/<service>` from `arn:…:ecs:<region>:<account>:service/<cluster>/<service>`.
    fn name_of(&self, resource_id: &str, _details: Option<&serde_json::Value>) -> Result<String, String> {
        let expected = "expected a service ARN arn:<partition>:ecs:<region>:<account>:service/<cluster>/<service>";
        let rest = Arn::parse(resource_id)
            .filter(|a| a.service == "ecs")
            .and_then(|a| a.resource.strip_prefix("service/"))
            .ok_or(expected)?;
        match rest.split_once('/') {
            Some((cluster, service)) if !cluster.is_empty() && !service.is_empty() && !service.contains('/') => {
                Ok(rest.to_owned())
            }
            _ => Err(format!("{expected} (the old ARN format without the cluster is not enough)")),
        }
    }

    async fn live_tags(&self, ctx: &Ctx) -> Result<Option<BTreeMap<String, String>>, AwsError> {
        let out = ctx
            .ecs()
            .list_tags_for_resource()
            .resource_arn(&ctx.target.resource_id)
            .send()
            .await
            .map_err(aws("ecs:ListTagsForResource"))?;
        Ok(Some(
            out.tags()
                .iter()
                .filter_map(|t| Some((t.key()?.to_owned(), t.value().unwrap_or_default().to_owned())))
                .collect(),
        ))
    }

    async fn plan(&self, ctx: &Ctx) -> Result<Assessment, AwsError> {
        let (cluster, name) = parts(ctx);
        let Some(service) = find_service(ctx).await? else {
            return Ok(Assessment::Gone(format!("service {name} of cluster {cluster} does not exist or is inactive")));
        };
        let Some(vpc) = service.network_configuration().and_then(|n| n.awsvpc_configuration()) else {
            return Ok(Assessment::Compliant(format!(
                "service {name} does not use awsvpc networking, so its tasks get no public IP of their own"
            )));
        };
        if vpc.assign_public_ip() != Some(&AssignPublicIp::Enabled) {
            return Ok(Assessment::Compliant(format!("service {name} does not assign public IPs")));
        }
        Ok(Assessment::Changes(vec![Change::new(
            "ecs:UpdateService",
            ctx.target.resource_id.clone(),
            json!({
                "Cluster": cluster,
                "Service": name,
                "Subnets": vpc.subnets(),
                "SecurityGroups": vpc.security_groups(),
                "AssignPublicIp": "DISABLED",
            }),
            format!(
                "service {name} gives its tasks public IPs; the update keeps subnets {} and security groups {} and \
                 starts a new deployment. Tasks in public subnets without a NAT route lose internet access (image \
                 pulls, outbound calls): check the subnets' routes first",
                vpc.subnets().join(", "),
                vpc.security_groups().join(", ")
            ),
        )]))
    }

    async fn execute(&self, ctx: &Ctx, change: &Change) -> Result<(), AwsError> {
        #[derive(Deserialize)]
        #[serde(rename_all = "PascalCase")]
        struct Update {
            cluster: String,
            service: String,
            subnets: Vec<String>,
            security_groups: Vec<String>,
            assign_public_ip: String,
        }
        match change.action.as_str() {
            "ecs:UpdateService" => {
                let p: Update = change.params()?;
                let vpc = AwsVpcConfiguration::builder()
                    .set_subnets(Some(p.subnets))
                    .set_security_groups(Some(p.security_groups))
                    .assign_public_ip(AssignPublicIp::from(p.assign_public_ip.as_str()))
                    .build()
                    .map_err(|e| {
                        AwsError::new(
                            "ecs:UpdateService",
                            ErrorClass::Permanent,
                            format!("the planned network is incomplete: {e}"),
                        )
                    })?;
                ctx.ecs()
                    .update_service()
                    .cluster(p.cluster)
                    .service(p.service)
                    .network_configuration(NetworkConfiguration::builder().awsvpc_configuration(vpc).build())
                    .send()
                    .await
                    .map(|_| ())
                    .map_err(aws("ecs:UpdateService"))
            }
            _ => Err(unplanned(change)),
        }
    }

    async fn verify(&self, ctx: &Ctx) -> Result<Check, AwsError> {
        let assign = find_service(ctx)
            .await?
            .and_then(|s| s.network_configuration().and_then(|n| n.awsvpc_configuration()).cloned())
            .and_then(|v| v.assign_public_ip().cloned());
        let text = format!("assignPublicIp={}", assign.as_ref().map_or("unset", AssignPublicIp::as_str));
        Ok(if assign == Some(AssignPublicIp::Enabled) { Check::Fails(text) } else { Check::Holds(text) })
    }
}

/// (cluster, service) from the target's name (validated by `name_of`).
fn parts(ctx: &Ctx) -> (&str, &str) {
    ctx.target.name.split_once('/').unwrap_or(("", ctx.target.name.as_str()))
}

/// The service, or `None` when ECS reports it missing or no longer active.
async fn find_service(ctx: &Ctx) -> Result<Option<Service>, AwsError> {
    let (cluster, name) = parts(ctx);
    let out = ctx
        .ecs()
        .describe_services()
        .cluster(cluster)
        .services(name)
        .send()
        .await
        .map_err(aws("ecs:DescribeServices"))?;
    Ok(out.services().iter().find(|s| s.status() == Some("ACTIVE")).cloned())
}
