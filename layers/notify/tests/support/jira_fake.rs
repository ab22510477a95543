//! A stateful fake of the Jira Cloud REST v3 endpoints the Jira adapter calls, on wiremock.
//!
//! It keeps issues, their comments and statuses; checks HTTP Basic credentials ([`EMAIL`],
//! [`API_TOKEN`]); validates a create the way Jira does (400 with per-field `errors`); pages
//! search results with opaque `nextPageToken`s; and lets a test inject failures.
//!
//! Endpoints (anything else answers 404):
//! - `POST /rest/api/3/issue` — keys `SEC-1`, `SEC-2`, … (the project key, then one counter)
//! - `POST /rest/api/3/search/jql` — JQL `labels in ("a", "b")`, anything after `)` ignored;
//!   newest issue first; `labels` returned when asked for in `fields`
//! - `POST /rest/api/3/issue/{key}/comment`
//! - `GET /rest/api/3/issue/{key}/transitions`, `POST /rest/api/3/issue/{key}/transitions`
//! - `GET /rest/api/3/issue/{key}` — the status
//!
//! Workflow: To Do (category `new`), In Progress and In Review (`indeterminate`), Done
//! (`done`), through the transitions Start work, Resolve, Send to review and Reopen. By default
//! every status can move to every other one (Jira's simplified workflow), so the transition into
//! done sits between others in the list; [`JiraFake::use_linear_workflow`] allows only
//! To Do → In Progress → (In Review →) Done → To Do.
//!
//! Failure injection: [`JiraFake::fail_next`], [`JiraFake::throttle_next`] and
//! [`JiraFake::succeed_slowly_next`] queue per-request faults that the next requests take in the
//! order they were queued; [`JiraFake::fail_until`] is an outage window that comes before them.
//! Every request counts in [`JiraFake::requests`], failed ones included.

use std::collections::{BTreeSet, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use base64::Engine as _;
use secops_notify::jira::JiraConfig;
use serde_json::{json, Map, Value};
use wiremock::matchers::any;
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

/// The account the fake accepts.
pub const EMAIL: &str = "secops-bot@example.com";
/// The API token the fake accepts.
pub const API_TOKEN: &str = "fake-jira-token-8c1f2d";
/// The project [`JiraFake::config`] files into.
pub const PROJECT: &str = "SEC";
/// The priority names the fake knows (Jira's default scheme).
pub const PRIORITIES: [&str; 5] = ["Highest", "High", "Medium", "Low", "Lowest"];

/// Statuses: (name, status category key, status id).
const STATUSES: [(&str, &str, &str); 4] = [
    ("To Do", "new", "10000"),
    ("In Progress", "indeterminate", "3"),
    ("In Review", "indeterminate", "10001"),
    ("Done", "done", "10002"),
];

/// Transitions in the order Jira lists them: (id, name, target status).
const TRANSITIONS: [(&str, &str, &str); 4] = [
    ("21", "Start work", "In Progress"),
    ("31", "Resolve", "Done"),
    ("41", "Send to review", "In Review"),
    ("11", "Reopen", "To Do"),
];

/// The fields a create may set besides the accepted custom fields.
const SYSTEM_FIELDS: [&str; 7] = ["project", "issuetype", "summary", "description", "priority", "labels", "components"];

/// Jira's largest page when fields are requested.
const MAX_PAGE: usize = 100;

/// One issue as the fake holds it.
#[derive(Debug, Clone, PartialEq)]
pub struct FakeIssue {
    pub key: String,
    /// The `fields` of the create request, exactly as received.
    pub fields: Map<String, Value>,
    pub summary: String,
    pub labels: Vec<String>,
    pub priority: Option<String>,
    /// The ADF description.
    pub description: Value,
    /// The ADF body of each comment, oldest first.
    pub comments: Vec<Value>,
    /// The status name: To Do, In Progress, In Review or Done.
    pub status: String,
}

/// One call of the search endpoint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SearchCall {
    pub jql: String,
    /// The labels the JQL asked for.
    pub labels: Vec<String>,
    /// None for a first page.
    pub page_token: Option<String>,
}

#[derive(Debug, Clone, Copy)]
enum Fault {
    /// Answer this status, do nothing.
    Fail(u16),
    /// Answer 429 with `Retry-After: <seconds>`, do nothing.
    Throttle(u64),
    /// Do the work, then answer after this delay.
    Slow(Duration),
}

