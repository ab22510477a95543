//! RDS.2 — RDS DB Instances should prohibit public access, as determined by the PubliclyAccessible configuration: make the instance not publicly accessible.

use async_trait::async_trait;
use serde_json::json;
use std::collections::BTreeMap;

use super::rds_common::{self, available_instance, instance_arn};
use crate::context::Ctx;
use crate::plan::{unplanned, Change};
use crate::spec::{Assessment, Check, Remediation, Spec, TestedWith};
use secops_aws::AwsError;

pub struct Rds2;

static SPEC: Spec = Spec {
    control: "RDS.2",
    title: "RDS DB Instances should prohibit public access, as determined by the PubliclyAccessible configuration",
    change: "sets PubliclyAccessible=false on the DB instance (applied immediately)",
    resource_types: &["AwsRdsDbInstance"],
    actions: &["rds:DescribeDBInstances", "rds:ModifyDBInstance"],
    disruptive: true,
    verification: "DescribeDBInstances shows PubliclyAccessible=false",
    exemption_tags: &["secops:rds:public-access-intended"],
    tested_with: TestedWith::Moto,
};

#[async_trait]
impl Remediation for Rds2 {
    fn spec(&self) -> &'static Spec {
        &SPEC
    }

    fn name_of(&self, resource_id: &str, _details: Option<&serde_json::Value>) -> Result<String, String> {
        rds_common::identifier(resource_id, "db:")
    }

    async fn live_tags(&self, ctx: &Ctx) -> Result<Option<BTreeMap<String, String>>, AwsError> {
        rds_common::instance_tags(ctx).await
    }

    async fn plan(&self, ctx: &Ctx) -> Result<Assessment, AwsError> {
        let db = match available_instance(ctx).await? {
            Ok(db) => db,
            Err(answer) => return Ok(answer),
        };
        let name = &ctx.target.name;
        if db.publicly_accessible() != Some(true) {
            return Ok(Assessment::Compliant(format!("DB instance {name} is not publicly accessible")));
        }
        Ok(Assessment::Changes(vec![Change::new(
            "rds:ModifyDBInstance",
            instance_arn(ctx, &db),
            json!({"DBInstanceIdentifier": name, "ApplyImmediately": true, "PubliclyAccessible": false}),
            "the instance's endpoint resolves to a public address; PubliclyAccessible=false makes it resolve to its \
             private address only (clients outside the VPC lose access)",
        )]))
    }

    async fn execute(&self, ctx: &Ctx, change: &Change) -> Result<(), AwsError> {
        match change.action.as_str() {
            "rds:ModifyDBInstance" => rds_common::modify_instance(ctx, change).await,
            _ => Err(unplanned(change)),
        }
    }

    async fn verify(&self, ctx: &Ctx) -> Result<Check, AwsError> {
        rds_common::check_instance(ctx, |db| {
            let public = db.publicly_accessible().unwrap_or(false);
            (!public, format!("DB instance {}: PubliclyAccessible={public}", ctx.target.name))
        })
        .await
    }
}
