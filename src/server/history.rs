//! Conversations on the fake server: every user's history per conversation (for message
//! roaming) and unread counts (for the conversation list), and the two REST routes that read
//! them: `GET /{org}/{app}/users/{user}/user_channels` (`getSessionList`) and
//! `POST /{org}/{app}/users/{user}/messageroaming` (`fetchHistoryMessages`), wire notes section 8.
//!
//! Owns the [`Store`] (kept inside the world, fed by `session.rs` after routing) and these two
//! answers, shaped as the message guide documents them. It never touches sockets. A fault armed
//! `on = "history"` replaces the next roaming answer with an HTTP error.
//!
//! What the real server does beyond the documented shapes is inferred [inf]: roaming pages go
//! from the newest message back (`start = -1` is "the newest"), each page newest first, and
//! `next_key` is the id of the next older message; only content messages (not receipts) are
//! kept, and a recalled message leaves the history.

use super::Shared;
use super::faults::{FaultAction, FaultTrigger};
use super::observe::{HttpExchange, ObservationKind};
use super::policy::Destination;
use crate::wire::pb::{MessageBody, Meta, message_body::Type as BodyType};
use crate::wire::{canonical, jid, keyvalue};
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use prost::Message as _;
use serde_json::{Map, Value, json};
use std::collections::BTreeMap;
use std::sync::Arc;

/// A conversation as its owner sees it: the peer user, or the group / room.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct Channel {
    name: String,
    conference: bool,
}

impl Channel {
    fn domain(&self) -> &'static str {
        if self.conference {
            jid::CONFERENCE_DOMAIN
        } else {
            jid::USER_DOMAIN
        }
    }

    /// `alice@easemob.com`, as the roaming request names its queue.
    fn queue(&self) -> String {
        format!("{}@{}", self.name, self.domain())
    }

    /// Parses a roaming `queue`; a name without a domain is a user.
    fn parse(queue: &str) -> Channel {
        match queue.split_once('@') {
            Some((name, domain)) => Channel {
                name: name.to_string(),
                conference: domain == jid::CONFERENCE_DOMAIN,
            },
            None => Channel {
                name: queue.to_string(),
                conference: false,
            },
        }
    }
}

#[derive(Debug, Default)]
struct Conversation {
    /// Content messages, oldest first.
    metas: Vec<Meta>,
    /// Messages received since the owner's last channel ack.
    unread: u32,
}

/// Every user's conversations.
#[derive(Debug, Default)]
pub(crate) struct Store {
    conversations: BTreeMap<(String, Channel), Conversation>,
}

