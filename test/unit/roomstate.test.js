// static/js/roomstate.js (the room's protocol and state, without the page)
// driven by a fake socket and a fake clock: nothing here waits for real
// time.
//
//   node --test test/unit/
'use strict';

const { describe, test } = require('node:test');
const assert = require('node:assert/strict');
const { EventEmitter } = require('node:events');
const RoomState = require('../../static/js/roomstate.js');

// FakeClock runs timers when tick() moves its time past them.
class FakeClock {
  constructor() {
    this.t = 1_700_000_000_000;
    this.timers = new Map();
    this.nextId = 1;
  }
  now() {
    return this.t;
  }
  elapsed() {
    return this.t;
  }
  setTimeout(fn, ms) {
    const id = this.nextId++;
    this.timers.set(id, { at: this.t + Math.max(0, ms), fn, every: 0 });
    return id;
  }
  clearTimeout(id) {
    this.timers.delete(id);
  }
  setInterval(fn, ms) {
    const id = this.nextId++;
    this.timers.set(id, { at: this.t + ms, fn, every: ms });
    return id;
  }
  clearInterval(id) {
    this.timers.delete(id);
  }
  tick(ms) {
    const end = this.t + ms;
    for (;;) {
      let next = null;
      for (const [id, tm] of this.timers) {
        if (tm.at <= end && (!next || tm.at < next[1].at || (tm.at === next[1].at && id < next[0]))) next = [id, tm];
      }
      if (!next) break;
      const [id, tm] = next;
      this.t = tm.at;
      if (tm.every) tm.at += tm.every;
      else this.timers.delete(id);
      tm.fn();
    }
    this.t = end;
  }
}

// FakeSocket is the client socket as RoomState sees it: emit(event,
// payload, ack) goes to the "server" (recorded in sent, answered with
// answer()), receive() plays an event from the server, connectNow() and
// drop() the connection's life.
class FakeSocket extends EventEmitter {
  constructor() {
    super();
    this.connected = false;
    this.recovered = false;
    this.sent = [];
    this.connectCalls = 0;
    this.disconnectCalls = 0;
    this.volatile = { emit: (event, payload) => this.sent.push({ event, payload, volatile: true }) };
  }
  emit(event, payload, ack) {
    this.sent.push({ event, payload, ack, answered: false });
    return this;
  }
  receive(event, data) {
    return super.emit(event, data);
  }
  connectNow({ recovered = false } = {}) {
    this.connected = true;
    this.recovered = recovered;
    this.receive('connect');
  }
  drop(reason = 'transport close') {
    this.connected = false;
    this.receive('disconnect', reason);
  }
  connect() {
    this.connectCalls++;
  }
  disconnect() {
    this.disconnectCalls++;
  }
  // outgoing lists what was emitted for event (all of it with all=true,
  // else only what is still unanswered).
  outgoing(event, all = false) {
    return this.sent.filter((s) => s.event === event && (all || (s.ack && !s.answered)));
  }
  // answer answers the oldest unanswered emit of event.
  answer(event, res) {
    const s = this.outgoing(event)[0];
    assert.ok(s, `nothing to answer for ${event}`);
    s.answered = true;
    s.ack(res);
    return s.payload;
  }
}

