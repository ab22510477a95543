//! `secops-inventory`: the data layer the rest of the product reads from. Read-only collectors
//! (AWS across accounts and regions, CrowdStrike Falcon, Cloudflare, or a folder of recorded
//! responses) load immutable PostgreSQL snapshots; reconciliation classifies every instance and
//! Falcon host, checks S3 and RDS posture, flattens the VPC topology into reachability and attack
//! paths, and SQL views answer the canonical questions.
#![forbid(unsafe_code)]

pub mod collect;
pub mod collector;
pub mod error;
pub mod fixtures;
pub mod load;
pub mod network;
pub mod offline;
pub mod query;
pub mod reconcile;
pub mod schema;
pub mod setup;
pub mod snapshot;
pub mod sources;
pub mod step;

pub use collect::{collect, collect_from_dir, AwsEstate, CollectPlan};
pub use collector::{AwsCollector, AwsScope, AwsTarget, RecordSink, VendorCollector};
pub use error::{InventoryError, Result};
pub use schema::{Column, ColumnType, Extract, Placement, Table};
pub use snapshot::SnapshotSummary;
pub use sources::cloudflare::{CloudflareCollector, CloudflareConfig};
pub use sources::falcon::{FalconCollector, FalconConfig};
pub use sources::http::HttpPolicy;
