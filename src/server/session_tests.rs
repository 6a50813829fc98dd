//! Unit tests of the msync session logic: frames in, effects out, no sockets.

use super::*;
use crate::server::faults::Fault;
use crate::server::{UserSpec, WorldSpec};
use crate::wire::pb::message_body::{Content, Type as BodyType};
use crate::wire::pb::{CommUnreadDl, MessageBody};

const NOW: u64 = 1_700_000_000_000;

fn world() -> World {
    let mut spec = WorldSpec::default();
    for (name, expired) in [("alice", false), ("bob", false), ("carol", true)] {
        let user = UserSpec {
            password: format!("{name}-pw"),
            token_expired: expired,
            ..Default::default()
        };
        spec.users.insert(name.into(), user);
    }
    World::new(spec)
}

fn provision_frame(user: &str, token: &str) -> pb::MSync {
    let resource = format!("webim_{user}");
    let mut guid = jid::user("org#app", user);
    guid.client_resource = Some(resource.clone());
    let provision = Provision {
        os_type: Some(16),
        version: Some("3.6.3".into()),
        resource: Some(resource),
        auth: Some(format!("$t${token}")),
        ..Default::default()
    };
    pb::MSync {
        guid: Some(guid),
        auth: Some(format!("$t${token}")),
        command: Some(Command::Provision as i32),
        payload: Some(provision.encode_to_vec()),
        ..Default::default()
    }
}

fn unread_frame() -> pb::MSync {
    pb::MSync {
        command: Some(Command::Unread as i32),
        ..Default::default()
    }
}

fn sync_frame(ul: CommSyncUl) -> pb::MSync {
    pb::MSync {
        command: Some(Command::Sync as i32),
        payload: Some(ul.encode_to_vec()),
        ..Default::default()
    }
}

fn text(from: &str, to: &str, text: &str) -> MessageBody {
    MessageBody {
        r#type: Some(BodyType::Chat as i32),
        from: Some(jid::name_only(from)),
        to: Some(jid::name_only(to)),
        contents: vec![Content {
            r#type: Some(0),
            text: Some(text.into()),
            ..Default::default()
        }],
        ..Default::default()
    }
}

fn chat_meta(id: u64, to: Jid, body: &MessageBody) -> pb::MSync {
    sync_frame(CommSyncUl {
        meta: Some(Meta {
            id: Some(id),
            to: Some(to),
            ns: Some(NameSpace::Chat as i32),
            payload: Some(body.encode_to_vec()),
            ..Default::default()
        }),
        ..Default::default()
    })
}

fn statistic_meta(id: u64) -> pb::MSync {
    let body = pb::StatisticsBody {
        operation: Some(0),
        ..Default::default()
    };
    sync_frame(CommSyncUl {
        meta: Some(Meta {
            id: Some(id),
            ns: Some(NameSpace::Statistic as i32),
            payload: Some(body.encode_to_vec()),
            ..Default::default()
        }),
        ..Default::default()
    })
}

fn pull_frame(queue: &str, key: Option<u64>) -> pb::MSync {
    sync_frame(CommSyncUl {
        queue: Some(jid::user("org#app", queue)),
        key,
        ..Default::default()
    })
}

/// A logged-in session of `user`.
fn login(world: &mut World, user: &str) -> Session {
    let token = world.login(user, &format!("{user}-pw")).unwrap().token;
    let mut session = Session::default();
    let effects = session.handle(&provision_frame(user, &token), NOW, world);
    assert_eq!(
        provision_of(&effects[0]).status.unwrap().error_code,
        Some(0)
    );
    session
}

fn reply(effect: &Effect) -> &pb::MSync {
    match effect {
        Effect::Reply(msync) => msync,
        other => panic!("expected a reply, got {other:?}"),
    }
}

fn decoded<M: prost::Message + Default>(msync: &pb::MSync) -> M {
    M::decode(msync.payload.as_deref().unwrap_or_default()).unwrap()
}

fn provision_of(effect: &Effect) -> Provision {
    decoded(reply(effect))
}

fn sync_dl(effect: &Effect) -> CommSyncDl {
    let msync = reply(effect);
    assert_eq!(msync.command, Some(Command::Sync as i32));
    decoded(msync)
}

fn unread_dl(effect: &Effect) -> CommUnreadDl {
    let msync = reply(effect);
    assert_eq!(msync.command, Some(Command::Unread as i32));
    decoded(msync)
}

fn code(status: Option<Status>) -> (i32, Option<String>) {
    let status = status.unwrap();
    (status.error_code.unwrap(), status.reason)
}

