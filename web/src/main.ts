// The vigil console: app shell, hash routing, login.
import './style.css';
import { h, replace, toast } from './dom';
import * as api from './api';
import { loginPage } from './pages/login';
import { runsPage } from './pages/runs';

import type { Cleanup, Page } from './dom';

// The runs page (the default) is in the main bundle; the others load on first use.
type Loader = () => Promise<Page>;
const routes: [RegExp, Loader, string][] = [
  [/^\/runs\/?$/, async () => runsPage, 'Runs'],
  [/^\/runs\/([\w.-]+)$/, async () => (await import('./pages/run')).runPage, 'Run'],
  [/^\/evaluations\/?$/, async () => (await import('./pages/evaluation')).evaluationsPage, 'Evaluations'],
  [/^\/evaluations\/([\w.-]+)$/, async () => (await import('./pages/evaluation')).evaluationPage, 'Evaluation'],
  [/^\/models\/?$/, async () => (await import('./pages/models')).modelsPage, 'Models'],
  [/^\/models\/([^/]+)$/, async () => (await import('./pages/models')).modelPage, 'Model'],
  [/^\/live\/?$/, async () => (await import('./pages/live')).livePage, 'Live'],
];
const NAV: [string, string][] = [
  ['#/runs', 'Runs'],
  ['#/evaluations', 'Evaluations'],
  ['#/models', 'Models'],
  ['#/live', 'Live'],
];

const app = document.getElementById('app')!;
let cleanup: Cleanup = undefined;
let main: HTMLElement;
let navEl: HTMLElement;
let userEl: HTMLElement;
let sseEl: HTMLElement;

function shell(): void {
  navEl = h(
    'ul',
    { class: 'nav' },
    NAV.map(([href, label]) => h('li', null, h('a', { href }, label))),
  );
  userEl = h('span', { class: 'user' });
  sseEl = h('span', { class: 'sse', role: 'status', title: 'live updates' }, '●');
  const logoutBtn = h(
    'button',
    {
      type: 'button',
      class: 'link',
      onclick: async () => {
        await api.logout().catch(() => {});
        showLogin();
      },
    },
    'Log out',
  );
  main = h('main', { id: 'main', tabindex: '-1' });
  replace(
    app,
    h('a', { class: 'skip', href: '#main', onclick: (e: Event) => (e.preventDefault(), main.focus()) }, 'Skip to content'),
    h(
      'header',
      { class: 'top' },
      h('a', { class: 'brand', href: '#/runs' }, 'vigil'),
      h('nav', { 'aria-label': 'Main' }, navEl),
      h('div', { class: 'who' }, sseEl, userEl, logoutBtn),
    ),
    main,
  );
  api.onEventStatus((up) => {
    sseEl.classList.toggle('up', up);
    sseEl.setAttribute('aria-label', up ? 'live updates connected' : 'live updates disconnected');
    sseEl.title = up ? 'live updates connected' : 'live updates disconnected';
  });
}

async function route(): Promise<void> {
  const s = api.currentSession();
  if (!s) return showLogin();
  if (!main || !main.isConnected) shell();
  userEl.textContent = `${s.user} (${s.role})`;
  let path = location.hash.replace(/^#/, '') || '/runs';
  if (!path.startsWith('/')) path = '/runs';
  const [pathOnly] = path.split('?');
  if (typeof cleanup === 'function') cleanup();
  cleanup = undefined;
  for (const a of navEl.querySelectorAll('a')) {
    const target = a.getAttribute('href')!.slice(1);
    if (pathOnly === target || pathOnly.startsWith(target + '/')) a.setAttribute('aria-current', 'page');
    else a.removeAttribute('aria-current');
  }
  const found = routes.find(([re]) => re.test(pathOnly));
  const page = h('div', { class: 'page' });
  replace(main, page);
  delete main.dataset.ready;
  if (!found) {
    document.title = 'Not found · vigil';
    replace(page, h('h1', null, 'Not found'), h('p', null, h('a', { href: '#/runs' }, 'Go to runs')));
    main.dataset.ready = 'notfound';
    return;
  }
  const [re, load, title] = found;
  const params = (pathOnly.match(re) ?? []).slice(1).map(decodeURIComponent);
  document.title = `${title}${params[0] ? ' ' + params[0] : ''} · vigil`;
  try {
    const fn = await load();
    if (!page.isConnected) return;
    const c = await fn(page, params);
    if (page.isConnected) cleanup = c;
    else if (typeof c === 'function') c();
  } catch (e) {
    if (!page.isConnected) return;
    replace(page, h('h1', null, title), h('p', { class: 'error', role: 'alert' }, (e as Error).message));
    main.dataset.ready = 'error';
  }
}

function showLogin(message?: string): void {
  if (typeof cleanup === 'function') cleanup();
  cleanup = undefined;
  api.closeEvents();
  document.title = 'Log in · vigil';
  const root = h('main', { id: 'main', class: 'login-main', tabindex: '-1' });
  replace(app, root);
  main = root;
  loginPage(root, message, () => afterLogin());
}

function afterLogin(): void {
  api.openEvents();
  shell();
  if (!/^#\//.test(location.hash)) history.replaceState(null, '', '#/runs');
  void route();
}

async function start(): Promise<void> {
  api.setUnauthorizedHandler(() => showLogin('Your session ended; log in again.'));
  window.addEventListener('hashchange', () => {
    if (location.hash.startsWith('#token=')) return void tokenLogin();
    if (api.currentSession()) {
      window.scrollTo(0, 0);
      void route().then(() => {
        main?.focus({ preventScroll: true });
      });
    }
  });
  if (location.hash.startsWith('#token=')) return tokenLogin();
  try {
    const s = await api.loadSession();
    if (s) afterLogin();
    else showLogin();
  } catch (e) {
    showLogin(`The console did not answer: ${(e as Error).message}`);
  }
}

async function tokenLogin(): Promise<void> {
  const token = decodeURIComponent(location.hash.slice('#token='.length).split('&')[0]);
  history.replaceState(null, '', location.pathname + location.search + '#/runs'); // keep the token out of history
  try {
    await api.login({ token });
    afterLogin();
  } catch (e) {
    showLogin(`The token in the link was refused: ${(e as Error).message}`);
  }
}

window.addEventListener('unhandledrejection', (e) => {
  const err = e.reason as Error;
  if (err instanceof api.ApiError && err.status === 401) return;
  toast(err?.message ?? String(err), 'error');
});

void start();
