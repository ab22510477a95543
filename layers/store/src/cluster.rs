//! A private PostgreSQL cluster on loopback: the embedded default of the single binary and the
//! test harness's server. `initdb`/`pg_ctl` are found on PATH or under /usr/lib/postgresql/*/bin.
//!
//! PostgreSQL refuses to run as root; when we are root the server runs as the unprivileged user
//! `postgres` (via `runuser`), and the data folder must be reachable by that user. The server
//! listens on 127.0.0.1 only, on a free port picked at each start, with password authentication
//! (the password is generated once and kept beside the data, mode 0600).

use crate::StoreError;
use secrecy::{ExposeSecret, SecretString};
use std::fs;
use std::io::Write;
use std::net::TcpListener;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

pub const SUPERUSER: &str = "secops";
const UNPRIVILEGED_USER: &str = "postgres";

/// How the server is tuned: durable for real data, fast for throw-away test databases.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Durability {
    Durable,
    Ephemeral,
}

#[derive(Debug)]
pub struct LocalCluster {
    root: PathBuf,
    bin: PathBuf,
    run_as: Option<RunAs>,
    durability: Durability,
}

#[derive(Debug, Clone)]
struct RunAs {
    user: &'static str,
    uid: u32,
    gid: u32,
}

impl LocalCluster {
    /// A cluster whose files live in `root` (`root/data`, `root/password`, `root/server.log`).
    /// Nothing is created until [`LocalCluster::ensure_running`].
    pub fn new(root: impl Into<PathBuf>, durability: Durability) -> Result<Self, StoreError> {
        let bin = find_bin_dir().ok_or(StoreError::PostgresNotInstalled)?;
        let run_as = if is_root() { Some(unprivileged_user()?) } else { None };
        let root = absolute(&root.into());
        Ok(Self { root, bin, run_as, durability })
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    fn data_dir(&self) -> PathBuf {
        self.root.join("data")
    }

    fn err(&self, message: impl Into<String>) -> StoreError {
        StoreError::Cluster { dir: self.root.display().to_string(), message: message.into() }
    }

    pub fn is_initialized(&self) -> bool {
        self.data_dir().join("PG_VERSION").is_file()
    }

    /// Create the cluster if needed and start it if it is not running.
    /// Returns whether this call started the server (so the caller knows whether to stop it).
    pub fn ensure_running(&self) -> Result<bool, StoreError> {
        if !self.is_initialized() {
            self.init()?;
        }
        if self.running_port().is_some() {
            return Ok(false);
        }
        self.start()?;
        Ok(true)
    }

    fn init(&self) -> Result<(), StoreError> {
        fs::create_dir_all(&self.root).map_err(|e| self.err(format!("cannot create folder: {e}")))?;
        fs::set_permissions(&self.root, fs::Permissions::from_mode(0o700))
            .map_err(|e| self.err(format!("cannot restrict folder: {e}")))?;
        let data = self.data_dir();
        // A half-made data folder from an interrupted initdb is useless: start over.
        if data.exists() {
            fs::remove_dir_all(&data).map_err(|e| self.err(format!("cannot clear a broken data folder: {e}")))?;
        }
        let password = generate_password();
        let password_file = self.root.join("password");
        write_private(&password_file, password.expose_secret())
            .map_err(|e| self.err(format!("cannot write the password file: {e}")))?;
        if let Some(user) = &self.run_as {
            // The server user owns the cluster folder; root keeps access anyway.
            chown(&self.root, user).map_err(|e| self.err(e))?;
            chown(&password_file, user).map_err(|e| self.err(e))?;
            self.check_reachable(user)?;
        }
        let out = self.run(
            self.bin.join("initdb"),
            &[
                "-D".as_ref(),
                data.as_os_str(),
                "-U".as_ref(),
                SUPERUSER.as_ref(),
                "--pwfile".as_ref(),
                password_file.as_os_str(),
                "--auth=scram-sha-256".as_ref(),
                "--encoding=UTF8".as_ref(),
                "--locale=C".as_ref(),
                "--no-instructions".as_ref(),
            ],
        )?;
        if !out.status.success() {
            return Err(self.err(format!("initdb failed: {}", String::from_utf8_lossy(&out.stderr).trim())));
        }
        Ok(())
    }

    /// Every ancestor of the data folder must be searchable by the server user, or initdb fails
    /// with an obscure "permission denied": say plainly what to do instead.
    fn check_reachable(&self, user: &RunAs) -> Result<(), StoreError> {
        let ok = server_user_passes("-w", &self.root);
        if ok {
            Ok(())
        } else {
            Err(self.err(format!(
                "the folder is not reachable by the user '{}' that runs PostgreSQL (we run as root and \
                 PostgreSQL refuses root); choose a folder outside private home folders, e.g. set \
                 SECOPS_STATE_DIR=/var/tmp/secops",
                user.user
            )))
        }
    }

    fn start(&self) -> Result<(), StoreError> {
        let port = free_loopback_port().map_err(|e| self.err(format!("no free loopback port: {e}")))?;
        let mut options = format!("-c listen_addresses=127.0.0.1 -p {port} -c unix_socket_directories=''");
        if self.durability == Durability::Ephemeral {
            // Test databases are thrown away: trade crash safety for speed.
            options.push_str(" -c fsync=off -c synchronous_commit=off -c full_page_writes=off");
        }
        let data = self.data_dir();
        let log = data.join("server.log");
        let out = self.run(
            self.bin.join("pg_ctl"),
            &[
                "start".as_ref(),
                "-D".as_ref(),
                data.as_os_str(),
                "-l".as_ref(),
                log.as_os_str(),
                "-w".as_ref(),
                "-t".as_ref(),
                "60".as_ref(),
                "-o".as_ref(),
                options.as_ref(),
            ],
        )?;
        if !out.status.success() {
            let tail = fs::read_to_string(&log).unwrap_or_default();
            let tail: Vec<&str> = tail.lines().rev().take(5).collect();
            return Err(self.err(format!(
                "pg_ctl start failed: {}; server log: {}",
                String::from_utf8_lossy(&out.stderr).trim(),
                tail.into_iter().rev().collect::<Vec<_>>().join(" | ")
            )));
        }
        Ok(())
    }

    /// Stop the server if it runs (fast shutdown: open sessions are disconnected).
    pub fn stop(&self) -> Result<(), StoreError> {
        if self.running_port().is_none() {
            return Ok(());
        }
        let data = self.data_dir();
        let out = self.run(
            self.bin.join("pg_ctl"),
            &["stop".as_ref(), "-D".as_ref(), data.as_os_str(), "-m".as_ref(), "fast".as_ref(), "-w".as_ref()],
        )?;
        if !out.status.success() {
            return Err(self.err(format!("pg_ctl stop failed: {}", String::from_utf8_lossy(&out.stderr).trim())));
        }
        Ok(())
    }

    /// The shell command that stops this cluster, run as the right user; for the test watchdog,
    /// which outlives the process that started the cluster.
    #[cfg(any(test, feature = "test-harness"))]
    pub(crate) fn stop_command_line(&self) -> String {
        let pg_ctl = format!("'{}' stop -D '{}' -m fast", self.bin.join("pg_ctl").display(), self.data_dir().display());
        match &self.run_as {
            Some(user) => format!("runuser -u {} -- {pg_ctl}", user.user),
            None => pg_ctl,
        }
    }

    /// The port of the running server, from `postmaster.pid`, if the process in it is alive.
    pub fn running_port(&self) -> Option<u16> {
        let pid_file = fs::read_to_string(self.data_dir().join("postmaster.pid")).ok()?;
        let mut lines = pid_file.lines();
        let pid: u32 = lines.next()?.trim().parse().ok()?;
        let port: u16 = lines.nth(2)?.trim().parse().ok()?;
        Path::new(&format!("/proc/{pid}")).exists().then_some(port)
    }

    /// The connection URL of a database on the running server.
    pub fn url(&self, database: &str) -> Result<String, StoreError> {
        let port = self.running_port().ok_or_else(|| self.err("the server is not running"))?;
        let password = fs::read_to_string(self.root.join("password"))
            .map_err(|e| self.err(format!("cannot read the password file: {e}")))?;
        Ok(format!("postgresql://{SUPERUSER}:{}@127.0.0.1:{port}/{database}", password.trim()))
    }

    fn run(&self, program: PathBuf, args: &[&std::ffi::OsStr]) -> Result<Output, StoreError> {
        let mut cmd = match &self.run_as {
            Some(user) => {
                let mut c = Command::new("runuser");
                c.args(["-u", user.user, "--"]).arg(&program);
                c
            }
            None => Command::new(&program),
        };
        cmd.args(args).stdin(Stdio::null()).env("LC_ALL", "C");
        cmd.output().map_err(|e| self.err(format!("cannot run {}: {e}", program.display())))
    }
}

/// `test FLAG path` as the unprivileged server user: can PostgreSQL reach (`-x`) or write (`-w`) there?
fn server_user_passes(flag: &str, path: &Path) -> bool {
    Command::new("runuser")
        .args(["-u", UNPRIVILEGED_USER, "--", "test", flag])
        .arg(path)
        .stdin(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// `initdb` and `pg_ctl` from PATH, else the newest /usr/lib/postgresql/<version>/bin.
pub fn find_bin_dir() -> Option<PathBuf> {
    let has_tools = |d: &Path| d.join("initdb").is_file() && d.join("pg_ctl").is_file() && d.join("postgres").is_file();
    if let Some(path) = std::env::var_os("PATH") {
        for dir in std::env::split_paths(&path) {
            if has_tools(&dir) {
                // Resolve Debian's /usr/local/bin symlinks to the real bin folder.
                let real = fs::canonicalize(dir.join("initdb")).ok()?;
                return real.parent().map(Path::to_path_buf).filter(|d| has_tools(d)).or(Some(dir));
            }
        }
    }
    let mut versions: Vec<(u32, PathBuf)> = fs::read_dir("/usr/lib/postgresql")
        .ok()?
        .filter_map(|e| e.ok())
        .filter_map(|e| Some((e.file_name().to_str()?.parse::<u32>().ok()?, e.path().join("bin"))))
        .filter(|(_, d)| has_tools(d))
        .collect();
    versions.sort();
    versions.pop().map(|(_, d)| d)
}

pub(crate) fn is_root() -> bool {
    // The owner of /proc/self is our effective uid; no libc call needed.
    use std::os::unix::fs::MetadataExt;
    fs::metadata("/proc/self").map(|m| m.uid() == 0).unwrap_or(false)
}

fn unprivileged_user() -> Result<RunAs, StoreError> {
    let passwd = fs::read_to_string("/etc/passwd").unwrap_or_default();
    passwd
        .lines()
        .map(|l| l.split(':').collect::<Vec<_>>())
        .find(|f| f.len() > 3 && f[0] == UNPRIVILEGED_USER)
        .and_then(|f| Some(RunAs { user: UNPRIVILEGED_USER, uid: f[2].parse().ok()?, gid: f[3].parse().ok()? }))
        .ok_or(StoreError::Cluster {
            dir: String::new(),
            message: "running as root, and PostgreSQL refuses root: create the unprivileged user 'postgres' \
                      (./scripts/bootstrap does it) or run as a normal user"
                .into(),
        })
}

fn chown(path: &Path, user: &RunAs) -> Result<(), String> {
    std::os::unix::fs::chown(path, Some(user.uid), Some(user.gid))
        .map_err(|e| format!("cannot give {} to user {}: {e}", path.display(), user.user))
}

fn absolute(p: &Path) -> PathBuf {
    if p.is_absolute() {
        p.to_path_buf()
    } else {
        std::env::current_dir().map(|d| d.join(p)).unwrap_or_else(|_| p.to_path_buf())
    }
}

fn write_private(path: &Path, content: &str) -> std::io::Result<()> {
    let mut f = fs::OpenOptions::new().write(true).create(true).truncate(true).mode(0o600).open(path)?;
    f.write_all(content.as_bytes())?;
    f.write_all(b"\n")
}

fn generate_password() -> SecretString {
    SecretString::from(uuid::Uuid::new_v4().simple().to_string())
}

/// Ask the kernel for a free port; the tiny race until postgres binds it is retried by callers.
fn free_loopback_port() -> std::io::Result<u16> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

/// FNV-1a: a stable short name for a path, used to place clusters of unreachable folders.
pub fn stable_hash(s: &str) -> String {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in s.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    format!("{h:016x}")
}

/// Where to keep a cluster whose natural home is `preferred`: there, unless we are root and the
/// server user cannot reach it (e.g. a clone under /root); then a stable folder under
/// /var/tmp/secops-autopilot named after `preferred`, so each project keeps its own cluster.
pub fn placement(preferred: &Path) -> PathBuf {
    let preferred = absolute(preferred);
    if !is_root() {
        return preferred;
    }
    let mut probe = preferred.as_path();
    while !probe.exists() {
        match probe.parent() {
            Some(p) => probe = p,
            None => break,
        }
    }
    let reachable = server_user_passes("-x", probe);
    if reachable {
        preferred
    } else {
        PathBuf::from("/var/tmp/secops-autopilot").join(stable_hash(&preferred.to_string_lossy()))
    }
}
