//! The offline analyst: the product's default, and what writes a report when a language model's
//! answer is unusable. Pure and deterministic: the same finding and context give the same
//! assessment, byte for byte, with no clock, no randomness and no I/O.
//!
//! # What decides
//!
//! Only structured facts: the finding's source (hence its class), its severity label and
//! normalized score, its `kind` (a control id, GuardDuty type, CVE), the environment column, and
//! what the context queries returned (exposure rows and their ports, the EDR status, attack-path
//! counts, Inspector's `exploitAvailable` / `fixAvailable`, earlier verdicts on the kind). Free text
//! — titles, descriptions, names, tag values other than the environment column, account names —
//! never reaches a rule; it appears in the summary and observations only quoted through
//! [`crate::untrusted`].
//!
//! # Verdict (`verdict_rule`)
//!
//! | class | true positive | likely benign | otherwise |
//! |---|---|---|---|
//! | threat (GuardDuty, Falcon) | a compromise family (`Backdoor:`, `Trojan:`, `CryptoCurrency:`); HIGH or CRITICAL; on a host without EDR; on an internet-exposed host | LOW/INFORMATIONAL `Recon:` on a host that is not exposed | needs a human |
//! | vulnerability (Inspector) | CRITICAL; an exploit is available and the resource is exposed | LOW/INFORMATIONAL and not exposed | needs a human |
//! | configuration (Security Hub, exposure) | production and HIGH or CRITICAL; sensitive ports open to the internet | development and LOW/INFORMATIONAL | needs a human |
//!
//! # Risk (`risk_rules`)
//!
//! The base is the severity (INFORMATIONAL and LOW 1, MEDIUM 2, HIGH 3, CRITICAL 4); each fact
//! below moves it by one, and the result is held to 1–5. Every move is a reason in the report.
//!
//! | fact | move |
//! |---|---|
//! | production environment | +1 |
//! | development environment and not exposed | −1 |
//! | reachable from the internet | +1 |
//! | … on a sensitive port (remote administration, data stores) | +1 |
//! | an instance without a working EDR sensor | +1 |
//! | attack paths from it reach a database or a host without EDR | +1 |
//! | Inspector: a known exploit | +1 |
//! | threat: a compromise family | +1 |
//! | an earlier triage of the same kind was a true positive | +1 |
//! | two or more earlier triages of the kind, all likely benign | −1 |
//!
//! Earlier verdicts move the risk but never the verdict: they may come from a model, and a
//! poisoned history must not talk a finding down.
//!
//! # The rest
//!
//! Evidence cites every query of the context (a query without rows says so). Actions follow the
//! persona (containment for threats, the patch for vulnerabilities, the configuration change for
//! controls), ordered by urgency and numbered 1..n. The owner comes from the resource's `Owner` /
//! `Team` tag, else the cached account data, else it is unknown. The blast radius is the exposure
//! and the attack-path counts.

use std::collections::BTreeSet;

use serde_json::Value;

use crate::context::{query, Context, ContextItem};
use crate::finding::{FindingClass, SecurityFinding, Source};
use crate::persona::Persona;
use crate::report::{Action, AffectedResource, Assessment, BlastRadius, Evidence, Owner, Risk, Urgency, Verdict};
use crate::untrusted::{one_line, quoted, token};

/// The longest observation, action or reason the schema allows.
const TEXT_MAX: usize = 2000;
/// How much of a finding's title the summary quotes.
const TITLE_MAX: usize = 200;
/// How much of a name or tag value an observation quotes.
const NAME_MAX: usize = 80;

/// The severity labels, ordered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Severity {
    Informational,
    Low,
    Medium,
    High,
    Critical,
}

impl Severity {
    /// The label, else the ASFF band of the normalized score.
    fn of(f: &SecurityFinding) -> Severity {
        match f.severity.as_str() {
            "CRITICAL" => Severity::Critical,
            "HIGH" => Severity::High,
            "MEDIUM" => Severity::Medium,
            "LOW" => Severity::Low,
            "INFORMATIONAL" => Severity::Informational,
            _ => match f.severity_normalized {
                90.. => Severity::Critical,
                70..=89 => Severity::High,
                40..=69 => Severity::Medium,
                1..=39 => Severity::Low,
                _ => Severity::Informational,
            },
        }
    }

    fn label(self) -> &'static str {
        match self {
            Severity::Informational => "INFORMATIONAL",
            Severity::Low => "LOW",
            Severity::Medium => "MEDIUM",
            Severity::High => "HIGH",
            Severity::Critical => "CRITICAL",
        }
    }

    fn base_risk(self) -> i32 {
        match self {
            Severity::Informational | Severity::Low => 1,
            Severity::Medium => 2,
            Severity::High => 3,
            Severity::Critical => 4,
        }
    }
}

/// The environment class, by the same patterns as the SQL (`is_production`, the penalty weights).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stage {
    Production,
    Staging,
    Development,
    Unknown,
}

fn stage_of(environment: Option<&str>) -> Stage {
    let Some(env) = environment.map(|e| e.trim().to_ascii_lowercase()) else { return Stage::Unknown };
    let starts = |words: &[&str]| {
        words
            .iter()
            .any(|w| env.strip_prefix(w).is_some_and(|rest| rest.is_empty() || rest.starts_with(['-', '_', ' '])))
    };
    if starts(&["prod", "production", "prd"]) {
        Stage::Production
    } else if starts(&["stag", "staging", "stg", "uat", "preprod", "pre-prod"]) {
        Stage::Staging
    } else if starts(&["dev", "development", "develop", "sandbox", "sbx", "test", "testing", "qa"]) {
        Stage::Development
    } else {
        Stage::Unknown
    }
}

/// GuardDuty's threat purpose, the part of the type before `:`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ThreatFamily {
    Recon,
    UnauthorizedAccess,
    Compromise(&'static str),
    Other,
}

fn threat_family(f: &SecurityFinding) -> Option<ThreatFamily> {
    if f.source != Source::GuardDuty {
        return None;
    }
    let family = f.kind.split(':').next().unwrap_or_default();
    Some(match family {
        "Recon" => ThreatFamily::Recon,
        "UnauthorizedAccess" => ThreatFamily::UnauthorizedAccess,
        "Backdoor" => ThreatFamily::Compromise("Backdoor"),
        "Trojan" => ThreatFamily::Compromise("Trojan"),
        "CryptoCurrency" => ThreatFamily::Compromise("CryptoCurrency"),
        _ => ThreatFamily::Other,
    })
}

