//! The invariants a fuzz case is checked against: the uplink frame types every value as the
//! SDK's own rules say (wire notes section 4), and the receiver's callback carries every value
//! as sent, typed back the documented way. Also the campaign's counters.
//!
//! Pure: values in, verdicts out. Must not run anything.

use super::case::{Body, ValidCase};
use super::strategy::JS_SAFE;
use crate::wire::keyvalue;
use crate::wire::pb::{self, KeyValue, key_value};
use serde::Serialize;
use serde_json::{Map, Value};

/// Why a case failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CaseFailure {
    /// A short kind: failures of the same kind are one finding.
    pub signature: String,
    /// What happened, with the values.
    pub message: String,
    /// The session must be restarted before the next case.
    pub restart: bool,
    /// The campaign cannot go on.
    pub fatal: bool,
}

impl CaseFailure {
    /// A failure of kind `signature`.
    pub fn new(signature: &str, message: impl Into<String>) -> Self {
        CaseFailure {
            signature: signature.into(),
            message: message.into(),
            restart: false,
            fatal: false,
        }
    }
    /// A failure after which the session is restarted.
    pub fn restarting(signature: &str, message: impl Into<String>) -> Self {
        CaseFailure {
            restart: true,
            ..Self::new(signature, message)
        }
    }
    /// The campaign cannot go on.
    pub fn fatal(message: String) -> Self {
        CaseFailure {
            fatal: true,
            ..Self::new("fatal", message)
        }
    }
}

/// Counters of a campaign.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Stats {
    /// Cases run (shrinking steps included).
    pub executions: u64,
    /// Integers above 2^53 in absolute value sent in `ext` / `customExts`.
    pub beyond_2_53: u64,
    /// Of those sent by the client, how many went on the wire rounded to a double (the
    /// documented loss of a JavaScript `Number`) rather than exact.
    pub rounded_on_wire: u64,
    /// Hostile bodies answered with `onError`.
    pub hostile_on_error: u64,
    /// Hostile bodies dropped silently.
    pub hostile_dropped: u64,
}

impl Stats {
    /// The sum of two sets of counters (of sessions run side by side).
    pub fn plus(&self, other: &Stats) -> Stats {
        Stats {
            executions: self.executions + other.executions,
            beyond_2_53: self.beyond_2_53 + other.beyond_2_53,
            rounded_on_wire: self.rounded_on_wire + other.rounded_on_wire,
            hostile_on_error: self.hostile_on_error + other.hostile_on_error,
            hostile_dropped: self.hostile_dropped + other.hostile_dropped,
        }
    }

    /// Counts the large integers of the lists.
    pub fn note_values(&mut self, ext: &[KeyValue], custom: &[KeyValue]) {
        self.beyond_2_53 += ext
            .iter()
            .chain(custom)
            .filter(|kv| matches!(kv.value, Some(key_value::Value::VarintValue(v)) if v.unsigned_abs() > JS_SAFE as u64))
            .count() as u64;
    }
    /// Counts a hostile case's outcome.
    pub fn hostile(&mut self, on_error: bool) {
        if on_error {
            self.hostile_on_error += 1;
        } else {
            self.hostile_dropped += 1;
        }
    }
}

/// Equality as JavaScript sees it: numbers as doubles, objects by key.
pub fn js_eq(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => x.as_f64() == y.as_f64(),
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(x, y)| js_eq(x, y))
        }
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len() && x.iter().all(|(k, v)| y.get(k).is_some_and(|w| js_eq(v, w)))
        }
        _ => a == b,
    }
}

/// The receiver's callback `name` with `data` holds every `expected` field.
pub fn event(
    body: &Body,
    name: &str,
    data: &Value,
    expected: &Map<String, Value>,
) -> Result<(), CaseFailure> {
    if !body.events().contains(&name) {
        return Err(CaseFailure::new(
            &format!("{name} for {}", body.kind()),
            format!(
                "bob got {name} {data} for a {} message; expected {}",
                body.kind(),
                body.events().join(" or ")
            ),
        ));
    }
    for (key, want) in expected {
        if name == "onEmojiMessage" && key == "data" {
            continue;
        }
        let got = data.get(key);
        if !got.is_some_and(|g| js_eq(g, want)) {
            return Err(CaseFailure::new(
                &format!("{name}.{key}"),
                format!(
                    "{name}.{key}: expected {want}, got {}",
                    got.map_or("nothing".to_string(), Value::to_string)
                ),
            ));
        }
    }
    Ok(())
}

