// Audit log: every state-changing request, newest first, filtered by actor and action,
// paged with `before` (the cursor the previous page's answer gave). The newest page
// updates itself: audit rows are not on the event stream, so it asks again every few
// seconds while the browser shows it. Targets link to what they name.
import { api, query, rowsOf } from '../api.js';
import { h, clear, badge, fmtTime, field, scrollBox } from '../dom.js';

const PAGE_SIZE = 50;
const POLL_MS = 4000;
// The actions docs/api.md lists; actions seen in rows are added to the select.
const KNOWN_ACTIONS = ['job.submit', 'job.cancel', 'job.output.read', 'site.drain', 'site.resume',
  'site.maintenance.declare', 'site.maintenance.cancel', 'policy.set', 'token.create', 'token.revoke',
  'session.login', 'session.logout', 'quarantine.cancel', 'quarantine.release', 'array.cancel'];

// Where a row's target leads: a job, an array's tasks, a site, a token, the projects,
// the policy.
export function targetHref(row, canTokens) {
  const t = row.target || '';
  const a = row.action || '';
  if (!t) return null;
  const job = /^(j-\d+)(\/\d+)?( at .*)?$/.exec(t);
  if (job) return `#/jobs/${encodeURIComponent(job[1])}`;
  if (/^a-\d+$/.test(t)) return `#/jobs${query({ array: t })}`;
  if (t.startsWith('project ')) return '#/projects';
  if (a.startsWith('site.')) return `#/sites/${encodeURIComponent(t)}`;
  if (a === 'policy.set') return '#/policy';
  if ((a.startsWith('token.') || a.startsWith('session.')) && canTokens) return `#/tokens${query({ id: t })}`;
  return null;
}

function actionSelect(actions, value) {
  const prefixes = [...new Set(actions.map((a) => `${a.split('.')[0]}.`))];
  const all = new Set(actions);
  if (value) all.add(value);
  return h('select', { name: 'action' },
    h('option', { value: '' }, 'any action'),
    h('optgroup', { label: 'Every action of a kind' },
      prefixes.map((p) => h('option', { value: p, selected: p === value }, `${p}* (all)`))),
    h('optgroup', { label: 'One action' },
      [...all].filter((a) => !a.endsWith('.')).sort().map((a) => h('option', { value: a, selected: a === value }, a))));
}

function auditRow(r, canTokens) {
  const href = targetHref(r, canTokens);
  return h('tr', { dataset: { id: String(r.id ?? '') } },
    h('td', { class: 'when' }, fmtTime(r.at)),
    h('td', {}, r.actor_name ? `${r.actor_name} (${r.actor || '—'})` : r.actor || '—'),
    h('td', {}, r.role || '—'), h('td', { class: 'mono' }, r.action || ''),
    h('td', { class: 'target' }, href ? h('a', { href }, r.target) : r.target || ''),
    h('td', { class: 'mono' }, r.remote_address || ''), h('td', {}, badge(r.outcome)),
    h('td', { class: 'small' }, r.detail || '', r.on_behalf_of ? ` (for ${r.on_behalf_of})` : ''));
}

// The actor and action filters. The action select offers the known actions and grows
// by the ones seen in rows (addActions).
function filterForm(filters, navigate) {
  const actions = new Set(KNOWN_ACTIONS);
  const actor = h('input', { name: 'actor', value: filters.actor, size: 14, placeholder: 'token id', autocomplete: 'off' });
  const actionBox = h('div', {});
  let action = null;
  const apply = () => navigate(`#/audit${query({ actor: actor.value.trim(), action: action.value })}`);
  const drawActions = () => {
    const value = action ? action.value : filters.action;
    action = actionSelect([...actions], value);
    action.addEventListener('change', apply);
    clear(actionBox).append(field('Action', action, 'a-action'));
  };
  drawActions();
  const form = h('form', { class: 'filters', role: 'search', 'aria-label': 'Filter the audit log' },
    field('Actor', actor, 'a-actor'), actionBox,
    h('button', { type: 'submit', class: 'btn' }, 'Apply'),
    h('a', { href: '#/audit', class: 'btn btn-secondary', role: 'button' }, 'Clear'));
  form.addEventListener('submit', (ev) => { ev.preventDefault(); apply(); });
  const addActions = (seen) => {
    const before = actions.size;
    for (const a of seen) if (a) actions.add(a);
    if (actions.size !== before) drawActions();
  };
  return { form, addActions };
}

