//! Compiles `proto/msync.proto` with protox (no `protoc` binary needed) into prost types, and
//! keeps the file descriptor set so that `wire::canonical` can decode any frame reflectively.

use prost::Message;
use std::{env, fs, path::PathBuf};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    println!("cargo:rerun-if-changed=proto/msync.proto");
    let descriptors = protox::compile(["msync.proto"], ["proto"])?;
    let out_dir = PathBuf::from(env::var("OUT_DIR")?);
    fs::write(
        out_dir.join("msync_descriptor.bin"),
        descriptors.encode_to_vec(),
    )?;
    prost_build::Config::new().compile_fds(descriptors)?;
    Ok(())
}
