// Redis going away and coming back under two cluster nodes: the nodes say so
// in the log and in /readyz, reconnect by themselves, and users on different
// nodes chat again.
'use strict';
const { within, waitUntil } = require('../lib/wait');
const test = require('node:test');
const assert = require('node:assert/strict');
const io4 = require('sio-client-4');
const server = require('../lib/server');
const redisServer = require('../lib/redis');

const CI = process.env.CI === 'true';
const skip = !redisServer.haveRedis && !CI ? `needs ${redisServer.REDIS_BIN} (apt-get install redis-server)` : false;
// Nodes check Redis every 2 s (app/backends.go redisCheckInterval).
const NOTICE_MS = 8000;

async function readyz(url) {
  try {
    return (await fetch(url + '/readyz')).status;
  } catch {
    return 0;
  }
}

function connect(url) {
  const s = io4(url + '/chat', { forceNew: true, transports: ['websocket'], reconnectionDelay: 100, reconnectionDelayMax: 500 });
  return within(new Promise((res, rej) => {
    s.once('connect', () => res(s));
    s.once('connect_error', rej);
  }), 'connect');
}
const call = (s, ev, p) => within(new Promise((res) => s.emit(ev, p, res)), `ack of ${ev}`);

test('nodes ride out a Redis restart', { skip, timeout: 60000 }, async () => {
  if (!redisServer.haveRedis) throw new Error('CI=true but redis-server is missing');
  let redis = await redisServer.start();
  const nodes = [];
  const socks = [];
  try {
    for (let i = 0; i < 2; i++) nodes.push(await server.start({ args: ['--redis', redis.url] }));
    const [a, b] = await Promise.all(nodes.map((n) => connect(n.url)));
    socks.push(a, b);
    for (const [s, name] of [[a, 'ann'], [b, 'ben']]) {
      assert.equal((await call(s, 'register', { name })).ok, true);
      assert.equal((await call(s, 'join', { room: 'weather' })).ok, true);
    }

    await redis.stop();
    for (const n of nodes) {
      await waitUntil(async () => (await readyz(n.url)) === 503, 'readyz 503 while Redis is down', NOTICE_MS, 100);
      await waitUntil(() => /redis unavailable/.test(n.output()), 'the log to say Redis is unavailable', NOTICE_MS, 100);
    }
    const down = await call(a, 'message', { room: 'weather', text: 'anyone?' });
    assert.equal(down.ok, false, 'a message cannot be stored while Redis is down');
    assert.equal(down.error.code, 'internal');

    redis = await redisServer.start({ port: redis.port });
    for (const n of nodes) {
      await waitUntil(async () => (await readyz(n.url)) === 200, 'readyz 200 once Redis is back', NOTICE_MS, 100);
      await waitUntil(() => /redis reachable again/.test(n.output()), 'the log to say Redis is back', NOTICE_MS, 100);
    }

    // The adapter's subscriptions come back too: a message from one node
    // reaches the other (retried until the subscription is in place).
    const got = [];
    b.on('message', (m) => got.push(m.text));
    await waitUntil(async () => {
      const r = await call(a, 'message', { room: 'weather', text: 'back again' });
      assert.equal(r.ok, true, JSON.stringify(r));
      return got.includes('back again');
    }, 'a message across nodes after the restart', NOTICE_MS, 300);
  } finally {
    socks.forEach((s) => s.close());
    for (const n of nodes) await n.stop();
    await redis.stop();
  }
});
