//! JSONPath as Step Functions speaks it (the Jayway dialect).
//!
//! Three shapes:
//! - [`Query`]: a full path for reading (`InputPath`, `OutputPath`, `ItemsPath`, `.$` values,
//!   Choice `Variable`). A *definite* path (only names and indices) selects one value and fails
//!   when it is missing; an indefinite one (wildcards, slices, filters, unions, `..`) selects a
//!   list, possibly empty. Definite paths are walked directly; indefinite ones are evaluated by
//!   `serde_json_path` after the Jayway spelling is normalized to RFC 9535.
//! - [`ReferencePath`]: names and indices only, for writing (`ResultPath`).
//! - [`PathExpr`]: a query with its source: the state input (`$`), the context object (`$$`) or
//!   a variable (`$name`).

use std::fmt;
use std::sync::Arc;

use serde_json::{Map, Value};

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct PathError {
    pub message: String,
}

impl PathError {
    fn new(path: &str, why: impl fmt::Display) -> Self {
        Self { message: format!("'{path}' is not a valid JSONPath: {why}") }
    }
}

/// One step of a definite path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Segment {
    Field(String),
    Index(i64),
}

/// A reading path.
#[derive(Clone)]
pub struct Query {
    text: Arc<str>,
    kind: QueryKind,
}

#[derive(Clone)]
enum QueryKind {
    Definite(Vec<Segment>),
    Indefinite(Arc<serde_json_path::JsonPath>),
}

impl fmt::Debug for Query {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Query({})", self.text)
    }
}

impl PartialEq for Query {
    fn eq(&self, other: &Self) -> bool {
        self.text == other.text
    }
}

/// Parse a path that starts with `$` (the caller strips `$$` / `$name` prefixes first).
pub fn parse_query(text: &str) -> Result<Query, PathError> {
    let tokens = tokenize(text)?;
    if tokens.iter().all(|t| matches!(t, Token::Segment(_))) {
        let segments = tokens
            .into_iter()
            .filter_map(|t| match t {
                Token::Segment(s) => Some(s),
                _ => None,
            })
            .collect();
        return Ok(Query { text: text.into(), kind: QueryKind::Definite(segments) });
    }
    let mut rfc = String::from("$");
    for token in &tokens {
        match token {
            Token::Segment(Segment::Field(name)) => {
                rfc.push('[');
                push_rfc_string(&mut rfc, name);
                rfc.push(']');
            }
            Token::Segment(Segment::Index(i)) => rfc.push_str(&format!("[{i}]")),
            Token::Descendant => rfc.push_str(".."),
            Token::Wildcard => rfc.push_str("[*]"),
            Token::Bracket(raw) => {
                rfc.push('[');
                rfc.push_str(raw);
                rfc.push(']');
            }
        }
    }
    // `$..name` is spelled `$..['name']` here, which RFC 9535 accepts.
    let compiled = serde_json_path::JsonPath::parse(&rfc).map_err(|e| PathError::new(text, e))?;
    Ok(Query { text: text.into(), kind: QueryKind::Indefinite(Arc::new(compiled)) })
}

/// Parse a reference path (names and indices only).
pub fn parse_reference(text: &str) -> Result<ReferencePath, PathError> {
    let tokens = tokenize(text)?;
    let mut segments = Vec::with_capacity(tokens.len());
    for token in tokens {
        match token {
            Token::Segment(s) => segments.push(s),
            _ => return Err(PathError::new(text, "a reference path may only name fields and indices")),
        }
    }
    Ok(ReferencePath { text: text.into(), segments })
}

impl Query {
    pub fn text(&self) -> &str {
        &self.text
    }

    /// The segments of a definite path; `None` for an indefinite one.
    pub fn segments(&self) -> Option<&[Segment]> {
        match &self.kind {
            QueryKind::Definite(segments) => Some(segments),
            QueryKind::Indefinite(_) => None,
        }
    }

    pub fn is_definite(&self) -> bool {
        matches!(self.kind, QueryKind::Definite(_))
    }

    /// `Some(value)`, or `None` when a definite path finds nothing. Indefinite paths always
    /// answer with a list.
    pub fn select(&self, root: &Value) -> Option<Value> {
        match &self.kind {
            QueryKind::Definite(segments) => walk(root, segments).cloned(),
            QueryKind::Indefinite(path) => Some(Value::Array(path.query(root).all().into_iter().cloned().collect())),
        }
    }

