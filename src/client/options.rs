//! The `connect` arguments as the 3.6.3 connection constructor reads them:
//! `new connection({appKey, url, apiUrl, isHttpDNS: false, ...options})` then
//! `open({user, pwd: password, appKey})` (constructor at bundle L4101).

use super::js;
use crate::driver::protocol::EmojiMap;
use serde_json::{Map, Value};
use std::time::Duration;

/// What a connection needs from `connect`.
#[derive(Debug, Clone)]
pub struct ConnectOptions {
    /// `open({pwd})`.
    pub password: Value,
    /// `open({appKey})`: the JID's `appKey` and the token URL's org and app.
    pub login_app_key: String,
    /// `conn.appKey` (an option may override the constructor's): `Meta.to.appKey`.
    pub app_key: String,
    /// `conn.url`: the SockJS base.
    pub url: String,
    /// `conn.apiUrl`: the REST base.
    pub api_url: String,
    /// `heartBeatWait` (default 30 s, at least 5 s).
    pub heart_beat_wait: Duration,
    /// `autoReconnectNumMax`.
    pub auto_reconnect_num_max: u64,
    /// `deviceId` (default "webim").
    pub device_id: String,
    /// `version` as a string (`Provision.version`).
    pub version: String,
    /// `version` as protobufjs writes it into the enum `MSync.version`.
    pub msync_version: i32,
    /// `compressType`.
    pub compress_type: Vec<i32>,
    /// `encryptType`.
    pub encrypt_type: Vec<i32>,
    /// `domain` (default "easemob.com"), the JID domain.
    pub domain: String,
    /// `useOwnUploadFun`.
    pub use_own_upload_fun: bool,
    /// `isHttpDNS` asked for (not supported).
    pub is_http_dns: bool,
    /// `delivery`: send a delivery receipt for every received single-chat message, as the
    /// guide documents (3.6.3 itself sends none; wire notes section 6).
    pub delivery: bool,
    /// `WebIM.Emoji`, installed by the app before it connects (the `emoji` argument; guide
    /// L193); without it a text is never split into emoji segments.
    pub emoji: Option<EmojiMap>,
}

/// JavaScript `x >>> 0 | 0`-style coercion protobufjs applies to an enum field.
fn enum_coercion(value: &Value) -> i32 {
    let f = match value {
        Value::Number(n) => n.as_f64().unwrap_or(0.0),
        Value::String(s) => s.trim().parse().unwrap_or(f64::NAN),
        Value::Bool(b) => f64::from(u8::from(*b)),
        _ => f64::NAN,
    };
    if f.is_finite() {
        f.trunc() as i64 as i32
    } else {
        0
    }
}

fn int_list(value: Option<&Value>) -> Vec<i32> {
    match value {
        Some(Value::Array(items)) => items.iter().map(enum_coercion).collect(),
        _ => vec![0],
    }
}

impl ConnectOptions {
    /// Reads `connect` arguments.
    pub fn from_args(args: &Map<String, Value>) -> ConnectOptions {
        let options = args
            .get("options")
            .and_then(Value::as_object)
            .cloned()
            .unwrap_or_default();
        // constructor options: the explicit ones, then `...options` over them
        let mut ctor = Map::new();
        for key in ["appKey", "url", "apiUrl"] {
            if let Some(v) = args.get(key) {
                ctor.insert(key.into(), v.clone());
            }
        }
        ctor.insert("isHttpDNS".into(), Value::Bool(false));
        for (k, v) in options {
            ctor.insert(k, v);
        }
        let get = |k: &str| ctor.get(k).filter(|v| js::truthy(Some(v)));
        let string = |k: &str, default: &str| {
            get(k)
                .and_then(|v| js::proto_string(Some(v)))
                .unwrap_or_else(|| default.to_string())
        };
        let wait_ms = get("heartBeatWait")
            .and_then(Value::as_f64)
            .unwrap_or(30_000.0)
            .max(5_000.0);
        let version_value = get("version").cloned().unwrap_or(Value::from("3.6.3"));
        let version = js::proto_string(Some(&version_value)).unwrap_or_default();
        ConnectOptions {
            password: if js::truthy(args.get("password")) {
                args["password"].clone()
            } else {
                Value::from("")
            },
            login_app_key: args
                .get("appKey")
                .and_then(|v| js::proto_string(Some(v)))
                .unwrap_or_default(),
            app_key: string("appKey", ""),
            url: string("url", ""),
            api_url: string("apiUrl", ""),
            heart_beat_wait: Duration::from_millis(wait_ms as u64),
            auto_reconnect_num_max: get("autoReconnectNumMax")
                .and_then(Value::as_f64)
                .unwrap_or(0.0) as u64,
            device_id: string("deviceId", "webim"),
            msync_version: enum_coercion(&version_value),
            version,
            compress_type: int_list(get("compressType")),
            encrypt_type: int_list(get("encryptType")),
            domain: string("domain", "easemob.com"),
            use_own_upload_fun: js::truthy(ctor.get("useOwnUploadFun")),
            is_http_dns: js::truthy(ctor.get("isHttpDNS")),
            delivery: js::truthy(ctor.get("delivery")),
            emoji: args
                .get("emoji")
                .and_then(|v| serde_json::from_value(v.clone()).ok()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn defaults_and_overrides_follow_the_constructor() {
        let args = json!({"password": "pw", "appKey": "org#app", "url": "http://h/ws",
            "apiUrl": "http://h", "options": {"heartBeatWait": 1000, "deviceId": "X"}});
        let o = ConnectOptions::from_args(args.as_object().unwrap());
        assert_eq!(o.heart_beat_wait, Duration::from_millis(5000));
        assert_eq!(o.version, "3.6.3");
        assert_eq!(o.msync_version, 0);
        assert_eq!(o.device_id, "X");
        assert_eq!(o.encrypt_type, vec![0]);
        assert_eq!(o.compress_type, vec![0]);
        assert_eq!(o.domain, "easemob.com");
        assert_eq!(o.url, "http://h/ws");
        assert!(!o.is_http_dns);
    }
}
