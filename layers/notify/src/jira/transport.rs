//! One Jira REST call: Basic auth, a bound on the requests in flight, the mapping of Jira's
//! answers to error classes, and the retries inside one call (exponential backoff with full
//! jitter, `Retry-After` honoured).

use std::time::Duration;

use reqwest::header::{HeaderMap, RETRY_AFTER};
use reqwest::{Method, StatusCode};
use secrecy::{ExposeSecret, SecretString};
use serde_json::Value;
use time::format_description::well_known::Rfc2822;
use time::OffsetDateTime;
use tokio::sync::Semaphore;

use crate::{NotifyError, Result};

/// Longest excerpt of Jira's error answer kept in an error message.
const ERROR_DETAIL_LIMIT: usize = 600;

/// Whether sending a request twice has the effect of sending it once. A request whose outcome
/// is unknown (it timed out after it was sent) is sent again only when it is idempotent: a
/// second create would open a second ticket, and the outbox, which searches by the delivery
/// label before it replays a create, is the one to decide.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Idempotency {
    Idempotent,
    NotIdempotent,
}

/// One call to the Jira REST API.
#[derive(Debug)]
pub(super) struct Call<'a> {
    /// What the call does, for messages: "create issue", "comment on SEC-4".
    pub what: String,
    pub method: Method,
    /// Path and query below the site, e.g. `/rest/api/3/issue`.
    pub path: String,
    pub body: Option<&'a Value>,
    pub idempotency: Idempotency,
}

/// Retry timings of one call.
#[derive(Debug, Clone, Copy)]
pub(super) struct RetryPolicy {
    pub max_attempts: u32,
    pub base_delay: Duration,
    pub max_delay: Duration,
}

impl RetryPolicy {
    /// Full jitter: a random wait between zero and the exponential ceiling of this retry
    /// (`retry` counts from 0), so clients that failed together do not retry together.
    fn backoff(&self, retry: u32) -> Duration {
        let ceiling = self.base_delay.saturating_mul(2u32.saturating_pow(retry)).min(self.max_delay);
        ceiling.mul_f64(rand::random_range(0.0..=1.0))
    }
}

/// How a failed attempt may be followed up.
#[derive(Debug)]
enum Failure {
    /// Jira did not act on the request (connection refused, 429, 500, 503): send it again.
    NotApplied(NotifyError),
    /// Jira may or may not have acted (timed out after sending, connection dropped, a gateway
    /// gave up waiting): send it again only when it is idempotent.
    OutcomeUnknown(NotifyError),
    /// Retrying cannot help (400, 401, 403, 404, 501, an answer that is not JSON).
    Final(NotifyError),
}

/// The HTTP side of the adapter, shared by every clone of one `JiraTickets`.
pub(super) struct Transport {
    client: reqwest::Client,
    /// The site without a trailing slash.
    site: String,
    email: String,
    api_token: SecretString,
    in_flight: Semaphore,
    max_in_flight: usize,
    request_timeout: Duration,
    retry: RetryPolicy,
}

impl std::fmt::Debug for Transport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Transport")
            .field("site", &self.site)
            .field("email", &self.email)
            .field("max_in_flight", &self.max_in_flight)
            .field("retry", &self.retry)
            .finish_non_exhaustive()
    }
}

