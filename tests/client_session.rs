//! The reference client, in process, against the fake server: login, a text with ext of every
//! type from alice to bob, offline delivery at login, a wrong password, disconnect, and a few
//! fault switches shown to break what they name.

use imspec::client::{Fault, Faults, serve};
use imspec::server::observe::ObservationKind;
use imspec::server::{BARRIER_QUEUE, FakeServer, UserSpec, WorldSpec};
use imspec::wire::Direction;
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader, DuplexStream, Lines};

const STEP: Duration = Duration::from_secs(10);

/// A reference client served in process, spoken to through pipes.
struct Client {
    requests: DuplexStream,
    lines: Lines<BufReader<DuplexStream>>,
    seen: Vec<Value>,
    next_id: u64,
}

impl Client {
    fn start(faults: Faults) -> Client {
        let (requests, input) = tokio::io::duplex(1 << 16);
        let (output, replies) = tokio::io::duplex(1 << 20);
        tokio::spawn(async move {
            serve(BufReader::new(input), output, faults)
                .await
                .expect("serve ends cleanly");
        });
        Client {
            requests,
            lines: BufReader::new(replies).lines(),
            seen: Vec::new(),
            next_id: 1,
        }
    }

    async fn request(&mut self, op: &str, user: Option<&str>, args: Value) -> u64 {
        let id = self.next_id;
        self.next_id += 1;
        let mut request = json!({"id": id, "op": op, "args": args});
        if let Some(user) = user {
            request["user"] = json!(user);
        }
        let line = format!("{request}\n");
        self.requests.write_all(line.as_bytes()).await.unwrap();
        id
    }

    async fn next_line(&mut self) -> Value {
        let line = tokio::time::timeout(STEP, self.lines.next_line())
            .await
            .expect("a line within the step timeout")
            .unwrap()
            .expect("the client is still writing");
        let value: Value = serde_json::from_str(&line).expect("every line is JSON");
        assert!(value.is_object(), "{line}");
        self.seen.push(value.clone());
        value
    }

    /// Waits for the line matching `pred`, keeping everything read.
    async fn wait(&mut self, pred: impl Fn(&Value) -> bool) -> Value {
        if let Some(found) = self.seen.iter().find(|v| pred(v)) {
            return found.clone();
        }
        loop {
            let line = self.next_line().await;
            if pred(&line) {
                return line;
            }
        }
    }

    async fn reply(&mut self, id: u64) -> Value {
        self.wait(|v| v["id"] == json!(id) && v.get("ok").is_some())
            .await
    }

    async fn event(&mut self, user: &str, name: &str) -> Value {
        self.wait(|v| v["event"] == name && v["user"] == user).await
    }

    async fn connect(&mut self, server: &FakeServer, user: &str, password: &str) -> Value {
        let urls = server.urls();
        let args = json!({"password": password, "appKey": "org#app", "url": urls.sockjs,
            "wsUrl": urls.websocket, "apiUrl": urls.api, "options": {}});
        let id = self.request("connect", Some(user), args).await;
        self.reply(id).await
    }

    fn events(&self, user: &str, name: &str) -> Vec<Value> {
        self.seen
            .iter()
            .filter(|v| v["event"] == name && v["user"] == user)
            .cloned()
            .collect()
    }
}

async fn server() -> FakeServer {
    let users: BTreeMap<String, UserSpec> = ["alice", "bob", "carol"]
        .into_iter()
        .map(|name| {
            let spec = UserSpec {
                password: "pw".into(),
                token_expired: false,
                ..Default::default()
            };
            (name.to_string(), spec)
        })
        .collect();
    FakeServer::start(WorldSpec {
        app_key: "org#app".into(),
        users,
        ..Default::default()
    })
    .await
    .expect("the fake server starts")
}

/// The canonical views of the frames `user` sent, in order (without the settle barrier's).
fn uplink(server: &FakeServer, user: &str) -> Vec<Value> {
    server
        .recorder()
        .observations()
        .into_iter()
        .filter_map(|o| match o.kind {
            ObservationKind::Frame(f)
                if f.direction == Direction::ClientToServer && f.user.as_deref() == Some(user) =>
            {
                Some(f.view)
            }
            _ => None,
        })
        .filter(|view| view["payload"]["CommSyncUL"]["queue"]["name"] != BARRIER_QUEUE)
        .collect()
}

