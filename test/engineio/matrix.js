#!/usr/bin/env node
// Runs the real engine.io-client packages against the project's Engine.IO
// server (realtime/internal/engineio) with an echo handler, set up by
// realtime/engine_clients_test.go, which starts this script and checks its
// output:
//
//   node test/engineio/matrix.js <url> [--ping-interval=MS] [--ping-timeout=MS] [--max-payload=BYTES] [--only=VERSION/MODE]
//
// <url> is the server's origin (http://127.0.0.1:PORT); the Engine.IO path is
// /engine.io/. The options tell the script what the server was configured
// with, so it can check the handshake and time the heartbeat; --only runs one client
// version and mode (for debugging).
//
// Clients, each loaded from the socket.io-client package that depends on it
// (no npm package of its own):
//   engine.io-client 3.5.6 (protocol v3) from sio-client-2 (socket.io-client 2.5)
//   engine.io-client 4.1.4 (protocol v4) from sio-client-3 (socket.io-client 3.1)
//   engine.io-client 6.6.8 (protocol v4) from sio-client-4 (socket.io-client 4.8)
// Modes: websocket only, polling only, and the default (polling, then the
// upgrade to websocket); for 3.5.6 also JSONP polling (forceJSONP, through a
// minimal DOM, see below) and polling with forceBase64.
// Checks, in this order on one socket per client x mode: open, text, binary,
// many (200 in order), mixed (text and binary interleaved), large, heartbeat,
// close; the default mode adds upgrade-burst and upgrade after open. One
// client x mode runs at a time (see matrix()).
//
// Output is JSON lines on stdout, one per client x mode x check:
//   {"type":"result","client":"6.6.8","mode":"upgrade","check":"binary","pass":true,"details":"...","ms":3,"data":{"sid":"...",...}}
// data carries what the Go side cross-checks against what the server saw
// (the session id, what was sent). Every wait has a timeout and names what
// it waited for; nothing is synchronised by sleeping.
'use strict';

const crypto = require('node:crypto');
const diagnostics = require('node:diagnostics_channel');
const http = require('node:http');
const path = require('node:path');
const { monitorEventLoopDelay } = require('node:perf_hooks');
const vm = require('node:vm');
const { isDeepStrictEqual } = require('node:util');

const STEP_MS = 4000;
const ROOT = path.resolve(__dirname, '..', '..');

const [url, ...flags] = process.argv.slice(2);
if (!url || !/^http:\/\/127\.0\.0\.1:\d+\/?$/.test(url)) {
  process.stderr.write('usage: node test/engineio/matrix.js http://127.0.0.1:PORT [--ping-interval=MS] [--ping-timeout=MS] [--max-payload=BYTES] [--only=VERSION/MODE]\n');
  process.exit(64);
}

function flag(name, def) {
  const prefix = `--${name}=`;
  const f = flags.find((a) => a.startsWith(prefix));
  return f === undefined ? def : f.slice(prefix.length);
}

// What the server was configured with.
const PING_INTERVAL = Number(flag('ping-interval', '300'));
const PING_TIMEOUT = Number(flag('ping-timeout', '200'));
const MAX_PAYLOAD = Number(flag('max-payload', '1000000'));
const ONLY = flag('only', '');

function out(obj) {
  process.stdout.write(JSON.stringify(obj) + '\n');
}

// --- clients -------------------------------------------------------------

// loadClient loads the engine.io-client that the socket.io-client package
// sioPackage depends on, the way that package itself resolves it.
function loadClient(sioPackage, props) {
  const sioDir = path.dirname(require.resolve(`${sioPackage}/package.json`, { paths: [ROOT] }));
  const pkgFile = require.resolve('engine.io-client/package.json', { paths: [sioDir] });
  const mod = require(require.resolve('engine.io-client', { paths: [sioDir] }));
  return {
    version: require(pkgFile).version,
    dir: path.relative(ROOT, path.dirname(pkgFile)),
    open: (opts) => props.make(mod, url, opts),
    ...props,
  };
}

