//! One user's connection, as one `WebIM.connection` of the 3.6.3 SDK behaves: login, the msync
//! state (`_msgHash`, `_queues`, `_load_msg_cache`, `logOut`), the socket's `onmessage` /
//! `onclose` handlers (bundle L7825-7990) and `conn.send` / `recallMessage` / `close`.
//!
//! Handlers never do I/O: they emit callbacks and queue [`Action`]s, which `task::run` (the owner
//! of the socket) carries out after each SockJS message, request or timer. The requests and
//! the acks that settle them are in `requests`.

use super::faults::{Fault, Faults};
use super::incoming::{self, Dispatch, MsgCache, Thrown};
use super::js;
use super::options::ConnectOptions;
use super::outgoing::{self, Identity, ProvisionFields};
use super::output::UserOut;
use crate::wire::frame;
use crate::wire::pb::{self, Jid, MSync};
use serde_json::{Map, Value, json};
use std::collections::HashMap;
use std::time::Duration;
use tokio::time::Instant;

/// A request for an open connection, forwarded by the stdio loop.
#[derive(Debug)]
pub enum Command {
    /// `send`: `new message(type, getUniqueId())`, `set(args)`, `conn.send(msg.body)`.
    Send {
        /// Request id.
        id: u64,
        /// The options of `msg.set`.
        args: Map<String, Value>,
    },
    /// `recall`: `conn.recallMessage({mid, to, type})`.
    Recall {
        /// Request id.
        id: u64,
        /// `{mid, to, chatType}`.
        args: Map<String, Value>,
    },
    /// `history`: `conn.fetchHistoryMessages({queue, isGroup, count})`.
    History {
        /// Request id.
        id: u64,
        /// `{queue, isGroup, count, start}`.
        args: Map<String, Value>,
    },
    /// `sessions`: `conn.getSessionList()`.
    Sessions {
        /// Request id.
        id: u64,
    },
    /// `download`: `utils.download({url, secret, headers})`.
    Download {
        /// Request id.
        id: u64,
        /// `{url, secret, headers}`.
        args: Map<String, Value>,
    },
    /// `disconnect`: `conn.close()`.
    Disconnect {
        /// Request id.
        id: u64,
    },
    /// `fire-timer` (the `timers` capability): the earliest pending timer fires now, when it is
    /// due within `within`.
    FireTimer {
        /// Request id.
        id: u64,
        /// How far ahead a timer may be due.
        within: Duration,
    },
    /// `sync`, forwarded to every connection: answered once the connection has handled every
    /// socket message and command before it and none of its HTTP requests is in flight, so
    /// every callback that follows from what the server already sent is written.
    Sync {
        /// Answered then.
        done: tokio::sync::oneshot::Sender<()>,
    },
}

/// `Date(2010, 1, 1)` (1 February 2010, taken as UTC), the epoch of `getUniqueId`.
pub(super) const UNIQUE_ID_EPOCH_MS: u64 = 1_264_982_400_000;
/// The re-pull timer of a NOTICE (`qTimer`).
const Q_TIMER: Duration = Duration::from_secs(10);

/// A `_msgHash` entry: what the ack of a sent meta resolves.
#[derive(Debug, Clone)]
pub(super) struct Sent {
    /// `body.to`, reported in `onReceivedMessage`.
    pub(super) to: Option<Value>,
    /// The request whose reply waits for the ack.
    pub(super) request: u64,
    /// A recall replies `{}` instead of the ids.
    pub(super) recall: bool,
}

/// The socket as the SDK sees `conn.sock`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Sock {
    /// No SockJS object yet (the token request has not succeeded).
    Absent,
    /// `readyState` OPEN.
    Open,
    /// `readyState` CLOSED.
    Closed,
}

/// What the handlers ask the socket owner to do.
#[derive(Debug)]
pub(super) enum Action {
    Frame(Box<MSync>),
    Http(super::attachments::HttpJob),
    Close,
}

