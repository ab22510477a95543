//! JSON redaction: every string leaf as text, and whole values under keys that name a secret.

use super::category::Category;
use super::redactor::Redactor;
use serde_json::Value;

/// Endings of normalized key names (ASCII lower case, `-` and `_` dropped, so `Client-Secret`,
/// `client_secret` and `clientSecret` are one name) and the category of their values. The
/// first ending that fits wins, so the specific ones come first. Matching the ending catches
/// `db_password`, `x-api-key`, `slack_bot_token`, `aws_secret_access_key`, `Proxy-Authorization`.
const SECRET_KEY_ENDINGS: &[(&str, Category)] = &[
    ("secretaccesskey", Category::AwsSecretKey),
    ("awssecretkey", Category::AwsSecretKey),
    ("privatekey", Category::PrivateKey),
    ("password", Category::Password),
    ("passwd", Category::Password),
    ("passphrase", Category::Password),
    ("pwd", Category::Password),
    ("authorization", Category::BearerToken),
    ("apikey", Category::ApiKey),
    ("clientsecret", Category::ApiKey),
    ("secretkey", Category::ApiKey),
    ("secret", Category::ApiKey),
    // access_token, refresh_token, id_token, session_token, and `token` itself.
    ("token", Category::ApiKey),
];

/// The category of any value stored under `key`, when the key names a secret.
pub(crate) fn secret_key_category(key: &str) -> Option<Category> {
    let normalized: Vec<u8> =
        key.bytes().filter(|b| !matches!(b, b'-' | b'_')).map(|b| b.to_ascii_lowercase()).collect();
    SECRET_KEY_ENDINGS.iter().find(|(ending, _)| normalized.ends_with(ending.as_bytes())).map(|&(_, category)| category)
}

/// A copy of `value` with every string leaf redacted; see [`Redactor::redact_json`].
pub(crate) fn redact_value(redactor: &Redactor, value: &Value) -> Value {
    match value {
        Value::String(s) => Value::String(redactor.redact_text(s).into_owned()),
        Value::Array(items) => Value::Array(items.iter().map(|v| redact_value(redactor, v)).collect()),
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(k, v)| {
                    let redacted = match secret_key_category(k) {
                        Some(category) => redact_secret_value(redactor, category, v),
                        None => redact_value(redactor, v),
                    };
                    (k.clone(), redacted)
                })
                .collect(),
        ),
        Value::Null | Value::Bool(_) | Value::Number(_) => value.clone(),
    }
}

/// A value under a secret-named key: strings and numbers are the secret, whole; an array holds
/// several; an object is a structure whose own keys say what is secret.
fn redact_secret_value(redactor: &Redactor, category: Category, value: &Value) -> Value {
    match value {
        Value::String(s) if s.is_empty() => value.clone(),
        Value::String(s) => redactor.redact_whole(category, s).map_or_else(|| value.clone(), Value::String),
        Value::Number(n) => {
            redactor.redact_whole(category, &n.to_string()).map_or_else(|| value.clone(), Value::String)
        }
        Value::Array(items) => Value::Array(items.iter().map(|v| redact_secret_value(redactor, category, v)).collect()),
        Value::Object(_) => redact_value(redactor, value),
        Value::Null | Value::Bool(_) => value.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secret_names_are_recognised_whatever_their_case_and_separators() {
        for (key, category) in [
            ("password", Category::Password),
            ("DB_PASSWORD", Category::Password),
            ("passwd", Category::Password),
            ("pwd", Category::Password),
            ("Secret", Category::ApiKey),
            ("client_secret", Category::ApiKey),
            ("client-secret", Category::ApiKey),
            ("clientSecret", Category::ApiKey),
            ("token", Category::ApiKey),
            ("access_token", Category::ApiKey),
            ("refresh-token", Category::ApiKey),
            ("api_key", Category::ApiKey),
            ("APIKEY", Category::ApiKey),
            ("x-api-key", Category::ApiKey),
            ("Authorization", Category::BearerToken),
            ("private_key", Category::PrivateKey),
            ("secret_access_key", Category::AwsSecretKey),
            ("SecretAccessKey", Category::AwsSecretKey),
            ("aws_secret_key", Category::AwsSecretKey),
        ] {
            assert_eq!(secret_key_category(key), Some(category), "{key}");
        }
    }

    #[test]
    fn ordinary_names_are_not_secrets() {
        for key in [
            "user",
            "email",
            "key",
            "Key",
            "password_policy",
            "token_type",
            "secret_name",
            "tokens",
            "keyId",
            "ünïcödé",
        ] {
            assert_eq!(secret_key_category(key), None, "{key}");
        }
    }
}
