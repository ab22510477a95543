//! What a `Task` state's `Resource` resolves to.
//!
//! The registry maps resources to handlers: Lambda functions (by ARN or name, reached both as a
//! plain function ARN and through `arn:aws:states:::lambda:invoke`), and service integrations
//! (`arn:aws:states:::ecs:runTask.waitForTaskToken`, test stubs, ...). Nested executions
//! (`states:startExecution.sync:2`) are built into the executor because they need it.
//!
//! For `.waitForTaskToken` resources the executor creates the token, registers it with the
//! [`CallbackHub`], invokes the handler (which only has to start the work), and then waits for
//! SendTaskSuccess / SendTaskFailure / SendTaskHeartbeat on that token.

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::Value;
use tokio::sync::{oneshot, watch};

pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// A task's failure as Step Functions sees it: an error name and a cause.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaskFailure {
    pub error: String,
    pub cause: Option<String>,
}

impl TaskFailure {
    pub fn new(error: impl Into<String>, cause: impl Into<String>) -> Self {
        Self { error: error.into(), cause: Some(cause.into()) }
    }
}

impl From<TaskFailure> for crate::Failure {
    fn from(f: TaskFailure) -> Self {
        crate::Failure { error: f.error, cause: f.cause }
    }
}

/// Everything a handler learns about the call.
#[derive(Debug, Clone)]
pub struct TaskInvocation {
    pub state_name: String,
    /// The `Resource` exactly as written (after substitutions).
    pub resource: String,
    /// The effective input: the state input after InputPath and Parameters.
    pub input: Value,
    pub execution_arn: String,
    pub execution_name: String,
    pub state_machine_arn: String,
    /// Set for `.waitForTaskToken` resources (also visible to Parameters as `$$.Task.Token`).
    pub task_token: Option<String>,
    pub timeout: Option<Duration>,
    pub heartbeat: Option<Duration>,
    /// 0 for the first attempt, then 1, 2, ... on retries.
    pub retry_count: u32,
}

/// A service integration. `invoke` returns the task result; for `.waitForTaskToken` resources the
/// returned value is ignored and the result is what arrives on the callback hub.
pub trait TaskHandler: Send + Sync + 'static {
    fn invoke(&self, call: TaskInvocation, callbacks: CallbackHub) -> BoxFuture<'static, Result<Value, TaskFailure>>;
}

/// A Lambda function in-process: the step's handler, given the payload, returning its result or
/// its error (whose `error` is the Lambda `errorType`, i.e. a `StepError` class name).
pub type FunctionHandler = Arc<dyn Fn(Value) -> BoxFuture<'static, Result<Value, TaskFailure>> + Send + Sync>;

/// Wrap an async closure as a [`FunctionHandler`].
pub fn function<F, Fut>(f: F) -> FunctionHandler
where
    F: Fn(Value) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<Value, TaskFailure>> + Send + 'static,
{
    Arc::new(move |input| Box::pin(f(input)))
}

/// Resources → handlers.
#[derive(Default, Clone)]
pub struct TaskRegistry {
    /// Keyed by function ARN and by bare function name (both are accepted by Lambda).
    functions: HashMap<String, FunctionHandler>,
    /// Keyed by the exact resource ARN, e.g. `arn:aws:states:::ecs:runTask.waitForTaskToken`.
    integrations: HashMap<String, Arc<dyn TaskHandler>>,
    /// Handler for any resource nothing else claims (test stubs).
    fallback: Option<Arc<dyn TaskHandler>>,
}

impl std::fmt::Debug for TaskRegistry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TaskRegistry")
            .field("functions", &self.functions.keys().collect::<Vec<_>>())
            .field("integrations", &self.integrations.keys().collect::<Vec<_>>())
            .field("fallback", &self.fallback.is_some())
            .finish()
    }
}

impl TaskRegistry {
    pub fn new() -> Self {
        Self::default()
    }

    /// Register a function under its ARN; it is also reachable by the ARN's function name.
    pub fn function(&mut self, arn_or_name: &str, handler: FunctionHandler) -> &mut Self {
        if let Some(name) = function_name(arn_or_name) {
            self.functions.insert(name.to_string(), handler.clone());
        }
        self.functions.insert(arn_or_name.to_string(), handler);
        self
    }

    pub fn integration(&mut self, resource: &str, handler: Arc<dyn TaskHandler>) -> &mut Self {
        self.integrations.insert(resource.to_string(), handler);
        self
    }

    pub fn fallback(&mut self, handler: Arc<dyn TaskHandler>) -> &mut Self {
        self.fallback = Some(handler);
        self
    }

    /// A function by ARN (qualified or not) or by name.
    pub fn find_function(&self, arn_or_name: &str) -> Option<&FunctionHandler> {
        self.functions.get(arn_or_name).or_else(|| function_name(arn_or_name).and_then(|n| self.functions.get(n)))
    }

    pub fn find_integration(&self, resource: &str) -> Option<&Arc<dyn TaskHandler>> {
        self.integrations.get(resource)
    }

    pub fn find_fallback(&self) -> Option<&Arc<dyn TaskHandler>> {
        self.fallback.as_ref()
    }
}

