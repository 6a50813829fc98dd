// The SDK side of every JavaScript driver: one user's realm (a Node worker or a Chromium page)
// holding one loaded SDK. It maps the protocol's ops onto the guide's (3.x) API, forwards every
// callback as an event, and serialises what the SDK hands over (DRIVER-PROTOCOL.md).
//
// Environment-neutral on purpose: no Node imports, no Buffer needed. The Node drivers run it in a
// worker_threads Worker (node-realm.mjs); the Chromium driver injects it into each page with
// lists.mjs (chromium/page-script.mjs strips the import/export lines).
import { CALLBACKS, EXTRA_CALLBACKS, UPLOAD_CALLBACKS } from './lists.mjs';

/**
 * Creates the host of one realm.
 * - `W`: the SDK's export ({connection, message, utils}).
 * - `gen`: {generation: 3 | 4, transport: 'sockjs' | 'websocket'}: what the adapter and the bundle
 *   detection said (the generation decides the 3.x / 4.x differences listed below).
 * - `post(msg)`: hands a message to the protocol host: {kind: 'event', event, data?: JSON text},
 *   {kind: 'reply', id, ok, json}, {kind: 'exception', message, stack}.
 * - `log(...)`, `trace(name, args)`: stderr / console.
 * Returns {assign(user), request(id, op, args), drained(), exception(error)}.
 */
