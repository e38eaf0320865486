// browser.console_layout: every page of the console, on a laptop (1366x768) and on a
// phone (390x844): axe-core finds no accessibility violation and the page is no wider
// than the screen (document.scrollingElement.scrollWidth <= 390 on the phone). Saves a
// full-page PNG of each, <page>-desktop.png and <page>-phone.png, in the directory it
// prints (tests/browser/artifacts in the CTest build directory).
'use strict';

const { runTest, login } = require('./lib/harness');
const { waitFor } = require('./lib/federation');
const { checkPage, screenshotDir } = require('./lib/layout');

const SIZES = [
  { name: 'desktop', options: {}, width: 1366 },
  { name: 'phone', options: { width: 390, height: 844 }, width: 390 },
];

// Goes to `hash` without a reload and waits for `ready` (a selector) and quiet.
async function show(page, hash, ready) {
  await page.evaluate((h) => { location.hash = h; }, hash);
  await page.locator(ready).first().waitFor();
  // Let the page finish what it started (live rows, the flash animation).
  await page.waitForTimeout(1500);
}

runTest('console_layout', async ({ fed, step, newPage }) => {
  const setup = await step('jobs, a drained site with a long reason and a maintenance window', async () => {
    const jobs = [];
    for (let i = 1; i <= 4; i++) {
      jobs.push(await fed.submit({ name: `layout-${i}`, nodes: 1, gpus_per_node: 2, walltime_s: 900, simulated_runtime_s: 60 }));
    }
    jobs.push(await fed.submit({ name: 'layout-long-running-job-with-a-long-name', nodes: 2, gpus_per_node: 4,
      walltime_s: 86400, simulated_runtime_s: 80000, user: 'carol',
      script: '#!/bin/bash\n# a long line that a phone cannot show in one piece, so it scrolls inside its own box\nsrun python train.py --config configs/a-rather-long-configuration-file-name.yaml\n' }));
    const sites = (await fed.api('GET', '/api/v1/sites')).sites.map((s) => s.id);
    const drained = sites.find((s) => s !== jobs[4].site);
    await fed.api('POST', `/api/v1/sites/${drained}/drain`, {
      body: { reason: 'cooling repair in hall B: the chillers are replaced, back on Thursday after the acceptance tests' } });
    const now = Date.now();
    await fed.api('POST', `/api/v1/sites/${drained}/maintenance`, {
      body: { start: now + 3600e3, end: now + 7200e3, reason: 'Slurm upgrade to 24.05 and a firmware update of every switch' },
      expect: 201 });
    await waitFor('the first jobs to complete', async () =>
      (await fed.api('GET', `/api/v1/jobs/${jobs[0].id}`)).state === 'completed', 60000);
    return { job: jobs[0].id, running: jobs[4].id, drained };
  });

  const pages = [
    { name: 'overview', hash: '#/', ready: '.site-card' },
    { name: 'sites', hash: '#/sites', ready: '#sites-table tbody tr' },
    { name: 'site', hash: `#/sites/${setup.drained}`, ready: '#partitions' },
    { name: 'jobs', hash: '#/jobs', ready: '#jobs-table tbody tr' },
    { name: 'job', hash: `#/jobs/${setup.running}`, ready: '#explain-table' },
    { name: 'job-completed', hash: `#/jobs/${setup.job}`, ready: '#explain-table' },
    { name: 'submit', hash: '#/submit', ready: '#submit-form',
      then: async (page) => {
        await page.locator('#plan-job').click();
        await page.locator('#plan-table, #plan-status .error-box').first().waitFor();
        if (!(await page.locator('#plan-table').count())) {
          throw new Error(`no plan table: ${await page.locator('#plan-status').textContent()}`);
        }
      } },
    { name: 'policy', hash: '#/policy', ready: '#active-policy' },
    { name: 'audit', hash: '#/audit', ready: '#audit-table' },
    { name: 'projects', hash: '#/projects', ready: '#projects .project-table' },
    { name: 'tokens', hash: '#/tokens', ready: '#tokens-table',
      then: async (page, size) => {
        // With a new token's secret on show (the longest thing on the page).
        await page.getByLabel('Name').fill(`layout-${size}`);
        await page.getByLabel('Role').selectOption('submitter');
        await page.locator('#token-projects input').first().check();
        await page.locator('#create-token').click();
        await page.locator('#new-token').waitFor();
      } },
    { name: 'not-found', hash: '#/no-such-page', ready: '#not-found' },
    { name: 'job-not-found', hash: '#/jobs/j-999999', ready: '#not-found' },
  ];

  const problems = [];
  for (const size of SIZES) {
    const page = await newPage(size.options);
    await step(`${size.name}: the login page`, async () => {
      await page.goto(fed.consoleUrl);
      await page.locator('#token').waitFor();
      await checkPage(page, `login-${size.name}`, size.width).catch((e) => problems.push(e.message));
    });
    await step(`${size.name}: log in as admin`, () => login(page, fed, fed.adminToken, 'admin'));
    for (const p of pages) {
      await step(`${size.name}: ${p.name} (${p.hash})`, async () => {
        await show(page, p.hash, p.ready);
        if (p.then) await p.then(page, size.name);
        const width = await checkPage(page, `${p.name}-${size.name}`, size.width, p.tolerate).catch((e) => {
          problems.push(e.message);
          return null;
        });
        if (width !== null) console.log(`      ${p.name}-${size.name}: ${width}px wide, no axe violations`);
      });
    }
    // 401 before the login, 404 of the missing job.
    const errors = page.errors.filter((e) => !/status of 40[14]/.test(e));
    if (errors.length) problems.push(`${size.name}: the page logged errors:\n    ${errors.join('\n    ')}`);
  }
  console.log(`  screenshots of every page: ${screenshotDir}`);
  if (problems.length) throw new Error(`${problems.length} page(s) failed:\n  ${problems.join('\n  ')}`);
});