/// The EDR reconciliation's answer for an instance.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Edr {
    Matched,
    Unprotected,
}

/// Ports worse than a web port when the internet reaches them (the SQL's `triage_sensitive_ports`).
const SENSITIVE_PORTS: [i64; 17] =
    [22, 23, 135, 139, 445, 1433, 1521, 2375, 3306, 3389, 5432, 5601, 5900, 6379, 9200, 11211, 27017];

fn sensitive_range(from: Option<i64>, to: Option<i64>) -> bool {
    match (from, to) {
        (None, _) => true,
        (Some(from), to) => {
            let to = to.unwrap_or(from);
            SENSITIVE_PORTS.iter().any(|p| (from..=to).contains(p))
        }
    }
}

fn port_label(protocol: Option<&str>, from: Option<i64>, to: Option<i64>) -> String {
    let protocol = match protocol {
        Some("-1") => "all",
        p => p.and_then(|p| token(p, 8)).unwrap_or("any"),
    };
    match (from, to) {
        (None, _) => format!("{protocol}/all"),
        (Some(f), Some(t)) if f != t => format!("{protocol}/{f}-{t}"),
        (Some(f), _) => format!("{protocol}/{f}"),
    }
}

/// Everything the rules look at, taken from the finding's structured fields and the context.
#[derive(Debug, Clone, Default)]
struct Facts {
    severity: Option<Severity>,
    environment: Option<String>,
    stage: Option<Stage>,
    is_instance: bool,
    exposed: bool,
    /// Why it counts as exposed (an exposure row, a public bucket, a public database, …).
    exposure_basis: Vec<String>,
    sensitive_exposure: bool,
    ports: BTreeSet<String>,
    sensitive_ports: BTreeSet<String>,
    edr: Option<Edr>,
    reached: u32,
    reached_databases: u32,
    reached_unprotected: u32,
    paths_to_resource: u32,
    exploit_available: Option<bool>,
    fix_available: Option<bool>,
    package: Option<String>,
    fixed_version: Option<String>,
    family: Option<ThreatFamily>,
    earlier_true_positive: u32,
    earlier_benign: u32,
    earlier_other: u32,
    related_same_group: u32,
    related_total: u32,
}

fn rows<'a>(context: &'a Context, name: &str) -> &'a [Value] {
    context.item(name).map(|i| i.rows.as_slice()).unwrap_or_default()
}

fn str_of<'a>(v: &'a Value, key: &str) -> Option<&'a str> {
    v.get(key).and_then(Value::as_str).filter(|s| !s.trim().is_empty())
}

fn int_of(v: &Value, key: &str) -> Option<i64> {
    v.get(key).and_then(Value::as_i64)
}

fn count_of(v: &Value, key: &str) -> u32 {
    int_of(v, key).map_or(0, |n| u32::try_from(n.max(0)).unwrap_or(u32::MAX))
}

fn bool_of(v: &Value, key: &str) -> Option<bool> {
    v.get(key).and_then(Value::as_bool)
}

/// The environment column: the finding's (the resource's or its VPC's tag), else the resource
/// record's, else the cached account data's, else the one most of the account's instances carry.
fn environment(finding: &SecurityFinding, context: &Context) -> Option<String> {
    let resource = rows(context, query::RESOURCE).first();
    let account = rows(context, query::ACCOUNT).first();
    finding
        .environment
        .as_deref()
        .or_else(|| resource.and_then(|r| str_of(r, "environment")))
        .or_else(|| account.and_then(|a| str_of(a, "environment")))
        .or_else(|| account.and_then(|a| str_of(a, "instance_environment")))
        .map(|e| one_line(e, 64))
        .filter(|e| !e.is_empty())
}

