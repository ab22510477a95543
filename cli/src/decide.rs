//! `secops decide` (one EventBridge event through findings.asl.json, or a dry run of the decision
//! only) and `secops policy` (check, load into the state store, show).

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, Result};
use secops_asl::TaskRegistry;
use secops_core::Config;
use secops_soar::decide::{preview, DecideInput, EventRef};
use secops_soar::policy::Policy;
use serde_json::{json, Value};

use crate::asl::{read_json, Output, RunOptions};
use crate::steps::{with_steps, Decisions, LocalSteps};

#[derive(Debug, clap::Subcommand)]
pub enum PolicyCommand {
    /// Parse a policy file and report the first problem with its line; exit 1 if there is one.
    Check {
        #[arg(default_value = "config/policy.yaml")]
        file: PathBuf,
    },
    /// Check a policy file and store it in the hot state store, where every decide reads it.
    Load {
        #[arg(default_value = "config/policy.yaml")]
        file: PathBuf,
    },
    /// Print the policy decide uses now (its source and digest to stderr, the YAML to stdout).
    Show,
}

fn findings_of(event: &Value) -> Result<&Vec<Value>> {
    event.pointer("/detail/findings").and_then(Value::as_array).context(
        "the event has no detail.findings array (expected an EventBridge 'Security Hub Findings - Imported' event)",
    )
}

pub async fn run(
    config: &Config,
    event_path: &Path,
    template: &Path,
    dry_run: bool,
    json_out: bool,
) -> Result<ExitCode> {
    let event = read_json(event_path)?;
    let findings = findings_of(&event)?.clone();
    let event_ref = EventRef {
        id: event.get("id").and_then(Value::as_str).unwrap_or_default().to_owned(),
        time: event.get("time").and_then(Value::as_str).unwrap_or_default().to_owned(),
    };
    with_steps(config, async |steps: &LocalSteps| {
        let mut rows = Vec::new();
        let mut failed = false;
        if dry_run {
            for (i, finding) in findings.iter().enumerate() {
                let input = DecideInput { finding: finding.clone(), event: event_ref.clone(), index: Some(i as u32), execution_id: None };
                rows.push(match preview(&steps.soar, input).await {
                    Ok(pad) => row(i, &serde_json::to_value(&pad)?, None),
                    Err(e) => {
                        failed = true;
                        json!({"index": i, "error": e.to_string(), "class": e.class().name()})
                    }
                });
            }
        } else {
            let decisions: Decisions = Default::default();
            let mut registry = TaskRegistry::new();
            steps.register(&mut registry, Some(decisions.clone()));
            let options = RunOptions {
                input: event_path.to_owned(),
                input_value: None,
                task_stubs: None,
                virtual_clock: false,
                output: Output { history: false, json: json_out },
                execution_name: None,
            };
            let result = crate::asl::run_wired("findings", template, &options, registry, &steps.analyst_setup()).await?;
            let summary = result.summary();
            let results = summary.pointer("/output/results").and_then(Value::as_array).cloned().unwrap_or_default();
            let decided = decisions.lock().unwrap_or_else(|p| p.into_inner()).clone();
            for (i, finding) in findings.iter().enumerate() {
                let id = finding.get("Id").and_then(Value::as_str).unwrap_or_default();
                let outcome = results.iter().find(|r| r["index"] == json!(i));
                let pad = decided.iter().find(|d| d.pointer("/finding/Id").and_then(Value::as_str) == Some(id));
                rows.push(match pad {
                    Some(pad) => row(i, pad, outcome),
                    None => json!({"index": i, "finding_id": id, "status": outcome.map(|o| o["status"].clone()), "error": outcome.map(|o| o["error"].clone())}),
                });
            }
            if summary["status"] != json!("SUCCEEDED") {
                failed = true;
                eprintln!("decide: the findings workflow ended {}: {} {}", summary["status"], summary["error"], summary["cause"]);
            }
        }
        print_rows(&rows, json_out);
        Ok(if failed { ExitCode::from(1) } else { ExitCode::SUCCESS })
    })
    .await
}

fn row(index: usize, pad: &Value, outcome: Option<&Value>) -> Value {
    if let Some(error) = pad.get("error").filter(|_| pad.get("decision").is_none()) {
        return json!({
            "index": index,
            "finding_id": pad.pointer("/finding/Id"),
            "error": error,
            "class": pad.get("class"),
            "outcome": outcome.map(|o| o.get("outcome").cloned().unwrap_or_else(|| o["status"].clone())),
        });
    }
    json!({
        "index": index,
        "finding_id": pad.pointer("/finding/Id"),
        "decision": pad.get("decision"),
        "score": pad.get("penalty_score"),
        "environment": pad.get("environment"),
        "reason": pad.get("decision_reason"),
        "outcome": outcome.map(|o| o.get("outcome").cloned().unwrap_or_else(|| o["status"].clone())),
    })
}

fn print_rows(rows: &[Value], json_out: bool) {
    if json_out {
        println!("{}", json!({"findings": rows}));
        return;
    }
    for r in rows {
        let text = |k: &str| match &r[k] {
            Value::String(s) => s.clone(),
            Value::Null => "-".into(),
            other => other.to_string(),
        };
        if r.get("decision").is_some_and(|d| !d.is_null()) {
            println!(
                "#{:<3} {:<14} score {:<8} {:<24} {}\n     {}",
                text("index"),
                text("decision"),
                text("score"),
                text("outcome"),
                text("finding_id"),
                text("reason")
            );
        } else {
            println!(
                "#{:<3} not decided ({}), outcome {}: {}",
                text("index"),
                text("class"),
                text("outcome"),
                text("error")
            );
        }
    }
}

pub async fn policy(config: &Config, command: PolicyCommand) -> Result<ExitCode> {
    match command {
        PolicyCommand::Check { file } => {
            let text = std::fs::read_to_string(&file).with_context(|| format!("cannot read {}", file.display()))?;
            match Policy::from_yaml(&text, &file.display().to_string()) {
                Ok(p) => {
                    println!("{}: valid ({} suppression rules)", file.display(), p.rules().len());
                    Ok(ExitCode::SUCCESS)
                }
                Err(e) => {
                    println!("{e}");
                    Ok(ExitCode::from(1))
                }
            }
        }
        PolicyCommand::Load { file } => {
            let text = std::fs::read_to_string(&file).with_context(|| format!("cannot read {}", file.display()))?;
            let stored =
                secops_soar::setup::stored_policy(&text, &file.display().to_string(), time::OffsetDateTime::now_utc())?;
            with_steps(config, async |steps: &LocalSteps| {
                steps.soar.store.put_policy(&stored).await?;
                println!("policy from {} loaded (sha256 {})", file.display(), stored.sha256);
                Ok(ExitCode::SUCCESS)
            })
            .await
        }
        PolicyCommand::Show => {
            with_steps(config, async |steps: &LocalSteps| {
                if let Some(path) = &config.decide.policy_file {
                    eprintln!("policy: {path} (SECOPS_POLICY_FILE)");
                    print!("{}", std::fs::read_to_string(path).with_context(|| format!("cannot read {path}"))?);
                } else if let Some(stored) = steps.soar.store.policy().await? {
                    eprintln!(
                        "policy: loaded from {} at {} (sha256 {})",
                        stored.source, stored.loaded_at, stored.sha256
                    );
                    print!("{}", stored.yaml);
                } else {
                    eprintln!("policy: the built-in default (config/policy.yaml)");
                    print!("{}", secops_soar::policy::BUILT_IN_YAML);
                }
                Ok(ExitCode::SUCCESS)
            })
            .await
        }
    }
}
