//! The REST side of the fake server and the routes that lead to sockets: token login
//! (`POST /{org}/{app}/token`), SockJS `GET /ws/info`, the SockJS WebSocket transport and the
//! raw WebSocket endpoint, a blank page for browser drivers (`GET /imspec/page`, not recorded),
//! and a recorded 404 for everything else.
//!
//! Owns request parsing, the JSON answers (shaped as the real server answers, wire notes
//! section 1) and recording of every exchange. Socket handling is `socket.rs`'s; user data is
//! `world.rs`'s.

use super::Shared;
use super::observe::{HttpExchange, ObservationKind, Transport};
use super::socket;
use super::world::LoginError;
use crate::wire::sockjs;
use axum::Router;
use axum::body::Bytes;
use axum::extract::ws::{WebSocketUpgrade, rejection::WebSocketUpgradeRejection};
use axum::extract::{DefaultBodyLimit, Path, State};
use axum::http::{Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde_json::{Value, json};
use std::sync::Arc;

/// Largest request body accepted, but an upload's (`chatfiles.rs` streams those and keeps at
/// most the world's `attachment_limit_bytes` of them).
const MAX_BODY: usize = 1 << 20;
/// The `entropy` of `/ws/info` answers: fixed, so transcripts are stable.
const ENTROPY: u32 = 1_234_567;
/// Token lifetime the server announces (60 days, as the real server).
const EXPIRES_IN: u64 = 5_184_000;

/// The router of one server.
pub(crate) fn router(shared: Arc<Shared>) -> Router {
    Router::new()
        .route("/ws/info", get(sockjs_info))
        .route("/ws/{server}/{session}/websocket", get(sockjs_websocket))
        .route("/websocket", get(raw_websocket))
        .route("/imspec/page", get(page))
        .route("/{org}/{app}/token", post(token))
        .route(
            "/{org}/{app}/users/{user}/user_channels",
            get(super::history::user_channels),
        )
        .route(
            "/{org}/{app}/users/{user}/messageroaming",
            post(super::history::message_roaming),
        )
        .route(
            "/{org}/{app}/chatfiles",
            post(super::chatfiles::upload).layer(DefaultBodyLimit::disable()),
        )
        .route(
            "/{org}/{app}/chatfiles/{uuid}",
            get(super::chatfiles::download),
        )
        .fallback(not_found)
        .layer(DefaultBodyLimit::max(MAX_BODY))
        .with_state(shared)
}

/// One answered request, ready to record.
struct Exchange<'a> {
    method: &'a str,
    uri: &'a Uri,
    user: Option<String>,
    request: Value,
    status: StatusCode,
    response: Value,
}

impl Exchange<'_> {
    fn answer(self, shared: &Shared) -> Response {
        shared.record(ObservationKind::Http(HttpExchange {
            method: self.method.to_string(),
            path: self.uri.path().to_string(),
            query: self.uri.query().map(str::to_string),
            user: self.user,
            request: self.request,
            status: self.status.as_u16(),
            response: self.response.clone(),
            headers: Default::default(),
        }));
        (self.status, axum::Json(self.response)).into_response()
    }
}

/// The blank page a browser driver opens before loading the SDK into it, so that the page's
/// origin is the server's own (`http://127.0.0.1:<port>`): the SDK's REST calls are then
/// same-origin, as an app served by its chat server's host would make them. Not part of the
/// conversation, so not recorded; `rel=icon` keeps the browser from asking for `/favicon.ico`.
async fn page() -> Response {
    (
        [(axum::http::header::CONTENT_TYPE, "text/html; charset=utf-8")],
        "<!doctype html><html><head><meta charset=\"utf-8\"><link rel=\"icon\" href=\"data:,\">\
         <title>imspec</title></head><body></body></html>",
    )
        .into_response()
}

async fn sockjs_info(State(shared): State<Arc<Shared>>, uri: Uri) -> Response {
    Exchange {
        method: "GET",
        uri: &uri,
        user: None,
        request: Value::Null,
        status: StatusCode::OK,
        response: sockjs::info_response(ENTROPY),
    }
    .answer(&shared)
}

