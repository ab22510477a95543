//! OpenAI-compatible chat completions with tool calls: OpenAI itself, or a self-hosted model
//! server that speaks the same wire format (Ollama's `/v1`, vLLM, llama.cpp's server).
//!
//! One request per call and no retries of our own: the analysis loop owns retries.

use super::{ChatReply, ChatRequest, LanguageModel, LlmError, Message, Part, Role, StopReason, Usage};
use async_trait::async_trait;
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use serde_json::{json, Value};
use std::time::Duration;

const PROVIDER: &str = "openai";

/// How long one call may take before it counts as a transient failure (a local model on a CPU
/// is slow; two minutes leaves room without hanging a run).
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(120);

/// How much of an error body goes into a message: enough to say why, not a whole HTML page.
const ERROR_BODY_CHARS: usize = 300;

/// A model behind an OpenAI-compatible `/chat/completions` endpoint.
#[derive(Debug, Clone)]
pub struct OpenAiModel {
    client: reqwest::Client,
    /// `{base}/chat/completions`.
    endpoint: String,
    model: String,
    /// Sent as a bearer token; `SecretString` keeps it out of `Debug`.
    api_key: Option<SecretString>,
    timeout: Duration,
}

impl OpenAiModel {
    /// A model at `base_url` (e.g. `http://127.0.0.1:11434/v1`). The key, when given, is sent as
    /// a bearer token; a local server usually needs none.
    pub fn new(
        base_url: &str,
        model: impl Into<String>,
        api_key: Option<SecretString>,
    ) -> Result<OpenAiModel, LlmError> {
        let refused = |message: String| LlmError::Refused { provider: PROVIDER, message };
        // The URL is not echoed: it may carry what the next check refuses.
        let url = reqwest::Url::parse(base_url).map_err(|err| refused(format!("the base URL is not a URL: {err}")))?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err(refused(format!("the base URL must be http or https, not {}", url.scheme())));
        }
        // The endpoint is logged and named in errors; a secret in it would leak there.
        if !url.username().is_empty() || url.password().is_some() {
            return Err(refused("the base URL must not carry credentials; pass the API key instead".into()));
        }
        let client = reqwest::Client::builder()
            .user_agent(concat!("secops-triage/", env!("CARGO_PKG_VERSION")))
            // A POST API has no reason to redirect, and a redirect is where a token goes astray.
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|err| refused(format!("cannot build the HTTP client: {err}")))?;
        Ok(OpenAiModel {
            client,
            endpoint: format!("{}/chat/completions", base_url.trim_end_matches('/')),
            model: model.into(),
            api_key,
            timeout: DEFAULT_TIMEOUT,
        })
    }

    /// The same model with another bound on each call.
    pub fn with_timeout(self, timeout: Duration) -> OpenAiModel {
        OpenAiModel { timeout, ..self }
    }

    fn error(&self, class: fn(String) -> LlmError, what: impl std::fmt::Display) -> LlmError {
        class(format!("model {} at {}: {what}", self.model, self.endpoint))
    }
}

fn throttled(message: String) -> LlmError {
    LlmError::Throttled { provider: PROVIDER, message }
}
fn transient(message: String) -> LlmError {
    LlmError::Transient { provider: PROVIDER, message }
}
fn malformed(message: String) -> LlmError {
    LlmError::Malformed { provider: PROVIDER, message }
}
fn refused(message: String) -> LlmError {
    LlmError::Refused { provider: PROVIDER, message }
}

#[async_trait]
impl LanguageModel for OpenAiModel {
    fn provider(&self) -> &'static str {
        PROVIDER
    }

    fn model(&self) -> &str {
        &self.model
    }

    async fn converse(&self, request: &ChatRequest) -> Result<ChatReply, LlmError> {
        let body = request_body(&self.model, request);
        let mut call = self.client.post(&self.endpoint).timeout(self.timeout).json(&body);
        if let Some(key) = &self.api_key {
            call = call.bearer_auth(key.expose_secret());
        }
        tracing::debug!(model = %self.model, endpoint = %self.endpoint, "chat completion");
        let response = call.send().await.map_err(|err| self.transport_error(&err))?;
        let status = response.status();
        let bytes = response.bytes().await.map_err(|err| self.transport_error(&err))?;
        if !status.is_success() {
            let what = format!("HTTP {status}: {}", excerpt(&bytes));
            return Err(match status.as_u16() {
                429 => self.error(throttled, what),
                500.. => self.error(transient, what),
                _ => self.error(refused, what),
            });
        }
        let completion: Completion = serde_json::from_slice(&bytes)
            .map_err(|err| self.error(malformed, format_args!("not a chat completion: {err}")))?;
        to_reply(completion).map_err(|what| self.error(malformed, what))
    }
}

