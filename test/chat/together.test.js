// Watching together and calling: the /chat events player, signal and call,
// driven by real socket.io-client 4.x and 2.x against the real server
// binary, on one node and on two nodes sharing a redis-server.
'use strict';
const test = require('node:test');
const assert = require('node:assert/strict');
const { within } = require('../lib/wait');
const { call, next, client, user } = require('../lib/events');
const server = require('../lib/server');
const redisServer = require('../lib/redis');

const DEMO = '/static/media/demo.wav';


// never records whether s receives event from now on.
function never(s, event) {
  const got = [];
  s.on(event, (e) => got.push(e));
  return got;
}

// errorOf asserts a refusal with code and a message for people.
function errorOf(res, code, what) {
  assert.equal(res.ok, false, `${what}: ${JSON.stringify(res)}`);
  assert.equal(res.error.code, code, `${what}: ${JSON.stringify(res)}`);
  assert.ok(typeof res.error.message === 'string' && res.error.message.length > 0, `${what}: no message`);
}

const PLAYER_KEYS = ['by', 'playing', 'position', 'room', 'updatedAt', 'url'];

let srv;
const sockets = [];
const track = (s) => (sockets.push(s), s);
test.before(async () => {
  srv = await server.start();
});
test.after(async () => {
  for (const s of sockets) s.close();
  if (srv) await srv.stop();
});

test('the demo clip is served by the binary as a seekable WAV', async () => {
  const res = await fetch(srv.url + DEMO);
  assert.equal(res.status, 200);
  const body = Buffer.from(await res.arrayBuffer());
  assert.equal(body.subarray(0, 4).toString(), 'RIFF');
  assert.equal(body.subarray(8, 12).toString(), 'WAVE');
  assert.ok(body.length > 50000 && body.length < 400000, `clip of ${body.length} bytes`);
  const part = await fetch(srv.url + DEMO, { headers: { Range: 'bytes=100-199' } });
  assert.equal(part.status, 206);
  assert.equal(Buffer.from(await part.arrayBuffer()).length, 100);
});

test('player: load, play, pause and seek reach the others (4.x and 2.x); positions follow the server clock', async () => {
  const room = 'watch-1';
  const url = srv.url + DEMO;
  const a = track(await user(srv.url, 'projector', room, { transports: ['websocket'] }));
  const b = track(await user(srv.url, 'viewer4', room, { transports: ['polling'] }));
  const c = track(await user(srv.url, 'viewer2', room, { gen: 2, transports: ['polling'] }));
  assert.equal(a.joinReply.player, null);
  const echo = never(a, 'player');

  const atB = next(b, 'player');
  const atC = next(c, 'player');
  const before = Date.now();
  const load = await call(a, 'player', { room, action: 'load', url });
  assert.equal(load.ok, true, JSON.stringify(load));
  assert.deepEqual(Object.keys(load).sort(), ['ok', 'player']);
  assert.deepEqual(Object.keys(load.player).sort(), PLAYER_KEYS);
  assert.deepEqual({ ...load.player, updatedAt: 0 }, { room, url, playing: false, position: 0, updatedAt: 0, by: a.me });
  assert.ok(load.player.updatedAt >= before - 1000 && load.player.updatedAt <= Date.now() + 1000, 'updatedAt is server time in ms');
  assert.deepEqual(await atB, load.player);
  assert.deepEqual(await atC, load.player);

  // play: from where it was; pause: where play got to by then.
  const played = next(c, 'player', (p) => p.playing);
  const play = await call(b, 'player', { room, action: 'play', position: 999 });
  assert.equal(play.ok, true, JSON.stringify(play));
  assert.equal(play.player.playing, true);
  assert.equal(play.player.position, 0, 'play takes the position from the server, not the client');
  assert.deepEqual(play.player.by, b.me);
  assert.deepEqual(await played, play.player);

  await new Promise((r) => setTimeout(r, 300)); // let the media play for a while
  const paused = next(a, 'player', (p) => !p.playing);
  const pause = await call(c, 'player', { room, action: 'pause' });
  assert.equal(pause.ok, true, JSON.stringify(pause));
  assert.equal(pause.player.playing, false);
  const elapsed = (pause.player.updatedAt - play.player.updatedAt) / 1000;
  assert.ok(elapsed >= 0.3, `paused ${elapsed}s after play`);
  assert.ok(Math.abs(pause.player.position - elapsed) < 1e-9, `position ${pause.player.position}, want ${elapsed}`);
  assert.deepEqual((await paused).by, c.me);

  const seek = await call(a, 'player', { room, action: 'seek', position: 12.5 });
  assert.equal(seek.ok, true);
  assert.equal(seek.player.position, 12.5);
  assert.equal(seek.player.playing, false, 'seek keeps the media paused');
  const play2 = await call(a, 'player', { room, action: 'play' });
  assert.equal(play2.player.position, 12.5);

  // A late joiner gets the state with its join, and can place the media.
  const late = track(await user(srv.url, 'latecomer', room, { gen: 2 }));
  const p = late.joinReply.player;
  assert.deepEqual(p, play2.player);
  const seekAtA = next(a, 'player', (e) => e.by.id === late.me.id);
  const seekPlaying = await call(late, 'player', { room, action: 'seek', position: 3 });
  assert.deepEqual(await seekAtA, seekPlaying.player);
  assert.equal(seekPlaying.player.playing, true, 'seek keeps the media playing');
  assert.equal(seekPlaying.player.position, 3);
  assert.ok(echo.length >= 3, 'a got the others\' changes');
  assert.deepEqual(echo.filter((e) => e.by.id === a.me.id), [], 'the sender does not get its own player event');
});

