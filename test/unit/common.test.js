// common.js takes the chat's limits from the attributes the server's
// template puts on <html>, not from numbers of its own.
//
//   node --test test/unit/
'use strict';

const { test } = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const vm = require('node:vm');

const SOURCE = fs.readFileSync(path.join(__dirname, '../../static/js/common.js'), 'utf8');

// load runs common.js as the browser would, in a window whose <html> has
// the given attributes, and returns its ChatCommon.
function load(attrs) {
  const window = {
    document: { documentElement: { getAttribute: (name) => (name in attrs ? attrs[name] : null) } },
  };
  vm.runInNewContext(SOURCE, { window }, { filename: 'common.js' });
  return window.ChatCommon;
}

test('the limits are the ones on <html>', () => {
  const C = load({ 'data-name-max': '5', 'data-room-max': '7', 'data-text-max': '9' });
  assert.equal(C.NAME_MAX, 5);
  assert.equal(C.ROOM_MAX, 7);
  assert.equal(C.TEXT_MAX, 9);
  assert.equal(C.nameProblem('abcde'), '');
  assert.match(C.nameProblem('abcdef'), /at most 5 characters; .* has 6/);
  assert.equal(C.roomProblem('abcdefg'), '');
  assert.match(C.roomProblem('abcdefgh'), /at most 7 characters; .* has 8/);
  assert.equal(C.normalizeError('name_invalid').message, 'Names are 1\u20135 characters: letters, digits, _ or -.');
  assert.equal(C.normalizeError('room_invalid').message, 'Rooms are 1\u20137 characters: lowercase letters, digits or -.');
  assert.equal(C.normalizeError('text_invalid').message, 'Messages must have 1\u20139 characters.');
});

test('the character rules still apply within the limits', () => {
  const C = load({ 'data-name-max': '24', 'data-room-max': '32', 'data-text-max': '2000' });
  assert.match(C.nameProblem('no spaces'), /not a valid name/);
  assert.match(C.roomProblem('Upper'), /not a valid room/);
  assert.match(C.nameProblem(''), /enter a name/);
});

test('without the attributes only the server checks the lengths', () => {
  const C = load({});
  assert.ok(Number.isNaN(C.NAME_MAX));
  assert.equal(C.nameProblem('x'.repeat(100)), '');
  assert.match(C.nameProblem('a b'), /not a valid name/);
});
