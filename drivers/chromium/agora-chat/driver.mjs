#!/usr/bin/env node
// imspec driver: the real, unmodified agora-chat 1.x (pinned 1.4.0) in headless Chromium
// (../core.mjs); its expected failures are expected-failures.txt beside this file.
import { runChromiumDriver } from '../core.mjs';

runChromiumDriver('agora-chat');
