// Durability in cluster mode, where history lives in Redis: two nodes share
// a redis-server that keeps an append-only file; users on both nodes send a
// burst of acked messages, redis-server is killed with SIGKILL during it and
// restarted on the same directory. With appendfsync always every message
// whose ack arrived must be in the history the nodes serve afterwards; the
// nodes ride out the outage and their users chat on. The same is measured,
// not asserted, with appendfsync everysec.
'use strict';
const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const { randomInt } = require('node:crypto');
const { within, waitUntil, delay } = require('../lib/wait');
const server = require('../lib/server');
const redisServer = require('../lib/redis');
const burst = require('../lib/burst');
const { call } = require('../lib/events');

const CI = process.env.CI === 'true';
const skip = !redisServer.haveRedis && !CI ? `needs ${redisServer.REDIS_BIN} (apt-get install redis-server)` : false;
const USERS_PER_NODE = 3;
// Below chat.MessageBurst (10), so the rate limit refuses none of them.
const PER_USER = 8;
// Nodes check Redis every 2 s (app/backends.go redisCheckInterval).
const NOTICE_MS = 8000;

async function readyz(url) {
  try {
    return (await fetch(url + '/readyz')).status;
  } catch {
    return 0;
  }
}

async function history(url, room) {
  const res = await fetch(`${url}/api/rooms/${room}/messages?limit=100`);
  assert.equal(res.status, 200);
  return (await res.json()).messages;
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? s[Math.floor(s.length / 2)] : NaN;
};