impl Store {
    /// Takes note of a message `sender` sent that the server routed to `destination`: content
    /// messages join the history of everyone in the conversation and count as unread for the
    /// recipients; a channel ack clears the sender's unread count of that conversation; a recall
    /// removes the message from every history.
    pub(crate) fn record(
        &mut self,
        sender: &str,
        destination: &Destination,
        meta: &Meta,
        body: &MessageBody,
    ) {
        let kind = BodyType::try_from(body.r#type.unwrap_or_default());
        match (kind, destination) {
            (Ok(BodyType::Chat | BodyType::Groupchat | BodyType::Chatroom), _) => {
                let (own, others) = match destination {
                    Destination::User(recipient) => (
                        Channel {
                            name: recipient.clone(),
                            conference: false,
                        },
                        vec![(
                            recipient.clone(),
                            Channel {
                                name: sender.to_string(),
                                conference: false,
                            },
                        )],
                    ),
                    Destination::Conference { id, recipients } => {
                        let group = Channel {
                            name: id.clone(),
                            conference: true,
                        };
                        let others = recipients
                            .iter()
                            .map(|r| (r.clone(), group.clone()))
                            .collect();
                        (group, others)
                    }
                };
                self.entry(sender, own).metas.push(meta.clone());
                for (recipient, channel) in others {
                    let conversation = self.entry(&recipient, channel);
                    conversation.metas.push(meta.clone());
                    conversation.unread += 1;
                }
            }
            (Ok(BodyType::ChannelAck), _) => {
                let channel = match destination {
                    Destination::User(peer) => Channel {
                        name: peer.clone(),
                        conference: false,
                    },
                    Destination::Conference { id, .. } => Channel {
                        name: id.clone(),
                        conference: true,
                    },
                };
                self.entry(sender, channel).unread = 0;
            }
            (Ok(BodyType::Recall), _) => {
                let mid = body.ack_message_id;
                for conversation in self.conversations.values_mut() {
                    conversation.metas.retain(|m| m.id != mid);
                }
            }
            _ => {}
        }
    }

    fn entry(&mut self, owner: &str, channel: Channel) -> &mut Conversation {
        self.conversations
            .entry((owner.to_string(), channel))
            .or_default()
    }

    /// `owner`'s conversation list: `{data: {channel_infos: [...]}}`, the conversation with
    /// the newest last message first.
    fn channel_infos(&self, app_key: &str, owner: &str) -> Value {
        let mut infos: Vec<(u64, Value)> = self
            .conversations
            .iter()
            .filter(|((o, _), _)| o == owner)
            .map(|((_, channel), conversation)| {
                let last = conversation.metas.last();
                let info = json!({
                    "channel_id": format!("{app_key}_{}", channel.queue()),
                    "meta": last.map_or(json!({}), |m| session_meta(app_key, m)),
                    "unread_num": conversation.unread,
                });
                (last.and_then(|m| m.id).unwrap_or(0), info)
            })
            .collect();
        infos.sort_by_key(|(last, _)| std::cmp::Reverse(*last));
        json!({"data": {"channel_infos": infos.into_iter().map(|(_, i)| i).collect::<Vec<_>>()}})
    }

    /// One roaming page of `owner`'s conversation `queue`, from `start` (`-1`: the newest)
    /// back, at most `page` metas. Returns the answer to send and its view for the recorder
    /// (each `msg` decoded to the canonical view).
    fn roaming(&self, owner: &str, queue: &str, start: &Value, page: usize) -> (Value, Value) {
        let empty = Vec::new();
        let metas = self
            .conversations
            .get(&(owner.to_string(), Channel::parse(queue)))
            .map_or(&empty, |c| &c.metas);
        let start: Option<u64> = match start {
            Value::String(s) => s.parse().ok(),
            Value::Number(n) => n.as_u64(),
            _ => None,
        };
        // Newest first, from `start` down.
        let older: Vec<&Meta> = metas
            .iter()
            .rev()
            .filter(|m| start.is_none_or(|s| m.id.unwrap_or(0) <= s))
            .collect();
        let taken: Vec<&Meta> = older.iter().take(page.max(1)).copied().collect();
        let next = older.get(taken.len()).and_then(|m| m.id);
        let next_key = next.map_or(String::new(), |id| id.to_string());
        let wire = base64::engine::general_purpose::STANDARD;
        let msgs: Vec<Value> = taken
            .iter()
            .map(|m| json!({"msg": wire.encode(m.encode_to_vec())}))
            .collect();
        let views: Vec<Value> = taken
            .iter()
            .map(|m| json!({"msg": canonical::meta(&m.encode_to_vec())}))
            .collect();
        let answer =
            |msgs| json!({"data": {"msgs": msgs, "next_key": next_key, "is_last": next.is_none()}});
        (answer(msgs), answer(views))
    }
}

/// The `meta` of a conversation-list entry, as in the guide's example: JIDs as
/// `appKey_name@domain[/resource]`, the body as a JSON string `{bodies, ext, from, to}`.
fn session_meta(app_key: &str, meta: &Meta) -> Value {
    // The sender is written as a user even for group messages (the guide's example).
    let full = |j: Option<&crate::wire::pb::Jid>, sender: bool| {
        let j = j.cloned().unwrap_or_default();
        let domain = match j.domain {
            Some(_) if sender => jid::USER_DOMAIN.to_string(),
            Some(d) => d,
            None => jid::USER_DOMAIN.to_string(),
        };
        let mut s = format!("{app_key}_{}@{domain}", j.name.unwrap_or_default());
        if let Some(resource) = j.client_resource.filter(|r| !r.is_empty()) {
            s = format!("{s}/{resource}");
        }
        s
    };
    let body = meta
        .payload
        .as_deref()
        .and_then(|b| MessageBody::decode(b).ok())
        .unwrap_or_default();
    let bodies: Vec<Value> = body.contents.iter().map(content_body).collect();
    let ext = keyvalue::decode_list(&body.ext).unwrap_or_default();
    let payload = json!({
        "bodies": bodies,
        "ext": ext,
        "from": jid::name_of(body.from.as_ref()),
        "to": jid::name_of(body.to.as_ref()),
    });
    json!({
        "from": full(meta.from.as_ref(), true),
        "id": meta.id.unwrap_or(0).to_string(),
        "payload": payload.to_string(),
        "timestamp": meta.timestamp.unwrap_or(0),
        "to": full(meta.to.as_ref(), false),
    })
}

/// One content as the REST API writes message bodies (`{"msg", "type": "txt"}`, ...).
fn content_body(content: &crate::wire::pb::message_body::Content) -> Value {
    let mut b = Map::new();
    let s = |v: &Option<String>| json!(v.clone().unwrap_or_default());
    let kind = match content.r#type.unwrap_or(0) {
        0 => {
            b.insert("msg".into(), s(&content.text));
            "txt"
        }
        1 => "img",
        2 => "video",
        3 => {
            b.insert("addr".into(), s(&content.address));
            b.insert("lat".into(), json!(content.latitude.unwrap_or(0.0)));
            b.insert("lng".into(), json!(content.longitude.unwrap_or(0.0)));
            "loc"
        }
        4 => "audio",
        5 => "file",
        6 => {
            b.insert("action".into(), s(&content.action));
            "cmd"
        }
        _ => {
            b.insert("customEvent".into(), s(&content.custom_event));
            "custom"
        }
    };
    if (1..=5).contains(&content.r#type.unwrap_or(0)) && content.r#type != Some(3) {
        b.insert("filename".into(), s(&content.display_name));
        b.insert("url".into(), s(&content.remote_path));
        b.insert("secret".into(), s(&content.secret_key));
    }
    b.insert("type".into(), json!(kind));
    Value::Object(b)
}

