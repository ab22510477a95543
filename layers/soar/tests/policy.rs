//! The decide policy: the built-in defaults, suppression matching, incident responses, and strict
//! loading (every rejected document names the offending line).

use secops_core::asff::SeverityLabel;
use secops_soar::policy::{
    Environment, Facts, IncidentFamily, IncidentResponse, Policy, PolicyError, RuleAction, Subject,
};
use time::Duration;

fn parse(text: &str) -> Policy {
    Policy::from_yaml(text, "test.yaml").unwrap_or_else(|e| panic!("{e}\n{text}"))
}

// ---------------------------------------------------------------------------------------------
// The built-in policy

#[test]
fn built_in_environments_and_weights() {
    let policy = Policy::built_in();
    let env = |name: &str, weight: f64| Environment { name: name.to_owned(), weight };
    assert_eq!(policy.environment(Some("PROD")), env("PROD", 10.0));
    assert_eq!(policy.environment(Some("production")), env("PROD", 10.0));
    assert_eq!(policy.environment(Some(" Live ")), env("PROD", 10.0));
    assert_eq!(policy.environment(Some("uat")), env("STAGING", 2.0));
    assert_eq!(policy.environment(Some("Staging")), env("STAGING", 2.0));
    assert_eq!(policy.environment(Some("sandbox")), env("DEV", 1.0));
    assert_eq!(policy.environment(Some("dev")), env("DEV", 1.0));
    assert_eq!(policy.environment(None), env("UNSPECIFIED", 1.0));
    assert_eq!(policy.environment(Some("Unspecified")), env("UNSPECIFIED", 1.0));
    assert_eq!(policy.environment(Some("PRODUCTION-EU")), env("UNSPECIFIED", 1.0));
    assert_eq!(policy.environment(Some("")), env("UNSPECIFIED", 1.0));
}

#[test]
fn built_in_tickets_accounts_and_remediation() {
    let policy = Policy::built_in();
    assert_eq!(policy.deadline(SeverityLabel::Critical), Some(Duration::hours(4)));
    assert_eq!(policy.deadline(SeverityLabel::High), Some(Duration::hours(8)));
    assert_eq!(policy.deadline(SeverityLabel::Medium), Some(Duration::days(14)));
    assert_eq!(policy.deadline(SeverityLabel::Low), Some(Duration::days(28)));
    assert_eq!(policy.deadline(SeverityLabel::Informational), None);
    assert!(policy.escalates(SeverityLabel::Critical));
    assert!(policy.escalates(SeverityLabel::High));
    assert!(!policy.escalates(SeverityLabel::Medium));
    assert!(!policy.escalates(SeverityLabel::Low));
    assert_eq!(policy.new_account_min_age(), Duration::hours(24));
    assert_eq!(policy.account_cache_ttl(), Duration::hours(6));
    assert_eq!(policy.keep_closed_tickets_for(), Duration::days(365));
    assert!(!policy.auto_remediates("EC2.13"));
    assert!(policy.rules().is_empty());
}

fn response(flags: &[&str]) -> IncidentResponse {
    let mut r = IncidentResponse::default();
    for flag in flags {
        match *flag {
            "notify" => r.notify = true,
            "soc_ticket" => r.soc_ticket = true,
            "team_ticket" => r.team_ticket = true,
            "isolate" => r.isolate = true,
            "terminate" => r.terminate = true,
            "suppress" => r.suppress = true,
            other => panic!("no flag {other}"),
        }
    }
    r
}

#[test]
fn built_in_incident_responses_take_the_first_matching_entry() {
    use IncidentFamily::*;
    use SeverityLabel::*;
    let policy = Policy::built_in();
    let cases = [
        (Ec2, Critical, response(&["notify", "soc_ticket", "isolate"])),
        (Ec2, High, response(&["notify", "soc_ticket", "isolate"])),
        (Ec2, Medium, response(&["notify", "soc_ticket"])),
        (Ec2, Low, response(&["notify"])),
        (Iam, Critical, response(&["notify", "soc_ticket"])),
        (Malware, Medium, response(&["notify", "soc_ticket"])),
        (Threat, Low, response(&["notify"])),
        (Operational, Critical, response(&["notify", "team_ticket"])),
        (Operational, Informational, response(&["notify", "team_ticket"])),
        (Lambda, Informational, response(&["notify"])),
    ];
    for (family, severity, expected) in cases {
        assert_eq!(policy.incident_response(family, severity), expected, "{family} {severity}");
    }
}

// ---------------------------------------------------------------------------------------------
// A small valid document that the other tests change one line at a time.

const BASE: &str = "\
environments:
  PROD: {weight: 10, names: [PRODUCTION]}
  DEV: {weight: 1, names: [SANDBOX, DEVELOPMENT]}
unknown_environment_weight: 1
accounts: {new_account_min_age: 24h, cache_ttl: 6h}
tickets:
  deadlines: {CRITICAL: 4h, HIGH: 8h}
  escalate: [CRITICAL]
  keep_closed_for: 365d
