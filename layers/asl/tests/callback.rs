//! The task-token machinery with real components on loopback: `aws-sdk-sfn` against the
//! [`CallbackServer`], and the [`AnalystTaskRunner`] spawning real processes (`/bin/sh`,
//! `/bin/sleep`). The real `analyst` binary under the runner is tested in its own package
//! (`functions/analyst/tests/analyst_process.rs`), where cargo builds it with the tests.

use std::path::Path;

use std::time::Duration;

use aws_sdk_sfn::config::retry::RetryConfig;
use aws_sdk_sfn::config::{BehaviorVersion, Credentials, Region};
use aws_sdk_sfn::operation::send_task_failure::SendTaskFailureError;
use aws_sdk_sfn::operation::send_task_heartbeat::SendTaskHeartbeatError;
use aws_sdk_sfn::operation::send_task_success::SendTaskSuccessError;
use secops_asl::callback_server::CallbackServer;
use secops_asl::ecs_task::AnalystTaskRunner;
use secops_asl::testing::{ecs_invocation, run_task_parameters, TestDir};
use secops_asl::{CallbackHub, TaskFailure, TaskHandler};
use serde_json::{json, Value};
use tokio::time::timeout;

const BOUND: Duration = Duration::from_secs(60);

fn client(endpoint: &str) -> aws_sdk_sfn::Client {
    let config = aws_sdk_sfn::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .credentials_provider(Credentials::new("local", "local", None, None, "test"))
        .endpoint_url(endpoint)
        .retry_config(RetryConfig::disabled())
        .build();
    aws_sdk_sfn::Client::from_conf(config)
}

// ---------------------------------------------------------------------------------------------
// The endpoint, driven by the SDK

