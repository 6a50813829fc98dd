//! Emoji segments of a received text, as the message guide documents them ("Send emoji
//! messages", L193-197: with `WebIM.Emoji` set, `onEmojiMessage` gets `data` as
//! `[{type: 'emoji'|'txt', data}]`, an emoji's `data` the path of its image), computed as
//! `utils.parseTextMessage` (bundle L10261) does over the map the app installed (the `emoji`
//! argument of `connect`, DRIVER-PROTOCOL.md "Emoji"). Without a map no text is split. The
//! 3.6.3 SDK never passes the map (wire notes section 4), so it never fires `onEmojiMessage`;
//! the reference client follows the guide, and the `no-emoji` switch gives the SDK's behaviour.
//!
//! Pure functions; the callback itself is built in `incoming.rs`.

use crate::driver::protocol::EmojiMap;
use serde_json::{Value, json};

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

/// `parseTextMessage(text, WebIM.Emoji)`: the segments when the text holds at least one key of
/// `emoji.map`, `None` otherwise (then `onTextMessage` fires). `no_path` (the `emoji-no-path`
/// fault switch) leaves `emoji.path` out of an emoji segment's `data`.
pub fn segments(text: &str, emoji: &EmojiMap, no_path: bool) -> Option<Value> {
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
        match emoji.map.get(token) {
            Some(file) => {
                any = true;
                let path = if no_path { "" } else { emoji.path.as_str() };
                out.push(json!({"type": "emoji", "data": format!("{path}{file}")}));
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

    fn demo() -> EmojiMap {
        EmojiMap {
            path: "static/img/faces/".into(),
            map: [("[):]", "ee_1.png"), ("[:D]", "ee_2.png")]
                .into_iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        }
    }

    #[test]
    fn splits_text_around_known_keys_only() {
        let demo = demo();
        let segments = |text: &str| segments(text, &demo, false);
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
        assert_eq!(
            super::segments("[:D]", &demo, true).unwrap(),
            json!([{"type": "emoji", "data": "ee_2.png"}])
        );
    }
}