/// The msync state of one connection.
pub(super) struct Session {
    pub(super) out: UserOut,
    pub(super) faults: Faults,
    pub(super) options: ConnectOptions,
    /// `null` until login validation passed (`context.root`).
    pub(super) identity: Option<Identity>,
    pub(super) token: String,
    pub(super) sock: Sock,
    pub(super) log_out: bool,
    /// Fault `stall-on-bad-payload`: a message failed to decode, and no message since reaches
    /// the app.
    stalled: bool,
    pub(super) opened: bool,
    pub(super) connect_request: Option<u64>,
    pub(super) disconnect_requests: Vec<u64>,
    pub(super) msg_hash: HashMap<String, Sent>,
    pub(super) queues: Vec<Jid>,
    pub(super) cache: MsgCache,
    pub(super) auto_increment: u64,
    /// The last STATISTIC meta id, so that two metas of one connection never share an id.
    pub(super) last_statistic_id: u64,
    /// `autoReconnectNumTotal`.
    pub(super) reconnect_total: u64,
    /// `times`: the next reconnect waits `500 * times` ms.
    pub(super) reconnect_times: u32,
    /// When the scheduled reconnect (`reconnect()`'s timer) fires.
    pub(super) reconnect_at: Option<Instant>,
    /// `unSendMsgArr`: frames sent while the socket was closed, flushed after a PROVISION.
    pub(super) unsent: Vec<MSync>,
    pub(super) heartbeat_at: Option<Instant>,
    pub(super) q_timer: Option<(Instant, Jid)>,
    pub(super) actions: Vec<Action>,
    /// `mr_cache`: fetched history per queue name.
    pub(super) mr_cache: HashMap<String, super::history::Cache>,
}

fn name_of(jid: &Jid) -> &str {
    jid.name.as_deref().unwrap_or("")
}

impl Session {
    /// A connection that has not logged in yet; `connect_request` awaits `onOpened`.
    pub(super) fn new(
        out: UserOut,
        options: ConnectOptions,
        faults: Faults,
        connect_request: u64,
    ) -> Session {
        Session {
            out,
            faults,
            options,
            identity: None,
            token: String::new(),
            sock: Sock::Absent,
            log_out: false,
            stalled: false,
            opened: false,
            connect_request: Some(connect_request),
            disconnect_requests: Vec::new(),
            msg_hash: HashMap::new(),
            queues: Vec::new(),
            cache: MsgCache::default(),
            auto_increment: 0,
            last_statistic_id: 0,
            reconnect_total: 0,
            reconnect_times: 1,
            reconnect_at: None,
            unsent: Vec::new(),
            heartbeat_at: None,
            q_timer: None,
            actions: Vec::new(),
            mr_cache: HashMap::new(),
        }
    }

    /// Emits a callback and settles what the driver settles on it: `onOpened` answers a pending
    /// connect, an `onError` before it fails the connect with `{type, message, data}` of the
    /// error, `onClosed` answers pending disconnects.
    pub(super) fn emit(&mut self, name: &str, data: Option<Value>) {
        let connect_error = (name == "onError").then(|| {
            let mut error = Map::new();
            for key in ["type", "message", "data"] {
                if let Some(v) = data.as_ref().and_then(|d| d.get(key)) {
                    error.insert(key.into(), v.clone());
                }
            }
            Value::Object(error)
        });
        self.out.event(name, data);
        match name {
            "onOpened" => {
                self.opened = true;
                if let Some(id) = self.connect_request.take() {
                    self.out.ok(id, json!({}));
                }
            }
            "onError" if !self.opened => {
                if let (Some(id), Some(error)) = (self.connect_request, connect_error) {
                    self.connect_request = None;
                    self.out.err(id, error);
                }
            }
            "onClosed" => {
                self.opened = false;
                for id in std::mem::take(&mut self.disconnect_requests) {
                    self.out.ok(id, json!({}));
                }
            }
            _ => {}
        }
    }

    pub(super) fn send(&mut self, msync: MSync) {
        self.actions.push(Action::Frame(Box::new(msync)));
    }

    pub(super) fn identity(&self) -> Option<&Identity> {
        self.identity.as_ref()
    }

    pub(super) fn disconnected_error(reconnect: bool) -> Value {
        let mut e = json!({"type": 16, "message": "websocket has been disconnected"});
        if reconnect {
            e["reconnect"] = json!(true);
        }
        e
    }

