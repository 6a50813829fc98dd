//! The server's inbound decoding path as one synchronous, pure step: a client's WebSocket
//! message (SockJS text or raw binary) → base64 messages → msync frames → the canonical view
//! the recorder keeps → the session's effects, answers encoded as the writer encodes them.
//!
//! `socket.rs` runs the same steps with sockets, the recorder and the shared world around
//! them; this form exists so the decoder can be fuzzed (`src/fuzz/frames.rs`) a million frames
//! at a time without I/O. It owns one [`Session`] and one [`World`] of its own and must not
//! touch sockets, the recorder or a server's shared state.

use super::WorldSpec;
use super::session::{Effect, Session};
use super::socket::MAX_MESSAGE;
use super::world::World;
use crate::wire::frame::{self, BASE64};
use crate::wire::{Direction, canonical, sockjs};
use base64::Engine as _;

/// One message of a SockJS text: its base64 text, and its bytes or why they do not decode.
pub(crate) type SockJsMessage = (String, Result<Vec<u8>, String>);

/// The msync frames of one SockJS text message, each decoded from base64 or refused: the
/// first layer of the path, shared with `socket.rs`'s reader.
pub(crate) fn split_sockjs(text: &str) -> Result<Vec<SockJsMessage>, String> {
    let messages = sockjs::parse_client(text).map_err(|e| e.to_string())?;
    Ok(messages
        .into_iter()
        .map(|message| {
            let bytes = BASE64
                .decode(message.as_bytes())
                .map_err(|e| format!("SockJS message is not base64: {e}"));
            (message, bytes)
        })
        .collect())
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
            now: super::START_MS,
        };
        (inbound, tokens)
    }

    /// A SockJS text message (`["base64", ...]`), as `Reader::on_message` takes it.
    pub fn sockjs_text(&mut self, text: &str) -> Vec<Outcome> {
        if text.len() > MAX_MESSAGE {
            return vec![Outcome::Bad(format!("message over {MAX_MESSAGE} bytes"))];
        }
        match split_sockjs(text) {
            Ok(frames) => frames
                .into_iter()
                .map(|(_, bytes)| match bytes {
                    Ok(bytes) => self.frame(&bytes),
                    Err(e) => Outcome::Bad(e),
                })
                .collect(),
            Err(e) => vec![Outcome::Bad(e)],
        }
    }

    /// A binary message of the raw WebSocket transport.
    pub fn binary(&mut self, bytes: &[u8]) -> Outcome {
        if bytes.len() > MAX_MESSAGE {
            return Outcome::Bad(format!("message over {MAX_MESSAGE} bytes"));
        }
        self.frame(bytes)
    }

    /// One msync frame, as `Reader::on_frame` handles it.
    fn frame(&mut self, bytes: &[u8]) -> Outcome {
        let msync = match frame::decode_msync(bytes) {
            Ok(msync) => msync,
            Err(e) => return Outcome::Bad(e.to_string()),
        };
        self.session.note(&msync);
        let _view = canonical::msync(Direction::ClientToServer, bytes);
        let effects = self.session.handle(&msync, self.now, &mut self.world);
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
