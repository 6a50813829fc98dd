//! The msync logic of one connection, as a state machine: an uplink `MSync`, the virtual `now`
//! and the world in; the frames to send (to this socket, or as notices to users) out.
//!
//! Owns the meaning of PROVISION, UNREAD and SYNC (wire notes section 3), routing of chat metas
//! into queues (single chat, groups, chat rooms), and where armed faults replace the normal answer. It never touches
//! sockets, the recorder or the host clock, so every case is unit-tested without I/O
//! (`session_tests.rs`). What the world refuses is decided in `policy.rs`.

use super::faults::{FaultAction, FaultTrigger};
use super::policy::{self, Destination};
use super::world::World;
use crate::wire::frame::{decode_payload, server_msync};
use crate::wire::jid;
use crate::wire::pb::{
    self, CommNotice, CommSyncDl, CommSyncUl, CommUnreadDl, Jid, Meta, Provision, Status,
    m_sync::Command, meta::NameSpace, provision::CompressDirection, provision::CompressType,
    status::ErrorCode,
};
use prost::Message as _;

/// The name the server gives the sender of STATISTIC kick metas (observed session, end).
pub(crate) const ADMIN: &str = "admin";

/// What handling one uplink frame asks the connection glue to do, in order.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Effect {
    /// Send this frame on this socket.
    Reply(pb::MSync),
    /// Send this frame to every online socket of `user`.
    Notify {
        /// The recipient.
        user: String,
        /// The frame (a NOTICE).
        msync: pb::MSync,
    },
    /// Close this socket (SockJS `c[code,"reason"]`, or a WebSocket close frame).
    Close {
        /// Close code.
        code: u16,
        /// Close reason.
        reason: String,
    },
    /// Send this frame on this socket once the virtual clock reaches `at` (a `delay` fault).
    Held {
        /// Virtual ms from which it may be sent.
        at: u64,
        /// The frame.
        msync: pb::MSync,
    },
    /// The frame is not valid msync; record it and go on without an answer.
    Bad(String),
}

/// The msync state of one connection.
#[derive(Debug, Default)]
pub(crate) struct Session {
    /// The user a PROVISION named (accepted or not).
    user: Option<String>,
    /// The full JID of the accepted login (with `clientResource`), `None` until then.
    jid: Option<Jid>,
    /// Whether LZ4 uplink compression was negotiated at PROVISION.
    lz4_uplink: bool,
}

impl Session {
    /// The user the connection's PROVISION named, if any (for the recorder).
    pub(crate) fn user(&self) -> Option<&str> {
        self.user.as_deref()
    }

    /// Whether the frames after the PROVISION answer come LZ4-compressed (4.x, negotiated).
    pub(crate) fn lz4_uplink(&self) -> bool {
        self.lz4_uplink
    }

    /// The user the connection is logged in as (PROVISION accepted), if any (for routing).
    pub(crate) fn online_user(&self) -> Option<&str> {
        self.jid.as_ref().and(self.user.as_deref())
    }

    /// Takes the user name from a PROVISION frame before it is recorded, so the record of the
    /// PROVISION itself names its user.
    pub(crate) fn note(&mut self, msync: &pb::MSync) {
        if msync.command == Some(Command::Provision as i32)
            && let Some(name) = msync.guid.as_ref().and_then(|g| g.name.as_ref())
        {
            self.user = Some(name.clone());
        }
    }

    /// Handles one uplink frame at virtual time `now`.
    pub(crate) fn handle(&mut self, msync: &pb::MSync, now: u64, world: &mut World) -> Vec<Effect> {
        self.note(msync);
        // proto2 default of `MSync.command` is SYNC (0).
        let command = msync.command.unwrap_or(Command::Sync as i32);
        match Command::try_from(command) {
            Ok(Command::Provision) => self.provision(msync, world),
            Ok(Command::Unread) => self.unread(now, world),
            Ok(Command::Sync) => self.sync(msync, now, world),
            Ok(Command::Notice) => vec![Effect::Bad("NOTICE is a downlink command".into())],
            // 4.x `close()`: the client closes the socket right after it; nothing to answer.
            Ok(Command::Logout) => Vec::new(),
            Err(_) => vec![Effect::Bad(format!("unknown MSync command {command}"))],
        }
    }