#[derive(Debug)]
struct State {
    uri: String,
    issues: Vec<FakeIssue>,
    issues_created: u64,
    comments_added: u64,
    requests: usize,
    faults: VecDeque<Fault>,
    outage: Option<(Instant, u16)>,
    page_size: Option<usize>,
    response_delay: Duration,
    linear_workflow: bool,
    custom_fields: BTreeSet<String>,
    documents: Vec<Value>,
    searches: Vec<SearchCall>,
    /// When each answer still being delayed is sent: the requests in flight.
    answers_due: Vec<Instant>,
    max_in_flight: usize,
}

/// The fake Jira site. Dropping it stops the server.
#[derive(Debug)]
pub struct JiraFake {
    server: MockServer,
    state: Arc<Mutex<State>>,
}

impl JiraFake {
    /// Start an empty Jira on a loopback port.
    pub async fn start() -> JiraFake {
        let server = MockServer::start().await;
        let state = Arc::new(Mutex::new(State {
            uri: server.uri(),
            issues: Vec::new(),
            issues_created: 0,
            comments_added: 0,
            requests: 0,
            faults: VecDeque::new(),
            outage: None,
            page_size: None,
            response_delay: Duration::ZERO,
            linear_workflow: false,
            custom_fields: BTreeSet::new(),
            documents: Vec::new(),
            searches: Vec::new(),
            answers_due: Vec::new(),
            max_in_flight: 0,
        }));
        Mock::given(any()).respond_with(Router { state: Arc::clone(&state) }).mount(&server).await;
        JiraFake { server, state }
    }

    pub fn uri(&self) -> String {
        self.server.uri()
    }

    /// A configuration for this fake: its credentials, project [`PROJECT`], and retry timings of
    /// milliseconds (4 attempts, 1–20 ms backoff, 2 s per request) so tests stay fast.
    pub fn config(&self) -> JiraConfig {
        let mut config = JiraConfig::new(self.uri(), EMAIL, API_TOKEN.into(), PROJECT);
        config.max_attempts = 4;
        config.base_delay = Duration::from_millis(1);
        config.max_delay = Duration::from_millis(20);
        config.request_timeout = Duration::from_secs(2);
        config
    }

    /// Every issue, in creation order.
    pub fn issues(&self) -> Vec<FakeIssue> {
        self.state().issues.clone()
    }

    pub fn issue(&self, key: &str) -> Option<FakeIssue> {
        self.state().issues.iter().find(|issue| issue.key == key).cloned()
    }

    /// Requests received, failed and injected ones included.
    pub fn requests(&self) -> usize {
        self.state().requests
    }

    /// The next `n` requests answer `status` without any effect.
    pub fn fail_next(&self, n: usize, status: u16) {
        self.state().faults.extend(std::iter::repeat_n(Fault::Fail(status), n));
    }

    /// Every request before `until` answers `status` without any effect.
    pub fn fail_until(&self, until: Instant, status: u16) {
        self.state().outage = Some((until, status));
    }

    /// The next `n` requests answer 429 with `Retry-After: retry_after_secs`, without any effect.
    pub fn throttle_next(&self, n: usize, retry_after_secs: u64) {
        self.state().faults.extend(std::iter::repeat_n(Fault::Throttle(retry_after_secs), n));
    }

    /// The next `n` requests take effect, then their answer waits `delay` (a client with a
    /// shorter timeout gives up on a request that did happen).
    pub fn succeed_slowly_next(&self, n: usize, delay: Duration) {
        self.state().faults.extend(std::iter::repeat_n(Fault::Slow(delay), n));
    }

    /// Search pages hold at most `n` issues, whatever `maxResults` asks for.
    pub fn page_size(&self, n: usize) {
        self.state().page_size = Some(n.max(1));
    }

    /// Every answer waits `delay` (on top of any injected one).
    pub fn set_response_delay(&self, delay: Duration) {
        self.state().response_delay = delay;
    }

    /// The most requests that were waiting for their answer at once.
    pub fn max_in_flight(&self) -> usize {
        self.state().max_in_flight
    }

    /// Every ADF document received (descriptions and comments), in order.
    pub fn descriptions(&self) -> Vec<Value> {
        self.state().documents.clone()
    }

    /// Every search call, in order.
    pub fn searches(&self) -> Vec<SearchCall> {
        self.state().searches.clone()
    }

    /// Allow only To Do → In Progress → (In Review →) Done → To Do.
    pub fn use_linear_workflow(&self) {
        self.state().linear_workflow = true;
    }

    /// Let creates set this custom field (others answer 400 like a field missing from the screen).
    pub fn accept_custom_field(&self, field: &str) {
        self.state().custom_fields.insert(field.to_owned());
    }

