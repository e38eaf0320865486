// browser.console_admin: an admin logs in and sees seven sites live; jobs submitted
// through the API appear and finish without a reload; a job's placement explanation and
// its output; a drained site takes no new jobs; the audit log records the drain.
// Screenshots of the overview and a job detail go to the CTest build directory.
'use strict';

const path = require('node:path');
const { runTest, login, waitLive } = require('./lib/harness');
const { waitFor, artifactDir } = require('./lib/federation');

// Small jobs any GPU site can take; 60 s of simulated work is half a second at speedup 120.
const job = (name) => ({ name, nodes: 1, gpus_per_node: 2, walltime_s: 900, simulated_runtime_s: 60 });

runTest('console_admin', async ({ fed, step, newPage }) => {
  const page = await newPage();
  const sites = await step('read the federation through the API', async () => {
    const data = await fed.api('GET', '/api/v1/sites');
    if (data.sites.length !== 7) throw new Error(`the federation has ${data.sites.length} sites, wanted 7`);
    return data.sites.map((s) => s.id);
  });

  await step('log in as admin with the bootstrap token', async () => {
    await login(page, fed, fed.adminToken, 'admin');
    const cookies = await page.context().cookies();
    const session = cookies.find((c) => c.name === 'aifed_session');
    if (!session || !session.httpOnly || !session.secure || session.sameSite !== 'Strict') {
      throw new Error(`session cookie is not HttpOnly+Secure+SameSite=Strict: ${JSON.stringify(session)}`);
    }
    const token = await page.evaluate(() => document.cookie);
    if (token.includes('aifed_session')) throw new Error('the session cookie is readable by scripts');
  });

  // A marker on window survives only as long as the page is not reloaded.
  await page.evaluate(() => { window.__aifedNoReload = true; });
  const notReloaded = async () => {
    if (!(await page.evaluate(() => window.__aifedNoReload === true))) throw new Error('the page was reloaded');
  };

  await step('the overview shows seven sites, live', async () => {
    await waitLive(page);
    await waitFor('seven site cards, all up', async () =>
      (await page.locator('.site-card[data-state="up"]').count()) === 7);
    for (const id of sites) await page.locator(`.site-card[data-site="${id}"]`).waitFor();
    const text = await page.locator('#totals').textContent();
    if (!text.includes('7 / 7')) throw new Error(`federation totals do not say 7 / 7 sites up: ${text}`);
  });

  await step('jobs submitted through the API show on the overview without a reload', async () => {
    const before = await page.locator('#totals').textContent();
    const placed = [];
    for (let i = 1; i <= 3; i++) placed.push(await fed.submit(job(`overview-${i}`)));
    const site = placed[0].site;
    const card = page.locator(`.site-card[data-site="${site}"]`);
    // The card's "Placed" count comes from the site's record, pushed as a site event.
    await waitFor(`the ${site} card to count 3 placed jobs`, async () =>
      /Placed\s*3/.test(await card.textContent()), 30000);
    await waitFor('the totals to count 3 completed jobs', async () =>
      /3\s*completed/.test(await page.locator('#totals').textContent()), 60000);
    if ((await page.locator('#totals').textContent()) === before) throw new Error('totals never changed');
    await notReloaded();
    await page.screenshot({ path: path.join(artifactDir, 'console-overview.png') });
  });

  let watched = [];
  await step('the jobs page shows new jobs appear and finish without a reload', async () => {
    await page.getByRole('link', { name: 'Jobs', exact: true }).click();
    await page.locator('#jobs-table').waitFor();
    await waitFor('the three earlier jobs listed', async () => (await page.locator('#jobs-table tbody tr').count()) === 3);
    watched = [];
    for (let i = 1; i <= 3; i++) watched.push((await fed.submit(job(`live-${i}`))).id);
    for (const id of watched) {
      const row = page.locator(`#jobs-table tr[data-job="${id}"]`);
      await row.waitFor({ timeout: 30000 });
      await waitFor(`${id} to show completed`, async () =>
        (await row.locator('.state').textContent()).trim() === 'completed', 60000);
    }
    const count = await page.locator('#jobs-count').textContent();
    if (!count.startsWith('6 jobs')) throw new Error(`the count says "${count}", wanted 6 jobs`);
    await notReloaded();
  });

  let chosen;
  await step('a job\'s detail page explains its placement over every site', async () => {
    const id = watched[0];
    await page.locator(`#jobs-table tr[data-job="${id}"] a`).first().click();
    await page.waitForURL(new RegExp(`#/jobs/${id}$`));
    await page.locator('#explain-table').waitFor();
    const rows = page.locator('#explain-table tbody tr');
    const n = await rows.count();
    if (n !== 7) throw new Error(`the explanation lists ${n} sites, wanted 7`);
    const chosenRows = page.locator('#explain-table tbody tr[data-verdict="chosen"]');
    if ((await chosenRows.count()) !== 1) throw new Error('the explanation marks no single chosen site');
    chosen = await chosenRows.getAttribute('data-site');
    const api = await fed.api('GET', `/api/v1/jobs/${id}`);
    if (api.site !== chosen) throw new Error(`the table chose ${chosen}, the job ran at ${api.site}`);
    // Scoring columns: one per plugin of the decision, "score × weight" with the raw value.
    const explain = await fed.api('GET', `/api/v1/jobs/${id}/explain`);
    const plugins = new Set(explain.decision.sites.flatMap((s) => (s.scores || []).map((t) => t.plugin)));
    const headers = await page.locator('#explain-table thead th').allTextContents();
    for (const p of plugins) if (!headers.includes(p)) throw new Error(`no column for plugin ${p}: ${headers}`);
    const cell = await chosenRows.locator('td.num').nth(1).textContent();
    if (!/×/.test(cell) || !/raw/.test(cell)) throw new Error(`the chosen site's score cell says "${cell}"`);
    await page.locator('#job-timeline li', { hasText: 'ended: completed' }).waitFor();
    // Where the output is, and its tail read from the site's agent (re-read when the
    // job ended); then the other stream.
    const done = await fed.api('GET', `/api/v1/jobs/${id}`);
    await page.locator('#output-where dd', { hasText: done.at_site.stdout_path }).waitFor();
    await page.locator('#job-output', { hasText: 'completed, exit code 0' }).waitFor();
    const shown = await page.locator('#job-output').textContent();
    if (!shown.includes(`job ${id} attempt 1`)) throw new Error(`the output panel shows "${shown}"`);
    await page.getByRole('radio', { name: 'stderr' }).check();
    await page.locator('#output-status', { hasText: 'stderr is empty' }).waitFor();
    await page.getByRole('radio', { name: 'stdout' }).check();
    await page.locator('#job-output', { hasText: 'completed, exit code 0' }).waitFor();
    await page.screenshot({ path: path.join(artifactDir, 'console-job-detail.png'), fullPage: true });
  });

  await step('a request without the CSRF token is refused even with the admin session', async () => {
    const status = await page.evaluate(async (site) => (await fetch(`/api/v1/sites/${site}/drain`, {
      method: 'POST', credentials: 'same-origin', headers: { 'Content-Type': 'application/json' }, body: '{}',
    })).status, chosen);
    if (status !== 403) throw new Error(`drain without X-CSRF-Token answered ${status}, wanted 403`);
    const site = await fed.api('GET', `/api/v1/sites/${chosen}`);
    if (site.drained) throw new Error(`${chosen} was drained by a request without a CSRF token`);
  });

  await step('drain a site from its page; it takes no new jobs', async () => {
    await page.locator(`#explain-table tr[data-site="${chosen}"] a`).click();
    await page.waitForURL(new RegExp(`#/sites/${chosen}$`));
    await page.getByLabel('Reason for draining').fill('browser test maintenance');
    await page.locator('#drain-site').click();
    await page.locator('#site-drained', { hasText: 'yes' }).waitFor();
    await page.locator('#resume-site').waitFor();
    const placedBefore = (await fed.api('GET', `/api/v1/sites/${chosen}`)).jobs_placed;
    const after = [];
    for (let i = 1; i <= 3; i++) after.push(await fed.submit(job(`after-drain-${i}`)));
    for (const j of after) {
      if (j.site === chosen) throw new Error(`${j.id} went to the drained site ${chosen}`);
      const ex = await fed.api('GET', `/api/v1/jobs/${j.id}/explain`);
      const verdict = ex.decision.sites.find((s) => s.site === chosen);
      if (!verdict || verdict.verdict !== 'rejected' || verdict.rejected_by !== 'draining') {
        throw new Error(`${j.id}'s decision does not reject ${chosen} as draining: ${JSON.stringify(verdict)}`);
      }
    }
    const placedAfter = (await fed.api('GET', `/api/v1/sites/${chosen}`)).jobs_placed;
    if (placedAfter !== placedBefore) throw new Error(`${chosen} placed ${placedAfter - placedBefore} jobs while drained`);
    await page.getByRole('link', { name: 'Overview', exact: true }).click();
    await page.locator(`.site-card[data-site="${chosen}"][data-state="draining"]`).waitFor();
    await notReloaded();
  });

  await step('the audit log shows the drain by the admin', async () => {
    await page.getByRole('link', { name: 'Audit log' }).click();
    await page.locator('#audit-table').waitFor();
    const row = page.locator('#audit-table tbody tr', { hasText: 'site.drain' }).filter({ hasText: chosen }).first();
    await row.waitFor();
    const text = await row.textContent();
    if (!/ok/.test(text)) throw new Error(`the drain's audit row says ${text}`);
  });

  await step('the projects page shows each project\'s allocation and use per site', async () => {
    await page.getByRole('link', { name: 'Projects', exact: true }).click();
    await page.locator('#projects .project-table').first().waitFor();
    const api = await fed.api('GET', '/api/v1/projects');
    const shown = await page.locator('#projects .project-table').count();
    if (shown !== api.projects.length) throw new Error(`${shown} project tables for ${api.projects.length} projects`);
    const p = api.projects[0];
    const total = page.locator(`.project-table[data-project="${p.id}"] tr.total`);
    const text = await total.textContent();
    if (!text.includes(String(Math.round(p.allocated_gpu_hours)))) {
      throw new Error(`${p.id}'s total row "${text}" does not show its ${p.allocated_gpu_hours} GPU-h`);
    }
  });

  await step('resume the site from its page', async () => {
    await page.goto(`${fed.consoleUrl}#/sites/${chosen}`);
    await page.locator('#resume-site').click();
    await page.locator('#site-drained', { hasText: 'no' }).waitFor();
    const site = await fed.api('GET', `/api/v1/sites/${chosen}`);
    if (site.drained) throw new Error(`${chosen} is still drained after Resume`);
  });

  await step('log out ends the session', async () => {
    await page.getByRole('button', { name: 'Log out' }).click();
    await page.waitForURL(/#\/login$/);
    const status = await page.evaluate(async () => (await fetch('/api/v1/sites', { credentials: 'same-origin' })).status);
    if (status !== 401) throw new Error(`after logout GET /api/v1/sites answered ${status}, wanted 401`);
  });

  const errors = (await Promise.resolve(page.errors)).filter((e) => !/status of 40[13]/.test(e));
  if (errors.length) throw new Error(`the page logged errors:\n${errors.join('\n')}`);
});
