//! Fuzzing the server's own inbound decoding path (`server::inbound`, the pure form of
//! `socket.rs`'s reader): valid client frames (PROVISION with a real token, SYNC with a
//! message meta, key acks, UNREAD) built from the body generators, then mutated at one layer
//! (the nested `MessageBody`, the `MSync` bytes, the base64 text, the SockJS JSON) by bit
//! flips, cuts, insertions and repeats. The server must never panic, keep its answers bounded,
//! and answer or refuse each frame.
//!
//! Owns the frame generators and the loop; must not touch sockets.

use super::case::Case;
use super::strategy::{self, Mode};
use crate::server::inbound::{Inbound, Incoming, Outcome};
use crate::server::observe::Transport;
use crate::wire::frame::BASE64;
use crate::wire::pb::{self, m_sync::Command};
use crate::wire::{jid, sockjs};
use base64::Engine as _;
use proptest::prelude::*;
use proptest::strategy::ValueTree;
use proptest::test_runner::{Config, RngAlgorithm, TestRng, TestRunner};
use prost::Message as _;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::time::{Duration, Instant};

/// The largest answer one inbound frame may cause, in bytes.
pub const MAX_ANSWER: usize = 4 << 20;

/// A frame to feed the decoder.
#[derive(Debug, Clone)]
pub enum Input {
    /// A SockJS text message.
    Text(String),
    /// A raw WebSocket binary message.
    Binary(Vec<u8>),
}

/// What a run of the decoder fuzzer did.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct FramesReport {
    /// Messages fed.
    pub messages: u64,
    /// Frames decoded and handled.
    pub handled: u64,
    /// Frames refused as bad.
    pub bad: u64,
    /// Sessions closed by the server.
    pub closed: u64,
    /// Panics (must be 0), with the first message that caused one.
    pub panics: u64,
    /// The first panicking message, base64 of its bytes or its text.
    pub first_panic: Option<String>,
    /// Answers over [`MAX_ANSWER`] (must be 0).
    pub oversized_answers: u64,
    /// Wall time, in ms.
    pub elapsed_ms: u128,
}

#[derive(Debug, Clone, Copy)]
enum Layer {
    None,
    Body,
    MSync,
    Base64,
    SockJs,
}

fn mutate(bytes: &mut Vec<u8>, ops: &[(u8, usize, u8)]) {
    for &(op, at, v) in ops {
        if bytes.is_empty() {
            bytes.push(v);
            continue;
        }
        let i = at % bytes.len();
        match op % 5 {
            0 => bytes[i] ^= 1 << (v % 8),
            1 => bytes.truncate(i),
            2 => bytes.insert(i, v),
            3 => {
                let slice: Vec<u8> = bytes[i..(i + 1 + v as usize).min(bytes.len())].to_vec();
                bytes.splice(i..i, slice);
            }
            _ => bytes[i] = v,
        }
    }
}

fn msync(command: Command, payload: Option<Vec<u8>>, token: &str) -> pb::MSync {
    pb::MSync {
        version: Some(0),
        guid: Some(pb::Jid {
            app_key: Some("org#app".into()),
            name: Some("alice".into()),
            domain: Some(jid::USER_DOMAIN.into()),
            client_resource: Some("webim_1".into()),
        }),
        auth: Some(format!("$t${token}")),
        command: Some(command as i32),
        payload,
        ..Default::default()
    }
}

/// One valid client frame of kind `kind` for `case`, before mutation.
fn valid_frame(kind: u8, case: &Case, token: &str, key: u64) -> (pb::MSync, Option<Vec<u8>>) {
    let body = match case {
        Case::Valid(v) => v.message_body(),
        Case::Hostile(h) => pb::MessageBody::decode(h.payload().as_slice()).unwrap_or_default(),
    };
    match kind % 4 {
        0 => {
            let p = pb::Provision {
                resource: Some("webim_1".into()),
                ..Default::default()
            };
            (
                msync(Command::Provision, Some(p.encode_to_vec()), token),
                None,
            )
        }
        1 => (msync(Command::Unread, None, token), None),
        2 => {
            let ul = pb::CommSyncUl {
                key: Some(key),
                queue: Some(jid::name_only("bob")),
                ..Default::default()
            };
            (msync(Command::Sync, Some(ul.encode_to_vec()), token), None)
        }
        _ => {
            let payload = body.encode_to_vec();
            (msync(Command::Sync, None, token), Some(payload))
        }
    }
}

fn sync_with_body(mut m: pb::MSync, body: Vec<u8>, key: u64) -> pb::MSync {
    let ul = pb::CommSyncUl {
        meta: Some(pb::Meta {
            id: Some(key),
            from: m.guid.clone(),
            to: Some(jid::name_only("bob")),
            ns: Some(1),
            payload: Some(body),
            ..Default::default()
        }),
        ..Default::default()
    };
    m.payload = Some(ul.encode_to_vec());
    m
}

/// A valid frame before mutation: the `MSync`, and the `MessageBody` bytes of a message meta.
type Base = (pb::MSync, Option<Vec<u8>>, u64);

/// The corpus: `size` valid frames of every kind, built from generated cases.
fn corpus(runner: &mut TestRunner, token: &str, size: usize) -> Vec<Base> {
    let strategy = (
        strategy::case(Mode::Valid, crate::server::DEFAULT_MESSAGE_LIMIT_BYTES),
        any::<u8>(),
        any::<u64>(),
    );
    (0..size)
        .filter_map(|_| strategy.new_tree(runner).ok())
        .map(|tree| {
            let (case, kind, key) = tree.current();
            let (m, body) = valid_frame(kind, &case, token, key);
            (m, body, key)
        })
        .collect()
}

