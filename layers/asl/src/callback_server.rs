//! The loopback Step Functions endpoint for task-token callbacks (SendTaskSuccess,
//! SendTaskFailure, SendTaskHeartbeat), so the analyst uses `aws-sdk-sfn` unchanged: it is
//! started with `AWS_ENDPOINT_URL_SFN` pointing here.
//!
//! The wire protocol is Step Functions' own (`awsJson1_0`): `POST /` with
//! `Content-Type: application/x-amz-json-1.0` and `X-Amz-Target: AWSStepFunctions.<Operation>`;
//! success is `200 {}`, and an error is `400 {"__type": "<code>", "message": "..."}`, which the SDK
//! turns into its modelled errors (`TaskDoesNotExist`, `InvalidToken`, `InvalidOutput`, ...).
//!
//! # Security
//!
//! The server binds 127.0.0.1 only and does **not** verify SigV4 signatures: the analyst signs
//! with dummy credentials, and there is no key to check them against. The capability is the task
//! token itself — 128 random bits ([`CallbackHub::register_new`]) that only the one subprocess is
//! given — exactly as on AWS, where any principal allowed to call SendTask* must still know the
//! token. A token that is not waiting gets `TaskDoesNotExist`, so guessing reveals nothing.
//! Request bodies are bounded ([`MAX_BODY_BYTES`]), and so are header and body read times.
//! Tokens are never logged.

use std::convert::Infallible;
use std::net::{Ipv4Addr, SocketAddr};
use std::time::Duration;

use http_body_util::{BodyExt, Full, Limited};
use hyper::body::{Bytes, Incoming};
use hyper::header::{HeaderValue, CONTENT_TYPE};
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::{TokioIo, TokioTimer};
use secops_core::json::kind;
use serde_json::{json, Map, Value};
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::{JoinHandle, JoinSet};

use crate::tasks::{CallbackError, CallbackHub};

/// The largest request body accepted. The output itself may be 256 KiB; JSON string escaping can
/// make the body several times larger than that.
pub const MAX_BODY_BYTES: usize = 2 * 1024 * 1024;
/// Step Functions' limit on a task's output (SendTaskSuccess `output`), in bytes.
pub const MAX_OUTPUT_BYTES: usize = 256 * 1024;
/// Step Functions' limits on SendTaskFailure's `error` and `cause`.
pub const MAX_ERROR_CHARS: usize = 256;
pub const MAX_CAUSE_CHARS: usize = 32_768;
/// Step Functions' limit on a task token's length.
pub const MAX_TOKEN_CHARS: usize = 2048;

const AMZ_JSON: &str = "application/x-amz-json-1.0";
const TARGET_PREFIX: &str = "AWSStepFunctions.";
/// How long a client may take to send its headers, and then its body.
const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(10);
const BODY_READ_TIMEOUT: Duration = Duration::from_secs(30);
/// How long `stop` waits for requests in flight before it closes their connections.
const STOP_GRACE: Duration = Duration::from_secs(5);

/// A running loopback endpoint. Dropping it without [`CallbackServer::stop`] aborts it.
#[derive(Debug)]
pub struct CallbackServer {
    addr: SocketAddr,
    shutdown: watch::Sender<bool>,
    task: Option<JoinHandle<()>>,
}

impl CallbackServer {
    /// Bind 127.0.0.1 on a free port and serve callbacks into `hub` until stopped.
    pub async fn start(hub: CallbackHub) -> std::io::Result<CallbackServer> {
        let listener = TcpListener::bind(SocketAddr::from((Ipv4Addr::LOCALHOST, 0))).await?;
        let addr = listener.local_addr()?;
        let (shutdown, _) = watch::channel(false);
        let task = tokio::spawn(accept_loop(listener, hub, shutdown.clone()));
        tracing::debug!(%addr, "task-token callback endpoint listening");
        *RUNNING.lock().unwrap_or_else(|p| p.into_inner()) = Some(format!("http://{addr}"));
        Ok(CallbackServer { addr, shutdown, task: Some(task) })
    }

