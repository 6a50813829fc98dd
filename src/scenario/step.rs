//! The steps of a scenario file as typed data: one serde shape per step kind, with real enums
//! for every field that has a fixed vocabulary (fault `on` and `action`, kick `operation`,
//! `chatType`, frame `dir`, the reply forms, durations). A misspelt kind, field or value is a
//! serde error at the spot where it is written; `load` turns it into a load error naming file,
//! line and field with the allowed values.
//!
//! Owns the list of step kinds ([`StepKind`]): the deserialiser, the load errors and the
//! runner's dispatch all derive from it. It does not check anything that needs the rest of the
//! file (users of the world, `{{name}}` references, levels): `load` does. Free-form payloads
//! (a request's args, an event's data, a frame's match, a scripted message's body fields) stay
//! JSON.

use super::citation::{GuideCitation, WireCitation};
use crate::server::{ChatType, FaultTrigger};
use crate::wire::Direction;
use crate::wire::pb::statistics_body::Operation;
use serde::de::{self, Deserializer, MapAccess, Visitor};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use std::fmt;
use std::time::Duration;

macro_rules! step_kinds {
    ($($(#[$doc:meta])* $variant:ident => $name:literal,)*) => {
        /// The kinds of step: the key that names a step's action. The one list of them.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum StepKind {
            $($(#[$doc])* $variant,)*
        }

        impl StepKind {
            /// Every kind, in the order the format documents them.
            pub const ALL: &'static [StepKind] = &[$(StepKind::$variant,)*];
            /// Their names as written in scenario files.
            pub const NAMES: &'static [&'static str] = &[$($name,)*];

            /// The name as written in scenario files.
            pub fn name(self) -> &'static str {
                match self {
                    $(StepKind::$variant => $name,)*
                }
            }

            /// The kind written `name`, if any.
            pub fn from_name(name: &str) -> Option<StepKind> {
                match name {
                    $($name => Some(StepKind::$variant),)*
                    _ => None,
                }
            }
        }

        /// Every key a step table may have: a kind, or a modifier.
        const STEP_KEYS: &[&str] = &[$($name,)* "reply", "as", "timeout_ms", "level", "guide", "wire", "timer"];
    };
}

step_kinds! {
    /// `connect`: log a user in (driver op).
    Connect => "connect",
    /// `send`: send a message (driver op).
    Send => "send",
    /// `recall`: recall a message (driver op).
    Recall => "recall",
    /// `history`: fetch roaming history (driver op).
    History => "history",
    /// `sessions`: the conversation list (driver op).
    Sessions => "sessions",
    /// `download`: download an attachment (driver op).
    Download => "download",
    /// `disconnect`: log out (driver op).
    Disconnect => "disconnect",
    /// `request`: any driver op, including future ones.
    Request => "request",
    /// `event`: wait for an SDK callback.
    Event => "event",
    /// `frame`: wait for a frame on the wire.
    Frame => "frame",
    /// `http`: wait for a REST exchange the server recorded (an upload, a download, ...).
    Http => "http",
    /// `deliver`: a scripted peer's message.
    Deliver => "deliver",
    /// `deliver_raw`: a scripted peer's message whose payload bytes are given as they are.
    DeliverRaw => "deliver_raw",
    /// `advance`: move the virtual clock.
    Advance => "advance",
    /// `server_close`: the server drops a user's sockets.
    ServerClose => "server_close",
    /// `kick`: a STATISTIC meta kicking a user.
    Kick => "kick",
    /// `fault`: arm a fault for the next matching frame or REST request.
    Fault => "fault",
    /// `quiet`: nothing more may arrive for a user.
    Quiet => "quiet",
}

impl StepKind {
    /// The driver op of a request kind (`connect` ... `disconnect`); `None` for `request` (its
    /// op is in the step) and for the kinds that are not requests.
    pub fn op(self) -> Option<&'static str> {
        match self {
            StepKind::Connect
            | StepKind::Send
            | StepKind::Recall
            | StepKind::History
            | StepKind::Sessions
            | StepKind::Download
            | StepKind::Disconnect => Some(self.name()),
            _ => None,
        }
    }

    /// Whether the step sends a driver request (and may have a `reply`).
    pub fn is_request(self) -> bool {
        self.op().is_some() || self == StepKind::Request
    }
}

/// A duration written as milliseconds (an integer) or a string like `"120s"`, `"2m"`, `"500ms"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DurationValue(pub Duration);

