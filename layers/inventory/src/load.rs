//! Loading records: each record is encoded as one line of PostgreSQL's COPY text format (the
//! declared columns, then the raw record) and written in large batches with `COPY … FROM STDIN`,
//! never row by row. The loader also notes the shape of every record (top-level keys and their
//! JSON types) for JSON-shape drift.

use crate::collector::RecordSink;
use crate::error::{InventoryError, Result};
use crate::schema::{extract, ColumnType, Placement, Table};
use bytes::Bytes;
use deadpool_postgres::Pool;
use futures::SinkExt;
use serde_json::Value;
use std::collections::{BTreeMap, HashMap};

/// Flush a table's buffer once it holds this many bytes: large enough for COPY to run at full
/// speed, small enough that a 50,000-host Falcon inventory never sits in memory whole.
const FLUSH_BYTES: usize = 4 << 20;

/// Per table: top-level key → JSON type → number of records.
pub type Shapes = BTreeMap<&'static str, BTreeMap<String, BTreeMap<&'static str, i64>>>;

/// Where one collector run's records go: buffered per table, flushed with COPY.
#[derive(Debug)]
pub struct RunLoader {
    pool: Pool,
    snapshot_id: i64,
    run_id: i64,
    /// The AWS account and region of the run, for tables placed by target.
    account_id: Option<String>,
    region: Option<String>,
    buffers: HashMap<&'static str, (&'static Table, Vec<u8>)>,
    /// The COPY in progress: the next batch is parsed and encoded while PostgreSQL ingests this
    /// one, so a large source keeps both the loader and the server busy.
    in_flight: Option<tokio::task::JoinHandle<Result<()>>>,
    pub records: i64,
    pub shapes: Shapes,
}

impl RunLoader {
    pub fn new(pool: Pool, snapshot_id: i64, run_id: i64, account_id: Option<String>, region: Option<String>) -> Self {
        Self {
            pool,
            snapshot_id,
            run_id,
            account_id,
            region,
            buffers: HashMap::new(),
            in_flight: None,
            records: 0,
            shapes: Shapes::new(),
        }
    }

    /// Load whatever is still buffered and wait until every COPY has ended.
    pub async fn finish(&mut self) -> Result<()> {
        let names: Vec<&'static str> = self.buffers.keys().copied().collect();
        for name in names {
            self.flush(name).await?;
        }
        self.settle().await
    }

    /// Wait for the COPY in progress, if any. A failed run calls this before its rows are
    /// removed, so no batch can land after the removal.
    pub async fn settle(&mut self) -> Result<()> {
        match self.in_flight.take() {
            None => Ok(()),
            Some(copy) => {
                copy.await.map_err(|e| InventoryError::transient(format!("a COPY task ended abnormally: {e}")))?
            }
        }
    }

    async fn flush(&mut self, name: &'static str) -> Result<()> {
        let Some((table, buffer)) = self.buffers.get_mut(name) else { return Ok(()) };
        if buffer.is_empty() {
            return Ok(());
        }
        let (table, data) = (*table, Bytes::from(std::mem::take(buffer)));
        // One COPY at a time per run: wait for the previous batch before sending this one.
        self.settle().await?;
        let pool = self.pool.clone();
        self.in_flight = Some(tokio::spawn(async move { copy_in(&pool, table, data).await }));
        Ok(())
    }

    fn note_shape(&mut self, table: &'static Table, record: &Value) {
        let Value::Object(map) = record else { return };
        let keys = self.shapes.entry(table.name).or_default();
        for (key, value) in map {
            let types = match keys.get_mut(key.as_str()) {
                Some(types) => types,
                None => keys.entry(key.clone()).or_default(),
            };
            *types.entry(json_type(value)).or_default() += 1;
        }
    }
}

#[async_trait::async_trait]
impl RecordSink for RunLoader {
    async fn page(&mut self, table: &'static Table, parent: Option<&str>, page: Value) -> Result<()> {
        if table.parent.is_some() && parent.is_none() {
            return Err(InventoryError::invalid_input(format!(
                "{}: a page fetched per {} came without its {}",
                table.name,
                table.parent.unwrap_or_default(),
                table.parent.unwrap_or_default()
            )));
        }
        let records = table.records_of(&page);
        let mut line = Vec::new();
        for record in &records {
            encode_row(
                &mut line,
                table,
                self.snapshot_id,
                self.run_id,
                (self.account_id.as_deref(), self.region.as_deref()),
                parent,
                record,
            );
        }
        let count = records.len();
        for record in records {
            self.note_shape(table, record);
        }
        self.records += count as i64;
        let (_, buffer) = self.buffers.entry(table.name).or_insert_with(|| (table, Vec::new()));
        buffer.extend_from_slice(&line);
        if buffer.len() >= FLUSH_BYTES {
            self.flush(table.name).await?;
        }
        Ok(())
    }
}

