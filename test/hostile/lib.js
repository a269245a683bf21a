// Helpers for the hostile-input tests: raw HTTP and WebSocket on node:net
// (so that nothing a client library would normalise is normalised), the
// server process's memory and descriptors from /proc, and the check that a
// normal user is still served.
'use strict';
const assert = require('node:assert/strict');
const crypto = require('node:crypto');
const fs = require('node:fs');
const net = require('node:net');
const io4 = require('sio-client-4');
const { within, delay } = require('../lib/wait');
const { call } = require('../lib/events');

const MiB = 1024 * 1024;

// raw writes request (a string or Buffer, sent as is) on a new connection to
// 127.0.0.1:port and resolves with the first response: {status, headers
// (lower-case names), body (string)}. It ends at the end of the body
// (Content-Length) or of the connection, and rejects after ms.
function raw(port, request, { ms = 5000, localAddress } = {}) {
  return within(new Promise((resolve, reject) => {
    const s = net.connect({ port, host: '127.0.0.1', localAddress });
    let buf = Buffer.alloc(0);
    let done = false;
    const finish = () => {
      if (done) return;
      const res = parse(buf);
      if (!res) return;
      done = true;
      s.destroy();
      resolve(res);
    };
    s.on('data', (d) => {
      buf = Buffer.concat([buf, d]);
      const res = parse(buf);
      if (res && res.complete) finish();
    });
    s.on('end', finish);
    s.on('close', () => {
      if (!done) {
        const res = parse(buf);
        if (res) {
          done = true;
          resolve(res);
        } else reject(new Error('connection closed without a response: ' + JSON.stringify(buf.toString().slice(0, 200))));
      }
    });
    s.on('error', (e) => {
      if (!done && !parse(buf)) {
        done = true;
        reject(e);
      }
    });
    s.write(request);
  }), `response to ${String(request).split('\r\n')[0]}`, ms);
}

// parse reads one HTTP response from buf (skipping interim 1xx ones), or
// returns null while its headers are incomplete.
function parse(buf) {
  let text = buf.toString('latin1');
  for (;;) {
    const end = text.indexOf('\r\n\r\n');
    if (end < 0) return null;
    const lines = text.slice(0, end).split('\r\n');
    const status = Number(lines[0].split(' ')[1]);
    const headers = {};
    for (const l of lines.slice(1)) {
      const i = l.indexOf(':');
      headers[l.slice(0, i).trim().toLowerCase()] = l.slice(i + 1).trim();
    }
    const rest = text.slice(end + 4);
    if (status >= 100 && status < 200) {
      text = rest;
      continue;
    }
    const len = headers['content-length'] === undefined ? -1 : Number(headers['content-length']);
    const body = Buffer.from(len >= 0 ? rest.slice(0, len) : rest, 'latin1').toString('utf8');
    return { status, headers, body, complete: len >= 0 && Buffer.byteLength(rest, 'latin1') >= len };
  }
}

// get and post build HTTP/1.1 requests with Connection: close (a header
// given as null is left out).
function get(port, path, headers = {}) {
  return head('GET', port, path, headers) + '\r\n';
}
function post(port, path, body, headers = {}) {
  const b = Buffer.isBuffer(body) ? body : Buffer.from(body);
  return Buffer.concat([
    Buffer.from(head('POST', port, path, { 'Content-Type': 'text/plain;charset=UTF-8', 'Content-Length': b.length, ...headers }) + '\r\n'),
    b,
  ]);
}
function head(method, port, path, headers) {
  const h = { Host: `127.0.0.1:${port}`, Connection: 'close', ...headers };
  return `${method} ${path} HTTP/1.1\r\n` + Object.entries(h).filter(([, v]) => v !== null).map(([k, v]) => `${k}: ${v}\r\n`).join('');
}

// handshake opens an Engine.IO v4 polling session and returns its sid.
async function handshake(port, { headers = {}, localAddress } = {}) {
  const res = await raw(port, get(port, '/socket.io/?EIO=4&transport=polling', headers), { localAddress });
  assert.equal(res.status, 200, `handshake: ${res.status} ${res.body}`);
  const open = JSON.parse(res.body.slice(1));
  assert.ok(open.sid, res.body);
  return open.sid;
}

