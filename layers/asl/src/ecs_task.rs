//! `arn:aws:states:::ecs:runTask.waitForTaskToken` locally: the analyst binary as an isolated
//! subprocess with the container overrides as its environment.
//!
//! On AWS the state machine starts a Fargate task and waits for the task token; the task reports
//! with SendTaskSuccess/SendTaskFailure. Here [`AnalystTaskRunner`] reads the same RunTask
//! `Parameters` (`Overrides.ContainerOverrides[]` for the `analyst` container: `Environment` and
//! optional `Command`), and runs the binary with:
//!
//! - an environment built from nothing (`env_clear`): the explicit base allow-list, the container
//!   overrides, `AWS_ENDPOINT_URL_SFN` = the loopback [`crate::callback_server::CallbackServer`],
//!   dummy static credentials, `AWS_REGION`, and `HOME`/`TMPDIR`;
//! - a fresh private directory (mode 0700) as working directory, `HOME` and `TMPDIR`, removed
//!   when the task ends, whichever way it ends;
//! - stdin closed, stdout/stderr captured (the last few KiB are kept for error messages);
//! - `kill_on_drop`: the executor drops the future on timeout or cancellation, which kills the
//!   child. (Only the child: a grandchild that it started and detached is not tracked.)
//! - optional [`AnalystLimits`]: a CPU-time and an address-space limit (`RLIMIT_CPU`,
//!   `RLIMIT_AS`), and a wall-clock timeout after which the child is killed and the task fails
//!   with [`TIMEOUT_ERROR`]. A crash, hang or runaway in one analysis thus fails only that task;
//!   the state machine's own `TimeoutSeconds` still applies on top.
//!
//! The future resolves when the process exits. The executor waits for the callback on the token
//! at the same time; this handler only turns a process that crashed, or that exited 0 without
//! reporting, into a failure.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{ExitStatus, Stdio};
use std::time::Duration;

use secops_core::json::kind;
use serde_json::{json, Value};
use tokio::io::{AsyncRead, AsyncReadExt};

use crate::tasks::{BoxFuture, CallbackHub, TaskFailure, TaskHandler, TaskInvocation};

/// The resource this handler is registered under.
pub const RESOURCE: &str = "arn:aws:states:::ecs:runTask.waitForTaskToken";
/// The container the overrides are for.
pub const ANALYST_CONTAINER: &str = "analyst";
/// The environment variable the definition passes `$$.Task.Token` in.
pub use secops_core::analyst_task::TASK_TOKEN as TASK_TOKEN_ENV;
/// The error of a task whose parameters are malformed (a definition bug, not a task failure).
pub const PARAMETERS_ERROR: &str = "States.Runtime";
/// The error of a task whose process failed.
pub const TASK_FAILED: &str = "States.TaskFailed";
/// The error of a task whose process outlived [`AnalystLimits::wall_clock`] (the error Step
/// Functions gives a task that exceeds its own `TimeoutSeconds`, so one `Retry`/`Catch` covers both).
pub const TIMEOUT_ERROR: &str = "States.Timeout";

/// How much of stdout and stderr is kept.
const TAIL_BYTES: usize = 4096;
/// After the process exits, how long to wait for its pipes to reach end of file (a grandchild
/// may hold them open).
const PIPE_DRAIN_GRACE: Duration = Duration::from_secs(1);
/// Variables the runner sets itself, or that would change how the program is loaded: neither
/// the base environment nor the overrides may set them.
const RESERVED_NAMES: &[&str] = &["HOME", "TMPDIR"];
const RESERVED_PREFIXES: &[&str] = &["AWS_", "LD_", "DYLD_"];
/// The CPU-time hard limit is this much above the soft one: the soft limit sends SIGXCPU (which
/// a process may catch to report), the hard one SIGKILL.
const CPU_KILL_GRACE_SECONDS: u64 = 5;
/// After SIGKILL, how long to wait for the kernel to reap the child before giving up on it
/// (tokio reaps it later in the background).
const KILL_WAIT: Duration = Duration::from_secs(5);

