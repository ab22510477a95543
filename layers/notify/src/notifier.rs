//! The delivery engine: write to the outbox, then deliver behind the destination's breaker.
//! It is also the adapter of the core ticketing and alert ports, so decide, triage and
//! remediation send through the outbox without knowing it exists.
//!
//! Order: a submit first delivers older queued messages of its destination (up to a budget),
//! then its own; a message another worker is sending right now (leased) is skipped, not waited
//! for, except the submitter's own message: its submit waits for that worker's outcome, so a
//! healthy destination answers with the remote id, not a pending reference. Replay walks the
//! queue from the oldest message and stops at the first failure, so a comment or a close never
//! overtakes the create it is for.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use secops_core::clock::Clock;
use secops_core::outbound::{Alert, Alerts, NewTicket, Ticketing};
use secops_core::StepError;
use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::breaker::{Admission, Breaker, Transition};
use crate::message::{
    delivery_label, finding_label, BatchStarted, BatchSummary, ChatMessage, Destination, IncidentAlert, Outgoing,
    TicketDraft, TicketOp, TicketTarget,
};
use crate::outbox::{EntryStatus, NewEntry, OutboxEntry, PgOutbox};
use crate::redact::Redaction;
use crate::sink::{ChatSink, TicketSink};
use crate::{NotifyError, Result};

/// Where messages go, per destination.
#[derive(Debug, Clone)]
pub struct Sinks {
    pub tickets: Arc<dyn TicketSink>,
    pub chat: Arc<dyn ChatSink>,
    /// E-mail copies of chat messages, when configured.
    pub email: Option<Arc<dyn ChatSink>>,
}

#[derive(Debug, Clone, Copy)]
pub struct DeliverySettings {
    /// How long a worker may hold a message while sending it before another may take over.
    pub lease: Duration,
    /// How many older queued messages a submit delivers before its own.
    pub catch_up: usize,
}

impl Default for DeliverySettings {
    fn default() -> Self {
        DeliverySettings { lease: Duration::from_secs(120), catch_up: 20 }
    }
}

#[derive(Debug, Clone)]
pub struct Notifier {
    outbox: PgOutbox,
    breaker: Breaker,
    sinks: Sinks,
    redaction: Redaction,
    clock: Arc<dyn Clock>,
    settings: DeliverySettings,
    /// Names this notifier's leases; each drain adds its own suffix, since clones and concurrent
    /// tasks share one notifier and must not take over each other's leases.
    owner: String,
}

/// What one pass over a destination's queue did.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct DrainReport {
    pub delivered: usize,
    pub rejected: usize,
    pub failed: usize,
    /// Messages another worker was sending (skipped).
    pub in_flight: usize,
    /// Set when the breaker refused: nothing more is sent before then (RFC 3339).
    pub breaker_open_until: Option<String>,
    pub last_error: Option<String>,
    pub transitions: Vec<Transition>,
}

/// What a replay did, per destination, and what is still queued after it.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct ReplayReport {
    pub destinations: BTreeMap<Destination, DrainReport>,
    pub still_queued: BTreeMap<Destination, i64>,
}

/// How a failed send is handled.
enum Verdict {
    /// The destination refused this message on its merits: record it and go on.
    Reject,
    /// Keep it queued; `unwell` = count it against the destination's breaker.
    Retry { unwell: bool },
}

fn verdict(op: &Outgoing, err: &NotifyError) -> Verdict {
    match err {
        NotifyError::InvalidInput(_) => Verdict::Reject,
        // A comment or a close on a ticket the destination no longer has will never succeed;
        // a Permanent answer to a create or a chat post is a configuration problem (token,
        // project, channel) that an operator fixes, so those messages wait for the fix.
        NotifyError::Permanent(_)
            if matches!(op, Outgoing::Ticket(TicketOp::Comment { .. } | TicketOp::Close { .. })) =>
        {
            Verdict::Reject
        }
        other => Verdict::Retry { unwell: other.counts_against_destination() },
    }
}

/// A create that was attempted before: its ticket may exist although no reply said so.
fn needs_lookup(entry: &OutboxEntry) -> bool {
    entry.attempts > 0 && matches!(entry.payload, Outgoing::Ticket(TicketOp::Create(_)))
}

