//! Jira Cloud REST v3: the real adapter of the [`TicketSink`] port.
//!
//! Each call retries what may be retried (connection failures, 5xx, 429 and 503 with their
//! `Retry-After`) a few times within seconds; longer outages are the outbox's to ride out. A
//! create that timed out is not sent again here: Jira may have created the issue, and the
//! outbox finds it by its delivery label before it replays the create.

mod fields;
mod search;
mod transport;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use reqwest::Method;
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use serde_json::{json, Map, Value};
use tokio::sync::Semaphore;

use crate::adf::convert_cached;
use crate::message::TicketDraft;
use crate::sink::{CreatedTicket, TicketSink};
use crate::{NotifyError, Result};

use search::{SearchPage, LABELS_PER_QUERY, MAX_PAGES, PAGE_SIZE};
use transport::{Call, Idempotency, RetryPolicy, Transport};

/// The issue fields the adapter sets itself; a custom field may not replace them.
const ADAPTER_FIELDS: [&str; 7] =
    ["project", "issuetype", "summary", "description", "priority", "labels", "components"];

/// Where and how tickets are filed, and how hard each call tries.
#[derive(Debug, Clone)]
pub struct JiraConfig {
    /// The Jira site, e.g. `https://example.atlassian.net`.
    pub base_url: String,
    /// The account the API token belongs to (HTTP Basic user name).
    pub email: String,
    pub api_token: SecretString,
    /// The project key used when a draft names none.
    pub project: String,
    /// The issue type of every ticket, e.g. `Task`.
    pub issue_type: String,
    /// Finding severity (CRITICAL … INFORMATIONAL) → Jira priority name. A severity missing
    /// here files the ticket without a priority (Jira's default applies).
    pub priorities: BTreeMap<String, String>,
    /// Component names set on every ticket.
    pub components: Vec<String>,
    /// Further fields set on every ticket, e.g. `"customfield_10010": {"value": "SecOps"}`.
    pub custom_fields: Map<String, Value>,
    /// The status category key of closed issues (`done`).
    pub done_status_category: String,
    /// Requests in flight at once, across every clone and task.
    pub max_in_flight: usize,
    /// Attempts per call, the first included.
    pub max_attempts: u32,
    /// Ceiling of the first retry's random wait; doubles with every retry.
    pub base_delay: Duration,
    /// Longest wait between attempts; a `Retry-After` longer than this ends the call.
    pub max_delay: Duration,
    /// Time allowed for one request and its answer.
    pub request_timeout: Duration,
}

impl JiraConfig {
    /// A configuration with the usual defaults: issue type `Task`, the standard priorities,
    /// 3 requests in flight, 5 attempts, 200 ms–20 s backoff, 15 s per request.
    pub fn new(
        base_url: impl Into<String>,
        email: impl Into<String>,
        api_token: SecretString,
        project: impl Into<String>,
    ) -> Self {
        JiraConfig {
            base_url: base_url.into(),
            email: email.into(),
            api_token,
            project: project.into(),
            issue_type: "Task".to_owned(),
            priorities: default_priorities(),
            components: Vec::new(),
            custom_fields: Map::new(),
            done_status_category: "done".to_owned(),
            max_in_flight: 3,
            max_attempts: 5,
            base_delay: Duration::from_millis(200),
            max_delay: Duration::from_secs(20),
            request_timeout: Duration::from_secs(15),
        }
    }
}

/// The priority names of Jira's default priority scheme, by finding severity.
pub fn default_priorities() -> BTreeMap<String, String> {
    [("CRITICAL", "Highest"), ("HIGH", "High"), ("MEDIUM", "Medium"), ("LOW", "Low"), ("INFORMATIONAL", "Lowest")]
        .into_iter()
        .map(|(severity, priority)| (severity.to_owned(), priority.to_owned()))
        .collect()
}

/// Tickets in Jira Cloud. Clones share the HTTP client and the bound on requests in flight.
#[derive(Clone)]
pub struct JiraTickets {
    inner: Arc<Inner>,
}

