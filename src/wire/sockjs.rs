//! SockJS framing over a WebSocket transport, as the bundled sockjs-client 1.3.0 speaks it.
//!
//! Server to client: `o` (open), `h` (heartbeat), `a["m1","m2"]` (messages), `c[code,"reason"]`
//! (close). Client to server: a JSON array of strings (`["m1"]`), or a single JSON string.
//! Message contents are opaque here; for msync they are base64 `MSync` bytes (`wire::frame`).

use super::WireError;

/// A frame the server sends on a SockJS WebSocket transport.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ServerFrame {
    /// `o`: the session is open.
    Open,
    /// `h`: heartbeat, ignored by the client.
    Heartbeat,
    /// `a[...]`: one or more messages.
    Messages(Vec<String>),
    /// `c[code,"reason"]`: the server closes the session.
    Close {
        /// SockJS close code (3000 = "Go away!", 2010 = "Another connection still open").
        code: u16,
        /// Human-readable reason.
        reason: String,
    },
}

impl ServerFrame {
    /// The text of this frame on the wire.
    pub fn encode(&self) -> String {
        match self {
            ServerFrame::Open => "o".to_string(),
            ServerFrame::Heartbeat => "h".to_string(),
            ServerFrame::Messages(messages) => {
                format!(
                    "a{}",
                    serde_json::to_string(messages).expect("strings serialise")
                )
            }
            ServerFrame::Close { code, reason } => {
                format!("c{}", serde_json::json!([code, reason]))
            }
        }
    }

    /// Parses a frame received from a SockJS server.
    pub fn parse(text: &str) -> Result<Self, WireError> {
        let bad = |why: &str| WireError::SockJs(format!("{why}: {}", preview(text)));
        let (kind, rest) = text.split_at(text.len().min(1));
        match kind {
            "o" if rest.is_empty() => Ok(ServerFrame::Open),
            "h" if rest.is_empty() => Ok(ServerFrame::Heartbeat),
            "a" => serde_json::from_str::<Vec<String>>(rest)
                .map(ServerFrame::Messages)
                .map_err(|_| bad("`a` frame is not a JSON array of strings")),
            "c" => {
                let (code, reason): (u16, String) = serde_json::from_str(rest)
                    .map_err(|_| bad("`c` frame is not [code, \"reason\"]"))?;
                Ok(ServerFrame::Close { code, reason })
            }
            _ => Err(bad("unknown frame type")),
        }
    }
}

/// Parses what a SockJS client sent: a JSON array of strings, or one JSON string.
pub fn parse_client(text: &str) -> Result<Vec<String>, WireError> {
    if let Ok(messages) = serde_json::from_str::<Vec<String>>(text) {
        return Ok(messages);
    }
    serde_json::from_str::<String>(text)
        .map(|one| vec![one])
        .map_err(|_| {
            WireError::SockJs(format!(
                "client frame is not a JSON array of strings: {}",
                preview(text)
            ))
        })
}

/// Encodes messages as a SockJS client sends them.
pub fn encode_client(messages: &[String]) -> String {
    serde_json::to_string(messages).expect("strings serialise")
}

/// The reply to `GET <base>/info`, telling sockjs-client that the websocket transport is open.
pub fn info_response(entropy: u32) -> serde_json::Value {
    serde_json::json!({
        "websocket": true,
        "origins": ["*:*"],
        "cookie_needed": false,
        "entropy": entropy,
    })
}

fn preview(text: &str) -> String {
    const MAX: usize = 80;
    match text.char_indices().nth(MAX) {
        Some((at, _)) => format!("{:?}…", &text[..at]),
        None => format!("{text:?}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn server_frames_round_trip() {
        for frame in [
            ServerFrame::Open,
            ServerFrame::Heartbeat,
            ServerFrame::Messages(vec!["CAAS".into(), "x\"y".into()]),
            ServerFrame::Close {
                code: 3000,
                reason: "Go away!".into(),
            },
        ] {
            assert_eq!(ServerFrame::parse(&frame.encode()).unwrap(), frame);
        }
        assert_eq!(
            ServerFrame::Close {
                code: 3000,
                reason: "Go away!".into()
            }
            .encode(),
            r#"c[3000,"Go away!"]"#
        );
    }

    #[test]
    fn malformed_frames_are_errors_not_panics() {
        for text in ["", "x", "a", "a[1]", "c[]", "o extra", "c[70000,\"x\"]"] {
            assert!(ServerFrame::parse(text).is_err(), "{text:?}");
        }
        assert!(parse_client("[1]").is_err());
        assert_eq!(parse_client(r#""one""#).unwrap(), vec!["one".to_string()]);
    }
}
