//! The scenario loader: TOML text in, a scenario or a load error out.
//! Input format and invariants: `imspec::fuzz::targets::scenario_file`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| imspec::fuzz::targets::scenario_file(data));
