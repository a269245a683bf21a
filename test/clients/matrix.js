#!/usr/bin/env node
// Runs the real socket.io-client generations (2.x, 3.x, 4.x, installed as the
// npm aliases sio-client-2/3/4) against a server set up by
// realtime/clients_test.go, which starts this script and checks its output.
//
//   node test/clients/matrix.js <url>             the generation x transport matrix
//   node test/clients/matrix.js <url> --shutdown  the Server.Close() case
//
// Output is JSON lines on stdout:
//   {"type":"result","gen":"v4","mode":"polling","check":"ack","pass":true,"details":"...","data":{...}}
// and, with --shutdown, {"type":"ready",...} lines then {"type":"all-ready"},
// after which the Go side closes the server and the script reports how each
// client saw it. Every wait has a timeout (STEP_MS) so a hang shows up as a
// failed check naming what it waited for; nothing is synchronised by sleeping.
'use strict';

const { isDeepStrictEqual } = require('node:util');

const { STEP_MS, timeoutError, once, call } = require('./wait');

const CLIENTS = {
  v2: require('sio-client-2'),
  v3: require('sio-client-3'),
  v4: require('sio-client-4'),
};
const VERSIONS = {
  v2: require('sio-client-2/package.json').version,
  v3: require('sio-client-3/package.json').version,
  v4: require('sio-client-4/package.json').version,
};
// Transport modes: WebSocket only, polling only, and the default (polling,
// then upgrade to WebSocket).
const MODES = {
  websocket: ['websocket'],
  polling: ['polling'],
  upgrade: undefined,
};

const [url, ...flags] = process.argv.slice(2);
if (!url) {
  process.stderr.write('usage: node test/clients/matrix.js <url> [--shutdown]\n');
  process.exit(64);
}

function out(obj) {
  process.stdout.write(JSON.stringify(obj) + '\n');
}

// --- helpers -------------------------------------------------------------

// connected resolves once socket has joined its namespace, and rejects on a
// connect_error (2.x reports middleware refusals as "error").
function connected(socket, what) {
  if (socket.connected) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const cleanup = () => {
      clearTimeout(timer);
      socket.off('connect', onConnect);
      socket.off('connect_error', onError);
      socket.off('error', onError);
    };
    const timer = setTimeout(() => {
      cleanup();
      reject(timeoutError(what, STEP_MS));
    }, STEP_MS);
    function onConnect() {
      cleanup();
      resolve();
    }
    function onError(err) {
      cleanup();
      reject(new Error(`${what}: connect error: ${(err && err.message) || JSON.stringify(err)}`));
    }
    socket.on('connect', onConnect);
    socket.on('connect_error', onError);
    socket.on('error', onError);
  });
}

function assert(cond, msg) {
  if (!cond) throw new Error(msg);
}

function eq(got, want, what) {
  assert(isDeepStrictEqual(got, want), `${what}: got ${JSON.stringify(got)}, want ${JSON.stringify(want)}`);
}

function toBuffer(x) {
  if (Buffer.isBuffer(x)) return x;
  if (x instanceof ArrayBuffer) return Buffer.from(x);
  if (ArrayBuffer.isView(x)) return Buffer.from(x.buffer, x.byteOffset, x.byteLength);
  throw new Error(`expected binary data, got ${typeof x} ${JSON.stringify(x)}`);
}

// --- clients -------------------------------------------------------------

// open creates a client with its own Manager (forceNew) in namespace "/"
// with the given token: auth for 3.x/4.x, query for 2.x.
function open(gen, mode, token, extra = {}) {
  const opts = { forceNew: true, reconnection: false, timeout: STEP_MS, ...extra };
  if (MODES[mode]) opts.transports = MODES[mode];
  if (gen === 'v2') opts.query = { token };
  else opts.auth = { token };
  return CLIENTS[gen](url, opts);
}

// openNamespace opens nsp on the Manager of an existing socket.
function openNamespace(gen, socket, nsp, token) {
  const opts = gen === 'v2' ? { query: { token } } : { auth: { token } };
  return socket.io.socket(nsp, opts);
}

function closeAll(sockets) {
  for (const s of sockets) {
    try {
      s.io.reconnection(false);
      s.disconnect();
      if (s.io.engine) s.io.engine.close();
    } catch (_) {
      // best effort
    }
  }
}

// --- the matrix ----------------------------------------------------------