    /// Move an issue to a status, as a person would.
    pub fn set_status(&self, key: &str, status: &str) {
        assert!(STATUSES.iter().any(|(name, _, _)| *name == status), "unknown status {status:?}");
        let mut state = self.state();
        let issue = state.issues.iter_mut().find(|issue| issue.key == key).expect("no such issue");
        issue.status = status.to_owned();
    }

    fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

struct Router {
    state: Arc<Mutex<State>>,
}

impl Respond for Router {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        state.requests += 1;
        let now = Instant::now();
        let (answer, injected_delay) = state.answer(request, now);
        let delay = state.response_delay + injected_delay;
        state.answers_due.retain(|due| *due > now);
        state.answers_due.push(now + delay);
        state.max_in_flight = state.max_in_flight.max(state.answers_due.len());
        answer.set_delay(delay)
    }
}

impl State {
    /// The answer, after any injected fault, and the delay the fault adds.
    fn answer(&mut self, request: &Request, now: Instant) -> (ResponseTemplate, Duration) {
        if let Some((until, status)) = self.outage {
            if now < until {
                return (injected_failure(status), Duration::ZERO);
            }
        }
        match self.faults.pop_front() {
            Some(Fault::Fail(status)) => (injected_failure(status), Duration::ZERO),
            Some(Fault::Throttle(seconds)) => {
                (injected_failure(429).insert_header("Retry-After", seconds.to_string()), Duration::ZERO)
            }
            Some(Fault::Slow(delay)) => (self.serve(request), delay),
            None => (self.serve(request), Duration::ZERO),
        }
    }

    fn serve(&mut self, request: &Request) -> ResponseTemplate {
        if !authorized(request) {
            return ResponseTemplate::new(401).set_body_string("Client must be authenticated to access this resource.");
        }
        let Some(route) = request.url.path().strip_prefix("/rest/api/3/") else {
            return not_found("No such endpoint in the Jira fake.");
        };
        let segments: Vec<&str> = route.split('/').collect();
        match (request.method.as_str(), segments.as_slice()) {
            ("POST", ["issue"]) => self.create(request),
            ("POST", ["search", "jql"]) => self.search(request),
            ("GET", ["issue", key]) => self.get_issue(key),
            ("POST", ["issue", key, "comment"]) => self.add_comment(key, request),
            ("GET", ["issue", key, "transitions"]) => self.list_transitions(key),
            ("POST", ["issue", key, "transitions"]) => self.transition(key, request),
            _ => not_found("No such endpoint in the Jira fake."),
        }
    }

    fn create(&mut self, request: &Request) -> ResponseTemplate {
        let body = match request.body_json::<Value>() {
            Ok(body) => body,
            Err(err) => return bad_request(&[format!("Unexpected content: {err}")], Map::new()),
        };
        let Some(fields) = body.get("fields").and_then(Value::as_object) else {
            return bad_request(&["Field 'fields' is required.".to_owned()], Map::new());
        };
        let mut errors = Map::new();
        let mut reject = |field: &str, message: String| {
            errors.insert(field.to_owned(), Value::String(message));
        };
        let project = fields.get("project").and_then(|p| p["key"].as_str()).unwrap_or_default();
        if project.is_empty() {
            reject("project", "Specify a valid project ID or key".into());
        }
        if fields.get("issuetype").and_then(|t| t["name"].as_str()).is_none_or(str::is_empty) {
            reject("issuetype", "Specify an issue type".into());
        }
        let summary = fields.get("summary").and_then(Value::as_str).unwrap_or_default();
        if summary.trim().is_empty() {
            reject("summary", "You must specify a summary of the issue.".into());
        } else if summary.contains(['\n', '\r']) {
            reject("summary", "The summary is invalid because it contains newline characters.".into());
        } else if summary.encode_utf16().count() > 255 {
            reject("summary", "Summary must be less than 255 characters.".into());
        }
        let description = fields.get("description").cloned().unwrap_or(Value::Null);
        if !description.is_null() && !is_adf_document(&description) {
            reject(
                "description",
                "Operation value must be an Atlassian Document (see the Atlassian Document Format)".into(),
            );
        }
        let labels: Vec<String> = match fields.get("labels") {
            None => Vec::new(),
            Some(Value::Array(labels)) => labels.iter().filter_map(Value::as_str).map(str::to_owned).collect(),
            Some(_) => {
                reject("labels", "Labels must be a list of strings.".into());
                Vec::new()
            }
        };
        if let Some(spaced) = labels.iter().find(|label| label.contains(char::is_whitespace)) {
            reject("labels", format!("The label '{spaced}' contains spaces which is invalid."));
        }
        let priority = fields.get("priority").map(|p| p["name"].as_str().unwrap_or_default().to_owned());
        if priority.as_deref().is_some_and(|name| !PRIORITIES.contains(&name)) {
            reject("priority", "Specify the Priority (id or name) in the string format".into());
        }
        for field in fields.keys() {
            if !SYSTEM_FIELDS.contains(&field.as_str()) && !self.custom_fields.contains(field) {
                reject(
                    field,
                    format!("Field '{field}' cannot be set. It is not on the appropriate screen, or unknown."),
                );
            }
        }
        if !errors.is_empty() {
            return bad_request(&[], errors);
        }

        self.issues_created += 1;
        let number = self.issues_created;
        let key = format!("{project}-{number}");
        if !description.is_null() {
            self.documents.push(description.clone());
        }
        self.issues.push(FakeIssue {
            key: key.clone(),
            fields: fields.clone(),
            summary: summary.to_owned(),
            labels,
            priority,
            description,
            comments: Vec::new(),
            status: "To Do".to_owned(),
        });
        let id = 10_000 + number;
        ResponseTemplate::new(201).set_body_json(json!({
            "id": id.to_string(),
            "key": key,
            "self": format!("{}/rest/api/3/issue/{id}", self.uri),
        }))
    }

