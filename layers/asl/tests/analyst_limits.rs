//! [`AnalystLimits`] on real processes (`/bin/sh`, `python3`): a runaway, a memory hog or a hang
//! in one analysis fails that task only, with a cause that says which limit it hit, and leaves no
//! process and no private directory behind.

use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

use secops_asl::ecs_task::{AnalystLimits, AnalystTaskRunner, TIMEOUT_ERROR};
use secops_asl::testing::{ecs_invocation, run_task_parameters, TestDir};
use secops_asl::{CallbackHub, TaskHandler};
use tokio::time::timeout;

/// Bounds each test; the limits under test are far below it.
const BOUND: Duration = Duration::from_secs(60);
const MIB: u64 = 1024 * 1024;

/// python3's full path: the child's environment is cleared, PATH included.
fn python3() -> PathBuf {
    let out = Command::new("/bin/sh").args(["-c", "command -v python3"]).output().expect("run /bin/sh");
    let path = String::from_utf8(out.stdout).unwrap();
    assert!(out.status.success() && path.starts_with('/'), "python3 is not installed");
    PathBuf::from(path.trim())
}

fn read_pid(path: &std::path::Path) -> Option<u32> {
    std::fs::read_to_string(path).ok().and_then(|s| s.trim().parse().ok())
}

/// `kill -0 <pid>` succeeds: a process (or an unreaped zombie) with that id exists.
fn process_exists(pid: u32) -> bool {
    Command::new("/bin/sh").args(["-c", &format!("kill -0 {pid} 2>/dev/null")]).status().expect("run /bin/sh").success()
}

/// The soft and hard value of one line of `/proc/<pid>/limits`, e.g. "Max cpu time".
fn proc_limit(pid: u32, label: &str) -> (String, String) {
    let limits = std::fs::read_to_string(format!("/proc/{pid}/limits")).unwrap();
    let line = limits.lines().find(|l| l.starts_with(label)).unwrap_or_else(|| panic!("no {label:?} in {limits}"));
    let mut values = line[label.len()..].split_whitespace();
    (values.next().unwrap().to_owned(), values.next().unwrap().to_owned())
}

#[tokio::test]
async fn a_cpu_bound_loop_is_stopped_at_its_cpu_time_limit() {
    timeout(BOUND, async {
        let hub = CallbackHub::new();
        let scratch = TestDir::new("cpu");
        let runner = AnalystTaskRunner::new("/bin/sh", "http://127.0.0.1:9")
            .with_command(["-c", "while :; do :; done"])
            .with_limits(AnalystLimits { cpu_seconds: Some(1), ..AnalystLimits::default() })
            .with_temp_root(&scratch.0);
        let wait = hub.register_new();
        let input = run_task_parameters(&[("SECOPS_TASK_TOKEN", &wait.token)], None);
        let failure = runner.invoke(ecs_invocation(input, Some(&wait.token)), hub.clone()).await.unwrap_err();
        assert_eq!(failure.error, "States.TaskFailed");
        let cause = failure.cause.unwrap();
        assert!(
            cause.starts_with("analyst was killed by signal")
                && cause.contains("(SIGXCPU): it reached its CPU-time limit of 1 s"),
            "{cause}"
        );
        assert!(scratch.is_empty(), "the private directory was removed");
    })
    .await
    .expect("bounded");
}

#[tokio::test]
async fn an_allocation_beyond_the_memory_limit_fails_the_task() {
    timeout(BOUND, async {
        let hub = CallbackHub::new();
        let scratch = TestDir::new("memory");
        let limits = AnalystLimits { memory_bytes: Some(128 * MIB), ..AnalystLimits::default() };
        let runner = AnalystTaskRunner::new(python3(), "http://127.0.0.1:9")
            .with_command(["-c", "b = bytearray(512 * 1024 * 1024)"])
            .with_limits(limits)
            .with_temp_root(&scratch.0);
        let failure =
            runner.invoke(ecs_invocation(run_task_parameters(&[], None), None), hub.clone()).await.unwrap_err();
        assert_eq!(failure.error, "States.TaskFailed");
        let cause = failure.cause.unwrap();
        assert!(cause.starts_with("analyst exited with status 1:") && cause.contains("MemoryError"), "{cause}");
        assert!(scratch.is_empty(), "the private directory was removed");

        // The same interpreter under the same limit runs a small allocation: the limit, not
        // python3, made the large one fail.
        let small = AnalystTaskRunner::new(python3(), "http://127.0.0.1:9")
            .with_command(["-c", "b = bytearray(16 * 1024 * 1024)"])
            .with_limits(limits)
            .with_temp_root(&scratch.0);
        small.invoke(ecs_invocation(run_task_parameters(&[], None), None), hub).await.expect("16 MiB fit in 128 MiB");
    })
    .await
    .expect("bounded");
}