test('player: every refusal has its code, and changes nothing', async () => {
  const room = 'watch-2';
  const url = srv.url + DEMO;
  const anon = track(await client(srv.url));
  errorOf(await call(anon, 'player', { room, action: 'play' }), 'not_registered', 'unregistered');

  const a = track(await user(srv.url, 'refused', room));
  const b = track(await user(srv.url, 'onlooker', room, { gen: 2 }));
  const seen = never(b, 'player');
  errorOf(await call(a, 'player', { room, action: 'play' }), 'bad_request', 'play before any load');
  for (const [payload, code] of [
    [{ room, action: 'load' }, 'url_invalid'],
    [{ room, action: 'load', url: '' }, 'url_invalid'],
    [{ room, action: 'load', url: 'javascript:alert(1)' }, 'url_invalid'],
    [{ room, action: 'load', url: 'data:video/mp4;base64,AAAA' }, 'url_invalid'],
    [{ room, action: 'load', url: 'ftp://example.com/film.mp4' }, 'url_invalid'],
    [{ room, action: 'load', url: '/static/media/demo.wav' }, 'url_invalid'],
    [{ room, action: 'load', url: 'https://example.com/' + 'a'.repeat(2049 - 20) }, 'url_invalid'],
    [{ room, action: 'load', url: 12 }, 'url_invalid'],
    [{ room, action: 'load', url, position: -3 }, 'bad_request'],
    [{ room, action: 'rewind' }, 'bad_request'],
    [{ room }, 'bad_request'],
    [{ room: 'Not A Room', action: 'load', url }, 'room_invalid'],
    [{ room: 'elsewhere', action: 'load', url }, 'not_in_room'],
  ]) {
    errorOf(await call(a, 'player', payload), code, JSON.stringify(payload).slice(0, 80));
  }
  errorOf(await call(a, 'player', 'not an object'), 'bad_request', 'a string payload');

  // The longest URL allowed is 2048 characters.
  const loadAtB = next(b, 'player');
  const longest = 'https://example.com/' + 'a'.repeat(2048 - 20);
  assert.equal(longest.length, 2048);
  const load = await call(a, 'player', { room, action: 'load', url: longest, position: 4 });
  assert.equal(load.ok, true, JSON.stringify(load));
  assert.equal(load.player.position, 4);
  for (const position of [-1, '5', null, undefined, Infinity, NaN, { s: 1 }]) {
    // Infinity and NaN are sent as null by JSON.
    errorOf(await call(a, 'player', { room, action: 'seek', position }), 'bad_request', `seek to ${String(position)}`);
  }
  const j = await call(b, 'join', { room });
  assert.deepEqual(j.player, load.player, 'the refused requests left the state as it was');
  // Broadcasts arrive in order: had a refused request been broadcast, it
  // would have arrived before the load's.
  assert.deepEqual(await loadAtB, load.player);
  assert.equal(seen.length, 1, 'only the accepted load was broadcast');

  // Rate limited like messages, in a bucket of its own.
  const answers = await Promise.all(Array.from({ length: 14 }, (_, i) => call(a, 'player', { room, action: 'seek', position: i })));
  const limited = answers.filter((r) => !r.ok);
  assert.ok(limited.length >= 3, `${limited.length} of 14 back-to-back actions refused`);
  for (const r of limited) errorOf(r, 'rate_limited', 'a flood of seeks');
  const lastOk = answers.filter((r) => r.ok).pop();
  assert.deepEqual((await call(b, 'join', { room })).player, lastOk.player);
  const msg = await call(a, 'message', { room, text: 'still talking' });
  assert.equal(msg.ok, true, 'messages have their own bucket');
});