/// The uplink `MessageBody` alice sent for `case` follows the SDK's rules.
pub fn uplink(
    case: &ValidCase,
    body: &pb::MessageBody,
    stats: &mut Stats,
) -> Result<(), CaseFailure> {
    let content = body.contents.first().cloned().unwrap_or_default();
    kv_list("ext", &case.ext, &body.ext, stats)?;
    let text = |what: &str, want: &str, got: &Option<String>| {
        if got.as_deref().unwrap_or_default() == want {
            Ok(())
        } else {
            Err(CaseFailure::new(
                &format!("uplink {what}"),
                format!("uplink {what}: expected {want:?}, got {got:?}"),
            ))
        }
    };
    match &case.body {
        Body::Txt { msg } => text("text", msg, &content.text),
        Body::Cmd { action } => text("action", action, &content.action),
        Body::Custom { event, exts } => {
            text("customEvent", event, &content.custom_event)?;
            kv_list("customExts", exts, &content.custom_exts, stats)
        }
        Body::Loc { lat, lng, addr } => {
            text("address", addr, &content.address)?;
            if content.latitude != Some(*lat) || content.longitude != Some(*lng) {
                return Err(CaseFailure::new(
                    "uplink coordinates",
                    format!(
                        "uplink latitude / longitude: expected {lat} / {lng}, got {:?} / {:?}",
                        content.latitude, content.longitude
                    ),
                ));
            }
            Ok(())
        }
        Body::File { name, .. } => text("file name", name, &content.display_name),
    }
}

/// A `KeyValue` list is `object` typed as `message.set` types it.
fn kv_list(
    what: &str,
    object: &Map<String, Value>,
    got: &[KeyValue],
    stats: &mut Stats,
) -> Result<(), CaseFailure> {
    let want = keyvalue::encode_object(object);
    let fail = |detail: String| {
        Err(CaseFailure::new(
            &format!("uplink {what} typing"),
            format!("uplink {what}: {detail}"),
        ))
    };
    if want.len() != got.len() {
        return fail(format!(
            "{} entries expected, {} on the wire",
            want.len(),
            got.len()
        ));
    }
    for (w, g) in want.iter().zip(got) {
        if w.key != g.key || w.r#type != g.r#type {
            return fail(format!(
                "key {:?} expected as {}, got key {:?} as {}",
                w.key.clone().unwrap_or_default(),
                type_name(w.r#type),
                g.key.clone().unwrap_or_default(),
                type_name(g.r#type)
            ));
        }
        if !same_value(&w.value, &g.value, stats) {
            return fail(format!(
                "key {:?}: expected {:?}, got {:?}",
                w.key.clone().unwrap_or_default(),
                w.value,
                g.value
            ));
        }
    }
    Ok(())
}

fn type_name(t: Option<i32>) -> String {
    t.and_then(|t| key_value::ValueType::try_from(t).ok())
        .map_or_else(|| format!("{t:?}"), |t| t.as_str_name().to_string())
}

/// Values equal; a varint above 2^53 may be rounded as a double (JSON.parse in a JavaScript
/// driver does it before the SDK sees it); JSON strings equal as parsed JSON.
fn same_value(
    want: &Option<key_value::Value>,
    got: &Option<key_value::Value>,
    stats: &mut Stats,
) -> bool {
    use key_value::Value as V;
    match (want, got) {
        (Some(V::VarintValue(w)), Some(V::VarintValue(g))) if w != g => {
            let rounded = *w as f64 as i64;
            let ok = w.unsigned_abs() > JS_SAFE as u64 && *g == rounded;
            if ok {
                stats.rounded_on_wire += 1;
            }
            ok
        }
        (Some(V::DoubleValue(w)), Some(V::DoubleValue(g))) => w == g || (w.is_nan() && g.is_nan()),
        (Some(V::StringValue(w)), Some(V::StringValue(g))) if w != g => {
            match (
                serde_json::from_str::<Value>(w),
                serde_json::from_str::<Value>(g),
            ) {
                (Ok(w), Ok(g)) => js_eq(&w, &g),
                _ => false,
            }
        }
        _ => want == got,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_double_where_an_int_belongs_breaks_the_typing() {
        let ext = json!({"n": 3});
        let mut list = keyvalue::encode_object(ext.as_object().unwrap());
        list[0].r#type = Some(key_value::ValueType::Double as i32);
        list[0].value = Some(key_value::Value::DoubleValue(3.0));
        let err = kv_list(
            "ext",
            ext.as_object().unwrap(),
            &list,
            &mut Stats::default(),
        )
        .unwrap_err();
        assert_eq!(err.signature, "uplink ext typing");
        assert!(err.message.contains("INT"), "{}", err.message);
    }

    #[test]
    fn a_varint_rounded_above_2_pow_53_is_the_documented_loss() {
        let ext = json!({"n": 9007199254740993_i64});
        let mut list = keyvalue::encode_object(ext.as_object().unwrap());
        list[0].value = Some(key_value::Value::VarintValue(9007199254740992));
        let mut stats = Stats::default();
        kv_list("ext", ext.as_object().unwrap(), &list, &mut stats).unwrap();
        assert_eq!(stats.rounded_on_wire, 1);
    }
}
