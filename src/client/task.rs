//! The task that owns one user's socket: login, then a loop over SockJS frames, requests and
//! timers. Each SockJS message is handled to the end before anything else, and the frames its
//! handlers queued are written before the next iteration, so a DL's callbacks and its key ack
//! always come before the next request is looked at.

use super::attachments::{self, HttpDone};
use super::connection::{Action, Command, Session, Sock};
use super::faults::{Fault, Faults};
use super::js;
use super::login::{self, TokenAnswer, Ws};
use super::options::ConnectOptions;
use super::output::UserOut;
use crate::wire::frame;
use crate::wire::sockjs::{self, ServerFrame};
use futures_util::{SinkExt as _, StreamExt as _};
use serde_json::json;
use tokio::sync::mpsc;
use tokio::time::Instant;
use tokio_tungstenite::tungstenite::Message;

async fn sleep_until(at: Option<Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}

async fn next_message(ws: &mut Option<Ws>) -> Option<Result<Message, String>> {
    match ws {
        Some(ws) => ws.next().await.map(|r| r.map_err(|e| e.to_string())),
        None => std::future::pending().await,
    }
}

/// Writes the frames the handlers queued, starts their HTTP jobs (each answers on `http`); a
/// close ends the socket (then `onClosed`). Returns how many HTTP jobs it started.
async fn flush(
    session: &mut Session,
    ws: &mut Option<Ws>,
    http: &mpsc::UnboundedSender<HttpDone>,
) -> usize {
    let mut started = 0;
    for action in std::mem::take(&mut session.actions) {
        match action {
            Action::Http(job) => {
                let http = http.clone();
                started += 1;
                tokio::spawn(async move {
                    let _ = http.send(attachments::perform(job).await);
                });
            }
            Action::Frame(msync) => {
                let Some(socket) = ws.as_mut() else { continue };
                let text = sockjs::encode_client(&[frame::encode_base64_msync(&msync)]);
                if let Err(e) = socket.send(Message::text(text)).await {
                    eprintln!("[imspec-reference] {}: send failed: {e}", session.out.user);
                }
            }
            Action::Close => {
                if let Some(mut socket) = ws.take() {
                    let _ = socket.close(None).await;
                }
                session.sock = Sock::Closed;
                if !session.faults.has(Fault::NoClosed) {
                    session.emit("onClosed", None);
                }
            }
        }
    }
    started
}

/// Runs one connection: `connect` request `id`, then requests from `commands` until the
/// channel closes.
pub async fn run(
    out: UserOut,
    id: u64,
    options: ConnectOptions,
    faults: Faults,
    mut commands: mpsc::UnboundedReceiver<Command>,
) {
    let mut session = Session::new(out, options, faults, id);
    let (http, mut http_done) = mpsc::unbounded_channel();
    let mut ws = login_and_open(&mut session).await;
    // HTTP jobs started and not answered yet, and the `sync` requests waiting until none is
    let mut in_flight = flush(&mut session, &mut ws, &http).await;
    let mut syncs = Vec::new();
    loop {
        let heartbeat_at = session.heartbeat_at;
        let q_timer_at = session.q_timer.as_ref().map(|(at, _)| *at);
        let reconnect_at = session.reconnect_at;
        tokio::select! {
            biased;
            message = next_message(&mut ws) => on_socket(&mut session, &mut ws, message).await,
            command = commands.recv() => match command {
                Some(Command::History { id, args }) => session.fetch_history(id, &args).await,
                Some(Command::Sessions { id }) => session.session_list(id).await,
                Some(Command::Sync { done }) => syncs.push(done),
                Some(command) => session.on_command(command),
                None => break,
            },
            () = sleep_until(heartbeat_at) => session.on_heartbeat(),
            () = sleep_until(q_timer_at) => session.on_q_timer(),
            () = sleep_until(reconnect_at) => reconnect(&mut session, &mut ws).await,
            Some(done) = http_done.recv() => {
                in_flight = in_flight.saturating_sub(1);
                session.on_http_done(done);
            }
        }
        in_flight += flush(&mut session, &mut ws, &http).await;
        if in_flight == 0 {
            for done in syncs.drain(..) {
                let _ = done.send(());
            }
        }
    }
}

async fn on_socket(
    session: &mut Session,
    ws: &mut Option<Ws>,
    message: Option<Result<Message, String>>,
) {
    let text = match message {
        Some(Ok(Message::Text(text))) => text.to_string(),
        Some(Ok(Message::Ping(_) | Message::Pong(_) | Message::Frame(_))) => return,
        Some(Ok(Message::Binary(_))) => {
            eprintln!("[imspec-reference] binary WebSocket message ignored (SockJS is text)");
            return;
        }
        Some(Ok(Message::Close(_))) | None | Some(Err(_)) => {
            *ws = None;
            session.on_close();
            return;
        }
    };
    match ServerFrame::parse(&text) {
        Ok(ServerFrame::Messages(messages)) => {
            for m in messages {
                session.on_message(&m, login::now_ms());
            }
        }
        Ok(ServerFrame::Close { .. }) => {
            if let Some(mut socket) = ws.take() {
                let _ = socket.close(None).await;
            }
            session.on_close();
        }
        Ok(ServerFrame::Open | ServerFrame::Heartbeat) => {}
        Err(e) => eprintln!("[imspec-reference] {}: {e}", session.out.user),
    }
}

/// Validation, token, SockJS, PROVISION: everything up to waiting for the PROVISION answer.
async fn login_and_open(session: &mut Session) -> Option<Ws> {
    let (org, app) = session.validate()?;
    let username = session.out.user.clone();
    let answer = login::request_token(
        &session.options.api_url,
        &org,
        &app,
        &username,
        session.options.password.clone(),
    )
    .await;
    let granted = match answer {
        TokenAnswer::Granted(json) => json,
        TokenAnswer::Refused { body } => {
            session.token_refused(body);
            return None;
        }
        TokenAnswer::Silent(why) => {
            eprintln!("[imspec-reference] {username}: token request failed silently: {why}");
            return None;
        }
    };
    let access_token = granted.get("access_token").cloned();
    session.token = match &access_token {
        None => "undefined".to_string(),
        Some(v) => js::proto_string(Some(v)).unwrap_or_else(|| "null".to_string()),
    };
    let ws = login::open_sockjs(&session.options.url).await;
    if !js::truthy(access_token.as_ref()) {
        let data = json!({"type": 3, "message": "token not assign error", "data": granted});
        session.emit("onError", Some(data));
    }
    match ws {
        Ok(ws) => {
            session.on_open(login::now_ms());
            Some(ws)
        }
        Err(e) => {
            eprintln!("[imspec-reference] {username}: {e}");
            session.sock = Sock::Closed;
            session.on_close();
            None
        }
    }
}

/// The timer of `reconnect()`: `_login({access_token})` on a new SockJS session.
async fn reconnect(session: &mut Session, ws: &mut Option<Ws>) {
    session.reconnect_at = None;
    if session.sock == Sock::Open {
        return;
    }
    session.reconnect_times += 1;
    match login::open_sockjs(&session.options.url).await {
        Ok(socket) => {
            *ws = Some(socket);
            session.on_open(login::now_ms());
        }
        Err(e) => {
            eprintln!(
                "[imspec-reference] {}: reconnect failed: {e}",
                session.out.user
            );
            session.on_close();
        }
    }
}
