//! The typed model of a state machine, built once from a validated definition so the run loop
//! never re-reads JSON field names or re-parses paths.

use std::collections::HashMap;
use std::sync::Arc;

use serde_json::{Map, Value};

use crate::choice::ChoiceRule;
use crate::error::{DefinitionError, Diagnostic};
use crate::path::{self, PathExpr, ReferencePath};
use crate::template::Template;
use crate::validate::{self, ValidateOptions};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum QueryLanguage {
    JsonPath,
    Jsonata,
}

#[derive(Debug)]
pub struct StateMachine {
    pub comment: Option<String>,
    pub start_at: String,
    pub states: HashMap<String, Arc<State>>,
    pub timeout_seconds: Option<u64>,
    pub query_language: QueryLanguage,
}

/// `InputPath`/`OutputPath`: absent means `$`, `null` means `{}`.
#[derive(Debug, Clone)]
pub enum IoPath {
    Whole,
    Discard,
    Path(PathExpr),
}

/// `ResultPath`: absent means `$` (the result replaces the input), `null` keeps the input.
#[derive(Debug, Clone)]
pub enum ResultPath {
    Replace,
    Discard,
    Path(ReferencePath),
}

#[derive(Debug, Clone)]
pub enum Transition {
    Next(String),
    End,
}

/// A number given literally or read from the input with a `…Path` field.
#[derive(Debug, Clone)]
pub enum Dynamic<T> {
    Fixed(T),
    Path(PathExpr),
}

#[derive(Debug)]
pub struct State {
    pub name: String,
    pub comment: Option<String>,
    pub input_path: IoPath,
    pub output_path: IoPath,
    /// `None` for Choice, Succeed and Fail.
    pub transition: Option<Transition>,
    pub assign: Option<Template>,
    pub kind: Kind,
}

#[derive(Debug)]
pub enum Kind {
    Pass(Pass),
    Task(Task),
    Choice(Choice),
    Wait(Wait),
    Succeed,
    Fail(Fail),
    Parallel(Parallel),
    Map(MapState),
}

impl Kind {
    pub fn type_name(&self) -> &'static str {
        match self {
            Kind::Pass(_) => "Pass",
            Kind::Task(_) => "Task",
            Kind::Choice(_) => "Choice",
            Kind::Wait(_) => "Wait",
            Kind::Succeed => "Succeed",
            Kind::Fail(_) => "Fail",
            Kind::Parallel(_) => "Parallel",
            Kind::Map(_) => "Map",
        }
    }
}

#[derive(Debug)]
pub struct Pass {
    pub result: Option<Value>,
    pub parameters: Option<Template>,
    pub result_path: ResultPath,
}

#[derive(Debug)]
pub struct Task {
    pub resource: String,
    pub parameters: Option<Template>,
    pub result_selector: Option<Template>,
    pub result_path: ResultPath,
    pub retry: Vec<Retrier>,
    pub catch: Vec<Catcher>,
    pub timeout_seconds: Option<Dynamic<u64>>,
    pub heartbeat_seconds: Option<Dynamic<u64>>,
}

#[derive(Debug)]
pub struct Choice {
    pub choices: Vec<ChoiceBranch>,
    pub default: Option<String>,
}

#[derive(Debug)]
pub struct ChoiceBranch {
    pub rule: ChoiceRule,
    pub next: String,
    pub assign: Option<Template>,
}

#[derive(Debug)]
pub enum Wait {
    Seconds(u64),
    Timestamp(String),
    SecondsPath(PathExpr),
    TimestampPath(PathExpr),
}

#[derive(Debug)]
pub struct Fail {
    pub error: Option<StringSource>,
    pub cause: Option<StringSource>,
}

#[derive(Debug)]
pub enum StringSource {
    Literal(String),
    Path(PathExpr),
    Intrinsic(crate::intrinsics::Call),
}

#[derive(Debug)]
pub struct Parallel {
    pub branches: Vec<Arc<StateMachine>>,
    pub parameters: Option<Template>,
    pub result_selector: Option<Template>,
    pub result_path: ResultPath,
    pub retry: Vec<Retrier>,
    pub catch: Vec<Catcher>,
}

