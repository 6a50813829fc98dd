//! What the world allows: where an uplink message goes (a user, or everyone in a group or chat
//! room) and which of the real server's refusals it meets instead (wire notes section 7:
//! group not found, not a member, muted, white list, blocked, sensitive words, external
//! callback).
//!
//! Pure decisions over the world's description; it stores nothing and sends nothing. Storing
//! and notifying is `session.rs`; the recall window lives with recall handling there too.

use super::world::World;
use super::{GroupSpec, WorldSpec};
use crate::wire::jid;
use crate::wire::pb::{
    Jid, MessageBody, Status, message_body::Type as BodyType, status::ErrorCode,
};

/// The reasons the 3.x SDK matches exactly (`switch(c.status.reason)`, wire notes section 7).
pub(crate) mod reason {
    /// `FAIL` → SDK type 603.
    pub const BLOCKED: &str = "blocked";
    /// `FAIL` → SDK type 605.
    pub const GROUP_NOT_FOUND: &str = "group not found";
    /// `FAIL` → SDK type 602.
    pub const NOT_IN_GROUP: &str = "not in group or chatroom";
    /// `FAIL` → SDK type 506.
    pub const NOT_IN_WHITE_LIST: &str = "not in group or chatroom white list";
    /// `PERMISSION_DENIED` → SDK type 501.
    pub const SENSITIVE_WORDS: &str = "sensitive words";
    /// `PERMISSION_DENIED_EXTERNAL` → SDK type 502 (any reason).
    pub const EXTERNAL_CALLBACK: &str = "rejected by external callback";
    /// `USER_MUTED` → `onMutedMessage`.
    pub const MUTED: &str = "user muted";
    /// `PERMISSION_DENIED`: a text or custom message past the service's size limit. The 4.x
    /// SDKs map it to 511 MESSAGE_SIZE_LIMIT (wire-4.x section 1, the send failure table), so
    /// this is how the real server refuses one; 3.6.3 knows no such reason (604).
    pub const TOO_LARGE: &str = "Sorry, data is too large";
}

/// Where an admitted message goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Destination {
    /// A single chat: the recipient's queue named after the sender. The recipient may not
    /// exist; the message is then acknowledged and dropped.
    User(String),
    /// A group or chat room: the queue named after it, for everyone in it but the sender.
    Conference {
        /// The group's or room's id (the JID name).
        id: String,
        /// Who gets it.
        recipients: Vec<String>,
    },
}

/// Decides where `sender`'s message `body` to `to` goes, or the status the server refuses it
/// with. Receipts and recalls (`READ_ACK`, `DELIVER_ACK`, `CHANNEL_ACK`, `RECALL`) are routed
/// the same way but meet none of the content rules.
pub(crate) fn admit(
    world: &World,
    sender: &str,
    to: &Jid,
    body: &MessageBody,
) -> Result<Destination, Status> {
    let spec = world.spec();
    let name = jid::name_of(Some(to)).to_string();
    let content = matches!(
        BodyType::try_from(body.r#type.unwrap_or_default()),
        Ok(BodyType::Chat | BodyType::Groupchat | BodyType::Chatroom)
    );
    if !jid::is_conference(to) {
        if content
            && spec
                .users
                .get(&name)
                .is_some_and(|user| user.blocks.iter().any(|b| b == sender))
        {
            return Err(fail(reason::BLOCKED));
        }
        if content {
            content_rules(spec, body)?;
        }
        return Ok(Destination::User(name));
    }
    let Some(group) = conference(spec, &name) else {
        return Err(fail(reason::GROUP_NOT_FOUND));
    };
    if !group.has_member(sender) {
        return Err(fail(reason::NOT_IN_GROUP));
    }
    if content {
        if group.muted.iter().any(|m| m == sender) {
            return Err(status(ErrorCode::UserMuted, reason::MUTED));
        }
        if let Some(white_list) = &group.white_list
            && group.owner != sender
            && !white_list.iter().any(|w| w == sender)
        {
            return Err(fail(reason::NOT_IN_WHITE_LIST));
        }
        content_rules(spec, body)?;
    }
    let recipients = group
        .everyone()
        .into_iter()
        .filter(|member| member != sender)
        .collect();
    Ok(Destination::Conference {
        id: name,
        recipients,
    })
}

/// The group or chat room with this id.
pub(crate) fn conference<'w>(spec: &'w WorldSpec, id: &str) -> Option<&'w GroupSpec> {
    spec.groups.get(id).or_else(|| spec.rooms.get(id))
}

