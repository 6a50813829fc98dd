//! Metas received in a `CommSyncDL`, turned into the callbacks the 3.6.3 SDK fires, with the
//! exact objects it passes (`_metapayload` at bundle L4132, the CHAT receive function at
//! L2156-2410, the STATISTIC handler at L4925).
//!
//! Objects are built key by key in the SDK's order; a field the SDK sets to `undefined` is
//! left out, one it sets to `null` stays `null` (the JSON is compared as text). A JavaScript
//! exception the SDK would throw is returned as a [`Thrown`] so the caller can raise the same
//! `onError`. Pure code: no I/O, no clock.

use super::emoji;
use super::faults::{Fault, Faults};
use super::js;
use crate::driver::protocol::EmojiMap;
use crate::wire::keyvalue::{self, js_number};
use crate::wire::pb::{self, KeyValue, MessageBody, Meta, key_value, message_body};
use serde_json::{Map, Value, json};
use std::collections::VecDeque;

/// A callback and the object passed to it (`None`: called without argument).
pub type Callback = (&'static str, Option<Value>);

/// A JavaScript exception, serialised as the driver serialises an `Error`.
#[derive(Debug, Clone, PartialEq)]
pub struct Thrown(pub Map<String, Value>);

impl Thrown {
    /// An error of the given JavaScript class and message.
    pub fn new(name: &str, message: &str) -> Self {
        Thrown(js::error_object(name, message))
    }

    /// The `TypeError` of reading a property of `null`.
    pub fn null_property(property: &str) -> Self {
        Self::new(
            "TypeError",
            &format!("Cannot read properties of null (reading '{property}')"),
        )
    }
}

/// What the receiving side needs from the connection.
#[derive(Debug, Clone)]
pub struct Context<'a> {
    /// `conn.apiUrl`, the host of rebuilt attachment URLs.
    pub api_url: &'a str,
    /// `conn.useOwnUploadFun`.
    pub use_own_upload_fun: bool,
    /// `conn.token`.
    pub token: &'a str,
    /// The app's `WebIM.Emoji`, when it installed one.
    pub emoji: Option<&'a EmojiMap>,
    /// The fault switches.
    pub faults: &'a Faults,
}

/// `_load_msg_cache`: the ids of the last metas dispatched (at most 101, as the SDK keeps them).
#[derive(Debug, Default, Clone)]
pub struct MsgCache(VecDeque<String>);

impl MsgCache {
    /// Whether the id was dispatched already.
    pub fn contains(&self, id: &str) -> bool {
        self.0.iter().any(|x| x == id)
    }

    /// Records a dispatched id (`length <= 100 || shift()`, then `push`).
    pub fn push(&mut self, id: String) {
        if self.0.len() > 100 {
            self.0.pop_front();
        }
        self.0.push_back(id);
    }
}

/// What `_metapayload` did with one meta, in order.
#[derive(Debug)]
pub enum Dispatch {
    /// A callback it fired.
    Callback(Callback),
    /// The exception a meta threw (raised as `onError` 604 by the caller).
    Thrown(Thrown),
}

/// The outcome of `_metapayload` for the metas of one DL.
#[derive(Debug, Default)]
pub struct Dispatched {
    /// The callbacks and exceptions, in order.
    pub dispatches: Vec<Dispatch>,
    /// A STATISTIC meta set `conn.logOut = true`.
    pub logged_out: bool,
}

impl Dispatched {
    fn callback(&mut self, callback: Callback) {
        self.dispatches.push(Dispatch::Callback(callback));
    }
}

/// `_metapayload(metas, status, conn)`, except where 3.6.3 loses messages: a meta that throws
/// is reported and the loop goes on to the metas behind it in the same DL. In 3.6.3 the throw
/// ends the loop and the DL is still acked, so those metas are lost for good (wire notes §7;
/// fault `drop-after-bad-meta` restores that).
pub fn metapayload(
    metas: &[Meta],
    status: Option<&pb::Status>,
    cx: &Context<'_>,
    cache: &mut MsgCache,
) -> Dispatched {
    let mut out = Dispatched::default();
    for meta in metas {
        let id = meta.id.unwrap_or(0).to_string();
        if cache.contains(&id) && !cx.faults.has(Fault::NoDedupe) {
            continue;
        }
        let mut callbacks = Vec::new();
        let result = match meta.ns.unwrap_or(0) {
            1 => chat(meta, status, cx, &mut callbacks),
            0 => statistic(meta, &mut callbacks, &mut out.logged_out),
            ns => {
                eprintln!("[imspec-reference] meta {id} of ns {ns} ignored (not implemented)");
                Ok(())
            }
        };
        for callback in callbacks {
            out.callback(callback);
        }
        let thrown = match result {
            Err(thrown) => Some(thrown),
            Ok(()) if meta.from.is_none() => Some(Thrown::null_property("name")),
            Ok(()) => None,
        };
        match thrown {
            Some(thrown) => {
                out.dispatches.push(Dispatch::Thrown(thrown));
                if cx.faults.has(Fault::DropAfterBadMeta) {
                    return out;
                }
            }
            None => cache.push(id),
        }
    }
    out
}