fn facts(finding: &SecurityFinding, context: &Context) -> Facts {
    let mut f = Facts { severity: Some(Severity::of(finding)), ..Facts::default() };
    f.environment = environment(finding, context);
    f.stage = Some(stage_of(f.environment.as_deref()));
    f.family = threat_family(finding);

    let resource = rows(context, query::RESOURCE).first();
    f.is_instance = resource.and_then(|r| str_of(r, "resource_kind")) == Some("instance")
        || finding.resource_type.as_deref() == Some("AwsEc2Instance");

    for row in rows(context, query::EXPOSURE) {
        let (from, to) = (int_of(row, "from_port"), int_of(row, "to_port"));
        let label = port_label(str_of(row, "protocol"), from, to);
        if bool_of(row, "sensitive_port").unwrap_or_else(|| sensitive_range(from, to)) {
            f.sensitive_ports.insert(label.clone());
        }
        f.ports.insert(label);
    }
    if context.item(query::EXPOSURE).is_some_and(|i| i.total_rows > 0) {
        f.exposed = true;
        f.exposure_basis.push("the internet reaches it (exposure)".into());
    }
    if finding.source == Source::Exposure {
        f.exposed = true;
        for path in finding.raw.get("paths").and_then(Value::as_array).into_iter().flatten() {
            let (from, to) = (int_of(path, "from_port"), int_of(path, "to_port"));
            let label = port_label(str_of(path, "protocol"), from, to);
            if sensitive_range(from, to) {
                f.sensitive_ports.insert(label.clone());
            }
            f.ports.insert(label);
        }
        if f.exposure_basis.is_empty() {
            f.exposure_basis.push("the finding is an internet exposure".into());
        }
    }
    if let Some(r) = resource {
        match str_of(r, "resource_kind") {
            Some("s3_bucket") if bool_of(r, "public") == Some(true) => {
                f.exposed = true;
                f.exposure_basis.push("the bucket is public".into());
            }
            Some("rds_instance") if bool_of(r, "publicly_accessible") == Some(true) => {
                f.exposed = true;
                f.exposure_basis.push("the database endpoint is publicly accessible".into());
                if let Some(port) = int_of(r, "endpoint_port") {
                    f.sensitive_ports.insert(port_label(Some("tcp"), Some(port), Some(port)));
                }
            }
            Some("rds_snapshot") => {
                let public =
                    r.get("restorable_by").and_then(Value::as_array).is_some_and(|a| a.iter().any(|v| v == "all"));
                if public {
                    f.exposed = true;
                    f.exposure_basis.push("anyone can restore the snapshot".into());
                }
            }
            Some("security_group") => {
                // A group's open rules matter when something uses the group.
                let used = context.item(query::RELATED_RESOURCES).is_some_and(|i| i.total_rows > 0);
                for rule in r.get("internet_ingress").and_then(Value::as_array).into_iter().flatten() {
                    let (from, to) = (int_of(rule, "from_port"), int_of(rule, "to_port"));
                    let protocol = str_of(rule, "protocol");
                    let (from, to) = if protocol == Some("-1") { (None, None) } else { (from, to) };
                    let label = port_label(protocol, from, to);
                    let sensitive = bool_of(rule, "sensitive_port").unwrap_or_else(|| sensitive_range(from, to));
                    if used {
                        if sensitive {
                            f.sensitive_ports.insert(label.clone());
                        }
                        f.ports.insert(label);
                    }
                }
                if used && !f.ports.is_empty() {
                    f.exposed = true;
                    f.exposure_basis.push("the group opens ports to the internet and is in use".into());
                }
            }
            _ => {}
        }
    }
    f.sensitive_exposure = f.exposed && !f.sensitive_ports.is_empty();

    f.edr = rows(context, query::EDR_STATUS).first().and_then(|r| match str_of(r, "status") {
        Some("matched") => Some(Edr::Matched),
        Some("unprotected") => Some(Edr::Unprotected),
        _ => None,
    });

    // The walks' own counts are per resource; the summary counts path targets, which is the
    // fallback when no walk started at the resource's nodes.
    let mut summary = None;
    let mut starts = 0;
    for row in rows(context, query::ATTACK_PATHS) {
        match str_of(row, "kind") {
            Some("start") => {
                starts += 1;
                f.reached = f.reached.max(count_of(row, "reached"));
                f.reached_databases = f.reached_databases.max(count_of(row, "reached_databases"));
                f.reached_unprotected = f.reached_unprotected.max(count_of(row, "reached_unprotected"));
            }
            Some("summary") => summary = Some(row),
            _ => {}
        }
    }
    if let Some(row) = summary {
        f.paths_to_resource = count_of(row, "starts_reaching_resource");
        if starts == 0 {
            f.reached = count_of(row, "targets_reached");
            f.reached_databases = count_of(row, "databases_reached");
            f.reached_unprotected = count_of(row, "unprotected_hosts_reached");
        }
    }

    if finding.source == Source::Inspector {
        let flag = |key: &str| match finding.raw.get(key).and_then(Value::as_str) {
            Some("YES") | Some("PARTIAL") => Some(true),
            Some("NO") => Some(false),
            _ => None,
        };
        f.exploit_available = flag("exploitAvailable");
        f.fix_available = flag("fixAvailable");
        let package =
            finding.raw.pointer("/packageVulnerabilityDetails/vulnerablePackages/0").cloned().unwrap_or(Value::Null);
        f.package = str_of(&package, "name").and_then(|p| token(p, 64)).map(str::to_owned);
        f.fixed_version = str_of(&package, "fixedInVersion")
            .filter(|v| !v.eq_ignore_ascii_case("NotAvailable"))
            .and_then(|v| token(v, 64))
            .map(str::to_owned);
    }

    for row in rows(context, query::SIMILAR_FINDINGS) {
        if str_of(row, "section") == Some("earlier_report") {
            match str_of(row, "verdict") {
                Some("true_positive") => f.earlier_true_positive += 1,
                Some("likely_benign") => f.earlier_benign += 1,
                _ => f.earlier_other += 1,
            }
        }
    }

    if let Some(item) = context.item(query::RELATED_RESOURCES) {
        f.related_total = u32::try_from(item.total_rows).unwrap_or(u32::MAX);
        f.related_same_group = item
            .rows
            .iter()
            .filter(|r| matches!(str_of(r, "relation"), Some("same_group") | Some("same_cluster")))
            .count() as u32;
    }
    f
}

// ---------------------------------------------------------------------------------------------
// The rules: one table each for the verdict and the risk.
// ---------------------------------------------------------------------------------------------

/// The verdict and the rule that gave it, per the module documentation's table.
fn verdict_rule(class: FindingClass, f: &Facts) -> (Verdict, &'static str) {
    let severity = f.severity.unwrap_or(Severity::Informational);
    let low = severity <= Severity::Low;
    let unprotected = f.edr == Some(Edr::Unprotected);
    let stage = f.stage.unwrap_or(Stage::Unknown);
    use Verdict::*;
    match class {
        FindingClass::Threat => match () {
            _ if matches!(f.family, Some(ThreatFamily::Compromise(_))) => {
                (TruePositive, "a compromise-type threat (backdoor, trojan or cryptocurrency mining)")
            }
            _ if severity >= Severity::High => (TruePositive, "a threat of severity HIGH or above"),
            _ if unprotected => (TruePositive, "a threat on a host without a working EDR sensor"),
            _ if f.exposed => (TruePositive, "a threat on a host reachable from the internet"),
            _ if low && f.family == Some(ThreatFamily::Recon) => {
                (LikelyBenign, "low-severity reconnaissance against a host the internet does not reach")
            }
            _ => (NeedsHuman, "a threat of moderate severity on a protected, unexposed host"),
        },
        FindingClass::Vulnerability => match () {
            _ if severity == Severity::Critical => (TruePositive, "a CRITICAL vulnerability"),
            _ if f.exploit_available == Some(true) && f.exposed => {
                (TruePositive, "a vulnerability with a known exploit on a resource reachable from the internet")
            }
            _ if low && !f.exposed => {
                (LikelyBenign, "a low-severity vulnerability on a resource the internet does not reach")
            }
            _ => (NeedsHuman, "a vulnerability whose exploitability here depends on more than the facts at hand"),
        },
        FindingClass::Configuration => match () {
            _ if stage == Stage::Production && severity >= Severity::High => {
                (TruePositive, "a HIGH or CRITICAL control failure in production")
            }
            _ if f.sensitive_exposure => (TruePositive, "sensitive ports reachable from the internet"),
            _ if stage == Stage::Development && low => (LikelyBenign, "a low-severity control failure in development"),
            _ => (NeedsHuman, "a control failure whose impact depends on intent and environment"),
        },
    }
}

/// One move of the risk score and why.
struct Move {
    delta: i32,
    why: String,
}