/// Waits (up to a step) until the recorder shows what `done` looks for.
async fn until(server: &FakeServer, mut done: impl FnMut() -> bool) {
    let recorder = server.recorder();
    let deadline = tokio::time::Instant::now() + STEP;
    while !done() {
        let seen = recorder.len();
        tokio::time::timeout_at(deadline, recorder.wait_beyond(seen))
            .await
            .expect("the awaited frames within a step");
    }
}

/// Waits until `user`'s client has handled every frame the server sent it and the server has
/// recorded what it sent back (the server's NOTICE barrier), then until every line the client
/// wrote before that has been read (a `hello` round trip).
async fn settle(server: &FakeServer, client: &mut Client, user: &str) {
    let deadline = tokio::time::Instant::now() + STEP;
    assert!(
        server.control().settle(user, deadline).await,
        "the client pulls the barrier queue"
    );
    let hello = client.request("hello", None, json!({"protocol": 1})).await;
    client.reply(hello).await;
}

#[tokio::test]
async fn login_sends_the_sdk_sequence_and_opens() {
    let server = server().await;
    let mut client = Client::start(Faults::none());
    let hello = client.request("hello", None, json!({"protocol": 1})).await;
    let hello = client.reply(hello).await;
    assert_eq!(hello["result"]["sdkVersion"], "3.6.3");
    assert_eq!(
        client.connect(&server, "alice", "pw").await,
        json!({"id": 2, "ok": true, "result": {}})
    );
    assert_eq!(
        client.seen[1],
        json!({"event": "onOpened", "user": "alice"})
    );
    // The second STATISTIC meta follows the UNREAD answer, whenever that arrives.
    until(&server, || uplink(&server, "alice").len() >= 4).await;
    let frames = uplink(&server, "alice");
    let commands: Vec<&str> = frames
        .iter()
        .map(|f| f["command"].as_str().unwrap_or(""))
        .collect();
    assert_eq!(
        commands,
        ["PROVISION", "UNREAD", "SYNC", "SYNC"],
        "{frames:#?}"
    );
    let provision = &frames[0];
    assert_eq!(provision["deviceId"], 0);
    assert_eq!(provision["version"], "MSYNC_V1");
    assert_eq!(provision["payload"]["Provision"]["osType"], "OS_OTHER");
    for statistic in &frames[2..] {
        assert_eq!(
            statistic["payload"]["CommSyncUL"]["meta"]["ns"],
            "STATISTIC"
        );
    }
    let shutdown = client.request("shutdown", None, json!({})).await;
    assert_eq!(client.reply(shutdown).await["ok"], true);
    server.shutdown().await;
}

#[tokio::test]
async fn a_text_with_typed_ext_reaches_bob_and_alice_gets_the_receipt() {
    let server = server().await;
    let mut client = Client::start(Faults::none());
    client.connect(&server, "alice", "pw").await;
    client.connect(&server, "bob", "pw").await;
    let ext = json!({"s": "str", "i": 42, "neg": -7, "f": 1.5, "b": true, "bf": false, "o": {"k": [1, 2]}, "n": null});
    let args = json!({"type": "txt", "to": "bob", "chatType": "singleChat", "msg": "hello bob", "ext": ext});
    let send = client.request("send", Some("alice"), args).await;
    let reply = client.reply(send).await;
    assert_eq!(reply["ok"], true, "{reply}");
    let local = reply["result"]["localId"].as_str().unwrap().to_string();
    let server_id = reply["result"]["serverMsgId"].as_str().unwrap().to_string();
    let receipt = client.event("alice", "onReceivedMessage").await;
    assert_eq!(
        receipt["data"],
        json!({"id": local, "mid": server_id, "to": "bob"})
    );
    let text = client.event("bob", "onTextMessage").await;
    let data = &text["data"];
    assert_eq!(data["id"], json!(server_id));
    assert_eq!(data["data"], "hello bob");
    assert_eq!(data["ext"], ext);
    let keys: Vec<&str> = data
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(
        keys,
        [
            "id",
            "type",
            "contentsType",
            "from",
            "to",
            "data",
            "ext",
            "sourceMsg",
            "time",
            "msgConfig",
            "error",
            "errorText",
            "errorCode"
        ]
    );
    settle(&server, &mut client, "bob").await;
    let bob = uplink(&server, "bob");
    let key_ack = bob
        .iter()
        .find(|f| f["payload"]["CommSyncUL"]["key"].is_string())
        .expect("bob acks the key");
    assert_eq!(key_ack["payload"]["CommSyncUL"]["key"], json!(server_id));
    server.shutdown().await;
}

