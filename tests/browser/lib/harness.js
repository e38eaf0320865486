// The shared frame of a browser test: a federation, a headless Chromium, named steps,
// and on failure the logs and a screenshot of what the browser showed.
'use strict';

const fs = require('node:fs');
const path = require('node:path');
const { startFederation, artifactDir } = require('./federation');

let chromium;
try {
  ({ chromium } = require('playwright-core'));
} catch (e) {
  console.error('playwright-core is not installed: run `npm ci` in tests/browser (./aifed.sh test does)');
  process.exit(1);
}

const CHROMIUM = process.env.AIFED_CHROMIUM || '/usr/bin/chromium';

async function launchBrowser() {
  if (!fs.existsSync(CHROMIUM)) throw new Error(`no ${CHROMIUM}: apt-get install chromium`);
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    // The coordinator's certificate is self-signed (its fingerprint is checked by the
    // API client of the tests); Chromium is told to accept it.
    args: ['--no-sandbox', '--disable-background-networking', '--ignore-certificate-errors',
      '--disable-dev-shm-usage'],
  });
}

// Runs `body({fed, browser, step, newPage})` and exits 0 or 1. `options.federation` goes
// to startFederation (e.g. {extraArgs: [...]}); newPage({width, height}) sizes a page.
async function runTest(name, body, options = {}) {
  const started = Date.now();
  let fed = null;
  let browser = null;
  const pages = [];
  let current = '(setup)';
  const step = async (title, fn) => {
    current = title;
    const t0 = Date.now();
    const result = await fn();
    console.log(`  ok  ${title} (${Date.now() - t0} ms)`);
    return result;
  };
  const newPage = async ({ width = 1366, height = 768 } = {}) => {
    const context = await browser.newContext({ viewport: { width, height }, ignoreHTTPSErrors: true });
    const page = await context.newPage();
    page.setDefaultTimeout(30000);
    page.errors = [];
    page.on('pageerror', (e) => page.errors.push(e.message));
    page.on('console', (m) => { if (m.type() === 'error') page.errors.push(`console: ${m.text()}`); });
    pages.push(page);
    return page;
  };
  let ok = false;
  try {
    fed = await step('start a seven-site federation (aifed demo)', () => startFederation(options.federation || {}));
    browser = await step('launch headless Chromium', () => launchBrowser());
    await body({ fed, browser, step, newPage });
    ok = true;
  } catch (e) {
    console.error(`FAIL ${name}: step "${current}": ${e.stack || e}`);
    for (const [i, page] of pages.entries()) {
      const file = path.join(artifactDir, `${name}-failure-${i}.png`);
      await page.screenshot({ path: file, fullPage: true }).catch(() => {});
      console.error(`  screenshot: ${file}; url ${page.url()}`);
      if (page.errors.length) console.error(`  page errors:\n    ${page.errors.join('\n    ')}`);
    }
    if (fed) console.error(`--- coordinator log (tail) ---\n${fed.logTail('coordinator')}`);
  } finally {
    if (browser) await browser.close().catch(() => {});
    if (fed) await fed.stop();
    if (ok && fed) fs.rmSync(fed.stateDir, { recursive: true, force: true });
  }
  console.log(`${ok ? 'PASS' : 'FAIL'} ${name} in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  console.log(ok ? '1 passed, 0 failed' : '0 passed, 1 failed');
  process.exit(ok ? 0 : 1);
}

// Logs in through the login form with `token` and waits for the overview.
async function login(page, fed, token, role) {
  await page.goto(fed.consoleUrl);
  await page.waitForURL(/#\/login$/);
  await page.getByLabel('API token').fill(token);
  await page.getByRole('button', { name: 'Log in' }).click();
  // Either the console opens or the login form says why not.
  await page.locator('#topbar:not([hidden]), #login-error:not(:empty)').first().waitFor();
  const refusal = await page.evaluate(() => document.getElementById('login-error')?.textContent || '');
  if (refusal) throw new Error(`the login form says: ${refusal}`);
  const shown = (await page.locator('#who-role').textContent()).trim();
  if (shown !== role) throw new Error(`logged in as ${shown}, wanted ${role}`);
  await page.waitForURL(/#\/$/);
}

// Waits for the connection indicator to say Live: the /api/v1/events WebSocket is open
// and its snapshot arrived.
async function waitLive(page) {
  try {
    await page.locator('#conn[data-state="live"]').waitFor({ timeout: 30000 });
  } catch (e) {
    const shown = await page.evaluate(() => document.getElementById('conn-text')?.textContent || '(none)');
    throw new Error(`the console never went live on /api/v1/events (the indicator says "${shown}")`);
  }
}

module.exports = { runTest, login, waitLive };
