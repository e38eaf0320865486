// browser.console_viewer: a viewer sees the federation but no button or page it may not use;
// a drain forged with the viewer's own session cookie and CSRF token is refused (403)
// and changes nothing.
'use strict';

const { runTest, login, waitLive } = require('./lib/harness');
const { waitFor } = require('./lib/federation');

runTest('console_viewer', async ({ fed, step, newPage }) => {
  const viewerToken = await step('the admin creates a viewer token through the API', () =>
    fed.createToken('browser-viewer', 'viewer'));
  const submitted = await step('a job to look at', () =>
    fed.submit({ name: 'viewer-sees', nodes: 1, gpus_per_node: 1, walltime_s: 900, simulated_runtime_s: 6000 }));
  const site = submitted.site;

  const page = await newPage();
  await step('log in as viewer and see seven sites live', async () => {
    await login(page, fed, viewerToken, 'viewer');
    await waitLive(page);
    await waitFor('seven site cards', async () => (await page.locator('.site-card').count()) === 7);
  });

  await step('the site page has no drain or resume control', async () => {
    await page.locator(`.site-card[data-site="${site}"] h3 a`).click();
    await page.waitForURL(new RegExp(`#/sites/${site}$`));
    await page.locator('#partitions').waitFor();
    await page.locator('#recent-jobs').waitFor();
    for (const name of [/drain/i, /resume/i]) {
      const n = await page.getByRole('button', { name }).count();
      if (n !== 0) throw new Error(`a viewer sees ${n} button(s) named ${name}`);
    }
    if ((await page.locator('#drain-site, #resume-site, #drain-reason').count()) !== 0) {
      throw new Error('a viewer sees the drain form');
    }
  });

  await step('the job page has no cancel button and the policy page no switch', async () => {
    await page.goto(`${fed.consoleUrl}#/jobs/${submitted.id}`);
    await page.locator('#explain-table').waitFor();
    if ((await page.getByRole('button', { name: /cancel/i }).count()) !== 0) throw new Error('a viewer sees Cancel');
    await page.getByRole('link', { name: 'Policy' }).click();
    await page.locator('#active-policy').waitFor();
    if ((await page.locator('#switch-policy, #policy-choice').count()) !== 0) throw new Error('a viewer sees the policy switch');
  });

  await step('no Submit or Tokens link; their pages say the role may not use them', async () => {
    for (const name of ['Submit', 'Tokens']) {
      if (await page.getByRole('link', { name, exact: true }).count()) throw new Error(`a viewer sees the ${name} link`);
    }
    await page.goto(`${fed.consoleUrl}#/tokens`);
    await page.locator('main .error-box', { hasText: 'Only admins manage tokens' }).waitFor();
    if (await page.locator('#tokens-table, #create-token').count()) throw new Error('a viewer sees the tokens');
    await page.goto(`${fed.consoleUrl}#/submit`);
    await page.locator('main .error-box', { hasText: 'may not submit' }).waitFor();
    if (await page.locator('#submit-form').count()) throw new Error('a viewer sees the submit form');
  });

  await step('a drain forged with the viewer\'s cookie and CSRF token is refused with 403', async () => {
    const result = await page.evaluate(async (target) => {
      const csrf = document.cookie.split(';').map((c) => c.trim()).find((c) => c.startsWith('aifed_csrf='));
      const res = await fetch(`/api/v1/sites/${target}/drain`, {
        method: 'POST',
        credentials: 'same-origin',
        headers: { 'Content-Type': 'application/json', 'X-CSRF-Token': csrf ? decodeURIComponent(csrf.slice(11)) : '' },
        body: JSON.stringify({ reason: 'forged by a viewer' }),
      });
      return { status: res.status, body: await res.json().catch(() => null), hadCsrf: Boolean(csrf) };
    }, site);
    if (!result.hadCsrf) throw new Error('the viewer session has no aifed_csrf cookie');
    if (result.status !== 403) throw new Error(`the forged drain answered ${result.status}: ${JSON.stringify(result.body)}`);
    if (!result.body || !result.body.error || result.body.error.code !== 'permission_denied') {
      throw new Error(`the refusal is not a permission_denied error: ${JSON.stringify(result.body)}`);
    }
    const after = await fed.api('GET', `/api/v1/sites/${site}`);
    if (after.drained) throw new Error(`${site} was drained by a viewer`);
  });

  await step('the viewer may read the audit log, which records the refused drain', async () => {
    await page.getByRole('link', { name: 'Audit log' }).click();
    const row = page.locator('#audit-table tbody tr', { hasText: 'site.drain' }).first();
    await row.waitFor();
    const text = await row.textContent();
    if (!/denied/.test(text)) throw new Error(`the audit row of the forged drain says ${text}`);
  });
});
