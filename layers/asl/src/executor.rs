//! The run loop: states, input/output processing, Retry/Catch, Map and Parallel, timeouts, the
//! context object, variables and the history.
//!
//! Processing order inside a state follows the ASL specification: InputPath → Parameters →
//! (the work) → ResultSelector → Assign → ResultPath → OutputPath. A `States.Runtime` failure
//! (a path that does not resolve, a value of the wrong type) is never caught or retried, as on AWS.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use futures::stream::{self, StreamExt};
use serde_json::{json, Map, Value};
use time::OffsetDateTime;

use crate::clock::{Clock, RealClock};
use crate::definition::{
    Catcher, Dynamic, IoPath, Kind, MapState, Parallel, ResultPath, Retrier, State, StateMachine, StringSource, Task,
    Transition, Wait,
};
use crate::error::{names, Failure};
use crate::history::{HistoryEvent, HistoryEventType as Ev};
use crate::path::PathExpr;
use crate::tasks::{BoxFuture, CallbackHub, TaskFailure, TaskInvocation, TaskRegistry};
use crate::template::{compact, ContextObject, Sources, Template, Variables};

/// Step Functions' payload limit (256 KiB) for state input and output.
const MAX_PAYLOAD_BYTES: usize = 262_144;
/// A Wait longer than this is rejected (AWS: "Wait state delay is too long"), one year.
const MAX_WAIT_SECONDS: u64 = 31_536_000;
/// After a callback arrives, how long a `.waitForTaskToken` worker (e.g. the analyst process) may
/// take to exit before it is stopped.
const WORKER_GRACE: Duration = Duration::from_secs(10);

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ExecutionStatus {
    Succeeded,
    Failed,
    TimedOut,
}

impl ExecutionStatus {
    pub fn name(self) -> &'static str {
        match self {
            ExecutionStatus::Succeeded => "SUCCEEDED",
            ExecutionStatus::Failed => "FAILED",
            ExecutionStatus::TimedOut => "TIMED_OUT",
        }
    }
}

/// Standard, or one of the two ways an Express machine is started.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ExecutionKind {
    #[default]
    Standard,
    ExpressAsync,
    ExpressSync,
}

/// The outcome of one execution, in the shape of the conformance cases' `expected`, plus the
/// history and the nested executions it started.
#[derive(Debug, Clone)]
pub struct ExecutionResult {
    pub execution_arn: String,
    pub name: String,
    pub status: ExecutionStatus,
    pub output: Option<Value>,
    pub error: Option<String>,
    pub cause: Option<String>,
    pub history: Vec<HistoryEvent>,
    pub children: Vec<ExecutionResult>,
}

impl ExecutionResult {
    /// `{"status": "SUCCEEDED", "output": …}` or `{"status": "FAILED", "error": …, "cause": …}`.
    pub fn summary(&self) -> Value {
        let mut out = Map::new();
        out.insert("status".into(), json!(self.status.name()));
        match self.status {
            ExecutionStatus::Succeeded => {
                out.insert("output".into(), self.output.clone().unwrap_or(Value::Null));
            }
            _ => {
                if let Some(e) = &self.error {
                    out.insert("error".into(), json!(e));
                }
                if let Some(c) = &self.cause {
                    out.insert("cause".into(), json!(c));
                }
            }
        }
        Value::Object(out)
    }

    /// Events of one type, for assertions.
    pub fn events(&self, kind: Ev) -> Vec<&HistoryEvent> {
        self.history.iter().filter(|e| e.kind == kind).collect()
    }
}

/// Runs state machines in-process. Cheap to clone; clones share the registry, clock, callback
/// hub and the registered machines.
#[derive(Clone, Debug)]
pub struct Executor {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    registry: TaskRegistry,
    clock: Arc<dyn Clock>,
    callbacks: CallbackHub,
    machines: RwLock<HashMap<String, (String, Arc<StateMachine>)>>,
    region: String,
    account: String,
    jitter: Mutex<u64>,
}

/// Builder for [`Executor`].
#[derive(Debug)]
pub struct ExecutorBuilder {
    registry: TaskRegistry,
    clock: Arc<dyn Clock>,
    callbacks: CallbackHub,
    region: String,
    account: String,
    jitter_seed: u64,
}

impl Default for ExecutorBuilder {
    fn default() -> Self {
        Self {
            registry: TaskRegistry::new(),
            clock: Arc::new(RealClock),
            callbacks: CallbackHub::new(),
            region: "us-east-1".into(),
            account: "000000000000".into(),
            jitter_seed: uuid::Uuid::new_v4().as_u64_pair().0 | 1,
        }
    }
}

impl ExecutorBuilder {
    pub fn registry(mut self, registry: TaskRegistry) -> Self {
        self.registry = registry;
        self
    }

    pub fn clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    pub fn callbacks(mut self, hub: CallbackHub) -> Self {
        self.callbacks = hub;
        self
    }

    /// Region and account used in the ARNs the executor makes up.
    pub fn location(mut self, region: &str, account: &str) -> Self {
        self.region = region.to_string();
        self.account = account.to_string();
        self
    }

    /// Fix the jitter sequence, so a test can assert the delays of `JitterStrategy: FULL`.
    pub fn jitter_seed(mut self, seed: u64) -> Self {
        self.jitter_seed = seed | 1;
        self
    }

    pub fn build(self) -> Executor {
        Executor {
            inner: Arc::new(Inner {
                registry: self.registry,
                clock: self.clock,
                callbacks: self.callbacks,
                machines: RwLock::new(HashMap::new()),
                region: self.region,
                account: self.account,
                jitter: Mutex::new(self.jitter_seed),
            }),
        }
    }
}

impl Executor {
    pub fn builder() -> ExecutorBuilder {
        ExecutorBuilder::default()
    }

    pub fn callbacks(&self) -> &CallbackHub {
        &self.inner.callbacks
    }

    pub fn clock(&self) -> &Arc<dyn Clock> {
        &self.inner.clock
    }

    pub fn region(&self) -> &str {
        &self.inner.region
    }

    pub fn account(&self) -> &str {
        &self.inner.account
    }

    /// The ARN a machine of this name gets here.
    pub fn state_machine_arn(&self, name: &str) -> String {
        format!("arn:aws:states:{}:{}:stateMachine:{name}", self.inner.region, self.inner.account)
    }

    /// Make a machine startable by ARN (for `states:startExecution.sync`).
    pub fn register_machine(&self, arn: &str, name: &str, machine: Arc<StateMachine>) {
        let mut machines = self.inner.machines.write().unwrap_or_else(|e| e.into_inner());
        machines.insert(arn.to_string(), (name.to_string(), machine));
    }

    /// Run a machine to completion.
    pub async fn run(&self, machine: &Arc<StateMachine>, name: &str, input: Value) -> ExecutionResult {
        self.run_named(machine, name, &uuid::Uuid::new_v4().to_string(), input).await
    }

    /// Run with a given execution name (`$$.Execution.Name`).
    pub async fn run_named(
        &self,
        machine: &Arc<StateMachine>,
        machine_name: &str,
        execution_name: &str,
        input: Value,
    ) -> ExecutionResult {
        self.run_as(machine, machine_name, execution_name, ExecutionKind::Standard, input).await
    }

