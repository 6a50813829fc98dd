//! Values in scenario files that are filled at run time or matched loosely.
//!
//! - `"{{name.path}}"` is replaced by a field of the result a step saved with `as = "name"`
//!   (the whole value when the string is only the reference, its text when embedded).
//! - `"<null>"` stands for JSON `null` (TOML has no null).
//! - In expectations, `"<any>"` matches any present value and `"<absent>"` requires the key to
//!   be missing.

use serde_json::Value;
use std::collections::BTreeMap;

/// The JSON `null` placeholder.
pub const NULL: &str = "<null>";
/// Matches any present value.
pub const ANY: &str = "<any>";
/// Requires the key to be absent.
pub const ABSENT: &str = "<absent>";

/// A `{{...}}` reference that cannot be filled.
#[derive(Debug, thiserror::Error)]
#[error("`{{{{{reference}}}}}` cannot be filled: {why}")]
pub struct TemplateError {
    /// The reference.
    pub reference: String,
    /// Why.
    pub why: String,
}

/// The name every scenario can refer to without saving it: the fake server's URLs,
/// `{{server.apiUrl}}` (the REST base a driver's `connect` gets), `{{server.url}}` (SockJS) and
/// `{{server.wsUrl}}`, so an expectation can hold a URL a client rebuilds on its `apiUrl`.
pub const SERVER: &str = "server";

/// The saved names a string refers to.
pub fn references(text: &str) -> impl Iterator<Item = &str> {
    text.split("{{").skip(1).filter_map(|rest| {
        let inner = rest.split("}}").next()?;
        Some(inner.split('.').next().unwrap_or(inner).trim())
    })
}

/// Fills references and `<null>` in a value.
pub fn fill(value: &Value, saved: &BTreeMap<String, Value>) -> Result<Value, TemplateError> {
    Ok(match value {
        Value::String(s) if s == NULL => Value::Null,
        Value::String(s) if s.contains("{{") => fill_string(s, saved)?,
        Value::Array(items) => Value::Array(
            items
                .iter()
                .map(|v| fill(v, saved))
                .collect::<Result<_, _>>()?,
        ),
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(k, v)| Ok((k.clone(), fill(v, saved)?)))
                .collect::<Result<_, TemplateError>>()?,
        ),
        other => other.clone(),
    })
}

fn fill_string(text: &str, saved: &BTreeMap<String, Value>) -> Result<Value, TemplateError> {
    let trimmed = text.trim();
    if trimmed.starts_with("{{") && trimmed.ends_with("}}") && trimmed.matches("{{").count() == 1 {
        return lookup(&trimmed[2..trimmed.len() - 2], saved);
    }
    let mut out = String::new();
    let mut rest = text;
    while let Some(start) = rest.find("{{") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let Some(end) = after.find("}}") else {
            out.push_str(&rest[start..]);
            rest = "";
            break;
        };
        match lookup(&after[..end], saved)? {
            Value::String(s) => out.push_str(&s),
            other => out.push_str(&other.to_string()),
        }
        rest = &after[end + 2..];
    }
    out.push_str(rest);
    Ok(Value::String(out))
}

fn lookup(reference: &str, saved: &BTreeMap<String, Value>) -> Result<Value, TemplateError> {
    let reference = reference.trim();
    let mut parts = reference.split('.');
    let name = parts.next().unwrap_or_default();
    let error = |why: String| TemplateError {
        reference: reference.to_string(),
        why,
    };
    let mut current = saved
        .get(name)
        .ok_or_else(|| error(format!("no step saved `{name}`")))?;
    for part in parts {
        current = match current {
            Value::Object(map) => map.get(part),
            Value::Array(items) => part.parse::<usize>().ok().and_then(|i| items.get(i)),
            _ => None,
        }
        .ok_or_else(|| error(format!("`{name}` has no `{part}` (it is {current})")))?;
    }
    Ok(current.clone())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn fills_whole_and_embedded_references() {
        let saved = BTreeMap::from([("m".to_string(), json!({"serverMsgId": "42", "n": 7}))]);
        let filled = fill(&json!({"mid": "{{m.serverMsgId}}", "n": "{{ m.n }}", "t": "id {{m.n}}!", "z": "<null>"}), &saved).unwrap();
        assert_eq!(
            filled,
            json!({"mid": "42", "n": 7, "t": "id 7!", "z": null})
        );
        assert!(fill(&json!("{{m.nope}}"), &saved).is_err());
        assert_eq!(
            references("a {{x.y}} b {{z}}").collect::<Vec<_>>(),
            ["x", "z"]
        );
    }
}
