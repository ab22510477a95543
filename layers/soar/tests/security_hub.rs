//! The Security Hub adapters against wiremock on loopback (moto has neither BatchUpdateFindings
//! nor the standards and controls APIs): the exact requests, pagination, partial failures and the
//! error classes. Methods and paths are those of aws-sdk-securityhub 1.137's request builders.

use std::collections::{BTreeMap, BTreeSet};

use secops_aws::{load_sdk_config, AwsSettings};
use secops_core::asff::WorkflowStatus;
use secops_core::ErrorClass;
use secops_soar::controls::security_hub::SecurityHubControls;
use secops_soar::controls::ControlCatalog;
use secops_soar::hub::security_hub::{SecurityHubFindings, MAX_NOTE_CHARS};
use secops_soar::hub::{
    update_findings, FindingChange, FindingRef, FindingUpdate, FindingsHub, Unprocessed, MAX_BATCH, UPDATED_BY,
};
use serde_json::{json, Map, Value};
use wiremock::matchers::{body_json, body_string_contains, method, path, query_param, query_param_is_missing};
use wiremock::{Mock, MockServer, Request, ResponseTemplate};

const REGION: &str = "eu-west-1";
const ACCOUNT: &str = "111122223333";
const PRODUCT_ARN: &str = "arn:aws:securityhub:eu-west-1::product/aws/securityhub";
const FSBP: &str = "arn:aws:securityhub:eu-west-1::standards/aws-foundational-security-best-practices/v/1.0.0";
const NIST: &str = "arn:aws:securityhub:eu-west-1::standards/nist-800-53/v/5.0.0";
const CIS: &str = "arn:aws:securityhub:eu-west-1::standards/cis-aws-foundations-benchmark/v/3.0.0";

const BATCH_UPDATE: &str = "/findings/batchupdate";
const ENABLED_STANDARDS: &str = "/standards/get";
const CONTROL_DEFINITIONS: &str = "/securityControls/definitions";
const ASSOCIATIONS: &str = "/associations/batchGet";

async fn sdk(server: &MockServer) -> aws_config::SdkConfig {
    // for_endpoint: dummy credentials and one attempt per call, so each test sees every request.
    load_sdk_config(&AwsSettings::for_endpoint(server.uri(), REGION)).await
}

fn finding(n: usize) -> FindingRef {
    FindingRef {
        id: format!(
            "arn:aws:securityhub:{REGION}:{ACCOUNT}:subscription/aws-foundational-security-best-practices/v/1.0.0/S3.1/finding/{n:04}"
        ),
        product_arn: PRODUCT_ARN.into(),
    }
}

fn identifiers(findings: &[FindingRef]) -> Value {
    findings.iter().map(|f| json!({"Id": f.id, "ProductArn": f.product_arn})).collect()
}

fn unprocessed_entry(f: &FindingRef, code: &str, message: &str) -> Value {
    json!({"FindingIdentifier": {"Id": f.id, "ProductArn": f.product_arn}, "ErrorCode": code, "ErrorMessage": message})
}

fn ok(body: Value) -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_json(body)
}

/// An error as Security Hub sends it: the code in `x-amzn-ErrorType`, code and message in the body.
fn aws_error(status: u16, code: &str, message: &str) -> ResponseTemplate {
    ResponseTemplate::new(status)
        .insert_header("x-amzn-ErrorType", code)
        .set_body_json(json!({"Code": code, "Message": message}))
}

/// Every request the server received, in order, as `{method, path, query, body}` (body null when
/// empty), so a test compares whole requests.
async fn received(server: &MockServer) -> Vec<Value> {
    server
        .received_requests()
        .await
        .expect("request recording is on")
        .iter()
        .map(|r| {
            let query: Map<String, Value> =
                r.url.query_pairs().map(|(k, v)| (k.into_owned(), Value::String(v.into_owned()))).collect();
            let body = if r.body.is_empty() { Value::Null } else { r.body_json::<Value>().expect("a JSON body") };
            json!({"method": r.method.as_str(), "path": r.url.path(), "query": query, "body": body})
        })
        .collect()
}

fn request(method: &str, path: &str, body: Value) -> Value {
    json!({"method": method, "path": path, "query": {}, "body": body})
}

