//! A stateful Slack for tests: the Web API's `chat.postMessage` and an incoming webhook on one
//! local server. It checks the bearer token, checks the Block Kit limits the way Slack rejects
//! a message (`invalid_blocks`), records what it accepted, hands out increasing `ts` values,
//! and answers scripted failures (rate limits, 5xx, Slack errors) to the next requests.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, MutexGuard};

use serde_json::{json, Value};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

pub const SLACK_FAKE_TOKEN: &str = "xoxb-test";
pub const WEB_API_PATH: &str = "/api/chat.postMessage";
pub const WEBHOOK_PATH: &str = "/services/T0SECOPS/B0SECOPS/fake-webhook-secret";

// The limits the fake enforces, as Slack documents them.
const MAX_BLOCKS: usize = 50;
const HEADER_TEXT_MAX: usize = 150;
const SECTION_TEXT_MAX: usize = 3000;
const FIELDS_MAX: usize = 10;
const FIELD_TEXT_MAX: usize = 2000;
const MESSAGE_TEXT_MAX: usize = 40_000;

#[derive(Debug)]
pub struct SlackFake {
    server: MockServer,
    state: Arc<Mutex<State>>,
}

#[derive(Debug, Default)]
struct State {
    token: String,
    requests: usize,
    accepted: Vec<Value>,
    raw_accepted: Vec<Vec<u8>>,
    last_ts: u64,
    scripted: VecDeque<Scripted>,
}

/// An answer queued for one of the next requests, whatever it carries.
#[derive(Debug, Clone)]
enum Scripted {
    RateLimited { retry_after_secs: u64 },
    RatelimitedOkFalse,
    Status(u16),
    SlackError(String),
}

impl SlackFake {
    /// A fake that expects the bearer token [`SLACK_FAKE_TOKEN`].
    pub async fn start() -> SlackFake {
        Self::start_with_token(SLACK_FAKE_TOKEN).await
    }

    pub async fn start_with_token(token: &str) -> SlackFake {
        let state = Arc::new(Mutex::new(State { token: token.to_string(), ..State::default() }));
        let server = MockServer::start().await;
        Mock::given(method("POST")).and(path(WEB_API_PATH)).respond_with(WebApi(state.clone())).mount(&server).await;
        Mock::given(method("POST")).and(path(WEBHOOK_PATH)).respond_with(Webhook(state.clone())).mount(&server).await;
        SlackFake { server, state }
    }

    /// The Web API base (what `SlackTarget::WebApi::api_base` takes).
    pub fn uri(&self) -> String {
        self.server.uri()
    }

    pub fn webhook_url(&self) -> String {
        format!("{}{WEBHOOK_PATH}", self.server.uri())
    }

    /// The accepted message bodies, in order (Web API and webhook alike).
    pub fn messages(&self) -> Vec<Value> {
        self.lock().accepted.clone()
    }

    /// The accepted message bodies as the bytes that arrived.
    pub fn raw_messages(&self) -> Vec<Vec<u8>> {
        self.lock().raw_accepted.clone()
    }

    /// Every request that reached either endpoint, answered or refused.
    pub fn requests(&self) -> usize {
        self.lock().requests
    }

    /// The next `n` requests get HTTP 429 with `Retry-After: retry_after_secs`.
    pub fn rate_limit_next(&self, n: usize, retry_after_secs: u64) {
        self.script(n, Scripted::RateLimited { retry_after_secs });
    }

    /// The next `n` Web API requests get HTTP 200 `{"ok":false,"error":"ratelimited"}` without a
    /// `Retry-After` (a webhook has no such answer; it gets HTTP 429 without one).
    pub fn ratelimited_ok_false_next(&self, n: usize) {
        self.script(n, Scripted::RatelimitedOkFalse);
    }

    /// The next `n` requests get HTTP `status` with an empty body.
    pub fn fail_next(&self, n: usize, status: u16) {
        self.script(n, Scripted::Status(status));
    }

    /// The next `n` requests get Slack's error `slack_error`: `{"ok":false,"error":…}` from the
    /// Web API, the error as a plain-text body with its HTTP status from the webhook.
    pub fn error_next(&self, n: usize, slack_error: &str) {
        self.script(n, Scripted::SlackError(slack_error.to_string()));
    }

    fn script(&self, n: usize, answer: Scripted) {
        self.lock().scripted.extend(std::iter::repeat_n(answer, n));
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        lock(&self.state)
    }
}

fn lock(state: &Mutex<State>) -> MutexGuard<'_, State> {
    // A test that panicked while holding the lock has failed already; keep answering.
    state.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

struct WebApi(Arc<Mutex<State>>);