fn short_hash(text: &str) -> String {
    hex::encode(&Sha256::digest(text.as_bytes())[..8])
}

/// The reference a ticket is known by before its create was delivered.
const PENDING_PREFIX: &str = "outbox:";

fn rfc3339(t: time::OffsetDateTime) -> String {
    t.format(&time::format_description::well_known::Rfc3339).unwrap_or_else(|_| t.to_string())
}

impl Notifier {
    pub fn new(
        outbox: PgOutbox,
        breaker: Breaker,
        sinks: Sinks,
        redaction: Redaction,
        clock: Arc<dyn Clock>,
        settings: DeliverySettings,
    ) -> Self {
        let owner = format!("notify-{}", uuid::Uuid::new_v4());
        Notifier { outbox, breaker, sinks, redaction, clock, settings, owner }
    }

    /// The single binary's arrangement: the outbox and the breakers in PostgreSQL, default
    /// breaker and delivery settings.
    pub fn over_postgres(pool: secops_store::Pool, sinks: Sinks, redaction: Redaction, clock: Arc<dyn Clock>) -> Self {
        let breakers = Arc::new(crate::breaker::postgres::PgBreakerStore::new(pool.clone()));
        Notifier::new(
            PgOutbox::new(pool),
            Breaker::new(breakers, crate::breaker::BreakerSettings::default(), clock.clone()),
            sinks,
            redaction,
            clock,
            DeliverySettings::default(),
        )
    }

    /// Release the sending leases this notifier (and its clones) hold: for a process that stops
    /// with sends cut off. Their next sender looks a create up before sending it again.
    pub async fn release_leases(&self) -> Result<u64> {
        self.outbox.release_leases(&format!("{}/", self.owner)).await
    }

    pub fn outbox(&self) -> &PgOutbox {
        &self.outbox
    }

    pub fn breaker(&self) -> &Breaker {
        &self.breaker
    }

    pub fn sinks(&self) -> &Sinks {
        &self.sinks
    }

    /// Redact for the destination, write to the outbox, deliver (older queued messages first).
    /// The stored entry afterwards: delivered, still queued (breaker open, destination down),
    /// or rejected with the reason.
    pub async fn submit(
        &self,
        key: String,
        purpose: &str,
        finding_id: Option<&str>,
        message: Outgoing,
    ) -> Result<OutboxEntry> {
        let destination = message.destination(false);
        self.submit_to(destination, key, purpose, finding_id, message).await
    }

    async fn submit_to(
        &self,
        destination: Destination,
        key: String,
        purpose: &str,
        finding_id: Option<&str>,
        message: Outgoing,
    ) -> Result<OutboxEntry> {
        let new = NewEntry {
            key,
            destination,
            purpose: purpose.to_owned(),
            finding_id: finding_id.map(str::to_owned),
            payload: self.redaction.apply(destination, message),
        };
        let entry = self.outbox.enqueue(&new, self.clock.now()).await?;
        if entry.status != EntryStatus::Queued {
            return Ok(entry);
        }
        let report = self.drain(destination, Some(entry.seq), self.settings.catch_up + 1).await?;
        if let Some(until) = &report.breaker_open_until {
            tracing::info!(key = %entry.key, %destination, until = %until, "queued: the destination's breaker is open");
        }
        Ok(self.outbox.get(&entry.key).await?.unwrap_or(entry))
    }

    /// Deliver queued messages of every destination, oldest first, each destination until its
    /// queue is empty, `max_per_destination` were handled, or a failure stops it.
    pub async fn replay(&self, max_per_destination: usize) -> Result<ReplayReport> {
        let mut report = ReplayReport::default();
        for destination in Destination::ALL {
            if destination == Destination::Email && self.sinks.email.is_none() {
                continue;
            }
            let drained = self.drain(destination, None, max_per_destination).await?;
            report.destinations.insert(destination, drained);
        }
        for ((destination, status), n) in self.outbox.counts().await? {
            if status == EntryStatus::Queued {
                report.still_queued.insert(destination, n);
            }
        }
        Ok(report)
    }

