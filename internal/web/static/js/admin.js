// Administration: users, providers, models, deployment settings (usage is
// in usage.js).

import * as api from './api.js';
import { h, clear, field, time, num, toast, notice, select, badge, confirmAction, table } from './dom.js';
import { modelPicker, pick } from './chats.js';
import { ROLES } from './settings.js';

// page loads what an admin page needs; a 403 shows "forbidden" instead.
async function page(main, title, load) {
  clear(main, h('h1', {}, title));
  try {
    return await load();
  } catch (e) {
    main.append(notice(e, title));
    return null;
  }
}

function errLine() { return h('p', { class: 'error', role: 'alert' }); }

async function act(f, ok, after) {
  try { await f(); if (ok) toast(ok); if (after) await after(); } catch (e) { toast(e.message, 'error'); }
}

// actAfterConfirm is act for destructive actions: it runs only once the
// user confirms question by pressing the button labelled action.
async function actAfterConfirm(question, action, f, ok, after) {
  if (await confirmAction(question, action)) await act(f, ok, after);
}

export async function adminUsers({ main }) {
  const body = h('div');
  const load = async () => {
    const { users } = await api.get('/users');
    clear(body, table('Users', ['Username', 'Role', 'State', 'Created', 'Actions'], users.map((u) => {
        const pw = h('input', { type: 'password', name: 'password', autocomplete: 'new-password', minlength: 8, required: true });
        return [{ 'data-user': u.username }, [
          u.username, u.role, u.suspended ? badge('suspended') : 'active', time(u.created_at),
          h('td', { class: 'actions' },
            u.suspended
              ? h('button', { type: 'button', 'aria-label': `Unsuspend ${u.username}`, onclick: () => act(() => api.patch(`/users/${u.id}`, { suspended: false }), 'User restored.', load) }, 'Unsuspend')
              : h('button', { type: 'button', class: 'danger', 'aria-label': `Suspend ${u.username}`, onclick: () => actAfterConfirm(`Suspend ${u.username}? Their API keys and sessions stop working until they are restored.`, 'Suspend', () => api.patch(`/users/${u.id}`, { suspended: true }), 'User suspended.', load) }, 'Suspend'),
            h('button', { type: 'button', 'aria-label': `${u.role === 'admin' ? 'Make member' : 'Make admin'}: ${u.username}`, onclick: () => act(() => api.patch(`/users/${u.id}`, { role: u.role === 'admin' ? 'member' : 'admin' }), 'Role changed.', load) }, u.role === 'admin' ? 'Make member' : 'Make admin'),
            h('form', { class: 'inline', onsubmit: (e) => { e.preventDefault(); act(() => api.patch(`/users/${u.id}`, { password: pw.value }), 'Password reset.', load); } },
              field(`New password for ${u.username}`, pw), h('button', { type: 'submit', 'aria-label': `Reset password of ${u.username}` }, 'Reset password')))]];
      })));
  };
  if ((await page(main, 'Users', load)) === null) return;
  const name = h('input', { name: 'username', required: true, pattern: '[a-z0-9][a-z0-9._\\-]{0,62}', autocapitalize: 'none' });
  const role = select('role', [['member', 'member'], ['admin', 'admin']], 'member');
  const pw = h('input', { name: 'password', type: 'password', autocomplete: 'new-password' });
  const err = errLine();
  main.append(h('form', { class: 'card inline', onsubmit: async (e) => {
    e.preventDefault();
    err.textContent = '';
    const b = { username: name.value.trim(), role: role.value };
    if (pw.value) b.password = pw.value;
    try { await api.post('/users', b); name.value = pw.value = ''; toast('User created.'); await load(); } catch (e2) { err.textContent = e2.message; }
  } }, h('h2', {}, 'Create a user'), field('Username', name), field('Role', role), field('Password (optional)', pw), h('button', { type: 'submit', class: 'primary' }, 'Create user'), err), body);
}

const TYPES = [['openai', 'OpenAI'], ['anthropic', 'Anthropic'], ['openai-compatible', 'OpenAI-compatible']];

