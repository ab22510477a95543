//! Redaction per destination, checked on what ARRIVES: a report full of credentials and personal
//! data goes to Jira as a ticket (and a comment) and to Slack as an incident alert and a batch
//! summary. Jira (lenient) gets no credential in clear but keeps IP addresses; Slack (strict)
//! gets neither credentials nor e-mail addresses nor IP addresses; the ids the pipeline needs
//! arrive untouched; and the outbox holds only the redacted text (no secret at rest).

mod support;

use secops_audit::redact::{Category, CorrelationKey};
use secops_core::outbound::{Alert, Alerts, NewTicket, TicketKind, Ticketing};
use secops_notify::message::{delivery_label, finding_label, BatchSummary, FailedItem, TicketLink, TopRisk};
use secops_notify::outbox::EntryStatus;
use secops_notify::Destination;
use support::harness::{Harness, CORRELATION_KEY};

const FINDING: &str = "arn:aws:securityhub:eu-west-1:111122223333:subscription/aws-foundational-security-best-practices/v/1.0.0/IAM.3/finding/7d1c3b0e-0a5d-4f5c-9a57-2f7b2f1e9c41";
const ACCOUNT: &str = "111122223333";

// Inputs the detectors match (the same shapes as layers/audit/tests/redact_detectors.rs).
const ACCESS_KEY_ID: &str = "AKIAIOSFODNN7EXAMPLE";
const SECRET_KEY: &str = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";
const GITHUB_TOKEN: &str = "ghp_1A2b3C4d5E6f7G8h9I0jK1l2M3n4O5p6Q7r8";
const SLACK_TOKEN: &str = "xoxb-123456789012-1234567890123-AbCdEfGhIjKlMnOpQrStUvWx";
const JWT: &str = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4gRG9lIn0.SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c";
/// One line of the private key's body: found anywhere means the key leaked.
const KEY_BODY: &str = "MIIEowIBAAKCAQEAu1SU1LfVLPHCozMxH2Mo4lgOEePzNm0tRgeLezV6ffAt0gun";
const EMAIL: &str = "alice.smith@example.co.uk";
const PHONE: &str = "+44 20 7946 0958";
const IPV4: &str = "10.0.12.7";
const IPV6: &str = "2001:db8:85a3::8a2e:370:7334";
const CARD: &str = "4111 1111 1111 1111";

/// Credentials and the card number: in clear nowhere.
const SECRETS: [&str; 9] = [ACCESS_KEY_ID, SECRET_KEY, GITHUB_TOKEN, SLACK_TOKEN, JWT, KEY_BODY, EMAIL, PHONE, CARD];
/// What the strict policy removes besides [`SECRETS`].
const ADDRESSES: [&str; 2] = [IPV4, IPV6];

fn report() -> String {
    format!(
        "## Credentials exposed on a build host\n\n\
         The CI runner at {IPV4} (also {IPV6}) in account {ACCOUNT} printed its environment:\n\n\
         - key {ACCESS_KEY_ID} used from the runner\n\
         - aws_secret_access_key = {SECRET_KEY}\n\
         - GITHUB_TOKEN={GITHUB_TOKEN}\n\
         - SLACK_BOT_TOKEN={SLACK_TOKEN}\n\
         - id_token={JWT}&state=x\n\
         - card {CARD} exp 12/29\n\n\
         Owner: {EMAIL}, call {PHONE}.\n\n\
         ```text\n-----BEGIN RSA PRIVATE KEY-----\n{KEY_BODY}\n\
         VTLw7onLRnrq0/IzW7yWR7QkrmBL7jTKEn5u+qKhbwKfBstIs+bMY2Zkp18gnTxK\n-----END RSA PRIVATE KEY-----\n```\n"
    )
}

#[track_caller]
fn assert_none_of(haystack: &str, needles: &[&str], where_: &str) {
    for needle in needles {
        assert!(!haystack.contains(needle), "{where_} holds {needle:?} in clear:\n{haystack}");
    }
}

