//! The approval gate: a disruptive plan in an approval environment waits on a task token until a
//! person approves (`secops approve ID`) or rejects (`secops reject ID`) it, or the wait times
//! out. Requests live in PostgreSQL (`remediation_approvals`); the token is the capability that
//! resumes the workflow and is never put in a chat message — people see the approval id.

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use time::OffsetDateTime;

use secops_core::StepError;

use crate::plan::Plan;

/// What a person decided.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Decision {
    Approved,
    Rejected,
    Expired,
}

impl Decision {
    pub fn as_str(self) -> &'static str {
        match self {
            Decision::Approved => "approved",
            Decision::Rejected => "rejected",
            Decision::Expired => "expired",
        }
    }

    fn parse(s: &str) -> Option<Decision> {
        match s {
            "approved" => Some(Decision::Approved),
            "rejected" => Some(Decision::Rejected),
            "expired" => Some(Decision::Expired),
            _ => None,
        }
    }
}

/// A new request, as the workflow makes it.
#[derive(Debug, Clone)]
pub struct NewApproval {
    pub task_token: String,
    /// The embedded executor's loopback endpoint; `None` on AWS (Step Functions).
    pub callback_url: Option<String>,
    pub finding_id: String,
    pub environment: Option<String>,
    pub plan: Plan,
    /// How long the workflow waits (the ASL task's TimeoutSeconds).
    pub wait: time::Duration,
}

/// A stored request.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Approval {
    pub id: String,
    #[serde(skip)]
    pub task_token: String,
    #[serde(skip)]
    pub callback_url: Option<String>,
    pub finding_id: String,
    pub control: String,
    pub account_id: String,
    pub region: String,
    pub resource: String,
    pub environment: Option<String>,
    pub plan: Value,
    #[serde(with = "time::serde::rfc3339")]
    pub requested_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub expires_at: OffsetDateTime,
    pub decision: Option<Decision>,
    pub decided_by: Option<String>,
    pub note: Option<String>,
}

/// Where approval requests are kept.
#[async_trait]
pub trait ApprovalBook: Send + Sync + std::fmt::Debug {
    /// Record a request; returns its id.
    async fn request(&self, new: &NewApproval) -> Result<String, StepError>;
    /// Requests nobody decided yet, oldest first.
    async fn pending(&self) -> Result<Vec<Approval>, StepError>;
    /// A request by id (`apr-…`).
    async fn find(&self, id: &str) -> Result<Option<Approval>, StepError>;
    /// Decide a pending request; `Conflict` when it was already decided.
    async fn decide(&self, id: &str, decision: Decision, by: &str, note: Option<&str>) -> Result<Approval, StepError>;
    /// Mark the finding's undecided requests expired (the workflow stopped waiting); returns how many.
    async fn expire_finding(&self, finding_id: &str) -> Result<u64, StepError>;
}

/// The PostgreSQL book (migration V009).
#[derive(Debug, Clone)]
pub struct PgApprovals {
    pool: deadpool_postgres::Pool,
}

const COLUMNS: &str = "id, task_token, callback_url, finding_id, control, account_id, region, resource, environment, \
                       plan, requested_at, expires_at, decision, decided_by, note";

fn db(what: &str) -> impl FnOnce(tokio_postgres::Error) -> StepError + '_ {
    move |e| StepError::transient(format!("remediation approvals: {what}: {e}"))
}

fn row_to_approval(row: &tokio_postgres::Row) -> Approval {
    let decision: Option<String> = row.get("decision");
    Approval {
        id: row.get("id"),
        task_token: row.get("task_token"),
        callback_url: row.get("callback_url"),
        finding_id: row.get("finding_id"),
        control: row.get("control"),
        account_id: row.get("account_id"),
        region: row.get("region"),
        resource: row.get("resource"),
        environment: row.get("environment"),
        plan: row.get("plan"),
        requested_at: row.get("requested_at"),
        expires_at: row.get("expires_at"),
        decision: decision.as_deref().and_then(Decision::parse),
        decided_by: row.get("decided_by"),
        note: row.get("note"),
    }
}

impl PgApprovals {
    pub fn new(pool: deadpool_postgres::Pool) -> Self {
        Self { pool }
    }

    async fn client(&self) -> Result<deadpool_postgres::Object, StepError> {
        self.pool.get().await.map_err(|e| StepError::transient(format!("remediation approvals: no connection: {e}")))
    }
}

