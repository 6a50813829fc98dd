//! Attachments over REST: `POST /{org}/{app}/chatfiles` (multipart upload, wire notes section
//! 5) and `GET /{org}/{app}/chatfiles/{uuid}` (download of the stored bytes), with the real
//! server's token and `share-secret` checks and the scripted HTTP faults a scenario arms
//! (`fault = { on = "upload", ... }`).
//!
//! Owns the file store (bytes, type and secret per uuid, deterministic per server so that
//! transcripts are stable) and the recording of these exchanges: the request is summarised as
//! `{file: {filename, type, size, sha256}}`, a download's answer as `{size, sha256}`, never the
//! bytes. Token data is `world.rs`'s; the routes are declared in `http.rs`.
//!
//! An upload is streamed: the `file` part is kept up to the world's `attachment_limit_bytes`
//! (the service's 10 MB by default); past it the rest is read and dropped, never held, and the
//! answer is a 413 whose body names the limit (how the real server refuses a larger file is not
//! known: neither the wire notes nor the SDK bundles handle a 413).

use super::Shared;
use super::faults::{FaultAction, FaultTrigger};
use super::observe::{HttpExchange, ObservationKind};
use axum::body::Bytes;
use axum::extract::multipart::MultipartRejection;
use axum::extract::{Multipart, Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::sync::Arc;

/// One uploaded file.
#[derive(Debug, Clone)]
struct StoredFile {
    bytes: Bytes,
    content_type: String,
    secret: String,
}

/// The files uploaded to one server, by uuid.
#[derive(Debug, Default)]
pub(crate) struct Store {
    files: BTreeMap<String, StoredFile>,
    uploads: u64,
}

impl Store {
    /// Keeps `bytes` and returns `(uuid, share-secret)`, both deterministic (the n-th upload of
    /// a server gets the same ones in every run).
    fn put(&mut self, bytes: Bytes, content_type: String) -> (String, String) {
        self.uploads += 1;
        let n = self.uploads;
        let uuid = format!("f11e0000-0000-4000-8000-{n:012x}");
        let secret = format!("c2hhcmUtc2VjcmV0-{n}");
        self.files.insert(
            uuid.clone(),
            StoredFile {
                bytes,
                content_type,
                secret: secret.clone(),
            },
        );
        (uuid, secret)
    }
}

/// The lowercase hex sha256 of `bytes`.
pub fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// What a request's bearer token says.
enum Caller {
    /// A token this server issued, to this user.
    User(String),
    /// No `Authorization: Bearer` header.
    Missing,
    /// A token this server did not issue (or an expired one).
    Unknown,
}

fn caller(shared: &Shared, headers: &HeaderMap) -> Caller {
    let Some(value) = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
    else {
        return Caller::Missing;
    };
    let token = value.strip_prefix("Bearer ").unwrap_or(value).trim();
    if token.is_empty() || token == "undefined" || token == "null" {
        return Caller::Missing;
    }
    match shared.world().token_owner(token) {
        Some(owner) if !owner.expired => Caller::User(owner.user),
        _ => Caller::Unknown,
    }
}

fn unauthorized(now: u64, why: &str) -> (StatusCode, Value) {
    (
        StatusCode::UNAUTHORIZED,
        json!({
            "error": "unauthorized",
            "timestamp": now,
            "duration": 0,
            "exception": "org.apache.usergrid.rest.exceptions.SecurityException",
            "error_description": why,
        }),
    )
}

/// The request headers an `http` step may match: every one but `authorization`.
fn header_view(headers: &HeaderMap) -> std::collections::BTreeMap<String, String> {
    headers
        .iter()
        .filter(|(name, _)| *name != header::AUTHORIZATION)
        .map(|(name, value)| {
            (
                name.as_str().to_string(),
                String::from_utf8_lossy(value.as_bytes()).into_owned(),
            )
        })
        .collect()
}

fn record(
    shared: &Shared,
    (method, path, query, headers): (&str, String, Option<String>, &HeaderMap),
    user: Option<String>,
    request: Value,
    status: StatusCode,
    response: Value,
) {
    shared.record(ObservationKind::Http(HttpExchange {
        method: method.to_string(),
        path,
        query,
        user,
        request,
        status: status.as_u16(),
        response,
        headers: header_view(headers),
    }));
}

/// What a scripted fault armed for a request makes of its answer.
enum Scripted {
    /// This status and body instead of the answer.
    Answer(StatusCode, Value),
    /// The download's answer cut in the middle of its body.
    Truncate,
}

/// The scripted fault armed for this request, if any.
fn scripted(shared: &Shared, on: FaultTrigger, user: Option<&str>) -> Option<Scripted> {
    match shared.world().faults.fire(on, user)? {
        FaultAction::Http { status, body } => Some(Scripted::Answer(
            StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
            body,
        )),
        FaultAction::Truncate => Some(Scripted::Truncate),
        // other actions are refused when the fault is armed (`load::fault`)
        _ => None,
    }
}

/// `POST /{org}/{app}/chatfiles`: stores the multipart part `file` and answers as the real
/// server does: `{uri, entities: [{uuid, type, share-secret}], ...}`.
pub(crate) async fn upload(
    State(shared): State<Arc<Shared>>,
    Path((org, app)): Path<(String, String)>,
    headers: HeaderMap,
    multipart: Result<Multipart, MultipartRejection>,
) -> Response {
    let _in_flight = shared.attachment_request();
    let path = format!("/{org}/{app}/chatfiles");
    let now = shared.clock.now_ms();
    let who = caller(&shared, &headers);
    let user = match &who {
        Caller::User(u) => Some(u.clone()),
        _ => None,
    };
    let limit = shared.world().spec().attachment_limit_bytes;
    let (file, parse_error) = match multipart {
        Ok(multipart) => read_file_part(multipart, limit).await,
        Err(rejection) => (None, Some(rejection.body_text())),
    };
    let request = match &file {
        Some(f) if f.size > limit => json!({"file": {
            "filename": f.filename,
            "type": f.content_type,
            "size": f.size,
        }}),
        Some(f) => json!({"file": {
            "filename": f.filename,
            "type": f.content_type,
            "size": f.size,
            "sha256": sha256_hex(&f.bytes),
        }}),
        None => {
            json!({"error": parse_error.clone().unwrap_or_else(|| "no part named file".into())})
        }
    };
    let (status, response) = if let Some(Scripted::Answer(status, body)) =
        scripted(&shared, FaultTrigger::Upload, user.as_deref())
    {
        (status, body)
    } else if format!("{org}#{app}") != shared.world().app_key() {
        (
            StatusCode::BAD_REQUEST,
            json!({"error": "organization_application_not_found", "timestamp": now, "duration": 0,
                   "error_description": format!("Could not find application for {org}/{app}")}),
        )
    } else {
        match (who, file) {
            (Caller::Missing, _) => {
                unauthorized(now, "Unable to authenticate due to missing token")
            }
            (Caller::Unknown, _) => {
                unauthorized(now, "Unable to authenticate due to corrupt token")
            }
            (Caller::User(_), None) => (
                StatusCode::BAD_REQUEST,
                json!({"error": "illegal_argument", "timestamp": now, "duration": 0,
                       "error_description": "multipart body needs a part named file"}),
            ),
            (Caller::User(_), Some(file)) if file.size > limit => (
                StatusCode::PAYLOAD_TOO_LARGE,
                json!({"error": "file_too_large", "timestamp": now, "duration": 0,
                "limit": limit,
                "error_description": format!(
                    "the file is {} bytes, over the attachment limit of {limit} bytes",
                    file.size
                )}),
            ),
            (Caller::User(_), Some(file)) if file.bytes.is_empty() => (
                StatusCode::BAD_REQUEST,
                json!({"error": "illegal_argument", "timestamp": now, "duration": 0,
                       "error_description": "the file is empty"}),
            ),
            (Caller::User(_), Some(file)) => {
                let (uuid, secret) = shared.files().put(file.bytes, file.content_type);
                let host = headers
                    .get(header::HOST)
                    .and_then(|h| h.to_str().ok())
                    .unwrap_or("127.0.0.1");
                (
                    StatusCode::OK,
                    json!({
                        "action": "post",
                        "application": super::world::app_uuid(&format!("{org}#{app}")),
                        "path": "/chatfiles",
                        "uri": format!("http://{host}{path}"),
                        "entities": [{"uuid": uuid, "type": "chatfile", "share-secret": secret}],
                        "timestamp": now,
                        "duration": 0,
                        "organization": org,
                        "applicationName": app,
                    }),
                )
            }
        }
    };
    record(
        &shared,
        ("POST", path, None, &headers),
        user,
        request,
        status,
        response.clone(),
    );
    answer(status, response)
}

/// A JSON answer; a string (only a scripted fault's `body` is one) goes out as plain text, as
/// a proxy's error page would.
fn answer(status: StatusCode, body: Value) -> Response {
    match body {
        Value::String(text) => (status, text).into_response(),
        other => (status, axum::Json(other)).into_response(),
    }
}

/// The `file` part of an upload: its bytes when it is within the limit (else only what fit),
/// and its full size.
struct FilePart {
    filename: String,
    content_type: String,
    bytes: Bytes,
    size: usize,
}

/// Reads the multipart body to its end, keeping the part `file` up to `limit` bytes (and a
/// chunk): a larger file is counted, not held.
async fn read_file_part(
    mut multipart: Multipart,
    limit: usize,
) -> (Option<FilePart>, Option<String>) {
    let mut found: Option<FilePart> = None;
    loop {
        match multipart.next_field().await {
            Ok(Some(mut field)) if field.name() == Some("file") && found.is_none() => {
                let filename = field.file_name().unwrap_or_default().to_string();
                let content_type = field.content_type().unwrap_or_default().to_string();
                let mut kept = Vec::new();
                let mut size = 0usize;
                loop {
                    match field.chunk().await {
                        Ok(Some(chunk)) => {
                            size = size.saturating_add(chunk.len());
                            if size <= limit {
                                kept.extend_from_slice(&chunk);
                            } else if !kept.is_empty() {
                                kept = Vec::new();
                            }
                        }
                        Ok(None) => break,
                        Err(e) => return (None, Some(e.body_text())),
                    }
                }
                found = Some(FilePart {
                    filename,
                    content_type,
                    bytes: Bytes::from(kept),
                    size,
                });
            }
            // another part: read through, dropped
            Ok(Some(mut field)) => loop {
                match field.chunk().await {
                    Ok(Some(_)) => {}
                    Ok(None) => break,
                    Err(e) => return (None, Some(e.body_text())),
                }
            },
            Ok(None) => return (found, None),
            Err(e) => return (None, Some(e.body_text())),
        }
    }
}

/// `GET /{org}/{app}/chatfiles/{uuid}`: the stored bytes, for a valid token and the file's
/// `share-secret` (header, or the `share-secret` query parameter of the URL the SDK rebuilds).
pub(crate) async fn download(
    State(shared): State<Arc<Shared>>,
    Path((org, app, uuid)): Path<(String, String, String)>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Response {
    let _in_flight = shared.attachment_request();
    let path = format!("/{org}/{app}/chatfiles/{uuid}");
    let now = shared.clock.now_ms();
    let who = caller(&shared, &headers);
    let user = match &who {
        Caller::User(u) => Some(u.clone()),
        _ => None,
    };
    let given_secret = headers
        .get("share-secret")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string)
        .or_else(|| {
            query.as_deref().and_then(|q| {
                q.split('&')
                    .find_map(|kv| kv.strip_prefix("share-secret=").map(str::to_string))
            })
        });
    let request = json!({"share-secret": given_secret});
    let stored = shared.files().files.get(&uuid).cloned();
    let mut truncate = false;
    let failure = match scripted(&shared, FaultTrigger::Download, user.as_deref()) {
        Some(Scripted::Answer(status, body)) => Some((status, body)),
        Some(Scripted::Truncate) => {
            truncate = true;
            None
        }
        None => None,
    };
    let failure = if failure.is_some() {
        failure
    } else {
        match (who, &stored) {
            (Caller::Missing, _) => Some(unauthorized(
                now,
                "Unable to authenticate due to missing token",
            )),
            (Caller::Unknown, _) => Some(unauthorized(
                now,
                "Unable to authenticate due to corrupt token",
            )),
            (Caller::User(_), None) => Some((
                StatusCode::NOT_FOUND,
                json!({"error": "service_resource_not_found", "timestamp": now, "duration": 0,
                       "error_description": format!("no chat file {uuid}")}),
            )),
            (Caller::User(_), Some(file))
                if given_secret.as_deref() != Some(file.secret.as_str()) =>
            {
                // the answer 4.x reads as WEBIM_DOWNLOADFILE_ERROR_NO_PERMISSION (wire-4.x §1)
                Some((
                    StatusCode::FORBIDDEN,
                    json!({"error": "forbidden", "timestamp": now, "duration": 0,
                           "error_description": "chatfile no permission"}),
                ))
            }
            _ => None,
        }
    };
    let endpoint = ("GET", path, query, &headers);
    match (failure, stored) {
        (None, Some(file)) => {
            let mut response = json!({"size": file.bytes.len(), "sha256": sha256_hex(&file.bytes)});
            let content_type = if file.content_type.is_empty() {
                "application/octet-stream".to_string()
            } else {
                file.content_type
            };
            if truncate {
                let half = file.bytes.len() / 2;
                response["truncated_after"] = json!(half);
                record(&shared, endpoint, user, request, StatusCode::OK, response);
                return truncated(content_type, file.bytes, half);
            }
            record(&shared, endpoint, user, request, StatusCode::OK, response);
            ([(header::CONTENT_TYPE, content_type)], file.bytes).into_response()
        }
        (failure, _) => {
            let (status, body) = failure.unwrap_or((
                StatusCode::NOT_FOUND,
                json!({"error": "service_resource_not_found"}),
            ));
            record(&shared, endpoint, user, request, status, body.clone());
            answer(status, body)
        }
    }
}

/// A 200 whose `Content-Length` is the file's but whose body stops after `keep` bytes with an
/// error: the server cuts the connection, as a dropped link would. The body is pending once
/// between the bytes and the error, so that the connection writes the bytes out before it is
/// cut (a browser that got nothing of the answer retries the request on a fresh connection).
fn truncated(content_type: String, bytes: Bytes, keep: usize) -> Response {
    let length = bytes.len();
    let mut head = Some(bytes.slice(..keep.min(length)));
    let mut paused = false;
    let stream = futures_util::stream::poll_fn(move |cx| {
        if let Some(head) = head.take() {
            return std::task::Poll::Ready(Some(Ok(head)));
        }
        if !paused {
            paused = true;
            cx.waker().wake_by_ref();
            return std::task::Poll::Pending;
        }
        std::task::Poll::Ready(Some(Err(std::io::Error::new(
            std::io::ErrorKind::ConnectionAborted,
            "truncate fault: the body is cut",
        ))))
    });
    let body = axum::body::Body::from_stream(stream);
    (
        [
            (header::CONTENT_TYPE, content_type),
            (header::CONTENT_LENGTH, length.to_string()),
        ],
        body,
    )
        .into_response()
}
