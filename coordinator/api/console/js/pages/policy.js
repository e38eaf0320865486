// Policy: the active placement policy and its weights, every offered policy, the
// history of switches, and (admin only) a switch with a reason.
import { api, rowsOf } from '../api.js';
import { h, clear, fmtTime, fmtNumber, fmtDuration, table, field, toast } from '../dom.js';

function policyDetails(p) {
  const weights = Object.entries(p.weights || {});
  return [
    h('dl', { class: 'kv' },
      h('dt', {}, 'Name'), h('dd', { id: 'active-policy' }, p.name),
      h('dt', {}, 'Version'), h('dd', {}, String(p.version ?? '—')),
      h('dt', {}, 'Description'), h('dd', {}, p.description || '—'),
      h('dt', {}, 'Binding'), h('dd', {}, `${p.binding || '—'}${p.binding === 'late' ? ` (bind within ${fmtDuration(p.bind_within_s)})` : ''}`),
      h('dt', {}, 'Start half-life'), h('dd', {}, p.start_half_life_s ? fmtDuration(p.start_half_life_s) : '—'),
      h('dt', {}, 'Withdraw after'), h('dd', {}, p.withdraw_after_s ? fmtDuration(p.withdraw_after_s) : 'never')),
    h('h3', {}, 'Weights'),
    weights.length === 0 ? h('p', { class: 'muted' }, 'No scoring plugins.') :
      table(['Plugin', { label: 'Weight', num: true }],
        weights.map(([k, v]) => h('tr', {}, h('th', { scope: 'row' }, k), h('td', { class: 'num' }, fmtNumber(v)))),
        { attrs: { id: 'weights' } }),
  ];
}

export async function render(root, ctx) {
  root.append(h('div', { class: 'page-head' }, h('h1', {}, 'Placement policy')));
  const body = h('div');
  root.append(body);

  const draw = async () => {
    const data = await api('GET', '/api/v1/policy');
    let history = data.history;
    if (!Array.isArray(history)) {
      history = rowsOf(await api('GET', '/api/v1/policy/history').catch(() => []), 'history');
    }
    const active = data.active || data;
    const policies = data.policies || [];
    clear(body);
    body.append(h('section', { class: 'panel', 'aria-labelledby': 'active-title' },
      h('h2', { id: 'active-title' }, 'Active policy'), policyDetails(active)));

    if (ctx.can.setPolicy && policies.length > 0) {
      const choice = h('select', { name: 'policy' },
        policies.map((p) => h('option', { value: p.name, selected: p.name === active.name }, `${p.name}${p.description ? ` — ${p.description}` : ''}`)));
      const reason = h('input', { name: 'reason', size: 40, required: true, placeholder: 'why the switch' });
      const error = h('p', { class: 'error-box', role: 'alert' });
      const button = h('button', { type: 'submit', class: 'btn', id: 'switch-policy' }, 'Switch policy');
      const form = h('form', { class: 'actions', 'aria-label': 'Switch policy' },
        field('New policy', choice, 'policy-choice'), field('Reason', reason, 'policy-reason'), button, error);
      form.addEventListener('submit', async (ev) => {
        ev.preventDefault();
        button.disabled = true;
        error.textContent = '';
        try {
          await api('PUT', '/api/v1/policy', { name: choice.value, reason: reason.value.trim() });
          toast(`Policy switched to ${choice.value}.`);
          await draw();
        } catch (e) {
          error.textContent = `Switch refused: ${e.message}`;
          button.disabled = false;
        }
      });
      body.append(h('section', { class: 'panel', 'aria-labelledby': 'switch-title' },
        h('h2', { id: 'switch-title' }, 'Switch policy'),
        h('p', { class: 'muted small' }, 'Queued jobs are re-examined under the new policy at once; placed jobs stay where they are.'),
        form));
    }

    body.append(h('section', { class: 'panel', 'aria-labelledby': 'offered-title' },
      h('h2', { id: 'offered-title' }, 'Offered policies'),
      table(['Name', 'Version', 'Binding', 'Description', 'Weights'],
        policies.map((p) => h('tr', {}, h('th', { scope: 'row' }, p.name), h('td', {}, String(p.version ?? '')),
          h('td', {}, p.binding || ''), h('td', {}, p.description || ''),
          h('td', { class: 'small' }, Object.entries(p.weights || {}).map(([k, v]) => `${k} ${fmtNumber(v)}`).join(', ')))))));

    body.append(h('section', { class: 'panel', 'aria-labelledby': 'history-title' },
      h('h2', { id: 'history-title' }, 'History'),
      history.length === 0 ? h('p', { class: 'muted' }, 'The policy has not been switched.') :
        table(['When', 'From', 'To', 'By', 'Reason'],
          history.slice().reverse().map((c) => h('tr', {}, h('td', {}, fmtTime(c.at)), h('td', {}, c.from || '—'),
            h('td', {}, `${c.to}${c.to_version ? ` v${c.to_version}` : ''}`), h('td', {}, c.actor_name || c.actor || '—'),
            h('td', {}, c.reason || ''))), { attrs: { id: 'policy-history' } })));
  };
  await draw();
}
