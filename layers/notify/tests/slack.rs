//! The Slack chat adapter against a stateful Slack fake, its Block Kit rendering, and the local
//! JSON-lines chat adapter.

mod support;

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::{Duration, Instant};

use secops_notify::message::{BatchStarted, BatchSummary, FailedItem, IncidentAlert, TicketLink, TopRisk};
use secops_notify::slack::{blocks, SlackChat, SlackConfig, SlackTarget};
use secops_notify::{ChatMessage, ChatSink, NotifyError};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use support::slack_fake::{SlackFake, SLACK_FAKE_TOKEN};
use wiremock::matchers::method;
use wiremock::{Mock, MockServer, ResponseTemplate};

const FINDING: &str = "arn:aws:securityhub:eu-west-1:111122223333:finding/abc";

fn alert() -> ChatMessage {
    ChatMessage::Alert(IncidentAlert {
        finding_id: FINDING.into(),
        account_id: "111122223333".into(),
        severity: "CRITICAL".into(),
        title: "Root account used".into(),
        text: "Console login as root from 203.0.113.7.\nNo MFA.".into(),
    })
}

fn started() -> ChatMessage {
    ChatMessage::Started(BatchStarted {
        run_id: "run-42".into(),
        workflow: "triage".into(),
        findings: 17,
        started_at: "2025-06-01T08:00:00Z".into(),
    })
}

fn summary() -> ChatMessage {
    let risk = |finding: &str, title: &str, severity: &str, score: f64| TopRisk {
        finding_id: finding.into(),
        title: title.into(),
        severity: severity.into(),
        score,
    };
    ChatMessage::Summary(BatchSummary {
        run_id: "run-42".into(),
        workflow: "triage".into(),
        analysed: 8,
        succeeded: 7,
        duration_ms: 185_000,
        tickets: vec![
            TicketLink {
                finding_id: "f1".into(),
                key: "SEC-1".into(),
                url: Some("https://jira.example/browse/SEC-1".into()),
            },
            TicketLink { finding_id: "f2".into(), key: "SEC-2".into(), url: None },
        ],
        failures: vec![FailedItem { finding_id: "f3".into(), reason: "Bedrock timed out".into() }],
        top_risks: vec![
            risk("f4", "Open SSH", "HIGH", 7.5),
            risk("f5", "Public bucket", "CRITICAL", 9.3),
            risk("f6", "Old key", "LOW", 2.0),
        ],
    })
}

fn mrkdwn_field(text: &str) -> Value {
    json!({ "type": "mrkdwn", "text": text })
}

fn header(text: &str) -> Value {
    json!({ "type": "header", "text": { "type": "plain_text", "text": text } })
}

fn section(text: &str) -> Value {
    json!({ "type": "section", "text": { "type": "mrkdwn", "text": text } })
}

#[test]
fn an_alert_renders_header_description_and_fields() {
    let expected = json!({
        "text": format!("CRITICAL security incident in account 111122223333: Root account used ({FINDING})"),
        "blocks": [
            header("CRITICAL security incident"),
            section("*Root account used*\nConsole login as root from 203.0.113.7.\nNo MFA."),
            {
                "type": "section",
                "fields": [
                    mrkdwn_field("*Severity*\nCRITICAL"),
                    mrkdwn_field("*Account*\n111122223333"),
                    mrkdwn_field(&format!("*Finding*\n{FINDING}")),
                ],
            },
        ],
    });
    assert_eq!(blocks(&alert()), expected);
}

#[test]
fn a_start_renders_run_findings_and_time() {
    let expected = json!({
        "text": "Run started: triage run-42, 17 findings, at 2025-06-01T08:00:00Z",
        "blocks": [
            header("Run started: triage"),
            {
                "type": "section",
                "fields": [
                    mrkdwn_field("*Run*\nrun-42"),
                    mrkdwn_field("*Findings*\n17"),
                    mrkdwn_field("*Started at*\n2025-06-01T08:00:00Z"),
                ],
            },
        ],
    });
    assert_eq!(blocks(&started()), expected);
}

