//! The OpenAI-compatible adapter against wiremock on loopback.

use secops_triage::llm::openai::OpenAiModel;
use secops_triage::llm::{
    ChatReply, ChatRequest, LanguageModel, LlmError, Message, Part, Role, StopReason, ToolSpec, Usage,
};
use secrecy::SecretString;
use serde_json::{json, Value};
use std::time::Duration;
use wiremock::matchers::{header, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

const MODEL: &str = "llama3.1:8b";
const COMPLETIONS_PATH: &str = "/v1/chat/completions";
const API_KEY: &str = "sk-test-0123456789";

fn model(server: &MockServer, api_key: Option<&str>) -> OpenAiModel {
    let key = api_key.map(|k| SecretString::from(k.to_owned()));
    OpenAiModel::new(&format!("{}/v1", server.uri()), MODEL, key).expect("a loopback URL is valid")
}

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
                        id: "call_1".into(),
                        name: "lookup_host".into(),
                        input: json!({"host_id": "i-0abc"}),
                    },
                ],
            },
            Message {
                role: Role::User,
                content: vec![
                    Part::ToolResult { id: "call_1".into(), content: json!({"edr": "missing"}), is_error: false },
                    Part::ToolResult { id: "call_2".into(), content: json!("no such host"), is_error: true },
                    Part::Text { text: "Now conclude.".into() },
                ],
            },
        ],
        tools: vec![ToolSpec {
            name: "lookup_host",
            description: "What the inventory knows about one host.",
            input_schema: json!({
                "type": "object",
                "properties": { "host_id": { "type": "string", "maxLength": 64 } },
                "required": ["host_id"],
            }),
        }],
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

fn completion(message: Value, finish_reason: &str) -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_json(json!({
        "id": "chatcmpl-1",
        "object": "chat.completion",
        "model": MODEL,
        "choices": [{ "index": 0, "message": message, "finish_reason": finish_reason }],
        "usage": { "prompt_tokens": 210, "completion_tokens": 33, "total_tokens": 243 },
    }))
}

async fn reply_for(response: ResponseTemplate) -> Result<ChatReply, LlmError> {
    let server = MockServer::start().await;
    Mock::given(method("POST")).and(path(COMPLETIONS_PATH)).respond_with(response).expect(1).mount(&server).await;
    let reply = model(&server, Some(API_KEY)).converse(&simple_request()).await;
    server.verify().await;
    reply
}

/// Mounts `response` for exactly one call (no hidden retry) and returns the model's error.
async fn error_for(response: ResponseTemplate) -> LlmError {
    let error = reply_for(response).await.expect_err("the call must fail");
    assert!(!error.to_string().contains(API_KEY), "the key leaked into: {error}");
    error
}

#[tokio::test]
async fn request_carries_system_tools_tool_round_and_limits() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(COMPLETIONS_PATH))
        .and(header("authorization", format!("Bearer {API_KEY}").as_str()))
        .respond_with(completion(json!({ "role": "assistant", "content": "done" }), "stop"))
        .expect(1)
        .mount(&server)
        .await;

    model(&server, Some(API_KEY)).converse(&request_after_tool_round()).await.expect("the call succeeds");

    let received = server.received_requests().await.expect("wiremock records requests");
    assert_eq!(received.len(), 1);
    let body: Value = serde_json::from_slice(&received[0].body).expect("the body is JSON");
    assert_eq!(body["model"], MODEL);
    assert_eq!(
        body["messages"],
        json!([
            { "role": "system", "content": "You triage security findings." },
            { "role": "user", "content": "Assess finding f-1." },
            { "role": "assistant", "content": "Looking up the host.", "tool_calls": [
                { "id": "call_1", "type": "function",
                  "function": { "name": "lookup_host", "arguments": "{\"host_id\":\"i-0abc\"}" } },
            ] },
            { "role": "tool", "tool_call_id": "call_1", "content": "{\"edr\":\"missing\"}" },
            { "role": "tool", "tool_call_id": "call_2", "content": "{\"error\":\"no such host\"}" },
            { "role": "user", "content": "Now conclude." },
        ])
    );
    assert_eq!(
        body["tools"],
        json!([{ "type": "function", "function": {
            "name": "lookup_host",
            "description": "What the inventory knows about one host.",
            "parameters": {
                "type": "object",
                "properties": { "host_id": { "type": "string", "maxLength": 64 } },
                "required": ["host_id"],
            },
        } }])
    );
    assert_eq!(body["max_tokens"], 1024);
    assert_eq!(body["temperature"], 0.5);
}