#[tokio::test]
async fn offline_messages_are_pulled_at_login() {
    let server = server().await;
    let mut client = Client::start(Faults::none());
    client.connect(&server, "alice", "pw").await;
    let args = json!({"type": "txt", "to": "carol", "msg": "while you were away"});
    let send = client.request("send", Some("alice"), args).await;
    assert_eq!(client.reply(send).await["ok"], true);
    client.connect(&server, "carol", "pw").await;
    let text = client.event("carol", "onTextMessage").await;
    assert_eq!(text["data"]["data"], "while you were away");
    server.shutdown().await;

    let server = self::server().await;
    let mut broken = Client::start(Faults::none().with(Fault::SkipUnreadPull));
    broken.connect(&server, "alice", "pw").await;
    let args = json!({"type": "txt", "to": "carol", "msg": "lost"});
    let send = broken.request("send", Some("alice"), args).await;
    broken.reply(send).await;
    broken.connect(&server, "carol", "pw").await;
    settle(&server, &mut broken, "carol").await;
    assert!(broken.events("carol", "onTextMessage").is_empty());
    server.shutdown().await;
}

#[tokio::test]
async fn a_wrong_password_is_login_failed_type_1() {
    let server = server().await;
    let mut client = Client::start(Faults::none());
    let reply = client.connect(&server, "alice", "nope").await;
    assert_eq!(reply["ok"], false);
    assert_eq!(reply["error"]["type"], 1);
    assert_eq!(reply["error"]["message"], "login failed");
    assert_eq!(reply["error"]["data"]["type"], 17);
    assert!(reply["error"]["data"]["data"].is_string());
    let event = client.event("alice", "onError").await;
    assert_eq!(event["data"], reply["error"]);

    let mut broken = Client::start(Faults::none().with(Fault::WrongLoginError));
    let reply = broken.connect(&server, "alice", "nope").await;
    assert_eq!(reply["error"]["type"], 3);
    server.shutdown().await;
}

/// A REST peer scripted with wiremock: whatever the token endpoint answers that is not a 200
/// (here a 503 with a plain-text body, which the fake server never sends) is login failed,
/// type 1, with the raw body, as the SDK's `utils.ajax` reports it.
#[tokio::test]
async fn any_non_200_token_answer_is_login_failed_with_the_raw_body() {
    use wiremock::matchers::{body_partial_json, method, path};
    use wiremock::{Mock, MockServer, ResponseTemplate};
    let rest = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/org/app/token"))
        .and(body_partial_json(
            json!({"grant_type": "password", "username": "alice", "password": "pw"}),
        ))
        .respond_with(ResponseTemplate::new(503).set_body_string("service unavailable"))
        .expect(1)
        .mount(&rest)
        .await;
    let mut client = Client::start(Faults::none());
    let args = json!({"password": "pw", "appKey": "org#app", "url": format!("{}/ws", rest.uri()),
        "apiUrl": rest.uri(), "options": {}});
    let id = client.request("connect", Some("alice"), args).await;
    let reply = client.reply(id).await;
    assert_eq!(
        reply["error"],
        json!({"type": 1, "message": "login failed", "data": {"type": 17, "data": "service unavailable"}})
    );
}

#[tokio::test]
async fn disconnect_emits_on_closed_and_replies() {
    let server = server().await;
    let mut client = Client::start(Faults::none());
    client.connect(&server, "alice", "pw").await;
    let id = client.request("disconnect", Some("alice"), json!({})).await;
    assert_eq!(
        client.reply(id).await,
        json!({"id": id, "ok": true, "result": {}})
    );
    assert_eq!(
        client.events("alice", "onClosed"),
        vec![json!({"event": "onClosed", "user": "alice"})]
    );
    server.shutdown().await;
}

