// The Node backend of the JavaScript drivers: each user's realm is a worker_threads Worker that
// installs the polyfills a Web SDK needs in Node, loads the bundle and runs sdk-host.mjs.
// A Node driver is an adapter: `runNodeDriver(adapter)` with
//   {name, pkg, generation: 3 | 4, dir, userAgent, reuseProbe?}
// (`dir`: the driver folder whose node_modules hold the SDK, ws and xhr2).
//
// Why a worker per user: 3.x keeps its socket in module-level state and _msgHash on the
// prototype; 4.x keeps a module-level id counter and offline-sync statistics. This file is both
// the main-thread backend and the worker's entry point.
//
// Recycling: starting a worker and its polyfills costs about as much as loading the SDK, so a
// disposed realm's worker is kept and reloaded: every socket, request and timer its SDK opened is
// closed, the bundle's modules are dropped from the require cache and the globals it added are
// removed, and the bundle is evaluated afresh (new module state, as in a new worker; the compiled
// code is reused). A message
// of an earlier generation is dropped. A worker serves at most RECYCLE_LIMIT generations. The
// worker that probed the bundle for `hello` (drivers without reuseProbe) is recycled the same way,
// into the first spare realm.
//
// Code cache: every new worker (and every driver process: the harness starts several) would
// parse and compile the bundle anew, and compile lazily each function the SDK runs. Instead the
// first worker that has served a user takes V8's code cache of the bundle (`createCachedData`
// after use, so the functions its scenario ran are in it) and hands it to the main thread, which
// passes it to every worker it starts after; it is also written to a file under
// os.tmpdir()/imspec-v8-cache-<uid>/, named by a hash of the bundle's bytes and path, the Node
// version, the platform and the V8/Node flags, so the next driver process starts with it (a file is
// written to a temporary name and renamed, and carries its own checksum). A cache V8 rejects is
// dropped and taken again; any error reading or writing it only means the bundle is compiled as
// before. IMSPEC_NODE_CODE_CACHE=0 turns it off (to compare).
import { Worker, isMainThread, parentPort, workerData } from 'node:worker_threads';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import path from 'node:path';
import fs from 'node:fs';
import vm from 'node:vm';
import os from 'node:os';
import crypto from 'node:crypto';
import { runHost } from './host.mjs';
import { createSdkHost } from './sdk-host.mjs';
import { bundleFacts, sdkVersion } from './bundle.mjs';

const SELF = fileURLToPath(import.meta.url);
/** Generations one worker serves before it is replaced (bounds what a reload could accumulate). */
const RECYCLE_LIMIT = 40;
/**
 * A realm is idle (`sync`'s answer, DRIVER-PROTOCOL.md "Settling") only with no timer of its SDK
 * due within this many ms: a callback the SDK defers by a timer is then either still to come on
 * a timer the harness's grace would not wait for anyway (it waits 100 ms), or already made.
 */
const IDLE_HORIZON_MS = 1000;
/** Generated functions (protobuf.js codecs) a worker keeps compiled for its later realms. */
const FUNCTION_CACHE_LIMIT = 4096;
/** IMSPEC_NODE_FUNCTION_CACHE=0: every realm compiles its generated functions itself (to compare). */
const FUNCTION_CACHE = process.env.IMSPEC_NODE_FUNCTION_CACHE !== '0';
/** Loaded workers kept idle for the next realms. */
const IDLE_LIMIT = 4;
/** IMSPEC_NODE_CODE_CACHE=0: every worker compiles the bundle itself (to compare). */
const CODE_CACHE = process.env.IMSPEC_NODE_CODE_CACHE !== '0';
/** The user id that owns the cache folder (none on Windows). */
const UID = typeof process.getuid === 'function' ? process.getuid() : null;
/**
 * The folder of the code cache files, shared by this user's driver processes: one per user,
 * since a cache file is compiled code that V8 runs without checking it against the bundle.
 */
