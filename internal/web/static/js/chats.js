// Chats: the list, a new chat, and the live conversation view.

import * as api from './api.js';
import { h, clear, field, time, usd, toast, go, notice, chatBadge, confirmAction } from './dom.js';
import { render } from './md.js';

const BUSY = new Set(['running', 'interrupting', 'requires_action']);

// AGENT_TOOLS are the tools whose results can change a chat's subagents
// (a new one, or one that finished).
const AGENT_TOOLS = new Set(['spawn_agent', 'wait_agent', 'message_agent', 'interrupt_agent']);

// While a subagent is busy, the list of subagents is refreshed after
// CHILD_POLL, then ever more rarely (up to CHILD_POLL_MAX) while nothing
// changes: a child's own status changes are not on the parent's stream.
const CHILD_POLL = 2000;
const CHILD_POLL_MAX = 30000;

// COST_WAIT gathers the cost refreshes of messages committed close together.
const COST_WAIT = 1000;

const sentence = (m) => (m ? m[0].toUpperCase() + m.slice(1) : m);

const plural = (n, one, many) => `${n} ${n === 1 ? one : many}`;

// costLine says what a chat cost, without an exact-looking figure when
// some calls could not be counted.
export function costLine(c) {
  const kids = c.children && c.children.length ? ` (this chat ${usd(c.own_cost_usd)})` : '';
  const notes = [];
  if (c.unmetered_messages) notes.push(`${plural(c.unmetered_messages, 'message', 'messages')} unmetered (interrupted before the provider reported usage)`);
  if (c.unpriced_messages) notes.push(`${plural(c.unpriced_messages, 'message', 'messages')} of unpriced models`);
  if (!notes.length) return `Cost: ${usd(c.cost_usd)}${kids}`;
  const total = c.cost_usd === null || c.cost_usd === undefined ? 'unknown' : `at least ${usd(c.cost_usd)}`;
  return `Cost: ${total}${kids}; not counted: ${notes.join(', ')}`;
}

export async function chatList({ main }) {
  const search = h('input', { type: 'search', name: 'q', placeholder: 'Filter by title' });
  const archived = h('input', { type: 'checkbox', name: 'archived' });
  const list = h('div', { class: 'chatlist' });
  let chats = [];
  let failed = null;
  const draw = () => {
    if (failed) return clear(list, notice(failed, 'Chats'));
    const q = search.value.trim().toLowerCase();
    const shown = chats.filter((c) => !q || (c.title || '').toLowerCase().includes(q));
    if (!shown.length) return clear(list, h('p', { class: 'muted' }, chats.length ? 'No chat matches.' : archived.checked ? 'No archived chats.' : 'No chats yet. Start one!'));
    clear(list, h('ul', { class: 'rows' }, shown.map((c) => h('li', {},
      h('a', { href: `/chats/${encodeURIComponent(c.id)}`, class: 'title' }, c.title || 'Untitled chat'),
      ' ', chatBadge(c.status), c.archived ? h('span', { class: 'badge' }, 'archived') : null,
      h('span', { class: 'muted when' }, 'last activity ', time(c.updated_at))))));
  };
  const load = async () => {
    try {
      failed = null;
      chats = (await api.get('/chats' + api.qs({ archived: archived.checked ? 'true' : 'false', limit: 500 }))).chats;
    } catch (e) { failed = e; }
    draw();
  };
  search.addEventListener('input', draw);
  archived.addEventListener('change', load);
  clear(main,
    h('div', { class: 'pagehead' }, h('h1', {}, 'Chats'), h('a', { href: '/chats/new', class: 'button primary' }, 'New chat')),
    h('div', { class: 'filters' }, field('Search by title', search),
      h('div', { class: 'field check' }, archived, h('label', { for: archived.id = 'show-archived' }, 'Show archived'))),
    list);
  await load();
}