#[test]
fn provision_ok_answers_status_and_resource_only() {
    let mut w = world();
    let token = w.login("alice", "alice-pw").unwrap().token;
    let mut session = Session::default();
    let effects = session.handle(&provision_frame("alice", &token), NOW, &mut w);
    assert_eq!(effects.len(), 1);
    let msync = reply(&effects[0]);
    assert_eq!(msync.command, Some(Command::Provision as i32));
    assert_eq!((msync.guid.as_ref(), msync.auth.as_ref()), (None, None));
    let provision: Provision = decoded(msync);
    let expected = Provision {
        status: Some(ok()),
        resource: Some("webim_alice".into()),
        ..Default::default()
    };
    assert_eq!(provision, expected);
    assert_eq!(session.online_user(), Some("alice"));
}

#[test]
fn provision_refusals_keep_the_session_open_but_offline() {
    let mut w = world();
    let carol = w.login("carol", "carol-pw").unwrap().token;
    let alice = w.login("alice", "alice-pw").unwrap().token;
    let cases = [
        (
            "carol",
            carol.as_str(),
            ErrorCode::TokenExpired,
            "token expired",
        ),
        (
            "alice",
            "YWMt-nobody-9",
            ErrorCode::Unauthorized,
            "invalid token",
        ),
        (
            "bob",
            alice.as_str(),
            ErrorCode::Unauthorized,
            "invalid token",
        ),
    ];
    for (user, token, expected, reason) in cases {
        let mut session = Session::default();
        let effects = session.handle(&provision_frame(user, token), NOW, &mut w);
        assert_eq!(effects.len(), 1, "{user}");
        let provision = provision_of(&effects[0]);
        assert_eq!(
            code(provision.status),
            (expected as i32, Some(reason.into()))
        );
        assert_eq!(provision.resource, None);
        assert_eq!(session.user(), Some(user));
        assert_eq!(session.online_user(), None);
        let effects = session.handle(&unread_frame(), NOW, &mut w);
        let (c, _) = code(unread_dl(&effects[0]).status);
        assert_eq!(c, ErrorCode::Unauthorized as i32);
    }
}

#[test]
fn statistic_metas_are_acked_with_sequential_server_ids() {
    let mut w = world();
    let mut alice = login(&mut w, "alice");
    for (meta_id, server_id) in [(11, 900_000_000_000_000_001), (12, 900_000_000_000_000_002)] {
        let effects = alice.handle(&statistic_meta(meta_id), NOW + 5, &mut w);
        assert_eq!(effects.len(), 1);
        let dl = sync_dl(&effects[0]);
        let expected = CommSyncDl {
            status: Some(ok()),
            meta_id: Some(meta_id),
            server_id: Some(server_id),
            timestamp: Some(NOW + 5),
            ..Default::default()
        };
        assert_eq!(dl, expected);
    }
}

#[test]
fn single_chat_is_acked_queued_noticed_pulled_and_acked_away() {
    let mut w = world();
    let mut alice = login(&mut w, "alice");
    let mut bob = login(&mut w, "bob");
    let body = text("alice", "bob", "hello bob");
    let effects = alice.handle(
        &chat_meta(530, jid::user("org#app", "bob"), &body),
        NOW,
        &mut w,
    );
    assert_eq!(effects.len(), 2);
    let ack = sync_dl(&effects[0]);
    assert_eq!(code(ack.status), (0, None));
    assert_eq!(
        (ack.meta_id, ack.server_id),
        (Some(530), Some(900_000_000_000_000_001))
    );
    let alice_queue = jid::user("org#app", "alice");
    assert_eq!(
        effects[1],
        Effect::Notify {
            user: "bob".into(),
            msync: notice(alice_queue.clone())
        }
    );

    let effects = bob.handle(&unread_frame(), NOW + 1, &mut w);
    let unread = unread_dl(&effects[0]);
    assert_eq!(unread.unread.len(), 1);
    assert_eq!(unread.unread[0].queue.as_ref(), Some(&alice_queue));
    assert_eq!(
        (unread.unread[0].n, unread.timestamp),
        (Some(1), Some(NOW + 1))
    );

    let dl = sync_dl(&bob.handle(&pull_frame("alice", None), NOW + 2, &mut w)[0]);
    assert_eq!(
        (dl.is_last, dl.next_key),
        (Some(false), Some(900_000_000_000_000_001))
    );
    assert_eq!(dl.queue.as_ref(), Some(&alice_queue));
    let meta = &dl.metas[0];
    assert_eq!(meta.id, Some(900_000_000_000_000_001));
    let from = meta.from.as_ref().unwrap();
    assert_eq!(from.client_resource.as_deref(), Some("webim_alice"));
    assert_eq!(from.app_key.as_deref(), Some("org#app"));
    assert_eq!(meta.to, Some(jid::user("org#app", "bob")));
    assert_eq!((meta.timestamp, meta.ns), (Some(NOW), Some(1)));
    assert_eq!(meta.payload.as_deref(), Some(&body.encode_to_vec()[..]));

    let dl = sync_dl(&bob.handle(&pull_frame("alice", dl.next_key), NOW + 3, &mut w)[0]);
    let expected = CommSyncDl {
        status: Some(ok()),
        next_key: Some(0),
        queue: Some(alice_queue),
        is_last: Some(true),
        timestamp: Some(NOW + 3),
        ..Default::default()
    };
    assert_eq!(dl, expected);
    assert!(
        unread_dl(&bob.handle(&unread_frame(), NOW, &mut w)[0])
            .unread
            .is_empty()
    );
}