    fn provision(&mut self, msync: &pb::MSync, world: &mut World) -> Vec<Effect> {
        let provision: Provision = match payload("Provision", msync) {
            Ok(p) => p,
            Err(error) => return vec![Effect::Bad(error)],
        };
        self.jid = None;
        if let Some(action) = world.faults.fire(FaultTrigger::Provision, self.user()) {
            return fault(action, |status| provision_reply(status, None));
        }
        let name = self.user.clone().unwrap_or_default();
        // 3.x: `MSync.auth` and `Provision.auth`; 4.x: `MSync.auth` and `Provision.authToken`
        // (`{"token":"$t$…"}`, no `Provision.auth`).
        let auth_token = provision
            .auth_token
            .as_deref()
            .and_then(token_in_auth_token);
        let auth = msync
            .auth
            .as_deref()
            .filter(|a| !a.is_empty())
            .or(provision.auth.as_deref())
            .or(auth_token.as_deref())
            .unwrap_or("");
        let token = auth.strip_prefix("$t$").unwrap_or(auth);
        let status = match world.token_owner(token) {
            Some(owner) if owner.user == name && owner.expired => {
                status(ErrorCode::TokenExpired as i32, Some("token expired"))
            }
            Some(owner) if owner.user == name => ok(),
            _ => status(ErrorCode::Unauthorized as i32, Some("invalid token")),
        };
        if status.error_code != ok().error_code {
            return vec![Effect::Reply(provision_reply(status, None))];
        }
        let guid = msync.guid.clone().unwrap_or_default();
        self.jid = Some(Jid {
            app_key: guid.app_key.or_else(|| Some(world.app_key().to_string())),
            name: Some(name),
            domain: guid.domain.or_else(|| Some(jid::USER_DOMAIN.to_string())),
            client_resource: provision.resource.clone().or(guid.client_resource),
        });
        let mut reply = provision_reply(status, provision.resource);
        let lz4 = CompressType::CompressLz4 as i32;
        self.lz4_uplink = world.spec().lz4 && provision.protocol_compress_type.contains(&lz4);
        if provision.session_id.is_some() {
            // 4.x: the session id comes back (wire notes 4.x, section 4, step 3), and LZ4 uplink
            // compression is accepted when the world allows it (section 2, "Compression").
            let echoed = Provision {
                status: Some(ok()),
                resource: self.jid.as_ref().and_then(|j| j.client_resource.clone()),
                session_id: provision.session_id,
                protocol_compress_type: if self.lz4_uplink {
                    vec![lz4]
                } else {
                    Vec::new()
                },
                protocol_compress_direction: self
                    .lz4_uplink
                    .then_some(CompressDirection::OnlyUp as i32),
                ..Default::default()
            };
            reply = server_msync(Command::Provision, &echoed);
        }
        vec![Effect::Reply(reply)]
    }

    fn unread(&mut self, now: u64, world: &mut World) -> Vec<Effect> {
        if let Some(action) = world.faults.fire(FaultTrigger::Unread, self.user()) {
            return fault(action, |status| {
                server_msync(
                    Command::Unread,
                    &CommUnreadDl {
                        status: Some(status),
                        ..Default::default()
                    },
                )
            });
        }
        let (status, unread) = match self.online_user() {
            Some(user) => (ok(), world.unread(user)),
            None => (not_provisioned(), Vec::new()),
        };
        let dl = CommUnreadDl {
            status: Some(status),
            unread,
            timestamp: Some(now),
        };
        vec![Effect::Reply(server_msync(Command::Unread, &dl))]
    }

    fn sync(&mut self, msync: &pb::MSync, now: u64, world: &mut World) -> Vec<Effect> {
        let ul: CommSyncUl = match payload("CommSyncUL", msync) {
            Ok(ul) => ul,
            Err(error) => return vec![Effect::Bad(error)],
        };
        if let Some(meta) = ul.meta {
            return self.uplink_meta(meta, now, world);
        }
        let Some(queue) = ul.queue else {
            return vec![Effect::Bad("CommSyncUL has neither meta nor queue".into())];
        };
        let Some(user) = self.online_user() else {
            return vec![sync_reply(CommSyncDl {
                status: Some(not_provisioned()),
                queue: Some(queue),
                timestamp: Some(now),
                ..Default::default()
            })];
        };
        if let Some(key) = ul.key {
            world.ack(user, &queue, key);
        }
        let metas = world.pending(user, &queue);
        let dl = match metas.last().and_then(|m| m.id) {
            Some(last) => CommSyncDl {
                status: Some(ok()),
                metas,
                next_key: Some(last),
                queue: Some(queue),
                is_last: Some(false),
                timestamp: Some(now),
                ..Default::default()
            },
            None => CommSyncDl {
                status: Some(ok()),
                next_key: Some(0),
                queue: Some(queue),
                is_last: Some(true),
                timestamp: Some(now),
                ..Default::default()
            },
        };
        vec![sync_reply(dl)]
    }

