//! The two steps before msync: the password token request (`conn.login`, bundle L4290) and the
//! SockJS handshake of the bundled sockjs-client 1.3.0 (`GET {url}/info?t=<ms>`, then the
//! websocket transport at `ws://host/<path>/<3 digits>/<8 chars>/websocket`, then `o`).

use futures_util::StreamExt as _;
use serde_json::{Map, Value};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};
use tokio_tungstenite::tungstenite::Message;

/// The WebSocket the SockJS transport runs on.
pub type Ws =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// Why the socket could not be opened (sockjs-client then closes with an error code, which the
/// SDK reports as `onError` 16).
#[derive(Debug, thiserror::Error)]
pub enum SockJsError {
    /// `url` is not an http(s) URL.
    #[error("SockJS needs an http: or https: URL, got {0:?}")]
    Scheme(String),
    /// The `/info` request failed.
    #[error("GET {url} failed: {reason}")]
    Info {
        /// The info URL.
        url: String,
        /// What went wrong.
        reason: String,
    },
    /// The websocket transport did not open.
    #[error("websocket {url} failed: {reason}")]
    WebSocket {
        /// The transport URL.
        url: String,
        /// What went wrong.
        reason: String,
    },
    /// The server closed or sent something else before `o`.
    #[error("the SockJS session did not open: {0}")]
    NotOpened(String),
}

/// The answer to the token request.
#[derive(Debug)]
pub enum TokenAnswer {
    /// HTTP 200 with a JSON body.
    Granted(Value),
    /// Any other status: `utils.ajax` passes the raw body on as `{type: 17, data}`.
    Refused {
        /// The raw response text.
        body: String,
    },
    /// The request failed at the network level or the body is not JSON: the SDK's promise
    /// rejects and nothing reaches the app.
    Silent(String),
}

/// Milliseconds since the Unix epoch (`Date.now()`).
pub fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

pub(super) fn http_client() -> Result<reqwest::Client, reqwest::Error> {
    reqwest::Client::builder().no_proxy().build()
}

/// `POST {apiUrl}/{org}/{app}/token` with the body `JSON.stringify({grant_type, username,
/// password, timestamp})`.
pub async fn request_token(
    api_url: &str,
    org: &str,
    app: &str,
    username: &str,
    password: Value,
) -> TokenAnswer {
    let mut body = Map::new();
    body.insert("grant_type".into(), "password".into());
    body.insert("username".into(), username.into());
    body.insert("password".into(), password);
    body.insert("timestamp".into(), now_ms().into());
    let url = format!("{api_url}/{org}/{app}/token");
    let client = match http_client() {
        Ok(c) => c,
        Err(e) => return TokenAnswer::Silent(e.to_string()),
    };
    let response = client
        .post(&url)
        .header("Content-type", "application/json")
        .body(Value::Object(body).to_string())
        .send()
        .await;
    let response = match response {
        Ok(r) => r,
        Err(e) => return TokenAnswer::Silent(format!("POST {url}: {e}")),
    };
    let status = response.status().as_u16();
    let text = match response.text().await {
        Ok(t) => t,
        Err(e) => return TokenAnswer::Silent(format!("POST {url}: {e}")),
    };
    if status != 200 {
        return TokenAnswer::Refused { body: text };
    }
    match serde_json::from_str(&text) {
        Ok(json) => TokenAnswer::Granted(json),
        Err(e) => TokenAnswer::Silent(format!("POST {url}: body is not JSON: {e}")),
    }
}

static SEED: AtomicU64 = AtomicU64::new(0);

/// A pseudo-random number (xorshift over the clock); SockJS ids need no more.
fn random(bound: u64) -> u64 {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64);
    let mut x = nanos ^ SEED.fetch_add(0x9E37_79B9_7F4A_7C15, Ordering::Relaxed);
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    x % bound.max(1)
}

/// The websocket transport URL for a SockJS base URL: `/<server>/<session>/websocket` with a
/// 3-digit server id and an 8-character session id (sockjs-client `random.numberString(1000)`
/// and `random.string(8)`).
pub fn transport_url(base: &str) -> Result<String, SockJsError> {
    const ALPHABET: &[u8] = b"abcdefghijklmnopqrstuvwxyz012345";
    let base = base.trim_end_matches('/');
    let ws_base = if let Some(rest) = base.strip_prefix("https") {
        format!("wss{rest}")
    } else if let Some(rest) = base.strip_prefix("http") {
        format!("ws{rest}")
    } else {
        return Err(SockJsError::Scheme(base.to_string()));
    };
    let server = format!("{:03}", random(1000));
    let session: String = (0..8)
        .map(|_| ALPHABET[random(ALPHABET.len() as u64) as usize] as char)
        .collect();
    Ok(format!("{ws_base}/{server}/{session}/websocket"))
}

/// Opens a SockJS session on `url` (the SDK's `config.url`) and waits for its `o` frame.
pub async fn open_sockjs(url: &str) -> Result<Ws, SockJsError> {
    let base = url.trim_end_matches('/');
    if !(base.starts_with("http://") || base.starts_with("https://")) {
        return Err(SockJsError::Scheme(base.to_string()));
    }
    let info_url = format!("{base}/info?t={}", now_ms());
    let info_error = |reason: String| SockJsError::Info {
        url: info_url.clone(),
        reason,
    };
    let client = http_client().map_err(|e| info_error(e.to_string()))?;
    let info = client
        .get(&info_url)
        .send()
        .await
        .map_err(|e| info_error(e.to_string()))?;
    if !info.status().is_success() {
        return Err(info_error(format!("HTTP {}", info.status())));
    }
    let _ = info.text().await;
    let ws_url = transport_url(base)?;
    // frames are small: a small read buffer (the default 128 KiB is zeroed on every read)
    let config = tokio_tungstenite::tungstenite::protocol::WebSocketConfig::default()
        .read_buffer_size(8 * 1024);
    let (mut ws, _) =
        tokio_tungstenite::connect_async_with_config(ws_url.as_str(), Some(config), false)
            .await
            .map_err(|e| SockJsError::WebSocket {
                url: ws_url.clone(),
                reason: e.to_string(),
            })?;
    loop {
        match ws.next().await {
            Some(Ok(Message::Text(text))) if text.as_str() == "o" => return Ok(ws),
            Some(Ok(Message::Text(text))) if text.as_str() == "h" => continue,
            Some(Ok(Message::Ping(_) | Message::Pong(_))) => continue,
            Some(Ok(other)) => return Err(SockJsError::NotOpened(format!("{other:?}"))),
            Some(Err(e)) => return Err(SockJsError::NotOpened(e.to_string())),
            None => return Err(SockJsError::NotOpened("socket closed".into())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn transport_urls_look_like_sockjs_ones() {
        let url = transport_url("http://127.0.0.1:18080/ws").unwrap();
        let rest = url.strip_prefix("ws://127.0.0.1:18080/ws/").unwrap();
        let parts: Vec<&str> = rest.split('/').collect();
        assert_eq!(parts.len(), 3);
        assert!(parts[0].len() == 3 && parts[0].chars().all(|c| c.is_ascii_digit()));
        assert_eq!(parts[1].len(), 8);
        assert_eq!(parts[2], "websocket");
        assert!(
            transport_url("https://h/ws")
                .unwrap()
                .starts_with("wss://h/ws/")
        );
        assert!(transport_url("ws://h/ws").is_err());
    }
}
