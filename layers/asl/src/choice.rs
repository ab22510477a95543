//! Choice rules: every comparison operator, their `…Path` forms, `And`/`Or`/`Not`, and the `Is*`
//! type tests. A comparison between values of the wrong type is false, as on AWS.

use std::cmp::Ordering;

use serde_json::{Map, Value};
use time::OffsetDateTime;

use crate::error::Failure;
use crate::path::PathExpr;
use crate::template::Sources;

#[derive(Debug, Clone)]
pub enum ChoiceRule {
    And(Vec<ChoiceRule>),
    Or(Vec<ChoiceRule>),
    Not(Box<ChoiceRule>),
    Compare { variable: PathExpr, op: Operator, operand: Operand },
}

#[derive(Debug, Clone)]
pub enum Operand {
    Literal(Value),
    Path(PathExpr),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    String,
    Numeric,
    Boolean,
    Timestamp,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Operator {
    Equals(Kind),
    LessThan(Kind),
    GreaterThan(Kind),
    LessThanEquals(Kind),
    GreaterThanEquals(Kind),
    StringMatches,
    IsNull,
    IsPresent,
    IsNumeric,
    IsString,
    IsBoolean,
    IsTimestamp,
}

const KINDS: [(&str, Kind); 4] =
    [("String", Kind::String), ("Numeric", Kind::Numeric), ("Boolean", Kind::Boolean), ("Timestamp", Kind::Timestamp)];

fn operator(name: &str) -> Option<(Operator, bool)> {
    let (base, is_path) = match name.strip_suffix("Path") {
        Some(b) if !b.is_empty() && !b.starts_with("Is") => (b, true),
        _ => (name, false),
    };
    let simple = match base {
        "StringMatches" => Some(Operator::StringMatches),
        "IsNull" => Some(Operator::IsNull),
        "IsPresent" => Some(Operator::IsPresent),
        "IsNumeric" => Some(Operator::IsNumeric),
        "IsString" => Some(Operator::IsString),
        "IsBoolean" => Some(Operator::IsBoolean),
        "IsTimestamp" => Some(Operator::IsTimestamp),
        _ => None,
    };
    if let Some(op) = simple {
        // The type tests and StringMatches have no `…Path` form.
        return (!is_path).then_some((op, false));
    }
    for (prefix, kind) in KINDS {
        let Some(rest) = base.strip_prefix(prefix) else { continue };
        let op = match rest {
            "Equals" => Operator::Equals(kind),
            "LessThan" => Operator::LessThan(kind),
            "GreaterThan" => Operator::GreaterThan(kind),
            "LessThanEquals" => Operator::LessThanEquals(kind),
            "GreaterThanEquals" => Operator::GreaterThanEquals(kind),
            _ => return None,
        };
        if kind == Kind::Boolean && !matches!(op, Operator::Equals(_)) {
            return None;
        }
        return Some((op, is_path));
    }
    None
}

impl ChoiceRule {
    pub fn from_json(obj: &Map<String, Value>) -> Result<ChoiceRule, String> {
        if let Some(rules) = obj.get("And").or_else(|| obj.get("Or")) {
            let list = rules.as_array().ok_or("And/Or must be a list of rules")?;
            let parsed = list
                .iter()
                .map(|r| {
                    r.as_object().ok_or_else(|| "a rule must be an object".to_string()).and_then(ChoiceRule::from_json)
                })
                .collect::<Result<Vec<_>, _>>()?;
            return Ok(if obj.contains_key("And") { ChoiceRule::And(parsed) } else { ChoiceRule::Or(parsed) });
        }
        if let Some(rule) = obj.get("Not") {
            let inner = rule.as_object().ok_or("Not must be a rule object")?;
            return Ok(ChoiceRule::Not(Box::new(ChoiceRule::from_json(inner)?)));
        }
        let variable = obj.get("Variable").and_then(Value::as_str).ok_or("a comparison needs a Variable")?;
        let variable = PathExpr::parse(variable).map_err(|e| e.message)?;
        for (key, value) in obj {
            if let Some((op, is_path)) = operator(key) {
                let operand = if is_path {
                    let text = value.as_str().ok_or_else(|| format!("{key} must be a path"))?;
                    Operand::Path(PathExpr::parse(text).map_err(|e| e.message)?)
                } else {
                    Operand::Literal(value.clone())
                };
                return Ok(ChoiceRule::Compare { variable, op, operand });
            }
        }
        Err("a choice rule needs exactly one comparison operator".into())
    }

