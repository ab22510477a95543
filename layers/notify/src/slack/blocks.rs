//! Block Kit rendering of chat messages. Titles, reasons, finding ids and resource names come
//! from findings, which attackers control, so every such value is escaped for mrkdwn (it can
//! never open a link or a `<!channel>`/`<@U…>` mention), flattened to one line where a list
//! expects one, and clipped so that the message stays inside Slack's limits whatever it holds.

use serde_json::{json, Value};

use crate::message::{BatchStarted, BatchSummary, ChatMessage, FailedItem, IncidentAlert, TicketLink, TopRisk};

// Slack's Block Kit limits (api.slack.com/reference/block-kit/blocks). Lengths are counted in
// UTF-16 units, the stricter of the ways Slack may count, so a text within them is within
// Slack's however it counts.
const MAX_BLOCKS: usize = 50;
const HEADER_TEXT_MAX: usize = 150;
const SECTION_TEXT_MAX: usize = 3000;
const FIELDS_MAX: usize = 10;
const FIELD_TEXT_MAX: usize = 2000;

// How much of one untrusted value a message shows: enough to recognise it, short enough that a
// list of them stays readable in a channel.
const ID_SHOWN: usize = 200;
const TITLE_SHOWN: usize = 200;
const REASON_SHOWN: usize = 300;
const SEVERITY_SHOWN: usize = 20;
const URL_MAX: usize = 500;
const LIST_ITEMS_SHOWN: usize = 20;
const TOP_RISKS_SHOWN: usize = 10;

/// The Slack message for `message`: `{"text": <plain fallback>, "blocks": [...]}`. The fallback
/// is what notifications and clients without Block Kit show; it is escaped like the blocks.
pub fn blocks(message: &ChatMessage) -> Value {
    let (fallback, blocks) = match message {
        ChatMessage::Alert(alert) => alert_blocks(alert),
        ChatMessage::Started(started) => started_blocks(started),
        ChatMessage::Summary(summary) => summary_blocks(summary),
    };
    debug_assert!(blocks.len() <= MAX_BLOCKS);
    json!({ "text": fallback, "blocks": blocks })
}

fn alert_blocks(alert: &IncidentAlert) -> (String, Vec<Value>) {
    let severity = inline(&alert.severity, SEVERITY_SHOWN);
    let title = inline(&alert.title, TITLE_SHOWN);
    let finding = inline(&alert.finding_id, ID_SHOWN);
    let account = inline(&alert.account_id, ID_SHOWN);
    let fallback = format!("{severity} security incident in account {account}: {title} ({finding})");

    let heading = format!("*{title}*");
    let description = if alert.text.trim().is_empty() {
        heading
    } else {
        // The title is clipped far below the section limit, so the description gets the rest.
        let room = SECTION_TEXT_MAX - text_len(&heading) - 1;
        format!("{heading}\n{}", multiline(&alert.text, room))
    };
    let blocks = vec![
        header(&format!("{} security incident", alert.severity)),
        section_text(description),
        section_fields(&[("Severity", severity), ("Account", account), ("Finding", finding)]),
    ];
    (fallback, blocks)
}

fn started_blocks(started: &BatchStarted) -> (String, Vec<Value>) {
    let workflow = inline(&started.workflow, ID_SHOWN);
    let run = inline(&started.run_id, ID_SHOWN);
    let at = inline(&started.started_at, ID_SHOWN);
    let fallback = format!("Run started: {workflow} {run}, {} findings, at {at}", started.findings);
    let blocks = vec![
        header(&format!("Run started: {}", started.workflow)),
        section_fields(&[("Run", run), ("Findings", started.findings.to_string()), ("Started at", at)]),
    ];
    (fallback, blocks)
}

