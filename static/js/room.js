/*
 * Room page: chat, member list and a shared board of live cursors.
 *
 * Works with socket.io-client 4.x (modern page) and 2.x (legacy page, which
 * connects with long-polling only), so it is written in plain ES5.
 * Needs common.js, roomstate.js and the Socket.IO client (global `io`).
 *
 * roomstate.js speaks the protocol and keeps the state (connection,
 * registering and joining again after a reconnect, messages, members,
 * cursors); this file is the page: it draws what RoomState reports and
 * hands it what the user does.
 * User-written text is only ever set with textContent / createTextNode.
 */
(function () {
  'use strict';

  var C = window.ChatCommon;
  var body = document.body;
  var ROOM = body.getAttribute('data-room') || '';
  var LEGACY = body.getAttribute('data-legacy') === 'true';

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

  if (typeof window.io !== 'function') {
    C.showError({ code: 'client_missing', message: 'The Socket.IO client could not be loaded.' });
    return;
  }

  var socket = window.io('/chat', LEGACY ? { transports: ['polling'] } : {});
  var els = {}; // message entry key -> <li>

  var rs = window.RoomState.create({
    socket: socket,
    room: ROOM,
    name: C.loadName(),
    normalizeError: C.normalizeError,
    view: {
      status: setState,
      transport: showTransport,
      rtt: function (ms) {
        C.setText(ui.rtt, ms + ' ms');
        ui.rtt.setAttribute('data-ms', String(ms));
      },
      needName: askForName,
      nameRefused: function (name, error) {
        ui.registerSubmit.disabled = false;
        C.showError(error);
        askForName(name);
        ui.nameInput.setAttribute('aria-invalid', 'true');
      },
      registered: function (me, already) {
        ui.registerSubmit.disabled = false;
        if (!already) {
          C.saveName(me.name);
          C.setText(ui.meName, me.name);
          ui.meName.style.color = C.color(me.name);
        }
        hideNameDialog();
        if (!already) {
          C.clearError();
        }
      },
      joined: function (res, first) {
        ui.input.disabled = false;
        ui.send.disabled = false;
        if (first) {
          ui.input.focus();
        }
      },
      joinFailed: C.showError,
      members: renderMembers,
      membersStale: function (stale) {
        ui.members.className = stale ? 'members stale' : 'members';
      },
      memberJoined: function (user) {
        addNotice(user.name + ' joined');
      },
      memberLeft: function (user) {
        addNotice(user.name + ' left');
      },
      messageAdded: messageAdded,
      messageMoved: function (e, before) {
        ui.messages.insertBefore(els[e.key], before ? els[before.key] : null);
      },
      messageChanged: function (e) {
        renderMessage(els[e.key], e);
      },
      messageRemoved: function (e) {
        var li = els[e.key];
        delete els[e.key];
        if (li && li.parentNode) {
          li.parentNode.removeChild(li);
        }
        updateEmpty();
      },
      historyMerged: function (first, more) {
        if (more) {
          C.show(ui.loadOlder, true);
        }
        if (first) {
          scrollToBottom();
        }
      },
      cursor: showCursor,
      cursorRemoved: removeCursor
    }
  });

  // Exposed for debugging and tests, and for the watch-together and call
  // panels (together.js): the server's clock (from the rtt exchange) and
  // the answer of every join.
  window.chat = {
    socket: socket,
    emitAck: rs.emitAck,
    state: rs.state,
    legacy: LEGACY,
    clock: rs.clock,
    serverNow: rs.serverNow,
    onJoin: rs.onJoin
  };

  // Leaving the page says so, so that the others see us leave now rather
  // than when the server gives up waiting for a recovery. A page restored
  // from the back-forward cache connects again.
  window.addEventListener('pagehide', function () {
    rs.suspend();
  });
  window.addEventListener('pageshow', function (ev) {
    if (ev.persisted) {
      rs.resume();
    }
  });

  // ----------------------------------------------------------------- status

  function setState(s) {
    ui.status.setAttribute('data-state', s);
    C.setText(ui.state, s);
  }

  function showTransport(name) {
    C.setText(ui.transport, name);
    ui.status.setAttribute('data-transport', name);
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
    if (rs.setName(name)) {
      ui.registerSubmit.disabled = true;
    }
    // Otherwise the next 'connect' registers it.
  });

  ui.leave.addEventListener('click', function () {
    rs.leave(function () {
      window.location.assign('/');
    });
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
    if (m.me) {
      li.className += ' is-me';
      li.appendChild(C.el('span', 'you', 'you'));
    }
    if (m.away) {
      li.className += ' away';
      li.title = m.name + ' lost the connection and may be back shortly';
    }
    return li;
  }

  function renderMembers(list) {
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

  // --------------------------------------------------------------- messages

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

  // messageItem builds one message. Everything user-written is text.
  function messageItem(e) {
    var from = e.from || {};
    var li = C.el('li', 'message' + (e.mine ? ' mine' : ''));
    var meta = C.el('div', 'meta');
    var who = C.el('span', 'from', from.name || 'unknown');
    who.style.color = C.color(from.name);
    meta.appendChild(who);
    meta.appendChild(C.el('time', 'ts'));
    li.appendChild(meta);
    li.appendChild(C.el('div', 'text'));
    li.appendChild(C.el('div', 'note'));
    renderMessage(li, e);
    return li;
  }

  // renderMessage shows an entry's state: its server id and time once
  // stored, "Sending…" while pending, the reason and a Retry button when
  // it failed.
  function renderMessage(li, e) {
    li.setAttribute('data-state', e.state);
    if (e.id !== null) {
      li.setAttribute('data-id', e.id);
    }
    if (e.clientId) {
      li.setAttribute('data-client-id', e.clientId);
    }
    setTime(li.querySelector('.ts'), e.ts);
    C.setText(li.querySelector('.text'), e.text);
    var note = li.querySelector('.note');
    var text = '';
    if (e.state === 'pending') {
      text = 'Sending\u2026';
    } else if (e.state === 'failed') {
      text = 'Not sent: ' + e.error.message;
    }
    C.setText(note, text);
    C.show(note, !!text);
    if (e.state === 'failed') {
      li.setAttribute('data-error', e.error.code);
      var retry = C.el('button', 'retry', 'Retry');
      retry.type = 'button';
      retry.onclick = function () {
        rs.retry(e.clientId);
      };
      note.appendChild(retry);
    } else {
      li.removeAttribute('data-error');
    }
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
    append(C.el('li', 'notice', text), false);
  }

  // messageAdded puts an entry where RoomState says: before another one,
  // or at the end. Older pages keep the scroll position (see loadOlder);
  // the rest stick to the bottom when the reader is there, and history
  // and our own messages always.
  function messageAdded(e, before, how) {
    var li = messageItem(e);
    els[e.key] = li;
    var stick = how !== 'older' && (how !== 'live' || nearBottom());
    ui.messages.insertBefore(li, before ? els[before.key] : null);
    if (how === 'older') {
      return;
    }
    updateEmpty();
    if (stick) {
      scrollToBottom();
    }
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
    rs.send(text);
    ui.input.value = '';
  }

  // Older history, page by page, from the HTTP API.
  ui.loadOlder.addEventListener('click', function () {
    var url = rs.olderURL();
    if (url === null) {
      C.show(ui.loadOlder, false);
      return;
    }
    ui.loadOlder.disabled = true;
    C.getJSON(url, function (err, data) {
      ui.loadOlder.disabled = false;
      if (err) {
        C.showError(err);
        return;
      }
      var before = ui.scroll.scrollHeight;
      if (!rs.addOlder((data && data.messages) || [])) {
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

  function showCursor(cur) {
    var c = findCursor(cur.id);
    if (!c) {
      c = C.el('div', 'cursor');
      c.setAttribute('data-user-id', cur.id);
      c.appendChild(cursorArrow(C.color(cur.name)));
      var label = C.el('span', 'cursor-name', cur.name);
      label.style.backgroundColor = C.color(cur.name);
      c.appendChild(label);
      ui.board.appendChild(c);
    }
    c.style.left = (cur.x * 100) + '%';
    c.style.top = (cur.y * 100) + '%';
    c.className = cur.idle ? 'cursor idle' : 'cursor';
  }

  // Our own pointer, as a fraction of the board (RoomState throttles it).
  function pointerAt(clientX, clientY) {
    var r = ui.board.getBoundingClientRect();
    if (!r.width || !r.height) {
      return;
    }
    rs.pointerAt((clientX - r.left) / r.width, (clientY - r.top) / r.height);
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
  if (!rs.state.name) {
    askForName('');
  }
})();