    /// Run as a given kind of execution: Express executions have their own ARN shape, and
    /// synchronous Express executions cannot be redriven (no `$$.Execution.RedriveCount`).
    pub async fn run_as(
        &self,
        machine: &Arc<StateMachine>,
        machine_name: &str,
        execution_name: &str,
        kind: ExecutionKind,
        input: Value,
    ) -> ExecutionResult {
        let state_machine_arn = self.state_machine_arn(machine_name);
        let (region, account) = (&self.inner.region, &self.inner.account);
        let execution_arn = match kind {
            ExecutionKind::Standard => {
                format!("arn:aws:states:{region}:{account}:execution:{machine_name}:{execution_name}")
            }
            ExecutionKind::ExpressAsync | ExecutionKind::ExpressSync => format!(
                "arn:aws:states:{region}:{account}:express:{machine_name}:{execution_name}:{}",
                uuid::Uuid::new_v4()
            ),
        };
        let start = self.inner.clock.now();
        let run = Arc::new(Run {
            executor: self.clone(),
            execution_arn: execution_arn.clone(),
            execution_name: execution_name.to_string(),
            state_machine_arn,
            state_machine_name: machine_name.to_string(),
            input: input.clone(),
            redrivable: kind != ExecutionKind::ExpressSync,
            start_time: start,
            deadline: machine.timeout_seconds.map(|s| start + Duration::from_secs(s)),
            history: Mutex::new(Vec::new()),
            next_id: AtomicU64::new(1),
            children: Mutex::new(Vec::new()),
        });
        run.record(
            "",
            Ev::ExecutionStarted,
            json!({"input": input, "roleArn": run.role_arn(), "stateMachineArn": run.state_machine_arn}),
        );
        let mut variables = Variables::new();
        let body = run.run_machine(machine, input, &mut variables, String::new());
        let outcome = match machine.timeout_seconds {
            Some(secs) if !self.inner.clock.is_virtual() => {
                match tokio::time::timeout(Duration::from_secs(secs), body).await {
                    Ok(o) => o,
                    Err(_) => Err(Stop::TimedOut),
                }
            }
            _ => body.await,
        };
        let (status, output, error, cause) = match outcome {
            Ok(output) => {
                run.record("", Ev::ExecutionSucceeded, json!({"output": output}));
                (ExecutionStatus::Succeeded, Some(output), None, None)
            }
            Err(Stop::Failed(f)) => {
                run.record("", Ev::ExecutionFailed, json!({"error": f.error, "cause": f.cause}));
                (ExecutionStatus::Failed, None, Some(f.error).filter(|e| !e.is_empty()), f.cause)
            }
            Err(Stop::TimedOut) => {
                run.record("", Ev::ExecutionTimedOut, json!({}));
                (ExecutionStatus::TimedOut, None, None, None)
            }
        };
        let history = std::mem::take(&mut *run.history.lock().unwrap_or_else(|e| e.into_inner()));
        let children = std::mem::take(&mut *run.children.lock().unwrap_or_else(|e| e.into_inner()));
        ExecutionResult {
            execution_arn,
            name: execution_name.to_string(),
            status,
            output,
            error,
            cause,
            history,
            children,
        }
    }