const DURATION_FORMS: &str =
    "a duration: milliseconds as an integer, or a string like \"120s\", \"2m\", \"500ms\", \"1h\"";

impl DurationValue {
    /// Parses `"120s"`, `"2m"`, `"500ms"`, `"1h"`.
    pub fn parse(text: &str) -> Option<Duration> {
        let text = text.trim();
        let (number, unit) = text.split_at(text.find(|c: char| !c.is_ascii_digit())?);
        let n: u64 = number.parse().ok()?;
        match unit {
            "ms" => Some(Duration::from_millis(n)),
            "s" => Some(Duration::from_secs(n)),
            "m" => Some(Duration::from_secs(n.checked_mul(60)?)),
            "h" => Some(Duration::from_secs(n.checked_mul(3600)?)),
            _ => None,
        }
    }
}

impl<'de> Deserialize<'de> for DurationValue {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = DurationValue;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str(DURATION_FORMS)
            }
            fn visit_i64<E: de::Error>(self, ms: i64) -> Result<DurationValue, E> {
                u64::try_from(ms)
                    .map(|ms| DurationValue(Duration::from_millis(ms)))
                    .map_err(|_| E::invalid_value(de::Unexpected::Signed(ms), &self))
            }
            fn visit_u64<E: de::Error>(self, ms: u64) -> Result<DurationValue, E> {
                Ok(DurationValue(Duration::from_millis(ms)))
            }
            fn visit_str<E: de::Error>(self, text: &str) -> Result<DurationValue, E> {
                DurationValue::parse(text)
                    .map(DurationValue)
                    .ok_or_else(|| E::invalid_value(de::Unexpected::Str(text), &self))
            }
        }
        d.deserialize_any(V)
    }
}

/// The `chatType` of a scripted message, in the SDK's words.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, Serialize)]
pub enum ChatTypeName {
    /// `singleChat`: to a user.
    #[default]
    #[serde(rename = "singleChat")]
    SingleChat,
    /// `groupChat`: to a group.
    #[serde(rename = "groupChat")]
    GroupChat,
    /// `chatRoom`: to a chat room.
    #[serde(rename = "chatRoom")]
    ChatRoom,
}

impl ChatTypeName {
    /// The server's conversation kind.
    pub fn server(self) -> ChatType {
        match self {
            ChatTypeName::SingleChat => ChatType::Single,
            ChatTypeName::GroupChat => ChatType::Group,
            ChatTypeName::ChatRoom => ChatType::Room,
        }
    }
}

/// The message types a scripted peer can send (`deliver.type`): the SDK's `msg.set` types and
/// its receipt and recall messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum MessageType {
    /// A text (`msg`).
    Txt,
    /// A command (`action`).
    Cmd,
    /// A custom message (`customEvent`, `customExts`).
    Custom,
    /// A location (`lat`, `lng`, `addr`).
    #[serde(alias = "location")]
    Loc,
    /// An uploaded image.
    Img,
    /// An uploaded file.
    File,
    /// An uploaded voice message.
    Audio,
    /// An uploaded video.
    Video,
    /// A read receipt (`ackMessageId`).
    Read,
    /// A delivery receipt (`ackMessageId`).
    Delivery,
    /// A channel ack.
    Channel,
    /// A recall (`ackMessageId`).
    Recall,
}

/// `fault.on`: what a fault fires on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FaultOn {
    /// A PROVISION (login) frame.
    Provision,
    /// An UNREAD frame.
    Unread,
    /// A chat meta.
    Message,
    /// The message-roaming REST request.
    History,
    /// A REST attachment upload.
    Upload,
    /// A REST attachment download.
    Download,
}

impl FaultOn {
    /// The server's trigger.
    pub fn trigger(self) -> FaultTrigger {
        match self {
            FaultOn::Provision => FaultTrigger::Provision,
            FaultOn::Unread => FaultTrigger::Unread,
            FaultOn::Message => FaultTrigger::Message,
            FaultOn::History => FaultTrigger::History,
            FaultOn::Upload => FaultTrigger::Upload,
            FaultOn::Download => FaultTrigger::Download,
        }
    }

    /// The name as written in scenario files.
    pub fn name(self) -> &'static str {
        match self {
            FaultOn::Provision => "provision",
            FaultOn::Unread => "unread",
            FaultOn::Message => "message",
            FaultOn::History => "history",
            FaultOn::Upload => "upload",
            FaultOn::Download => "download",
        }
    }

    /// Whether the fault answers a REST request (`upload`, `download`).
    pub fn is_http(self) -> bool {
        matches!(self, FaultOn::Upload | FaultOn::Download)
    }
}

