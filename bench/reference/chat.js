// The /chat event protocol of the benchmark's reference servers, shared by
// the Node one (server.js, Node's http server and socket.io's own engine)
// and the Bun one (bun-server.js, socket.io on @socket.io/bun-engine): the
// same events, acks, broadcasts, validation order, error codes and limits
// as handlers/events.go and chat/ (see server.js for the list). It exists
// only to be measured against; it is not part of the product.
'use strict';

// chat/limits.go
const MaxNameLen = 24;
const MaxRoomLen = 32;
const MaxTextLen = 2000;
const MaxClientIDLen = 64;
const HistoryOnJoin = 100;
const HistoryRetention = 1000;
const MaxRoomsPerUser = 20;
const MessageRate = 5;
const MessageBurst = 10;
const CursorRate = 30;
const CursorBurst = 5;
const RegisterRate = 1;
const RegisterBurst = 5;

// chat/errors.go, codes and messages verbatim.
const E = {
  nameInvalid: { code: 'name_invalid', message: `names are 1–${MaxNameLen} characters of letters, digits, _ and -` },
  nameTaken: { code: 'name_taken', message: 'that name is already in use' },
  alreadyRegistered: { code: 'already_registered', message: 'this connection is already registered under another name' },
  notRegistered: { code: 'not_registered', message: 'register a name first' },
  roomInvalid: { code: 'room_invalid', message: `room names are 1–${MaxRoomLen} characters of lowercase letters, digits and -` },
  tooManyRooms: { code: 'too_many_rooms', message: `you can be in at most ${MaxRoomsPerUser} rooms at once` },
  notInRoom: { code: 'not_in_room', message: 'join the room first' },
  textInvalid: { code: 'text_invalid', message: `messages are 1–${MaxTextLen} characters of valid UTF-8 (no U+FFFD)` },
  rateLimited: { code: 'rate_limited', message: 'you are sending messages too fast; slow down' },
  registerRateLimited: { code: 'rate_limited', message: 'too many attempts to register; wait a moment and try again' },
  badPayload: { code: 'bad_request', message: 'the event\'s first argument must be an object' },
  badRequest: { code: 'bad_request', message: 'the request is malformed' },
  closed: { code: 'closed', message: 'the connection is closing' },
};

class ChatError extends Error {
  constructor(e) {
    super(e.message);
    this.e = e;
  }
}
const fail = (e) => {
  throw new ChatError(e);
};

// ---- validation (chat/validate.go) ----------------------------------------

const NAME_RE = /^[A-Za-z0-9_-]+$/;
const ROOM_RE = /^[a-z0-9-]+$/;

function validateName(s) {
  s = s.trim();
  if (s.length === 0 || s.length > MaxNameLen || !NAME_RE.test(s)) fail(E.nameInvalid);
  return s;
}

function validateRoom(s) {
  s = s.trim();
  if (s.length === 0 || s.length > MaxRoomLen || !ROOM_RE.test(s)) fail(E.roomInvalid);
  return s;
}

// Counts code points (Go counts runes), stopping early on long input.
function runesAtMost(s, max) {
  if (s.length <= max) return true;
  if (s.length > 2 * max) return false;
  let n = 0;
  for (const _ of s) if (++n > max) return false; // eslint-disable-line no-unused-vars
  return true;
}

function validateText(s) {
  s = s.trim();
  // U+FFFD and lone surrogates: what the Go server sees as U+FFFD.
  if (s.length === 0 || !runesAtMost(s, MaxTextLen) || /\uFFFD|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/.test(s)) fail(E.textInvalid);
  return s;
}

const validClientID = (id) => runesAtMost(id, MaxClientIDLen);

// ---- token bucket (chat/ratelimit.go) -------------------------------------

class Bucket {
  constructor(rate, burst) {
    this.rate = rate;
    this.burst = burst;
    this.tokens = burst;
    this.last = -1;
  }

  allow(now) { // now in ms, monotonic
    if (this.last < 0) {
      this.last = now;
    } else if (now > this.last) {
      this.tokens = Math.min(this.burst, this.tokens + ((now - this.last) / 1000) * this.rate);
      this.last = now;
    }
    if (this.tokens < 1) return false;
    this.tokens--;
    return true;
  }
}

// ---- shared state (store/memory.go) ---------------------------------------