#[tokio::test]
async fn sdk_success_reaches_the_hub() {
    timeout(BOUND, async {
        let hub = CallbackHub::new();
        let server = CallbackServer::start(hub.clone()).await.unwrap();
        assert!(server.endpoint_url().starts_with("http://127.0.0.1:"));
        let sfn = client(&server.endpoint_url());

        let wait = hub.register_new();
        sfn.send_task_success()
            .task_token(&wait.token)
            .output(r#"{"verdict":"benign","score":3}"#)
            .send()
            .await
            .unwrap();
        assert_eq!(wait.outcome.await.unwrap(), Ok(json!({"verdict": "benign", "score": 3})));
        assert!(!hub.is_waiting(&wait.token));

        // A second answer on the same token: the task is gone.
        let err = sfn.send_task_success().task_token(&wait.token).output("{}").send().await.unwrap_err();
        assert!(matches!(err.into_service_error(), SendTaskSuccessError::TaskDoesNotExist(_)));
        server.stop().await;
    })
    .await
    .expect("bounded");
}

#[tokio::test]
async fn sdk_failure_and_heartbeat_reach_the_hub() {
    timeout(BOUND, async {
        let hub = CallbackHub::new();
        let server = CallbackServer::start(hub.clone()).await.unwrap();
        let sfn = client(&server.endpoint_url());

        let mut wait = hub.register_new();
        sfn.send_task_heartbeat().task_token(&wait.token).send().await.unwrap();
        sfn.send_task_heartbeat().task_token(&wait.token).send().await.unwrap();
        assert_eq!(*wait.heartbeats.borrow_and_update(), 2);
        assert!(hub.is_waiting(&wait.token), "a heartbeat keeps the task waiting");

        sfn.send_task_failure()
            .task_token(&wait.token)
            .error("Transient")
            .cause("upstream timed out")
            .send()
            .await
            .unwrap();
        assert_eq!(wait.outcome.await.unwrap(), Err(TaskFailure::new("Transient", "upstream timed out")));

        // Failure with neither error nor cause is accepted, as on AWS.
        let bare = hub.register_new();
        sfn.send_task_failure().task_token(&bare.token).send().await.unwrap();
        assert_eq!(bare.outcome.await.unwrap(), Err(TaskFailure { error: String::new(), cause: None }));
        server.stop().await;
    })
    .await
    .expect("bounded");
}

#[tokio::test]
async fn unknown_tokens_are_task_does_not_exist_to_the_sdk() {
    timeout(BOUND, async {
        let hub = CallbackHub::new();
        let server = CallbackServer::start(hub.clone()).await.unwrap();
        let sfn = client(&server.endpoint_url());
        let unknown = "0123456789abcdef0123456789abcdef";

        let err = sfn.send_task_success().task_token(unknown).output("{}").send().await.unwrap_err();
        match err.into_service_error() {
            SendTaskSuccessError::TaskDoesNotExist(e) => assert!(e.message().is_some()),
            other => panic!("expected TaskDoesNotExist, got {other:?}"),
        }
        let err = sfn.send_task_failure().task_token(unknown).error("X").send().await.unwrap_err();
        assert!(matches!(err.into_service_error(), SendTaskFailureError::TaskDoesNotExist(_)));
        let err = sfn.send_task_heartbeat().task_token(unknown).send().await.unwrap_err();
        assert!(matches!(err.into_service_error(), SendTaskHeartbeatError::TaskDoesNotExist(_)));

        // A forgotten token (timed out, cancelled) is unknown too.
        let wait = hub.register_new();
        hub.forget(&wait.token);
        let err = sfn.send_task_heartbeat().task_token(&wait.token).send().await.unwrap_err();
        assert!(matches!(err.into_service_error(), SendTaskHeartbeatError::TaskDoesNotExist(_)));

        // An empty token is malformed, not unknown.
        let err = sfn.send_task_heartbeat().task_token("").send().await.unwrap_err();
        assert!(matches!(err.into_service_error(), SendTaskHeartbeatError::InvalidToken(_)));
        server.stop().await;
    })
    .await
    .expect("bounded");
}

#[tokio::test]
async fn output_that_is_not_json_or_too_large_is_invalid_output() {
    timeout(BOUND, async {
        let hub = CallbackHub::new();
        let server = CallbackServer::start(hub.clone()).await.unwrap();
        let sfn = client(&server.endpoint_url());
        let wait = hub.register_new();

        let err = sfn.send_task_success().task_token(&wait.token).output("{not json").send().await.unwrap_err();
        match err.into_service_error() {
            SendTaskSuccessError::InvalidOutput(e) => {
                assert!(e.message().unwrap_or_default().contains("not valid JSON"), "{e:?}")
            }
            other => panic!("expected InvalidOutput, got {other:?}"),
        }
        let big = serde_json::to_string(&"x".repeat(300 * 1024)).unwrap();
        let err = sfn.send_task_success().task_token(&wait.token).output(big).send().await.unwrap_err();
        assert!(matches!(err.into_service_error(), SendTaskSuccessError::InvalidOutput(_)));

        // Refused output leaves the task waiting: a correct answer still gets through.
        assert!(hub.is_waiting(&wait.token));
        sfn.send_task_success().task_token(&wait.token).output("[1,2]").send().await.unwrap();
        assert_eq!(wait.outcome.await.unwrap(), Ok(json!([1, 2])));
        server.stop().await;
    })
    .await
    .expect("bounded");
}

// ---------------------------------------------------------------------------------------------
// The endpoint, driven by hand: what the SDK never sends

async fn raw_post(server: &CallbackServer, target: &str, content_type: &str, body: &str) -> (u16, Value) {
    let head = format!(
        "POST / HTTP/1.1\r\nHost: localhost\r\nX-Amz-Target: {target}\r\nContent-Type: {content_type}\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    raw_request(server, &format!("{head}{body}")).await
}

/// Write `request` as is, read the whole answer (the server closes the connection).
async fn raw_request(server: &CallbackServer, request: &str) -> (u16, Value) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut stream = tokio::net::TcpStream::connect(server.local_addr()).await.unwrap();
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).await.unwrap();
    let status = response.split(' ').nth(1).unwrap().parse().unwrap();
    let body = response.split_once("\r\n\r\n").unwrap().1;
    (status, serde_json::from_str(body).unwrap())
}

#[tokio::test]
async fn other_operations_and_bad_bodies_are_refused_in_the_json_protocol() {
    timeout(BOUND, async {
        let hub = CallbackHub::new();
        let server = CallbackServer::start(hub.clone()).await.unwrap();
        let json10 = "application/x-amz-json-1.0";

        let (status, body) = raw_post(&server, "AWSStepFunctions.StartExecution", json10, "{}").await;
        assert_eq!((status, body["__type"].as_str()), (400, Some("UnknownOperationException")));
        let (status, body) = raw_post(&server, "AWSStepFunctions.SendTaskHeartbeat", json10, "{oops").await;
        assert_eq!((status, body["__type"].as_str()), (400, Some("SerializationException")));
        let (status, body) = raw_post(&server, "AWSStepFunctions.SendTaskHeartbeat", "text/plain", "{}").await;
        assert_eq!((status, body["__type"].as_str()), (400, Some("SerializationException")));
        let (status, body) = raw_post(&server, "AWSStepFunctions.SendTaskHeartbeat", json10, "{}").await;
        assert_eq!((status, body["__type"].as_str()), (400, Some("InvalidToken")));

        let wait = hub.register_new();
        let long_error = json!({"taskToken": wait.token, "error": "E".repeat(300)}).to_string();
        let (status, body) = raw_post(&server, "AWSStepFunctions.SendTaskFailure", json10, &long_error).await;
        assert_eq!((status, body["__type"].as_str()), (400, Some("ValidationException")));
        let ok = json!({"taskToken": wait.token}).to_string();
        let (status, body) = raw_post(&server, "AWSStepFunctions.SendTaskHeartbeat", json10, &ok).await;
        assert_eq!((status, body), (200, json!({})));

        // A body declared larger than the limit is refused before it is read.
        let declared = format!(
            "POST / HTTP/1.1\r\nHost: localhost\r\nX-Amz-Target: AWSStepFunctions.SendTaskSuccess\r\n\
             Content-Type: {json10}\r\nContent-Length: {}\r\n\r\n",
            3 * 1024 * 1024
        );
        let (status, body) = raw_request(&server, &declared).await;
        assert_eq!((status, body["__type"].as_str()), (413, Some("RequestEntityTooLargeException")));
        assert!(hub.is_waiting(&wait.token));
        server.stop().await;
    })
    .await
    .expect("bounded");
}

