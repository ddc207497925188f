/* The dashboard: cards and sparklines from this process's /metrics (polled every 2 s), the
 * recoveries by outcome, what the dialogs just did (counters that moved), and the newest audit
 * records (numbers masked by the gateway). A metric not exported shows "—". */

import { $, clock, delay, el, ltr, number } from "./dom.js";
import { labelKey, Metrics, parseMetrics } from "./metrics.js";

const POLL_MS = 2000;
const RECENT_MS = 5000;
const HISTORY = 60; // sparkline points: two minutes at POLL_MS
const ACTIVITY = 30;

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

export function metricsState(state, message) {
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

/** Build the cards, then poll /metrics and the recent audit records for as long as the page lives. */
export function startDashboard() {
  buildCards();
  pollMetrics();
  pollRecent();
}
