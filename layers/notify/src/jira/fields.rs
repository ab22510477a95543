//! The shapes Jira accepts: summaries, labels, project and issue keys.

/// Jira rejects a summary longer than 255 characters, counted in UTF-16 code units.
pub(super) const SUMMARY_LIMIT: usize = 255;

/// The summary as Jira accepts it: one line (Jira rejects line breaks), trimmed, and cut on a
/// character boundary with `…` when it is longer than [`SUMMARY_LIMIT`].
pub(super) fn summary(text: &str) -> String {
    let one_line: String = text.chars().map(|c| if c.is_control() { ' ' } else { c }).collect();
    let one_line = one_line.trim();
    if one_line.encode_utf16().count() <= SUMMARY_LIMIT {
        return one_line.to_owned();
    }
    let room = SUMMARY_LIMIT - '…'.len_utf16();
    let mut used = 0;
    let mut cut = 0;
    for (index, c) in one_line.char_indices() {
        if used + c.len_utf16() > room {
            break;
        }
        used += c.len_utf16();
        cut = index + c.len_utf8();
    }
    format!("{}…", one_line[..cut].trim_end())
}

/// The label as Jira stores it: labels cannot hold whitespace, so each run of it becomes `-`.
pub(super) fn label(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join("-")
}

/// A project key: a letter, then letters, digits or underscores (`SEC`, `OPS_2`).
pub(super) fn is_project_key(key: &str) -> bool {
    let mut chars = key.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphabetic()) && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// An issue key (`SEC-123`). Keys are checked before they go into a URL path.
pub(super) fn is_issue_key(key: &str) -> bool {
    key.rsplit_once('-').is_some_and(|(project, number)| {
        is_project_key(project) && !number.is_empty() && number.bytes().all(|b| b.is_ascii_digit())
    })
}

/// Order of issue keys by age: the issue number, then the key (so the order is total).
pub(super) fn age_order(key: &str) -> (u64, &str) {
    let number = key.rsplit_once('-').and_then(|(_, number)| number.parse().ok()).unwrap_or(u64::MAX);
    (number, key)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn summary_is_one_line_and_fits_jira() {
        assert_eq!(summary("  S3 bucket\npublic\r\n "), "S3 bucket public");
        let cut = summary(&"x".repeat(300));
        assert_eq!(cut.chars().count(), SUMMARY_LIMIT);
        assert!(cut.ends_with("x…"));
        let exact = "y".repeat(SUMMARY_LIMIT);
        assert_eq!(summary(&exact), exact);
    }

    #[test]
    fn summary_counts_utf16_units_and_never_splits_a_character() {
        // Each emoji is two UTF-16 units: 127 of them fill 254 units, the ellipsis the 255th.
        let cut = summary(&"🔥".repeat(200));
        assert_eq!(cut.encode_utf16().count(), SUMMARY_LIMIT);
        assert_eq!(cut.chars().filter(|c| *c == '🔥').count(), 127);
        let accented = summary(&"é".repeat(400));
        assert_eq!(accented.chars().count(), SUMMARY_LIMIT);
    }

    #[test]
    fn labels_lose_their_whitespace() {
        assert_eq!(label("needs review"), "needs-review");
        assert_eq!(label(" a \t b\nc "), "a-b-c");
        assert_eq!(label("secops-finding-0a1b"), "secops-finding-0a1b");
    }

    #[test]
    fn keys_are_checked() {
        assert!(is_project_key("SEC"));
        assert!(is_project_key("OPS_2"));
        assert!(!is_project_key("2OPS"));
        assert!(!is_project_key(""));
        assert!(is_issue_key("SEC-12"));
        assert!(is_issue_key("OPS_2-1"));
        assert!(!is_issue_key("SEC-"));
        assert!(!is_issue_key("SEC-1/../../admin"));
        assert!(!is_issue_key("../SEC-1"));
        assert!(!is_issue_key("12"));
    }

    #[test]
    fn older_keys_order_first() {
        let mut keys = vec!["SEC-10", "SEC-9", "OPS-3", "SEC-100"];
        keys.sort_by(|a, b| age_order(a).cmp(&age_order(b)));
        assert_eq!(keys, ["OPS-3", "SEC-9", "SEC-10", "SEC-100"]);
    }
}
