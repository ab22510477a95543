//! One circuit breaker per destination, its state in the hot state store so every concurrent
//! worker sees the same one. Closed: send. After `failure_threshold` consecutive failures that
//! say the destination is unwell, open for `open_for`: nothing is sent, messages stay queued.
//! Then half-open: exactly one worker (the one whose compare-and-swap wins) sends a probe; its
//! success closes the breaker, its failure opens it again.

pub mod dynamodb;
pub mod postgres;

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use secops_core::clock::Clock;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::message::Destination;
use crate::{NotifyError, Result};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BreakerState {
    Closed,
    Open,
    HalfOpen,
}

impl BreakerState {
    pub fn as_str(self) -> &'static str {
        match self {
            BreakerState::Closed => "closed",
            BreakerState::Open => "open",
            BreakerState::HalfOpen => "half_open",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "closed" => BreakerState::Closed,
            "open" => BreakerState::Open,
            "half_open" => BreakerState::HalfOpen,
            _ => return None,
        })
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BreakerSettings {
    /// Consecutive failures that open the breaker.
    pub failure_threshold: u32,
    /// How long it stays open before one probe may go.
    pub open_for: Duration,
    /// How long a probe may take before another worker may probe instead (the first one died).
    pub probe_timeout: Duration,
}

impl Default for BreakerSettings {
    fn default() -> Self {
        BreakerSettings {
            failure_threshold: 5,
            open_for: Duration::from_secs(60),
            probe_timeout: Duration::from_secs(30),
        }
    }
}

/// The stored state of one destination's breaker.
#[derive(Debug, Clone, PartialEq)]
pub struct BreakerRow {
    pub destination: Destination,
    pub state: BreakerState,
    pub consecutive_failures: u32,
    pub open_until: Option<OffsetDateTime>,
    pub probe_until: Option<OffsetDateTime>,
    pub last_error: Option<String>,
    pub changed_at: OffsetDateTime,
    /// Bumped by every write; writers compare and swap on it.
    pub version: i64,
}

/// A change of state, logged and kept for operators.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Transition {
    pub destination: Destination,
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
    pub from: BreakerState,
    pub to: BreakerState,
    pub reason: String,
}

/// What the breaker lets a sender do now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Admission {
    /// Closed: send.
    Send,
    /// Half-open and this caller won the probe: send one message and report how it went.
    Probe,
    /// Open (or someone else is probing): do not send before `until`.
    Refuse { until: OffsetDateTime },
}

#[async_trait]
pub trait BreakerStore: Send + Sync + std::fmt::Debug {
    async fn load(&self, destination: Destination) -> Result<Option<BreakerRow>>;
    /// Store `row` (whose version is already bumped) if the stored version is still
    /// `expected` (None: no row yet), together with `transition` when there is one. False when
    /// another worker wrote first.
    async fn swap(&self, expected: Option<i64>, row: &BreakerRow, transition: Option<&Transition>) -> Result<bool>;
    /// The most recent transitions, oldest first (at most `limit`).
    async fn transitions(&self, destination: Destination, limit: usize) -> Result<Vec<Transition>>;
}

fn fresh(destination: Destination, now: OffsetDateTime) -> BreakerRow {
    BreakerRow {
        destination,
        state: BreakerState::Closed,
        consecutive_failures: 0,
        open_until: None,
        probe_until: None,
        last_error: None,
        changed_at: now,
        version: 0,
    }
}

fn after(now: OffsetDateTime, d: Duration) -> OffsetDateTime {
    now + time::Duration::try_from(d).unwrap_or(time::Duration::MAX)
}

impl BreakerRow {
    fn next(&self, now: OffsetDateTime) -> BreakerRow {
        BreakerRow { changed_at: now, version: self.version + 1, ..self.clone() }
    }

    fn transition(&self, to: BreakerState, now: OffsetDateTime, reason: String) -> Transition {
        Transition { destination: self.destination, at: now, from: self.state, to, reason }
    }