    fn search(&mut self, request: &Request) -> ResponseTemplate {
        let body = match request.body_json::<Value>() {
            Ok(body) => body,
            Err(err) => return bad_request(&[format!("Unexpected content: {err}")], Map::new()),
        };
        let jql = body["jql"].as_str().unwrap_or_default().to_owned();
        let Some(labels) = labels_in(&jql) else {
            return bad_request(
                &[format!("Error in the JQL Query: the fake understands only labels in (\"a\", …): {jql}")],
                Map::new(),
            );
        };
        let asked = body["maxResults"].as_u64().map_or(50, |n| usize::try_from(n).unwrap_or(MAX_PAGE));
        let page_size = asked.min(MAX_PAGE).min(self.page_size.unwrap_or(MAX_PAGE)).max(1);
        let page_token = body["nextPageToken"].as_str().map(str::to_owned);
        let offset = match &page_token {
            None => 0,
            Some(token) => match token.strip_prefix("fake-page-").and_then(|n| n.parse::<usize>().ok()) {
                Some(offset) => offset,
                None => {
                    return bad_request(&["The provided next page token is invalid or expired.".to_owned()], Map::new())
                }
            },
        };
        self.searches.push(SearchCall { jql, labels: labels.clone(), page_token });

        let with_labels = body["fields"].as_array().is_some_and(|fields| fields.iter().any(|f| f == "labels"));
        // Newest first, so a client cannot take the oldest issue by keeping the first it sees.
        let found: Vec<&FakeIssue> =
            self.issues.iter().rev().filter(|issue| issue.labels.iter().any(|label| labels.contains(label))).collect();
        let page: Vec<Value> = found
            .iter()
            .skip(offset)
            .take(page_size)
            .map(|issue| {
                let fields = if with_labels { json!({ "labels": issue.labels }) } else { json!({}) };
                json!({ "id": issue_id(&issue.key), "key": issue.key, "fields": fields })
            })
            .collect();
        let mut answer = json!({ "issues": page, "isLast": offset + page_size >= found.len() });
        if offset + page_size < found.len() {
            answer["nextPageToken"] = Value::String(format!("fake-page-{}", offset + page_size));
        }
        ResponseTemplate::new(200).set_body_json(answer)
    }

    fn get_issue(&self, key: &str) -> ResponseTemplate {
        let Some(issue) = self.issues.iter().find(|issue| issue.key == key) else {
            return issue_not_found();
        };
        ResponseTemplate::new(200).set_body_json(json!({
            "id": issue_id(key),
            "key": key,
            "fields": { "status": status_json(&issue.status) },
        }))
    }

    fn add_comment(&mut self, key: &str, request: &Request) -> ResponseTemplate {
        let body = request.body_json::<Value>().map(|body| body["body"].clone()).unwrap_or(Value::Null);
        let Some(issue) = self.issues.iter_mut().find(|issue| issue.key == key) else {
            return issue_not_found();
        };
        if !is_adf_document(&body) {
            let mut errors = Map::new();
            errors.insert("comment".into(), json!("Comment body is not a valid Atlassian Document."));
            return bad_request(&[], errors);
        }
        issue.comments.push(body.clone());
        self.documents.push(body.clone());
        self.comments_added += 1;
        ResponseTemplate::new(201)
            .set_body_json(json!({ "id": (20_000 + self.comments_added).to_string(), "body": body }))
    }

