// The debug viewer: a chat's recorded runs, their steps and HTTP attempts.

import * as api from './api.js';
import { h, clear, field, time, toast, notice, select, badge, table } from './dom.js';

function pretty(v) {
  if (v === undefined || v === null || v === '') return '(empty)';
  if (typeof v === 'string') {
    try { return JSON.stringify(JSON.parse(v), null, 2); } catch { return v; }
  }
  return JSON.stringify(v, null, 2);
}

function headers(hs) {
  if (!hs || !Object.keys(hs).length) return h('p', { class: 'muted' }, 'no headers');
  return h('pre', {}, Object.entries(hs).map(([k, vs]) => `${k}: ${[].concat(vs).join(', ')}`).join('\n'));
}

export async function debugViewer({ main, params }) {
  const id = params[0];
  const path = `/chats/${encodeURIComponent(id)}`;
  let chat;
  try {
    ({ chat } = await api.get(path));
  } catch (e) {
    return clear(main, h('h1', {}, 'Debug'), e.status === 404 ? h('p', {}, 'Chat not found.') : notice(e, 'Chats'));
  }
  const runsEl = h('section', { 'aria-label': 'Runs' });
  const detail = h('section', { 'aria-label': 'Run detail', 'aria-live': 'polite' });
  const override = select('debug', [['', 'Inherit my setting'], ['true', 'On for this chat'], ['false', 'Off for this chat']],
    chat.debug === true ? 'true' : chat.debug === false ? 'false' : '');
  override.addEventListener('change', async () => {
    try {
      await api.patch(path, { debug: override.value === '' ? null : override.value === 'true' });
      toast('Debug recording updated.');
    } catch (e) { toast(e.missing ? 'Per-chat debug recording is not available on this server.' : e.message, 'error'); }
  });
  clear(main, h('h1', {}, 'Debug: ', chat.title || 'Untitled chat'),
    h('p', {}, h('a', { href: path }, '← Back to the chat')),
    h('div', { class: 'filters' }, field('Debug recording', override)), runsEl, detail);
  let runs;
  try {
    ({ runs } = await api.get(path + '/debug/runs' + api.qs({ limit: 200 })));
  } catch (e) {
    return clear(runsEl, notice(e, 'Debug recording'));
  }
  if (!runs.length) return clear(runsEl, h('p', { class: 'muted' }, 'No runs recorded. Switch debug recording on and send a message.'));
  clear(runsEl, h('h2', {}, 'Runs'), table('Recorded runs', ['Started', 'Kind', 'Model', 'Status', 'Summary', ''], runs.map((r) => [{ 'data-run': r.id }, [
    time(r.started_at), r.kind, [r.provider, r.model].filter(Boolean).join(' / ') || '—', badge(r.status), r.summary || '',
    h('button', { type: 'button', 'aria-label': `Open the ${r.kind.replaceAll('_', ' ')} run of ${new Date(r.started_at).toLocaleString()}`, onclick: () => showRun(r.id) }, 'Open')]])));

  async function showRun(rid) {
    clear(detail, h('p', { class: 'muted' }, 'Loading…'));
    try {
      const { run, steps } = await api.get(`${path}/debug/runs/${encodeURIComponent(rid)}`);
      clear(detail, h('h2', { tabindex: -1 }, `Run: ${run.kind}, ${run.status}`), run.summary ? h('p', {}, run.summary) : null,
        steps.map((st) => h('article', { class: 'card step' },
          h('h3', {}, `Step ${st.number}: ${st.operation} `, badge(st.status || 'unknown')),
          st.error ? h('p', { class: 'error' }, st.error) : null,
          h('details', {}, h('summary', {}, 'Request'), h('pre', {}, pretty(st.request))),
          h('details', {}, h('summary', {}, 'Response'), h('pre', {}, pretty(st.response))),
          (st.attempts || []).map((a) => h('details', { class: 'attempt' },
            h('summary', {}, `Attempt ${a.number}: ${a.method} ${a.url} → ${a.status || 'no answer'} (${a.duration_ms ?? '?'} ms, first byte ${a.ttfb_ms ?? '?'} ms)`),
            a.error ? h('p', { class: 'error' }, a.error) : null,
            h('h4', {}, 'Request headers'), headers(a.request_headers),
            h('h4', {}, 'Request body'), h('pre', {}, pretty(a.request_body)),
            h('h4', {}, 'Response headers'), headers(a.response_headers),
            h('h4', {}, 'Response body'), h('pre', {}, pretty(a.response_body)))))));
      detail.querySelector('h2').focus();
    } catch (e) { clear(detail, notice(e, 'Debug recording')); }
  }
}
