//! Tests of the socket glue over a real socket: the order in which a socket gets the frames of
//! two tasks that change the world one after the other, made deterministic by a pause (a
//! [`Gap`]) armed in a socket's handling of its next frame, right after the world is unlocked.

use super::super::{ChatType, FakeServer, ScriptedMessage, Shared, UserSpec, WorldSpec};
use crate::wire::jid;
use crate::wire::pb::{
    self, CommNotice, CommSyncDl, CommSyncUl, MessageBody, Provision, m_sync::Command,
};
use futures_util::{SinkExt as _, StreamExt as _};
use prost::Message as _;
use std::time::Duration;
use tokio::net::TcpStream;
use tokio::sync::oneshot;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

/// A pause in the handling of `user`'s next uplink frame, once the world is unlocked: where
/// another task may change the world before the frame's answer is written.
pub(crate) struct Gap {
    user: String,
    paused: oneshot::Sender<()>,
    resume: oneshot::Receiver<()>,
}

impl std::fmt::Debug for Gap {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Gap({})", self.user)
    }
}

/// Called by the reader right after the world is unlocked: pauses there when a gap is armed
/// for its user (once).
pub(super) async fn gap(shared: &Shared, user: Option<&str>) {
    let armed = {
        let mut gap = shared.gap.lock().unwrap_or_else(|p| p.into_inner());
        match gap.as_ref() {
            Some(g) if Some(g.user.as_str()) == user => gap.take(),
            _ => None,
        }
    };
    if let Some(gap) = armed {
        let _ = gap.paused.send(());
        let _ = gap.resume.await;
    }
}

/// Arms a gap for `user`'s next frame: resolves the first receiver once the reader is in it,
/// and lets it go on when the sender is used (or dropped).
fn arm(server: &FakeServer, user: &str) -> (oneshot::Receiver<()>, oneshot::Sender<()>) {
    let (paused, in_gap) = oneshot::channel();
    let (go_on, resume) = oneshot::channel();
    *server.shared.gap.lock().unwrap() = Some(Gap {
        user: user.into(),
        paused,
        resume,
    });
    (in_gap, go_on)
}

const WAIT: Duration = Duration::from_secs(5);

struct Client(WebSocketStream<MaybeTlsStream<TcpStream>>);

impl Client {
    async fn login(server: &FakeServer, user: &str) -> Client {
        let token = server
            .shared
            .world()
            .login(user, "pw")
            .expect("a user of the world")
            .token;
        let (ws, _) = tokio_tungstenite::connect_async(server.urls().websocket)
            .await
            .unwrap();
        let mut client = Client(ws);
        let resource = format!("webim_{user}");
        let provision = Provision {
            resource: Some(resource.clone()),
            auth: Some(format!("$t${token}")),
            ..Default::default()
        };
        client
            .send(pb::MSync {
                guid: Some(pb::Jid {
                    client_resource: Some(resource),
                    ..jid::user("org#app", user)
                }),
                auth: Some(format!("$t${token}")),
                command: Some(Command::Provision as i32),
                payload: Some(provision.encode_to_vec()),
                ..Default::default()
            })
            .await;
        let answer = client.recv().await;
        assert_eq!(answer.command, Some(Command::Provision as i32));
        client
    }

    async fn send(&mut self, msync: pb::MSync) {
        let bytes = msync.encode_to_vec();
        self.0.send(Message::binary(bytes)).await.unwrap();
    }

    async fn sync(&mut self, ul: CommSyncUl) {
        self.send(pb::MSync {
            command: Some(Command::Sync as i32),
            payload: Some(ul.encode_to_vec()),
            ..Default::default()
        })
        .await;
    }

    async fn recv(&mut self) -> pb::MSync {
        loop {
            let message = tokio::time::timeout(WAIT, self.0.next())
                .await
                .expect("a frame in time")
                .expect("socket open")
                .unwrap();
            if let Message::Binary(bytes) = message {
                return pb::MSync::decode(bytes.as_ref()).unwrap();
            }
        }
    }

    /// The next frame, as a NOTICE's queue name or a DL (anything else fails).
    async fn next(&mut self) -> Frame {
        let msync = self.recv().await;
        let payload = msync.payload.unwrap_or_default();
        match Command::try_from(msync.command.unwrap_or(0)) {
            Ok(Command::Notice) => Frame::Notice(
                jid::name_of(
                    CommNotice::decode(payload.as_slice())
                        .unwrap()
                        .queue
                        .as_ref(),
                )
                .to_string(),
            ),
            Ok(Command::Sync) => {
                Frame::Dl(Box::new(CommSyncDl::decode(payload.as_slice()).unwrap()))
            }
            other => panic!("unexpected frame {other:?}"),
        }
    }
}

#[derive(Debug)]
enum Frame {
    Notice(String),
    Dl(Box<CommSyncDl>),
}

fn text(n: u32) -> ScriptedMessage {
    ScriptedMessage {
        from: "carol".into(),
        to: "bob".into(),
        chat_type: ChatType::Single,
        body: MessageBody {
            r#type: Some(pb::message_body::Type::Chat as i32),
            contents: vec![pb::message_body::Content {
                r#type: Some(0),
                text: Some(format!("text {n}")),
                ..Default::default()
            }],
            ..Default::default()
        },
    }
}

/// The lead of `imspec fuzz` (a message lost about once in 30 runs of 2000 cases): bob acks
/// the last meta of queue `carol`; the server finds the queue empty and answers `isLast`; before
/// that answer is written, a new message from carol is queued and its NOTICE sent. Bob must get
/// the answer first: a client that gets the NOTICE while it is still pulling `carol` ignores it
/// (3.6.3's `checkArray(_queues)`), then drops the queue on `isLast`, and never pulls the message.
#[tokio::test]
async fn an_answer_computed_before_a_message_was_queued_comes_before_its_notice() {
    let mut spec = WorldSpec::default();
    let user = || UserSpec {
        password: "pw".into(),
        ..Default::default()
    };
    spec.users.insert("bob".into(), user());
    let server = FakeServer::start(spec).await.unwrap();
    let control = server.control();
    let mut bob = Client::login(&server, "bob").await;
    let first = control.deliver(text(1)).await.unwrap();
    assert!(matches!(bob.next().await, Frame::Notice(q) if q == "carol"));
    let queue = jid::user("org#app", "carol");
    bob.sync(CommSyncUl {
        queue: Some(queue.clone()),
        ..Default::default()
    })
    .await;
    let Frame::Dl(dl) = bob.next().await else {
        panic!("the pull's answer")
    };
    assert_eq!(dl.next_key, Some(first));

    let (in_gap, go_on) = arm(&server, "bob");
    bob.sync(CommSyncUl {
        queue: Some(queue),
        key: Some(first),
        ..Default::default()
    })
    .await;
    in_gap.await.expect("bob's ack handled");
    // the answer to the ack is decided (the queue is empty): a second message comes now
    let second = control.deliver(text(2)).await.unwrap();
    go_on.send(()).unwrap();

    let frames = [bob.next().await, bob.next().await];
    let [Frame::Dl(answer), Frame::Notice(noticed)] = &frames else {
        panic!("the ack's answer must come before the NOTICE of message {second}, got {frames:?}");
    };
    assert_eq!(answer.is_last, Some(true));
    assert!(answer.metas.is_empty());
    assert_eq!(noticed, "carol");
    server.shutdown().await;
}