    fn next_jitter(&self) -> f64 {
        // xorshift64*: good enough to spread retries, and reproducible from a seed.
        let mut s = self.inner.jitter.lock().unwrap_or_else(|e| e.into_inner());
        *s ^= *s >> 12;
        *s ^= *s << 25;
        *s ^= *s >> 27;
        let v = s.wrapping_mul(0x2545_F491_4F6C_DD1D);
        (v >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// Why a (sub)machine stopped without an output.
#[derive(Debug)]
enum Stop {
    Failed(Failure),
    TimedOut,
}

impl From<Failure> for Stop {
    fn from(f: Failure) -> Self {
        Stop::Failed(f)
    }
}

struct Run {
    executor: Executor,
    execution_arn: String,
    execution_name: String,
    state_machine_arn: String,
    state_machine_name: String,
    input: Value,
    redrivable: bool,
    start_time: OffsetDateTime,
    deadline: Option<OffsetDateTime>,
    history: Mutex<Vec<HistoryEvent>>,
    next_id: AtomicU64,
    children: Mutex<Vec<ExecutionResult>>,
}

/// What the context object needs to know about the current state.
struct StateContext<'a> {
    run: &'a Run,
    state_name: &'a str,
    entered: OffsetDateTime,
    retry_count: u32,
    /// Only Task states have `$$.State.RetryCount`.
    is_task: bool,
    token: Option<&'a str>,
    map_item: Option<(usize, &'a Value)>,
}

impl StateContext<'_> {
    /// The context object, or only its `first` member (and, for `Execution`, the input only when
    /// `second` asks for it or is absent).
    fn build(&self, first: Option<&str>, second: Option<&str>) -> Value {
        let wants = |key: &str| first.is_none_or(|f| f == key);
        let mut ctx = Map::new();
        if wants("Execution") {
            let mut execution = json!({
                "Id": self.run.execution_arn,
                "Name": self.run.execution_name,
                "RoleArn": self.run.role_arn(),
                "StartTime": timestamp(self.run.start_time),
            });
            if second.is_none_or(|s| s == "Input") {
                execution["Input"] = self.run.input.clone();
            }
            if self.run.redrivable {
                execution["RedriveCount"] = json!(0);
            }
            ctx.insert("Execution".into(), execution);
        }
        if wants("State") {
            let mut state = json!({"EnteredTime": timestamp(self.entered), "Name": self.state_name});
            if self.is_task {
                state["RetryCount"] = json!(self.retry_count);
            }
            ctx.insert("State".into(), state);
        }
        if wants("StateMachine") {
            ctx.insert(
                "StateMachine".into(),
                json!({"Id": self.run.state_machine_arn, "Name": self.run.state_machine_name}),
            );
        }
        if let (Some(token), true) = (self.token, wants("Task")) {
            ctx.insert("Task".into(), json!({"Token": token}));
        }
        if let (Some((index, value)), true) = (self.map_item, wants("Map")) {
            ctx.insert("Map".into(), json!({"Item": {"Index": index, "Value": value}}));
        }
        Value::Object(ctx)
    }

    /// Evaluate something against input, context and variables. Synchronous on purpose: the
    /// lazily built context object is not `Sync` and must not live across an await.
    fn with<R>(&self, input: &Value, variables: &Variables, f: impl FnOnce(&Sources<'_>) -> R) -> R {
        let build = |first: Option<&str>, second: Option<&str>| self.build(first, second);
        let context = ContextObject::new(&build);
        f(&Sources { input, context: &context, variables })
    }
}

fn timestamp(t: OffsetDateTime) -> String {
    let t = t.replace_nanosecond((t.nanosecond() / 1_000_000) * 1_000_000).unwrap_or(t);
    t.format(&time::format_description::well_known::Rfc3339).unwrap_or_default()
}

/// What a state's work produced, before OutputPath.
struct Done {
    value: Value,
    /// Set by Choice and by a matching Catch.
    next: Option<String>,
    caught: bool,
    assign: Option<Map<String, Value>>,
}

/// What a failed attempt led to.
enum Recovery {
    Retried(Duration),
    Caught(Done),
}

/// How a state ended.
enum Outcome {
    Next(String, Value),
    End(Value),
}

impl Run {
    fn role_arn(&self) -> String {
        format!("arn:aws:iam::{}:role/secops-local-executor", self.executor.inner.account)
    }

    fn clock(&self) -> &Arc<dyn Clock> {
        &self.executor.inner.clock
    }

    fn record(&self, scope: &str, kind: Ev, details: Value) -> u64 {
        let id = self.next_id.fetch_add(1, Ordering::SeqCst);
        let event = HistoryEvent { id, timestamp: self.clock().now(), kind, scope: scope.to_string(), details };
        self.history.lock().unwrap_or_else(|e| e.into_inner()).push(event);
        id
    }

    fn timed_out(&self) -> bool {
        self.deadline.is_some_and(|d| self.clock().now() >= d)
    }

    fn run_machine<'a>(
        self: &'a Arc<Self>,
        machine: &'a Arc<StateMachine>,
        input: Value,
        variables: &'a mut Variables,
        scope: String,
    ) -> BoxFuture<'a, Result<Value, Stop>> {
        Box::pin(async move {
            let mut current = machine.start_at.clone();
            let mut data = input;
            // Bounded: a machine that loops forever is stopped by its TimeoutSeconds or by the
            // caller; this guard only stops a definition that loops without ever waiting.
            for _ in 0..10_000_000u64 {
                if self.timed_out() {
                    return Err(Stop::TimedOut);
                }
                let Some(state) = machine.state(&current) else {
                    return Err(Failure::runtime(format!("the state '{current}' does not exist")).into());
                };
                match self.run_state(state, data, variables, &scope).await? {
                    Outcome::Next(next, output) => {
                        current = next;
                        data = output;
                    }
                    Outcome::End(output) => return Ok(output),
                }
            }
            Err(Failure::runtime("the execution exceeded 10,000,000 state transitions").into())
        })
    }

    async fn run_state(
        self: &Arc<Self>,
        state: &Arc<State>,
        input: Value,
        variables: &mut Variables,
        scope: &str,
    ) -> Result<Outcome, Stop> {
        let (entered_kind, exited_kind) = state_events(&state.kind);
        let entered = self.clock().now();
        let entered_id = self.record(scope, entered_kind, json!({"name": state.name, "input": input}));
        let is_task = matches!(state.kind, Kind::Task(_));
        let cx = StateContext {
            run: self,
            state_name: &state.name,
            entered,
            retry_count: 0,
            is_task,
            token: None,
            map_item: None,
        };
        let wrap = |f: Failure| -> Stop {
            if f.error == names::RUNTIME || f.error == names::INTRINSIC_FAILURE {
                Stop::Failed(Failure {
                    error: f.error,
                    cause: Some(format!(
                        "An error occurred while executing the state '{}' (entered at the event id #{entered_id}). {}",
                        state.name,
                        f.cause.unwrap_or_default()
                    )),
                })
            } else {
                Stop::Failed(f)
            }
        };

        let wrap_stop = |s: Stop| match s {
            Stop::Failed(f) => wrap(f),
            other => other,
        };

        // Fail reads the raw input: it has no InputPath.
        if let Kind::Fail(fail) = &state.kind {
            let error = cx.with(&input, variables, |s| read_string(&fail.error, s, "ErrorPath")).map_err(wrap)?;
            let cause = cx.with(&input, variables, |s| read_string(&fail.cause, s, "CausePath")).map_err(wrap)?;
            return Err(Stop::Failed(Failure { error: error.unwrap_or_default(), cause }));
        }

        let effective = cx.with(&input, variables, |s| apply_io_path(&state.input_path, s, &input)).map_err(wrap)?;

        let done = match &state.kind {
            Kind::Pass(pass) => {
                let result = match (&pass.result, &pass.parameters) {
                    (Some(r), _) => r.clone(),
                    (None, Some(p)) => cx.with(&effective, variables, |s| p.evaluate(s)).map_err(wrap)?,
                    (None, None) => effective.clone(),
                };
                let assign = evaluate_assign(&state.assign, &cx, &result, variables).map_err(wrap)?;
                let merged = apply_result_path(&pass.result_path, input, result).map_err(wrap)?;
                Done { value: merged, next: None, caught: false, assign }
            }
            Kind::Choice(choice) => {
                let mut chosen = None;
                for branch in &choice.choices {
                    let matched = cx.with(&effective, variables, |s| branch.rule.evaluate(s)).map_err(wrap)?;
                    if matched {
                        chosen = Some(branch);
                        break;
                    }
                }
                let (next, rule_assign) = match chosen {
                    Some(b) => (b.next.clone(), b.assign.as_ref()),
                    None => match &choice.default {
                        Some(d) => (d.clone(), None),
                        None => {
                            return Err(Stop::Failed(Failure::new(
                                names::NO_CHOICE_MATCHED,
                                format!("No Matches! for state '{}'", state.name),
                            )))
                        }
                    },
                };
                let mut assign = evaluate_assign(&state.assign, &cx, &effective, variables).map_err(wrap)?;
                if let Some(t) = rule_assign {
                    let extra = cx.with(&effective, variables, |s| t.evaluate(s)).map_err(wrap)?;
                    if let Value::Object(extra) = extra {
                        assign.get_or_insert_with(Map::new).extend(extra);
                    }
                }
                Done { value: effective, next: Some(next), caught: false, assign }
            }
            Kind::Wait(wait) => {
                self.wait(wait, &cx, &effective, variables).await.map_err(wrap_stop)?;
                let assign = evaluate_assign(&state.assign, &cx, &effective, variables).map_err(wrap)?;
                Done { value: effective, next: None, caught: false, assign }
            }
            Kind::Succeed => {
                let assign = evaluate_assign(&state.assign, &cx, &effective, variables).map_err(wrap)?;
                Done { value: effective, next: None, caught: false, assign }
            }
            Kind::Fail(_) => Done { value: Value::Null, next: None, caught: false, assign: None },
            Kind::Task(task) => {
                self.run_task(state, task, &cx, input, &effective, variables, scope).await.map_err(wrap_stop)?
            }
            Kind::Parallel(parallel) => {
                self.run_parallel(state, parallel, &cx, input, &effective, variables, scope).await.map_err(wrap_stop)?
            }
            Kind::Map(map) => {
                self.run_map(state, map, &cx, input, &effective, variables, scope).await.map_err(wrap_stop)?
            }
        };

        // A caught error's output is the catcher's ResultPath result; OutputPath does not apply.
        let output = if done.caught {
            done.value
        } else {
            let result = done.value;
            cx.with(&result, variables, |s| apply_io_path(&state.output_path, s, &result)).map_err(wrap)?
        };
        if let Some(values) = done.assign {
            variables.assign(values);
        }
        check_size(&output, &state.name)?;
        self.record(scope, exited_kind, json!({"name": state.name, "output": output}));
        match (done.next, &state.transition, &state.kind) {
            (Some(next), _, _) => Ok(Outcome::Next(next, output)),
            (None, _, Kind::Succeed) => Ok(Outcome::End(output)),
            (None, Some(Transition::Next(n)), _) => Ok(Outcome::Next(n.clone(), output)),
            (None, _, _) => Ok(Outcome::End(output)),
        }
    }

    async fn wait(
        self: &Arc<Self>,
        wait: &Wait,
        cx: &StateContext<'_>,
        effective: &Value,
        variables: &Variables,
    ) -> Result<(), Stop> {
        let now = self.clock().now();
        let seconds: f64 = match wait {
            Wait::Seconds(s) => *s as f64,
            Wait::SecondsPath(path) => {
                let value = cx.with(effective, variables, |s| s.read(path, "SecondsPath")).map_err(|_| {
                    Failure::runtime(format!(
                        "The SecondsPath parameter does not reference an input value: {}",
                        path.text()
                    ))
                })?;
                let n = value.as_i64().ok_or_else(|| {
                    Failure::runtime(format!(
                        "The SecondsPath parameter cannot be parsed as a long value: {} == {}",
                        path.text(),
                        compact(&value)
                    ))
                })?;
                if n < 0 {
                    return Err(Failure::runtime(format!(
                        "The SecondsPath parameter references a negative value: {} == {n}",
                        path.text()
                    ))
                    .into());
                }
                n as f64
            }
            Wait::Timestamp(text) => until(now, text).ok_or_else(|| {
                Failure::runtime(format!("The Timestamp parameter is not a valid ISO-8601 timestamp: {text}"))
            })?,
            Wait::TimestampPath(path) => {
                let value = cx.with(effective, variables, |s| s.read(path, "TimestampPath")).map_err(|_| {
                    Failure::runtime(format!(
                        "The TimestampPath parameter does not reference an input value: {}",
                        path.text()
                    ))
                })?;
                value.as_str().and_then(|t| until(now, t)).ok_or_else(|| {
                    let shown = value.as_str().map(str::to_string).unwrap_or_else(|| compact(&value));
                    Failure::runtime(format!(
                        "The TimestampPath parameter does not reference a valid ISO-8601 extended offset date-time format string: {} == {shown}",
                        path.text()
                    ))
                })?
            }
        };
        if seconds > MAX_WAIT_SECONDS as f64 {
            return Err(Failure::runtime("Wait state delay is too long.").into());
        }
        let mut delay = Duration::from_secs_f64(seconds.max(0.0));
        let mut times_out = false;
        if let Some(deadline) = self.deadline {
            let remaining = deadline - now;
            let remaining = Duration::try_from(remaining).unwrap_or(Duration::ZERO);
            if delay >= remaining {
                delay = remaining;
                times_out = true;
            }
        }
        if !delay.is_zero() {
            self.clock().sleep(delay).await;
        }
        if times_out {
            return Err(Stop::TimedOut);
        }
        Ok(())
    }

    #[allow(clippy::too_many_arguments)]
    async fn run_task(
        self: &Arc<Self>,
        state: &Arc<State>,
        task: &Task,
        cx: &StateContext<'_>,
        raw_input: Value,
        effective: &Value,
        variables: &mut Variables,
        scope: &str,
    ) -> Result<Done, Stop> {
        let mut attempts = vec![0u32; task.retry.len()];
        let mut retry_count = 0u32;
        let mut retry_note: Option<Value> = None;
        loop {
            let wait_for_token = task.resource.ends_with(".waitForTaskToken");
            let callback = wait_for_token.then(|| self.executor.inner.callbacks.register_new());
            let token = callback.as_ref().map(|c| c.token.clone());
            let attempt_cx = StateContext {
                run: self,
                state_name: &state.name,
                entered: cx.entered,
                retry_count,
                is_task: true,
                token: token.as_deref(),
                map_item: None,
            };
            let params = match &task.parameters {
                Some(p) => attempt_cx.with(effective, variables, |s| p.evaluate(s))?,
                None => effective.clone(),
            };
            let timeout =
                self.dynamic_seconds(&task.timeout_seconds, &attempt_cx, effective, variables, "TimeoutSeconds")?;
            let heartbeat =
                self.dynamic_seconds(&task.heartbeat_seconds, &attempt_cx, effective, variables, "HeartbeatSeconds")?;
            let outcome = self
                .invoke(
                    state,
                    task,
                    params,
                    token.clone(),
                    callback,
                    timeout,
                    heartbeat,
                    retry_count,
                    scope,
                    retry_note.take(),
                )
                .await;
            if let Some(t) = &token {
                self.executor.inner.callbacks.forget(t);
            }
            match outcome {
                Ok(result) => {
                    return Ok(complete(
                        state,
                        &task.result_selector,
                        &task.result_path,
                        result,
                        raw_input,
                        cx,
                        variables,
                    )?);
                }
                Err(failure) => {
                    let error = failure.error.clone();
                    match self
                        .recover(&task.retry, &mut attempts, &task.catch, failure, &raw_input, cx, variables)
                        .await?
                    {
                        Recovery::Caught(done) => return Ok(done),
                        Recovery::Retried(delay) => {
                            retry_count += 1;
                            retry_note = Some(json!({
                                "attempt": retry_count,
                                "delaySeconds": delay.as_secs_f64(),
                                "error": error,
                            }));
                        }
                    }
                }
            }
        }
    }

    fn dynamic_seconds(
        &self,
        value: &Option<Dynamic<u64>>,
        cx: &StateContext<'_>,
        effective: &Value,
        variables: &Variables,
        field: &str,
    ) -> Result<Option<Duration>, Failure> {
        match value {
            None => Ok(None),
            Some(Dynamic::Fixed(s)) => Ok(Some(Duration::from_secs(*s))),
            Some(Dynamic::Path(path)) => {
                let v = cx.with(effective, variables, |s| s.read(path, &format!("{field}Path")))?;
                match v.as_u64() {
                    Some(s) if s > 0 => Ok(Some(Duration::from_secs(s))),
                    _ => Err(Failure::runtime(format!(
                        "The {field}Path field refers to value \"{}\" which is not a valid positive integer: {}",
                        compact(&v),
                        path.text()
                    ))),
                }
            }
        }
    }

    /// The delay before the next attempt, or `None` when no retrier matches or it is exhausted.
    fn retry_delay(&self, retriers: &[Retrier], attempts: &mut [u32], error: &str) -> Option<Duration> {
        let index = retriers.iter().position(|r| error_matches(&r.error_equals, error))?;
        let retrier = &retriers[index];
        let done = attempts[index];
        if done >= retrier.max_attempts {
            return None;
        }
        attempts[index] += 1;
        let mut seconds = retrier.interval_seconds * retrier.backoff_rate.powi(done as i32);
        if let Some(max) = retrier.max_delay_seconds {
            seconds = seconds.min(max);
        }
        if retrier.jitter == crate::definition::Jitter::Full {
            seconds *= self.executor.next_jitter();
        }
        Some(Duration::from_secs_f64(seconds.clamp(0.0, MAX_WAIT_SECONDS as f64)))
    }

    /// After a failure: retry it (once the delay has passed on the clock), catch it, or give up.
    #[allow(clippy::too_many_arguments)]
    async fn recover(
        &self,
        retriers: &[Retrier],
        attempts: &mut [u32],
        catchers: &[Catcher],
        failure: Failure,
        raw_input: &Value,
        cx: &StateContext<'_>,
        variables: &Variables,
    ) -> Result<Recovery, Stop> {
        if is_terminal(&failure.error) {
            return Err(failure.into());
        }
        if let Some(delay) = self.retry_delay(retriers, attempts, &failure.error) {
            self.clock().sleep(delay).await;
            if self.timed_out() {
                return Err(Stop::TimedOut);
            }
            return Ok(Recovery::Retried(delay));
        }
        let Some(catcher) = catchers.iter().find(|c| error_matches(&c.error_equals, &failure.error)) else {
            return Err(failure.into());
        };
        let error_output = error_output(&failure);
        let assign = match &catcher.assign {
            Some(t) => match cx.with(&error_output, variables, |s| t.evaluate(s))? {
                Value::Object(m) => Some(m),
                _ => None,
            },
            None => None,
        };
        let merged = apply_result_path(&catcher.result_path, raw_input.clone(), error_output)?;
        Ok(Recovery::Caught(Done { value: merged, next: Some(catcher.next.clone()), caught: true, assign }))
    }

    #[allow(clippy::too_many_arguments)]
    async fn invoke(
        self: &Arc<Self>,
        state: &State,
        task: &Task,
        params: Value,
        token: Option<String>,
        callback: Option<crate::tasks::CallbackWait>,
        timeout: Option<Duration>,
        heartbeat: Option<Duration>,
        retry_count: u32,
        scope: &str,
        retry_note: Option<Value>,
    ) -> Result<Value, Failure> {
        let resource = task.resource.as_str();
        let is_function = crate::tasks::function_name(resource).is_some();
        let (scheduled, started, succeeded, failed, timed_out) = if is_function {
            (
                Ev::LambdaFunctionScheduled,
                Ev::LambdaFunctionStarted,
                Ev::LambdaFunctionSucceeded,
                Ev::LambdaFunctionFailed,
                Ev::LambdaFunctionTimedOut,
            )
        } else {
            (Ev::TaskScheduled, Ev::TaskStarted, Ev::TaskSucceeded, Ev::TaskFailed, Ev::TaskTimedOut)
        };
        let mut details = json!({"resource": resource, "parameters": params});
        if let Some(t) = timeout {
            details["timeoutInSeconds"] = json!(t.as_secs());
        }
        if let Some(h) = heartbeat {
            details["heartbeatInSeconds"] = json!(h.as_secs());
        }
        if let Some(note) = retry_note {
            details["retry"] = note;
        }
        self.record(scope, scheduled, details);
        self.record(scope, started, json!({"resource": resource}));

        let call = TaskInvocation {
            state_name: state.name.clone(),
            resource: resource.to_string(),
            input: params.clone(),
            execution_arn: self.execution_arn.clone(),
            execution_name: self.execution_name.clone(),
            state_machine_arn: self.state_machine_arn.clone(),
            task_token: token.clone(),
            timeout,
            heartbeat,
            retry_count,
        };
        let work = self.dispatch(call);
        let result = match callback {
            None => match timeout {
                Some(t) => match tokio::time::timeout(t, work).await {
                    Ok(r) => r,
                    Err(_) => Err(TaskFailure::new(names::TIMEOUT, "The task timed out.")),
                },
                None => work.await,
            },
            Some(wait) => wait_for_callback(work, wait, timeout, heartbeat).await,
        };
        match result {
            Ok(output) => {
                self.record(scope, succeeded, json!({"resource": resource, "output": output}));
                Ok(output)
            }
            Err(f) => {
                let kind =
                    if f.error == names::TIMEOUT || f.error == names::HEARTBEAT_TIMEOUT { timed_out } else { failed };
                self.record(scope, kind, json!({"resource": resource, "error": f.error, "cause": f.cause}));
                Err(f.into())
            }
        }
    }

    /// Find the handler for a resource and start it: an exact integration, then a registered
    /// function (plain ARN or `lambda:invoke`), then a registered machine
    /// (`states:startExecution`), then the fallback (stubs).
    fn dispatch(self: &Arc<Self>, call: TaskInvocation) -> BoxFuture<'static, Result<Value, TaskFailure>> {
        let inner = &self.executor.inner;
        let resource = call.resource.clone();
        if let Some(handler) = inner.registry.find_integration(&resource) {
            return handler.invoke(call, inner.callbacks.clone());
        }
        let base = resource.trim_end_matches(".waitForTaskToken");
        let fallback = inner.registry.find_fallback();
        if base == "arn:aws:states:::lambda:invoke" {
            let name = call.input.get("FunctionName").and_then(Value::as_str).unwrap_or_default();
            if let Some(function) = inner.registry.find_function(name).cloned() {
                let payload = call.input.get("Payload").cloned().unwrap_or_else(|| json!({}));
                return Box::pin(async move {
                    match function(payload).await {
                        Ok(out) => Ok(json!({
                            "ExecutedVersion": "$LATEST",
                            "Payload": out,
                            "SdkHttpMetadata": {"HttpStatusCode": 200},
                            "SdkResponseMetadata": {},
                            "StatusCode": 200,
                        })),
                        Err(f) => Err(lambda_error(f)),
                    }
                });
            }
            if fallback.is_none() {
                return ready_err(
                    "Lambda.ResourceNotFoundException",
                    format!("Function not found: '{name}' (no in-process handler is registered for it)"),
                );
            }
        }
        if let Some(function) = inner.registry.find_function(&resource).cloned() {
            let payload = call.input.clone();
            return Box::pin(async move { function(payload).await.map_err(lambda_error) });
        }
        if let Some(kind) = base.strip_prefix("arn:aws:states:::states:startExecution") {
            let arn = call.input.get("StateMachineArn").and_then(Value::as_str).unwrap_or_default();
            let known = inner.machines.read().unwrap_or_else(|e| e.into_inner()).contains_key(arn);
            if known || fallback.is_none() {
                return self.start_child(call, kind.to_string());
            }
        }
        if let Some(handler) = fallback {
            return handler.invoke(call, inner.callbacks.clone());
        }
        ready_err(names::RUNTIME, format!("no handler is registered for the resource '{resource}'"))
    }

