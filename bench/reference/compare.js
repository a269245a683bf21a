#!/usr/bin/env node
// Checks that the reference server answers the /chat protocol like the Go
// server: it runs one scripted session (every event, its error cases, the
// limits, and what the others in the room receive) against each URL with
// socket.io-client 4.x, replaces ids and timestamps by placeholders, and
// prints the differences. Exit status 0 when there are none.
//
// Usage: node bench/reference/compare.js http://127.0.0.1:GO_PORT http://127.0.0.1:NODE_PORT
// (VERBOSE=1 prints the Go server's normalised transcript)
'use strict';
const assert = require('node:assert/strict');
const io = require('sio-client-4');

const STEP = 5000;

function within(p, what) {
  let t;
  return Promise.race([p, new Promise((_, rej) => (t = setTimeout(() => rej(new Error('timeout: ' + what)), STEP)))])
    .finally(() => clearTimeout(t));
}

async function connect(url) {
  const s = io(url + '/chat', { forceNew: true, reconnection: false, transports: ['websocket'] });
  await within(new Promise((res, rej) => (s.once('connect', res), s.once('connect_error', rej))), 'connect');
  s.got = [];
  s.onAny((ev, ...args) => {
    // With connection state recovery each event ends with its offset,
    // whose form is the server's own: left out of the transcript.
    if (s._pid && typeof args[args.length - 1] === 'string') args.pop();
    s.got.push([ev, ...args]);
  });
  return s;
}

const call = (s, ev, ...args) => within(new Promise((res) => s.emit(ev, ...args, (r) => res(r))), 'ack ' + ev);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// script runs the same steps against one server and returns the transcript.
async function script(url) {
  const tag = Math.random().toString(36).slice(2, 8);
  const room = 'cmp-' + tag;
  const out = [];
  const log = (what, v) => out.push([what, v]);
  const a = await connect(url);
  const b = await connect(url);
  await sleep(100);

  for (const name of ['', ' ', 'a'.repeat(25), 'bad name', 'é', '<b>']) log('register ' + JSON.stringify(name), await call(a, 'register', { name }));
  log('register no payload', await call(a, 'register'));
  log('register array', await call(a, 'register', [1]));
  log('register number name', await call(a, 'register', { name: 5 }));
  log('join before register', await call(a, 'join', { room }));
  log('message before register', await call(a, 'message', { room, text: 'x' }));
  log('leave before register', await call(a, 'leave', { room }));
  log('register', await call(a, 'register', { name: ` A${tag} ` }));
  log('register again', await call(a, 'register', { name: `A${tag}` }));
  log('register other', await call(a, 'register', { name: `Z${tag}` }));
  log('register taken', await call(b, 'register', { name: `a${tag}` }));
  log('register b', await call(b, 'register', { name: `b${tag}` }));
  const e = await connect(url);
  const tries = [];
  for (let i = 0; i < 6; i++) tries.push(await call(e, 'register', { name: `a${tag}` }));
  log('register burst', tries);
  e.close();
  for (const r of ['', 'Bad', 'a'.repeat(33), 'a b', 5]) log('join ' + JSON.stringify(r), await call(a, 'join', { room: r }));
  log('join', await call(a, 'join', { room: ' ' + room + ' ' }));
  log('join again', await call(a, 'join', { room }));
  log('join b', await call(b, 'join', { room }));
  await sleep(100);
  log('a got', a.got.splice(0));
  log('b got', b.got.splice(0));
  for (const [text, clientId] of [['', 'c'], ['   ', 'c'], ['x'.repeat(2001), 'c'], ['ok', 'c'.repeat(65)], ['😀'.repeat(2000), 'e']]) {
    log(`message ${text.length}/${clientId.length}`, await call(a, 'message', { room, text, clientId }));
  }
  log('message not in room', await call(a, 'message', { room: 'elsewhere', text: 'x' }));
  log('message bad room', await call(a, 'message', { room: 'Nope', text: 'x' }));
  log('message no clientId', await call(a, 'message', { room, text: '  hi  ' }));
  const burst = [];
  for (let i = 0; i < 14; i++) burst.push(call(a, 'message', { room, text: 'm' + i, clientId: 'k' + i }));
  log('burst', (await Promise.all(burst)).map((r) => (r.ok ? 'ok' : r.error.code)));
  await sleep(100);
  log('b got messages', b.got.splice(0));
  a.got.splice(0);
  for (const p of [{ room, x: 2, y: 0 }, { room, x: -0.1, y: 0 }, { room, x: 'a', y: 0 }, { room: 'other', x: 0, y: 0 }, null, 'x']) a.emit('mousemove', p);
  a.emit('mousemove', { room, x: 0.25, y: 0.75 });
  for (let i = 0; i < 50; i++) a.emit('mousemove', { room, x: i / 50, y: 0.5 });
  await sleep(200);
  const moves = b.got.splice(0);
  log('b got first move', moves[0]);
  log('b got moves <= 6', moves.length >= 1 && moves.length <= 6);
  log('a got own moves', a.got.filter((g) => g[0] === 'mousemove').length);
  log('rtt', await call(a, 'rtt', {}));
  log('rtt no payload', await call(a, 'rtt'));
  log('unknown', await call(a, 'nope', {}));
  log('unknown long', await call(a, 'x'.repeat(70), {}));
  const c = await connect(url);
  await sleep(50);
  await call(c, 'register', { name: `c${tag}` });
  log('c join', await call(c, 'join', { room }));
  await sleep(100);
  a.got.splice(0);
  b.got.splice(0);
  log('leave', await call(a, 'leave', { room }));
  log('leave again', await call(a, 'leave', { room }));
  log('leave bad', await call(a, 'leave', { room: 'NO' }));
  await sleep(100);
  log('b got left', b.got.splice(0));
  for (let i = 0; i < 21; i++) {
    const r = await call(a, 'join', { room: `${room}-${i}` });
    if (!r.ok) log('join #' + i, r);
  }
  b.close();
  await sleep(300);
  log('c got after b closed', c.got.splice(0));
  const d = await connect(url);
  await sleep(50);
  log('name free again', await call(d, 'register', { name: `B${tag}` }));
  for (const s of [a, c, d]) s.close();
  return out;
}

