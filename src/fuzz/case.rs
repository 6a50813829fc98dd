//! One fuzz case and what it means on the wire: the `MessageBody` the fake server delivers
//! (server → client), the `send` options the driver gets (client → server), the raw payload of
//! a hostile case, and the callback the app must see, typed as the SDK types `KeyValue`s
//! (wire notes section 4, `src/wire/keyvalue.rs`).
//!
//! Pure: no I/O. Strategies are `strategy.rs`; checking a run is `campaign.rs`.

use crate::server::ChatType;
use crate::wire::jid;
use crate::wire::keyvalue::{self, js_number};
use crate::wire::pb::message_body::Content;
use crate::wire::pb::message_body::Type as BodyType;
use crate::wire::pb::message_body::content::Type as ContentType;
use crate::wire::pb::{self, KeyValue, key_value};
use base64::Engine as _;
use prost::Message as _;
use serde_json::{Map, Value, json};

/// Who sends: the fake server (a scripted peer) or the client under test.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Way {
    /// The fake server delivers the body to `bob`.
    ServerToClient,
    /// The driver sends it as `alice` to `bob` (or the group / room `bob` is in).
    ClientToServer,
}

/// The conversation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Chat {
    /// To `bob`.
    Single,
    /// To group `g1` (alice and bob).
    Group,
    /// To chat room `r1` (alice and bob).
    Room,
}

impl Chat {
    /// `chatType` of `send`.
    pub fn sdk_name(self) -> &'static str {
        match self {
            Chat::Single => "singleChat",
            Chat::Group => "groupChat",
            Chat::Room => "chatRoom",
        }
    }
    /// The recipient: the user or the group / room id.
    pub fn to(self) -> &'static str {
        match self {
            Chat::Single => "bob",
            Chat::Group => "g1",
            Chat::Room => "r1",
        }
    }
    /// `type` of the receiver's callback.
    pub fn event_type(self) -> &'static str {
        match self {
            Chat::Single => "chat",
            Chat::Group => "groupchat",
            Chat::Room => "chatroom",
        }
    }
    /// The server's chat type.
    pub fn server(self) -> ChatType {
        match self {
            Chat::Single => ChatType::Single,
            Chat::Group => ChatType::Group,
            Chat::Room => ChatType::Room,
        }
    }
    fn body_type(self) -> BodyType {
        match self {
            Chat::Single => BodyType::Chat,
            Chat::Group => BodyType::Groupchat,
            Chat::Room => BodyType::Chatroom,
        }
    }
}

/// The content of a message, by type.
#[derive(Debug, Clone, PartialEq)]
pub enum Body {
    /// `txt`.
    Txt { msg: String },
    /// `cmd`.
    Cmd { action: String },
    /// `custom`.
    Custom {
        event: String,
        exts: Map<String, Value>,
    },
    /// `loc`.
    Loc { lat: f64, lng: f64, addr: String },
    /// `file` (client → server only: uploaded first).
    File { name: String, bytes: Vec<u8> },
}

