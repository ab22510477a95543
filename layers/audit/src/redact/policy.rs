//! Which categories each destination redacts, and how: the defaults and the YAML overrides.

use super::category::Category;
use super::error::RedactError;
use super::strategy::Strategy;
use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, Visitor};
use serde::{Deserialize, Serialize};
use std::fmt;
use std::path::Path;
use std::str::FromStr;

/// Where redacted text goes. Each has its own default [`Policy`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Destination {
    /// Tickets read by engineers: lenient, keeps IP addresses.
    Jira,
    /// Chat: strict, redacts everything.
    Slack,
    /// The exported audit log: full, redacts everything; investigators correlate by token.
    Audit,
}

impl Destination {
    pub const ALL: [Destination; 3] = [Destination::Jira, Destination::Slack, Destination::Audit];

    pub const fn name(self) -> &'static str {
        match self {
            Destination::Jira => "jira",
            Destination::Slack => "slack",
            Destination::Audit => "audit",
        }
    }
}

impl fmt::Display for Destination {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Destination {
    type Err = RedactError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Destination::ALL
            .into_iter()
            .find(|d| d.name() == s)
            .ok_or_else(|| RedactError::UnknownDestination { given: s.to_owned() })
    }
}

/// What a policy does with one category.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Rule {
    /// Leave the value as it is.
    Keep,
    Redact(Strategy),
}

/// For one destination, a [`Rule`] for every category.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Policy {
    destination: Destination,
    rules: [Rule; Category::ALL.len()],
}

impl Policy {
    /// The built-in policy for a destination:
    ///
    /// | category | jira | slack | audit |
    /// |---|---|---|---|
    /// | ipv4, ipv6 | keep | correlation_hash | correlation_hash |
    /// | email | replace | correlation_hash | correlation_hash |
    /// | phone | replace | replace | correlation_hash |
    /// | payment_card | mask keep 4 | mask keep 4 | mask keep 4 |
    /// | aws_access_key_id | mask keep 4 | replace | replace |
    /// | every other category | replace | replace | replace |
    ///
    /// `replace` is the category's own label, `[SSN]`, `[PASSWORD]`…
    pub fn default_for(destination: Destination) -> Policy {
        let rule = |category: Category| -> Rule {
            use Category::*;
            let mask4 = Rule::Redact(Strategy::Mask { keep: 4 });
            let replace = Rule::Redact(Strategy::replace());
            let correlate = Rule::Redact(Strategy::CorrelationHash);
            match (destination, category) {
                (_, PaymentCard) => mask4,
                (Destination::Jira, Ipv4 | Ipv6) => Rule::Keep,
                (Destination::Jira, AwsAccessKeyId) => mask4,
                (Destination::Slack, Ipv4 | Ipv6 | Email) => correlate,
                (Destination::Audit, Ipv4 | Ipv6 | Email | Phone) => correlate,
                _ => replace,
            }
        };
        Policy { destination, rules: Category::ALL.map(rule) }
    }

    /// The default policy for `destination` with the overrides for it from a YAML file.
    ///
    /// The file names destinations at the top, categories under them, and for each category
    /// `keep`, a strategy without fields as a bare word, or a strategy as a map:
    ///
    /// ```yaml
    /// jira:
    ///   email: {strategy: mask, keep: 3}   # every char but the last 3 becomes *
    ///   ipv4: keep
    /// slack:
    ///   phone: {strategy: replace, label: "[PHONE]"}
    ///   ssn: remove
    /// audit:
    ///   email: hash                         # also: correlation_hash, replace, remove
    ///   api_key: {strategy: truncate, keep: 4}
    /// ```
    ///
    /// Destinations: `jira`, `slack`, `audit`. Categories: the snake_case [`Category`] names.
    /// Strategies: `remove`, `mask` (`keep`), `hash`, `correlation_hash`, `truncate` (`keep`),
    /// `replace` (optional `label`). Categories a file does not name keep their defaults. The
    /// whole file is checked whichever destination is loaded: an unknown destination, category
    /// or strategy, a missing or unknown field, a wrong type or a category named twice is an
    /// error that names the file, the line and column, and what was expected. An empty file
    /// changes nothing.
    pub fn load(destination: Destination, overrides: Option<&Path>) -> Result<Policy, RedactError> {
        let mut policy = Policy::default_for(destination);
        if let Some(path) = overrides {
            let text = std::fs::read_to_string(path)
                .map_err(|source| RedactError::PolicyFileUnreadable { path: path.to_owned(), source })?;
            policy.apply_overrides(&text, path)?;
        }
        Ok(policy)
    }

