// browser.console_history: the console's history (issue 14) against a real seven-site
// federation whose coordinator samples every second. The overview's federation charts
// and each site page's charts render with tick labels; a drained site's health timeline
// shows the drain's reason; a site whose agent was killed is marked stale ("last heard")
// on its card and page; axe-core finds no violation on those pages; at 390 px nothing
// scrolls sideways. Screenshots go to the artifact directory.
'use strict';

const fs = require('node:fs');
const path = require('node:path');
const { runTest, login, waitLive } = require('./lib/harness');
const { waitFor, artifactDir } = require('./lib/federation');

let AxeBuilder;
try {
  const axe = require('@axe-core/playwright');
  AxeBuilder = axe.AxeBuilder || axe.default || axe;
} catch (e) {
  console.error('@axe-core/playwright is not installed: run `npm ci` in tests/browser (./aifed.sh test does)');
  process.exit(1);
}

const DRAINED = 'mimer';
const KILLED = 'pharos';
const REASON = 'cooling loop repair (browser test)';

// The pid of the agent process of `site` in this federation's state directory: the one
// whose command line names its config file (a path no other process on the machine has).
function agentPid(stateDir, site) {
  const config = path.join(stateDir, 'state', 'agents', `${site}.toml`);
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    let cmd = '';
    try {
      cmd = fs.readFileSync(`/proc/${entry}/cmdline`, 'utf8');
    } catch {
      continue;
    }
    const args = cmd.split('\0');
    const at = args.indexOf('--config');
    if (args[0].endsWith('/aifed-agent') && at >= 0 && args[at + 1] === config) return Number(entry);
  }
  return null;
}

async function checkAxe(page, what) {
  const result = await new AxeBuilder({ page }).analyze();
  if (result.violations.length > 0) {
    const lines = result.violations.map((v) => `${v.id} (${v.impact}): ${v.help}; ${v.nodes.slice(0, 3).map((n) => n.target.join(' ')).join(' | ')}`);
    throw new Error(`axe-core found ${result.violations.length} violation(s) on ${what}:\n  ${lines.join('\n  ')}`);
  }
  return result.passes.length;
}

// Every chart in `scope` is an SVG role="img" with a label and tick labels on both axes.
async function checkCharts(page, scope, count) {
  await waitFor(`${count} charts with tick labels in ${scope}`, async () => page.evaluate(([sel, n]) => {
    const figs = [...document.querySelectorAll(`${sel} figure.chart:not(.strip-figure)`)];
    if (figs.length !== n) return false;
    return figs.every((f) => {
      const svg = f.querySelector('svg[role="img"]');
      const xt = [...f.querySelectorAll('text.x-tick')].map((t) => t.textContent.trim()).filter(Boolean);
      const yt = [...f.querySelectorAll('text.y-tick')].map((t) => t.textContent.trim()).filter(Boolean);
      return svg && svg.getAttribute('aria-label').length > 20 && xt.length >= 2 && yt.length >= 2 &&
        f.querySelector('path.line') && f.querySelector('table.visually-hidden tbody tr');
    });
  }, [scope, count]), 30000);
}

