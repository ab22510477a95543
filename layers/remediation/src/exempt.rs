//! Exemptions: by configuration (accounts, OUs) and by resource tags (`secops:exempt`, plus each
//! control's own tags for resources that are that way on purpose).

use secops_core::RemediationConfig;
use std::collections::BTreeMap;

use crate::spec::Spec;
use crate::target::Target;

/// The tag that exempts a resource: `all`, or a list of control ids (comma, space or `|`
/// separated), e.g. `secops:exempt = S3.2,S3.8`.
pub const EXEMPT_TAG: &str = "secops:exempt";

/// Why the configuration exempts this target, if it does.
pub fn by_configuration(settings: &RemediationConfig, target: &Target) -> Option<String> {
    if let Some(e) = settings.exempt_accounts.iter().find(|e| e.covers(&target.account, &target.control)) {
        return Some(format!(
            "account {} is exempt from {} by configuration (SECOPS_REMEDIATION_EXEMPT_ACCOUNTS: {}{})",
            target.account,
            if e.control.is_some() { target.control.as_str() } else { "every auto-remediation" },
            e.scope,
            e.control.as_deref().map(|c| format!(":{c}")).unwrap_or_default()
        ));
    }
    let ou = target.organizational_unit.as_deref()?;
    settings.exempt_ous.iter().find(|e| e.covers(ou, &target.control)).map(|e| {
        format!(
            "organizational unit {ou} of account {} is exempt by configuration (SECOPS_REMEDIATION_EXEMPT_OUS: {}{})",
            target.account,
            e.scope,
            e.control.as_deref().map(|c| format!(":{c}")).unwrap_or_default()
        )
    })
}

/// Why the tags exempt this resource from `spec`'s control, if they do. Tag keys compare
/// case-insensitively; a control-specific tag set to `false` does not exempt.
pub fn by_tags(spec: &Spec, tags: &BTreeMap<String, String>) -> Option<String> {
    for (key, value) in tags {
        if key.eq_ignore_ascii_case(EXEMPT_TAG) {
            let listed = value
                .split([',', ' ', '|', ';'])
                .map(str::trim)
                .any(|v| v.eq_ignore_ascii_case("all") || v.eq_ignore_ascii_case(spec.control));
            if listed {
                return Some(format!("the resource is tagged {key}={value}, which exempts it from {}", spec.control));
            }
        }
        if let Some(own) = spec.exemption_tags.iter().find(|t| t.eq_ignore_ascii_case(key)) {
            if !value.trim().eq_ignore_ascii_case("false") {
                return Some(format!(
                    "the resource is tagged {own}={value}: it is this way on purpose, so {} is not remediated",
                    spec.control
                ));
            }
        }
    }
    None
}