#[tokio::test]
async fn a_hang_is_killed_at_the_wall_clock_limit_and_leaves_nothing_behind() {
    timeout(BOUND, async {
        let hub = CallbackHub::new();
        let scratch = TestDir::new("hang");
        let pids = TestDir::new("hang-pid");
        let pid_file = pids.0.join("pid");
        // `exec` so that the pid written is the one of /bin/sleep itself.
        let runner = AnalystTaskRunner::new("/bin/sh", "http://127.0.0.1:9")
            .with_command(["-c", "echo $$ > \"$PID_FILE\"; exec /bin/sleep 30"])
            .with_limits(AnalystLimits { wall_clock: Some(Duration::from_secs(1)), ..AnalystLimits::default() })
            .with_temp_root(&scratch.0);
        let wait = hub.register_new();
        let input =
            run_task_parameters(&[("SECOPS_TASK_TOKEN", &wait.token), ("PID_FILE", pid_file.to_str().unwrap())], None);
        let failure = runner.invoke(ecs_invocation(input, Some(&wait.token)), hub.clone()).await.unwrap_err();
        assert_eq!(failure.error, TIMEOUT_ERROR);
        assert_eq!(failure.error, "States.Timeout");
        assert_eq!(failure.cause.as_deref(), Some("analyst exceeded its wall-clock limit of 1 s and was killed"));

        let pid = read_pid(&pid_file).expect("the child wrote its pid before the limit");
        assert!(!process_exists(pid), "sleep ({pid}) was killed and reaped");
        assert!(process_exists(std::process::id()), "kill -0 finds a live process");
        assert!(scratch.is_empty(), "the private directory was removed");
        assert!(hub.is_waiting(&wait.token), "the token is the executor's to time out or forget");
    })
    .await
    .expect("bounded");
}

#[tokio::test]
async fn the_standard_limits_are_set_on_the_child() {
    timeout(BOUND, async {
        let hub = CallbackHub::new();
        let scratch = TestDir::new("standard");
        let pids = TestDir::new("standard-pid");
        let pid_file = pids.0.join("pid");
        let runner = AnalystTaskRunner::new("/bin/sh", "http://127.0.0.1:9")
            .with_command(["-c", "echo $$ > \"$PID_FILE\"; exec /bin/sleep 30"])
            .with_limits(AnalystLimits::standard())
            .with_temp_root(&scratch.0);
        let input = run_task_parameters(&[("PID_FILE", pid_file.to_str().unwrap())], None);
        let mut task = runner.invoke(ecs_invocation(input, None), hub);

        // The limits are set in the same poll as the spawn, so once the pid is visible here
        // they are in place.
        let pid = loop {
            tokio::select! {
                result = &mut task => panic!("the task ended early: {result:?}"),
                _ = tokio::time::sleep(Duration::from_millis(20)) => {}
            }
            if let Some(pid) = read_pid(&pid_file) {
                break pid;
            }
        };
        assert_eq!(proc_limit(pid, "Max cpu time"), ("300".to_owned(), "305".to_owned()));
        let gib = (1u64 << 30).to_string();
        assert_eq!(proc_limit(pid, "Max address space"), (gib.clone(), gib));
        drop(task);
    })
    .await
    .expect("bounded");
}

#[tokio::test]
async fn without_limits_the_child_inherits_the_executors_own() {
    timeout(BOUND, async {
        let hub = CallbackHub::new();
        let scratch = TestDir::new("none");
        let report = scratch.0.join("report");
        let runner = AnalystTaskRunner::new("/bin/sh", "http://127.0.0.1:9")
            .with_command(["-c", "cat /proc/self/limits > \"$REPORT\""])
            .with_temp_root(&scratch.0);
        assert_eq!(runner.limits(), AnalystLimits::default());
        let input = run_task_parameters(&[("REPORT", report.to_str().unwrap())], None);
        runner.invoke(ecs_invocation(input, None), hub).await.expect("exit 0 without a token is success");

        let line = |text: &str, label: &str| text.lines().find(|l| l.starts_with(label)).map(str::to_owned);
        let seen = std::fs::read_to_string(&report).unwrap();
        let own = std::fs::read_to_string("/proc/self/limits").unwrap();
        for label in ["Max cpu time", "Max address space"] {
            assert_eq!(line(&seen, label), line(&own, label), "{label}");
        }
    })
    .await
    .expect("bounded");
}