fn decode<M: prost::Message + Default>(bytes: Option<&Vec<u8>>) -> Result<M, Thrown> {
    M::decode(bytes.map_or(&[][..], Vec::as_slice))
        .map_err(|e| Thrown::new("Error", &e.to_string()))
}

/// The STATISTIC handler: operations 1-4 log the user out with `onError` 207/206/216/217;
/// operation 0 goes to `onStatisticMessage`, which drivers do not forward.
fn statistic(
    meta: &Meta,
    callbacks: &mut Vec<Callback>,
    logged_out: &mut bool,
) -> Result<(), Thrown> {
    let body: pb::StatisticsBody = decode(meta.payload.as_ref())?;
    let (kind, message) = match body.operation.unwrap_or(0) {
        1 => (207, "user has been removed"),
        2 => (206, "the user is already logged on another device"),
        3 => (216, "the user was kicked by changing password"),
        4 => (217, "the user was kicked by other device"),
        _ => return Ok(()),
    };
    *logged_out = true;
    callbacks.push(("onError", Some(json!({"type": kind, "message": message}))));
    Ok(())
}

/// `l(h.ext)`: a KeyValue list as a JS object; a bad JSON_STRING throws.
fn ext_object(list: &[KeyValue]) -> Result<Value, Thrown> {
    keyvalue::decode_list(list)
        .map(Value::Object)
        .map_err(|e| Thrown::new("SyntaxError", &e.reason))
}

fn string_value(kv: &KeyValue) -> &str {
    match &kv.value {
        Some(key_value::Value::StringValue(s)) => s,
        _ => "",
    }
}

/// The CHAT receive function (`ns` 1) for one meta.
pub(super) fn chat(
    meta: &Meta,
    status: Option<&pb::Status>,
    cx: &Context<'_>,
    callbacks: &mut Vec<Callback>,
) -> Result<(), Thrown> {
    let time = meta.timestamp.unwrap_or(0).to_string();
    let h: MessageBody = decode(meta.payload.as_ref())?;
    let id = meta.id.unwrap_or(0).to_string();
    let mid = h.ack_message_id.unwrap_or(0).to_string();
    let name = |j: &Option<pb::Jid>| match j {
        None => Value::Null,
        Some(j) => json!(j.name.clone().unwrap_or_default()),
    };
    let (from, to) = (name(&h.from), name(&h.to));
    let chat_type = match h.r#type.unwrap_or(0) {
        1 => json!("chat"),
        2 => json!("groupchat"),
        3 => json!("chatroom"),
        4 => {
            let data = if h.msg_config.is_some() {
                let mut d = Map::new();
                d.insert("mid".into(), json!(mid));
                if let Some(first) = h.ext.first() {
                    let count: Value = serde_json::from_str(string_value(first))
                        .map_err(|e| Thrown::new("SyntaxError", &e.to_string()))?;
                    d.insert("groupReadCount".into(), count);
                }
                d.insert(
                    "ackContent".into(),
                    json!(h.ack_content.clone().unwrap_or_default()),
                );
                Value::Object(d)
            } else {
                json!({"mid": mid})
            };
            callbacks.push(("onReadMessage", Some(data)));
            return Ok(());
        }
        5 => {
            let data = json!({"from": from, "to": to, "mid": mid});
            callbacks.push(("onDeliveredMessage", Some(data)));
            return Ok(());
        }
        6 => {
            let data = json!({"from": from, "to": to, "mid": mid});
            callbacks.push(("onRecallMessage", Some(data)));
            return Ok(());
        }
        7 => {
            callbacks.push(("onChannelMessage", Some(json!({"from": from, "to": to}))));
            return Ok(());
        }
        _ => Value::Null,
    };
    let msg_config = h.msg_config.as_ref().map_or(Value::Null, |c| {
        let mut m = Map::new();
        if let Some(allow) = c.allow_group_ack {
            m.insert("allowGroupAck".into(), json!(allow));
        }
        Value::Object(m)
    });
    for content in &h.contents {
        let Some(status) = status else {
            return Err(Thrown::null_property("errorCode"));
        };
        let error_code = status.error_code.unwrap_or(0);
        let reason = status.reason.clone().unwrap_or_default();
        let ext = ext_object(&h.ext)?;
        let common = Common {
            id: &id,
            chat_type: &chat_type,
            from: &from,
            to: &to,
            ext,
            time: &time,
            msg_config: &msg_config,
            error: (error_code > 0, reason, error_code),
        };
        match content_event(&h, content, &common, cx) {
            Ok(Some(callback)) => callbacks.push(callback),
            Ok(None) => {}
            Err(thrown) => callbacks.push((
                "onError",
                Some(json!({"type": 31, "message": "parsing message error", "data": thrown.0})),
            )),
        }
    }
    Ok(())
}

