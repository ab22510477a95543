//! AWS's constraints on a finding that the type system does not already enforce.

use super::error::{quoted, AsffProblem};
use super::AwsSecurityFinding;
use serde_json::Number;
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

/// The only ASFF schema version AWS has published.
pub const SCHEMA_VERSION: &str = "2018-10-08";

/// The valid first segments of a `Types` entry.
pub const FINDING_TYPE_NAMESPACES: [&str; 5] =
    ["Software and Configuration Checks", "TTPs", "Effects", "Unusual Behaviors", "Sensitive Data Identifications"];

const MAX_ID_LEN: usize = 512;
const MAX_ARN_LEN: usize = 2048;
const MAX_TITLE_LEN: usize = 256;
const MAX_DESCRIPTION_LEN: usize = 1024;
const MAX_NOTE_LEN: usize = 512;
const MAX_TYPES: usize = 50;
const MAX_RESOURCES: usize = 32;

/// Parses an ASFF timestamp (RFC 3339, e.g. `2026-03-01T12:00:00.000Z`).
pub fn parse_timestamp(s: &str) -> Result<OffsetDateTime, time::error::Parse> {
    OffsetDateTime::parse(s, &Rfc3339)
}

/// The message for a timestamp that does not parse.
pub(crate) fn timestamp_message(value: &str, err: &time::error::Parse) -> String {
    format!("must be an RFC 3339 timestamp such as 2026-03-01T12:00:00.000Z, got {} ({err})", quoted(value))
}

#[derive(Default)]
struct Problems(Vec<AsffProblem>);

impl Problems {
    fn add(&mut self, path: impl Into<String>, message: impl Into<String>) {
        self.0.push(AsffProblem::new(path, message));
    }

    /// Non-empty and at most `max` characters.
    fn text(&mut self, path: &str, value: &str, max: usize) {
        let len = value.chars().count();
        if value.trim().is_empty() {
            self.add(path, "must not be empty");
        } else if len > max {
            self.add(path, format!("must be at most {max} characters, got {len}"));
        }
    }

    fn timestamp(&mut self, path: &str, value: &str) {
        if let Err(e) = parse_timestamp(value) {
            self.add(path, timestamp_message(value, &e));
        }
    }

    /// A whole number from 0 to 100 (Normalized, Confidence, Criticality).
    fn percent(&mut self, path: &str, value: Option<&Number>) {
        if let Some(n) = value {
            if !whole_number(n).is_some_and(|i| (0..=100).contains(&i)) {
                self.add(path, format!("must be a whole number from 0 to 100, got {n}"));
            }
        }
    }

    fn finding_type(&mut self, path: &str, value: &str) {
        let mut segments = value.splitn(3, '/');
        let namespace = segments.next().unwrap_or_default();
        if !FINDING_TYPE_NAMESPACES.contains(&namespace) {
            self.add(
                path,
                format!(
                    "must be namespace/category/classifier with a namespace of {}, got {}",
                    FINDING_TYPE_NAMESPACES.join(", "),
                    quoted(value)
                ),
            );
        } else if segments.any(|s| s.trim().is_empty()) {
            self.add(path, format!("has an empty category or classifier: {}", quoted(value)));
        }
    }
}

/// `arn:<partition>:<service>:<region>:<account>:<resource>`, region and account may be empty.
pub(crate) fn is_arn(s: &str) -> bool {
    let parts: Vec<&str> = s.splitn(6, ':').collect();
    parts.len() == 6 && parts[0] == "arn" && !parts[1].is_empty() && !parts[2].is_empty() && !parts[5].is_empty()
}

/// `7` and `7.0` are both the whole number 7; `7.5` is not whole.
pub(crate) fn whole_number(n: &Number) -> Option<i64> {
    n.as_i64().or_else(|| {
        let f = n.as_f64()?;
        // The range check keeps the cast exact.
        (f.fract() == 0.0 && f.abs() < 9.0e15).then_some(f as i64)
    })
}

pub(crate) fn is_account_id(s: &str) -> bool {
    s.len() == 12 && s.bytes().all(|b| b.is_ascii_digit())
}

fn is_schema_date(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() == 10 && b.iter().enumerate().all(|(i, c)| if i == 4 || i == 7 { *c == b'-' } else { c.is_ascii_digit() })
}

