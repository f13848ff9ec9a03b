// Grid's web console: polls /api/state every second and redraws. No framework, no build step.
"use strict";

const HISTORY = 120;
const series = { throughput: [], latency: [], rebalance: [] };
let previous = null;

function el(tag, attrs, text) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, v);
  if (text !== undefined) e.textContent = text;
  return e;
}

function push(name, value) {
  series[name].push(value);
  if (series[name].length > HISTORY) series[name].shift();
}

function chart(id, values) {
  const canvas = document.getElementById(id);
  const g = canvas.getContext("2d");
  g.clearRect(0, 0, canvas.width, canvas.height);
  const max = Math.max(1, ...values);
  g.strokeStyle = "#e3e6ea";
  g.beginPath(); g.moveTo(0, canvas.height - 1); g.lineTo(canvas.width, canvas.height - 1); g.stroke();
  g.fillStyle = "#555"; g.font = "10px sans-serif"; g.fillText(max.toFixed(max < 10 ? 2 : 0), 2, 10);
  g.strokeStyle = "#1565c0"; g.lineWidth = 1.5; g.beginPath();
  values.forEach((v, i) => {
    const x = i * canvas.width / (HISTORY - 1);
    const y = canvas.height - 2 - v / max * (canvas.height - 14);
    if (i === 0) g.moveTo(x, y); else g.lineTo(x, y);
  });
  g.stroke();
}

function membersTable(state) {
  const body = document.querySelector("#members tbody");
  body.replaceChildren();
  const running = new Map(state.members.map(m => [m.id, m]));
  const ids = [...new Set([...state.baseline.members, ...running.keys()])].sort();
  for (const id of ids) {
    const m = running.get(id);
    const inBaseline = state.baseline.members.includes(id);
    const status = m ? (inBaseline || !state.baseline.set ? "ONLINE" : "ONLINE, outside baseline") : "OFFLINE";
    const row = el("tr", { "data-member": id, "data-state": m ? "ONLINE" : "OFFLINE" });
    row.append(el("td", {}, id), el("td", { class: "state-" + (m ? "ONLINE" : "OFFLINE") }, status),
      el("td", {}, m ? m.address : "-"), el("td", {}, m ? m.clientAddress || "-" : "-"));
    const r = m && m.rebalance && !m.rebalance.error ? m.rebalance : null;
    row.append(el("td", {}, r ? (r.active ? `${r.done}/${r.planned} copies, ${r.records} records` : "idle") : "-"));
    const mm = m && m.metrics && !m.metrics.error ? m.metrics : null;
    const before = previous ? previous.ops.get(id) : undefined;
    const rate = mm && before !== undefined ? (mm.operations - before) / ((state.atMs - previous.atMs) / 1000) : 0;
    row.append(el("td", {}, mm ? rate.toFixed(0) : "-"), el("td", {}, mm ? (mm.putP99Us / 1000).toFixed(2) + " ms" : "-"),
      el("td", {}, mm ? (mm.getP99Us / 1000).toFixed(2) + " ms" : "-"));
    body.append(row);
  }
}

