// Slow and vanished clients against the real binary, started with short
// timeouts (ping 1 s + 1 s, request 3 s, idle 2 s, connect 2 s) so that each
// bound is reached in seconds: trickled headers, idle kept-alive
// connections, a client that never reads, abandoned polling handshakes.
'use strict';
const test = require('node:test');
const assert = require('node:assert/strict');
const net = require('node:net');
const server = require('../lib/server');
const { within, waitUntil, delay } = require('../lib/wait');
const h = require('./lib');

const HEADER_TIMEOUT = 10000; // ReadHeaderTimeout, fixed
const IDLE = 2000;
const EIO = '/socket.io/?EIO=4&transport=polling';
let srv;
let base;
let slowloris;

// trickle opens n connections that send a request line and then one header
// line every 500 ms, never the blank line; it resolves with how long the
// server took to close each (rejecting if one outlives maxMs).
function trickle(port, n, maxMs) {
  return Promise.all(Array.from({ length: n }, (_, i) => within(new Promise((resolve, reject) => {
    const s = net.connect(port, '127.0.0.1');
    const t0 = Date.now();
    let lines = 0;
    let timer;
    let answer = '';
    s.on('data', (d) => (answer += d));
    s.once('connect', () => {
      s.write(`GET /healthz HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\n`);
      timer = setInterval(() => {
        if (++lines > 2 * maxMs / 500) return;
        s.write(`X-Slow-${lines}: ${i}\r\n`);
      }, 500);
    });
    s.on('error', () => {});
    s.once('close', () => {
      clearInterval(timer);
      if (answer.startsWith('HTTP/1.1 200')) reject(new Error('a request without its blank line was answered'));
      else resolve(Date.now() - t0);
    });
  }), `trickled connection ${i} to be closed`, maxMs)));
}

test.before(async () => {
  srv = await server.start({
    args: ['--ping-interval', '1s', '--ping-timeout', '1s', '--http-read-timeout', '3s', '--http-idle-timeout', '2s', '--connect-timeout', '2s'],
  });
  await h.normalUser(srv.url);
  base = h.stats(srv.pid);
  // The header timeout is 10 s whatever the flags: the trickled connections
  // run while the other tests do, and their test comes last.
  slowloris = trickle(srv.port, 20, HEADER_TIMEOUT + 3000);
  slowloris.catch(() => {}); // awaited (and reported) by its test
  // The other tests compare descriptors with what they found before them:
  // the trickled connections are open by then.
  // (The normal user's two connections may still be closing: 18 of 20.)
  await waitUntil(() => h.stats(srv.pid).fds >= base.fds + 18, 'the trickled connections to be accepted', 3000, 20);
});
test.after(async () => {
  if (srv) await srv.stop();
});

test('200 kept-alive connections that send one request and then nothing are closed after --http-idle-timeout', async (t) => {
  const before = h.stats(srv.pid).fds;
  const t0 = Date.now();
  const closed = await Promise.all(Array.from({ length: 200 }, (_, i) => within(new Promise((resolve, reject) => {
    const s = net.connect(srv.port, '127.0.0.1');
    let answered = 0;
    let got = '';
    s.on('data', (d) => {
      got += d;
      if (!answered && got.includes('\r\n\r\n')) answered = Date.now();
    });
    s.once('connect', () => s.write(`GET /healthz HTTP/1.1\r\nHost: 127.0.0.1:${srv.port}\r\n\r\n`));
    s.on('error', reject);
    s.once('close', () => {
      if (!got.startsWith('HTTP/1.1 200')) reject(new Error(`connection ${i} got ${JSON.stringify(got.slice(0, 80))}`));
      else resolve(Date.now() - answered);
    });
  }), `kept-alive connection ${i} to be closed`, IDLE + 4000)));
  const min = Math.min(...closed);
  const max = Math.max(...closed);
  t.diagnostic(`200 idle kept-alive connections closed ${min}–${max} ms after their answer (--http-idle-timeout 2s); all in ${Date.now() - t0} ms`);
  assert.ok(min >= IDLE / 2, `closed after ${min} ms, before the idle timeout`);
  assert.ok(max <= IDLE + 2500, `closed after ${max} ms`);
  await waitUntil(() => h.stats(srv.pid).fds <= before + 2, 'descriptors of the idle connections to be released', 3000, 100);
  await h.normalUser(srv.url);
});

