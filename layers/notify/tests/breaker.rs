//! The breaker stores (PostgreSQL, and DynamoDB on moto_server) against one contract, and the
//! breaker's behaviour over each of them: the full closed → open → half-open → closed cycle on a
//! manual clock, one probe among many concurrent workers, and one opening among many concurrent
//! failures (the compare-and-swap retries under contention instead of failing or double-logging).

use std::sync::Arc;

use aws_sdk_dynamodb::types::{AttributeDefinition, BillingMode, KeySchemaElement, KeyType, ScalarAttributeType};
use secops_aws::testing::MotoServer;
use secops_aws::{load_sdk_config, AwsSettings};
use secops_core::clock::ManualClock;
use secops_notify::breaker::dynamodb::DynamoBreakerStore;
use secops_notify::breaker::postgres::PgBreakerStore;
use secops_notify::breaker::{Admission, Breaker, BreakerRow, BreakerSettings, BreakerState, BreakerStore, Transition};
use secops_notify::Destination;
use secops_store::testing::TestDb;
use time::macros::datetime;
use time::{Duration, OffsetDateTime};
use tokio::sync::Barrier;

use BreakerState::{Closed, HalfOpen, Open};

/// Whole seconds: both stores keep at least that precision.
const T0: OffsetDateTime = datetime!(2026-11-21 12:00 UTC);
/// Workers racing in the concurrency checks.
const RACERS: usize = 20;

fn secs(n: i64) -> Duration {
    Duration::seconds(n)
}

fn transition(
    destination: Destination,
    at: OffsetDateTime,
    from: BreakerState,
    to: BreakerState,
    reason: &str,
) -> Transition {
    Transition { destination, at, from, to, reason: reason.into() }
}

fn story(log: &[Transition]) -> Vec<(BreakerState, BreakerState)> {
    log.iter().map(|t| (t.from, t.to)).collect()
}

// ---- the stores ----

async fn pg_store() -> (TestDb, Arc<dyn BreakerStore>) {
    let db = TestDb::new().await;
    let store = Arc::new(PgBreakerStore::new(db.pool.clone()));
    (db, store)
}

/// A moto_server with a fresh state table shaped like the product's (one string hash key `pk`).
async fn dynamo_store() -> (MotoServer, Arc<dyn BreakerStore>) {
    let server = MotoServer::start();
    let config = load_sdk_config(&AwsSettings::for_endpoint(&server.endpoint, "us-east-1")).await;
    let table = "secops-state";
    aws_sdk_dynamodb::Client::new(&config)
        .create_table()
        .table_name(table)
        .billing_mode(BillingMode::PayPerRequest)
        .attribute_definitions(
            AttributeDefinition::builder().attribute_name("pk").attribute_type(ScalarAttributeType::S).build().unwrap(),
        )
        .key_schema(KeySchemaElement::builder().attribute_name("pk").key_type(KeyType::Hash).build().unwrap())
        .send()
        .await
        .unwrap();
    (server, Arc::new(DynamoBreakerStore::new(&config, table)))
}

// ---- the store contract ----