/// Limits on one analyst process; `None` is no limit. [`AnalystLimits::default`] limits nothing.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct AnalystLimits {
    /// From spawn to exit; past it the child is killed and the task fails with [`TIMEOUT_ERROR`].
    pub wall_clock: Option<Duration>,
    /// `RLIMIT_CPU`, seconds of CPU time (user + system, all threads).
    pub cpu_seconds: Option<u64>,
    /// `RLIMIT_AS`, bytes of virtual address space.
    pub memory_bytes: Option<u64>,
}

impl AnalystLimits {
    /// The limits for a real analysis: 600 s wall clock, 300 s of CPU, 1 GiB of address space.
    ///
    /// Memory is limited by address space because resident memory cannot be by an rlimit:
    /// Linux ignores `RLIMIT_RSS` (a cgroup would do, but needs privileges we do not assume).
    /// Address space counts what is reserved, not what is used: a tokio binary reserves a stack
    /// per worker thread and glibc up to a 64 MiB heap arena per thread, mostly never touched,
    /// so the virtual size is many times the resident one. 1 GiB is therefore
    /// generous for a process whose resident size is about 20 MB, yet stops a runaway allocation
    /// long before it hurts the host.
    pub fn standard() -> Self {
        Self {
            wall_clock: Some(Duration::from_secs(600)),
            cpu_seconds: Some(300),
            memory_bytes: Some(1024 * 1024 * 1024),
        }
    }
}

/// Runs the analyst binary for `ecs:runTask.waitForTaskToken`. Build it with [`AnalystTaskRunner::new`]
/// and the `with_*` methods, then register it under [`RESOURCE`].
#[derive(Debug, Clone)]
pub struct AnalystTaskRunner {
    program: PathBuf,
    command: Vec<String>,
    callback_url: String,
    base_env: BTreeMap<String, String>,
    region: String,
    container: String,
    temp_root: PathBuf,
    limits: AnalystLimits,
}

impl AnalystTaskRunner {
    /// `program`: the analyst binary (the container's entry point); `callback_url`: the
    /// [`crate::callback_server::CallbackServer::endpoint_url`] it reports to.
    pub fn new(program: impl Into<PathBuf>, callback_url: impl Into<String>) -> Self {
        Self {
            program: program.into(),
            command: Vec::new(),
            callback_url: callback_url.into(),
            base_env: BTreeMap::new(),
            region: "us-east-1".into(),
            container: ANALYST_CONTAINER.into(),
            temp_root: std::env::temp_dir(),
            limits: AnalystLimits::default(),
        }
    }

    /// One variable of the base environment (e.g. `SECOPS_DATABASE_URL`, `RUST_LOG`). Nothing of
    /// the executor's own environment reaches the child unless it is passed here.
    pub fn with_env(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.base_env.insert(name.into(), value.into());
        self
    }

    /// Several variables of the base environment.
    pub fn with_base_env<K: Into<String>, V: Into<String>>(mut self, vars: impl IntoIterator<Item = (K, V)>) -> Self {
        self.base_env.extend(vars.into_iter().map(|(k, v)| (k.into(), v.into())));
        self
    }

    /// `AWS_REGION` for the child (default us-east-1) and the region in the task ARN.
    pub fn with_region(mut self, region: impl Into<String>) -> Self {
        self.region = region.into();
        self
    }

    /// The default arguments (the container's `CMD`), replaced by an override's `Command`.
    pub fn with_command<S: Into<String>>(mut self, args: impl IntoIterator<Item = S>) -> Self {
        self.command = args.into_iter().map(Into::into).collect();
        self
    }

    /// The container name the overrides must use (default `analyst`).
    pub fn with_container_name(mut self, name: impl Into<String>) -> Self {
        self.container = name.into();
        self
    }

    /// Where the per-task private directories are created (default: the system temp dir).
    pub fn with_temp_root(mut self, dir: impl Into<PathBuf>) -> Self {
        self.temp_root = dir.into();
        self
    }

    /// CPU-time, memory and wall-clock limits for each process (default: none).
    pub fn with_limits(mut self, limits: AnalystLimits) -> Self {
        self.limits = limits;
        self
    }

