#!/usr/bin/env node
// imspec driver for the real, unmodified easemob-websdk 4.x (pinned: 4.21.1) in Node. The code is
// the common core's (../common/); this adapter names the package and the API generation.
// IMSPEC_WEBSDK=<bundle> loads another 4.x build. Mapping to the guide's API: README.md here.
import { fileURLToPath } from 'node:url';
import path from 'node:path';
import { runNodeDriver } from '../common/node-realm.mjs';

runNodeDriver({ name: 'imspec-websdk4', pkg: 'easemob-websdk', generation: 4, userAgent: 'imspec', dir: path.dirname(fileURLToPath(import.meta.url)) });
