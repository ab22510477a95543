//! The Jira Cloud adapter against the stateful Jira fake: the requests it sends, paging and
//! chunking of label searches, closing by status category, and how each failure is retried
//! or classified.

mod support;

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use secops_notify::adf::markdown_to_adf_json;
use secops_notify::jira::{JiraConfig, JiraTickets};
use secops_notify::{NotifyError, TicketDraft, TicketSink};
use serde_json::json;
use support::jira_fake::{JiraFake, API_TOKEN, PROJECT};

fn draft(summary: &str, severity: &str, labels: &[&str]) -> TicketDraft {
    TicketDraft {
        kind: "team".into(),
        finding_id: "arn:aws:securityhub:eu-west-1:111122223333:finding/f-1".into(),
        project: None,
        summary: summary.into(),
        body: "The bucket **logs** is public.".into(),
        severity: severity.into(),
        labels: labels.iter().map(|label| (*label).to_owned()).collect(),
    }
}

fn tickets(config: JiraConfig) -> JiraTickets {
    JiraTickets::new(config).expect("valid configuration")
}

fn finding_label(n: usize) -> String {
    format!("secops-finding-{n:04}")
}

#[tokio::test]
async fn create_sends_every_field_jira_needs() {
    let jira = JiraFake::start().await;
    jira.accept_custom_field("customfield_10010");
    let mut config = jira.config();
    config.components = vec!["Security".into(), "Cloud".into()];
    config.custom_fields.insert("customfield_10010".into(), json!({ "value": "SecOps" }));
    let tickets = tickets(config);

    let draft = draft("S3 bucket logs is public", "high", &["secops-finding-0a1b", "needs review", "needs review"]);
    let created = tickets.create(&draft).await.expect("created");

    assert_eq!(created.key, "SEC-1");
    assert_eq!(created.url.as_deref(), Some(format!("{}/browse/SEC-1", jira.uri()).as_str()));
    assert_eq!(tickets.name(), "jira");
    let issues = jira.issues();
    assert_eq!(issues.len(), 1);
    let expected = json!({
        "project": { "key": PROJECT },
        "issuetype": { "name": "Task" },
        "summary": "S3 bucket logs is public",
        "description": markdown_to_adf_json("The bucket **logs** is public."),
        "priority": { "name": "High" },
        "labels": ["secops-finding-0a1b", "needs-review"],
        "components": [{ "name": "Security" }, { "name": "Cloud" }],
        "customfield_10010": { "value": "SecOps" },
    });
    assert_eq!(serde_json::Value::Object(issues[0].fields.clone()), expected);
    assert_eq!(jira.descriptions(), [markdown_to_adf_json("The bucket **logs** is public.")]);
}

#[tokio::test]
async fn severities_map_to_priorities_and_an_unknown_one_sets_none() {
    let jira = JiraFake::start().await;
    let tickets = tickets(jira.config());
    let expected =
        [("CRITICAL", "Highest"), ("HIGH", "High"), ("MEDIUM", "Medium"), ("LOW", "Low"), ("INFORMATIONAL", "Lowest")];
    for (severity, _) in expected {
        tickets.create(&draft("finding", severity, &[])).await.expect("created");
    }
    tickets.create(&draft("finding", "SEVERE-ISH", &[])).await.expect("created without a priority");

    let issues = jira.issues();
    let priorities: Vec<Option<&str>> = issues.iter().map(|issue| issue.priority.as_deref()).collect();
    assert_eq!(priorities, [Some("Highest"), Some("High"), Some("Medium"), Some("Low"), Some("Lowest"), None]);
    assert!(!issues[5].fields.contains_key("priority"));
}

#[tokio::test]
async fn a_draft_with_a_project_files_there() {
    let jira = JiraFake::start().await;
    let tickets = tickets(jira.config());
    let mut ops = draft("finding", "LOW", &[]);
    ops.project = Some("OPS".into());
    assert_eq!(tickets.create(&ops).await.expect("created").key, "OPS-1");
}

#[tokio::test]
async fn a_long_multiline_summary_is_cut_to_jiras_limit() {
    let jira = JiraFake::start().await;
    let tickets = tickets(jira.config());
    let long = format!("Security group open to the world\n{}", "x".repeat(300));
    tickets.create(&draft(&long, "HIGH", &[])).await.expect("the fake accepts it");

    let summary = &jira.issues()[0].summary;
    assert_eq!(summary.chars().count(), 255);
    assert!(summary.starts_with("Security group open to the world x"), "{summary}");
    assert!(summary.ends_with("x…"), "{summary}");
}