#[derive(Debug)]
pub struct MapState {
    pub items_path: IoPath,
    pub item_selector: Option<Template>,
    pub processor: Arc<StateMachine>,
    pub max_concurrency: Dynamic<u64>,
    pub tolerated_failure_count: Option<Dynamic<i64>>,
    pub tolerated_failure_percentage: Option<Dynamic<f64>>,
    pub result_selector: Option<Template>,
    pub result_path: ResultPath,
    pub retry: Vec<Retrier>,
    pub catch: Vec<Catcher>,
    pub label: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Jitter {
    Full,
    None,
}

#[derive(Debug, Clone)]
pub struct Retrier {
    pub error_equals: Vec<String>,
    pub interval_seconds: f64,
    pub max_attempts: u32,
    pub backoff_rate: f64,
    pub max_delay_seconds: Option<f64>,
    pub jitter: Jitter,
}

#[derive(Debug, Clone)]
pub struct Catcher {
    pub error_equals: Vec<String>,
    pub result_path: ResultPath,
    pub next: String,
    pub assign: Option<Template>,
}

impl StateMachine {
    /// Validate, then build. Every problem is reported with its location.
    pub fn from_value(definition: &Value, options: &ValidateOptions) -> Result<Arc<Self>, DefinitionError> {
        let problems = validate::validate(definition, options);
        if !problems.is_empty() {
            return Err(DefinitionError { diagnostics: problems });
        }
        let obj = definition
            .as_object()
            .ok_or_else(|| DefinitionError::single("/", "Definition must be a valid JSON object"))?;
        let mut builder = Builder { problems: Vec::new() };
        let machine = builder.machine(obj, "", QueryLanguage::JsonPath);
        if builder.problems.is_empty() {
            Ok(Arc::new(machine))
        } else {
            Err(DefinitionError { diagnostics: builder.problems })
        }
    }

    pub fn from_text(text: &str, options: &ValidateOptions) -> Result<Arc<Self>, DefinitionError> {
        let value = validate::validate_text(text, options).map_err(|diagnostics| DefinitionError { diagnostics })?;
        Self::from_value(&value, options)
    }

    pub fn state(&self, name: &str) -> Option<&Arc<State>> {
        self.states.get(name)
    }
}

struct Builder {
    problems: Vec<Diagnostic>,
}

impl Builder {
    fn fail(&mut self, location: &str, message: impl Into<String>) {
        self.problems.push(Diagnostic::schema(location, message));
    }

    fn machine(&mut self, obj: &Map<String, Value>, location: &str, inherited: QueryLanguage) -> StateMachine {
        let query_language = language(obj).unwrap_or(inherited);
        let mut states = HashMap::new();
        if let Some(map) = obj.get("States").and_then(Value::as_object) {
            for (name, state) in map {
                let loc = format!("{location}/States/{name}");
                match state.as_object() {
                    Some(s) => {
                        if let Some(built) = self.state(name, s, &loc, query_language) {
                            states.insert(name.clone(), Arc::new(built));
                        }
                    }
                    None => self.fail(&loc, "a state must be an object"),
                }
            }
        }
        StateMachine {
            comment: str_field(obj, "Comment"),
            start_at: str_field(obj, "StartAt").unwrap_or_default(),
            states,
            timeout_seconds: obj.get("TimeoutSeconds").and_then(Value::as_u64),
            query_language,
        }
    }

