// What a Web SDK bundle says about itself, read from the bundle (never guessed from a version
// number): the package it belongs to, the transport it speaks, its own version string.
import fs from 'node:fs';
import path from 'node:path';
import { probeVersion } from './sdk-host.mjs';

/**
 * `require` resolves `target` (a package name or a bundle path); `adapter.generation` is the API
 * generation the driver maps (3 or 4), `adapter.pkg` the package named when none is found.
 * Returns {file, name, packageVersion, gen: {generation, transport}}.
 * Transport: a bundle that carries sockjs-client (every 3.x, and 4.x builds up to 4.1 at least)
 * opens its socket through SockJS and wants the http:// base URL; one without it (4.21.1,
 * agora-chat 1.4.0) opens a raw WebSocket on the ws:// URL.
 */
export function bundleFacts(require, target, adapter) {
  const file = require.resolve(target);
  const text = fs.readFileSync(file, 'utf8');
  const transport = /sockjs/i.test(text) ? 'sockjs' : 'websocket';
  const pkg = packageJson(file);
  return {
    file,
    name: (pkg && pkg.name) || adapter.pkg,
    packageVersion: pkg && pkg.version,
    gen: { generation: adapter.generation, transport },
  };
}

// package.json in the bundle's folder or up to three above it.
function packageJson(file) {
  try {
    let dir = path.dirname(file);
    for (let i = 0; i < 4; i++, dir = path.dirname(dir)) {
      const p = path.join(dir, 'package.json');
      if (fs.existsSync(p)) return JSON.parse(fs.readFileSync(p, 'utf8'));
    }
  } catch { /* none */ }
  return null;
}

/**
 * The bundle's own version string: the version a fresh connection announces (the SDK's default,
 * sent as Provision.version), else an exported one, else package.json beside the bundle.
 */
export function sdkVersion(W, facts) {
  return probeVersion(W, facts.gen.transport) || facts.packageVersion || null;
}