fn summary_blocks(summary: &BatchSummary) -> (String, Vec<Value>) {
    let workflow = inline(&summary.workflow, ID_SHOWN);
    let run = inline(&summary.run_id, ID_SHOWN);
    let rate = success_rate(summary.succeeded, summary.analysed);
    let duration = humanize_duration(summary.duration_ms);
    let fallback = format!(
        "Run finished: {workflow} {run}: {} of {} findings succeeded ({rate}) in {duration}; \
         tickets created: {}, failures: {}",
        summary.succeeded,
        summary.analysed,
        summary.tickets.len(),
        summary.failures.len(),
    );

    let mut blocks = vec![
        header(&format!("Run finished: {}", summary.workflow)),
        section_fields(&[
            ("Run", run),
            ("Findings analysed", summary.analysed.to_string()),
            ("Succeeded", summary.succeeded.to_string()),
            ("Success rate", rate),
            ("Duration", duration),
            ("Tickets created", summary.tickets.len().to_string()),
            ("Failures", summary.failures.len().to_string()),
        ]),
    ];
    if !summary.top_risks.is_empty() {
        let mut risks: Vec<&TopRisk> = summary.top_risks.iter().collect();
        // Highest score first; a score that is not a number sorts last instead of first.
        risks.sort_by(|a, b| sortable_score(b.score).total_cmp(&sortable_score(a.score)));
        let lines = risks.into_iter().map(risk_line);
        blocks.push(list_section("Top risks", lines, TOP_RISKS_SHOWN));
    }
    if !summary.tickets.is_empty() {
        let lines = summary.tickets.iter().map(ticket_line);
        blocks.push(list_section("Tickets created", lines, LIST_ITEMS_SHOWN));
    }
    if !summary.failures.is_empty() {
        let lines = summary.failures.iter().map(failure_line);
        blocks.push(list_section("Failures", lines, LIST_ITEMS_SHOWN));
    }
    (fallback, blocks)
}

fn sortable_score(score: f64) -> f64 {
    if score.is_nan() {
        f64::NEG_INFINITY
    } else {
        score
    }
}

fn risk_line(risk: &TopRisk) -> String {
    format!(
        "• *{:.1}* {} {} — {}",
        risk.score,
        inline(&risk.severity, SEVERITY_SHOWN),
        inline(&risk.title, TITLE_SHOWN),
        inline(&risk.finding_id, ID_SHOWN),
    )
}

fn ticket_line(ticket: &TicketLink) -> String {
    let key = inline(&ticket.key, ID_SHOWN);
    let shown = match ticket.url.as_deref().filter(|url| linkable(url)) {
        Some(url) => format!("<{}|{key}>", escape(url)),
        None => key,
    };
    format!("• {shown} — {}", inline(&ticket.finding_id, ID_SHOWN))
}

fn failure_line(failure: &FailedItem) -> String {
    format!("• {}: {}", inline(&failure.finding_id, ID_SHOWN), inline(&failure.reason, REASON_SHOWN))
}

/// Whether `url` can sit inside `<url|text>`: an http(s) address without the characters that
/// would end the link early or start another one.
fn linkable(url: &str) -> bool {
    (url.starts_with("https://") || url.starts_with("http://"))
        && url.len() <= URL_MAX
        && !url.chars().any(|c| c.is_whitespace() || c.is_control() || matches!(c, '|' | '<' | '>'))
}

/// `successful / analysed` as a percentage with one decimal, rounded down so that a run with a
/// failure never reads 100.0%. An empty run counts as fully successful, as
/// [`BatchSummary::success_rate`] does.
fn success_rate(succeeded: u64, analysed: u64) -> String {
    let permille = if analysed == 0 { 1000 } else { u128::from(succeeded) * 1000 / u128::from(analysed) };
    format!("{}.{}%", permille / 10, permille % 10)
}

/// `850 ms`, `12.3 s`, `3 min 5 s`, `2 h 7 min`, `1 d 4 h`: the two largest units.
fn humanize_duration(ms: u64) -> String {
    if ms < 1_000 {
        return format!("{ms} ms");
    }
    if ms < 60_000 {
        let tenths = ms / 100;
        return format!("{}.{} s", tenths / 10, tenths % 10);
    }
    let secs = ms / 1_000;
    let (days, hours, minutes, seconds) = (secs / 86_400, secs / 3_600 % 24, secs / 60 % 60, secs % 60);
    if days > 0 {
        format!("{days} d {hours} h")
    } else if hours > 0 {
        format!("{hours} h {minutes} min")
    } else {
        format!("{minutes} min {seconds} s")
    }
}

fn header(raw: &str) -> Value {
    json!({
        "type": "header",
        "text": { "type": "plain_text", "text": inline(raw, HEADER_TEXT_MAX) },
    })
}

/// A section of mrkdwn text that the caller built within [`SECTION_TEXT_MAX`].
fn section_text(text: String) -> Value {
    debug_assert!(text_len(&text) <= SECTION_TEXT_MAX);
    json!({ "type": "section", "text": { "type": "mrkdwn", "text": text } })
}

/// A section of `*label*\nvalue` fields; the values are escaped already and the callers pass
/// at most [`FIELDS_MAX`] of them.
fn section_fields(fields: &[(&str, String)]) -> Value {
    debug_assert!(fields.len() <= FIELDS_MAX);
    let fields: Vec<Value> = fields
        .iter()
        .take(FIELDS_MAX)
        .map(|(label, value)| {
            let text = format!("*{label}*\n{value}");
            debug_assert!(text_len(&text) <= FIELD_TEXT_MAX);
            json!({ "type": "mrkdwn", "text": text })
        })
        .collect();
    json!({ "type": "section", "fields": fields })
}

