//! Redaction per destination (DESIGN §7): every human-readable string of a message is redacted
//! with its destination's policy before the message is written to the outbox, so neither the
//! outbox nor the destination ever holds what the policy removes. Ids the pipeline needs
//! (finding ids, labels, ticket keys, run ids) are left alone: they are ours, not the finding's.

use std::sync::Arc;

use secops_audit::redact::{CorrelationKey, Destination as Policies, Policy, Redactor};

use crate::message::{ChatMessage, Destination, Outgoing, TicketOp};

/// The redactor of each destination: tickets lenient (Jira policy), chat and e-mail strict
/// (Slack policy).
#[derive(Debug, Clone)]
pub struct Redaction {
    pub tickets: Arc<Redactor>,
    pub chat: Arc<Redactor>,
}

fn scrub(r: &Redactor, text: &mut String) {
    if let std::borrow::Cow::Owned(redacted) = r.redact_text(text) {
        *text = redacted;
    }
}

impl Redaction {
    /// The default policies of each destination, without overrides.
    pub fn defaults(key: CorrelationKey) -> Redaction {
        Redaction {
            tickets: Arc::new(Redactor::new(Policy::default_for(Policies::Jira), key.clone())),
            chat: Arc::new(Redactor::new(Policy::default_for(Policies::Slack), key)),
        }
    }

    pub fn for_destination(&self, destination: Destination) -> &Redactor {
        match destination {
            Destination::Tickets => &self.tickets,
            Destination::Chat | Destination::Email => &self.chat,
        }
    }

    /// The message as it may leave for `destination`.
    pub fn apply(&self, destination: Destination, mut message: Outgoing) -> Outgoing {
        let r = self.for_destination(destination);
        match &mut message {
            Outgoing::Ticket(TicketOp::Create(draft)) => {
                scrub(r, &mut draft.summary);
                scrub(r, &mut draft.body);
            }
            Outgoing::Ticket(TicketOp::Comment { body, .. } | TicketOp::Close { body, .. }) => scrub(r, body),
            Outgoing::Chat(ChatMessage::Alert(alert)) => {
                scrub(r, &mut alert.title);
                scrub(r, &mut alert.text);
                scrub(r, &mut alert.account_id);
            }
            Outgoing::Chat(ChatMessage::Started(_)) => {}
            Outgoing::Chat(ChatMessage::Summary(summary)) => {
                for failure in &mut summary.failures {
                    scrub(r, &mut failure.reason);
                }
                for risk in &mut summary.top_risks {
                    scrub(r, &mut risk.title);
                }
            }
        }
        message
    }
}
