//! Slack: the chat adapter. Posts Block Kit messages through the Web API (`chat.postMessage`
//! with a bot token) or an incoming webhook, paced by a token bucket per destination, waiting
//! out Slack's rate limits within a budget and retrying what a retry can fix. Retries across
//! calls, the breaker and the outbox are the caller's: one `post` either delivers, or says why
//! not with the error class the outbox acts on.

mod blocks;

use std::num::NonZeroU32;
use std::time::Duration;

use async_trait::async_trait;
use governor::clock::Clock;
use governor::middleware::NoOpMiddleware;
use governor::state::{InMemoryState, NotKeyed};
use governor::{Quota, RateLimiter};
use reqwest::header::{HeaderMap, CONTENT_TYPE, RETRY_AFTER};
use reqwest::{StatusCode, Url};
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use serde_json::json;
use sha2::{Digest, Sha256};

pub use blocks::blocks;

use crate::message::ChatMessage;
use crate::sink::ChatSink;
use crate::{NotifyError, Result};

/// Where the Web API lives; tests point [`SlackTarget::WebApi::api_base`] at a local fake.
pub const DEFAULT_API_BASE: &str = "https://slack.com";

const WEB_API: &str = "slack chat.postMessage";
const WEBHOOK: &str = "slack webhook";
const JSON_UTF8: &str = "application/json; charset=utf-8";

/// The wait after a rate-limit answer that names none, and the least wait after any: Slack's
/// `Retry-After` is in whole seconds, and a `0` must not make us hammer it.
const MIN_RATE_LIMIT_WAIT: Duration = Duration::from_secs(1);
/// Backoff after the first failed attempt (full jitter: a random wait up to this), doubling per
/// further failure up to the cap.
const BACKOFF_BASE_MS: u64 = 250;
const BACKOFF_CAP_MS: u64 = 8_000;
/// How much of an unexpected answer an error message quotes.
const ANSWER_EXCERPT_CHARS: usize = 200;
/// Web API errors that say Slack had a problem, not our message: worth another attempt.
/// Every other error (`invalid_auth`, `channel_not_found`, `invalid_blocks`, …) is permanent.
const RETRYABLE_WEB_API_ERRORS: [&str; 4] = ["internal_error", "fatal_error", "service_unavailable", "request_timeout"];

#[derive(Debug, Clone)]
pub enum SlackTarget {
    /// Web API with a bot token: POST {api_base}/api/chat.postMessage (api_base default
    /// [`DEFAULT_API_BASE`]; tests: the fake's uri).
    WebApi { api_base: String, bot_token: SecretString, channel: String },
    /// An incoming webhook URL (itself a secret: whoever has it can post).
    Webhook { url: SecretString },
}

#[derive(Debug, Clone)]
pub struct SlackConfig {
    pub target: SlackTarget,
    /// Requests per minute to this destination (a retry is a request too); also the burst.
    pub per_minute: u32,
    /// How long one `post` may wait, in total, for the bucket or for a `Retry-After` before it
    /// gives up with `Throttled`.
    pub max_wait: Duration,
    /// Attempts at a request that fails with 5xx or a timeout before it gives up as `Transient`.
    pub max_attempts: u32,
    pub request_timeout: Duration,
}

impl SlackConfig {
    /// 30 requests a minute (half of Slack's one message a second per channel, leaving room for
    /// other posters), 90 s of waiting, 4 attempts of at most 10 s each.
    pub fn new(target: SlackTarget) -> Self {
        SlackConfig {
            target,
            per_minute: 30,
            max_wait: Duration::from_secs(90),
            max_attempts: 4,
            request_timeout: Duration::from_secs(10),
        }
    }
}

/// The Slack adapter of [`ChatSink`]. Its `Debug` shows neither the token nor the webhook URL.
pub struct SlackChat {
    endpoint: Endpoint,
    client: reqwest::Client,
    pacer: Pacer,
    max_wait: Duration,
    max_attempts: u32,
    request_timeout: Duration,
}

/// Where and how a message is posted; `Debug` of a `SecretString` prints `[REDACTED]`.
#[derive(Debug)]
enum Endpoint {
    WebApi { url: Url, bot_token: SecretString, channel: String },
    Webhook { url: SecretString },
}

