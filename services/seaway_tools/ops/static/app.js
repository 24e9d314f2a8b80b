// The Seaway ops view: polls the runner's JSON API and draws resources, logs, traces and metrics.
// Plain DOM, no build step, nothing loaded from elsewhere. Text from the services is only ever set with
// textContent, never parsed as HTML.
"use strict";

const POLL_MS = 2000;
const MAX_LOG_ROWS = 1000;
const PALETTE = ["#2454c5", "#e07a1f", "#1f8a4c", "#8e44ad", "#c0392b", "#16a085", "#7f8c8d", "#d4a017"];
const colours = {};

function colour(service) {
  if (!(service in colours)) colours[service] = PALETTE[Object.keys(colours).length % PALETTE.length];
  return colours[service];
}

function el(tag, attributes = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attributes)) {
    if (value === undefined || value === null) continue;
    if (key === "class") node.className = value;
    else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else node.setAttribute(key, value);
  }
  for (const child of children) {
    if (child !== undefined && child !== null) node.append(child instanceof Node ? child : String(child));
  }
  return node;
}

const svgNS = "http://www.w3.org/2000/svg";
function svg(tag, attributes = {}, text) {
  const node = document.createElementNS(svgNS, tag);
  for (const [key, value] of Object.entries(attributes)) node.setAttribute(key, value);
  if (text !== undefined) node.textContent = text;
  return node;
}

async function api(path, options) {
  const answer = await fetch(path, { credentials: "same-origin", ...options });
  const status = document.getElementById("connection");
  if (answer.status === 401) {
    status.textContent = "signed out: open the login URL seaway up printed";
    throw new Error("401");
  }
  status.textContent = answer.ok ? "live" : `error ${answer.status}`;
  if (!answer.ok) throw new Error(String(answer.status));
  return answer.json();
}

function seconds(value) {
  if (value === null || value === undefined) return "";
  if (value < 60) return `${Math.round(value)} s`;
  if (value < 3600) return `${Math.floor(value / 60)} min ${Math.round(value % 60)} s`;
  return `${Math.floor(value / 3600)} h ${Math.floor((value % 3600) / 60)} min`;
}

function ms(value) {
  if (value === null || value === undefined) return "–";
  return value < 10 ? `${value.toFixed(2)} ms` : `${Math.round(value)} ms`;
}

// --- tabs ----------------------------------------------------------------------------------------------

function showTab(name) {
  for (const section of document.querySelectorAll("section.tab")) section.hidden = section.id !== name;
  for (const link of document.querySelectorAll("nav a")) link.classList.toggle("active", link.dataset.tab === name);
  refresh();
}

window.addEventListener("hashchange", () => showTab(location.hash.slice(1) || "resources"));

// --- resources -----------------------------------------------------------------------------------------

const knownServices = new Set();

async function refreshResources() {
  const resources = await api("/api/resources");
  const rows = document.getElementById("resource-rows");
  rows.replaceChildren();
  for (const resource of resources) {
    if (resource.kind === "service") rememberService(resource.name);
    colour(resource.name); // in the resources' order, so a service keeps its colour on every tab
    const state = resource.state === "exited" ? `exited (${resource.exit_code})` : resource.state;
    const actions = resource.kind !== "service" ? "" : el("span", {},
      ...["start", "stop", "restart"].map((action) => el("button", {
        type: "button", "data-action": action, "data-resource": resource.name,
        onclick: () => act(resource.name, action),
      }, action)));
    rows.append(el("tr", {
      "data-resource": resource.name, "data-state": resource.state, "data-pid": resource.pid ?? "",
      "data-restarts": resource.restarts,
    },
      el("td", {}, el("strong", {}, resource.name), el("div", { class: "muted" }, resource.kind)),
      el("td", {}, el("span", { class: `state ${resource.state}` }, state),
        resource.detail ? el("div", { class: "muted detail" }, resource.detail) : null,
        resource.last_lines.length ? el("pre", { class: "last-lines" }, resource.last_lines.join("\n")) : null),
      el("td", {}, el("a", { href: resource.url, target: "_blank", rel: "noopener" }, resource.url)),
      el("td", { class: "num" }, seconds(resource.uptime_seconds)),
      el("td", { class: "num" }, resource.restarts),
      el("td", { class: "num" }, resource.pid ?? ""),
      el("td", {}, actions)));
  }
}

async function act(name, action) {
  await api(`/api/resources/${encodeURIComponent(name)}/${action}`, { method: "POST" });
  setTimeout(refreshResources, 300);
}

function rememberService(name) {
  if (knownServices.has(name)) return;
  knownServices.add(name);
  for (const id of ["log-service", "trace-service"]) {
    document.getElementById(id).append(el("option", { value: name }, name));
  }
}

// --- logs ----------------------------------------------------------------------------------------------