    /// One pass over `destination`'s queue in order, up to `until_seq` when given.
    pub async fn drain(&self, destination: Destination, until_seq: Option<i64>, budget: usize) -> Result<DrainReport> {
        let mut report = DrainReport::default();
        let owner = format!("{}/{}", self.owner, uuid::Uuid::new_v4().simple());
        // Messages other workers are sending: skipped on every later read of the queue head.
        let mut in_flight = std::collections::HashSet::new();
        'pass: while report.delivered + report.rejected < budget {
            let want = (budget - report.delivered - report.rejected).min(50) + in_flight.len();
            let batch = self.outbox.queued(destination, want).await?;
            let batch: Vec<OutboxEntry> = batch.into_iter().filter(|e| !in_flight.contains(&e.key)).collect();
            if batch.is_empty() {
                break;
            }
            // Looked up once per batch, when the first create that was attempted before comes up
            // (after the breaker admitted it: the search is a request to the destination too).
            let mut existing: Option<BTreeMap<String, String>> = None;
            for queued in &batch {
                if until_seq.is_some_and(|until| queued.seq > until) {
                    break 'pass;
                }
                if let Admission::Refuse { until } = self.breaker.admit(destination).await? {
                    report.breaker_open_until = Some(rfc3339(until));
                    break 'pass;
                }
                let now = self.clock.now();
                let Some(entry) = self.outbox.lease(&queued.key, &owner, now, self.settings.lease).await? else {
                    if until_seq == Some(queued.seq) {
                        self.await_other_attempt(queued).await?;
                        break 'pass;
                    }
                    // Another worker is sending it (or just did): not ours to wait for.
                    report.in_flight += 1;
                    in_flight.insert(queued.key.clone());
                    continue;
                };
                if existing.is_none() && needs_lookup(&entry) {
                    match self.existing_tickets(&batch).await {
                        Ok(found) => existing = Some(found),
                        Err(err) => {
                            self.outbox.mark_failed(&entry.key, &err.to_string(), self.clock.now()).await?;
                            self.count_failure(destination, &err, &mut report).await?;
                            break 'pass;
                        }
                    }
                }
                match self.send(&entry, existing.as_ref()).await {
                    Ok((remote_id, url)) => {
                        self.outbox.mark_delivered(&entry.key, &remote_id, url.as_deref(), self.clock.now()).await?;
                        report.transitions.extend(self.breaker.record(destination, None).await?);
                        report.delivered += 1;
                    }
                    Err(err) => match verdict(&entry.payload, &err) {
                        Verdict::Reject => {
                            tracing::warn!(key = %entry.key, %destination, error = %err, "the destination refused a message; kept as rejected");
                            self.outbox.mark_rejected(&entry.key, &err.to_string(), self.clock.now()).await?;
                            report.transitions.extend(self.breaker.record(destination, None).await?);
                            report.rejected += 1;
                        }
                        Verdict::Retry { unwell } => {
                            self.outbox.mark_failed(&entry.key, &err.to_string(), self.clock.now()).await?;
                            if unwell {
                                self.count_failure(destination, &err, &mut report).await?;
                            } else {
                                report.failed += 1;
                                report.last_error = Some(err.to_string());
                            }
                            break 'pass;
                        }
                    },
                }
                if report.delivered + report.rejected >= budget {
                    break 'pass;
                }
            }
        }
        Ok(report)
    }

    /// Wait until the attempt another worker is making at `queued` is recorded (delivered,
    /// rejected or failed), at most one lease period: after that the lease has expired anyway.
    async fn await_other_attempt(&self, queued: &OutboxEntry) -> Result<()> {
        let deadline = tokio::time::Instant::now() + self.settings.lease;
        let mut pause = Duration::from_millis(10);
        while tokio::time::Instant::now() < deadline {
            tokio::time::sleep(pause).await;
            match self.outbox.get(&queued.key).await? {
                Some(e) if e.status == EntryStatus::Queued && e.attempts == queued.attempts => {}
                _ => return Ok(()),
            }
            pause = (pause * 2).min(Duration::from_millis(200));
        }
        Ok(())
    }

    async fn count_failure(&self, destination: Destination, err: &NotifyError, report: &mut DrainReport) -> Result<()> {
        tracing::warn!(%destination, error = %err, "delivery failed; the message stays queued");
        report.failed += 1;
        report.last_error = Some(err.to_string());
        report.transitions.extend(self.breaker.record(destination, Some(&err.to_string())).await?);
        Ok(())
    }

    /// Tickets that already exist for the creates in `batch` that were attempted before: a
    /// create whose reply was lost may have reached the ticketing system, and must not be
    /// created twice. One bulk search for the whole batch.
    async fn existing_tickets(&self, batch: &[OutboxEntry]) -> Result<BTreeMap<String, String>> {
        let labels: Vec<String> = batch.iter().filter(|e| needs_lookup(e)).map(|e| delivery_label(&e.key)).collect();
        if labels.is_empty() {
            return Ok(BTreeMap::new());
        }
        self.sinks.tickets.find_by_labels(&labels).await
    }

    async fn send(
        &self,
        entry: &OutboxEntry,
        existing: Option<&BTreeMap<String, String>>,
    ) -> Result<(String, Option<String>)> {
        match &entry.payload {
            Outgoing::Ticket(TicketOp::Create(draft)) => {
                if let Some(key) = existing.and_then(|found| found.get(&delivery_label(&entry.key))) {
                    tracing::info!(key = %entry.key, ticket = %key, "the ticket exists already (an earlier reply was lost); not creating it again");
                    return Ok((key.clone(), None));
                }
                let created = self.sinks.tickets.create(draft).await?;
                Ok((created.key, created.url))
            }
            Outgoing::Ticket(TicketOp::Comment { ticket, body }) => {
                let key = self.resolve(ticket).await?;
                self.sinks.tickets.comment(&key, body).await?;
                Ok((key, None))
            }
            Outgoing::Ticket(TicketOp::Close { ticket, body }) => {
                let key = self.resolve(ticket).await?;
                self.sinks.tickets.close(&key, body).await?;
                Ok((key, None))
            }
            Outgoing::Chat(message) => {
                let sink = match entry.destination {
                    Destination::Email => self.sinks.email.as_ref().ok_or_else(|| {
                        NotifyError::InvalidInput(
                            "an e-mail message is queued but no e-mail destination is configured".into(),
                        )
                    })?,
                    _ => &self.sinks.chat,
                };
                Ok((sink.post(message).await?, None))
            }
        }
    }

    /// The ticketing system's key for `target`.
    async fn resolve(&self, target: &TicketTarget) -> Result<String> {
        match target {
            TicketTarget::Remote(key) => Ok(key.clone()),
            TicketTarget::Pending(outbox_key) => match self.outbox.get(outbox_key).await? {
                Some(e) if e.status == EntryStatus::Delivered => e.remote_id.ok_or_else(|| {
                    NotifyError::InvalidInput(format!("outbox entry {outbox_key} is delivered without a ticket key"))
                }),
                Some(e) if e.status == EntryStatus::Rejected => Err(NotifyError::InvalidInput(format!(
                    "the ticket this is for was refused: {}",
                    e.last_error.unwrap_or_default()
                ))),
                Some(_) => Err(NotifyError::Store {
                    class: secops_core::ErrorClass::Conflict,
                    message: format!("the ticket this is for ({outbox_key}) is not created yet"),
                }),
                None => Err(NotifyError::InvalidInput(format!("no ticket is queued under {outbox_key}"))),
            },
        }
    }

    /// The target for a ticket id the caller holds: a key, or a pending reference.
    async fn target(&self, ticket_id: &str) -> Result<TicketTarget> {
        let Some(seq) = ticket_id.strip_prefix(PENDING_PREFIX) else {
            return Ok(TicketTarget::Remote(ticket_id.to_owned()));
        };
        let seq: i64 =
            seq.parse().map_err(|_| NotifyError::InvalidInput(format!("'{ticket_id}' is not a ticket reference")))?;
        match self.outbox.by_seq(seq).await? {
            Some(e) if e.status == EntryStatus::Delivered => {
                Ok(TicketTarget::Remote(e.remote_id.unwrap_or_else(|| ticket_id.to_owned())))
            }
            Some(e) => Ok(TicketTarget::Pending(e.key)),
            None => Err(NotifyError::InvalidInput(format!("there is no queued ticket {ticket_id}"))),
        }
    }

    /// Send a chat message (and its e-mail copy when e-mail is configured).
    pub async fn chat(
        &self,
        key: &str,
        purpose: &str,
        finding_id: Option<&str>,
        message: ChatMessage,
    ) -> Result<OutboxEntry> {
        if self.sinks.email.is_some() {
            let copy = Outgoing::Chat(message.clone());
            self.submit_to(Destination::Email, format!("email|{key}"), purpose, finding_id, copy).await?;
        }
        self.submit_to(Destination::Chat, format!("chat|{key}"), purpose, finding_id, Outgoing::Chat(message)).await
    }

    pub async fn batch_started(&self, started: BatchStarted) -> Result<OutboxEntry> {
        let key = format!("started|{}|{}", started.workflow, started.run_id);
        self.chat(&key, "batch_started", None, ChatMessage::Started(started)).await
    }

    pub async fn batch_summary(&self, summary: BatchSummary) -> Result<OutboxEntry> {
        let key = format!("summary|{}|{}", summary.workflow, summary.run_id);
        self.chat(&key, "batch_summary", None, ChatMessage::Summary(summary)).await
    }
}

