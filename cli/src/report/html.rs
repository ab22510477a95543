//! The page: one HTML5 document with inline CSS and inline SVG, no script and no external asset.
//! Everything from the database is untrusted (finding titles, resource names and tags are
//! attacker-controlled) and reaches the page only through [`escape`]; links are made only from
//! ticket URLs whose scheme is checked.

use super::gather::{ReportData, TicketLink};
use super::svg;
use std::fmt::Write;

/// Text as HTML (element content and quoted attribute values alike).
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

const STYLE: &str = r#"
:root { --ink:#111827; --muted:#6b7280; --line:#e5e7eb; --bg:#f9fafb; --ok:#059669; --bad:#dc2626; --warn:#d97706; }
* { box-sizing: border-box; }
body { margin: 0; font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: var(--ink); background: var(--bg); }
header { background: #111827; color: #f9fafb; padding: 20px 32px; }
header h1 { margin: 0 0 4px; font-size: 22px; }
header p { margin: 0; color: #d1d5db; }
nav { padding: 8px 32px; background: #1f2937; }
nav a { color: #e5e7eb; margin-right: 16px; text-decoration: none; font-size: 13px; }
main { padding: 16px 32px 40px; max-width: 1280px; }
section { background: #fff; border: 1px solid var(--line); border-radius: 8px; padding: 16px 20px; margin: 16px 0; }
h2 { margin: 0 0 12px; font-size: 18px; }
h3 { margin: 16px 0 8px; font-size: 15px; }
.cards { display: grid; grid-template-columns: repeat(auto-fill, minmax(180px, 1fr)); gap: 12px; background: none; border: 0; padding: 0; }
.card { background: #fff; border: 1px solid var(--line); border-radius: 8px; padding: 12px 14px; }
.card .label { color: var(--muted); font-size: 12px; text-transform: uppercase; letter-spacing: .04em; }
.card .value { font-size: 24px; font-weight: 650; }
.card .note { color: var(--muted); font-size: 12px; }
.row { display: flex; flex-wrap: wrap; gap: 24px; align-items: flex-start; }
.empty { color: var(--muted); font-style: italic; }
table { border-collapse: collapse; width: 100%; margin: 8px 0; font-size: 13px; }
th, td { text-align: left; padding: 5px 8px; border-bottom: 1px solid var(--line); vertical-align: top; }
th { background: #f3f4f6; font-weight: 600; }
tr:nth-child(even) td { background: #fafafa; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
code, .id { font-family: ui-monospace, SFMono-Regular, Menlo, monospace; font-size: 12px; word-break: break-all; }
.id.short { word-break: normal; white-space: nowrap; }
.ok { color: var(--ok); font-weight: 600; }
.bad { color: var(--bad); font-weight: 600; }
.warn { color: var(--warn); font-weight: 600; }
.sev-CRITICAL { color: #991b1b; font-weight: 600; }
.sev-HIGH { color: var(--bad); }
.sev-MEDIUM { color: var(--warn); }
details summary { cursor: pointer; color: #1d4ed8; margin: 6px 0; }
ol.changes { margin: 0; padding-left: 18px; }
footer { color: var(--muted); padding: 0 32px 24px; font-size: 12px; }
"#;

/// The whole page.
pub fn render(data: &ReportData) -> String {
    let mut page = String::with_capacity(64 * 1024);
    page.push_str("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">");
    page.push_str("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">");
    page.push_str("<title>SecOps Autopilot — security report</title><style>");
    page.push_str(STYLE);
    page.push_str("</style></head><body>");
    let snapshot = match &data.snapshot {
        Some(s) => format!(
            "inventory snapshot {} (collected {}, reconciled {})",
            s.id,
            escape(&s.started_at),
            escape(&s.reconciled_at)
        ),
        None => "no snapshot yet".to_owned(),
    };
    let _ = write!(
        page,
        "<header><h1>SecOps Autopilot — security report</h1><p>Generated {} · {snapshot}</p></header>",
        escape(&data.generated_at)
    );
    page.push_str(
        "<nav><a href=\"#estate\">Estate</a><a href=\"#exposure\">Exposure</a><a href=\"#posture\">Posture</a>\
         <a href=\"#findings\">Findings</a><a href=\"#triage\">Triage</a><a href=\"#tickets\">Tickets</a>\
         <a href=\"#attack-paths\">Attack paths</a><a href=\"#remediation\">Remediation</a><a href=\"#audit\">Audit</a></nav><main>",
    );
    cards(&mut page, data);
    estate(&mut page, data);
    exposure(&mut page, data);
    posture(&mut page, data);
    findings(&mut page, data);
    triage(&mut page, data);
    tickets(&mut page, data);
    attack_paths(&mut page, data);
    remediation(&mut page, data);
    audit(&mut page, data);
    page.push_str("</main><footer>Written by <code>secops report</code> from the database; the same data is in report.json beside this page.</footer></body></html>\n");
    page
}

/// One headline figure; `figure` names it for machines (`data-figure`).
fn card(page: &mut String, label: &str, figure: &str, value: &str, note: &str, class: &str) {
    let _ = write!(
        page,
        "<div class=\"card\"><div class=\"label\">{}</div><div class=\"value {class}\" data-figure=\"{figure}\">{}</div><div class=\"note\">{}</div></div>",
        escape(label),
        escape(value),
        escape(note)
    );
}

fn pct(p: Option<f64>) -> String {
    p.map_or("n/a".to_owned(), |p| format!("{p:.1}%"))
}

fn cards(page: &mut String, d: &ReportData) {
    page.push_str("<section class=\"cards\">");
    match &d.estate {
        Some(e) => {
            let class = match e.edr_coverage_pct {
                Some(p) if p >= 95.0 => "ok",
                Some(p) if p >= 80.0 => "warn",
                _ => "bad",
            };
            card(
                page,
                "EDR coverage",
                "edr-coverage",
                &pct(e.edr_coverage_pct),
                &format!("{} of {} live instances", e.matched, e.live_instances),
                class,
            );
        }
        None => card(page, "EDR coverage", "edr-coverage", "n/a", "no snapshot yet", ""),
    }
    card(
        page,
        "Internet-exposed",
        "exposed-resources",
        &d.exposure.exposed_resources.to_string(),
        &format!("resources; {} public buckets", d.exposure.public_buckets),
        "",
    );
    let posture = d.posture.s3_failing + d.posture.rds_failing + d.posture.open_ingress_rules;
    card(
        page,
        "Posture failures",
        "posture-failures",
        &posture.to_string(),
        &format!(
            "{} S3, {} RDS, {} open ingress on production",
            d.posture.s3_failing, d.posture.rds_failing, d.posture.open_ingress_rules
        ),
        "",
    );
    card(
        page,
        "Findings decided",
        "findings-decided",
        &d.findings.decided.to_string(),
        &format!("{} routes; {} failures", d.findings.routes.len(), d.findings.failures),
        if d.findings.failures > 0 { "bad" } else { "" },
    );
    match &d.triage {
        Some(t) => card(
            page,
            "Triage reports",
            "triage-reports",
            &t.reports.len().to_string(),
            &format!("newest run: {} analysed, {} failed", t.analysed, t.failed),
            if t.failed > 0 { "warn" } else { "" },
        ),
        None => card(page, "Triage reports", "triage-reports", "0", "no triage run yet", ""),
    }
    card(
        page,
        "Tickets",
        "tickets",
        &d.tickets.total.to_string(),
        &format!("{} open; {} from triage", d.tickets.open, d.tickets.triage),
        "",
    );
    card(
        page,
        "Attack paths",
        "attack-paths",
        &d.attack_paths.paths.to_string(),
        &format!("from {} starts", d.attack_paths.starts.values().sum::<u64>()),
        "",
    );
    let (value, class) = if d.audit.ok {
        ("verified", "ok")
    } else if d.audit.verified {
        ("BROKEN", "bad")
    } else {
        ("not verified", "warn")
    };
    card(page, "Audit chain", "audit-status", value, &format!("{} events", d.audit.events), class);
    page.push_str("</section>");
}

/// A table; `rows` hold HTML that the caller has escaped. An empty table says `empty`.
fn table(page: &mut String, headers: &[&str], rows: &[Vec<String>], empty: &str) {
    if rows.is_empty() {
        let _ = write!(page, "<p class=\"empty\">{}</p>", escape(empty));
        return;
    }
    page.push_str("<table><thead><tr>");
    for h in headers {
        let (class, name) = match h.strip_prefix('#') {
            Some(n) => (" class=\"num\"", n),
            None => ("", *h),
        };
        let _ = write!(page, "<th{class}>{}</th>", escape(name));
    }
    page.push_str("</tr></thead><tbody>");
    for row in rows {
        page.push_str("<tr>");
        for (i, cell) in row.iter().enumerate() {
            let class = if headers.get(i).is_some_and(|h| h.starts_with('#')) { " class=\"num\"" } else { "" };
            let _ = write!(page, "<td{class}>{cell}</td>");
        }
        page.push_str("</tr>");
    }
    page.push_str("</tbody></table>");
}

/// Escaped text (the only way untrusted text becomes a cell).
fn t(text: &str) -> String {
    escape(text)
}

/// An identifier in monospace. Short ones (account and instance ids) never wrap; long ones
/// (ARNs) may break anywhere so a table stays inside the page.
fn id(text: &str) -> String {
    let class = if text.chars().count() <= 24 { "id short" } else { "id" };
    format!("<span class=\"{class}\">{}</span>", escape(text))
}

fn severity(s: &str) -> String {
    let class: String = s.chars().filter(char::is_ascii_alphabetic).collect();
    format!("<span class=\"sev-{class}\">{}</span>", escape(s))
}

fn ticket(link: &Option<TicketLink>) -> String {
    match link {
        None => "—".to_owned(),
        Some(TicketLink { key, url: Some(url) }) if super::gather::is_ticket_url(url) => {
            format!("<a href=\"{}\">{}</a>", escape(url), escape(key))
        }
        Some(TicketLink { key, .. }) => escape(key),
    }
}

fn estate(page: &mut String, d: &ReportData) {
    page.push_str("<section id=\"estate\"><h2>Estate and EDR coverage</h2>");
    let Some(e) = &d.estate else {
        page.push_str("<p class=\"empty\">No snapshot yet: run <code>secops collect --reconcile</code> to see the estate.</p></section>");
        return;
    };
    page.push_str("<div class=\"row\">");
    page.push_str(&svg::donut(e.edr_coverage_pct, "EDR coverage of live instances"));
    let rows = vec![
        vec![t("Accounts"), e.accounts.to_string()],
        vec![t("Live instances"), e.live_instances.to_string()],
        vec![t("Matched to a Falcon sensor"), e.matched.to_string()],
        vec![t("Unprotected"), e.unprotected.to_string()],
        vec![t("Stale Falcon host records"), e.falcon_stale.to_string()],
    ];
    page.push_str("<div>");
    table(page, &["", "#count"], &rows, "");
    page.push_str("</div><div>");
    let per_account: Vec<Vec<String>> = e
        .per_account
        .iter()
        .map(|a| {
            vec![
                id(&a.account_id),
                a.live_instances.to_string(),
                a.matched.to_string(),
                a.unprotected.to_string(),
                pct(a.coverage_pct),
            ]
        })
        .collect();
    table(page, &["Account", "#Live", "#Matched", "#Unprotected", "#Coverage"], &per_account, "no live instances");
    page.push_str("</div></div>");
    if !e.unprotected_hosts.is_empty() {
        let _ = write!(page, "<details><summary>Unprotected hosts ({})</summary>", e.unprotected);
        let rows: Vec<Vec<String>> = e
            .unprotected_hosts
            .iter()
            .map(|h| {
                vec![id(&h.account_id), t(&h.region), id(&h.instance_id), t(&h.name), t(&h.environment), t(&h.reason)]
            })
            .collect();
        table(page, &["Account", "Region", "Instance", "Name", "Environment", "Why"], &rows, "");
        more(page, e.unprotected, rows.len());
        page.push_str("</details>");
    }
    page.push_str("</section>");
}

/// "… and N more" under a cut table.
fn more(page: &mut String, total: u64, shown: usize) {
    if total > shown as u64 {
        let _ = write!(page, "<p class=\"empty\">… and {} more (report.json has the first {shown}; <code>secops query</code> has all)</p>", total - shown as u64);
    }
}

fn exposure(page: &mut String, d: &ReportData) {
    let x = &d.exposure;
    page.push_str("<section id=\"exposure\"><h2>Internet exposure</h2><div class=\"row\"><div>");
    page.push_str("<h3>Internet-reachable resources by kind</h3>");
    page.push_str(&svg::bars(&x.by_kind, "internet-reachable resources by kind"));
    page.push_str("</div><div><h3>S3 buckets</h3>");
    let _ = write!(
        page,
        "<p><b data-figure=\"public-buckets\">{}</b> public buckets; {} buckets public or without a public access block.</p>",
        x.public_buckets,
        x.buckets.len()
    );
    page.push_str("</div></div>");
    let rows: Vec<Vec<String>> = x
        .resources
        .iter()
        .map(|r| vec![id(&r.account_id), t(&r.kind), id(&r.resource), t(&r.name), t(&r.ports), t(&r.via)])
        .collect();
    let _ = write!(page, "<details><summary>Exposed resources ({})</summary>", x.exposed_resources);
    table(
        page,
        &["Account", "Kind", "Resource", "Name", "Open to the internet", "How"],
        &rows,
        "nothing is reachable from the internet",
    );
    more(page, x.exposed_resources, rows.len());
    page.push_str("</details>");
    let rows: Vec<Vec<String>> = x
        .buckets
        .iter()
        .map(|b| {
            vec![
                id(&b.account_id),
                id(&b.bucket),
                if b.public { "<span class=\"bad\">public</span>".to_owned() } else { t("no block") },
                t(&b.failed_checks),
                t(&b.reasons),
            ]
        })
        .collect();
    let _ = write!(page, "<details><summary>Bucket exposure ({})</summary>", x.buckets.len());
    table(page, &["Account", "Bucket", "State", "Failed checks", "Why"], &rows, "no bucket is exposed");
    page.push_str("</details></section>");
}

fn posture(page: &mut String, d: &ReportData) {
    let p = &d.posture;
    page.push_str("<section id=\"posture\"><h2>Posture failures</h2>");
    let _ = write!(
        page,
        "<p>S3: <b>{}</b> of {} buckets fail a check · RDS: <b>{}</b> instances or snapshots fail a check · \
         <b>{}</b> ingress rules open to the internet on live production instances.</p>",
        p.s3_failing, p.s3_buckets, p.rds_failing, p.open_ingress_rules
    );
    page.push_str("<h3>Open ingress on production</h3>");
    let rows: Vec<Vec<String>> = p
        .open_ingress
        .iter()
        .map(|r| {
            vec![
                id(&r.account_id),
                id(&r.instance_id),
                t(&r.name),
                id(&r.group_id),
                t(&r.protocol),
                t(&r.ports),
                t(&r.source),
            ]
        })
        .collect();
    table(
        page,
        &["Account", "Instance", "Name", "Security group", "Protocol", "Ports", "Source"],
        &rows,
        "no production instance is open to the internet",
    );
    more(page, p.open_ingress_rules, rows.len());
    page.push_str("<h3>RDS</h3>");
    let rows: Vec<Vec<String>> = p
        .rds
        .iter()
        .map(|r| vec![t(&r.resource_type), id(&r.account_id), id(&r.resource_id), t(&r.failed_checks), t(&r.reasons)])
        .collect();
    table(page, &["Kind", "Account", "Resource", "Failed checks", "Why"], &rows, "no RDS resource fails a check");
    more(page, p.rds_failing, rows.len());
    page.push_str("</section>");
}

fn findings(page: &mut String, d: &ReportData) {
    let f = &d.findings;
    page.push_str("<section id=\"findings\"><h2>Findings by route and severity</h2>");
    if f.decided == 0 {
        let _ = write!(
            page,
            "<p class=\"empty\">No finding has been decided yet ({} failures recorded).</p></section>",
            f.failures
        );
        return;
    }
    page.push_str("<div class=\"row\">");
    page.push_str(&svg::stacked_bars(&f.severities, &f.routes, &f.counts, "decided findings by severity and route"));
    let mut headers: Vec<String> = vec!["Severity".to_owned()];
    headers.extend(f.routes.iter().map(|r| format!("#{r}")));
    headers.push("#Total".to_owned());
    let header_refs: Vec<&str> = headers.iter().map(String::as_str).collect();
    let mut rows: Vec<Vec<String>> = f
        .severities
        .iter()
        .zip(&f.counts)
        .map(|(s, counts)| {
            let mut row = vec![severity(s)];
            row.extend(counts.iter().map(u64::to_string));
            row.push(counts.iter().sum::<u64>().to_string());
            row
        })
        .collect();
    let mut total = vec![t("Total")];
    total.extend(f.routes.iter().map(|r| f.per_route.get(r).copied().unwrap_or(0).to_string()));
    total.push(f.decided.to_string());
    rows.push(total);
    page.push_str("<div>");
    table(page, &header_refs, &rows, "");
    let _ = write!(
        page,
        "<p>{} findings could not be processed (see the audit log's findings.failure events).</p>",
        f.failures
    );
    page.push_str("</div></div>");
    let rows: Vec<Vec<String>> = f
        .rows
        .iter()
        .map(|r| {
            vec![
                severity(&r.severity),
                t(&r.title),
                id(&r.account_id),
                t(&r.route),
                t(&r.outcome),
                r.score.map_or("—".to_owned(), |s| format!("{s:.1}")),
                ticket(&r.ticket),
            ]
        })
        .collect();
    let _ = write!(page, "<details open><summary>Decided findings ({})</summary>", f.decided);
    table(page, &["Severity", "Title", "Account", "Route", "Outcome", "#Score", "Ticket"], &rows, "");
    more(page, f.decided, rows.len());
    page.push_str("</details></section>");
}

fn triage(page: &mut String, d: &ReportData) {
    page.push_str("<section id=\"triage\"><h2>Triage verdicts</h2>");
    let Some(tr) = &d.triage else {
        page.push_str("<p class=\"empty\">No triage run yet: <code>secops triage --since 7d</code> analyses new findings.</p></section>");
        return;
    };
    let _ = write!(
        page,
        "<p>Newest run <code>{}</code> ({} provider), started {}{}: {} candidates, {} excluded, {} already ticketed, \
         {} over the limit, <b>{}</b> selected; <b>{}</b> analysed, <b>{}</b> failed, {} fallbacks. \
         {} reports in {} runs overall.</p>",
        escape(&tr.execution_id),
        escape(&tr.provider),
        escape(&tr.started_at),
        tr.finished_at.as_deref().map_or(", not finished".to_owned(), |f| format!(", finished {}", escape(f))),
        tr.candidates,
        tr.excluded,
        tr.already_ticketed,
        tr.over_limit,
        tr.selected,
        tr.analysed,
        tr.failed,
        tr.fallbacks,
        tr.reports_total,
        tr.runs_total
    );
    let verdicts: Vec<(String, u64)> = tr.verdicts.iter().map(|(v, n)| (v.clone(), *n)).collect();
    page.push_str(&svg::bars(&verdicts, "triage verdicts of the newest run"));
    let rows: Vec<Vec<String>> = tr
        .reports
        .iter()
        .map(|r| {
            vec![
                t(&r.source),
                format!("{}<br>{}", t(&r.title), id(&r.finding_id)),
                severity(&r.severity),
                t(&r.status),
                r.verdict.as_deref().map_or("—".to_owned(), t),
                r.risk_score.map_or("—".to_owned(), |s| s.to_string()),
                match r.fallback {
                    Some(true) => "<span class=\"warn\">fallback</span>".to_owned(),
                    Some(false) => t("no"),
                    None => "—".to_owned(),
                },
                ticket(&r.ticket),
            ]
        })
        .collect();
    table(
        page,
        &["Source", "Finding", "Severity", "Status", "Verdict", "#Risk", "Fallback", "Ticket"],
        &rows,
        "the run selected nothing",
    );
    page.push_str("</section>");
}

fn tickets(page: &mut String, d: &ReportData) {
    let tk = &d.tickets;
    page.push_str("<section id=\"tickets\"><h2>Tickets</h2>");
    let kinds: Vec<String> = tk.by_kind.iter().map(|(k, n)| format!("{n} {}", escape(k))).collect();
    let _ = write!(
        page,
        "<p><b>{}</b> tickets ({} open{}) filed to {}.</p>",
        tk.total,
        tk.open,
        if kinds.is_empty() { String::new() } else { format!("; {}", kinds.join(", ")) },
        escape(&tk.destination)
    );
    let rows: Vec<Vec<String>> = tk
        .recent
        .iter()
        .map(|r| {
            vec![
                ticket(&Some(r.ticket.clone())),
                t(&r.kind),
                severity(&r.severity),
                t(&r.title),
                id(&r.account_id),
                t(&r.opened_at),
                if r.open { t("open") } else { t("closed") },
            ]
        })
        .collect();
    table(page, &["Ticket", "Kind", "Severity", "Title", "Account", "Opened", "State"], &rows, "no tickets yet");
    more(page, tk.total, rows.len());
    page.push_str("</section>");
}

fn attack_paths(page: &mut String, d: &ReportData) {
    let a = &d.attack_paths;
    page.push_str("<section id=\"attack-paths\"><h2>Top attack paths</h2>");
    let starts: Vec<String> = a.starts.iter().map(|(m, n)| format!("{n} {}", escape(m))).collect();
    let _ = write!(
        page,
        "<p>{} paths from {} to databases, hosts without EDR and hosts with critical vulnerabilities. \
         Internet-exposed starts first, by rank.</p>",
        a.paths,
        if starts.is_empty() { "no starts".to_owned() } else { starts.join(" and ") + " starts" }
    );
    let rows: Vec<Vec<String>> = a
        .top
        .iter()
        .map(|p| {
            vec![
                t(&p.mode),
                p.rank.to_string(),
                format!("{}<br><small>{}</small>", t(&p.start), t(&p.start_kind)),
                id(&p.account_id),
                p.score.to_string(),
                p.reached.to_string(),
                p.reached_databases.to_string(),
                p.reached_unprotected.to_string(),
                p.reached_vulnerable.to_string(),
                if p.example.is_empty() {
                    "—".to_owned()
                } else {
                    format!(
                        "{}<br><small>ends at: {}</small>",
                        p.example.iter().map(|n| t(n)).collect::<Vec<_>>().join(" → "),
                        t(&p.example_traits)
                    )
                },
            ]
        })
        .collect();
    table(
        page,
        &[
            "Mode",
            "#Rank",
            "Start",
            "Account",
            "#Score",
            "#Reaches",
            "#Databases",
            "#Unprotected",
            "#Vulnerable",
            "Example path",
        ],
        &rows,
        "no attack paths (no snapshot yet, or nothing reaches anything that matters)",
    );
    page.push_str("</section>");
}

fn remediation(page: &mut String, d: &ReportData) {
    page.push_str("<section id=\"remediation\"><h2>Remediation plans</h2>");
    let rows: Vec<Vec<String>> = d
        .remediation
        .iter()
        .map(|r| {
            let changes = if r.changes.is_empty() {
                "—".to_owned()
            } else {
                format!(
                    "<ol class=\"changes\">{}</ol>",
                    r.changes.iter().map(|c| format!("<li>{}</li>", t(c))).collect::<String>()
                )
            };
            vec![
                t(&r.control),
                format!("{}<br><small>{}</small>", id(&r.resource), id(&r.finding_id)),
                format!("{} {}", id(&r.account_id), t(&r.region)),
                changes,
                format!("{}<br><small>{}</small>", t(&r.status), t(&r.reason)),
                t(&r.mode),
            ]
        })
        .collect();
    table(
        page,
        &["Control", "Resource / finding", "Account", "Planned change", "Status", "Mode"],
        &rows,
        "no remediation planned or applied yet",
    );
    page.push_str("</section>");
}

fn audit(page: &mut String, d: &ReportData) {
    let a = &d.audit;
    page.push_str("<section id=\"audit\"><h2>Audit chain</h2>");
    let (word, class) = if a.ok {
        ("verified", "ok")
    } else if a.verified {
        ("broken", "bad")
    } else {
        ("not verified", "warn")
    };
    let _ = write!(
        page,
        "<p>Chain <code>{}</code>: <span class=\"{class}\" data-figure=\"audit-verified\">{word}</span> — \
         <b data-figure=\"audit-events\">{}</b> events{}.</p><p>{}</p>",
        escape(&a.chain),
        a.events,
        a.head_seq.map_or(String::new(), |s| format!(", head seq {s}")),
        escape(&a.summary)
    );
    if let Some(first) = &a.first_break {
        let _ =
            write!(page, "<p class=\"bad\">First problem: {} ({} problems in all)</p>", escape(first), a.problem_count);
    }
    let rows: Vec<Vec<String>> = a.by_family.iter().map(|(k, n)| vec![t(k), n.to_string()]).collect();
    table(page, &["Event family", "#Events"], &rows, "no audit events yet");
    page.push_str("</section>");
}

#[cfg(test)]
mod tests {
    use super::super::gather::*;
    use super::*;

    #[test]
    fn escape_covers_every_html_special_character() {
        assert_eq!(
            escape(r#"<a href="x" onclick='y'>&</a>"#),
            "&lt;a href=&quot;x&quot; onclick=&#39;y&#39;&gt;&amp;&lt;/a&gt;"
        );
        assert_eq!(escape("plain — text"), "plain — text");
    }

    fn empty() -> ReportData {
        ReportData {
            generated_at: "2026-01-01T00:00:00Z".into(),
            snapshot: None,
            estate: None,
            exposure: Exposure::default(),
            posture: Posture::default(),
            findings: Findings::default(),
            triage: None,
            tickets: Tickets::default(),
            attack_paths: AttackPaths::default(),
            remediation: Vec::new(),
            audit: AuditStatus {
                ok: false,
                verified: false,
                chain: "main".into(),
                events: 0,
                head_seq: None,
                summary: "no audit events yet: nothing to verify".into(),
                first_break: None,
                problem_count: 0,
                by_family: Default::default(),
            },
        }
    }

    #[test]
    fn an_empty_database_gives_a_page_that_says_so() {
        let page = render(&empty());
        assert!(page.starts_with("<!DOCTYPE html>") && page.ends_with("</html>\n"));
        assert!(page.contains("no snapshot yet") && page.contains("No triage run yet"), "{page}");
        assert!(page.contains("data-figure=\"edr-coverage\">n/a<"), "{page}");
        assert!(!page.contains("<script") && !page.contains("http://") && !page.contains("https://"));
    }

    #[test]
    fn attacker_controlled_text_is_escaped_and_only_safe_links_are_made() {
        let evil = "<script>alert(1)</script>\"><img src=x onerror=alert(2)>";
        let mut data = empty();
        data.findings = Findings {
            decided: 1,
            routes: vec!["incident".into()],
            severities: vec!["HIGH".into()],
            counts: vec![vec![1]],
            per_route: [("incident".to_owned(), 1)].into(),
            rows: vec![DecidedFinding {
                finding_id: evil.into(),
                title: evil.into(),
                severity: "HIGH".into(),
                account_id: "111122223333".into(),
                route: "incident".into(),
                outcome: "incident_handled".into(),
                score: Some(10.0),
                ticket: Some(TicketLink { key: evil.into(), url: Some("javascript:alert(3)".into()) }),
            }],
            ..Findings::default()
        };
        data.tickets.recent = vec![TicketRow {
            ticket: TicketLink { key: "SEC-1".into(), url: Some("https://jira.example/browse/SEC-1\"><x".into()) },
            kind: "team".into(),
            title: evil.into(),
            severity: "<b>".into(),
            account_id: "1".into(),
            opened_at: "now".into(),
            open: true,
        }];
        let page = render(&data);
        assert!(!page.contains("<script>") && !page.contains("<img"), "{page}");
        assert!(page.contains("&lt;script&gt;alert(1)&lt;/script&gt;&quot;&gt;&lt;img src=x onerror=alert(2)&gt;"));
        assert!(!page.contains("javascript:"), "an unsafe scheme never becomes a link");
        assert!(page.contains("<a href=\"https://jira.example/browse/SEC-1&quot;&gt;&lt;x\">SEC-1</a>"), "{page}");
        assert!(page.contains("class=\"sev-b\">&lt;b&gt;<"), "{page}");
    }
}
