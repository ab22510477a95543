//! Choosing the adapters from the configuration: the one place where the decide capability is
//! wired (DESIGN §2: the same code, local or serverless, only the adapters differ).

use std::path::PathBuf;
use std::sync::Arc;

use aws_config::SdkConfig;
use secops_core::scratchpad::PipelineFlags;
use secops_core::{AccountSource, Config, FindingsHubTarget, HotStateStore, QuarantineMode};
use secops_store::Pool;
use sha2::{Digest, Sha256};

use crate::account::file::FileDirectory;
use crate::account::organizations::OrganizationsDirectory;
use crate::account::AccountDirectory;
use crate::clock::SystemClock;
use crate::controls::security_hub::SecurityHubControls;
use crate::controls::ControlCatalog;
use crate::hub::postgres::PgFindingsHub;
use crate::hub::security_hub::SecurityHubFindings;
use crate::hub::FindingsHub;
use crate::policy::Policy;
use crate::quarantine::ec2::Ec2Quarantine;
use crate::quarantine::plan::PlanOnlyQuarantine;
use crate::quarantine::Quarantine;
use crate::state::dynamodb::DynamoStateStore;
use crate::state::postgres::PgStateStore;
use crate::state::{StateStore, StoredPolicy};
use crate::tickets::{Alerts, Ticketing};
use crate::{Result, Settings, Soar, SoarError};

/// Whether the configuration needs PostgreSQL (the local state store or findings hub).
pub fn needs_database(config: &Config) -> bool {
    config.decide.state_store == HotStateStore::Postgres || config.decide.findings_hub == FindingsHubTarget::Postgres
}

/// Whether the configuration needs AWS credentials.
pub fn needs_aws(config: &Config) -> bool {
    let d = &config.decide;
    matches!(d.state_store, HotStateStore::DynamoDb { .. })
        || d.findings_hub == FindingsHubTarget::SecurityHub
        || d.accounts == AccountSource::Organizations
        || d.quarantine == QuarantineMode::Ec2
}

fn need<'a, T>(what: Option<&'a T>, for_what: &str, var: &str) -> Result<&'a T> {
    what.ok_or_else(|| SoarError::InvalidInput(format!("{for_what} needs {var}")))
}

/// The policy: `SECOPS_POLICY_FILE`, else what `secops policy load` stored, else the built-in one.
pub async fn load_policy(config: &Config, store: &dyn StateStore) -> Result<Policy> {
    if let Some(path) = &config.decide.policy_file {
        let text = std::fs::read_to_string(path).map_err(|e| SoarError::io(path, e))?;
        return Policy::from_yaml(&text, path).map_err(|e| SoarError::InvalidInput(e.to_string()));
    }
    match store.policy().await? {
        Some(stored) => Policy::from_yaml(&stored.yaml, &format!("the stored policy (from {})", stored.source))
            .map_err(|e| SoarError::InvalidInput(e.to_string())),
        None => Ok(Policy::built_in()),
    }
}

/// A policy document ready for [`StateStore::put_policy`], after checking that it parses.
pub fn stored_policy(yaml: &str, source: &str, now: time::OffsetDateTime) -> Result<StoredPolicy> {
    Policy::from_yaml(yaml, source).map_err(|e| SoarError::InvalidInput(e.to_string()))?;
    Ok(StoredPolicy {
        yaml: yaml.to_owned(),
        sha256: hex::encode(Sha256::digest(yaml.as_bytes())),
        loaded_at: now,
        source: source.to_owned(),
    })
}

/// Where tickets and alerts go: chosen and built by the caller from the notify capability (the
/// outbox in front of Jira/Slack or the local files), so decide never depends on how.
#[derive(Debug, Clone)]
pub struct Outbound {
    pub ticketing: Arc<dyn Ticketing>,
    pub alerts: Arc<dyn Alerts>,
}

