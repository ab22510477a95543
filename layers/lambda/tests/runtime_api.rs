//! The real `lambda_runtime` loop against a fake Lambda Runtime API on loopback: a handler that
//! returns `StepError::Throttled` must be reported to Lambda with errorType "Throttled", which is
//! what Step Functions then matches in `Retry`/`Catch`.

use secops_core::StepError;
use serde_json::{json, Value};
use std::time::Duration;
use wiremock::matchers::{method, path, path_regex};
use wiremock::{Mock, MockServer, ResponseTemplate};

const REQUEST_ID: &str = "8476a536-e9f4-11e8-9739-2dfe598c3fcd";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn throttled_handler_is_reported_as_error_type_throttled() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/2018-06-01/runtime/invocation/next"))
        .respond_with(
            ResponseTemplate::new(200)
                .insert_header("lambda-runtime-aws-request-id", REQUEST_ID)
                .insert_header("lambda-runtime-deadline-ms", "4102444800000")
                .insert_header(
                    "lambda-runtime-invoked-function-arn",
                    "arn:aws:lambda:us-east-1:111122223333:function:decide",
                )
                .set_body_json(json!({"detail-type": "Security Hub Findings - Imported"})),
        )
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path_regex("^/2018-06-01/runtime/invocation/.+/error$"))
        .respond_with(ResponseTemplate::new(202))
        .mount(&server)
        .await;

    // This test binary holds this one test, so setting the process environment is safe here.
    std::env::set_var("AWS_LAMBDA_RUNTIME_API", server.address().to_string());
    std::env::set_var("AWS_LAMBDA_FUNCTION_NAME", "decide");
    std::env::set_var("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "256");
    std::env::set_var("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST");

    let runtime = tokio::spawn(secops_lambda::serve(|_event: Value| async {
        Err::<Value, _>(StepError::throttled("securityhub:BatchUpdateFindings: rate exceeded"))
    }));

    let mut error_post = None;
    for _ in 0..200 {
        let requests = server.received_requests().await.unwrap_or_default();
        error_post = requests.into_iter().find(|r| r.method.as_str() == "POST");
        if error_post.is_some() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    runtime.abort();

    let post = error_post.expect("the runtime never posted an error to the Runtime API");
    assert_eq!(post.url.path(), format!("/2018-06-01/runtime/invocation/{REQUEST_ID}/error"));
    let body: Value = serde_json::from_slice(&post.body).unwrap();
    assert_eq!(body["errorType"], "Throttled");
    assert_eq!(body["errorMessage"], "securityhub:BatchUpdateFindings: rate exceeded");
}
