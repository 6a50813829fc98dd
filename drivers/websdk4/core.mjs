// imspec driver core for the 4.x generation of the Web IM SDK: easemob-websdk 4.x (pinned 4.21.1,
// drivers/websdk4/) and its Agora-branded twin agora-chat 1.x (pinned 1.4.0, drivers/agora-chat/).
// The two are one code base with one API (wire notes websdk-4.x-and-agora-chat.md, section 5), so
// one implementation serves both, with the npm package as a parameter: each folder's driver.mjs
// calls `runDriver({pkg, dir, name})` and resolves the SDK, ws and xhr2 from its own node_modules.
//
// Protocol: DRIVER-PROTOCOL.md at the top of the repository (version 1). JSON lines: requests on stdin,
// replies and events on stdout, everything else on stderr. The 4.x API differs from the guide's
// (3.x) API; the mapping (calls, callbacks, fields) is mechanical and listed in each driver's README.
//
// 4.x keeps its socket per connection object, but every user still gets its own JS realm (one
// worker_threads Worker per user, created at that user's `connect`), as the 3.x driver does: the
// SDK's module-level id counter and offline-sync statistics stay per user. This file is both the
// main thread (protocol I/O, routing) and the worker (SDK host).

import { Worker, isMainThread, parentPort, workerData } from 'node:worker_threads';
import { createRequire } from 'node:module';
import { fileURLToPath, pathToFileURL } from 'node:url';
import path from 'node:path';
import fs from 'node:fs';
import readline from 'node:readline';
import { File as BufferFile } from 'node:buffer';
import { toPlain, toBytes } from './serialise.mjs';

const SELF = fileURLToPath(import.meta.url);
const PROTOCOL = 1;
const OPS = ['hello', 'connect', 'send', 'recall', 'history', 'sessions', 'download', 'disconnect', 'shutdown'];
const USER_OPS = new Set(['connect', 'send', 'recall', 'history', 'sessions', 'download', 'disconnect']);

// The guide's callbacks, registered through the 4.x SDK's deprecated but present conn.listen(),
// which keeps the guide's names (onOpened, onClosed, onPictureMessage, ...) and hands messages
// over in the 3.x shape (type "chat", contentsType, data): no field needs renaming. A name the
// 4.x SDK never calls (onEmojiMessage, onMutedMessage, ...) is registered and never fires.
const CALLBACKS = [
  'onOpened', 'onClosed', 'onTextMessage', 'onEmojiMessage', 'onPictureMessage', 'onCmdMessage',
  'onAudioMessage', 'onLocationMessage', 'onFileMessage', 'onCustomMessage', 'onVideoMessage',
  'onPresence', 'onRoster', 'onInviteMessage', 'onOnline', 'onOffline', 'onError',
  'onBlacklistUpdate', 'onRecallMessage', 'onReceivedMessage', 'onDeliveredMessage',
  'onReadMessage', 'onCreateGroup', 'onMutedMessage', 'onChannelMessage',
  // 4.x callbacks outside the protocol's list; forwarded under their own names
  'onContactAgreed', 'onContactRefuse', 'onContactInvited', 'onContactDeleted', 'onContactAdded',
  'onReconnecting', 'onConnected', 'onDisconnected', 'onModifiedMessage', 'onCombineMessage',
  'onOfflineMessageSyncStart', 'onOfflineMessageSyncFinish', 'onTokenWillExpire', 'onTokenExpired',
];

function bundlePath() {
  const env = process.env.IMSPEC_WEBSDK;
  return env ? path.resolve(process.cwd(), env) : null;
}

/** Runs the driver; `pkg` is the npm package, `dir` the driver folder holding its node_modules. */
export function runDriver(params) {
  if (isMainThread) mainThread(params);
}
// Workers are started on this file itself (not on driver.mjs) and get the parameters as data.
if (!isMainThread && workerData && workerData.params) workerThread(workerData.params);

