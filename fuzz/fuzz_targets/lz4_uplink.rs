//! A sequence of frames through one connection's LZ4 uplink history (`wire::lz4`).
//! Input format and invariants: `imspec::fuzz::targets::lz4_uplink`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| imspec::fuzz::targets::lz4_uplink(data));