struct Inner {
    config: JiraConfig,
    /// `base_url` without a trailing slash.
    site: String,
    transport: Transport,
}

impl std::fmt::Debug for JiraTickets {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let config = &self.inner.config;
        f.debug_struct("JiraTickets")
            .field("site", &self.inner.site)
            .field("email", &config.email)
            .field("project", &config.project)
            .field("issue_type", &config.issue_type)
            .field("max_in_flight", &config.max_in_flight)
            .finish_non_exhaustive()
    }
}

impl JiraTickets {
    /// Check the configuration and build the client; InvalidInput names what is wrong.
    pub fn new(config: JiraConfig) -> Result<Self> {
        let site = check_site(&config.base_url)?;
        let invalid = |what: &str| Err(NotifyError::InvalidInput(format!("jira configuration: {what}")));
        if config.email.trim().is_empty() {
            return invalid("the e-mail of the API token's account is empty");
        }
        if config.api_token.expose_secret().trim().is_empty() {
            return invalid("the API token is empty");
        }
        if !fields::is_project_key(&config.project) {
            return invalid(&format!("the project key {:?} is not a Jira project key (e.g. SEC)", config.project));
        }
        if config.issue_type.trim().is_empty() {
            return invalid("the issue type is empty");
        }
        if config.done_status_category.trim().is_empty() {
            return invalid("the done status category is empty");
        }
        if let Some(field) = config.custom_fields.keys().find(|field| ADAPTER_FIELDS.contains(&field.as_str())) {
            return invalid(&format!("the custom field {field:?} would replace a field the adapter sets"));
        }
        if config.max_in_flight == 0 || config.max_in_flight > Semaphore::MAX_PERMITS {
            return invalid(&format!("max_in_flight must be at least 1, not {}", config.max_in_flight));
        }
        if config.max_attempts == 0 {
            return invalid("max_attempts must be at least 1");
        }
        if config.request_timeout.is_zero() {
            return invalid("request_timeout must be longer than zero");
        }
        let transport = Transport::new(
            site.clone(),
            config.email.clone(),
            config.api_token.clone(),
            config.max_in_flight,
            config.request_timeout,
            RetryPolicy {
                max_attempts: config.max_attempts,
                base_delay: config.base_delay,
                max_delay: config.max_delay,
            },
        )?;
        Ok(JiraTickets { inner: Arc::new(Inner { config, site, transport }) })
    }

    /// Where a person opens the issue.
    pub fn browse_url(&self, key: &str) -> String {
        format!("{}/browse/{key}", self.inner.site)
    }

    fn config(&self) -> &JiraConfig {
        &self.inner.config
    }

    async fn send(&self, call: Call<'_>) -> Result<Value> {
        self.inner.transport.send(&call).await
    }

    /// The `fields` of a create request.
    fn issue_fields(&self, draft: &TicketDraft) -> Result<Map<String, Value>> {
        let config = self.config();
        let project = draft.project.as_deref().unwrap_or(&config.project);
        if !fields::is_project_key(project) {
            return Err(NotifyError::InvalidInput(format!(
                "jira create issue for finding {}: the project key {project:?} is not a Jira project key",
                draft.finding_id
            )));
        }
        let summary = fields::summary(&draft.summary);
        if summary.is_empty() {
            return Err(NotifyError::InvalidInput(format!(
                "jira create issue for finding {}: the summary is empty",
                draft.finding_id
            )));
        }
        let mut labels: Vec<String> = Vec::with_capacity(draft.labels.len());
        for label in draft.labels.iter().map(|label| fields::label(label)) {
            if !label.is_empty() && !labels.contains(&label) {
                labels.push(label);
            }
        }

        let mut issue = Map::new();
        issue.insert("project".into(), json!({ "key": project }));
        issue.insert("issuetype".into(), json!({ "name": config.issue_type }));
        issue.insert("summary".into(), Value::String(summary));
        issue.insert("description".into(), convert_cached(&draft.body).as_ref().clone());
        match config.priorities.get(&draft.severity.trim().to_ascii_uppercase()) {
            Some(priority) => {
                issue.insert("priority".into(), json!({ "name": priority }));
            }
            None => tracing::warn!(
                finding_id = %draft.finding_id,
                severity = %draft.severity,
                "no Jira priority is configured for this severity; the ticket gets Jira's default"
            ),
        }
        issue.insert("labels".into(), json!(labels));
        if !config.components.is_empty() {
            let components: Vec<Value> = config.components.iter().map(|name| json!({ "name": name })).collect();
            issue.insert("components".into(), Value::Array(components));
        }
        // `new` made sure none of these replaces a field set above.
        issue.extend(config.custom_fields.iter().map(|(field, value)| (field.clone(), value.clone())));
        Ok(issue)
    }

