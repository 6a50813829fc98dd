//! The bodies of the `cargo fuzz` targets under `fuzz/`: one function per target, the fuzzer's
//! bytes in, nothing out. Bad input must come to an error value; a panic here is a finding
//! (a crash in the code under test, or a broken invariant asserted below).
//!
//! Each target drives the library's own entry point, the one the harness runs: the server's
//! inbound path (`server::inbound`, which the sockets call), the canonical view
//! (`wire::canonical`), the LZ4 uplink (`wire::lz4`), the scenario loader
//! (`scenario::load_str`) and the driver-protocol line parser (`driver::protocol`). The input
//! formats are defined here, next to the seed corpora written from the snapshots and scenarios
//! (`seeds.rs`). No file system, sockets or clock.

use super::frames::MAX_ANSWER;
use crate::driver::protocol::DriverLine;
use crate::server::WorldSpec;
use crate::server::inbound::{Inbound, Incoming, Outcome};
use crate::server::observe::Transport;
use crate::wire::lz4::{self, Lz4Uplink};
use crate::wire::{Direction, canonical};
use std::path::Path;

/// A target's body: the fuzzer's bytes in.
pub type Target = fn(&[u8]);

/// The targets, by the name of their `fuzz/fuzz_targets/<name>.rs` and corpus folder.
pub const TARGETS: &[(&str, Target)] = &[
    ("inbound", inbound),
    ("canonical_view", canonical_view),
    ("lz4_uplink", lz4_uplink),
    ("scenario_file", scenario_file),
    ("driver_line", driver_line),
];

/// The users the inbound target's world knows, in the order their tokens are issued.
pub const USERS: &[&str] = &["alice", "bob"];

/// The world of the inbound target: alice and bob, group `g1`, room `r1`, LZ4 uplink allowed.
pub fn world() -> WorldSpec {
    WorldSpec {
        lz4: true,
        ..super::live::world()
    }
}

/// Splits a target's input into records: a kind byte, a little-endian `u16` length, then that
/// many bytes (fewer for the last record when the input ends early).
pub fn records(mut data: &[u8]) -> Vec<(u8, &[u8])> {
    let mut out = Vec::new();
    while let Some((&kind, rest)) = data.split_first() {
        let (length, rest) = match rest {
            [low, high, rest @ ..] => (usize::from(u16::from_le_bytes([*low, *high])), rest),
            _ => (rest.len(), rest),
        };
        let (record, rest) = rest.split_at(length.min(rest.len()));
        out.push((kind, record));
        data = rest;
    }
    out
}

/// Appends one record as [`records`] reads it (at most `u16::MAX` bytes of `bytes`).
pub fn write_record(out: &mut Vec<u8>, kind: u8, bytes: &[u8]) {
    let bytes = &bytes[..bytes.len().min(usize::from(u16::MAX))];
    out.push(kind);
    out.extend_from_slice(&(bytes.len() as u16).to_le_bytes());
    out.extend_from_slice(bytes);
}

/// The transport named by the first byte of an inbound input.
pub fn transport_of(byte: u8) -> Transport {
    if byte & 1 == 0 {
        Transport::Sockjs
    } else {
        Transport::Websocket
    }
}

/// Record kind of a text WebSocket message in an inbound input (odd kinds are binary).
pub const TEXT: u8 = 0;
/// Record kind of a binary WebSocket message in an inbound input.
pub const BINARY: u8 = 1;

/// One connection to the server's inbound path: the first byte picks the transport (even:
/// SockJS, odd: raw WebSocket), then each record is one WebSocket message (even kind: text,
/// odd: binary). Tokens `YWMt-alice-1` and `YWMt-bob-2` are valid, and LZ4 uplink compression
/// is accepted when a PROVISION offers it. The server must answer or refuse every frame and
/// keep each answer under [`MAX_ANSWER`].
pub fn inbound(data: &[u8]) {
    let Some((&first, rest)) = data.split_first() else {
        return;
    };
    let transport = transport_of(first);
    let (mut connection, _tokens) = Inbound::new(world(), USERS);
    for (kind, bytes) in records(rest) {
        let text;
        let message = if kind & 1 == TEXT {
            text = String::from_utf8_lossy(bytes);
            Incoming::Text(&text)
        } else {
            Incoming::Binary(bytes)
        };
        for outcome in connection.message(transport, message) {
            if let Outcome::Handled { answers, .. } = outcome {
                assert!(
                    answers.iter().all(|&size| size <= MAX_ANSWER),
                    "an answer over {MAX_ANSWER} bytes: {answers:?}"
                );
            }
        }
    }
}

