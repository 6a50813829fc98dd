//! The fake chat server: token login over REST, SockJS and raw WebSocket endpoints, one msync
//! session per connection, single-chat routing through per-user queues, a virtual clock and
//! fault hooks. It records every HTTP exchange, every frame both ways and every transport
//! event through [`observe::Recorder`].
//!
//! This module owns the public face (`FakeServer`, `Control`, the world description) and the
//! state shared by the parts: `world.rs` (users, tokens, queues), `clock.rs` (virtual time),
//! `http.rs` (routes), `socket.rs` (sockets, recording), `session.rs` (msync logic),
//! `faults.rs` (armed faults). It binds 127.0.0.1 only and keeps no global state: every
//! server is independent. It must not reach into the runner, driver or client.

mod chatfiles;
mod clock;
mod faults;
mod history;
mod http;
pub mod inbound;
pub mod observe;
mod policy;
mod recall;
mod session;
mod settle;
mod socket;
mod world;

pub use clock::START_MS;

/// The name of the always-empty queue that [`Control::settle`] announces. Transcripts leave
/// its frames out.
pub const BARRIER_QUEUE: &str = "imspec-barrier";
pub use chatfiles::sha256_hex;
pub use faults::{Fault, FaultAction, FaultTrigger};
pub use settle::{MAX_ROUNDS, RENOTIFY_AFTER, SettleError, Settled, is_barrier_frame};

use crate::wire::jid;
use crate::wire::pb::{self, Meta, meta::NameSpace};
use observe::{ObservationKind, Recorder};
use prost::Message as _;
use session::Effect;
use std::collections::BTreeMap;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// How long `shutdown` waits for sockets and the listener before giving up on them.
const SHUTDOWN_WAIT: Duration = Duration::from_secs(5);

/// The world a server starts with: who exists, which groups and chat rooms they are in, and
/// the server-side rules that refuse messages (wire notes section 7).
#[derive(Debug, Clone)]
pub struct WorldSpec {
    /// `"org#app"`; REST paths are `/{org}/{app}/...`.
    pub app_key: String,
    /// The users, by name.
    pub users: BTreeMap<String, UserSpec>,
    /// The groups (`groupChat`), by id.
    pub groups: BTreeMap<String, GroupSpec>,
    /// The chat rooms (`chatRoom`), by id.
    pub rooms: BTreeMap<String, GroupSpec>,
    /// A message whose text contains one of these is refused as the real server's
    /// sensitive-word filter does (`PERMISSION_DENIED` "sensitive words", SDK type 501).
    pub sensitive_words: Vec<String>,
    /// A message whose text contains one of these is refused as an external callback does
    /// (`PERMISSION_DENIED_EXTERNAL`, SDK type 502).
    pub callback_rejects: Vec<String>,
    /// How long after sending a message its sender may recall it, in ms of virtual time.
    pub recall_window_ms: u64,
    /// Whether the app allows recall at all ("message recall disabled", SDK type 505).
    pub recall_enabled: bool,
    /// How many messages one message-roaming answer holds at most.
    pub roaming_page_size: usize,
    /// Whether the server accepts the LZ4 uplink compression a 4.x client offers at PROVISION
    /// (it then answers `protocolCompressType: [COMPRESS_LZ4]`, direction ONLY_UP).
    pub lz4: bool,
    /// The service's documented limit for a text or custom message, in bytes of the encoded
    /// `MessageBody` (Agora Chat reference, "Limitations": 5 KB). Bodies within it are what a
    /// real server delivers: `imspec fuzz`'s valid mode stays inside it, and what is past it is
    /// hostile mode. A client's longer text or custom message is refused with
    /// `PERMISSION_DENIED "Sorry, data is too large"`, the status the 4.x SDKs map to 511
    /// (wire-4.x section 1).
    pub message_limit_bytes: usize,
    /// The service's documented limit for the file of an image, voice, video or file message,
    /// in bytes (Agora Chat reference, "Limitations": 10 MB). An upload whose file is larger is
    /// answered 413 with the limit in the body (how the real server answers one is not known
    /// here); the server reads such an upload to its end without keeping more than this.
    pub attachment_limit_bytes: usize,
}

/// The service's documented limit for a text or custom message: 5 KB.
pub const DEFAULT_MESSAGE_LIMIT_BYTES: usize = 5 * 1024;

/// The service's documented limit for an attachment: 10 MB.
pub const DEFAULT_ATTACHMENT_LIMIT_BYTES: usize = 10 * 1024 * 1024;