const names = new Map(); // lower-cased name -> owner socket id
const presence = new Map(); // room -> Map(user id -> user)
const history = new Map(); // room -> messages, oldest first
let seq = 0;

function presenceJoin(room, user) {
  let m = presence.get(room);
  if (!m) presence.set(room, (m = new Map()));
  m.set(user.id, user);
}

function presenceLeave(room, id) {
  const m = presence.get(room);
  if (!m) return;
  m.delete(id);
  if (m.size === 0) presence.delete(room);
}

const byNameThenID = (a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : a.id < b.id ? -1 : a.id > b.id ? 1 : 0);

function members(room) {
  const m = presence.get(room);
  return m ? [...m.values()].sort(byNameThenID) : [];
}

function recent(room, n) {
  const h = history.get(room);
  return h ? h.slice(-n) : [];
}

function append(m) {
  m.id = ++seq;
  let h = history.get(m.room);
  if (!h) history.set(m.room, (h = []));
  h.push(m);
  // Prune in chunks so that appends stay O(1) amortised.
  if (h.length > HistoryRetention + 100) h.splice(0, h.length - HistoryRetention);
  return m;
}

// ---- the session (chat/session.go) ----------------------------------------

class Session {
  constructor(id) {
    this.id = id;
    this.user = null;
    this.closed = false;
    this.rooms = new Set();
    this.messages = new Bucket(MessageRate, MessageBurst);
    this.cursors = new Bucket(CursorRate, CursorBurst);
    this.registers = new Bucket(RegisterRate, RegisterBurst);
  }

  current() {
    if (this.closed) fail(E.closed);
    if (!this.user) fail(E.notRegistered);
    return this.user;
  }

  register(raw) {
    const name = validateName(raw);
    if (this.closed) fail(E.closed);
    if (this.user) {
      if (this.user.name === name) return this.user;
      fail(E.alreadyRegistered);
    }
    if (!this.registers.allow(performance.now())) fail(E.registerRateLimited);
    const key = name.toLowerCase();
    const owner = names.get(key);
    if (owner !== undefined && owner !== this.id) fail(E.nameTaken);
    names.set(key, this.id);
    this.user = { id: this.id, name };
    return this.user;
  }

  join(raw) {
    const u = this.current();
    const room = validateRoom(raw);
    const already = this.rooms.has(room);
    if (!already) {
      if (this.rooms.size >= MaxRoomsPerUser) fail(E.tooManyRooms);
      presenceJoin(room, u);
    }
    const res = { room, history: recent(room, HistoryOnJoin), members: members(room), alreadyMember: already };
    if (!already) this.rooms.add(room);
    return res;
  }

  leave(raw) {
    const u = this.current();
    const room = validateRoom(raw);
    if (!this.rooms.has(room)) fail(E.notInRoom);
    presenceLeave(room, u.id);
    this.rooms.delete(room);
    return { user: u, room };
  }

  post(rawRoom, rawText, clientId) {
    const u = this.current();
    const room = validateRoom(rawRoom);
    if (!validClientID(clientId)) fail(E.badRequest);
    const text = validateText(rawText);
    const now = performance.now();
    const member = this.rooms.has(room);
    if (!member) fail(E.notInRoom);
    if (!this.messages.allow(now)) fail(E.rateLimited);
    const m = { id: 0, room, from: u, text, ts: Date.now() };
    if (clientId !== '') m.clientId = clientId; // omitempty
    return append(m);
  }

  cursor(room, x, y) {
    if (!(x >= 0 && x <= 1 && y >= 0 && y <= 1)) return null;
    if (!this.user || this.closed) return null;
    if (!this.rooms.has(room)) return null;
    if (!this.cursors.allow(performance.now())) return null;
    return { id: this.user.id, name: this.user.name, room, x, y };
  }

  close() {
    if (this.closed) return null;
    this.closed = true;
    const u = this.user;
    const rooms = [...this.rooms].sort();
    this.user = null;
    this.rooms.clear();
    if (!u) return null;
    for (const room of rooms) presenceLeave(room, u.id);
    const key = u.name.toLowerCase();
    if (names.get(key) === u.id) names.delete(key);
    return { user: u, rooms };
  }
}

// ---- the event wiring (handlers/events.go) --------------------------------

