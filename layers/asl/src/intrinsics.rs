//! The `States.*` intrinsic functions of the JSONPath query language: parsing
//! `States.Format('{}', $.x)` into a [`Call`] and evaluating it the way AWS Step Functions does.
//!
//! AWS evaluates these on the JVM, and the recorded results show it. The quirks reproduced here:
//! - `States.Format` renders a non-string value the way Java's `toString` does (`{a=1, b=[]}`,
//!   `[1, 2]`, `1.1`, `null`), not as JSON. `States.ArrayContains` compares elements by that same
//!   rendering, so `true` matches `"true"`; `States.Hash` renders non-string data that way too.
//! - Integer parameters (`ArrayPartition`, `ArrayRange`, `ArrayGetItem`, `MathRandom`) truncate a
//!   fraction like Java's `intValue()`; `States.MathAdd` rounds each operand like `Math.round`
//!   (half up: `-1.5` becomes `-1`) and works in the 32-bit `int` range. Every numeric result is
//!   an integer.
//! - `States.ArrayUnique` returns the elements in `java.util.HashSet` iteration order.
//! - `States.StringSplit` behaves like `StringTokenizer`: any delimiter character splits, and
//!   empty tokens are dropped.
//! - `States.Base64Decode` is lenient like commons-codec: characters outside the alphabet are
//!   skipped and decoding stops at the first `=`.
//! - `States.StringToJson` of a blank string is `null`.
//! - Bad arguments fail with the cause `Invalid arguments in States.<Function>`, the text AWS
//!   is observed to put in its cause (AWS files it under `States.Runtime`; the executor contract
//!   here is `States.IntrinsicFailure`).

use std::collections::HashMap;
use std::fmt::Write as _;

use base64::Engine as _;
use serde_json::{Number, Value};
use sha1::Digest as _;

use crate::error::Failure;
use crate::path::PathExpr;

/// A parsed call such as `States.Format('{} {}', $.a, States.UUID())`.
#[derive(Debug, Clone, PartialEq)]
pub struct Call {
    /// The full name, e.g. `States.Format`.
    pub name: String,
    pub args: Vec<Arg>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Arg {
    /// A string, number, boolean or null literal.
    ///
    /// A literal template of `States.Format` (its first argument) keeps the escapes `\{`, `\}`
    /// and `\\` so that an escaped brace stays a literal brace instead of becoming a placeholder;
    /// every other string literal holds its unescaped value.
    Literal(Value),
    /// `$.x`, `$$.Execution.Id`, `$var.x`.
    Path(PathExpr),
    Call(Call),
}

/// True when a `.$` value is an intrinsic call rather than a path.
pub fn is_intrinsic(text: &str) -> bool {
    text.trim_start().starts_with("States.")
}

/// Parse a call; the error message says what is wrong and where in the text.
pub fn parse(text: &str) -> Result<Call, String> {
    let mut parser = Parser { text, chars: text.chars().collect(), pos: 0 };
    parser.skip_ws();
    let call = parser.call(1)?;
    parser.skip_ws();
    match parser.peek() {
        None => Ok(call),
        Some(c) => Err(parser.error(format!("unexpected '{c}' after the end of the call"))),
    }
}

/// Evaluate a call. `resolve` reads a path argument (the executor knows the input, the context
/// object and the variables). Failures are `States.IntrinsicFailure` (bad arguments) or whatever
/// `resolve` returns (`States.Runtime` for a missing path).
pub fn evaluate(call: &Call, resolve: &mut dyn FnMut(&PathExpr) -> Result<Value, Failure>) -> Result<Value, Failure> {
    eval_call(call, resolve, 1)
}

// ---------------------------------------------------------------------------------------------
// The function table

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Func {
    Format,
    StringToJson,
    JsonToString,
    Array,
    ArrayPartition,
    ArrayContains,
    ArrayRange,
    ArrayGetItem,
    ArrayLength,
    ArrayUnique,
    Base64Encode,
    Base64Decode,
    Hash,
    JsonMerge,
    MathRandom,
    MathAdd,
    StringSplit,
    Uuid,
}

#[derive(Debug, Clone)]
struct Spec {
    name: &'static str,
    func: Func,
    min_args: usize,
    /// `None`: any number from `min_args` on.
    max_args: Option<usize>,
}

const FUNCTIONS: &[Spec] = &[
    Spec { name: "States.Format", func: Func::Format, min_args: 1, max_args: None },
    Spec { name: "States.StringToJson", func: Func::StringToJson, min_args: 1, max_args: Some(1) },
    Spec { name: "States.JsonToString", func: Func::JsonToString, min_args: 1, max_args: Some(1) },
    Spec { name: "States.Array", func: Func::Array, min_args: 0, max_args: None },
    Spec { name: "States.ArrayPartition", func: Func::ArrayPartition, min_args: 2, max_args: Some(2) },
    Spec { name: "States.ArrayContains", func: Func::ArrayContains, min_args: 2, max_args: Some(2) },
    Spec { name: "States.ArrayRange", func: Func::ArrayRange, min_args: 3, max_args: Some(3) },
    Spec { name: "States.ArrayGetItem", func: Func::ArrayGetItem, min_args: 2, max_args: Some(2) },
    Spec { name: "States.ArrayLength", func: Func::ArrayLength, min_args: 1, max_args: Some(1) },
    Spec { name: "States.ArrayUnique", func: Func::ArrayUnique, min_args: 1, max_args: Some(1) },
    Spec { name: "States.Base64Encode", func: Func::Base64Encode, min_args: 1, max_args: Some(1) },
    Spec { name: "States.Base64Decode", func: Func::Base64Decode, min_args: 1, max_args: Some(1) },
    Spec { name: "States.Hash", func: Func::Hash, min_args: 2, max_args: Some(2) },
    Spec { name: "States.JsonMerge", func: Func::JsonMerge, min_args: 3, max_args: Some(3) },
    Spec { name: "States.MathRandom", func: Func::MathRandom, min_args: 2, max_args: Some(3) },
    Spec { name: "States.MathAdd", func: Func::MathAdd, min_args: 2, max_args: Some(2) },
    Spec { name: "States.StringSplit", func: Func::StringSplit, min_args: 2, max_args: Some(2) },
    Spec { name: "States.UUID", func: Func::Uuid, min_args: 0, max_args: Some(0) },
];

fn lookup(name: &str) -> Option<&'static Spec> {
    FUNCTIONS.iter().find(|spec| spec.name == name)
}

impl Spec {
    fn accepts(&self, count: usize) -> bool {
        count >= self.min_args && self.max_args.is_none_or(|max| count <= max)
    }

    fn arity(&self) -> String {
        let plural = |n: usize| if n == 1 { "argument" } else { "arguments" };
        match self.max_args {
            None => format!("at least {} {}", self.min_args, plural(self.min_args)),
            Some(max) if max == self.min_args => format!("exactly {max} {}", plural(max)),
            Some(max) => format!("{} to {max} arguments", self.min_args),
        }
    }
}

/// AWS allows up to 10 intrinsic functions nested in one field; the limit also keeps the
/// recursive parser's stack small whatever the input.
const MAX_NESTING: usize = 10;
/// Brackets and parentheses inside one path argument (filters). Far above anything real; it
/// only bounds the recursion of the filter parser behind `PathExpr::parse`.
const MAX_PATH_NESTING: usize = 32;
/// Evaluation depth for hand-built calls (parsed ones never exceed `MAX_NESTING`).
const MAX_EVAL_NESTING: usize = 64;
/// The documented input limit of `States.Base64Encode`, `States.Base64Decode` and `States.Hash`,
/// counted in UTF-16 code units like Java's `String.length()`.
const MAX_INPUT_CHARS: usize = 10_000;
/// The documented output limit of `States.ArrayRange`.
const MAX_RANGE_ITEMS: i64 = 1000;

// ---------------------------------------------------------------------------------------------
// Parsing

#[derive(Debug)]
struct Parser<'t> {
    text: &'t str,
    chars: Vec<char>,
    pos: usize,
}

