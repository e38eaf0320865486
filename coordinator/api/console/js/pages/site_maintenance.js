// The site page's maintenance panel: the site's windows (the one in force marked), a
// Cancel button on each and a form to declare one, for roles that may drain the site.
import { api } from '../api.js';
import { h, fmtTime, table, field, toast } from '../dom.js';

// "2026-12-08T06:00" from an <input type="datetime-local"> (local time) to epoch ms.
function localToMs(value) {
  const t = Date.parse(value);
  return Number.isNaN(t) ? null : t;
}

export function maintenancePanel(site, mayChange, onChanged) {
  const windows = site.maintenance || [];
  const box = h('section', { class: 'panel', 'aria-labelledby': 'maint-title' });
  const path = `/api/v1/sites/${encodeURIComponent(site.id)}/maintenance`;
  box.append(h('h2', { id: 'maint-title' }, 'Maintenance windows'),
    h('p', { class: 'muted' }, 'From its start no new job goes to the site; until its end plus ' +
      'the grace period its jobs are neither stopped nor placed again while it is silent.'));
  if (windows.length === 0) {
    box.append(h('p', { class: 'muted', id: 'maint-none' }, 'None declared.'));
  } else {
    box.append(table(['Window', 'Start', 'End', 'Declared by', 'Reason', 'Action'],
      windows.map((w) => {
        const inForce = w.id === site.maintenance_active;
        const cancel = mayChange ? h('button', { class: 'btn', type: 'button', id: `cancel-${w.id}` },
          'Cancel') : null;
        cancel?.addEventListener('click', async () => {
          cancel.disabled = true;
          try {
            await api('DELETE', `${path}/${encodeURIComponent(w.id)}`);
            toast(`${w.id} cancelled.`);
            await onChanged();
          } catch (e) {
            toast(`cancel refused: ${e.message}`);
            cancel.disabled = false;
          }
        });
        return h('tr', {}, h('th', { scope: 'row', class: 'mono' }, w.id + (inForce ? ' (in force)' : '')),
          h('td', {}, fmtTime(w.start_at)), h('td', {}, fmtTime(w.end_at)),
          h('td', {}, w.declared_by || '—'), h('td', {}, w.reason || ''), h('td', {}, cancel));
      }), { attrs: { id: 'maintenance-windows' } }));
  }
  if (mayChange) box.append(declareForm(path, onChanged));
  return box;
}

function declareForm(path, onChanged) {
  const start = h('input', { name: 'start', type: 'datetime-local' });
  const end = h('input', { name: 'end', type: 'datetime-local', required: true });
  const reason = h('input', { name: 'reason', size: 40, required: true,
    placeholder: 'e.g. Slurm upgrade' });
  const button = h('button', { type: 'submit', class: 'btn', id: 'declare-maintenance' }, 'Declare window');
  const error = h('p', { class: 'error-box', role: 'alert' });
  const form = h('form', { class: 'actions', 'aria-label': 'Declare a maintenance window' },
    field('Start (local time; empty: now)', start, 'maint-start'), field('End (local time)', end, 'maint-end'),
    field('Reason for the window', reason, 'maint-reason'), button, error);
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    error.textContent = '';
    const body = { end: localToMs(end.value), reason: reason.value.trim() };
    if (start.value) body.start = localToMs(start.value);
    button.disabled = true;
    try {
      const w = await api('POST', path, body);
      toast(`${w.id} declared.`);
      await onChanged();
    } catch (e) {
      error.textContent = `declaration refused: ${e.message}`;
      button.disabled = false;
    }
  });
  return form;
}
