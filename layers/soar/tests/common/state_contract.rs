//! The behavioural contract of [`StateStore`], written once and run against every adapter
//! (DynamoDB on moto, PostgreSQL), so the two cannot drift apart.
//!
//! Every call uses ids of its own, so the contract can run on a store that already holds data,
//! including data of earlier runs. Times are whole seconds (except where ordering of fractions is
//! the point) because DynamoDB keeps leases and expiries in epoch seconds.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::Duration;

use secops_core::scratchpad::AccountData;
use secops_soar::state::{
    Claim, ClaimKey, DeadLetter, EnabledControls, IncidentRecord, StateStore, StoredPolicy, TicketKind, TicketRecord,
};
use secops_soar::SoarError;
use serde_json::json;
use time::macros::datetime;
use time::OffsetDateTime;

/// The clock of the claim checks; fixed, so lease arithmetic is exact.
const T0: OffsetDateTime = datetime!(2030-01-01 00:00:00 UTC);
const LEASE: Duration = Duration::from_secs(60);

/// Check every operation of `store` and its edge cases.
pub async fn check_state_store(store: &dyn StateStore) {
    let run = format!("contract-{}", uuid::Uuid::new_v4().simple());
    claims_lease_take_over_and_complete(store, &run).await;
    release_frees_only_the_owners_claim(store, &run).await;
    ticket_lifecycle(store, &run).await;
    open_tickets_oldest_first_without_closed(store, &run).await;
    reminders_once_per_name_on_open_tickets_only(store, &run).await;
    account_cache_until_expiry(store, &run).await;
    enabled_controls_round_trip(store, &run).await;
    policy_round_trip(store, &run).await;
    dead_letters_keep_first_newest_first(store, &run).await;
    incidents_once_per_update(store, &run).await;
}

/// Twenty tasks race for one key at the same instant: exactly one acquires it, and every other
/// one is told that this winner holds it.
pub async fn check_concurrent_claims(store: Arc<dyn StateStore>) {
    const RACERS: usize = 20;
    let key = ClaimKey::new(&format!("race-{}", uuid::Uuid::new_v4().simple()), "remediate", "2030-01-01T00:00:00Z");
    let start = Arc::new(tokio::sync::Barrier::new(RACERS));
    let racers: Vec<_> = (0..RACERS)
        .map(|i| {
            let (store, key, start) = (Arc::clone(&store), key.clone(), Arc::clone(&start));
            tokio::spawn(async move {
                let owner = format!("racer-{i}");
                start.wait().await;
                let claim = store.claim(&key, &owner, T0, LEASE).await;
                (owner, claim)
            })
        })
        .collect();
    let mut winners = Vec::new();
    let mut holders_seen = BTreeSet::new();
    for racer in racers {
        let (owner, claim) = racer.await.expect("racer task panicked");
        match claim.unwrap_or_else(|e| panic!("{owner}: {e}")) {
            Claim::Acquired => winners.push(owner),
            Claim::InProgress { owner: holder, lease_until } => {
                assert_eq!(lease_until, T0 + LEASE, "{owner} saw another lease end");
                holders_seen.insert(holder);
            }
            done @ Claim::Done { .. } => panic!("{owner}: nobody completed the key, yet {done:?}"),
        }
    }
    assert_eq!(winners.len(), 1, "exactly one racer acquires the key: {winners:?}");
    assert_eq!(holders_seen, BTreeSet::from([winners[0].clone()]), "the losers all name the winner");
}