// Recorder is a view that keeps what it was told: the message list as a
// page would show it (following before/moved/removed), and every call.
class Recorder {
  constructor() {
    this.calls = [];
    this.shown = []; // entries in page order
    this.statuses = [];
    this.cursors = new Map();
    this.members = [];
    const self = this;
    const log = (name, fn) => function (...args) {
      self.calls.push([name, ...args]);
      if (fn) fn(...args);
    };
    this.view = {
      status: log('status', (s) => this.statuses.push(s)),
      transport: log('transport'),
      rtt: log('rtt'),
      needName: log('needName'),
      nameRefused: log('nameRefused'),
      registered: log('registered'),
      joined: log('joined'),
      joinFailed: log('joinFailed'),
      members: log('members', (list) => { this.members = list; }),
      membersStale: log('membersStale'),
      memberJoined: log('memberJoined'),
      memberLeft: log('memberLeft'),
      messageAdded: log('messageAdded', (e, before) => this.insert(e, before)),
      messageMoved: log('messageMoved', (e, before) => {
        this.shown.splice(this.shown.indexOf(e), 1);
        this.insert(e, before);
      }),
      messageChanged: log('messageChanged'),
      messageRemoved: log('messageRemoved', (e) => this.shown.splice(this.shown.indexOf(e), 1)),
      historyMerged: log('historyMerged'),
      cursor: log('cursor', (c) => this.cursors.set(c.id, c)),
      cursorRemoved: log('cursorRemoved', (id) => this.cursors.delete(id)),
    };
  }
  insert(e, before) {
    if (before) {
      const i = this.shown.indexOf(before);
      assert.ok(i >= 0, 'inserted before an entry that is not shown');
      this.shown.splice(i, 0, e);
    } else {
      this.shown.push(e);
    }
  }
  texts() {
    return this.shown.map((e) => e.text);
  }
  count(name) {
    return this.calls.filter((c) => c[0] === name).length;
  }
}

const ROOM = 'lobby';
const ME = { id: 'u1', name: 'ada' };

function msg(id, text, extra = {}) {
  return { id, room: ROOM, text, from: { id: 'u2', name: 'bob' }, ts: 1000 + id, ...extra };
}

// setup makes a RoomState on a fake socket; joined: connected, registered
// and in the room with the given history.
function setup({ name = 'ada', joined = true, history = [], members = [ME, { id: 'u2', name: 'bob' }] } = {}) {
  const socket = new FakeSocket();
  const clock = new FakeClock();
  const rec = new Recorder();
  const rs = RoomState.create({ socket, room: ROOM, name, clock, view: rec.view });
  const env = { socket, clock, rec, rs };
  env.join = (hist = history, mem = members) => {
    assert.deepEqual(socket.answer('join', { ok: true, members: mem, history: hist }), { room: ROOM });
  };
  env.connectAndJoin = (hist = history, opts = {}) => {
    socket.connectNow(opts);
    assert.deepEqual(socket.answer('register', { ok: true, id: ME.id, name: ME.name }), { name: ME.name });
    env.join(hist);
  };
  if (joined) env.connectAndJoin();
  return env;
}