async function combo(gen, mode) {
  const tag = `${gen}/${mode}`;
  const ctx = {};
  const sockets = [];
  const track = (s) => {
    sockets.push(s);
    return s;
  };
  // ids of the sockets opened so far, reported with every check so the Go
  // side can cross-check even after a failure. (Clients clear socket.id on
  // disconnect, so remember them.)
  const known = {};
  const ids = () => {
    for (const [k, name] of [['a', 'mainId'], ['aCustom', 'customId']]) {
      if (ctx[k] && ctx[k].id) known[name] = ctx[k].id;
    }
    return { ...known };
  };

  const run = async (check, fn) => {
    const t0 = Date.now();
    let line;
    try {
      const data = (await fn()) || {};
      line = { pass: true, details: data.details || 'ok', data: { ...ids(), ...data } };
      delete line.data.details;
    } catch (err) {
      line = { pass: false, details: err.message, data: ids() };
    }
    out({ type: 'result', gen, mode, check, ms: Date.now() - t0, ...line });
  };

  try {
    // 1. Main and custom namespace, each with its own token.
    await run('connect', async () => {
      const mainToken = `${tag}/main`;
      const customToken = `${tag}/custom`;
      ctx.a = track(open(gen, mode, mainToken));
      await connected(ctx.a, `${tag}: connect to "/"`);
      ctx.aCustom = track(openNamespace(gen, ctx.a, '/custom', customToken));
      await connected(ctx.aCustom, `${tag}: connect to "/custom"`);

      const [main] = await call(ctx.a, 'whoami');
      const [custom] = await call(ctx.aCustom, 'whoami');
      const errs = [];
      const soft = (...args) => {
        try {
          eq(...args);
        } catch (err) {
          errs.push(err.message);
        }
      };
      soft(main.nsp, '/', 'server namespace of main socket');
      soft(custom.nsp, '/custom', 'server namespace of custom socket');
      soft(main.id, ctx.a.id, 'server id of main socket');
      soft(custom.id, ctx.aCustom.id, 'server id of custom socket');
      // 2.x sends its token as a query parameter, which the server shows
      // as auth too.
      soft(main.auth, { token: mainToken }, 'auth the server saw in "/"');
      soft(custom.auth, { token: customToken }, 'auth the server saw in "/custom"');
      soft(main.protocol, gen === 'v2' ? 3 : 4, 'Engine.IO protocol the server saw in "/"');
      soft(custom.protocol, gen === 'v2' ? 3 : 4, 'Engine.IO protocol the server saw in "/custom"');
      assert(errs.length === 0, errs.join('; '));
      return {
        details: `client ${VERSIONS[gen]}: ids ${main.id} ${custom.id}, auth ${JSON.stringify(main.auth)} ${JSON.stringify(custom.auth)}`,
        mainId: main.id,
        customId: custom.id,
        mainToken,
        customToken,
      };
    });

    // Transport as both sides see it; in the default mode, after the upgrade.
    await run('transport', async () => {
      assert(ctx.a && ctx.a.connected, 'not connected');
      const engine = ctx.a.io.engine;
      const want = mode === 'polling' ? 'polling' : 'websocket';
      if (mode === 'upgrade' && engine.transport.name !== 'websocket') {
        await once(engine, 'upgrade', `${tag}: the upgrade to websocket`);
      }
      eq(ctx.a.io.engine.transport.name, want, 'socket.io.engine.transport.name');
      const [main] = await call(ctx.a, 'whoami');
      eq(main.transport, want, 'transport the server sees');
      return { details: `client ${engine.transport.name}, server ${main.transport}`, transport: engine.transport.name, serverTransport: main.transport };
    });

    // 2. Acknowledgement with data derived from the arguments.
    await run('ack', async () => {
      assert(ctx.a && ctx.a.connected, 'not connected');
      const [res, extra] = await call(ctx.a, 'ack', { n: 21, s: `héllo ${tag}` }, 'second');
      eq(res, { double: 42, upper: `HÉLLO ${tag.toUpperCase()}`, args: 2, id: ctx.a.id }, 'ack payload');
      eq(extra, 'second-ack', 'second ack argument');
      return { details: JSON.stringify(res) };
    });

    // 3. Binary: the server answers with the bytes reversed, as an ack and as
    // an event with the bytes nested in an object.
    await run('binary', async () => {
      assert(ctx.a && ctx.a.connected, 'not connected');
      const input = Buffer.alloc(1000);
      for (let i = 0; i < input.length; i++) input[i] = (i * 7 + 3) & 0xff;
      const want = Buffer.from(input).reverse();
      const back = once(ctx.a, 'binary-back', `${tag}: "binary-back" event`);
      const [ackBytes, ackLen] = await call(ctx.a, 'binary', input, { label: 'bytes' });
      assert(toBuffer(ackBytes).equals(want), `ack bytes are not the input reversed (got ${toBuffer(ackBytes).length} bytes)`);
      eq(ackLen, input.length, 'length the server read');
      const [ev] = await back;
      eq(ev.label, 'bytes', 'label of binary-back');
      assert(toBuffer(ev.data).equals(want), 'binary-back bytes are not the input reversed');
      return { details: `${input.length} bytes reversed by the server (ack and event)`, binaryLen: input.length };
    });

    // 4. Room broadcast: a and b join "r1", c stays out. a shouts to the
    // room; b must get it. The server then sends a marker to c and to a
    // after the broadcast, so c (and a, which Socket.To excludes) getting the
    // marker without the shout proves they were not sent it.
    await run('room', async () => {
      assert(ctx.a && ctx.a.connected, 'not connected');
      ctx.b = track(open(gen, mode, `${tag}/member`));
      ctx.c = track(open(gen, mode, `${tag}/outsider`));
      await connected(ctx.b, `${tag}: connect of the second member`);
      await connected(ctx.c, `${tag}: connect of the outsider`);
      if (mode === 'upgrade') {
        for (const s of [ctx.b, ctx.c]) {
          if (s.io.engine.transport.name !== 'websocket') await once(s.io.engine, 'upgrade', `${tag}: upgrade of a room client`);
        }
      }
      eq(await call(ctx.a, 'join', 'r1'), [true], 'join ack of first member');
      eq(await call(ctx.b, 'join', 'r1'), [true], 'join ack of second member');

      const text = `shout from ${tag} at ${Date.now()}`;
      const leaks = [];
      const onLeakC = (p) => leaks.push(`outsider got ${JSON.stringify(p)}`);
      const onLeakA = (p) => leaks.push(`sender got its own ${JSON.stringify(p)}`);
      ctx.c.on('shout', onLeakC);
      ctx.a.on('shout', onLeakA);
      const heard = once(ctx.b, 'shout', `${tag}: the shout at the other member`);
      const markC = once(ctx.c, 'marker', `${tag}: the marker at the outsider`);
      const markA = once(ctx.a, 'marker', `${tag}: the marker at the sender`);
      try {
        eq(await call(ctx.a, 'shout', { room: 'r1', text, markerTo: [ctx.c.id] }), [true], 'shout ack');
        const [got] = await heard;
        eq(got, { text, from: ctx.a.id }, 'shout at the other member');
        eq(await markC, [text], 'marker at the outsider');
        eq(await markA, [text], 'marker at the sender');
        assert(leaks.length === 0, leaks.join('; '));
      } finally {
        ctx.c.off('shout', onLeakC);
        ctx.a.off('shout', onLeakA);
      }
      return { details: 'member got it; outsider and sender got only the later marker', members: [ctx.a.id, ctx.b.id], outsider: ctx.c.id };
    });

    // 5. Client-side disconnect() as the server sees it. The strict part
    // leaves a namespace while another one keeps the connection up: "/" of a
    // (whose "/custom" stays) and "/custom" of b (whose "/" stays). Then the
    // last socket of each connection leaves, which makes the client close the
    // transport right after the DISCONNECT packet: the server may report
    // that as "transport close" (see realtime/clients_test.go), so those ids
    // go back to the Go side separately.
    await run('disconnect', async () => {
      assert(ctx.a && ctx.a.connected && ctx.aCustom && ctx.aCustom.connected, 'not connected');
      if (!ctx.b || !ctx.b.connected) {
        ctx.b = track(open(gen, mode, `${tag}/member`));
        await connected(ctx.b, `${tag}: connect of the second client`);
      }
      ctx.bCustom = track(openNamespace(gen, ctx.b, '/custom', `${tag}/member-custom`));
      await connected(ctx.bCustom, `${tag}: connect of the second client to "/custom"`);

      const reasons = {};
      const leave = async (socket, what, probe) => {
        const id = socket.id;
        const gone = once(socket, 'disconnect', `${tag}: client-side disconnect event of ${what}`);
        socket.disconnect();
        const [reason] = await gone;
        eq(reason, 'io client disconnect', `client-side reason for ${what}`);
        if (probe) {
          const [srv] = await call(probe, 'gone', id);
          assert(srv, `server saw no disconnect of ${what} (${id})`);
          reasons[what] = srv;
        }
        return id;
      };
      const strict = [];
      for (const [socket, what, probe] of [
        [ctx.a, '"/" while "/custom" stays', ctx.aCustom],
        [ctx.bCustom, '"/custom" while "/" stays', ctx.b],
      ]) {
        strict.push(await leave(socket, what, probe));
        eq(reasons[what], 'client namespace disconnect', `server-side reason for ${what}`);
      }
      const last = [];
      last.push(await leave(ctx.aCustom, 'last socket "/custom"', ctx.b));
      for (const [s, what] of [[ctx.b, 'last socket "/"'], [ctx.c, 'outsider']]) {
        if (s && s.connected) last.push(await leave(s, what, null));
      }
      return {
        details: `server reasons: ${JSON.stringify(reasons)}; last-socket ids checked by the Go side`,
        disconnected: strict,
        lastOnConnection: last,
      };
    });
  } finally {
    closeAll(sockets);
  }
}

