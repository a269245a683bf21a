// The Socket.IO Admin UI (@socket.io/admin-ui's own page, served at /admin/)
// in headless Chromium against the real server binary: log in, see the
// server's sockets and rooms, watch a new chat user appear, disconnect it
// from the UI and see its chat page reconnect as a new socket.
//
// Screenshots kept in test-results/: admin-ui-rooms.png (the Rooms view of
// /chat) and admin-ui-sockets.png (the Sockets view after the reconnect);
// failure-*.png when a test fails.
'use strict';

const { describe, test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const { execFileSync } = require('node:child_process');
const H = require('./helpers');
const server = require('../lib/server');

const T = { timeout: 30000 };
const PASSWORD = 'correct horse battery staple';

// socketId is the chat page's current Socket.IO id.
const socketId = (page) => page.evaluate(() => window.chat.socket.id);

describe('admin UI in Chromium', { skip: H.noBrowser }, () => {
  const env = {};
  const getEnv = () => env;

  before(async () => {
    const hash = execFileSync(server.BIN, ['hash-password'], { input: PASSWORD + '\n' }).toString().trim();
    env.server = await H.startServer({ args: ['--admin-user', 'ops', '--admin-password-hash', hash] });
    env.browser = await H.launchBrowser();
  });

  after(async () => {
    if (env.browser) await env.browser.close().catch(() => {});
    if (env.server) await env.server.stop();
  });

  test('log in, see sockets and rooms, watch a user appear, disconnect it and see it come back', T, H.withSession(getEnv, async (s) => {
    const alice = await s.openRoom('alice', { room: 'lobby', name: 'alice' });
    const aliceId = await socketId(alice);

    const ui = await s.newPage('admin');
    assert.equal((await ui.goto(`${env.server.url}/admin/`)).status(), 200);
    // The server URL is this server's own (static/js/admin-defaults.js).
    assert.equal(await ui.getByLabel('Server URL').inputValue(), env.server.url);
    // A wrong password is refused, with the UI's message.
    await ui.getByLabel('Username').fill('ops');
    await ui.getByLabel('Password').fill('not the password');
    await ui.getByRole('button', { name: 'Connect' }).click();
    await ui.getByText('Invalid credentials').waitFor();
    await ui.getByLabel('Password').fill(PASSWORD);
    await ui.getByRole('button', { name: 'Connect' }).click();
    await ui.locator('.v-chip', { hasText: /^\s*connected\s*$/i }).first().waitFor();

    // The sockets of /chat: alice's, over WebSocket.
    const nav = ui.getByRole('navigation');
    await nav.getByRole('link', { name: 'Sockets' }).click();
    await ui.getByLabel('Select namespace').click({ force: true });
    await ui.locator('.v-list-item', { hasText: '/chat' }).click();
    const aliceRow = ui.locator('tr', { hasText: aliceId });
    await aliceRow.waitFor();
    assert.match(await aliceRow.textContent(), /127\.0\.0\.1/);
    assert.match(await aliceRow.textContent(), /WebSocket/);

    // A new user appears while the view is open.
    const bob = await s.openRoom('bob', { room: 'lobby', name: 'bob' });
    const bobId = await socketId(bob);
    const bobRow = ui.locator('tr', { hasText: bobId });
    await bobRow.waitFor();

    // The rooms of /chat: lobby, with its two members.
    await nav.getByRole('link', { name: 'Rooms' }).click();
    const lobby = ui.locator('tr', { hasText: 'lobby' });
    await ui.locator('tr', { hasText: /^\s*lobby\s*public\s*2\s*$/i }).waitFor();
    fs.mkdirSync(H.RESULTS, { recursive: true });
    await ui.screenshot({ path: path.join(H.RESULTS, 'admin-ui-rooms.png') });

    // The room's own page lists both sockets.
    await lobby.locator('td').first().click();
    await ui.locator('tr', { hasText: aliceId }).waitFor();
    await ui.locator('tr', { hasText: bobId }).waitFor();

    // Disconnect bob from the Sockets view: his page says it is
    // reconnecting, then comes back as a new socket, in the room again.
    await nav.getByRole('link', { name: 'Sockets' }).click();
    await bobRow.locator('button:has(i.mdi-logout)').click();
    await bob.locator('#status[data-state="reconnecting"]').waitFor();
    await bob.locator('#status[data-state="connected"]').waitFor();
    await H.joined(bob);
    const bobAgain = await socketId(bob);
    assert.notEqual(bobAgain, bobId, 'a new socket, not a recovered one');
    // The others saw him leave and come back.
    await alice.locator('#members li', { hasText: 'bob' }).waitFor();

    // The UI shows the new socket and not the old one; alice's is untouched.
    await nav.getByRole('link', { name: 'Sockets' }).click();
    await ui.locator('tr', { hasText: bobAgain }).waitFor();
    await ui.waitForFunction((id) => ![...document.querySelectorAll('tr')].some((tr) => tr.offsetParent !== null && tr.textContent.includes(id)), bobId);
    await aliceRow.waitFor();
    assert.equal(await socketId(alice), aliceId);

    await ui.screenshot({ path: path.join(H.RESULTS, 'admin-ui-sockets.png') });
  }));
});