let lastLogSeq = 0;

function logFilters() {
  return new URLSearchParams({
    service: document.getElementById("log-service").value,
    level: document.getElementById("log-level").value,
    text: document.getElementById("log-text").value,
    trace_id: document.getElementById("log-trace").value.trim(),
  });
}

function resetLogs() {
  lastLogSeq = 0;
  document.getElementById("log-rows").replaceChildren();
  refreshLogs();
}

async function refreshLogs() {
  const query = logFilters();
  query.set("after", lastLogSeq);
  const answer = await api(`/api/logs?${query}`);
  const rows = document.getElementById("log-rows");
  for (const line of answer.lines) {
    lastLogSeq = Math.max(lastLogSeq, line.seq);
    const fields = Object.keys(line.fields).length
      ? el("span", { class: "muted" }, `  ${JSON.stringify(line.fields)}`) : null;
    rows.prepend(el("tr", { "data-service": line.service, "data-trace-id": line.trace_id || null },
      el("td", {}, line.time.slice(11, 23)),
      el("td", {}, el("span", { class: "chip", style: `background:${colour(line.service)}` }), line.service),
      el("td", { class: `level-${line.level}` }, line.level),
      el("td", { class: "message" }, line.message, fields),
      el("td", {}, line.trace_id
        ? el("a", { class: "trace-link", onclick: () => openTrace(line.trace_id) }, line.trace_id.slice(0, 12))
        : "")));
  }
  while (rows.children.length > MAX_LOG_ROWS) rows.lastChild.remove();
  document.getElementById("log-count").textContent =
    `${rows.children.length} shown; ${answer.kept} kept (limit ${answer.limit})`;
}

for (const id of ["log-service", "log-level", "log-text", "log-trace"]) {
  document.getElementById(id).addEventListener("input", resetLogs);
}
document.getElementById("log-filters").addEventListener("submit", (event) => event.preventDefault());

function showLogsOf(traceId) {
  document.getElementById("log-trace").value = traceId;
  lastLogSeq = 0;
  document.getElementById("log-rows").replaceChildren();
  location.hash = "#logs";
}

// --- traces --------------------------------------------------------------------------------------------

let openTraceId = null;

async function refreshTraces() {
  const query = new URLSearchParams({ service: document.getElementById("trace-service").value });
  if (document.getElementById("trace-errors").checked) query.set("errors", "1");
  if (document.getElementById("trace-background").checked) query.set("background", "1");
  const answer = await api(`/api/traces?${query}`);
  const rows = document.getElementById("trace-rows");
  rows.replaceChildren();
  for (const trace of answer.traces) {
    rows.append(el("tr", {
      class: `clickable${trace.trace_id === openTraceId ? " selected" : ""}`,
      "data-trace-id": trace.trace_id, "data-error": trace.error,
      onclick: () => openTrace(trace.trace_id),
    },
      el("td", {}, new Date(trace.start_ns / 1e6).toLocaleTimeString()),
      el("td", {}, trace.error ? el("span", { class: "level-ERROR" }, "✖ ") : null, trace.root),
      el("td", { class: "num" }, ms(trace.duration_ms)),
      el("td", {}, ...trace.services.map((service) => el("span", {},
        el("span", { class: "chip", style: `background:${colour(service)}` }), `${service} `))),
      el("td", { class: "num" }, trace.spans)));
  }
  document.getElementById("trace-count").textContent =
    `${answer.traces.length} traces; ${answer.kept_spans} spans kept (limit ${answer.limit})`;
}

for (const id of ["trace-service", "trace-errors", "trace-background"]) {
  document.getElementById(id).addEventListener("change", refreshTraces);
}

async function openTrace(traceId) {
  openTraceId = traceId;
  if (location.hash !== "#traces") location.hash = "#traces";
  const panel = document.getElementById("trace-detail");
  let trace;
  try {
    trace = await api(`/api/traces/${traceId}`);
  } catch (error) {
    panel.replaceChildren(el("p", { class: "muted" }, `Trace ${traceId} is not (or no longer) kept.`));
    return;
  }
  drawWaterfall(panel, trace);
  refreshTraces();
}