export async function adminProviders({ main }) {
  const body = h('div');
  const load = async () => {
    const { providers } = await api.get('/providers');
    clear(body, providers.length ? h('ul', { class: 'rows' }, providers.map((p) => {
      const url = h('input', { name: 'base_url', type: 'url', value: p.base_url, required: true });
      const key = h('input', { name: 'api_key', type: 'password', autocomplete: 'off', required: true });
      const enc = encodeURIComponent(p.name);
      return h('li', { class: 'card', 'data-provider': p.name },
        h('h3', {}, p.name, ' ', h('span', { class: 'muted' }, p.type), ' ', p.enabled ? badge('enabled') : badge('disabled')),
        h('p', {}, 'Central key: ', p.has_api_key ? h('code', {}, p.api_key_hint || 'set') : 'none'),
        h('form', { class: 'inline', onsubmit: (e) => { e.preventDefault(); act(() => api.patch(`/providers/${enc}`, { base_url: url.value }), 'Provider saved.', load); } },
          field(`Base URL of ${p.name}`, url), h('button', { type: 'submit', 'aria-label': `Save base URL of ${p.name}` }, 'Save')),
        h('form', { class: 'inline', onsubmit: (e) => { e.preventDefault(); act(() => api.patch(`/providers/${enc}`, { api_key: key.value }), 'Central key set.', load); } },
          field(`Central key for ${p.name}`, key), h('button', { type: 'submit', 'aria-label': `Set central key for ${p.name}` }, 'Set key')),
        h('div', { class: 'actions' },
          h('button', { type: 'button', 'aria-label': `${p.enabled ? 'Disable' : 'Enable'} provider ${p.name}`, onclick: () => act(() => api.patch(`/providers/${enc}`, { enabled: !p.enabled }), p.enabled ? 'Provider disabled.' : 'Provider enabled.', load) }, p.enabled ? 'Disable' : 'Enable'),
          p.has_api_key ? h('button', { type: 'button', 'aria-label': `Remove central key of ${p.name}`, onclick: () => act(() => api.patch(`/providers/${enc}`, { api_key: '' }), 'Central key removed.', load) }, 'Remove key') : null,
          h('button', { type: 'button', class: 'danger', 'aria-label': `Delete provider ${p.name}`, onclick: () => actAfterConfirm(`Delete provider ${p.name}? Its models and every user's key for it are deleted too.`, 'Delete', () => api.del(`/providers/${enc}`), 'Provider deleted.', load) }, 'Delete')));
    })) : h('p', { class: 'muted' }, 'No providers.'));
  };
  if ((await page(main, 'Providers', load)) === null) return;
  const name = h('input', { name: 'name', required: true, pattern: '[a-z0-9]+(-[a-z0-9]+)*' });
  const type = select('type', TYPES, 'openai');
  const url = h('input', { name: 'base_url', type: 'url', required: true, placeholder: 'https://api.openai.com/v1' });
  const key = h('input', { name: 'api_key', type: 'password', autocomplete: 'off' });
  const enabled = h('input', { type: 'checkbox', name: 'enabled', checked: true, id: 'prov-enabled' });
  const err = errLine();
  main.append(h('form', { class: 'card', onsubmit: async (e) => {
    e.preventDefault();
    err.textContent = '';
    const b = { name: name.value.trim(), type: type.value, base_url: url.value.trim(), enabled: enabled.checked };
    if (key.value) b.api_key = key.value;
    try { await api.post('/providers', b); name.value = url.value = key.value = ''; toast('Provider created.'); await load(); } catch (e2) { err.textContent = e2.message; }
  } }, h('h2', {}, 'Add a provider'), field('Name', name), field('Type', type), field('Base URL', url), field('Central API key (optional)', key),
  h('div', { class: 'field check' }, enabled, h('label', { for: 'prov-enabled' }, 'Enabled')),
  h('button', { type: 'submit', class: 'primary' }, 'Add provider'), err), body);
}