test('player: the state goes when the room empties', async () => {
  const room = 'watch-3';
  const a = track(await user(srv.url, 'emptier', room));
  const b = track(await user(srv.url, 'emptier2', room));
  assert.equal((await call(a, 'player', { room, action: 'load', url: 'https://example.com/v.mp4' })).ok, true);
  assert.deepEqual(await call(a, 'leave', { room }), { ok: true });
  const again = await call(a, 'join', { room });
  assert.equal(again.player.url, 'https://example.com/v.mp4', 'kept while someone is in the room');
  const left = next(a, 'left');
  b.close();
  await left;
  assert.deepEqual(await call(a, 'leave', { room }), { ok: true });
  const fresh = await call(a, 'join', { room });
  assert.equal(fresh.player, null);
});

test('signal: delivered to the addressee only, with the sender; every refusal has its code', async () => {
  const room = 'call-sig';
  const a = track(await user(srv.url, 'caller', room, { transports: ['websocket'] }));
  const b = track(await user(srv.url, 'callee2', room, { gen: 2, transports: ['polling'] }));
  const c = track(await user(srv.url, 'bystander', room));
  const d = track(await user(srv.url, 'outsider', 'call-other'));
  const atC = never(c, 'signal');
  const atD = never(d, 'signal');
  const atA = never(a, 'signal');

  const offer = { type: 'offer', sdp: 'v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\n', nested: { list: [1, 2, 3] } };
  const got = next(b, 'signal');
  assert.deepEqual(await call(a, 'signal', { room, to: b.me.id, data: offer }), { ok: true });
  assert.deepEqual(await got, { room, from: a.me, data: offer });
  const back = next(a, 'signal');
  assert.deepEqual(await call(b, 'signal', { room, to: a.me.id, data: { candidate: 'candidate:1 1 udp 1 127.0.0.1 5000 typ host' } }), { ok: true });
  assert.equal((await back).from.id, b.me.id);
  atA.length = 0;

  const anon = track(await client(srv.url));
  errorOf(await call(anon, 'signal', { room, to: b.me.id, data: {} }), 'not_registered', 'unregistered');
  for (const [payload, code, what] of [
    [{ room, to: d.me.id, data: {} }, 'peer_not_found', 'a user of another room'],
    [{ room, to: 'no-such-socket', data: {} }, 'peer_not_found', 'nobody'],
    [{ room, to: a.me.id, data: {} }, 'peer_not_found', 'oneself'],
    [{ room, to: room, data: {} }, 'peer_not_found', 'the room itself'],
    [{ room, data: {} }, 'peer_not_found', 'no addressee'],
    [{ room: 'call-other', to: d.me.id, data: {} }, 'not_in_room', 'a room the sender is not in'],
    [{ room: 'No Room', to: b.me.id, data: {} }, 'room_invalid', 'an invalid room'],
    [{ room, to: b.me.id }, 'bad_request', 'no data'],
    [{ room, to: b.me.id, data: 'offer' }, 'bad_request', 'data a string'],
    [{ room, to: b.me.id, data: [1, 2] }, 'bad_request', 'data an array'],
    [{ room, to: b.me.id, data: { sdp: 'x'.repeat(64 * 1024) } }, 'bad_request', 'data over 64 KiB'],
  ]) {
    errorOf(await call(a, 'signal', payload), code, what);
  }
  // Just under 64 KiB encoded passes.
  const big = { sdp: 'x'.repeat(64 * 1024 - 20) };
  assert.ok(JSON.stringify(big).length <= 64 * 1024);
  const gotBig = next(b, 'signal');
  assert.deepEqual(await call(a, 'signal', { room, to: b.me.id, data: big }), { ok: true });
  assert.equal((await gotBig).data.sdp.length, big.sdp.length);
  assert.equal(atC.length + atD.length + atA.length, 0, 'nobody else received a signal');
});

