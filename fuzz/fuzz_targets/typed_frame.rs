//! Structure-aware: frames built by `arbitrary` from typed protobuf parts, through the
//! canonical view and the server's inbound path (`imspec::fuzz::typed`).
#![no_main]

use imspec::fuzz::typed::{TypedFrame, typed_frame};

libfuzzer_sys::fuzz_target!(|frame: TypedFrame| typed_frame(&frame));