/// The roaming page size when the world does not set one.
pub const DEFAULT_ROAMING_PAGE_SIZE: usize = 10;

/// The real server's default recall window: two minutes.
pub const DEFAULT_RECALL_WINDOW_MS: u64 = 120_000;

impl Default for WorldSpec {
    fn default() -> Self {
        WorldSpec {
            app_key: "org#app".to_string(),
            users: BTreeMap::new(),
            groups: BTreeMap::new(),
            rooms: BTreeMap::new(),
            sensitive_words: Vec::new(),
            callback_rejects: Vec::new(),
            recall_window_ms: DEFAULT_RECALL_WINDOW_MS,
            recall_enabled: true,
            roaming_page_size: DEFAULT_ROAMING_PAGE_SIZE,
            lz4: false,
            message_limit_bytes: DEFAULT_MESSAGE_LIMIT_BYTES,
            attachment_limit_bytes: DEFAULT_ATTACHMENT_LIMIT_BYTES,
        }
    }
}

/// One user of the world.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UserSpec {
    /// The password the token login accepts.
    pub password: String,
    /// Tokens issued to this user are refused at PROVISION with TOKEN_EXPIRED.
    pub token_expired: bool,
    /// Users this user has blocked: their single-chat messages to this user are refused
    /// (`FAIL` "blocked", SDK type 603).
    pub blocks: Vec<String>,
}

/// A group or a chat room.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GroupSpec {
    /// The owner; a member too.
    pub owner: String,
    /// The other members.
    pub members: Vec<String>,
    /// Members whose messages are refused with `USER_MUTED` (the SDK's `onMutedMessage`).
    pub muted: Vec<String>,
    /// White-list mode: when set, only these members (and the owner) may send; the others get
    /// "not in group or chatroom white list" (SDK type 506).
    pub white_list: Option<Vec<String>>,
}

impl GroupSpec {
    /// Whether `user` is the owner or a member.
    pub fn has_member(&self, user: &str) -> bool {
        self.owner == user || self.members.iter().any(|m| m == user)
    }

    /// The owner and the members, each once, owner first.
    pub fn everyone(&self) -> Vec<String> {
        let mut all = vec![self.owner.clone()];
        for member in &self.members {
            if !all.contains(member) {
                all.push(member.clone());
            }
        }
        all
    }
}

/// Where a running server listens.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Urls {
    /// The SockJS base URL for the 3.x SDK: `http://127.0.0.1:P/ws`.
    pub sockjs: String,
    /// The raw WebSocket URL for later SDKs: `ws://127.0.0.1:P/websocket`.
    pub websocket: String,
    /// The REST base URL: `http://127.0.0.1:P`.
    pub api: String,
}

/// A message from a scripted peer, for `Control::deliver`.
#[derive(Debug, Clone, PartialEq)]
pub struct ScriptedMessage {
    /// The sender's name (need not be a user of the world).
    pub from: String,
    /// The recipient: a user name (single chat) or a group / room id.
    pub to: String,
    /// Which kind of conversation.
    pub chat_type: ChatType,
    /// The message as it goes in `Meta.payload`.
    pub body: pb::MessageBody,
}

/// The three conversation kinds of the SDK (`chatType`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChatType {
    /// `singleChat`: domain `easemob.com`.
    Single,
    /// `groupChat`: domain `conference.easemob.com`.
    Group,
    /// `chatRoom`: domain `conference.easemob.com`.
    Room,
}

/// Why a server operation failed.
#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    /// The listener could not be bound.
    #[error("cannot listen on 127.0.0.1: {0}")]
    Bind(#[source] std::io::Error),
    /// The world has no such user.
    #[error("no user {0:?} in this world; add it to the scenario's [world] users")]
    UnknownUser(String),
    /// The user has no logged-in socket.
    #[error("user {0:?} has no logged-in socket")]
    NotConnected(String),
    /// The world has no such group or chat room.
    #[error("no group or chat room {0:?} in this world")]
    GroupNotFound(String),
}

/// A running fake server. Stop it with [`FakeServer::shutdown`].
#[derive(Debug)]
pub struct FakeServer {
    shared: Arc<Shared>,
    addr: SocketAddr,
    stop: watch::Sender<bool>,
    serve: JoinHandle<()>,
}

impl FakeServer {
    /// Starts a server on a free port of 127.0.0.1.
    pub async fn start(world: WorldSpec) -> Result<FakeServer, ServerError> {
        Self::start_on_port(world, 0).await
    }