const PRICES = [['input', 'Input'], ['output', 'Output'], ['cache_read', 'Cache read'], ['cache_write', 'Cache write']];

function priceInputs(prefix, prices) {
  const ins = {};
  for (const [k] of PRICES) ins[k] = h('input', { name: 'price_' + k, type: 'number', min: 0, step: 'any', value: prices && prices[k] !== null && prices[k] !== undefined ? prices[k] : '' });
  return [ins, h('fieldset', {}, h('legend', {}, `${prefix}prices (US$ per million tokens; empty: unknown)`), PRICES.map(([k, l]) => field(l, ins[k])))];
}
const priceBody = (ins) => Object.fromEntries(PRICES.map(([k]) => [k, ins[k].value === '' ? null : Number(ins[k].value)]));

export async function adminModels({ main }) {
  const body = h('div');
  const load = async () => {
    const { models } = await api.get('/models?all=true');
    clear(body, h('ul', { class: 'rows' }, models.map((m) => {
      const dn = h('input', { name: 'display_name', value: m.display_name || '' });
      const cl = h('input', { name: 'context_limit', type: 'number', min: 0, value: m.context_limit || '' });
      const en = h('input', { type: 'checkbox', name: 'enabled', checked: m.enabled, id: 'en-' + m.id });
      const df = h('input', { type: 'checkbox', name: 'default', checked: m.default, id: 'df-' + m.id });
      const ct = h('input', { name: 'compaction_threshold_percent', type: 'number', min: 1, max: 100, step: 1, placeholder: 'deployment default', value: m.compaction_threshold_percent ?? '' });
      const openai = m.provider_type !== 'anthropic';
      const ra = openai ? h('input', { type: 'checkbox', name: 'use_responses_api', checked: m.use_responses_api, id: 'ra-' + m.id }) : null;
      const [ins, fs] = priceInputs('', m.prices);
      return h('li', { class: 'card', 'data-model': m.model },
        h('h3', {}, m.display_name || m.model, ' ', h('span', { class: 'muted' }, `${m.provider} / ${m.model}`), ' ', m.default ? badge('default') : null, m.enabled ? null : badge('disabled')),
        h('p', { class: 'muted' }, `Context ${num(m.context_limit)} tokens · input ${m.prices.input ?? '?'} · output ${m.prices.output ?? '?'} $/Mtok`),
        h('details', {}, h('summary', {}, 'Edit'),
          h('form', { onsubmit: (e) => {
            e.preventDefault();
            const b = { display_name: dn.value, context_limit: Number(cl.value || 0), prices: priceBody(ins), enabled: en.checked, default: df.checked,
              compaction_threshold_percent: ct.value === '' ? null : Number(ct.value) };
            if (ra) b.use_responses_api = ra.checked;
            act(() => api.patch(`/models/${m.id}`, b), 'Model saved.', load);
          } }, field('Display name', dn), field('Context limit (tokens)', cl),
          field('Compact chats at (% of context; empty: deployment default)', ct), fs,
          ra ? h('div', { class: 'field check' }, ra, h('label', { for: ra.id }, 'Call through the Responses API')) : null,
          h('div', { class: 'field check' }, en, h('label', { for: en.id }, 'Enabled')),
          h('div', { class: 'field check' }, df, h('label', { for: df.id }, 'Default model')),
          h('button', { type: 'submit', class: 'primary', 'aria-label': `Save model ${m.model}` }, 'Save'),
          h('button', { type: 'button', class: 'danger', 'aria-label': `Delete model ${m.model}`, onclick: () => actAfterConfirm(`Delete model ${m.display_name || m.model} (${m.provider} / ${m.model})?`, 'Delete', () => api.del(`/models/${m.id}`), 'Model deleted.', load) }, 'Delete'))));
    })));
  };
  if ((await page(main, 'Models', load)) === null) return;
  let provs = [];
  try { provs = (await api.get('/providers')).providers; } catch { /* shown empty */ }
  const prov = select('provider', provs.map((p) => [p.name, p.name]), provs[0] && provs[0].name);
  const model = h('input', { name: 'model', required: true, placeholder: 'e.g. gpt-4o-mini' });
  const dn = h('input', { name: 'display_name' });
  const cl = h('input', { name: 'context_limit', type: 'number', min: 0, placeholder: 'from the catalogue' });
  const [ins, fs] = priceInputs('', null);
  const df = h('input', { type: 'checkbox', name: 'default', id: 'new-default' });
  const err = errLine();
  main.append(h('form', { class: 'card', onsubmit: async (e) => {
    e.preventDefault();
    err.textContent = '';
    const b = { provider: prov.value, model: model.value.trim(), default: df.checked };
    if (dn.value.trim()) b.display_name = dn.value.trim();
    if (cl.value) b.context_limit = Number(cl.value);
    const pr = priceBody(ins);
    if (Object.values(pr).some((v) => v !== null)) b.prices = pr;
    try { await api.post('/models', b); model.value = dn.value = cl.value = ''; toast('Model added.'); await load(); } catch (e2) { err.textContent = e2.message; }
  } }, h('h2', {}, 'Add a model'), field('Provider', prov), field('Model', model), field('Display name (optional)', dn), field('Context limit (optional)', cl), fs,
  h('div', { class: 'field check' }, df, h('label', { for: 'new-default' }, 'Make it the default')),
  h('button', { type: 'submit', class: 'primary' }, 'Add model'), err), body);
}