impl Parser<'_> {
    fn peek(&self) -> Option<char> {
        self.chars.get(self.pos).copied()
    }

    fn bump(&mut self) -> Option<char> {
        let c = self.peek()?;
        self.pos += 1;
        Some(c)
    }

    fn eat(&mut self, wanted: char) -> bool {
        if self.peek() == Some(wanted) {
            self.pos += 1;
            true
        } else {
            false
        }
    }

    fn skip_ws(&mut self) {
        while self.peek().is_some_and(char::is_whitespace) {
            self.pos += 1;
        }
    }

    fn error(&self, why: impl std::fmt::Display) -> String {
        self.error_at(self.pos, why)
    }

    fn error_at(&self, pos: usize, why: impl std::fmt::Display) -> String {
        format!("'{}' is not a valid intrinsic function call: {why} at character {pos}", self.text)
    }

    /// A name or keyword: letters, digits, `_` and `.`.
    fn word(&mut self) -> String {
        let start = self.pos;
        while self.peek().is_some_and(|c| c.is_alphanumeric() || c == '_' || c == '.') {
            self.pos += 1;
        }
        self.chars[start..self.pos].iter().collect()
    }

    fn call(&mut self, depth: usize) -> Result<Call, String> {
        let start = self.pos;
        let name = self.word();
        if name.is_empty() {
            return Err(self.error("expected a function name such as States.Format"));
        }
        let Some(spec) = lookup(&name) else {
            return Err(self.error_at(start, format!("unknown function '{name}'")));
        };
        if depth > MAX_NESTING {
            return Err(self.error_at(start, format!("more than {MAX_NESTING} nested intrinsic functions")));
        }
        self.skip_ws();
        if !self.eat('(') {
            return Err(self.error(format!("expected '(' after {name}")));
        }
        let mut args = Vec::new();
        self.skip_ws();
        if !self.eat(')') {
            loop {
                self.skip_ws();
                let template = spec.func == Func::Format && args.is_empty();
                args.push(self.arg(depth, template)?);
                self.skip_ws();
                if self.eat(',') {
                    continue;
                }
                if self.eat(')') {
                    break;
                }
                return Err(match self.peek() {
                    None => self.error(format!("missing ')' to close {name}(")),
                    Some(c) => self.error(format!("expected ',' or ')' but found '{c}'")),
                });
            }
        }
        if !spec.accepts(args.len()) {
            return Err(self.error_at(start, format!("{name} takes {} but was given {}", spec.arity(), args.len())));
        }
        Ok(Call { name, args })
    }

    fn arg(&mut self, depth: usize, template: bool) -> Result<Arg, String> {
        match self.peek() {
            None | Some(',' | ')') => Err(self.error("expected an argument")),
            Some('\'') => Ok(Arg::Literal(Value::String(self.string(template)?))),
            Some('$') => Ok(Arg::Path(self.path()?)),
            Some(c) if c == '-' || c.is_ascii_digit() => Ok(Arg::Literal(self.number()?)),
            Some(c) if c.is_alphabetic() => {
                let start = self.pos;
                let word = self.word();
                match word.as_str() {
                    "true" => Ok(Arg::Literal(Value::Bool(true))),
                    "false" => Ok(Arg::Literal(Value::Bool(false))),
                    "null" => Ok(Arg::Literal(Value::Null)),
                    w if w.starts_with("States.") => {
                        self.pos = start;
                        Ok(Arg::Call(self.call(depth + 1)?))
                    }
                    w => Err(self.error_at(
                        start,
                        format!(
                            "unexpected '{w}'; an argument is a 'string', a number, true, false, null, \
                             a path starting with '$' or a States.* call"
                        ),
                    )),
                }
            }
            Some(c) => Err(self.error(format!("unexpected '{c}' where an argument was expected"))),
        }
    }

    /// A single-quoted string. The only escapes are `\'`, `\{`, `\}` and `\\` (AWS rejects the
    /// definition for any other, `\"` and `\n` included).
    fn string(&mut self, template: bool) -> Result<String, String> {
        let open = self.pos;
        self.pos += 1;
        let mut out = String::new();
        loop {
            match self.bump() {
                None => return Err(self.error_at(open, "unterminated string")),
                Some('\'') => return Ok(out),
                Some('\\') => match self.bump() {
                    Some('\'') => out.push('\''),
                    Some(c @ ('{' | '}' | '\\')) => {
                        if template {
                            out.push('\\');
                        }
                        out.push(c);
                    }
                    Some(c) => {
                        return Err(self.error_at(
                            self.pos - 2,
                            format!("'\\{c}' is not a valid escape (only \\', \\{{, \\}} and \\\\ are)"),
                        ))
                    }
                    None => return Err(self.error_at(open, "unterminated string")),
                },
                Some(c) => out.push(c),
            }
        }
    }

    /// A path runs to the `,` or `)` that ends the argument, skipping over quoted names and the
    /// brackets and parentheses of filters.
    fn path(&mut self) -> Result<PathExpr, String> {
        let start = self.pos;
        let mut depth = 0usize;
        let mut quote: Option<char> = None;
        while let Some(c) = self.peek() {
            match quote {
                Some(q) => {
                    if c == '\\' {
                        self.pos += 1;
                    } else if c == q {
                        quote = None;
                    }
                }
                None => match c {
                    '\'' | '"' => quote = Some(c),
                    '[' | '(' => {
                        depth += 1;
                        if depth > MAX_PATH_NESTING {
                            return Err(self.error("brackets nested too deeply in the path"));
                        }
                    }
                    ']' | ')' if depth > 0 => depth -= 1,
                    ',' | ')' => break,
                    _ => {}
                },
            }
            self.pos += 1;
        }
        let end = self.pos.min(self.chars.len());
        if quote.is_some() || depth > 0 {
            return Err(self.error_at(start, "unclosed quote or bracket in the path"));
        }
        let raw: String = self.chars[start..end].iter().collect();
        PathExpr::parse(raw.trim_end()).map_err(|e| self.error_at(start, e.message))
    }

    /// `-?digits(.digits)?([eE][+-]?digits)?`; integers stay integers.
    fn number(&mut self) -> Result<Value, String> {
        let start = self.pos;
        self.eat('-');
        let mut float = false;
        self.digits()?;
        if self.eat('.') {
            float = true;
            self.digits()?;
        }
        if self.peek().is_some_and(|c| c == 'e' || c == 'E') {
            float = true;
            self.pos += 1;
            if !self.eat('+') {
                self.eat('-');
            }
            self.digits()?;
        }
        let text: String = self.chars[start..self.pos].iter().collect();
        if !float {
            if let Ok(i) = text.parse::<i64>() {
                return Ok(Value::from(i));
            }
            if let Ok(u) = text.parse::<u64>() {
                return Ok(Value::from(u));
            }
        }
        text.parse::<f64>()
            .ok()
            .and_then(Number::from_f64)
            .map(Value::Number)
            .ok_or_else(|| self.error_at(start, format!("the number {text} is out of range")))
    }

    fn digits(&mut self) -> Result<(), String> {
        let start = self.pos;
        while self.peek().is_some_and(|c| c.is_ascii_digit()) {
            self.pos += 1;
        }
        if self.pos == start {
            return Err(self.error("expected a digit"));
        }
        Ok(())
    }
}

// ---------------------------------------------------------------------------------------------
// Evaluation

fn invalid(spec: &Spec) -> Failure {
    Failure::intrinsic(format!("Invalid arguments in {}", spec.name))
}

fn eval_call(
    call: &Call,
    resolve: &mut dyn FnMut(&PathExpr) -> Result<Value, Failure>,
    depth: usize,
) -> Result<Value, Failure> {
    let Some(spec) = lookup(&call.name) else {
        return Err(Failure::intrinsic(format!("Unknown intrinsic function {}", call.name)));
    };
    if depth > MAX_EVAL_NESTING {
        return Err(Failure::intrinsic(format!("Too many nested intrinsic functions in {}", spec.name)));
    }
    if !spec.accepts(call.args.len()) {
        return Err(invalid(spec));
    }
    // AWS resolves every argument before it looks at any of them, so a missing path wins over
    // a bad argument.
    let mut args = Vec::with_capacity(call.args.len());
    for arg in &call.args {
        args.push(match arg {
            Arg::Literal(value) => value.clone(),
            Arg::Path(path) => resolve(path)?,
            Arg::Call(inner) => eval_call(inner, resolve, depth + 1)?,
        });
    }
    let literal_template = matches!(call.args.first(), Some(Arg::Literal(_)));
    let result = match spec.func {
        Func::Format => format(&args, literal_template),
        Func::StringToJson => string_to_json(&args[0]),
        Func::JsonToString => serde_json::to_string(&args[0]).ok().map(Value::String),
        Func::Array => Some(Value::Array(args)),
        Func::ArrayPartition => array_partition(&args[0], &args[1]),
        Func::ArrayContains => array_contains(&args[0], &args[1]),
        Func::ArrayRange => array_range(&args[0], &args[1], &args[2]),
        Func::ArrayGetItem => array_get_item(&args[0], &args[1]),
        Func::ArrayLength => args[0].as_array().map(|items| Value::from(items.len())),
        Func::ArrayUnique => args[0].as_array().map(|items| Value::Array(java_hash_set_order(items))),
        Func::Base64Encode => base64_encode(&args[0]),
        Func::Base64Decode => base64_decode(&args[0]),
        Func::Hash => hash(&args[0], &args[1]),
        Func::JsonMerge => json_merge(&args[0], &args[1], &args[2]),
        Func::MathRandom => math_random(&args[0], &args[1], args.get(2)),
        Func::MathAdd => math_add(&args[0], &args[1]),
        Func::StringSplit => string_split(&args[0], &args[1]),
        Func::Uuid => Some(Value::String(uuid::Uuid::new_v4().to_string())),
    };
    result.ok_or_else(|| invalid(spec))
}

/// `{}` takes the next argument; a lone `{` or `}` (or a `{{}}`) and a placeholder count that
/// differs from the argument count are invalid arguments. Only a literal template knows the
/// escapes `\{`, `\}` and `\\` (see [`Arg::Literal`]); a template read from a path is plain text.
fn format(args: &[Value], literal_template: bool) -> Option<Value> {
    let (template, values) = args.split_first()?;
    let template = template.as_str()?;
    let mut out = String::with_capacity(template.len());
    let mut next = values.iter();
    let mut chars = template.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' if literal_template => match chars.next() {
                Some(escaped) => out.push(escaped),
                None => out.push('\\'),
            },
            '{' if chars.peek() == Some(&'}') => {
                chars.next();
                java_string(next.next()?, &mut out);
            }
            '{' | '}' => return None,
            c => out.push(c),
        }
    }
    if next.next().is_some() {
        return None;
    }
    Some(Value::String(out))
}

/// A blank string is `null` (recorded AWS behaviour). Text after the first JSON value is
/// ignored, as Jackson's `readTree` does by default.
fn string_to_json(text: &Value) -> Option<Value> {
    let text = text.as_str()?;
    if text.trim().is_empty() {
        return Some(Value::Null);
    }
    let parsed = serde_json::Deserializer::from_str(text).into_iter::<Value>().next()?.ok()?;
    Some(without_negative_zero(parsed))
}

/// serde_json reads `-0` as the float `-0.0`; Java reads it as the integer `0`, and AWS answers `0`.
fn without_negative_zero(value: Value) -> Value {
    match value {
        Value::Number(n) if n.as_f64().is_some_and(|f| f == 0.0 && f.is_sign_negative()) => Value::from(0),
        Value::Array(items) => Value::Array(items.into_iter().map(without_negative_zero).collect()),
        Value::Object(map) => Value::Object(map.into_iter().map(|(k, v)| (k, without_negative_zero(v))).collect()),
        other => other,
    }
}

/// A number truncated toward zero, as Java's `intValue()`/`longValue()` would; `None` for
/// anything that is not a number (AWS does not convert numeric strings).
fn truncated(value: &Value) -> Option<i64> {
    let n = value.as_number()?;
    if let Some(i) = n.as_i64() {
        return Some(i);
    }
    if let Some(u) = n.as_u64() {
        return Some(i64::try_from(u).unwrap_or(i64::MAX));
    }
    // `as` saturates, like Java's narrowing of a double.
    n.as_f64().map(|f| f.trunc() as i64)
}