// modelSelect is a select of the enabled models, the default selected.
async function modelSelect(name) {
  const sel = h('select', { name });
  try {
    const { models } = await api.get('/models');
    for (const m of models) {
      sel.append(h('option', { value: m.id, selected: m.default }, `${modelName(m)}${m.default ? ' — default' : ''}`));
    }
  } catch (e) {
    sel.append(h('option', { value: '' }, 'models unavailable'));
  }
  return sel;
}

export const modelName = (m) => `${m.display_name || m.model} (${m.provider})`;

// modelPicker is a select of the listed enabled models for a setting whose
// value is current, emptyLabel naming what the empty choice means. A
// current model that is not listed (disabled since it was picked, or gone)
// is still shown and selected, so a form saved without touching it keeps
// it instead of silently clearing it.
export async function modelPicker(name, models, current, emptyLabel) {
  const sel = h('select', { name }, h('option', { value: '' }, emptyLabel),
    models.filter((m) => m.enabled !== false).map((m) => h('option', { value: m.id }, modelName(m))));
  if (current && ![...sel.options].some((o) => o.value === current)) {
    let label;
    const known = models.find((m) => m.id === current);
    try {
      const m = known || await api.get(`/models/${encodeURIComponent(current)}`);
      label = `${modelName(m)} (${m.enabled ? 'not available' : 'disabled'})`;
    } catch {
      // Members cannot read a disabled model.
      label = `Model …${current.slice(-8)} (disabled or deleted)`;
    }
    sel.append(h('option', { value: current }, label));
  }
  sel.value = current || '';
  return sel;
}

// pick selects id in a model picker, adding it when the picker lacks it
// (changed meanwhile elsewhere), so the form never shows a value other
// than the saved one.
export function pick(sel, id) {
  if (id && ![...sel.options].some((o) => o.value === id)) sel.append(h('option', { value: id }, `Model …${id.slice(-8)}`));
  sel.value = id || '';
}

export async function newChat({ main }) {
  const model = await modelSelect('model');
  const title = h('input', { name: 'title', maxlength: 200, placeholder: 'Generated from the first message if empty' });
  const msg = h('textarea', { name: 'message', rows: 5, required: true });
  const err = h('p', { class: 'error', role: 'alert' });
  const form = h('form', { class: 'card', onsubmit: async (e) => {
    e.preventDefault();
    err.textContent = '';
    const body = { message: msg.value };
    if (model.value) body.model = model.value;
    if (title.value.trim()) body.title = title.value.trim();
    try {
      const r = await api.post('/chats', body);
      go(`/chats/${encodeURIComponent(r.chat.id)}`);
    } catch (e2) {
      err.replaceWith(notice(e2, 'Chats'));
    }
  } },
  field('Model', model), field('Title (optional)', title), field('Message', msg),
  h('button', { type: 'submit', class: 'primary' }, 'Start chat'), err);
  enterSends(msg, form);
  clear(main, h('h1', {}, 'New chat'), form);
  msg.focus();
}

// enterSends submits a textarea's form on Enter; Shift+Enter is a newline.
function enterSends(ta, form) {
  ta.addEventListener('keydown', (e) => {
    if (e.key === 'Enter' && !e.shiftKey && !e.isComposing) {
      e.preventDefault();
      form.requestSubmit();
    }
  });
}

function json(v) {
  if (v === undefined || v === null || v === '') return '';
  if (typeof v === 'string') {
    try { return JSON.stringify(JSON.parse(v), null, 2); } catch { return v; }
  }
  return JSON.stringify(v, null, 2);
}