describe('connection', () => {
  test('connect registers the name, then joins; the answers fill the state', () => {
    const { socket, rec, rs } = setup({ joined: false });
    assert.equal(rec.statuses.length, 0);
    socket.connectNow();
    assert.deepEqual(rec.statuses, ['connected']);
    assert.deepEqual(socket.outgoing('register').map((s) => s.payload), [{ name: 'ada' }]);
    assert.equal(socket.outgoing('join').length, 0, 'joins only once registered');
    socket.answer('register', { ok: true, id: 'u1', name: 'ada' });
    assert.deepEqual(rs.state.me, ME);
    assert.equal(rs.state.registered, true);
    assert.equal(rs.state.joined, false);
    socket.answer('join', { ok: true, members: [ME, { id: 'u2', name: 'bob' }], history: [msg(1, 'hi')] });
    assert.equal(rs.state.joined, true);
    assert.deepEqual(rec.members.map((m) => [m.name, m.me]), [['ada', true], ['bob', false]]);
    assert.deepEqual(rec.texts(), ['hi']);
    const joined = rec.calls.filter((c) => c[0] === 'joined');
    assert.equal(joined.length, 1);
    assert.equal(joined[0][2], true, 'first join');
  });

  test('without a name it asks for one and registers what the user gives', () => {
    const { socket, rec, rs } = setup({ name: '', joined: false });
    socket.connectNow();
    assert.equal(rec.count('needName'), 1);
    assert.equal(socket.outgoing('register').length, 0);
    assert.equal(rs.setName('ada'), true);
    assert.deepEqual(socket.outgoing('register').map((s) => s.payload), [{ name: 'ada' }]);
  });

  test('a refused name is reported and forgotten', () => {
    const { socket, rec, rs } = setup({ joined: false });
    socket.connectNow();
    socket.answer('register', { ok: false, error: { code: 'name_taken', message: 'name is taken' } });
    const refused = rec.calls.find((c) => c[0] === 'nameRefused');
    assert.deepEqual(refused.slice(1), ['ada', { code: 'name_taken', message: 'name is taken' }]);
    assert.equal(rs.state.name, '');
    assert.equal(socket.outgoing('join').length, 0);
  });

  test('a reconnect without recovery registers and joins again; the history adds only what was missed', () => {
    const { socket, rec, rs, clock, join } = setup({ history: [msg(1, 'one'), msg(2, 'two')] });
    socket.drop();
    assert.equal(rs.state.joined, false);
    assert.equal(rs.state.wasJoined, true);
    assert.deepEqual(rec.statuses.slice(-1), ['reconnecting']);
    assert.deepEqual(rec.calls.filter((c) => c[0] === 'membersStale').map((c) => c[1]), [true]);

    socket.connectNow({ recovered: false });
    assert.deepEqual(socket.outgoing('register').map((s) => s.payload), [{ name: 'ada' }]);
    // The old connection may still hold the name: it is asked for again.
    socket.answer('register', { ok: false, error: { code: 'name_taken' } });
    assert.equal(rec.count('nameRefused'), 0);
    assert.equal(socket.outgoing('register').length, 0);
    clock.tick(RoomState.defaults.retakeNameMs - 1);
    assert.equal(socket.outgoing('register').length, 0);
    clock.tick(1);
    socket.answer('register', { ok: false, error: { code: 'rate_limited' } });
    clock.tick(RoomState.defaults.retakeNameMs);
    assert.equal(rec.count('nameRefused'), 0, 'still retaking');
    socket.answer('register', { ok: true, id: 'u1', name: 'ada' });
    join([msg(1, 'one'), msg(2, 'two'), msg(3, 'three')]);
    assert.equal(rs.state.joined, true);
    assert.deepEqual(rec.texts(), ['one', 'two', 'three']);
    const firsts = rec.calls.filter((c) => c[0] === 'joined').map((c) => c[2]);
    assert.deepEqual(firsts, [true, false]);
  });

  test('a recovered connection neither registers nor joins again, and applies the events missed', () => {
    const { socket, rec, rs } = setup();
    socket.drop();
    // socket.io-client hands over the missed events just before 'connect'.
    socket.receive('message', msg(5, 'while away'));
    socket.receive('left', { room: ROOM, user: { id: 'u2', name: 'bob' } });
    socket.connectNow({ recovered: true });
    assert.equal(socket.outgoing('register', true).length, 1, 'only the first register');
    assert.equal(socket.outgoing('join', true).length, 1, 'only the first join');
    assert.equal(rs.state.joined, true);
    assert.equal(rs.state.registered, true);
    assert.deepEqual(rec.texts(), ['while away']);
    assert.deepEqual(rec.members.map((m) => m.name), ['ada']);
    assert.deepEqual(rec.calls.filter((c) => c[0] === 'membersStale').map((c) => c[1]), [true, false]);
  });

  test('answers that come after their connection ended are dropped', () => {
    const { socket, rs, rec } = setup({ joined: false });
    socket.connectNow();
    const stale = socket.outgoing('register')[0];
    socket.drop();
    socket.connectNow();
    stale.answered = true;
    stale.ack({ ok: true, id: 'old', name: 'ada' });
    assert.equal(rs.state.me, null);
    assert.equal(rec.count('registered'), 0);
    socket.answer('register', { ok: true, id: 'u1', name: 'ada' });
    assert.deepEqual(rs.state.me, ME);
  });

  test('after a server-side disconnect it connects again by itself; a client-side one does not', () => {
    const { socket, clock, rec } = setup();
    socket.drop('io server disconnect');
    clock.tick(RoomState.defaults.reconnectAfterMs - 1);
    assert.equal(socket.connectCalls, 0);
    clock.tick(1);
    assert.equal(socket.connectCalls, 1);

    socket.connectNow();
    socket.drop('io client disconnect');
    assert.equal(rec.statuses[rec.statuses.length - 1], 'disconnected');
    clock.tick(60000);
    assert.equal(socket.connectCalls, 1);
  });

  test('an unanswered request times out with a normalized error', () => {
    const { rs, clock } = setup();
    const got = [];
    rs.emitAck('player', { action: 'play' }, (res) => got.push(res));
    clock.tick(RoomState.defaults.ackTimeoutMs - 1);
    assert.deepEqual(got, []);
    clock.tick(1);
    assert.deepEqual(got, [{ ok: false, error: { code: 'timeout', message: 'timeout' } }]);
  });

  test('member events that arrive while the join waits are applied on top of its answer', () => {
    const { socket, rec } = setup({ joined: false });
    socket.connectNow();
    socket.answer('register', { ok: true, id: 'u1', name: 'ada' });
    socket.receive('joined', { room: ROOM, user: { id: 'u3', name: 'cy' } });
    assert.deepEqual(rec.members, [], 'held until the answer');
    socket.answer('join', { ok: true, members: [ME], history: [] });
    assert.deepEqual(rec.members.map((m) => m.name), ['ada', 'cy']);
    assert.deepEqual(rec.calls.filter((c) => c[0] === 'memberJoined').map((c) => c[1].name), ['cy']);
  });

  test('the round trip gives the server clock offset', () => {
    const { socket, clock, rs, rec } = setup({ joined: false });
    socket.connectNow();
    const sentAt = clock.now();
    clock.tick(40);
    socket.answer('rtt', { ok: true, ts: sentAt + 20 + 5000 });
    assert.equal(rs.clock.offset, 5000);
    assert.equal(rs.clock.rtt, 40);
    assert.equal(rs.serverNow(), clock.now() + 5000);
    assert.deepEqual(rec.calls.filter((c) => c[0] === 'rtt').map((c) => c[1]), [40]);
  });
});