async fn claims_lease_take_over_and_complete(store: &dyn StateStore, run: &str) {
    let key = ClaimKey::new(&format!("{run}-claim"), "remediate", "2030-01-01T00:00:00Z");
    let held_by_a = Claim::InProgress { owner: "worker-a".into(), lease_until: T0 + LEASE };

    assert_eq!(store.claim(&key, "worker-a", T0, LEASE).await.unwrap(), Claim::Acquired);
    assert_eq!(store.claim(&key, "worker-b", T0 + secs(30), LEASE).await.unwrap(), held_by_a);
    assert_eq!(store.claim(&key, "worker-b", T0 + secs(59), LEASE).await.unwrap(), held_by_a, "last leased second");
    // The lease ends at lease_until: at that instant another owner takes over.
    assert_eq!(store.claim(&key, "worker-b", T0 + secs(60), LEASE).await.unwrap(), Claim::Acquired);
    assert_eq!(
        store.claim(&key, "worker-c", T0 + secs(61), LEASE).await.unwrap(),
        Claim::InProgress { owner: "worker-b".into(), lease_until: T0 + secs(120) },
        "the new owner's lease runs from its own claim"
    );
    // The owner's retry renews its own claim instead of being told someone holds it.
    assert_eq!(store.claim(&key, "worker-b", T0 + secs(90), LEASE).await.unwrap(), Claim::Acquired);
    assert_eq!(
        store.claim(&key, "worker-c", T0 + secs(121), LEASE).await.unwrap(),
        Claim::InProgress { owner: "worker-b".into(), lease_until: T0 + secs(150) },
        "the renewed lease runs from the renewal"
    );

    let result = json!({"ticket_id": "SEC-42", "score": 7.5, "steps": ["isolate", "snapshot"], "none": null});
    let lost = store.complete(&key, "worker-a", &json!({"late": true}), T0 + secs(3600)).await;
    assert!(matches!(lost, Err(SoarError::Conflict(_))), "the first owner lost its lease: {lost:?}");
    store.complete(&key, "worker-b", &result, T0 + secs(3600)).await.unwrap();
    let done = Claim::Done { result: result.clone() };
    assert_eq!(store.claim(&key, "worker-c", T0 + secs(120), LEASE).await.unwrap(), done);
    assert_eq!(store.claim(&key, "worker-b", T0 + secs(121), LEASE).await.unwrap(), done, "done for the owner too");
    // Releasing a done key does not undo it.
    store.release(&key, "worker-b").await.unwrap();
    assert_eq!(store.claim(&key, "worker-c", T0 + secs(122), LEASE).await.unwrap(), done);

    let never_claimed = ClaimKey::new(&format!("{run}-claim-none"), "remediate", "2030-01-01T00:00:00Z");
    let orphan = store.complete(&never_claimed, "worker-a", &result, T0 + secs(3600)).await;
    assert!(matches!(orphan, Err(SoarError::Conflict(_))), "completing an unclaimed key: {orphan:?}");
    assert_eq!(store.claim(&never_claimed, "worker-a", T0, LEASE).await.unwrap(), Claim::Acquired);
}

async fn release_frees_only_the_owners_claim(store: &dyn StateStore, run: &str) {
    let key = ClaimKey::new(&format!("{run}-release"), "ticket", "2030-01-01T00:00:00Z");
    assert_eq!(store.claim(&key, "worker-a", T0, LEASE).await.unwrap(), Claim::Acquired);

    store.release(&key, "worker-b").await.unwrap();
    assert_eq!(
        store.claim(&key, "worker-c", T0 + secs(1), LEASE).await.unwrap(),
        Claim::InProgress { owner: "worker-a".into(), lease_until: T0 + LEASE },
        "a foreign release leaves the claim alone"
    );
    store.release(&key, "worker-a").await.unwrap();
    assert_eq!(store.claim(&key, "worker-c", T0 + secs(1), LEASE).await.unwrap(), Claim::Acquired, "free at once");

    let missing = ClaimKey::new(&format!("{run}-release-none"), "ticket", "2030-01-01T00:00:00Z");
    store.release(&missing, "worker-a").await.unwrap();
}