/// Java's `Math.round`: the nearest integer, halves rounded up (`-1.5` → `-1`).
fn java_round(value: &Value) -> Option<i64> {
    let n = value.as_number()?;
    if let Some(i) = n.as_i64() {
        return Some(i);
    }
    if let Some(u) = n.as_u64() {
        return Some(i64::try_from(u).unwrap_or(i64::MAX));
    }
    let f = n.as_f64()?;
    let floor = f.floor();
    // `f - floor` is exact, so 0.49999999999999994 stays below one half.
    let rounded = if f - floor >= 0.5 { floor + 1.0 } else { floor };
    Some(rounded as i64)
}

fn as_int32(value: i64) -> Option<i64> {
    i32::try_from(value).ok().map(i64::from)
}

fn array_partition(array: &Value, size: &Value) -> Option<Value> {
    let items = array.as_array()?;
    let size = usize::try_from(truncated(size)?).ok().filter(|&s| s > 0)?;
    Some(Value::Array(items.chunks(size).map(|chunk| Value::Array(chunk.to_vec())).collect()))
}

/// AWS compares the `toString` renderings, so `true` matches `"true"` and `1` matches `"1"`,
/// while `1` does not match `1.0`.
fn array_contains(array: &Value, wanted: &Value) -> Option<Value> {
    let items = array.as_array()?;
    let mut target = String::new();
    java_string(wanted, &mut target);
    let mut rendered = String::new();
    let found = items.iter().any(|item| {
        rendered.clear();
        java_string(item, &mut rendered);
        rendered == target
    });
    Some(Value::Bool(found))
}

/// Inclusive of `end` when the step lands on it; the bounds and step are Java `int`s.
fn array_range(start: &Value, end: &Value, step: &Value) -> Option<Value> {
    let start = as_int32(truncated(start)?)?;
    let end = as_int32(truncated(end)?)?;
    let step = as_int32(truncated(step)?)?;
    if step == 0 {
        return None;
    }
    let count = if (step > 0 && start <= end) || (step < 0 && start >= end) { (end - start) / step + 1 } else { 0 };
    if count > MAX_RANGE_ITEMS {
        return None;
    }
    Some(Value::Array((0..count).map(|i| Value::from(start + i * step)).collect()))
}

/// Observed on AWS: any non-negative index into an empty array answers `null` instead of
/// failing, while an index past the end of a non-empty array fails.
fn array_get_item(array: &Value, index: &Value) -> Option<Value> {
    let items = array.as_array()?;
    let index = usize::try_from(truncated(index)?).ok()?;
    if items.is_empty() {
        return Some(Value::Null);
    }
    items.get(index).cloned()
}

fn utf16_len(text: &str) -> usize {
    text.chars().map(char::len_utf16).sum()
}

fn base64_encode(text: &Value) -> Option<Value> {
    let text = text.as_str().filter(|t| utf16_len(t) <= MAX_INPUT_CHARS)?;
    Some(Value::String(base64::engine::general_purpose::STANDARD.encode(text.as_bytes())))
}

fn base64_decode(text: &Value) -> Option<Value> {
    let text = text.as_str().filter(|t| utf16_len(t) <= MAX_INPUT_CHARS)?;
    Some(Value::String(String::from_utf8_lossy(&lenient_base64(text)).into_owned()))
}

/// Decode like commons-codec: skip characters outside the (standard or URL-safe) alphabet,
/// stop at the first `=`, decode a trailing group of 2 or 3 characters without padding and drop
/// a single leftover character. AWS accepts `'abc'`, `' YWJjZA== '` and `'ab==cd'` this way.
fn lenient_base64(text: &str) -> Vec<u8> {
    fn sextet(b: u8) -> Option<u32> {
        match b {
            b'A'..=b'Z' => Some(u32::from(b - b'A')),
            b'a'..=b'z' => Some(u32::from(b - b'a') + 26),
            b'0'..=b'9' => Some(u32::from(b - b'0') + 52),
            b'+' | b'-' => Some(62),
            b'/' | b'_' => Some(63),
            _ => None,
        }
    }
    let mut out = Vec::with_capacity(text.len() / 4 * 3 + 2);
    let mut acc = 0u32;
    let mut held = 0;
    for b in text.bytes() {
        if b == b'=' {
            break;
        }
        let Some(bits) = sextet(b) else { continue };
        acc = (acc << 6) | bits;
        held += 1;
        if held == 4 {
            out.extend_from_slice(&acc.to_be_bytes()[1..]);
            acc = 0;
            held = 0;
        }
    }
    match held {
        2 => out.push((acc >> 4) as u8),
        3 => out.extend_from_slice(&[(acc >> 10) as u8, (acc >> 2) as u8]),
        _ => {}
    }
    out
}

/// Non-string data is hashed in its `toString` form (observed on AWS); the algorithm name must
/// be spelled exactly as documented.
fn hash(data: &Value, algorithm: &Value) -> Option<Value> {
    let mut text = String::new();
    java_string(data, &mut text);
    if utf16_len(&text) > MAX_INPUT_CHARS {
        return None;
    }
    let bytes = text.as_bytes();
    let digest: Vec<u8> = match algorithm.as_str()? {
        "MD5" => md5::Md5::digest(bytes).to_vec(),
        "SHA-1" => sha1::Sha1::digest(bytes).to_vec(),
        "SHA-256" => sha2::Sha256::digest(bytes).to_vec(),
        "SHA-384" => sha2::Sha384::digest(bytes).to_vec(),
        "SHA-512" => sha2::Sha512::digest(bytes).to_vec(),
        _ => return None,
    };
    let mut hex = String::with_capacity(digest.len() * 2);
    for b in digest {
        let _ = write!(hex, "{b:02x}");
    }
    Some(Value::String(hex))
}

/// Shallow only: a deep merge (`true`, or the string `"true"` as Java's `parseBoolean` would
/// read it) is an invalid argument; any other flag merges shallowly, as AWS does for `'false'`.
fn json_merge(left: &Value, right: &Value, deep: &Value) -> Option<Value> {
    let deep = match deep {
        Value::Bool(b) => *b,
        Value::String(s) => s.eq_ignore_ascii_case("true"),
        _ => false,
    };
    if deep {
        return None;
    }
    let mut merged = left.as_object()?.clone();
    for (key, value) in right.as_object()? {
        merged.insert(key.clone(), value.clone());
    }
    Some(Value::Object(merged))
}

/// An integer in `[start, end)` from `java.util.Random`, so a seed gives the same number every
/// time (and, if AWS seeds `java.util.Random` the same way, the same number AWS gives).
fn math_random(start: &Value, end: &Value, seed: Option<&Value>) -> Option<Value> {
    let start = as_int32(truncated(start)?)?;
    let end = as_int32(truncated(end)?)?;
    let bound = i32::try_from(end - start).ok().filter(|&b| b > 0)?;
    let seed = match seed {
        Some(seed) => truncated(seed)?,
        // Fresh entropy from the v4 UUID generator (the crate has no other random source).
        None => uuid::Uuid::new_v4().as_u64_pair().0 as i64,
    };
    Some(Value::from(start + i64::from(JavaRandom::new(seed).next_int(bound))))
}

/// Each operand is rounded first, so `1.5 + 1.51` is `4`; operands and sum are Java `int`s.
fn math_add(a: &Value, b: &Value) -> Option<Value> {
    let a = as_int32(java_round(a)?)?;
    let b = as_int32(java_round(b)?)?;
    as_int32(a + b).map(Value::from)
}

/// `StringTokenizer`: every character of `delimiters` splits, and empty tokens are dropped.
fn string_split(text: &Value, delimiters: &Value) -> Option<Value> {
    let text = text.as_str()?;
    let delimiters = delimiters.as_str()?;
    let tokens = text
        .split(|c| delimiters.contains(c))
        .filter(|token| !token.is_empty())
        .map(|token| Value::String(token.to_string()))
        .collect();
    Some(Value::Array(tokens))
}

// ---------------------------------------------------------------------------------------------
// Java behaviour

/// Java's `String.valueOf` of the value as Jackson reads it into plain Java objects: strings
/// raw, maps `{k=v, k2=v2}`, lists `[a, b]`, doubles as `Double.toString`.
fn java_string(value: &Value, out: &mut String) {
    match value {
        Value::Null => out.push_str("null"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Number(n) => java_number(n, out),
        Value::String(s) => out.push_str(s),
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                java_string(item, out);
            }
            out.push(']');
        }
        Value::Object(map) => {
            out.push('{');
            for (i, (key, item)) in map.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                out.push_str(key);
                out.push('=');
                java_string(item, out);
            }
            out.push('}');
        }
    }
}

/// Integers as they are; doubles as `Double.toString`: `1.0`, `0.001`, `1.0E7`, `1.5E-4`.
fn java_number(n: &Number, out: &mut String) {
    if n.is_i64() || n.is_u64() {
        let _ = write!(out, "{n}");
        return;
    }
    let f = n.as_f64().unwrap_or(0.0);
    if f == 0.0 {
        out.push_str(if f.is_sign_negative() { "-0.0" } else { "0.0" });
        return;
    }
    let magnitude = f.abs();
    if (1e-3..1e7).contains(&magnitude) {
        let plain = format!("{f}");
        out.push_str(&plain);
        if !plain.contains('.') {
            out.push_str(".0");
        }
        return;
    }
    // `{:e}` gives the same shortest digits: `1.5e-4`, `1e20`.
    let scientific = format!("{f:e}");
    let (mantissa, exponent) = scientific.split_once('e').unwrap_or((scientific.as_str(), "0"));
    out.push_str(mantissa);
    if !mantissa.contains('.') {
        out.push_str(".0");
    }
    out.push('E');
    out.push_str(exponent);
}

/// `hashCode()` of the Java object Jackson would read the value into.
fn java_hash(value: &Value) -> i32 {
    fn long_hash(v: u64) -> i32 {
        (v ^ (v >> 32)) as i32
    }
    match value {
        Value::Null => 0,
        Value::Bool(true) => 1231,
        Value::Bool(false) => 1237,
        Value::Number(n) => match (n.as_i64(), n.as_u64(), n.as_f64()) {
            (Some(i), _, _) => i32::try_from(i).unwrap_or_else(|_| long_hash(i as u64)),
            (None, Some(u), _) => long_hash(u),
            (_, _, f) => long_hash(f.unwrap_or(0.0).to_bits()),
        },
        Value::String(s) => java_string_hash(s),
        Value::Array(items) => items.iter().fold(1i32, |h, item| h.wrapping_mul(31).wrapping_add(java_hash(item))),
        Value::Object(map) => {
            map.iter().fold(0i32, |h, (key, item)| h.wrapping_add(java_string_hash(key) ^ java_hash(item)))
        }
    }
}

