//! One remediation run, in the contract's order: find the control and its resource, check the
//! exemptions, open a member-account session limited to the declared actions, plan, (wait for
//! approval,) apply exactly the planned calls, verify by re-reading. Every exit is a `Report`
//! or a classed `StepError` that names what was already applied.

use async_trait::async_trait;
use aws_config::SdkConfig;
use secops_aws::{AssumeRoleCache, AwsError, RoleRequest};
use secops_core::asff::AwsSecurityFinding;
use secops_core::{ErrorClass, RemediationConfig, RemediationMode, StepError};
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;
use time::OffsetDateTime;

use crate::catalogue::Catalogue;
use crate::context::Ctx;
use crate::exempt;
use crate::plan::{Change, Plan};
use crate::policy::{self, Access};
use crate::report::{Outcome, Report};
use crate::spec::{Assessment, Check, Remediation};
use crate::target::Target;

/// Sessions in member accounts (AssumeRole with a session policy).
#[async_trait]
pub trait Sessions: Send + Sync + std::fmt::Debug {
    async fn session(&self, request: &RoleRequest) -> Result<SdkConfig, AwsError>;
}

#[async_trait]
impl Sessions for AssumeRoleCache {
    async fn session(&self, request: &RoleRequest) -> Result<SdkConfig, AwsError> {
        self.config_for(request).await
    }
}

/// What one run is asked to do.
#[derive(Debug, Clone, Default)]
pub struct Request {
    /// The account's environment (PROD, DEV, ...) from account data.
    pub environment: Option<String>,
    /// The account's organizational unit (id or name) from account data.
    pub organizational_unit: Option<String>,
    /// Tags decide already knows (the scratchpad's), added to the finding's.
    pub tags: BTreeMap<String, String>,
    /// A plan a person approved: apply only if the fresh plan is the same.
    pub approved_plan: Option<Plan>,
    /// Override the configured mode (the CLI's `remediate plan` always plans).
    pub mode: Option<RemediationMode>,
}

/// Runs remediations from the catalogue.
#[derive(Clone)]
pub struct Runner {
    catalogue: Arc<Catalogue>,
    sessions: Option<Arc<dyn Sessions>>,
    settings: Arc<RemediationConfig>,
    now: Clock,
}

/// "Now", replaceable in tests of age rules.
type Clock = Arc<dyn Fn() -> OffsetDateTime + Send + Sync>;

impl Runner {
    /// `sessions: None` means no AWS is configured: every run ends as a ticket with the intent.
    pub fn new(catalogue: Arc<Catalogue>, sessions: Option<Arc<dyn Sessions>>, settings: RemediationConfig) -> Self {
        Self { catalogue, sessions, settings: Arc::new(settings), now: Arc::new(OffsetDateTime::now_utc) }
    }

    /// Use another clock (tests of age rules).
    pub fn with_clock(mut self, now: impl Fn() -> OffsetDateTime + Send + Sync + 'static) -> Self {
        self.now = Arc::new(now);
        self
    }

    pub fn settings(&self) -> &RemediationConfig {
        &self.settings
    }

    pub fn catalogue(&self) -> &Catalogue {
        &self.catalogue
    }

