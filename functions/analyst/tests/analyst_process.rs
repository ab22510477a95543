//! The real `analyst` binary under the local task runner, reporting to the loopback Step Functions
//! endpoint: a heartbeat first, then a clear failure for a task it cannot analyse; without a token
//! it exits 2 with a message, and the logger's colours never reach the failure cause.

use std::path::PathBuf;
use std::time::Duration;

use secops_asl::callback_server::CallbackServer;
use secops_asl::ecs_task::{AnalystLimits, AnalystTaskRunner};
use secops_asl::testing::{ecs_invocation, run_task_parameters, TestDir};
use secops_asl::{CallbackHub, TaskHandler};
use serde_json::json;
use tokio::time::timeout;

const BOUND: Duration = Duration::from_secs(60);

fn analyst_binary() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_analyst"))
}

#[tokio::test]
async fn the_analyst_heartbeats_then_reports_invalid_input_naming_the_finding() {
    let bin = analyst_binary();
    timeout(BOUND, async {
        let hub = CallbackHub::new();
        let server = CallbackServer::start(hub.clone()).await.unwrap();
        let scratch = TestDir::new("analyst");
        // Under the standard limits: the real analyst, tokio runtime and all, fits in them.
        let runner = AnalystTaskRunner::new(&bin, server.endpoint_url())
            .with_env("RUST_LOG", "info")
            .with_region("eu-west-1")
            .with_limits(AnalystLimits::standard())
            .with_temp_root(&scratch.0);

        let mut wait = hub.register_new();
        let finding = "arn:aws:securityhub:eu-west-1:111122223333:finding/7f0c-demo";
        let input = run_task_parameters(
            &[
                ("SECOPS_TASK_TOKEN", &wait.token),
                ("SECOPS_FINDING_ID", finding),
                ("SECOPS_FINDING_PRODUCT_ARN", "arn:aws:securityhub:eu-west-1::product/aws/guardduty"),
                ("SECOPS_EXECUTION_ID", "run-1"),
            ],
            None,
        );
        let result = runner.invoke(ecs_invocation(input, Some(&wait.token)), hub.clone()).await;

        // The process has exited: the heartbeat and the failure have both arrived.
        assert_eq!(*wait.heartbeats.borrow_and_update(), 1, "one heartbeat first");
        let failure = wait.outcome.try_recv().expect("the analyst reported").unwrap_err();
        assert_eq!(failure.error, "InvalidInput");
        let cause = failure.cause.unwrap();
        assert!(cause.contains(finding) && cause.contains("SECOPS_FINDING_SOURCE"), "{cause}");

        let response = result.expect("the analyst reported, so the task succeeded as a process");
        let task = &response["Tasks"][0];
        assert!(task["TaskArn"].as_str().unwrap().starts_with("arn:aws:ecs:eu-west-1:000000000000:task/local/"));
        assert_eq!(task["LastStatus"], "STOPPED");
        assert_eq!(task["Containers"], json!([{"Name": "analyst", "ExitCode": 0, "LastStatus": "STOPPED"}]));
        assert!(scratch.is_empty(), "the private directory was removed");
        server.stop().await;
    })
    .await
    .expect("bounded");
}

#[tokio::test]
async fn the_analyst_without_a_token_exits_2_with_a_clear_message() {
    let bin = analyst_binary();
    timeout(BOUND, async {
        let hub = CallbackHub::new();
        let runner = AnalystTaskRunner::new(&bin, "http://127.0.0.1:9");
        let mut call = ecs_invocation(run_task_parameters(&[("SECOPS_FINDING_ID", "f-1")], None), Some("unused"));
        call.task_token = None;
        let failure = runner.invoke(call, hub).await.unwrap_err();
        assert_eq!(failure.error, "States.TaskFailed");
        let cause = failure.cause.unwrap();
        assert!(cause.starts_with("analyst exited with status 2:") && cause.contains("SECOPS_TASK_TOKEN"), "{cause}");
        assert!(!cause.contains('\u{1b}'), "the logger's colours are stripped: {cause:?}");
    })
    .await
    .expect("bounded");
}
