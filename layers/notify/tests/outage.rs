//! The outage the outbox exists for: Jira answers 500 for 90 seconds in the middle of a batch of
//! 100 tickets, and Slack rate-limits. Afterwards every ticket exists exactly once (one of them
//! reached Jira although its reply timed out), the closes queued behind pending creates landed
//! on the right issues, every Slack message was delivered once, the breaker opened, probed and
//! closed as its log says, and nothing is left queued.
//!
//! The breaker runs on a manual clock (its 60 s open period and the 90 s outage are simulated
//! time, moved by the test); the HTTP traffic, the fakes and the database are real.

mod support;

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::stream::{self, StreamExt};
use secops_audit::redact::CorrelationKey;
use secops_core::clock::{Clock, ManualClock};
use secops_core::outbound::Ticketing;
use secops_notify::breaker::postgres::PgBreakerStore;
use secops_notify::breaker::{Breaker, BreakerSettings, BreakerState};
use secops_notify::jira::JiraTickets;
use secops_notify::message::{delivery_label, BatchStarted, BatchSummary, FailedItem, TicketLink};
use secops_notify::notifier::{DeliverySettings, Notifier, Sinks};
use secops_notify::outbox::{EntryStatus, PgOutbox};
use secops_notify::redact::Redaction;
use secops_notify::slack::{SlackChat, SlackConfig, SlackTarget};
use secops_notify::Destination;
use secops_store::testing::TestDb;
use support::harness::{open_key, ticket};
use support::jira_fake::JiraFake;
use support::slack_fake::{SlackFake, SLACK_FAKE_TOKEN};
use time::macros::datetime;