impl std::fmt::Debug for SlackChat {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SlackChat")
            .field("endpoint", &self.endpoint)
            .field("per_minute", &self.pacer.per_minute)
            .field("max_wait", &self.max_wait)
            .field("max_attempts", &self.max_attempts)
            .field("request_timeout", &self.request_timeout)
            .finish_non_exhaustive()
    }
}

impl SlackChat {
    pub fn new(config: SlackConfig) -> Result<Self> {
        let per_minute = NonZeroU32::new(config.per_minute)
            .ok_or_else(|| NotifyError::InvalidInput("slack: per_minute must be at least 1".into()))?;
        if config.max_attempts == 0 {
            return Err(NotifyError::InvalidInput("slack: max_attempts must be at least 1".into()));
        }
        let endpoint = match config.target {
            SlackTarget::WebApi { api_base, bot_token, channel } => {
                let base = api_base.trim_end_matches('/');
                let url = Url::parse(&format!("{base}/api/chat.postMessage"))
                    .ok()
                    .filter(safe_to_send_secrets)
                    .ok_or_else(|| {
                        NotifyError::InvalidInput(format!(
                            "slack: api_base {api_base:?} is not an https URL (plain http only \
                             to a loopback address)"
                        ))
                    })?;
                if bot_token.expose_secret().trim().is_empty() {
                    return Err(NotifyError::InvalidInput("slack: the bot token is empty".into()));
                }
                if channel.trim().is_empty() {
                    return Err(NotifyError::InvalidInput("slack: the channel is empty".into()));
                }
                Endpoint::WebApi { url, bot_token, channel }
            }
            SlackTarget::Webhook { url } => {
                // The URL is the secret, so the message does not quote it.
                if !Url::parse(url.expose_secret()).is_ok_and(|parsed| safe_to_send_secrets(&parsed)) {
                    return Err(NotifyError::InvalidInput(
                        "slack: the webhook URL is not an https URL (plain http only to a \
                         loopback address)"
                            .into(),
                    ));
                }
                Endpoint::Webhook { url }
            }
        };
        let client = reqwest::Client::builder()
            .timeout(config.request_timeout)
            // Slack does not redirect these calls; following one could carry the message (and,
            // were the host to change, the token) somewhere else.
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("secops-autopilot/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| NotifyError::Permanent(format!("slack: HTTP client: {e}")))?;
        Ok(SlackChat {
            endpoint,
            client,
            pacer: Pacer::new(per_minute),
            max_wait: config.max_wait,
            max_attempts: config.max_attempts,
            request_timeout: config.request_timeout,
        })
    }

    fn destination(&self) -> &'static str {
        match self.endpoint {
            Endpoint::WebApi { .. } => WEB_API,
            Endpoint::Webhook { .. } => WEBHOOK,
        }
    }

    /// The request body, serialised once so every attempt sends the same bytes.
    fn payload(&self, message: &ChatMessage) -> Result<Vec<u8>> {
        let rendered = blocks(message);
        // Unfurling would have Slack fetch addresses that came from findings.
        let mut body = json!({
            "text": rendered["text"],
            "blocks": rendered["blocks"],
            "unfurl_links": false,
            "unfurl_media": false,
        });
        if let Endpoint::WebApi { channel, .. } = &self.endpoint {
            body["channel"] = json!(channel);
        }
        serde_json::to_vec(&body)
            .map_err(|e| NotifyError::InvalidInput(format!("{}: message does not serialise: {e}", self.destination())))
    }

    async fn send(&self, payload: &[u8]) -> Answer {
        match &self.endpoint {
            Endpoint::WebApi { url, bot_token, channel } => {
                let request = self
                    .client
                    .post(url.clone())
                    .bearer_auth(bot_token.expose_secret())
                    .header(CONTENT_TYPE, JSON_UTF8)
                    .body(payload.to_vec());
                match request.send().await {
                    Ok(response) => web_api_answer(response, channel).await,
                    Err(err) => Answer::Retryable(format!("{WEB_API}: {}", describe(err))),
                }
            }
            Endpoint::Webhook { url } => {
                let request =
                    self.client.post(url.expose_secret()).header(CONTENT_TYPE, JSON_UTF8).body(payload.to_vec());
                match request.send().await {
                    Ok(response) => webhook_answer(response, payload).await,
                    Err(err) => Answer::Retryable(format!("{WEBHOOK}: {}", describe(err))),
                }
            }
        }
    }
}

