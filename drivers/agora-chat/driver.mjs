#!/usr/bin/env node
// imspec driver for the real, unmodified agora-chat 1.x (pinned: 1.4.0), the Agora-branded twin of
// easemob-websdk 4.x: the common core (../common/) with this package and the 4.x API generation.
// IMSPEC_WEBSDK=<bundle> loads another build instead. Mapping to the guide's API: README.md here.
import { fileURLToPath } from 'node:url';
import path from 'node:path';
import { runNodeDriver } from '../common/node-realm.mjs';

runNodeDriver({ name: 'imspec-agora-chat', pkg: 'agora-chat', generation: 4, userAgent: 'imspec', dir: path.dirname(fileURLToPath(import.meta.url)) });
