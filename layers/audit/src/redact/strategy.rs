//! What a redacted value is replaced with.

use super::category::Category;
use super::error::RedactError;
use hmac::{Hmac, KeyInit, Mac};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::fmt;

/// How one detected value is rewritten. Counts are in characters (Unicode scalar values), so a
/// value is never cut inside a UTF-8 sequence.
///
/// In a policy file a strategy is a map tagged by `strategy`, e.g. `{strategy: mask, keep: 4}`;
/// the ones without fields may also be written as a bare word (`remove`, `hash`,
/// `correlation_hash`, `replace`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "strategy", rename_all = "snake_case", try_from = "StrategyFields")]
pub enum Strategy {
    /// The value disappears (empty string).
    Remove,
    /// Every character but the last `keep` becomes `*`. A value of `keep` characters or fewer
    /// is masked whole, so masking never shows a short value entire.
    Mask { keep: usize },
    /// `sha256:` and the 64 lowercase hex digits of SHA-256 over the value's UTF-8 bytes.
    /// Unkeyed: anyone can hash a guess and compare, so a small space (phone numbers, SSNs,
    /// card numbers) can be searched; prefer `correlation_hash` for those.
    Hash,
    /// `[LABEL:hhhhhhhhhhhh]`: the category label and the first 12 hex digits (48 bits) of
    /// HMAC-SHA256(key, category name ‖ 0x00 ‖ value). The same value gives the same token
    /// wherever the same [`CorrelationKey`] is used, and without the key it cannot be reversed or
    /// confirmed by guessing.
    CorrelationHash,
    /// The first `keep` characters, then `…`. A value of `keep` characters or fewer becomes `…`
    /// alone, so truncation never shows a short value entire.
    Truncate { keep: usize },
    /// A fixed label; without one, the category in upper case in brackets (`[EMAIL]`).
    Replace {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        label: Option<String>,
    },
}

/// A strategy as written: the name and whichever fields were given. Serde's own tagged enums
/// let unknown fields through on strategies without fields, so the check is done here.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct StrategyFields {
    strategy: StrategyName,
    keep: Option<usize>,
    label: Option<String>,
}

#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(rename_all = "snake_case")]
enum StrategyName {
    Remove,
    Mask,
    Hash,
    CorrelationHash,
    Truncate,
    Replace,
}

impl TryFrom<StrategyFields> for Strategy {
    type Error = String;

    fn try_from(fields: StrategyFields) -> Result<Self, Self::Error> {
        let StrategyFields { strategy: name, keep, label } = fields;
        let word = match name {
            StrategyName::Remove => "remove",
            StrategyName::Mask => "mask",
            StrategyName::Hash => "hash",
            StrategyName::CorrelationHash => "correlation_hash",
            StrategyName::Truncate => "truncate",
            StrategyName::Replace => "replace",
        };
        let no_keep = |s: Strategy| match keep {
            Some(_) => Err(format!("strategy `{word}` takes no `keep` (only mask and truncate do)")),
            None => Ok(s),
        };
        let strategy = match (name, keep) {
            (StrategyName::Mask, Some(keep)) => Strategy::Mask { keep },
            (StrategyName::Truncate, Some(keep)) => Strategy::Truncate { keep },
            (StrategyName::Mask | StrategyName::Truncate, None) => {
                return Err(format!(
                    "missing field `keep`: strategy `{word}` needs a count, e.g. {{strategy: {word}, keep: 4}}"
                ))
            }
            (StrategyName::Remove, _) => no_keep(Strategy::Remove)?,
            (StrategyName::Hash, _) => no_keep(Strategy::Hash)?,
            (StrategyName::CorrelationHash, _) => no_keep(Strategy::CorrelationHash)?,
            (StrategyName::Replace, _) => return no_keep(Strategy::Replace { label }),
        };
        match label {
            Some(_) => Err(format!("strategy `{word}` takes no `label` (only replace does)")),
            None => Ok(strategy),
        }
    }
}

impl Strategy {
    /// `replace` with the category's own label.
    pub const fn replace() -> Strategy {
        Strategy::Replace { label: None }
    }

