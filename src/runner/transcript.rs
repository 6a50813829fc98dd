//! A scenario's transcript: every frame, HTTP exchange and driver line of the run, sorted into
//! lanes that do not race with each other, normalised so that two runs of the same client (and
//! two clients that behave alike) give the same text.
//!
//! Lanes: `http` (in order), then per user: `driver` (requests, replies, events), `session`
//! (PROVISION, UNREAD, STATISTIC metas and their answers: the SDK's housekeeping, whose timing
//! against pushed messages is not fixed) and `messages` (everything else on the socket).
//! Normalisation replaces ids, timestamps, resources, tokens and uuids by placeholders numbered
//! in order of first appearance (`<id-3>`), and the server's port by `<port>`.

use crate::driver::LogEntry;
use crate::server::observe::{Observation, ObservationKind, TransportWhat};
use crate::wire::Direction;
use serde_json::Value;
use std::collections::{BTreeMap, HashMap, HashSet};

/// Builds the normalised transcript text; the client's identity (what its `hello` and its
/// PROVISION say it is) is replaced by placeholders (`runner::identity`).
pub fn build(
    observations: &[Observation],
    log: &[LogEntry],
    port: u16,
    hello: Option<&crate::driver::Hello>,
) -> String {
    let identity = super::identity::Identity::of(observations, hello);
    let mut normaliser = Normaliser::new(port);
    let mut out = String::new();
    let mut scope = String::new();
    for (title, lines) in lanes(observations, log) {
        // Placeholders are numbered per user (and for `http`): within one client's lanes every
        // id is unique, while two clients may pick the same local id in the same millisecond.
        let owner = title.split(": ").next().unwrap_or_default().to_string();
        if owner != scope {
            normaliser.new_scope();
            scope = owner;
        }
        if lines.is_empty() {
            continue;
        }
        out.push_str(&format!("== {title}\n"));
        for (prefix, value) in lines {
            let value = normaliser.value(value, None);
            let text = match &value {
                Value::Null => String::new(),
                Value::String(s) => format!(" {s}"),
                other => format!(" {other}"),
            };
            out.push_str(&identity.normalise_line(&normaliser.text(&format!("{prefix}{text}"))));
            out.push('\n');
        }
        out.push('\n');
    }
    out
}

/// What stands for the decoder's exception in an `onError` 604.
const DECODER_EXCEPTION: &str = "<the decoder's exception>";

/// An `onError` 604 ("decode message error") carries the decoder's own exception as `data`
/// (wire notes 7: `data:err`): its name and text are the protobuf library's wording
/// (protobufjs: `RangeError: index out of range`), not a behaviour, so the transcript keeps
/// only that there was one.
fn decoder_error_hidden(event: &str, data: &Value) -> Value {
    let mut data = data.clone();
    if event == "onError"
        && data.get("type") == Some(&Value::from(604))
        && let Some(exception) = data.get_mut("data").filter(|d| d.is_object())
    {
        *exception = Value::String(DECODER_EXCEPTION.into());
    }
    data
}

type Lines = Vec<(String, Value)>;