// heartbeat is the event a client emits once per heartbeat, from each
// client's lib/socket.js:
//   3.5.6 (v3, the client pings): "ping" when its ping is written, "pong"
//         when the server's answer arrives; "pong" proves the round trip.
//   4.1.4 (v4, the server pings): only "pong", when a server ping arrives
//         (it answers it at the same time).
//   6.6.8 (v4): "ping" (and "pong") when a server ping arrives.
const CLIENTS = [
  loadClient('sio-client-2', { protocol: 3, heartbeat: 'pong', make: (eio, u, o) => eio(u, o) }),
  loadClient('sio-client-3', { protocol: 4, heartbeat: 'pong', make: (eio, u, o) => eio(u, o) }),
  loadClient('sio-client-4', { protocol: 4, heartbeat: 'ping', make: (eio, u, o) => new eio.Socket(u, o) }),
];

// Transport modes, as client options.
const MODES = {
  websocket: { transports: ['websocket'] },
  polling: { transports: ['polling'] },
  upgrade: {}, // the default: polling, then the upgrade to websocket
};
// Extra modes for the v3 client.
const V3_MODES = {
  'polling-jsonp': { transports: ['polling'], forceJSONP: true },
  'polling-base64': { transports: ['polling'], forceBase64: true },
};
// For every client: binary as base64 in text frames ("b4<base64>" in v3,
// "b<base64>" in v4), as these clients send it with forceBase64.
MODES['websocket-base64'] = { transports: ['websocket'], forceBase64: true };

// --- helpers -------------------------------------------------------------

function timeoutError(what, ms) {
  return new Error(`timeout after ${ms}ms waiting for ${what}`);
}

function assert(cond, msg) {
  if (!cond) throw new Error(msg);
}

function eq(got, want, what) {
  assert(isDeepStrictEqual(got, want), `${what}: got ${JSON.stringify(got)}, want ${JSON.stringify(want)}`);
}

// once resolves with the arguments of the next `event` on emitter; it is
// armed at once, so it can be created before the event may fire.
function once(emitter, event, what, ms = STEP_MS) {
  let on;
  const p = new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      emitter.off(event, on);
      reject(timeoutError(what || `"${event}"`, ms));
    }, ms);
    on = (...args) => {
      clearTimeout(timer);
      resolve(args);
    };
    emitter.once(event, on);
  });
  p.catch(() => {}); // reported when awaited
  return p;
}

// asBinary returns x as a Buffer if it is binary data, else null.
function asBinary(x) {
  if (Buffer.isBuffer(x)) return x;
  if (x instanceof ArrayBuffer) return Buffer.from(x);
  if (ArrayBuffer.isView(x)) return Buffer.from(x.buffer, x.byteOffset, x.byteLength);
  return null;
}

function describe(x) {
  const b = asBinary(x);
  if (b) return `binary ${b.length} bytes ${b.subarray(0, 16).toString('hex')}${b.length > 16 ? '...' : ''}`;
  if (typeof x === 'string') return `text ${JSON.stringify(x.length > 80 ? x.slice(0, 80) + '...' : x)} (${x.length} UTF-16 units)`;
  return `${typeof x} ${JSON.stringify(x)}`;
}

function sha256(x) {
  return crypto.createHash('sha256').update(x).digest('hex');
}

// firstDifference is the index of the first element where a and b differ.
function firstDifference(a, b) {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return i;
  return n;
}

// Inbox queues the messages a socket receives, in order.
class Inbox {
  constructor(socket) {
    this.items = [];
    this.waiters = [];
    this.closed = null;
    socket.on('message', (data) => {
      const w = this.waiters.shift();
      if (w) w.resolve(data);
      else this.items.push(data);
    });
    socket.on('close', (reason, desc) => {
      this.closed = `the socket closed ("${reason}"${desc ? `: ${(desc && desc.message) || JSON.stringify(desc)}` : ''})`;
      for (const w of this.waiters.splice(0)) w.reject(new Error(`${w.what}: ${this.closed}`));
    });
  }

  // next resolves with the next message.
  next(what, ms = STEP_MS) {
    if (this.items.length > 0) return Promise.resolve(this.items.shift());
    if (this.closed) return Promise.reject(new Error(`${what}: ${this.closed}`));
    return new Promise((resolve, reject) => {
      const w = {
        what,
        resolve: (d) => {
          clearTimeout(timer);
          resolve(d);
        },
        reject: (e) => {
          clearTimeout(timer);
          reject(e);
        },
      };
      const timer = setTimeout(() => {
        this.waiters.splice(this.waiters.indexOf(w), 1);
        reject(timeoutError(what, ms));
      }, ms);
      this.waiters.push(w);
    });
  }

