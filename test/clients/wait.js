// Bounded waits for the client scripts in this folder: every wait rejects
// after STEP_MS with what it waited for, so a hang is a named failure.
'use strict';

const STEP_MS = 4000;

function timeoutError(what, ms) {
  return new Error(`timeout after ${ms}ms waiting for ${what}`);
}

// once resolves with the arguments of the next `event` on emitter.
function once(emitter, event, what, ms = STEP_MS) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      emitter.off(event, on);
      reject(timeoutError(what || `"${event}"`, ms));
    }, ms);
    function on(...args) {
      clearTimeout(timer);
      resolve(args);
    }
    emitter.once(event, on);
  });
}

// call emits event with args and an acknowledgement callback; it resolves
// with the ack's arguments.
function call(socket, event, ...args) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(timeoutError(`the ack of "${event}"`, STEP_MS)), STEP_MS);
    socket.emit(event, ...args, (...res) => {
      clearTimeout(timer);
      resolve(res);
    });
  });
}

module.exports = { STEP_MS, timeoutError, once, call };