    fn state(&mut self, name: &str, obj: &Map<String, Value>, loc: &str, inherited: QueryLanguage) -> Option<State> {
        let language = language(obj).unwrap_or(inherited);
        if language == QueryLanguage::Jsonata {
            self.fail(loc, "the JSONata query language is not supported by the embedded executor yet");
            return None;
        }
        let kind_name = str_field(obj, "Type").unwrap_or_default();
        let transition = match (str_field(obj, "Next"), obj.get("End").and_then(Value::as_bool)) {
            (Some(next), _) => Some(Transition::Next(next)),
            (None, Some(true)) => Some(Transition::End),
            _ => None,
        };
        let kind = match kind_name.as_str() {
            "Pass" => Kind::Pass(Pass {
                result: obj.get("Result").cloned(),
                parameters: self.template(obj, "Parameters", loc),
                result_path: self.result_path(obj, loc),
            }),
            "Task" => Kind::Task(Task {
                resource: str_field(obj, "Resource").unwrap_or_default(),
                parameters: self.template(obj, "Parameters", loc),
                result_selector: self.template(obj, "ResultSelector", loc),
                result_path: self.result_path(obj, loc),
                retry: retriers(obj),
                catch: self.catchers(obj, loc),
                timeout_seconds: self.dynamic_u64(obj, "TimeoutSeconds", loc),
                heartbeat_seconds: self.dynamic_u64(obj, "HeartbeatSeconds", loc),
            }),
            "Choice" => {
                let mut choices = Vec::new();
                for (i, rule) in obj.get("Choices").and_then(Value::as_array).into_iter().flatten().enumerate() {
                    let rloc = format!("{loc}/Choices/{i}");
                    let Some(robj) = rule.as_object() else {
                        self.fail(&rloc, "a choice rule must be an object");
                        continue;
                    };
                    match ChoiceRule::from_json(robj) {
                        Ok(parsed) => choices.push(ChoiceBranch {
                            rule: parsed,
                            next: str_field(robj, "Next").unwrap_or_default(),
                            assign: self.template(robj, "Assign", &rloc),
                        }),
                        Err(e) => self.fail(&rloc, e),
                    }
                }
                Kind::Choice(Choice { choices, default: str_field(obj, "Default") })
            }
            "Wait" => {
                let wait = if let Some(s) = obj.get("Seconds") {
                    Wait::Seconds(s.as_u64().unwrap_or(0))
                } else if let Some(t) = str_field(obj, "Timestamp") {
                    Wait::Timestamp(t)
                } else if let Some(p) = self.path(obj, "SecondsPath", loc) {
                    Wait::SecondsPath(p)
                } else if let Some(p) = self.path(obj, "TimestampPath", loc) {
                    Wait::TimestampPath(p)
                } else {
                    self.fail(loc, "a Wait state needs Seconds, Timestamp, SecondsPath or TimestampPath");
                    return None;
                };
                Kind::Wait(wait)
            }
            "Succeed" => Kind::Succeed,
            "Fail" => Kind::Fail(Fail {
                error: self.string_source(obj, "Error", "ErrorPath", loc),
                cause: self.string_source(obj, "Cause", "CausePath", loc),
            }),
            "Parallel" => {
                let mut branches = Vec::new();
                for (i, b) in obj.get("Branches").and_then(Value::as_array).into_iter().flatten().enumerate() {
                    if let Some(bobj) = b.as_object() {
                        branches.push(Arc::new(self.machine(bobj, &format!("{loc}/Branches/{i}"), language)));
                    }
                }
                Kind::Parallel(Parallel {
                    branches,
                    parameters: self.template(obj, "Parameters", loc),
                    result_selector: self.template(obj, "ResultSelector", loc),
                    result_path: self.result_path(obj, loc),
                    retry: retriers(obj),
                    catch: self.catchers(obj, loc),
                })
            }
            "Map" => {
                let processor_key = if obj.contains_key("ItemProcessor") { "ItemProcessor" } else { "Iterator" };
                let processor = match obj.get(processor_key).and_then(Value::as_object) {
                    Some(p) => self.machine(p, &format!("{loc}/{processor_key}"), language),
                    None => {
                        self.fail(loc, "a Map state needs an ItemProcessor");
                        return None;
                    }
                };
                let max_concurrency = match self.path(obj, "MaxConcurrencyPath", loc) {
                    Some(p) => Dynamic::Path(p),
                    None => Dynamic::Fixed(obj.get("MaxConcurrency").and_then(Value::as_u64).unwrap_or(0)),
                };
                let tolerated_failure_count = match self.path(obj, "ToleratedFailureCountPath", loc) {
                    Some(p) => Some(Dynamic::Path(p)),
                    None => obj.get("ToleratedFailureCount").and_then(Value::as_i64).map(Dynamic::Fixed),
                };
                let tolerated_failure_percentage = match self.path(obj, "ToleratedFailurePercentagePath", loc) {
                    Some(p) => Some(Dynamic::Path(p)),
                    None => obj.get("ToleratedFailurePercentage").and_then(Value::as_f64).map(Dynamic::Fixed),
                };
                // `Parameters` is the legacy spelling of ItemSelector.
                let item_selector =
                    self.template(obj, "ItemSelector", loc).or_else(|| self.template(obj, "Parameters", loc));
                Kind::Map(MapState {
                    items_path: self.io_path(obj, "ItemsPath", loc),
                    item_selector,
                    processor: Arc::new(processor),
                    max_concurrency,
                    tolerated_failure_count,
                    tolerated_failure_percentage,
                    result_selector: self.template(obj, "ResultSelector", loc),
                    result_path: self.result_path(obj, loc),
                    retry: retriers(obj),
                    catch: self.catchers(obj, loc),
                    label: str_field(obj, "Label"),
                })
            }
            other => {
                self.fail(loc, format!("unknown state type '{other}'"));
                return None;
            }
        };
        Some(State {
            name: name.to_string(),
            comment: str_field(obj, "Comment"),
            input_path: self.io_path(obj, "InputPath", loc),
            output_path: self.io_path(obj, "OutputPath", loc),
            transition,
            assign: self.template(obj, "Assign", loc),
            kind,
        })
    }

    fn template(&mut self, obj: &Map<String, Value>, field: &str, loc: &str) -> Option<Template> {
        let value = obj.get(field)?;
        match Template::compile(value) {
            Ok(t) => Some(t),
            Err(e) => {
                self.fail(&format!("{loc}/{field}"), e);
                None
            }
        }
    }

    fn path(&mut self, obj: &Map<String, Value>, field: &str, loc: &str) -> Option<PathExpr> {
        let text = obj.get(field)?.as_str()?;
        match PathExpr::parse(text) {
            Ok(p) => Some(p),
            Err(e) => {
                self.fail(&format!("{loc}/{field}"), e.message);
                None
            }
        }
    }