/// What every [`BreakerStore`] must do. Expects a store that holds nothing yet.
async fn contract(store: Arc<dyn BreakerStore>) {
    for d in Destination::ALL {
        assert_eq!(store.load(d).await.unwrap(), None, "{d} was never written");
        assert!(store.transitions(d, 10).await.unwrap().is_empty(), "{d} has no log yet");
    }

    // The first write inserts; a second "first" write loses and changes nothing.
    let tickets = Destination::Tickets;
    let opened = BreakerRow {
        destination: tickets,
        state: Open,
        consecutive_failures: 5,
        open_until: Some(T0 + secs(60)),
        probe_until: None,
        last_error: Some("jira create issue: answered 500 Internal Server Error".into()),
        changed_at: T0,
        version: 1,
    };
    let opening = transition(tickets, T0, Closed, Open, "5 consecutive failures, the last: 500");
    assert!(store.swap(None, &opened, Some(&opening)).await.unwrap(), "the first insert wins");
    let rival = BreakerRow { state: Closed, consecutive_failures: 1, open_until: None, ..opened.clone() };
    let rival_log = transition(tickets, T0, Closed, HalfOpen, "a rival insert");
    assert!(!store.swap(None, &rival, Some(&rival_log)).await.unwrap(), "a second insert loses");
    assert_eq!(store.load(tickets).await.unwrap().as_ref(), Some(&opened), "every field round-trips");
    assert_eq!(store.transitions(tickets, 10).await.unwrap(), vec![opening.clone()]);

    // A stale (or future) version loses and changes neither the row nor the log.
    let probing = BreakerRow {
        state: HalfOpen,
        probe_until: Some(T0 + secs(90)),
        changed_at: T0 + secs(60),
        version: 2,
        ..opened.clone()
    };
    let half_open = transition(tickets, T0 + secs(60), Open, HalfOpen, "open period over: one probe may go");
    for stale in [0, 2, 7] {
        assert!(
            !store.swap(Some(stale), &probing, Some(&half_open)).await.unwrap(),
            "version {stale} is not the stored one"
        );
    }
    assert_eq!(store.load(tickets).await.unwrap().as_ref(), Some(&opened));
    assert_eq!(store.transitions(tickets, 10).await.unwrap(), vec![opening.clone()]);

    // The current version wins; a write without a transition leaves the log alone, and fields
    // written as None are cleared.
    assert!(store.swap(Some(1), &probing, Some(&half_open)).await.unwrap());
    assert_eq!(store.load(tickets).await.unwrap().as_ref(), Some(&probing));
    let closed = BreakerRow {
        state: Closed,
        consecutive_failures: 0,
        open_until: None,
        probe_until: None,
        last_error: None,
        changed_at: T0 + secs(61),
        version: 3,
        ..opened.clone()
    };
    assert!(store.swap(Some(2), &closed, None).await.unwrap());
    assert_eq!(store.load(tickets).await.unwrap().as_ref(), Some(&closed));
    let tickets_log = vec![opening, half_open];
    assert_eq!(store.transitions(tickets, 10).await.unwrap(), tickets_log);

    // The log keeps its order; a limit returns the most recent ones, oldest first.
    let chat = Destination::Chat;
    let states = [Closed, Open, HalfOpen, Open, HalfOpen, Closed, Open, HalfOpen];
    let mut chat_log = Vec::new();
    for (i, pair) in states.windows(2).enumerate() {
        let n = i as i64 + 1;
        let at = T0 + secs(10 * n);
        let row = BreakerRow {
            destination: chat,
            state: pair[1],
            consecutive_failures: 0,
            open_until: None,
            probe_until: None,
            last_error: None,
            changed_at: at,
            version: n,
        };
        let t = transition(chat, at, pair[0], pair[1], &format!("step {n}"));
        let expected = if n == 1 { None } else { Some(n - 1) };
        assert!(store.swap(expected, &row, Some(&t)).await.unwrap(), "chat write {n}");
        chat_log.push(t);
    }
    assert_eq!(chat_log.len(), 7);
    assert_eq!(store.transitions(chat, 3).await.unwrap(), chat_log[4..].to_vec());
    assert_eq!(store.transitions(chat, 1).await.unwrap(), chat_log[6..].to_vec());
    assert_eq!(store.transitions(chat, 7).await.unwrap(), chat_log);
    assert_eq!(store.transitions(chat, 100).await.unwrap(), chat_log);
    assert!(store.transitions(chat, 0).await.unwrap().is_empty());

    // Destinations are independent: chat's writes left tickets alone, e-mail is still unwritten,
    // and a version of another destination's row does not match one that does not exist.
    assert_eq!(store.load(tickets).await.unwrap().as_ref(), Some(&closed));
    assert_eq!(store.transitions(tickets, 10).await.unwrap(), tickets_log);
    let email_row = BreakerRow { destination: Destination::Email, version: 8, ..closed.clone() };
    assert!(!store.swap(Some(7), &email_row, None).await.unwrap(), "e-mail has no row at version 7");
    assert_eq!(store.load(Destination::Email).await.unwrap(), None);
    assert!(store.transitions(Destination::Email, 10).await.unwrap().is_empty());
    assert_eq!(store.load(chat).await.unwrap().map(|r| (r.state, r.version)), Some((HalfOpen, 7)));
}

// ---- the breaker over a store ----