const CACHE_DIR = path.join(os.tmpdir(), UID === null ? 'imspec-v8-cache' : `imspec-v8-cache-${UID}`);
/** Part of every cache key: change it when compileBundle wraps the bundle differently. */
const CACHE_FORMAT = 'imspec-cjs-wrapper-1';
/**
 * Main thread: the code cache the workers made, {key, data}, given to every worker started
 * after it (null until a worker has made or read one).
 */
let heldCache = null;

/** Runs a Node driver for the SDK the adapter names (IMSPEC_WEBSDK=<bundle> loads another build). */
export function runNodeDriver(adapter) {
  const bundle = process.env.IMSPEC_WEBSDK ? path.resolve(process.cwd(), process.env.IMSPEC_WEBSDK) : null;
  const params = { ...adapter, bundle };
  // IMSPEC_NODE_RECYCLE=0: a new worker for every realm (to compare against recycling)
  const recycle = process.env.IMSPEC_NODE_RECYCLE !== '0';
  const idle = [];
  runHost({
    name: adapter.name,
    sdkName: adapter.pkg,
    reuseProbe: !!adapter.reuseProbe,
    tellsIdle: true,
    probe: () => probeInNode(params, recycle ? idle : null),
    newRealm: () => workerRealm(params, recycle ? idle : null),
  });
}

/**
 * Loads the bundle in a worker of its own (the same polyfills) and reads what it says about
 * itself: {name, version} or {error}. The Chromium driver asks this too (it is much faster than
 * a browser page), with the adapter of the Node driver whose folder holds the SDK. With `idle`
 * (a Node driver that recycles) the worker is recycled into it afterwards: its next generation
 * loads the SDK afresh, without the probe's connection, and serves the first spare realm, which
 * then needs no worker of its own.
 */
export function probeInNode(params, idle = null) {
  if (idle) {
    return new Promise((resolve) => {
      const vessel = startVessel({ ...params, probe: true }, 'probe');
      const probe = {
        loaded: (m) => {
          resolve(m);
          if (m.error) vessel.worker.terminate().catch(() => {});
          else retire(vessel, probe, params, idle).catch(() => {});
        },
        onExit: () => {},
      };
      vessel.realm = probe;
    });
  }
  return new Promise((resolve) => {
    const w = startWorker({ ...params, probe: true }, 'probe');
    const finish = (v) => { resolve(v); w.terminate().catch(() => {}); };
    w.on('message', (m) => { if (m.kind === 'ready') finish(m); });
    w.on('error', (e) => finish({ error: String(e && e.message || e) }));
    w.on('exit', () => finish({ error: 'the probe worker exited' }));
  });
}

function startWorker(params, label) {
  const worker = new Worker(SELF, { workerData: { params, cache: heldCache }, stdout: true, stderr: true });
  // a worker's code cache serves every worker started after it (a later one replaces it)
  worker.on('message', (m) => { if (m.kind === 'code-cache') heldCache = { key: m.key, data: m.data }; });
  prefixPipe(worker.stdout, label, 'out');
  prefixPipe(worker.stderr, label, 'err');
  return worker;
}

/**
 * A worker that hosts one realm after another: {worker, gen, uses, realm, loaded, exited}.
 * `realm` is the realm of the current generation; messages of another generation are dropped.
 */