function drawWaterfall(panel, trace) {
  const spans = trace.spans;
  const start = Math.min(...spans.map((s) => s.start_ns));
  const end = Math.max(...spans.map((s) => s.end_ns));
  const total = Math.max(end - start, 1);
  const ids = new Set(spans.map((s) => s.span_id));
  const children = {};
  for (const span of spans) {
    const parent = ids.has(span.parent_span_id) ? span.parent_span_id : "";
    (children[parent] ||= []).push(span);
  }
  const ordered = [];
  const walk = (parent, depth) => {
    for (const span of (children[parent] || []).sort((a, b) => a.start_ns - b.start_ns)) {
      ordered.push([span, depth]);
      walk(span.span_id, depth + 1);
    }
  };
  walk("", 0);
  const attributes = el("pre", { class: "attributes" });
  const services = [...new Set(spans.map((s) => s.service))];
  panel.replaceChildren(
    el("h2", {}, `Trace ${trace.trace_id}`),
    el("p", {}, `${spans.length} spans, ${ms(total / 1e6)}, services: ${services.join(", ")} `,
      el("a", { class: "trace-link", id: "trace-logs", onclick: () => showLogsOf(trace.trace_id) },
        "logs of this trace")),
    el("div", { class: "waterfall", "data-trace-id": trace.trace_id },
      ...ordered.map(([span, depth]) => el("div", {
        class: `span-row${span.error ? " error" : ""}`, "data-service": span.service, "data-kind": span.kind,
        onclick: () => { attributes.textContent = JSON.stringify({ name: span.name, kind: span.kind,
          service: span.service, ...span.attributes }, null, 2); },
      },
        el("div", { class: "label", style: `padding-left:${depth * 12}px`, title: span.name },
          el("span", { class: "chip", style: `background:${colour(span.service)}` }),
          `${span.service}: ${span.name}`),
        el("div", { class: "track" }, el("div", { class: "bar", style:
          `left:${((span.start_ns - start) / total) * 100}%;width:${((span.end_ns - span.start_ns) / total) * 100}%;` +
          `background:${colour(span.service)}` })),
        el("div", { class: "duration" }, ms((span.end_ns - span.start_ns) / 1e6))))),
    attributes);
}

// --- metrics -------------------------------------------------------------------------------------------

function sparkline(points, key, format) {
  const width = 120, height = 28;
  const values = points.map((p) => p[key]).filter((v) => v !== null && v !== undefined);
  const box = svg("svg", { class: "spark", width, height, viewBox: `0 0 ${width} ${height}` });
  if (values.length < 2) return box;
  const top = Math.max(...values) || 1;
  const step = width / (points.length - 1);
  const path = points.map((p, i) => {
    const value = p[key] ?? 0;
    return `${i ? "L" : "M"}${(i * step).toFixed(1)},${(height - 2 - (value / top) * (height - 4)).toFixed(1)}`;
  }).join(" ");
  box.append(svg("path", { d: path, fill: "none", stroke: "#2454c5", "stroke-width": 1.5 }),
    svg("title", {}, `max ${format(top)}`));
  return box;
}

async function refreshMetrics() {
  const [metrics, topology] = await Promise.all([api("/api/metrics"), api("/api/topology")]);
  const cards = document.getElementById("metric-cards");
  cards.replaceChildren();
  for (const [service, figures] of Object.entries(metrics)) {
    const rows = Object.entries(figures.routes).map(([route, data]) => {
      const last = data.last || {};
      return el("tr", { "data-route": route },
        el("td", {}, route),
        el("td", { class: "num" }, last.rate !== undefined ? `${last.rate.toFixed(2)}/s` : "–"),
        el("td", {}, sparkline(data.series, "rate", (v) => `${v.toFixed(2)}/s`)),
        el("td", { class: "num" }, last.error_ratio === null || last.error_ratio === undefined
          ? "–" : `${(last.error_ratio * 100).toFixed(1)} %`),
        el("td", { class: "num" }, ms(last.p50 === null || last.p50 === undefined ? null : last.p50 * 1000)),
        el("td", { class: "num" }, ms(last.p99 === null || last.p99 === undefined ? null : last.p99 * 1000)),
        el("td", {}, sparkline(data.series.map((p) => ({ p99: p.p99 === null ? null : p.p99 * 1000 })), "p99", ms)));
    });
    const events = Object.entries(figures.events).map(([key, event]) => el("tr", {},
      el("td", {}, key), el("td", { class: "num" }, event.total), el("td", { class: "num" }, `${event.rate.toFixed(2)}/s`)));
    cards.append(el("div", { class: "card panel", "data-service": service },
      el("h3", {}, el("span", { class: "chip", style: `background:${colour(service)}` }), service),
      el("table", { class: "grid" },
        el("thead", {}, el("tr", {}, ...["Route (last minute)", "Rate", "", "Errors", "p50", "p99", ""]
          .map((h) => el("th", {}, h)))),
        el("tbody", {}, ...rows)),
      events.length ? el("table", { class: "grid events" },
        el("thead", {}, el("tr", {}, el("th", {}, "Events (queue, type, outcome)"), el("th", {}, "Total"),
          el("th", {}, "Rate"))),
        el("tbody", {}, ...events)) : null));
  }
  drawTopology(topology);
}

const COLUMN = 200; // px from one column of nodes to the next

