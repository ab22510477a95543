//! The redactor: a policy and a correlation key applied to what the detectors find.

use super::category::Category;
use super::policy::Policy;
use super::scan::{detect, Detection};
use super::strategy::CorrelationKey;
use std::borrow::Cow;

/// Redacts text and JSON for one destination. Cheap to build: the compiled detectors are shared
/// by every redactor in the process.
#[derive(Debug, Clone)]
pub struct Redactor {
    policy: Policy,
    key: CorrelationKey,
}

impl Redactor {
    pub fn new(policy: Policy, key: CorrelationKey) -> Redactor {
        Redactor { policy, key }
    }

    pub fn policy(&self) -> &Policy {
        &self.policy
    }

    /// Every sensitive value in `text`, whatever the policy does with it: byte ranges, sorted,
    /// non-overlapping. Detection works line by line, except that a PEM private key block spans
    /// lines.
    pub fn detect(&self, text: &str) -> Vec<Detection> {
        detect(text)
    }

    /// `text` with every detection the policy redacts rewritten by its strategy; borrowed
    /// unchanged when there is nothing to redact.
    pub fn redact_text<'a>(&self, text: &'a str) -> Cow<'a, str> {
        let mut redacted: Option<String> = None;
        let mut copied_to = 0;
        for detection in detect(text) {
            let Some(strategy) = self.policy.strategy(detection.category) else { continue };
            let out = redacted.get_or_insert_with(|| String::with_capacity(text.len()));
            out.push_str(&text[copied_to..detection.start]);
            out.push_str(&strategy.apply(detection.category, &text[detection.range()], &self.key));
            copied_to = detection.end;
        }
        match redacted {
            None => Cow::Borrowed(text),
            Some(mut out) => {
                out.push_str(&text[copied_to..]);
                Cow::Owned(out)
            }
        }
    }

    /// A copy of `value` with every string leaf redacted as text. Object keys are kept as they
    /// are. A string or number under a key that names a secret (`password`, `passwd`, `pwd`,
    /// `secret`, `client_secret`, `token`, `access_token`, `refresh_token`, `api_key`,
    /// `apikey`, `authorization`, `private_key`, `secret_access_key`…, any case, `-` and `_`
    /// alike, also as the ending of a longer key such as `db_password`) is redacted whole as
    /// that secret's category, however harmless it looks; an empty string stays empty.
    ///
    /// Numbers elsewhere are left alone: a card number or SSN stored as a JSON *number* (not a
    /// string) is not detected.
    pub fn redact_json(&self, value: &serde_json::Value) -> serde_json::Value {
        super::json::redact_value(self, value)
    }

    /// `value` as one detection of `category`, or `None` when the policy keeps the category.
    pub(crate) fn redact_whole(&self, category: Category, value: &str) -> Option<String> {
        self.policy.strategy(category).map(|s| s.apply(category, value, &self.key))
    }
}
