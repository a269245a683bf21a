// Starts the real server binary on a free loopback port with a fresh data
// directory, waits until /readyz answers, and stops it by PID.
'use strict';
const { spawn } = require('node:child_process');
const fs = require('node:fs');
const net = require('node:net');
const os = require('node:os');
const path = require('node:path');

const BIN = process.env.CHAT_BIN || path.join(__dirname, '..', '..', 'bin', 'chatserver');

function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

async function waitReady(url, ms) {
  const deadline = Date.now() + ms;
  let last;
  while (Date.now() < deadline) {
    try {
      const res = await fetch(url + '/readyz');
      if (res.status === 200) return;
      last = new Error('readyz ' + res.status);
    } catch (e) {
      last = e;
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`server at ${url} not ready after ${ms}ms: ${last && last.message}`);
}

// start({args, dataDir}) -> {url, port, dataDir, proc, output(), stop(signal)}
async function start(opts = {}) {
  if (!fs.existsSync(BIN)) throw new Error(`server binary ${BIN} is missing: run "make build"`);
  const port = opts.port || (await freePort());
  const dataDir = opts.dataDir || fs.mkdtempSync(path.join(os.tmpdir(), 'chat-test-'));
  const args = ['--addr', `127.0.0.1:${port}`, '--data', dataDir, ...(opts.args || [])];
  const proc = spawn(BIN, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  proc.stdout.on('data', (d) => (out += d));
  proc.stderr.on('data', (d) => (out += d));
  const exited = new Promise((resolve) => proc.on('exit', (code, signal) => resolve({ code, signal })));
  const url = `http://127.0.0.1:${port}`;
  try {
    await waitReady(url, 10000);
  } catch (e) {
    proc.kill('SIGKILL');
    throw new Error(e.message + '\n' + out);
  }
  return {
    url,
    port,
    dataDir,
    proc,
    exited,
    output: () => out,
    // stop sends signal and resolves with the exit status (SIGKILL after 15s).
    async stop(signal = 'SIGTERM') {
      if (proc.exitCode !== null || proc.signalCode !== null) return exited;
      proc.kill(signal);
      const t = setTimeout(() => proc.kill('SIGKILL'), 15000);
      const res = await exited;
      clearTimeout(t);
      return res;
    },
  };
}

module.exports = { start, freePort, BIN };
