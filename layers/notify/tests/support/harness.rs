//! A notifier over a fresh test database, the Jira fake and the Slack fake, on a manual clock:
//! what the redaction and delivery tests assemble.

use std::sync::Arc;

use secops_audit::redact::CorrelationKey;
use secops_core::clock::ManualClock;
use secops_core::outbound::{NewTicket, TicketKind};
use secops_notify::breaker::postgres::PgBreakerStore;
use secops_notify::breaker::{Breaker, BreakerSettings};
use secops_notify::jira::{JiraConfig, JiraTickets};
use secops_notify::notifier::{DeliverySettings, Notifier, Sinks};
use secops_notify::outbox::PgOutbox;
use secops_notify::redact::Redaction;
use secops_notify::slack::{SlackChat, SlackConfig, SlackTarget};
use secops_store::testing::TestDb;
use time::macros::datetime;
use time::OffsetDateTime;

use super::jira_fake::JiraFake;
use super::slack_fake::{SlackFake, SLACK_FAKE_TOKEN};

pub const T0: OffsetDateTime = datetime!(2026-11-21 10:00 UTC);
/// The key every test's redaction correlates with.
pub const CORRELATION_KEY: [u8; 32] = [9; 32];

pub struct Harness {
    pub db: TestDb,
    pub jira: JiraFake,
    pub slack: SlackFake,
    pub clock: Arc<ManualClock>,
    pub notifier: Arc<Notifier>,
}

impl Harness {
    /// Healthy fakes, the fakes' own credentials.
    pub async fn start() -> Harness {
        Harness::start_with(|_| {}, SLACK_FAKE_TOKEN).await
    }

    /// `tune` adjusts the Jira configuration; the Slack adapter posts with `slack_token`.
    pub async fn start_with(tune: impl FnOnce(&mut JiraConfig), slack_token: &str) -> Harness {
        let db = TestDb::new().await;
        let jira = JiraFake::start().await;
        let slack = SlackFake::start().await;
        let clock = Arc::new(ManualClock::new(T0));
        let mut jira_config = jira.config();
        tune(&mut jira_config);
        let notifier = Arc::new(notifier(&db, &slack, jira_config, slack_token, &clock));
        Harness { db, jira, slack, clock, notifier }
    }

    /// Another worker over the same database and fakes (a restart with a new Slack token).
    pub fn another_notifier(&self, slack_token: &str) -> Notifier {
        notifier(&self.db, &self.slack, self.jira.config(), slack_token, &self.clock)
    }
}

fn notifier(db: &TestDb, slack: &SlackFake, jira: JiraConfig, slack_token: &str, clock: &Arc<ManualClock>) -> Notifier {
    let mut slack_config = SlackConfig::new(SlackTarget::WebApi {
        api_base: slack.uri(),
        bot_token: slack_token.into(),
        channel: "C0SECOPS".into(),
    });
    // Tests post in bursts; the fake does not rate-limit unless told to.
    slack_config.per_minute = 6000;
    let sinks = Sinks {
        tickets: Arc::new(JiraTickets::new(jira).unwrap()),
        chat: Arc::new(SlackChat::new(slack_config).unwrap()),
        email: None,
    };
    let breakers = Arc::new(PgBreakerStore::new(db.pool.clone()));
    Notifier::new(
        PgOutbox::new(db.pool.clone()),
        Breaker::new(breakers, BreakerSettings::default(), clock.clone()),
        sinks,
        Redaction::defaults(CorrelationKey::new(CORRELATION_KEY)),
        clock.clone(),
        DeliverySettings::default(),
    )
}

/// A team ticket for finding number `i` (an S3.8 finding), as decide files it.
pub fn ticket(i: usize) -> NewTicket {
    let finding_id =
        format!("arn:aws:securityhub:eu-west-1:111122223333:subscription/aws-foundational/v/1.0.0/S3.8/finding/{i:04}");
    NewTicket {
        kind: TicketKind::Team,
        finding_id: finding_id.clone(),
        project: None,
        summary: format!("S3.8 bucket payments-{i} allows public access"),
        body: format!("## What\n\nBucket `payments-{i}` has **no** public access block.\n\n- account 111122223333\n- [ ] enable the block\n"),
        severity: ["CRITICAL", "HIGH", "MEDIUM", "LOW"][i % 4].into(),
        labels: vec!["secops-autopilot".into(), "team".into()],
        idempotency_key: format!("{finding_id}|ticket:team|2026-11-21T10:00:00Z"),
    }
}

/// The outbox key `Ticketing::open` files a ticket under.
pub fn open_key(t: &NewTicket) -> String {
    format!("tickets|open|{}", t.idempotency_key)
}