    /// The admission at `now`, and the row (and transition) to write for it, if any.
    fn admit(&self, now: OffsetDateTime, s: &BreakerSettings) -> (Admission, Option<(BreakerRow, Option<Transition>)>) {
        match self.state {
            BreakerState::Closed => (Admission::Send, None),
            BreakerState::Open => match self.open_until {
                Some(until) if now < until => (Admission::Refuse { until }, None),
                _ => {
                    let mut row = self.next(now);
                    row.state = BreakerState::HalfOpen;
                    row.probe_until = Some(after(now, s.probe_timeout));
                    let t = self.transition(BreakerState::HalfOpen, now, "open period over: one probe may go".into());
                    (Admission::Probe, Some((row, Some(t))))
                }
            },
            BreakerState::HalfOpen => match self.probe_until {
                Some(until) if now < until => (Admission::Refuse { until }, None),
                // The probing worker never reported (it died or timed out): probe again.
                _ => {
                    let mut row = self.next(now);
                    row.probe_until = Some(after(now, s.probe_timeout));
                    (Admission::Probe, Some((row, None)))
                }
            },
        }
    }

    /// The row (and transition) to write after a send, if anything changes.
    fn record(
        &self,
        failure: Option<&str>,
        now: OffsetDateTime,
        s: &BreakerSettings,
    ) -> Option<(BreakerRow, Option<Transition>)> {
        match failure {
            None if self.state == BreakerState::Closed && self.consecutive_failures == 0 => None,
            None => {
                let mut row = self.next(now);
                row.state = BreakerState::Closed;
                row.consecutive_failures = 0;
                row.open_until = None;
                row.probe_until = None;
                let t = (self.state != BreakerState::Closed)
                    .then(|| self.transition(BreakerState::Closed, now, "a delivery succeeded".into()));
                Some((row, t))
            }
            // Sends admitted before it opened keep failing: it is open already, nothing to add.
            Some(_) if self.state == BreakerState::Open => None,
            Some(error) => {
                let mut row = self.next(now);
                row.consecutive_failures = self.consecutive_failures.saturating_add(1);
                row.last_error = Some(error.chars().take(500).collect());
                let opens = self.state == BreakerState::HalfOpen || row.consecutive_failures >= s.failure_threshold;
                let mut t = None;
                if opens {
                    row.state = BreakerState::Open;
                    row.open_until = Some(after(now, s.open_for));
                    row.probe_until = None;
                    let why = if self.state == BreakerState::HalfOpen {
                        format!("the probe failed: {error}")
                    } else {
                        format!("{} consecutive failures, the last: {error}", row.consecutive_failures)
                    };
                    t = Some(self.transition(BreakerState::Open, now, why));
                }
                Some((row, t))
            }
        }
    }
}

/// The breakers of every destination, over a shared store.
#[derive(Debug, Clone)]
pub struct Breaker {
    store: Arc<dyn BreakerStore>,
    settings: BreakerSettings,
    clock: Arc<dyn Clock>,
}

/// Compare-and-swap rounds before giving up; each lost round means another worker made progress,
/// and a short random pause spreads the next attempts of many concurrent workers.
const SWAP_ROUNDS: usize = 32;

async fn pause_after_lost_swap(round: usize) {
    let ceiling_ms = 2 * (round as u64 + 1).min(10);
    tokio::time::sleep(Duration::from_micros(rand::random_range(0..=ceiling_ms * 1000))).await;
}

impl Breaker {
    pub fn new(store: Arc<dyn BreakerStore>, settings: BreakerSettings, clock: Arc<dyn Clock>) -> Self {
        Breaker { store, settings, clock }
    }

    pub fn settings(&self) -> &BreakerSettings {
        &self.settings
    }

    pub fn store(&self) -> &Arc<dyn BreakerStore> {
        &self.store
    }

    /// May this worker send to `destination` now?
    pub async fn admit(&self, destination: Destination) -> Result<Admission> {
        for round in 0..SWAP_ROUNDS {
            let now = self.clock.now();
            let stored = self.store.load(destination).await?;
            let current = stored.clone().unwrap_or_else(|| fresh(destination, now));
            let (admission, write) = current.admit(now, &self.settings);
            let Some((row, transition)) = write else { return Ok(admission) };
            if self.store.swap(stored.map(|r| r.version), &row, transition.as_ref()).await? {
                log_transition(transition.as_ref());
                return Ok(admission);
            }
            pause_after_lost_swap(round).await;
        }
        Err(contended(destination))
    }