  // clear drops what arrived and was not read (left over from a failed
  // check).
  clear() {
    const n = this.items.length;
    this.items.length = 0;
    return n;
  }
}

// HTTP requests in flight per session id (from their sid= parameter), seen
// through Node's diagnostics channel whatever made them (the clients' XHR
// shims, the JSONP DOM below), so a closing client can be waited for until
// its last requests are through: the close packet of a polling client is
// one, and the process must not exit before it reaches the server.
const inflight = new Map(); // sid -> Set of requests
const started = new Map(); // sid -> number of requests started
const settledWaiters = new Set();
diagnostics.subscribe('http.client.request.start', ({ request }) => {
  const m = /[?&]sid=([^&]+)/.exec(request.path || '');
  if (!m) return;
  const sid = decodeURIComponent(m[1]);
  if (!inflight.has(sid)) inflight.set(sid, new Set());
  inflight.get(sid).add(request);
  started.set(sid, (started.get(sid) || 0) + 1);
  request.once('close', () => {
    inflight.get(sid).delete(request);
    for (const w of settledWaiters) w();
  });
});

// requestsSettled resolves once a request for sid started after
// startedBefore have been started and none for sid is in flight.
function requestsSettled(sid, startedBefore, what, ms = STEP_MS) {
  return new Promise((resolve, reject) => {
    const check = () => {
      const n = (inflight.get(sid) || new Set()).size;
      if ((started.get(sid) || 0) > startedBefore && n === 0) {
        done();
        resolve();
      }
    };
    const timer = setTimeout(() => {
      done();
      const n = (inflight.get(sid) || new Set()).size;
      reject(timeoutError(`${what} (${(started.get(sid) || 0) - startedBefore} requests started since, ${n} still in flight)`, ms));
    }, ms);
    const done = () => {
      clearTimeout(timer);
      settledWaiters.delete(check);
    };
    settledWaiters.add(check);
    check();
  });
}

// --- a minimal DOM for JSONP polling ---------------------------------------
//
// engine.io-client 3.5.6's JSONP transport (lib/transports/polling-jsonp.js)
// is browser-only: it polls by inserting <script src=...> elements, whose
// response calls ___eio[j]("<payload>"), and sends with a hidden <form>
// POSTed into an <iframe>, whose load event means the write is done. This
// DOM does what a browser does with exactly those elements: a script that
// enters the document is fetched and run in this context (where the
// client's ___eio lives); a non-2xx answer or network error fires its
// onerror. form.submit() POSTs the form's fields as
// application/x-www-form-urlencoded UTF-8, with the newline normalisation
// browsers apply (LF and lone CR become CRLF, which is why the client
// escapes newlines), then fires onload of the iframe the form targets.
// Errors thrown by a script are kept in `errors` (a browser would report
// them to window.onerror).

