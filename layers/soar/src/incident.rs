//! Incident classification: which family a threat or alarm finding belongs to, the finding type
//! that suppression rules match, the severity the response is chosen by, and the resource to act on.
//!
//! GuardDuty writes its finding type into `Types` as `<namespace>/<category>/<ThreatPurpose>:<Resource>-<Name>`
//! (`TTPs/Initial Access/UnauthorizedAccess:EC2-SSHBruteForce`); we restore GuardDuty's own
//! spelling (`UnauthorizedAccess:EC2/SSHBruteForce`) and take the family from the resource part
//! (malware-protection types, `…MaliciousFile…`, are their own family). CloudWatch alarms that were
//! converted to findings carry their severity and domain in the alarm name
//! (`INFRA-Payments-5xx-HIGH`) and are operational incidents.

use secops_core::asff::{AwsSecurityFinding, Product, SeverityLabel};
use serde::Serialize;

use crate::policy::IncidentFamily;

/// The `Types` entry the alarm-to-finding converter writes.
pub const CLOUDWATCH_ALARM_TYPE: &str = "Software and Configuration Checks/CloudWatch Alarms";

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Classification {
    pub family: IncidentFamily,
    /// What suppression rules for incidents match (`UnauthorizedAccess:EC2/SSHBruteForce`,
    /// the first `Types` entry otherwise).
    pub finding_type: String,
    pub severity: SeverityLabel,
    /// For operational alarms: `INFRA` or `APP`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub domain: Option<String>,
    /// The EC2 instance the finding is about, when there is one (what isolation acts on).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub instance_id: Option<String>,
}

/// The GuardDuty finding type from an ASFF `Types` entry, in GuardDuty's own spelling.
pub fn guardduty_type(asff_type: &str) -> Option<String> {
    let last = asff_type.rsplit('/').next()?;
    let (purpose, rest) = last.split_once(':')?;
    if purpose.is_empty() || rest.is_empty() {
        return None;
    }
    // The first '-' after the resource part stands for GuardDuty's '/'.
    Some(match rest.split_once('-') {
        Some((resource, name)) => format!("{purpose}:{resource}/{name}"),
        None => format!("{purpose}:{rest}"),
    })
}

fn guardduty_family(gd_type: &str) -> IncidentFamily {
    let resource = gd_type.split_once(':').map(|(_, r)| r.split('/').next().unwrap_or(r)).unwrap_or("");
    if gd_type.contains("MaliciousFile") || resource.eq_ignore_ascii_case("Malware") {
        return IncidentFamily::Malware;
    }
    match resource.to_ascii_lowercase().as_str() {
        "ec2" => IncidentFamily::Ec2,
        "iamuser" | "iamrole" | "iam" => IncidentFamily::Iam,
        "s3" => IncidentFamily::S3,
        "kubernetes" | "eks" => IncidentFamily::Kubernetes,
        "runtime" | "ecs" => IncidentFamily::Runtime,
        "rds" => IncidentFamily::Rds,
        "lambda" => IncidentFamily::Lambda,
        _ => IncidentFamily::Threat,
    }
}

fn is_cloudwatch_alarm(finding: &AwsSecurityFinding) -> bool {
    finding.types.iter().any(|t| t.starts_with(CLOUDWATCH_ALARM_TYPE))
}

/// The alarm's name: `ProductFields.AlarmName`, else the name in an alarm ARN among the resources.
pub fn alarm_name(finding: &AwsSecurityFinding) -> Option<String> {
    if let Some(name) = finding.product_field("AlarmName") {
        return Some(name.to_owned());
    }
    finding.resources.iter().find_map(|r| r.id.split_once(":alarm:").map(|(_, name)| name.to_owned()))
}

/// Severity and domain from an alarm name: a `-CRITICAL|-HIGH|-MEDIUM|-LOW|-INFORMATIONAL` suffix and an
/// `INFRA-`/`APP-` prefix (case-insensitive).
pub fn alarm_name_parts(name: &str) -> (Option<SeverityLabel>, Option<String>) {
    let upper = name.to_ascii_uppercase();
    let severity = SeverityLabel::ALL.iter().copied().find(|s| upper.ends_with(&format!("-{}", s.as_str())));
    let domain = ["INFRA", "APP"].into_iter().find(|d| upper.starts_with(&format!("{d}-"))).map(str::to_owned);
    (severity, domain)
}

fn instance_id(finding: &AwsSecurityFinding) -> Option<String> {
    finding.resources.iter().find_map(|r| {
        if r.resource_type.to_string() != "AwsEc2Instance" {
            return None;
        }
        // Resource ids are ARNs (`arn:aws:ec2:…:instance/i-…`) or the bare id.
        let id = r.id.rsplit('/').next().unwrap_or(&r.id);
        id.starts_with("i-").then(|| id.to_owned())
    })
}