// normalise replaces what must differ between servers (socket ids, message
// ids and times, the random tag) by placeholders.
function normalise(out) {
  const ids = new Map();
  const msgIds = new Map();
  let tag;
  const walk = (v, key) => {
    if (Array.isArray(v)) return v.map((x) => walk(x));
    if (v && typeof v === 'object') {
      const o = {};
      for (const k of Object.keys(v)) o[k] = walk(v[k], k);
      return o;
    }
    if (typeof v === 'string') {
      if (key === 'id') {
        if (!ids.has(v)) ids.set(v, 'sid' + ids.size);
        return ids.get(v);
      }
      if (tag) v = v.split(tag).join('TAG');
      return v;
    }
    if (typeof v === 'number' && key === 'ts') return v > 1.6e12 ? 'TS' : v;
    if (typeof v === 'number' && key === 'id') {
      if (!msgIds.has(v)) msgIds.set(v, 'mid' + msgIds.size);
      return msgIds.get(v);
    }
    return v;
  };
  const reg = out.find(([w]) => w === 'register');
  tag = reg && reg[1].name ? reg[1].name.slice(1) : undefined;
  return out.map(([w, v]) => [w, walk(v)]);
}

async function main() {
  const [goURL, nodeURL] = process.argv.slice(2);
  if (!goURL || !nodeURL) {
    console.error('usage: compare.js GO_URL NODE_URL');
    process.exit(2);
  }
  const [g, n] = [normalise(await script(goURL)), normalise(await script(nodeURL))];
  if (process.env.VERBOSE) for (const [w, v] of g) console.log(w, JSON.stringify(v).slice(0, 300));
  let diffs = 0;
  for (let i = 0; i < Math.max(g.length, n.length); i++) {
    try {
      assert.deepStrictEqual(n[i], g[i]);
    } catch {
      diffs++;
      console.log('DIFF at step', i, (g[i] || n[i])[0]);
      console.log('  go:  ', JSON.stringify(g[i] && g[i][1]).slice(0, 600));
      console.log('  node:', JSON.stringify(n[i] && n[i][1]).slice(0, 600));
    }
  }
  console.log(diffs === 0 ? `same transcript (${g.length} steps)` : `${diffs} of ${g.length} steps differ`);
  process.exit(diffs === 0 ? 0 : 1);
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
