//! Security Hub control ids such as `EC2.13`, `S3.2`, `IAM.21`, `CloudFront.1`.

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;
use std::str::FromStr;

/// A Security Hub security control id, `<Service>.<number>`: the key of the remediation
/// catalogue and of the enabled-controls and suppression tables.
///
/// The service is an ASCII letter followed by letters and digits (`EC2`, `S3`, `CloudFront`);
/// the number has no sign and no leading zero, so `Display` gives back exactly what was parsed.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ControlId {
    text: String,
    dot: usize,
    number: u32,
}

/// Why a string is not a control id.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid control id {value:?}: {reason} (expected <Service>.<number>, such as EC2.13 or CloudFront.1)")]
pub struct ControlIdError {
    pub value: String,
    pub reason: &'static str,
}

impl ControlId {
    /// The longest service part accepted; real ones are at most ~20 characters.
    const MAX_SERVICE_LEN: usize = 64;

    pub fn parse(s: &str) -> Result<Self, ControlIdError> {
        let fail = |reason| ControlIdError { value: s.to_owned(), reason };
        let (service, number) = s.split_once('.').ok_or_else(|| fail("no '.' between service and number"))?;
        let mut chars = service.chars();
        match chars.next() {
            None => return Err(fail("the service part is empty")),
            Some(c) if !c.is_ascii_alphabetic() => return Err(fail("the service must start with a letter")),
            Some(_) => {}
        }
        if !chars.all(|c| c.is_ascii_alphanumeric()) {
            return Err(fail("the service may only contain letters and digits"));
        }
        if service.len() > Self::MAX_SERVICE_LEN {
            return Err(fail("the service part is too long"));
        }
        if number.is_empty() || !number.bytes().all(|b| b.is_ascii_digit()) {
            return Err(fail("the number part must be digits only"));
        }
        if number.starts_with('0') {
            return Err(fail("the number must not start with 0"));
        }
        let parsed: u32 = number.parse().map_err(|_| fail("the number is too large"))?;
        Ok(ControlId { text: s.to_owned(), dot: service.len(), number: parsed })
    }

    /// `EC2` in `EC2.13`.
    pub fn service(&self) -> &str {
        &self.text[..self.dot]
    }

    /// `13` in `EC2.13`.
    pub fn number(&self) -> u32 {
        self.number
    }

    pub fn as_str(&self) -> &str {
        &self.text
    }
}

impl FromStr for ControlId {
    type Err = ControlIdError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        ControlId::parse(s)
    }
}

impl fmt::Display for ControlId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

impl AsRef<str> for ControlId {
    fn as_ref(&self) -> &str {
        &self.text
    }
}

impl Serialize for ControlId {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.text)
    }
}

impl<'de> Deserialize<'de> for ControlId {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let s = String::deserialize(deserializer)?;
        ControlId::parse(&s).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn good_ids_parse_and_print_back() {
        for (s, service, number) in [
            ("EC2.13", "EC2", 13),
            ("S3.2", "S3", 2),
            ("IAM.21", "IAM", 21),
            ("CloudFront.1", "CloudFront", 1),
            ("SecretsManager.4", "SecretsManager", 4),
        ] {
            let id = ControlId::parse(s).unwrap();
            assert_eq!((id.service(), id.number(), id.to_string().as_str()), (service, number, s));
        }
    }

    #[test]
    fn bad_ids_say_why() {
        for (s, reason) in [
            ("", "no '.' between service and number"),
            ("EC2", "no '.' between service and number"),
            (".13", "the service part is empty"),
            ("2EC.1", "the service must start with a letter"),
            ("EC-2.1", "the service may only contain letters and digits"),
            ("EC2.", "the number part must be digits only"),
            ("EC2.1a", "the number part must be digits only"),
            ("EC2.1.2", "the number part must be digits only"),
            ("EC2.-1", "the number part must be digits only"),
            ("EC2.013", "the number must not start with 0"),
            ("EC2.0", "the number must not start with 0"),
            ("EC2.99999999999", "the number is too large"),
        ] {
            assert_eq!(ControlId::parse(s).unwrap_err().reason, reason, "{s:?}");
        }
    }

    #[test]
    fn serde_is_the_plain_string() {
        let id: ControlId = serde_json::from_str(r#""S3.8""#).unwrap();
        assert_eq!(serde_json::to_string(&id).unwrap(), r#""S3.8""#);
        let err = serde_json::from_str::<ControlId>(r#""S3""#).unwrap_err().to_string();
        assert!(err.starts_with("invalid control id \"S3\""), "{err}");
    }
}