/// Classify a finding that decide routed to the incident branch.
pub fn classify(finding: &AwsSecurityFinding) -> Classification {
    let label = finding.severity_label().unwrap_or(SeverityLabel::Informational);
    let instance_id = instance_id(finding);
    if is_cloudwatch_alarm(finding) {
        let name = alarm_name(finding);
        let (from_name, from_prefix) = name.as_deref().map(alarm_name_parts).unwrap_or((None, None));
        let domain = finding.product_field("IncidentDomain").map(str::to_ascii_uppercase).or(from_prefix);
        return Classification {
            family: IncidentFamily::Operational,
            finding_type: name.unwrap_or_else(|| CLOUDWATCH_ALARM_TYPE.to_owned()),
            severity: from_name.unwrap_or(label),
            domain: Some(domain.unwrap_or_else(|| "INFRA".to_owned())),
            instance_id,
        };
    }
    let first_type = finding.types.first().cloned().unwrap_or_else(|| finding.generator_id.clone());
    let (family, finding_type) = match finding.product() {
        Product::GuardDuty => match finding.types.iter().find_map(|t| guardduty_type(t)) {
            Some(t) => (guardduty_family(&t), t),
            None => (IncidentFamily::Threat, first_type),
        },
        Product::Health => (IncidentFamily::Operational, first_type),
        _ => (IncidentFamily::Threat, first_type),
    };
    Classification { family, finding_type, severity: label, domain: None, instance_id }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn guardduty_types_are_restored_to_guardduty_spelling() {
        let cases = [
            (
                "TTPs/Initial Access/UnauthorizedAccess:EC2-SSHBruteForce",
                "UnauthorizedAccess:EC2/SSHBruteForce",
                IncidentFamily::Ec2,
            ),
            (
                "TTPs/Command and Control/Backdoor:EC2-C&CActivity.B!DNS",
                "Backdoor:EC2/C&CActivity.B!DNS",
                IncidentFamily::Ec2,
            ),
            ("TTPs/Discovery/Recon:IAMUser-MaliciousIPCaller", "Recon:IAMUser/MaliciousIPCaller", IncidentFamily::Iam),
            (
                "Effects/Data Exfiltration/Exfiltration:S3-AnomalousBehavior",
                "Exfiltration:S3/AnomalousBehavior",
                IncidentFamily::S3,
            ),
            (
                "TTPs/Credential Access/CredentialAccess:Kubernetes-MaliciousIPCaller",
                "CredentialAccess:Kubernetes/MaliciousIPCaller",
                IncidentFamily::Kubernetes,
            ),
            (
                "TTPs/Execution/Execution:Runtime-NewBinaryExecuted",
                "Execution:Runtime/NewBinaryExecuted",
                IncidentFamily::Runtime,
            ),
            ("TTPs/Execution/Execution:EC2-MaliciousFile", "Execution:EC2/MaliciousFile", IncidentFamily::Malware),
            ("Effects/Data Exposure/Object:S3-MaliciousFile", "Object:S3/MaliciousFile", IncidentFamily::Malware),
            (
                "TTPs/Credential Access/CredentialAccess:RDS-AnomalousBehavior.SuccessfulLogin",
                "CredentialAccess:RDS/AnomalousBehavior.SuccessfulLogin",
                IncidentFamily::Rds,
            ),
            (
                "TTPs/Command and Control/Backdoor:Lambda-C&CActivity.B",
                "Backdoor:Lambda/C&CActivity.B",
                IncidentFamily::Lambda,
            ),
            (
                "Software and Configuration Checks/Policy:IAMUser-RootCredentialUsage",
                "Policy:IAMUser/RootCredentialUsage",
                IncidentFamily::Iam,
            ),
        ];
        for (asff, want, family) in cases {
            let got = guardduty_type(asff).unwrap();
            assert_eq!(got, want);
            assert_eq!(guardduty_family(&got), family, "{asff}");
        }
        assert_eq!(guardduty_type("Software and Configuration Checks"), None);
    }

    #[test]
    fn alarm_names_give_severity_and_domain() {
        assert_eq!(alarm_name_parts("INFRA-Payments-5xx-HIGH"), (Some(SeverityLabel::High), Some("INFRA".into())));
        assert_eq!(
            alarm_name_parts("app-checkout-latency-critical"),
            (Some(SeverityLabel::Critical), Some("APP".into()))
        );
        assert_eq!(alarm_name_parts("disk-full"), (None, None));
        assert_eq!(alarm_name_parts("INFRA-x-INFORMATIONAL").0, Some(SeverityLabel::Informational));
    }
}
