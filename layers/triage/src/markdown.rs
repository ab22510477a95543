//! The report as Markdown for the ticket (GFM; `secops-notify` turns it into ADF for Jira).
//!
//! Everything but our own labels is untrusted — the finding's fields came from a vendor or the
//! resource's owner, the assessment from a model — and is rendered inert:
//!
//! - on one line, without control or invisible characters ([`crate::untrusted::one_line`]);
//! - every character Markdown gives a meaning inline or at a block start (`` \ ` * _ [ ] # | < > ~ & ``)
//!   is backslash-escaped, and a leading `-`, `+`, `=` or `1.` cannot start a list or a heading,
//!   so nothing becomes emphasis, a link, an image, raw HTML, a heading, a list or a table cell;
//! - URLs are defanged (`http[:]//`, `www[.]`), because GFM turns bare URLs into links without
//!   any syntax; `@` becomes the full-width `＠`, so no mention can notify anyone;
//! - ids go in code spans only when they are plain tokens (letters, digits, `._:+~/@-`), where
//!   nothing is interpreted; anything else is escaped text.
//!
//! `secops_soar::tickets::text::inert` keeps a line inert for the decide tickets, where it is
//! always inside a code span; here text is also shown outside code spans and in tables, which
//! needs the fuller escaping above (emphasis, pipes, headings, autolinks, mentions).

use crate::report::{Report, Urgency};
use crate::untrusted::{one_line, token};

/// The longest rendering of one untrusted text (the schema's longest field is 4,000).
const FIELD_MAX: usize = 4000;

/// Characters that mean something inline in GFM, or at the start of a line or a list item's
/// content (`#`, `>`), wherever they are: escaped everywhere.
fn is_markdown_punctuation(c: char) -> bool {
    matches!(c, '\\' | '`' | '*' | '_' | '[' | ']' | '#' | '|' | '<' | '>' | '~' | '&')
}

/// Untrusted text as inert inline Markdown (see the module documentation).
pub fn escape(text: &str) -> String {
    let line = one_line(text, FIELD_MAX);
    let chars: Vec<char> = line.chars().collect();
    let mut out = String::with_capacity(line.len() + line.len() / 4);
    let leading_digits = chars.iter().take_while(|c| c.is_ascii_digit()).count();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let rest = &chars[i..];
        // `://` of any scheme: GFM links http(s) without syntax; defang them all.
        if rest.starts_with(&[':', '/', '/']) {
            out.push_str("\\[:\\]//");
            i += 3;
            continue;
        }
        // `www.` starts an autolink too.
        if rest.len() >= 4 && rest[..3].iter().all(|c| c.eq_ignore_ascii_case(&'w')) && rest[3] == '.' {
            out.extend(&rest[..3]);
            out.push_str("\\[.\\]");
            i += 4;
            continue;
        }
        match c {
            '@' => out.push('＠'),
            c if is_markdown_punctuation(c) => {
                out.push('\\');
                out.push(c);
            }
            // A list marker or a setext underline at the start, or the `.` / `)` of an
            // ordered-list number.
            '-' | '+' | '=' if i == 0 => {
                out.push('\\');
                out.push(c);
            }
            '.' | ')' if i == leading_digits && i > 0 => {
                out.push('\\');
                out.push(c);
            }
            c => out.push(c),
        }
        i += 1;
    }
    out
}

/// An id in a code span when it is a plain token, else escaped text.
fn code(id: &str) -> String {
    match token(id, 2048) {
        Some(t) => format!("`{t}`"),
        None => escape(id),
    }
}

fn opt_code(id: Option<&str>) -> String {
    id.map_or_else(|| "unknown".to_owned(), code)
}

fn urgency_label(u: Urgency) -> &'static str {
    match u {
        Urgency::Now => "Now",
        Urgency::ThisWeek => "This week",
        Urgency::Backlog => "Backlog",
    }
}