#[tokio::test]
async fn without_a_key_or_tools_neither_is_sent() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(COMPLETIONS_PATH))
        .respond_with(completion(json!({ "role": "assistant", "content": "done" }), "stop"))
        .expect(1)
        .mount(&server)
        .await;
    model(&server, None).converse(&simple_request()).await.expect("the call succeeds");
    let received = server.received_requests().await.expect("wiremock records requests");
    assert_eq!(received[0].headers.get("authorization"), None);
    let body: Value = serde_json::from_slice(&received[0].body).expect("the body is JSON");
    assert_eq!(body.get("tools"), None, "{body}");
}

#[tokio::test]
async fn text_reply_with_usage() {
    let reply = reply_for(completion(json!({ "role": "assistant", "content": "Verdict: benign." }), "stop"))
        .await
        .expect("a reply");
    assert_eq!(reply.content, vec![Part::Text { text: "Verdict: benign.".into() }]);
    assert_eq!(reply.stop_reason, StopReason::EndTurn);
    assert_eq!(reply.usage, Usage { input_tokens: 210, output_tokens: 33 });
}

#[tokio::test]
async fn tool_call_reply_keeps_ids_names_and_arguments() {
    let message = json!({
        "role": "assistant",
        "content": null,
        "tool_calls": [
            { "id": "call_9", "type": "function",
              "function": { "name": "lookup_host", "arguments": "{\"host_id\":\"i-0abc\",\"limit\":5}" } },
            { "id": "call_10", "type": "function",
              "function": { "name": "list_findings", "arguments": { "severity": "HIGH" } } },
        ],
    });
    let reply = reply_for(completion(message, "tool_calls")).await.expect("a reply");
    assert_eq!(
        reply.content,
        vec![
            Part::ToolUse {
                id: "call_9".into(),
                name: "lookup_host".into(),
                input: json!({ "host_id": "i-0abc", "limit": 5 })
            },
            Part::ToolUse { id: "call_10".into(), name: "list_findings".into(), input: json!({ "severity": "HIGH" }) },
        ]
    );
    assert_eq!(reply.stop_reason, StopReason::ToolUse);
    assert_eq!(reply.usage, Usage { input_tokens: 210, output_tokens: 33 });
}

#[tokio::test]
async fn finish_reasons_map_to_the_port() {
    let calls = json!([{ "id": "c", "type": "function", "function": { "name": "t", "arguments": "{}" } }]);
    for (message, wire, expected) in [
        (json!({ "content": "…" }), "length", StopReason::MaxTokens),
        (json!({ "content": "…" }), "content_filter", StopReason::Other),
        (json!({ "content": "…" }), "stop", StopReason::EndTurn),
        // Older Ollama says `stop` after tool calls.
        (json!({ "content": "", "tool_calls": calls }), "stop", StopReason::ToolUse),
    ] {
        let reply = reply_for(completion(message, wire)).await.expect("a reply");
        assert_eq!(reply.stop_reason, expected, "finish_reason {wire}");
    }
}