function startVessel(params, label = 'spare') {
  const vessel = { gen: 0, uses: 1, realm: null, loaded: null, exited: false, user: null };
  vessel.worker = startWorker(params, () => vessel.user ?? (vessel.gen === 0 ? label : 'spare'));
  vessel.worker.on('message', (m) => {
    if (m.kind === 'code-cache' || m.gen !== vessel.gen) return; // startWorker's, or of an earlier generation
    if (m.kind === 'ready') { vessel.loaded = m; if (vessel.realm) vessel.realm.loaded(m); } else if (m.kind === 'flushed') { if (vessel.realm) vessel.realm.flushed(m.idle === true); } else if (vessel.realm) vessel.realm.onMessage(m);
  });
  vessel.worker.on('error', (e) => {
    process.stderr.write(`[${vessel.user ?? 'spare'}] worker error: ${e && e.stack || e}\n`);
    if (vessel.realm) vessel.realm.loaded({ error: String(e && e.message || e) });
  });
  vessel.worker.on('exit', (code) => {
    vessel.exited = true;
    if (vessel.realm) {
      vessel.realm.loaded({ error: `the SDK worker exited (code ${code})` });
      vessel.realm.onExit(`worker exit code ${code}`);
    }
  });
  return vessel;
}

/** A realm in a loaded idle worker when there is one (`idle`: null when recycling is off). */
function workerRealm(params, idle) {
  let vessel = null;
  while (idle && idle.length && !vessel) {
    const v = idle.shift();
    if (!v.exited) vessel = v;
  }
  vessel = vessel || startVessel(params);
  let loaded;
  let flushes = [];
  const realm = {
    ready: new Promise((resolve) => { loaded = resolve; }),
    loaded: (m) => loaded(m),
    // every message the realm posted before this call has reached onMessage (one port, in order);
    // resolves with whether the realm was idle then
    flush: () => new Promise((resolve) => { flushes.push(resolve); vessel.worker.postMessage({ kind: 'flush' }); }),
    flushed: (idle) => { const f = flushes.shift(); if (f) f(idle); },
    assign(u) { vessel.user = u; vessel.worker.postMessage({ kind: 'assign', user: u }); },
    request(id, op, args) { vessel.worker.postMessage({ kind: 'req', id, op, args }); },
    dispose: () => retire(vessel, realm, params, idle),
  };
  vessel.realm = realm;
  if (vessel.loaded) loaded(vessel.loaded);
  return realm;
}

/** The realm is done with: its worker reloads the SDK for another realm, or ends. */
function retire(vessel, realm, params, idle) {
  if (vessel.realm !== realm) return Promise.resolve();
  vessel.realm = null;
  vessel.user = null;
  if (!idle || vessel.exited || vessel.uses >= RECYCLE_LIMIT || vessel.loaded?.error || idle.length >= IDLE_LIMIT) {
    return vessel.worker.terminate();
  }
  vessel.gen += 1;
  vessel.uses += 1;
  vessel.loaded = null;
  vessel.worker.postMessage({ kind: 'recycle', gen: vessel.gen });
  idle.push(vessel);
  return Promise.resolve();
}

function prefixPipe(stream, label, which) {
  const name = typeof label === 'function' ? label : () => label;
  let buf = '';
  stream.setEncoding('utf8');
  stream.on('data', (d) => {
    buf += d;
    let i;
    while ((i = buf.indexOf('\n')) >= 0) {
      process.stderr.write(`[${name()} ${which}] ${buf.slice(0, i)}\n`);
      buf = buf.slice(i + 1);
    }
  });
  stream.on('end', () => { if (buf) process.stderr.write(`[${name()} ${which}] ${buf}\n`); });
}

// ────────────────────────────────────────────────────────────────────────────────── worker ──
if (!isMainThread && workerData && workerData.params) workerThread(workerData.params);