export async function adminDeployment({ main }) {
  let cur = await page(main, 'Deployment settings', () => api.get('/settings/deployment'));
  if (!cur) return;
  let models = [];
  try { models = (await api.get('/models?all=true')).models; } catch { /* only the current choices */ }
  const dbg = h('input', { type: 'checkbox', name: 'debug_recording', id: 'dep-debug' });
  const sels = {};
  for (const [r] of ROLES) sels[r] = await modelPicker(r, models, cur.models && cur.models[r], 'None');
  const thr = h('input', { name: 'compaction_threshold_percent', type: 'number', min: 1, max: 100 });
  // The server's --debug-recording flag forces recording; the API only
  // reports it, so the page does too.
  const forced = h('p', { class: 'forced' });
  const shown = (s) => {
    cur = s;
    dbg.checked = s.debug_recording;
    for (const [r] of ROLES) pick(sels[r], s.models && s.models[r]);
    thr.value = s.compaction_threshold_percent ?? '';
    clear(forced, h('strong', {}, 'Forced for everyone: '), s.debug_recording_forced
      ? 'yes, forced on by the server\'s --debug-recording flag (change it there).'
      : 'no (the server\'s --debug-recording flag is off).');
  };
  shown(cur);
  const err = errLine();
  main.append(h('form', { class: 'card', onsubmit: async (e) => {
    e.preventDefault();
    err.textContent = '';
    // Only what changed: sending a model that was disabled since it was
    // picked would be refused, and so is debug_recording_forced.
    const body = {};
    if (dbg.checked !== cur.debug_recording) body.debug_recording = dbg.checked;
    for (const [r] of ROLES) {
      if (sels[r].value !== ((cur.models && cur.models[r]) || '')) (body.models ||= {})[r] = sels[r].value || null;
    }
    // Empty resets the threshold to the default.
    if (thr.value !== String(cur.compaction_threshold_percent ?? '')) body.compaction_threshold_percent = thr.value === '' ? null : Number(thr.value);
    if (!Object.keys(body).length) { toast('Nothing changed.'); return; }
    try {
      shown(await api.patch('/settings/deployment', body));
      toast('Deployment settings saved.');
    } catch (e2) { err.textContent = e2.message; }
  } },
  h('div', { class: 'field check' }, dbg, h('label', { for: 'dep-debug' }, 'Debug recording on by default')),
  forced,
  ROLES.map(([r, label]) => field(label, sels[r])),
  field('Compaction threshold (% of the context)', thr, 'Empty: the default, 80%.'),
  h('button', { type: 'submit', class: 'primary' }, 'Save'), err));
}
