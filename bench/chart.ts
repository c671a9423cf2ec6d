// The switch-latency chart of bench/RESULTS.md: an SVG bar chart (log scale), one panel
// per tasklet count, one group of bars per stack depth, one bar per contender.
import { CONTENDERS, CONTENDER_LABELS, type SwitchRow } from "./switch.ts";

const COLORS = ["#1f6feb", "#8250df", "#bf8700", "#cf222e"];
const PANEL_W = 320;
const PLOT_H = 220;
const TOP = 40;
const LEFT = 56;
const BAR = 18;
const GAP = 22;

const escape = (s: string): string => s.replace(/&/g, "&amp;").replace(/</g, "&lt;");

export function switchChart(rows: SwitchRow[]): string {
  const counts = [...new Set(rows.map((r) => r.tasklets))];
  const values = rows.flatMap((r) => CONTENDERS.map((c) => r.ns[c].median));
  const lo = 10 ** Math.floor(Math.log10(Math.min(...values)));
  const hi = 10 ** Math.ceil(Math.log10(Math.max(...values)));
  const y = (ns: number) => TOP + PLOT_H - (PLOT_H * Math.log10(ns / lo)) / Math.log10(hi / lo);
  const width = LEFT + counts.length * PANEL_W + 20;
  const height = TOP + PLOT_H + 80;
  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" font-family="sans-serif" font-size="11">`,
    `<rect width="100%" height="100%" fill="white"/>`,
    `<text x="${LEFT}" y="18" font-size="14" font-weight="bold">Switch latency, ns per switch (log scale; lower is better)</text>`,
  ];
  for (let p = lo; p <= hi; p *= 10) {
    out.push(`<line x1="${LEFT}" x2="${width - 20}" y1="${y(p)}" y2="${y(p)}" stroke="#ddd"/>`);
    out.push(`<text x="${LEFT - 6}" y="${y(p) + 4}" text-anchor="end">${p}</text>`);
  }
  counts.forEach((count, panel) => {
    const x0 = LEFT + panel * PANEL_W + 16;
    const group = rows.filter((r) => r.tasklets === count);
    out.push(`<text x="${x0}" y="${TOP - 8}" font-weight="bold">${count} tasklets</text>`);
    group.forEach((row, g) => {
      const gx = x0 + g * (CONTENDERS.length * BAR + GAP);
      CONTENDERS.forEach((c, i) => {
        const ns = row.ns[c].median;
        const top = y(ns);
        out.push(`<rect x="${gx + i * BAR}" y="${top.toFixed(1)}" width="${BAR - 2}" height="${(TOP + PLOT_H - top).toFixed(1)}" fill="${COLORS[i]}"><title>${escape(CONTENDER_LABELS[c])}: ${ns.toFixed(1)} ns</title></rect>`);
        out.push(`<text x="${gx + i * BAR + BAR / 2 - 1}" y="${(top - 3).toFixed(1)}" text-anchor="middle" font-size="8">${ns.toFixed(0)}</text>`);
      });
      out.push(`<text x="${gx + (CONTENDERS.length * BAR) / 2}" y="${TOP + PLOT_H + 14}" text-anchor="middle">depth ${row.depth}</text>`);
    });
  });
  CONTENDERS.forEach((c, i) => {
    const lx = LEFT + i * 170;
    out.push(`<rect x="${lx}" y="${TOP + PLOT_H + 34}" width="12" height="12" fill="${COLORS[i]}"/>`);
    out.push(`<text x="${lx + 16}" y="${TOP + PLOT_H + 44}">${escape(CONTENDER_LABELS[c])}</text>`);
  });
  out.push("</svg>");
  return out.join("\n") + "\n";
}
