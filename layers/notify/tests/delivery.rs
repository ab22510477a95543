//! The notifier's delivery semantics against the Jira and Slack fakes over a real PostgreSQL
//! outbox: concurrent creates, operations queued behind a create that is not delivered yet, what
//! a refusal does (rejected, never retried, never blocking the queue), credentials Slack refuses,
//! the one bulk label search of a replay, and the operator's view of the outbox.

mod support;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::{Duration, Instant};

use secops_core::outbound::{Alert, Alerts, NewTicket, Ticketing};
use secops_core::ErrorClass;
use secops_notify::breaker::BreakerState;
use secops_notify::message::{delivery_label, finding_label, BatchStarted};
use secops_notify::outbox::{EntryStatus, OutboxEntry};
use secops_notify::Destination;
use support::harness::{open_key, ticket, Harness};
use support::slack_fake::SLACK_FAKE_TOKEN;
use tokio::sync::Barrier;

fn alert(i: usize) -> Alert {
    Alert {
        finding_id: format!("arn:aws:guardduty:eu-west-1:111122223333:detector/d1/finding/{i:04}"),
        account_id: "111122223333".into(),
        severity: "CRITICAL".into(),
        title: format!("Incident {i}: credentials used from an unusual location"),
        text: "GuardDuty reports console logins from a new country.".into(),
    }
}

/// Open `tickets` from as many tasks at once.
async fn open_concurrently(h: &Harness, tickets: &[NewTicket]) -> Vec<String> {
    let start = Arc::new(Barrier::new(tickets.len()));
    let tasks: Vec<_> = tickets
        .iter()
        .cloned()
        .map(|t| {
            let (notifier, start) = (Arc::clone(&h.notifier), Arc::clone(&start));
            tokio::spawn(async move {
                start.wait().await;
                notifier.open(&t).await
            })
        })
        .collect();
    let mut references = Vec::new();
    for task in tasks {
        references.push(task.await.unwrap().unwrap());
    }
    references
}