export function createSdkHost({ W, gen, post: postRaw, log, trace }) {
  let user = null; // the user this realm serves, from `assign` at that user's connect

  // ── output: serialise synchronously at callback time, post in order ──
  let chain = Promise.resolve();
  function post(msg, pendingBlobs, finalize) {
    chain = chain.then(async () => {
      if (pendingBlobs && pendingBlobs.length) {
        await Promise.all(pendingBlobs.map(async (p) => {
          try { p.holder[p.key] = toBase64(new Uint8Array(await p.blob.arrayBuffer())); } catch (e) { log('blob read failed', e); }
        }));
      }
      postRaw(finalize(msg));
    }).catch((e) => log('post failed', e));
  }
  function postEvent(event, value) {
    const { box, blobs } = toPlain(value);
    post({ kind: 'event', event }, blobs, (m) => ({ ...m, data: box[0] === undefined ? undefined : JSON.stringify(box[0]) }));
  }
  function postReply(id, ok, value) {
    const { box, blobs } = toPlain(value === undefined ? {} : value);
    post({ kind: 'reply', id, ok }, blobs, (m) => ({ ...m, json: JSON.stringify(box[0] === undefined ? {} : box[0]) }));
  }

  // ── SDK state ──
  let conn = null;
  let opened = false;
  let connectId = null; // pending connect request
  const disconnectIds = [];

  const handlers = {};
  for (const name of [...CALLBACKS, ...(EXTRA_CALLBACKS[gen.generation] || [])]) {
    handlers[name] = function (arg) {
      // must never throw: an exception escaping a callback becomes an SDK onError (604/31)
      try {
        trace(name, arguments);
        postEvent(name, arg);
        if (name === 'onOpened') {
          opened = true;
          if (connectId !== null) { postReply(connectId, true, {}); connectId = null; }
        } else if (name === 'onError') {
          if (connectId !== null && !opened) { postReply(connectId, false, connectError(arg)); connectId = null; }
        } else if (name === 'onClosed') {
          opened = false;
          while (disconnectIds.length) postReply(disconnectIds.shift(), true, {});
        }
      } catch (e) { log(`forwarding ${name} failed:`, e); }
    };
  }

  // The reply of a request is the first of the SDK's success / fail / Promise outcomes.
  function settle(id, label) {
    const finish = once((ok, v) => postReply(id, ok, v));
    return {
      finish,
      ok: (result) => function () { trace(label + '.success', arguments); finish(true, result(...arguments)); },
      fail: function (e) { trace(label + '.fail', arguments); finish(false, errorFrom(e)); },
      reject: (e) => { trace(label + '.reject', [e]); finish(false, errorFrom(e)); },
    };
  }

  const ops = {
    connect(id, a) {
      const options = a.options && typeof a.options === 'object' ? a.options : {};
      if (a.emoji !== undefined) installEmoji(a.emoji);
      // The transport the bundle speaks (detected from its text, not its version): SockJS wants
      // the http:// base `url`, raw WebSocket the ws:// `wsUrl`. 4.x: https: false keeps the REST
      // base as given, isHttpDNS (default true in 4.x) must be off for a private server.
      const url = gen.transport === 'sockjs' ? a.url : a.wsUrl;
      const extra = gen.generation >= 4 ? { https: false } : {};
      conn = new W.connection({ appKey: a.appKey, url, apiUrl: a.apiUrl, isHttpDNS: false, ...extra, ...options });
      connectId = id;
      conn.listen(handlers);
      const login = gen.generation >= 4 ? { user, pwd: a.password } : { user, pwd: a.password, appKey: a.appKey };
      // 4.x: open() returns a Promise; a rejection (bad password: type 1) may come without onError.
      Promise.resolve(conn.open(login)).then(() => {}, (e) => {
        trace('open.reject', [e]);
        if (connectId !== null && !opened) { postReply(connectId, false, connectError(e)); connectId = null; }
      });
    },
    send(id, a) {
      const { type, file, ...rest } = a;
      if (typeof type !== 'string') throw new BadRequest('send needs a string "type"');
      let ctor = type;
      // 3.6.3 has no message.loc (the body type is still "loc"); 4.x has.
      if (type === 'loc' && typeof W.message.loc !== 'function' && typeof W.message.location === 'function') ctor = 'location';
      if (gen.generation < 4 && typeof W.message[ctor] !== 'function') throw new BadRequest(`unknown message type ${JSON.stringify(type)}`);
      // the guide's form (kept by 4.x): new message(type, id).set({..., success, fail}); send(body)
      const localId = conn.getUniqueId();
      const msg = new W.message(ctor, localId);
      const s = settle(id, 'send');
      const success = s.ok((mid, serverMsgId) => ({ localId: mid, serverMsgId }));
      // upload callbacks: data = {localId, ...own fields of the SDK's first argument}
      const upload = (name) => function (ev) {
        try {
          trace(name, arguments);
          const fields = isProgressEvent(ev) ? progressFields(ev) : ev;
          postEvent(name, fields !== null && typeof fields === 'object' ? { localId: String(localId), ...fields } : { localId: String(localId), value: ev });
        } catch (e) { log(`forwarding ${name} failed:`, e); }
      };
      const opts = { ...rest, success, fail: s.fail };
      for (const name of UPLOAD_CALLBACKS) opts[name] = upload(name);
      if (file !== undefined) opts.file = makeFile(file);
      msg.set(opts);
      const body = msg.body;
      // set() of read / delivery / channel does not copy success/fail into the body, but the SDK's
      // ack handler calls _msgHash[id].success/fail; put them where the SDK looks for them.
      if (body && body.success === undefined && body.fail === undefined) { body.success = success; body.fail = s.fail; }
      // 4.x also returns a Promise, and rejects without calling fail on some paths (a failed upload).
      Promise.resolve(conn.send(body)).catch(s.reject);
    },
    recall(id, a) {
      const s = settle(id, 'recall');
      Promise.resolve(conn.recallMessage({ mid: a.mid, to: a.to, type: a.chatType, success: s.ok(() => ({})), fail: s.fail })).catch(s.reject);
    },
    history(id, a) {
      if (typeof conn.fetchHistoryMessages !== 'function') { postReply(id, false, { type: 'unsupported', message: 'this SDK build has no fetchHistoryMessages' }); return; }
      const opts = { queue: a.queue, isGroup: a.isGroup, count: a.count };
      for (const k of Object.keys(a)) if (!(k in opts)) opts[k] = a[k];
      Promise.resolve(conn.fetchHistoryMessages(opts)).then(
        (messages) => postReply(id, true, { messages }),
        (e) => postReply(id, false, errorFrom(e)),
      );
    },
    sessions(id) {
      if (typeof conn.getSessionList !== 'function') { postReply(id, false, { type: 'unsupported', message: 'this SDK build has no getSessionList' }); return; }
      Promise.resolve(conn.getSessionList()).then(
        (v) => postReply(id, true, v),
        (e) => postReply(id, false, errorFrom(e)),
      );
    },
    download(id, a) {
      const finish = once((ok, v) => postReply(id, ok, v));
      // protocol 3: `parseDownloadResponse: true` hands the response to the SDK's
      // utils.parseDownloadResponse, as the guide's app does; the reply has the URL it made and
      // the bytes that URL resolves to (a blob: URL read back with fetch).
      const { parseDownloadResponse: parse, ...options } = a;
      W.utils.download.call(conn, {
        ...options,
        onFileDownloadComplete: (response) => {
          if (parse) {
            let objectUrl;
            try { objectUrl = W.utils.parseDownloadResponse.call(conn, response); } catch (e) { finish(false, exceptionError(e)); return; }
            const resolved = typeof objectUrl === 'string' && objectUrl.startsWith('blob:')
              ? fetch(objectUrl).then((r) => r.arrayBuffer()).then((ab) => ({ objectUrl, base64: toBase64(new Uint8Array(ab)) }))
              : Promise.resolve({ objectUrl });
            resolved.then((v) => finish(true, v), (e) => finish(false, exceptionError(e)));
            return;
          }
          toBytes(response).then(
            (bytes) => finish(true, { base64: toBase64(bytes) }),
            (e) => finish(false, exceptionError(e)),
          );
        },
        onFileDownloadError: (e) => finish(false, errorFrom(e)),
      });
    },
    disconnect(id) {
      disconnectIds.push(id);
      try { conn.close(); } catch (e) { disconnectIds.splice(disconnectIds.indexOf(id), 1); throw e; }
    },
  };

  // The app's `WebIM.Emoji` (guide L193 "When the Emoji attribute is added to WebIM"), as the Web
  // IM demo sets it: on the global `WebIM` (the one the SDK's `parseTextMessage` reads), which is
  // the SDK's export unless the bundle or the page made one. One realm serves one user, so the
  // map lives as long as this SDK.
  function installEmoji(e) {
    if (!e || typeof e !== 'object' || typeof e.path !== 'string' || !e.map || typeof e.map !== 'object' || Array.isArray(e.map)) {
      throw new BadRequest('"emoji" must be {"path": string, "map": {key: file}}');
    }
    const webim = globalThis.WebIM && typeof globalThis.WebIM === 'object' ? globalThis.WebIM : W;
    webim.Emoji = { path: e.path, map: { ...e.map } };
    if (webim !== W) W.Emoji = webim.Emoji;
    globalThis.WebIM = webim;
  }

  return {
    assign(u) { user = u; },
    request(id, op, args) {
      try {
        if (!ops[op]) throw new BadRequest(`op ${op} is not implemented in the realm`);
        if (op !== 'connect' && !conn) throw new BadRequest(`no connection for user ${user}`);
        ops[op](id, args || {});
      } catch (e) {
        if (e instanceof BadRequest) postReply(id, false, { type: 'bad-request', message: e.message });
        else { log(`${op} threw:`, e); postReply(id, false, exceptionError(e)); }
        if (op === 'connect') connectId = null;
      }
    },
    // Resolves once every callback made so far has been handed to `post` (serialisation, blob
    // reads), after the promise continuations and zero-delay timers already queued have run.
    async drained() {
      await new Promise((r) => setTimeout(r, 0));
      await chain;
    },
    // An uncaught exception or unhandled rejection in this realm: the protocol's `exception` event.
    exception(e) {
      log('uncaught exception:', e);
      postRaw({ kind: 'exception', message: String(e && e.message !== undefined ? e.message : e), stack: String((e && e.stack) || '') });
    },
  };
}

