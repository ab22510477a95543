//! The account directories: AWS Organizations against moto_server (and a loopback stub for the
//! errors moto does not produce), and the local file.

use std::collections::BTreeMap;

use aws_sdk_organizations::types::{AccountState, Tag};
use secops_aws::testing::MotoServer;
use secops_aws::{load_sdk_config, AwsSettings};
use secops_core::ErrorClass;
use secops_soar::account::file::FileDirectory;
use secops_soar::account::organizations::OrganizationsDirectory;
use secops_soar::account::{AccountDirectory, OrgAccount};
use wiremock::matchers::{header, method};
use wiremock::{Mock, MockServer, ResponseTemplate};

async fn sdk(endpoint: &str) -> aws_config::SdkConfig {
    load_sdk_config(&AwsSettings::for_endpoint(endpoint, "us-east-1")).await
}

/// An organization: Workloads/Prod holds `payments` (tagged), `sandbox` sits under the root,
/// `retired` is closed.
struct Org {
    _moto: MotoServer,
    directory: OrganizationsDirectory,
    management: String,
    payments: String,
    sandbox: String,
    retired: String,
}

async fn organization() -> Org {
    let moto = MotoServer::start();
    let config = sdk(&moto.endpoint).await;
    let org = aws_sdk_organizations::Client::new(&config);
    let management = org
        .create_organization()
        .feature_set(aws_sdk_organizations::types::OrganizationFeatureSet::All)
        .send()
        .await
        .unwrap()
        .organization()
        .unwrap()
        .master_account_id()
        .unwrap()
        .to_owned();
    let root = org.list_roots().send().await.unwrap().roots()[0].id().unwrap().to_owned();
    let ou = |parent: String, name: &'static str| {
        let org = org.clone();
        async move {
            let out = org.create_organizational_unit().parent_id(parent).name(name).send().await.unwrap();
            out.organizational_unit().unwrap().id().unwrap().to_owned()
        }
    };
    let workloads = ou(root.clone(), "Workloads").await;
    let prod = ou(workloads, "Prod").await;
    let account = |name: &'static str| {
        let org = org.clone();
        async move {
            let out =
                org.create_account().account_name(name).email(format!("{name}@example.com")).send().await.unwrap();
            out.create_account_status().unwrap().account_id().unwrap().to_owned()
        }
    };
    let payments = account("payments").await;
    let sandbox = account("sandbox").await;
    let retired = account("retired").await;
    org.move_account().account_id(&payments).source_parent_id(&root).destination_parent_id(&prod).send().await.unwrap();
    org.tag_resource()
        .resource_id(&payments)
        .tags(Tag::builder().key("team").value("payments").build().unwrap())
        .tags(Tag::builder().key("environment").value("prod").build().unwrap())
        .send()
        .await
        .unwrap();
    org.close_account().account_id(&retired).send().await.unwrap();
    Org { _moto: moto, directory: OrganizationsDirectory::new(&config), management, payments, sandbox, retired }
}

#[tokio::test]
async fn an_account_has_its_tags_and_the_ou_path_from_the_root_down() {
    let org = organization().await;
    let payments = org.directory.account(&org.payments).await.unwrap().expect("a member");
    assert_eq!(payments.id, org.payments);
    assert_eq!(payments.name, "payments");
    assert_eq!(payments.email, "payments@example.com");
    assert_eq!(payments.status, "ACTIVE");
    assert_eq!(payments.ou_path, ["Workloads", "Prod"]);
    assert_eq!(
        payments.tags,
        BTreeMap::from([("environment".into(), "prod".into()), ("team".into(), "payments".into())])
    );
    let joined = payments.joined_at.expect("JoinedTimestamp");
    assert!((time::OffsetDateTime::now_utc() - joined).abs() < time::Duration::minutes(5), "{joined}");

    let sandbox = org.directory.account(&org.sandbox).await.unwrap().expect("a member");
    assert_eq!(sandbox.ou_path, Vec::<String>::new(), "directly under the root");
    assert!(sandbox.tags.is_empty());

    let retired = org.directory.account(&org.retired).await.unwrap().expect("still a member");
    assert_eq!(retired.status, AccountState::Suspended.as_str());

    assert_eq!(org.directory.account("999999999999").await.unwrap(), None);
}