const isObject = (p) => p !== null && typeof p === 'object' && !Array.isArray(p) && !Buffer.isBuffer(p);
const str = (p, k) => (p && typeof p[k] === 'string' ? p[k] : '');
const num = (p, k) => (p && typeof p[k] === 'number' && !Number.isNaN(p[k]) ? p[k] : undefined);

function quote(s) {
  if (s.length > 64) s = s.slice(0, 64) + '…';
  return '"' + s + '"';
}

// acked adapts a session call to an event handler: a non-object payload is
// bad_request, a ChatError becomes {ok:false,error}, anything else internal.
function acked(fn) {
  return (...args) => {
    const ack = typeof args[args.length - 1] === 'function' ? args.pop() : null;
    let reply;
    try {
      reply = isObject(args[0]) ? fn(args[0]) : { ok: false, error: E.badPayload };
    } catch (err) {
      if (!(err instanceof ChatError)) {
        console.error('chat event failed', err);
        reply = { ok: false, error: { code: 'internal', message: 'something went wrong on the server; try again' } };
      } else {
        reply = { ok: false, error: err.e };
      }
    }
    if (ack) ack(reply);
  };
}

// attachChat serves the /chat namespace of io.
function attachChat(io) {
  io.of('/chat').on('connection', (socket) => {
    const sess = new Session(socket.id);

    socket.on('register', acked((p) => {
      const u = sess.register(str(p, 'name'));
      return { ok: true, id: u.id, name: u.name };
    }));

    socket.on('join', acked((p) => {
      const res = sess.join(str(p, 'room'));
      if (!res.alreadyMember) {
        socket.join(res.room);
        socket.to(res.room).emit('joined', { room: res.room, user: sess.user });
      }
      return { ok: true, room: res.room, history: res.history, members: res.members };
    }));

    socket.on('leave', acked((p) => {
      const { user, room } = sess.leave(str(p, 'room'));
      socket.leave(room);
      socket.to(room).emit('left', { room, user });
      return { ok: true };
    }));

    socket.on('message', acked((p) => {
      const m = sess.post(str(p, 'room'), str(p, 'text'), str(p, 'clientId'));
      socket.to(m.room).emit('message', m);
      return { ok: true, message: m };
    }));

    socket.on('mousemove', (p) => {
      const x = num(p, 'x');
      const y = num(p, 'y');
      if (x === undefined || y === undefined) return;
      const c = sess.cursor(str(p, 'room'), x, y);
      if (c) socket.to(c.room).volatile.emit('mousemove', c);
    });

    socket.on('rtt', (...args) => {
      const ack = args[args.length - 1];
      if (typeof ack === 'function') ack({ ok: true, ts: Date.now() });
    });

    socket.onAny((event, ...args) => {
      if (socket.listeners(event).length > 0) return;
      const ack = args[args.length - 1];
      if (typeof ack === 'function') {
        ack({ ok: false, error: { code: 'unknown_event', message: 'unknown event ' + quote(String(event)) } });
      }
    });

    socket.on('disconnect', () => {
      const gone = sess.close();
      if (!gone) return;
      for (const room of gone.rooms) {
        // The socket has left its rooms already: nobody gets their own left.
        socket.to(room).emit('left', { room, user: gone.user });
      }
    });
  });
}

// The settings both reference servers share with the Go server's defaults.
const ioOptions = {
  serveClient: false,
  // As the Go server ships: a client back within two minutes gets its
  // socket and the events it missed, so every event carries an offset and
  // is kept for that long.
  connectionStateRecovery: { maxDisconnectionDuration: 2 * 60 * 1000, skipMiddlewares: true },
  pingInterval: 25000,
  pingTimeout: 20000,
  connectTimeout: 45000,
  maxHttpBufferSize: 1 << 20,
};

function sioVersion() {
  try {
    const dir = require('node:path').dirname(require.resolve('socket.io'));
    return JSON.parse(require('node:fs').readFileSync(require('node:path').join(dir, '..', 'package.json'), 'utf8')).version;
  } catch {
    return '?';
  }
}

// flag reads --name value (or --name=value), else the environment, else def.
function flag(name, env, def) {
  const i = process.argv.indexOf('--' + name);
  if (i >= 0 && i + 1 < process.argv.length) return process.argv[i + 1];
  const eq = process.argv.find((a) => a.startsWith('--' + name + '='));
  if (eq) return eq.slice(name.length + 3);
  return process.env[env] || def;
}

module.exports = { attachChat, ioOptions, sioVersion, flag };