#[track_caller]
fn assert_all_of(haystack: &str, needles: &[&str], where_: &str) {
    for needle in needles {
        assert!(haystack.contains(needle), "{where_} lacks {needle:?}:\n{haystack}");
    }
}

/// The masked forms the lenient policy leaves (mask, keep 4) and the labels it replaces with.
fn jira_redacted() -> Vec<String> {
    let masked_key = format!("{}MPLE", "*".repeat(ACCESS_KEY_ID.len() - 4));
    let masked_card = format!("{}1111", "*".repeat(CARD.len() - 4));
    let labels =
        ["[AWS_SECRET_KEY]", "[GITHUB_TOKEN]", "[SLACK_TOKEN]", "[JWT]", "[PRIVATE_KEY]", "[EMAIL]", "[PHONE]"];
    [masked_key, masked_card].into_iter().chain(labels.map(str::to_owned)).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn jira_gets_no_credential_in_clear_but_keeps_ip_addresses() {
    let h = Harness::start().await;
    let ticket = NewTicket {
        kind: TicketKind::Incident,
        finding_id: FINDING.into(),
        project: None,
        summary: format!("Key {ACCESS_KEY_ID} leaked on {IPV4} (owner {EMAIL})"),
        body: report(),
        severity: "CRITICAL".into(),
        labels: vec!["secops-autopilot".into(), "incident".into()],
        idempotency_key: format!("{FINDING}|ticket:incident|2026-11-21T10:00:00Z"),
    };
    let key = h.notifier.open(&ticket).await.unwrap();
    assert_eq!(key, "SEC-1");
    h.notifier.comment(&key, &format!("Rotated {ACCESS_KEY_ID}; {EMAIL} confirmed from {IPV4}.")).await.unwrap();

    let issue = h.jira.issue(&key).unwrap();
    let masked_key = format!("{}MPLE", "*".repeat(ACCESS_KEY_ID.len() - 4));
    assert_eq!(issue.summary, format!("Key {masked_key} leaked on {IPV4} (owner [EMAIL])"));
    let description = support::adf::text(&issue.description);
    let redacted = jira_redacted();
    let redacted: Vec<&str> = redacted.iter().map(String::as_str).collect();
    assert_all_of(&description, &redacted, "the Jira description");
    assert_all_of(&description, &[IPV4, IPV6, ACCOUNT], "the Jira description (lenient: addresses and ids kept)");
    let comment = support::adf::text(&issue.comments[0]);
    assert_eq!(comment, format!("Rotated {masked_key}; [EMAIL] confirmed from {IPV4}."));
    // Nothing in clear anywhere in what Jira received, whatever field or node it sits in.
    let received = serde_json::to_string(&(&issue.fields, &issue.comments)).unwrap();
    assert_none_of(&received, &SECRETS, "what Jira received");

    // The ids the pipeline finds tickets by arrive untouched.
    let outbox_key = format!("tickets|open|{}", ticket.idempotency_key);
    assert_eq!(
        issue.labels,
        ["secops-autopilot", "incident", &finding_label(FINDING), &delivery_label(&outbox_key)].map(str::to_owned)
    );

    // At rest: the outbox holds the redacted message only, with the finding id intact.
    let entry = h.notifier.outbox().get(&outbox_key).await.unwrap().unwrap();
    assert_eq!((entry.status, entry.finding_id.as_deref()), (EntryStatus::Delivered, Some(FINDING)));
    let stored = serde_json::to_string(&entry.payload).unwrap();
    assert_none_of(&stored, &SECRETS, "the outbox entry of the ticket");
    assert_all_of(&stored, &redacted, "the outbox entry of the ticket");
    assert!(stored.contains(FINDING), "{stored}");
    for entry in h.notifier.outbox().page(0, 100, None).await.unwrap() {
        assert_none_of(&serde_json::to_string(&entry.payload).unwrap(), &SECRETS, &entry.key);
    }
    support::adf::assert_valid(&h.jira.descriptions());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slack_gets_neither_credentials_nor_email_nor_ip_addresses() {
    let h = Harness::start().await;
    let alert = Alert {
        finding_id: FINDING.into(),
        account_id: ACCOUNT.into(),
        severity: "CRITICAL".into(),
        title: format!("Key {ACCESS_KEY_ID} used from {IPV4} by {EMAIL}"),
        text: report(),
    };
    h.notifier.send(&alert).await.unwrap();
    let summary = BatchSummary {
        run_id: "run-redaction".into(),
        workflow: "triage".into(),
        analysed: 3,
        succeeded: 1,
        duration_ms: 42_000,
        tickets: vec![TicketLink { finding_id: FINDING.into(), key: "SEC-7".into(), url: None }],
        failures: vec![
            FailedItem {
                finding_id: FINDING.into(),
                reason: format!("the analyst call failed: token={GITHUB_TOKEN} rejected for {EMAIL} from {IPV6}"),
            },
            FailedItem {
                finding_id: "f-2".into(),
                reason: format!("aws_secret_access_key = {SECRET_KEY} in the finding; call {PHONE}"),
            },
        ],
        top_risks: vec![TopRisk {
            finding_id: FINDING.into(),
            title: format!("Access key {ACCESS_KEY_ID} public on {IPV4}, card {CARD}"),
            severity: "CRITICAL".into(),
            score: 9.8,
        }],
    };
    assert_eq!(h.notifier.batch_summary(summary).await.unwrap().status, EntryStatus::Delivered);

    let posted = h.slack.raw_messages();
    assert_eq!(posted.len(), 2);
    let key = CorrelationKey::new(CORRELATION_KEY);
    let email_token = key.token(Category::Email, EMAIL);
    for (i, raw) in posted.iter().enumerate() {
        let text = String::from_utf8(raw.clone()).unwrap();
        assert_none_of(&text, &SECRETS, &format!("Slack message {i}"));
        assert_none_of(&text, &ADDRESSES, &format!("Slack message {i}"));
        // Strict, yet correlatable: the same e-mail is the same token in every message.
        assert!(text.contains(&email_token), "Slack message {i} lacks {email_token}: {text}");
        assert!(text.contains(FINDING), "Slack message {i} lacks the finding id: {text}");
    }
    let alert_text = String::from_utf8(posted[0].clone()).unwrap();
    assert_all_of(
        &alert_text,
        &[
            "[AWS_ACCESS_KEY_ID]",
            "[AWS_SECRET_KEY]",
            "[GITHUB_TOKEN]",
            "[SLACK_TOKEN]",
            "[JWT]",
            "[PRIVATE_KEY]",
            "[PHONE]",
            &key.token(Category::Ipv4, IPV4),
            &key.token(Category::Ipv6, IPV6),
            ACCOUNT,
        ],
        "the Slack alert",
    );
    let messages = h.slack.messages();
    let fields: Vec<&str> =
        messages[0]["blocks"][2]["fields"].as_array().unwrap().iter().map(|f| f["text"].as_str().unwrap()).collect();
    assert_eq!(
        fields,
        [String::from("*Severity*\nCRITICAL"), format!("*Account*\n{ACCOUNT}"), format!("*Finding*\n{FINDING}")]
    );
    let summary_text = String::from_utf8(posted[1].clone()).unwrap();
    assert_all_of(
        &summary_text,
        &["[GITHUB_TOKEN]", "[AWS_SECRET_KEY]", "[PHONE]", "[AWS_ACCESS_KEY_ID]", "SEC-7", "f-2"],
        "the Slack summary",
    );

    // At rest: every chat entry holds the strictly redacted text, with its ids intact.
    let entries = h.notifier.outbox().page(0, 100, None).await.unwrap();
    assert_eq!(entries.len(), 2);
    for entry in &entries {
        assert_eq!((entry.destination, entry.status), (Destination::Chat, EntryStatus::Delivered));
        let stored = serde_json::to_string(&entry.payload).unwrap();
        assert_none_of(&stored, &SECRETS, &entry.key);
        assert_none_of(&stored, &ADDRESSES, &entry.key);
        assert!(stored.contains(FINDING), "{stored}");
    }
    assert_eq!(entries[0].finding_id.as_deref(), Some(FINDING));
}
