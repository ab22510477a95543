//! The kinds of sensitive data the redactor knows, and what each one is called.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// One kind of personal data or secret. The serde name (snake_case) is the name used in policy
/// files, in `detect` output and in correlation tokens.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Category {
    Email,
    Phone,
    Ipv4,
    Ipv6,
    Ssn,
    PaymentCard,
    DateOfBirth,
    DriversLicence,
    AwsAccessKeyId,
    AwsSecretKey,
    ApiKey,
    BearerToken,
    Jwt,
    PrivateKey,
    Password,
    SlackToken,
    GithubToken,
}

impl Category {
    /// Every category, in declaration order (the order of `Policy` tables and reports).
    pub const ALL: [Category; 17] = [
        Category::Email,
        Category::Phone,
        Category::Ipv4,
        Category::Ipv6,
        Category::Ssn,
        Category::PaymentCard,
        Category::DateOfBirth,
        Category::DriversLicence,
        Category::AwsAccessKeyId,
        Category::AwsSecretKey,
        Category::ApiKey,
        Category::BearerToken,
        Category::Jwt,
        Category::PrivateKey,
        Category::Password,
        Category::SlackToken,
        Category::GithubToken,
    ];

    /// The snake_case name, as in policy files.
    pub const fn name(self) -> &'static str {
        match self {
            Category::Email => "email",
            Category::Phone => "phone",
            Category::Ipv4 => "ipv4",
            Category::Ipv6 => "ipv6",
            Category::Ssn => "ssn",
            Category::PaymentCard => "payment_card",
            Category::DateOfBirth => "date_of_birth",
            Category::DriversLicence => "drivers_licence",
            Category::AwsAccessKeyId => "aws_access_key_id",
            Category::AwsSecretKey => "aws_secret_key",
            Category::ApiKey => "api_key",
            Category::BearerToken => "bearer_token",
            Category::Jwt => "jwt",
            Category::PrivateKey => "private_key",
            Category::Password => "password",
            Category::SlackToken => "slack_token",
            Category::GithubToken => "github_token",
        }
    }

    /// The name in upper case (`PAYMENT_CARD`), used in replacement labels and correlation tokens.
    pub fn label(self) -> String {
        self.name().to_ascii_uppercase()
    }

    /// Credentials, as opposed to personal data or network addresses.
    pub const fn is_secret(self) -> bool {
        matches!(
            self,
            Category::AwsAccessKeyId
                | Category::AwsSecretKey
                | Category::ApiKey
                | Category::BearerToken
                | Category::Jwt
                | Category::PrivateKey
                | Category::Password
                | Category::SlackToken
                | Category::GithubToken
        )
    }

    /// Position in [`Category::ALL`], for table lookups.
    pub(crate) const fn index(self) -> usize {
        self as usize
    }

    /// Which detection wins when two overlap: the more specific kind. A private key block
    /// swallows everything inside it; a token with a vendor prefix beats the generic
    /// `api_key=` context around it; any secret beats the numbers that happen to be in it.
    pub(crate) const fn precedence(self) -> u8 {
        match self {
            Category::PrivateKey => 100,
            Category::Jwt => 95,
            Category::GithubToken => 94,
            Category::SlackToken => 93,
            Category::AwsAccessKeyId => 92,
            Category::AwsSecretKey => 90,
            Category::BearerToken => 85,
            Category::Password => 80,
            Category::ApiKey => 70,
            Category::PaymentCard => 60,
            Category::Ssn => 55,
            Category::Email => 50,
            Category::DateOfBirth => 45,
            Category::DriversLicence => 44,
            Category::Ipv6 => 40,
            Category::Phone => 31,
            Category::Ipv4 => 30,
        }
    }
}

impl fmt::Display for Category {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A name that is not a category; the message lists the ones there are.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown redaction category `{given}`: expected one of {}", Category::ALL.map(Category::name).join(", "))]
pub struct UnknownCategory {
    pub given: String,
}

impl FromStr for Category {
    type Err = UnknownCategory;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Category::ALL.into_iter().find(|c| c.name() == s).ok_or_else(|| UnknownCategory { given: s.to_owned() })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_through_serde_and_from_str() {
        for c in Category::ALL {
            let json = serde_json::to_string(&c).unwrap();
            assert_eq!(json, format!("\"{}\"", c.name()));
            assert_eq!(c.name().parse::<Category>().unwrap(), c);
            assert_eq!(Category::ALL[c.index()], c);
        }
    }

    #[test]
    fn unknown_name_lists_the_known_ones() {
        let e = "emial".parse::<Category>().unwrap_err().to_string();
        assert!(e.contains("`emial`") && e.contains("payment_card") && e.contains("github_token"), "{e}");
    }

    #[test]
    fn labels_are_upper_case_names() {
        assert_eq!(Category::PaymentCard.label(), "PAYMENT_CARD");
        assert_eq!(Category::Email.label(), "EMAIL");
    }
}
