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
    triage: secops_triage::TriageStep,
    /// The migrated database's URL, for the analyst subprocess (which enters the read-only role).
    database_url: String,
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
        let triage =
            secops_triage::setup::step(config, pool.clone(), Some(soar.clone())).context("setting up triage")?;
        Ok(LocalSteps {
            remediate,
            triage,
            database_url: url.to_owned(),
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

    /// Register every step by name: decide, remediate, triage, notify, audit, collect and
    /// reconcile. `decisions` collects every `decide` answer.
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
        let triage = self.triage.clone();
        registry.function(
            "triage",
            function(move |input: Value| {
                let triage = triage.clone();
                async move { triage.handle(input).await.map_err(failure) }
            }),
        );
    }

    pub fn pool(&self) -> secops_store::Pool {
        self.pool.clone()
    }

    /// How the analyst subprocess is started: the database through the read-only role, the
    /// triage and model settings of this process, and the configured limits.
    pub fn analyst_setup(&self) -> crate::asl::AnalystSetup {
        let mut env: Vec<(String, String)> = std::env::vars()
            .filter(|(k, _)| {
                k == "RUST_LOG"
                    || k.starts_with("SECOPS_TRIAGE_")
                    || k.starts_with("SECOPS_BEDROCK_")
                    || k.starts_with("SECOPS_OPENAI_")
            })
            .collect();
        env.push(("SECOPS_DATABASE_URL".into(), secops_triage::analyst::read_only_url(&self.database_url)));
        let t = &self.config.triage;
        crate::asl::AnalystSetup {
            env,
            limits: secops_asl::ecs_task::AnalystLimits {
                wall_clock: Some(t.analyst_timeout),
                cpu_seconds: Some(t.analyst_cpu_seconds),
                memory_bytes: Some(t.analyst_memory_mb * 1024 * 1024),
            },
        }
    }
}
