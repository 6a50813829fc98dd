#!/usr/bin/env node
// imspec driver for the real, unmodified agora-chat 1.x (pinned: 1.4.0), the Agora-branded twin of
// easemob-websdk 4.x: the code is the websdk4 driver's (../websdk4/core.mjs) with this package.
// IMSPEC_WEBSDK=<bundle> loads another build instead. Mapping to the guide's API: README.md here.
import { fileURLToPath } from 'node:url';
import path from 'node:path';
import { runDriver } from '../websdk4/core.mjs';

runDriver({ pkg: 'agora-chat', dir: path.dirname(fileURLToPath(import.meta.url)), name: 'imspec-agora-chat' });
