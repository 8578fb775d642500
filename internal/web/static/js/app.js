// The single-page app: sign-in, navigation and a history-API router.

import * as api from './api.js';
import { h, clear, field, toast, go } from './dom.js';
import { chatList, newChat, conversation } from './chats.js';
import { settings } from './settings.js';
import { debugViewer } from './debug.js';
import { adminUsers, adminProviders, adminModels, adminDeployment } from './admin.js';
import { adminUsage, myUsage } from './usage.js';

export const state = { user: null };

const main = document.getElementById('main');
let cleanup = null;

const routes = [
  [/^\/chats\/?$/, () => chatList],
  [/^\/chats\/new$/, () => newChat],
  [/^\/chats\/([^/]+)\/debug$/, () => debugViewer],
  [/^\/chats\/([^/]+)$/, () => conversation],
  [/^\/settings$/, () => settings],
  [/^\/usage$/, () => myUsage],
  [/^\/admin\/?$/, () => adminUsers],
  [/^\/admin\/users$/, () => adminUsers],
  [/^\/admin\/providers$/, () => adminProviders],
  [/^\/admin\/models$/, () => adminModels],
  [/^\/admin\/deployment$/, () => adminDeployment],
  [/^\/admin\/usage$/, () => adminUsage],
];

function nav() {
  const links = [['/chats', 'Chats'], ['/usage', 'My usage'], ['/settings', 'Settings']];
  if (state.user && state.user.role === 'admin') {
    links.push(['/admin/users', 'Users'], ['/admin/providers', 'Providers'], ['/admin/models', 'Models'],
      ['/admin/deployment', 'Deployment'], ['/admin/usage', 'Usage']);
  }
  const here = location.pathname;
  clear(document.getElementById('nav'), h('ul', {}, links.map(([href, label]) =>
    h('li', {}, h('a', { href, 'aria-current': here === href || (href === '/chats' && here.startsWith('/chats/')) ? 'page' : false }, label)))));
  document.getElementById('whoami').textContent = state.user ? `${state.user.username}${state.user.role === 'admin' ? ' (admin)' : ''}` : '';
}

// routed is the page on show (path and query), so that a popstate which
// only changes the #fragment (the skip link) leaves the page alone.
let routed = null;
let first = true;

async function route() {
  if (cleanup) { try { cleanup(); } catch { /* page already gone */ } cleanup = null; }
  const path = location.pathname;
  routed = path + location.search;
  const moved = !first;
  first = false;
  if (!state.user) {
    try {
      state.user = await api.get('/me');
    } catch {
      state.user = null;
    }
  }
  if (!state.user) {
    document.getElementById('top').hidden = true;
    return loginPage();
  }
  document.getElementById('top').hidden = false;
  if (path === '/' || path === '/login') {
    first = !moved; // the redirect is still the first page
    return go('/chats', true);
  }
  nav();
  for (const [re, page] of routes) {
    const m = re.exec(path);
    if (m) {
      const ctx = { main, params: m.slice(1).map(decodeURIComponent), user: state.user, onLeave: (f) => { cleanup = f; } };
      clear(main);
      try {
        await page()(ctx);
      } catch (e) {
        clear(main, h('h1', {}, 'Something went wrong'), h('p', { class: 'error', role: 'alert' }, e.message));
      }
      document.title = (main.querySelector('h1')?.textContent || 'chatd') + ' · chatd';
      if (moved) focusPage();
      return;
    }
  }
  clear(main, h('h1', {}, 'Not found'), h('p', {}, 'There is no page here. ', h('a', { href: '/chats' }, 'Go to your chats')));
  if (moved) focusPage();
}

// focusPage moves focus to a new page's heading (else main), so a screen
// reader announces it and Tab goes on from there, instead of from the
// link that was removed with the old page. A page that focused a field
// of its own (the new-chat message box) keeps it.
function focusPage() {
  const a = document.activeElement;
  if (a && a !== main && main.contains(a)) return;
  const h1 = main.querySelector('h1');
  const to = h1 && h1.isConnected ? h1 : main;
  if (to !== main) to.setAttribute('tabindex', '-1');
  to.focus({ preventScroll: true });
}

function loginPage() {
  document.title = 'Sign in · chatd';
  const err = h('p', { class: 'error', role: 'alert' });
  const user = h('input', { name: 'username', autocomplete: 'username', required: true, autocapitalize: 'none', spellcheck: 'false' });
  const pass = h('input', { name: 'password', type: 'password', autocomplete: 'current-password', required: true });
  const form = h('form', { class: 'card narrow', onsubmit: async (e) => {
    e.preventDefault();
    err.textContent = '';
    try {
      const r = await api.post('/auth/session', { username: user.value.trim(), password: pass.value });
      state.user = r.user;
      const to = location.pathname === '/' || location.pathname === '/login' ? '/chats' : location.pathname;
      go(to, true);
    } catch (e2) {
      err.textContent = e2.status === 401 ? 'Wrong username or password.' : e2.message;
      pass.select();
    }
  } },
  h('h1', {}, 'Sign in to chatd'),
  field('Username', user),
  field('Password', pass),
  h('button', { type: 'submit', class: 'primary' }, 'Sign in'),
  err);
  clear(main, form);
  user.focus();
}

document.addEventListener('click', (e) => {
  const a = e.target.closest('a');
  if (!a || e.defaultPrevented || e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey) return;
  if (a.target || a.origin !== location.origin || a.hasAttribute('download')) return;
  // Links within the page (the skip link) are the browser's: it scrolls
  // to and focuses their target.
  if ((a.getAttribute('href') || '').startsWith('#')) return;
  e.preventDefault();
  if (a.pathname + a.search !== location.pathname + location.search) go(a.pathname + a.search);
});

window.addEventListener('popstate', () => { if (location.pathname + location.search !== routed) route(); });
window.addEventListener('chatd:navigate', () => { window.scrollTo(0, 0); route(); });
window.addEventListener('chatd:unauthenticated', () => {
  if (state.user) { state.user = null; toast('Your session ended; sign in again.', 'error'); route(); }
});

// On narrow screens the navigation folds behind a menu button.
const top = document.getElementById('top');
const menu = document.getElementById('menu');
function fold(open) {
  menu.setAttribute('aria-expanded', String(open));
  top.classList.toggle('open', open);
}
menu.addEventListener('click', () => fold(menu.getAttribute('aria-expanded') !== 'true'));
document.getElementById('nav').addEventListener('click', (e) => { if (e.target.closest('a')) fold(false); });
document.addEventListener('keydown', (e) => {
  if (e.key === 'Escape' && top.classList.contains('open')) { fold(false); menu.focus(); }
});

document.getElementById('signout').addEventListener('click', async () => {
  try { await api.del('/auth/session'); } catch { /* signed out anyway */ }
  state.user = null;
  go('/login', true);
});

route();
