// Login: paste an API token; POST /api/v1/session sets the HttpOnly session cookie.
import { api, ApiError } from '../api.js';
import { h } from '../dom.js';

export function render(root, ctx) {
  const token = h('input', { type: 'password', name: 'token', autocomplete: 'off', spellcheck: 'false',
    required: true, 'aria-describedby': 'token-help', placeholder: 'aifed_…' });
  token.id = 'token';
  const error = h('p', { class: 'error-box', role: 'alert', id: 'login-error' });
  const button = h('button', { type: 'submit', class: 'btn' }, 'Log in');
  const form = h('form', { class: 'panel', 'aria-labelledby': 'login-title' },
    h('div', { class: 'field' },
      h('label', { for: 'token' }, 'API token'),
      token,
      h('span', { id: 'token-help', class: 'muted small' },
        'The token is sent once to open a session; the browser then keeps only a session cookie.')),
    button,
    error);
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    error.textContent = '';
    button.disabled = true;
    try {
      const session = await api('POST', '/api/v1/session', { token: token.value.trim() }, { quiet401: true });
      token.value = '';
      ctx.onLogin(session);
    } catch (e) {
      error.textContent = e instanceof ApiError && e.status === 401
        ? 'That token was not accepted (unknown, revoked or mistyped).'
        : `Login failed: ${e.message}`;
      token.focus();
    } finally {
      button.disabled = false;
    }
  });
  root.append(h('div', { class: 'login' },
    h('h1', { id: 'login-title' }, 'aifed console'),
    form,
    h('div', { class: 'hint' },
      h('p', {}, 'The coordinator writes its first admin token to ', h('code', {}, 'admin.token'),
        ' next to its database (', h('code', {}, 'aifed demo'), ' prints the path). Create tokens for other people with ',
        h('code', {}, 'aifed token create --name alice --role viewer'), '.'))));
  token.focus();
}