    /// The endpoint of the callback server this process started last and has not stopped, for
    /// steps that record where a person's decision must be sent (the remediation approval gate).
    pub fn running_endpoint() -> Option<String> {
        RUNNING.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// `http://127.0.0.1:<port>`: the value for the analyst's `AWS_ENDPOINT_URL_SFN`.
    pub fn endpoint_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// Stop accepting, let requests in flight finish (at most a few seconds), close every
    /// connection, and return when all of that is done.
    pub async fn stop(mut self) {
        self.forget_running();
        let _ = self.shutdown.send(true);
        if let Some(mut task) = self.task.take() {
            if tokio::time::timeout(STOP_GRACE + Duration::from_secs(1), &mut task).await.is_err() {
                task.abort();
                let _ = task.await;
            }
        }
        tracing::debug!(addr = %self.addr, "task-token callback endpoint stopped");
    }
}

impl CallbackServer {
    fn forget_running(&self) {
        let mut running = RUNNING.lock().unwrap_or_else(|p| p.into_inner());
        if running.as_deref() == Some(self.endpoint_url().as_str()) {
            *running = None;
        }
    }
}

/// The endpoint of the running server (see [`CallbackServer::running_endpoint`]).
static RUNNING: std::sync::Mutex<Option<String>> = std::sync::Mutex::new(None);

impl Drop for CallbackServer {
    fn drop(&mut self) {
        self.forget_running();
        if let Some(task) = self.task.take() {
            // Aborting the accept loop drops its JoinSet, which aborts every connection.
            task.abort();
        }
    }
}

async fn accept_loop(listener: TcpListener, hub: CallbackHub, shutdown: watch::Sender<bool>) {
    let mut stopping = shutdown.subscribe();
    let mut connections = JoinSet::new();
    loop {
        tokio::select! {
            _ = stopped(&mut stopping) => break,
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
            accepted = listener.accept() => match accepted {
                Ok((stream, peer)) => {
                    connections.spawn(serve_connection(stream, peer, hub.clone(), shutdown.subscribe()));
                }
                Err(e) => {
                    // Out of file descriptors and the like: back off instead of spinning.
                    tracing::warn!(error = %e, "callback endpoint: accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            },
        }
    }
    drop(listener);
    let drained = tokio::time::timeout(STOP_GRACE, async { while connections.join_next().await.is_some() {} }).await;
    if drained.is_err() {
        tracing::warn!(open = connections.len(), "callback endpoint: closing connections still busy at stop");
        connections.shutdown().await;
    }
}

async fn serve_connection(
    stream: tokio::net::TcpStream,
    peer: SocketAddr,
    hub: CallbackHub,
    mut stopping: watch::Receiver<bool>,
) {
    let service = hyper::service::service_fn(move |req| {
        let hub = hub.clone();
        async move { Ok::<_, Infallible>(handle(&hub, req).await) }
    });
    let mut builder = hyper::server::conn::http1::Builder::new();
    builder.timer(TokioTimer::new()).header_read_timeout(HEADER_READ_TIMEOUT);
    let conn = builder.serve_connection(TokioIo::new(stream), service);
    tokio::pin!(conn);
    let result = tokio::select! {
        result = conn.as_mut() => result,
        _ = stopped(&mut stopping) => {
            // Finish the request in flight (if any), then close instead of keeping the connection alive.
            conn.as_mut().graceful_shutdown();
            conn.await
        }
    };
    if let Err(e) = result {
        tracing::debug!(%peer, error = %e, "callback endpoint: connection ended with an error");
    }
}

/// Resolves once stop was requested (at once if it already was).
async fn stopped(stopping: &mut watch::Receiver<bool>) {
    // The guard `wait_for` returns is not Send; drop it here. An error means the server is gone:
    // that is a stop too.
    let _ = stopping.wait_for(|&s| s).await;
}

/// One API call: route, decode, apply to the hub, answer the way Step Functions does.
async fn handle(hub: &CallbackHub, req: Request<Incoming>) -> Response<Full<Bytes>> {
    match call(hub, req).await {
        Ok(()) => respond(StatusCode::OK, json!({})),
        Err(e) => {
            tracing::debug!(code = e.code, status = e.status.as_u16(), message = %e.message, "callback refused");
            respond(e.status, json!({"__type": e.code, "message": e.message}))
        }
    }
}

/// An error answer: HTTP status, `__type` and message.
#[derive(Debug)]
struct ApiError {
    status: StatusCode,
    code: &'static str,
    message: String,
}

impl ApiError {
    fn bad_request(code: &'static str, message: impl Into<String>) -> Self {
        ApiError { status: StatusCode::BAD_REQUEST, code, message: message.into() }
    }
}

impl From<CallbackError> for ApiError {
    fn from(e: CallbackError) -> Self {
        let message = match &e {
            CallbackError::TaskDoesNotExist => "Task does not exist anymore".to_owned(),
            CallbackError::InvalidToken(m) | CallbackError::InvalidOutput(m) => m.clone(),
        };
        ApiError::bad_request(e.code(), message)
    }
}

#[derive(Debug, Clone, Copy)]
enum Operation {
    Success,
    Failure,
    Heartbeat,
}

async fn call(hub: &CallbackHub, req: Request<Incoming>) -> Result<(), ApiError> {
    if req.method() != Method::POST || req.uri().path() != "/" {
        return Err(ApiError {
            status: StatusCode::NOT_FOUND,
            code: "UnknownOperationException",
            message: format!("{} {} is not a Step Functions API call; expected POST /", req.method(), req.uri().path()),
        });
    }
    let target = req.headers().get("x-amz-target").and_then(|v| v.to_str().ok()).unwrap_or_default();
    let operation = match target.strip_prefix(TARGET_PREFIX) {
        Some("SendTaskSuccess") => Operation::Success,
        Some("SendTaskFailure") => Operation::Failure,
        Some("SendTaskHeartbeat") => Operation::Heartbeat,
        _ => {
            return Err(ApiError::bad_request(
                "UnknownOperationException",
                format!(
                    "X-Amz-Target {target:?} is not served here; only AWSStepFunctions.SendTaskSuccess, \
                     SendTaskFailure and SendTaskHeartbeat are"
                ),
            ))
        }
    };
    let content_type = req.headers().get(CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or_default();
    if content_type.split(';').next().map(str::trim) != Some(AMZ_JSON) {
        return Err(ApiError::bad_request(
            "SerializationException",
            format!("Content-Type {content_type:?} is not supported; expected {AMZ_JSON}"),
        ));
    }
    let too_large = || ApiError {
        status: StatusCode::PAYLOAD_TOO_LARGE,
        code: "RequestEntityTooLargeException",
        message: format!("request body is larger than {MAX_BODY_BYTES} bytes"),
    };
    let declared = req.headers().get(hyper::header::CONTENT_LENGTH).and_then(|v| v.to_str().ok());
    if declared.and_then(|v| v.parse::<u64>().ok()).is_some_and(|n| n > MAX_BODY_BYTES as u64) {
        return Err(too_large());
    }
    let body = match tokio::time::timeout(BODY_READ_TIMEOUT, Limited::new(req.into_body(), MAX_BODY_BYTES).collect())
        .await
    {
        Err(_) => {
            return Err(ApiError {
                status: StatusCode::REQUEST_TIMEOUT,
                code: "RequestTimeoutException",
                message: "the request body did not arrive in time".into(),
            })
        }
        Ok(Err(e)) if e.is::<http_body_util::LengthLimitError>() => return Err(too_large()),
        Ok(Err(e)) => return Err(ApiError::bad_request("SerializationException", format!("reading the body: {e}"))),
        Ok(Ok(collected)) => collected.to_bytes(),
    };
    let fields = match serde_json::from_slice::<Value>(&body) {
        Ok(Value::Object(fields)) => fields,
        Ok(_) => return Err(ApiError::bad_request("SerializationException", "the request body must be a JSON object")),
        Err(e) => {
            return Err(ApiError::bad_request("SerializationException", format!("the request body is not JSON: {e}")))
        }
    };
    let token = task_token(&fields)?;
    match operation {
        Operation::Success => {
            let output = parse_output(optional_string(&fields, "output")?)?;
            hub.succeed(token, output)?;
        }
        Operation::Failure => {
            let error = optional_string(&fields, "error")?;
            let cause = optional_string(&fields, "cause")?;
            check_length("error", error, MAX_ERROR_CHARS)?;
            check_length("cause", cause, MAX_CAUSE_CHARS)?;
            hub.fail(token, error.map(str::to_owned), cause.map(str::to_owned))?;
        }
        Operation::Heartbeat => hub.heartbeat(token)?,
    }
    tracing::debug!(?operation, "callback accepted");
    Ok(())
}

fn task_token(fields: &Map<String, Value>) -> Result<&str, ApiError> {
    let token = optional_string(fields, "taskToken")?.unwrap_or_default();
    if token.is_empty() || token.chars().count() > MAX_TOKEN_CHARS {
        return Err(CallbackError::InvalidToken(format!(
            "taskToken must be 1 to {MAX_TOKEN_CHARS} characters long; got {}",
            token.chars().count()
        ))
        .into());
    }
    Ok(token)
}

/// A string member, or absent/null; any other JSON type is a serialization error, as on AWS.
fn optional_string<'a>(fields: &'a Map<String, Value>, name: &str) -> Result<Option<&'a str>, ApiError> {
    match fields.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(other) => Err(ApiError::bad_request(
            "SerializationException",
            format!("{name} must be a string, not {}", kind(other)),
        )),
    }
}

/// SendTaskSuccess's `output`: a string that must itself be JSON, at most 256 KiB.
fn parse_output(output: Option<&str>) -> Result<Value, CallbackError> {
    let output = output.ok_or_else(|| CallbackError::InvalidOutput("output is required".into()))?;
    if output.len() > MAX_OUTPUT_BYTES {
        return Err(CallbackError::InvalidOutput(format!(
            "output is {} bytes; the limit is {MAX_OUTPUT_BYTES}",
            output.len()
        )));
    }
    serde_json::from_str(output).map_err(|e| CallbackError::InvalidOutput(format!("output is not valid JSON: {e}")))
}

fn check_length(name: &str, value: Option<&str>, max: usize) -> Result<(), ApiError> {
    match value.map(|v| v.chars().count()) {
        Some(n) if n > max => Err(ApiError::bad_request(
            "ValidationException",
            format!("{name} is {n} characters long; the limit is {max}"),
        )),
        _ => Ok(()),
    }
}

fn respond(status: StatusCode, body: Value) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(Bytes::from(body.to_string())));
    *response.status_mut() = status;
    let headers = response.headers_mut();
    headers.insert(CONTENT_TYPE, HeaderValue::from_static(AMZ_JSON));
    if let Ok(id) = HeaderValue::from_str(&uuid::Uuid::new_v4().to_string()) {
        headers.insert("x-amzn-requestid", id);
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn output_must_be_json_and_small() {
        assert_eq!(parse_output(Some(r#"{"a":1}"#)), Ok(json!({"a": 1})));
        assert!(matches!(parse_output(Some("{not json")), Err(CallbackError::InvalidOutput(_))));
        assert!(matches!(parse_output(None), Err(CallbackError::InvalidOutput(_))));
        let big = format!("\"{}\"", "x".repeat(MAX_OUTPUT_BYTES));
        assert!(matches!(parse_output(Some(&big)), Err(CallbackError::InvalidOutput(_))));
    }

    #[test]
    fn token_must_be_a_non_empty_string() {
        let fields = |v: Value| v.as_object().cloned().unwrap();
        assert_eq!(task_token(&fields(json!({"taskToken": "abc"}))).unwrap(), "abc");
        assert_eq!(task_token(&fields(json!({}))).unwrap_err().code, "InvalidToken");
        assert_eq!(task_token(&fields(json!({"taskToken": ""}))).unwrap_err().code, "InvalidToken");
        assert_eq!(task_token(&fields(json!({"taskToken": 5}))).unwrap_err().code, "SerializationException");
        let long = "t".repeat(MAX_TOKEN_CHARS + 1);
        assert_eq!(task_token(&fields(json!({ "taskToken": long }))).unwrap_err().code, "InvalidToken");
    }
}
