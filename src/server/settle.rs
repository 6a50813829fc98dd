//! Settling a run by fixpoint: the runner's way to know that every client has done all it will
//! do on its own, without waiting on the clock.
//!
//! One round pushes a NOTICE for the always-empty [`BARRIER_QUEUE`] to every logged-in socket
//! and waits until each pulled it (and got the answer) or closed. A client pulls a queue only
//! after handling every frame the server sent before, and frames reach the server in the order
//! the client sent them, so once a round is answered everything each client did before it is
//! recorded. Frames a client sends on its own when it handles a frame (automatic delivery
//! receipts, acks, a reconnect) can make the server send more (a receipt routed to its sender):
//! so rounds repeat until one in which nothing but barrier frames moved, in either direction.
//! A round starts only once no attachment request is being answered (a multi-MB upload outlasts
//! many rounds; its exchange is recorded when it is answered, which moves the next round).
//! A client that has not pulled after [`RENOTIFY_AFTER`] gets the NOTICE again (then after twice
//! that, and so on): one that drops a NOTICE while busy handles the next.
//! This module owns that loop; it never looks at drivers or scenarios.

use super::observe::{ObservationKind, TransportWhat};
use super::{BARRIER_QUEUE, Control, session, socket};
use crate::wire::{Direction, jid};
use futures_util::future::join_all;
use serde_json::Value;
use std::collections::BTreeMap;
use tokio::time::Instant;

/// The most rounds a settle takes before it gives up: a client that answers every barrier but
/// keeps sending frames of its own (a reconnect loop, a heartbeat faster than a round) never
/// settles.
pub const MAX_ROUNDS: usize = 50;

/// How long a settle waits for a client's pull before it sends the barrier's NOTICE again (a
/// conforming client pulls within milliseconds; the wait doubles each time).
pub const RENOTIFY_AFTER: std::time::Duration = std::time::Duration::from_millis(250);

/// Why a run could not be settled.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SettleError {
    /// A logged-in client did not pull the barrier before the deadline.
    #[error(
        "{user}'s client never settled: it did not pull the `{BARRIER_QUEUE}` queue announced \
         by a NOTICE within {waited_ms} ms (a client that ignores NOTICEs, or waits on an \
         unacked pull, does not); {seen}"
    )]
    NoPull {
        /// The user whose socket did not answer.
        user: String,
        /// How long the settle waited in all.
        waited_ms: u128,
        /// What the server saw of that user during the last round: the frames either way, the
        /// last one of each, the socket events (so a rare failure says where it stopped).
        seen: String,
    },
    /// Frames kept moving round after round.
    #[error(
        "the run never settled: frames still moved after {rounds} barrier rounds (the last: {last})"
    )]
    Moving {
        /// How many rounds ran.
        rounds: usize,
        /// The last observation that was not a barrier frame.
        last: String,
    },
}

/// What a settle did, for tests and diagnostics.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Settled {
    /// Rounds taken (the last one moved nothing); 0 when no client was logged in.
    pub rounds: usize,
}

impl Control {
    /// Settles every logged-in client by fixpoint (see the module docs): returns once a
    /// barrier round moved nothing but barrier frames, or fails at `deadline` naming the client
    /// that did not pull, or after [`MAX_ROUNDS`] rounds that all moved something.
    pub async fn settle_all(&self, deadline: Instant) -> Result<Settled, SettleError> {
        let started = Instant::now();
        let recorder = &self.shared.recorder;
        let mut last = String::new();
        for round in 1..=MAX_ROUNDS {
            let users = self.shared.conns.online_users();
            if users.is_empty() && round == 1 {
                return Ok(Settled { rounds: 0 });
            }
            // an attachment request being answered (a multi-MB upload) is a client still busy
            let mut in_flight = self.shared.attachments_in_flight.subscribe();
            if tokio::time::timeout_at(deadline, in_flight.wait_for(|n| *n == 0))
                .await
                .is_err()
            {
                return Err(SettleError::Moving {
                    rounds: round,
                    last: "an attachment upload or download still in flight".into(),
                });
            }
            let mark = recorder.len();
            let round_started = Instant::now();
            let notice = session::notice(jid::user(self.shared.world().app_key(), BARRIER_QUEUE));
            let sockets: Vec<(String, usize)> = join_all(users.iter().map(|user| {
                let notice = &notice;
                async move {
                    (
                        user.clone(),
                        socket::notify(&self.shared, user, notice).await,
                    )
                }
            }))
            .await;
            let expected: BTreeMap<String, usize> = sockets.into_iter().collect();
            self.wait_pulls_renotifying(mark, &expected, &notice, deadline)
                .await
                .map_err(|user| SettleError::NoPull {
                    seen: recorder.read_since(mark, |seen| seen_of(seen, &user, round_started)),
                    user,
                    waited_ms: started.elapsed().as_millis(),
                })?;
            let took = round_started.elapsed().as_micros() as u64;
            self.shared
                .slowest_round_us
                .fetch_max(took, std::sync::atomic::Ordering::Relaxed);
            let moved = recorder.read_since(mark, |seen| {
                seen.iter()
                    .rev()
                    .find(|o| !is_barrier_observation(&o.kind))
                    .map(|o| describe(&o.kind))
            });
            match moved {
                None => return Ok(Settled { rounds: round }),
                Some(what) => last = what,
            }
        }
        Err(SettleError::Moving {
            rounds: MAX_ROUNDS,
            last,
        })
    }

