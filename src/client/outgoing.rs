//! Every frame the reference client sends, built field by field as the 3.6.3 SDK builds it:
//! PROVISION (`_login` onopen, bundle L7805), UNREAD (`T`, L4174), the STATISTIC meta
//! (`_rebuild`, L4151), the pull and the key ack (`_backqueue`, `_lastsession`), and a message
//! (`msg.set` of module 30 at L1790-1960, then `l()` at L2001-2120).
//!
//! Only the fields the SDK assigns are set, so the same fields are present on the wire: the SDK
//! assigns the *string* "3.6.3" to the enum `MSync.version` and "webim" to the uint32
//! `deviceId`, which protobufjs writes as explicit zeros (wire notes section 1).

use super::faults::{Fault, Faults};
use super::js;
use crate::wire::jid;
use crate::wire::keyvalue;
use crate::wire::pb::{self, Jid, KeyValue, MSync, MessageBody, Meta, key_value, message_body};
use prost::Message as _;
use serde_json::{Map, Value};

/// Who is sending: `conn.context.jid` and the few connection fields the frames use.
#[derive(Debug, Clone)]
pub struct Identity {
    /// `context.jid`: `{appKey, name, domain, clientResource}`.
    pub jid: Jid,
    /// `conn.user`.
    pub user: String,
    /// `conn.appKey` (the constructor's), used for `Meta.to` and group `Meta.from`.
    pub app_key: String,
    /// `MSync.version` as protobufjs writes `conn.version` (0 for "3.6.3").
    pub msync_version: i32,
    /// `conn.encryptType`.
    pub encrypt_type: Vec<i32>,
}

impl Identity {
    fn msync(&self, command: pb::m_sync::Command, payload: Option<Vec<u8>>) -> MSync {
        MSync {
            version: Some(self.msync_version),
            encrypt_type: self.encrypt_type.clone(),
            command: Some(command as i32),
            payload,
            ..Default::default()
        }
    }
}

/// The `Provision` fields chosen in `onopen`.
#[derive(Debug, Clone)]
pub struct ProvisionFields {
    /// `Provision.version` (`conn.version`, a string).
    pub version: String,
    /// `deviceName`.
    pub device_name: String,
    /// `resource`, also the JID's `clientResource`.
    pub resource: String,
    /// `deviceUuid`.
    pub device_uuid: String,
    /// `conn.compressType`.
    pub compress_type: Vec<i32>,
}

impl ProvisionFields {
    /// What `onopen` picks: with the default `deviceId` "webim" the resource is
    /// `webim_<ms>`; with a custom one, all three are `webim_<deviceId>` (L7812).
    pub fn new(version: &str, device_id: &str, now_ms: u64, compress_type: Vec<i32>) -> Self {
        let (device_name, resource, device_uuid) = if device_id == "webim" {
            let uuid = now_ms.to_string();
            (device_id.to_string(), format!("{device_id}_{uuid}"), uuid)
        } else {
            let all = format!("webim_{device_id}");
            (all.clone(), all.clone(), all)
        };
        ProvisionFields {
            version: version.to_string(),
            device_name,
            resource,
            device_uuid,
            compress_type,
        }
    }
}

/// `MSync{PROVISION}` with its `Provision` payload. `identity.jid` must already carry the
/// resource as `clientResource`.
pub fn provision(identity: &Identity, fields: &ProvisionFields, access_token: &str) -> MSync {
    let auth = format!("$t${access_token}");
    let payload = pb::Provision {
        os_type: Some(pb::provision::OsType::OsOther as i32),
        version: Some(fields.version.clone()),
        compress_type: fields.compress_type.clone(),
        encrypt_type: identity.encrypt_type.clone(),
        device_uuid: Some(fields.device_uuid.clone()),
        device_name: Some(fields.device_name.clone()),
        resource: Some(fields.resource.clone()),
        auth: Some(auth.clone()),
        ..Default::default()
    };
    MSync {
        guid: Some(identity.jid.clone()),
        auth: Some(auth),
        device_id: Some(0),
        ..identity.msync(
            pb::m_sync::Command::Provision,
            Some(payload.encode_to_vec()),
        )
    }
}

