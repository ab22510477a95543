//! Account data: who owns the finding's account, from AWS Organizations (name, e-mail, OU path,
//! tags), mapped to the scratchpad's `account` and cached in the hot state store with a TTL.

pub mod file;
pub mod organizations;

use std::collections::BTreeMap;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::Result;

/// One member account as the organization describes it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OrgAccount {
    pub id: String,
    pub name: String,
    pub email: String,
    /// `ACTIVE`, `SUSPENDED`, `PENDING_CLOSURE`.
    pub status: String,
    /// When the account joined (or was created in) the organization.
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub joined_at: Option<OffsetDateTime>,
    /// Organizational unit names from the root's child down to the account's parent; empty when
    /// the account sits directly under the root.
    #[serde(default)]
    pub ou_path: Vec<String>,
    #[serde(default)]
    pub tags: BTreeMap<String, String>,
}

/// See the module documentation.
#[async_trait]
pub trait AccountDirectory: Send + Sync + std::fmt::Debug {
    /// The account, or None when it is not a member of the organization.
    async fn account(&self, account_id: &str) -> Result<Option<OrgAccount>>;

    /// Every active member account id (for the hourly enabled-controls sync).
    async fn account_ids(&self) -> Result<Vec<String>>;
}

/// The account tags the pipeline reads, each with the alternatives it also accepts (first match
/// wins). `soar:*` keys are accepted so an organization tagged for the replaced system works as is.
pub const ENVIRONMENT_TAGS: &[&str] = &["secops:environment", "soar:environment", "environment", "Environment"];
pub const TEAM_TAGS: &[&str] = &["secops:team", "soar:team", "team", "Team"];
pub const TEAM_EMAIL_TAGS: &[&str] = &["secops:team-email", "soar:team:email"];
pub const CLIENT_TAGS: &[&str] = &["secops:client", "soar:client", "client", "Client"];
pub const PROJECT_TAGS: &[&str] = &["secops:project", "soar:project", "project", "Project"];
pub const TICKET_PROJECT_TAGS: &[&str] = &["secops:ticket-project", "soar:jira:project-key"];
pub const TICKET_PROJECT_APP_TAGS: &[&str] = &["secops:ticket-project-app", "soar:jira:project-key:app"];

fn first_tag(tags: &BTreeMap<String, String>, keys: &[&str]) -> Option<String> {
    keys.iter().find_map(|k| tags.get(*k)).map(|v| v.trim().to_owned()).filter(|v| !v.is_empty())
}

/// The scratchpad's account data for `account`, and the tags that were missing (named in the
/// decision reason, so a person can fix the tagging). `min_age`: younger accounts are "new".
pub fn account_data(
    account: &OrgAccount,
    now: OffsetDateTime,
    min_age: time::Duration,
) -> (secops_core::scratchpad::AccountData, Vec<&'static str>) {
    let tags = &account.tags;
    let mut missing = Vec::new();
    let mut pick = |keys: &'static [&'static str]| {
        let value = first_tag(tags, keys);
        if value.is_none() {
            missing.push(keys[0]);
        }
        value
    };
    let environment = pick(ENVIRONMENT_TAGS);
    let team = pick(TEAM_TAGS);
    let team_email = first_tag(tags, TEAM_EMAIL_TAGS).or_else(|| Some(account.email.clone()));
    let client = first_tag(tags, CLIENT_TAGS);
    let project_name = first_tag(tags, PROJECT_TAGS);
    let project_id = first_tag(tags, TICKET_PROJECT_TAGS);
    let project_id_app = first_tag(tags, TICKET_PROJECT_APP_TAGS).or_else(|| project_id.clone());
    let data = secops_core::scratchpad::AccountData {
        id: Some(account.id.clone()),
        name: Some(account.name.clone()),
        email: Some(account.email.clone()),
        team_email,
        organizational_unit: Some(account.ou_path.last().cloned().unwrap_or_else(|| "ROOT".to_owned())),
        client,
        project_name,
        project_id,
        project_id_app,
        team,
        environment,
        tags: tags.clone(),
        account_new: account.joined_at.is_some_and(|joined| now - joined < min_age),
        extra: {
            let mut extra = serde_json::Map::new();
            extra.insert("ou_path".into(), serde_json::json!(account.ou_path));
            extra.insert("status".into(), serde_json::json!(account.status));
            extra
        },
    };
    (data, missing)
}

/// The OU path kept in `AccountData.extra` by [`account_data`].
pub fn ou_path(data: &secops_core::scratchpad::AccountData) -> Vec<String> {
    data.extra
        .get("ou_path")
        .and_then(|v| v.as_array())
        .map(|a| a.iter().filter_map(|s| s.as_str().map(str::to_owned)).collect())
        .unwrap_or_default()
}
