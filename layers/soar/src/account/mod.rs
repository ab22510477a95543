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
