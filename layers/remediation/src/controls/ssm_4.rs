//! SSM.4 — SSM documents should not be public: stop sharing the document with all accounts
//! (shares with named accounts stay).

use async_trait::async_trait;
use aws_sdk_ssm::types::{DocumentPermissionType, ResourceTypeForTagging};
use serde::Deserialize;
use serde_json::json;
use std::collections::BTreeMap;

use super::services_common::arn_part;
use crate::context::Ctx;
use crate::plan::{unplanned, Change};
use crate::spec::{Assessment, Check, Remediation, Spec, TestedWith};
use crate::support::aws;
use crate::support::{too_many_pages, MAX_PAGES};
use secops_aws::AwsError;

pub struct Ssm4;

static SPEC: Spec = Spec {
    control: "SSM.4",
    title: "SSM documents should not be public",
    change: "removes the document's share with all accounts (ModifyDocumentPermission AccountIdsToRemove=[all]); shares with named accounts stay",
    // Security Hub has no ASFF details type for documents; accept both names it may use.
    resource_types: &["AwsSsmDocument", "Other"],
    actions: &["ssm:ListTagsForResource", "ssm:DescribeDocumentPermission", "ssm:ModifyDocumentPermission"],
    disruptive: false,
    verification: "DescribeDocumentPermission (Share) no longer lists `all`",
    exemption_tags: &[],
    tested_with: TestedWith::Moto,
};

#[async_trait]
impl Remediation for Ssm4 {
    fn spec(&self) -> &'static Spec {
        &SPEC
    }

    fn name_of(&self, resource_id: &str, _details: Option<&serde_json::Value>) -> Result<String, String> {
        arn_part(resource_id, "ssm", "document/", "arn:aws:ssm:<region>:<account>:document/<name>")
    }

    async fn live_tags(&self, ctx: &Ctx) -> Result<Option<BTreeMap<String, String>>, AwsError> {
        let out = ctx
            .ssm()
            .list_tags_for_resource()
            .resource_type(ResourceTypeForTagging::Document)
            .resource_id(&ctx.target.name)
            .send()
            .await
            .map_err(aws("ssm:ListTagsForResource"))?;
        Ok(Some(out.tag_list().iter().map(|t| (t.key().to_owned(), t.value().to_owned())).collect()))
    }

    async fn plan(&self, ctx: &Ctx) -> Result<Assessment, AwsError> {
        let name = &ctx.target.name;
        let shares = shared_with(ctx).await?;
        if !is_public(&shares) {
            return Ok(Assessment::Compliant(describe(name, &shares)));
        }
        let named: Vec<&str> = shares.iter().map(String::as_str).filter(|a| !a.eq_ignore_ascii_case("all")).collect();
        Ok(Assessment::Changes(vec![Change::new(
            "ssm:ModifyDocumentPermission",
            ctx.target.resource_id.clone(),
            json!({ "Name": name, "PermissionType": "Share", "AccountIdsToRemove": ["all"] }),
            format!(
                "document {name} is shared with all accounts, so anyone can read and run it; the shares with named \
                 accounts stay ({})",
                if named.is_empty() { "none".to_owned() } else { named.join(", ") }
            ),
        )]))
    }

    async fn execute(&self, ctx: &Ctx, change: &Change) -> Result<(), AwsError> {
        match change.action.as_str() {
            "ssm:ModifyDocumentPermission" => {
                let p: Unshare = change.params()?;
                ctx.ssm()
                    .modify_document_permission()
                    .name(p.name)
                    .permission_type(DocumentPermissionType::from(p.permission_type.as_str()))
                    .set_account_ids_to_remove(Some(p.account_ids_to_remove))
                    .send()
                    .await
                    .map(|_| ())
                    .map_err(aws("ssm:ModifyDocumentPermission"))
            }
            _ => Err(unplanned(change)),
        }
    }

    async fn verify(&self, ctx: &Ctx) -> Result<Check, AwsError> {
        let shares = shared_with(ctx).await?;
        let found = describe(&ctx.target.name, &shares);
        Ok(if is_public(&shares) { Check::Fails(found) } else { Check::Holds(found) })
    }
}

/// The planned ModifyDocumentPermission values.
#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Unshare {
    name: String,
    permission_type: String,
    account_ids_to_remove: Vec<String>,
}

/// Every account the document is shared with (`all` when it is public), all pages.
async fn shared_with(ctx: &Ctx) -> Result<Vec<String>, AwsError> {
    let mut accounts = Vec::new();
    let mut token: Option<String> = None;
    for _ in 0..MAX_PAGES {
        let out = ctx
            .ssm()
            .describe_document_permission()
            .name(&ctx.target.name)
            .permission_type(DocumentPermissionType::Share)
            .set_next_token(token.take())
            .send()
            .await
            .map_err(aws("ssm:DescribeDocumentPermission"))?;
        accounts.extend(out.account_ids().iter().cloned());
        match out.next_token() {
            Some(next) if !next.is_empty() => token = Some(next.to_owned()),
            _ => return Ok(accounts),
        }
    }
    Err(too_many_pages("ssm:DescribeDocumentPermission"))
}

fn is_public(shares: &[String]) -> bool {
    shares.iter().any(|a| a.eq_ignore_ascii_case("all"))
}

fn describe(name: &str, shares: &[String]) -> String {
    if shares.is_empty() {
        format!("document {name} is not shared")
    } else {
        format!("document {name} is shared with {}", shares.join(", "))
    }
}