impl OpenAiModel {
    /// Every transport failure may pass: the server is starting, the network hiccuped, the
    /// model took longer than we allow. reqwest's message names the URL, which holds no secret.
    fn transport_error(&self, err: &reqwest::Error) -> LlmError {
        if err.is_timeout() {
            return self.error(transient, format_args!("no answer within {:?}", self.timeout));
        }
        let mut what = err.to_string();
        let mut source = std::error::Error::source(err);
        // The chain says why (connection refused, reset); it is short, but bound the walk anyway.
        for _ in 0..8 {
            let Some(cause) = source else { break };
            what = format!("{what}: {cause}");
            source = cause.source();
        }
        self.error(transient, what)
    }
}

/// The start of a body, for an error message.
fn excerpt(bytes: &[u8]) -> String {
    let text = String::from_utf8_lossy(bytes);
    let text = text.trim();
    if text.is_empty() {
        return "(empty body)".into();
    }
    let mut cut: String = text.chars().take(ERROR_BODY_CHARS).collect();
    if cut.len() < text.len() {
        cut.push('…');
    }
    cut
}

/// The request body: the system message, the conversation, the tools.
fn request_body(model: &str, request: &ChatRequest) -> Value {
    let mut messages = Vec::with_capacity(request.messages.len() + 1);
    if !request.system.is_empty() {
        messages.push(json!({ "role": "system", "content": request.system }));
    }
    for message in &request.messages {
        push_message(&mut messages, message);
    }
    let mut body = json!({
        "model": model,
        "messages": messages,
        "max_tokens": request.max_tokens,
        "temperature": request.temperature,
    });
    if !request.tools.is_empty() {
        let tools: Vec<Value> = request
            .tools
            .iter()
            .map(|tool| {
                json!({
                    "type": "function",
                    "function": {
                        "name": tool.name,
                        "description": tool.description,
                        "parameters": tool.input_schema,
                    },
                })
            })
            .collect();
        body["tools"] = Value::Array(tools);
    }
    body
}

/// One port message as chat messages. A user turn becomes its tool results (each a `tool`
/// message, which must directly follow the assistant's calls) and then its text; an assistant
/// turn becomes one message with its text and its tool calls.
fn push_message(out: &mut Vec<Value>, message: &Message) {
    let text = message
        .content
        .iter()
        .filter_map(|part| match part {
            Part::Text { text } => Some(text.as_str()),
            _ => None,
        })
        .collect::<Vec<_>>()
        .join("\n");
    match message.role {
        Role::User => {
            for part in &message.content {
                if let Part::ToolResult { id, content, is_error } = part {
                    // The format has no error flag, so an error says so in its content.
                    let content = if *is_error { json!({ "error": content }) } else { content.clone() };
                    out.push(json!({ "role": "tool", "tool_call_id": id, "content": content.to_string() }));
                }
            }
            if !text.is_empty() {
                out.push(json!({ "role": "user", "content": text }));
            }
        }
        Role::Assistant => {
            let calls: Vec<Value> = message
                .content
                .iter()
                .filter_map(|part| match part {
                    Part::ToolUse { id, name, input } => Some(json!({
                        "id": id,
                        "type": "function",
                        "function": { "name": name, "arguments": input.to_string() },
                    })),
                    _ => None,
                })
                .collect();
            let mut assistant = json!({
                "role": "assistant",
                "content": if text.is_empty() { Value::Null } else { Value::String(text) },
            });
            // Some servers reject an empty `tool_calls` list, so it is there only when used.
            if !calls.is_empty() {
                assistant["tool_calls"] = Value::Array(calls);
            }
            out.push(assistant);
        }
    }
}

