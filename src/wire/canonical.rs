//! The canonical JSON view of a frame: every nested payload decoded, enums by name, 64-bit
//! integers as strings (as protobufjs prints them), only the fields present on the wire.
//!
//! `MSync.payload` becomes `{"CommSyncUL": {...}}` (the type depends on command and direction)
//! and `Meta.payload` becomes `{"MessageBody": {...}}` (the type depends on `ns`). Bytes that do
//! not decode become `{"undecodable": {"type", "error", "base64"}}`, so a broken frame is shown,
//! never dropped. This is the form in transcripts, snapshots and `frame` expectations.
//!
//! [`encode_msync`] is the inverse: a view back to protobuf bytes (a frame in a snapshot back to
//! a frame on the wire, for the fuzzers' seed corpora), such that decoding the bytes again gives
//! the same view.

use super::{DESCRIPTORS, Direction, frame};
use base64::Engine as _;
use prost_reflect::{DynamicMessage, SerializeOptions};
use serde_json::{Map, Value, json};

/// The canonical view of an `MSync` frame's protobuf bytes.
pub fn msync(direction: Direction, bytes: &[u8]) -> Value {
    let mut view = message("easemob.pb.MSync", bytes);
    let Some(fields) = view.as_object_mut() else {
        return view;
    };
    let command = enum_number(fields, "command", "easemob.pb.MSync.Command");
    if let Some(payload) = take_bytes(fields, "payload") {
        let nested = match frame::msync_payload_type(command, direction) {
            Some(type_name) => typed(type_name, &payload),
            None => undecodable(
                "unknown command",
                "no payload type for this command",
                &payload,
            ),
        };
        fields.insert("payload".into(), nested);
    }
    view
}

/// The canonical view of a `Meta` (as found in roaming history, base64-decoded).
pub fn meta(bytes: &[u8]) -> Value {
    typed("easemob.pb.Meta", bytes)
}

fn typed(full_name: &'static str, bytes: &[u8]) -> Value {
    let short = full_name.rsplit('.').next().unwrap_or(full_name);
    let mut inner = message(full_name, bytes);
    if inner.get("undecodable").is_none() {
        decode_metas(short, &mut inner);
    }
    if inner.get("undecodable").is_some() {
        return inner;
    }
    json!({ short: inner })
}

/// Decodes `Meta.payload` wherever metas sit in a nested message.
fn decode_metas(type_name: &str, view: &mut Value) {
    let metas: Vec<&mut Value> = match type_name {
        "CommSyncUL" => view.get_mut("meta").into_iter().collect(),
        "CommSyncDL" => match view.get_mut("metas") {
            Some(Value::Array(metas)) => metas.iter_mut().collect(),
            _ => Vec::new(),
        },
        "Meta" => vec![view],
        _ => Vec::new(),
    };
    for meta in metas {
        let Some(fields) = meta.as_object_mut() else {
            continue;
        };
        let ns = enum_number(fields, "ns", "easemob.pb.Meta.NameSpace");
        if let Some(payload) = take_bytes(fields, "payload") {
            let nested = match frame::meta_payload_type(ns) {
                Some(type_name) => typed(type_name, &payload),
                None => undecodable("unknown ns", "no payload type for this namespace", &payload),
            };
            fields.insert("payload".into(), nested);
        }
    }
}

/// Decodes bytes as the named message into JSON, or an `undecodable` record.
fn message(full_name: &str, bytes: &[u8]) -> Value {
    let Some(descriptor) = DESCRIPTORS.get_message_by_name(full_name) else {
        return undecodable(full_name, "type not in schema", bytes);
    };
    match DynamicMessage::decode(descriptor, bytes) {
        Ok(msg) => {
            let options = SerializeOptions::new()
                .stringify_64_bit_integers(true)
                .use_proto_field_name(true)
                .skip_default_fields(true);
            match msg.serialize_with_options(serde_json::value::Serializer, &options) {
                Ok(view) => view,
                Err(e) => undecodable(full_name, &e.to_string(), bytes),
            }
        }
        Err(e) => undecodable(full_name, &e.to_string(), bytes),
    }
}