/// `COPY table (columns) FROM STDIN` with one batch of encoded lines.
pub async fn copy_in(pool: &Pool, table: &Table, data: Bytes) -> Result<()> {
    let client = pool.get().await.map_err(crate::error::pool)?;
    let statement = format!("COPY {} ({}) FROM STDIN", table.name, table.column_names().join(", "));
    let sink = client.copy_in::<_, Bytes>(&statement).await.map_err(|e| crate::error::database(table.name, e))?;
    futures::pin_mut!(sink);
    sink.send(data).await.map_err(|e| copy_error(table.name, e))?;
    sink.finish().await.map_err(|e| copy_error(table.name, e))?;
    Ok(())
}

/// A COPY into `table` that failed.
pub(crate) fn copy_error(table: &'static str, e: tokio_postgres::Error) -> InventoryError {
    // A row PostgreSQL refuses is our encoding bug or a vendor value we did not expect; either way
    // retrying the same data cannot help.
    match e.as_db_error() {
        Some(db) => InventoryError::permanent(format!(
            "loading {}: {} ({})",
            table,
            db.message(),
            db.where_().unwrap_or("no position")
        )),
        None => crate::error::database(table, e),
    }
}

fn json_type(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

/// One COPY text line: snapshot, run, account, region, the declared columns, raw.
pub fn encode_row(
    out: &mut Vec<u8>,
    table: &Table,
    snapshot_id: i64,
    run_id: i64,
    target: (Option<&str>, Option<&str>),
    parent: Option<&str>,
    record: &Value,
) {
    out.extend_from_slice(snapshot_id.to_string().as_bytes());
    out.push(b'\t');
    out.extend_from_slice(run_id.to_string().as_bytes());
    let (account, region) = match table.placement {
        Placement::Target => (target.0.map(Value::from), target.1.map(Value::from)),
        Placement::Record { account, region } => (extract(&account, record, parent), extract(&region, record, parent)),
        Placement::Outside => (None, None),
    };
    out.push(b'\t');
    encode_value(out, ColumnType::Text, account.as_ref());
    out.push(b'\t');
    encode_value(out, ColumnType::Text, region.as_ref());
    for column in table.columns {
        out.push(b'\t');
        let value = extract(&column.from, record, parent);
        encode_value(out, column.ty, value.as_ref());
    }
    out.push(b'\t');
    escape_into(out, &jsonb_text(record));
    out.push(b'\n');
}

/// A value in COPY text form for its column type; `\N` when absent or not of that type (a vendor
/// that sends `"n/a"` for an IP gets a NULL, not a failed load — the raw record keeps the value).
fn encode_value(out: &mut Vec<u8>, ty: ColumnType, value: Option<&Value>) {
    let text: Option<String> = value.and_then(|v| match (ty, v) {
        (_, Value::Null) => None,
        (ColumnType::Text, Value::String(s)) => Some(s.clone()),
        (ColumnType::Text, other @ (Value::Number(_) | Value::Bool(_))) => Some(other.to_string()),
        (ColumnType::Text, other) => Some(other.to_string()),
        (ColumnType::BigInt, Value::Number(n)) => n.as_i64().map(|i| i.to_string()),
        (ColumnType::BigInt, Value::String(s)) => s.trim().parse::<i64>().ok().map(|i| i.to_string()),
        (ColumnType::Double, Value::Number(n)) => n.as_f64().filter(|f| f.is_finite()).map(|f| f.to_string()),
        (ColumnType::Double, Value::String(s)) => {
            s.trim().parse::<f64>().ok().filter(|f| f.is_finite()).map(|f| f.to_string())
        }
        (ColumnType::Bool, Value::Bool(b)) => Some(b.to_string()),
        (ColumnType::Bool, Value::String(s)) if s.eq_ignore_ascii_case("true") => Some("true".into()),
        (ColumnType::Bool, Value::String(s)) if s.eq_ignore_ascii_case("false") => Some("false".into()),
        (ColumnType::Timestamp, v) => timestamp_text(v),
        (ColumnType::Inet, Value::String(s)) => is_inet(s.trim()).then(|| s.trim().to_owned()),
        (ColumnType::TextArray, Value::Array(items)) => Some(array_literal(items)),
        (ColumnType::Jsonb, v) => Some(jsonb_text(v)),
        _ => None,
    });
    match text {
        Some(t) => escape_into(out, &t),
        None => out.extend_from_slice(b"\\N"),
    }
}

/// RFC 3339 text, or epoch seconds/milliseconds, as an RFC 3339 timestamp PostgreSQL reads.
fn timestamp_text(value: &Value) -> Option<String> {
    use time::format_description::well_known::Rfc3339;
    let parsed = match value {
        Value::String(s) => time::OffsetDateTime::parse(s.trim(), &Rfc3339).ok(),
        Value::Number(n) => {
            let secs = n.as_f64()?;
            // Vendors mix seconds and milliseconds; anything past year 5138 in seconds is millis.
            let secs = if secs > 1e11 { secs / 1000.0 } else { secs };
            time::OffsetDateTime::from_unix_timestamp_nanos((secs * 1e9) as i128).ok()
        }
        _ => None,
    }?;
    parsed.format(&Rfc3339).ok()
}

/// An IPv4/IPv6 address, optionally with a prefix length in range.
pub fn is_inet(s: &str) -> bool {
    let (addr, prefix) = match s.split_once('/') {
        Some((a, p)) => (a, Some(p)),
        None => (s, None),
    };
    let Ok(ip) = addr.parse::<std::net::IpAddr>() else { return false };
    let max = if ip.is_ipv4() { 32 } else { 128 };
    match prefix {
        None => true,
        Some(p) => p.parse::<u8>().is_ok_and(|p| p <= max) && p.bytes().all(|b| b.is_ascii_digit()),
    }
}

/// A PostgreSQL array literal of text elements, every element quoted.
fn array_literal(items: &[Value]) -> String {
    let mut out = String::from("{");
    let mut first = true;
    for item in items {
        let text = match item {
            Value::Null => continue,
            Value::String(s) => s.clone(),
            other => other.to_string(),
        };
        if !first {
            out.push(',');
        }
        first = false;
        out.push('"');
        for c in text.chars() {
            if c == '"' || c == '\\' {
                out.push('\\');
            }
            if c != '\0' {
                out.push(c);
            }
        }
        out.push('"');
    }
    out.push('}');
    out
}

/// JSON text PostgreSQL's jsonb accepts: it refuses `\u0000`, so a NUL in a vendor string is
/// stored as U+FFFD (the only change ever made to a raw record).
fn jsonb_text(value: &Value) -> String {
    let text = value.to_string();
    if text.contains("\\u0000") {
        text.replace("\\u0000", "\\ufffd")
    } else {
        text
    }
}

/// COPY text escaping: backslash, tab, newline and carriage return; NUL bytes are dropped (text
/// columns cannot hold them).
pub(crate) fn escape_into(out: &mut Vec<u8>, text: &str) {
    for &b in text.as_bytes() {
        match b {
            b'\\' => out.extend_from_slice(b"\\\\"),
            b'\t' => out.extend_from_slice(b"\\t"),
            b'\n' => out.extend_from_slice(b"\\n"),
            b'\r' => out.extend_from_slice(b"\\r"),
            0 => {}
            _ => out.push(b),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn inet_accepts_addresses_and_cidrs_only() {
        for ok in ["10.0.0.1", "10.0.0.0/8", "0.0.0.0/0", "::/0", "2001:db8::1/128"] {
            assert!(is_inet(ok), "{ok}");
        }
        for bad in ["", "n/a", "10.0.0.1/33", "::/129", "10.0.0.1/-1", "10.0.0.1/+8", "host"] {
            assert!(!is_inet(bad), "{bad}");
        }
    }

    #[test]
    fn values_are_escaped_for_copy_and_mistyped_values_become_null() {
        let mut out = Vec::new();
        encode_value(&mut out, ColumnType::Text, Some(&json!("a\tb\\c\nd")));
        assert_eq!(out, b"a\\tb\\\\c\\nd");
        for (ty, v) in [
            (ColumnType::Inet, json!("n/a")),
            (ColumnType::BigInt, json!("eighty")),
            (ColumnType::Bool, json!("yes")),
            (ColumnType::Timestamp, json!("yesterday")),
        ] {
            let mut out = Vec::new();
            encode_value(&mut out, ty, Some(&v));
            assert_eq!(out, b"\\N", "{ty:?} {v}");
        }
        let mut out = Vec::new();
        encode_value(&mut out, ColumnType::TextArray, Some(&json!(["sg-1", "say \"hi\"", null])));
        assert_eq!(String::from_utf8(out).unwrap(), r#"{"sg-1","say \\"hi\\""}"#);
    }

    #[test]
    fn timestamps_accept_rfc3339_and_epoch_seconds_or_millis() {
        assert_eq!(timestamp_text(&json!("2026-01-02T03:04:05+00:00")).as_deref(), Some("2026-01-02T03:04:05Z"));
        assert_eq!(timestamp_text(&json!(1767323045)).as_deref(), Some("2026-01-02T03:04:05Z"));
        assert_eq!(timestamp_text(&json!(1767323045000_i64)).as_deref(), Some("2026-01-02T03:04:05Z"));
    }

    #[test]
    fn nul_in_a_vendor_string_never_breaks_jsonb() {
        assert_eq!(jsonb_text(&json!({"a": "x\u{0}y"})), r#"{"a":"x\ufffdy"}"#);
    }
}
