/*
 * Index page: choose a name and a room, see the active rooms live.
 * Plain ES5; needs common.js.
 */
(function () {
  'use strict';

  var C = window.ChatCommon;
  var REFRESH_MS = 2000;

  var form = document.getElementById('join-form');
  var nameInput = document.getElementById('name-input');
  var roomInput = document.getElementById('room-input');
  var legacyInput = document.getElementById('legacy-input');
  var roomList = document.getElementById('rooms');
  var emptyNote = document.getElementById('rooms-empty');

  function roomURL(room, legacy) {
    return (legacy ? '/legacy/rooms/' : '/rooms/') + encodeURIComponent(room);
  }

  // Prefill the name from this tab's session, and the room from a link
  // (?room=...) when the server did not already put it in.
  var stored = C.loadName();
  if (stored && !nameInput.value) {
    nameInput.value = stored;
  }
  if (!roomInput.value) {
    var m = /[?&]room=([^&#]*)/.exec(window.location.search);
    if (m) {
      try {
        roomInput.value = decodeURIComponent(m[1].replace(/\+/g, ' '));
      } catch (e) {
        roomInput.value = m[1];
      }
    }
  }
  if (nameInput.value && !roomInput.value) {
    roomInput.focus();
  }

  // Room names are lowercase; show the canonical spelling as it is typed.
  roomInput.addEventListener('input', function () {
    var lower = roomInput.value.toLowerCase();
    if (lower !== roomInput.value) {
      var at = roomInput.selectionStart;
      roomInput.value = lower;
      if (roomInput.setSelectionRange && at !== null && at !== undefined) {
        roomInput.setSelectionRange(at, at);
      }
    }
  });

  function markInvalid(input, bad) {
    if (bad) {
      input.setAttribute('aria-invalid', 'true');
    } else {
      input.removeAttribute('aria-invalid');
    }
  }

  form.addEventListener('submit', function (ev) {
    ev.preventDefault();
    var name = nameInput.value.replace(/^\s+|\s+$/g, '');
    var room = roomInput.value.replace(/^\s+|\s+$/g, '').toLowerCase();
    var nameErr = C.nameProblem(name);
    var roomErr = C.roomProblem(room);
    markInvalid(nameInput, !!nameErr);
    markInvalid(roomInput, !!roomErr);
    if (nameErr) {
      C.showError({ code: 'name_invalid', message: nameErr });
      nameInput.focus();
      return;
    }
    if (roomErr) {
      C.showError({ code: 'room_invalid', message: roomErr });
      roomInput.focus();
      return;
    }
    C.clearError();
    C.saveName(name);
    window.location.assign(roomURL(room, legacyInput && legacyInput.checked));
  });

  // Following a room link keeps a valid typed name; an invalid one is
  // reported instead of silently dropped.
  roomList.addEventListener('click', function (ev) {
    var target = ev.target;
    while (target && target !== roomList && !(target.tagName === 'A' && target.className.indexOf('room-link') >= 0)) {
      target = target.parentNode;
    }
    if (!target || target === roomList) {
      return;
    }
    var name = nameInput.value.replace(/^\s+|\s+$/g, '');
    if (!name) {
      return; // the room page asks for one
    }
    var problem = C.nameProblem(name);
    if (problem) {
      ev.preventDefault();
      markInvalid(nameInput, true);
      C.showError({ code: 'name_invalid', message: problem });
      nameInput.focus();
      return;
    }
    C.saveName(name);
    if (legacyInput && legacyInput.checked) {
      ev.preventDefault();
      window.location.assign(roomURL(target.getAttribute('data-room') || target.textContent, true));
    }
  });

  // renderRooms rebuilds the list, keeping items (and their counts) by name
  // so that a refresh does not flicker.
  function renderRooms(rooms) {
    var existing = {};
    var items = roomList.getElementsByTagName('li');
    for (var i = 0; i < items.length; i++) {
      existing[items[i].getAttribute('data-room')] = items[i];
    }
    var frag = document.createDocumentFragment();
    for (var j = 0; j < rooms.length; j++) {
      var r = rooms[j];
      if (!r || typeof r.name !== 'string') {
        continue;
      }
      var members = Number(r.members) || 0;
      var li = existing[r.name];
      if (li) {
        var count = li.querySelector('.room-count');
        if (count.textContent !== String(members)) {
          C.setText(count, String(members));
          li.className = 'room-item bump';
          bumpLater(li);
        }
        delete existing[r.name];
      } else {
        li = C.el('li', 'room-item');
        li.setAttribute('data-room', r.name);
        var a = C.el('a', 'room-link', r.name);
        a.href = roomURL(r.name, false);
        a.setAttribute('data-room', r.name);
        li.appendChild(a);
        li.appendChild(C.el('span', 'room-count', String(members)));
      }
      li.querySelector('.room-count').title = members === 1 ? '1 member' : members + ' members';
      frag.appendChild(li);
    }
    while (roomList.firstChild) {
      roomList.removeChild(roomList.firstChild);
    }
    roomList.appendChild(frag);
    C.show(emptyNote, roomList.getElementsByTagName('li').length === 0);
  }

  function bumpLater(li) {
    setTimeout(function () {
      li.className = 'room-item';
    }, 700);
  }

  var refreshing = false;
  function refresh() {
    if (refreshing) {
      return;
    }
    refreshing = true;
    C.getJSON('/api/rooms', function (err, data) {
      refreshing = false;
      roomList.parentNode.setAttribute('data-stale', err ? 'true' : 'false');
      if (!err && data && data.rooms && data.rooms.length !== undefined) {
        renderRooms(data.rooms);
      }
    });
  }

  // Existing items come from the server-rendered page; give them the same
  // title the refresh would.
  renderRooms((function () {
    var out = [];
    var items = roomList.getElementsByTagName('li');
    for (var i = 0; i < items.length; i++) {
      out.push({
        name: items[i].getAttribute('data-room'),
        members: Number(items[i].querySelector('.room-count').textContent)
      });
    }
    return out;
  })());
  refresh();
  setInterval(refresh, REFRESH_MS);
})();