function partitionMaps(state) {
  const root = document.getElementById("caches");
  root.replaceChildren();
  const memberIds = [...new Set([...state.baseline.members, ...state.members.map(m => m.id)])].sort();
  for (const cache of state.caches) {
    const box = el("div", { class: "cache", "data-cache": cache.name });
    box.append(el("h3", {}, cache.name));
    if (cache.error) { box.append(el("p", { class: "error" }, cache.error)); root.append(box); continue; }
    const counts = { OWNING: 0, MOVING: 0, RENTING: 0, LOST: 0 };
    const map = el("div", { class: "map" });
    map.style.gridTemplateColumns = `max-content repeat(${cache.partitions}, 8px)`;
    for (const member of memberIds) {
      map.append(el("span", { class: "row-label" }, member));
      for (let p = 0; p < cache.partitions; p++) {
        const copy = cache.copies[p].find(c => c.m === member);
        const lost = cache.lost.includes(p);
        const s = copy ? copy.s : (lost ? "LOST" : "none");
        if (copy && counts[copy.s] !== undefined) counts[copy.s]++;
        const cell = el("span", { class: "cell " + s + (copy && copy.p ? " primary" : ""), "data-state": s });
        cell.title = copy ? `partition ${p} on ${member}: ${copy.s}${copy.p ? " (primary)" : ""}, LWM ${copy.lwm}, ` +
          `HWM ${copy.hwm}, lag ${copy.hwm - copy.lwm}` : `partition ${p}: no copy on ${member}`;
        map.append(cell);
      }
    }
    counts.LOST = cache.lost.length;
    const summary = el("p", { class: "cache-summary", id: "summary-" + cache.name },
      `${cache.partitions} partitions: OWNING ${counts.OWNING}, MOVING ${counts.MOVING}, RENTING ${counts.RENTING}, ` +
      `LOST ${counts.LOST}` + (cache.lost.length ? ` (lost: ${cache.lost.join(", ")})` : ""));
    const button = el("button", {}, "check consistency");
    button.onclick = () => fetch("api/check?cache=" + encodeURIComponent(cache.name),
      { method: "POST", headers: { "X-Grid-Console": "1" } })
      .then(r => r.json()).then(() => poll());
    summary.append(button);
    box.append(summary, map);
    root.append(box);
  }
}

function lastCheck(state) {
  const c = state.lastCheck;
  if (!c) return;
  document.getElementById("check").textContent = `${c.cache} at ${new Date(c.atMs).toLocaleTimeString()}: ` +
    (c.clean ? `clean, ${c.partitionsChecked} partitions checked` : `${c.conflicts.length} conflicts: ` +
      c.conflicts.map(x => `partition ${x.partition} ${x.kind}`).join("; ")) +
    (c.copiesMoving ? ` (${c.copiesMoving} copies were moving)` : "");
}

function charts(state) {
  const ops = new Map();
  let total = 0, worstP99 = 0, records = 0, eta = -1, active = false;
  for (const m of state.members) {
    if (m.metrics && !m.metrics.error) { ops.set(m.id, m.metrics.operations); total += m.metrics.operations;
      worstP99 = Math.max(worstP99, m.metrics.putP99Us / 1000); }
    if (m.rebalance && !m.rebalance.error) { records += m.rebalance.records; if (m.rebalance.active) { active = true; eta = Math.max(eta, m.rebalance.etaMs); } }
  }
  if (previous) {
    const seconds = Math.max(0.001, (state.atMs - previous.atMs) / 1000);
    push("throughput", Math.max(0, (total - previous.total) / seconds));
    push("latency", worstP99);
    push("rebalance", Math.max(0, (records - previous.records) / seconds));
  }
  document.getElementById("eta").textContent = !active ? "idle" : eta < 0 ? "catching up, ETA unknown" :
    `catching up, ETA ${(eta / 1000).toFixed(1)} s`;
  chart("throughput", series.throughput); chart("latency", series.latency); chart("rebalance", series.rebalance);
  return { ops, total, records, atMs: state.atMs };
}

function render(state) {
  document.getElementById("summary").textContent = `served by ${state.servedBy}, topology ${state.topologyVersion}, ` +
    `coordinator ${state.coordinator}, ${state.members.length} members, quorum ${state.quorum.held ? "held" : "NOT HELD"}` +
    (state.baseline.offline.length ? `, offline: ${state.baseline.offline.join(", ")}` : "");
  membersTable(state);
  partitionMaps(state);
  lastCheck(state);
  previous = charts(state);
}

function poll() {
  return fetch("api/state", { cache: "no-store" }).then(r => r.json()).then(state => {
    if (state.error) { document.getElementById("error").textContent = state.error; return; }
    document.getElementById("error").textContent = "";
    render(state);
    document.body.setAttribute("data-topology", state.topologyVersion);
  }).catch(e => { document.getElementById("error").textContent = "cannot reach the member: " + e; });
}

poll();
setInterval(poll, 1000);
