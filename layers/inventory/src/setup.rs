//! From configuration to a collection: a recorded folder, or live AWS (every configured account
//! through the read-only role) plus the configured vendors.

use crate::collect::{AwsEstate, CollectPlan};
use crate::collector::VendorCollector;
use crate::error::{InventoryError, Result};
use crate::sources::cloudflare::{CloudflareCollector, CloudflareConfig};
use crate::sources::falcon::{FalconCollector, FalconConfig};
use aws_config::SdkConfig;
use secops_core::{Config, SecretSource};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

/// What `collect` reads.
#[derive(Debug)]
pub enum Source {
    Dir { dir: PathBuf, concurrency: usize },
    Live(CollectPlan),
}

/// Whether the configuration reaches AWS: live collection, or a vendor secret in SSM.
pub fn needs_aws(config: &Config) -> bool {
    let i = &config.inventory;
    let ssm = |s: &SecretSource| matches!(s, SecretSource::SsmParameter(_));
    i.from_dir.is_none()
        || i.falcon.as_ref().is_some_and(|f| ssm(&f.client_secret))
        || i.cloudflare.as_ref().is_some_and(|c| ssm(&c.api_token))
}

impl Source {
    /// Collect one snapshot from this source.
    pub async fn collect(&self, pool: &deadpool_postgres::Pool) -> Result<crate::SnapshotSummary> {
        match self {
            Source::Dir { dir, concurrency } => crate::collect_from_dir(pool, dir, *concurrency).await,
            Source::Live(plan) => crate::collect(pool, plan).await,
        }
    }
}

/// The source the configuration describes. A caller that already loaded the SDK passes it as
/// `loaded`; otherwise it is loaded here, and only when [`needs_aws`].
pub async fn source(config: &Config, loaded: Option<&SdkConfig>) -> Result<Source> {
    let i = &config.inventory;
    if let Some(dir) = &i.from_dir {
        return Ok(Source::Dir { dir: PathBuf::from(dir), concurrency: i.concurrency });
    }
    let own;
    let aws = match loaded {
        Some(sdk) => Some(sdk),
        None if needs_aws(config) => {
            own = secops_aws::load_sdk_config(&secops_aws::AwsSettings::from_config(config)).await;
            Some(&own)
        }
        None => None,
    };
    let base = aws.ok_or_else(|| InventoryError::invalid_input("live collection needs an AWS configuration"))?;
    // Collectors page through large inventories: retry throttling with a capped backoff rather
    // than failing a whole run on one 503.
    let base = base
        .to_builder()
        .retry_config(
            aws_config::retry::RetryConfig::standard().with_max_attempts(6).with_max_backoff(Duration::from_secs(20)),
        )
        .build();
    let accounts =
        if i.accounts.is_empty() { vec![secops_aws::caller_account(&base).await?] } else { i.accounts.clone() };
    let mut vendors: Vec<Arc<dyn VendorCollector>> = Vec::new();
    if let Some(f) = &i.falcon {
        let client_secret = secops_aws::ssm::resolve_secret(&f.client_secret, aws, "the Falcon client secret").await?;
        vendors.push(Arc::new(FalconCollector::new(FalconConfig {
            base_url: f.url.clone(),
            client_id: f.client_id.clone(),
            client_secret,
            member_cid: f.member_cid.clone(),
        })?));
    }
    if let Some(c) = &i.cloudflare {
        let api_token = secops_aws::ssm::resolve_secret(&c.api_token, aws, "the Cloudflare API token").await?;
        vendors.push(Arc::new(CloudflareCollector::new(CloudflareConfig {
            api_url: c.url.clone(),
            api_token,
            account_id: c.account_id.clone(),
        })?));
    }
    Ok(Source::Live(CollectPlan {
        aws: Some(AwsEstate {
            base,
            accounts,
            regions: config.regions.clone(),
            role_name: i.collector_role_name.clone(),
        }),
        vendors,
        concurrency: i.concurrency,
    }))
}