    /// The slowest settle round of this server so far: a barrier's round trip through the
    /// slowest client, which grows with the machine's load.
    pub fn slowest_round(&self) -> std::time::Duration {
        std::time::Duration::from_micros(
            self.shared
                .slowest_round_us
                .load(std::sync::atomic::Ordering::Relaxed),
        )
    }

    /// Whether anything but barrier frames was recorded from position `mark` of the recorder
    /// on: a frame either way, an HTTP exchange, a socket event.
    pub fn moved_since(&self, mark: usize) -> bool {
        self.shared.recorder.read_since(mark, |seen| {
            seen.iter().any(|o| !is_barrier_observation(&o.kind))
        })
    }

    /// Whether the server closed a socket (or saw one fail) from position `mark` of the
    /// recorder on: the client learns it from its socket alone, never through a barrier.
    pub fn closed_by_server_since(&self, mark: usize) -> bool {
        self.shared.recorder.read_since(mark, |seen| {
            seen.iter().any(|o| {
                matches!(&o.kind, ObservationKind::Transport(t)
                    if matches!(t.what, TransportWhat::ClosedByServer { .. }))
            })
        })
    }

    /// [`Control::wait_pulls`], sending the NOTICE again to a user who has not pulled after
    /// [`RENOTIFY_AFTER`], then after twice that, and so on until `deadline`. A client may drop a
    /// NOTICE that comes while it is busy with its own sync (measured: agora-chat 1.4.0, just
    /// reconnected, sent nothing for 5 s after one, once in 20 runs of `connection/reconnect` at
    /// load 40): the next one is handled, as the next message's NOTICE would be on a real
    /// server. A client that ignores every NOTICE still never settles.
    async fn wait_pulls_renotifying(
        &self,
        from: usize,
        expected: &BTreeMap<String, usize>,
        notice: &crate::wire::pb::MSync,
        deadline: Instant,
    ) -> Result<(), String> {
        let mut wait = RENOTIFY_AFTER;
        loop {
            let until = (Instant::now() + wait).min(deadline);
            match self.wait_pulls(from, expected, until).await {
                Err(_) if until < deadline => {
                    for user in self.short_of_pulls(from, expected) {
                        socket::notify(&self.shared, &user, notice).await;
                    }
                    wait *= 2;
                }
                done => return done,
            }
        }
    }

    /// Waits until each user in `expected` has as many barrier answers or closes recorded since
    /// `from` as it had sockets notified; returns the first user that falls short at `deadline`.
    async fn wait_pulls(
        &self,
        from: usize,
        expected: &BTreeMap<String, usize>,
        deadline: Instant,
    ) -> Result<(), String> {
        let recorder = &self.shared.recorder;
        loop {
            let seen = recorder.len();
            let Some(user) = self.short_of_pulls(from, expected).into_iter().next() else {
                return Ok(());
            };
            if tokio::time::timeout_at(deadline, recorder.wait_beyond(seen))
                .await
                .is_err()
            {
                return Err(user);
            }
        }
    }