#[test]
fn a_key_deletes_only_up_to_itself() {
    let mut w = world();
    let mut alice = login(&mut w, "alice");
    let mut bob = login(&mut w, "bob");
    for id in 1..=3 {
        alice.handle(
            &chat_meta(id, jid::user("org#app", "bob"), &text("alice", "bob", "x")),
            NOW,
            &mut w,
        );
    }
    let dl = sync_dl(
        &bob.handle(
            &pull_frame("alice", Some(900_000_000_000_000_002)),
            NOW,
            &mut w,
        )[0],
    );
    assert_eq!(dl.metas.len(), 1);
    assert_eq!(
        (dl.is_last, dl.next_key),
        (Some(false), Some(900_000_000_000_000_003))
    );
}

#[test]
fn offline_recipients_find_messages_at_login() {
    let mut w = world();
    let mut alice = login(&mut w, "alice");
    alice.handle(
        &chat_meta(1, jid::user("org#app", "bob"), &text("alice", "bob", "x")),
        NOW,
        &mut w,
    );
    let mut bob = login(&mut w, "bob");
    let unread = unread_dl(&bob.handle(&unread_frame(), NOW, &mut w)[0]);
    assert_eq!(unread.unread[0].n, Some(1));
}

#[test]
fn unknown_recipients_and_groups() {
    let mut w = world();
    let mut alice = login(&mut w, "alice");
    let effects = alice.handle(
        &chat_meta(1, jid::user("org#app", "zed"), &text("alice", "zed", "x")),
        NOW,
        &mut w,
    );
    assert_eq!(effects.len(), 1);
    assert_eq!(code(sync_dl(&effects[0]).status), (0, None));

    let effects = alice.handle(
        &chat_meta(
            2,
            jid::conference("org#app", "g1"),
            &text("alice", "g1", "x"),
        ),
        NOW,
        &mut w,
    );
    assert_eq!(effects.len(), 1);
    let dl = sync_dl(&effects[0]);
    assert_eq!(code(dl.status), (1, Some("group not found".into())));
    assert_eq!(
        (dl.meta_id, dl.server_id),
        (Some(2), Some(900_000_000_000_000_002))
    );
}

#[test]
fn group_messages_fan_out_to_members_queues() {
    let mut spec = WorldSpec::default();
    for name in ["alice", "bob", "carol"] {
        let user = UserSpec {
            password: format!("{name}-pw"),
            ..Default::default()
        };
        spec.users.insert(name.into(), user);
    }
    spec.groups.insert(
        "g1".into(),
        crate::server::GroupSpec {
            owner: "alice".into(),
            members: vec!["bob".into(), "carol".into()],
            ..Default::default()
        },
    );
    let mut w = World::new(spec);
    let mut alice = login(&mut w, "alice");
    let g1 = jid::conference("org#app", "g1");
    let effects = alice.handle(
        &chat_meta(1, g1.clone(), &text("alice", "g1", "x")),
        NOW,
        &mut w,
    );
    assert_eq!(code(sync_dl(&effects[0]).status), (0, None));
    let notified: Vec<&str> = effects[1..]
        .iter()
        .map(|e| match e {
            Effect::Notify { user, .. } => user.as_str(),
            other => panic!("expected a notice, got {other:?}"),
        })
        .collect();
    assert_eq!(notified, ["bob", "carol"]);
    for member in ["bob", "carol"] {
        let pending = w.pending(member, &g1);
        assert_eq!(pending.len(), 1, "{member}");
        assert_eq!(
            pending[0].from.as_ref().and_then(|j| j.domain.as_deref()),
            Some(jid::CONFERENCE_DOMAIN)
        );
    }
    assert!(
        w.pending("alice", &g1).is_empty(),
        "the sender gets no copy"
    );
}

