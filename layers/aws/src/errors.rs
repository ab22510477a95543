//! One classification of AWS SDK errors into the step error classes the state machines retry on.

use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use aws_smithy_runtime_api::client::result::SdkError;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;
use secops_core::{ErrorClass, StepError};

/// Error codes AWS services use for rate limiting (the SDK's own retry classifier uses the same set).
const THROTTLING_CODES: &[&str] = &[
    "Throttling",
    "ThrottlingException",
    "ThrottledException",
    "RequestThrottledException",
    "TooManyRequestsException",
    "ProvisionedThroughputExceededException",
    "TransactionInProgressException",
    "RequestLimitExceeded",
    "BandwidthLimitExceeded",
    "LimitExceededException",
    "RequestThrottled",
    "SlowDown",
    "PriorRequestNotComplete",
    "EC2ThrottledException",
];

/// Error codes for failures on AWS's side that pass with time.
const TRANSIENT_CODES: &[&str] = &[
    "RequestTimeout",
    "RequestTimeoutException",
    "InternalError",
    "InternalFailure",
    "InternalServerError",
    "InternalServerErrorException",
    "ServiceUnavailable",
    "ServiceUnavailableException",
    "IDPCommunicationError",
];

/// Transient (timeouts, connection trouble, 5xx, unreadable responses), Throttled (rate limits,
/// HTTP 429), or Permanent (everything the service rejected on purpose: access denied, not found,
/// validation, and requests we could not even build).
pub fn classify<E: ProvideErrorMetadata>(err: &SdkError<E, HttpResponse>) -> ErrorClass {
    match err {
        SdkError::ConstructionFailure(_) => ErrorClass::Permanent,
        SdkError::TimeoutError(_) => ErrorClass::Transient,
        SdkError::DispatchFailure(f) if f.is_user() => ErrorClass::Permanent,
        SdkError::DispatchFailure(_) => ErrorClass::Transient,
        SdkError::ResponseError(_) => ErrorClass::Transient,
        SdkError::ServiceError(service) => classify_code(service.err().code(), service.raw().status().as_u16()),
        _ => ErrorClass::Transient,
    }
}

/// The classification by error code and HTTP status alone.
pub fn classify_code(code: Option<&str>, status: u16) -> ErrorClass {
    match code {
        Some(c) if THROTTLING_CODES.contains(&c) => ErrorClass::Throttled,
        Some(c) if TRANSIENT_CODES.contains(&c) => ErrorClass::Transient,
        _ if status == 429 => ErrorClass::Throttled,
        _ if status >= 500 => ErrorClass::Transient,
        _ => ErrorClass::Permanent,
    }
}

/// A failed AWS call, named by service:Operation, with its class.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{operation}: {message}")]
pub struct AwsError {
    pub operation: &'static str,
    pub class: ErrorClass,
    pub message: String,
    /// The service's error code (`AccessDenied`, `NoSuchBucket`, ...), when it sent one.
    pub code: Option<String>,
}

impl AwsError {
    /// Wrap an SDK error from `operation` (e.g. "ssm:GetParameter").
    pub fn from_sdk<E>(operation: &'static str, err: SdkError<E, HttpResponse>) -> Self
    where
        E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    {
        let class = classify(&err);
        let code = err.code().map(str::to_owned);
        let message = match (err.code(), err.message()) {
            (Some(code), Some(msg)) => format!("{code}: {msg}"),
            (Some(code), None) => code.to_owned(),
            _ => aws_smithy_types::error::display::DisplayErrorContext(&err).to_string(),
        };
        Self { operation, class, message, code }
    }

    /// An error of our own making (no service code).
    pub fn new(operation: &'static str, class: ErrorClass, message: impl Into<String>) -> Self {
        Self { operation, class, message: message.into(), code: None }
    }

    /// Whether the service refused for lack of permission (the code names it in every service).
    pub fn is_access_denied(&self) -> bool {
        self.code.as_deref().is_some_and(|c| {
            matches!(c, "AccessDenied" | "AccessDeniedException" | "UnauthorizedOperation" | "AuthorizationError")
                || c.starts_with("AccessDenied")
                || c == "AuthFailure"
        })
    }
}

impl From<AwsError> for StepError {
    fn from(e: AwsError) -> Self {
        StepError::new(e.class, e.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_and_statuses() {
        assert_eq!(classify_code(Some("ThrottlingException"), 400), ErrorClass::Throttled);
        assert_eq!(classify_code(Some("TooManyRequestsException"), 429), ErrorClass::Throttled);
        assert_eq!(classify_code(None, 429), ErrorClass::Throttled);
        assert_eq!(classify_code(Some("InternalServerErrorException"), 500), ErrorClass::Transient);
        assert_eq!(classify_code(None, 503), ErrorClass::Transient);
        assert_eq!(classify_code(Some("AccessDeniedException"), 400), ErrorClass::Permanent);
        assert_eq!(classify_code(Some("ParameterNotFound"), 400), ErrorClass::Permanent);
        assert_eq!(classify_code(None, 404), ErrorClass::Permanent);
    }
}
