// Submit: a job form (nodes, GPUs, accelerator, walltime, project, where it may run,
// the script). **Plan** asks POST /api/v1/jobs/plan what would happen now — does it
// fit at each site, why not, when it would start, its score, the site chosen and what
// broke a tie — creating nothing; **Submit** posts the same spec to /api/v1/jobs.
import { api, ApiError, rowsOf } from '../api.js';
import { h, clear, badge, fmtDuration, fmtNumber, field, scrollBox, toast } from '../dom.js';

// Slurm's time formats: "M", "M:S", "H:M:S", "D-H", "D-H:M", "D-H:M:S" -> seconds.
export function parseWalltime(text) {
  const t = text.trim();
  if (!/^(\d+-)?\d+(:\d+){0,2}$/.test(t)) return null;
  const [days, rest] = t.includes('-') ? [Number(t.split('-')[0]), t.split('-')[1]] : [0, t];
  const n = rest.split(':').map(Number);
  let s;
  if (t.includes('-')) s = (n[0] || 0) * 3600 + (n[1] || 0) * 60 + (n[2] || 0);
  else if (n.length === 1) s = n[0] * 60;
  else if (n.length === 2) s = n[0] * 60 + n[1];
  else s = n[0] * 3600 + n[1] * 60 + n[2];
  return days * 86400 + s;
}

const list = (text) => text.split(/[\s,]+/).map((x) => x.trim()).filter(Boolean);

function buildForm(sites, projects, ctx) {
  const types = [...new Set(sites.flatMap((s) => s.accelerator_types || []))].sort();
  const c = {
    name: h('input', { name: 'name', placeholder: 'train-7b', autocomplete: 'off' }),
    nodes: h('input', { name: 'nodes', type: 'number', min: 1, value: 1, required: true }),
    gpus: h('input', { name: 'gpus_per_node', type: 'number', min: 0, value: 1 }),
    type: h('select', { name: 'gpu_type' }, h('option', { value: '' }, 'any'), types.map((t) => h('option', { value: t }, t))),
    walltime: h('input', { name: 'walltime_s', value: '1:00:00', required: true, 'aria-describedby': 'walltime-help', autocomplete: 'off' }),
    project: h('select', { name: 'project' },
      ctx.session.role === 'admin' ? h('option', { value: '' }, 'none') : null,
      projects.map((p) => h('option', { value: p }, p))),
    countries: h('input', { name: 'allowed_countries', placeholder: 'SE, FI', 'aria-describedby': 'countries-help', autocomplete: 'off' }),
    preferred: h('select', { name: 'preferred_sites' }, h('option', { value: '' }, 'no preference'),
      sites.map((s) => h('option', { value: s.id }, s.name ? `${s.name} (${s.id})` : s.id))),
    script: h('textarea', { name: 'script', rows: 5, spellcheck: 'false', class: 'mono' }, '#!/bin/bash\nsrun python train.py\n'),
  };
  c.siteBoxes = sites.map((s) => h('input', { type: 'checkbox', name: 'allowed_sites', value: s.id }));
  const sitesSet = h('fieldset', { class: 'checks', id: 'allowed-sites' },
    h('legend', {}, 'Allowed sites (none ticked: any)'),
    c.siteBoxes.map((b, i) => h('label', { class: 'check' }, b, ` ${sites[i].id}`)));
  const fields = h('div', { class: 'form-grid' },
    field('Name', c.name, 'sub-name'), field('Nodes', c.nodes, 'sub-nodes'),
    field('GPUs per node', c.gpus, 'sub-gpus'), field('Accelerator', c.type, 'sub-type'),
    h('div', { class: 'field' }, h('label', { for: 'sub-walltime' }, 'Walltime'), c.walltime,
      h('span', { class: 'muted small', id: 'walltime-help' }, 'H:MM:SS, minutes, or D-HH:MM:SS')),
    field('Project', c.project, 'sub-project'),
    h('div', { class: 'field' }, h('label', { for: 'sub-countries' }, 'Allowed countries'), c.countries,
      h('span', { class: 'muted small', id: 'countries-help' }, 'ISO codes; empty: any')),
    field('Preferred site', c.preferred, 'sub-preferred'));
  c.walltime.id = 'sub-walltime';
  c.countries.id = 'sub-countries';
  return { c, element: [fields, sitesSet, field('Script', c.script, 'sub-script')] };
}

