//! Amazon Bedrock through the Converse API: one model-neutral request shape with tool use.
//!
//! The SDK's own retries are off: the analysis loop decides whether and when to call again, and
//! a hidden retry would double the tokens we pay for and hide throttling from its books.

use super::{ChatReply, ChatRequest, LanguageModel, LlmError, Message, Part, Role, StopReason, Usage};
use async_trait::async_trait;
use aws_sdk_bedrockruntime::config::retry::RetryConfig;
use aws_sdk_bedrockruntime::config::timeout::TimeoutConfig;
use aws_sdk_bedrockruntime::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
use aws_sdk_bedrockruntime::operation::converse::{ConverseError, ConverseOutput as ConverseResponse};
use aws_sdk_bedrockruntime::types::{
    ContentBlock, ConversationRole, ConverseOutput, InferenceConfiguration, SystemContentBlock, Tool,
    ToolConfiguration, ToolInputSchema, ToolResultBlock, ToolResultContentBlock, ToolResultStatus, ToolSpecification,
    ToolUseBlock,
};
use aws_smithy_types::{Document, Number};
use serde_json::Value;
use std::collections::HashMap;
use std::time::Duration;

const PROVIDER: &str = "bedrock";

/// How long one Converse call may take before it counts as a transient failure. Long answers
/// from large models take tens of seconds; two minutes leaves room without hanging a run.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(120);

/// Error codes Bedrock uses when it refuses for rate or quota; waiting helps.
const THROTTLING_CODES: &[&str] = &["ThrottlingException", "ServiceQuotaExceededException", "TooManyRequestsException"];

/// Error codes for trouble on Bedrock's side that passes with time.
const TRANSIENT_CODES: &[&str] =
    &["InternalServerException", "ServiceUnavailableException", "ModelNotReadyException", "ModelTimeoutException"];

/// A Bedrock model called through Converse.
#[derive(Debug, Clone)]
pub struct BedrockModel {
    client: aws_sdk_bedrockruntime::Client,
    model_id: String,
    timeout: Duration,
}

impl BedrockModel {
    /// A model named by its id or inference profile (`anthropic.claude-3-5-haiku-20241022-v1:0`),
    /// with the region, credentials and endpoint of `sdk`, no SDK retries and [`DEFAULT_TIMEOUT`].
    pub fn new(sdk: &aws_config::SdkConfig, model_id: impl Into<String>) -> BedrockModel {
        let config = aws_sdk_bedrockruntime::config::Builder::from(sdk)
            .retry_config(RetryConfig::disabled())
            .timeout_config(call_timeouts(sdk.timeout_config(), DEFAULT_TIMEOUT))
            .build();
        BedrockModel {
            client: aws_sdk_bedrockruntime::Client::from_conf(config),
            model_id: model_id.into(),
            timeout: DEFAULT_TIMEOUT,
        }
    }

    /// The same model with another bound on each call.
    pub fn with_timeout(self, timeout: Duration) -> BedrockModel {
        let config = self.client.config();
        let config = config.to_builder().timeout_config(call_timeouts(config.timeout_config(), timeout)).build();
        BedrockModel { client: aws_sdk_bedrockruntime::Client::from_conf(config), timeout, ..self }
    }

    fn error(&self, class: fn(&'static str, String) -> LlmError, what: impl std::fmt::Display) -> LlmError {
        class(PROVIDER, format!("model {}: {what}", self.model_id))
    }
}

/// The shared configuration's connect timeout, with `timeout` on the whole call. The shared
/// per-attempt and read timeouts are sized for quick control-plane calls and would cut a long
/// generation short, so the call's own bound replaces them.
fn call_timeouts(shared: Option<&TimeoutConfig>, timeout: Duration) -> TimeoutConfig {
    shared
        .map(TimeoutConfig::to_builder)
        .unwrap_or_default()
        .operation_timeout(timeout)
        .operation_attempt_timeout(timeout)
        .disable_read_timeout()
        .build()
}

fn throttled(provider: &'static str, message: String) -> LlmError {
    LlmError::Throttled { provider, message }
}
fn transient(provider: &'static str, message: String) -> LlmError {
    LlmError::Transient { provider, message }
}
fn malformed(provider: &'static str, message: String) -> LlmError {
    LlmError::Malformed { provider, message }
}
fn refused(provider: &'static str, message: String) -> LlmError {
    LlmError::Refused { provider, message }
}

#[async_trait]
impl LanguageModel for BedrockModel {
    fn provider(&self) -> &'static str {
        PROVIDER
    }

    fn model(&self) -> &str {
        &self.model_id
    }