/// `RACERS` tasks call `admit` at the same instant.
async fn race_admissions(breaker: &Breaker, destination: Destination) -> Vec<Admission> {
    let start = Arc::new(Barrier::new(RACERS));
    let racers: Vec<_> = (0..RACERS)
        .map(|_| {
            let (breaker, start) = (breaker.clone(), Arc::clone(&start));
            tokio::spawn(async move {
                start.wait().await;
                breaker.admit(destination).await
            })
        })
        .collect();
    let mut admissions = Vec::new();
    for racer in racers {
        admissions.push(racer.await.unwrap().unwrap());
    }
    admissions
}

/// Closed → five failures → open → refused until the open period ends → exactly one of many
/// concurrent workers probes → the probe fails → open again → the next probe succeeds → closed.
async fn full_cycle(store: Arc<dyn BreakerStore>) {
    let clock = Arc::new(ManualClock::new(T0));
    let settings = BreakerSettings::default();
    assert_eq!(
        (settings.failure_threshold, settings.open_for.as_secs(), settings.probe_timeout.as_secs()),
        (5, 60, 30)
    );
    let breaker = Breaker::new(Arc::clone(&store), settings, clock.clone());
    let d = Destination::Tickets;

    assert_eq!(breaker.admit(d).await.unwrap(), Admission::Send);
    for failures in 1..=4 {
        assert_eq!(breaker.record(d, Some("500")).await.unwrap(), None, "failure {failures} keeps it closed");
        let row = breaker.state(d).await.unwrap();
        assert_eq!((row.state, row.consecutive_failures), (Closed, failures));
        assert_eq!(breaker.admit(d).await.unwrap(), Admission::Send);
    }
    let opened = breaker.record(d, Some("500")).await.unwrap().expect("the fifth failure opens it");
    assert_eq!((opened.from, opened.to, opened.at), (Closed, Open, T0));
    assert_eq!(opened.reason, "5 consecutive failures, the last: 500");

    clock.advance(secs(59));
    assert_eq!(breaker.admit(d).await.unwrap(), Admission::Refuse { until: T0 + secs(60) });

    // The open period is over: twenty workers ask at once, one wins the probe.
    clock.advance(secs(1));
    let admissions = race_admissions(&breaker, d).await;
    let probes = admissions.iter().filter(|a| **a == Admission::Probe).count();
    assert_eq!(probes, 1, "{admissions:?}");
    let probe_until = T0 + secs(60 + 30);
    assert!(
        admissions.iter().all(|a| *a == Admission::Probe || *a == Admission::Refuse { until: probe_until }),
        "the others wait for the probe: {admissions:?}"
    );
    assert_eq!(breaker.state(d).await.unwrap().state, HalfOpen);

    // The probe fails: open again for a full period from now.
    clock.advance(secs(2));
    let reopened = breaker.record(d, Some("timeout")).await.unwrap().expect("a failed probe opens it");
    assert_eq!((reopened.from, reopened.to), (HalfOpen, Open));
    assert!(reopened.reason.starts_with("the probe failed: timeout"), "{}", reopened.reason);
    let open_until = T0 + secs(62 + 60);
    assert_eq!(breaker.admit(d).await.unwrap(), Admission::Refuse { until: open_until });

    // The next probe succeeds and closes it.
    clock.advance(secs(60));
    let admissions = race_admissions(&breaker, d).await;
    assert_eq!(admissions.iter().filter(|a| **a == Admission::Probe).count(), 1, "{admissions:?}");
    let closed = breaker.record(d, None).await.unwrap().expect("a successful probe closes it");
    assert_eq!((closed.from, closed.to), (HalfOpen, Closed));
    assert_eq!(breaker.admit(d).await.unwrap(), Admission::Send);
    let row = breaker.state(d).await.unwrap();
    assert_eq!((row.state, row.consecutive_failures, row.open_until, row.probe_until), (Closed, 0, None, None));

    let log = store.transitions(d, 50).await.unwrap();
    assert_eq!(
        story(&log),
        vec![(Closed, Open), (Open, HalfOpen), (HalfOpen, Open), (Open, HalfOpen), (HalfOpen, Closed)],
        "{log:#?}"
    );
    assert_eq!(log[0], opened);
    assert_eq!(log[2], reopened);
    assert_eq!(log[4], closed);
}

