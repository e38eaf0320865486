// Jobs: newest first (the server's default sort, -submitted), sortable by clicking a
// column header, filtered by state, site, project, user, "mine" and "active only",
// searched by id prefix, paged; rows update live from job events.
//
// The list parameters sort, active, user and me (docs/api.md) are newer than some
// coordinators: a server that answers without "elapsed_s" in its jobs does not know
// them, and the page then sorts and filters the rows it got itself and says so.
import { api, query } from '../api.js';
import { h, clear, badge, fmtTime, fmtDuration, field, scrollBox } from '../dom.js';

const PAGE_SIZE = 25;
const STATES = ['queued', 'dispatched', 'pending', 'running', 'completed', 'failed', 'cancelled',
  'timeout', 'node_fail', 'lost'];
const ACTIVE = new Set(['queued', 'dispatched', 'pending', 'running']);
const DEFAULT_SORT = '-submitted';
// The columns: label, the sort key of a sortable one, and its first direction on a click.
const COLUMNS = [
  { label: 'Id', key: 'id', first: '-' }, { label: 'Name' }, { label: 'State', key: 'state', first: '' },
  { label: 'Site', key: 'site', first: '' }, { label: 'User', key: 'user', first: '' },
  { label: 'Project', key: 'project', first: '' }, { label: 'Size' },
  { label: 'Submitted', key: 'submitted', first: '-' }, { label: 'Elapsed', key: 'elapsed', first: '-', num: true },
  { label: 'Reason' },
];
const SORT_WORDS = { id: 'id', state: 'state', site: 'site', user: 'user', project: 'project', submitted: 'submission time', elapsed: 'elapsed time' };

function select(name, options, value, anyLabel) {
  return h('select', { name },
    h('option', { value: '' }, anyLabel),
    options.map((o) => h('option', { value: o.value, selected: o.value === value }, o.label)));
}

const idNumber = (id) => Number(String(id).replace(/^j-/, '')) || 0;

// Seconds the job has run: the server's elapsed_s, else from its times.
function elapsedOf(job) {
  if (typeof job.elapsed_s === 'number') return job.elapsed_s;
  if (!job.started_at) return 0;
  return Math.max(0, ((job.ended_at || Date.now()) - job.started_at) / 1000);
}

function sortValue(job, key) {
  const spec = job.spec || {};
  switch (key) {
    case 'id': return idNumber(job.id);
    case 'state': return job.state || '';
    case 'site': return job.site || '';
    case 'user': return spec.user || '';
    case 'project': return spec.project || '';
    case 'elapsed': return elapsedOf(job);
    default: return job.submitted_at || 0;
  }
}

// The server's order: by the key, ties newest id first.
export function compareJobs(sort) {
  const desc = sort.startsWith('-');
  const key = sort.replace(/^-/, '');
  return (a, b) => {
    const x = sortValue(a, key);
    const y = sortValue(b, key);
    const c = typeof x === 'number' ? x - y : String(x).localeCompare(String(y));
    if (c !== 0) return desc ? -c : c;
    return idNumber(b.id) - idNumber(a.id);
  };
}

function jobRow(job, fetchedAt) {
  const spec = job.spec || {};
  const gpus = spec.gpus_per_node ? `${spec.nodes} × ${spec.gpus_per_node} ${spec.gpu_type || 'GPU'}` : `${spec.nodes} nodes`;
  const elapsed = h('td', { class: 'num elapsed' }, job.started_at || job.elapsed_s ? fmtDuration(elapsedOf(job)) : '—');
  if (job.state === 'running') {
    elapsed.dataset.base = String(elapsedOf(job));
    elapsed.dataset.at = String(fetchedAt || Date.now());
  }
  return h('tr', { dataset: { job: job.id, state: job.state } },
    h('td', {}, h('a', { href: `#/jobs/${encodeURIComponent(job.id)}`, class: 'mono' }, job.id)),
    h('td', {}, spec.name || ''),
    h('td', { class: 'state' }, badge(job.state)),
    h('td', {}, job.site ? h('a', { href: `#/sites/${encodeURIComponent(job.site)}` }, job.site) : '—'),
    h('td', { class: 'user' }, spec.user || '—'),
    h('td', {}, spec.project || '—'),
    h('td', {}, gpus),
    h('td', { class: 'when' }, fmtTime(job.submitted_at)),
    elapsed,
    h('td', { class: 'small' }, job.reason || ''));
}

function matches(job, filters, me) {
  const spec = job.spec || {};
  if (filters.state && job.state !== filters.state) return false;
  if (filters.active && !ACTIVE.has(job.state)) return false;
  if (filters.site && job.site !== filters.site) return false;
  if (filters.project && spec.project !== filters.project) return false;
  if (filters.mine ? spec.user !== me : filters.user && spec.user !== filters.user) return false;
  if (filters.q && !job.id.startsWith(filters.q)) return false;
  if (filters.array && job.array_id !== filters.array) return false;
  return true;
}

