//! Unit tests of recall, conversations and delayed answers in the session logic (split from
//! `session_tests.rs`, whose helpers they use).

use super::*;

fn recall_body(mid: u64) -> MessageBody {
    MessageBody {
        r#type: Some(BodyType::Recall as i32),
        from: Some(jid::name_only("alice")),
        to: Some(jid::name_only("bob")),
        ack_message_id: Some(mid),
        ..Default::default()
    }
}

#[test]
fn recall_runs_on_the_virtual_clock_and_reaches_the_peer() {
    let mut w = world();
    let mut alice = login(&mut w, "alice");
    let bob_jid = jid::user("org#app", "bob");
    let sent = alice.handle(
        &chat_meta(1, bob_jid.clone(), &text("alice", "bob", "hi")),
        NOW,
        &mut w,
    );
    let mid = sync_dl(&sent[0]).server_id.unwrap();
    // someone else's message
    let mut bob = login(&mut w, "bob");
    let alice_jid = jid::user("org#app", "alice");
    let effects = bob.handle(&chat_meta(2, alice_jid, &recall_body(mid)), NOW, &mut w);
    assert_eq!(
        code(sync_dl(&effects[0]).status),
        (1, Some("not the sender of the message".into()))
    );
    // at the window's end: accepted, routed to bob
    let window = w.spec().recall_window_ms;
    let effects = alice.handle(
        &chat_meta(3, bob_jid.clone(), &recall_body(mid)),
        NOW + window,
        &mut w,
    );
    assert_eq!(code(sync_dl(&effects[0]).status).0, 0);
    assert!(matches!(&effects[1], Effect::Notify { user, .. } if user == "bob"));
    // once recalled it is unknown
    let effects = alice.handle(
        &chat_meta(4, bob_jid.clone(), &recall_body(mid)),
        NOW + window,
        &mut w,
    );
    assert_eq!(
        code(sync_dl(&effects[0]).status),
        (1, Some("message not found".into()))
    );
    // past the window
    let sent = alice.handle(
        &chat_meta(5, bob_jid.clone(), &text("alice", "bob", "late")),
        NOW,
        &mut w,
    );
    let late = sync_dl(&sent[0]).server_id.unwrap();
    let effects = alice.handle(
        &chat_meta(6, bob_jid, &recall_body(late)),
        NOW + window + 1,
        &mut w,
    );
    assert_eq!(
        code(sync_dl(&effects[0]).status),
        (1, Some("exceed recall time limit".into()))
    );
}

#[test]
fn a_delay_fault_holds_the_senders_answer_but_routes_the_message() {
    let mut w = world();
    let mut alice = login(&mut w, "alice");
    w.faults.arm(Fault {
        user: Some("alice".into()),
        on: crate::server::FaultTrigger::Message,
        action: crate::server::FaultAction::Delay { ms: 5_000 },
    });
    let bob_jid = jid::user("org#app", "bob");
    let effects = alice.handle(
        &chat_meta(1, bob_jid, &text("alice", "bob", "hi")),
        NOW,
        &mut w,
    );
    assert!(matches!(&effects[0], Effect::Held { at, .. } if *at == NOW + 5_000));
    assert!(matches!(&effects[1], Effect::Notify { user, .. } if user == "bob"));
}