/// The moves of the risk score, per the module documentation's table.
fn risk_rules(class: FindingClass, f: &Facts) -> Vec<Move> {
    let stage = f.stage.unwrap_or(Stage::Unknown);
    let env = f.environment.as_deref().unwrap_or("?");
    let ports = |set: &BTreeSet<String>| set.iter().take(8).cloned().collect::<Vec<_>>().join(", ");
    let mut moves = Vec::new();
    let mut add = |holds: bool, delta: i32, why: String| {
        if holds {
            moves.push(Move { delta, why });
        }
    };
    add(stage == Stage::Production, 1, format!("production environment ({env})"));
    add(stage == Stage::Development && !f.exposed, -1, format!("development environment ({env}) and not exposed"));
    add(
        f.exposed,
        1,
        format!(
            "reachable from the internet: {}{}",
            f.exposure_basis.join("; "),
            if f.ports.is_empty() { String::new() } else { format!(" ({})", ports(&f.ports)) }
        ),
    );
    add(f.sensitive_exposure, 1, format!("sensitive ports exposed: {}", ports(&f.sensitive_ports)));
    add(f.edr == Some(Edr::Unprotected), 1, "the instance has no working EDR sensor".into());
    add(
        f.reached_databases > 0 || f.reached_unprotected > 0,
        1,
        format!(
            "attack paths from it reach {} database(s) and {} host(s) without EDR",
            f.reached_databases, f.reached_unprotected
        ),
    );
    add(
        class == FindingClass::Vulnerability && f.exploit_available == Some(true),
        1,
        "a public exploit is available (Inspector)".into(),
    );
    if let Some(ThreatFamily::Compromise(family)) = f.family {
        add(class == FindingClass::Threat, 1, format!("compromise-type threat family ({family})"));
    }
    add(
        f.earlier_true_positive > 0,
        1,
        format!("{} earlier triage(s) of this kind were true positives", f.earlier_true_positive),
    );
    add(
        f.earlier_true_positive == 0 && f.earlier_other == 0 && f.earlier_benign >= 2,
        -1,
        format!("all {} earlier triages of this kind were likely benign", f.earlier_benign),
    );
    moves
}

fn risk(class: FindingClass, f: &Facts, normalized: i32) -> Risk {
    let severity = f.severity.unwrap_or(Severity::Informational);
    let base = severity.base_risk();
    let mut reasons = vec![format!("severity {} ({normalized}/100): base {base}", severity.label())];
    let mut score = base;
    for m in risk_rules(class, f) {
        score += m.delta;
        reasons.push(one_line(&format!("{:+} {}", m.delta, m.why), TEXT_MAX));
    }
    let clamped = score.clamp(1, 5);
    if clamped != score {
        reasons.push(format!("held to {clamped} (the scale is 1 to 5; the facts add up to {score})"));
    }
    reasons.truncate(12);
    // `clamp` keeps it in 1..=5, so the conversion cannot fail.
    Risk { score: u8::try_from(clamped).unwrap_or(5), reasons }
}

// ---------------------------------------------------------------------------------------------
// Evidence, affected resources, blast radius, owner.
// ---------------------------------------------------------------------------------------------

fn yes_no(b: Option<bool>) -> &'static str {
    match b {
        Some(true) => "yes",
        Some(false) => "no",
        None => "unknown",
    }
}

fn id_text(v: Option<&str>) -> String {
    v.map_or_else(|| "?".to_owned(), |s| one_line(s, 256))
}

fn observe_resource(finding: &SecurityFinding, item: &ContextItem) -> String {
    let Some(r) = item.rows.first() else {
        return match &finding.resource_id {
            Some(id) => format!("No record of {} in the current inventory snapshot (no rows).", quoted(id, 256)),
            None => "The finding names no resource (no rows).".to_owned(),
        };
    };
    let id = id_text(str_of(r, "id"));
    let account = id_text(str_of(r, "account_id"));
    let region = id_text(str_of(r, "region"));
    let name = str_of(r, "name").map(|n| format!(" named {}", quoted(n, NAME_MAX))).unwrap_or_default();
    match str_of(r, "resource_kind") {
        Some("instance") => format!(
            "Instance {id}{name} in account {account}, {region}: state {}, environment {} (from the {}), role {}, \
             auto-scaling group {}, EKS cluster {}, {}, {}, public IP {}, image {}, IAM instance profile {}, IMDSv2 {}.",
            id_text(str_of(r, "state")),
            str_of(r, "environment").map_or_else(|| "untagged".to_owned(), |e| one_line(e, 64)),
            str_of(r, "environment_from").map_or("no tag", |s| if s == "vpc_tag" { "VPC's tag" } else { "instance's tag" }),
            str_of(r, "role").map_or_else(|| "none".to_owned(), |v| quoted(v, NAME_MAX)),
            str_of(r, "asg_name").map_or_else(|| "none".to_owned(), |v| quoted(v, NAME_MAX)),
            str_of(r, "eks_cluster").map_or_else(|| "none".to_owned(), |v| quoted(v, NAME_MAX)),
            id_text(str_of(r, "vpc_id")),
            id_text(str_of(r, "subnet_id")),
            str_of(r, "public_ip").unwrap_or("none"),
            id_text(str_of(r, "image_id")),
            if str_of(r, "iam_profile_arn").is_some() { "attached" } else { "none" },
            if str_of(r, "http_tokens") == Some("required") { "required" } else { "not required" },
        ),
        Some("s3_bucket") => format!(
            "S3 bucket {id} in account {account}, {region}: public {}, failed posture checks: {}.",
            yes_no(bool_of(r, "public")),
            r.get("failed_checks")
                .and_then(Value::as_array)
                .map(|a| a.iter().filter_map(Value::as_str).map(|s| one_line(s, 40)).collect::<Vec<_>>().join(", "))
                .filter(|s| !s.is_empty())
                .unwrap_or_else(|| "none".to_owned()),
        ),
        Some("rds_instance") => format!(
            "RDS instance {id} in account {account}, {region}: engine {} {}, publicly accessible {}, encrypted {}, \
             backups kept {} day(s), multi-AZ {}, deletion protection {}.",
            id_text(str_of(r, "engine")),
            id_text(str_of(r, "engine_version")),
            yes_no(bool_of(r, "publicly_accessible")),
            yes_no(bool_of(r, "storage_encrypted")),
            int_of(r, "backup_retention_period").unwrap_or(0),
            yes_no(bool_of(r, "multi_az")),
            yes_no(bool_of(r, "deletion_protection")),
        ),
        Some("security_group") => format!(
            "Security group {id}{name} in account {account}, {region}, {}: {} ingress rule(s) open to the internet.",
            id_text(str_of(r, "vpc_id")),
            r.get("internet_ingress").and_then(Value::as_array).map_or(0, Vec::len),
        ),
        Some(kind) => format!("{} {id}{name} in account {account}, {region}.", one_line(kind, 32).replace('_', " ")),
        None => format!("Resource {id} in account {account}, {region}."),
    }
}

