//! `ext` / `customExts` values as the 3.x SDK types them on the wire (`KeyValue`), and back.
//!
//! Encoding follows the SDK (wire notes section 4, "ext → KeyValue"): objects, arrays and `null`
//! become `JSON_STRING`, strings `STRING`, booleans `BOOL` (varint 1/0), integral numbers `INT`,
//! other numbers `DOUBLE`. One exception, where the SDK loses the value and the guide has ext
//! values reach the receiver (`key: value`, guide L75-80): an integral number beyond int64
//! (`1.5e300`) is a `DOUBLE`, so that it arrives as sent; 3.6.3 writes it as an `INT` kept modulo
//! 2^64 (wire notes section 4: it arrives as 0). Decoding reverses it the way the SDK does, including its loss of
//! precision above 2^53 for varints (it goes through a JS `Number`).

use super::pb::{KeyValue, key_value};
use serde_json::{Map, Number, Value};

/// A `KeyValue` whose value cannot be read back (the SDK throws, then raises `onError`).
#[derive(Debug, thiserror::Error)]
#[error("ext key {key:?}: JSON_STRING value does not parse: {reason}")]
pub struct KeyValueError {
    /// The offending key.
    pub key: String,
    /// Why it does not parse.
    pub reason: String,
}

/// Encodes a JSON object the way `message.set({ext})` does. Keys are visited in JavaScript's
/// property order (integer-like keys first, ascending, then insertion order).
///
/// ```
/// use imspec::wire::{keyvalue, pb::key_value::ValueType};
/// let ext = serde_json::json!({"n": 42, "f": 1.5, "o": {"k": [1]}});
/// let list = keyvalue::encode_object(ext.as_object().unwrap());
/// let types: Vec<i32> = list.iter().filter_map(|kv| kv.r#type).collect();
/// assert_eq!(types, [ValueType::Int as i32, ValueType::Double as i32, ValueType::JsonString as i32]);
/// assert_eq!(serde_json::Value::Object(keyvalue::decode_list(&list).unwrap()), ext);
/// ```
pub fn encode_object(object: &Map<String, Value>) -> Vec<KeyValue> {
    js_key_order(object)
        .into_iter()
        .map(|(key, value)| encode(key, value))
        .collect()
}

/// Encodes one value.
pub fn encode(key: &str, value: &Value) -> KeyValue {
    use key_value::{Value as V, ValueType as T};
    let (kind, value) = match value {
        Value::Null | Value::Array(_) | Value::Object(_) => {
            (T::JsonString, V::StringValue(value.to_string()))
        }
        Value::String(s) => (T::String, V::StringValue(s.clone())),
        Value::Bool(b) => (T::Bool, V::VarintValue(i64::from(*b))),
        Value::Number(n) => match integral(n) {
            Some(i) => (T::Int, V::VarintValue(i)),
            None => (T::Double, V::DoubleValue(n.as_f64().unwrap_or(f64::NAN))),
        },
    };
    KeyValue {
        key: Some(key.to_string()),
        r#type: Some(kind as i32),
        value: Some(value),
    }
}

/// Decodes a list of `KeyValue`s into a JSON object the way the SDK's receive path does.
/// Entries of an unknown type are left out, as the SDK leaves them out.
pub fn decode_list(list: &[KeyValue]) -> Result<Map<String, Value>, KeyValueError> {
    let mut pairs = Vec::with_capacity(list.len());
    for kv in list {
        if let Some(value) = decode(kv)? {
            pairs.push((kv.key.clone().unwrap_or_default(), value));
        }
    }
    let mut unordered = Map::new();
    for (key, value) in pairs {
        unordered.insert(key, value);
    }
    Ok(js_key_order(&unordered)
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.clone()))
        .collect())
}

/// Decodes one value; `None` for a type the SDK ignores.
pub fn decode(kv: &KeyValue) -> Result<Option<Value>, KeyValueError> {
    use key_value::{Value as V, ValueType as T};
    let string = || match &kv.value {
        Some(V::StringValue(s)) => s.clone(),
        _ => String::new(),
    };
    let varint = || match kv.value {
        Some(V::VarintValue(v)) => v,
        _ => 0,
    };
    let Some(kind) = kv.r#type.and_then(|t| T::try_from(t).ok()) else {
        return Ok(None);
    };
    Ok(Some(match kind {
        T::JsonString => serde_json::from_str(&string()).map_err(|e| KeyValueError {
            key: kv.key.clone().unwrap_or_default(),
            reason: e.to_string(),
        })?,
        T::String => Value::String(string()),
        T::Double => js_number(match kv.value {
            Some(V::DoubleValue(d)) => d,
            _ => 0.0,
        }),
        T::Float => js_number(match kv.value {
            Some(V::FloatValue(f)) => f64::from(f),
            _ => 0.0,
        }),
        T::Bool => Value::Bool(varint() != 0),
        // `Number(Long.toString())`: exact up to 2^53, rounded to the nearest double above.
        T::Int | T::Uint | T::Llint => js_number(varint() as f64),
    }))
}

