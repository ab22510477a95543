//! One audit event and exactly what is hashed and signed.
//!
//! - `event_hash`    = hex SHA-256 of the RFC 8785 canonical JSON of the (redacted) payload.
//! - signed message  = `event_id|timestamp|event_type|event_hash|previous_hash|seq` (UTF-8).
//! - `signature`     = hex HMAC-SHA256 of the signed message with the key named by `key_id`.
//! - `chain_hash`    = hex SHA-256 of `signed message|actor|key_id|signature`, so the actor and
//!   key id are bound into the chain even though the signature does not cover them.
//! - `previous_hash` = the prior event's `chain_hash`; [`GENESIS_HASH`] for seq 0.
//!
//! No field of the signed message can contain `|`: ids are UUIDs, timestamps RFC 3339, hashes
//! hex, seq a number, and event types are checked by [`check_event_type`]; key ids are checked
//! by [`check_key_id`]. The actor is the only free text and comes before two `|`-free fields,
//! so the chain-hash input splits one way only.

use crate::error::AuditError;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest, Sha256};
use time::OffsetDateTime;

/// The `previous_hash` of seq 0: 64 zeros, a value no SHA-256 output is expected to take.
pub const GENESIS_HASH: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// What a writer hands the chain: the rest (seq, ids, hashes, signature) the chain assigns.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NewEvent {
    pub event_type: String,
    pub actor: String,
    pub payload: Value,
}

impl NewEvent {
    pub fn new(event_type: impl Into<String>, actor: impl Into<String>, payload: Value) -> Self {
        NewEvent { event_type: event_type.into(), actor: actor.into(), payload }
    }
}

/// A stored event, as in the table and, field for field, in a JSONL export (where the payload
/// is written in its canonical form).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AuditEvent {
    pub seq: i64,
    pub event_id: String,
    pub timestamp: String,
    pub event_type: String,
    pub actor: String,
    pub key_id: String,
    pub payload: Value,
    pub event_hash: String,
    pub previous_hash: String,
    pub signature: String,
    pub chain_hash: String,
}

/// `event_type`: 1-128 of `a-z A-Z 0-9 . _ : -`, so it can never split the signed message.
pub fn check_event_type(event_type: &str) -> Result<(), AuditError> {
    let ok = (1..=128).contains(&event_type.len())
        && event_type.bytes().all(|b| b.is_ascii_alphanumeric() || b"._:-".contains(&b));
    if ok {
        Ok(())
    } else {
        Err(AuditError::InvalidInput(format!(
            "audit event type {event_type:?} is invalid: expected 1-128 of A-Z a-z 0-9 . _ : -"
        )))
    }
}

/// Key ids are KMS ARNs or key ids, or local key names: printable, no `|`, at most 2048 bytes.
pub fn check_key_id(key_id: &str) -> Result<(), AuditError> {
    let ok = (1..=2048).contains(&key_id.len()) && key_id.bytes().all(|b| b.is_ascii_graphic() && b != b'|');
    if ok {
        Ok(())
    } else {
        Err(AuditError::Key(format!("key id {key_id:?} is invalid: expected printable ASCII without '|'")))
    }
}

/// An actor is free text, but one line of it: 1-512 chars, no control characters.
pub fn check_actor(actor: &str) -> Result<(), AuditError> {
    let ok = (1..=512).contains(&actor.chars().count()) && !actor.chars().any(char::is_control);
    if ok {
        Ok(())
    } else {
        Err(AuditError::InvalidInput(format!(
            "audit actor {actor:?} is invalid: expected 1-512 characters without control characters"
        )))
    }
}

/// RFC 8785 canonical JSON. Numbers follow ECMAScript's shortest form, keys sort by UTF-16 code
/// units, so `{"b":1.0,"a":1}` and `{"a":1,"b":1}` canonicalize (and hash) the same.
pub fn canonical_json(value: &Value) -> Result<String, AuditError> {
    serde_json_canonicalizer::to_string(value)
        .map_err(|e| AuditError::InvalidInput(format!("payload cannot be canonicalized (RFC 8785): {e}")))
}

pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// PostgreSQL `jsonb` cannot hold U+0000, so it is replaced by U+FFFD (in keys too) before the
/// payload is hashed: what is stored is exactly what was signed.
pub fn storable_payload(value: Value) -> Value {
    fn needs(v: &Value) -> bool {
        match v {
            Value::String(s) => s.contains('\0'),
            Value::Array(a) => a.iter().any(needs),
            Value::Object(o) => o.iter().any(|(k, v)| k.contains('\0') || needs(v)),
            _ => false,
        }
    }
    fn fix(v: Value) -> Value {
        match v {
            Value::String(s) => Value::String(s.replace('\0', "\u{FFFD}")),
            Value::Array(a) => Value::Array(a.into_iter().map(fix).collect()),
            Value::Object(o) => {
                Value::Object(o.into_iter().map(|(k, v)| (k.replace('\0', "\u{FFFD}"), fix(v))).collect())
            }
            other => other,
        }
    }
    if needs(&value) {
        fix(value)
    } else {
        value
    }
}

