// Browser tests of the web interface against a real `chatd server --dev`.

import { describe, before, after, test } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, startBrowser, watch, shot, signIn, inPage, until } from '../harness.js';

const ADMIN_PW = 'admin-password-e2e';
const MEMBER_PW = 'member-password-e2e';
const T = 20000;

let srv, browser, ctx, page, w;

before(async () => {
  srv = await startServer();
  const r = await srv.api('PATCH', `/users/${srv.admin.id}`, { password: ADMIN_PW });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  const m = await srv.api('POST', '/users', { username: 'bob', role: 'member', password: MEMBER_PW });
  assert.equal(m.status, 201, JSON.stringify(m.body));
  browser = await startBrowser();
  ctx = await browser.newContext({ viewport: { width: 1200, height: 900 } });
  ctx.setDefaultTimeout(T);
  page = await ctx.newPage();
  w = watch(page);
});

after(async () => {
  if (browser) await browser.close();
  if (srv) {
    await srv.stop();
    if (process.env.CHATD_E2E_LOG) console.log(srv.log.join(''));
  }
});

const chatsOn = async () => (await srv.api('GET', '/chats')).status === 200;

// confirm answers the confirmation <dialog> of a destructive action by
// pressing button ('Cancel' keeps everything as it was).
async function confirm(p, button) {
  const dlg = p.getByRole('dialog');
  await dlg.waitFor();
  await dlg.getByRole('button', { name: button, exact: true }).click();
  await dlg.waitFor({ state: 'detached' });
}

// lastAnswer waits for an assistant message containing text.
async function answer(p, text) {
  await p.locator('.messages .msg.assistant', { hasText: text }).first().waitFor();
}