auto_remediation: {controls: [EC2.13]}
incidents:
  - {families: [ec2], respond: [notify, isolate, terminate]}
suppressions:
  - id: base
    control: IAM.1
    action: suppress
    reason: base rule
    when: {}
";

/// `BASE` with each `(from, to)` replaced; `from` must occur exactly once so a change to `BASE`
/// cannot silently turn a case into a no-op.
fn base_with(replacements: &[(&str, &str)]) -> String {
    let mut text = BASE.to_owned();
    for (from, to) in replacements {
        assert_eq!(text.matches(from).count(), 1, "{from:?} must occur once in {text}");
        text = text.replacen(from, to, 1);
    }
    text
}

#[test]
fn the_base_document_is_valid() {
    let policy = parse(BASE);
    assert_eq!(policy.rules().len(), 1);
    assert_eq!(policy.rules()[0].line, 14);
    assert!(policy.auto_remediates("EC2.13"));
    assert!(!policy.auto_remediates("EC2.1"));
    assert_eq!(policy.deadline(SeverityLabel::Medium), None);
    assert_eq!(
        policy.incident_response(IncidentFamily::Ec2, SeverityLabel::Low),
        response(&["notify", "isolate", "terminate"])
    );
    // No entry matches: notify only.
    assert_eq!(policy.incident_response(IncidentFamily::Iam, SeverityLabel::Critical), response(&["notify"]));
    assert_eq!(IncidentResponse::NOTIFY_ONLY, response(&["notify"]));
}

// ---------------------------------------------------------------------------------------------
// Suppression matching

const RULES: &str = r#"
  - {id: by-account, control: C.account, action: suppress, reason: r, when: {account: ["111111111111", "222222222222"]}}
  - {id: by-account-name, control: C.account_name, action: suppress, reason: r, when: {account_name: sandbox}}
  - {id: by-region, control: C.region, action: suppress, reason: r, when: {region: [eu-west-1]}}
  - {id: by-ou, control: C.ou, action: suppress, reason: r, when: {ou: Sandbox}}
  - {id: by-environment, control: C.environment, action: suppress, reason: r, when: {environment: [dev]}}
  - {id: by-environment-tag, control: C.environment_tag, action: suppress, reason: r, when: {environment: sandbox-eu}}
  - {id: by-unspecified, control: C.unspecified, action: suppress, reason: r, when: {environment: UNSPECIFIED}}
  - {id: by-team, control: C.team, action: suppress, reason: r, when: {team: platform}}
  - {id: by-client, control: C.client, action: suppress, reason: r, when: {client: [internal, acme]}}
  - {id: by-project, control: C.project, action: suppress, reason: r, when: {project: playground}}
  - {id: by-resource-type, control: C.resource_type, action: suppress, reason: r, when: {resource_type: AwsIamPolicy}}
  - {id: by-resource-id, control: C.resource_id, action: suppress, reason: r, when: {resource_id: "arn:aws:iam::*:policy/boundary-*"}}
  - {id: by-resource-ids, control: C.resource_ids, action: suppress, reason: r, when: {resource_id: ["arn:aws:s3:::logs-?", "arn:aws:s3:::audit(1)"]}}
  - {id: by-tags, control: C.tags, action: suppress, reason: r, when: {resource_tags: {"secops:exempt": ["true", "yes"], owner: "*"}}}
  - {id: both, control: C.and, action: suppress, reason: r, when: {region: eu-west-1, team: platform}}
  - {id: either-region, control: C.or, action: suppress, reason: r, when: {region: eu-west-1}}
  - {id: either-team, control: C.or, action: suppress, reason: r, when: {team: platform}}
  - {id: first-skip, control: C.first, action: skip_autoremediation, reason: r, when: {}}
  - {id: first, control: C.first, action: suppress, reason: r, when: {}}
  - {id: second, control: C.first, action: suppress, reason: r, when: {}}
  - {id: unless-legacy, control: C.not, action: suppress, reason: r, when: {region: eu-west-1, not: {team: platform, project: legacy}}}
  - {id: glob-control, control: "C.glob.*", action: suppress, reason: r, when: {}}
  - {id: recon, incident_type: "Recon:EC2/*", action: suppress, reason: r, when: {}}
  - {id: one-char, incident_type: "Policy:S3/Bucket?", action: suppress, reason: r, when: {account: "111111111111"}}
"#;

fn matching_policy() -> Policy {
    let (head, _) = BASE.split_once("suppressions:\n").unwrap();
    parse(&format!("{head}suppressions:{RULES}"))
}