describe('sending', () => {
  test('a message shows at once as pending and is reconciled with the server copy', () => {
    const { socket, rs, rec } = setup();
    const e = rs.send('hello');
    assert.equal(e.state, 'pending');
    assert.equal(e.mine, true);
    assert.deepEqual(rec.texts(), ['hello']);
    const out = socket.outgoing('message');
    assert.equal(out.length, 1);
    assert.deepEqual(out[0].payload, { room: ROOM, text: 'hello', clientId: e.clientId });
    socket.answer('message', { ok: true, message: { id: 7, room: ROOM, text: 'hello', ts: 99, clientId: e.clientId, from: ME } });
    assert.equal(e.state, 'sent');
    assert.equal(e.id, '7');
    assert.equal(e.ts, 99);
    assert.ok(rec.calls.some((c) => c[0] === 'messageChanged' && c[1] === e));
    // The same message again (live, or in a history) is not shown twice.
    socket.receive('message', { id: 7, room: ROOM, text: 'hello', clientId: e.clientId, from: ME });
    assert.deepEqual(rec.texts(), ['hello']);
  });

  test('written while not in the room, a message waits and goes out after the join', () => {
    const { socket, rs, join } = setup({ joined: false });
    const e = rs.send('early');
    assert.equal(socket.outgoing('message').length, 0);
    socket.connectNow();
    socket.answer('register', { ok: true, id: 'u1', name: 'ada' });
    assert.equal(socket.outgoing('message').length, 0);
    join([]);
    assert.deepEqual(socket.outgoing('message').map((s) => s.payload.clientId), [e.clientId]);
  });

  test('lost with the connection, a message is reconciled from the history of the next join, not sent twice', () => {
    const { socket, rs, rec, join, clock } = setup();
    const e = rs.send('in flight');
    socket.drop();
    socket.connectNow();
    socket.answer('register', { ok: true, id: 'u1', name: 'ada' });
    join([msg(3, 'in flight', { clientId: e.clientId, from: ME })]);
    assert.equal(e.state, 'sent');
    assert.equal(e.id, '3');
    assert.equal(socket.outgoing('message', true).length, 1, 'sent once');
    assert.deepEqual(rec.texts(), ['in flight']);
    // The first connection's answer never comes; its timeout changes nothing.
    clock.tick(RoomState.defaults.ackTimeoutMs * 2);
    assert.equal(e.state, 'sent');
  });

  test('lost with a recovered connection, a message is sent again under the same clientId', () => {
    const { socket, rs, clock } = setup();
    const e = rs.send('again');
    socket.drop();
    socket.connectNow({ recovered: true });
    const all = socket.outgoing('message', true);
    assert.equal(all.length, 2);
    assert.equal(all[1].payload.clientId, e.clientId);
    // An answer on the first connection (which cannot really come) is dropped.
    socket.answer('message', { ok: false, error: { code: 'rate_limited' } });
    assert.equal(e.state, 'pending');
    socket.answer('message', { ok: true, message: { id: 4, room: ROOM, text: 'again', clientId: e.clientId } });
    assert.equal(e.state, 'sent');
    clock.tick(RoomState.defaults.ackTimeoutMs * 2);
    assert.equal(e.state, 'sent');
  });

  test('a message lost with maxTries connections in a row fails', () => {
    const { socket, rs } = setup();
    const e = rs.send('unlucky');
    for (let i = 0; i < RoomState.defaults.maxTries; i++) {
      assert.equal(e.state, 'pending', `after ${i} drops`);
      socket.drop();
      socket.connectNow({ recovered: true });
    }
    assert.equal(e.state, 'failed');
    assert.equal(e.error.code, 'timeout');
  });

  test('a refused message fails with the reason and can be retried', () => {
    const { socket, rs, rec } = setup();
    const e = rs.send('too fast');
    socket.answer('message', { ok: false, error: { code: 'rate_limited', message: 'slow down' } });
    assert.equal(e.state, 'failed');
    assert.deepEqual(e.error, { code: 'rate_limited', message: 'slow down' });
    rs.retry(e.clientId);
    assert.equal(e.state, 'pending');
    assert.equal(e.error, null);
    const again = socket.outgoing('message');
    assert.equal(again.length, 1);
    assert.equal(again[0].payload.clientId, e.clientId);
    socket.answer('message', { ok: true, message: { id: 9, room: ROOM, text: 'too fast', clientId: e.clientId } });
    assert.equal(e.state, 'sent');
    assert.deepEqual(rec.texts(), ['too fast']);
  });

  test('while connected, an answer that does not come in time fails the message', () => {
    const { rs, clock } = setup();
    const e = rs.send('slow');
    clock.tick(RoomState.defaults.ackTimeoutMs);
    assert.equal(e.state, 'failed');
    assert.equal(e.error.code, 'timeout');
  });
});