#[test]
fn a_summary_renders_counts_risks_by_score_ticket_links_and_failures() {
    let expected = json!({
        "text": "Run finished: triage run-42: 7 of 8 findings succeeded (87.5%) in 3 min 5 s; \
                 tickets created: 2, failures: 1",
        "blocks": [
            header("Run finished: triage"),
            {
                "type": "section",
                "fields": [
                    mrkdwn_field("*Run*\nrun-42"),
                    mrkdwn_field("*Findings analysed*\n8"),
                    mrkdwn_field("*Succeeded*\n7"),
                    mrkdwn_field("*Success rate*\n87.5%"),
                    mrkdwn_field("*Duration*\n3 min 5 s"),
                    mrkdwn_field("*Tickets created*\n2"),
                    mrkdwn_field("*Failures*\n1"),
                ],
            },
            section(
                "*Top risks*\n• *9.3* CRITICAL Public bucket — f5\n• *7.5* HIGH Open SSH — f4\n\
                 • *2.0* LOW Old key — f6"
            ),
            section("*Tickets created*\n• <https://jira.example/browse/SEC-1|SEC-1> — f1\n• SEC-2 — f2"),
            section("*Failures*\n• f3: Bedrock timed out"),
        ],
    });
    assert_eq!(blocks(&summary()), expected);
}

/// Every text object in a rendered message: the fallback and each `text` inside the blocks.
fn texts(rendered: &Value) -> Vec<String> {
    fn walk(value: &Value, out: &mut Vec<String>) {
        match value {
            Value::Object(map) => {
                for (key, value) in map {
                    match value {
                        Value::String(text) if key == "text" => out.push(text.clone()),
                        _ => walk(value, out),
                    }
                }
            }
            Value::Array(items) => items.iter().for_each(|item| walk(item, out)),
            _ => {}
        }
    }
    let mut out = Vec::new();
    walk(rendered, &mut out);
    out
}

/// Asserts Slack's Block Kit limits; the number of list entries each "… and N more" stands for.
fn assert_within_block_kit_limits(rendered: &Value) {
    let chars = |v: &Value| v.as_str().expect("a text").chars().count();
    assert!(chars(&rendered["text"]) <= 40_000);
    let blocks = rendered["blocks"].as_array().expect("blocks");
    assert!(blocks.len() <= 50, "{} blocks", blocks.len());
    for block in blocks {
        match block["type"].as_str() {
            Some("header") => assert!(chars(&block["text"]["text"]) <= 150),
            Some("section") => {
                if let Some(text) = block.get("text") {
                    assert!(chars(&text["text"]) <= 3000, "{} chars", chars(&text["text"]));
                }
                if let Some(fields) = block.get("fields") {
                    let fields = fields.as_array().expect("fields");
                    assert!(fields.len() <= 10);
                    assert!(fields.iter().all(|field| chars(&field["text"]) <= 2000));
                }
            }
            other => panic!("unexpected block {other:?}"),
        }
    }
}

fn huge_summary() -> ChatMessage {
    let long = |seed: &str, n: usize| format!("{seed} & <b> ").repeat(n);
    ChatMessage::Summary(BatchSummary {
        run_id: long("run", 100),
        workflow: long("triage", 100),
        analysed: 1000,
        succeeded: 500,
        duration_ms: 90_061_000,
        tickets: (0..500)
            .map(|i| TicketLink {
                finding_id: format!("{FINDING}-{i}"),
                key: format!("SEC-{i}"),
                url: Some(format!("https://jira.example/browse/SEC-{i}")),
            })
            .collect(),
        failures: (0..500)
            .map(|i| FailedItem { finding_id: format!("{FINDING}-{i}"), reason: long("timeout", 500) })
            .collect(),
        top_risks: (0..500)
            .map(|i| TopRisk {
                finding_id: format!("{FINDING}-{i}"),
                title: long("title", 200),
                severity: "HIGH".into(),
                score: f64::from(i),
            })
            .collect(),
    })
}

