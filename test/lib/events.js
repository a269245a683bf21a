// Socket.IO helpers for the Node tests, bounded like everything in wait.js.
'use strict';
const { within } = require('./wait');

// call emits event with payload and resolves with the ack's answer.
function call(s, event, payload) {
  return within(new Promise((res) => s.emit(event, payload, res)), `ack of ${event}`);
}

// next resolves with the first argument of the next `event` on s for which
// pred (given all its arguments) holds.
function next(s, event, pred = () => true, ms) {
  return within(new Promise((res) => {
    const h = (...args) => {
      if (pred(...args)) {
        s.off(event, h);
        res(args[0]);
      }
    };
    s.on(event, h);
  }), `event ${event}`, ms);
}

module.exports = { call, next };
