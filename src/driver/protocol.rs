//! The messages of the driver protocol, version 2 (`DRIVER-PROTOCOL.md`), shared by
//! the harness side (`driver`) and the reference client (`client`).

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// The protocol version this harness speaks: version 1 plus `hello`'s `capabilities` and the
/// `reset` op (2), plus generated attachments (`send`'s `file = {name, mime, size}`) and
/// `download`'s `parseDownloadResponse` (3). It still drives version 1 and 2 drivers.
pub const PROTOCOL_VERSION: u64 = 3;

/// The versions `hello` asks for, in turn, until the driver accepts one: a driver refuses a
/// version it does not know (DRIVER-PROTOCOL.md, "Versioning").
pub const HELLO_VERSIONS: [u64; 3] = [3, 2, 1];

/// The largest generated attachment a `send` may ask for (`file = {name, mime, size}`).
pub const MAX_GENERATED_FILE: u64 = 64 * 1024 * 1024;

/// The bytes of a generated attachment of `size` bytes (protocol 3, DRIVER-PROTOCOL.md,
/// "Generated files"): a 32-bit linear congruential generator from `0x9E3779B9`,
/// `x = x * 1664525 + 1013904223 (mod 2^32)`, each byte the top 8 bits of the next `x`. Every
/// driver makes the same bytes, so the server's size and sha256 of the upload are known.
pub fn generated_file(size: usize) -> Vec<u8> {
    let mut x: u32 = 0x9E37_79B9;
    (0..size)
        .map(|_| {
            x = x.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
            (x >> 24) as u8
        })
        .collect()
}

/// The size of a generated attachment a `send`'s `file` asks for (`{name, mime, size}`, no
/// `base64`), or why it is not one that can be made.
pub fn generated_size(file: &Value) -> Option<Result<usize, String>> {
    if file.get("base64").is_some() {
        return None;
    }
    let size = file.get("size")?;
    Some(
        size.as_u64()
            .filter(|n| *n <= MAX_GENERATED_FILE)
            .and_then(|n| usize::try_from(n).ok())
            .ok_or_else(|| {
                format!(
                    "\"file\".size must be an integer from 0 to {MAX_GENERATED_FILE}, not {size}"
                )
            }),
    )
}

/// The ops a scenario's steps send, each naming a user, in DRIVER-PROTOCOL.md's order: the one
/// list the reference client answers and `imspec driver-check` checks.
pub const USER_OPS: &[&str] = &[
    "connect",
    "send",
    "recall",
    "history",
    "sessions",
    "download",
    "disconnect",
];

/// What a version 2 driver may announce in `hello`'s `capabilities` (DRIVER-PROTOCOL.md): the
/// one list the harness, the reference client and `imspec driver-check` read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Capability {
    /// `reset`: it serves many scenarios ("Reuse").
    Reset,
    /// `fire-timer`: it runs its SDK's timers on request ("Timers").
    Timers,
    /// Every callback made is written before the `reset` / `shutdown` reply ("Settling").
    ImmediateCallbacks,
    /// `sync`: its reply comes after every callback made so far is written ("Settling").
    Sync,
    /// `connect` takes `emoji`, the app's `WebIM.Emoji`, and installs it ("Emoji").
    Emoji,
}

impl Capability {
    /// Every capability, in DRIVER-PROTOCOL.md's order.
    pub const ALL: [Capability; 5] = [
        Capability::Reset,
        Capability::Timers,
        Capability::ImmediateCallbacks,
        Capability::Sync,
        Capability::Emoji,
    ];

    /// Its name in `capabilities`.
    pub fn name(self) -> &'static str {
        match self {
            Capability::Reset => "reset",
            Capability::Timers => "timers",
            Capability::ImmediateCallbacks => "immediate-callbacks",
            Capability::Sync => "sync",
            Capability::Emoji => "emoji",
        }
    }
}

/// The app's `WebIM.Emoji` (message guide L193: "When the Emoji attribute is added to WebIM"):
/// the `emoji` field of `connect` for a driver that announces [`Capability::Emoji`], and the
/// `[emoji]` table of a scenario file. An emoji segment's `data` is `path` followed by the file
/// the map gives its key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EmojiMap {
    /// `WebIM.Emoji.path`: the folder of the emoji images.
    pub path: String,
    /// `WebIM.Emoji.map`: emoji key (`"[):]"`) to image file (`"ee_1.png"`).
    pub map: std::collections::BTreeMap<String, String>,
}