#[test]
fn faults_replace_the_normal_answer_once() {
    let mut w = world();
    let mut alice = login(&mut w, "alice");
    let mut bob = login(&mut w, "bob");
    let to_bob = |id| chat_meta(id, jid::user("org#app", "bob"), &text("alice", "bob", "x"));
    w.faults.arm(Fault {
        user: Some("bob".into()),
        on: FaultTrigger::Message,
        action: FaultAction::Drop,
    });
    w.faults.arm(Fault {
        user: None,
        on: FaultTrigger::Message,
        action: FaultAction::Status {
            code: 7,
            reason: Some("sensitive words".into()),
        },
    });
    let effects = alice.handle(&to_bob(1), NOW, &mut w);
    assert_eq!(effects.len(), 1, "answered, not routed");
    let dl = sync_dl(&effects[0]);
    assert_eq!(code(dl.status), (7, Some("sensitive words".into())));
    assert_eq!(
        (dl.meta_id, dl.server_id),
        (Some(1), Some(900_000_000_000_000_001))
    );
    assert!(
        unread_dl(&bob.handle(&unread_frame(), NOW, &mut w)[0])
            .unread
            .is_empty()
    );
    assert_eq!(alice.handle(&to_bob(2), NOW, &mut w).len(), 2, "fired once");

    assert!(
        bob.handle(
            &chat_meta(3, jid::user("org#app", "alice"), &text("bob", "alice", "x")),
            NOW,
            &mut w
        )
        .is_empty()
    );

    w.faults.arm(Fault {
        user: Some("alice".into()),
        on: FaultTrigger::Unread,
        action: FaultAction::Status {
            code: 1,
            reason: None,
        },
    });
    let dl = unread_dl(&alice.handle(&unread_frame(), NOW, &mut w)[0]);
    assert_eq!((code(dl.status), dl.timestamp), ((1, None), None));

    w.faults.arm(Fault {
        user: None,
        on: FaultTrigger::Unread,
        action: FaultAction::Close {
            code: 3000,
            reason: "Go away!".into(),
        },
    });
    let effects = alice.handle(&unread_frame(), NOW, &mut w);
    assert_eq!(
        effects,
        vec![Effect::Close {
            code: 3000,
            reason: "Go away!".into()
        }]
    );

    w.faults.arm(Fault {
        user: Some("bob".into()),
        on: FaultTrigger::Provision,
        action: FaultAction::Status {
            code: 6,
            reason: Some("token expired".into()),
        },
    });
    let token = w.login("bob", "bob-pw").unwrap().token;
    let mut again = Session::default();
    let effects = again.handle(&provision_frame("bob", &token), NOW, &mut w);
    assert_eq!(
        code(provision_of(&effects[0]).status),
        (6, Some("token expired".into()))
    );
    assert_eq!(again.online_user(), None);
}

#[test]
fn bad_input_is_reported_not_answered() {
    let mut w = world();
    let mut alice = login(&mut w, "alice");
    let garbage = pb::MSync {
        command: Some(Command::Sync as i32),
        payload: Some(vec![0xff, 0xff, 0xff]),
        ..Default::default()
    };
    let cases = [
        garbage,
        pb::MSync {
            command: Some(42),
            ..Default::default()
        },
        pb::MSync {
            command: Some(Command::Notice as i32),
            ..Default::default()
        },
        sync_frame(CommSyncUl::default()),
    ];
    for frame in cases {
        let effects = alice.handle(&frame, NOW, &mut w);
        assert!(
            matches!(effects.as_slice(), [Effect::Bad(_)]),
            "{effects:?}"
        );
    }
    assert_eq!(alice.online_user(), Some("alice"));
}

#[test]
fn kicks_queue_a_statistic_meta_from_admin() {
    let mut w = world();
    let mut carol = login(&mut w, "bob");
    let effect = admin_statistic(
        &mut w,
        "bob",
        pb::statistics_body::Operation::UserLoginAnotherDevice,
        NOW,
    );
    let admin = jid::user("org#app", "admin");
    assert_eq!(
        effect,
        Effect::Notify {
            user: "bob".into(),
            msync: notice(admin)
        }
    );
    let dl = sync_dl(&carol.handle(&pull_frame("admin", None), NOW, &mut w)[0]);
    let meta = &dl.metas[0];
    assert_eq!(
        (meta.ns, meta.from.as_ref().and_then(|j| j.name.as_deref())),
        (Some(0), Some("admin"))
    );
    let body: pb::StatisticsBody =
        pb::StatisticsBody::decode(meta.payload.as_deref().unwrap()).unwrap();
    assert_eq!(body.operation, Some(2));
}

#[path = "session_recall_tests.rs"]
mod recall;

#[path = "session_4x_tests.rs"]
mod generation_4x;
