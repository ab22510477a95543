//! Payload templates (`Parameters`, `ResultSelector`, `ItemSelector`, `Assign`) and the sources
//! their `.$` values read from: the input, the context object and the variables.

use std::cell::OnceCell;
use std::collections::HashMap;
use std::sync::Arc;

use serde_json::{Map, Value};

use crate::error::Failure;
use crate::intrinsics::{self, Call};
use crate::path::{PathExpr, Source};

/// A compiled template. Subtrees without any `.$` key stay one literal, cloned as a whole.
#[derive(Debug, Clone)]
pub enum Template {
    Literal(Value),
    Object(Vec<(String, Template)>),
    Array(Vec<Template>),
    /// The value of a `key.$` entry: a path or an intrinsic call. `field` is the key as written
    /// (with `.$`), for error messages.
    Path {
        field: String,
        path: PathExpr,
    },
    Intrinsic {
        field: String,
        call: Call,
    },
}

impl Template {
    pub fn compile(value: &Value) -> Result<Template, String> {
        if !has_dynamic(value) {
            return Ok(Template::Literal(value.clone()));
        }
        match value {
            Value::Object(map) => {
                let mut entries = Vec::with_capacity(map.len());
                for (key, v) in map {
                    if let Some(stripped) = key.strip_suffix(".$") {
                        let Some(text) = v.as_str() else {
                            return Err(format!(
                                "The value for the field '{key}' must be a valid JSONPath or a valid intrinsic function call"
                            ));
                        };
                        let compiled = if intrinsics::is_intrinsic(text) {
                            let call = intrinsics::parse(text).map_err(|e| {
                                format!("The value for the field '{key}' must be a valid JSONPath or a valid intrinsic function call: {e}")
                            })?;
                            Template::Intrinsic { field: key.clone(), call }
                        } else {
                            let path = PathExpr::parse(text).map_err(|e| {
                                format!("The value for the field '{key}' must be a valid JSONPath or a valid intrinsic function call: {}", e.message)
                            })?;
                            Template::Path { field: key.clone(), path }
                        };
                        entries.push((stripped.to_string(), compiled));
                    } else {
                        entries.push((key.clone(), Template::compile(v)?));
                    }
                }
                Ok(Template::Object(entries))
            }
            Value::Array(items) => Ok(Template::Array(items.iter().map(Template::compile).collect::<Result<_, _>>()?)),
            other => Ok(Template::Literal(other.clone())),
        }
    }

    pub fn evaluate(&self, sources: &Sources<'_>) -> Result<Value, Failure> {
        match self {
            Template::Literal(v) => Ok(v.clone()),
            Template::Object(entries) => {
                let mut map = Map::with_capacity(entries.len());
                for (key, t) in entries {
                    map.insert(key.clone(), t.evaluate(sources)?);
                }
                Ok(Value::Object(map))
            }
            Template::Array(items) => {
                Ok(Value::Array(items.iter().map(|t| t.evaluate(sources)).collect::<Result<_, _>>()?))
            }
            Template::Path { field, path } => sources.read(path, field),
            Template::Intrinsic { call, .. } => intrinsics::evaluate(call, &mut |p| sources.read(p, p.text())),
        }
    }
}

fn has_dynamic(value: &Value) -> bool {
    match value {
        Value::Object(map) => map.iter().any(|(k, v)| k.ends_with(".$") || has_dynamic(v)),
        Value::Array(items) => items.iter().any(has_dynamic),
        _ => false,
    }
}

/// Workflow variables: a local scope over a read-only parent (the scope a Map iteration or a
/// Parallel branch was started from).
#[derive(Debug, Clone, Default)]
pub struct Variables {
    local: HashMap<String, Value>,
    parent: Option<Arc<Variables>>,
}

impl Variables {
    pub fn new() -> Self {
        Self::default()
    }

    /// A nested scope that sees everything visible here.
    pub fn child(&self) -> Variables {
        Variables { local: HashMap::new(), parent: Some(Arc::new(self.clone())) }
    }

    pub fn get(&self, name: &str) -> Option<&Value> {
        match self.local.get(name) {
            Some(v) => Some(v),
            None => self.parent.as_deref().and_then(|p| p.get(name)),
        }
    }

    pub fn assign(&mut self, values: Map<String, Value>) {
        self.local.extend(values);
    }

    pub fn is_empty(&self) -> bool {
        self.local.is_empty() && self.parent.as_ref().is_none_or(|p| p.is_empty())
    }
}

