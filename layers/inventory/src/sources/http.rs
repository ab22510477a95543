//! The HTTP side of the vendor collectors (Falcon, Cloudflare), written once: one request with its
//! retries (capped exponential backoff with full jitter for 5xx and transport failures), the
//! vendor's `Retry-After` / `X-RateLimit-RetryAfter` honoured up to a cap, a pause before the next
//! request when an answer says the rate-limit window is spent, and the mapping of answers to error
//! classes. The vendor files only say what to fetch and how to page.

use crate::error::{InventoryError, Result};
use reqwest::header::{HeaderMap, ACCEPT, CONTENT_TYPE, LOCATION, RETRY_AFTER};
use reqwest::{Method, StatusCode, Url};
use secrecy::{ExposeSecret, SecretString};
use serde_json::Value;
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use time::format_description::well_known::Rfc2822;
use time::OffsetDateTime;
use tokio::time::Instant;

/// Longest excerpt of a vendor's error list kept in an error message.
const ERROR_DETAIL_LIMIT: usize = 600;
/// Entries of a vendor's error list quoted in an error message; the rest are counted.
const ERROR_ENTRIES_SHOWN: usize = 5;

/// How patient a vendor collector is. The defaults suit production; tests shorten the waits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HttpPolicy {
    /// Longest wait for one answer.
    pub request_timeout: Duration,
    /// Attempts of one request, the first included, before a retryable failure is returned.
    pub max_attempts: u32,
    /// The backoff ceiling of the first retry; it doubles per retry up to `max_backoff`.
    pub base_backoff: Duration,
    pub max_backoff: Duration,
    /// Longest wait a vendor may ask for (a 429's `Retry-After`, a spent rate-limit window). A
    /// longer one ends the run as `Throttled`, so the scheduler retries later instead of a
    /// collector holding its database connection idle.
    pub max_wait: Duration,
}

impl Default for HttpPolicy {
    fn default() -> Self {
        Self {
            request_timeout: Duration::from_secs(60),
            max_attempts: 4,
            base_backoff: Duration::from_millis(500),
            max_backoff: Duration::from_secs(10),
            // Falcon's and Cloudflare's rate-limit windows are one and five minutes.
            max_wait: Duration::from_secs(90),
        }
    }
}

impl HttpPolicy {
    /// Full jitter: a random wait between zero and the exponential ceiling of this retry
    /// (`retry` counts from 0), so collectors that failed together do not retry together.
    fn backoff(&self, retry: u32) -> Duration {
        let ceiling = self.base_backoff.saturating_mul(2u32.saturating_pow(retry)).min(self.max_backoff);
        ceiling.mul_f64(rand::random_range(0.0..=1.0))
    }
}

/// What a request sends besides its URL.
pub(crate) enum Body<'a> {
    Empty,
    Json(&'a Value),
    /// `application/x-www-form-urlencoded` text; secret because it carries client credentials.
    Form(SecretString),
}

/// One request to a vendor API.
pub(crate) struct Request<'a> {
    /// What it fetches, for messages: `hosts query`, `zones page 3`.
    pub what: &'a str,
    pub method: Method,
    /// Below the base URL, e.g. `/devices/entities/devices/v2`.
    pub path: &'a str,
    pub query: &'a [(&'a str, &'a str)],
    pub body: Body<'a>,
    pub bearer: Option<&'a SecretString>,
    /// What a 403 means is missing, e.g. "the API client needs the `Hosts: Read` scope".
    pub needs: &'a str,
}

impl Request<'_> {
    fn describe(&self) -> String {
        format!("{} ({} {})", self.what, self.method, self.path)
    }
}

/// Why a request failed.
#[derive(Debug)]
pub(crate) enum Failure {
    /// 401: the credential was refused. A caller holding a refreshable token may get a new one
    /// and try once more; the error is what to report otherwise.
    Unauthorized(InventoryError),
    Failed(InventoryError),
}

impl From<Failure> for InventoryError {
    fn from(failure: Failure) -> Self {
        match failure {
            Failure::Unauthorized(e) | Failure::Failed(e) => e,
        }
    }
}

/// The outcome of one attempt.
enum Attempt {
    Answered(Value),
    /// Worth sending again, after the vendor's hint when it gave one, else after a backoff.
    Retry {
        error: InventoryError,
        hint: Option<Duration>,
    },
    Final(Failure),
}