fn sorted(mut values: Vec<Value>) -> Vec<Value> {
    values.sort_by_key(|v| v.to_string());
    values
}

// ---------------------------------------------------------------------------------------------
// SecurityHubFindings

#[tokio::test]
async fn updates_are_grouped_by_change_and_sent_at_most_100_per_call() {
    let server = MockServer::start().await;
    Mock::given(method("PATCH"))
        .and(path(BATCH_UPDATE))
        .respond_with(ok(json!({"ProcessedFindings": [], "UnprocessedFindings": []})))
        .expect(3)
        .mount(&server)
        .await;
    let hub = SecurityHubFindings::new(&sdk(&server).await);

    let ticketed = FindingChange {
        workflow_status: Some(WorkflowStatus::Notified),
        note: None,
        user_defined_fields: BTreeMap::from([
            ("TicketOpen".to_owned(), "Yes".to_owned()),
            ("TicketId".to_owned(), "SEC-42".to_owned()),
        ]),
    };
    let suppressed = FindingChange {
        workflow_status: Some(WorkflowStatus::Suppressed),
        note: Some("suppressed by rule sandbox-accounts".into()),
        user_defined_fields: BTreeMap::new(),
    };
    // Interleaved, so the grouping (not the input order) makes the batches: 7 of every 25 are
    // suppressed, 70 in all, and 180 ticketed.
    let (mut to_ticket, mut to_suppress, mut updates) = (Vec::new(), Vec::new(), Vec::new());
    for n in 0..250 {
        let (change, group) = if n % 25 < 7 { (&suppressed, &mut to_suppress) } else { (&ticketed, &mut to_ticket) };
        group.push(finding(n));
        updates.push(FindingUpdate { finding: finding(n), change: change.clone() });
    }
    assert_eq!((to_ticket.len(), to_suppress.len()), (180, 70));

    let report = update_findings(&hub, &updates, 3).await.unwrap();
    assert_eq!((report.updated, report.calls, report.failed), (250, 3, vec![]));

    let ticket_body = |findings: &[FindingRef]| {
        json!({
            "FindingIdentifiers": identifiers(findings),
            "Workflow": {"Status": "NOTIFIED"},
            "UserDefinedFields": {"TicketOpen": "Yes", "TicketId": "SEC-42"},
        })
    };
    let expected = vec![
        request("PATCH", BATCH_UPDATE, ticket_body(&to_ticket[..100])),
        request("PATCH", BATCH_UPDATE, ticket_body(&to_ticket[100..])),
        request(
            "PATCH",
            BATCH_UPDATE,
            json!({
                "FindingIdentifiers": identifiers(&to_suppress),
                "Workflow": {"Status": "SUPPRESSED"},
                "Note": {"Text": "suppressed by rule sandbox-accounts", "UpdatedBy": UPDATED_BY},
            }),
        ),
    ];
    let requests = received(&server).await;
    assert_eq!(sorted(requests.clone()), sorted(expected));

    let sent: Vec<&str> = requests
        .iter()
        .flat_map(|r| r["body"]["FindingIdentifiers"].as_array().unwrap())
        .map(|i| i["Id"].as_str().unwrap())
        .collect();
    assert_eq!(sent.len(), 250);
    assert_eq!(sent.iter().collect::<BTreeSet<_>>().len(), 250, "no finding is sent twice");
}