/// The service's size limit for text and custom messages (`message_limit_bytes`, of the encoded
/// body), then the app-wide text filters: the sensitive-word list, then the external callback.
fn content_rules(spec: &WorldSpec, body: &MessageBody) -> Result<(), Status> {
    use crate::wire::pb::message_body::content::Type as ContentType;
    let limited = body.contents.iter().any(|c| {
        matches!(
            ContentType::try_from(c.r#type.unwrap_or_default()),
            Ok(ContentType::Text | ContentType::Custom)
        )
    });
    if limited && prost::Message::encoded_len(body) > spec.message_limit_bytes {
        return Err(status(ErrorCode::PermissionDenied, reason::TOO_LARGE));
    }
    let texts: Vec<&str> = body
        .contents
        .iter()
        .filter_map(|c| c.text.as_deref())
        .collect();
    let contains = |words: &[String]| {
        words
            .iter()
            .any(|w| !w.is_empty() && texts.iter().any(|t| t.contains(w.as_str())))
    };
    if contains(&spec.sensitive_words) {
        return Err(status(ErrorCode::PermissionDenied, reason::SENSITIVE_WORDS));
    }
    if contains(&spec.callback_rejects) {
        return Err(status(
            ErrorCode::PermissionDeniedExternal,
            reason::EXTERNAL_CALLBACK,
        ));
    }
    Ok(())
}

fn fail(reason: &str) -> Status {
    status(ErrorCode::Fail, reason)
}

fn status(code: ErrorCode, reason: &str) -> Status {
    Status {
        error_code: Some(code as i32),
        reason: Some(reason.to_string()),
        redirect_info: Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::server::UserSpec;
    use crate::wire::pb::message_body::Content;

    fn world() -> World {
        let mut spec = WorldSpec::default();
        for name in ["alice", "bob", "carol"] {
            spec.users.insert(name.into(), UserSpec::default());
        }
        spec.users.get_mut("bob").unwrap().blocks = vec!["carol".into()];
        spec.groups.insert(
            "g1".into(),
            GroupSpec {
                owner: "alice".into(),
                members: vec!["bob".into()],
                muted: vec!["bob".into()],
                white_list: None,
            },
        );
        spec.rooms.insert(
            "r1".into(),
            GroupSpec {
                owner: "alice".into(),
                members: vec!["bob".into(), "carol".into()],
                muted: Vec::new(),
                white_list: Some(vec!["bob".into()]),
            },
        );
        spec.sensitive_words = vec!["darn".into()];
        spec.callback_rejects = vec!["nope".into()];
        World::new(spec)
    }

    fn text(t: BodyType, text: &str) -> MessageBody {
        MessageBody {
            r#type: Some(t as i32),
            contents: vec![Content {
                text: Some(text.into()),
                ..Default::default()
            }],
            ..Default::default()
        }
    }

    fn refused(result: Result<Destination, Status>) -> (i32, String) {
        let status = result.expect_err("refused");
        (status.error_code.unwrap(), status.reason.unwrap())
    }

    #[test]
    fn texts_and_custom_messages_past_the_size_limit_are_too_large_other_types_are_not() {
        use crate::wire::pb::message_body::content::Type as ContentType;
        let w = world();
        let bob = jid::user("org#app", "bob");
        let limit = w.spec().message_limit_bytes;
        let long = "x".repeat(limit);
        assert_eq!(
            refused(admit(&w, "alice", &bob, &text(BodyType::Chat, &long))),
            (ErrorCode::PermissionDenied as i32, reason::TOO_LARGE.into())
        );
        let within = "x".repeat(limit - 64);
        assert!(admit(&w, "alice", &bob, &text(BodyType::Chat, &within)).is_ok());
        let mut custom = text(BodyType::Chat, "");
        custom.contents[0].r#type = Some(ContentType::Custom as i32);
        custom.contents[0].custom_event = Some(long.clone());
        assert_eq!(
            refused(admit(&w, "alice", &bob, &custom)).1,
            reason::TOO_LARGE
        );
        // a command's action has no documented limit
        let mut command = custom.clone();
        command.contents[0].r#type = Some(ContentType::Command as i32);
        assert!(admit(&w, "alice", &bob, &command).is_ok());
    }

    #[test]
    fn single_chat_rules() {
        let w = world();
        let bob = jid::user("org#app", "bob");
        let hi = text(BodyType::Chat, "hi");
        assert_eq!(
            admit(&w, "alice", &bob, &hi),
            Ok(Destination::User("bob".into()))
        );
        assert_eq!(
            refused(admit(&w, "carol", &bob, &hi)),
            (1, "blocked".into())
        );
        let darn = text(BodyType::Chat, "oh darn it");
        assert_eq!(refused(admit(&w, "alice", &bob, &darn)).0, 7);
        assert_eq!(
            refused(admit(&w, "alice", &bob, &text(BodyType::Chat, "nope"))).0,
            19
        );
        // A read ack from a blocked user is not a message.
        let ack = MessageBody {
            r#type: Some(BodyType::ReadAck as i32),
            ..Default::default()
        };
        assert!(admit(&w, "carol", &bob, &ack).is_ok());
    }

    #[test]
    fn conference_rules() {
        let w = world();
        let g1 = jid::conference("org#app", "g1");
        let r1 = jid::conference("org#app", "r1");
        let gone = jid::conference("org#app", "gone");
        let hi = text(BodyType::Groupchat, "hi");
        assert_eq!(
            admit(&w, "alice", &g1, &hi),
            Ok(Destination::Conference {
                id: "g1".into(),
                recipients: vec!["bob".into()]
            })
        );
        assert_eq!(
            refused(admit(&w, "alice", &gone, &hi)),
            (1, "group not found".into())
        );
        assert_eq!(
            refused(admit(&w, "carol", &g1, &hi)),
            (1, "not in group or chatroom".into())
        );
        assert_eq!(refused(admit(&w, "bob", &g1, &hi)).0, 15);
        let room = text(BodyType::Chatroom, "hi");
        assert_eq!(
            refused(admit(&w, "carol", &r1, &room)),
            (1, "not in group or chatroom white list".into())
        );
        assert!(admit(&w, "bob", &r1, &room).is_ok());
        assert!(admit(&w, "alice", &r1, &room).is_ok());
    }
}