async fn sockjs_websocket(
    State(shared): State<Arc<Shared>>,
    uri: Uri,
    ws: Result<WebSocketUpgrade, WebSocketUpgradeRejection>,
) -> Response {
    websocket(shared, uri, ws, Transport::Sockjs)
}

async fn raw_websocket(
    State(shared): State<Arc<Shared>>,
    uri: Uri,
    ws: Result<WebSocketUpgrade, WebSocketUpgradeRejection>,
) -> Response {
    websocket(shared, uri, ws, Transport::Websocket)
}

fn websocket(
    shared: Arc<Shared>,
    uri: Uri,
    ws: Result<WebSocketUpgrade, WebSocketUpgradeRejection>,
    transport: Transport,
) -> Response {
    match ws {
        Ok(ws) => socket::upgrade(shared, ws, transport),
        Err(rejection) => Exchange {
            method: "GET",
            uri: &uri,
            user: None,
            request: Value::Null,
            status: rejection.status(),
            response: json!({"error": "websocket_upgrade", "error_description": rejection.body_text()}),
        }
        .answer(&shared),
    }
}

async fn token(
    State(shared): State<Arc<Shared>>,
    Path((org, app)): Path<(String, String)>,
    uri: Uri,
    body: Bytes,
) -> Response {
    let request = body_json(&body);
    let now = shared.clock.now_ms();
    let username = request.get("username").and_then(Value::as_str);
    let user = username.map(str::to_string);
    let (status, response) = {
        let mut world = shared.world();
        if format!("{org}#{app}") != world.app_key() {
            (
                StatusCode::BAD_REQUEST,
                json!({
                    "error": "organization_application_not_found",
                    "timestamp": now,
                    "duration": 0,
                    "exception": "org.apache.usergrid.rest.exceptions.OrganizationApplicationNotFoundException",
                    "error_description": format!(
                        "Could not find application for {org}/{app} from URI: {org}/{app}/token"
                    ),
                }),
            )
        } else {
            let grant = request.get("grant_type").and_then(Value::as_str);
            let password = request.get("password").and_then(Value::as_str);
            match (grant, username, password) {
                (Some("password"), Some(username), Some(password)) => {
                    match world.login(username, password) {
                        Ok(issued) => (
                            StatusCode::OK,
                            json!({
                                "access_token": issued.token,
                                "expires_in": EXPIRES_IN,
                                "user": {
                                    "uuid": issued.uuid,
                                    "type": "user",
                                    "created": now,
                                    "modified": now,
                                    "username": username,
                                    "activated": true,
                                },
                            }),
                        ),
                        Err(LoginError::InvalidGrant) => (
                            StatusCode::BAD_REQUEST,
                            json!({
                                "error": "invalid_grant",
                                "timestamp": now,
                                "duration": 0,
                                "exception": "java.lang.IllegalArgumentException",
                                "error_description": "invalid username or password",
                            }),
                        ),
                    }
                }
                _ => (
                    StatusCode::BAD_REQUEST,
                    json!({
                        "error": "illegal_argument",
                        "timestamp": now,
                        "duration": 0,
                        "exception": "java.lang.IllegalArgumentException",
                        "error_description":
                            "body must be JSON {grant_type:\"password\", username, password}",
                    }),
                ),
            }
        }
    };
    Exchange {
        method: "POST",
        uri: &uri,
        user,
        request,
        status,
        response,
    }
    .answer(&shared)
}

async fn not_found(
    State(shared): State<Arc<Shared>>,
    method: Method,
    uri: Uri,
    body: Bytes,
) -> Response {
    Exchange {
        method: method.as_str(),
        uri: &uri,
        user: None,
        request: body_json(&body),
        status: StatusCode::NOT_FOUND,
        response: json!({
            "error": "not_found",
            "error_description": format!("the fake server has no {} {}", method, uri.path()),
        }),
    }
    .answer(&shared)
}

/// A request body as JSON: parsed, `null` when empty, or `{"text": ...}` when not JSON.
fn body_json(body: &[u8]) -> Value {
    if body.is_empty() {
        return Value::Null;
    }
    serde_json::from_slice(body)
        .unwrap_or_else(|_| json!({ "text": String::from_utf8_lossy(body) }))
}
