/* hamta-gateway web console: the dashboard (from /metrics), the demo's phone, the admin forms.
 *
 * Plain ES modules, no build step, nothing from another origin but the admin API the operator
 * names; every value from the network goes into the page as text, never as HTML.
 * State the browser tests read: <html data-ready>, <body data-metrics="ok|unavailable|error">,
 * [data-metric][data-value] on the dashboard, #ussd-box[data-state].
 */

import { initAdmin } from "./admin.js";
import { metricsState, startDashboard } from "./dashboard.js";
import { $ } from "./dom.js";
import { initPhone, scrollThread } from "./phone.js";

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

async function start() {
  startDashboard();
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