/// The canonical view of one frame: the first byte picks the direction (even: c2s, odd:
/// s2c), the rest is the `MSync` bytes. A frame the server decodes must not be shown as
/// undecodable, and the view must encode back to bytes whose view is the same.
pub fn canonical_view(data: &[u8]) {
    let Some((&first, bytes)) = data.split_first() else {
        return;
    };
    let direction = if first & 1 == 0 {
        Direction::ClientToServer
    } else {
        Direction::ServerToClient
    };
    let view = canonical::msync(direction, bytes);
    if crate::wire::frame::decode_msync(bytes).is_ok() {
        assert!(
            view.get("undecodable").is_none(),
            "the server decodes this frame, the view says undecodable: {view}"
        );
    }
    let again = match canonical::encode_msync(&view) {
        Ok(again) => again,
        Err(e) => panic!("the view does not encode back ({e}): {view}"),
    };
    assert_eq!(
        canonical::msync(direction, &again),
        view,
        "the view of the re-encoded frame differs"
    );
}

/// Record kind of an LZ4 frame as it arrives, in an LZ4 input (odd kinds are plain bytes).
pub const LZ4_FRAME: u8 = 0;
/// Record kind of plain bytes to compress against the history, in an LZ4 input.
pub const LZ4_PLAIN: u8 = 1;

/// A sequence of frames through one connection's LZ4 uplink: each record with an even kind is
/// a frame as it arrives; with an odd kind, plain bytes that a streaming encoder compresses
/// against the decoder's history, which must then decode to the same bytes.
pub fn lz4_uplink(data: &[u8]) {
    let mut uplink = Lz4Uplink::default();
    for (kind, bytes) in records(data) {
        if kind & 1 == LZ4_FRAME {
            let _ = uplink.decode(bytes);
        } else {
            let frame = lz4::encode_frame_with_history(bytes, uplink.history());
            match uplink.decode(&frame) {
                Ok(plain) => assert_eq!(plain, bytes, "a round trip changed the bytes"),
                Err(e) => panic!("a frame compressed against the history does not decode: {e}"),
            }
        }
        assert!(uplink.history().len() <= lz4::WINDOW);
    }
}

/// A scenario file's text (UTF-8 only): loaded and validated, it comes to a scenario or a
/// load error whose message can be printed.
pub fn scenario_file(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Err(e) = crate::scenario::load_str("fuzz/input", Path::new("fuzz/input.toml"), text) {
        let _ = e.to_string();
    }
}

/// One stdout line of a driver (UTF-8 only): a reply, an event, or a line error; a parsed line
/// written back as JSON parses to the same line.
pub fn driver_line(data: &[u8]) {
    let Ok(line) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(parsed) = DriverLine::parse(line) else {
        return;
    };
    let written = match &parsed {
        DriverLine::Reply(reply) => serde_json::to_string(reply),
        DriverLine::Event(event) => serde_json::to_string(event),
    };
    let written = written.expect("a parsed line serialises");
    assert_eq!(
        DriverLine::parse(&written),
        Ok(parsed),
        "written back: {written}"
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_round_trip_and_a_short_input_is_one_record() {
        let mut data = Vec::new();
        write_record(&mut data, TEXT, b"[\"CAAS\"]");
        write_record(&mut data, BINARY, b"");
        write_record(&mut data, 7, b"xyz");
        assert_eq!(
            records(&data),
            vec![
                (TEXT, &b"[\"CAAS\"]"[..]),
                (BINARY, &b""[..]),
                (7, &b"xyz"[..])
            ]
        );
        assert_eq!(records(&[3, 9]), vec![(3, &[9][..])]);
        assert_eq!(records(&[3, 9, 0, 1]), vec![(3, &[1][..])]);
    }

    #[test]
    fn the_tokens_of_the_inbound_world_are_the_documented_ones() {
        let (_, tokens) = Inbound::new(world(), USERS);
        assert_eq!(tokens, ["YWMt-alice-1", "YWMt-bob-2"]);
    }
}