function workerThread(params) {
  const require = createRequire(path.join(params.dir, 'driver.mjs'));
  // IMSPEC_WEBSDK_TRACE=1: log every SDK callback's raw arguments (util.inspect) to stderr
  const TRACE = !!process.env.IMSPEC_WEBSDK_TRACE;
  // IMSPEC_TRACE_GRACE=1 (the harness's): say why a `sync` found the realm not idle
  const TRACE_IDLE = !!process.env.IMSPEC_TRACE_GRACE;
  const inspect = TRACE ? require('node:util').inspect : null;
  const trace = (name, args) => { if (TRACE) process.stderr.write(`TRACE ${name}(${[...args].map((a) => inspect(a, { depth: 6, breakLength: Infinity })).join(', ')})\n`); };
  const log = (...a) => process.stderr.write(a.map((x) => (typeof x === 'string' ? x : (x && x.stack) || String(x))).join(' ') + '\n');

  // Browser-like: an exception escaping a callback does not end the "page"; it becomes the
  // protocol's `exception` event once the SDK host exists.
  let host = null;
  const uncaught = (e) => (host ? host.exception(e) : log('uncaught exception outside a realm:', e));
  process.on('uncaughtException', uncaught);
  process.on('unhandledRejection', uncaught);

  installPolyfills(require, params);
  quietConsole();
  if (FUNCTION_CACHE) memoizeFunctionConstructor(globalThis);
  const opened = trackOpened(globalThis);
  const baseGlobals = new Set(Reflect.ownKeys(globalThis));
  const baseModules = new Set(Object.keys(require.cache));

  const target = params.bundle || params.pkg;
  let gen = 0;
  let loadError = null;
  let facts = null;
  let bundle = null; // the compiled bundle, evaluated again for each generation: {script, key, take}
  let served = false; // a user's realm has run here (not only a probe)
  // While a recycled realm loads, the main thread may already assign it a user and send it
  // requests (one port, in order): they wait here until the SDK is loaded.
  let loading = false;
  const waiting = [];
  const handle = (m) => {
    if (m.kind === 'assign') { served = true; if (host) host.assign(m.user); return; }
    if (host) host.request(m.id, m.op, m.args);
    else parentPort.postMessage({ kind: 'reply', gen, id: m.id, ok: false, json: JSON.stringify({ type: 'driver-error', message: 'cannot load the SDK bundle: ' + (loadError && loadError.message || loadError || 'not loaded') }) });
  };
  const loaded = () => { loading = false; for (const m of waiting.splice(0)) handle(m); };
  const load = () => {
    const mine = gen;
    const post = (m) => { if (mine === gen) parentPort.postMessage({ ...m, gen: mine }); };
    let W;
    try {
      facts = facts || bundleFacts(require, target, params);
      bundle = bundle || compileBundle(facts.file, workerData.cache);
      W = loadSdk(bundle.script, facts.file, target);
    } catch (e) {
      log('cannot load the SDK:', e);
      loadError = e;
      post({ kind: 'ready', error: String(e && e.message || e) });
      loaded();
      return;
    }
    if (params.probe && mine === 0) {
      post({ kind: 'ready', name: facts.name, version: sdkVersion(W, facts) });
      return;
    }
    host = createSdkHost({ W, gen: facts.gen, post, log, trace });
    post({ kind: 'ready', name: facts.name, version: params.reuseProbe && mine === 0 ? sdkVersion(W, facts) : undefined });
    loaded();
  };
  // A new generation: what the previous SDK opened is closed before the bundle loads again.
  const recycle = async (next) => {
    gen = next;
    host = null;
    loading = true;
    // a user's realm has run: the functions it compiled go into the code cache (once per worker)
    if (bundle && bundle.take && served) { bundle.take = false; takeCodeCache(bundle); }
    opened.closeAll();
    // let the closed SDK's pending callbacks and promise chains run out (they post nothing now)
    for (let i = 0; i < 3; i++) await new Promise((r) => setImmediate(r));
    opened.closeAll();
    for (const key of Reflect.ownKeys(globalThis)) {
      if (!baseGlobals.has(key)) { try { delete globalThis[key]; } catch { /* non-configurable */ } }
    }
    for (const key of Object.keys(require.cache)) if (!baseModules.has(key)) delete require.cache[key];
    if (TRACE) log(`TRACE recycled: generation ${next}`);
    if (gen === next) load();
  };
  load();
  parentPort.on('message', (m) => {
    if (m.kind === 'recycle') { recycle(m.gen).catch((e) => log('recycling the realm failed:', e)); return; }
    if (m.kind === 'flush') {
      const mine = gen;
      Promise.resolve(host && host.drained()).catch(() => {}).then(() => {
        // idle (DRIVER-PROTOCOL.md, "Settling"): its requests handled, nothing of its own under way
        const busy = !host ? 'no SDK loaded' : loading || waiting.length ? 'requests waiting for the SDK to load' : opened.busy(IDLE_HORIZON_MS);
        if (TRACE_IDLE && busy) log(`not idle: ${busy}`);
        parentPort.postMessage({ kind: 'flushed', gen: mine, idle: busy === null });
      });
      return;
    }
    if (m.kind !== 'req' && m.kind !== 'assign') return;
    if (loading) waiting.push(m);
    else handle(m);
  });
}