test('a WebSocket client that floods rtt and never reads is closed, and the server holds about its queue for it', async (t) => {
  const before = h.stats(srv.pid);
  const s = await h.rawWs(srv.port);
  s.write(h.wsFrame('40/chat,'));
  // The CONNECT answer arrives; from then on the client reads nothing.
  await within(new Promise((res) => {
    let got = '';
    const on = (d) => {
      got += d.toString('latin1');
      if (got.includes('40/chat,{')) {
        s.off('data', on);
        res();
      }
    };
    s.on('data', on);
  }), 'CONNECT answer');
  s.pause();
  let ended = null;
  s.on('error', (e) => (ended = ended || e.code));
  s.on('close', () => (ended = ended || 'close'));
  const batch = Buffer.concat(Array.from({ length: 1000 }, (_, i) => h.wsFrame(`42/chat,${i}["rtt",{}]`)));
  const t0 = Date.now();
  let sent = 0;
  let peak = before.rss;
  // Each request's ack is about 45 bytes: 400,000 of them are 18 MB, far
  // more than the 1 MiB queue and the sockets' buffers can take.
  for (let k = 0; k < 400 && !ended && Date.now() - t0 < 10000; k++) {
    s.write(batch);
    sent += 1000;
    if (s.writableLength > 2 * h.MiB) await within(new Promise((r) => s.once('drain', r).once('close', r)), 'the server to read on', 10000);
    if (k % 10 === 0) peak = Math.max(peak, h.stats(srv.pid).rss);
  }
  await waitUntil(() => ended || h.stats(srv.pid).fds <= before.fds, 'the server to close the client that never reads', 10000, 100);
  const after = h.stats(srv.pid);
  peak = Math.max(peak, after.rss);
  t.diagnostic(`a client that never reads: closed after ${Date.now() - t0} ms and ${sent} rtt requests (${ended || 'descriptor released'}); ` +
    `server RSS ${h.mib(before.rss)} before, peak ${h.mib(peak)} (+${h.mib(peak - before.rss)})`);
  assert.ok(sent < 400000, 'the server closed the client before it sent everything');
  assert.ok(peak - before.rss < 24 * h.MiB, `the server grew by ${h.mib(peak - before.rss)} for one client`);
  s.destroy();
  await h.normalUser(srv.url);
});

test('a polling client that posts 36,000 rtt requests and does not poll is closed at its 1 MiB queue; 18,000 are kept', async () => {
  const p = srv.port;
  const sid = await h.handshake(p);
  const path = `${EIO}&sid=${sid}`;
  assert.equal((await h.raw(p, h.post(p, path, '40/chat,'))).status, 200);
  assert.match((await h.raw(p, h.get(p, path))).body, /^40\/chat,\{/);
  // About 900 KB of requests (under --max-payload) whose acks come to about
  // 1.6 MB: more than the queue may hold.
  const body = Array.from({ length: 36000 }, (_, i) => `42/chat,${i}["rtt",{}]`).join('\x1e');
  assert.ok(body.length < 1048576, `${body.length} bytes`);
  assert.equal((await h.raw(p, h.post(p, path, body))).status, 200);
  const res = await h.raw(p, h.get(p, path));
  const gone = res.status === 400 || res.body === '1' || res.body.endsWith('\x1e1');
  assert.ok(gone, `the session over its queue goes on: ${res.status} ${res.body.length} bytes ${res.body.slice(0, 60)}`);
  // Half as many (about 850 KB of acks) stay under the queue's bound: the
  // same client, polling only once they are all queued, gets every one.
  const sid2 = await h.handshake(p);
  const path2 = `${EIO}&sid=${sid2}`;
  assert.equal((await h.raw(p, h.post(p, path2, '40/chat,'))).status, 200);
  assert.match((await h.raw(p, h.get(p, path2))).body, /^40\/chat,\{/);
  assert.equal((await h.raw(p, h.post(p, path2, Array.from({ length: 18000 }, (_, i) => `42/chat,${i}["rtt",{}]`).join('\x1e')))).status, 200);
  let acks = 0;
  for (let i = 0; i < 20 && acks < 18000; i++) {
    const r = await h.raw(p, h.get(p, path2));
    assert.equal(r.status, 200, r.body);
    acks += (r.body.match(/43\/chat,\d+\[/g) || []).length;
  }
  assert.equal(acks, 18000, 'a client under the bound gets every ack');
  await h.raw(p, h.post(p, path2, '1'));
  await h.normalUser(srv.url);
});

test('500 abandoned polling handshakes expire and their memory and descriptors come back', async (t) => {
  const before = h.stats(srv.pid);
  const sids = [];
  for (let i = 0; i < 500; i += 50) {
    sids.push(...(await Promise.all(Array.from({ length: 50 }, () => h.handshake(srv.port)))));
  }
  const during = h.stats(srv.pid);
  const t0 = Date.now();
  // Never CONNECTed, never polled: the heartbeat (1 s + 1 s) ends each, or
  // the connect timeout (2 s) closes it and its close packet waits for a
  // poll at most interval + timeout more. Polling earlier would end them
  // sooner, so the check comes once, at that bound.
  await delay(2000 + 1000 + 1000 + 1000);
  for (const sid of sids.filter((_, i) => i % 10 === 0)) {
    h.expectJSON(await h.raw(srv.port, h.get(srv.port, `${EIO}&sid=${sid}`)), 400, { code: 1, message: 'Session ID unknown' }, 'expired session');
  }
  t.diagnostic(`500 abandoned handshakes: RSS ${h.mib(before.rss)} before, ${h.mib(during.rss)} with them; all of them gone ${Date.now() - t0} ms after the last`);
  await h.normalUser(srv.url);
  await h.settle(t, srv.pid, before, { what: 'after the abandoned handshakes' });
});

test('trickled request headers are cut at the 10 s header timeout', async (t) => {
  const times = await slowloris;
  t.diagnostic(`20 connections trickling headers: closed ${Math.min(...times)}–${Math.max(...times)} ms after they opened`);
  assert.ok(Math.max(...times) <= HEADER_TIMEOUT + 1500, `one lasted ${Math.max(...times)} ms`);
  await h.normalUser(srv.url);
});

test('memory and descriptors come back', async (t) => {
  await delay(100);
  await h.normalUser(srv.url);
  await h.settle(t, srv.pid, base);
});