    async fn converse(&self, request: &ChatRequest) -> Result<ChatReply, LlmError> {
        let messages = request.messages.iter().map(to_message).collect::<Result<Vec<_>, _>>().map_err(|err| {
            self.error(refused, format_args!("cannot build the request: {}", DisplayErrorContext(&err)))
        })?;
        let tool_config = tool_configuration(request).map_err(|err| {
            self.error(refused, format_args!("cannot build the tool list: {}", DisplayErrorContext(&err)))
        })?;
        let inference = InferenceConfiguration::builder()
            .max_tokens(i32::try_from(request.max_tokens).unwrap_or(i32::MAX))
            .temperature(request.temperature)
            .build();
        let response = self
            .client
            .converse()
            .model_id(&self.model_id)
            .system(SystemContentBlock::Text(request.system.clone()))
            .set_messages(Some(messages))
            .set_tool_config(tool_config)
            .inference_config(inference)
            .send()
            .await
            .map_err(|err| self.classify(&err))?;
        self.to_reply(response)
    }
}

impl BedrockModel {
    /// Sorts a failed call into the classes the analysis loop acts on. The message names the
    /// model and Bedrock's error code; the SDK's errors carry no credentials (the request's
    /// signature is never part of them).
    fn classify(&self, err: &SdkError<ConverseError>) -> LlmError {
        match err {
            SdkError::TimeoutError(_) => self.error(transient, format_args!("no answer within {:?}", self.timeout)),
            SdkError::DispatchFailure(failure) if failure.is_user() => {
                self.error(refused, format_args!("cannot send the request: {}", DisplayErrorContext(err)))
            }
            SdkError::DispatchFailure(_) => {
                self.error(transient, format_args!("cannot reach Bedrock: {}", DisplayErrorContext(err)))
            }
            SdkError::ResponseError(_) => {
                self.error(transient, format_args!("the answer broke off: {}", DisplayErrorContext(err)))
            }
            SdkError::ServiceError(service) => {
                let status = service.raw().status().as_u16();
                let code = err.code();
                let what = match (code, err.message()) {
                    (Some(code), Some(message)) => format!("{code} (HTTP {status}): {message}"),
                    (Some(code), None) => format!("{code} (HTTP {status})"),
                    // The service error alone: the whole SDK error would print the raw
                    // response, body and all.
                    (None, _) => format!("HTTP {status}: {}", DisplayErrorContext(service.err())),
                };
                let class = match code {
                    Some(code) if THROTTLING_CODES.contains(&code) => throttled,
                    Some(code) if TRANSIENT_CODES.contains(&code) => transient,
                    _ if status == 429 => throttled,
                    _ if status >= 500 => transient,
                    // A success status with an error means the body did not deserialize.
                    _ if (200..300).contains(&status) => {
                        return self.error(malformed, format_args!("not a Converse reply: {what}"));
                    }
                    _ => refused,
                };
                self.error(class, what)
            }
            // ConstructionFailure and whatever the SDK adds later: nothing was sent, or we
            // cannot tell; retrying the same request cannot help.
            _ => self.error(refused, format_args!("cannot build the request: {}", DisplayErrorContext(err))),
        }
    }

    fn to_reply(&self, response: ConverseResponse) -> Result<ChatReply, LlmError> {
        let Some(ConverseOutput::Message(message)) = response.output else {
            return Err(self.error(malformed, "the reply has no output message"));
        };
        let content = message
            .content
            .into_iter()
            .filter_map(|block| match block {
                ContentBlock::Text(text) => Some(Part::Text { text }),
                ContentBlock::ToolUse(tool_use) => Some(Part::ToolUse {
                    id: tool_use.tool_use_id,
                    name: tool_use.name,
                    input: document_to_json(&tool_use.input),
                }),
                // Reasoning, citations and media are not part of the port; the report is built
                // from the text and the tool calls alone.
                _ => None,
            })
            .collect();
        let stop_reason = match response.stop_reason {
            aws_sdk_bedrockruntime::types::StopReason::EndTurn => StopReason::EndTurn,
            aws_sdk_bedrockruntime::types::StopReason::ToolUse => StopReason::ToolUse,
            aws_sdk_bedrockruntime::types::StopReason::MaxTokens => StopReason::MaxTokens,
            _ => StopReason::Other,
        };
        let usage = response
            .usage
            .map(|usage| Usage {
                input_tokens: u64::try_from(usage.input_tokens).unwrap_or(0),
                output_tokens: u64::try_from(usage.output_tokens).unwrap_or(0),
            })
            .unwrap_or_default();
        Ok(ChatReply { content, stop_reason, usage })
    }
}

type BuildError = aws_smithy_types::error::operation::BuildError;

fn to_message(message: &Message) -> Result<aws_sdk_bedrockruntime::types::Message, BuildError> {
    let role = match message.role {
        Role::User => ConversationRole::User,
        Role::Assistant => ConversationRole::Assistant,
    };
    let content = message.content.iter().map(to_block).collect::<Result<Vec<_>, _>>()?;
    aws_sdk_bedrockruntime::types::Message::builder().role(role).set_content(Some(content)).build()
}

