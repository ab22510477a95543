//! Least privilege: the session policy each remediation runs under, and the member role's
//! permissions (the union of every declaration, so the two cannot drift).

use serde_json::{json, Value};
use std::collections::BTreeSet;

use crate::spec::Spec;

/// AWS's limit on a packed session policy (plain text, 2,048 characters).
pub const MAX_SESSION_POLICY_CHARS: usize = 2048;

/// Which of a remediation's actions a session may use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Plan only: the reading actions.
    ReadOnly,
    /// Plan, apply and verify: every declared action.
    Declared,
}

/// The actions a session of `spec` gets, sorted and unique.
pub fn session_actions(spec: &Spec, access: Access) -> Vec<&'static str> {
    let set: BTreeSet<&'static str> = match access {
        Access::ReadOnly => spec.read_actions().collect(),
        Access::Declared => spec.actions.iter().copied().collect(),
    };
    set.into_iter().collect()
}

/// The inline session policy passed to AssumeRole: the effective permissions are the member
/// role's intersected with this, i.e. only what this remediation declares.
pub fn session_policy(spec: &Spec, access: Access) -> String {
    let policy = json!({
        "Version": "2012-10-17",
        "Statement": [{
            "Sid": sid(spec.control),
            "Effect": "Allow",
            "Action": session_actions(spec, access),
            "Resource": "*"
        }]
    });
    policy.to_string()
}

/// Every action of the catalogue, sorted and unique: the member role's permission set.
pub fn member_role_actions<'a>(specs: impl IntoIterator<Item = &'a Spec>) -> Vec<&'static str> {
    let set: BTreeSet<&'static str> = specs.into_iter().flat_map(|s| s.actions.iter().copied()).collect();
    set.into_iter().collect()
}

/// The actions named by a policy document's Allow statements (for tests and the CLI).
pub fn allowed_actions(policy: &Value) -> BTreeSet<String> {
    let allowing = crate::policy_doc::statements(policy).into_iter().filter(|st| crate::policy_doc::allows(st));
    allowing.flat_map(|st| crate::policy_doc::strings(st.get("Action"))).map(str::to_owned).collect()
}

/// `S3.2` → `RemediateS32` (statement ids are alphanumeric).
fn sid(control: &str) -> String {
    let clean: String = control.chars().filter(char::is_ascii_alphanumeric).collect();
    format!("Remediate{clean}")
}