fn lanes(observations: &[Observation], log: &[LogEntry]) -> Vec<(String, Lines)> {
    // Which user each socket belongs to, known once its PROVISION named one.
    let mut conn_user: HashMap<u64, String> = HashMap::new();
    for o in observations {
        if let ObservationKind::Frame(f) = &o.kind
            && let Some(user) = &f.user
        {
            conn_user.entry(f.conn).or_insert_with(|| user.clone());
        }
    }
    let lane_of = |conn: u64| {
        conn_user
            .get(&conn)
            .cloned()
            .unwrap_or_else(|| format!("(socket {conn})"))
    };

    let mut http = Lines::new();
    let mut per_user: BTreeMap<String, [Lines; 3]> = BTreeMap::new();
    let mut statistic_ids: HashSet<(u64, String)> = HashSet::new();
    for o in observations {
        match &o.kind {
            ObservationKind::Http(h) => {
                let query = h
                    .query
                    .as_ref()
                    .map(|q| format!("?{q}"))
                    .unwrap_or_default();
                let mut request = h.request.clone();
                // The token request carries the client's wall clock.
                if let Some(time) = request.get_mut("timestamp") {
                    *time = Value::from(CLIENT_TIME);
                }
                http.push((
                    format!("{} {}{query}", h.method, h.path),
                    serde_json::json!({"request": request, "status": h.status, "response": h.response}),
                ));
            }
            ObservationKind::Frame(f) if is_barrier(&f.view) => {}
            ObservationKind::Frame(f) => {
                let housekeeping =
                    is_housekeeping(f.direction, &f.view, f.conn, &mut statistic_ids);
                let command = f
                    .view
                    .get("command")
                    .and_then(Value::as_str)
                    .unwrap_or("SYNC");
                let lanes = per_user.entry(lane_of(f.conn)).or_default();
                lanes[if housekeeping { 1 } else { 2 }].push((
                    format!("{} {command}", f.direction.as_str()),
                    f.view.clone(),
                ));
            }
            ObservationKind::Transport(t) => {
                let text = match &t.what {
                    // When the server notices a client's open or close races with the driver's
                    // replies and with teardown; the frames tell the story.
                    TransportWhat::Opened { .. } | TransportWhat::ClosedByClient => continue,
                    TransportWhat::ClosedByServer { code, reason } => {
                        format!("socket closed by server ({code} {reason:?})")
                    }
                    TransportWhat::BadFrame { error, text } => {
                        format!("bad frame: {error}: {text:?}")
                    }
                };
                per_user.entry(lane_of(t.conn)).or_default()[2]
                    .push((format!("-- {text}"), Value::Null));
            }
        }
    }

    let mut request_user: HashMap<u64, Option<String>> = HashMap::new();
    let mut shutting_down = false;
    for entry in log {
        let (user, line) = match entry {
            // Replies a driver gives once asked to shut down or reset (to requests the SDK
            // never settled, a muted send say) are not part of the scenario; events still are.
            LogEntry::Request(r) if r.op == "shutdown" || r.op == "reset" => {
                shutting_down = true;
                continue;
            }
            LogEntry::Reply(_) if shutting_down => continue,
            // Upload progress: how many events and at which byte counts depend on the transport's
            // chunking and the client's multipart boundary (xhr2 in Node fires none); scenarios
            // check it with `<at-least N>`, the transcript leaves it out.
            LogEntry::Event(e) if e.event == "onFileUploadProgress" => continue,
            // The harness's own requests: a `fire-timer` stands for time passing, a `sync` for
            // settling, not for something the scenario asked of the client.
            LogEntry::Request(r) if r.op == "hello" || r.op == "fire-timer" || r.op == "sync" => {
                request_user.insert(r.id, None);
                continue;
            }
            LogEntry::Request(r) => {
                request_user.insert(r.id, r.user.clone());
                (r.user.clone(), (format!("> {}", r.op), r.args.clone()))
            }
            LogEntry::Reply(r) => {
                let Some(user) = request_user.get(&r.id).cloned() else {
                    continue;
                };
                let Some(user) = user else { continue };
                let line = if r.ok {
                    ("< ok".to_string(), r.result.clone().unwrap_or(Value::Null))
                } else {
                    (
                        "< error".to_string(),
                        serde_json::to_value(&r.error).unwrap_or(Value::Null),
                    )
                };
                (Some(user), line)
            }
            LogEntry::Event(e) => (
                e.user.clone(),
                (
                    format!("* {}", e.event),
                    decoder_error_hidden(&e.event, &e.data),
                ),
            ),
        };
        let user = user.unwrap_or_else(|| "(no user)".to_string());
        per_user.entry(user).or_default()[0].push(line);
    }

    let mut out = vec![("http".to_string(), http)];
    for (user, [driver, session, messages]) in per_user {
        out.push((format!("{user}: driver"), driver));
        out.push((format!("{user}: session"), distinct_housekeeping(session)));
        out.push((format!("{user}: messages"), messages));
    }
    out
}

/// Frames of the runner's settle barrier (`Control::settle_all`): the NOTICE, the pull, the
/// answer.
pub(crate) fn is_barrier(view: &Value) -> bool {
    crate::server::is_barrier_frame(view)
}

/// The session lane with each distinct housekeeping frame once. How many STATISTIC metas and
/// UNREAD heartbeats a client sends before a scenario ends depends on timing, so their ids and
/// timestamps are masked and repeats dropped; what they look like still counts.
fn distinct_housekeeping(lines: Lines) -> Lines {
    let mut out: Lines = Vec::new();
    for (prefix, mut view) in lines {
        if let Some(meta) = view
            .pointer_mut("/payload/CommSyncUL/meta")
            .and_then(Value::as_object_mut)
        {
            meta.insert("id".into(), Value::from("<statistic>"));
        }
        if let Some(ack) = view
            .pointer_mut("/payload/CommSyncDL")
            .and_then(Value::as_object_mut)
        {
            for (key, mask) in [
                ("metaId", "<statistic>"),
                ("serverId", "<statistic-ack>"),
                ("timestamp", "<now>"),
            ] {
                if ack.contains_key(key) {
                    ack.insert(key.into(), Value::from(mask));
                }
            }
        }
        if let Some(unread) = view
            .pointer_mut("/payload/CommUnreadDL")
            .and_then(Value::as_object_mut)
            && unread.contains_key("timestamp")
        {
            unread.insert("timestamp".into(), Value::from("<now>"));
        }
        let line = (prefix, view);
        if !out.contains(&line) {
            out.push(line);
        }
    }
    out
}

