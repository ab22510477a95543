//! The per-finding analysis binary: one finding, in isolation (an ECS Fargate task on AWS, a
//! subprocess locally). Not a Lambda. Until the triage capability is built it refuses to run,
//! with the same `InvalidInput` class a step would report, and a non-zero exit status.

use std::process::ExitCode;

fn main() -> ExitCode {
    if let Err(e) = secops_lambda::start("analyst") {
        eprintln!("analyst: {e}");
        return ExitCode::from(2);
    }
    let err = secops_core::StepError::not_built_yet("analyst", "per-finding analysis");
    tracing::error!(error_type = err.name(), "{}", err.message);
    eprintln!("analyst: {err}");
    ExitCode::from(2)
}