    /// The login checks of `conn.login` (user not empty, appKey `org#app`).
    pub(super) fn validate(&mut self) -> Option<(String, String)> {
        let user = self.out.user.clone();
        if user.is_empty() {
            self.emit(
                "onError",
                Some(json!({"type": 0, "message": "the user cannot be empty"})),
            );
            return None;
        }
        let app_key = self.options.login_app_key.clone();
        let parts: Vec<&str> = app_key.split('#').collect();
        if parts.len() != 2 || parts[0].is_empty() || parts[1].is_empty() {
            self.emit(
                "onError",
                Some(json!({"type": 27, "message": "the appKey is illegal"})),
            );
            return None;
        }
        self.identity = Some(Identity {
            jid: Jid {
                app_key: Some(app_key.clone()),
                name: Some(user.clone()),
                domain: Some(self.options.domain.clone()),
                client_resource: Some("84ff3eba1".into()),
            },
            user,
            app_key: self.options.app_key.clone(),
            msync_version: self.options.msync_version,
            encrypt_type: self.options.encrypt_type.clone(),
        });
        Some((parts[0].to_string(), parts[1].to_string()))
    }

    /// The token request's error callback.
    pub(super) fn token_refused(&mut self, body: String) {
        let kind = if self.faults.has(Fault::WrongLoginError) {
            3
        } else {
            1
        };
        let data =
            json!({"type": kind, "message": "login failed", "data": {"type": 17, "data": body}});
        self.emit("onError", Some(data));
    }

    // ── socket handlers ──

    pub(super) fn on_open(&mut self, now_ms: u64) {
        let Some(identity) = self.identity.as_mut() else {
            return;
        };
        let fields = ProvisionFields::new(
            &self.options.version,
            &self.options.device_id,
            now_ms,
            self.options.compress_type.clone(),
        );
        identity.jid.client_resource = Some(fields.resource.clone());
        let msync = outgoing::provision(identity, &fields, &self.token);
        self.sock = Sock::Open;
        self.log_out = false;
        self.send(msync);
        for queued in std::mem::take(&mut self.unsent) {
            self.send(queued);
        }
    }

    /// `fire-timer`: moves the earliest pending timer (heartbeat, NOTICE re-pull, reconnect) to
    /// now when it is due within `within`; replies `{"fired": name, "dueInMs"}` or
    /// `{"fired": null}`.
    pub(super) fn fire_timer(&mut self, id: u64, within: Duration) {
        let now = Instant::now();
        let timers = [
            ("heartbeat", self.heartbeat_at),
            ("qTimer", self.q_timer.as_ref().map(|(at, _)| *at)),
            ("reconnect", self.reconnect_at),
        ];
        let earliest = timers
            .into_iter()
            .filter_map(|(name, at)| at.map(|at| (name, at)))
            .min_by_key(|(_, at)| *at);
        let result = match earliest {
            Some((name, at)) if at.saturating_duration_since(now) <= within => {
                let due = at.saturating_duration_since(now);
                match name {
                    "heartbeat" => self.heartbeat_at = Some(now),
                    "qTimer" => {
                        if let Some((at, _)) = self.q_timer.as_mut() {
                            *at = now;
                        }
                    }
                    _ => self.reconnect_at = Some(now),
                }
                serde_json::json!({ "fired": name, "dueInMs": due.as_millis() as u64 })
            }
            _ => serde_json::json!({ "fired": null }),
        };
        self.out.ok(id, result);
    }

    /// Whether `reconnect()` may run (`!logOut && autoReconnectNumTotal < autoReconnectNumMax`).
    pub(super) fn may_reconnect(&self) -> bool {
        !self.log_out
            && self.reconnect_total < self.options.auto_reconnect_num_max
            && !self.faults.has(Fault::NoReconnect)
    }

    /// `reconnect()`: a new SockJS session and PROVISION with the same token after
    /// `500 * times` ms (bundle L4441).
    pub(super) fn schedule_reconnect(&mut self) {
        if self.reconnect_at.is_none() {
            let wait = Duration::from_millis(500 * u64::from(self.reconnect_times));
            self.reconnect_at = Some(Instant::now() + wait);
        }
        self.reconnect_total += 1;
    }