// expectJSON asserts a response's status and its exact JSON body.
function expectJSON(res, status, body, what) {
  assert.equal(res.status, status, `${what}: status ${res.status}, body ${res.body}`);
  assert.match(res.headers['content-type'] || '', /^application\/json/, `${what}: content-type`);
  assert.deepEqual(JSON.parse(res.body), body, `${what}: body`);
}

// wsOpen opens an Engine.IO WebSocket (rawWs) and resolves once the
// server's open packet arrived. w.msgs holds every text message received;
// w.send(text) sends one; w.closed resolves with {code, at} when the
// connection ends (the close frame's code, 1006 without one); w.isOpen()
// tells whether it has not; w.wait(pred) resolves with the first message
// matching; w.close() ends it from this side.
async function wsOpen(port) {
  const s = await rawWs(port);
  const waiters = [];
  const f = wsFrames(s, (m) => {
    for (const x of waiters.splice(0)) {
      if (x.pred(m)) x.res(m);
      else waiters.push(x);
    }
  });
  let ended = false;
  const w = {
    msgs: f.texts,
    closed: f.close.then((code) => ((ended = true), { code: code ?? 1006, at: Date.now() })),
    send: (text) => s.write(wsFrame(text)),
    isOpen: () => !ended && !s.destroyed,
    close: () => s.end(wsFrame('1')),
    wait: (pred, what = 'a message') => within(new Promise((res) => {
      const m = f.texts.find(pred);
      if (m) res(m);
      else waiters.push({ pred, res });
    }), what),
  };
  await w.wait((m) => m[0] === '0', 'Engine.IO open packet');
  return w;
}

// wsFrame is one masked client text frame, as a browser would send it.
function wsFrame(text) {
  const p = Buffer.from(text);
  let h;
  if (p.length < 126) {
    h = Buffer.from([0x81, 0x80 | p.length]);
  } else if (p.length < 65536) {
    h = Buffer.from([0x81, 0x80 | 126, 0, 0]);
    h.writeUInt16BE(p.length, 2);
  } else {
    h = Buffer.alloc(10);
    h[0] = 0x81;
    h[1] = 0x80 | 127;
    h.writeBigUInt64BE(BigInt(p.length), 2);
  }
  const mask = crypto.randomBytes(4);
  for (let i = 0; i < p.length; i++) p[i] ^= mask[i & 3];
  return Buffer.concat([h, mask, p]);
}

// rawWs upgrades a node:net connection to an Engine.IO WebSocket and resolves
// with the socket once the 101 arrived; s.head holds what came after it in
// the same read (the first frames), for the caller's frame reader.
function rawWs(port) {
  return within(new Promise((resolve, reject) => {
    const s = net.connect(port, '127.0.0.1');
    s.once('error', reject);
    s.once('connect', () => {
      s.write(get(port, '/socket.io/?EIO=4&transport=websocket', {
        Connection: 'Upgrade',
        Upgrade: 'websocket',
        'Sec-WebSocket-Version': 13,
        'Sec-WebSocket-Key': crypto.randomBytes(16).toString('base64'),
      }));
      let buf = '';
      const onData = (d) => {
        buf += d.toString('latin1');
        if (buf.includes('\r\n\r\n')) {
          s.off('data', onData);
          s.off('error', reject);
          if (!buf.startsWith('HTTP/1.1 101')) return reject(new Error('upgrade refused: ' + buf.split('\r\n')[0]));
          s.head = Buffer.from(buf.slice(buf.indexOf('\r\n\r\n') + 4), 'latin1');
          resolve(s);
        }
      };
      s.on('data', onData);
    });
  }), 'raw websocket upgrade');
}

