#!/usr/bin/env node
// imspec driver for the real, unmodified easemob-websdk 3.x (pinned: 3.6.3) in Node. The code is
// the common core's (../common/); this adapter names the package and the API generation.
// IMSPEC_WEBSDK=<bundle> loads another 3.x build. Details: README.md beside this file.
import { fileURLToPath } from 'node:url';
import path from 'node:path';
import { runNodeDriver } from '../common/node-realm.mjs';

runNodeDriver({
  name: 'imspec-websdk',
  pkg: 'easemob-websdk',
  generation: 3,
  userAgent: 'imspec-websdk',
  // the first spare worker reports the version (a probe connection leaves 3.x unharmed)
  reuseProbe: true,
  dir: path.dirname(fileURLToPath(import.meta.url)),
});
