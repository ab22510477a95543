//! How a vendor record becomes a row: every inventory table is declared once, as data — where its
//! records sit in one API response page and which normalized column comes from which field. The
//! loader, the offline reader, the DDL check and drift all read these declarations; nothing else
//! knows a table's columns.

use serde_json::Value;

/// The PostgreSQL type of a normalized column.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ColumnType {
    Text,
    BigInt,
    Bool,
    Double,
    Timestamp,
    /// An address or a CIDR; anything else becomes NULL rather than failing the batch.
    Inet,
    TextArray,
    Jsonb,
}

impl ColumnType {
    pub fn sql(self) -> &'static str {
        match self {
            ColumnType::Text => "text",
            ColumnType::BigInt => "bigint",
            ColumnType::Bool => "boolean",
            ColumnType::Double => "double precision",
            ColumnType::Timestamp => "timestamp with time zone",
            ColumnType::Inet => "inet",
            ColumnType::TextArray => "text[]",
            ColumnType::Jsonb => "jsonb",
        }
    }
}

/// Where a column's value comes from. Paths are JSON pointers relative to one record; `*` in a
/// path walks every element of an array.
#[derive(Debug, Clone, Copy)]
pub enum Extract {
    /// One value.
    Path(&'static str),
    /// Every value the path reaches (a path with `*`), as a text array.
    All(&'static str),
    /// True when any value the path reaches is `true`.
    Any(&'static str),
    /// An AWS `[{"Key":…,"Value":…}]` tag list (at the path) as a JSON object.
    Tags(&'static str),
    /// The value of the first tag (in the AWS tag list at `path`) whose key matches one of `keys`,
    /// case-insensitively.
    Tag { path: &'static str, keys: &'static [&'static str] },
    /// The rest of the first tag key that starts with `prefix` (e.g. the cluster in
    /// `kubernetes.io/cluster/<name>`).
    TagKeySuffix { path: &'static str, prefix: &'static str },
    /// The id of the resource this record was fetched for (a bucket, a zone, a load balancer).
    Parent,
    /// A computed value, for the few fields no path can express.
    Computed(fn(&Value) -> Option<Value>),
}

#[derive(Debug, Clone, Copy)]
pub struct Column {
    pub name: &'static str,
    pub ty: ColumnType,
    pub from: Extract,
}

pub const fn text(name: &'static str, path: &'static str) -> Column {
    Column { name, ty: ColumnType::Text, from: Extract::Path(path) }
}
pub const fn int(name: &'static str, path: &'static str) -> Column {
    Column { name, ty: ColumnType::BigInt, from: Extract::Path(path) }
}
pub const fn flag(name: &'static str, path: &'static str) -> Column {
    Column { name, ty: ColumnType::Bool, from: Extract::Path(path) }
}
pub const fn number(name: &'static str, path: &'static str) -> Column {
    Column { name, ty: ColumnType::Double, from: Extract::Path(path) }
}
pub const fn timestamp(name: &'static str, path: &'static str) -> Column {
    Column { name, ty: ColumnType::Timestamp, from: Extract::Path(path) }
}
pub const fn ip(name: &'static str, path: &'static str) -> Column {
    Column { name, ty: ColumnType::Inet, from: Extract::Path(path) }
}
pub const fn all(name: &'static str, path: &'static str) -> Column {
    Column { name, ty: ColumnType::TextArray, from: Extract::All(path) }
}
pub const fn any(name: &'static str, path: &'static str) -> Column {
    Column { name, ty: ColumnType::Bool, from: Extract::Any(path) }
}
pub const fn tags(name: &'static str, path: &'static str) -> Column {
    Column { name, ty: ColumnType::Jsonb, from: Extract::Tags(path) }
}
pub const fn tag(name: &'static str, path: &'static str, keys: &'static [&'static str]) -> Column {
    Column { name, ty: ColumnType::Text, from: Extract::Tag { path, keys } }
}
pub const fn parent(name: &'static str) -> Column {
    Column { name, ty: ColumnType::Text, from: Extract::Parent }
}
pub const fn computed(name: &'static str, ty: ColumnType, f: fn(&Value) -> Option<Value>) -> Column {
    Column { name, ty, from: Extract::Computed(f) }
}

/// Tag keys that name an environment, a role and a cluster, in the order they are tried.
pub const ENVIRONMENT_TAGS: &[&str] = &["Environment", "Env", "Stage", "environment-name"];
pub const ROLE_TAGS: &[&str] = &["Role", "role", "Service", "App", "Application"];
pub const NAME_TAGS: &[&str] = &["Name"];
pub const EKS_CLUSTER_TAGS: &[&str] = &["eks:cluster-name", "alpha.eksctl.io/cluster-name"];
pub const ASG_TAGS: &[&str] = &["aws:autoscaling:groupName"];

/// Where a table's account and region come from.
#[derive(Debug, Clone, Copy)]
pub enum Placement {
    /// The AWS account and region the collector ran in (`global` for global services).
    Target,
    /// Fields of the record itself (vendor records that name an AWS account, e.g. Falcon hosts).
    Record { account: Extract, region: Extract },
    /// Neither: the record is not an AWS resource (Cloudflare zones and DNS records).
    Outside,
}

/// One inventory table.
#[derive(Debug)]
pub struct Table {
    /// The SQL table (every table also has `snapshot_id`, `source_run`, `account_id`, `region`,
    /// `raw`).
    pub name: &'static str,
    /// The offline file (or folder, when `parent` is set) this table's pages are read from, named
    /// like the vendor operation, e.g. `ec2.describe-instances`.
    pub file: &'static str,
    /// Where the records sit inside one response page: a JSON pointer with `*` for arrays; the
    /// empty string means the page itself is the record.
    pub records: &'static str,
    /// The column that holds the id of the resource the page was fetched for (pages fetched per
    /// bucket, per zone, per load balancer); `None` for list operations.
    pub parent: Option<&'static str>,
    /// The normalized columns that identify a resource within its account and region, for drift.
    pub key: &'static [&'static str],
    pub placement: Placement,
    pub columns: &'static [Column],
}

impl Table {
    /// Every column in load order: the common ones, then the declared ones.
    pub fn column_names(&self) -> Vec<&'static str> {
        let mut names = vec!["snapshot_id", "source_run", "account_id", "region"];
        names.extend(self.columns.iter().map(|c| c.name));
        names.push("raw");
        names
    }

    /// The records of one response page.
    pub fn records_of<'a>(&self, page: &'a Value) -> Vec<&'a Value> {
        let mut out = Vec::new();
        walk(page, self.records, &mut out);
        out
    }

    /// The CREATE TABLE statement this declaration expects (the migration must match; a test
    /// compares them column by column).
    pub fn ddl(&self) -> String {
        let mut lines = vec![
            "    snapshot_id bigint NOT NULL REFERENCES snapshots (id) ON DELETE CASCADE".to_owned(),
            // No foreign key on the run: a per-row check would slow COPY, and the snapshot's
            // cascade already removes a run's rows with it.
            "    source_run bigint NOT NULL".to_owned(),
            "    account_id text".to_owned(),
            "    region text".to_owned(),
        ];
        for c in self.columns {
            lines.push(format!("    {} {}", c.name, c.ty.sql()));
        }
        lines.push("    raw jsonb NOT NULL".to_owned());
        let mut sql = format!("CREATE TABLE {} (\n{}\n);\n", self.name, lines.join(",\n"));
        let key: Vec<&str> = self.key.to_vec();
        sql.push_str(&format!(
            "CREATE INDEX {name}_key_idx ON {name} (snapshot_id, {key});\n",
            name = self.name,
            key = key.join(", ")
        ));
        // A 64 MB pending list: a load appends to it and autovacuum merges it into the index
        // afterwards, instead of the loader merging it every 4 MB. No index on `source_run`: a
        // failed run's rows are found through the key index's snapshot prefix.
        sql.push_str(&format!(
            "CREATE INDEX {name}_raw_idx ON {name} USING gin (raw jsonb_path_ops) WITH (gin_pending_list_limit = 65536);\n",
            name = self.name
        ));
        sql
    }
}

/// Collect every value `path` reaches in `value` (a JSON pointer with `*` for "each element").
pub fn walk<'a>(value: &'a Value, path: &str, out: &mut Vec<&'a Value>) {
    let path = path.strip_prefix('/').unwrap_or(path);
    if path.is_empty() {
        if !value.is_null() {
            out.push(value);
        }
        return;
    }
    let (head, rest) = path.split_once('/').unwrap_or((path, ""));
    match (head, value) {
        ("*", Value::Array(items)) => items.iter().for_each(|item| walk(item, rest, out)),
        ("*", _) => {}
        (key, Value::Object(map)) => {
            if let Some(next) = map.get(key) {
                walk(next, rest, out);
            }
        }
        (index, Value::Array(items)) => {
            if let Some(next) = index.parse::<usize>().ok().and_then(|i| items.get(i)) {
                walk(next, rest, out);
            }
        }
        _ => {}
    }
}