    fn start_child(
        self: &Arc<Self>,
        call: TaskInvocation,
        kind: String,
    ) -> BoxFuture<'static, Result<Value, TaskFailure>> {
        let executor = self.executor.clone();
        let parent = Arc::clone(self);
        Box::pin(async move {
            let Some(arn) = call.input.get("StateMachineArn").and_then(Value::as_str).map(str::to_string) else {
                return Err(TaskFailure::new(names::RUNTIME, "startExecution needs Parameters.StateMachineArn"));
            };
            let found = executor.inner.machines.read().unwrap_or_else(|e| e.into_inner()).get(&arn).cloned();
            let Some((name, machine)) = found else {
                return Err(TaskFailure::new(
                    "StepFunctions.StateMachineDoesNotExistException",
                    format!("State Machine Does Not Exist: '{arn}'"),
                ));
            };
            let input = match call.input.get("Input") {
                Some(Value::String(text)) => serde_json::from_str(text).map_err(|e| {
                    TaskFailure::new(
                        "StepFunctions.InvalidExecutionInputException",
                        format!("Invalid execution input: {e}"),
                    )
                })?,
                Some(v) => v.clone(),
                None => json!({}),
            };
            let execution_name = call
                .input
                .get("Name")
                .and_then(Value::as_str)
                .map(str::to_string)
                .unwrap_or_else(|| uuid::Uuid::new_v4().to_string());
            let start = executor.inner.clock.now();
            let child = Box::pin(executor.run_named(&machine, &name, &execution_name, input.clone())).await;
            let stop = executor.inner.clock.now();
            let mut description = json!({
                "ExecutionArn": child.execution_arn,
                "Input": compact(&input),
                "InputDetails": {"Included": true},
                "Name": child.name,
                "StartDate": timestamp(start),
                "StateMachineArn": arn,
                "Status": child.status.name(),
                "StopDate": timestamp(stop),
            });
            let result = match child.status {
                ExecutionStatus::Succeeded => {
                    let output = child.output.clone().unwrap_or(Value::Null);
                    description["Output"] = if kind == ".sync:2" { output } else { json!(compact(&output)) };
                    description["OutputDetails"] = json!({"Included": true});
                    Ok(description)
                }
                ExecutionStatus::Failed => {
                    if let Some(e) = &child.error {
                        description["Error"] = json!(e);
                    }
                    if let Some(c) = &child.cause {
                        description["Cause"] = json!(c);
                    }
                    Err(TaskFailure::new(names::TASK_FAILED, compact(&description)))
                }
                ExecutionStatus::TimedOut => Err(TaskFailure::new(names::TASK_FAILED, compact(&description))),
            };
            parent.children.lock().unwrap_or_else(|e| e.into_inner()).push(child);
            if kind.is_empty() {
                // Fire-and-forget starts answer with the ARN only; locally the child has already run.
                return result.map(|d| json!({"ExecutionArn": d["ExecutionArn"], "StartDate": d["StartDate"]}));
            }
            result
        })
    }

    #[allow(clippy::too_many_arguments)]
    async fn run_parallel(
        self: &Arc<Self>,
        state: &Arc<State>,
        parallel: &Parallel,
        cx: &StateContext<'_>,
        raw_input: Value,
        effective: &Value,
        variables: &mut Variables,
        scope: &str,
    ) -> Result<Done, Stop> {
        let mut attempts = vec![0u32; parallel.retry.len()];
        loop {
            let branch_input = match &parallel.parameters {
                Some(p) => cx.with(effective, variables, |s| p.evaluate(s))?,
                None => effective.clone(),
            };
            self.record(scope, Ev::ParallelStateStarted, json!({}));
            let outer = variables.clone();
            let branches = parallel.branches.iter().enumerate().map(|(i, branch)| {
                let input = branch_input.clone();
                let mut vars = outer.child();
                let branch_scope = join_scope(scope, &state.name, i);
                async move { self.run_machine(branch, input, &mut vars, branch_scope).await }
            });
            let results = futures::future::join_all(branches).await;
            let mut outputs = Vec::with_capacity(results.len());
            let mut failure = None;
            for r in results {
                match r {
                    Ok(v) => outputs.push(v),
                    Err(Stop::TimedOut) => return Err(Stop::TimedOut),
                    Err(Stop::Failed(f)) => {
                        if failure.is_none() {
                            failure = Some(f);
                        }
                    }
                }
            }
            match failure {
                None => {
                    self.record(scope, Ev::ParallelStateSucceeded, json!({}));
                    let result = Value::Array(outputs);
                    return Ok(complete(
                        state,
                        &parallel.result_selector,
                        &parallel.result_path,
                        result,
                        raw_input,
                        cx,
                        variables,
                    )?);
                }
                Some(f) => {
                    self.record(scope, Ev::ParallelStateFailed, json!({"error": f.error, "cause": f.cause}));
                    let (retry, catch) = (&parallel.retry, &parallel.catch);
                    if let Recovery::Caught(done) =
                        self.recover(retry, &mut attempts, catch, f, &raw_input, cx, variables).await?
                    {
                        return Ok(done);
                    }
                }
            }
        }
    }

    #[allow(clippy::too_many_arguments)]
    async fn run_map(
        self: &Arc<Self>,
        state: &Arc<State>,
        map: &MapState,
        cx: &StateContext<'_>,
        raw_input: Value,
        effective: &Value,
        variables: &mut Variables,
        scope: &str,
    ) -> Result<Done, Stop> {
        let items = match &map.items_path {
            IoPath::Whole => effective.clone(),
            IoPath::Discard => json!({}),
            IoPath::Path(p) => cx.with(effective, variables, |s| s.read(p, "ItemsPath")).map_err(|_| {
                Failure::runtime(format!("Invalid path '{}' : No results for path: {}", p.text(), p.query.normalized()))
            })?,
        };
        let Value::Array(items) = items else {
            return Err(Failure::runtime(format!(
                "Invalid path '{}': The path does not point to an array: {}",
                match &map.items_path {
                    IoPath::Path(p) => p.text().to_string(),
                    _ => "$".into(),
                },
                compact(&items)
            ))
            .into());
        };
        let max_concurrency = match &map.max_concurrency {
            Dynamic::Fixed(n) => *n,
            Dynamic::Path(p) => {
                let v = cx.with(effective, variables, |s| s.read(p, "MaxConcurrencyPath"))?;
                integer_like(&v).filter(|n| *n >= 0).map(|n| n as u64).ok_or_else(|| {
                    Failure::runtime(format!(
                        "The MaxConcurrencyPath field refers to value \"{}\" which is not a valid integer: {}",
                        display_value(&v),
                        p.text()
                    ))
                })?
            }
        };
        let tolerated_count = match &map.tolerated_failure_count {
            None => None,
            Some(Dynamic::Fixed(n)) => Some(*n),
            Some(Dynamic::Path(p)) => {
                let v = cx.with(effective, variables, |s| s.read(p, "ToleratedFailureCountPath"))?;
                Some(integer_like(&v).ok_or_else(|| {
                    Failure::runtime(format!(
                        "The ToleratedFailureCountPath field refers to value \"{}\" which is not a valid integer: {}",
                        display_value(&v),
                        p.text()
                    ))
                })?)
            }
        };
        if tolerated_count.is_some_and(|n| n < 0) {
            return Err(Failure::runtime("ToleratedFailureCount cannot be negative.").into());
        }
        let tolerated_percentage = match &map.tolerated_failure_percentage {
            None => None,
            Some(Dynamic::Fixed(p)) => Some(*p),
            Some(Dynamic::Path(p)) => {
                let v = cx.with(effective, variables, |s| s.read(p, "ToleratedFailurePercentagePath"))?;
                Some(float_like(&v).ok_or_else(|| {
                    Failure::runtime(format!(
                        "The ToleratedFailurePercentagePath field refers to value \"{}\" which is not a valid float: {}",
                        display_value(&v),
                        p.text()
                    ))
                })?)
            }
        };
        if tolerated_percentage.is_some_and(|p| !(0.0..=100.0).contains(&p)) {
            return Err(Failure::runtime("ToleratedFailurePercentage must be between 0 and 100.").into());
        }

        let mut attempts = vec![0u32; map.retry.len()];
        loop {
            // Item inputs are computed up front so a bad ItemSelector fails before any iteration.
            let mut inputs = Vec::with_capacity(items.len());
            for (index, item) in items.iter().enumerate() {
                let input = match &map.item_selector {
                    Some(sel) => {
                        let item_cx = StateContext {
                            run: self,
                            state_name: &state.name,
                            entered: cx.entered,
                            retry_count: 0,
                            is_task: false,
                            token: None,
                            map_item: Some((index, item)),
                        };
                        item_cx.with(effective, variables, |s| sel.evaluate(s))?
                    }
                    None => item.clone(),
                };
                inputs.push(input);
            }
            self.record(scope, Ev::MapStateStarted, json!({"length": inputs.len()}));
            let total = inputs.len();
            let limit = if max_concurrency == 0 { total.max(1) } else { max_concurrency as usize };
            let outer = variables.clone();
            let processor = &map.processor;
            // Boxed rather than pinned on the stack so it can be dropped early: dropping it cancels
            // the iterations still in flight once the Map has failed.
            let mut iterations = Box::pin(
                stream::iter(inputs.into_iter().enumerate())
                    .map(|(index, input)| {
                        let mut vars = outer.child();
                        let iteration_scope = join_scope(scope, &state.name, index);
                        let name = state.name.clone();
                        async move {
                            self.record(scope, Ev::MapIterationStarted, json!({"name": name, "index": index}));
                            let r = self.run_machine(processor, input, &mut vars, iteration_scope).await;
                            let kind = if r.is_ok() { Ev::MapIterationSucceeded } else { Ev::MapIterationFailed };
                            self.record(scope, kind, json!({"name": name, "index": index}));
                            (index, r)
                        }
                    })
                    .buffer_unordered(limit),
            );
            let mut outputs: Vec<Value> = vec![Value::Null; total];
            let mut failures = 0usize;
            let mut failure: Option<Failure> = None;
            let tolerance_given = tolerated_count.is_some() || tolerated_percentage.is_some();
            while let Some((index, r)) = iterations.next().await {
                match r {
                    Ok(v) => outputs[index] = v,
                    Err(Stop::TimedOut) => return Err(Stop::TimedOut),
                    Err(Stop::Failed(f)) => {
                        if is_terminal(&f.error) {
                            return Err(f.into());
                        }
                        failures += 1;
                        outputs[index] = error_output(&f);
                        let exceeded = exceeds_tolerance(failures, total, tolerated_count, tolerated_percentage);
                        if !tolerance_given || exceeded {
                            failure = Some(if tolerance_given {
                                Failure::new(
                                    names::EXCEED_TOLERATED_FAILURE_THRESHOLD,
                                    "The specified tolerated failure threshold was exceeded",
                                )
                            } else {
                                f
                            });
                            break;
                        }
                    }
                }
            }
            drop(iterations);
            match failure {
                None => {
                    self.record(scope, Ev::MapStateSucceeded, json!({}));
                    let result = Value::Array(outputs);
                    return Ok(complete(
                        state,
                        &map.result_selector,
                        &map.result_path,
                        result,
                        raw_input,
                        cx,
                        variables,
                    )?);
                }
                Some(f) => {
                    self.record(scope, Ev::MapStateFailed, json!({"error": f.error, "cause": f.cause}));
                    if let Recovery::Caught(done) =
                        self.recover(&map.retry, &mut attempts, &map.catch, f, &raw_input, cx, variables).await?
                    {
                        return Ok(done);
                    }
                }
            }
        }
    }
}