/// A vendor API: its base URL, one connection pool, the retry policy and the rate-limit pause.
pub(crate) struct VendorHttp {
    client: reqwest::Client,
    /// Without a trailing slash; request paths are appended.
    base_url: String,
    policy: HttpPolicy,
    /// Set when an answer said the rate-limit window is spent: no request leaves before then.
    resume_at: Mutex<Option<Instant>>,
}

impl std::fmt::Debug for VendorHttp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VendorHttp")
            .field("base_url", &self.base_url)
            .field("policy", &self.policy)
            .finish_non_exhaustive()
    }
}

impl VendorHttp {
    /// `setting` names the configuration field in messages, e.g. `falcon base_url`.
    pub(crate) fn new(setting: &str, base_url: &str) -> Result<Self> {
        let trimmed = base_url.trim().trim_end_matches('/');
        // The text may hold credentials when it does not parse, so it is not quoted.
        let url =
            Url::parse(trimmed).map_err(|e| InventoryError::invalid_input(format!("{setting} is not a URL: {e}")))?;
        if !url.username().is_empty() || url.password().is_some() {
            return Err(InventoryError::invalid_input(format!(
                "{setting} carries credentials; configure them in their own fields"
            )));
        }
        if url.query().is_some() || url.fragment().is_some() {
            return Err(InventoryError::invalid_input(format!("{setting} {trimmed:?} has a query or a fragment")));
        }
        if !safe_for_credentials(&url) {
            return Err(InventoryError::invalid_input(format!(
                "{setting} {trimmed:?} is not an https URL (plain http only to a loopback address)"
            )));
        }
        let client = reqwest::Client::builder()
            .user_agent(concat!("secops-inventory/", env!("CARGO_PKG_VERSION")))
            .connect_timeout(Duration::from_secs(10))
            // Credentials go only where they were configured; a redirect is reported instead.
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| InventoryError::permanent(format!("cannot build the HTTP client: {e}")))?;
        Ok(Self { client, base_url: trimmed.to_owned(), policy: HttpPolicy::default(), resume_at: Mutex::new(None) })
    }

    pub(crate) fn set_policy(&mut self, policy: HttpPolicy) {
        self.policy = HttpPolicy { max_attempts: policy.max_attempts.max(1), ..policy };
    }

    pub(crate) fn base_url(&self) -> &str {
        &self.base_url
    }

    /// Send the request, retrying what may be retried; the vendor's JSON answer.
    pub(crate) async fn send(&self, request: &Request<'_>) -> Result<Value, Failure> {
        let mut attempt: u32 = 1;
        loop {
            self.wait_for_rate_limit(request).await.map_err(Failure::Failed)?;
            let (error, hint) = match self.attempt(request).await {
                Attempt::Answered(answer) => return Ok(answer),
                Attempt::Final(failure) => return Err(failure),
                Attempt::Retry { error, hint } => (error, hint),
            };
            if attempt >= self.policy.max_attempts {
                return Err(Failure::Failed(InventoryError::new(
                    error.class,
                    format!("{} (gave up after {attempt} attempts)", error.message),
                )));
            }
            let delay = hint.unwrap_or_else(|| self.policy.backoff(attempt - 1));
            tracing::warn!(
                request = %request.describe(),
                attempt,
                max_attempts = self.policy.max_attempts,
                delay_ms = u64::try_from(delay.as_millis()).unwrap_or(u64::MAX),
                error = %error,
                "vendor request failed; retrying"
            );
            tokio::time::sleep(delay).await;
            attempt += 1;
        }
    }

    async fn wait_for_rate_limit(&self, request: &Request<'_>) -> Result<()> {
        let resume_at = *self.resume_at.lock().unwrap_or_else(PoisonError::into_inner);
        let Some(resume_at) = resume_at else { return Ok(()) };
        let wait = resume_at.saturating_duration_since(Instant::now());
        if wait > self.policy.max_wait {
            return Err(InventoryError::throttled(format!(
                "{}: the rate limit is spent for another {:.0}s, longer than the {}s this collector waits",
                request.describe(),
                wait.as_secs_f64().ceil(),
                self.policy.max_wait.as_secs()
            )));
        }
        if !wait.is_zero() {
            tracing::info!(request = %request.describe(), wait_ms = u64::try_from(wait.as_millis()).unwrap_or(u64::MAX),
                "rate limit spent; pausing until the vendor's reset time");
            tokio::time::sleep(wait).await;
        }
        Ok(())
    }

    async fn attempt(&self, request: &Request<'_>) -> Attempt {
        let mut builder = self
            .client
            .request(request.method.clone(), format!("{}{}", self.base_url, request.path))
            .timeout(self.policy.request_timeout)
            .header(ACCEPT, "application/json");
        if !request.query.is_empty() {
            builder = builder.query(request.query);
        }
        if let Some(token) = request.bearer {
            builder = builder.bearer_auth(token.expose_secret());
        }
        builder = match &request.body {
            Body::Empty => builder,
            Body::Json(value) => builder.json(value),
            Body::Form(text) => {
                builder.header(CONTENT_TYPE, "application/x-www-form-urlencoded").body(text.expose_secret().to_owned())
            }
        };
        let response = match builder.send().await {
            Ok(response) => response,
            Err(e) => return self.transport_failure(request, &e),
        };
        let status = response.status();
        let headers = response.headers().clone();
        self.note_rate_limit(&headers, SystemTime::now());
        let body = match response.bytes().await {
            Ok(body) => body,
            Err(e) => return self.transport_failure(request, &e),
        };
        if status.is_success() {
            return match serde_json::from_slice(&body) {
                Ok(answer) => Attempt::Answered(answer),
                Err(e) => Attempt::Final(Failure::Failed(InventoryError::permanent(format!(
                    "{}: answered {status} with a body that is not JSON: {e}",
                    request.describe()
                )))),
            };
        }
        classify(request, status, &headers, &body, self.policy.max_wait, SystemTime::now())
    }

    /// Every request here only reads, so a failure in flight is always worth another attempt.
    fn transport_failure(&self, request: &Request<'_>, e: &reqwest::Error) -> Attempt {
        let message = if e.is_timeout() {
            format!("{}: no answer within {:?}", request.describe(), self.policy.request_timeout)
        } else {
            // reqwest's message names the URL, which holds no secret; the chain says why.
            format!("{}: {}", request.describe(), error_chain(e))
        };
        Attempt::Retry { error: InventoryError::transient(message), hint: None }
    }

    /// `X-RateLimit-Remaining: 0` with `X-RateLimit-RetryAfter` (epoch seconds): the window is
    /// spent, so the next request waits for its reset instead of earning a 429.
    fn note_rate_limit(&self, headers: &HeaderMap, now: SystemTime) {
        if header_u64(headers, "x-ratelimit-remaining") != Some(0) {
            return;
        }
        if let Some(wait) = epoch_wait(headers, now) {
            *self.resume_at.lock().unwrap_or_else(PoisonError::into_inner) = Some(Instant::now() + wait);
        }
    }
}