/// The timestamp format of the chain: RFC 3339, UTC, always six fraction digits and `Z`, so
/// exports are easy to diff and sort.
pub fn format_timestamp(at: OffsetDateTime) -> String {
    const FORMAT: &[time::format_description::BorrowedFormatItem<'static>] =
        time::macros::format_description!("[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:6]Z");
    at.to_offset(time::UtcOffset::UTC).format(FORMAT).unwrap_or_else(|_| "1970-01-01T00:00:00.000000Z".to_owned())
}

/// `event_id|timestamp|event_type|event_hash|previous_hash|seq`
pub fn signed_message(
    event_id: &str,
    timestamp: &str,
    event_type: &str,
    event_hash: &str,
    previous_hash: &str,
    seq: i64,
) -> String {
    format!("{event_id}|{timestamp}|{event_type}|{event_hash}|{previous_hash}|{seq}")
}

/// `signed message|actor|key_id|signature`, hashed, as hex.
pub fn chain_hash(signed_message: &str, actor: &str, key_id: &str, signature_hex: &str) -> String {
    hex::encode(chain_hash_bytes(signed_message, actor, key_id, signature_hex))
}

/// [`chain_hash`] as raw bytes: the verifier compares bytes, not hex strings.
pub fn chain_hash_bytes(signed_message: &str, actor: &str, key_id: &str, signature_hex: &str) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update(signed_message.as_bytes());
    h.update(b"|");
    h.update(actor.as_bytes());
    h.update(b"|");
    h.update(key_id.as_bytes());
    h.update(b"|");
    h.update(signature_hex.as_bytes());
    h.finalize().into()
}

/// A 64-digit hex hash as bytes; None when it is not one.
pub fn hash_bytes(hex_text: &str) -> Option<[u8; 32]> {
    let mut out = [0u8; 32];
    hex::decode_to_slice(hex_text, &mut out).ok().map(|_| out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn canonical_json_ignores_key_order_and_number_spelling() {
        let a: Value = serde_json::from_str(r#"{"b": 1.0, "a": [1e2, "x"], "c": {"z": null, "y": true}}"#).unwrap();
        let b: Value = serde_json::from_str(r#"{"c": {"y": true, "z": null}, "a": [100, "x"], "b": 1}"#).unwrap();
        assert_eq!(canonical_json(&a).unwrap(), r#"{"a":[100,"x"],"b":1,"c":{"y":true,"z":null}}"#);
        assert_eq!(canonical_json(&a).unwrap(), canonical_json(&b).unwrap());
    }

    #[test]
    fn canonical_json_matches_the_rfc_8785_example() {
        // RFC 8785 §3.2.2: the sample input and its canonical form.
        let input = r#"{
          "numbers": [333333333.33333329, 1E30, 4.50, 2e-3, 0.000000000000000000000000001],
          "string": "\u20ac$\u000F\u000aA'\u0042\u0022\u005c\\\"\/",
          "literals": [null, true, false]
        }"#;
        let value: Value = serde_json::from_str(input).unwrap();
        assert_eq!(
            canonical_json(&value).unwrap(),
            "{\"literals\":[null,true,false],\"numbers\":[333333333.3333333,1e+30,4.5,0.002,1e-27],\"string\":\"€$\\u000f\\nA'B\\\"\\\\\\\\\\\"/\"}"
        );
    }

    #[test]
    fn canonical_json_sorts_keys_by_utf16_code_units() {
        // RFC 8785 §3.2.3: U+10000 (surrogates D800 DC00) sorts before U+FB33 in UTF-16.
        let value = json!({"\u{fb33}": 1, "\u{10000}": 2, "a": 3});
        assert_eq!(canonical_json(&value).unwrap(), "{\"a\":3,\"\u{10000}\":2,\"\u{fb33}\":1}");
    }

    #[test]
    fn timestamps_are_utc_with_six_fraction_digits() {
        let at = OffsetDateTime::from_unix_timestamp_nanos(1_795_000_000_123_456_789).unwrap();
        assert_eq!(format_timestamp(at), "2026-11-18T11:06:40.123456Z");
        let whole = OffsetDateTime::from_unix_timestamp(1_795_000_000).unwrap();
        assert_eq!(format_timestamp(whole), "2026-11-18T11:06:40.000000Z");
        let tenth = OffsetDateTime::from_unix_timestamp_nanos(1_795_000_000_100_000_000).unwrap();
        assert_eq!(format_timestamp(tenth), "2026-11-18T11:06:40.100000Z");
    }

    #[test]
    fn nothing_in_the_signed_message_can_contain_a_separator() {
        assert!(check_event_type("findings.failure.ticketing").is_ok());
        assert!(check_event_type("a|b").is_err());
        assert!(check_event_type("").is_err());
        assert!(check_key_id("arn:aws:kms:us-east-1:123456789012:key/abc").is_ok());
        assert!(check_key_id("k|1").is_err());
        assert!(check_actor("statemachine:findings execution:arn:aws:states:…").is_ok());
        assert!(check_actor("two\nlines").is_err());
    }

    #[test]
    fn nul_characters_become_replacement_characters_everywhere() {
        let v = storable_payload(json!({"a\u{0}": ["x\u{0}y", 1]}));
        assert_eq!(v, json!({"a\u{FFFD}": ["x\u{FFFD}y", 1]}));
    }
}