    /// Starts a server on 127.0.0.1:`port` (0 = any free port).
    pub async fn start_on_port(world: WorldSpec, port: u16) -> Result<FakeServer, ServerError> {
        let listener = tokio::net::TcpListener::bind((Ipv4Addr::LOCALHOST, port))
            .await
            .map_err(ServerError::Bind)?;
        let addr = listener.local_addr().map_err(ServerError::Bind)?;
        let (stop, shutdown) = watch::channel(false);
        let shared = Arc::new(Shared {
            world: Mutex::new(world::World::new(world)),
            conns: socket::Registry::default(),
            clock: clock::Clock::default(),
            recorder: Recorder::default(),
            shutdown: shutdown.clone(),
            live: Live::default(),
            held: Mutex::new(Vec::new()),
            slowest_round_us: std::sync::atomic::AtomicU64::new(0),
            attachments_in_flight: watch::channel(0).0,
            files: Mutex::default(),
            #[cfg(test)]
            gap: Mutex::default(),
        });
        let app = http::router(shared.clone());
        let mut signal = shutdown;
        let serve = tokio::spawn(async move {
            let stopped = async move {
                let _ = signal.wait_for(|stop| *stop).await;
            };
            // An accept error ends `serve`; the server then just stops answering. Frames are
            // small and answer each other: Nagle's algorithm would hold each for a delayed ACK.
            let listener = axum::serve::ListenerExt::tap_io(listener, |tcp| {
                let _ = tcp.set_nodelay(true);
            });
            let _ = axum::serve(listener, app)
                .with_graceful_shutdown(stopped)
                .await;
        });
        Ok(FakeServer {
            shared,
            addr,
            stop,
            serve,
        })
    }

    /// The URLs clients use.
    pub fn urls(&self) -> Urls {
        let host = format!("127.0.0.1:{}", self.addr.port());
        Urls {
            sockjs: format!("http://{host}/ws"),
            websocket: format!("ws://{host}/websocket"),
            api: format!("http://{host}"),
        }
    }

    /// The server's log of observations.
    pub fn recorder(&self) -> Recorder {
        self.shared.recorder.clone()
    }

    /// A handle for scripted actions, the clock and faults.
    pub fn control(&self) -> Control {
        Control {
            shared: self.shared.clone(),
        }
    }

    /// Closes every socket, stops the listener and waits (bounded) until no task is left.
    pub async fn shutdown(self) {
        self.stop.send_replace(true);
        let mut serve = self.serve;
        if tokio::time::timeout(SHUTDOWN_WAIT, &mut serve)
            .await
            .is_err()
        {
            serve.abort();
        }
        let _ = tokio::time::timeout(SHUTDOWN_WAIT, self.shared.live.idle()).await;
    }
}

/// Scripted actions on a running server. Cheap to clone.
#[derive(Debug, Clone)]
pub struct Control {
    shared: Arc<Shared>,
}

impl Control {
    /// The virtual clock, in ms since the Unix epoch (starts at [`START_MS`]).
    pub fn now_ms(&self) -> u64 {
        self.shared.clock.now_ms()
    }

    /// Moves the virtual clock forward.
    pub fn advance(&self, ms: u64) {
        self.shared.clock.advance(ms);
    }

    /// Sends every answer a `delay` fault held whose time has come (in the order they were
    /// held) and waits until each is written; returns how many. Call it after [`advance`].
    ///
    /// [`advance`]: Control::advance
    pub async fn release_held(&self) -> usize {
        let now = self.shared.clock.now_ms();
        let due: Vec<HeldFrame> = {
            let mut held = self.shared.held.lock().unwrap_or_else(|p| p.into_inner());
            let (due, later) = std::mem::take(&mut *held)
                .into_iter()
                .partition(|h| h.at <= now);
            *held = later;
            due
        };
        let count = due.len();
        for h in due {
            let (bytes, user) = (h.bytes, h.user);
            socket::send_wait(&h.tx, |done| socket::Out::Frame { bytes, user, done }).await;
        }
        count
    }

    /// Delivers a scripted peer's message as if it came uplink: queued for the recipient, who
    /// gets a NOTICE on every logged-in socket. Returns the server message id.
    pub async fn deliver(&self, msg: ScriptedMessage) -> Result<u64, ServerError> {
        let payload = msg.body.encode_to_vec();
        self.deliver_payload(&msg.from, &msg.to, msg.chat_type, payload)
            .await
    }

