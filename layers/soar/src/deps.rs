//! Everything the decide and ticket steps use, built once per process, and the claim helper that
//! makes each side effect happen once.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use secops_core::scratchpad::PipelineFlags;
use serde_json::Value;

use crate::account::AccountDirectory;
use crate::clock::Clock;
use crate::controls::ControlCatalog;
use crate::hub::FindingsHub;
use crate::policy::Policy;
use crate::quarantine::Quarantine;
use crate::state::{Claim, ClaimKey, StateStore};
use crate::tickets::{Alerts, Ticketing};
use crate::Result;

/// Tunables that are not policy (they protect the machinery, not the organization).
#[derive(Debug, Clone)]
pub struct Settings {
    /// How long a claim blocks others before an execution that died with it is presumed gone.
    /// Longer than any step's timeout (the longest is 150 s), shorter than a human would wait.
    pub claim_lease: Duration,
    /// How long a finished claim is kept, i.e. the replay window: EventBridge retries for up to
    /// 24 hours and people replay archived events later, so two weeks.
    pub keep_claims_for: time::Duration,
    /// Single-finding retries for what a Security Hub batch left unprocessed.
    pub hub_individual_attempts: u32,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            claim_lease: Duration::from_secs(15 * 60),
            keep_claims_for: time::Duration::days(14),
            hub_individual_attempts: 3,
        }
    }
}

/// The ports and the policy. Cheap to clone.
#[derive(Debug, Clone)]
pub struct Soar {
    pub store: Arc<dyn StateStore>,
    pub hub: Arc<dyn FindingsHub>,
    pub accounts: Arc<dyn AccountDirectory>,
    /// None where Security Hub is not reachable (the single binary without AWS): enabled
    /// controls are then never synced and never suppress.
    pub controls: Option<Arc<dyn ControlCatalog>>,
    pub ticketing: Arc<dyn Ticketing>,
    pub alerts: Arc<dyn Alerts>,
    pub quarantine: Arc<dyn Quarantine>,
    pub policy: Arc<Policy>,
    pub clock: Arc<dyn Clock>,
    pub flags: PipelineFlags,
    /// The regions the enabled-controls sync covers.
    pub regions: Vec<String>,
    pub settings: Settings,
}

/// What [`Soar::once`] did.
#[derive(Debug, Clone, PartialEq)]
pub enum Once {
    /// This call ran the side effect; its result.
    Ran(Value),
    /// An earlier call ran it; the result it stored.
    Replayed(Value),
    /// Another execution is running it right now.
    Busy { owner: String },
}

impl Once {
    /// What the scratchpad records about the side effect: its result when this call ran it,
    /// `{"already_done": result}` when an earlier call did, `{"in_progress_elsewhere": owner}`.
    pub fn report(self) -> Value {
        match self {
            Once::Ran(result) => result,
            Once::Replayed(result) => serde_json::json!({"already_done": result}),
            Once::Busy { owner } => serde_json::json!({"in_progress_elsewhere": owner}),
        }
    }
}

impl Soar {
    /// Run `effect` at most once per `key`: claim, run, store the result. A failed effect releases
    /// the claim so the state machine's retry can run it again; the same `owner` (an execution's
    /// retry) renews a claim it still holds.
    pub async fn once<F, Fut>(&self, key: ClaimKey, owner: &str, effect: F) -> Result<Once>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<Value>>,
    {
        let now = self.clock.now();
        match self.store.claim(&key, owner, now, self.settings.claim_lease).await? {
            Claim::Done { result } => return Ok(Once::Replayed(result)),
            Claim::InProgress { owner, .. } => return Ok(Once::Busy { owner }),
            Claim::Acquired => {}
        }
        match effect().await {
            Ok(result) => {
                let keep_until = self.clock.now() + self.settings.keep_claims_for;
                self.store.complete(&key, owner, &result, keep_until).await?;
                Ok(Once::Ran(result))
            }
            Err(e) => {
                if let Err(release) = self.store.release(&key, owner).await {
                    tracing::warn!(%key, error = %release, "could not release the claim after a failure; it expires with its lease");
                }
                Err(e)
            }
        }
    }
}
