//! Scratch databases for the benchmarks: on the configured server (`SECOPS_DATABASE_URL`) or the
//! private cluster, never in the database the user's data lives in. One migrated template is made
//! per run and every benchmark gets a copy (`CREATE DATABASE … TEMPLATE`); all of them are dropped
//! when the run ends, and a cluster the run started is stopped.

use anyhow::{Context, Result};
use secops_core::Config;
use secops_store::db;

use crate::database::Database;

pub struct Scratch {
    database: Option<Database>,
    /// The server's URL with the database part replaced per scratch database.
    server_url: String,
    template: Option<String>,
    created: Vec<String>,
}

/// A fresh, migrated scratch database.
pub struct ScratchDb {
    pub url: String,
    pub pool: secops_store::Pool,
}

impl Scratch {
    /// No database needed (the selected benchmarks are pure computation).
    pub fn none() -> Scratch {
        Scratch { database: None, server_url: String::new(), template: None, created: Vec::new() }
    }

    pub async fn open(config: &Config) -> Result<Scratch> {
        let database = Database::open(config).await.context("opening the database server for scratch databases")?;
        let server_url = database.url().to_owned();
        Ok(Scratch { database: Some(database), server_url, template: None, created: Vec::new() })
    }

    /// A new database named `secops_bench_<pid>_<n>`, migrated, with a pool of `pool_size`.
    pub async fn fresh(&mut self, pool_size: usize) -> Result<ScratchDb> {
        if self.database.is_none() {
            anyhow::bail!("internal: a scratch database was asked for without a server");
        }
        let admin = db::connect(&self.server_url).await.context("connecting to make a scratch database")?;
        let template = match &self.template {
            Some(t) => t.clone(),
            None => {
                let name = format!("secops_bench_{}_template", std::process::id());
                admin
                    .batch_execute(&format!("CREATE DATABASE {name}"))
                    .await
                    .with_context(|| format!("creating scratch database {name} (the role needs CREATEDB)"))?;
                self.created.push(name.clone());
                db::migrate(&db::with_database(&self.server_url, &name))
                    .await
                    .with_context(|| format!("migrating scratch database {name}"))?;
                self.template = Some(name.clone());
                name
            }
        };
        let name = format!("secops_bench_{}_{}", std::process::id(), self.created.len());
        admin
            .batch_execute(&format!("CREATE DATABASE {name} TEMPLATE {template}"))
            .await
            .with_context(|| format!("creating scratch database {name}"))?;
        self.created.push(name.clone());
        let url = db::with_database(&self.server_url, &name);
        let pool = db::connect_pool(&url, pool_size).await?;
        Ok(ScratchDb { url, pool })
    }

    /// Drop every scratch database (newest first: the template goes last) and stop a cluster
    /// this run started.
    pub async fn finish(&mut self) -> Result<()> {
        let Some(database) = self.database.take() else { return Ok(()) };
        let mut problems = Vec::new();
        match db::connect(&self.server_url).await {
            Ok(admin) => {
                for name in self.created.drain(..).rev() {
                    if let Err(e) = admin.batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)")).await {
                        problems.push(format!("dropping scratch database {name}: {e}"));
                    }
                }
            }
            Err(e) => problems.push(format!("connecting to drop the scratch databases {:?}: {e}", self.created)),
        }
        database.finish()?;
        if problems.is_empty() {
            Ok(())
        } else {
            anyhow::bail!("{}", problems.join("; "))
        }
    }
}
