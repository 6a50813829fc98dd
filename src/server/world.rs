//! The server's data: users and passwords, the tokens it issued, the server message id
//! counter, every user's pending message queues, and the armed faults.
//!
//! Plain data behind one lock in `FakeServer`; no I/O, no clock (callers pass `now`), no
//! sockets. Which socket is online lives in `socket.rs`; what a frame means lives in
//! `session.rs`.

use super::WorldSpec;
use super::faults::Armed;
use super::history;
use super::recall;
use crate::wire::jid;
use crate::wire::pb::{Jid, Meta, MetaQueue};
use std::collections::BTreeMap;

/// The first server message id handed out is this plus one (`900000000000000001`), as in the
/// observed session.
const SERVER_ID_BASE: u64 = 900_000_000_000_000_000;

/// A token the server issued on a password login.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Issued {
    /// The opaque access token, deterministic per server (`YWMt-alice-1`).
    pub token: String,
    /// The user's uuid, deterministic per app key and name.
    pub uuid: String,
}

/// Why a password login failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum LoginError {
    /// Unknown user or wrong password (the real server does not tell them apart).
    InvalidGrant,
}

/// Who a token belongs to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct TokenOwner {
    /// The user the token was issued to.
    pub user: String,
    /// Whether the world says this user's tokens are expired.
    pub expired: bool,
}

/// A queue's identity inside one user's mailbox: the queue JID's domain and name (app key and
/// resource are not part of it).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct QueueKey {
    domain: String,
    name: String,
}

impl QueueKey {
    fn of(queue: &Jid) -> Self {
        QueueKey {
            domain: queue
                .domain
                .clone()
                .unwrap_or_else(|| jid::USER_DOMAIN.to_string()),
            name: queue.name.clone().unwrap_or_default(),
        }
    }
}

#[derive(Debug)]
struct Queue {
    /// The queue's bare JID as the server names it in notices and unread lists.
    jid: Jid,
    metas: Vec<Meta>,
}

/// The world of one fake server.
#[derive(Debug)]
pub(crate) struct World {
    spec: WorldSpec,
    tokens: BTreeMap<String, String>,
    tokens_issued: u64,
    last_server_id: u64,
    mailboxes: BTreeMap<String, BTreeMap<QueueKey, Queue>>,
    /// Faults armed by the scenario.
    pub faults: Armed,
    /// Every routed message's sender and time, for recall.
    pub recalls: recall::Ledger,
    /// Conversations: roaming history and unread counts.
    pub history: history::Store,
}

impl World {
    /// A world with the users of `spec`, no tokens and empty queues.
    pub(crate) fn new(spec: WorldSpec) -> Self {
        World {
            spec,
            tokens: BTreeMap::new(),
            tokens_issued: 0,
            last_server_id: SERVER_ID_BASE,
            mailboxes: BTreeMap::new(),
            faults: Armed::default(),
            recalls: recall::Ledger::default(),
            history: history::Store::default(),
        }
    }

    /// The `org#app` app key.
    pub(crate) fn app_key(&self) -> &str {
        &self.spec.app_key
    }

    /// The world as the scenario described it (users, groups, rooms, rules).
    pub(crate) fn spec(&self) -> &WorldSpec {
        &self.spec
    }

    /// Whether `name` is a user of this world.
    pub(crate) fn has_user(&self, name: &str) -> bool {
        self.spec.users.contains_key(name)
    }

    /// A password login: a new token for the user, or why not.
    pub(crate) fn login(&mut self, username: &str, password: &str) -> Result<Issued, LoginError> {
        match self.spec.users.get(username) {
            Some(user) if user.password == password => {}
            _ => return Err(LoginError::InvalidGrant),
        }
        self.tokens_issued += 1;
        let token = format!("YWMt-{username}-{}", self.tokens_issued);
        self.tokens.insert(token.clone(), username.to_string());
        Ok(Issued {
            token,
            uuid: uuid_for(&self.spec.app_key, username),
        })
    }

    /// Who `token` was issued to, if this server issued it.
    pub(crate) fn token_owner(&self, token: &str) -> Option<TokenOwner> {
        let user = self.tokens.get(token)?;
        Some(TokenOwner {
            user: user.clone(),
            expired: self.spec.users.get(user).is_some_and(|u| u.token_expired),
        })
    }

    /// The next server message id (`900000000000000001`, `...002`, ...).
    pub(crate) fn next_server_id(&mut self) -> u64 {
        self.last_server_id += 1;
        self.last_server_id
    }

