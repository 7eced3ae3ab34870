import { h, field, markReady } from '../dom';
import * as api from '../api';

export function loginPage(root: HTMLElement, message: string | undefined, done: () => void): void {
  const secret = h('input', { type: 'password', name: 'secret', required: true, autocomplete: 'current-password' });
  const modePassword = h('input', { type: 'radio', name: 'mode', value: 'password', id: 'mode-password', checked: true });
  const modeToken = h('input', { type: 'radio', name: 'mode', value: 'token', id: 'mode-token' });
  const secretField = field('Password', secret);
  const label = secretField.querySelector('label')!;
  const updateMode = () => {
    label.textContent = modeToken.checked ? 'Token' : 'Password';
    secret.autocomplete = modeToken.checked ? 'off' : 'current-password';
  };
  modePassword.addEventListener('change', updateMode);
  modeToken.addEventListener('change', updateMode);
  const err = h('p', { class: 'error', role: 'alert', id: 'login-error' }, message ?? '');
  const submit = h('button', { type: 'submit', class: 'primary' }, 'Log in');
  const form = h(
    'form',
    {
      class: 'login card',
      'aria-labelledby': 'login-title',
      onsubmit: async (e: Event) => {
        e.preventDefault();
        submit.disabled = true;
        err.textContent = '';
        try {
          await api.login(modeToken.checked ? { token: secret.value } : { password: secret.value });
          done();
        } catch (ex) {
          err.textContent =
            ex instanceof api.ApiError && ex.status === 401
              ? `Wrong ${modeToken.checked ? 'token' : 'password'}.`
              : (ex as Error).message;
          secret.select();
          secret.focus();
        } finally {
          submit.disabled = false;
        }
      },
    },
    h('h1', { id: 'login-title' }, 'vigil console'),
    h(
      'fieldset',
      { class: 'radios' },
      h('legend', null, 'Log in with'),
      h('div', { class: 'opts' },
        h('label', { for: 'mode-password' }, modePassword, ' password'),
        h('label', { for: 'mode-token' }, modeToken, ' token')),
    ),
    secretField,
    err,
    submit,
  );
  root.appendChild(form);
  secret.focus();
  markReady('login');
}
