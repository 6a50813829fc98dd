//! JavaScript semantics the 3.6.3 SDK and its driver rely on, reproduced for the reference
//! client: truthiness and string coercion of `msg.set` options, protobufjs' `toJSON` of a
//! decoded message, the shape of a thrown `Error` once serialised, and the real driver's
//! `errorFrom` mapping of a `fail(e)` / `onError(e)` argument onto `{type, message, data}`.
//!
//! Nothing here does I/O; it exists so that event data and replies come out as the same JSON
//! text the Node driver (`drivers/websdk/driver.mjs`) prints for the real SDK.

use crate::wire::DESCRIPTORS;
use prost_reflect::{DynamicMessage, SerializeOptions};
use serde_json::{Map, Value, json};

/// JavaScript truthiness of a JSON value (`undefined` is `None`).
pub fn truthy(value: Option<&Value>) -> bool {
    match value {
        None | Some(Value::Null) => false,
        Some(Value::Bool(b)) => *b,
        Some(Value::Number(n)) => n.as_f64().is_some_and(|f| f != 0.0 && !f.is_nan()),
        Some(Value::String(s)) => !s.is_empty(),
        Some(Value::Array(_) | Value::Object(_)) => true,
    }
}

/// What protobufjs writes for a `string` field set to this value: nothing for `null` /
/// `undefined`, the JavaScript string conversion otherwise.
pub fn proto_string(value: Option<&Value>) -> Option<String> {
    match value? {
        Value::Null => None,
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(number_to_string(n)),
        Value::Bool(b) => Some(b.to_string()),
        Value::Array(_) => Some(String::new()),
        Value::Object(_) => Some("[object Object]".to_string()),
    }
}

/// What protobufjs writes for a `double` field set to this value.
pub fn proto_double(value: Option<&Value>) -> Option<f64> {
    match value? {
        Value::Null => None,
        Value::Number(n) => n.as_f64(),
        Value::String(s) => Some(s.trim().parse().unwrap_or(f64::NAN)),
        Value::Bool(b) => Some(f64::from(u8::from(*b))),
        _ => Some(f64::NAN),
    }
}

/// What protobufjs writes for an `int32` field set to this value.
pub fn proto_int32(value: Option<&Value>) -> Option<i32> {
    let f = proto_double(value)?;
    // ToInt32: NaN and infinities become 0, others wrap modulo 2^32.
    Some(if f.is_finite() {
        (f.trunc() as i64) as i32
    } else {
        0
    })
}

/// JavaScript's `String(number)` for the numbers JSON can carry.
pub fn number_to_string(n: &serde_json::Number) -> String {
    if let Some(i) = n.as_i64() {
        return i.to_string();
    }
    if let Some(u) = n.as_u64() {
        return u.to_string();
    }
    match n.as_f64() {
        Some(f) if f.fract() == 0.0 && f.abs() < 1e21 => format!("{f:.0}"),
        Some(f) => f.to_string(),
        None => n.to_string(),
    }
}

/// The JSON protobufjs' `toJSON()` gives for a decoded message: only the fields present on the
/// wire, in field-number order, enums by name, 64-bit integers and bytes as strings.
pub fn pb_to_json(full_name: &str, bytes: &[u8]) -> Value {
    let Some(descriptor) = DESCRIPTORS.get_message_by_name(full_name) else {
        return Value::Object(Map::new());
    };
    let Ok(message) = DynamicMessage::decode(descriptor, bytes) else {
        return Value::Object(Map::new());
    };
    let options = SerializeOptions::new()
        .stringify_64_bit_integers(true)
        .use_proto_field_name(true)
        .skip_default_fields(true);
    let mut out = serde_json::Serializer::new(Vec::new());
    if message.serialize_with_options(&mut out, &options).is_err() {
        return Value::Object(Map::new());
    }
    serde_json::from_slice(&out.into_inner()).unwrap_or_else(|_| Value::Object(Map::new()))
}

/// A thrown JavaScript error as the driver serialises it: `{name, message}` plus the error's own
/// enumerable properties.
pub fn error_object(name: &str, message: &str) -> Map<String, Value> {
    let mut out = Map::new();
    out.insert("name".into(), json!(name));
    out.insert("message".into(), json!(message));
    out
}

/// The SockJS `TransportMessageEvent` the SDK attaches as `err.msg` to a frame it could not
/// decode (sockjs-client 1.3.0: `type`, `bubbles`, `cancelable`, `timeStamp`, `data`).
pub fn sockjs_message_event(data: &str, now_ms: u64) -> Value {
    json!({
        "type": "message",
        "bubbles": false,
        "cancelable": false,
        "timeStamp": now_ms,
        "data": data,
    })
}

