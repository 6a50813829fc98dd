//! The numbers the 3.x SDK hands to `fail(e)` / `onError(e)` as `e.type`, as an open newtype so
//! that an unknown code survives a round trip (the h2 `Reason` pattern).
//!
//! Source: the SDK's `statusCode` table (module 7 of the 3.6.3 bundle; wire notes section 7), and
//! for the codes the 4.x generation added, the 4.x wire notes (`websdk-4.x-and-agora-chat.md`).

use std::fmt;

/// An `e.type` value of the 3.x Web SDK.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SdkErrorType(pub u32);

impl SdkErrorType {
    /// WEBIM_CONNCTION_USER_NOT_ASSIGN_ERROR: empty user.
    pub const USER_NOT_ASSIGNED: Self = Self(0);
    /// WEBIM_CONNCTION_OPEN_ERROR: the token request failed ("login failed").
    pub const OPEN_ERROR: Self = Self(1);
    /// WEBIM_CONNCTION_DISCONNECTED: the socket closed while logged in.
    pub const DISCONNECTED: Self = Self(16);
    /// WEBIM_CONNCTION_AJAX_ERROR: an HTTP request got a non-200 answer.
    pub const AJAX_ERROR: Self = Self(17);
    /// WEBIM_CONNCTION_APPKEY_NOT_ASSIGN_ERROR: missing or malformed appKey.
    pub const APPKEY_NOT_ASSIGNED: Self = Self(27);
    /// WEBIM_CONNCTION_CALLBACK_INNER_ERROR: an exception while handling a frame.
    pub const CALLBACK_INNER_ERROR: Self = Self(31);
    /// WEBIM_CONNECTION_ERROR: PROVISION answered with a non-OK status.
    pub const CONNECTION_ERROR: Self = Self(40);
    /// WEBIM_CONNCTION_USER_REMOVED.
    pub const USER_REMOVED: Self = Self(207);
    /// WEBIM_CONNCTION_USER_LOGIN_ANOTHER_DEVICE.
    pub const USER_LOGIN_ANOTHER_DEVICE: Self = Self(206);
    /// WEBIM_CONNCTION_USER_KICKED_BY_CHANGE_PASSWORD.
    pub const USER_KICKED_BY_CHANGE_PASSWORD: Self = Self(216);
    /// WEBIM_CONNCTION_USER_KICKED_BY_OTHER_DEVICE.
    pub const USER_KICKED_BY_OTHER_DEVICE: Self = Self(217);
    /// MESSAGE_INCLUDE_ILLEGAL_CONTENT.
    pub const MESSAGE_INCLUDE_ILLEGAL_CONTENT: Self = Self(501);
    /// MESSAGE_EXTERNAL_LOGIC_BLOCKED.
    pub const MESSAGE_EXTERNAL_LOGIC_BLOCKED: Self = Self(502);
    /// SERVER_UNKNOWN_ERROR.
    pub const SERVER_UNKNOWN_ERROR: Self = Self(503);
    /// MESSAGE_RECALL_TIME_LIMIT.
    pub const MESSAGE_RECALL_TIME_LIMIT: Self = Self(504);
    /// SERVICE_NOT_ENABLED.
    pub const SERVICE_NOT_ENABLED: Self = Self(505);
    /// SERVICE_NOT_ALLOW_MESSAGING.
    pub const SERVICE_NOT_ALLOW_MESSAGING: Self = Self(506);
    /// GROUP_NOT_JOINED.
    pub const GROUP_NOT_JOINED: Self = Self(602);
    /// PERMISSION_DENIED.
    pub const PERMISSION_DENIED: Self = Self(603);
    /// WEBIM_LOAD_MSG_ERROR.
    pub const WEBIM_LOAD_MSG_ERROR: Self = Self(604);
    /// GROUP_NOT_EXIST.
    pub const GROUP_NOT_EXIST: Self = Self(605);

    // Added by the 4.x generation (easemob-websdk 4.x, agora-chat 1.x; wire notes 4.x, sections 1
    // and 4), beside the 3.x codes above, which 4.x keeps for the same send failures.

    /// 4.x: a non-OK PROVISION status without a more specific mapping (3.x: 40).
    pub const V4_PROVISION_FAILED: Self = Self(2);
    /// 4.x WEBIM_CONNCTION_TOKEN_NOT_ASSIGN_ERROR: PROVISION FAIL "Sorry, token or password does
    /// not match login info".
    pub const V4_TOKEN_MISMATCH: Self = Self(28);
    /// 4.x WEBIM_TOKEN_EXPIRED: PROVISION FAIL "Sorry, token expired".
    pub const V4_TOKEN_EXPIRED: Self = Self(56);
    /// 4.x WEBIM_UPLOADFILE_ERROR: an attachment upload failed (the send rejects with it).
    pub const V4_UPLOADFILE_ERROR: Self = Self(101);
    /// 4.x MESSAGE_SEND_USER_MUTED (Status.errorCode 7 "user is mute").
    pub const V4_USER_MUTED_TEXT: Self = Self(219);
    /// 4.x USER_NOT_FRIEND: reason `nonroster`.
    pub const V4_USER_NOT_FRIEND: Self = Self(221);
    /// 4.x MESSAGE_CURRENT_USER_MUTED: Status.errorCode USER_MUTED (3.x: `onMutedMessage`).
    pub const V4_MUTED: Self = Self(507);
    /// 4.x MESSAGE_MODERATION_BLOCKED: a reason containing `moderation`.
    pub const V4_MODERATION_BLOCKED: Self = Self(508);
    /// 4.x MESSAGE_CURRENT_LIMITING: "traffic limit".
    pub const V4_TRAFFIC_LIMIT: Self = Self(509);
    /// 4.x MESSAGE_SIZE_LIMIT: "Sorry, data is too large".
    pub const V4_SIZE_LIMIT: Self = Self(511);
    /// 4.x MESSAGE_SEND_TIMEOUT: no server ack within 15 s (the SDK then reconnects).
    pub const V4_SEND_TIMEOUT: Self = Self(512);
    /// 4.x GROUP_IS_DISABLED: reason `group is disabled`.
    pub const V4_GROUP_DISABLED: Self = Self(608);
}

impl fmt::Display for SdkErrorType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}