// ───────────────────────────────────────────────────────────────────────────── main thread ──
function mainThread(params) {
  // stdout guard: only protocol lines (written through `emitLine`) reach the real stdout.
  const realWrite = process.stdout.write.bind(process.stdout);
  process.stdout.write = (chunk, enc, cb) => process.stderr.write(chunk, enc, cb);
  const log = (...a) => process.stderr.write(`[${params.name}] ` + a.map(String).join(' ') + '\n');
  const emitLine = (line, cb) => realWrite(line + '\n', cb);
  const reply = (id, ok, payload) => {
    const obj = ok ? { id, ok: true, result: payload ?? {} } : { id, ok: false, error: payload };
    emitLine(JSON.stringify(obj));
  };
  process.on('uncaughtException', (e) => log('uncaught exception (main):', e && e.stack || e));
  process.on('unhandledRejection', (e) => log('unhandled rejection (main):', e && e.stack || e));
  if (process.env.IMSPEC_PROTOCOL && process.env.IMSPEC_PROTOCOL !== String(PROTOCOL)) {
    log(`IMSPEC_PROTOCOL=${process.env.IMSPEC_PROTOCOL}, this driver speaks ${PROTOCOL}`);
  }

  /** user -> { worker, pending: Map<id, op>, connecting: bool, exited: bool } */
  const users = new Map();
  let shuttingDown = false;
  let probePromise = null; // the SDK bundle is probed once (version, loadability)
  const inflightHellos = new Set();

  function prefixPipe(stream, user, which) {
    let buf = '';
    stream.setEncoding('utf8');
    stream.on('data', (d) => {
      buf += d;
      let i;
      while ((i = buf.indexOf('\n')) >= 0) {
        process.stderr.write(`[${user} ${which}] ${buf.slice(0, i)}\n`);
        buf = buf.slice(i + 1);
      }
    });
    stream.on('end', () => { if (buf) process.stderr.write(`[${user} ${which}] ${buf}\n`); });
  }

  function startWorker(user) {
    const worker = new Worker(SELF, {
      workerData: { user, bundle: bundlePath(), params },
      stdout: true,
      stderr: true,
    });
    const u = { worker, pending: new Map(), connecting: false, exited: false, terminating: false };
    prefixPipe(worker.stdout, user, 'out');
    prefixPipe(worker.stderr, user, 'err');
    worker.on('message', (m) => {
      try {
        if (m.kind === 'event') {
          emitLine('{"event":' + JSON.stringify(m.event) + ',"user":' + JSON.stringify(user) +
            (m.data === undefined ? '' : ',"data":' + m.data) + '}');
        } else if (m.kind === 'reply') {
          if (!u.pending.has(m.id)) { log(`worker ${user}: reply for unknown request ${m.id} dropped`); return; }
          const op = u.pending.get(m.id);
          u.pending.delete(m.id);
          if (op === 'connect') u.connecting = false;
          emitLine('{"id":' + JSON.stringify(m.id) + ',"ok":' + (m.ok ? 'true' : 'false') +
            (m.ok ? ',"result":' : ',"error":') + m.json + '}');
        } else if (m.kind === 'log') {
          process.stderr.write(`[${user}] ${m.text}\n`);
        }
      } catch (e) { log('bad worker message', e && e.stack || e); }
    });
    worker.on('error', (e) => log(`worker ${user} error:`, e && e.stack || e));
    worker.on('exit', (code) => {
      u.exited = true;
      if (!u.terminating && !shuttingDown) log(`worker ${user} exited unexpectedly with code ${code}`);
      // (after shutdown started, nothing but the shutdown reply is written)
      if (!shuttingDown) for (const [id, op] of u.pending) {
        reply(id, false, { type: 'driver-error', message: `the worker hosting ${user}'s SDK exited (code ${code}) before the ${op} completed` });
      }
      u.pending.clear();
      if (users.get(user) === u) users.delete(user);
    });
    return u;
  }

  async function shutdown(id) {
    if (shuttingDown) return;
    shuttingDown = true;
    const hardStop = setTimeout(() => process.exit(0), 1800);
    hardStop.unref();
    // let a hello that is still probing the bundle answer first
    if (inflightHellos.size) await Promise.race([Promise.allSettled([...inflightHellos]), new Promise((r) => setTimeout(r, 800))]);
    const ws = [...users.values()];
    for (const u of ws) u.terminating = true;
    await Promise.race([
      Promise.allSettled(ws.map((u) => u.worker.terminate())),
      new Promise((r) => setTimeout(r, 1000)),
    ]);
    if (id !== undefined) {
      emitLine(JSON.stringify({ id, ok: true, result: {} }), () => process.exit(0));
    } else {
      process.exit(0);
    }
  }

  async function hello(req) {
    const proto = req.args && req.args.protocol;
    if (proto !== PROTOCOL) {
      reply(req.id, false, { type: 'bad-request', message: `protocol version ${proto === undefined ? '(missing args.protocol)' : JSON.stringify(proto)} is not supported; this driver speaks version ${PROTOCOL}` });
      return;
    }
    let info;
    try { info = await (probePromise || (probePromise = probeSdk())); } catch (e) { info = { error: String(e && e.message || e) }; }
    if (info.error) {
      reply(req.id, false, { type: 'driver-error', message: 'cannot load the SDK bundle: ' + info.error });
      return;
    }
    reply(req.id, true, { driver: params.name, sdk: info.name || params.pkg, sdkVersion: info.version, ops: OPS });
  }

  // Loads the bundle in a throw-away worker (same polyfills) and reads its own version string.
  function probeSdk() {
    return new Promise((resolve) => {
      const w = new Worker(SELF, { workerData: { probe: true, bundle: bundlePath(), params }, stdout: true, stderr: true });
      prefixPipe(w.stdout, 'probe', 'out');
      prefixPipe(w.stderr, 'probe', 'err');
      let done = false;
      const finish = (v) => { if (!done) { done = true; resolve(v); w.terminate().catch(() => {}); } };
      w.on('message', (m) => { if (m.kind === 'probe') finish(m); });
      w.on('error', (e) => finish({ error: String(e && e.message || e) }));
      w.on('exit', () => finish({ error: 'probe worker exited' }));
      setTimeout(() => finish({ error: 'timeout loading the SDK' }), 10000).unref();
    });
  }

  function handle(line) {
    if (!line.trim()) return;
    let req;
    try { req = JSON.parse(line); } catch (e) {
      reply(null, false, { type: 'bad-request', message: 'request is not valid JSON: ' + e.message });
      return;
    }
    if (req === null || typeof req !== 'object' || Array.isArray(req)) {
      reply(null, false, { type: 'bad-request', message: 'request is not a JSON object' });
      return;
    }
    const id = req.id === undefined ? null : req.id;
    if (typeof req.op !== 'string') { reply(id, false, { type: 'bad-request', message: 'request has no string "op"' }); return; }
    if (req.id === undefined || req.id === null) { reply(null, false, { type: 'bad-request', message: 'request has no "id"' }); return; }
    if (req.args !== undefined && (req.args === null || typeof req.args !== 'object' || Array.isArray(req.args))) {
      reply(id, false, { type: 'bad-request', message: '"args" must be an object' });
      return;
    }
    if (shuttingDown) { reply(id, false, { type: 'bad-request', message: 'driver is shutting down' }); return; }
    const op = req.op;
    if (op === 'hello') {
      const p = hello(req).catch((e) => reply(id, false, { type: 'driver-error', message: String(e) }));
      inflightHellos.add(p);
      p.finally(() => inflightHellos.delete(p));
      return;
    }
    if (op === 'shutdown') { shutdown(id); return; }
    if (!USER_OPS.has(op)) {
      reply(id, false, { type: 'unsupported', message: `op ${JSON.stringify(op)} is not implemented by the ${params.pkg} driver` });
      return;
    }
    const user = req.user;
    if (typeof user !== 'string' || user === '') { reply(id, false, { type: 'bad-request', message: `op ${op} needs a non-empty string "user"` }); return; }
    let u = users.get(user);
    if (op === 'connect') {
      if (u && u.connecting) { reply(id, false, { type: 'bad-request', message: `a connect for ${user} is already in progress` }); return; }
      if (u) {
        // A new connect replaces the user's previous realm (closed, failed, or still open).
        log(`connect for ${user}: terminating the previous worker`);
        u.terminating = true;
        users.delete(user);
        for (const [pid, pop] of u.pending) reply(pid, false, { type: 'driver-error', message: `superseded by a new connect for ${user} before the ${pop} completed` });
        u.pending.clear();
        u.worker.terminate().catch(() => {});
      }
      u = startWorker(user);
      users.set(user, u);
      u.connecting = true;
    } else if (!u || u.exited) {
      reply(id, false, { type: 'bad-request', message: `no connection for user ${JSON.stringify(user)} (connect first)` });
      return;
    }
    u.pending.set(id, op);
    u.worker.postMessage({ kind: 'req', id, op, args: req.args || {} });
  }

  const rl = readline.createInterface({ input: process.stdin, crlfDelay: Infinity });
  rl.on('line', (line) => { try { handle(line); } catch (e) { log('internal error handling a request:', e && e.stack || e); } });
  rl.on('close', () => { log('stdin closed; exiting'); shutdown(undefined); });
}

