// The spate dashboard: fetches the JSON API, draws inline SVG charts, and refetches when
// /api/events says the transcripts changed. No framework, no build step, nothing fetched
// from elsewhere.
//
// Safety: every string from the transcripts (project names, session ids, model and agent
// names) reaches the page through textContent or setAttribute only, never parsed as HTML.
"use strict";

(function () {
  const SVG = "http://www.w3.org/2000/svg";
  const PALETTE = ["#3b82f6", "#10b981", "#f59e0b", "#ef4444", "#8b5cf6", "#06b6d4", "#ec4899", "#84cc16"];
  const OTHER = "#9ca3af";

  // The token (when the daemon asks for one) comes in the URL's fragment, which browsers
  // never send to the server: #token=SECRET.
  const fragment = new URLSearchParams(location.hash.slice(1));
  if (fragment.get("token")) {
    sessionStorage.setItem("spate-token", fragment.get("token"));
    history.replaceState(null, "", location.pathname + location.search);
  }
  const token = sessionStorage.getItem("spate-token");

  const $ = (id) => document.getElementById(id);

  // ---- formatting (plain, so that tests can compute the same text) ----
  function group(digits) {
    const neg = digits.startsWith("-");
    if (neg) digits = digits.slice(1);
    const [int, frac] = digits.split(".");
    let out = "";
    for (let i = 0; i < int.length; i++) {
      if (i > 0 && (int.length - i) % 3 === 0) out += ",";
      out += int[i];
    }
    return (neg ? "-" : "") + out + (frac !== undefined ? "." + frac : "");
  }
  const fmtInt = (n) => group(String(Math.round(n)));
  const fmtUsd = (x) => "$" + group(Number(x).toFixed(2));
  function fmtShort(n) {
    const a = Math.abs(n);
    if (a >= 1e9) return (n / 1e9).toFixed(1) + "B";
    if (a >= 1e6) return (n / 1e6).toFixed(1) + "M";
    if (a >= 1e3) return (n / 1e3).toFixed(1) + "k";
    return String(Math.round(n * 100) / 100);
  }

  // ---- DOM helpers: text only ----
  function el(tag, attrs, text) {
    const e = tag.startsWith("svg:") ? document.createElementNS(SVG, tag.slice(4)) : document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, String(v));
    if (text !== undefined) e.textContent = String(text);
    return e;
  }
  function svg(w, h) {
    return el("svg:svg", { viewBox: `0 0 ${w} ${h}`, role: "img", preserveAspectRatio: "xMidYMid meet" });
  }
  function replace(target, child) {
    target.replaceChildren(child);
  }
  function empty(target, message) {
    const s = svg(400, 60);
    s.appendChild(el("svg:text", { x: 200, y: 34, "text-anchor": "middle", class: "empty" }, message));
    replace(target, s);
  }
  function clip(s, n) {
    s = String(s);
    return s.length > n ? s.slice(0, n - 1) + "…" : s;
  }

  // ---- the query of the page ----
  function params() {
    const p = new URLSearchParams();
    for (const id of ["since", "until", "tz"]) {
      const v = $(id).value.trim();
      if (v) p.set(id, v);
    }
    return p;
  }
  // The active block is about the present: the date range does not apply, the time zone
  // and the token limit do.
  function blockParams() {
    const p = new URLSearchParams({ active: "true" });
    for (const id of ["tz", "token_limit"]) {
      const v = $(id).value.trim();
      if (v) p.set(id, v);
    }
    return p;
  }
  async function api(path, p) {
    p = p || params();
    const url = path + (p.toString() ? "?" + p : "");
    const headers = token ? { Authorization: "Bearer " + token } : {};
    const r = await fetch(url, { headers, cache: "no-store" });
    const body = await r.json().catch(() => ({}));
    if (!r.ok) throw new Error(body.error || r.status + " " + r.statusText);
    return body;
  }

  // ---- charts ----
  function stackedDaily(target, legend, daily) {
    const days = daily.daily || [];
    if (!days.length) {
      legend.replaceChildren();
      return empty(target, "No usage in this range");
    }
    // the models with the highest cost get their own colour; the rest are "other"
    const byModel = new Map();
    for (const d of days) for (const b of d.modelBreakdowns) byModel.set(b.modelName, (byModel.get(b.modelName) || 0) + b.cost);
    const ranked = [...byModel.entries()].sort((a, b) => b[1] - a[1]).map((e) => e[0]);
    const shown = ranked.slice(0, PALETTE.length - 1);
    const colour = (m) => (shown.includes(m) ? PALETTE[shown.indexOf(m)] : OTHER);
    const W = 900, H = 260, L = 56, B = 28, T = 10, R = 8;
    const max = Math.max(...days.map((d) => d.totalCost), 1e-9);
    const s = svg(W, H);
    const bw = (W - L - R) / days.length;
    for (let i = 0; i <= 4; i++) {
      const y = T + ((H - T - B) * i) / 4;
      s.appendChild(el("svg:line", { x1: L, x2: W - R, y1: y, y2: y, class: "axis" }));
      s.appendChild(el("svg:text", { x: L - 6, y: y + 4, "text-anchor": "end", class: "tick" }, "$" + fmtShort((max * (4 - i)) / 4)));
    }
    days.forEach((d, i) => {
      let y = H - B;
      const x = L + i * bw;
      const parts = [...d.modelBreakdowns].sort((a, b) => ranked.indexOf(a.modelName) - ranked.indexOf(b.modelName));
      for (const b of parts) {
        const h = ((H - T - B) * b.cost) / max;
        if (h <= 0) continue;
        y -= h;
        const r = el("svg:rect", { x: x + bw * 0.1, y, width: Math.max(bw * 0.8, 0.5), height: h, fill: colour(b.modelName) });
        r.appendChild(el("svg:title", {}, `${d.date} · ${b.modelName}: ${fmtUsd(b.cost)}`));
        s.appendChild(r);
      }
      const every = Math.ceil(days.length / 10);
      if (i % every === 0) s.appendChild(el("svg:text", { x: x + bw / 2, y: H - 8, "text-anchor": "middle", class: "tick" }, d.date.slice(5)));
    });
    replace(target, s);
    legend.replaceChildren();
    for (const m of shown) {
      const li = el("li");
      li.appendChild(el("span", { class: "swatch" }));
      li.firstChild.style.background = colour(m);
      li.appendChild(document.createTextNode(m));
      legend.appendChild(li);
    }
    if (ranked.length > shown.length) {
      const li = el("li");
      li.appendChild(el("span", { class: "swatch" }));
      li.firstChild.style.background = OTHER;
      li.appendChild(document.createTextNode("other models"));
      legend.appendChild(li);
    }
  }

  // Horizontal bars: rows of {label, value, text}.
  function bars(target, rows, colourOf) {
    if (!rows.length) return empty(target, "Nothing in this range");
    const W = 470, row = 24, L = 190, R = 85;
    const H = rows.length * row + 6;
    const max = Math.max(...rows.map((r) => r.value), 1e-9);
    const s = svg(W, H);
    rows.forEach((r, i) => {
      const y = 3 + i * row;
      const label = el("svg:text", { x: L - 6, y: y + 15, "text-anchor": "end" }, clip(r.label, 25));
      label.appendChild(el("svg:title", {}, r.label));
      s.appendChild(label);
      const w = Math.max(((W - L - R) * r.value) / max, 1);
      const rect = el("svg:rect", { x: L, y: y + 3, width: w, height: row - 8, rx: 3, fill: colourOf ? colourOf(i) : PALETTE[0] });
      rect.appendChild(el("svg:title", {}, `${r.label}: ${r.text}`));
      s.appendChild(rect);
      s.appendChild(el("svg:text", { x: L + w + 5, y: y + 15, class: "tick" }, r.text));
    });
    replace(target, s);
  }

  function renderStats(st) {
    const t = st.totals;
    const set = (id, text) => {
      $(id).textContent = text;
    };
    set("stat-cost", fmtUsd(t.totalCost));
    set("stat-tokens", fmtInt(t.totalTokens));
    set("stat-requests", fmtInt(st.requests));
    set("stat-sessions", fmtInt(st.sessions));
    set("stat-projects", fmtInt(st.projects));
    set("stat-last", st.lastActivity ? st.lastActivity.replace("T", " ").slice(0, 16) + " UTC" : "—");
    bars($("chart-tokens"), [
      { label: "input", value: t.inputTokens, text: fmtShort(t.inputTokens) },
      { label: "output", value: t.outputTokens, text: fmtShort(t.outputTokens) },
      { label: "cache write", value: t.cacheCreationTokens, text: fmtShort(t.cacheCreationTokens) },
      { label: "cache read", value: t.cacheReadTokens, text: fmtShort(t.cacheReadTokens) },
    ], (i) => PALETTE[i]);
  }

  function top(list, labelOf, n) {
    return [...list]
      .sort((a, b) => b.totalCost - a.totalCost)
      .slice(0, n)
      .map((g) => ({ label: labelOf(g), value: g.totalCost, text: fmtUsd(g.totalCost) }));
  }

  // ---- the active 5-hour block ----
  function fmtLeft(minutes) {
    const m = Math.max(0, Math.round(minutes));
    return Math.floor(m / 60) + "h " + String(m % 60).padStart(2, "0") + "m";
  }
  function renderBlock(rep) {
    const b = (rep.blocks || []).find((x) => x.isActive);
    $("block-none").hidden = !!b;
    $("block-body").hidden = !b;
    if (!b) return;
    const set = (id, text) => {
      $(id).textContent = text;
    };
    set("block-cost", fmtUsd(b.costUSD));
    set("block-tokens", fmtInt(b.totalTokens));
    set("block-burn", b.burnRate ? `${fmtInt(b.burnRate.tokensPerMinute)} tokens/min · ${fmtUsd(b.burnRate.costPerHour)}/h` : "—");
    set("block-projection", b.projection ? `${fmtInt(b.projection.totalTokens)} tokens · ${fmtUsd(b.projection.totalCost)}` : "—");
    set("block-left", b.projection ? fmtLeft(b.projection.remainingMinutes) : "—");
    set("block-models", b.models.join(", "));
    const l = b.tokenLimitStatus;
    $("block-bar").hidden = !l;
    $("block-limit").hidden = !l;
    if (!l) return;
    // used now, projected at the end of the block, and the limit
    const W = 900, H = 26, scale = Math.max(l.limit, l.projectedUsage, b.totalTokens, 1);
    const x = (n) => (W * n) / scale;
    const s = svg(W, H);
    s.appendChild(el("svg:rect", { x: 0, y: 4, width: W, height: H - 8, rx: 4, class: "track" }));
    s.appendChild(el("svg:rect", { x: 0, y: 4, width: x(l.projectedUsage), height: H - 8, rx: 4, class: "projected" }));
    const used = el("svg:rect", { x: 0, y: 4, width: x(b.totalTokens), height: H - 8, rx: 4, class: "used" });
    used.appendChild(el("svg:title", {}, `${fmtInt(b.totalTokens)} tokens used`));
    s.appendChild(used);
    s.appendChild(el("svg:line", { x1: x(l.limit), x2: x(l.limit), y1: 0, y2: H, class: "limit-" + l.status }));
    replace($("block-bar"), s);
    set("block-limit", `${fmtInt(b.totalTokens)} of ${fmtInt(l.limit)} tokens used; projected ${fmtInt(l.projectedUsage)} (${Number(l.percentUsed).toFixed(1)}% of the limit, ${l.status})`);
  }
  let blockLoading = 0;
  let blockLoads = 0;
  async function loadBlock() {
    const mine = ++blockLoading;
    try {
      const rep = await api("/api/blocks", blockParams());
      if (mine !== blockLoading) return;
      renderBlock(rep);
      blockLoads += 1;
      document.body.dataset.blockLoads = String(blockLoads);
      document.body.dataset.block = "1";
    } catch (e) {
      $("error").textContent = "Could not load the active block: " + e.message;
      $("error").hidden = false;
    }
  }

  let loading = 0;
  let loads = 0;
  async function load() {
    const mine = ++loading;
    loadBlock();
    try {
      const [stats, daily, sessions, projects, dels] = await Promise.all([
        api("/api/stats"), api("/api/daily"), api("/api/session"), api("/api/project"), api("/api/delegations"),
      ]);
      if (mine !== loading) return; // a newer load is under way
      $("error").hidden = true;
      renderStats(stats);
      stackedDaily($("chart-daily"), $("legend-daily"), daily);
      bars($("chart-projects"), top(projects.projects, (p) => p.project, 10));
      bars($("chart-sessions"), top(sessions.sessions, (s) => `${s.sessionId.slice(0, 8)} · ${s.projectPath}`, 10));
      bars($("chart-agents"), [...dels.agents].slice(0, 10).map((a) => ({
        label: a.agentType, value: a.delegations, text: `${fmtInt(a.delegations)} · ${fmtUsd(a.totalCost)}`,
      })), (i) => PALETTE[(i + 4) % PALETTE.length]);
      loads += 1;
      document.body.dataset.loads = String(loads);
      document.body.dataset.ready = "1";
    } catch (e) {
      $("error").textContent = "Could not load the reports: " + e.message;
      $("error").hidden = false;
    }
  }

  // ---- live updates ----
  function setLive(state, text) {
    $("live").dataset.state = state;
    $("live-text").textContent = text;
  }
  function connect() {
    const url = "/api/events" + (token ? "?token=" + encodeURIComponent(token) : "");
    const es = new EventSource(url);
    es.addEventListener("hello", () => setLive("live", "live"));
    const onChange = (ev) => {
      let gen = "";
      try {
        gen = JSON.parse(ev.data).generation;
      } catch (_) { /* a notice without a body still means "changed" */ }
      setLive("live", "updated " + new Date().toLocaleTimeString() + (gen ? " (#" + gen + ")" : ""));
      load();
    };
    es.addEventListener("update", onChange);
    es.addEventListener("resync", onChange);
    es.onerror = () => setLive("down", "reconnecting…");
  }

  // ---- filters ----
  // The page's own URL keeps the reports' query and the token limit.
  function pageParams() {
    const p = params();
    const v = $("token_limit").value.trim();
    if (v) p.set("token_limit", v);
    return p;
  }
  function fillZones() {
    const zones = typeof Intl.supportedValuesOf === "function" ? Intl.supportedValuesOf("timeZone") : ["UTC"];
    const list = $("zones");
    for (const z of ["UTC", ...zones]) list.appendChild(el("option", { value: z }));
  }
  function init() {
    const q = new URLSearchParams(location.search);
    for (const id of ["since", "until", "tz", "token_limit"]) if (q.get(id)) $(id).value = q.get(id);
    fillZones();
    $("filters").addEventListener("submit", (ev) => {
      ev.preventDefault();
      history.replaceState(null, "", "?" + pageParams().toString());
      load();
    });
    $("reset").addEventListener("click", () => {
      $("since").value = "";
      $("until").value = "";
      history.replaceState(null, "", "?" + pageParams().toString());
      load();
    });
    load();
    connect();
    // the time left and which block is active change with the clock alone
    setInterval(loadBlock, 30000);
  }
  init();
})();