#[tokio::test]
async fn unprocessed_findings_are_retried_alone_and_the_last_failure_is_reported() {
    let server = MockServer::start().await;
    let batch: Vec<FindingRef> = (0..5).map(finding).collect();
    let (flaky, missing) = (&batch[1], &batch[3]);
    let change = FindingChange {
        workflow_status: Some(WorkflowStatus::Resolved),
        note: Some("the control passes again".into()),
        user_defined_fields: BTreeMap::from([("TicketOpen".to_owned(), "No".to_owned())]),
    };
    let body = |findings: &[FindingRef]| {
        json!({
            "FindingIdentifiers": identifiers(findings),
            "Workflow": {"Status": "RESOLVED"},
            "Note": {"Text": "the control passes again", "UpdatedBy": UPDATED_BY},
            "UserDefinedFields": {"TicketOpen": "No"},
        })
    };
    Mock::given(method("PATCH"))
        .and(path(BATCH_UPDATE))
        .and(body_json(body(&batch)))
        .respond_with(ok(json!({
            "ProcessedFindings": identifiers(&[batch[0].clone(), batch[2].clone(), batch[4].clone()]),
            "UnprocessedFindings": [
                unprocessed_entry(flaky, "ConcurrentUpdateError", "the finding is being updated"),
                unprocessed_entry(missing, "FindingNotFound", "first attempt"),
            ],
        })))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("PATCH"))
        .and(path(BATCH_UPDATE))
        .and(body_json(body(std::slice::from_ref(flaky))))
        .respond_with(ok(
            json!({"ProcessedFindings": identifiers(std::slice::from_ref(flaky)), "UnprocessedFindings": []}),
        ))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("PATCH"))
        .and(path(BATCH_UPDATE))
        .and(body_json(body(std::slice::from_ref(missing))))
        .respond_with(ok(json!({
            "ProcessedFindings": [],
            "UnprocessedFindings": [unprocessed_entry(missing, "FindingNotFound", "no such finding")],
        })))
        .expect(3)
        .mount(&server)
        .await;
    let hub = SecurityHubFindings::new(&sdk(&server).await);
    let updates: Vec<FindingUpdate> =
        batch.iter().map(|f| FindingUpdate { finding: f.clone(), change: change.clone() }).collect();

    let report = update_findings(&hub, &updates, 3).await.unwrap();

    assert_eq!(report.updated, 4);
    assert_eq!(report.calls, 5, "one batch, one retry that succeeds, three that do not");
    assert_eq!(
        report.failed,
        vec![Unprocessed {
            finding: missing.clone(),
            error_code: "FindingNotFound".into(),
            error_message: "no such finding".into(),
        }]
    );
    let single = |f: &FindingRef| request("PATCH", BATCH_UPDATE, body(std::slice::from_ref(f)));
    assert_eq!(
        received(&server).await,
        vec![
            request("PATCH", BATCH_UPDATE, body(&batch)),
            single(flaky),
            single(missing),
            single(missing),
            single(missing),
        ]
    );
}

#[tokio::test]
async fn only_findings_of_the_request_are_reported_unprocessed_and_each_once() {
    let server = MockServer::start().await;
    let batch = [finding(0), finding(1)];
    Mock::given(method("PATCH"))
        .and(path(BATCH_UPDATE))
        .respond_with(ok(json!({
            "ProcessedFindings": identifiers(&batch[..1]),
            "UnprocessedFindings": [
                unprocessed_entry(&batch[1], "FindingNotFound", "gone"),
                unprocessed_entry(&batch[1], "FindingNotFound", "gone again"),
                unprocessed_entry(&finding(9), "FindingNotFound", "never asked for"),
            ],
        })))
        .mount(&server)
        .await;
    let hub = SecurityHubFindings::new(&sdk(&server).await);
    let change = FindingChange { workflow_status: Some(WorkflowStatus::Notified), ..FindingChange::default() };

    let unprocessed = hub.batch_update(&batch, &change).await.unwrap();

    assert_eq!(
        unprocessed,
        vec![Unprocessed {
            finding: batch[1].clone(),
            error_code: "FindingNotFound".into(),
            error_message: "gone".into()
        }]
    );
}

#[tokio::test]
async fn a_long_note_is_cut_to_512_characters_ending_in_an_ellipsis() {
    let server = MockServer::start().await;
    Mock::given(method("PATCH"))
        .and(path(BATCH_UPDATE))
        .respond_with(ok(json!({"ProcessedFindings": [], "UnprocessedFindings": []})))
        .mount(&server)
        .await;
    let hub = SecurityHubFindings::new(&sdk(&server).await);
    // Two-byte characters: a cut by bytes would land inside one, or keep too few characters.
    let change = FindingChange { note: Some("ü".repeat(600)), ..FindingChange::default() };

    assert_eq!(hub.batch_update(&[finding(0)], &change).await.unwrap(), vec![]);

    let text = format!("{}…", "ü".repeat(MAX_NOTE_CHARS - 1));
    assert_eq!(text.chars().count(), 512);
    assert_eq!(
        received(&server).await,
        vec![request(
            "PATCH",
            BATCH_UPDATE,
            json!({
                "FindingIdentifiers": identifiers(&[finding(0)]),
                "Note": {"Text": text, "UpdatedBy": UPDATED_BY},
            })
        )]
    );
}

