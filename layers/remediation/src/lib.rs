//! `secops-remediation`: the auto-remediation catalogue. One file per Security Hub control in
//! `controls/`, each implementing [`Remediation`]: find the resource, plan the exact calls as
//! data, apply only those calls in the member account under a session policy that grants only
//! the remediation's declared actions, and verify by re-reading. [`Runner`] holds the contract's
//! order; [`step`] speaks the state machine's scratchpad.
#![forbid(unsafe_code)]

pub mod approval;
pub mod catalogue;
pub mod context;
pub mod controls;
pub mod exempt;
pub mod plan;
pub mod policy;
pub(crate) mod policy_doc;
pub mod report;
pub mod runner;
pub mod setup;
pub mod spec;
pub mod step;
pub mod support;
pub mod target;

pub use approval::{ApprovalBook, Decision, PgApprovals};
pub use catalogue::Catalogue;
pub use context::Ctx;
pub use plan::{Change, Plan};
pub use report::{Outcome, Report};
pub use runner::{Request, Runner, Sessions};
pub use spec::{Assessment, Check, Remediation, Spec, TestedWith};
pub use step::RemediateStep;
pub use target::Target;
