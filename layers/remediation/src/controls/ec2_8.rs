//! EC2.8 — EC2 instances should use Instance Metadata Service Version 2 (IMDSv2): require session
//! tokens on the instance's metadata service.

use async_trait::async_trait;
use aws_sdk_ec2::types::{HttpTokensState, InstanceMetadataEndpointState};
use serde_json::json;
use std::collections::BTreeMap;

use super::ec2_common::{ec2_tags, find_instance, instance_id_of, is_terminating};
use crate::context::Ctx;
use crate::plan::{unplanned, Change};
use crate::spec::{Assessment, Check, Remediation, Spec, TestedWith};
use crate::support::aws;
use secops_aws::AwsError;

pub struct Ec2_8;

static SPEC: Spec = Spec {
    control: "EC2.8",
    title: "EC2 instances should use Instance Metadata Service Version 2 (IMDSv2)",
    change: "sets the instance's metadata option HttpTokens to required (the endpoint setting is kept as it is)",
    resource_types: &["AwsEc2Instance"],
    actions: &["ec2:DescribeTags", "ec2:DescribeInstances", "ec2:ModifyInstanceMetadataOptions"],
    // Software on the instance that still uses IMDSv1 loses its credentials.
    disruptive: true,
    verification: "DescribeInstances shows MetadataOptions.HttpTokens=required",
    exemption_tags: &["secops:ec2:imdsv1-intended"],
    tested_with: TestedWith::Moto,
};

#[async_trait]
impl Remediation for Ec2_8 {
    fn spec(&self) -> &'static Spec {
        &SPEC
    }

    fn name_of(&self, resource_id: &str, _details: Option<&serde_json::Value>) -> Result<String, String> {
        instance_id_of(resource_id)
    }

    async fn live_tags(&self, ctx: &Ctx) -> Result<Option<BTreeMap<String, String>>, AwsError> {
        ec2_tags(ctx, &ctx.target.name).await.map(Some)
    }

    async fn plan(&self, ctx: &Ctx) -> Result<Assessment, AwsError> {
        let id = &ctx.target.name;
        let Some(instance) = find_instance(ctx, id).await?.filter(|i| !is_terminating(i)) else {
            return Ok(Assessment::Gone(format!("instance {id} does not exist or is terminated")));
        };
        let tokens = http_tokens(&instance);
        if tokens == "required" {
            return Ok(Assessment::Compliant(format!("instance {id} requires IMDSv2 (HttpTokens=required)")));
        }
        // The endpoint setting is sent as it is, so the call cannot change it.
        let endpoint = instance.metadata_options().and_then(|m| m.http_endpoint()).map(|e| e.as_str().to_owned());
        Ok(Assessment::Changes(vec![Change::new(
            "ec2:ModifyInstanceMetadataOptions",
            id.clone(),
            json!({ "InstanceId": id, "HttpTokens": "required", "HttpEndpoint": endpoint }),
            format!(
                "HttpTokens is {tokens}, so IMDSv1 answers without a session token; software on {id} that still uses \
                 IMDSv1 must move to the AWS SDK's IMDSv2 support"
            ),
        )]))
    }

    async fn execute(&self, ctx: &Ctx, change: &Change) -> Result<(), AwsError> {
        match change.action.as_str() {
            "ec2:ModifyInstanceMetadataOptions" => ctx
                .ec2()
                .modify_instance_metadata_options()
                .instance_id(change.text("InstanceId")?)
                .http_tokens(HttpTokensState::from(change.text("HttpTokens")?))
                .set_http_endpoint(change.text("HttpEndpoint").ok().map(InstanceMetadataEndpointState::from))
                .send()
                .await
                .map(|_| ())
                .map_err(aws("ec2:ModifyInstanceMetadataOptions")),
            _ => Err(unplanned(change)),
        }
    }

    async fn verify(&self, ctx: &Ctx) -> Result<Check, AwsError> {
        let id = &ctx.target.name;
        let tokens = find_instance(ctx, id).await?.map(|i| http_tokens(&i)).unwrap_or_else(|| "unknown".into());
        let text = format!("instance {id}: HttpTokens={tokens}");
        Ok(if tokens == "required" { Check::Holds(text) } else { Check::Fails(text) })
    }
}

fn http_tokens(instance: &aws_sdk_ec2::types::Instance) -> String {
    instance
        .metadata_options()
        .and_then(|m| m.http_tokens())
        .map_or_else(|| "optional".to_owned(), |t| t.as_str().to_owned())
}