test('signal: a burst of ICE candidates passes, a flood is rate limited', async () => {
  const room = 'call-burst';
  const a = track(await user(srv.url, 'burster', room, { transports: ['websocket'] }));
  const b = track(await user(srv.url, 'burstee', room, { transports: ['websocket'] }));
  const delivered = never(b, 'signal');
  const burst = await Promise.all(Array.from({ length: 60 }, (_, i) => call(a, 'signal', { room, to: b.me.id, data: { candidate: `c${i}` } })));
  assert.ok(burst.every((r) => r.ok), 'a burst of 60 candidates passes');
  const flood = await Promise.all(Array.from({ length: 300 }, (_, i) => call(a, 'signal', { room, to: b.me.id, data: { candidate: `f${i}` } })));
  const refused = flood.filter((r) => !r.ok);
  assert.ok(refused.length >= 50, `${refused.length} of a flood of 300 refused`);
  for (const r of refused) errorOf(r, 'rate_limited', 'a flood');
  const accepted = 60 + flood.length - refused.length;
  // Events of one socket are handled in order: once this one arrives, every
  // accepted signal before it has been delivered.
  const marker = next(b, 'signal', (e) => e.data.marker === true);
  await within((async () => {
    for (;;) {
      const r = await call(a, 'signal', { room, to: b.me.id, data: { marker: true } });
      if (r.ok) return;
      await new Promise((res) => setTimeout(res, 50)); // the bucket refills at 50/s
    }
  })(), 'a signal after the flood');
  await marker;
  assert.equal(delivered.length, accepted + 1, 'every accepted signal, and no refused one, was delivered');
});

test('call: joining and leaving is announced, listed in join, and ends with leave or disconnect', async () => {
  const room = 'call-1';
  const a = track(await user(srv.url, 'ann-call', room, { transports: ['websocket'] }));
  const b = track(await user(srv.url, 'bob-call', room, { gen: 2, transports: ['polling'] }));
  const echo = never(a, 'call');
  assert.deepEqual(b.joinReply.members.map((m) => [m.name, m.inCall]).sort(), [['ann-call', false], ['bob-call', false]]);

  const atB = next(b, 'call');
  assert.deepEqual(await call(a, 'call', { room, active: true }), { ok: true });
  assert.deepEqual(await atB, { room, user: a.me, active: true });
  const c = track(await user(srv.url, 'cat-call', room));
  const inCall = Object.fromEntries(c.joinReply.members.map((m) => [m.name, m.inCall]));
  assert.deepEqual(inCall, { 'ann-call': true, 'bob-call': false, 'cat-call': false });

  const off = next(c, 'call');
  assert.deepEqual(await call(a, 'call', { room, active: false }), { ok: true });
  assert.deepEqual(await off, { room, user: a.me, active: false });
  assert.equal(echo.length, 0, 'the sender does not get its own call event');

  // Leaving the room, or disconnecting, leaves the call.
  assert.equal((await call(b, 'call', { room, active: true })).ok, true);
  assert.equal((await call(c, 'call', { room, active: true })).ok, true);
  const bLeft = next(a, 'left');
  assert.deepEqual(await call(b, 'leave', { room }), { ok: true });
  await bLeft;
  const cLeft = next(a, 'left');
  c.close();
  await cLeft;
  const d = track(await user(srv.url, 'dan-call', room));
  assert.deepEqual(d.joinReply.members.map((m) => [m.name, m.inCall]).sort(), [['ann-call', false], ['dan-call', false]]);
  assert.equal((await call(b, 'join', { room })).members.find((m) => m.id === b.me.id).inCall, false);

  const anon = track(await client(srv.url));
  errorOf(await call(anon, 'call', { room, active: true }), 'not_registered', 'unregistered');
  errorOf(await call(a, 'call', { room: 'call-elsewhere', active: true }), 'not_in_room', 'not in the room');
  errorOf(await call(a, 'call', { room: 'Bad Room', active: true }), 'room_invalid', 'invalid room');
  errorOf(await call(a, 'call', { room, active: 'yes' }), 'bad_request', 'active not a boolean');
  errorOf(await call(a, 'call', { room }), 'bad_request', 'no active');
});