/// What the caller of the ticketing port gets back for an entry.
fn ticket_reference(entry: &OutboxEntry) -> std::result::Result<String, StepError> {
    match entry.status {
        EntryStatus::Delivered => {
            Ok(entry.remote_id.clone().unwrap_or_else(|| format!("{PENDING_PREFIX}{}", entry.seq)))
        }
        EntryStatus::Queued => Ok(format!("{PENDING_PREFIX}{}", entry.seq)),
        EntryStatus::Rejected => Err(StepError::invalid_input(format!(
            "the ticketing system refused {}: {}",
            entry.key,
            entry.last_error.as_deref().unwrap_or("no reason given")
        ))),
    }
}

fn refused(entry: &OutboxEntry) -> std::result::Result<(), StepError> {
    ticket_reference(entry).map(|_| ())
}

#[async_trait]
impl Ticketing for Notifier {
    async fn open(&self, t: &NewTicket) -> std::result::Result<String, StepError> {
        let key = format!("tickets|open|{}", t.idempotency_key);
        let mut labels = t.labels.clone();
        labels.push(finding_label(&t.finding_id));
        labels.push(delivery_label(&key));
        let draft = TicketDraft {
            kind: t.kind.as_str().to_owned(),
            finding_id: t.finding_id.clone(),
            project: t.project.clone(),
            summary: t.summary.clone(),
            body: t.body.clone(),
            severity: t.severity.clone(),
            labels,
        };
        let purpose = format!("open_ticket:{}", t.kind.as_str());
        let entry = self.submit(key, &purpose, Some(&t.finding_id), Outgoing::Ticket(TicketOp::Create(draft))).await?;
        ticket_reference(&entry)
    }

