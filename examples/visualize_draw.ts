/**
 * Raster drawing for `visualize.ts`: an RGB canvas with rectangles, lines, scaled grey images and text in a
 * tiny built-in bitmap font, so the picture needs no font files and no canvas library.
 *
 * @module
 */

/** An RGB colour, each channel 0..255. */
export type Rgb = readonly [number, number, number];

// A 3×5 bitmap font, one string per row ("#" = ink): digits, capitals and a few signs. Lower case is
// drawn as capitals and any other character as "?", so that any caption (a file name) can be drawn.
const GLYPHS: Record<string, string[]> = {
  "0": ["###", "#.#", "#.#", "#.#", "###"],
  "1": [".#.", "##.", ".#.", ".#.", "###"],
  "2": ["###", "..#", "###", "#..", "###"],
  "3": ["###", "..#", "###", "..#", "###"],
  "4": ["#.#", "#.#", "###", "..#", "..#"],
  "5": ["###", "#..", "###", "..#", "###"],
  "6": ["###", "#..", "###", "#.#", "###"],
  "7": ["###", "..#", ".#.", ".#.", ".#."],
  "8": ["###", "#.#", "###", "#.#", "###"],
  "9": ["###", "#.#", "###", "..#", "###"],
  "%": ["#.#", "..#", ".#.", "#..", "#.#"],
  ".": ["...", "...", "...", "...", ".#."],
  "-": ["...", "...", "###", "...", "..."],
  "?": ["###", "..#", ".##", "...", ".#."],
  ":": ["...", ".#.", "...", ".#.", "..."],
  " ": ["...", "...", "...", "...", "..."],
  "/": ["..#", "..#", ".#.", "#..", "#.."],
  _: ["...", "...", "...", "...", "###"],
  "(": [".#.", "#..", "#..", "#..", ".#."],
  ")": [".#.", "..#", "..#", "..#", ".#."],
  A: [".#.", "#.#", "###", "#.#", "#.#"],
  B: ["##.", "#.#", "##.", "#.#", "##."],
  C: [".##", "#..", "#..", "#..", ".##"],
  D: ["##.", "#.#", "#.#", "#.#", "##."],
  E: ["###", "#..", "##.", "#..", "###"],
  F: ["###", "#..", "##.", "#..", "#.."],
  G: [".##", "#..", "#.#", "#.#", ".##"],
  H: ["#.#", "#.#", "###", "#.#", "#.#"],
  I: ["###", ".#.", ".#.", ".#.", "###"],
  J: ["..#", "..#", "..#", "#.#", ".#."],
  K: ["#.#", "#.#", "##.", "#.#", "#.#"],
  L: ["#..", "#..", "#..", "#..", "###"],
  M: ["#.#", "###", "###", "#.#", "#.#"],
  N: ["##.", "#.#", "#.#", "#.#", "#.#"],
  O: [".#.", "#.#", "#.#", "#.#", ".#."],
  P: ["##.", "#.#", "##.", "#..", "#.."],
  Q: [".#.", "#.#", "#.#", "##.", ".##"],
  R: ["##.", "#.#", "##.", "#.#", "#.#"],
  S: [".##", "#..", ".#.", "..#", "##."],
  T: ["###", ".#.", ".#.", ".#.", ".#."],
  U: ["#.#", "#.#", "#.#", "#.#", "###"],
  V: ["#.#", "#.#", "#.#", "#.#", ".#."],
  W: ["#.#", "#.#", "###", "###", "#.#"],
  X: ["#.#", "#.#", ".#.", "#.#", "#.#"],
  Y: ["#.#", "#.#", ".#.", ".#.", ".#."],
  Z: ["###", "..#", ".#.", "#..", "###"],
};

/** The glyph drawn for `ch`: its own, its capital's, or "?" for a character the font lacks. */
function glyphOf(ch: string): string[] {
  return GLYPHS[ch] ?? GLYPHS[ch.toUpperCase()] ?? GLYPHS["?"];
}

/** Width in pixels of `text` drawn at `scale` (3 cells per glyph plus one of spacing). */
export function textWidth(text: string, scale: number): number {
  const n = [...text].length; // characters, as text() draws them (not UTF-16 units)
  return n === 0 ? 0 : (n * 4 - 1) * scale;
}

