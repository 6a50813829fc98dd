//! The REST reads of the reference client: message roaming (`fetchHistoryMessages`, bundle
//! L4998-5110) and the conversation list (`getSessionList`, L6560), wire notes section 8.
//!
//! Owns the per-queue roaming cache (`mr_cache`), the requests and how their answers become the
//! driver's reply. Roamed metas are decoded by `incoming::chat` in history mode: receipts and
//! recalls fire their callbacks, content messages come back as objects with `message_type`.
//! Where 3.6.3 never settles (a failed roaming request: its error callback only raises
//! `onError` for a body it never parses), this client fails the request with 604
//! (WEBIM_LOAD_MSG_ERROR, "message load error"), as the documented error table has it.

use super::connection::Session;
use super::faults::Fault;
use super::incoming;
use super::js;
use crate::wire::pb;
use base64::Engine as _;
use prost::Message as _;
use serde_json::{Map, Value, json};

/// `mr_cache[queue]`: messages fetched and not yet handed out, and where the server left off.
#[derive(Debug, Default)]
pub(super) struct Cache {
    msgs: Vec<Value>,
    next_key: Value,
    is_last: bool,
}

/// `WEBIM_LOAD_MSG_ERROR`.
const LOAD_MSG_ERROR: u64 = 604;

/// Why a REST read failed: the `e` the promise rejects with.
fn ajax_error(body: String) -> Value {
    json!({"type": 17, "data": body})
}

impl Session {
    fn rest_base(&self) -> Option<String> {
        let (org, app) = self.options.login_app_key.split_once('#')?;
        let user = &self.out.user;
        Some(format!("{}/{org}/{app}/users/{user}", self.options.api_url))
    }

    /// `getSessionList()`: the raw JSON of `user_channels`; a non-200 rejects with
    /// `{type: 17, data: <raw body>}`.
    pub(super) async fn session_list(&mut self, id: u64) {
        let Some(base) = self.rest_base() else {
            self.out
                .err(id, json!({"type": 27, "message": "the appKey is illegal"}));
            return;
        };
        let request = http()
            .get(format!("{base}/user_channels"))
            .header("Authorization", format!("Bearer {}", self.token))
            .header("Content-Type", "application/json");
        match send(request).await {
            Ok((200, text)) => match serde_json::from_str::<Value>(&text) {
                Ok(json) => self.out.ok(id, json),
                Err(e) => self
                    .out
                    .err(id, json!({"type": "exception", "message": e.to_string()})),
            },
            Ok((_, text)) => self.out.err(id, ajax_error(text)),
            Err(e) => self.out.err(id, json!({"type": "sdk-error", "message": e})),
        }
    }

    /// `fetchHistoryMessages({queue, isGroup, count, start})`.
    pub(super) async fn fetch_history(&mut self, id: u64, args: &Map<String, Value>) {
        let count = args
            .get("count")
            .filter(|c| js::truthy(Some(c)))
            .and_then(Value::as_f64)
            .map_or(20, |c| c.max(0.0) as usize);
        let is_group = js::truthy(args.get("isGroup"));
        let Some(queue) = args
            .get("queue")
            .filter(|q| js::truthy(Some(q)))
            .and_then(|q| js::proto_string(Some(q)))
        else {
            let error = json!({"type": 999, "message": "queue is not specified"});
            self.emit("onError", Some(error.clone()));
            self.out.err(id, error);
            return;
        };
        let Some(base) = self.rest_base() else {
            self.out
                .err(id, json!({"type": 27, "message": "the appKey is illegal"}));
            return;
        };
        let mut start = args.get("start").cloned().filter(|s| js::truthy(Some(s)));
        loop {
            let cache = self.mr_cache.entry(queue.clone()).or_default();
            if cache.msgs.len() >= count || cache.is_last {
                break;
            }
            let mut from = json!(-1);
            if js::truthy(Some(&cache.next_key)) {
                from = cache.next_key.clone();
            }
            if let Some(s) = start.take() {
                from = s;
            }
            let domain = if is_group {
                "@conference.easemob.com"
            } else {
                "@easemob.com"
            };
            let body = json!({"queue": format!("{queue}{domain}"), "start": from, "end": -1});
            let request = http()
                .post(format!("{base}/messageroaming"))
                .header("Authorization", format!("Bearer {}", self.token))
                .header("Content-Type", "text/plain;charset=UTF-8")
                .body(body.to_string());
            let answer = match send(request).await {
                Ok((200, text)) => serde_json::from_str::<Value>(&text).ok(),
                Ok((_, text)) if self.faults.has(Fault::HistoryErrorHangs) => {
                    eprintln!("[imspec-reference] roaming failed, left unsettled: {text}");
                    return;
                }
                Ok((_, text)) => {
                    let error = json!({
                        "type": LOAD_MSG_ERROR,
                        "message": "fetch history messages error",
                        "data": ajax_error(text),
                    });
                    self.out.err(id, error);
                    return;
                }
                Err(e) => {
                    self.out
                        .err(id, json!({"type": LOAD_MSG_ERROR, "message": e}));
                    return;
                }
            };
            let Some(data) = answer
                .as_ref()
                .and_then(|a| a.get("data"))
                .filter(|d| js::truthy(Some(d)))
            else {
                let error =
                    json!({"type": LOAD_MSG_ERROR, "message": "fetch history messages error"});
                self.out.err(id, error);
                return;
            };
            self.roamed(&queue, data);
        }
        let cache = self.mr_cache.entry(queue).or_default();
        let take = count.min(cache.msgs.len());
        let mut messages: Vec<Value> = cache.msgs.drain(..take).collect();
        if !self.faults.has(Fault::HistoryNotReversed) {
            messages.reverse();
        }
        self.out.ok(id, json!({"messages": messages}));
    }

