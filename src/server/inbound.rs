//! The server's inbound decoding path as pure functions: a client's WebSocket message (SockJS
//! text or raw binary) → its msync frames ([`frames_of`]: SockJS JSON, base64) → each frame's
//! `MSync` and canonical view ([`decode_frame`]: the LZ4 uplink with the connection's history
//! when it was negotiated, protobuf, every nested payload).
//!
//! `socket.rs`'s reader calls these two functions and nothing else to decode, so the fuzzers
//! (`src/fuzz/frames.rs`, the `cargo fuzz` targets under `fuzz/`) drive the very code the
//! sockets run. [`Inbound`] adds one connection's msync session around them, without sockets,
//! so the whole path, answers included, runs a million frames at a time without I/O. It owns
//! one [`Session`] and one [`World`] of its own and must not touch sockets, the recorder or a
//! server's shared state.

use super::WorldSpec;
use super::observe::Transport;
use super::session::{Effect, Session};
use super::socket::MAX_MESSAGE;
use super::world::World;
use crate::wire::frame::{self, BASE64};
use crate::wire::lz4::{Lz4Error, Lz4Uplink};
use crate::wire::{Direction, WireError, canonical, pb, sockjs};
use base64::Engine as _;

/// One WebSocket message from a client, as the socket received it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Incoming<'a> {
    /// A text message.
    Text(&'a str),
    /// A binary message.
    Binary(&'a [u8]),
}

/// Why an inbound message, or one frame of it, is refused.
#[derive(Debug, thiserror::Error)]
pub enum InboundError {
    /// Larger than the socket accepts.
    #[error("message over {MAX_MESSAGE} bytes")]
    TooBig,
    /// A text message where the transport carries binary ones.
    #[error("text message on the binary WebSocket transport")]
    TextOnWebsocket,
    /// A binary message where the transport carries text ones.
    #[error("binary message on the SockJS transport")]
    BinaryOnSockjs,
    /// Not SockJS, not base64, or not an `MSync`.
    #[error(transparent)]
    Wire(#[from] WireError),
    /// A negotiated LZ4 uplink frame that does not decompress.
    #[error(transparent)]
    Lz4(#[from] Lz4Error),
}

/// One msync frame of a message, still encoded: its bytes and how it arrived (the base64 text),
/// for the record of a frame refused later.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ArrivedFrame {
    /// The frame's bytes (LZ4-compressed when the connection negotiated it).
    pub bytes: Vec<u8>,
    /// The frame as it arrived, as text.
    pub text: String,
}

/// A message, or one frame of it, that is refused before it is decoded.
#[derive(Debug)]
pub struct Refused {
    /// Why.
    pub error: InboundError,
    /// What was refused, as text (a SockJS message, the base64 of a binary one).
    pub text: String,
}

/// A decoded uplink frame.
#[derive(Debug, Clone, PartialEq)]
pub struct DecodedFrame {
    /// The `MSync` bytes (decompressed, for an LZ4 uplink).
    pub bytes: Vec<u8>,
    /// The decoded `MSync`.
    pub msync: pb::MSync,
    /// Its canonical view, every nested payload decoded (the recorder's form).
    pub view: serde_json::Value,
}

/// The msync frames of one WebSocket message on `transport`, each still encoded or refused:
/// the first layer of the path.
pub fn frames_of(
    transport: Transport,
    message: Incoming<'_>,
) -> Vec<Result<ArrivedFrame, Refused>> {
    let refused = |error: InboundError, text: String| vec![Err(Refused { error, text })];
    match (message, transport) {
        (Incoming::Text(text), _) if text.len() > MAX_MESSAGE => {
            refused(InboundError::TooBig, String::new())
        }
        (Incoming::Binary(bytes), _) if bytes.len() > MAX_MESSAGE => {
            refused(InboundError::TooBig, String::new())
        }
        (Incoming::Text(text), Transport::Sockjs) => match sockjs::parse_client(text) {
            Ok(messages) => messages.into_iter().map(sockjs_frame).collect(),
            Err(e) => refused(e.into(), text.to_string()),
        },
        (Incoming::Binary(bytes), Transport::Websocket) => vec![Ok(ArrivedFrame {
            bytes: bytes.to_vec(),
            text: BASE64.encode(bytes),
        })],
        (Incoming::Text(text), Transport::Websocket) => {
            refused(InboundError::TextOnWebsocket, text.to_string())
        }
        (Incoming::Binary(bytes), Transport::Sockjs) => {
            refused(InboundError::BinaryOnSockjs, BASE64.encode(bytes))
        }
    }
}

/// One SockJS message: base64 text holding one frame.
fn sockjs_frame(text: String) -> Result<ArrivedFrame, Refused> {
    match BASE64.decode(text.as_bytes()) {
        Ok(bytes) => Ok(ArrivedFrame { bytes, text }),
        Err(e) => Err(Refused {
            error: WireError::from(e).into(),
            text,
        }),
    }
}

/// Decodes one uplink frame: through the connection's LZ4 history first when `lz4` is given
/// (the session negotiated compression), then as an `MSync` with its canonical view.
pub fn decode_frame(
    bytes: Vec<u8>,
    lz4: Option<&mut Lz4Uplink>,
) -> Result<DecodedFrame, InboundError> {
    let bytes = match lz4 {
        Some(history) => history.decode(&bytes)?,
        None => bytes,
    };
    let msync = frame::decode_msync(&bytes)?;
    let view = canonical::msync(Direction::ClientToServer, &bytes);
    Ok(DecodedFrame { bytes, msync, view })
}

/// What one inbound message came to, per msync frame in it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Not decodable at some layer: recorded as a bad frame, no answer.
    Bad(String),
    /// A decoded frame and how the session answered.
    Handled {
        /// Encoded answers (replies, notices, held frames), in bytes each.
        answers: Vec<usize>,
        /// The session asked to close the socket.
        closed: bool,
    },
}

/// One connection's decoding and msync state, without a socket.
#[derive(Debug)]
pub struct Inbound {
    session: Session,
    world: World,
    lz4: Lz4Uplink,
    now: u64,
}

impl Inbound {
    /// A connection to a server whose world is `spec`; `tokens_for` users get a token each,
    /// returned in order, so a PROVISION can be accepted.
    pub fn new(spec: WorldSpec, tokens_for: &[&str]) -> (Inbound, Vec<String>) {
        let mut world = World::new(spec);
        let tokens = tokens_for
            .iter()
            .filter_map(|user| {
                let password = world.spec().users.get(*user)?.password.clone();
                world.login(user, &password).ok().map(|i| i.token)
            })
            .collect();
        let inbound = Inbound {
            session: Session::default(),
            world,
            lz4: Lz4Uplink::default(),
            now: super::START_MS,
        };
        (inbound, tokens)
    }

    /// Whether the session negotiated the LZ4 uplink: the next frames must come compressed.
    pub fn lz4_uplink(&self) -> bool {
        self.session.lz4_uplink()
    }

    /// One WebSocket message on `transport`, as the socket's reader takes it: an outcome per
    /// frame, up to the frame after which the session closed the socket.
    pub fn message(&mut self, transport: Transport, message: Incoming<'_>) -> Vec<Outcome> {
        let mut outcomes = Vec::new();
        for arrived in frames_of(transport, message) {
            let outcome = match arrived {
                Ok(arrived) => self.frame(arrived.bytes),
                Err(refused) => Outcome::Bad(refused.error.to_string()),
            };
            let closed = matches!(outcome, Outcome::Handled { closed: true, .. });
            outcomes.push(outcome);
            if closed {
                break;
            }
        }
        outcomes
    }

    /// One msync frame, as the socket's reader handles it.
    fn frame(&mut self, bytes: Vec<u8>) -> Outcome {
        let lz4 = self.session.lz4_uplink().then_some(&mut self.lz4);
        let decoded = match decode_frame(bytes, lz4) {
            Ok(decoded) => decoded,
            Err(e) => return Outcome::Bad(e.to_string()),
        };
        self.session.note(&decoded.msync);
        let effects = self
            .session
            .handle(&decoded.msync, self.now, &mut self.world);
        let mut answers = Vec::new();
        let mut closed = false;
        for effect in effects {
            match effect {
                Effect::Reply(m)
                | Effect::Notify { msync: m, .. }
                | Effect::Held { msync: m, .. } => {
                    answers.push(frame::encode_msync(&m).len());
                }
                Effect::Close { .. } => closed = true,
                Effect::Bad(error) => return Outcome::Bad(error),
            }
        }
        Outcome::Handled { answers, closed }
    }
}
