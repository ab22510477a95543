//! The Bedrock adapter against wiremock speaking the Converse wire format on loopback.

use secops_aws::{load_sdk_config, AwsSettings};
use secops_triage::llm::bedrock::BedrockModel;
use secops_triage::llm::{
    ChatReply, ChatRequest, LanguageModel, LlmError, Message, Part, Role, StopReason, ToolSpec, Usage,
};
use serde_json::{json, Value};
use std::time::Duration;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

/// A model id with a `:`, which the path must carry percent-encoded.
const MODEL_ID: &str = "anthropic.claude-3-5-haiku-20241022-v1:0";
const CONVERSE_PATH: &str = "/model/anthropic.claude-3-5-haiku-20241022-v1%3A0/converse";
/// The static test credentials `AwsSettings::for_endpoint` sets; no message may carry them.
const TEST_SECRET: &str = "testing";

async fn model(server: &MockServer) -> BedrockModel {
    let sdk = load_sdk_config(&AwsSettings::for_endpoint(server.uri(), "us-east-1")).await;
    BedrockModel::new(&sdk, MODEL_ID)
}

fn lookup_tool() -> ToolSpec {
    ToolSpec {
        name: "lookup_host",
        description: "What the inventory knows about one host.",
        input_schema: json!({
            "type": "object",
            "properties": { "host_id": { "type": "string", "maxLength": 64 } },
            "required": ["host_id"],
        }),
    }
}

/// A request one tool round in: the user asked, the model called a tool, we answered.
fn request_after_tool_round() -> ChatRequest {
    ChatRequest {
        system: "You triage security findings.".into(),
        messages: vec![
            Message::user_text("Assess finding f-1."),
            Message {
                role: Role::Assistant,
                content: vec![
                    Part::Text { text: "Looking up the host.".into() },
                    Part::ToolUse {
                        id: "tu-1".into(),
                        name: "lookup_host".into(),
                        input: json!({"host_id": "i-0abc", "limit": 5}),
                    },
                ],
            },
            Message {
                role: Role::User,
                content: vec![
                    Part::ToolResult {
                        id: "tu-1".into(),
                        content: json!({"edr": "missing", "open_ports": [22, 443]}),
                        is_error: false,
                    },
                    Part::ToolResult { id: "tu-2".into(), content: json!("no such host"), is_error: true },
                ],
            },
        ],
        tools: vec![lookup_tool()],
        max_tokens: 1024,
        temperature: 0.5,
    }
}

fn simple_request() -> ChatRequest {
    ChatRequest {
        system: "You triage security findings.".into(),
        messages: vec![Message::user_text("Assess finding f-1.")],
        tools: vec![],
        max_tokens: 256,
        temperature: 0.0,
    }
}

fn converse_reply(content: Value, stop_reason: &str) -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_json(json!({
        "output": { "message": { "role": "assistant", "content": content } },
        "stopReason": stop_reason,
        "usage": { "inputTokens": 120, "outputTokens": 45, "totalTokens": 165 },
        "metrics": { "latencyMs": 321 },
    }))
}

fn aws_error(status: u16, code: &str, message: &str) -> ResponseTemplate {
    ResponseTemplate::new(status).insert_header("x-amzn-ErrorType", code).set_body_json(json!({ "message": message }))
}

/// Mounts `response` for exactly one call (no hidden retry) and returns the model's error.
async fn error_for(response: ResponseTemplate) -> LlmError {
    let server = MockServer::start().await;
    Mock::given(method("POST")).and(path(CONVERSE_PATH)).respond_with(response).expect(1).mount(&server).await;
    let error = model(&server).await.converse(&simple_request()).await.expect_err("the call must fail");
    server.verify().await;
    assert!(!error.to_string().contains(TEST_SECRET), "a credential leaked into: {error}");
    error
}

async fn reply_for(response: ResponseTemplate) -> Result<ChatReply, LlmError> {
    let server = MockServer::start().await;
    Mock::given(method("POST")).and(path(CONVERSE_PATH)).respond_with(response).expect(1).mount(&server).await;
    let reply = model(&server).await.converse(&simple_request()).await;
    server.verify().await;
    reply
}