    /// `onclose`, after a server close or a drop.
    pub(super) fn on_close(&mut self) {
        self.sock = Sock::Closed;
        self.heartbeat_at = None;
        self.q_timer = None;
        if self.may_reconnect() {
            self.schedule_reconnect();
            self.emit("onError", Some(Self::disconnected_error(false)));
        } else if self.log_out {
            self.reconnect_times = 1;
            self.reconnect_total = 0;
            if !self.faults.has(Fault::NoClosed) {
                self.emit("onClosed", None);
            }
        } else {
            if !self.faults.has(Fault::NoDisconnectError) {
                self.emit("onError", Some(Self::disconnected_error(false)));
            }
            self.reconnect_times = 1;
            self.reconnect_total = 0;
        }
    }

    /// `onmessage` for one SockJS message.
    pub(super) fn on_message(&mut self, text: &str, now_ms: u64) {
        let result = js::atob(text)
            .and_then(|bytes| {
                frame::decode_msync(&bytes).map_err(|e| Thrown::new("Error", &e.to_string()))
            })
            .and_then(|msync| self.on_msync(&msync, now_ms));
        if let Err(Thrown(mut error)) = result {
            error.insert("msg".into(), js::sockjs_message_event(text, now_ms));
            self.emit(
                "onError",
                Some(json!({"type": 604, "message": "decode message error", "data": error})),
            );
        }
    }

    pub(super) fn on_msync(&mut self, msync: &MSync, now_ms: u64) -> Result<(), Thrown> {
        let payload = msync.payload.as_ref();
        match msync.command.unwrap_or(0) {
            0 => self.on_sync(&decode(payload, "CommSyncDL")?),
            1 => {
                self.on_unread(&decode(payload, "CommUnreadDL")?, now_ms);
                Ok(())
            }
            2 => self.on_notice(&decode(payload, "CommNotice")?),
            3 => {
                let bytes = payload.map_or(&[][..], Vec::as_slice);
                self.on_provision(&decode(payload, "Provision")?, bytes, now_ms)
            }
            _ => Ok(()),
        }
    }

    pub(super) fn on_provision(
        &mut self,
        p: &pb::Provision,
        bytes: &[u8],
        now_ms: u64,
    ) -> Result<(), Thrown> {
        if let Some(identity) = self.identity.as_mut() {
            identity.jid.client_resource = Some(p.resource.clone().unwrap_or_default());
        }
        let status = p
            .status
            .as_ref()
            .ok_or_else(|| Thrown::null_property("errorCode"))?;
        if status.error_code.unwrap_or(0) != 0 && !self.faults.has(Fault::IgnoreProvisionStatus) {
            let data = js::pb_to_json("easemob.pb.Provision", bytes);
            self.emit(
                "onError",
                Some(json!({"type": 40, "message": "provision error", "data": data})),
            );
            return Ok(());
        }
        if !self.faults.has(Fault::NoOpened) {
            self.emit("onOpened", None);
        }
        if !self.faults.has(Fault::NoHeartbeat) {
            self.heartbeat_at = Some(Instant::now() + self.options.heart_beat_wait);
        }
        let id = self.statistic_id(now_ms);
        if let Some(identity) = self.identity() {
            let (unread, statistic) = (
                outgoing::unread(identity),
                outgoing::statistic(identity, id),
            );
            self.send(unread);
            self.send(statistic);
        }
        Ok(())
    }

    /// `Date.now()` for a STATISTIC meta id: the real SDK's two metas of a login are a round
    /// trip apart, so they never share a millisecond; keep them distinct here too.
    pub(super) fn statistic_id(&mut self, now_ms: u64) -> u64 {
        self.last_statistic_id = now_ms.max(self.last_statistic_id + 1);
        self.last_statistic_id
    }

    pub(super) fn on_unread(&mut self, dl: &pb::CommUnreadDl, now_ms: u64) {
        let Some(identity) = self.identity.clone() else {
            return;
        };
        if !self.faults.has(Fault::SkipUnreadPull) {
            for queue in &dl.unread {
                self.send(outgoing::backqueue(&identity, queue.queue.as_ref()));
            }
        }
        let id = self.statistic_id(now_ms);
        self.send(outgoing::statistic(&identity, id));
    }

    /// `checkArray(_queues, queue)`: compares names; reading `null.name` throws.
    pub(super) fn queue_position(&self, queue: Option<&Jid>) -> Result<Option<usize>, Thrown> {
        if self.queues.is_empty() {
            return Ok(None);
        }
        let queue = queue.ok_or_else(|| Thrown::null_property("name"))?;
        Ok(self
            .queues
            .iter()
            .position(|q| name_of(q) == name_of(queue)))
    }