/**
 * Registers every socket, request and timer the SDK opens: {closeAll(), busy(horizonMs)}.
 * closeAll() closes them all (a recycled worker); busy() says what the SDK still has under way of
 * its own (null when nothing): a socket opening or closing, an HTTP request or file read not
 * answered yet, a timer due within `horizonMs` (DRIVER-PROTOCOL.md, "Settling": `idle`). The
 * global constructors and timer functions are replaced before the SDK loads (it captures them
 * at evaluation), with the same behaviour.
 */
function trackOpened(g) {
  const sockets = new Set();
  const requests = new Set();
  /** timer -> {due (performance.now() ms), period (intervals)} */
  const timers = new Map();
  let reads = 0; // FileReader reads not finished
  let fetches = 0; // fetch() calls not settled
  const SENT = Symbol('sent');
  const DONE = Symbol('done');
  const BaseSocket = g.WebSocket;
  g.WebSocket = class WebSocket extends BaseSocket {
    constructor(...args) { super(...args); sockets.add(this); this.once('close', () => sockets.delete(this)); }
  };
  const BaseXhr = g.XMLHttpRequest;
  g.XMLHttpRequest = class XMLHttpRequest extends BaseXhr {
    constructor(...args) {
      super(...args);
      requests.add(this);
      this.addEventListener('loadend', () => { this[DONE] = true; requests.delete(this); });
    }
    send(...args) {
      this[SENT] = true;
      try { return super.send(...args); } catch (e) { this[SENT] = false; throw e; }
    }
  };
  if (g.FileReader && typeof g.FileReader.prototype._read === 'function') {
    const BaseReader = g.FileReader;
    g.FileReader = class FileReader extends BaseReader {
      _read(...args) {
        reads += 1;
        const done = () => { reads -= 1; this.removeEventListener('loadend', done); };
        this.addEventListener('loadend', done);
        return super._read(...args);
      }
    };
  }
  if (typeof g.fetch === 'function') {
    const baseFetch = g.fetch;
    g.fetch = function fetch(...args) {
      fetches += 1;
      let p;
      try { p = baseFetch(...args); } catch (e) { fetches -= 1; throw e; }
      return p.finally(() => { fetches -= 1; });
    };
  }
  const { setTimeout: st, setInterval: si, clearTimeout: ct, clearInterval: ci } = g;
  // Node's rule: a delay that is not a number in [1, 2^31 - 1] is 1 ms.
  const delay = (ms) => { const n = Number(ms); return n >= 1 && n <= 2147483647 ? n : 1; };
  g.setTimeout = function setTimeout(fn, ms, ...rest) {
    const t = st((...a) => { timers.delete(t); if (typeof fn === 'function') fn(...a); }, ms, ...rest);
    timers.set(t, { due: performance.now() + delay(ms) });
    return t;
  };
  g.setInterval = function setInterval(fn, ms, ...rest) {
    const entry = { due: performance.now() + delay(ms), period: delay(ms) };
    const t = si((...a) => { entry.due = performance.now() + entry.period; if (typeof fn === 'function') fn(...a); }, ms, ...rest);
    timers.set(t, entry);
    return t;
  };
  g.clearTimeout = function clearTimeout(t) { timers.delete(t); ct(t); };
  g.clearInterval = function clearInterval(t) { timers.delete(t); ci(t); };
  const quiet = (o) => {
    for (const k of ['onopen', 'onmessage', 'onerror', 'onclose', 'onreadystatechange', 'onload', 'onabort', 'ontimeout', 'onprogress', 'onloadend', 'onloadstart']) {
      try { o[k] = null; } catch { /* read-only */ }
    }
  };
  return {
    closeAll() {
      for (const s of sockets) { try { s.removeAllListeners(); quiet(s); s.on('error', () => {}); s.terminate(); } catch { /* gone */ } }
      sockets.clear();
      for (const r of requests) {
        try { quiet(r); if (r.upload) quiet(r.upload); r._listeners = {}; if (r.upload) r.upload._listeners = {}; r.abort(); } catch { /* done */ }
      }
      requests.clear();
      for (const t of timers.keys()) { ct(t); }
      timers.clear();
      reads = 0;
      fetches = 0;
    },
    busy(horizonMs) {
      for (const s of sockets) if (s.readyState === BaseSocket.CONNECTING || s.readyState === BaseSocket.CLOSING) return 'a socket opening or closing';
      for (const r of requests) if (r[SENT] && !r[DONE]) return 'an HTTP request in flight';
      if (fetches > 0) return 'a fetch in flight';
      if (reads > 0) return 'a file read in progress';
      const now = performance.now();
      for (const { due } of timers.values()) if (due - now <= horizonMs) return `a timer due in ${Math.round(due - now)} ms`;
      return null;
    },
  };
}

