//! What the CLI and the `audit` function do with a chain: verify it (from the table or from an
//! export), export it, and publish a checkpoint once what it vouches for has been verified.

use crate::checkpoint::{Checkpoint, CheckpointStore};
use crate::error::AuditError;
use crate::jsonl::{verify_lines, write_event};
use crate::pg::PgAuditLog;
use crate::signer::Signer;
use crate::verify::{Report, Verifier};
use std::io::{BufRead, Write};

/// A checkpoint of another chain cannot vouch for this one: refuse it rather than report nonsense.
pub fn checkpoint_for_chain(
    checkpoint: Option<Checkpoint>,
    chain: &str,
    source: &str,
) -> Result<Option<Checkpoint>, AuditError> {
    match checkpoint {
        Some(cp) if cp.chain != chain => Err(AuditError::Checkpoint(format!(
            "{source} holds a checkpoint of chain {:?}, not of chain {chain:?}",
            cp.chain
        ))),
        other => Ok(other),
    }
}

/// Walk the whole chain in the table against `checkpoint` (if any).
pub async fn verify_table<S: Signer>(
    log: &PgAuditLog<S>,
    checkpoint: Option<Checkpoint>,
) -> Result<Report, AuditError> {
    let checkpoint = checkpoint_for_chain(checkpoint, log.chain(), "the checkpoint")?;
    let mut verifier = Verifier::new(log.signer(), checkpoint).await?;
    feed_table(log, &mut verifier, 0).await?;
    verifier.finish().await
}

async fn feed_table<S: Signer>(
    log: &PgAuditLog<S>,
    verifier: &mut Verifier<'_, S>,
    from: i64,
) -> Result<(), AuditError> {
    let mut pages = log.events_from(from);
    loop {
        let page = pages.next_page().await?;
        if page.is_empty() {
            return Ok(());
        }
        for event in &page {
            verifier.push(event.view()).await?;
        }
    }
}

/// Verify an export offline: only the keys (or KMS access) are needed.
pub async fn verify_export<S: Signer>(
    input: &mut impl BufRead,
    source: &str,
    signer: &S,
    checkpoint: Option<Checkpoint>,
) -> Result<Report, AuditError> {
    let mut verifier = Verifier::new(signer, checkpoint).await?;
    verify_lines(input, source, &mut verifier).await?;
    verifier.finish().await
}

/// Write the chain as JSONL, in seq order; returns the number of events written.
pub async fn export<S: Signer>(log: &PgAuditLog<S>, out: &mut impl Write) -> Result<u64, AuditError> {
    let mut pages = log.events_from(0);
    let mut written = 0;
    loop {
        let page = pages.next_page().await?;
        if page.is_empty() {
            break;
        }
        for event in &page {
            write_event(out, event)?;
            written += 1;
        }
    }
    out.flush().map_err(|e| AuditError::io("export", e))?;
    Ok(written)
}

/// What publishing a checkpoint did.
#[derive(Debug, Clone, serde::Serialize)]
pub struct CheckpointOutcome {
    /// The new checkpoint; None when the chain is empty.
    pub checkpoint: Option<Checkpoint>,
    /// How many events were verified before it was signed.
    pub verified_events: u64,
    pub published_to: String,
    pub report: Report,
}

/// Verify what changed since the latest checkpoint (everything, when there is none), and only
/// if that is intact, sign and publish a checkpoint of the head that was verified. A chain with
/// problems gets no new checkpoint: the report is returned for the caller to raise.
pub async fn checkpoint<S: Signer, C: CheckpointStore>(
    log: &PgAuditLog<S>,
    store: &C,
) -> Result<CheckpointOutcome, AuditError> {
    let latest = checkpoint_for_chain(store.latest().await?, log.chain(), &store.describe())?;
    let mut verifier = Verifier::new(log.signer(), latest).await?;
    let from = verifier.resume_from_checkpoint().unwrap_or(0);
    feed_table(log, &mut verifier, from).await?;
    let report = verifier.finish().await?;
    let checkpoint = match (&report.head, report.ok) {
        (Some(head), true) => {
            let cp = Checkpoint::sign(log.signer(), log.chain(), head.seq, &head.chain_hash).await?;
            store.publish(&cp).await?;
            Some(cp)
        }
        _ => None,
    };
    Ok(CheckpointOutcome { checkpoint, verified_events: report.events, published_to: store.describe(), report })
}
