#!/usr/bin/env node
// imspec driver for the real, unmodified easemob-websdk 4.x (pinned: 4.21.1). The code is shared
// with the agora-chat driver (core.mjs); this file only names the package. IMSPEC_WEBSDK=<bundle>
// loads another build of the SDK instead. Mapping to the guide's API: README.md beside this file.
import { fileURLToPath } from 'node:url';
import path from 'node:path';
import { runDriver } from './core.mjs';

runDriver({ pkg: 'easemob-websdk', dir: path.dirname(fileURLToPath(import.meta.url)), name: 'imspec-websdk4' });
