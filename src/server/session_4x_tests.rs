//! Unit tests of what the session does for the 4.x generation (easemob-websdk 4.x, agora-chat):
//! the PROVISION with `authToken` and `sessionId` and no `Provision.auth`, LZ4 negotiation, and
//! LOGOUT (split from `session_tests.rs`, whose helpers they use).

use super::*;

/// A 4.x PROVISION: the token in `MSync.auth` and in `authToken` JSON, never in `Provision.auth`.
fn provision_4x(user: &str, token: &str, offer_lz4: bool, msync_auth: bool) -> pb::MSync {
    let mut frame = provision_frame(user, token);
    let mut provision: Provision = decoded(&frame);
    provision.auth = None;
    provision.version = Some("4.21.1".into());
    provision.action_version = Some("v5.2".into());
    provision.auth_token = Some(format!("{{\"token\":\"$t${token}\"}}"));
    provision.session_id = Some("1795637184033:".into());
    if offer_lz4 {
        provision.protocol_compress_type = vec![CompressType::CompressLz4 as i32];
    }
    frame.payload = Some(provision.encode_to_vec());
    if !msync_auth {
        frame.auth = None;
    }
    frame
}

#[test]
fn a_4x_provision_is_accepted_by_its_auth_token_and_gets_its_session_id_back() {
    let mut w = world();
    let token = w.login("alice", "alice-pw").unwrap().token;
    let mut alice = Session::default();
    let effects = alice.handle(&provision_4x("alice", &token, false, false), NOW, &mut w);
    let answer = provision_of(&effects[0]);
    assert_eq!(code(answer.status), (0, None));
    assert_eq!(answer.session_id.as_deref(), Some("1795637184033:"));
    assert!(answer.protocol_compress_type.is_empty());
    assert!(!alice.lz4_uplink());
    assert_eq!(alice.online_user(), Some("alice"));
}

#[test]
fn lz4_is_accepted_only_when_the_world_allows_it_and_the_client_offers_it() {
    let mut w = world();
    let token = w.login("alice", "alice-pw").unwrap().token;
    let mut alice = Session::default();
    alice.handle(&provision_4x("alice", &token, true, true), NOW, &mut w);
    assert!(!alice.lz4_uplink(), "the world does not allow LZ4");

    let mut spec = w.spec().clone();
    spec.lz4 = true;
    let mut w = World::new(spec);
    let token = w.login("alice", "alice-pw").unwrap().token;
    let mut alice = Session::default();
    let effects = alice.handle(&provision_4x("alice", &token, true, true), NOW, &mut w);
    let answer = provision_of(&effects[0]);
    assert_eq!(
        answer.protocol_compress_type,
        vec![CompressType::CompressLz4 as i32]
    );
    assert_eq!(
        answer.protocol_compress_direction,
        Some(CompressDirection::OnlyUp as i32)
    );
    assert!(alice.lz4_uplink());

    // agora-chat never offers it.
    let token = w.login("bob", "bob-pw").unwrap().token;
    let mut bob = Session::default();
    bob.handle(&provision_4x("bob", &token, false, true), NOW, &mut w);
    assert!(!bob.lz4_uplink());
}

#[test]
fn logout_is_taken_without_an_answer() {
    let mut w = world();
    let mut alice = login(&mut w, "alice");
    let logout = pb::MSync {
        command: Some(Command::Logout as i32),
        payload: Some(
            pb::Logout {
                session_id: Some("1795637184033:".into()),
                reason: Some("inner:logout".into()),
                status: None,
            }
            .encode_to_vec(),
        ),
        ..Default::default()
    };
    assert!(alice.handle(&logout, NOW, &mut w).is_empty());
}