    /// Run the remediation for `finding`'s control.
    pub async fn run(&self, finding: &AwsSecurityFinding, request: Request) -> Result<Report, StepError> {
        let control =
            finding.security_control_id().map(str::to_owned).or_else(|| finding.control_id().map(|c| c.to_string()));
        let Some(control) = control else {
            return Err(StepError::invalid_input(format!(
                "finding {}: no Compliance.SecurityControlId, so there is no control to remediate",
                finding.id
            )));
        };
        let mode = request.mode.unwrap_or(self.settings.mode);
        let Some(remediation) = self.catalogue.get(&control) else {
            let mut report = Report::begun(
                &control,
                &finding.id,
                &finding.aws_account_id,
                finding.region.as_deref().unwrap_or_default(),
                finding.first_resource().map_or("", |r| r.id.as_str()),
                mode_name(mode),
            );
            report.reason = format!("the catalogue has no auto-remediation for {control}");
            return Ok(report);
        };
        let mut target = Target::from_finding(finding, remediation.as_ref())?;
        target.environment = request.environment.clone();
        target.organizational_unit = request.organizational_unit.clone();
        target.tags.extend(request.tags.clone());
        let mut run = Run { remediation: remediation.as_ref(), report: blank_report(&target, mode) };

        if let Some(reason) = exempt::by_configuration(&self.settings, &target) {
            return Ok(run.finish(Outcome::Suppress, reason));
        }
        if let Some(reason) = exempt::by_tags(remediation.spec(), &target.tags) {
            return Ok(run.finish(Outcome::Suppress, reason));
        }
        let Some(sessions) = &self.sessions else {
            let spec = remediation.spec();
            return Ok(run.finish(
                Outcome::Ticket,
                format!(
                    "no AWS access is configured, so nothing was read or changed; the remediation would: {}",
                    spec.change
                ),
            ));
        };

        let access = if mode == RemediationMode::Apply { Access::Declared } else { Access::ReadOnly };
        let spec = remediation.spec();
        let role = RoleRequest::new(&target.account, &self.settings.role_name, &target.region)
            .with_session_policy(policy::session_policy(spec, access));
        run.report.session_actions = policy::session_actions(spec, access).into_iter().map(str::to_owned).collect();
        let sdk = match sessions.session(&role).await {
            Ok(sdk) => sdk,
            Err(e) => return run.failed(e, "opening the member-account session"),
        };
        let mut ctx = Ctx { sdk, target, now: (self.now)(), settings: self.settings.clone() };

        match remediation.live_tags(&ctx).await {
            Ok(Some(tags)) => {
                ctx.target.tags.extend(tags);
                if let Some(reason) = exempt::by_tags(spec, &ctx.target.tags) {
                    return Ok(run.finish(Outcome::Suppress, reason));
                }
            }
            Ok(None) => {}
            Err(e) => return run.failed(e, "reading the resource's tags"),
        }

        let changes = match remediation.plan(&ctx).await {
            Err(e) => return run.failed(e, "planning"),
            Ok(Assessment::Compliant(found)) => return Ok(run.finish(Outcome::AlreadyCompliant, found)),
            Ok(Assessment::Gone(why)) => return Ok(run.finish(Outcome::Suppress, why)),
            Ok(Assessment::Exempt(why)) => return Ok(run.finish(Outcome::Suppress, why)),
            Ok(Assessment::Ticket(why)) => return Ok(run.finish(Outcome::Ticket, why)),
            Ok(Assessment::ReconsiderLater(why)) => return Ok(run.finish(Outcome::ReconsiderLater, why)),
            Ok(Assessment::Changes(changes)) => changes,
        };
        if changes.is_empty() {
            return Err(StepError::permanent(format!(
                "{} planned no changes for {} without saying it is compliant (a bug in the remediation)",
                spec.control, ctx.target.resource_id
            )));
        }
        if let Some(c) = changes.iter().find(|c| !spec.actions.contains(&c.action.as_str())) {
            return Err(StepError::permanent(format!(
                "{} planned {} on {}, which it does not declare; refusing to run it",
                spec.control, c.action, c.resource
            )));
        }
        let plan = Plan {
            control: spec.control.to_owned(),
            resource: ctx.target.resource_id.clone(),
            account: ctx.target.account.clone(),
            region: ctx.target.region.clone(),
            changes,
            disruptive: spec.disruptive,
        };
        run.report.plan = Some(plan.clone());

        if mode == RemediationMode::Plan {
            return Ok(run.finish(Outcome::Planned, "plan only (SECOPS_REMEDIATION_MODE=plan): nothing was changed"));
        }
        match &request.approved_plan {
            None if plan.disruptive && self.needs_approval(&ctx.target) => {
                let env = ctx.target.environment.clone().unwrap_or_default();
                return Ok(run.finish(
                    Outcome::ApprovalRequired,
                    format!(
                        "the plan may interrupt a workload and environment {env} needs approval before it is applied"
                    ),
                ));
            }
            Some(approved) if approved.changes != plan.changes => {
                return Ok(run.finish(
                    Outcome::Ticket,
                    format!(
                        "the resource changed after the plan was approved, so nothing was applied.\nApproved:\n{}Now needed:\n{}",
                        approved.describe(),
                        plan.describe()
                    ),
                ));
            }
            _ => {}
        }

        for change in &plan.changes {
            if let Err(e) = remediation.execute(&ctx, change).await {
                return run.failed(e, &format!("applying {} on {}", change.action, change.resource));
            }
            run.report.applied.push(change.clone());
        }

        // Bounded: every pass either returns or counts an attempt, up to verify_attempts.
        let attempts = self.settings.verify_attempts.max(1);
        let mut attempt = 1;
        loop {
            match remediation.verify(&ctx).await {
                Err(e) => return run.failed(e, "verifying"),
                Ok(Check::Holds(found)) => {
                    run.report.verification = Some(found);
                    return Ok(run.finish(Outcome::Remediated, "applied the plan and verified the control now holds"));
                }
                Ok(Check::Fails(found)) if attempt >= attempts => {
                    run.report.verification = Some(found.clone());
                    return Ok(run.finish(
                        Outcome::Ticket,
                        format!("the plan was applied but the control still fails when re-read: {found}"),
                    ));
                }
                Ok(Check::Fails(_)) => {
                    attempt += 1;
                    tokio::time::sleep(Duration::from_millis(self.settings.verify_delay_ms)).await;
                }
            }
        }
    }

