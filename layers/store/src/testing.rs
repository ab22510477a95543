//! The test harness: every test gets a fresh, migrated database.
//!
//! With `SECOPS_TEST_DATABASE_URL` set, databases are made on that server. Otherwise one private
//! cluster is started for the whole test run (shared by every test process through a file lock)
//! under the cargo target folder, and a watchdog stops it a few seconds after the last test
//! process has exited. A migrated template database is built once per schema version, and each
//! test database is a copy of it (`CREATE DATABASE … TEMPLATE`), which takes milliseconds.

use crate::cluster::{self, Durability, LocalCluster};
use crate::{db, StoreError};
use deadpool_postgres::Pool;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::OnceLock;

/// A fresh database for one test; it is dropped the next time the harness starts on that server.
#[derive(Debug)]
pub struct TestDb {
    pub name: String,
    pub url: String,
    pub pool: Pool,
}

impl TestDb {
    /// A fresh migrated database. Panics with a clear message when no server can be had: a test
    /// that cannot reach its database must fail, never pass vacuously.
    pub async fn new() -> TestDb {
        match Self::try_new().await {
            Ok(db) => db,
            Err(e) => panic!("test database: {e}"),
        }
    }

    pub async fn try_new() -> Result<TestDb, StoreError> {
        let server = server_url()?;
        let template = template_database(&server).await?;
        static COUNTER: AtomicU32 = AtomicU32::new(0);
        let name = format!("secops_test_{}_{}", std::process::id(), COUNTER.fetch_add(1, Ordering::Relaxed));
        let admin = db::connect(&db::with_database(&server, "postgres")).await?;
        admin
            .batch_execute(&format!("CREATE DATABASE {name} TEMPLATE {template}"))
            .await
            .map_err(StoreError::query("create a test database"))?;
        let url = db::with_database(&server, &name);
        let pool = db::connect_pool(&url, 4).await?;
        Ok(TestDb { name, url, pool })
    }
}

/// The server URL (its `postgres` database), started at most once per process.
fn server_url() -> Result<String, StoreError> {
    static URL: OnceLock<Result<String, String>> = OnceLock::new();
    URL.get_or_init(|| match std::env::var("SECOPS_TEST_DATABASE_URL") {
        Ok(url) if !url.trim().is_empty() => Ok(url),
        _ => start_shared_cluster().map_err(|e| e.to_string()),
    })
    .clone()
    .map_err(|message| StoreError::Cluster { dir: "test cluster".into(), message })
}

/// The shared private cluster of this test run.
fn start_shared_cluster() -> Result<String, StoreError> {
    let root = cluster::placement(&target_dir().join("secops-test-pg"));
    fs::create_dir_all(&root).map_err(|e| StoreError::Cluster {
        dir: root.display().to_string(),
        message: format!("cannot create folder: {e}"),
    })?;
    let lock_path = root.with_extension("lock");
    let lock = fs::File::create(&lock_path).map_err(|e| StoreError::Cluster {
        dir: lock_path.display().to_string(),
        message: format!("cannot create the lock file: {e}"),
    })?;
    lock.lock().map_err(|e| StoreError::Cluster { dir: lock_path.display().to_string(), message: e.to_string() })?;

    let cluster = LocalCluster::new(&root, Durability::Ephemeral)?;
    let started = cluster.ensure_running()?;
    register_user(&root)?;
    if started {
        spawn_watchdog(&cluster, &root);
    }
    let url = cluster.url("postgres")?;
    drop(lock);
    Ok(url)
}

/// The cargo target folder of the running test binary (it holds CACHEDIR.TAG).
fn target_dir() -> PathBuf {
    if let Ok(exe) = std::env::current_exe() {
        for dir in exe.ancestors().skip(1) {
            if dir.join("CACHEDIR.TAG").is_file() {
                return dir.to_path_buf();
            }
        }
    }
    std::env::temp_dir()
}

fn users_dir(root: &Path) -> PathBuf {
    root.join("users")
}

