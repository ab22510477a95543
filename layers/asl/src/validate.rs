//! Reject what AWS would reject, before anything runs, with the location of every problem.
//!
//! The rules are those `CreateStateMachine` / `ValidateStateMachineDefinition` apply: the fields
//! each state type allows and requires (which depend on the query language, JSONPath or
//! JSONata), transitions that name existing states of the same scope, states reachable from
//! `StartAt`, Choice rules, Retry/Catch, paths and intrinsic calls in `.$` fields, task resources
//! (and what an Express machine may not use), Map labels, Wait timestamps. JSONata expressions
//! (`{% … %}`) are only checked for their shape, never evaluated.
//!
//! Every problem is reported, not only the first. A location is a pointer into the definition
//! written the way AWS writes it: `/States/Check/Choices/0` (state names are not escaped).

use std::collections::{HashMap, HashSet, VecDeque};

use serde_json::{Map, Value};

use crate::error::Diagnostic;
use crate::intrinsics;
use crate::path::{self, PathExpr};

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum MachineType {
    #[default]
    Standard,
    Express,
}

#[derive(Debug, Clone, Copy, Default)]
pub struct ValidateOptions {
    pub machine_type: MachineType,
}

/// Codes besides `SCHEMA_VALIDATION_FAILED`, as AWS names them.
pub mod codes {
    pub const SCHEMA_VALIDATION_FAILED: &str = "SCHEMA_VALIDATION_FAILED";
    pub const INVALID_JSON_DESCRIPTION: &str = "INVALID_JSON_DESCRIPTION";
    pub const MISSING_TRANSITION_TARGET: &str = "MISSING_TRANSITION_TARGET";
    pub const MISSING_END_STATE: &str = "MISSING_END_STATE";
    pub const DUPLICATE_STATE_NAME: &str = "DUPLICATE_STATE_NAME";
    pub const INVALID_STATE_NAME: &str = "INVALID_STATE_NAME";
}

/// Every problem in a parsed definition; empty when it is valid.
pub fn validate(definition: &Value, options: &ValidateOptions) -> Vec<Diagnostic> {
    let Some(root) = definition.as_object() else {
        return vec![Diagnostic::schema("", "Definition must be a valid JSON object")];
    };
    let machine_language = match root.get("QueryLanguage").and_then(Value::as_str) {
        Some("JSONata") => Lang::Jsonata,
        _ => Lang::JsonPath,
    };
    let mut v = Validator { options, machine_language, out: Vec::new(), names: HashMap::new() };
    v.root(root);
    v.out
}

/// Parse and validate definition text (JSON syntax errors are `INVALID_JSON_DESCRIPTION`).
pub fn validate_text(text: &str, options: &ValidateOptions) -> Result<Value, Vec<Diagnostic>> {
    if text.trim().is_empty() {
        return Err(vec![Diagnostic::schema("", "Definition must be a valid JSON object")]);
    }
    let value: Value = serde_json::from_str(text).map_err(|e| {
        vec![Diagnostic {
            code: codes::INVALID_JSON_DESCRIPTION,
            location: format!("line {}, column {}", e.line(), e.column()),
            message: e.to_string(),
        }]
    })?;
    let mut problems = duplicate_state_names(text);
    problems.extend(validate(&value, options));
    if problems.is_empty() {
        Ok(value)
    } else {
        Err(problems)
    }
}

/// State names given twice in the same `States` object, which parsing into a [`Value`] would
/// silently merge. `text` is valid JSON.
fn duplicate_state_names(text: &str) -> Vec<Diagnostic> {
    let mut scanner = KeyScanner { text: text.as_bytes(), at: 0, path: Vec::new(), out: Vec::new() };
    scanner.value();
    scanner.out
}

/// Walks JSON text (known to be valid) keeping the path of keys, to find duplicate keys.
#[derive(Debug)]
struct KeyScanner<'t> {
    text: &'t [u8],
    at: usize,
    path: Vec<String>,
    out: Vec<Diagnostic>,
}

impl KeyScanner<'_> {
    fn peek(&self) -> Option<u8> {
        self.text.get(self.at).copied()
    }

    fn skip_whitespace(&mut self) {
        while self.peek().is_some_and(|c| c.is_ascii_whitespace()) {
            self.at += 1;
        }
    }

    fn value(&mut self) {
        self.skip_whitespace();
        match self.peek() {
            Some(b'{') => self.object(),
            Some(b'[') => self.array(),
            Some(b'"') => {
                self.string();
            }
            Some(_) => {
                while self.peek().is_some_and(|c| !matches!(c, b',' | b'}' | b']') && !c.is_ascii_whitespace()) {
                    self.at += 1;
                }
            }
            None => {}
        }
    }

    fn string(&mut self) -> String {
        let start = self.at;
        self.at += 1;
        while let Some(c) = self.peek() {
            self.at += if c == b'\\' { 2 } else { 1 };
            if c == b'"' {
                break;
            }
        }
        let end = self.at.min(self.text.len());
        serde_json::from_slice(&self.text[start..end]).unwrap_or_default()
    }

    /// The object being read is a scope's `States`: the machine's, a branch's, a processor's.
    fn in_states(&self) -> bool {
        let n = self.path.len();
        self.path.last().is_some_and(|k| k == "States")
            && (n == 1
                || self.path[n - 2] == "ItemProcessor"
                || self.path[n - 2] == "Iterator"
                || (n >= 3 && self.path[n - 3] == "Branches"))
    }

    fn object(&mut self) {
        self.at += 1;
        let states = self.in_states();
        let mut seen = HashSet::new();
        loop {
            self.skip_whitespace();
            match self.peek() {
                Some(b'"') => {}
                Some(b',') => {
                    self.at += 1;
                    continue;
                }
                Some(b'}') => {
                    self.at += 1;
                    return;
                }
                _ => return,
            }
            let key = self.string();
            self.skip_whitespace();
            if self.peek() == Some(b':') {
                self.at += 1;
            }
            if states && !seen.insert(key.clone()) {
                let location = format!("/{}/{key}", self.path.join("/"));
                self.out.push(Diagnostic {
                    code: codes::DUPLICATE_STATE_NAME,
                    location,
                    message: format!("Duplicate State name: {key}"),
                });
            }
            self.path.push(key);
            self.value();
            self.path.pop();
        }
    }

    fn array(&mut self) {
        self.at += 1;
        let mut index = 0usize;
        loop {
            self.skip_whitespace();
            match self.peek() {
                Some(b',') => {
                    self.at += 1;
                    index += 1;
                }
                Some(b']') => {
                    self.at += 1;
                    return;
                }
                None => return,
                Some(_) => {
                    self.path.push(index.to_string());
                    self.value();
                    self.path.pop();
                }
            }
        }
    }
}

/// The query language a state (or the machine) uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Lang {
    JsonPath,
    Jsonata,
}

impl Lang {
    fn name(self) -> &'static str {
        match self {
            Lang::JsonPath => "JSONPath",
            Lang::Jsonata => "JSONata",
        }
    }
}

/// Which query language a field belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Only {
    Both,
    JsonPath,
    Jsonata,
}

impl Only {
    fn allows(self, lang: Lang) -> bool {
        matches!((self, lang), (Only::Both, _) | (Only::JsonPath, Lang::JsonPath) | (Only::Jsonata, Lang::Jsonata))
    }
}

type FieldTable = &'static [(&'static str, Only)];

const ROOT_FIELDS: &[&str] = &["Comment", "StartAt", "States", "TimeoutSeconds", "Version", "QueryLanguage"];
const SCOPE_FIELDS: &[&str] = &["Comment", "StartAt", "States"];
const PROCESSOR_FIELDS: &[&str] = &["Comment", "StartAt", "States", "ProcessorConfig"];

const STATE_TYPES: &[&str] = &["Pass", "Task", "Choice", "Wait", "Succeed", "Fail", "Parallel", "Map"];

/// The fields every state type allows besides `Type`, `Comment` and `QueryLanguage`.
fn state_fields(ty: &str) -> FieldTable {
    use Only::*;
    match ty {
        "Pass" => &[
            ("Next", Both),
            ("End", Both),
            ("Assign", Both),
            ("Output", Jsonata),
            ("InputPath", JsonPath),
            ("OutputPath", JsonPath),
            ("Parameters", JsonPath),
            ("ResultPath", JsonPath),
            ("Result", JsonPath),
        ],
        "Task" => &[
            ("Resource", Both),
            ("Next", Both),
            ("End", Both),
            ("Assign", Both),
            ("Retry", Both),
            ("Catch", Both),
            ("TimeoutSeconds", Both),
            ("HeartbeatSeconds", Both),
            ("Credentials", Both),
            ("Arguments", Jsonata),
            ("Output", Jsonata),
            ("TimeoutSecondsPath", JsonPath),
            ("HeartbeatSecondsPath", JsonPath),
            ("InputPath", JsonPath),
            ("OutputPath", JsonPath),
            ("Parameters", JsonPath),
            ("ResultPath", JsonPath),
            ("ResultSelector", JsonPath),
        ],
        "Choice" => &[
            ("Choices", Both),
            ("Default", Both),
            ("Assign", Both),
            ("Output", Jsonata),
            ("InputPath", JsonPath),
            ("OutputPath", JsonPath),
        ],
        "Wait" => &[
            ("Next", Both),
            ("End", Both),
            ("Assign", Both),
            ("Seconds", Both),
            ("Timestamp", Both),
            ("Output", Jsonata),
            ("SecondsPath", JsonPath),
            ("TimestampPath", JsonPath),
            ("InputPath", JsonPath),
            ("OutputPath", JsonPath),
        ],
        "Succeed" => &[("Output", Jsonata), ("InputPath", JsonPath), ("OutputPath", JsonPath)],
        "Fail" => &[("Error", Both), ("Cause", Both), ("ErrorPath", JsonPath), ("CausePath", JsonPath)],
        "Parallel" => &[
            ("Branches", Both),
            ("Next", Both),
            ("End", Both),
            ("Assign", Both),
            ("Retry", Both),
            ("Catch", Both),
            ("Arguments", Jsonata),
            ("Output", Jsonata),
            ("InputPath", JsonPath),
            ("OutputPath", JsonPath),
            ("Parameters", JsonPath),
            ("ResultPath", JsonPath),
            ("ResultSelector", JsonPath),
        ],
        "Map" => &[
            ("Next", Both),
            ("End", Both),
            ("Assign", Both),
            ("Retry", Both),
            ("Catch", Both),
            ("Iterator", Both),
            ("ItemProcessor", Both),
            ("ItemReader", Both),
            ("ItemSelector", Both),
            ("ItemBatcher", Both),
            ("ResultWriter", Both),
            ("MaxConcurrency", Both),
            ("ToleratedFailurePercentage", Both),
            ("ToleratedFailureCount", Both),
            ("Label", Both),
            ("Items", Jsonata),
            ("Output", Jsonata),
            ("InputPath", JsonPath),
            ("OutputPath", JsonPath),
            ("ItemsPath", JsonPath),
            ("Parameters", JsonPath),
            ("ResultPath", JsonPath),
            ("ResultSelector", JsonPath),
            ("MaxConcurrencyPath", JsonPath),
            ("ToleratedFailurePercentagePath", JsonPath),
            ("ToleratedFailureCountPath", JsonPath),
        ],
        _ => &[],
    }
}

/// Fields of which at most one may be present, per state type.
const EXCLUSIVE: &[(&str, &str, &str)] = &[
    ("Task", "TimeoutSeconds", "TimeoutSecondsPath"),
    ("Task", "HeartbeatSeconds", "HeartbeatSecondsPath"),
    ("Fail", "Error", "ErrorPath"),
    ("Fail", "Cause", "CausePath"),
    ("Map", "Iterator", "ItemProcessor"),
    ("Map", "MaxConcurrency", "MaxConcurrencyPath"),
    ("Map", "ToleratedFailurePercentage", "ToleratedFailurePercentagePath"),
    ("Map", "ToleratedFailureCount", "ToleratedFailureCountPath"),
];

const MAX_SECONDS: i64 = 99_999_999;
/// A retrier's `MaxDelaySeconds`: at most a year.
const MAX_DELAY_SECONDS: i64 = 31_622_400;
const MAX_STATE_NAME: usize = 80;
const MAX_LABEL: usize = 40;

/// Choice comparison operators and the type of their operand.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Operand {
    String,
    Number,
    Boolean,
    Timestamp,
    /// `Is*` type tests: a boolean.
    Test,
    /// `…Path` variants: a path.
    Path,
}