/// `MSync{UNREAD}` without payload (`T`, also the heartbeat).
pub fn unread(identity: &Identity) -> MSync {
    identity.msync(pb::m_sync::Command::Unread, None)
}

/// The STATISTIC meta of `_rebuild`: `Meta{id: Date.now(), ns: STATISTIC,
/// payload: StatisticsBody{operation: INFORMATION}}`, with the literal `encryptType: [0]`.
pub fn statistic(identity: &Identity, now_ms: u64) -> MSync {
    let body = pb::StatisticsBody {
        operation: Some(0),
        ..Default::default()
    };
    let meta = Meta {
        id: Some(now_ms),
        ns: Some(pb::meta::NameSpace::Statistic as i32),
        payload: Some(body.encode_to_vec()),
        ..Default::default()
    };
    let ul = pb::CommSyncUl {
        meta: Some(meta),
        ..Default::default()
    };
    MSync {
        encrypt_type: vec![0],
        ..identity.msync(pb::m_sync::Command::Sync, Some(ul.encode_to_vec()))
    }
}

/// The pull of a queue: `CommSyncUL{queue}` (`_backqueue`).
pub fn backqueue(identity: &Identity, queue: Option<&Jid>) -> MSync {
    let ul = pb::CommSyncUl {
        queue: queue.cloned(),
        ..Default::default()
    };
    identity.msync(pb::m_sync::Command::Sync, Some(ul.encode_to_vec()))
}

/// The key ack: `CommSyncUL{queue, key: nextKey}` (`_lastsession`; an absent `nextKey` is
/// written as 0, as `Long.toString()` of the default gives "0").
pub fn lastsession(identity: &Identity, next_key: u64, queue: Option<&Jid>) -> MSync {
    let ul = pb::CommSyncUl {
        key: Some(next_key),
        queue: queue.cloned(),
        ..Default::default()
    };
    identity.msync(pb::m_sync::Command::Sync, Some(ul.encode_to_vec()))
}

/// The message kinds of `new WebIM.message(type)`, plus the body `recallMessage` builds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// `txt`.
    Txt,
    /// `cmd`.
    Cmd,
    /// `custom`.
    Custom,
    /// `location` (its body type is `loc`).
    Loc,
    /// `img`.
    Img,
    /// `file`.
    File,
    /// `audio`.
    Audio,
    /// `video`.
    Video,
    /// `read`.
    Read,
    /// `delivery`.
    Delivery,
    /// `channel`.
    Channel,
    /// `recall` (from `conn.recallMessage`).
    Recall,
}

impl Kind {
    /// The kind for a `send` op's `type` (`loc` and `location` both name the location message).
    pub fn from_send_type(name: &str) -> Option<Kind> {
        Some(match name {
            "txt" => Kind::Txt,
            "cmd" => Kind::Cmd,
            "custom" => Kind::Custom,
            "loc" | "location" => Kind::Loc,
            "img" => Kind::Img,
            "file" => Kind::File,
            "audio" => Kind::Audio,
            "video" => Kind::Video,
            "read" => Kind::Read,
            "delivery" => Kind::Delivery,
            "channel" => Kind::Channel,
            _ => return None,
        })
    }

    /// Whether the message carries an attachment.
    pub fn is_attachment(self) -> bool {
        matches!(self, Kind::Img | Kind::File | Kind::Audio | Kind::Video)
    }
}

/// `msg.body` after `msg.set(options)`: the options the SDK keeps, under its own names.
#[derive(Debug, Clone)]
pub struct Body {
    /// `body.id`, the local id.
    pub id: u64,
    /// The message kind.
    pub kind: Kind,
    /// `body.to` (also what `onReceivedMessage.to` reports).
    pub to: Option<Value>,
    /// `body.chatType` (absent for read / delivery).
    pub chat_type: Option<Value>,
    /// `body.roomType`.
    pub room_type: Option<Value>,
    /// `body.ext`.
    pub ext: Option<Value>,
    /// `body.ackId` (read, delivery, recall).
    pub ack_id: Option<Value>,
    /// `body.msgConfig`.
    pub msg_config: Option<Value>,
    /// `body.ackContent`.
    pub ack_content: Option<Value>,
    /// The remaining options `l()` reads (`msg`, `action`, `customEvent`, `customExts`, `lat`,
    /// `lng`, `addr`, `body`).
    pub options: Map<String, Value>,
}