    pub(super) fn on_notice(&mut self, notice: &pb::CommNotice) -> Result<(), Thrown> {
        if self.queue_position(notice.queue.as_ref())?.is_some() {
            return Ok(());
        }
        let Some(queue) = notice.queue.clone() else {
            eprintln!("[imspec-reference] NOTICE without a queue ignored");
            return Ok(());
        };
        self.queues.push(queue.clone());
        self.q_timer = Some((Instant::now() + Q_TIMER, queue.clone()));
        if self.queues.len() == 1
            && let Some(identity) = self.identity()
        {
            let pull = outgoing::backqueue(identity, Some(&queue));
            self.send(pull);
        }
        Ok(())
    }

    pub(super) fn on_q_timer(&mut self) {
        if let Some((_, queue)) = self.q_timer.take()
            && self.queue_position(Some(&queue)).ok().flatten().is_some()
            && let Some(identity) = self.identity()
        {
            let pull = outgoing::backqueue(identity, Some(&queue));
            self.send(pull);
        }
    }

    /// The `isLast` branch: drop the queue (index 0, as the SDK's `splice(undefined, 1)` does)
    /// and pull the next one.
    pub(super) fn queue_done(&mut self, queue: Option<&Jid>) -> Result<(), Thrown> {
        if self.queue_position(queue)?.is_some() {
            self.queues.remove(0);
        }
        if let (Some(next), Some(identity)) = (self.queues.first(), self.identity()) {
            let pull = outgoing::backqueue(identity, Some(next));
            self.send(pull);
            self.q_timer = None;
        }
        Ok(())
    }

    pub(super) fn on_sync(&mut self, dl: &pb::CommSyncDl) -> Result<(), Thrown> {
        let server_id = dl.server_id.unwrap_or(0).to_string();
        let meta_id = dl.meta_id.unwrap_or(0).to_string();
        let is_last = dl.is_last.unwrap_or(false);
        if !dl.metas.is_empty() {
            let cx = incoming::Context {
                api_url: &self.options.api_url,
                use_own_upload_fun: self.options.use_own_upload_fun,
                token: &self.token,
                emoji: self.options.emoji.as_ref(),
                faults: &self.faults,
            };
            let dispatched =
                incoming::metapayload(&dl.metas, dl.status.as_ref(), &cx, &mut self.cache);
            let mut received = Vec::new();
            for dispatch in dispatched.dispatches {
                match dispatch {
                    Dispatch::Callback(_) if self.stalled => {}
                    Dispatch::Callback((name, data)) => {
                        if self.suppressed(name, data.as_ref()) {
                            continue;
                        }
                        if let Some(d) = data.as_ref().filter(|d| d["type"] == "chat") {
                            received.push((d["id"].clone(), d["from"].clone()));
                        }
                        self.emit(name, data);
                    }
                    Dispatch::Thrown(Thrown(error)) => {
                        self.stalled = self.faults.has(Fault::StallOnBadPayload);
                        self.emit(
                            "onError",
                            Some(json!({"type": 604, "message": "decode message error", "data": error})),
                        );
                    }
                }
            }
            if dispatched.logged_out && !self.faults.has(Fault::IgnoreKick) {
                self.log_out = true;
            }
            if self.options.delivery && !self.faults.has(Fault::NoAutoDelivery) {
                for (id, from) in received {
                    self.auto_delivery(id, from);
                }
            }
            if is_last {
                return self.queue_done(dl.queue.as_ref());
            }
            if !self.faults.has(Fault::NoKeyAck)
                && let Some(identity) = self.identity()
            {
                let ack =
                    outgoing::lastsession(identity, dl.next_key.unwrap_or(0), dl.queue.as_ref());
                self.send(ack);
            }
            return Ok(());
        }
        if is_last {
            return self.queue_done(dl.queue.as_ref());
        }
        self.on_ack(dl, meta_id, server_id);
        Ok(())
    }
}

pub(super) fn decode<M: prost::Message + Default>(
    bytes: Option<&Vec<u8>>,
    name: &str,
) -> Result<M, Thrown> {
    M::decode(bytes.map_or(&[][..], Vec::as_slice))
        .map_err(|e| Thrown::new("Error", &format!("{name}: {e}")))
}
