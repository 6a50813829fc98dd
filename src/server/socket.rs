//! Sockets: the SockJS WebSocket transport (`/ws/{server}/{session}/websocket`, base64 text)
//! and the raw WebSocket endpoint (`/websocket`, binary), the registry of open connections, and
//! the per-connection writer task.
//!
//! Owns framing, the connection registry and recording of frames and transport events. Each
//! S→C frame is recorded by the connection's writer task right before it is written, so the
//! log order is wire order. The frames a change of the world causes (an uplink frame's answer,
//! the NOTICEs of a routed message) are put in their writers' queues while the world is still
//! locked, as a [`Chain`]: each socket gets them in the order the world changed (an answer to a
//! pull computed before a message was queued never comes after that message's NOTICE), and
//! they are written one after the other, so frames caused by one uplink frame appear in a
//! fixed order. The msync meaning of a frame is `session.rs`'s business, never this module's.

use super::Shared;
use super::inbound::{self, ArrivedFrame, DecodedFrame, Incoming};
use super::observe::{FrameRecord, ObservationKind, Transport, TransportEvent, TransportWhat};
use super::session::{Effect, Session};
use crate::wire::frame::{self, BASE64};
use crate::wire::lz4::Lz4Uplink;
use crate::wire::sockjs::ServerFrame;
use crate::wire::{Direction, canonical, pb};
use axum::extract::ws::{CloseFrame, Message, WebSocket, WebSocketUpgrade};
use axum::response::Response;
use base64::Engine as _;
use futures_util::stream::SplitSink;
use futures_util::{SinkExt as _, StreamExt as _};
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::{mpsc, oneshot, watch};
use tokio_tungstenite::tungstenite;

/// Largest WebSocket message (and frame) accepted from a client.
pub(crate) const MAX_MESSAGE: usize = 1 << 20;
/// SockJS heartbeat period (real time: a transport keepalive, not protocol time).
const HEARTBEAT: Duration = Duration::from_secs(25);
/// How long a sender waits for a writer to put its frame on the wire before going on.
const WRITE_WAIT: Duration = Duration::from_secs(5);
/// How many characters of a bad frame the recorder keeps.
const PREVIEW: usize = 120;

/// What a connection's writer is asked to do.
#[derive(Debug)]
pub(crate) enum Out {
    /// Write one msync frame.
    Frame {
        bytes: Vec<u8>,
        user: Option<String>,
        done: oneshot::Sender<()>,
    },
    /// Close the socket.
    Close {
        code: u16,
        reason: String,
        user: Option<String>,
        done: oneshot::Sender<()>,
    },
    /// Take nothing more from the queue until this frame of another writer (the one before in
    /// a [`Chain`]) is written or dropped, or [`WRITE_WAIT`] has passed.
    After(oneshot::Receiver<()>),
}

/// Frames for one or more sockets, put in their writers' queues at once and written one after
/// the other, in the order pushed (each waits in its queue until the one before is written).
/// Pushed while the world is locked, the frames of one change of the world take their place in
/// every socket's queue in the order the world changed: a socket never gets the NOTICE of a
/// message before an answer to a pull that was computed without that message (then the client
/// would drop the queue on that answer's `isLast` and never pull the message).
#[derive(Debug, Default)]
pub(crate) struct Chain {
    /// The written signal of the last frame pushed.
    last: Option<oneshot::Receiver<()>>,
    /// How many frames were pushed.
    frames: u32,
}

impl Chain {
    /// Queues `out` (built around its written signal) on `tx`, behind the frame pushed before.
    pub(crate) fn push(
        &mut self,
        tx: &mpsc::UnboundedSender<Out>,
        out: impl FnOnce(oneshot::Sender<()>) -> Out,
    ) {
        if let Some(previous) = self.last.take()
            && let Err(mpsc::error::SendError(Out::After(previous))) = tx.send(Out::After(previous))
        {
            // a closed writer: the next frame waits for the one before instead
            self.last = Some(previous);
            return;
        }
        let (done, written) = oneshot::channel();
        if tx.send(out(done)).is_ok() {
            self.last = Some(written);
            self.frames += 1;
        }
    }

