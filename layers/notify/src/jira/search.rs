//! The JQL of a label search and the answers of the enhanced search endpoint.

use serde::Deserialize;

/// Labels per JQL query: keeps each query far below Jira's length limits.
pub(super) const LABELS_PER_QUERY: usize = 50;

/// Results per page asked for; Jira answers at most 100 when fields are requested.
pub(super) const PAGE_SIZE: u32 = 100;

/// Pages read per query before giving up: 100 pages of 100 issues for at most 50 labels is far
/// more than any finding has tickets, so reaching it means something is wrong.
pub(super) const MAX_PAGES: usize = 100;

/// `labels in ("a", "b")`, each label a quoted JQL string.
pub(super) fn labels_jql<'a>(labels: impl IntoIterator<Item = &'a str>) -> String {
    let quoted: Vec<String> = labels.into_iter().map(jql_string).collect();
    format!("labels in ({})", quoted.join(", "))
}

/// A JQL string literal: double quotes, with `"` and `\` escaped.
fn jql_string(text: &str) -> String {
    let mut quoted = String::with_capacity(text.len() + 2);
    quoted.push('"');
    for c in text.chars() {
        if matches!(c, '"' | '\\') {
            quoted.push('\\');
        }
        quoted.push(c);
    }
    quoted.push('"');
    quoted
}

/// One page of `POST /rest/api/3/search/jql`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct SearchPage {
    #[serde(default)]
    pub issues: Vec<FoundIssue>,
    pub next_page_token: Option<String>,
    pub is_last: Option<bool>,
}

impl SearchPage {
    /// The token of the next page; None on the last page.
    pub(super) fn next_page(&self) -> Option<&str> {
        if self.is_last == Some(true) {
            return None;
        }
        self.next_page_token.as_deref().filter(|token| !token.is_empty())
    }
}

#[derive(Debug, Deserialize)]
pub(super) struct FoundIssue {
    pub key: String,
    #[serde(default)]
    pub fields: FoundFields,
}

#[derive(Debug, Default, Deserialize)]
pub(super) struct FoundFields {
    #[serde(default)]
    pub labels: Vec<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_are_quoted_and_escaped() {
        assert_eq!(labels_jql(["a", "secops-finding-01"]), r#"labels in ("a", "secops-finding-01")"#);
        assert_eq!(labels_jql([r#"say"hi\"#]), r#"labels in ("say\"hi\\")"#);
    }

    #[test]
    fn the_last_page_has_no_next_page() {
        let page = |json: &str| serde_json::from_str::<SearchPage>(json).expect("page");
        assert_eq!(page(r#"{"issues":[],"nextPageToken":"t2"}"#).next_page(), Some("t2"));
        assert_eq!(page(r#"{"issues":[],"nextPageToken":"t2","isLast":true}"#).next_page(), None);
        assert_eq!(page(r#"{"issues":[],"isLast":false}"#).next_page(), None);
        assert_eq!(page(r#"{"issues":[],"nextPageToken":""}"#).next_page(), None);
        let found = page(r#"{"issues":[{"key":"SEC-1","fields":{"labels":["a"]}},{"key":"SEC-2"}]}"#);
        assert_eq!(found.issues[0].fields.labels, ["a"]);
        assert!(found.issues[1].fields.labels.is_empty());
    }
}
