//! Reading IAM-style policy documents (bucket, key, topic, function and trust policies): one
//! reading of `Statement`, of fields that are a string or a list, of conditions, and of the
//! URL-encoded documents IAM returns.

use secops_aws::AwsError;
use secops_core::ErrorClass;
use serde_json::Value;

/// A policy's statements (`Statement` may be one object or a list).
pub(crate) fn statements(policy: &Value) -> Vec<&Value> {
    match policy.get("Statement") {
        Some(Value::Array(list)) => list.iter().collect(),
        Some(one @ Value::Object(_)) => vec![one],
        _ => Vec::new(),
    }
}

/// A policy field that may be one string or a list of strings.
pub(crate) fn strings(value: Option<&Value>) -> Vec<&str> {
    match value {
        Some(Value::String(s)) => vec![s.as_str()],
        Some(Value::Array(list)) => list.iter().filter_map(Value::as_str).collect(),
        _ => Vec::new(),
    }
}

pub(crate) fn allows(statement: &Value) -> bool {
    statement.get("Effect").and_then(Value::as_str) == Some("Allow")
}

/// Every condition of a statement as (key in lower case, values), whatever the operator.
pub(crate) fn conditions(statement: &Value) -> Vec<(String, Vec<&str>)> {
    let Some(Value::Object(operators)) = statement.get("Condition") else { return Vec::new() };
    operators
        .values()
        .filter_map(Value::as_object)
        .flat_map(|keys| keys.iter().map(|(k, v)| (k.to_ascii_lowercase(), strings(Some(v)))))
        .collect()
}

/// Whether a statement's actions include `action` (IAM compares actions case-insensitively;
/// `service:*` and `*` match every action of the service).
pub(crate) fn grants(statement: &Value, action: &str) -> bool {
    let service = action.split_once(':').map_or(action, |(s, _)| s);
    strings(statement.get("Action"))
        .iter()
        .any(|a| a.eq_ignore_ascii_case(action) || *a == "*" || a.eq_ignore_ascii_case(&format!("{service}:*")))
}

/// A parsed JSON policy document, or a Permanent error naming the action that returned it.
pub(crate) fn parse_policy(action: &'static str, text: &str) -> Result<Value, AwsError> {
    serde_json::from_str(text)
        .map_err(|e| AwsError::new(action, ErrorClass::Permanent, format!("the policy it returned is not JSON: {e}")))
}

/// An IAM policy document as IAM returns it (URL-encoded JSON), parsed; `None` when it is not JSON.
pub(crate) fn iam_document(encoded: &str) -> Option<Value> {
    serde_json::from_str(encoded).ok().or_else(|| {
        let decoded = percent_encoding::percent_decode_str(encoded).decode_utf8().ok()?;
        serde_json::from_str(&decoded).ok()
    })
}

/// Whether a trust policy lets `service` assume the role.
pub(crate) fn trusts_service(trust: &Value, service: &str) -> bool {
    statements(trust).iter().any(|st| {
        allows(st)
            && strings(st.get("Action")).contains(&"sts:AssumeRole")
            && st.get("Principal").and_then(|p| p.get("Service")).is_some_and(|s| strings(Some(s)).contains(&service))
    })
}

/// Whether the role document `encoded` (as GetRole returns it) trusts `service`.
pub(crate) fn role_trusts(encoded: Option<&str>, service: &str) -> bool {
    encoded.and_then(iam_document).is_some_and(|t| trusts_service(&t, service))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn policy_fields() {
        let one = json!({"Statement": {"Effect": "Allow", "Action": "SNS:Publish",
            "Condition": {"StringEquals": {"AWS:SourceOwner": ["1", "2"]}}}});
        let list = statements(&one);
        assert_eq!(list.len(), 1);
        assert!(allows(list[0]) && grants(list[0], "sns:Publish") && !grants(list[0], "sns:Subscribe"));
        assert_eq!(conditions(list[0]), vec![("aws:sourceowner".to_owned(), vec!["1", "2"])]);
        assert!(grants(&json!({"Action": ["sns:*"]}), "sns:Publish"));
        assert!(statements(&json!({})).is_empty());
    }

    #[test]
    fn documents_and_trust() {
        assert!(iam_document("%7Bnot json").is_none());
        let trust = json!({"Statement": {"Effect": "Allow", "Principal": {"Service": ["vpc-flow-logs.amazonaws.com"]},
                                         "Action": "sts:AssumeRole"}});
        assert!(trusts_service(&trust, "vpc-flow-logs.amazonaws.com"));
        assert!(!trusts_service(&trust, "cloudtrail.amazonaws.com"));
        let denied = json!({"Statement": [{"Effect": "Deny", "Principal": {"Service": "cloudtrail.amazonaws.com"},
                                           "Action": "sts:AssumeRole"}]});
        assert!(!trusts_service(&denied, "cloudtrail.amazonaws.com"));
        assert!(role_trusts(Some(&trust.to_string()), "vpc-flow-logs.amazonaws.com"));
        assert!(!role_trusts(None, "vpc-flow-logs.amazonaws.com"));
    }
}
