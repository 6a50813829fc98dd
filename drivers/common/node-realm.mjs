// The Node backend of the JavaScript drivers: each user's realm is a worker_threads Worker that
// installs the polyfills a Web SDK needs in Node, loads the bundle and runs sdk-host.mjs.
// A Node driver is an adapter: `runNodeDriver(adapter)` with
//   {name, pkg, generation: 3 | 4, dir, userAgent, reuseProbe?}
// (`dir`: the driver folder whose node_modules hold the SDK, ws and xhr2).
//
// Why a worker per user: 3.x keeps its socket in module-level state and _msgHash on the
// prototype; 4.x keeps a module-level id counter and offline-sync statistics. This file is both
// the main-thread backend and the worker's entry point.
import { Worker, isMainThread, parentPort, workerData } from 'node:worker_threads';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import path from 'node:path';
import { runHost } from './host.mjs';
import { createSdkHost } from './sdk-host.mjs';
import { bundleFacts, sdkVersion } from './bundle.mjs';

const SELF = fileURLToPath(import.meta.url);

/** Runs a Node driver for the SDK the adapter names (IMSPEC_WEBSDK=<bundle> loads another build). */
export function runNodeDriver(adapter) {
  const bundle = process.env.IMSPEC_WEBSDK ? path.resolve(process.cwd(), process.env.IMSPEC_WEBSDK) : null;
  const params = { ...adapter, bundle };
  runHost({
    name: adapter.name,
    sdkName: adapter.pkg,
    reuseProbe: !!adapter.reuseProbe,
    probe: () => probeInNode(params),
    newRealm: () => workerRealm(params),
  });
}

/**
 * Loads the bundle in a throw-away worker (the same polyfills) and reads what it says about
 * itself: {name, version} or {error}. The Chromium driver asks this too (it is much faster than
 * a browser page), with the adapter of the Node driver whose folder holds the SDK.
 */
export function probeInNode(params) {
  return new Promise((resolve) => {
    const w = startWorker({ ...params, probe: true }, 'probe');
    const finish = (v) => { resolve(v); w.terminate().catch(() => {}); };
    w.on('message', (m) => { if (m.kind === 'ready') finish(m); });
    w.on('error', (e) => finish({ error: String(e && e.message || e) }));
    w.on('exit', () => finish({ error: 'the probe worker exited' }));
  });
}

function startWorker(params, label) {
  const worker = new Worker(SELF, { workerData: { params }, stdout: true, stderr: true });
  prefixPipe(worker.stdout, label, 'out');
  prefixPipe(worker.stderr, label, 'err');
  return worker;
}

function workerRealm(params) {
  let user = null;
  const worker = startWorker(params, () => user ?? 'spare');
  let loaded;
  const realm = {
    ready: new Promise((resolve) => { loaded = resolve; }),
    assign(u) { user = u; worker.postMessage({ kind: 'assign', user: u }); },
    request(id, op, args) { worker.postMessage({ kind: 'req', id, op, args }); },
    dispose: () => worker.terminate(),
  };
  worker.on('message', (m) => { if (m.kind === 'ready') loaded(m); else realm.onMessage(m); });
  worker.on('error', (e) => {
    process.stderr.write(`[${user ?? 'spare'}] worker error: ${e && e.stack || e}\n`);
    loaded({ error: String(e && e.message || e) });
  });
  worker.on('exit', (code) => {
    loaded({ error: `the SDK worker exited (code ${code})` });
    realm.onExit(`worker exit code ${code}`);
  });
  return realm;
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
  const inspect = TRACE ? require('node:util').inspect : null;
  const trace = (name, args) => { if (TRACE) process.stderr.write(`TRACE ${name}(${[...args].map((a) => inspect(a, { depth: 6, breakLength: Infinity })).join(', ')})\n`); };
  const log = (...a) => process.stderr.write(a.map((x) => (typeof x === 'string' ? x : (x && x.stack) || String(x))).join(' ') + '\n');

  // Browser-like: an exception escaping a callback does not end the "page"; it becomes the
  // protocol's `exception` event once the SDK host exists.
  let host = null;
  const uncaught = (e) => (host ? host.exception(e) : log('uncaught exception while loading:', e));
  process.on('uncaughtException', uncaught);
  process.on('unhandledRejection', uncaught);

  installPolyfills(require, params);

  const target = params.bundle || params.pkg;
  let W, facts;
  try {
    facts = bundleFacts(require, target, params);
    W = loadSdk(require, target);
  } catch (e) {
    log('cannot load the SDK:', e);
    parentPort.postMessage({ kind: 'ready', error: String(e && e.message || e) });
    parentPort.on('message', (m) => {
      if (m.kind === 'req') parentPort.postMessage({ kind: 'reply', id: m.id, ok: false, json: JSON.stringify({ type: 'driver-error', message: 'cannot load the SDK bundle: ' + (e && e.message || e) }) });
    });
    return;
  }
  if (params.probe) {
    parentPort.postMessage({ kind: 'ready', name: facts.name, version: sdkVersion(W, facts) });
    return;
  }
  host = createSdkHost({ W, gen: facts.gen, post: (m) => parentPort.postMessage(m), log, trace });
  parentPort.postMessage({ kind: 'ready', name: facts.name, version: params.reuseProbe ? sdkVersion(W, facts) : undefined });
  parentPort.on('message', (m) => {
    if (m.kind === 'assign') host.assign(m.user);
    else if (m.kind === 'req') host.request(m.id, m.op, m.args);
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
}

function loadSdk(require, target) {
  const mod = require(target);
  const W = (mod && mod.default && mod.default.connection ? mod.default : mod);
  if (!W || typeof W.connection !== 'function' || typeof W.message !== 'function') {
    throw new Error(`${target} does not export {connection, message} (keys: ${Object.keys(W || {}).join(',')})`);
  }
  return W;
}
