#!/usr/bin/env node
// Connection state recovery with a real socket.io-client, against the server
// set up by realtime/recovery_clients_test.go, which starts this script and
// checks its output:
//
//   node test/clients/recovery.js <url> <v3|v4> <websocket|polling>
//
// The client connects, gets one "news" event (so it has an offset), and asks
// the server to drop its transport ("drop"). Once disconnected it asks the
// test server over HTTP whether the server is done with the disconnect
// (GET /kept/<socket id>: the server has broadcast more news to the room
// meanwhile), then connects again. It prints one JSON line: what it saw
// (ids, recovered, the news in order, the server's view after coming back).
// Every wait has a timeout; nothing is synchronised by sleeping.
'use strict';

const { once, call } = require('./wait');

const [url, gen, mode] = process.argv.slice(2);
if (!url || !gen || !mode) {
  process.stderr.write('usage: node test/clients/recovery.js <url> <v3|v4> <websocket|polling>\n');
  process.exit(64);
}
const io = require(gen === 'v3' ? 'sio-client-3' : 'sio-client-4');
const version = require((gen === 'v3' ? 'sio-client-3' : 'sio-client-4') + '/package.json').version;

function out(obj) {
  process.stdout.write(JSON.stringify(obj) + '\n');
}

async function main() {
  const socket = io(url, {
    transports: [mode],
    // The test reconnects by hand once the server is done with the drop,
    // so the order of events does not depend on the reconnection delay.
    reconnection: false,
  });
  const news = [];
  socket.on('news', (n) => news.push(n));
  await once(socket, 'connect', 'the first connect');
  const firstId = socket.id;
  // The first event: after it the client has an offset to come back with.
  while (news.length < 1) await once(socket, 'news', 'the first news');

  const dropped = once(socket, 'disconnect', 'the disconnect');
  await call(socket, 'drop');
  const [reason] = await dropped;

  const res = await fetch(`${url}/kept/${encodeURIComponent(firstId)}`);
  if (res.status !== 200) throw new Error(`GET /kept: ${res.status} ${await res.text()}`);
  const kept = await res.json();

  const back = once(socket, 'connect', 'the reconnect');
  socket.connect();
  await back;
  const secondId = socket.id;
  const [view] = await call(socket, 'whoami');
  socket.disconnect();
  out({
    type: 'result',
    version,
    firstId,
    secondId,
    recovered: socket.recovered === true,
    reason,
    kept,
    news,
    view,
  });
}

main().then(
  () => process.exit(0),
  (err) => {
    out({ type: 'fatal', details: String((err && err.stack) || err) });
    process.exit(1);
  },
);
