//! `secops remediate list|plan|apply|approvals` and `secops approve|reject`: the catalogue and one
//! finding's remediation from the command line, and the approval gate's decisions.

use std::io::{BufRead, IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{bail, Context, Result};
use clap::Subcommand;
use secops_core::asff::{parse_finding_value, AwsSecurityFinding};
use secops_core::{Config, RemediationMode, StepError};
use secops_remediation::approval::{Approval, ApprovalBook, Decision, PgApprovals};
use secops_remediation::{Catalogue, Outcome, Plan, Report, Request, Runner};
use serde_json::Value;

#[derive(Debug, Subcommand)]
pub enum RemediateCommand {
    /// The catalogue: every control with what it changes, its permissions, whether it is
    /// disruptive, how it is verified and how it is tested.
    List {
        #[arg(long)]
        json: bool,
        /// The README's catalogue table (Markdown).
        #[arg(long, conflicts_with = "json")]
        markdown: bool,
    },
    /// Read the finding's resource and show the exact changes; change nothing (the session is
    /// limited to the remediation's reading actions).
    Plan {
        #[command(flatten)]
        target: FindingArgs,
    },
    /// Plan, show, ask, then apply exactly the shown plan and verify by re-reading.
    Apply {
        #[command(flatten)]
        target: FindingArgs,
        /// Apply without asking (the plan is still printed).
        #[arg(long)]
        yes: bool,
    },
    /// Approval requests waiting for a decision.
    Approvals {
        #[arg(long)]
        json: bool,
    },
}

#[derive(Debug, clap::Args)]
pub struct FindingArgs {
    /// A Security Hub finding (ASFF) or an EventBridge event holding exactly one (`-` for stdin).
    #[arg(long)]
    finding: PathBuf,
    /// The account's environment (PROD, DEV, ...), for exemptions and the record.
    #[arg(long)]
    environment: Option<String>,
    /// The account's organizational unit, for configured OU exemptions.
    #[arg(long)]
    organizational_unit: Option<String>,
    #[arg(long)]
    json: bool,
}

pub async fn run(config: &Config, command: RemediateCommand) -> Result<ExitCode> {
    match command {
        RemediateCommand::List { json, markdown } => list(json, markdown),
        RemediateCommand::Plan { target } => {
            let report = OneFinding::open(config, &target).await?.run(RemediationMode::Plan, None).await?;
            print_report(&report, target.json);
            Ok(exit_of(&report))
        }
        RemediateCommand::Apply { target, yes } => apply(config, &target, yes).await,
        RemediateCommand::Approvals { json } => approvals(config, json).await,
    }
}

fn list(json: bool, markdown: bool) -> Result<ExitCode> {
    let catalogue = Catalogue::standard();
    let specs = catalogue.specs();
    if json {
        println!("{}", serde_json::to_string_pretty(&specs)?);
    } else if markdown {
        print!("{}", catalogue.markdown_table());
    } else {
        for s in &specs {
            println!(
                "{:<18} {:<11} {:<9} {}",
                s.control,
                if s.disruptive { "disruptive" } else { "safe" },
                s.tested_with.as_str(),
                s.change
            );
        }
        println!("{} controls", specs.len());
    }
    Ok(ExitCode::SUCCESS)
}

/// The finding of `--finding`: a finding, or an event with exactly one.
fn read_finding(path: &Path) -> Result<AwsSecurityFinding> {
    let value = crate::asl::read_json(path)?;
    let candidate = match value.pointer("/detail/findings") {
        Some(Value::Array(list)) if list.len() == 1 => list[0].clone(),
        Some(Value::Array(list)) => {
            bail!(
                "{} holds {} findings; remediate takes one (extract it with jq '.detail.findings[N]')",
                path.display(),
                list.len()
            )
        }
        _ => value,
    };
    parse_finding_value(&candidate).map_err(|e| anyhow::anyhow!("{} is not a valid finding: {e}", path.display()))
}

/// One finding and a runner over its member account, prepared once per command: `apply` plans
/// and applies with the same SDK configuration and session cache.
struct OneFinding<'a> {
    finding: AwsSecurityFinding,
    runner: Runner,
    target: &'a FindingArgs,
}

