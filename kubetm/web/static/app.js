// kubetm live view: plain JS + SVG, fed by server-sent events from /events (kubetm/web).
// Event types and their fields: kubetm/web/observe.py. No polling, no network beyond 127.0.0.1.
"use strict";

const SVGNS = "http://www.w3.org/2000/svg";
const VERSION_COLORS = ["#1f77b4", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b", "#17becf"]; // = plot.py
const FAIL_COLOR = "#d62728";
const STRATEGY_NAMES = {
  "recreate": "Recreate · 재생성",
  "rolling-update": "RollingUpdate · 롤링 업데이트",
  "blue-green": "Blue/Green · 블루/그린",
};
const NUMBERS = [
  // key, Korean, English, format
  ["requests", "요청", "requests", "int"],
  ["failures", "실패", "failures", "int"],
  ["downtime_ms", "중단 시간", "downtime", "sec"],
  ["overlap_ms", "두 버전 동시", "overlap", "sec"],
  ["first_new_ms", "첫 새 버전", "first new", "signed"],
  ["last_old_ms", "마지막 옛 버전", "last old", "signed"],
  ["rollout_seconds", "롤아웃", "rollout", "rollout"],
];

const state = {
  events: 0, lastId: -1, done: false, ok: null, kind: "demo",
  runs: [],             // per run: {info, points, origin, steadyMs, updateMs, nowMs, numbers, final, el}
  versions: [],         // versions in order of first answer, over all runs (same colours everywhere)
  nodes: [], cluster: null, labs: {},
};
window.kubetm = state;  // for tests and curious students: the page's whole state

function el(tag, attrs, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === null || v === undefined || v === false) continue;
    if (k === "class") e.className = v; else if (k === "text") e.textContent = v; else e.setAttribute(k, v);
  }
  for (const c of children) if (c !== null && c !== undefined) e.append(c);
  return e;
}
function svg(tag, attrs) {
  const e = document.createElementNS(SVGNS, tag);
  for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, v);
  return e;
}
function bilingual(ko, en) {
  return el("span", {class: "bi"}, el("span", {class: "ko", text: ko}), " ", el("span", {class: "en", lang: "en", text: en}));
}

// Same text as the CLI's table (kubetm/demos/timeline.py render_table).
function fmt(kind, v) {
  if (v === null || v === undefined) return "-";
  if (kind === "int") return String(v);
  if (kind === "rollout") return v.toFixed(1) + "s";
  if (kind === "signed") { const t = (v / 1000).toFixed(2); return (v >= 0 || t === "-0.00" ? "+" + t.replace("-", "") : t) + "s"; }
  return (v / 1000).toFixed(2) + "s";
}

function versionColor(v) {
  let i = state.versions.indexOf(v);
  if (i < 0) { state.versions.push(v); i = state.versions.length - 1; }
  return VERSION_COLORS[i % VERSION_COLORS.length];
}

// ------------------------------------------------------------------------------------ status
function setStatus(kind, text) {
  const s = document.getElementById("status");
  s.className = "status " + kind;
  s.dataset.state = kind;
  s.textContent = text;
}

// --------------------------------------------------------------------------------------- runs
function runCard(ev) {
  const head = el("h2", {}, el("span", {class: "strategy", text: STRATEGY_NAMES[ev.strategy] || ev.strategy}));
  const meta = [];
  if (ev.from && ev.to) meta.push(`kubetm/app:${ev.from} → ${ev.to}`);
  if (ev.replicas) meta.push(`${ev.replicas} replicas`);
  if (ev.rate) meta.push(`${ev.rate} req/s`);
  if (ev.node_port) meta.push(`Service app · NodePort ${ev.node_port}`);
  head.append(el("small", {class: "meta", text: meta.join(" · ")}));
  const nums = el("dl", {class: "numbers"});
  for (const [key, ko, en] of NUMBERS) {
    nums.append(el("div", {class: "num", "data-key": key},
      el("dt", {}, bilingual(ko, en)), el("dd", {"data-key": key, "data-value": "", text: "-"})));
  }
  const lesson = el("p", {class: "lesson"}, el("b", {text: "교훈 lesson: "}), el("span", {class: "lesson-text", text: ev.lesson || ""}));
  const plot = svg("svg", {class: "timeline", viewBox: "0 0 1000 170", role: "img", "aria-label": "requests over time"});
  const legend = el("div", {class: "legend"});
  const phase = el("div", {class: "phase", text: "준비 중 setting up…"});
  const card = el("article", {class: "run panel", "data-run": ev.run, "data-strategy": ev.strategy, "data-final": "false"},
                  head, lesson, nums, phase, plot, legend);
  document.getElementById("runs").append(card);
  return card;
}

