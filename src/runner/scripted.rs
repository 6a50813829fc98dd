//! The content of a scripted peer's message (`deliver` step) for every message type, built as
//! the 3.6.3 SDK's `l()` builds it (wire notes section 4, Content per type), so that a
//! scripted peer can send what a real client sends: `txt`, `cmd`, `custom`, `loc`, and the
//! attachments `img`, `file`, `audio`, `video` as already-uploaded files (`url`, `secret`,
//! `filename`, `file_length`, `size`, `length`, the fields of the SDK's `body`).
//!
//! A scripted peer can also send what the SDK's receipt and recall messages carry (`read`,
//! `delivery`, `channel`, `recall`: wire notes section 6), including what only a server-side
//! peer can produce, such as a group read receipt with `msgConfig` and a `groupReadCount`.
//!
//! Pure: a typed `deliver` step and its body fields in, a [`ScriptedMessage`] out. Delivering it is the
//! server's job (`Control::deliver`).

use crate::scenario::step::{DeliverStep, MessageType};
use crate::server::{ChatType, ScriptedMessage};
use crate::wire::pb::message_body::content::{Size, Type};
use crate::wire::pb::message_body::{Content, MessageConfig, Type as BodyType};
use crate::wire::{jid, keyvalue, pb};
use serde_json::Value;

/// The scripted peer's message of a `deliver` step (`fields`: its body fields, templates
/// filled), or what is wrong with the step.
pub(crate) fn message(step: &DeliverStep, fields: &Value) -> Result<ScriptedMessage, String> {
    let message = fields;
    let chat_type = step.chat_type.server();
    let body_type = match chat_type {
        ChatType::Single => BodyType::Chat,
        ChatType::Group => BodyType::Groupchat,
        ChatType::Room => BodyType::Chatroom,
    };
    let mut ext = match message.get("ext") {
        Some(Value::Object(ext)) => keyvalue::encode_object(ext),
        None => Vec::new(),
        Some(_) => return Err("`deliver.ext` must be a table".into()),
    };
    let mut body = pb::MessageBody {
        r#type: Some(body_type as i32),
        from: Some(jid::name_only(&step.from)),
        to: Some(jid::name_only(&step.to)),
        ..Default::default()
    };
    let receipt = match step.kind {
        MessageType::Read => Some(BodyType::ReadAck),
        MessageType::Delivery => Some(BodyType::DeliverAck),
        MessageType::Channel => Some(BodyType::ChannelAck),
        MessageType::Recall => Some(BodyType::Recall),
        _ => None,
    };
    match receipt {
        Some(kind) => {
            body.r#type = Some(kind as i32);
            body.contents = vec![Content::default()];
            body.ack_message_id = match message.get("ackMessageId") {
                None => None,
                Some(id) => Some(
                    id.as_u64()
                        .or_else(|| id.as_str().and_then(|s| s.parse().ok()))
                        .ok_or("`deliver.ackMessageId` must be a server message id")?,
                ),
            };
            if kind != BodyType::ChannelAck && body.ack_message_id.is_none() {
                return Err(format!(
                    "`deliver` of type {:?} needs `ackMessageId`",
                    step.kind
                ));
            }
            if let Some(config) = message.get("msgConfig") {
                body.msg_config = Some(MessageConfig {
                    allow_group_ack: config.get("allowGroupAck").and_then(Value::as_bool),
                });
            }
            body.ack_content = message
                .get("ackContent")
                .and_then(Value::as_str)
                .map(String::from);
            // The server puts a group read receipt's count first in `ext` (wire notes 6).
            if let Some(count) = message.get("groupReadCount") {
                ext.insert(0, keyvalue::encode("groupReadCount", count));
            }
        }
        None => body.contents = vec![content(step.kind, message)?],
    }
    body.ext = ext;
    Ok(ScriptedMessage {
        from: step.from.clone(),
        to: step.to.clone(),
        chat_type,
        body,
    })
}