    /// Queues `msync` for every logged-in socket of `user`.
    pub(crate) fn notify(&mut self, shared: &Shared, user: &str, msync: &pb::MSync) {
        for tx in shared.conns.of_user(user, true) {
            let bytes = frame::encode_msync(msync);
            let user = Some(user.to_string());
            self.push(&tx, |done| Out::Frame { bytes, user, done });
        }
    }

    /// Waits (bounded) until the last frame is written, so every frame is; call it once the
    /// world is unlocked.
    pub(crate) async fn written(self) {
        if let Some(last) = self.last {
            let _ = tokio::time::timeout(WRITE_WAIT * self.frames.max(1), last).await;
        }
    }
}

#[derive(Debug)]
struct Entry {
    /// The user the socket's PROVISION named.
    named: Option<String>,
    /// Whether that PROVISION was accepted (the socket gets the user's notices).
    online: bool,
    tx: mpsc::UnboundedSender<Out>,
}

/// The open connections of one server, by connection id (from 1).
#[derive(Debug, Default)]
pub(crate) struct Registry {
    inner: Mutex<(u64, BTreeMap<u64, Entry>)>,
}

impl Registry {
    fn lock(&self) -> std::sync::MutexGuard<'_, (u64, BTreeMap<u64, Entry>)> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn open(&self, tx: mpsc::UnboundedSender<Out>) -> u64 {
        let mut inner = self.lock();
        inner.0 += 1;
        let conn = inner.0;
        let entry = Entry {
            named: None,
            online: false,
            tx,
        };
        inner.1.insert(conn, entry);
        conn
    }

    fn update(&self, conn: u64, session: &Session) {
        if let Some(entry) = self.lock().1.get_mut(&conn) {
            entry.named = session.user().map(str::to_string);
            entry.online = session.online_user().is_some();
        }
    }

    fn remove(&self, conn: u64) {
        self.lock().1.remove(&conn);
    }

    /// The users with a logged-in socket, each once, in name order.
    pub(crate) fn online_users(&self) -> Vec<String> {
        let users: std::collections::BTreeSet<String> = self
            .lock()
            .1
            .values()
            .filter(|e| e.online)
            .filter_map(|e| e.named.clone())
            .collect();
        users.into_iter().collect()
    }

    /// Writers of `user`'s sockets: logged-in ones only, or every one that named the user.
    pub(crate) fn of_user(&self, user: &str, online_only: bool) -> Vec<mpsc::UnboundedSender<Out>> {
        self.lock()
            .1
            .values()
            .filter(|e| e.named.as_deref() == Some(user) && (e.online || !online_only))
            .map(|e| e.tx.clone())
            .collect()
    }
}

/// Sends `out` built around a fresh completion signal and waits (bounded) until it is written;
/// returns whether it was.
pub(crate) async fn send_wait(
    tx: &mpsc::UnboundedSender<Out>,
    out: impl FnOnce(oneshot::Sender<()>) -> Out,
) -> bool {
    let (done, written) = oneshot::channel();
    if tx.send(out(done)).is_err() {
        return false;
    }
    // A closed writer drops `done`; a stuck one is given up on after WRITE_WAIT.
    matches!(tokio::time::timeout(WRITE_WAIT, written).await, Ok(Ok(())))
}

/// Closes a socket (SockJS `c[code,"reason"]`, or a WebSocket close frame) and waits until the
/// close is written and recorded.
pub(crate) async fn close(
    tx: &mpsc::UnboundedSender<Out>,
    code: u16,
    reason: String,
    user: Option<String>,
) {
    send_wait(tx, |done| Out::Close {
        code,
        reason,
        user,
        done,
    })
    .await;
}