    /// The success callback of one roaming answer's `data`.
    fn roamed(&mut self, queue: &str, data: &Value) {
        let Some(msgs) = data.get("msgs").filter(|m| js::truthy(Some(m))) else {
            let cache = self.mr_cache.entry(queue.to_string()).or_default();
            cache.is_last = true;
            cache.next_key = json!("");
            return;
        };
        {
            let cache = self.mr_cache.entry(queue.to_string()).or_default();
            cache.is_last = js::truthy(data.get("is_last"));
            cache.next_key = data.get("next_key").cloned().unwrap_or(Value::Null);
        }
        let status = pb::Status {
            error_code: Some(0),
            reason: Some(String::new()),
            redirect_info: Vec::new(),
        };
        for item in msgs.as_array().map(Vec::as_slice).unwrap_or_default() {
            let text = item.get("msg").and_then(Value::as_str).unwrap_or("");
            let Ok(bytes) = base64::engine::general_purpose::STANDARD.decode(text) else {
                eprintln!("[imspec-reference] roamed msg is not base64; the rest is skipped");
                break;
            };
            let Ok(meta) = pb::Meta::decode(bytes.as_slice()) else {
                eprintln!("[imspec-reference] roamed msg is not a Meta; the rest is skipped");
                break;
            };
            if meta.ns.unwrap_or(0) != 1 {
                continue;
            }
            let mut callbacks = Vec::new();
            let cx = incoming::Context {
                api_url: &self.options.api_url,
                use_own_upload_fun: self.options.use_own_upload_fun,
                token: &self.token,
                emoji: self.options.emoji.as_ref(),
                faults: &self.faults,
            };
            if let Err(thrown) = incoming::chat(&meta, Some(&status), &cx, &mut callbacks) {
                eprintln!("[imspec-reference] roamed meta failed: {:?}", thrown.0);
                break;
            }
            let mut object = None;
            for (name, data) in callbacks {
                let live = matches!(
                    name,
                    "onReadMessage"
                        | "onDeliveredMessage"
                        | "onRecallMessage"
                        | "onChannelMessage"
                        | "onError"
                );
                if live {
                    if !self.suppressed(name, data.as_ref()) {
                        self.emit(name, data);
                    }
                } else if object.is_none()
                    && let Some(Value::Object(mut o)) = data
                {
                    let kind = o.get("type").cloned().unwrap_or(Value::Null);
                    o.insert("message_type".into(), kind);
                    object = Some(Value::Object(o));
                }
            }
            if let Some(o) = object {
                self.mr_cache
                    .entry(queue.to_string())
                    .or_default()
                    .msgs
                    .push(o);
            }
        }
    }
}

fn http() -> reqwest::Client {
    reqwest::Client::builder()
        .no_proxy()
        .build()
        .unwrap_or_else(|_| reqwest::Client::new())
}

/// Sends a request; the status and the raw body, or why there is none.
async fn send(request: reqwest::RequestBuilder) -> Result<(u16, String), String> {
    let response = request.send().await.map_err(|e| e.to_string())?;
    let status = response.status().as_u16();
    let text = response.text().await.map_err(|e| e.to_string())?;
    Ok((status, text))
}
