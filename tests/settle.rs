//! Settling by fixpoint (`Control::settle_all`): after one call, everything the clients do on
//! their own in answer to what they received is recorded, including chains across clients (an
//! automatic delivery receipt the server routes back to the sender). No sleeps: the settle is
//! the only wait.

use imspec::driver::Driver;
use imspec::server::observe::ObservationKind;
use imspec::server::{FakeServer, UserSpec, WorldSpec};
use serde_json::json;
use std::time::Duration;
use tokio::time::Instant;

fn world() -> WorldSpec {
    let user = UserSpec {
        password: "password".into(),
        ..Default::default()
    };
    WorldSpec {
        users: [("alice".into(), user.clone()), ("bob".into(), user)]
            .into_iter()
            .collect(),
        ..Default::default()
    }
}

fn soon() -> Instant {
    Instant::now() + Duration::from_secs(10)
}

/// Frames whose decoded view mentions `text`, by direction.
fn frames_with(server: &FakeServer, text: &str) -> Vec<(String, Option<String>)> {
    server
        .recorder()
        .observations()
        .into_iter()
        .filter_map(|o| match o.kind {
            ObservationKind::Frame(f) if f.view.to_string().contains(text) => {
                Some((f.direction.as_str().to_string(), f.user))
            }
            _ => None,
        })
        .collect()
}

#[tokio::test]
async fn one_settle_records_an_automatic_receipt_and_its_routing_back_to_the_sender() {
    let server = FakeServer::start(world()).await.unwrap();
    let urls = server.urls();
    let command = format!("exec '{}' driver", env!("CARGO_BIN_EXE_imspec"));
    let mut driver = Driver::spawn(&command, "settle-test", &[]).unwrap();
    driver.hello(soon()).await.unwrap();
    for (user, options) in [("alice", json!({})), ("bob", json!({"delivery": true}))] {
        let args = json!({"password": "password", "appKey": "org#app", "url": urls.sockjs,
                          "wsUrl": urls.websocket, "apiUrl": urls.api, "options": options});
        let reply = driver
            .call("connect", Some(user), args, soon())
            .await
            .unwrap();
        assert!(reply.ok, "{reply:?}");
    }
    let control = server.control();
    control.settle_all(soon()).await.unwrap();
    // alice's send is answered once the server acked it; bob's client, which receives it, sends
    // a delivery receipt by itself, which the server routes to alice.
    let send = json!({"type": "txt", "to": "bob", "chatType": "singleChat", "msg": "hi"});
    let reply = driver
        .call("send", Some("alice"), send, soon())
        .await
        .unwrap();
    assert!(reply.ok, "{reply:?}");

    let settled = control.settle_all(soon()).await.unwrap();
    assert!(settled.rounds >= 1, "{settled:?}");
    let receipts = frames_with(&server, "DELIVER_ACK");
    assert!(
        receipts.contains(&("c2s".to_string(), Some("bob".to_string())))
            && receipts.contains(&("s2c".to_string(), Some("alice".to_string()))),
        "after one settle the receipt is recorded both ways: {receipts:?}"
    );
    // settled: a further settle takes one round that moves nothing
    let mark = server.recorder().len();
    assert_eq!(control.settle_all(soon()).await.unwrap().rounds, 1);
    assert!(!control.moved_since(mark));
    driver.shutdown(soon()).await.unwrap();
    server.shutdown().await;
}

#[tokio::test]
async fn a_run_with_no_logged_in_client_is_settled_at_once() {
    let server = FakeServer::start(world()).await.unwrap();
    let settled = server.control().settle_all(soon()).await.unwrap();
    assert_eq!(settled.rounds, 0);
    assert_eq!(server.recorder().observations().len(), 0);
    server.shutdown().await;
}
