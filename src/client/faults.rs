//! Fault switches of the reference client: each one breaks exactly one behaviour of the 3.6.3
//! Web SDK, so that every scenario can be shown to FAIL against a client that gets it wrong.
//!
//! The binary takes them from `IMSPEC_FAULTS` or `--fault` (comma-separated names). This module
//! only names and parses them, and notes which were asked about; the code that honours a switch
//! asks [`Faults::has`], at the point where the behaviour it breaks happens.

use std::collections::BTreeSet;
use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

/// One fault switch.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Fault {
    /// Never emits `onOpened` nor replies to `connect`.
    NoOpened,
    /// A failed token request is reported with type 3 instead of 1.
    WrongLoginError,
    /// A non-OK PROVISION status is treated as success.
    IgnoreProvisionStatus,
    /// No `onReceivedMessage` after a server ack.
    NoServerReceipt,
    /// Integral `ext` / `customExts` values are sent as DOUBLE instead of INT.
    WrongExtType,
    /// Received `ext` is left out of message events.
    DropExt,
    /// Never sends the key ack (`CommSyncUL{queue, key}`) after a DL with metas.
    NoKeyAck,
    /// Does not pull the queues listed in the UNREAD reply.
    SkipUnreadPull,
    /// `disconnect` never emits `onClosed` and never replies.
    NoClosed,
    /// `onTextMessage.data` gets a suffix.
    WrongText,
    /// A read receipt is sent as a DELIVER_ACK.
    ReadAsDelivery,
    /// No heartbeat UNREAD.
    NoHeartbeat,
    /// Duplicate metas (ids already seen) are dispatched again.
    NoDedupe,
    /// A send failure is always reported as 604, whatever the status says.
    WrongSendError,
    /// A server close while logged in raises no `onError` type 16.
    NoDisconnectError,
    /// Every send refusal gets the next code of the SDK's table (501→502, …, 506→602, …,
    /// 605→501): each refusal is mapped to a wrong `e.type`.
    ShiftedErrorCodes,
    /// A `USER_MUTED` answer fails the send with 603 instead of calling `onMutedMessage`.
    MutedAsFail,
    /// A send failure's `data` has the local and the server id the wrong way round.
    SwappedFailIds,
    /// A 501 or 502 send failure's `data` lacks the server's `reason`.
    NoFailReason,
    /// `onRecallMessage` never fires.
    NoRecallEvent,
    /// `onReadMessage`, `onDeliveredMessage` and `onChannelMessage` never fire.
    NoReceiptEvents,
    /// A channel ack goes out as a READ_ACK.
    ChannelAsRead,
    /// With `delivery: true`, no delivery receipt is sent for a received message (as 3.6.3).
    NoAutoDelivery,
    /// Fetched history is handed out in the server's order (the SDK's reverse is skipped).
    HistoryNotReversed,
    /// A failed roaming request is never settled (as 3.6.3 does) instead of failing with 604.
    HistoryErrorHangs,
    /// `autoReconnectNumMax` is ignored: a dropped socket is never reopened.
    NoReconnect,
    /// STATISTIC kick metas (removed, other device, ...) raise no `onError`.
    IgnoreKick,
    /// A text with emoji keys fires `onTextMessage` (as 3.6.3 does) instead of `onEmojiMessage`.
    NoEmoji,
    /// An emoji segment's `data` is the map's file alone, without `WebIM.Emoji.path`.
    EmojiNoPath,
    /// A message sent without `ext` throws a TypeError (as `Object.keys(undefined)` would)
    /// instead of going out.
    ExtRequired,
    /// A message whose options name `roomType`, even `false`, goes out as a chat-room message.
    RoomTypeAsRoom,
    /// The uploaded attachment's last byte is flipped.
    CorruptUpload,
    /// Non-text contents go out with a neighbouring `Content.type` (IMAGE as FILE, VOICE as
    /// VIDEO, LOCATION as TEXT, COMMAND as CUSTOM, and back).
    WrongContentType,
    /// The field that makes a content what it is is left out: `action`, `customEvent` and
    /// `customExts`, `address`, an attachment's `remotePath`.
    DropContentField,
    /// Group and chat-room messages are addressed to `easemob.com` instead of
    /// `conference.easemob.com`.
    WrongChatDomain,
    /// Chat-room messages go out as GROUPCHAT.
    RoomAsGroup,
    /// `onFileUploadComplete` is not called after a successful upload.
    NoUploadComplete,
    /// Upload errors are reported with type 100 instead of the SDK's.
    WrongUploadError,
    /// `download` sends no `Authorization` header.
    NoDownloadToken,
    /// No `onFileUploadProgress` while an attachment uploads.
    NoUploadProgress,
    /// After a message whose payload does not decode, no received message reaches the app.
    StallOnBadPayload,
    /// A meta that throws ends the loop over its sync answer, as in 3.6.3: the metas behind it
    /// are never dispatched, yet the answer is acked.
    DropAfterBadMeta,
    /// A failed upload calls no `onFileUploadError` (the message is still not sent).
    SilentUploadError,
    /// Every download answer, a failed or a cut one too, goes to `onFileDownloadComplete` with
    /// what arrived (as 3.6.3 does for an error status), never to `onFileDownloadError`.
    DownloadErrorAsComplete,
    /// The `headers` a download is given are not sent (only the SDK's own).
    DropDownloadHeaders,
}