// partNode renders one part of a message.
function partNode(p, names) {
  switch (p.type) {
    case 'text': return h('div', { class: 'md' }, render(p.text));
    case 'reasoning': return h('details', { class: 'reasoning' }, h('summary', {}, 'Reasoning'), h('div', { class: 'md' }, render(p.text)));
    case 'tool_call':
      if (p.tool_call_id) names.set(p.tool_call_id, p.tool_name);
      return h('details', { class: 'tool' }, h('summary', {}, 'Tool call ', h('code', {}, p.tool_name || '?'), p.client_side ? ' (client)' : ''),
        h('pre', {}, json(p.input)));
    case 'tool_result':
      return h('details', { class: 'tool' + (p.is_error ? ' failed' : '') },
        h('summary', {}, p.is_error ? 'Tool error ' : 'Tool result ', h('code', {}, p.tool_name || names.get(p.tool_call_id) || '?')),
        h('pre', {}, json(p.output ?? p.text)));
    default: return h('pre', {}, json(p));
  }
}

export async function conversation(ctx) {
  const { main, params } = ctx;
  const id = params[0];
  const path = `/chats/${encodeURIComponent(id)}`;
  let chat;
  let queue = [];
  try {
    ({ chat, queue } = await api.get(path));
  } catch (e) {
    if (e.status === 404) return clear(main, h('h1', {}, 'Chat not found'), h('p', {}, h('a', { href: '/chats' }, 'Back to your chats')));
    return clear(main, h('h1', {}, 'Chat'), notice(e, 'Chats'));
  }
  // POST answers can arrive after a newer live update: accept a chat only
  // if it is not older than the one shown, and a queue from an answer only
  // if its chat is newer than what the stream last said.
  const ver = (c) => (c && c.snapshot_version) || 0;
  let streamVer = ver(chat);
  function takeChat(c) {
    if (!c || ver(c) < ver(chat)) return false;
    chat = c;
    drawHead();
    return true;
  }
  function takeAnswer(r) {
    if (!r) return;
    const fresh = r.chat && ver(r.chat) > streamVer;
    takeChat(r.chat);
    if (fresh && Array.isArray(r.queue)) { queue = r.queue; drawQueue(); }
  }
  const messages = new Map(); // seq -> message
  const names = new Map(); // tool_call_id -> tool name
  let live = { blocks: new Map(), tools: new Map(), note: '' };
  const seen = new Set();
  let lastID = '';
  let es = null;
  let closed = false;
  let retryTimer = null;
  let backoff = 500;

  const title = h('h1', { class: 'chat-title' });
  const status = h('span', { class: 'status' });
  const conn = h('span', { class: 'conn muted', role: 'status' });
  const costEl = h('span', { class: 'cost muted' });
  const banner = h('div', { class: 'banner' });
  const family = h('div', { class: 'family' });
  const list = h('ol', { class: 'messages', role: 'log', 'aria-label': 'Messages' });
  const liveEl = h('div', { class: 'live', 'aria-live': 'off' });
  const queueEl = h('section', { class: 'queue', 'aria-label': 'Queued messages' });
  const interrupt = h('button', { type: 'button', onclick: async () => {
    try { takeAnswer(await api.post(path + '/interrupt')); } catch (e) { toast(e.message, 'error'); }
  } }, 'Interrupt');
  const archive = h('button', { type: 'button', onclick: async () => {
    try { const r = await api.patch(path, { archived: !chat.archived }); takeChat(r.chat); toast(r.chat.archived ? 'Chat archived.' : 'Chat restored.'); } catch (e) { toast(e.message, 'error'); }
  } });
  const compact = h('button', { type: 'button', onclick: async () => {
    try {
      takeAnswer(await api.post(path + '/compact'));
      toast('Compacting: a summary of the earlier messages will appear in the chat.');
    } catch (e) { toast(sentence(e.message), 'error'); }
  } }, 'Compact');
  const remove = h('button', { type: 'button', class: 'danger', onclick: async () => {
    if (!(await confirmAction(`Delete the chat "${chat.title || 'Untitled chat'}"? Its messages are deleted for good.`, 'Delete chat'))) return;
    try {
      await api.del(path);
      toast('Chat deleted.');
      go('/chats');
    } catch (e) { toast(sentence(e.message), 'error'); }
  } }, 'Delete');
  const rename = h('button', { type: 'button', class: 'link', onclick: async () => {
    const input = h('input', { name: 'title', value: chat.title || '', maxlength: 200 });
    const f = h('form', { class: 'inline', onsubmit: async (e) => {
      e.preventDefault();
      try { takeChat((await api.patch(path, { title: input.value })).chat); } catch (e2) { toast(e2.message, 'error'); }
      f.replaceWith(title); drawHead();
    } }, field('Title', input), h('button', { type: 'submit' }, 'Save'), h('button', { type: 'button', onclick: () => { f.replaceWith(title); } }, 'Cancel'));
    title.replaceWith(f);
    input.focus();
  } }, 'Rename');

  const msg = h('textarea', { name: 'message', rows: 3, placeholder: 'Message (Enter to send, Shift+Enter for a new line)' });
  const sendErr = h('p', { class: 'error', role: 'alert' });
  const send = async (mode) => {
    const text = msg.value;
    if (!text.trim()) return;
    sendErr.textContent = '';
    try {
      const r = await api.post(path + '/messages', { message: text, mode });
      msg.value = '';
      takeAnswer(r);
      if (r.queued) toast('Queued: it runs when the current turn ends.');
    } catch (e) {
      sendErr.textContent = e.message;
    }
  };
  const sendNow = h('button', { type: 'button', onclick: () => send('interrupt') }, 'Send now (interrupt)');
  const composer = h('form', { class: 'composer', onsubmit: (e) => { e.preventDefault(); send('queue'); } },
    field('Message', msg), h('div', { class: 'actions' }, h('button', { type: 'submit', class: 'primary' }, 'Send'), sendNow, interrupt,
      h('span', { class: 'state' }, status, ' ', conn)), sendErr);
  enterSends(msg, composer);

  clear(main,
    h('div', { class: 'pagehead' }, title, h('div', { class: 'actions' }, rename, archive, compact,
      h('a', { class: 'button', href: path + '/debug' }, 'Debug'), remove)),
    h('p', { class: 'meta' }, costEl),
    family, banner, list, liveEl, queueEl, composer);

  function drawHead() {
    title.textContent = chat.title || 'Untitled chat';
    document.title = title.textContent + ' · chatd';
    clear(status, chatBadge(chat.status), chat.archived ? h('span', { class: 'badge' }, 'archived') : null);
    const busy = BUSY.has(chat.status);
    interrupt.hidden = !busy;
    sendNow.hidden = !busy;
    archive.textContent = chat.archived ? 'Unarchive' : 'Archive';
    const b = [];
    if (chat.retry) {
      b.push(h('p', { class: 'notice retry', role: 'status' }, `Retrying (attempt ${chat.retry.attempt})`,
        chat.retry.next_at ? [' at ', time(chat.retry.next_at)] : '', chat.retry.error ? `: ${chat.retry.error}` : ''));
    }
    if (chat.status === 'error' && chat.last_error) b.push(h('p', { class: 'error', role: 'alert' }, 'The turn failed: ', chat.last_error));
    if (chat.status === 'requires_action') b.push(h('p', { class: 'notice' }, 'Waiting for a client to run a tool', chat.action_deadline ? [' (until ', time(chat.action_deadline), ')'] : '', '.'));
    clear(banner, b);
  }

  function drawQueue() {
    if (!queue.length) return clear(queueEl);
    clear(queueEl, h('h2', {}, `Queued (${queue.length})`), h('ol', { class: 'rows' }, queue.map((q) => h('li', { class: 'queued' },
      h('div', { class: 'md' }, render(q.parts.filter((p) => p.type === 'text').map((p) => p.text).join('\n'))),
      h('div', { class: 'actions' },
        h('button', { type: 'button', onclick: () => qop('POST', `/queue/${encodeURIComponent(q.id)}/promote`) }, 'Move to front'),
        h('button', { type: 'button', class: 'danger', onclick: async () => {
          if (await confirmAction('Delete this queued message? It will not be sent.', 'Delete')) qop('DELETE', `/queue/${encodeURIComponent(q.id)}`);
        } }, 'Delete'))))));
  }
  async function qop(method, sub) {
    try { takeAnswer(await api.call(method, path + sub, method === 'POST' ? {} : undefined)); } catch (e) { toast(e.message, 'error'); }
  }

  function messageNode(m) {
    const kids = m.parts.map((p) => partNode(p, names));
    // An answer an interrupt cut short says so in words, after its text.
    if (m.end_reason === 'interrupted') {
      kids.push(h('p', { class: 'ended' }, h('span', { class: 'badge', title: 'The turn was interrupted; this is the answer as far as it got.' }, 'Interrupted')));
    }
    const li = h('li', { class: 'msg ' + m.role, 'data-seq': m.seq, 'data-id': m.id },
      h('div', { class: 'who' }, m.role === 'user' ? 'You' : m.role === 'assistant' ? 'Assistant' : m.role === 'tool' ? 'Tools' : 'Summary',
        ' ', time(m.created_at)), kids);
    if (m.role === 'summary') return h('li', { class: 'msg summary', 'data-seq': m.seq }, h('details', {}, h('summary', {}, 'Earlier messages were summarised'), kids));
    if (m.role === 'user') {
      li.append(h('div', { class: 'actions' }, h('button', { type: 'button', class: 'link', onclick: () => edit(m, li) }, 'Edit')));
    }
    return li;
  }

  function edit(m, li) {
    const ta = h('textarea', { name: 'edit', rows: 3, value: m.parts.filter((p) => p.type === 'text').map((p) => p.text).join('\n') });
    const err = h('p', { class: 'error', role: 'alert' });
    const f = h('form', { class: 'edit', 'data-seq': m.seq, onsubmit: async (e) => {
      e.preventDefault();
      try {
        const r = await api.put(`${path}/messages/${encodeURIComponent(m.id)}`, { message: ta.value });
        takeChat(r.chat);
        // The edit deleted this message and every later one; the new
        // one has a new seq. The stream says so too (truncate), but may
        // already have sent the new message: keep it.
        truncate(m.seq, r.message ? r.message.seq : m.seq + 1);
        f.remove();
      } catch (e2) {
        err.textContent = e2.status === 409 ? `${e2.message} (interrupt the running turn first)` : e2.message;
      }
    } }, field('Edit message', ta), h('div', { class: 'actions' },
      h('button', { type: 'submit', class: 'primary' }, 'Save and rerun'),
      h('button', { type: 'button', onclick: () => f.replaceWith(messageNode(m)) }, 'Cancel')), err);
    li.replaceWith(f);
    ta.focus();
  }

  // truncate drops the messages with from <= seq < to: an edit deleted
  // them. Seqs are never reused; the edited message comes back with a new
  // one.
  function truncate(from, to = Infinity) {
    for (const s of [...messages.keys()]) if (s >= from && s < to) messages.delete(s);
    for (const el of [...list.children]) {
      const s = Number(el.dataset.seq);
      if (s >= from && s < to) el.remove();
    }
  }

  function putMessage(m) {
    messages.set(m.seq, m);
    const node = messageNode(m);
    const old = list.querySelector(`[data-seq="${m.seq}"]`);
    if (old) return old.replaceWith(node);
    const after = [...list.children].find((el) => Number(el.dataset.seq) > m.seq);
    list.insertBefore(node, after || null);
  }

  let liveQueued = false;
  function drawLive() {
    if (liveQueued) return;
    liveQueued = true;
    requestAnimationFrame(() => {
      liveQueued = false;
      const kids = [];
      for (const b of live.blocks.values()) kids.push(partNode({ type: b.kind, text: b.text }, names));
      for (const [tid, t] of live.tools) {
        kids.push(partNode({ type: 'tool_call', tool_call_id: tid, tool_name: t.name, input: t.input }, names));
        if (t.output !== undefined) kids.push(partNode({ type: 'tool_result', tool_call_id: tid, tool_name: t.name, output: t.output, is_error: t.is_error }, names));
      }
      if (live.note) kids.unshift(h('p', { class: 'notice' }, live.note));
      clear(liveEl, kids.length ? h('div', { class: 'msg assistant streaming' }, h('div', { class: 'who' }, 'Assistant (writing…)'), kids) : null);
      stick();
    });
  }

  function part(p) {
    const blk = p.block ?? '';
    switch (p.kind) {
      case 'text_delta':
      case 'reasoning_delta': {
        const key = p.kind + ':' + blk;
        const b = live.blocks.get(key) || { kind: p.kind === 'text_delta' ? 'text' : 'reasoning', text: '' };
        b.text += p.delta || '';
        live.blocks.set(key, b);
        break;
      }
      case 'tool_call_start':
      case 'tool_call_delta':
      case 'tool_call':
      case 'tool_result': {
        const tid = p.tool_call_id || blk;
        const t = live.tools.get(tid) || { name: p.tool_name, input: '' };
        if (p.tool_name) t.name = p.tool_name;
        if (p.kind === 'tool_call_delta') t.input += p.delta || '';
        if (p.kind === 'tool_call' && p.input !== undefined) t.input = p.input;
        if (p.kind === 'tool_result') {
          t.output = p.output ?? '';
          t.is_error = p.is_error;
          if (AGENT_TOOLS.has(t.name)) refreshFamily();
        }
        live.tools.set(tid, t);
        break;
      }
      case 'restart':
        // attempt 0: a worker starts the step, which a crashed one may
        // have begun; only a retry is worth a note.
        live = { blocks: new Map(), tools: new Map(), note: p.attempt ? `Retrying this step (attempt ${p.attempt})…` : '' };
        break;
    }
    drawLive();
  }

  // stick keeps the view at the bottom while the reader is there.
  let atBottom = true;
  const onScroll = () => { atBottom = window.innerHeight + window.scrollY >= document.body.scrollHeight - 80; };
  window.addEventListener('scroll', onScroll, { passive: true });
  function stick() { if (atBottom) window.scrollTo(0, document.body.scrollHeight); }

  let lastStatus = chat.status;
  function onEvent(e) {
    // An event without an id (truncate) reports the id of the one before
    // it (EventSource keeps the last id): it is not a repeat of that one.
    if (e.lastEventId && e.type !== 'truncate') {
      if (seen.has(e.lastEventId)) return;
      seen.add(e.lastEventId);
      lastID = e.lastEventId;
    }
    let d;
    try { d = JSON.parse(e.data); } catch { return; }
    switch (e.type) {
      case 'chat':
        if (!takeChat(d.chat)) break;
        streamVer = Math.max(streamVer, ver(d.chat));
        if (chat.status !== lastStatus) { lastStatus = chat.status; refreshCost(); refreshFamily(); }
        if (!BUSY.has(chat.status)) { live = { blocks: new Map(), tools: new Map(), note: '' }; drawLive(); }
        break;
      case 'message':
        putMessage(d.message);
        if (touchesAgents(d.message)) refreshFamily();
        // A committed step has a cost: show it without waiting for the
        // end of a long turn (at most one request per COST_WAIT).
        if (d.message.role !== 'user') soonCost();
        if (d.message.role !== 'user') { live = { blocks: new Map(), tools: new Map(), note: '' }; drawLive(); }
        stick();
        break;
      case 'queue':
        queue = d.queue || [];
        drawQueue();
        break;
      case 'part':
        part(d.part);
        break;
      case 'truncate':
        if (d.truncate) truncate(d.truncate.from_seq);
        break;
    }
  }

  // touchesAgents says whether a committed message holds a subagent
  // tool's result: a child was spawned, or one finished.
  function touchesAgents(m) {
    return m.parts.some((p) => p.type === 'tool_result' && AGENT_TOOLS.has(p.tool_name || names.get(p.tool_call_id)));
  }

  function connect() {
    if (closed) return;
    const url = `${api.base}${path}/stream` + (lastID ? '?last_event_id=' + encodeURIComponent(lastID) : '');
    es = new EventSource(url);
    for (const t of ['chat', 'message', 'queue', 'part', 'truncate']) es.addEventListener(t, onEvent);
    es.onopen = () => { backoff = 500; conn.textContent = 'live'; conn.className = 'conn ok'; };
    es.onerror = () => {
      conn.textContent = 'reconnecting…';
      conn.className = 'conn warn';
      // EventSource retries by itself (sending Last-Event-ID) unless the
      // server refused the stream; then reconnect by hand.
      if (es.readyState === EventSource.CLOSED) {
        es.close();
        clearTimeout(retryTimer);
        retryTimer = setTimeout(connect, backoff);
        backoff = Math.min(backoff * 2, 15000);
      }
    };
  }
  // A network drop the EventSource did not notice (a laptop waking up):
  // reconnect from the last event when the browser is back online.
  const onOnline = () => { if (es) es.close(); clearTimeout(retryTimer); connect(); };
  window.addEventListener('online', onOnline);

  let costTimer = null;
  function soonCost() {
    if (!costTimer) costTimer = setTimeout(() => { costTimer = null; if (!closed) refreshCost(); }, COST_WAIT);
  }

  function refreshCost() {
    api.get(path + '/cost').then((c) => { costEl.textContent = costLine(c); },
      (e) => { costEl.textContent = e.missing ? 'Cost not available.' : ''; });
  }

  // refreshFamily redraws the links to the parent and the subagents. Calls
  // while one is in flight collapse into one more afterwards; while a
  // subagent is busy it runs again by itself, backing off.
  let familyBusy = false;
  let familyAgain = false;
  let familyTimer = null;
  let familySeen = '';
  let familyDelay = CHILD_POLL;
  async function refreshFamily() {
    if (familyBusy) { familyAgain = true; return; }
    familyBusy = true;
    clearTimeout(familyTimer);
    let busyKids = false;
    try {
      const kids = [];
      if (chat.parent_chat_id) kids.push(h('p', {}, 'Subagent of ', h('a', { href: `/chats/${encodeURIComponent(chat.parent_chat_id)}` }, 'the parent chat')));
      try {
        const { chats } = await api.get(path + '/children');
        busyKids = chats.some((c) => BUSY.has(c.status));
        const sig = JSON.stringify(chats.map((c) => [c.id, c.status, c.title]));
        const same = sig === familySeen;
        familyDelay = same ? Math.min(familyDelay * 2, CHILD_POLL_MAX) : CHILD_POLL;
        familySeen = sig;
        // Unchanged: leave the links (and any focus on them) alone.
        if (same && family.childElementCount) return;
        if (chats.length) {
          const closedBefore = family.querySelector('details.children:not([open])');
          const d = h('details', { class: 'children', open: !closedBefore }, h('summary', {}, `Subagents (${chats.length})`),
            h('ul', {}, chats.map((c) => h('li', { 'data-chat': c.id }, h('a', { href: `/chats/${encodeURIComponent(c.id)}` }, c.title || 'Untitled subagent'), ' ', chatBadge(c.status)))));
          kids.push(d);
        }
      } catch { /* no subagents here */ }
      if (!closed) clear(family, kids);
    } finally {
      familyBusy = false;
      if (!closed) {
        if (familyAgain) { familyAgain = false; refreshFamily(); } else if (busyKids) familyTimer = setTimeout(refreshFamily, familyDelay);
      }
    }
  }

  drawHead();
  drawQueue();
  refreshCost();
  refreshFamily();
  connect();
  ctx.onLeave(() => {
    closed = true;
    if (es) es.close();
    clearTimeout(retryTimer);
    clearTimeout(familyTimer);
    clearTimeout(costTimer);
    window.removeEventListener('online', onOnline);
    window.removeEventListener('scroll', onScroll);
  });
}