    pub fn limits(&self) -> AnalystLimits {
        self.limits
    }

    pub fn program(&self) -> &Path {
        &self.program
    }

    pub fn callback_url(&self) -> &str {
        &self.callback_url
    }

    /// Run one task to the end of its process; see the module documentation.
    pub async fn run(&self, call: TaskInvocation, callbacks: CallbackHub) -> Result<Value, TaskFailure> {
        for (name, value) in &self.base_env {
            check_env(name, value).map_err(|m| TaskFailure::new(PARAMETERS_ERROR, format!("base environment: {m}")))?;
        }
        let overrides = ContainerOverride::parse(&call.input, &self.container)
            .map_err(|m| TaskFailure::new(PARAMETERS_ERROR, format!("state '{}': {m}", call.state_name)))?;
        let token = overrides
            .environment
            .iter()
            .rev()
            .find(|(name, _)| name == TASK_TOKEN_ENV)
            .map(|(_, value)| value.clone())
            .or_else(|| call.task_token.clone());

        let task_id = uuid::Uuid::new_v4().simple().to_string();
        let task_arn = format!("arn:aws:ecs:{}:000000000000:task/local/{task_id}", self.region);
        let name = self.container.as_str();
        let failed = |cause: String| TaskFailure::new(TASK_FAILED, cause);

        // Declared before the child so that, when the future is dropped, the child is killed first
        // and the directory removed after.
        let dir = PrivateDir::create(&self.temp_root).map_err(|e| {
            failed(format!("{name}: cannot create a private directory in {}: {e}", self.temp_root.display()))
        })?;

        let mut command = tokio::process::Command::new(&self.program);
        command
            .args(overrides.command.as_ref().unwrap_or(&self.command))
            .env_clear()
            .envs(&self.base_env)
            .envs(overrides.environment.iter().map(|(k, v)| (k, v)))
            .env("AWS_ENDPOINT_URL_SFN", &self.callback_url)
            .env("AWS_ACCESS_KEY_ID", "local")
            .env("AWS_SECRET_ACCESS_KEY", "local")
            .env("AWS_REGION", &self.region)
            .env("HOME", dir.path())
            .env("TMPDIR", dir.path())
            .current_dir(dir.path())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        let mut child =
            command.spawn().map_err(|e| failed(format!("{name}: cannot start {}: {e}", self.program.display())))?;
        let pid = child.id();
        // prlimit after spawn, not setrlimit in a pre_exec hook: the workspace forbids unsafe
        // code. Between exec and here the analyst runs unlimited for the microseconds of its own
        // start-up, which is not where a runaway analysis happens. No await comes between the
        // spawn and this call.
        if let Err(e) = apply_limits(pid, &self.limits) {
            kill_and_reap(&mut child).await;
            return Err(failed(format!("{name}: cannot apply the resource limits, so the process was killed: {e}")));
        }
        tracing::info!(
            state = %call.state_name,
            execution = %call.execution_name,
            task_arn = %task_arn,
            pid,
            "{name} task started"
        );

        let stdout = child.stdout.take();
        let stderr = child.stderr.take();
        let mut out_tail = Tail::new(TAIL_BYTES);
        let mut err_tail = Tail::new(TAIL_BYTES);
        let status = {
            let drain = async { tokio::join!(drain(stdout, &mut out_tail), drain(stderr, &mut err_tail)) };
            tokio::pin!(drain);
            let mut drained = false;
            let exit = async {
                loop {
                    tokio::select! {
                        status = child.wait() => break status,
                        _ = &mut drain, if !drained => drained = true,
                    }
                }
            };
            let status = match self.limits.wall_clock {
                None => exit.await,
                Some(limit) => match tokio::time::timeout(limit, exit).await.ok() {
                    Some(status) => status,
                    None => {
                        kill_and_reap(&mut child).await;
                        drop(dir);
                        tracing::warn!(task_arn = %task_arn, pid, "{name} task killed at its wall-clock limit");
                        return Err(TaskFailure::new(
                            TIMEOUT_ERROR,
                            format!("{name} exceeded its wall-clock limit of {} and was killed", seconds(limit)),
                        ));
                    }
                },
            };
            if !drained {
                let _ = tokio::time::timeout(PIPE_DRAIN_GRACE, &mut drain).await;
            }
            status
        };
        let status = status.map_err(|e| failed(format!("{name}: waiting for the process failed: {e}")))?;
        drop(dir);

        let stderr = err_tail.render();
        tracing::info!(task_arn = %task_arn, status = %status, "{name} task stopped");
        if !stderr.is_empty() {
            tracing::debug!(task_arn = %task_arn, stderr = %stderr, stdout = %out_tail.render(), "{name} output (tail)");
        }

        let Some(code) = status.code().filter(|&c| c == 0) else {
            let detail = if stderr.is_empty() { "(no output on stderr)".to_owned() } else { stderr };
            return Err(failed(format!("{name} {}: {detail}", describe(status, &self.limits))));
        };
        if let Some(token) = &token {
            if callbacks.is_waiting(token) {
                return Err(failed(format!(
                    "{name} exited with status 0 without reporting on its task token \
                     (no SendTaskSuccess or SendTaskFailure)"
                )));
            }
        }
        let mut task = json!({
            "TaskArn": task_arn,
            "ClusterArn": format!("arn:aws:ecs:{}:000000000000:cluster/local", self.region),
            "LastStatus": "STOPPED",
            "DesiredStatus": "STOPPED",
            "StopCode": "EssentialContainerExited",
            "StoppedReason": "Essential container in task exited",
            "Containers": [{"Name": name, "ExitCode": code, "LastStatus": "STOPPED"}],
        });
        if let Some(definition) = call.input.get("TaskDefinition").and_then(Value::as_str) {
            task["TaskDefinitionArn"] = json!(definition);
        }
        Ok(json!({"Tasks": [task], "Failures": []}))
    }
}

