//! TEMPORARY placeholder with the agreed API; replaced by the real module from the helper.

#[derive(Debug, Clone, Copy)]
pub enum Destination {
    Jira,
    Slack,
    Audit,
}

#[derive(Debug, Clone)]
pub struct Policy;

impl Policy {
    pub fn default_for(_d: Destination) -> Policy {
        Policy
    }
    pub fn load(_d: Destination, _p: Option<&std::path::Path>) -> Result<Policy, std::io::Error> {
        Ok(Policy)
    }
}

#[derive(Debug, Clone, Copy)]
pub struct CorrelationKey(pub [u8; 32]);

#[derive(Debug, Clone)]
pub struct Redactor;

impl Redactor {
    pub fn new(_p: Policy, _k: CorrelationKey) -> Self {
        Redactor
    }
    pub fn redact_json(&self, value: &serde_json::Value) -> serde_json::Value {
        value.clone()
    }
}