/// Every fact set, so each clause holds unless a case changes its fact.
fn facts() -> Facts {
    Facts {
        account_id: "111111111111".to_owned(),
        account_name: Some("sandbox".to_owned()),
        region: Some("eu-west-1".to_owned()),
        ou_path: vec!["Root".to_owned(), "Sandbox".to_owned()],
        environment: Some("Sandbox".to_owned()),
        team: Some("platform".to_owned()),
        client: Some("internal".to_owned()),
        project: Some("playground".to_owned()),
        resource_ids: vec!["arn:aws:iam::111111111111:policy/boundary-dev".to_owned()],
        resource_types: vec!["AwsIamPolicy".to_owned()],
        resource_tags: [("secops:exempt", "true"), ("owner", "alice")]
            .into_iter()
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect(),
    }
}

fn some(s: &str) -> Option<String> {
    Some(s.to_owned())
}

fn strings(list: &[&str]) -> Vec<String> {
    list.iter().map(|s| s.to_string()).collect()
}

type Change = fn(&mut Facts);

#[test]
fn each_clause_key_matches_its_fact() {
    let policy = matching_policy();
    let unchanged: Change = |_| {};
    let cases: &[(&str, &str, Change, Option<&str>)] = &[
        ("account listed", "C.account", unchanged, Some("by-account")),
        ("second account listed", "C.account", |f| f.account_id = "222222222222".into(), Some("by-account")),
        ("account not listed", "C.account", |f| f.account_id = "333333333333".into(), None),
        ("account name", "C.account_name", unchanged, Some("by-account-name")),
        ("account name is case-sensitive", "C.account_name", |f| f.account_name = some("Sandbox"), None),
        ("no account name", "C.account_name", |f| f.account_name = None, None),
        ("region", "C.region", unchanged, Some("by-region")),
        ("other region", "C.region", |f| f.region = some("us-east-1"), None),
        ("no region", "C.region", |f| f.region = None, None),
        ("ou anywhere on the path", "C.ou", unchanged, Some("by-ou")),
        ("ou not on the path", "C.ou", |f| f.ou_path = strings(&["Root", "Prod"]), None),
        ("no ou path", "C.ou", |f| f.ou_path.clear(), None),
        ("environment by canonical name", "C.environment", unchanged, Some("by-environment")),
        ("environment tag is the name", "C.environment", |f| f.environment = some("DEV"), Some("by-environment")),
        (
            "environment by another name",
            "C.environment",
            |f| f.environment = some("development"),
            Some("by-environment"),
        ),
        ("other environment", "C.environment", |f| f.environment = some("production"), None),
        ("no environment", "C.environment", |f| f.environment = None, None),
        (
            "environment by raw tag",
            "C.environment_tag",
            |f| f.environment = some("Sandbox-EU"),
            Some("by-environment-tag"),
        ),
        ("raw tag differs", "C.environment_tag", unchanged, None),
        ("unspecified: no tag", "C.unspecified", |f| f.environment = None, Some("by-unspecified")),
        ("unspecified: unknown tag", "C.unspecified", |f| f.environment = some("lab"), Some("by-unspecified")),
        ("unspecified: known tag", "C.unspecified", unchanged, None),
        ("team", "C.team", unchanged, Some("by-team")),
        ("other team", "C.team", |f| f.team = some("data"), None),
        ("no team", "C.team", |f| f.team = None, None),
        ("client", "C.client", |f| f.client = some("acme"), Some("by-client")),
        ("other client", "C.client", |f| f.client = some("globex"), None),
        ("no client", "C.client", |f| f.client = None, None),
        ("project", "C.project", unchanged, Some("by-project")),
        ("other project", "C.project", |f| f.project = some("legacy"), None),
        ("no project", "C.project", |f| f.project = None, None),
        ("resource type", "C.resource_type", unchanged, Some("by-resource-type")),
        (
            "one of several resource types",
            "C.resource_type",
            |f| f.resource_types = strings(&["AwsS3Bucket", "AwsIamPolicy"]),
            Some("by-resource-type"),
        ),
        ("other resource type", "C.resource_type", |f| f.resource_types = strings(&["AwsS3Bucket"]), None),
        ("no resource types", "C.resource_type", |f| f.resource_types.clear(), None),
        ("resource id glob", "C.resource_id", unchanged, Some("by-resource-id")),
        (
            "resource id not matching",
            "C.resource_id",
            |f| f.resource_ids = strings(&["arn:aws:iam::111111111111:policy/admin"]),
            None,
        ),
        (
            "any resource id",
            "C.resource_id",
            |f| f.resource_ids = strings(&["arn:aws:s3:::x", "arn:aws:iam::1:policy/boundary-x"]),
            Some("by-resource-id"),
        ),
        ("no resource ids", "C.resource_id", |f| f.resource_ids.clear(), None),
        (
            "? is one character",
            "C.resource_ids",
            |f| f.resource_ids = strings(&["arn:aws:s3:::logs-1"]),
            Some("by-resource-ids"),
        ),
        ("? is not two", "C.resource_ids", |f| f.resource_ids = strings(&["arn:aws:s3:::logs-12"]), None),
        (
            "parentheses are literal",
            "C.resource_ids",
            |f| f.resource_ids = strings(&["arn:aws:s3:::audit(1)"]),
            Some("by-resource-ids"),
        ),
        ("parentheses are not a group", "C.resource_ids", |f| f.resource_ids = strings(&["arn:aws:s3:::audit1"]), None),
        ("tags", "C.tags", unchanged, Some("by-tags")),
        (
            "another allowed tag value",
            "C.tags",
            |f| _ = f.resource_tags.insert("secops:exempt".into(), "yes".into()),
            Some("by-tags"),
        ),
        (
            "tag value not allowed",
            "C.tags",
            |f| _ = f.resource_tags.insert("secops:exempt".into(), "false".into()),
            None,
        ),
        (
            "* allows any value",
            "C.tags",
            |f| _ = f.resource_tags.insert("owner".into(), String::new()),
            Some("by-tags"),
        ),
        ("* needs the tag", "C.tags", |f| _ = f.resource_tags.remove("owner"), None),
        ("every tag is needed", "C.tags", |f| _ = f.resource_tags.remove("secops:exempt"), None),
        ("AND: both hold", "C.and", unchanged, Some("both")),
        ("AND: first fails", "C.and", |f| f.region = some("us-east-1"), None),
        ("AND: second fails", "C.and", |f| f.team = some("data"), None),
        ("OR: the first rule", "C.or", unchanged, Some("either-region")),
        ("OR: the second rule", "C.or", |f| f.region = some("us-east-1"), Some("either-team")),
        ("OR: neither", "C.or", |f| (f.region, f.team) = (None, None), None),
        ("not: inner clauses do not all hold", "C.not", unchanged, Some("unless-legacy")),
        ("not: all inner clauses hold", "C.not", |f| f.project = some("legacy"), None),
        (
            "not: one inner clause fails",
            "C.not",
            |f| (f.project, f.team) = (some("legacy"), some("data")),
            Some("unless-legacy"),
        ),
        ("not: the outer clause still counts", "C.not", |f| f.region = None, None),
        ("subject glob", "C.glob.anything", unchanged, Some("glob-control")),
        ("subject glob needs the dot", "C.globX", unchanged, None),
        ("subject glob is anchored", "XC.glob.1", unchanged, None),
        ("no rule for the control", "S3.1", unchanged, None),
    ];
    for (name, control, change, expected) in cases {
        let mut f = facts();
        change(&mut f);
        let matched = policy.suppression(Subject::Control(control), RuleAction::Suppress, &f);
        assert_eq!(matched.map(|r| r.id.as_str()), *expected, "{name}");
    }
}