#[tokio::test]
async fn account_ids_are_the_active_accounts_only() {
    let org = organization().await;
    let mut ids = org.directory.account_ids().await.unwrap();
    ids.sort();
    let mut expected = vec![org.management.clone(), org.payments.clone(), org.sandbox.clone()];
    expected.sort();
    assert_eq!(ids, expected, "{} is closed", org.retired);
}

#[tokio::test]
async fn before_the_organization_exists_moto_answers_not_found_and_an_empty_list() {
    // AWS answers AWSOrganizationsNotInUseException here; moto (5.2) answers
    // AccountNotFoundException and an empty ListAccounts. The real error is covered by the stub
    // test below; this one pins what the adapter does with moto's answers.
    let moto = MotoServer::start();
    let directory = OrganizationsDirectory::new(&sdk(&moto.endpoint).await);
    assert_eq!(directory.account("123456789012").await.unwrap(), None);
    assert_eq!(directory.account_ids().await.unwrap(), Vec::<String>::new());
}

fn organizations_error(status: u16, code: &str, message: &str) -> ResponseTemplate {
    ResponseTemplate::new(status)
        .insert_header("content-type", "application/x-amz-json-1.1")
        .insert_header("x-amzn-errortype", code)
        .set_body_string(serde_json::json!({ "__type": code, "Message": message }).to_string())
}

#[tokio::test]
async fn organizations_not_in_use_is_permanent_and_says_which_account_to_use() {
    let stub = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(organizations_error(
            400,
            "AWSOrganizationsNotInUseException",
            "Your account is not a member of an organization.",
        ))
        .mount(&stub)
        .await;
    let directory = OrganizationsDirectory::new(&sdk(&stub.uri()).await);
    for err in [directory.account("111122223333").await.unwrap_err(), directory.account_ids().await.unwrap_err()] {
        assert_eq!(err.class(), ErrorClass::Permanent, "{err}");
        let message = err.to_string();
        assert!(message.contains("not in use") && message.contains("management account"), "{message}");
        assert!(message.contains("AWSOrganizationsNotInUseException"), "{message}");
    }
    let operations: Vec<String> = stub
        .received_requests()
        .await
        .unwrap()
        .iter()
        .filter_map(|r| r.headers.get("x-amz-target").and_then(|v| v.to_str().ok()).map(str::to_owned))
        .collect();
    assert_eq!(
        operations,
        ["AWSOrganizationsV20161128.DescribeAccount", "AWSOrganizationsV20161128.ListAccounts"],
        "one call each, no retries"
    );
}

#[tokio::test]
async fn throttling_is_throttled_so_the_state_machine_retries() {
    let stub = MockServer::start().await;
    Mock::given(method("POST"))
        .and(header("x-amz-target", "AWSOrganizationsV20161128.DescribeAccount"))
        .respond_with(organizations_error(400, "TooManyRequestsException", "AWS Organizations can't complete..."))
        .mount(&stub)
        .await;
    let directory = OrganizationsDirectory::new(&sdk(&stub.uri()).await);
    let err = directory.account("111122223333").await.unwrap_err();
    assert_eq!(err.class(), ErrorClass::Throttled, "{err}");
    assert!(err.to_string().contains("organizations:DescribeAccount"), "{err}");
}

const ACCOUNTS_YAML: &str = r#"accounts:
  - id: "111122223333"
    name: payments-prod
    email: payments@example.com
    status: ACTIVE
    joined_at: 2023-04-01T09:00:00Z
    ou_path: [Workloads, Prod]
    tags: { team: payments, environment: prod }
  - id: "444455556666"
    name: old-sandbox
    email: sandbox@example.com
    status: SUSPENDED
