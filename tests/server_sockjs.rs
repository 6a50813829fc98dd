//! The fake server over real sockets: token login over HTTP, SockJS WebSocket sessions, a text
//! from alice to bob (NOTICE → pull → metas → key → isLast), the recorder's order, bad frames,
//! the raw WebSocket endpoint (with the 4.x LZ4 uplink) and the scripted controls.

use futures_util::{SinkExt as _, StreamExt as _};
use imspec::server::observe::{ObservationKind, Transport, TransportWhat};
use imspec::server::{
    BARRIER_QUEUE, ChatType, FakeServer, Fault, FaultAction, FaultTrigger, RENOTIFY_AFTER,
    ScriptedMessage, ServerError, UserSpec, WorldSpec,
};
use imspec::wire::pb::{
    self, CommSyncDl, CommSyncUl, CommUnreadDl, MessageBody, Meta, Provision, m_sync::Command,
    meta::NameSpace, provision::CompressType,
};
use imspec::wire::sockjs::{self, ServerFrame};
use imspec::wire::{Direction, jid};
use imspec::wire::{frame, lz4};
use prost::Message as _;
use serde_json::{Value, json};
use std::time::Duration;
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

const WAIT: Duration = Duration::from_secs(5);

fn world() -> WorldSpec {
    let mut spec = WorldSpec::default();
    for name in ["alice", "bob"] {
        let user = UserSpec {
            password: format!("{name}-pw"),
            token_expired: false,
            ..Default::default()
        };
        spec.users.insert(name.to_string(), user);
    }
    spec
}

async fn token(server: &FakeServer, user: &str) -> String {
    let url = format!("{}/org/app/token", server.urls().api);
    let body = json!({"grant_type": "password", "username": user, "password": format!("{user}-pw"), "timestamp": 1});
    let reply: Value = reqwest::Client::new()
        .post(url)
        .json(&body)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    reply["access_token"].as_str().unwrap().to_string()
}

/// A client socket on either transport.
struct Client {
    ws: WebSocketStream<MaybeTlsStream<TcpStream>>,
    transport: Transport,
}

impl Client {
    async fn connect(server: &FakeServer, transport: Transport) -> Client {
        let url = match transport {
            Transport::Sockjs => {
                let base = server.urls().sockjs.replacen("http://", "ws://", 1);
                format!("{base}/441/zrqov4nr/websocket")
            }
            Transport::Websocket => server.urls().websocket,
        };
        let (ws, _) = tokio_tungstenite::connect_async(url).await.unwrap();
        let mut client = Client { ws, transport };
        if transport == Transport::Sockjs {
            assert_eq!(client.next_sockjs().await, ServerFrame::Open);
        }
        client
    }

    async fn next_sockjs(&mut self) -> ServerFrame {
        loop {
            let message = tokio::time::timeout(WAIT, self.ws.next())
                .await
                .expect("a frame in time")
                .expect("socket open")
                .unwrap();
            if let Message::Text(text) = message {
                let frame = ServerFrame::parse(&text).unwrap();
                if frame != ServerFrame::Heartbeat {
                    return frame;
                }
            }
        }
    }

    async fn send(&mut self, msync: &pb::MSync) {
        let message = match self.transport {
            Transport::Sockjs => {
                Message::text(sockjs::encode_client(&[frame::encode_base64_msync(msync)]))
            }
            Transport::Websocket => Message::binary(frame::encode_msync(msync)),
        };
        self.ws.send(message).await.unwrap();
    }

    async fn recv(&mut self) -> pb::MSync {
        match self.transport {
            Transport::Sockjs => match self.next_sockjs().await {
                ServerFrame::Messages(messages) => {
                    assert_eq!(messages.len(), 1);
                    frame::decode_base64_msync(&messages[0]).unwrap().1
                }
                other => panic!("expected a message, got {other:?}"),
            },
            Transport::Websocket => loop {
                let message = tokio::time::timeout(WAIT, self.ws.next()).await.unwrap();
                if let Some(Ok(Message::Binary(bytes))) = message {
                    return frame::decode_msync(&bytes).unwrap();
                }
            },
        }
    }

    /// PROVISION with a fresh token, then UNREAD; returns the unread answer.
    async fn login(&mut self, server: &FakeServer, user: &str) -> CommUnreadDl {
        let token = token(server, user).await;
        self.send(&provision(user, &token)).await;
        let answer: Provision = payload(&self.recv().await);
        assert_eq!(answer.status.unwrap().error_code, Some(0));
        self.send(&command(Command::Unread, None)).await;
        payload(&self.recv().await)
    }
}

