//! Recall on the fake server: which messages may be recalled, by whom and until when.
//!
//! Owns the ledger of every routed message's sender and server timestamp, by server id, and the
//! decision on a `RECALL` body (wire notes section 6: `ackMessageId` is the server id). The
//! window is measured on the server's virtual clock (callers pass `now`), so a two-minute window
//! is tested without waiting. It stores nothing else and sends nothing: routing the accepted
//! recall to the peer and the ack are `session.rs`'s.

use super::WorldSpec;
use crate::wire::pb::{Status, status::ErrorCode};
use std::collections::BTreeMap;

/// The reasons of a refused recall. The first two are matched exactly by the 3.x SDK (wire
/// notes section 7); the SDK maps any other `FAIL` reason to 503.
pub(crate) mod reason {
    /// `FAIL` → SDK type 504: the message is older than the recall window.
    pub const TIME_LIMIT: &str = "exceed recall time limit";
    /// `FAIL` → SDK type 505: the app does not allow recall.
    pub const DISABLED: &str = "message recall disabled";
    /// `FAIL` → SDK type 503. What the real server answers for an id it does not know is not
    /// documented; a plausible refusal is chosen (the REST recall API of the same server
    /// answers "message not found" in that case), which every 3.x client sees as 503.
    pub const NOT_FOUND: &str = "message not found";
    /// `FAIL` → SDK type 503. Recalling someone else's message: the real server allows only the
    /// sender (group admins recall through REST), and its refusal is not in the SDK's table, so
    /// a plausible reason is chosen here; a client sees 503.
    pub const NOT_SENDER: &str = "not the sender of the message";
}

/// Who sent a routed message, and when (virtual ms).
#[derive(Debug, Clone, PartialEq, Eq)]
struct Sent {
    sender: String,
    at: u64,
}

/// Every message the server routed, by server id.
#[derive(Debug, Default)]
pub(crate) struct Ledger {
    sent: BTreeMap<u64, Sent>,
}

impl Ledger {
    /// Remembers that `sender` sent message `server_id` at virtual time `at`.
    pub(crate) fn remember(&mut self, server_id: u64, sender: &str, at: u64) {
        self.sent.insert(
            server_id,
            Sent {
                sender: sender.to_string(),
                at,
            },
        );
    }

    /// Decides `recaller`'s recall of message `mid` at virtual time `now`: `Ok` when allowed,
    /// else the status the server refuses it with. A message may be recalled while
    /// `now - sent_at <= window` (at exactly the window's end it still may).
    pub(crate) fn check(
        &self,
        spec: &WorldSpec,
        recaller: &str,
        mid: u64,
        now: u64,
    ) -> Result<(), Status> {
        if !spec.recall_enabled {
            return Err(fail(reason::DISABLED));
        }
        let Some(sent) = self.sent.get(&mid) else {
            return Err(fail(reason::NOT_FOUND));
        };
        if sent.sender != recaller {
            return Err(fail(reason::NOT_SENDER));
        }
        if now.saturating_sub(sent.at) > spec.recall_window_ms {
            return Err(fail(reason::TIME_LIMIT));
        }
        Ok(())
    }

    /// Forgets a recalled message, so a second recall of it is refused as unknown.
    pub(crate) fn forget(&mut self, mid: u64) {
        self.sent.remove(&mid);
    }
}

fn fail(reason: &str) -> Status {
    Status {
        error_code: Some(ErrorCode::Fail as i32),
        reason: Some(reason.to_string()),
        redirect_info: Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reason_of(r: Result<(), Status>) -> String {
        r.expect_err("refused").reason.unwrap_or_default()
    }

    #[test]
    fn window_sender_and_switch() {
        let mut spec = WorldSpec::default();
        let mut ledger = Ledger::default();
        ledger.remember(7, "alice", 1_000);
        let window = spec.recall_window_ms;
        assert_eq!(ledger.check(&spec, "alice", 7, 1_000 + window), Ok(()));
        assert_eq!(
            reason_of(ledger.check(&spec, "alice", 7, 1_001 + window)),
            reason::TIME_LIMIT
        );
        assert_eq!(
            reason_of(ledger.check(&spec, "bob", 7, 1_000)),
            reason::NOT_SENDER
        );
        assert_eq!(
            reason_of(ledger.check(&spec, "alice", 8, 1_000)),
            reason::NOT_FOUND
        );
        spec.recall_enabled = false;
        assert_eq!(
            reason_of(ledger.check(&spec, "alice", 7, 1_000)),
            reason::DISABLED
        );
        ledger.forget(7);
        spec.recall_enabled = true;
        assert_eq!(
            reason_of(ledger.check(&spec, "alice", 7, 1_000)),
            reason::NOT_FOUND
        );
    }
}
