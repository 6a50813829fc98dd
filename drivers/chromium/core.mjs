// The Chromium backend of the JavaScript drivers: the unmodified Web SDK bundle runs in headless
// Chromium (Debian's `chromium`, driven by puppeteer-core over a pipe: nothing is downloaded),
// with the browser's own WebSocket, XMLHttpRequest, FormData, Blob and timers.
//
// One browser per driver process; each user's realm is a page in a browser context of its own
// (its own storage). At that user's `connect` the page opens the fake server's blank page
// (`GET /imspec/page`, so the SDK's REST calls are same-origin), the bundle is added as a script,
// then the common SDK host (../common/sdk-host.mjs, the Node drivers' code) is added beside it.
// Ops go in through page.evaluate, callbacks come back through an exposed function.
import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import fs from 'node:fs';
import path from 'node:path';
import { runHost } from '../common/host.mjs';
import { bundleFacts } from '../common/bundle.mjs';
import { probeInNode } from '../common/node-realm.mjs';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const DRIVERS = path.dirname(HERE);
const require = createRequire(import.meta.url);

/** The SDKs this driver runs, each from the Node driver folder that pins it. */
export const SDKS = {
  websdk: { name: 'imspec-chromium-websdk', pkg: 'easemob-websdk', generation: 3, dir: path.join(DRIVERS, 'websdk') },
  websdk4: { name: 'imspec-chromium-websdk4', pkg: 'easemob-websdk', generation: 4, dir: path.join(DRIVERS, 'websdk4') },
  'agora-chat': { name: 'imspec-chromium-agora-chat', pkg: 'agora-chat', generation: 4, dir: path.join(DRIVERS, 'agora-chat') },
};

// lists.mjs + sdk-host.mjs as one classic script (import / export keywords dropped) that
// defines window.__imspec = {createSdkHost, probeVersion, findExport}.
function pageScript() {
  const strip = (file) => fs.readFileSync(path.join(DRIVERS, 'common', file), 'utf8')
    .split('\n').filter((l) => !/^import /.test(l)).map((l) => l.replace(/^export /, '')).join('\n');
  return `(() => {\n${strip('lists.mjs')}\n${strip('sdk-host.mjs')}\nwindow.__imspec = { createSdkHost, probeVersion, findExport };\n})();`;
}

/** The system browser: $IMSPEC_CHROMIUM, else chromium / chromium-browser / google-chrome on PATH. */
function browserPath() {
  if (process.env.IMSPEC_CHROMIUM) return process.env.IMSPEC_CHROMIUM;
  for (const dir of (process.env.PATH || '').split(':')) {
    for (const name of ['chromium', 'chromium-browser', 'google-chrome']) {
      const p = path.join(dir, name);
      if (fs.existsSync(p)) return p;
    }
  }
  throw new Error('no chromium on PATH (apt-get install chromium, or set IMSPEC_CHROMIUM)');
}