impl Body {
    /// What `msg.set(options)` keeps for this kind (L1790-1960).
    pub fn set(kind: Kind, id: u64, options: &Map<String, Value>) -> Body {
        let get = |k: &str| options.get(k).cloned();
        let or_default = |k: &str, default: Value| {
            Some(if js::truthy(options.get(k)) {
                options[k].clone()
            } else {
                default
            })
        };
        let mut body = Body {
            id,
            kind,
            to: get("to"),
            chat_type: None,
            room_type: None,
            ext: None,
            ack_id: None,
            msg_config: None,
            ack_content: None,
            options: Map::new(),
        };
        match kind {
            Kind::Read => {
                body.ack_id = get("id");
                if js::truthy(options.get("msgConfig")) {
                    body.msg_config = get("msgConfig");
                }
                if js::truthy(options.get("ackContent")) {
                    body.ack_content = get("ackContent");
                }
            }
            Kind::Delivery => body.ack_id = get("ackId"),
            Kind::Channel => body.chat_type = or_default("chatType", "singleChat".into()),
            Kind::Recall => {
                body.ack_id = get("mid");
                body.chat_type = match options.get("chatType") {
                    Some(Value::String(t)) if t == "chat" => Some("singleChat".into()),
                    other => other.cloned(),
                };
            }
            _ => {
                body.chat_type = or_default("chatType", "singleChat".into());
                body.room_type = or_default("roomType", Value::Bool(false));
                body.ext = or_default("ext", Value::Object(Map::new()));
                if kind == Kind::Txt && js::truthy(options.get("msgConfig")) {
                    body.msg_config = get("msgConfig");
                }
                for key in [
                    "msg",
                    "action",
                    "customEvent",
                    "customExts",
                    "lat",
                    "lng",
                    "addr",
                ] {
                    if let Some(v) = options.get(key) {
                        body.options.insert(key.into(), v.clone());
                    }
                }
                if let Some(v) = options.get("body") {
                    body.options.insert("body".into(), v.clone());
                }
                // only whether it was given (for the `room-type-as-room` fault switch)
                if let Some(v) = options.get("roomType") {
                    body.options.insert("roomType".into(), v.clone());
                }
            }
        }
        body
    }

    /// The three chat-type tests of `l()`: single (`p`), group (`h`), chat room (`f`).
    /// `body.group` is never set by `msg.set`, so only `chatType` and `roomType` matter.
    fn chat_kind(&self) -> (bool, bool, bool) {
        let chat_type = self.chat_type.as_ref().and_then(Value::as_str);
        let room_type = js::truthy(self.room_type.as_ref());
        let is = |names: &[&str]| chat_type.is_some_and(|t| names.contains(&t));
        let single = (!room_type && !is(&["chatRoom", "chatroom", "groupChat", "groupchat"]))
            || chat_type == Some("singleChat");
        let group = is(&["groupChat", "groupchat"]);
        let room = is(&["chatRoom", "chatroom"]);
        (single, group, room)
    }
}

/// Encodes `ext` / `customExts` as `l()` / `c()` do: a `for…in` over the value.
pub fn encode_ext(value: Option<&Value>, faults: &Faults) -> Vec<KeyValue> {
    let mut list = match value {
        Some(Value::Object(object)) => keyvalue::encode_object(object),
        Some(Value::Array(items)) => items
            .iter()
            .enumerate()
            .map(|(i, v)| keyvalue::encode(&i.to_string(), v))
            .collect(),
        Some(Value::String(s)) => s
            .chars()
            .enumerate()
            .map(|(i, c)| keyvalue::encode(&i.to_string(), &Value::String(c.to_string())))
            .collect(),
        _ => Vec::new(),
    };
    if faults.has(Fault::WrongExtType) {
        for kv in &mut list {
            if kv.r#type == Some(key_value::ValueType::Int as i32)
                && let Some(key_value::Value::VarintValue(v)) = kv.value
            {
                kv.r#type = Some(key_value::ValueType::Double as i32);
                kv.value = Some(key_value::Value::DoubleValue(v as f64));
            }
        }
    }
    list
}