#[test]
fn a_summary_with_500_tickets_and_failures_stays_within_block_kit_limits() {
    let rendered = blocks(&huge_summary());
    assert_within_block_kit_limits(&rendered);
    serde_json::from_str::<Value>(&rendered.to_string()).expect("valid JSON");

    let blocks = rendered["blocks"].as_array().expect("blocks");
    for (title, shown_at_most) in [("*Top risks*", 10), ("*Tickets created*", 20), ("*Failures*", 20)] {
        let text = blocks
            .iter()
            .filter_map(|block| block["text"]["text"].as_str())
            .find(|text| text.starts_with(title))
            .unwrap_or_else(|| panic!("a {title} section"));
        let listed = text.lines().filter(|line| line.starts_with("• ")).count();
        assert!((1..=shown_at_most).contains(&listed), "{title}: {listed} listed");
        let tail = text.lines().last().expect("a last line");
        assert_eq!(tail, format!("… and {} more", 500 - listed), "{title}");
    }
    let risks = blocks[2]["text"]["text"].as_str().expect("top risks");
    assert!(risks.contains("• *499.0* HIGH"), "the highest score comes first: {risks}");
}

#[test]
fn an_alert_with_a_huge_text_is_clipped_to_one_section() {
    let message = ChatMessage::Alert(IncidentAlert {
        finding_id: "x".repeat(5000),
        account_id: "1".repeat(5000),
        severity: "S".repeat(500),
        title: "<".repeat(5000),
        text: "&".repeat(50_000),
    });
    let rendered = blocks(&message);
    assert_within_block_kit_limits(&rendered);
    let description = rendered["blocks"][1]["text"]["text"].as_str().expect("description");
    assert!(description.ends_with('…'));
    assert!(!description.contains("&amp&"), "an entity is never cut in half");
}

#[test]
fn hostile_text_cannot_link_or_mention() {
    let hostile_alert = ChatMessage::Alert(IncidentAlert {
        finding_id: "<!everyone>".into(),
        account_id: "<#C0123|general>".into(),
        severity: "<!subteam^S0123>".into(),
        title: "<!channel> Root & <https://evil.example|click here>".into(),
        text: "<@U0123> please <!here> look".into(),
    });
    let hostile_summary = ChatMessage::Summary(BatchSummary {
        run_id: "<!here>".into(),
        workflow: "<!channel>".into(),
        analysed: 1,
        succeeded: 0,
        duration_ms: 1,
        tickets: vec![TicketLink {
            finding_id: "<@U0123>".into(),
            key: "<!channel>".into(),
            url: Some("https://jira.example/browse/X|<!here>".into()),
        }],
        failures: vec![FailedItem {
            finding_id: "f1".into(),
            reason: "<https://evil.example|click>\n• f2: a line it made up".into(),
        }],
        top_risks: vec![TopRisk {
            finding_id: "f1".into(),
            title: "<!date^0^{date}|x> & co".into(),
            severity: "<@U1>".into(),
            score: 1.0,
        }],
    });
    for message in [hostile_alert, hostile_summary] {
        let rendered = blocks(&message);
        for text in texts(&rendered) {
            assert!(!text.contains('<') && !text.contains('>'), "unescaped: {text}");
        }
        let all = rendered.to_string();
        assert!(all.contains("&lt;!channel&gt;"), "{all}");
        assert!(all.contains("&amp;"), "{all}");
    }
    let rendered = blocks(&ChatMessage::Alert(IncidentAlert {
        finding_id: "f".into(),
        account_id: "a".into(),
        severity: "HIGH".into(),
        title: "<!channel> & <https://evil.example|click>".into(),
        text: String::new(),
    }));
    assert_eq!(rendered["blocks"][1]["text"]["text"], "*&lt;!channel&gt; &amp; &lt;https://evil.example|click&gt;*");
    let failures = texts(&blocks(&ChatMessage::Summary(BatchSummary {
        run_id: "r".into(),
        workflow: "w".into(),
        analysed: 1,
        succeeded: 0,
        duration_ms: 1,
        tickets: vec![],
        failures: vec![FailedItem { finding_id: "f1".into(), reason: "a\n• f2: made up".into() }],
        top_risks: vec![],
    })));
    assert!(failures.contains(&"*Failures*\n• f1: a • f2: made up".to_string()), "{failures:?}");
}