    /// Delivers a scripted peer's message whose `Meta.payload` is exactly `payload`, which need
    /// not be a valid `MessageBody` (the fuzzer's hostile frames: truncated, oversized, wrong
    /// nested payloads). Routed as [`Control::deliver`] routes; the conversations remember what
    /// of it decodes (an empty body when nothing does). Returns the server message id.
    pub async fn deliver_payload(
        &self,
        from: &str,
        to: &str,
        chat_type: ChatType,
        payload: Vec<u8>,
    ) -> Result<u64, ServerError> {
        let body = pb::MessageBody::decode(payload.as_slice()).unwrap_or_default();
        let (sender, recipient) = (from.to_string(), to.to_string());
        let (server_id, chain) = {
            let now = self.shared.clock.now_ms();
            let mut world = self.shared.world();
            let app_key = world.app_key().to_string();
            let (destination, from, to) = match chat_type {
                ChatType::Single => {
                    if !world.has_user(&recipient) {
                        return Err(ServerError::UnknownUser(recipient));
                    }
                    (
                        policy::Destination::User(recipient.clone()),
                        jid::user(&app_key, &sender),
                        jid::user(&app_key, &recipient),
                    )
                }
                ChatType::Group | ChatType::Room => {
                    let Some(group) = policy::conference(world.spec(), &recipient) else {
                        return Err(ServerError::GroupNotFound(recipient));
                    };
                    let recipients = group
                        .everyone()
                        .into_iter()
                        .filter(|member| *member != sender)
                        .collect();
                    (
                        policy::Destination::Conference {
                            id: recipient.clone(),
                            recipients,
                        },
                        jid::conference(&app_key, &sender),
                        jid::conference(&app_key, &recipient),
                    )
                }
            };
            let server_id = world.next_server_id();
            let meta = Meta {
                id: Some(server_id),
                from: Some(from),
                to: Some(to),
                timestamp: Some(now),
                ns: Some(NameSpace::Chat as i32),
                payload: Some(payload),
                routetype: None,
                ..Default::default()
            };
            session::remember(&mut world, &sender, &destination, &meta, &body, now);
            // queued before the world is unlocked (see `socket::Chain`)
            let mut chain = socket::Chain::default();
            for notice in session::route(&mut world, &sender, destination, meta) {
                if let Effect::Notify { user, msync } = notice {
                    chain.notify(&self.shared, &user, &msync);
                }
            }
            (server_id, chain)
        };
        chain.written().await;
        Ok(server_id)
    }

    /// Closes every socket of `user` (SockJS `c[code,"reason"]` then a close; raw WebSocket: a
    /// close frame). Returns how many were closed (0 when none is open).
    pub async fn close(&self, user: &str, code: u16, reason: &str) -> Result<usize, ServerError> {
        if !self.shared.world().has_user(user) {
            return Err(ServerError::UnknownUser(user.to_string()));
        }
        let writers = self.shared.conns.of_user(user, false);
        for tx in &writers {
            socket::close(tx, code, reason.to_string(), Some(user.to_string())).await;
        }
        Ok(writers.len())
    }

    /// Kicks `user` as the real server does: a STATISTIC meta `{operation}` from `admin` in the
    /// user's `admin` queue, announced by a NOTICE (observed session, end). The socket stays
    /// open; the SDK raises `onError` 206/207/216/217 itself.
    pub async fn kick(
        &self,
        user: &str,
        operation: pb::statistics_body::Operation,
    ) -> Result<(), ServerError> {
        if !self.shared.world().has_user(user) {
            return Err(ServerError::UnknownUser(user.to_string()));
        }
        if self.shared.conns.of_user(user, true).is_empty() {
            return Err(ServerError::NotConnected(user.to_string()));
        }
        let chain = {
            let now = self.shared.clock.now_ms();
            let mut world = self.shared.world();
            // queued before the world is unlocked (see `socket::Chain`)
            let mut chain = socket::Chain::default();
            if let Effect::Notify { user, msync } =
                session::admin_statistic(&mut world, user, operation, now)
            {
                chain.notify(&self.shared, &user, &msync);
            }
            chain
        };
        chain.written().await;
        Ok(())
    }

