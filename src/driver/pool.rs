//! Idle drivers kept for reuse: a driver that announced the `reset` capability and was reset
//! after a scenario waits here for the next scenario of the same client (the same command line
//! and environment), so Node does not start and the SDK bundle does not load again for every
//! scenario. It holds at most `capacity` idle drivers, shutting the one idle longest down to
//! make room.
//!
//! The pool knows nothing of scenarios: the runner decides when a driver is fit to return.
//! Dropping the pool kills every idle driver's process group (`Driver`'s `Drop`).

use super::{Driver, Hello};
use std::sync::Mutex;
use std::time::Duration;
use tokio::time::Instant;

/// How long an idle driver has to answer `shutdown` when the pool closes.
const CLOSE_TIMEOUT: Duration = Duration::from_secs(2);

/// Which client a driver runs: its command line and extra environment.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ClientKey {
    /// The command line.
    pub command: String,
    /// The extra environment (fault switches).
    pub env: Vec<(String, String)>,
}

/// A driver and what it said in `hello`.
pub struct Pooled {
    /// The driver.
    pub driver: Driver,
    /// Its `hello`.
    pub hello: Hello,
}

/// Idle, reset drivers by client.
pub struct DriverPool {
    capacity: usize,
    idle: Mutex<Vec<(ClientKey, Pooled)>>,
}

impl DriverPool {
    /// A pool keeping at most `capacity` idle drivers (0: no reuse at all).
    pub fn new(capacity: usize) -> Self {
        DriverPool {
            capacity,
            idle: Mutex::new(Vec::new()),
        }
    }

    /// Whether this pool keeps drivers at all.
    pub fn reuses(&self) -> bool {
        self.capacity > 0
    }

    /// An idle driver of `key`'s client, ready for a new scenario, if there is one.
    pub fn take(&self, key: &ClientKey) -> Option<Pooled> {
        let mut idle = self.idle.lock().unwrap_or_else(|p| p.into_inner());
        loop {
            let at = idle.iter().rposition(|(k, _)| k == key)?;
            let (_, mut pooled) = idle.remove(at);
            if pooled.driver.begin_scenario() {
                return Some(pooled);
            }
            // Broken while idle: `Driver`'s drop kills it.
        }
    }

    /// Keeps a reset driver for the next scenario of `key`'s client; when the pool is full the
    /// driver idle the longest is shut down to make room (runs that change client, as the
    /// selftest's fault switches do, then keep the drivers of the client in use).
    pub async fn give(&self, key: ClientKey, pooled: Pooled) {
        let evicted = {
            let mut idle = self.idle.lock().unwrap_or_else(|p| p.into_inner());
            if self.capacity == 0 || pooled.driver.is_broken() {
                Some(pooled)
            } else {
                let oldest = (idle.len() >= self.capacity).then(|| idle.remove(0).1);
                idle.push((key, pooled));
                oldest
            }
        };
        if let Some(mut pooled) = evicted {
            let _ = pooled.driver.shutdown(Instant::now() + CLOSE_TIMEOUT).await;
        }
    }

    /// How many drivers are idle.
    pub fn idle(&self) -> usize {
        self.idle.lock().unwrap_or_else(|p| p.into_inner()).len()
    }

    /// Shuts every idle driver down (all at once, each bounded).
    pub async fn close(&self) {
        let all: Vec<(ClientKey, Pooled)> =
            std::mem::take(&mut *self.idle.lock().unwrap_or_else(|p| p.into_inner()));
        futures_util::future::join_all(all.into_iter().map(|(_, mut pooled)| async move {
            let _ = pooled.driver.shutdown(Instant::now() + CLOSE_TIMEOUT).await;
        }))
        .await;
    }
}
