// The usage page's chart: tokens per day as stacked bars, cost per day as a line, in inline SVG.
//
// It reads the same numbers the table shows (a json_script element) and draws them with our own
// code: no library, no network. The table stays the accessible, exact version of the data.

const SVG = 'http://www.w3.org/2000/svg';
const MAX_WIDTH = 720;
const MIN_WIDTH = 300;
const HEIGHT = 260;
const MARGIN = { top: 16, right: 60, bottom: 36, left: 44 };
const COLORS = { input: '#0b57d0', output: '#0f7b6c', cost: '#8a4b00' };
const MAX_FILLED_DAYS = 366;

// Days from `from` to `to` (ISO dates), with zeros for days without usage.
export function dailySeries(rows, from, to) {
  const byDay = new Map(rows.map((row) => [row.day, row]));
  const days = [];
  const start = from ? new Date(`${from}T00:00:00Z`) : null;
  const end = to ? new Date(`${to}T00:00:00Z`) : null;
  const span = start && end ? Math.round((end - start) / 86400000) + 1 : 0;
  if (span <= 0 || span > MAX_FILLED_DAYS) return rows.map((row) => ({ ...row }));
  for (let i = 0; i < span; i += 1) {
    const day = new Date(start.getTime() + i * 86400000).toISOString().slice(0, 10);
    days.push(byDay.get(day) || { day, input: 0, output: 0, cost: 0 });
  }
  return days;
}

// A round axis maximum at or above `value`: 1, 2 or 5 times a power of ten.
export function niceCeiling(value) {
  if (!(value > 0)) return 1;
  const power = 10 ** Math.floor(Math.log10(value));
  for (const step of [1, 2, 5, 10]) {
    if (step * power >= value) return step * power;
  }
  return 10 * power;
}

function element(name, attributes = {}, text = '') {
  const node = document.createElementNS(SVG, name);
  for (const [key, value] of Object.entries(attributes)) node.setAttribute(key, String(value));
  if (text) node.textContent = text;
  return node;
}

function formatTokens(value) {
  if (value >= 1e6) return `${(value / 1e6).toFixed(value % 1e6 ? 1 : 0)}M`;
  if (value >= 1e3) return `${(value / 1e3).toFixed(value % 1e3 ? 1 : 0)}k`;
  return String(value);
}

function formatCost(value) {
  return `$${value < 0.1 && value > 0 ? value.toFixed(4) : value.toFixed(2)}`;
}

function shortDay(iso) {
  const date = new Date(`${iso}T00:00:00Z`);
  return date.toLocaleDateString(undefined, { month: 'short', day: 'numeric', timeZone: 'UTC' });
}

