// A private redis-server for a test: loopback only, on a free port (or a
// given one, to restart it), stopped by PID. Nothing goes to disk unless an
// append-only file is asked for.
'use strict';
const fs = require('node:fs');
const net = require('node:net');
const os = require('node:os');
const path = require('node:path');
const { spawnSync } = require('node:child_process');
const server = require('./server');

const REDIS_BIN = process.env.REDIS_SERVER || 'redis-server';
const haveRedis = spawnSync(REDIS_BIN, ['--version']).status === 0;

// ping resolves when the server at port answers PING.
function ping(port) {
  return new Promise((resolve, reject) => {
    const c = net.connect({ host: '127.0.0.1', port }, () => c.write('PING\r\n'));
    c.setTimeout(1000, () => c.destroy(new Error('redis PING timed out')));
    c.on('data', (d) => {
      c.destroy();
      if (String(d).startsWith('+PONG')) resolve();
      else reject(new Error('redis answered ' + JSON.stringify(String(d))));
    });
    c.on('error', reject);
  });
}

// start({port, appendfsync, dir}) -> the startProcess handle plus {port,
// url, dir}. With appendfsync ('always', 'everysec' or 'no') the server
// keeps an append-only file in dir (a new temporary one unless given, to
// restart on the same data); the caller removes it.
async function start({ port, appendfsync, dir } = {}) {
  port = port || (await server.freePort());
  dir = dir || fs.mkdtempSync(path.join(os.tmpdir(), 'chat-redis-'));
  const aof = appendfsync ? ['--appendonly', 'yes', '--appendfsync', appendfsync] : ['--appendonly', 'no'];
  const proc = await server.startProcess({
    name: 'redis-server',
    cmd: REDIS_BIN,
    args: ['--port', String(port), '--bind', '127.0.0.1', '--save', '', ...aof, '--dir', dir],
    ready: () => ping(port),
  });
  return Object.assign(proc, { port, dir, url: `redis://127.0.0.1:${port}/0` });
}

module.exports = { start, ping, haveRedis, REDIS_BIN };