#[async_trait]
impl ChatSink for SlackChat {
    fn name(&self) -> &'static str {
        "slack"
    }

    async fn post(&self, message: &ChatMessage) -> Result<String> {
        let payload = self.payload(message)?;
        let destination = self.destination();
        let mut wait_budget = self.max_wait;
        let mut failed_attempts = 0;
        // Ends: each pass delivers, fails for good, spends at least MIN_RATE_LIMIT_WAIT (or the
        // bucket's wait) of the finite wait budget, or counts towards max_attempts.
        loop {
            self.pacer.acquire(&mut wait_budget, destination).await?;
            match self.send(&payload).await {
                Answer::Delivered(remote_id) => return Ok(remote_id),
                Answer::Rejected(message) => return Err(NotifyError::Permanent(message)),
                Answer::RateLimited { message, retry_after } => {
                    let wait = retry_after.unwrap_or(MIN_RATE_LIMIT_WAIT).max(MIN_RATE_LIMIT_WAIT);
                    if wait > wait_budget {
                        return Err(NotifyError::throttled(
                            format!(
                                "{message}; waiting {} s more would exceed max_wait ({} s left)",
                                wait.as_secs_f64(),
                                wait_budget.as_secs_f64()
                            ),
                            Some(wait),
                        ));
                    }
                    wait_budget -= wait;
                    tokio::time::sleep(wait).await;
                }
                Answer::Retryable(message) => {
                    failed_attempts += 1;
                    if failed_attempts >= self.max_attempts {
                        return Err(NotifyError::Transient(format!(
                            "{message} (gave up after {failed_attempts} attempts)"
                        )));
                    }
                    tokio::time::sleep(backoff(failed_attempts)).await;
                }
            }
        }
    }
}

/// What one request came to.
#[derive(Debug)]
enum Answer {
    /// Posted; the remote id.
    Delivered(String),
    /// Slack said slow down, perhaps with how long.
    RateLimited { message: String, retry_after: Option<Duration> },
    /// 5xx, a timeout, a broken connection: another attempt may succeed.
    Retryable(String),
    /// Slack refused the message or the credentials; another attempt would too.
    Rejected(String),
}

/// The part of a Web API answer this adapter reads.
#[derive(Debug, Deserialize)]
struct WebApiAnswer {
    ok: bool,
    #[serde(default)]
    error: Option<String>,
    #[serde(default)]
    ts: Option<String>,
}

async fn web_api_answer(response: reqwest::Response, channel: &str) -> Answer {
    let status = response.status();
    let retry_after = retry_after(response.headers());
    if status == StatusCode::TOO_MANY_REQUESTS {
        return Answer::RateLimited { message: format!("{WEB_API}: HTTP 429"), retry_after };
    }
    if retryable_status(status) {
        return Answer::Retryable(format!("{WEB_API}: HTTP {status}"));
    }
    let body = match response.bytes().await {
        Ok(body) => body,
        Err(err) => return Answer::Retryable(format!("{WEB_API}: reading the answer: {}", describe(err))),
    };
    if !status.is_success() {
        return Answer::Rejected(format!("{WEB_API}: HTTP {status}: {}", excerpt(&body)));
    }
    let answer: WebApiAnswer = match serde_json::from_slice(&body) {
        Ok(answer) => answer,
        Err(_) => {
            return Answer::Rejected(format!(
                "{WEB_API}: HTTP {status} with an answer that is not Slack's JSON: {}",
                excerpt(&body)
            ))
        }
    };
    match (answer.ok, answer.ts, answer.error) {
        (true, Some(ts), _) => Answer::Delivered(ts),
        (true, None, _) => Answer::Rejected(format!("{WEB_API}: answered ok without a ts")),
        (false, _, error) => {
            let error = error.map_or_else(|| "an error it did not name".to_string(), |e| excerpt(e.as_bytes()));
            let message = format!("{WEB_API}: Slack answered {error} (channel {channel})");
            if error == "ratelimited" {
                Answer::RateLimited { message, retry_after }
            } else if RETRYABLE_WEB_API_ERRORS.contains(&error.as_str()) {
                Answer::Retryable(message)
            } else {
                Answer::Rejected(message)
            }
        }
    }
}