/** A width × height RGB image (row-major, 3 bytes per pixel). */
export class RgbCanvas {
  /** Pixels, `width · height · 3` bytes. */
  readonly data: Uint8Array;
  /** When set, `[x, y, w, h]`: drawing outside this rectangle is dropped. */
  clip: [number, number, number, number] | null = null;

  /** A canvas filled with `background`. */
  constructor(readonly width: number, readonly height: number, background: Rgb) {
    this.data = new Uint8Array(width * height * 3);
    this.fillRect(0, 0, width, height, background);
  }

  /** Sets one pixel; pixels outside the canvas are ignored (lines may leave it). */
  set(x: number, y: number, c: Rgb): void {
    if (x < 0 || y < 0 || x >= this.width || y >= this.height) return;
    const k = this.clip;
    if (k && (x < k[0] || y < k[1] || x >= k[0] + k[2] || y >= k[1] + k[3])) return;
    const o = (y * this.width + x) * 3;
    this.data[o] = c[0];
    this.data[o + 1] = c[1];
    this.data[o + 2] = c[2];
  }

  /** Fills the rectangle with top-left (x, y). */
  fillRect(x: number, y: number, w: number, h: number, c: Rgb): void {
    for (let j = y; j < y + h; j++) for (let i = x; i < x + w; i++) this.set(i, j, c);
  }

  /** A `thickness`-pixel frame just inside the rectangle. */
  strokeRect(x: number, y: number, w: number, h: number, c: Rgb, thickness = 1): void {
    this.fillRect(x, y, w, thickness, c);
    this.fillRect(x, y + h - thickness, w, thickness, c);
    this.fillRect(x, y, thickness, h, c);
    this.fillRect(x + w - thickness, y, thickness, h, c);
  }

  /** A grey image (values in [0, 1], row-major) enlarged `scale`× by pixel replication. */
  drawGrey(pixels: ArrayLike<number>, w: number, h: number, x0: number, y0: number, scale: number): void {
    for (let y = 0; y < h; y++) {
      for (let x = 0; x < w; x++) {
        const v = Math.round(Math.min(1, Math.max(0, pixels[y * w + x])) * 255);
        this.fillRect(x0 + x * scale, y0 + y * scale, scale, scale, [v, v, v]);
      }
    }
  }

  /** A line from (x0, y0) to (x1, y1) (Bresenham), `thickness` pixels wide as a square pen. */
  line(x0: number, y0: number, x1: number, y1: number, c: Rgb, thickness = 1): void {
    [x0, y0, x1, y1] = [x0, y0, x1, y1].map(Math.round);
    const dx = Math.abs(x1 - x0), dy = -Math.abs(y1 - y0);
    const sx = x0 < x1 ? 1 : -1, sy = y0 < y1 ? 1 : -1;
    const half = Math.floor(thickness / 2);
    let err = dx + dy;
    for (;;) {
      this.fillRect(x0 - half, y0 - half, thickness, thickness, c);
      if (x0 === x1 && y0 === y1) break;
      const e2 = 2 * err;
      if (e2 >= dy) {
        err += dy;
        x0 += sx;
      }
      if (e2 <= dx) {
        err += dx;
        y0 += sy;
      }
    }
  }

  /** A closed polygon through `points` ([x, y] pairs). */
  polygon(points: readonly (readonly [number, number])[], c: Rgb, thickness = 1): void {
    points.forEach(([x, y], i) => {
      const [nx, ny] = points[(i + 1) % points.length];
      this.line(x, y, nx, ny, c, thickness);
    });
  }

  /**
   * `text` with its top-left at (x, y), each font cell `scale` pixels; lower case is drawn as capitals,
   * characters the font lacks as "?".
   */
  text(text: string, x: number, y: number, scale: number, c: Rgb): void {
    for (const ch of text) {
      glyphOf(ch).forEach((row, r) => {
        [...row].forEach((cell, col) => {
          if (cell === "#") this.fillRect(x + col * scale, y + r * scale, scale, scale, c);
        });
      });
      x += 4 * scale;
    }
  }
}
