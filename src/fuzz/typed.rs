//! The structure-aware input of the `typed_frame` fuzz target (feature `arbitrary`): an
//! `MSync` whose payload is one of the schema's nested messages, and metas whose payloads are
//! bodies of the namespace they name, each built by `arbitrary` from the fuzzer's bytes. Raw
//! bytes rarely get past the outer protobuf layer; typed parts reach every nested decoder.
//!
//! Builds frames only; the invariants are the raw targets' own (`targets.rs`).

use super::targets;
use crate::wire::pb::{self, m_sync::Command, meta::NameSpace};
use prost::Message as _;

/// A frame built from typed parts.
#[derive(Debug, Clone, arbitrary::Arbitrary)]
pub struct TypedFrame {
    /// The outer frame; its `command` and `payload` are set from [`TypedFrame::payload`].
    pub msync: pb::MSync,
    /// The nested message.
    pub payload: TypedPayload,
    /// Which way the frame travels (server to client when set).
    pub server_to_client: bool,
}

/// The nested message of an `MSync`, by command.
#[derive(Debug, Clone, arbitrary::Arbitrary)]
pub enum TypedPayload {
    /// No payload (an UNREAD request), the command left as generated.
    None,
    /// PROVISION.
    Provision(Box<pb::Provision>),
    /// SYNC uplink, with the body of its meta.
    SyncUl(Box<pb::CommSyncUl>, Option<Box<MetaBody>>),
    /// SYNC downlink, with the bodies of its metas.
    SyncDl(pb::CommSyncDl, Vec<MetaBody>),
    /// UNREAD downlink.
    UnreadDl(pb::CommUnreadDl),
    /// NOTICE.
    Notice(pb::CommNotice),
    /// LOGOUT.
    Logout(pb::Logout),
}

/// A meta's body, by namespace.
#[derive(Debug, Clone, arbitrary::Arbitrary)]
pub enum MetaBody {
    /// `STATISTIC`.
    Statistics(pb::StatisticsBody),
    /// `CHAT`.
    Message(pb::MessageBody),
    /// `MUC`.
    Muc(pb::MucBody),
    /// `ROSTER`.
    Roster(pb::RosterBody),
    /// `CONFERENCE`.
    Conference(pb::ConferenceBody),
}

impl MetaBody {
    /// Puts this body into `meta`, with the namespace that names its type.
    fn fill(&self, meta: &mut pb::Meta) {
        let (ns, payload) = match self {
            MetaBody::Statistics(b) => (NameSpace::Statistic, b.encode_to_vec()),
            MetaBody::Message(b) => (NameSpace::Chat, b.encode_to_vec()),
            MetaBody::Muc(b) => (NameSpace::Muc, b.encode_to_vec()),
            MetaBody::Roster(b) => (NameSpace::Roster, b.encode_to_vec()),
            MetaBody::Conference(b) => (NameSpace::Conference, b.encode_to_vec()),
        };
        meta.ns = Some(ns as i32);
        meta.payload = Some(payload);
    }
}

impl TypedFrame {
    /// The frame's protobuf bytes.
    pub fn encode(&self) -> Vec<u8> {
        let mut msync = self.msync.clone();
        let (command, payload) = match &self.payload {
            TypedPayload::None => return msync.encode_to_vec(),
            TypedPayload::Provision(p) => (Command::Provision, p.encode_to_vec()),
            TypedPayload::SyncUl(ul, body) => {
                let mut ul = (**ul).clone();
                if let Some(body) = body {
                    body.fill(ul.meta.get_or_insert_default());
                }
                (Command::Sync, ul.encode_to_vec())
            }
            TypedPayload::SyncDl(dl, bodies) => {
                let mut dl = dl.clone();
                for (meta, body) in dl.metas.iter_mut().zip(bodies) {
                    body.fill(meta);
                }
                (Command::Sync, dl.encode_to_vec())
            }
            TypedPayload::UnreadDl(dl) => (Command::Unread, dl.encode_to_vec()),
            TypedPayload::Notice(n) => (Command::Notice, n.encode_to_vec()),
            TypedPayload::Logout(l) => (Command::Logout, l.encode_to_vec()),
        };
        msync.command = Some(command as i32);
        msync.payload = Some(payload);
        msync.encode_to_vec()
    }
}

/// The `typed_frame` target: the frame's canonical view (as [`targets::canonical_view`]), and,
/// for an uplink frame, the server's inbound path on a raw WebSocket after alice's PROVISION
/// (as [`targets::inbound`]).
pub fn typed_frame(frame: &TypedFrame) {
    let bytes = frame.encode();
    let direction = u8::from(frame.server_to_client);
    targets::canonical_view(&[&[direction][..], &bytes].concat());
    if !frame.server_to_client {
        let mut input = vec![1];
        targets::write_record(&mut input, targets::BINARY, &alice_provision());
        targets::write_record(&mut input, targets::BINARY, &bytes);
        targets::inbound(&input);
    }
}

/// A PROVISION the inbound target's server accepts: alice with her token.
fn alice_provision() -> Vec<u8> {
    let auth = "$t$YWMt-alice-1".to_string();
    let provision = pb::Provision {
        resource: Some("webim_1".into()),
        auth: Some(auth.clone()),
        ..Default::default()
    };
    pb::MSync {
        guid: Some(crate::wire::jid::user("org#app", "alice")),
        auth: Some(auth),
        command: Some(Command::Provision as i32),
        payload: Some(provision.encode_to_vec()),
        ..Default::default()
    }
    .encode_to_vec()
}