    fn needs_approval(&self, target: &Target) -> bool {
        let env = target.environment.as_deref().unwrap_or_default();
        self.settings.approval_environments.iter().any(|e| e.eq_ignore_ascii_case(env))
    }
}

impl std::fmt::Debug for Runner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Runner").field("catalogue", &self.catalogue).field("settings", &self.settings).finish()
    }
}

fn mode_name(mode: RemediationMode) -> &'static str {
    match mode {
        RemediationMode::Plan => "plan",
        RemediationMode::Apply => "apply",
    }
}

fn blank_report(target: &Target, mode: RemediationMode) -> Report {
    Report::begun(
        &target.control,
        &target.finding_id,
        &target.account,
        &target.region,
        &target.resource_id,
        mode_name(mode),
    )
}

struct Run<'a> {
    remediation: &'a dyn Remediation,
    report: Report,
}

impl Run<'_> {
    fn finish(mut self, outcome: Outcome, reason: impl Into<String>) -> Report {
        self.report.outcome = outcome;
        self.report.reason = reason.into();
        self.report
    }

    /// An AWS error while `doing`: a missing permission → ticket naming it; the resource gone →
    /// suppress; throttling and transient failures → the classed error (the state machine
    /// retries; the next run plans again, and every remediation is idempotent); anything else →
    /// Permanent (the child machine's catch-all tickets it). Errors name what was applied.
    fn failed(self, e: AwsError, doing: &str) -> Result<Report, StepError> {
        let spec = self.remediation.spec();
        let applied = applied_text(&self.report.applied);
        if e.is_access_denied() {
            let reason = format!(
                "access denied while {doing}: the member role lacks {} (or an SCP or resource policy denies it){applied}. {}",
                e.operation, e.message
            );
            return Ok(self.finish(Outcome::Ticket, reason));
        }
        if e.class == ErrorClass::Permanent && is_gone(e.code.as_deref()) {
            let reason = format!("the resource no longer exists ({}: {}){applied}", e.operation, e.message);
            return Ok(self.finish(Outcome::Suppress, reason));
        }
        Err(StepError::new(
            e.class,
            format!("{} on {}: {e} while {doing}{applied}", spec.control, self.report.resource),
        ))
    }
}

fn applied_text(applied: &[Change]) -> String {
    if applied.is_empty() {
        "; nothing had been changed".into()
    } else {
        let list: Vec<String> = applied.iter().map(|c| format!("{} on {}", c.action, c.resource)).collect();
        format!("; already applied: {}", list.join(", "))
    }
}

/// Error codes that mean the resource itself does not exist. Codes that mean "not configured"
/// (NoSuchBucketPolicy, NoSuchEntity from GetAccountPasswordPolicy, ...) are handled by the
/// remediations that read them, never here.
pub fn is_gone(code: Option<&str>) -> bool {
    let Some(code) = code else { return false };
    matches!(
        code,
        "NoSuchBucket"
            | "AWS.SimpleQueueService.NonExistentQueue"
            | "QueueDoesNotExist"
            | "InvalidDocument"
            | "TrailNotFoundException"
            | "DBInstanceNotFound"
            | "DBClusterNotFoundFault"
            | "DBSnapshotNotFound"
            | "DBClusterSnapshotNotFoundFault"
            | "LoadBalancerNotFound"
            | "ResourceNotFoundException"
            | "NotFoundException"
            | "NotFound"
    ) || code.ends_with(".NotFound")
        || [
            "TableNotFoundException",
            "RepositoryNotFoundException",
            "ClusterNotFoundException",
            "ServiceNotFoundException",
        ]
        .contains(&code)
        || code.ends_with("NotFoundFault")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gone_codes() {
        for code in [
            "NoSuchBucket",
            "InvalidGroup.NotFound",
            "InvalidInstanceID.NotFound",
            "DBInstanceNotFound",
            "TableNotFoundException",
        ] {
            assert!(is_gone(Some(code)), "{code}");
        }
        for code in [
            "NoSuchBucketPolicy",
            "NoSuchEntity",
            "NoSuchPublicAccessBlockConfiguration",
            "AccessDenied",
            "ValidationError",
        ] {
            assert!(!is_gone(Some(code)), "{code}");
        }
        assert!(!is_gone(None));
    }
}