impl TaskHandler for AnalystTaskRunner {
    fn invoke(&self, call: TaskInvocation, callbacks: CallbackHub) -> BoxFuture<'static, Result<Value, TaskFailure>> {
        let runner = self.clone();
        Box::pin(async move { runner.run(call, callbacks).await })
    }
}

/// What the RunTask parameters say about the analyst container.
#[derive(Debug, Default, PartialEq)]
struct ContainerOverride {
    environment: Vec<(String, String)>,
    command: Option<Vec<String>>,
}

impl ContainerOverride {
    /// `Overrides.ContainerOverrides[]`: at most one entry, for `container`; errors name the field.
    fn parse(parameters: &Value, container: &str) -> Result<ContainerOverride, String> {
        let parameters = parameters
            .as_object()
            .ok_or_else(|| format!("Parameters: expected an object, got {}", kind(parameters)))?;
        let overrides = match parameters.get("Overrides") {
            None | Some(Value::Null) => return Ok(ContainerOverride::default()),
            Some(Value::Object(o)) => o,
            Some(other) => return Err(format!("Overrides: expected an object, got {}", kind(other))),
        };
        let entries = match overrides.get("ContainerOverrides") {
            None | Some(Value::Null) => return Ok(ContainerOverride::default()),
            Some(Value::Array(a)) => a,
            Some(other) => return Err(format!("Overrides.ContainerOverrides: expected an array, got {}", kind(other))),
        };
        let mut found: Option<ContainerOverride> = None;
        for (i, entry) in entries.iter().enumerate() {
            let at = format!("Overrides.ContainerOverrides[{i}]");
            let entry = entry.as_object().ok_or_else(|| format!("{at}: expected an object, got {}", kind(entry)))?;
            let name = match entry.get("Name") {
                Some(Value::String(n)) => n,
                Some(other) => return Err(format!("{at}.Name: expected a string, got {}", kind(other))),
                None => return Err(format!("{at}.Name: missing")),
            };
            if name != container {
                return Err(format!("{at}.Name: no container {name:?} in the local task (only {container:?})"));
            }
            if found.is_some() {
                return Err(format!("{at}.Name: container {name:?} is overridden more than once"));
            }
            let mut parsed = ContainerOverride::default();
            match entry.get("Environment") {
                None | Some(Value::Null) => {}
                Some(Value::Array(vars)) => {
                    for (j, var) in vars.iter().enumerate() {
                        let at = format!("{at}.Environment[{j}]");
                        let var =
                            var.as_object().ok_or_else(|| format!("{at}: expected an object, got {}", kind(var)))?;
                        let field = |key: &str| match var.get(key) {
                            Some(Value::String(s)) => Ok(s.clone()),
                            Some(other) => Err(format!("{at}.{key}: expected a string, got {}", kind(other))),
                            None => Err(format!("{at}.{key}: missing")),
                        };
                        let (name, value) = (field("Name")?, field("Value")?);
                        check_env(&name, &value).map_err(|m| format!("{at}: {m}"))?;
                        parsed.environment.push((name, value));
                    }
                }
                Some(other) => return Err(format!("{at}.Environment: expected an array, got {}", kind(other))),
            }
            match entry.get("Command") {
                None | Some(Value::Null) => {}
                Some(Value::Array(args)) => {
                    let mut command = Vec::with_capacity(args.len());
                    for (j, arg) in args.iter().enumerate() {
                        match arg {
                            Value::String(s) if !s.contains('\0') => command.push(s.clone()),
                            Value::String(_) => return Err(format!("{at}.Command[{j}]: contains a NUL character")),
                            other => return Err(format!("{at}.Command[{j}]: expected a string, got {}", kind(other))),
                        }
                    }
                    parsed.command = Some(command);
                }
                Some(other) => return Err(format!("{at}.Command: expected an array, got {}", kind(other))),
            }
            found = Some(parsed);
        }
        Ok(found.unwrap_or_default())
    }
}

