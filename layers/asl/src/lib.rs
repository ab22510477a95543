//! The embedded Step Functions executor.
//!
//! The workflows are defined once, as Amazon States Language in `statemachines/*.asl.json`.
//! AWS Step Functions runs them in the cloud; this crate runs the same definitions in-process for
//! the `secops` binary and the tests, with the JSONPath query language, every state type, the
//! `States.*` intrinsic functions, Retry/Catch, a clock that can be virtual, and an execution
//! history that uses AWS's event names.
//!
//! Pieces, in the order a definition meets them: [`validate`] (reject what AWS would reject, with
//! the location of every problem), [`definition`] (the typed model), [`path`], [`template`] and
//! [`intrinsics`] (input/output processing), [`choice`], [`executor`] (the run loop), [`tasks`]
//! (what a `Task` state's `Resource` resolves to, and the task-token callback hub),
//! [`callback_server`] (the loopback Step Functions endpoint the analyst reports to),
//! [`ecs_task`] (the analyst as an isolated subprocess), [`wiring`] and [`local`] (the SAM template
//! as the single source of truth for local runs), [`stubs`], [`clock`] and [`history`].

#![forbid(unsafe_code)]

pub mod bench;
pub mod callback_server;
pub mod choice;
pub mod clock;
pub mod definition;
pub mod ecs_task;
pub mod error;
pub mod executor;
pub mod history;
pub mod intrinsics;
pub mod local;
pub mod path;
pub mod stubs;
pub mod tasks;
pub mod template;
#[cfg(any(test, feature = "test-harness"))]
pub mod testing;
pub mod validate;
pub mod wiring;

pub use clock::{Clock, RealClock, VirtualClock};
pub use definition::StateMachine;
pub use error::{DefinitionError, Diagnostic, Failure};
pub use executor::{ExecutionKind, ExecutionResult, ExecutionStatus, Executor, ExecutorBuilder};
pub use history::{HistoryEvent, HistoryEventType};
pub use tasks::{CallbackHub, TaskFailure, TaskHandler, TaskInvocation, TaskRegistry};
