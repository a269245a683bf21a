/*
 * Room page: chat, member list and a shared board of live cursors.
 *
 * Works with socket.io-client 4.x (modern page) and 2.x (legacy page, which
 * connects with long-polling only), so it is written in plain ES5.
 * Needs common.js and the Socket.IO client (global `io`).
 *
 * Flow: connect to /chat -> register {name} -> join {room}. After a brief
 * drop, socket.io-client 4.6+ recovers the connection (socket.recovered):
 * the server kept the user in the room and sends what was missed, so
 * nothing is registered or joined again. On any other reconnect the same
 * name is registered again and the room joined again.
 * User-written text is only ever set with textContent / createTextNode.
 */
(function () {
  'use strict';

  var C = window.ChatCommon;
  var body = document.body;
  var ROOM = body.getAttribute('data-room') || '';
  var LEGACY = body.getAttribute('data-legacy') === 'true';

  var ACK_TIMEOUT_MS = 10000;
  var RTT_EVERY_MS = 2000;
  var MOUSE_EVERY_MS = 34; // at most ~30 mousemove events per second
  // After a reconnect the old session may still hold our name: until the
  // server's ping timeout notices it is gone (up to ping interval + ping
  // timeout, 45 s by default), or until a dead node's heartbeat expires in a
  // cluster (about 20 s). Retry for a minute.
  var RETAKE_NAME_MS = 1500;
  var RETAKE_NAME_TRIES = 40;
  var OLDER_PAGE = 50;
  var HISTORY_PAGE = 100;

  var $ = function (id) { return document.getElementById(id); };
  var ui = {
    status: $('status'),
    state: $('status').querySelector('.state'),
    transport: $('status').querySelector('.transport'),
    rtt: $('status').querySelector('.rtt'),
    meName: $('me-name'),
    leave: $('leave'),
    members: $('members'),
    memberCount: $('member-count'),
    scroll: $('messages-scroll'),
    messages: $('messages'),
    empty: $('messages-empty'),
    loadOlder: $('load-older'),
    composer: $('composer'),
    input: $('message-input'),
    send: $('send'),
    board: $('board'),
    dialog: $('name-dialog'),
    register: $('register'),
    nameInput: $('name-input'),
    registerSubmit: $('register-submit')
  };

  var state = {
    name: C.loadName(), // the name to (re-)register with
    me: null, // {id, name} once registered
    session: 0, // bumps on every connect/disconnect; stale answers are ignored
    registered: false,
    joined: false,
    wasJoined: false, // joined when the connection dropped
    wasRegistered: false,
    everJoined: false,
    everConnected: false,
    leaving: false,
    retakeTries: 0,
    members: {}, // id -> {id, name}
    seen: {}, // message id -> element
    pending: {}, // clientId -> {el, text, tries, state}
    outbox: [], // clientIds waiting for a (re)join
    oldestId: null,
    rttBusy: false
  };

  // ---------------------------------------------------------------- socket

  if (typeof window.io !== 'function') {
    C.showError({ code: 'client_missing', message: 'The Socket.IO client could not be loaded.' });
    return;
  }

  var socket = window.io('/chat', LEGACY ? { transports: ['polling'] } : {});
  // Exposed for debugging and tests, and for the watch-together and call
  // panels (together.js): the server's clock (from the rtt exchange) and
  // the answer of every join.
  var clock = { offset: null, rtt: null, samples: [] };
  var joinListeners = [];
  window.chat = {
    socket: socket,
    emitAck: emitAck,
    state: state,
    legacy: LEGACY,
    clock: clock,
    // serverNow estimates the server's time in ms (0 offset until measured).
    serverNow: function () {
      return new Date().getTime() + (clock.offset || 0);
    },
    onJoin: function (fn) {
      joinListeners.push(fn);
    }
  };

  function manager() {
    return socket.io;
  }

  function currentTransport() {
    var engine = manager() && manager().engine;
    return engine && engine.transport ? engine.transport.name : '';
  }

  // watchEngine follows transport upgrades of the current Engine.IO
  // connection (a new one is made on every reconnect).
  function watchEngine() {
    var engine = manager() && manager().engine;
    if (!engine || engine.__chatWatched) {
      return;
    }
    engine.__chatWatched = true;
    engine.on('upgrade', function (transport) {
      showTransport(transport && transport.name ? transport.name : currentTransport());
    });
  }

  manager().on('open', function () {
    watchEngine();
    showTransport(currentTransport());
  });
  manager().on('reconnect_attempt', function () {
    if (!socket.connected) {
      setState('reconnecting');
    }
  });
  watchEngine();

  socket.on('connect', function () {
    state.session++;
    state.everConnected = true;
    state.rttBusy = false;
    setState('connected');
    watchEngine();
    showTransport(currentTransport());
    measureRtt();
    if (socket.recovered && state.wasRegistered) {
      // Connection state recovery: same socket, same user, same rooms,
      // and the events missed meanwhile have arrived already.
      state.registered = true;
      state.joined = state.wasJoined;
      ui.members.className = 'members';
      if (state.joined) {
        resendInFlight();
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
      askForName();
    }
  });

  socket.on('disconnect', function (reason) {
    state.session++;
    state.heldMemberEvents = null;
    state.wasRegistered = state.registered;
    state.wasJoined = state.joined;
    state.registered = false;
    state.joined = false;
    clearCursors();
    ui.members.className = 'members stale';
    if (state.leaving || reason === 'io client disconnect') {
      setState('disconnected');
      return;
    }
    setState('reconnecting');
    if (reason === 'io server disconnect') {
      // The client does not reconnect by itself after a server-side
      // disconnect; try again shortly.
      setTimeout(function () {
        if (!socket.connected && !state.leaving) {
          socket.connect();
        }
      }, 2000);
    }
  });

  socket.on('connect_error', function () {
    setState(state.everConnected ? 'reconnecting' : 'connecting');
  });

  // Leaving the page says so, so that the others see us leave now rather
  // than when the server gives up waiting for a recovery. A page restored
  // from the back-forward cache connects again.
  window.addEventListener('pagehide', function () {
    if (socket.connected) {
      socket.disconnect();
    }
  });
  window.addEventListener('pageshow', function (ev) {
    if (ev.persisted && !socket.connected && !state.leaving) {
      socket.connect();
    }
  });

  // emitAck emits with an acknowledgement that always arrives: the server's
  // answer, or a timeout error. The answer is normalized to {ok, ...} with
  // error = {code, message} when not ok.
  function emitAck(event, payload, done) {
    var finished = false;
    var timer = setTimeout(function () {
      if (!finished) {
        finished = true;
        done({ ok: false, error: C.normalizeError('timeout') });
      }
    }, ACK_TIMEOUT_MS);
    socket.emit(event, payload, function (res) {
      if (finished) {
        return;
      }
      finished = true;
      clearTimeout(timer);
      if (!res || typeof res !== 'object') {
        res = { ok: false, error: 'bad_response' };
      }
      if (!res.ok) {
        res.error = C.normalizeError(res.error);
      }
      done(res);
    });
  }

  // ----------------------------------------------------------------- status

  function setState(s) {
    ui.status.setAttribute('data-state', s);
    C.setText(ui.state, s);
  }

  function showTransport(name) {
    if (name) {
      C.setText(ui.transport, name);
      ui.status.setAttribute('data-transport', name);
    }
  }

  function now() {
    return window.performance && performance.now ? performance.now() : new Date().getTime();
  }

  function measureRtt() {
    if (!socket.connected || state.rttBusy) {
      return;
    }
    state.rttBusy = true;
    var session = state.session;
    var started = now();
    var sentAt = new Date().getTime();
    emitAck('rtt', {}, function (res) {
      if (session !== state.session) {
        return;
      }
      state.rttBusy = false;
      if (res.ok) {
        addClockSample(res.ts, sentAt, now() - started);
        var ms = Math.max(0, Math.round(now() - started));
        C.setText(ui.rtt, ms + ' ms');
        ui.rtt.setAttribute('data-ms', String(ms));
      }
    });
  }
  setInterval(measureRtt, RTT_EVERY_MS);

  // addClockSample keeps the offset of the server's clock to ours: the
  // server stamped ts about half a round trip after we sent. Of the last
  // few samples the one with the shortest round trip is the most exact.
  function addClockSample(ts, sentAt, rtt) {
    if (typeof ts !== 'number' || !(rtt >= 0)) {
      return;
    }
    clock.samples.push({ offset: ts - (sentAt + rtt / 2), rtt: rtt });
    if (clock.samples.length > 8) {
      clock.samples.shift();
    }
    var best = clock.samples[0];
    for (var i = 1; i < clock.samples.length; i++) {
      if (clock.samples[i].rtt < best.rtt) {
        best = clock.samples[i];
      }
    }
    clock.offset = best.offset;
    clock.rtt = best.rtt;
  }

  // ------------------------------------------------------ name and joining

  // askForName opens the name form; without prefill an open form (which the
  // user may be typing in) is left as it is.
  function askForName(prefill) {
    var wasOpen = !ui.dialog.hasAttribute('hidden');
    C.show(ui.dialog, true);
    ui.registerSubmit.disabled = false;
    if (prefill === undefined && wasOpen) {
      return;
    }
    if (prefill !== undefined) {
      ui.nameInput.value = prefill;
    }
    ui.nameInput.focus();
    if (ui.nameInput.select) {
      ui.nameInput.select();
    }
  }

  function hideNameDialog() {
    C.show(ui.dialog, false);
  }

  ui.register.addEventListener('submit', function (ev) {
    ev.preventDefault();
    var name = ui.nameInput.value.replace(/^\s+|\s+$/g, '');
    var problem = C.nameProblem(name);
    if (problem) {
      ui.nameInput.setAttribute('aria-invalid', 'true');
      C.showError({ code: 'name_invalid', message: problem });
      ui.nameInput.focus();
      return;
    }
    ui.nameInput.removeAttribute('aria-invalid');
    C.clearError();
    state.name = name;
    if (socket.connected) {
      ui.registerSubmit.disabled = true;
      register(name, false);
    }
    // Otherwise the next 'connect' registers it.
  });

  // register claims the name, then joins the room. retaking is true after a
  // reconnect, when a name_taken answer most likely means that the server
  // has not yet noticed that our previous connection is gone.
  function register(name, retaking) {
    var session = state.session;
    emitAck('register', { name: name }, function (res) {
      if (session !== state.session) {
        return;
      }
      ui.registerSubmit.disabled = false;
      if (res.ok) {
        state.registered = true;
        state.retakeTries = 0;
        state.me = { id: res.id, name: res.name || name };
        state.name = state.me.name;
        C.saveName(state.me.name);
        C.setText(ui.meName, state.me.name);
        ui.meName.style.color = C.color(state.me.name);
        hideNameDialog();
        C.clearError();
        join();
        return;
      }
      var code = res.error.code;
      if (code === 'already_registered') {
        state.registered = true;
        hideNameDialog();
        join();
        return;
      }
      // rate_limited: register attempts are limited per connection.
      if (retaking && (code === 'name_taken' || code === 'rate_limited') && state.retakeTries < RETAKE_NAME_TRIES) {
        state.retakeTries++;
        setTimeout(function () {
          if (session === state.session) {
            register(name, true);
          }
        }, RETAKE_NAME_MS);
        return;
      }
      state.retakeTries = 0;
      state.name = '';
      C.showError(res.error);
      askForName(name);
      ui.nameInput.setAttribute('aria-invalid', 'true');
    });
  }

  function join() {
    var session = state.session;
    // Member events that arrive before the answer (others joining or
    // leaving at the same moment) may be missing from its member list:
    // they are held and applied on top of it.
    state.heldMemberEvents = [];
    emitAck('join', { room: ROOM }, function (res) {
      if (session !== state.session) {
        return;
      }
      var held = state.heldMemberEvents || [];
      state.heldMemberEvents = null;
      if (!res.ok) {
        C.showError(res.error);
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
      enableComposer();
      resendInFlight();
      flushOutbox();
      for (var i = 0; i < joinListeners.length; i++) {
        joinListeners[i](res);
      }
      if (first) {
        ui.input.focus();
      }
    });
  }

  ui.leave.addEventListener('click', function () {
    state.leaving = true;
    var go = function () {
      window.location.assign('/');
    };
    if (!state.joined) {
      go();
      return;
    }
    emitAck('leave', { room: ROOM }, go);
  });

  // ---------------------------------------------------------------- members

  function memberItem(m) {
    var li = C.el('li', 'member');
    li.setAttribute('data-user-id', String(m.id));
    var avatar = C.el('span', 'avatar', (m.name || '?').charAt(0).toUpperCase());
    avatar.setAttribute('aria-hidden', 'true');
    avatar.style.backgroundColor = C.color(m.name);
    li.appendChild(avatar);
    li.appendChild(C.el('span', 'member-name', m.name));
    if (state.me && String(m.id) === String(state.me.id)) {
      li.className += ' is-me';
      li.appendChild(C.el('span', 'you', 'you'));
    }
    if (m.away) {
      li.className += ' away';
      li.title = m.name + ' lost the connection and may be back shortly';
    }
    return li;
  }

  function renderMembers() {
    var list = [];
    for (var id in state.members) {
      if (state.members.hasOwnProperty(id)) {
        list.push(state.members[id]);
      }
    }
    list.sort(function (a, b) {
      var an = String(a.name).toLowerCase();
      var bn = String(b.name).toLowerCase();
      return an < bn ? -1 : an > bn ? 1 : 0;
    });
    var frag = document.createDocumentFragment();
    for (var i = 0; i < list.length; i++) {
      frag.appendChild(memberItem(list[i]));
    }
    while (ui.members.firstChild) {
      ui.members.removeChild(ui.members.firstChild);
    }
    ui.members.appendChild(frag);
    ui.members.className = 'members';
    C.setText(ui.memberCount, String(list.length));
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
  // hands over just before 'connect'. A socket that was not recovered is in
  // no room until it has joined again, so gets no room events before.
  function inRoom() {
    return state.joined || state.wasJoined;
  }

  // memberEvent handles a member event, or holds it while a join waits
  // for its answer (join).
  function memberEvent(handle) {
    return function (ev) {
      if (!ev || ev.room !== ROOM || !ev.user) {
        return;
      }
      if (state.heldMemberEvents) {
        state.heldMemberEvents.push(function () {
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
      addNotice(ev.user.name + ' joined');
    }
  }));

  // away: a member's connection dropped; the server keeps them in the room
  // for a while in case they come back (back), else they leave (left).
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
      addNotice(ev.user.name + ' left');
    }
  }));

  // --------------------------------------------------------------- messages

  var clientSeq = 0;
  function newClientId() {
    clientSeq++;
    return 'c' + new Date().getTime().toString(36) + Math.random().toString(36).slice(2, 8) + clientSeq;
  }

  function toDate(ts) {
    if (ts === undefined || ts === null || ts === '') {
      return new Date();
    }
    if (typeof ts === 'number' && ts < 1e11) {
      ts = ts * 1000; // seconds
    }
    var d = new Date(ts);
    return isNaN(d.getTime()) ? new Date() : d;
  }

  function pad(n) {
    return n < 10 ? '0' + n : String(n);
  }

  function setTime(timeEl, ts) {
    var d = toDate(ts);
    C.setText(timeEl, pad(d.getHours()) + ':' + pad(d.getMinutes()));
    timeEl.setAttribute('datetime', d.toISOString ? d.toISOString() : String(d));
    timeEl.title = d.toLocaleString();
  }

  function isMine(from) {
    if (!from || !state.me) {
      return false;
    }
    return String(from.id) === String(state.me.id) ||
      String(from.name).toLowerCase() === String(state.me.name).toLowerCase();
  }

  // messageItem builds one message. Everything user-written is text.
  function messageItem(m, msgState) {
    var from = m.from || {};
    var li = C.el('li', 'message' + (isMine(from) ? ' mine' : ''));
    li.setAttribute('data-state', msgState);
    if (m.id !== undefined && m.id !== null) {
      li.setAttribute('data-id', String(m.id));
    }
    if (m.clientId) {
      li.setAttribute('data-client-id', String(m.clientId));
    }
    var meta = C.el('div', 'meta');
    var who = C.el('span', 'from', from.name || 'unknown');
    who.style.color = C.color(from.name);
    meta.appendChild(who);
    var time = C.el('time', 'ts');
    setTime(time, m.ts);
    meta.appendChild(time);
    li.appendChild(meta);
    li.appendChild(C.el('div', 'text', m.text));
    li.appendChild(C.el('div', 'note'));
    setMessageState(li, msgState, '');
    return li;
  }

  function setMessageState(li, msgState, detail) {
    li.setAttribute('data-state', msgState);
    var note = li.querySelector('.note');
    var text = '';
    if (msgState === 'pending') {
      text = 'Sending\u2026';
    } else if (msgState === 'failed') {
      text = 'Not sent: ' + detail;
    }
    C.setText(note, text);
    C.show(note, !!text);
  }

  function nearBottom() {
    var s = ui.scroll;
    return s.scrollHeight - s.scrollTop - s.clientHeight < 80;
  }

  function scrollToBottom() {
    ui.scroll.scrollTop = ui.scroll.scrollHeight;
  }

  function updateEmpty() {
    C.show(ui.empty, ui.messages.getElementsByTagName('li').length === 0);
  }

  function append(li, force) {
    var stick = force || nearBottom();
    ui.messages.appendChild(li);
    updateEmpty();
    if (stick) {
      scrollToBottom();
    }
  }

  function addNotice(text) {
    var li = C.el('li', 'notice', text);
    append(li, false);
  }

  function trackOldest(m) {
    if (m.id === undefined || m.id === null) {
      return;
    }
    if (state.oldestId === null) {
      state.oldestId = m.id;
    }
  }

  // addMessage shows a message from someone else (or from history); a copy
  // of one we sent ourselves reconciles the pending element instead.
  function addMessage(m, force) {
    if (!m || typeof m !== 'object') {
      return;
    }
    var id = m.id !== undefined && m.id !== null ? String(m.id) : '';
    if (id && state.seen[id]) {
      return;
    }
    if (m.clientId && state.pending[m.clientId]) {
      reconcile(m.clientId, m);
      return;
    }
    var li = messageItem(m, 'sent');
    if (id) {
      state.seen[id] = li;
    }
    trackOldest(m);
    append(li, force);
  }

  function mergeHistory(history, first) {
    for (var i = 0; i < history.length; i++) {
      addMessage(history[i], true);
    }
    if (history.length && state.oldestId === null) {
      state.oldestId = history[0].id;
    }
    if (first && history.length >= HISTORY_PAGE) {
      C.show(ui.loadOlder, true);
    }
    if (first) {
      scrollToBottom();
    }
  }

  socket.on('message', function (m) {
    if (!m || m.room !== ROOM) {
      return;
    }
    addMessage(m, false);
  });

  function reconcile(clientId, message) {
    var p = state.pending[clientId];
    if (!p) {
      return;
    }
    delete state.pending[clientId];
    p.state = 'sent';
    if (message && message.id !== undefined && message.id !== null) {
      var id = String(message.id);
      if (state.seen[id] && state.seen[id] !== p.el) {
        // Already shown (e.g. from history after a reconnect): drop ours.
        p.el.parentNode.removeChild(p.el);
        return;
      }
      state.seen[id] = p.el;
      p.el.setAttribute('data-id', id);
      if (state.oldestId === null) {
        state.oldestId = message.id;
      }
    }
    if (message && message.ts !== undefined) {
      setTime(p.el.querySelector('.ts'), message.ts);
    }
    if (message && typeof message.text === 'string') {
      C.setText(p.el.querySelector('.text'), message.text);
    }
    setMessageState(p.el, 'sent', '');
  }

  function fail(clientId, error) {
    var p = state.pending[clientId];
    if (!p) {
      return;
    }
    delete state.pending[clientId];
    p.state = 'failed';
    setMessageState(p.el, 'failed', error.message);
    p.el.setAttribute('data-error', error.code);
    var retry = C.el('button', 'retry', 'Retry');
    retry.type = 'button';
    retry.onclick = function () {
      retryMessage(clientId, p);
    };
    p.el.querySelector('.note').appendChild(retry);
  }

  // retryMessage sends a failed message again under the same clientId.
  function retryMessage(clientId, p) {
    if (state.pending[clientId]) {
      return;
    }
    p.tries = 0;
    p.state = 'pending';
    state.pending[clientId] = p;
    p.el.removeAttribute('data-error');
    setMessageState(p.el, 'pending', '');
    if (state.joined && socket.connected) {
      transmit(clientId);
    } else {
      state.outbox.push(clientId);
    }
  }

  function transmit(clientId) {
    var p = state.pending[clientId];
    if (!p) {
      return;
    }
    p.tries++;
    var session = state.session;
    p.session = session;
    emitAck('message', { room: ROOM, text: p.text, clientId: clientId }, function (res) {
      if (!state.pending[clientId] || p.session !== session) {
        return; // already reconciled (from history), or sent again since
      }
      if (res.ok) {
        reconcile(clientId, res.message);
        return;
      }
      if (session !== state.session && p.tries < 3) {
        // Lost to a disconnect: send again once we are back in the room.
        if (state.joined) {
          transmit(clientId);
        } else {
          state.outbox.push(clientId);
        }
        return;
      }
      fail(clientId, res.error);
    });
  }

  // resendInFlight sends again the messages whose ack was lost with the
  // previous connection. The server answers one it stored already with the
  // stored copy (it remembers a connection's recent clientIds); after a
  // reconnect without recovery the join's history has reconciled those.
  function resendInFlight() {
    var queued = {};
    for (var i = 0; i < state.outbox.length; i++) {
      queued[state.outbox[i]] = true;
    }
    for (var clientId in state.pending) {
      if (state.pending.hasOwnProperty(clientId) && !queued[clientId]) {
        var p = state.pending[clientId];
        if (p.session !== undefined && p.session !== state.session) {
          transmit(clientId);
        }
      }
    }
  }

  function flushOutbox() {
    var queue = state.outbox;
    state.outbox = [];
    for (var i = 0; i < queue.length; i++) {
      transmit(queue[i]);
    }
  }

  function enableComposer() {
    ui.input.disabled = false;
    ui.send.disabled = false;
  }

  ui.composer.addEventListener('submit', function (ev) {
    ev.preventDefault();
    sendMessage();
  });

  function sendMessage() {
    var text = ui.input.value.replace(/^\s+|\s+$/g, '');
    if (!text) {
      return;
    }
    if (text.length > C.TEXT_MAX) {
      C.showError({ code: 'text_invalid', message: 'Messages are at most ' + C.TEXT_MAX + ' characters (this one has ' + text.length + ').' });
      return;
    }
    var clientId = newClientId();
    var me = state.me || { id: '', name: state.name };
    var li = messageItem({ clientId: clientId, room: ROOM, text: text, from: me, ts: new Date().getTime() }, 'pending');
    li.className = 'message mine';
    state.pending[clientId] = { el: li, text: text, tries: 0, state: 'pending' };
    append(li, true);
    ui.input.value = '';
    if (state.joined && socket.connected) {
      transmit(clientId);
    } else {
      state.outbox.push(clientId);
    }
  }

  // Older history, page by page, from the HTTP API.
  ui.loadOlder.addEventListener('click', function () {
    if (state.oldestId === null) {
      C.show(ui.loadOlder, false);
      return;
    }
    ui.loadOlder.disabled = true;
    var url = '/api/rooms/' + encodeURIComponent(ROOM) + '/messages?before=' +
      encodeURIComponent(String(state.oldestId)) + '&limit=' + OLDER_PAGE;
    C.getJSON(url, function (err, data) {
      ui.loadOlder.disabled = false;
      if (err) {
        C.showError(err);
        return;
      }
      var older = (data && data.messages) || [];
      var first = ui.messages.firstChild;
      var before = ui.scroll.scrollHeight;
      for (var i = 0; i < older.length; i++) {
        var m = older[i];
        var id = m && m.id !== undefined && m.id !== null ? String(m.id) : '';
        if (!m || (id && state.seen[id])) {
          continue;
        }
        var li = messageItem(m, 'sent');
        if (id) {
          state.seen[id] = li;
        }
        ui.messages.insertBefore(li, first);
      }
      if (older.length) {
        state.oldestId = older[0].id;
      }
      if (older.length < OLDER_PAGE) {
        C.show(ui.loadOlder, false);
      }
      ui.scroll.scrollTop += ui.scroll.scrollHeight - before;
      updateEmpty();
    });
  });

  // ---------------------------------------------------------------- cursors

  var SVG_NS = 'http://www.w3.org/2000/svg';

  function cursorArrow(color) {
    var svg = document.createElementNS(SVG_NS, 'svg');
    svg.setAttribute('class', 'cursor-arrow');
    svg.setAttribute('viewBox', '0 0 16 16');
    svg.setAttribute('width', '22');
    svg.setAttribute('height', '22');
    svg.setAttribute('aria-hidden', 'true');
    var path = document.createElementNS(SVG_NS, 'path');
    path.setAttribute('d', 'M1 1 L1 14 L4.6 10.6 L7.2 15.4 L9.4 14.3 L6.9 9.7 L12 9.7 Z');
    path.setAttribute('fill', color);
    path.setAttribute('stroke', '#fff');
    path.setAttribute('stroke-width', '1.2');
    path.setAttribute('stroke-linejoin', 'round');
    svg.appendChild(path);
    return svg;
  }

  function findCursor(id) {
    var all = ui.board.children;
    for (var i = 0; i < all.length; i++) {
      if (all[i].getAttribute('data-user-id') === id) {
        return all[i];
      }
    }
    return null;
  }

  function removeCursor(id) {
    var c = findCursor(String(id));
    if (c) {
      ui.board.removeChild(c);
    }
  }

  function clearCursors() {
    var all = ui.board.querySelectorAll('.cursor');
    for (var i = 0; i < all.length; i++) {
      ui.board.removeChild(all[i]);
    }
  }

  // pruneCursors drops cursors of users who are no longer members.
  function pruneCursors() {
    var all = ui.board.querySelectorAll('.cursor');
    for (var i = 0; i < all.length; i++) {
      if (!state.members[all[i].getAttribute('data-user-id')]) {
        ui.board.removeChild(all[i]);
      }
    }
  }

  function clamp01(v) {
    v = Number(v);
    if (isNaN(v)) {
      return 0;
    }
    return v < 0 ? 0 : v > 1 ? 1 : v;
  }

  socket.on('mousemove', function (ev) {
    if (!ev || ev.room !== ROOM || !state.joined) {
      return;
    }
    var id = String(ev.id);
    if (state.me && id === String(state.me.id)) {
      return;
    }
    var c = findCursor(id);
    var name = ev.name || (state.members[id] && state.members[id].name) || '';
    if (!c) {
      c = C.el('div', 'cursor');
      c.setAttribute('data-user-id', id);
      c.appendChild(cursorArrow(C.color(name)));
      var label = C.el('span', 'cursor-name', name);
      label.style.backgroundColor = C.color(name);
      c.appendChild(label);
      ui.board.appendChild(c);
    }
    c.style.left = (clamp01(ev.x) * 100) + '%';
    c.style.top = (clamp01(ev.y) * 100) + '%';
    c.className = 'cursor';
    clearTimeout(c.__idle);
    c.__idle = setTimeout(function () {
      c.className = 'cursor idle';
    }, 8000);
  });

  // Our own pointer, throttled to <= 30 events per second with the last
  // position always sent.
  var move = { last: 0, timer: null, x: 0, y: 0, dirty: false };

  function flushMove() {
    move.timer = null;
    if (!move.dirty || !state.joined || !socket.connected) {
      return;
    }
    move.dirty = false;
    move.last = new Date().getTime();
    // socket.io-client 2.x has no volatile flag; a plain emit is fine there.
    (socket.volatile || socket).emit('mousemove', { room: ROOM, x: move.x, y: move.y });
  }

  function pointerAt(clientX, clientY) {
    var r = ui.board.getBoundingClientRect();
    if (!r.width || !r.height) {
      return;
    }
    move.x = clamp01((clientX - r.left) / r.width);
    move.y = clamp01((clientY - r.top) / r.height);
    move.dirty = true;
    var wait = MOUSE_EVERY_MS - (new Date().getTime() - move.last);
    if (wait <= 0 && !move.timer) {
      flushMove();
    } else if (!move.timer) {
      move.timer = setTimeout(flushMove, Math.max(wait, 0));
    }
  }

  // Pointer events cover a mouse, a pen and a finger alike (the board has
  // touch-action: none, so a finger moves the cursor rather than the
  // page). A finger is captured by the board while it is down, so the
  // cursor follows it to the edge. pointerdown places the cursor on a tap.
  // Only the primary pointer counts: a second finger does not make the
  // cursor jump. Browsers without pointer events get mouse and touch events.
  // The event sent stays 'mousemove': it is the protocol's name.
  if (window.PointerEvent) {
    var onPointer = function (ev) {
      if (ev.isPrimary !== false) {
        pointerAt(ev.clientX, ev.clientY);
      }
    };
    ui.board.addEventListener('pointermove', onPointer);
    ui.board.addEventListener('pointerdown', onPointer);
  } else {
    ui.board.addEventListener('mousemove', function (ev) {
      pointerAt(ev.clientX, ev.clientY);
    });
    ui.board.addEventListener('touchmove', function (ev) {
      if (ev.touches && ev.touches.length) {
        pointerAt(ev.touches[0].clientX, ev.touches[0].clientY);
      }
    });
  }

  // ----------------------------------------------------------------- start

  setState('connecting');
  if (!state.name) {
    askForName('');
  }
})();