#[tokio::test]
async fn request_carries_system_tools_tool_round_and_inference_config() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(CONVERSE_PATH))
        .respond_with(converse_reply(json!([{ "text": "done" }]), "end_turn"))
        .expect(1)
        .mount(&server)
        .await;

    model(&server).await.converse(&request_after_tool_round()).await.expect("the call succeeds");

    let received = server.received_requests().await.expect("wiremock records requests");
    assert_eq!(received.len(), 1);
    assert_eq!(received[0].url.path(), CONVERSE_PATH, "the model id's ':' is percent-encoded");
    let body: Value = serde_json::from_slice(&received[0].body).expect("the body is JSON");
    assert_eq!(body["system"], json!([{ "text": "You triage security findings." }]));
    assert_eq!(
        body["messages"],
        json!([
            { "role": "user", "content": [{ "text": "Assess finding f-1." }] },
            { "role": "assistant", "content": [
                { "text": "Looking up the host." },
                { "toolUse": { "toolUseId": "tu-1", "name": "lookup_host", "input": { "host_id": "i-0abc", "limit": 5 } } },
            ] },
            { "role": "user", "content": [
                { "toolResult": { "toolUseId": "tu-1", "status": "success",
                    "content": [{ "json": { "edr": "missing", "open_ports": [22, 443] } }] } },
                { "toolResult": { "toolUseId": "tu-2", "status": "error",
                    "content": [{ "json": { "result": "no such host" } }] } },
            ] },
        ])
    );
    assert_eq!(
        body["toolConfig"],
        json!({ "tools": [{ "toolSpec": {
            "name": "lookup_host",
            "description": "What the inventory knows about one host.",
            "inputSchema": { "json": {
                "type": "object",
                "properties": { "host_id": { "type": "string", "maxLength": 64 } },
                "required": ["host_id"],
            } },
        } }] })
    );
    assert_eq!(body["inferenceConfig"], json!({ "maxTokens": 1024, "temperature": 0.5 }));
}

#[tokio::test]
async fn no_tool_config_without_tools() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(CONVERSE_PATH))
        .respond_with(converse_reply(json!([{ "text": "done" }]), "end_turn"))
        .expect(1)
        .mount(&server)
        .await;
    model(&server).await.converse(&simple_request()).await.expect("the call succeeds");
    let received = server.received_requests().await.expect("wiremock records requests");
    let body: Value = serde_json::from_slice(&received[0].body).expect("the body is JSON");
    assert_eq!(body.get("toolConfig"), None, "{body}");
    assert_eq!(body["messages"], json!([{ "role": "user", "content": [{ "text": "Assess finding f-1." }] }]));
}

#[tokio::test]
async fn text_reply_with_usage() {
    let reply = reply_for(converse_reply(json!([{ "text": "Verdict: benign." }]), "end_turn")).await.expect("a reply");
    assert_eq!(reply.content, vec![Part::Text { text: "Verdict: benign.".into() }]);
    assert_eq!(reply.stop_reason, StopReason::EndTurn);
    assert_eq!(reply.usage, Usage { input_tokens: 120, output_tokens: 45 });
}

#[tokio::test]
async fn tool_use_reply_keeps_ids_names_and_input() {
    let content = json!([
        { "reasoningContent": { "reasoningText": { "text": "thinking…", "signature": "sig" } } },
        { "text": "I need the host." },
        { "toolUse": { "toolUseId": "tooluse_Ab12", "name": "lookup_host",
            "input": { "host_id": "i-0abc", "limit": 5, "offset": -1, "ratio": 0.5, "tags": ["prod"] } } },
    ]);
    let reply = reply_for(converse_reply(content, "tool_use")).await.expect("a reply");
    assert_eq!(
        reply.content,
        vec![
            Part::Text { text: "I need the host.".into() },
            Part::ToolUse {
                id: "tooluse_Ab12".into(),
                name: "lookup_host".into(),
                // json! makes 5 and -1 integers; equality fails if they came back as floats.
                input: json!({ "host_id": "i-0abc", "limit": 5, "offset": -1, "ratio": 0.5, "tags": ["prod"] }),
            },
        ]
    );
    assert_eq!(reply.stop_reason, StopReason::ToolUse);
    assert_eq!(reply.usage, Usage { input_tokens: 120, output_tokens: 45 });
}

#[tokio::test]
async fn stop_reasons_map_to_the_port() {
    for (wire, expected) in [
        ("max_tokens", StopReason::MaxTokens),
        ("content_filtered", StopReason::Other),
        ("guardrail_intervened", StopReason::Other),
        ("something_new", StopReason::Other),
    ] {
        let reply = reply_for(converse_reply(json!([{ "text": "…" }]), wire)).await.expect("a reply");
        assert_eq!(reply.stop_reason, expected, "stopReason {wire}");
    }
}