function getRun(i) { return state.runs[i]; }

function onRun(ev) {
  state.runs[ev.run] = {info: ev, points: [], origin: null, steadyMs: null, updateMs: null, nowMs: null,
                        numbers: null, final: null, el: runCard(ev), dirty: true};
  document.getElementById("cluster-ns").textContent = ev.namespace ? `namespace ${ev.namespace}` : "";
}

function showNumbers(r, nums, text) {
  for (const [key, , , kind] of NUMBERS) {
    const dd = r.el.querySelector(`dd[data-key="${key}"]`);
    if (!(key in nums)) continue;
    const v = nums[key];
    dd.textContent = text && key in text ? text[key] : fmt(kind, v);  // the CLI's own text when sent
    dd.dataset.value = v === null ? "null" : String(v);
    dd.parentElement.classList.toggle("bad", key === "failures" && v > 0 || key === "downtime_ms" && v > 0);
    dd.parentElement.classList.toggle("warn", key === "overlap_ms" && v > 0);
  }
}

function onPoints(ev) {
  const r = getRun(ev.run); if (!r) return;
  for (const p of ev.points) r.points.push(p);
  r.nowMs = ev.now_ms;
  r.dirty = true;
}

function onNumbers(ev) {
  const r = getRun(ev.run); if (!r || r.final) return;
  r.numbers = ev; r.nowMs = ev.now_ms;
  showNumbers(r, ev, ev.text);
}

function onResult(ev) {
  const r = getRun(ev.run); if (!r) return;
  const s = ev.summary;
  r.final = s;
  r.points = s.timeline;   // relative to the update start: the same data as -o json and the plot
  r.origin = 0; r.updateMs = 0; r.nowMs = null;
  showNumbers(r, s, ev.text);
  r.el.dataset.final = "true";
  r.el.querySelector(".phase").textContent = "끝 done: " + headline(s, ev.text || {});
  r.dirty = true;
}

function headline(s, text) {
  const t = k => text[k] ?? fmt(NUMBERS.find(n => n[0] === k)[3], s[k]);
  return `${s.requests} requests, ${s.failures} failed, downtime ${t("downtime_ms")}, ` +
         `overlap ${t("overlap_ms")}` + (s.rollout_seconds != null ? `, rollout ${t("rollout_seconds")}` : "");
}

// The timeline, drawn like kubetm/demos/plot.py: a row per version (top: newest), a "failed" row at
// the bottom, red shading where nothing answered, gold where old and new both answered, dashed 0.
function failureSpans(tl) {   // = kubetm.demos.timeline.failure_spans
  const spans = []; let i = 0; const n = tl.length;
  while (i < n) {
    if (tl[i].ok) { i++; continue; }
    let j = i;
    while (j + 1 < n && !tl[j + 1].ok) j++;
    // to when the first success after the run was answered (sent + latency), as downtime_ms
    const end = j + 1 < n ? tl[j + 1].t_ms + Math.max(0, tl[j + 1].latency_ms || 0) : tl[j].t_ms;
    spans.push([i > 0 ? tl[i - 1].t_ms : tl[i].t_ms, end]);
    i = j + 1;
  }
  return spans;
}

