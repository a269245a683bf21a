// Headless-Chromium tests of the room's shared player and call against the
// real server binary: pages in one room play, pause and seek the demo clip
// in step, a late joiner lands at the right second, and two pages connect
// a call (fake camera and microphone) over loopback.
//
//   make build && node --test test/browser/together.test.js
//
// Screenshots go to test-results/: together-player.png and
// together-call.png always, failure-*.png when a test fails.
'use strict';

const { describe, test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const { io } = require('sio-client-4');
const H = require('./helpers');

const T = { timeout: 60000 };
const IN_STEP_S = 0.5;
const FAKE_MEDIA = ['--use-fake-device-for-media-stream', '--use-fake-ui-for-media-stream'];

// media reads the player's <video> at one instant.
function media(page) {
  return page.evaluate(() => {
    const v = document.getElementById('player-video');
    return { t: v.currentTime, at: Date.now(), paused: v.paused, ready: v.readyState, src: v.currentSrc, sent: window.together.player.sent };
  });
}

// gap is how far apart two readings are at the same instant: a playing
// medium moved on by the time between them (one machine, one clock).
function gap(a, b) {
  const moved = !a.paused && !b.paused ? (b.at - a.at) / 1000 : 0;
  return Math.abs(b.t - a.t - moved);
}

// inStep waits (bounded) until every page plays (or is paused) and all are
// within IN_STEP_S of the first, then checks that they stay so for a
// second and a half. It returns the first page's last reading.
async function inStep(pages, { playing, near }, what) {
  const deadline = Date.now() + 10000;
  let last;
  for (;;) {
    const r = [];
    for (const p of pages) r.push(await media(p));
    const worst = Math.max(...r.slice(1).map((x) => gap(r[0], x)));
    const ok = r.every((x) => x.ready >= 1 && x.paused === !playing) && worst < IN_STEP_S &&
      (near === undefined || Math.abs(r[0].t - near) < IN_STEP_S);
    if (ok) break;
    last = r;
    if (Date.now() > deadline) throw new Error(`${what}: not in step after 10 s: ${JSON.stringify(last)}`);
    await new Promise((res) => setTimeout(res, 100)); // the pages correct drift every 0.5 s
  }
  // In step now; it must hold, which also shows no page keeps seeking.
  let r;
  for (let i = 0; i < 6; i++) {
    await new Promise((res) => setTimeout(res, 250)); // sampling interval
    r = [];
    for (const p of pages) r.push(await media(p));
    for (let j = 1; j < r.length; j++) {
      assert.ok(gap(r[0], r[j]) < IN_STEP_S, `${what}: page ${j} is ${gap(r[0], r[j]).toFixed(3)} s from page 0 (${JSON.stringify(r)})`);
      assert.equal(r[j].paused, !playing, `${what}: page ${j} paused=${r[j].paused}`);
    }
  }
  return r[0];
}

// peerStats reads, in page, the connection with peer id and what its
// remote video decoded.
function peerStats(page, id) {
  return page.evaluate(async (peer) => {
    const p = window.together.call.peers[peer];
    if (!p) return { state: 'none', frames: 0, width: 0 };
    const stats = await p.pc.getStats();
    let frames = 0;
    stats.forEach((r) => {
      if (r.type === 'inbound-rtp' && r.kind === 'video') frames = r.framesDecoded || 0;
    });
    const v = document.querySelector(`#call-tiles .call-tile[data-user-id="${peer}"] video`);
    return { state: p.pc.connectionState, frames, width: v ? v.videoWidth : 0 };
  }, id);
}

// remoteVideo waits (bounded) until the connection with peer is connected
// and its video has decoded frames with a size.
async function remoteVideo(page, peer) {
  const deadline = Date.now() + 20000;
  for (;;) {
    const r = await peerStats(page, peer);
    if (r.state === 'connected' && r.frames > 0 && r.width > 0) return r;
    if (r.state === 'failed' || Date.now() > deadline) throw new Error(`call with ${peer}: ${JSON.stringify(r)}`);
    await new Promise((res) => setTimeout(res, 200)); // getStats has no event to wait for
  }
}

describe('watch together and call in Chromium', { skip: H.noBrowser }, () => {
  const env = {};
  const getEnv = () => env;

  before(async () => {
    env.server = await H.startServer();
    env.browser = await H.launchBrowser(FAKE_MEDIA);
  });

  after(async () => {
    if (env.browser) await env.browser.close().catch(() => {});
    if (env.server) await env.server.stop();
  });

  test('two pages play, pause and seek the demo clip in step; a late joiner lands at the right second', T, H.withSession(getEnv, async (s) => {
    const room = 'cinema';
    const alice = await s.openRoom('alice', { room, name: 'alice' });
    const bob = await s.openRoom('bob', { room, name: 'bob' });
    for (const p of [alice, bob]) await p.locator('#player-demo:enabled').waitFor();

    // A link that is not http(s) is refused on the page, with nothing loaded.
    await alice.locator('#player-url').fill('javascript:alert(1)');
    await alice.locator('#player-load').click();
    await alice.locator('#error[data-code="url_invalid"]').waitFor();
    assert.equal(await alice.locator('#player-stage').isHidden(), true);

    // YouTube links go to the IFrame API's player (not reachable here, so
    // only the recognition of links is checked): which links, which id.
    const ids = await alice.evaluate(() => [
      'https://www.youtube.com/watch?v=dQw4w9WgXcQ&t=42', 'https://youtu.be/dQw4w9WgXcQ?si=x', 'https://m.youtube.com/shorts/dQw4w9WgXcQ',
      'https://www.youtube-nocookie.com/embed/dQw4w9WgXcQ', 'https://example.com/watch?v=dQw4w9WgXcQ', 'https://www.youtube.com/watch?v=short',
      'https://youtube.com.example.net/watch?v=dQw4w9WgXcQ',
    ].map(window.together.youtubeID));
    assert.deepEqual(ids, ['dQw4w9WgXcQ', 'dQw4w9WgXcQ', 'dQw4w9WgXcQ', 'dQw4w9WgXcQ', '', '', '']);

    await alice.locator('#player-demo').click();
    for (const p of [alice, bob]) {
      await p.waitForFunction(() => {
        const v = document.getElementById('player-video');
        return /\/static\/media\/demo\.wav$/.test(v.currentSrc) && v.readyState >= 1 && v.duration > 20;
      });
    }
    await H.waitText(bob, '#player-status', /^Paused · alice · http/);

    // alice presses play (the element's own play(), as its controls do).
    await alice.evaluate(() => document.getElementById('player-video').play());
    const playing = await inStep([alice, bob], { playing: true }, 'after play');
    assert.ok(playing.t > 0.5, `playing, at ${playing.t}`);
    await H.waitText(bob, '#player-status', /^Playing · alice/);

    // bob pauses.
    await bob.evaluate(() => document.getElementById('player-video').pause());
    const paused = await inStep([alice, bob], { playing: false }, 'after pause');
    assert.ok(paused.t > playing.t, `paused at ${paused.t}, after ${playing.t}`);
    await H.waitText(alice, '#player-status', /^Paused · bob/);

    // alice seeks to 20 s while paused, then bob plays from there.
    await alice.evaluate(() => { document.getElementById('player-video').currentTime = 20; });
    await inStep([bob, alice], { playing: false, near: 20 }, 'after seek');
    await bob.evaluate(() => document.getElementById('player-video').play());
    const resumed = await inStep([alice, bob], { playing: true }, 'after the second play');
    assert.ok(resumed.t >= 20, `resumed at ${resumed.t}`);

    // carol comes in late and lands where the others are.
    const carol = await s.openRoom('carol', { room, name: 'carol' });
    const late = await inStep([alice, carol, bob], { playing: true }, 'late joiner');
    assert.ok(late.t > 20.5, `late joiner at ${late.t}`);

    fs.mkdirSync(H.RESULTS, { recursive: true });
    await alice.screenshot({ path: path.join(H.RESULTS, 'together-player.png') });

    // Each page sent what its user did and nothing more: applying the
    // others' changes (and correcting drift) sent nothing back.
    const sent = async () => {
      const n = [];
      for (const p of [alice, bob, carol]) n.push((await media(p)).sent);
      return n;
    };
    assert.deepEqual(await sent(), [3, 2, 0], 'player actions sent by alice (load, play, seek), bob (pause, play), carol');

    // Played to the end, every page stays at the end: none starts again.
    await carol.evaluate(() => { document.getElementById('player-video').currentTime = 29; });
    for (const p of [alice, bob, carol]) await p.waitForFunction(() => document.getElementById('player-video').ended, null, { timeout: 10000 });
    await new Promise((res) => setTimeout(res, 1500)); // three sync rounds in which a page could restart
    for (const p of [alice, bob, carol]) {
      const m = await media(p);
      assert.ok(m.paused && m.t > 29.5, `${p.label} after the end: ${JSON.stringify(m)}`);
    }
    assert.deepEqual(await sent(), [3, 2, 1], 'the seek to 29 s was the only action since');
  }));

  test('two pages join a call and receive each other\'s video; mute and leave work', T, H.withSession(getEnv, async (s) => {
    const room = 'huddle';
    const alice = await s.openRoom('alice', { room, name: 'ali' });
    const bob = await s.openRoom('bob', { room, name: 'bobby' });
    await alice.locator('#player-demo:enabled').click();

    await alice.locator('#call-join:enabled').click();
    await alice.locator('#call-tiles .call-tile.is-me').waitFor();
    await H.waitText(bob, '#call-status', /^1 in the call\.$/);
    await bob.locator('#call-join:enabled').click();

    const aliceId = await H.userId(alice);
    const bobId = await H.userId(bob);
    for (const [page, peer, name] of [[alice, bobId, 'bobby'], [bob, aliceId, 'ali']]) {
      const remote = page.locator(`#call-tiles .call-tile[data-user-id="${peer}"]`);
      await remote.waitFor();
      assert.equal(await remote.locator('.call-tile-name').textContent(), name);
      // Connected, and the remote video is being decoded.
      const r = await remoteVideo(page, peer);
      assert.equal(r.state, 'connected');
      assert.ok(r.frames > 0 && r.width > 0, JSON.stringify(r));
    }
    await H.waitText(alice, '#call-status', /^You and 1 other in the call\.$/);

    // Mute turns the microphone's track off, and back on.
    await alice.locator('#call-mute').click();
    await H.waitText(alice, '#call-mute', /^Unmute$/);
    assert.deepEqual(await alice.evaluate(() => window.together.call.stream.getAudioTracks().map((t) => t.enabled)), [false]);
    await alice.locator('#call-mute').click();
    assert.deepEqual(await alice.evaluate(() => window.together.call.stream.getAudioTracks().map((t) => t.enabled)), [true]);

    // Let the clip play a little for the picture.
    await alice.evaluate(() => document.getElementById('player-video').play());
    await inStep([alice, bob], { playing: true }, 'player beside the call');
    fs.mkdirSync(H.RESULTS, { recursive: true });
    await alice.screenshot({ path: path.join(H.RESULTS, 'together-call.png') });

    // bob leaves the call: his tile goes from alice's page, his camera stops.
    await bob.locator('#call-leave').click();
    await alice.locator(`#call-tiles .call-tile[data-user-id="${bobId}"]`).waitFor({ state: 'detached' });
    await H.waitText(alice, '#call-status', /Waiting for others/);
    assert.equal(await bob.evaluate(() => window.together.call.stream), null);
    assert.equal(await bob.locator('#call-tiles .call-tile').count(), 0);
    await bob.locator('#call-join:visible').waitFor();

    // alice closing the tab ends her side too: bob sees nobody in the call.
    await alice.close();
    await H.waitText(bob, '#call-status', /^Nobody is in the call\.$/);
  }));

  test('a full call says so on the page', T, H.withSession(getEnv, async (s) => {
    const room = 'packed';
    const url = getEnv().server.url;
    const call = (sock, event, payload) => new Promise((resolve, reject) => {
      sock.timeout(5000).emit(event, payload, (err, res) => (err ? reject(err) : resolve(res)));
    });
    const socks = [];
    try {
      for (let i = 0; i < 6; i++) {
        const sock = io(url + '/chat', { transports: ['websocket'], reconnection: false, forceNew: true });
        socks.push(sock);
        assert.equal((await call(sock, 'register', { name: `packed${i}` })).ok, true);
        assert.equal((await call(sock, 'join', { room })).ok, true);
        assert.deepEqual(await call(sock, 'call', { room, active: true }), { ok: true });
      }
      const page = await s.openRoom('late', { room, name: 'latecaller' });
      await H.waitText(page, '#call-status', /^The call is full: 6 people at most\.$/);
      await page.locator('#call-join:enabled').click();
      await page.locator('#error[data-code="call_full"]').waitFor();
      assert.equal(await page.evaluate(() => window.together.call.stream), null, 'no camera was asked for');
      // One leaves: there is room again.
      socks[0].disconnect();
      await H.waitText(page, '#call-status', /^5 in the call\.$/);
    } finally {
      for (const sock of socks) sock.close();
    }
  }));
});