#[tokio::test]
async fn empty_oversized_and_note_less_batches_make_no_call() {
    let server = MockServer::start().await;
    let hub = SecurityHubFindings::new(&sdk(&server).await);
    let change = FindingChange { workflow_status: Some(WorkflowStatus::Notified), ..FindingChange::default() };

    assert_eq!(hub.batch_update(&[], &change).await.unwrap(), vec![]);

    let too_many: Vec<FindingRef> = (0..=MAX_BATCH).map(finding).collect();
    let err = hub.batch_update(&too_many, &change).await.unwrap_err();
    assert_eq!(err.class(), ErrorClass::InvalidInput);
    assert!(err.to_string().contains("101"), "{err}");

    let empty_note = FindingChange { note: Some(String::new()), ..FindingChange::default() };
    let err = hub.batch_update(&[finding(0)], &empty_note).await.unwrap_err();
    assert_eq!(err.class(), ErrorClass::InvalidInput);

    assert_eq!(received(&server).await, Vec::<Value>::new());
}

#[tokio::test]
async fn a_429_is_throttled() {
    let server = MockServer::start().await;
    Mock::given(method("PATCH"))
        .and(path(BATCH_UPDATE))
        .respond_with(aws_error(429, "TooManyRequestsException", "Rate exceeded"))
        .mount(&server)
        .await;
    let hub = SecurityHubFindings::new(&sdk(&server).await);
    let change = FindingChange { workflow_status: Some(WorkflowStatus::Notified), ..FindingChange::default() };

    let err = hub.batch_update(&[finding(0)], &change).await.unwrap_err();

    assert_eq!(err.class(), ErrorClass::Throttled);
    assert_eq!(err.to_string(), "securityhub:BatchUpdateFindings: TooManyRequestsException: Rate exceeded");
    assert_eq!(received(&server).await.len(), 1, "the test settings make one attempt");
}

/// Security Hub rejecting the request is Permanent, not InvalidInput: InvalidInput is for our own
/// malformed inputs (events, policies, oversized batches), while a service rejection is classified
/// like every other AWS error (secops_aws::classify); both mean "retrying the same call is useless".
#[tokio::test]
async fn an_invalid_input_exception_is_permanent() {
    let server = MockServer::start().await;
    Mock::given(method("PATCH"))
        .and(path(BATCH_UPDATE))
        .respond_with(aws_error(400, "InvalidInputException", "Invalid parameter 'Workflow.Status'"))
        .mount(&server)
        .await;
    let hub = SecurityHubFindings::new(&sdk(&server).await);
    let change = FindingChange { workflow_status: Some(WorkflowStatus::Notified), ..FindingChange::default() };

    let err = hub.batch_update(&[finding(0)], &change).await.unwrap_err();

    assert_eq!(err.class(), ErrorClass::Permanent);
    assert_eq!(
        err.to_string(),
        "securityhub:BatchUpdateFindings: InvalidInputException: Invalid parameter 'Workflow.Status'"
    );
}

// ---------------------------------------------------------------------------------------------
// SecurityHubControls

fn subscription(arn: &str, status: &str) -> Value {
    json!({
        "StandardsSubscriptionArn": format!("arn:aws:securityhub:{REGION}:{ACCOUNT}:subscription/{}", arn.rsplit("standards/").next().unwrap()),
        "StandardsArn": arn,
        "StandardsInput": {},
        "StandardsStatus": status,
    })
}

fn definitions(ids: &[&str]) -> Vec<Value> {
    ids.iter()
        .map(|id| json!({"SecurityControlId": id, "Title": format!("control {id}"), "SeverityRating": "MEDIUM"}))
        .collect()
}

fn definitions_query(standard: &str, next_token: Option<&str>) -> Value {
    let mut query = json!({"StandardsArn": standard, "MaxResults": "100"});
    if let Some(token) = next_token {
        query["NextToken"] = json!(token);
    }
    query
}