/// The user a `Bearer` token was issued to, when it is `user`.
fn authorised(shared: &Shared, headers: &HeaderMap, user: &str) -> bool {
    let token = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .unwrap_or("");
    shared
        .world()
        .token_owner(token)
        .is_some_and(|owner| owner.user == user)
}

fn unauthorised() -> (StatusCode, Value) {
    (
        StatusCode::UNAUTHORIZED,
        json!({"error": "unauthorized", "error_description": "Unable to authenticate due to corrupt access token"}),
    )
}

/// A REST request being answered: what the recorder needs besides the answer.
struct Asked<'a> {
    shared: &'a Shared,
    method: &'static str,
    uri: &'a Uri,
    user: &'a str,
    request: Value,
}

impl Asked<'_> {
    /// Records the exchange (with `recorded` as the response: roaming metas decoded) and
    /// answers `sent`.
    fn answer(self, status: StatusCode, sent: Value, recorded: Value) -> Response {
        self.shared.record(ObservationKind::Http(HttpExchange {
            method: self.method.to_string(),
            path: self.uri.path().to_string(),
            query: self.uri.query().map(str::to_string),
            user: Some(self.user.to_string()),
            request: self.request,
            status: status.as_u16(),
            response: recorded,
            headers: Default::default(),
        }));
        (status, axum::Json(sent)).into_response()
    }

    /// Answers a body recorded as sent.
    fn plain(self, status: StatusCode, body: Value) -> Response {
        self.answer(status, body.clone(), body)
    }
}

/// `GET /{org}/{app}/users/{user}/user_channels`.
pub(crate) async fn user_channels(
    State(shared): State<Arc<Shared>>,
    Path((_org, _app, user)): Path<(String, String, String)>,
    uri: Uri,
    headers: HeaderMap,
) -> Response {
    let (status, body) = if authorised(&shared, &headers, &user) {
        let world = shared.world();
        (
            StatusCode::OK,
            world.history.channel_infos(world.app_key(), &user),
        )
    } else {
        unauthorised()
    };
    Asked {
        shared: &shared,
        method: "GET",
        uri: &uri,
        user: &user,
        request: Value::Null,
    }
    .plain(status, body)
}