#[tokio::test]
async fn find_by_labels_pages_through_results_and_chunks_the_labels() {
    let jira = JiraFake::start().await;
    let tickets = tickets(jira.config());
    // Labels 0..6 carry one issue each, label 3 a second, newer one; the rest carry none.
    for n in [0, 1, 2, 3, 4, 5, 3] {
        let label = finding_label(n);
        tickets.create(&draft("finding", "LOW", &[&label, "secops-team"])).await.expect("created");
    }
    jira.page_size(2);

    let asked: Vec<String> = (0..120).map(finding_label).collect();
    let found = tickets.find_by_labels(&asked).await.expect("searched");

    let expected: BTreeMap<String, String> = (0..6).map(|n| (finding_label(n), format!("SEC-{}", n + 1))).collect();
    assert_eq!(found, expected, "label 3 maps to its oldest issue, SEC-4, not SEC-7");

    let searches = jira.searches();
    assert!(searches.iter().all(|search| search.labels.len() <= 50));
    let first_pages: Vec<usize> =
        searches.iter().filter(|search| search.page_token.is_none()).map(|search| search.labels.len()).collect();
    assert_eq!(first_pages, [50, 50, 20], "120 labels in three queries");
    let mut searched: Vec<String> = searches.iter().flat_map(|search| search.labels.clone()).collect();
    searched.sort();
    searched.dedup();
    assert_eq!(searched, asked);
    // The 7 issues of the first query come 2 per page: 4 pages.
    assert_eq!(searches.iter().filter(|search| search.labels.contains(&finding_label(0))).count(), 4);
}

#[tokio::test]
async fn find_by_labels_answers_with_the_labels_as_asked() {
    let jira = JiraFake::start().await;
    let tickets = tickets(jira.config());
    tickets.create(&draft("finding", "LOW", &["needs review"])).await.expect("created");

    let asked = vec!["needs review".to_owned(), "never-used".to_owned()];
    let found = tickets.find_by_labels(&asked).await.expect("searched");
    assert_eq!(found, BTreeMap::from([("needs review".to_owned(), "SEC-1".to_owned())]));

    let before = jira.requests();
    assert!(tickets.find_by_labels(&[]).await.expect("nothing to search").is_empty());
    assert_eq!(jira.requests(), before, "no labels, no request");
}

#[tokio::test]
async fn comment_adds_an_adf_comment() {
    let jira = JiraFake::start().await;
    let tickets = tickets(jira.config());
    let key = tickets.create(&draft("finding", "LOW", &[])).await.expect("created").key;

    tickets.comment(&key, "Remediated in **prod**.").await.expect("commented");

    assert_eq!(jira.issue(&key).expect("issue").comments, [markdown_to_adf_json("Remediated in **prod**.")]);
}

#[tokio::test]
async fn comment_on_a_missing_issue_is_permanent_and_names_it() {
    let jira = JiraFake::start().await;
    let tickets = tickets(jira.config());
    let err = tickets.comment("SEC-404", "hello").await.expect_err("no such issue");
    assert!(matches!(err, NotifyError::Permanent(_)), "{err:?}");
    assert!(err.to_string().contains("SEC-404") && err.to_string().contains("404"), "{err}");
    assert_eq!(jira.requests(), 1, "404 is not retried");
}

#[tokio::test]
async fn a_key_that_is_not_an_issue_key_is_refused_before_any_request() {
    let jira = JiraFake::start().await;
    let tickets = tickets(jira.config());
    let err = tickets.comment("SEC-1/../../../admin", "x").await.expect_err("not a key");
    assert!(matches!(err, NotifyError::InvalidInput(_)), "{err:?}");
    let err = tickets.close("", "x").await.expect_err("not a key");
    assert!(matches!(err, NotifyError::InvalidInput(_)), "{err:?}");
    assert_eq!(jira.requests(), 0);
}

#[tokio::test]
async fn close_takes_the_transition_into_the_done_category_and_can_repeat() {
    let jira = JiraFake::start().await;
    let tickets = tickets(jira.config());
    let key = tickets.create(&draft("finding", "LOW", &[])).await.expect("created").key;

    // Offered from To Do: Start work, Resolve (→ Done), Send to review.
    tickets.close(&key, "Resolved: the bucket is private.").await.expect("closed");
    let issue = jira.issue(&key).expect("issue");
    assert_eq!(issue.status, "Done");
    assert_eq!(issue.comments, [markdown_to_adf_json("Resolved: the bucket is private.")]);

    tickets.close(&key, "Resolved again.").await.expect("closing a done issue succeeds");
    let issue = jira.issue(&key).expect("issue");
    assert_eq!(issue.status, "Done");
    assert_eq!(issue.comments.len(), 2);
}