/// PROVISION, UNREAD, STATISTIC metas the client sends, and the server's answers to them.
fn is_housekeeping(
    direction: Direction,
    view: &Value,
    conn: u64,
    statistic_ids: &mut HashSet<(u64, String)>,
) -> bool {
    match view.get("command").and_then(Value::as_str) {
        Some("PROVISION") | Some("UNREAD") => return true,
        Some("NOTICE") => return false,
        _ => {}
    }
    let payload = &view["payload"];
    match direction {
        Direction::ClientToServer => {
            let meta = &payload["CommSyncUL"]["meta"];
            let is_statistic = meta.is_object()
                && matches!(
                    meta.get("ns").and_then(Value::as_str),
                    None | Some("STATISTIC")
                );
            if is_statistic && let Some(id) = meta.get("id").and_then(Value::as_str) {
                statistic_ids.insert((conn, id.to_string()));
            }
            is_statistic
        }
        Direction::ServerToClient => payload["CommSyncDL"]
            .get("metaId")
            .and_then(Value::as_str)
            .is_some_and(|id| statistic_ids.contains(&(conn, id.to_string()))),
    }
}

/// The mask of a value taken from the client's wall clock.
const CLIENT_TIME: &str = "<client-time>";

/// How a field's value is made stable.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Kind {
    /// Message ids (local and server): numbered `<id-N>`.
    Id,
    /// Server timestamps (virtual clock): numbered `<ts-N>`.
    Time,
    /// Tokens: numbered `<token-N>`.
    Token,
    /// User uuids: numbered `<uuid-N>`.
    Uuid,
    /// Resources and device uuids (`webim_<ms>`): the clock digits masked.
    Resource,
    /// The client's wall clock: masked.
    ClientTime,
    /// 4.x `MSync.traceId`, a snowflake id on every frame: masked.
    Trace,
    /// 4.x `Provision.authToken`, JSON text holding the token: normalised inside.
    AuthToken,
    /// A `download` reply's `objectUrl` (`URL.createObjectURL`, random per run): numbered
    /// `<object-url-N>`.
    ObjectUrl,
}

/// Replaces run-specific values by stable placeholders.
struct Normaliser {
    port: String,
    seen: HashMap<(Kind, String), usize>,
    counts: HashMap<Kind, usize>,
}

impl Normaliser {
    fn new(port: u16) -> Self {
        Normaliser {
            port: format!("127.0.0.1:{port}"),
            seen: HashMap::new(),
            counts: HashMap::new(),
        }
    }

    /// Starts numbering placeholders afresh.
    fn new_scope(&mut self) {
        self.seen.clear();
        self.counts.clear();
    }

    fn kind_of(key: &str) -> Option<Kind> {
        Some(match key {
            "id" | "metaId" | "serverId" | "nextKey" | "key" | "ackMessageId" | "mid"
            | "localId" | "serverMsgId" | "msgId" | "ackId" | "next_key" => Kind::Id,
            "timestamp" | "time" | "created" | "modified" => Kind::Time,
            "clientResource" | "resource" | "deviceUuid" | "sessionId" => Kind::Resource,
            "access_token" | "token" | "auth" | "accessToken" => Kind::Token,
            "uuid" => Kind::Uuid,
            // `elapse`: the 4.x SDK's own measure of an HTTP request's duration.
            "timeStamp" | "elapse" => Kind::ClientTime,
            "traceId" => Kind::Trace,
            "authToken" => Kind::AuthToken,
            "objectUrl" => Kind::ObjectUrl,
            _ => return None,
        })
    }

    fn placeholder(&mut self, kind: Kind, raw: &str) -> String {
        let label = match kind {
            Kind::Id => "id",
            Kind::Time => "ts",
            Kind::Token => "token",
            Kind::Uuid => "uuid",
            Kind::ObjectUrl => "object-url",
            Kind::ClientTime => return CLIENT_TIME.to_string(),
            Kind::Trace => return "<trace>".to_string(),
            Kind::AuthToken => {
                return match serde_json::from_str::<Value>(raw) {
                    Ok(inner) => self.value(inner, None).to_string(),
                    Err(_) => raw.to_string(),
                };
            }
            Kind::Resource => return mask_digits(raw),
        };
        let next = self.counts.get(&kind).copied().unwrap_or(0) + 1;
        let n = *self.seen.entry((kind, raw.to_string())).or_insert_with(|| {
            self.counts.insert(kind, next);
            next
        });
        format!("<{label}-{n}>")
    }