fn config(target: SlackTarget) -> SlackConfig {
    SlackConfig {
        per_minute: 600,
        max_wait: Duration::from_secs(5),
        max_attempts: 3,
        request_timeout: Duration::from_secs(2),
        ..SlackConfig::new(target)
    }
}

fn web_api_target(api_base: &str, token: &str) -> SlackTarget {
    SlackTarget::WebApi { api_base: api_base.into(), bot_token: token.to_string().into(), channel: "C0SECOPS".into() }
}

fn web_api_chat(fake: &SlackFake) -> SlackChat {
    SlackChat::new(config(web_api_target(&fake.uri(), SLACK_FAKE_TOKEN))).expect("chat")
}

fn webhook_chat(fake: &SlackFake) -> SlackChat {
    SlackChat::new(config(SlackTarget::Webhook { url: fake.webhook_url().into() })).expect("chat")
}

#[tokio::test]
async fn the_web_api_posts_the_blocks_with_the_bearer_token_and_returns_the_ts() {
    let fake = SlackFake::start().await;
    let chat = web_api_chat(&fake);
    assert_eq!(chat.name(), "slack");

    assert_eq!(chat.post(&alert()).await.expect("posted"), "1700000000.000001");
    assert_eq!(chat.post(&summary()).await.expect("posted"), "1700000000.000002");

    let rendered = blocks(&alert());
    let sent = fake.messages();
    assert_eq!(sent.len(), 2);
    assert_eq!(
        sent[0],
        json!({
            "channel": "C0SECOPS",
            "text": rendered["text"],
            "blocks": rendered["blocks"],
            "unfurl_links": false,
            "unfurl_media": false,
        })
    );
    assert_eq!(sent[1]["blocks"], blocks(&summary())["blocks"]);
    assert_eq!(fake.requests(), 2);
}

#[tokio::test]
async fn a_wrong_token_is_permanent_and_the_error_does_not_show_it() {
    let fake = SlackFake::start().await;
    let token = "xoxb-wrong-0123456789";
    let chat = SlackChat::new(config(web_api_target(&fake.uri(), token))).expect("chat");

    let err = chat.post(&alert()).await.expect_err("refused");
    assert!(matches!(err, NotifyError::Permanent(_)), "{err:?}");
    let message = err.to_string();
    assert!(message.contains("invalid_auth"), "{message}");
    assert!(!message.contains(token), "{message}");
    // Refused credentials make the destination unusable until an operator fixes them: the
    // failure counts towards the breaker, and the message waits in the outbox.
    assert!(err.counts_against_destination());
    assert_eq!(fake.requests(), 1, "a permanent error is not retried");
    assert!(fake.messages().is_empty());
}

#[tokio::test]
async fn slack_errors_that_a_retry_cannot_fix_are_permanent() {
    let fake = SlackFake::start().await;
    let chat = web_api_chat(&fake);
    let errors = [
        "invalid_auth",
        "not_authed",
        "account_inactive",
        "channel_not_found",
        "not_in_channel",
        "is_archived",
        "msg_too_long",
        "invalid_blocks",
    ];
    for error in errors {
        fake.error_next(1, error);
        let err = chat.post(&started()).await.expect_err(error);
        assert!(matches!(err, NotifyError::Permanent(_)), "{error}: {err:?}");
        assert!(err.to_string().contains(error), "{err}");
        assert!(err.to_string().contains("C0SECOPS"), "names the channel: {err}");
    }
    assert_eq!(fake.requests(), errors.len(), "none retried");
    assert!(fake.messages().is_empty());
}

#[tokio::test]
async fn ratelimited_in_an_ok_false_answer_is_waited_out_then_delivered() {
    let fake = SlackFake::start().await;
    let chat = web_api_chat(&fake);
    fake.ratelimited_ok_false_next(1);

    let start = Instant::now();
    assert_eq!(chat.post(&started()).await.expect("delivered"), "1700000000.000001");
    assert!(start.elapsed() >= Duration::from_secs(1), "waited {:?}", start.elapsed());
    assert_eq!(fake.requests(), 2);
    assert_eq!(fake.messages().len(), 1);
}