impl<'a> OneFinding<'a> {
    async fn open(config: &Config, target: &'a FindingArgs) -> Result<OneFinding<'a>> {
        let finding = read_finding(&target.finding)?;
        // An explicit command for one finding: always read the member account.
        let aws = secops_aws::load_sdk_config(&secops_aws::AwsSettings::from_config(config)).await;
        Ok(OneFinding { finding, runner: secops_remediation::setup::runner(config, Some(&aws)), target })
    }

    async fn run(&self, mode: RemediationMode, approved_plan: Option<Plan>) -> Result<Report> {
        let request = Request {
            environment: self.target.environment.clone(),
            organizational_unit: self.target.organizational_unit.clone(),
            tags: Default::default(),
            approved_plan,
            mode: Some(mode),
        };
        self.runner.run(&self.finding, request).await.map_err(step_error)
    }
}

async fn apply(config: &Config, target: &FindingArgs, yes: bool) -> Result<ExitCode> {
    let one = OneFinding::open(config, target).await?;
    let planned = one.run(RemediationMode::Plan, None).await?;
    if planned.outcome != Outcome::Planned {
        print_report(&planned, target.json);
        return Ok(exit_of(&planned));
    }
    if !target.json {
        print_report(&planned, false);
    }
    if !yes {
        if !std::io::stdin().is_terminal() {
            bail!("refusing to apply without --yes: standard input is not a terminal to ask on");
        }
        print!("Apply these {} change(s)? [y/N] ", planned.plan.as_ref().map_or(0, |p| p.changes.len()));
        std::io::stdout().flush()?;
        let mut answer = String::new();
        std::io::stdin().lock().read_line(&mut answer)?;
        if !matches!(answer.trim(), "y" | "Y" | "yes") {
            println!("Nothing was changed.");
            return Ok(ExitCode::from(1));
        }
    }
    // The person at the terminal approved exactly this plan: apply it only if it still holds.
    let report = one.run(RemediationMode::Apply, planned.plan).await?;
    print_report(&report, target.json);
    Ok(exit_of(&report))
}

fn exit_of(report: &Report) -> ExitCode {
    match report.outcome {
        Outcome::Remediated | Outcome::AlreadyCompliant | Outcome::Planned => ExitCode::SUCCESS,
        Outcome::Suppress | Outcome::ReconsiderLater => ExitCode::SUCCESS,
        Outcome::Ticket | Outcome::ApprovalRequired => ExitCode::from(3),
    }
}

fn print_report(report: &Report, json: bool) {
    if json {
        println!("{}", serde_json::to_string_pretty(report).unwrap_or_default());
        return;
    }
    println!("{} on {} ({} {}): {}", report.control, report.resource, report.account, report.region, report.outcome);
    println!("  {}", report.reason);
    if let Some(plan) = &report.plan {
        println!("  plan ({}):", if plan.disruptive { "disruptive" } else { "not disruptive" });
        for line in plan.describe().lines() {
            println!("    {line}");
        }
    }
    for c in &report.applied {
        println!("  applied: {} on {}", c.action, c.resource);
    }
    if let Some(v) = &report.verification {
        println!("  verified: {v}");
    }
    if !report.session_actions.is_empty() {
        println!("  session limited to: {}", report.session_actions.join(", "));
    }
}

async fn approvals(config: &Config, json: bool) -> Result<ExitCode> {
    crate::database::with_migrated(config, async |url: &str| {
        let pool = secops_store::db::connect_pool(url, 2).await?;
        let pending = PgApprovals::new(pool).pending().await.map_err(step_error)?;
        if json {
            println!("{}", serde_json::to_string_pretty(&pending)?);
        } else if pending.is_empty() {
            println!("No approval requests are waiting.");
        } else {
            for a in &pending {
                println!(
                    "{}  {} on {} ({} {})  requested {}  expires {}",
                    a.id,
                    a.control,
                    a.resource,
                    a.account_id,
                    a.environment.as_deref().unwrap_or("-"),
                    a.requested_at,
                    a.expires_at
                );
            }
        }
        Ok(ExitCode::SUCCESS)
    })
    .await
}

/// `secops approve ID` / `secops reject ID --reason`: record the decision (only once), then
/// resume the waiting workflow through its task token — on the embedded executor's loopback
/// endpoint when the request came from one, else Step Functions.
pub async fn decide(
    config: &Config,
    id: &str,
    decision: Decision,
    by: Option<String>,
    reason: Option<String>,
) -> Result<ExitCode> {
    let by = by.or_else(|| std::env::var("USER").ok()).unwrap_or_else(|| "secops-cli".into());
    crate::database::with_migrated(config, async |url: &str| {
        let pool = secops_store::db::connect_pool(url, 2).await?;
        let book = PgApprovals::new(pool);
        let approval = book.decide(id, decision, &by, reason.as_deref()).await.map_err(step_error)?;
        resume(config, &approval, decision, &by, reason.as_deref()).await?;
        println!("{} {} by {by}: {} on {}", approval.id, decision.as_str(), approval.control, approval.resource);
        Ok(ExitCode::SUCCESS)
    })
    .await
}

async fn resume(
    config: &Config,
    approval: &Approval,
    decision: Decision,
    by: &str,
    reason: Option<&str>,
) -> Result<()> {
    let aws = if approval.callback_url.is_none() {
        Some(secops_aws::load_sdk_config(&secops_aws::AwsSettings::from_config(config)).await)
    } else {
        None
    };
    secops_remediation::approval::resume(approval, decision, by, reason, aws.as_ref()).await.with_context(|| {
        format!(
            "the decision is recorded, but the workflow waiting on {} could not be resumed{}",
            approval.id,
            if approval.callback_url.is_some() { " (is the secops process that asked still running?)" } else { "" }
        )
    })
}

fn step_error(e: StepError) -> anyhow::Error {
    anyhow::anyhow!("{}: {}", e.name(), e.message)
}
