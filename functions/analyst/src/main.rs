//! The per-finding analysis binary: one finding, in isolation (an ECS Fargate task on AWS, a
//! subprocess locally). Not a Lambda. Until the triage capability is built it refuses to run,
//! with the same `InvalidInput` class a step would report, and a non-zero exit status.

use secops_lambda::init_tracing;
use std::process::ExitCode;

fn main() -> ExitCode {
    let config = match secops_core::Config::from_env() {
        Ok(c) => c,
        Err(e) => {
            eprintln!("analyst: {e}");
            return ExitCode::from(2);
        }
    };
    init_tracing(config.log_format);
    let err = secops_core::StepError::not_built_yet("analyst", "per-finding analysis");
    tracing::error!(error_type = err.name(), "{}", err.message);
    eprintln!("analyst: {err}");
    ExitCode::from(2)
}
