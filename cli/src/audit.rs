//! `secops audit …`: append to, export, checkpoint and verify the audit chain, and manage the
//! local key file. Exit codes: 0 intact/done, 1 problems found, 2 the command could not run.

use crate::database::with_migrated;
use anyhow::{Context, Result};
use secops_audit::checkpoint::{AnyCheckpointStore, CheckpointStore, FileCheckpointStore};
use secops_audit::ops;
use secops_audit::redact::Destination;
use secops_audit::signer::{load_key_file, rotate_key_file, AnySigner, Keyring};
use secops_audit::verify::Report;
use secops_audit::{setup, AuditSink, Checkpoint, NewEvent, PgAuditLog};
use secops_core::{AuditKeySource, Config};
use std::io::{BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

#[derive(Debug, clap::Subcommand)]
pub enum AuditCommand {
    /// Append one event: `--type findings.suppressed --payload '{"finding": "…"}'`.
    Append {
        #[arg(long = "type")]
        event_type: String,
        /// JSON text, `@FILE`, or `-` for standard input.
        #[arg(long)]
        payload: String,
        /// Who is recording it (default: cli:<user>).
        #[arg(long)]
        actor: Option<String>,
    },
    /// Write the whole chain as JSONL (one event per line, payloads in canonical form).
    Export {
        /// The file to write (`-` for standard output).
        #[arg(long)]
        jsonl: PathBuf,
    },
    /// Verify what changed since the latest checkpoint, then sign and publish a new one.
    Checkpoint {
        /// Publish to (and resume from) this file instead of the configured place.
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// Walk the chain (the table, or an export with --jsonl) and report every problem.
    Verify {
        /// Verify an export offline instead of the table.
        #[arg(long)]
        jsonl: Option<PathBuf>,
        /// Check against this checkpoint file instead of the configured latest checkpoint.
        #[arg(long)]
        checkpoint: Option<PathBuf>,
        /// Print {"ok", "events", "problems": [{"seq", "kind", "expected", "found"}]}.
        #[arg(long)]
        json: bool,
    },
    /// The local key file: show its keys (never the secrets) or rotate to a new key.
    #[command(subcommand)]
    Key(KeyCommand),
}

#[derive(Debug, clap::Subcommand)]
pub enum KeyCommand {
    /// List key ids; the active one is marked.
    Show,
    /// Add a new key and make it active; earlier keys stay listed (retired) and keep verifying.
    Rotate,
}

pub async fn run(config: &Config, command: AuditCommand) -> ExitCode {
    match dispatch(config, command).await {
        Ok(code) => code,
        Err(e) => {
            eprintln!("secops audit: {e:#}");
            ExitCode::from(2)
        }
    }
}

async fn dispatch(config: &Config, command: AuditCommand) -> Result<ExitCode> {
    // Loaded once, and only when the keys or checkpoints live in AWS.
    let aws = aws_config_if_needed(config).await;
    let aws = aws.as_ref();
    match command {
        AuditCommand::Append { event_type, payload, actor } => {
            let payload = read_payload(&payload)?;
            let actor =
                actor.unwrap_or_else(|| format!("cli:{}", std::env::var("USER").unwrap_or_else(|_| "unknown".into())));
            with_log(config, aws, |log| async move {
                let receipts = log.append(vec![NewEvent::new(event_type, actor, payload)]).await?;
                for r in receipts {
                    println!("appended seq {} (event {}, chain hash {})", r.seq, r.event_id, r.chain_hash);
                }
                Ok(ExitCode::SUCCESS)
            })
            .await
        }
        AuditCommand::Export { jsonl } => {
            with_log(config, aws, |log| async move {
                let written = if jsonl.as_os_str() == "-" {
                    ops::export(&log, &mut std::io::BufWriter::new(std::io::stdout().lock())).await?
                } else {
                    let file =
                        std::fs::File::create(&jsonl).with_context(|| format!("creating {}", jsonl.display()))?;
                    ops::export(&log, &mut std::io::BufWriter::new(file)).await?
                };
                eprintln!("exported {written} events of chain {}", log.chain());
                Ok(ExitCode::SUCCESS)
            })
            .await
        }
        AuditCommand::Checkpoint { out } => {
            let store = match out {
                Some(path) => AnyCheckpointStore::File(FileCheckpointStore::new(path)),
                None => setup::checkpoint_store(&config.audit, aws)?,
            };
            with_log(config, aws, |log| async move {
                let outcome = ops::checkpoint(&log, &store).await?;
                match &outcome.checkpoint {
                    Some(cp) => {
                        println!(
                            "checkpoint: seq {} chain hash {} ({} events verified) published to {}",
                            cp.seq, cp.chain_hash, outcome.verified_events, outcome.published_to
                        );
                        Ok(ExitCode::SUCCESS)
                    }
                    None if outcome.report.ok => {
                        println!("checkpoint: the chain is empty; nothing to checkpoint");
                        Ok(ExitCode::SUCCESS)
                    }
                    None => {
                        print_report(&outcome.report, false);
                        eprintln!("checkpoint: not published, because the chain has problems");
                        Ok(ExitCode::from(1))
                    }
                }
            })
            .await
        }
        AuditCommand::Verify { jsonl, checkpoint, json } => {
            let checkpoint = match checkpoint {
                Some(path) => Some(read_checkpoint(&path)?),
                None => setup::checkpoint_store(&config.audit, aws)?.latest().await?,
            };
            let report = match jsonl {
                Some(path) => {
                    // Offline: only the keys are needed, never the database; and verification
                    // never creates a key file.
                    let signer = setup::verifying_signer(&config.audit, aws).await.with_context(|| {
                        "the audit keys are needed to verify (SECOPS_AUDIT_KEY_FILE, SECOPS_AUDIT_KMS_KEY_ID or SECOPS_AUDIT_KEY_PARAMETER)"
                    })?;
                    let checkpoint = ops::checkpoint_for_chain(checkpoint, &config.audit.chain, "the checkpoint")?;
                    let (source, mut input): (String, Box<dyn std::io::BufRead>) = if path.as_os_str() == "-" {
                        ("standard input".into(), Box::new(BufReader::new(std::io::stdin().lock())))
                    } else {
                        let file = std::fs::File::open(&path).with_context(|| format!("opening {}", path.display()))?;
                        (path.display().to_string(), Box::new(BufReader::with_capacity(1 << 20, file)))
                    };
                    ops::verify_export(&mut input, &source, &signer, checkpoint).await?
                }
                None => {
                    with_log(config, aws, |log| async move { Ok(ops::verify_table(&log, checkpoint).await?) }).await?
                }
            };
            print_report(&report, json);
            Ok(if report.ok { ExitCode::SUCCESS } else { ExitCode::from(1) })
        }
        AuditCommand::Key(KeyCommand::Show) => {
            let path = key_file(config)?;
            let ring = load_key_file(&path)?;
            show_keys(&path, &ring);
            Ok(ExitCode::SUCCESS)
        }
        AuditCommand::Key(KeyCommand::Rotate) => {
            let path = key_file(config)?;
            let id = rotate_key_file(&path)?;
            println!("rotated: {id} is the active key; earlier keys stay listed and keep verifying");
            show_keys(&path, &load_key_file(&path)?);
            Ok(ExitCode::SUCCESS)
        }
    }
}

fn key_file(config: &Config) -> Result<PathBuf> {
    match &config.audit.keys {
        AuditKeySource::File(path) => Ok(PathBuf::from(path)),
        other => anyhow::bail!("the audit keys are not in a local key file ({other:?}); manage them where they live"),
    }
}

fn show_keys(path: &Path, ring: &Keyring) {
    use secops_audit::Signer;
    println!("key file {}:", path.display());
    for id in ring.key_ids() {
        let mark = if id == ring.active_key_id() { "active" } else { "retired" };
        println!("  {id}  {mark}");
    }
}

pub(crate) async fn aws_config_if_needed(config: &Config) -> Option<aws_config::SdkConfig> {
    if setup::needs_aws(&config.audit) {
        Some(secops_aws::load_sdk_config(&secops_aws::AwsSettings::from_config(config)).await)
    } else {
        None
    }
}

/// Open the database (the private cluster by default), make sure the schema is current, and
/// run `f` with the chain; the cluster is stopped again if this command started it.
/// Walk the whole chain in the database at `pool` against the latest published checkpoint, as
/// `secops audit verify` does (the demo's last step and the report use it).
pub async fn verify_database(config: &Config, pool: &secops_store::Pool) -> Result<secops_audit::verify::Report> {
    let aws = aws_config_if_needed(config).await;
    // Verifying never creates a key file.
    let signer = setup::verifying_signer(&config.audit, aws.as_ref())
        .await
        .context("the audit keys are needed to verify the chain")?;
    let redactor = setup::redactor(&config.audit, &signer, Destination::Audit).await?;
    let checkpoint = setup::checkpoint_store(&config.audit, aws.as_ref())?.latest().await?;
    let log = PgAuditLog::new(pool.clone(), config.audit.chain.clone(), signer, redactor);
    Ok(ops::verify_table(&log, checkpoint).await?)
}

async fn with_log<T, F, Fut>(config: &Config, aws: Option<&aws_config::SdkConfig>, f: F) -> Result<T>
where
    F: FnOnce(PgAuditLog<AnySigner>) -> Fut,
    Fut: std::future::Future<Output = Result<T>>,
{
    let signer = setup::signer(&config.audit, aws).await?;
    let redactor = setup::redactor(&config.audit, &signer, Destination::Audit).await?;
    with_migrated(config, async |url: &str| {
        let pool = secops_store::db::connect_pool(url, 2).await?;
        f(PgAuditLog::new(pool, config.audit.chain.clone(), signer, redactor)).await
    })
    .await
}

fn read_payload(arg: &str) -> Result<serde_json::Value> {
    let (text, source) = if arg == "-" {
        (
            std::io::read_to_string(std::io::stdin()).context("reading the payload from standard input")?,
            "standard input".to_owned(),
        )
    } else if let Some(path) = arg.strip_prefix('@') {
        (std::fs::read_to_string(path).with_context(|| format!("reading the payload from {path}"))?, path.to_owned())
    } else {
        (arg.to_owned(), "--payload".to_owned())
    };
    serde_json::from_str(&text).with_context(|| format!("{source} is not JSON"))
}

fn read_checkpoint(path: &Path) -> Result<Checkpoint> {
    let text = std::fs::read_to_string(path).with_context(|| format!("reading the checkpoint {}", path.display()))?;
    Ok(Checkpoint::from_json(&text, &path.display().to_string())?)
}

fn print_report(report: &Report, json: bool) {
    let mut out = std::io::stdout().lock();
    if json {
        let _ = serde_json::to_writer(&mut out, report);
        let _ = writeln!(out);
        return;
    }
    let _ = writeln!(out, "{}", report.summary);
    if let Some(cp) = &report.checkpoint {
        let _ = writeln!(out, "checked against the checkpoint of seq {} ({})", cp.seq, cp.chain_hash);
    }
    for p in &report.problems {
        let seq = p.seq.map(|s| s.to_string()).unwrap_or_else(|| "-".into());
        let _ = writeln!(out, "  seq {seq:>8}  {:<20} {}", p.kind.as_str(), p.message);
        if let (Some(e), Some(f)) = (&p.expected, &p.found) {
            let _ = writeln!(out, "  {:>33}expected {e}\n  {:>33}found    {f}", "", "");
        }
    }
    if report.problem_count as usize > report.problems.len() {
        let _ = writeln!(out, "  … and {} more", report.problem_count as usize - report.problems.len());
    }
}

/// The correlation key redaction uses: derived from the audit key, so tokens match the ones in
/// the audit log and in every other process that shares that key.
pub async fn correlation_key(config: &Config) -> Result<secops_audit::redact::CorrelationKey> {
    let aws = aws_config_if_needed(config).await;
    let signer = setup::signer(&config.audit, aws.as_ref()).await?;
    Ok(secops_audit::redact::CorrelationKey::new(secops_audit::signer::derive_correlation_key(&signer).await?))
}