/// Twenty concurrent failures on a closed breaker: every call succeeds (lost compare-and-swap
/// rounds are retried), the breaker opens once, and failures after the opening are not counted.
async fn concurrent_failures_open_it_once(store: Arc<dyn BreakerStore>) {
    let clock = Arc::new(ManualClock::new(T0));
    let breaker = Breaker::new(Arc::clone(&store), BreakerSettings::default(), clock);
    let d = Destination::Chat;
    let start = Arc::new(Barrier::new(RACERS));
    let racers: Vec<_> = (0..RACERS)
        .map(|_| {
            let (breaker, start) = (breaker.clone(), Arc::clone(&start));
            tokio::spawn(async move {
                start.wait().await;
                breaker.record(d, Some("500")).await
            })
        })
        .collect();
    let mut opened = Vec::new();
    for racer in racers {
        let recorded = racer.await.unwrap();
        let transition = recorded.unwrap_or_else(|e| panic!("a concurrent record failed: {e}"));
        opened.extend(transition);
    }
    assert_eq!(story(&opened), vec![(Closed, Open)], "exactly one caller opened it");
    let log = store.transitions(d, 50).await.unwrap();
    assert_eq!(log, opened, "and the log has that one transition");
    let row = breaker.state(d).await.unwrap();
    assert_eq!((row.state, row.consecutive_failures, row.version), (Open, 5, 5), "{row:?}");
}

/// A success on a healthy breaker writes nothing (hot path: one read, no write); a success after
/// failures resets the count once.
async fn a_success_on_a_healthy_breaker_writes_nothing(store: Arc<dyn BreakerStore>) {
    let clock = Arc::new(ManualClock::new(T0));
    let breaker = Breaker::new(Arc::clone(&store), BreakerSettings::default(), clock.clone());
    let d = Destination::Email;

    assert_eq!(breaker.record(d, None).await.unwrap(), None);
    assert_eq!(store.load(d).await.unwrap(), None, "nothing written for a destination that never failed");

    breaker.record(d, Some("503")).await.unwrap();
    clock.advance(secs(5));
    breaker.record(d, None).await.unwrap();
    let reset = store.load(d).await.unwrap().expect("the failure and its reset were written");
    assert_eq!(
        (reset.state, reset.consecutive_failures, reset.version, reset.changed_at),
        (Closed, 0, 2, T0 + secs(5))
    );

    clock.advance(secs(5));
    for _ in 0..3 {
        assert_eq!(breaker.record(d, None).await.unwrap(), None);
    }
    assert_eq!(store.load(d).await.unwrap(), Some(reset), "version and time unchanged: no write");
    assert!(store.transitions(d, 10).await.unwrap().is_empty(), "it never changed state");
}

// ---- PostgreSQL ----

#[tokio::test]
async fn the_postgres_store_keeps_the_contract() {
    let (_db, store) = pg_store().await;
    contract(store).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn over_postgres_the_breaker_opens_lets_one_probe_through_and_closes() {
    let (_db, store) = pg_store().await;
    full_cycle(store).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn over_postgres_concurrent_failures_open_the_breaker_once() {
    let (_db, store) = pg_store().await;
    concurrent_failures_open_it_once(store).await;
}

#[tokio::test]
async fn over_postgres_a_success_on_a_healthy_breaker_writes_nothing() {
    let (_db, store) = pg_store().await;
    a_success_on_a_healthy_breaker_writes_nothing(store).await;
}

// ---- DynamoDB ----

#[tokio::test]
async fn the_dynamodb_store_keeps_the_contract() {
    let (_moto, store) = dynamo_store().await;
    contract(store).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn over_dynamodb_the_breaker_opens_lets_one_probe_through_and_closes() {
    let (_moto, store) = dynamo_store().await;
    full_cycle(store).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn over_dynamodb_concurrent_failures_open_the_breaker_once() {
    let (_moto, store) = dynamo_store().await;
    concurrent_failures_open_it_once(store).await;
}

#[tokio::test]
async fn over_dynamodb_a_success_on_a_healthy_breaker_writes_nothing() {
    let (_moto, store) = dynamo_store().await;
    a_success_on_a_healthy_breaker_writes_nothing(store).await;
}