/// Builds the context object (`$$`) on demand, and only the part a path reads: most states never
/// read it, and `$$.Execution.Input` is a copy of the whole execution input, which a Map's
/// ItemSelector must not clone once per item.
pub struct ContextObject<'a> {
    /// Given the path's first two names (when the path is definite), the context object with at
    /// least what that path reaches.
    pub build: &'a dyn Fn(Option<&str>, Option<&str>) -> Value,
    pub cache: OnceCell<Value>,
}

impl<'a> ContextObject<'a> {
    pub fn new(build: &'a dyn Fn(Option<&str>, Option<&str>) -> Value) -> Self {
        Self { build, cache: OnceCell::new() }
    }

    /// The whole context object.
    pub fn get(&self) -> &Value {
        self.cache.get_or_init(|| (self.build)(None, None))
    }

    /// Enough of the context object for this path.
    fn for_path(&self, path: &crate::path::Query) -> std::borrow::Cow<'_, Value> {
        if let Some(whole) = self.cache.get() {
            return std::borrow::Cow::Borrowed(whole);
        }
        let name = |i: usize| match path.segments()?.get(i)? {
            crate::path::Segment::Field(f) => Some(f.as_str()),
            crate::path::Segment::Index(_) => None,
        };
        match (name(0), name(1)) {
            (Some(first), second) => std::borrow::Cow::Owned((self.build)(Some(first), second)),
            (None, _) => std::borrow::Cow::Borrowed(self.get()),
        }
    }
}

impl std::fmt::Debug for ContextObject<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ContextObject").field("built", &self.cache.get().is_some()).finish()
    }
}

/// What `.$` values read from.
#[derive(Debug)]
pub struct Sources<'a> {
    pub input: &'a Value,
    pub context: &'a ContextObject<'a>,
    pub variables: &'a Variables,
}

impl Sources<'_> {
    /// Read a path for the field `field`; a missing value is `States.Runtime` with AWS's wording.
    pub fn read(&self, path: &PathExpr, field: &str) -> Result<Value, Failure> {
        let context;
        let root = match &path.source {
            Source::Input => self.input,
            Source::Context => {
                context = self.context.for_path(&path.query);
                &*context
            }
            Source::Variable(name) => match self.variables.get(name) {
                Some(v) => v,
                None => {
                    return Err(Failure::runtime(format!(
                        "The JSONPath '{}' specified for the field '{field}' could not be found in the input '{}'",
                        path.text(),
                        compact(self.input)
                    )))
                }
            },
        };
        if let Some(v) = path.query.select_ref(root) {
            return Ok(v.clone());
        }
        path.query.select(root).ok_or_else(|| {
            Failure::runtime(format!(
                "The JSONPath '{}' specified for the field '{field}' could not be found in the input '{}'",
                path.text(),
                compact(root)
            ))
        })
    }
}

pub fn compact(value: &Value) -> String {
    serde_json::to_string(value).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn templates_read_input_context_and_variables() {
        let t = Template::compile(&json!({
            "a.$": "$.x",
            "b": {"c.$": "$$.Execution.Name", "lit": [1, {"d.$": "$v"}]},
            "plain": true
        }))
        .unwrap();
        let build = |_: Option<&str>, _: Option<&str>| json!({"Execution": {"Name": "run-1"}});
        let ctx = ContextObject::new(&build);
        let mut vars = Variables::new();
        vars.assign(json!({"v": 7}).as_object().unwrap().clone());
        let out = t.evaluate(&Sources { input: &json!({"x": "X"}), context: &ctx, variables: &vars }).unwrap();
        assert_eq!(out, json!({"a": "X", "b": {"c": "run-1", "lit": [1, {"d": 7}]}, "plain": true}));
    }

    #[test]
    fn a_missing_path_names_the_field() {
        let t = Template::compile(&json!({"value.$": "$.nope"})).unwrap();
        let build = |_: Option<&str>, _: Option<&str>| json!({});
        let ctx = ContextObject::new(&build);
        let vars = Variables::new();
        let err = t.evaluate(&Sources { input: &json!({"a": 1}), context: &ctx, variables: &vars }).unwrap_err();
        assert_eq!(err.error, "States.Runtime");
        assert_eq!(
            err.cause.unwrap(),
            "The JSONPath '$.nope' specified for the field 'value.$' could not be found in the input '{\"a\":1}'"
        );
    }

    #[test]
    fn child_scopes_see_their_parents() {
        let mut outer = Variables::new();
        outer.assign(json!({"a": 1}).as_object().unwrap().clone());
        let mut inner = outer.child();
        inner.assign(json!({"b": 2}).as_object().unwrap().clone());
        assert_eq!(inner.get("a"), Some(&json!(1)));
        assert_eq!(outer.get("b"), None);
    }
}
