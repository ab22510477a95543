//! The contract of one remediation: what it declares (control, permissions, disruption, how it
//! verifies) and the four things it does (find its resource, plan, execute one planned change,
//! verify).

use async_trait::async_trait;
use secops_aws::AwsError;
use serde::Serialize;
use std::collections::BTreeMap;

use crate::context::Ctx;
use crate::plan::Change;

/// How a remediation is tested against a real component (the README's catalogue table says it).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum TestedWith {
    /// `moto_server` creates the resource and the test reads its state back.
    Moto,
    /// A `wiremock` server checks the exact requests (moto cannot express the control).
    Wiremock,
}

impl TestedWith {
    pub fn as_str(self) -> &'static str {
        match self {
            TestedWith::Moto => "moto",
            TestedWith::Wiremock => "wiremock",
        }
    }
}

/// What one remediation declares about itself. Static data: the catalogue listing, the member
/// role's policy and every session policy are derived from it.
#[derive(Debug, Clone, Serialize)]
pub struct Spec {
    /// The Security Hub control id, e.g. `S3.2`.
    pub control: &'static str,
    /// The control's requirement, in Security Hub's words.
    pub title: &'static str,
    /// What the remediation changes, in one sentence.
    pub change: &'static str,
    /// The ASFF resource types it accepts (`AwsS3Bucket`, `AwsAccount`, ...).
    pub resource_types: &'static [&'static str],
    /// Every IAM action it may call, reads and writes (`s3:GetBucketTagging`, `iam:PassRole`, ...).
    /// The session policy grants exactly these; a plan naming any other action is refused.
    pub actions: &'static [&'static str],
    /// Whether applying it can interrupt a workload (then PROD-like environments need approval).
    pub disruptive: bool,
    /// How `verify` confirms the control now holds.
    pub verification: &'static str,
    /// Control-specific tags that exempt a resource on purpose (besides `secops:exempt`).
    pub exemption_tags: &'static [&'static str],
    pub tested_with: TestedWith,
}

impl Spec {
    /// The actions that only read (the dry-run session policy grants only these).
    pub fn read_actions(&self) -> impl Iterator<Item = &'static str> + '_ {
        self.actions.iter().copied().filter(|a| is_read_action(a))
    }
}

/// Whether an IAM action only reads, judged by its verb.
pub fn is_read_action(action: &str) -> bool {
    let verb = action.split_once(':').map_or(action, |(_, v)| v);
    ["Get", "Describe", "List", "Head"].iter().any(|p| verb.starts_with(p))
}

/// What `plan` found.
#[derive(Debug, Clone, PartialEq)]
pub enum Assessment {
    /// The control already holds; the text says what was read.
    Compliant(String),
    /// These calls, in this order, make it hold.
    Changes(Vec<Change>),
    /// The resource no longer exists.
    Gone(String),
    /// Exempt by design (found while reading, e.g. a bucket that serves a public website).
    Exempt(String),
    /// It cannot be fixed safely; a person must decide (the text says why).
    Ticket(String),
    /// Too early to act (e.g. a resource younger than the grace period).
    ReconsiderLater(String),
}

/// What `verify` found after the changes.
#[derive(Debug, Clone, PartialEq)]
pub enum Check {
    Holds(String),
    Fails(String),
}

/// One control's auto-remediation. Implementations keep to one file in `controls/`.
#[async_trait]
pub trait Remediation: Send + Sync + 'static {
    fn spec(&self) -> &'static Spec;

    /// The short name of the resource from the finding's resource (bucket name, group id,
    /// instance identifier, ...). The default takes the last `/`- or `:`-separated part of an
    /// ARN, or the id itself. Errors say what was wrong with the id.
    fn name_of(&self, resource_id: &str, _details: Option<&serde_json::Value>) -> Result<String, String> {
        crate::target::arn_tail(resource_id)
    }

    /// The resource's live tags, for exemptions (`None`: only the finding's tags are used).
    async fn live_tags(&self, _ctx: &Ctx) -> Result<Option<BTreeMap<String, String>>, AwsError> {
        Ok(None)
    }

    /// Read the current state and say what would change, as data.
    async fn plan(&self, ctx: &Ctx) -> Result<Assessment, AwsError>;

    /// Perform one planned change (only ever called with a change `plan` returned).
    async fn execute(&self, ctx: &Ctx, change: &Change) -> Result<(), AwsError>;

    /// Re-read the resource and say whether the control now holds.
    async fn verify(&self, ctx: &Ctx) -> Result<Check, AwsError>;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn read_actions_by_verb() {
        assert!(is_read_action("s3:GetBucketPolicy"));
        assert!(is_read_action("ec2:DescribeInstances"));
        assert!(is_read_action("iam:ListAccessKeys"));
        assert!(!is_read_action("s3:PutBucketPolicy"));
        assert!(!is_read_action("iam:PassRole"));
        assert!(!is_read_action("ec2:RevokeSecurityGroupIngress"));
    }
}
