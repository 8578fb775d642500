// Starts a real `chatd server --dev` and a headless Chromium for the tests.

import { spawn, execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, mkdirSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import net from 'node:net';
import { chromium } from 'playwright-core';

const here = dirname(fileURLToPath(import.meta.url));
export const repo = resolve(here, '..', '..');
export const artifacts = process.env.CHATD_ARTIFACTS || join(here, 'artifacts');
mkdirSync(artifacts, { recursive: true });

function freePort() {
  return new Promise((ok, fail) => {
    const srv = net.createServer();
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => ok(port));
    });
    srv.on('error', fail);
  });
}

async function until(what, f, ms = 30000) {
  const end = Date.now() + ms;
  let last;
  while (Date.now() < end) {
    try {
      const v = await f();
      if (v) return v;
    } catch (e) { last = e; }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`timed out waiting for ${what}${last ? ': ' + last.message : ''}`);
}

export async function startServer() {
  const dir = mkdtempSync(join(tmpdir(), 'chatd-e2e-'));
  let bin = process.env.CHATD_BIN;
  if (!bin) {
    bin = join(dir, 'chatd');
    execFileSync('go', ['build', '-o', bin, './cmd/chatd'], { cwd: repo, stdio: 'inherit' });
  }
  const port = await freePort();
  const keyFile = join(dir, 'admin.key');
  const log = [];
  const proc = spawn(bin, ['server', '--dev', '--listen', `127.0.0.1:${port}`, '--data-dir', join(dir, 'data'),
    '--first-admin-key-file', keyFile, '--log-level', 'info'], {
    env: { ...process.env, CHATD_DEV_LATENCY: process.env.CHATD_DEV_LATENCY || '30ms' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  proc.stdout.on('data', (b) => log.push(b.toString()));
  proc.stderr.on('data', (b) => log.push(b.toString()));
  let exited = null;
  let stopping = false;
  proc.on('exit', (code, signal) => {
    exited = code ?? signal;
    // A crash in the middle of the tests shows up as refused connections
    // in every later test: say why once, with the server's log.
    if (!stopping) console.error(`chatd exited unexpectedly (${exited}); its log:\n${log.join('')}`);
  });
  const url = `http://127.0.0.1:${port}`;
  await until('chatd /readyz', async () => {
    if (exited !== null) throw new Error(`chatd exited with ${exited}:\n${log.join('')}`);
    const r = await fetch(url + '/readyz');
    return r.ok;
  });
  const adminKey = (await until('admin key file', () => existsSync(keyFile) && readFileSync(keyFile, 'utf8').trim()));
  const s = {
    url, dir, proc, log, adminKey,
    // api calls the HTTP API with a bearer key (the admin's by default).
    async api(method, path, body, key = adminKey) {
      const r = await fetch(url + '/api/v1' + path, {
        method, headers: { Authorization: `Bearer ${key}`, ...(body ? { 'Content-Type': 'application/json' } : {}) },
        body: body ? JSON.stringify(body) : undefined,
      });
      const text = await r.text();
      return { status: r.status, body: text ? JSON.parse(text) : null };
    },
    // login returns a new API key of a user, for calls as that user.
    async login(username, password) {
      const r = await fetch(url + '/api/v1/auth/login', { method: 'POST', headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({ username, password }) });
      if (r.status !== 201) throw new Error(`login ${username}: ${r.status} ${await r.text()}`);
      return (await r.json()).key;
    },
    async stop() {
      if (exited !== null) return;
      stopping = true;
      const done = new Promise((r) => proc.on('exit', r));
      proc.kill('SIGTERM');
      await done;
    },
  };
  const me = await s.api('GET', '/me');
  s.admin = me.body;
  return s;
}

export async function startBrowser() {
  return chromium.launch({
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
      '--disable-component-update', '--disable-sync'],
  });
}

// watch records what must never happen on a page: dialogs, page errors,
// CSP violations.
export function watch(page) {
  const w = { dialogs: [], errors: [], console: [] };
  page.on('dialog', (d) => { w.dialogs.push(d.message()); d.dismiss().catch(() => {}); });
  page.on('pageerror', (e) => w.errors.push(e.message));
  page.on('console', (m) => { if (m.type() === 'error') w.console.push(m.text()); });
  return w;
}

export async function shot(page, name) {
  await page.screenshot({ path: join(artifacts, name + '.png'), fullPage: true });
}

export async function signIn(page, base, username, password) {
  await page.goto(base + '/');
  await page.getByLabel('Username').fill(username);
  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  // The Chats link may sit behind the menu button on a narrow screen.
  await page.getByRole('button', { name: 'Sign out' }).waitFor();
}

// inPage calls the API from the page, as the signed-in browser.
export function inPage(page, method, path, body) {
  return page.evaluate(async ([m, p, b]) => {
    const headers = { 'Content-Type': 'application/json' };
    if (m !== 'GET') headers['X-Chatd-CSRF'] = '1';
    const r = await fetch('/api/v1' + p, { method: m, headers, body: b ? JSON.stringify(b) : undefined });
    const t = await r.text();
    return { status: r.status, body: t ? JSON.parse(t) : null };
  }, [method, path, body]);
}

// overflow returns how many CSS pixels the page is wider than its
// viewport (0 when it does not scroll sideways).
export function overflow(page) {
  return page.evaluate(() => Math.max(0, document.documentElement.scrollWidth - window.innerWidth));
}

// contrast is the WCAG 2 contrast ratio of two CSS colours as
// getComputedStyle gives them ("rgb(r, g, b)" or "rgba(...)", opaque).
export function contrast(a, b) {
  const lum = (c) => {
    const [r, g, bl] = c.match(/[\d.]+/g).slice(0, 3).map((v) => Number(v) / 255)
      .map((v) => (v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4));
    return 0.2126 * r + 0.7152 * g + 0.0722 * bl;
  };
  const [x, y] = [lum(a), lum(b)];
  return (Math.max(x, y) + 0.05) / (Math.min(x, y) + 0.05);
}

export { until };