function headerCell(col, sort, onSort) {
  if (!col.key) return h('th', { scope: 'col', class: col.num ? 'num' : undefined }, col.label);
  const key = sort.replace(/^-/, '');
  const active = key === col.key;
  const desc = sort.startsWith('-');
  const next = active ? (desc ? col.key : `-${col.key}`) : `${col.first}${col.key}`;
  const button = h('button', { type: 'button', class: 'sort', dataset: { sort: col.key } }, col.label,
    h('span', { class: 'sort-mark', 'aria-hidden': 'true' }, active ? (desc ? ' ▼' : ' ▲') : ' ↕'));
  button.addEventListener('click', () => onSort(next));
  return h('th', { scope: 'col', class: col.num ? 'num' : undefined,
    'aria-sort': active ? (desc ? 'descending' : 'ascending') : undefined }, button);
}

function filterForm(filters, sites, projects, go) {
  const c = {
    state: select('state', STATES.map((s) => ({ value: s, label: s })), filters.state, 'any state'),
    site: select('site', sites, filters.site, 'any site'),
    project: projects.length > 0 ? select('project', projects, filters.project, 'any project')
      : h('input', { name: 'project', value: filters.project, size: 12 }),
    user: h('input', { name: 'user', value: filters.user, size: 10, autocomplete: 'off' }),
    q: h('input', { type: 'search', name: 'q', value: filters.q, placeholder: 'j-42', size: 10 }),
    active: h('input', { type: 'checkbox', name: 'active', checked: filters.active }),
    mine: h('input', { type: 'checkbox', name: 'mine', checked: filters.mine }),
  };
  const form = h('form', { class: 'filters', role: 'search', 'aria-label': 'Filter jobs' },
    field('State', c.state, 'f-state'), field('Site', c.site, 'f-site'), field('Project', c.project, 'f-project'),
    field('User', c.user, 'f-user'), field('Job id', c.q, 'f-q'),
    h('label', { class: 'check' }, c.active, ' Active only'),
    h('label', { class: 'check' }, c.mine, ' Mine'),
    h('button', { type: 'submit', class: 'btn' }, 'Apply'),
    h('a', { href: '#/jobs', class: 'btn btn-secondary', role: 'button' }, 'Clear'));
  c.active.id = 'f-active';
  c.mine.id = 'f-mine';
  const values = () => ({ state: c.state.value, site: c.site.value, project: c.project.value.trim(),
    user: c.user.value.trim(), q: c.q.value.trim(), active: c.active.checked ? '1' : '', mine: c.mine.checked ? '1' : '' });
  form.addEventListener('submit', (ev) => { ev.preventDefault(); go(values(), 1); });
  for (const ctl of [c.state, c.site, c.active, c.mine]) ctl.addEventListener('change', () => go(values(), 1));
  if (projects.length > 0) c.project.addEventListener('change', () => go(values(), 1));
  return form;
}

// The page's state from its address.
function readAddress(hashQuery) {
  const filters = {
    state: hashQuery.get('state') || '',
    site: hashQuery.get('site') || '',
    project: hashQuery.get('project') || '',
    user: hashQuery.get('user') || '',
    q: hashQuery.get('q') || '',
    array: hashQuery.get('array') || '',
    active: hashQuery.get('active') === '1',
    mine: hashQuery.get('mine') === '1',
  };
  const sort = /^-?(id|state|site|user|project|submitted|elapsed)$/.test(hashQuery.get('sort') || '')
    ? hashQuery.get('sort') : DEFAULT_SORT;
  const page = Math.max(1, parseInt(hashQuery.get('page') || '1', 10) || 1);
  return { filters, sort, page };
}

const hashOf = (f, sort, page) => `#/jobs${query({ ...f, active: f.active ? '1' : '', mine: f.mine ? '1' : '',
  sort: sort === DEFAULT_SORT ? '' : sort, page: page > 1 ? page : '' })}`;

// The sites and projects the filters offer.
async function filterChoices() {
  const [sitesData, projectsData] = await Promise.all([
    api('GET', '/api/v1/sites'),
    api('GET', '/api/v1/projects').catch(() => null),
  ]);
  const sites = (sitesData.sites || []).map((s) => ({ value: s.id, label: s.name ? `${s.name} (${s.id})` : s.id }));
  const projects = ((projectsData && (projectsData.projects || projectsData)) || [])
    .filter((p) => p && p.id).map((p) => ({ value: p.id, label: p.name ? `${p.name} (${p.id})` : p.id }));
  return { sites, projects };
}

// One page of jobs as the address asks. An older coordinator ignores sort, active, user
// and me (its jobs have no elapsed_s): they are then done on the rows it sent.
async function fetchJobs({ filters, sort, page }, me) {
  const params = { state: filters.state, site: filters.site, project: filters.project, q: filters.q, array: filters.array,
    // "Mine" names the user: a user filter beside it would contradict it (400).
    user: filters.mine ? '' : filters.user, active: filters.active ? 'true' : '', me: filters.mine ? 'true' : '',
    sort, limit: PAGE_SIZE, offset: (page - 1) * PAGE_SIZE };
  const data = await api('GET', `/api/v1/jobs${query(params)}`);
  let jobs = data.jobs || [];
  let total = data.total ?? jobs.length;
  const knowsParams = jobs.length === 0 || 'elapsed_s' in jobs[0];
  if (!knowsParams) {
    const shown = jobs.length;
    jobs = jobs.filter((j) => matches(j, filters, me)).sort(compareJobs(sort));
    total -= shown - jobs.length;
  }
  return { jobs, total, knowsParams };
}