async fn webhook_answer(response: reqwest::Response, payload: &[u8]) -> Answer {
    let status = response.status();
    let retry_after = retry_after(response.headers());
    if status == StatusCode::TOO_MANY_REQUESTS {
        return Answer::RateLimited { message: format!("{WEBHOOK}: HTTP 429"), retry_after };
    }
    if retryable_status(status) {
        return Answer::Retryable(format!("{WEBHOOK}: HTTP {status}"));
    }
    let body = match response.bytes().await {
        Ok(body) => body,
        Err(err) => return Answer::Retryable(format!("{WEBHOOK}: reading the answer: {}", describe(err))),
    };
    if status == StatusCode::OK && body.trim_ascii() == b"ok" {
        // A webhook answers no message id; the digest of what was sent identifies it.
        let digest = hex::encode(Sha256::digest(payload));
        return Answer::Delivered(format!("webhook:{}", &digest[..16]));
    }
    // invalid_payload (400), action_prohibited (403), no_service (404), channel_is_archived
    // (410), or a 200 that is not "ok": Slack did not take the message and will not.
    Answer::Rejected(format!("{WEBHOOK}: HTTP {status}: {}", excerpt(&body)))
}

fn retryable_status(status: StatusCode) -> bool {
    status.is_server_error() || status == StatusCode::REQUEST_TIMEOUT
}

/// `Retry-After` in seconds (Slack does not send the HTTP-date form).
fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    let value = headers.get(RETRY_AFTER)?.to_str().ok()?;
    value.trim().parse::<u64>().ok().map(Duration::from_secs)
}

/// A reqwest error without the URL (a webhook URL is a secret) and with its causes.
fn describe(err: reqwest::Error) -> String {
    let err = err.without_url();
    if err.is_timeout() {
        return "timed out".to_string();
    }
    let mut text = err.to_string();
    let mut cause = std::error::Error::source(&err);
    // Cause chains are short; the cap only keeps a pathological one out of the message.
    for _ in 0..4 {
        let Some(current) = cause else { break };
        text.push_str(": ");
        text.push_str(&current.to_string());
        cause = current.source();
    }
    text
}

/// The start of an answer for an error message: one line, at most [`ANSWER_EXCERPT_CHARS`].
fn excerpt(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(body);
    let text = text.trim();
    if text.is_empty() {
        return "(empty answer)".to_string();
    }
    let mut shown: String =
        text.chars().take(ANSWER_EXCERPT_CHARS).map(|c| if c.is_control() { ' ' } else { c }).collect();
    if text.chars().count() > ANSWER_EXCERPT_CHARS {
        shown.push('…');
    }
    shown
}

/// Full-jitter exponential backoff: a random wait up to base·2^(n-1), capped.
fn backoff(failed_attempts: u32) -> Duration {
    let doublings = failed_attempts.saturating_sub(1).min(16);
    let ceiling = BACKOFF_BASE_MS.saturating_mul(1 << doublings).min(BACKOFF_CAP_MS);
    Duration::from_millis(rand::random_range(0..=ceiling))
}

/// Only https carries a secret, except to this machine (tests, a local relay).
fn safe_to_send_secrets(url: &Url) -> bool {
    secops_core::config::may_carry_secrets(url.scheme(), url.host_str())
}

/// Governor's clock on tokio's time, so the bucket and the waits it asks for share one clock
/// (and a test with paused time sees the bucket refill when it advances the clock).
#[derive(Debug, Clone)]
struct TokioClock {
    origin: tokio::time::Instant,
}

impl Clock for TokioClock {
    type Instant = Duration;

