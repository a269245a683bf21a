// Bounded waiting for the Node tests: every await has a deadline, so a hang
// becomes a failure that names what it was waiting for.
'use strict';

const STEP = 5000; // default bound on any single awaited event, in ms

const delay = (ms) => new Promise((r) => setTimeout(r, ms));

// within resolves or rejects as promise does, or rejects after ms.
function within(promise, what, ms = STEP) {
  let t;
  const timeout = new Promise((_, rej) => {
    t = setTimeout(() => rej(new Error(`timed out after ${ms}ms waiting for ${what}`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(t));
}

// waitUntil retries an async condition every `every` ms until it returns
// something truthy (which it resolves with), for at most ms.
async function waitUntil(cond, what, ms = STEP, every = 20) {
  const deadline = Date.now() + ms;
  let last;
  for (;;) {
    try {
      const v = await cond();
      if (v) return v;
    } catch (e) {
      last = e;
    }
    if (Date.now() > deadline) throw new Error(`timed out after ${ms}ms waiting for ${what}${last ? ': ' + last.message : ''}`);
    await delay(every);
  }
}

module.exports = { STEP, delay, within, waitUntil };
