// The HTTP API client. The session key lives in an HttpOnly cookie; every
// state-changing request carries the CSRF header the server demands.

export class APIError extends Error {
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }
  // missing reports an endpoint this server does not have yet or runs
  // without (the chat daemon, debug recording, settings).
  get missing() { return this.status === 503 || this.status === 405 || (this.status === 404 && this.message === 'no such endpoint'); }
}

export const base = '/api/v1';

export async function call(method, path, body) {
  const headers = { Accept: 'application/json' };
  if (method !== 'GET' && method !== 'HEAD') headers['X-Chatd-CSRF'] = '1';
  const init = { method, headers, credentials: 'same-origin' };
  if (body !== undefined) {
    headers['Content-Type'] = 'application/json';
    init.body = JSON.stringify(body);
  }
  let res;
  try {
    res = await fetch(base + path, init);
  } catch (e) {
    throw new APIError(0, 'network', 'cannot reach the server: ' + e.message);
  }
  if (res.status === 204) return null;
  let data = null;
  try { data = await res.json(); } catch { /* not JSON */ }
  if (!res.ok) {
    const e = data && data.error;
    const err = new APIError(res.status, e ? e.code : 'http_' + res.status, e ? e.message : res.statusText || 'request failed');
    if (res.status === 401 && path !== '/auth/session') window.dispatchEvent(new CustomEvent('chatd:unauthenticated'));
    throw err;
  }
  return data;
}

export const get = (p) => call('GET', p);
export const post = (p, b) => call('POST', p, b ?? {});
export const put = (p, b) => call('PUT', p, b);
export const patch = (p, b) => call('PATCH', p, b);
export const del = (p) => call('DELETE', p);

export function qs(params) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== null && v !== '') q.set(k, v);
  const s = q.toString();
  return s ? '?' + s : '';
}