/// Every switch: its name and what it breaks (`imspec run --list-faults`).
pub const ALL: &[(&str, &str)] = &[
    ("no-opened", "never emits onOpened nor replies to connect"),
    (
        "wrong-login-error",
        "a failed token request is reported with type 3 instead of 1",
    ),
    (
        "ignore-provision-status",
        "a non-OK PROVISION status is treated as success",
    ),
    (
        "no-server-receipt",
        "no onReceivedMessage after a server ack",
    ),
    (
        "wrong-ext-type",
        "integral ext / customExts values are sent as DOUBLE instead of INT",
    ),
    ("drop-ext", "received ext is left out of message events"),
    (
        "no-key-ack",
        "never sends the key ack after a DL with metas",
    ),
    (
        "skip-unread-pull",
        "does not pull the queues listed in the UNREAD reply",
    ),
    (
        "no-closed",
        "disconnect never emits onClosed and never replies",
    ),
    ("wrong-text", "onTextMessage data gets a suffix"),
    ("read-as-delivery", "a read receipt goes out as DELIVER_ACK"),
    ("no-heartbeat", "never sends the heartbeat UNREAD"),
    (
        "no-dedupe",
        "metas whose id was already seen are dispatched again",
    ),
    (
        "wrong-send-error",
        "every send failure is reported as type 604",
    ),
    (
        "no-disconnect-error",
        "a server close while logged in raises no onError type 16",
    ),
    (
        "shifted-error-codes",
        "every send refusal gets the next code of the table (501→502, …, 605→501)",
    ),
    (
        "muted-as-fail",
        "USER_MUTED fails the send with 603 instead of onMutedMessage",
    ),
    (
        "swapped-fail-ids",
        "a send failure's data has id and mid the wrong way round",
    ),
    (
        "no-fail-reason",
        "a 501 / 502 send failure's data lacks the server's reason",
    ),
    ("no-recall-event", "onRecallMessage never fires"),
    (
        "no-receipt-events",
        "onReadMessage, onDeliveredMessage and onChannelMessage never fire",
    ),
    ("channel-ack-as-read", "a channel ack goes out as READ_ACK"),
    (
        "no-auto-delivery",
        "delivery: true sends no delivery receipt (as 3.6.3 does)",
    ),
    (
        "history-not-reversed",
        "fetched history is handed out in the server's order, not reversed",
    ),
    (
        "history-error-hangs",
        "a failed roaming request never settles (as 3.6.3) instead of failing with 604",
    ),
    ("no-reconnect", "autoReconnectNumMax is ignored"),
    ("ignore-kick", "STATISTIC kick metas raise no onError"),
    (
        "no-emoji",
        "a text with emoji keys fires onTextMessage instead of onEmojiMessage",
    ),
    (
        "emoji-no-path",
        "an emoji segment's data is the map's file without WebIM.Emoji.path",
    ),
    (
        "ext-required",
        "a message sent without ext throws a TypeError instead of going out",
    ),
    (
        "room-type-as-room",
        "a message given roomType, even false, goes out as a chat-room message",
    ),
    (
        "corrupt-upload",
        "the uploaded attachment's last byte is flipped",
    ),
    (
        "wrong-content-type",
        "non-text contents go out with a neighbouring Content.type",
    ),
    (
        "drop-content-field",
        "action, customEvent/customExts, address or remotePath is left out",
    ),
    (
        "wrong-chat-domain",
        "group and room messages go to easemob.com, not conference.easemob.com",
    ),
    ("room-as-group", "chat-room messages go out as GROUPCHAT"),
    (
        "no-upload-complete",
        "onFileUploadComplete is not called after an upload",
    ),
    (
        "wrong-upload-error",
        "upload errors are reported with type 100",
    ),
    (
        "no-download-token",
        "download sends no Authorization header",
    ),
    (
        "no-upload-progress",
        "onFileUploadProgress is not called while an attachment uploads",
    ),
    (
        "stall-on-bad-payload",
        "after a message whose payload does not decode, no received message reaches the app",
    ),
    (
        "drop-after-bad-meta",
        "a message that does not decode ends its sync answer: the messages behind it are acked but never reach the app",
    ),
    (
        "silent-upload-error",
        "a failed upload calls no onFileUploadError",
    ),
    (
        "download-error-as-complete",
        "a failed or cut download goes to onFileDownloadComplete, not onFileDownloadError",
    ),
    (
        "drop-download-headers",
        "the headers given to a download are not sent",
    ),
];