    fn uplink_meta(&mut self, meta: Meta, now: u64, world: &mut World) -> Vec<Effect> {
        let meta_id = meta.id;
        let chat = meta.ns == Some(NameSpace::Chat as i32);
        let mut fired = chat
            .then(|| world.faults.fire(FaultTrigger::Message, self.user()))
            .flatten();
        if let Some(FaultAction::Delay { ms }) = fired {
            let effects = self.uplink_meta(meta, now, world);
            return hold(effects, now.saturating_add(ms));
        }
        if let Some(action) = fired.take() {
            let server_id = world.next_server_id();
            return fault(action, |status| {
                server_msync(
                    Command::Sync,
                    &CommSyncDl {
                        status: Some(status),
                        meta_id,
                        server_id: Some(server_id),
                        timestamp: Some(now),
                        ..Default::default()
                    },
                )
            });
        }
        let (Some(user), Some(from)) = (self.online_user(), self.jid.clone()) else {
            return vec![sync_reply(CommSyncDl {
                status: Some(not_provisioned()),
                meta_id,
                timestamp: Some(now),
                ..Default::default()
            })];
        };
        let user = user.to_string();
        let server_id = world.next_server_id();
        let ack = |status| {
            sync_reply(CommSyncDl {
                status: Some(status),
                meta_id,
                server_id: Some(server_id),
                timestamp: Some(now),
                ..Default::default()
            })
        };
        // STATISTIC metas (login and heartbeat statistics) and the namespaces not modelled yet
        // (MUC, ROSTER, CONFERENCE) are acknowledged and go nowhere.
        if !chat {
            return vec![ack(ok())];
        }
        let to = meta.to.unwrap_or_default();
        let body = meta
            .payload
            .as_deref()
            .and_then(|bytes| pb::MessageBody::decode(bytes).ok())
            .unwrap_or_default();
        let recall = body.r#type == Some(pb::message_body::Type::Recall as i32);
        let mid = body.ack_message_id.unwrap_or(0);
        if recall && let Err(refusal) = world.recalls.check(world.spec(), &user, mid, now) {
            return vec![ack(refusal)];
        }
        let destination = match policy::admit(world, &user, &to, &body) {
            Ok(destination) => destination,
            Err(refusal) => return vec![ack(refusal)],
        };
        let from = match &destination {
            Destination::User(_) => from,
            Destination::Conference { .. } => Jid {
                domain: Some(jid::CONFERENCE_DOMAIN.to_string()),
                ..from
            },
        };
        let stored = Meta {
            id: Some(server_id),
            from: Some(from),
            to: Some(to),
            timestamp: Some(now),
            ns: Some(NameSpace::Chat as i32),
            payload: meta.payload,
            routetype: None,
            ..Default::default()
        };
        remember(world, &user, &destination, &stored, &body, now);
        let mut effects = vec![ack(ok())];
        effects.extend(route(world, &user, destination, stored));
        effects
    }
}

/// Takes note of a routed message for recall and for the conversations (history, unread
/// counts): a content message can be recalled by its sender, a recalled one no more.
pub(crate) fn remember(
    world: &mut World,
    sender: &str,
    destination: &Destination,
    meta: &Meta,
    body: &pb::MessageBody,
    now: u64,
) {
    use pb::message_body::Type as BodyType;
    match BodyType::try_from(body.r#type.unwrap_or_default()) {
        Ok(BodyType::Chat | BodyType::Groupchat | BodyType::Chatroom) => {
            world.recalls.remember(meta.id.unwrap_or(0), sender, now);
        }
        Ok(BodyType::Recall) => world.recalls.forget(body.ack_message_id.unwrap_or(0)),
        _ => {}
    }
    world.history.record(sender, destination, meta, body);
}

