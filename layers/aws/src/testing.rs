//! A `moto_server` on loopback for adapter tests: one server per test, stopped on drop.

use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

#[derive(Debug)]
pub struct MotoServer {
    child: Child,
    pub endpoint: String,
}

/// The repository's launcher that runs moto_server with the S3 XML roots aws-sdk-s3 needs
/// (`scripts/lib/moto_server_patched.py`).
fn patched_launcher() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../scripts/lib/moto_server_patched.py")
}

/// How to run moto: `SECOPS_MOTO_SERVER` as given; else the patched launcher with the python next
/// to the moto_server found (so the launcher imports that moto); else moto_server itself.
fn moto_command() -> (PathBuf, Vec<String>) {
    let bin = moto_binary();
    if std::env::var_os("SECOPS_MOTO_SERVER").is_none() {
        let python = bin.parent().map(|dir| dir.join("python3")).filter(|p| p.is_file());
        let launcher = patched_launcher();
        if let (Some(python), true) = (python, launcher.is_file()) {
            return (python, vec![launcher.display().to_string()]);
        }
    }
    (bin, Vec::new())
}

/// `SECOPS_MOTO_SERVER`, else the bootstrap tool venv, else PATH.
fn moto_binary() -> PathBuf {
    if let Some(p) = std::env::var_os("SECOPS_MOTO_SERVER") {
        return p.into();
    }
    let tools = std::env::var_os("SECOPS_TOOLS_DIR")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache/secops-autopilot/tools")));
    if let Some(candidate) = tools.map(|t| t.join("venv/bin/moto_server")).filter(|p| p.is_file()) {
        return candidate;
    }
    PathBuf::from("moto_server")
}

impl MotoServer {
    /// Start moto_server on 127.0.0.1 and wait (at most 20 s) until it accepts connections.
    /// Panics with what to run when moto is missing: a test without its server must fail.
    pub fn start() -> MotoServer {
        let (bin, launcher_args) = moto_command();
        for _attempt in 0..3 {
            let port = TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).map(|a| a.port()).unwrap_or(0);
            let child = Command::new(&bin)
                .args(&launcher_args)
                .args(["-H", "127.0.0.1", "-p", &port.to_string()])
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .unwrap_or_else(|e| {
                    panic!("cannot start {}: {e}; run ./scripts/bootstrap (it installs moto[server])", bin.display())
                });
            let mut server = MotoServer { child, endpoint: format!("http://127.0.0.1:{port}") };
            let deadline = Instant::now() + Duration::from_secs(20);
            while Instant::now() < deadline {
                if let Ok(Some(_)) = server.child.try_wait() {
                    break; // exited: port taken, try another
                }
                if TcpStream::connect(("127.0.0.1", port)).is_ok() {
                    return server;
                }
                std::thread::sleep(Duration::from_millis(50));
            }
            let _ = server.child.kill();
        }
        panic!("moto_server ({}) did not start on loopback in 3 attempts", bin.display())
    }
}

impl Drop for MotoServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