/// The failure a non-2xx answer stands for.
fn classify(
    request: &Request<'_>,
    status: StatusCode,
    headers: &HeaderMap,
    body: &[u8],
    max_wait: Duration,
    now: SystemTime,
) -> Attempt {
    let detail = serde_json::from_slice::<Value>(body).ok().and_then(|answer| error_list(&answer)).unwrap_or_default();
    let mut message = format!("{}: answered {status}", request.describe());
    if !detail.is_empty() {
        message = format!("{message}: {detail}");
    }
    let hint = retry_hint(headers, now);
    match status.as_u16() {
        401 => Attempt::Final(Failure::Unauthorized(InventoryError::permanent(message))),
        403 => Attempt::Final(Failure::Failed(InventoryError::permanent(format!("{message}; {}", request.needs)))),
        429 => match hint {
            Some(wait) if wait > max_wait => Attempt::Final(Failure::Failed(InventoryError::throttled(format!(
                "{message}; asked to wait {:.0}s, longer than the {}s this collector waits",
                wait.as_secs_f64().ceil(),
                max_wait.as_secs()
            )))),
            hint => Attempt::Retry { error: InventoryError::throttled(message), hint },
        },
        300..=399 => {
            let location = headers.get(LOCATION).and_then(|v| v.to_str().ok()).unwrap_or("nowhere");
            Attempt::Final(Failure::Failed(InventoryError::permanent(format!(
                "{message}: redirected to {location}; configure that API URL instead"
            ))))
        }
        501 => Attempt::Final(Failure::Failed(InventoryError::permanent(message))),
        408 | 500..=599 => {
            Attempt::Retry { error: InventoryError::transient(message), hint: hint.filter(|wait| *wait <= max_wait) }
        }
        _ => Attempt::Final(Failure::Failed(InventoryError::permanent(message))),
    }
}

