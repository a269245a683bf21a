// Hostile input against the real binary with its default limits: malformed
// Engine.IO requests and Socket.IO packets, oversized bodies and messages,
// foreign origins, bad API parameters and path tricks under /static/. Each
// gets the answer the README documents, a normal user is served right
// after, and the server's memory and descriptors come back at the end.
'use strict';
const test = require('node:test');
const assert = require('node:assert/strict');
const server = require('../lib/server');
const { within } = require('../lib/wait');
const h = require('./lib');

const EIO = '/socket.io/?EIO=4&transport=polling';
let srv;
let base;
test.before(async () => {
  srv = await server.start();
  await h.normalUser(srv.url); // the first user's allocations are not a leak
  base = h.stats(srv.pid);
});
test.after(async () => {
  if (srv) await srv.stop();
});

test('malformed Engine.IO requests get Engine.IO JSON errors', async () => {
  const p = srv.port;
  const cases = [
    ['unknown transport', h.get(p, '/socket.io/?EIO=4&transport=carrier-pigeon'), { code: 0, message: 'Transport unknown' }],
    ['no transport', h.get(p, '/socket.io/?EIO=4'), { code: 0, message: 'Transport unknown' }],
    ['EIO=5', h.get(p, '/socket.io/?EIO=5&transport=polling'), { code: 5, message: 'Unsupported protocol version' }],
    ['EIO=abc', h.get(p, '/socket.io/?EIO=abc&transport=polling'), { code: 5, message: 'Unsupported protocol version' }],
    ['unknown sid (GET)', h.get(p, EIO + '&sid=no-such-session'), { code: 1, message: 'Session ID unknown' }],
    ['unknown sid (POST)', h.post(p, EIO + '&sid=no-such-session', '4hello'), { code: 1, message: 'Session ID unknown' }],
    ['POST handshake', h.post(p, EIO, '40'), { code: 2, message: 'Bad handshake method' }],
    ['PUT handshake', h.post(p, EIO, '40').toString().replace(/^POST/, 'PUT'), { code: 2, message: 'Bad handshake method' }],
    ['websocket without upgrade', h.get(p, '/socket.io/?EIO=4&transport=websocket'), { code: 3, message: 'Bad request' }],
  ];
  for (const [what, req, body] of cases) h.expectJSON(await h.raw(p, req), 400, body, what);
  await h.normalUser(srv.url);
});