    fn list_transitions(&self, key: &str) -> ResponseTemplate {
        let Some(issue) = self.issues.iter().find(|issue| issue.key == key) else {
            return issue_not_found();
        };
        let transitions: Vec<Value> = offered_transitions(&issue.status, self.linear_workflow)
            .map(|(id, name, to)| {
                json!({
                    "id": id,
                    "name": name,
                    "hasScreen": false,
                    "isGlobal": !self.linear_workflow,
                    "isInitial": false,
                    "isConditional": false,
                    "to": status_json(to),
                })
            })
            .collect();
        ResponseTemplate::new(200).set_body_json(json!({ "expand": "transitions", "transitions": transitions }))
    }

    fn transition(&mut self, key: &str, request: &Request) -> ResponseTemplate {
        let id =
            request.body_json::<Value>().ok().and_then(|body| body["transition"]["id"].as_str().map(str::to_owned));
        let linear = self.linear_workflow;
        let Some(issue) = self.issues.iter_mut().find(|issue| issue.key == key) else {
            return issue_not_found();
        };
        let id = id.unwrap_or_default();
        let Some((_, _, to)) = offered_transitions(&issue.status, linear).find(|(offered, _, _)| *offered == id) else {
            return bad_request(&[format!("Transition id '{id}' is not valid for this issue.")], Map::new());
        };
        issue.status = to.to_owned();
        ResponseTemplate::new(204)
    }
}

fn offered_transitions(
    status: &str,
    linear: bool,
) -> impl Iterator<Item = (&'static str, &'static str, &'static str)> + '_ {
    TRANSITIONS.into_iter().filter(move |(_, _, to)| {
        if linear {
            matches!(
                (status, *to),
                ("To Do", "In Progress")
                    | ("In Progress", "In Review")
                    | ("In Progress", "Done")
                    | ("In Review", "Done")
                    | ("Done", "To Do")
            )
        } else {
            *to != status
        }
    })
}

fn status_json(name: &str) -> Value {
    let (_, category, id) = STATUSES.iter().find(|(status, _, _)| *status == name).copied().unwrap_or(("", "new", "0"));
    let category_name = match category {
        "done" => "Done",
        "indeterminate" => "In Progress",
        _ => "To Do",
    };
    json!({ "id": id, "name": name, "statusCategory": { "key": category, "name": category_name } })
}

/// The labels of `labels in ("a", "b")`, or None when the JQL says something else.
fn labels_in(jql: &str) -> Option<Vec<String>> {
    let list = jql.trim_start().strip_prefix("labels in (")?;
    let mut labels = Vec::new();
    let mut chars = list.chars();
    loop {
        match chars.find(|c| !c.is_whitespace() && *c != ',')? {
            ')' => return Some(labels),
            '"' => {
                let mut label = String::new();
                loop {
                    match chars.next()? {
                        '\\' => label.push(chars.next()?),
                        '"' => break,
                        c => label.push(c),
                    }
                }
                labels.push(label);
            }
            _ => return None,
        }
    }
}

fn is_adf_document(value: &Value) -> bool {
    value["type"] == "doc" && value["version"] == 1 && value["content"].is_array()
}

fn authorized(request: &Request) -> bool {
    let expected =
        format!("Basic {}", base64::engine::general_purpose::STANDARD.encode(format!("{EMAIL}:{API_TOKEN}")));
    request.headers.get("authorization").is_some_and(|value| value.as_bytes() == expected.as_bytes())
}

fn issue_id(key: &str) -> String {
    let number: u64 = key.rsplit_once('-').and_then(|(_, n)| n.parse().ok()).unwrap_or(0);
    (10_000 + number).to_string()
}

fn jira_errors(messages: &[String], errors: Map<String, Value>) -> Value {
    json!({ "errorMessages": messages, "errors": errors })
}

fn bad_request(messages: &[String], errors: Map<String, Value>) -> ResponseTemplate {
    ResponseTemplate::new(400).set_body_json(jira_errors(messages, errors))
}

fn not_found(message: &str) -> ResponseTemplate {
    ResponseTemplate::new(404).set_body_json(jira_errors(&[message.to_owned()], Map::new()))
}

fn issue_not_found() -> ResponseTemplate {
    not_found("Issue does not exist or you do not have permission to see it.")
}

fn injected_failure(status: u16) -> ResponseTemplate {
    ResponseTemplate::new(status).set_body_json(jira_errors(&[format!("Injected failure {status}.")], Map::new()))
}