function makeJSONPDocument() {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 6 });
  const errors = [];
  let doc;
  // Requests in flight, so the page is not torn down under them.
  let pending = 0;
  let onIdle = null;
  const track = (req) => {
    pending++;
    req.on('close', () => {
      if (--pending === 0 && onIdle) onIdle();
    });
    return req;
  };

  class Element {
    constructor(tagName) {
      this.tagName = tagName.toUpperCase();
      this.childNodes = [];
      this.parentNode = null;
      this.style = {};
      this.attributes = {};
    }
    setAttribute(name, value) {
      this.attributes[name.toLowerCase()] = String(value);
    }
    appendChild(child) {
      return this.insertBefore(child, null);
    }
    insertBefore(child, ref) {
      if (child.parentNode) child.parentNode.removeChild(child);
      const i = ref ? this.childNodes.indexOf(ref) : this.childNodes.length;
      if (i < 0) throw new Error('NotFoundError: the reference node is not a child of this node');
      this.childNodes.splice(i, 0, child);
      child.parentNode = this;
      if (this.isConnected()) child.connected();
      return child;
    }
    removeChild(child) {
      const i = this.childNodes.indexOf(child);
      if (i < 0) throw new Error('NotFoundError: the node to be removed is not a child of this node');
      this.childNodes.splice(i, 1);
      child.parentNode = null;
      return child;
    }
    isConnected() {
      let n = this;
      while (n.parentNode) n = n.parentNode;
      return n === doc.documentElement;
    }
    // connected is called when the element enters the document.
    connected() {
      for (const c of this.childNodes) c.connected();
    }
    *descendants() {
      for (const c of this.childNodes) {
        yield c;
        yield* c.descendants();
      }
    }
    getElementsByTagName(name) {
      const tag = name.toUpperCase();
      return [...this.descendants()].filter((e) => e.tagName === tag);
    }
  }

  class Script extends Element {
    connected() {
      if (this.started || !this.src) return;
      this.started = true;
      const fail = (err) => {
        if (typeof this.onerror === 'function') this.onerror(err);
      };
      const req = track(http.get(this.src, { agent }, (res) => {
        const chunks = [];
        res.on('data', (c) => chunks.push(c));
        res.on('error', fail);
        res.on('end', () => {
          if (res.statusCode < 200 || res.statusCode > 299) {
            fail(new Error(`script ${this.src}: HTTP ${res.statusCode} ${Buffer.concat(chunks).toString('utf8')}`));
            return;
          }
          const text = Buffer.concat(chunks).toString('utf8');
          try {
            vm.runInThisContext(text, { filename: this.src });
          } catch (err) {
            errors.push(`script ${this.src} threw ${err && err.message}; script: ${text.slice(0, 200)}`);
          }
          if (typeof this.onload === 'function') this.onload();
        });
      }));
      req.on('error', fail);
    }
  }

  // normalizeNewlines is what a browser does to a form field's value.
  const normalizeNewlines = (s) => s.replace(/\r\n|\r|\n/g, '\r\n');

  class Form extends Element {
    submit() {
      const fields = [];
      for (const e of this.descendants()) {
        if ((e.tagName === 'TEXTAREA' || e.tagName === 'INPUT') && e.name) {
          fields.push([e.name, normalizeNewlines(String(e.value === undefined ? '' : e.value))]);
        }
      }
      const body = new URLSearchParams(fields).toString();
      const loaded = () => {
        const frame = [...doc.documentElement.descendants()].find((e) => e.tagName === 'IFRAME' && e.name === this.target);
        if (frame && typeof frame.onload === 'function') frame.onload();
      };
      const req = track(http.request(this.action, {
        method: String(this.method || 'GET').toUpperCase(),
        agent,
        headers: { 'Content-Type': 'application/x-www-form-urlencoded', 'Content-Length': Buffer.byteLength(body) },
      }, (res) => {
        res.resume();
        res.on('end', loaded);
      }));
      // A browser loads an error page into the frame: it loads all the same.
      req.on('error', loaded);
      req.end(body);
    }
  }

  const createElement = (tagName) => {
    // Modern browsers refuse IE's createElement('<iframe name=...>'), and
    // the client falls back to createElement('iframe').
    if (!/^[a-zA-Z][a-zA-Z0-9-]*$/.test(tagName)) throw new Error(`InvalidCharacterError: ${tagName}`);
    switch (tagName.toLowerCase()) {
      case 'script':
        return new Script(tagName);
      case 'form':
        return new Form(tagName);
      default:
        return new Element(tagName);
    }
  };
  const documentElement = new Element('html');
  const head = new Element('head');
  const body = new Element('body');
  doc = {
    documentElement,
    head,
    body,
    createElement,
    getElementsByTagName: (name) => documentElement.getElementsByTagName(name),
  };
  documentElement.appendChild(head);
  documentElement.appendChild(body);
  // close waits (up to ms) for the requests in flight, like a page that
  // stays open, then drops the connections.
  const close = async (ms) => {
    if (pending > 0) {
      await new Promise((resolve) => {
        const timer = setTimeout(resolve, ms);
        onIdle = () => {
          clearTimeout(timer);
          resolve();
        };
      });
    }
    agent.destroy();
    return pending;
  };
  return { document: doc, errors, close };
}

// --- the checks ----------------------------------------------------------