fn java_string_hash(s: &str) -> i32 {
    s.encode_utf16().fold(0i32, |h, unit| h.wrapping_mul(31).wrapping_add(i32::from(unit)))
}

/// The distinct elements in the order `new ArrayList<>(new HashSet<>(list))` yields them: by
/// bucket of the final table, then by insertion within a bucket (resizes keep that order).
/// AWS returns `[false, true]` for `[true, false, true, false]`, which this reproduces. Bins
/// that Java would turn into trees (9+ colliding elements in a table of 64+) are kept in
/// insertion order, which may differ from Java in that rare case.
fn java_hash_set_order(items: &[Value]) -> Vec<Value> {
    const TREEIFY_THRESHOLD: usize = 8;
    const MIN_TREEIFY_CAPACITY: usize = 64;
    fn spread(h: i32) -> usize {
        let h = h as u32;
        (h ^ (h >> 16)) as usize
    }
    fn bins_of(hashes: &[usize], capacity: usize) -> HashMap<usize, usize> {
        let mut bins = HashMap::new();
        for h in hashes {
            *bins.entry(h & (capacity - 1)).or_insert(0) += 1;
        }
        bins
    }

    // `HashSet(Collection)` sizes the table from the list length, duplicates included.
    let wanted = ((items.len() as f32 / 0.75) as usize).saturating_add(1).max(16);
    let mut capacity = wanted.checked_next_power_of_two().unwrap_or(1 << 30).min(1 << 30);
    let mut unique: Vec<&Value> = Vec::new();
    let mut hashes: Vec<usize> = Vec::new();
    let mut by_hash: HashMap<usize, Vec<usize>> = HashMap::new();
    let mut bins: HashMap<usize, usize> = HashMap::new();
    for item in items {
        let h = spread(java_hash(item));
        let same = by_hash.entry(h).or_default();
        if same.iter().any(|&i| unique[i] == item) {
            continue;
        }
        same.push(unique.len());
        unique.push(item);
        hashes.push(h);
        let bin = bins.entry(h & (capacity - 1)).or_insert(0);
        *bin += 1;
        let mut resize = *bin > TREEIFY_THRESHOLD && capacity < MIN_TREEIFY_CAPACITY;
        if resize {
            capacity *= 2;
        }
        if unique.len() > capacity / 4 * 3 {
            capacity *= 2;
            resize = true;
        }
        if resize {
            bins = bins_of(&hashes, capacity);
        }
    }
    let mut order: Vec<usize> = (0..unique.len()).collect();
    order.sort_by_key(|&i| hashes[i] & (capacity - 1));
    order.into_iter().map(|i| unique[i].clone()).collect()
}

/// `java.util.Random`: a 48-bit linear congruential generator.
#[derive(Debug)]
struct JavaRandom {
    seed: u64,
}

impl JavaRandom {
    const MULTIPLIER: u64 = 0x5_DEEC_E66D;
    const MASK: u64 = (1 << 48) - 1;

    fn new(seed: i64) -> Self {
        Self { seed: (seed as u64 ^ Self::MULTIPLIER) & Self::MASK }
    }

    fn next(&mut self, bits: u32) -> i32 {
        self.seed = (self.seed.wrapping_mul(Self::MULTIPLIER).wrapping_add(0xB)) & Self::MASK;
        (self.seed >> (48 - bits)) as i32
    }

