//! Per-destination redaction of personal data and secrets, so that nothing sensitive reaches
//! Slack, Jira, logs or the exported audit log.
//!
//! - [`Category`]: what is found (emails, phone numbers, IP addresses, SSNs, payment cards,
//!   dates of birth and licence numbers near their labels, and credentials: AWS keys, API keys,
//!   bearer tokens, JWTs, private keys, passwords, Slack and GitHub tokens).
//! - [`Strategy`]: what a found value becomes (removed, masked, hashed, a keyed correlation
//!   token, truncated, or a label).
//! - [`Policy`]: a strategy (or `keep`) per category for a [`Destination`], with defaults per
//!   destination and YAML overrides ([`Policy::load`]).
//! - [`Redactor`]: applies a policy to text ([`Redactor::redact_text`]) and JSON
//!   ([`Redactor::redact_json`]); [`Redactor::detect`] only reports what it finds.
//!
//! ```
//! use secops_audit::redact::{CorrelationKey, Destination, Policy, Redactor};
//!
//! let redactor = Redactor::new(Policy::default_for(Destination::Jira), CorrelationKey::new([7; 32]));
//! let text = "login by alice@example.com from 10.1.2.3 with password=hunter2";
//! assert_eq!(redactor.redact_text(text), "login by [EMAIL] from 10.1.2.3 with password=[PASSWORD]");
//! ```
//!
//! What is not detected: values split across lines (except PEM blocks), numbers without the
//! separators their category requires (a bare 9-digit SSN, a phone number without separators
//! and without `+`), 40-character AWS secret keys without a key name before them, card
//! numbers and SSNs stored as JSON numbers, and personal names and street addresses.
//! Version strings shaped like IPv4 addresses (`1.2.3.4`) are valid addresses and are reported.

mod category;
mod detectors;
mod error;
mod json;
mod policy;
mod redactor;
mod scan;
mod strategy;

pub use category::{Category, UnknownCategory};
pub use error::RedactError;
pub use policy::{Destination, Policy, Rule};
pub use redactor::Redactor;
pub use scan::Detection;
pub use strategy::{CorrelationKey, Strategy};