// wsFrames collects the server's (unmasked) frames on a raw WebSocket:
// r.texts gets each text frame (and onText is called with it), r.close
// resolves with the close frame's code (or null when the connection ended
// without one).
function wsFrames(s, onText = () => {}) {
  const r = { texts: [], bytes: 0 };
  let buf = Buffer.alloc(0);
  let closeRes;
  r.close = new Promise((res) => (closeRes = res));
  const onData = (d) => {
    r.bytes += d.length;
    buf = Buffer.concat([buf, d]);
    for (;;) {
      if (buf.length < 2) return;
      let len = buf[1] & 0x7f;
      let off = 2;
      if (len === 126) {
        if (buf.length < 4) return;
        len = buf.readUInt16BE(2);
        off = 4;
      } else if (len === 127) {
        if (buf.length < 10) return;
        len = Number(buf.readBigUInt64BE(2));
        off = 10;
      }
      if (buf.length < off + len) return;
      const op = buf[0] & 0x0f;
      const payload = buf.subarray(off, off + len);
      buf = buf.subarray(off + len);
      if (op === 1) {
        r.texts.push(payload.toString());
        onText(r.texts[r.texts.length - 1]);
      }
      if (op === 8) closeRes(payload.length >= 2 ? payload.readUInt16BE(0) : null);
    }
  };
  s.on('data', onData);
  if (s.head && s.head.length) onData(s.head);
  s.on('close', () => closeRes(null));
  s.on('error', () => {});
  return r;
}

// stats reads the server's resident memory (bytes) and open descriptors.
function stats(pid) {
  const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  return { rss: Number(/VmRSS:\s+(\d+) kB/.exec(status)[1]) * 1024, fds: fs.readdirSync(`/proc/${pid}/fd`).length };
}

const mib = (b) => (b / MiB).toFixed(1) + ' MiB';

// settle waits (sampling once a second, for at most ms) until the server's
// RSS is below base.rss + rssMargin and its descriptors at most base.fds +
// fdMargin, reports the figures through t.diagnostic and asserts both.
async function settle(t, pid, base, { rssMargin = 40 * MiB, fdMargin = 4, ms = 15000, what = 'the server' } = {}) {
  const deadline = Date.now() + ms;
  const t0 = Date.now();
  let now = stats(pid);
  let peak = now.rss;
  while ((now.rss >= base.rss + rssMargin || now.fds > base.fds + fdMargin) && Date.now() < deadline) {
    await delay(1000);
    now = stats(pid);
    peak = Math.max(peak, now.rss);
  }
  t.diagnostic(`${what}: RSS ${mib(base.rss)} before, ${mib(now.rss)} after (${((now.rss - base.rss) / MiB).toFixed(1)} MiB more, ` +
    `limit +${mib(rssMargin)}); descriptors ${base.fds} before, ${now.fds} after; settled in ${Date.now() - t0} ms`);
  assert.ok(now.rss < base.rss + rssMargin, `RSS ${mib(now.rss)} not back below ${mib(base.rss + rssMargin)} within ${ms} ms`);
  assert.ok(now.fds <= base.fds + fdMargin, `descriptors ${now.fds} not back to ${base.fds} (+${fdMargin}) within ${ms} ms`);
  return now;
}

let users = 0;
// normalUser checks that the server still serves an ordinary user: a
// socket.io-client 4.x (polling, then the upgrade) connects to /chat,
// registers, joins a room, sends a message and gets its ack, all within ms.
// It resolves with the time that took.
async function normalUser(url, { ms = 5000, room = 'after-hostile', localAddress } = {}) {
  const t0 = Date.now();
  const name = `ok${process.pid % 1000}_${++users}`;
  const s = io4(url + '/chat', { forceNew: true, reconnection: false, localAddress });
  try {
    await within((async () => {
      await new Promise((res, rej) => {
        s.once('connect', res);
        s.once('connect_error', rej);
      });
      const r = await call(s, 'register', { name });
      assert.equal(r.ok, true, JSON.stringify(r));
      const j = await call(s, 'join', { room });
      assert.equal(j.ok, true, JSON.stringify(j));
      const m = await call(s, 'message', { room, text: 'still here', clientId: name });
      assert.equal(m.ok, true, JSON.stringify(m));
      assert.equal(m.message.text, 'still here');
    })(), 'a normal user to register, join and send', ms);
  } finally {
    s.close();
  }
  return Date.now() - t0;
}

module.exports = { MiB, raw, get, post, handshake, expectJSON, wsOpen, wsFrame, wsFrames, rawWs, stats, settle, normalUser, mib };