/// Sends a frame to every logged-in socket of `user`; returns to how many it was written (a
/// socket that is closing gets nothing).
pub(crate) async fn notify(shared: &Shared, user: &str, msync: &pb::MSync) -> usize {
    let mut written = 0;
    for tx in shared.conns.of_user(user, true) {
        let bytes = frame::encode_msync(msync);
        let user = Some(user.to_string());
        if send_wait(&tx, |done| Out::Frame { bytes, user, done }).await {
            written += 1;
        }
    }
    written
}

/// The socket's read buffer (it grows for a larger frame).
const READ_BUFFER: usize = 8 * 1024;

/// Accepts a WebSocket upgrade for `transport` and runs the connection until it closes.
pub(crate) fn upgrade(shared: Arc<Shared>, ws: WebSocketUpgrade, transport: Transport) -> Response {
    // Taken before the upgrade, so `shutdown` also waits for connections being set up.
    let guard = shared.live.guard();
    ws.max_message_size(MAX_MESSAGE)
        .max_frame_size(MAX_MESSAGE)
        // frames are small: a small read buffer (the default 128 KiB is zeroed on every read)
        .read_buffer_size(READ_BUFFER)
        .on_upgrade(move |socket| async move {
            run(shared, socket, transport).await;
            drop(guard);
        })
}

async fn run(shared: Arc<Shared>, socket: WebSocket, transport: Transport) {
    let (sink, mut stream) = socket.split();
    let (tx, rx) = mpsc::unbounded_channel();
    let conn = shared.conns.open(tx.clone());
    shared.record(ObservationKind::Transport(TransportEvent {
        conn,
        user: None,
        what: TransportWhat::Opened { transport },
    }));
    let server_closed = Arc::new(AtomicBool::new(false));
    let writer = Writer {
        shared: shared.clone(),
        conn,
        transport,
        sink,
        server_closed: server_closed.clone(),
    };
    let mut writer = tokio::spawn(writer.run(rx, shared.live.guard()));
    let mut reader = Reader {
        shared: shared.clone(),
        conn,
        transport,
        tx,
        session: Session::default(),
        lz4: Lz4Uplink::default(),
    };
    let mut shutdown = shared.shutdown.clone();
    let mut writer_done = false;
    loop {
        tokio::select! {
            message = stream.next() => match message {
                Some(Ok(message)) => {
                    if !reader.on_message(message).await {
                        break;
                    }
                }
                Some(Err(error)) => {
                    reader.on_error(error).await;
                    break;
                }
                None => break,
            },
            _ = &mut writer => {
                writer_done = true;
                break;
            }
            _ = stopped(&mut shutdown) => break,
        }
    }
    if !server_closed.load(Ordering::SeqCst) && !*shared.shutdown.borrow() {
        shared.record(ObservationKind::Transport(TransportEvent {
            conn,
            user: reader.session.user().map(str::to_string),
            what: TransportWhat::ClosedByClient,
        }));
    }
    shared.conns.remove(conn);
    drop(reader);
    drop(stream);
    if !writer_done {
        // Every sender is gone or going, so the writer drains and ends.
        let _ = writer.await;
    }
}

struct Reader {
    shared: Arc<Shared>,
    conn: u64,
    transport: Transport,
    tx: mpsc::UnboundedSender<Out>,
    session: Session,
    /// The LZ4 history of this connection's uplink, once the session negotiated compression.
    lz4: Lz4Uplink,
}

impl Reader {
    /// Handles one WebSocket message; `false` when the connection is over.
    async fn on_message(&mut self, message: Message) -> bool {
        let incoming = match &message {
            Message::Close(_) => return false,
            Message::Ping(_) | Message::Pong(_) => return true,
            Message::Text(text) => Incoming::Text(text.as_str()),
            Message::Binary(bytes) => Incoming::Binary(bytes),
        };
        for arrived in inbound::frames_of(self.transport, incoming) {
            match arrived {
                Ok(arrived) => {
                    if !self.on_frame(arrived).await {
                        return false;
                    }
                }
                Err(refused) => self.bad(refused.error.to_string(), &refused.text),
            }
        }
        true
    }