#[tokio::test]
async fn throttling_is_throttled_without_a_hidden_retry() {
    let error = error_for(aws_error(429, "ThrottlingException", "Too many requests, please wait.")).await;
    let LlmError::Throttled { provider, message } = &error else { panic!("expected Throttled, got {error:?}") };
    assert_eq!(*provider, "bedrock");
    assert!(message.contains(MODEL_ID), "{message}");
    assert!(message.contains("ThrottlingException"), "{message}");
    assert!(error.is_retryable());
}

#[tokio::test]
async fn service_quota_is_throttled() {
    let error = error_for(aws_error(400, "ServiceQuotaExceededException", "Quota exceeded.")).await;
    assert!(matches!(error, LlmError::Throttled { .. }), "{error:?}");
}

#[tokio::test]
async fn bare_429_is_throttled() {
    let error = error_for(ResponseTemplate::new(429).set_body_string("slow down")).await;
    assert!(matches!(error, LlmError::Throttled { .. }), "{error:?}");
}

#[tokio::test]
async fn internal_server_error_is_transient() {
    let error = error_for(aws_error(500, "InternalServerException", "Something broke.")).await;
    let LlmError::Transient { message, .. } = &error else { panic!("expected Transient, got {error:?}") };
    assert!(message.contains("InternalServerException"), "{message}");
    assert!(message.contains(MODEL_ID), "{message}");
}

#[tokio::test]
async fn model_not_ready_and_unavailable_are_transient() {
    for (status, code) in
        [(429, "ModelNotReadyException"), (408, "ModelTimeoutException"), (503, "ServiceUnavailableException")]
    {
        let error = error_for(aws_error(status, code, "later")).await;
        // 429 is also the throttling status; the code decides.
        assert!(matches!(error, LlmError::Transient { .. }), "{code}: {error:?}");
    }
}

#[tokio::test]
async fn a_500_without_a_code_is_transient() {
    let error = error_for(ResponseTemplate::new(502).set_body_string("<html>Bad Gateway</html>")).await;
    assert!(matches!(error, LlmError::Transient { .. }), "{error:?}");
}

#[tokio::test]
async fn validation_error_is_refused() {
    let error =
        error_for(aws_error(400, "ValidationException", "The model returned the following errors: bad input")).await;
    let LlmError::Refused { message, .. } = &error else { panic!("expected Refused, got {error:?}") };
    assert!(message.contains("ValidationException"), "{message}");
    assert!(message.contains("bad input"), "{message}");
    assert!(!error.is_retryable());
}

#[tokio::test]
async fn access_denied_unknown_model_and_model_error_are_refused() {
    for (status, code) in
        [(403, "AccessDeniedException"), (404, "ResourceNotFoundException"), (424, "ModelErrorException")]
    {
        let error = error_for(aws_error(status, code, "no")).await;
        let LlmError::Refused { message, .. } = &error else { panic!("{code}: expected Refused, got {error:?}") };
        assert!(message.contains(code), "{message}");
    }
}

#[tokio::test]
async fn malformed_bodies_are_malformed() {
    for body in
        [r#"{"output": 42}"#, "not json at all", "{}", r#"{"output":{"message":{"role":"assistant","content":"x"}}}"#]
    {
        let error = error_for(ResponseTemplate::new(200).set_body_string(body)).await;
        let LlmError::Malformed { message, .. } = &error else { panic!("{body}: expected Malformed, got {error:?}") };
        assert!(message.contains(MODEL_ID), "{message}");
        // The service error only, not the SDK's dump of the raw response.
        assert!(!message.contains("content-length"), "{message}");
    }
}

#[tokio::test]
async fn a_call_that_outlasts_the_timeout_is_transient() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(CONVERSE_PATH))
        .respond_with(converse_reply(json!([{ "text": "late" }]), "end_turn").set_delay(Duration::from_secs(30)))
        .expect(1)
        .mount(&server)
        .await;
    let model = model(&server).await.with_timeout(Duration::from_millis(300));
    let error = model.converse(&simple_request()).await.expect_err("the call must time out");
    assert!(matches!(error, LlmError::Transient { .. }), "{error:?}");
}

#[tokio::test]
async fn names_itself() {
    let server = MockServer::start().await;
    let model = model(&server).await;
    assert_eq!(model.provider(), "bedrock");
    assert_eq!(model.model(), MODEL_ID);
}
