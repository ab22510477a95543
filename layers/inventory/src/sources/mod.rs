//! Every source, declared once. `AWS` and the vendor tables are what collection, the offline
//! reader and the schema check iterate over.

pub mod aws;
pub mod cloudflare;
pub mod falcon;
pub mod http;

use crate::schema::Table;

/// Every inventory table, in load order.
pub fn all_tables() -> Vec<&'static Table> {
    let mut tables: Vec<&'static Table> = aws::COLLECTORS.iter().flat_map(|c| c.tables.iter().copied()).collect();
    tables.extend(falcon::TABLES);
    tables.extend(cloudflare::TABLES);
    tables
}

/// The table called `name`.
pub fn table(name: &str) -> Option<&'static Table> {
    all_tables().into_iter().find(|t| t.name == name)
}
