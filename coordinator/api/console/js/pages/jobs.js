// Jobs: filter by state, site and project, search by id prefix, page through; rows
// update live from job events.
import { api, query } from '../api.js';
import { h, clear, badge, fmtTime, table, field } from '../dom.js';

const PAGE_SIZE = 25;
const STATES = ['queued', 'dispatched', 'pending', 'running', 'completed', 'failed', 'cancelled',
  'timeout', 'node_fail', 'lost'];

function select(name, options, value, anyLabel) {
  const el = h('select', { name },
    h('option', { value: '' }, anyLabel),
    options.map((o) => h('option', { value: o.value, selected: o.value === value }, o.label)));
  return el;
}

function jobRow(job) {
  const spec = job.spec || {};
  const gpus = spec.gpus_per_node ? `${spec.nodes} × ${spec.gpus_per_node} ${spec.gpu_type || 'GPU'}` : `${spec.nodes} nodes`;
  return h('tr', { dataset: { job: job.id } },
    h('td', {}, h('a', { href: `#/jobs/${encodeURIComponent(job.id)}`, class: 'mono' }, job.id)),
    h('td', {}, spec.name || ''),
    h('td', { class: 'state' }, badge(job.state)),
    h('td', {}, job.site ? h('a', { href: `#/sites/${encodeURIComponent(job.site)}` }, job.site) : '—'),
    h('td', {}, spec.project || '—'),
    h('td', {}, gpus),
    h('td', {}, fmtTime(job.submitted_at)),
    h('td', { class: 'small' }, job.reason || ''));
}

function matches(job, filters) {
  if (filters.state && job.state !== filters.state) return false;
  if (filters.site && job.site !== filters.site) return false;
  if (filters.project && (job.spec || {}).project !== filters.project) return false;
  if (filters.q && !job.id.startsWith(filters.q)) return false;
  return true;
}

export async function render(root, ctx, params, hashQuery) {
  const filters = {
    state: hashQuery.get('state') || '',
    site: hashQuery.get('site') || '',
    project: hashQuery.get('project') || '',
    q: hashQuery.get('q') || '',
  };
  const page = Math.max(1, parseInt(hashQuery.get('page') || '1', 10) || 1);

  const [sitesData, projectsData] = await Promise.all([
    api('GET', '/api/v1/sites'),
    api('GET', '/api/v1/projects').catch(() => null),
  ]);
  const siteIds = (sitesData.sites || []).map((s) => ({ value: s.id, label: s.name ? `${s.name} (${s.id})` : s.id }));
  const projects = ((projectsData && (projectsData.projects || projectsData)) || [])
    .filter((p) => p && p.id).map((p) => ({ value: p.id, label: p.name ? `${p.name} (${p.id})` : p.id }));

  const stateSel = select('state', STATES.map((s) => ({ value: s, label: s })), filters.state, 'any state');
  const siteSel = select('site', siteIds, filters.site, 'any site');
  const projectCtl = projects.length > 0
    ? select('project', projects, filters.project, 'any project')
    : h('input', { name: 'project', value: filters.project, size: 12 });
  const search = h('input', { type: 'search', name: 'q', value: filters.q, placeholder: 'j-42', size: 12 });
  const form = h('form', { class: 'filters', role: 'search', 'aria-label': 'Filter jobs' },
    field('State', stateSel, 'f-state'),
    field('Site', siteSel, 'f-site'),
    field('Project', projectCtl, 'f-project'),
    field('Job id', search, 'f-q'),
    h('button', { type: 'submit', class: 'btn' }, 'Apply'),
    h('a', { href: '#/jobs', class: 'btn btn-secondary', role: 'button' }, 'Clear'));
  const go = (p) => {
    const next = { state: stateSel.value, site: siteSel.value, project: projectCtl.value.trim(), q: search.value.trim(), page: p > 1 ? p : '' };
    ctx.navigate(`#/jobs${query(next)}`);
  };
  form.addEventListener('submit', (ev) => { ev.preventDefault(); go(1); });
  for (const ctl of [stateSel, siteSel]) ctl.addEventListener('change', () => go(1));
  if (projects.length > 0) projectCtl.addEventListener('change', () => go(1));

  const count = h('p', { class: 'muted', 'aria-live': 'polite', id: 'jobs-count' });
  const tbody = h('tbody');
  const tbl = h('div', { class: 'table-wrap' }, h('table', { id: 'jobs-table' },
    h('caption', { class: 'muted small' }, 'Jobs, oldest first; new jobs appear on the last page as they arrive.'),
    h('thead', {}, h('tr', {}, ['Id', 'Name', 'State', 'Site', 'Project', 'Size', 'Submitted', 'Reason']
      .map((c) => h('th', { scope: 'col' }, c)))),
    tbody));
  const pager = h('nav', { class: 'pager', 'aria-label': 'Pages' });
  root.append(h('div', { class: 'page-head' }, h('h1', {}, 'Jobs')), form, count, tbl, pager);

  const rows = new Map();
  let total = 0;
  const drawCount = () => {
    const first = total === 0 ? 0 : (page - 1) * PAGE_SIZE + 1;
    count.textContent = `${total} job${total === 1 ? '' : 's'}` +
      (total > 0 ? `, showing ${first}–${Math.min(total, (page - 1) * PAGE_SIZE + rows.size)}` : '');
  };
  const drawPager = () => {
    clear(pager);
    const pages = Math.max(1, Math.ceil(total / PAGE_SIZE));
    const button = (label, p, disabled) => h('button', { type: 'button', class: 'btn btn-secondary',
      disabled, onclick: disabled ? undefined : () => go(p) }, label);
    pager.append(button('First', 1, page <= 1), button('Previous', page - 1, page <= 1),
      h('span', {}, `Page ${page} of ${pages}`),
      button('Next', page + 1, page >= pages), button('Last', pages, page >= pages));
  };
  const load = async () => {
    const data = await api('GET', `/api/v1/jobs${query({ ...filters, limit: PAGE_SIZE, offset: (page - 1) * PAGE_SIZE })}`);
    const jobs = data.jobs || [];
    total = data.total ?? jobs.length;
    const seen = new Set(rows.keys());
    clear(tbody);
    rows.clear();
    for (const job of jobs) {
      const row = jobRow(job);
      if (seen.size > 0 && !seen.has(job.id)) row.classList.add('flash');
      rows.set(job.id, row);
      tbody.append(row);
    }
    drawCount();
    drawPager();
  };
  await load();

  // Known rows change in place; a job this page does not show yet may belong on it
  // (new, or newly matching the filters): the page is fetched again, at most every 300 ms.
  let refreshTimer = null;
  const off = ctx.live.on('job', (ev) => {
    const job = ev.job;
    const existing = rows.get(job.id);
    if (existing) {
      const row = jobRow(job);
      row.classList.add('flash');
      existing.replaceWith(row);
      rows.set(job.id, row);
      return;
    }
    if (!matches(job, filters) || refreshTimer) return;
    refreshTimer = setTimeout(() => {
      refreshTimer = null;
      load().catch((e) => console.error('jobs refresh failed', e));
    }, 300);
  });
  return () => {
    off();
    clearTimeout(refreshTimer);
  };
}
