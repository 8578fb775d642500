// Settings every user has: API keys, own provider keys (BYOK), debug
// recording and model overrides.

import * as api from './api.js';
import { h, clear, field, time, toast, notice, select, confirmAction, table } from './dom.js';
import { modelPicker, pick } from './chats.js';

export async function settings({ main }) {
  const keys = h('section', { 'aria-labelledby': 'keys-h' });
  const pkeys = h('section', { 'aria-labelledby': 'pkeys-h' });
  const prefs = h('section', { 'aria-labelledby': 'prefs-h' });
  clear(main, h('h1', {}, 'Settings'), keys, pkeys, prefs);
  await Promise.all([apiKeys(keys), providerKeys(pkeys), userSettings(prefs)]);
}

async function apiKeys(sec) {
  const body = h('div');
  const shown = h('div', { 'aria-live': 'polite' });
  const name = h('input', { name: 'name', required: true, maxlength: 100, placeholder: 'e.g. laptop-cli' });
  const err = h('p', { class: 'error', role: 'alert' });
  const load = async () => {
    try {
      const { api_keys: ks } = await api.get('/keys');
      const live = ks.filter((k) => !k.revoked_at);
      clear(body, live.length ? table('Your API keys', ['Name', 'Kind', 'Created', 'Last used', 'Expires', ''], live.map((k) => [{ 'data-key': k.id }, [
        k.name, k.kind, time(k.created_at), time(k.last_used_at), k.expires_at ? time(k.expires_at) : 'never',
        h('button', { type: 'button', class: 'danger', 'aria-label': `Revoke ${k.name}`, onclick: async () => {
          if (!(await confirmAction(`Revoke API key ${k.name}? Anything using it stops working at once.`, 'Revoke'))) return;
          try { await api.del(`/keys/${encodeURIComponent(k.id)}`); toast(`Key ${k.name} revoked.`); load(); } catch (e) { toast(e.message, 'error'); }
        } }, 'Revoke')]])) : h('p', { class: 'muted' }, 'No API keys.'));
    } catch (e) { clear(body, notice(e, 'API keys')); }
  };
  const form = h('form', { class: 'inline', onsubmit: async (e) => {
    e.preventDefault();
    err.textContent = '';
    try {
      const r = await api.post('/keys', { name: name.value.trim() });
      name.value = '';
      const out = h('input', { readonly: true, value: r.key, class: 'secret', name: 'new-key' });
      clear(shown, h('div', { class: 'card reveal', role: 'status' },
        h('p', {}, h('strong', {}, 'Copy your new key now: '), 'it will not be shown again.'),
        field('New API key', out),
        h('button', { type: 'button', onclick: async () => {
          try { await navigator.clipboard.writeText(r.key); toast('Copied.'); } catch { out.select(); }
        } }, 'Copy'),
        h('button', { type: 'button', onclick: () => clear(shown) }, 'Done')));
      out.select();
      load();
    } catch (e2) { err.textContent = e2.message; }
  } }, field('Key name', name), h('button', { type: 'submit', class: 'primary' }, 'Create key'), err);
  clear(sec, h('h2', { id: 'keys-h' }, 'API keys'),
    h('p', { class: 'muted' }, 'Keys for the CLI, SDKs and the AI gateway. Browser sign-ins appear as session keys.'),
    form, shown, body);
  await load();
}

