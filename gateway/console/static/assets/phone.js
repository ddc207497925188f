/* The demo's phone: a handset texting the shortcode (an SMS thread) or dialling the USSD code
 * (a screen with an answer field), driven through the gateway's /console/api/phone/* routes,
 * which exist only in `make demo` (devtools/web_phone.py). Events arrive by long poll. */

import { $, clock, delay, el, ltr, number } from "./dom.js";
import { local, parseMsisdn, toAscii } from "./numbers.js";

const REPLY_MS = 10000; // devtools/phone.py's REPLY_TIMEOUT

const CODE = /(?<![0-9])[1-9][0-9]{5}(?![0-9])/;
const phone = { msisdn: "", after: 0, poll: 0, controller: null, mode: "sms", unseen: 0, ussd: "idle", queue: Promise.resolve(), noReply: 0 };


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

export function scrollThread() {
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

export function initPhone(config) {
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