    /// Search one chunk of labels, page by page, and record for each label the oldest issue
    /// carrying it in `oldest`.
    async fn search_chunk<'a>(&self, labels: &[&'a str], oldest: &mut BTreeMap<&'a str, String>) -> Result<()> {
        let jql = search::labels_jql(labels.iter().copied());
        let mut next_page: Option<String> = None;
        for _ in 0..MAX_PAGES {
            let body = match &next_page {
                None => json!({ "jql": jql, "fields": ["labels"], "maxResults": PAGE_SIZE }),
                Some(token) => {
                    json!({ "jql": jql, "fields": ["labels"], "maxResults": PAGE_SIZE, "nextPageToken": token })
                }
            };
            let answer = self
                .send(Call {
                    what: "search issues by label".into(),
                    method: Method::POST,
                    path: "/rest/api/3/search/jql".into(),
                    body: Some(&body),
                    idempotency: Idempotency::Idempotent,
                })
                .await?;
            let page: SearchPage = decode("search issues by label", answer)?;
            for issue in &page.issues {
                for label in issue.fields.labels.iter().filter_map(|found| labels.iter().copied().find(|l| *l == found))
                {
                    // Several issues can carry a label (a person copied it, or a create that
                    // timed out was replayed before the search saw the first one): the oldest,
                    // lowest-numbered one is the ticket of record.
                    let older =
                        oldest.get(label).is_none_or(|known| fields::age_order(&issue.key) < fields::age_order(known));
                    if older {
                        oldest.insert(label, issue.key.clone());
                    }
                }
            }
            match page.next_page() {
                Some(token) if next_page.as_deref() == Some(token) => {
                    return Err(NotifyError::Permanent(format!(
                        "jira search issues by label: the next page token repeats ({token:?}); stopped paging"
                    )));
                }
                Some(token) => next_page = Some(token.to_owned()),
                None => return Ok(()),
            }
        }
        Err(NotifyError::Permanent(format!(
            "jira search issues by label: more than {MAX_PAGES} pages of {PAGE_SIZE} issues for {jql}; stopped paging"
        )))
    }

    /// Apply the transition into the done status category; nothing when the issue is done.
    async fn transition_to_done(&self, key: &str) -> Result<()> {
        let answer = self
            .send(Call {
                what: format!("list transitions of {key}"),
                method: Method::GET,
                path: format!("/rest/api/3/issue/{key}/transitions"),
                body: None,
                idempotency: Idempotency::Idempotent,
            })
            .await?;
        let offered: Transitions = decode(&format!("list transitions of {key}"), answer)?;
        let done_category = &self.config().done_status_category;
        let Some(done) = offered.transitions.iter().find(|t| &t.to.status_category.key == done_category) else {
            let status = self.status(key).await?;
            if &status.status_category.key == done_category {
                return Ok(());
            }
            let names: Vec<String> =
                offered.transitions.iter().map(|t| format!("{} (to {})", t.name, t.to.name)).collect();
            return Err(NotifyError::Permanent(format!(
                "jira close {key}: the issue is in status {:?} and no transition into the {done_category:?} status \
                 category is offered; offered: [{}]",
                status.name,
                names.join(", ")
            )));
        };
        let body = json!({ "transition": { "id": done.id } });
        let moved = self
            .send(Call {
                what: format!("transition {key} to {}", done.to.name),
                method: Method::POST,
                path: format!("/rest/api/3/issue/{key}/transitions"),
                body: Some(&body),
                idempotency: Idempotency::NotIdempotent,
            })
            .await;
        match moved {
            Ok(_) => Ok(()),
            // The transition may have been applied though the answer was lost, or another
            // worker closed the issue in between: what counts is whether it is done now.
            Err(err) => match self.status(key).await {
                Ok(status) if &status.status_category.key == done_category => Ok(()),
                _ => Err(err),
            },
        }
    }

    async fn status(&self, key: &str) -> Result<Status> {
        let what = format!("read the status of {key}");
        let answer = self
            .send(Call {
                what: what.clone(),
                method: Method::GET,
                path: format!("/rest/api/3/issue/{key}?fields=status"),
                body: None,
                idempotency: Idempotency::Idempotent,
            })
            .await?;
        let issue: IssueStatus = decode(&what, answer)?;
        Ok(issue.fields.status)
    }
}

