/* The admin forms: each calls the admin API (its own port, its own token) from the browser and
 * shows the JSON answer as tables. The token lives in this tab's sessionStorage only. */

import { $, el } from "./dom.js";
import { parseMsisdn } from "./numbers.js";

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

export function initAdmin(config) {
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