/// A JSON number as JavaScript would print it: integral values without a fraction, and
/// `null` for NaN and the infinities (what `JSON.stringify` gives).
pub fn js_number(x: f64) -> Value {
    if x.is_finite() && x.fract() == 0.0 && x.abs() < 9.2e18 {
        Value::Number(Number::from(x as i64))
    } else {
        Number::from_f64(x).map_or(Value::Null, Value::Number)
    }
}

/// `Number.isInteger(v)` within int64's range: the value of the `INT` varint. An integral number
/// beyond it (`1.5e300`) is `None`, a `DOUBLE`: a varint cannot carry it.
fn integral(n: &Number) -> Option<i64> {
    if let Some(i) = n.as_i64() {
        return Some(i);
    }
    let f = n.as_f64()?;
    // [-2^63, 2^63): `i64::MAX as f64` rounds up to 2^63, which is out of range
    let in_range = (-9_223_372_036_854_775_808.0..9_223_372_036_854_775_808.0).contains(&f);
    (f.fract() == 0.0 && in_range).then_some(f as i64)
}

/// The properties of an object in JavaScript's enumeration order.
pub fn js_key_order(object: &Map<String, Value>) -> Vec<(&str, &Value)> {
    let index = |k: &str| -> Option<u32> {
        (k == "0" || (!k.starts_with('0') && !k.is_empty()))
            .then(|| k.parse::<u32>().ok())
            .flatten()
            .filter(|&i| i != u32::MAX)
    };
    let mut indexed: Vec<_> = object
        .iter()
        .filter_map(|(k, v)| index(k).map(|i| (i, k.as_str(), v)))
        .collect();
    indexed.sort_by_key(|(i, _, _)| *i);
    indexed
        .into_iter()
        .map(|(_, k, v)| (k, v))
        .chain(
            object
                .iter()
                .filter(|(k, _)| index(k).is_none())
                .map(|(k, v)| (k.as_str(), v)),
        )
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn every_value_type_round_trips_as_the_sdk_types_it() {
        let ext =
            json!({"s":"str","i":42,"neg":-7,"f":1.5,"b":true,"bf":false,"o":{"k":[1,2]},"n":null});
        let list = encode_object(ext.as_object().unwrap());
        let types: Vec<i32> = list.iter().map(|kv| kv.r#type.unwrap()).collect();
        assert_eq!(types, vec![7, 2, 2, 6, 1, 1, 8, 8]);
        assert_eq!(Value::Object(decode_list(&list).unwrap()), ext);
    }

    #[test]
    fn varints_lose_precision_above_2_pow_53_like_a_js_number() {
        let kv = encode("big", &json!(9007199254740993_i64));
        assert_eq!(decode(&kv).unwrap(), Some(json!(9007199254740992_i64)));
    }

    #[test]
    fn an_integral_number_beyond_int64_is_a_double_that_arrives_as_sent() {
        // found by `imspec fuzz` against 3.6.3: Number.isInteger(1.5e300) is true, and 3.6.3's
        // INT varint keeps it modulo 2^64 (0); the guide has ext values reach the receiver
        for big in [1.5e300, -1e19, 9_223_372_036_854_775_808.0] {
            let kv = encode("big", &json!(big));
            assert_eq!(kv.r#type, Some(6), "{big}");
            assert_eq!(decode(&kv).unwrap(), Some(json!(big)));
        }
        let edge = encode("n", &json!(-9_223_372_036_854_775_808.0));
        assert_eq!(edge.value, Some(key_value::Value::VarintValue(i64::MIN)));
        assert_eq!(encode("n", &json!(i64::MAX)).r#type, Some(2));
    }

    #[test]
    fn integer_like_keys_come_first() {
        let obj = json!({"b":1,"2":2,"a":3,"1":4});
        let keys: Vec<&str> = js_key_order(obj.as_object().unwrap())
            .into_iter()
            .map(|(k, _)| k)
            .collect();
        assert_eq!(keys, ["1", "2", "b", "a"]);
    }
}
