// click-allow.mjs: a real browser for lakelink's login test.
//
//   node build/browser/click-allow.mjs AUTHORIZE_URL
//
// Used as $BROWSER by cmd/lakelink/browser_test.go: `lakelink login` runs
// `sh -c "$BROWSER \"$1\"" browser URL` and does not wait for it. This script
// starts Debian's /usr/bin/chromium headless (through playwright-core, with a
// fresh profile removed afterwards), opens the authorize URL of
// `lakelink emulator --interactive`, checks that the consent page names the
// user and every requested scope, clicks Allow, and waits until the browser
// has reached the loopback callback and shows "Signed in".
//
// Environment:
//   LAKELINK_BROWSER_RESULT  file to write the outcome to: "ok", or
//                            "error: WHY" (written atomically, last thing
//                            before exiting, after the browser is closed)
//   LAKELINK_SCREENSHOT      PNG file for a screenshot of the final page
//   LAKELINK_EXPECT_USER     the user the consent page must show (optional;
//                            without it any non-empty user will do)
//
// Exit status: 0 when signed in, 1 (with the reason on stderr) otherwise.
// Everything is bounded by 60 seconds.

import { mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium } from 'playwright-core';

const OVERALL_TIMEOUT_MS = 60_000;
const STEP_TIMEOUT_MS = 20_000;
const CHROMIUM = '/usr/bin/chromium';
const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

let step = 'starting';
let context; // the browser, once launched
let profileDir; // its temporary --user-data-dir
let finished = false;
const failedRequests = []; // "URL: reason", to explain a navigation that went nowhere

// finish records the outcome, closes the browser, removes the profile and
// exits. It runs once: whichever of success, failure or timeout comes first.
async function finish(error) {
  if (finished) return;
  finished = true;
  if (context) {
    // Bounded: a wedged browser must not hold the outcome back. Playwright
    // kills the browser's process group on exit anyway.
    await Promise.race([context.close().catch(() => {}), new Promise((r) => setTimeout(r, 10_000))]);
  }
  if (profileDir) {
    try {
      rmSync(profileDir, { recursive: true, force: true, maxRetries: 3 });
    } catch (e) {
      process.stderr.write(`click-allow: could not remove ${profileDir}: ${e.message}\n`);
    }
  }
  const outcome = error ? `error: ${error}` : 'ok';
  if (error) process.stderr.write(`click-allow: ${error}\n`);
  const resultFile = process.env.LAKELINK_BROWSER_RESULT;
  if (resultFile) {
    try {
      writeFileSync(`${resultFile}.tmp`, outcome + '\n');
      renameSync(`${resultFile}.tmp`, resultFile);
    } catch (e) {
      process.stderr.write(`click-allow: could not write ${resultFile}: ${e.message}\n`);
    }
  }
  process.exit(error ? 1 : 0);
}

function describe(e) {
  // Playwright's messages carry a multi-line call log; its first line says it.
  const message = String(e && e.message ? e.message : e).split('\n')[0];
  const failures = failedRequests.length ? ` (failed requests: ${failedRequests.join('; ')})` : '';
  return `${step}: ${message}${failures}`;
}

async function main() {
  const target = process.argv[2];
  if (!target) throw new Error('usage: node click-allow.mjs AUTHORIZE_URL');
  let authorize;
  try {
    authorize = new URL(target);
  } catch {
    throw new Error(`not a URL: ${JSON.stringify(target)}`);
  }
  const scopes = (authorize.searchParams.get('scope') || '').split(/\s+/).filter(Boolean);
  const redirect = authorize.searchParams.get('redirect_uri');
  if (!redirect) throw new Error(`the authorize URL has no redirect_uri: ${target}`);
  const callbackOrigin = new URL(redirect).origin;

  step = `launching ${CHROMIUM}`;
  profileDir = mkdtempSync(join(tmpdir(), 'lakelink-chromium-'));
  context = await chromium.launchPersistentContext(profileDir, {
    executablePath: CHROMIUM,
    headless: true,
    args: CHROMIUM_ARGS,
    timeout: STEP_TIMEOUT_MS,
  });
  context.setDefaultTimeout(STEP_TIMEOUT_MS);
  const page = context.pages()[0] || (await context.newPage());
  page.on('requestfailed', (req) => failedRequests.push(`${req.url().split('?')[0]}: ${req.failure()?.errorText}`));

  step = `opening the authorize URL ${authorize.origin}${authorize.pathname}`;
  const response = await page.goto(target, { waitUntil: 'load' });
  if (!response) throw new Error('no response');
  if (response.status() !== 200) {
    const shown = await page.locator('#error').textContent({ timeout: 1000 }).catch(() => null);
    throw new Error(`HTTP ${response.status()}${shown ? `: ${shown.trim()}` : ''}`);
  }

  step = 'checking the consent page';
  const user = ((await page.locator('#user').textContent()) || '').trim();
  const wantUser = process.env.LAKELINK_EXPECT_USER;
  if (wantUser ? user !== wantUser : !user) {
    throw new Error(`it shows user ${JSON.stringify(user)}, want ${wantUser ? JSON.stringify(wantUser) : 'a user'}`);
  }
  const shownScopes = (await page.locator('li code').allTextContents()).map((s) => s.trim());
  const missing = scopes.filter((s) => !shownScopes.includes(s));
  if (missing.length) {
    throw new Error(`it does not list requested scope(s) ${missing.join(', ')} (it lists: ${shownScopes.join(', ') || 'none'})`);
  }

  step = 'clicking Allow';
  const reachedCallback = page.waitForURL((u) => u.origin === callbackOrigin, { waitUntil: 'load' });
  await page.locator('#allow').click();
  step = `waiting for the loopback callback ${callbackOrigin}`;
  await reachedCallback;

  step = 'checking the callback page';
  const result = ((await page.locator('#result').textContent()) || '').trim();
  if (!result.includes('Signed in')) throw new Error(`it says ${JSON.stringify(result)}, want "Signed in"`);

  if (process.env.LAKELINK_SCREENSHOT) {
    step = `taking a screenshot to ${process.env.LAKELINK_SCREENSHOT}`;
    await page.screenshot({ path: process.env.LAKELINK_SCREENSHOT });
  }
  step = 'closing the browser';
}

const timer = setTimeout(() => finish(`timed out after ${OVERALL_TIMEOUT_MS / 1000}s while ${step}`), OVERALL_TIMEOUT_MS);
main().then(
  () => finish(null),
  (e) => finish(describe(e)),
).finally(() => clearTimeout(timer));