function drawTopology({ nodes, edges }) {
  const column = {};
  const start = nodes.find((n) => n.kind === "ingress") || nodes[0];
  if (!start) return;
  const queue = [start.id];
  column[start.id] = 0;
  while (queue.length) {
    const id = queue.shift();
    for (const edge of edges.filter((e) => e.source === id && !(e.target in column))) {
      column[edge.target] = column[id] + 1;
      queue.push(edge.target);
    }
  }
  const last = Math.max(0, ...Object.values(column));
  for (const node of nodes) if (!(node.id in column)) column[node.id] = last + 1;
  const rows = {};
  const position = {};
  for (const node of nodes) {
    const c = column[node.id];
    rows[c] = (rows[c] || 0) + 1;
    position[node.id] = { x: 20 + c * COLUMN, y: 30 + (rows[c] - 1) * 56 };
  }
  const width = 20 + (Math.max(...Object.values(column)) + 1) * COLUMN;
  const height = 90 + Math.max(...Object.values(rows)) * 56;
  const box = svg("svg", { width, height, viewBox: `0 0 ${width} ${height}` });
  const defs = svg("defs");
  const marker = svg("marker", { id: "arrow", viewBox: "0 0 10 10", refX: 9, refY: 5, markerWidth: 6, markerHeight: 6,
    orient: "auto-start-reverse" });
  marker.append(svg("path", { d: "M 0 0 L 10 5 L 0 10 z", fill: "#9aa3b5" }));
  defs.append(marker);
  box.append(defs);
  const nodeWidth = 130, nodeHeight = 30;
  for (const edge of edges) {
    const a = position[edge.source], b = position[edge.target];
    if (!a || !b) continue;
    let d, labelX, labelY;
    if (b.x > a.x) {
      const x1 = a.x + nodeWidth, y1 = a.y + nodeHeight / 2, x2 = b.x, y2 = b.y + nodeHeight / 2;
      d = `M${x1},${y1} C${x1 + 30},${y1} ${x2 - 30},${y2} ${x2},${y2}`;
      [labelX, labelY] = [(x1 + x2) / 2, (y1 + y2) / 2 - 4];
    } else if (b.x === a.x) {
      // the same column (orders calling catalog): straight up or down
      const x = a.x + nodeWidth - 24, down = b.y > a.y;
      const y1 = down ? a.y + nodeHeight : a.y, y2 = down ? b.y : b.y + nodeHeight;
      d = `M${x},${y1} L${x},${y2}`;
      [labelX, labelY] = [x + 30, (y1 + y2) / 2 + 4];
    } else {
      // back (fulfillment calling orders): an arc below every node
      const x1 = a.x + nodeWidth / 2, y1 = a.y + nodeHeight, x2 = b.x + nodeWidth / 2, y2 = b.y + nodeHeight;
      const bottom = height - 4;
      d = `M${x1},${y1} C${x1},${bottom} ${x2},${bottom} ${x2},${y2}`;
      [labelX, labelY] = [(x1 + x2) / 2, bottom - 20];
    }
    box.append(svg("path", { class: "edge", d, "marker-end": "url(#arrow)", "data-source": edge.source,
      "data-target": edge.target }));
    const label = edge.rate === null ? edge.label : `${edge.label} ${edge.rate.toFixed(2)}/s`;
    box.append(svg("text", { class: "edge-label", x: labelX, y: labelY, "text-anchor": "middle" }, label));
  }
  for (const node of nodes) {
    const { x, y } = position[node.id];
    const fill = node.kind === "service" ? colour(node.id) : node.kind === "ingress" ? "#14213d" : "#eef1f5";
    box.append(svg("rect", { x, y, width: nodeWidth, height: nodeHeight, rx: 5, fill, stroke: "#9aa3b5",
      "data-node": node.id }));
    box.append(svg("text", { x: x + 8, y: y + 19, style: node.kind === "service" || node.kind === "ingress"
      ? "fill:#fff;font-weight:600" : "" }, node.kind === "service" || node.kind === "ingress"
      ? node.label : `${node.kind}: ${node.label}`));
  }
  document.getElementById("topology").replaceChildren(box);
}

// --- polling -------------------------------------------------------------------------------------------

let busy = false;
async function refresh() {
  if (busy) return;
  busy = true;
  try {
    await refreshResources();
    const tab = location.hash.slice(1) || "resources";
    if (tab === "logs") await refreshLogs();
    if (tab === "traces") {
      await refreshTraces();
      if (openTraceId && !document.querySelector("#trace-detail .waterfall")) await openTrace(openTraceId);
    }
    if (tab === "metrics") await refreshMetrics();
  } catch (error) {
    // shown in the header by api(); the next poll tries again
  } finally {
    busy = false;
  }
}

showTab(location.hash.slice(1) || "resources");
setInterval(refresh, POLL_MS);