/// The `Content` for a `deliver` step's `type` and fields, or why not.
fn content(kind: MessageType, message: &Value) -> Result<Content, String> {
    let text = |key: &str| message.get(key).and_then(Value::as_str).map(str::to_string);
    let number = |key: &str| message.get(key).and_then(Value::as_f64);
    let int = |key: &str| number(key).map(|n| n as i32);
    let mut content = Content::default();
    let kind_type = match kind {
        MessageType::Txt => {
            content.text = Some(text("msg").unwrap_or_default());
            Type::Text
        }
        MessageType::Cmd => {
            content.action = Some(text("action").unwrap_or_default());
            Type::Command
        }
        MessageType::Custom => {
            content.custom_event = text("customEvent");
            content.custom_exts = match message.get("customExts") {
                Some(Value::Object(exts)) => keyvalue::encode_object(exts),
                None => Vec::new(),
                Some(_) => return Err("`deliver.customExts` must be a table".into()),
            };
            Type::Custom
        }
        MessageType::Loc => {
            content.latitude = number("lat");
            content.longitude = number("lng");
            content.address = text("addr");
            Type::Location
        }
        MessageType::Img | MessageType::File | MessageType::Audio | MessageType::Video => {
            content.display_name = text("filename");
            content.remote_path = text("url");
            content.secret_key = text("secret");
            content.file_length = int("file_length");
            content.thumbnail_display_name = text("filename");
            match kind {
                MessageType::Img | MessageType::File => {
                    content.size = message.get("size").filter(|s| s.is_object()).map(|s| Size {
                        width: s.get("width").and_then(Value::as_f64),
                        height: s.get("height").and_then(Value::as_f64),
                    });
                }
                _ => content.duration = int("length"),
            }
            match kind {
                MessageType::Img => Type::Image,
                MessageType::File => Type::File,
                MessageType::Audio => Type::Voice,
                _ => Type::Video,
            }
        }
        MessageType::Read | MessageType::Delivery | MessageType::Channel | MessageType::Recall => {
            return Err(format!(
                "`deliver.type` {kind:?} is a receipt and has no content"
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

    fn deliver(value: Value) -> Result<ScriptedMessage, String> {
        let step: DeliverStep = serde_json::from_value(value).map_err(|e| e.to_string())?;
        message(&step, &Value::Object(step.fields.clone()))
    }

    #[test]
    fn every_type_gets_its_content_fields() {
        let c = content(
            MessageType::Loc,
            &json!({"lat": 1.5, "lng": 2, "addr": "here"}),
        )
        .unwrap();
        assert_eq!(c.r#type, Some(Type::Location as i32));
        assert_eq!((c.latitude, c.longitude), (Some(1.5), Some(2.0)));
        let c = content(
            MessageType::Audio,
            &json!({"url": "http://x/f", "filename": "a.amr", "length": 3}),
        )
        .unwrap();
        assert_eq!(
            (c.r#type, c.duration, c.size),
            (Some(Type::Voice as i32), Some(3), None)
        );
        let c = content(
            MessageType::Custom,
            &json!({"customEvent": "e", "customExts": {"n": 1}}),
        )
        .unwrap();
        assert_eq!(c.custom_exts.len(), 1);
        assert!(
            deliver(json!({"from": "bob", "to": "alice", "type": "emoji"}))
                .unwrap_err()
                .contains("`txt`, `cmd`")
        );
        assert!(content(MessageType::Custom, &json!({"customExts": 3})).is_err());
    }

    #[test]
    fn receipts_carry_the_acked_id_and_the_group_read_count() {
        let m = deliver(json!({
            "from": "bob", "to": "g1", "chatType": "groupChat", "type": "read",
            "ackMessageId": "900000000000000002", "msgConfig": {"allowGroupAck": true},
            "ackContent": "seen", "groupReadCount": {"read": 1}
        }))
        .unwrap();
        assert_eq!(m.chat_type, ChatType::Group);
        assert_eq!(m.body.r#type, Some(BodyType::ReadAck as i32));
        assert_eq!(m.body.ack_message_id, Some(900_000_000_000_000_002));
        assert_eq!(
            keyvalue::decode(&m.body.ext[0]).unwrap(),
            Some(json!({"read": 1}))
        );
        assert_eq!(m.body.contents, vec![Content::default()]);
        let err = deliver(json!({"from": "bob", "to": "alice", "type": "recall"})).unwrap_err();
        assert!(err.contains("ackMessageId"), "{err}");
    }
}