fn to_block(part: &Part) -> Result<ContentBlock, BuildError> {
    Ok(match part {
        Part::Text { text } => ContentBlock::Text(text.clone()),
        Part::ToolUse { id, name, input } => ContentBlock::ToolUse(
            ToolUseBlock::builder().tool_use_id(id).name(name).input(json_to_document(input)).build()?,
        ),
        Part::ToolResult { id, content, is_error } => ContentBlock::ToolResult(
            ToolResultBlock::builder()
                .tool_use_id(id)
                .content(ToolResultContentBlock::Json(json_to_document(&as_object(content))))
                .status(if *is_error { ToolResultStatus::Error } else { ToolResultStatus::Success })
                .build()?,
        ),
    })
}

/// Bedrock accepts only a JSON object as a `json` tool result ("Provide a json object for the
/// field"), so anything else travels as `{"result": …}`.
fn as_object(content: &Value) -> Value {
    match content {
        Value::Object(_) => content.clone(),
        other => serde_json::json!({ "result": other }),
    }
}

/// The tools on offer, or none at all: Bedrock rejects an empty tool list.
fn tool_configuration(request: &ChatRequest) -> Result<Option<ToolConfiguration>, BuildError> {
    if request.tools.is_empty() {
        return Ok(None);
    }
    let tools = request
        .tools
        .iter()
        .map(|tool| {
            ToolSpecification::builder()
                .name(tool.name)
                .description(tool.description)
                .input_schema(ToolInputSchema::Json(json_to_document(&tool.input_schema)))
                .build()
                .map(Tool::ToolSpec)
        })
        .collect::<Result<Vec<_>, _>>()?;
    ToolConfiguration::builder().set_tools(Some(tools)).build().map(Some)
}

/// JSON to the SDK's document type. Integers stay integers: a schema's `maxLength: 64` or a
/// tool input's `limit: 5` must not become `64.0` on the wire.
fn json_to_document(value: &Value) -> Document {
    match value {
        Value::Null => Document::Null,
        Value::Bool(b) => Document::Bool(*b),
        Value::Number(n) => Document::Number(if let Some(u) = n.as_u64() {
            Number::PosInt(u)
        } else if let Some(i) = n.as_i64() {
            Number::NegInt(i)
        } else {
            Number::Float(n.as_f64().unwrap_or(f64::NAN))
        }),
        Value::String(s) => Document::String(s.clone()),
        Value::Array(items) => Document::Array(items.iter().map(json_to_document).collect()),
        Value::Object(map) => {
            Document::Object(map.iter().map(|(k, v)| (k.clone(), json_to_document(v))).collect::<HashMap<_, _>>())
        }
    }
}

/// The SDK's document type to JSON; a float JSON cannot hold (NaN, infinity) becomes null.
fn document_to_json(document: &Document) -> Value {
    match document {
        Document::Null => Value::Null,
        Document::Bool(b) => Value::Bool(*b),
        Document::Number(Number::PosInt(u)) => Value::from(*u),
        Document::Number(Number::NegInt(i)) => Value::from(*i),
        Document::Number(Number::Float(f)) => serde_json::Number::from_f64(*f).map_or(Value::Null, Value::Number),
        Document::String(s) => Value::String(s.clone()),
        Document::Array(items) => Value::Array(items.iter().map(document_to_json).collect()),
        Document::Object(map) => Value::Object(map.iter().map(|(k, v)| (k.clone(), document_to_json(v))).collect()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn documents_keep_integers_and_round_trip() {
        let value = json!({
            "limit": 5,
            "offset": -3,
            "ratio": 0.25,
            "big": u64::MAX,
            "tags": ["a", null, true, {"nested": [1, 2.5]}],
        });
        let document = json_to_document(&value);
        let Document::Object(map) = &document else { panic!("expected an object, got {document:?}") };
        assert_eq!(map["limit"], Document::Number(Number::PosInt(5)));
        assert_eq!(map["offset"], Document::Number(Number::NegInt(-3)));
        assert_eq!(map["ratio"], Document::Number(Number::Float(0.25)));
        assert_eq!(map["big"], Document::Number(Number::PosInt(u64::MAX)));
        // serde_json tells 5 from 5.0, so equality proves the integers came back as integers.
        assert_eq!(document_to_json(&document), value);
    }

    #[test]
    fn floats_json_cannot_hold_become_null() {
        assert_eq!(document_to_json(&Document::Number(Number::Float(f64::NAN))), Value::Null);
    }

    #[test]
    fn tool_results_travel_as_objects() {
        assert_eq!(as_object(&json!({"a": 1})), json!({"a": 1}));
        assert_eq!(as_object(&json!([1, 2])), json!({"result": [1, 2]}));
        assert_eq!(as_object(&json!("none found")), json!({"result": "none found"}));
    }
}