/// The real driver's `errorFrom(e)`: `type`, then `message` (from `e.message`, else
/// `e.reason`), then `data`: `e.data` when it is the only other key, else all other keys.
/// Keys whose value is `undefined` in the SDK are absent from `e` here (the driver skips them).
pub fn error_from(e: &Map<String, Value>) -> Value {
    let mut out = Map::new();
    out.insert(
        "type".into(),
        e.get("type").cloned().unwrap_or(json!("sdk-error")),
    );
    let message_key = if e.contains_key("message") {
        Some("message")
    } else if e.contains_key("reason") {
        Some("reason")
    } else {
        None
    };
    if let Some(key) = message_key {
        out.insert("message".into(), e[key].clone());
    }
    let rest: Map<String, Value> = e
        .iter()
        .filter(|(k, _)| k.as_str() != "type" && Some(k.as_str()) != message_key)
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    if rest.len() == 1 && rest.contains_key("data") {
        out.insert("data".into(), rest["data"].clone());
    } else if !rest.is_empty() {
        out.insert("data".into(), Value::Object(rest));
    }
    Value::Object(out)
}

/// The bundle's `atob` polyfill (L1770): trailing `=` stripped, a length of 1 modulo 4 throws
/// `InvalidCharacterError`, characters outside the alphabet are skipped silently.
pub fn atob(text: &str) -> Result<Vec<u8>, super::incoming::Thrown> {
    const ALPHABET: &str = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=";
    let t: Vec<u16> = text.trim_end_matches('=').encode_utf16().collect();
    if t.len() % 4 == 1 {
        return Err(super::incoming::Thrown::new(
            "InvalidCharacterError",
            "'atob' failed: The string to be decoded is not correctly encoded.",
        ));
    }
    let mut out = Vec::with_capacity(t.len() * 3 / 4);
    let (mut bits, mut count): (i64, i64) = (0, 0);
    for unit in t {
        let Some(index) = char::from_u32(u32::from(unit)).and_then(|c| ALPHABET.find(c)) else {
            continue;
        };
        let index = index as i64;
        let emits = count % 4 != 0;
        bits = if emits { 64 * bits + index } else { index };
        count += 1;
        if emits {
            out.push((255 & (bits >> ((-2 * count) & 6))) as u8);
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_from_matches_the_node_driver() {
        let fail = json!({"type": 603, "reason": "blocked", "data": {"id": "1", "mid": "2"}});
        assert_eq!(
            error_from(fail.as_object().unwrap()).to_string(),
            r#"{"type":603,"message":"blocked","data":{"id":"1","mid":"2"}}"#
        );
        let illegal = json!({"type": 501, "data": {"id": "1", "mid": "2", "reason": "x"}});
        assert_eq!(
            error_from(illegal.as_object().unwrap()).to_string(),
            r#"{"type":501,"data":{"id":"1","mid":"2","reason":"x"}}"#
        );
        let two = json!({"type": 16, "message": "m", "reconnect": true, "data": 1});
        assert_eq!(
            error_from(two.as_object().unwrap()).to_string(),
            r#"{"type":16,"message":"m","data":{"reconnect":true,"data":1}}"#
        );
    }

    #[test]
    fn numbers_print_as_javascript_prints_them() {
        assert_eq!(number_to_string(&serde_json::Number::from(42)), "42");
        assert_eq!(
            number_to_string(&serde_json::Number::from_f64(1.5).unwrap()),
            "1.5"
        );
        assert_eq!(
            number_to_string(&serde_json::Number::from_f64(3.0).unwrap()),
            "3"
        );
    }

    #[test]
    fn atob_is_the_polyfill() {
        use base64::Engine as _;
        let b64 = crate::wire::frame::BASE64.encode(b"\x08\x00\x40\x03hello");
        assert_eq!(atob(&b64).unwrap(), b"\x08\x00\x40\x03hello");
        assert!(atob("!!!not-base64-protobuf!!!").is_err());
        assert_eq!(atob("QQ==").unwrap(), b"A");
    }

    #[test]
    fn truthiness() {
        assert!(!truthy(None));
        assert!(!truthy(Some(&json!(""))));
        assert!(!truthy(Some(&json!(0))));
        assert!(truthy(Some(&json!([]))));
        assert!(truthy(Some(&json!("x"))));
    }
}