/// A request from the harness to a driver.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Request {
    /// Chosen by the harness, unique within one driver's run.
    pub id: u64,
    /// The operation (`hello`, `connect`, `send`, ...).
    pub op: String,
    /// The connection the op is for; absent for `hello` and `shutdown`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
    /// The op's arguments.
    #[serde(default)]
    pub args: Value,
}

/// A reply from a driver: exactly one per request.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Reply {
    /// The id of the request this answers.
    pub id: u64,
    /// Whether the op succeeded.
    pub ok: bool,
    /// The result on success.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub result: Option<Value>,
    /// The error on failure.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<DriverError>,
}

/// What a driver reports when an op fails: the SDK's `e` as given to `fail` / `onError`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DriverError {
    /// The SDK's `e.type`: a number for documented codes, `"unsupported"` for an op the driver
    /// does not implement.
    #[serde(rename = "type")]
    pub kind: Value,
    /// The rest of what the SDK passed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// Extra data the SDK passed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data: Option<Value>,
}

impl DriverError {
    /// The error a driver gives for an op it does not implement.
    pub fn unsupported(message: impl Into<String>) -> Self {
        DriverError {
            kind: Value::String("unsupported".into()),
            message: Some(message.into()),
            data: None,
        }
    }

    /// Whether this is the "op not implemented" answer.
    pub fn is_unsupported(&self) -> bool {
        self.kind == "unsupported"
    }
}

/// An SDK callback forwarded by a driver.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Event {
    /// The callback's name (`onTextMessage`, ...).
    pub event: String,
    /// The connection it happened on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
    /// The object the SDK passed to the callback.
    #[serde(default)]
    pub data: Value,
}

/// One line a driver writes on stdout.
#[derive(Debug, Clone, PartialEq)]
pub enum DriverLine {
    /// An answer to a request.
    Reply(Reply),
    /// A forwarded callback.
    Event(Event),
}

/// Why a line from a driver breaks the protocol.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum LineError {
    /// Not JSON at all.
    #[error("not JSON ({0})")]
    NotJson(String),
    /// JSON, but not an object.
    #[error("not a JSON object")]
    NotAnObject,
    /// An object that is neither a reply nor an event.
    #[error("neither a reply (`id` + `ok`) nor an event (`event`): {0}")]
    Shape(String),
}

impl DriverLine {
    /// Parses one stdout line of a driver.
    pub fn parse(line: &str) -> Result<Self, LineError> {
        let value: Value =
            serde_json::from_str(line).map_err(|e| LineError::NotJson(e.to_string()))?;
        let Value::Object(object) = &value else {
            return Err(LineError::NotAnObject);
        };
        if object.contains_key("event") {
            serde_json::from_value(value)
                .map(DriverLine::Event)
                .map_err(|e| LineError::Shape(e.to_string()))
        } else {
            serde_json::from_value(value)
                .map(DriverLine::Reply)
                .map_err(|e| LineError::Shape(e.to_string()))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_files_are_the_documented_bytes() {
        // DRIVER-PROTOCOL.md, "Generated files": the first bytes and the 3,000,000-byte sha256
        assert_eq!(
            generated_file(8),
            [0x42, 0xe9, 0x3f, 0x60, 0xd5, 0x16, 0x96, 0x47]
        );
        assert_eq!(
            crate::server::sha256_hex(&generated_file(2_000_000)),
            "9874849e092a669733c8c164e53f0f58e20add8f9576151a1aa592a3a8c73168"
        );
    }

    #[test]
    fn a_generated_size_must_be_a_small_integer() {
        let size = |v: Value| generated_size(&serde_json::json!({"name": "a", "size": v}));
        assert_eq!(size(serde_json::json!(3)), Some(Ok(3)));
        assert!(matches!(size(serde_json::json!(-1)), Some(Err(_))));
        assert!(matches!(size(serde_json::json!("3")), Some(Err(_))));
        assert!(matches!(
            size(serde_json::json!(MAX_GENERATED_FILE + 1)),
            Some(Err(_))
        ));
        assert_eq!(
            generated_size(&serde_json::json!({"base64": "", "size": 3})),
            None
        );
    }
}