async fn ticket_lifecycle(store: &dyn StateStore, run: &str) {
    let finding = format!("{run}-ticket");
    let opened_at = datetime!(2030-02-01 08:00:00 UTC);
    assert_eq!(store.ticket(&finding).await.unwrap(), None);

    let first = full_ticket(&finding, "SEC-1", opened_at);
    assert!(store.insert_ticket(&first).await.unwrap());
    assert_eq!(store.ticket(&finding).await.unwrap().as_ref(), Some(&first));
    let duplicate = full_ticket(&finding, "SEC-2", opened_at + secs(5));
    assert!(!store.insert_ticket(&duplicate).await.unwrap(), "one open ticket per finding");
    assert_eq!(store.ticket(&finding).await.unwrap().as_ref(), Some(&first), "the first one stays");

    let closed_at = opened_at + secs(3 * 3600);
    let expires_at = closed_at + secs(90 * 86_400);
    let closed = store.close_ticket(&finding, closed_at, expires_at).await.unwrap().expect("an open ticket closes");
    assert_eq!(closed, TicketRecord { closed_at: Some(closed_at), expires_at: Some(expires_at), ..first.clone() });
    assert!(!closed.is_open());
    assert_eq!(closed.duration_seconds(), Some(3 * 3600));
    assert_eq!(store.ticket(&finding).await.unwrap().as_ref(), Some(&closed), "the closed row is kept");
    assert_eq!(store.close_ticket(&finding, closed_at + secs(1), expires_at).await.unwrap(), None, "closed twice");
    assert_eq!(store.close_ticket(&format!("{run}-ticket-none"), closed_at, expires_at).await.unwrap(), None);

    let already_closed = TicketRecord { closed_at: Some(closed_at), ..full_ticket(&finding, "SEC-3", opened_at) };
    let refused = store.insert_ticket(&already_closed).await;
    assert!(matches!(refused, Err(SoarError::InvalidInput(_))), "only open tickets are inserted: {refused:?}");

    // The finding fails again: a new ticket replaces the closed one.
    let reopened = full_ticket(&finding, "SEC-4", closed_at + secs(86_400));
    assert!(store.insert_ticket(&reopened).await.unwrap());
    assert_eq!(store.ticket(&finding).await.unwrap().as_ref(), Some(&reopened));

    let bare_finding = format!("{run}-ticket-bare");
    let bare = TicketRecord {
        kind: TicketKind::Incident,
        control_id: None,
        environment: None,
        team: None,
        penalty_score: 0.0,
        ..full_ticket(&bare_finding, "SOC-1", opened_at)
    };
    assert!(store.insert_ticket(&bare).await.unwrap());
    assert_eq!(store.ticket(&bare_finding).await.unwrap().as_ref(), Some(&bare), "absent optional fields round-trip");
}

async fn open_tickets_oldest_first_without_closed(store: &dyn StateStore, run: &str) {
    let base = datetime!(2030-03-01 00:00:00 UTC);
    let tickets = [
        ("a", base + secs(20)),
        ("b", base + secs(10)),
        // A fraction of a second and another offset must not upset the order.
        ("c", base + time::Duration::milliseconds(10_500)),
        ("d", (base + secs(30)).to_offset(time::macros::offset!(+02:00))),
        ("closed", base + secs(25)),
    ];
    for (suffix, opened_at) in tickets {
        let finding = format!("{run}-open-{suffix}");
        assert!(store.insert_ticket(&full_ticket(&finding, &format!("SEC-{suffix}"), opened_at)).await.unwrap());
    }
    let closed = format!("{run}-open-closed");
    store.close_ticket(&closed, base + secs(40), base + secs(86_400)).await.unwrap().expect("open");

    let open = store.open_tickets().await.unwrap();
    assert!(open.iter().all(|t| t.is_open()), "only open tickets are listed");
    assert!(open.windows(2).all(|w| w[0].opened_at <= w[1].opened_at), "oldest first across the whole store");
    let ours: Vec<&str> = open
        .iter()
        .filter_map(|t| t.finding_id.strip_prefix(run).and_then(|rest| rest.strip_prefix("-open-")))
        .collect();
    assert_eq!(ours, ["b", "c", "a", "d"]);
    let d = open.iter().find(|t| t.finding_id.ends_with("-open-d") && t.finding_id.starts_with(run)).expect("d");
    assert_eq!(d.opened_at, base + secs(30), "the same instant, whatever the offset");
}