async fn all_entries(h: &Harness) -> Vec<OutboxEntry> {
    h.notifier.outbox().page(0, 1000, None).await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_opens_on_a_healthy_jira_each_get_their_own_issue_once() {
    const TICKETS: usize = 40;
    let h = Harness::start().await;
    let tickets: Vec<NewTicket> = (0..TICKETS).map(ticket).collect();
    let keys = open_concurrently(&h, &tickets).await;

    assert!(keys.iter().all(|k| k.starts_with("SEC-")), "every caller gets the issue key: {keys:?}");
    assert_eq!(keys.iter().collect::<BTreeSet<_>>().len(), TICKETS, "{keys:?}");
    assert_eq!(h.jira.issues().len(), TICKETS);
    for (t, key) in tickets.iter().zip(&keys) {
        let issue = h.jira.issue(key).unwrap();
        assert!(issue.labels.contains(&finding_label(&t.finding_id)), "{key} is the issue of {}", t.finding_id);
        assert!(issue.labels.contains(&delivery_label(&open_key(t))));
    }

    // The same ticket again: the same key, from the outbox, without asking Jira.
    let requests = h.jira.requests();
    assert_eq!(h.notifier.open(&tickets[7]).await.unwrap(), keys[7]);
    assert_eq!((h.jira.requests(), h.jira.issues().len()), (requests, TICKETS));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_comment_and_a_close_queued_during_an_outage_reach_the_same_issue_in_order() {
    let h = Harness::start().await;
    h.jira.fail_until(Instant::now() + Duration::from_secs(3600), 500);
    let t = ticket(1);
    let reference = h.notifier.open(&t).await.unwrap();
    let create = h.notifier.outbox().get(&open_key(&t)).await.unwrap().unwrap();
    assert_eq!(reference, format!("outbox:{}", create.seq));
    // Both are accepted although their ticket does not exist yet.
    h.notifier.comment(&reference, "The bucket policy was tightened.").await.unwrap();
    h.notifier.close(&reference, "Resolved: public access is blocked.").await.unwrap();
    assert!(h.jira.issues().is_empty());
    let queued = h.notifier.outbox().counts().await.unwrap();
    assert_eq!(queued, BTreeMap::from([((Destination::Tickets, EntryStatus::Queued), 3)]));

    h.jira.fail_until(Instant::now(), 500);
    let report = h.notifier.replay(100).await.unwrap();
    let tickets = &report.destinations[&Destination::Tickets];
    assert_eq!((tickets.delivered, tickets.failed, tickets.rejected), (3, 0, 0), "{tickets:?}");
    assert!(report.still_queued.is_empty(), "{report:?}");

    let issues = h.jira.issues();
    assert_eq!(issues.len(), 1);
    let issue = &issues[0];
    let comments: Vec<String> = issue.comments.iter().map(support::adf::text).collect();
    assert_eq!(comments, ["The bucket policy was tightened.", "Resolved: public access is blocked."]);
    assert_eq!(issue.status, "Done");
    let entries = all_entries(&h).await;
    let delivered: Vec<(&str, EntryStatus, Option<&str>)> =
        entries.iter().map(|e| (e.purpose.as_str(), e.status, e.remote_id.as_deref())).collect();
    let key = Some(issue.key.as_str());
    assert_eq!(
        delivered,
        [
            ("open_ticket:team", EntryStatus::Delivered, key),
            ("comment", EntryStatus::Delivered, key),
            ("close_ticket", EntryStatus::Delivered, key),
        ]
    );
    // The create had been attempted, so the replay looked for it before creating it.
    let searches = h.jira.searches();
    assert_eq!(searches.len(), 1, "{searches:?}");
    assert_eq!(searches[0].labels, [delivery_label(&open_key(&t))]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_ticket_jira_refuses_is_rejected_with_its_reason_and_the_queue_moves_on() {
    let h = Harness::start().await;
    h.jira.fail_next(1, 400);
    let refused = ticket(1);
    let err = h.notifier.open(&refused).await.unwrap_err();
    assert_eq!(err.class, ErrorClass::InvalidInput, "{err:?}");
    assert!(err.message.contains("answered 400"), "{err:?}");
    let entry = h.notifier.outbox().get(&open_key(&refused)).await.unwrap().unwrap();
    assert_eq!(entry.status, EntryStatus::Rejected);
    assert!(entry.last_error.as_deref().is_some_and(|e| e.contains("Injected failure 400")), "{entry:?}");

    assert_eq!(h.notifier.open(&ticket(2)).await.unwrap(), "SEC-1", "the refusal does not block the queue");

    // Asking again gets the same refusal without another request; a replay does not retry it.
    let requests = h.jira.requests();
    let again = h.notifier.open(&refused).await.unwrap_err();
    assert_eq!((again.class, again.message), (err.class, err.message));
    h.notifier.replay(100).await.unwrap();
    assert_eq!(h.jira.requests(), requests);
    // Jira answered: for the breaker that is a healthy destination.
    let breaker = h.notifier.breaker().state(Destination::Tickets).await.unwrap();
    assert_eq!((breaker.state, breaker.consecutive_failures), (BreakerState::Closed, 0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_comment_or_close_on_an_issue_jira_does_not_have_is_rejected_not_retried() {
    let h = Harness::start().await;
    let err = h.notifier.comment("SEC-404", "Still open.").await.unwrap_err();
    assert_eq!(err.class, ErrorClass::InvalidInput, "{err:?}");
    assert!(err.message.contains("404"), "{err:?}");
    assert_eq!(h.jira.requests(), 1, "a 404 is not retried");
    let err = h.notifier.close("SEC-405", "Resolved.").await.unwrap_err();
    assert!(err.message.contains("404"), "{err:?}");
    assert_eq!(h.jira.requests(), 2);

    let report = h.notifier.replay(100).await.unwrap();
    assert_eq!(h.jira.requests(), 2, "a replay does not send them again");
    assert!(report.still_queued.is_empty(), "{report:?}");
    let rejected = h.notifier.outbox().page(0, 10, Some(EntryStatus::Rejected)).await.unwrap();
    let purposes: Vec<(&str, i32)> = rejected.iter().map(|e| (e.purpose.as_str(), e.attempts)).collect();
    assert_eq!(purposes, [("comment", 1), ("close_ticket", 1)]);
    let breaker = h.notifier.breaker().state(Destination::Tickets).await.unwrap();
    assert_eq!((breaker.state, breaker.consecutive_failures), (BreakerState::Closed, 0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_slack_token_keeps_chat_queued_and_opens_the_chat_breaker_until_fixed() {
    let h = Harness::start_with(|_| {}, "xoxb-revoked-token").await;
    for i in 0..5 {
        h.notifier.send(&alert(i)).await.unwrap();
    }
    // Each send retried the oldest message once (it stays first in line) and stopped there.
    assert_eq!(h.slack.requests(), 5);
    assert!(h.slack.messages().is_empty());
    let breaker = h.notifier.breaker().state(Destination::Chat).await.unwrap();
    assert_eq!((breaker.state, breaker.consecutive_failures), (BreakerState::Open, 5));
    assert!(breaker.last_error.as_deref().is_some_and(|e| e.contains("invalid_auth")), "{breaker:?}");
    // Open: the next alert is queued without a request.
    h.notifier.send(&alert(5)).await.unwrap();
    assert_eq!(h.slack.requests(), 5);
    let queued = h.notifier.outbox().page(0, 100, Some(EntryStatus::Queued)).await.unwrap();
    let attempts: Vec<i32> = queued.iter().map(|e| e.attempts).collect();
    assert_eq!(attempts, [5, 0, 0, 0, 0, 0]);

    // The operator fixes the token (a worker with the new configuration); after the open
    // period its probe succeeds and the queue drains in order.
    let fixed = h.another_notifier(SLACK_FAKE_TOKEN);
    h.clock.advance(time::Duration::seconds(61));
    let report = fixed.replay(100).await.unwrap();
    assert_eq!(report.destinations[&Destination::Chat].delivered, 6, "{report:?}");
    assert!(report.still_queued.is_empty(), "{report:?}");
    let titles: Vec<String> = h.slack.messages().iter().map(|m| m["text"].as_str().unwrap().to_owned()).collect();
    for (i, text) in titles.iter().enumerate() {
        assert!(text.contains(&format!("Incident {i}:")), "message {i} out of order: {titles:?}");
    }
    assert_eq!(fixed.breaker().state(Destination::Chat).await.unwrap().state, BreakerState::Closed);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_replay_looks_up_every_attempted_create_of_its_batch_in_one_search() {
    const ATTEMPTED: usize = 3;
    let h = Harness::start_with(|c| c.request_timeout = Duration::from_secs(2), SLACK_FAKE_TOKEN).await;
    // Each create reaches Jira, but its answer comes after the client gave up.
    h.jira.succeed_slowly_next(ATTEMPTED, Duration::from_millis(2500));
    let tickets: Vec<NewTicket> = (0..ATTEMPTED).map(ticket).collect();
    // One open after the other, each started once the previous create is in Jira: the earlier
    // messages are then leased by their senders, so every open sends its own create.
    let mut opens = Vec::new();
    for (i, t) in tickets.iter().cloned().enumerate() {
        let notifier = Arc::clone(&h.notifier);
        opens.push(tokio::spawn(async move { notifier.open(&t).await }));
        for _ in 0..400 {
            if h.jira.issues().len() > i {
                break;
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        assert_eq!(h.jira.issues().len(), i + 1, "create {i} reached Jira");
    }
    for open in opens {
        let reference = open.await.unwrap().unwrap();
        assert!(reference.starts_with("outbox:"), "{reference}");
    }
    assert_eq!(h.jira.issues().len(), ATTEMPTED);
    let attempts: Vec<(EntryStatus, i32)> = all_entries(&h).await.iter().map(|e| (e.status, e.attempts)).collect();
    assert_eq!(attempts, [(EntryStatus::Queued, 1); ATTEMPTED], "each create was attempted once");
    assert!(h.jira.searches().is_empty());

    let report = h.notifier.replay(100).await.unwrap();
    assert_eq!(report.destinations[&Destination::Tickets].delivered, ATTEMPTED, "{report:?}");
    let searches = h.jira.searches();
    assert_eq!(searches.len(), 1, "one bulk search for the batch: {searches:?}");
    let searched: BTreeSet<&String> = searches[0].labels.iter().collect();
    let labels: Vec<String> = tickets.iter().map(|t| delivery_label(&open_key(t))).collect();
    assert_eq!(searched, labels.iter().collect());
    assert_eq!(h.jira.issues().len(), ATTEMPTED, "found, not created again");
    for (t, label) in tickets.iter().zip(&labels) {
        let entry = h.notifier.outbox().get(&open_key(t)).await.unwrap().unwrap();
        let key = entry.remote_id.unwrap();
        assert!(h.jira.issue(&key).unwrap().labels.contains(label), "{key} carries {label}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_outbox_pages_and_counts_a_mixed_run() {
    let h = Harness::start().await;
    assert_eq!(h.notifier.open(&ticket(1)).await.unwrap(), "SEC-1");
    h.jira.fail_next(1, 400);
    h.notifier.open(&ticket(2)).await.unwrap_err();
    assert_eq!(h.notifier.open(&ticket(3)).await.unwrap(), "SEC-2");
    h.notifier.comment("SEC-1", "Owner notified.").await.unwrap();
    h.slack.error_next(1, "channel_not_found");
    let started = BatchStarted {
        run_id: "run-mixed".into(),
        workflow: "triage".into(),
        findings: 3,
        started_at: "2026-11-21T10:00:00Z".into(),
    };
    assert_eq!(h.notifier.batch_started(started).await.unwrap().status, EntryStatus::Queued);

    let outbox = h.notifier.outbox();
    assert_eq!(
        outbox.counts().await.unwrap(),
        BTreeMap::from([
            ((Destination::Tickets, EntryStatus::Delivered), 3),
            ((Destination::Tickets, EntryStatus::Rejected), 1),
            ((Destination::Chat, EntryStatus::Queued), 1),
        ])
    );

    // Pages of two, each after the last seq seen: every entry once, in order.
    let mut seen: Vec<OutboxEntry> = Vec::new();
    let mut after = 0;
    for _ in 0..10 {
        let page = outbox.page(after, 2, None).await.unwrap();
        assert!(page.len() <= 2);
        let Some(last) = page.last() else { break };
        after = last.seq;
        seen.extend(page);
    }
    assert!(seen.windows(2).all(|w| w[0].seq < w[1].seq), "in seq order");
    let rows: Vec<(&str, EntryStatus)> = seen.iter().map(|e| (e.purpose.as_str(), e.status)).collect();
    assert_eq!(
        rows,
        [
            ("open_ticket:team", EntryStatus::Delivered),
            ("open_ticket:team", EntryStatus::Rejected),
            ("open_ticket:team", EntryStatus::Delivered),
            ("comment", EntryStatus::Delivered),
            ("batch_started", EntryStatus::Queued),
        ]
    );
    assert_eq!(seen, all_entries(&h).await);

    let rejected = outbox.page(0, 10, Some(EntryStatus::Rejected)).await.unwrap();
    assert_eq!(rejected.iter().map(|e| e.key.as_str()).collect::<Vec<_>>(), [open_key(&ticket(2))]);
    let queued = outbox.page(0, 10, Some(EntryStatus::Queued)).await.unwrap();
    assert_eq!(queued.len(), 1);
    assert!(queued[0].last_error.as_deref().is_some_and(|e| e.contains("channel_not_found")), "{queued:?}");
    let delivered_after_second = outbox.page(seen[1].seq, 10, Some(EntryStatus::Delivered)).await.unwrap();
    let remote: Vec<Option<&str>> = delivered_after_second.iter().map(|e| e.remote_id.as_deref()).collect();
    assert_eq!(remote, [Some("SEC-2"), Some("SEC-1")]);
}
