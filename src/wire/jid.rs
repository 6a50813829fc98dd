//! JIDs as the SDK builds them: `{appKey, name, domain, clientResource}`, with the two domains
//! of the 3.x wire (`easemob.com` for users, `conference.easemob.com` for groups and rooms).

use super::pb::Jid;

/// Domain of user JIDs.
pub const USER_DOMAIN: &str = "easemob.com";
/// Domain of group and chat room JIDs.
pub const CONFERENCE_DOMAIN: &str = "conference.easemob.com";

/// A user's bare JID.
pub fn user(app_key: &str, name: &str) -> Jid {
    Jid {
        app_key: Some(app_key.to_string()),
        name: Some(name.to_string()),
        domain: Some(USER_DOMAIN.to_string()),
        client_resource: None,
    }
}

/// A group's or chat room's JID.
pub fn conference(app_key: &str, name: &str) -> Jid {
    Jid {
        app_key: Some(app_key.to_string()),
        name: Some(name.to_string()),
        domain: Some(CONFERENCE_DOMAIN.to_string()),
        client_resource: None,
    }
}

/// A JID holding only a name, as in `MessageBody.from` / `MessageBody.to`.
pub fn name_only(name: &str) -> Jid {
    Jid {
        name: Some(name.to_string()),
        ..Default::default()
    }
}

/// The JID's name, or `""`.
pub fn name_of(jid: Option<&Jid>) -> &str {
    jid.and_then(|j| j.name.as_deref()).unwrap_or("")
}

/// Whether the JID is in the conference domain (a group or chat room).
pub fn is_conference(jid: &Jid) -> bool {
    jid.domain.as_deref() == Some(CONFERENCE_DOMAIN)
}