    /// `nextInt(bound)` for `bound > 0`.
    fn next_int(&mut self, bound: i32) -> i32 {
        let mut r = self.next(31);
        let m = bound - 1;
        if bound & m == 0 {
            return ((i64::from(bound) * i64::from(r)) >> 31) as i32;
        }
        let mut u = r;
        loop {
            r = u % bound;
            if u.wrapping_sub(r).wrapping_add(m) >= 0 {
                return r;
            }
            u = self.next(31);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::names;
    use crate::path::Source;
    use proptest::prelude::*;
    use serde_json::json;

    /// Evaluate `text` against `input`; `$$` is a small context object whose `Execution.Input`
    /// is `input`, and `$greeting`/`$n` are variables.
    fn run(text: &str, input: &Value) -> Result<Value, Failure> {
        let call = parse(text).unwrap_or_else(|e| panic!("{e}"));
        let context = json!({
            "Execution": {"Name": "exec-1", "Input": input},
            "StateMachine": {"Name": "alpha-beta-gamma"}
        });
        let variables = json!({"greeting": "hi", "n": 3});
        let mut resolve = |path: &PathExpr| {
            let root = match &path.source {
                Source::Input => input,
                Source::Context => &context,
                Source::Variable(name) => variables.get(name).unwrap_or(&Value::Null),
            };
            path.query.select(root).ok_or_else(|| {
                Failure::runtime(format!("The JSONPath '{}' could not be found in the input", path.text()))
            })
        };
        evaluate(&call, &mut resolve)
    }

    fn ok(text: &str, input: Value) -> Value {
        run(text, &input).unwrap_or_else(|f| panic!("{text} failed: {f}"))
    }

    /// The cause of an expected `States.IntrinsicFailure`.
    fn fails(text: &str, input: Value) -> String {
        match run(text, &input) {
            Ok(v) => panic!("{text} should fail but gave {v}"),
            Err(f) => {
                assert_eq!(f.error, names::INTRINSIC_FAILURE, "{text}: {f}");
                f.cause.unwrap_or_default()
            }
        }
    }

    fn lit(v: Value) -> Arg {
        Arg::Literal(v)
    }

    fn path(text: &str) -> Arg {
        Arg::Path(PathExpr::parse(text).expect("valid path"))
    }

    // --- parsing -------------------------------------------------------------------------

    #[test]
    fn is_intrinsic_looks_at_the_prefix() {
        assert!(is_intrinsic("States.Format('x')"));
        assert!(is_intrinsic("  States.UUID()"));
        assert!(!is_intrinsic("$.States"));
        assert!(!is_intrinsic("states.Format('x')"));
    }

    #[test]
    fn parses_literals_paths_and_nested_calls() {
        let call =
            parse("States.Array('a', 1, -2.5, true, false, null, $.x, $$.Execution.Id, $v.y, States.UUID())").unwrap();
        assert_eq!(call.name, "States.Array");
        assert_eq!(
            call.args,
            vec![
                lit(json!("a")),
                lit(json!(1)),
                lit(json!(-2.5)),
                lit(json!(true)),
                lit(json!(false)),
                lit(Value::Null),
                path("$.x"),
                path("$$.Execution.Id"),
                path("$v.y"),
                Arg::Call(Call { name: "States.UUID".into(), args: vec![] }),
            ]
        );
    }

    #[test]
    fn integers_stay_integers() {
        let call = parse("States.Array(7, -0, 9007199254740993, 18446744073709551615, 1.0, 2.50, 1e3, -4E-2)").unwrap();
        let values: Vec<Value> = call
            .args
            .into_iter()
            .map(|a| match a {
                Arg::Literal(v) => v,
                other => panic!("{other:?}"),
            })
            .collect();
        assert!(values[0].is_i64() && values[1].is_i64() && values[2].is_i64() && values[3].is_u64());
        assert_eq!(values[2], json!(9007199254740993i64));
        assert!(values[4..].iter().all(Value::is_f64));
        assert_eq!(values[4..], [json!(1.0), json!(2.5), json!(1000.0), json!(-0.04)]);
    }

    #[test]
    fn string_escapes_are_resolved_except_in_a_format_template() {
        let call = parse(r"States.Array('it\'s', 'a\\b', '\{x\}', 'raw {} braces')").unwrap();
        assert_eq!(
            call.args,
            vec![lit(json!("it's")), lit(json!("a\\b")), lit(json!("{x}")), lit(json!("raw {} braces"))]
        );
        let call = parse(r"States.Format('\{\} {} \\ \'', '\{')").unwrap();
        assert_eq!(call.args, vec![lit(json!(r"\{\} {} \\ '")), lit(json!("{"))]);
    }

    #[test]
    fn only_four_escapes_exist() {
        // AWS rejects these definitions (`\"` is in the recorded cases).
        for text in
            [r#"States.StringToJson('{"a":"\"b\""}')"#, r"States.Base64Decode('YWJj\nZA==')", r"States.Array('\u0041')"]
        {
            let err = parse(text).unwrap_err();
            assert!(err.contains("is not a valid escape"), "{err}");
        }
    }

    #[test]
    fn whitespace_around_arguments_is_allowed() {
        let call = parse("  States.Array (  1 ,'a'  ,  $.x  ,States.Array( ) )  ").unwrap();
        assert_eq!(call.args.len(), 4);
        assert_eq!(call.args[2], path("$.x"));
        assert_eq!(parse("States.UUID( )").unwrap().args, vec![]);
    }

    #[test]
    fn paths_run_to_the_end_of_the_argument() {
        let call = parse("States.Array($.items[?(@.name == 'a,b)')].v, $['x)y'], $.a[0], $$.Map.Item.Value)").unwrap();
        assert_eq!(
            call.args,
            vec![path("$.items[?(@.name == 'a,b)')].v"), path("$['x)y']"), path("$.a[0]"), path("$$.Map.Item.Value")]
        );
        let items = json!({"items": [{"name": "a,b)", "v": 1}, {"name": "c", "v": 2}], "x)y": 5, "a": [9]});
        assert_eq!(ok("States.Array($.items[?(@.name == 'a,b)')].v, $['x)y'], $.a[0])", items), json!([[1], 5, 9]));
    }

    #[test]
    fn syntax_errors_say_what_and_where() {
        let cases = [
            ("States.Array(1,", "expected an argument at character 15"),
            ("States.Array(1, )", "expected an argument at character 16"),
            ("States.Array(,1)", "expected an argument at character 13"),
            ("States.Array(1 2)", "expected ',' or ')' but found '2' at character 15"),
            ("States.Array(1", "missing ')'"),
            ("States.Array('abc)", "unterminated string at character 13"),
            ("States.Array(1) x", "unexpected 'x' after the end of the call at character 16"),
            ("States.Array(1))", "unexpected ')' after the end of the call"),
            ("States.Nope(1)", "unknown function 'States.Nope' at character 0"),
            ("States.format('x')", "unknown function 'States.format'"),
            ("States.UUID", "expected '(' after States.UUID"),
            ("States.Array(tru)", "unexpected 'tru'"),
            ("States.Array(truex)", "unexpected 'truex'"),
            ("States.Array(Foo.Bar())", "unexpected 'Foo.Bar'"),
            ("States.Array(@)", "unexpected '@'"),
            ("States.Array(1.)", "expected a digit at character 15"),
            ("States.Array(-)", "expected a digit"),
            ("States.Array(1e999)", "out of range"),
            ("States.Array($.a['x)", "unclosed quote or bracket in the path at character 13"),
            ("States.Array($.a[)", "unclosed '['"),
            ("States.Array($.a.)", "is not a valid JSONPath"),
            ("", "expected a function name"),
            ("$.a", "expected a function name"),
        ];
        for (text, wanted) in cases {
            let err = parse(text).expect_err(text);
            assert!(err.contains(wanted), "{text}: {err}");
            assert!(err.contains("is not a valid intrinsic function call"), "{text}: {err}");
        }
    }

    #[test]
    fn fixed_argument_counts_are_checked_when_parsing() {
        let cases = [
            ("States.StringToJson()", "States.StringToJson takes exactly 1 argument but was given 0"),
            ("States.JsonToString($.a, $.b)", "takes exactly 1 argument but was given 2"),
            ("States.ArrayRange(1, 5)", "States.ArrayRange takes exactly 3 arguments but was given 2"),
            ("States.ArrayPartition($.a)", "takes exactly 2 arguments"),
            ("States.ArrayContains($.a, 1, 2)", "takes exactly 2 arguments"),
            ("States.ArrayGetItem($.a)", "takes exactly 2 arguments"),
            ("States.ArrayLength()", "takes exactly 1 argument"),
            ("States.ArrayUnique($.a, $.b)", "takes exactly 1 argument"),
            ("States.Base64Encode('a', 'b')", "takes exactly 1 argument"),
            ("States.Base64Decode()", "takes exactly 1 argument"),
            ("States.Hash('a')", "takes exactly 2 arguments"),
            ("States.JsonMerge($.a, $.b)", "takes exactly 3 arguments"),
            ("States.MathRandom(1)", "States.MathRandom takes 2 to 3 arguments but was given 1"),
            ("States.MathRandom(1, 2, 3, 4)", "takes 2 to 3 arguments but was given 4"),
            ("States.MathAdd(1)", "takes exactly 2 arguments"),
            ("States.StringSplit('a')", "takes exactly 2 arguments"),
            ("States.UUID(1)", "States.UUID takes exactly 0 arguments but was given 1"),
            ("States.Format()", "States.Format takes at least 1 argument but was given 0"),
            ("States.Array(States.MathAdd(1))", "at character 13"),
        ];
        for (text, wanted) in cases {
            let err = parse(text).expect_err(text);
            assert!(err.contains(wanted), "{text}: {err}");
        }
        assert!(parse("States.MathRandom(1, 2)").is_ok());
        assert!(parse("States.MathRandom(1, 2, 3)").is_ok());
        assert!(parse("States.Array()").is_ok());
        assert!(parse("States.Format('x', 1, 2, 3, 4, 5, 6)").is_ok());
    }

    #[test]
    fn at_most_ten_calls_deep() {
        let nested = |depth: usize| format!("{}1{}", "States.Array(".repeat(depth), ")".repeat(depth));
        assert!(parse(&nested(10)).is_ok());
        let err = parse(&nested(11)).unwrap_err();
        assert!(err.contains("more than 10 nested intrinsic functions"), "{err}");
        // Deep input is an error, never a stack overflow.
        assert!(parse(&nested(100_000)).is_err());
        assert!(parse(&format!("States.Array($.a{})", "[".repeat(100_000))).is_err());
    }

    // --- evaluation ----------------------------------------------------------------------

    #[test]
    fn path_arguments_read_input_context_and_variables() {
        let input = json!({"a": {"b": [1, 2]}});
        assert_eq!(
            ok("States.Array($.a.b[1], $$.Execution.Name, $greeting, $n)", input),
            json!([2, "exec-1", "hi", 3])
        );
    }

    #[test]
    fn resolve_failures_propagate_unchanged() {
        let err = run("States.MathAdd($.missing, 1)", &json!({})).unwrap_err();
        assert_eq!(err, Failure::runtime("The JSONPath '$.missing' could not be found in the input"));
        // Every argument is read before any is checked, so the missing path wins.
        let err = run("States.MathAdd('x', $.missing)", &json!({})).unwrap_err();
        assert_eq!(err.error, names::RUNTIME);
        let err = run("States.Array(States.ArrayLength($.gone))", &json!({})).unwrap_err();
        assert_eq!(err.error, names::RUNTIME);
    }

    #[test]
    fn bad_arguments_name_the_function() {
        assert_eq!(fails("States.ArrayLength('x')", json!({})), "Invalid arguments in States.ArrayLength");
        // The innermost failing call is the one named.
        assert_eq!(
            fails("States.Array(States.MathAdd(States.ArrayLength(1), 1))", json!({})),
            "Invalid arguments in States.ArrayLength"
        );
    }

    #[test]
    fn hand_built_calls_are_checked_too() {
        let mut resolve = |_: &PathExpr| -> Result<Value, Failure> { Ok(Value::Null) };
        let unknown = Call { name: "States.Nope".into(), args: vec![] };
        assert_eq!(evaluate(&unknown, &mut resolve).unwrap_err().error, names::INTRINSIC_FAILURE);
        let short = Call { name: "States.MathAdd".into(), args: vec![lit(json!(1))] };
        assert_eq!(
            evaluate(&short, &mut resolve).unwrap_err(),
            Failure::intrinsic("Invalid arguments in States.MathAdd")
        );
        let mut deep = Call { name: "States.Array".into(), args: vec![] };
        for _ in 0..10_000 {
            deep = Call { name: "States.Array".into(), args: vec![Arg::Call(deep)] };
        }
        assert_eq!(evaluate(&deep, &mut resolve).unwrap_err().error, names::INTRINSIC_FAILURE);
    }

    #[test]
    fn format_inserts_strings_raw_and_other_values_as_java_renders_them() {
        let input = json!({"name": "Arnav", "template": "Hello, my name is {}."});
        assert_eq!(
            ok("States.Format('Hello, my name is {}.', $.name)", input.clone()),
            json!("Hello, my name is Arnav.")
        );
        assert_eq!(ok("States.Format($.template, $.name)", input), json!("Hello, my name is Arnav."));
        assert_eq!(ok("States.Format('no placeholders')", json!({})), json!("no placeholders"));
        assert_eq!(ok("States.Format('Format:{}', 101)", json!({})), json!("Format:101"));
        assert_eq!(
            ok(
                "States.Format('{}|{}|{}|{}|{}|{}', $.s, $.n, $.i, $.f, $.b, $.z)",
                json!({"s": " ", "n": null, "i": -1, "f": 1.1, "b": false, "z": ""})
            ),
            json!(" |null|-1|1.1|false|")
        );
        // Maps and lists as Java's toString, as AWS renders a context object: `{Id=..., Name=...}`.
        assert_eq!(
            ok(
                "States.Format('{} and {}', $.o, $.l)",
                json!({"o": {"Arg1": 1, "Arg2": []}, "l": [1, "a", null, {"k": true}]})
            ),
            json!("{Arg1=1, Arg2=[]} and [1, a, null, {k=true}]")
        );
        assert_eq!(ok("States.Format('{}', $$.StateMachine)", json!({})), json!("{Name=alpha-beta-gamma}"));
        // A JSON-looking string is inserted as it is.
        assert_eq!(ok("States.Format('{}', $.s)", json!({"s": "{\"a\": 1}"})), json!("{\"a\": 1}"));
    }

    #[test]
    fn format_renders_doubles_like_java() {
        let cases = [
            (json!(3.0), "3.0"),
            (json!(100.0), "100.0"),
            (json!(0.001), "0.001"),
            (json!(0.0001), "1.0E-4"),
            (json!(1.5e-4), "1.5E-4"),
            (json!(9999999.0), "9999999.0"),
            (json!(1.0e7), "1.0E7"),
            (json!(123456789.125), "1.23456789125E8"),
            (json!(1e21), "1.0E21"),
            (json!(-2.5), "-2.5"),
            (json!(0.0), "0.0"),
            (json!(12345678901234i64), "12345678901234"),
        ];
        for (value, wanted) in cases {
            assert_eq!(ok("States.Format('{}', $.v)", json!({"v": value})), json!(wanted), "{value}");
        }
    }

    #[test]
    fn format_escaped_braces_are_literal() {
        assert_eq!(ok(r"States.Format('\{\} is {}', 'x')", json!({})), json!("{} is x"));
        assert_eq!(ok(r"States.Format('\{{}\}', 'x')", json!({})), json!("{x}"));
        assert_eq!(ok(r"States.Format('a\\{}', 'x')", json!({})), json!(r"a\x"));
        assert_eq!(ok(r"States.Format('it\'s {}', $.v)", json!({"v": 1})), json!("it's 1"));
        // A template read from a path has no escapes: its backslashes are plain text.
        assert_eq!(ok("States.Format($.t, 'x')", json!({"t": r"C:\{}"})), json!(r"C:\x"));
    }

    #[test]
    fn format_rejects_mismatched_placeholders_and_stray_braces() {
        for text in [
            "States.Format('{} {}', 'a')",
            "States.Format('{}', 'a', 'b')",
            "States.Format('x', 'a')",
            "States.Format('Hello {', 'a')",
            "States.Format('Hello {{}}', 'a')",
            "States.Format('}')",
            r"States.Format('\{}', 'a')",
            "States.Format($.t, 'a')",
            "States.Format(1)",
            "States.Format(States.Array())",
        ] {
            assert_eq!(fails(text, json!({"t": 5})), "Invalid arguments in States.Format", "{text}");
        }
    }

    #[test]
    fn string_to_json_parses_text() {
        let cases = [
            ("{\"Arg1\": 1, \"Arg2\": []}", json!({"Arg1": 1, "Arg2": []})),
            ("[1, 2, \"x\"]", json!([1, 2, "x"])),
            ("\"HelloWorld\"", json!("HelloWorld")),
            ("1.1", json!(1.1)),
            ("true", json!(true)),
            ("null", Value::Null),
            // Blank text is null on AWS rather than an error.
            ("", Value::Null),
            ("  \n ", Value::Null),
            (" {\"a\":1} ", json!({"a": 1})),
            // Text after the first value is ignored, as Jackson does.
            ("{\"a\":1} trailing", json!({"a": 1})),
        ];
        for (text, wanted) in cases {
            assert_eq!(ok("States.StringToJson($.s)", json!({"s": text})), wanted, "{text}");
        }
        let zero = ok("States.StringToJson($.s)", json!({"s": "-0"}));
        assert!(zero.is_i64() && zero == json!(0), "{zero}");
        assert_eq!(ok("States.StringToJson($.s)", json!({"s": "[-0, 0.0]"})), json!([0, 0.0]));
        assert_eq!(ok(r#"States.StringToJson('{"k": "v"}')"#, json!({})), json!({"k": "v"}));
        for bad in
            [json!("{bad json}"), json!("{\"a\":1"), json!("undefined"), json!(123), json!({"a": 1}), json!(null)]
        {
            assert_eq!(
                fails("States.StringToJson($.s)", json!({"s": bad})),
                "Invalid arguments in States.StringToJson"
            );
        }
    }

    #[test]
    fn json_to_string_is_compact_json() {
        let cases = [
            (json!({"Arg1": 1, "Arg2": []}), "{\"Arg1\":1,\"Arg2\":[]}"),
            (json!([1, 2, "HelloWorld"]), "[1,2,\"HelloWorld\"]"),
            (json!("HelloWorld"), "\"HelloWorld\""),
            (json!(1.1), "1.1"),
            (json!(0), "0"),
            (json!(true), "true"),
            (Value::Null, "null"),
        ];
        for (value, wanted) in cases {
            assert_eq!(ok("States.JsonToString($.v)", json!({"v": value})), json!(wanted));
        }
        assert_eq!(ok("States.JsonToString('x')", json!({})), json!("\"x\""));
    }

    #[test]
    fn array_collects_its_arguments() {
        assert_eq!(ok("States.Array()", json!({})), json!([]));
        assert_eq!(
            ok("States.Array('Foo', 2020, $.Id, null, States.Array(1))", json!({"Id": 123456})),
            json!(["Foo", 2020, 123456, null, [1]])
        );
    }

    #[test]
    fn array_partition_chunks() {
        let input = json!({"a": [1, 2, 3, 4, 5, 6, 7, 8, 9]});
        assert_eq!(ok("States.ArrayPartition($.a, 4)", input.clone()), json!([[1, 2, 3, 4], [5, 6, 7, 8], [9]]));
        assert_eq!(ok("States.ArrayPartition($.a, 9)", input.clone()), json!([[1, 2, 3, 4, 5, 6, 7, 8, 9]]));
        assert_eq!(ok("States.ArrayPartition($.a, 2147483647)", input.clone()), json!([[1, 2, 3, 4, 5, 6, 7, 8, 9]]));
        assert_eq!(ok("States.ArrayPartition($.e, 3)", json!({"e": []})), json!([]));
        // A fraction is truncated, not rounded (AWS gives [[1, 2], [3, 4], [5]] for 2.6).
        assert_eq!(ok("States.ArrayPartition(States.Array(1,2,3,4,5), 2.6)", json!({})), json!([[1, 2], [3, 4], [5]]));
        for text in [
            "States.ArrayPartition($.a, 0)",
            "States.ArrayPartition($.a, -1)",
            "States.ArrayPartition($.a, 0.6)",
            "States.ArrayPartition($.a, '2')",
            "States.ArrayPartition($.a, null)",
            "States.ArrayPartition('not-array', 2)",
        ] {
            assert_eq!(fails(text, input.clone()), "Invalid arguments in States.ArrayPartition", "{text}");
        }
    }

    #[test]
    fn array_contains_compares_like_aws() {
        let input = json!({"a": [1, 2, 3, 4, 5, 6, 7, 8, 9], "nested": [[1, 2, 3], 2, {"1": 2, "2": []}], "empty": []});
        assert_eq!(ok("States.ArrayContains($.a, 5)", input.clone()), json!(true));
        assert_eq!(ok("States.ArrayContains($.a, 10)", input.clone()), json!(false));
        assert_eq!(ok("States.ArrayContains($.nested, States.Array(1, 2, 3))", input.clone()), json!(true));
        assert_eq!(
            ok("States.ArrayContains($.nested, States.StringToJson('{\"1\":2,\"2\":[]}'))", input.clone()),
            json!(true)
        );
        assert_eq!(ok("States.ArrayContains($.nested, null)", input.clone()), json!(false));
        assert_eq!(ok("States.ArrayContains($.empty, $.empty)", input.clone()), json!(false));
        assert_eq!(ok("States.ArrayContains(States.Array(1, null), null)", input.clone()), json!(true));
        // AWS compares the toString forms: a boolean or number matches its string spelling...
        assert_eq!(ok("States.ArrayContains(States.Array('true', 'x'), true)", json!({})), json!(true));
        assert_eq!(ok("States.ArrayContains(States.Array('42'), 42)", json!({})), json!(true));
        // ...but an integer is not a double, and false is not 0.
        assert_eq!(ok("States.ArrayContains(States.Array(1), 1.0)", json!({})), json!(false));
        assert_eq!(ok("States.ArrayContains(States.Array(0, 1, -1), false)", json!({})), json!(false));
        assert_eq!(fails("States.ArrayContains('abc', 'a')", json!({})), "Invalid arguments in States.ArrayContains");
    }

    #[test]
    fn array_range_is_inclusive() {
        let cases = [
            ("States.ArrayRange(1, 9, 2)", json!([1, 3, 5, 7, 9])),
            ("States.ArrayRange(0, 10, 3)", json!([0, 3, 6, 9])),
            ("States.ArrayRange(1, 9, 9)", json!([1])),
            ("States.ArrayRange(5, 1, -2)", json!([5, 3, 1])),
            ("States.ArrayRange(-2, 2, 2)", json!([-2, 0, 2])),
            ("States.ArrayRange(3, 3, -1)", json!([3])),
            ("States.ArrayRange(5, 1, 1)", json!([])),
            ("States.ArrayRange(1, 5, -1)", json!([])),
            // Fractions are truncated: AWS answers [1] here and [5, 3, 1] below.
            ("States.ArrayRange(1.6, 1.4, 1)", json!([1])),
            ("States.ArrayRange(5.4, -0.6, -2.4)", json!([5, 3, 1])),
            ("States.ArrayRange(States.MathAdd($.b, 1), States.MathAdd($.b, 5), 2)", json!([1, 3, 5])),
        ];
        for (text, wanted) in cases {
            assert_eq!(ok(text, json!({"b": 0})), wanted, "{text}");
        }
        let full = ok("States.ArrayRange(1000, 1, -1)", json!({}));
        assert_eq!(full.as_array().map(Vec::len), Some(1000));
        assert!(full.as_array().is_some_and(|a| a.iter().all(Value::is_i64)));
        for text in [
            "States.ArrayRange(1, 1001, 1)",
            "States.ArrayRange(1001, 1, -1)",
            "States.ArrayRange(1, 10, 0)",
            "States.ArrayRange(1, 10, 0.49)",
            "States.ArrayRange('a', 5, 1)",
            "States.ArrayRange(1, 'b', 1)",
            "States.ArrayRange(1, 5, null)",
            "States.ArrayRange(2147483648, 2147483649, 1)",
        ] {
            assert_eq!(fails(text, json!({})), "Invalid arguments in States.ArrayRange", "{text}");
        }
    }

    #[test]
    fn array_get_item_indexes_from_zero() {
        let input = json!({"a": [1, 2, 3, 4, 5, 6, 7, 8, 9], "empty": []});
        assert_eq!(ok("States.ArrayGetItem($.a, 5)", input.clone()), json!(6));
        assert_eq!(ok("States.ArrayGetItem($.a, 0)", input.clone()), json!(1));
        assert_eq!(ok("States.ArrayGetItem($.a, 1.9)", input.clone()), json!(2));
        assert_eq!(
            ok("States.ArrayGetItem(States.StringSplit($$.StateMachine.Name, '-'), 2)", input.clone()),
            json!("gamma")
        );
        // Observed on AWS: an empty array answers null instead of failing.
        assert_eq!(ok("States.ArrayGetItem($.empty, 999)", input.clone()), Value::Null);
        for text in [
            "States.ArrayGetItem($.a, 9)",
            "States.ArrayGetItem($.a, -1)",
            "States.ArrayGetItem($.a, '1')",
            "States.ArrayGetItem('not-array', 0)",
            "States.ArrayGetItem($.empty, -1)",
        ] {
            assert_eq!(fails(text, input.clone()), "Invalid arguments in States.ArrayGetItem", "{text}");
        }
    }

    #[test]
    fn array_length_counts() {
        assert_eq!(ok("States.ArrayLength($.a)", json!({"a": [1, 2, 3, 4, 5, 6, 7, 8, 9]})), json!(9));
        assert_eq!(ok("States.ArrayLength($.a)", json!({"a": []})), json!(0));
        assert_eq!(fails("States.ArrayLength($.a)", json!({"a": {"k": 1}})), "Invalid arguments in States.ArrayLength");
    }

    #[test]
    fn array_unique_keeps_java_hash_set_order() {
        let unique = |v: Value| ok("States.ArrayUnique($.a)", json!({ "a": v }));
        assert_eq!(unique(json!([1, 2, 3, 3, 3, 3, 3, 3, 4])), json!([1, 2, 3, 4]));
        assert_eq!(unique(json!([])), json!([]));
        // The orders below are what `new ArrayList<>(new HashSet<>(list))` prints on a JVM; the
        // first two are also what AWS answers.
        assert_eq!(unique(json!([true, false, true, false])), json!([false, true]));
        assert_eq!(unique(json!([[1, 2], [1, 2], [2, 1]])), json!([[2, 1], [1, 2]]));
        assert_eq!(
            unique(json!([
                "banana",
                "apple",
                "cherry",
                "apple",
                "date",
                "elderberry",
                "fig",
                "grape",
                "kiwi",
                "lemon",
                "mango",
                "nectarine",
                "orange",
                "papaya",
                "quince"
            ])),
            json!([
                "banana",
                "date",
                "papaya",
                "cherry",
                "kiwi",
                "nectarine",
                "fig",
                "grape",
                "elderberry",
                "mango",
                "orange",
                "apple",
                "lemon",
                "quince"
            ])
        );
        assert_eq!(
            unique(
                json!([null, 1, 1.5, "x", true, 3000000000u64, -7, 0.1, "hello world", false, {"k": 1, "j": [1, "a"]}])
            ),
            json!([null, 3000000000u64, 1, 0.1, false, {"k": 1, "j": [1, "a"]}, -7, 1.5, "x", "hello world", true])
        );
        let descending: Vec<i64> = (0..100).rev().collect();
        let ascending: Vec<i64> = (0..100).collect();
        assert_eq!(unique(json!(descending)), json!(ascending));
        // Java equality: objects ignore key order, an integer is not a double.
        assert_eq!(unique(json!([{"a": 1, "b": 2}, {"b": 2, "a": 1}])), json!([{"a": 1, "b": 2}]));
        assert_eq!(unique(json!([1, 1.0])).as_array().map(Vec::len), Some(2));
        assert_eq!(fails("States.ArrayUnique($.a)", json!({"a": "x"})), "Invalid arguments in States.ArrayUnique");
    }

    #[test]
    fn base64_encode_utf8() {
        assert_eq!(ok("States.Base64Encode($.s)", json!({"s": "Data to encode"})), json!("RGF0YSB0byBlbmNvZGU="));
        assert_eq!(ok("States.Base64Encode('')", json!({})), json!(""));
        assert_eq!(ok("States.Base64Encode('✓')", json!({})), json!("4pyT"));
        assert_eq!(ok("States.Base64Encode('🚀')", json!({})), json!("8J+agA=="));
        let limit = "a".repeat(10_000);
        assert!(ok("States.Base64Encode($.s)", json!({ "s": limit })).is_string());
        // The limit counts UTF-16 units, like Java: 5,000 emoji are 10,000 of them.
        assert!(ok("States.Base64Encode($.s)", json!({"s": "😀".repeat(5_000)})).is_string());
        for s in
            [json!("a".repeat(10_001)), json!("😀".repeat(5_001)), json!(123), json!({}), json!(["x"]), Value::Null]
        {
            assert_eq!(
                fails("States.Base64Encode($.s)", json!({ "s": s })),
                "Invalid arguments in States.Base64Encode"
            );
        }
    }

    #[test]
    fn base64_decode_is_lenient() {
        assert_eq!(ok("States.Base64Decode($.s)", json!({"s": "RGF0YSB0byBlbmNvZGU="})), json!("Data to encode"));
        assert_eq!(ok("States.Base64Decode('')", json!({})), json!(""));
        assert_eq!(ok("States.Base64Decode('44GT44KT44Gr44Gh44Gv')", json!({})), json!("こんにちは"));
        assert_eq!(ok("States.Base64Decode('YWJjAGRlZg==')", json!({})), json!("abc\u{0}def"));
        // AWS accepts all of these.
        assert_eq!(ok("States.Base64Decode(' YWJjZA== ')", json!({})), json!("abcd"));
        assert_eq!(ok("States.Base64Decode('YWJjZA')", json!({})), json!("abcd"));
        assert_eq!(ok("States.Base64Decode('ab==cd')", json!({})), json!("i"));
        assert_eq!(ok("States.Base64Decode('abc')", json!({})), json!("i\u{FFFD}"));
        assert_eq!(ok("States.Base64Decode('!!!aGk!!!')", json!({})), json!("hi"));
        assert_eq!(ok("States.Base64Decode('-_8')", json!({})), json!("\u{FFFD}\u{FFFD}"));
        assert!(ok("States.Base64Decode($.s)", json!({"s": "A".repeat(10_000)})).is_string());
        for s in [json!("A".repeat(10_001)), json!(123), json!({})] {
            assert_eq!(
                fails("States.Base64Decode($.s)", json!({ "s": s })),
                "Invalid arguments in States.Base64Decode"
            );
        }
    }

    #[test]
    fn hash_gives_lowercase_hex() {
        let cases = [
            ("MD5", "5d41402abc4b2a76b9719d911017c592"),
            ("SHA-1", "aaf4c61ddcc5e8a2dabede0f3b482cd9aea9434d"),
            ("SHA-256", "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824"),
            (
                "SHA-384",
                "59e1748777448c69de6b800d7a33bbfb9ff1b463e44354c3553bcdb9c666fa90125a3c79f90397bdf5f6a13de828684f",
            ),
            (
                "SHA-512",
                "9b71d224bd62f3785d96d46ad3ea3d73319bfbc2890caadae2dff72519673ca72323c3d99ba5c11d7c7acc6e14b8c5da0c4663475c2e5c3adef46f73bcdec043",
            ),
        ];
        for (algorithm, wanted) in cases {
            assert_eq!(ok("States.Hash($.d, $.a)", json!({"d": "hello", "a": algorithm})), json!(wanted));
        }
        // Non-string data is hashed in its toString form, as AWS does.
        assert_eq!(ok("States.Hash(123, 'SHA-256')", json!({})), ok("States.Hash('123', 'SHA-256')", json!({})));
        assert!(ok("States.Hash($.d, 'MD5')", json!({"d": "a".repeat(10_000)})).is_string());
        for (data, algorithm) in [
            (json!("x"), json!("sha-256")),
            (json!("x"), json!("SHA256")),
            (json!("x"), json!("MD-5")),
            (json!("x"), json!("")),
            (json!("x"), json!(256)),
            (json!("a".repeat(10_001)), json!("MD5")),
        ] {
            assert_eq!(
                fails("States.Hash($.d, $.a)", json!({"d": data, "a": algorithm})),
                "Invalid arguments in States.Hash"
            );
        }
    }

    #[test]
    fn json_merge_is_shallow() {
        let input = json!({
            "json1": {"a": {"a1": 1, "a2": 2}, "b": 2},
            "json2": {"a": {"a3": 1, "a4": 2}, "c": 3}
        });
        let merged = json!({"a": {"a3": 1, "a4": 2}, "b": 2, "c": 3});
        assert_eq!(ok("States.JsonMerge($.json1, $.json2, false)", input.clone()), merged);
        // AWS treats a non-boolean flag as shallow.
        assert_eq!(ok("States.JsonMerge($.json1, $.json2, 'false')", input.clone()), merged);
        assert_eq!(ok("States.JsonMerge($.json1, States.StringToJson('{}'), false)", input.clone()), input["json1"]);
        for text in [
            "States.JsonMerge($.json1, $.json2, true)",
            "States.JsonMerge($.json1, $.json2, 'TRUE')",
            "States.JsonMerge($.json1, null, false)",
            "States.JsonMerge(States.Array(), $.json2, false)",
            "States.JsonMerge($.json1, 'x', false)",
        ] {
            assert_eq!(fails(text, input.clone()), "Invalid arguments in States.JsonMerge", "{text}");
        }
    }

    #[test]
    fn math_random_draws_from_start_to_before_end() {
        for _ in 0..200 {
            let n = ok("States.MathRandom(1, 4)", json!({}));
            assert!(n.as_i64().is_some_and(|n| (1..4).contains(&n)), "{n}");
        }
        let n = ok("States.MathRandom(-99999, -9999)", json!({}));
        assert!(n.as_i64().is_some_and(|n| (-99999..-9999).contains(&n)), "{n}");
        // Fractions are truncated: [1, 5).
        let n = ok("States.MathRandom(1.6, 5.4)", json!({}));
        assert!(n.as_i64().is_some_and(|n| (1..5).contains(&n)), "{n}");
        // A seed gives java.util.Random's answer: `new Random(42).nextInt(10)` is 0.
        assert_eq!(ok("States.MathRandom(0, 10, 42)", json!({})), json!(0));
        assert_eq!(ok("States.MathRandom(5, 1005, 42)", json!({})), json!(135));
        assert_eq!(ok("States.MathRandom(1, 10, -10)", json!({})), json!(1));
        assert_eq!(ok("States.MathRandom(0, 16, 0)", json!({})), json!(11));
        assert_eq!(ok("States.MathRandom(0, 999, 3)", json!({})), json!(239));
        assert_eq!(ok("States.MathRandom(0, 2147483647, 123456789)", json!({})), json!(1426010965));
        assert_eq!(ok("States.MathRandom(0, 999, 3.7)", json!({})), json!(239));
        for text in [
            "States.MathRandom(1, 1)",
            "States.MathRandom(10, 5)",
            "States.MathRandom(1.4, 1.6)",
            "States.MathRandom('a', 10)",
            "States.MathRandom(1, 'b')",
            "States.MathRandom(1, 10, 'seed')",
            "States.MathRandom(1, 10, null)",
            "States.MathRandom(-2147483648, 2147483647)",
            "States.MathRandom(0, 3000000000)",
        ] {
            assert_eq!(fails(text, json!({})), "Invalid arguments in States.MathRandom", "{text}");
        }
    }

    #[test]
    fn math_add_rounds_each_operand_half_up() {
        let cases = [
            (json!(111), json!(-1), 110),
            (json!(-9), json!(3), -6),
            (json!(1.49), json!(1.5), 3),
            (json!(1.5), json!(1.51), 4),
            (json!(-1.49), json!(-1.5), -2),
            (json!(-1.5), json!(-1.51), -3),
            (json!(-0.5), json!(0.5), 1),
            (json!(-0.5), json!(0), 0),
            (json!(-2.5), json!(0), -2),
            (json!(2.5), json!(0), 3),
            (json!(0.49999999999999994), json!(0), 0),
            (json!(2147483646), json!(1), 2147483647),
            (json!(-2147483647), json!(-1), -2147483648),
        ];
        for (a, b, wanted) in cases {
            let sum = ok("States.MathAdd($.a, $.b)", json!({"a": a, "b": b}));
            assert!(sum.is_i64(), "{sum}");
            assert_eq!(sum, json!(wanted), "{a} + {b}");
        }
        assert_eq!(ok("States.MathAdd(States.MathAdd(States.MathAdd(1, 2), 3), -10)", json!({})), json!(-4));
        for text in [
            "States.MathAdd(2147483647, 1)",
            "States.MathAdd(-2147483648, -1)",
            "States.MathAdd(3000000000, 1)",
            "States.MathAdd('1', 2)",
            "States.MathAdd(null, 1)",
            "States.MathAdd(true, 1)",
            "States.MathAdd(1, States.Array())",
        ] {
            assert_eq!(fails(text, json!({})), "Invalid arguments in States.MathAdd", "{text}");
        }
    }

    #[test]
    fn string_split_tokenizes_on_any_delimiter_character() {
        let split = |s: &str, d: &str| ok("States.StringSplit($.s, $.d)", json!({"s": s, "d": d}));
        assert_eq!(split("1,2,3,4,5", ","), json!(["1", "2", "3", "4", "5"]));
        assert_eq!(split("This.is+a,test=string", ".+,="), json!(["This", "is", "a", "test", "string"]));
        assert_eq!(split("split on T and \nnew line", "T\n"), json!(["split on ", " and ", "new line"]));
        // Empty tokens are dropped, as StringTokenizer does.
        assert_eq!(split(", , ,", ","), json!([" ", " "]));
        assert_eq!(split(",,,,", ","), json!([]));
        assert_eq!(split("", ","), json!([]));
        assert_eq!(split("abc", ""), json!(["abc"]));
        assert_eq!(ok("States.StringSplit('Hello\nWorld', '\n')", json!({})), json!(["Hello", "World"]));
        for (s, d) in
            [(json!(123), json!(",")), (json!("a,b"), json!(1)), (Value::Null, json!(",")), (json!("a"), json!([","]))]
        {
            assert_eq!(
                fails("States.StringSplit($.s, $.d)", json!({"s": s, "d": d})),
                "Invalid arguments in States.StringSplit"
            );
        }
    }

    #[test]
    fn uuid_is_random_v4() {
        let a = ok("States.UUID()", json!({}));
        let b = ok("States.UUID()", json!({}));
        assert_ne!(a, b);
        let text = a.as_str().unwrap_or_default();
        let parsed = uuid::Uuid::parse_str(text).expect("a UUID");
        assert_eq!(parsed.get_version_num(), 4);
        assert_eq!(text, parsed.hyphenated().to_string());
    }

    #[test]
    fn java_random_matches_the_jdk() {
        // `new Random(42).nextInt()` on a JVM.
        assert_eq!(JavaRandom::new(42).next(32), -1170105035);
        assert_eq!(JavaRandom::new(42).next_int(1000), 130);
    }

    // --- properties ----------------------------------------------------------------------

    /// Write a call back as text (string literals fully escaped).
    fn render(call: &Call) -> String {
        let args: Vec<String> = call
            .args
            .iter()
            .map(|arg| match arg {
                Arg::Literal(Value::String(s)) => {
                    let mut out = String::from("'");
                    for c in s.chars() {
                        if matches!(c, '\'' | '\\' | '{' | '}') {
                            out.push('\\');
                        }
                        out.push(c);
                    }
                    out.push('\'');
                    out
                }
                Arg::Literal(Value::Number(n)) if n.is_f64() => format!("{:?}", n.as_f64().unwrap_or(0.0)),
                Arg::Literal(v) => v.to_string(),
                Arg::Path(p) => p.text().to_string(),
                Arg::Call(c) => render(c),
            })
            .collect();
        format!("{}({})", call.name, args.join(", "))
    }

    fn json_value() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::Bool),
            any::<i64>().prop_map(Value::from),
            any::<f64>().prop_filter_map("finite", |f| Number::from_f64(f).map(Value::Number)),
            ".{0,12}".prop_map(Value::String),
        ];
        leaf.prop_recursive(3, 24, 4, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
                prop::collection::btree_map("[a-z]{0,3}", inner, 0..4)
                    .prop_map(|m| Value::Object(m.into_iter().collect())),
            ]
        })
    }

