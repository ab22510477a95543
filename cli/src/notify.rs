//! `secops md2adf` and `secops notify …`: the outbox and the breakers for operators.

use std::io::{Read, Write};
use std::process::ExitCode;

use anyhow::{Context, Result};
use secops_core::Config;
use secops_notify::outbox::EntryStatus;
use secops_notify::Destination;

use crate::steps::{with_steps, LocalSteps};

#[derive(Debug, clap::Subcommand)]
pub enum NotifyCommand {
    /// Deliver queued messages now, oldest first, each destination until it is empty or fails
    /// (the housekeeping machine does this hourly).
    Replay {
        /// At most this many messages per destination.
        #[arg(long, default_value_t = 500)]
        max: usize,
    },
    /// The outbox: counts per destination and status, or every entry with --jsonl.
    Outbox {
        /// One JSON object per entry, oldest first.
        #[arg(long)]
        jsonl: bool,
        /// Only entries in this status (queued, delivered, rejected).
        #[arg(long, value_parser = parse_status)]
        status: Option<EntryStatus>,
    },
    /// Each destination's circuit breaker and its recent state changes.
    Breakers,
}

fn parse_status(s: &str) -> Result<EntryStatus, String> {
    [EntryStatus::Queued, EntryStatus::Delivered, EntryStatus::Rejected]
        .into_iter()
        .find(|status| status.as_str() == s)
        .ok_or_else(|| format!("'{s}' is not a status (queued, delivered, rejected)"))
}

/// Markdown on standard input → ADF JSON on standard output.
pub fn md2adf() -> Result<ExitCode> {
    let mut markdown = String::new();
    std::io::stdin().read_to_string(&mut markdown).context("reading Markdown from standard input")?;
    // write_json is the converter's own writer; serde would go through a Value first.
    let mut json = Vec::new();
    secops_notify::adf::markdown_to_adf(&markdown).write_json(&mut json);
    json.push(b'\n');
    std::io::stdout().lock().write_all(&json).context("writing ADF")?;
    Ok(ExitCode::SUCCESS)
}

/// Rows of an outbox export read per query.
const PAGE: usize = 1000;

pub async fn run(config: &Config, command: NotifyCommand) -> Result<ExitCode> {
    with_steps(config, async |steps: &LocalSteps| {
        let notifier = &steps.notifier;
        match command {
            NotifyCommand::Replay { max } => {
                let report = notifier.replay(max).await?;
                for (destination, r) in &report.destinations {
                    println!(
                        "{destination:<8} delivered {:>5}  rejected {:>4}  failed {:>3}{}{}",
                        r.delivered,
                        r.rejected,
                        r.failed,
                        r.breaker_open_until.as_ref().map(|u| format!("  breaker open until {u}")).unwrap_or_default(),
                        r.last_error.as_ref().map(|e| format!("  last error: {e}")).unwrap_or_default(),
                    );
                }
                let queued: i64 = report.still_queued.values().sum();
                println!("still queued: {queued}");
                Ok(if queued == 0 { ExitCode::SUCCESS } else { ExitCode::from(1) })
            }
            NotifyCommand::Outbox { jsonl: true, status } => {
                let mut out = std::io::stdout().lock();
                let mut after = 0;
                loop {
                    let page = notifier.outbox().page(after, PAGE, status).await?;
                    for entry in &page {
                        serde_json::to_writer(&mut out, entry)?;
                        writeln!(out)?;
                    }
                    match page.last() {
                        Some(last) if page.len() == PAGE => after = last.seq,
                        _ => break,
                    }
                }
                Ok(ExitCode::SUCCESS)
            }
            NotifyCommand::Outbox { jsonl: false, status } => {
                let counts = notifier.outbox().counts().await?;
                println!("{:<8} {:<10} {:>8}", "to", "status", "messages");
                for ((destination, s), n) in counts.iter().filter(|((_, s), _)| status.is_none_or(|want| want == *s)) {
                    println!("{:<8} {:<10} {n:>8}", destination.name(), s.as_str());
                }
                Ok(ExitCode::SUCCESS)
            }
            NotifyCommand::Breakers => {
                for destination in Destination::ALL {
                    let row = notifier.breaker().state(destination).await?;
                    println!(
                        "{:<8} {:<9} failures {}{}",
                        destination.name(),
                        row.state.as_str(),
                        row.consecutive_failures,
                        row.open_until.map(|u| format!("  open until {u}")).unwrap_or_default()
                    );
                    for t in notifier.breaker().store().transitions(destination, 10).await? {
                        println!("    {}  {} -> {}  {}", t.at, t.from.as_str(), t.to.as_str(), t.reason);
                    }
                }
                Ok(ExitCode::SUCCESS)
            }
        }
    })
    .await
}