    /// `replace` with a label of the caller's choice.
    pub fn replace_with(label: impl Into<String>) -> Strategy {
        Strategy::Replace { label: Some(label.into()) }
    }

    /// The replacement for `value`, a detection of `category`.
    pub fn apply(&self, category: Category, value: &str, key: &CorrelationKey) -> String {
        match self {
            Strategy::Remove => String::new(),
            Strategy::Mask { keep } => mask(value, *keep),
            Strategy::Hash => format!("sha256:{}", hex::encode(Sha256::digest(value.as_bytes()))),
            Strategy::CorrelationHash => key.token(category, value),
            Strategy::Truncate { keep } => truncate(value, *keep),
            Strategy::Replace { label: Some(label) } => label.clone(),
            Strategy::Replace { label: None } => format!("[{}]", category.label()),
        }
    }
}

fn mask(value: &str, keep: usize) -> String {
    let chars = value.chars().count();
    let shown = if chars > keep { keep } else { 0 };
    let mut out = String::with_capacity(value.len());
    out.extend(std::iter::repeat_n('*', chars - shown));
    out.extend(value.chars().skip(chars - shown));
    out
}

fn truncate(value: &str, keep: usize) -> String {
    let mut prefix = value.char_indices().map(|(i, _)| i).skip(keep);
    match prefix.next() {
        // More than `keep` characters: show the first `keep`.
        Some(cut) => format!("{}…", &value[..cut]),
        None => "…".to_owned(),
    }
}

/// The 32-byte secret behind correlation tokens. Share it between processes that must produce
/// matching tokens; keep it out of the places the tokens go. Its `Debug` shows nothing of it.
#[derive(Clone, PartialEq, Eq)]
pub struct CorrelationKey([u8; 32]);

impl CorrelationKey {
    pub const fn new(bytes: [u8; 32]) -> CorrelationKey {
        CorrelationKey(bytes)
    }

    /// A key from 64 hex digits (the form of `SECOPS_REDACTION_KEY`).
    pub fn from_hex(hex_digits: &str) -> Result<CorrelationKey, RedactError> {
        let mut bytes = [0u8; 32];
        hex::decode_to_slice(hex_digits.trim(), &mut bytes).map_err(|e| RedactError::BadCorrelationKey {
            reason: format!("expected 64 hex digits (32 bytes): {e}"),
        })?;
        Ok(CorrelationKey(bytes))
    }

    /// A fresh random key: tokens correlate within this process only.
    pub fn random() -> Result<CorrelationKey, RedactError> {
        let mut bytes = [0u8; 32];
        getrandom::fill(&mut bytes)
            .map_err(|e| RedactError::BadCorrelationKey { reason: format!("the system random source failed: {e}") })?;
        Ok(CorrelationKey(bytes))
    }

    /// `[LABEL:` + first 12 hex digits of HMAC-SHA256(key, name ‖ 0x00 ‖ value) + `]`.
    pub fn token(&self, category: Category, value: &str) -> String {
        // HMAC pads a key shorter than the 64-byte block with zeros, so padding it here gives the
        // same MAC as the 32-byte key and needs no fallible constructor.
        let mut block = [0u8; 64];
        block[..32].copy_from_slice(&self.0);
        let mut mac = <Hmac<Sha256> as KeyInit>::new(&block.into());
        mac.update(category.name().as_bytes());
        mac.update(&[0]);
        mac.update(value.as_bytes());
        let digest = mac.finalize().into_bytes();
        format!("[{}:{}]", category.label(), hex::encode(&digest[..6]))
    }
}

impl From<[u8; 32]> for CorrelationKey {
    fn from(bytes: [u8; 32]) -> Self {
        CorrelationKey(bytes)
    }
}