    pub fn evaluate(&self, sources: &Sources<'_>) -> Result<bool, Failure> {
        match self {
            ChoiceRule::And(rules) => {
                for r in rules {
                    if !r.evaluate(sources)? {
                        return Ok(false);
                    }
                }
                Ok(true)
            }
            ChoiceRule::Or(rules) => {
                for r in rules {
                    if r.evaluate(sources)? {
                        return Ok(true);
                    }
                }
                Ok(false)
            }
            ChoiceRule::Not(rule) => Ok(!rule.evaluate(sources)?),
            ChoiceRule::Compare { variable, op, operand } => {
                let value = lookup(sources, variable);
                if *op == Operator::IsPresent {
                    let expected = operand_bool(operand, sources)?;
                    return Ok(value.is_some() == expected);
                }
                let Some(value) = value else {
                    return Err(Failure::runtime(format!(
                        "Invalid path '{}' : No results for path: {}",
                        variable.text(),
                        variable.query.normalized()
                    )));
                };
                let expected = match operand {
                    Operand::Literal(v) => v.clone(),
                    Operand::Path(p) => sources.read(p, p.text())?,
                };
                Ok(compare(*op, &value, &expected))
            }
        }
    }
}

fn lookup(sources: &Sources<'_>, path: &PathExpr) -> Option<Value> {
    sources.read(path, path.text()).ok()
}

fn operand_bool(operand: &Operand, sources: &Sources<'_>) -> Result<bool, Failure> {
    let v = match operand {
        Operand::Literal(v) => v.clone(),
        Operand::Path(p) => sources.read(p, p.text())?,
    };
    Ok(v.as_bool().unwrap_or(false))
}

fn compare(op: Operator, value: &Value, expected: &Value) -> bool {
    match op {
        Operator::IsNull => value.is_null() == expected.as_bool().unwrap_or(false),
        Operator::IsNumeric => value.is_number() == expected.as_bool().unwrap_or(false),
        Operator::IsString => value.is_string() == expected.as_bool().unwrap_or(false),
        Operator::IsBoolean => value.is_boolean() == expected.as_bool().unwrap_or(false),
        Operator::IsTimestamp => {
            value.as_str().and_then(parse_timestamp).is_some() == expected.as_bool().unwrap_or(false)
        }
        Operator::IsPresent => true,
        Operator::StringMatches => match (value.as_str(), expected.as_str()) {
            (Some(s), Some(pattern)) => string_matches(s, pattern),
            _ => false,
        },
        Operator::Equals(kind) => ordering(kind, value, expected) == Some(Ordering::Equal),
        Operator::LessThan(kind) => ordering(kind, value, expected) == Some(Ordering::Less),
        Operator::GreaterThan(kind) => ordering(kind, value, expected) == Some(Ordering::Greater),
        Operator::LessThanEquals(kind) => {
            matches!(ordering(kind, value, expected), Some(Ordering::Less | Ordering::Equal))
        }
        Operator::GreaterThanEquals(kind) => {
            matches!(ordering(kind, value, expected), Some(Ordering::Greater | Ordering::Equal))
        }
    }
}

/// `None` when the values are not both of the operator's type.
fn ordering(kind: Kind, a: &Value, b: &Value) -> Option<Ordering> {
    match kind {
        Kind::String => Some(a.as_str()?.cmp(b.as_str()?)),
        Kind::Numeric => compare_numbers(a.as_number()?, b.as_number()?),
        Kind::Boolean => (a.as_bool()? == b.as_bool()?).then_some(Ordering::Equal).or(Some(Ordering::Less)),
        Kind::Timestamp => Some(parse_timestamp(a.as_str()?)?.cmp(&parse_timestamp(b.as_str()?)?)),
    }
}

fn compare_numbers(a: &serde_json::Number, b: &serde_json::Number) -> Option<Ordering> {
    if let (Some(x), Some(y)) = (a.as_i64(), b.as_i64()) {
        return Some(x.cmp(&y));
    }
    if let (Some(x), Some(y)) = (a.as_u64(), b.as_u64()) {
        return Some(x.cmp(&y));
    }
    a.as_f64()?.partial_cmp(&b.as_f64()?)
}

/// RFC 3339 with an uppercase `T` and `Z`, as Step Functions requires.
pub fn parse_timestamp(s: &str) -> Option<OffsetDateTime> {
    // The time crate also takes a space or a lowercase `t` between date and time; AWS does not.
    if s.contains('t') || s.contains('z') || s.as_bytes().get(10) != Some(&b'T') {
        return None;
    }
    OffsetDateTime::parse(s, &time::format_description::well_known::Rfc3339).ok()
}

/// `*` matches any run of characters; `\*` is a literal star and `\\` a literal backslash.
pub fn string_matches(s: &str, pattern: &str) -> bool {
    enum Piece {
        Char(char),
        Star,
    }
    let mut pieces = Vec::new();
    let mut chars = pattern.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => match chars.next() {
                Some(escaped) => pieces.push(Piece::Char(escaped)),
                None => pieces.push(Piece::Char('\\')),
            },
            '*' => pieces.push(Piece::Star),
            other => pieces.push(Piece::Char(other)),
        }
    }
    let text: Vec<char> = s.chars().collect();
    // Greedy matching with backtracking to the last star: linear in practice, never exponential.
    let (mut t, mut p) = (0usize, 0usize);
    let mut star: Option<(usize, usize)> = None;
    while t < text.len() {
        match pieces.get(p) {
            Some(Piece::Char(c)) if *c == text[t] => {
                t += 1;
                p += 1;
            }
            Some(Piece::Star) => {
                star = Some((p, t));
                p += 1;
            }
            _ => match star {
                Some((sp, st)) => {
                    p = sp + 1;
                    t = st + 1;
                    star = Some((sp, st + 1));
                }
                None => return false,
            },
        }
    }
    pieces[p..].iter().all(|piece| matches!(piece, Piece::Star))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wildcards_match_like_step_functions() {
        assert!(string_matches("log-2024.txt", "log-*.txt"));
        assert!(string_matches("anything", "*"));
        assert!(string_matches("a*b", "a\\*b"));
        assert!(!string_matches("axb", "a\\*b"));
        assert!(string_matches("", "*"));
        assert!(!string_matches("abc", "ab"));
        assert!(string_matches("aaa", "*a*a*a"));
    }

    #[test]
    fn operators_and_their_path_forms_parse() {
        assert_eq!(operator("NumericEqualsPath"), Some((Operator::Equals(Kind::Numeric), true)));
        assert_eq!(operator("TimestampLessThanEquals"), Some((Operator::LessThanEquals(Kind::Timestamp), false)));
        assert_eq!(operator("IsPresent"), Some((Operator::IsPresent, false)));
        assert_eq!(operator("BooleanLessThan"), None);
        assert_eq!(operator("Next"), None);
    }

    #[test]
    fn timestamps_compare_as_instants() {
        let a = serde_json::json!("2016-03-14T01:59:00Z");
        let b = serde_json::json!("2016-03-14T02:59:00+01:00");
        assert_eq!(ordering(Kind::Timestamp, &a, &b), Some(Ordering::Equal));
        assert_eq!(parse_timestamp("2016-03-14t01:59:00z"), None);
    }
}
