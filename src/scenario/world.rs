//! The `[world]` table of a scenario file: users, groups, rooms and refusal rules, turned into
//! the fake server's [`World`]. Errors name the field and the known users; this module does not
//! read steps.

use super::{DEFAULT_APP_KEY, DEFAULT_PASSWORD, World};
use crate::server::{DEFAULT_RECALL_WINDOW_MS, GroupSpec, UserSpec};
use serde::Deserialize;
use std::collections::BTreeMap;

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(super) struct WorldModel {
    app_key: Option<String>,
    #[serde(default)]
    users: BTreeMap<String, UserModel>,
    #[serde(default)]
    groups: BTreeMap<String, GroupModel>,
    #[serde(default)]
    rooms: BTreeMap<String, GroupModel>,
    #[serde(default)]
    sensitive_words: Vec<String>,
    #[serde(default)]
    callback_rejects: Vec<String>,
    recall_window_s: Option<u64>,
    recall_enabled: Option<bool>,
    roaming_page_size: Option<usize>,
    #[serde(default)]
    lz4: bool,
    attachment_limit_bytes: Option<usize>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct UserModel {
    password: Option<String>,
    #[serde(default)]
    token_expired: bool,
    #[serde(default)]
    blocks: Vec<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct GroupModel {
    owner: String,
    #[serde(default)]
    members: Vec<String>,
    #[serde(default)]
    muted: Vec<String>,
    white_list: Option<Vec<String>>,
}

impl WorldModel {
    /// The server's world, or what is wrong with this description.
    pub(super) fn into_spec(self) -> Result<World, String> {
        let users: BTreeMap<String, UserSpec> = self
            .users
            .into_iter()
            .map(|(name, u)| {
                let user = UserSpec {
                    password: u.password.unwrap_or_else(|| DEFAULT_PASSWORD.to_string()),
                    token_expired: u.token_expired,
                    blocks: u.blocks,
                };
                (name, user)
            })
            .collect();
        let known = |who: &str, field: &str| -> Result<(), String> {
            if users.contains_key(who) {
                Ok(())
            } else {
                Err(format!(
                    "{field} names `{who}`, who is not in [world.users] (known: {})",
                    users.keys().cloned().collect::<Vec<_>>().join(", ")
                ))
            }
        };
        for (name, user) in &users {
            for blocked in &user.blocks {
                known(blocked, &format!("world.users.{name}.blocks"))?;
            }
        }
        let convert = |kind: &str, models: BTreeMap<String, GroupModel>| {
            let mut specs = BTreeMap::new();
            for (id, g) in models {
                let field = format!("world.{kind}.{id}");
                known(&g.owner, &format!("{field}.owner"))?;
                for who in g
                    .members
                    .iter()
                    .chain(&g.muted)
                    .chain(g.white_list.iter().flatten())
                {
                    known(who, &field)?;
                }
                specs.insert(
                    id,
                    GroupSpec {
                        owner: g.owner,
                        members: g.members,
                        muted: g.muted,
                        white_list: g.white_list,
                    },
                );
            }
            Ok::<_, String>(specs)
        };
        let groups = convert("groups", self.groups)?;
        let rooms = convert("rooms", self.rooms)?;
        if let Some(id) = groups.keys().find(|id| rooms.contains_key(*id)) {
            return Err(format!(
                "`{id}` is both in [world.groups] and [world.rooms]; ids share one namespace"
            ));
        }
        let app_key = self.app_key.unwrap_or_else(|| DEFAULT_APP_KEY.to_string());
        if !app_key.contains('#') {
            return Err(format!(
                "world.app_key {app_key:?} is not of the form org#app"
            ));
        }
        Ok(World {
            app_key,
            users,
            groups,
            rooms,
            sensitive_words: self.sensitive_words,
            callback_rejects: self.callback_rejects,
            recall_window_ms: self
                .recall_window_s
                .map_or(DEFAULT_RECALL_WINDOW_MS, |s| s.saturating_mul(1000)),
            recall_enabled: self.recall_enabled.unwrap_or(true),
            roaming_page_size: self
                .roaming_page_size
                .unwrap_or(crate::server::DEFAULT_ROAMING_PAGE_SIZE),
            lz4: self.lz4,
            message_limit_bytes: crate::server::DEFAULT_MESSAGE_LIMIT_BYTES,
            attachment_limit_bytes: self
                .attachment_limit_bytes
                .unwrap_or(crate::server::DEFAULT_ATTACHMENT_LIMIT_BYTES),
        })
    }
}