impl fmt::Debug for CorrelationKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("CorrelationKey(..)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(b: u8) -> CorrelationKey {
        CorrelationKey::new([b; 32])
    }

    #[test]
    fn remove_leaves_nothing() {
        assert_eq!(Strategy::Remove.apply(Category::Email, "a@b.io", &key(1)), "");
    }

    #[test]
    fn mask_keeps_the_last_characters_and_counts_characters_not_bytes() {
        let mask4 = Strategy::Mask { keep: 4 };
        assert_eq!(mask4.apply(Category::PaymentCard, "4111 1111 1111 1111", &key(1)), "***************1111");
        assert_eq!(mask4.apply(Category::Email, "jösé@ex.io", &key(1)), "******x.io");
        assert_eq!(Strategy::Mask { keep: 2 }.apply(Category::Phone, "ééé", &key(1)), "*éé");
        // Short values are masked whole rather than shown entire.
        assert_eq!(mask4.apply(Category::Password, "abcd", &key(1)), "****");
        assert_eq!(mask4.apply(Category::Password, "", &key(1)), "");
        assert_eq!(Strategy::Mask { keep: 0 }.apply(Category::Password, "abc", &key(1)), "***");
    }

    #[test]
    fn truncate_keeps_the_first_characters() {
        let t = Strategy::Truncate { keep: 3 };
        assert_eq!(t.apply(Category::Email, "alice@example.com", &key(1)), "ali…");
        assert_eq!(t.apply(Category::Email, "日本語のメール", &key(1)), "日本語…");
        assert_eq!(t.apply(Category::Email, "abc", &key(1)), "…");
        assert_eq!(Strategy::Truncate { keep: 0 }.apply(Category::Email, "abc", &key(1)), "…");
    }

    #[test]
    fn replace_uses_the_label_or_the_category() {
        assert_eq!(Strategy::replace().apply(Category::PaymentCard, "x", &key(1)), "[PAYMENT_CARD]");
        assert_eq!(Strategy::replace_with("<phone>").apply(Category::Phone, "x", &key(1)), "<phone>");
    }

    #[test]
    fn hash_is_sha256_hex() {
        assert_eq!(
            Strategy::Hash.apply(Category::Email, "abc", &key(1)),
            "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }

    #[test]
    fn correlation_hash_is_stable_per_key_and_category_and_matches_hmac() {
        let s = Strategy::CorrelationHash;
        let a = s.apply(Category::Email, "alice@example.com", &key(7));
        assert_eq!(a, s.apply(Category::Email, "alice@example.com", &key(7)));
        assert_ne!(a, s.apply(Category::Email, "alice@example.com", &key(8)));
        assert_ne!(a, s.apply(Category::Email, "bob@example.com", &key(7)));
        // The category is part of the MAC input, so one value gives different tokens per kind.
        let as_phone = s.apply(Category::Phone, "alice@example.com", &key(7));
        assert_ne!(a[a.find(':').unwrap()..], as_phone[as_phone.find(':').unwrap()..]);

        let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(&[7u8; 32]).unwrap();
        mac.update(b"email\0alice@example.com");
        let expected = hex::encode(&mac.finalize().into_bytes()[..6]);
        assert_eq!(a, format!("[EMAIL:{expected}]"));
    }

    #[test]
    fn key_parses_from_hex_and_never_prints() {
        let k = CorrelationKey::from_hex(&"ab".repeat(32)).unwrap();
        assert_eq!(k, CorrelationKey::new([0xab; 32]));
        assert_eq!(format!("{k:?}"), "CorrelationKey(..)");
        let e = CorrelationKey::from_hex("abc").unwrap_err().to_string();
        assert!(e.contains("64 hex digits"), "{e}");
        assert_ne!(CorrelationKey::random().unwrap(), CorrelationKey::random().unwrap());
    }

    #[test]
    fn strategies_read_from_tagged_maps() {
        let s: Strategy = serde_json::from_str(r#"{"strategy":"mask","keep":3}"#).unwrap();
        assert_eq!(s, Strategy::Mask { keep: 3 });
        let s: Strategy = serde_json::from_str(r#"{"strategy":"replace"}"#).unwrap();
        assert_eq!(s, Strategy::replace());
        assert!(serde_json::from_str::<Strategy>(r#"{"strategy":"mask","keep":3,"x":1}"#).is_err());
    }
}