fn association_id(control: &str, standard: &str) -> Value {
    json!({"SecurityControlId": control, "StandardsArn": standard})
}

/// A BatchGetStandardsControlAssociations responder: each requested association's status is
/// `status(control, standard)`.
fn associations(status: impl Fn(&str, &str) -> &'static str + Send + Sync) -> impl Fn(&Request) -> ResponseTemplate {
    move |request: &Request| {
        let body: Value = request.body_json().unwrap();
        let details: Vec<Value> = body["StandardsControlAssociationIds"]
            .as_array()
            .unwrap()
            .iter()
            .map(|id| {
                let (control, standard) =
                    (id["SecurityControlId"].as_str().unwrap(), id["StandardsArn"].as_str().unwrap());
                json!({
                    "StandardsArn": standard,
                    "SecurityControlId": control,
                    "SecurityControlArn": format!("arn:aws:securityhub:{REGION}:{ACCOUNT}:security-control/{control}"),
                    "AssociationStatus": status(control, standard),
                })
            })
            .collect();
        ok(json!({"StandardsControlAssociationDetails": details, "UnprocessedAssociations": []}))
    }
}

#[tokio::test]
async fn a_control_is_enabled_when_one_ready_or_incomplete_standard_enables_it() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(ENABLED_STANDARDS))
        .and(body_json(json!({"MaxResults": 100})))
        .respond_with(ok(json!({
            "StandardsSubscriptions": [subscription(FSBP, "READY"), subscription(CIS, "PENDING")],
            "NextToken": "standards-2",
        })))
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path(ENABLED_STANDARDS))
        .and(body_json(json!({"MaxResults": 100, "NextToken": "standards-2"})))
        .respond_with(ok(json!({"StandardsSubscriptions": [subscription(NIST, "INCOMPLETE")]})))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path(CONTROL_DEFINITIONS))
        .and(query_param("StandardsArn", FSBP))
        .and(query_param_is_missing("NextToken"))
        .respond_with(ok(json!({"SecurityControlDefinitions": definitions(&["EC2.2", "S3.1"]), "NextToken": "fsbp-2"})))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path(CONTROL_DEFINITIONS))
        .and(query_param("StandardsArn", FSBP))
        .and(query_param("NextToken", "fsbp-2"))
        .respond_with(ok(json!({"SecurityControlDefinitions": definitions(&["IAM.1", "Lambda.1"])})))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path(CONTROL_DEFINITIONS))
        .and(query_param("StandardsArn", NIST))
        .respond_with(ok(json!({"SecurityControlDefinitions": definitions(&["EC2.2", "S3.1", "IAM.1"])})))
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path(ASSOCIATIONS))
        .respond_with(associations(|control, standard| match (control, standard == FSBP) {
            ("EC2.2", true) | ("S3.1", false) | ("Lambda.1", true) => "ENABLED",
            _ => "DISABLED",
        }))
        .mount(&server)
        .await;
    let catalog = SecurityHubControls::direct(&sdk(&server).await);

    let enabled = catalog.enabled_controls(ACCOUNT, REGION).await.unwrap();

    // EC2.2 only in FSBP, S3.1 only in NIST, IAM.1 in neither; CIS is PENDING and never read.
    assert_eq!(enabled, BTreeSet::from(["EC2.2".to_owned(), "Lambda.1".to_owned(), "S3.1".to_owned()]));
    let get = |query: Value| json!({"method": "GET", "path": CONTROL_DEFINITIONS, "query": query, "body": null});
    assert_eq!(
        received(&server).await,
        vec![
            request("POST", ENABLED_STANDARDS, json!({"MaxResults": 100})),
            request("POST", ENABLED_STANDARDS, json!({"MaxResults": 100, "NextToken": "standards-2"})),
            get(definitions_query(FSBP, None)),
            get(definitions_query(FSBP, Some("fsbp-2"))),
            get(definitions_query(NIST, None)),
            request(
                "POST",
                ASSOCIATIONS,
                json!({"StandardsControlAssociationIds": [
                    association_id("EC2.2", FSBP),
                    association_id("S3.1", FSBP),
                    association_id("IAM.1", FSBP),
                    association_id("Lambda.1", FSBP),
                    association_id("EC2.2", NIST),
                    association_id("S3.1", NIST),
                    association_id("IAM.1", NIST),
                ]}),
            ),
        ]
    );
}

