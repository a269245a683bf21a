/*
 * The room's Socket.IO protocol and state, without the page: room.js draws
 * what this reports, and test/unit/roomstate.test.js drives it with a fake
 * socket and a fake clock.
 *
 *   var rs = RoomState.create({ socket: io('/chat'), room: 'lobby',
 *                               name: 'ada', view: { ... } });
 *
 * It never touches the DOM (nor window, storage or the network other than
 * through the socket), so it loads as a plain script in the page (global
 * RoomState; the pages' CSP admits only scripts from 'self', and the legacy
 * page wants ES5) and with require() in Node.
 *
 * What it keeps:
 * - the connection: register {name} -> join {room} on every connect, except
 *   after a connection state recovery (socket.recovered), when the server
 *   kept us in the room and has sent what we missed. After a reconnect a
 *   name_taken answer most likely means the server has not yet noticed our
 *   previous connection is gone, so the name is asked for again for a
 *   while. An answer that comes back after its connection ended is dropped
 *   (request), never applied to the next one.
 * - messages in id order without duplicates, whether they come from the
 *   join's history, live, or older pages; our own are shown at once
 *   (pending, under a clientId), then reconciled with the server's copy:
 *   from the ack, or from the history after a reconnect. Those in flight
 *   when the connection drops are sent again after it is back; the server
 *   answers one it stored already with the stored copy.
 * - the members, with member events that arrive while a join waits for its
 *   answer held and applied on top of the answer's list.
 * - others' cursors, idle after a while without moving, and our own
 *   pointer, throttled.
 * - the round-trip time and the server's clock offset.
 *
 * view callbacks (all optional), called as things change:
 *   status(s)               'connecting' | 'connected' | 'reconnecting' | 'disconnected'
 *   transport(name)         'polling' | 'websocket'
 *   rtt(ms)
 *   needName(prefill)       ask the user for a name (prefill undefined: leave an open form as it is)
 *   nameRefused(name, err)  the name was refused ({code, message})
 *   registered(me, already) {id, name}; already: the server had us registered
 *   joined(res, first)      the join's answer; first: the first join of the page
 *   joinFailed(err)
 *   members(list)           [{id, name, away, me}] sorted by name
 *   membersStale(stale)     true while disconnected
 *   memberJoined(user), memberLeft(user)
 *   messageAdded(entry, before, how)  before: the entry it goes before (null: at the end);
 *                                     how: 'history' | 'live' | 'own' | 'older'
 *   messageMoved(entry, before)       its id put it elsewhere
 *   messageChanged(entry)             state, id, ts, text or error changed
 *   messageRemoved(entry)             ours turned out to be shown already
 *   historyMerged(first, more)        more: older messages may be on the server
 *   cursor(c)               {id, name, x, y, idle} appeared, moved or went idle
 *   cursorRemoved(id)
 *
 * An entry is {key, id, clientId, room, text, from, ts, state, error, mine}
 * with state 'pending' | 'sent' | 'failed' and id null until the server has
 * stored it.
 */