async fn reminders_once_per_name_on_open_tickets_only(store: &dyn StateStore, run: &str) {
    let finding = format!("{run}-remind");
    let opened_at = datetime!(2030-04-01 00:00:00 UTC);
    assert!(store.insert_ticket(&full_ticket(&finding, "SEC-R", opened_at)).await.unwrap());

    assert!(store.record_reminder(&finding, "deadline").await.unwrap());
    assert!(!store.record_reminder(&finding, "deadline").await.unwrap(), "one reminder per deadline");
    assert!(store.record_reminder(&finding, "escalation").await.unwrap());
    let reminders = ["deadline".to_owned(), "escalation".to_owned()];
    assert_eq!(store.ticket(&finding).await.unwrap().expect("ticket").reminders, reminders);

    assert!(!store.record_reminder(&format!("{run}-remind-none"), "deadline").await.unwrap(), "no ticket");
    store.close_ticket(&finding, opened_at + secs(60), opened_at + secs(86_400)).await.unwrap().expect("open");
    assert!(!store.record_reminder(&finding, "final").await.unwrap(), "a closed ticket gets no reminders");
    assert_eq!(store.ticket(&finding).await.unwrap().expect("ticket").reminders, reminders);
}

async fn account_cache_until_expiry(store: &dyn StateStore, run: &str) {
    let account_id = format!("{run}-account");
    let expires_at = T0 + secs(3600);
    let account = AccountData {
        id: Some(account_id.clone()),
        name: Some("payments-prod".into()),
        team_email: Some("payments@example.invalid".into()),
        team: Some("payments".into()),
        environment: Some("prod".into()),
        tags: BTreeMap::from([("owner".into(), "payments".into()), ("cost-centre".into(), "42".into())]),
        account_new: true,
        ..AccountData::default()
    };
    assert_eq!(store.cached_account(&account_id, T0).await.unwrap(), None);
    store.cache_account(&account, expires_at).await.unwrap();
    assert_eq!(store.cached_account(&account_id, T0).await.unwrap().as_ref(), Some(&account));
    assert_eq!(store.cached_account(&account_id, expires_at - secs(1)).await.unwrap().as_ref(), Some(&account));
    assert_eq!(store.cached_account(&account_id, expires_at).await.unwrap(), None, "expired at now");
    assert_eq!(store.cached_account(&account_id, expires_at + secs(1)).await.unwrap(), None);

    let refreshed = AccountData { environment: Some("staging".into()), account_new: false, ..account };
    store.cache_account(&refreshed, expires_at + secs(3600)).await.unwrap();
    assert_eq!(store.cached_account(&account_id, expires_at).await.unwrap(), Some(refreshed), "refreshed");
}

async fn enabled_controls_round_trip(store: &dyn StateStore, run: &str) {
    let account_id = format!("{run}-controls");
    assert_eq!(store.enabled_controls(&account_id, "eu-west-1").await.unwrap(), None);
    let some = EnabledControls {
        account_id: account_id.clone(),
        region: "eu-west-1".into(),
        controls: BTreeSet::from(["S3.8".into(), "EC2.19".into(), "IAM.1".into()]),
        synced_at: T0,
    };
    store.put_enabled_controls(&some).await.unwrap();
    assert_eq!(store.enabled_controls(&account_id, "eu-west-1").await.unwrap().as_ref(), Some(&some));
    assert_eq!(store.enabled_controls(&account_id, "us-east-1").await.unwrap(), None, "per region");

    let none = EnabledControls { controls: BTreeSet::new(), synced_at: T0 + secs(60), ..some };
    store.put_enabled_controls(&none).await.unwrap();
    assert_eq!(store.enabled_controls(&account_id, "eu-west-1").await.unwrap(), Some(none), "an empty set is kept");
}

async fn policy_round_trip(store: &dyn StateStore, run: &str) {
    let first = StoredPolicy {
        yaml: format!("# {run}\nsuppress: []\n"),
        sha256: "0".repeat(64),
        loaded_at: T0,
        source: "policy.yaml".into(),
    };
    store.put_policy(&first).await.unwrap();
    assert_eq!(store.policy().await.unwrap().as_ref(), Some(&first));
    let second = StoredPolicy {
        yaml: format!("# {run}\nsuppress:\n  - control: S3.8\n"),
        sha256: "f".repeat(64),
        loaded_at: T0 + secs(60),
        source: "built-in".into(),
    };
    store.put_policy(&second).await.unwrap();
    assert_eq!(store.policy().await.unwrap(), Some(second), "the last policy put is current");
}