/// The frames the server recorded as bad: (what came, why it was refused).
fn bad_frames(server: &FakeServer) -> Vec<(String, String)> {
    server
        .recorder()
        .observations()
        .into_iter()
        .filter_map(|o| match o.kind {
            ObservationKind::Transport(t) => match t.what {
                TransportWhat::BadFrame { text, error } => Some((text, error)),
                _ => None,
            },
            _ => None,
        })
        .collect()
}

fn provision(user: &str, token: &str) -> pb::MSync {
    let mut guid = jid::user("org#app", user);
    guid.client_resource = Some(format!("webim_{user}"));
    let body = Provision {
        resource: Some(format!("webim_{user}")),
        auth: Some(format!("$t${token}")),
        ..Default::default()
    };
    pb::MSync {
        guid: Some(guid),
        auth: Some(format!("$t${token}")),
        ..command(Command::Provision, Some(body.encode_to_vec()))
    }
}

fn command(command: Command, payload: Option<Vec<u8>>) -> pb::MSync {
    pb::MSync {
        command: Some(command as i32),
        payload,
        ..Default::default()
    }
}

fn sync(ul: CommSyncUl) -> pb::MSync {
    command(Command::Sync, Some(ul.encode_to_vec()))
}

fn payload<M: prost::Message + Default>(msync: &pb::MSync) -> M {
    M::decode(msync.payload.as_deref().unwrap_or_default()).unwrap()
}

fn text_body(from: &str, to: &str, text: &str) -> MessageBody {
    MessageBody {
        r#type: Some(1),
        from: Some(jid::name_only(from)),
        to: Some(jid::name_only(to)),
        contents: vec![pb::message_body::Content {
            r#type: Some(0),
            text: Some(text.into()),
            ..Default::default()
        }],
        ..Default::default()
    }
}

/// `(direction, user, command, payload type)` of every recorded frame, in log order.
fn frame_log(server: &FakeServer) -> Vec<(Direction, String, String, String)> {
    server
        .recorder()
        .observations()
        .into_iter()
        .filter_map(|o| match o.kind {
            ObservationKind::Frame(f) => {
                let kind = f.view["payload"]
                    .as_object()
                    .and_then(|p| p.keys().next().cloned())
                    .unwrap_or_default();
                let command = f.view["command"].as_str().unwrap_or("SYNC").to_string();
                Some((f.direction, f.user.unwrap_or_default(), command, kind))
            }
            _ => None,
        })
        .collect()
}