// The table, its count, the note on an older coordinator and the pager.
function listView(address, navigate) {
  const { sort, page } = address;
  const desc = sort.startsWith('-');
  const v = {
    count: h('p', { class: 'muted', 'aria-live': 'polite', id: 'jobs-count' }),
    note: h('p', { class: 'muted small', id: 'jobs-note', hidden: true },
      'This coordinator does not sort jobs or filter them by activity or user: the order and those filters apply to this page only.'),
    tbody: h('tbody'),
    pager: h('nav', { class: 'pager', 'aria-label': 'Pages' }),
    rows: new Map(),
  };
  const caption = `Jobs by ${SORT_WORDS[sort.replace(/^-/, '')]}, ${desc ? 'highest or newest first' : 'lowest or oldest first'}; click a column header to sort by it.`;
  v.table = scrollBox(h('table', { id: 'jobs-table', dataset: { sort } },
    h('caption', { class: 'muted small' }, caption),
    h('thead', {}, h('tr', {}, COLUMNS.map((col) => headerCell(col, sort, (s) => navigate(hashOf(address.filters, s, 1)))))),
    v.tbody), 'Jobs');
  v.draw = ({ jobs, total, knowsParams }) => {
    const seen = new Set(v.rows.keys());
    const now = Date.now();
    clear(v.tbody);
    v.rows.clear();
    for (const job of jobs) {
      const row = jobRow(job, now);
      if (seen.size > 0 && !seen.has(job.id)) row.classList.add('flash');
      v.rows.set(job.id, row);
      v.tbody.append(row);
    }
    v.note.hidden = knowsParams;
    const first = total === 0 ? 0 : (page - 1) * PAGE_SIZE + 1;
    v.count.textContent = `${total} job${total === 1 ? '' : 's'}` +
      (total > 0 ? `, showing ${first}–${Math.min(total, (page - 1) * PAGE_SIZE + v.rows.size)}` : '');
    clear(v.pager);
    const pages = Math.max(1, Math.ceil(total / PAGE_SIZE));
    const button = (label, p, disabled) => h('button', { type: 'button', class: 'btn btn-secondary',
      disabled, onclick: disabled ? undefined : () => navigate(hashOf(address.filters, sort, p)) }, label);
    v.pager.append(button('First', 1, page <= 1), button('Previous', page - 1, page <= 1),
      h('span', {}, `Page ${page} of ${pages}`),
      button('Next', page + 1, page >= pages), button('Last', pages, page >= pages));
  };
  return v;
}

export async function render(root, ctx, params, hashQuery) {
  const address = readAddress(hashQuery);
  const { filters, sort } = address;
  const me = ctx.session.user || ctx.session.name || '';
  const choices = await filterChoices();
  const form = filterForm(filters, choices.sites, choices.projects, (f, p) => ctx.navigate(hashOf(f, sort, p)));
  const view = listView(address, ctx.navigate);
  root.append(h('div', { class: 'page-head' }, h('h1', {}, 'Jobs'),
    ctx.can.submit ? h('a', { href: '#/submit', class: 'btn' }, 'Plan or submit a job') : null),
  form, filters.array ? h('p', { id: 'jobs-array' }, `The tasks of array ${filters.array}. `,
    h('a', { href: hashOf({ ...filters, array: '' }, sort, 1) }, 'All jobs')) : null,
  view.count, view.note, view.table, view.pager);
  const load = async () => view.draw(await fetchJobs(address, me));
  await load();

  // Known rows change in place (or the page is fetched again when the row no longer
  // belongs, e.g. an ended job under "active only"); a job this page does not show may
  // belong on it (new, or newly matching): the page is fetched again, at most every 300 ms.
  let refreshTimer = null;
  const refresh = () => {
    if (refreshTimer) return;
    refreshTimer = setTimeout(() => {
      refreshTimer = null;
      load().catch((e) => console.error('jobs refresh failed', e));
    }, 300);
  };
  const off = ctx.live.on('job', (ev) => {
    const job = ev.job;
    const existing = view.rows.get(job.id);
    if (existing && matches(job, filters, me)) {
      const row = jobRow(job, Date.now());
      row.classList.add('flash');
      existing.replaceWith(row);
      view.rows.set(job.id, row);
      if (sort.replace(/^-/, '') === 'state') refresh();
      return;
    }
    if (existing || matches(job, filters, me)) refresh();
  });
  // Running jobs' elapsed time ticks.
  const ticker = setInterval(() => {
    for (const cell of view.tbody.querySelectorAll('td.elapsed[data-base]')) {
      cell.textContent = fmtDuration(Number(cell.dataset.base) + (Date.now() - Number(cell.dataset.at)) / 1000);
    }
  }, 1000);
  return () => {
    off();
    clearInterval(ticker);
    clearTimeout(refreshTimer);
  };
}