#[tokio::test]
async fn stop_is_prompt_and_closes_the_port() {
    timeout(BOUND, async {
        let hub = CallbackHub::new();
        let server = CallbackServer::start(hub.clone()).await.unwrap();
        let sfn = client(&server.endpoint_url());
        let addr = server.local_addr();
        let wait = hub.register_new();
        // A kept-alive connection from the SDK's pool must not hold the stop up.
        sfn.send_task_heartbeat().task_token(&wait.token).send().await.unwrap();

        let started = std::time::Instant::now();
        server.stop().await;
        assert!(started.elapsed() < Duration::from_secs(3), "stop took {:?}", started.elapsed());
        assert!(tokio::net::TcpStream::connect(addr).await.is_err(), "the port still accepts connections");
        assert!(sfn.send_task_heartbeat().task_token(&wait.token).send().await.is_err());
    })
    .await
    .expect("bounded");
}

// ---------------------------------------------------------------------------------------------
// The runner, spawning real processes

#[tokio::test]
async fn a_program_that_fails_gives_task_failed_with_its_stderr() {
    timeout(BOUND, async {
        let hub = CallbackHub::new();
        let scratch = TestDir::new("fails");
        let runner = AnalystTaskRunner::new("/bin/sh", "http://127.0.0.1:9")
            .with_command(["-c", "echo boom >&2; exit 3"])
            .with_temp_root(&scratch.0);
        let wait = hub.register_new();
        let input = run_task_parameters(&[("SECOPS_TASK_TOKEN", &wait.token)], None);
        let failure = runner.invoke(ecs_invocation(input, Some(&wait.token)), hub.clone()).await.unwrap_err();
        assert_eq!(failure, TaskFailure::new("States.TaskFailed", "analyst exited with status 3: boom"));
        assert!(scratch.is_empty());
    })
    .await
    .expect("bounded");
}

#[tokio::test]
async fn the_child_sees_only_its_own_environment_in_a_private_directory() {
    timeout(BOUND, async {
        let hub = CallbackHub::new();
        let scratch = TestDir::new("env");
        let report = scratch.0.join("report");
        // The override's Command replaces the default one; the script writes what it sees.
        let script = "{ env | sort; echo \"PWD=$(pwd)\"; stat -c 'MODE=%a' .; } > \"$REPORT\"; exit 0";
        let runner = AnalystTaskRunner::new("/bin/sh", "http://127.0.0.1:4321")
            .with_command(["-c", "exit 7"])
            .with_env("SECOPS_DATABASE_URL", "postgres://analyst@localhost/secops")
            .with_region("eu-central-1")
            .with_temp_root(&scratch.0);
        let input = run_task_parameters(
            &[("REPORT", report.to_str().unwrap()), ("SECOPS_FINDING_ID", "f-9")],
            Some(&["-c", script]),
        );
        let mut call = ecs_invocation(input, Some("t"));
        call.task_token = None; // nothing to report on: exit 0 is success
        runner.invoke(call, hub).await.unwrap();

        let seen = std::fs::read_to_string(&report).unwrap();
        let vars: std::collections::BTreeMap<&str, &str> = seen.lines().filter_map(|l| l.split_once('=')).collect();
        let home = vars["HOME"];
        assert!(home.starts_with(scratch.0.to_str().unwrap()) && home.contains("secops-analyst-"), "{home}");
        assert_eq!(vars["TMPDIR"], home);
        assert_eq!(vars["PWD"], home);
        assert_eq!(vars["MODE"], "700");
        assert_eq!(vars["AWS_ENDPOINT_URL_SFN"], "http://127.0.0.1:4321");
        assert_eq!(vars["AWS_ACCESS_KEY_ID"], "local");
        assert_eq!(vars["AWS_SECRET_ACCESS_KEY"], "local");
        assert_eq!(vars["AWS_REGION"], "eu-central-1");
        assert_eq!(vars["SECOPS_DATABASE_URL"], "postgres://analyst@localhost/secops");
        assert_eq!(vars["SECOPS_FINDING_ID"], "f-9");
        // Nothing of this process's environment leaked (cargo sets many CARGO_* variables for tests).
        assert!(!vars.keys().any(|k| k.starts_with("CARGO")), "{seen}");
        assert!(!Path::new(home).exists(), "the private directory was removed");
    })
    .await
    .expect("bounded");
}