#[tokio::test]
async fn a_text_reaches_bob_through_notice_pull_and_key() {
    let server = FakeServer::start(world()).await.unwrap();
    let mut alice = Client::connect(&server, Transport::Sockjs).await;
    let mut bob = Client::connect(&server, Transport::Sockjs).await;
    assert!(alice.login(&server, "alice").await.unread.is_empty());
    assert!(bob.login(&server, "bob").await.unread.is_empty());

    let body = text_body("alice", "bob", "hello bob");
    let meta = Meta {
        id: Some(530_644_364_630),
        to: Some(jid::user("org#app", "bob")),
        ns: Some(NameSpace::Chat as i32),
        payload: Some(body.encode_to_vec()),
        ..Default::default()
    };
    alice
        .send(&sync(CommSyncUl {
            meta: Some(meta),
            ..Default::default()
        }))
        .await;
    let ack: CommSyncDl = payload(&alice.recv().await);
    assert_eq!(ack.meta_id, Some(530_644_364_630));
    let server_id = ack.server_id.unwrap();

    let notice = bob.recv().await;
    assert_eq!(notice.command, Some(Command::Notice as i32));
    let queue = payload::<pb::CommNotice>(&notice).queue.unwrap();
    assert_eq!(queue.name.as_deref(), Some("alice"));
    bob.send(&sync(CommSyncUl {
        queue: Some(queue.clone()),
        ..Default::default()
    }))
    .await;
    let dl: CommSyncDl = payload(&bob.recv().await);
    assert_eq!((dl.is_last, dl.next_key), (Some(false), Some(server_id)));
    assert_eq!(
        dl.metas[0].payload.as_deref(),
        Some(&body.encode_to_vec()[..])
    );
    bob.send(&sync(CommSyncUl {
        queue: Some(queue),
        key: dl.next_key,
        ..Default::default()
    }))
    .await;
    let dl: CommSyncDl = payload(&bob.recv().await);
    assert_eq!(
        (dl.is_last, dl.next_key, dl.metas.len()),
        (Some(true), Some(0), 0)
    );

    let s =
        |d: Direction, u: &str, c: &str, k: &str| (d, u.to_string(), c.to_string(), k.to_string());
    use Direction::{ClientToServer as Up, ServerToClient as Down};
    let expected = vec![
        s(Up, "alice", "PROVISION", "Provision"),
        s(Down, "alice", "PROVISION", "Provision"),
        s(Up, "alice", "UNREAD", ""),
        s(Down, "alice", "UNREAD", "CommUnreadDL"),
        s(Up, "bob", "PROVISION", "Provision"),
        s(Down, "bob", "PROVISION", "Provision"),
        s(Up, "bob", "UNREAD", ""),
        s(Down, "bob", "UNREAD", "CommUnreadDL"),
        s(Up, "alice", "SYNC", "CommSyncUL"),
        // The recipient is notified before the sender's ack goes out.
        s(Down, "bob", "NOTICE", "CommNotice"),
        s(Down, "alice", "SYNC", "CommSyncDL"),
        s(Up, "bob", "SYNC", "CommSyncUL"),
        s(Down, "bob", "SYNC", "CommSyncDL"),
        s(Up, "bob", "SYNC", "CommSyncUL"),
        s(Down, "bob", "SYNC", "CommSyncDL"),
    ];
    assert_eq!(frame_log(&server), expected);

    let observations = server.recorder().observations();
    let http: Vec<_> = observations
        .iter()
        .filter_map(|o| match &o.kind {
            ObservationKind::Http(h) => Some((h.path.clone(), h.status, h.user.clone())),
            _ => None,
        })
        .collect();
    assert_eq!(
        http,
        vec![
            ("/org/app/token".to_string(), 200, Some("alice".to_string())),
            ("/org/app/token".to_string(), 200, Some("bob".to_string())),
        ]
    );
    let last = observations.iter().rev().find_map(|o| match &o.kind {
        ObservationKind::Frame(f) => Some(f.view.clone()),
        _ => None,
    });
    assert_eq!(last.unwrap()["payload"]["CommSyncDL"]["isLast"], true);
    let opened = observations
        .iter()
        .filter(|o| matches!(&o.kind, ObservationKind::Transport(t) if matches!(t.what, TransportWhat::Opened { transport: Transport::Sockjs })))
        .count();
    assert_eq!(opened, 2);
    server.shutdown().await;
}

