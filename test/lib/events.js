// Socket.IO helpers for the Node tests, bounded like everything in wait.js.
'use strict';
const assert = require('node:assert/strict');
const { within } = require('./wait');

// connected resolves with s once it is connected, or rejects with its
// connect_error.
function connected(s, what = 'connect') {
  return within(new Promise((res, rej) => {
    s.once('connect', () => res(s));
    s.once('connect_error', rej);
  }), what);
}

// client connects a socket.io-client (gen 4: 4.x, 3: 3.x, 2: 2.x) to /chat
// on url and resolves once connected; it never reconnects by itself. More
// options go to io() as they are.
function client(url, { gen = 4, ...opts } = {}) {
  const io = require(`sio-client-${gen}`);
  return connected(io(url + '/chat', { forceNew: true, reconnection: false, ...opts }));
}

// user is a client registered as name (s.me: {id, name}) and, with a room,
// in it (s.joinReply: the join's answer).
async function user(url, name, room, opts) {
  const s = await client(url, opts);
  const r = await call(s, 'register', { name });
  assert.equal(r.ok, true, JSON.stringify(r));
  s.me = { id: r.id, name: r.name };
  if (room) {
    const j = await call(s, 'join', { room });
    assert.equal(j.ok, true, JSON.stringify(j));
    s.joinReply = j;
  }
  return s;
}

// call emits event with payload and resolves with the ack's answer.
function call(s, event, payload) {
  return within(new Promise((res) => s.emit(event, payload, res)), `ack of ${event}`);
}

// next resolves with the first argument of the next `event` on s for which
// pred (given all its arguments) holds.
function next(s, event, pred = () => true, ms) {
  return within(new Promise((res) => {
    const h = (...args) => {
      if (pred(...args)) {
        s.off(event, h);
        res(args[0]);
      }
    };
    s.on(event, h);
  }), `event ${event}`, ms);
}

module.exports = { call, next, connected, client, user };
