//! The language-model port: one conversation turn with tool use, whatever the provider.
//!
//! The analysis loop ([`crate::analysis`]) owns the conversation; a provider only turns one
//! [`ChatRequest`] into one [`ChatReply`] over its wire format. Providers never run tools and
//! never see anything but what the request carries.

pub mod bedrock;
pub mod openai;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// Who said it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    User,
    Assistant,
}

/// One piece of a message.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "type")]
pub enum Part {
    Text {
        text: String,
    },
    /// The model asks for a tool. `input` is whatever the model produced: untrusted.
    ToolUse {
        id: String,
        name: String,
        input: Value,
    },
    /// Our answer to a tool use, sent back on the next user turn.
    ToolResult {
        id: String,
        content: Value,
        is_error: bool,
    },
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Message {
    pub role: Role,
    pub content: Vec<Part>,
}

impl Message {
    pub fn user_text(text: impl Into<String>) -> Self {
        Message { role: Role::User, content: vec![Part::Text { text: text.into() }] }
    }
}

/// A tool the model may call: a name, what it does, and the JSON Schema of its input.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ToolSpec {
    pub name: &'static str,
    pub description: &'static str,
    pub input_schema: Value,
}

/// One request: the instructions (ours only), the conversation so far, the tools on offer.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ChatRequest {
    pub system: String,
    pub messages: Vec<Message>,
    pub tools: Vec<ToolSpec>,
    pub max_tokens: u32,
    pub temperature: f32,
}

/// Why the model stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StopReason {
    EndTurn,
    ToolUse,
    MaxTokens,
    /// Anything else the provider reports (content filtered, guardrail, …).
    Other,
}

/// Tokens the provider counted for one call.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Usage {
    pub input_tokens: u64,
    pub output_tokens: u64,
}

impl std::ops::AddAssign for Usage {
    fn add_assign(&mut self, other: Usage) {
        self.input_tokens += other.input_tokens;
        self.output_tokens += other.output_tokens;
    }
}

/// The model's turn.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChatReply {
    pub content: Vec<Part>,
    pub stop_reason: StopReason,
    pub usage: Usage,
}

impl ChatReply {
    /// The text parts, joined.
    pub fn text(&self) -> String {
        self.content
            .iter()
            .filter_map(|p| match p {
                Part::Text { text } => Some(text.as_str()),
                _ => None,
            })
            .collect::<Vec<_>>()
            .join("\n")
    }

    pub fn tool_uses(&self) -> impl Iterator<Item = (&str, &str, &Value)> {
        self.content.iter().filter_map(|p| match p {
            Part::ToolUse { id, name, input } => Some((id.as_str(), name.as_str(), input)),
            _ => None,
        })
    }
}

/// How a call failed, in the classes the analysis loop acts on.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LlmError {
    /// The provider refused for rate (HTTP 429, ThrottlingException): wait and try again.
    #[error("{provider} throttled the request: {message}")]
    Throttled { provider: &'static str, message: String },
    /// Network trouble, 5xx, a timeout: may succeed on a retry.
    #[error("{provider} failed transiently: {message}")]
    Transient { provider: &'static str, message: String },
    /// The provider answered with something that is not its wire format.
    #[error("{provider} sent a malformed reply: {message}")]
    Malformed { provider: &'static str, message: String },
    /// Refused for good (bad credentials, unknown model, validation error, access denied).
    #[error("{provider} refused the request: {message}")]
    Refused { provider: &'static str, message: String },
}

impl LlmError {
    pub fn is_retryable(&self) -> bool {
        matches!(self, LlmError::Throttled { .. } | LlmError::Transient { .. })
    }
}

/// A language model behind one wire format.
#[async_trait]
pub trait LanguageModel: Send + Sync + std::fmt::Debug {
    /// `bedrock`, `openai`: recorded with every report and usage figure.
    fn provider(&self) -> &'static str;
    /// The model id the requests name (for the price table and the report).
    fn model(&self) -> &str;
    async fn converse(&self, request: &ChatRequest) -> Result<ChatReply, LlmError>;
}
