//! The step handlers that are built, in-process, for `secops run` and `secops decide`: the same
//! code the Lambda functions run, over the single binary's adapters (PostgreSQL, files).

use std::sync::{Arc, Mutex};

use anyhow::{Context, Result};
use secops_asl::tasks::function;
use secops_asl::{TaskFailure, TaskRegistry};
use secops_audit::redact::Destination;
use secops_audit::step::AuditStep;
use secops_audit::{setup as audit_setup, PgAuditLog};
use secops_core::{Config, StepError};
use secops_inventory::step::InventoryStep;
use secops_notify::step::NotifyStep;
use secops_notify::Notifier;
use secops_remediation::RemediateStep;
use secops_soar::setup::Outbound;
use secops_soar::step::{DecideStep, TicketStep};
use secops_soar::Soar;
use serde_json::Value;

/// What each step's capability is, for the "not built yet" refusal (same words as the Lambdas).
const NOT_BUILT: [(&str, &str); 1] = [("triage", "triage")];

/// Every `decide` answer (the scratchpad, or `{finding: {Id}, error, class}`), kept for printing.
pub type Decisions = Arc<Mutex<Vec<Value>>>;

/// Run `f` with the steps over the configured database (migrated); stops a cluster it started.
pub async fn with_steps<T>(config: &Config, f: impl AsyncFnOnce(&LocalSteps) -> Result<T>) -> Result<T> {
    crate::database::with_migrated(config, async |url: &str| f(&LocalSteps::open(config, url).await?).await).await
}

pub struct LocalSteps {
    pub soar: Soar,
    config: Config,
    pool: secops_store::Pool,
    aws: Option<aws_config::SdkConfig>,
    pub notifier: Arc<Notifier>,
    decide: DecideStep,
    tickets: TicketStep,
    notify: NotifyStep,
    audit: Arc<AuditStep>,
    pub remediate: RemediateStep,
}

fn failure(e: StepError) -> TaskFailure {
    TaskFailure::new(e.name(), e.message)
}

impl LocalSteps {
    /// Build the steps over the database at `url` (already migrated).
    pub async fn open(config: &Config, url: &str) -> Result<LocalSteps> {
        let pool = secops_store::db::connect_pool(url, 4).await?;
        let aws = if secops_soar::setup::needs_aws(config)
            || secops_notify::setup::needs_aws(config)
            || secops_remediation::setup::needs_aws(config)
        {
            Some(secops_aws::load_sdk_config(&secops_aws::AwsSettings::from_config(config)).await)
        } else {
            None
        };
        let notifier = Arc::new(
            secops_notify::setup::notifier(config, pool.clone(), aws.as_ref()).await.context("setting up notify")?,
        );
        let outbound = Outbound { ticketing: notifier.clone(), alerts: notifier.clone() };
        let soar = secops_soar::setup::soar(config, Some(pool.clone()), aws.as_ref(), outbound)
            .await
            .context("setting up decide")?;
        let signer = audit_setup::signer(&config.audit, aws.as_ref()).await?;
        let redactor = audit_setup::redactor(&config.audit, &signer, Destination::Audit).await?;
        let checkpoints = audit_setup::checkpoint_store(&config.audit, aws.as_ref())?;
        let log = PgAuditLog::new(pool.clone(), config.audit.chain.clone(), signer, redactor);
        // Approval requests record where the decision goes: this process's callback endpoint.
        let remediation_aws = if secops_remediation::setup::needs_aws(config) { aws.as_ref() } else { None };
        let remediate = secops_remediation::setup::step(
            config,
            remediation_aws,
            Some(pool.clone()),
            Some(notifier.clone() as Arc<dyn secops_core::outbound::Alerts>),
        )
        .with_callback_url(Arc::new(secops_asl::callback_server::CallbackServer::running_endpoint));
        Ok(LocalSteps {
            remediate,
            config: config.clone(),
            pool,
            aws,
            decide: DecideStep::new(soar.clone()),
            tickets: TicketStep::new(soar.clone()),
            notify: NotifyStep::new(notifier.clone()),
            notifier,
            soar,
            audit: Arc::new(AuditStep::new(log, checkpoints)),
        })
    }

    /// Register decide, remediate, notify, audit, collect and reconcile by step name; the steps whose
    /// capability is not built yet refuse with `InvalidInput`. `decisions` collects every
    /// `decide` answer.
    pub fn register(&self, registry: &mut TaskRegistry, decisions: Option<Decisions>) {
        let decide = self.decide.clone();
        registry.function(
            "decide",
            function(move |input: Value| {
                let (decide, decisions) = (decide.clone(), decisions.clone());
                async move {
                    let is_decide = input.get("action").and_then(Value::as_str) == Some("decide");
                    let finding_id = input.pointer("/finding/Id").cloned().unwrap_or(Value::Null);
                    let out = decide.handle(input).await;
                    if let (true, Some(d)) = (is_decide, decisions) {
                        let seen = match &out {
                            Ok(pad) => pad.clone(),
                            Err(e) => serde_json::json!({"finding": {"Id": finding_id}, "error": e.message, "class": e.name()}),
                        };
                        d.lock().unwrap_or_else(|p| p.into_inner()).push(seen);
                    }
                    out.map_err(failure)
                }
            }),
        );
        let (tickets, notify) = (self.tickets.clone(), self.notify.clone());
        registry.function(
            "notify",
            function(move |input: Value| {
                let (tickets, notify) = (tickets.clone(), notify.clone());
                async move {
                    match input.get("action").and_then(Value::as_str) {
                        Some(action) if TicketStep::handles(action) => tickets.handle(input).await.map_err(failure),
                        _ => notify.handle(input).await.map_err(failure),
                    }
                }
            }),
        );
        let remediate = self.remediate.clone();
        registry.function(
            "remediate",
            function(move |input: Value| {
                let remediate = remediate.clone();
                async move { remediate.handle(input).await.map_err(failure) }
            }),
        );
        let audit = self.audit.clone();
        registry.function(
            "audit",
            function(move |input: Value| {
                let audit = audit.clone();
                async move { audit.handle(input).await.map_err(failure) }
            }),
        );
        // Collect and reconcile: the source (a recorded folder or live AWS) is resolved per call,
        // so commands that never collect never reach for AWS credentials.
        let (config, pool, aws) = (self.config.clone(), self.pool.clone(), self.aws.clone());
        for step in ["collect", "reconcile"] {
            let (config, pool, aws) = (config.clone(), pool.clone(), aws.clone());
            registry.function(
                step,
                function(move |input: Value| {
                    let (config, pool, aws) = (config.clone(), pool.clone(), aws.clone());
                    async move {
                        let source = if step == "collect" {
                            Some(secops_inventory::setup::source(&config, aws.as_ref()).await.map_err(failure)?)
                        } else {
                            None
                        };
                        InventoryStep::new(pool, source).handle(input).await.map_err(failure)
                    }
                }),
            );
        }
        for (step, capability) in NOT_BUILT {
            registry.function(
                step,
                function(move |_| async move { Err(failure(StepError::not_built_yet(step, capability))) }),
            );
        }
    }
}
