//! Attachments as the 3.6.3 SDK handles them (wire notes section 5): the upload of `conn.send`
//! for an `img` / `file` / `audio` / `video` message with a `file` and no `body.url` (`p()` at
//! bundle L2127 and `utils.uploadFile` at L10131), the body it then sends, the upload callbacks
//! (`onFileUploadComplete`, `onFileUploadError` with the SDK's types 101, 102 and 31), and
//! `utils.download` (L10199) for the `download` op. Where the guide says otherwise, this client
//! follows the guide: an answer that is not a success is `onFileDownloadError` (guide L590),
//! where 3.6.3 hands the error body to `onFileDownloadComplete`.
//!
//! Handlers stay free of I/O as in `connection.rs`: they queue an [`HttpJob`], `task.rs` runs it
//! with [`perform`] and hands the [`HttpDone`] back to [`Session::on_http_done`].

use super::connection::{Action, Session};
use super::faults::Fault;
use super::js;
use super::login;
use super::outgoing::{Body, Kind};
use crate::driver::protocol;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use serde_json::{Map, Value, json};

/// `WEBIM_UPLOADFILE_ERROR`.
const UPLOADFILE_ERROR: u64 = 101;
/// `WEBIM_UPLOADFILE_NO_LOGIN`.
const UPLOADFILE_NO_LOGIN: u64 = 102;
/// `WEBIM_CONNCTION_CALLBACK_INNER_ERROR`: what an exception in the SDK's own upload-complete
/// handler becomes.
const CALLBACK_INNER_ERROR: u64 = 31;
/// The type the `wrong-upload-error` switch reports instead.
const WRONG_UPLOAD_TYPE: u64 = 100;

/// An HTTP request a handler wants made.
#[derive(Debug)]
pub(super) enum HttpJob {
    /// The multipart `POST .../chatfiles` of an attachment message.
    Upload(Box<Upload>),
    /// `utils.download`: a GET whose body is the download when the answer is a success.
    Download {
        /// The `download` request.
        request: u64,
        /// The URL.
        url: String,
        /// The request headers, in the SDK's order.
        headers: Vec<(String, String)>,
        /// Whether the app hands the response to `parseDownloadResponse` (protocol 3).
        parse: bool,
    },
}

/// An attachment message waiting for its upload.
#[derive(Debug)]
pub(super) struct Upload {
    request: u64,
    kind: Kind,
    local: u64,
    args: Map<String, Value>,
    url: String,
    token: String,
    filename: String,
    mime: String,
    bytes: Vec<u8>,
    /// The length of the request body once sent: what the browser's last upload `progress`
    /// event reports as `loaded` and `total`.
    sent: usize,
}

/// The outcome of an [`HttpJob`].
#[derive(Debug)]
pub(super) enum HttpDone {
    /// The upload's HTTP status and body text, or the network error.
    Upload(Box<Upload>, Result<(u16, String), String>),
    /// The download's HTTP status and body, or the network error; whether to parse it.
    Download(u64, bool, Result<(u16, Vec<u8>), String>),
}

/// Runs one job (the socket owner's side).
pub(super) async fn perform(job: HttpJob) -> HttpDone {
    let client = match login::http_client() {
        Ok(client) => client,
        Err(e) => {
            return match job {
                HttpJob::Upload(u) => HttpDone::Upload(u, Err(e.to_string())),
                HttpJob::Download { request, parse, .. } => {
                    HttpDone::Download(request, parse, Err(e.to_string()))
                }
            };
        }
    };
    match job {
        HttpJob::Upload(mut upload) => {
            let (content_type, body) = multipart(&upload);
            upload.sent = body.len();
            let sent = client
                .post(&upload.url)
                .header("restrict-access", "true")
                .header("Accept", "*/*")
                .header("Authorization", format!("Bearer {}", upload.token))
                .header("Content-Type", content_type)
                .body(body)
                .send()
                .await;
            let outcome = match sent {
                Ok(response) => {
                    let status = response.status().as_u16();
                    response
                        .text()
                        .await
                        .map(|text| (status, text))
                        .map_err(|e| e.to_string())
                }
                Err(e) => Err(e.to_string()),
            };
            HttpDone::Upload(upload, outcome)
        }
        HttpJob::Download {
            request,
            url,
            headers,
            parse,
        } => {
            let mut builder = client.get(&url);
            for (name, value) in headers {
                builder = builder.header(name, value);
            }
            let outcome = match builder.send().await {
                Ok(response) => {
                    let status = response.status().as_u16();
                    response
                        .bytes()
                        .await
                        .map(|b| (status, b.to_vec()))
                        .map_err(|e| e.to_string())
                }
                Err(e) => Err(e.to_string()),
            };
            HttpDone::Download(request, parse, outcome)
        }
    }
}

