//! [`FindingsHub`] on Security Hub's BatchUpdateFindings, in the account the code runs in (the
//! delegated administrator, which may update the findings of every member account).

use std::collections::BTreeSet;

use async_trait::async_trait;
use aws_sdk_securityhub::types::{AwsSecurityFindingIdentifier, NoteUpdate, WorkflowUpdate};
use secops_aws::AwsError;
use secops_core::ErrorClass;

use super::{FindingChange, FindingRef, FindingsHub, Unprocessed, MAX_BATCH, UPDATED_BY};
use crate::{Result, SoarError};

/// Security Hub rejects a `Note.Text` longer than this many characters.
pub const MAX_NOTE_CHARS: usize = 512;

/// See the module documentation.
#[derive(Debug, Clone)]
pub struct SecurityHubFindings {
    client: aws_sdk_securityhub::Client,
}

impl SecurityHubFindings {
    pub fn new(config: &aws_config::SdkConfig) -> Self {
        Self { client: aws_sdk_securityhub::Client::new(config) }
    }
}

#[async_trait]
impl FindingsHub for SecurityHubFindings {
    async fn batch_update(&self, findings: &[FindingRef], change: &FindingChange) -> Result<Vec<Unprocessed>> {
        if findings.len() > MAX_BATCH {
            return Err(SoarError::InvalidInput(format!(
                "BatchUpdateFindings takes at most {MAX_BATCH} findings, got {}",
                findings.len()
            )));
        }
        if findings.is_empty() {
            return Ok(Vec::new());
        }
        let identifiers = findings
            .iter()
            .map(|f| AwsSecurityFindingIdentifier::builder().id(&f.id).product_arn(&f.product_arn).build())
            .collect();
        let mut request = self.client.batch_update_findings().set_finding_identifiers(Some(identifiers));
        if let Some(status) = change.workflow_status {
            request = request.workflow(WorkflowUpdate::builder().status(status.as_str().into()).build());
        }
        if let Some(note) = &change.note {
            if note.is_empty() {
                // Security Hub requires 1 to 512 characters and would reject the whole batch.
                return Err(SoarError::InvalidInput("a finding note must not be empty".into()));
            }
            request = request.note(NoteUpdate::builder().text(note_text(note)).updated_by(UPDATED_BY).build());
        }
        if !change.user_defined_fields.is_empty() {
            request = request.set_user_defined_fields(Some(
                change.user_defined_fields.iter().map(|(k, v)| (k.clone(), v.clone())).collect(),
            ));
        }
        let output = request
            .send()
            .await
            .map_err(|e| SoarError::from(AwsError::from_sdk("securityhub:BatchUpdateFindings", e)))?;

        let requested: BTreeSet<&FindingRef> = findings.iter().collect();
        let mut seen = BTreeSet::new();
        let mut unprocessed = Vec::new();
        for entry in output.unprocessed_findings() {
            let Some(identifier) = entry.finding_identifier() else {
                // Without the identifier we cannot tell which finding failed; the whole call is
                // safe to repeat (the same change again), so let the caller retry it.
                return Err(SoarError::aws(
                    ErrorClass::Transient,
                    "securityhub:BatchUpdateFindings: an unprocessed finding without its identifier",
                ));
            };
            let finding = FindingRef {
                id: identifier.id().unwrap_or_default().to_owned(),
                product_arn: identifier.product_arn().unwrap_or_default().to_owned(),
            };
            // Only findings of this request, each once: the caller counts updated findings as
            // the batch size minus this list.
            if !requested.contains(&finding) || !seen.insert(finding.clone()) {
                tracing::warn!(finding_id = %finding.id, "BatchUpdateFindings reported an unexpected or repeated unprocessed finding");
                continue;
            }
            unprocessed.push(Unprocessed {
                finding,
                error_code: entry.error_code().unwrap_or_default().to_owned(),
                error_message: entry.error_message().unwrap_or_default().to_owned(),
            });
        }
        Ok(unprocessed)
    }
}

/// `note` as Security Hub accepts it: a longer note is cut to its first 511 characters (on a
/// char boundary, so never inside a UTF-8 sequence) plus "…", so the reader sees it was cut and
/// the batch is not rejected for one long note.
fn note_text(note: &str) -> String {
    match note.char_indices().nth(MAX_NOTE_CHARS) {
        None => note.to_owned(),
        Some(_) => {
            let keep: String = note.chars().take(MAX_NOTE_CHARS - 1).collect();
            keep + "…"
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn notes_up_to_the_limit_are_kept_and_longer_ones_end_in_an_ellipsis() {
        let exact = "é".repeat(MAX_NOTE_CHARS);
        assert_eq!(note_text(&exact), exact);
        let long = "é".repeat(MAX_NOTE_CHARS + 1);
        let cut = note_text(&long);
        assert_eq!(cut.chars().count(), MAX_NOTE_CHARS);
        assert_eq!(cut, format!("{}…", "é".repeat(MAX_NOTE_CHARS - 1)));
        assert_eq!(note_text("short"), "short");
    }
}
