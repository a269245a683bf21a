/*
 * Helpers shared by the index and room pages.
 *
 * Plain ES5 on purpose: the legacy room page targets old browsers too.
 * Everything written by users (names, rooms, messages) is put into the page
 * with textContent / createTextNode, never as HTML.
 */
(function (global) {
  'use strict';

  // The limits come from the server (chat/limits.go), which the page's
  // template writes on <html> as data-name-max, data-room-max and
  // data-text-max. Without them (NaN) only the server checks lengths.
  function limit(attr) {
    var root = global.document && global.document.documentElement;
    var v = root ? parseInt(root.getAttribute(attr), 10) : NaN;
    return v > 0 ? v : NaN;
  }

  var NAME_RE = /^[A-Za-z0-9_-]+$/;
  var NAME_MAX = limit('data-name-max');
  var ROOM_RE = /^[a-z0-9-]+$/;
  var ROOM_MAX = limit('data-room-max');
  var TEXT_MAX = limit('data-text-max');
  var NAME_KEY = 'chat.name';

  // Messages for error codes, used when the server sends none.
  var ERROR_TEXT = {
    name_invalid: 'Names are 1\u2013' + NAME_MAX + ' characters: letters, digits, _ or -.',
    name_taken: 'That name is already taken. Please choose another one.',
    already_registered: 'You are already registered.',
    not_registered: 'Choose a name first.',
    room_invalid: 'Rooms are 1\u2013' + ROOM_MAX + ' characters: lowercase letters, digits or -.',
    not_in_room: 'You are not in this room (yet).',
    text_invalid: 'Messages must have 1\u2013' + TEXT_MAX + ' characters.',
    rate_limited: 'You are sending too fast. Please slow down.',
    timeout: 'The server did not answer in time.',
    network: 'Could not reach the server.'
  };

  // quoteForError keeps long or odd inputs readable inside an error message.
  function quoteForError(value) {
    var s = String(value);
    if (s.length > 40) {
      s = s.slice(0, 40) + '\u2026';
    }
    return '\u201c' + s + '\u201d';
  }

  // nameProblem returns '' for a valid name, or what is wrong with it.
  function nameProblem(name) {
    if (!name) {
      return 'Please enter a name.';
    }
    if (name.length > NAME_MAX) {
      return 'Names are at most ' + NAME_MAX + ' characters; ' + quoteForError(name) + ' has ' + name.length + '.';
    }
    if (!NAME_RE.test(name)) {
      return quoteForError(name) + ' is not a valid name: use only letters, digits, _ or -.';
    }
    return '';
  }

  // roomProblem returns '' for a valid room name, or what is wrong with it.
  function roomProblem(room) {
    if (!room) {
      return 'Please enter a room.';
    }
    if (room.length > ROOM_MAX) {
      return 'Room names are at most ' + ROOM_MAX + ' characters; ' + quoteForError(room) + ' has ' + room.length + '.';
    }
    if (!ROOM_RE.test(room)) {
      return quoteForError(room) + ' is not a valid room: use only lowercase letters, digits or -.';
    }
    return '';
  }

  function loadName() {
    try {
      return global.sessionStorage.getItem(NAME_KEY) || '';
    } catch (e) {
      return '';
    }
  }

  function saveName(name) {
    try {
      global.sessionStorage.setItem(NAME_KEY, name);
    } catch (e) {
      // Storage may be disabled; the name is then asked for again.
    }
  }

  // normalizeError turns whatever the server sent into {code, message}.
  function normalizeError(err) {
    var code = 'error';
    var message = '';
    if (typeof err === 'string') {
      code = err;
    } else if (err && typeof err === 'object') {
      if (err.code) {
        code = String(err.code);
      }
      if (err.message) {
        message = String(err.message);
      }
    }
    if (!message) {
      message = ERROR_TEXT[code] || 'Something went wrong (' + code + ').';
    }
    // Server messages are sentences without the capital.
    message = message.charAt(0).toUpperCase() + message.slice(1);
    return { code: code, message: message };
  }

  // showError puts an error in the #error banner (text only).
  function showError(err) {
    var box = document.getElementById('error');
    if (!box) {
      return;
    }
    var e = normalizeError(err);
    while (box.firstChild) {
      box.removeChild(box.firstChild);
    }
    var text = document.createElement('span');
    text.className = 'error-text';
    text.appendChild(document.createTextNode(e.message));
    box.appendChild(text);
    if (e.code && e.code !== 'error') {
      var code = document.createElement('code');
      code.className = 'error-code';
      code.appendChild(document.createTextNode(e.code));
      box.appendChild(code);
    }
    var close = document.createElement('button');
    close.type = 'button';
    close.className = 'error-close';
    close.setAttribute('aria-label', 'Dismiss');
    close.appendChild(document.createTextNode('\u00d7'));
    close.onclick = clearError;
    box.appendChild(close);
    box.setAttribute('data-code', e.code);
    show(box, true);
  }

  function clearError() {
    var box = document.getElementById('error');
    if (!box) {
      return;
    }
    show(box, false);
    box.removeAttribute('data-code');
    while (box.firstChild) {
      box.removeChild(box.firstChild);
    }
  }

  // hue gives every name a stable color.
  function hue(name) {
    var h = 0;
    var s = String(name || '').toLowerCase();
    for (var i = 0; i < s.length; i++) {
      h = (h * 31 + s.charCodeAt(i)) % 360;
    }
    return h;
  }

  function color(name, lightness) {
    return 'hsl(' + hue(name) + ', 62%, ' + (lightness || 44) + '%)';
  }

  // el builds an element with a class and optional text content.
  function el(tag, className, text) {
    var node = document.createElement(tag);
    if (className) {
      node.className = className;
    }
    if (text !== undefined && text !== null) {
      node.appendChild(document.createTextNode(String(text)));
    }
    return node;
  }

  // show sets or removes the hidden attribute (the hidden property is not
  // reflected in old browsers).
  function show(node, visible) {
    if (visible) {
      node.removeAttribute('hidden');
    } else {
      node.setAttribute('hidden', '');
    }
  }

  function setText(node, text) {
    if ('textContent' in node) {
      node.textContent = text;
    } else {
      node.innerText = text;
    }
  }

  // getJSON fetches a JSON document with XMLHttpRequest (works everywhere).
  function getJSON(url, done) {
    var xhr = new XMLHttpRequest();
    xhr.open('GET', url, true);
    xhr.setRequestHeader('Accept', 'application/json');
    xhr.onreadystatechange = function () {
      if (xhr.readyState !== 4) {
        return;
      }
      var data = null;
      try {
        data = JSON.parse(xhr.responseText);
      } catch (e) {
        data = null;
      }
      if (xhr.status >= 200 && xhr.status < 300 && data) {
        done(null, data);
      } else {
        done(normalizeError(data && data.error ? data.error : 'network'), data);
      }
    };
    xhr.send(null);
  }

  global.ChatCommon = {
    NAME_MAX: NAME_MAX,
    ROOM_MAX: ROOM_MAX,
    TEXT_MAX: TEXT_MAX,
    nameProblem: nameProblem,
    roomProblem: roomProblem,
    loadName: loadName,
    saveName: saveName,
    normalizeError: normalizeError,
    showError: showError,
    clearError: clearError,
    hue: hue,
    color: color,
    el: el,
    setText: setText,
    show: show,
    getJSON: getJSON
  };
})(window);