/// The vendor's `errors` list (`[{"code": 403, "message": "access denied"}]`, Falcon and
/// Cloudflare alike) as one line, or `None` when the answer lists no error.
pub(crate) fn error_list(answer: &Value) -> Option<String> {
    let errors = answer.get("errors")?.as_array().filter(|errors| !errors.is_empty())?;
    let mut parts: Vec<String> = errors
        .iter()
        .take(ERROR_ENTRIES_SHOWN)
        .map(|entry| {
            let code = entry
                .get("code")
                .filter(|c| !c.is_null())
                .map(|c| c.as_str().map_or_else(|| c.to_string(), str::to_owned));
            let text = entry.get("message").and_then(Value::as_str).map_or_else(|| entry.to_string(), str::to_owned);
            match code {
                Some(code) => format!("code {code}: {text}"),
                None => text,
            }
        })
        .collect();
    if errors.len() > ERROR_ENTRIES_SHOWN {
        parts.push(format!("and {} more", errors.len() - ERROR_ENTRIES_SHOWN));
    }
    let detail = parts.join("; ");
    Some(match detail.char_indices().nth(ERROR_DETAIL_LIMIT) {
        Some((cut, _)) => format!("{}…", &detail[..cut]),
        None => detail,
    })
}

/// `application/x-www-form-urlencoded` text of the pairs.
pub(crate) fn form_urlencoded(pairs: &[(&str, &str)]) -> String {
    let mut out = String::new();
    for (i, (key, value)) in pairs.iter().enumerate() {
        if i > 0 {
            out.push('&');
        }
        encode_form_component(&mut out, key);
        out.push('=');
        encode_form_component(&mut out, value);
    }
    out
}

fn encode_form_component(out: &mut String, text: &str) {
    for byte in text.bytes() {
        match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'*' | b'-' | b'.' | b'_' => out.push(char::from(byte)),
            b' ' => out.push('+'),
            _ => out.push_str(&format!("%{byte:02X}")),
        }
    }
}

/// Only https carries a secret, except to this machine (tests, a local relay).
fn safe_for_credentials(url: &Url) -> bool {
    secops_core::config::may_carry_secrets(url.scheme(), url.host_str())
}

fn error_chain(e: &reqwest::Error) -> String {
    let mut reason = e.to_string();
    let mut source = std::error::Error::source(e);
    while let Some(cause) = source {
        reason.push_str(": ");
        reason.push_str(&cause.to_string());
        source = cause.source();
    }
    reason
}

fn header_u64(headers: &HeaderMap, name: &str) -> Option<u64> {
    headers.get(name)?.to_str().ok()?.trim().parse().ok()
}

/// How long until `X-RateLimit-RetryAfter` (epoch seconds); zero when it has passed.
fn epoch_wait(headers: &HeaderMap, now: SystemTime) -> Option<Duration> {
    let reset = UNIX_EPOCH.checked_add(Duration::from_secs(header_u64(headers, "x-ratelimit-retryafter")?))?;
    Some(reset.duration_since(now).unwrap_or(Duration::ZERO))
}

