//! The server's inbound decoding path, the one the sockets call: a connection's WebSocket
//! messages (SockJS text or raw binary, the LZ4 uplink once negotiated) through
//! `server::inbound`.
//! Input format and invariants: `imspec::fuzz::targets::inbound`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| imspec::fuzz::targets::inbound(data));