/// Every switch, in the order of [`ALL`].
const ORDER: [Fault; 45] = [
    Fault::NoOpened,
    Fault::WrongLoginError,
    Fault::IgnoreProvisionStatus,
    Fault::NoServerReceipt,
    Fault::WrongExtType,
    Fault::DropExt,
    Fault::NoKeyAck,
    Fault::SkipUnreadPull,
    Fault::NoClosed,
    Fault::WrongText,
    Fault::ReadAsDelivery,
    Fault::NoHeartbeat,
    Fault::NoDedupe,
    Fault::WrongSendError,
    Fault::NoDisconnectError,
    Fault::ShiftedErrorCodes,
    Fault::MutedAsFail,
    Fault::SwappedFailIds,
    Fault::NoFailReason,
    Fault::NoRecallEvent,
    Fault::NoReceiptEvents,
    Fault::ChannelAsRead,
    Fault::NoAutoDelivery,
    Fault::HistoryNotReversed,
    Fault::HistoryErrorHangs,
    Fault::NoReconnect,
    Fault::IgnoreKick,
    Fault::NoEmoji,
    Fault::EmojiNoPath,
    Fault::ExtRequired,
    Fault::RoomTypeAsRoom,
    Fault::CorruptUpload,
    Fault::WrongContentType,
    Fault::DropContentField,
    Fault::WrongChatDomain,
    Fault::RoomAsGroup,
    Fault::NoUploadComplete,
    Fault::WrongUploadError,
    Fault::NoDownloadToken,
    Fault::NoUploadProgress,
    Fault::StallOnBadPayload,
    Fault::DropAfterBadMeta,
    Fault::SilentUploadError,
    Fault::DownloadErrorAsComplete,
    Fault::DropDownloadHeaders,
];

impl Fault {
    /// The switch's name on the command line.
    pub fn name(self) -> &'static str {
        ALL[self.index()].0
    }

    /// Its place in [`ORDER`] and [`ALL`].
    fn index(self) -> usize {
        ORDER
            .iter()
            .position(|f| *f == self)
            .expect("every switch is in ORDER")
    }
}

/// A name that is not a fault switch.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown fault {name:?}; valid faults: {valid}")]
pub struct UnknownFault {
    /// The name given.
    pub name: String,
    /// The valid names, comma-separated.
    pub valid: String,
}