    fn now(&self) -> Duration {
        self.origin.elapsed()
    }
}

/// The token bucket of one destination: `per_minute` requests, a burst of as many.
struct Pacer {
    per_minute: NonZeroU32,
    clock: TokioClock,
    bucket: RateLimiter<NotKeyed, InMemoryState, TokioClock, NoOpMiddleware<Duration>>,
}

impl Pacer {
    fn new(per_minute: NonZeroU32) -> Self {
        let clock = TokioClock { origin: tokio::time::Instant::now() };
        let bucket = RateLimiter::direct_with_clock(Quota::per_minute(per_minute), clock.clone());
        Pacer { per_minute, clock, bucket }
    }

    /// Takes a permit, waiting for one as long as `wait_budget` allows (and spending from it);
    /// `Throttled` with the wait it would have taken otherwise.
    async fn acquire(&self, wait_budget: &mut Duration, destination: &str) -> Result<()> {
        // Ends: each pass takes a permit, gives up, or spends at least a millisecond of the
        // finite budget. Several passes only when concurrent posts take the refilled permit.
        loop {
            let not_until = match self.bucket.check() {
                Ok(()) => return Ok(()),
                Err(not_until) => not_until,
            };
            let wait = not_until.wait_time_from(self.clock.now()).max(Duration::from_millis(1));
            if wait > *wait_budget {
                return Err(NotifyError::throttled(
                    format!(
                        "{destination}: local rate limit of {} per minute reached; the next \
                         slot is {} s away, more than the {} s left of max_wait",
                        self.per_minute,
                        wait.as_secs_f64(),
                        wait_budget.as_secs_f64()
                    ),
                    Some(wait),
                ));
            }
            *wait_budget -= wait;
            tokio::time::sleep(wait).await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn the_bucket_releases_a_burst_then_one_request_per_slot() {
        let pacer = Pacer::new(NonZeroU32::new(2).expect("nonzero"));
        let start = tokio::time::Instant::now();
        let mut budget = Duration::from_secs(60);
        pacer.acquire(&mut budget, "test").await.expect("first of the burst");
        pacer.acquire(&mut budget, "test").await.expect("second of the burst");
        assert_eq!(start.elapsed(), Duration::ZERO);
        pacer.acquire(&mut budget, "test").await.expect("third, after one slot");
        assert_eq!(start.elapsed(), Duration::from_secs(30));
        assert_eq!(budget, Duration::from_secs(30));
    }

    #[tokio::test(start_paused = true)]
    async fn a_wait_beyond_the_budget_is_throttled_at_once() {
        let pacer = Pacer::new(NonZeroU32::new(1).expect("nonzero"));
        let start = tokio::time::Instant::now();
        let mut budget = Duration::from_secs(59);
        pacer.acquire(&mut budget, "test").await.expect("the burst of one");
        let err = pacer.acquire(&mut budget, "test").await.expect_err("60 s > 59 s budget");
        assert!(
            matches!(err, NotifyError::Throttled { retry_after: Some(wait), .. } if wait == Duration::from_secs(60)),
            "{err:?}"
        );
        assert_eq!(start.elapsed(), Duration::ZERO);
        assert_eq!(budget, Duration::from_secs(59));
    }

    #[test]
    fn backoff_stays_under_its_doubling_ceiling() {
        for failed in 1..=10 {
            let ceiling = (BACKOFF_BASE_MS << (failed - 1)).min(BACKOFF_CAP_MS);
            for _ in 0..50 {
                assert!(backoff(failed) <= Duration::from_millis(ceiling));
            }
        }
    }

    #[test]
    fn secrets_travel_over_https_or_to_loopback_only() {
        let safe = |url: &str| safe_to_send_secrets(&Url::parse(url).expect("url"));
        assert!(safe("https://slack.com/api/chat.postMessage"));
        assert!(safe("http://127.0.0.1:8080/api/chat.postMessage"));
        assert!(safe("http://[::1]:8080/x"));
        assert!(safe("http://localhost:8080/x"));
        assert!(!safe("http://slack.com/api/chat.postMessage"));
        assert!(!safe("ftp://127.0.0.1/x"));
    }
}