async function matrix() {
  for (const gen of Object.keys(CLIENTS)) {
    for (const mode of Object.keys(MODES)) {
      await combo(gen, mode);
    }
  }
}

// --- Server.Close() --------------------------------------------------------

async function shutdown() {
  const cases = [];
  for (const gen of Object.keys(CLIENTS)) {
    for (const mode of ['websocket', 'polling']) {
      const tag = `${gen}/${mode}`;
      // Reconnection stays on (quickly) so the client shows it would
      // reconnect; the draining server refuses it.
      const socket = open(gen, mode, `${tag}/shutdown`, {
        reconnection: true,
        reconnectionDelay: 50,
        reconnectionDelayMax: 100,
        randomizationFactor: 0,
      });
      cases.push({ gen, mode, tag, socket });
    }
  }
  const failed = new Map();
  await Promise.all(
    cases.map(async (c) => {
      try {
        await connected(c.socket, `${c.tag}: connect`);
        const [who] = await call(c.socket, 'whoami');
        c.id = who.id;
        eq(who.transport, c.mode, 'transport the server sees');
        // Listen now: the close comes as soon as every client is ready.
        c.disconnect = once(c.socket, 'disconnect', `${c.tag}: "disconnect" after Server.Close()`, 2 * STEP_MS);
        c.reconnect = once(c.socket.io, 'reconnect_attempt', `${c.tag}: a reconnection attempt`, 3 * STEP_MS);
        c.disconnect.catch(() => {});
        c.reconnect.catch(() => {});
        out({ type: 'ready', gen: c.gen, mode: c.mode, data: { mainId: who.id } });
      } catch (err) {
        failed.set(c, err.message);
      }
    }),
  );
  out({ type: 'all-ready' });

  await Promise.all(
    cases.map(async (c) => {
      const t0 = Date.now();
      let line;
      try {
        if (failed.has(c)) throw new Error(failed.get(c));
        const [reason] = await c.disconnect;
        eq(reason, 'transport close', 'client-side disconnect reason');
        const [attempt] = await c.reconnect;
        line = { pass: true, details: `reason "${reason}", then reconnect attempt ${attempt}`, data: { mainId: c.id } };
      } catch (err) {
        line = { pass: false, details: err.message, data: { mainId: c.id } };
      }
      out({ type: 'result', gen: c.gen, mode: c.mode, check: 'server-close', ms: Date.now() - t0, ...line });
    }),
  );
  closeAll(cases.map((c) => c.socket));
}

// ---------------------------------------------------------------------------

// Below the Go side's limits (60s and 30s), so a hang is reported from here.
const WATCHDOG_MS = flags.includes('--shutdown') ? 25000 : 55000;
setTimeout(() => {
  out({ type: 'fatal', details: `watchdog: script still running after ${WATCHDOG_MS}ms` });
  process.exit(2);
}, WATCHDOG_MS).unref();

(flags.includes('--shutdown') ? shutdown() : matrix()).then(
  () => process.exit(0),
  (err) => {
    out({ type: 'fatal', details: String((err && err.stack) || err) });
    process.exit(1);
  },
);