/** The version a fresh connection announces (Provision.version), else an exported one. */
export function probeVersion(W, transport) {
  try {
    const url = transport === 'sockjs' ? 'http://127.0.0.1:1/ws' : 'ws://127.0.0.1:1/websocket';
    const c = new W.connection({ appKey: 'imspec#probe', url, apiUrl: 'http://127.0.0.1:1', isHttpDNS: false });
    if (typeof c.version === 'string' && c.version) return c.version;
  } catch (e) { console.error('probe connection failed: ' + (e && e.message)); }
  for (const v of [W.version, W.VERSION, W.connection && W.connection.version]) if (typeof v === 'string' && v) return v;
  return null;
}

/** The SDK's export in a realm where the bundle ran as a script: the new global holding it. */
export function findExport(globalsBefore) {
  const pick = (v) => (v && v.default && v.default.connection ? v.default : v);
  const names = Object.getOwnPropertyNames(globalThis).filter((k) => !globalsBefore.has(k));
  for (const k of ['websdk', ...names]) {
    let v;
    try { v = pick(globalThis[k]); } catch { continue; }
    if (v && typeof v.connection === 'function' && typeof v.message === 'function') return v;
  }
  throw new Error(`the bundle defined no global holding {connection, message} (new globals: ${names.join(',') || 'none'})`);
}