/// A set of fault switches (empty: the client behaves as the SDK does), and the switches asked
/// about since [`Faults::take_reached`] (shared by every clone): a switch never asked about
/// changed nothing, on or off, so a run under it alone would have been the clean run
/// (`imspec selftest` skips those runs).
#[derive(Debug, Clone, Default)]
pub struct Faults {
    on: BTreeSet<Fault>,
    reached: Arc<AtomicU64>,
}

// One bit per switch in `Faults::reached`.
const _: () = assert!(ORDER.len() <= 64);

impl PartialEq for Faults {
    fn eq(&self, other: &Self) -> bool {
        self.on == other.on
    }
}

impl Eq for Faults {}

impl Faults {
    /// Every switch: its name and what it breaks.
    pub const ALL: &'static [(&'static str, &'static str)] = ALL;

    /// No faults.
    pub fn none() -> Self {
        Self::default()
    }

    /// Parses a comma-separated list of names; blanks and empty items are ignored.
    pub fn parse(list: &str) -> Result<Faults, UnknownFault> {
        let mut set = BTreeSet::new();
        for name in list.split(',').map(str::trim).filter(|s| !s.is_empty()) {
            let Some(i) = ALL.iter().position(|(n, _)| *n == name) else {
                return Err(UnknownFault {
                    name: name.to_string(),
                    valid: ALL.iter().map(|(n, _)| *n).collect::<Vec<_>>().join(", "),
                });
            };
            set.insert(ORDER[i]);
        }
        Ok(Faults {
            on: set,
            ..Faults::default()
        })
    }

    /// Adds one switch.
    pub fn with(mut self, fault: Fault) -> Self {
        self.on.insert(fault);
        self
    }

    /// Whether the switch is on; notes that the behaviour it breaks was reached.
    pub fn has(&self, fault: Fault) -> bool {
        self.reached.fetch_or(1 << fault.index(), Ordering::Relaxed);
        self.on.contains(&fault)
    }

    /// Whether no switch is on.
    pub fn is_empty(&self) -> bool {
        self.on.is_empty()
    }

    /// The names of the switches asked about since the last call, in [`Faults::ALL`] order; the
    /// next call starts afresh.
    pub fn take_reached(&self) -> Vec<&'static str> {
        let bits = self.reached.swap(0, Ordering::Relaxed);
        ALL.iter()
            .enumerate()
            .filter(|(i, _)| bits & (1 << i) != 0)
            .map(|(_, (name, _))| *name)
            .collect()
    }
}

impl fmt::Display for Faults {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let names: Vec<&str> = self.on.iter().map(|x| x.name()).collect();
        f.write_str(&names.join(","))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_names_and_rejects_unknown_ones_listing_the_valid() {
        let faults = Faults::parse(" no-opened, drop-ext,,").unwrap();
        assert!(faults.has(Fault::NoOpened) && faults.has(Fault::DropExt));
        assert!(!faults.has(Fault::NoKeyAck));
        assert_eq!(faults.to_string(), "no-opened,drop-ext");
        let err = Faults::parse("no-opened,bogus").unwrap_err();
        assert_eq!(err.name, "bogus");
        assert!(err.to_string().contains("no-key-ack"));
        assert!(Faults::parse("").unwrap().is_empty());
    }

    #[test]
    fn the_switches_asked_about_are_noted_on_or_off_and_taken_once() {
        let faults = Faults::parse("drop-ext").unwrap();
        let clone = faults.clone();
        assert!(!clone.has(Fault::NoKeyAck));
        assert!(faults.has(Fault::DropExt));
        assert_eq!(faults.take_reached(), ["drop-ext", "no-key-ack"]);
        assert!(clone.take_reached().is_empty());
    }

    #[test]
    fn every_switch_has_a_unique_name() {
        let mut names: Vec<&str> = ALL.iter().map(|(n, _)| *n).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), ALL.len());
        assert_eq!(ORDER.len(), ALL.len());
        for (fault, (name, _)) in ORDER.iter().zip(ALL) {
            assert_eq!(fault.name(), *name);
            assert_eq!(Faults::parse(name).unwrap(), Faults::none().with(*fault));
        }
    }
}