// TEXT has non-ASCII, a character outside the BMP (two UTF-16 units, which
// v3's length prefix counts), a newline, quotes, a backslash-n sequence (the
// JSONP transport escapes both), and what a JSONP script must escape.
const TEXT = 'héllo "wörld" \'quoted\' 😀 ✓ 中文\nsecond line\ttab C:\\new </script> \u2028\u2029 end';
// BIN has the bytes payload framing uses: 0x1e (v4 record separator), 0xff
// (v3 binary payload separator), ':' and 'b', '4', 0 and 1.
const BIN = Buffer.from([0x00, 0x01, 0x02, 0x1e, 0x34, 0x3a, 0x62, 0x7f, 0x80, 0xfe, 0xff]);
const MANY = 200;
// MIXED alternates text and binary, so polling payloads carry both (v3 XHR2
// clients then use binary payloads, with text packets inside them).
const MIXED = Array.from({ length: 60 }, (_, i) =>
  i % 2 === 0 ? `mixed-${i} é 😀 "q"\n` : Buffer.from([i, 0xff, 0x1e, 0x3a, 0x62, 0x00]),
);
// LARGE_TEXT is about 200 KB of UTF-8 (ASCII, 2-, 3- and 4-byte
// characters), LARGE_BIN 200 KB of bytes; both well under maxPayload even
// as base64 or percent-encoded.
const LARGE_TEXT = (() => {
  const unit = 'large message é ✓ 😀 0123456789 ';
  const n = Math.floor(200000 / Buffer.byteLength(unit));
  return unit.repeat(n);
})();
const LARGE_BIN = (() => {
  const b = Buffer.alloc(200000);
  for (let i = 0; i < b.length; i++) b[i] = (i * 31 + (i >> 8)) & 0xff;
  return b;
})();

// The checks of one mode, in order; the Go side expects exactly these.
function checksFor(mode) {
  const base = ['open', 'text', 'binary', 'many', 'mixed', 'large', 'heartbeat', 'close'];
  return mode === 'upgrade' ? ['open', 'upgrade-burst', 'upgrade', ...base.slice(1)] : base;
}