/// Stores `meta` (already carrying its server id) for its recipients and returns their
/// NOTICEs. A single chat goes to the recipient's queue named after the sender; a group or
/// room message to each recipient's queue named after the group. An unknown single-chat
/// recipient gets nothing: the message is dropped after the sender's OK ack (what the real
/// server does is not known).
pub(crate) fn route(
    world: &mut World,
    sender: &str,
    destination: Destination,
    meta: Meta,
) -> Vec<Effect> {
    let (queue, recipients) = match destination {
        Destination::User(recipient) => {
            if !world.has_user(&recipient) {
                return Vec::new();
            }
            (jid::user(world.app_key(), sender), vec![recipient])
        }
        Destination::Conference { id, recipients } => {
            (jid::conference(world.app_key(), &id), recipients)
        }
    };
    recipients
        .into_iter()
        .map(|recipient| {
            world.push(&recipient, queue.clone(), meta.clone());
            Effect::Notify {
                user: recipient,
                msync: notice(queue.clone()),
            }
        })
        .collect()
}

/// Queues a STATISTIC meta `{operation}` from `admin` for `user` (a kick, as in the observed
/// session) and returns the NOTICE for the user.
pub(crate) fn admin_statistic(
    world: &mut World,
    user: &str,
    operation: pb::statistics_body::Operation,
    now: u64,
) -> Effect {
    let queue = jid::user(world.app_key(), ADMIN);
    let body = pb::StatisticsBody {
        operation: Some(operation as i32),
        ..Default::default()
    };
    let meta = Meta {
        id: Some(world.next_server_id()),
        from: Some(queue.clone()),
        to: Some(jid::user(world.app_key(), user)),
        timestamp: Some(now),
        ns: Some(NameSpace::Statistic as i32),
        payload: Some(body.encode_to_vec()),
        routetype: None,
        ..Default::default()
    };
    world.push(user, queue.clone(), meta);
    Effect::Notify {
        user: user.to_string(),
        msync: notice(queue),
    }
}

/// `MSync{command:NOTICE, payload:CommNotice{queue}}`.
pub(crate) fn notice(queue: Jid) -> pb::MSync {
    server_msync(Command::Notice, &CommNotice { queue: Some(queue) })
}

fn payload<M: prost::Message + Default>(
    name: &'static str,
    msync: &pb::MSync,
) -> Result<M, String> {
    decode_payload(name, msync.payload.as_deref().unwrap_or_default()).map_err(|e| e.to_string())
}

/// The answers to this socket held until virtual time `at`; notices to others go out now.
fn hold(effects: Vec<Effect>, at: u64) -> Vec<Effect> {
    effects
        .into_iter()
        .map(|effect| match effect {
            Effect::Reply(msync) => Effect::Held { at, msync },
            other => other,
        })
        .collect()
}

/// The effects of a fired fault; `answer` builds the frame for a `Status` action.
fn fault(action: FaultAction, answer: impl FnOnce(Status) -> pb::MSync) -> Vec<Effect> {
    match action {
        FaultAction::Status { code, reason } => vec![Effect::Reply(answer(Status {
            error_code: Some(code),
            reason,
            redirect_info: Vec::new(),
        }))],
        // `uplink_meta` handles a delay before it gets here; elsewhere it is refused at load.
        FaultAction::Drop
        | FaultAction::Delay { .. }
        | FaultAction::Http { .. }
        | FaultAction::Truncate => Vec::new(),
        FaultAction::Close { code, reason } => vec![Effect::Close { code, reason }],
    }
}

fn provision_reply(status: Status, resource: Option<String>) -> pb::MSync {
    let provision = Provision {
        status: Some(status),
        resource,
        ..Default::default()
    };
    server_msync(Command::Provision, &provision)
}

/// The token inside a 4.x `Provision.authToken` (`{"token":"$t$TOK"}`), if it is that JSON.
fn token_in_auth_token(json: &str) -> Option<String> {
    let value: serde_json::Value = serde_json::from_str(json).ok()?;
    value.get("token")?.as_str().map(str::to_string)
}

fn sync_reply(dl: CommSyncDl) -> Effect {
    Effect::Reply(server_msync(Command::Sync, &dl))
}

fn ok() -> Status {
    status(ErrorCode::Ok as i32, None)
}

fn not_provisioned() -> Status {
    status(ErrorCode::Unauthorized as i32, Some("not provisioned"))
}

fn status(code: i32, reason: Option<&str>) -> Status {
    Status {
        error_code: Some(code),
        reason: reason.map(str::to_string),
        redirect_info: Vec::new(),
    }
}

#[cfg(test)]
#[path = "session_tests.rs"]
mod tests;