/// A section headed `title` listing `lines` (escaped already): at most `shown` of them and as
/// many as fit in one section, then "… and N more" for the rest.
fn list_section(title: &str, lines: impl ExactSizeIterator<Item = String>, shown: usize) -> Value {
    let total = lines.len();
    let mut text = format!("*{title}*");
    let mut used = text_len(&text);
    // Enough room for the tail whatever N turns out to be, since N ≤ total.
    let tail_room = text_len(&format!("\n… and {total} more"));
    let mut listed = 0;
    for (index, line) in lines.take(shown).enumerate() {
        let needed = 1 + text_len(&line);
        let room_after = if index + 1 < total { tail_room } else { 0 };
        if used + needed + room_after > SECTION_TEXT_MAX {
            break;
        }
        text.push('\n');
        text.push_str(&line);
        used += needed;
        listed += 1;
    }
    if listed < total {
        text.push_str(&format!("\n… and {} more", total - listed));
    }
    section_text(text)
}

/// Untrusted text for one line: control characters (line breaks included, which could fake
/// further list entries) become spaces; escaped and clipped to `max` units.
fn inline(raw: &str, max: usize) -> String {
    let flat: String = raw.chars().map(|c| if c.is_control() { ' ' } else { c }).collect();
    escape_clipped(&flat, max)
}

/// Untrusted text that may span lines: escaped and clipped to `max` units.
fn multiline(raw: &str, max: usize) -> String {
    let kept: String = raw.chars().map(|c| if c.is_control() && c != '\n' { ' ' } else { c }).collect();
    escape_clipped(&kept, max)
}

/// `raw` with `&`, `<`, `>` escaped as Slack requires, so that no part of it is read as a link,
/// a mention or a date; cut to at most `max` UTF-16 units, ending in "…" when cut. An entity is
/// never cut in half.
fn escape_clipped(raw: &str, max: usize) -> String {
    let whole: usize = raw.chars().map(escaped_len).sum();
    let budget = if whole <= max { max } else { max.saturating_sub('…'.len_utf16()) };
    let mut out = String::with_capacity(raw.len().min(budget.saturating_mul(4)));
    let mut used = 0;
    for c in raw.chars() {
        let len = escaped_len(c);
        if used + len > budget {
            out.push('…');
            break;
        }
        used += len;
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            _ => out.push(c),
        }
    }
    out
}

fn escape(raw: &str) -> String {
    escape_clipped(raw, usize::MAX)
}

fn escaped_len(c: char) -> usize {
    match c {
        '&' => "&amp;".len(),
        '<' | '>' => "&lt;".len(),
        _ => c.len_utf16(),
    }
}

fn text_len(text: &str) -> usize {
    text.encode_utf16().count()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escaping_neutralises_links_and_mentions() {
        assert_eq!(escape("<!channel> & <@U1|x>"), "&lt;!channel&gt; &amp; &lt;@U1|x&gt;");
    }

    #[test]
    fn clipping_never_cuts_an_entity_and_ends_in_an_ellipsis() {
        assert_eq!(escape_clipped("ab&cd", 6), "ab…");
        assert_eq!(escape_clipped("ab&cd", 8), "ab&amp;…");
        assert_eq!(escape_clipped("ab&cd", 9), "ab&amp;cd");
        assert_eq!(escape_clipped("éé🙂", 3), "éé…");
        assert_eq!(text_len(&escape_clipped(&"<".repeat(1000), 150)), 149);
    }

    #[test]
    fn durations_read_in_their_two_largest_units() {
        assert_eq!(humanize_duration(850), "850 ms");
        assert_eq!(humanize_duration(12_345), "12.3 s");
        assert_eq!(humanize_duration(59_999), "59.9 s");
        assert_eq!(humanize_duration(185_000), "3 min 5 s");
        assert_eq!(humanize_duration(7_620_000), "2 h 7 min");
        assert_eq!(humanize_duration(100_800_000), "1 d 4 h");
    }

    #[test]
    fn success_rate_rounds_down_so_a_failure_never_reads_100() {
        assert_eq!(success_rate(1999, 2000), "99.9%");
        assert_eq!(success_rate(3, 4), "75.0%");
        assert_eq!(success_rate(0, 0), "100.0%");
    }

    #[test]
    fn only_plain_http_addresses_become_links() {
        assert!(linkable("https://jira.example/browse/SEC-1"));
        assert!(!linkable("https://x|<!channel>"));
        assert!(!linkable("javascript:alert(1)"));
        assert!(!linkable("https://x y"));
    }
}
