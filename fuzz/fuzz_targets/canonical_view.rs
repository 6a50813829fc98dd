//! The canonical JSON view of a frame (`wire::canonical`), and its encoding back to the
//! same view.
//! Input format and invariants: `imspec::fuzz::targets::canonical_view`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| imspec::fuzz::targets::canonical_view(data));
