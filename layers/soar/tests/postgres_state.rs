//! The PostgreSQL hot state store against the adapter contract both stores share.

mod common;

use std::sync::Arc;

use secops_soar::state::postgres::PgStateStore;
use secops_store::testing::TestDb;

#[tokio::test]
async fn postgres_state_store_meets_the_contract() {
    let db = TestDb::new().await;
    let store = PgStateStore::new(db.pool.clone());
    common::state_contract::check_state_store(&store).await;
    common::state_contract::check_concurrent_claims(Arc::new(store)).await;
}

#[tokio::test]
async fn postgres_keeps_closed_tickets_as_history() {
    let db = TestDb::new().await;
    let store = PgStateStore::new(db.pool.clone());
    let t0 = time::macros::datetime!(2026-03-01 00:00 UTC);
    let mut ticket = secops_soar::state::TicketRecord {
        finding_id: "history-1".into(),
        ticket_id: "LOCAL-FIRST".into(),
        kind: secops_soar::state::TicketKind::Team,
        account_id: "111122223333".into(),
        control_id: Some("S3.8".into()),
        title: "t".into(),
        severity: "LOW".into(),
        environment: None,
        team: None,
        penalty_score: 0.37,
        opened_at: t0,
        closed_at: None,
        reminders: vec![],
        expires_at: None,
    };
    assert!(secops_soar::state::StateStore::insert_ticket(&store, &ticket).await.unwrap());
    secops_soar::state::StateStore::close_ticket(
        &store,
        "history-1",
        t0 + time::Duration::hours(1),
        t0 + time::Duration::days(1),
    )
    .await
    .unwrap();
    ticket.opened_at = t0 + time::Duration::days(2);
    ticket.ticket_id = "LOCAL-SECOND".into();
    assert!(secops_soar::state::StateStore::insert_ticket(&store, &ticket).await.unwrap());
    let client = db.pool.get().await.unwrap();
    let n: i64 =
        client.query_one("SELECT count(*) FROM tickets WHERE finding_id = 'history-1'", &[]).await.unwrap().get(0);
    assert_eq!(n, 2, "the closed ticket is kept beside the new open one");
    let current = secops_soar::state::StateStore::ticket(&store, "history-1").await.unwrap().unwrap();
    assert_eq!(current.ticket_id, "LOCAL-SECOND");
}