impl Body {
    /// The SDK's message type name.
    pub fn kind(&self) -> &'static str {
        match self {
            Body::Txt { .. } => "txt",
            Body::Cmd { .. } => "cmd",
            Body::Custom { .. } => "custom",
            Body::Loc { .. } => "loc",
            Body::File { .. } => "file",
        }
    }
    /// The callbacks the receiver may get for it.
    pub fn events(&self) -> &'static [&'static str] {
        match self {
            // a text made of emoji keys comes as onEmojiMessage
            Body::Txt { .. } => &["onTextMessage", "onEmojiMessage"],
            Body::Cmd { .. } => &["onCmdMessage"],
            Body::Custom { .. } => &["onCustomMessage"],
            Body::Loc { .. } => &["onLocationMessage"],
            Body::File { .. } => &["onFileMessage"],
        }
    }
    /// The fields of `send` / `deliver` for this content (the SDK's `msg.set` options).
    pub fn options(&self) -> Map<String, Value> {
        let mut m = Map::new();
        m.insert("type".into(), json!(self.kind()));
        match self {
            Body::Txt { msg } => _ = m.insert("msg".into(), json!(msg)),
            Body::Cmd { action } => _ = m.insert("action".into(), json!(action)),
            Body::Custom { event, exts } => {
                m.insert("customEvent".into(), json!(event));
                m.insert("customExts".into(), Value::Object(exts.clone()));
            }
            Body::Loc { lat, lng, addr } => {
                m.insert("lat".into(), json!(lat));
                m.insert("lng".into(), json!(lng));
                m.insert("addr".into(), json!(addr));
            }
            Body::File { name, bytes } => {
                let base64 = base64::engine::general_purpose::STANDARD.encode(bytes);
                m.insert(
                    "file".into(),
                    json!({"name": name, "mime": "application/octet-stream", "base64": base64}),
                );
            }
        }
        m
    }
    fn content(&self) -> Content {
        let mut c = Content::default();
        let kind = match self {
            Body::Txt { msg } => {
                c.text = Some(msg.clone());
                ContentType::Text
            }
            Body::Cmd { action } => {
                c.action = Some(action.clone());
                ContentType::Command
            }
            Body::Custom { event, exts } => {
                c.custom_event = Some(event.clone());
                c.custom_exts = keyvalue::encode_object(exts);
                ContentType::Custom
            }
            Body::Loc { lat, lng, addr } => {
                c.latitude = Some(*lat);
                c.longitude = Some(*lng);
                c.address = Some(addr.clone());
                ContentType::Location
            }
            Body::File { name, .. } => {
                c.display_name = Some(name.clone());
                ContentType::File
            }
        };
        c.r#type = Some(kind as i32);
        c
    }
}

/// A message a real server would deliver, or a real app would send.
#[derive(Debug, Clone, PartialEq)]
pub struct ValidCase {
    /// Direction.
    pub way: Way,
    /// Conversation.
    pub chat: Chat,
    /// Content.
    pub body: Body,
    /// `ext`.
    pub ext: Map<String, Value>,
    /// Server → client only: `ext` entries JSON cannot express (NaN, FLOAT, UINT, LLINT).
    pub wire_only: Vec<KeyValue>,
    /// Server → client only: the scripted sender's name.
    pub from: String,
}

impl ValidCase {
    /// The sender's name.
    pub fn sender(&self) -> &str {
        match self.way {
            Way::ServerToClient => &self.from,
            Way::ClientToServer => "alice",
        }
    }

    /// The `MessageBody` a server delivers for it.
    pub fn message_body(&self) -> pb::MessageBody {
        let mut ext = keyvalue::encode_object(&self.ext);
        ext.extend(self.wire_only.iter().cloned());
        pb::MessageBody {
            r#type: Some(self.chat.body_type() as i32),
            from: Some(jid::name_only(self.sender())),
            to: Some(jid::name_only(self.chat.to())),
            contents: vec![self.body.content()],
            ext,
            ..Default::default()
        }
    }

    /// The `send` arguments of the driver protocol.
    pub fn send_args(&self) -> Value {
        let mut m = self.body.options();
        m.insert("to".into(), json!(self.chat.to()));
        m.insert("chatType".into(), json!(self.chat.sdk_name()));
        m.insert("ext".into(), Value::Object(self.ext.clone()));
        Value::Object(m)
    }

    /// What the receiver's callback must hold, given the `ext` and `customExts` lists that
    /// went on the wire (typed back as the SDK types them, precision loss included).
    pub fn expected_event(
        &self,
        wire_ext: &[KeyValue],
        wire_custom: &[KeyValue],
    ) -> Result<Map<String, Value>, String> {
        let decode = |list: &[KeyValue]| {
            keyvalue::decode_list(list)
                .map(Value::Object)
                .map_err(|e| e.to_string())
        };
        let mut m = Map::new();
        m.insert("from".into(), json!(self.sender()));
        m.insert("to".into(), json!(self.chat.to()));
        m.insert("type".into(), json!(self.chat.event_type()));
        m.insert("ext".into(), decode(wire_ext)?);
        match &self.body {
            Body::Txt { msg } => _ = m.insert("data".into(), json!(msg)),
            Body::Cmd { action } => _ = m.insert("action".into(), json!(action)),
            Body::Custom { event, .. } => {
                m.insert("customEvent".into(), json!(event));
                m.insert("customExts".into(), decode(wire_custom)?);
            }
            Body::Loc { lat, lng, addr } => {
                m.insert("lat".into(), js_number(*lat));
                m.insert("lng".into(), js_number(*lng));
                m.insert("addr".into(), json!(addr));
            }
            Body::File { name, .. } => _ = m.insert("filename".into(), json!(name)),
        }
        Ok(m)
    }
}