    /// Borrowing form of [`Query::select`] for definite paths (no clone); `None` for indefinite.
    pub fn select_ref<'v>(&self, root: &'v Value) -> Option<&'v Value> {
        match &self.kind {
            QueryKind::Definite(segments) => walk(root, segments),
            QueryKind::Indefinite(_) => None,
        }
    }

    /// The Jayway normalized form used in AWS error messages: `$['a']['b'][0]`.
    pub fn normalized(&self) -> String {
        match &self.kind {
            QueryKind::Definite(segments) => normalized(segments),
            QueryKind::Indefinite(_) => self.text.to_string(),
        }
    }
}

fn walk<'v>(root: &'v Value, segments: &[Segment]) -> Option<&'v Value> {
    let mut current = root;
    for segment in segments {
        current = match (segment, current) {
            (Segment::Field(name), Value::Object(map)) => map.get(name)?,
            (Segment::Index(i), Value::Array(items)) => {
                let idx = if *i < 0 { items.len() as i64 + i } else { *i };
                if idx < 0 {
                    return None;
                }
                items.get(idx as usize)?
            }
            _ => return None,
        };
    }
    Some(current)
}

fn normalized(segments: &[Segment]) -> String {
    let mut out = String::from("$");
    for s in segments {
        match s {
            Segment::Field(name) => {
                out.push_str("['");
                out.push_str(name);
                out.push_str("']");
            }
            Segment::Index(i) => out.push_str(&format!("[{i}]")),
        }
    }
    out
}

/// A writing path.
#[derive(Debug, Clone, PartialEq)]
pub struct ReferencePath {
    text: Arc<str>,
    segments: Vec<Segment>,
}

impl ReferencePath {
    pub fn text(&self) -> &str {
        &self.text
    }

    pub fn is_root(&self) -> bool {
        self.segments.is_empty()
    }

    pub fn segments(&self) -> &[Segment] {
        &self.segments
    }

    pub fn get<'v>(&self, root: &'v Value) -> Option<&'v Value> {
        walk(root, &self.segments)
    }

    /// Put `value` at this path inside `target`, creating objects on the way, as ResultPath does.
    /// Fails (with the reason) when the way is blocked by a non-object or an index that is out
    /// of range.
    pub fn insert(&self, target: Value, value: Value) -> Result<Value, String> {
        if self.segments.is_empty() {
            return Ok(value);
        }
        let mut root = target;
        let mut cursor = &mut root;
        let last = self.segments.len() - 1;
        for (i, segment) in self.segments.iter().enumerate() {
            match segment {
                Segment::Field(name) => {
                    if !cursor.is_object() {
                        return Err(format!(
                            "Unable to apply ResultPath \"{}\" to input: the value at {} is not an object",
                            self.text,
                            normalized(&self.segments[..i])
                        ));
                    }
                    let map = cursor.as_object_mut().expect("checked above");
                    if i == last {
                        map.insert(name.clone(), value);
                        return Ok(root);
                    }
                    cursor = map.entry(name.clone()).or_insert_with(|| Value::Object(Map::new()));
                }
                Segment::Index(index) => {
                    let Some(items) = cursor.as_array_mut() else {
                        return Err(format!(
                            "Unable to apply ResultPath \"{}\" to input: the value at {} is not an array",
                            self.text,
                            normalized(&self.segments[..i])
                        ));
                    };
                    let idx = if *index < 0 { items.len() as i64 + index } else { *index };
                    if idx < 0 || idx as usize >= items.len() {
                        return Err(format!(
                            "Unable to apply ResultPath \"{}\" to input: index out of range",
                            self.text
                        ));
                    }
                    let slot = &mut items[idx as usize];
                    if i == last {
                        *slot = value;
                        return Ok(root);
                    }
                    cursor = slot;
                }
            }
        }
        Ok(root)
    }
}

/// Where a path reads from.
#[derive(Debug, Clone, PartialEq)]
pub enum Source {
    /// `$...`: the state's input (or whatever the field is defined against).
    Input,
    /// `$$...`: the context object.
    Context,
    /// `$name...`: a workflow variable.
    Variable(String),
}

/// A path with its source, as written in a `.$` value or a `…Path` field.
#[derive(Debug, Clone, PartialEq)]
pub struct PathExpr {
    pub source: Source,
    /// The path applied to the source, rewritten to start at `$`.
    pub query: Query,
    text: Arc<str>,
}