class BadRequest extends Error {}

function once(fn) { let done = false; return (...a) => { if (!done) { done = true; fn(...a); } }; }

// error object for a reply: {type, message, data}, from what the SDK passed to fail/onError
function errorFrom(e) {
  if (e === null || typeof e !== 'object') return { type: 'sdk-error', message: String(e), data: e };
  const out = { type: e.type !== undefined ? e.type : (e instanceof Error ? 'exception' : 'sdk-error') };
  let msgKey = null;
  if (e.message !== undefined) { out.message = e.message; msgKey = 'message'; } else if (e.reason !== undefined) { out.message = e.reason; msgKey = 'reason'; }
  const rest = {};
  for (const k of Object.keys(e)) if (k !== 'type' && k !== msgKey && e[k] !== undefined) rest[k] = e[k];
  const keys = Object.keys(rest);
  if (keys.length === 1 && keys[0] === 'data') out.data = rest.data;
  else if (keys.length) out.data = rest;
  return out;
}
// connect failure: exactly {type: e.type, message: e.message, data: e.data}
function connectError(e) {
  if (e === null || typeof e !== 'object') return { type: 'sdk-error', message: String(e) };
  return { type: e.type, message: e.message, data: e.data };
}
const exceptionError = (e) => ({ type: 'exception', message: String(e && e.message || e), data: { name: e && e.name } });

// An attachment {name, mime, base64}, or a generated one {name, mime, size} (protocol 3), as
// WebIM.utils.getFileUrl(input) yields it in a browser.
function makeFile(f) {
  const generated = f && typeof f === 'object' && f.base64 === undefined && f.size !== undefined;
  if (generated && !(Number.isInteger(f.size) && f.size >= 0 && f.size <= MAX_GENERATED_FILE)) throw new BadRequest(`"file".size must be an integer from 0 to ${MAX_GENERATED_FILE}`);
  if (!generated && (!f || typeof f !== 'object' || typeof f.base64 !== 'string')) throw new BadRequest('"file" must be {name, mime, base64} or {name, mime, size}');
  const name = String(f.name || '');
  const data = new File([generated ? generatedFile(f.size) : fromBase64(f.base64)], name, { type: f.mime || '' });
  const dot = name.lastIndexOf('.');
  return {
    url: URL.createObjectURL(data),
    filename: name,
    filetype: dot !== -1 ? name.substring(dot + 1).toLowerCase() : '',
    data,
  };
}

// The bytes of a generated attachment (DRIVER-PROTOCOL.md, "Generated files"): a 32-bit LCG from
// 0x9E3779B9, x = x * 1664525 + 1013904223 (mod 2^32), each byte the top 8 bits of the next x.
const MAX_GENERATED_FILE = 64 * 1024 * 1024;
function generatedFile(size) {
  const out = new Uint8Array(size);
  let x = 0x9E3779B9;
  for (let i = 0; i < size; i++) { x = (Math.imul(x, 1664525) + 1013904223) >>> 0; out[i] = x >>> 24; }
  return out;
}

function toBase64(u8) {
  if (typeof Buffer !== 'undefined') return Buffer.from(u8.buffer, u8.byteOffset, u8.byteLength).toString('base64');
  let s = '';
  for (let i = 0; i < u8.length; i += 0x8000) s += String.fromCharCode.apply(null, u8.subarray(i, i + 0x8000));
  return btoa(s);
}
function fromBase64(text) {
  if (typeof Buffer !== 'undefined') return new Uint8Array(Buffer.from(text, 'base64'));
  const bin = atob(text);
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}