    /// Settles `user`'s client: pushes a NOTICE for the empty [`BARRIER_QUEUE`] to every
    /// logged-in socket of the user, then waits until each of them pulled it (and got the
    /// answer) or closed, or until `deadline`. A client pulls the queue only after handling every
    /// frame the server sent before, and frames reach the server in the order the client sent
    /// them, so once the pulls are answered everything the client did before is recorded too:
    /// this is how the runner waits for a client without waiting on the clock. Returns whether
    /// every socket settled in time (a client that ignores NOTICEs, or is stuck on an unacked
    /// queue, does not).
    pub async fn settle(&self, user: &str, deadline: tokio::time::Instant) -> bool {
        let recorder = &self.shared.recorder;
        let from = recorder.len();
        let notice = session::notice(jid::user(self.shared.world().app_key(), BARRIER_QUEUE));
        let sockets = socket::notify(&self.shared, user, &notice).await;
        loop {
            let seen = recorder.len();
            let settled = recorder.read_since(from, |seen| {
                seen.iter()
                    .filter(|o| settle::settles(&o.kind, user))
                    .count()
            });
            if settled >= sockets {
                return true;
            }
            if tokio::time::timeout_at(deadline, recorder.wait_beyond(seen))
                .await
                .is_err()
            {
                return false;
            }
        }
    }

    /// Arms a fault: it fires once, on the next matching uplink frame.
    pub fn arm(&self, fault: Fault) {
        self.shared.world().faults.arm(fault);
    }
}

/// What every part of one server shares.
#[derive(Debug)]
pub(crate) struct Shared {
    world: Mutex<world::World>,
    conns: socket::Registry,
    clock: clock::Clock,
    recorder: Recorder,
    /// Becomes `true` when the server shuts down.
    shutdown: watch::Receiver<bool>,
    live: Live,
    /// Answers a `delay` fault holds, released by [`Control::release_held`].
    held: Mutex<Vec<HeldFrame>>,
    /// Uploaded attachments (`chatfiles.rs`).
    files: Mutex<chatfiles::Store>,
    /// The slowest settle round so far, in µs (`settle.rs`): how slow the clients are now.
    slowest_round_us: std::sync::atomic::AtomicU64,
    /// Attachment requests (upload, download) being answered: a run is not settled while one
    /// is (`settle.rs`), since a multi-MB upload takes longer than a settle round.
    attachments_in_flight: watch::Sender<usize>,
    /// A pause armed by a test in a socket's handling of its next frame (`socket_tests.rs`).
    #[cfg(test)]
    gap: Mutex<Option<socket::tests::Gap>>,
}

/// A frame held back until the virtual clock reaches `at`.
#[derive(Debug)]
struct HeldFrame {
    at: u64,
    tx: tokio::sync::mpsc::UnboundedSender<socket::Out>,
    bytes: Vec<u8>,
    user: Option<String>,
}

/// Counts one attachment request as in flight while it lives (`Shared::attachment_request`).
pub(crate) struct InFlight<'a>(&'a watch::Sender<usize>);

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        self.0.send_modify(|n| *n = n.saturating_sub(1));
    }
}

impl Shared {
    /// Marks an attachment request as in flight until the guard is dropped.
    fn attachment_request(&self) -> InFlight<'_> {
        self.attachments_in_flight.send_modify(|n| *n += 1);
        InFlight(&self.attachments_in_flight)
    }

    fn files(&self) -> MutexGuard<'_, chatfiles::Store> {
        self.files.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn hold(
        &self,
        at: u64,
        tx: tokio::sync::mpsc::UnboundedSender<socket::Out>,
        bytes: Vec<u8>,
        user: Option<String>,
    ) {
        let mut held = self.held.lock().unwrap_or_else(|p| p.into_inner());
        held.push(HeldFrame {
            at,
            tx,
            bytes,
            user,
        });
    }

    fn world(&self) -> MutexGuard<'_, world::World> {
        self.world.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn record(&self, kind: ObservationKind) {
        self.recorder.record(self.clock.now_ms(), kind);
    }
}

/// Counts the server's live socket tasks, so `shutdown` can wait for them.
#[derive(Debug, Clone, Default)]
struct Live {
    count: Arc<watch::Sender<usize>>,
}

/// Held by a live task; dropping it counts the task out.
#[derive(Debug)]
struct LiveGuard(Live);

impl Live {
    fn guard(&self) -> LiveGuard {
        self.count.send_modify(|n| *n += 1);
        LiveGuard(self.clone())
    }

    async fn idle(&self) {
        let mut rx = self.count.subscribe();
        let _ = rx.wait_for(|n| *n == 0).await;
    }
}

impl Drop for LiveGuard {
    fn drop(&mut self) {
        self.0.count.send_modify(|n| *n = n.saturating_sub(1));
    }
}
