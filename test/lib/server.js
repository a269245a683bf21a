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

// start({port, dataDir, args}) spawns the binary (on the given port and data
// directory, to restart a server) and resolves once GET /readyz answers.
async function start(opts = {}) {
  if (!fs.existsSync(BIN)) throw new Error(`server binary ${BIN} is missing: run "make build" (or set CHAT_BIN)`);
  const port = opts.port || (await freePort());
  const dataDir = opts.dataDir || fs.mkdtempSync(path.join(os.tmpdir(), 'chat-test-'));
  const args = ['--addr', `127.0.0.1:${port}`, '--data', dataDir, ...(opts.args || [])];
  const proc = spawn(BIN, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  const keep = (d) => {
    out += d;
    if (out.length > 200000) out = out.slice(-100000);
  };
  proc.stdout.on('data', keep);
  proc.stderr.on('data', keep);
  const exited = new Promise((resolve) => proc.on('exit', (code, signal) => resolve({ code, signal })));
  const url = `http://127.0.0.1:${port}`;
  try {
    await Promise.race([
      waitReady(url, 10000),
      exited.then((e) => Promise.reject(new Error(`server exited early (${e.code ?? e.signal})`))),
    ]);
  } catch (e) {
    proc.kill('SIGKILL');
    throw new Error(e.message + '\n' + out);
  }
  return {
    url,
    port,
    dataDir,
    pid: proc.pid,
    exited,
    output: () => out,
    // stop sends signal (SIGKILL after 15s), resolves with the exit status,
    // and removes the data directory unless keepData is set.
    async stop({ signal = 'SIGTERM', keepData = false } = {}) {
      let res;
      if (proc.exitCode !== null || proc.signalCode !== null) {
        res = await exited;
      } else {
        proc.kill(signal);
        const t = setTimeout(() => proc.kill('SIGKILL'), 15000);
        res = await exited;
        clearTimeout(t);
      }
      if (!keepData) fs.rmSync(dataDir, { recursive: true, force: true });
      return res;
    },
  };
}

module.exports = { start, freePort, BIN };
