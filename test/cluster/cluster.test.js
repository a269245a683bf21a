// Several nodes behind nginx, as docker-compose.yml runs them, but as real
// processes on loopback: one redis-server, three chatserver nodes in cluster
// mode (--redis) and nginx with deploy/nginx.conf. Real socket.io-client 4.x
// and 2.x users, over WebSocket and long-polling, spread over the three nodes,
// chat with each other; then one node is killed and comes back.
//
// nginx pins a client to a node by its address (hash $remote_addr), and every
// client here comes from loopback, so each one connects from an address of
// its own in 127.0.0.0/8 (an http.Agent with localAddress, which both client
// generations use for polling and WebSocket). Where a client really is comes
// from two sources: nginx's X-Served-By header for its address, and the node
// that Redis presence records for its user.
//
// Needs nginx and redis-server; without them the suite is skipped, unless
// CI=true, where it fails.
'use strict';
const { within, waitUntil, delay, STEP } = require('../lib/wait');
const { describe, test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const http = require('node:http');
const net = require('node:net');
const os = require('node:os');
const path = require('node:path');
const { createClient } = require('redis');
const io4 = require('sio-client-4');
const io2 = require('sio-client-2');
const server = require('../lib/server');
const redisServer = require('../lib/redis');

const NGINX_CONF = path.join(__dirname, '..', '..', 'deploy', 'nginx.conf');
// A dead node's names and members go within store.NodeTTL (15s) plus a sweep
// interval (5s); the suite allows twice that.
const NODE_LOSS_BOUND = 40000;
// A client that moves from a live node to another leaves its session on the
// first one, holding its name, until the Engine.IO heartbeat gives up on it:
// within ping interval + ping timeout (25s + 20s by default).
const GHOST_BOUND = 55000;
const KEY_PREFIX = 'chat:'; // app/backends.go redisKeyPrefix
const ROOM = 'cluster';
// Messages stay below chat.HistoryOnJoin (100), so that a fresh joiner's
// history holds every message of the room.
const MAX_MESSAGES = 90;

// ---------------------------------------------------------------- helpers

function which(name) {
  const dirs = (process.env.PATH || '').split(path.delimiter).concat(['/usr/sbin', '/usr/local/sbin', '/sbin']);
  for (const d of dirs) {
    const p = path.join(d, name);
    try {
      fs.accessSync(p, fs.constants.X_OK);
      return p;
    } catch {
      // not here
    }
  }
  return null;
}

const NGINX = which('nginx');
const REDIS = which('redis-server');
const missing = [!NGINX && 'nginx', !REDIS && 'redis-server'].filter(Boolean);
const CI = process.env.CI === 'true';
const skip = missing.length && !CI ? `needs ${missing.join(' and ')} (apt-get install ${missing.join(' ')})` : false;





function httpGet(url, localAddress) {
  return new Promise((resolve, reject) => {
    const req = http.get(url, { localAddress, agent: false, timeout: 3000 }, (res) => {
      res.resume();
      res.on('end', () => resolve(res));
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
  });
}

// accepts applies an event predicate; a payload of the wrong shape (a
// predicate that throws on it) is not the event awaited.
function accepts(pred, e) {
  try {
    return Boolean(pred(e.data, e));
  } catch {
    return false;
  }
}

// ---------------------------------------------------------------- clients

// Client is one chat user: a socket.io-client of the given generation and
// transports, connecting through nginx from its own loopback address. Like
// the room page it registers and joins again after every reconnect, retrying
// a name that the dead node's session still holds.
class Client {
  constructor(url, name, { gen, transports, addr }) {
    Object.assign(this, { url, name, gen, transports, addr });
    this.events = []; // {ev, data, t}
    this.waiters = [];
    this.connects = [];
    this.disconnects = [];
    this.rejoins = []; // {t, registeredAt, retries, reply}
    this.errors = [];
    this.session = 0;
    this.ready = false; // registered and in the room on the current connection
    this.room = null;
    this.me = null;
  }

  get label() {
    return `${this.name} (${this.gen}.x ${this.transports.join('+')} from ${this.addr})`;
  }

  open() {
    const io = this.gen === 2 ? io2 : io4;
    this.socket = io(this.url + '/chat', {
      forceNew: true,
      transports: this.transports,
      agent: new http.Agent({ localAddress: this.addr }),
      reconnectionDelay: 100,
      reconnectionDelayMax: 500,
      randomizationFactor: 0,
      timeout: STEP,
    });
    this.socket.on('connect', () => {
      this.connects.push(Date.now());
      this.record('connect');
      if (this.room) this.rejoin();
    });
    this.socket.on('disconnect', (reason) => {
      this.ready = false;
      this.session++;
      this.disconnects.push({ t: Date.now(), reason });
      this.record('disconnect', reason);
    });
    for (const ev of ['joined', 'left', 'message', 'mousemove']) this.socket.on(ev, (d) => this.record(ev, d));
    return this.waitFor('connect', () => true, `${this.label} to connect`);
  }

  record(ev, data) {
    const e = { ev, data, t: Date.now() };
    this.events.push(e);
    for (const w of [...this.waiters]) {
      if (w.ev === ev && accepts(w.pred, e)) {
        this.waiters.splice(this.waiters.indexOf(w), 1);
        w.resolve(e);
      }
    }
  }

  // waitFor resolves with the first event ev (at or after time since) that
  // pred accepts, recorded already or to come.
  waitFor(ev, pred, what, ms = STEP, since = 0) {
    const p0 = (d, e) => e.t >= since && pred(d, e);
    const seen = this.events.find((e) => e.ev === ev && accepts(p0, e));
    if (seen) return Promise.resolve(seen);
    let w;
    const p = new Promise((resolve) => {
      w = { ev, pred: p0, resolve };
      this.waiters.push(w);
    });
    return within(p, `${this.name}: ${what}`, ms)
      .catch((e) => {
        const last = this.events.filter((x) => x.ev === ev).pop();
        throw new Error(`${e.message} (last ${ev} received: ${last ? JSON.stringify(last.data) : 'none'})`);
      })
      .finally(() => {
        const i = this.waiters.indexOf(w);
        if (i >= 0) this.waiters.splice(i, 1);
      });
  }

  received(ev, pred) {
    return this.events.filter((e) => e.ev === ev && accepts((d) => pred(d), e));
  }

  call(ev, payload, ms = STEP) {
    return within(new Promise((res) => this.socket.emit(ev, payload, res)), `${this.name}: ack of ${ev}`, ms);
  }

  async register() {
    const r = await this.call('register', { name: this.name });
    assert.equal(r.ok, true, `${this.label} register: ${JSON.stringify(r)}`);
    this.me = { id: r.id, name: r.name };
    return r;
  }

  async join(room) {
    const j = await this.call('join', { room });
    assert.equal(j.ok, true, `${this.label} join: ${JSON.stringify(j)}`);
    this.room = room;
    this.ready = true;
    this.firstJoin = j;
    return j;
  }

  // rejoin runs on every reconnect: register again (the old session may
  // still hold the name until its node's presence expires), then join.
  async rejoin() {
    const session = this.session;
    const started = Date.now();
    let retries = 0;
    try {
      let r;
      for (;;) {
        r = await this.call('register', { name: this.name });
        if (session !== this.session) return;
        if (r.ok) break;
        if (r.error && r.error.code === 'name_taken' && Date.now() - started < GHOST_BOUND) {
          retries++;
          await delay(200); // paced retry, bounded above
          continue;
        }
        if (r.error && r.error.code === 'rate_limited' && Date.now() - started < GHOST_BOUND) {
          // Register attempts are limited to 1/s after a burst of 5.
          retries++;
          await delay(1000);
          continue;
        }
        throw new Error(`re-register answered ${JSON.stringify(r)}`);
      }
      const registeredAt = Date.now();
      this.me = { id: r.id, name: r.name };
      const j = await this.call('join', { room: this.room });
      if (session !== this.session) return;
      if (!j.ok) throw new Error(`re-join answered ${JSON.stringify(j)}`);
      this.ready = true;
      const info = { t: Date.now(), started, registeredAt, retries, reply: j, me: this.me };
      this.rejoins.push(info);
      this.record('rejoined', info);
    } catch (e) {
      if (session === this.session) {
        this.errors.push(`${this.label}: ${e.message}`);
        this.record('rejoin_error', e.message);
      }
    }
  }

  close() {
    if (this.socket) this.socket.close();
  }
}

// ---------------------------------------------------------------- the suite

describe('cluster: three nodes behind nginx', { skip }, () => {
  const tmp = [];
  let redis; // the redis-server process
  let redisPort;
  let rdb; // a Redis client to read presence
  let nginx;
  let url; // nginx
  const nodes = []; // {srv, id, port, addr, dataDir}; nodes[0] is the one that dies
  const clients = [];
  const pools = new Map(); // node addr -> unused client addresses routed to it
  const acked = new Map(); // message id -> message, every message acked to its sender
  let sent = 0;

  const mkdtemp = (prefix) => {
    const d = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
    fs.chmodSync(d, 0o755); // nginx workers may run as another user
    tmp.push(d);
    return d;
  };

  const nodeIdOf = (srv) => {
    const m = /msg="cluster mode".* node=(\S+)/.exec(srv.output());
    assert.ok(m, 'node ID not in the server log:\n' + srv.output());
    return m[1];
  };

  async function startNode(opts = {}) {
    // nginx forwards from loopback: its X-Forwarded-* are believed, as a
    // deployment configures it.
    const args = ['--redis', `redis://127.0.0.1:${redisPort}/0`, '--trusted-proxies', '127.0.0.1'];
    const srv = await server.start({ ...opts, args });
    return { srv, id: nodeIdOf(srv), port: srv.port, addr: `127.0.0.1:${srv.port}`, dataDir: srv.dataDir };
  }

  // routeOf asks nginx, from addr, which node it sends that address to.
  async function routeOf(addr) {
    const res = await httpGet(url + '/readyz', addr);
    const served = String(res.headers['x-served-by'] || '');
    return served.split(',').pop().trim();
  }

  // nodeOf reads, from Redis presence, the node a user joined the room through.
  async function nodeOf(c) {
    const v = await rdb.hGet(`${KEY_PREFIX}room:${ROOM}`, c.me.id);
    return v ? JSON.parse(v).node : null;
  }

  const nodeById = (id) => nodes.find((n) => n.id === id);

  // takeAddr hands out a client address that nginx routes to node;
  // peekAddr returns one without using it up.
  function peekAddr(node) {
    const pool = pools.get(node.addr);
    assert.ok(pool && pool.length, `no client address left that nginx routes to ${node.addr}`);
    return pool[0];
  }

  function takeAddr(node) {
    const addr = peekAddr(node);
    pools.get(node.addr).shift();
    return addr;
  }

  async function newClient(name, node, gen, transports) {
    const c = new Client(url, name, { gen, transports, addr: takeAddr(node) });
    clients.push(c);
    c.home = node;
    await c.open();
    return c;
  }

  async function send(c, text) {
    sent++;
    const r = await c.call('message', { room: ROOM, text, clientId: `${c.name}-${sent}` });
    assert.equal(r.ok, true, `${c.label} message: ${JSON.stringify(r)}`);
    acked.set(r.message.id, r.message);
    return r.message;
  }

  // everyoneGets waits until each of the clients received message m.
  const everyoneGets = (cs, m) =>
    Promise.all(cs.map((c) => c.waitFor('message', (d) => d.id === m.id, `message ${m.id} from ${m.from.name}`)));

  // cursorsReach moves from's cursor until every client in to has seen it
  // with from's name (mousemove is volatile: a polling client between two
  // requests drops it, so one event is not enough).
  async function cursorsReach(from, to) {
    const x = Math.round(Math.random() * 1000) / 1000;
    const seen = (c) => c.received('mousemove', (d) => d.id === from.me.id && d.x === x).length > 0;
    await waitUntil(
      () => {
        if (to.every(seen)) return true;
        from.socket.emit('mousemove', { room: ROOM, x, y: 0.5 });
        return false;
      },
      `${from.name}'s cursor to reach ${to.filter((c) => !seen(c)).map((c) => c.name)}`,
      STEP,
      60, // under the 30/s cursor rate limit
    );
    for (const c of to) {
      const [e] = c.received('mousemove', (d) => d.id === from.me.id && d.x === x);
      assert.deepEqual(e.data, { id: from.me.id, name: from.name, room: ROOM, x, y: 0.5 }, `${c.name} got ${from.name}'s cursor`);
    }
  }

  before(async () => {
    if (missing.length) throw new Error(`CI=true but ${missing.join(' and ')} missing`);

    // Redis, on loopback only, without persistence.
    const r = await redisServer.start();
    redis = r;
    redisPort = r.port;
    rdb = createClient({ url: `redis://127.0.0.1:${redisPort}/0` });
    rdb.on('error', () => {}); // reconnects by itself; calls fail meanwhile
    await rdb.connect();

    for (let i = 0; i < 3; i++) nodes.push(await startNode());
    assert.equal(new Set(nodes.map((n) => n.id)).size, 3, 'node IDs are unique');

    // nginx with deploy/nginx.conf itself: the prefix holds a link to it and
    // the two files it includes from its own directory.
    const ndir = mkdtemp('chat-cluster-nginx-');
    const port = await server.freePort();
    fs.symlinkSync(NGINX_CONF, path.join(ndir, 'nginx.conf'));
    fs.writeFileSync(
      path.join(ndir, 'upstream.conf'),
      nodes.map((n) => `server ${n.addr} max_fails=1 fail_timeout=5s;\n`).join(''),
    );
    fs.writeFileSync(path.join(ndir, 'listen.conf'), `listen 127.0.0.1:${port};\n`);
    url = `http://127.0.0.1:${port}`;
    nginx = await server.startProcess({
      name: 'nginx',
      cmd: NGINX,
      args: ['-p', ndir + '/', '-c', path.join(ndir, 'nginx.conf'), '-g', `daemon off; pid ${path.join(ndir, 'nginx.pid')};`],
      logFile: path.join(ndir, 'output.log'),
      ready: async () => {
        const res = await httpGet(url + '/nginx-healthz');
        if (res.statusCode !== 200) throw new Error('nginx-healthz ' + res.statusCode);
      },
    });

    // Client addresses, sorted by the node nginx routes each to.
    for (const n of nodes) pools.set(n.addr, []);
    for (let i = 10; i < 250 && [...pools.values()].some((p) => p.length < 6); i++) {
      const addr = `127.0.0.${i}`;
      const to = await routeOf(addr);
      assert.ok(pools.has(to), `nginx sent ${addr} to ${JSON.stringify(to)}`);
      pools.get(to).push(addr);
    }
    for (const [n, p] of pools) assert.ok(p.length >= 6, `too few client addresses route to ${n}: ${p}`);
  });

  after(async () => {
    for (const c of clients) c.close();
    const bounded = (p, ms) => Promise.race([p, delay(ms)]);
    if (rdb) await bounded(rdb.quit().catch(() => {}), 2000);
    await Promise.all(nodes.map((n) => n.srv.stop()));
    if (nginx) await nginx.stop();
    if (redis) await redis.stop();
    for (const d of [...tmp, ...nodes.map((n) => n.dataDir)]) fs.rmSync(d, { recursive: true, force: true });
  });

  // The users of the first node are the ones that lose it.
  const users = {};
  const all = () => Object.values(users);
  const others = (c) => all().filter((x) => x !== c);

  test('users on three nodes register, join, chat and see each other’s cursors', { timeout: 60000 }, async () => {
    const [A, B, C] = nodes;
    const spec = [
      ['alice', A, 4, ['websocket']],
      ['bob', A, 2, ['polling']],
      ['carol', B, 4, ['polling']],
      ['dave', B, 2, ['websocket']],
      ['erin', C, 4, ['polling', 'websocket']],
      ['fred', C, 2, ['polling', 'websocket']],
    ];
    for (const [name, node, gen, transports] of spec) users[name] = await newClient(name, node, gen, transports);
    for (const c of all()) await c.register();

    // Names are unique across the cluster, ignoring case.
    for (const [name, node] of [['ALICE', B], ['Carol', C], ['erin', A]]) {
      const dup = await newClient(name, node, 4, ['websocket']);
      const r = await dup.call('register', { name });
      assert.equal(r.ok, false, `${name} registered twice`);
      assert.equal(r.error.code, 'name_taken');
      dup.close();
    }

    // Each joiner sees those before it; they are told it joined.
    const joined = [];
    for (const c of all()) {
      const announced = joined.map((x) =>
        x.waitFor('joined', (d) => d.user.id === c.me.id, `joined of ${c.name}`).then((e) => e.data),
      );
      const j = await c.join(ROOM);
      joined.push(c);
      assert.deepEqual(j.members.map((m) => m.name).sort(), joined.map((x) => x.name).sort());
      assert.ok(j.members.every((m) => m.id === all().find((x) => x.name === m.name).me.id));
      for (const ev of await Promise.all(announced)) assert.deepEqual(ev, { room: ROOM, user: c.me });
    }

    // They are where nginx says it sends their address: two on each node.
    for (const c of all()) {
      assert.equal(await routeOf(c.addr), c.home.addr, `nginx routes ${c.label} to ${c.home.addr}`);
      assert.equal(await nodeOf(c), c.home.id, `${c.label} is present through node ${c.home.addr}`);
    }
    assert.equal(new Set(all().map((c) => c.home.id)).size, 3);

    // Chat both ways between every pair: each message reaches all the others.
    for (const c of all()) {
      const m = await send(c, `hello from ${c.name}`);
      assert.deepEqual(m.from, c.me);
      const got = await everyoneGets(others(c), m);
      for (const e of got) assert.deepEqual(e.data, m);
    }
    for (const c of all()) {
      assert.equal(c.received('message', (d) => d.from.id === c.me.id).length, 0, `${c.name} got its own message back`);
    }

    // Cursors, with names, across nodes.
    for (const c of all()) await cursorsReach(c, others(c));

    // The clients that start with polling upgrade to WebSocket: the upgrade
    // request came from the same address, so it reached the same node.
    for (const c of [users.erin, users.fred]) {
      await waitUntil(() => c.socket.io.engine.transport.name === 'websocket', `${c.label} to upgrade`, STEP);
    }
  });

  const figures = {};

  test('a node is killed mid-conversation: its users come back through nginx, no acked message is lost', { timeout: 120000 }, async () => {
    const [A] = nodes;
    const victims = all().filter((c) => c.home === A);
    const survivors = all().filter((c) => c.home !== A);
    assert.deepEqual(victims.map((c) => c.name), ['alice', 'bob']);
    const oldIds = new Map(victims.map((c) => [c, c.me.id]));

    // Conversation: alice (on the doomed node), carol and erin keep talking.
    let talking = true;
    const failures = [];
    const pending = new Set(); // messages sent and not answered yet
    const talkers = [users.alice, users.carol, users.erin].map(async (c) => {
      let n = 0;
      while (talking) {
        if (c.ready && sent < MAX_MESSAGES - 10) {
          const id = ++sent;
          const p = { c, session: c.session };
          pending.add(p);
          c.socket.emit('message', { room: ROOM, text: `${c.name} says ${++n}`, clientId: `${c.name}-${id}` }, (r) => {
            pending.delete(p);
            if (r && r.ok) acked.set(r.message.id, r.message);
            // Sent just before the connection broke, and buffered by the
            // client until it reconnected: refused until it registers again.
            else if (!(r && r.error && ['not_registered', 'not_in_room'].includes(r.error.code))) failures.push(r);
          });
        }
        await delay(700); // pacing: a conversation, under the rate limit and the history size
      }
    });
    const ackedFrom = (c) => [...acked.values()].filter((m) => m.from.id === c.me.id).length;
    await waitUntil(() => ackedFrom(users.alice) >= 3 && ackedFrom(users.carol) >= 3, 'conversation before the kill', 10000);

    // SIGKILL: no goodbye, the node's presence stays in Redis until it expires.
    const killedAt = Date.now();
    const exit = await A.srv.stop({ signal: 'SIGKILL', keepData: true });
    assert.equal(exit.signal, 'SIGKILL');
    const ackedBeforeKill = acked.size;

    // The victims notice, reconnect through nginx to a live node, take their
    // names back once the dead node's claim lapses, and join again.
    const back = await Promise.all(
      victims.map((c) => c.waitFor('rejoined', () => true, 'rejoin after the kill', NODE_LOSS_BOUND + STEP, killedAt)),
    );
    assert.deepEqual(victims.flatMap((c) => c.errors), []);

    // Everyone else hears that the dead node's users left (the sweeper) and
    // that they joined again (with a new ID: a new connection).
    const leftAt = [];
    for (const s of survivors) {
      for (const v of victims) {
        const e = await s.waitFor('left', (d) => d.user.id === oldIds.get(v), `left of the dead ${v.name}`, NODE_LOSS_BOUND, killedAt);
        assert.deepEqual(e.data, { room: ROOM, user: { id: oldIds.get(v), name: v.name } });
        leftAt.push(e.t - killedAt);
        const j = await s.waitFor('joined', (d) => d.user.id === v.me.id, `joined of the returning ${v.name}`, STEP, killedAt);
        assert.deepEqual(j.data, { room: ROOM, user: v.me });
      }
    }
    for (const v of victims) {
      assert.notEqual(v.me.id, oldIds.get(v));
      const at = nodeById(await nodeOf(v));
      assert.ok(at && at !== A, `${v.label} is back through a live node, not ${at && at.addr}`);
      v.now = at;
    }

    // They talk, and are heard; they hear the others.
    for (const v of victims) {
      const m = await send(v, `${v.name} is back`);
      await everyoneGets(others(v), m);
    }
    const m = await send(users.dave, 'welcome back');
    await everyoneGets(others(users.dave), m);

    talking = false;
    await Promise.all(talkers);
    // Wait for the answers still due. A message sent on a connection that
    // broke gets none: it was not acknowledged (it may be stored or not).
    await waitUntil(() => [...pending].every((p) => p.c.session !== p.session), 'the last acks', STEP);
    assert.deepEqual(failures, []);

    // A fresh joiner's history has every acknowledged message, before and
    // after the kill, in order; its member list has no ghosts.
    const hank = await newClient('hank', nodes[2], 4, ['websocket']);
    await hank.register();
    const j = await hank.join(ROOM);
    const history = new Map(j.history.map((x) => [x.id, x]));
    const lost = [...acked.keys()].filter((id) => !history.has(id));
    assert.deepEqual(lost, [], 'acknowledged messages missing from the history');
    for (const [id, msg] of acked) assert.deepEqual(history.get(id), msg);
    const ids = j.history.map((x) => x.id);
    assert.deepEqual(ids, [...ids].sort((a, b) => a - b));
    assert.deepEqual(j.members.map((x) => x.id).sort(), [...all(), hank].map((c) => c.me.id).sort());
    users.hank = hank;

    // Users who never lost their node got every message acked to others.
    for (const s of survivors) {
      const got = new Set(s.received('message', () => true).map((e) => e.data.id));
      const missed = [...acked.values()].filter((x) => x.from.name !== s.name && !got.has(x.id)).map((x) => x.id);
      assert.deepEqual(missed, [], `${s.name} missed messages`);
    }

    const stats = (xs) => ({ min: Math.min(...xs), max: Math.max(...xs) });
    Object.assign(figures, {
      acked_before_kill: ackedBeforeKill,
      acked_total: acked.size,
      lost: lost.length,
      victims: victims.map((c, i) => ({
        user: c.label,
        disconnect_ms: c.disconnects.find((d) => d.t >= killedAt).t - killedAt,
        disconnect_reason: c.disconnects.find((d) => d.t >= killedAt).reason,
        reconnect_ms: c.connects.find((t) => t >= killedAt) - killedAt,
        name_back_ms: back[i].data.registeredAt - killedAt,
        name_taken_retries: back[i].data.retries,
        rejoined_ms: back[i].data.t - killedAt,
        now_on: c.now.addr,
      })),
      left_broadcast_ms: stats(leftAt),
    });
    console.log(JSON.stringify({ cluster_node_loss: figures }));
  });

  test('the node comes back: it rejoins the cluster and its new users chat with the others', { timeout: 100000 }, async () => {
    const A = nodes[0];
    const restarted = await startNode({ port: A.port, dataDir: A.dataDir });
    assert.notEqual(restarted.id, A.id, 'a restarted node has a new ID');
    Object.assign(A, restarted);
    const startedAt = Date.now();

    // nginx takes it back once its fail_timeout has passed.
    await waitUntil(async () => (await routeOf(peekAddr(A))) === A.addr, `nginx to route to ${A.addr} again`, 20000);

    // bob polls, from an address pinned to A: his next request after A is
    // back lands there, where his session does not exist ("Session ID
    // unknown"), so he reconnects to A and rejoins. A WebSocket holds its
    // connection and stays where it is.
    // His session on the node he leaves lingers until its heartbeat times
    // out, and holds his name until then.
    const bob = users.bob;
    const alice = users.alice;
    const aliceConnects = alice.connects.length;
    const routedAt = Date.now();
    await waitUntil(
      async () => {
        if (bob.ready && (await nodeOf(bob)) === A.id) return true;
        if (bob.ready) bob.socket.emit('rtt', {}, () => {}); // a request, so the move happens now
        return false;
      },
      'bob to move back to the restarted node',
      GHOST_BOUND + STEP,
      250,
    );
    assert.deepEqual(bob.errors, []);
    const moved = bob.rejoins[bob.rejoins.length - 1];
    await Promise.all(others(bob).map((c) => c.waitFor('joined', (d) => d.user.id === bob.me.id, 'joined of bob on A', STEP)));
    assert.equal(alice.connects.length, aliceConnects, 'a WebSocket client does not move back');

    // A new user whose address nginx sends to the restarted node.
    const gina = await newClient('gina', A, 4, ['polling', 'websocket']);
    await gina.register();
    users.gina = gina;
    const joinedGina = others(gina).map((c) => c.waitFor('joined', (d) => d.user.id === gina.me.id, 'joined of gina'));
    const j = await gina.join(ROOM);
    await Promise.all(joinedGina);
    assert.equal(await nodeOf(gina), A.id, 'gina is on the restarted node');
    assert.deepEqual(j.members.map((x) => x.name).sort(), all().map((c) => c.name).sort());
    const history = new Set(j.history.map((x) => x.id));
    assert.deepEqual([...acked.keys()].filter((id) => !history.has(id)), []);

    const m = await send(gina, 'hi from the node that came back');
    await everyoneGets(others(gina), m);
    for (const c of [users.carol, users.erin, alice]) {
      const r = await send(c, `hi gina, ${c.name} here`);
      await gina.waitFor('message', (d) => d.id === r.id, `message from ${c.name}`);
    }
    await cursorsReach(gina, others(gina));
    await cursorsReach(users.dave, [gina]);

    figures.restart = {
      node_ready_to_routed_ms: routedAt - startedAt,
      polling_client_reconnected_ms: moved.started - routedAt,
      polling_client_name_back_ms: moved.registeredAt - routedAt,
      name_taken_retries: moved.retries,
    };
    console.log(JSON.stringify({ cluster_node_back: figures.restart }));
  });
});
