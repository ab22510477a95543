//! The workloads behind the audit chain's budgets (issue 4), shared by the criterion bench
//! (`benches/chain.rs`) and `secops bench`, so both measure the same thing.

use hmac::{Hmac, Mac};
use serde_json::json;
use sha2::{Digest, Sha256};

use crate::jsonl::write_event;
use crate::redact::{CorrelationKey, Destination, Policy, Redactor};
use crate::{AuditError, AuditSink, Keyring, MemoryAuditLog, NewEvent};

/// The audit policy's redactor with a fixed correlation key.
pub fn redactor() -> Redactor {
    Redactor::new(Policy::default_for(Destination::Audit), CorrelationKey::new([5; 32]))
}

/// A realistic event: what decide records for one routed finding.
pub fn event(i: usize) -> NewEvent {
    NewEvent::new(
        "findings.ticket",
        "statemachine/findings execution arn:aws:states:eu-west-1:123456789012:execution:findings:0b6f",
        json!({
            "finding": format!("arn:aws:securityhub:eu-west-1:123456789012:subscription/aws-foundational-security-best-practices/v/1.0.0/S3.8/finding/{i:08}"),
            "control": "S3.8", "account": "123456789012", "region": "eu-west-1",
            "route": "ticket", "score": 71.5, "reasons": ["bucket is public", "no exemption tag"],
        }),
    )
}

/// A JSONL export of a chain of `events` such events, signed with `ring`.
pub async fn export(ring: &Keyring, events: usize) -> Result<Vec<u8>, AuditError> {
    let log = MemoryAuditLog::new(ring.clone(), redactor());
    for start in (0..events).step_by(1000) {
        log.append((start..(start + 1000).min(events)).map(event).collect()).await?;
    }
    let mut out = Vec::with_capacity(events * 900);
    for e in log.events().await {
        write_event(&mut out, &e)?;
    }
    Ok(out)
}

/// The floor verification is compared with: SHA-256 plus HMAC-SHA256 of every line, nothing
/// else. Returns a byte folded from every digest so the work cannot be optimised away.
pub fn raw_hash_and_mac(lines: &[&[u8]], mac: &Hmac<Sha256>) -> u8 {
    let mut acc = 0u8;
    for line in lines {
        acc ^= Sha256::digest(line)[0];
        let mut m = mac.clone();
        m.update(line);
        acc ^= m.finalize().into_bytes()[0];
    }
    acc
}