/// The wait a 429 or 503 asks for: `Retry-After` (delay-seconds or an HTTP-date), else Falcon's
/// `X-RateLimit-RetryAfter`.
fn retry_hint(headers: &HeaderMap, now: SystemTime) -> Option<Duration> {
    if let Some(value) = headers.get(RETRY_AFTER).and_then(|v| v.to_str().ok()).map(str::trim) {
        if let Ok(seconds) = value.parse::<u64>() {
            return Some(Duration::from_secs(seconds));
        }
        // An IMF-fixdate (`Sun, 06 Nov 1994 08:49:37 GMT`) is a valid RFC 2822 date.
        if let Ok(date) = OffsetDateTime::parse(value, &Rfc2822) {
            return Some(Duration::try_from(date - OffsetDateTime::from(now)).unwrap_or(Duration::ZERO));
        }
    }
    epoch_wait(headers, now)
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::HeaderValue;
    use serde_json::json;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut headers = HeaderMap::new();
        for (name, value) in pairs {
            headers.insert(*name, HeaderValue::from_str(value).expect("header value"));
        }
        headers
    }

    fn request() -> Request<'static> {
        Request {
            what: "hosts query",
            method: Method::GET,
            path: "/devices/queries/devices-scroll/v1",
            query: &[],
            body: Body::Empty,
            bearer: None,
            needs: "the API client needs the `Hosts: Read` scope",
        }
    }

    #[test]
    fn retry_hints_read_seconds_http_dates_and_epoch_resets() {
        let now = UNIX_EPOCH + Duration::from_secs(1_740_830_400); // 2025-03-01 12:00:00 UTC
        assert_eq!(retry_hint(&headers(&[("retry-after", "7")]), now), Some(Duration::from_secs(7)));
        assert_eq!(
            retry_hint(&headers(&[("retry-after", "Sat, 01 Mar 2025 12:00:30 GMT")]), now),
            Some(Duration::from_secs(30))
        );
        assert_eq!(
            retry_hint(&headers(&[("x-ratelimit-retryafter", "1740830412")]), now),
            Some(Duration::from_secs(12))
        );
        assert_eq!(retry_hint(&headers(&[("x-ratelimit-retryafter", "1740830000")]), now), Some(Duration::ZERO));
        assert_eq!(retry_hint(&headers(&[("retry-after", "soon")]), now), None);
        assert_eq!(retry_hint(&HeaderMap::new(), now), None);
    }

    #[test]
    fn backoff_stays_under_the_exponential_ceiling_and_the_cap() {
        let policy = HttpPolicy {
            base_backoff: Duration::from_millis(100),
            max_backoff: Duration::from_millis(350),
            ..HttpPolicy::default()
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
        use secops_core::ErrorClass;
        let now = SystemTime::now();
        let classify = |status: u16, headers: &HeaderMap| {
            let status = StatusCode::from_u16(status).expect("status");
            classify(&request(), status, headers, b"", Duration::from_secs(5), now)
        };
        let none = HeaderMap::new();
        assert!(
            matches!(classify(500, &none), Attempt::Retry { error, hint: None } if error.class == ErrorClass::Transient)
        );
        assert!(matches!(classify(504, &none), Attempt::Retry { .. }));
        assert!(matches!(classify(408, &none), Attempt::Retry { .. }));
        assert!(matches!(classify(401, &none), Attempt::Final(Failure::Unauthorized(_))));
        assert!(matches!(classify(404, &none), Attempt::Final(Failure::Failed(e)) if e.class == ErrorClass::Permanent));
        assert!(matches!(classify(501, &none), Attempt::Final(Failure::Failed(e)) if e.class == ErrorClass::Permanent));
        assert!(
            matches!(classify(403, &none), Attempt::Final(Failure::Failed(e)) if e.message.contains("Hosts: Read"))
        );
        let soon = headers(&[("retry-after", "2")]);
        assert!(
            matches!(classify(429, &soon), Attempt::Retry { error, hint: Some(_) } if error.class == ErrorClass::Throttled)
        );
        let late = headers(&[("retry-after", "30")]);
        assert!(
            matches!(classify(429, &late), Attempt::Final(Failure::Failed(e)) if e.class == ErrorClass::Throttled && e.message.contains("30s"))
        );
    }

    #[test]
    fn error_lists_quote_codes_and_messages_and_count_the_rest() {
        let answer =
            json!({"errors": [{"code": 403, "message": "access denied, authorization failed"}, {"message": "second"}]});
        assert_eq!(error_list(&answer).as_deref(), Some("code 403: access denied, authorization failed; second"));
        assert_eq!(error_list(&json!({"errors": []})), None);
        assert_eq!(error_list(&json!({"errors": null})), None);
        let many = json!({"errors": (0..8).map(|n| json!({"code": n, "message": "m"})).collect::<Vec<_>>()});
        assert!(error_list(&many).expect("listed").ends_with("; and 3 more"));
    }

    #[test]
    fn forms_are_url_encoded() {
        assert_eq!(
            form_urlencoded(&[("client_id", "a b"), ("client_secret", "x/y+z=&")]),
            "client_id=a+b&client_secret=x%2Fy%2Bz%3D%26"
        );
    }

    #[test]
    fn secrets_travel_over_https_or_to_loopback_only() {
        for ok in ["https://api.crowdstrike.com", "http://127.0.0.1:8080", "http://[::1]:1", "http://localhost:9"] {
            assert!(VendorHttp::new("url", ok).is_ok(), "{ok}");
        }
        for bad in [
            "http://api.crowdstrike.com",
            "http://10.0.0.1",
            "ftp://127.0.0.1",
            "https://user:pw@api.crowdstrike.com",
            "nope",
        ] {
            let error = VendorHttp::new("url", bad).expect_err(bad);
            assert!(!error.message.contains("pw@"), "{error}");
        }
    }
}