/// ResultSelector → Assign → ResultPath on a Task, Parallel or Map result.
fn complete(
    state: &State,
    result_selector: &Option<Template>,
    result_path: &ResultPath,
    result: Value,
    raw_input: Value,
    cx: &StateContext<'_>,
    variables: &Variables,
) -> Result<Done, Failure> {
    let selected = match result_selector {
        Some(sel) => cx.with(&result, variables, |s| sel.evaluate(s))?,
        None => result,
    };
    let assign = evaluate_assign(&state.assign, cx, &selected, variables)?;
    let merged = apply_result_path(result_path, raw_input, selected)?;
    Ok(Done { value: merged, next: None, caught: false, assign })
}

/// `{"Error": …, "Cause": …}`: what a Catch (and a tolerated Map item) sees of a failure.
fn error_output(failure: &Failure) -> Value {
    let mut out = Map::new();
    out.insert("Error".into(), json!(failure.error));
    if let Some(c) = &failure.cause {
        out.insert("Cause".into(), json!(c));
    }
    Value::Object(out)
}

fn exceeds_tolerance(failures: usize, total: usize, count: Option<i64>, percentage: Option<f64>) -> bool {
    let over_count = count.map(|c| failures as i64 > c);
    let over_percentage = percentage.map(|p| total > 0 && (failures as f64 / total as f64) * 100.0 > p);
    match (over_count, over_percentage) {
        (Some(a), Some(b)) => a && b,
        (Some(a), None) => a,
        (None, Some(b)) => b,
        (None, None) => failures > 0,
    }
}