#[tokio::test]
async fn garbage_is_recorded_as_bad_frames_and_the_socket_goes_on() {
    let server = FakeServer::start(world()).await.unwrap();
    let mut alice = Client::connect(&server, Transport::Sockjs).await;
    alice.login(&server, "alice").await;
    for garbage in [
        Message::text("not json"),
        Message::text(r#"["!!!not-base64!!!"]"#),
        Message::text(r#"["CABAAEoF//////8="]"#),
        Message::binary(vec![1, 2, 3]),
    ] {
        alice.ws.send(garbage).await.unwrap();
    }
    alice.send(&command(Command::Unread, None)).await;
    let unread: CommUnreadDl = payload(&alice.recv().await);
    assert_eq!(unread.status.unwrap().error_code, Some(0));

    let bad: Vec<String> = bad_frames(&server)
        .into_iter()
        .map(|(text, _)| text)
        .collect();
    assert_eq!(bad.len(), 4, "{bad:?}");
    assert_eq!(bad[0], "not json");

    // Over 1 MiB: a bad frame, and the server closes the socket.
    let huge = format!("[\"{}\"]", "A".repeat(2 << 20));
    let _ = alice.ws.send(Message::text(huge)).await;
    let mut closed = false;
    while let Ok(Some(Ok(message))) = tokio::time::timeout(WAIT, alice.ws.next()).await {
        if let Message::Text(text) = message {
            closed |= text.starts_with("c[1009");
        }
    }
    assert!(closed);
    let log = server.recorder().observations();
    let tail: Vec<_> = log
        .iter()
        .rev()
        .take(2)
        .map(|o| format!("{:?}", o.kind))
        .collect();
    assert!(tail[0].contains("ClosedByServer"), "{tail:?}");
    assert!(tail[1].contains("BadFrame"), "{tail:?}");
    server.shutdown().await;
}

#[tokio::test]
async fn the_raw_websocket_carries_binary_msync() {
    let server = FakeServer::start(world()).await.unwrap();
    let mut bob = Client::connect(&server, Transport::Websocket).await;
    bob.login(&server, "bob").await;
    bob.ws.send(Message::text("hello")).await.unwrap();
    bob.send(&command(Command::Unread, None)).await;
    let unread: CommUnreadDl = payload(&bob.recv().await);
    assert_eq!(unread.status.unwrap().error_code, Some(0));
    let log = frame_log(&server);
    assert_eq!(log.len(), 6);
    server.shutdown().await;
}

#[tokio::test]
async fn controls_deliver_kick_fault_and_close() {
    let server = FakeServer::start(world()).await.unwrap();
    let control = server.control();
    // A message for bob while he is offline waits in his queue.
    let message = ScriptedMessage {
        from: "dave".into(),
        to: "bob".into(),
        chat_type: ChatType::Single,
        body: text_body("dave", "bob", "hi"),
    };
    let id = control.deliver(message.clone()).await.unwrap();
    assert_eq!(id, 900_000_000_000_000_001);
    let mut bob = Client::connect(&server, Transport::Sockjs).await;
    let unread = bob.login(&server, "bob").await;
    assert_eq!(
        unread.unread[0].queue.as_ref().unwrap().name.as_deref(),
        Some("dave")
    );

    control.advance(60_000);
    assert_eq!(control.now_ms(), imspec::server::START_MS + 60_000);
    control.deliver(message).await.unwrap();
    assert_eq!(bob.recv().await.command, Some(Command::Notice as i32));

    control
        .kick(
            "bob",
            pb::statistics_body::Operation::UserLoginAnotherDevice,
        )
        .await
        .unwrap();
    let notice = bob.recv().await;
    let queue = payload::<pb::CommNotice>(&notice).queue.unwrap();
    assert_eq!(queue.name.as_deref(), Some("admin"));
    assert!(matches!(
        control
            .kick("alice", pb::statistics_body::Operation::UserRemoved)
            .await,
        Err(ServerError::NotConnected(_))
    ));
    assert!(matches!(
        control.close("zed", 3000, "x").await,
        Err(ServerError::UnknownUser(_))
    ));

    control.arm(Fault {
        user: Some("bob".into()),
        on: FaultTrigger::Unread,
        action: FaultAction::Close {
            code: 3000,
            reason: "Go away!".into(),
        },
    });
    bob.send(&command(Command::Unread, None)).await;
    assert_eq!(
        bob.next_sockjs().await,
        ServerFrame::Close {
            code: 3000,
            reason: "Go away!".into()
        }
    );

    let mut again = Client::connect(&server, Transport::Sockjs).await;
    again.login(&server, "bob").await;
    assert_eq!(control.close("bob", 3000, "Go away!").await.unwrap(), 1);
    assert_eq!(
        again.next_sockjs().await,
        ServerFrame::Close {
            code: 3000,
            reason: "Go away!".into()
        }
    );
    let closes = server
        .recorder()
        .observations()
        .into_iter()
        .filter(|o| matches!(&o.kind, ObservationKind::Transport(t) if matches!(t.what, TransportWhat::ClosedByServer { code: 3000, .. })))
        .count();
    assert_eq!(closes, 2);
    let urls = server.urls();
    server.shutdown().await;
    assert!(
        tokio_tungstenite::connect_async(urls.websocket)
            .await
            .is_err()
    );
}

#[tokio::test]
async fn login_errors_answer_as_the_real_server() {
    let server = FakeServer::start(world()).await.unwrap();
    let client = reqwest::Client::new();
    let api = server.urls().api;
    let post = |path: &str, body: Value| client.post(format!("{api}{path}")).json(&body).send();
    let reply = post(
        "/org/app/token",
        json!({"grant_type": "password", "username": "alice", "password": "no"}),
    )
    .await
    .unwrap();
    assert_eq!(reply.status(), 400);
    assert_eq!(
        reply.json::<Value>().await.unwrap()["error"],
        "invalid_grant"
    );
    let reply = post("/org/other/token", json!({})).await.unwrap();
    let body: Value = reply.json().await.unwrap();
    assert_eq!(body["error"], "organization_application_not_found");
    assert_eq!(
        body["error_description"],
        "Could not find application for org/other from URI: org/other/token"
    );
    let reply = client
        .post(format!("{api}/org/app/token"))
        .body("{{{")
        .send()
        .await
        .unwrap();
    assert_eq!(reply.status(), 400);
    let info: Value = client
        .get(format!("{api}/ws/info?t=1"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(info["websocket"], true);
    assert_eq!(server.recorder().len(), 4);
    server.shutdown().await;
}

#[tokio::test]
async fn the_raw_websocket_takes_an_lz4_uplink_once_negotiated() {
    let server = FakeServer::start(WorldSpec {
        lz4: true,
        ..world()
    })
    .await
    .unwrap();
    let mut bob = Client::connect(&server, Transport::Websocket).await;
    let token = token(&server, "bob").await;
    let mut offer = provision("bob", &token);
    let body = Provision {
        session_id: Some("1:".into()),
        protocol_compress_type: vec![CompressType::CompressLz4 as i32],
        ..payload(&offer)
    };
    offer.payload = Some(body.encode_to_vec());
    bob.send(&offer).await;
    let answer: Provision = payload(&bob.recv().await);
    assert_eq!(
        answer.protocol_compress_type,
        [CompressType::CompressLz4 as i32]
    );

    // Two compressed frames, the second referring back into the first; then a broken one.
    let unread = frame::encode_msync(&command(Command::Unread, None));
    let first = lz4::encode_frame(&unread);
    let second = lz4::encode_frame_with_history(&unread, &unread);
    let mut broken = lz4::encode_frame(&unread);
    broken[1] ^= 0xff;
    for compressed in [first, broken, second] {
        bob.ws.send(Message::binary(compressed)).await.unwrap();
    }
    for _ in 0..2 {
        let unread: CommUnreadDl = payload(&bob.recv().await);
        assert_eq!(unread.status.unwrap().error_code, Some(0));
    }
    let log: Vec<_> = frame_log(&server)
        .into_iter()
        .map(|(direction, _, command, _)| format!("{} {command}", direction.as_str()))
        .collect();
    assert_eq!(
        log,
        [
            "c2s PROVISION",
            "s2c PROVISION",
            "c2s UNREAD",
            "s2c UNREAD",
            "c2s UNREAD",
            "s2c UNREAD"
        ]
    );
    let bad: Vec<String> = bad_frames(&server)
        .into_iter()
        .map(|(_, error)| error)
        .collect();
    assert_eq!(bad.len(), 1, "{bad:?}");
    assert!(bad[0].starts_with("LZ4 frame crc32 is"), "{bad:?}");
    server.shutdown().await;
}

#[tokio::test]
async fn a_client_that_never_pulls_the_barrier_fails_the_settle_saying_what_the_server_saw() {
    let server = FakeServer::start(world()).await.unwrap();
    let mut alice = Client::connect(&server, Transport::Websocket).await;
    alice.login(&server, "alice").await;
    // alice reads the NOTICE, and the one sent again after RENOTIFY_AFTER, and pulls nothing
    let deadline = tokio::time::Instant::now() + RENOTIFY_AFTER + Duration::from_millis(50);
    let error = server.control().settle_all(deadline).await.unwrap_err();
    for _ in 0..2 {
        let notice = alice.recv().await;
        assert_eq!(notice.command, Some(Command::Notice as i32));
    }
    let text = error.to_string();
    assert!(
        text.starts_with("alice's client never settled")
            && text.contains(
                "the server saw 2 s2c frame(s) (the last: a barrier frame, NOTICE), 0 c2s frame(s)"
            ),
        "{text}"
    );
    server.shutdown().await;
}

#[tokio::test]
async fn a_client_that_drops_a_barrier_notice_settles_on_the_next_one() {
    let server = FakeServer::start(world()).await.unwrap();
    let mut alice = Client::connect(&server, Transport::Websocket).await;
    alice.login(&server, "alice").await;
    let control = server.control();
    let settle =
        tokio::spawn(async move { control.settle_all(tokio::time::Instant::now() + WAIT).await });
    // the first NOTICE is dropped, as by a client busy with its own sync
    let dropped = alice.recv().await;
    assert_eq!(dropped.command, Some(Command::Notice as i32));
    let again = alice.recv().await;
    let queue = payload::<pb::CommNotice>(&again).queue.unwrap();
    assert_eq!(queue.name.as_deref(), Some(BARRIER_QUEUE));
    alice
        .send(&sync(CommSyncUl {
            queue: Some(queue),
            ..Default::default()
        }))
        .await;
    let answer: CommSyncDl = payload(&alice.recv().await);
    assert_eq!(
        answer.queue.and_then(|q| q.name).as_deref(),
        Some(BARRIER_QUEUE)
    );
    let settled = settle.await.unwrap().unwrap();
    assert_eq!(settled.rounds, 1);
    server.shutdown().await;
}
