//! The content of a scripted peer's message (`deliver` step) for every message type, built as
//! the 3.6.3 SDK's `l()` builds it (wire notes section 4, Content per type), so that a
//! scripted peer can send what a real client sends: `txt`, `cmd`, `custom`, `loc`, and the
//! attachments `img`, `file`, `audio`, `video` as already-uploaded files (`url`, `secret`,
//! `filename`, `file_length`, `size`, `length`, the fields of the SDK's `body`).
//!
//! Pure: a JSON table in, a `Content` out. The rest of the message (`from`, `to`, chat type,
//! `ext`) is assembled in `execute.rs`.

use crate::wire::keyvalue;
use crate::wire::pb::message_body::Content;
use crate::wire::pb::message_body::content::{Size, Type};
use serde_json::Value;

/// The `Content` for a `deliver` step's `type` and fields, or why not.
pub(super) fn content(message: &Value) -> Result<Content, String> {
    let text = |key: &str| message.get(key).and_then(Value::as_str).map(str::to_string);
    let number = |key: &str| message.get(key).and_then(Value::as_f64);
    let int = |key: &str| number(key).map(|n| n as i32);
    let kind = text("type").unwrap_or_default();
    let mut content = Content::default();
    let kind_type = match kind.as_str() {
        "txt" => {
            content.text = Some(text("msg").unwrap_or_default());
            Type::Text
        }
        "cmd" => {
            content.action = Some(text("action").unwrap_or_default());
            Type::Command
        }
        "custom" => {
            content.custom_event = text("customEvent");
            content.custom_exts = match message.get("customExts") {
                Some(Value::Object(exts)) => keyvalue::encode_object(exts),
                None => Vec::new(),
                Some(_) => return Err("`deliver.customExts` must be a table".into()),
            };
            Type::Custom
        }
        "loc" | "location" => {
            content.latitude = number("lat");
            content.longitude = number("lng");
            content.address = text("addr");
            Type::Location
        }
        "img" | "file" | "audio" | "video" => {
            content.display_name = text("filename");
            content.remote_path = text("url");
            content.secret_key = text("secret");
            content.file_length = int("file_length");
            content.thumbnail_display_name = text("filename");
            match kind.as_str() {
                "img" | "file" => {
                    content.size = message.get("size").filter(|s| s.is_object()).map(|s| Size {
                        width: s.get("width").and_then(Value::as_f64),
                        height: s.get("height").and_then(Value::as_f64),
                    });
                }
                _ => content.duration = int("length"),
            }
            match kind.as_str() {
                "img" => Type::Image,
                "file" => Type::File,
                "audio" => Type::Voice,
                _ => Type::Video,
            }
        }
        other => {
            return Err(format!(
                "`deliver.type` {other:?} is not a message type; use txt, cmd, custom, loc, img, file, audio or video"
            ));
        }
    };
    content.r#type = Some(kind_type as i32);
    Ok(content)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn every_type_gets_its_content_fields() {
        let c = content(&json!({"type": "loc", "lat": 1.5, "lng": 2, "addr": "here"})).unwrap();
        assert_eq!(c.r#type, Some(Type::Location as i32));
        assert_eq!((c.latitude, c.longitude), (Some(1.5), Some(2.0)));
        let c = content(
            &json!({"type": "audio", "url": "http://x/f", "filename": "a.amr", "length": 3}),
        )
        .unwrap();
        assert_eq!(
            (c.r#type, c.duration, c.size),
            (Some(Type::Voice as i32), Some(3), None)
        );
        let c = content(&json!({"type": "custom", "customEvent": "e", "customExts": {"n": 1}}))
            .unwrap();
        assert_eq!(c.custom_exts.len(), 1);
        assert!(
            content(&json!({"type": "emoji"}))
                .unwrap_err()
                .contains("txt, cmd")
        );
        assert!(content(&json!({"type": "custom", "customExts": 3})).is_err());
    }
}
