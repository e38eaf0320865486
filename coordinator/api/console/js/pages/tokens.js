// Tokens (admin): every API token (never a secret), a form to create one, which shows
// its secret once, and Revoke on each live token. Uses /api/v1/tokens (docs/api.md).
import { api, rowsOf } from '../api.js';
import { h, clear, badge, fmtTime, field, scrollBox, toast } from '../dom.js';

const ROLES = ['viewer', 'submitter', 'portal', 'operator', 'site-admin', 'admin'];
const SCOPED = { submitter: 'projects', portal: 'projects', 'site-admin': 'site' };

// The scope control: project checkboxes for a submitter or portal, a site for a
// site-admin, nothing for the others. Returns {element, value(), show(role)}.
function scopeControl(projects, sites) {
  const boxes = projects.map((p) => h('input', { type: 'checkbox', name: 'scope-project', value: p.id }));
  const projectSet = h('fieldset', { class: 'checks', id: 'token-projects' },
    h('legend', {}, 'Projects'),
    projects.length === 0 ? h('span', { class: 'muted small' }, 'The federation names no projects.') : null,
    boxes.map((b, i) => h('label', { class: 'check' }, b, ` ${projects[i].id}`)));
  const site = h('select', { name: 'scope-site' }, sites.map((s) => h('option', { value: s.id }, s.name ? `${s.name} (${s.id})` : s.id)));
  const siteField = field('Site', site, 'token-site');
  const wrap = h('div', { class: 'scope' }, projectSet, siteField);
  let kind = '';
  const show = (role) => {
    kind = SCOPED[role] || '';
    projectSet.hidden = kind !== 'projects';
    siteField.hidden = kind !== 'site';
  };
  const value = () => kind === 'projects' ? boxes.filter((b) => b.checked).map((b) => b.value)
    : kind === 'site' ? [site.value] : [];
  return { element: wrap, value, show };
}

function createForm(projects, sites, onCreated) {
  const name = h('input', { name: 'name', required: true, maxlength: 100, placeholder: 'ci-pipeline', autocomplete: 'off' });
  const user = h('input', { name: 'user', maxlength: 128, placeholder: 'default: the name', autocomplete: 'off' });
  const role = h('select', { name: 'role' }, ROLES.map((r) => h('option', { value: r }, r)));
  const scope = scopeControl(projects, sites);
  scope.show(role.value);
  role.addEventListener('change', () => scope.show(role.value));
  const error = h('p', { class: 'error-box', role: 'alert', id: 'token-error' });
  const button = h('button', { type: 'submit', class: 'btn', id: 'create-token' }, 'Create token');
  const form = h('form', { class: 'form-grid', 'aria-labelledby': 'create-title' },
    field('Name', name, 'token-name'), field('User (owner of its jobs)', user, 'token-user'),
    field('Role', role, 'token-role'), scope.element, h('div', { class: 'actions' }, button), error);
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    error.textContent = '';
    button.disabled = true;
    const body = { name: name.value.trim(), role: role.value, scope: scope.value() };
    if (user.value.trim()) body.user = user.value.trim();
    try {
      const created = await api('POST', '/api/v1/tokens', body);
      name.value = '';
      user.value = '';
      await onCreated(created);
    } catch (e) {
      error.textContent = `Not created: ${e.message}`;
    } finally {
      button.disabled = false;
    }
  });
  return form;
}

// The secret of a token just created: shown here once, never again.
function secretBox(created) {
  const secret = h('input', { readonly: true, value: created.token, class: 'mono secret', spellcheck: 'false' });
  const copy = h('button', { type: 'button', class: 'btn btn-secondary' }, 'Copy');
  copy.addEventListener('click', async () => {
    secret.select();
    try {
      await navigator.clipboard.writeText(created.token);
      toast('Token copied.');
    } catch {
      toast('Select the token and copy it by hand.');
    }
  });
  return h('section', { class: 'panel notice', id: 'new-token', role: 'status' },
    h('h2', {}, `Token ${created.name} created`),
    h('p', {}, 'Copy the secret now and hand it to its owner: it is shown this once and the coordinator keeps only its hash.'),
    h('div', { class: 'form-row' }, field('Secret', secret, 'new-token-secret'), copy));
}