#[tokio::test]
async fn http_429_waits_for_retry_after_then_delivers() {
    let fake = SlackFake::start().await;
    let chat = web_api_chat(&fake);
    fake.rate_limit_next(1, 1);

    let start = Instant::now();
    assert_eq!(chat.post(&started()).await.expect("delivered"), "1700000000.000001");
    assert!(start.elapsed() >= Duration::from_secs(1), "waited {:?}", start.elapsed());
    assert_eq!(fake.requests(), 2);
    assert_eq!(fake.messages().len(), 1);
}

#[tokio::test]
async fn a_retry_after_beyond_max_wait_is_throttled_without_waiting() {
    let fake = SlackFake::start().await;
    let chat = web_api_chat(&fake);
    fake.rate_limit_next(1, 120);

    let start = Instant::now();
    let err = chat.post(&started()).await.expect_err("throttled");
    assert!(start.elapsed() < Duration::from_secs(1), "took {:?}", start.elapsed());
    match err {
        NotifyError::Throttled { retry_after, .. } => {
            assert_eq!(retry_after, Some(Duration::from_secs(120)));
        }
        other => panic!("expected Throttled, got {other:?}"),
    }
    assert_eq!(fake.requests(), 1);
}

#[tokio::test]
async fn a_server_error_is_retried_then_delivered() {
    let fake = SlackFake::start().await;
    let chat = web_api_chat(&fake);
    fake.fail_next(1, 500);

    assert_eq!(chat.post(&alert()).await.expect("delivered"), "1700000000.000001");
    assert_eq!(fake.requests(), 2);
    assert_eq!(fake.messages().len(), 1);
}

#[tokio::test]
async fn server_errors_on_every_attempt_end_transient() {
    let fake = SlackFake::start().await;
    let chat = web_api_chat(&fake);
    fake.fail_next(10, 503);

    let err = chat.post(&alert()).await.expect_err("gave up");
    assert!(matches!(err, NotifyError::Transient(_)), "{err:?}");
    assert!(err.to_string().contains("503"), "{err}");
    assert!(err.counts_against_destination());
    assert_eq!(fake.requests(), 3, "max_attempts");
    assert!(fake.messages().is_empty());
}

#[tokio::test]
async fn a_request_that_times_out_is_retried_then_transient() {
    let slow = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({ "ok": true, "ts": "1.1" }))
                .set_delay(Duration::from_secs(2)),
        )
        .mount(&slow)
        .await;
    let chat = SlackChat::new(SlackConfig {
        max_attempts: 2,
        request_timeout: Duration::from_millis(200),
        ..config(web_api_target(&slow.uri(), SLACK_FAKE_TOKEN))
    })
    .expect("chat");

    let err = chat.post(&alert()).await.expect_err("timed out");
    assert!(matches!(err, NotifyError::Transient(_)), "{err:?}");
    assert!(err.to_string().contains("timed out"), "{err}");
    assert_eq!(slow.received_requests().await.expect("recorded").len(), 2);
}

#[tokio::test]
async fn a_webhook_post_returns_the_digest_of_what_it_sent() {
    let fake = SlackFake::start().await;
    let chat = webhook_chat(&fake);

    let id = chat.post(&summary()).await.expect("posted");
    let raw = fake.raw_messages();
    assert_eq!(raw.len(), 1);
    assert_eq!(id, format!("webhook:{}", &hex::encode(Sha256::digest(&raw[0]))[..16]));
    let rendered = blocks(&summary());
    assert_eq!(
        fake.messages()[0],
        json!({
            "text": rendered["text"],
            "blocks": rendered["blocks"],
            "unfurl_links": false,
            "unfurl_media": false,
        })
    );
    let other = chat.post(&alert()).await.expect("posted");
    assert_ne!(other, id);
}

#[tokio::test]
async fn a_webhook_429_waits_for_retry_after_then_delivers() {
    let fake = SlackFake::start().await;
    let chat = webhook_chat(&fake);
    fake.rate_limit_next(1, 1);

    let start = Instant::now();
    let id = chat.post(&alert()).await.expect("delivered");
    assert!(id.starts_with("webhook:"), "{id}");
    assert!(start.elapsed() >= Duration::from_secs(1), "waited {:?}", start.elapsed());
    assert_eq!(fake.requests(), 2);
    assert_eq!(fake.messages().len(), 1);
}