#[tokio::test]
async fn close_without_a_done_transition_is_permanent_unless_already_done() {
    let jira = JiraFake::start().await;
    jira.use_linear_workflow();
    let tickets = tickets(jira.config());
    let key = tickets.create(&draft("finding", "LOW", &[])).await.expect("created").key;

    let err = tickets.close(&key, "Resolved.").await.expect_err("To Do cannot go to Done");
    assert!(matches!(err, NotifyError::Permanent(_)), "{err:?}");
    let message = err.to_string();
    assert!(message.contains(&key) && message.contains("To Do") && message.contains("Start work"), "{message}");
    assert_eq!(jira.issue(&key).expect("issue").status, "To Do");

    // Someone closed it by hand: closing it now succeeds without a transition.
    jira.set_status(&key, "Done");
    tickets.close(&key, "Resolved.").await.expect("already done");
    assert_eq!(jira.issue(&key).expect("issue").status, "Done");
}

#[tokio::test]
async fn server_errors_are_retried_within_the_call() {
    let jira = JiraFake::start().await;
    let tickets = tickets(jira.config());
    jira.fail_next(2, 500);

    tickets.create(&draft("finding", "LOW", &[])).await.expect("third attempt succeeds");

    assert_eq!(jira.requests(), 3);
    assert_eq!(jira.issues().len(), 1);
}

#[tokio::test]
async fn server_errors_past_the_attempts_are_transient() {
    let jira = JiraFake::start().await;
    let tickets = tickets(jira.config());
    jira.fail_next(10, 502);

    let err = tickets.find_by_labels(&["a".to_owned()]).await.expect_err("always 502");

    assert!(matches!(err, NotifyError::Transient(_)), "{err:?}");
    assert_eq!(jira.requests(), 4, "max_attempts of the fake's config");
}

#[tokio::test]
async fn not_implemented_is_permanent_and_not_retried() {
    let jira = JiraFake::start().await;
    let tickets = tickets(jira.config());
    jira.fail_next(1, 501);

    let err = tickets.create(&draft("finding", "LOW", &[])).await.expect_err("501");

    assert!(matches!(err, NotifyError::Permanent(_)), "{err:?}");
    assert_eq!(jira.requests(), 1);
}

#[tokio::test]
async fn a_short_outage_is_ridden_out_by_the_retries() {
    let jira = JiraFake::start().await;
    let mut config = jira.config();
    config.max_attempts = 30;
    config.base_delay = Duration::from_millis(5);
    let tickets = tickets(config);
    jira.fail_until(Instant::now() + Duration::from_millis(40), 503);

    tickets.create(&draft("finding", "LOW", &[])).await.expect("created after the outage");

    assert!(jira.requests() > 1, "the outage answered at least once");
    assert_eq!(jira.issues().len(), 1);
}

#[tokio::test]
async fn retry_after_is_honoured() {
    let jira = JiraFake::start().await;
    let mut config = jira.config();
    config.max_delay = Duration::from_secs(5);
    let tickets = tickets(config);
    jira.throttle_next(1, 1);

    let started = Instant::now();
    tickets.create(&draft("finding", "LOW", &[])).await.expect("created after the wait");

    assert!(started.elapsed() >= Duration::from_secs(1), "waited {:?}", started.elapsed());
    assert_eq!(jira.requests(), 2);
    assert_eq!(jira.issues().len(), 1);
}

#[tokio::test]
async fn retry_after_beyond_max_delay_returns_throttled_with_the_hint() {
    let jira = JiraFake::start().await;
    let tickets = tickets(jira.config());
    jira.throttle_next(1, 120);

    let err = tickets.create(&draft("finding", "LOW", &[])).await.expect_err("too long to wait");

    match err {
        NotifyError::Throttled { retry_after, .. } => assert_eq!(retry_after, Some(Duration::from_secs(120))),
        other => panic!("expected Throttled, got {other:?}"),
    }
    assert_eq!(jira.requests(), 1);
    assert!(jira.issues().is_empty());
}