describe('ordering and de-duplication by id', () => {
  test('live messages are shown in id order whatever order they come in', () => {
    const { socket, rec } = setup();
    for (const id of [5, 3, 9, 4]) socket.receive('message', msg(id, 'm' + id));
    assert.deepEqual(rec.texts(), ['m3', 'm4', 'm5', 'm9']);
  });

  test('ids compare as numbers, also beyond 2^53', () => {
    const { socket, rec } = setup();
    socket.receive('message', msg('10', 'ten'));
    socket.receive('message', msg('9', 'nine'));
    socket.receive('message', msg('9007199254740993', 'big'));
    socket.receive('message', msg('9007199254740992', 'big-1'));
    assert.deepEqual(rec.texts(), ['nine', 'ten', 'big-1', 'big']);
    assert.equal(RoomState.compareIds('9007199254740993', '9007199254740992'), 1);
  });

  test('history and live overlap without duplicates', () => {
    const { socket, rec, join } = setup({ history: [msg(1, 'a'), msg(2, 'b')] });
    socket.receive('message', msg(4, 'd'));
    socket.receive('message', msg(2, 'b'));
    socket.drop();
    socket.connectNow();
    socket.answer('register', { ok: true, id: 'u1', name: 'ada' });
    join([msg(2, 'b'), msg(3, 'c'), msg(4, 'd'), msg(5, 'e')]);
    assert.deepEqual(rec.texts(), ['a', 'b', 'c', 'd', 'e']);
    assert.deepEqual(rec.shown.map((e) => e.id), ['1', '2', '3', '4', '5']);
  });

  test('our message moves after one stored before it that arrived while ours waited', () => {
    const { socket, rs, rec } = setup({ history: [msg(1, 'a')] });
    const e = rs.send('mine');
    socket.receive('message', msg(2, 'theirs'));
    assert.deepEqual(rec.texts(), ['a', 'mine', 'theirs'], 'pending stays where it was written');
    socket.answer('message', { ok: true, message: { id: 3, room: ROOM, text: 'mine', clientId: e.clientId } });
    assert.deepEqual(rec.texts(), ['a', 'theirs', 'mine']);
    assert.equal(rec.count('messageMoved'), 1);
  });

  test('our message stays in place when its id fits there', () => {
    const { socket, rs, rec } = setup({ history: [msg(1, 'a')] });
    const e = rs.send('mine');
    socket.receive('message', msg(3, 'theirs'));
    socket.answer('message', { ok: true, message: { id: 2, room: ROOM, text: 'mine', clientId: e.clientId } });
    assert.deepEqual(rec.texts(), ['a', 'mine', 'theirs']);
    assert.equal(rec.count('messageMoved'), 0);
  });

  test('our entry is dropped when the server copy is shown already', () => {
    const { socket, rs, rec } = setup();
    const e = rs.send('dup');
    socket.receive('message', msg(6, 'dup')); // no clientId: shown as another message
    socket.answer('message', { ok: true, message: { id: 6, room: ROOM, text: 'dup', clientId: e.clientId } });
    assert.equal(rec.count('messageRemoved'), 1);
    assert.deepEqual(rec.texts(), ['dup']);
    assert.equal(rec.shown[0].id, '6');
    assert.equal(rs.entries().length, 1);
  });

  test('older pages go before what is shown, without duplicates, and say whether there may be more', () => {
    const history = [];
    for (let id = 101; id <= 200; id++) history.push(msg(id, 'm' + id));
    const { rs, rec } = setup({ history });
    const merged = rec.calls.find((c) => c[0] === 'historyMerged');
    assert.deepEqual(merged.slice(1), [true, true], 'a full first page: there may be more');
    assert.equal(rs.olderURL(), '/api/rooms/lobby/messages?before=101&limit=50');
    const page = [];
    for (let id = 51; id <= 101; id++) page.push(msg(id, 'm' + id)); // 101 overlaps
    assert.equal(rs.addOlder(page), true);
    assert.equal(rec.shown.length, 150);
    assert.deepEqual(rec.shown.slice(0, 2).map((e) => e.id), ['51', '52']);
    assert.ok(rec.shown.every((e, i) => i === 0 || RoomState.compareIds(rec.shown[i - 1].id, e.id) < 0));
    assert.equal(rs.olderURL(), '/api/rooms/lobby/messages?before=51&limit=50');
    assert.equal(rs.addOlder([msg(50, 'm50')]), false);
    assert.equal(rec.shown[0].id, '50');
  });

  test('a short first history says there is nothing older', () => {
    const { socket, rec, rs } = setup({ joined: false });
    assert.equal(rs.olderURL(), null, 'nothing shown');
    socket.connectNow();
    socket.answer('register', { ok: true, id: 'u1', name: 'ada' });
    socket.answer('join', { ok: true, members: [ME], history: [msg(1, 'a'), msg(2, 'b')] });
    assert.deepEqual(rec.calls.find((c) => c[0] === 'historyMerged').slice(1), [true, false]);
    assert.equal(rs.olderURL(), '/api/rooms/lobby/messages?before=1&limit=50');
  });
});