#[tokio::test]
async fn a_webhook_server_error_is_retried_then_delivered() {
    let fake = SlackFake::start().await;
    let chat = webhook_chat(&fake);
    fake.fail_next(1, 502);

    chat.post(&alert()).await.expect("delivered");
    assert_eq!(fake.requests(), 2);
}

#[tokio::test]
async fn webhook_rejections_are_permanent_and_do_not_show_the_url() {
    let fake = SlackFake::start().await;
    let chat = webhook_chat(&fake);
    for (error, status) in [("invalid_payload", "400"), ("no_service", "404"), ("channel_is_archived", "410")] {
        fake.error_next(1, error);
        let err = chat.post(&alert()).await.expect_err(error);
        assert!(matches!(err, NotifyError::Permanent(_)), "{err:?}");
        let message = err.to_string();
        assert!(message.contains(error) && message.contains(status), "{message}");
        assert!(!message.contains("fake-webhook-secret") && !message.contains("/services/"), "{message}");
    }
    assert_eq!(fake.requests(), 3, "none retried");
}

#[tokio::test]
async fn the_bucket_holds_back_the_message_past_the_burst() {
    let fake = SlackFake::start().await;
    let chat = SlackChat::new(SlackConfig {
        per_minute: 3,
        max_wait: Duration::ZERO,
        ..config(web_api_target(&fake.uri(), SLACK_FAKE_TOKEN))
    })
    .expect("chat");

    for _ in 0..3 {
        chat.post(&started()).await.expect("within the burst");
    }
    let err = chat.post(&started()).await.expect_err("held back");
    match err {
        NotifyError::Throttled { retry_after: Some(wait), .. } => {
            assert!(wait > Duration::ZERO && wait <= Duration::from_secs(20), "{wait:?}");
        }
        other => panic!("expected Throttled, got {other:?}"),
    }
    assert_eq!(fake.requests(), 3, "the fourth never left");
}

#[tokio::test]
async fn the_bucket_paces_posts_past_the_burst() {
    let fake = SlackFake::start().await;
    // 120 a minute: a burst of 120, then one every 500 ms.
    let chat = SlackChat::new(SlackConfig { per_minute: 120, ..config(web_api_target(&fake.uri(), SLACK_FAKE_TOKEN)) })
        .expect("chat");

    let start = Instant::now();
    for _ in 0..121 {
        chat.post(&started()).await.expect("delivered");
    }
    let elapsed = start.elapsed();
    assert!(elapsed >= Duration::from_millis(495), "121 posts in {elapsed:?}");
    assert_eq!(fake.messages().len(), 121);
}

#[tokio::test]
async fn the_largest_summary_is_accepted_by_slack() {
    let fake = SlackFake::start().await;
    web_api_chat(&fake).post(&huge_summary()).await.expect("accepted");
    webhook_chat(&fake).post(&huge_summary()).await.expect("accepted");
    assert_eq!(fake.messages().len(), 2);
}

#[test]
fn debug_shows_neither_the_token_nor_the_webhook_url() {
    let token = "xoxb-debug-secret-42";
    let chat = SlackChat::new(config(web_api_target("http://127.0.0.1:9", token))).expect("chat");
    let shown = format!("{chat:?}");
    assert!(!shown.contains(token), "{shown}");
    assert!(shown.contains("C0SECOPS"), "{shown}");

    let url = "http://127.0.0.1:9/services/T1/B1/webhook-secret-42";
    let chat = SlackChat::new(config(SlackTarget::Webhook { url: url.to_string().into() })).expect("chat");
    let shown = format!("{chat:?}");
    assert!(!shown.contains("webhook-secret-42"), "{shown}");
}

