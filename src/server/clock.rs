//! The fake server's virtual clock: milliseconds since the Unix epoch that start at
//! [`START_MS`] and move only when a scenario calls `Control::advance`.
//!
//! Owns nothing but the current reading. Every timestamp the server puts on the wire or in the
//! recorder comes from here (quinn style: time is an argument, never read from the host), so
//! recall windows and timestamps are deterministic. Transport keepalives (SockJS `h`) are the
//! only thing that use real time, and they are not in the log.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

/// Where every server's virtual clock starts: 2023-11-14T22:13:20Z.
pub const START_MS: u64 = 1_700_000_000_000;

/// A shared virtual clock; clones read and move the same time.
#[derive(Debug, Clone)]
pub struct Clock {
    ms: Arc<AtomicU64>,
}

impl Default for Clock {
    fn default() -> Self {
        Clock {
            ms: Arc::new(AtomicU64::new(START_MS)),
        }
    }
}

impl Clock {
    /// The current virtual time in ms.
    pub fn now_ms(&self) -> u64 {
        self.ms.load(Ordering::SeqCst)
    }

    /// Moves the clock forward by `ms` (saturating; it never goes back).
    pub fn advance(&self, ms: u64) {
        // `fetch_update` with a closure that never fails cannot return `Err`.
        let _ = self
            .ms
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |now| {
                Some(now.saturating_add(ms))
            });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn starts_fixed_and_moves_only_by_advance() {
        let clock = Clock::default();
        let other = clock.clone();
        assert_eq!(clock.now_ms(), START_MS);
        other.advance(120_000);
        assert_eq!(clock.now_ms(), START_MS + 120_000);
        clock.advance(u64::MAX);
        assert_eq!(clock.now_ms(), u64::MAX);
    }
}