/// Every port from the configuration. `pool` is needed when [`needs_database`], `aws` when [`needs_aws`].
pub async fn soar(config: &Config, pool: Option<Pool>, aws: Option<&SdkConfig>, outbound: Outbound) -> Result<Soar> {
    let d = &config.decide;
    let store: Arc<dyn StateStore> = match &d.state_store {
        HotStateStore::Postgres => {
            Arc::new(PgStateStore::new(need(pool.as_ref(), "the PostgreSQL state store", "a database")?.clone()))
        }
        HotStateStore::DynamoDb { tickets_table, state_table } => Arc::new(DynamoStateStore::new(
            need(aws, "the DynamoDB state store", "AWS credentials")?,
            tickets_table,
            state_table,
        )),
    };
    let (hub, controls): (Arc<dyn FindingsHub>, Option<Arc<dyn ControlCatalog>>) = match d.findings_hub {
        FindingsHubTarget::Postgres => (
            Arc::new(PgFindingsHub::new(need(pool.as_ref(), "the PostgreSQL findings hub", "a database")?.clone())),
            None,
        ),
        FindingsHubTarget::SecurityHub => {
            let aws = need(aws, "Security Hub", "AWS credentials")?;
            (
                Arc::new(SecurityHubFindings::new(aws)),
                Some(Arc::new(SecurityHubControls::new(aws, config.member_role_name.clone()))),
            )
        }
    };
    let accounts: Arc<dyn AccountDirectory> = match &d.accounts {
        AccountSource::Organizations => {
            Arc::new(OrganizationsDirectory::new(need(aws, "AWS Organizations", "AWS credentials")?))
        }
        AccountSource::File(path) => {
            if !std::path::Path::new(path).is_file() {
                return Err(SoarError::InvalidInput(format!(
                    "there is no account directory at {path}: write one (see README, 'Account data') or set \
                     SECOPS_ACCOUNT_DIRECTORY=organizations to read AWS Organizations"
                )));
            }
            Arc::new(FileDirectory::load(path)?)
        }
    };
    let quarantine: Arc<dyn Quarantine> = match d.quarantine {
        QuarantineMode::PlanOnly => {
            Arc::new(PlanOnlyQuarantine::new(PathBuf::from(&config.state_dir).join("quarantine-plans.jsonl")))
        }
        QuarantineMode::Ec2 => Arc::new(Ec2Quarantine::new(
            need(aws, "EC2 isolation", "AWS credentials")?,
            config.member_role_name.clone(),
        )),
    };
    let policy = load_policy(config, store.as_ref()).await?;
    Ok(Soar {
        store,
        hub,
        accounts,
        controls,
        ticketing: outbound.ticketing,
        alerts: outbound.alerts,
        quarantine,
        policy: Arc::new(policy),
        clock: Arc::new(SystemClock),
        flags: PipelineFlags {
            pipeline_enabled: config.pipeline_enabled,
            defer_incidents: d.defer_incidents,
            defer_autoremediations: d.defer_autoremediations,
            defer_team_fixes: d.defer_team_fixes,
        },
        regions: config.regions.clone(),
        settings: Settings::default(),
    })
}

/// The database pool and the AWS configuration a step needs, opened once: the pool when
/// `database` (the URL from SECOPS_DATABASE_URL or its SSM parameter), AWS when `aws` or when the
/// URL has to come from SSM.
#[derive(Debug, Clone)]
pub struct Connections {
    pub pool: Option<Pool>,
    pub aws: Option<SdkConfig>,
}

impl Connections {
    pub async fn open(config: &Config, database: bool, aws: bool) -> Result<Connections> {
        let settings = secops_aws::AwsSettings::from_config(config);
        // resolve_database_url loads the SDK itself when only the URL's parameter needs it.
        let aws = if aws { Some(secops_aws::load_sdk_config(&settings).await) } else { None };
        let pool = if database {
            let url = secops_aws::resolve_database_url(config, &settings, aws.as_ref()).await?.ok_or_else(|| {
                SoarError::InvalidInput("this step needs SECOPS_DATABASE_URL or SECOPS_DATABASE_URL_PARAMETER".into())
            })?;
            use secrecy::ExposeSecret;
            Some(secops_store::db::connect_pool(url.expose_secret(), config.database_pool_size).await?)
        } else {
            None
        };
        Ok(Connections { pool, aws })
    }

    /// The pool, for a caller that asked for one.
    pub fn pool(&self) -> Result<Pool> {
        self.pool.clone().ok_or_else(|| SoarError::InvalidInput("no database connection was opened".into()))
    }
}
