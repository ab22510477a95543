//! `secops triage` and `secops triage one`: run triage.asl.json on the embedded executor, with the
//! analyst as an isolated subprocess per finding, a progress bar while it runs, and the books
//! printed at the end.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{bail, Context, Result};
use clap::{Args, Subcommand};
use secops_asl::TaskRegistry;
use secops_core::{Config, TriageProvider};
use serde_json::{json, Value};

use crate::asl::{Output, RunOptions};
use crate::steps::{with_steps, LocalSteps};

#[derive(Debug, Args)]
#[command(args_conflicts_with_subcommands = true)]
pub struct TriageArgs {
    #[command(subcommand)]
    pub command: Option<TriageCommand>,
    #[command(flatten)]
    pub run: RunArgs,
}

#[derive(Debug, Subcommand)]
pub enum TriageCommand {
    /// Analyse one finding again (also when it already has a ticket, which is kept).
    One {
        /// The finding's id (`secops query security_findings` lists them).
        finding_id: String,
        /// Its source, when the id alone is ambiguous.
        #[arg(long)]
        source: Option<String>,
        #[command(flatten)]
        run: RunArgs,
    },
}

#[derive(Debug, Args)]
pub struct RunArgs {
    /// Findings observed since: a duration back from now (`24h`, `7d`) or an RFC 3339 time.
    /// Default SECOPS_TRIAGE_LOOKBACK (24h).
    #[arg(long)]
    since: Option<String>,
    /// Findings analysed at most (default SECOPS_TRIAGE_LIMIT, 50).
    #[arg(long)]
    limit: Option<usize>,
    /// Analyses at once (default SECOPS_TRIAGE_CONCURRENCY, 10).
    #[arg(long)]
    concurrency: Option<usize>,
    /// offline (default), bedrock or openai.
    #[arg(long)]
    provider: Option<String>,
    #[arg(long)]
    json: bool,
    #[arg(long, default_value = "template.yaml")]
    template: PathBuf,
}

pub async fn run(config: &Config, args: TriageArgs) -> Result<ExitCode> {
    match args.command {
        None => batch(config, args.run, None).await,
        Some(TriageCommand::One { finding_id, source, run }) => batch(config, run, Some((finding_id, source))).await,
    }
}

/// The execution input for the options given (the provider already parsed).
fn input(args: &RunArgs, provider: Option<TriageProvider>) -> Result<Value> {
    let mut input = json!({});
    if let Some(since) = &args.since {
        if secops_core::triage_config::parse_duration(since).is_some() {
            input["lookback"] = json!(since);
        } else if time::OffsetDateTime::parse(since, &time::format_description::well_known::Rfc3339).is_ok() {
            input["since"] = json!(since);
        } else {
            bail!("--since {since:?}: expected a duration such as 24h or 7d, or an RFC 3339 time");
        }
    }
    if let Some(limit) = args.limit {
        input["limit"] = json!(limit);
    }
    if let Some(concurrency) = args.concurrency {
        if !(1..=40).contains(&concurrency) {
            bail!("--concurrency {concurrency}: expected 1 to 40");
        }
        input["concurrency"] = json!(concurrency);
    }
    if let Some(provider) = provider {
        input["provider"] = json!(provider.as_str());
    }
    Ok(input)
}

/// `one`: that finding only, whenever it was observed, ticketed or not.
fn rerun_one(input: &mut Value, id: &str, source: &str) {
    input["only"] = json!([{"id": id, "source": source}]);
    input["rerun"] = json!(true);
    input["since"] = json!("1970-01-01T00:00:00Z");
    if let Some(o) = input.as_object_mut() {
        o.remove("lookback");
    }
}

async fn batch(config: &Config, args: RunArgs, one: Option<(String, Option<String>)>) -> Result<ExitCode> {
    let provider = args
        .provider
        .as_deref()
        .map(|p| {
            TriageProvider::parse(p).with_context(|| format!("--provider {p:?}: expected offline, bedrock or openai"))
        })
        .transpose()?;
    if provider == Some(TriageProvider::Bedrock) && config.triage.bedrock_model_id.is_none() {
        bail!("--provider bedrock needs SECOPS_BEDROCK_MODEL_ID");
    }
    let mut input = input(&args, provider)?;
    let mut config = config.clone();
    if let Some(provider) = provider {
        config.triage.provider = provider;
    }
    with_steps(&config, async |steps: &LocalSteps| {
        if let Some((id, source)) = &one {
            let source = match source {
                Some(source) => source.clone(),
                None => source_of(steps, id).await?,
            };
            rerun_one(&mut input, id, &source);
        }
        let mut registry = TaskRegistry::new();
        steps.register(&mut registry, None);
        let mut setup = steps.analyst_setup();
        if let Some(provider) = provider {
            // The analyst subprocess reads its provider from the environment it is given.
            setup.env.retain(|(k, _)| k != "SECOPS_TRIAGE_PROVIDER");
            setup.env.push(("SECOPS_TRIAGE_PROVIDER".into(), provider.as_str().into()));
        }
        let options = RunOptions {
            input: PathBuf::from("(command line)"),
            input_value: Some(input.clone()),
            task_stubs: None,
            virtual_clock: false,
            output: Output { history: false, json: args.json },
            execution_name: None,
        };
        let progress = Progress::start(steps.pool(), !args.json);
        let result = crate::asl::run_wired("triage", &args.template, &options, registry, &setup).await;
        progress.stop().await;
        let result = result?;
        let summary = result.summary();
        if summary["status"] != json!("SUCCEEDED") {
            eprintln!("triage: the workflow ended {}: {} {}", summary["status"], summary["error"], summary["cause"]);
            return Ok(ExitCode::from(1));
        }
        let output = &summary["output"];
        if args.json {
            println!("{}", serde_json::to_string_pretty(&json!({"counts": output["counts"], "totals": output["batch"]["totals"], "results": output["batch"]["results"]}))?);
        } else {
            print_books(output);
        }
        let failed = output.pointer("/batch/totals/failed").and_then(Value::as_u64).unwrap_or(0);
        Ok(if failed == 0 { ExitCode::SUCCESS } else { ExitCode::from(3) })
    })
    .await
}

