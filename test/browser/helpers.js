// Helpers for the headless-Chromium tests: start the real server binary,
// launch the system Chromium (never downloaded), open users in separate
// browser contexts, and keep screenshots of failures in test-results/.
'use strict';

const fs = require('node:fs');
const path = require('node:path');
const { chromium } = require('playwright-core');
const server = require('../lib/server');

const CHROMIUM = process.env.CHROMIUM_PATH || '/usr/bin/chromium';
// noBrowser is why the suites skip without Chromium (false when it is
// there); CI installs it and must not skip, so there it is an error.
const noBrowser = fs.existsSync(CHROMIUM)
  ? false
  : `no Chromium at ${CHROMIUM}: install Debian's chromium package (or set CHROMIUM_PATH)`;
if (noBrowser && process.env.CI === 'true') throw new Error(noBrowser);
const RESULTS = path.join(__dirname, '../../test-results');
const LAUNCH_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];
// Playwright actions and waits give up after this long (tests are bounded
// to ~15s each by the runner).
const WAIT_MS = 8000;

// startServer runs the real binary (see test/lib/server.js).
const startServer = server.start;

// launchBrowser starts Chromium; extraArgs add switches (the call tests'
// fake camera and microphone).
function launchBrowser(extraArgs = []) {
  return chromium.launch({ executablePath: CHROMIUM, args: [...LAUNCH_ARGS, ...extraArgs], timeout: 15000 });
}

function slug(s) {
  return s.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-|-$/g, '').slice(0, 60);
}

// Session tracks the browser contexts of one test so that they are all
// closed afterwards and screenshotted when the test fails. It also records
// JavaScript dialogs (which no page should ever open) and page errors.
class Session {
  constructor(browser, baseURL) {
    this.browser = browser;
    this.baseURL = baseURL;
    this.contexts = [];
    this.pages = [];
    this.dialogs = [];
    this.pageErrors = [];
    this.cspViolations = [];
  }

  async newPage(label) {
    const context = await this.browser.newContext({ viewport: { width: 1280, height: 800 } });
    context.setDefaultTimeout(WAIT_MS);
    const page = await context.newPage();
    page.label = label;
    page.on('dialog', (d) => {
      this.dialogs.push(`${label}: ${d.type()} ${JSON.stringify(d.message())}`);
      d.dismiss().catch(() => {});
    });
    page.on('pageerror', (e) => this.pageErrors.push(`${label}: ${e.message}`));
    // The pages run under a strict Content-Security-Policy: anything they
    // do that it refuses is a bug (Chromium reports it on the console).
    page.on('console', (m) => {
      if (/Content Security Policy/i.test(m.text())) this.cspViolations.push(`${label}: ${m.text()}`);
    });
    this.contexts.push(context);
    this.pages.push(page);
    return page;
  }

  // openRoom opens a room page as a new user. With a name it fills the name
  // form and waits until the user is in the room (its own entry in #members).
  async openRoom(label, { room, name, legacy = false, waitJoined = true } = {}) {
    const page = await this.newPage(label);
    const res = await page.goto(`${this.baseURL}/${legacy ? 'legacy/' : ''}rooms/${room}`);
    if (res.status() !== 200) throw new Error(`${label}: room page answered ${res.status()}`);
    if (name !== undefined) {
      await page.locator('#name-input').fill(name);
      await page.locator('#register-submit').click();
      if (waitJoined) await joined(page);
    }
    return page;
  }

  async screenshotAll(prefix) {
    fs.mkdirSync(RESULTS, { recursive: true });
    let i = 0;
    for (const page of this.pages) {
      i++;
      if (page.isClosed()) continue;
      const file = path.join(RESULTS, `${prefix}-${i}-${slug(page.label || 'page')}.png`);
      await page.screenshot({ path: file, timeout: 3000 }).catch(() => {});
    }
  }

  async close() {
    await Promise.all(this.contexts.map((c) => c.close().catch(() => {})));
  }
}