// The JobSpec of the form, or throws an Error naming the field.
function specOf(c) {
  const walltime = parseWalltime(c.walltime.value);
  if (!walltime) throw Object.assign(new Error('walltime: write H:MM:SS, minutes or D-HH:MM:SS'), { control: c.walltime });
  const spec = {
    nodes: Number(c.nodes.value),
    gpus_per_node: Number(c.gpus.value || 0),
    walltime_s: walltime,
  };
  if (c.name.value.trim()) spec.name = c.name.value.trim();
  if (c.type.value) spec.gpu_type = c.type.value;
  if (c.project.value) spec.project = c.project.value;
  const countries = list(c.countries.value).map((x) => x.toUpperCase());
  if (countries.length) spec.allowed_countries = countries;
  const allowed = c.siteBoxes.filter((b) => b.checked).map((b) => b.value);
  if (allowed.length) spec.allowed_sites = allowed;
  if (c.preferred.value) spec.preferred_sites = [c.preferred.value];
  if (c.script.value.trim()) spec.script = c.script.value;
  return spec;
}

function planTable(d) {
  const rows = (d.sites || []).map((s) => {
    // The site it would go to now, or be held for (late binding); none when it waits.
    const chosen = Boolean(d.site) && s.site === d.site && d.action !== 'wait';
    return h('tr', { dataset: { site: s.site, feasible: String(Boolean(s.feasible)) }, class: chosen ? 'chosen' : undefined },
      h('th', { scope: 'row' }, h('a', { href: `#/sites/${encodeURIComponent(s.site)}` }, s.site),
        chosen ? [' ', badge('chosen')] : null),
      h('td', {}, s.feasible ? 'yes' : 'no'),
      h('td', {}, s.feasible ? '—' : [s.rejected_by ? h('strong', {}, `${s.rejected_by}: `) : null, s.reason || '']),
      h('td', {}, s.feasible ? s.partition || '' : '—'),
      h('td', { class: 'num' }, s.feasible && s.estimated_start_s !== null && s.estimated_start_s !== undefined
        ? fmtDuration(s.estimated_start_s) : '—'),
      h('td', { class: 'num' }, s.feasible && typeof s.score === 'number' ? fmtNumber(s.score, 1) : '—'));
  });
  return scrollBox(h('table', { id: 'plan-table' },
    h('caption', { class: 'muted small' }, 'Every site: does the job fit, why not, when it would start and its score.'),
    h('thead', {}, h('tr', {}, ['Site', 'Fits', 'Why not', 'Partition', { label: 'Est. start', num: true }, { label: 'Score', num: true }]
      .map((col) => h('th', { scope: 'col', class: col.num ? 'num' : undefined }, typeof col === 'string' ? col : col.label)))),
    h('tbody', {}, rows)), 'Plan per site');
}

function planSummary(plan) {
  const d = plan.decision || {};
  const who = `As ${plan.user || 'you'}${plan.project ? ` in project ${plan.project}` : ''}: `;
  let what;
  if (d.action === 'dispatch') what = `it would go to ${d.site}${d.partition ? ` (partition ${d.partition})` : ''} now.`;
  else if (d.action === 'hold') what = `it would be held for ${d.site || 'a site'}${d.reason ? `: ${d.reason}` : '.'}`;
  else what = `it would wait at the coordinator${d.reason ? `: ${d.reason}` : '.'}`;
  return [h('p', { class: 'summary', id: 'plan-summary' }, who + what),
    d.action === 'dispatch' && d.reason ? h('p', { class: 'muted small' }, d.reason) : null,
    d.policy ? h('p', { class: 'muted small' }, `Policy ${d.policy}.`) : null,
    d.tie_break ? h('p', { id: 'plan-tie-break' }, `Tie-break: ${d.tie_break}`) : null];
}

