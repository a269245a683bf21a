// Durability on a single node: a message is acknowledged to its sender only
// once it is on disk. Round after round, users send a burst of messages, the
// server is killed with SIGKILL at a random moment of the burst, and the
// server restarted on the same data directory must serve every message whose
// ack arrived, with the same id and text. Messages sent but not acknowledged
// may or may not be there; the figures say which.
'use strict';
const test = require('node:test');
const assert = require('node:assert/strict');
const { randomInt } = require('node:crypto');
const { within } = require('../lib/wait');
const server = require('../lib/server');
const burst = require('../lib/burst');

const ROUNDS = 12;
const BUDGET_MS = 30000; // no new round starts after this
const USERS = 6;
// Below chat.MessageBurst (10), so the rate limit refuses none of them.
const PER_USER = 8;

async function history(url, room) {
  const res = await fetch(`${url}/api/rooms/${room}/messages?limit=100`);
  assert.equal(res.status, 200);
  return (await res.json()).messages;
}

test('every acknowledged message survives SIGKILL during a burst', { timeout: 60000 }, async (t) => {
  const started = Date.now();
  let srv = await server.start();
  const { dataDir } = srv;
  const total = { rounds: 0, sent: 0, acked: 0, ackedAfterKill: 0, unacked: 0, unackedStored: 0, unackedDelivered: 0, deliveredUnackedStored: 0, reusedIds: 0 };
  // Every message id a client has seen (in an ack or delivered live), with
  // the clientId it was seen with: a restarted server handing out an id
  // again for another message would make clients that de-duplicate by id
  // drop the new one.
  const seen = new Map();
  try {
    for (let round = 0; round < ROUNDS && Date.now() - started < BUDGET_MS; round++) {
      const room = `durable-${round}`;
      const socks = await burst.users(srv.url, `r${round}u`, room, USERS);
      const count = USERS * PER_USER;
      // The kill comes after a random number of acks (none to all but
      // one) and a random 0-3 ms more.
      const killAfter = randomInt(0, count);
      const extra = randomInt(0, 4);
      let acks = 0;
      let acksAtKill = -1;
      const victim = srv;
      const kill = () => setTimeout(() => {
        acksAtKill = acks;
        process.kill(victim.pid, 'SIGKILL');
      }, extra);
      const records = burst.send(socks, room, PER_USER, `r${round}`, (n) => {
        acks = n;
        if (n === killAfter) kill();
      });
      if (killAfter === 0) kill();
      const exit = await within(victim.exited, 'the server to die');
      assert.equal(exit.signal, 'SIGKILL', victim.output());
      await burst.disconnected(socks);
      socks.forEach((s) => s.close());

      srv = await server.start({ dataDir });
      const f = burst.check(records, await history(srv.url, room));
      let reused = 0;
      for (const r of records) {
        for (const m of [r.ack, r.delivered]) {
          if (!m) continue;
          if (seen.has(m.id) && seen.get(m.id) !== m.clientId) reused++;
          seen.set(m.id, m.clientId);
        }
      }
      const afterKill = records.filter((r) => r.ack).length - acksAtKill;
      t.diagnostic(`round ${round}: kill after ${acksAtKill} acks (+${extra} ms); sent ${f.sent}, acked ${f.acked} (${afterKill} of them arrived after the kill signal), all ${f.acked - f.lost.length} acked stored; unacked ${f.unacked}, of them stored ${f.unackedStored}, delivered live ${f.unackedDelivered} (stored ${f.deliveredUnackedStored}); ids reused ${reused}`);
      assert.equal(f.refused, 0, 'no message refused');
      assert.deepEqual(f.lost, [], `round ${round}: acknowledged messages missing after the restart`);
      assert.deepEqual(f.duplicates, [], `round ${round}: stored twice`);
      assert.ok(f.ordered, `round ${round}: history in id order`);
      total.rounds++;
      total.sent += f.sent;
      total.acked += f.acked;
      total.ackedAfterKill += afterKill;
      total.unacked += f.unacked;
      total.unackedStored += f.unackedStored;
      total.unackedDelivered += f.unackedDelivered;
      total.deliveredUnackedStored += f.deliveredUnackedStored;
      total.reusedIds += reused;
    }
    t.diagnostic(`total: ${JSON.stringify(total)} in ${Date.now() - started} ms`);
    assert.ok(total.rounds >= 3, `only ${total.rounds} rounds within ${BUDGET_MS} ms`);
    assert.ok(total.acked > 0 && total.unacked > 0, 'the kills landed during the bursts');
    // Messages delivered live before their write was done must not lend
    // their ids to later messages.
    assert.equal(total.reusedIds, 0, 'ids handed out again after a restart');
  } finally {
    await srv.stop();
  }
});
