// Browser tests of the web interface against a real `chatd server --dev`.
// The tests run in order and build on each other (a signed-in admin page,
// chats made earlier); every feature they look at must be there.

import { describe, before, after, test } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, startBrowser, watch, shot, signIn, inPage, until, overflow, contrast } from '../harness.js';

const ADMIN_PW = 'admin-password-e2e';
const MEMBER_PW = 'member-password-e2e';
const T = 20000;
const DESKTOP = { width: 1200, height: 900 };
const PHONE = { width: 360, height: 740 };

let srv, browser, ctx, page, w;
let bobKey; // an API key of the member bob
const ids = {}; // chats and models made along the way, by name

before(async () => {
  srv = await startServer();
  const r = await srv.api('PATCH', `/users/${srv.admin.id}`, { password: ADMIN_PW });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  const m = await srv.api('POST', '/users', { username: 'bob', role: 'member', password: MEMBER_PW });
  assert.equal(m.status, 201, JSON.stringify(m.body));
  bobKey = await srv.login('bob', MEMBER_PW);
  assert.equal((await srv.api('GET', '/chats')).status, 200, 'the dev server runs the chat daemon');
  browser = await startBrowser();
  ctx = await browser.newContext({ viewport: DESKTOP });
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

// confirm answers the confirmation <dialog> of a destructive action by
// pressing button ('Cancel' keeps everything as it was).
async function confirm(p, button) {
  const dlg = p.getByRole('dialog');
  await dlg.waitFor();
  await dlg.getByRole('button', { name: button, exact: true }).click();
  await dlg.waitFor({ state: 'detached' });
}

// answer waits for an assistant message containing text.
async function answer(p, text) {
  await p.locator('.messages .msg.assistant', { hasText: text }).first().waitFor();
}

const status = async (id, key) => (await srv.api('GET', `/chats/${id}`, null, key)).body.chat.status;

// idle waits until a chat's turn is over.
const idle = (id, key) => until(`chat ${id} idle`, async () => (await status(id, key)) === 'waiting', T);

// chat starts a chat as the signed-in browser and waits for its turn.
async function chat(p, title, message, { wait = true } = {}) {
  const r = await inPage(p, 'POST', '/chats', { title, message });
  assert.equal(r.status, 201, JSON.stringify(r.body));
  if (wait) await idle(r.body.chat.id);
  return r.body.chat.id;
}

// say sends a message to an idle chat (as the admin) and waits for the turn.
async function say(id, message) {
  const r = await srv.api('POST', `/chats/${id}/messages`, { message });
  assert.equal(r.status, 201, JSON.stringify(r.body));
  await idle(id);
}

const words = (n, tag) => Array.from({ length: n }, (_, i) => `${tag}${i}`).join(' ');

// focused describes the focused element.
const focused = (p) => p.evaluate(() => {
  const a = document.activeElement;
  return { tag: a.tagName.toLowerCase(), id: a.id, cls: a.className, text: (a.textContent || '').trim().slice(0, 60) };
});

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

  test('keyboard: the skip link works and navigation moves focus to the new page', async () => {
    await page.goto(srv.url + '/chats');
    await page.getByRole('heading', { name: 'Chats', exact: true }).waitFor();
    // Mark the page: a redraw would lose the mark.
    await page.evaluate(() => { document.querySelector('main h1').dataset.mark = 'kept'; });
    await page.keyboard.press('Tab');
    assert.deepEqual(await focused(page), { tag: 'a', id: '', cls: 'skip', text: 'Skip to content' }, 'the skip link is the first stop');
    const box = await page.locator('a.skip').boundingBox();
    assert.ok(box.x >= 0 && box.y >= 0, `the focused skip link is on screen (${box.x},${box.y})`);
    await page.keyboard.press('Enter');
    await until('focus on main', async () => (await focused(page)).id === 'main', 2000);
    assert.equal(new URL(page.url()).pathname, '/chats');
    assert.equal(await page.evaluate(() => document.querySelector('main h1').dataset.mark), 'kept', 'the skip link does not redraw the page');
    await page.keyboard.press('Tab');
    const next = await page.evaluate(() => document.getElementById('main').contains(document.activeElement));
    assert.ok(next, 'Tab after the skip link goes on inside the content');

    // In-app navigation, by mouse and by keyboard, focuses the new page's heading.
    await page.getByRole('link', { name: 'Settings' }).click();
    await page.getByRole('heading', { name: 'Settings', exact: true }).waitFor();
    await until('focus on the Settings heading', async () => {
      const f = await focused(page);
      return f.tag === 'h1' && f.text === 'Settings';
    }, 2000);
    await page.getByRole('link', { name: 'Chats', exact: true }).focus();
    await page.keyboard.press('Enter');
    await page.getByRole('heading', { name: 'Chats', exact: true }).waitFor();
    await until('focus on the Chats heading', async () => {
      const f = await focused(page);
      return f.tag === 'h1' && f.text === 'Chats';
    }, 2000);
    // Back goes back to a page, and focus with it.
    await page.goBack();
    await page.getByRole('heading', { name: 'Settings', exact: true }).waitFor();
    await until('focus after Back', async () => (await focused(page)).text === 'Settings', 2000);
  });

  test('start a chat and see the streamed answer', async () => {
    await page.getByRole('link', { name: 'Chats', exact: true }).click();
    await page.getByRole('link', { name: 'New chat' }).click();
    await page.getByLabel('Model').waitFor();
    assert.ok((await page.getByLabel('Model').locator('option').count()) >= 1, 'model picker lists models');
    await page.getByLabel('Title (optional)').fill('First browser chat');
    await page.getByLabel('Message', { exact: true }).fill('hello from the browser');
    await page.getByRole('button', { name: 'Start chat' }).click();
    // A turn's first step starts with a silent restart part: no
    // "Retrying" notice may flash while the answer streams.
    await page.evaluate(() => {
      window.__sawRetry = false;
      new MutationObserver(() => {
        if (document.body.textContent.includes('Retrying this step')) window.__sawRetry = true;
      }).observe(document.body, { childList: true, subtree: true, characterData: true });
    });
    await answer(page, 'You said: hello from the browser');
    assert.equal(await page.evaluate(() => window.__sawRetry), false, 'a first step showed a retry notice');
    await page.getByText('live', { exact: true }).waitFor();
    await page.locator('.cost', { hasText: /^Cost: \$/ }).waitFor();
    ids.first = page.url().split('/').pop();
    await shot(page, '02-conversation');
    await page.getByRole('link', { name: 'Chats', exact: true }).click();
    await page.getByRole('link', { name: 'First browser chat' }).waitFor();
    await page.getByLabel('Search by title').fill('nothing like it');
    await page.getByText('No chat matches.').waitFor();
    await page.getByLabel('Search by title').fill('first');
    await page.getByRole('link', { name: 'First browser chat' }).waitFor();
    await shot(page, '03-chats');
  });

  test('queue while busy, promote, delete (after asking), interrupt, edit', async () => {
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
    const first = page.locator('.queue li', { hasText: 'first queued' });
    await first.getByRole('button', { name: 'Delete' }).click();
    await confirm(page, 'Cancel');
    assert.equal((await srv.api('GET', `/chats/${id}`)).body.queue.length, 2, 'cancel keeps the queued message');
    await first.getByRole('button', { name: 'Delete' }).click();
    await confirm(page, 'Delete');
    await first.waitFor({ state: 'detached' });
    assert.equal((await srv.api('GET', `/chats/${id}`)).body.queue.length, 1);
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

  test('an edit in one tab removes the deleted messages in another', async () => {
    const id = await chat(page, 'Two tabs', 'one');
    await say(id, 'two');
    await say(id, 'three');
    const b = await ctx.newPage();
    const bw = watch(b);
    try {
      await page.goto(`${srv.url}/chats/${id}`);
      await b.goto(`${srv.url}/chats/${id}`);
      for (const p of [page, b]) {
        await answer(p, 'You said: three');
        await p.getByText('live', { exact: true }).waitFor();
      }
      // A background tab gets no animation frames: act in the front one.
      await page.bringToFront();
      const two = page.locator('.messages .msg.user').filter({ has: page.locator('.md', { hasText: /^two$/ }) });
      await two.getByRole('button', { name: 'Edit' }).click();
      await page.getByLabel('Edit message').fill('two, edited');
      await page.getByRole('button', { name: 'Save and rerun' }).click();
      // The chat was idle before the click too: wait for the rerun's
      // answer, then for the chat to settle.
      let want;
      await until('the rerun answered', async () => {
        const server = (await srv.api('GET', `/chats/${id}/messages`)).body.messages;
        want = server.map((m) => `${m.seq} ${m.role} ${m.parts.map((x) => x.text || '').join('')}`);
        return want.some((x) => x.endsWith('You said: two, edited')) && (await status(id)) === 'waiting';
      }, T);
      const shown = (p) => p.locator('.messages > li').evaluateAll((els) => els.map((e) =>
        `${e.dataset.seq} ${[...e.classList].find((c) => c !== 'msg')} ${[...e.querySelectorAll('.md')].map((m) => m.textContent).join('')}`));
      for (const [name, p] of [['the editing tab', page], ['the other tab', b]]) {
        await until(`${name} shows the server's messages`, async () => JSON.stringify(await shown(p)) === JSON.stringify(want), 5000)
          .catch(async (e) => { assert.deepEqual(await shown(p), want, `${name}: ${e.message}`); });
      }
      assert.equal(await b.locator('.messages', { hasText: 'three' }).count(), 0, 'the deleted messages are gone from the other tab');
      await shot(b, '04c-edit-other-tab');
      assert.deepEqual(bw.errors, []);
    } finally {
      await b.close();
    }
  });

  test('a late POST answer does not undo the live status', async () => {
    const id = await chat(page, 'Race chat', 'warm up');
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
    await idle(id);
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
    await idle(bid);
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

  test('the composer stays in view in a long chat', async () => {
    const long = Array.from({ length: 60 }, (_, i) => `line ${i + 1}`).join('\n\n');
    const id = await chat(page, 'Long chat', long, { wait: false });
    await page.goto(`${srv.url}/chats/${id}`);
    await answer(page, 'line 60');
    await page.evaluate(() => window.scrollTo(0, 0));
    const box = await page.locator('form.composer').boundingBox();
    const vh = page.viewportSize().height;
    assert.ok(box.y + box.height <= vh + 1 && box.y > 0, `composer at ${box.y}+${box.height}, viewport ${vh}`);
    assert.ok(await page.getByRole('button', { name: 'Send', exact: true }).isVisible());
    assert.ok(await page.locator('.composer .badge').isVisible(), 'status next to the composer');
    await shot(page, '02b-long-chat-top');
  });

  test('reconnect after a network drop without loss or duplicates', async () => {
    const id = await chat(page, 'Reconnect chat', 'before the drop', { wait: false });
    await page.goto(`${srv.url}/chats/${id}`);
    await answer(page, 'You said: before the drop');
    await ctx.setOffline(true);
    await page.evaluate(() => window.dispatchEvent(new Event('offline')));
    const sent = await srv.api('POST', `/chats/${id}/messages`, { message: 'while offline' });
    assert.ok(sent.status === 201 || sent.status === 202, JSON.stringify(sent.body));
    await idle(id);
    await ctx.setOffline(false);
    await page.evaluate(() => window.dispatchEvent(new Event('online')));
    await answer(page, 'You said: while offline');
    const seqs = await page.locator('.messages > li').evaluateAll((els) => els.map((e) => e.dataset.seq));
    assert.equal(new Set(seqs).size, seqs.length, `duplicate messages: ${seqs}`);
    assert.equal(await page.locator('.messages .msg.user', { hasText: 'while offline' }).count(), 1);
    assert.equal(await page.locator('.messages .msg.assistant', { hasText: 'You said: before the drop' }).count(), 1);
  });

  test('XSS: model output renders inert', async () => {
    const evil = '<script>window.__xss=1</script> <img src=x onerror="window.__xss=2"> ' +
      '[click me](javascript:window.__xss=3) <a href="javascript:window.__xss=4">raw</a> javascript:window.__xss=5 ' +
      '[data](data:text/html,hi) [ok](https://example.com/)';
    const id = await chat(page, 'XSS chat', evil, { wait: false });
    await page.goto(`${srv.url}/chats/${id}`);
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

  test('a subagent spawned mid-turn is linked at once, and its status follows', async () => {
    // The parent stays "running" from before the spawn until long after
    // it: a long answer, then the spawn and another long answer from the
    // queue. The link must not wait for the parent's status to change.
    const id = await chat(page, 'Parent chat', words(60, 'a'), { wait: false });
    ids.parent = id;
    await page.goto(`${srv.url}/chats/${id}`);
    await page.locator('.msg.streaming').waitFor();
    assert.equal(await page.locator('.children a').count(), 0, 'no subagent yet');
    for (const message of ['please spawn_agent to check the weather', words(200, 'b')]) {
      const q = await srv.api('POST', `/chats/${id}/messages`, { message });
      assert.equal(q.status, 202, JSON.stringify(q.body));
    }
    const link = page.locator('.children li a').first();
    await link.waitFor();
    assert.equal(await status(id), 'running', 'the subagent was linked while the parent was still running');
    const kids = (await srv.api('GET', `/chats/${id}/children`)).body.chats;
    assert.equal(kids.length, 1, 'one child');
    assert.equal(await page.locator('.children li').count(), 1);
    assert.equal(await page.locator('.children li').getAttribute('data-chat'), kids[0].id);
    // The child finishes long before the parent: its badge follows.
    await idle(kids[0].id);
    await page.locator('.children li .badge', { hasText: 'idle' }).waitFor({ timeout: 6000 });
    assert.equal(await status(id), 'running', 'the child\'s status showed while the parent was still running');
    await shot(page, '06a-subagent-linked');
    await link.click();
    await page.getByText('Subagent of').waitFor();
    await shot(page, '06-subagent');
    assert.equal((await srv.api('POST', `/chats/${id}/interrupt`)).status, 200);
    await idle(id);
  });

  test('compact a chat, see why when there is nothing to compact', async () => {
    const short = await chat(page, 'Short chat', 'just one');
    await page.goto(`${srv.url}/chats/${short}`);
    await answer(page, 'You said: just one');
    await page.getByRole('button', { name: 'Compact' }).click();
    await page.locator('#toast.error', { hasText: 'Nothing to compact' }).waitFor();

    const id = await chat(page, 'Compact chat', 'turn one');
    await say(id, 'turn two');
    await say(id, 'turn three');
    await page.goto(`${srv.url}/chats/${id}`);
    await answer(page, 'You said: turn three');
    await page.getByText('live', { exact: true }).waitFor();
    await page.getByRole('button', { name: 'Compact' }).click();
    await page.locator('.messages .msg.summary', { hasText: 'Earlier messages were summarised' }).waitFor();
    const msgs = (await srv.api('GET', `/chats/${id}/messages`)).body.messages;
    assert.ok(msgs.some((m) => m.role === 'summary'), 'the server has a summary');
    await shot(page, '16-compacted');
  });

  test('the cost line says when some messages are unmetered', async () => {
    const id = await chat(page, 'Interrupted chat', words(200, 'c'), { wait: false });
    await page.goto(`${srv.url}/chats/${id}`);
    await page.locator('.msg.streaming', { hasText: 'c3' }).waitFor();
    await page.getByRole('button', { name: 'Interrupt', exact: true }).click();
    await idle(id);
    const cost = (await srv.api('GET', `/chats/${id}/cost`)).body;
    assert.ok(cost.unmetered_messages >= 1, `the interrupted answer is unmetered: ${JSON.stringify(cost)}`);
    // The kept partial answer says, in words, that it was cut short.
    const msgs = (await srv.api('GET', `/chats/${id}/messages`)).body.messages;
    assert.deepEqual(msgs.map((m) => `${m.role}:${m.end_reason || ''}`), ['user:', 'assistant:interrupted'], JSON.stringify(msgs));
    const kept = page.locator('.messages .msg.assistant', { hasText: 'c3' });
    await kept.locator('.ended', { hasText: 'Interrupted' }).waitFor();
    assert.equal(await page.locator('.messages .ended').count(), 1, 'only the partial answer is marked');
    const line = page.locator('.cost', { hasText: 'unmetered' });
    await line.waitFor();
    assert.match(await line.textContent(), /^Cost: (at least \$|unknown).*\d+ messages? unmetered/);
    await shot(page, '17-unmetered-cost');
  });

  test('delete a chat after confirming', async () => {
    const id = await chat(page, 'Doomed chat', 'delete me');
    await page.goto(`${srv.url}/chats/${id}`);
    await answer(page, 'You said: delete me');
    await page.getByRole('button', { name: 'Delete', exact: true }).click();
    await confirm(page, 'Cancel');
    assert.equal((await srv.api('GET', `/chats/${id}`)).status, 200, 'cancel keeps the chat');
    await page.getByRole('button', { name: 'Delete', exact: true }).click();
    await confirm(page, 'Delete chat');
    await page.getByRole('heading', { name: 'Chats', exact: true }).waitFor();
    assert.equal(new URL(page.url()).pathname, '/chats');
    assert.equal((await srv.api('GET', `/chats/${id}`)).status, 404);
    assert.equal(await page.getByRole('link', { name: 'Doomed chat' }).count(), 0);
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

  test('set, replace and remove (after asking) a BYOK key', async () => {
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
    await confirm(page, 'Cancel');
    assert.equal((await srv.api('GET', '/provider-keys')).body.provider_keys.length, 1, 'cancel keeps the key');
    await page.getByRole('button', { name: 'Remove key for dev-openai' }).click();
    await confirm(page, 'Remove');
    await page.locator('[data-provider="dev-openai"]').waitFor({ state: 'detached' });
    assert.equal((await srv.api('GET', '/provider-keys')).body.provider_keys.length, 0);
  });

  test('personal settings keep an override of a since-disabled model', async () => {
    // A spare model, picked as an override by the admin, bob and the
    // deployment, then disabled.
    const mk = await srv.api('POST', '/models', { provider: 'dev-openai', model: 'spare-echo', display_name: 'Spare echo' });
    assert.equal(mk.status, 201, JSON.stringify(mk.body));
    const spare = mk.body.id;
    ids.spare = spare;
    for (const [path, key] of [['/settings/me', undefined], ['/settings/me', bobKey], ['/settings/deployment', undefined]]) {
      const r = await srv.api('PATCH', path, { models: { [path === '/settings/deployment' ? 'subagent' : 'title']: spare } }, key);
      assert.equal(r.status, 200, JSON.stringify(r.body));
    }
    assert.equal((await srv.api('PATCH', `/models/${spare}`, { enabled: false })).status, 200);

    const patches = [];
    page.on('request', (r) => { if (r.method() === 'PATCH' && r.url().endsWith('/settings/me')) patches.push(JSON.parse(r.postData())); });
    await page.goto(srv.url + '/settings');
    const title = page.getByLabel('Title model');
    await until('the override is shown', async () => (await title.inputValue()) === spare, 5000);
    assert.equal(await title.locator('option:checked').textContent(), 'Spare echo (dev-openai) (disabled)');
    await page.getByLabel('Debug recording', { exact: true }).selectOption('true');
    await page.getByLabel('Compaction threshold (% of the context)').fill('70');
    await page.getByRole('button', { name: 'Save settings' }).click();
    await page.getByText('Settings saved.').waitFor();
    let s = (await srv.api('GET', '/settings/me')).body;
    assert.equal(s.debug_recording, true);
    assert.equal(s.compaction_threshold_percent, 70);
    assert.equal(s.models.title, spare, 'saving other settings keeps the disabled override');
    assert.deepEqual(patches.at(-1), { debug_recording: true, compaction_threshold_percent: 70 }, 'only changed fields are sent');

    await page.reload();
    await until('kept after a reload', async () => (await page.getByLabel('Compaction threshold (% of the context)').inputValue()) === '70', 5000);
    assert.equal(await page.getByLabel('Debug recording', { exact: true }).inputValue(), 'true');
    await page.getByLabel('Compaction threshold (% of the context)').fill('');
    await page.getByRole('button', { name: 'Save settings' }).click();
    await page.getByText('Settings saved.').waitFor();
    s = (await srv.api('GET', '/settings/me')).body;
    assert.equal(s.compaction_threshold_percent, null, 'an emptied field inherits again');
    assert.equal(s.models.title, spare);
    assert.deepEqual(patches.at(-1), { compaction_threshold_percent: null });
  });

  test('debug viewer shows the recorded runs', async () => {
    // Personal debug recording is on (previous test): the turn is recorded.
    const cid = await chat(page, 'Debug chat', 'record this');
    ids.debug = cid;
    await page.goto(`${srv.url}/chats/${cid}/debug`);
    await page.getByRole('heading', { name: 'Debug: Debug chat' }).waitFor();
    const runs = (await srv.api('GET', `/chats/${cid}/debug/runs`)).body.runs;
    assert.ok(runs.some((r) => r.kind === 'chat_turn'), `a chat_turn run: ${JSON.stringify(runs)}`);
    await page.locator('tr[data-run]').first().waitFor();
    assert.equal(await page.locator('tr[data-run]').count(), runs.length);
    const turn = runs.find((r) => r.kind === 'chat_turn');
    await page.locator(`tr[data-run="${turn.id}"]`).getByRole('button', { name: /^Open/ }).click();
    await page.getByRole('heading', { name: 'Run: chat_turn, completed' }).waitFor();
    assert.ok((await page.locator('article.step').count()) >= 1, 'steps are shown');
    await page.locator('details.attempt summary').first().click();
    await page.locator('details.attempt[open]').getByText('Request headers').waitFor();
    assert.equal(await page.getByText('not available').count(), 0);
    // The per-chat override.
    await page.getByLabel('Debug recording').selectOption('false');
    await page.getByText('Debug recording updated.').waitFor();
    assert.equal((await srv.api('GET', `/chats/${cid}`)).body.chat.debug, false);
    await shot(page, '08-debug');
  });

  test('admin creates a provider and a model', async () => {
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
    assert.equal(m.compaction_threshold_percent, null);

    // Edit it: a compaction threshold of its own and the Responses API.
    const mcard = page.locator('[data-model="e2e-model"]');
    await mcard.getByText('Edit', { exact: true }).click();
    await mcard.getByLabel(/Compact chats at/).fill('65');
    await mcard.getByLabel('Call through the Responses API').check();
    await mcard.getByRole('button', { name: 'Save model e2e-model' }).click();
    await page.getByText('Model saved.').waitFor();
    let saved = (await srv.api('GET', `/models/${m.id}`)).body;
    assert.equal(saved.compaction_threshold_percent, 65);
    assert.equal(saved.use_responses_api, true);
    // Emptying the threshold makes the model inherit again.
    const again = page.locator('[data-model="e2e-model"]');
    await again.getByText('Edit', { exact: true }).click();
    await again.getByLabel(/Compact chats at/).fill('');
    await again.getByRole('button', { name: 'Save model e2e-model' }).click();
    await page.getByText('Model saved.').first().waitFor();
    await until('the threshold cleared', async () => (await srv.api('GET', `/models/${m.id}`)).body.compaction_threshold_percent === null);
    saved = (await srv.api('GET', `/models/${m.id}`)).body;
    assert.equal(saved.use_responses_api, true, 'saving again keeps the Responses API switch');
    await shot(page, '11-admin-models');
  });

  test('admin changes and saves deployment settings', async () => {
    const echo = (await srv.api('GET', '/models')).body.models.find((m) => m.model === 'fake-echo');
    const patches = [];
    page.on('request', (r) => { if (r.method() === 'PATCH' && r.url().endsWith('/settings/deployment')) patches.push(JSON.parse(r.postData())); });
    await page.getByRole('link', { name: 'Deployment' }).click();
    await page.getByRole('heading', { name: 'Deployment settings' }).waitFor();
    await page.getByText('Forced for everyone: no (the server\'s --debug-recording flag is off).').waitFor();
    assert.equal(await page.getByRole('checkbox', { name: /force/i }).count(), 0, 'the forced flag is not editable');
    const sub = page.getByLabel('Subagent model');
    assert.equal(await sub.inputValue(), ids.spare, 'the disabled override is shown');
    assert.equal(await sub.locator('option:checked').textContent(), 'Spare echo (dev-openai) (disabled)');
    await page.getByLabel('Debug recording on by default').check();
    await page.getByLabel('Title model').selectOption(echo.id);
    await page.getByLabel('Compaction threshold (% of the context)').fill('70');
    await page.getByRole('button', { name: 'Save', exact: true }).click();
    await page.getByText('Deployment settings saved.').waitFor();
    assert.equal(await page.locator('form .error').textContent(), '');
    assert.deepEqual(patches.at(-1), { debug_recording: true, models: { title: echo.id }, compaction_threshold_percent: 70 });
    let d = (await srv.api('GET', '/settings/deployment')).body;
    assert.equal(d.debug_recording, true);
    assert.equal(d.models.title, echo.id);
    assert.equal(d.models.subagent, ids.spare, 'the disabled override is kept');
    assert.equal(d.compaction_threshold_percent, 70);

    await page.reload();
    await page.getByRole('button', { name: 'Save', exact: true }).waitFor();
    assert.equal(await page.getByLabel('Debug recording on by default').isChecked(), true);
    assert.equal(await page.getByLabel('Title model').inputValue(), echo.id);
    assert.equal(await page.getByLabel('Compaction threshold (% of the context)').inputValue(), '70');
    await shot(page, '12-admin-deployment');

    // Emptied: back to the default; "None" clears an override.
    await page.getByLabel('Compaction threshold (% of the context)').fill('');
    await page.getByLabel('Title model').selectOption('');
    await page.getByLabel('Debug recording on by default').uncheck();
    await page.getByRole('button', { name: 'Save', exact: true }).click();
    await page.getByText('Deployment settings saved.').waitFor();
    assert.deepEqual(patches.at(-1), { debug_recording: false, models: { title: null }, compaction_threshold_percent: null });
    d = (await srv.api('GET', '/settings/deployment')).body;
    assert.deepEqual([d.debug_recording, d.models.title, d.compaction_threshold_percent], [false, null, 80]);
    await page.reload();
    await page.getByRole('button', { name: 'Save', exact: true }).waitFor();
    assert.equal(await page.getByLabel('Compaction threshold (% of the context)').inputValue(), '80');
    assert.equal(await page.getByLabel('Title model').inputValue(), '');
  });

  test('admin usage: chat titles, a chat filter and older pages', async () => {
    // More calls than a page holds, none of them from a chat.
    const call = () => fetch(`${srv.url}/gateway/dev-openai/v1/chat/completions`, {
      method: 'POST', headers: { Authorization: `Bearer ${srv.adminKey}`, 'Content-Type': 'application/json' },
      body: JSON.stringify({ model: 'fake-echo', messages: [{ role: 'user', content: 'hi' }] }),
    }).then((r) => r.text());
    const count = async () => (await srv.api('GET', '/gateway/interceptions?limit=500')).body.interceptions.length;
    const before = await count();
    for (let i = 0; i < 10; i++) await Promise.all(Array.from({ length: 10 }, call));
    // The gateway records a call just after answering it.
    await until('100 more calls recorded', async () => (await count()) === before + 100, 5000);
    const total = before + 100;

    await page.getByRole('link', { name: 'Usage', exact: true }).click();
    await page.getByRole('heading', { name: 'Usage', exact: true }).waitFor();
    const rows = page.locator('table.interceptions tbody tr');
    await rows.first().waitFor();
    assert.equal(await rows.count(), 50);
    await page.locator('svg.chart rect').first().waitFor();
    await page.getByRole('button', { name: 'Older calls' }).click();
    await until('a second page', async () => (await rows.count()) === 100, 5000);
    await page.getByRole('button', { name: 'Older calls' }).click();
    await until('a third page', async () => (await rows.count()) === Math.min(total, 150), 5000)
      .catch(async (e) => { throw new Error(`${e.message}: ${await rows.count()} rows of ${total}; ${await page.locator('.pager').textContent()}`); });
    const shownIDs = await rows.evaluateAll((trs) => trs.map((t) => t.dataset.id));
    assert.equal(new Set(shownIDs).size, shownIDs.length, 'no call twice');
    const all = (await srv.api('GET', '/gateway/interceptions?limit=500')).body.interceptions.map((i) => i.id);
    assert.deepEqual(shownIDs, all.slice(0, shownIDs.length), 'pages follow on, newest first');

    // The chat column names the chat; the filter narrows the list to it.
    const mine = (await srv.api('GET', `/gateway/interceptions?chat=${ids.first}`)).body.interceptions;
    assert.ok(mine.length >= 1);
    await page.getByLabel('Chat', { exact: true }).fill(ids.first);
    await page.getByRole('button', { name: 'Apply' }).click();
    await until('filtered by chat', async () => (await rows.count()) === mine.length &&
      (await rows.locator('td.chat a', { hasText: 'First browser chat' }).count()) === mine.length, 5000);
    await page.getByText('Only the calls of chat First browser chat').waitFor();
    await shot(page, '13-admin-usage');
    await page.getByRole('button', { name: 'Show every chat' }).click();
    await until('unfiltered', async () => (await rows.count()) === 50, 5000);
    // Another chat's calls, by its row.
    const row = rows.filter({ has: page.locator('td.chat a', { hasText: 'Parent chat' }) }).first();
    await page.getByLabel('Chat', { exact: true }).fill(ids.parent);
    await page.getByRole('button', { name: 'Apply' }).click();
    await row.waitFor();
    await row.getByRole('button', { name: 'Only the calls of chat Parent chat' }).click();
    const parentCalls = (await srv.api('GET', `/gateway/interceptions?chat=${ids.parent}`)).body.interceptions;
    await until('the row filter', async () => (await rows.count()) === parentCalls.length, 5000);
    assert.ok(await rows.locator('td.chat', { hasText: '(subagent)' }).count() >= 1, 'subagent calls are marked');
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

  test('no page scrolls sideways at 360px', async () => {
    const mctx = await browser.newContext({ viewport: PHONE });
    mctx.setDefaultTimeout(T);
    const mp = await mctx.newPage();
    const mw = watch(mp);
    try {
      await signIn(mp, srv.url, 'admin', ADMIN_PW);
      // A call to a provider that cannot be reached leaves a long error in
      // the usage table.
      const pr = await srv.api('POST', '/providers', { name: 'unreachable', type: 'openai', base_url: 'http://127.0.0.1:1/v1', api_key: 'sk-unreachable-000' });
      assert.equal(pr.status, 201, JSON.stringify(pr.body));
      assert.equal((await srv.api('POST', '/models', { provider: 'unreachable', model: 'nowhere' })).status, 201);
      await fetch(`${srv.url}/gateway/unreachable/v1/chat/completions`, {
        method: 'POST', headers: { Authorization: `Bearer ${srv.adminKey}`, 'Content-Type': 'application/json' },
        body: JSON.stringify({ model: 'nowhere', messages: [{ role: 'user', content: 'hi' }] }), signal: AbortSignal.timeout(15000),
      }).then((r) => r.text());
      const pages = [
        ['chats', '/chats', () => mp.getByRole('link', { name: 'First browser chat' }).waitFor()],
        ['new-chat', '/chats/new', () => mp.getByLabel('Model').waitFor()],
        ['chat', `/chats/${ids.parent}`, () => mp.locator('.children li').waitFor()],
        ['debug-chat', `/chats/${ids.debug}`, () => answer(mp, 'You said: record this')],
        ['debug', `/chats/${ids.debug}/debug`, async () => {
          await mp.locator('tr[data-run]').first().getByRole('button', { name: /^Open/ }).click();
          await mp.locator('details.attempt summary').first().click();
          await mp.locator('details.attempt[open]').getByText('Response body').waitFor();
        }],
        ['settings', '/settings', () => mp.locator('tr[data-key]').first().waitFor()],
        ['my-usage', '/usage', () => mp.locator('table.interceptions tbody tr').first().waitFor()],
        ['admin-users', '/admin/users', () => mp.locator('tr[data-user="bob"]').waitFor()],
        ['admin-providers', '/admin/providers', () => mp.locator('[data-provider="dev-openai"]').waitFor()],
        ['admin-models', '/admin/models', () => mp.locator('[data-model="fake-echo"]').first().waitFor()],
        ['admin-deployment', '/admin/deployment', () => mp.getByLabel('Title model').waitFor()],
        ['admin-usage', '/admin/usage', () => mp.locator('table.interceptions tbody tr').first().waitFor()],
      ];
      const wide = [];
      for (const [name, path, ready] of pages) {
        await mp.goto(srv.url + path);
        await ready();
        const over = await overflow(mp);
        if (over > 0) wide.push(`${path} is ${over}px too wide`);
        await shot(mp, `20-360px-${name}`);
      }
      // The usage page's long error stays on one line, readable on demand.
      const err = mp.locator('table.interceptions details.err').first();
      await err.waitFor();
      const h = await err.locator('summary').evaluate((e) => e.getBoundingClientRect().height);
      assert.ok(h < 40, `error summary is one line (${h}px)`);
      await err.locator('summary').click();
      await err.locator('.full').waitFor();
      const ticks = await mp.locator('svg.chart text.tick').evaluateAll((ts) => ts.map((t) => t.getBoundingClientRect().height));
      assert.ok(ticks.length > 0);
      for (const th of ticks) assert.ok(th >= 11, `chart label ${th}px high`);
      assert.deepEqual(wide, []);
      assert.deepEqual(mw.errors, []);
    } finally {
      await mctx.close();
    }
  });

  test('contrast: focus ring and toasts, light and dark', async () => {
    for (const scheme of ['light', 'dark']) {
      const c = await browser.newContext({ viewport: DESKTOP, colorScheme: scheme });
      try {
        const p = await c.newPage();
        await signIn(p, srv.url, 'admin', ADMIN_PW);
        await p.goto(`${srv.url}/chats/${ids.debug}`);
        await answer(p, 'You said: record this');
        // The focus ring of a keyboard-focused button against the page.
        await p.getByRole('button', { name: 'Compact' }).focus();
        await p.keyboard.press('Shift+Tab');
        await p.keyboard.press('Tab');
        const ring = await p.evaluate(() => {
          const a = document.activeElement;
          const s = getComputedStyle(a);
          return { visible: a.matches(':focus-visible'), outline: s.outlineColor, style: s.outlineStyle, width: parseFloat(s.outlineWidth),
            bg: getComputedStyle(document.body).backgroundColor, text: a.textContent };
        });
        assert.equal(ring.text, 'Compact');
        assert.ok(ring.visible && ring.style === 'solid' && ring.width >= 2, JSON.stringify(ring));
        const rr = contrast(ring.outline, ring.bg);
        assert.ok(rr >= 3, `${scheme} focus ring ${ring.outline} on ${ring.bg}: ${rr.toFixed(2)}:1`);
        // An error toast (nothing to compact in a one-turn chat).
        await p.keyboard.press('Enter');
        const t = p.locator('#toast.error', { hasText: 'Nothing to compact' });
        await t.waitFor();
        const tc = await t.evaluate((e) => ({ fg: getComputedStyle(e).color, bg: getComputedStyle(e).backgroundColor }));
        const tr = contrast(tc.fg, tc.bg);
        assert.ok(tr >= 4.5, `${scheme} error toast ${tc.fg} on ${tc.bg}: ${tr.toFixed(2)}:1`);
        await shot(p, `18-toast-${scheme}`);
        // Text colours of the theme against its backgrounds.
        const pairs = await p.evaluate(() => {
          const v = (n) => { const e = document.createElement('span'); e.style.color = `var(${n})`; document.body.append(e); const c = getComputedStyle(e).color; e.remove(); return c; };
          const out = [];
          for (const fg of ['--fg', '--muted', '--accent', '--danger', '--ok', '--warn']) {
            for (const bg of ['--bg', '--card']) out.push([fg, bg, v(fg), v(bg)]);
          }
          out.push(['--accent-fg', '--accent', v('--accent-fg'), v('--accent')]);
          return out;
        });
        for (const [fn, bn, fg, bg] of pairs) {
          const r = contrast(fg, bg);
          assert.ok(r >= 4.5, `${scheme} ${fn} on ${bn}: ${r.toFixed(2)}:1`);
        }
      } finally {
        await c.close();
      }
    }
  });

  test('a member has their own usage page but no admin pages', async () => {
    const mctx = await browser.newContext({ viewport: PHONE });
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

    // bob's title override points at the disabled spare model, which a
    // member cannot read: it still shows, and saving keeps it.
    const title = mp.getByLabel('Title model');
    await until('the override is shown', async () => (await title.inputValue()) === ids.spare, 5000);
    assert.match(await title.locator('option:checked').textContent(), /\(disabled or deleted\)$/);
    await mp.getByLabel('Debug recording', { exact: true }).selectOption('false');
    await mp.getByRole('button', { name: 'Save settings' }).click();
    await mp.getByText('Settings saved.').waitFor();
    const s = (await srv.api('GET', '/settings/me', null, bobKey)).body;
    assert.equal(s.debug_recording, false);
    assert.equal(s.models.title, ids.spare, 'saving keeps the override');

    // My usage, from bob's own chat.
    const id = await chat(mp, 'Bob chat', 'hello from bob', { wait: false });
    await idle(id, bobKey);
    await menu.click();
    await mp.getByRole('link', { name: 'My usage' }).click();
    await mp.getByRole('heading', { name: 'My usage' }).waitFor();
    await mp.locator('table.interceptions td.chat a', { hasText: 'Bob chat' }).first().waitFor();
    await mp.locator('svg.chart rect').first().waitFor();
    assert.equal(await mp.getByText(/Forbidden/).count(), 0);
    const users = await mp.locator('table.interceptions tbody tr').evaluateAll((trs) => trs.length);
    const own = (await srv.api('GET', '/gateway/interceptions', null, bobKey)).body.interceptions.length;
    assert.equal(users, own, 'bob sees his own calls');
    assert.equal(await overflow(mp), 0);
    await shot(mp, '15b-member-usage-360px');

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
    await mp.getByRole('link', { name: 'Bob chat' }).waitFor();
    await shot(mp, '15-member-chats-360px');
    assert.equal(await overflow(mp), 0, 'no horizontal scrolling at 360px');
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