impl PathExpr {
    pub fn parse(text: &str) -> Result<Self, PathError> {
        if let Some(rest) = text.strip_prefix("$$") {
            let query = parse_query(&format!("${rest}"))?;
            return Ok(Self { source: Source::Context, query, text: text.into() });
        }
        let Some(rest) = text.strip_prefix('$') else {
            return Err(PathError::new(text, "a path starts with '$'"));
        };
        let name_len = rest.find(|c: char| !(c.is_alphanumeric() || c == '_')).unwrap_or(rest.len());
        if name_len > 0 {
            let (name, tail) = rest.split_at(name_len);
            if name.chars().next().is_some_and(|c| c.is_ascii_digit()) {
                return Err(PathError::new(text, "a variable name cannot start with a digit"));
            }
            let query = parse_query(&format!("${tail}"))?;
            return Ok(Self { source: Source::Variable(name.to_string()), query, text: text.into() });
        }
        Ok(Self { source: Source::Input, query: parse_query(text)?, text: text.into() })
    }

    pub fn text(&self) -> &str {
        &self.text
    }
}

enum Token {
    Segment(Segment),
    Descendant,
    Wildcard,
    /// Bracket content that is not a single name or index, already in RFC 9535 spelling.
    Bracket(String),
}

fn tokenize(text: &str) -> Result<Vec<Token>, PathError> {
    let chars: Vec<char> = text.chars().collect();
    if chars.first() != Some(&'$') {
        return Err(PathError::new(text, "a path starts with '$'"));
    }
    let mut tokens = Vec::new();
    let mut i = 1;
    while i < chars.len() {
        match chars[i] {
            '.' => {
                i += 1;
                if chars.get(i) == Some(&'.') {
                    tokens.push(Token::Descendant);
                    i += 1;
                    if chars.get(i) == Some(&'[') {
                        continue;
                    }
                }
                let start = i;
                while i < chars.len() && chars[i] != '.' && chars[i] != '[' {
                    i += 1;
                }
                let name: String = chars[start..i].iter().collect();
                if name.is_empty() {
                    return Err(PathError::new(text, format!("empty name at character {start}")));
                }
                if name == "*" {
                    tokens.push(Token::Wildcard);
                } else if name.ends_with("()") {
                    return Err(PathError::new(text, format!("functions such as '{name}' are not supported")));
                } else {
                    tokens.push(Token::Segment(Segment::Field(name)));
                }
            }
            '[' => {
                let start = i + 1;
                let end = bracket_end(&chars, start).ok_or_else(|| PathError::new(text, "unclosed '['"))?;
                let raw: String = chars[start..end].iter().collect();
                tokens.push(bracket_token(text, raw.trim())?);
                i = end + 1;
            }
            c => return Err(PathError::new(text, format!("unexpected '{c}' at character {i}"))),
        }
    }
    Ok(tokens)
}

/// Index of the `]` that closes the bracket opened just before `start`, skipping quoted strings
/// and nested brackets (filters).
fn bracket_end(chars: &[char], start: usize) -> Option<usize> {
    let mut depth = 0usize;
    let mut quote: Option<char> = None;
    let mut i = start;
    while i < chars.len() {
        let c = chars[i];
        match quote {
            Some(q) => {
                if c == '\\' {
                    i += 1;
                } else if c == q {
                    quote = None;
                }
            }
            None => match c {
                '\'' | '"' => quote = Some(c),
                '[' | '(' => depth += 1,
                ')' => depth = depth.saturating_sub(1),
                ']' if depth == 0 => return Some(i),
                ']' => depth -= 1,
                _ => {}
            },
        }
        i += 1;
    }
    None
}

fn bracket_token(text: &str, raw: &str) -> Result<Token, PathError> {
    if raw == "*" {
        return Ok(Token::Wildcard);
    }
    if let Ok(i) = raw.parse::<i64>() {
        return Ok(Token::Segment(Segment::Index(i)));
    }
    if let Some(name) = single_quoted_name(raw) {
        return Ok(Token::Segment(Segment::Field(name)));
    }
    if raw.starts_with('?') {
        return Ok(Token::Bracket(raw.to_string()));
    }
    // Unions of names or indices and slices: re-spell quoted names, keep the rest.
    let mut rfc = String::new();
    for (n, part) in split_top_level(raw, ',').iter().enumerate() {
        if n > 0 {
            rfc.push(',');
        }
        let part = part.trim();
        if let Some(name) = single_quoted_name(part) {
            push_rfc_string(&mut rfc, &name);
        } else if part.chars().all(|c| c.is_ascii_digit() || c == '-' || c == ':' || c == ' ') && !part.is_empty() {
            rfc.push_str(part);
        } else {
            return Err(PathError::new(text, format!("'[{raw}]' is not a name, index, slice, wildcard or filter")));
        }
    }
    Ok(Token::Bracket(rfc))
}

