#!/usr/bin/env node
// imspec driver: the real, unmodified easemob-websdk 4.x (pinned 4.21.1) in headless Chromium
// (../core.mjs); its expected failures are expected-failures.txt beside this file.
import { runChromiumDriver } from '../core.mjs';

runChromiumDriver('websdk4');
