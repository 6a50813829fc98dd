//! What the server's recorder saw of one user during a case, in a few lines: the evidence a
//! "no callback" finding carries, so a rare one that does not reproduce still says whether the
//! message was lost on the server's side (never sent to the user, or never pulled) or on the
//! client's (sent, then dropped).
//!
//! Reads observations only; it judges nothing.

use crate::server::BARRIER_QUEUE;
use crate::server::observe::{Observation, ObservationKind, TransportWhat};
use crate::wire::pb::{self, m_sync::Command};
use crate::wire::{Direction, frame};
use prost::Message as _;

/// At most this many frames are listed (the last ones).
const MAX_FRAMES: usize = 40;

/// Whether a `CommSyncDL` carrying meta `id` went to `user`, then `user`'s frames in order
/// (`↓` from the server, `↑` from the client; the barrier queue named `barrier`) and socket
/// events, from `observations` (those of the case).
pub fn user_frames(observations: &[Observation], user: &str, id: &str) -> String {
    let mut carried = Vec::new();
    let mut frames = Vec::new();
    for o in observations {
        match &o.kind {
            ObservationKind::Frame(f) if f.user.as_deref() == Some(user) => {
                let Ok(msync) = frame::decode_msync(&f.bytes) else {
                    frames.push(format!("conn {} undecodable frame", f.conn));
                    continue;
                };
                let (line, metas) = describe(f.direction, &msync);
                if f.direction == Direction::ServerToClient
                    && metas.iter().any(|m| m.to_string() == id)
                {
                    carried.push(format!("#{} (conn {}, {line})", o.seq, f.conn));
                }
                frames.push(format!("#{} {line}", o.seq));
            }
            ObservationKind::Transport(t) if t.user.as_deref() == Some(user) => {
                let what = match &t.what {
                    TransportWhat::Opened { .. } => "opened".to_string(),
                    TransportWhat::ClosedByClient => "closed by client".to_string(),
                    TransportWhat::ClosedByServer { code, .. } => {
                        format!("closed by server {code}")
                    }
                    TransportWhat::BadFrame { error, .. } => format!("bad frame: {error}"),
                };
                frames.push(format!("#{} conn {} {what}", o.seq, t.conn));
            }
            _ => {}
        }
    }
    let sent = if carried.is_empty() {
        format!("no CommSyncDL to {user} carried meta {id}")
    } else {
        format!(
            "a CommSyncDL carrying meta {id} went to {user}: {}",
            carried.join(", ")
        )
    };
    let skipped = frames.len().saturating_sub(MAX_FRAMES);
    let listed = frames[skipped..].join(", ");
    let more = if skipped > 0 {
        format!("({skipped} earlier left out) ")
    } else {
        String::new()
    };
    format!("{sent}\n  {user}'s frames since the case began: {more}{listed}")
}

/// One frame in a few words, and the ids of the metas it carries.
fn describe(direction: Direction, msync: &pb::MSync) -> (String, Vec<u64>) {
    let arrow = match direction {
        Direction::ServerToClient => "↓",
        Direction::ClientToServer => "↑",
    };
    let payload = msync.payload.as_deref().unwrap_or_default();
    let command = msync.command.unwrap_or(Command::Sync as i32);
    let (what, metas) = match Command::try_from(command) {
        Ok(Command::Notice) => match pb::CommNotice::decode(payload) {
            Ok(n) => (format!("NOTICE {}", queue(n.queue.as_ref())), Vec::new()),
            Err(_) => ("NOTICE ?".to_string(), Vec::new()),
        },
        Ok(Command::Sync) if direction == Direction::ClientToServer => {
            match pb::CommSyncUl::decode(payload) {
                Ok(ul) if ul.meta.is_some() => {
                    let id = ul.meta.and_then(|m| m.id).unwrap_or(0);
                    (format!("meta {id}"), Vec::new())
                }
                Ok(ul) => {
                    let key = ul.key.map_or(String::new(), |k| format!(" key {k}"));
                    (
                        format!("pull {}{key}", queue(ul.queue.as_ref())),
                        Vec::new(),
                    )
                }
                Err(_) => ("SYNC ?".to_string(), Vec::new()),
            }
        }
        Ok(Command::Sync) => match pb::CommSyncDl::decode(payload) {
            Ok(dl) if dl.queue.is_none() => {
                let id = dl.meta_id.unwrap_or(0);
                (format!("ack of meta {id}"), Vec::new())
            }
            Ok(dl) => {
                let ids: Vec<u64> = dl.metas.iter().filter_map(|m| m.id).collect();
                let listed: Vec<String> = ids.iter().map(u64::to_string).collect();
                let last = if dl.is_last == Some(true) {
                    " last"
                } else {
                    ""
                };
                (
                    format!(
                        "DL {} [{}]{last}",
                        queue(dl.queue.as_ref()),
                        listed.join(" ")
                    ),
                    ids,
                )
            }
            Err(_) => ("SYNC ?".to_string(), Vec::new()),
        },
        Ok(other) => (other.as_str_name().to_string(), Vec::new()),
        Err(_) => (format!("command {command}"), Vec::new()),
    };
    (format!("{arrow}{what}"), metas)
}

/// A queue's name, `barrier` for the settle's, `?` when absent.
fn queue(jid: Option<&pb::Jid>) -> String {
    match jid.and_then(|j| j.name.as_deref()) {
        Some(BARRIER_QUEUE) => "barrier".to_string(),
        Some(name) => name.to_string(),
        None => "?".to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::server::observe::{FrameRecord, Transport};
    use crate::wire::frame::server_msync;
    use crate::wire::jid;
    use serde_json::Value;

    fn observed(seq: u64, direction: Direction, msync: &pb::MSync) -> Observation {
        Observation {
            seq,
            virtual_ms: 0,
            kind: ObservationKind::Frame(FrameRecord {
                conn: 2,
                user: Some("bob".into()),
                transport: Transport::Sockjs,
                direction,
                view: Value::Null,
                bytes: msync.encode_to_vec(),
            }),
        }
    }

    #[test]
    fn names_the_dl_that_carried_the_meta_and_the_pulls() {
        let room = jid::conference("org#app", "r1");
        let notice = server_msync(
            Command::Notice,
            &pb::CommNotice {
                queue: Some(room.clone()),
            },
        );
        let pull = server_msync(
            Command::Sync,
            &pb::CommSyncUl {
                queue: Some(room.clone()),
                ..Default::default()
            },
        );
        let dl = server_msync(
            Command::Sync,
            &pb::CommSyncDl {
                queue: Some(room.clone()),
                metas: vec![pb::Meta {
                    id: Some(7),
                    ..Default::default()
                }],
                next_key: Some(7),
                ..Default::default()
            },
        );
        let log = [
            observed(0, Direction::ServerToClient, &notice),
            observed(1, Direction::ClientToServer, &pull),
            observed(2, Direction::ServerToClient, &dl),
        ];
        let text = user_frames(&log, "bob", "7");
        assert!(text.starts_with("a CommSyncDL carrying meta 7 went to bob: #2"));
        assert!(text.ends_with("#0 ↓NOTICE r1, #1 ↑pull r1, #2 ↓DL r1 [7]"));
        assert!(user_frames(&log, "bob", "8").starts_with("no CommSyncDL to bob carried meta 8"));
    }
}