impl AwsSecurityFinding {
    /// Checks the constraints AWS puts on findings that parsing alone does not: lengths,
    /// formats, ranges and counts. Returns every problem found, each with its JSON path.
    ///
    /// The closed sets (`Severity.Label`, `Compliance.Status`, `Workflow.Status`, `RecordState`,
    /// ...) and the presence of the required attributes are already enforced by parsing.
    pub fn validate(&self) -> Result<(), Vec<AsffProblem>> {
        let mut p = Problems::default();

        if !is_schema_date(&self.schema_version) {
            p.add(
                "SchemaVersion",
                format!("must be a schema date such as {SCHEMA_VERSION:?}, got {}", quoted(&self.schema_version)),
            );
        }
        p.text("Id", &self.id, MAX_ID_LEN);
        if !is_arn(&self.product_arn) || self.product_arn.len() > MAX_ARN_LEN {
            p.add(
                "ProductArn",
                format!(
                    "must be an ARN such as arn:aws:securityhub:us-east-1::product/aws/guardduty, got {}",
                    quoted(&self.product_arn)
                ),
            );
        }
        p.text("GeneratorId", &self.generator_id, MAX_ID_LEN);
        if !is_account_id(&self.aws_account_id) {
            p.add(
                "AwsAccountId",
                format!(
                    "must be 12 digits, got {} ({} characters)",
                    quoted(&self.aws_account_id),
                    self.aws_account_id.chars().count()
                ),
            );
        }

        if self.types.is_empty() {
            p.add("Types", "must have at least one finding type");
        } else if self.types.len() > MAX_TYPES {
            p.add("Types", format!("must have at most {MAX_TYPES} entries, got {}", self.types.len()));
        }
        for (i, t) in self.types.iter().enumerate() {
            p.finding_type(&format!("Types[{i}]"), t);
        }

        p.timestamp("CreatedAt", &self.created_at);
        p.timestamp("UpdatedAt", &self.updated_at);
        for (path, value) in [
            ("FirstObservedAt", &self.first_observed_at),
            ("LastObservedAt", &self.last_observed_at),
            ("ProcessedAt", &self.processed_at),
        ] {
            if let Some(v) = value {
                p.timestamp(path, v);
            }
        }

        if self.severity.label.is_none() && self.severity.normalized.is_none() {
            p.add("Severity", "must have Label or Normalized");
        }
        p.percent("Severity.Normalized", self.severity.normalized.as_ref());
        p.percent("Confidence", self.confidence.as_ref());
        p.percent("Criticality", self.criticality.as_ref());

        p.text("Title", &self.title, MAX_TITLE_LEN);
        p.text("Description", &self.description, MAX_DESCRIPTION_LEN);

        if self.resources.is_empty() || self.resources.len() > MAX_RESOURCES {
            p.add("Resources", format!("must have 1 to {MAX_RESOURCES} entries, got {}", self.resources.len()));
        }
        for (i, r) in self.resources.iter().enumerate() {
            if r.resource_type.as_str().trim().is_empty() {
                p.add(format!("Resources[{i}].Type"), "must not be empty");
            }
            if r.id.trim().is_empty() {
                p.add(format!("Resources[{i}].Id"), "must not be empty");
            }
        }

        if let Some(note) = &self.note {
            p.text("Note.Text", &note.text, MAX_NOTE_LEN);
            p.text("Note.UpdatedBy", &note.updated_by, MAX_ID_LEN);
            p.timestamp("Note.UpdatedAt", &note.updated_at);
        }

        if let Some(fpf) = &self.finding_provider_fields {
            p.percent("FindingProviderFields.Confidence", fpf.confidence.as_ref());
            p.percent("FindingProviderFields.Criticality", fpf.criticality.as_ref());
            for (i, t) in fpf.types.iter().flatten().enumerate() {
                p.finding_type(&format!("FindingProviderFields.Types[{i}]"), t);
            }
        }

        if p.0.is_empty() {
            Ok(())
        } else {
            Err(p.0)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arns_and_accounts() {
        assert!(is_arn("arn:aws:securityhub:us-east-1::product/aws/guardduty"));
        assert!(is_arn("arn:aws-us-gov:s3:::bucket"));
        assert!(!is_arn("arn:aws:securityhub"));
        assert!(!is_arn("product/aws/guardduty"));
        assert!(!is_arn("arn::securityhub:us-east-1::product/aws/guardduty"));
        assert!(is_account_id("111122223333"));
        assert!(!is_account_id("11112222333"));
        assert!(!is_account_id("11112222333x"));
        assert!(is_schema_date("2018-10-08"));
        assert!(!is_schema_date("2018/10/08"));
    }

    #[test]
    fn timestamps_are_rfc3339() {
        assert!(parse_timestamp("2026-03-01T12:00:00.123Z").is_ok());
        assert!(parse_timestamp("2026-03-01T12:00:00+02:00").is_ok());
        assert!(parse_timestamp("2026-03-01 12:00:00").is_err());
        assert!(parse_timestamp("2026-13-01T12:00:00Z").is_err());
    }
}
