//! Enabled controls: which Security Hub controls each account has enabled, per region, synced
//! hourly into the hot state store. A finding for a control the account has disabled is
//! suppressed; an account that was never synced is not (we do not know, so we do not guess).

pub mod security_hub;

use std::collections::BTreeSet;

use async_trait::async_trait;

use crate::Result;

/// See the module documentation.
#[async_trait]
pub trait ControlCatalog: Send + Sync + std::fmt::Debug {
    /// The security control ids (`EC2.2`, `S3.1`, ...) enabled in at least one enabled standard
    /// of `account_id` in `region`.
    async fn enabled_controls(&self, account_id: &str, region: &str) -> Result<BTreeSet<String>>;
}
