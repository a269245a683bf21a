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

// childPids lists the direct children of pid (Linux /proc), so that a helper
// whose master process had to be killed (nginx) does not leave its workers
// behind.
function childPids(pid) {
  const out = [];
  let tasks = [];
  try {
    tasks = fs.readdirSync(`/proc/${pid}/task`);
  } catch {
    return out;
  }
  for (const t of tasks) {
    try {
      for (const c of fs.readFileSync(`/proc/${pid}/task/${t}/children`, 'utf8').trim().split(/\s+/)) {
        if (c) out.push(Number(c));
      }
    } catch {
      // the task ended meanwhile
    }
  }
  return out;
}

// startProcess({name, cmd, args, ready, readyMs, logFile}) spawns a helper
// process (redis-server, nginx, ...) with its output kept, and resolves once
// ready() (an async function that throws until the process serves) resolves,
// within readyMs. stop() signals the process by PID, waits for its exit, and
// after graceMs kills it and whatever children it had.
//
// With logFile, stdout and stderr go to that file instead of a pipe: Node's
// pipes are sockets, which a process cannot open() as /dev/stdout (nginx's
// access_log /dev/stdout).
async function startProcess({ name, cmd, args = [], ready, readyMs = 10000, cwd, logFile }) {
  let out = '';
  let proc;
  if (logFile) {
    const fd = fs.openSync(logFile, 'a');
    try {
      proc = spawn(cmd, args, { stdio: ['ignore', fd, fd], cwd });
    } finally {
      fs.closeSync(fd);
    }
  } else {
    proc = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], cwd });
    const keep = (d) => {
      out += d;
      if (out.length > 200000) out = out.slice(-100000);
    };
    proc.stdout.on('data', keep);
    proc.stderr.on('data', keep);
  }
  const output = () => {
    if (!logFile) return out;
    try {
      return fs.readFileSync(logFile, 'utf8').slice(-100000);
    } catch {
      return '';
    }
  };
  let spawnError = null;
  proc.on('error', (e) => (spawnError = e));
  const exited = new Promise((resolve) => proc.on('exit', (code, signal) => resolve({ code, signal })));
  const alive = () => proc.exitCode === null && proc.signalCode === null;
  const handle = {
    name,
    pid: proc.pid,
    exited,
    output,
    async stop({ signal = 'SIGTERM', graceMs = 5000 } = {}) {
      if (!alive()) return exited;
      const children = childPids(proc.pid);
      proc.kill(signal);
      let t;
      const res = await Promise.race([exited, new Promise((r) => (t = setTimeout(r, graceMs)))]);
      clearTimeout(t);
      if (res) return res;
      for (const pid of [...children, ...childPids(proc.pid)]) {
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          // gone already
        }
      }
      proc.kill('SIGKILL');
      return exited;
    },
  };
  const deadline = Date.now() + readyMs;
  let last;
  for (;;) {
    if (spawnError) throw new Error(`${name}: ${spawnError.message}`);
    if (!alive()) {
      const e = await exited;
      throw new Error(`${name} exited early (${e.code ?? e.signal})\n${output()}`);
    }
    try {
      await ready();
      return handle;
    } catch (e) {
      last = e;
    }
    if (Date.now() > deadline) {
      await handle.stop({ signal: 'SIGKILL', graceMs: 2000 });
      throw new Error(`${name} not ready after ${readyMs}ms: ${last && last.message}\n${output()}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
}

module.exports = { start, startProcess, freePort, childPids, BIN };
