//! Identity normalisation: the client's description of itself on the wire, replaced by named
//! placeholders before a transcript is compared with its snapshot, so that snapshots judge
//! behaviour, not which build of an SDK sent the frames.
//!
//! What is identity, all read from the client's own PROVISION (`payload.Provision`):
//! - `version`, the SDK's version string: `<sdk-version>`, only when it is the `sdkVersion` the
//!   driver's `hello` reported (a PROVISION that claims another version than `hello` stays, so
//!   the difference shows);
//! - `deviceName`: `<device-name>`, and so the resource prefix the SDK builds from it
//!   (`<deviceName>_<deviceUuid>`, in `resource`, `guid.clientResource` and in full JIDs such as
//!   `org#app_alice@easemob.com/webim_<ms>`);
//! - `osType`: `<os-type>`.
//!
//! The user agent is not part of a transcript (HTTP headers are not recorded), so there is
//! nothing to normalise for it. The fields are read off the raw frames and replaced in the
//! transcript's lines once `transcript`'s normaliser is done with them (so its masking of
//! clock digits in resources still sees them); this module must not touch ids, timestamps or
//! tokens.

use crate::driver::Hello;
use crate::server::observe::{Observation, ObservationKind};
use crate::wire::Direction;
use serde_json::Value;

/// The placeholder of the SDK's version string.
pub const SDK_VERSION: &str = "<sdk-version>";
/// The placeholder of the device name (and the resource prefix built from it).
pub const DEVICE_NAME: &str = "<device-name>";
/// The placeholder of the OS type.
pub const OS_TYPE: &str = "<os-type>";

/// What a client said about itself: from its first PROVISION and its `hello`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Identity {
    /// `Provision.version`, when it is `hello`'s `sdkVersion`.
    pub version: Option<String>,
    /// `Provision.deviceName`.
    pub device_name: Option<String>,
    /// `Provision.osType`.
    pub os_type: Option<String>,
}

impl Identity {
    /// Reads the identity off the client's PROVISION frames (the first that names each field),
    /// keeping the version only when `hello` reported the same one.
    pub fn of(observations: &[Observation], hello: Option<&Hello>) -> Identity {
        let mut identity = Identity::default();
        for o in observations {
            let ObservationKind::Frame(f) = &o.kind else {
                continue;
            };
            if f.direction != Direction::ClientToServer {
                continue;
            }
            let Some(provision) = f.view.pointer("/payload/Provision") else {
                continue;
            };
            let text = |key: &str| {
                provision
                    .get(key)
                    .and_then(Value::as_str)
                    .filter(|s| !s.is_empty())
                    .map(String::from)
            };
            if identity.version.is_none() {
                identity.version = text("version").filter(|v| {
                    hello.is_some_and(|h| !h.sdk_version.is_empty() && h.sdk_version == *v)
                });
            }
            identity.device_name = identity.device_name.or_else(|| text("deviceName"));
            identity.os_type = identity.os_type.or_else(|| text("osType"));
        }
        identity
    }

    /// One transcript line (already normalised by `transcript`, so clock digits are `<ms>`)
    /// with this identity replaced by placeholders: the `Provision` fields by their JSON form
    /// (`"version":"3.6.3"`), the resource prefix where a string or a JID's resource starts
    /// with it (`"webim_`, `/webim_`).
    pub fn normalise_line(&self, line: &str) -> String {
        let mut line = line.to_string();
        for (key, known, placeholder) in [
            ("version", &self.version, SDK_VERSION),
            ("deviceName", &self.device_name, DEVICE_NAME),
            ("osType", &self.os_type, OS_TYPE),
        ] {
            if let Some(known) = known {
                let from = format!("\"{key}\":{}", Value::from(known.as_str()));
                let to = format!("\"{key}\":\"{placeholder}\"");
                line = line.replace(&from, &to);
            }
        }
        if let Some(device) = &self.device_name {
            let json = Value::from(format!("{device}_")).to_string();
            let prefix = json.trim_end_matches('"');
            let bare = &prefix[1..];
            line = line
                .replace(prefix, &format!("\"{DEVICE_NAME}_"))
                .replace(&format!("/{bare}"), &format!("/{DEVICE_NAME}_"));
        }
        line
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const PROVISION: &str = r#"c2s PROVISION {"guid":{"name":"alice","clientResource":"webim_<ms>"},"payload":{"Provision":{"osType":"OS_OTHER","version":"VERSION","deviceName":"webim","resource":"webim_<ms>"}}}"#;

    fn identity(version: &str, hello_version: &str) -> Identity {
        Identity {
            version: (version == hello_version).then(|| version.to_string()),
            device_name: Some("webim".into()),
            os_type: Some("OS_OTHER".into()),
        }
    }

    #[test]
    fn a_build_that_differs_only_in_its_version_string_normalises_to_the_same_line() {
        let pinned =
            identity("3.6.3", "3.6.3").normalise_line(&PROVISION.replace("VERSION", "3.6.3"));
        let altered =
            identity("3.6.9", "3.6.9").normalise_line(&PROVISION.replace("VERSION", "3.6.9"));
        assert_eq!(pinned, altered);
        assert_eq!(
            pinned,
            r#"c2s PROVISION {"guid":{"name":"alice","clientResource":"<device-name>_<ms>"},"payload":{"Provision":{"osType":"<os-type>","version":"<sdk-version>","deviceName":"<device-name>","resource":"<device-name>_<ms>"}}}"#
        );
    }

    #[test]
    fn a_provision_that_contradicts_hello_keeps_its_version() {
        let line =
            identity("3.0.0", "3.6.3").normalise_line(&PROVISION.replace("VERSION", "3.0.0"));
        assert!(line.contains(r#""version":"3.0.0""#), "{line}");
    }

    #[test]
    fn resources_in_jids_are_renamed_and_other_text_is_not() {
        let line = r#"s2c SYNC {"from":"org#app_alice@easemob.com/webim_<ms>","msg":"webim is a word","to":"bob@easemob.com"}"#;
        assert_eq!(
            identity("3.6.3", "3.6.3").normalise_line(line),
            r#"s2c SYNC {"from":"org#app_alice@easemob.com/<device-name>_<ms>","msg":"webim is a word","to":"bob@easemob.com"}"#
        );
    }
}