/// Waits for SendTaskSuccess/Failure while the worker runs, with heartbeat and overall timeouts.
async fn wait_for_callback(
    work: BoxFuture<'static, Result<Value, TaskFailure>>,
    mut wait: crate::tasks::CallbackWait,
    timeout: Option<Duration>,
    heartbeat: Option<Duration>,
) -> Result<Value, TaskFailure> {
    let worker = tokio::spawn(work);
    let abort = worker.abort_handle();
    // A spawned task outlives its JoinHandle: when this wait is dropped (its execution cancelled),
    // stop the worker too, which drops (and so kills) the analyst subprocess it runs.
    let _stop_worker_when_dropped = AbortOnDrop(abort.clone());
    let deadline = timeout.map(|t| tokio::time::Instant::now() + t);
    let mut worker = Some(worker);
    let mut heartbeats_open = true;
    let result = loop {
        let heartbeat_deadline = heartbeat.map(|h| tokio::time::Instant::now() + h);
        let until = match (deadline, heartbeat_deadline) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        let sleeper = async {
            match until {
                Some(t) => tokio::time::sleep_until(t).await,
                None => futures::future::pending::<()>().await,
            }
        };
        tokio::select! {
            outcome = &mut wait.outcome => {
                break outcome.unwrap_or_else(|_| Err(TaskFailure::new(names::TASK_FAILED, "the callback channel closed")));
            }
            changed = wait.heartbeats.changed(), if heartbeats_open => {
                // The sender goes away when the token is answered; the outcome branch takes it
                // from there.
                heartbeats_open = changed.is_ok();
                continue;
            }
            done = async { worker.as_mut().expect("polled only while present").await }, if worker.is_some() => {
                worker = None;
                match done {
                    Ok(Err(f)) => break Err(f),
                    Ok(Ok(_)) => continue,
                    Err(e) => break Err(TaskFailure::new(names::TASK_FAILED, format!("the task worker stopped: {e}"))),
                }
            }
            _ = sleeper => {
                let timed_out_overall = deadline.is_some_and(|d| tokio::time::Instant::now() >= d);
                break Err(if timed_out_overall {
                    TaskFailure::new(names::TIMEOUT, "The task timed out.")
                } else {
                    TaskFailure::new(names::HEARTBEAT_TIMEOUT, "The task did not send a heartbeat in time.")
                });
            }
        }
    };
    // Give a worker that already reported a moment to exit on its own, then stop it.
    if let Some(w) = worker {
        if result.is_ok() || !abort.is_finished() {
            let _ = tokio::time::timeout(WORKER_GRACE, w).await;
        }
        abort.abort();
    }
    result
}

