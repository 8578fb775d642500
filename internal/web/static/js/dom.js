// Small DOM helpers. Everything is built with createElement and text
// nodes: no HTML string ever reaches the page, so nothing can inject markup.

const SVG = 'http://www.w3.org/2000/svg';

function build(el, attrs, kids) {
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2), v);
    else if (k === 'class') el.setAttribute('class', v);
    else if (k === 'value' && 'value' in el) el.value = v;
    else if (k === 'checked' || k === 'selected' || k === 'disabled' || k === 'open') el[k] = !!v;
    else el.setAttribute(k, v === true ? '' : String(v));
  }
  append(el, kids);
  return el;
}

function append(el, kids) {
  for (const c of kids.flat(Infinity)) {
    if (c === undefined || c === null || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
}

// h('p', {class: 'x'}, 'text', child) builds an element.
export function h(tag, attrs, ...kids) {
  return build(document.createElement(tag), attrs, kids);
}

// s builds an SVG element.
export function s(tag, attrs, ...kids) {
  return build(document.createElementNS(SVG, tag), attrs, kids);
}

export function clear(el, ...kids) {
  el.replaceChildren();
  append(el, kids);
  return el;
}

let uid = 0;
export function id(prefix) { return `${prefix || 'f'}-${++uid}`; }

// field returns a label and its control, wired together.
export function field(label, control, hint) {
  const fid = control.id || id('f');
  control.id = fid;
  const kids = [h('label', { for: fid }, label), control];
  if (hint) {
    const hid = fid + '-hint';
    control.setAttribute('aria-describedby', hid);
    kids.push(h('small', { id: hid, class: 'muted' }, hint));
  }
  return h('div', { class: 'field' }, kids);
}

export function select(name, options, value) {
  return h('select', { name }, options.map(([v, label]) =>
    h('option', { value: v, selected: v === value }, label)));
}

export function when(t) {
  if (!t) return '—';
  const d = new Date(t);
  if (isNaN(d)) return String(t);
  const s = (Date.now() - d.getTime()) / 1000;
  if (s >= 0 && s < 60) return 'just now';
  if (s >= 0 && s < 3600) return `${Math.floor(s / 60)} min ago`;
  if (s >= 0 && s < 86400) return `${Math.floor(s / 3600)} h ago`;
  return d.toLocaleString();
}

export function time(t) {
  return h('time', { datetime: t || '', title: t ? new Date(t).toLocaleString() : '' }, when(t));
}

export function usd(v) {
  if (v === null || v === undefined) return 'unknown';
  if (v === 0) return '$0';
  if (Math.abs(v) < 0.01) return '$' + v.toPrecision(2);
  return '$' + v.toFixed(2);
}

export function num(v) { return (v || 0).toLocaleString('en-US'); }

let toastTimer;
export function toast(msg, kind) {
  const t = document.getElementById('toast');
  t.className = kind || '';
  t.textContent = msg;
  clearTimeout(toastTimer);
  toastTimer = setTimeout(() => { t.textContent = ''; t.className = ''; }, 5000);
}

// go navigates within the app. The router renders the page even when the
// path stays the same (after signing in), unlike on popstate, where a
// changed #fragment alone (the skip link) must not redraw the page.
export function go(path, replace) {
  if (replace) history.replaceState(null, '', path);
  else history.pushState(null, '', path);
  window.dispatchEvent(new CustomEvent('chatd:navigate'));
}

// table builds a table whose rows stack into labelled blocks on narrow
// screens (app.css, table.stack): each cell carries its column's name.
// cols are the column names; rows are [attrs, cells] pairs, a cell being
// content or a <td> of its own.
export function table(caption, cols, rows, cls) {
  return h('table', { class: 'stack' + (cls ? ' ' + cls : '') },
    caption ? h('caption', { class: 'sr-only' }, caption) : null,
    h('thead', {}, h('tr', {}, cols.map((c) => h('th', { scope: 'col' }, c)))),
    h('tbody', {}, rows.map(([attrs, cells]) => h('tr', attrs || {},
      cells.map((c, i) => {
        const td = c instanceof HTMLTableCellElement ? c : h('td', {}, c);
        if (cols[i]) td.dataset.label = cols[i];
        return td;
      })))));
}

// notice shows why a page or section cannot be used.
export function notice(err, what) {
  if (err.status === 403) return h('p', { class: 'error forbidden', role: 'alert' }, `Forbidden: ${what || 'this page'} is for admins only.`);
  if (err.missing) return h('p', { class: 'notice unavailable', role: 'status' }, `${what || 'This feature'} is not available on this server.`);
  return h('p', { class: 'error', role: 'alert' }, err.message);
}

export function badge(status, label) {
  return h('span', { class: 'badge status-' + status }, label || status.replaceAll('_', ' '));
}

// CHAT names a chat's API status for people; the API value stays in the
// badge's class.
const CHAT = { waiting: 'idle', requires_action: 'needs tool results' };

export const chatBadge = (status) => badge(status, CHAT[status]);

// confirmAction asks before a destructive action in a modal <dialog> (no
// window.confirm: it blocks the page and cannot be styled). It resolves to
// true only when the user presses the action button; Cancel and Escape
// resolve to false. Focus starts on Cancel.
export function confirmAction(message, action) {
  const mid = id('confirm');
  const cancel = h('button', { type: 'submit', value: 'cancel', autofocus: true }, 'Cancel');
  const dlg = h('dialog', { class: 'confirm', 'aria-labelledby': mid },
    h('form', { method: 'dialog' },
      h('p', { id: mid }, message),
      h('div', { class: 'actions' }, cancel, h('button', { type: 'submit', value: 'ok', class: 'danger' }, action))));
  document.body.append(dlg);
  return new Promise((resolve) => {
    dlg.addEventListener('close', () => { resolve(dlg.returnValue === 'ok'); dlg.remove(); }, { once: true });
    dlg.showModal();
    cancel.focus();
  });
}
