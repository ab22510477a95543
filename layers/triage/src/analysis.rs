//! One finding, analysed: gather the database context, route to the persona, let the offline rules
//! assess it, and — with a language model configured — let the model assess it with read-only
//! tools, validate what it wrote, retry once with the validation error, and fall back to the
//! offline assessment (marked as such) when the model cannot produce a valid one.
//!
//! The model never decides alone to clear a finding the rules rate high: a "likely benign" from a
//! model against an offline risk of 4 or more becomes "needs human", with the disagreement stated.
//! That keeps text planted in a finding ("mark this benign") from closing it.

use std::time::{Duration, Instant};

use secops_core::StepError;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use crate::context::{self, Context, ToolError};
use crate::finding::SecurityFinding;
use crate::llm::{ChatReply, ChatRequest, LanguageModel, LlmError, Message, Part, Role, Usage};
use crate::offline;
use crate::persona::Persona;
use crate::prompt;
use crate::report::{AnalystInfo, Assessment, Report, Verdict};

/// The bounds of one model conversation.
#[derive(Debug, Clone)]
pub struct AnalysisSettings {
    /// Read-only tool calls the model may make.
    pub max_tool_calls: u32,
    pub max_tokens: u32,
    pub temperature: f32,
    /// Attempts per model call when it is throttled or fails transiently.
    pub call_attempts: u32,
    /// The first backoff; doubled per attempt, with full jitter.
    pub backoff: Duration,
}

impl Default for AnalysisSettings {
    fn default() -> Self {
        AnalysisSettings {
            max_tool_calls: 8,
            max_tokens: 4096,
            temperature: 0.2,
            call_attempts: 4,
            backoff: Duration::from_secs(2),
        }
    }
}

/// One tool call the model made, for the books.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ToolCall {
    pub name: String,
    /// Refused (unknown tool, bad input, over budget): the reason; else None.
    pub refused: Option<String>,
}

/// A finished analysis.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Analysis {
    pub report: Report,
    /// The model the calls went to (also when its answer was not used).
    pub model: Option<String>,
    pub usage: Usage,
    pub model_calls: u32,
    pub tool_calls: Vec<ToolCall>,
    pub duration_ms: u64,
    /// The analyst process's peak resident memory (Linux `VmHWM`), when it could read it.
    #[serde(default)]
    pub peak_memory_kb: Option<u64>,
}

/// Analyse `finding` per the module documentation. Errors are database errors only: whatever a
/// model does, there is a report.
pub async fn analyse(
    db: &tokio_postgres::Client,
    finding: &SecurityFinding,
    model: Option<&dyn LanguageModel>,
    settings: &AnalysisSettings,
) -> Result<Analysis, StepError> {
    let started = Instant::now();
    let mut context = context::gather(db, finding).await?;
    let persona = Persona::for_source(finding.source);
    let rules = offline::assess(finding, persona, &context);
    let offline_info = |fallback_reason: Option<String>, model: Option<&dyn LanguageModel>| AnalystInfo {
        provider: "offline".into(),
        model: model.map(|m| format!("{}:{}", m.provider(), m.model())),
        fallback: fallback_reason.is_some(),
        fallback_reason,
    };
    let Some(model) = model else {
        return Ok(Analysis {
            report: Report::new(finding, persona, offline_info(None, None), rules),
            model: None,
            usage: Usage::default(),
            model_calls: 0,
            tool_calls: Vec::new(),
            duration_ms: elapsed_ms(started),
            peak_memory_kb: None,
        });
    };
    let mut conversation = Conversation::new(db, finding, persona, model, settings);
    let outcome = conversation.run(&mut context).await;
    let report = match outcome {
        Ok(assessment) => {
            let assessment = guard(assessment, &rules);
            let info = AnalystInfo {
                provider: model.provider().into(),
                model: Some(model.model().into()),
                fallback: false,
                fallback_reason: None,
            };
            Report::new(finding, persona, info, assessment)
        }
        Err(Failure::Database(e)) => return Err(e),
        Err(Failure::Model(reason)) => {
            tracing::warn!(finding_id = %finding.id, provider = model.provider(), "falling back to the offline analyst: {reason}");
            Report::new(finding, persona, offline_info(Some(reason), Some(model)), rules)
        }
    };
    Ok(Analysis {
        report,
        model: Some(model.model().to_owned()),
        usage: conversation.usage,
        model_calls: conversation.calls,
        tool_calls: conversation.tool_calls,
        duration_ms: elapsed_ms(started),
        peak_memory_kb: None,
    })
}

fn elapsed_ms(started: Instant) -> u64 {
    u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX)
}

/// A model may not clear on its own what the rules rate 4 or 5.
fn guard(mut assessment: Assessment, rules: &Assessment) -> Assessment {
    if assessment.verdict == Verdict::LikelyBenign && rules.risk.score >= 4 {
        assessment.verdict = Verdict::NeedsHuman;
        assessment.risk.score = assessment.risk.score.max(rules.risk.score - 1);
        assessment.risk.reasons.push(format!(
            "The model judged this likely benign, but the offline rules rate its risk {} of 5; a person decides.",
            rules.risk.score
        ));
    }
    assessment
}

enum Failure {
    /// The context database failed: the analysis fails (and is retried by the state machine).
    Database(StepError),
    /// The model could not give a valid assessment: fall back, saying why.
    Model(String),
}

struct Conversation<'a> {
    db: &'a tokio_postgres::Client,
    finding: &'a SecurityFinding,
    persona: Persona,
    model: &'a dyn LanguageModel,
    settings: &'a AnalysisSettings,
    nonce: String,
    usage: Usage,
    calls: u32,
    tool_calls: Vec<ToolCall>,
}

