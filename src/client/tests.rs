//! Unit tests of the reference client against what the real SDK 3.6.3 sent and passed
//! (`docs/observed-session-3.6.3.txt`, the bundle's receive function).

use super::faults::{Fault, Faults};
use super::incoming::{self, Context, Dispatch, MsgCache};
use super::outgoing::{self, Body, Identity, Kind, ProvisionFields};
use crate::wire::pb::{self, Jid, Meta};
use crate::wire::{Direction, canonical, frame, jid};
use prost::Message as _;
use serde_json::{Value, json};

/// The PROVISION frame the real SDK 3.6.3 sent (wire notes section 1).
const SDK_PROVISION: &str = "CAASMgoHb3JnI2FwcBIFYWxpY2UaC2Vhc2Vtb2IuY29tIhN3ZWJpbV8xNzk1NjI2NzY0Mjk5GgwkdCRUT0stYWxpY2VAA0pGCBASBTMuNi4zKAAwAEoNMTc5NTYyNjc2NDI5OWIFd2ViaW1qE3dlYmltXzE3OTU2MjY3NjQyOTlyDCR0JFRPSy1hbGljZVAAWAA=";

fn alice(resource: &str) -> Identity {
    Identity {
        jid: Jid {
            client_resource: Some(resource.into()),
            ..jid::user("org#app", "alice")
        },
        user: "alice".into(),
        app_key: "org#app".into(),
        msync_version: 0,
        encrypt_type: vec![0],
    }
}

fn view(msync: &pb::MSync) -> Value {
    canonical::msync(Direction::ClientToServer, &frame::encode_msync(msync))
}

#[test]
fn provision_is_byte_identical_to_the_sdk() {
    let fields = ProvisionFields::new("3.6.3", "webim", 1795626764299, vec![0]);
    let identity = alice(&fields.resource);
    let msync = outgoing::provision(&identity, &fields, "TOK-alice");
    assert_eq!(frame::encode_base64_msync(&msync), SDK_PROVISION);
}

#[test]
fn unread_and_statistic_carry_only_what_the_sdk_sets() {
    let identity = alice("webim_1");
    assert_eq!(
        view(&outgoing::unread(&identity)),
        json!({"version": "MSYNC_V1", "command": "UNREAD", "encryptType": ["ENCRYPT_NONE"]})
    );
    assert_eq!(
        view(&outgoing::statistic(&identity, 1795626764320)),
        json!({"version": "MSYNC_V1", "command": "SYNC",
            "payload": {"CommSyncUL": {"meta": {"id": "1795626764320", "ns": "STATISTIC",
                "payload": {"StatisticsBody": {"operation": "INFORMATION"}}}}},
            "encryptType": ["ENCRYPT_NONE"]})
    );
    let queue = jid::user("org#app", "bob");
    let pull = view(&outgoing::backqueue(&identity, Some(&queue)));
    assert_eq!(
        pull["payload"],
        json!({"CommSyncUL": {"queue": {"appKey": "org#app", "name": "bob", "domain": "easemob.com"}}})
    );
    let ack = view(&outgoing::lastsession(
        &identity,
        900000000000000005,
        Some(&queue),
    ));
    assert_eq!(ack["payload"]["CommSyncUL"]["key"], "900000000000000005");
}

fn send(kind: Kind, args: Value, faults: &Faults) -> Value {
    let body = Body::set(kind, 530644364630, args.as_object().unwrap());
    view(&outgoing::message(
        &alice("webim_1795626764299"),
        &body,
        faults,
    ))
}