// ────────────────────────────────────────────────────────────────────────────────── worker ──
function workerThread(params) {
  const { user, bundle, probe } = workerData;
  const require = createRequire(path.join(params.dir, 'driver.mjs'));
  // IMSPEC_WEBSDK_TRACE=1: log every SDK callback's raw arguments (util.inspect) to stderr
  const TRACE = !!process.env.IMSPEC_WEBSDK_TRACE;
  const inspect = TRACE ? require('node:util').inspect : null;
  const trace = (name, args) => { if (TRACE) process.stderr.write(`TRACE ${name}(${[...args].map((a) => inspect(a, { depth: 6, breakLength: Infinity })).join(', ')})\n`); };
  const log = (...a) => process.stderr.write(a.map((x) => (typeof x === 'string' ? x : (x && x.stack) || String(x))).join(' ') + '\n');

  // Browser-like behaviour: an exception escaping a callback is logged, the "page" keeps running.
  process.on('uncaughtException', (e) => log('uncaught exception:', e));
  process.on('unhandledRejection', (e) => log('unhandled rejection:', e));

  installPolyfills(require);

  let W;
  try {
    W = loadSdk(require, bundle || params.pkg);
  } catch (e) {
    log('cannot load the SDK:', e);
    if (probe) { parentPort.postMessage({ kind: 'probe', error: String(e && e.message || e) }); return; }
    parentPort.on('message', (m) => {
      if (m.kind === 'req') postReply(m.id, false, { type: 'driver-error', message: 'cannot load the SDK bundle: ' + (e && e.message || e) });
    });
    return;
  }
  if (probe) {
    parentPort.postMessage({ kind: 'probe', version: sdkVersion(W, require, bundle || params.pkg), name: packageName(require, bundle || params.pkg) });
    return;
  }

  // ── output: serialise synchronously at callback time, post in order ──
  let chain = Promise.resolve();
  function post(msg, pendingBlobs, finalize) {
    chain = chain.then(async () => {
      if (pendingBlobs && pendingBlobs.length) {
        await Promise.all(pendingBlobs.map(async (p) => {
          try { p.holder[p.key] = Buffer.from(await p.blob.arrayBuffer()).toString('base64'); } catch (e) { log('blob read failed', e); }
        }));
      }
      parentPort.postMessage(finalize(msg));
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

  // ── SDK state ──
  let conn = null;
  let opened = false;
  let connectId = null; // pending connect request
  const disconnectIds = [];

  const handlers = {};
  for (const name of CALLBACKS) {
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

  function once(fn) { let done = false; return (...a) => { if (!done) { done = true; fn(...a); } }; }

  function makeFile(f) {
    if (!f || typeof f !== 'object' || typeof f.base64 !== 'string') throw new BadRequest('"file" must be {name, mime, base64}');
    const name = String(f.name || '');
    const bytes = Buffer.from(f.base64, 'base64');
    const data = new (globalThis.File || BufferFile)([bytes], name, { type: f.mime || '' });
    // what WebIM.utils.getFileUrl(input) yields in a browser
    const dot = name.lastIndexOf('.');
    return {
      url: URL.createObjectURL(data),
      filename: name,
      filetype: dot !== -1 ? name.substring(dot + 1).toLowerCase() : '',
      data,
    };
  }

  class BadRequest extends Error {}

  const ops = {
    connect(id, a) {
      const options = a.options && typeof a.options === 'object' ? a.options : {};
      // 4.x speaks raw WebSocket only (wsUrl); https: false keeps the REST base as given.
      conn = new W.connection({ appKey: a.appKey, url: a.wsUrl, apiUrl: a.apiUrl, isHttpDNS: false, https: false, ...options });
      connectId = id;
      conn.listen(handlers);
      // open() returns a Promise; a rejection (bad password: type 1) may come without onError.
      Promise.resolve(conn.open({ user, pwd: a.password })).then(() => {}, (e) => {
        trace('open.reject', [e]);
        if (connectId !== null && !opened) { postReply(connectId, false, connectError(e)); connectId = null; }
      });
    },
    send(id, a) {
      const { type, file, ...rest } = a;
      if (typeof type !== 'string') throw new BadRequest('send needs a string "type"');
      // the legacy 3.x form, kept by 4.x: new message(type, id).set({..., success, fail}); send(body)
      const localId = conn.getUniqueId();
      const msg = new W.message(type, localId);
      const finish = once((ok, v) => postReply(id, ok, v));
      const success = function (mid, serverMsgId) { trace('send.success', arguments); finish(true, { localId: mid, serverMsgId }); };
      const fail = function (e) { trace('send.fail', arguments); finish(false, errorFrom(e)); };
      // upload callbacks: data = {localId, ...own fields of the SDK's first argument}
      const upload = (name) => function (ev) {
        try {
          trace(name, arguments);
          postEvent(name, ev !== null && typeof ev === 'object' ? { localId: String(localId), ...ev } : { localId: String(localId), value: ev });
        } catch (e) { log(`forwarding ${name} failed:`, e); }
      };
      const opts = {
        ...rest,
        success,
        fail,
        onFileUploadProgress: upload('onFileUploadProgress'),
        onFileUploadComplete: upload('onFileUploadComplete'),
        onFileUploadError: upload('onFileUploadError'),
      };
      if (file !== undefined) opts.file = makeFile(file);
      msg.set(opts);
      const body = msg.body;
      // set() of read / delivery / channel does not copy success/fail into the body, but the SDK's
      // ack handler calls _msgHash[id].success/fail; put them where the SDK looks for them.
      if (body && body.success === undefined && body.fail === undefined) { body.success = success; body.fail = fail; }
      // 4.x also returns a Promise. Mapping: the reply is the first of success, fail and a
      // rejection (4.x rejects without calling fail on some paths, e.g. a failed upload).
      Promise.resolve(conn.send(body)).catch((e) => { trace('send.reject', [e]); finish(false, errorFrom(e)); });
    },
    recall(id, a) {
      const finish = once((ok, v) => postReply(id, ok, v));
      Promise.resolve(conn.recallMessage({
        mid: a.mid, to: a.to, type: a.chatType,
        success: function () { trace('recall.success', arguments); finish(true, {}); },
        fail: function (e) { trace('recall.fail', arguments); finish(false, errorFrom(e)); },
      })).catch((e) => { trace('recall.reject', [e]); finish(false, errorFrom(e)); });
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
    sessions(id, a) {
      if (typeof conn.getSessionList !== 'function') { postReply(id, false, { type: 'unsupported', message: 'this SDK build has no getSessionList' }); return; }
      Promise.resolve(conn.getSessionList()).then(
        (v) => postReply(id, true, v),
        (e) => postReply(id, false, errorFrom(e)),
      );
    },
    download(id, a) {
      const finish = once((ok, v) => postReply(id, ok, v));
      W.utils.download.call(conn, {
        ...a,
        onFileDownloadComplete: (response) => {
          toBytes(response).then(
            (buf) => finish(true, { base64: buf.toString('base64') }),
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

  parentPort.on('message', (m) => {
    if (m.kind !== 'req') return;
    const { id, op, args } = m;
    try {
      if (op !== 'connect' && !conn) throw new BadRequest(`no connection for user ${user}`);
      ops[op](id, args || {});
    } catch (e) {
      if (e instanceof BadRequest) postReply(id, false, { type: 'bad-request', message: e.message });
      else { log(`${op} threw:`, e); postReply(id, false, exceptionError(e)); }
      if (op === 'connect') connectId = null;
    }
  });
}

// ─────────────────────────────────────────────────────────────────────── polyfills / loading ──
// What Node 20 lacks for the 4.x bundle (wire notes websdk-4.x-and-agora-chat.md, section 6).
function installPolyfills(require) {
  const g = globalThis;
  // 1. the UMD wrapper references `self`.
  if (g.self === undefined) g.self = g;
  // 2. getEnvInfo() says "web" only if window.WebSocket exists (else mini-program code paths).
  if (g.window === undefined) g.window = g;
  // 3. Node 20 has no global WebSocket.
  g.WebSocket = require('ws');
  // 4. XMLHttpRequest for REST (token, upload, download, roaming).
  const XHR = require('xhr2');
  XHR.prototype.withCredentials = false;
  // 4a. xhr2 cannot send FormData: serialise it the way a browser would (multipart, File names kept).
  const origSend = XHR.prototype.send;
  XHR.prototype.send = function (data) {
    if (typeof FormData !== 'undefined' && data instanceof FormData) {
      const xhr = this;
      const r = new Response(data);
      const ct = r.headers.get('content-type');
      r.arrayBuffer().then((ab) => {
        if (ct) xhr.setRequestHeader('Content-Type', ct);
        origSend.call(xhr, Buffer.from(ab));
      }, (e) => process.stderr.write('FormData serialisation failed: ' + (e && e.stack || e) + '\n'));
      return undefined;
    }
    return origSend.call(this, data);
  };
  // 4b. xhr2 has no responseType 'blob': read as a Buffer and wrap it in a Blob.
  const origParse = XHR.prototype._parseResponse;
  XHR.prototype._parseResponse = function () {
    if (this.responseType !== 'blob') return origParse.call(this);
    this.responseType = 'buffer';
    try { origParse.call(this); } finally { this.responseType = 'blob'; }
    const type = (this.getResponseHeader && this.getResponseHeader('content-type')) || '';
    this.response = new Blob([this.response], { type });
    return undefined;
  };
  g.XMLHttpRequest = XHR;
  // 5. the SDK's event reporting reads navigator.userAgent unguarded.
  if (g.navigator === undefined) {
    try { Object.defineProperty(g, 'navigator', { value: { userAgent: `Node.js/${process.version} imspec` }, configurable: true, writable: true }); }
    catch { g.navigator = { userAgent: `Node.js/${process.version} imspec` }; }
  }
  // 6. agora-chat 1.4.0 reads a bare `document` (listenBrowserVisibility); 4.21.1 guards it.
  if (g.document === undefined) g.document = { hidden: false, addEventListener() {}, removeEventListener() {} };
}

function loadSdk(require, target) {
  const mod = require(target);
  const W = (mod && mod.default && mod.default.connection ? mod.default : mod);
  if (!W || typeof W.connection !== 'function' || typeof W.message !== 'function') {
    throw new Error(`${target} does not export {connection, message} (keys: ${Object.keys(W || {}).join(',')})`);
  }
  return W;
}

// The npm name of the package the bundle belongs to (package.json above it), so that hello names
// the SDK actually loaded (IMSPEC_WEBSDK may point at another 4.x build); null when there is none.
function packageName(require, target) {
  try {
    let dir = path.dirname(require.resolve(target));
    for (let i = 0; i < 4; i++, dir = path.dirname(dir)) {
      const p = path.join(dir, 'package.json');
      if (fs.existsSync(p)) { const j = JSON.parse(fs.readFileSync(p, 'utf8')); if (j.name) return j.name; }
    }
  } catch { /* fall through */ }
  return null;
}

// The bundle's own version string: the version a fresh connection announces (Provision.version),
// else package.json beside the bundle.
function sdkVersion(W, require, target) {
  try {
    const c = new W.connection({ appKey: 'imspec#probe', url: 'ws://127.0.0.1:1/websocket', apiUrl: 'http://127.0.0.1:1', isHttpDNS: false });
    if (typeof c.version === 'string' && c.version) return c.version;
  } catch (e) { process.stderr.write('probe connection failed: ' + (e && e.message) + '\n'); }
  try {
    let dir = path.dirname(require.resolve(target));
    for (let i = 0; i < 4; i++, dir = path.dirname(dir)) {
      const p = path.join(dir, 'package.json');
      if (fs.existsSync(p)) { const j = JSON.parse(fs.readFileSync(p, 'utf8')); if (j.version) return j.version; }
    }
  } catch { /* fall through */ }
  return null;
}