    async fn comment(&self, ticket_id: &str, text: &str) -> std::result::Result<(), StepError> {
        let ticket = self.target(ticket_id).await?;
        let key = format!("tickets|comment|{ticket_id}|{}", short_hash(text));
        let op = TicketOp::Comment { ticket, body: text.to_owned() };
        refused(&self.submit(key, "comment", None, Outgoing::Ticket(op)).await?)
    }

    async fn close(&self, ticket_id: &str, comment: &str) -> std::result::Result<(), StepError> {
        let ticket = self.target(ticket_id).await?;
        let key = format!("tickets|close|{ticket_id}");
        let op = TicketOp::Close { ticket, body: comment.to_owned() };
        refused(&self.submit(key, "close_ticket", None, Outgoing::Ticket(op)).await?)
    }
}

#[async_trait]
impl Alerts for Notifier {
    async fn send(&self, alert: &Alert) -> std::result::Result<(), StepError> {
        let key = format!("alert|{}|{}", alert.finding_id, short_hash(&format!("{}\n{}", alert.title, alert.text)));
        let message = ChatMessage::Alert(IncidentAlert {
            finding_id: alert.finding_id.clone(),
            account_id: alert.account_id.clone(),
            severity: alert.severity.clone(),
            title: alert.title.clone(),
            text: alert.text.clone(),
        });
        refused(&self.chat(&key, "incident_alert", Some(&alert.finding_id), message).await?)
    }
}
