//! The policy document as written: strict serde shapes (no unknown keys, closed sets as enums).
//! Checks that need more than one node, or that turn text into durations and globs, happen in
//! `build`, which points at the offending node through `locate`.

use super::{IncidentFamily, RuleAction};
use secops_core::asff::SeverityLabel;
use serde::de::{self, Deserializer, MapAccess, SeqAccess, Visitor};
use serde::Deserialize;
use std::fmt;
use std::marker::PhantomData;

#[derive(Debug, Deserialize)]
#[serde(
    deny_unknown_fields,
    expecting = "a policy document: a mapping with environments, unknown_environment_weight, accounts, tickets, auto_remediation, incidents and suppressions"
)]
pub(super) struct RawPolicy {
    pub(super) environments: Entries<String, RawEnvironment>,
    pub(super) unknown_environment_weight: f64,
    pub(super) accounts: RawAccounts,
    pub(super) tickets: RawTickets,
    pub(super) auto_remediation: RawAutoRemediation,
    pub(super) incidents: Vec<RawIncident>,
    pub(super) suppressions: Vec<RawRule>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, expecting = "an environment: {weight: <number>, names: [<tag values>]}")]
pub(super) struct RawEnvironment {
    pub(super) weight: f64,
    pub(super) names: Vec<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, expecting = "a mapping with new_account_min_age and cache_ttl")]
pub(super) struct RawAccounts {
    pub(super) new_account_min_age: String,
    pub(super) cache_ttl: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, expecting = "a mapping with deadlines, escalate and keep_closed_for")]
pub(super) struct RawTickets {
    pub(super) deadlines: Entries<SeverityLabel, String>,
    pub(super) escalate: Vec<SeverityLabel>,
    pub(super) keep_closed_for: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, expecting = "a mapping with controls")]
pub(super) struct RawAutoRemediation {
    pub(super) controls: Vec<String>,
}

#[derive(Debug, Deserialize)]
#[serde(
    deny_unknown_fields,
    expecting = "an incident entry: a mapping with respond and optionally families and severities"
)]
pub(super) struct RawIncident {
    #[serde(default, deserialize_with = "present")]
    pub(super) families: Option<Vec<IncidentFamily>>,
    #[serde(default, deserialize_with = "present")]
    pub(super) severities: Option<Vec<SeverityLabel>>,
    pub(super) respond: Vec<ResponseAction>,
}

/// One word of an incident entry's `respond` list.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(super) enum ResponseAction {
    Notify,
    SocTicket,
    TeamTicket,
    Isolate,
    Terminate,
    Suppress,
}

impl ResponseAction {
    pub(super) const NAMES: &'static [&'static str] =
        &["notify", "soc_ticket", "team_ticket", "isolate", "terminate", "suppress"];

    const fn as_str(self) -> &'static str {
        match self {
            ResponseAction::Notify => "notify",
            ResponseAction::SocTicket => "soc_ticket",
            ResponseAction::TeamTicket => "team_ticket",
            ResponseAction::Isolate => "isolate",
            ResponseAction::Terminate => "terminate",
            ResponseAction::Suppress => "suppress",
        }
    }
}

impl fmt::Display for ResponseAction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, Deserialize)]
#[serde(
    deny_unknown_fields,
    expecting = "a rule: a mapping with id, control or incident_type, action, reason and when"
)]
pub(super) struct RawRule {
    pub(super) id: String,
    #[serde(default, deserialize_with = "present")]
    pub(super) control: Option<String>,
    #[serde(default, deserialize_with = "present")]
    pub(super) incident_type: Option<String>,
    pub(super) action: RuleAction,
    pub(super) reason: String,
    #[serde(deserialize_with = "explicit_clauses")]
    pub(super) when: RawClauses,
}