#[tokio::test]
async fn rate_limit_is_throttled_without_a_hidden_retry() {
    let error = error_for(
        ResponseTemplate::new(429)
            .set_body_json(json!({ "error": { "message": "Rate limit reached", "type": "requests" } })),
    )
    .await;
    let LlmError::Throttled { provider, message } = &error else { panic!("expected Throttled, got {error:?}") };
    assert_eq!(*provider, "openai");
    assert!(message.contains("Rate limit reached"), "{message}");
    assert!(message.contains(MODEL), "{message}");
}

#[tokio::test]
async fn server_errors_are_transient() {
    for status in [500, 502, 503] {
        let error = error_for(ResponseTemplate::new(status).set_body_string("model is loading")).await;
        let LlmError::Transient { message, .. } = &error else { panic!("{status}: expected Transient, got {error:?}") };
        assert!(message.contains(&status.to_string()), "{message}");
    }
}

#[tokio::test]
async fn client_errors_are_refused() {
    for (status, body) in [
        (400, r#"{"error":{"message":"max_tokens is too large"}}"#),
        (401, r#"{"error":{"message":"Incorrect API key provided"}}"#),
        (404, r#"{"error":{"message":"model \"llama3.1:8b\" not found"}}"#),
    ] {
        let error = error_for(ResponseTemplate::new(status).set_body_string(body)).await;
        let LlmError::Refused { message, .. } = &error else { panic!("{status}: expected Refused, got {error:?}") };
        assert!(message.contains(&status.to_string()), "{message}");
        assert!(!error.is_retryable());
    }
}

#[tokio::test]
async fn malformed_bodies_are_malformed() {
    for body in [
        "not json at all",
        r#"{"output": 42}"#,
        r#"{"choices": []}"#,
        r#"{"choices": [{"message": {"content": 7}, "finish_reason": "stop"}]}"#,
    ] {
        let error = error_for(ResponseTemplate::new(200).set_body_string(body)).await;
        let LlmError::Malformed { message, .. } = &error else { panic!("{body}: expected Malformed, got {error:?}") };
        assert!(message.contains(MODEL), "{message}");
    }
}

#[tokio::test]
async fn unparseable_tool_arguments_are_malformed() {
    for arguments in [json!("{\"host_id\": \"i-0abc\""), json!(42)] {
        let message = json!({
            "role": "assistant",
            "tool_calls": [{ "id": "call_bad", "type": "function",
                             "function": { "name": "lookup_host", "arguments": arguments } }],
        });
        let error = error_for(completion(message, "tool_calls")).await;
        let LlmError::Malformed { message, .. } = &error else { panic!("expected Malformed, got {error:?}") };
        assert!(message.contains("call_bad"), "{message}");
        assert!(message.contains("lookup_host"), "{message}");
    }
}

#[tokio::test]
async fn a_call_that_outlasts_the_timeout_is_transient() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(COMPLETIONS_PATH))
        .respond_with(completion(json!({ "content": "late" }), "stop").set_delay(Duration::from_secs(30)))
        .expect(1)
        .mount(&server)
        .await;
    let model = model(&server, None).with_timeout(Duration::from_millis(300));
    let error = model.converse(&simple_request()).await.expect_err("the call must time out");
    assert!(matches!(error, LlmError::Transient { .. }), "{error:?}");
}

#[tokio::test]
async fn an_unreachable_server_is_transient() {
    // Bind and drop a listener so the port is (almost certainly) closed on loopback.
    let port = std::net::TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).expect("a free port").port();
    let model = OpenAiModel::new(&format!("http://127.0.0.1:{port}/v1"), MODEL, None).expect("a valid URL");
    let error = model.converse(&simple_request()).await.expect_err("nothing listens");
    assert!(matches!(error, LlmError::Transient { .. }), "{error:?}");
}

#[tokio::test]
async fn the_key_stays_out_of_debug_and_names() {
    let server = MockServer::start().await;
    let model = model(&server, Some(API_KEY));
    assert!(!format!("{model:?}").contains(API_KEY));
    assert_eq!(model.provider(), "openai");
    assert_eq!(model.model(), MODEL);
}