    /// Report how a send went. `failure` is the error text of a failure that says the
    /// destination is unwell; a message the destination rejected on its merits is a success
    /// for the breaker (the destination answered).
    pub async fn record(&self, destination: Destination, failure: Option<&str>) -> Result<Option<Transition>> {
        for round in 0..SWAP_ROUNDS {
            let now = self.clock.now();
            let stored = self.store.load(destination).await?;
            let current = stored.clone().unwrap_or_else(|| fresh(destination, now));
            let Some((row, transition)) = current.record(failure, now, &self.settings) else { return Ok(None) };
            if self.store.swap(stored.map(|r| r.version), &row, transition.as_ref()).await? {
                log_transition(transition.as_ref());
                return Ok(transition);
            }
            pause_after_lost_swap(round).await;
        }
        Err(contended(destination))
    }

    /// The current state (closed when never written).
    pub async fn state(&self, destination: Destination) -> Result<BreakerRow> {
        Ok(self.store.load(destination).await?.unwrap_or_else(|| fresh(destination, self.clock.now())))
    }
}

fn log_transition(transition: Option<&Transition>) {
    if let Some(t) = transition {
        tracing::warn!(destination = %t.destination, from = t.from.as_str(), to = t.to.as_str(), reason = %t.reason, "circuit breaker changed state");
    }
}

fn contended(destination: Destination) -> NotifyError {
    NotifyError::Store {
        class: secops_core::ErrorClass::Conflict,
        message: format!("the {destination} breaker kept changing under {SWAP_ROUNDS} compare-and-swap rounds"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    const T0: OffsetDateTime = datetime!(2026-11-21 12:00 UTC);

    fn apply(row: &BreakerRow, w: Option<(BreakerRow, Option<Transition>)>) -> BreakerRow {
        w.map(|(r, _)| r).unwrap_or_else(|| row.clone())
    }

    #[test]
    fn five_failures_open_it_then_one_probe_closes_it() {
        let s = BreakerSettings::default();
        let mut row = fresh(Destination::Tickets, T0);
        for i in 1..=4 {
            row = apply(&row, row.record(Some("500"), T0, &s));
            assert_eq!((row.state, row.consecutive_failures), (BreakerState::Closed, i));
        }
        let (r, t) = row.record(Some("500"), T0, &s).unwrap();
        assert_eq!(r.state, BreakerState::Open);
        assert_eq!(t.unwrap().reason, "5 consecutive failures, the last: 500");
        row = r;
        assert_eq!(
            row.admit(T0 + time::Duration::seconds(59), &s).0,
            Admission::Refuse { until: T0 + time::Duration::seconds(60) }
        );
        let (admission, w) = row.admit(T0 + time::Duration::seconds(60), &s);
        assert_eq!(admission, Admission::Probe);
        row = apply(&row, w);
        assert_eq!(row.state, BreakerState::HalfOpen);
        // A second worker is refused while the probe is out.
        assert!(matches!(row.admit(T0 + time::Duration::seconds(61), &s).0, Admission::Refuse { .. }));
        let (r, t) = row.record(None, T0 + time::Duration::seconds(62), &s).unwrap();
        assert_eq!((r.state, r.consecutive_failures), (BreakerState::Closed, 0));
        assert_eq!(t.unwrap().from, BreakerState::HalfOpen);
    }

    #[test]
    fn a_failed_probe_opens_it_again_and_a_lost_probe_is_retaken() {
        let s = BreakerSettings::default();
        let mut row = fresh(Destination::Chat, T0);
        row.state = BreakerState::HalfOpen;
        row.probe_until = Some(T0 + time::Duration::seconds(30));
        let (r, t) = row.record(Some("timeout"), T0, &s).unwrap();
        assert_eq!(r.state, BreakerState::Open);
        assert!(t.unwrap().reason.starts_with("the probe failed"));
        assert_eq!(row.admit(T0 + time::Duration::seconds(31), &s).0, Admission::Probe);
    }

    #[test]
    fn a_success_while_closed_writes_nothing() {
        let row = fresh(Destination::Tickets, T0);
        assert!(row.record(None, T0, &BreakerSettings::default()).is_none());
    }
}