    /// Handles one msync frame; `false` when the connection is over.
    async fn on_frame(&mut self, arrived: ArrivedFrame) -> bool {
        // 4.x LZ4 uplink: recorded and handled as the frame it decompresses to.
        let lz4 = self.session.lz4_uplink().then_some(&mut self.lz4);
        let DecodedFrame { bytes, msync, view } = match inbound::decode_frame(arrived.bytes, lz4) {
            Ok(decoded) => decoded,
            Err(e) => {
                self.bad(e.to_string(), &arrived.text);
                return true;
            }
        };
        let text = arrived.text;
        self.session.note(&msync);
        self.shared.record(ObservationKind::Frame(FrameRecord {
            conn: self.conn,
            user: self.session.user().map(str::to_string),
            transport: self.transport,
            direction: Direction::ClientToServer,
            view,
            bytes,
        }));
        let (chain, closes, rest) = {
            let now = self.shared.clock.now_ms();
            let mut world = self.shared.world();
            let effects = self.session.handle(&msync, now, &mut world);
            // queued before the world is unlocked (see `Chain`)
            self.queue(effects)
        };
        #[cfg(test)]
        tests::gap(&self.shared, self.session.user()).await;
        self.shared.conns.update(self.conn, &self.session);
        chain.written().await;
        if closes {
            return false;
        }
        for effect in rest {
            match effect {
                Effect::Held { at, msync } => {
                    let bytes = frame::encode_msync(&msync);
                    let user = self.session.user().map(str::to_string);
                    self.shared.hold(at, self.tx.clone(), bytes, user);
                }
                Effect::Bad(error) => self.bad(error, &text),
                // queued by `queue`
                Effect::Reply(_) | Effect::Notify { .. } | Effect::Close { .. } => {}
            }
        }
        true
    }

    /// Queues the frames of `effects` (NOTICEs to recipients, then this socket's answers and
    /// close) as one [`Chain`]; says whether the socket closes, and returns the other effects.
    /// Recipients are notified before the sender gets its answer: once a client has seen its
    /// ack, every recipient then online has its NOTICE, and one who logs in later finds the
    /// message in its queue at login only (a login racing the fan-out got both).
    fn queue(&self, effects: Vec<Effect>) -> (Chain, bool, Vec<Effect>) {
        let (notices, answers): (Vec<_>, Vec<_>) = effects
            .into_iter()
            .partition(|effect| matches!(effect, Effect::Notify { .. }));
        let mut chain = Chain::default();
        let mut closes = false;
        let mut rest = Vec::new();
        let this_user = || self.session.user().map(str::to_string);
        for effect in notices.into_iter().chain(answers) {
            match effect {
                Effect::Notify { user, msync } => chain.notify(&self.shared, &user, &msync),
                Effect::Reply(msync) => {
                    let (bytes, user) = (frame::encode_msync(&msync), this_user());
                    chain.push(&self.tx, |done| Out::Frame { bytes, user, done });
                }
                Effect::Close { code, reason } => {
                    let user = this_user();
                    chain.push(&self.tx, |done| Out::Close {
                        code,
                        reason,
                        user,
                        done,
                    });
                    closes = true;
                    break;
                }
                other => rest.push(other),
            }
        }
        (chain, closes, rest)
    }

    /// A read error: a message over [`MAX_MESSAGE`] is a bad frame answered by a close (1009);
    /// anything else is the client going away.
    async fn on_error(&mut self, error: axum::Error) {
        let too_big = matches!(
            error.into_inner().downcast_ref::<tungstenite::Error>(),
            Some(tungstenite::Error::Capacity(_))
        );
        if too_big {
            self.bad(inbound::InboundError::TooBig.to_string(), "");
            close(&self.tx, 1009, "message too big".to_string(), self.user()).await;
        }
    }

    fn user(&self) -> Option<String> {
        self.session.user().map(str::to_string)
    }

