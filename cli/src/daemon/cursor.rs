//! The ingestion cursor: the last `UpdatedAt` delivered and the ids already delivered at exactly
//! that instant. A finding is new when it is later than the cursor, or at the cursor's instant
//! and not yet seen — so findings sharing a timestamp are neither skipped nor repeated, whatever
//! the server's filter did (moto ignores it; AWS's `UpdatedAt` filter is inclusive).

use std::collections::BTreeSet;

use serde_json::Value;
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

#[derive(Debug, Clone, PartialEq)]
pub struct Cursor {
    pub at: OffsetDateTime,
    pub seen: BTreeSet<String>,
}

/// A finding version not delivered yet.
#[derive(Debug, Clone)]
pub struct Pending {
    pub id: String,
    pub updated_at: OffsetDateTime,
    pub finding: Value,
}

/// The findings after `cursor`, oldest first (ties by id), each version once; and how many were
/// skipped because they have no Id or no RFC 3339 UpdatedAt.
pub fn after(cursor: Option<&Cursor>, findings: Vec<Value>) -> (Vec<Pending>, usize) {
    let mut unusable = 0;
    let mut pending: Vec<Pending> = Vec::new();
    for finding in findings {
        let id = finding.get("Id").and_then(Value::as_str).map(str::to_owned);
        let updated_at =
            finding.get("UpdatedAt").and_then(Value::as_str).and_then(|t| OffsetDateTime::parse(t, &Rfc3339).ok());
        let (Some(id), Some(updated_at)) = (id, updated_at) else {
            unusable += 1;
            continue;
        };
        let new = match cursor {
            None => true,
            Some(c) => updated_at > c.at || (updated_at == c.at && !c.seen.contains(&id)),
        };
        if new {
            pending.push(Pending { id, updated_at, finding });
        }
    }
    pending.sort_by(|a, b| (a.updated_at, &a.id).cmp(&(b.updated_at, &b.id)));
    pending.dedup_by(|a, b| a.id == b.id && a.updated_at == b.updated_at);
    (pending, unusable)
}

/// The cursor once `batch` (a prefix of [`after`]'s answer) is delivered.
pub fn advance(cursor: Option<&Cursor>, batch: &[Pending]) -> Option<Cursor> {
    let at = batch.iter().map(|p| p.updated_at).max()?;
    let mut seen: BTreeSet<String> = batch.iter().filter(|p| p.updated_at == at).map(|p| p.id.clone()).collect();
    if let Some(c) = cursor.filter(|c| c.at == at) {
        seen.extend(c.seen.iter().cloned());
    }
    match cursor {
        Some(c) if c.at > at => Some(c.clone()),
        _ => Some(Cursor { at, seen }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn finding(id: &str, at: &str) -> Value {
        json!({"Id": id, "UpdatedAt": at})
    }

    fn ids(p: &[Pending]) -> Vec<&str> {
        p.iter().map(|p| p.id.as_str()).collect()
    }

    #[test]
    fn equal_timestamps_are_neither_skipped_nor_repeated() {
        let t = "2026-11-22T05:00:00.000Z";
        let all = vec![
            finding("c", "2026-11-22T05:00:01Z"),
            finding("b", t),
            finding("a", t),
            finding("old", "2026-11-22T04:59:59Z"),
        ];
        let (first, _) = after(None, all.clone());
        assert_eq!(ids(&first), ["old", "a", "b", "c"]);
        // Deliver up to `a` only: `b` shares a's instant and must still come.
        let cursor = advance(None, &first[..2]).unwrap();
        assert_eq!(cursor.seen, BTreeSet::from(["a".to_owned()]));
        let (second, _) = after(Some(&cursor), all.clone());
        assert_eq!(ids(&second), ["b", "c"]);
        let cursor = advance(Some(&cursor), &second[..1]).unwrap();
        assert_eq!(cursor.seen, BTreeSet::from(["a".to_owned(), "b".to_owned()]));
        let (third, _) = after(Some(&cursor), all.clone());
        assert_eq!(ids(&third), ["c"]);
        let cursor = advance(Some(&cursor), &third).unwrap();
        assert_eq!(
            (cursor.at, cursor.seen.len()),
            (OffsetDateTime::parse("2026-11-22T05:00:01Z", &Rfc3339).unwrap(), 1)
        );
        assert!(after(Some(&cursor), all).0.is_empty());
    }

    #[test]
    fn an_update_of_a_seen_finding_is_new_and_duplicates_come_once() {
        let cursor = Cursor {
            at: OffsetDateTime::parse("2026-11-22T05:00:00Z", &Rfc3339).unwrap(),
            seen: BTreeSet::from(["a".to_owned()]),
        };
        let (p, unusable) = after(
            Some(&cursor),
            vec![
                finding("a", "2026-11-22T06:00:00Z"),
                finding("a", "2026-11-22T06:00:00Z"),
                json!({"Id": "no-time"}),
                finding("bad", "yesterday"),
            ],
        );
        assert_eq!((ids(&p), unusable), (vec!["a"], 2));
        // Same instant written with another offset is the same instant.
        let (p, _) = after(Some(&cursor), vec![finding("a", "2026-11-22T06:00:00+01:00")]);
        assert!(p.is_empty());
        assert_eq!(advance(Some(&cursor), &[]), None);
    }
}