    fn value(&mut self, value: Value, key: Option<&str>) -> Value {
        match value {
            Value::Object(map) => Value::Object(
                map.into_iter()
                    .map(|(k, v)| {
                        let v = self.value(v, Some(&k));
                        (k, v)
                    })
                    .collect(),
            ),
            Value::Array(items) => {
                Value::Array(items.into_iter().map(|v| self.value(v, key)).collect())
            }
            Value::String(s) if s.starts_with('<') && s.ends_with('>') => Value::String(s),
            // A server message id is drawn from one counter by every connection of the run, in
            // an order that races between users: wherever it appears (a driver's request args,
            // a REST roaming cursor), it is numbered like the ids beside it.
            Value::String(s) if is_server_id(&s) => Value::String(self.placeholder(Kind::Id, &s)),
            Value::Number(n) if is_server_id(&n.to_string()) => {
                Value::String(self.placeholder(Kind::Id, &n.to_string()))
            }
            Value::String(s) => match key.and_then(Self::kind_of) {
                // Ids are decimal numbers; `key` is also the name of an `ext` entry.
                Some(Kind::Id) if !s.bytes().all(|b| b.is_ascii_digit()) => {
                    Value::String(self.text(&s))
                }
                Some(kind) if !(s.is_empty() || s == "0") => {
                    let (prefix, raw) = s
                        .strip_prefix("$t$")
                        .map_or(("", s.as_str()), |r| ("$t$", r));
                    Value::String(format!("{prefix}{}", self.placeholder(kind, raw)))
                }
                _ => Value::String(self.text(&s)),
            },
            Value::Number(n) => match key.and_then(Self::kind_of) {
                Some(kind) if n.as_f64() != Some(0.0) => {
                    Value::String(self.placeholder(kind, &n.to_string()))
                }
                _ => Value::Number(n),
            },
            other => other,
        }
    }

    fn text(&mut self, text: &str) -> String {
        let text = text.replace(&self.port, "127.0.0.1:<port>");
        let text = self.server_ids_in(&text);
        // A full JID written as text (`org#app_alice@easemob.com/webim_1795626764299`, the
        // conversation list) carries the clock-derived resource too.
        let text = mask_resources(&text);
        // SockJS's cache buster: `/ws/info?t=<ms>`.
        match text.find("?t=") {
            Some(at) => {
                let digits = text[at + 3..]
                    .chars()
                    .take_while(char::is_ascii_digit)
                    .count();
                format!(
                    "{}?t={CLIENT_TIME}{}",
                    &text[..at],
                    &text[at + 3 + digits..]
                )
            }
            None => text,
        }
    }
}

impl Normaliser {
    /// Every server message id written inside a longer text, numbered as [`Kind::Id`].
    fn server_ids_in(&mut self, text: &str) -> String {
        let mut out = String::new();
        let mut rest = text;
        while let Some(at) = rest.find(SERVER_ID_PREFIX) {
            let (before, from) = rest.split_at(at);
            let digits = from.bytes().take_while(u8::is_ascii_digit).count();
            let preceded = before.bytes().last().is_some_and(|b| b.is_ascii_digit());
            out.push_str(before);
            if !preceded && is_server_id(&from[..digits]) {
                out.push_str(&self.placeholder(Kind::Id, &from[..digits]));
            } else {
                out.push_str(&from[..digits]);
            }
            rest = &from[digits..];
        }
        out.push_str(rest);
        out
    }
}

/// How every server message id starts (`900000000000000001`: `server::world`'s base).
const SERVER_ID_PREFIX: &str = "9000000000";

/// Whether `text` is a server message id: 18 digits from the server's base.
fn is_server_id(text: &str) -> bool {
    text.len() == 18
        && text.starts_with(SERVER_ID_PREFIX)
        && text.bytes().all(|b| b.is_ascii_digit())
}

/// Every `webim_<digits>` (3.x) or `webim_web_<digits>` (4.x) inside a longer text masked as
/// [`mask_digits`] masks a resource.
fn mask_resources(text: &str) -> String {
    let mut out = String::new();
    let mut rest = text;
    while let Some(at) = rest.find("webim_") {
        let (mut before, mut after) = rest.split_at(at + "webim_".len());
        if after.starts_with("web_") {
            (before, after) = rest.split_at(at + "webim_web_".len());
        }
        out.push_str(before);
        let digits = after.chars().take_while(char::is_ascii_digit).count();
        out.push_str(&mask_digits(&after[..digits]));
        rest = &after[digits..];
    }
    out.push_str(rest);
    out
}