/// The `FormData` body a browser sends for `p.append("file", file)`: one part named `file` with
/// the file's name and type (`application/octet-stream` when it has none), as `multipart/form-data`.
fn multipart(upload: &Upload) -> (String, Vec<u8>) {
    const BOUNDARY: &str = "----imspecFormBoundary7MA4YWxkTrZu0gW";
    let mime = if upload.mime.is_empty() {
        "application/octet-stream"
    } else {
        upload.mime.as_str()
    };
    let name = upload
        .filename
        .replace('"', "%22")
        .replace('\r', "%0D")
        .replace('\n', "%0A");
    let mut body = format!(
        "--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{name}\"\r\nContent-Type: {mime}\r\n\r\n"
    )
    .into_bytes();
    body.extend_from_slice(&upload.bytes);
    body.extend_from_slice(format!("\r\n--{BOUNDARY}--\r\n").as_bytes());
    (format!("multipart/form-data; boundary={BOUNDARY}"), body)
}

/// `N.parseJSON` of the response text: JSON, or nothing (the SDK then throws).
fn parse_json(text: &str) -> Option<Value> {
    serde_json::from_str(text.trim()).ok()
}

impl Session {
    /// `conn.send` of an attachment message with a `file` and no `body.url`: `p()` keeps the
    /// message and starts `uploadFile`. Returns false when the message needs no upload.
    pub(super) fn start_upload(
        &mut self,
        request: u64,
        kind: Kind,
        args: &Map<String, Value>,
    ) -> bool {
        let by_url = args.get("body").is_some_and(|b| js::truthy(b.get("url")));
        let Some(file) = args.get("file").filter(|_| kind.is_attachment() && !by_url) else {
            return false;
        };
        let local = self.unique_id();
        // {name, mime, base64}, or a generated file {name, mime, size} (protocol 3)
        let decoded = match protocol::generated_size(file) {
            Some(size) => size.ok().map(|n| Ok(protocol::generated_file(n))),
            None => file
                .get("base64")
                .and_then(Value::as_str)
                .map(|b| BASE64.decode(b)),
        };
        let Some(Ok(mut bytes)) = decoded else {
            let message = "\"file\" must be {name, mime, base64} or {name, mime, size}";
            self.out
                .err(request, json!({"type": "bad-request", "message": message}));
            return true;
        };
        // success / fail now wait for the ack of the message sent after the upload; after an
        // upload error the SDK calls neither, so the request is never answered
        if self.token.is_empty() || self.identity().is_none() {
            self.upload_error(
                local,
                request,
                json!({"type": UPLOADFILE_NO_LOGIN, "id": local}),
            );
            return true;
        }
        if bytes.is_empty() {
            self.upload_error(
                local,
                request,
                json!({"type": UPLOADFILE_ERROR, "id": local}),
            );
            return true;
        }
        if self.faults.has(Fault::CorruptUpload)
            && let Some(last) = bytes.last_mut()
        {
            *last ^= 0xff;
        }
        let app_key = self
            .identity()
            .and_then(|i| i.jid.app_key.clone())
            .unwrap_or_default();
        let (org, app) = app_key.split_once('#').unwrap_or((&app_key, ""));
        let api_url = args
            .get("apiUrl")
            .and_then(Value::as_str)
            .unwrap_or(&self.options.api_url);
        let upload = Upload {
            request,
            kind,
            local,
            args: args.clone(),
            url: format!("{api_url}/{org}/{app}/chatfiles"),
            token: self.token.clone(),
            filename: file
                .get("name")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string(),
            mime: file
                .get("mime")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string(),
            bytes,
            sent: 0,
        };
        self.actions
            .push(Action::Http(HttpJob::Upload(Box::new(upload))));
        true
    }