/// The fields every content event shares.
struct Common<'a> {
    id: &'a str,
    chat_type: &'a Value,
    from: &'a Value,
    to: &'a Value,
    ext: Value,
    time: &'a str,
    msg_config: &'a Value,
    /// `error`, `errorText`, `errorCode` from the DL's status.
    error: (bool, String, i32),
}

/// Builds an event object key by key.
struct Obj(Map<String, Value>);

impl Obj {
    fn set(mut self, key: &str, value: Value) -> Self {
        self.0.insert(key.to_string(), value);
        self
    }
    fn set_opt(self, key: &str, value: Option<Value>) -> Self {
        match value {
            Some(v) => self.set(key, v),
            None => self,
        }
    }
}

const CONTENTS_TYPE: [&str; 8] = [
    "TEXT", "IMAGE", "VIDEO", "LOCATION", "VOICE", "FILE", "COMMAND", "CUSTOM",
];

/// `String.prototype.substr(start)` of `s.indexOf("/", 9)`.
fn path_of(remote: &str) -> String {
    let chars: Vec<char> = remote.chars().collect();
    let start = chars
        .iter()
        .enumerate()
        .skip(9)
        .find(|(_, c)| **c == '/')
        .map_or(chars.len().saturating_sub(1), |(i, _)| i);
    chars[start.min(chars.len())..].iter().collect()
}

/// The attachment URL the SDK rebuilds on the receiver's `apiUrl`.
fn attachment_url(content: &message_body::Content, cx: &Context<'_>) -> String {
    let remote = content.remote_path.clone().unwrap_or_default();
    let mut url = if cx.use_own_upload_fun {
        remote
    } else if remote.is_empty() {
        "?em-redirect=true".to_string()
    } else {
        format!("{}{}?em-redirect=true", cx.api_url, path_of(&remote))
    };
    if let Some(secret) = content.secret_key.as_deref().filter(|s| !s.is_empty()) {
        url = format!("{url}&share-secret={secret}");
    }
    url
}

fn or_empty(n: Option<i32>) -> Value {
    match n.unwrap_or(0) {
        0 => json!(""),
        v => json!(v),
    }
}