    /// The users in `expected` with fewer barrier answers or closes recorded since `from` than
    /// they had sockets notified.
    fn short_of_pulls(&self, from: usize, expected: &BTreeMap<String, usize>) -> Vec<String> {
        self.shared.recorder.read_since(from, |observed| {
            expected
                .iter()
                .filter(|&(user, &sockets)| {
                    observed.iter().filter(|o| settles(&o.kind, user)).count() < sockets
                })
                .map(|(user, _)| user.clone())
                .collect()
        })
    }
}

/// Whether a frame belongs to the barrier: its NOTICE, the client's pull, the answer.
pub fn is_barrier_frame(view: &Value) -> bool {
    [
        "/payload/CommNotice/queue/name",
        "/payload/CommSyncUL/queue/name",
        "/payload/CommSyncDL/queue/name",
    ]
    .iter()
    .any(|p| view.pointer(p).and_then(Value::as_str) == Some(BARRIER_QUEUE))
}

fn is_barrier_observation(kind: &ObservationKind) -> bool {
    matches!(kind, ObservationKind::Frame(f) if is_barrier_frame(&f.view))
}

/// Whether an observation settles one of `user`'s sockets: the answer to its pull of the
/// barrier queue, or its close (a `disconnect` the server had not noticed yet when the barrier
/// went out).
pub(super) fn settles(kind: &ObservationKind, user: &str) -> bool {
    match kind {
        ObservationKind::Frame(f) => {
            f.direction == Direction::ServerToClient
                && f.user.as_deref() == Some(user)
                && f.view
                    .pointer("/payload/CommSyncDL/queue/name")
                    .and_then(Value::as_str)
                    == Some(BARRIER_QUEUE)
        }
        ObservationKind::Transport(t) => {
            t.user.as_deref() == Some(user)
                && matches!(
                    t.what,
                    TransportWhat::ClosedByClient | TransportWhat::ClosedByServer { .. }
                )
        }
        ObservationKind::Http(_) => false,
    }
}

/// What `user`'s sockets did in a round that began at `round_started`, from its observations:
/// how many frames went each way, the last of each (barrier frames named as such), socket
/// events. The detail of a [`SettleError::NoPull`].
fn seen_of(
    observations: &[super::observe::Observation],
    user: &str,
    round_started: Instant,
) -> String {
    let mut parts = Vec::new();
    for direction in [Direction::ServerToClient, Direction::ClientToServer] {
        let frames: Vec<_> = observations
            .iter()
            .filter_map(|o| match &o.kind {
                ObservationKind::Frame(f)
                    if f.direction == direction && f.user.as_deref() == Some(user) =>
                {
                    Some(f)
                }
                _ => None,
            })
            .collect();
        let last = frames.last().map_or(String::new(), |f| {
            let kind = if is_barrier_frame(&f.view) {
                "a barrier frame"
            } else {
                "another frame"
            };
            format!(
                " (the last: {kind}, {})",
                f.view
                    .get("command")
                    .and_then(Value::as_str)
                    .unwrap_or("SYNC")
            )
        });
        parts.push(format!(
            "{} {} frame(s){last}",
            frames.len(),
            direction.as_str()
        ));
    }
    let events: Vec<String> = observations
        .iter()
        .filter_map(|o| match &o.kind {
            ObservationKind::Transport(t) if t.user.as_deref() == Some(user) => {
                Some(format!("{:?}", t.what))
            }
            _ => None,
        })
        .collect();
    if !events.is_empty() {
        parts.push(format!("socket events {}", events.join(", ")));
    }
    format!(
        "in its last round ({} ms) the server saw {}",
        round_started.elapsed().as_millis(),
        parts.join(", ")
    )
}

/// One line naming an observation, for the error of a run that never settles.
fn describe(kind: &ObservationKind) -> String {
    match kind {
        ObservationKind::Http(h) => format!("HTTP {} {}", h.method, h.path),
        ObservationKind::Frame(f) => format!(
            "{} {} frame of {}",
            f.direction.as_str(),
            f.view
                .get("command")
                .and_then(Value::as_str)
                .unwrap_or("SYNC"),
            f.user.as_deref().unwrap_or("an unnamed socket")
        ),
        ObservationKind::Transport(t) => format!(
            "socket event {:?} of {}",
            t.what,
            t.user.as_deref().unwrap_or("an unnamed socket")
        ),
    }
}