"#;

#[tokio::test]
async fn a_yaml_file_is_a_directory() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("accounts.yaml");
    std::fs::write(&path, ACCOUNTS_YAML).unwrap();
    let directory = FileDirectory::load(&path).unwrap();
    let payments = directory.account("111122223333").await.unwrap().expect("listed");
    assert_eq!(payments.name, "payments-prod");
    assert_eq!(payments.ou_path, ["Workloads", "Prod"]);
    assert_eq!(payments.tags.get("team").map(String::as_str), Some("payments"));
    assert_eq!(payments.joined_at, Some(time::macros::datetime!(2023-04-01 09:00:00 UTC)));
    let sandbox = directory.account("444455556666").await.unwrap().expect("listed");
    assert_eq!((sandbox.ou_path.len(), sandbox.tags.len(), sandbox.joined_at), (0, 0, None), "defaults");
    assert_eq!(directory.account("999999999999").await.unwrap(), None);
    assert_eq!(directory.account_ids().await.unwrap(), ["111122223333"], "only ACTIVE");
}

#[tokio::test]
async fn a_json_file_is_read_as_json() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("accounts.json");
    let accounts = vec![OrgAccount {
        id: "111122223333".into(),
        name: "payments-prod".into(),
        email: "payments@example.com".into(),
        status: "ACTIVE".into(),
        joined_at: None,
        ou_path: vec!["Workloads".into()],
        tags: BTreeMap::from([("team".into(), "payments".into())]),
    }];
    std::fs::write(&path, serde_json::to_string_pretty(&serde_json::json!({ "accounts": accounts })).unwrap()).unwrap();
    let directory = FileDirectory::load(&path).unwrap();
    assert_eq!(directory.account("111122223333").await.unwrap().as_ref(), accounts.first());

    std::fs::write(&path, "{\n  \"accounts\": [\n    {\"id\": \"111122223333\", \"name\": \"x\"}\n  ]\n}\n").unwrap();
    let err = FileDirectory::load(&path).unwrap_err().to_string();
    assert!(err.contains("accounts.json") && err.contains("email") && err.contains("line 3"), "{err}");
}

#[test]
fn a_malformed_file_is_refused_naming_the_file_and_the_line() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("accounts.yaml");
    // Line 4: `status` is a list where a string belongs.
    std::fs::write(&path, "accounts:\n  - id: \"111122223333\"\n    name: a\n    status: [ACTIVE]\n    email: a@b\n")
        .unwrap();
    let err = FileDirectory::load(&path).unwrap_err();
    assert_eq!(err.class(), ErrorClass::InvalidInput);
    let message = err.to_string();
    assert!(message.contains(&path.display().to_string()) && message.contains("line 4"), "{message}");

    // A syntax error: YAML does not allow a tab where line 4 has one.
    std::fs::write(&path, "accounts:\n  - id: \"111122223333\"\n    name: a\n\temail: a@b\n").unwrap();
    let message = FileDirectory::load(&path).unwrap_err().to_string();
    assert!(message.contains("accounts.yaml") && message.contains("line 4"), "{message}");

    let err = FileDirectory::load(dir.path().join("missing.yaml")).unwrap_err().to_string();
    assert!(err.contains("missing.yaml"), "{err}");
}

#[test]
fn ids_must_be_account_ids_and_unique() {
    let account = |id: &str| OrgAccount {
        id: id.into(),
        name: "n".into(),
        email: "e@example.com".into(),
        status: "ACTIVE".into(),
        joined_at: None,
        ou_path: vec![],
        tags: BTreeMap::new(),
    };
    let err = FileDirectory::from_accounts(vec![account("111122223333"), account("111122223333")]).unwrap_err();
    assert!(err.to_string().contains("accounts[1]") && err.to_string().contains("twice"), "{err}");
    let err = FileDirectory::from_accounts(vec![account("1111-2222-3333")]).unwrap_err();
    assert!(err.to_string().contains("1111-2222-3333"), "{err}");
}
