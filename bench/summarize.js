#!/usr/bin/env node
// Turns bench/run.sh's records (one JSON line per run) into the markdown
// report: medians per scenario, metric and server, the project/Node ratio,
// the ceiling, then every run. Usage: summarize.js meta.json records.jsonl
'use strict';
const fs = require('node:fs');

const [metaPath, recordsPath] = process.argv.slice(2);
const meta = JSON.parse(fs.readFileSync(metaPath, 'utf8'));
const records = fs.readFileSync(recordsPath, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l));

const median = (xs) => {
  const v = xs.filter((x) => typeof x === 'number' && Number.isFinite(x)).sort((a, b) => a - b);
  if (v.length === 0) return undefined;
  const m = v.length >> 1;
  return v.length % 2 ? v[m] : (v[m - 1] + v[m]) / 2;
};

const fmt = (x) => {
  if (x === undefined) return '–';
  const a = Math.abs(x);
  if (a >= 1000) return Math.round(x).toLocaleString('en-US');
  if (a >= 100) return x.toFixed(0);
  if (a >= 10) return x.toFixed(1);
  return x.toFixed(2);
};

// A run counts when sioload completed and printed its line.
const ok = (r) => r.rc === 0 && r.result;

// perItem is the server's CPU time during the measured phase per delivery.
const perItem = (r, n) => (ok(r) && r.server_cpu_measured_s != null && n > 0 ? (r.server_cpu_measured_s * 1e6) / n : undefined);

function fanoutMetrics(sc, rate) {
  return [
    [sc, `deliveries/s (${meta.fanout_n} receivers, ${rate} msg/s offered = ${(meta.fanout_n * rate).toLocaleString('en-US')}/s)`, 'higher', (r) => ok(r) && r.result.deliveries_per_sec],
    [sc, 'latency p50, ms', 'lower', (r) => ok(r) && r.result.latency_ms.p50],
    [sc, 'latency p99, ms', 'lower', (r) => ok(r) && r.result.latency_ms.p99],
    [sc, 'messages refused rate_limited (server fell behind)', 'lower', (r) => ok(r) && r.result.rejected],
    [sc, 'server CPU per delivery, µs (sending phase)', 'lower', (r) => perItem(r, r.result && r.result.delivered)],
    [sc, `setup: ${meta.fanout_n} receivers register and join, s`, 'lower', (r) => ok(r) && r.result.setup_s],
  ];
}

// metrics: [scenario, label, better ('higher'|'lower'), fn(record) -> number]
const metrics = [
  ['idle', `RSS per idle connection, KiB (${meta.idle_n} registered WebSockets)`, 'lower',
    (r) => (r.rss_hold_kib != null && r.result && r.result.still_up === r.result.requested
      ? (r.rss_hold_kib - r.rss_before_kib) / r.result.requested : undefined)],
  ['idle', 'server RSS while holding them, MiB', 'lower', (r) => (r.rss_hold_kib != null ? r.rss_hold_kib / 1024 : undefined)],
  ['idle', 'OS threads while holding them', 'lower', (r) => (r.threads_hold != null ? r.threads_hold : undefined)],
  ['idle', 'connects/s (register included; capped by -ramp 1000)', 'higher', (r) => ok(r) && r.result.connects_per_sec],
  ...fanoutMetrics('fanout', meta.fanout_rate),
  ...fanoutMetrics('fanout-light', meta.fanout_light_rate),
  ['fanout-max', `capacity: deliveries/s (${meta.fanout_n} receivers, ${meta.fanout_max_rate} msg/s offered = ${(meta.fanout_n * meta.fanout_max_rate).toLocaleString('en-US')}/s; first send to last delivery)`, 'higher', (r) => ok(r) && r.result.deliveries_per_sec],
  ['fanout-max', 'server CPU per delivery, µs (sending phase)', 'lower', (r) => perItem(r, r.result && r.result.delivered)],
  ['fanout-max', 'latency p99, ms', 'lower', (r) => ok(r) && r.result.latency_ms.p99],
  ['fanout-max', 'messages refused rate_limited (server fell behind)', 'lower', (r) => ok(r) && r.result.rejected],
  ['cursors', `relays/s (${meta.cursors_n} users × 30 moves/s)`, 'higher', (r) => ok(r) && r.result.relays_per_sec],
  ['cursors', 'relays dropped, %', 'lower', (r) => ok(r) && r.result.drop_pct],
  ['cursors', 'latency p50, ms', 'lower', (r) => ok(r) && r.result.latency_ms.p50],
  ['cursors', 'latency p99, ms', 'lower', (r) => ok(r) && r.result.latency_ms.p99],
  ['cursors', 'server CPU per relay, µs (sending phase)', 'lower', (r) => perItem(r, r.result && r.result.received)],
  ['echo', `acked rtt/s (${meta.echo_n} clients, back to back)`, 'higher', (r) => ok(r) && r.result.acks_per_sec],
  ['echo', 'round trip p50, ms', 'lower', (r) => ok(r) && r.result.rtt_ms.p50],
  ['echo', 'round trip p99, ms', 'lower', (r) => ok(r) && r.result.rtt_ms.p99],
  ['echo', 'server CPU per acked rtt, µs', 'lower', (r) => perItem(r, r.result && r.result.acks)],
];