#[test]
fn a_text_with_ext_of_every_type_is_built_as_the_sdk_builds_it() {
    let args = json!({"type": "txt", "to": "bob", "msg": "hello bob",
        "ext": {"s": "str", "i": 42, "neg": -7, "f": 1.5, "b": true, "bf": false, "o": {"k": [1, 2]}, "n": null}});
    let frame = send(Kind::Txt, args, &Faults::none());
    let resource = "webim_1795626764299";
    assert_eq!(
        frame,
        json!({"version": "MSYNC_V1",
            "guid": {"appKey": "org#app", "name": "alice", "domain": "easemob.com", "clientResource": resource},
            "command": "SYNC",
            "payload": {"CommSyncUL": {"meta": {"id": "530644364630",
                "from": {"appKey": "org#app", "name": "alice", "domain": "easemob.com", "clientResource": resource},
                "to": {"appKey": "org#app", "name": "bob", "domain": "easemob.com"},
                "ns": "CHAT",
                "payload": {"MessageBody": {"type": "CHAT", "from": {"name": "alice"}, "to": {"name": "bob"},
                    "contents": [{"type": "TEXT", "text": "hello bob"}],
                    "ext": [{"key": "s", "type": "STRING", "stringValue": "str"},
                        {"key": "i", "type": "INT", "varintValue": "42"},
                        {"key": "neg", "type": "INT", "varintValue": "-7"},
                        {"key": "f", "type": "DOUBLE", "doubleValue": 1.5},
                        {"key": "b", "type": "BOOL", "varintValue": "1"},
                        {"key": "bf", "type": "BOOL", "varintValue": "0"},
                        {"key": "o", "type": "JSON_STRING", "stringValue": "{\"k\":[1,2]}"},
                        {"key": "n", "type": "JSON_STRING", "stringValue": "null"}]}}}}},
            "encryptType": ["ENCRYPT_NONE"]})
    );
    let broken = send(
        Kind::Txt,
        json!({"to": "bob", "msg": "x", "ext": {"i": 42}}),
        &Faults::none().with(Fault::WrongExtType),
    );
    let ext = &broken["payload"]["CommSyncUL"]["meta"]["payload"]["MessageBody"]["ext"][0];
    assert_eq!(ext["type"], "DOUBLE");
}

fn body_of(frame: &Value) -> &Value {
    &frame["payload"]["CommSyncUL"]["meta"]["payload"]["MessageBody"]
}

#[test]
fn receipts_group_text_and_other_kinds_match_the_observed_bodies() {
    let none = Faults::none();
    let read = send(
        Kind::Read,
        json!({"id": "900000000000000005", "to": "bob"}),
        &none,
    );
    assert_eq!(
        body_of(&read),
        &json!({"type": "READ_ACK", "from": {"name": "alice"}, "to": {"name": "bob"},
            "contents": [{}], "ackMessageId": "900000000000000005"})
    );
    let delivery = send(
        Kind::Delivery,
        json!({"ackId": "900000000000000005", "to": "bob"}),
        &none,
    );
    assert_eq!(body_of(&delivery)["type"], "DELIVER_ACK");
    let channel = send(Kind::Channel, json!({"to": "bob"}), &none);
    assert_eq!(
        body_of(&channel),
        &json!({"type": "CHANNEL_ACK", "from": {"name": "alice"}, "to": {"name": "bob"}, "contents": [{}]})
    );
    let recall = send(
        Kind::Recall,
        json!({"mid": "900000000000000022", "to": "bob", "chatType": "chat"}),
        &none,
    );
    assert_eq!(body_of(&recall)["type"], "RECALL");
    assert_eq!(body_of(&recall)["ackMessageId"], "900000000000000022");
    let group = send(
        Kind::Txt,
        json!({"to": "g1", "msg": "to group", "chatType": "groupChat"}),
        &none,
    );
    let meta = &group["payload"]["CommSyncUL"]["meta"];
    assert_eq!(
        meta["from"],
        json!({"appKey": "org#app", "name": "alice", "domain": "conference.easemob.com"})
    );
    assert_eq!(
        meta["to"],
        json!({"appKey": "org#app", "name": "g1", "domain": "conference.easemob.com"})
    );
    assert_eq!(body_of(&group)["type"], "GROUPCHAT");
    let room = send(
        Kind::Txt,
        json!({"to": "room1", "msg": "to room", "chatType": "chatRoom"}),
        &none,
    );
    assert_eq!(body_of(&room)["type"], "CHATROOM");
    let cmd = send(
        Kind::Cmd,
        json!({"to": "bob", "action": "doThing", "ext": {"x": 1}}),
        &none,
    );
    assert_eq!(
        body_of(&cmd)["contents"],
        json!([{"type": "COMMAND", "action": "doThing"}])
    );
    let custom = send(
        Kind::Custom,
        json!({"to": "bob", "customEvent": "evt", "customExts": {"a": "1", "n": 2}}),
        &none,
    );
    assert_eq!(
        body_of(&custom)["contents"],
        json!([{"type": "CUSTOM", "customEvent": "evt", "customExts": [
            {"key": "a", "type": "STRING", "stringValue": "1"},
            {"key": "n", "type": "INT", "varintValue": "2"}]}])
    );
    let loc = send(
        Kind::Loc,
        json!({"to": "bob", "lat": 39.9, "lng": 116.4, "addr": "Somewhere 1"}),
        &none,
    );
    assert_eq!(
        body_of(&loc)["contents"],
        json!([{"type": "LOCATION", "latitude": 39.9, "longitude": 116.4, "address": "Somewhere 1"}])
    );
    let img = send(
        Kind::Img,
        json!({"to": "bob", "body": {"url": "http://127.0.0.1:18080/org/app/chatfiles/abc", "secret": "sek",
            "filename": "p.png", "file_length": 1234, "size": {"width": 10, "height": 20}}}),
        &none,
    );
    assert_eq!(
        body_of(&img)["contents"],
        json!([{"type": "IMAGE", "displayName": "p.png", "remotePath": "http://127.0.0.1:18080/org/app/chatfiles/abc",
            "secretKey": "sek", "fileLength": 1234, "size": {"width": 10.0, "height": 20.0}, "thumbnailDisplayName": "p.png"}])
    );
    let as_delivery = send(
        Kind::Read,
        json!({"id": "1", "to": "bob"}),
        &Faults::none().with(Fault::ReadAsDelivery),
    );
    assert_eq!(body_of(&as_delivery)["type"], "DELIVER_ACK");
}