async function providerKeys(sec) {
  const body = h('div');
  const err = h('p', { class: 'error', role: 'alert' });
  let providers = [];
  try {
    const { models } = await api.get('/models');
    providers = [...new Set(models.map((m) => m.provider))].sort();
  } catch { /* the list below still works */ }
  const prov = h('select', { name: 'provider' });
  const key = h('input', { name: 'api_key', type: 'password', autocomplete: 'off', required: true });
  const load = async () => {
    try {
      const { provider_keys: pk } = await api.get('/provider-keys');
      const names = [...new Set([...providers, ...pk.map((k) => k.provider)])].sort();
      const was = prov.value;
      clear(prov, names.map((n) => h('option', { value: n, selected: n === was }, n)));
      // The key itself is never shown again, not even in part.
      clear(body, pk.length ? h('ul', { class: 'rows' }, pk.map((k) => h('li', { 'data-provider': k.provider },
        h('strong', {}, k.provider), ': your key is set (updated ', time(k.updated_at), ') ',
        h('button', { type: 'button', class: 'danger', 'aria-label': `Remove key for ${k.provider}`, onclick: async () => {
          if (!(await confirmAction(`Remove your key for ${k.provider}? Your calls to it then use the organisation's key, if it has one.`, 'Remove'))) return;
          try { await api.del(`/provider-keys/${encodeURIComponent(k.provider)}`); toast('Key removed.'); load(); } catch (e) { toast(e.message, 'error'); }
        } }, 'Remove')))) : h('p', { class: 'muted' }, 'You use the organisation\'s keys for every provider.'));
    } catch (e) { clear(body, notice(e, 'Provider keys')); }
  };
  const form = h('form', { class: 'inline', onsubmit: async (e) => {
    e.preventDefault();
    err.textContent = '';
    try {
      await api.put(`/provider-keys/${encodeURIComponent(prov.value)}`, { api_key: key.value });
      key.value = '';
      toast('Key saved.');
      load();
    } catch (e2) { err.textContent = e2.status === 403 ? 'This deployment does not allow your own provider keys.' : e2.message; }
  } }, field('Provider', prov), field('Your API key', key), h('button', { type: 'submit', class: 'primary' }, 'Set key'), err);
  clear(sec, h('h2', { id: 'pkeys-h' }, 'Your provider keys'),
    h('p', { class: 'muted' }, 'Bring your own key: calls to that provider then use it instead of the organisation\'s. Setting a key again replaces it.'),
    form, body);
  await load();
}

// ROLES are the model overrides a user or the deployment can set.
export const ROLES = [['subagent', 'Subagent model'], ['advisor', 'Advisor model'], ['compaction', 'Compaction model'], ['title', 'Title model']];

async function userSettings(sec) {
  clear(sec, h('h2', { id: 'prefs-h' }, 'Debug recording and models'));
  let cur;
  try {
    cur = await api.get('/settings/me');
  } catch (e) {
    sec.append(notice(e, 'Personal settings'));
    return;
  }
  let list = [];
  try { list = (await api.get('/models')).models; } catch { /* only the current choices */ }
  const inherit = 'Inherit the deployment\'s';
  const dbg = select('debug_recording', [['', inherit], ['true', 'On'], ['false', 'Off']], '');
  const models = {};
  for (const [k] of ROLES) models[k] = await modelPicker(k, list, cur.models && cur.models[k], inherit);
  const thr = h('input', { name: 'compaction_threshold_percent', type: 'number', min: 1, max: 100 });
  // shown fills the form from settings s and remembers them, so that only
  // what the person changed is sent.
  const shown = (s) => {
    cur = s;
    dbg.value = s.debug_recording === null || s.debug_recording === undefined ? '' : String(s.debug_recording);
    for (const [k] of ROLES) pick(models[k], s.models && s.models[k]);
    thr.value = s.compaction_threshold_percent ?? '';
  };
  shown(cur);
  const err = h('p', { class: 'error', role: 'alert' });
  sec.append(h('form', { class: 'card', onsubmit: async (e) => {
    e.preventDefault();
    err.textContent = '';
    const body = {};
    const was = cur.debug_recording === null || cur.debug_recording === undefined ? '' : String(cur.debug_recording);
    if (dbg.value !== was) body.debug_recording = dbg.value === '' ? null : dbg.value === 'true';
    for (const [k] of ROLES) {
      if (models[k].value !== ((cur.models && cur.models[k]) || '')) (body.models ||= {})[k] = models[k].value || null;
    }
    if (thr.value !== String(cur.compaction_threshold_percent ?? '')) body.compaction_threshold_percent = thr.value === '' ? null : Number(thr.value);
    if (!Object.keys(body).length) { toast('Nothing changed.'); return; }
    try { shown(await api.patch('/settings/me', body)); toast('Settings saved.'); } catch (e2) { err.textContent = e2.message; }
  } }, field('Debug recording', dbg, 'Records every model call of your chats for troubleshooting.'),
  ROLES.map(([k, label]) => field(label, models[k])),
  field('Compaction threshold (% of the context)', thr, 'Empty: inherit.'),
  h('button', { type: 'submit', class: 'primary' }, 'Save settings'), err));
}