fn observe(finding: &SecurityFinding, f: &Facts, item: &ContextItem) -> String {
    let n = item.total_rows;
    let text = match item.query.as_str() {
        query::RESOURCE => observe_resource(finding, item),
        query::RELATED_RESOURCES if n == 0 => "No related live resources (no rows).".to_owned(),
        query::RELATED_RESOURCES => {
            let count = |rel: &str| item.rows.iter().filter(|r| str_of(r, "relation") == Some(rel)).count();
            let unprotected = item.rows.iter().filter(|r| str_of(r, "edr_status") == Some("unprotected")).count();
            format!(
                "{n} related resource(s){}: {} in the same auto-scaling group, {} in the same EKS cluster, {} in the same VPC, \
                 {} using the security group; {unprotected} of those shown have no EDR sensor.",
                if n > item.rows.len() { format!(" ({} shown)", item.rows.len()) } else { String::new() },
                count("same_group"),
                count("same_cluster"),
                count("same_vpc"),
                count("uses_security_group"),
            )
        }
        query::EDR_STATUS => match item.rows.first() {
            None => "No EDR reconciliation row for the instance (no rows): it is not a live instance of the snapshot.".to_owned(),
            Some(r) if str_of(r, "status") == Some("matched") => format!(
                "EDR: matched to Falcon sensor {} by {}, agent {}, last seen {}.",
                id_text(str_of(r, "device_id")),
                id_text(str_of(r, "rule")),
                id_text(str_of(r, "agent_version")),
                id_text(str_of(r, "last_seen")),
            ),
            Some(r) => format!(
                "EDR: {} — {}.",
                id_text(str_of(r, "status")),
                str_of(r, "reason").map_or_else(|| "no reason recorded".to_owned(), |s| one_line(s, 300))
            ),
        },
        query::EXPOSURE if n == 0 => "Not reachable from the internet in the current snapshot (no rows).".to_owned(),
        query::EXPOSURE => {
            let mechanisms: BTreeSet<String> =
                item.rows.iter().filter_map(|r| str_of(r, "mechanism")).map(|s| one_line(s, 32)).collect();
            format!(
                "Reachable from the internet by {n} path(s) on {} via {}; sensitive ports: {}.",
                f.ports.iter().take(12).cloned().collect::<Vec<_>>().join(", "),
                mechanisms.into_iter().collect::<Vec<_>>().join(", "),
                if f.sensitive_ports.is_empty() {
                    "none".to_owned()
                } else {
                    f.sensitive_ports.iter().take(12).cloned().collect::<Vec<_>>().join(", ")
                },
            )
        }
        query::ATTACK_PATHS if n == 0 => "No network node for the resource in the current snapshot (no rows).".to_owned(),
        query::ATTACK_PATHS => format!(
            "Attack paths: from it, {} resource(s) reached, {} database(s), {} host(s) without EDR; {} start(s) reach it.",
            f.reached, f.reached_databases, f.reached_unprotected, f.paths_to_resource
        ),
        query::SIMILAR_FINDINGS => {
            let open: Vec<&Value> =
                item.rows.iter().filter(|r| str_of(r, "section") == Some("open_findings")).collect();
            let findings: u32 = open.iter().map(|r| count_of(r, "findings")).sum();
            let closed = item.rows.iter().filter(|r| str_of(r, "section") == Some("closed_ticket")).count();
            format!(
                "{findings} other open finding(s) of this kind in {} account(s); earlier triages of the kind: {} true positive, \
                 {} likely benign, {} needing a human; {closed} closed ticket(s) for this control{}.",
                open.len(),
                f.earlier_true_positive,
                f.earlier_benign,
                f.earlier_other,
                if n > item.rows.len() { format!(" ({} of {n} rows shown)", item.rows.len()) } else { String::new() },
            )
        }
        query::RESOURCE_FINDINGS if n == 0 => "No other open finding on the resource (no rows).".to_owned(),
        query::RESOURCE_FINDINGS => {
            let sources: BTreeSet<&str> = item.rows.iter().filter_map(|r| str_of(r, "source")).collect();
            let highest = item
                .rows
                .iter()
                .filter_map(|r| int_of(r, "severity_normalized"))
                .max()
                .map_or_else(|| "unknown".to_owned(), |s| format!("{s}/100"));
            format!(
                "{n} other open finding(s) on the resource, from {}; the highest severity is {highest}.",
                sources.into_iter().map(|s| one_line(s, 16)).collect::<Vec<_>>().join(", ")
            )
        }
        query::OPEN_TICKETS if n == 0 => "No open ticket for this finding or its resource (no rows).".to_owned(),
        query::OPEN_TICKETS => {
            let ids: Vec<String> =
                item.rows.iter().filter_map(|r| str_of(r, "ticket_id")).take(5).map(|s| one_line(s, 64)).collect();
            format!("{n} ticket(s) already cover the finding or its resource: {}.", ids.join(", "))
        }
        query::ACCOUNT => match item.rows.first() {
            None => "Nothing is known about the account (no rows).".to_owned(),
            Some(r) => format!(
                "Account {}: {}; {} live instance(s), the most common instance environment is {}.",
                id_text(str_of(r, "account_id")),
                if bool_of(r, "cached") == Some(true) {
                    format!(
                        "name {}, environment {}, team {}",
                        str_of(r, "name").map_or_else(|| "unknown".to_owned(), |v| quoted(v, NAME_MAX)),
                        str_of(r, "environment").map_or_else(|| "unknown".to_owned(), |v| one_line(v, 64)),
                        str_of(r, "team").map_or_else(|| "unknown".to_owned(), |v| quoted(v, NAME_MAX)),
                    )
                } else {
                    "not in the account cache".to_owned()
                },
                count_of(r, "live_instances"),
                str_of(r, "instance_environment").map_or_else(|| "none".to_owned(), |v| one_line(v, 64)),
            ),
        },
        _ if n == 0 => "The query returned no rows.".to_owned(),
        _ => format!("The query returned {n} row(s)."),
    };
    one_line(&text, TEXT_MAX)
}

fn evidence(finding: &SecurityFinding, f: &Facts, context: &Context) -> Vec<Evidence> {
    context
        .items
        .iter()
        .filter(|i| !i.query.is_empty() && i.query.chars().count() <= 64)
        .take(30)
        .map(|item| Evidence { observation: observe(finding, f, item), query: item.query.clone() })
        .collect()
}