    /// Applies the overrides for this policy's destination from policy-file text (see
    /// [`Policy::load`]); `origin` names the file in errors.
    pub fn apply_overrides(&mut self, yaml: &str, origin: &Path) -> Result<(), RedactError> {
        let file: Option<OverridesFile> = serde_yaml_ng::from_str(yaml).map_err(|e| invalid(origin, &e))?;
        let Some(file) = file else { return Ok(()) };
        let section = match self.destination {
            Destination::Jira => file.jira,
            Destination::Slack => file.slack,
            Destination::Audit => file.audit,
        };
        for (category, rule) in section.0 {
            self.set(category, rule);
        }
        Ok(())
    }

    pub fn destination(&self) -> Destination {
        self.destination
    }

    pub fn rule(&self, category: Category) -> &Rule {
        &self.rules[category.index()]
    }

    /// The strategy for `category`, or `None` when the policy keeps it.
    pub fn strategy(&self, category: Category) -> Option<&Strategy> {
        match self.rule(category) {
            Rule::Keep => None,
            Rule::Redact(strategy) => Some(strategy),
        }
    }

    pub fn set(&mut self, category: Category, rule: Rule) {
        self.rules[category.index()] = rule;
    }

    /// The same policy with `category` treated by `rule`.
    pub fn with(mut self, category: Category, rule: Rule) -> Policy {
        self.set(category, rule);
        self
    }
}

fn invalid(origin: &Path, e: &serde_yaml_ng::Error) -> RedactError {
    let (line, column) = e.location().map_or((0, 0), |l| (l.line(), l.column()));
    let full = e.to_string();
    // The library appends the position to its message; we report it in our own fields.
    let message = match full.rfind(" at line ") {
        Some(cut) => full[..cut].to_owned(),
        None => full,
    };
    RedactError::PolicyFileInvalid { path: origin.to_owned(), line, column, message }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct OverridesFile {
    #[serde(default)]
    jira: CategoryRules,
    #[serde(default)]
    slack: CategoryRules,
    #[serde(default)]
    audit: CategoryRules,
}

/// One destination's section, in file order; a category named twice is an error rather than
/// the silent last-one-wins of a plain map.
#[derive(Default)]
struct CategoryRules(Vec<(Category, Rule)>);

impl<'de> Deserialize<'de> for CategoryRules {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct RulesVisitor;
        impl<'de> Visitor<'de> for RulesVisitor {
            type Value = CategoryRules;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a map from category names to rules")
            }

            fn visit_unit<E: de::Error>(self) -> Result<CategoryRules, E> {
                Ok(CategoryRules::default())
            }

            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<CategoryRules, A::Error> {
                let mut rules: Vec<(Category, Rule)> = Vec::new();
                while let Some(category) = map.next_key_seed(NewCategory(&rules))? {
                    let rule = map.next_value::<Rule>()?;
                    rules.push((category, rule));
                }
                Ok(CategoryRules(rules))
            }
        }
        deserializer.deserialize_any(RulesVisitor)
    }
}

/// A category key not seen before in its section. Checking while the key is read makes the
/// error point at the second occurrence rather than at the section.
struct NewCategory<'a>(&'a [(Category, Rule)]);

impl<'de> DeserializeSeed<'de> for NewCategory<'_> {
    type Value = Category;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Category, D::Error> {
        deserializer.deserialize_str(self)
    }
}

impl<'de> Visitor<'de> for NewCategory<'_> {
    type Value = Category;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a category name")
    }

    fn visit_str<E: de::Error>(self, name: &str) -> Result<Category, E> {
        let category = name.parse::<Category>().map_err(E::custom)?;
        if self.0.iter().any(|(seen, _)| *seen == category) {
            return Err(E::custom(format!("category `{category}` is named twice")));
        }
        Ok(category)
    }
}

impl<'de> Deserialize<'de> for Rule {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct RuleVisitor;
        impl<'de> Visitor<'de> for RuleVisitor {
            type Value = Rule;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("`keep`, a strategy name, or a map such as {strategy: mask, keep: 4}")
            }