#[test]
fn unquoted_account_ids_keep_their_digits() {
    let policy = parse(&with_rule(
        "  - {id: a, control: IAM.1, action: suppress, reason: r, when: {account: 012345678901}}\n  - {id: b, control: IAM.1, action: suppress, reason: r, when: {account: [111111111111]}}\n",
    ));
    let account = |id: &str| Facts { account_id: id.to_owned(), ..Facts::default() };
    let matched =
        |id| policy.suppression(Subject::Control("IAM.1"), RuleAction::Suppress, &account(id)).map(|r| r.id.clone());
    assert_eq!(matched("012345678901").as_deref(), Some("a"));
    assert_eq!(matched("12345678901"), None);
    assert_eq!(matched("111111111111").as_deref(), Some("b"));
}

#[test]
fn the_first_rule_with_the_action_wins() {
    let policy = matching_policy();
    let first = |action| policy.suppression(Subject::Control("C.first"), action, &facts()).map(|r| r.id.clone());
    assert_eq!(first(RuleAction::Suppress).as_deref(), Some("first"));
    assert_eq!(first(RuleAction::SkipAutoremediation).as_deref(), Some("first-skip"));
    // Other controls have no skip rule.
    assert!(policy.suppression(Subject::Control("C.team"), RuleAction::SkipAutoremediation, &facts()).is_none());
}