const servers = ['project', 'node', 'bun', 'ceiling'];
const scenarios = [...new Set(records.map((r) => r.scenario))];
const by = (scenario, server) => records.filter((r) => r.scenario === scenario && r.server === server);

const out = [];
const p = (s = '') => out.push(s);

p(`## Benchmark results — ${meta.date}`);
p();
p(`Machine: ${meta.nproc} CPUs (${meta.cpu}), ${meta.mem_gib} GiB, Linux ${meta.kernel}. ` +
  `${meta.go}, Node ${meta.node}, socket.io ${meta.socketio}` + (meta.bun ? `, Bun ${meta.bun} with @socket.io/bun-engine ${meta.bun_engine}` : '') +
  `. Project at ${meta.commit}.`);
p(`Server pinned to CPU ${meta.server_cpu} (GOMAXPROCS 1 for the Go servers), sioload to CPU ${meta.load_cpu}; ` +
  `${meta.repeats} repeats, servers alternating; sioload \`${meta.sioload}\`, ${meta.duration} per run ` +
  `(idle: hold ${meta.idle_hold}). Load average at start ${meta.load_start}, at end ${meta.load_end}; ` +
  `whole run ${Math.round(meta.elapsed_s / 60 * 10) / 10} min.`);
p();
p('Medians of the runs; "runs" counts the runs that completed. project/Node and project/Bun: ratios of the medians ' +
  '(> 1 is better for the project where higher is better, < 1 where lower is better).');
p();
p('| scenario | metric | better | project | Node 4.8 | Bun | project/Node | project/Bun | Go ceiling | runs (project/Node/Bun/ceiling) |');
p('| --- | --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | --- |');
for (const [scenario, label, better, fn] of metrics) {
  if (!scenarios.includes(scenario)) continue;
  const med = {};
  const runs = {};
  for (const s of servers) {
    const rs = by(scenario, s);
    med[s] = median(rs.map((r) => {
      const v = fn(r);
      return v === false || v === null ? undefined : v;
    }));
    runs[s] = `${rs.filter(ok).length}/${rs.length}`;
  }
  const ratio = (ref) => (med.project !== undefined && med[ref] ? (med.project / med[ref]).toFixed(2) + '×' : '–');
  p(`| ${scenario} | ${label} | ${better} | ${fmt(med.project)} | ${fmt(med.node)} | ${fmt(med.bun)} | ` +
    `${ratio('node')} | ${ratio('bun')} | ${fmt(med.ceiling)} | ${runs.project} / ${runs.node} / ${runs.bun} / ${runs.ceiling} |`);
}
p();
p('<details><summary>Every run</summary>');
p();
p('| scenario | server | rep | rc | key numbers | server CPU s (whole run / measured phase) | CPU ' + meta.server_cpu + ' busy % | load generator\'s CPU ' + meta.load_cpu + ' busy %, measured phase | errors |');
p('| --- | --- | ---: | ---: | --- | ---: | ---: | ---: | --- |');
for (const r of records) {
  const x = r.result;
  let key = r.error || (r.stderr ? 'stderr: ' + r.stderr : '');
  if (x) {
    switch (r.scenario) {
      case 'idle':
        key = `up ${x.still_up}/${x.requested}, RSS ${r.rss_before_kib} → ${r.rss_hold_kib} KiB, ${r.threads_hold} threads`;
        break;
      case 'fanout':
      case 'fanout-light':
      case 'fanout-max':
        key = `${x.deliveries_per_sec}/s, p50 ${x.latency_ms.p50} p99 ${x.latency_ms.p99} max ${x.latency_ms.max} ms, ` +
          `sent ${x.sent}, rejected ${x.rejected}, missing ${x.missing}, setup ${x.setup_s}s`;
        break;
      case 'cursors':
        key = `${x.relays_per_sec}/s, drop ${x.drop_pct}%, p50 ${x.latency_ms.p50} p99 ${x.latency_ms.p99} ms`;
        break;
      case 'echo':
        key = `${x.acks_per_sec}/s, p50 ${x.rtt_ms.p50} p99 ${x.rtt_ms.p99} ms`;
        break;
    }
  }
  const errs = x && x.error_count ? Object.entries(x.errors).map(([k, v]) => `${v}× ${k}`).join('; ') : '';
  p(`| ${r.scenario} | ${r.server} | ${r.rep} | ${r.rc} | ${key} | ${r.server_cpu_s ?? ''} / ${r.server_cpu_measured_s ?? ''} | ${r.core_busy_pct ?? ''} | ${r.load_core_busy_pct ?? ''} | ${errs.replace(/\|/g, '/')} |`);
}
p();
p('</details>');
process.stdout.write(out.join('\n') + '\n');