/// The clauses of a rule's `when` (and, one level down, of its `not`).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, expecting = "a mapping of clauses")]
pub(super) struct RawClauses {
    #[serde(default, deserialize_with = "present")]
    pub(super) account: Option<OneOrMany>,
    #[serde(default, deserialize_with = "present")]
    pub(super) account_name: Option<OneOrMany>,
    #[serde(default, deserialize_with = "present")]
    pub(super) region: Option<OneOrMany>,
    #[serde(default, deserialize_with = "present")]
    pub(super) ou: Option<OneOrMany>,
    #[serde(default, deserialize_with = "present")]
    pub(super) environment: Option<OneOrMany>,
    #[serde(default, deserialize_with = "present")]
    pub(super) team: Option<OneOrMany>,
    #[serde(default, deserialize_with = "present")]
    pub(super) client: Option<OneOrMany>,
    #[serde(default, deserialize_with = "present")]
    pub(super) project: Option<OneOrMany>,
    #[serde(default, deserialize_with = "present")]
    pub(super) resource_type: Option<OneOrMany>,
    #[serde(default, deserialize_with = "present")]
    pub(super) resource_id: Option<OneOrMany>,
    #[serde(default, deserialize_with = "present")]
    pub(super) resource_tags: Option<Entries<String, OneOrMany>>,
    /// Parsed at any depth so that `build` can reject nesting with the position of the inner `not`.
    #[serde(default, deserialize_with = "present")]
    pub(super) not: Option<Box<RawClauses>>,
}

/// For optional keys: absent is `None`, but a key written with no value (`region:`) is parsed
/// as the value type and so rejected, instead of reading as if the key were not there.
fn present<'de, D: Deserializer<'de>, T: Deserialize<'de>>(deserializer: D) -> Result<Option<T>, D::Error> {
    T::deserialize(deserializer).map(Some)
}

/// A rule's `when`: a mapping of clauses. A bare `when:` is rejected so that matching every
/// finding of the subject is always spelled out as `when: {}`.
fn explicit_clauses<'de, D: Deserializer<'de>>(deserializer: D) -> Result<RawClauses, D::Error> {
    struct ClausesVisitor;
    impl<'de> Visitor<'de> for ClausesVisitor {
        type Value = RawClauses;

        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("a mapping of clauses, or {} to match every finding of the rule's subject")
        }

        fn visit_unit<E: de::Error>(self) -> Result<RawClauses, E> {
            Err(E::custom("no value; list clauses, or write `when: {}` to match every finding of the rule's subject"))
        }

        fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<RawClauses, A::Error> {
            RawClauses::deserialize(de::value::MapAccessDeserializer::new(map))
        }
    }
    deserializer.deserialize_any(ClausesVisitor)
}

/// A string or a list of strings. `single` remembers which, so an error about one value can
/// point at the list element or at the lone string.
#[derive(Debug)]
pub(super) struct OneOrMany {
    pub(super) values: Vec<String>,
    pub(super) single: bool,
}

impl<'de> Deserialize<'de> for OneOrMany {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct OneOrManyVisitor;
        impl<'de> Visitor<'de> for OneOrManyVisitor {
            type Value = OneOrMany;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string or a list of strings")
            }

            fn visit_str<E: de::Error>(self, v: &str) -> Result<OneOrMany, E> {
                Ok(OneOrMany { values: vec![v.to_owned()], single: true })
            }

            // An unquoted account id is a YAML integer; its digits are the id. (Digits with a
            // leading zero are not a number to serde_yaml_ng, so they arrive as a string, intact.)
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<OneOrMany, E> {
                Ok(OneOrMany { values: vec![v.to_string()], single: true })
            }

            fn visit_unit<E: de::Error>(self) -> Result<OneOrMany, E> {
                Err(E::custom("no value; give a string or a list of strings, or remove the key"))
            }

            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<OneOrMany, A::Error> {
                let mut values = Vec::new();
                while let Some(value) = seq.next_element::<String>()? {
                    values.push(value);
                }
                Ok(OneOrMany { values, single: false })
            }
        }
        deserializer.deserialize_any(OneOrManyVisitor)
    }
}

/// A mapping kept in file order with every entry, so `build` can reject a key written twice
/// (a plain map would keep the last one silently).
#[derive(Debug)]
pub(super) struct Entries<K, V>(pub(super) Vec<(K, V)>);

impl<'de, K: Deserialize<'de>, V: Deserialize<'de>> Deserialize<'de> for Entries<K, V> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct EntriesVisitor<K, V>(PhantomData<(K, V)>);
        impl<'de, K: Deserialize<'de>, V: Deserialize<'de>> Visitor<'de> for EntriesVisitor<K, V> {
            type Value = Entries<K, V>;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a mapping")
            }

            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Entries<K, V>, A::Error> {
                let mut entries = Vec::new();
                while let Some(entry) = map.next_entry::<K, V>()? {
                    entries.push(entry);
                }
                Ok(Entries(entries))
            }
        }
        deserializer.deserialize_map(EntriesVisitor(PhantomData))
    }
}
