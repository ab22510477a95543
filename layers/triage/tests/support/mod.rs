//! A small generated estate in a fresh database, shared by the triage tests that need context.

#![allow(dead_code)]

use secops_inventory::fixtures::{generate, EstateSpec, MIN_INSTANCES};
use secops_store::testing::TestDb;

/// The small estate the context tests read: two accounts, a few dozen instances, and enough
/// findings that every one of the five sources has some.
pub fn small_spec() -> EstateSpec {
    EstateSpec { accounts: 2, instances: MIN_INSTANCES.max(24), findings: 80, ..Default::default() }
}

/// A fresh migrated database holding the collected and reconciled estate of `spec`. The folder
/// is returned so it lives as long as the test.
pub async fn estate_db_with(spec: &EstateSpec) -> (TestDb, tempfile::TempDir) {
    let db = TestDb::new().await;
    let dir = tempfile::tempdir().expect("a temporary folder");
    generate(spec, dir.path()).expect("the estate generates");
    let snapshot = secops_inventory::collect_from_dir(&db.pool, dir.path(), 4).await.expect("the estate collects");
    secops_inventory::reconcile::reconcile(&db.pool, Some(snapshot.snapshot_id)).await.expect("the estate reconciles");
    (db, dir)
}

/// [`estate_db_with`] on [`small_spec`].
pub async fn estate_db() -> (TestDb, tempfile::TempDir) {
    estate_db_with(&small_spec()).await
}