/**
 * The SDKs' own console lines (4.x writes a debug line, objects inspected, for each step of a
 * login or a message) go nowhere unless IMSPEC_SDK_LOG=1: each cost the realm a format and a
 * write through the worker's stdout pipe, and the driver and the harness a line to pass on, a
 * tenth of the drivers' CPU. console.warn and console.error (the SDKs' errors) stay.
 */
function quietConsole() {
  if (process.env.IMSPEC_SDK_LOG === '1') return;
  for (const level of ['log', 'info', 'debug', 'trace', 'table', 'dir']) console[level] = () => {};
}

/**
 * protobuf.js, in every SDK, generates the encoder, decoder and verifier of each message type at
 * its first use in a realm (source text built, then `Function(...params, source)` compiled into a
 * factory that is called with the type's scope). A recycled realm generates the same sources
 * again: the factory compiled for a source is kept for the worker's later realms. A factory is
 * pure (the closure it returns is new at each call), so sharing one shares no state. At most
 * FUNCTION_CACHE_LIMIT sources are kept; `new Function` and `Function()` behave as before.
 */
function memoizeFunctionConstructor(g) {
  const Base = g.Function;
  const cache = new Map();
  const compile = (args, make) => {
    if (!args.every((a) => typeof a === 'string')) return make();
    const key = args.join('\0');
    let fn = cache.get(key);
    if (fn === undefined) {
      fn = make();
      if (cache.size < FUNCTION_CACHE_LIMIT) cache.set(key, fn);
    }
    return fn;
  };
  g.Function = new Proxy(Base, {
    apply: (target, self, args) => compile(args, () => Reflect.apply(target, self, args)),
    construct: (target, args, newTarget) => compile(args, () => Reflect.construct(target, args, newTarget === g.Function ? target : newTarget)),
  });
}

