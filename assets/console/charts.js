// The overview's two charts (tokens and cost per day, stacked by model) drawn with uPlot (vendor/uplot.js), in UTC days; the exact numbers stay readable in the figure's data-chart attribute and the table beside it.
import uPlot from "./vendor/uplot.js";
import { count, usd } from "./format.js";

const COLORS = ["#2a5bd7", "#d9822b", "#2b9d6f", "#b5439c", "#7a6ff0", "#a8861a", "#4a4f5c", "#d64545"];
const HEIGHT = 230;
const charts = [];
let observer = null;

/** A model's colour: stable for the model's place in the chart's (sorted) list. */
export const colorOf = (i) => COLORS[i % COLORS.length];

/** The label of a model id in the charts (requests that reached no model have none). */
export const modelLabel = (m) => m || "(no model)";

function widthOf(node) {
  return Math.max(260, Math.floor(node.clientWidth || node.parentElement?.clientWidth || 600) - 2);
}

/** Points the legend at the last day (today). */
function today(u) {
  const last = u.data[0].length - 1;
  if (last >= 0 && u.legend.idx !== last) queueMicrotask(() => u.setLegend({ idx: last }));
}

/**
 * One stacked bar chart: `values[s][d]` for series s (models, in `data.series` order) and day
 * d; the stack is drawn as running sums, top first, and the legend shows each model's own value.
 */
function stacked(node, title, data, pick, format) {
  const xs = data.days.map((d) => Date.parse(`${d}T00:00:00Z`) / 1000);
  const raw = data.series.map(pick);
  const sums = [];
  raw.forEach((vals, s) => sums.push(vals.map((v, d) => v + (s ? sums[s - 1][d] : 0))));
  const order = raw.map((_, s) => s).reverse(); // tallest (the running total) first
  const bars = uPlot.paths.bars({ size: [0.7, 44], align: 0 });
  const series = [
    { label: "Day (UTC)", value: (u, ts) => (ts == null ? "–" : new Date(ts * 1000).toISOString().slice(0, 10)) },
    ...order.map((s) => ({
      label: modelLabel(data.series[s].model),
      stroke: colorOf(s),
      fill: colorOf(s),
      width: 0,
      paths: bars,
      points: { show: false },
      value: (u, v, si, i) => (i == null ? "–" : format(raw[s][i])),
    })),
  ];
  const empty = !raw.some((vals) => vals.some((v) => v > 0));
  const opts = {
    title: empty ? `${title}: nothing in these 30 days` : title,
    width: widthOf(node),
    height: HEIGHT,
    tzDate: (ts) => uPlot.tzDate(new Date(ts * 1000), "Etc/UTC"),
    cursor: { points: { show: false }, drag: { x: false, y: false } },
    scales: {
      x: { time: true, range: (u, min, max) => [min - 43_200, max + 43_200] },
      y: { range: (u, min, max) => [0, max > 0 ? max * 1.08 : 1] },
    },
    axes: [
      { space: 56, values: (u, splits) => splits.map((ts) => new Date(ts * 1000).toISOString().slice(5, 10)) },
      { size: 64, values: (u, splits) => splits.map((v) => format(v, true)) },
    ],
    series,
    // Without a cursor over the chart (touch screens), the legend shows today's values.
    hooks: { ready: [today], setSize: [today], setCursor: [(u) => { if (u.cursor.idx == null) today(u); }] },
  };
  const chartData = [xs, ...order.map((s) => sums[s])];
  node.replaceChildren();
  const chart = new uPlot(opts, chartData, node);
  chart.consoleNode = node;
  return chart;
}

/** Formats tokens for the legend (exact) and the axis (rounded). */
function tokens(v, axis) {
  if (!axis) return count(v);
  return v >= 1_000_000 ? `${+(v / 1_000_000).toFixed(1)}M` : v >= 1000 ? `${+(v / 1000).toFixed(1)}k` : String(Math.round(v));
}

/** Formats micro-dollars for the legend (exact) and the axis (rounded). */
function dollars(v, axis) {
  if (!axis) return usd(v);
  const d = v / 1_000_000;
  return d === 0 ? "$0" : d >= 1 ? `$${+d.toFixed(2)}` : `$${+d.toPrecision(2)}`;
}

/**
 * Draws both charts for `data` (format.js chartData) into #chart-tokens and #chart-cost, puts
 * the exact numbers on #chart's data-chart attribute, and keeps the charts as wide as their box.
 */
export function drawCharts(data) {
  clearCharts();
  const figure = document.getElementById("chart");
  figure.dataset.chart = JSON.stringify(data);
  charts.push(
    stacked(document.getElementById("chart-tokens"), "Tokens per day", data, (s) => s.tokens, tokens),
    stacked(document.getElementById("chart-cost"), "Cost per day (USD)", data, (s) => s.costMicros, dollars),
  );
  let pending = false;
  observer = new ResizeObserver(() => {
    if (pending) return;
    pending = true;
    requestAnimationFrame(() => {
      pending = false;
      for (const c of charts) {
        const w = widthOf(c.consoleNode);
        if (Math.abs(w - c.width) > 1) c.setSize({ width: w, height: HEIGHT });
      }
    });
  });
  observer.observe(figure);
}

/** Removes the charts and their data (sign out, reload). */
export function clearCharts() {
  observer?.disconnect();
  observer = null;
  while (charts.length) charts.pop().destroy();
  const figure = document.getElementById("chart");
  if (figure) delete figure.dataset.chart;
  for (const id of ["chart-tokens", "chart-cost"]) document.getElementById(id)?.replaceChildren();
}