export function runChromiumDriver(sdkKey) {
  const adapter = SDKS[sdkKey];
  if (!adapter) {
    process.stderr.write(`unknown SDK ${JSON.stringify(sdkKey)}; one of ${Object.keys(SDKS).join(', ')}\n`);
    process.exit(2);
  }
  const sdkRequire = createRequire(path.join(adapter.dir, 'driver.mjs'));
  const target = process.env.IMSPEC_WEBSDK ? path.resolve(process.cwd(), process.env.IMSPEC_WEBSDK) : adapter.pkg;
  const log = (...a) => process.stderr.write(`[${adapter.name}] ${a.map((x) => (typeof x === 'string' ? x : (x && x.stack) || String(x))).join(' ')}\n`);
  const TRACE = !!process.env.IMSPEC_WEBSDK_TRACE;

  let facts = null; // bundle facts and text, read once
  function bundle() {
    if (!facts) {
      facts = bundleFacts(sdkRequire, target, adapter);
      facts.text = fs.readFileSync(facts.file, 'utf8');
      facts.script = pageScript();
    }
    return facts;
  }

  // ── the browser: started by us in our own process group (puppeteer's launcher detaches it),
  // so that killing the driver's group takes the browser with it ──
  let browserPromise = null;
  let child = null;
  function browser() {
    if (!browserPromise) browserPromise = launch();
    return browserPromise;
  }
  async function launch() {
    const puppeteer = require('puppeteer-core');
    const tmp = process.env.TMPDIR || '/tmp';
    removeOrphanProfiles(tmp);
    const userDir = fs.mkdtempSync(path.join(tmp, `imspec-chromium-${process.pid}-`));
    child = spawn(browserPath(), [
      '--headless=new', '--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage', '--no-first-run',
      '--no-default-browser-check', '--disable-extensions', '--disable-background-networking',
      '--disable-component-update', '--disable-sync', '--mute-audio', '--password-store=basic',
      // every page is a user's app in the foreground: no throttled timers in background pages
      '--disable-background-timer-throttling', '--disable-backgrounding-occluded-windows',
      '--disable-renderer-backgrounding',
      '--disable-features=Translate,MediaRouter,OptimizationHints', `--user-data-dir=${userDir}`,
      '--remote-debugging-pipe', 'about:blank',
    ], { stdio: ['ignore', 'ignore', 'pipe', 'pipe', 'pipe'] });
    child.on('exit', (code, signal) => {
      try { fs.rmSync(userDir, { recursive: true, force: true }); } catch { /* gone */ }
      if (!closing) log(`chromium exited (${signal || code})`);
    });
    const killBrowser = () => { try { child.kill('SIGKILL'); } catch { /* gone */ } };
    process.on('exit', killBrowser);
    let errTail = '';
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (d) => { errTail = (errTail + d).slice(-2000); if (process.env.IMSPEC_CHROMIUM_LOG) process.stderr.write(d); });
    const transport = new PipeTransport(child.stdio[3], child.stdio[4]);
    try {
      return await puppeteer.connect({ transport, defaultViewport: null, protocolTimeout: 20000 });
    } catch (e) {
      killBrowser();
      throw new Error(`cannot start chromium: ${e && e.message}\n${errTail}`);
    }
  }
  let closing = false;

  // A driver killed with its process group (SIGKILL) cannot remove its browser profile: the next
  // driver removes every profile whose driver process is gone.
  function removeOrphanProfiles(tmp) {
    let names = [];
    try { names = fs.readdirSync(tmp); } catch { return; }
    for (const name of names) {
      const m = /^imspec-chromium-(\d+)-/.exec(name);
      if (!m) continue;
      try { process.kill(Number(m[1]), 0); continue; } catch (e) { if (e.code !== 'ESRCH') continue; }
      try { fs.rmSync(path.join(tmp, name), { recursive: true, force: true }); } catch { /* raced */ }
    }
  }

  async function newPage(label) {
    const b = await browser();
    const context = await b.createBrowserContext();
    const page = await context.newPage();
    page.on('console', (m) => process.stderr.write(`[${label()} console.${m.type()}] ${m.text()}\n`));
    return { context, page };
  }

  // Loads the bundle and the SDK host into a page; returns what the bundle says.
  async function loadSdk(page, user) {
    const f = bundle();
    await page.evaluate(() => { window.__imspecGlobals = new Set(Object.getOwnPropertyNames(window)); });
    await page.addScriptTag({ content: f.text });
    await page.addScriptTag({ content: f.script });
    return page.evaluate((gen, user, trace) => {
      const W = window.__imspec.findExport(window.__imspecGlobals);
      const log = (...a) => console.error(a.map((x) => (typeof x === 'string' ? x : (x && x.stack) || String(x))).join(' '));
      const host = window.__imspec.createSdkHost({
        W, gen, log,
        post: (m) => window.__imspecPost(JSON.stringify(m)),
        trace: trace ? (name, args) => console.log(`TRACE ${name}(${[...args].map((a) => { try { return JSON.stringify(a); } catch { return String(a); } }).join(', ')})`) : () => {},
      });
      // the browser's own report of an exception nobody caught: the protocol's `exception` event
      window.addEventListener('error', (ev) => host.exception(ev.error !== undefined && ev.error !== null ? ev.error : ev.message));
      window.addEventListener('unhandledrejection', (ev) => host.exception(ev.reason));
      if (user !== null) host.assign(user);
      window.__imspecHost = host;
      return { version: window.__imspec.probeVersion(W, gen.transport) };
    }, f.gen, user, TRACE);
  }

  function pageRealm() {
    let user = null;
    let opened = null; // the page's realm, made at connect: Promise<{page}>
    let disposed = false;
    const label = () => user ?? 'spare';
    const realm = {};
    const born = Date.now();
    const made = newPage(label).then(async (p) => {
      made.t = Date.now() - born;
      await p.page.exposeFunction('__imspecPost', (json) => { if (!disposed) realm.onMessage(JSON.parse(json)); });
      p.page.on('close', () => { if (!disposed) realm.onExit('the page closed'); });
      p.page.on('pageerror', (e) => { if (!disposed) log(`page error in ${label()}: ${e && e.message}`); });
      return p;
    });
    realm.ready = made.then(() => ({}), (e) => ({ error: String(e && e.message || e) }));
    realm.assign = (u) => { user = u; };
    realm.request = (id, op, args) => {
      if (op === 'connect') {
        // a new document on the server's origin, then the SDK in it
        opened = made.then(async (p) => {
          const origin = new URL(args.apiUrl || args.url).origin;
          const t0 = Date.now();
          await p.page.goto(`${origin}/imspec/page`, { waitUntil: 'load' });
          const t1 = Date.now();
          await loadSdk(p.page, user);
          log(`${user}: page ready (${made.t} ms), its document in ${t1 - t0} ms, the SDK in ${Date.now() - t1} ms`);
          return p;
        });
      }
      if (!opened) {
        realm.onMessage({ kind: 'reply', id, ok: false, json: JSON.stringify({ type: 'bad-request', message: `no connection for user ${user}` }) });
        return;
      }
      opened.then(
        (p) => p.page.evaluate((id, op, args) => window.__imspecHost.request(id, op, args), id, op, args),
      ).catch((e) => {
        if (disposed) return;
        log(`${op} for ${label()} failed in the page:`, e);
        realm.onMessage({ kind: 'reply', id, ok: false, json: JSON.stringify({ type: 'driver-error', message: `${op}: ${e && e.message || e}` }) });
      });
    };
    // every callback the page made so far has reached onMessage (its bindings come in order)
    realm.flush = () => (opened ? opened.then((p) => p.page.evaluate(() => window.__imspecHost && window.__imspecHost.drained())).catch(() => {}) : Promise.resolve());
    realm.dispose = () => {
      disposed = true;
      return made.then((p) => p.context.close()).catch(() => {});
    };
    return realm;
  }

  // the browser starts at once, while the harness says hello and sets up its world
  browser().catch((e) => log(e));
  runHost({
    name: adapter.name,
    sdkName: adapter.pkg,
    // What the bundle says about itself, read in a Node worker (a fraction of a browser page's
    // time, so that hello is quick); a bundle that loads only in a browser is read in a page.
    probe: async () => {
      const f = bundle();
      const inNode = await probeInNode({ ...adapter, userAgent: 'imspec', bundle: f.file });
      if (!inNode.error && inNode.version) return inNode;
      log(`reading the bundle in Node failed (${inNode.error}); reading it in a page`);
      const p = await newPage(() => 'probe');
      try {
        // an http origin (the SDKs read localStorage at load, which an about:blank page refuses),
        // answered by the driver itself: no server exists yet
        await p.page.setRequestInterception(true);
        p.page.on('request', (r) => r.respond({ status: 200, contentType: 'text/html', body: '<!doctype html><title>probe</title>' }));
        await p.page.goto('http://127.0.0.1/imspec/probe');
        const info = await loadSdk(p.page, null);
        return { name: f.name, version: info.version || f.packageVersion };
      } finally {
        p.context.close().catch(() => {});
      }
    },
    newRealm: pageRealm,
    close: async () => {
      closing = true;
      if (!browserPromise) return;
      // Browser.close, then wait for the browser process (it takes its renderers with it); kill
      // it if it dawdles. A driver killed outright takes the browser with its process group, and
      // a browser whose debugging pipe closes exits by itself.
      const exited = new Promise((r) => { if (!child || child.exitCode !== null || child.signalCode) r(); else child.once('exit', r); });
      try { const b = await browserPromise; b.close().catch(() => {}); } catch { /* never started */ }
      await Promise.race([exited, new Promise((r) => setTimeout(r, 700))]);
      if (child && child.exitCode === null && !child.signalCode) child.kill('SIGKILL');
    },
  });
}

// puppeteer's ConnectionTransport over Chromium's --remote-debugging-pipe (fds 3 and 4):
// NUL-separated JSON messages.
class PipeTransport {
  constructor(writable, readable) {
    this.writable = writable;
    this.pending = '';
    this.onmessage = null;
    this.onclose = null;
    readable.setEncoding('utf8');
    readable.on('data', (chunk) => {
      let start = 0;
      let end;
      while ((end = chunk.indexOf('\0', start)) !== -1) {
        const msg = this.pending + chunk.slice(start, end);
        this.pending = '';
        start = end + 1;
        if (this.onmessage) this.onmessage.call(null, msg);
      }
      this.pending += chunk.slice(start);
    });
    readable.on('close', () => { if (this.onclose) this.onclose.call(null); });
    writable.on('error', () => {});
    readable.on('error', () => {});
  }
  send(message) { this.writable.write(message); this.writable.write('\0'); }
  close() { this.writable.end(); }
}