function drawRun(r) {
  const plot = r.el.querySelector("svg.timeline");
  const W = Math.max(400, Math.round(plot.getBoundingClientRect().width) || 1000), H = 170, L = 80, R = 12, T = 8, B = 24;
  plot.setAttribute("viewBox", `0 0 ${W} ${H}`);  // user units = pixels: text is never stretched
  const origin = r.final ? 0 : (r.updateMs ?? r.steadyMs ?? 0);
  const pts = r.points.slice().sort((a, b) => a.t_ms - b.t_ms);
  const rel = pts.map(p => ({...p, x: (p.t_ms - origin) / 1000}));
  const versions = [];
  for (const p of rel) if (p.ok && p.version != null && !versions.includes(p.version)) versions.push(p.version);
  for (const v of versions) versionColor(v);
  const rows = ["failed", ...versions];
  let x0 = rel.length ? Math.min(rel[0].x, 0) : -1, x1 = rel.length ? rel[rel.length - 1].x : 1;
  if (r.nowMs != null) x1 = Math.max(x1, (r.nowMs - origin) / 1000);
  x0 = Math.floor(Math.min(x0, -1)); x1 = Math.ceil(Math.max(x1, x0 + 5, 1));
  const sx = x => L + (x - x0) / (x1 - x0) * (W - L - R);
  const rowH = (H - T - B) / rows.length;
  const sy = i => H - B - (i + 0.5) * rowH;   // row 0 (failed) at the bottom
  plot.replaceChildren();
  // shading
  for (const [a, b] of failureSpans(rel.map(p => ({t_ms: p.x, ok: p.ok, latency_ms: p.latency_ms / 1000})))) {
    plot.append(svg("rect", {x: sx(a), y: T, width: Math.max(1, sx(b) - sx(a)), height: H - T - B, class: "gap"}));
  }
  const s = r.final || (r.numbers && r.updateMs != null ? r.numbers : null);
  if (s && s.overlap_ms > 0 && s.first_new_ms != null && s.last_old_ms != null) {
    plot.append(svg("rect", {x: sx(s.first_new_ms / 1000), y: T, width: Math.max(1, sx(s.last_old_ms / 1000) - sx(s.first_new_ms / 1000)),
                             height: H - T - B, class: "overlap"}));
  }
  // axes
  const step = x1 - x0 > 60 ? 10 : x1 - x0 > 24 ? 5 : x1 - x0 > 10 ? 2 : 1;
  for (let x = Math.ceil(x0 / step) * step; x <= x1; x += step) {
    plot.append(svg("line", {x1: sx(x), x2: sx(x), y1: T, y2: H - B, class: "grid"}));
    const t = svg("text", {x: sx(x), y: H - 8, class: "tick", "text-anchor": "middle"}); t.textContent = `${x}s`; plot.append(t);
  }
  rows.forEach((name, i) => {
    const t = svg("text", {x: L - 8, y: sy(i) + 4, class: "row-label", "text-anchor": "end"});
    t.textContent = name === "failed" ? "실패 failed" : name;
    if (name !== "failed") t.setAttribute("fill", versionColor(name));
    plot.append(t);
  });
  if (r.final && r.final.switch_ms != null) {  // blue-green: the Service selector switch
    plot.append(svg("line", {x1: sx(r.final.switch_ms / 1000), x2: sx(r.final.switch_ms / 1000), y1: T, y2: H - B, class: "switch"}));
    const t = svg("text", {x: sx(r.final.switch_ms / 1000) + 4, y: T + 22, class: "tick"}); t.textContent = "전환 switch"; plot.append(t);
  }
  if (r.updateMs != null || r.final) {
    plot.append(svg("line", {x1: sx(0), x2: sx(0), y1: T, y2: H - B, class: "update"}));
    const t = svg("text", {x: sx(0) + 4, y: T + 10, class: "tick"}); t.textContent = "업데이트 update"; plot.append(t);
  }
  // marks: one per request, a path per row (fast with thousands of requests)
  const paths = {};
  for (const p of rel) {
    const key = p.ok ? p.version : "failed";
    const i = rows.indexOf(key); if (i < 0) continue;
    const x = sx(p.x).toFixed(1), y = sy(i);
    paths[key] = (paths[key] || "") + (p.ok ? `M${x} ${(y - rowH * 0.3).toFixed(1)}V${(y + rowH * 0.3).toFixed(1)}`
                                           : `M${x - 3} ${y - 3}l6 6m0 -6l-6 6`);
  }
  for (const [key, d] of Object.entries(paths)) {
    plot.append(svg("path", {d, class: key === "failed" ? "mark failed" : "mark", stroke: key === "failed" ? FAIL_COLOR : versionColor(key),
                             "data-row": key}));
  }
  // legend with live counts per row
  const legend = r.el.querySelector(".legend");
  legend.replaceChildren();
  for (const name of rows.slice(1).concat(["failed"])) {
    const n = rel.filter(p => (p.ok ? p.version : "failed") === name).length;
    legend.append(el("span", {class: "key", "data-row": name},
      el("i", {style: null, class: name === "failed" ? "sw failed" : "sw", "data-color": name}),
      `${name === "failed" ? "실패 failed" : name} ${n}`));
  }
  for (const i of legend.querySelectorAll("i[data-color]")) {
    const name = i.dataset.color; i.style.background = name === "failed" ? FAIL_COLOR : versionColor(name);
  }
  if (!r.final) {
    const phase = r.el.querySelector(".phase");
    if (r.updateMs != null) phase.textContent = "업데이트 중 rolling out… (0 = update start)";
    else if (r.steadyMs != null) phase.textContent = "트래픽 확인 중 probing…";
  }
}

