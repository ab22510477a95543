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

/// How to run: the input, optional task stubs, the clock, and how to print the outcome.
#[derive(Debug)]
pub struct RunOptions {
    pub input: PathBuf,
    /// The input itself (then `input` only names it in messages).
    pub input_value: Option<Value>,
    pub task_stubs: Option<PathBuf>,
    pub virtual_clock: bool,
    pub output: Output,
    /// `$$.Execution.Name` (default: a new UUID).
    pub execution_name: Option<String>,
}

impl RunOptions {
    /// The execution input, and an executor over `registry` with the stubs and clock asked for.
    fn prepare(&self, mut registry: TaskRegistry, hub: secops_asl::CallbackHub) -> anyhow::Result<(Value, Executor)> {
        let input = match &self.input_value {
            Some(v) => v.clone(),
            None => read_json(&self.input).context("reading the execution input")?,
        };
        if let Some(path) = &self.task_stubs {
            let stubs = read_json(path).context("reading the task stubs")?;
            let stubs = TaskStubs::from_value(&stubs).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
            registry.fallback(Arc::new(stubs));
        }
        let mut builder = Executor::builder().registry(registry).callbacks(hub);
        if self.virtual_clock {
            builder = builder.clock(Arc::new(VirtualClock::starting_now()));
        }
        Ok((input, builder.build()))
    }
}

pub async fn run_definition(definition: &Path, options: &RunOptions) -> anyhow::Result<ExitCode> {
    let machine = load_machine(definition)?;
    let (input, executor) = options.prepare(TaskRegistry::new(), secops_asl::CallbackHub::new())?;
    let name = definition.file_stem().and_then(|s| s.to_str()).unwrap_or("machine").trim_end_matches(".asl");
    let result = executor.run(&machine, name, input).await;
    Ok(report(&result, options.output))
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

/// `secops run MACHINE`: a machine from `statemachines/`, wired per the template, with every step
/// in-process and the analyst as a subprocess reporting to a loopback callback endpoint.
pub async fn run_machine(
    config: &secops_core::Config,
    machine: &str,
    template: &Path,
    options: &RunOptions,
) -> anyhow::Result<ExitCode> {
    crate::steps::with_steps(config, async |steps: &crate::steps::LocalSteps| {
        let mut registry = TaskRegistry::new();
        steps.register(&mut registry, None);
        let result = run_wired(machine, template, options, registry, &steps.analyst_setup()).await?;
        Ok(report(&result, options.output))
    })
    .await
}

/// How the analyst subprocess runs: its base environment and limits.
#[derive(Debug, Clone, Default)]
pub struct AnalystSetup {
    pub env: Vec<(String, String)>,
    pub limits: secops_asl::ecs_task::AnalystLimits,
}

/// Run `machine` from `template` over `registry` (plus the analyst as a subprocess reporting to
/// a loopback callback endpoint), and return the finished execution.
pub async fn run_wired(
    machine: &str,
    template: &Path,
    options: &RunOptions,
    mut registry: TaskRegistry,
    analyst_setup: &AnalystSetup,
) -> anyhow::Result<ExecutionResult> {
    use secops_asl::callback_server::CallbackServer;
    use secops_asl::ecs_task::{AnalystTaskRunner, RESOURCE as ECS_TASK};
    use secops_asl::local::LocalMachines;

    let hub = secops_asl::CallbackHub::new();
    let server = CallbackServer::start(hub.clone()).await.context("starting the loopback callback endpoint")?;
    let analyst = std::env::current_exe().ok().and_then(|p| p.parent().map(|d| d.join("analyst")));
    if let Some(analyst) = analyst.filter(|p| p.is_file()) {
        let runner = AnalystTaskRunner::new(analyst, server.endpoint_url())
            .with_base_env(analyst_setup.env.clone())
            .with_limits(analyst_setup.limits);
        registry.integration(ECS_TASK, Arc::new(runner));
    }
    let outcome = async {
        let (input, executor) = options.prepare(registry, hub)?;
        let machines = LocalMachines::load(template, &executor).map_err(|e| anyhow::anyhow!("{e}"))?;
        let Some(local) = machines.get(machine) else {
            let known: Vec<&str> = machines.machines.keys().map(String::as_str).collect();
            bail!("there is no state machine '{machine}' in {} (known: {})", template.display(), known.join(", "));
        };
        Ok(match &options.execution_name {
            Some(name) => executor.run_named(&local.machine, &local.name, name, input).await,
            None => executor.run(&local.machine, &local.name, input).await,
        })
    }
    .await;
    server.stop().await;
    outcome
}