// The body of a download as bytes, whatever the SDK handed to onFileDownloadComplete.
async function toBytes(v) {
  if (v == null) return new Uint8Array(0);
  if (typeof v === 'string') { const out = new Uint8Array(v.length); for (let i = 0; i < v.length; i++) out[i] = v.charCodeAt(i) & 0xff; return out; }
  if (v instanceof ArrayBuffer) return new Uint8Array(v);
  if (ArrayBuffer.isView(v)) return new Uint8Array(v.buffer, v.byteOffset, v.byteLength);
  if (typeof Blob !== 'undefined' && v instanceof Blob) return new Uint8Array(await v.arrayBuffer());
  throw new Error('unexpected download response ' + Object.prototype.toString.call(v));
}

// ────────────────────────────────────────────────────────────────────────────── serialisation ──
const isProgressEvent = (v) => typeof ProgressEvent !== 'undefined' && v instanceof ProgressEvent;
const progressFields = (v) => ({ isTrusted: v.isTrusted, type: v.type, lengthComputable: v.lengthComputable, loaded: v.loaded, total: v.total });

// JSON.stringify semantics (toJSON honoured, functions/undefined/symbols dropped from objects and
// null in arrays, NaN/Infinity -> null) plus: binary (ArrayBuffer, typed arrays, Buffer) -> base64;
// Blob/File -> base64 (read asynchronously, returned in `blobs`); a cycle -> "[Circular]";
// BigInt -> decimal string; Error -> {name, message, ...own enumerable}; an XMLHttpRequest -> {}
// (what JSON.stringify gives for a browser XHR, whose properties are all prototype getters); a
// DOM ProgressEvent (what both generations hand to onFileUploadProgress) -> {isTrusted, type,
// lengthComputable, loaded, total}: its fields are prototype getters, which JSON.stringify drops.
export function toPlain(value) {
  const blobs = [];
  const stack = [];
  const XHR = globalThis.XMLHttpRequest;
  const isBlob = (v) => typeof Blob !== 'undefined' && v instanceof Blob;

  function conv(v, key, holder) {
    if (v !== null && (typeof v === 'object' || typeof v === 'function') && !isBlob(v) && !(v instanceof ArrayBuffer) &&
        !ArrayBuffer.isView(v) && typeof v.toJSON === 'function') {
      try { v = v.toJSON(key); } catch { /* keep v */ }
    }
    if (v === null) return null;
    switch (typeof v) {
      case 'string': case 'boolean': return v;
      case 'number': return Number.isFinite(v) ? v : null;
      case 'bigint': return v.toString();
      case 'undefined': case 'function': case 'symbol': return undefined;
    }
    if (v instanceof ArrayBuffer) return toBase64(new Uint8Array(v));
    if (ArrayBuffer.isView(v)) return toBase64(new Uint8Array(v.buffer, v.byteOffset, v.byteLength));
    if (isBlob(v)) { blobs.push({ holder, key, blob: v }); return ''; }
    if (stack.includes(v)) return '[Circular]';
    if (XHR && v instanceof XHR) return {};
    if (isProgressEvent(v)) return progressFields(v);
    if (v instanceof Number || v instanceof String || v instanceof Boolean) return conv(v.valueOf(), key, holder);
    stack.push(v);
    try {
      if (Array.isArray(v)) {
        const out = new Array(v.length);
        for (let i = 0; i < v.length; i++) {
          const c = conv(v[i], String(i), out);
          out[i] = c === undefined ? null : c;
        }
        return out;
      }
      const out = {};
      if (v instanceof Error) {
        out.name = v.name;
        out.message = v.message;
      }
      for (const k of Object.keys(v)) {
        let x;
        try { x = v[k]; } catch { continue; }
        const c = conv(x, k, out);
        if (c !== undefined) out[k] = c;
      }
      return out;
    } finally {
      stack.pop();
    }
  }
  // box[0] is the result; a Blob (anywhere, even top level) is filled in later by the caller
  const box = [undefined];
  box[0] = conv(value, '', box);
  for (const b of blobs) if (b.holder === box) b.key = 0;
  return { box, blobs };
}