test('call: at most 6 in one call, and joining and leaving it is rate limited', async () => {
  const room = 'call-full';
  const users = [];
  for (let i = 0; i < 7; i++) users.push(track(await user(srv.url, `full${i}`, room, { gen: i % 2 ? 2 : 4 })));
  for (const u of users.slice(0, 6)) assert.deepEqual(await call(u, 'call', { room, active: true }), { ok: true });
  errorOf(await call(users[6], 'call', { room, active: true }), 'call_full', 'the seventh');
  assert.deepEqual(await call(users[0], 'call', { room, active: false }), { ok: true });
  assert.deepEqual(await call(users[6], 'call', { room, active: true }), { ok: true });

  const toggles = await Promise.all(Array.from({ length: 8 }, (_, i) => call(users[1], 'call', { room, active: i % 2 === 1 })));
  const limited = toggles.filter((r) => !r.ok);
  assert.ok(limited.length >= 2, `${limited.length} of 8 back-to-back toggles refused`);
  for (const r of limited) errorOf(r, 'rate_limited', 'call toggles');
});

// Two nodes on one redis-server: the player is one state for the whole
// room, and a signal reaches a socket on the other node.
const noRedis = redisServer.haveRedis ? false : 'no redis-server: install Debian\'s redis-server package';
if (noRedis && process.env.CI === 'true') throw new Error(noRedis);

test('cluster: player state, call and signals cross nodes through Redis', { skip: noRedis }, async () => {
  const redis = await redisServer.start();
  const nodes = [];
  try {
    for (let i = 0; i < 2; i++) nodes.push(await server.start({ args: ['--redis', redis.url] }));
    const [n1, n2] = nodes;
    const room = 'cluster-watch';
    const a = track(await user(n1.url, 'node1user', room, { transports: ['websocket'] }));
    const b = track(await user(n2.url, 'node2user', room, { gen: 2, transports: ['polling'] }));

    const atB = next(b, 'player');
    const load = await call(a, 'player', { room, action: 'load', url: n1.url + DEMO });
    assert.equal(load.ok, true, JSON.stringify(load));
    assert.deepEqual(await atB, load.player);
    const play = await call(b, 'player', { room, action: 'play' });
    assert.equal(play.ok, true, JSON.stringify(play));
    assert.equal(play.player.url, n1.url + DEMO, 'node 2 builds on the state node 1 stored');
    const late = track(await user(n2.url, 'node2late', room));
    assert.deepEqual(late.joinReply.player, play.player);

    const sig = next(b, 'signal');
    assert.deepEqual(await call(a, 'signal', { room, to: b.me.id, data: { type: 'offer', sdp: 'v=0' } }), { ok: true });
    assert.deepEqual(await sig, { room, from: a.me, data: { type: 'offer', sdp: 'v=0' } });
    const sigBack = next(a, 'signal');
    assert.deepEqual(await call(b, 'signal', { room, to: a.me.id, data: { type: 'answer' } }), { ok: true });
    assert.equal((await sigBack).from.id, b.me.id);

    const callAtB = next(b, 'call');
    assert.deepEqual(await call(a, 'call', { room, active: true }), { ok: true });
    assert.deepEqual(await callAtB, { room, user: a.me, active: true });
    const j = await call(late, 'join', { room });
    assert.equal(j.members.find((m) => m.id === a.me.id).inCall, true, 'node 2 sees who is in the call on node 1');

    // Everyone leaves: the room's player goes on every node.
    for (const s of [a, b, late]) assert.deepEqual(await call(s, 'leave', { room }), { ok: true });
    assert.equal((await call(b, 'join', { room })).player, null);
  } finally {
    for (const n of nodes) await n.stop();
    await redis.stop();
    require('node:fs').rmSync(redis.dir, { recursive: true, force: true });
  }
});
