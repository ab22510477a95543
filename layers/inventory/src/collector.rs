//! The one collector contract. A collector fetches response pages from one source and hands each
//! page to a [`RecordSink`] together with the [`Table`] declaration it belongs to; the sink finds
//! the records in the page and loads them. Collectors never touch the database themselves.

use crate::error::Result;
use crate::schema::Table;
use futures::future::BoxFuture;
use serde_json::Value;

/// Where a collector's records go.
#[async_trait::async_trait]
pub trait RecordSink: Send {
    /// One response page of `table` as the vendor returned it (an AWS response in the shape the AWS
    /// CLI prints, a Falcon or Cloudflare JSON body). `parent` is the id of the resource the page
    /// was fetched for, when `table.parent` is declared.
    async fn page(&mut self, table: &'static Table, parent: Option<&str>, page: Value) -> Result<()>;
}

/// How often an AWS collector runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AwsScope {
    /// Once per account and region.
    Regional,
    /// Once per account (S3, CloudFront, Route 53); its records have region `global`.
    Global,
}

/// One account and region to collect, with a read-only session in it.
#[derive(Debug, Clone)]
pub struct AwsTarget {
    pub account_id: String,
    /// `global` for global collectors (their SDK config still names a real region to sign for).
    pub region: String,
    pub sdk: aws_config::SdkConfig,
}

pub type FetchAws = for<'a> fn(&'a AwsTarget, &'a mut dyn RecordSink) -> BoxFuture<'a, Result<()>>;

/// An AWS collector: what it fills and how it fetches, declared as data.
#[derive(Debug)]
pub struct AwsCollector {
    /// e.g. `ec2.instances`; shown in snapshot source runs and errors.
    pub name: &'static str,
    pub scope: AwsScope,
    /// The tables it fills. Its run fails or lands as a whole.
    pub tables: &'static [&'static Table],
    /// The IAM actions it calls (the collector role's policy is their union).
    pub actions: &'static [&'static str],
    pub fetch: FetchAws,
}

/// A collector of a vendor outside AWS (Falcon, Cloudflare): runs once per collection.
#[async_trait::async_trait]
pub trait VendorCollector: Send + Sync + std::fmt::Debug {
    fn name(&self) -> &'static str;
    fn tables(&self) -> &'static [&'static Table];
    async fn collect(&self, out: &mut dyn RecordSink) -> Result<()>;
}
