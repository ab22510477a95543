//! Which database the CLI uses: `SECOPS_DATABASE_URL`, an SSM parameter, or — the embedded
//! default — a private cluster under the state folder, started on demand.

use anyhow::{Context, Result};
use secops_core::{Config, DatabaseSource};
use secops_store::cluster::{self, Durability, LocalCluster};
use secops_store::db;
use secrecy::{ExposeSecret, SecretString};
use std::path::PathBuf;
use std::process::ExitCode;

/// An open database choice; call [`Database::finish`] to stop a cluster this command started.
pub struct Database {
    url: SecretString,
    cluster: Option<LocalCluster>,
    started_here: bool,
}

impl Database {
    pub async fn open(config: &Config) -> Result<Database> {
        let settings = secops_aws::AwsSettings::from_config(config);
        if let Some(url) = secops_aws::resolve_database_url(config, &settings, None)
            .await
            .context("reading the database URL from SSM (SECOPS_DATABASE_URL_PARAMETER)")?
        {
            return Ok(Database { url, cluster: None, started_here: false });
        }
        // Nothing configured: the embedded default.
        let cluster = LocalCluster::new(cluster_dir(config), Durability::Durable)?;
        let fresh = !cluster.is_initialized();
        let started_here = tokio::task::block_in_place(|| cluster.ensure_running())?;
        let what = match (fresh, started_here) {
            (true, _) => "created and started",
            (false, true) => "started",
            (false, false) => "already running",
        };
        eprintln!(
            "database: private PostgreSQL cluster at {} ({what}; set SECOPS_DATABASE_URL to use another server)",
            cluster.root().display()
        );
        let url = SecretString::from(cluster.url("postgres")?);
        Ok(Database { url, cluster: Some(cluster), started_here })
    }

    pub fn url(&self) -> &str {
        self.url.expose_secret()
    }

    pub fn describe(&self) -> String {
        db::describe_url(self.url())
    }

    /// Stop the private cluster if this command started it; a cluster started by `secops db
    /// start` (or by another command still running) is left alone.
    pub fn finish(self) -> Result<()> {
        if let (Some(cluster), true) = (&self.cluster, self.started_here) {
            cluster.stop()?;
        }
        Ok(())
    }

    fn keep_running(mut self) {
        self.started_here = false;
    }
}

/// Open the database (the private cluster by default), bring its schema up to date, run `f` with
/// its URL, and stop the cluster again if this command started it.
pub async fn with_migrated<T>(config: &Config, f: impl AsyncFnOnce(&str) -> Result<T>) -> Result<T> {
    let database = Database::open(config).await?;
    let outcome = async {
        db::migrate(database.url()).await?;
        f(database.url()).await
    }
    .await;
    database.finish()?;
    outcome
}

fn cluster_dir(config: &Config) -> PathBuf {
    cluster::placement(&PathBuf::from(&config.state_dir).join("pg"))
}

pub async fn migrate(config: &Config) -> Result<ExitCode> {
    let database = Database::open(config).await?;
    let applied = db::migrate(database.url()).await?;
    if applied.is_empty() {
        println!("migrations: schema of {} is up to date", database.describe());
    }
    for m in &applied {
        println!("migrations: applied V{:03}__{} to {}", m.version, m.name, database.describe());
    }
    database.finish()?;
    Ok(ExitCode::SUCCESS)
}

pub async fn status(config: &Config) -> Result<ExitCode> {
    let database = Database::open(config).await?;
    let states = db::status(database.url()).await?;
    println!("database: {}", database.describe());
    let pending = states.iter().filter(|m| m.applied_on.is_none()).count();
    for m in &states {
        let when = m.applied_on.as_deref().unwrap_or("pending");
        println!("  V{:03}__{:<30} {when}", m.version, m.name);
    }
    println!("{} migrations, {} applied, {pending} pending", states.len(), states.len() - pending);
    database.finish()?;
    Ok(ExitCode::SUCCESS)
}

pub async fn start(config: &Config) -> Result<ExitCode> {
    if !matches!(config.database, DatabaseSource::Embedded) {
        anyhow::bail!(
            "SECOPS_DATABASE_URL or SECOPS_DATABASE_URL_PARAMETER is set: there is no private cluster to start"
        );
    }
    let database = Database::open(config).await?;
    db::migrate(database.url()).await?;
    println!("database: {} is running; stop it with `secops db stop`", database.describe());
    database.keep_running();
    Ok(ExitCode::SUCCESS)
}

pub fn stop(config: &Config) -> Result<ExitCode> {
    let cluster = LocalCluster::new(cluster_dir(config), Durability::Durable)?;
    if cluster.running_port().is_none() {
        println!("database: the private cluster at {} is not running", cluster.root().display());
    } else {
        cluster.stop()?;
        println!("database: stopped the private cluster at {}", cluster.root().display());
    }
    Ok(ExitCode::SUCCESS)
}