/// The first value `path` reaches.
pub fn first<'a>(value: &'a Value, path: &str) -> Option<&'a Value> {
    let mut out = Vec::new();
    walk(value, path, &mut out);
    out.into_iter().next()
}

/// The value of an extraction for one record, as JSON (the loader encodes it for its column type).
pub fn extract(from: &Extract, record: &Value, parent: Option<&str>) -> Option<Value> {
    match from {
        Extract::Path(path) => first(record, path).cloned(),
        Extract::All(path) => {
            let mut out = Vec::new();
            walk(record, path, &mut out);
            Some(Value::Array(out.into_iter().cloned().collect()))
        }
        Extract::Any(path) => {
            let mut out = Vec::new();
            walk(record, path, &mut out);
            Some(Value::Bool(out.iter().any(|v| v.as_bool() == Some(true))))
        }
        Extract::Tags(path) => {
            let list = first(record, path)?.as_array()?;
            let map = list
                .iter()
                .filter_map(|t| {
                    let key = t.get("Key").or_else(|| t.get("key"))?.as_str()?;
                    let value = t.get("Value").or_else(|| t.get("value")).cloned().unwrap_or(Value::Null);
                    Some((key.to_owned(), value))
                })
                .collect();
            Some(Value::Object(map))
        }
        Extract::Tag { path, keys } => {
            let list = first(record, path)?.as_array()?;
            keys.iter().find_map(|wanted| {
                list.iter().find_map(|t| {
                    let key = t.get("Key").or_else(|| t.get("key"))?.as_str()?;
                    key.eq_ignore_ascii_case(wanted).then(|| t.get("Value").or_else(|| t.get("value")).cloned())?
                })
            })
        }
        Extract::TagKeySuffix { path, prefix } => {
            let list = first(record, path)?.as_array()?;
            list.iter().find_map(|t| {
                let key = t.get("Key").or_else(|| t.get("key"))?.as_str()?;
                key.strip_prefix(prefix).filter(|rest| !rest.is_empty()).map(|rest| Value::String(rest.to_owned()))
            })
        }
        Extract::Parent => parent.map(|p| Value::String(p.to_owned())),
        Extract::Computed(f) => f(record),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn walk_follows_stars_and_indexes() {
        let page = json!({"Reservations": [{"Instances": [{"InstanceId": "i-1"}, {"InstanceId": "i-2"}]},
                                            {"Instances": [{"InstanceId": "i-3"}]}]});
        let mut ids = Vec::new();
        walk(&page, "/Reservations/*/Instances/*/InstanceId", &mut ids);
        assert_eq!(ids, [&json!("i-1"), &json!("i-2"), &json!("i-3")]);
        assert_eq!(first(&page, "/Reservations/1/Instances/0/InstanceId"), Some(&json!("i-3")));
        assert_eq!(first(&page, "/Reservations/7/Instances/0/InstanceId"), None);
        assert_eq!(first(&page, "/Nope"), None);
    }

    #[test]
    fn tag_extractions_are_case_insensitive_and_ordered_by_key_preference() {
        let record = json!({"Tags": [{"Key": "env", "Value": "dev"}, {"Key": "ENVIRONMENT", "Value": "prod"},
                                     {"Key": "kubernetes.io/cluster/payments", "Value": "owned"}]});
        let env = extract(&Extract::Tag { path: "/Tags", keys: &["Environment", "Env"] }, &record, None);
        assert_eq!(env, Some(json!("prod")), "Environment is preferred over Env");
        let cluster =
            extract(&Extract::TagKeySuffix { path: "/Tags", prefix: "kubernetes.io/cluster/" }, &record, None);
        assert_eq!(cluster, Some(json!("payments")));
        let all = extract(&Extract::Tags("/Tags"), &record, None).unwrap();
        assert_eq!(all["env"], json!("dev"));
        assert_eq!(extract(&Extract::Tag { path: "/Tags", keys: &["Owner"] }, &record, None), None);
    }
}
