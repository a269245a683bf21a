// Headless-Chromium tests of the pages against the real server binary.
//
//   go build -o bin/chatserver . && node --test test/browser/
//
// CHAT_BIN overrides the binary, CHROMIUM_PATH the browser (default
// /usr/bin/chromium; no browser is ever downloaded). Screenshots go to
// test-results/: room-two-users.png always, failure-*.png when a test fails.
'use strict';

const { describe, test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const H = require('./helpers');

const T = { timeout: 15000 };
const XSS = '<img src=x onerror=alert(1)>';

describe('chat pages in Chromium', { skip: H.noBrowser }, () => {
  const env = {};
  const getEnv = () => env;

  before(async () => {
    env.server = await H.startServer();
    env.browser = await H.launchBrowser();
  });

  after(async () => {
    if (env.browser) await env.browser.close().catch(() => {});
    if (env.server) await env.server.stop();
  });

  test('two users chat both ways; own messages show at once and are reconciled', T, H.withSession(getEnv, async (s) => {
    const alice = await s.openRoom('alice', { room: 'duo', name: 'alice' });
    const bob = await s.openRoom('bob', { room: 'duo', name: 'bob' });

    // Both see both members.
    for (const page of [alice, bob]) {
      await page.locator('#members li', { hasText: 'alice' }).waitFor();
      await page.locator('#members li', { hasText: 'bob' }).waitFor();
    }
    assert.equal(await alice.locator('#members li').count(), 2);

    // The sender's copy is in the page in the same task as the click, before
    // any answer can arrive: pending. Then the ack turns it into sent.
    const immediate = await alice.evaluate(() => {
      document.getElementById('message-input').value = 'hello bob';
      document.getElementById('send').click();
      const all = document.querySelectorAll('#messages .message');
      const last = all[all.length - 1];
      return { state: last.getAttribute('data-state'), text: last.querySelector('.text').textContent, from: last.querySelector('.from').textContent };
    });
    assert.deepEqual(immediate, { state: 'pending', text: 'hello bob', from: 'alice' });
    await H.message(alice, 'hello bob', 'sent').waitFor();
    const sentId = await H.message(alice, 'hello bob').getAttribute('data-id');
    assert.match(sentId, /^\d+$/);

    // bob receives it with the same server id.
    const atBob = H.message(bob, 'hello bob', 'sent');
    await atBob.waitFor();
    assert.equal(await atBob.locator('.from').textContent(), 'alice');
    assert.equal(await atBob.getAttribute('data-id'), sentId);

    // And back, this time with the Enter key path for bob.
    await H.send(bob, 'hi alice');
    assert.match(await H.message(bob, 'hi alice').getAttribute('data-state'), /^(pending|sent)$/);
    await H.message(bob, 'hi alice', 'sent').waitFor();
    await H.message(alice, 'hi alice', 'sent').waitFor();
    assert.equal(await H.message(alice, 'hi alice').locator('.from').textContent(), 'bob');
    assert.equal(await alice.locator('#messages .message').count(), 2);
    assert.equal(await bob.locator('#messages .message').count(), 2);

    // One more from alice with the Send button, then a screenshot of the
    // room with bob's cursor on alice's board.
    await H.send(alice, 'the board on the right shows everyone\u2019s cursor', { click: true });
    await H.message(bob, 'the board on the right shows everyone\u2019s cursor', 'sent').waitFor();
    await bob.locator('#status .transport', { hasText: 'websocket' }).waitFor();
    const bobId = await H.userId(bob);
    await moveUntilSeen(bob, alice, bobId, 0.62, 0.4);
    await alice.locator('#status .rtt', { hasText: /\d+ ms/ }).waitFor();
    fs.mkdirSync(H.RESULTS, { recursive: true });
    await alice.screenshot({ path: path.join(H.RESULTS, 'room-two-users.png') });
  }));

  test('a user who joins late sees the history in order', T, H.withSession(getEnv, async (s) => {
    const alice = await s.openRoom('alice', { room: 'history', name: 'hist_alice' });
    const bob = await s.openRoom('bob', { room: 'history', name: 'hist_bob' });
    const lines = ['first', 'second', 'third'];
    await H.send(alice, lines[0]);
    await H.message(bob, lines[0]).waitFor();
    await H.send(bob, lines[1]);
    await H.message(alice, lines[1]).waitFor();
    await H.send(alice, lines[2]);
    await H.message(bob, lines[2]).waitFor();
    await H.message(alice, lines[2], 'sent').waitFor();

    const carol = await s.openRoom('carol', { room: 'history', name: 'hist_carol' });
    await H.message(carol, lines[2]).waitFor();
    const seen = await carol.$$eval('#messages .message', (els) => els.map((e) => ({
      from: e.querySelector('.from').textContent,
      text: e.querySelector('.text').textContent,
      state: e.getAttribute('data-state'),
    })));
    assert.deepEqual(seen, [
      { from: 'hist_alice', text: 'first', state: 'sent' },
      { from: 'hist_bob', text: 'second', state: 'sent' },
      { from: 'hist_alice', text: 'third', state: 'sent' },
    ]);
    assert.equal(await carol.locator('#members li').count(), 3);
    // The others learn about carol.
    await alice.locator('#members li', { hasText: 'hist_carol' }).waitFor();
  }));

  test("a user's cursor moves on the other's board and goes away with the tab", T, H.withSession(getEnv, async (s) => {
    const alice = await s.openRoom('alice', { room: 'cursors', name: 'cur_alice' });
    const bob = await s.openRoom('bob', { room: 'cursors', name: 'cur_bob' });
    await alice.locator('#members li', { hasText: 'cur_bob' }).waitFor();
    const bobId = await H.userId(bob);

    const cursor = await moveUntilSeen(bob, alice, bobId, 0.25, 0.5);
    assert.equal(await cursor.locator('.cursor-name').textContent(), 'cur_bob');
    // Placed where bob's pointer is, relative to the board.
    await alice.waitForFunction((id) => {
      const c = document.querySelector(`#board .cursor[data-user-id="${id}"]`);
      return c && Math.abs(parseFloat(c.style.left) - 25) < 3 && Math.abs(parseFloat(c.style.top) - 50) < 3;
    }, bobId);
    // Nobody sees their own cursor.
    assert.equal(await bob.locator('#board .cursor').count(), 0);

    // It follows the pointer.
    await moveUntilSeen(bob, alice, bobId, 0.8, 0.2);
    await alice.waitForFunction((id) => {
      const c = document.querySelector(`#board .cursor[data-user-id="${id}"]`);
      return c && Math.abs(parseFloat(c.style.left) - 80) < 3 && Math.abs(parseFloat(c.style.top) - 20) < 3;
    }, bobId);

    await bob.close();
    await cursor.waitFor({ state: 'detached' });
    await alice.locator('#members li', { hasText: 'cur_bob' }).waitFor({ state: 'detached' });
    assert.equal(await alice.locator('#members li').count(), 1);
  }));

  test('a message the server refuses is marked failed with the reason and can be retried', T, H.withSession(getEnv, async (s) => {
    const alice = await s.openRoom('alice', { room: 'flood', name: 'flood_alice' });
    const bob = await s.openRoom('bob', { room: 'flood', name: 'flood_bob' });
    // More messages at once than the server's burst allowance.
    await alice.evaluate(() => {
      const input = document.getElementById('message-input');
      for (let i = 0; i < 20; i++) {
        input.value = 'burst ' + i;
        document.getElementById('send').click();
      }
    });
    await alice.waitForFunction(() => document.querySelectorAll('#messages .message[data-state="pending"]').length === 0);
    const failed = alice.locator('#messages .message[data-state="failed"]');
    const nFailed = await failed.count();
    assert.ok(nFailed > 0, 'some of the burst should be rate limited');
    assert.equal(await failed.first().getAttribute('data-error'), 'rate_limited');
    assert.match(await failed.first().locator('.note').textContent(), /Not sent: .*too fast/i);
    // bob got exactly the accepted ones.
    const nSent = await alice.locator('#messages .message[data-state="sent"]').count();
    assert.equal(nSent + nFailed, 20);
    await bob.waitForFunction((n) => document.querySelectorAll('#messages .message').length === n, nSent);

    // Retry the last one until the rate limiter lets it through.
    const last = H.message(alice, 'burst 19');
    for (let i = 0; i < 10 && (await last.getAttribute('data-state')) !== 'sent'; i++) {
      await last.locator('.retry').click();
      await alice.waitForFunction(() => {
        const m = [...document.querySelectorAll('#messages .message')].pop();
        return m.getAttribute('data-state') !== 'pending';
      });
    }
    assert.equal(await last.getAttribute('data-state'), 'sent');
    await H.message(bob, 'burst 19', 'sent').waitFor();
  }));

  test('history older than the join page loads on demand, in order', T, H.withSession(getEnv, async (s) => {
    // 110 messages from 11 users (the rate limit is per user).
    const total = await H.seedMessages(s.baseURL, 'archive', 11, 10);
    assert.equal(total, 110);
    const page = await s.openRoom('reader', { room: 'archive', name: 'reader' });
    await page.locator('#messages .message').nth(99).waitFor();
    assert.equal(await page.locator('#messages .message').count(), 100);
    const more = page.locator('#load-older');
    await more.waitFor({ state: 'visible' });
    await more.click();
    await page.locator('#messages .message').nth(109).waitFor();
    await more.waitFor({ state: 'hidden' });
    const ids = await page.$$eval('#messages .message', (els) => els.map((e) => Number(e.getAttribute('data-id'))));
    assert.equal(ids.length, 110);
    assert.ok(ids.every((id, i) => i === 0 || id > ids[i - 1]), 'messages are in id order');
  }));

  test('a duplicate name shows a clear error and another name can be chosen', T, H.withSession(getEnv, async (s) => {
    await s.openRoom('first', { room: 'names', name: 'Dana' });
    const second = await s.openRoom('second', { room: 'names', name: 'dana', waitJoined: false });

    const error = second.locator('#error');
    await error.waitFor({ state: 'visible' });
    assert.equal(await error.getAttribute('data-code'), 'name_taken');
    assert.match(await error.textContent(), /already in use|taken/i);
    // The name form is still there, with the rejected name to edit.
    await second.locator('#register').waitFor({ state: 'visible' });
    assert.equal(await second.locator('#name-input').inputValue(), 'dana');

    await second.locator('#name-input').fill('dana2');
    await second.locator('#name-input').press('Enter');
    await H.joined(second);
    await error.waitFor({ state: 'hidden' });
    await second.locator('#register').waitFor({ state: 'hidden' });
    await second.locator('#members li', { hasText: 'Dana' }).first().waitFor();
    assert.equal(await second.locator('#members li').count(), 2);

    // Client-side validation names the rule before asking the server.
    const third = await s.openRoom('third', { room: 'names', name: 'no spaces', waitJoined: false });
    await third.locator('#error').waitFor({ state: 'visible' });
    assert.equal(await third.locator('#error').getAttribute('data-code'), 'name_invalid');
    assert.match(await third.locator('#error').textContent(), /letters, digits, _ or -/);
  }));

  test('markup in names and messages is shown as text and never runs', T, H.withSession(getEnv, async (s) => {
    const alice = await s.openRoom('alice', { room: 'xss', name: 'xss_alice' });

    // The name is refused, and shown back literally.
    const mallory = await s.openRoom('mallory', { room: 'xss', name: XSS, waitJoined: false });
    await mallory.locator('#error').waitFor({ state: 'visible' });
    assert.ok((await mallory.locator('#error').textContent()).includes(XSS));
    // The server refuses it too when the page's own check is bypassed.
    const direct = await mallory.evaluate((name) => new Promise((resolve) => {
      window.chat.socket.emit('register', { name }, resolve);
    }), XSS);
    assert.equal(direct.ok, false);
    assert.equal(direct.error.code, 'name_invalid');

    await mallory.locator('#name-input').fill('mallory');
    await mallory.locator('#register-submit').click();
    await H.joined(mallory);

    await H.send(mallory, XSS);
    for (const page of [mallory, alice]) {
      const m = H.message(page, XSS, 'sent');
      await m.waitFor();
      assert.equal(await m.locator('.text').textContent(), XSS);
      assert.equal(await page.locator('img').count(), 0, `${page.label}: an <img> element was created`);
    }

    // An invalid room in the URL: the index page with the error, as text.
    const res = await mallory.goto(`${s.baseURL}/rooms/${encodeURIComponent(XSS)}`);
    assert.equal(res.status(), 400);
    await mallory.locator('#error').waitFor({ state: 'visible' });
    assert.match(await mallory.locator('#error').textContent(), /room/i);
    assert.equal(await mallory.locator('img').count(), 0);
    assert.deepEqual(s.dialogs, []);
  }));

  test('a member who joins while the page waits for its own join answer is listed', T, H.withSession(getEnv, async (s) => {
    const alice = await s.openRoom('alice', { room: 'race', name: 'race_alice' });
    // bob's WebSocket goes through a relay that holds his join answer
    // until carol has joined and her "joined" event has reached him.
    const page = await s.newPage('bob');
    let releaseAck;
    const ackHeld = new Promise((resolve) => {
      releaseAck = resolve;
    });
    let sawAck;
    const ackSeen = new Promise((resolve) => {
      sawAck = resolve;
    });
    let sawJoined;
    const joinedSeen = new Promise((resolve) => {
      sawJoined = resolve;
    });
    await page.routeWebSocket(/\/socket\.io\//, (ws) => {
      const server = ws.connectToServer();
      ws.onMessage((m) => server.send(m));
      server.onMessage(async (m) => {
        if (typeof m === 'string' && m.startsWith('43') && m.includes('"members"')) {
          sawAck();
          await ackHeld;
        } else if (typeof m === 'string' && m.includes('"joined"') && m.includes('race_carol')) {
          sawJoined();
        }
        ws.send(m);
      });
    });
    const res = await page.goto(`${s.baseURL}/rooms/race`);
    assert.equal(res.status(), 200);
    await H.waitText(page, '#status .transport', /^websocket$/);
    await page.locator('#name-input').fill('race_bob');
    await page.locator('#register-submit').click();
    await ackSeen;
    const carol = require('sio-client-4')(`${s.baseURL}/chat`, { forceNew: true, transports: ['websocket'] });
    try {
      await new Promise((resolve, reject) => {
        carol.once('connect', resolve);
        carol.once('connect_error', reject);
      });
      await new Promise((resolve) => carol.emit('register', { name: 'race_carol' }, resolve));
      await new Promise((resolve) => carol.emit('join', { room: 'race' }, resolve));
      await joinedSeen;
      releaseAck();
      await H.joined(page);
      for (const name of ['race_alice', 'race_bob', 'race_carol']) {
        await page.locator('#members li', { hasText: name }).waitFor();
      }
      await alice.locator('#members li', { hasText: 'race_carol' }).waitFor();
    } finally {
      carol.close();
    }
  }));

  test('the Content-Security-Policy refuses inline script even where markup gets into the page', T, H.withSession(getEnv, async (s) => {
    const page = await s.openRoom('csp', { room: 'csp', name: 'csp_user' });
    // As if an escaping bug let markup through: an inline event handler and
    // an inline <script>. Both are refused, and reported as violations.
    const refused = await page.evaluate(() => new Promise((resolve) => {
      const seen = [];
      document.addEventListener('securitypolicyviolation', (e) => {
        seen.push(e.effectiveDirective);
        if (seen.length === 2) resolve(seen.sort());
      });
      const div = document.createElement('div');
      div.innerHTML = '<img src="data:," onerror="window.__ran = (window.__ran || 0) + 1">';
      document.body.appendChild(div);
      const script = document.createElement('script');
      script.textContent = 'window.__ran = (window.__ran || 0) + 1';
      document.body.appendChild(script);
    }));
    assert.deepEqual(refused, ['script-src-attr', 'script-src-elem']);
    assert.equal(await page.evaluate(() => window.__ran), undefined);
    // Expected here: the console reports both refusals.
    assert.ok(s.cspViolations.length >= 2, s.cspViolations.join('; '));
    s.cspViolations.length = 0;
  }));

  test('the legacy page works over long-polling alone with a modern user', T, H.withSession(getEnv, async (s) => {
    const modern = await s.openRoom('modern', { room: 'mixed', name: 'modern_max' });
    const legacyPage = await s.newPage('legacy');
    const sockets = [];
    const eio = new Set();
    legacyPage.on('websocket', (ws) => sockets.push(ws.url()));
    legacyPage.on('request', (r) => {
      const m = /\/socket\.io\/\?.*\bEIO=(\d)/.exec(r.url());
      if (m) eio.add(m[1]);
    });
    const res = await legacyPage.goto(`${s.baseURL}/legacy/rooms/mixed`);
    assert.equal(res.status(), 200);
    await legacyPage.locator('#name-input').fill('legacy_lou');
    await legacyPage.locator('#register-submit').click();
    await H.joined(legacyPage);

    // It really is the 2.x client (Engine.IO protocol 3), on polling.
    assert.deepEqual([...eio], ['3']);
    await H.waitText(legacyPage, '#status .transport', /^polling$/);
    await H.waitText(legacyPage, '#status .state', /^connected$/);
    await legacyPage.locator('#status .rtt', { hasText: /\d+ ms/ }).waitFor();

    await H.send(legacyPage, 'hello from 2.x');
    await H.message(legacyPage, 'hello from 2.x', 'sent').waitFor();
    await H.message(modern, 'hello from 2.x', 'sent').waitFor();
    await H.send(modern, 'hello from 4.x');
    await H.message(legacyPage, 'hello from 4.x', 'sent').waitFor();
    await legacyPage.locator('#members li', { hasText: 'modern_max' }).waitFor();
    await modern.locator('#members li', { hasText: 'legacy_lou' }).waitFor();

    // Still polling, and never tried a WebSocket.
    assert.equal(await legacyPage.evaluate(() => window.chat.socket.io.engine.transport.name), 'polling');
    assert.equal(await legacyPage.locator('#status .transport').textContent(), 'polling');
    assert.deepEqual(sockets, []);
  }));

  test('the modern page shows websocket after the upgrade, the RTT, and recovers from a dropped connection', T, H.withSession(getEnv, async (s) => {
    const alice = await s.openRoom('alice', { room: 'status', name: 'st_alice' });
    const bob = await s.openRoom('bob', { room: 'status', name: 'st_bob' });
    await H.waitText(alice, '#status .transport', /^websocket$/);
    await H.waitText(alice, '#status .state', /^connected$/);
    await H.waitText(alice, '#status .rtt', /^\d+ ms$/);
    await bob.locator('#members li', { hasText: 'st_alice' }).waitFor();

    // Bob's page notes whether alice is ever shown away.
    await bob.evaluate(() => {
      const list = document.querySelector('#members');
      window.__sawAway = false;
      new MutationObserver(() => {
        if (list.querySelector('li.away')) window.__sawAway = true;
      }).observe(list, { childList: true, subtree: true, attributes: true });
    });
    // Record every state the status line shows, then drop the connection.
    await alice.evaluate(() => {
      const el = document.querySelector('#status .state');
      window.__states = [];
      window.__registers = 0;
      const emit = window.chat.socket.emit;
      window.chat.socket.emit = function (event) {
        if (event === 'register' || event === 'join') window.__registers++;
        return emit.apply(this, arguments);
      };
      new MutationObserver(() => window.__states.push(el.textContent)).observe(el, { childList: true, characterData: true, subtree: true });
      window.chat.socket.io.engine.close();
    });
    await alice.waitForFunction(() => window.__states.includes('reconnecting'));
    // Posted while alice is away: it reaches her with the recovery.
    await H.send(bob, 'while you were away');
    await H.message(bob, 'while you were away', 'sent').waitFor();
    await H.waitText(alice, '#status .state', /^connected$/);
    await alice.waitForFunction(() => window.chat.state.joined);
    // Recovered: the same user in the same room, without registering or
    // joining again, and the message missed meanwhile is there, once.
    assert.equal(await alice.evaluate(() => window.chat.socket.recovered), true, 'socket.recovered');
    assert.equal(await alice.evaluate(() => window.__registers), 0, 'register/join sent again');
    await H.message(alice, 'while you were away', 'sent').waitFor();
    assert.equal(await H.message(alice, 'while you were away').count(), 1);
    await alice.locator('#members li.is-me', { hasText: 'st_alice' }).waitFor();
    await alice.locator('#members li', { hasText: 'st_bob' }).waitFor();
    await H.waitText(alice, '#status .transport', /^websocket$/);
    await H.send(alice, 'back again');
    await H.message(alice, 'back again', 'sent').waitFor();
    await H.message(bob, 'back again', 'sent').waitFor();
    // Bob saw alice away and back, never leave.
    await bob.locator('#members li:not(.away)', { hasText: 'st_alice' }).waitFor();
    assert.equal(await bob.evaluate(() => window.__sawAway), true, 'alice shown away');
    assert.equal(await bob.locator('#messages .notice', { hasText: 'st_alice left' }).count(), 0);
  }));

  test('pages recover by themselves when the server restarts', { timeout: 20000 }, H.withSession(getEnv, async (s) => {
    const alice = await s.openRoom('alice', { room: 'restart', name: 'rs_alice' });
    const bob = await s.openRoom('bob', { room: 'restart', name: 'rs_bob' });
    await H.send(alice, 'before the restart');
    await H.message(bob, 'before the restart', 'sent').waitFor();

    const { port, dataDir } = env.server;
    await env.server.stop({ keepData: true });
    await H.waitText(alice, '#status .state', /^reconnecting$/);
    await H.waitText(bob, '#status .state', /^reconnecting$/);
    env.server = await H.startServer({ port, dataDir });

    for (const page of [alice, bob]) {
      await H.waitText(page, '#status .state', /^connected$/, 12000);
      await page.waitForFunction(() => window.chat.state.joined, null, { timeout: 12000 });
      await page.locator('#members li', { hasText: 'rs_alice' }).waitFor();
      await page.locator('#members li', { hasText: 'rs_bob' }).waitFor();
    }
    await H.send(bob, 'after the restart');
    await H.message(alice, 'after the restart', 'sent').waitFor();
    // Nothing was duplicated by re-joining.
    assert.equal(await alice.locator('#messages .message').count(), 2);
    assert.equal(await bob.locator('#messages .message').count(), 2);
  }));

  test('the index lists active rooms with live counts and joins a room', T, H.withSession(getEnv, async (s) => {
    const page = await s.newPage('index');
    await s.openRoom('zoe', { room: 'idx-room', name: 'idx_zoe' });
    await page.goto(`${s.baseURL}/?room=idx-room`);
    assert.equal(await page.locator('#room-input').inputValue(), 'idx-room');
    const item = page.locator('#rooms li', { has: page.locator('a.room-link', { hasText: /^idx-room$/ }) });
    await item.waitFor();
    assert.equal(await item.locator('a').getAttribute('href'), '/rooms/idx-room');
    await item.locator('.room-count', { hasText: /^1$/ }).waitFor();

    // A second member shows up in the count without reloading.
    await s.openRoom('yan', { room: 'idx-room', name: 'idx_yan' });
    await item.locator('.room-count', { hasText: /^2$/ }).waitFor({ timeout: 6000 });

    // Invalid input is explained on the page.
    await page.locator('#name-input').fill('x'.repeat(25));
    await page.locator('#join').click();
    await page.locator('#error').waitFor({ state: 'visible' });
    assert.equal(await page.locator('#error').getAttribute('data-code'), 'name_invalid');
    assert.match(await page.locator('#error').textContent(), /at most 24/);

    // A valid form goes to the room (room lowercased) with the name kept.
    await page.locator('#name-input').fill('idx_xia');
    await page.locator('#room-input').fill('');
    await page.locator('#room-input').pressSequentially('Idx-Room');
    await page.locator('#join').click();
    await page.waitForURL(`${s.baseURL}/rooms/idx-room`);
    await H.joined(page);
    assert.equal(await page.locator('#members li').count(), 3);
    assert.equal(await page.locator('#name-dialog').isVisible(), false);
  }));
});

