//! Emoji segments of a received text, as the message guide documents them ("Send emoji
//! messages": with `WebIM.Emoji` set, `onEmojiMessage` gets `data` as `[{type: 'emoji'|'txt',
//! data}]`), computed by `utils.parseTextMessage` (bundle L10261) over the Web IM demo's emoji
//! map. The 3.6.3 SDK never passes the map (wire notes section 4), so it never fires
//! `onEmojiMessage`; the reference client follows the guide, and the `no-emoji` switch gives
//! the SDK's behaviour.
//!
//! Pure functions; the callback itself is built in `incoming.rs`.

use serde_json::{Value, json};

/// `WebIM.Emoji.path` of the demo.
pub const PATH: &str = "static/img/faces/";

/// `WebIM.Emoji.map` of the demo (its first entries).
const MAP: &[(&str, &str)] = &[
    ("[):]", "ee_1.png"),
    ("[:D]", "ee_2.png"),
    ("[;)]", "ee_3.png"),
    ("[:-o]", "ee_4.png"),
    ("[:p]", "ee_5.png"),
    ("[(H)]", "ee_6.png"),
    ("[:@]", "ee_7.png"),
    ("[:s]", "ee_8.png"),
    ("[:$]", "ee_9.png"),
    ("[:(]", "ee_10.png"),
    ("[:'(]", "ee_11.png"),
    ("[:|]", "ee_12.png"),
];

/// The matches of `/\[[^[\]]{2,3}\]/g` in `text`, in order.
fn tokens(text: &str) -> Vec<&str> {
    let bytes: Vec<(usize, char)> = text.char_indices().collect();
    let mut found = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i].1 == '[' {
            let inner = bytes[i + 1..]
                .iter()
                .take(4)
                .take_while(|(_, c)| *c != '[' && *c != ']')
                .count();
            let close = i + 1 + inner;
            if (2..=3).contains(&inner) && bytes.get(close).is_some_and(|(_, c)| *c == ']') {
                let end = bytes.get(close + 1).map_or(text.len(), |(at, _)| *at);
                found.push(&text[bytes[i].0..end]);
                i = close + 1;
                continue;
            }
        }
        i += 1;
    }
    found
}

/// `parseTextMessage(text, WebIM.Emoji)`: the segments when the text holds at least one known
/// emoji key, `None` otherwise (then `onTextMessage` fires).
pub fn segments(text: &str) -> Option<Value> {
    let matches = tokens(text);
    if matches.is_empty() {
        return None;
    }
    let mut rest = text.to_string();
    let mut out = Vec::new();
    let mut any = false;
    for token in matches {
        let at = rest.find(token);
        let before = at.map_or(rest.as_str(), |a| &rest[..a]).to_string();
        if !before.is_empty() {
            out.push(json!({"type": "txt", "data": before}));
        }
        match MAP.iter().find(|(k, _)| *k == token) {
            Some((_, file)) => {
                any = true;
                out.push(json!({"type": "emoji", "data": format!("{PATH}{file}")}));
                let cut = at.map_or(rest.len(), |a| a + token.len());
                rest = rest[cut.min(rest.len())..].to_string();
            }
            // the SDK does not advance past an unknown key
            None => out.push(json!({"type": "txt", "data": token})),
        }
    }
    if !rest.is_empty() {
        out.push(json!({"type": "txt", "data": rest}));
    }
    any.then_some(Value::Array(out))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_text_around_known_keys_only() {
        assert_eq!(
            segments("hi [):] there [:D]").unwrap(),
            json!([
                {"type": "txt", "data": "hi "},
                {"type": "emoji", "data": "static/img/faces/ee_1.png"},
                {"type": "txt", "data": " there "},
                {"type": "emoji", "data": "static/img/faces/ee_2.png"},
            ])
        );
        assert_eq!(segments("no emoji here"), None);
        assert_eq!(segments("[xx] unknown only"), None);
        assert_eq!(tokens("a[b]c[:D][toolong]"), vec!["[:D]"]);
    }
}