fn affected(finding: &SecurityFinding, context: &Context) -> Vec<AffectedResource> {
    let mut out: Vec<AffectedResource> = Vec::new();
    let mut seen = BTreeSet::new();
    let mut push =
        |id: Option<&str>, kind: Option<&str>, relation: &str, account: Option<&str>, region: Option<&str>| {
            let Some(id) = id.map(str::trim).filter(|s| !s.is_empty() && s.chars().count() <= 2048) else { return };
            if out.len() >= 50 || !seen.insert(id.to_owned()) {
                return;
            }
            let kind = kind.map(|k| one_line(k, 256)).filter(|k| !k.is_empty()).unwrap_or_else(|| "Unknown".to_owned());
            out.push(AffectedResource {
                id: id.to_owned(),
                kind,
                relation: relation.to_owned(),
                account_id: account.map(str::to_owned),
                region: region.map(str::to_owned),
            });
        };
    let resource = rows(context, query::RESOURCE).first();
    push(
        finding.resource_id.as_deref(),
        finding.resource_type.as_deref().or_else(|| resource.and_then(|r| str_of(r, "resource_type"))),
        "subject",
        finding.account_id.as_deref(),
        finding.region.as_deref(),
    );
    for r in rows(context, query::RELATED_RESOURCES) {
        let relation = str_of(r, "relation").filter(|s| token(s, 64).is_some()).unwrap_or("related");
        push(str_of(r, "id"), str_of(r, "resource_type"), relation, str_of(r, "account_id"), str_of(r, "region"));
    }
    for r in rows(context, query::ATTACK_PATHS) {
        match str_of(r, "kind") {
            Some("from_resource") => push(
                str_of(r, "target_resource_id").or_else(|| str_of(r, "target_id")),
                str_of(r, "target_resource_type"),
                "reachable",
                str_of(r, "target_account_id"),
                str_of(r, "target_region"),
            ),
            Some("to_resource") => {
                let id = str_of(r, "start_resource_id").or_else(|| str_of(r, "start_id"));
                push(id, str_of(r, "start_resource_type"), "reaches", None, None)
            }
            _ => {}
        }
    }
    out
}

fn blast_radius(f: &Facts) -> BlastRadius {
    let exposure = if f.exposed {
        let ports = f.ports.iter().take(8).cloned().collect::<Vec<_>>().join(", ");
        if ports.is_empty() {
            format!("Exposed to the internet ({}).", f.exposure_basis.join("; "))
        } else {
            format!("Exposed to the internet on {ports}.")
        }
    } else {
        "Not exposed to the internet.".to_owned()
    };
    let reach = if f.reached > 0 || f.reached_databases > 0 || f.reached_unprotected > 0 {
        format!(
            " From it an attacker reaches {} resource(s), {} database(s) and {} host(s) without EDR.",
            f.reached, f.reached_databases, f.reached_unprotected
        )
    } else {
        " No attack path from it reaches other resources.".to_owned()
    };
    BlastRadius {
        summary: one_line(&format!("{exposure}{reach}"), TEXT_MAX),
        internet_exposed: f.exposed,
        reachable_resources: f.reached,
        reachable_databases: f.reached_databases,
        reachable_unprotected_hosts: f.reached_unprotected,
    }
}

/// Tag keys that name who owns a resource, in the order they are tried.
const OWNER_TAGS: [&str; 6] = ["Owner", "owner", "Team", "team", "OwnerTeam", "owner-team"];

fn owner(f: &Facts, context: &Context) -> Owner {
    let environment = f.environment.clone();
    let tags = rows(context, query::RESOURCE).first().and_then(|r| r.get("tags"));
    let tagged = OWNER_TAGS
        .iter()
        .find_map(|k| tags.and_then(|t| str_of(t, k)))
        .map(|t| one_line(t, 256))
        .filter(|t| !t.is_empty());
    if let Some(team) = tagged {
        return Owner { team: Some(team), environment, basis: "resource_tag".into() };
    }
    let account = rows(context, query::ACCOUNT).first();
    let team = account.and_then(|a| str_of(a, "team")).map(|t| one_line(t, 256)).filter(|t| !t.is_empty());
    if let Some(team) = team {
        let environment =
            environment.or_else(|| account.and_then(|a| str_of(a, "environment")).map(|e| one_line(e, 64)));
        return Owner { team: Some(team), environment, basis: "account".into() };
    }
    Owner { team: None, environment, basis: "unknown".into() }
}

// ---------------------------------------------------------------------------------------------
// Actions, per persona.
// ---------------------------------------------------------------------------------------------

fn act(list: &mut Vec<Action>, urgency: Urgency, action: String, why: String) {
    list.push(Action { order: 0, action: one_line(&action, TEXT_MAX), why: one_line(&why, TEXT_MAX), urgency });
}

fn urgency_for(verdict: Verdict) -> Urgency {
    match verdict {
        Verdict::TruePositive => Urgency::Now,
        Verdict::NeedsHuman => Urgency::ThisWeek,
        Verdict::LikelyBenign => Urgency::Backlog,
    }
}

fn ports_text(f: &Facts) -> String {
    if f.ports.is_empty() {
        "every port open to it".to_owned()
    } else {
        f.ports.iter().take(8).cloned().collect::<Vec<_>>().join(", ")
    }
}