struct AbortOnDrop(tokio::task::AbortHandle);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

fn lambda_error(f: TaskFailure) -> TaskFailure {
    let cause = json!({"errorMessage": f.cause.clone().unwrap_or_default(), "errorType": f.error});
    TaskFailure { error: f.error, cause: Some(compact(&cause)) }
}

fn ready_err(error: &str, cause: impl Into<String>) -> BoxFuture<'static, Result<Value, TaskFailure>> {
    let failure = TaskFailure::new(error, cause);
    Box::pin(async move { Err(failure) })
}

fn join_scope(scope: &str, state: &str, index: usize) -> String {
    if scope.is_empty() {
        format!("{state}/{index}")
    } else {
        format!("{scope}/{state}/{index}")
    }
}

/// Errors that end the execution whatever Retry and Catch say.
fn is_terminal(error: &str) -> bool {
    error == names::RUNTIME || error == "States.DataLimitExceeded"
}

/// Does an ErrorEquals list match this error? `States.ALL` matches everything (but terminal
/// errors never get here); `States.TaskFailed` matches everything except `States.Timeout`.
pub fn error_matches(error_equals: &[String], error: &str) -> bool {
    error_equals.iter().any(|e| {
        e == error
            || e == names::ALL
            || (e == names::TASK_FAILED && error != names::TIMEOUT && error != names::HEARTBEAT_TIMEOUT)
    })
}