const TICKETS: usize = 100;
const CLOSED: usize = 10;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_jira_outage_and_slack_rate_limits_delay_output_but_lose_and_duplicate_nothing() {
    let db = TestDb::new().await;
    let jira = JiraFake::start().await;
    let slack = SlackFake::start().await;
    let clock = Arc::new(ManualClock::new(datetime!(2026-11-21 10:00 UTC)));

    let mut jira_config = jira.config();
    jira_config.max_attempts = 2;
    let mut slack_config = SlackConfig::new(SlackTarget::WebApi {
        api_base: slack.uri(),
        bot_token: SLACK_FAKE_TOKEN.into(),
        channel: "C0SECOPS".into(),
    });
    // A Retry-After longer than this hands the message back to the outbox.
    slack_config.max_wait = Duration::from_millis(1500);
    let sinks = Sinks {
        tickets: Arc::new(JiraTickets::new(jira_config).unwrap()),
        chat: Arc::new(SlackChat::new(slack_config).unwrap()),
        email: None,
    };
    let settings = BreakerSettings::default();
    assert_eq!((settings.failure_threshold, settings.open_for), (5, Duration::from_secs(60)));
    let breaker = Breaker::new(Arc::new(PgBreakerStore::new(db.pool.clone())), settings, clock.clone());
    let notifier = Arc::new(Notifier::new(
        PgOutbox::new(db.pool.clone()),
        breaker,
        sinks,
        Redaction::defaults(CorrelationKey::new([3; 32])),
        clock.clone(),
        DeliverySettings::default(),
    ));

    // Slack rate-limits the start notification: once with a hint the adapter waits out, then
    // with one longer than it may wait, so the message goes back to the outbox.
    slack.rate_limit_next(1, 1);
    slack.rate_limit_next(1, 30);
    let started = BatchStarted {
        run_id: "run-outage".into(),
        workflow: "findings".into(),
        findings: TICKETS as u64,
        started_at: "2026-11-21T10:00:00Z".into(),
    };
    let announced = notifier.batch_started(started).await.unwrap();
    assert_eq!(announced.status, EntryStatus::Queued, "{announced:?}");

    // t = 0: the first ticket reaches Jira, but its reply times out on our side (2 s timeout,
    // 3 s reply): a create is not re-sent blindly, so it waits in the outbox as undelivered.
    jira.succeed_slowly_next(1, Duration::from_secs(3));
    let first = notifier.open(&ticket(0)).await.unwrap();
    assert!(first.starts_with("outbox:"), "{first}");
    assert_eq!(jira.issues().len(), 1);

    // Then Jira goes down for 90 s, with the rest of the batch coming in from 8 workers.
    jira.fail_until(Instant::now() + Duration::from_secs(3600), 500);
    let rest: Vec<String> = stream::iter(1..TICKETS)
        .map(|i| {
            let notifier = notifier.clone();
            async move { notifier.open(&ticket(i)).await.unwrap() }
        })
        .buffered(8)
        .collect()
        .await;
    let refs: Vec<String> = std::iter::once(first).chain(rest).collect();
    assert!(refs.iter().all(|r| r.starts_with("outbox:")), "every ticket waits in the outbox: {refs:?}");
    let hammered = jira.requests();
    assert!(hammered <= 5 * 2 + 8 * 2, "the open breaker keeps Jira from being hammered: {hammered} requests");
    let state = notifier.breaker().state(Destination::Tickets).await.unwrap();
    assert_eq!(state.state, BreakerState::Open);

    // The pipeline closes some of them before they exist: the closes wait behind their creates.
    for r in &refs[..CLOSED] {
        notifier.close(r, "Resolved: the bucket now blocks public access.").await.unwrap();
    }

    // t = 30 s: still open, nothing is sent.
    clock.advance(time::Duration::seconds(30));
    let before = jira.requests();
    let report = notifier.replay(1000).await.unwrap();
    assert_eq!(jira.requests(), before);
    assert!(report.destinations[&Destination::Tickets].breaker_open_until.is_some());
    // Slack is healthy again meanwhile: its queued start notification goes out now.
    assert_eq!(report.destinations[&Destination::Chat].delivered, 1);

    // t = 61 s: one probe while Jira is still down; it fails and the breaker opens again.
    clock.advance(time::Duration::seconds(31));
    let report = notifier.replay(1000).await.unwrap();
    let tickets = &report.destinations[&Destination::Tickets];
    assert_eq!((tickets.delivered, tickets.failed), (0, 1), "{tickets:?}");

    // t = 90 s: Jira recovers. t = 122 s: the next probe looks the attempted creates up by
    // their delivery labels, finds the first ticket instead of creating it again, the breaker
    // closes, and the whole queue drains in order.
    clock.advance(time::Duration::seconds(29));
    jira.fail_until(Instant::now(), 500);
    clock.advance(time::Duration::seconds(32));
    let report = notifier.replay(1000).await.unwrap();
    let tickets = &report.destinations[&Destination::Tickets];
    assert_eq!((tickets.delivered, tickets.failed, tickets.rejected), (TICKETS + CLOSED, 0, 0), "{tickets:?}");
    assert!(report.still_queued.is_empty(), "{report:?}");

    // The completion summary, through a Slack that rate-limits once more (waited out).
    slack.rate_limit_next(1, 1);
    let summary = BatchSummary {
        run_id: "run-outage".into(),
        workflow: "findings".into(),
        analysed: TICKETS as u64,
        succeeded: TICKETS as u64,
        duration_ms: 122_000,
        tickets: vec![TicketLink { finding_id: ticket(0).finding_id, key: "SEC-1".into(), url: None }],
        failures: vec![FailedItem { finding_id: "f-x".into(), reason: "none".into() }],
        top_risks: vec![],
    };
    assert_eq!(notifier.batch_summary(summary).await.unwrap().status, EntryStatus::Delivered);

    // Every ticket exactly once, each finding's label on exactly one issue.
    let issues = jira.issues();
    assert_eq!(issues.len(), TICKETS);
    let finding_labels: BTreeSet<&String> =
        issues.iter().flat_map(|i| i.labels.iter().filter(|l| l.starts_with("secops-finding-"))).collect();
    assert_eq!(finding_labels.len(), TICKETS);
    let delivery_labels: BTreeSet<&String> =
        issues.iter().flat_map(|i| i.labels.iter().filter(|l| l.starts_with("secops-delivery-"))).collect();
    assert_eq!(delivery_labels.len(), TICKETS);

    // The closes landed on the issues of the tickets they were for.
    let outbox = notifier.outbox();
    for r in &refs[..CLOSED] {
        let seq: i64 = r.trim_start_matches("outbox:").parse().unwrap();
        let key = outbox.by_seq(seq).await.unwrap().unwrap().remote_id.unwrap();
        let issue = jira.issue(&key).unwrap();
        assert_eq!(issue.status, "Done", "{key}");
        assert_eq!(issue.comments.len(), 1, "{key}: the closing comment, once");
    }
    assert_eq!(issues.iter().filter(|i| i.status == "Done").count(), CLOSED);

    // Slack: the start notification and the summary, each exactly once.
    let posted = slack.messages();
    assert_eq!(posted.len(), 2, "{posted:?}");
    assert!(posted[0]["text"].as_str().unwrap().contains("run-outage"));

    // The breaker's log tells the story; nothing is queued.
    let log = notifier.breaker().store().transitions(Destination::Tickets, 50).await.unwrap();
    let story: Vec<(BreakerState, BreakerState)> = log.iter().map(|t| (t.from, t.to)).collect();
    use BreakerState::{Closed, HalfOpen, Open};
    assert_eq!(
        story,
        vec![(Closed, Open), (Open, HalfOpen), (HalfOpen, Open), (Open, HalfOpen), (HalfOpen, Closed)],
        "{log:#?}"
    );
    assert!(log[0].reason.starts_with("5 consecutive failures"), "{}", log[0].reason);
    // The replay looked the first ticket up by its delivery label before creating anything (in
    // one search with the other creates the outage saw attempted).
    let first_label = delivery_label(&open_key(&ticket(0)));
    let searches = jira.searches();
    assert!(searches.first().is_some_and(|search| search.labels.contains(&first_label)), "{searches:?}");
    let counts = outbox.counts().await.unwrap();
    assert_eq!(counts.get(&(Destination::Tickets, EntryStatus::Delivered)), Some(&((TICKETS + CLOSED) as i64)));
    assert_eq!(counts.get(&(Destination::Chat, EntryStatus::Delivered)), Some(&2));
    assert!(counts.keys().all(|(_, status)| *status == EntryStatus::Delivered), "{counts:?}");
    assert_eq!(clock.now(), datetime!(2026-11-21 10:02:02 UTC));

    support::adf::assert_valid(&jira.descriptions());
}