// rounds runs `count` kill-and-restart rounds against a redis-server with
// the given appendfsync, and returns the figures of each.
async function rounds(t, appendfsync, count) {
  let redis = await redisServer.start({ appendfsync });
  const { dir, port } = redis;
  const nodes = [];
  const out = [];
  const seen = new Map(); // message id -> clientId, as clients saw them
  const note = (m) => {
    if (!m) return 0;
    const reused = seen.has(m.id) && seen.get(m.id) !== m.clientId ? 1 : 0;
    seen.set(m.id, m.clientId);
    return reused;
  };
  try {
    for (let i = 0; i < 2; i++) nodes.push(await server.start({ args: ['--redis', redis.url] }));
    {
      // What the fsync policy costs: the same burst, nothing killed.
      const room = `aof-${appendfsync}-calm`;
      const socks = [];
      for (const [i, n] of nodes.entries()) socks.push(...(await burst.users(n.url, `${appendfsync.slice(0, 2)}calm${i}u`, room, USERS_PER_NODE)));
      const t0 = Date.now();
      const records = burst.send(socks, room, PER_USER, `${appendfsync}calm`);
      await waitUntil(() => records.every((r) => r.ack || r.error), 'an answer to every message', NOTICE_MS, 5);
      const ms = Date.now() - t0;
      socks.forEach((s) => s.close());
      assert.equal(records.filter((r) => r.ack).length, records.length);
      t.diagnostic(`appendfsync ${appendfsync}, no kill: ${records.length} messages acked within ${ms} ms, median ack ${median(records.map((r) => r.ackAt - r.sentAt))} ms`);
    }
    for (let round = 0; round < count; round++) {
      const room = `aof-${appendfsync}-${round}`;
      const socks = [];
      for (const [i, n] of nodes.entries()) socks.push(...(await burst.users(n.url, `${appendfsync.slice(0, 2)}${round}n${i}u`, room, USERS_PER_NODE)));
      const total = socks.length * PER_USER;
      const killAfter = randomInt(0, total);
      const extra = randomInt(0, 4);
      let acks = 0;
      let acksAtKill = -1;
      const victim = redis;
      const kill = () => setTimeout(() => {
        acksAtKill = acks;
        process.kill(victim.pid, 'SIGKILL');
      }, extra);
      const records = burst.send(socks, room, PER_USER, `${appendfsync}${round}`, (n) => {
        acks = n;
        if (n === killAfter) kill();
      });
      if (killAfter === 0) kill();
      const exit = await within(victim.exited, 'redis-server to die');
      assert.equal(exit.signal, 'SIGKILL');
      const downAt = Date.now();
      // Back at once (the nodes' Redis client retries what failed), or
      // after longer than its retries last (the nodes refuse messages).
      if (round % 2) await delay(randomInt(1200, 2000));
      redis = await redisServer.start({ port, dir, appendfsync });
      const upMs = Date.now() - downAt;
      // Every message is answered: stored, or refused while Redis was away.
      await waitUntil(() => records.every((r) => r.ack || r.error), 'an answer to every message', NOTICE_MS, 50);
      for (const n of nodes) await waitUntil(async () => (await readyz(n.url)) === 200, 'readyz 200 once Redis is back', NOTICE_MS, 100);

      const before = await history(nodes[1].url, room);
      const f = burst.check(records, before);
      let reused = 0;
      for (const r of records) reused += note(r.ack) + note(r.delivered);
      // What was refused is sent again, as the room page lets its user do,
      // with the same clientId: a message Redis had stored although its
      // reply was lost is answered with the stored copy, not stored again.
      const sender = new Map(socks.map((s) => [s.me.id, s]));
      const storedId = new Map(before.map((m) => [m.clientId, m.id]));
      let resent = 0;
      let resentStored = 0;
      for (const r of records.filter((x) => !x.ack)) {
        const a = await waitUntil(async () => {
          const a = await call(sender.get(r.from.id), 'message', { room, text: r.text, clientId: r.clientId });
          if (!a.ok && a.error.code !== 'rate_limited') throw new Error(JSON.stringify(a));
          return a.ok && a;
        }, `${r.clientId} sent again`, NOTICE_MS, 250);
        r.ack = a.message;
        reused += note(a.message);
        resent++;
        if (storedId.has(r.clientId)) {
          assert.equal(a.message.id, storedId.get(r.clientId), `${r.clientId}: the stored copy`);
          resentStored++;
        }
      }
      const again = burst.check(records, await history(nodes[1].url, room));
      // The nodes chat on after the outage, across nodes, with ids above
      // every id handed out before it (retried until the adapter's
      // subscriptions are back).
      const [from, to] = [socks[0], socks[socks.length - 1]];
      const highest = Math.max(...seen.keys());
      const got = new Set();
      to.on('message', (m) => got.add(m.clientId));
      let tries = 0;
      const after = await waitUntil(async () => {
        const clientId = `after-${appendfsync}-${round}-${tries++}`;
        const a = await within(new Promise((res) => from.emit('message', { room, text: 'still here', clientId }, res)), 'ack of message');
        if (a.ok) reused += note(a.message);
        return a.ok && (await waitUntil(() => got.has(clientId), 'the message on the other node', 500, 20).then(() => a.message, () => null));
      }, 'a message across nodes after the restart', NOTICE_MS, 300);
      socks.forEach((s) => s.close());

      const fig = {
        round,
        killAfter: acksAtKill,
        redisDownMs: upMs,
        sent: f.sent,
        acked: f.acked,
        ackedLost: f.lost.length,
        refused: f.refused,
        unackedStored: f.unackedStored,
        resent,
        resentStored,
        resentLost: again.lost.length,
        duplicates: again.duplicates.length,
        reusedIds: reused,
        medianAckMs: median(records.filter((r) => r.ackAt).map((r) => r.ackAt - r.sentAt)),
        idAfter: after.id,
        highestIdBefore: highest,
      };
      t.diagnostic(`appendfsync ${appendfsync}, ${JSON.stringify(fig)}`);
      out.push({ ...fig, f, again });
    }
    return out;
  } finally {
    for (const n of nodes) await n.stop();
    await redis.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

test('appendfsync always: every acknowledged message survives SIGKILL of redis-server', { skip, timeout: 60000 }, async (t) => {
  if (!redisServer.haveRedis) throw new Error('CI=true but redis-server is missing');
  const res = await rounds(t, 'always', 3);
  for (const r of res) {
    assert.deepEqual(r.f.lost, [], `round ${r.round}: acknowledged messages missing after the restart`);
    assert.deepEqual(r.again.lost, [], `round ${r.round}: messages sent again missing`);
    assert.deepEqual(r.again.duplicates, [], `round ${r.round}: stored twice`);
    assert.equal(r.reusedIds, 0, `round ${r.round}: ids handed out again`);
    assert.ok(r.idAfter > r.highestIdBefore, `round ${r.round}: id ${r.idAfter} after the restart, ${r.highestIdBefore} before`);
  }
  assert.ok(res.some((r) => r.killAfter < r.sent), 'a kill landed during a burst');
});

test('appendfsync everysec: what survives SIGKILL of redis-server (measured)', { skip, timeout: 60000 }, async (t) => {
  if (!redisServer.haveRedis) throw new Error('CI=true but redis-server is missing');
  const res = await rounds(t, 'everysec', 2);
  const sum = (k) => res.reduce((n, r) => n + r[k], 0);
  t.diagnostic(`everysec total: sent ${sum('sent')}, acked ${sum('acked')}, acked lost ${sum('ackedLost')}, ids reused ${sum('reusedIds')}`);
});
