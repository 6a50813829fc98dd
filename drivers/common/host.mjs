// The protocol host of every JavaScript driver (DRIVER-PROTOCOL.md): JSON lines on stdin/stdout,
// request checks and routing, one realm per user (a Node worker, a Chromium page: the backend's),
// spare realms loaded ahead, `hello`, `reset`, `shutdown`, and the `exception` event.
//
// A backend is {name, sdkName, probe(), newRealm(), reuseProbe?, tellsIdle?, close?()}
// (`tellsIdle`: its realms' flush() says whether the realm is idle):
// - probe(): Promise<{name?, version} | {error}>: what the bundle says about itself (when
//   `reuseProbe`, the first spare realm's `ready` answers it instead);
// - newRealm(): a realm loading the SDK: {ready: Promise<{version?, name?, error?}>, assign(user),
//   request(id, op, args), flush(): Promise (resolves once every message the realm posted
//   before has reached onMessage, with true when the realm was idle then: DRIVER-PROTOCOL.md,
//   "Settling"), dispose(): Promise}; the host sets realm.onMessage(m) and
//   realm.onExit(reason) before anything can arrive;
// - close(): Promise, at shutdown (a browser to close).
import readline from 'node:readline';
import { PROTOCOLS, CAPABILITIES, OPS, USER_OPS, V2_OPS } from './lists.mjs';

const USER_OP_SET = new Set(USER_OPS);
/** Spare realms kept loaded: most scenarios connect two users one after the other. */
const SPARES = 2;