(function (root, factory) {
  'use strict';
  var api = factory();
  if (typeof module !== 'undefined' && module.exports) {
    module.exports = api;
  } else {
    root.RoomState = api;
  }
})(this, function () {
  'use strict';

  var DEFAULTS = {
    ackTimeoutMs: 10000,
    rttEveryMs: 2000,
    moveEveryMs: 34, // at most ~30 mousemove events per second
    cursorIdleMs: 8000,
    // After a reconnect the old session may still hold our name: until the
    // server's ping timeout notices it is gone (up to ping interval + ping
    // timeout, 45 s by default), or until a dead node's heartbeat expires in
    // a cluster (about 20 s). Retry for a minute.
    retakeNameMs: 1500,
    retakeNameTries: 40,
    // The client does not reconnect by itself after a server-side
    // disconnect; it tries again after this long.
    reconnectAfterMs: 2000,
    // A message lost with this many connections in a row is failed.
    maxTries: 3,
    historyPage: 100, // what a join returns at most (chat.HistoryOnJoin)
    olderPage: 50
  };

  var realClock = {
    now: function () {
      return new Date().getTime();
    },
    setTimeout: function (fn, ms) {
      return setTimeout(fn, ms);
    },
    clearTimeout: function (t) {
      clearTimeout(t);
    },
    setInterval: function (fn, ms) {
      return setInterval(fn, ms);
    },
    clearInterval: function (t) {
      clearInterval(t);
    },
    // monotonic time for round trips
    elapsed: function () {
      var p = typeof performance !== 'undefined' ? performance : null;
      return p && p.now ? p.now() : new Date().getTime();
    }
  };

  // plainError is the normalizeError used when none is given (common.js
  // has the page's, with messages for the codes).
  function plainError(err) {
    var code = 'error';
    var message = '';
    if (typeof err === 'string') {
      code = err;
    } else if (err && typeof err === 'object') {
      code = err.code ? String(err.code) : code;
      message = err.message ? String(err.message) : '';
    }
    return { code: code, message: message || code };
  }

  function idOf(m) {
    return m && m.id !== undefined && m.id !== null && m.id !== '' ? String(m.id) : null;
  }

  // compareIds orders message ids: numerically when both are decimal
  // (without going through Number, which is exact only up to 2^53), else
  // as strings.
  function compareIds(a, b) {
    a = String(a);
    b = String(b);
    if (/^\d+$/.test(a) && /^\d+$/.test(b)) {
      a = a.replace(/^0+(?=\d)/, '');
      b = b.replace(/^0+(?=\d)/, '');
      if (a.length !== b.length) {
        return a.length < b.length ? -1 : 1;
      }
    }
    return a < b ? -1 : a > b ? 1 : 0;
  }

  function clamp01(v) {
    v = Number(v);
    if (isNaN(v)) {
      return 0;
    }
    return v < 0 ? 0 : v > 1 ? 1 : v;
  }

  function create(opts) {
    var socket = opts.socket;
    var room = String(opts.room || '');
    var clock = opts.clock || realClock;
    var elapsed = function () {
      return clock.elapsed ? clock.elapsed() : clock.now();
    };
    var normalizeError = opts.normalizeError || plainError;
    var cfg = {};
    for (var k in DEFAULTS) {
      if (DEFAULTS.hasOwnProperty(k)) {
        cfg[k] = opts[k] !== undefined ? opts[k] : DEFAULTS[k];
      }
    }
    var viewFns = opts.view || {};
    function view(name) {
      var fn = viewFns[name];
      if (typeof fn === 'function') {
        fn.apply(viewFns, Array.prototype.slice.call(arguments, 1));
      }
    }

    // What the page (and together.js, as window.chat.state) reads.
    var state = {
      name: opts.name || '', // the name to (re-)register with
      me: null, // {id, name} once registered
      registered: false,
      joined: false,
      wasRegistered: false, // when the connection dropped
      wasJoined: false,
      everJoined: false,
      everConnected: false,
      leaving: false,
      members: {} // id -> {id, name, away}
    };

    // conn is the current connection (null while there is none); answers
    // to requests made on an earlier one are dropped.
    var conn = null;
    var retakeTries = 0;
    var heldMemberEvents = null; // while a join waits for its answer
    var joinListeners = [];
    var rttBusy = false;
    var serverClock = { offset: null, rtt: null, samples: [] };

    var list = []; // message entries, in the order shown
    var byId = {}; // id -> entry
    var own = {}; // clientId -> our entry
    var pending = {}; // clientId -> our entry while it waits for the server
    var outbox = []; // clientIds to send once in the room
    var seq = 0;

    var cursors = {}; // id -> {id, name, x, y, idle}
    var move = { last: null, timer: null, x: 0, y: 0, dirty: false };

    // ------------------------------------------------------------ requests

    // emitAck emits with an acknowledgement that always arrives: the
    // server's answer, or a timeout error. The answer is normalized to
    // {ok, ...} with error = {code, message} when not ok.
    function emitAck(event, payload, done) {
      var finished = false;
      var timer = clock.setTimeout(function () {
        if (!finished) {
          finished = true;
          done({ ok: false, error: normalizeError('timeout') });
        }
      }, cfg.ackTimeoutMs);
      socket.emit(event, payload, function (res) {
        if (finished) {
          return;
        }
        finished = true;
        clock.clearTimeout(timer);
        if (!res || typeof res !== 'object') {
          res = { ok: false, error: 'bad_response' };
        }
        if (!res.ok) {
          res.error = normalizeError(res.error);
        }
        done(res);
      });
    }

    // request is emitAck on the current connection: done is called only if
    // the answer comes while that connection lasts.
    function request(event, payload, done) {
      var c = conn;
      emitAck(event, payload, function (res) {
        if (c && c === conn) {
          done(res);
        }
      });
    }

    function inRoomNow() {
      return state.joined && socket.connected;
    }

    // --------------------------------------------------------- connection

    function manager() {
      return socket.io;
    }

    function currentTransport() {
      var engine = manager() && manager().engine;
      return engine && engine.transport ? engine.transport.name : '';
    }

    function showTransport(name) {
      if (name) {
        view('transport', name);
      }
    }

    // watchEngine follows transport upgrades of the current Engine.IO
    // connection (a new one is made on every reconnect).
    function watchEngine() {
      var engine = manager() && manager().engine;
      if (!engine || engine.__chatWatched || typeof engine.on !== 'function') {
        return;
      }
      engine.__chatWatched = true;
      engine.on('upgrade', function (transport) {
        showTransport(transport && transport.name ? transport.name : currentTransport());
      });
    }

    if (manager() && typeof manager().on === 'function') {
      manager().on('open', function () {
        watchEngine();
        showTransport(currentTransport());
      });
      manager().on('reconnect_attempt', function () {
        if (!socket.connected) {
          view('status', 'reconnecting');
        }
      });
      watchEngine();
    }

    socket.on('connect', function () {
      conn = {};
      state.everConnected = true;
      rttBusy = false;
      view('status', 'connected');
      watchEngine();
      showTransport(currentTransport());
      measureRtt();
      if (socket.recovered && state.wasRegistered) {
        // Connection state recovery: same socket, same user, same rooms,
        // and the events missed meanwhile have arrived already.
        state.registered = true;
        state.joined = state.wasJoined;
        view('membersStale', false);
        if (state.joined) {
          flushOutbox();
        } else {
          join();
        }
        return;
      }
      state.registered = false;
      state.joined = false;
      if (state.name) {
        register(state.name, state.everJoined);
      } else {
        view('needName');
      }
    });

    socket.on('disconnect', function (reason) {
      conn = null;
      heldMemberEvents = null;
      state.wasRegistered = state.registered;
      state.wasJoined = state.joined;
      state.registered = false;
      state.joined = false;
      requeueInFlight();
      clearCursors();
      view('membersStale', true);
      if (state.leaving || reason === 'io client disconnect') {
        view('status', 'disconnected');
        return;
      }
      view('status', 'reconnecting');
      if (reason === 'io server disconnect') {
        clock.setTimeout(function () {
          if (!socket.connected && !state.leaving) {
            socket.connect();
          }
        }, cfg.reconnectAfterMs);
      }
    });

    socket.on('connect_error', function () {
      view('status', state.everConnected ? 'reconnecting' : 'connecting');
    });

    // ------------------------------------------------------- round trips

    function measureRtt() {
      if (!socket.connected || rttBusy) {
        return;
      }
      rttBusy = true;
      var started = elapsed();
      var sentAt = clock.now();
      request('rtt', {}, function (res) {
        rttBusy = false;
        if (res.ok) {
          var rtt = elapsed() - started;
          addClockSample(res.ts, sentAt, rtt);
          view('rtt', Math.max(0, Math.round(rtt)));
        }
      });
    }
    clock.setInterval(measureRtt, cfg.rttEveryMs);

    // addClockSample keeps the offset of the server's clock to ours: the
    // server stamped ts about half a round trip after we sent. Of the last
    // few samples the one with the shortest round trip is the most exact.
    function addClockSample(ts, sentAt, rtt) {
      if (typeof ts !== 'number' || !(rtt >= 0)) {
        return;
      }
      var samples = serverClock.samples;
      samples.push({ offset: ts - (sentAt + rtt / 2), rtt: rtt });
      if (samples.length > 8) {
        samples.shift();
      }
      var best = samples[0];
      for (var i = 1; i < samples.length; i++) {
        if (samples[i].rtt < best.rtt) {
          best = samples[i];
        }
      }
      serverClock.offset = best.offset;
      serverClock.rtt = best.rtt;
    }

    // ------------------------------------------------- name and joining

    // register claims the name, then joins the room. retaking is true
    // after a reconnect (see the top of the file).
    function register(name, retaking) {
      request('register', { name: name }, function (res) {
        if (res.ok) {
          state.registered = true;
          retakeTries = 0;
          state.me = { id: res.id, name: res.name || name };
          state.name = state.me.name;
          view('registered', state.me, false);
          join();
          return;
        }
        var code = res.error.code;
        if (code === 'already_registered') {
          state.registered = true;
          view('registered', state.me, true);
          join();
          return;
        }
        // rate_limited: register attempts are limited per connection.
        if (retaking && (code === 'name_taken' || code === 'rate_limited') && retakeTries < cfg.retakeNameTries) {
          retakeTries++;
          var c = conn;
          clock.setTimeout(function () {
            if (c === conn) {
              register(name, true);
            }
          }, cfg.retakeNameMs);
          return;
        }
        retakeTries = 0;
        state.name = '';
        view('nameRefused', name, res.error);
      });
    }

    // setName registers with a name the user chose; it reports whether it
    // was sent now (otherwise the next connect registers it).
    function setName(name) {
      state.name = name;
      if (!socket.connected) {
        return false;
      }
      register(name, false);
      return true;
    }

    function join() {
      // Member events that arrive before the answer (others joining or
      // leaving at the same moment) may be missing from its member list:
      // they are held and applied on top of it.
      heldMemberEvents = [];
      request('join', { room: room }, function (res) {
        var held = heldMemberEvents || [];
        heldMemberEvents = null;
        if (!res.ok) {
          view('joinFailed', res.error);
          return;
        }
        var first = !state.everJoined;
        state.joined = true;
        state.everJoined = true;
        setMembers(res.members || []);
        for (var i = 0; i < held.length; i++) {
          held[i]();
        }
        mergeHistory(res.history || [], first);
        pruneCursors();
        flushOutbox();
        view('joined', res, first);
        for (var j = 0; j < joinListeners.length; j++) {
          joinListeners[j](res);
        }
      });
    }

    function leave(done) {
      state.leaving = true;
      if (!state.joined) {
        done();
        return;
      }
      emitAck('leave', { room: room }, done);
    }

    // suspend and resume are for the page going into and coming back from
    // the back-forward cache: the others see us leave now rather than when
    // the server gives up waiting for a recovery.
    function suspend() {
      if (socket.connected) {
        socket.disconnect();
      }
    }

    function resume() {
      if (!socket.connected && !state.leaving) {
        socket.connect();
      }
    }

    // ------------------------------------------------------------ members

    function memberList() {
      var out = [];
      for (var id in state.members) {
        if (state.members.hasOwnProperty(id)) {
          var m = state.members[id];
          out.push({
            id: m.id,
            name: m.name,
            away: !!m.away,
            me: !!(state.me && String(m.id) === String(state.me.id))
          });
        }
      }
      out.sort(function (a, b) {
        var an = String(a.name).toLowerCase();
        var bn = String(b.name).toLowerCase();
        return an < bn ? -1 : an > bn ? 1 : 0;
      });
      return out;
    }

    function renderMembers() {
      view('members', memberList());
    }

    function setMembers(members) {
      state.members = {};
      for (var i = 0; i < members.length; i++) {
        if (members[i] && members[i].id !== undefined) {
          state.members[String(members[i].id)] = { id: members[i].id, name: String(members[i].name) };
        }
      }
      renderMembers();
    }

    // inRoom reports whether room events apply: joined, or (with connection
    // state recovery) the events missed while away, which socket.io-client
    // hands over just before 'connect'. A socket that was not recovered is
    // in no room until it has joined again, so gets no room events before.
    function inRoom() {
      return state.joined || state.wasJoined;
    }

    // memberEvent handles a member event, or holds it while a join waits
    // for its answer (join).
    function memberEvent(handle) {
      return function (ev) {
        if (!ev || ev.room !== room || !ev.user) {
          return;
        }
        if (heldMemberEvents) {
          heldMemberEvents.push(function () {
            handle(ev);
          });
          return;
        }
        handle(ev);
      };
    }

    socket.on('joined', memberEvent(function (ev) {
      if (!inRoom()) {
        return;
      }
      var id = String(ev.user.id);
      var isNew = !state.members[id];
      state.members[id] = { id: ev.user.id, name: String(ev.user.name) };
      renderMembers();
      if (isNew) {
        view('memberJoined', ev.user);
      }
    }));

    // away: a member's connection dropped; the server keeps them in the
    // room for a while in case they come back (back), else they leave.
    socket.on('away', memberEvent(function (ev) {
      if (!inRoom()) {
        return;
      }
      var id = String(ev.user.id);
      removeCursor(id);
      if (state.members[id]) {
        state.members[id].away = true;
        renderMembers();
      }
    }));

    socket.on('back', memberEvent(function (ev) {
      if (!inRoom()) {
        return;
      }
      var id = String(ev.user.id);
      state.members[id] = { id: ev.user.id, name: String(ev.user.name) };
      renderMembers();
    }));

    socket.on('left', memberEvent(function (ev) {
      var id = String(ev.user.id);
      if (state.me && id === String(state.me.id)) {
        return;
      }
      removeCursor(id);
      if (state.members[id]) {
        delete state.members[id];
        renderMembers();
        view('memberLeft', ev.user);
      }
    }));

    // ----------------------------------------------------------- messages

    function isMine(from) {
      if (!from || !state.me) {
        return false;
      }
      return String(from.id) === String(state.me.id) ||
        String(from.name).toLowerCase() === String(state.me.name).toLowerCase();
    }

    function newEntry(m, entryState) {
      seq++;
      return {
        key: 'm' + seq,
        seq: seq,
        id: idOf(m),
        clientId: m.clientId ? String(m.clientId) : '',
        room: m.room,
        text: m.text,
        from: m.from || {},
        ts: m.ts,
        state: entryState,
        error: null,
        mine: false,
        tries: 0,
        sentOn: null // the connection it was last sent on, while in flight
      };
    }

    function indexOf(e) {
      for (var i = list.length - 1; i >= 0; i--) {
        if (list[i] === e) {
          return i;
        }
      }
      return -1;
    }

    // placeFor is where a message with this id goes: before the first
    // message with a greater id, else at the end. Messages without an id
    // (ours, not stored yet) stay where they were put, so a failed one
    // stays between the messages around it.
    function placeFor(id) {
      var at = list.length;
      for (var i = list.length - 1; i >= 0; i--) {
        if (list[i].id === null) {
          continue;
        }
        if (compareIds(list[i].id, id) > 0) {
          at = i;
        } else {
          break;
        }
      }
      return at;
    }

    function insertAt(e, at, how) {
      list.splice(at, 0, e);
      view('messageAdded', e, list[at + 1] || null, how);
    }

    // inPlace reports whether the entry at i is in id order with the
    // messages that have ids around it.
    function inPlace(i) {
      var id = list[i].id;
      for (var p = i - 1; p >= 0; p--) {
        if (list[p].id !== null) {
          if (compareIds(list[p].id, id) > 0) {
            return false;
          }
          break;
        }
      }
      for (var n = i + 1; n < list.length; n++) {
        if (list[n].id !== null) {
          return compareIds(list[n].id, id) > 0;
        }
      }
      return true;
    }

    // addMessage shows a message from someone else, live or from history;
    // a copy of one we sent ourselves reconciles our entry instead.
    function addMessage(m, how) {
      if (!m || typeof m !== 'object') {
        return;
      }
      var id = idOf(m);
      if (id !== null && byId[id]) {
        return;
      }
      if (m.clientId && pending[m.clientId]) {
        reconcile(String(m.clientId), m);
        return;
      }
      var e = newEntry(m, 'sent');
      e.mine = isMine(e.from);
      if (id === null) {
        insertAt(e, list.length, how);
        return;
      }
      byId[id] = e;
      insertAt(e, placeFor(id), how);
    }

    function mergeHistory(history, first) {
      for (var i = 0; i < history.length; i++) {
        addMessage(history[i], 'history');
      }
      view('historyMerged', first, first && history.length >= cfg.historyPage);
    }

    socket.on('message', function (m) {
      if (!m || m.room !== room) {
        return;
      }
      addMessage(m, 'live');
    });

    // settle takes our pending entry for clientId out of the pending ones,
    // in state ('sent' or 'failed', with error); null when there is none.
    function settle(clientId, state, error) {
      var e = pending[clientId];
      if (!e) {
        return null;
      }
      delete pending[clientId];
      e.state = state;
      e.error = error;
      e.sentOn = null;
      return e;
    }

    // reconcile turns our pending entry into the server's copy.
    function reconcile(clientId, message) {
      var e = settle(clientId, 'sent', null);
      if (!e) {
        return;
      }
      var id = idOf(message);
      if (id !== null) {
        if (byId[id] && byId[id] !== e) {
          // Already shown (e.g. from history after a reconnect): drop ours.
          list.splice(indexOf(e), 1);
          view('messageRemoved', e);
          return;
        }
        byId[id] = e;
        e.id = id;
      }
      if (message && message.ts !== undefined) {
        e.ts = message.ts;
      }
      if (message && typeof message.text === 'string') {
        e.text = message.text;
      }
      view('messageChanged', e);
      var i = indexOf(e);
      if (id !== null && !inPlace(i)) {
        list.splice(i, 1);
        var at = placeFor(id);
        list.splice(at, 0, e);
        view('messageMoved', e, list[at + 1] || null);
      }
    }

    function fail(clientId, error) {
      var e = settle(clientId, 'failed', error);
      if (e) {
        view('messageChanged', e);
      }
    }

    function queue(clientId) {
      for (var i = 0; i < outbox.length; i++) {
        if (outbox[i] === clientId) {
          return;
        }
      }
      outbox.push(clientId);
    }

    function transmit(clientId) {
      var e = pending[clientId];
      if (!e) {
        return;
      }
      e.tries++;
      var c = conn;
      e.sentOn = c;
      request('message', { room: room, text: e.text, clientId: clientId }, function (res) {
        if (pending[clientId] !== e || e.sentOn !== c) {
          return; // already reconciled (from history), or sent again since
        }
        if (res.ok) {
          reconcile(clientId, res.message);
        } else {
          fail(clientId, res.error);
        }
      });
    }

    // requeueInFlight runs when the connection drops: the answers to the
    // messages in flight are lost with it, so they are sent again once we
    // are back in the room (up to maxTries connections).
    function requeueInFlight() {
      for (var i = 0; i < list.length; i++) {
        var e = list[i];
        if (e.state !== 'pending' || !e.sentOn || pending[e.clientId] !== e) {
          continue;
        }
        e.sentOn = null;
        if (e.tries >= cfg.maxTries) {
          fail(e.clientId, normalizeError('timeout'));
        } else {
          queue(e.clientId);
        }
      }
    }

    // flushOutbox sends what waited for the room, in the order written.
    function flushOutbox() {
      var q = outbox;
      outbox = [];
      q.sort(function (a, b) {
        return own[a].seq - own[b].seq;
      });
      for (var i = 0; i < q.length; i++) {
        transmit(q[i]);
      }
    }

    function newClientId() {
      return 'c' + clock.now().toString(36) + Math.random().toString(36).slice(2, 8) + (seq + 1);
    }

    // send shows a message of ours at once (pending) and sends it, or
    // keeps it for when we are in the room. It returns the entry.
    function send(text) {
      var clientId = newClientId();
      var me = state.me || { id: '', name: state.name };
      var e = newEntry({ clientId: clientId, room: room, text: text, from: me, ts: clock.now() }, 'pending');
      e.mine = true;
      own[clientId] = e;
      pending[clientId] = e;
      insertAt(e, list.length, 'own');
      if (inRoomNow()) {
        transmit(clientId);
      } else {
        queue(clientId);
      }
      return e;
    }

    // retry sends a failed message again under the same clientId.
    function retry(clientId) {
      var e = own[clientId];
      if (!e || e.state !== 'failed' || pending[clientId]) {
        return;
      }
      e.tries = 0;
      e.state = 'pending';
      e.error = null;
      pending[clientId] = e;
      view('messageChanged', e);
      if (inRoomNow()) {
        transmit(clientId);
      } else {
        queue(clientId);
      }
    }

    // olderURL is the history API's page before the oldest message shown,
    // or null when none is shown.
    function olderURL() {
      for (var i = 0; i < list.length; i++) {
        if (list[i].id !== null) {
          return '/api/rooms/' + encodeURIComponent(room) + '/messages?before=' +
            encodeURIComponent(list[i].id) + '&limit=' + cfg.olderPage;
        }
      }
      return null;
    }

    // addOlder adds a page of older history; it reports whether there may
    // be more.
    function addOlder(messages) {
      messages = messages || [];
      for (var i = 0; i < messages.length; i++) {
        var m = messages[i];
        var id = idOf(m);
        if (!m || typeof m !== 'object' || (id !== null && byId[id])) {
          continue;
        }
        var e = newEntry(m, 'sent');
        e.mine = isMine(e.from);
        if (id === null) {
          insertAt(e, 0, 'older');
          continue;
        }
        byId[id] = e;
        insertAt(e, placeFor(id), 'older');
      }
      return messages.length >= cfg.olderPage;
    }

    function entries() {
      return list.slice();
    }

    // ------------------------------------------------------------ cursors

    function removeCursor(id) {
      var c = cursors[id];
      if (!c) {
        return;
      }
      clock.clearTimeout(c.timer);
      delete cursors[id];
      view('cursorRemoved', id);
    }

    function clearCursors() {
      for (var id in cursors) {
        if (cursors.hasOwnProperty(id)) {
          removeCursor(id);
        }
      }
    }

    // pruneCursors drops cursors of users who are no longer members.
    function pruneCursors() {
      for (var id in cursors) {
        if (cursors.hasOwnProperty(id) && !state.members[id]) {
          removeCursor(id);
        }
      }
    }

    function publicCursor(c) {
      return { id: c.id, name: c.name, x: c.x, y: c.y, idle: c.idle };
    }

    socket.on('mousemove', function (ev) {
      if (!ev || ev.room !== room || !state.joined) {
        return;
      }
      var id = String(ev.id);
      if (state.me && id === String(state.me.id)) {
        return;
      }
      var c = cursors[id];
      if (!c) {
        var name = ev.name || (state.members[id] && state.members[id].name) || '';
        c = cursors[id] = { id: id, name: String(name), timer: null };
      }
      c.x = clamp01(ev.x);
      c.y = clamp01(ev.y);
      c.idle = false;
      clock.clearTimeout(c.timer);
      c.timer = clock.setTimeout(function () {
        c.timer = null;
        c.idle = true;
        view('cursor', publicCursor(c));
      }, cfg.cursorIdleMs);
      view('cursor', publicCursor(c));
    });

    function cursorList() {
      var out = [];
      for (var id in cursors) {
        if (cursors.hasOwnProperty(id)) {
          out.push(publicCursor(cursors[id]));
        }
      }
      return out;
    }

    // Our own pointer (x, y as fractions of the board), throttled to
    // moveEveryMs with the last position always sent.
    function flushMove() {
      move.timer = null;
      if (!move.dirty || !inRoomNow()) {
        return;
      }
      move.dirty = false;
      move.last = clock.now();
      // socket.io-client 2.x has no volatile flag; a plain emit is fine there.
      (socket.volatile || socket).emit('mousemove', { room: room, x: move.x, y: move.y });
    }

    function pointerAt(x, y) {
      move.x = clamp01(x);
      move.y = clamp01(y);
      move.dirty = true;
      if (move.timer) {
        return;
      }
      var wait = move.last === null ? 0 : cfg.moveEveryMs - (clock.now() - move.last);
      if (wait <= 0) {
        flushMove();
      } else {
        move.timer = clock.setTimeout(flushMove, wait);
      }
    }

    return {
      state: state,
      clock: serverClock,
      emitAck: emitAck,
      // serverNow estimates the server's time in ms (0 offset until measured).
      serverNow: function () {
        return clock.now() + (serverClock.offset || 0);
      },
      onJoin: function (fn) {
        joinListeners.push(fn);
      },
      setName: setName,
      leave: leave,
      suspend: suspend,
      resume: resume,
      send: send,
      retry: retry,
      entries: entries,
      olderURL: olderURL,
      addOlder: addOlder,
      isMine: isMine,
      members: memberList,
      cursors: cursorList,
      pointerAt: pointerAt
    };
  }

  return { create: create, compareIds: compareIds, defaults: DEFAULTS };
});