#[tokio::test]
async fn a_server_close_is_error_16() {
    let server = server().await;
    let mut client = Client::start(Faults::none());
    client.connect(&server, "alice", "pw").await;
    server
        .control()
        .close("alice", 3000, "Go away!")
        .await
        .unwrap();
    let event = client.event("alice", "onError").await;
    assert_eq!(
        event["data"],
        json!({"type": 16, "message": "websocket has been disconnected"})
    );
    server.shutdown().await;
}

fn arm_message_status(server: &FakeServer, code: i32, reason: Option<&str>) {
    server.control().arm(imspec::server::Fault {
        user: Some("alice".into()),
        on: imspec::server::FaultTrigger::Message,
        action: imspec::server::FaultAction::Status {
            code,
            reason: reason.map(str::to_string),
        },
    });
}

#[tokio::test]
async fn send_failures_are_mapped_as_the_guide_lists_them() {
    let server = server().await;
    let mut client = Client::start(Faults::none());
    client.connect(&server, "alice", "pw").await;
    let cases = [
        (
            1,
            Some("blocked"),
            json!({"type": 603, "message": "blocked"}),
        ),
        (
            1,
            Some("something else"),
            json!({"type": 503, "message": "something else"}),
        ),
        (7, Some("sensitive words"), json!({"type": 501})),
        (19, Some("rejected"), json!({"type": 502})),
        (
            4,
            Some("whatever"),
            // the guide's "unknown error" (L94); 3.6.3 says 604, which the guide never names
            json!({"type": 503, "data": {"errorCode": 4, "reason": "whatever"}}),
        ),
    ];
    for (code, reason, expected) in cases {
        arm_message_status(&server, code, reason);
        let args = json!({"type": "txt", "to": "bob", "msg": "x"});
        let id = client.request("send", Some("alice"), args).await;
        let reply = client.reply(id).await;
        assert_eq!(reply["ok"], false, "{reply}");
        for (key, value) in expected.as_object().unwrap() {
            assert_eq!(&reply["error"][key], value, "{reply}");
        }
        if code != 4 {
            assert!(reply["error"]["data"]["id"].is_string(), "{reply}");
            assert!(reply["error"]["data"]["mid"].is_string(), "{reply}");
        }
    }
    arm_message_status(&server, 15, Some("user muted"));
    let args = json!({"type": "txt", "to": "bob", "msg": "muted"});
    client.request("send", Some("alice"), args).await;
    let muted = client.event("alice", "onMutedMessage").await;
    assert!(muted["data"]["mid"].is_string());

    let mut broken = Client::start(Faults::none().with(Fault::WrongSendError));
    broken.connect(&server, "alice", "pw").await;
    arm_message_status(&server, 1, Some("blocked"));
    let args = json!({"type": "txt", "to": "bob", "msg": "x"});
    let id = broken.request("send", Some("alice"), args).await;
    assert_eq!(broken.reply(id).await["error"]["type"], 604);
    server.shutdown().await;
}

#[tokio::test]
async fn a_provision_refusal_is_error_40_unless_ignored() {
    let mut users = BTreeMap::new();
    let spec = UserSpec {
        password: "pw".into(),
        token_expired: true,
        ..Default::default()
    };
    users.insert("dave".to_string(), spec);
    let world = WorldSpec {
        app_key: "org#app".into(),
        users,
        ..Default::default()
    };
    let server = FakeServer::start(world).await.unwrap();
    let mut client = Client::start(Faults::none());
    let reply = client.connect(&server, "dave", "pw").await;
    assert_eq!(reply["error"]["type"], 40, "{reply}");
    assert_eq!(reply["error"]["message"], "provision error");
    assert_eq!(
        reply["error"]["data"]["status"]["errorCode"],
        "TOKEN_EXPIRED"
    );

    let mut broken = Client::start(Faults::none().with(Fault::IgnoreProvisionStatus));
    assert_eq!(broken.connect(&server, "dave", "pw").await["ok"], true);
    server.shutdown().await;
}