/// `'name'` or `"name"`. Like Jayway, only an escaped quote is an escape; any other backslash is
/// part of the name (AWS resolves `$['Test\""Name"']` to the key `Test\""Name"`).
fn single_quoted_name(raw: &str) -> Option<String> {
    let mut chars = raw.chars();
    let quote = chars.next()?;
    if quote != '\'' && quote != '"' {
        return None;
    }
    let rest: Vec<char> = chars.collect();
    let mut out = String::new();
    let mut i = 0;
    while i < rest.len() {
        let c = rest[i];
        if c == '\\' && rest.get(i + 1) == Some(&quote) {
            out.push(quote);
            i += 2;
            continue;
        }
        if c == quote {
            return (i == rest.len() - 1).then_some(out);
        }
        out.push(c);
        i += 1;
    }
    None
}

fn split_top_level(raw: &str, sep: char) -> Vec<String> {
    let mut parts = vec![String::new()];
    let mut quote: Option<char> = None;
    for c in raw.chars() {
        match quote {
            Some(q) if c == q => quote = None,
            Some(_) => {}
            None if c == '\'' || c == '"' => quote = Some(c),
            None if c == sep => {
                parts.push(String::new());
                continue;
            }
            None => {}
        }
        parts.last_mut().expect("never empty").push(c);
    }
    parts
}

fn push_rfc_string(out: &mut String, s: &str) {
    out.push('\'');
    for c in s.chars() {
        match c {
            '\'' => out.push_str("\\'"),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('\'');
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn definite_paths_select_one_value() {
        let doc = json!({"a": {"b-c": [1, 2, {"d": true}]}, "Test\\\"\"Name\"": 5});
        assert_eq!(parse_query("$").unwrap().select(&doc), Some(doc.clone()));
        assert_eq!(parse_query("$.a.b-c[2].d").unwrap().select(&doc), Some(json!(true)));
        assert_eq!(parse_query("$.a['b-c'][-1]").unwrap().select(&doc), Some(json!({"d": true})));
        assert_eq!(parse_query("$.a.missing").unwrap().select(&doc), None);
        assert_eq!(parse_query("$.a.missing").unwrap().normalized(), "$['a']['missing']");
    }

    #[test]
    fn indefinite_paths_select_lists() {
        let doc = json!({"items": [{"v": 1, "s": 0}, {"v": 2, "s": 1}, {"v": 3, "s": 0}]});
        assert_eq!(parse_query("$.items[*].v").unwrap().select(&doc), Some(json!([1, 2, 3])));
        assert_eq!(parse_query("$.items[1:].v").unwrap().select(&doc), Some(json!([2, 3])));
        assert_eq!(parse_query("$.items[:1]").unwrap().select(&doc), Some(json!([{"v": 1, "s": 0}])));
        assert_eq!(parse_query("$.items[?(@.s == 0)].v").unwrap().select(&doc), Some(json!([1, 3])));
        assert_eq!(parse_query("$..v").unwrap().select(&doc), Some(json!([1, 2, 3])));
        assert_eq!(parse_query("$.nothing[*]").unwrap().select(&doc), Some(json!([])));
    }

    #[test]
    fn reference_paths_write_through_missing_objects() {
        let path = parse_reference("$.a.b").unwrap();
        assert_eq!(path.insert(json!({"x": 1}), json!(2)).unwrap(), json!({"x": 1, "a": {"b": 2}}));
        assert!(path.insert(json!({"a": 3}), json!(2)).is_err());
        assert!(parse_reference("$.a[*]").is_err());
        assert_eq!(parse_reference("$").unwrap().insert(json!(1), json!(2)).unwrap(), json!(2));
    }

    #[test]
    fn sources_are_told_apart() {
        assert_eq!(PathExpr::parse("$$.Execution.Id").unwrap().source, Source::Context);
        assert_eq!(PathExpr::parse("$x.y").unwrap().source, Source::Variable("x".into()));
        assert_eq!(PathExpr::parse("$.y").unwrap().source, Source::Input);
        assert!(PathExpr::parse("x").is_err());
    }
}
