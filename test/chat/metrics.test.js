// GET /metrics scraped before and after real clients connect, chat and
// leave: the figures move as they should, and the endpoint can be moved to
// a listener of its own or turned off.
'use strict';
const test = require('node:test');
const assert = require('node:assert/strict');
const { within } = require('../lib/wait');
const server = require('../lib/server');
const clients = { 2: require('sio-client-2'), 4: require('sio-client-4') };

function connect(url, gen, transports) {
  const s = clients[gen](url + '/chat', { forceNew: true, transports, reconnection: false });
  return within(new Promise((res, rej) => {
    s.once('connect', () => res(s));
    s.once('connect_error', rej);
  }), `connect ${gen}/${transports}`);
}

const call = (s, ev, p) => within(new Promise((res) => s.emit(ev, p, res)), `ack of ${ev}`);

// scrape returns the samples of the text format as {'name{labels}': value}.
async function scrape(base) {
  const res = await fetch(base + '/metrics');
  assert.equal(res.status, 200);
  assert.match(res.headers.get('content-type'), /^text\/plain/);
  const out = {};
  for (const line of (await res.text()).split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const i = line.lastIndexOf(' ');
    out[line.slice(0, i)] = Number(line.slice(i + 1));
  }
  return out;
}

const v = (m, key) => m[key] ?? 0;

test('metrics follow real clients', async () => {
  const srv = await server.start();
  try {
    const m0 = await scrape(srv.url);
    for (const k of ['go_goroutines', 'process_resident_memory_bytes', 'socketio_pending_connections']) {
      assert.ok(k in m0, `${k} missing`);
    }

    const ws = await connect(srv.url, 4, ['websocket']);
    const poll = await connect(srv.url, 4, ['polling']);
    const legacy = await connect(srv.url, 2, ['polling']);
    const all = [ws, poll, legacy];
    for (const [i, s] of all.entries()) {
      assert.equal((await call(s, 'register', { name: `metric${i}` })).ok, true);
      assert.equal((await call(s, 'join', { room: 'metrics' })).ok, true);
    }
    const got = within(new Promise((res) => poll.once('message', res)), 'message at the polling client');
    assert.equal((await call(ws, 'message', { room: 'metrics', text: 'counted', clientId: 'm1' })).ok, true);
    await got;
    assert.equal((await call(ws, 'no-such-event', {})).error.code, 'unknown_event');
    await fetch(srv.url + '/socket.io/?EIO=4&transport=polling&sid=nope');

    const m1 = await scrape(srv.url);
    const d = (key) => v(m1, key) - v(m0, key);
    assert.equal(d('socketio_engine_sessions{protocol="4",transport="websocket"}'), 1);
    assert.equal(d('socketio_engine_sessions{protocol="4",transport="polling"}'), 1);
    assert.equal(d('socketio_engine_sessions{protocol="3",transport="polling"}'), 1);
    assert.equal(d('socketio_engine_handshakes_total{protocol="4",transport="websocket"}'), 1);
    assert.equal(d('socketio_engine_handshakes_total{protocol="3",transport="polling"}'), 1);
    assert.equal(d('socketio_engine_request_errors_total{code="1",status="400"}'), 1);
    assert.equal(v(m1, 'socketio_namespace_sockets{namespace="/chat"}'), 3);
    assert.equal(d('socketio_namespace_connections_total{namespace="/chat"}'), 3);
    assert.equal(v(m1, 'socketio_rooms{namespace="/chat"}'), 1);
    assert.equal(v(m1, 'socketio_room_members{namespace="/chat"}'), 3);
    assert.equal(d('socketio_events_received_total{event="register",namespace="/chat"}'), 3);
    assert.equal(d('socketio_events_received_total{event="join",namespace="/chat"}'), 3);
    assert.equal(d('socketio_events_received_total{event="message",namespace="/chat"}'), 1);
    assert.equal(d('socketio_events_received_total{event="(other)",namespace="/chat"}'), 1);
    assert.equal(d('socketio_events_sent_total{event="message",namespace="/chat"}'), 1, 'one broadcast');
    assert.equal(d('socketio_events_sent_total{event="joined",namespace="/chat"}'), 3);
    assert.equal(d('chat_history_operation_seconds_count{operation="append"}'), 1);
    assert.ok(d('chat_history_operation_seconds_count{operation="recent"}') >= 3, 'a history read per join');
    assert.ok(d('socketio_engine_received_bytes_total') > 0);
    assert.ok(d('socketio_engine_sent_bytes_total') > 0);
    // At least the 3 registers, 3 joins, the message and the unknown event
    // came in as packets, and at least their 8 answers went out.
    assert.ok(d('socketio_engine_received_packets_total') >= 8, `${d('socketio_engine_received_packets_total')} packets in`);
    assert.ok(d('socketio_engine_sent_packets_total') >= 8, `${d('socketio_engine_sent_packets_total')} packets out`);
    // No label for a name a client made up.
    assert.ok(!Object.keys(m1).some((k) => k.includes('no-such-event')));

    for (const s of all) s.close();
    const sessions = (m) => ['4",transport="websocket', '4",transport="polling', '3",transport="polling']
      .map((l) => v(m, `socketio_engine_sessions{protocol="${l}"}`)).join(' ');
    let m2;
    for (const deadline = Date.now() + 5000; ; await new Promise((r) => setTimeout(r, 50))) { // bounded scrape loop
      m2 = await scrape(srv.url);
      if (v(m2, 'socketio_namespace_sockets{namespace="/chat"}') === 0 && v(m2, 'socketio_rooms{namespace="/chat"}') === 0 &&
        sessions(m2) === sessions(m0)) break;
      assert.ok(Date.now() < deadline, `not back after the clients left: sessions ${sessions(m2)}, was ${sessions(m0)}`);
    }
    assert.ok(v(m2, 'socketio_engine_closes_total{reason="transport_close"}') >= 3 - 1, 'closes counted');
  } finally {
    await srv.stop();
  }
});

test('--metrics-addr moves /metrics to its own listener; --metrics=false turns it off', async () => {
  const mport = await server.freePort();
  const moved = await server.start({ args: ['--metrics-addr', `127.0.0.1:${mport}`] });
  try {
    assert.equal((await fetch(moved.url + '/metrics')).status, 404);
    const res = await fetch(`http://127.0.0.1:${mport}/metrics`);
    assert.equal(res.status, 200);
    assert.match(await res.text(), /^socketio_engine_upgrades_total 0$/m);
  } finally {
    await moved.stop();
  }
  const off = await server.start({ args: ['--metrics=false'] });
  try {
    assert.equal((await fetch(off.url + '/metrics')).status, 404);
  } finally {
    await off.stop();
  }
});