function revokeCell(t, onRevoked) {
  const cell = h('td', {});
  if (t.revoked) return cell;
  const ask = h('button', { type: 'button', class: 'btn btn-danger', 'aria-label': `Revoke ${t.name} (${t.id})`,
    dataset: { revoke: t.id } }, 'Revoke');
  ask.addEventListener('click', () => {
    clear(cell);
    const yes = h('button', { type: 'button', class: 'btn btn-danger', dataset: { confirmRevoke: t.id } }, 'Yes, revoke');
    const no = h('button', { type: 'button', class: 'btn btn-secondary' }, 'Keep');
    yes.addEventListener('click', async () => {
      yes.disabled = true;
      try {
        await api('DELETE', `/api/v1/tokens/${encodeURIComponent(t.id)}`);
        toast(`Token ${t.name} revoked.`);
        await onRevoked();
      } catch (e) {
        toast(`Not revoked: ${e.message}`);
        yes.disabled = false;
      }
    });
    no.addEventListener('click', () => cell.replaceWith(revokeCell(t, onRevoked)));
    cell.append(h('span', { class: 'small' }, `Revoke ${t.name}? `), yes, ' ', no);
    no.focus();
  });
  cell.append(ask);
  return cell;
}

export async function render(root, ctx, params, hashQuery) {
  root.append(h('div', { class: 'page-head' }, h('h1', {}, 'API tokens')));
  if (!ctx.can.manageTokens) {
    root.append(h('p', { class: 'error-box', role: 'alert' }, `Only admins manage tokens; you are ${ctx.session.role}.`));
    return;
  }
  const highlight = hashQuery.get('id') || '';
  const [projectsData, sitesData] = await Promise.all([
    api('GET', '/api/v1/projects').catch(() => null),
    api('GET', '/api/v1/sites'),
  ]);
  const projects = rowsOf(projectsData, 'projects').filter((p) => p && p.id);
  const sites = sitesData.sites || [];
  const news = h('div', {});
  const listBox = h('section', { class: 'panel', 'aria-labelledby': 'tokens-title' });
  const draw = async () => {
    const tokens = rowsOf(await api('GET', '/api/v1/tokens'), 'tokens');
    clear(listBox);
    listBox.append(h('h2', { id: 'tokens-title' }, 'Tokens'),
      h('p', { class: 'muted small' }, 'Oldest first, revoked ones included. Secrets are never shown here.'),
      scrollBox(h('table', { id: 'tokens-table' },
        h('thead', {}, h('tr', {}, ['Id', 'Name', 'User', 'Role', 'Scope', 'Created', 'Last used', 'State', 'Action']
          .map((c) => h('th', { scope: 'col' }, c)))),
        h('tbody', {}, tokens.map((t) => h('tr', { dataset: { token: t.id }, class: t.id === highlight ? 'highlight' : undefined },
          h('td', { class: 'mono' }, t.id), h('th', { scope: 'row' }, t.name), h('td', {}, t.user || '—'),
          h('td', {}, t.role), h('td', {}, (t.scope || []).join(', ') || '—'),
          h('td', {}, `${fmtTime(t.created_at)}${t.created_by ? ` by ${t.created_by}` : ''}`),
          h('td', {}, fmtTime(t.last_used_at)),
          h('td', { class: 'token-state' }, badge(t.revoked ? 'revoked' : 'active'),
            t.revoked ? h('div', { class: 'small muted' }, fmtTime(t.revoked_at)) : null),
          revokeCell(t, draw))))), 'Token table'));
  };
  root.append(news,
    h('section', { class: 'panel', 'aria-labelledby': 'create-title' }, h('h2', { id: 'create-title' }, 'Create a token'),
      createForm(projects, sites, async (created) => {
        clear(news);
        news.append(secretBox(created));
        await draw();
        news.querySelector('input')?.focus();
      })),
    listBox);
  await draw();
  if (highlight) root.querySelector('tr.highlight')?.scrollIntoView({ block: 'center' });
}
