/* hamta-gateway web console: dashboard (polls /metrics), demo phone, admin forms.
 *
 * Vanilla JS, no build step, nothing from another origin but the admin API the operator names.
 * Every value from the network is put in the page as text (textContent), never as HTML.
 * State the browser tests read: <html data-ready>, <body data-metrics="ok|unavailable|error">,
 * [data-metric][data-value] on the dashboard, #ussd-box[data-state].
 */
"use strict";

(() => {
  const POLL_MS = 2000;
  const RECENT_MS = 5000;
  const HISTORY = 60; // sparkline points: two minutes at POLL_MS
  const ACTIVITY = 30;
  const REPLY_MS = 10000; // devtools/phone.py's REPLY_TIMEOUT

  const fa = new Intl.NumberFormat("fa-IR", { maximumFractionDigits: 2 });
  const faTime = new Intl.DateTimeFormat("fa-IR", { hour: "2-digit", minute: "2-digit", second: "2-digit" });

  const $ = (selector, root = document) => root.querySelector(selector);
  const delay = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

  /** el("td", {class: "num", dir: "ltr", data: {x: 1}}, "text", childNode) */
  function el(tag, attrs = {}, ...children) {
    const node = document.createElement(tag);
    for (const [key, value] of Object.entries(attrs)) {
      if (value === undefined || value === null || value === false) continue;
      if (key === "class") node.className = value;
      else if (key === "data") Object.assign(node.dataset, value);
      else if (key === "text") node.textContent = value;
      else node.setAttribute(key, value === true ? "" : String(value));
    }
    for (const child of children) {
      if (child === null || child === undefined) continue;
      node.append(child instanceof Node ? child : document.createTextNode(String(child)));
    }
    return node;
  }

  const ltr = (text) => el("bdi", { dir: "ltr" }, text);
  const number = (value) => (value === null || value === undefined ? "—" : fa.format(value));
  const clock = (epochSeconds) => faTime.format(new Date(epochSeconds * 1000));

  // -- Prometheus text format (exposition format 0.0.4) -----------------------------------------

  function parseValue(token) {
    if (token === "+Inf" || token === "Inf") return Infinity;
    if (token === "-Inf") return -Infinity;
    if (token === "NaN") return NaN;
    const value = Number(token);
    return token === undefined || token === "" || Number.isNaN(value) ? null : value;
  }

  function parseLabels(line, start) {
    const labels = {};
    let i = start;
    while (i < line.length && line[i] !== "}") {
      const key = /^\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*=\s*"/.exec(line.slice(i));
      if (!key) return null;
      i += key[0].length;
      let value = "";
      while (i < line.length && line[i] !== '"') {
        if (line[i] === "\\" && i + 1 < line.length) {
          i += 1;
          value += line[i] === "n" ? "\n" : line[i];
        } else {
          value += line[i];
        }
        i += 1;
      }
      if (line[i] !== '"') return null;
      labels[key[1]] = value;
      i += 1;
      i += /^\s*,?\s*/.exec(line.slice(i))[0].length;
    }
    return line[i] === "}" ? { labels, end: i + 1 } : null;
  }

  function parseSample(line) {
    const name = /^[a-zA-Z_:][a-zA-Z0-9_:]*/.exec(line);
    if (!name) return null;
    let labels = {};
    let end = name[0].length;
    if (line[end] === "{") {
      const parsed = parseLabels(line, end + 1);
      if (!parsed) return null;
      ({ labels, end } = parsed);
    }
    const value = parseValue(line.slice(end).trim().split(/\s+/)[0]);
    return value === null ? null : { name: name[0], labels, value };
  }

  /** name -> [{labels, value}]; lines it cannot read are skipped, never fatal. */
  function parseMetrics(text) {
    const samples = new Map();
    for (const raw of text.split("\n")) {
      const line = raw.trim();
      if (!line || line.startsWith("#")) continue;
      const sample = parseSample(line);
      if (!sample) continue;
      if (!samples.has(sample.name)) samples.set(sample.name, []);
      samples.get(sample.name).push(sample);
    }
    return samples;
  }

  const matches = (labels, match) => Object.entries(match).every(([key, value]) => labels[key] === value);
  const labelKey = (labels) => JSON.stringify(Object.entries(labels).sort());

  class Metrics {
    constructor(samples) {
      this.samples = samples;
    }
    of(name, match = {}) {
      return (this.samples.get(name) || []).filter((sample) => matches(sample.labels, match));
    }
    /** The sum over the matching series; null when the metric is not exported at all. */
    sum(name, match = {}) {
      const found = this.of(name, match);
      return found.length ? found.reduce((total, sample) => total + sample.value, 0) : null;
    }
    by(name, label, match = {}) {
      const totals = new Map();
      for (const sample of this.of(name, match)) {
        const key = sample.labels[label] ?? "";
        totals.set(key, (totals.get(key) || 0) + sample.value);
      }
      return totals;
    }
    /** histogram_quantile over every series of a histogram, since the process started. */
    quantile(name, q) {
      const buckets = new Map();
      for (const sample of this.of(`${name}_bucket`)) {
        const le = parseValue(sample.labels.le);
        if (le !== null) buckets.set(le, (buckets.get(le) || 0) + sample.value);
      }
      const bounds = [...buckets.keys()].sort((a, b) => a - b);
      const total = bounds.length ? buckets.get(bounds[bounds.length - 1]) : 0;
      if (!total) return null;
      const rank = q * total;
      let lower = 0;
      let below = 0;
      for (const bound of bounds) {
        const count = buckets.get(bound);
        if (count >= rank) {
          if (bound === Infinity) return lower;
          return lower + (bound - lower) * ((rank - below) / Math.max(count - below, 1e-9));
        }
        lower = bound;
        below = count;
      }
      return null;
    }
  }

  // -- words --------------------------------------------------------------------------------------

  const WORDS = {
    sms: "پیامک", ussd: "USSD", restore: "بازیابی", password: "رمز", help: "راهنما", menu: "منو",
    accepted: "پذیرفته", throttled: "کندشده", failed: "ناموفق",
    inbound: "ورودی", outbound: "خروجی", transceiver: "ترنسیور", receiver: "گیرنده", transmitter: "فرستنده",
  };
  const OUTCOMES = [
    ["restored", "دستگاه بازیابی شد"],
    ["password_reset", "رمز جدید فرستاده شد"],
    ["refused_r2", "نیازی نیست: در کارتابل کد ملی (R2)"],
    ["refused_r6", "رد: سیم‌کارت فعال دیگر (R6)"],
    ["mismatch", "عدم تطابق"],
    ["locked", "مسدود شد"],
    ["expired", "کد منقضی شد"],
    ["cancelled", "لغو شد"],
    ["rate_limited", "محدودیت نرخ"],
  ];
  const OUTCOME_WORDS = Object.fromEntries(OUTCOMES);
  const ACTIONS = {
    restore_device: "بازیابی دستگاه",
    recover_password: "رمز جدید کارتابل",
    registry_load: "بارگذاری سامانه ثبت",
  };
  const word = (value) => WORDS[value] || OUTCOME_WORDS[value] || value || "—";

  // -- dashboard -----------------------------------------------------------------------------------

  const CARDS = [
    { id: "mo", title: "پیام دریافتی (MO)", metric: "hamta_mo_received_total", by: "channel", counter: true },
    { id: "turns", title: "گام‌های گفت‌وگو", metric: "hamta_turns_total", by: "flow", counter: true },
    { id: "recoveries", title: "بازیابی‌ها", metric: "hamta_recoveries_total", by: "outcome", counter: true },
    { id: "mt", title: "قطعه‌های پیامک ارسالی", metric: "hamta_mt_segments_total", by: "status", counter: true },
    { id: "binds", title: "اتصال SMPP", metric: "hamta_smpp_bound", kind: "binds" },
    { id: "reconnects", title: "اتصال دوباره SMPP", metric: "hamta_smpp_reconnects_total", counter: true },
    { id: "partitions", title: "پارتیشن‌های در اختیار", metric: "hamta_partitions_held" },
    { id: "backlog-in", title: "صف ورودی", metric: "hamta_queue_depth", match: { direction: "inbound" } },
    { id: "backlog-out", title: "صف خروجی", metric: "hamta_queue_depth", match: { direction: "outbound" } },
    { id: "dead", title: "پیام‌های ناموفق", metric: "hamta_dead_letters" },
    { id: "limited", title: "محدودشده", metric: "hamta_rate_limited_total", by: "limit", counter: true },
    { id: "refused", title: "MO ردشده", metric: "hamta_mo_refused_total", by: "reason", counter: true },
    { id: "latency", title: "زمان پاسخ p50 / p95 (ثانیه)", metric: "hamta_reply_seconds", kind: "latency" },
  ];

  const dashboard = { cards: new Map(), previous: null, activity: [], polls: 0 };

  function sparkline() {
    const svg = document.createElementNS("http://www.w3.org/2000/svg", "svg");
    svg.setAttribute("viewBox", `0 0 ${HISTORY - 1} 100`);
    svg.setAttribute("preserveAspectRatio", "none");
    svg.setAttribute("aria-hidden", "true");
    const base = document.createElementNS(svg.namespaceURI, "line");
    for (const [key, value] of Object.entries({ x1: 0, y1: 99, x2: HISTORY - 1, y2: 99 })) base.setAttribute(key, value);
    const line = document.createElementNS(svg.namespaceURI, "polyline");
    svg.append(base, line);
    return { svg, line };
  }

  function buildCards() {
    const root = $("#cards");
    for (const card of CARDS) {
      const labels = card.match ? Object.entries(card.match).map(([k, v]) => `${k}=${v}`).join(",") : undefined;
      const value = el("output", { class: "value", data: { metric: card.metric, value: "" }, "data-missing": true }, "—");
      if (labels) value.dataset.labels = labels;
      const sub = el("div", { class: "sub" });
      const chart = sparkline();
      root.append(el("article", { class: "card", id: `card-${card.id}` }, el("h3", { text: card.title }), value, sub, chart.svg));
      dashboard.cards.set(card.id, { ...card, value, sub, line: chart.line, history: [], last: null });
    }
    const body = $("#recoveries tbody");
    for (const [code, text] of OUTCOMES) {
      body.append(el("tr", {}, el("td", {}, text, " ", el("code", { text: code })),
        el("td", { class: "num", data: { outcome: code, value: "" } }, "—")));
    }
  }

  function show(output, value, text) {
    output.textContent = text ?? number(value);
    output.dataset.value = value === null || value === undefined ? "" : String(value);
    output.toggleAttribute("data-missing", value === null || value === undefined);
    const chart = output.parentElement.querySelector("svg");
    if (chart) chart.style.visibility = value === null || value === undefined ? "hidden" : "visible";
  }

  function plot(card, point) {
    card.history.push(point ?? 0);
    if (card.history.length > HISTORY) card.history.shift();
    const top = Math.max(...card.history, 1e-9);
    const offset = HISTORY - card.history.length;
    const points = card.history.map((v, i) => `${offset + i},${(99 - (v / top) * 92).toFixed(1)}`);
    card.line.setAttribute("points", points.join(" "));
  }

  // Short words for the cards' breakdown lines (the recoveries table has the long ones).
  const SHORT = {
    restored: "بازیابی", password_reset: "رمز جدید", refused_r2: "R2", refused_r6: "R6", mismatch: "عدم تطابق",
    locked: "مسدود", expired: "منقضی", cancelled: "لغو", rate_limited: "محدود",
  };

  /** "name value · name value", each pair isolated so Persian and Latin labels never mix. */
  function pairs(entries) {
    const out = [];
    for (const [key, value] of entries) {
      if (out.length) out.push(" · ");
      out.push(el("bdi", {}, `${SHORT[key] || word(key)} ${number(value)}`));
    }
    return out;
  }

  const breakdown = (totals) => pairs([...totals.entries()].sort((a, b) => b[1] - a[1]));

  function renderCard(card, metrics) {
    if (card.kind === "binds") return renderBinds(card, metrics);
    if (card.kind === "latency") return renderLatency(card, metrics);
    const value = metrics.sum(card.metric, card.match || {});
    show(card.value, value);
    card.sub.replaceChildren(...(card.by && value !== null ? breakdown(metrics.by(card.metric, card.by, card.match || {})) : []));
    // Counters plot what happened since the last poll; gauges plot their level.
    const point = card.counter ? (card.last === null || value === null ? 0 : Math.max(value - card.last, 0)) : value;
    card.last = value;
    plot(card, point);
  }

  function renderBinds(card, metrics) {
    const binds = metrics.of(card.metric);
    const up = binds.filter((sample) => sample.value >= 1).length;
    show(card.value, binds.length ? up : null, binds.length ? `${number(up)} / ${number(binds.length)}` : "—");
    card.sub.replaceChildren(el("span", { class: "binds" }, ...binds.map((sample) => {
      const name = sample.labels.bind || "bind";
      const isUp = sample.value >= 1;
      return el("span", { class: `pill ${isUp ? "up" : "down"}` }, `${word(name)}: ${isUp ? "وصل" : "قطع"}`);
    })));
    plot(card, binds.length ? up : 0);
  }

  function renderLatency(card, metrics) {
    const p50 = metrics.quantile(card.metric, 0.5);
    const p95 = metrics.quantile(card.metric, 0.95);
    show(card.value, p95, p95 === null ? "—" : `${number(p50)} / ${number(p95)}`);
    const turn = metrics.quantile("hamta_turn_seconds", 0.95);
    const screen = metrics.quantile("hamta_ussd_screen_seconds", 0.95);
    card.sub.replaceChildren(...pairs([["گام p95:", turn], ["صفحه USSD p95:", screen]]));
    plot(card, p95);
  }

  function renderRecoveries(metrics) {
    const totals = metrics.by("hamta_recoveries_total", "outcome");
    const exported = metrics.of("hamta_recoveries_total").length > 0;
    const body = $("#recoveries tbody");
    for (const [code] of OUTCOMES) {
      const cell = body.querySelector(`[data-outcome="${code}"]`);
      show(cell, exported ? totals.get(code) || 0 : null);
    }
    for (const [code, value] of totals) { // an outcome added later: shown too
      if (OUTCOME_WORDS[code] || body.querySelector(`[data-outcome="${CSS.escape(code)}"]`)) continue;
      const cell = el("td", { class: "num", data: { outcome: code, value: String(value) } }, number(value));
      body.append(el("tr", {}, el("td", {}, el("code", { text: code })), cell));
    }
  }

  /** Steps and outcomes that moved since the last poll: what the dialogs just did. */
  function noteActivity(metrics) {
    const now = Date.now() / 1000;
    const current = new Map();
    for (const name of ["hamta_turns_total", "hamta_recoveries_total"]) {
      for (const sample of metrics.of(name)) current.set(name + labelKey(sample.labels), { name, ...sample });
    }
    if (dashboard.previous) {
      for (const [key, sample] of current) {
        const before = dashboard.previous.get(key)?.value ?? 0;
        if (sample.value > before) dashboard.activity.unshift({ at: now, sample, delta: sample.value - before });
      }
      dashboard.activity.length = Math.min(dashboard.activity.length, ACTIVITY);
    }
    dashboard.previous = current;
    renderActivity();
  }

  function renderActivity() {
    const list = $("#activity");
    list.replaceChildren(...dashboard.activity.map(({ at, sample, delta }) => {
      const { flow, step, outcome, procedure } = sample.labels;
      const what = sample.name === "hamta_recoveries_total"
        ? `بازیابی (${word(procedure)}): ${word(outcome)}`
        : `${word(flow)} · ${step || "—"} · ${word(outcome)}`;
      return el("li", {}, el("time", { text: clock(at) }), el("span", { dir: "auto" }, what), el("span", { class: "hint" }, `+${number(delta)}`));
    }));
    $("#activity-empty").hidden = dashboard.activity.length > 0;
  }

  function metricsState(state, message) {
    document.body.dataset.metrics = state;
    const live = $("#live");
    live.dataset.state = state === "ok" ? "ok" : "down";
    live.textContent = state === "ok" ? `به‌روز: ${clock(Date.now() / 1000)}` : "متریک‌ها در دسترس نیست";
    const notice = $("#metrics-status");
    notice.hidden = state === "ok";
    notice.textContent = message || "";
  }

  async function pollMetrics() {
    for (;;) {
      try {
        // Relative: /console/../metrics is the same process's /metrics, behind a path prefix too.
        const response = await fetch("../metrics", { cache: "no-store" });
        if (!response.ok) {
          render(new Metrics(new Map()), false);
          metricsState("unavailable", `متریک‌ها در دسترس نیست: GET /metrics پاسخ ${response.status} داد. شمارنده‌ها «—» نشان داده می‌شوند.`);
        } else {
          render(new Metrics(parseMetrics(await response.text())), true);
          metricsState("ok");
        }
      } catch (error) {
        metricsState("error", `درگاه پاسخ نمی‌دهد (${error.message}).`);
      }
      dashboard.polls += 1;
      document.body.dataset.polls = String(dashboard.polls);
      await delay(POLL_MS);
    }
  }

  function render(metrics, live) {
    for (const card of dashboard.cards.values()) renderCard(card, metrics);
    renderRecoveries(metrics);
    if (live) noteActivity(metrics); // the first live poll is the baseline, not activity
  }

  function recentDetail(record) {
    const parts = [];
    if (record.from_sim) parts.push("از ", ltr(record.from_sim), " ");
    if (record.to_national_id_cartable) parts.push("به کارتابل کد ملی");
    else if (record.to_sim) parts.push("به ", ltr(record.to_sim));
    if (record.sim_added === "1") parts.push("سیم‌کارت به کارتابل افزوده شد");
    if (record.msisdn && record.msisdn !== record.requester) parts.push(ltr(record.msisdn));
    return parts;
  }

  async function pollRecent() {
    for (;;) {
      try {
        const response = await fetch("api/recent?limit=15", { cache: "no-store" });
        const data = await response.json();
        const rows = (data.records || []).map((record) => el("tr", {},
          el("td", { text: clock(record.at) }),
          el("td", {}, ACTIONS[record.action] || record.action),
          el("td", {}, record.requester ? ltr(record.requester) : "—"),
          el("td", {}, ...recentDetail(record))));
        $("#recent tbody").replaceChildren(...rows);
        $("#recent-empty").hidden = rows.length > 0;
        $("#recent-empty").textContent = response.ok ? "رکوردی نیست." : (data.error || "خطا");
      } catch (error) {
        $("#recent-empty").hidden = false;
        $("#recent-empty").textContent = `خواندن رکوردها ممکن نشد (${error.message}).`;
      }
      await delay(RECENT_MS);
    }
  }

  // -- tabs ----------------------------------------------------------------------------------------

  function showTab() {
    let name = location.hash.replace("#", "") || "dashboard";
    if (!$(`#${CSS.escape(name)}.tab`) || $(`[data-tab="${CSS.escape(name)}"]`)?.hidden) name = "dashboard";
    for (const section of document.querySelectorAll(".tab")) section.hidden = section.id !== name;
    for (const link of document.querySelectorAll("[data-tab]")) {
      if (link.dataset.tab === name) link.setAttribute("aria-current", "page");
      else link.removeAttribute("aria-current");
    }
    if (name === "phone") scrollThread();
  }

  // -- phone ---------------------------------------------------------------------------------------

  const CODE = /(?<![0-9])[1-9][0-9]{5}(?![0-9])/;
  const phone = { msisdn: "", after: 0, poll: 0, controller: null, mode: "sms", unseen: 0, ussd: "idle", queue: Promise.resolve(), noReply: 0 };

  const toAscii = (text) => text.replace(/[۰-۹]/g, (d) => String(d.charCodeAt(0) - 0x06f0)).replace(/[٠-٩]/g, (d) => String(d.charCodeAt(0) - 0x0660));

  /** 98XXXXXXXXXX, or "" when `text` is not an Iranian mobile number (as the gateway reads them). */
  function parseMsisdn(text) {
    let digits = toAscii(text).replace(/[\s\-./()]/g, "");
    if (digits.startsWith("+")) digits = `00${digits.slice(1)}`;
    if (!/^[0-9]+$/.test(digits)) return "";
    for (const prefix of ["0098", "98", "0"]) {
      if (digits.startsWith(prefix) && digits.length === prefix.length + 10) {
        digits = digits.slice(prefix.length);
        break;
      }
    }
    return /^9[0-9]{9}$/.test(digits) ? `98${digits}` : "";
  }
  const local = (msisdn) => (msisdn.startsWith("98") ? `0${msisdn.slice(2)}` : msisdn);

  function phoneError(message) {
    const box = $("#phone-error");
    box.hidden = !message;
    box.textContent = message || "";
  }

  async function phonePost(path, body) {
    phoneError("");
    try {
      const response = await fetch(path, {
        method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body),
      });
      if (response.ok) return true;
      const data = await response.json().catch(() => ({}));
      phoneError(data.error || `HTTP ${response.status}`);
    } catch (error) {
      phoneError(`درگاه پاسخ نمی‌دهد (${error.message}).`);
    }
    return false;
  }

  function selectNumber(msisdn) {
    clearTimeout(phone.noReply);
    phone.msisdn = msisdn;
    phone.after = 0;
    phone.unseen = 0;
    sessionStorage.setItem("phone-number", msisdn);
    $("#handset-number").textContent = local(msisdn);
    const option = [...$("#phone-number").options].find((o) => o.value === msisdn);
    $("#phone-number").value = option ? msisdn : "";
    $("#phone-hint").textContent = option ? option.dataset.label : "";
    $("#thread").replaceChildren();
    $("#ussd-log").replaceChildren();
    $("#ussd-screen").textContent = "";
    setUssd("idle", "");
    updateBadge();
    phoneError("");
    pollThread();
  }

  async function pollThread() {
    const mine = ++phone.poll;
    phone.controller?.abort();
    const controller = new AbortController();
    phone.controller = controller;
    while (mine === phone.poll) {
      try {
        const query = new URLSearchParams({ msisdn: phone.msisdn, after: String(phone.after) });
        const response = await fetch(`api/phone/thread?${query}`, { signal: controller.signal, cache: "no-store" });
        const data = await response.json();
        if (mine !== phone.poll) return;
        if (!response.ok) throw new Error(data.error || `HTTP ${response.status}`);
        for (const event of data.events) {
          if (event.seq <= phone.after) continue;
          phone.after = event.seq;
          addEvent(event);
        }
      } catch (error) {
        if (controller.signal.aborted || mine !== phone.poll) return;
        phoneError(`دریافت پیام‌ها ممکن نشد (${error.message}); دوباره تلاش می‌شود.`);
        await delay(1500);
      }
    }
  }

  function bubble(kind, text, at, code) {
    const item = el("li", { class: `bubble ${kind}`, dir: "auto", data: { kind } }, el("span", { class: "text" }, text), el("time", { dir: "ltr", text: clock(at) }));
    if (code) {
      const use = el("button", { type: "button", class: "secondary use-code", data: { code } }, "درج کد ", ltr(code));
      use.addEventListener("click", () => {
        const input = phone.mode === "ussd" && phone.ussd === "user" ? $("#ussd-text") : $("#sms-text");
        input.value = code;
        input.focus();
      });
      item.append(use);
    }
    return item;
  }

  /** As the terminal phone says "(no reply)": nothing came within REPLY_MS of a live SMS. */
  function expectReply(sentAt) {
    clearTimeout(phone.noReply);
    const left = REPLY_MS - (Date.now() - sentAt * 1000);
    if (left <= 0) return; // an old message, replayed when the number was picked
    phone.noReply = setTimeout(() => {
      $("#thread").append(el("li", { class: "bubble note", data: { kind: "no-reply" } }, "(پاسخی نیامد)"));
      scrollThread();
    }, left);
  }

  function scrollThread() {
    const thread = $("#thread");
    thread.scrollTop = thread.scrollHeight;
  }

  function addEvent(event) {
    const thread = $("#thread");
    switch (event.kind) {
      case "sms_mo":
        thread.append(bubble("mo", event.text, event.at));
        expectReply(event.at);
        break;
      case "sms_mt":
        clearTimeout(phone.noReply);
        thread.append(bubble("mt", event.text, event.at, (CODE.exec(toAscii(event.text)) || [])[0]));
        if (phone.mode !== "sms") phone.unseen += 1;
        updateBadge();
        break;
      case "error":
        thread.append(bubble("error", event.text, event.at));
        break;
      default:
        ussdEvent(event);
    }
    scrollThread();
  }

  const ENDED = { user: "قطع کردید.", network: "شبکه گفت‌وگو را بست (پاسخی نیامد).", refused: "درگاه ورودی را نپذیرفت." };

  function ussdEvent(event) {
    const log = $("#ussd-log");
    if (event.kind === "ussd_dial") {
      $("#ussd-screen").textContent = "";
      setUssd("network", "در حال شماره‌گیری…");
      log.append(el("li", {}, "شماره‌گیری ", ltr(event.text)));
    } else if (event.kind === "ussd_answer") {
      setUssd("network", "در انتظار پاسخ…");
      log.append(el("li", {}, "پاسخ: ", el("bdi", {}, event.text)));
    } else if (event.kind === "ussd_screen") {
      $("#ussd-screen").textContent = event.text;
      setUssd(event.ends ? "ended" : "user", event.ends ? "پایان گفت‌وگو." : "پاسخ را بنویسید و بفرستید، یا لغو کنید.");
      log.append(el("li", { dir: "auto" }, event.text));
    } else if (event.kind === "ussd_ended") {
      setUssd("ended", ENDED[event.text] || "گفت‌وگو پایان یافت.");
      log.append(el("li", {}, ENDED[event.text] || event.text));
    }
    log.scrollTop = log.scrollHeight;
  }

  function setUssd(state, status) {
    phone.ussd = state;
    $("#ussd-box").dataset.state = state;
    $("#ussd-status").textContent = status;
    const answering = state === "user";
    $("#ussd-text").disabled = !answering;
    $("#ussd-send").disabled = !answering;
    $("#ussd-cancel").disabled = !(state === "user" || state === "network");
    if (answering && phone.mode === "ussd") $("#ussd-text").focus();
  }

  function setMode(mode) {
    phone.mode = mode;
    $("#sms-view").hidden = mode !== "sms";
    $("#ussd-view").hidden = mode !== "ussd";
    $("#mode-sms").setAttribute("aria-pressed", String(mode === "sms"));
    $("#mode-ussd").setAttribute("aria-pressed", String(mode === "ussd"));
    if (mode === "sms") {
      phone.unseen = 0;
      scrollThread();
    }
    updateBadge();
  }

  function updateBadge() {
    const badge = $("#sms-badge");
    badge.hidden = phone.unseen === 0;
    badge.textContent = number(phone.unseen);
  }

  /** The handset acts in the order the tester did: an SMS typed while the last one is still on
   * its way is sent after it, never dropped. */
  function enqueue(action) {
    phone.queue = phone.queue.then(action).catch((error) => phoneError(error.message));
  }

  function initPhone(config) {
    $("#nav-phone").hidden = false;
    $("#shortcode").textContent = config.shortcode;
    $("#dial-code").value = config.ussd_code;
    const select = $("#phone-number");
    select.append(el("option", { value: "", text: "— شماره‌ای دیگر —" }));
    for (const { msisdn, label } of config.phone_numbers) {
      select.append(el("option", { value: msisdn, data: { label } }, `${local(msisdn)} — ${label}`));
    }
    select.addEventListener("change", () => select.value && selectNumber(select.value));
    $("#phone-custom-form").addEventListener("submit", (event) => {
      event.preventDefault();
      const msisdn = parseMsisdn($("#phone-custom").value);
      if (!msisdn) return phoneError("شماره همراه معتبر نیست (مثلا 09121234567).");
      selectNumber(msisdn);
    });
    $("#mode-sms").addEventListener("click", () => setMode("sms"));
    $("#mode-ussd").addEventListener("click", () => setMode("ussd"));
    $("#sms-form").addEventListener("submit", (event) => {
      event.preventDefault();
      const input = $("#sms-text");
      const text = input.value.trim();
      if (!text) return;
      input.value = "";
      input.focus();
      const msisdn = phone.msisdn;
      enqueue(async () => {
        if (!(await phonePost("api/phone/sms", { msisdn, text })) && !input.value) input.value = text;
      });
    });
    $("#dial-form").addEventListener("submit", (event) => {
      event.preventDefault();
      const body = { msisdn: phone.msisdn, dial: $("#dial-code").value.trim() };
      enqueue(() => phonePost("api/phone/ussd", body));
    });
    $("#ussd-form").addEventListener("submit", (event) => {
      event.preventDefault();
      const input = $("#ussd-text");
      const text = input.value.trim();
      if (!text || phone.ussd !== "user") return;
      input.value = "";
      setUssd("network", "در حال ارسال…"); // one answer per screen
      enqueue(async () => {
        if (!(await phonePost("api/phone/ussd", { msisdn: phone.msisdn, text })) && phone.ussd === "network") {
          setUssd("user", "");
        }
      });
    });
    $("#ussd-cancel").addEventListener("click", () => {
      enqueue(() => phonePost("api/phone/ussd", { msisdn: phone.msisdn, cancel: true }));
    });
    const first = config.phone_numbers[0]?.msisdn || "";
    selectNumber(sessionStorage.getItem("phone-number") || first);
  }

  // -- admin ---------------------------------------------------------------------------------------

  function adminResult(title, content, failed) {
    $("#admin-result").hidden = false;
    const heading = $("#admin-result-title");
    heading.textContent = title;
    heading.classList.toggle("error", Boolean(failed));
    $("#admin-result-body").replaceChildren(...content);
    $("#admin-result").scrollIntoView({ block: "nearest" });
  }

  function cell(value) {
    if (value === null || value === undefined) return "—";
    if (Array.isArray(value) || typeof value === "object") return renderValue(value);
    return el("span", { dir: "auto" }, String(value));
  }

  /** Any JSON as tables: a list of objects as rows, an object as name/value rows. */
  function renderValue(value, rowActions) {
    if (Array.isArray(value)) {
      if (!value.length) return el("p", { class: "hint", text: "خالی است." });
      if (value.every((item) => item && typeof item === "object" && !Array.isArray(item))) {
        const columns = [...new Set(value.flatMap((item) => Object.keys(item)))];
        const head = el("tr", {}, ...columns.map((c) => el("th", { dir: "ltr", text: c })), rowActions ? el("th") : null);
        const rows = value.map((item) => el("tr", {}, ...columns.map((c) => el("td", {}, cell(item[c]))), rowActions ? el("td", {}, ...rowActions(item)) : null));
        return el("div", { class: "table-wrap" }, el("table", { class: "table" }, el("thead", {}, head), el("tbody", {}, ...rows)));
      }
      return el("ul", {}, ...value.map((item) => el("li", {}, cell(item))));
    }
    if (value && typeof value === "object") {
      const rows = Object.entries(value).map(([key, item]) => el("tr", {}, el("th", { dir: "ltr", text: key }), el("td", {}, cell(item))));
      return el("div", { class: "table-wrap" }, el("table", { class: "table" }, el("tbody", {}, ...rows)));
    }
    return el("pre", { text: String(value) });
  }

  async function adminCall(method, path, title, rowActions) {
    const base = $("#admin-url").value.trim().replace(/\/+$/, "");
    const token = sessionStorage.getItem("admin-token") || $("#admin-token").value;
    if (!base) return adminResult(title, [el("p", { text: "نشانی API مدیریت را وارد کنید." })], true), null;
    let response;
    try {
      response = await fetch(base + path, {
        method, mode: "cors", cache: "no-store",
        headers: { Authorization: `Bearer ${token}`, Accept: "application/json" },
      });
    } catch (error) {
      adminResult(title, [el("p", { text: `API مدیریت در دسترس نیست: نشانی، درگاه یا CORS را بررسی کنید (${error.message}).` })], true);
      return null;
    }
    const text = await response.text();
    let data = text;
    try {
      data = text ? JSON.parse(text) : {};
    } catch {
      // not JSON: shown as it is
    }
    const status = response.ok ? "" : ` — HTTP ${response.status}${response.status === 401 ? " (توکن نادرست یا خالی)" : ""}`;
    adminResult(title + status, [renderValue(data, response.ok ? rowActions : undefined)], !response.ok);
    return response.ok ? data : null;
  }

  const firstList = (data) => (Array.isArray(data) ? data : Object.values(data || {}).find(Array.isArray) || []);

  function deadLetterActions(item) {
    if (item.id === undefined) return [];
    const id = encodeURIComponent(String(item.id));
    const replay = el("button", { type: "button", class: "secondary" }, "ارسال دوباره");
    const remove = el("button", { type: "button", class: "danger" }, "حذف");
    replay.addEventListener("click", () => adminCall("POST", `/v1/dead-letters/${id}/replay`, `ارسال دوباره ${item.id}`));
    remove.addEventListener("click", () => adminCall("DELETE", `/v1/dead-letters/${id}`, `حذف ${item.id}`));
    return [el("span", { class: "buttons" }, replay, remove)];
  }

  async function listDeadLetters() {
    const data = await adminCall("GET", "/v1/dead-letters", "پیام‌های ناموفق");
    if (data !== null && typeof data === "object") {
      adminResult("پیام‌های ناموفق", [renderValue(firstList(data), deadLetterActions)]);
    }
  }

  function initAdmin(config) {
    $("#admin-url").value = sessionStorage.getItem("admin-url") || config.admin_url || "";
    const saved = sessionStorage.getItem("admin-token");
    $("#admin-conn").textContent = saved ? "توکن برای این نشست ذخیره است." : "";
    $("#admin-connect").addEventListener("submit", (event) => {
      event.preventDefault();
      sessionStorage.setItem("admin-url", $("#admin-url").value.trim());
      sessionStorage.setItem("admin-token", $("#admin-token").value);
      $("#admin-token").value = "";
      $("#admin-conn").textContent = "توکن برای این نشست ذخیره است.";
      adminCall("GET", "/v1/queues", "آزمون اتصال: صف‌ها");
    });
    $("#admin-forget").addEventListener("click", () => {
      sessionStorage.removeItem("admin-token");
      $("#admin-token").value = "";
      $("#admin-conn").textContent = "توکن پاک شد.";
    });
    $("#form-subscriber").addEventListener("submit", (event) => {
      event.preventDefault();
      const typed = event.target.elements.msisdn.value.trim();
      const msisdn = encodeURIComponent(parseMsisdn(typed) || typed);
      const action = event.submitter?.dataset.action || "show";
      if (action === "show") adminCall("GET", `/v1/subscribers/${msisdn}`, "وضعیت مشترک");
      else if (action === "reset-session") adminCall("POST", `/v1/subscribers/${msisdn}/reset-session`, "بازنشانی نشست");
      else adminCall("POST", `/v1/subscribers/${msisdn}/reset-lockout`, "رفع مسدودی");
    });
    $("#form-audit").addEventListener("submit", (event) => {
      event.preventDefault();
      const query = new URLSearchParams();
      for (const input of event.target.elements) {
        if (input.name && input.value.trim()) query.set(input.name, input.value.trim());
      }
      adminCall("GET", `/v1/audit?${query}`, "رکوردهای ممیزی");
    });
    $("#dead-list").addEventListener("click", listDeadLetters);
    $("#dead-purge").addEventListener("click", () => {
      if (confirm("همه پیام‌های ناموفق پاک شوند؟")) adminCall("POST", "/v1/dead-letters/purge", "پاک‌سازی پیام‌های ناموفق");
    });
    $("#queues").addEventListener("click", () => adminCall("GET", "/v1/queues", "صف‌ها"));
    $("#partitions").addEventListener("click", () => adminCall("GET", "/v1/partitions", "پارتیشن‌ها"));
  }

  // -- start ---------------------------------------------------------------------------------------

  async function start() {
    buildCards();
    pollMetrics();
    pollRecent();
    let config = { admin_url: "", phone_enabled: false, shortcode: "", ussd_code: "", phone_numbers: [] };
    try {
      config = { ...config, ...(await (await fetch("config.json", { cache: "no-store" })).json()) };
    } catch (error) {
      metricsState("error", `پیکربندی کنسول خوانده نشد (${error.message}).`);
    }
    if (config.phone_enabled) initPhone(config);
    initAdmin(config);
    window.addEventListener("hashchange", showTab);
    showTab();
    document.documentElement.dataset.ready = "1";
  }

  start();
})();