            fn visit_str<E: de::Error>(self, word: &str) -> Result<Rule, E> {
                Ok(match word {
                    "keep" => Rule::Keep,
                    "remove" => Rule::Redact(Strategy::Remove),
                    "hash" => Rule::Redact(Strategy::Hash),
                    "correlation_hash" => Rule::Redact(Strategy::CorrelationHash),
                    "replace" => Rule::Redact(Strategy::replace()),
                    "mask" | "truncate" => {
                        return Err(E::custom(format!(
                            "strategy `{word}` needs a `keep` count: write {{strategy: {word}, keep: 4}}"
                        )))
                    }
                    other => {
                        return Err(E::custom(format!(
                            "unknown rule `{other}`: expected keep, remove, hash, correlation_hash, replace, or a map such as {{strategy: mask, keep: 4}}"
                        )))
                    }
                })
            }

            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Rule, A::Error> {
                Strategy::deserialize(de::value::MapAccessDeserializer::new(map)).map(Rule::Redact)
            }
        }
        deserializer.deserialize_any(RuleVisitor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn destinations_parse_and_unknown_ones_list_the_three() {
        assert_eq!("slack".parse::<Destination>().unwrap(), Destination::Slack);
        let e = "email".parse::<Destination>().unwrap_err().to_string();
        assert_eq!(e, "unknown redaction destination `email`: expected one of jira, slack, audit");
    }

    #[test]
    fn jira_keeps_addresses_and_redacts_everything_else() {
        let p = Policy::default_for(Destination::Jira);
        assert_eq!(p.strategy(Category::Ipv4), None);
        assert_eq!(p.strategy(Category::Ipv6), None);
        assert_eq!(p.strategy(Category::PaymentCard), Some(&Strategy::Mask { keep: 4 }));
        assert_eq!(p.strategy(Category::AwsAccessKeyId), Some(&Strategy::Mask { keep: 4 }));
        for c in Category::ALL {
            if !matches!(c, Category::Ipv4 | Category::Ipv6 | Category::PaymentCard | Category::AwsAccessKeyId) {
                assert_eq!(p.strategy(c), Some(&Strategy::replace()), "{c}");
            }
        }
    }

    #[test]
    fn slack_redacts_every_category() {
        let p = Policy::default_for(Destination::Slack);
        for c in Category::ALL {
            let expected = match c {
                Category::Ipv4 | Category::Ipv6 | Category::Email => Strategy::CorrelationHash,
                Category::PaymentCard => Strategy::Mask { keep: 4 },
                _ => Strategy::replace(),
            };
            assert_eq!(p.strategy(c), Some(&expected), "{c}");
        }
    }

    #[test]
    fn audit_redacts_every_category_and_correlates_people_and_addresses() {
        let p = Policy::default_for(Destination::Audit);
        for c in Category::ALL {
            let expected = match c {
                Category::Ipv4 | Category::Ipv6 | Category::Email | Category::Phone => Strategy::CorrelationHash,
                Category::PaymentCard => Strategy::Mask { keep: 4 },
                _ => Strategy::replace(),
            };
            assert_eq!(p.strategy(c), Some(&expected), "{c}");
        }
    }

    fn apply(destination: Destination, yaml: &str) -> Result<Policy, RedactError> {
        let mut p = Policy::default_for(destination);
        p.apply_overrides(yaml, Path::new("policy.yaml")).map(|()| p)
    }

    #[test]
    fn overrides_change_only_the_named_categories_of_the_loaded_destination() {
        let yaml = "jira:\n  email: {strategy: mask, keep: 3}\n  ipv4: keep\n  ssn: remove\nslack:\n  phone: {strategy: replace, label: \"[PHONE]\"}\n";
        let jira = apply(Destination::Jira, yaml).unwrap();
        assert_eq!(jira.strategy(Category::Email), Some(&Strategy::Mask { keep: 3 }));
        assert_eq!(jira.strategy(Category::Ipv4), None);
        assert_eq!(jira.strategy(Category::Ssn), Some(&Strategy::Remove));
        assert_eq!(jira.strategy(Category::Phone), Some(&Strategy::replace()));
        let slack = apply(Destination::Slack, yaml).unwrap();
        assert_eq!(slack.strategy(Category::Phone), Some(&Strategy::replace_with("[PHONE]")));
        assert_eq!(slack.strategy(Category::Email), Some(&Strategy::CorrelationHash));
        assert_eq!(apply(Destination::Audit, yaml).unwrap(), Policy::default_for(Destination::Audit));
    }

    #[test]
    fn every_strategy_reads_from_yaml() {
        let yaml = "audit:\n  email: hash\n  phone: correlation_hash\n  ssn: replace\n  jwt: remove\n  api_key: {strategy: truncate, keep: 4}\n  ipv4: {strategy: hash}\n  ipv6: {strategy: remove}\n  password: {strategy: replace}\n";
        let p = apply(Destination::Audit, yaml).unwrap();
        assert_eq!(p.strategy(Category::Email), Some(&Strategy::Hash));
        assert_eq!(p.strategy(Category::Phone), Some(&Strategy::CorrelationHash));
        assert_eq!(p.strategy(Category::Ssn), Some(&Strategy::replace()));
        assert_eq!(p.strategy(Category::Jwt), Some(&Strategy::Remove));
        assert_eq!(p.strategy(Category::ApiKey), Some(&Strategy::Truncate { keep: 4 }));
        assert_eq!(p.strategy(Category::Ipv4), Some(&Strategy::Hash));
        assert_eq!(p.strategy(Category::Ipv6), Some(&Strategy::Remove));
        assert_eq!(p.strategy(Category::Password), Some(&Strategy::replace()));
    }

    #[test]
    fn empty_files_and_empty_sections_change_nothing() {
        for yaml in ["", "# nothing yet\n", "jira:\n", "jira: {}\n"] {
            assert_eq!(apply(Destination::Jira, yaml).unwrap(), Policy::default_for(Destination::Jira), "{yaml:?}");
        }
    }

    /// (yaml, line, what the message must say)
    const BAD_FILES: &[(&str, usize, &str)] = &[
        (
            "jira:\n  email: keep\nteams:\n  email: keep\n",
            3,
            "unknown field `teams`, expected one of `jira`, `slack`, `audit`",
        ),
        (
            "jira:\n  email: keep\n  emial: keep\n",
            3,
            "unknown redaction category `emial`: expected one of email, phone,",
        ),
        ("slack:\n  phone: {strategy: maks, keep: 3}\n", 2, "unknown variant `maks`, expected one of"),
        ("slack:\n  phone: {keep: 3}\n", 2, "missing field `strategy`"),
        ("slack:\n  phone: {strategy: hash, keep: 3}\n", 2, "strategy `hash` takes no `keep`"),
        ("slack:\n  phone: {strategy: mask, keep: 3, label: x}\n", 2, "strategy `mask` takes no `label`"),
        ("slack:\n  phone: scramble\n", 2, "unknown rule `scramble`: expected keep, remove"),
        ("slack:\n  phone: mask\n", 2, "strategy `mask` needs a `keep` count"),
        ("jira:\n  email: {strategy: mask}\n", 2, "missing field `keep`"),
        ("jira:\n  email:\n    strategy: mask\n    keep: three\n", 4, "invalid type: string \"three\""),
        ("jira:\n  email: {strategy: mask, keep: -1}\n", 2, "invalid type: integer `-1`, expected usize"),
        ("jira:\n  email: {strategy: hash, salt: x}\n", 2, "unknown field `salt`"),
        ("jira:\n  email: keep\n  email: remove\n", 3, "category `email` is named twice"),
        ("jira:\n  - email\n", 2, "invalid type: sequence, expected a map from category names to rules"),
        ("jira:\n  email: {strategy: mask, keep: 3\n", 3, ""),
        ("jira: [\n", 1, "invalid type: sequence"),
        ("jira:\n  email: keep\n\tssn: remove\n", 3, "tab"),
    ];

    #[test]
    fn bad_files_are_rejected_with_the_file_the_line_and_what_was_expected() {
        for &(yaml, line, says) in BAD_FILES {
            for destination in Destination::ALL {
                let e = apply(destination, yaml).expect_err(yaml);
                let RedactError::PolicyFileInvalid { ref path, line: got_line, column, ref message } = e else {
                    panic!("{yaml:?}: unexpected error {e:?}")
                };
                assert_eq!(path, Path::new("policy.yaml"));
                assert_eq!(got_line, line, "{yaml:?}: {e}");
                assert!(column >= 1, "{yaml:?}: {e}");
                assert!(message.contains(says), "{yaml:?}: {message}");
                let shown = e.to_string();
                assert!(
                    shown.starts_with(&format!("redaction policy file policy.yaml, line {line} column ")),
                    "{shown}"
                );
            }
        }
    }

    #[test]
    fn load_reads_the_file_and_names_a_missing_one() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("redaction.yaml");
        std::fs::write(&path, "jira:\n  email: {strategy: mask, keep: 3}\n").unwrap();
        let p = Policy::load(Destination::Jira, Some(&path)).unwrap();
        assert_eq!(p.strategy(Category::Email), Some(&Strategy::Mask { keep: 3 }));
        assert_eq!(Policy::load(Destination::Jira, None).unwrap(), Policy::default_for(Destination::Jira));
        let missing = dir.path().join("nope.yaml");
        let e = Policy::load(Destination::Jira, Some(&missing)).unwrap_err().to_string();
        assert!(e.starts_with("cannot read the redaction policy file") && e.contains("nope.yaml"), "{e}");
    }
}
