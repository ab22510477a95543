//! `secops-audit`, the trust layer: the HMAC-SHA256 signed, hash-chained audit log (append,
//! checkpoint, verify) and per-destination redaction of personal data and secrets.
#![forbid(unsafe_code)]

pub mod redact;