#[tokio::test]
async fn associations_are_read_at_most_100_per_call() {
    let server = MockServer::start().await;
    let controls: Vec<String> = (0..230).map(|n| format!("Config.{n}")).collect();
    Mock::given(method("POST"))
        .and(path(ENABLED_STANDARDS))
        .respond_with(ok(json!({"StandardsSubscriptions": [subscription(FSBP, "READY")]})))
        .mount(&server)
        .await;
    let pages = controls.clone();
    Mock::given(method("GET"))
        .and(path(CONTROL_DEFINITIONS))
        .respond_with(move |request: &Request| {
            let start: usize = request
                .url
                .query_pairs()
                .find(|(k, _)| k == "NextToken")
                .map_or(0, |(_, v)| v.strip_prefix("from-").unwrap().parse().unwrap());
            let end = (start + 100).min(pages.len());
            let ids: Vec<&str> = pages[start..end].iter().map(String::as_str).collect();
            let mut body = json!({"SecurityControlDefinitions": definitions(&ids)});
            if end < pages.len() {
                body["NextToken"] = json!(format!("from-{end}"));
            }
            ok(body)
        })
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path(ASSOCIATIONS))
        .respond_with(associations(|control, _| {
            let n: usize = control.trim_start_matches("Config.").parse().unwrap();
            if n.is_multiple_of(2) {
                "ENABLED"
            } else {
                "DISABLED"
            }
        }))
        .mount(&server)
        .await;
    let catalog = SecurityHubControls::direct(&sdk(&server).await);

    let enabled = catalog.enabled_controls(ACCOUNT, REGION).await.unwrap();

    let even: BTreeSet<String> = controls.iter().step_by(2).cloned().collect();
    assert_eq!(enabled, even);
    let batch_bodies: Vec<Value> =
        received(&server).await.into_iter().filter(|r| r["path"] == ASSOCIATIONS).map(|r| r["body"].clone()).collect();
    let expected: Vec<Value> = controls
        .chunks(100)
        .map(|chunk| {
            let ids: Vec<Value> = chunk.iter().map(|c| association_id(c, FSBP)).collect();
            json!({"StandardsControlAssociationIds": ids})
        })
        .collect();
    assert_eq!(expected.len(), 3);
    assert_eq!(batch_bodies, expected);
}

#[tokio::test]
async fn an_unreadable_association_fails_the_sync_naming_the_control() {
    for (code, class) in [("ACCESS_DENIED", ErrorClass::Permanent), ("LIMIT_EXCEEDED", ErrorClass::Throttled)] {
        let server = MockServer::start().await;
        Mock::given(method("POST"))
            .and(path(ENABLED_STANDARDS))
            .respond_with(ok(json!({"StandardsSubscriptions": [subscription(FSBP, "READY")]})))
            .mount(&server)
            .await;
        Mock::given(method("GET"))
            .and(path(CONTROL_DEFINITIONS))
            .respond_with(ok(json!({"SecurityControlDefinitions": definitions(&["EC2.2", "S3.1"])})))
            .mount(&server)
            .await;
        Mock::given(method("POST"))
            .and(path(ASSOCIATIONS))
            .respond_with(ok(json!({
                "StandardsControlAssociationDetails": [{
                    "StandardsArn": FSBP,
                    "SecurityControlId": "EC2.2",
                    "SecurityControlArn": format!("arn:aws:securityhub:{REGION}:{ACCOUNT}:security-control/EC2.2"),
                    "AssociationStatus": "ENABLED",
                }],
                "UnprocessedAssociations": [{
                    "StandardsControlAssociationId": association_id("S3.1", FSBP),
                    "ErrorCode": code,
                    "ErrorReason": "could not read the association",
                }],
            })))
            .mount(&server)
            .await;
        let catalog = SecurityHubControls::direct(&sdk(&server).await);

        let err = catalog.enabled_controls(ACCOUNT, REGION).await.unwrap_err();

        assert_eq!(err.class(), class, "{code}");
        assert_eq!(
            err.to_string(),
            format!(
                "securityhub:BatchGetStandardsControlAssociations: control S3.1 in standard {FSBP} of {ACCOUNT}/{REGION} not read: {code}: could not read the association"
            )
        );
    }
}