async fn dead_letters_keep_first_newest_first(store: &dyn StateStore, run: &str) {
    // Microseconds apart (PostgreSQL keeps no finer) and after every earlier run's letters, so
    // no two letters in the store tie and "newest first" has one answer.
    let now = OffsetDateTime::now_utc();
    let base = now.replace_nanosecond(now.nanosecond() / 1000 * 1000).expect("a truncated nanosecond is valid");
    let micros = time::Duration::microseconds;
    let letter = |index: u32, error: &str, received_at: OffsetDateTime| DeadLetter {
        id: format!("{run}-event#{index}"),
        event_id: format!("{run}-event"),
        index: Some(index),
        error: error.into(),
        raw: json!({"Id": format!("finding-{index}"), "nested": {"list": [1, 2.5, "x"]}}),
        received_at,
    };
    let oldest = letter(0, "missing Severity", base);
    let middle = DeadLetter { index: None, ..letter(1, "not JSON", base + micros(1)) };
    let newest = letter(2, "unknown product", base + micros(2));
    for l in [&middle, &oldest, &newest] {
        store.put_dead_letter(l).await.unwrap();
    }
    // Recording the same input again keeps the first letter, even with a newer time.
    store.put_dead_letter(&letter(0, "a later error", base + micros(10))).await.unwrap();

    // The store may hold other letters: check the order over all of them, ours among them, and
    // that a limit takes the newest of that same order.
    let all = store.dead_letters(100_000).await.unwrap();
    assert!(all.windows(2).all(|w| w[0].received_at >= w[1].received_at), "newest first across the store");
    let event_id = format!("{run}-event");
    let ours: Vec<&DeadLetter> = all.iter().filter(|l| l.event_id == event_id).collect();
    assert_eq!(ours, [&newest, &middle, &oldest]);
    assert_eq!(store.dead_letters(2).await.unwrap(), all[..2]);
    assert_eq!(store.dead_letters(0).await.unwrap(), []);
}

async fn incidents_once_per_update(store: &dyn StateStore, run: &str) {
    let incident = IncidentRecord {
        finding_id: format!("{run}-incident"),
        updated_at: "2030-05-01T00:00:00.000Z".into(),
        account_id: "111122223333".into(),
        family: "credential_compromise".into(),
        finding_type: "TTPs/Credential Access".into(),
        severity: "CRITICAL".into(),
        title: "Root credentials used".into(),
        penalty_score: 90.0,
        responses: vec!["ticket".into(), "alert".into()],
        ticket_id: Some("SOC-7".into()),
        recorded_at: T0,
    };
    assert!(store.insert_incident(&incident).await.unwrap());
    let replay = IncidentRecord { title: "replayed".into(), recorded_at: T0 + secs(5), ..incident.clone() };
    assert!(!store.insert_incident(&replay).await.unwrap(), "same finding and UpdatedAt");
    let update = IncidentRecord { updated_at: "2030-05-01T01:00:00.000Z".into(), ticket_id: None, ..incident };
    assert!(store.insert_incident(&update).await.unwrap(), "a later update is a new record");
}

fn full_ticket(finding_id: &str, ticket_id: &str, opened_at: OffsetDateTime) -> TicketRecord {
    TicketRecord {
        finding_id: finding_id.into(),
        ticket_id: ticket_id.into(),
        kind: TicketKind::Team,
        account_id: "111122223333".into(),
        control_id: Some("S3.8".into()),
        title: "S3 general purpose buckets should block public access".into(),
        severity: "HIGH".into(),
        environment: Some("prod".into()),
        team: Some("platform".into()),
        penalty_score: 7.25,
        opened_at,
        closed_at: None,
        reminders: Vec::new(),
        expires_at: None,
    }
}

fn secs(seconds: i64) -> time::Duration {
    time::Duration::seconds(seconds)
}