// ------------------------------------------------------------------------------------ cluster
function onNodes(ev) { state.nodes = ev.nodes; renderCluster(); }
function onCluster(ev) { state.cluster = ev; renderCluster(); }

function renderCluster() {
  const box = document.getElementById("cluster");
  box.hidden = false;
  const nodes = document.getElementById("nodes");
  const pods = (state.cluster && state.cluster.pods) || [];
  const names = state.nodes.map(n => n.name);
  for (const p of pods) if (p.node && !names.includes(p.node)) { names.push(p.node); state.nodes.push({name: p.node, course: null, role: "worker"}); }
  nodes.replaceChildren();
  const columns = state.nodes.slice();
  if (pods.some(p => !p.node)) columns.push({name: null, course: null, role: "unscheduled"});
  for (const n of columns) {
    const title = n.name === null ? bilingual("배치 전", "not scheduled")
      : el("span", {}, el("b", {text: n.course || (n.role === "control-plane" ? "k8s-master" : n.name)}),
           el("small", {text: " " + n.name + (n.role === "control-plane" ? " (control-plane)" : "")}));
    const list = el("div", {class: "pods"});
    for (const p of pods.filter(p => p.node === n.name).sort((a, b) => a.name.localeCompare(b.name))) {
      const status = p.deleting ? "Terminating" : p.phase + (p.phase === "Running" ? (p.ready ? " · Ready" : " · not ready") : "");
      const chip = el("div", {class: "pod" + (p.deleting ? " deleting" : "") + (p.ready && !p.deleting ? " ready" : ""),
                              "data-pod": p.name, "data-version": p.version || "", "data-ready": String(p.ready), title: p.name},
        el("span", {class: "pod-name", text: p.name.split("-").slice(-1)[0]}),
        el("span", {class: "pod-version", text: p.version || "?"}),
        el("span", {class: "pod-status", text: status}));
      if (p.version) chip.style.borderColor = versionColor(p.version);
      list.append(chip);
    }
    nodes.append(el("div", {class: "node" + (n.role === "control-plane" ? " cp" : ""), "data-node": n.name || ""}, el("h3", {}, title), list));
  }
  const rss = document.getElementById("replicasets");
  rss.replaceChildren();
  const sets = ((state.cluster && state.cluster.replicasets) || []).slice().sort((a, b) => (a.created || "").localeCompare(b.created || ""));
  if (sets.length) rss.append(el("h3", {}, bilingual("레플리카셋", "ReplicaSets")));
  for (const rs of sets) {
    const row = el("div", {class: "rs" + (rs.want || rs.have ? "" : " idle")},
      el("span", {class: "rs-name", text: rs.name}), el("span", {class: "pod-version", text: rs.version || "?"}),
      el("span", {text: `${rs.ready}/${rs.want} ready`}));
    if (rs.version) row.querySelector(".pod-version").style.color = versionColor(rs.version);
    rss.append(row);
  }
}

// --------------------------------------------------------------------------------------- labs
function onLabs(ev) {
  const box = document.getElementById("labs");
  box.hidden = false;
  for (const lab of ev.labs) {
    const list = el("ol", {class: "checks"});
    const entry = {el: null, checks: {}, list};
    for (const c of lab.checks) {
      const li = el("li", {class: "check pending", "data-check": c.name, "data-state": "pending"},
        el("span", {class: "mark-icon", text: "·"}), el("b", {text: c.name}),
        el("span", {class: "detail", text: c.description}), el("span", {class: "secs"}));
      entry.checks[c.name] = li; list.append(li);
    }
    entry.el = el("article", {class: "lab panel", "data-lab": lab.name, "data-state": "waiting"},
      el("h2", {}, el("span", {text: lab.title}), el("small", {class: "meta", text: ` lab ${lab.name}`})),
      el("p", {class: "lesson", text: lab.lesson}), el("div", {class: "phase", text: "대기 waiting"}), list);
    state.labs[lab.name] = entry;
    box.append(entry.el);
  }
}

