//! The account directory from a local file — the single binary's default, so no AWS
//! Organizations access is needed. The file is a top-level `accounts:` list of
//! [`OrgAccount`]s, as YAML, or as JSON when the name ends in `.json`:
//!
//! ```yaml
//! accounts:
//!   - id: "111122223333"
//!     name: payments-prod
//!     email: payments@example.com
//!     status: ACTIVE
//!     joined_at: 2023-04-01T09:00:00Z
//!     ou_path: [Workloads, Prod]
//!     tags: { team: payments, environment: prod }
//! ```
//!
//! Quote the ids: unquoted, `111122223333` is a YAML number and the file is refused.

use std::collections::BTreeMap;
use std::path::Path;

use async_trait::async_trait;
use serde::Deserialize;

use crate::account::{AccountDirectory, OrgAccount};
use crate::{Result, SoarError};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct AccountsFile {
    accounts: Vec<OrgAccount>,
}

/// See the module documentation.
#[derive(Debug, Clone, Default)]
pub struct FileDirectory {
    accounts: BTreeMap<String, OrgAccount>,
}

impl FileDirectory {
    /// Read and check the file; errors name the file and, for syntax and type errors, the line
    /// and column.
    pub fn load(path: impl AsRef<Path>) -> Result<Self> {
        let path = path.as_ref();
        let text = std::fs::read_to_string(path).map_err(|e| SoarError::io(path.display(), e))?;
        let is_json = path.extension().is_some_and(|ext| ext.eq_ignore_ascii_case("json"));
        let parsed: AccountsFile = if is_json {
            // serde_json's message has the position but not the field; the path names the field.
            let mut deserializer = serde_json::Deserializer::from_str(&text);
            serde_path_to_error::deserialize(&mut deserializer)
                .map_err(|e| SoarError::InvalidInput(format!("{}: {}: {}", path.display(), e.path(), e.inner())))?
        } else {
            // serde_yaml_ng's message already holds the field path and the position.
            serde_yaml_ng::from_str(&text).map_err(|e| SoarError::InvalidInput(format!("{}: {e}", path.display())))?
        };
        Self::index(parsed.accounts)
            .map_err(|problem| SoarError::InvalidInput(format!("{}: {problem}", path.display())))
    }

    /// A directory of these accounts (tests, embedding).
    pub fn from_accounts(accounts: Vec<OrgAccount>) -> Result<Self> {
        Self::index(accounts).map_err(SoarError::InvalidInput)
    }

    /// Every id must be an account id, and only once: a typo would never match a finding, and a
    /// duplicate would make the answer depend on the order of the file.
    fn index(accounts: Vec<OrgAccount>) -> std::result::Result<Self, String> {
        let mut by_id = BTreeMap::new();
        for (position, account) in accounts.into_iter().enumerate() {
            if account.id.len() != 12 || !account.id.bytes().all(|b| b.is_ascii_digit()) {
                return Err(format!("accounts[{position}]: id {:?} is not a 12-digit account id", account.id));
            }
            if let Some(earlier) = by_id.insert(account.id.clone(), account) {
                return Err(format!("accounts[{position}]: account {} is listed twice", earlier.id));
            }
        }
        Ok(Self { accounts: by_id })
    }
}

#[async_trait]
impl AccountDirectory for FileDirectory {
    async fn account(&self, account_id: &str) -> Result<Option<OrgAccount>> {
        Ok(self.accounts.get(account_id).cloned())
    }

    async fn account_ids(&self) -> Result<Vec<String>> {
        Ok(self.accounts.values().filter(|a| a.status == "ACTIVE").map(|a| a.id.clone()).collect())
    }
}