/// `triage one ID` without `--source`: the one source that has a finding with this id.
async fn source_of(steps: &LocalSteps, id: &str) -> Result<String> {
    let client = steps.pool().get().await?;
    let rows = client.query("SELECT DISTINCT source FROM security_findings WHERE id = $1", &[&id]).await?;
    let sources: Vec<String> = rows.iter().map(|r| r.get(0)).collect();
    match sources.as_slice() {
        [one] => Ok(one.clone()),
        [] => bail!("no open finding {id} in the current snapshot (secops query security_findings lists them)"),
        many => bail!("finding {id} exists in several sources ({}); say which with --source", many.join(", ")),
    }
}

fn print_books(output: &Value) {
    let c = &output["counts"];
    println!(
        "selected {} of {} candidates ({} excluded, {} already ticketed, {} over the limit)",
        c["selected"], c["candidates"], c["excluded"], c["already_ticketed"], c["over_limit"]
    );
    let empty = Vec::new();
    for r in output.pointer("/batch/results").and_then(Value::as_array).unwrap_or(&empty) {
        let id = r["finding_id"].as_str().unwrap_or_default();
        let short: String =
            if id.chars().count() > 60 { format!("…{}", &id[id.len().saturating_sub(59)..]) } else { id.to_owned() };
        match r["status"].as_str() {
            Some("analysed") => println!(
                "  {:<11} {:<60} {:<13} risk {}  ticket {}",
                r["source"].as_str().unwrap_or_default(),
                short,
                r["verdict"].as_str().unwrap_or_default(),
                r["risk_score"],
                r["ticket_key"].as_str().unwrap_or("-")
            ),
            _ => println!(
                "  {:<11} {:<60} FAILED: {}",
                r["source"].as_str().unwrap_or_default(),
                short,
                secops_core::json::error_reason(&r["error"])
            ),
        }
    }
    let t = &output["batch"]["totals"];
    println!(
        "analysed {}, failed {}, fallbacks {}; per finding {} ms mean, {} ms p95; {} input + {} output tokens; modelled cost ${:.4} (${:.4} per finding)",
        t["analysed"],
        t["failed"],
        t["fallbacks"],
        t["duration_ms"]["mean"],
        t["duration_ms"]["p95"],
        t["input_tokens"],
        t["output_tokens"],
        t["llm_cost_usd"].as_f64().unwrap_or(0.0) + t["compute_cost_usd"].as_f64().unwrap_or(0.0),
        t["cost_per_finding_usd"].as_f64().unwrap_or(0.0)
    );
}

/// A progress bar fed by the run's books: rows that left `selected` are done.
pub(crate) struct Progress {
    stop: tokio::sync::watch::Sender<bool>,
    task: Option<tokio::task::JoinHandle<()>>,
}

impl Progress {
    pub(crate) fn start(pool: secops_store::Pool, visible: bool) -> Progress {
        let (stop, mut stopped) = tokio::sync::watch::channel(false);
        if !visible || !std::io::IsTerminal::is_terminal(&std::io::stderr()) {
            return Progress { stop, task: None };
        }
        let started = time::OffsetDateTime::now_utc();
        let task = tokio::spawn(async move {
            let bar = indicatif::ProgressBar::new(0);
            bar.set_style(
                indicatif::ProgressStyle::with_template(
                    "{spinner} triage {pos}/{len} analysed [{elapsed_precise}] {msg}",
                )
                .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
            );
            bar.set_message("selecting");
            loop {
                if let Ok(client) = pool.get().await {
                    let row = client
                        .query_opt(
                            "SELECT r.selected, (SELECT count(*) FROM triage_reports t WHERE t.execution_id = r.execution_id AND t.status <> 'selected'), \
                             (SELECT count(*) FROM triage_reports t WHERE t.execution_id = r.execution_id AND t.status = 'failed') \
                             FROM triage_runs r WHERE r.started_at >= $1 ORDER BY r.started_at DESC LIMIT 1",
                            &[&started],
                        )
                        .await;
                    if let Ok(Some(row)) = row {
                        bar.set_length(row.get::<_, i32>(0).max(0) as u64);
                        bar.set_position(row.get::<_, i64>(1).max(0) as u64);
                        bar.set_message(format!("{} failed", row.get::<_, i64>(2)));
                    }
                }
                bar.tick();
                tokio::select! {
                    _ = stopped.changed() => break,
                    _ = tokio::time::sleep(Duration::from_millis(250)) => {}
                }
            }
            bar.finish_and_clear();
        });
        Progress { stop, task: Some(task) }
    }

    pub(crate) async fn stop(self) {
        let _ = self.stop.send(true);
        if let Some(task) = self.task {
            let _ = task.await;
        }
    }
}
