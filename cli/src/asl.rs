//! `secops asl run|validate` and `secops run MACHINE`: the embedded executor from the command line.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::{bail, Context};
use secops_asl::stubs::TaskStubs;
use secops_asl::validate::ValidateOptions;
use secops_asl::{ExecutionResult, ExecutionStatus, Executor, StateMachine, TaskRegistry, VirtualClock};
use serde_json::{json, Value};

/// How to print a finished execution.
#[derive(Debug, Clone, Copy)]
pub struct Output {
    pub history: bool,
    pub json: bool,
}

pub async fn run_definition(
    definition: &Path,
    input: &Path,
    task_stubs: Option<&Path>,
    virtual_clock: bool,
    output: Output,
) -> anyhow::Result<ExitCode> {
    let machine = load_machine(definition)?;
    let input = read_json(input).context("reading the execution input")?;
    let mut registry = TaskRegistry::new();
    if let Some(path) = task_stubs {
        let stubs = read_json(path).context("reading the task stubs")?;
        let stubs = TaskStubs::from_value(&stubs).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
        registry.fallback(Arc::new(stubs));
    }
    let mut builder = Executor::builder().registry(registry);
    if virtual_clock {
        builder = builder.clock(Arc::new(VirtualClock::starting_now()));
    }
    let executor = builder.build();
    let name = definition.file_stem().and_then(|s| s.to_str()).unwrap_or("machine").trim_end_matches(".asl");
    let result = executor.run(&machine, name, input).await;
    Ok(report(&result, output))
}

pub fn validate(files: &[PathBuf]) -> anyhow::Result<ExitCode> {
    let mut bad = 0;
    for file in files {
        match load_machine(file) {
            Ok(_) => println!("{}: valid", file.display()),
            Err(e) => {
                bad += 1;
                println!("{}: invalid\n{e:#}", file.display());
            }
        }
    }
    Ok(if bad == 0 { ExitCode::SUCCESS } else { ExitCode::from(1) })
}

pub fn load_machine(path: &Path) -> anyhow::Result<Arc<StateMachine>> {
    let text = std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    load_machine_text(&text, path)
}

pub fn load_machine_text(text: &str, path: &Path) -> anyhow::Result<Arc<StateMachine>> {
    StateMachine::from_text(text, &ValidateOptions::default()).map_err(|e| {
        let lines: Vec<String> = e.diagnostics.iter().map(|d| format!("  {d}")).collect();
        anyhow::anyhow!("{} is not a valid state machine:\n{}", path.display(), lines.join("\n"))
    })
}

pub fn read_json(path: &Path) -> anyhow::Result<Value> {
    let text = if path == Path::new("-") {
        std::io::read_to_string(std::io::stdin()).context("cannot read standard input")?
    } else {
        std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?
    };
    let value: Value = serde_json::from_str(&text).with_context(|| format!("{} is not JSON", path.display()))?;
    if value.is_null() && text.trim().is_empty() {
        bail!("{} is empty", path.display());
    }
    Ok(value)
}

/// Print the outcome in the conformance cases' `expected` shape; exit 0 only on SUCCEEDED.
pub fn report(result: &ExecutionResult, output: Output) -> ExitCode {
    let mut summary = result.summary();
    if output.json {
        if output.history {
            summary["history"] = json!(result.history);
        }
        println!("{}", serde_json::to_string(&summary).unwrap_or_default());
    } else {
        if output.history {
            for event in &result.history {
                let name = event.details.get("name").and_then(Value::as_str).unwrap_or("");
                let scope = if event.scope.is_empty() { String::new() } else { format!(" [{}]", event.scope) };
                let retry = match event.details.get("retry") {
                    Some(r) => format!(
                        " (retry {} after {}s, {})",
                        r["attempt"],
                        r["delaySeconds"],
                        r["error"].as_str().unwrap_or("")
                    ),
                    None => String::new(),
                };
                println!("#{:<4} {:<26} {name}{scope}{retry}", event.id, event.kind.name());
            }
        }
        println!("{}", serde_json::to_string_pretty(&summary).unwrap_or_default());
    }
    if result.status == ExecutionStatus::Succeeded {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    }
}