// withSession runs body(session) and always closes its contexts; on failure
// it first saves a screenshot of every open page and the server's log.
function withSession(getEnv, body) {
  return async (t) => {
    const env = getEnv();
    const s = new Session(env.browser, env.server.url);
    try {
      await body(s, t);
      if (s.dialogs.length) throw new Error(`unexpected dialogs: ${s.dialogs.join('; ')}`);
      if (s.pageErrors.length) throw new Error(`uncaught errors in pages: ${s.pageErrors.join('; ')}`);
      if (s.cspViolations.length) throw new Error(`Content-Security-Policy violations: ${s.cspViolations.join('; ')}`);
    } catch (err) {
      const prefix = 'failure-' + slug(t.name);
      await s.screenshotAll(prefix);
      try {
        fs.writeFileSync(path.join(RESULTS, prefix + '-server.log'), env.server.output());
      } catch (_) {
        // best effort
      }
      if (s.pageErrors.length && !err.message.startsWith('uncaught')) err.message += `\npage errors: ${s.pageErrors.join('; ')}`;
      throw err;
    } finally {
      await s.close();
    }
  };
}

// joined waits until the page's user is in its room.
async function joined(page) {
  await page.locator('#members li.is-me').waitFor();
  await page.locator('#message-input:enabled').waitFor();
}

// send types a message and presses Enter (or clicks #send).
async function send(page, text, { click = false } = {}) {
  await page.locator('#message-input').fill(text);
  if (click) await page.locator('#send').click();
  else await page.locator('#message-input').press('Enter');
}

// message returns the locator of the message whose text is exactly text.
function message(page, text, state) {
  const sel = state ? `#messages .message[data-state="${state}"]` : '#messages .message';
  return page.locator(sel).filter({
    has: page.locator('.text', { hasText: new RegExp('^' + escapeRegExp(text) + '$') }),
  });
}

function escapeRegExp(s) {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

// waitText waits until the element's textContent matches re.
function waitText(page, selector, re, timeout = WAIT_MS) {
  return page.waitForFunction(
    ([sel, src, flags]) => {
      const el = document.querySelector(sel);
      return !!el && new RegExp(src, flags).test(el.textContent);
    },
    [selector, re.source, re.flags],
    { timeout },
  );
}

// seedMessages fills a room's history from Node with `users` socket.io-client
// 4.x users sending `each` messages apiece ("seed <user>-<n>"); it resolves
// with the number of messages the server accepted.
async function seedMessages(baseURL, room, users, each) {
  const { io } = require('sio-client-4');
  const call = (sock, event, payload) => new Promise((resolve, reject) => {
    sock.timeout(5000).emit(event, payload, (err, res) => (err ? reject(err) : resolve(res)));
  });
  const one = async (u) => {
    const sock = io(baseURL + '/chat', { transports: ['websocket'], reconnection: false, forceNew: true });
    try {
      const reg = await call(sock, 'register', { name: `seed${u}` });
      if (!reg.ok) throw new Error(`register seed${u}: ${JSON.stringify(reg.error)}`);
      const join = await call(sock, 'join', { room });
      if (!join.ok) throw new Error(`join ${room}: ${JSON.stringify(join.error)}`);
      let ok = 0;
      for (let i = 0; i < each; i++) {
        const res = await call(sock, 'message', { room, text: `seed ${u}-${i}`, clientId: `seed-${u}-${i}` });
        if (!res.ok) throw new Error(`message: ${JSON.stringify(res.error)}`);
        ok++;
      }
      return ok;
    } finally {
      sock.disconnect();
    }
  };
  const counts = await Promise.all(Array.from({ length: users }, (_, u) => one(u)));
  return counts.reduce((a, b) => a + b, 0);
}

function userId(page) {
  return page.evaluate(() => window.chat.state.me.id);
}

module.exports = {
  CHROMIUM,
  noBrowser,
  RESULTS,
  startServer,
  launchBrowser,
  withSession,
  joined,
  send,
  message,
  waitText,
  userId,
  seedMessages,
};