/// A variable the child may be given.
fn check_env(name: &str, value: &str) -> Result<(), String> {
    if name.is_empty() || name.contains('=') || name.contains('\0') {
        return Err(format!("{name:?} is not a valid environment variable name"));
    }
    if RESERVED_NAMES.contains(&name) || RESERVED_PREFIXES.iter().any(|p| name.starts_with(p)) {
        return Err(format!("{name} is set by the local task runner and cannot be overridden"));
    }
    if value.contains('\0') {
        return Err(format!("the value of {name} contains a NUL character"));
    }
    Ok(())
}

/// Set the CPU-time and address-space limits of the child `pid` (`None` if it was already reaped,
/// which cannot happen before its first wait).
#[cfg(target_os = "linux")]
fn apply_limits(pid: Option<u32>, limits: &AnalystLimits) -> Result<(), String> {
    use rlimit::Resource;
    if limits.cpu_seconds.is_none() && limits.memory_bytes.is_none() {
        return Ok(());
    }
    let pid = pid.ok_or("the process id is unknown")?;
    let pid = rlimit::pid_t::try_from(pid).map_err(|_| format!("process id {pid} is out of range"))?;
    let set = |resource: Resource, soft: u64, hard: u64| {
        rlimit::prlimit(pid, resource, Some((soft, hard)), None)
            .map_err(|e| format!("prlimit({pid}, {}, {soft}, {hard}): {e}", resource.as_name()))
    };
    if let Some(cpu) = limits.cpu_seconds {
        set(Resource::CPU, cpu, cpu.saturating_add(CPU_KILL_GRACE_SECONDS))?;
    }
    if let Some(bytes) = limits.memory_bytes {
        set(Resource::AS, bytes, bytes)?;
    }
    Ok(())
}

/// Without prlimit the limits cannot be applied; refusing beats running unlimited unnoticed.
#[cfg(not(target_os = "linux"))]
fn apply_limits(_pid: Option<u32>, limits: &AnalystLimits) -> Result<(), String> {
    if limits.cpu_seconds.is_none() && limits.memory_bytes.is_none() {
        return Ok(());
    }
    Err("CPU-time and memory limits need prlimit(2), which only Linux has".to_owned())
}