fn operator(name: &str) -> Option<Operand> {
    const STRING: &[&str] = &[
        "StringEquals",
        "StringLessThan",
        "StringGreaterThan",
        "StringLessThanEquals",
        "StringGreaterThanEquals",
        "StringMatches",
    ];
    const NUMBER: &[&str] = &[
        "NumericEquals",
        "NumericLessThan",
        "NumericGreaterThan",
        "NumericLessThanEquals",
        "NumericGreaterThanEquals",
    ];
    const TIMESTAMP: &[&str] = &[
        "TimestampEquals",
        "TimestampLessThan",
        "TimestampGreaterThan",
        "TimestampLessThanEquals",
        "TimestampGreaterThanEquals",
    ];
    const TESTS: &[&str] = &["IsNull", "IsPresent", "IsNumeric", "IsString", "IsBoolean", "IsTimestamp"];
    if let Some(base) = name.strip_suffix("Path") {
        let comparable = base != "StringMatches"
            && (STRING.contains(&base)
                || NUMBER.contains(&base)
                || TIMESTAMP.contains(&base)
                || base == "BooleanEquals");
        return comparable.then_some(Operand::Path);
    }
    if STRING.contains(&name) {
        Some(Operand::String)
    } else if NUMBER.contains(&name) {
        Some(Operand::Number)
    } else if TIMESTAMP.contains(&name) {
        Some(Operand::Timestamp)
    } else if name == "BooleanEquals" {
        Some(Operand::Boolean)
    } else if TESTS.contains(&name) {
        Some(Operand::Test)
    } else {
        None
    }
}

/// AWS optimized integrations `arn:aws:states:::<service>:<api>` and the suffixes each supports
/// besides request-response: `s` = `.sync`, `2` = `.sync:2`, `w` = `.waitForTaskToken`.
const OPTIMIZED_INTEGRATIONS: &[(&str, &str)] = &[
    ("apigateway:invoke", "w"),
    ("athena:startQueryExecution", "s"),
    ("athena:stopQueryExecution", ""),
    ("athena:getQueryExecution", ""),
    ("athena:getQueryResults", ""),
    ("batch:submitJob", "s"),
    ("bedrock:invokeModel", "w"),
    ("bedrock:createModelCustomizationJob", "sw"),
    ("codebuild:startBuild", "s"),
    ("codebuild:stopBuild", ""),
    ("codebuild:batchDeleteBuilds", ""),
    ("codebuild:batchGetReports", ""),
    ("codebuild:startBuildBatch", "s"),
    ("codebuild:stopBuildBatch", ""),
    ("codebuild:retryBuild", "s"),
    ("codebuild:retryBuildBatch", "s"),
    ("codebuild:deleteBuildBatch", ""),
    ("databrew:startJobRun", "s"),
    ("dynamodb:getItem", ""),
    ("dynamodb:putItem", ""),
    ("dynamodb:updateItem", ""),
    ("dynamodb:deleteItem", ""),
    ("ecs:runTask", "sw"),
    ("eks:createCluster", "s"),
    ("eks:deleteCluster", "s"),
    ("eks:createFargateProfile", "s"),
    ("eks:deleteFargateProfile", "s"),
    ("eks:createNodegroup", "s"),
    ("eks:deleteNodegroup", "s"),
    ("eks:runJob", "sw"),
    ("eks:call", ""),
    ("elasticmapreduce:createCluster", "s"),
    ("elasticmapreduce:setClusterTerminationProtection", ""),
    ("elasticmapreduce:modifyInstanceFleetByName", ""),
    ("elasticmapreduce:modifyInstanceGroupByName", ""),
    ("elasticmapreduce:terminateCluster", "s"),
    ("elasticmapreduce:addStep", "s"),
    ("elasticmapreduce:cancelStep", ""),
    ("emr-containers:createVirtualCluster", ""),
    ("emr-containers:deleteVirtualCluster", "s"),
    ("emr-containers:startJobRun", "s"),
    ("emr-serverless:createApplication", "s"),
    ("emr-serverless:startApplication", "s"),
    ("emr-serverless:stopApplication", "s"),
    ("emr-serverless:deleteApplication", "s"),
    ("emr-serverless:startJobRun", "s"),
    ("emr-serverless:cancelJobRun", "s"),
    ("events:putEvents", "w"),
    ("glue:startJobRun", "s"),
    ("http:invoke", ""),
    ("lambda:invoke", "w"),
    ("mediaconvert:createJob", "s"),
    ("sagemaker:createEndpoint", ""),
    ("sagemaker:createEndpointConfig", ""),
    ("sagemaker:createHyperParameterTuningJob", "s"),
    ("sagemaker:createLabelingJob", "s"),
    ("sagemaker:createModel", ""),
    ("sagemaker:createProcessingJob", "s"),
    ("sagemaker:createTrainingJob", "s"),
    ("sagemaker:createTransformJob", "s"),
    ("sagemaker:updateEndpoint", ""),
    ("sns:publish", "w"),
    ("sqs:sendMessage", "w"),
    ("states:startExecution", "s2w"),
];

/// What a Task `Resource` names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Resource {
    Lambda,
    Activity,
    RequestResponse,
    Sync,
    WaitForTaskToken,
}

fn classify_resource(arn: &str) -> Option<Resource> {
    let mut parts = arn.splitn(6, ':');
    let (Some("arn"), Some(partition), Some(service), Some(region), Some(account), Some(rest)) =
        (parts.next(), parts.next(), parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return None;
    };
    if partition != "aws" && !partition.starts_with("aws-") {
        return None;
    }
    match service {
        "lambda" => {
            let function = rest.strip_prefix("function:")?;
            let mut pieces = function.splitn(2, ':');
            let name = pieces.next()?;
            let name_ok = !name.is_empty()
                && name.len() <= 140
                && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
            let qualifier_ok = pieces.next().is_none_or(|q| {
                !q.is_empty() && q.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == '$')
            });
            (name_ok && qualifier_ok && !region.is_empty() && !account.is_empty()).then_some(Resource::Lambda)
        }
        "states" => {
            if let Some(name) = rest.strip_prefix("activity:") {
                let ok = !name.is_empty() && !region.is_empty() && !account.is_empty();
                return ok.then_some(Resource::Activity);
            }
            integration(rest)
        }
        _ => None,
    }
}

fn integration(rest: &str) -> Option<Resource> {
    let (base, pattern) = if let Some(base) = rest.strip_suffix(".waitForTaskToken") {
        (base, Resource::WaitForTaskToken)
    } else if let Some(base) = rest.strip_suffix(".sync:2") {
        (base, Resource::Sync)
    } else if let Some(base) = rest.strip_suffix(".sync") {
        (base, Resource::Sync)
    } else {
        (rest, Resource::RequestResponse)
    };
    if let Some(sdk) = base.strip_prefix("aws-sdk:") {
        let (service, action) = sdk.split_once(':')?;
        let service_ok = !service.is_empty()
            && service.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '.');
        let action_ok = action.chars().next().is_some_and(|c| c.is_ascii_lowercase())
            && action.chars().all(|c| c.is_ascii_alphanumeric());
        return (service_ok && action_ok && pattern != Resource::Sync).then_some(pattern);
    }
    let (_, suffixes) = OPTIMIZED_INTEGRATIONS.iter().find(|(name, _)| *name == base)?;
    let supported = match pattern {
        Resource::RequestResponse => true,
        Resource::WaitForTaskToken => suffixes.contains('w'),
        _ if rest.ends_with(".sync:2") => suffixes.contains('2'),
        _ => suffixes.contains('s'),
    };
    supported.then_some(pattern)
}

/// True for `{% … %}` strings.
fn is_jsonata(text: &str) -> bool {
    text.len() >= 4 && text.starts_with("{%") && text.ends_with("%}")
}

/// The JSONPath a `.$` value or a `…Path` field may hold, or an intrinsic call.
fn is_path_or_intrinsic(text: &str) -> bool {
    if intrinsics::is_intrinsic(text) {
        intrinsics::parse(text).is_ok()
    } else {
        PathExpr::parse(text).is_ok()
    }
}

/// `2016-03-14T01:59:00Z`, `2016-03-14T01:59:00.123+01:00`: RFC 3339 `date-time`, with the
/// date and time in range.
fn is_rfc3339(text: &str) -> bool {
    fn digits(s: &[u8]) -> Option<u32> {
        if s.is_empty() || !s.iter().all(u8::is_ascii_digit) {
            return None;
        }
        Some(s.iter().fold(0, |n, d| n * 10 + u32::from(d - b'0')))
    }
    let b = text.as_bytes();
    if b.len() < 20 || b[4] != b'-' || b[7] != b'-' || !matches!(b[10], b'T' | b't') || b[13] != b':' || b[16] != b':' {
        return false;
    }
    let (Some(year), Some(month), Some(day), Some(hour), Some(minute), Some(second)) = (
        digits(&b[0..4]),
        digits(&b[5..7]),
        digits(&b[8..10]),
        digits(&b[11..13]),
        digits(&b[14..16]),
        digits(&b[17..19]),
    ) else {
        return false;
    };
    let leap = year % 4 == 0 && (year % 100 != 0 || year % 400 == 0);
    let days = match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if leap => 29,
        2 => 28,
        _ => return false,
    };
    if day == 0 || day > days || hour > 23 || minute > 59 || second > 60 {
        return false;
    }
    let mut rest = &b[19..];
    if let Some(fraction) = rest.strip_prefix(b".") {
        let n = fraction.iter().take_while(|c| c.is_ascii_digit()).count();
        if n == 0 {
            return false;
        }
        rest = &fraction[n..];
    }
    match rest {
        [b'Z' | b'z'] => true,
        [b'+' | b'-', h1, h2, b':', m1, m2] => {
            matches!((digits(&[*h1, *h2]), digits(&[*m1, *m2])), (Some(h), Some(m)) if h <= 23 && m <= 59)
        }
        _ => false,
    }
}

/// An integer: `3`, or `3.0` (JSON Schema counts a number without a fraction as an integer).
fn integer(value: &Value) -> Option<i64> {
    if let Some(n) = value.as_i64() {
        return Some(n);
    }
    if value.as_u64().is_some() {
        return Some(i64::MAX);
    }
    let f = value.as_f64()?;
    // Saturating conversion; the range checks then reject what is out of range.
    (f.fract() == 0.0).then_some(f as i64)
}

fn type_name(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

/// A character the way Python's `repr` shows it, which is how AWS quotes Label characters.
fn quote_char(c: char) -> String {
    match c {
        '\\' => "'\\\\'".to_string(),
        '\n' => "'\\n'".to_string(),
        '\r' => "'\\r'".to_string(),
        '\t' => "'\\t'".to_string(),
        '\'' => "\"'\"".to_string(),
        c if (c as u32) < 0x20 || (0x7f..=0xa0).contains(&(c as u32)) || (c.is_whitespace() && c != ' ') => {
            if (c as u32) <= 0xff {
                format!("'\\x{:02x}'", c as u32)
            } else {
                format!("'\\u{:04x}'", c as u32)
            }
        }
        c => format!("'{c}'"),
    }
}

fn label_problem(label: &str) -> Option<String> {
    if label.is_empty() {
        return Some("Label cannot be empty".to_string());
    }
    if label.chars().count() > MAX_LABEL {
        return Some(format!("Label cannot exceed {MAX_LABEL} characters"));
    }
    let invalid = |c: char| {
        c.is_whitespace()
            || "<>{}[]?*\"#%\\^|~`$&,;:/".contains(c)
            || (c as u32) < 0x20
            || (0x7f..=0x9f).contains(&(c as u32))
    };
    label.chars().find(|&c| invalid(c)).map(|c| format!("Label contains invalid character: {}", quote_char(c)))
}

fn at(location: &str, field: &str) -> String {
    format!("{location}/{field}")
}

/// The states of one scope (the machine, a Parallel branch, a Map processor) and the edges
/// between them, for the reachability check.
#[derive(Debug, Default)]
struct Scope {
    names: HashSet<String>,
    edges: HashMap<String, Vec<String>>,
}

#[derive(Debug)]
struct Validator<'o> {
    options: &'o ValidateOptions,
    machine_language: Lang,
    out: Vec<Diagnostic>,
    /// Every state name seen so far (names are unique in the whole machine) and where.
    names: HashMap<String, String>,
}

/// The state being checked.
#[derive(Debug)]
struct StateCtx<'a> {
    location: String,
    ty: &'a str,
    lang: Lang,
}