#[async_trait]
impl TicketSink for JiraTickets {
    fn name(&self) -> &'static str {
        "jira"
    }

    async fn find_by_labels(&self, labels: &[String]) -> Result<BTreeMap<String, String>> {
        // Search for the labels as Jira stores them, then answer with the labels as asked.
        let stored: Vec<(&String, String)> = labels.iter().map(|label| (label, fields::label(label))).collect();
        let wanted: BTreeSet<&str> =
            stored.iter().map(|(_, stored)| stored.as_str()).filter(|label| !label.is_empty()).collect();
        let wanted: Vec<&str> = wanted.into_iter().collect();
        let mut oldest: BTreeMap<&str, String> = BTreeMap::new();
        for chunk in wanted.chunks(LABELS_PER_QUERY) {
            self.search_chunk(chunk, &mut oldest).await?;
        }
        Ok(stored
            .iter()
            .filter_map(|(asked, stored)| oldest.get(stored.as_str()).map(|key| ((*asked).clone(), key.clone())))
            .collect())
    }

    async fn create(&self, draft: &TicketDraft) -> Result<CreatedTicket> {
        let body = json!({ "fields": self.issue_fields(draft)? });
        let answer = self
            .send(Call {
                what: format!("create issue for finding {}", draft.finding_id),
                method: Method::POST,
                path: "/rest/api/3/issue".into(),
                body: Some(&body),
                idempotency: Idempotency::NotIdempotent,
            })
            .await?;
        let created: CreatedIssue = decode("create issue", answer)?;
        if !fields::is_issue_key(&created.key) {
            return Err(NotifyError::Permanent(format!(
                "jira create issue for finding {}: answered with the key {:?}, which is not an issue key",
                draft.finding_id, created.key
            )));
        }
        Ok(CreatedTicket { url: Some(self.browse_url(&created.key)), key: created.key })
    }

    async fn comment(&self, key: &str, markdown: &str) -> Result<()> {
        check_issue_key(key, "comment on")?;
        let body = json!({ "body": convert_cached(markdown).as_ref() });
        self.send(Call {
            what: format!("comment on {key}"),
            method: Method::POST,
            path: format!("/rest/api/3/issue/{key}/comment"),
            body: Some(&body),
            idempotency: Idempotency::NotIdempotent,
        })
        .await?;
        Ok(())
    }

    async fn close(&self, key: &str, markdown: &str) -> Result<()> {
        check_issue_key(key, "close")?;
        self.comment(key, markdown).await?;
        self.transition_to_done(key).await
    }
}