    /// `onFileUploadError(e)`, forwarded as the driver does: `{localId, ...e}`; the send request
    /// stays unanswered.
    fn upload_error(&mut self, local: u64, request: u64, mut e: Value) {
        if self.faults.has(Fault::WrongUploadError) {
            e["type"] = json!(WRONG_UPLOAD_TYPE);
        }
        let mut data = json!({"localId": local.to_string()});
        if let (Some(data), Some(e)) = (data.as_object_mut(), e.as_object()) {
            data.extend(e.clone());
        }
        self.out.pending.take(request);
        if !self.faults.has(Fault::SilentUploadError) {
            self.emit("onFileUploadError", Some(data));
        }
    }

    /// The `download` op: `utils.download` with the SDK's headers, the op's `headers` over them
    /// (a header with an empty value is not sent).
    pub(super) fn on_download(&mut self, request: u64, args: &Map<String, Value>) {
        if self.token.is_empty() {
            self.out.err(request, json!({"type": 201}));
            return;
        }
        let secret = args
            .get("secret")
            .filter(|s| js::truthy(Some(s)))
            .and_then(js_string);
        let mut headers: Vec<(String, Option<String>)> = vec![
            ("X-Requested-With".into(), Some("XMLHttpRequest".into())),
            ("Accept".into(), Some("application/octet-stream".into())),
            ("share-secret".into(), secret),
            (
                "Authorization".into(),
                Some(format!("Bearer {}", self.token))
                    .filter(|_| !self.faults.has(Fault::NoDownloadToken)),
            ),
        ];
        let given = args
            .get("headers")
            .filter(|_| !self.faults.has(Fault::DropDownloadHeaders));
        if let Some(Value::Object(given)) = given {
            for (name, value) in given {
                let value = js::truthy(Some(value)).then(|| js_string(value)).flatten();
                match headers.iter_mut().find(|(n, _)| n == name) {
                    Some(slot) => slot.1 = value,
                    None => headers.push((name.clone(), value)),
                }
            }
        }
        let url = args.get("url").and_then(js_string).unwrap_or_default();
        let headers = headers
            .into_iter()
            .filter_map(|(n, v)| v.map(|v| (n, v)))
            .collect();
        let parse = args
            .get("parseDownloadResponse")
            .is_some_and(|v| js::truthy(Some(v)));
        self.actions.push(Action::Http(HttpJob::Download {
            request,
            url,
            headers,
            parse,
        }));
    }

    /// A finished HTTP job.
    pub(super) fn on_http_done(&mut self, done: HttpDone) {
        match done {
            HttpDone::Download(request, parse, Ok((status, bytes)))
                if (200..300).contains(&status) =>
            {
                let result = self.download_complete(parse, &bytes);
                self.out.ok(request, result);
            }
            // The guide's download example has `onFileDownloadError` beside
            // `onFileDownloadComplete` (L583-590): an answer that is not the file (a 401 for a
            // missing token, a 403 for a wrong share-secret) is a failed download. 3.6.3 hands
            // the error body to `onFileDownloadComplete` instead (wire notes 5, "on `load` (any
            // status)").
            HttpDone::Download(request, parse, Ok((_, bytes)))
                if self.faults.has(Fault::DownloadErrorAsComplete) =>
            {
                let result = self.download_complete(parse, &bytes);
                self.out.ok(request, result);
            }
            HttpDone::Download(request, _, Ok(_)) => {
                self.out.err(request, json!({"type": 200}));
            }
            HttpDone::Download(request, parse, Err(_))
                if self.faults.has(Fault::DownloadErrorAsComplete) =>
            {
                let result = self.download_complete(parse, &[]);
                self.out.ok(request, result);
            }
            HttpDone::Download(request, _, Err(why)) => {
                eprintln!(
                    "[imspec-reference] {}: download failed: {why}",
                    self.out.user
                );
                self.out
                    .err(request, json!({"type": 200, "data": {"xhr": {}}}));
            }
            HttpDone::Upload(upload, outcome) => self.on_uploaded(*upload, outcome),
        }
    }

    /// `onFileDownloadComplete(response)`: `{base64}`, or with `parseDownloadResponse`
    /// `{objectUrl, base64}`, the object URL the SDK makes of the blob (`URL.createObjectURL`)
    /// and the bytes it resolves to.
    fn download_complete(&mut self, parse: bool, bytes: &[u8]) -> Value {
        let base64 = BASE64.encode(bytes);
        if !parse {
            return json!({ "base64": base64 });
        }
        let n = self.unique_id();
        json!({"objectUrl": format!("blob:imspec-reference/{n:x}"), "base64": base64})
    }