impl Transport {
    pub(super) fn new(
        site: String,
        email: String,
        api_token: SecretString,
        max_in_flight: usize,
        request_timeout: Duration,
        retry: RetryPolicy,
    ) -> Result<Self> {
        let client = reqwest::Client::builder()
            .timeout(request_timeout)
            .user_agent(concat!("secops-notify/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|err| NotifyError::Permanent(format!("jira: cannot build the HTTP client: {err}")))?;
        Ok(Transport {
            client,
            site,
            email,
            api_token,
            in_flight: Semaphore::new(max_in_flight),
            max_in_flight,
            request_timeout,
            retry,
        })
    }

    /// Send the call, retrying what may be retried; Jira's JSON answer (`Null` for an empty
    /// body such as a 204).
    pub(super) async fn send(&self, call: &Call<'_>) -> Result<Value> {
        let mut attempt: u32 = 1;
        loop {
            let error = match self.attempt(call).await {
                Ok(answer) => return Ok(answer),
                Err(Failure::Final(error)) => return Err(error),
                Err(Failure::OutcomeUnknown(error)) if call.idempotency == Idempotency::NotIdempotent => {
                    return Err(NotifyError::Transient(format!(
                        "{error}; not sent again, since Jira may have acted on it"
                    )))
                }
                Err(Failure::NotApplied(error) | Failure::OutcomeUnknown(error)) => error,
            };
            if attempt >= self.retry.max_attempts {
                return Err(error);
            }
            let backoff = self.retry.backoff(attempt - 1);
            let delay = match &error {
                // A hint longer than we are willing to wait ends the call: the outbox keeps the
                // message and tries again after the hint.
                NotifyError::Throttled { retry_after: Some(hint), .. } if *hint > self.retry.max_delay => {
                    return Err(error)
                }
                NotifyError::Throttled { retry_after: Some(hint), .. } => backoff.max(*hint),
                _ => backoff,
            };
            tracing::warn!(
                call = %call.what,
                attempt,
                max_attempts = self.retry.max_attempts,
                delay_ms = u64::try_from(delay.as_millis()).unwrap_or(u64::MAX),
                error = %error,
                "jira call failed; retrying"
            );
            tokio::time::sleep(delay).await;
            attempt += 1;
        }
    }

    async fn attempt(&self, call: &Call<'_>) -> Result<Value, Failure> {
        // The permit is held for the request and its answer, not for the backoff sleeps.
        let _permit = self.in_flight.acquire().await.map_err(|_| {
            Failure::Final(NotifyError::Transient(format!("{}: the request limiter is closed", describe(call))))
        })?;
        let mut request = self
            .client
            .request(call.method.clone(), format!("{}{}", self.site, call.path))
            .basic_auth(&self.email, Some(self.api_token.expose_secret()));
        if let Some(body) = call.body {
            request = request.json(body);
        }
        let response = request.send().await.map_err(|err| self.transport_failure(call, &err))?;
        let status = response.status();
        let headers = response.headers().clone();
        let body = response.bytes().await.map_err(|err| self.transport_failure(call, &err))?;
        if status.is_success() {
            if body.is_empty() {
                return Ok(Value::Null);
            }
            return serde_json::from_slice(&body).map_err(|err| {
                Failure::Final(NotifyError::Permanent(format!(
                    "{}: answered {status} with a body that is not JSON: {err}",
                    describe(call)
                )))
            });
        }
        Err(status_failure(call, status, &headers, &body, OffsetDateTime::now_utc()))
    }

    fn transport_failure(&self, call: &Call<'_>, err: &reqwest::Error) -> Failure {
        if err.is_timeout() {
            return Failure::OutcomeUnknown(NotifyError::Transient(format!(
                "{}: no answer within {:?}",
                describe(call),
                self.request_timeout
            )));
        }
        // reqwest's message names the URL, which holds no secret; the error chain says why.
        let reason = error_chain(err);
        if err.is_connect() {
            return Failure::NotApplied(NotifyError::Transient(format!(
                "{}: cannot connect: {reason}",
                describe(call)
            )));
        }
        Failure::OutcomeUnknown(NotifyError::Transient(format!("{}: {reason}", describe(call))))
    }
}

fn describe(call: &Call<'_>) -> String {
    let path = call.path.split('?').next().unwrap_or(&call.path);
    format!("jira {} ({} {path})", call.what, call.method)
}

fn error_chain(err: &reqwest::Error) -> String {
    let mut reason = err.to_string();
    let mut source = std::error::Error::source(err);
    while let Some(cause) = source {
        reason.push_str(": ");
        reason.push_str(&cause.to_string());
        source = cause.source();
    }
    reason
}

/// The failure a non-2xx answer stands for.
fn status_failure(
    call: &Call<'_>,
    status: StatusCode,
    headers: &HeaderMap,
    body: &[u8],
    now: OffsetDateTime,
) -> Failure {
    let detail = jira_error_detail(body);
    let message = if detail.is_empty() {
        format!("{}: answered {status}", describe(call))
    } else {
        format!("{}: answered {status}: {detail}", describe(call))
    };
    match status.as_u16() {
        429 | 503 => Failure::NotApplied(NotifyError::throttled(message, retry_after(headers, now))),
        // Jira rolls a failed write back before it answers 500; a gateway that answers 502 or
        // 504 gave up waiting for Jira, which may still have done the work.
        502 | 504 => Failure::OutcomeUnknown(NotifyError::Transient(message)),
        // Request Timeout: the server gave up reading the request, so it did nothing.
        408 => Failure::NotApplied(NotifyError::Transient(message)),
        501 => Failure::Final(NotifyError::Permanent(message)),
        500..=599 => Failure::NotApplied(NotifyError::Transient(message)),
        400 => Failure::Final(NotifyError::InvalidInput(message)),
        _ => Failure::Final(NotifyError::Permanent(message)),
    }
}

/// Jira's `errorMessages` and per-field `errors`, e.g. `summary: You must specify a summary of
/// the issue.` A body that is not Jira's JSON (an HTML error page) is left out.
fn jira_error_detail(body: &[u8]) -> String {
    let Ok(Value::Object(answer)) = serde_json::from_slice::<Value>(body) else {
        return String::new();
    };
    let mut parts: Vec<String> = Vec::new();
    if let Some(Value::Array(messages)) = answer.get("errorMessages") {
        parts.extend(messages.iter().filter_map(Value::as_str).map(str::to_owned));
    }
    if let Some(Value::Object(fields)) = answer.get("errors") {
        for (field, problem) in fields {
            match problem.as_str() {
                Some(text) => parts.push(format!("{field}: {text}")),
                None => parts.push(format!("{field}: {problem}")),
            }
        }
    }
    let detail = parts.join("; ");
    match detail.char_indices().nth(ERROR_DETAIL_LIMIT) {
        Some((cut, _)) => format!("{}…", &detail[..cut]),
        None => detail,
    }
}

/// The `Retry-After` hint: delay-seconds or an HTTP-date (a date in the past means now).
fn retry_after(headers: &HeaderMap, now: OffsetDateTime) -> Option<Duration> {
    let value = headers.get(RETRY_AFTER)?.to_str().ok()?.trim();
    if let Ok(seconds) = value.parse::<u64>() {
        return Some(Duration::from_secs(seconds));
    }
    // An IMF-fixdate (`Sun, 06 Nov 1994 08:49:37 GMT`) is a valid RFC 2822 date.
    let date = OffsetDateTime::parse(value, &Rfc2822).ok()?;
    Some(Duration::try_from(date - now).unwrap_or(Duration::ZERO))
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::HeaderValue;
    use time::macros::datetime;

    fn headers(retry_after: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(RETRY_AFTER, HeaderValue::from_str(retry_after).expect("header value"));
        headers
    }

    fn call() -> Call<'static> {
        Call {
            what: "create issue".into(),
            method: Method::POST,
            path: "/rest/api/3/issue".into(),
            body: None,
            idempotency: Idempotency::NotIdempotent,
        }
    }

    #[test]
    fn retry_after_reads_seconds_and_http_dates() {
        let now = datetime!(2025-03-01 12:00:00 UTC);
        assert_eq!(retry_after(&headers("7"), now), Some(Duration::from_secs(7)));
        assert_eq!(retry_after(&headers(" 0 "), now), Some(Duration::ZERO));
        assert_eq!(retry_after(&headers("Sat, 01 Mar 2025 12:00:30 GMT"), now), Some(Duration::from_secs(30)));
        assert_eq!(retry_after(&headers("Sat, 01 Mar 2025 11:00:00 GMT"), now), Some(Duration::ZERO));
        assert_eq!(retry_after(&headers("soon"), now), None);
        assert_eq!(retry_after(&HeaderMap::new(), now), None);
    }

    #[test]
    fn backoff_stays_under_the_exponential_ceiling_and_the_cap() {
        let policy = RetryPolicy {
            max_attempts: 5,
            base_delay: Duration::from_millis(100),
            max_delay: Duration::from_millis(350),
        };
        for _ in 0..200 {
            assert!(policy.backoff(0) <= Duration::from_millis(100));
            assert!(policy.backoff(1) <= Duration::from_millis(200));
            assert!(policy.backoff(2) <= Duration::from_millis(350));
            assert!(policy.backoff(40) <= Duration::from_millis(350));
        }
    }

    #[test]
    fn statuses_map_to_error_classes() {
        let now = datetime!(2025-03-01 12:00:00 UTC);
        let classify = |status: u16| {
            status_failure(&call(), StatusCode::from_u16(status).expect("status"), &HeaderMap::new(), b"", now)
        };
        assert!(matches!(classify(500), Failure::NotApplied(NotifyError::Transient(_))));
        assert!(matches!(classify(503), Failure::NotApplied(NotifyError::Throttled { .. })));
        assert!(matches!(classify(429), Failure::NotApplied(NotifyError::Throttled { .. })));
        assert!(matches!(classify(504), Failure::OutcomeUnknown(NotifyError::Transient(_))));
        assert!(matches!(classify(501), Failure::Final(NotifyError::Permanent(_))));
        assert!(matches!(classify(400), Failure::Final(NotifyError::InvalidInput(_))));
        assert!(matches!(classify(401), Failure::Final(NotifyError::Permanent(_))));
        assert!(matches!(classify(404), Failure::Final(NotifyError::Permanent(_))));
    }

    #[test]
    fn error_detail_lists_messages_and_fields_and_skips_html() {
        let body =
            br#"{"errorMessages":["Bad request"],"errors":{"summary":"You must specify a summary of the issue."}}"#;
        assert_eq!(jira_error_detail(body), "Bad request; summary: You must specify a summary of the issue.");
        assert_eq!(jira_error_detail(b"<html>Unauthorized</html>"), "");
        let long = serde_json::json!({"errorMessages": ["x".repeat(5000)]}).to_string();
        assert_eq!(jira_error_detail(long.as_bytes()).chars().count(), ERROR_DETAIL_LIMIT + 1);
    }
}