    fn io_path(&mut self, obj: &Map<String, Value>, field: &str, loc: &str) -> IoPath {
        match obj.get(field) {
            None => IoPath::Whole,
            Some(Value::Null) => IoPath::Discard,
            Some(_) => self.path(obj, field, loc).map(IoPath::Path).unwrap_or(IoPath::Whole),
        }
    }

    fn result_path(&mut self, obj: &Map<String, Value>, loc: &str) -> ResultPath {
        parse_result_path(obj.get("ResultPath")).unwrap_or_else(|e| {
            self.fail(&format!("{loc}/ResultPath"), e);
            ResultPath::Replace
        })
    }

    fn dynamic_u64(&mut self, obj: &Map<String, Value>, field: &str, loc: &str) -> Option<Dynamic<u64>> {
        if let Some(p) = self.path(obj, &format!("{field}Path"), loc) {
            return Some(Dynamic::Path(p));
        }
        obj.get(field).and_then(Value::as_u64).map(Dynamic::Fixed)
    }

    fn string_source(
        &mut self,
        obj: &Map<String, Value>,
        field: &str,
        path_field: &str,
        loc: &str,
    ) -> Option<StringSource> {
        if let Some(s) = str_field(obj, field) {
            return Some(StringSource::Literal(s));
        }
        let text = obj.get(path_field)?.as_str()?;
        if crate::intrinsics::is_intrinsic(text) {
            return match crate::intrinsics::parse(text) {
                Ok(call) => Some(StringSource::Intrinsic(call)),
                Err(e) => {
                    self.fail(&format!("{loc}/{path_field}"), e);
                    None
                }
            };
        }
        self.path(obj, path_field, loc).map(StringSource::Path)
    }

    fn catchers(&mut self, obj: &Map<String, Value>, loc: &str) -> Vec<Catcher> {
        let mut out = Vec::new();
        for (i, c) in obj.get("Catch").and_then(Value::as_array).into_iter().flatten().enumerate() {
            let Some(c) = c.as_object() else { continue };
            let cloc = format!("{loc}/Catch/{i}");
            let result_path = parse_result_path(c.get("ResultPath")).unwrap_or_else(|e| {
                self.fail(&format!("{cloc}/ResultPath"), e);
                ResultPath::Replace
            });
            out.push(Catcher {
                error_equals: strings(c.get("ErrorEquals")),
                result_path,
                next: str_field(c, "Next").unwrap_or_default(),
                assign: self.template(c, "Assign", &cloc),
            });
        }
        out
    }
}

fn retriers(obj: &Map<String, Value>) -> Vec<Retrier> {
    let mut out = Vec::new();
    for r in obj.get("Retry").and_then(Value::as_array).into_iter().flatten() {
        let Some(r) = r.as_object() else { continue };
        out.push(Retrier {
            error_equals: strings(r.get("ErrorEquals")),
            interval_seconds: r.get("IntervalSeconds").and_then(Value::as_f64).unwrap_or(1.0),
            max_attempts: r.get("MaxAttempts").and_then(Value::as_u64).unwrap_or(3).min(u32::MAX as u64) as u32,
            backoff_rate: r.get("BackoffRate").and_then(Value::as_f64).unwrap_or(2.0),
            max_delay_seconds: r.get("MaxDelaySeconds").and_then(Value::as_f64),
            jitter: match r.get("JitterStrategy").and_then(Value::as_str) {
                Some("FULL") => Jitter::Full,
                _ => Jitter::None,
            },
        });
    }
    out
}

fn parse_result_path(value: Option<&Value>) -> Result<ResultPath, String> {
    match value {
        None => Ok(ResultPath::Replace),
        Some(Value::Null) => Ok(ResultPath::Discard),
        Some(Value::String(s)) => path::parse_reference(s).map(ResultPath::Path).map_err(|e| e.message),
        Some(_) => Err("ResultPath must be a string or null".into()),
    }
}

fn language(obj: &Map<String, Value>) -> Option<QueryLanguage> {
    match obj.get("QueryLanguage")?.as_str()? {
        "JSONata" => Some(QueryLanguage::Jsonata),
        _ => Some(QueryLanguage::JsonPath),
    }
}

fn str_field(obj: &Map<String, Value>, field: &str) -> Option<String> {
    obj.get(field).and_then(Value::as_str).map(str::to_string)
}

fn strings(value: Option<&Value>) -> Vec<String> {
    value
        .and_then(Value::as_array)
        .map(|a| a.iter().filter_map(Value::as_str).map(str::to_string).collect())
        .unwrap_or_default()
}