fn threat_actions(
    finding: &SecurityFinding,
    f: &Facts,
    verdict: Verdict,
    resource: &str,
    context: &Context,
) -> Vec<Action> {
    let mut a = Vec::new();
    let kind = quoted(&finding.kind, 128);
    match verdict {
        Verdict::TruePositive => {
            if f.is_instance {
                act(&mut a, Urgency::Now,
                    format!("Isolate {resource}: attach a quarantine security group without ingress or egress and keep the instance running for forensics."),
                    format!("{kind} is judged a true positive; isolation stops it spreading while keeping memory and disks for the investigation."));
                act(&mut a, Urgency::Now,
                    format!("Capture evidence from {resource}: snapshot its EBS volumes and export the GuardDuty and Falcon timelines before changing anything."),
                    "Containment and clean-up destroy the traces the investigation needs.".into());
            } else {
                act(
                    &mut a,
                    Urgency::Now,
                    format!("Contain {resource}: disable or revoke the credentials and sessions it involves."),
                    format!("{kind} is judged a true positive."),
                );
            }
            let profile = rows(context, query::RESOURCE).first().and_then(|r| str_of(r, "iam_profile_arn"));
            if let Some(profile) = profile.and_then(|p| token(p, 512)) {
                act(&mut a, Urgency::Now,
                    format!("Revoke active sessions of instance profile {profile} and rotate every secret the host could read."),
                    "Credentials taken from the instance metadata outlive the isolation of the host.".into());
            }
            if f.edr == Some(Edr::Unprotected) {
                act(&mut a, Urgency::Now,
                    format!("Install the Falcon sensor on {resource}, or rebuild it from a clean image if it cannot be trusted."),
                    "Without EDR there is no telemetry to tell what the threat did.".into());
            }
            if f.exposed {
                act(
                    &mut a,
                    Urgency::Now,
                    format!("Close the internet exposure of {resource} ({}).", ports_text(f)),
                    "An exposed host under attack stays reachable by the attacker.".into(),
                );
            }
            if f.related_total > 0 {
                act(
                    &mut a,
                    Urgency::ThisWeek,
                    format!(
                        "Hunt for the same activity on the {} related host(s) (same group, cluster or VPC).",
                        f.related_total
                    ),
                    "Hosts built and placed alike are attacked alike.".into(),
                );
            }
            act(
                &mut a,
                Urgency::ThisWeek,
                "Archive the finding only after containment and a clean re-scan.".into(),
                "Archiving first would hide a recurrence.".into(),
            );
        }
        Verdict::NeedsHuman => {
            let urgency = if f.stage == Some(Stage::Production) { Urgency::Now } else { Urgency::ThisWeek };
            act(
                &mut a,
                urgency,
                format!("Review the {kind} activity on {resource} with its owner and confirm whether it was expected."),
                "The facts at hand neither confirm nor dismiss the threat.".into(),
            );
            if f.edr == Some(Edr::Unprotected) {
                act(
                    &mut a,
                    Urgency::ThisWeek,
                    format!("Install the Falcon sensor on {resource}."),
                    "Without EDR the activity cannot be confirmed or ruled out.".into(),
                );
            }
            if f.exposed {
                act(
                    &mut a,
                    Urgency::ThisWeek,
                    format!("Restrict the internet exposure of {resource} ({}) unless it is required.", ports_text(f)),
                    "Exposure makes any threat on the host worse.".into(),
                );
            }
        }
        Verdict::LikelyBenign => {
            act(&mut a, Urgency::Backlog,
                format!("Confirm the {kind} activity is expected on {resource}, archive the finding, and add a suppression rule if it recurs."),
                "Low-severity reconnaissance against a host the internet does not reach is usually background noise.".into());
        }
    }
    a
}

fn vulnerability_actions(
    finding: &SecurityFinding,
    f: &Facts,
    verdict: Verdict,
    resource: &str,
    context: &Context,
) -> Vec<Action> {
    let mut a = Vec::new();
    let urgency = urgency_for(verdict);
    let cve = token(&finding.kind, 64).map_or_else(|| quoted(&finding.kind, 128), str::to_owned);
    let package = f.package.as_deref().unwrap_or("the vulnerable package");
    let is_image = rows(context, query::RESOURCE).first().and_then(|r| str_of(r, "resource_kind"))
        == Some("ecr_repository")
        || finding.resource_type.as_deref() == Some("AWS_ECR_CONTAINER_IMAGE");
    let fix = match (&f.fixed_version, f.fix_available) {
        (Some(v), _) => format!("{package} to {v} or later"),
        (None, Some(false)) => String::new(),
        (None, _) => format!("{package} to the version that fixes {cve}"),
    };
    if fix.is_empty() {
        act(&mut a, urgency,
            format!("No fix is available for {cve} yet: apply compensating controls on {resource} (restrict access, disable the affected feature) and watch for the vendor fix."),
            "Inspector reports no fixed version.".into());
    } else if is_image {
        act(
            &mut a,
            urgency,
            format!("Rebuild the image of {resource} with {fix}, push it, and redeploy what runs it."),
            format!("{cve} is in the image; running containers keep it until they are replaced."),
        );
    } else {
        act(
            &mut a,
            urgency,
            format!("Upgrade {fix} on {resource} (patch the instance or roll out a patched image)."),
            format!("The fix removes {cve}."),
        );
    }
    if f.exposed && verdict != Verdict::LikelyBenign {
        act(
            &mut a,
            urgency,
            format!("Until it is patched, restrict internet access to {resource} ({}).", ports_text(f)),
            if f.exploit_available == Some(true) {
                "A public exploit exists and the internet reaches the resource.".into()
            } else {
                "The internet reaches the vulnerable resource.".into()
            },
        );
    }
    if f.related_same_group > 0 && !fix.is_empty() {
        act(
            &mut a,
            urgency,
            format!(
                "Patch the {} instance(s) of the same auto-scaling group or cluster as well.",
                f.related_same_group
            ),
            "They run from the same image and carry the same package.".into(),
        );
    }
    if f.edr == Some(Edr::Unprotected) {
        act(
            &mut a,
            Urgency::ThisWeek,
            format!("Install the Falcon sensor on {resource}."),
            "An exploited host without EDR goes unnoticed.".into(),
        );
    }
    if verdict == Verdict::LikelyBenign {
        act(
            &mut a,
            Urgency::Backlog,
            "Fold the upgrade into the next regular maintenance window.".into(),
            "Low severity and not reachable from the internet.".into(),
        );
    }
    a
}

/// The configuration change a control asks for, for the controls the estate commonly fails.
fn control_change(kind: &str, resource: &str, f: &Facts) -> String {
    let control = kind.trim();
    match control {
        "S3.1" | "S3.2" | "S3.3" | "S3.8" => format!(
            "Turn on S3 Block Public Access (all four settings) for {resource} and remove public grants from its policy and ACL."
        ),
        "S3.4" => format!("Turn on default encryption (SSE-KMS or SSE-S3) for {resource}."),
        "S3.5" => format!("Add a bucket policy to {resource} that denies requests without TLS (aws:SecureTransport)."),
        "S3.9" => format!("Turn on server access logging for {resource}."),
        "EC2.2" | "EC2.18" | "EC2.19" => format!(
            "Remove the 0.0.0.0/0 and ::/0 ingress rules of {resource} ({}) and allow only known sources.",
            ports_text(f)
        ),
        "EC2.8" => format!("Require IMDSv2 on {resource} (metadata option HttpTokens=required)."),
        "RDS.1" => format!("Make {resource} private: remove the `all` restore permission."),
        "RDS.2" => format!("Turn off public accessibility of {resource}."),
        "RDS.3" => format!("Encrypt {resource}: restore an encrypted copy from a snapshot and switch over."),
        "RDS.11" => format!("Turn on automated backups of {resource}, kept 7 days or more."),
        "ELB.1" => format!("Redirect HTTP to HTTPS on every listener of {resource}."),
        "internet-exposure" => format!(
            "Remove the internet reachability of {resource} on {}: narrow the security-group ingress or put it behind a load balancer.",
            ports_text(f)
        ),
        _ => format!(
            "Apply the configuration change control {} requires on {resource} (see the control's remediation guidance).",
            token(control, 64).map_or_else(|| quoted(control, 128), str::to_owned)
        ),
    }
}