/// The number of the enum value named in `fields[key]`, or 0 (the proto2 default) when absent.
fn enum_number(fields: &Map<String, Value>, key: &str, enum_name: &str) -> i32 {
    fields
        .get(key)
        .and_then(Value::as_str)
        .and_then(|name| {
            DESCRIPTORS
                .get_enum_by_name(enum_name)?
                .get_value_by_name(name)
                .map(|v| v.number())
        })
        .unwrap_or(0)
}

fn take_bytes(fields: &mut Map<String, Value>, key: &str) -> Option<Vec<u8>> {
    let encoded = fields.get(key)?.as_str()?;
    let bytes = frame::BASE64.decode(encoded).ok()?;
    fields.remove(key);
    Some(bytes)
}

fn undecodable(type_name: &str, error: &str, bytes: &[u8]) -> Value {
    let short = type_name.rsplit('.').next().unwrap_or(type_name);
    json!({"undecodable": {"type": short, "error": error, "base64": frame::BASE64.encode(bytes)}})
}

/// Why a JSON value is not a canonical view that can be encoded.
#[derive(Debug, thiserror::Error)]
pub enum ViewError {
    /// A message's view is not a JSON object.
    #[error("{type_name}: the view is not a JSON object")]
    NotAnObject {
        /// The message type expected there.
        type_name: String,
    },
    /// A nested payload is not `{"<Type>": {...}}` with a type of the schema.
    #[error("a nested payload is not {{\"<Type>\": {{...}}}} with a type of the schema: {0}")]
    Payload(String),
    /// The `base64` of an `undecodable` record does not decode.
    #[error("undecodable record: base64 does not decode: {0}")]
    Base64(#[from] base64::DecodeError),
    /// The fields do not fit the message type.
    #[error("{type_name}: {message}")]
    Fields {
        /// The message type.
        type_name: String,
        /// What prost-reflect said.
        message: String,
    },
}

/// The protobuf bytes of an `MSync` frame whose canonical view is `view`: the inverse of
/// [`msync`] (`msync(direction, &encode_msync(&view)?) == view` for any `view` it produced).
pub fn encode_msync(view: &Value) -> Result<Vec<u8>, ViewError> {
    if let Some(bytes) = undecodable_bytes(view)? {
        return Ok(bytes);
    }
    let mut fields = object(view, "MSync")?;
    if let Some(payload) = fields.get("payload") {
        let bytes = encode_typed(payload)?;
        fields.insert("payload".into(), frame::BASE64.encode(bytes).into());
    }
    encode_message("easemob.pb.MSync", fields)
}

/// `{"<Type>": {...}}` (or an `undecodable` record) back to bytes.
fn encode_typed(view: &Value) -> Result<Vec<u8>, ViewError> {
    if let Some(bytes) = undecodable_bytes(view)? {
        return Ok(bytes);
    }
    let (short, inner) = match view.as_object() {
        Some(wrapper) if wrapper.len() == 1 => wrapper.iter().next().expect("one entry"),
        _ => return Err(ViewError::Payload(view.to_string())),
    };
    let full_name = format!("easemob.pb.{short}");
    let mut fields = object(inner, &full_name)?;
    match short.as_str() {
        "CommSyncUL" => {
            if let Some(meta) = fields.get_mut("meta") {
                encode_meta_payload(meta)?;
            }
        }
        "CommSyncDL" => {
            if let Some(Value::Array(metas)) = fields.get_mut("metas") {
                for meta in metas {
                    encode_meta_payload(meta)?;
                }
            }
        }
        "Meta" => {
            let mut meta = Value::Object(fields);
            encode_meta_payload(&mut meta)?;
            fields = object(&meta, &full_name)?;
        }
        _ => {}
    }
    encode_message(&full_name, fields)
}

/// Replaces a meta view's typed `payload` by its base64 bytes, as the schema has it.
fn encode_meta_payload(meta: &mut Value) -> Result<(), ViewError> {
    if let Some(payload) = meta.get("payload") {
        let bytes = encode_typed(payload)?;
        meta["payload"] = frame::BASE64.encode(bytes).into();
    }
    Ok(())
}

fn encode_message(full_name: &str, fields: Map<String, Value>) -> Result<Vec<u8>, ViewError> {
    let fields_error = |message: String| ViewError::Fields {
        type_name: full_name.to_string(),
        message,
    };
    let descriptor = DESCRIPTORS
        .get_message_by_name(full_name)
        .ok_or_else(|| ViewError::Payload(format!("{full_name} is not in the schema")))?;
    let message = DynamicMessage::deserialize(descriptor, Value::Object(fields))
        .map_err(|e| fields_error(e.to_string()))?;
    Ok(prost::Message::encode_to_vec(&message))
}

fn object(view: &Value, type_name: &str) -> Result<Map<String, Value>, ViewError> {
    view.as_object()
        .cloned()
        .ok_or_else(|| ViewError::NotAnObject {
            type_name: type_name.to_string(),
        })
}

/// The bytes of an `{"undecodable": {..., "base64"}}` record, `None` for any other view.
fn undecodable_bytes(view: &Value) -> Result<Option<Vec<u8>>, ViewError> {
    match view.get("undecodable").and_then(|u| u.get("base64")) {
        Some(encoded) => {
            let encoded = encoded.as_str().unwrap_or_default();
            Ok(Some(frame::BASE64.decode(encoded)?))
        }
        None => Ok(None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The PROVISION frame the real SDK 3.6.3 sent (wire notes section 1).
    const SDK_PROVISION: &str = "CAASMgoHb3JnI2FwcBIFYWxpY2UaC2Vhc2Vtb2IuY29tIhN3ZWJpbV8xNzk1NjI2NzY0Mjk5GgwkdCRUT0stYWxpY2VAA0pGCBASBTMuNi4zKAAwAEoNMTc5NTYyNjc2NDI5OWIFd2ViaW1qE3dlYmltXzE3OTU2MjY3NjQyOTlyDCR0JFRPSy1hbGljZVAAWAA=";

    #[test]
    fn the_real_sdk_provision_frame_decodes_with_explicit_defaults_kept() {
        let bytes = frame::BASE64.decode(SDK_PROVISION).unwrap();
        let view = msync(Direction::ClientToServer, &bytes);
        assert_eq!(
            view,
            json!({
                "version": "MSYNC_V1",
                "guid": {"appKey": "org#app", "name": "alice", "domain": "easemob.com", "clientResource": "webim_1795626764299"},
                "auth": "$t$TOK-alice",
                "command": "PROVISION",
                "payload": {"Provision": {
                    "osType": "OS_OTHER", "version": "3.6.3",
                    "compressType": ["COMPRESS_NONE"], "encryptType": ["ENCRYPT_NONE"],
                    "deviceUuid": "1795626764299", "deviceName": "webim",
                    "resource": "webim_1795626764299", "auth": "$t$TOK-alice"
                }},
                "deviceId": 0,
                "encryptType": ["ENCRYPT_NONE"]
            })
        );
    }

    #[test]
    fn a_view_encodes_back_to_a_frame_with_the_same_view() {
        let bytes = frame::BASE64.decode(SDK_PROVISION).unwrap();
        let view = msync(Direction::ClientToServer, &bytes);
        let again = encode_msync(&view).unwrap();
        assert_eq!(msync(Direction::ClientToServer, &again), view);

        let garbage = msync(Direction::ServerToClient, b"\xff\xff\xff");
        assert_eq!(encode_msync(&garbage).unwrap(), b"\xff\xff\xff");
    }

    #[test]
    fn garbage_is_shown_as_undecodable() {
        let view = msync(Direction::ServerToClient, b"\xff\xff\xff");
        assert_eq!(view["undecodable"]["type"], "MSync");
    }
}
