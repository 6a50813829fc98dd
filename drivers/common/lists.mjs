// The op and callback lists of the driver protocol (DRIVER-PROTOCOL.md): the one source for every
// JavaScript driver (Node and Chromium). No imports: the Chromium driver injects this file into
// its pages as it is (see chromium/page-script.mjs).

/** Protocol versions these drivers speak; `hello` answers with the one asked for (3 adds generated
 * attachments, `file: {name, mime, size}`, `download`'s `parseDownloadResponse`, and `sync`'s
 * `idle` from the Node drivers). */
export const PROTOCOLS = [1, 2, 3];
/** Optional features announced in `hello`'s result (protocol 2): `reset` serves many scenarios;
 * `immediate-callbacks`: every callback an SDK made before a `reset` or `shutdown` is written
 * before its reply (host.mjs flushes every realm first); `sync`: the same for a `sync` request,
 * at any time; `emoji`: `connect` installs its `emoji` argument as the app's `WebIM.Emoji`
 * (sdk-host.mjs). */
export const CAPABILITIES = ['reset', 'immediate-callbacks', 'sync', 'emoji'];
/** The ops of protocol 2 that name no user, beside `hello` and `shutdown`. */
export const V2_OPS = ['reset', 'sync'];
/** Every op the drivers implement (`reset` only from protocol 2 on). */
export const OPS = ['hello', 'connect', 'send', 'recall', 'history', 'sessions', 'download', 'disconnect', 'shutdown'];
/** Ops that name a user and run in that user's realm. */
export const USER_OPS = ['connect', 'send', 'recall', 'history', 'sessions', 'download', 'disconnect'];

// Every callback of conn.listen() under the guide's names (the protocol's list), then the ones
// each generation accepts beside them, forwarded under their own names. 3.6.3 stores
// onDeliveredMessage as onDeliverdMessage internally; listen() takes the guide's name. A name an
// SDK never calls (4.x: onEmojiMessage, onMutedMessage) is registered and never fires.
export const CALLBACKS = [
  'onOpened', 'onClosed', 'onTextMessage', 'onEmojiMessage', 'onPictureMessage', 'onCmdMessage',
  'onAudioMessage', 'onLocationMessage', 'onFileMessage', 'onCustomMessage', 'onVideoMessage',
  'onPresence', 'onRoster', 'onInviteMessage', 'onOnline', 'onOffline', 'onError',
  'onBlacklistUpdate', 'onRecallMessage', 'onReceivedMessage', 'onDeliveredMessage',
  'onReadMessage', 'onCreateGroup', 'onMutedMessage', 'onChannelMessage',
];
export const EXTRA_CALLBACKS = {
  3: ['onConfirmPop', 'onContactAgreed', 'onContactRefuse', 'onContactInvited', 'onContactDeleted',
    'onContactAdded', 'onUpdateMyGroupList', 'onUpdateMyRoster'],
  4: ['onContactAgreed', 'onContactRefuse', 'onContactInvited', 'onContactDeleted', 'onContactAdded',
    'onReconnecting', 'onConnected', 'onDisconnected', 'onModifiedMessage', 'onCombineMessage',
    'onOfflineMessageSyncStart', 'onOfflineMessageSyncFinish', 'onTokenWillExpire', 'onTokenExpired'],
};
/** The upload callbacks of a `send`, forwarded as events whose data carries `localId`. */
export const UPLOAD_CALLBACKS = ['onFileUploadProgress', 'onFileUploadComplete', 'onFileUploadError'];
