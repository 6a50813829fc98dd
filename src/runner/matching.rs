//! Partial matching of expected JSON against what a driver or the wire produced.
//!
//! Every key of an expected object must be present in the actual one with a matching value;
//! extra actual keys are allowed. Arrays match element-wise and must have the same length.
//! Numbers compare by value (`42` matches `42.0`). The placeholders of `scenario::template`
//! apply: `"<any>"`, `"<absent>"`, `"<null>"`, and `"<at-least N>"` (a number not below N: for
//! values that depend on the environment but have a floor, as upload progress and the file size).

use crate::scenario::template::{ABSENT, ANY, NULL};
use serde_json::Value;
use std::fmt;

/// The first place where actual and expected differ.
#[derive(Debug, Clone, PartialEq)]
pub struct Mismatch {
    /// Where, as a dotted path (`data.ext.i`).
    pub path: String,
    /// What was expected there.
    pub expected: String,
    /// What was there.
    pub actual: String,
}

impl fmt::Display for Mismatch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "at `{}`: expected {}, got {}",
            self.path, self.expected, self.actual
        )
    }
}

/// The floor of an `"<at-least N>"` placeholder.
fn at_least(s: &str) -> Option<f64> {
    s.strip_prefix("<at-least ")?
        .strip_suffix('>')?
        .trim()
        .parse()
        .ok()
}

/// Checks that `actual` contains `expected`; `root` names the top of the path.
pub fn check(expected: &Value, actual: &Value, root: &str) -> Result<(), Mismatch> {
    at(expected, Some(actual), root)
}

fn at(expected: &Value, actual: Option<&Value>, path: &str) -> Result<(), Mismatch> {
    let mismatch = |expected: String| Mismatch {
        path: path.to_string(),
        expected,
        actual: actual.map_or("nothing (the key is absent)".to_string(), show),
    };
    match (expected, actual) {
        (Value::String(s), None) if s == ABSENT => Ok(()),
        (Value::String(s), Some(_)) if s == ABSENT => Err(mismatch("the key to be absent".into())),
        (_, None) => Err(mismatch(show(expected))),
        (Value::String(s), Some(_)) if s == ANY => Ok(()),
        (Value::String(s), Some(Value::Null)) if s == NULL => Ok(()),
        (Value::String(s), Some(_)) if s == NULL => Err(mismatch("null".into())),
        (Value::String(s), Some(a)) if at_least(s).is_some() => {
            let floor = at_least(s).unwrap_or_default();
            match a.as_f64() {
                Some(n) if n >= floor => Ok(()),
                _ => Err(mismatch(format!("a number of at least {floor}"))),
            }
        }
        (Value::Number(e), Some(Value::Number(a))) => {
            if e == a || e.as_f64() == a.as_f64() {
                Ok(())
            } else {
                Err(mismatch(show(expected)))
            }
        }
        (Value::Object(e), Some(Value::Object(a))) => {
            for (key, value) in e {
                at(value, a.get(key), &format!("{path}.{key}"))?;
            }
            Ok(())
        }
        (Value::Array(e), Some(Value::Array(a))) => {
            if e.len() != a.len() {
                return Err(mismatch(format!(
                    "{} (an array of {} items)",
                    show(expected),
                    e.len()
                )));
            }
            for (i, (ev, av)) in e.iter().zip(a).enumerate() {
                at(ev, Some(av), &format!("{path}[{i}]"))?;
            }
            Ok(())
        }
        (e, Some(a)) if e == a => Ok(()),
        _ => Err(mismatch(show(expected))),
    }
}

fn show(value: &Value) -> String {
    let text = value.to_string();
    match text.char_indices().nth(200) {
        Some((at, _)) => format!("{}…", &text[..at]),
        None => text,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn partial_objects_and_placeholders() {
        let actual = json!({"from": "alice", "ext": {"i": 42, "n": null}, "id": "9", "list": [1, {"a": 2, "b": 3}]});
        assert!(check(&json!({"ext": {"i": 42.0}}), &actual, "data").is_ok());
        assert!(
            check(
                &json!({"ext": {"n": "<null>"}, "id": "<any>", "to": "<absent>"}),
                &actual,
                "data"
            )
            .is_ok()
        );
        assert!(check(&json!({"list": [1, {"b": 3}]}), &actual, "data").is_ok());
        let err = check(&json!({"ext": {"i": "42"}}), &actual, "data").unwrap_err();
        assert_eq!(err.to_string(), "at `data.ext.i`: expected \"42\", got 42");
        let err = check(&json!({"to": "bob"}), &actual, "data").unwrap_err();
        assert_eq!(
            err.to_string(),
            "at `data.to`: expected \"bob\", got nothing (the key is absent)"
        );
        assert!(check(&json!({"list": [1]}), &actual, "data").is_err());
    }

    #[test]
    fn at_least_takes_numbers_from_the_floor_up() {
        let actual = json!({"loaded": 135, "total": 300.5, "type": "progress"});
        assert!(
            check(
                &json!({"loaded": "<at-least 135>", "total": "<at-least 135>"}),
                &actual,
                "data"
            )
            .is_ok()
        );
        let err = check(&json!({"loaded": "<at-least 136>"}), &actual, "data").unwrap_err();
        assert_eq!(
            err.to_string(),
            "at `data.loaded`: expected a number of at least 136, got 135"
        );
        assert!(check(&json!({"type": "<at-least 1>"}), &actual, "data").is_err());
    }
}