#[tokio::test]
async fn exiting_0_without_reporting_is_a_failure() {
    timeout(BOUND, async {
        let hub = CallbackHub::new();
        let runner = AnalystTaskRunner::new("/bin/sh", "http://127.0.0.1:9").with_command(["-c", "exit 0"]);
        let wait = hub.register_new();
        // The token comes from the override when there is one ...
        let input = run_task_parameters(&[("SECOPS_TASK_TOKEN", &wait.token)], None);
        let failure = runner.invoke(ecs_invocation(input, Some("other")), hub.clone()).await.unwrap_err();
        assert_eq!(failure.error, "States.TaskFailed");
        assert!(failure.cause.unwrap().contains("without reporting"));
        // ... and from the invocation otherwise.
        let failure = runner.invoke(ecs_invocation(json!({}), Some(&wait.token)), hub.clone()).await.unwrap_err();
        assert!(failure.cause.unwrap().contains("without reporting"));
    })
    .await
    .expect("bounded");
}

#[tokio::test]
async fn malformed_parameters_fail_before_anything_runs() {
    let hub = CallbackHub::new();
    let runner = AnalystTaskRunner::new("/nonexistent/analyst", "http://127.0.0.1:9");
    let input = json!({"Overrides": {"ContainerOverrides": [{"Name": "analyst", "Environment": [{"Name": "X"}]}]}});
    let failure = runner.invoke(ecs_invocation(input, Some("t")), hub.clone()).await.unwrap_err();
    assert_eq!(failure.error, "States.Runtime");
    assert!(failure.cause.unwrap().contains("Overrides.ContainerOverrides[0].Environment[0].Value: missing"));

    let failure = runner.invoke(ecs_invocation(json!({}), Some("t")), hub).await.unwrap_err();
    assert_eq!(failure.error, "States.TaskFailed");
    assert!(failure.cause.unwrap().contains("cannot start /nonexistent/analyst"));
}

/// Whether a process is gone (or a zombie waiting to be reaped, which is as dead).
fn process_is_gone(pid: u32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Err(_) => true,
        Ok(stat) => stat.rsplit_once(')').and_then(|(_, rest)| rest.split_whitespace().next()) == Some("Z"),
    }
}

#[tokio::test]
async fn dropping_the_future_kills_the_child() {
    timeout(BOUND, async {
        let hub = CallbackHub::new();
        let scratch = TestDir::new("drop");
        let pid_file = std::env::temp_dir().join(format!("secops-callback-test-drop-{}.pid", std::process::id()));
        let _ = std::fs::remove_file(&pid_file);
        // `exec` so that the pid written is the one of /bin/sleep itself.
        let runner = AnalystTaskRunner::new("/bin/sh", "http://127.0.0.1:9")
            .with_command(["-c", "echo $$ > \"$PID_FILE\"; exec /bin/sleep 30"])
            .with_temp_root(&scratch.0);
        let wait = hub.register_new();
        let input = run_task_parameters(&[("PID_FILE", pid_file.to_str().unwrap())], None);
        let mut task = runner.invoke(ecs_invocation(input, Some(&wait.token)), hub.clone());

        // Drive the future until the child has written its pid.
        let pid: u32 = loop {
            tokio::select! {
                result = &mut task => panic!("the task ended early: {result:?}"),
                _ = tokio::time::sleep(Duration::from_millis(20)) => {}
            }
            if let Some(pid) = std::fs::read_to_string(&pid_file).ok().and_then(|s| s.trim().parse().ok()) {
                break pid;
            }
        };
        let _ = std::fs::remove_file(&pid_file);
        assert!(!process_is_gone(pid), "sleep is running");

        let dropped = std::time::Instant::now();
        drop(task);
        while !process_is_gone(pid) {
            assert!(dropped.elapsed() < Duration::from_secs(5), "the child {pid} is still alive after the drop");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        assert!(scratch.is_empty(), "the private directory was removed on drop");
    })
    .await
    .expect("bounded");
}
