/* The Prometheus text format (exposition format 0.0.4), read tolerantly: a line it cannot
 * read is skipped, a metric not exported is null (shown as "—"), never an error. */

export function parseValue(token) {
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
export function parseMetrics(text) {
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
export const labelKey = (labels) => JSON.stringify(Object.entries(labels).sort());

export class Metrics {
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