    /// The `load` / `error` listeners of `uploadFile`, then the SDK's own
    /// `onFileUploadComplete` wrapper: build `body`, send the message, call the app's callback.
    fn on_uploaded(&mut self, upload: Upload, outcome: Result<(u16, String), String>) {
        let (request, local) = (upload.request, upload.local);
        // the body went out: XHR's upload `progress` (the last one: everything sent), before `load`
        if outcome.is_ok() && !self.faults.has(Fault::NoUploadProgress) {
            let data = json!({"localId": local.to_string(), "isTrusted": true, "type": "progress",
                "lengthComputable": true, "loaded": upload.sent, "total": upload.sent});
            self.emit("onFileUploadProgress", Some(data));
        }
        let (status, text) = match outcome {
            Ok(answer) => answer,
            Err(why) => {
                eprintln!("[imspec-reference] {}: upload failed: {why}", self.out.user);
                let e = json!({"type": UPLOADFILE_ERROR, "id": local, "xhr": {}});
                return self.upload_error(local, request, e);
            }
        };
        let Some(response) = parse_json(&text) else {
            let e = json!({"type": UPLOADFILE_ERROR, "data": text, "id": local, "xhr": {}});
            return self.upload_error(local, request, e);
        };
        if status == 400
            && response.get("error").and_then(Value::as_str) == Some("content improper")
        {
            let e = json!({"type": UPLOADFILE_ERROR, "data": response});
            return self.upload_error(local, request, e);
        }
        // `r.entities[0]["file-metadata"]` throws on any other answer
        let entity = match &response {
            Value::Null => Err("Cannot read properties of null (reading 'entities')"),
            v => match v.get("entities") {
                None | Some(Value::Null) => {
                    Err("Cannot read properties of undefined (reading '0')")
                }
                Some(list) => list
                    .get(0)
                    .filter(|e| !e.is_null())
                    .ok_or("Cannot read properties of undefined (reading 'file-metadata')"),
            },
        };
        let entity = match entity {
            Ok(entity) => entity.clone(),
            Err(message) => {
                let data = json!({"name": "TypeError", "message": message});
                let e = json!({"type": CALLBACK_INNER_ERROR, "data": data});
                return self.upload_error(local, request, e);
            }
        };
        let uri = response
            .get("uri")
            .and_then(js_string)
            .unwrap_or_else(|| "undefined".into());
        let uuid = entity
            .get("uuid")
            .and_then(js_string)
            .unwrap_or_else(|| "undefined".into());
        let args = &upload.args;
        let number_or_zero = |v: Option<&Value>| {
            if js::truthy(v) {
                v.cloned().unwrap_or(json!(0))
            } else {
                json!(0)
            }
        };
        let image = upload.kind == Kind::Img;
        let timed = matches!(upload.kind, Kind::Audio | Kind::Video);
        let file_length = args.get("ext").and_then(|e| e.get("file_length"));
        let mut body = json!({
            "type": match upload.kind {
                Kind::Img => "img",
                Kind::Audio => "audio",
                Kind::Video => "video",
                _ => "file",
            },
            "url": format!("{uri}/{uuid}"),
            "size": {
                "width": if image { number_or_zero(args.get("width")) } else { json!(0) },
                "height": if image { number_or_zero(args.get("height")) } else { json!(0) },
            },
            "length": if timed { number_or_zero(args.get("length")) } else { json!(0) },
            "file_length": number_or_zero(file_length),
        });
        if let Some(secret) = entity.get("share-secret") {
            body["secret"] = secret.clone();
        }
        body["filename"] = json!(upload.filename);
        let mut options = upload.args.clone();
        options.remove("file");
        options.insert("body".into(), body);
        let message = Body::set(upload.kind, local, &options);
        self.send_body(request, message, false);
        if !self.faults.has(Fault::NoUploadComplete) {
            let mut data = json!({"localId": local.to_string()});
            if let (Some(data), Some(r)) = (data.as_object_mut(), response.as_object()) {
                data.extend(r.clone());
            }
            self.emit("onFileUploadComplete", Some(data));
        }
    }
}

/// `String(v)` for the values a URL or header can be made of.
fn js_string(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(js::number_to_string(n)),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}
