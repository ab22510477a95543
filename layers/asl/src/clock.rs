//! Time for the executor. Production runs on the real clock; tests and `--virtual-clock` run on a
//! virtual one, where a Wait of a day or a retry backoff of minutes takes no real time and every
//! requested delay is recorded so a test can assert it.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use time::OffsetDateTime;

use crate::tasks::BoxFuture;

pub trait Clock: Send + Sync + std::fmt::Debug + 'static {
    fn now(&self) -> OffsetDateTime;
    fn sleep(&self, duration: Duration) -> BoxFuture<'static, ()>;
    /// On a virtual clock, timeouts are judged by virtual time once the work finishes (a
    /// handler's real duration means nothing there); on the real clock they race the work.
    fn is_virtual(&self) -> bool;
}

#[derive(Debug, Default, Clone, Copy)]
pub struct RealClock;

impl Clock for RealClock {
    fn now(&self) -> OffsetDateTime {
        OffsetDateTime::now_utc()
    }

    fn sleep(&self, duration: Duration) -> BoxFuture<'static, ()> {
        Box::pin(tokio::time::sleep(duration))
    }

    fn is_virtual(&self) -> bool {
        false
    }
}

/// Starts at a fixed instant; `sleep` moves it forward at once and records the delay.
#[derive(Debug, Clone)]
pub struct VirtualClock {
    state: Arc<Mutex<VirtualState>>,
}

#[derive(Debug)]
struct VirtualState {
    now: OffsetDateTime,
    sleeps: Vec<Duration>,
}

impl VirtualClock {
    pub fn starting_at(now: OffsetDateTime) -> Self {
        Self { state: Arc::new(Mutex::new(VirtualState { now, sleeps: Vec::new() })) }
    }

    /// Starts at the current real time, so timestamps in outputs look plausible.
    pub fn starting_now() -> Self {
        Self::starting_at(OffsetDateTime::now_utc())
    }

    /// Every delay requested so far, in order.
    pub fn sleeps(&self) -> Vec<Duration> {
        self.lock().sleeps.clone()
    }

    pub fn advance(&self, by: Duration) {
        self.lock().now += by;
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, VirtualState> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl Default for VirtualClock {
    fn default() -> Self {
        Self::starting_now()
    }
}

impl Clock for VirtualClock {
    fn now(&self) -> OffsetDateTime {
        self.lock().now
    }

    fn sleep(&self, duration: Duration) -> BoxFuture<'static, ()> {
        {
            let mut state = self.lock();
            state.now += duration;
            state.sleeps.push(duration);
        }
        // Still yield, so concurrent branches interleave the way they would with real waits.
        Box::pin(tokio::task::yield_now())
    }

    fn is_virtual(&self) -> bool {
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn virtual_sleep_moves_time_without_waiting() {
        let start = time::macros::datetime!(2026-01-01 00:00 UTC);
        let clock = VirtualClock::starting_at(start);
        let real = std::time::Instant::now();
        clock.sleep(Duration::from_secs(86_400)).await;
        assert!(real.elapsed() < Duration::from_secs(5));
        assert_eq!(clock.now(), start + Duration::from_secs(86_400));
        assert_eq!(clock.sleeps(), vec![Duration::from_secs(86_400)]);
    }
}
