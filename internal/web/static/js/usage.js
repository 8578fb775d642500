// Usage: the AI gateway's records of model calls, as charts per day and a
// list of calls. Admins see everyone's (/admin/usage); everyone sees their
// own (/usage), which the API serves to members too.

import * as api from './api.js';
import { h, clear, field, time, usd, num, notice, select } from './dom.js';
import { barChart } from './chart.js';

// PAGE is how many calls a page of the list shows; "Older calls" pages on
// with the API's cursor (before: the oldest start time shown).
const PAGE = 50;

const tokens = (r) => (r.input_tokens || 0) + (r.output_tokens || 0);

const calls = (n) => `${n} ${n === 1 ? 'call' : 'calls'}`;

export const adminUsage = (ctx) => usage(ctx, true);
export const myUsage = (ctx) => usage(ctx, false);

// dayAfter returns the start of the day after the date input's value, so
// that "until" includes the whole day.
function dayAfter(d) {
  const t = new Date(d + 'T00:00:00Z');
  t.setUTCDate(t.getUTCDate() + 1);
  return t.toISOString().replace('.000Z', 'Z');
}

async function usage({ main }, admin) {
  const title = admin ? 'Usage' : 'My usage';
  clear(main, h('h1', {}, title), admin ? null
    : h('p', { class: 'muted' }, 'Your model calls through the AI gateway: from your chats and from programs using your API keys.'));
  let users = [];
  if (admin) {
    try {
      users = (await api.get('/users')).users;
    } catch (e) {
      main.append(notice(e, title));
      return;
    }
  }
  const names = new Map(users.map((u) => [u.id, u.username]));
  // Provider names: admins list the providers, members see those of the
  // models they may use.
  let provs = [];
  try {
    provs = admin ? (await api.get('/providers')).providers.map((p) => p.name)
      : [...new Set((await api.get('/models')).models.map((m) => m.provider))].sort();
  } catch { /* the filter stays empty */ }
  // Titles of the viewer's own chats: chats are private, so another
  // user's chat shows as the tail of its id (the head of a UUIDv7 is its
  // time, alike for chats started together).
  const titles = new Map();
  await Promise.all(['false', 'true'].map((archived) => api.get('/chats' + api.qs({ archived, limit: 500 }))
    .then(({ chats }) => { for (const c of chats) titles.set(c.id, c.title || 'Untitled chat'); }, () => {})));

  const user = admin ? select('user', [['', 'Everyone'], ...users.map((u) => [u.id, u.username])], '') : null;
  const prov = select('provider', [['', 'Every provider'], ...provs.map((p) => [p, p])], '');
  const model = h('input', { name: 'model', placeholder: 'any' });
  const chatIn = h('input', { name: 'chat', placeholder: 'any', list: 'usage-chats', autocomplete: 'off', spellcheck: 'false' });
  const chatList = h('datalist', { id: 'usage-chats' }, [...titles].map(([id, t]) => h('option', { value: id }, t)));
  const since = h('input', { name: 'since', type: 'date' });
  const until = h('input', { name: 'until', type: 'date' });
  const charts = h('div', { 'aria-live': 'polite' });
  const list = h('div', { 'aria-live': 'polite' });

  const chatLabel = (id) => titles.get(id) ?? `…${id.slice(-8)}`;
  function chatCell(i) {
    if (!i.chat_id) return '—';
    const label = chatLabel(i.chat_id);
    const name = titles.has(i.chat_id)
      ? h('a', { href: `/chats/${encodeURIComponent(i.chat_id)}`, class: 'clip', title: i.chat_id }, label)
      : h('code', { title: i.chat_id }, label);
    return [name, i.subchat_id ? h('span', { class: 'muted' }, ' (subagent)') : null, ' ',
      h('button', { type: 'button', class: 'link', 'aria-label': `Only the calls of chat ${label}`, onclick: () => { chatIn.value = i.chat_id; load(); } }, 'only this')];
  }
  const cols = ['Started', ...(admin ? ['User'] : []), 'Provider', 'Model', 'Source', 'Status', 'Tokens in / out', 'Cost', 'Chat'];
  const row = (i) => h('tr', { 'data-id': i.id },
    h('td', {}, time(i.started_at)), admin ? h('td', {}, names.get(i.user_id) || i.user_id) : null, h('td', {}, i.provider), h('td', {}, i.model),
    h('td', {}, i.source || ''), h('td', { class: 'status' + (i.status >= 400 ? ' error' : '') }, i.error
      ? h('details', { class: 'err' }, h('summary', { title: i.error }, h('span', { class: 'clip' }, `${i.status || ''} ${i.error}`)), h('p', { class: 'full' }, i.error))
      : String(i.status || '')),
    h('td', {}, `${num(i.usage && i.usage.input_tokens)} / ${num(i.usage && i.usage.output_tokens)}`), h('td', {}, usd(i.cost_usd)),
    h('td', { class: 'chat' }, chatCell(i)));

  const filters = () => ({
    user: user ? user.value : '', provider: prov.value, model: model.value.trim(),
    since: since.value ? since.value + 'T00:00:00Z' : '', until: until.value ? dayAfter(until.value) : '',
  });

  // load draws the charts and the first page of calls for the filters.
  let gen = 0;
  async function load() {
    const g = ++gen;
    const f = filters();
    const chat = chatIn.value.trim();
    try {
      const [{ usage: rows }, { interceptions }] = await Promise.all([
        api.get('/gateway/usage' + api.qs(f)),
        api.get('/gateway/interceptions' + api.qs({ ...f, chat, limit: PAGE })),
      ]);
      if (g !== gen) return;
      const who = (r) => r.username || names.get(r.user_id) || r.user_id;
      clear(charts, h('div', { class: 'charts' },
        admin ? barChart('Tokens per day by user', rows, who, tokens, num) : null,
        admin ? barChart('Cost per day by user', rows, who, (r) => r.cost_usd || 0, usd) : null,
        barChart('Tokens per day by model', rows, (r) => r.model, tokens, num),
        barChart('Cost per day by model', rows, (r) => r.model, (r) => r.cost_usd || 0, usd)));
      drawCalls(interceptions, f, chat);
    } catch (e) {
      if (g === gen) { clear(charts, notice(e, title)); clear(list); }
    }
  }

  function drawCalls(first, f, chat) {
    const head = [h('h2', {}, 'Gateway calls'), chat ? h('p', { class: 'muted' }, 'Only the calls of chat ', h('strong', {}, chatLabel(chat)),
      ' (the charts above cover every chat). ', h('button', { type: 'button', class: 'link', onclick: () => { chatIn.value = ''; load(); } }, 'Show every chat')) : null];
    if (!first.length) return clear(list, head, h('p', { class: 'muted' }, 'No calls match.'));
    const tbody = h('tbody', {}, first.map(row));
    const shown = h('p', { class: 'muted', role: 'status' });
    let oldest = first[first.length - 1].started_at;
    let count = first.length;
    const more = h('button', { type: 'button', onclick: async () => {
      more.disabled = true;
      try {
        const { interceptions } = await api.get('/gateway/interceptions' + api.qs({ ...f, chat, limit: PAGE, before: oldest }));
        const seen = new Set([...tbody.rows].map((r) => r.dataset.id));
        const fresh = interceptions.filter((i) => !seen.has(i.id));
        tbody.append(...fresh.map(row));
        count += fresh.length;
        if (interceptions.length) oldest = interceptions[interceptions.length - 1].started_at;
        more.hidden = interceptions.length < PAGE;
        shown.textContent = `${calls(count)} shown${more.hidden ? ', the oldest included' : ''}.`;
      } catch (e) {
        shown.textContent = e.message;
      } finally {
        more.disabled = false;
      }
    } }, 'Older calls');
    more.hidden = first.length < PAGE;
    shown.textContent = `${calls(count)} shown${more.hidden ? '' : ', newest first'}.`;
    clear(list, head, h('div', { class: 'scroll' }, h('table', { class: 'interceptions' },
      h('thead', {}, h('tr', {}, cols.map((t) => h('th', { scope: 'col' }, t)))), tbody)),
    h('div', { class: 'actions pager' }, shown, more));
  }

  main.append(h('form', { class: 'filters card', onsubmit: (e) => { e.preventDefault(); load(); } },
    user ? field('User', user) : null, field('Provider', prov), field('Model', model),
    field('Chat', chatIn, 'A chat id; yours are suggested by title.'), chatList,
    field('Since', since), field('Until', until),
    h('button', { type: 'submit', class: 'primary' }, 'Apply')), charts, list);
  await load();
}
