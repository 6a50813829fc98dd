//! The msync wire: protobuf schema types, SockJS and raw WebSocket framing, and the canonical
//! JSON view of any frame.
//!
//! Pure code, no I/O: both the fake server and the reference client build on it. It owns the
//! bytes-to-meaning mapping of the protocol (`docs/wire-3.6.3.md`, the wire notes, sections 2-4) and
//! nothing about who sends what when; session behaviour lives in `server/` and `client/`.

pub mod canonical;
pub mod codes;
pub mod frame;
pub mod jid;
pub mod keyvalue;
pub mod lz4;
pub mod sockjs;

/// The prost types generated from `proto/msync.proto` (package `easemob.pb`).
#[allow(clippy::all, missing_docs)]
pub mod pb {
    include!(concat!(env!("OUT_DIR"), "/easemob.pb.rs"));
}

use std::sync::LazyLock;

/// The schema as a reflective descriptor pool, for the canonical JSON view.
pub static DESCRIPTORS: LazyLock<prost_reflect::DescriptorPool> = LazyLock::new(|| {
    prost_reflect::DescriptorPool::decode(
        &include_bytes!(concat!(env!("OUT_DIR"), "/msync_descriptor.bin"))[..],
    )
    .expect("the descriptor set compiled by build.rs decodes")
});

/// Which way a frame travels.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum Direction {
    /// Client to server (uplink).
    #[serde(rename = "c2s")]
    ClientToServer,
    /// Server to client (downlink).
    #[serde(rename = "s2c")]
    ServerToClient,
}

impl Direction {
    /// The short name used in transcripts and scenario files: `c2s` or `s2c`.
    pub fn as_str(self) -> &'static str {
        match self {
            Direction::ClientToServer => "c2s",
            Direction::ServerToClient => "s2c",
        }
    }
}

/// A frame that could not be decoded.
#[derive(Debug, thiserror::Error)]
pub enum WireError {
    /// The protobuf bytes do not decode as the expected message.
    #[error("{message} does not decode: {source}")]
    Protobuf {
        /// The message type that was expected.
        message: &'static str,
        /// What prost said.
        source: prost::DecodeError,
    },
    /// A SockJS message is not valid base64.
    #[error("SockJS message is not base64: {0}")]
    Base64(#[from] base64::DecodeError),
    /// A SockJS frame is malformed.
    #[error("malformed SockJS frame: {0}")]
    SockJs(String),
}