/// The site URL without a trailing slash; credentials, a query or a fragment are refused (a
/// URL with credentials would show them in error messages).
fn check_site(base_url: &str) -> Result<String> {
    let invalid = |why: &str| NotifyError::InvalidInput(format!("jira configuration: base_url {base_url:?} {why}"));
    let url = reqwest::Url::parse(base_url.trim()).map_err(|err| invalid(&format!("is not a URL: {err}")))?;
    if !matches!(url.scheme(), "https" | "http") {
        return Err(invalid("is not an http(s) URL"));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(invalid("holds credentials; set email and api_token instead"));
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(invalid("has a query or a fragment"));
    }
    Ok(url.as_str().trim_end_matches('/').to_owned())
}

fn check_issue_key(key: &str, action: &str) -> Result<()> {
    if fields::is_issue_key(key) {
        Ok(())
    } else {
        Err(NotifyError::InvalidInput(format!("jira {action} {key:?}: not an issue key (e.g. SEC-12)")))
    }
}

/// Jira's answer as `T`; an answer of another shape is Permanent (the API is not what we speak).
fn decode<T: serde::de::DeserializeOwned>(what: &str, answer: Value) -> Result<T> {
    serde_json::from_value(answer)
        .map_err(|err| NotifyError::Permanent(format!("jira {what}: unexpected answer: {err}")))
}

#[derive(Debug, Deserialize)]
struct CreatedIssue {
    key: String,
}

#[derive(Debug, Deserialize)]
struct Transitions {
    #[serde(default)]
    transitions: Vec<Transition>,
}

#[derive(Debug, Deserialize)]
struct Transition {
    id: String,
    #[serde(default)]
    name: String,
    to: Status,
}

#[derive(Debug, Deserialize)]
struct Status {
    #[serde(default)]
    name: String,
    #[serde(rename = "statusCategory")]
    status_category: StatusCategory,
}

#[derive(Debug, Deserialize)]
struct StatusCategory {
    key: String,
}

#[derive(Debug, Deserialize)]
struct IssueStatus {
    fields: IssueStatusFields,
}

#[derive(Debug, Deserialize)]
struct IssueStatusFields {
    status: Status,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(base_url: &str) -> JiraConfig {
        JiraConfig::new(base_url, "bot@example.com", SecretString::from("token-Vx81"), "SEC")
    }

    #[test]
    fn the_site_is_checked_and_normalised() {
        let tickets = JiraTickets::new(config("https://example.atlassian.net/")).expect("valid");
        assert_eq!(tickets.browse_url("SEC-4"), "https://example.atlassian.net/browse/SEC-4");
        for bad in ["example.atlassian.net", "ftp://example.net", "https://u:p@example.net", "https://e.net/?a=1"] {
            let err = JiraTickets::new(config(bad)).expect_err(bad);
            assert!(matches!(err, NotifyError::InvalidInput(_)), "{bad}: {err}");
        }
    }

    #[test]
    fn a_custom_field_cannot_replace_an_adapter_field() {
        let mut config = config("https://example.atlassian.net");
        config.custom_fields.insert("summary".into(), json!("x"));
        let err = JiraTickets::new(config).expect_err("summary is the adapter's");
        assert!(err.to_string().contains("\"summary\""), "{err}");
    }

    #[test]
    fn limits_must_be_positive() {
        let mut zero_in_flight = config("https://example.atlassian.net");
        zero_in_flight.max_in_flight = 0;
        assert!(matches!(JiraTickets::new(zero_in_flight), Err(NotifyError::InvalidInput(_))));
        let mut zero_attempts = config("https://example.atlassian.net");
        zero_attempts.max_attempts = 0;
        assert!(matches!(JiraTickets::new(zero_attempts), Err(NotifyError::InvalidInput(_))));
    }

    #[test]
    fn debug_does_not_show_the_token() {
        let tickets = JiraTickets::new(config("https://example.atlassian.net")).expect("valid");
        let shown = format!("{tickets:?} {:?}", tickets.config());
        assert!(!shown.contains("token-Vx81"), "{shown}");
        assert!(shown.contains("bot@example.com"), "{shown}");
    }
}
