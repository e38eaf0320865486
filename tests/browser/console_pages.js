// browser.console_pages: the pages of issue 14 as an admin uses them. The sites page
// lists every site and shows a drain's reason live; the jobs page lists newest first,
// sorts by a clicked (or keyboard-pressed) header, filters "active only", "mine" and by
// user; the submit page plans a job over every site and submits it; the tokens page
// creates a token (its secret shown once, never in the list) and revokes it; the audit
// log shows new rows by itself, filters by a select of actions and links its targets;
// unknown addresses and a missing job get a not-found page with a way back. Issue 17: the
// sites page and a site's page show the agent's own health (version, backend, last
// successful backend command, outbox), with the warning style when the backend is down or
// the report stale, and axe-core finds nothing on them.
'use strict';

const { runTest, login, waitLive } = require('./lib/harness');
const fs = require('node:fs');
const path = require('node:path');
const { waitFor, sleep } = require('./lib/federation');
const { axeViolations } = require('./lib/layout');

// The pid of the demo's aifed-agent for `site` (started with --config <state>/agents/<site>.toml).
function agentPid(stateDir, site) {
  const config = path.join(stateDir, 'state', 'agents', `${site}.toml`);
  for (const entry of fs.readdirSync('/proc').filter((e) => /^\d+$/.test(e))) {
    let args;
    try {
      args = fs.readFileSync(`/proc/${entry}/cmdline`, 'utf8').split('\0');
    } catch {
      continue;
    }
    const at = args.indexOf('--config');
    if (args[0].endsWith('/aifed-agent') && at >= 0 && args[at + 1] === config) return Number(entry);
  }
  return null;
}

const shortJob = (name) => ({ name, nodes: 1, gpus_per_node: 2, walltime_s: 900, simulated_runtime_s: 60 });
const idNum = (id) => Number(id.replace(/^j-/, ''));