/// `fault.action`: what a fault does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FaultKind {
    /// Answer with a status (an HTTP status for the REST triggers).
    Status,
    /// No answer.
    Drop,
    /// Hold the answer until the virtual clock moves.
    Delay,
    /// Close the socket.
    Close,
    /// For `on = "download"`: answer 200 with the file's full `Content-Length` but only the
    /// first half of its bytes, then cut the connection.
    Truncate,
}

impl FaultKind {
    /// The name as written in scenario files.
    pub fn name(self) -> &'static str {
        match self {
            FaultKind::Status => "status",
            FaultKind::Drop => "drop",
            FaultKind::Delay => "delay",
            FaultKind::Close => "close",
            FaultKind::Truncate => "truncate",
        }
    }
}

/// A `StatisticsBody.Operation` by its protobuf name (`USER_LOGIN_ANOTHER_DEVICE`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KickOperation(pub Operation);

impl KickOperation {
    /// Every operation's name, in protobuf order.
    pub fn names() -> Vec<&'static str> {
        (0..)
            .map_while(|i| Operation::try_from(i).ok())
            .map(|o| o.as_str_name())
            .collect()
    }
}

impl<'de> Deserialize<'de> for KickOperation {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let name = String::deserialize(d)?;
        Operation::from_str_name(&name)
            .map(KickOperation)
            .ok_or_else(|| {
                de::Error::custom(format!(
                    "unknown StatisticsBody.Operation `{name}`, expected one of {}",
                    KickOperation::names().join(", ")
                ))
            })
    }
}

/// A request step written `connect = "alice"` or as a table of the op's args with `user`.
#[derive(Debug, Clone, PartialEq)]
pub enum OpArgs {
    /// Only the user.
    User(String),
    /// The args, with `user` among them.
    Table(Map<String, Value>),
}

impl<'de> Deserialize<'de> for OpArgs {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = OpArgs;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a user name, or a table like { user = \"alice\", ... }")
            }
            fn visit_str<E: de::Error>(self, user: &str) -> Result<OpArgs, E> {
                Ok(OpArgs::User(user.to_string()))
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<OpArgs, A::Error> {
                Map::deserialize(de::value::MapAccessDeserializer::new(map)).map(OpArgs::Table)
            }
        }
        d.deserialize_any(V)
    }
}

/// `request = { op, user, args }`: any driver op.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RequestArgs {
    /// The op.
    pub op: String,
    /// The connection, when the op has one.
    pub user: Option<String>,
    /// The op's arguments.
    #[serde(default)]
    pub args: Option<Value>,
}

/// `event = { user, name, data }`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EventStep {
    /// The connection.
    pub user: String,
    /// The callback's name.
    pub name: String,
    /// A partial match of its data.
    pub data: Option<Value>,
}

/// `frame = { user, dir, match }`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FrameStep {
    /// The connection's user (any when absent).
    pub user: Option<String>,
    /// Which way: `c2s` or `s2c`.
    pub dir: Direction,
    /// A partial match of the frame's canonical JSON view.
    #[serde(rename = "match")]
    pub matches: Value,
}

/// `http = { user, match }`: a REST exchange as the transcript's `http` lane shows it.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HttpStep {
    /// The user the request was for or from (any when absent).
    pub user: Option<String>,
    /// A partial match of `{method, path, query, user, request, status, response}`.
    #[serde(rename = "match")]
    pub matches: Value,
}

/// `deliver = { from, to, type, chatType, ...body fields }`: a scripted peer's message.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct DeliverStep {
    /// The scripted sender.
    pub from: String,
    /// The recipient: a user, group or room id.
    pub to: String,
    /// The message type.
    #[serde(rename = "type")]
    pub kind: MessageType,
    /// The conversation kind (default `singleChat`).
    #[serde(rename = "chatType", default)]
    pub chat_type: ChatTypeName,
    /// The body fields of that type (`msg`, `action`, `ext`, `ackMessageId`, ...).
    #[serde(flatten)]
    pub fields: Map<String, Value>,
}

/// `deliver_raw = { from, to, chatType, payload }`: a scripted peer's message whose
/// `Meta.payload` is `payload` (base64), byte for byte, valid `MessageBody` or not: how a hostile
/// fuzz finding is kept as a scenario.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeliverRawStep {
    /// The scripted sender.
    pub from: String,
    /// The recipient: a user, group or room id.
    pub to: String,
    /// The conversation kind (default `singleChat`).
    #[serde(rename = "chatType", default)]
    pub chat_type: ChatTypeName,
    /// The payload, standard base64 (may be empty).
    pub payload: String,
}