#[test]
fn a_configuration_that_cannot_work_is_refused() {
    let invalid = |config: SlackConfig| match SlackChat::new(config) {
        Err(NotifyError::InvalidInput(message)) => message,
        other => panic!("expected InvalidInput, got {other:?}"),
    };
    let target = || web_api_target("http://127.0.0.1:9", SLACK_FAKE_TOKEN);
    assert!(invalid(SlackConfig { per_minute: 0, ..config(target()) }).contains("per_minute"));
    assert!(invalid(SlackConfig { max_attempts: 0, ..config(target()) }).contains("max_attempts"));
    // The token would travel in the clear.
    assert!(invalid(config(web_api_target("http://slack.com", SLACK_FAKE_TOKEN))).contains("https"));
    assert!(invalid(config(web_api_target("http://127.0.0.1:9", " "))).contains("token"));
    let no_channel = SlackTarget::WebApi {
        api_base: "http://127.0.0.1:9".into(),
        bot_token: SLACK_FAKE_TOKEN.to_string().into(),
        channel: String::new(),
    };
    assert!(invalid(config(no_channel)).contains("channel"));
    let message = invalid(config(SlackTarget::Webhook { url: "hooks/secret-part".to_string().into() }));
    assert!(!message.contains("secret-part"), "{message}");
}

mod jsonl {
    use super::*;
    use secops_notify::local_chat::JsonlChat;

    fn lines(path: &std::path::Path) -> Vec<String> {
        std::fs::read_to_string(path).expect("read").lines().map(str::to_string).collect()
    }

    #[tokio::test]
    async fn each_message_is_one_line_with_the_blocks_slack_would_get() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("nested/chat/messages.jsonl");
        let chat = JsonlChat::new(&path);
        assert_eq!(chat.name(), "jsonl");

        let first = chat.post(&alert()).await.expect("written");
        let second = chat.post(&summary()).await.expect("written");

        let lines = lines(&path);
        assert_eq!(lines.len(), 2);
        assert_eq!(first, "offset:0");
        assert_eq!(second, format!("offset:{}", lines[0].len() + 1));
        for (line, message) in lines.iter().zip([alert(), summary()]) {
            let record: Value = serde_json::from_str(line).expect("one JSON value per line");
            assert_eq!(record["message"], serde_json::to_value(&message).expect("json"));
            assert_eq!(record["slack"], blocks(&message));
            let at = record["at"].as_str().expect("at");
            time::OffsetDateTime::parse(at, &time::format_description::well_known::Rfc3339).expect("RFC 3339");
        }
    }

    #[tokio::test]
    async fn concurrent_posts_write_intact_lines() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("chat.jsonl");
        let chat = Arc::new(JsonlChat::new(&path));

        let posts = (0..20).map(|i| {
            let chat = chat.clone();
            tokio::spawn(async move {
                let message = ChatMessage::Started(BatchStarted {
                    run_id: format!("run-{i}"),
                    workflow: "x".repeat(10_000),
                    findings: i,
                    started_at: "2025-06-01T08:00:00Z".into(),
                });
                chat.post(&message).await
            })
        });
        let mut ids = BTreeSet::new();
        for post in futures::future::join_all(posts).await {
            ids.insert(post.expect("joined").expect("written"));
        }

        let lines = lines(&path);
        assert_eq!(lines.len(), 20);
        let mut runs = BTreeSet::new();
        let mut starts = BTreeSet::new();
        let mut offset = 0;
        for line in &lines {
            let record: Value = serde_json::from_str(line).expect("an intact line");
            runs.insert(record["message"]["run_id"].as_str().expect("run id").to_string());
            starts.insert(format!("offset:{offset}"));
            offset += line.len() + 1;
        }
        assert_eq!(runs, (0..20).map(|i| format!("run-{i}")).collect::<BTreeSet<_>>());
        assert_eq!(ids, starts, "each id is where its line starts");
    }

    #[tokio::test]
    async fn a_file_that_cannot_be_written_is_an_io_error_naming_it() {
        let dir = tempfile::tempdir().expect("tempdir");
        let chat = JsonlChat::new(dir.path());
        match chat.post(&alert()).await {
            Err(NotifyError::Io { path, .. }) => assert_eq!(path, dir.path().display().to_string()),
            other => panic!("expected Io, got {other:?}"),
        }
    }
}