/// `arn:aws:lambda:eu-west-1:123456789012:function:name[:qualifier]` → `name`.
pub fn function_name(arn: &str) -> Option<&str> {
    let rest = arn.strip_prefix("arn:")?;
    let parts: Vec<&str> = rest.splitn(7, ':').collect();
    if parts.len() >= 6 && parts[1] == "lambda" && parts[4] == "function" {
        Some(parts[5])
    } else {
        None
    }
}

/// Why a callback was refused; the names are Step Functions' API error codes.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CallbackError {
    #[error("TaskDoesNotExist: no task is waiting for this token")]
    TaskDoesNotExist,
    #[error("InvalidToken: {0}")]
    InvalidToken(String),
    #[error("InvalidOutput: {0}")]
    InvalidOutput(String),
}

impl CallbackError {
    /// The `__type` Step Functions answers with.
    pub fn code(&self) -> &'static str {
        match self {
            CallbackError::TaskDoesNotExist => "TaskDoesNotExist",
            CallbackError::InvalidToken(_) => "InvalidToken",
            CallbackError::InvalidOutput(_) => "InvalidOutput",
        }
    }
}

struct Pending {
    outcome: oneshot::Sender<Result<Value, TaskFailure>>,
    heartbeat: watch::Sender<u64>,
}

/// Tokens of tasks waiting for a callback. Cloning shares the same hub.
#[derive(Clone, Default)]
pub struct CallbackHub {
    pending: Arc<Mutex<HashMap<String, Pending>>>,
}

impl std::fmt::Debug for CallbackHub {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CallbackHub").field("waiting", &self.waiting()).finish()
    }
}

/// The waiting side of one token.
#[derive(Debug)]
pub struct CallbackWait {
    pub token: String,
    pub outcome: oneshot::Receiver<Result<Value, TaskFailure>>,
    /// Bumped on every SendTaskHeartbeat.
    pub heartbeats: watch::Receiver<u64>,
}

impl CallbackHub {
    pub fn new() -> Self {
        Self::default()
    }

    /// A fresh random token, registered.
    pub fn register_new(&self) -> CallbackWait {
        self.register(uuid::Uuid::new_v4().simple().to_string())
    }

    pub fn register(&self, token: String) -> CallbackWait {
        let (tx, rx) = oneshot::channel();
        let (hb_tx, hb_rx) = watch::channel(0);
        self.lock().insert(token.clone(), Pending { outcome: tx, heartbeat: hb_tx });
        CallbackWait { token, outcome: rx, heartbeats: hb_rx }
    }

    /// Forget a token (the task finished, timed out or was cancelled); later callbacks get
    /// `TaskDoesNotExist`, as on AWS.
    pub fn forget(&self, token: &str) {
        self.lock().remove(token);
    }

    pub fn succeed(&self, token: &str, output: Value) -> Result<(), CallbackError> {
        let pending = self.lock().remove(token).ok_or(CallbackError::TaskDoesNotExist)?;
        // The receiver may have gone away (timed out) between lookup and send; that is the same
        // as the token not existing.
        pending.outcome.send(Ok(output)).map_err(|_| CallbackError::TaskDoesNotExist)
    }

    pub fn fail(&self, token: &str, error: Option<String>, cause: Option<String>) -> Result<(), CallbackError> {
        let pending = self.lock().remove(token).ok_or(CallbackError::TaskDoesNotExist)?;
        let failure = TaskFailure { error: error.unwrap_or_default(), cause };
        pending.outcome.send(Err(failure)).map_err(|_| CallbackError::TaskDoesNotExist)
    }

    pub fn heartbeat(&self, token: &str) -> Result<(), CallbackError> {
        let guard = self.lock();
        let pending = guard.get(token).ok_or(CallbackError::TaskDoesNotExist)?;
        pending.heartbeat.send_modify(|n| *n += 1);
        Ok(())
    }

    /// How many tasks are waiting.
    pub fn waiting(&self) -> usize {
        self.lock().len()
    }

    pub fn is_waiting(&self, token: &str) -> bool {
        self.lock().contains_key(token)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Pending>> {
        // A poisoned lock only means another thread panicked mid-insert; the map is still usable.
        self.pending.lock().unwrap_or_else(|e| e.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn function_names_come_out_of_arns() {
        assert_eq!(function_name("arn:aws:lambda:eu-west-1:123456789012:function:decide"), Some("decide"));
        assert_eq!(function_name("arn:aws:lambda:eu-west-1:123456789012:function:decide:live"), Some("decide"));
        assert_eq!(function_name("decide"), None);
        assert_eq!(function_name("arn:aws:states:::lambda:invoke"), None);
    }

    #[tokio::test]
    async fn a_token_answers_once() {
        let hub = CallbackHub::new();
        let wait = hub.register_new();
        hub.heartbeat(&wait.token).unwrap();
        assert_eq!(*wait.heartbeats.borrow(), 1);
        hub.succeed(&wait.token, serde_json::json!({"ok": true})).unwrap();
        assert_eq!(hub.succeed(&wait.token, Value::Null), Err(CallbackError::TaskDoesNotExist));
        assert_eq!(wait.outcome.await.unwrap(), Ok(serde_json::json!({"ok": true})));
    }
}