/// The report as GFM Markdown for a ticket body.
pub fn to_markdown(report: &Report) -> String {
    let a = &report.assessment;
    let f = &report.finding;
    let mut md = String::with_capacity(4096);
    let mut line = |s: &str| {
        md.push_str(s);
        md.push('\n');
    };

    line(&format!(
        "## Triage: {} — risk {}/5",
        a.verdict.label(),
        // The schema holds it to 1–5; a report built in code is rendered as it is.
        a.risk.score
    ));
    line("");
    line("| Finding | |");
    line("|---|---|");
    line(&format!("| Source | {} |", f.source.as_str()));
    line(&format!("| Id | {} |", code(&f.id)));
    line(&format!("| Title | {} |", escape(&f.title)));
    line(&format!("| Severity | {} |", escape(&f.severity)));
    line(&format!(
        "| Resource | {}{} |",
        opt_code(f.resource_id.as_deref()),
        f.resource_type.as_deref().map(|t| format!(" ({})", escape(t))).unwrap_or_default()
    ));
    line(&format!("| Account | {} |", opt_code(f.account_id.as_deref())));
    line(&format!("| Region | {} |", opt_code(f.region.as_deref())));
    line(&format!("| Persona | {} |", report.persona.title()));
    line("");

    line("### Summary");
    line("");
    line(&escape(&a.summary));
    line("");

    line("### Why this risk");
    line("");
    for reason in &a.risk.reasons {
        line(&format!("- {}", escape(reason)));
    }
    line("");

    line("### Affected resources");
    line("");
    if a.affected_resources.is_empty() {
        line("None recorded.");
    } else {
        line("| Resource | Type | Relation | Account | Region |");
        line("|---|---|---|---|---|");
        for r in &a.affected_resources {
            line(&format!(
                "| {} | {} | {} | {} | {} |",
                code(&r.id),
                escape(&r.kind),
                escape(&r.relation),
                r.account_id.as_deref().map_or_else(String::new, code),
                r.region.as_deref().map_or_else(String::new, code),
            ));
        }
    }
    line("");

    let b = &a.blast_radius;
    line("### Blast radius");
    line("");
    line(&escape(&b.summary));
    line("");
    line(&format!(
        "Internet-exposed: **{}** · reachable resources: **{}** · databases: **{}** · hosts without EDR: **{}**",
        if b.internet_exposed { "yes" } else { "no" },
        b.reachable_resources,
        b.reachable_databases,
        b.reachable_unprotected_hosts
    ));
    line("");

    line("### Evidence");
    line("");
    for e in &a.evidence {
        line(&format!("- {} ({})", escape(&e.observation), code(&e.query)));
    }
    line("");

    line("### Recommended actions");
    line("");
    for action in &a.recommended_actions {
        line(&format!(
            "{}. **{}:** {} — {}",
            action.order,
            urgency_label(action.urgency),
            escape(&action.action),
            escape(&action.why)
        ));
    }
    line("");

    let o = &a.owner;
    line("### Owner");
    line("");
    let basis = match o.basis.as_str() {
        "resource_tag" => "from the resource's tag",
        "account" => "from the account data",
        _ => "owner unknown",
    };
    line(&format!(
        "Team: {} ({basis}) · environment: {}",
        o.team.as_deref().map_or_else(|| "unknown".to_owned(), escape),
        o.environment.as_deref().map_or_else(|| "unknown".to_owned(), escape)
    ));
    line("");

    line("---");
    line("");
    let an = &report.analyst;
    if an.provider == "offline" && !an.fallback {
        line("Analysed by the offline rules (no language model).");
    } else {
        line(&format!(
            "Analysed by {} model {}.",
            escape(&an.provider),
            an.model.as_deref().map_or_else(|| "(unnamed)".to_owned(), code)
        ));
    }
    if an.fallback {
        line("");
        line(&format!(
            "> **Fallback:** the language model's answer was unusable ({}); the offline rules wrote this report.",
            an.fallback_reason.as_deref().map_or_else(|| "no reason recorded".to_owned(), escape)
        ));
    }
    md
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escaping_neutralises_markdown_links_and_mentions() {
        assert_eq!(escape("a*b*_c_"), "a\\*b\\*\\_c\\_");
        assert_eq!(escape("[click](http://evil.example)"), "\\[click\\](http\\[:\\]//evil.example)");
        assert_eq!(escape("see www.evil.example"), "see www\\[.\\]evil.example");
        assert_eq!(escape("@here hi"), "＠here hi");
        assert_eq!(escape("<script>x</script>"), "\\<script\\>x\\</script\\>");
        assert_eq!(escape("# title\n## two"), "\\# title \\#\\# two");
        assert_eq!(escape("- item"), "\\- item");
        assert_eq!(escape("12. item"), "12\\. item");
        assert_eq!(escape("3) item"), "3\\) item");
        assert_eq!(escape("+1 (x)"), "\\+1 (x)");
        assert_eq!(escape("a | b"), "a \\| b");
        assert_eq!(escape("v1.2.3 x-y"), "v1.2.3 x-y");
        assert_eq!(code("i-0123456789abcdef0"), "`i-0123456789abcdef0`");
        assert_eq!(code("a`b"), "a\\`b");
    }
}