describe('cursors', () => {
  test("others' cursors appear, move, go idle after a while without moving, and leave with their user", () => {
    const { socket, clock, rec } = setup();
    socket.receive('mousemove', { room: ROOM, id: 'u2', x: 0.25, y: 0.5 });
    assert.deepEqual(rec.cursors.get('u2'), { id: 'u2', name: 'bob', x: 0.25, y: 0.5, idle: false });
    clock.tick(RoomState.defaults.cursorIdleMs - 1);
    socket.receive('mousemove', { room: ROOM, id: 'u2', x: 2, y: -1 }); // clamped
    assert.deepEqual(rec.cursors.get('u2'), { id: 'u2', name: 'bob', x: 1, y: 0, idle: false });
    clock.tick(RoomState.defaults.cursorIdleMs - 1);
    assert.equal(rec.cursors.get('u2').idle, false, 'the move restarted the wait');
    clock.tick(1);
    assert.equal(rec.cursors.get('u2').idle, true);
    socket.receive('away', { room: ROOM, user: { id: 'u2', name: 'bob' } });
    assert.equal(rec.cursors.has('u2'), false);
  });

  test('our own cursor, other rooms and moves before the join are ignored', () => {
    const { socket, rec } = setup({ joined: false });
    socket.connectNow();
    socket.receive('mousemove', { room: ROOM, id: 'u2', x: 0.1, y: 0.1 });
    assert.equal(rec.cursors.size, 0, 'not joined yet');
    socket.answer('register', { ok: true, id: 'u1', name: 'ada' });
    socket.answer('join', { ok: true, members: [ME, { id: 'u2', name: 'bob' }], history: [] });
    socket.receive('mousemove', { room: ROOM, id: 'u1', x: 0.1, y: 0.1 });
    socket.receive('mousemove', { room: 'elsewhere', id: 'u2', x: 0.1, y: 0.1 });
    assert.equal(rec.cursors.size, 0);
  });

  test('a disconnect clears the cursors; a join drops those of users no longer in the room', () => {
    const { socket, rec, join } = setup({ members: [ME, { id: 'u2', name: 'bob' }, { id: 'u3', name: 'cy' }] });
    socket.receive('mousemove', { room: ROOM, id: 'u2', x: 0.1, y: 0.1 });
    socket.receive('mousemove', { room: ROOM, id: 'u3', x: 0.2, y: 0.2 });
    assert.equal(rec.cursors.size, 2);
    socket.drop();
    assert.equal(rec.cursors.size, 0);
    socket.connectNow({ recovered: true });
    socket.receive('mousemove', { room: ROOM, id: 'u2', x: 0.1, y: 0.1 });
    socket.receive('mousemove', { room: ROOM, id: 'u3', x: 0.2, y: 0.2 });
    socket.drop();
    socket.connectNow({ recovered: false });
    socket.answer('register', { ok: true, id: 'u1', name: 'ada' });
    // A cursor that arrives between the reconnect and the join answer...
    socket.receive('mousemove', { room: ROOM, id: 'u3', x: 0.3, y: 0.3 });
    assert.equal(rec.cursors.size, 0, 'not in the room yet');
    join([], [ME, { id: 'u2', name: 'bob' }]);
    socket.receive('mousemove', { room: ROOM, id: 'u2', x: 0.5, y: 0.5 });
    assert.deepEqual([...rec.cursors.keys()], ['u2']);
  });

  test('our pointer is sent at most every moveEveryMs, always with the last position', () => {
    const { socket, rs, clock } = setup();
    const moves = () => socket.sent.filter((s) => s.event === 'mousemove');
    rs.pointerAt(0.1, 0.2);
    assert.deepEqual(moves().map((s) => s.payload), [{ room: ROOM, x: 0.1, y: 0.2 }]);
    assert.equal(moves()[0].volatile, true);
    rs.pointerAt(0.3, 0.3);
    rs.pointerAt(0.4, 1.7);
    assert.equal(moves().length, 1);
    clock.tick(RoomState.defaults.moveEveryMs - 1);
    assert.equal(moves().length, 1);
    clock.tick(1);
    assert.deepEqual(moves().map((s) => s.payload), [{ room: ROOM, x: 0.1, y: 0.2 }, { room: ROOM, x: 0.4, y: 1 }]);
    clock.tick(1000);
    assert.equal(moves().length, 2, 'nothing new, nothing sent');
  });

  test('the pointer is not sent while out of the room', () => {
    const { socket, rs } = setup({ joined: false });
    rs.pointerAt(0.5, 0.5);
    assert.equal(socket.sent.filter((s) => s.event === 'mousemove').length, 0);
  });
});

describe('leaving', () => {
  test('leave tells the server and then calls back; suspend and resume follow the page', () => {
    const { socket, rs } = setup();
    let left = 0;
    rs.leave(() => left++);
    assert.equal(left, 0);
    socket.answer('leave', { ok: true });
    assert.equal(left, 1);
    assert.equal(rs.state.leaving, true);
    rs.suspend();
    assert.equal(socket.disconnectCalls, 1);
    socket.drop('io client disconnect');
    rs.resume();
    assert.equal(socket.connectCalls, 0, 'a page that left does not come back');
  });
});