/// One message: a corpus frame mutated at one layer (or none), as text or binary.
fn message(base: &Base, rng: &mut TestRng) -> Input {
    let layer = match rng.next_u32() % 10 {
        0 => Layer::None,
        1..=3 => Layer::Body,
        4..=6 => Layer::MSync,
        7 => Layer::Base64,
        _ => Layer::SockJs,
    };
    let ops: Vec<(u8, usize, u8)> = (0..1 + rng.next_u32() % 5)
        .map(|_| {
            let r = rng.next_u64();
            (r as u8, (r >> 8) as usize, (r >> 40) as u8)
        })
        .collect();
    let (m, body, key) = base;
    let mut m = match body {
        Some(body) => {
            let mut body = body.clone();
            if let Layer::Body = layer {
                mutate(&mut body, &ops);
            }
            sync_with_body(m.clone(), body, *key)
        }
        None => m.clone(),
    };
    if m.payload.is_none() && matches!(layer, Layer::Body) {
        m.payload = Some(Vec::new());
    }
    let mut bytes = crate::wire::frame::encode_msync(&m);
    if let Layer::MSync = layer {
        mutate(&mut bytes, &ops);
    }
    if rng.next_u32().is_multiple_of(4) {
        return Input::Binary(bytes);
    }
    let mut text = BASE64.encode(&bytes).into_bytes();
    if let Layer::Base64 = layer {
        mutate(&mut text, &ops);
    }
    let text = String::from_utf8_lossy(&text).into_owned();
    let mut frame = sockjs::encode_client(&[text]).into_bytes();
    if let Layer::SockJs = layer {
        mutate(&mut frame, &ops);
    }
    Input::Text(String::from_utf8_lossy(&frame).into_owned())
}

/// Feeds `count` mutated messages (seeded) to fresh connections, a new one every 64
/// messages, until `count` or `budget` is reached. The corpus of valid frames comes from the
/// body generators and is renewed every 4096 messages.
pub fn run(seed: u64, count: u64, budget: Duration) -> FramesReport {
    let started = Instant::now();
    let mut bytes = [0u8; 32];
    bytes[..8].copy_from_slice(&seed.to_le_bytes());
    let mut runner = TestRunner::new_with_rng(
        Config::default(),
        TestRng::from_seed(RngAlgorithm::ChaCha, &bytes),
    );
    bytes[8] = 1;
    let mut rng = TestRng::from_seed(RngAlgorithm::ChaCha, &bytes);
    let mut report = FramesReport::default();
    let connect = || {
        let (inbound, mut tokens) = Inbound::new(super::live::world(), &["alice"]);
        (inbound, tokens.pop().unwrap_or_default())
    };
    let (mut inbound, mut token) = connect();
    let mut bases: Vec<Base> = Vec::new();
    while report.messages < count && started.elapsed() < budget {
        if report.messages.is_multiple_of(64) && report.messages > 0 {
            (inbound, token) = connect();
        }
        if report.messages.is_multiple_of(4096) || bases.is_empty() {
            bases = corpus(&mut runner, &token, 64);
        }
        let base = &bases[(rng.next_u32() as usize) % bases.len().max(1)];
        let input = message(base, &mut rng);
        report.messages += 1;
        let outcome = catch_unwind(AssertUnwindSafe(|| match &input {
            Input::Text(t) => inbound.message(Transport::Sockjs, Incoming::Text(t)),
            Input::Binary(b) => inbound.message(Transport::Websocket, Incoming::Binary(b)),
        }));
        match outcome {
            Ok(outcomes) => {
                for o in outcomes {
                    match o {
                        Outcome::Bad(_) => report.bad += 1,
                        Outcome::Handled { answers, closed } => {
                            report.handled += 1;
                            report.closed += u64::from(closed);
                            report.oversized_answers +=
                                answers.iter().filter(|&&a| a > MAX_ANSWER).count() as u64;
                        }
                    }
                }
            }
            Err(_) => {
                report.panics += 1;
                if report.first_panic.is_none() {
                    report.first_panic = Some(match &input {
                        Input::Text(t) => t.clone(),
                        Input::Binary(b) => BASE64.encode(b),
                    });
                }
                (inbound, token) = connect();
            }
        }
    }
    report.elapsed_ms = started.elapsed().as_millis();
    report
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_decoder_survives_generated_and_mutated_frames() {
        let report = run(7, 2_000, Duration::from_secs(60));
        assert_eq!(report.panics, 0, "first panic on {:?}", report.first_panic);
        assert_eq!(report.oversized_answers, 0);
        assert!(report.handled > 100 && report.bad > 100, "{report:?}");
    }

    /// The million-frame run: `IMSPEC_FUZZ_FRAMES=1000000 cargo test --release --lib -- --ignored million`.
    #[test]
    #[ignore = "long: set IMSPEC_FUZZ_FRAMES and run with --ignored (release build)"]
    fn a_million_frames() {
        let count = std::env::var("IMSPEC_FUZZ_FRAMES")
            .ok()
            .and_then(|c| c.parse().ok())
            .unwrap_or(1_000_000);
        let report = run(1, count, Duration::from_secs(3_600));
        eprintln!("{}", serde_json::to_string(&report).unwrap_or_default());
        assert_eq!(report.panics, 0, "first panic on {:?}", report.first_panic);
        assert_eq!(report.messages, count);
    }
}