impl Validator<'_> {
    fn schema(&mut self, location: impl Into<String>, message: impl Into<String>) {
        self.out.push(Diagnostic::schema(location, message));
    }

    fn diag(&mut self, code: &'static str, location: impl Into<String>, message: impl Into<String>) {
        self.out.push(Diagnostic { code, location: location.into(), message: message.into() });
    }

    fn unsupported(&mut self, location: &str, field: &str) {
        self.schema(location, format!("Field '{field}' is not supported"));
    }

    fn required(&mut self, location: &str, object: &Map<String, Value>, fields: &[&str]) {
        let missing: Vec<&str> = fields.iter().copied().filter(|f| !object.contains_key(*f)).collect();
        if !missing.is_empty() {
            self.schema(location, format!("These fields are required: [{}]", missing.join(", ")));
        }
    }

    /// `value` as the array field `field` of the object at `location`; a wrong type is reported
    /// and gives `None`, and so is an empty array when `if_empty` says what it must contain.
    fn array<'v>(
        &mut self,
        location: &str,
        field: &str,
        value: &'v Value,
        if_empty: Option<&str>,
    ) -> Option<&'v Vec<Value>> {
        let Some(items) = value.as_array() else {
            self.wrong_type(at(location, field), field, "an array", value);
            return None;
        };
        if let (true, Some(rule)) = (items.is_empty(), if_empty) {
            self.schema(at(location, field), format!("The field '{field}' {rule}"));
        }
        Some(items)
    }

    fn wrong_type(&mut self, location: String, field: &str, expected: &str, value: &Value) {
        self.schema(location, format!("The field '{field}' must be {expected}, not {}", type_name(value)));
    }

    fn string<'v>(&mut self, location: &str, field: &str, value: &'v Value) -> Option<&'v str> {
        match value.as_str() {
            Some(s) => Some(s),
            None => {
                self.wrong_type(at(location, field), field, "a string", value);
                None
            }
        }
    }

    /// An integer in `min..=max`, or (JSONata) a `{% … %}` expression.
    fn integer_field(&mut self, location: &str, field: &str, value: &Value, min: i64, max: i64, lang: Lang) {
        if lang == Lang::Jsonata && value.is_string() {
            self.jsonata_expression(&at(location, field), field, value);
            return;
        }
        match integer(value) {
            Some(n) if n < min => {
                self.schema(at(location, field), format!("The field '{field}' must be greater than or equal to {min}"))
            }
            Some(n) if n > max => {
                self.schema(at(location, field), format!("The field '{field}' must be less than or equal to {max}"))
            }
            Some(_) => {}
            None if lang == Lang::Jsonata => {
                self.wrong_type(at(location, field), field, "an integer or a JSONata expression", value)
            }
            None => self.wrong_type(at(location, field), field, "an integer", value),
        }
    }

    /// A number in `min..=max`, or (JSONata) a `{% … %}` expression.
    fn number_field(&mut self, location: &str, field: &str, value: &Value, min: f64, max: f64, lang: Lang) {
        if lang == Lang::Jsonata && value.is_string() {
            self.jsonata_expression(&at(location, field), field, value);
            return;
        }
        match value.as_f64() {
            Some(n) if n < min || n > max => {
                self.schema(at(location, field), format!("The field '{field}' must be between {min} and {max}"))
            }
            Some(_) => {}
            None => self.wrong_type(at(location, field), field, "a number", value),
        }
    }

    /// A string that must be a `{% … %}` expression.
    fn jsonata_expression(&mut self, location: &str, field: &str, value: &Value) {
        match value.as_str() {
            Some(text) if is_jsonata(text) => self.jsonata_string(location, text),
            Some(_) => self.schema(location, format!("The value for the field '{field}' must be a JSONata expression")),
            None => self.wrong_type(location.to_string(), field, "a JSONata expression", value),
        }
    }

    fn jsonata_string(&mut self, location: &str, text: &str) {
        if is_jsonata(text) && text[2..text.len() - 2].trim().is_empty() {
            self.schema(location, "The JSONata expression must not be empty");
        }
    }

    /// Any JSON value whose strings may be `{% … %}` expressions.
    fn jsonata_value(&mut self, location: &str, value: &Value) {
        match value {
            Value::String(text) => self.jsonata_string(location, text),
            Value::Array(items) => {
                for (i, item) in items.iter().enumerate() {
                    self.jsonata_value(&at(location, &i.to_string()), item);
                }
            }
            Value::Object(map) => {
                for (key, item) in map {
                    self.jsonata_value(&at(location, key), item);
                }
            }
            _ => {}
        }
    }

    /// A payload template (`Parameters`, `ResultSelector`, `ItemSelector`, JSONPath `Assign`):
    /// every `.$` field holds a path or an intrinsic call.
    fn template(&mut self, location: &str, value: &Value) {
        match value {
            Value::Object(map) => {
                for (key, item) in map {
                    if key.ends_with(".$") {
                        if !item.as_str().is_some_and(is_path_or_intrinsic) {
                            self.schema(
                                location,
                                format!(
                                    "The value for the field '{key}' must be a valid JSONPath or a valid intrinsic function call"
                                ),
                            );
                        }
                    } else {
                        self.template(&at(location, key), item);
                    }
                }
            }
            Value::Array(items) => {
                for (i, item) in items.iter().enumerate() {
                    self.template(&at(location, &i.to_string()), item);
                }
            }
            _ => {}
        }
    }

    /// A template that must be an object (`Parameters`, `ResultSelector`, `ItemSelector`).
    fn object_template(&mut self, location: &str, field: &str, value: &Value) {
        if value.is_object() {
            self.template(&at(location, field), value);
        } else {
            self.wrong_type(at(location, field), field, "an object", value);
        }
    }

    /// A reading path (`InputPath`, `ItemsPath`, `SecondsPath`, …).
    fn path_field(&mut self, location: &str, field: &str, value: &Value, nullable: bool) {
        match value {
            Value::Null if nullable => {}
            Value::String(text) if PathExpr::parse(text).is_ok() => {}
            _ => {
                self.schema(at(location, field), format!("The value for the field '{field}' must be a valid JSONPath"))
            }
        }
    }

    /// `ErrorPath` and `CausePath` may also be intrinsic calls.
    fn path_or_intrinsic_field(&mut self, location: &str, field: &str, value: &Value) {
        if !value.as_str().is_some_and(is_path_or_intrinsic) {
            self.schema(
                at(location, field),
                format!(
                    "The value for the field '{field}' must be a valid JSONPath or a valid intrinsic function call"
                ),
            );
        }
    }

    fn result_path(&mut self, location: &str, value: &Value) {
        match value {
            Value::Null => {}
            Value::String(text) if path::parse_reference(text).is_ok() => {}
            _ => self.schema(
                at(location, "ResultPath"),
                "The value for the field 'ResultPath' must be a valid JSONPath reference path (names and indices only)",
            ),
        }
    }

    fn assign(&mut self, location: &str, value: &Value, lang: Lang) {
        let Some(map) = value.as_object() else {
            self.wrong_type(at(location, "Assign"), "Assign", "an object", value);
            return;
        };
        let location = at(location, "Assign");
        for key in map.keys() {
            let name = key.strip_suffix(".$").filter(|_| lang == Lang::JsonPath).unwrap_or(key);
            let valid = name.chars().next().is_some_and(|c| c.is_alphabetic() || c == '_')
                && name.chars().all(|c| c.is_alphanumeric() || c == '_');
            if !valid {
                self.schema(location.clone(), format!("The variable name '{key}' is not valid"));
            }
        }
        match lang {
            Lang::JsonPath => self.template(&location, value),
            Lang::Jsonata => self.jsonata_value(&location, value),
        }
    }

    fn transition(&mut self, scope: &Scope, location: String, field: &str, value: &Value, edges: &mut Vec<String>) {
        match value.as_str() {
            Some(target) if scope.names.contains(target) => edges.push(target.to_string()),
            Some(target) => {
                self.diag(codes::MISSING_TRANSITION_TARGET, location, format!("Missing '{field}' target: {target}"))
            }
            None => self.wrong_type(location, field, "a string", value),
        }
    }

    fn root(&mut self, root: &Map<String, Value>) {
        self.required("/", root, &["States", "StartAt"]);
        for (key, value) in root {
            match key.as_str() {
                "Comment" | "Version" => {
                    self.string("", key, value);
                }
                "TimeoutSeconds" => self.integer_field("", key, value, 1, i64::from(u32::MAX), Lang::JsonPath),
                "QueryLanguage" => {
                    if !matches!(value.as_str(), Some("JSONPath" | "JSONata")) {
                        self.schema("/QueryLanguage", "The field 'QueryLanguage' must be 'JSONPath' or 'JSONata'");
                    }
                }
                k if ROOT_FIELDS.contains(&k) => {}
                other => self.unsupported("/", other),
            }
        }
        self.scope("", root);
    }

    /// A set of states with its `StartAt`: the machine, a Parallel branch, a Map processor.
    /// `location` is the scope object's location (`""` for the machine).
    fn scope(&mut self, location: &str, object: &Map<String, Value>) {
        let Some(states_value) = object.get("States") else { return };
        let Some(states) = states_value.as_object() else {
            self.wrong_type(at(location, "States"), "States", "an object", states_value);
            return;
        };
        let states_location = at(location, "States");
        let mut scope = Scope { names: states.keys().cloned().collect(), edges: HashMap::new() };

        let start = object.get("StartAt").and_then(|start| match start.as_str() {
            Some(name) if scope.names.contains(name) => Some(name.to_string()),
            Some(name) => {
                self.diag(
                    codes::MISSING_TRANSITION_TARGET,
                    at(location, "StartAt"),
                    format!("Missing 'StartAt' target: {name}"),
                );
                None
            }
            None => {
                self.wrong_type(at(location, "StartAt"), "StartAt", "a string", start);
                None
            }
        });
        if states.is_empty() {
            self.schema(states_location.clone(), "The field 'States' must contain at least one state");
        }

        let mut terminal = false;
        for (name, state) in states {
            let state_location = at(&states_location, name);
            if name.is_empty() || name.chars().count() > MAX_STATE_NAME {
                self.diag(
                    codes::INVALID_STATE_NAME,
                    state_location.clone(),
                    format!("State name '{name}' must be 1 to {MAX_STATE_NAME} characters long"),
                );
            }
            if let Some(first) = self.names.get(name) {
                let message = format!("Duplicate State name: {name} (first defined at {first})");
                self.diag(codes::DUPLICATE_STATE_NAME, state_location.clone(), message);
            } else {
                self.names.insert(name.clone(), state_location.clone());
            }
            let (edges, is_terminal) = self.state(&scope, name, state_location, state);
            terminal |= is_terminal;
            scope.edges.insert(name.clone(), edges);
        }
        if !states.is_empty() && !terminal {
            let location = if location.is_empty() { "/".to_string() } else { location.to_string() };
            self.diag(codes::MISSING_END_STATE, location, "Workflow has no terminal state");
        }

        if let Some(start) = start {
            let mut reached: HashSet<&str> = HashSet::from([start.as_str()]);
            let mut queue = VecDeque::from([start.as_str()]);
            while let Some(current) = queue.pop_front() {
                for next in scope.edges.get(current).into_iter().flatten() {
                    if reached.insert(next.as_str()) {
                        queue.push_back(next.as_str());
                    }
                }
            }
            for name in states.keys() {
                if !reached.contains(name.as_str()) {
                    self.diag(
                        codes::MISSING_TRANSITION_TARGET,
                        at(&states_location, name),
                        format!("State \"{name}\" is not reachable."),
                    );
                }
            }
        }
    }

    /// One state; answers the states it can go to and whether it can end the scope.
    fn state(&mut self, scope: &Scope, name: &str, location: String, value: &Value) -> (Vec<String>, bool) {
        let mut edges = Vec::new();
        let Some(state) = value.as_object() else {
            self.wrong_type(location, name, "an object", value);
            return (edges, true);
        };
        let ty = match state.get("Type") {
            None => {
                self.schema(location, "These fields are required: [Type]");
                return (edges, true);
            }
            Some(Value::String(ty)) if STATE_TYPES.contains(&ty.as_str()) => ty.as_str(),
            Some(other) => {
                let shown = other.as_str().map(str::to_string).unwrap_or_else(|| other.to_string());
                self.schema(at(&location, "Type"), format!("Invalid State type: {shown}"));
                return (edges, true);
            }
        };
        let lang = match state.get("QueryLanguage") {
            None => self.machine_language,
            Some(Value::String(s)) if s == "JSONata" => Lang::Jsonata,
            Some(Value::String(s)) if s == "JSONPath" => {
                if self.machine_language == Lang::Jsonata {
                    self.schema(
                        location.clone(),
                        "'QueryLanguage' can not be 'JSONPath' if set to 'JSONata' for whole state machine",
                    );
                }
                Lang::JsonPath
            }
            Some(_) => {
                self.schema(
                    at(&location, "QueryLanguage"),
                    "The field 'QueryLanguage' must be 'JSONPath' or 'JSONata'",
                );
                self.machine_language
            }
        };
        let ctx = StateCtx { location, ty, lang };

        // Which fields are there at all.
        let table = state_fields(ty);
        let mut known: Vec<(&str, &Value)> = Vec::new();
        for (key, value) in state {
            match key.as_str() {
                "Type" | "QueryLanguage" => {}
                "Comment" => {
                    self.string(&ctx.location, key, value);
                }
                _ => match table.iter().find(|(field, _)| field == key) {
                    Some((_, only)) if only.allows(lang) => known.push((key.as_str(), value)),
                    Some(_) => self.schema(
                        ctx.location.clone(),
                        format!("Field '{key}' is not supported when QueryLanguage is {}", lang.name()),
                    ),
                    None => self.unsupported(&ctx.location, key),
                },
            }
        }
        for (ty, a, b) in EXCLUSIVE {
            if *ty == ctx.ty && state.contains_key(*a) && state.contains_key(*b) {
                self.schema(
                    ctx.location.clone(),
                    format!("These fields cannot be present at the same time: [{a}, {b}]"),
                );
            }
        }

        // Transitions.
        let terminal = match ty {
            "Succeed" | "Fail" => true,
            "Choice" => false,
            _ => {
                let end = state.get("End");
                if let Some(end) = end.filter(|v| !v.is_boolean()) {
                    self.wrong_type(at(&ctx.location, "End"), "End", "a boolean", end);
                }
                let ends = end == Some(&Value::Bool(true));
                match (state.get("Next"), ends) {
                    (Some(_), true) => self.schema(
                        ctx.location.clone(),
                        "These fields cannot be present at the same time: [Next, End]",
                    ),
                    (Some(next), false) => self.transition(scope, at(&ctx.location, "Next"), "Next", next, &mut edges),
                    (None, false) => self.diag(
                        codes::MISSING_TRANSITION_TARGET,
                        ctx.location.clone(),
                        format!("State \"{name}\" is not an end state and does not have a next state: one of [Next, End] is required"),
                    ),
                    (None, true) => {}
                }
                ends
            }
        };

        for (key, value) in known {
            self.field(&ctx, scope, key, value, &mut edges);
        }
        self.required_fields(&ctx, state);
        (edges, terminal)
    }

    fn required_fields(&mut self, ctx: &StateCtx<'_>, state: &Map<String, Value>) {
        match ctx.ty {
            "Task" => self.required(&ctx.location, state, &["Resource"]),
            "Choice" => self.required(&ctx.location, state, &["Choices"]),
            "Parallel" => self.required(&ctx.location, state, &["Branches"]),
            "Map" if !state.contains_key("Iterator") && !state.contains_key("ItemProcessor") => {
                self.required(&ctx.location, state, &["ItemProcessor"])
            }
            "Wait" => {
                let present: Vec<&str> = ["Seconds", "Timestamp", "SecondsPath", "TimestampPath"]
                    .into_iter()
                    .filter(|f| state.contains_key(*f))
                    .collect();
                if present.len() != 1 {
                    self.schema(
                        ctx.location.clone(),
                        "Exactly one of these fields must be present: [Seconds, Timestamp, SecondsPath, TimestampPath]",
                    );
                }
            }
            _ => {}
        }
    }

    fn field(&mut self, ctx: &StateCtx<'_>, scope: &Scope, key: &str, value: &Value, edges: &mut Vec<String>) {
        let loc = ctx.location.as_str();
        let lang = ctx.lang;
        match key {
            // Handled with the transitions.
            "Next" | "End" => {}
            "InputPath" | "OutputPath" => self.path_field(loc, key, value, true),
            "ItemsPath"
            | "SecondsPath"
            | "TimestampPath"
            | "TimeoutSecondsPath"
            | "HeartbeatSecondsPath"
            | "MaxConcurrencyPath"
            | "ToleratedFailurePercentagePath"
            | "ToleratedFailureCountPath" => self.path_field(loc, key, value, false),
            "ErrorPath" | "CausePath" => self.path_or_intrinsic_field(loc, key, value),
            "ResultPath" => self.result_path(loc, value),
            "Parameters" | "ResultSelector" => self.object_template(loc, key, value),
            "ItemSelector" => match lang {
                Lang::JsonPath => self.object_template(loc, key, value),
                Lang::Jsonata => self.jsonata_value(&at(loc, key), value),
            },
            "Result" => {}
            "Assign" => self.assign(loc, value, lang),
            "Output" | "Arguments" => self.jsonata_value(&at(loc, key), value),
            "Items" => match value {
                Value::Array(_) => self.jsonata_value(&at(loc, key), value),
                _ => self.jsonata_expression(&at(loc, key), key, value),
            },
            "Resource" => self.resource(loc, value),
            "TimeoutSeconds" | "HeartbeatSeconds" => self.integer_field(loc, key, value, 1, MAX_SECONDS, lang),
            "Credentials" => self.credentials(loc, value, lang),
            "Retry" => self.retry(loc, value),
            "Catch" => self.catch(ctx, scope, value, edges),
            "Choices" => self.choices(ctx, scope, value, edges),
            "Default" => self.transition(scope, at(loc, key), key, value, edges),
            "Seconds" => self.integer_field(loc, key, value, 0, MAX_SECONDS, lang),
            "Timestamp" => match value.as_str() {
                Some(text) if lang == Lang::Jsonata && is_jsonata(text) => self.jsonata_string(&at(loc, key), text),
                Some(text) if is_rfc3339(text) => {}
                Some(_) => self.schema(at(loc, key), "String does not match RFC3339 timestamp"),
                None => self.wrong_type(at(loc, key), key, "a string", value),
            },
            "Error" | "Cause" => {
                if let Some(text) = self.string(loc, key, value) {
                    if lang == Lang::Jsonata {
                        self.jsonata_string(&at(loc, key), text);
                    }
                }
            }
            "Branches" => self.branches(loc, value),
            "Iterator" | "ItemProcessor" => self.processor(loc, key, value),
            "MaxConcurrency" => self.integer_field(loc, key, value, 0, i64::MAX, lang),
            "ToleratedFailureCount" => self.integer_field(loc, key, value, 0, i64::MAX, lang),
            "ToleratedFailurePercentage" => self.number_field(loc, key, value, 0.0, 100.0, lang),
            "Label" => {
                if let Some(label) = self.string(loc, key, value) {
                    if let Some(problem) = label_problem(label) {
                        self.schema(at(loc, key), problem);
                    }
                }
            }
            "ItemReader" => self.item_reader(loc, value, lang),
            "ResultWriter" => self.result_writer(loc, value, lang),
            "ItemBatcher" => self.item_batcher(loc, value, lang),
            _ => {}
        }
    }

    fn resource(&mut self, location: &str, value: &Value) {
        let Some(arn) = self.string(location, "Resource", value) else { return };
        let location = at(location, "Resource");
        let Some(kind) = classify_resource(arn) else {
            self.schema(
                location,
                format!(
                    "The resource provided {arn} is not recognized. The value is not a valid resource ARN, or the resource is not available in this region."
                ),
            );
            return;
        };
        if self.options.machine_type == MachineType::Express {
            match kind {
                Resource::Activity => self.schema(location, "Express state machine does not support Activity ARN"),
                Resource::Sync => {
                    self.schema(location, "Express state machine does not support '.sync' service integration")
                }
                Resource::WaitForTaskToken => self.schema(
                    location,
                    "Express state machine does not support '.waitForTaskToken' service integration ",
                ),
                Resource::Lambda | Resource::RequestResponse => {}
            }
        }
    }

    fn credentials(&mut self, location: &str, value: &Value, lang: Lang) {
        let Some(map) = value.as_object() else {
            self.wrong_type(at(location, "Credentials"), "Credentials", "an object", value);
            return;
        };
        let location = at(location, "Credentials");
        match (map.get("RoleArn"), map.get("RoleArn.$")) {
            (None, None) => self.schema(location, "The field 'RoleArn' is required but was missing"),
            (Some(role), _) => {
                if let Some(text) = self.string(&location, "RoleArn", role) {
                    if lang == Lang::Jsonata {
                        self.jsonata_string(&at(&location, "RoleArn"), text);
                    }
                }
            }
            (None, Some(_)) => self.template(&location, value),
        }
    }

    fn error_equals(&mut self, location: &str, object: &Map<String, Value>, last: bool) {
        let Some(value) = object.get("ErrorEquals") else { return };
        let Some(errors) = self.array(location, "ErrorEquals", value, Some("must not be empty")) else { return };
        for (i, error) in errors.iter().enumerate() {
            match error.as_str() {
                Some("") => self.schema(at(location, &format!("ErrorEquals/{i}")), "An error name must not be empty"),
                Some(_) => {}
                None => self.wrong_type(at(location, &format!("ErrorEquals/{i}")), "ErrorEquals", "a string", error),
            }
        }
        if errors.iter().any(|e| e.as_str() == Some(crate::error::names::ALL)) {
            if errors.len() > 1 {
                self.schema(at(location, "ErrorEquals"), "'States.ALL' must appear alone in 'ErrorEquals'");
            }
            if !last {
                self.schema(location, "'States.ALL' may only appear in the last retrier or catcher");
            }
        }
    }

    fn retry(&mut self, location: &str, value: &Value) {
        let Some(retriers) = self.array(location, "Retry", value, None) else { return };
        for (i, retrier) in retriers.iter().enumerate() {
            let location = at(location, &format!("Retry/{i}"));
            let Some(map) = retrier.as_object() else {
                self.wrong_type(location, "Retry", "an array of objects", retrier);
                continue;
            };
            self.required(&location, map, &["ErrorEquals"]);
            self.error_equals(&location, map, i + 1 == retriers.len());
            for (key, value) in map {
                match key.as_str() {
                    "ErrorEquals" => {}
                    "Comment" => {
                        self.string(&location, key, value);
                    }
                    "IntervalSeconds" => self.integer_field(&location, key, value, 1, MAX_SECONDS, Lang::JsonPath),
                    "MaxAttempts" => self.integer_field(&location, key, value, 0, MAX_SECONDS, Lang::JsonPath),
                    "MaxDelaySeconds" => {
                        self.integer_field(&location, key, value, 1, MAX_DELAY_SECONDS, Lang::JsonPath)
                    }
                    "BackoffRate" => self.number_field(&location, key, value, 1.0, f64::MAX, Lang::JsonPath),
                    "JitterStrategy" => {
                        if !matches!(value.as_str(), Some("FULL" | "NONE")) {
                            self.schema(at(&location, key), "The field 'JitterStrategy' must be 'FULL' or 'NONE'");
                        }
                    }
                    other => self.unsupported(&location, other),
                }
            }
        }
    }

    fn catch(&mut self, ctx: &StateCtx<'_>, scope: &Scope, value: &Value, edges: &mut Vec<String>) {
        let Some(catchers) = self.array(&ctx.location, "Catch", value, None) else { return };
        for (i, catcher) in catchers.iter().enumerate() {
            let location = at(&ctx.location, &format!("Catch/{i}"));
            let Some(map) = catcher.as_object() else {
                self.wrong_type(location, "Catch", "an array of objects", catcher);
                continue;
            };
            self.required(&location, map, &["ErrorEquals", "Next"]);
            self.error_equals(&location, map, i + 1 == catchers.len());
            for (key, value) in map {
                match (key.as_str(), ctx.lang) {
                    ("ErrorEquals", _) => {}
                    ("Comment", _) => {
                        self.string(&location, key, value);
                    }
                    ("Next", _) => self.transition(scope, at(&location, "Next"), "Next", value, edges),
                    ("Assign", lang) => self.assign(&location, value, lang),
                    ("ResultPath", Lang::JsonPath) => self.result_path(&location, value),
                    ("Output", Lang::Jsonata) => self.jsonata_value(&at(&location, key), value),
                    (other, _) => self.unsupported(&location, other),
                }
            }
        }
    }

    fn choices(&mut self, ctx: &StateCtx<'_>, scope: &Scope, value: &Value, edges: &mut Vec<String>) {
        let Some(rules) = self.array(&ctx.location, "Choices", value, Some("must contain at least one rule")) else {
            return;
        };
        for (i, rule) in rules.iter().enumerate() {
            let location = at(&ctx.location, &format!("Choices/{i}"));
            match ctx.lang {
                Lang::JsonPath => self.choice_rule(&location, rule, Some((scope, &mut *edges))),
                Lang::Jsonata => self.jsonata_choice_rule(&location, rule, scope, edges),
            }
        }
    }

    /// A JSONPath choice rule. `top` carries the scope for the `Next` of a top-level rule;
    /// rules nested in `And`/`Or`/`Not` have none.
    fn choice_rule(&mut self, location: &str, rule: &Value, top: Option<(&Scope, &mut Vec<String>)>) {
        let Some(map) = rule.as_object() else {
            self.wrong_type(location.to_string(), "Choices", "an object", rule);
            return;
        };
        let is_top = top.is_some();
        let combinators: Vec<&str> = ["And", "Or", "Not"].into_iter().filter(|k| map.contains_key(*k)).collect();
        let operators: Vec<(&str, Operand)> =
            map.keys().filter_map(|k| operator(k).map(|op| (k.as_str(), op))).collect();

        for (key, value) in map {
            match key.as_str() {
                "Comment" => {
                    self.string(location, key, value);
                }
                "Next" if is_top => {}
                "Assign" if is_top => self.assign(location, value, Lang::JsonPath),
                "Variable" if combinators.is_empty() => match value.as_str() {
                    Some(text) if PathExpr::parse(text).is_ok() => {}
                    _ => self.schema(at(location, key), "The value for the field 'Variable' must be a valid JSONPath"),
                },
                "And" | "Or" if combinators.len() == 1 => match value.as_array() {
                    Some(rules) if !rules.is_empty() => {
                        for (i, rule) in rules.iter().enumerate() {
                            self.choice_rule(&at(location, &format!("{key}/{i}")), rule, None);
                        }
                    }
                    Some(_) => self.schema(at(location, key), format!("The field '{key}' must not be empty")),
                    None => self.wrong_type(at(location, key), key, "a non-empty array", value),
                },
                "Not" if combinators.len() == 1 => {
                    if value.is_object() {
                        self.choice_rule(&at(location, key), value, None);
                    } else {
                        self.wrong_type(at(location, key), key, "an object", value);
                    }
                }
                k if combinators.is_empty() && operator(k).is_some() => {}
                other => self.unsupported(location, other),
            }
        }

        if combinators.len() > 1 {
            self.schema(
                location,
                format!("A choice rule may have only one of these fields: [{}]", combinators.join(", ")),
            );
        }
        if combinators.is_empty() {
            if !map.contains_key("Variable") {
                self.schema(location, "These fields are required: [Variable]");
            }
            match operators.as_slice() {
                [] => self.schema(location, "A choice rule must have exactly one comparison operator; found none"),
                [(name, operand)] => self.operand(location, name, *operand, &map[*name]),
                many => {
                    let names: Vec<&str> = many.iter().map(|(n, _)| *n).collect();
                    self.schema(
                        location,
                        format!(
                            "A choice rule must have exactly one comparison operator; found [{}]",
                            names.join(", ")
                        ),
                    );
                }
            }
        }

        match top {
            Some((scope, edges)) => match map.get("Next") {
                Some(next) => self.transition(scope, at(location, "Next"), "Next", next, edges),
                None => self.required(location, map, &["Next"]),
            },
            None => {
                if map.contains_key("Next") {
                    self.unsupported(location, "Next");
                }
                if map.contains_key("Assign") {
                    self.unsupported(location, "Assign");
                }
            }
        }
    }

    fn operand(&mut self, location: &str, name: &str, operand: Operand, value: &Value) {
        let location = at(location, name);
        let ok = match operand {
            Operand::String => value.is_string(),
            Operand::Number => value.is_number(),
            Operand::Boolean | Operand::Test => value.is_boolean(),
            Operand::Timestamp => match value.as_str() {
                Some(text) => {
                    if !is_rfc3339(text) {
                        self.schema(location, "String does not match RFC3339 timestamp");
                    }
                    return;
                }
                None => false,
            },
            Operand::Path => {
                if value.as_str().is_none_or(|p| PathExpr::parse(p).is_err()) {
                    self.schema(location, format!("The value for the field '{name}' must be a valid JSONPath"));
                }
                return;
            }
        };
        if !ok {
            let expected = match operand {
                Operand::String | Operand::Timestamp => "a string",
                Operand::Number => "a number",
                _ => "a boolean",
            };
            self.wrong_type(location, name, expected, value);
        }
    }

    fn jsonata_choice_rule(&mut self, location: &str, rule: &Value, scope: &Scope, edges: &mut Vec<String>) {
        let Some(map) = rule.as_object() else {
            self.wrong_type(location.to_string(), "Choices", "an object", rule);
            return;
        };
        self.required(location, map, &["Condition", "Next"]);
        for (key, value) in map {
            match key.as_str() {
                "Comment" => {
                    self.string(location, key, value);
                }
                "Next" => self.transition(scope, at(location, key), key, value, edges),
                "Condition" => match value {
                    Value::Bool(_) => {}
                    _ => self.jsonata_expression(&at(location, key), key, value),
                },
                "Assign" => self.assign(location, value, Lang::Jsonata),
                "Output" => self.jsonata_value(&at(location, key), value),
                other => self.unsupported(location, other),
            }
        }
    }

    fn branches(&mut self, location: &str, value: &Value) {
        let Some(branches) = self.array(location, "Branches", value, Some("must contain at least one branch")) else {
            return;
        };
        for (i, branch) in branches.iter().enumerate() {
            let location = at(location, &format!("Branches/{i}"));
            self.nested_scope(&location, "Branches", branch, SCOPE_FIELDS);
        }
    }

    fn processor(&mut self, location: &str, field: &str, value: &Value) {
        let location = at(location, field);
        self.nested_scope(&location, field, value, PROCESSOR_FIELDS);
        let Some(config) = value.get("ProcessorConfig") else { return };
        let location = at(&location, "ProcessorConfig");
        let Some(map) = config.as_object() else {
            self.wrong_type(location, "ProcessorConfig", "an object", config);
            return;
        };
        let mode = map.get("Mode").map(|m| m.as_str());
        match mode {
            None | Some(Some("INLINE" | "DISTRIBUTED")) => {}
            Some(_) => self.schema(at(&location, "Mode"), "The field 'Mode' must be 'INLINE' or 'DISTRIBUTED'"),
        }
        for (key, value) in map {
            match key.as_str() {
                "Mode" => {}
                "ExecutionType" => {
                    if mode != Some(Some("DISTRIBUTED")) {
                        self.unsupported(&location, key);
                    } else if !matches!(value.as_str(), Some("STANDARD" | "EXPRESS")) {
                        self.schema(at(&location, key), "The field 'ExecutionType' must be 'STANDARD' or 'EXPRESS'");
                    }
                }
                other => self.unsupported(&location, other),
            }
        }
        if mode == Some(Some("DISTRIBUTED")) {
            self.required(&location, map, &["ExecutionType"]);
        }
    }

    fn nested_scope(&mut self, location: &str, field: &str, value: &Value, allowed: &[&str]) {
        let Some(map) = value.as_object() else {
            self.wrong_type(location.to_string(), field, "an object", value);
            return;
        };
        self.required(location, map, &["StartAt", "States"]);
        for (key, value) in map {
            match key.as_str() {
                "Comment" => {
                    self.string(location, key, value);
                }
                k if allowed.contains(&k) => {}
                other => self.unsupported(location, other),
            }
        }
        self.scope(location, map);
    }

    /// The fields of `ItemReader`, `ResultWriter`: a resource and its parameters.
    fn resource_block(&mut self, location: &str, map: &Map<String, Value>, lang: Lang, config: &str) {
        for (key, value) in map {
            match (key.as_str(), lang) {
                ("Resource", _) => {
                    if let Some(arn) = self.string(location, key, value) {
                        if !arn.starts_with("arn:") {
                            self.schema(at(location, key), format!("The resource provided {arn} is not recognized."));
                        }
                    }
                }
                ("Parameters", Lang::JsonPath) => self.object_template(location, key, value),
                ("Arguments", Lang::Jsonata) => self.jsonata_value(&at(location, key), value),
                (k, _) if k == config => {
                    if let Some(config) = value.as_object() {
                        let config_location = at(location, k);
                        for (key, value) in config {
                            match (key.as_str(), lang) {
                                ("MaxItemsPath", Lang::JsonPath) => {
                                    self.path_field(&config_location, key, value, false)
                                }
                                (_, Lang::Jsonata) => self.jsonata_value(&at(&config_location, key), value),
                                _ => {}
                            }
                        }
                    } else {
                        self.wrong_type(at(location, k), k, "an object", value);
                    }
                }
                (other, _) => self.unsupported(location, other),
            }
        }
    }

    fn item_reader(&mut self, location: &str, value: &Value, lang: Lang) {
        match value.as_object() {
            Some(map) => {
                let location = at(location, "ItemReader");
                self.required(&location, map, &["Resource"]);
                self.resource_block(&location, map, lang, "ReaderConfig");
            }
            None => self.wrong_type(at(location, "ItemReader"), "ItemReader", "an object", value),
        }
    }

    fn result_writer(&mut self, location: &str, value: &Value, lang: Lang) {
        let Some(map) = value.as_object() else {
            self.wrong_type(at(location, "ResultWriter"), "ResultWriter", "an object", value);
            return;
        };
        let location = at(location, "ResultWriter");
        // A writer with only a WriterConfig (transformation, no S3 export) needs no Resource.
        if !map.contains_key("WriterConfig") {
            self.required(&location, map, &["Resource"]);
        }
        self.resource_block(&location, map, lang, "WriterConfig");
    }

    fn item_batcher(&mut self, location: &str, value: &Value, lang: Lang) {
        let Some(map) = value.as_object() else {
            self.wrong_type(at(location, "ItemBatcher"), "ItemBatcher", "an object", value);
            return;
        };
        let location = at(location, "ItemBatcher");
        for (key, value) in map {
            match (key.as_str(), lang) {
                ("MaxItemsPerBatch" | "MaxInputBytesPerBatch", _) => {
                    self.integer_field(&location, key, value, 0, i64::MAX, lang)
                }
                ("MaxItemsPerBatchPath" | "MaxInputBytesPerBatchPath", Lang::JsonPath) => {
                    self.path_field(&location, key, value, false)
                }
                ("BatchInput", Lang::JsonPath) => self.object_template(&location, key, value),
                ("BatchInput", Lang::Jsonata) => self.jsonata_value(&at(&location, key), value),
                (other, _) => self.unsupported(&location, other),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn check(definition: Value) -> Vec<Diagnostic> {
        validate(&definition, &ValidateOptions::default())
    }

    fn check_express(definition: Value) -> Vec<Diagnostic> {
        validate(&definition, &ValidateOptions { machine_type: MachineType::Express })
    }

    /// A machine of one state named `S`.
    fn one(state: Value) -> Value {
        json!({"StartAt": "S", "States": {"S": state}})
    }

    /// A machine of one state named `S` in the JSONata query language.
    fn one_jsonata(state: Value) -> Value {
        json!({"QueryLanguage": "JSONata", "StartAt": "S", "States": {"S": state}})
    }

    #[track_caller]
    fn assert_valid(problems: Vec<Diagnostic>) {
        assert!(problems.is_empty(), "expected no problems, got {problems:#?}");
    }

    /// A problem at exactly `location` whose message contains `message`.
    #[track_caller]
    fn assert_problem(problems: &[Diagnostic], location: &str, message: &str) {
        assert!(
            problems.iter().any(|d| d.location == location && d.message.contains(message)),
            "expected {message:?} at {location}, got {problems:#?}"
        );
    }

    fn intrinsic_parser_ready() -> bool {
        intrinsics::parse("States.Format('{}', $.a)").is_ok()
    }

    // --- the machine ---

    #[test]
    fn a_definition_must_be_an_object() {
        for definition in [json!([]), json!("x"), json!(null), json!(1)] {
            let problems = check(definition);
            assert_eq!(problems, vec![Diagnostic::schema("", "Definition must be a valid JSON object")]);
        }
    }

    #[test]
    fn states_and_start_at_are_required() {
        assert_eq!(check(json!({})), vec![Diagnostic::schema("/", "These fields are required: [States, StartAt]")]);
        let problems = check(json!({"Comment": "x", "StartAt": "S"}));
        assert_eq!(problems, vec![Diagnostic::schema("/", "These fields are required: [States]")]);
        let problems = check(json!({"States": {"S": {"Type": "Pass", "End": true}}}));
        assert_problem(&problems, "/", "These fields are required: [StartAt]");
    }

    #[test]
    fn unknown_top_level_fields_are_rejected() {
        let mut definition = one(json!({"Type": "Pass", "End": true}));
        definition["Extra"] = json!(1);
        definition["Version"] = json!("1.0");
        definition["TimeoutSeconds"] = json!(10);
        definition["Comment"] = json!("fine");
        let problems = check(definition);
        assert_eq!(problems, vec![Diagnostic::schema("/", "Field 'Extra' is not supported")]);
    }

    #[test]
    fn top_level_values_are_checked() {
        let mut definition = one(json!({"Type": "Pass", "End": true}));
        definition["TimeoutSeconds"] = json!(0);
        definition["QueryLanguage"] = json!("jsonpath");
        definition["Comment"] = json!(5);
        let problems = check(definition);
        assert_problem(&problems, "/TimeoutSeconds", "greater than or equal to 1");
        assert_problem(&problems, "/QueryLanguage", "'JSONPath' or 'JSONata'");
        assert_problem(&problems, "/Comment", "must be a string");
    }

    #[test]
    fn a_complete_machine_is_valid() {
        let definition = json!({
            "Comment": "all state types",
            "StartAt": "Start",
            "TimeoutSeconds": 300,
            "States": {
                "Start": {"Type": "Pass", "Result": {"a": 1}, "ResultPath": "$.r", "Next": "Work"},
                "Work": {
                    "Type": "Task",
                    "Resource": "arn:aws:states:::lambda:invoke",
                    "Parameters": {"FunctionName": "f", "Payload.$": "$", "Nested": {"ctx.$": "$$.Execution.Id"}},
                    "ResultSelector": {"body.$": "$.Payload"},
                    "TimeoutSeconds": 30,
                    "HeartbeatSecondsPath": "$.hb",
                    "Retry": [
                        {"ErrorEquals": ["Custom.Error", "States.Timeout"], "IntervalSeconds": 2, "MaxAttempts": 0,
                         "BackoffRate": 1.5, "MaxDelaySeconds": 10, "JitterStrategy": "FULL"},
                        {"ErrorEquals": ["States.ALL"]}
                    ],
                    "Catch": [{"ErrorEquals": ["States.ALL"], "ResultPath": "$.error", "Next": "Failed"}],
                    "Next": "Decide"
                },
                "Decide": {
                    "Type": "Choice",
                    "Choices": [
                        {"Variable": "$.n", "NumericGreaterThan": 1, "Next": "Wait"},
                        {"And": [{"Variable": "$.s", "StringMatches": "a*"}, {"Not": {"Variable": "$.b", "IsNull": true}}],
                         "Next": "Fan"},
                        {"Variable": "$.t", "TimestampLessThanEquals": "2024-01-01T00:00:00Z", "Next": "Each"},
                        {"Variable": "$.x", "StringEqualsPath": "$.y", "Assign": {"seen": true}, "Next": "Done"}
                    ],
                    "Default": "Done"
                },
                "Wait": {"Type": "Wait", "Seconds": 0, "Next": "Done"},
                "Fan": {
                    "Type": "Parallel",
                    "Branches": [
                        {"StartAt": "B1", "States": {"B1": {"Type": "Pass", "End": true}}},
                        {"StartAt": "B2", "States": {"B2": {"Type": "Succeed"}}}
                    ],
                    "ResultPath": null,
                    "Next": "Done"
                },
                "Each": {
                    "Type": "Map",
                    "ItemsPath": "$.items",
                    "ItemSelector": {"value.$": "$$.Map.Item.Value"},
                    "MaxConcurrency": 2,
                    "ItemProcessor": {
                        "ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "EXPRESS"},
                        "StartAt": "Inner",
                        "States": {"Inner": {"Type": "Pass", "End": true}}
                    },
                    "Label": "my-label_1",
                    "ToleratedFailurePercentage": 5.5,
                    "Next": "Done"
                },
                "Failed": {"Type": "Fail", "Error": "Boom", "CausePath": "$.error.Cause"},
                "Done": {"Type": "Succeed", "OutputPath": null}
            }
        });
        assert_valid(check(definition));
    }

    // --- states and their fields ---

    #[test]
    fn state_type_is_required_and_known() {
        let problems = check(one(json!({"End": true})));
        assert_problem(&problems, "/States/S", "These fields are required: [Type]");
        let problems = check(one(json!({"Type": "Loop", "End": true})));
        assert_problem(&problems, "/States/S/Type", "Invalid State type: Loop");
    }

    #[test]
    fn unknown_state_fields_are_rejected() {
        let problems = check(one(json!({"Type": "Pass", "End": true, "Message.$": "$.x", "Resource": "x"})));
        assert_problem(&problems, "/States/S", "Field 'Message.$' is not supported");
        assert_problem(&problems, "/States/S", "Field 'Resource' is not supported");
        let problems = check(one(json!({"Type": "Succeed", "End": true})));
        assert_problem(&problems, "/States/S", "Field 'End' is not supported");
        let problems = check(one(json!({"Type": "Fail", "Next": "S"})));
        assert_problem(&problems, "/States/S", "Field 'Next' is not supported");
    }

    #[test]
    fn fields_belong_to_one_query_language() {
        let problems = check(one(json!({"Type": "Pass", "End": true, "Output": {"a": 1}})));
        assert_problem(&problems, "/States/S", "Field 'Output' is not supported when QueryLanguage is JSONPath");
        let problems = check(one_jsonata(json!({"Type": "Pass", "End": true, "Parameters": {}, "Result": 1})));
        assert_problem(&problems, "/States/S", "Field 'Parameters' is not supported when QueryLanguage is JSONata");
        assert_problem(&problems, "/States/S", "Field 'Result' is not supported when QueryLanguage is JSONata");
        let problems = check(one(json!({"Type": "Pass", "QueryLanguage": "JSONata", "End": true, "InputPath": "$"})));
        assert_problem(&problems, "/States/S", "Field 'InputPath' is not supported when QueryLanguage is JSONata");
    }

    #[test]
    fn a_state_may_not_downgrade_to_jsonpath() {
        let problems = check(one_jsonata(json!({"Type": "Pass", "QueryLanguage": "JSONPath", "End": true})));
        assert_eq!(
            problems,
            vec![Diagnostic::schema(
                "/States/S",
                "'QueryLanguage' can not be 'JSONPath' if set to 'JSONata' for whole state machine"
            )]
        );
        // The other way round, and inside a JSONata Map of a JSONPath machine, is fine.
        assert_valid(check(one(json!({"Type": "Pass", "QueryLanguage": "JSONata", "End": true}))));
        assert_valid(check(json!({
            "StartAt": "Map", "QueryLanguage": "JSONPath",
            "States": {"Map": {"Type": "Map", "QueryLanguage": "JSONata", "End": true, "ItemProcessor": {
                "ProcessorConfig": {"Mode": "INLINE"}, "StartAt": "P",
                "States": {"P": {"QueryLanguage": "JSONPath", "Type": "Pass", "End": true}}}}}
        })));
    }

    #[test]
    fn state_names_are_at_most_80_characters() {
        let name = "n".repeat(81);
        let problems = check(json!({"StartAt": name, "States": {name.clone(): {"Type": "Succeed"}}}));
        assert_problem(&problems, &format!("/States/{name}"), "1 to 80 characters");
        let name = "n".repeat(80);
        assert_valid(check(json!({"StartAt": name, "States": {name: {"Type": "Succeed"}}})));
    }

    // --- transitions ---

    #[test]
    fn exactly_one_of_next_and_end() {
        let problems = check(one(json!({"Type": "Pass"})));
        assert_problem(&problems, "/States/S", "one of [Next, End] is required");
        let problems = check(one(json!({"Type": "Pass", "End": true, "Next": "S"})));
        assert_problem(&problems, "/States/S", "[Next, End]");
        let problems = check(one(json!({"Type": "Pass", "End": "yes"})));
        assert_problem(&problems, "/States/S/End", "must be a boolean");
    }

    #[test]
    fn next_and_start_at_must_name_a_state() {
        let problems = check(json!({"StartAt": "Nope", "States": {"A": {"Type": "Pass", "Next": "B"}}}));
        assert_problem(&problems, "/StartAt", "Missing 'StartAt' target: Nope");
        assert_problem(&problems, "/States/A/Next", "Missing 'Next' target: B");
        assert!(problems.iter().any(|d| d.code == codes::MISSING_TRANSITION_TARGET));
    }

    #[test]
    fn unreachable_states_are_rejected() {
        let problems = check(json!({"StartAt": "A", "States": {
            "A": {"Type": "Pass", "End": true},
            "Lost": {"Type": "Pass", "Next": "Lost2"},
            "Lost2": {"Type": "Succeed"}
        }}));
        assert_problem(&problems, "/States/Lost", "State \"Lost\" is not reachable.");
        assert_problem(&problems, "/States/Lost2", "State \"Lost2\" is not reachable.");
        assert_eq!(problems.len(), 2);
    }

    #[test]
    fn catch_and_choice_targets_count_for_reachability() {
        assert_valid(check(json!({"StartAt": "T", "States": {
            "T": {"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke", "End": true,
                  "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "C"}]},
            "C": {"Type": "Choice", "Choices": [{"Variable": "$.a", "IsPresent": true, "Next": "X"}], "Default": "Y"},
            "X": {"Type": "Succeed"},
            "Y": {"Type": "Fail"}
        }})));
    }

    #[test]
    fn transitions_never_cross_scopes() {
        let problems = check(json!({"StartAt": "P", "States": {
            "P": {"Type": "Parallel", "Next": "After", "Branches": [
                {"StartAt": "B", "States": {"B": {"Type": "Pass", "Next": "After"}}}
            ]},
            "After": {"Type": "Succeed"}
        }}));
        assert_problem(&problems, "/States/P/Branches/0/States/B/Next", "Missing 'Next' target: After");
        let problems = check(json!({"StartAt": "M", "States": {
            "M": {"Type": "Map", "End": true, "Iterator": {"StartAt": "Gone", "States": {"I": {"Type": "Succeed"}}}}
        }}));
        assert_problem(&problems, "/States/M/Iterator/StartAt", "Missing 'StartAt' target: Gone");
        // Reachability is only judged from a StartAt that exists.
        assert_eq!(problems.len(), 1, "{problems:#?}");
    }

    #[test]
    fn a_scope_needs_a_terminal_state() {
        let problems = check(json!({"StartAt": "A", "States": {"A": {"Type": "Pass", "Next": "A"}}}));
        assert_problem(&problems, "/", "Workflow has no terminal state");
    }

    #[test]
    fn state_names_are_unique_in_the_whole_machine() {
        let problems = check(json!({"StartAt": "P", "States": {
            "P": {"Type": "Parallel", "End": true, "Branches": [
                {"StartAt": "P", "States": {"P": {"Type": "Succeed"}}}
            ]}
        }}));
        assert!(problems
            .iter()
            .any(|d| d.code == codes::DUPLICATE_STATE_NAME && d.location == "/States/P/Branches/0/States/P"));
        let text = r#"{"StartAt": "A", "States": {"A": {"Type": "Succeed"}, "A": {"Type": "Succeed"}}}"#;
        let problems = validate_text(text, &ValidateOptions::default()).unwrap_err();
        assert_eq!(problems[0].code, codes::DUPLICATE_STATE_NAME);
        assert_eq!(problems[0].location, "/States/A");
        // Duplicate keys elsewhere (a payload) are JSON's business, not a state name.
        let text = r#"{"StartAt": "A", "States": {"A": {"Type": "Pass", "Result": {"x": 1, "x": 2}, "End": true}}}"#;
        assert!(validate_text(text, &ValidateOptions::default()).is_ok());
    }

    // --- Choice ---

    #[test]
    fn choice_rules_need_next_at_the_top_only() {
        let problems = check(json!({"StartAt": "C", "States": {
            "C": {"Type": "Choice", "Default": "D", "Choices": [
                {"Variable": "$.a", "BooleanEquals": true},
                {"Not": {"Variable": "$.a", "IsNull": false, "Next": "D"}, "Next": "D"}
            ]},
            "D": {"Type": "Succeed"}
        }}));
        assert_problem(&problems, "/States/C/Choices/0", "These fields are required: [Next]");
        assert_problem(&problems, "/States/C/Choices/1/Not", "Field 'Next' is not supported");
    }

    #[test]
    fn choice_state_has_no_next_or_end_and_non_empty_choices() {
        let problems = check(one(json!({"Type": "Choice", "Choices": [], "Next": "S", "End": true})));
        assert_problem(&problems, "/States/S/Choices", "at least one rule");
        assert_problem(&problems, "/States/S", "Field 'Next' is not supported");
        assert_problem(&problems, "/States/S", "Field 'End' is not supported");
        let problems = check(one(json!({"Type": "Choice"})));
        assert_problem(&problems, "/States/S", "These fields are required: [Choices]");
    }

    #[test]
    fn a_leaf_rule_has_a_variable_and_exactly_one_operator() {
        let machine = |rule: Value| {
            json!({"StartAt": "C", "States": {"C": {"Type": "Choice", "Choices": [rule], "Default": "D"},
                                              "D": {"Type": "Succeed"}}})
        };
        let problems = check(machine(json!({"Variable": "$.a", "Next": "D"})));
        assert_problem(&problems, "/States/C/Choices/0", "exactly one comparison operator; found none");
        let problems = check(machine(json!({"Variable": "$.a", "StringEquals": "x", "IsString": true, "Next": "D"})));
        assert_problem(&problems, "/States/C/Choices/0", "found [");
        let problems = check(machine(json!({"StringEquals": "x", "Next": "D"})));
        assert_problem(&problems, "/States/C/Choices/0", "These fields are required: [Variable]");
        let problems = check(machine(json!({"Variable": "a.b", "StringEquals": "x", "Next": "D"})));
        assert_problem(&problems, "/States/C/Choices/0/Variable", "valid JSONPath");
        let problems = check(machine(json!({"Variable": "$.a", "StringContains": "x", "Next": "D"})));
        assert_problem(&problems, "/States/C/Choices/0", "Field 'StringContains' is not supported");
        let problems = check(machine(json!({"Variable": "$.a", "And": [], "Next": "D"})));
        assert_problem(&problems, "/States/C/Choices/0", "Field 'Variable' is not supported");
        assert_problem(&problems, "/States/C/Choices/0/And", "must not be empty");
        let problems = check(machine(json!({"Not": [], "Next": "D"})));
        assert_problem(&problems, "/States/C/Choices/0/Not", "must be an object");
        let problems = check(machine(json!({"And": [{"Variable": "$.a", "IsNull": true}], "Or": [], "Next": "D"})));
        assert_problem(&problems, "/States/C/Choices/0", "only one of these fields: [And, Or]");
        // Variables and the context object are fine as Variable.
        assert_valid(check(machine(json!({"Variable": "$$.Execution.Input.a", "IsPresent": true, "Next": "D"}))));
        assert_valid(check(machine(json!({"Variable": "$myVar", "NumericEqualsPath": "$.b", "Next": "D"}))));
    }

    #[test]
    fn choice_operands_have_the_operator_type() {
        let machine = |rule: Value| {
            json!({"StartAt": "C", "States": {"C": {"Type": "Choice", "Choices": [rule], "Default": "D"},
                                              "D": {"Type": "Succeed"}}})
        };
        let cases = [
            (json!({"Variable": "$.a", "NumericEquals": "1", "Next": "D"}), "NumericEquals", "a number"),
            (json!({"Variable": "$.a", "StringEquals": 1, "Next": "D"}), "StringEquals", "a string"),
            (json!({"Variable": "$.a", "BooleanEquals": "true", "Next": "D"}), "BooleanEquals", "a boolean"),
            (json!({"Variable": "$.a", "IsNull": "yes", "Next": "D"}), "IsNull", "a boolean"),
            (json!({"Variable": "$.a", "StringMatches": 5, "Next": "D"}), "StringMatches", "a string"),
            (
                json!({"Variable": "$.a", "NumericLessThanPath": "b", "Next": "D"}),
                "NumericLessThanPath",
                "valid JSONPath",
            ),
            (json!({"Variable": "$.a", "TimestampEquals": "yesterday", "Next": "D"}), "TimestampEquals", "RFC3339"),
        ];
        for (rule, operator, expected) in cases {
            let problems = check(machine(rule));
            assert_problem(&problems, &format!("/States/C/Choices/0/{operator}"), expected);
        }
    }

    #[test]
    fn jsonata_choice_rules_use_condition() {
        let machine = |rule: Value| {
            json!({"QueryLanguage": "JSONata", "StartAt": "C", "States": {
                "C": {"Type": "Choice", "Choices": [rule], "Default": "D", "Output": "{% $states.input %}"},
                "D": {"Type": "Succeed"}}})
        };
        assert_valid(check(machine(json!({"Condition": "{% $states.input.a > 1 %}", "Next": "D",
                                           "Assign": {"x": 1}, "Output": {"y": "{% 2 %}"}}))));
        assert_valid(check(machine(json!({"Condition": true, "Next": "D"}))));
        let problems = check(machine(json!({"Variable": "$.a", "IsNull": true, "Next": "D"})));
        assert_problem(&problems, "/States/C/Choices/0", "These fields are required: [Condition]");
        assert_problem(&problems, "/States/C/Choices/0", "Field 'Variable' is not supported");
        let problems = check(machine(json!({"Condition": "$.a", "Next": "D"})));
        assert_problem(&problems, "/States/C/Choices/0/Condition", "must be a JSONata expression");
    }

    // --- Retry and Catch ---

    #[test]
    fn retriers_are_checked() {
        let task = |retry: Value| {
            one(json!({"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke", "End": true, "Retry": retry}))
        };
        let problems = check(task(json!([
            {"ErrorEquals": [], "IntervalSeconds": 0, "MaxAttempts": -1, "BackoffRate": 0.5,
             "MaxDelaySeconds": 0, "JitterStrategy": "SOME", "Extra": 1},
            {"ErrorEquals": ["States.ALL", "Other"]},
            {"ErrorEquals": ["Custom"], "IntervalSeconds": 1.5}
        ])));
        assert_problem(&problems, "/States/S/Retry/0/ErrorEquals", "must not be empty");
        assert_problem(&problems, "/States/S/Retry/0/IntervalSeconds", "greater than or equal to 1");
        assert_problem(&problems, "/States/S/Retry/0/MaxAttempts", "greater than or equal to 0");
        assert_problem(&problems, "/States/S/Retry/0/BackoffRate", "between 1");
        assert_problem(&problems, "/States/S/Retry/0/MaxDelaySeconds", "greater than or equal to 1");
        assert_problem(&problems, "/States/S/Retry/0/JitterStrategy", "'FULL' or 'NONE'");
        assert_problem(&problems, "/States/S/Retry/0", "Field 'Extra' is not supported");
        assert_problem(&problems, "/States/S/Retry/1/ErrorEquals", "'States.ALL' must appear alone");
        assert_problem(&problems, "/States/S/Retry/1", "last retrier or catcher");
        assert_problem(&problems, "/States/S/Retry/2/IntervalSeconds", "must be an integer");
        let problems = check(task(json!([{"MaxAttempts": 3}])));
        assert_problem(&problems, "/States/S/Retry/0", "These fields are required: [ErrorEquals]");
    }

    #[test]
    fn catchers_are_checked() {
        let problems = check(json!({"StartAt": "T", "States": {
            "T": {"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke", "End": true, "Catch": [
                {"ErrorEquals": ["States.ALL"], "Next": "F"},
                {"ErrorEquals": ["Custom"]},
                {"ErrorEquals": ["Other"], "Next": "F", "ResultPath": "$.a[*]", "Output": {}}
            ]},
            "F": {"Type": "Fail"}
        }}));
        assert_problem(&problems, "/States/T/Catch/0", "last retrier or catcher");
        assert_problem(&problems, "/States/T/Catch/1", "These fields are required: [Next]");
        assert_problem(&problems, "/States/T/Catch/2/ResultPath", "valid JSONPath reference path");
        assert_problem(&problems, "/States/T/Catch/2", "Field 'Output' is not supported");
        // Retry and Catch belong to Task, Parallel and Map only.
        let problems = check(one(json!({"Type": "Pass", "End": true, "Retry": []})));
        assert_problem(&problems, "/States/S", "Field 'Retry' is not supported");
    }

    // --- paths, templates, intrinsics ---

    #[test]
    fn dollar_fields_hold_a_path_or_an_intrinsic() {
        let problems = check(one(json!({"Type": "Pass", "End": true, "Parameters": {
            "ok.$": "$.a", "ctx.$": "$$.Execution.Id", "var.$": "$v.x",
            "bad.$": "a.b",
            "Nested": {"deep.$": 5, "list": [{"inList.$": "nope"}]}
        }})));
        let message = "The value for the field 'bad.$' must be a valid JSONPath or a valid intrinsic function call";
        assert_problem(&problems, "/States/S/Parameters", message);
        assert_problem(&problems, "/States/S/Parameters/Nested", "'deep.$'");
        assert_problem(&problems, "/States/S/Parameters/Nested/list/0", "'inList.$'");
        assert_eq!(problems.len(), 3, "{problems:#?}");
        for field in ["ResultSelector", "Assign"] {
            let problems = check(one(json!({"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke",
                                            "End": true, field: {"x.$": "$.[oops"}})));
            assert_problem(&problems, &format!("/States/S/{field}"), "'x.$'");
        }
    }

    #[test]
    fn intrinsic_calls_go_through_the_intrinsic_parser() {
        // A malformed call is rejected whatever the parser's state.
        let problems = check(one(json!({"Type": "Pass", "End": true, "Parameters": {"x.$": "States.Format('{}'"}})));
        assert_problem(&problems, "/States/S/Parameters", "'x.$'");
        // A well-formed one is accepted once the real parser replaces the stub.
        if intrinsic_parser_ready() {
            let definition = one(json!({"Type": "Pass", "End": true, "Parameters": {
                "x.$": "States.Format('{} and {}', $.a, States.UUID())",
                "y.$": "States.ArrayLength($.list)"
            }}));
            assert_valid(check(definition));
            let definition =
                one(json!({"Type": "Fail", "ErrorPath": "States.Format('E{}', $.code)", "CausePath": "$.c"}));
            assert_valid(check(definition));
        }
    }

    #[test]
    fn path_fields_hold_paths() {
        let problems = check(one(json!({"Type": "Pass", "End": true, "InputPath": "x", "OutputPath": 5})));
        assert_problem(&problems, "/States/S/InputPath", "valid JSONPath");
        assert_problem(&problems, "/States/S/OutputPath", "valid JSONPath");
        let problems = check(one(json!({"Type": "Pass", "End": true, "ResultPath": "$.a[*].b"})));
        assert_problem(&problems, "/States/S/ResultPath", "reference path");
        let problems = check(one(json!({"Type": "Pass", "End": true, "ResultPath": "$$.a"})));
        assert_problem(&problems, "/States/S/ResultPath", "reference path");
        assert_valid(check(one(json!({"Type": "Pass", "End": true, "InputPath": null, "OutputPath": null,
                                      "ResultPath": null}))));
        assert_valid(check(one(json!({"Type": "Pass", "End": true, "InputPath": "$.items[?(@.v > 1)]",
                                      "ResultPath": "$.a.b[0]"}))));
        let problems = check(one(json!({"Type": "Wait", "SecondsPath": "$.[", "End": true})));
        assert_problem(&problems, "/States/S/SecondsPath", "valid JSONPath");
    }

    #[test]
    fn payload_templates_are_objects() {
        let problems = check(one(json!({"Type": "Pass", "End": true, "Parameters": [1]})));
        assert_problem(&problems, "/States/S/Parameters", "must be an object");
    }

    #[test]
    fn variable_names_are_checked() {
        let problems =
            check(one(json!({"Type": "Pass", "End": true, "Assign": {"ok_1": 1, "x.$": "$.a", "bad-name": 2}})));
        assert_eq!(problems, vec![Diagnostic::schema("/States/S/Assign", "The variable name 'bad-name' is not valid")]);
    }

    // --- Task ---

    #[test]
    fn task_numbers_and_credentials() {
        let task = |extra: Value| {
            let mut state = json!({"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke", "End": true});
            for (k, v) in extra.as_object().unwrap() {
                state[k] = v.clone();
            }
            one(state)
        };
        let problems = check(task(json!({"TimeoutSeconds": 0, "HeartbeatSeconds": "5"})));
        assert_problem(&problems, "/States/S/TimeoutSeconds", "greater than or equal to 1");
        assert_problem(&problems, "/States/S/HeartbeatSeconds", "must be an integer");
        let problems = check(task(json!({"TimeoutSeconds": 100_000_000})));
        assert_problem(&problems, "/States/S/TimeoutSeconds", "less than or equal to 99999999");
        let problems = check(task(json!({"TimeoutSeconds": 5, "TimeoutSecondsPath": "$.t"})));
        assert_problem(&problems, "/States/S", "[TimeoutSeconds, TimeoutSecondsPath]");
        let problems = check(task(json!({"Credentials": {}})));
        assert_eq!(
            problems,
            vec![Diagnostic::schema("/States/S/Credentials", "The field 'RoleArn' is required but was missing")]
        );
        assert_valid(check(task(json!({"Credentials": {"RoleArn.$": "$.role"}}))));
        assert_valid(check(task(json!({"Credentials": {"RoleArn": "arn:aws:iam::111111111111:role/r"}}))));
        let problems = check(one(json!({"Type": "Task", "End": true})));
        assert_problem(&problems, "/States/S", "These fields are required: [Resource]");
    }

    #[test]
    fn resources_must_be_recognized() {
        let task = |resource: &str| one(json!({"Type": "Task", "Resource": resource, "End": true}));
        for ok in [
            "arn:aws:lambda:us-east-1:111111111111:function:my-fn",
            "arn:aws:lambda:us-east-1:111111111111:function:my-fn:$LATEST",
            "arn:aws:states:us-east-1:111111111111:activity:act",
            "arn:aws:states:::lambda:invoke",
            "arn:aws:states:::lambda:invoke.waitForTaskToken",
            "arn:aws:states:::ecs:runTask.sync",
            "arn:aws:states:::states:startExecution.sync:2",
            "arn:aws:states:::sqs:sendMessage.waitForTaskToken",
            "arn:aws:states:::dynamodb:updateItem",
            "arn:aws:states:::events:putEvents",
            "arn:aws:states:::glue:startJobRun.sync",
            "arn:aws:states:::http:invoke",
            "arn:aws:states:::bedrock:invokeModel",
            "arn:aws:states:::aws-sdk:s3:listObjectsV2",
            "arn:aws:states:::aws-sdk:s3:listBuckets.waitForTaskToken",
            "arn:aws-cn:states:::sns:publish",
        ] {
            assert_valid(check(task(ok)));
        }
        for bad in [
            "arn:aws:states:::dynamodb:query",
            "arn:aws:states:::lambda:invoke.sync",
            "arn:aws:states:::dynamodb:getItem.waitForTaskToken",
            "arn:aws:states:::sns:publish.sync:2",
            "arn:aws:states:::aws-sdk:s3:getObject.sync",
            "arn:aws:lambda:us-east-1:111111111111:layer:x",
            "arn:aws:states:::activity:",
            "lambda:invoke",
            "",
        ] {
            let problems = check(task(bad));
            let message = format!(
                "The resource provided {bad} is not recognized. The value is not a valid resource ARN, or the resource is not available in this region."
            );
            assert_eq!(problems, vec![Diagnostic::schema("/States/S/Resource", message)], "{bad}");
        }
    }

    #[test]
    fn express_machines_allow_request_response_only() {
        let task = |resource: &str| one(json!({"Type": "Task", "Resource": resource, "End": true}));
        let cases = [
            ("arn:aws:states:us-east-1:111111111111:activity:a", "Express state machine does not support Activity ARN"),
            (
                "arn:aws:states:::states:startExecution.sync",
                "Express state machine does not support '.sync' service integration",
            ),
            (
                "arn:aws:states:::sns:publish.waitForTaskToken",
                "Express state machine does not support '.waitForTaskToken' service integration ",
            ),
        ];
        for (resource, message) in cases {
            assert_eq!(check_express(task(resource)), vec![Diagnostic::schema("/States/S/Resource", message)]);
            assert_valid(check(task(resource)));
        }
        assert_valid(check_express(task("arn:aws:states:::lambda:invoke")));
        // Nested scopes too.
        let problems = check_express(json!({"StartAt": "P", "States": {"P": {"Type": "Parallel", "End": true,
            "Branches": [{"StartAt": "T", "States": {"T": {"Type": "Task", "End": true,
                "Resource": "arn:aws:states:::ecs:runTask.sync"}}}]}}}));
        assert_problem(&problems, "/States/P/Branches/0/States/T/Resource", "'.sync'");
    }

    // --- Wait, Fail ---

    #[test]
    fn wait_needs_exactly_one_duration() {
        let problems = check(one(json!({"Type": "Wait", "End": true})));
        assert_problem(&problems, "/States/S", "Exactly one of these fields");
        let problems = check(one(json!({"Type": "Wait", "End": true, "Seconds": 1, "SecondsPath": "$.s"})));
        assert_problem(&problems, "/States/S", "Exactly one of these fields");
        let problems = check(one(json!({"Type": "Wait", "End": true, "Seconds": -1})));
        assert_problem(&problems, "/States/S/Seconds", "greater than or equal to 0");
        let problems = check(one(json!({"Type": "Wait", "End": true, "Seconds": 100_000_000})));
        assert_problem(&problems, "/States/S/Seconds", "less than or equal to 99999999");
        assert_valid(check(one(json!({"Type": "Wait", "End": true, "Seconds": 99_999_999}))));
    }

    #[test]
    fn wait_timestamps_are_rfc3339() {
        let wait = |timestamp: &str| one(json!({"Type": "Wait", "Timestamp": timestamp, "End": true}));
        for ok in [
            "2016-03-14T01:59:00Z",
            "2016-03-14T01:59:00.123456Z",
            "2016-03-14T01:59:00+05:30",
            "2024-02-29T23:59:59-01:00",
        ] {
            assert_valid(check(wait(ok)));
        }
        for bad in [
            "2016-13-05T21:29:29Z",
            "05-12-2016T21:29:29Z",
            "2016-12-05T25:29:29Z",
            "2016-12-05 21:29:29Z",
            "2016-12-05T21:29:29",
            "2023-02-29T00:00:00Z",
            "2016-12-05T21:29Z",
            "{% '2016-03-14T01:59:00Z' %}",
        ] {
            let problems = check(wait(bad));
            assert_eq!(
                problems,
                vec![Diagnostic::schema("/States/S/Timestamp", "String does not match RFC3339 timestamp")],
                "{bad}"
            );
        }
        // A JSONata state may compute it.
        assert_valid(check(one_jsonata(json!({"Type": "Wait", "Timestamp": "{% $states.input.t %}", "End": true}))));
    }

    #[test]
    fn fail_error_and_cause_exclude_their_paths() {
        let problems =
            check(one(json!({"Type": "Fail", "Error": "E", "ErrorPath": "$.e", "Cause": "C", "CausePath": "$.c"})));
        assert_problem(&problems, "/States/S", "[Error, ErrorPath]");
        assert_problem(&problems, "/States/S", "[Cause, CausePath]");
        let problems = check(one(json!({"Type": "Fail", "ErrorPath": "nope"})));
        assert_problem(&problems, "/States/S/ErrorPath", "valid JSONPath or a valid intrinsic function call");
        let problems = check(one_jsonata(json!({"Type": "Fail", "ErrorPath": "$.e"})));
        assert_problem(&problems, "/States/S", "Field 'ErrorPath' is not supported when QueryLanguage is JSONata");
    }

    // --- Parallel and Map ---

    #[test]
    fn parallel_branches_are_scopes() {
        let problems = check(one(json!({"Type": "Parallel", "End": true, "Branches": []})));
        assert_problem(&problems, "/States/S/Branches", "at least one branch");
        let problems = check(one(json!({"Type": "Parallel", "End": true, "Branches": [{"States": {}, "Extra": 1}]})));
        assert_problem(&problems, "/States/S/Branches/0", "These fields are required: [StartAt]");
        assert_problem(&problems, "/States/S/Branches/0", "Field 'Extra' is not supported");
        let problems = check(one(json!({"Type": "Parallel", "End": true})));
        assert_problem(&problems, "/States/S", "These fields are required: [Branches]");
    }

    #[test]
    fn map_processors_are_checked() {
        let map = |extra: Value| {
            let mut state = json!({"Type": "Map", "End": true});
            for (k, v) in extra.as_object().unwrap() {
                state[k] = v.clone();
            }
            one(state)
        };
        let inner = json!({"StartAt": "I", "States": {"I": {"Type": "Succeed"}}});
        let problems = check(map(json!({})));
        assert_problem(&problems, "/States/S", "These fields are required: [ItemProcessor]");
        let problems = check(map(json!({"Iterator": inner, "ItemProcessor": inner})));
        assert_problem(&problems, "/States/S", "[Iterator, ItemProcessor]");
        let mut with_config = inner.clone();
        with_config["ProcessorConfig"] = json!({"Mode": "INLINE", "ExecutionType": "STANDARD"});
        let problems = check(map(json!({"ItemProcessor": with_config})));
        assert_problem(&problems, "/States/S/ItemProcessor/ProcessorConfig", "Field 'ExecutionType' is not supported");
        with_config["ProcessorConfig"] = json!({"Mode": "DISTRIBUTED"});
        let problems = check(map(json!({"ItemProcessor": with_config})));
        assert_problem(
            &problems,
            "/States/S/ItemProcessor/ProcessorConfig",
            "These fields are required: [ExecutionType]",
        );
        with_config["ProcessorConfig"] = json!({"Mode": "PARALLEL"});
        let problems = check(map(json!({"ItemProcessor": with_config})));
        assert_problem(&problems, "/States/S/ItemProcessor/ProcessorConfig/Mode", "'INLINE' or 'DISTRIBUTED'");
        let problems =
            check(map(json!({"ItemProcessor": inner, "MaxConcurrency": -1, "ToleratedFailurePercentage": 101,
                                        "ToleratedFailureCount": 1, "ToleratedFailureCountPath": "$.c"})));
        assert_problem(&problems, "/States/S/MaxConcurrency", "greater than or equal to 0");
        assert_problem(&problems, "/States/S/ToleratedFailurePercentage", "between 0 and 100");
        assert_problem(&problems, "/States/S", "[ToleratedFailureCount, ToleratedFailureCountPath]");
        let problems = check(map(json!({"ItemProcessor": inner, "ItemsPath": "items", "Items": [1]})));
        assert_problem(&problems, "/States/S/ItemsPath", "valid JSONPath");
        assert_problem(&problems, "/States/S", "Field 'Items' is not supported when QueryLanguage is JSONPath");
    }

    #[test]
    fn map_item_reader_batcher_and_writer() {
        let definition = one(json!({"Type": "Map", "End": true,
            "ItemProcessor": {"ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"},
                              "StartAt": "I", "States": {"I": {"Type": "Succeed"}}},
            "ItemReader": {"Resource": "arn:aws:states:::s3:getObject", "Parameters": {"Bucket.$": "$.b", "Key": "k"},
                           "ReaderConfig": {"InputType": "CSV", "CSVHeaderLocation": "FIRST_ROW", "MaxItemsPath": "$.m"}},
            "ItemBatcher": {"MaxItemsPerBatch": 10, "BatchInput": {"x.$": "$.x"}},
            "ResultWriter": {"Resource": "arn:aws:states:::s3:putObject", "Parameters": {"Bucket": "b", "Prefix": "p"}}
        }));
        assert_valid(check(definition));
        let definition = one(json!({"Type": "Map", "End": true,
            "ItemProcessor": {"StartAt": "I", "States": {"I": {"Type": "Succeed"}}},
            "ItemReader": {"Parameters": {"Bucket.$": "b"}},
            "ItemBatcher": {"MaxItemsPerBatchPath": "x", "Other": 1}
        }));
        let problems = check(definition);
        assert_problem(&problems, "/States/S/ItemReader", "These fields are required: [Resource]");
        assert_problem(&problems, "/States/S/ItemReader/Parameters", "'Bucket.$'");
        assert_problem(&problems, "/States/S/ItemBatcher/MaxItemsPerBatchPath", "valid JSONPath");
        assert_problem(&problems, "/States/S/ItemBatcher", "Field 'Other' is not supported");
    }

    #[test]
    fn map_labels() {
        let map = |label: &str| {
            one(json!({"Type": "Map", "End": true, "Label": label,
                "ItemProcessor": {"ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"},
                                  "StartAt": "I", "States": {"I": {"Type": "Pass", "End": true}}}}))
        };
        assert_valid(check(map("label-ok_1")));
        assert_valid(check(map(&"x".repeat(40))));
        let cases = [
            ("", "Label cannot be empty".to_string()),
            (&*"1".repeat(41), "Label cannot exceed 40 characters".to_string()),
            ("label_ ", "Label contains invalid character: ' '".to_string()),
            ("label_:", "Label contains invalid character: ':'".to_string()),
            ("label_\\", "Label contains invalid character: '\\\\'".to_string()),
            ("label_\"", "Label contains invalid character: '\"'".to_string()),
            ("label_\n", "Label contains invalid character: '\\n'".to_string()),
            ("label_\u{1d}", "Label contains invalid character: '\\x1d'".to_string()),
            ("label_\u{7f}", "Label contains invalid character: '\\x7f'".to_string()),
            ("label_\u{9f}", "Label contains invalid character: '\\x9f'".to_string()),
        ];
        for (label, message) in cases {
            assert_eq!(check(map(label)), vec![Diagnostic::schema("/States/S/Label", message)], "{label:?}");
        }
        for c in "<>{}[]?*\"#%\\^|~`$&,;:/\t\r".chars() {
            assert_eq!(check(map(&format!("a{c}b"))).len(), 1, "{c:?}");
        }
    }

    // --- JSONata ---

    #[test]
    fn jsonata_machines_are_checked_structurally() {
        let definition = json!({"QueryLanguage": "JSONata", "StartAt": "T", "States": {
            "T": {"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke",
                  "Arguments": {"FunctionName": "f", "Payload": "{% $states.input %}"},
                  "Output": "{% $states.result.Payload %}", "Assign": {"n": "{% $count(x) %}"},
                  "TimeoutSeconds": "{% $states.input.timeout %}", "HeartbeatSeconds": 5,
                  "Catch": [{"ErrorEquals": ["States.ALL"], "Output": {"e": "{% $states.errorOutput %}"}, "Next": "M"}],
                  "Next": "M"},
            "M": {"Type": "Map", "Items": "{% $states.input.list %}", "MaxConcurrency": "{% 2 %}",
                  "ItemSelector": {"v": "{% $states.context.Map.Item.Value %}"},
                  "ItemProcessor": {"StartAt": "P", "States": {"P": {"Type": "Pass", "End": true}}}, "Next": "W"},
            "W": {"Type": "Wait", "Seconds": "{% 1 %}", "Next": "F"},
            "F": {"Type": "Fail", "Error": "{% 'E' %}", "Cause": "literal cause"}
        }});
        assert_valid(check(definition));
        let problems = check(one_jsonata(json!({"Type": "Map", "End": true, "Items": "$.list",
            "ItemProcessor": {"StartAt": "P", "States": {"P": {"Type": "Pass", "End": true}}}})));
        assert_problem(&problems, "/States/S/Items", "must be a JSONata expression");
        let problems = check(one_jsonata(json!({"Type": "Pass", "End": true, "Output": {"a": ["{%  %}"]}})));
        assert_problem(&problems, "/States/S/Output/a/0", "must not be empty");
        let problems = check(one_jsonata(json!({"Type": "Wait", "End": true, "Seconds": "10"})));
        assert_problem(&problems, "/States/S/Seconds", "must be a JSONata expression");
        let problems =
            check(one_jsonata(json!({"Type": "Task", "End": true, "Resource": "arn:aws:states:::lambda:invoke",
                                                 "TimeoutSecondsPath": "$.t"})));
        assert_problem(
            &problems,
            "/States/S",
            "Field 'TimeoutSecondsPath' is not supported when QueryLanguage is JSONata",
        );
    }

    // --- text, and collecting everything ---

    #[test]
    fn definition_text() {
        let problems = validate_text(" ", &ValidateOptions::default()).unwrap_err();
        assert_eq!(problems, vec![Diagnostic::schema("", "Definition must be a valid JSON object")]);
        let problems = validate_text("not a definition", &ValidateOptions::default()).unwrap_err();
        assert_eq!(problems[0].code, codes::INVALID_JSON_DESCRIPTION);
        let text = r#"{"StartAt": "S", "States": {"S": {"Type": "Pass", "End": true}}}"#;
        assert_eq!(validate_text(text, &ValidateOptions::default()).unwrap()["StartAt"], "S");
    }

    #[test]
    fn every_problem_is_reported_with_its_state() {
        let problems = check(json!({"StartAt": "A", "Bogus": 1, "States": {
            "A": {"Type": "Pass", "Next": "Nowhere", "InputPath": "bad"},
            "B": {"Type": "Wait", "Timestamp": "tomorrow", "End": true},
            "C": {"Type": "Task", "Resource": "arn:aws:states:::dynamodb:query", "End": true}
        }}));
        assert_problem(&problems, "/", "Field 'Bogus' is not supported");
        assert_problem(&problems, "/States/A/Next", "Missing 'Next' target: Nowhere");
        assert_problem(&problems, "/States/A/InputPath", "valid JSONPath");
        assert_problem(&problems, "/States/B/Timestamp", "RFC3339");
        assert_problem(&problems, "/States/C/Resource", "is not recognized");
        assert_problem(&problems, "/States/B", "not reachable");
        assert_problem(&problems, "/States/C", "not reachable");
        assert_eq!(problems.len(), 7, "{problems:#?}");
        for d in problems.iter().filter(|d| d.location.starts_with("/States")) {
            assert!(["/States/A", "/States/B", "/States/C"].iter().any(|s| d.location.starts_with(s)));
        }
    }

    #[test]
    fn python_style_character_quoting() {
        assert_eq!(quote_char('a'), "'a'");
        assert_eq!(quote_char('\''), "\"'\"");
        assert_eq!(quote_char('\u{0}'), "'\\x00'");
        assert_eq!(quote_char('\u{a0}'), "'\\xa0'");
        assert_eq!(quote_char('\u{3000}'), "'\\u3000'");
    }
}