function setCheck(entry, name, st, detail, secs) {
  let li = entry.checks[name];
  if (!li) {
    li = el("li", {class: "check"}, el("span", {class: "mark-icon"}), el("b", {text: name}), el("span", {class: "detail"}), el("span", {class: "secs"}));
    entry.checks[name] = li; entry.list.append(li);
  }
  li.className = "check " + st; li.dataset.state = st;
  li.querySelector(".mark-icon").textContent = {running: "…", passed: "✓", failed: "✗", pending: "·"}[st];
  if (detail !== undefined && detail !== "") li.querySelector(".detail").textContent = detail;
  if (secs !== undefined) li.querySelector(".secs").textContent = `${secs.toFixed(1)}s`;
}

function onLab(ev) {
  const entry = state.labs[ev.lab]; if (!entry) return;
  const phase = entry.el.querySelector(".phase");
  const d = ev.data;
  switch (ev.event) {
    case "apply": phase.textContent = `적용 apply: ${d || ""}`; entry.el.dataset.state = "running"; break;
    case "applied": phase.textContent = `적용됨 applied (${d} objects)`; break;
    case "check": setCheck(entry, d, "running"); phase.textContent = `확인 중 checking: ${d}`; break;
    case "checked":
      setCheck(entry, d.name, d.ok ? "passed" : "failed", d.detail, d.seconds);
      phase.textContent = `${d.ok ? "통과 passed" : "실패 failed"}: ${d.name}`;
      break;
    case "delete": phase.textContent = "삭제 delete"; break;
    case "deleted": phase.textContent = "삭제됨 deleted"; break;
    case "error": phase.textContent = `오류 error: ${d}`; entry.el.dataset.state = "failed"; break;
    case "log": phase.textContent = String(d); break;
  }
  if (ev.event === "checked" || ev.event === "deleted") {
    const states = Object.values(entry.checks).map(li => li.dataset.state);
    if (states.includes("failed")) entry.el.dataset.state = "failed";
    else if (states.every(s => s === "passed")) entry.el.dataset.state = "passed";
  }
}

// ------------------------------------------------------------------------------------- events
function handle(ev) {
  switch (ev.type) {
    case "hello":
      state.kind = ev.kind;
      document.getElementById("title").textContent = {demo: "demo", lab: "lab run", view: "demo view"}[ev.kind] + " " + (ev.title || "");
      break;
    case "run": onRun(ev); break;
    case "step": {
      document.getElementById("steps").hidden = false;
      const r = getRun(ev.run);
      document.getElementById("step-list").append(el("li", {text: (r ? r.info.strategy + ": " : "") + ev.text}));
      break;
    }
    case "nodes": onNodes(ev); break;
    case "cluster": onCluster(ev); break;
    case "probing": { const r = getRun(ev.run); if (r) { r.steadyMs = ev.steady_ms; r.dirty = true; } break; }
    case "update": { const r = getRun(ev.run); if (r) { r.updateMs = ev.update_ms; r.dirty = true; } break; }
    case "points": onPoints(ev); break;
    case "numbers": onNumbers(ev); break;
    case "result": onResult(ev); break;
    case "labs": onLabs(ev); break;
    case "lab": onLab(ev); break;
    case "end":
      state.done = true; state.ok = ev.ok;
      if (ev.ok) setStatus("finished", "끝 finished ✓");
      else if (ev.error) setStatus("error", "오류 error: " + ev.error);
      else setStatus("failed", "끝 finished ✗ 실패한 검사 checks failed");
      document.body.dataset.done = "true";
      break;
  }
}

let frame = 0;
function scheduleDraw() {
  if (frame) return;
  frame = requestAnimationFrame(() => {
    frame = 0;
    for (const r of state.runs) if (r && r.dirty) { r.dirty = false; drawRun(r); }
  });
}

function connect() {
  const es = new EventSource("events");
  es.onopen = () => { if (!state.done) setStatus("live", "실시간 live"); };
  es.onmessage = (m) => {
    const id = Number(m.lastEventId);
    if (id <= state.lastId) return;  // never apply an event twice
    state.lastId = id; state.events++;
    try { handle(JSON.parse(m.data)); } catch (e) { console.error(e); }
    if (state.done) es.close();
    scheduleDraw();
  };
  es.onerror = () => {
    if (state.done) { es.close(); return; }
    setStatus("reconnecting", "연결 끊김, 다시 연결 중 reconnecting…");
  };
}

window.addEventListener("resize", () => { for (const r of state.runs) if (r) r.dirty = true; scheduleDraw(); });
connect();
