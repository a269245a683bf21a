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

// The Socket.IO Admin UI (@socket.io/admin-ui's ui/dist), served at
// /admin/ when the admin is turned on. Its page links two stylesheets from
// CDNs (Roboto, Material Design Icons): a self-contained server cannot
// count on them, and its CSP allows styles from itself only, so the icons
// come from @mdi/font (npm) and the text falls back to the system font.
// admin-defaults.js (our own) offers this server as the one to log in to.
const adminSrc = path.join(root, 'node_modules', '@socket.io', 'admin-ui', 'ui', 'dist');
const adminOut = path.join(root, 'static', 'vendor', 'admin-ui');
const mdiSrc = path.join(root, 'node_modules', '@mdi', 'font');
for (const dir of [adminSrc, mdiSrc]) {
  if (!fs.existsSync(dir)) {
    console.error(`missing ${dir}: run "npm ci" first`);
    process.exit(1);
  }
}
fs.rmSync(adminOut, { recursive: true, force: true });
fs.cpSync(adminSrc, adminOut, { recursive: true, filter: (src) => !src.endsWith('.map') });
fs.mkdirSync(path.join(adminOut, 'mdi', 'css'), { recursive: true });
fs.mkdirSync(path.join(adminOut, 'mdi', 'fonts'), { recursive: true });
fs.copyFileSync(path.join(mdiSrc, 'css', 'materialdesignicons.min.css'), path.join(adminOut, 'mdi', 'css', 'materialdesignicons.min.css'));
fs.copyFileSync(path.join(mdiSrc, 'fonts', 'materialdesignicons-webfont.woff2'), path.join(adminOut, 'mdi', 'fonts', 'materialdesignicons-webfont.woff2'));

const indexPath = path.join(adminOut, 'index.html');
let index = fs.readFileSync(indexPath, 'utf8');
const links = [
  [/<link rel="stylesheet" href="https:\/\/fonts\.googleapis\.com\/[^"]*">/, ''],
  [/<link rel="stylesheet" href="https:\/\/cdn\.jsdelivr\.net\/npm\/@mdi\/font@[^"]*">/, '<link rel="stylesheet" href="mdi/css/materialdesignicons.min.css">'],
  [/<\/title>/, '</title><script src="/static/js/admin-defaults.js"></script>'],
];
for (const [re, repl] of links) {
  if (!re.test(index)) {
    console.error(`${indexPath}: expected ${re} (a new @socket.io/admin-ui version?)`);
    process.exit(1);
  }
  index = index.replace(re, repl);
}
if (/https?:\/\//.test(index)) {
  console.error(`${indexPath}: still links another origin`);
  process.exit(1);
}
fs.writeFileSync(indexPath, index);
console.log(`copied the admin UI to ${path.relative(root, adminOut)}`);