#[test]
fn incident_rules_match_incident_types_only() {
    let policy = matching_policy();
    let cases: &[(Subject<'_>, Option<&str>)] = &[
        (Subject::IncidentType("Recon:EC2/PortProbeUnprotectedPort"), Some("recon")),
        (Subject::IncidentType("Recon:EC2/"), Some("recon")),
        (Subject::IncidentType("Recon:IAMUser/NetworkPermissions"), None),
        (Subject::IncidentType("Policy:S3/BucketX"), Some("one-char")),
        (Subject::IncidentType("Policy:S3/Bucket"), None),
        // A control rule never matches an incident type with the same text, and vice versa.
        (Subject::Control("Recon:EC2/PortProbeUnprotectedPort"), None),
        (Subject::IncidentType("C.team"), None),
        (Subject::IncidentType("C.glob.anything"), None),
    ];
    for (subject, expected) in cases {
        let matched = policy.suppression(*subject, RuleAction::Suppress, &facts());
        assert_eq!(matched.map(|r| r.id.as_str()), *expected, "{subject:?}");
    }
    // The incident rule's own clause still applies.
    let other_account = Facts { account_id: "999999999999".to_owned(), ..facts() };
    assert!(policy
        .suppression(Subject::IncidentType("Policy:S3/BucketX"), RuleAction::Suppress, &other_account)
        .is_none());
}

#[test]
fn rules_keep_their_fields_lines_and_subjects() {
    let policy = matching_policy();
    let rules = policy.rules();
    assert_eq!(rules.len(), 24);
    let recon = rules.iter().find(|r| r.id == "recon").unwrap();
    assert_eq!(recon.action, RuleAction::Suppress);
    assert_eq!(recon.reason, "r");
    assert!(matches!(recon.subject_pattern(), Subject::IncidentType("Recon:EC2/*")));
    assert!(matches!(rules[0].subject_pattern(), Subject::Control("C.account")));
    // The document is BASE's first 13 lines, then one rule per line.
    for (index, rule) in rules.iter().enumerate() {
        assert_eq!(rule.line, 14 + index, "{}", rule.id);
    }
    assert_eq!(RuleAction::SkipAutoremediation.as_str(), "skip_autoremediation");
}

#[test]
fn a_block_style_rule_reports_the_line_of_its_first_key() {
    let text = base_with(&[("    when: {}\n", "    when: {}\n\n  # a comment\n  - reason: later\n    id: second\n    control: IAM.2\n    action: suppress\n    when:\n      region: eu-west-1\n")]);
    let policy = parse(&text);
    assert_eq!(policy.rules()[1].line, 21);
    assert!(policy.suppression(Subject::Control("IAM.2"), RuleAction::Suppress, &facts()).is_some());
}

// ---------------------------------------------------------------------------------------------
// Strict loading: one case per kind of mistake. The offending line carries the marker `#!`;
// the error must name that line and say what was wrong.

fn load_error(text: &str) -> PolicyError {
    match Policy::from_yaml(text, "policy.yaml") {
        Ok(_) => panic!("accepted:\n{text}"),
        Err(e) => e,
    }
}

fn marked_line(text: &str) -> usize {
    let marked: Vec<usize> = text.lines().enumerate().filter(|(_, l)| l.contains("#!")).map(|(i, _)| i + 1).collect();
    assert_eq!(marked.len(), 1, "exactly one line must be marked in\n{text}");
    marked[0]
}

const PROD: &str = "  PROD: {weight: 10, names: [PRODUCTION]}";
const DEV: &str = "  DEV: {weight: 1, names: [SANDBOX, DEVELOPMENT]}";
const ACCOUNTS: &str = "accounts: {new_account_min_age: 24h, cache_ttl: 6h}";
const DEADLINES: &str = "  deadlines: {CRITICAL: 4h, HIGH: 8h}";
const ESCALATE: &str = "  escalate: [CRITICAL]";
const KEEP_CLOSED: &str = "  keep_closed_for: 365d";
const INCIDENT: &str = "  - {families: [ec2], respond: [notify, isolate, terminate]}";

/// BASE with the whole line `old` replaced by `new`, whose last line gets the marker.
fn marked(old: &str, new: &str) -> String {
    base_with(&[(&format!("{old}\n"), &format!("{new} #!\n"))])
}

const RULE: &str = "  - id: base\n    control: IAM.1\n    action: suppress\n    reason: base rule\n    when: {}\n";

/// BASE with the base rule replaced by `rule` (block style, indented under `suppressions:`).
fn with_rule(rule: &str) -> String {
    base_with(&[(RULE, rule)])
}

#[test]
fn every_kind_of_mistake_is_rejected_at_its_line() {
    let cases: Vec<(&str, String, &str)> = vec![
        // Unknown keys, at every level.
        ("unknown top-level key", marked("unknown_environment_weight: 1", "unknown_environment_weight: 1\nextra: 1"), "unknown field `extra`"),
        ("unknown environment key", marked(DEV, "  DEV: {wieght: 1, names: [SANDBOX]}"), "unknown field `wieght`, expected `weight` or `names`"),
        ("unknown tickets key", marked(ESCALATE, "  escalate: [CRITICAL]\n  escalation: [HIGH]"), "unknown field `escalation`"),
        ("unknown incident key", marked(INCIDENT, "  - {family: [ec2], respond: [notify]}"), "unknown field `family`"),
        ("unknown rule key", with_rule("  - id: base\n    controls: IAM.1 #!\n    action: suppress\n    reason: r\n    when: {}\n"), "unknown field `controls`"),
        ("unknown clause key", with_rule("  - id: base\n    control: IAM.1\n    action: suppress\n    reason: r\n    when:\n      acount: \"111111111111\" #!\n"), "unknown field `acount`"),
        ("unknown key inside not", with_rule("  - id: base\n    control: IAM.1\n    action: suppress\n    reason: r\n    when:\n      not:\n        regoin: eu-west-1 #!\n"), "unknown field `regoin`"),
        // Wrong types.
        ("weight is not a number", marked("unknown_environment_weight: 1", "unknown_environment_weight: heavy"), "invalid type: string \"heavy\", expected f64"),
        ("a list where a map belongs", marked(ACCOUNTS, "accounts: [24h, 6h]"), "invalid type: sequence, expected a mapping with new_account_min_age and cache_ttl"),
        ("a string where a list belongs", marked(ESCALATE, "  escalate: CRITICAL"), "invalid type: string \"CRITICAL\", expected a sequence"),
        ("a boolean clause value", with_rule("  - id: base\n    control: IAM.1\n    action: suppress\n    reason: r\n    when: {region: yes, team: true} #!\n"), "expected a string or a list of strings"),
        ("a map as a clause value", with_rule("  - id: base\n    control: IAM.1\n    action: suppress\n    reason: r\n    when:\n      region: {eu: west} #!\n"), "expected a string or a list of strings"),
        // Values outside the closed sets.
        ("unknown severity in deadlines", marked(DEADLINES, "  deadlines: {CRITICAL: 4h, URGENT: 8h}"), "unknown variant `URGENT`, expected one of `INFORMATIONAL`, `LOW`, `MEDIUM`, `HIGH`, `CRITICAL`"),
        ("unknown severity in escalate", marked(ESCALATE, "  escalate: [critical]"), "unknown variant `critical`"),
        ("unknown severity in an incident", marked(INCIDENT, "  - {severities: [SEVERE], respond: [notify]}"), "unknown variant `SEVERE`"),
        ("unknown family", marked(INCIDENT, "  - {families: [EC2], respond: [notify]}"), "unknown variant `EC2`, expected one of `ec2`, `iam`, `s3`"),
        ("unknown response", marked(INCIDENT, "  - {respond: [notify, page]}"), "unknown variant `page`, expected one of `notify`, `soc_ticket`, `team_ticket`, `isolate`, `terminate`, `suppress`"),
        ("unknown action", with_rule("  - id: base\n    control: IAM.1\n    action: supress #!\n    reason: r\n    when: {}\n"), "unknown variant `supress`, expected `suppress` or `skip_autoremediation`"),
        // Required keys.
        ("missing section", base_with(&[("environments:\n", "environments: #!\n"), ("auto_remediation: {controls: [EC2.13]}\n", "")]), "missing field `auto_remediation`"),
        ("rule without reason", with_rule("  - id: base #!\n    control: IAM.1\n    action: suppress\n    when: {}\n"), "missing field `reason`"),
        ("rule without when", with_rule("  - id: base #!\n    control: IAM.1\n    action: suppress\n    reason: r\n"), "missing field `when`"),
        ("bare when", with_rule("  - id: base\n    control: IAM.1\n    action: suppress\n    reason: r\n    when: #!\n  - id: other\n    control: IAM.2\n    action: suppress\n    reason: r\n    when: {}\n"), "suppressions[0].when: no value; list clauses, or write `when: {}`"),
        ("empty reason", with_rule("  - id: base\n    control: IAM.1\n    action: suppress\n    reason: \"\" #!\n    when: {}\n"), "a rule needs a `reason`"),
        ("empty id", with_rule("  - id: \" \" #!\n    control: IAM.1\n    action: suppress\n    reason: r\n    when: {}\n"), "a rule id cannot be empty"),
        // Rule structure.
        ("duplicate rule id", with_rule(&format!("{RULE}  - id: other\n    control: IAM.2\n    action: suppress\n    reason: r\n    when: {{}}\n  - id: base #!\n    control: IAM.3\n    action: suppress\n    reason: r\n    when: {{}}\n")), "suppressions[2].id: duplicate rule id `base`: the rule at line 14 already has it"),
        ("both subjects", with_rule("  - id: base #!\n    control: IAM.1\n    incident_type: Recon:EC2/*\n    action: suppress\n    reason: r\n    when: {}\n"), "has both `control` and `incident_type`"),
        ("neither subject", with_rule("  - id: base #!\n    action: suppress\n    reason: r\n    when: {}\n"), "has neither `control` nor `incident_type`"),
        ("a subject without a value", with_rule("  - id: base\n    control: #!\n    action: suppress\n    reason: r\n    when: {}\n"), "a glob pattern cannot be empty"),
        ("skip_autoremediation on an incident type", with_rule("  - id: base\n    incident_type: Recon:EC2/*\n    action: skip_autoremediation #!\n    reason: r\n    when: {}\n"), "`skip_autoremediation` applies to `control` rules only"),
        ("nested not", with_rule("  - id: base\n    control: IAM.1\n    action: suppress\n    reason: r\n    when:\n      not:\n        region: eu-west-1\n        not: {team: a} #!\n"), "`not` cannot be nested"),
        ("empty not", with_rule("  - id: base\n    control: IAM.1\n    action: suppress\n    reason: r\n    when: {region: eu-west-1, not: {}} #!\n"), "`not` has no clauses"),
        ("empty clause list", with_rule("  - id: base\n    control: IAM.1\n    action: suppress\n    reason: r\n    when:\n      region: [] #!\n"), "the list is empty, so the clause could never hold"),
        ("clause key without a value", with_rule("  - id: base\n    control: IAM.1\n    action: suppress\n    reason: r\n    when:\n      region: #!\n"), "suppressions[0].when.region: no value; give a string or a list of strings"),
        ("empty clause value", with_rule("  - id: base\n    control: IAM.1\n    action: suppress\n    reason: r\n    when:\n      team:\n        - platform\n        - \"\" #!\n"), "an empty value never matches"),
        ("account id not 12 digits", with_rule("  - id: base\n    control: IAM.1\n    action: suppress\n    reason: r\n    when:\n      account:\n        - \"111111111111\"\n        - 11111111111 #!\n"), "`11111111111` is not an AWS account id (12 digits)"),
        ("a hexadecimal account id", with_rule("  - id: base\n    control: IAM.1\n    action: suppress\n    reason: r\n    when: {account: 0x1F} #!\n"), "`31` is not an AWS account id (12 digits)"),
        ("empty resource_tags", with_rule("  - id: base\n    control: IAM.1\n    action: suppress\n    reason: r\n    when:\n      resource_tags: {} #!\n"), "`resource_tags` is empty"),
        ("tag listed twice", with_rule("  - id: base\n    control: IAM.1\n    action: suppress\n    reason: r\n    when:\n      resource_tags:\n        owner: \"*\"\n        owner: alice #!\n"), "suppressions[0].when.resource_tags.owner: tag `owner` is listed twice"),
        // Globs.
        ("invalid control glob", with_rule("  - id: base\n    control: \"IAM.[12]\" #!\n    action: suppress\n    reason: r\n    when: {}\n"), "invalid glob `IAM.[12]`: `[` is not supported"),
        ("invalid incident type glob", with_rule("  - id: base\n    incident_type: \"Recon:{EC2,IAM}/*\" #!\n    action: suppress\n    reason: r\n    when: {}\n"), "invalid glob `Recon:{EC2,IAM}/*`: `{` is not supported"),
        ("invalid resource id glob", with_rule("  - id: base\n    control: IAM.1\n    action: suppress\n    reason: r\n    when:\n      resource_id:\n        - \"arn:*\"\n        - \"arn:aws:s3:::a\\\\*\" #!\n"), "`\\` is not supported"),
        ("invalid tag value glob", with_rule("  - id: base\n    control: IAM.1\n    action: suppress\n    reason: r\n    when:\n      resource_tags:\n        owner: \"[team]\" #!\n"), "invalid glob `[team]`"),
        // Durations.
        ("duration without a unit", marked(ACCOUNTS, "accounts: {new_account_min_age: 24h, cache_ttl: 6}"), "invalid duration `6`: it does not end in a unit"),
        ("duration in words", marked(KEEP_CLOSED, "  keep_closed_for: 1 year"), "invalid duration `1 year`"),
        ("zero duration", marked(ACCOUNTS, "accounts: {new_account_min_age: 0h, cache_ttl: 6h}"), "invalid duration `0h`: it is zero"),
        ("fractional deadline", marked(DEADLINES, "  deadlines: {CRITICAL: 4h, HIGH: 0.5d}"), "invalid duration `0.5d`"),
        ("overflowing duration", marked(KEEP_CLOSED, "  keep_closed_for: 999999999999999999d"), "it is too large"),
        ("severity with two deadlines", marked(DEADLINES, "  deadlines: {CRITICAL: 4h, HIGH: 8h, CRITICAL: 2h}"), "tickets.deadlines.CRITICAL: severity CRITICAL has two deadlines"),
        // Incident responses.
        ("terminate without isolate", marked(INCIDENT, "  - {families: [ec2], respond: [notify, terminate]}"), "`terminate` without `isolate`"),
        ("empty respond", marked(INCIDENT, "  - {families: [ec2], respond: []}"), "`respond` is empty; list at least one of notify, soc_ticket, team_ticket, isolate, terminate, suppress"),
        ("response listed twice", marked(INCIDENT, "  - {respond: [notify, isolate, notify]}"), "`notify` is listed twice"),
        ("empty families", marked(INCIDENT, "  - {families: [], respond: [notify]}"), "the list is empty, so the entry would match no family"),
        ("family listed twice", marked(INCIDENT, "  - {families: [ec2, iam, ec2], respond: [notify]}"), "`ec2` is listed twice"),
        // Weights and environments.
        ("negative weight", marked(PROD, "  PROD: {weight: -1, names: [PRODUCTION]}"), "weight -1 is not allowed: a weight is a finite number of at least 0"),
        ("weight not a number", marked(DEV, "  DEV: {weight: .nan, names: [SANDBOX]}"), "weight NaN is not allowed"),
        ("infinite unknown weight", marked("unknown_environment_weight: 1", "unknown_environment_weight: .inf"), "weight inf is not allowed"),
        ("environment name in two environments", marked(DEV, "  DEV: {weight: 1, names: [SANDBOX, production]}"), "environments.DEV.names[1]: `production` already names environment `PROD`"),
        ("environment defined twice", marked(DEV, "  prod: {weight: 1, names: [SANDBOX]}"), "environment `prod` is already defined or named by environment `PROD`"),
        ("reserved environment", marked(DEV, "  Unspecified: {weight: 1, names: [SANDBOX]}"), "`Unspecified` is reserved"),
        ("escalated severity listed twice", marked(ESCALATE, "  escalate: [CRITICAL, HIGH, CRITICAL]"), "`CRITICAL` is listed twice"),
        // Auto-remediation.
        ("auto-remediation control id malformed", marked("auto_remediation: {controls: [EC2.13]}", "auto_remediation: {controls: [EC2.13, ec2-13]}"), "invalid control id \"ec2-13\""),
    ];
    // Every case is checked before failing, so one run shows all the mismatches.
    let mut mismatches = Vec::new();
    for (name, text, fragment) in &cases {
        let err = load_error(text);
        // serde_yaml_ng appends "at line L column C" to its messages; we report that in fields.
        let position_in_message = err.message.contains(&format!("at line {} column {}", err.line, err.column));
        if err.line != marked_line(text) || !err.message.contains(fragment) || position_in_message {
            mismatches.push(format!("{name}: expected line {} and {fragment:?}, got: {err}", marked_line(text)));
        }
        assert_eq!(err.source_name, "policy.yaml");
    }
    assert!(mismatches.is_empty(), "{}", mismatches.join("\n"));
}

#[test]
fn errors_point_at_the_column_of_the_node() {
    let err =
        load_error(&base_with(&[("  deadlines: {CRITICAL: 4h, HIGH: 8h}", "  deadlines: {CRITICAL: 4h, HIGH: 8x}")]));
    assert_eq!((err.line, err.column), (7, 35), "{err}");
    let err = load_error(&base_with(&[("  escalate: [CRITICAL]", "  escalate: [CRITICAL, urgent]")]));
    assert_eq!((err.line, err.column), (8, 24), "{err}");
    let err = load_error(&with_rule("  - id: base\n    control: IAM.1\n    action: suppress\n    reason: r\n    when:\n      region: eu-west-1\n      resource_id: [\"a\", \"b[\"]\n"));
    assert_eq!((err.line, err.column), (20, 26), "{err}");
}

#[test]
fn errors_display_the_source_line_column_and_message() {
    let err = load_error(&base_with(&[("unknown_environment_weight: 1", "unknown_environment_weight: -2")]));
    assert_eq!(
        err.to_string(),
        "policy.yaml line 4, column 29: unknown_environment_weight: weight -2 is not allowed: a weight is a finite number of at least 0"
    );
}

#[test]
fn documents_that_are_not_yaml_mappings_are_rejected() {
    let cases: [(&str, usize, &str); 4] = [
        ("", 1, "missing field `environments`"),
        ("- a\n- b\n", 1, "invalid type: sequence"),
        ("environments: {PROD: {weight: 1, names: [A]}\n", 2, "did not find expected"),
        (&format!("{BASE}---\n{BASE}"), 1, "more than one document"),
    ];
    for (text, line, fragment) in cases {
        let err = load_error(text);
        assert_eq!(err.line, line, "{text:?}: {err}");
        assert!(err.message.contains(fragment), "{text:?}: {err}");
    }
}

/// The commented example rule in `config/policy.yaml`, uncommented, is a valid policy whose
/// rule matches the facts it describes, so the documentation cannot drift from the parser.
#[test]
fn the_documented_example_rule_is_valid() {
    let (_, after_begin) = secops_soar::policy::BUILT_IN_YAML.split_once("# example-begin\n").unwrap();
    let (example, _) = after_begin.split_once("# example-end\n").unwrap();
    let rules: String = example.lines().map(|line| format!("{}\n", line.strip_prefix('#').unwrap())).collect();
    let text = secops_soar::policy::BUILT_IN_YAML.replace("suppressions: []\n", &format!("suppressions:\n{rules}"));
    let policy = Policy::from_yaml(&text, "example").unwrap();
    let rule = &policy.rules()[0];
    assert_eq!(rule.id, "example-sandbox-iam21");
    assert_eq!(rule.line, text.lines().position(|l| l == "  - id: example-sandbox-iam21").unwrap() + 1);

    // The fact set of the matching table above, with the example's own account name.
    let facts = Facts { account_name: some("sandbox-platform"), environment: some("sandbox"), ..facts() };
    let matched = policy.suppression(Subject::Control("IAM.21"), RuleAction::Suppress, &facts);
    assert_eq!(matched.map(|r| r.id.as_str()), Some("example-sandbox-iam21"));
}
