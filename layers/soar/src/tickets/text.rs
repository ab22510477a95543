//! Ticket and alert text in Markdown. Finding fields are attacker-influenced (resource names,
//! tags, descriptions): they are shown as quoted data, never as headings, links or instructions.

use secops_core::scratchpad::Scratchpad;

use crate::state::TicketKind;

/// Make untrusted text inert in Markdown: one line, backticks and brackets neutralised.
pub fn inert(text: &str) -> String {
    text.chars()
        .map(|c| match c {
            '\n' | '\r' | '\t' => ' ',
            '`' => '\'',
            '[' => '(',
            ']' => ')',
            '<' => '‹',
            '>' => '›',
            c if c.is_control() => ' ',
            c => c,
        })
        .collect()
}

/// Multi-line untrusted text as a Markdown quote.
pub fn quoted(text: &str) -> String {
    text.lines().map(|l| format!("> {}", inert(l))).collect::<Vec<_>>().join("\n")
}

pub fn summary(kind: TicketKind, pad: &Scratchpad) -> String {
    let prefix = match kind {
        TicketKind::Team => "TEAM FIX",
        TicketKind::Autofixed => "AUTOFIXED",
        TicketKind::Incident => "INCIDENT",
        TicketKind::Failure => "NEEDS A PERSON",
    };
    let mut s = format!("{prefix}: {}", inert(&pad.finding.title));
    if s.chars().count() > 200 {
        s = s.chars().take(199).collect::<String>() + "…";
    }
    s
}

pub fn body(kind: TicketKind, pad: &Scratchpad) -> String {
    let f = &pad.finding;
    let a = &pad.account;
    let severity = f.severity_label().map(|s| s.as_str()).unwrap_or("UNKNOWN");
    let resource = f.first_resource();
    let mut out = format!(
        "**{severity}** finding in account {} ({}), OU {}, region {}.\n\n",
        f.aws_account_id,
        inert(a.name.as_deref().unwrap_or("name unknown")),
        inert(a.organizational_unit.as_deref().unwrap_or("unknown")),
        crate::decide::region_of(f).unwrap_or_else(|| "unknown".into()),
    );
    out.push_str("| | |\n|---|---|\n");
    let mut row = |k: &str, v: &str| out.push_str(&format!("| {k} | `{}` |\n", inert(v)));
    row("Finding", &f.id);
    row("Product", &f.product().to_string());
    if let Some(c) = crate::route::control_id(f) {
        row("Control", &c);
    }
    if let Some(r) = resource {
        row("Resource", &r.id);
        row("Resource type", &r.resource_type.to_string());
    }
    row("Environment", pad.extra.get("environment").and_then(|v| v.as_str()).unwrap_or("UNSPECIFIED"));
    if let Some(team) = &a.team {
        row("Team", team);
    }
    if let Some(score) = pad.penalty_score {
        row("Penalty score", &format!("{score}"));
    }
    row("First observed", f.first_observed_at.as_deref().unwrap_or(&f.created_at));
    row("Updated", &f.updated_at);
    out.push_str("\n**Description** (from the finding, verbatim):\n\n");
    out.push_str(&quoted(&f.description));
    out.push_str("\n\n");
    if let Some(reason) = &pad.decision_reason {
        out.push_str(&format!("**Why this ticket:** {}\n\n", inert(reason)));
    }
    match kind {
        TicketKind::Autofixed => out.push_str(&format!(
            "**Actions taken:** {}\n\nNothing is required from you.\n",
            inert(&pad.messages.actions_taken)
        )),
        TicketKind::Failure => out.push_str(
            "The pipeline could not finish this finding automatically; the error is below. Please triage it by hand.\n",
        ),
        _ => out.push_str(&format!(
            "**Actions taken:** {}\n\n**Actions required:** {}\n",
            inert(&pad.messages.actions_taken),
            inert(&pad.messages.actions_required)
        )),
    }
    if let Some(url) = f.remediation.as_ref().and_then(|r| r.recommendation.as_ref()).and_then(|r| r.url.as_deref()) {
        out.push_str(&format!("\nRemediation guidance: <{}>\n", inert(url)));
    }
    out
}