runTest('console_pages', async ({ fed, step, newPage }) => {
  const setup = await step('jobs of two users: three short ones (done) and a long one (running)', async () => {
    const short = [];
    for (let i = 1; i <= 3; i++) short.push((await fed.submit(shortJob(`pages-${i}`))).id);
    const long = await fed.submit({ name: 'pages-long', nodes: 1, gpus_per_node: 1, walltime_s: 86400,
      simulated_runtime_s: 80000, user: 'carol' });
    for (const id of short) {
      await waitFor(`${id} completed`, async () => (await fed.api('GET', `/api/v1/jobs/${id}`)).state === 'completed', 60000);
    }
    await waitFor(`${long.id} running`, async () => (await fed.api('GET', `/api/v1/jobs/${long.id}`)).state === 'running', 60000);
    const session = await fed.api('GET', '/api/v1/session');
    return { short, long: long.id, me: session.user || session.name };
  });

  const page = await newPage();
  await step('log in as admin', async () => {
    await login(page, fed, fed.adminToken, 'admin');
    await waitLive(page);
    await page.evaluate(() => { window.__aifedNoReload = true; });
  });
  const notReloaded = async () => {
    if (!(await page.evaluate(() => window.__aifedNoReload === true))) throw new Error('the page was reloaded');
  };

  await step('the sites page lists every site with its accelerators and shows a drain reason live', async () => {
    await page.getByRole('link', { name: 'Sites', exact: true }).click();
    await page.waitForURL(/#\/sites$/);
    const api = (await fed.api('GET', '/api/v1/sites')).sites;
    await waitFor('a row per site', async () => (await page.locator('#sites-table tbody tr').count()) === api.length);
    for (const s of api) {
      const row = page.locator(`#sites-table tr[data-site="${s.id}"]`);
      const text = await row.textContent();
      if (!text.includes(`${s.accelerators_total}`)) throw new Error(`${s.id}'s row "${text}" lacks its ${s.accelerators_total} accelerators`);
      const href = await row.locator('th a').getAttribute('href');
      if (href !== `#/sites/${s.id}`) throw new Error(`${s.id}'s row links to ${href}`);
      if ((await row.getAttribute('data-stale')) !== String(s.stale === true)) throw new Error(`${s.id}'s stale marking differs from the API`);
      // The agent's own health: every demo agent reports it, its simulated backend is up.
      if (!s.agent || s.agent.backend_ok !== true) throw new Error(`${s.id}'s site JSON has no healthy "agent": ${JSON.stringify(s.agent)}`);
      const agent = row.locator('td.agent');
      if ((await agent.getAttribute('data-agent')) !== 'ok') throw new Error(`${s.id}'s agent cell is "${await agent.getAttribute('data-agent')}", not ok`);
      const cell = await agent.textContent();
      if (!cell.includes(s.agent.version) || !/Backend up/.test(cell) || !/outbox \d+/.test(cell)) throw new Error(`${s.id}'s agent cell says "${cell}"`);
    }
    const axeSites = await axeViolations(page);
    if (axeSites.length) throw new Error(`axe-core on the sites page:\n${axeSites.join('\n')}`);
    const site = api[1].id;
    await fed.api('POST', `/api/v1/sites/${site}/drain`, { body: { reason: 'sites page check' } });
    const row = page.locator(`#sites-table tr[data-site="${site}"]`);
    await waitFor(`${site}'s row to show the drain reason`, async () => /sites page check/.test(await row.textContent()), 15000);
    await fed.api('POST', `/api/v1/sites/${site}/resume`, { body: {} });
    await waitFor(`${site}'s row to lose the drain reason`, async () => !/sites page check/.test(await row.textContent()), 15000);
    await row.locator('th a').click();
    await page.waitForURL(new RegExp(`#/sites/${site}$`));
    await notReloaded();
  });

  await step("a site's page shows its agent: version, backend, last successful command, outbox", async () => {
    const site = (await fed.api('GET', '/api/v1/sites')).sites[1];
    const panel = page.locator('#site-agent[data-agent="ok"]');
    await panel.waitFor();
    if ((await page.locator('#agent-version').textContent()) !== site.agent.version) throw new Error('the agent panel shows another version');
    if (!/Backend up/.test(await page.locator('#agent-backend').textContent())) throw new Error('the backend is not shown up');
    const lastOk = await page.locator('#agent-last-ok').textContent();
    if (!/ago$/.test(lastOk)) throw new Error(`the last successful backend command says "${lastOk}"`);
    if (!/^\d+ messages? waiting/.test(await page.locator('#agent-outbox').textContent())) throw new Error('no outbox depth');
    if (await page.locator('#site-agent .agent-alert').count()) throw new Error('a healthy agent is shown with a warning');
    const axeSite = await axeViolations(page);
    if (axeSite.length) throw new Error(`axe-core on the site page:\n${axeSite.join('\n')}`);
  });

  await step('a report of a backend that is down is shown with its error in the warning style (axe clean)', async () => {
    // The demo's simulated backends never go down: the site's real JSON is served with the
    // backend marked down, as a Slurm agent whose sinfo times out reports it.
    // A quiet site (no job of this test runs there), so no live event redraws it meanwhile.
    const busy = (await fed.api('GET', `/api/v1/jobs/${setup.long}`)).site;
    const site = (await fed.api('GET', '/api/v1/sites')).sites.find((s) => s.id !== busy && s.state === 'up');
    const error = 'sinfo: Socket timed out on send/recv operation';
    await page.route(`**/api/v1/sites/${site.id}`, async (route) => {
      const response = await route.fetch();
      const body = await response.json();
      body.agent = { ...body.agent, backend_ok: false, backend_error: error };
      await route.fulfill({ response, json: body });
    });
    await page.goto(`${fed.consoleUrl}#/sites/${site.id}`);
    const panel = page.locator('#site-agent[data-agent="down"]');
    await panel.waitFor();
    const alert = await panel.locator('.agent-alert').textContent();
    if (!alert.includes(error)) throw new Error(`the warning says "${alert}"`);
    if (!/Backend down/.test(await page.locator('#agent-backend').textContent())) throw new Error('the backend is not shown down');
    const color = await panel.evaluate((el) => getComputedStyle(el).borderLeftColor);
    if (color !== 'rgb(179, 38, 30)') throw new Error(`the down panel's border is ${color}, not the error colour`);
    const axeDown = await axeViolations(page);
    if (axeDown.length) throw new Error(`axe-core on a site whose backend is down:\n${axeDown.join('\n')}`);
    await page.unroute(`**/api/v1/sites/${site.id}`);
  });

  const rowIds = () => page.locator('#jobs-table tbody tr').evaluateAll((trs) => trs.map((tr) => tr.dataset.job));
  await step('the jobs page lists newest first, with user and elapsed columns', async () => {
    await page.getByRole('link', { name: 'Jobs', exact: true }).click();
    await page.locator('#jobs-table tbody tr').first().waitFor();
    const ids = await rowIds();
    const sorted = [...ids].sort((a, b) => idNum(b) - idNum(a));
    if (ids.join() !== sorted.join()) throw new Error(`jobs are not newest first: ${ids}`);
    const submitted = page.locator('#jobs-table th:has(button[data-sort="submitted"])');
    if ((await submitted.getAttribute('aria-sort')) !== 'descending') throw new Error('Submitted is not marked aria-sort=descending');
    const carol = page.locator(`#jobs-table tr[data-job="${setup.long}"]`);
    if ((await carol.locator('td.user').textContent()).trim() !== 'carol') throw new Error('the user column does not say carol');
    const elapsed = (await page.locator(`#jobs-table tr[data-job="${setup.short[0]}"] td.elapsed`).textContent()).trim();
    if (!/\d/.test(elapsed)) throw new Error(`a completed job's elapsed time says "${elapsed}"`);
    if (await page.locator('#jobs-note').isVisible()) throw new Error('the page says the coordinator does not sort or filter');
  });

  await step('a click on a header sorts by it; Enter on the focused header reverses it', async () => {
    await page.locator('button[data-sort="id"]').click();
    await page.waitForURL(/sort=-id/);
    await page.locator('#jobs-table[data-sort="-id"] tbody tr').first().waitFor();
    let ids = await rowIds();
    if (ids.join() !== [...ids].sort((a, b) => idNum(b) - idNum(a)).join()) throw new Error(`-id order wrong: ${ids}`);
    await page.locator('button[data-sort="id"]').focus();
    await page.keyboard.press('Enter');
    await page.waitForURL(/sort=id(&|$)/);
    await page.locator('#jobs-table[data-sort="id"] tbody tr').first().waitFor();
    const th = page.locator('#jobs-table th:has(button[data-sort="id"])');
    if ((await th.getAttribute('aria-sort')) !== 'ascending') throw new Error('Id is not aria-sort=ascending after Enter');
    if ((await page.locator('#jobs-table th[aria-sort]').count()) !== 1) throw new Error('more than one column claims aria-sort');
    ids = await rowIds();
    if (ids.join() !== [...ids].sort((a, b) => idNum(a) - idNum(b)).join()) throw new Error(`id order wrong: ${ids}`);
    await page.locator('button[data-sort="user"]').press(' ');
    await page.waitForURL(/sort=user/);
  });

  await step('"active only", "mine" and a user filter', async () => {
    await page.goto(`${fed.consoleUrl}#/jobs`);
    await page.locator('#jobs-table tbody tr').first().waitFor();
    await page.getByLabel('Active only').check();
    await page.waitForURL(/active=1/);
    await waitFor('only the running job', async () => (await rowIds()).join() === setup.long, 10000);
    await page.getByLabel('Active only').uncheck();
    await page.getByLabel('Mine').check();
    await page.waitForURL(/mine=1/);
    await waitFor('only my jobs', async () => {
      const ids = await rowIds();
      return ids.length === setup.short.length && !ids.includes(setup.long);
    }, 10000);
    await page.getByLabel('Mine').uncheck();
    await page.getByLabel('User').fill('carol');
    await page.getByRole('button', { name: 'Apply' }).click();
    await page.waitForURL(/user=carol/);
    await waitFor('only carol\'s job', async () => (await rowIds()).join() === setup.long, 10000);
  });

  await step('the submit page plans a job over every site, then submits it', async () => {
    await page.getByRole('link', { name: 'Submit', exact: true }).click();
    await page.locator('#submit-form').waitFor();
    await page.getByLabel('Nodes').fill('1');
    await page.getByLabel('GPUs per node').fill('2');
    await page.getByLabel('Walltime').fill('0:15:00');
    await page.getByLabel('Name').fill('planned-in-browser');
    await page.locator('#plan-job').click();
    await page.locator('#plan-table, #plan-status .error-box').first().waitFor();
    const said = await page.locator('#plan-status .error-box').count() ? await page.locator('#plan-status').textContent() : '';
    if (said) throw new Error(`Plan failed: ${said}`);
    const sites = (await fed.api('GET', '/api/v1/sites')).sites.length;
    const n = await page.locator('#plan-table tbody tr').count();
    if (n !== sites) throw new Error(`the plan lists ${n} sites, the federation has ${sites}`);
    const chosenRows = page.locator('#plan-table tbody tr.chosen');
    if ((await chosenRows.count()) !== 1) throw new Error('the plan marks no single chosen site');
    const chosen = await chosenRows.getAttribute('data-site');
    const summary = await page.locator('#plan-summary').textContent();
    if (!summary.includes(chosen)) throw new Error(`the plan summary "${summary}" does not name ${chosen}`);
    const before = (await fed.api('GET', '/api/v1/jobs?limit=0')).total;
    await page.locator('#submit-job').click();
    await page.waitForURL(/#\/jobs\/j-\d+$/);
    const id = page.url().split('/').pop();
    const job = await fed.api('GET', `/api/v1/jobs/${id}`);
    if (job.spec.name !== 'planned-in-browser' || job.spec.walltime_s !== 900) throw new Error(`submitted ${JSON.stringify(job.spec)}`);
    if (job.site !== chosen) throw new Error(`the plan chose ${chosen}, the job went to ${job.site}`);
    if ((await fed.api('GET', '/api/v1/jobs?limit=0')).total !== before + 1) throw new Error('Plan or Submit made more than one job');
  });

  await step('a plan that submit would refuse says why', async () => {
    await page.goto(`${fed.consoleUrl}#/submit`);
    await page.getByLabel('Walltime').fill('soon');
    await page.locator('#plan-job').click();
    await page.locator('#plan-status .error-box', { hasText: 'walltime' }).waitFor();
    if ((await page.getByLabel('Walltime').getAttribute('aria-invalid')) !== 'true') throw new Error('the walltime field is not marked invalid');
    await page.getByLabel('Walltime').fill('1:00:00');
    await page.getByLabel('Allowed countries').fill('XX');
    await page.locator('#plan-job').click();
    await page.locator('#plan-refused').waitFor();
    if (await page.locator('#plan-table').count()) throw new Error('a refused plan shows a plan table');
  });

  let secret;
  let tokenId;
  await step('the tokens page creates a token and shows its secret once', async () => {
    await page.getByRole('link', { name: 'Tokens', exact: true }).click();
    await page.locator('#tokens-table').waitFor();
    await page.getByLabel('Name').fill('pages-viewer');
    await page.getByLabel('Role').selectOption('viewer');
    await page.locator('#create-token').click();
    await page.locator('#new-token').waitFor();
    secret = await page.locator('#new-token-secret').inputValue();
    if (!/^aifed_[0-9a-f]{12}_/.test(secret)) throw new Error(`the secret shown is "${secret}"`);
    tokenId = secret.slice(6, 18);
    const hidden = secret.slice(19);  // the secret part (base64url: it may hold '_')
    const row = page.locator(`#tokens-table tr[data-token="${tokenId}"]`);
    await row.waitFor();
    if ((await page.locator('#tokens-table').textContent()).includes(hidden)) throw new Error('the list shows the secret');
    const who = await fed.api('GET', '/api/v1/session', { token: secret });
    if (who.role !== 'viewer') throw new Error(`the new token is ${who.role}`);
    await page.getByRole('link', { name: 'Jobs', exact: true }).click();
    await page.getByRole('link', { name: 'Tokens', exact: true }).click();
    await page.locator(`#tokens-table tr[data-token="${tokenId}"]`).waitFor();
    if ((await page.content()).includes(hidden)) throw new Error('the secret is still on the page after leaving it');
  });

  await step('revoke the token from its row', async () => {
    await page.locator(`button[data-revoke="${tokenId}"]`).click();
    await page.locator(`button[data-confirm-revoke="${tokenId}"]`).click();
    await page.locator(`#tokens-table tr[data-token="${tokenId}"] .token-state`, { hasText: 'revoked' }).waitFor();
    const r = await fed.request('GET', '/api/v1/session', { token: secret });
    if (r.status !== 401) throw new Error(`the revoked token still answers ${r.status}`);
  });

  await step('the audit log shows new rows by itself; a select of actions; targets are links', async () => {
    await page.getByRole('link', { name: 'Audit log' }).click();
    await page.locator('#audit-table').waitFor();
    const site = (await fed.api('GET', '/api/v1/sites')).sites[2].id;
    await fed.api('POST', `/api/v1/sites/${site}/drain`, { body: { reason: 'audit live check' } });
    await fed.api('POST', `/api/v1/sites/${site}/resume`, { body: {} });
    await page.locator('#audit-table tbody tr', { hasText: 'audit live check' }).waitFor({ timeout: 15000 });
    await page.locator('#audit-table tbody tr', { hasText: 'site.resume' }).first().waitFor({ timeout: 15000 });
    const options = await page.locator('#a-action option').evaluateAll((os) => os.map((o) => o.value));
    for (const a of ['job.submit', 'site.drain', 'token.create', 'token.revoke']) {
      if (!options.includes(a)) throw new Error(`the action select lacks ${a}: ${options}`);
    }
    await page.locator('#a-action').selectOption('token.revoke');
    await page.waitForURL(/action=token\.revoke/);
    const row = page.locator('#audit-table tbody tr', { hasText: tokenId }).first();
    await row.waitFor();
    const actions = await page.locator('#audit-table tbody tr td.mono:nth-child(4)').allTextContents();
    if (actions.some((a) => a !== 'token.revoke')) throw new Error(`the filter shows ${actions}`);
    if ((await row.locator('td.target a').getAttribute('href')) !== `#/tokens?id=${tokenId}`) throw new Error('the token target is no link to the token');
    await page.locator('#a-action').selectOption('job.submit');
    await page.waitForURL(/action=job\.submit/);
    const link = page.locator('#audit-table tbody tr td.target a').first();
    const target = await link.textContent();
    await link.click();
    await page.waitForURL(new RegExp(`#/jobs/${target}$`));
    await page.locator('#explain-table').waitFor();
    await notReloaded();
  });

  await step('an unknown address and a missing job get a not-found page with a way back', async () => {
    await page.goto(`${fed.consoleUrl}#/no-such-page`);
    await page.locator('#not-found').waitFor();
    if ((await page.locator('h1').textContent()) !== 'Page not found') throw new Error('no "Page not found" heading');
    await page.goto(`${fed.consoleUrl}#/jobs/j-999999`);
    await page.locator('#not-found').waitFor();
    const text = await page.locator('main').textContent();
    if (!/Job not found/.test(text) || /not_found|404/.test(text)) throw new Error(`the missing job's page says "${text}"`);
    await page.locator('#not-found-back').click();
    await page.waitForURL(/#\/jobs$/);
    await page.locator('#jobs-table').waitFor();
  });

  await step('a site whose agent died is marked stale on the sites page, live', async () => {
    const sites = (await fed.api('GET', '/api/v1/sites')).sites;
    if (!('stale' in sites[0])) throw new Error('the site JSON has no "stale"');
    const site = sites[sites.length - 1].id;
    await page.goto(`${fed.consoleUrl}#/sites`);
    await page.locator(`#sites-table tr[data-site="${site}"][data-stale="false"]`).waitFor();
    const pid = agentPid(fed.stateDir, site);
    if (!pid) throw new Error(`no aifed-agent process for ${site} under ${fed.stateDir}`);
    process.kill(pid, 'SIGKILL');
    await waitFor(`${site} stale in the API`, async () => (await fed.api('GET', `/api/v1/sites/${site}`)).stale === true, 30000);
    const row = page.locator(`#sites-table tr[data-site="${site}"][data-stale="true"]`);
    await row.waitFor({ timeout: 15000 });
    const note = await row.locator('.stale-note').textContent();
    if (!/stale: last heard .* ago/.test(note)) throw new Error(`the stale row says "${note}"`);
    if ((await row.locator('td.stale-count').count()) === 0) throw new Error('the stale row\'s counts are not greyed');
    // Its agent's last health report is stale too: the cell and the site page warn.
    await row.locator('td.agent[data-agent="stale"]').waitFor({ timeout: 15000 });
    await page.goto(`${fed.consoleUrl}#/sites/${site}`);
    const panel = page.locator('#site-agent[data-agent="stale"]');
    await panel.waitFor();
    if (!/old: the agent has not reported since/.test(await panel.locator('.agent-alert').textContent())) throw new Error('the stale agent panel does not say so');
    const axeStale = await axeViolations(page);
    if (axeStale.length) throw new Error(`axe-core on a stale site:\n${axeStale.join('\n')}`);
  });

  await sleep(100);
  const errors = page.errors.filter((e) => !/status of 40[1345]/.test(e));
  if (errors.length) throw new Error(`the page logged errors:\n${errors.join('\n')}`);
});
