//! Compiles `proto/msync.proto` with protox (no `protoc` binary needed) into prost types, and
//! keeps the file descriptor set so that `wire::canonical` can decode any frame reflectively;
//! and watches the folders that `suite.rs` embeds.

use prost::Message;
use std::{env, fs, path::PathBuf};

/// Every file under `dir` but `node_modules` (a folder there would be watched with all of it:
/// `npm ci` would rebuild the crate).
fn watch_files(dir: &std::path::Path) -> std::io::Result<()> {
    for entry in fs::read_dir(dir)?.flatten() {
        let path = entry.path();
        if entry.file_name() == "node_modules" {
            continue;
        }
        if path.is_dir() {
            watch_files(&path)?;
        } else {
            println!("cargo:rerun-if-changed={}", path.display());
        }
    }
    Ok(())
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    println!("cargo:rerun-if-changed=proto/msync.proto");
    // The suite and the drivers are embedded (`suite.rs`): a file added, changed or removed
    // there rebuilds the binary. node_modules is not embedded, and not watched either.
    for folder in ["scenarios", "snapshots", "docs"] {
        println!("cargo:rerun-if-changed={folder}");
    }
    watch_files(std::path::Path::new("drivers"))?;
    let descriptors = protox::compile(["msync.proto"], ["proto"])?;
    let out_dir = PathBuf::from(env::var("OUT_DIR")?);
    fs::write(
        out_dir.join("msync_descriptor.bin"),
        descriptors.encode_to_vec(),
    )?;
    // Feature `arbitrary`: every message and enum can be built from fuzzer bytes (`fuzz::typed`).
    prost_build::Config::new()
        .type_attribute(
            ".",
            "#[cfg_attr(feature = \"arbitrary\", derive(arbitrary::Arbitrary))]",
        )
        .compile_fds(descriptors)?;
    Ok(())
}