// moveUntilSeen moves `mover`'s pointer to (fx, fy) of its board until
// `watcher` shows the mover's cursor. Cursor events are volatile (they may be
// dropped, e.g. mid-upgrade), so the move is repeated a bounded number of
// times, each with an auto-waiting check in between.
async function moveUntilSeen(mover, watcher, moverId, fx, fy) {
  const box = await mover.locator('#board').boundingBox();
  const cursor = watcher.locator(`#board .cursor[data-user-id="${moverId}"]`);
  let lastErr;
  for (let i = 0; i < 5; i++) {
    const nudge = i % 2 ? 1 : -1;
    await mover.mouse.move(box.x + box.width * fx + nudge, box.y + box.height * fy, { steps: 4 });
    await mover.mouse.move(box.x + box.width * fx, box.y + box.height * fy, { steps: 2 });
    try {
      await watcher.waitForFunction(([id, x, y]) => {
        const c = document.querySelector(`#board .cursor[data-user-id="${id}"]`);
        return c && Math.abs(parseFloat(c.style.left) - x * 100) < 3 && Math.abs(parseFloat(c.style.top) - y * 100) < 3;
      }, [moverId, fx, fy], { timeout: 1500 });
      return cursor;
    } catch (e) {
      lastErr = e;
    }
  }
  throw lastErr;
}
