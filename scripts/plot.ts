/**
 * A small line plot as SVG text: one line per curve, a log-scale y axis (errors span 1 % to 90 %), and
 * labelled horizontal marks (the paper's numbers). Deterministic output, so a `--check` can compare it.
 *
 * @module
 */

/** One line: its legend label and its (x, y) points, y > 0. */
export interface Curve {
  label: string;
  points: [number, number][];
}

/** A dashed horizontal line at `y`. */
export interface Mark {
  label: string;
  y: number;
}

const W = 640, H = 400, LEFT = 56, RIGHT = 150, TOP = 30, BOTTOM = 44;
const COLORS = ["#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#17becf"];

const fmt = (v: number) => Number(v.toPrecision(4)).toString();
const esc = (s: string) => s.replace(/&/g, "&amp;").replace(/</g, "&lt;");

function niceStep(span: number): number {
  const raw = span / 6;
  const p = 10 ** Math.floor(Math.log10(raw));
  return [1, 2, 5, 10].map((m) => m * p).find((s) => s >= raw)!;
}

/**
 * The plot as an SVG document.
 *
 * @example
 * ```ts
 * import { plotSvg } from "./plot.ts";
 * const svg = plotSvg([{ label: "run", points: [[1, 0.5], [2, 0.1]] }], [{ label: "paper", y: 0.015 }], {
 *   title: "Test error",
 *   xLabel: "epoch",
 * });
 * ```
 */
export function plotSvg(curves: Curve[], marks: Mark[], o: { title: string; xLabel: string }): string {
  const xs = curves.flatMap((c) => c.points.map((p) => p[0]));
  const xMax = Math.max(1, ...xs);
  const yMin = 0.005, yMax = 1;
  const px = (x: number) => LEFT + (x / xMax) * (W - LEFT - RIGHT);
  const py = (y: number) =>
    TOP + (Math.log(yMax / Math.min(yMax, Math.max(yMin, y))) / Math.log(yMax / yMin)) * (H - TOP - BOTTOM);
  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" ` +
    `font-family="sans-serif" font-size="11">`,
    `<rect width="${W}" height="${H}" fill="white"/>`,
    `<text x="${LEFT}" y="18" font-size="13" font-weight="bold">${esc(o.title)}</text>`,
  ];
  for (const y of [0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1]) {
    out.push(
      `<line x1="${LEFT}" x2="${W - RIGHT}" y1="${fmt(py(y))}" y2="${fmt(py(y))}" stroke="#eee"/>`,
      `<text x="${LEFT - 4}" y="${fmt(py(y) + 4)}" text-anchor="end">${fmt(100 * y)} %</text>`,
    );
  }
  const step = niceStep(xMax);
  for (let x = 0; x <= xMax + 1e-9; x += step) {
    out.push(`<text x="${fmt(px(x))}" y="${H - BOTTOM + 16}" text-anchor="middle">${fmt(x)}</text>`);
  }
  out.push(
    `<text x="${fmt((LEFT + W - RIGHT) / 2)}" y="${H - 8}" text-anchor="middle">${esc(o.xLabel)}</text>`,
    `<rect x="${LEFT}" y="${TOP}" width="${W - LEFT - RIGHT}" height="${
      H - TOP - BOTTOM
    }" fill="none" stroke="#444"/>`,
  );
  for (const m of marks) {
    out.push(
      `<line x1="${LEFT}" x2="${W - RIGHT}" y1="${fmt(py(m.y))}" y2="${fmt(py(m.y))}" stroke="#888" ` +
        `stroke-dasharray="4 3"/>`,
      `<text x="${W - RIGHT + 4}" y="${fmt(py(m.y) + 4)}" fill="#666">${esc(m.label)}</text>`,
    );
  }
  curves.forEach((c, i) => {
    const color = COLORS[i % COLORS.length];
    const d = c.points.map(([x, y], k) => `${k === 0 ? "M" : "L"}${fmt(px(x))},${fmt(py(y))}`).join(" ");
    if (c.points.length > 0) out.push(`<path d="${d}" fill="none" stroke="${color}" stroke-width="1.6"/>`);
    for (const [x, y] of c.points) {
      out.push(`<circle cx="${fmt(px(x))}" cy="${fmt(py(y))}" r="1.8" fill="${color}"/>`);
    }
    const ly = TOP + 12 + 14 * i;
    out.push(
      `<line x1="${W - RIGHT + 4}" x2="${W - RIGHT + 20}" y1="${ly + 100}" y2="${
        ly + 100
      }" stroke="${color}" ` +
        `stroke-width="2"/>`,
      `<text x="${W - RIGHT + 24}" y="${ly + 104}">${esc(c.label)}</text>`,
    );
  });
  out.push("</svg>");
  return out.join("\n") + "\n";
}
