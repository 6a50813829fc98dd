//! Fault hooks a scenario arms on the fake server: "answer the next matching uplink frame with
//! this status", "drop it", "hold its answer until the virtual clock moves", "close the socket
//! instead".
//!
//! Owns the armed list and the matching rule only. What an action does to a frame is decided in
//! `session.rs` (answers) and `socket.rs` (closing); this module never touches sockets.

/// A one-shot fault: the next uplink frame from `user` (any user when `None`) that matches `on`
/// gets `action` instead of its normal handling.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fault {
    /// Whose frame; `None` matches any user.
    pub user: Option<String>,
    /// Which frame.
    pub on: FaultTrigger,
    /// What happens to it.
    pub action: FaultAction,
}

/// The uplink frames a fault can fire on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FaultTrigger {
    /// A PROVISION (login) frame.
    Provision,
    /// An UNREAD frame (also the 3.x SDK's heartbeat).
    Unread,
    /// An uplink `CommSyncUL` meta with ns CHAT (any `MessageBody`: message, ack, recall).
    Message,
    /// A message-roaming REST request (`fetchHistoryMessages`): `Status` answers with that HTTP
    /// status (500 when `code` is not an error status), `drop` and `close` with 503.
    History,
    /// A REST attachment upload (`POST /{org}/{app}/chatfiles`).
    Upload,
    /// A REST attachment download (`GET /{org}/{app}/chatfiles/{uuid}`).
    Download,
}

/// What a fired fault does to the frame.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FaultAction {
    /// Answer with this `Status` (PROVISION: `Provision{status}`; a CHAT meta:
    /// `CommSyncDL{status, metaId, serverId}` and the message is not routed; UNREAD:
    /// `CommUnreadDL{status}`).
    Status {
        /// `Status.errorCode` (open: any number goes on the wire).
        code: i32,
        /// `Status.reason`.
        reason: Option<String>,
    },
    /// No answer at all; the frame is otherwise ignored.
    Drop,
    /// Handle the frame as usual but hold the answer to its sender until the virtual clock
    /// has moved `ms` past the moment the fault fired (`advance` steps release it): a late
    /// server ack, without any wall-clock wait. Only for `on = message`.
    Delay {
        /// Virtual milliseconds the answer is held.
        ms: u64,
    },
    /// For the REST triggers (`Upload`, `Download`): answer with this HTTP status and JSON body
    /// instead of handling the request.
    Http {
        /// The HTTP status code.
        status: u16,
        /// The JSON body.
        body: serde_json::Value,
    },
    /// For `Download`: answer 200 with the file's full `Content-Length`, send the first half of
    /// its bytes, then cut the connection (a body that ends early).
    Truncate,
    /// Close the socket as `Control::close` does.
    Close {
        /// SockJS / WebSocket close code.
        code: u16,
        /// Close reason.
        reason: String,
    },
}

/// The faults armed and not yet fired, in arming order.
#[derive(Debug, Default)]
pub(crate) struct Armed {
    faults: Vec<Fault>,
}

impl Armed {
    /// Arms a fault; it fires once.
    pub(crate) fn arm(&mut self, fault: Fault) {
        self.faults.push(fault);
    }

    /// Fires (removes and returns the action of) the first armed fault matching a frame of kind
    /// `on` from `user`.
    pub(crate) fn fire(&mut self, on: FaultTrigger, user: Option<&str>) -> Option<FaultAction> {
        let at = self.faults.iter().position(|fault| {
            fault.on == on && (fault.user.is_none() || fault.user.as_deref() == user)
        })?;
        Some(self.faults.remove(at).action)
    }

    /// How many faults are still armed.
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.faults.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fault(user: Option<&str>, on: FaultTrigger) -> Fault {
        Fault {
            user: user.map(str::to_string),
            on,
            action: FaultAction::Drop,
        }
    }

    #[test]
    fn fires_once_on_the_first_match_only() {
        let mut armed = Armed::default();
        armed.arm(fault(Some("bob"), FaultTrigger::Message));
        armed.arm(fault(None, FaultTrigger::Unread));
        assert_eq!(armed.fire(FaultTrigger::Message, Some("alice")), None);
        assert_eq!(armed.fire(FaultTrigger::Provision, Some("bob")), None);
        assert_eq!(
            armed.fire(FaultTrigger::Message, Some("bob")),
            Some(FaultAction::Drop)
        );
        assert_eq!(armed.fire(FaultTrigger::Message, Some("bob")), None);
        assert_eq!(
            armed.fire(FaultTrigger::Unread, None),
            Some(FaultAction::Drop)
        );
        assert_eq!(armed.len(), 0);
    }
}