fn content_event(
    h: &MessageBody,
    content: &message_body::Content,
    c: &Common<'_>,
    cx: &Context<'_>,
) -> Result<Option<Callback>, Thrown> {
    let kind = content.r#type.unwrap_or(0);
    let Some(contents_type) = usize::try_from(kind)
        .ok()
        .and_then(|k| CONTENTS_TYPE.get(k))
    else {
        return Ok(None);
    };
    let drop_ext = cx.faults.has(Fault::DropExt);
    let head = Obj(Map::new())
        .set("id", json!(c.id))
        .set("type", c.chat_type.clone())
        .set("contentsType", json!(contents_type))
        .set("from", c.from.clone())
        .set("to", c.to.clone());
    let ext = (!drop_ext).then(|| c.ext.clone());
    let tail = |o: Obj| {
        o.set_opt("ext", ext.clone())
            .set("time", json!(c.time))
            .set("msgConfig", c.msg_config.clone())
            .set("error", json!(c.error.0))
            .set("errorText", json!(c.error.1))
            .set("errorCode", json!(c.error.2))
    };
    let s = |v: &Option<String>| json!(v.clone().unwrap_or_default());
    let token = json!(cx.token);
    let segments = cx
        .emoji
        .filter(|_| !cx.faults.has(Fault::NoEmoji))
        .and_then(|map| {
            let text = content.text.as_deref().unwrap_or_default();
            emoji::segments(text, map, cx.faults.has(Fault::EmojiNoPath))
        });
    let (name, obj) = match kind {
        0 if segments.is_some() => {
            let data = segments;
            let o = Obj(Map::new())
                .set("id", json!(c.id))
                .set("type", c.chat_type.clone())
                .set("contentsType", json!("EMOJI"))
                .set("from", c.from.clone())
                .set("to", c.to.clone())
                .set_opt("data", data);
            ("onEmojiMessage", tail(o))
        }
        0 => {
            let mut text = content.text.clone().unwrap_or_default();
            if cx.faults.has(Fault::WrongText) {
                text.push_str(" [altered]");
            }
            let o = head
                .set("data", json!(text))
                .set_opt("ext", ext.clone())
                .set("sourceMsg", s(&content.text))
                .set("time", json!(c.time))
                .set("msgConfig", c.msg_config.clone())
                .set("error", json!(c.error.0))
                .set("errorText", json!(c.error.1))
                .set("errorCode", json!(c.error.2));
            ("onTextMessage", o)
        }
        1 => {
            let size = content.size.as_ref();
            let dim = |d: Option<f64>| js_number(d.unwrap_or(0.0));
            let o = head
                .set("url", json!(attachment_url(content, cx)))
                .set("secret", s(&content.secret_key))
                .set("filename", s(&content.display_name))
                .set("thumb", s(&content.thumbnail_remote_path))
                .set("thumb_secret", s(&content.thumbnail_secret_key))
                .set("file_length", or_empty(content.file_length))
                .set_opt("width", size.map(|z| dim(z.width)))
                .set_opt("height", size.map(|z| dim(z.height)))
                .set("filetype", json!(""))
                .set("accessToken", token);
            ("onPictureMessage", tail(o))
        }
        2 => {
            let o = head
                .set("url", json!(attachment_url(content, cx)))
                .set("secret", s(&content.secret_key))
                .set("filename", s(&content.display_name))
                .set("length", or_empty(content.duration))
                .set("file_length", or_empty(content.file_length))
                .set("filetype", json!(""))
                .set("accessToken", token);
            ("onVideoMessage", tail(o))
        }
        3 => {
            let o = head
                .set("addr", s(&content.address))
                .set("lat", js_number(content.latitude.unwrap_or(0.0)))
                .set("lng", js_number(content.longitude.unwrap_or(0.0)));
            ("onLocationMessage", tail(o))
        }
        4 => {
            let o = head
                .set("url", json!(attachment_url(content, cx)))
                .set("secret", s(&content.secret_key))
                .set("filename", s(&content.display_name))
                .set("file_length", or_empty(content.file_length))
                .set("accessToken", token)
                .set_opt("ext", ext.clone())
                .set("length", json!(content.duration.unwrap_or(0)))
                .set("time", json!(c.time))
                .set("msgConfig", c.msg_config.clone())
                .set("error", json!(c.error.0))
                .set("errorText", json!(c.error.1))
                .set("errorCode", json!(c.error.2));
            ("onAudioMessage", o)
        }
        5 => {
            let o = head
                .set("url", json!(attachment_url(content, cx)))
                .set("secret", s(&content.secret_key))
                .set("filename", s(&content.display_name))
                .set("file_length", json!(content.file_length.unwrap_or(0)))
                .set("accessToken", token);
            ("onFileMessage", tail(o))
        }
        6 => ("onCmdMessage", tail(head.set("action", s(&content.action)))),
        _ => {
            // customExts / params of contents[0], whatever the index of this content
            let first = h.contents.first();
            let custom_exts = ext_object(first.map_or(&[][..], |f| &f.custom_exts))?;
            let params = ext_object(first.map_or(&[][..], |f| &f.params))?;
            let o = head
                .set("customEvent", s(&content.custom_event))
                .set("params", params)
                .set("customExts", custom_exts)
                .set_opt("ext", ext.clone())
                .set("time", json!(c.time));
            ("onCustomMessage", o)
        }
    };
    Ok(Some((name, Some(Value::Object(obj.0)))))
}
