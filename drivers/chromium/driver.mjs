#!/usr/bin/env node
// imspec driver: the real, unmodified Web SDK in headless Chromium (core.mjs). Which SDK:
// `--sdk websdk` (easemob-websdk 3.6.3, the default), `--sdk websdk4` (4.21.1), `--sdk agora-chat`
// (1.4.0), or IMSPEC_CHROMIUM_SDK; IMSPEC_WEBSDK=<bundle> loads another build of that API.
// ./websdk4/driver.mjs and ./agora-chat/driver.mjs are the same with the SDK fixed, so that each
// has its own expected-failures.txt beside it. README.md beside this file.
import { runChromiumDriver } from './core.mjs';

const i = process.argv.indexOf('--sdk');
runChromiumDriver(i > 0 ? process.argv[i + 1] : (process.env.IMSPEC_CHROMIUM_SDK || 'websdk'));
