// Copies the socket.io.js browser bundles from the npm packages (see
// package.json and its lock file) into static/vendor/socketio, where the Go
// binary embeds them. They are build outputs: never edit or commit them.
'use strict';
const fs = require('fs');
const path = require('path');

const root = path.join(__dirname, '..');
const out = path.join(root, 'static', 'vendor', 'socketio');
const copies = [
  // [package alias, file in its dist/, name served under /socket.io/]
  ['sio-client-4', 'socket.io.js', 'socket.io.js'],
  ['sio-client-4', 'socket.io.js.map', 'socket.io.js.map'],
  ['sio-client-4', 'socket.io.min.js', 'socket.io.min.js'],
  ['sio-client-4', 'socket.io.min.js.map', 'socket.io.min.js.map'],
  ['sio-client-2', 'socket.io.js', 'socket.io.v2.js'],
];

fs.mkdirSync(out, { recursive: true });
for (const [pkg, file, name] of copies) {
  const src = path.join(root, 'node_modules', pkg, 'dist', file);
  if (!fs.existsSync(src)) {
    console.error(`missing ${src}: run "npm ci" first`);
    process.exit(1);
  }
  fs.copyFileSync(src, path.join(out, name));
}
console.log(`copied ${copies.length} client files to ${path.relative(root, out)}`);