fn ack_message_id(value: Option<&Value>) -> Option<u64> {
    match value? {
        Value::String(s) => Some(s.trim().parse().unwrap_or(0)),
        Value::Number(n) => Some(
            n.as_u64()
                .unwrap_or_else(|| n.as_f64().unwrap_or(0.0) as u64),
        ),
        _ => None,
    }
}

fn attachment_content(kind: Kind, body: Option<&Value>) -> message_body::Content {
    use message_body::content::{Size, Type};
    let field = |k: &str| body.and_then(|b| b.get(k));
    let mut content = message_body::Content {
        display_name: js::proto_string(field("filename")),
        remote_path: js::proto_string(field("url")),
        secret_key: js::proto_string(field("secret")),
        file_length: js::proto_int32(field("file_length")),
        thumbnail_display_name: js::proto_string(field("filename")),
        ..Default::default()
    };
    let size = || {
        field("size").filter(|v| v.is_object()).map(|s| Size {
            width: js::proto_double(s.get("width")),
            height: js::proto_double(s.get("height")),
        })
    };
    let kind_type = match kind {
        Kind::Img => {
            content.size = size();
            Type::Image
        }
        Kind::File => {
            content.size = size();
            Type::File
        }
        Kind::Audio => {
            content.duration = js::proto_int32(field("length"));
            Type::Voice
        }
        _ => {
            content.duration = js::proto_int32(field("length"));
            Type::Video
        }
    };
    content.r#type = Some(kind_type as i32);
    content
}

/// The `wrong-content-type` and `drop-content-field` switches, on a message's content.
fn break_content(content: &mut message_body::Content, faults: &Faults) {
    use message_body::content::Type;
    if faults.has(Fault::DropContentField) {
        content.action = None;
        content.custom_event = None;
        content.custom_exts.clear();
        content.address = None;
        content.remote_path = None;
    }
    if faults.has(Fault::WrongContentType) {
        let swapped = match content.r#type.and_then(|t| Type::try_from(t).ok()) {
            Some(Type::Image) => Type::File,
            Some(Type::File) => Type::Image,
            Some(Type::Voice) => Type::Video,
            Some(Type::Video) => Type::Voice,
            Some(Type::Location) => Type::Text,
            Some(Type::Command) => Type::Custom,
            Some(Type::Custom) => Type::Command,
            _ => return,
        };
        content.r#type = Some(swapped as i32);
    }
}