#[tokio::test]
async fn fault_switches_break_the_key_ack_and_on_closed() {
    let server = server().await;
    let mut client = Client::start(Faults::none().with(Fault::NoKeyAck).with(Fault::NoClosed));
    client.connect(&server, "alice", "pw").await;
    client.connect(&server, "bob", "pw").await;
    let args = json!({"type": "txt", "to": "bob", "msg": "hi"});
    let id = client.request("send", Some("alice"), args).await;
    client.reply(id).await;
    client.event("bob", "onTextMessage").await;
    // A key ack follows the DL at once; its absence can only be watched for a while (the
    // settle barrier cannot help: the SDK pulls no other queue while this one is unacked).
    let acked = || {
        uplink(&server, "bob")
            .iter()
            .any(|f| !f["payload"]["CommSyncUL"]["key"].is_null())
    };
    let watched = tokio::time::timeout(Duration::from_millis(300), until(&server, acked)).await;
    assert!(watched.is_err(), "no-key-ack sent a key ack");
    let id = client.request("disconnect", Some("alice"), json!({})).await;
    // "Never replies" can only be watched for a while: as the runner's `quiet` step does.
    let reply = tokio::time::timeout(Duration::from_millis(300), client.reply(id)).await;
    assert!(reply.is_err(), "no-closed replied to disconnect");
    assert!(client.events("alice", "onClosed").is_empty());
    server.shutdown().await;
}

#[tokio::test]
async fn a_kick_is_error_206() {
    let server = server().await;
    let mut client = Client::start(Faults::none());
    client.connect(&server, "alice", "pw").await;
    let operation = imspec::wire::pb::statistics_body::Operation::UserLoginAnotherDevice;
    server.control().kick("alice", operation).await.unwrap();
    let event = client.event("alice", "onError").await;
    assert_eq!(
        event["data"],
        json!({"type": 206, "message": "the user is already logged on another device"})
    );
    server.shutdown().await;
}

#[tokio::test]
async fn the_heartbeat_is_an_unread_every_heart_beat_wait() {
    let server = server().await;
    let mut client = Client::start(Faults::none());
    let urls = server.urls();
    let args = json!({"password": "pw", "appKey": "org#app", "url": urls.sockjs,
        "apiUrl": urls.api, "options": {"heartBeatWait": 5000}});
    let id = client.request("connect", Some("alice"), args).await;
    client.reply(id).await;
    // The SDK clamps heartBeatWait to at least 5 s, so this one waits for real time.
    let unreads = || {
        uplink(&server, "alice")
            .into_iter()
            .filter(|f| f["command"] == "UNREAD")
            .count()
    };
    until(&server, || unreads() >= 2).await;
    assert_eq!(unreads(), 2);
    server.shutdown().await;
}

#[tokio::test]
async fn with_auto_reconnect_a_server_close_logs_in_again() {
    let server = server().await;
    let mut client = Client::start(Faults::none());
    let urls = server.urls();
    let args = json!({"password": "pw", "appKey": "org#app", "url": urls.sockjs,
        "apiUrl": urls.api, "options": {"autoReconnectNumMax": 2}});
    let id = client.request("connect", Some("alice"), args).await;
    client.reply(id).await;
    server
        .control()
        .close("alice", 3000, "Go away!")
        .await
        .unwrap();
    client.event("alice", "onError").await;
    while client.events("alice", "onOpened").len() < 2 {
        client.next_line().await;
    }
    let provisions = uplink(&server, "alice")
        .into_iter()
        .filter(|f| f["command"] == "PROVISION")
        .count();
    assert_eq!(provisions, 2);
    server.shutdown().await;
}

#[tokio::test]
async fn sync_says_idle_only_when_no_http_request_is_in_flight() {
    let server = server().await;
    let mut client = Client::start(Faults::none());
    client.connect(&server, "alice", "pw").await;
    let sync = client.request("sync", None, json!({})).await;
    assert_eq!(client.reply(sync).await["result"], json!({"idle": true}));
    // bob's token request goes to a listener that never answers: his login is in flight
    let silent = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let urls = server.urls();
    let args = json!({"password": "pw", "appKey": "org#app", "url": urls.sockjs,
        "wsUrl": urls.websocket, "apiUrl": format!("http://{}", silent.local_addr().unwrap()),
        "options": {}});
    client.request("connect", Some("bob"), args).await;
    let sync = client.request("sync", None, json!({})).await;
    assert_eq!(client.reply(sync).await["result"], json!({"idle": false}));
    server.shutdown().await;
}