#[tokio::test]
async fn security_hub_not_enabled_is_a_permanent_error_not_an_empty_set() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(ENABLED_STANDARDS))
        .respond_with(aws_error(
            401,
            "InvalidAccessException",
            "Account 111122223333 is not subscribed to AWS Security Hub",
        ))
        .mount(&server)
        .await;
    let catalog = SecurityHubControls::direct(&sdk(&server).await);

    let err = catalog.enabled_controls(ACCOUNT, REGION).await.unwrap_err();

    assert_eq!(err.class(), ErrorClass::Permanent);
    assert_eq!(
        err.to_string(),
        "Security Hub is not enabled in 111122223333/eu-west-1 (securityhub:GetEnabledStandards: Account 111122223333 is not subscribed to AWS Security Hub)"
    );
}

#[tokio::test]
async fn a_listing_that_never_ends_stops_after_500_pages() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(ENABLED_STANDARDS))
        .respond_with(ok(json!({"StandardsSubscriptions": [], "NextToken": "again"})))
        .mount(&server)
        .await;
    let catalog = SecurityHubControls::direct(&sdk(&server).await);

    let err = catalog.enabled_controls(ACCOUNT, REGION).await.unwrap_err();

    assert_eq!(err.class(), ErrorClass::Permanent);
    assert_eq!(err.to_string(), "securityhub:GetEnabledStandards: more than 500 pages in 111122223333/eu-west-1");
    assert_eq!(received(&server).await.len(), 500);
}

#[tokio::test]
async fn member_accounts_are_read_with_the_assumed_role_once_per_account_and_region() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/"))
        .and(body_string_contains("Action=AssumeRole"))
        .respond_with(ResponseTemplate::new(200).set_body_raw(
            r#"<AssumeRoleResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">
  <AssumeRoleResult>
    <Credentials>
      <AccessKeyId>ASIAMEMBERSESSION</AccessKeyId>
      <SecretAccessKey>member-secret</SecretAccessKey>
      <SessionToken>member-session-token</SessionToken>
      <Expiration>2099-01-01T00:00:00Z</Expiration>
    </Credentials>
    <AssumedRoleUser>
      <AssumedRoleId>AROAMEMBER:secops-controls-sync</AssumedRoleId>
      <Arn>arn:aws:sts::222233334444:assumed-role/SecOpsControlsReader/secops-controls-sync</Arn>
    </AssumedRoleUser>
  </AssumeRoleResult>
  <ResponseMetadata><RequestId>7c0d7a0e-0000-4000-8000-000000000001</RequestId></ResponseMetadata>
</AssumeRoleResponse>"#,
            "text/xml",
        ))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path(ENABLED_STANDARDS))
        .respond_with(ok(json!({"StandardsSubscriptions": []})))
        .expect(2)
        .mount(&server)
        .await;
    let catalog = SecurityHubControls::new(&sdk(&server).await, "SecOpsControlsReader");

    for _ in 0..2 {
        assert_eq!(catalog.enabled_controls("222233334444", REGION).await.unwrap(), BTreeSet::new());
    }

    let requests = server.received_requests().await.unwrap();
    let assume = String::from_utf8(requests[0].body.clone()).unwrap();
    assert!(assume.contains("RoleArn=arn%3Aaws%3Aiam%3A%3A222233334444%3Arole%2FSecOpsControlsReader"), "{assume}");
    assert!(assume.contains("RoleSessionName=secops-controls-sync"), "{assume}");
    for hub_request in requests.iter().filter(|r| r.url.path() == ENABLED_STANDARDS) {
        let authorization = hub_request.headers["authorization"].to_str().unwrap();
        assert!(authorization.contains("Credential=ASIAMEMBERSESSION/"), "{authorization}");
        assert_eq!(hub_request.headers["x-amz-security-token"], "member-session-token");
    }
}