/// The parts of a chat completion this port reads; everything else is ignored.
#[derive(Debug, Deserialize)]
struct Completion {
    choices: Vec<Choice>,
    #[serde(default)]
    usage: Option<CompletionUsage>,
}

#[derive(Debug, Deserialize)]
struct Choice {
    message: ChoiceMessage,
    #[serde(default)]
    finish_reason: Option<String>,
}

#[derive(Debug, Deserialize)]
struct ChoiceMessage {
    #[serde(default)]
    content: Option<String>,
    #[serde(default)]
    tool_calls: Option<Vec<ToolCall>>,
}

#[derive(Debug, Deserialize)]
struct ToolCall {
    id: String,
    function: FunctionCall,
}

#[derive(Debug, Deserialize)]
struct FunctionCall {
    name: String,
    /// A JSON document in a string, per the format; some servers send the object itself.
    arguments: Value,
}

#[derive(Debug, Default, Deserialize)]
struct CompletionUsage {
    #[serde(default)]
    prompt_tokens: u64,
    #[serde(default)]
    completion_tokens: u64,
}

fn to_reply(completion: Completion) -> Result<ChatReply, String> {
    let Some(choice) = completion.choices.into_iter().next() else {
        return Err("the reply has no choices".into());
    };
    let mut content = Vec::new();
    if let Some(text) = choice.message.content.filter(|text| !text.is_empty()) {
        content.push(Part::Text { text });
    }
    for call in choice.message.tool_calls.unwrap_or_default() {
        let input = match call.function.arguments {
            Value::String(arguments) => serde_json::from_str(&arguments).map_err(|err| {
                format!("the arguments of tool call {} ({}) are not JSON: {err}", call.id, call.function.name)
            })?,
            object @ Value::Object(_) => object,
            other => {
                return Err(format!(
                    "the arguments of tool call {} ({}) are neither a JSON string nor an object: {other}",
                    call.id, call.function.name
                ))
            }
        };
        content.push(Part::ToolUse { id: call.id, name: call.function.name, input });
    }
    let calls_tools = content.iter().any(|part| matches!(part, Part::ToolUse { .. }));
    let stop_reason = match choice.finish_reason.as_deref() {
        Some("tool_calls") => StopReason::ToolUse,
        // Some servers (older Ollama) say `stop` when the turn ends in tool calls; the calls
        // are what the loop must act on.
        Some("stop") if calls_tools => StopReason::ToolUse,
        Some("stop") => StopReason::EndTurn,
        Some("length") => StopReason::MaxTokens,
        _ => StopReason::Other,
    };
    let usage = completion.usage.unwrap_or_default();
    Ok(ChatReply {
        content,
        stop_reason,
        usage: Usage { input_tokens: usage.prompt_tokens, output_tokens: usage.completion_tokens },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_error_bodies_are_cut_on_a_char_boundary() {
        let body = "é".repeat(ERROR_BODY_CHARS + 10);
        let cut = excerpt(body.as_bytes());
        assert_eq!(cut.chars().count(), ERROR_BODY_CHARS + 1);
        assert!(cut.ends_with('…'));
        assert_eq!(excerpt(b"  "), "(empty body)");
    }

    #[test]
    fn base_urls_with_credentials_or_other_schemes_are_refused() {
        let with_password = OpenAiModel::new("http://user:hunter2@127.0.0.1:11434/v1", "m", None).unwrap_err();
        assert!(matches!(with_password, LlmError::Refused { .. }), "{with_password:?}");
        assert!(!with_password.to_string().contains("hunter2"), "{with_password}");
        let ftp = OpenAiModel::new("ftp://127.0.0.1/v1", "m", None).unwrap_err();
        assert!(ftp.to_string().contains("ftp"), "{ftp}");
        let model = OpenAiModel::new("http://127.0.0.1:11434/v1/", "m", None).unwrap();
        assert_eq!(model.endpoint, "http://127.0.0.1:11434/v1/chat/completions");
    }
}