/// SIGKILL the child and reap it, so that neither the process nor its zombie outlives the task.
async fn kill_and_reap(child: &mut tokio::process::Child) {
    if let Err(e) = child.start_kill() {
        tracing::warn!(pid = child.id(), error = %e, "cannot kill the analyst process");
    }
    if tokio::time::timeout(KILL_WAIT, child.wait()).await.is_err() {
        tracing::warn!(pid = child.id(), "the killed analyst process was not reaped in time");
    }
}

/// A duration in seconds for messages: "600 s", "1.5 s".
fn seconds(duration: Duration) -> String {
    if duration.subsec_nanos() == 0 {
        format!("{} s", duration.as_secs())
    } else {
        format!("{} s", duration.as_secs_f64())
    }
}

fn describe(status: ExitStatus, limits: &AnalystLimits) -> String {
    if let Some(code) = status.code() {
        return format!("exited with status {code}");
    }
    #[cfg(unix)]
    {
        use std::os::unix::process::ExitStatusExt;
        if let Some(signal) = status.signal() {
            return describe_signal(signal, limits);
        }
    }
    #[cfg(not(unix))]
    let _ = limits;
    format!("ended with {status}")
}

/// "was killed by signal 24 (SIGXCPU): ...": the number, its name, and what it means here.
#[cfg(unix)]
fn describe_signal(signal: i32, limits: &AnalystLimits) -> String {
    let name = signal_name(signal);
    let head = match name {
        Some(name) => format!("was killed by signal {signal} ({name})"),
        None => format!("was killed by signal {signal}"),
    };
    match (signal, limits.cpu_seconds) {
        (libc::SIGXCPU, Some(cpu)) => format!("{head}: it reached its CPU-time limit of {cpu} s"),
        (libc::SIGXCPU, None) => format!("{head}: it reached a CPU-time limit"),
        (libc::SIGKILL, Some(cpu)) => format!(
            "{head}, sent by the CPU-time hard limit of {} s, the kernel's out-of-memory killer or another process",
            cpu.saturating_add(CPU_KILL_GRACE_SECONDS)
        ),
        _ => head,
    }
}

#[cfg(unix)]
fn signal_name(signal: i32) -> Option<&'static str> {
    Some(match signal {
        libc::SIGHUP => "SIGHUP",
        libc::SIGINT => "SIGINT",
        libc::SIGQUIT => "SIGQUIT",
        libc::SIGILL => "SIGILL",
        libc::SIGTRAP => "SIGTRAP",
        libc::SIGABRT => "SIGABRT",
        libc::SIGBUS => "SIGBUS",
        libc::SIGFPE => "SIGFPE",
        libc::SIGKILL => "SIGKILL",
        libc::SIGUSR1 => "SIGUSR1",
        libc::SIGSEGV => "SIGSEGV",
        libc::SIGUSR2 => "SIGUSR2",
        libc::SIGPIPE => "SIGPIPE",
        libc::SIGALRM => "SIGALRM",
        libc::SIGTERM => "SIGTERM",
        libc::SIGXCPU => "SIGXCPU",
        libc::SIGXFSZ => "SIGXFSZ",
        libc::SIGSYS => "SIGSYS",
        _ => return None,
    })
}

/// Read a pipe to its end, keeping the tail.
async fn drain(pipe: Option<impl AsyncRead + Unpin>, tail: &mut Tail) {
    let Some(mut pipe) = pipe else { return };
    let mut buf = [0u8; 4096];
    loop {
        match pipe.read(&mut buf).await {
            Ok(0) | Err(_) => return,
            Ok(n) => tail.push(&buf[..n]),
        }
    }
}

/// The last `cap` bytes of a stream.
#[derive(Debug)]
struct Tail {
    bytes: Vec<u8>,
    cap: usize,
    truncated: bool,
}

impl Tail {
    fn new(cap: usize) -> Self {
        Self { bytes: Vec::new(), cap, truncated: false }
    }

    fn push(&mut self, chunk: &[u8]) {
        self.bytes.extend_from_slice(chunk);
        if self.bytes.len() > self.cap {
            let excess = self.bytes.len() - self.cap;
            self.bytes.drain(..excess);
            self.truncated = true;
        }
    }