/// The `MSync{SYNC}` carrying a message, built as `l()` builds it.
pub fn message(identity: &Identity, body: &Body, faults: &Faults) -> MSync {
    use message_body::Type as BodyType;
    use message_body::content::Type;
    let (mut single, mut group, mut room) = body.chat_kind();
    if room && faults.has(Fault::RoomAsGroup) {
        (group, room) = (true, false);
    }
    if body.options.contains_key("roomType") && faults.has(Fault::RoomTypeAsRoom) {
        (single, group, room) = (false, false, true);
    }
    let opt = |k: &str| body.options.get(k);
    let mut content = message_body::Content::default();
    match body.kind {
        Kind::Txt => {
            content.r#type = Some(Type::Text as i32);
            content.text = js::proto_string(opt("msg"));
        }
        Kind::Cmd => {
            content.r#type = Some(Type::Command as i32);
            content.action = js::proto_string(opt("action"));
        }
        Kind::Custom => {
            content.r#type = Some(Type::Custom as i32);
            content.custom_event = js::proto_string(opt("customEvent"));
            if opt("customExts").is_some_and(|v| v.is_object() || v.is_array()) {
                content.custom_exts = encode_ext(opt("customExts"), faults);
            }
        }
        Kind::Loc => {
            content.r#type = Some(Type::Location as i32);
            content.latitude = js::proto_double(opt("lat"));
            content.longitude = js::proto_double(opt("lng"));
            content.address = js::proto_string(opt("addr"));
        }
        Kind::Img | Kind::File | Kind::Audio | Kind::Video => {
            content = attachment_content(body.kind, opt("body"));
        }
        Kind::Read | Kind::Delivery | Kind::Channel | Kind::Recall => {}
    }
    if body.kind != Kind::Txt {
        break_content(&mut content, faults);
    }
    let ext = if js::truthy(body.ext.as_ref()) {
        encode_ext(body.ext.as_ref(), faults)
    } else {
        Vec::new()
    };
    let to_name = js::proto_string(body.to.as_ref());
    let name_jid = |name: Option<String>| Jid {
        name,
        ..Default::default()
    };
    let msg_config = || {
        body.msg_config
            .as_ref()
            .map(|c| message_body::MessageConfig {
                allow_group_ack: match c.get("allowGroupAck") {
                    None | Some(Value::Null) => None,
                    Some(v) => Some(js::truthy(Some(v))),
                },
            })
    };
    let mut mb = MessageBody {
        from: Some(name_jid(identity.jid.name.clone())),
        to: Some(name_jid(to_name.clone())),
        contents: vec![content],
        ext,
        ..Default::default()
    };
    let read_type = if faults.has(Fault::ReadAsDelivery) {
        BodyType::DeliverAck
    } else {
        BodyType::ReadAck
    };
    let body_type = match body.kind {
        Kind::Channel if faults.has(Fault::ChannelAsRead) => Some(BodyType::ReadAck),
        Kind::Channel => Some(BodyType::ChannelAck),
        Kind::Recall => Some(BodyType::Recall),
        Kind::Delivery => Some(BodyType::DeliverAck),
        Kind::Read => Some(read_type),
        _ if single => Some(BodyType::Chat),
        _ if group => Some(BodyType::Groupchat),
        _ if room => Some(BodyType::Chatroom),
        _ => None,
    };
    match body.kind {
        Kind::Recall | Kind::Delivery => mb.ack_message_id = ack_message_id(body.ack_id.as_ref()),
        Kind::Read => {
            mb.ack_message_id = ack_message_id(body.ack_id.as_ref());
            if body.msg_config.is_some() && group {
                mb.msg_config = msg_config();
                mb.ack_content = js::proto_string(body.ack_content.as_ref());
            }
        }
        Kind::Channel => {}
        _ if !single && group => mb.msg_config = msg_config(),
        _ => {}
    }
    match body_type {
        Some(t) => mb.r#type = Some(t as i32),
        None => {
            mb.from = None;
            mb.to = None;
        }
    }
    let peer = |domain: &str| Jid {
        app_key: Some(identity.app_key.clone()),
        name: to_name.clone(),
        domain: Some(domain.to_string()),
        client_resource: None,
    };
    let conference_if = |yes: bool| {
        if yes {
            jid::CONFERENCE_DOMAIN
        } else {
            jid::USER_DOMAIN
        }
    };
    let (from, to) = match body.kind {
        Kind::Recall => (
            Some(identity.jid.clone()),
            Some(peer(conference_if(group || room))),
        ),
        Kind::Delivery => (Some(identity.jid.clone()), Some(peer(jid::USER_DOMAIN))),
        Kind::Read | Kind::Channel => {
            (Some(identity.jid.clone()), Some(peer(conference_if(group))))
        }
        _ if single => (Some(identity.jid.clone()), Some(peer(jid::USER_DOMAIN))),
        _ if group || room => {
            let domain = if faults.has(Fault::WrongChatDomain) {
                jid::USER_DOMAIN
            } else {
                jid::CONFERENCE_DOMAIN
            };
            (
                Some(Jid {
                    app_key: Some(identity.app_key.clone()),
                    name: Some(identity.user.clone()),
                    domain: Some(domain.to_string()),
                    client_resource: None,
                }),
                Some(peer(domain)),
            )
        }
        _ => (None, None),
    };
    let meta = Meta {
        id: Some(body.id),
        from,
        to,
        ns: Some(pb::meta::NameSpace::Chat as i32),
        payload: Some(mb.encode_to_vec()),
        ..Default::default()
    };
    let ul = pb::CommSyncUl {
        meta: Some(meta),
        ..Default::default()
    };
    MSync {
        guid: Some(identity.jid.clone()),
        ..identity.msync(pb::m_sync::Command::Sync, Some(ul.encode_to_vec()))
    }
}
