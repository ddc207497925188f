/* Small DOM and formatting helpers: every value goes in as text, never as HTML. */

export const fa = new Intl.NumberFormat("fa-IR", { maximumFractionDigits: 2 });
export const faTime = new Intl.DateTimeFormat("fa-IR", { hour: "2-digit", minute: "2-digit", second: "2-digit" });

export const $ = (selector, root = document) => root.querySelector(selector);
export const delay = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** el("td", {class: "num", dir: "ltr", data: {x: 1}}, "text", childNode) */
export function el(tag, attrs = {}, ...children) {
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

export const ltr = (text) => el("bdi", { dir: "ltr" }, text);
export const number = (value) => (value === null || value === undefined ? "—" : fa.format(value));
export const clock = (epochSeconds) => faTime.format(new Date(epochSeconds * 1000));