#[tokio::test]
async fn unauthorized_is_permanent_and_never_shows_the_token() {
    let jira = JiraFake::start().await;
    let mut config = jira.config();
    config.api_token = "wrong-token-Qx7Lm".into();
    let tickets = tickets(config);

    let err = tickets.create(&draft("finding", "LOW", &[])).await.expect_err("bad token");

    assert!(matches!(err, NotifyError::Permanent(_)), "{err:?}");
    let shown = format!("{err} {err:?} {tickets:?}");
    assert!(shown.contains("401"), "{shown}");
    assert!(!shown.contains("wrong-token-Qx7Lm") && !shown.contains(API_TOKEN), "{shown}");
    assert_eq!(jira.requests(), 1, "401 is not retried");
}

#[tokio::test]
async fn a_rejected_field_is_invalid_input_naming_the_field() {
    let jira = JiraFake::start().await;
    let mut config = jira.config();
    config.custom_fields.insert("customfield_99999".into(), json!("x"));
    let tickets = tickets(config);

    let err = tickets.create(&draft("finding", "LOW", &[])).await.expect_err("field not on the screen");

    assert!(matches!(err, NotifyError::InvalidInput(_)), "{err:?}");
    assert!(err.to_string().contains("customfield_99999: Field 'customfield_99999' cannot be set"), "{err}");
    assert_eq!(jira.requests(), 1, "400 is not retried");
}

#[tokio::test]
async fn a_create_that_timed_out_is_transient_and_not_sent_again() {
    let jira = JiraFake::start().await;
    let mut config = jira.config();
    config.request_timeout = Duration::from_millis(100);
    let tickets = tickets(config);
    jira.succeed_slowly_next(1, Duration::from_millis(400));

    let err = tickets.create(&draft("finding", "LOW", &["secops-delivery-01"])).await.expect_err("timed out");

    assert!(matches!(err, NotifyError::Transient(_)), "{err:?}");
    assert!(err.to_string().contains("not sent again"), "{err}");
    assert_eq!(jira.requests(), 1, "a create with an unknown outcome is not resent");
    assert_eq!(jira.issues().len(), 1, "Jira did create it");
    // What the outbox does before it replays the create: find it by its delivery label.
    let found = tickets.find_by_labels(&["secops-delivery-01".to_owned()]).await.expect("searched");
    assert_eq!(found.get("secops-delivery-01").map(String::as_str), Some("SEC-1"));
}

#[tokio::test]
async fn a_search_that_timed_out_is_sent_again() {
    let jira = JiraFake::start().await;
    let mut config = jira.config();
    config.request_timeout = Duration::from_millis(100);
    let tickets = tickets(config);
    tickets.create(&draft("finding", "LOW", &["secops-finding-01"])).await.expect("created");
    jira.succeed_slowly_next(1, Duration::from_millis(400));

    let found = tickets.find_by_labels(&["secops-finding-01".to_owned()]).await.expect("second attempt answers");

    assert_eq!(found.len(), 1);
    assert_eq!(jira.requests(), 3, "create, the timed-out search, the retry");
}

#[tokio::test]
async fn a_lost_transition_answer_is_checked_against_the_status() {
    let jira = JiraFake::start().await;
    let mut config = jira.config();
    config.request_timeout = Duration::from_millis(100);
    let tickets = tickets(config);
    let key = tickets.create(&draft("finding", "LOW", &[])).await.expect("created").key;
    // Create, comment and list transitions answer at once; the transition happens but its
    // answer comes too late.
    jira.succeed_slowly_next(2, Duration::ZERO);
    jira.succeed_slowly_next(1, Duration::from_millis(400));

    tickets.close(&key, "Resolved.").await.expect("the issue is done");

    assert_eq!(jira.issue(&key).expect("issue").status, "Done");
}

#[tokio::test]
async fn at_most_max_in_flight_requests_across_clones() {
    let jira = JiraFake::start().await;
    jira.set_response_delay(Duration::from_millis(40));
    let tickets = tickets(jira.config());

    let creates: Vec<_> = (0..12)
        .map(|n| {
            let tickets = tickets.clone();
            tokio::spawn(async move { tickets.create(&draft(&format!("finding {n}"), "LOW", &[])).await })
        })
        .collect();
    for create in creates {
        create.await.expect("task").expect("created");
    }

    assert_eq!(jira.issues().len(), 12);
    assert_eq!(jira.max_in_flight(), 3, "the default max_in_flight, reached and never passed");
}