export function runHost(backend) {
  // stdout guard: only protocol lines (written through `emitLine`) reach the real stdout.
  const realWrite = process.stdout.write.bind(process.stdout);
  process.stdout.write = (chunk, enc, cb) => process.stderr.write(chunk, enc, cb);
  const log = (...a) => process.stderr.write(`[${backend.name}] ` + a.map((x) => (typeof x === 'string' ? x : (x && x.stack) || String(x))).join(' ') + '\n');
  const emitLine = (line, cb) => realWrite(line + '\n', cb);
  const reply = (id, ok, payload) => {
    const obj = ok ? { id, ok: true, result: payload ?? {} } : { id, ok: false, error: payload };
    emitLine(JSON.stringify(obj));
  };
  process.on('uncaughtException', (e) => log('uncaught exception (host):', e));
  process.on('unhandledRejection', (e) => log('unhandled rejection (host):', e));
  const envProtocol = process.env.IMSPEC_PROTOCOL;
  if (envProtocol && !PROTOCOLS.includes(Number(envProtocol))) log(`IMSPEC_PROTOCOL=${envProtocol}, this driver speaks ${PROTOCOLS.join(' and ')}`);

  /** user -> slot {realm, user, pending: Map<id, op>, connecting, exited, disposed} */
  const users = new Map();
  const spares = [];
  let shuttingDown = false;
  let sdkInfo = null;
  let protocol = null; // the version `hello` agreed on
  let probePromise = null;
  const inflight = new Set(); // hello / reset still working

  // A realm loading the SDK; it belongs to no user until a connect takes it.
  function startRealm() {
    const slot = { user: null, pending: new Map(), connecting: false, exited: false, disposed: false };
    const realm = backend.newRealm();
    slot.realm = realm;
    realm.onMessage = (m) => {
      if (slot.disposed) return; // a realm of the previous scenario, or superseded
      const user = slot.user;
      try {
        if (m.kind === 'event') {
          emitLine('{"event":' + JSON.stringify(m.event) + (user === null ? '' : ',"user":' + JSON.stringify(user)) +
            (m.data === undefined ? '' : ',"data":' + m.data) + '}');
        } else if (m.kind === 'exception') {
          log(`exception in ${user ?? 'a spare realm'}: ${m.stack || m.message}`);
          const data = { message: m.message, stack: m.stack };
          emitLine(JSON.stringify(user === null ? { event: 'exception', data } : { event: 'exception', user, data }));
        } else if (m.kind === 'reply') {
          if (!slot.pending.has(m.id)) { log(`${user}: reply for unknown request ${m.id} dropped`); return; }
          const op = slot.pending.get(m.id);
          slot.pending.delete(m.id);
          if (op === 'connect') slot.connecting = false;
          emitLine('{"id":' + JSON.stringify(m.id) + ',"ok":' + (m.ok ? 'true' : 'false') +
            (m.ok ? ',"result":' : ',"error":') + m.json + '}');
        }
      } catch (e) { log('bad realm message', e); }
    };
    realm.onExit = (reason) => {
      const user = slot.user ?? 'spare';
      slot.exited = true;
      if (spares.includes(slot)) spares.splice(spares.indexOf(slot), 1);
      if (!slot.disposed && !shuttingDown) {
        log(`the realm of ${user} ended unexpectedly: ${reason}`);
        for (const [id, op] of slot.pending) {
          reply(id, false, { type: 'driver-error', message: `the realm hosting ${user}'s SDK ended (${reason}) before the ${op} completed` });
        }
      }
      slot.pending.clear();
      if (users.get(slot.user) === slot) users.delete(slot.user);
    };
    return slot;
  }

  function dispose(slot) {
    slot.disposed = true;
    slot.pending.clear();
    return Promise.resolve().then(() => slot.realm.dispose()).catch((e) => log('dispose failed', e));
  }

  function fillSpares(n) {
    while (!shuttingDown && spares.length < n) spares.push(startRealm());
  }

  // What the bundle says about itself ({name?, version} or {error}), probed once.
  async function sdkLoaded() {
    if (sdkInfo) return sdkInfo;
    // below the harness's 60 s for a driver's start (DRIVER-PROTOCOL.md, `hello`)
    const timeout = new Promise((r) => setTimeout(() => r({ error: 'timeout loading the SDK (50 s)' }), 50000).unref());
    let probe;
    if (backend.reuseProbe) {
      fillSpares(SPARES);
      probe = spares[0].realm.ready;
    } else {
      probe = probePromise || (probePromise = backend.probe());
      // the spares load once the probe is done: at hello it has the machine to itself
      probe.then(() => fillSpares(SPARES), () => {});
    }
    const info = await Promise.race([probe.catch((e) => ({ error: String(e && e.message || e) })), timeout]);
    if (!sdkInfo) sdkInfo = info;
    return sdkInfo;
  }

  async function hello(req) {
    const asked = req.args && req.args.protocol;
    if (!PROTOCOLS.includes(asked)) {
      reply(req.id, false, { type: 'bad-request', message: `protocol version ${asked === undefined ? '(missing args.protocol)' : JSON.stringify(asked)} is not supported; this driver speaks versions ${PROTOCOLS.join(' and ')}` });
      return;
    }
    const info = await sdkLoaded();
    if (info.error) {
      reply(req.id, false, { type: 'driver-error', message: 'cannot load the SDK bundle: ' + info.error });
      return;
    }
    const result = { driver: backend.name, sdk: info.name || backend.sdkName, sdkVersion: info.version, ops: OPS, protocol: asked };
    if (asked >= 2) { result.ops = [...OPS, ...V2_OPS]; result.capabilities = CAPABILITIES; }
    protocol = asked;
    reply(req.id, true, result);
  }

  // `reset`: every user's realm is closed and dropped (their SDK state with it); the spare realms,
  // loaded but never connected, stay for the next scenario. The reply comes once nothing of the
  // previous scenario can write any more.
  async function reset(id) {
    const used = [...users.values()];
    // what the SDKs did before the reset still belongs to the scenario that ends: every realm
    // hands over its callbacks first (DRIVER-PROTOCOL.md, "Settling")
    await flushAll(used);
    users.clear();
    // requests the SDK never settled are answered (DRIVER-PROTOCOL.md: before the reset reply)
    for (const slot of used) {
      for (const [pid, op] of slot.pending) reply(pid, false, { type: 'driver-error', message: `reset before the ${op} completed` });
    }
    // Once disposed, a realm's lines are dropped (startRealm), so the reply need not wait for a
    // browser context to finish closing: at most 500 ms (the harness allows reset 2 s).
    await Promise.race([Promise.all(used.map(dispose)), new Promise((r) => setTimeout(r, 500))]);
    fillSpares(SPARES);
    reply(id, true, {});
  }

  // Waits (at most 1.2 s: the harness allows a reset 2 s) until every callback the slots' realms
  // made has been written; resolves with each realm's answer (whether it was idle), or undefined
  // when the wait ran out.
  function flushAll(slots) {
    const flushing = slots.filter((slot) => !slot.exited && slot.realm.flush).map((slot) => slot.realm.flush().catch(() => {}));
    return Promise.race([Promise.all(flushing), new Promise((r) => setTimeout(r, 1200))]);
  }

  async function shutdown(id) {
    if (shuttingDown) return;
    shuttingDown = true;
    const hardStop = setTimeout(() => process.exit(0), 1800);
    hardStop.unref();
    await flushAll([...users.values()]);
    // let a hello that is still probing the bundle answer first
    if (inflight.size) await Promise.race([Promise.allSettled([...inflight]), new Promise((r) => setTimeout(r, 800))]);
    const all = [...users.values(), ...spares.splice(0)];
    await Promise.race([
      Promise.allSettled([...all.map(dispose), Promise.resolve().then(() => backend.close && backend.close())]),
      new Promise((r) => setTimeout(r, 1200)),
    ]);
    if (id !== undefined) {
      emitLine(JSON.stringify({ id, ok: true, result: {} }), () => process.exit(0));
    } else {
      process.exit(0);
    }
  }

  function track(id, promise) {
    const p = promise.catch((e) => reply(id, false, { type: 'driver-error', message: String(e && e.stack || e) }));
    inflight.add(p);
    p.finally(() => inflight.delete(p));
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
    if (op === 'hello') { track(id, hello(req)); return; }
    if (op === 'shutdown') { shutdown(id); return; }
    if (op === 'reset') { track(id, reset(id)); return; }
    // `sync`: every callback the SDKs made so far is written before the reply (DRIVER-PROTOCOL.md,
    // "Settling"): each realm is flushed, as before a reset.
    // `idle` (version 3): every realm said it has nothing of its own under way (a realm that cannot
    // tell, a Chromium page, says nothing, and the harness waits its grace).
    if (op === 'sync') {
      const tells = backend.tellsIdle && protocol >= 3;
      track(id, flushAll([...users.values()]).then((idle) => reply(id, true, tells && idle && idle.every((i) => i === true) ? { idle: true } : {})));
      return;
    }
    if (!USER_OP_SET.has(op)) {
      reply(id, false, { type: 'unsupported', message: `op ${JSON.stringify(op)} is not implemented by ${backend.name}` });
      return;
    }
    const user = req.user;
    if (typeof user !== 'string' || user === '') { reply(id, false, { type: 'bad-request', message: `op ${op} needs a non-empty string "user"` }); return; }
    let slot = users.get(user);
    if (op === 'connect') {
      if (slot && slot.connecting) { reply(id, false, { type: 'bad-request', message: `a connect for ${user} is already in progress` }); return; }
      if (slot) {
        // A new connect replaces the user's previous realm (closed, failed, or still open).
        log(`connect for ${user}: dropping the previous realm`);
        users.delete(user);
        for (const [pid, pop] of slot.pending) reply(pid, false, { type: 'driver-error', message: `superseded by a new connect for ${user} before the ${pop} completed` });
        dispose(slot);
      }
      slot = spares.shift() || startRealm();
      fillSpares(1);
      slot.user = user;
      slot.realm.assign(user);
      users.set(user, slot);
      slot.connecting = true;
    } else if (!slot || slot.exited) {
      reply(id, false, { type: 'bad-request', message: `no connection for user ${JSON.stringify(user)} (connect first)` });
      return;
    }
    slot.pending.set(id, op);
    slot.realm.request(id, op, req.args || {});
  }

  const rl = readline.createInterface({ input: process.stdin, crlfDelay: Infinity });
  rl.on('line', (line) => { try { handle(line); } catch (e) { log('internal error handling a request:', e); } });
  rl.on('close', () => { log('stdin closed; exiting'); shutdown(undefined); });
}
