//! The closed sets AWS defines for ASFF fields.
//!
//! Each is a real enum (not a string) so a typo or an unknown value is caught where the finding
//! enters, with the JSON path and the list of allowed values, instead of silently falling through
//! a `match` later in the pipeline.

use serde::de::{self, Visitor};
use std::fmt;

/// A value outside one of the closed sets, from `FromStr`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown {what} {value:?}, expected one of {}", .expected.join(", "))]
pub struct UnknownValue {
    /// What was being parsed, e.g. `severity label`.
    pub what: &'static str,
    pub value: String,
    pub expected: &'static [&'static str],
}

/// Deserializes a string that must be one of `names` and returns the matching name, so the
/// serde error for anything else is ``unknown variant `X`, expected one of `A`, `B` ``.
pub(crate) struct NameVisitor {
    pub(crate) names: &'static [&'static str],
}

impl Visitor<'_> for NameVisitor {
    type Value = &'static str;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "one of {}", self.names.join(", "))
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<&'static str, E> {
        self.names.iter().copied().find(|n| *n == v).ok_or_else(|| E::unknown_variant(v, self.names))
    }
}

/// Declares an enum over a closed set of strings, with `as_str`, `Display`, `FromStr` and serde as
/// those strings. Variants are listed in their natural order (`Ord` follows it).
macro_rules! closed_enum {
    (
        $(#[$meta:meta])*
        pub enum $name:ident ($what:literal) {
            $( $(#[$vmeta:meta])* $variant:ident = $text:literal ),+ $(,)?
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum $name {
            $( $(#[$vmeta])* $variant ),+
        }

        impl $name {
            /// Every value, in order.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];
            /// The wire names, in the same order as `ALL`.
            pub const NAMES: &'static [&'static str] = &[$($text),+];

            /// The wire name.
            pub const fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $text),+
                }
            }
        }

        impl ::std::fmt::Display for $name {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl ::std::str::FromStr for $name {
            type Err = $crate::asff::UnknownValue;

            fn from_str(s: &str) -> Result<Self, Self::Err> {
                match s {
                    $($text => Ok($name::$variant),)+
                    _ => Err($crate::asff::UnknownValue { what: $what, value: s.to_owned(), expected: Self::NAMES }),
                }
            }
        }

        impl ::serde::Serialize for $name {
            fn serialize<S: ::serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.serialize_str(self.as_str())
            }
        }

        impl<'de> ::serde::Deserialize<'de> for $name {
            fn deserialize<D: ::serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                let name = deserializer.deserialize_str($crate::asff::enums::NameVisitor { names: Self::NAMES })?;
                name.parse().map_err(|e: $crate::asff::UnknownValue| <D::Error as ::serde::de::Error>::custom(e))
            }
        }
    };
}
pub(crate) use closed_enum;

closed_enum! {
    /// `Severity.Label`. Ordered from least to most severe, so `label >= SeverityLabel::High` works.
    pub enum SeverityLabel ("severity label") {
        Informational = "INFORMATIONAL",
        Low = "LOW",
        Medium = "MEDIUM",
        High = "HIGH",
        Critical = "CRITICAL",
    }
}

/// `Severity.Normalized` outside AWS's 0..=100 range.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("severity {0} is outside the normalized range 0 to 100")]
pub struct NormalizedOutOfRange(pub i64);

impl SeverityLabel {
    /// AWS's documented mapping from `Severity.Normalized` to a label:
    /// 0 INFORMATIONAL, 1–39 LOW, 40–69 MEDIUM, 70–89 HIGH, 90–100 CRITICAL.
    pub fn from_normalized(normalized: i64) -> Result<Self, NormalizedOutOfRange> {
        match normalized {
            0 => Ok(SeverityLabel::Informational),
            1..=39 => Ok(SeverityLabel::Low),
            40..=69 => Ok(SeverityLabel::Medium),
            70..=89 => Ok(SeverityLabel::High),
            90..=100 => Ok(SeverityLabel::Critical),
            other => Err(NormalizedOutOfRange(other)),
        }
    }

    /// The `Normalized` value Security Hub fills in when a finding gives only a label
    /// (the lowest value of each band): 0, 1, 40, 70, 90.
    pub const fn normalized(self) -> i64 {
        match self {
            SeverityLabel::Informational => 0,
            SeverityLabel::Low => 1,
            SeverityLabel::Medium => 40,
            SeverityLabel::High => 70,
            SeverityLabel::Critical => 90,
        }
    }
}

closed_enum! {
    /// `Workflow.Status`: where the finding is in its investigation.
    pub enum WorkflowStatus ("workflow status") {
        New = "NEW",
        Notified = "NOTIFIED",
        Resolved = "RESOLVED",
        Suppressed = "SUPPRESSED",
    }
}

closed_enum! {
    /// `WorkflowState`, the deprecated predecessor of `Workflow.Status`; still sent by Security Hub.
    pub enum WorkflowState ("workflow state") {
        New = "NEW",
        Assigned = "ASSIGNED",
        InProgress = "IN_PROGRESS",
        Deferred = "DEFERRED",
        Resolved = "RESOLVED",
    }
}

closed_enum! {
    /// `RecordState`: ARCHIVED findings are no longer current (resource deleted, control disabled...).
    pub enum RecordState ("record state") {
        Active = "ACTIVE",
        Archived = "ARCHIVED",
    }
}

closed_enum! {
    /// `Compliance.Status` of a control check.
    pub enum ComplianceStatus ("compliance status") {
        Passed = "PASSED",
        Warning = "WARNING",
        Failed = "FAILED",
        NotAvailable = "NOT_AVAILABLE",
    }
}

closed_enum! {
    /// `VerificationState`: the reliability of the finding as judged by a person or tool.
    pub enum VerificationState ("verification state") {
        Unknown = "UNKNOWN",
        TruePositive = "TRUE_POSITIVE",
        FalsePositive = "FALSE_POSITIVE",
        BenignPositive = "BENIGN_POSITIVE",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn severity_bands_follow_aws() {
        let cases = [
            (0, SeverityLabel::Informational),
            (1, SeverityLabel::Low),
            (39, SeverityLabel::Low),
            (40, SeverityLabel::Medium),
            (69, SeverityLabel::Medium),
            (70, SeverityLabel::High),
            (89, SeverityLabel::High),
            (90, SeverityLabel::Critical),
            (100, SeverityLabel::Critical),
        ];
        for (n, label) in cases {
            assert_eq!(SeverityLabel::from_normalized(n), Ok(label), "normalized {n}");
        }
        assert_eq!(SeverityLabel::from_normalized(101), Err(NormalizedOutOfRange(101)));
        assert_eq!(SeverityLabel::from_normalized(-1), Err(NormalizedOutOfRange(-1)));
        for label in SeverityLabel::ALL {
            assert_eq!(SeverityLabel::from_normalized(label.normalized()), Ok(*label));
        }
    }

    #[test]
    fn closed_sets_reject_unknown_names_with_the_list() {
        let e = "SEVERE".parse::<SeverityLabel>().unwrap_err();
        assert_eq!(
            e.to_string(),
            r#"unknown severity label "SEVERE", expected one of INFORMATIONAL, LOW, MEDIUM, HIGH, CRITICAL"#
        );
        assert_eq!("NOT_AVAILABLE".parse::<ComplianceStatus>(), Ok(ComplianceStatus::NotAvailable));
        assert!("passed".parse::<ComplianceStatus>().is_err(), "case matters");
        let de: Result<WorkflowStatus, _> = serde_json::from_str(r#""CLOSED""#);
        assert_eq!(
            de.unwrap_err().to_string(),
            "unknown variant `CLOSED`, expected one of `NEW`, `NOTIFIED`, `RESOLVED`, `SUPPRESSED` at line 1 column 8"
        );
        let de: Result<RecordState, _> = serde_json::from_str("3");
        assert!(de.unwrap_err().to_string().starts_with("invalid type: integer `3`, expected one of ACTIVE, ARCHIVED"));
        assert!(SeverityLabel::Critical > SeverityLabel::High);
        assert_eq!(serde_json::to_string(&WorkflowState::InProgress).unwrap(), r#""IN_PROGRESS""#);
    }
}