fn incoming_meta(body: pb::MessageBody) -> Meta {
    Meta {
        id: Some(900000000000000005),
        from: Some(Jid {
            client_resource: Some("webim_1795626764299".into()),
            ..jid::user("org#app", "alice")
        }),
        to: Some(jid::user("org#app", "bob")),
        timestamp: Some(1795626764644),
        ns: Some(1),
        payload: Some(body.encode_to_vec()),
        routetype: None,
        ..Default::default()
    }
}

/// `_metapayload` for bob, with an OK status.
fn metapayload(metas: &[Meta], faults: &Faults, cache: &mut MsgCache) -> incoming::Dispatched {
    let cx = Context {
        api_url: "http://127.0.0.1:18080",
        use_own_upload_fun: false,
        token: "TOKEN-bob",
        emoji: None,
        faults,
    };
    let ok = pb::Status {
        error_code: Some(0),
        ..Default::default()
    };
    incoming::metapayload(metas, Some(&ok), &cx, cache)
}

fn dispatch(metas: &[Meta], faults: &Faults) -> Vec<(String, String)> {
    metapayload(metas, faults, &mut MsgCache::default())
        .dispatches
        .into_iter()
        .map(|dispatch| match dispatch {
            Dispatch::Callback((name, data)) => (
                name.to_string(),
                data.map(|d| d.to_string()).unwrap_or_default(),
            ),
            Dispatch::Thrown(thrown) => panic!("a meta threw: {thrown:?}"),
        })
        .collect()
}

fn text_body(ext: Value) -> pb::MessageBody {
    pb::MessageBody {
        r#type: Some(1),
        from: Some(jid::name_only("alice")),
        to: Some(jid::name_only("bob")),
        contents: vec![pb::message_body::Content {
            r#type: Some(0),
            text: Some("hello bob".into()),
            ..Default::default()
        }],
        ext: crate::wire::keyvalue::encode_object(ext.as_object().unwrap()),
        ..Default::default()
    }
}

#[test]
fn on_text_message_has_the_sdk_fields_in_the_sdk_order() {
    let ext = json!({"s": "str", "i": 42, "neg": -7, "f": 1.5, "b": true, "bf": false, "o": {"k": [1, 2]}, "n": null});
    let events = dispatch(&[incoming_meta(text_body(ext))], &Faults::none());
    assert_eq!(
        events,
        vec![(
            "onTextMessage".to_string(),
            r#"{"id":"900000000000000005","type":"chat","contentsType":"TEXT","from":"alice","to":"bob","data":"hello bob","ext":{"s":"str","i":42,"neg":-7,"f":1.5,"b":true,"bf":false,"o":{"k":[1,2]},"n":null},"sourceMsg":"hello bob","time":"1795626764644","msgConfig":null,"error":false,"errorText":"","errorCode":0}"#.to_string()
        )]
    );
    let dropped = dispatch(
        &[incoming_meta(text_body(json!({"k": 1})))],
        &Faults::none().with(Fault::DropExt),
    );
    assert!(!dropped[0].1.contains("\"ext\""));
    let altered = dispatch(
        &[incoming_meta(text_body(json!({})))],
        &Faults::none().with(Fault::WrongText),
    );
    assert!(!altered[0].1.contains("\"data\":\"hello bob\""));
}

#[test]
fn duplicate_metas_are_dispatched_once() {
    let meta = incoming_meta(text_body(json!({})));
    assert_eq!(
        dispatch(&[meta.clone(), meta.clone()], &Faults::none()).len(),
        1
    );
    assert_eq!(
        dispatch(&[meta.clone(), meta], &Faults::none().with(Fault::NoDedupe)).len(),
        2
    );
}