/// `server_close = { user, code, reason }`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServerCloseStep {
    /// Whose sockets.
    pub user: String,
    /// The SockJS close code (default 3000).
    #[serde(default = "default_close_code")]
    pub code: u16,
    /// The close reason (default `Go away!`).
    #[serde(default = "default_close_reason")]
    pub reason: String,
}

fn default_close_code() -> u16 {
    3000
}

fn default_close_reason() -> String {
    "Go away!".to_string()
}

/// `kick = { user, operation }`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KickStep {
    /// Whom.
    pub user: String,
    /// The `StatisticsBody.Operation`.
    pub operation: KickOperation,
}

/// `fault = { user, on, action, code, ms, reason, body }` as written; `load` checks which
/// fields go with which action.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FaultStep {
    /// Whose frame (anyone's when absent).
    pub user: Option<String>,
    /// What it fires on.
    pub on: FaultOn,
    /// What it does.
    pub action: FaultKind,
    /// The status / HTTP status / close code.
    pub code: Option<i64>,
    /// For `delay`: how long the answer is held (virtual time).
    pub ms: Option<DurationValue>,
    /// For `status` and `close`: the reason.
    pub reason: Option<String>,
    /// For `upload` / `download`: the HTTP answer's body.
    pub body: Option<Value>,
}

/// `quiet = { user, ms }`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct QuietStep {
    /// Whose events.
    pub user: String,
    /// How long to watch (default 300 ms).
    pub ms: Option<DurationValue>,
}

/// A step's action as written, one variant per [`StepKind`].
#[derive(Debug, Clone, PartialEq)]
pub enum RawAction {
    /// `connect`, `send`, `recall`, `history`, `sessions`, `download`, `disconnect`.
    Op(StepKind, OpArgs),
    /// `request`.
    Request(RequestArgs),
    /// `event`.
    Event(EventStep),
    /// `frame`.
    Frame(FrameStep),
    /// `http`.
    Http(HttpStep),
    /// `deliver`.
    Deliver(DeliverStep),
    /// `deliver_raw`.
    DeliverRaw(DeliverRawStep),
    /// `advance`.
    Advance(DurationValue),
    /// `server_close`.
    ServerClose(ServerCloseStep),
    /// `kick`.
    Kick(KickStep),
    /// `fault`.
    Fault(FaultStep),
    /// `quiet`.
    Quiet(QuietStep),
}

/// `reply = "none"` or `reply = { ok = true|false, result | error }`.
#[derive(Debug, Clone, PartialEq)]
pub enum RawReply {
    /// `"none"`.
    None,
    /// The table.
    Table(ReplyTable),
}

/// `reply = { ok, result, error }`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReplyTable {
    /// Whether the request must succeed.
    pub ok: bool,
    /// With `ok = true`: a partial match of the result.
    pub result: Option<Value>,
    /// With `ok = false`: a partial match of the error.
    pub error: Option<Value>,
}

impl<'de> Deserialize<'de> for RawReply {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = RawReply;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("\"none\", or a table like { ok = true, result = {...} } or { ok = false, error = {...} }")
            }
            fn visit_str<E: de::Error>(self, text: &str) -> Result<RawReply, E> {
                if text == "none" {
                    Ok(RawReply::None)
                } else {
                    Err(E::invalid_value(de::Unexpected::Str(text), &self))
                }
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<RawReply, A::Error> {
                ReplyTable::deserialize(de::value::MapAccessDeserializer::new(map))
                    .map(RawReply::Table)
            }
        }
        d.deserialize_any(V)
    }
}

/// The level of an expectation (see [`crate::scenario::Level`]) as written in `level = "..."`.
pub use super::Level;

/// One `[[step]]` table as written: its actions (exactly one is valid; `load` says so) and its
/// modifiers.
#[derive(Debug, Clone, Default)]
pub struct RawStep {
    /// The actions, in the order written.
    pub actions: Vec<RawAction>,
    /// `reply`.
    pub reply: Option<RawReply>,
    /// `as`.
    pub save_as: Option<String>,
    /// `timeout_ms`.
    pub timeout_ms: Option<u64>,
    /// `level`.
    pub level: Option<Level>,
    /// `guide = { lines, quote }`.
    pub guide: Option<toml::Spanned<GuideCitation>>,
    /// `wire = { section, quote }`.
    pub wire: Option<toml::Spanned<WireCitation>>,
    /// `timer = true`: the awaited event comes from the client's own timer.
    pub timer: bool,
}