// ─────────────────────────────────────────────────────────────────────── polyfills / loading ──
// What Node 20 lacks for a Web SDK bundle (wire notes 3.6.3 and 4.x, section 6). Each is listed,
// with the reason, in the driver READMEs.
function installPolyfills(require, params) {
  const g = globalThis;
  const four = params.generation >= 4;
  // the UMD wrappers: 3.x passes the bare identifier `window`, 4.x references `self`; 4.x's
  // getEnvInfo() says "web" only if window.WebSocket exists (else mini-program code paths).
  if (four && g.self === undefined) g.self = g;
  if (g.window === undefined) g.window = g;
  // navigator: 3.x utils read navigator.plugins at load time; 4.x event reporting reads userAgent.
  if (g.navigator === undefined || (!four && g.navigator.plugins === undefined)) {
    const ua = `Node.js/${process.version} ${params.userAgent}`;
    const nav = four ? { userAgent: ua } : { userAgent: (g.navigator && g.navigator.userAgent) || ua, plugins: [] };
    try { Object.defineProperty(g, 'navigator', { value: nav, configurable: true, writable: true }); } catch { g.navigator = nav; }
  }
  // XMLHttpRequest (token, REST, SockJS /info, upload, download), captured at module evaluation.
  const XHR = require('xhr2');
  // xhr2 lacks withCredentials, which makes SockJS skip the real /info request.
  XHR.prototype.withCredentials = false;
  // xhr2 cannot send FormData: serialise it the way a browser would (multipart, File names kept).
  // The global FormData is read only for data that says it is one: reading it loads Node's fetch
  // implementation (undici), which cost every worker 20-50 ms at its first request.
  const origSend = XHR.prototype.send;
  XHR.prototype.send = function (data) {
    if (Object.prototype.toString.call(data) === '[object FormData]' && typeof FormData !== 'undefined' && data instanceof FormData) {
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
  // xhr2 has no responseType 'blob': read as a Buffer and wrap it in a Blob.
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
  // Node 20 has no global WebSocket (3.x's bundled SockJS reads it at load time).
  g.WebSocket = require('ws');
  // agora-chat 1.4.0 reads a bare `document` (listenBrowserVisibility); 4.21.1 guards it.
  if (four && g.document === undefined) g.document = { hidden: false, addEventListener() {}, removeEventListener() {} };
  if (typeof g.File === 'undefined') g.File = require('node:buffer').File;
  // Node 20 has no FileReader: 4.x reads a 403 / 404 download's error body with one (and the
  // multipart upload path calls readAsArrayBuffer). The browser's API over Blob: readAs*, `result`,
  // `readyState`, the load / loadend / error events and their on* handlers, asynchronously.
  if (typeof g.FileReader === 'undefined') g.FileReader = class FileReader extends EventTarget {
    constructor() { super(); this.readyState = 0; this.result = null; this.error = null; this.onload = null; this.onloadend = null; this.onerror = null; }
    _read(blob, how) {
      this.readyState = 1;
      const done = (type) => {
        this.readyState = 2;
        for (const t of type === 'load' ? ['load', 'loadend'] : ['error', 'loadend']) {
          const ev = new Event(t);
          Object.defineProperty(ev, 'target', { value: this });
          this.dispatchEvent(ev);
          const h = this['on' + t];
          if (typeof h === 'function') h.call(this, ev);
        }
      };
      blob.arrayBuffer().then((ab) => {
        const buf = Buffer.from(ab);
        this.result = how === 'text' ? buf.toString('utf8') : how === 'url' ? `data:${blob.type || 'application/octet-stream'};base64,${buf.toString('base64')}` : ab;
        done('load');
      }, (e) => { this.error = e; done('error'); });
    }
    readAsText(blob) { this._read(blob, 'text'); }
    readAsArrayBuffer(blob) { this._read(blob, 'buffer'); }
    readAsDataURL(blob) { this._read(blob, 'url'); }
    abort() {}
  };
}

// The bundle compiled once per worker as CommonJS: evaluating the same vm.Script again reuses
// V8's compiled code (a recycled realm loads in a quarter of the time `require` takes, which
// compiles anew), while every evaluation still gets new module state. With a code cache (the
// main thread's, else the file's) V8 deserialises the compiled code instead of compiling.
// Returns {script, key, take}: `take` says that this worker should make the code cache once its
// first realm has run (it got none, or V8 rejected the one it got).
function compileBundle(file, held) {
  const bytes = fs.readFileSync(file);
  const source = `(function (exports, require, module, __filename, __dirname) { ${bytes.toString('utf8').replace(/^#!.*/, '')}\n})`;
  if (!CODE_CACHE) return { script: new vm.Script(source, { filename: file }), key: null, take: false };
  const key = cacheKey(bytes, file);
  const cachedData = held && held.key === key ? held.data : readCodeCache(key);
  const script = new vm.Script(source, { filename: file, cachedData });
  return { script, key, take: !cachedData || script.cachedDataRejected === true };
}

// What a code cache is valid for: the bundle's bytes (the wrapper around them is this file's, so
// CACHE_FORMAT changes with it), what else V8 checks (its version, its flags) or could differ
// between two Node installations sharing a temp folder, and the bundle's path (the compiled code
// carries the file name its stack traces show: a cache made from another copy of the same bundle
// would name that copy).
function cacheKey(bytes, file) {
  return crypto.createHash('sha256')
    .update([CACHE_FORMAT, process.version, process.arch, process.platform, process.execArgv.join(' '), process.env.NODE_OPTIONS || '', file].join('\0'))
    .update('\0').update(bytes).digest('hex').slice(0, 40);
}

// A code cache file is the SHA-256 of its payload (32 bytes) and the payload: V8 checks a cache's
// version, flags and source length, but a release build does not checksum it, so this file
// checks itself. Returns a Buffer or undefined (no file, or a bad one: then compile as before).
function readCodeCache(key) {
  try {
    if (!ownCacheDir()) return undefined;
    const file = fs.readFileSync(path.join(CACHE_DIR, key + '.bin'));
    const data = file.subarray(32);
    if (file.length > 32 && crypto.createHash('sha256').update(data).digest().equals(file.subarray(0, 32))) return data;
  } catch { /* no cache yet */ }
  return undefined;
}

// The code cache of a bundle that has run: written to the cache file (a temporary file renamed
// into place, so a reader sees a whole file or none) and handed to the main thread. A failure
// is logged to nobody: the next worker compiles as before.
function takeCodeCache(bundle) {
  try {
    const data = bundle.script.createCachedData();
    parentPort.postMessage({ kind: 'code-cache', key: bundle.key, data });
    fs.mkdirSync(CACHE_DIR, { recursive: true, mode: 0o700 });
    if (!ownCacheDir()) return;
    const file = path.join(CACHE_DIR, bundle.key + '.bin');
    const tmp = `${file}.${process.pid}.${crypto.randomBytes(4).toString('hex')}.tmp`;
    try {
      fs.writeFileSync(tmp, Buffer.concat([crypto.createHash('sha256').update(data).digest(), data]), { mode: 0o600 });
      fs.renameSync(tmp, file);
    } catch (e) {
      try { fs.unlinkSync(tmp); } catch { /* not written */ }
      throw e;
    }
  } catch { /* compile as before */ }
}

// The cache folder is used only when it is this user's and nobody else can write to it (a
// folder someone else made under the shared temp folder could hold code of theirs).
function ownCacheDir() {
  const st = fs.lstatSync(CACHE_DIR);
  return st.isDirectory() && (UID === null || (st.uid === UID && (st.mode & 0o022) === 0));
}

function loadSdk(bundle, file, target) {
  const module = { exports: {}, id: file, filename: file, loaded: false };
  bundle.runInThisContext().call(module.exports, module.exports, createRequire(file), module, file, path.dirname(file));
  module.loaded = true;
  const mod = module.exports;
  const W = (mod && mod.default && mod.default.connection ? mod.default : mod);
  if (!W || typeof W.connection !== 'function' || typeof W.message !== 'function') {
    throw new Error(`${target} does not export {connection, message} (keys: ${Object.keys(W || {}).join(',')})`);
  }
  return W;
}
