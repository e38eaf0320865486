// Audit log: every state-changing request, newest first, filtered by actor and action,
// paged with `before` (the cursor the previous page's answer gave).
import { api, query, rowsOf } from '../api.js';
import { h, clear, badge, fmtTime, field } from '../dom.js';

const PAGE_SIZE = 50;

export async function render(root, ctx, params, hashQuery) {
  const filters = { actor: hashQuery.get('actor') || '', action: hashQuery.get('action') || '' };
  const before = hashQuery.get('before') || '';
  root.append(h('div', { class: 'page-head' }, h('h1', {}, 'Audit log')));
  if (!ctx.can.readAudit) {
    root.append(h('p', { class: 'error-box', role: 'alert' }, `The ${ctx.session.role} role may not read the audit log.`));
    return;
  }
  const actor = h('input', { name: 'actor', value: filters.actor, size: 14, placeholder: 'token id' });
  const action = h('input', { name: 'action', value: filters.action, size: 14, placeholder: 'site.drain' });
  const form = h('form', { class: 'filters', role: 'search', 'aria-label': 'Filter the audit log' },
    field('Actor', actor, 'a-actor'), field('Action', action, 'a-action'),
    h('button', { type: 'submit', class: 'btn' }, 'Apply'),
    h('a', { href: '#/audit', class: 'btn btn-secondary', role: 'button' }, 'Clear'));
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    ctx.navigate(`#/audit${query({ actor: actor.value.trim(), action: action.value.trim() })}`);
  });
  const list = h('div');
  const pager = h('nav', { class: 'pager', 'aria-label': 'Pages' });
  root.append(form, list, pager);

  const data = await api('GET', `/api/v1/audit${query({ ...filters, before, limit: PAGE_SIZE })}`);
  const rows = rowsOf(data, 'entries');
  clear(list);
  if (rows.length === 0) {
    list.append(h('p', { class: 'muted' }, 'No audit entries match.'));
  } else {
    list.append(h('div', { class: 'table-wrap' }, h('table', { id: 'audit-table' },
      h('thead', {}, h('tr', {}, ['When', 'Actor', 'Role', 'Action', 'Target', 'From', 'Outcome', 'Detail']
        .map((c) => h('th', { scope: 'col' }, c)))),
      h('tbody', {}, rows.map((r) => h('tr', {},
        h('td', {}, fmtTime(r.at)),
        h('td', {}, r.actor_name ? `${r.actor_name} (${r.actor || '—'})` : r.actor || '—'),
        h('td', {}, r.role || '—'), h('td', { class: 'mono' }, r.action || ''), h('td', {}, r.target || ''),
        h('td', { class: 'mono' }, r.remote_address || ''), h('td', {}, badge(r.outcome)),
        h('td', { class: 'small' }, r.detail || '')))))));
  }
  if (before) pager.append(h('a', { href: `#/audit${query(filters)}`, class: 'btn btn-secondary', role: 'button' }, 'Newest'));
  // `next_before` is the cursor of the next, older page; null on the last page.
  if (data && data.next_before !== null && data.next_before !== undefined) {
    pager.append(h('a', { href: `#/audit${query({ ...filters, before: data.next_before })}`, class: 'btn btn-secondary', role: 'button' }, 'Older'));
  }
}
