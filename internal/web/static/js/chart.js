// Stacked bar charts drawn as inline SVG, with a table for screen readers.

import { h, s } from './dom.js';

// The colours are CSS classes (c0 … c7 in app.css), so dark mode can pick
// ones that keep 3:1 against its background.
const COLORS = 8;

// barChart draws value(row) per day stacked by key(row).
export function barChart(title, rows, key, value, fmt) {
  const days = [...new Set(rows.map((r) => r.day))].sort();
  const keys = [...new Set(rows.map(key))].sort();
  const sums = new Map();
  for (const r of rows) {
    const k = r.day + '\u0000' + key(r);
    sums.set(k, (sums.get(k) || 0) + (value(r) || 0));
  }
  const total = (d) => keys.reduce((t, k) => t + (sums.get(d + '\u0000' + k) || 0), 0);
  const max = Math.max(0, ...days.map(total)) || 1;
  // A small viewBox keeps the 12px labels at least 11px on screen: the
  // chart is never narrower than 18rem (CSS).
  const W = 320, H = 140, pad = 44, bw = Math.max(3, Math.min(32, (W - pad) / Math.max(days.length, 1) - 4));
  const every = Math.ceil(days.length / Math.floor((W - pad) / 40));
  const svg = s('svg', { viewBox: `0 0 ${W} ${H + 22}`, role: 'img', 'aria-label': title, class: 'chart' },
    s('title', {}, title),
    s('line', { x1: pad, y1: H, x2: W, y2: H, class: 'axis' }),
    s('text', { x: 0, y: 12, class: 'tick' }, fmt(max)));
  days.forEach((d, i) => {
    const x = pad + 4 + i * (bw + 4);
    let y = H;
    keys.forEach((k, ki) => {
      const v = sums.get(d + '\u0000' + k) || 0;
      if (!v) return;
      const bh = Math.max(1, (v / max) * (H - 16));
      y -= bh;
      svg.append(s('rect', { x, y, width: bw, height: bh, class: 'c' + (ki % COLORS) }, s('title', {}, `${d} · ${k}: ${fmt(v)}`)));
    });
    if (i % every === 0) svg.append(s('text', { x, y: H + 14, class: 'tick' }, d.slice(5)));
  });
  const legend = h('ul', { class: 'legend' }, keys.map((k, ki) => h('li', {}, h('span', { class: 'swatch c' + (ki % COLORS), 'aria-hidden': 'true' }), k)));
  const table = h('details', {}, h('summary', {}, 'Data'), h('table', {},
    h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, 'Day'), keys.map((k) => h('th', { scope: 'col' }, k)))),
    h('tbody', {}, days.map((d) => h('tr', {}, h('th', { scope: 'row' }, d), keys.map((k) => h('td', {}, fmt(sums.get(d + '\u0000' + k) || 0))))))));
  return h('figure', { class: 'card chartbox' }, h('figcaption', {}, title), days.length ? [svg, legend] : h('p', { class: 'muted' }, 'No data.'), table);
}
