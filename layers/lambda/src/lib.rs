//! `secops-lambda`: what every Lambda main shares — logging set-up, the mapping of
//! [`StepError`] to the runtime's [`Diagnostic`], and the run loop. Keeps each
//! `functions/*/src/main.rs` to a few lines of wiring.
#![forbid(unsafe_code)]

use lambda_runtime::{service_fn, Diagnostic, LambdaEvent};
use secops_core::{LogFormat, StepError};
use serde_json::Value;
use std::future::Future;
use tracing_subscriber::EnvFilter;

/// The Lambda `errorType` is the step error's class name (`Transient`, `Throttled`, …), which
/// is exactly what the state machines' `Retry`/`Catch` `ErrorEquals` match on. Without this the
/// runtime would report the Rust type name, which no ASL rule can match.
pub fn diagnostic(err: &StepError) -> Diagnostic {
    Diagnostic { error_type: err.name().to_owned(), error_message: err.message.clone() }
}

/// One subscriber for every function and binary: JSON lines in Lambda (CloudWatch parses them),
/// plain text on a terminal. The level comes from `RUST_LOG`, else `AWS_LAMBDA_LOG_LEVEL`, else info.
pub fn init_tracing(format: LogFormat) {
    let filter = std::env::var("RUST_LOG")
        .ok()
        .or_else(|| std::env::var("AWS_LAMBDA_LOG_LEVEL").ok().map(|l| l.to_ascii_lowercase()))
        .and_then(|f| EnvFilter::try_new(f).ok())
        .unwrap_or_else(|| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr);
    // A second init (tests) is harmless: the first subscriber stays.
    let _ = match format {
        LogFormat::Json => builder.json().with_ansi(false).with_current_span(true).try_init(),
        LogFormat::Text => builder.compact().try_init(),
    };
}

/// What every binary does first: parse the configuration once, set up logging, say it started.
/// A bad variable stops the binary with the variable's name and what was expected.
pub fn start(step: &'static str) -> Result<secops_core::Config, secops_core::ConfigError> {
    let config = secops_core::Config::from_env()?;
    init_tracing(config.log_format);
    tracing::info!(step, regions = ?config.regions, "starting");
    Ok(config)
}

/// Run a step handler under the Lambda runtime until the sandbox is shut down.
pub async fn serve<H, Fut>(handler: H) -> Result<(), lambda_runtime::Error>
where
    H: Fn(Value) -> Fut,
    Fut: Future<Output = Result<Value, StepError>>,
{
    lambda_runtime::run(service_fn(|event: LambdaEvent<Value>| {
        let request_id = event.context.request_id.clone();
        let result = handler(event.payload);
        async move {
            result.await.map_err(|err| {
                tracing::warn!(request_id = %request_id, error_type = err.name(), error = %err.message, "step failed");
                diagnostic(&err)
            })
        }
    }))
    .await
}

/// The handler of a step whose capability is not built yet: every event is refused with an
/// `InvalidInput` error that says so. It never pretends success.
pub fn not_built_yet(
    step: &'static str,
    capability: &'static str,
) -> impl Fn(Value) -> std::future::Ready<Result<Value, StepError>> {
    move |_event| std::future::ready(Err(StepError::not_built_yet(step, capability)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn throttled_becomes_diagnostic_with_error_type_throttled() {
        let d = diagnostic(&StepError::throttled("securityhub:BatchUpdateFindings: rate exceeded"));
        assert_eq!(d.error_type, "Throttled");
        assert_eq!(d.error_message, "securityhub:BatchUpdateFindings: rate exceeded");
        // The wire form the Runtime API receives uses camelCase keys.
        let wire = serde_json::to_value(&d).unwrap();
        assert_eq!(wire["errorType"], "Throttled");
    }

    #[tokio::test]
    async fn not_built_yet_refuses_every_event() {
        let h = not_built_yet("collect", "inventory collection");
        for event in [Value::Null, serde_json::json!({"detail": {"findings": []}})] {
            let err = h(event).await.unwrap_err();
            assert_eq!(err.name(), "InvalidInput");
        }
    }
}