fn evaluate_assign(
    assign: &Option<Template>,
    cx: &StateContext<'_>,
    result: &Value,
    variables: &Variables,
) -> Result<Option<Map<String, Value>>, Failure> {
    let Some(t) = assign else { return Ok(None) };
    match cx.with(result, variables, |s| t.evaluate(s))? {
        Value::Object(m) => Ok(Some(m)),
        _ => Ok(None),
    }
}

fn apply_io_path(path: &IoPath, sources: &Sources<'_>, whole: &Value) -> Result<Value, Failure> {
    match path {
        IoPath::Whole => Ok(whole.clone()),
        IoPath::Discard => Ok(json!({})),
        IoPath::Path(p) => sources.read(p, p.text()).map_err(|_| {
            Failure::runtime(format!("Invalid path '{}' : No results for path: {}", p.text(), p.query.normalized()))
        }),
    }
}

fn apply_result_path(path: &ResultPath, input: Value, result: Value) -> Result<Value, Failure> {
    match path {
        ResultPath::Replace => Ok(result),
        ResultPath::Discard => Ok(input),
        ResultPath::Path(p) => p.insert(input, result).map_err(|e| Failure::new(names::RUNTIME, e)),
    }
}

fn read_string(source: &Option<StringSource>, sources: &Sources<'_>, field: &str) -> Result<Option<String>, Failure> {
    let Some(source) = source else { return Ok(None) };
    let value = match source {
        StringSource::Literal(s) => return Ok(Some(s.clone())),
        StringSource::Path(p) => sources.read(p, field)?,
        StringSource::Intrinsic(call) => crate::intrinsics::evaluate(call, &mut |p: &PathExpr| sources.read(p, field))?,
    };
    Ok(Some(match value {
        Value::String(s) => s,
        other => compact(&other),
    }))
}

fn check_size(output: &Value, state: &str) -> Result<(), Stop> {
    // Cheap upper bound first: most outputs are small and need no serialization.
    if approximate_size(output, MAX_PAYLOAD_BYTES) <= MAX_PAYLOAD_BYTES {
        return Ok(());
    }
    if compact(output).len() > MAX_PAYLOAD_BYTES {
        return Err(Failure::new(
            "States.DataLimitExceeded",
            format!(
                "The state/task '{state}' returned a result with a size exceeding the maximum number of bytes service limit."
            ),
        )
        .into());
    }
    Ok(())
}

/// A size estimate that stops counting once past `limit`.
fn approximate_size(value: &Value, limit: usize) -> usize {
    fn walk(v: &Value, acc: &mut usize, limit: usize) {
        if *acc > limit {
            return;
        }
        match v {
            Value::Null | Value::Bool(_) => *acc += 5,
            Value::Number(_) => *acc += 24,
            Value::String(s) => *acc += s.len() * 6 + 2,
            Value::Array(items) => {
                *acc += 2;
                for i in items {
                    *acc += 1;
                    walk(i, acc, limit);
                }
            }
            Value::Object(map) => {
                *acc += 2;
                for (k, v) in map {
                    *acc += k.len() * 6 + 4;
                    walk(v, acc, limit);
                }
            }
        }
    }
    let mut acc = 0;
    walk(value, &mut acc, limit);
    acc
}

fn integer_like(v: &Value) -> Option<i64> {
    match v {
        Value::Number(n) => n.as_i64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

fn float_like(v: &Value) -> Option<f64> {
    match v {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

fn display_value(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => compact(other),
    }
}

/// Seconds from `now` until an RFC 3339 timestamp (0 when it has passed).
fn until(now: OffsetDateTime, text: &str) -> Option<f64> {
    let t = crate::choice::parse_timestamp(text)?;
    Some((t - now).as_seconds_f64().max(0.0))
}

fn state_events(kind: &Kind) -> (Ev, Ev) {
    match kind {
        Kind::Pass(_) => (Ev::PassStateEntered, Ev::PassStateExited),
        Kind::Task(_) => (Ev::TaskStateEntered, Ev::TaskStateExited),
        Kind::Choice(_) => (Ev::ChoiceStateEntered, Ev::ChoiceStateExited),
        Kind::Wait(_) => (Ev::WaitStateEntered, Ev::WaitStateExited),
        Kind::Succeed => (Ev::SucceedStateEntered, Ev::SucceedStateExited),
        Kind::Fail(_) => (Ev::FailStateEntered, Ev::FailStateEntered),
        Kind::Parallel(_) => (Ev::ParallelStateEntered, Ev::ParallelStateExited),
        Kind::Map(_) => (Ev::MapStateEntered, Ev::MapStateExited),
    }
}