/// How a hostile case breaks its base body.
#[derive(Debug, Clone, PartialEq)]
pub enum Hostile {
    /// `Content.type` outside the enum.
    UnknownContentType(i32),
    /// `MessageBody.type` outside the enum.
    UnknownBodyType(i32),
    /// An `ext` entry of a `KeyValue.type` outside the enum (or 0).
    UnknownValueType(i32),
    /// An `ext` JSON_STRING that does not parse.
    BadJsonString(String),
    /// An INT entry holding a string, a STRING entry holding a varint.
    ValueTypeMismatch,
    /// No contents.
    NoContents,
    /// No `MessageBody.from`.
    MissingFrom,
    /// The encoded body cut short by this many bytes (at least one).
    Truncated(usize),
    /// A text past the service's message limit (`WorldSpec::message_limit_bytes`): no real
    /// server delivers it, so the client may refuse it; one it hands to the app must be intact.
    PastLimit(String),
    /// A text of this many characters.
    Oversized(usize),
    /// Random bytes as the payload.
    Garbage(Vec<u8>),
    /// An `MSync` frame where the `MessageBody` belongs.
    WrongNested,
    /// An empty payload.
    EmptyPayload,
}

/// A body no real server sends.
#[derive(Debug, Clone, PartialEq)]
pub struct HostileCase {
    /// The valid body it breaks (server → client).
    pub base: ValidCase,
    /// How.
    pub kind: Hostile,
}

impl HostileCase {
    /// A text past the limit as the valid text message it would be within it: what a client
    /// that hands it to the app must hand over.
    pub fn as_delivered(&self) -> Option<ValidCase> {
        match &self.kind {
            Hostile::PastLimit(text) => Some(ValidCase {
                body: Body::Txt { msg: text.clone() },
                ..self.base.clone()
            }),
            _ => None,
        }
    }

    /// The `Meta.payload` bytes.
    pub fn payload(&self) -> Vec<u8> {
        let mut body = self.base.message_body();
        let bad_kv = |kind: i32, value: key_value::Value| KeyValue {
            key: Some("hostile".into()),
            r#type: Some(kind),
            value: Some(value),
        };
        let string = |s: &str| key_value::Value::StringValue(s.to_string());
        match &self.kind {
            Hostile::UnknownContentType(t) => body.contents[0].r#type = Some(*t),
            Hostile::UnknownBodyType(t) => body.r#type = Some(*t),
            Hostile::UnknownValueType(t) => body.ext.push(bad_kv(*t, string("x"))),
            Hostile::BadJsonString(s) => body.ext.push(bad_kv(8, string(s))),
            Hostile::ValueTypeMismatch => {
                body.ext.push(bad_kv(2, string("12")));
                body.ext.push(bad_kv(7, key_value::Value::VarintValue(5)));
            }
            Hostile::NoContents => body.contents.clear(),
            Hostile::MissingFrom => body.from = None,
            Hostile::Truncated(k) => {
                let mut bytes = body.encode_to_vec();
                let cut = 1 + k % bytes.len().max(1);
                bytes.truncate(bytes.len().saturating_sub(cut));
                return bytes;
            }
            Hostile::PastLimit(text) => {
                body.contents[0] = Content {
                    r#type: Some(ContentType::Text as i32),
                    text: Some(text.clone()),
                    ..Default::default()
                };
            }
            Hostile::Oversized(n) => {
                body.contents[0] = Content {
                    r#type: Some(ContentType::Text as i32),
                    text: Some("x".repeat(*n)),
                    ..Default::default()
                };
            }
            Hostile::Garbage(bytes) => return bytes.clone(),
            Hostile::WrongNested => {
                return crate::wire::frame::encode_msync(&pb::MSync {
                    command: Some(pb::m_sync::Command::Provision as i32),
                    ..Default::default()
                });
            }
            Hostile::EmptyPayload => return Vec::new(),
        }
        body.encode_to_vec()
    }
}

/// A fuzz case.
#[derive(Debug, Clone, PartialEq)]
pub enum Case {
    /// Delivered / sent and checked value by value.
    Valid(ValidCase),
    /// Delivered; the client must survive it.
    Hostile(HostileCase),
}
