// A burst of acknowledged chat messages from several users, and the check
// of what a history holds of them afterwards: the durability tests send one,
// kill a process during it, and compare.
'use strict';
const assert = require('node:assert/strict');
const { within } = require('./wait');
const { call, client } = require('./events');

// users connects n socket.io-client 4.x users over WebSocket to url, without
// reconnection (a killed server stays gone for them), registered as
// `${prefix}${i}` and in room.
async function users(url, prefix, room, n) {
  const socks = await Promise.all(Array.from({ length: n }, () => client(url, { transports: ['websocket'] })));
  await Promise.all(socks.map(async (s, i) => {
    const r = await call(s, 'register', { name: `${prefix}${i}` });
    assert.equal(r.ok, true, JSON.stringify(r));
    const j = await call(s, 'join', { room });
    assert.equal(j.ok, true, JSON.stringify(j));
    s.me = { id: r.id, name: r.name };
  }));
  return socks;
}

// send emits perUser messages from every user at once (each user's are
// handled in order by the server) and returns their records at once:
// {clientId, text, from, sentAt, ack, ackAt, error, delivered}. ack is the
// message of an {ok: true} answer when it arrives (ackAt its time), error
// that of a refusal, delivered the copy another user received live.
// onAck(count) runs after every ok answer.
function send(socks, room, perUser, tag, onAck = () => {}) {
  const records = [];
  const byClientId = new Map();
  let acked = 0;
  for (const s of socks) {
    s.on('message', (m) => {
      const r = byClientId.get(m.clientId);
      if (r && !r.delivered) r.delivered = m;
    });
  }
  for (let k = 0; k < perUser; k++) {
    socks.forEach((s, i) => {
      const clientId = `${tag}-u${i}-m${k}`;
      const r = { clientId, text: `${tag} message ${k} from user ${i}`, from: s.me, sentAt: Date.now(), ack: null, ackAt: 0, error: null, delivered: null };
      records.push(r);
      byClientId.set(clientId, r);
      s.emit('message', { room, text: r.text, clientId }, (a) => {
        if (a && a.ok) {
          r.ack = a.message;
          r.ackAt = Date.now();
          onAck(++acked);
        } else {
          r.error = a && a.error;
        }
      });
    });
  }
  return records;
}

// disconnected resolves once every socket has seen its connection end.
function disconnected(socks, ms) {
  return within(Promise.all(socks.map((s) => (s.connected ? new Promise((res) => s.once('disconnect', res)) : null))), 'the clients to see the server gone', ms);
}

// check compares records with history (the room's messages as a server
// serves them after the restart): every acknowledged message must be there
// with the same id, text, sender and clientId. It returns the figures.
function check(records, history) {
  const byId = new Map(history.map((m) => [m.id, m]));
  const byClientId = new Map();
  for (const m of history) byClientId.set(m.clientId, (byClientId.get(m.clientId) || 0) + 1);
  const acked = records.filter((r) => r.ack);
  const unacked = records.filter((r) => !r.ack);
  const lost = [];
  for (const r of acked) {
    const m = byId.get(r.ack.id);
    if (!m || m.text !== r.text || m.clientId !== r.clientId || m.from.name !== r.from.name || m.text !== r.ack.text) {
      lost.push({ acked: r.ack, stored: m || null });
    }
  }
  const dup = [...byClientId].filter(([, n]) => n > 1).map(([c]) => c);
  const ids = history.map((m) => m.id);
  return {
    sent: records.length,
    acked: acked.length,
    refused: records.filter((r) => r.error).length,
    unacked: unacked.length,
    unackedStored: unacked.filter((r) => byClientId.has(r.clientId)).length,
    unackedDelivered: unacked.filter((r) => r.delivered).length,
    deliveredUnackedStored: unacked.filter((r) => r.delivered && byClientId.has(r.clientId)).length,
    lost,
    duplicates: dup,
    ordered: ids.every((id, i) => i === 0 || ids[i - 1] < id),
  };
}

module.exports = { users, send, disconnected, check };