/// `webim_1795626764299` → `webim_<ms>`: runs of six or more digits are a clock reading.
fn mask_digits(raw: &str) -> String {
    let mut out = String::new();
    let mut digits = String::new();
    for c in raw.chars().map(Some).chain([None]) {
        if let Some(d) = c.filter(char::is_ascii_digit) {
            digits.push(d);
            continue;
        }
        out.push_str(if digits.len() >= 6 { "<ms>" } else { &digits });
        digits.clear();
        out.extend(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_decode_errors_exception_is_hidden_and_nothing_else() {
        let thrown = json!({"type": 604, "message": "decode message error",
                            "data": {"name": "RangeError", "message": "index out of range: 1 + 1 > 1"}});
        assert_eq!(
            decoder_error_hidden("onError", &thrown),
            json!({"type": 604, "message": "decode message error", "data": DECODER_EXCEPTION})
        );
        let other =
            json!({"type": 16, "message": "websocket has been disconnected", "data": {"x": 1}});
        assert_eq!(decoder_error_hidden("onError", &other), other);
        assert_eq!(decoder_error_hidden("onTextMessage", &thrown), thrown);
    }

    #[test]
    fn the_4x_provision_trace_ids_and_resources_are_normalised() {
        let mut n = Normaliser::new(4000);
        let v = n.value(
            json!({"auth": "$t$TOK", "traceId": "7531448223555129344", "sessionId": "1795637184033:",
                   "authToken": "{\"token\":\"$t$TOK\"}", "resource": "webim_web_1795637184033",
                   "elapse": 23, "from": "org#app_carol@easemob.com/webim_web_1795637394550"}),
            None,
        );
        assert_eq!(
            v,
            json!({"auth": "$t$<token-1>", "traceId": "<trace>", "sessionId": "<ms>:",
                   "authToken": "{\"token\":\"$t$<token-1>\"}", "resource": "webim_web_<ms>",
                   "elapse": "<client-time>", "from": "org#app_carol@easemob.com/webim_web_<ms>"})
        );
    }

    #[test]
    fn server_ids_are_numbered_wherever_they_appear() {
        let mut n = Normaliser::new(4000);
        // The driver's request line of `receipts/delivery`: `ackId` is the server id the
        // event before it carried; it must get the same placeholder, whichever counter value
        // the run drew.
        let event = n.value(json!({"id": "900000000000000004", "from": "alice"}), None);
        let request = n.value(
            json!({"to": "alice", "type": "delivery", "ackId": "900000000000000004"}),
            None,
        );
        assert_eq!(event["id"], "<id-1>");
        assert_eq!(request["ackId"], "<id-1>");
        let cursor = n.value(
            json!({"next_key": "900000000000000007", "start": "900000000000000007"}),
            None,
        );
        assert_eq!(cursor, json!({"next_key": "<id-2>", "start": "<id-2>"}));
        assert_eq!(
            n.text("recall 900000000000000004 and 9000000000000000041 1900000000000000004"),
            "recall <id-1> and 9000000000000000041 1900000000000000004"
        );
    }

    #[test]
    fn same_values_get_same_placeholders_in_order_of_appearance() {
        let mut n = Normaliser::new(4000);
        let v = n.value(
            json!({"metaId": "5306", "serverId": "9001", "mid": "9001", "timestamp": "17", "nextKey": "0",
                   "auth": "$t$TOK", "url": "http://127.0.0.1:4000/ws", "n": 3, "key": "ext-name",
                   "resource": "webim_1795626764299", "deviceUuid": "1795626764299", "timeStamp": 1795626764300_u64}),
            None,
        );
        assert_eq!(
            v,
            json!({"metaId": "<id-1>", "serverId": "<id-2>", "mid": "<id-2>", "timestamp": "<ts-1>", "nextKey": "0",
                   "auth": "$t$<token-1>", "url": "http://127.0.0.1:<port>/ws", "n": 3, "key": "ext-name",
                   "resource": "webim_<ms>", "deviceUuid": "<ms>", "timeStamp": "<client-time>"})
        );
        assert_eq!(
            n.text("GET /ws/info?t=1795 x"),
            "GET /ws/info?t=<client-time> x"
        );
        n.new_scope();
        assert_eq!(n.value(json!({"id": "77"}), None), json!({"id": "<id-1>"}));
    }
}