impl<'de> Deserialize<'de> for RawStep {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = RawStep;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                write!(
                    f,
                    "a step: a table with one of {}",
                    StepKind::NAMES.join(", ")
                )
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<RawStep, A::Error> {
                let mut step = RawStep::default();
                while let Some(key) = map.next_key::<String>()? {
                    match key.as_str() {
                        "reply" => step.reply = Some(map.next_value()?),
                        "as" => step.save_as = Some(map.next_value()?),
                        "timeout_ms" => step.timeout_ms = Some(map.next_value()?),
                        "level" => step.level = Some(map.next_value()?),
                        "guide" => step.guide = Some(map.next_value()?),
                        "wire" => step.wire = Some(map.next_value()?),
                        "timer" => step.timer = map.next_value()?,
                        name => {
                            let Some(kind) = StepKind::from_name(name) else {
                                return Err(de::Error::unknown_field(name, STEP_KEYS));
                            };
                            step.actions.push(match kind {
                                StepKind::Request => RawAction::Request(map.next_value()?),
                                StepKind::Event => RawAction::Event(map.next_value()?),
                                StepKind::Frame => RawAction::Frame(map.next_value()?),
                                StepKind::Http => RawAction::Http(map.next_value()?),
                                StepKind::Deliver => RawAction::Deliver(map.next_value()?),
                                StepKind::DeliverRaw => RawAction::DeliverRaw(map.next_value()?),
                                StepKind::Advance => RawAction::Advance(map.next_value()?),
                                StepKind::ServerClose => RawAction::ServerClose(map.next_value()?),
                                StepKind::Kick => RawAction::Kick(map.next_value()?),
                                StepKind::Fault => RawAction::Fault(map.next_value()?),
                                StepKind::Quiet => RawAction::Quiet(map.next_value()?),
                                StepKind::Connect
                                | StepKind::Send
                                | StepKind::Recall
                                | StepKind::History
                                | StepKind::Sessions
                                | StepKind::Download
                                | StepKind::Disconnect => RawAction::Op(kind, map.next_value()?),
                            });
                        }
                    }
                }
                Ok(step)
            }
        }
        d.deserialize_map(V)
    }
}

impl RawAction {
    /// The kind of step this action is.
    pub fn kind(&self) -> StepKind {
        match self {
            RawAction::Op(kind, _) => *kind,
            RawAction::Request(_) => StepKind::Request,
            RawAction::Event(_) => StepKind::Event,
            RawAction::Frame(_) => StepKind::Frame,
            RawAction::Http(_) => StepKind::Http,
            RawAction::Deliver(_) => StepKind::Deliver,
            RawAction::DeliverRaw(_) => StepKind::DeliverRaw,
            RawAction::Advance(_) => StepKind::Advance,
            RawAction::ServerClose(_) => StepKind::ServerClose,
            RawAction::Kick(_) => StepKind::Kick,
            RawAction::Fault(_) => StepKind::Fault,
            RawAction::Quiet(_) => StepKind::Quiet,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_kind_list_and_the_names_agree() {
        assert_eq!(StepKind::ALL.len(), StepKind::NAMES.len());
        for (kind, name) in StepKind::ALL.iter().zip(StepKind::NAMES) {
            assert_eq!(kind.name(), *name);
            assert_eq!(StepKind::from_name(name), Some(*kind));
        }
        assert!(STEP_KEYS.starts_with(StepKind::NAMES));
    }

    #[test]
    fn durations() {
        let d = |t: &str| DurationValue::parse(t);
        assert_eq!(d("120s"), Some(Duration::from_secs(120)));
        assert_eq!(d("500ms"), Some(Duration::from_millis(500)));
        assert_eq!(d("2m"), Some(Duration::from_secs(120)));
        assert_eq!(d("soon"), None);
        assert_eq!(d("5"), None);
    }

    #[test]
    fn kick_operations_are_listed_from_the_protobuf() {
        assert_eq!(
            KickOperation::names(),
            [
                "INFORMATION",
                "USER_REMOVED",
                "USER_LOGIN_ANOTHER_DEVICE",
                "USER_KICKED_BY_CHANGE_PASSWORD",
                "USER_KICKED_BY_OTHER_DEVICE"
            ]
        );
    }
}
