//! The driver protocol's line parser (`driver::protocol::DriverLine::parse`).
//! Input format and invariants: `imspec::fuzz::targets::driver_line`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| imspec::fuzz::targets::driver_line(data));