async function combo(client, mode, options) {
  const tag = `${client.version}/${mode}`;
  const want = mode.startsWith('websocket') ? 'websocket' : 'polling'; // transport at open
  const opts = { path: '/engine.io', ...options };
  const socket = client.open(opts);
  const inbox = new Inbox(socket);
  const errors = [];
  socket.on('error', (err) => errors.push(String((err && err.message) || err)));
  let closedEarly = null;
  socket.on('close', (reason) => {
    closedEarly = reason;
  });
  const handshake = once(socket, 'handshake', `${tag}: the handshake`);
  const opened = once(socket, 'open', `${tag}: "open"`);
  const upgraded = mode === 'upgrade' ? once(socket, 'upgrade', `${tag}: "upgrade"`, 2 * STEP_MS) : null;
  // In the default mode, a burst across the upgrade: half sent as soon as
  // the socket is open (over polling; their echoes are still coming back
  // when the upgrade starts), half on "upgrading" (the probe succeeded: the
  // client holds them and sends them on the WebSocket after the upgrade
  // packet). All 200 echoes must come back in order.
  const burst = [];
  for (let i = 0; i < MANY; i++) burst.push(`burst-${i} ${'é😀'.repeat(i % 3)}`);
  const half = MANY / 2;
  if (mode === 'upgrade') {
    socket.once('open', () => burst.slice(0, half).forEach((m) => socket.send(m)));
    socket.once('upgrading', () => burst.slice(half).forEach((m) => socket.send(m)));
  }

  let sid = null;
  let failed = false;
  const run = async (check, fn) => {
    const t0 = Date.now();
    let line;
    // Echoes a failed check left behind would be read as this one's.
    const left = failed ? inbox.clear() : 0;
    // How long this process itself was stalled during the check: a failure
    // in a timed check (heartbeat) with a large stall may be this side's.
    const loop = monitorEventLoopDelay({ resolution: 10 });
    loop.enable();
    try {
      const data = (await fn()) || {};
      line = { pass: true, details: data.details || 'ok', data: { sid, ...data } };
      delete line.data.details;
      failed = false;
    } catch (err) {
      failed = true;
      let details = err.message;
      if (left > 0) details += `; ${left} unread messages were dropped before this check`;
      if (errors.length > 0) details += `; socket errors: ${errors.join(' | ')}`;
      if (options.forceJSONP && client.jsonpErrors.length > 0) details += `; JSONP script errors: ${client.jsonpErrors.join(' | ')}`;
      details += `; this process's event loop was delayed up to ${Math.round(loop.max / 1e6)}ms during the check`;
      line = { pass: false, details, data: { sid } };
    } finally {
      loop.disable();
    }
    out({ type: 'result', client: client.version, mode, check, ms: Date.now() - t0, ...line });
  };

  // nextHeartbeat resolves on the client's next heartbeat event, or at once
  // if the last one was less than a third of an interval ago. The checks
  // that move a lot of data start right after one: with the heartbeat timed
  // in 100s of ms (pingTimeout 200 ms), a ping or pong stuck behind a large
  // polling request on a loaded machine (-race) can make the client itself
  // give up ("ping timeout", as it would with Node's engine.io); right after
  // a heartbeat the next one is most of a pingInterval away.
  let lastBeat = 0;
  socket.on(client.heartbeat, () => {
    lastBeat = Date.now();
  });
  const nextHeartbeat = (what) =>
    new Promise((resolve, reject) => {
      const ev = client.heartbeat;
      if (socket.readyState === 'open' && Date.now() - lastBeat < PING_INTERVAL / 3) {
        resolve();
        return;
      }
      const cleanup = () => {
        clearTimeout(timer);
        socket.off(ev, onBeat);
        socket.off('close', onClose);
      };
      const ms = PING_INTERVAL + PING_TIMEOUT + STEP_MS;
      const timer = setTimeout(() => {
        cleanup();
        reject(timeoutError(`${tag}: a "${ev}" event before ${what}`, ms));
      }, ms);
      function onBeat() {
        cleanup();
        resolve();
      }
      function onClose(reason) {
        cleanup();
        reject(new Error(`${tag}: the socket closed ("${reason}") while waiting for a "${ev}" event before ${what}`));
      }
      if (socket.readyState !== 'open') {
        cleanup();
        reject(new Error(`${tag}: socket is ${socket.readyState} before ${what}`));
        return;
      }
      socket.on(ev, onBeat);
      socket.on('close', onClose);
    });

  // echo sends data and resolves with what comes back.
  const echo = async (data, what) => {
    assert(socket.readyState === 'open', `${what}: socket is ${socket.readyState}${closedEarly ? ` (closed: "${closedEarly}")` : ''}`);
    socket.send(data);
    return inbox.next(`${tag}: the echo of ${what}`);
  };

  const checks = {
    open: async () => {
      const [hs] = await handshake;
      await opened;
      sid = hs && hs.sid;
      assert(typeof sid === 'string' && sid.length > 0, `handshake has no sid: ${JSON.stringify(hs)}`);
      eq(socket.id, sid, 'socket.id');
      eq(hs.pingInterval, PING_INTERVAL, 'handshake pingInterval');
      eq(hs.pingTimeout, PING_TIMEOUT, 'handshake pingTimeout');
      eq(hs.upgrades, want === 'websocket' ? [] : ['websocket'], 'handshake upgrades');
      if (client.protocol === 4) eq(hs.maxPayload, MAX_PAYLOAD, 'handshake maxPayload');
      eq(socket.transport.name, want, 'socket.transport.name at open');
      return { details: `sid ${sid} over ${socket.transport.name}, handshake ${JSON.stringify(hs)}`, transport: socket.transport.name };
    },

    'upgrade-burst': async () => {
      const got = [];
      for (let i = 0; i < MANY; i++) {
        const m = await inbox.next(`${tag}: burst echo ${i}`);
        got.push(m);
        if (m !== burst[i]) break;
      }
      const i = firstDifference(got, burst);
      assert(i === MANY, `burst echo ${i} is ${describe(got[i])}, want ${describe(burst[i])}`);
      return { details: `${half} messages sent at open and ${MANY - half} on "upgrading", echoed in order across the upgrade`, count: MANY, prefix: 'burst-', split: half };
    },

    upgrade: async () => {
      if (socket.transport.name !== 'websocket') await upgraded;
      eq(socket.transport.name, 'websocket', 'socket.transport.name after "upgrade"');
      const marker = `upgraded ${sid}`;
      const back = await echo(marker, 'a message after the upgrade');
      eq(back, marker, 'echo after the upgrade');
      return { details: `upgraded to ${socket.transport.name}; echo after it ok`, text: marker };
    },

    text: async () => {
      const back = await echo(TEXT, 'the text');
      assert(back === TEXT, `echo is ${describe(back)}, want ${describe(TEXT)}${typeof back === 'string' ? ` (first difference at UTF-16 index ${firstDifference(back, TEXT)})` : ''}`);
      return { details: `${TEXT.length} UTF-16 units / ${Buffer.byteLength(TEXT)} bytes echoed exactly over ${socket.transport.name}`, text: TEXT, transport: socket.transport.name };
    },

    binary: async () => {
      const back = await echo(BIN, 'the bytes');
      const b = asBinary(back);
      assert(b !== null, `echo is ${describe(back)}, want binary ${BIN.toString('hex')}`);
      assert(b.equals(BIN), `echo is ${b.toString('hex')}, want ${BIN.toString('hex')}`);
      const kind = Buffer.isBuffer(back) ? 'Buffer' : back instanceof ArrayBuffer ? 'ArrayBuffer' : back.constructor.name;
      return { details: `${BIN.length} bytes echoed as ${kind} over ${socket.transport.name}`, binary: BIN.toString('base64'), transport: socket.transport.name };
    },

    many: async () => {
      assert(socket.readyState === 'open', `socket is ${socket.readyState}`);
      await nextHeartbeat('the burst');
      const sent = [];
      for (let i = 0; i < MANY; i++) {
        sent.push(`many-${i}`);
        socket.send(sent[i]);
      }
      const got = [];
      for (let i = 0; i < MANY; i++) {
        const m = await inbox.next(`${tag}: echo ${i} of ${MANY} (${got.length} so far)`);
        got.push(m);
        if (m !== sent[i]) break;
      }
      const i = firstDifference(got, sent);
      assert(i === MANY, `echo ${i} is ${describe(got[i])}, want ${describe(sent[i])}`);
      return { details: `${MANY} messages echoed in order over ${socket.transport.name}`, count: MANY, prefix: 'many-' };
    },

    mixed: async () => {
      assert(socket.readyState === 'open', `socket is ${socket.readyState}`);
      await nextHeartbeat('the burst');
      for (const m of MIXED) socket.send(m);
      for (let i = 0; i < MIXED.length; i++) {
        const m = await inbox.next(`${tag}: mixed echo ${i} of ${MIXED.length}`);
        const want = MIXED[i];
        const ok = typeof want === 'string' ? m === want : asBinary(m) !== null && asBinary(m).equals(want);
        assert(ok, `mixed echo ${i} is ${describe(m)}, want ${describe(want)}`);
      }
      return {
        details: `${MIXED.length} text and binary messages interleaved, echoed in order with their types over ${socket.transport.name}`,
        sequence: MIXED.map((m) => (typeof m === 'string' ? { text: m } : { binary: m.toString('base64') })),
      };
    },

    large: async () => {
      await nextHeartbeat('the large text');
      const t = await echo(LARGE_TEXT, `the ${Buffer.byteLength(LARGE_TEXT)}-byte text`);
      assert(typeof t === 'string', `large text echo is ${describe(t)}`);
      assert(t === LARGE_TEXT, `large text echo differs: ${t.length} UTF-16 units, want ${LARGE_TEXT.length}; first difference at ${firstDifference(t, LARGE_TEXT)}`);
      await nextHeartbeat('the large binary');
      const b = asBinary(await echo(LARGE_BIN, `the ${LARGE_BIN.length}-byte binary`));
      assert(b !== null, 'large binary echo is not binary');
      assert(b.equals(LARGE_BIN), `large binary echo differs: ${b.length} bytes, want ${LARGE_BIN.length}; first difference at ${firstDifference(b, LARGE_BIN)}`);
      return {
        details: `${Buffer.byteLength(LARGE_TEXT)}-byte text and ${LARGE_BIN.length}-byte binary echoed (maxPayload ${MAX_PAYLOAD})`,
        largeTextBytes: Buffer.byteLength(LARGE_TEXT),
        largeTextSha256: sha256(LARGE_TEXT),
        largeBinaryBytes: LARGE_BIN.length,
        largeBinarySha256: sha256(LARGE_BIN),
      };
    },

    // At least 3 heartbeats and 3 ping intervals without the connection
    // closing, then an echo still works.
    heartbeat: async () => {
      assert(socket.readyState === 'open', `socket is ${socket.readyState}`);
      const ev = client.heartbeat;
      const t0 = Date.now();
      const times = [];
      const limit = 3 * (PING_INTERVAL + PING_TIMEOUT) + STEP_MS;
      await new Promise((resolve, reject) => {
        const cleanup = () => {
          clearTimeout(timer);
          socket.off(ev, onBeat);
          socket.off('close', onClose);
        };
        const timer = setTimeout(() => {
          cleanup();
          reject(timeoutError(`3 "${ev}" events over 3 ping intervals (got ${times.length} in ${Date.now() - t0}ms)`, limit));
        }, limit);
        function onBeat() {
          times.push(Date.now());
          if (times.length >= 3 && Date.now() - t0 >= 3 * PING_INTERVAL) {
            cleanup();
            resolve();
          }
        }
        function onClose(reason, desc) {
          cleanup();
          reject(new Error(`the socket closed after ${Date.now() - t0}ms and ${times.length} "${ev}" events: "${reason}" ${desc ? (desc.message || JSON.stringify(desc)) : ''}`));
        }
        socket.on(ev, onBeat);
        socket.on('close', onClose);
      });
      const gaps = times.slice(1).map((t, i) => t - times[i]);
      // Heartbeats far more often than pingInterval would mean the interval
      // is not honoured.
      assert(gaps.every((g) => g >= PING_INTERVAL / 2), `"${ev}" events ${JSON.stringify(gaps)}ms apart, pingInterval ${PING_INTERVAL}ms`);
      const marker = `after heartbeat ${sid}`;
      const back = await echo(marker, 'a message after the heartbeats');
      eq(back, marker, 'echo after the heartbeats');
      return { details: `${times.length} "${ev}" events in ${Date.now() - t0}ms (gaps ${gaps.join(', ')}ms), still open and echoing`, text: marker };
    },

    // The client closes; once what it sends for that is through (the
    // WebSocket closed, or the polling requests done: the close packet's
    // POST and the last poll, which the server must release), the Go side
    // checks the server closed the session and why.
    close: async () => {
      assert(socket.readyState === 'open', `socket is ${socket.readyState}${closedEarly ? ` (closed: "${closedEarly}")` : ''}`);
      const transport = socket.transport.name;
      const ws = transport === 'websocket' ? socket.transport.ws : null;
      const wsClosed = ws ? once(ws, 'close', `${tag}: the WebSocket to close`) : null;
      const before = started.get(sid) || 0;
      const closed = once(socket, 'close', `${tag}: "close"`);
      socket.close();
      const [reason] = await closed;
      eq(reason, 'forced close', 'client-side close reason');
      if (ws) {
        const [code] = await wsClosed;
        return { details: `client closed ("${reason}") over websocket, close code ${code}` };
      }
      await requestsSettled(sid, before, `${tag}: the close packet to be sent and the last poll answered`);
      return { details: `client closed ("${reason}") over ${transport}, ${(started.get(sid) || 0) - before} requests since, all answered` };
    },
  };

  try {
    for (const check of checksFor(mode)) await run(check, checks[check]);
  } finally {
    if (socket.readyState !== 'closed') socket.close();
  }
}