    /// Appends `meta` to `recipient`'s queue named by `queue` (a bare JID).
    pub(crate) fn push(&mut self, recipient: &str, queue: Jid, meta: Meta) {
        self.mailboxes
            .entry(recipient.to_string())
            .or_default()
            .entry(QueueKey::of(&queue))
            .or_insert_with(|| Queue {
                jid: queue,
                metas: Vec::new(),
            })
            .metas
            .push(meta);
    }

    /// `recipient`'s non-empty queues with their sizes, in a stable order (domain, then name).
    pub(crate) fn unread(&self, recipient: &str) -> Vec<MetaQueue> {
        let Some(mailbox) = self.mailboxes.get(recipient) else {
            return Vec::new();
        };
        mailbox
            .values()
            .filter(|q| !q.metas.is_empty())
            .map(|q| MetaQueue {
                queue: Some(q.jid.clone()),
                n: Some(u32::try_from(q.metas.len()).unwrap_or(u32::MAX)),
            })
            .collect()
    }

    /// The metas waiting in `recipient`'s queue `queue`, oldest first.
    pub(crate) fn pending(&self, recipient: &str, queue: &Jid) -> Vec<Meta> {
        self.mailboxes
            .get(recipient)
            .and_then(|mailbox| mailbox.get(&QueueKey::of(queue)))
            .map(|q| q.metas.clone())
            .unwrap_or_default()
    }

    /// Deletes the metas with id ≤ `key` from `recipient`'s queue `queue` (the client's ack of
    /// a pull); an emptied queue is forgotten.
    pub(crate) fn ack(&mut self, recipient: &str, queue: &Jid, key: u64) {
        let Some(mailbox) = self.mailboxes.get_mut(recipient) else {
            return;
        };
        let queue_key = QueueKey::of(queue);
        if let Some(q) = mailbox.get_mut(&queue_key) {
            q.metas.retain(|meta| meta.id.unwrap_or(0) > key);
            if q.metas.is_empty() {
                mailbox.remove(&queue_key);
            }
        }
    }
}

/// The application's uuid in REST answers (deterministic per app key).
pub(crate) fn app_uuid(app_key: &str) -> String {
    uuid_for(app_key, "")
}

/// A uuid-shaped id that depends only on the app key and the user name (FNV-1a, version 4
/// layout), so transcripts are stable.
fn uuid_for(app_key: &str, name: &str) -> String {
    fn fnv(seed: u64, parts: &[&str]) -> u64 {
        let mut hash = seed;
        for byte in parts.iter().flat_map(|p| p.bytes().chain([0])) {
            hash ^= u64::from(byte);
            hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
        }
        hash
    }
    let hi = fnv(0xcbf2_9ce4_8422_2325, &[app_key, name]);
    let lo = fnv(0x8422_2325_cbf2_9ce4, &[name, app_key]);
    format!(
        "{:08x}-{:04x}-4{:03x}-{:04x}-{:012x}",
        hi >> 32,
        (hi >> 16) & 0xffff,
        hi & 0x0fff,
        0x8000 | ((lo >> 48) & 0x3fff),
        lo & 0xffff_ffff_ffff
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn world() -> World {
        let mut spec = WorldSpec::default();
        spec.users.insert(
            "alice".into(),
            super::super::UserSpec {
                password: "pw".into(),
                ..Default::default()
            },
        );
        World::new(spec)
    }

    #[test]
    fn login_issues_deterministic_tokens() {
        let mut w = world();
        let first = w.login("alice", "pw").unwrap();
        assert_eq!(first.token, "YWMt-alice-1");
        assert_eq!(w.login("alice", "pw").unwrap().token, "YWMt-alice-2");
        assert_eq!(first.uuid, world().login("alice", "pw").unwrap().uuid);
        assert_eq!(first.uuid.len(), 36);
        assert_eq!(w.login("alice", "nope"), Err(LoginError::InvalidGrant));
        assert_eq!(w.login("zed", "pw"), Err(LoginError::InvalidGrant));
        assert_eq!(w.token_owner("YWMt-alice-1").unwrap().user, "alice");
        assert!(w.token_owner("YWMt-zed-1").is_none());
    }

    #[test]
    fn queues_list_and_ack() {
        let mut w = world();
        let q = jid::user("org#app", "bob");
        for id in [5, 6, 7] {
            let meta = Meta {
                id: Some(id),
                ..Default::default()
            };
            w.push("alice", q.clone(), meta);
        }
        assert_eq!(w.unread("alice")[0].n, Some(3));
        w.ack("alice", &jid::name_only("bob"), 6);
        assert_eq!(w.pending("alice", &q).len(), 1);
        w.ack("alice", &q, 7);
        assert!(w.unread("alice").is_empty());
        assert!(w.pending("alice", &q).is_empty());
    }
}