// Draw the chart in `container`, `width` user units wide (its pixel width, so text stays legible).
export function renderChart(container, days, available = MAX_WIDTH) {
  const width = Math.round(Math.max(MIN_WIDTH, Math.min(MAX_WIDTH, available)));
  const plotWidth = width - MARGIN.left - MARGIN.right;
  const plotHeight = HEIGHT - MARGIN.top - MARGIN.bottom;
  const tokenMax = niceCeiling(Math.max(...days.map((d) => d.input + d.output), 0));
  const costMax = niceCeiling(Math.max(...days.map((d) => d.cost), 0));
  const slot = plotWidth / Math.max(days.length, 1);
  const barWidth = Math.max(2, Math.min(28, slot * 0.7));
  const y = (value, max) => MARGIN.top + plotHeight - (value / max) * plotHeight;
  const x = (i) => MARGIN.left + slot * (i + 0.5);

  const svg = element('svg', {
    viewBox: `0 0 ${width} ${HEIGHT}`,
    role: 'img',
    'aria-labelledby': 'usage-chart-title usage-chart-desc',
    class: 'chart-svg',
  });
  const totalTokens = days.reduce((sum, d) => sum + d.input + d.output, 0);
  const totalCost = days.reduce((sum, d) => sum + d.cost, 0);
  svg.append(
    element('title', { id: 'usage-chart-title' }, 'Tokens and cost per day'),
    element('desc', { id: 'usage-chart-desc' }, `${days.length} days, ${totalTokens} tokens, ${formatCost(totalCost)} in all. The table below lists every day.`),
  );

  // Grid and axes.
  for (let i = 0; i <= 4; i += 1) {
    const tokens = (tokenMax * i) / 4;
    const level = y(tokens, tokenMax);
    svg.append(
      element('line', { x1: MARGIN.left, x2: width - MARGIN.right, y1: level, y2: level, class: i ? 'chart-grid' : 'chart-axis' }),
      element('text', { x: MARGIN.left - 8, y: level + 4, 'text-anchor': 'end', class: 'chart-label' }, formatTokens(tokens)),
      element('text', { x: width - MARGIN.right + 8, y: level + 4, class: 'chart-label chart-label-cost' }, formatCost((costMax * i) / 4)),
    );
  }

  // Stacked bars: input below, output above.
  const labelEvery = Math.ceil(days.length / Math.max(2, Math.floor(plotWidth / 80)));
  days.forEach((day, i) => {
    const group = element('g', { class: 'chart-day' });
    group.append(element('title', {}, `${shortDay(day.day)}: ${day.input} input and ${day.output} output tokens, ${formatCost(day.cost)}`));
    const left = x(i) - barWidth / 2;
    const inputTop = y(day.input, tokenMax);
    const outputTop = y(day.input + day.output, tokenMax);
    group.append(
      element('rect', { x: left, y: inputTop, width: barWidth, height: MARGIN.top + plotHeight - inputTop, fill: COLORS.input, class: 'chart-bar-input' }),
      element('rect', { x: left, y: outputTop, width: barWidth, height: inputTop - outputTop, fill: COLORS.output, class: 'chart-bar-output' }),
    );
    svg.append(group);
    if (i % labelEvery === 0) {
      svg.append(element('text', { x: x(i), y: HEIGHT - MARGIN.bottom + 18, 'text-anchor': 'middle', class: 'chart-label' }, shortDay(day.day)));
    }
  });

  // The cost line, with a dot per day.
  const points = days.map((day, i) => `${x(i).toFixed(1)},${y(day.cost, costMax).toFixed(1)}`);
  svg.append(element('polyline', { points: points.join(' '), fill: 'none', stroke: COLORS.cost, 'stroke-width': 2, class: 'chart-cost' }));
  days.forEach((day, i) => svg.append(element('circle', { cx: x(i), cy: y(day.cost, costMax), r: 3, fill: COLORS.cost })));

  container.replaceChildren(svg, legend());
}

function legend() {
  const list = document.createElement('ul');
  list.className = 'chart-legend';
  for (const [label, color] of [
    ['Input tokens', COLORS.input],
    ['Output tokens', COLORS.output],
    ['Cost in USD (line, right axis)', COLORS.cost],
  ]) {
    const item = document.createElement('li');
    const swatch = document.createElement('span');
    swatch.className = 'chart-swatch';
    swatch.style.background = color;
    item.append(swatch, label);
    list.append(item);
  }
  return list;
}

function main() {
  const container = document.getElementById('usage-chart');
  if (!container) return;
  const source = document.getElementById(container.dataset.chartSource);
  const rows = source ? JSON.parse(source.textContent) : [];
  const days = dailySeries(rows, container.dataset.from, container.dataset.to);
  const draw = () => renderChart(container, days, container.clientWidth - 16);
  draw();
  let drawnWidth = container.clientWidth;
  new ResizeObserver(() => {
    if (Math.abs(container.clientWidth - drawnWidth) < 24) return;
    drawnWidth = container.clientWidth;
    draw();
  }).observe(container);
}

if (typeof document !== 'undefined') main();