// The answer of POST /api/v1/jobs/plan: a refusal submit would give, then the decision.
function drawPlan(box, plan) {
  clear(box);
  box.hidden = false;
  box.append(h('h2', { id: 'plan-title' }, 'Plan'));
  if (!plan.accepted) {
    const err = plan.error || {};
    box.append(h('p', { class: 'error-box', id: 'plan-refused' },
      `Submit would be refused: ${err.message || 'no reason given'}${err.field ? ` (field ${err.field})` : ''}`));
  }
  if (plan.decision) box.append(...planSummary(plan).filter(Boolean), planTable(plan.decision));
}

export async function render(root, ctx) {
  root.append(h('div', { class: 'page-head' }, h('h1', {}, 'Plan and submit a job')));
  if (!ctx.can.submit) {
    root.append(h('p', { class: 'error-box', role: 'alert' }, `The ${ctx.session.role} role may not submit jobs.`));
    return;
  }
  const [sitesData, projectsData] = await Promise.all([
    api('GET', '/api/v1/sites'), api('GET', '/api/v1/projects').catch(() => null)]);
  const sites = sitesData.sites || [];
  const projects = ctx.session.role === 'admin'
    ? rowsOf(projectsData, 'projects').map((p) => p.id).filter(Boolean) : (ctx.session.scope || []);
  const { c, element } = buildForm(sites, projects, ctx);
  const status = h('div', { id: 'plan-status', role: 'status', 'aria-live': 'polite' });
  const result = h('section', { class: 'panel', id: 'plan-result', 'aria-labelledby': 'plan-title', hidden: true });
  const planBtn = h('button', { type: 'button', class: 'btn btn-secondary', id: 'plan-job' }, 'Plan');
  const submitBtn = h('button', { type: 'submit', class: 'btn', id: 'submit-job' }, 'Submit');
  const form = h('form', { class: 'panel', 'aria-label': 'Job', id: 'submit-form', novalidate: true },
    element, h('div', { class: 'actions' }, planBtn, submitBtn), status);
  root.append(h('p', { class: 'muted' }, 'Plan shows what the federation would do with this job now, per site, without creating it.'),
    form, result);

  const fail = (e) => {
    for (const el of form.querySelectorAll('[aria-invalid]')) el.removeAttribute('aria-invalid');
    const control = e.control || (e.field ? form.querySelector(`[name="${e.field.split('.')[0]}"]`) : null);
    if (control) control.setAttribute('aria-invalid', 'true');
    clear(status).append(h('p', { class: 'error-box', role: 'alert' }, e.message));
  };
  const busy = (on) => { planBtn.disabled = on; submitBtn.disabled = on; };

  planBtn.addEventListener('click', async () => {
    let spec;
    try {
      spec = specOf(c);
    } catch (e) {
      fail(e);
      return;
    }
    busy(true);
    clear(status).append(h('p', { class: 'muted' }, 'Planning…'));
    try {
      const plan = await api('POST', '/api/v1/jobs/plan', spec);
      clear(status);
      drawPlan(result, plan);
    } catch (e) {
      if (e instanceof ApiError && (e.status === 404 || e.status === 405)) {
        fail(new Error('This coordinator cannot plan jobs (it has no POST /api/v1/jobs/plan); Submit still works.'));
      } else {
        fail(Object.assign(new Error(`Plan refused: ${e.message}`), { field: e.field }));
      }
    } finally {
      busy(false);
    }
  });

  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    let spec;
    try {
      spec = specOf(c);
    } catch (e) {
      fail(e);
      return;
    }
    busy(true);
    try {
      const job = await api('POST', '/api/v1/jobs', spec);
      toast(`${job.id} submitted${job.site ? ` to ${job.site}` : ''}.`);
      ctx.navigate(`#/jobs/${encodeURIComponent(job.id)}`);
    } catch (e) {
      fail(Object.assign(new Error(`Submit refused: ${e.message}`), { field: e.field }));
      busy(false);
    }
  });
}