#[async_trait]
impl ApprovalBook for PgApprovals {
    async fn request(&self, new: &NewApproval) -> Result<String, StepError> {
        let id = format!("apr-{}", &uuid::Uuid::new_v4().simple().to_string()[..12]);
        let plan = serde_json::to_value(&new.plan).map_err(|e| StepError::permanent(format!("plan: {e}")))?;
        let expires_at = OffsetDateTime::now_utc() + new.wait;
        let client = self.client().await?;
        // A retried request for the same token keeps the first id (the no-op update returns it).
        let row = client
            .query_one(
                "INSERT INTO remediation_approvals (id, task_token, callback_url, finding_id, control, account_id, region, \
                 resource, environment, plan, expires_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) \
                 ON CONFLICT (task_token) DO UPDATE SET task_token = EXCLUDED.task_token RETURNING id",
                &[
                    &id,
                    &new.task_token,
                    &new.callback_url,
                    &new.finding_id,
                    &new.plan.control,
                    &new.plan.account,
                    &new.plan.region,
                    &new.plan.resource,
                    &new.environment,
                    &plan,
                    &expires_at,
                ],
            )
            .await
            .map_err(db("recording a request"))?;
        Ok(row.get(0))
    }

    async fn pending(&self) -> Result<Vec<Approval>, StepError> {
        let client = self.client().await?;
        let rows = client
            .query(
                &format!(
                    "SELECT {COLUMNS} FROM remediation_approvals WHERE decision IS NULL ORDER BY requested_at, id"
                ),
                &[],
            )
            .await
            .map_err(db("listing pending requests"))?;
        Ok(rows.iter().map(row_to_approval).collect())
    }

    async fn find(&self, id: &str) -> Result<Option<Approval>, StepError> {
        let client = self.client().await?;
        let row = client
            .query_opt(&format!("SELECT {COLUMNS} FROM remediation_approvals WHERE id = $1"), &[&id])
            .await
            .map_err(db("reading a request"))?;
        Ok(row.as_ref().map(row_to_approval))
    }

    async fn decide(&self, id: &str, decision: Decision, by: &str, note: Option<&str>) -> Result<Approval, StepError> {
        let client = self.client().await?;
        let row = client
            .query_opt(
                &format!(
                    "UPDATE remediation_approvals SET decision = $2, decided_by = $3, decided_at = now(), note = $4 \
                     WHERE id = $1 AND decision IS NULL RETURNING {COLUMNS}"
                ),
                &[&id, &decision.as_str(), &by, &note],
            )
            .await
            .map_err(db("deciding a request"))?;
        match row {
            Some(row) => Ok(row_to_approval(&row)),
            None => match self.find(id).await? {
                None => Err(StepError::invalid_input(format!("there is no approval request {id}"))),
                Some(a) => Err(StepError::conflict(format!(
                    "approval request {id} was already {} by {}",
                    a.decision.map_or("decided", Decision::as_str),
                    a.decided_by.as_deref().unwrap_or("the workflow")
                ))),
            },
        }
    }

    async fn expire_finding(&self, finding_id: &str) -> Result<u64, StepError> {
        let client = self.client().await?;
        client
            .execute(
                "UPDATE remediation_approvals SET decision = 'expired', decided_by = 'workflow', decided_at = now() \
                 WHERE finding_id = $1 AND decision IS NULL",
                &[&finding_id],
            )
            .await
            .map_err(db("expiring requests"))
    }
}

/// Resume the workflow waiting on `approval` with `decision` (already recorded in the book):
/// SendTaskSuccess with `{decision, approval_id, decided_by}` on approval, SendTaskFailure with
/// the error `Rejected` and the reason otherwise. The embedded executor's loopback endpoint when
/// the request came from one; else Step Functions through `aws` (the caller's configuration).
pub async fn resume(
    approval: &Approval,
    decision: Decision,
    by: &str,
    reason: Option<&str>,
    aws: Option<&aws_config::SdkConfig>,
) -> Result<(), secops_aws::AwsError> {
    let local;
    let sdk = match (&approval.callback_url, aws) {
        (Some(url), _) => {
            local = secops_aws::load_sdk_config(&secops_aws::AwsSettings::for_endpoint(url.clone(), "us-east-1")).await;
            &local
        }
        (None, Some(aws)) => aws,
        (None, None) => {
            return Err(secops_aws::AwsError::new(
                "states:SendTaskSuccess",
                secops_core::ErrorClass::InvalidInput,
                "the request waits in Step Functions, and no AWS configuration was given to reach it",
            ))
        }
    };
    let reporter = secops_aws::TaskTokenReporter::new(sdk, approval.task_token.clone());
    match decision {
        Decision::Approved => {
            let output = serde_json::json!({"decision": "approved", "approval_id": approval.id, "decided_by": by});
            reporter.succeed(&output).await
        }
        Decision::Rejected | Decision::Expired => {
            let cause = format!("{} by {by}: {}", decision.as_str(), reason.unwrap_or("no reason given"));
            reporter.fail_named(crate::step::REJECTED, &cause).await
        }
    }
}