test('a JSONP callback index keeps only its digits', async () => {
  const p = srv.port;
  const res = await h.raw(p, h.get(p, EIO + '&j=alert(document.cookie)//'));
  assert.equal(res.status, 200);
  assert.match(res.headers['content-type'], /^text\/javascript/);
  assert.match(res.body, /^___eio\[\d*\]\("0\{/);
  assert.doesNotMatch(res.body, /alert|cookie/);
  await h.normalUser(srv.url);
});

test('a garbage polling body or an invalid packet type is 400 Bad request and ends the session', async () => {
  const p = srv.port;
  for (const body of ['garbage', '9hello', 'x', '', '4a\x1e9zz', '\x1e\x1e']) {
    const sid = await h.handshake(p);
    const path = `${EIO}&sid=${sid}`;
    h.expectJSON(await h.raw(p, h.post(p, path, body)), 400, { code: 3, message: 'Bad request' }, `body ${JSON.stringify(body)}`);
    h.expectJSON(await h.raw(p, h.get(p, path)), 400, { code: 1, message: 'Session ID unknown' }, `session after ${JSON.stringify(body)}`);
  }
  // A well-formed Engine.IO message holding a malformed Socket.IO packet is
  // accepted by Engine.IO; Socket.IO then closes the connection, which the
  // next poll sees as Engine.IO's close packet.
  const sid = await h.handshake(p);
  const path = `${EIO}&sid=${sid}`;
  const ok = await h.raw(p, h.post(p, path, '42/chat,["message"'));
  assert.equal(ok.status, 200);
  assert.equal(ok.body, 'ok');
  assert.equal((await h.raw(p, h.get(p, path))).body, '1');
  await h.normalUser(srv.url);
});

test('a malformed Socket.IO packet over WebSocket closes that connection only', async () => {
  const bystander = await h.wsOpen(srv.port);
  bystander.send('40/chat,');
  await bystander.wait((m) => m.startsWith('40/chat,{'), 'CONNECT answer');
  // Not Socket.IO at all; an unknown packet type; a CONNECT to /chat with a
  // broken auth payload; an event whose JSON stops short; a v4 client's ping
  // (v4 servers ping, clients answer).
  for (const bad of ['4zzz', '49', '40/chat,{"token":', '42/chat,["message",{"room":', '4', 'zz', '2']) {
    const w = await h.wsOpen(srv.port);
    const t0 = Date.now();
    w.send(bad);
    const c = await within(w.closed, `close after ${JSON.stringify(bad)}`);
    assert.equal(c.code, 1000, `close code after ${JSON.stringify(bad)}`);
    assert.ok(c.at - t0 < 2000, `closed ${c.at - t0} ms after ${JSON.stringify(bad)}`);
  }
  assert.ok(bystander.isOpen(), 'the other connection stays open');
  bystander.close();
  await h.normalUser(srv.url);
});

test('a polling POST over --max-payload is 413, by Content-Length or chunked, and its packets are not run', async () => {
  const p = srv.port;
  const room = 'oversized-1';
  // A registered user in the room, over polling: what a chunked body would
  // make it say must not reach the history.
  const sid = await h.handshake(p);
  const path = `${EIO}&sid=${sid}`;
  const send = async (body) => (await h.raw(p, h.post(p, path, body))).status;
  assert.equal(await send('40/chat,'), 200);
  const poll = async (pred) => {
    for (let i = 0; i < 10; i++) {
      const r = await h.raw(p, h.get(p, path));
      if (pred(r.body)) return r.body;
    }
    throw new Error('no such poll answer');
  };
  await poll((b) => b.includes('40/chat,{'));
  assert.equal(await send('42/chat,1["register",{"name":"chunky"}]'), 200);
  await poll((b) => b.includes('43/chat,1[{"ok":true'));
  assert.equal(await send('42/chat,2["join",{"room":"oversized-1"}]'), 200);
  await poll((b) => b.includes('43/chat,2[{"ok":true'));

  // Sent as a browser sends them, on a kept-alive connection: the server
  // then lingers after its answer rather than resetting the connection
  // while the rest of the body is still arriving.
  const keepAlive = { Connection: null };
  const big = '4' + 'x'.repeat(1100000);
  const byLength = await h.raw(p, h.post(p, path, big, keepAlive));
  h.expectJSON(byLength, 413, { code: 3, message: 'Payload too large' }, 'Content-Length over the limit');

  // 2 MB sent chunked, with no Content-Length: the message packet comes
  // first, the padding after it pushes the body past the limit.
  const sid2 = await h.handshake(p);
  const path2 = `${EIO}&sid=${sid2}`;
  const packets = ['40/chat,', '42/chat,1["register",{"name":"chunky2"}]', '42/chat,2["join",{"room":"oversized-1"}]',
    '42/chat,3["message",{"room":"oversized-1","text":"smuggled in a chunked body"}]'];
  const body = Buffer.from(packets.join('\x1e') + '\x1e4' + 'y'.repeat(2 * 1000 * 1000));
  const chunks = [];
  for (let i = 0; i < body.length; i += 64 * 1024) {
    const c = body.subarray(i, i + 64 * 1024);
    chunks.push(Buffer.from(c.length.toString(16) + '\r\n'), c, Buffer.from('\r\n'));
  }
  chunks.push(Buffer.from('0\r\n\r\n'));
  const req = Buffer.concat([Buffer.from(h.post(p, path2, '', keepAlive).toString().replace('Content-Length: 0\r\n', 'Transfer-Encoding: chunked\r\n')), ...chunks]);
  const chunked = await h.raw(p, req);
  h.expectJSON(chunked, 413, { code: 3, message: 'Payload too large' }, 'chunked body over the limit');
  h.expectJSON(await h.raw(p, h.get(p, path2)), 400, { code: 1, message: 'Session ID unknown' }, 'session after 413');

  const res = await fetch(`${srv.url}/api/rooms/${room}/messages`);
  assert.equal(res.status, 200);
  assert.deepEqual((await res.json()).messages, [], 'nothing of the refused body is stored');
  const members = (await (await fetch(`${srv.url}/api/rooms`)).json()).rooms.find((r) => r.name === room);
  assert.deepEqual(members, { name: room, members: 1 }, 'the refused body joined nobody');
  await h.normalUser(srv.url);
});

test('a WebSocket message over --max-payload closes with 1009', async () => {
  // The frame header announces more than the limit: the server answers
  // before the body has arrived.
  const s = await h.rawWs(srv.port);
  const frames = h.wsFrames(s);
  const header = h.wsFrame('4' + 'x'.repeat(1100000)).subarray(0, 14 + 4096);
  s.write(header);
  assert.equal(await within(frames.close, 'close frame after an oversized header'), 1009);
  s.destroy();
  // One byte under the limit is read (and then refused as Socket.IO).
  const u = await h.wsOpen(srv.port);
  u.send('4' + 'x'.repeat(1048575));
  assert.equal((await within(u.closed, 'close after a malformed packet')).code, 1000);
  await h.normalUser(srv.url);
});

test('a foreign Origin is refused with 403, and a forged X-Forwarded-Host does not help', async () => {
  const p = srv.port;
  const evil = 'http://evil.example';
  const refused = { code: 4, message: `origin not allowed: ${evil}` };
  h.expectJSON(await h.raw(p, h.get(p, EIO, { Origin: evil })), 403, refused, 'polling handshake');
  const upgrade = {
    Origin: evil,
    Connection: 'Upgrade',
    Upgrade: 'websocket',
    'Sec-WebSocket-Version': 13,
    'Sec-WebSocket-Key': 'dGhlIHNhbXBsZSBub25jZQ==',
  };
  h.expectJSON(await h.raw(p, h.get(p, '/socket.io/?EIO=4&transport=websocket', upgrade)), 403, refused, 'websocket upgrade');
  for (const forged of [{ 'X-Forwarded-Host': 'evil.example' }, { 'X-Forwarded-Host': 'evil.example', 'X-Forwarded-Proto': 'http' }]) {
    h.expectJSON(await h.raw(p, h.get(p, EIO, { Origin: evil, ...forged })), 403, refused, 'handshake with ' + JSON.stringify(forged));
    h.expectJSON(await h.raw(p, h.get(p, '/socket.io/?EIO=4&transport=websocket', { ...upgrade, ...forged })), 403, refused,
      'upgrade with ' + JSON.stringify(forged));
  }
  // A Host that matches the foreign origin is what same-origin means, so it
  // passes; what a proxy would claim for it from an untrusted peer does not.
  const own = await h.raw(p, h.get(p, EIO, { Origin: `http://127.0.0.1:${p}` }));
  assert.equal(own.status, 200, 'the server\'s own origin passes');
  await h.normalUser(srv.url);
});

test('bad API parameters get a 400 JSON error', async () => {
  const cases = [
    ['before=abc', 'before must be a message id'],
    ['before=1.5', 'before must be a message id'],
    ['before=99999999999999999999999', 'before must be a message id'],
    ['limit=x', 'limit must be a number'],
    ['limit=1e3', 'limit must be a number'],
  ];
  for (const [q, message] of cases) {
    const res = await fetch(`${srv.url}/api/rooms/lobby/messages?${q}`);
    assert.equal(res.status, 400, q);
    assert.match(res.headers.get('content-type'), /^application\/json/, q);
    assert.deepEqual(await res.json(), { error: { code: 'bad_request', message } }, q);
  }
  for (const room of ['NO%20PE', 'a'.repeat(33), '%3Cscript%3E']) {
    const res = await fetch(`${srv.url}/api/rooms/${room}/messages`);
    assert.equal(res.status, 400, room);
    assert.equal((await res.json()).error.code, 'room_invalid', room);
  }
  await h.normalUser(srv.url);
});

test('/static/ serves no directory listing and nothing outside its files', async () => {
  const p = srv.port;
  const js = await h.raw(p, h.get(p, '/static/js/room.js'));
  assert.equal(js.status, 200, 'a real file is served');
  for (const path of ['/static/', '/static/js/', '/static/vendor/socketio/', '/static/../main.go', '/static/%2e%2e/main.go',
    '/static/..%2fmain.go', '/static/%2e%2e%2f%2e%2e%2fetc%2fpasswd', '/static//etc/passwd', '/static/..%5cmain.go',
    '/static/static.go', '/static/js/../../go.mod']) {
    const res = await h.raw(p, h.get(p, path));
    assert.equal(res.status, 404, `${path}: ${res.status}`);
    assert.doesNotMatch(res.body, /package |module |root:|<a href/, `${path} leaks contents`);
  }
  await h.normalUser(srv.url);
});

test('memory and descriptors come back', async (t) => {
  await h.normalUser(srv.url);
  await h.settle(t, srv.pid, base);
});