    /// The tail as text for messages and logs: lossy UTF-8, terminal escape sequences (the
    /// colours of a text logger) and other control characters removed, trimmed.
    fn render(&self) -> String {
        let text = strip_control(&String::from_utf8_lossy(&self.bytes));
        let text = text.trim();
        if self.truncated && !text.is_empty() {
            format!("…{text}")
        } else {
            text.to_owned()
        }
    }
}

/// Remove ANSI escape sequences (`ESC [ ... final`, and two-character `ESC x`) and control
/// characters other than newline and tab.
fn strip_control(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\u{1b}' => {
                if chars.next_if_eq(&'[').is_some() {
                    // Parameters and intermediates, up to and including the final byte.
                    for c in chars.by_ref() {
                        if ('\u{40}'..='\u{7e}').contains(&c) {
                            break;
                        }
                    }
                } else {
                    chars.next();
                }
            }
            '\n' | '\t' => out.push(c),
            c if c.is_control() => {}
            c => out.push(c),
        }
    }
    out
}

/// A fresh directory only the current user can enter, removed on drop.
#[derive(Debug)]
struct PrivateDir(PathBuf);

impl PrivateDir {
    fn create(root: &Path) -> std::io::Result<PrivateDir> {
        let path = root.join(format!("secops-analyst-{}", uuid::Uuid::new_v4().simple()));
        let mut builder = std::fs::DirBuilder::new();
        #[cfg(unix)]
        {
            use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
            // `create` (not `create_all`) fails if the path exists, so nobody can plant it first.
            builder.mode(0o700).create(&path)?;
            // The mode is masked by the umask; make it exactly 0700.
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o700))?;
        }
        #[cfg(not(unix))]
        builder.create(&path)?;
        Ok(PrivateDir(path))
    }

    fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for PrivateDir {
    fn drop(&mut self) {
        if let Err(e) = std::fs::remove_dir_all(&self.0) {
            if e.kind() != std::io::ErrorKind::NotFound {
                tracing::warn!(dir = %self.0.display(), error = %e, "cannot remove the task's private directory");
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(v: Value) -> Result<ContainerOverride, String> {
        ContainerOverride::parse(&v, ANALYST_CONTAINER)
    }

    #[test]
    fn overrides_become_environment_and_command() {
        let parsed = parse(json!({
            "Cluster": "x",
            "Overrides": {"ContainerOverrides": [{
                "Name": "analyst",
                "Environment": [{"Name": "SECOPS_FINDING_ID", "Value": "f-1"}, {"Name": "SECOPS_TASK_TOKEN", "Value": "t"}],
                "Command": ["--once"],
            }]}
        }))
        .unwrap();
        assert_eq!(
            parsed.environment,
            [("SECOPS_FINDING_ID".to_owned(), "f-1".to_owned()), ("SECOPS_TASK_TOKEN".to_owned(), "t".to_owned())]
        );
        assert_eq!(parsed.command, Some(vec!["--once".to_owned()]));
        assert_eq!(parse(json!({})).unwrap(), ContainerOverride::default());
        assert_eq!(parse(json!({"Overrides": {}})).unwrap(), ContainerOverride::default());
    }

    #[test]
    fn bad_shapes_name_the_field() {
        let cases = [
            (json!([]), "Parameters: expected an object"),
            (json!({"Overrides": []}), "Overrides: expected an object"),
            (json!({"Overrides": {"ContainerOverrides": {}}}), "Overrides.ContainerOverrides: expected an array"),
            (json!({"Overrides": {"ContainerOverrides": [{}]}}), "Overrides.ContainerOverrides[0].Name: missing"),
            (
                json!({"Overrides": {"ContainerOverrides": [{"Name": "sidecar"}]}}),
                "Overrides.ContainerOverrides[0].Name: no container \"sidecar\"",
            ),
            (
                json!({"Overrides": {"ContainerOverrides": [{"Name": "analyst"}, {"Name": "analyst"}]}}),
                "Overrides.ContainerOverrides[1].Name: container \"analyst\" is overridden more than once",
            ),
            (
                json!({"Overrides": {"ContainerOverrides": [{"Name": "analyst", "Environment": [{"Name": "A", "Value": 1}]}]}}),
                "Overrides.ContainerOverrides[0].Environment[0].Value: expected a string, got a number",
            ),
            (
                json!({"Overrides": {"ContainerOverrides": [{"Name": "analyst", "Environment": [{"Value": "v"}]}]}}),
                "Overrides.ContainerOverrides[0].Environment[0].Name: missing",
            ),
            (
                json!({"Overrides": {"ContainerOverrides": [{"Name": "analyst", "Environment": [{"Name": "AWS_REGION", "Value": "x"}]}]}}),
                "Overrides.ContainerOverrides[0].Environment[0]: AWS_REGION is set by the local task runner",
            ),
            (
                json!({"Overrides": {"ContainerOverrides": [{"Name": "analyst", "Environment": [{"Name": "LD_PRELOAD", "Value": "x"}]}]}}),
                "Environment[0]: LD_PRELOAD is set by the local task runner",
            ),
            (
                json!({"Overrides": {"ContainerOverrides": [{"Name": "analyst", "Environment": [{"Name": "A=B", "Value": "x"}]}]}}),
                "Environment[0]: \"A=B\" is not a valid environment variable name",
            ),
            (
                json!({"Overrides": {"ContainerOverrides": [{"Name": "analyst", "Command": [1]}]}}),
                "Overrides.ContainerOverrides[0].Command[0]: expected a string, got a number",
            ),
            (
                json!({"Overrides": {"ContainerOverrides": [{"Name": "analyst", "Command": "run"}]}}),
                "Overrides.ContainerOverrides[0].Command: expected an array, got a string",
            ),
        ];
        for (input, expected) in cases {
            let err = parse(input.clone()).unwrap_err();
            assert!(err.contains(expected), "{input}: {err:?} does not contain {expected:?}");
        }
    }

    #[test]
    fn the_tail_keeps_the_end() {
        let mut tail = Tail::new(8);
        tail.push(b"0123456789");
        tail.push(b"ab");
        assert_eq!(tail.render(), "…456789ab");
        let mut short = Tail::new(8);
        short.push(b" boom\n");
        assert_eq!(short.render(), "boom");
    }

    #[test]
    fn the_standard_limits_are_ten_minutes_five_of_cpu_and_a_gibibyte() {
        let standard = AnalystLimits::standard();
        assert_eq!(standard.wall_clock, Some(Duration::from_secs(600)));
        assert_eq!(standard.cpu_seconds, Some(300));
        assert_eq!(standard.memory_bytes, Some(1 << 30));
        assert_eq!(AnalystLimits::default(), AnalystLimits { wall_clock: None, cpu_seconds: None, memory_bytes: None });
        assert_eq!(seconds(Duration::from_secs(600)), "600 s");
        assert_eq!(seconds(Duration::from_millis(1500)), "1.5 s");
    }

    #[cfg(unix)]
    #[test]
    fn a_signal_is_named_and_explained() {
        let cpu = AnalystLimits { cpu_seconds: Some(300), ..AnalystLimits::default() };
        assert_eq!(
            describe_signal(libc::SIGXCPU, &cpu),
            format!("was killed by signal {} (SIGXCPU): it reached its CPU-time limit of 300 s", libc::SIGXCPU)
        );
        assert!(describe_signal(libc::SIGKILL, &cpu).contains("(SIGKILL), sent by the CPU-time hard limit of 305 s"));
        let none = AnalystLimits::default();
        assert_eq!(describe_signal(libc::SIGKILL, &none), format!("was killed by signal {} (SIGKILL)", libc::SIGKILL));
        assert_eq!(describe_signal(libc::SIGSEGV, &cpu), format!("was killed by signal {} (SIGSEGV)", libc::SIGSEGV));
        assert_eq!(describe_signal(200, &none), "was killed by signal 200");
    }

    #[test]
    fn escapes_and_control_characters_are_removed() {
        assert_eq!(
            strip_control("\u{1b}[2m2026\u{1b}[0m \u{1b}[31mERROR\u{1b}[0m bad\r\u{7}\n\tnext\u{1b}c"),
            "2026 ERROR bad\n\tnext"
        );
    }
}
