// A TCP proxy on loopback in front of a server, for tests that need a
// network failure: cut() destroys every proxied connection at once (both
// ends see it drop, as when a network goes away), and while held, new
// connections wait, unanswered, until release().
'use strict';
const net = require('node:net');

function start(targetPort) {
  const live = new Set();
  let held = false;
  let waiting = [];

  function pipe(client) {
    const upstream = net.connect(targetPort, '127.0.0.1');
    live.add(client);
    live.add(upstream);
    const drop = () => {
      client.destroy();
      upstream.destroy();
      live.delete(client);
      live.delete(upstream);
    };
    client.on('error', drop).on('close', drop);
    upstream.on('error', drop).on('close', drop);
    client.pipe(upstream);
    upstream.pipe(client);
  }

  const server = net.createServer((client) => {
    client.pause();
    if (held) {
      waiting.push(client);
      client.on('error', () => client.destroy());
    } else {
      pipe(client);
      client.resume();
    }
  });

  return new Promise((resolve, reject) => {
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      resolve({
        port,
        url: `http://127.0.0.1:${port}`,
        // connections counts the proxied connections now open.
        connections: () => live.size / 2,
        cut() {
          for (const s of live) s.destroy();
          live.clear();
        },
        hold() {
          held = true;
        },
        release() {
          held = false;
          const w = waiting;
          waiting = [];
          for (const c of w) {
            if (!c.destroyed) {
              pipe(c);
              c.resume();
            }
          }
        },
        close() {
          this.cut();
          for (const c of waiting) c.destroy();
          return new Promise((r) => server.close(() => r()));
        },
      });
    });
  });
}

module.exports = { start };
