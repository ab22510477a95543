//! The per-finding analysis binary (a Fargate task on AWS, a subprocess locally), reporting on its
//! task token. Exit 0 once the outcome is reported (a failed analysis included), 2 on bad
//! configuration, 1 when the report itself failed. The analysis lives in `layers/triage`.

use std::process::ExitCode;

use secops_core::AnalystTask;

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    let started = secops_lambda::start("analyst").map_err(|e| e.to_string());
    let (config, task) = match started.and_then(|c| AnalystTask::from_env().map(|t| (c, t)).map_err(|e| e.to_string()))
    {
        Ok(both) => both,
        Err(e) => {
            eprintln!("analyst: {e}");
            return ExitCode::from(2);
        }
    };
    let _span =
        tracing::info_span!("analyst", finding_id = ?task.finding_id, execution_id = ?task.execution_id).entered();
    match secops_triage::analyst::run(&config, &task).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!("{e}");
            ExitCode::from(1)
        }
    }
}