/// `POST /{org}/{app}/users/{user}/messageroaming` with the JSON text `{queue, start, end}`.
pub(crate) async fn message_roaming(
    State(shared): State<Arc<Shared>>,
    Path((_org, _app, user)): Path<(String, String, String)>,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let request: Value = serde_json::from_slice(&body)
        .unwrap_or_else(|_| json!({"text": String::from_utf8_lossy(&body)}));
    let asked = Asked {
        shared: &shared,
        method: "POST",
        uri: &uri,
        user: &user,
        request: request.clone(),
    };
    if !authorised(&shared, &headers, &user) {
        let (status, body) = unauthorised();
        return asked.plain(status, body);
    }
    let fault = shared
        .world()
        .faults
        .fire(FaultTrigger::History, Some(&user));
    if let Some(action) = fault {
        if let FaultAction::Http { status, body } = action {
            let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            return asked.plain(status, body);
        }
        let (status, reason) = match action {
            FaultAction::Status { code, reason } => (
                u16::try_from(code)
                    .ok()
                    .and_then(|c| StatusCode::from_u16(c).ok())
                    .filter(|c| !c.is_success())
                    .unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
                reason.unwrap_or_else(|| "load message error".into()),
            ),
            FaultAction::Drop
            | FaultAction::Delay { .. }
            | FaultAction::Close { .. }
            | FaultAction::Truncate
            | FaultAction::Http { .. } => (
                StatusCode::SERVICE_UNAVAILABLE,
                "service unavailable".to_string(),
            ),
        };
        let body = json!({"error": "load_message_error", "error_description": reason});
        return asked.plain(status, body);
    }
    let queue = request.get("queue").and_then(Value::as_str).unwrap_or("");
    let start = request.get("start").cloned().unwrap_or(Value::Null);
    let (sent, recorded) = {
        let world = shared.world();
        world
            .history
            .roaming(&user, queue, &start, world.spec().roaming_page_size)
    };
    asked.answer(StatusCode::OK, sent, recorded)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn meta(id: u64, text: &str) -> (Meta, MessageBody) {
        let body = MessageBody {
            r#type: Some(BodyType::Chat as i32),
            from: Some(jid::name_only("alice")),
            to: Some(jid::name_only("bob")),
            contents: vec![crate::wire::pb::message_body::Content {
                r#type: Some(0),
                text: Some(text.into()),
                ..Default::default()
            }],
            ..Default::default()
        };
        let meta = Meta {
            id: Some(id),
            timestamp: Some(id),
            from: Some(jid::user("org#app", "alice")),
            to: Some(jid::user("org#app", "bob")),
            payload: Some(body.encode_to_vec()),
            ..Default::default()
        };
        (meta, body)
    }

    #[test]
    fn unread_counts_pages_and_channel_acks() {
        let mut store = Store::default();
        let to_bob = Destination::User("bob".into());
        for id in 1..=3 {
            let (m, b) = meta(id, &format!("m{id}"));
            store.record("alice", &to_bob, &m, &b);
        }
        let list = store.channel_infos("org#app", "bob");
        let info = &list["data"]["channel_infos"][0];
        assert_eq!(info["channel_id"], "org#app_alice@easemob.com");
        assert_eq!(info["unread_num"], 3);
        assert_eq!(info["meta"]["id"], "3");
        assert_eq!(
            store.channel_infos("org#app", "alice")["data"]["channel_infos"][0]["unread_num"],
            0
        );
        let (page, _) = store.roaming("bob", "alice@easemob.com", &json!(-1), 2);
        assert_eq!(page["data"]["msgs"].as_array().unwrap().len(), 2);
        assert_eq!(page["data"]["next_key"], "1");
        assert_eq!(page["data"]["is_last"], false);
        let (last, view) = store.roaming("bob", "alice@easemob.com", &json!("1"), 2);
        assert_eq!(last["data"]["msgs"].as_array().unwrap().len(), 1);
        assert_eq!(last["data"]["is_last"], true);
        assert_eq!(view["data"]["msgs"][0]["msg"]["Meta"]["id"], "1");
        let ack = MessageBody {
            r#type: Some(BodyType::ChannelAck as i32),
            ..Default::default()
        };
        store.record(
            "bob",
            &Destination::User("alice".into()),
            &Meta::default(),
            &ack,
        );
        assert_eq!(
            store.channel_infos("org#app", "bob")["data"]["channel_infos"][0]["unread_num"],
            0
        );
    }
}