#[test]
fn a_meta_that_does_not_decode_leaves_the_metas_behind_it_in_the_answer_to_be_dispatched() {
    let bad = Meta {
        id: Some(900000000000000004),
        payload: Some(vec![0]),
        ..incoming_meta(text_body(json!({})))
    };
    let good = incoming_meta(text_body(json!({})));
    let kinds = |faults: &Faults, cache: &mut MsgCache| -> Vec<String> {
        metapayload(&[bad.clone(), good.clone()], faults, cache)
            .dispatches
            .iter()
            .map(|d| match d {
                Dispatch::Callback((name, _)) => name.to_string(),
                Dispatch::Thrown(_) => "thrown".to_string(),
            })
            .collect()
    };
    let mut cache = MsgCache::default();
    assert_eq!(
        kinds(&Faults::none(), &mut cache),
        ["thrown", "onTextMessage"]
    );
    assert!(cache.contains("900000000000000005") && !cache.contains("900000000000000004"));
    let as_3_6_3 = Faults::none().with(Fault::DropAfterBadMeta);
    assert_eq!(kinds(&as_3_6_3, &mut MsgCache::default()), ["thrown"]);
}

#[test]
fn acks_and_recall_become_their_callbacks() {
    let ack = |kind: i32| pb::MessageBody {
        r#type: Some(kind),
        from: Some(jid::name_only("bob")),
        to: Some(jid::name_only("alice")),
        contents: vec![Default::default()],
        ack_message_id: if kind == 7 {
            None
        } else {
            Some(900000000000000005)
        },
        ..Default::default()
    };
    let events = dispatch(
        &[4, 5, 6, 7].map(|k| Meta {
            id: Some(900000000000000006 + k as u64),
            ..incoming_meta(ack(k))
        }),
        &Faults::none(),
    );
    let expected = [
        ("onReadMessage", r#"{"mid":"900000000000000005"}"#),
        (
            "onDeliveredMessage",
            r#"{"from":"bob","to":"alice","mid":"900000000000000005"}"#,
        ),
        (
            "onRecallMessage",
            r#"{"from":"bob","to":"alice","mid":"900000000000000005"}"#,
        ),
        ("onChannelMessage", r#"{"from":"bob","to":"alice"}"#),
    ];
    let expected: Vec<(String, String)> = expected
        .iter()
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .collect();
    assert_eq!(events, expected);
}

#[test]
fn other_content_kinds_follow_the_receive_function() {
    use pb::message_body::Content;
    let body = |content: Content| pb::MessageBody {
        contents: vec![content],
        ..text_body(json!({}))
    };
    let events = dispatch(
        &[incoming_meta(body(Content {
            r#type: Some(6),
            action: Some("doThing".into()),
            ..Default::default()
        }))],
        &Faults::none(),
    );
    assert_eq!(
        events[0].1,
        r#"{"id":"900000000000000005","type":"chat","contentsType":"COMMAND","from":"alice","to":"bob","action":"doThing","ext":{},"time":"1795626764644","msgConfig":null,"error":false,"errorText":"","errorCode":0}"#
    );
    let custom = Content {
        r#type: Some(7),
        custom_event: Some("evt".into()),
        custom_exts: crate::wire::keyvalue::encode_object(
            json!({"a": "1", "n": 2}).as_object().unwrap(),
        ),
        ..Default::default()
    };
    let events = dispatch(&[incoming_meta(body(custom))], &Faults::none());
    assert_eq!(
        events[0],
        (
            "onCustomMessage".to_string(),
            r#"{"id":"900000000000000005","type":"chat","contentsType":"CUSTOM","from":"alice","to":"bob","customEvent":"evt","params":{},"customExts":{"a":"1","n":2},"ext":{},"time":"1795626764644"}"#.to_string()
        )
    );
    let image = Content {
        r#type: Some(1),
        display_name: Some("p.png".into()),
        remote_path: Some("http://127.0.0.1:18080/org/app/chatfiles/abc".into()),
        secret_key: Some("sek".into()),
        file_length: Some(1234),
        size: Some(pb::message_body::content::Size {
            width: Some(10.0),
            height: Some(20.0),
        }),
        thumbnail_display_name: Some("p.png".into()),
        ..Default::default()
    };
    let events = dispatch(&[incoming_meta(body(image))], &Faults::none());
    assert_eq!(
        events[0].1,
        r#"{"id":"900000000000000005","type":"chat","contentsType":"IMAGE","from":"alice","to":"bob","url":"http://127.0.0.1:18080/org/app/chatfiles/abc?em-redirect=true&share-secret=sek","secret":"sek","filename":"p.png","thumb":"","thumb_secret":"","file_length":1234,"width":10,"height":20,"filetype":"","accessToken":"TOKEN-bob","ext":{},"time":"1795626764644","msgConfig":null,"error":false,"errorText":"","errorCode":0}"#
    );
}

#[test]
fn statistic_kicks_raise_their_errors() {
    let meta = Meta {
        ns: Some(0),
        payload: Some(
            pb::StatisticsBody {
                operation: Some(2),
                ..Default::default()
            }
            .encode_to_vec(),
        ),
        ..incoming_meta(pb::MessageBody::default())
    };
    let cx = Context {
        api_url: "",
        use_own_upload_fun: false,
        token: "",
        emoji: None,
        faults: &Faults::none(),
    };
    let out = incoming::metapayload(&[meta], None, &cx, &mut MsgCache::default());
    assert!(out.logged_out);
    let Some(Dispatch::Callback((_, Some(data)))) = out.dispatches.first() else {
        panic!("{:?}", out.dispatches);
    };
    assert_eq!(
        data.to_string(),
        r#"{"type":206,"message":"the user is already logged on another device"}"#
    );
}

/// A session fed frames directly, its stdout captured.
async fn session_lines(feed: impl FnOnce(&mut super::connection::Session)) -> Vec<Value> {
    use super::output::{Output, Pending, UserOut};
    use tokio::io::AsyncReadExt as _;
    let (sink, mut source) = tokio::io::duplex(1 << 16);
    let (out, writer) = Output::start(sink);
    let user_out = UserOut {
        out,
        user: "bob".into(),
        pending: Pending::default(),
    };
    let args =
        json!({"password": "pw", "appKey": "org#app", "url": "http://h/ws", "apiUrl": "http://h"});
    let options = super::options::ConnectOptions::from_args(args.as_object().unwrap());
    let mut session = super::connection::Session::new(user_out, options, Faults::none(), 1);
    feed(&mut session);
    drop(session);
    writer.await.unwrap().unwrap();
    let mut text = String::new();
    source.read_to_string(&mut text).await.unwrap();
    text.lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

#[tokio::test]
async fn a_frame_that_is_not_base64_is_error_604_with_the_sockjs_event() {
    let lines = session_lines(|s| s.on_message("!!!not-base64-protobuf!!!", 1795629119414)).await;
    assert_eq!(
        lines,
        vec![
            json!({"event": "onError", "user": "bob", "data": {"type": 604, "message": "decode message error",
            "data": {"name": "InvalidCharacterError",
                "message": "'atob' failed: The string to be decoded is not correctly encoded.",
                "msg": {"type": "message", "bubbles": false, "cancelable": false,
                    "timeStamp": 1795629119414_u64, "data": "!!!not-base64-protobuf!!!"}}}})
        ]
    );
    let truncated = session_lines(|s| s.on_message("CABAAEoF//////8=", 1)).await;
    assert_eq!(truncated[0]["data"]["type"], 604);
}

#[tokio::test]
async fn a_bad_json_string_in_ext_is_604_and_the_key_is_still_acked() {
    let bad = pb::MessageBody {
        ext: vec![pb::KeyValue {
            key: Some("o".into()),
            r#type: Some(8),
            value: Some(pb::key_value::Value::StringValue("{not json".into())),
        }],
        ..text_body(json!({}))
    };
    let dl = pb::CommSyncDl {
        status: Some(pb::Status {
            error_code: Some(0),
            ..Default::default()
        }),
        metas: vec![incoming_meta(bad)],
        next_key: Some(900000000000000005),
        queue: Some(jid::user("org#app", "alice")),
        is_last: Some(false),
        ..Default::default()
    };
    let msync = frame::server_msync(pb::m_sync::Command::Sync, &dl);
    let text = frame::encode_base64_msync(&msync);
    let mut actions = 0;
    let lines = session_lines(|s| {
        s.identity = Some(alice("webim_1"));
        s.on_message(&text, 1);
        actions = s.actions.len();
    })
    .await;
    assert_eq!(lines[0]["data"]["type"], 604);
    assert_eq!(lines[0]["data"]["data"]["name"], "SyntaxError");
    assert_eq!(actions, 1, "the key ack is still sent");
}