    fn bad(&self, error: String, text: &str) {
        let text = match text.char_indices().nth(PREVIEW) {
            Some((at, _)) => format!("{}…", &text[..at]),
            None => text.to_string(),
        };
        self.shared
            .record(ObservationKind::Transport(TransportEvent {
                conn: self.conn,
                user: self.session.user().map(str::to_string),
                what: TransportWhat::BadFrame { error, text },
            }));
    }
}

struct Writer {
    shared: Arc<Shared>,
    conn: u64,
    transport: Transport,
    sink: SplitSink<WebSocket, Message>,
    server_closed: Arc<AtomicBool>,
}

impl Writer {
    async fn run(mut self, mut rx: mpsc::UnboundedReceiver<Out>, guard: super::LiveGuard) {
        let sockjs = self.transport == Transport::Sockjs;
        if sockjs && self.text(ServerFrame::Open).await.is_err() {
            return;
        }
        let mut heartbeat =
            tokio::time::interval_at(tokio::time::Instant::now() + HEARTBEAT, HEARTBEAT);
        let mut shutdown = self.shared.shutdown.clone();
        loop {
            tokio::select! {
                out = rx.recv() => match out {
                    Some(Out::Frame { bytes, user, done }) => {
                        if self.frame(bytes, user).await.is_err() {
                            break;
                        }
                        let _ = done.send(());
                    }
                    Some(Out::Close { code, reason, user, done }) => {
                        self.close(code, reason, user).await;
                        let _ = done.send(());
                        break;
                    }
                    Some(Out::After(previous)) => {
                        let _ = tokio::time::timeout(WRITE_WAIT, previous).await;
                    }
                    None => break,
                },
                _ = heartbeat.tick(), if sockjs => {
                    if self.text(ServerFrame::Heartbeat).await.is_err() {
                        break;
                    }
                }
                _ = stopped(&mut shutdown) => {
                    self.server_closed.store(true, Ordering::SeqCst);
                    let _ = self.sink.send(Message::Close(None)).await;
                    break;
                }
            }
        }
        let _ = self.sink.close().await;
        drop(guard);
    }

    async fn frame(&mut self, bytes: Vec<u8>, user: Option<String>) -> Result<(), axum::Error> {
        let message = match self.transport {
            Transport::Sockjs => {
                let text = ServerFrame::Messages(vec![BASE64.encode(&bytes)]).encode();
                Message::Text(text.into())
            }
            Transport::Websocket => Message::Binary(bytes.clone().into()),
        };
        self.shared.record(ObservationKind::Frame(FrameRecord {
            conn: self.conn,
            user,
            transport: self.transport,
            direction: Direction::ServerToClient,
            view: canonical::msync(Direction::ServerToClient, &bytes),
            bytes,
        }));
        self.sink.send(message).await
    }

    async fn close(&mut self, code: u16, reason: String, user: Option<String>) {
        self.server_closed.store(true, Ordering::SeqCst);
        self.shared
            .record(ObservationKind::Transport(TransportEvent {
                conn: self.conn,
                user,
                what: TransportWhat::ClosedByServer {
                    code,
                    reason: reason.clone(),
                },
            }));
        let close = match self.transport {
            Transport::Sockjs => {
                let _ = self.text(ServerFrame::Close { code, reason }).await;
                // As the observed fake: the WebSocket close carries no code (1005 at the client).
                Message::Close(None)
            }
            Transport::Websocket => Message::Close(Some(CloseFrame {
                code,
                reason: reason.into(),
            })),
        };
        let _ = self.sink.send(close).await;
    }

    async fn text(&mut self, frame: ServerFrame) -> Result<(), axum::Error> {
        self.sink.send(Message::Text(frame.encode().into())).await
    }
}

/// Resolves once the server shuts down (the `watch` borrow is not held across awaits).
async fn stopped(shutdown: &mut watch::Receiver<bool>) {
    let _ = shutdown.wait_for(|stop| *stop).await;
}

#[cfg(test)]
#[path = "socket_tests.rs"]
pub(super) mod tests;