fn configuration_actions(finding: &SecurityFinding, f: &Facts, verdict: Verdict, resource: &str) -> Vec<Action> {
    let mut a = Vec::new();
    let urgency = urgency_for(verdict);
    let change = control_change(&finding.kind, resource, f);
    match verdict {
        Verdict::TruePositive => {
            act(
                &mut a,
                urgency,
                change,
                if f.sensitive_exposure {
                    "Sensitive ports are reachable from the internet.".into()
                } else {
                    "A HIGH or CRITICAL control fails in production.".into()
                },
            );
            act(
                &mut a,
                Urgency::ThisWeek,
                "Confirm the owner and track the change in this ticket until the control passes again.".into(),
                "A configuration fix needs the owning team's change process.".into(),
            );
        }
        Verdict::NeedsHuman => {
            act(&mut a, urgency, change, "The control fails; whether it matters here needs the owner's answer.".into());
            act(
                &mut a,
                Urgency::ThisWeek,
                "If the configuration is intended, record an exception with an expiry date instead.".into(),
                "An exception keeps the decision visible without re-raising the finding.".into(),
            );
        }
        Verdict::LikelyBenign => {
            act(&mut a, urgency, change, "A low-severity control failure in a development environment.".into());
            act(
                &mut a,
                Urgency::Backlog,
                "Or record an exception if the setting is intended for this development resource.".into(),
                "Development resources may deliberately differ from the baseline.".into(),
            );
        }
    }
    a
}

fn actions(finding: &SecurityFinding, persona: Persona, f: &Facts, verdict: Verdict, context: &Context) -> Vec<Action> {
    let resource =
        finding.resource_id.as_deref().map_or_else(|| "the affected resource".to_owned(), |r| quoted(r, 256));
    let mut list = match persona {
        Persona::SecurityFindingAnalyst => threat_actions(finding, f, verdict, &resource, context),
        Persona::DevsecopsEngineer => vulnerability_actions(finding, f, verdict, &resource, context),
        Persona::SecurityController => configuration_actions(finding, f, verdict, &resource),
    };
    // Most urgent first; the sort is stable, so the order within one urgency stays as written.
    list.sort_by_key(|a| match a.urgency {
        Urgency::Now => 0,
        Urgency::ThisWeek => 1,
        Urgency::Backlog => 2,
    });
    list.truncate(10);
    for (i, a) in list.iter_mut().enumerate() {
        a.order = i as u32 + 1;
    }
    list
}

// ---------------------------------------------------------------------------------------------
// The assessment.
// ---------------------------------------------------------------------------------------------

fn class_noun(class: FindingClass) -> &'static str {
    match class {
        FindingClass::Threat => "Threat",
        FindingClass::Vulnerability => "Vulnerability",
        FindingClass::Configuration => "Configuration finding",
    }
}

/// Assess one finding by the rules of the module documentation. The context should hold at
/// least the `resource` query ([`crate::context::gather`] always runs it): evidence can only
/// cite queries that ran, and a report needs at least one piece of evidence.
pub fn assess(finding: &SecurityFinding, persona: Persona, context: &Context) -> Assessment {
    let class = finding.source.class();
    let f = facts(finding, context);
    let (verdict, rule) = verdict_rule(class, &f);
    let risk = risk(class, &f, finding.severity_normalized);
    let resource = finding.resource_id.as_deref().map_or_else(|| "no named resource".to_owned(), |r| one_line(r, 256));
    let account = finding.account_id.as_deref().map_or_else(|| "unknown".to_owned(), |a| one_line(a, 32));
    let summary = format!(
        "{}, risk {}/5: {} {} ({}, {}) on {resource} in account {account}, environment {}. Rule: {rule}. \
         Reported title (untrusted, quoted): {}.",
        verdict.label(),
        risk.score,
        class_noun(class),
        quoted(&finding.kind, 128),
        finding.source.as_str(),
        f.severity.unwrap_or(Severity::Informational).label(),
        f.environment.as_deref().unwrap_or("unknown"),
        quoted(&finding.title, TITLE_MAX),
    );
    Assessment {
        verdict,
        summary: one_line(&summary, 4000),
        affected_resources: affected(finding, context),
        blast_radius: blast_radius(&f),
        evidence: evidence(finding, &f, context),
        recommended_actions: actions(finding, persona, &f, verdict, context),
        owner: owner(&f, context),
        risk,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stages_follow_the_sql_patterns() {
        assert_eq!(stage_of(Some("PROD")), Stage::Production);
        assert_eq!(stage_of(Some("production-eu")), Stage::Production);
        assert_eq!(stage_of(Some("products")), Stage::Unknown);
        assert_eq!(stage_of(Some("STAGING")), Stage::Staging);
        assert_eq!(stage_of(Some("dev")), Stage::Development);
        assert_eq!(stage_of(Some("developer")), Stage::Unknown);
        assert_eq!(stage_of(None), Stage::Unknown);
    }

    #[test]
    fn sensitive_ports_match_the_sql_function() {
        assert!(sensitive_range(Some(22), Some(22)));
        assert!(sensitive_range(Some(0), Some(65535)));
        assert!(sensitive_range(None, None));
        assert!(!sensitive_range(Some(443), Some(443)));
        assert!(!sensitive_range(Some(80), Some(81)));
        assert_eq!(port_label(Some("tcp"), Some(22), Some(22)), "tcp/22");
        assert_eq!(port_label(Some("-1"), None, None), "all/all");
        assert_eq!(port_label(Some("tcp"), Some(1000), Some(2000)), "tcp/1000-2000");
    }
}
