//! `secops-core`: the domain of SecOps Autopilot — findings in the AWS Security Finding
//! Format, the EventBridge envelope they arrive in, the scratchpad the state machines pass
//! around, the step error classes, and configuration. Pure: no I/O, no AWS, no SQL.
#![forbid(unsafe_code)]

pub mod analyst_task;
pub mod asff;
pub mod clock;
pub mod config;
pub mod config_file;
pub mod error;
pub mod event;
pub mod json;
pub mod outbound;
pub mod scratchpad;
pub mod triage_config;

pub use analyst_task::AnalystTask;
pub use config::{
    AccountSource, AuditConfig, AuditKeySource, ChatTarget, CheckpointTarget, CloudflareSettings, Config, ConfigError,
    DatabaseSource, DecideConfig, FalconSettings, FindingsHubTarget, HotStateStore, InventoryConfig, JiraSettings,
    LogFormat, NotifyConfig, QuarantineMode, RemediationConfig, RemediationExemption, RemediationMode, SecretSource,
};
pub use config_file::{ConfigFile, ConfigProblem};
pub use error::{ErrorClass, StepError};
pub use triage_config::{TriageConfig, TriageProvider};
