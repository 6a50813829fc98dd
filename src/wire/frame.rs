//! One msync frame: an `MSync` protobuf, carried either base64-encoded inside a SockJS message
//! (3.x Web SDK) or as a raw binary WebSocket message (later SDK generations).
//!
//! This module turns bytes into typed messages and back, and names which nested message a
//! payload holds for a given command and direction (wire notes section 3).

use super::{Direction, WireError, pb};
use base64::Engine as _;
use prost::Message as _;

/// The base64 alphabet the SDK uses (`btoa`/`atob`: standard, padded).
pub const BASE64: base64::engine::GeneralPurpose = base64::engine::general_purpose::STANDARD;

/// Decodes an `MSync` from its protobuf bytes.
pub fn decode_msync(bytes: &[u8]) -> Result<pb::MSync, WireError> {
    pb::MSync::decode(bytes).map_err(|source| WireError::Protobuf {
        message: "MSync",
        source,
    })
}

/// Encodes an `MSync` to protobuf bytes.
pub fn encode_msync(msync: &pb::MSync) -> Vec<u8> {
    msync.encode_to_vec()
}

/// Decodes one SockJS message of the 3.x SDK: base64 text holding one `MSync`.
pub fn decode_base64_msync(text: &str) -> Result<(Vec<u8>, pb::MSync), WireError> {
    let bytes = BASE64.decode(text)?;
    let msync = decode_msync(&bytes)?;
    Ok((bytes, msync))
}

/// Encodes an `MSync` as the base64 text the 3.x SDK expects inside a SockJS message.
pub fn encode_base64_msync(msync: &pb::MSync) -> String {
    BASE64.encode(encode_msync(msync))
}

/// Decodes a nested message from payload bytes, naming the type in the error.
pub fn decode_payload<M: prost::Message + Default>(
    name: &'static str,
    bytes: &[u8],
) -> Result<M, WireError> {
    M::decode(bytes).map_err(|source| WireError::Protobuf {
        message: name,
        source,
    })
}

/// The fully qualified name of the message held in `MSync.payload` for this command and
/// direction, or `None` when the command carries no payload that way (an UNREAD request).
pub fn msync_payload_type(command: i32, direction: Direction) -> Option<&'static str> {
    use pb::m_sync::Command;
    match (Command::try_from(command).ok()?, direction) {
        (Command::Sync, Direction::ClientToServer) => Some("easemob.pb.CommSyncUL"),
        (Command::Sync, Direction::ServerToClient) => Some("easemob.pb.CommSyncDL"),
        (Command::Unread, Direction::ClientToServer) => Some("easemob.pb.CommUnreadUL"),
        (Command::Unread, Direction::ServerToClient) => Some("easemob.pb.CommUnreadDL"),
        (Command::Notice, _) => Some("easemob.pb.CommNotice"),
        (Command::Provision, _) => Some("easemob.pb.Provision"),
        (Command::Logout, _) => Some("easemob.pb.Logout"),
    }
}

/// The fully qualified name of the message held in `Meta.payload` for a namespace.
pub fn meta_payload_type(ns: i32) -> Option<&'static str> {
    use pb::meta::NameSpace;
    Some(match NameSpace::try_from(ns).ok()? {
        NameSpace::Statistic => "easemob.pb.StatisticsBody",
        NameSpace::Chat => "easemob.pb.MessageBody",
        NameSpace::Muc => "easemob.pb.MUCBody",
        NameSpace::Roster => "easemob.pb.RosterBody",
        NameSpace::Conference => "easemob.pb.ConferenceBody",
        // 4.x namespaces (edits, queries) carry no payload type of their own in the schema.
        NameSpace::Notify | NameSpace::Query => return None,
    })
}

/// Builds an `MSync` the way the fake server sends it: command and payload, nothing else.
pub fn server_msync(command: pb::m_sync::Command, payload: &impl prost::Message) -> pb::MSync {
    pb::MSync {
        command: Some(command as i32),
        payload: Some(payload.encode_to_vec()),
        ..Default::default()
    }
}