fn register_user(root: &Path) -> Result<(), StoreError> {
    let users = users_dir(root);
    fs::create_dir_all(&users)
        .and_then(|_| fs::write(users.join(std::process::id().to_string()), b""))
        .map_err(|e| StoreError::Cluster { dir: users.display().to_string(), message: e.to_string() })
}

/// Stop the cluster once no registered test process has been alive for three checks in a row
/// (about 6 s). The last check and the stop happen under the lock `start_shared_cluster` holds
/// while it finds the cluster running and registers its process, so a test process that arrives
/// just then either is seen (and the cluster stays) or finds it stopped and starts it again —
/// never a cluster that stops under it. Bounded: gives up after 6 hours whatever happens.
fn spawn_watchdog(cluster: &LocalCluster, root: &Path) {
    let users = users_dir(root);
    let lock = root.with_extension("lock");
    let stop = cluster.stop_command_line();
    let script = format!(
        r#"alive() {{
  found=1
  for f in '{users}'/*; do
    [ -e "$f" ] || continue
    if kill -0 "${{f##*/}}" 2>/dev/null; then found=0; else rm -f "$f"; fi
  done
  return $found
}}
idle=0; n=0
while [ $n -lt 10800 ]; do
  sleep 2; n=$((n+1))
  if alive; then idle=0; else idle=$((idle+1)); fi
  if [ $idle -ge 3 ]; then
    exec 9>'{lock}'
    flock 9
    if alive; then idle=0; flock -u 9; continue; fi
    {stop} >/dev/null 2>&1
    exit 0
  fi
done
{stop} >/dev/null 2>&1"#,
        users = users.display(),
        lock = lock.display()
    );
    let mut cmd = Command::new("sh");
    cmd.arg("-c").arg(script).stdin(Stdio::null()).stdout(Stdio::null()).stderr(Stdio::null());
    std::os::unix::process::CommandExt::process_group(&mut cmd, 0);
    if let Err(e) = cmd.spawn() {
        tracing::warn!(error = %e, "could not start the test cluster watchdog; stop it with pg_ctl");
    }
}

/// The migrated template of the current schema, built once per server and schema version.
async fn template_database(server: &str) -> Result<String, StoreError> {
    static DONE: OnceLock<String> = OnceLock::new();
    if let Some(name) = DONE.get() {
        return Ok(name.clone());
    }
    let name = format!("secops_template_{}", db::migrations_fingerprint());
    let admin = db::connect(&db::with_database(server, "postgres")).await?;
    drop_stale_test_databases(&admin).await?;
    let exists = admin
        .query_opt("SELECT 1 FROM pg_database WHERE datname = $1", &[&name])
        .await
        .map_err(StoreError::query("look for the template database"))?
        .is_some();
    if !exists {
        // Build under a private name, then publish by renaming: concurrent test processes
        // either see no template or a complete one.
        let building = format!("{name}_{}", uuid::Uuid::new_v4().simple());
        admin
            .batch_execute(&format!("CREATE DATABASE {building}"))
            .await
            .map_err(StoreError::query("create the template database"))?;
        db::migrate(&db::with_database(server, &building)).await?;
        let published = admin.batch_execute(&format!("ALTER DATABASE {building} RENAME TO {name}")).await;
        if published.is_err() {
            // Another process published it first.
            let _ = admin.batch_execute(&format!("DROP DATABASE IF EXISTS {building}")).await;
        }
    }
    let _ = DONE.set(name.clone());
    Ok(name)
}

/// Test databases of processes that are gone are dropped, so the server does not fill up.
async fn drop_stale_test_databases(admin: &tokio_postgres::Client) -> Result<(), StoreError> {
    let rows = admin
        .query("SELECT datname FROM pg_database WHERE datname LIKE 'secops\\_test\\_%'", &[])
        .await
        .map_err(StoreError::query("list test databases"))?;
    for row in rows {
        let name: String = row.get(0);
        let pid = name.split('_').nth(2).and_then(|p| p.parse::<u32>().ok());
        let alive = pid.is_some_and(|p| Path::new(&format!("/proc/{p}")).exists());
        if !alive {
            let _ = admin.batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)")).await;
        }
    }
    Ok(())
}
