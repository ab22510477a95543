//! The `States.*` intrinsic functions: parsing `States.Format('{}', $.x)` and evaluating it.
//! (Being written; the signatures below are the contract the executor uses.)

use serde_json::Value;

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
    Err(format!("intrinsic functions are not available yet: {text}"))
}

/// Evaluate a call. `resolve` reads a path argument (the executor knows the input, the context
/// object and the variables). Failures are `States.IntrinsicFailure` (bad arguments) or whatever
/// `resolve` returns (`States.Runtime` for a missing path).
pub fn evaluate(call: &Call, resolve: &mut dyn FnMut(&PathExpr) -> Result<Value, Failure>) -> Result<Value, Failure> {
    let _ = resolve;
    Err(Failure::intrinsic(format!("{} is not available yet", call.name)))
}