impl<'a> Conversation<'a> {
    fn new(
        db: &'a tokio_postgres::Client,
        finding: &'a SecurityFinding,
        persona: Persona,
        model: &'a dyn LanguageModel,
        settings: &'a AnalysisSettings,
    ) -> Self {
        Conversation {
            db,
            finding,
            persona,
            model,
            settings,
            nonce: prompt::nonce(),
            usage: Usage::default(),
            calls: 0,
            tool_calls: Vec::new(),
        }
    }

    async fn run(&mut self, context: &mut Context) -> Result<Assessment, Failure> {
        let mut request = ChatRequest {
            system: prompt::system(self.persona, &self.nonce, self.settings.max_tool_calls),
            messages: vec![Message::user_text(prompt::finding_message(&self.nonce, self.finding, context))],
            tools: if self.settings.max_tool_calls > 0 { context::tool_specs() } else { Vec::new() },
            max_tokens: self.settings.max_tokens,
            temperature: self.settings.temperature,
        };
        let mut corrected = false;
        let mut malformed_once = false;
        // Each round is a model call; tool rounds are bounded by the tool budget, answers by the
        // one correction, wire-level garbage by one repeat.
        let rounds = self.settings.max_tool_calls as usize + 3;
        for _ in 0..rounds {
            let reply = match self.call(&request).await {
                Ok(reply) => reply,
                Err(LlmError::Malformed { message, .. }) if !malformed_once => {
                    malformed_once = true;
                    tracing::warn!(finding_id = %self.finding.id, "malformed model reply, asking again: {message}");
                    continue;
                }
                Err(e) => return Err(Failure::Model(e.to_string())),
            };
            let uses: Vec<(String, String, Value)> =
                reply.tool_uses().map(|(id, name, input)| (id.to_owned(), name.to_owned(), input.clone())).collect();
            request.messages.push(Message { role: Role::Assistant, content: reply.content.clone() });
            if !uses.is_empty() {
                let mut results = Vec::with_capacity(uses.len());
                for (id, name, input) in uses {
                    results.push(self.tool(context, &id, &name, &input).await?);
                }
                request.messages.push(Message { role: Role::User, content: results });
                continue;
            }
            let problems = match prompt::extract_json(&reply.text()) {
                None => vec!["(top level): the answer contains no JSON object".to_owned()],
                Some(value) => match Assessment::parse(&value, &context.queries_run()) {
                    Ok(assessment) => return Ok(assessment),
                    Err(invalid) => invalid.problems,
                },
            };
            if corrected {
                return Err(Failure::Model(format!(
                    "the model's answer was invalid twice; last problems: {}",
                    problems.join("; ")
                )));
            }
            corrected = true;
            request.messages.push(Message::user_text(prompt::correction(&problems)));
        }
        Err(Failure::Model(format!("the model did not answer within {rounds} calls")))
    }

    /// One model call, retried with backoff while throttled or failing transiently.
    async fn call(&mut self, request: &ChatRequest) -> Result<ChatReply, LlmError> {
        let attempts = self.settings.call_attempts.max(1);
        let mut attempt = 0;
        loop {
            attempt += 1;
            self.calls += 1;
            match self.model.converse(request).await {
                Ok(reply) => {
                    self.usage += reply.usage;
                    return Ok(reply);
                }
                Err(e) if e.is_retryable() && attempt < attempts => {
                    let delay = backoff(self.settings.backoff, attempt);
                    tracing::info!(finding_id = %self.finding.id, attempt, delay_ms = delay.as_millis() as u64, "{e}; retrying");
                    tokio::time::sleep(delay).await;
                }
                Err(e) => return Err(e),
            }
        }
    }

    /// Run one tool use (or refuse it) and answer it as data.
    async fn tool(&mut self, context: &mut Context, id: &str, name: &str, input: &Value) -> Result<Part, Failure> {
        let used = self.tool_calls.iter().filter(|c| c.refused.is_none()).count() as u32;
        let outcome = if used >= self.settings.max_tool_calls {
            Err(ToolError::Refused(format!("the budget of {} tool calls is spent", self.settings.max_tool_calls)))
        } else {
            context::run_tool(self.db, self.finding, name, input).await
        };
        match outcome {
            Ok(item) => {
                let content = prompt::tool_result(&self.nonce, &serde_json::to_value(&item).unwrap_or(Value::Null));
                context.push(item);
                self.tool_calls.push(ToolCall { name: name.to_owned(), refused: None });
                Ok(Part::ToolResult { id: id.to_owned(), content, is_error: false })
            }
            Err(ToolError::Refused(reason)) => {
                tracing::warn!(finding_id = %self.finding.id, tool = %name.chars().take(64).collect::<String>(), "tool call refused: {reason}");
                self.tool_calls.push(ToolCall { name: name.chars().take(64).collect(), refused: Some(reason.clone()) });
                Ok(Part::ToolResult { id: id.to_owned(), content: json!({"error": reason}), is_error: true })
            }
            Err(ToolError::Failed(e)) => Err(Failure::Database(e)),
        }
    }
}

/// `base × 2^(attempt-1)`, capped at 30 s, with full jitter.
fn backoff(base: Duration, attempt: u32) -> Duration {
    let ceiling = base.saturating_mul(1u32 << (attempt - 1).min(10)).min(Duration::from_secs(30));
    let fraction = f64::from(uuid::Uuid::new_v4().as_u128() as u32) / f64::from(u32::MAX);
    ceiling.mul_f64(fraction.clamp(0.1, 1.0))
}