describe('web interface', () => {
  test('headers: strict CSP and index fallback', async () => {
    const r = await fetch(srv.url + '/chats/anything');
    assert.equal(r.status, 200);
    const csp = r.headers.get('content-security-policy');
    assert.match(csp, /default-src 'self'/);
    assert.doesNotMatch(csp, /unsafe-inline/);
    assert.equal(r.headers.get('x-content-type-options'), 'nosniff');
  });

  test('sign in', async () => {
    await page.goto(srv.url + '/');
    await page.getByRole('heading', { name: 'Sign in to chatd' }).waitFor();
    await shot(page, '01-sign-in');
    await page.getByLabel('Username').fill('admin');
    await page.getByLabel('Password').fill('wrong');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByText('Wrong username or password.').waitFor();
    await signIn(page, srv.url, 'admin', ADMIN_PW);
    assert.ok(await page.getByRole('link', { name: 'Users' }).isVisible(), 'admins see the admin navigation');
    const cookies = await ctx.cookies();
    const c = cookies.find((x) => x.name === 'chatd_session');
    assert.ok(c && c.httpOnly && c.sameSite === 'Strict', 'HttpOnly SameSite=Strict session cookie');
    assert.equal(await page.evaluate(() => document.cookie), '', 'scripts cannot read the session');
  });

  test('start a chat and see the streamed answer', async (t) => {
    if (!(await chatsOn())) return t.skip('this server runs without the chat daemon');
    await page.getByRole('link', { name: 'Chats', exact: true }).click();
    await page.getByRole('link', { name: 'New chat' }).click();
    await page.getByLabel('Model').waitFor();
    assert.ok((await page.getByLabel('Model').locator('option').count()) >= 1, 'model picker lists models');
    await page.getByLabel('Title (optional)').fill('First browser chat');
    await page.getByLabel('Message', { exact: true }).fill('hello from the browser');
    await page.getByRole('button', { name: 'Start chat' }).click();
    await answer(page, 'You said: hello from the browser');
    await page.getByText('live', { exact: true }).waitFor();
    await page.locator('.cost').filter({ hasText: /Cost/ }).waitFor().catch(() => {});
    await shot(page, '02-conversation');
    await page.getByRole('link', { name: 'Chats', exact: true }).click();
    await page.getByRole('link', { name: 'First browser chat' }).waitFor();
    await page.getByLabel('Search by title').fill('nothing like it');
    await page.getByText('No chat matches.').waitFor();
    await page.getByLabel('Search by title').fill('first');
    await page.getByRole('link', { name: 'First browser chat' }).waitFor();
    await shot(page, '03-chats');
  });

  test('queue while busy, promote, delete, interrupt, edit', async (t) => {
    if (!(await chatsOn())) return t.skip('this server runs without the chat daemon');
    // A client tool keeps the chat busy (requires_action) until someone
    // answers it or interrupts: a deterministic "busy" without timing.
    const r = await inPage(page, 'POST', '/chats', {
      title: 'Busy chat', message: 'please use lookup',
      client_tools: [{ name: 'lookup', description: 'Look something up.', input_schema: { type: 'object', properties: { q: { type: 'string' } }, required: ['q'] } }],
    });
    assert.equal(r.status, 201, JSON.stringify(r.body));
    const id = r.body.chat.id;
    await page.goto(`${srv.url}/chats/${id}`);
    await page.locator('.badge.status-requires_action').waitFor();
    const msg = page.getByLabel('Message', { exact: true });
    await msg.fill('first queued');
    await msg.press('Enter');
    await page.locator('.queue li', { hasText: 'first queued' }).waitFor();
    await msg.fill('second queued');
    await page.getByRole('button', { name: 'Send', exact: true }).click();
    await page.locator('.queue li', { hasText: 'second queued' }).waitFor();
    await page.locator('.queue li', { hasText: 'second queued' }).getByRole('button', { name: 'Move to front' }).click();
    await until('promoted', async () => (await page.locator('.queue li').first().textContent()).includes('second queued'), T);
    await page.locator('.queue li', { hasText: 'first queued' }).getByRole('button', { name: 'Delete' }).click();
    await page.locator('.queue li', { hasText: 'first queued' }).waitFor({ state: 'detached' });
    await shot(page, '04-queued');
    await page.getByRole('button', { name: 'Interrupt', exact: true }).click();
    await answer(page, 'You said: second queued');
    await page.locator('.queue li').first().waitFor({ state: 'detached' });
    await page.locator('.badge.status-waiting').waitFor();

    // Edit the last user message and rerun from there.
    const last = page.locator('.messages .msg.user', { hasText: 'second queued' });
    await last.getByRole('button', { name: 'Edit' }).click();
    await page.getByLabel('Edit message').fill('edited message');
    await page.getByRole('button', { name: 'Save and rerun' }).click();
    await answer(page, 'You said: edited message');
    assert.equal(await page.locator('.messages .msg', { hasText: 'second queued' }).count(), 0, 'edited-away messages are gone');
  });

  test('a late POST answer does not undo the live status', async (t) => {
    if (!(await chatsOn())) return t.skip('this server runs without the chat daemon');
    const r = await inPage(page, 'POST', '/chats', { title: 'Race chat', message: 'warm up' });
    const id = r.body.chat.id;
    await until('turn done', async () => (await srv.api('GET', `/chats/${id}`)).body.chat.status === 'waiting', T);
    await page.goto(`${srv.url}/chats/${id}`);
    await answer(page, 'You said: warm up');
    await page.locator('.badge.status-waiting', { hasText: 'idle' }).waitFor();
    // Hold the POST's answer (a chat still "running") until the stream
    // has said the turn is over, then deliver it.
    let release;
    const gate = new Promise((ok) => { release = ok; });
    const held = new Promise((ok) => {
      page.route(`**/api/v1/chats/${id}/messages`, async (route) => {
        const res = await route.fetch();
        ok();
        await gate;
        await route.fulfill({ response: res });
      });
    });
    const msg = page.getByLabel('Message', { exact: true });
    await msg.fill('slow answer');
    await msg.press('Enter');
    await held;
    await answer(page, 'You said: slow answer');
    await until('turn done', async () => (await srv.api('GET', `/chats/${id}`)).body.chat.status === 'waiting', T);
    await page.locator('.badge.status-waiting').waitFor();
    release();
    await until('answer handled', async () => (await msg.inputValue()) === '', T);
    await page.unroute(`**/api/v1/chats/${id}/messages`);
    assert.equal(await page.locator('.composer .badge').textContent(), 'idle', 'badge after the late answer');
    assert.equal(await page.getByRole('button', { name: 'Interrupt', exact: true }).isVisible(), false, 'Interrupt hidden when idle');
    assert.equal(await page.getByRole('button', { name: 'Send now (interrupt)' }).isVisible(), false);

    // The same for Interrupt: its answer still lists the queued message
    // the stream has since run.
    const b = await inPage(page, 'POST', '/chats', {
      title: 'Race interrupt', message: 'please use lookup',
      client_tools: [{ name: 'lookup', description: 'Look something up.', input_schema: { type: 'object', properties: { q: { type: 'string' } }, required: ['q'] } }],
    });
    const bid = b.body.chat.id;
    await page.goto(`${srv.url}/chats/${bid}`);
    await page.locator('.badge.status-requires_action', { hasText: 'needs tool results' }).waitFor();
    await msg.fill('queued then run');
    await msg.press('Enter');
    await page.locator('.queue li', { hasText: 'queued then run' }).waitFor();
    let release2;
    const gate2 = new Promise((ok) => { release2 = ok; });
    let answered;
    const done = new Promise((ok) => { answered = ok; });
    await page.route(`**/api/v1/chats/${bid}/interrupt`, async (route) => {
      const res = await route.fetch();
      await gate2;
      await route.fulfill({ response: res });
      answered();
    });
    await page.getByRole('button', { name: 'Interrupt', exact: true }).click();
    await answer(page, 'You said: queued then run');
    await page.locator('.queue li').first().waitFor({ state: 'detached' });
    await until('turn done', async () => (await srv.api('GET', `/chats/${bid}`)).body.chat.status === 'waiting', T);
    await page.locator('.badge.status-waiting').waitFor();
    release2();
    await done;
    // Let the page run the answer's handler before looking.
    await page.evaluate(() => new Promise((ok) => setTimeout(ok, 50)));
    await page.unroute(`**/api/v1/chats/${bid}/interrupt`);
    assert.equal(await page.locator('.queue li').count(), 0, 'no stale queue after Interrupt');
    assert.equal(await page.locator('.composer .badge').textContent(), 'idle');
    await shot(page, '04b-after-interrupt');
  });

  test('the composer stays in view in a long chat', async (t) => {
    if (!(await chatsOn())) return t.skip('this server runs without the chat daemon');
    const long = Array.from({ length: 60 }, (_, i) => `line ${i + 1}`).join('\n\n');
    const r = await inPage(page, 'POST', '/chats', { title: 'Long chat', message: long });
    await page.goto(`${srv.url}/chats/${r.body.chat.id}`);
    await answer(page, 'line 60');
    await page.evaluate(() => window.scrollTo(0, 0));
    const box = await page.locator('form.composer').boundingBox();
    const vh = page.viewportSize().height;
    assert.ok(box.y + box.height <= vh + 1 && box.y > 0, `composer at ${box.y}+${box.height}, viewport ${vh}`);
    assert.ok(await page.getByRole('button', { name: 'Send', exact: true }).isVisible());
    assert.ok(await page.locator('.composer .badge').isVisible(), 'status next to the composer');
    await shot(page, '02b-long-chat-top');
  });

  test('reconnect after a network drop without loss or duplicates', async (t) => {
    if (!(await chatsOn())) return t.skip('this server runs without the chat daemon');
    const r = await inPage(page, 'POST', '/chats', { title: 'Reconnect chat', message: 'before the drop' });
    const id = r.body.chat.id;
    await page.goto(`${srv.url}/chats/${id}`);
    await answer(page, 'You said: before the drop');
    await ctx.setOffline(true);
    await page.evaluate(() => window.dispatchEvent(new Event('offline')));
    const sent = await srv.api('POST', `/chats/${id}/messages`, { message: 'while offline' });
    assert.ok(sent.status === 201 || sent.status === 202, JSON.stringify(sent.body));
    await until('turn done', async () => (await srv.api('GET', `/chats/${id}`)).body.chat.status === 'waiting', T);
    await ctx.setOffline(false);
    await page.evaluate(() => window.dispatchEvent(new Event('online')));
    await answer(page, 'You said: while offline');
    const seqs = await page.locator('.messages > li').evaluateAll((els) => els.map((e) => e.dataset.seq));
    assert.equal(new Set(seqs).size, seqs.length, `duplicate messages: ${seqs}`);
    assert.equal(await page.locator('.messages .msg.user', { hasText: 'while offline' }).count(), 1);
    assert.equal(await page.locator('.messages .msg.assistant', { hasText: 'You said: before the drop' }).count(), 1);
  });

  test('XSS: model output renders inert', async (t) => {
    if (!(await chatsOn())) return t.skip('this server runs without the chat daemon');
    const evil = '<script>window.__xss=1</script> <img src=x onerror="window.__xss=2"> ' +
      '[click me](javascript:window.__xss=3) <a href="javascript:window.__xss=4">raw</a> javascript:window.__xss=5 ' +
      '[data](data:text/html,hi) [ok](https://example.com/)';
    const r = await inPage(page, 'POST', '/chats', { title: 'XSS chat', message: evil });
    await page.goto(`${srv.url}/chats/${r.body.chat.id}`);
    await answer(page, 'You said:');
    const msgs = page.locator('.messages');
    assert.equal(await msgs.locator('script, img, iframe, object, embed').count(), 0);
    const hrefs = await msgs.locator('a').evaluateAll((as) => as.map((a) => a.getAttribute('href')));
    for (const h of hrefs) assert.match(h, /^(https?:|mailto:)/, `unsafe link ${h}`);
    assert.ok(hrefs.includes('https://example.com/'), 'safe links stay links');
    await msgs.locator('.msg.assistant').getByText('click me', { exact: false }).first().click();
    await page.waitForTimeout(200);
    assert.equal(await page.evaluate(() => window.__xss), undefined, 'no injected code ran');
    assert.deepEqual(w.dialogs, []);
    assert.match(await msgs.locator('.msg.assistant').first().textContent(), /<script>window.__xss=1<\/script>/, 'the markup shows as text');
    await shot(page, '05-xss');
  });

  test('open a subagent child', async (t) => {
    if (!(await chatsOn())) return t.skip('this server runs without the chat daemon');
    const r = await inPage(page, 'POST', '/chats', { title: 'Parent chat', message: 'please spawn_agent to check the weather' });
    const id = r.body.chat.id;
    await until('turn done', async () => (await srv.api('GET', `/chats/${id}`)).body.chat.status !== 'running', T);
    const kids = await srv.api('GET', `/chats/${id}/children`);
    if (kids.status !== 200 || !kids.body.chats.length) return t.skip('subagents are not available on this server yet');
    await page.goto(`${srv.url}/chats/${id}`);
    await page.getByText(/Subagents \(\d+\)/).waitFor();
    await page.locator('.children a').first().click();
    await page.getByText('Subagent of').waitFor();
    await shot(page, '06-subagent');
  });

  test('create and revoke an API key', async () => {
    await page.getByRole('link', { name: 'Settings' }).click();
    await page.getByLabel('Key name').fill('e2e-key');
    await page.getByRole('button', { name: 'Create key' }).click();
    const key = await page.getByLabel('New API key').inputValue();
    assert.match(key, /^\S+-\S+$/);
    assert.equal((await srv.api('GET', '/me', null, key)).status, 200, 'the new key works');
    await page.getByRole('button', { name: 'Done' }).click();
    await shot(page, '07-settings');
    await page.getByRole('button', { name: 'Revoke e2e-key' }).click();
    await confirm(page, 'Revoke');
    await page.locator('tr[data-key]', { hasText: 'e2e-key' }).waitFor({ state: 'detached' });
    await until('key revoked', async () => (await srv.api('GET', '/me', null, key)).status === 401, T);
    assert.equal(await page.getByText(key).count(), 0, 'the secret is shown only once');
  });

  test('set, replace and remove a BYOK key', async () => {
    await page.goto(srv.url + '/settings');
    const secret = 'sk-e2e-byok-0123456789abcdef';
    await page.getByLabel('Provider', { exact: true }).selectOption('dev-openai');
    await page.getByLabel('Your API key').fill(secret);
    await page.getByRole('button', { name: 'Set key' }).click();
    await page.locator('[data-provider="dev-openai"]').waitFor();
    await page.getByLabel('Your API key').fill(secret + '-2');
    await page.getByRole('button', { name: 'Set key' }).click();
    await page.getByText('Key saved.').waitFor();
    const html = await page.content();
    assert.ok(!html.includes('0123456789abcdef'), 'the key is never displayed back');
    const pk = await srv.api('GET', '/provider-keys');
    assert.deepEqual(pk.body.provider_keys.map((k) => k.provider), ['dev-openai']);
    await page.getByRole('button', { name: 'Remove key for dev-openai' }).click();
    await page.locator('[data-provider="dev-openai"]').waitFor({ state: 'detached' });
    assert.equal((await srv.api('GET', '/provider-keys')).body.provider_keys.length, 0);
  });

  test('personal settings and debug viewer, or a clear "not available"', async () => {
    await page.goto(srv.url + '/settings');
    const has = (await srv.api('GET', '/settings/me')).status === 200;
    if (has) {
      await page.getByLabel('Debug recording', { exact: true }).selectOption('true');
      await page.getByRole('button', { name: 'Save settings' }).click();
      await page.getByText('Settings saved.').waitFor();
      assert.equal((await srv.api('GET', '/settings/me')).body.debug_recording, true);
    } else {
      await page.getByText('Personal settings is not available on this server.').waitFor();
    }
    if (!(await chatsOn())) return;
    // With recording on, a new turn leaves a run to look at.
    const made = await inPage(page, 'POST', '/chats', { title: 'Debug chat', message: 'record this' });
    const cid = made.body.chat.id;
    await until('turn done', async () => (await srv.api('GET', `/chats/${cid}`)).body.chat.status === 'waiting', T);
    await page.goto(`${srv.url}/chats/${cid}/debug`);
    const runs = await srv.api('GET', `/chats/${cid}/debug/runs`);
    if (runs.status === 200) {
      await page.getByRole('heading', { name: /Debug:/ }).waitFor();
      if (runs.body.runs.length) {
        await page.getByRole('button', { name: 'Open' }).first().click();
        await page.getByRole('heading', { name: /^Run:/ }).waitFor();
        await page.locator('details.attempt summary').first().click().catch(() => {});
      }
    } else {
      await page.getByText('Debug recording is not available on this server.').waitFor();
    }
    await shot(page, '08-debug');
  });

  test('admin creates a provider and a model, and sees usage', async () => {
    await page.getByRole('link', { name: 'Users' }).click();
    await page.locator('tr[data-user="bob"]').waitFor();
    await shot(page, '09-admin-users');

    await page.getByRole('link', { name: 'Providers' }).click();
    await page.getByLabel('Name', { exact: true }).fill('e2e-prov');
    await page.getByLabel('Type').selectOption('openai');
    await page.getByLabel('Base URL', { exact: true }).fill('https://llm.example.invalid/v1');
    await page.getByLabel('Central API key (optional)').fill('sk-central-e2e-key-000');
    await page.getByRole('button', { name: 'Add provider' }).click();
    const card = page.locator('[data-provider="e2e-prov"]');
    await card.waitFor();
    await card.getByRole('button', { name: 'Disable' }).click();
    await page.locator('[data-provider="e2e-prov"]').getByRole('button', { name: 'Enable' }).waitFor();
    await page.locator('[data-provider="e2e-prov"]').getByRole('button', { name: 'Enable' }).click();
    await page.locator('[data-provider="e2e-prov"]').getByRole('button', { name: 'Disable' }).waitFor();
    await shot(page, '10-admin-providers');

    await page.getByRole('link', { name: 'Models' }).click();
    await page.getByLabel('Provider', { exact: true }).selectOption('e2e-prov');
    await page.getByLabel('Model', { exact: true }).fill('e2e-model');
    await page.getByLabel('Display name (optional)').fill('E2E model');
    await page.getByLabel('Context limit (optional)').fill('64000');
    await page.getByLabel('Input', { exact: true }).first().fill('0.5');
    await page.getByLabel('Output', { exact: true }).first().fill('1.5');
    await page.getByRole('button', { name: 'Add model' }).click();
    await page.locator('[data-model="e2e-model"]').waitFor();
    const models = (await srv.api('GET', '/models?all=true')).body.models;
    const m = models.find((x) => x.model === 'e2e-model');
    assert.equal(m.context_limit, 64000);
    assert.equal(m.prices.output, 1.5);
    await shot(page, '11-admin-models');

    await page.getByRole('link', { name: 'Deployment' }).click();
    await page.getByRole('heading', { name: 'Deployment settings' }).waitFor();
    await shot(page, '12-admin-deployment');

    await page.getByRole('link', { name: 'Usage' }).click();
    await page.getByRole('heading', { name: 'Usage' }).waitFor();
    if (await chatsOn()) {
      await page.locator('table.interceptions tbody tr', { hasText: 'fake-echo' }).first().waitFor();
      await page.locator('svg.chart rect').first().waitFor();
    }
    await shot(page, '13-admin-usage');

    // A failing call leaves a long error; at 390px the table scrolls in
    // its box, the error stays on one line and the labels stay readable.
    await fetch(`${srv.url}/gateway/e2e-prov/v1/chat/completions`, {
      method: 'POST', headers: { Authorization: `Bearer ${srv.adminKey}`, 'Content-Type': 'application/json' },
      body: JSON.stringify({ model: 'e2e-model', messages: [{ role: 'user', content: 'hi' }] }), signal: AbortSignal.timeout(15000),
    }).catch(() => {});
    await page.setViewportSize({ width: 390, height: 844 });
    try {
      await page.goto(srv.url + '/admin/usage');
      await page.getByRole('heading', { name: 'Gateway calls' }).waitFor();
      const overflow = await page.evaluate(() => document.documentElement.scrollWidth > window.innerWidth + 1);
      assert.equal(overflow, false, 'the page does not scroll sideways at 390px');
      const err = page.locator('table.interceptions details.err').first();
      if (await err.count()) {
        const h = await err.locator('summary').evaluate((e) => e.getBoundingClientRect().height);
        assert.ok(h < 40, `error summary is one line (${h}px)`);
        await err.locator('summary').click();
        await err.locator('.full').waitFor();
      }
      const ticks = await page.locator('svg.chart text.tick').evaluateAll((ts) => ts.map((t) => t.getBoundingClientRect().height));
      for (const th of ticks) assert.ok(th >= 11, `chart label ${th}px high`);
      await shot(page, '13b-admin-usage-390px');
    } finally {
      await page.setViewportSize({ width: 1200, height: 900 });
    }
  });

  test('destructive admin actions ask first and are named per row', async () => {
    const bobID = (await srv.api('GET', '/users')).body.users.find((u) => u.username === 'bob').id;
    const bobSuspended = async () => (await srv.api('GET', `/users/${bobID}`)).body.suspended;
    await page.getByRole('link', { name: 'Users' }).click();
    const bob = page.locator('tr[data-user="bob"]');
    await bob.getByRole('button', { name: 'Make admin: bob' }).waitFor();
    await bob.getByRole('button', { name: 'Suspend bob', exact: true }).click();
    await confirm(page, 'Cancel');
    assert.equal(await bobSuspended(), false, 'cancel keeps the user active');
    await bob.getByRole('button', { name: 'Suspend bob', exact: true }).click();
    await confirm(page, 'Suspend');
    await bob.getByRole('button', { name: 'Unsuspend bob' }).waitFor();
    assert.equal(await bobSuspended(), true);
    await bob.getByRole('button', { name: 'Unsuspend bob' }).click();
    await bob.getByRole('button', { name: 'Suspend bob', exact: true }).waitFor();
    assert.equal(await bobSuspended(), false, 'restoring needs no confirmation');

    await page.getByRole('link', { name: 'Models' }).click();
    const model = page.locator('[data-model="e2e-model"]');
    await model.getByText('Edit').click();
    await model.getByRole('button', { name: 'Delete model e2e-model' }).click();
    await confirm(page, 'Cancel');
    assert.ok((await srv.api('GET', '/models?all=true')).body.models.some((x) => x.model === 'e2e-model'), 'cancel keeps the model');
    await model.getByRole('button', { name: 'Delete model e2e-model' }).click();
    await confirm(page, 'Delete');
    await model.waitFor({ state: 'detached' });

    await page.getByRole('link', { name: 'Providers' }).click();
    const prov = page.locator('[data-provider="e2e-prov"]');
    await prov.getByRole('button', { name: 'Delete provider e2e-prov' }).click();
    await confirm(page, 'Cancel');
    assert.equal((await srv.api('GET', '/providers/e2e-prov')).status, 200, 'cancel keeps the provider');
    await prov.getByRole('button', { name: 'Delete provider e2e-prov' }).click();
    await confirm(page, 'Delete');
    await prov.waitFor({ state: 'detached' });
    assert.equal((await srv.api('GET', '/providers/e2e-prov')).status, 404);
    assert.deepEqual(w.dialogs, [], 'no native dialogs');
  });

  test('a member cannot reach admin pages', async () => {
    const mctx = await browser.newContext({ viewport: { width: 360, height: 740 } });
    mctx.setDefaultTimeout(T);
    const mp = await mctx.newPage();
    const mw = watch(mp);
    await signIn(mp, srv.url, 'bob', MEMBER_PW);
    assert.equal(await mp.getByRole('link', { name: 'Users' }).count(), 0, 'no admin navigation for members');
    // The navigation folds behind a menu button; the header is one line.
    const menu = mp.getByRole('button', { name: 'Menu' });
    assert.equal(await menu.getAttribute('aria-expanded'), 'false');
    assert.equal(await mp.getByRole('link', { name: 'Settings' }).isVisible(), false, 'nav folded');
    const top = await mp.locator('header.top').boundingBox();
    assert.ok(top.height < 64, `header is one line (${top.height}px)`);
    await menu.click();
    assert.equal(await menu.getAttribute('aria-expanded'), 'true');
    await mp.getByRole('link', { name: 'Settings' }).waitFor();
    await shot(mp, '14a-menu-open-360px');
    await mp.getByRole('link', { name: 'Settings' }).click();
    assert.equal(await menu.getAttribute('aria-expanded'), 'false', 'following a link folds the menu');
    await mp.goto(srv.url + '/admin/users');
    await mp.getByText(/Forbidden/).waitFor();
    await mp.goto(srv.url + '/admin/usage');
    await mp.getByText(/Forbidden/).waitFor();
    const r = await inPage(mp, 'GET', '/users');
    assert.equal(r.status, 403);
    const noCSRF = await mp.evaluate(async () => (await fetch('/api/v1/keys', { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: '{"name":"x"}' })).status);
    assert.equal(noCSRF, 403, 'cookie requests without the CSRF header are refused');
    await shot(mp, '14-member-forbidden-360px');
    await mp.goto(srv.url + '/chats');
    await shot(mp, '15-member-chats-360px');
    const overflow = await mp.evaluate(() => document.documentElement.scrollWidth > window.innerWidth + 1);
    assert.equal(overflow, false, 'no horizontal scrolling at 360px');
    await mp.getByRole('button', { name: 'Sign out' }).click();
    await mp.getByRole('heading', { name: 'Sign in to chatd' }).waitFor();
    assert.equal((await mctx.cookies()).filter((c) => c.name === 'chatd_session').length, 0);
    assert.deepEqual(mw.errors, []);
    await mctx.close();
  });

  test('no page errors or CSP violations', () => {
    assert.deepEqual(w.errors, []);
    assert.deepEqual(w.console.filter((m) => /Content Security Policy|Refused/.test(m)), []);
  });
});
