//! Connection pool and migrations.

use crate::StoreError;
use deadpool_postgres::{Manager, ManagerConfig, Pool, RecyclingMethod};
use std::str::FromStr;
use tokio_postgres::NoTls;

mod embedded {
    refinery::embed_migrations!("../../migrations");
}

/// Serializes migrations across processes (several Lambdas may cold-start at once).
const MIGRATION_LOCK_KEY: i64 = 0x005e_c0b5_0001;

/// `url` with its database replaced by `database` (URLs here are
/// postgresql://user:pass@host:port/db[?params]): scratch and test databases on one server.
pub fn with_database(url: &str, database: &str) -> String {
    let (base, query) = url.split_once('?').map_or((url, None), |(b, q)| (b, Some(q)));
    let authority = base.find("://").map_or(0, |i| i + 3);
    let base = match base[authority..].find('/') {
        Some(i) => &base[..authority + i],
        None => base,
    };
    match query {
        Some(q) => format!("{base}/{database}?{q}"),
        None => format!("{base}/{database}"),
    }
}

/// Where a URL points, without its password, for messages and logs.
pub fn describe_url(url: &str) -> String {
    match tokio_postgres::Config::from_str(url) {
        Ok(c) => {
            let host = c
                .get_hosts()
                .first()
                .map(|h| match h {
                    tokio_postgres::config::Host::Tcp(h) => h.clone(),
                    tokio_postgres::config::Host::Unix(p) => p.display().to_string(),
                })
                .unwrap_or_else(|| "localhost".into());
            let port = c.get_ports().first().copied().unwrap_or(5432);
            format!("{}@{host}:{port}/{}", c.get_user().unwrap_or("?"), c.get_dbname().unwrap_or("?"))
        }
        Err(_) => "<unparseable URL>".into(),
    }
}

fn parse(url: &str) -> Result<tokio_postgres::Config, StoreError> {
    tokio_postgres::Config::from_str(url).map_err(|e| StoreError::BadUrl(e.to_string()))
}

/// A pool of `size` connections; connections are made lazily and checked on first use.
pub async fn connect_pool(url: &str, size: usize) -> Result<Pool, StoreError> {
    let mut config = parse(url)?;
    config.application_name("secops-autopilot");
    config.connect_timeout(std::time::Duration::from_secs(10));
    let manager = Manager::from_config(config, NoTls, ManagerConfig { recycling_method: RecyclingMethod::Fast });
    let pool = Pool::builder(manager)
        .max_size(size)
        .runtime(deadpool_postgres::Runtime::Tokio1)
        .build()
        .map_err(|e| StoreError::Pool(e.to_string()))?;
    // Fail now, with the target named, rather than in the middle of the first step.
    let _probe = pool.get().await.map_err(|e| match e {
        deadpool_postgres::PoolError::Backend(error) => StoreError::Connect { target: describe_url(url), error },
        other => StoreError::Pool(format!("{}: {other}", describe_url(url))),
    })?;
    Ok(pool)
}

/// A connection from the pool; a failure to get one is worth a retry (Transient).
pub async fn client(pool: &Pool) -> Result<deadpool_postgres::Object, StoreError> {
    pool.get().await.map_err(|e| StoreError::Pool(e.to_string()))
}

/// One connection outside any pool (migrations, administration).
pub async fn connect(url: &str) -> Result<tokio_postgres::Client, StoreError> {
    let (client, connection) =
        parse(url)?.connect(NoTls).await.map_err(|error| StoreError::Connect { target: describe_url(url), error })?;
    tokio::spawn(async move {
        if let Err(e) = connection.await {
            tracing::debug!(error = %e, "database connection closed");
        }
    });
    Ok(client)
}

/// One migration as known to this binary and the database.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MigrationState {
    pub version: i32,
    pub name: String,
    pub applied_on: Option<String>,
}

/// Apply every pending migration, under a cluster-wide advisory lock. Returns those applied now.
pub async fn migrate(url: &str) -> Result<Vec<MigrationState>, StoreError> {
    let mut client = connect(url).await?;
    client
        .execute("SELECT pg_advisory_lock($1)", &[&MIGRATION_LOCK_KEY])
        .await
        .map_err(StoreError::query("take the migration lock"))?;
    let report = embedded::migrations::runner().set_abort_divergent(true).run_async(&mut client).await;
    let unlock = client.execute("SELECT pg_advisory_unlock($1)", &[&MIGRATION_LOCK_KEY]).await;
    let report = report.map_err(|e| StoreError::Migration(e.to_string()))?;
    unlock.map_err(StoreError::query("release the migration lock"))?;
    Ok(report
        .applied_migrations()
        .iter()
        .map(|m| MigrationState {
            version: m.version(),
            name: m.name().to_owned(),
            applied_on: m.applied_on().map(|t| t.to_string()),
        })
        .collect())
}

/// Every migration this binary carries, with when it was applied (None = pending).
pub async fn status(url: &str) -> Result<Vec<MigrationState>, StoreError> {
    let mut client = connect(url).await?;
    let runner = embedded::migrations::runner();
    let has_history = client
        .query_one("SELECT to_regclass('refinery_schema_history') IS NOT NULL", &[])
        .await
        .map_err(StoreError::query("look for the migration history"))?
        .get::<_, bool>(0);
    let applied = if has_history {
        runner.get_applied_migrations_async(&mut client).await.map_err(|e| StoreError::Migration(e.to_string()))?
    } else {
        Vec::new()
    };
    Ok(runner
        .get_migrations()
        .iter()
        .map(|m| MigrationState {
            version: m.version(),
            name: m.name().to_owned(),
            applied_on: applied
                .iter()
                .find(|a| a.version() == m.version())
                .and_then(|a| a.applied_on().map(|t| t.to_string())),
        })
        .collect())
}

/// A fingerprint of the embedded migrations, so cached template databases follow schema changes.
pub fn migrations_fingerprint() -> String {
    let all: String = embedded::migrations::runner()
        .get_migrations()
        .iter()
        .map(|m| format!("{}:{}:{};", m.version(), m.name(), m.checksum()))
        .collect();
    crate::cluster::stable_hash(&all)
}

#[cfg(test)]
mod with_database_tests {
    use super::with_database;

    #[test]
    fn database_is_swapped_in_urls() {
        assert_eq!(with_database("postgresql://u:p@127.0.0.1:5/postgres", "x"), "postgresql://u:p@127.0.0.1:5/x");
        assert_eq!(
            with_database("postgresql://u:p@h:5/db?sslmode=disable", "x"),
            "postgresql://u:p@h:5/x?sslmode=disable"
        );
        assert_eq!(with_database("postgresql://u@h:5", "x"), "postgresql://u@h:5/x");
    }

    #[test]
    fn the_database_part_is_replaced_and_parameters_kept() {
        assert_eq!(with_database("postgresql://u:p@127.0.0.1:5432/app", "x"), "postgresql://u:p@127.0.0.1:5432/x");
        assert_eq!(
            with_database("postgresql://u@h:1/app?sslmode=disable", "x"),
            "postgresql://u@h:1/x?sslmode=disable"
        );
        assert_eq!(with_database("postgresql://u@h:1", "x"), "postgresql://u@h:1/x");
    }
}