export async function render(root, ctx, params, hashQuery) {
  const filters = { actor: hashQuery.get('actor') || '', action: hashQuery.get('action') || '' };
  const before = hashQuery.get('before') || '';
  root.append(h('div', { class: 'page-head' }, h('h1', {}, 'Audit log')));
  if (!ctx.can.readAudit) {
    root.append(h('p', { class: 'error-box', role: 'alert' }, `The ${ctx.session.role} role may not read the audit log.`));
    return;
  }
  const canTokens = ctx.can.manageTokens;
  const filterBox = filterForm(filters, ctx.navigate);
  const form = filterBox.form;
  const liveNote = h('p', { class: 'muted small', id: 'audit-live', 'aria-live': 'off' });
  const list = h('div');
  const pager = h('nav', { class: 'pager', 'aria-label': 'Pages' });
  root.append(form, liveNote, list, pager);

  let shown = new Set();
  let lastKey = null;
  const draw = (rows, data) => {
    // Nothing new: leave the table (and the focus in it) alone.
    const key = rows.map((r) => `${r.id}:${r.outcome}`).join(',');
    if (key === lastKey) return;
    lastKey = key;
    filterBox.addActions(rows.map((r) => r.action));
    clear(list);
    if (rows.length === 0) {
      list.append(h('p', { class: 'muted' }, 'No audit entries match.'));
    } else {
      const trs = rows.map((r) => {
        const tr = auditRow(r, canTokens);
        if (shown.size > 0 && !shown.has(r.id)) tr.classList.add('flash');
        return tr;
      });
      list.append(scrollBox(h('table', { id: 'audit-table' },
        h('thead', {}, h('tr', {}, ['When', 'Actor', 'Role', 'Action', 'Target', 'From', 'Outcome', 'Detail']
          .map((c) => h('th', { scope: 'col' }, c)))),
        h('tbody', {}, trs)), 'Audit entries'));
    }
    shown = new Set(rows.map((r) => r.id));
    clear(pager);
    if (before) pager.append(h('a', { href: `#/audit${query(filters)}`, class: 'btn btn-secondary', role: 'button' }, 'Newest'));
    // `next_before` is the cursor of the next, older page; null on the last page.
    if (data && data.next_before !== null && data.next_before !== undefined) {
      pager.append(h('a', { href: `#/audit${query({ ...filters, before: data.next_before })}`, class: 'btn btn-secondary', role: 'button' }, 'Older'));
    }
  };
  const load = async () => {
    const data = await api('GET', `/api/v1/audit${query({ ...filters, before, limit: PAGE_SIZE })}`);
    draw(rowsOf(data, 'entries'), data);
    if (!before) liveNote.textContent = `Updates by itself every ${POLL_MS / 1000} s; last checked ${fmtTime(Date.now())}.`;
  };
  await load();
  if (before) {
    liveNote.textContent = 'An older page: it does not update.';
    return undefined;
  }
  // The newest page asks again while it is visible (and at once when it becomes so).
  let busy = false;
  const poll = async () => {
    if (busy || document.visibilityState !== 'visible') return;
    busy = true;
    try {
      await load();
    } catch (e) {
      liveNote.textContent = `Could not update: ${e.message}`;
    } finally {
      busy = false;
    }
  };
  const timer = setInterval(poll, POLL_MS);
  document.addEventListener('visibilitychange', poll);
  return () => {
    clearInterval(timer);
    document.removeEventListener('visibilitychange', poll);
  };
}