function selected(client, mode) {
  return !ONLY || ONLY === `${client.version}/${mode}`;
}

async function matrix() {
  out({ type: 'clients', clients: CLIENTS.map((c) => ({ version: c.version, protocol: c.protocol, dir: c.dir })) });
  const all = [];
  for (const client of CLIENTS) {
    client.jsonpErrors = [];
    const modes = { ...MODES, ...(client.protocol === 3 ? V3_MODES : {}) };
    for (const [mode, options] of Object.entries(modes)) {
      if (selected(client, mode)) all.push({ client, mode, options });
    }
  }
  // One combo at a time. With the heartbeat timed in 100s of ms, clients
  // running at once (each moving 200 KB payloads through a server under
  // -race) starve each other's heartbeats on a loaded machine and time out
  // for no fault of the server's.
  for (const { client, mode, options } of all) {
    if (!options.forceJSONP) {
      await combo(client, mode, options);
      continue;
    }
    // JSONP needs the DOM, installed as the global `document` for this
    // combo only.
    const dom = makeJSONPDocument();
    client.jsonpErrors = dom.errors;
    global.document = dom.document;
    try {
      await combo(client, mode, options);
    } finally {
      // Anything still on its way (the close check waits for the close
      // packet and the last poll) gets to finish before the page goes.
      const left = await dom.close(STEP_MS);
      if (left > 0) process.stderr.write(`JSONP: ${left} requests still in flight after ${STEP_MS}ms\n`);
      delete global.document;
    }
  }
}

// Below the Go side's limit, so a hang is reported from here.
const WATCHDOG_MS = 100000;
setTimeout(() => {
  out({ type: 'fatal', details: `watchdog: script still running after ${WATCHDOG_MS}ms` });
  process.exit(2);
}, WATCHDOG_MS).unref();

matrix().then(
  () => process.exit(0),
  (err) => {
    out({ type: 'fatal', details: String((err && err.stack) || err) });
    process.exit(1);
  },
);