impl Respond for WebApi {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let mut state = lock(&self.0);
        state.requests += 1;
        let bearer = request.headers.get("authorization").and_then(|v| v.to_str().ok());
        match bearer {
            None => return slack_error("not_authed"),
            Some(value) if value != format!("Bearer {}", state.token) => {
                return slack_error("invalid_auth");
            }
            Some(_) => {}
        }
        match state.scripted.pop_front() {
            Some(Scripted::RateLimited { retry_after_secs }) => {
                return rate_limited(retry_after_secs).set_body_json(json!({
                    "ok": false, "error": "ratelimited"
                }));
            }
            Some(Scripted::RatelimitedOkFalse) => return slack_error("ratelimited"),
            Some(Scripted::Status(status)) => return ResponseTemplate::new(status),
            Some(Scripted::SlackError(error)) => return slack_error(&error),
            None => {}
        }
        let Ok(body) = serde_json::from_slice::<Value>(&request.body) else {
            return slack_error("invalid_json");
        };
        let channel = body["channel"].as_str().unwrap_or_default().to_string();
        if channel.is_empty() {
            return slack_error("channel_not_found");
        }
        if let Some(error) = message_error(&body) {
            return slack_error(error);
        }
        state.last_ts += 1;
        let ts = format!("1700000000.{:06}", state.last_ts);
        state.accepted.push(body);
        state.raw_accepted.push(request.body.clone());
        ResponseTemplate::new(200).set_body_json(json!({ "ok": true, "channel": channel, "ts": ts }))
    }
}

struct Webhook(Arc<Mutex<State>>);

impl Respond for Webhook {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let mut state = lock(&self.0);
        state.requests += 1;
        match state.scripted.pop_front() {
            Some(Scripted::RateLimited { retry_after_secs }) => {
                return rate_limited(retry_after_secs).set_body_string("rate_limited");
            }
            Some(Scripted::RatelimitedOkFalse) => {
                return ResponseTemplate::new(429).set_body_string("rate_limited");
            }
            Some(Scripted::Status(status)) => return ResponseTemplate::new(status),
            Some(Scripted::SlackError(error)) => return webhook_error(&error),
            None => {}
        }
        let Ok(body) = serde_json::from_slice::<Value>(&request.body) else {
            return webhook_error("invalid_payload");
        };
        if let Some(error) = message_error(&body) {
            return webhook_error(error);
        }
        state.accepted.push(body);
        state.raw_accepted.push(request.body.clone());
        ResponseTemplate::new(200).set_body_string("ok")
    }
}

fn rate_limited(retry_after_secs: u64) -> ResponseTemplate {
    ResponseTemplate::new(429).insert_header("Retry-After", retry_after_secs.to_string())
}

fn slack_error(error: &str) -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_json(json!({ "ok": false, "error": error }))
}

/// A webhook error: a plain-text body with the status Slack uses for it.
fn webhook_error(error: &str) -> ResponseTemplate {
    let status = match error {
        "no_service" | "no_team" => 404,
        "channel_is_archived" => 410,
        "action_prohibited" | "invalid_token" => 403,
        _ => 400,
    };
    ResponseTemplate::new(status).set_body_string(error)
}

/// Why Slack would refuse this message body, if it would.
fn message_error(body: &Value) -> Option<&'static str> {
    let text = body["text"].as_str().unwrap_or_default();
    let Some(blocks) = body["blocks"].as_array() else {
        return if text.is_empty() { Some("no_text") } else { None };
    };
    if text.chars().count() > MESSAGE_TEXT_MAX {
        return Some("msg_too_long");
    }
    if blocks.len() > MAX_BLOCKS || !blocks.iter().all(block_is_valid) {
        return Some("invalid_blocks");
    }
    None
}

fn block_is_valid(block: &Value) -> bool {
    let within =
        |text: &Value, max: usize| text.as_str().is_some_and(|text| !text.is_empty() && text.chars().count() <= max);
    match block["type"].as_str() {
        Some("header") => block["text"]["type"] == "plain_text" && within(&block["text"]["text"], HEADER_TEXT_MAX),
        Some("section") => {
            let text_ok = block.get("text").is_none_or(|text| within(&text["text"], SECTION_TEXT_MAX));
            let fields_ok = block.get("fields").is_none_or(|fields| {
                fields.as_array().is_some_and(|fields| {
                    fields.len() <= FIELDS_MAX && fields.iter().all(|field| within(&field["text"], FIELD_TEXT_MAX))
                })
            });
            let has_content = block.get("text").is_some() || block.get("fields").is_some();
            text_ok && fields_ok && has_content
        }
        Some("divider") | Some("context") => true,
        _ => false,
    }
}
