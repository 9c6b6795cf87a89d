/*
 * dashboard.js — eddy's dashboard (docs/http.md#dashboard). Every second it
 * reads /v1/pipeline and /metrics of the server that served it (same
 * origin, nothing from elsewhere), draws the pipeline as an SVG graph and
 * fills the tables; the chosen Redis sink's leaderboard comes from
 * /v1/leaderboard. Charts use the vendored uPlot when it loaded.
 *
 * Every figure shown carries its exact value in a data- attribute
 * (data-v on table cells, data-records-in … on graph nodes) so that a test
 * can compare the page with the endpoint (tests/integration/t_dashboard.sh).
 */
"use strict";
(function () {
  const POLL_MS = 1000;
  const HISTORY = 300; /* points kept per chart (5 minutes at 1 s) */
  const KIND_ORDER = ["source", "decoder", "aggregator", "sink"];
  const SVG_NS = "http://www.w3.org/2000/svg";
  const $ = (sel) => document.querySelector(sel);

  let prev = null; /* {at (ms), actors: id -> figures, sources, sinks} of the last tick */
  let ticks = 0;
  let lbPrev = null; /* last leaderboard answer, for change per second */
  const hist = { t: [], srcRate: [], sinkRate: [], e2e99: [], write99: [] };
  let charts = null;

  /* ---- helpers ---- */
  function fmt(v, digits) {
    if (v === null || v === undefined || Number.isNaN(v)) return "–";
    if (typeof v !== "number") return String(v);
    return v.toLocaleString("en-US", { maximumFractionDigits: digits === undefined ? 0 : digits });
  }
  function td(value, text, cls) {
    const c = document.createElement("td");
    c.dataset.v = value === null || value === undefined ? "" : String(value);
    c.textContent = text === undefined ? fmt(value) : text;
    if (cls) c.className = cls;
    return c;
  }
  function svgEl(tag, attrs, parent) {
    const e = document.createElementNS(SVG_NS, tag);
    for (const k in attrs) e.setAttribute(k, attrs[k]);
    if (parent) parent.appendChild(e);
    return e;
  }
  function rate(now, before, dtS) {
    if (before === undefined || dtS <= 0) return null;
    return Math.max(0, (now - before) / dtS);
  }
  async function get(url, json) {
    const r = await fetch(url, { cache: "no-store" });
    const body = json ? await r.json() : await r.text();
    if (!r.ok) throw new Error(url + ": " + r.status + " " + (json && body.error ? body.error : ""));
    return body;
  }

  /* Prometheus text exposition 0.0.4: name -> [{labels, value}]. */
  function parseMetrics(text) {
    const out = {};
    for (const line of text.split("\n")) {
      if (!line || line[0] === "#") continue;
      const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})? (\S+)/.exec(line);
      if (!m) continue;
      const labels = {};
      if (m[3]) for (const l of m[3].matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g))
        labels[l[1]] = l[2].replace(/\\(.)/g, (_, c) => (c === "n" ? "\n" : c));
      (out[m[1]] = out[m[1]] || []).push({ labels, value: Number(m[4]) });
    }
    return out;
  }
  function metric(ms, name, label, value) {
    const s = (ms[name] || []).find((x) => label === undefined || x.labels[label] === value);
    return s ? s.value : null;
  }

  /* ---- the graph ---- */
  function drawGraph(p, r) {
    const g = $("#graph");
    while (g.firstChild) g.removeChild(g.firstChild);
    const byId = new Map(p.actors.map((a) => [a.id, a]));
    const incoming = new Map(), linked = new Set();
    for (const a of p.actors)
      for (const l of a.to) {
        linked.add(a.id);
        linked.add(l.to);
        incoming.set(l.to, (incoming.get(l.to) || 0) + 1);
      }
    const drawn = p.actors.filter((a) => linked.has(a.id));
    const kinds = [...new Set(drawn.map((a) => a.kind))].sort((x, y) => {
      const ix = KIND_ORDER.indexOf(x), iy = KIND_ORDER.indexOf(y);
      return (ix < 0 ? 99 : ix) - (iy < 0 ? 99 : iy);
    });
    const W = 178, H = 58, GX = 120, GY = 14, PAD = 16;
    const cols = kinds.map((k) => drawn.filter((a) => a.kind === k));
    const rows = Math.max(1, ...cols.map((c) => c.length));
    const height = PAD * 2 + rows * H + (rows - 1) * GY;
    const width = PAD * 2 + kinds.length * W + Math.max(0, kinds.length - 1) * GX;
    g.setAttribute("width", width);
    g.setAttribute("height", height);
    g.setAttribute("viewBox", `0 0 ${width} ${height}`);
    const pos = new Map();
    cols.forEach((col, ci) => {
      const top = (height - (col.length * H + (col.length - 1) * GY)) / 2;
      col.forEach((a, ri) => pos.set(a.id, { x: PAD + ci * (W + GX), y: top + ri * (H + GY) }));
    });
    const hwm = Math.max(1, p.runtime.mailbox_hwm);
    const edges = svgEl("g", { class: "edges" }, g);
    for (const a of drawn)
      for (const l of a.to) {
        const to = byId.get(l.to), s = pos.get(a.id), d = pos.get(l.to);
        if (!to || !s || !d) continue;
        const fill = Math.min(1, to.mailbox / hwm);
        /* An edge's own rate is known when it is its receiver's only input
         * or its sender's only output; the runtime counts per actor. */
        let er = null;
        if (incoming.get(l.to) === 1) er = r.actorIn.get(l.to);
        else if (a.to.length === 1) er = r.actorOut.get(a.id);
        const e = svgEl("g", {
          class: "edge" + (to.blocked ? " blocked" : ""), "data-from": a.name, "data-to": to.name,
          "data-kinds": l.kinds.join(","), "data-mailbox": to.mailbox,
          "data-rate": er === null || er === undefined ? "" : er.toFixed(1),
        }, edges);
        const x1 = s.x + W, y1 = s.y + H / 2, x2 = d.x, y2 = d.y + H / 2, mx = (x1 + x2) / 2;
        svgEl("path", {
          d: `M${x1},${y1} C${mx},${y1} ${mx},${y2} ${x2},${y2}`,
          stroke: to.blocked ? "#c0392b" : `hsl(${Math.round(120 * (1 - fill))},65%,40%)`,
          "stroke-width": (1.5 + 4 * fill).toFixed(1),
        }, e);
        const label = (er === null || er === undefined ? "" : fmt(er, 0) + "/s · ") + "q " + to.mailbox;
        const t = svgEl("text", { x: mx, y: (y1 + y2) / 2 - 3, "text-anchor": "middle" }, e);
        t.textContent = label;
      }
    for (const a of drawn) {
      const q = pos.get(a.id);
      const n = svgEl("g", {
        class: `node kind-${a.kind}` + (a.blocked ? " blocked" : ""), transform: `translate(${q.x},${q.y})`,
        "data-actor": a.name, "data-id": a.id, "data-kind": a.kind, "data-records-in": a.records_in,
        "data-records-out": a.records_out, "data-mailbox": a.mailbox, "data-blocked": a.blocked,
      }, g);
      svgEl("rect", { width: W, height: H }, n);
      const lines = [
        [a.name, "name"],
        [`in ${fmt(a.records_in)} · out ${fmt(a.records_out)}`, ""],
        [`${fmt(r.actorIn.get(a.id) ?? r.actorOut.get(a.id), 0)}/s · mailbox ${a.mailbox}` +
          (a.blocked ? " · BLOCKED" : ""), ""],
      ];
      lines.forEach(([text, cls], i) => {
        const t = svgEl("text", { x: 8, y: 17 + i * 16, class: cls }, n);
        t.textContent = text;
      });
    }
  }

  /* ---- tables ---- */
  function fillRows(sel, rows) {
    const tb = $(sel + " tbody");
    tb.replaceChildren(...rows);
  }
  /* A watermark (ms since the epoch, or null) as UTC text. */
  function wmText(wm, ended) {
    return wm !== null && wm !== undefined ? new Date(wm).toISOString().replace("T", " ").replace("Z", "")
      : ended ? "input ended" : "–";
  }
  function drawTables(p, ms, r) {
    const st = p.stats || { sources: {}, sinks: {} };
    fillRows("#actors", p.actors.map((a) => {
      const tr = document.createElement("tr");
      tr.dataset.actor = a.name;
      if (a.blocked) tr.className = "blocked";
      tr.append(td(a.id), td(a.name, a.name, "text"), td(a.kind, a.kind, "text"), td(a.worker),
        td(a.records_in), td(a.records_out), td(r.actorIn.get(a.id), fmt(r.actorIn.get(a.id), 0)),
        td(a.mailbox), td(a.blocked, a.blocked ? "yes" : "no"), td(a.backpressure_ms), td(a.restarts));
      return tr;
    }));
    fillRows("#sources", p.sources.map((s) => {
      const f = st.sources[s.name] || {}, tr = document.createElement("tr");
      tr.dataset.source = s.name;
      /* watermark_ms: null without event time (or none yet), or once the
       * input ended; lag_ms: wall clock minus the watermark. */
      const wm = s.watermark_ms ?? null, lag = s.lag_ms ?? null;
      tr.append(td(s.name, s.name, "text"), td(s.type, s.type, "text"), td(f.inputs), td(f.records),
        td(f.rejected), td(r.source.get(s.name), fmt(r.source.get(s.name), 0)),
        td(wm, wmText(wm, s.input_ended)), td(lag, lag === null ? "–" : fmt(lag / 1000, 1) + " s"));
      return tr;
    }));
    /* sources[].partitions: figures null where not known (no commit yet). */
    fillRows("#partitions", p.sources.flatMap((s) => (s.partitions || []).map((q) => {
      const tr = document.createElement("tr");
      tr.dataset.source = s.name;
      tr.dataset.topic = q.topic;
      tr.dataset.partition = String(q.partition);
      tr.dataset.at = String(s.partitions_unix_ms);
      tr.append(td(s.name, s.name, "text"), td(q.topic, q.topic, "text"), td(q.partition),
        td(q.committed_offset), td(q.read_offset), td(q.end_offset), td(q.lag_records),
        td(q.watermark_ms, wmText(q.watermark_ms, false)));
      return tr;
    })));
    fillRows("#sinks", p.sinks.map((s) => {
      const tr = document.createElement("tr");
      tr.dataset.sink = s.name;
      const rows = metric(ms, "eddy_sink_rows_written_total", "sink", s.name);
      tr.append(td(s.name, s.name, "text"), td(s.type, s.type, "text"), td(rows),
        td(r.sink.get(s.name), fmt(r.sink.get(s.name), 0)), td(s.writes), td(s.retries),
        td(s.failing_attempts), td(s.last_durable_checkpoint), td(s.write_ms_p50), td(s.write_ms_p99),
        td(s.last_error, s.last_error, "text"));
      return tr;
    }));
  }
  function drawSummary(p, ms) {
    const st = p.stats || {};
    const agg = st.aggregators || {}, lat = st.latency_ms || {};
    const cards = [
      ["checkpoints", "checkpoints", st.checkpoints],
      ["uptime", "uptime s", metric(ms, "eddy_uptime_seconds")],
      ["aggregated", "records aggregated", agg.records],
      ["keys", "keys", agg.keys],
      ["windows", "open windows", agg.windows_open],
      ["e2e-p50", "end-to-end p50 ms", lat.p50],
      ["e2e-p99", "end-to-end p99 ms", lat.p99],
    ];
    $("#summary").replaceChildren(...cards.map(([id, label, v]) => {
      const c = document.createElement("div");
      c.className = "card";
      c.id = "card-" + id;
      c.dataset.v = v === null || v === undefined ? "" : String(v);
      c.innerHTML = '<div class="label"></div><div class="value"></div>';
      c.firstChild.textContent = label;
      c.lastChild.textContent = fmt(v, id === "uptime" ? 1 : 0);
      return c;
    }));
  }

  /* ---- charts (uPlot, when vendored) ---- */
  function drawCharts(p, r) {
    const now = Date.now() / 1000;
    let src = 0, sink = 0, any = false;
    for (const v of r.source.values()) if (v !== null) { src += v; any = true; }
    for (const v of r.sink.values()) if (v !== null) sink += v;
    if (!any) return;
    hist.t.push(now);
    hist.srcRate.push(src);
    hist.sinkRate.push(sink);
    hist.e2e99.push(p.stats && p.stats.latency_ms ? p.stats.latency_ms.p99 : null);
    hist.write99.push(Math.max(0, ...p.sinks.map((s) => s.write_ms_p99)));
    for (const k in hist) if (hist[k].length > HISTORY) hist[k].shift();
    if (typeof uPlot === "undefined") {
      const w = $("#charts-missing");
      w.hidden = false;
      w.textContent = "The charting library (uPlot) is not installed: run make deps. The graph and tables work without it.";
      return;
    }
    const opts = (title, series) => ({
      title, width: 520, height: 220, scales: { x: { time: true } },
      series: [{}, ...series.map(([label, stroke]) => ({ label, stroke, width: 2 }))],
    });
    if (!charts) {
      charts = [
        new uPlot(opts("records per second", [["sources", "#2e8540"], ["sink rows", "#c77c1a"]]),
          [hist.t, hist.srcRate, hist.sinkRate], $("#chart-rates")),
        new uPlot(opts("latency, ms (p99 since start)", [["end to end", "#2c6fb7"], ["sink write", "#c0392b"]]),
          [hist.t, hist.e2e99, hist.write99], $("#chart-latency")),
      ];
    } else {
      charts[0].setData([hist.t, hist.srcRate, hist.sinkRate]);
      charts[1].setData([hist.t, hist.e2e99, hist.write99]);
    }
  }

  /* ---- the leaderboard ---- */
  function lbSinks(p) {
    const sel = $("#lb-sink");
    const names = p.sinks.filter((s) => s.type === "redis").map((s) => s.name);
    $("#leaderboard-box").hidden = names.length === 0;
    if (sel.options.length !== names.length) {
      const want = new URLSearchParams(location.search).get("sink");
      sel.replaceChildren(...names.map((n) => new Option(n, n, false, n === want)));
    }
    return names.length > 0;
  }
  async function drawLeaderboard() {
    const sink = $("#lb-sink").value;
    if (!sink) return;
    const q = new URLSearchParams({ sink, rows: $("#lb-rows").value || "10" });
    const key = $("#lb-key").value.trim();
    if (key) q.set("key", key);
    let lb;
    try {
      lb = await get("/v1/leaderboard?" + q, true);
    } catch (e) {
      $("#lb-status").textContent = String(e.message || e);
      $("#lb-status").dataset.state = "error";
      return;
    }
    const st = $("#lb-status");
    st.dataset.state = "ok";
    st.dataset.key = lb.key || "";
    st.textContent = lb.key === null ? `no sorted set matches ${lb.pattern} yet`
      : `${lb.key}: ${fmt(lb.card)} members` + (lb.ttl_ms >= 0 ? `, expires in ${fmt(lb.ttl_ms / 1000, 1)} s` : "");
    const before = new Map();
    if (lbPrev && lbPrev.key === lb.key) for (const e of lbPrev.rows) before.set(e.member, Number(e.score));
    const dt = lbPrev ? (lb.at_ms - lbPrev.at_ms) / 1000 : 0;
    fillRows("#leaderboard", lb.rows.map((e) => {
      const tr = document.createElement("tr");
      tr.dataset.rank = e.rank;
      tr.dataset.member = e.member;
      tr.dataset.score = e.score;
      const ch = before.has(e.member) && dt > 0 ? (Number(e.score) - before.get(e.member)) / dt : null;
      tr.append(td(e.rank), td(e.member, e.member, "text"), td(e.score, e.score), td(ch, fmt(ch, 1)));
      return tr;
    }));
    lbPrev = lb;
  }

  /* ---- one refresh ---- */
  async function tick() {
    let p, ms;
    try {
      const [pj, mt] = await Promise.all([get("/v1/pipeline", true), get("/metrics", false)]);
      p = pj;
      ms = parseMetrics(mt);
    } catch (e) {
      const s = $("#status");
      s.dataset.state = "error";
      s.textContent = "cannot read the endpoint: " + (e.message || e);
      return;
    }
    const at = performance.now();
    const dtS = prev ? (at - prev.at) / 1000 : 0;
    const r = { actorIn: new Map(), actorOut: new Map(), source: new Map(), sink: new Map() };
    for (const a of p.actors) {
      const b = prev && prev.actors.get(a.id);
      r.actorIn.set(a.id, b ? rate(a.records_in, b.records_in, dtS) : null);
      r.actorOut.set(a.id, b ? rate(a.records_out, b.records_out, dtS) : null);
    }
    const st = p.stats || { sources: {}, sinks: {} };
    for (const s of p.sources)
      r.source.set(s.name, prev ? rate((st.sources[s.name] || {}).records, prev.sources.get(s.name), dtS) : null);
    for (const s of p.sinks)
      r.sink.set(s.name, prev ? rate((st.sinks[s.name] || {}).rows_written, prev.sinks.get(s.name), dtS) : null);
    prev = {
      at, actors: new Map(p.actors.map((a) => [a.id, a])),
      sources: new Map(p.sources.map((s) => [s.name, (st.sources[s.name] || {}).records])),
      sinks: new Map(p.sinks.map((s) => [s.name, (st.sinks[s.name] || {}).rows_written])),
    };
    $("#pipeline-name").textContent = p.pipeline;
    const s = $("#status");
    s.dataset.state = p.readiness.ready ? "ready" : "not-ready";
    s.textContent = p.readiness.ready ? "ready" : "not ready: " + p.readiness.reason;
    drawSummary(p, ms);
    drawGraph(p, r);
    drawTables(p, ms, r);
    drawCharts(p, r);
    if (lbSinks(p)) await drawLeaderboard();
    document.body.dataset.ticks = String(++ticks);
  }

  async function loop() {
    await tick();
    setTimeout(loop, POLL_MS);
  }
  $("#lb-form").addEventListener("change", () => { lbPrev = null; drawLeaderboard(); });
  $("#lb-form").addEventListener("submit", (e) => e.preventDefault());
  loop();
})();