// Nothing in the page's main content reaches past the viewport's right edge (the top
// bar's phone layout is another test's: it is named, not failed, here).
async function noSidewaysScroll(page, what) {
  const r = await page.evaluate(() => {
    const view = document.documentElement.clientWidth;
    const wide = [...document.querySelectorAll('#main *')].filter((el) => {
      const box = el.getBoundingClientRect();
      if (box.width === 0 || el.closest('.visually-hidden')) return false;
      // Inside a scrolling box (a table's wrapper) is not the page scrolling.
      const scroller = el.parentElement && el.parentElement.closest('.table-wrap, .timeline');
      return box.right > view + 0.5 && !scroller;
    }).map((el) => `${el.tagName.toLowerCase()}${el.id ? `#${el.id}` : ''}.${el.className && el.className.baseVal !== undefined ? el.className.baseVal : el.className} (${Math.round(el.getBoundingClientRect().right)} px)`);
    const outside = [...document.querySelectorAll('body *')].filter((el) => !el.closest('#main') &&
      el.getBoundingClientRect().right > view + 0.5).map((el) => `${el.tagName.toLowerCase()}${el.id ? `#${el.id}` : ''}`);
    return { view, doc: document.documentElement.scrollWidth, wide: wide.slice(0, 8), outside: outside.slice(0, 6) };
  });
  if (r.wide.length) throw new Error(`${what} reaches past ${r.view} px: ${r.wide.join(', ')}`);
  if (r.doc > r.view) console.log(`  note: at ${r.view} px ${what} is ${r.doc} px wide, outside the main content: ${r.outside.join(', ')}`);
}

runTest('console_history', async ({ fed, step, newPage }) => {
  await step('the coordinator samples every second: at least 4 federation samples', async () => {
    const job = (i) => ({ name: `hist-${i}`, nodes: 2, gpus_per_node: 4, walltime_s: 3600, simulated_runtime_s: 600000 });
    for (let i = 0; i < 4; i++) await fed.submit(job(i));
    await waitFor('4 samples', async () => {
      const h = await fed.api('GET', '/api/v1/history');
      return h.interval_s === 1 && h.points.length >= 4 && h.points[h.points.length - 1].accelerators_total > 0;
    }, 30000);
  });

  await step(`drain ${DRAINED} with a reason and kill ${KILLED}'s agent`, async () => {
    await fed.api('POST', `/api/v1/sites/${DRAINED}/drain`, { body: { reason: REASON } });
    const pid = agentPid(fed.stateDir, KILLED);
    if (!pid) throw new Error(`no aifed-agent process for ${KILLED} under ${fed.stateDir}`);
    process.kill(pid, 'SIGKILL');
    await waitFor(`${KILLED} stale in the API`, async () => (await fed.api('GET', `/api/v1/sites/${KILLED}`)).stale === true, 30000);
    const ev = await fed.api('GET', `/api/v1/sites/${DRAINED}/events`);
    const drain = ev.events.find((e) => e.to === 'draining');
    if (!drain || drain.reason !== REASON || drain.actor !== 'bootstrap-admin') {
      throw new Error(`no drain event with its reason and actor: ${JSON.stringify(ev.events)}`);
    }
    // A few samples with the site stale.
    await waitFor('stale samples of the killed site', async () => {
      const h = await fed.api('GET', `/api/v1/history?site=${KILLED}`);
      return h.points.filter((p) => p.stale).length >= 2;
    }, 30000);
  });

  const page = await newPage();
  await step('log in as admin: the overview charts the federation with tick labels', async () => {
    await login(page, fed, fed.adminToken, 'admin');
    await waitLive(page);
    await checkCharts(page, '#fed-history', 3);
    const label = await page.locator('#fed-chart-util svg').getAttribute('aria-label');
    if (!/Utilisation/.test(label) || !/samples/.test(label)) throw new Error(`utilisation chart label: ${label}`);
  });

  await step(`the ${KILLED} card is greyed and says when it was last heard`, async () => {
    const card = page.locator(`.site-card[data-site="${KILLED}"][data-stale="true"]`);
    await card.waitFor();
    const text = await card.textContent();
    if (!/last heard .* ago; figures as of then/.test(text)) throw new Error(`stale card text: ${text}`);
    const live = page.locator(`.site-card[data-site="lumi-aif"][data-stale="false"]`);
    await live.waitFor();
    if (/last heard/.test(await live.textContent())) throw new Error('a live site says "last heard"');
    // Bars show utilisation: "used / total used · free".
    const bar = await page.locator('.site-card[data-site="lumi-aif"] .bar-label').first().textContent();
    if (!/\d+ \/ \d+ used · \d+ free/.test(bar)) throw new Error(`bar label: ${bar}`);
    await page.screenshot({ path: path.join(artifactDir, 'console-history-overview.png'), fullPage: true });
  });

  await step('axe-core: no violations on the overview', () => checkAxe(page, 'the overview'));

  await step(`${DRAINED}'s page: charts, and the health timeline with the drain's reason`, async () => {
    await page.goto(`${fed.consoleUrl}#/sites/${DRAINED}`);
    await checkCharts(page, '#site-history', 4);
    await waitFor('the drain in the timeline', async () => {
      const items = await page.locator('#site-events li[data-to="draining"]').allTextContents();
      return items.some((t) => t.includes(REASON) && t.includes('bootstrap-admin'));
    }, 20000);
    const strip = await page.locator('#site-history-strip svg[role="img"]').getAttribute('aria-label');
    if (!/draining/.test(strip)) throw new Error(`the health strip does not show draining: ${strip}`);
    if ((await page.locator('#site-history-strip rect.state-draining').count()) === 0) throw new Error('no draining segment');
    await page.screenshot({ path: path.join(artifactDir, 'console-history-site.png'), fullPage: true });
  });

  await step('axe-core: no violations on a site page', () => checkAxe(page, `the ${DRAINED} page`));

  await step(`${KILLED}'s page says its figures are not current and shades the stale time`, async () => {
    await page.goto(`${fed.consoleUrl}#/sites/${KILLED}`);
    const note = await page.locator('#site-stale').textContent();
    if (!/Last heard .* the figures below are as of then/.test(note)) throw new Error(`stale note: ${note}`);
    await checkCharts(page, '#site-history', 4);
    if ((await page.locator('#site-chart-util rect.band-stale').count()) === 0) throw new Error('no stale band');
    await waitFor('the unreachable change in the timeline', async () =>
      (await page.locator('#site-events li[data-to="unreachable"]').count()) > 0, 20000);
    await checkAxe(page, `the ${KILLED} page`);
    await page.screenshot({ path: path.join(artifactDir, 'console-history-stale-site.png'), fullPage: true });
  });

  const phone = await newPage({ width: 390, height: 844 });
  await step('at 390 px the overview and a site page do not scroll sideways', async () => {
    await login(phone, fed, fed.adminToken, 'admin');
    await checkCharts(phone, '#fed-history', 3);
    await noSidewaysScroll(phone, 'the overview');
    await phone.screenshot({ path: path.join(artifactDir, 'console-history-overview-390.png'), fullPage: true });
    await phone.goto(`${fed.consoleUrl}#/sites/${DRAINED}`);
    await checkCharts(phone, '#site-history', 4);
    await noSidewaysScroll(phone, `the ${DRAINED} page`);
    await phone.screenshot({ path: path.join(artifactDir, 'console-history-site-390.png'), fullPage: true });
  });

  await step('no script errors on any page', async () => {
    // The login page asks GET /api/v1/session before there is one: its 401 is expected.
    const errors = [...page.errors, ...phone.errors].filter((e) => !/status of 401/.test(e));
    if (errors.length) throw new Error(`page errors:\n  ${errors.join('\n  ')}`);
  });
}, { federation: { extraArgs: ['--history-interval', '1s'] } });