    fn arg() -> impl Strategy<Value = Arg> {
        let leaf = prop_oneof![
            Just(lit(Value::Null)),
            any::<bool>().prop_map(|b| lit(Value::Bool(b))),
            any::<i64>().prop_map(|i| lit(Value::from(i))),
            any::<f64>().prop_filter_map("finite", |f| Number::from_f64(f).map(|n| lit(Value::Number(n)))),
            ".{0,10}".prop_map(|s| lit(Value::String(s))),
            prop::sample::select(vec!["$", "$.a", "$.a[0].b", "$$.Execution.Input", "$x.y", "$.i[?(@.k == 'a,b')]"])
                .prop_map(path),
        ];
        leaf.prop_recursive(4, 16, 4, |inner| {
            prop::collection::vec(inner, 0..4).prop_map(|args| Arg::Call(Call { name: "States.Array".into(), args }))
        })
    }

    proptest! {
        #[test]
        fn parse_never_panics(text in ".{0,80}") {
            let _ = parse(&text);
        }

        #[test]
        fn parse_never_panics_on_near_misses(
            parts in prop::collection::vec(
                prop::sample::select(vec![
                    "States.Format(", "States.Array(", "States.MathAdd(", "States.UUID(", "'", "\\", "\\'", "\\{", "{}",
                    "$", "$.", "$$.", "$a", "[", "]", "(", ")", ",", " ", "?(@.x == 1)", "\"", "-", "1", ".5", "e",
                    "true", "null", "ü", "\n",
                ]),
                0..24,
            )
        ) {
            let _ = parse(&parts.concat());
        }

        #[test]
        fn rendered_calls_parse_back(args in prop::collection::vec(arg(), 0..5)) {
            let call = Call { name: "States.Array".into(), args };
            prop_assert_eq!(parse(&render(&call)), Ok(call));
        }

        #[test]
        fn an_escaped_format_template_is_its_own_text(text in ".{0,40}") {
            let template = Call { name: "States.Format".into(), args: vec![lit(Value::String(text.clone()))] };
            let rendered = render(&template);
            prop_assert_eq!(run(&rendered, &json!({})), Ok(Value::String(text)));
        }

        #[test]
        fn base64_round_trips(text in ".{0,200}") {
            let input = json!({ "s": text });
            prop_assert_eq!(run("States.Base64Decode(States.Base64Encode($.s))", &input), Ok(input["s"].clone()));
        }

        #[test]
        fn json_text_round_trips(value in json_value()) {
            let input = json!({ "v": value });
            let back = run("States.StringToJson(States.JsonToString($.v))", &input);
            // Compare with serde_json's own reading of the text: without its `float_roundtrip`
            // feature the last digit of a double may move.
            let text = serde_json::to_string(&input["v"]).unwrap_or_default();
            let reread: Value = serde_json::from_str(&text).unwrap_or_default();
            prop_assert_eq!(back, Ok(without_negative_zero(reread)));
        }

        #[test]
        fn evaluation_never_panics(
            spec in prop::sample::select(FUNCTIONS),
            values in prop::collection::vec(json_value(), 0..4),
        ) {
            let count = values.len().clamp(spec.min_args, spec.max_args.unwrap_or(usize::MAX));
            let mut values = values;
            values.resize(count, Value::Null);
            let call = Call { name: spec.name.into(), args: values.into_iter().map(lit).collect() };
            let result = evaluate(&call, &mut |_: &PathExpr| Ok(Value::Null));
            if let Err(failure) = result {
                prop_assert_eq!(failure.error, names::INTRINSIC_FAILURE);
            }
        }

        #[test]
        fn array_unique_keeps_one_of_each(items in prop::collection::vec(json_value(), 0..40)) {
            let unique = java_hash_set_order(&items);
            // Distinct as Java sees them: -0.0 and 0.0 are two values there (Double.equals),
            // while serde_json's == calls them equal, so compare the rendered text.
            for (i, a) in unique.iter().enumerate() {
                prop_assert!(unique[i + 1..].iter().all(|b| serde_json::to_string(a).ok() != serde_json::to_string(b).ok()));
            }
            prop_assert!(items.iter().all(|item| unique.contains(item)));
        }

        #[test]
        fn array_partition_keeps_every_item(items in prop::collection::vec(any::<i32>(), 0..30), size in 1i64..12) {
            let chunks = array_partition(&json!(items), &json!(size)).unwrap_or_default();
            let chunks = chunks.as_array().cloned().unwrap_or_default();
            prop_assert!(chunks.iter().all(|c| c.as_array().is_some_and(|c| !c.is_empty() && c.len() as i64 <= size)));
            let flat: Vec<Value> = chunks.iter().flat_map(|c| c.as_array().cloned().unwrap_or_default()).collect();
            prop_assert_eq!(Value::Array(flat), json!(items));
        }

        #[test]
        fn array_range_matches_a_loop(start in -60i64..60, end in -60i64..60, step in -7i64..7) {
            prop_assume!(step != 0);
            let mut wanted = Vec::new();
            let mut i = start;
            while (step > 0 && i <= end) || (step < 0 && i >= end) {
                wanted.push(i);
                i += step;
            }
            prop_assert_eq!(array_range(&json!(start), &json!(end), &json!(step)), Some(json!(wanted)));
        }

        #[test]
        fn string_split_drops_only_delimiters(text in "[a-c,;]{0,30}", delimiters in "[,;b]{0,2}") {
            let tokens = string_split(&json!(text), &json!(delimiters)).unwrap_or_default();
            let tokens: Vec<String> =
                tokens.as_array().into_iter().flatten().filter_map(|t| t.as_str().map(str::to_string)).collect();
            prop_assert!(tokens.iter().all(|t| !t.is_empty() && !t.chars().any(|c| delimiters.contains(c))));
            let kept: String = text.chars().filter(|c| !delimiters.contains(*c)).collect();
            prop_assert_eq!(tokens.concat(), kept);
        }
    }
}
