/**
 * Bicubic sampling in WGSL: PyTorch's grid_sampler_2d bicubic branch. The 4×4 taps around the
 * unpadded coordinate get Keys' cubic weights (A = -0.75); each tap index is padded on its own.
 *
 * @module
 */

/**
 * The mode's WGSL (interface in `sample_wgsl.ts`). The weights are separable, so `point` keeps the
 * four padded columns and rows with their weights and slopes, and `weightAt` sums the columns and
 * rows that land on (X, Y) (several do where padding folds taps onto one pixel).
 */
export const BICUBIC_WGSL = `
  const TAPS : i32 = 16;
  // Unpadded: taps floor(ix) - 1 … floor(ix) + 2 reach X exactly for ix in [X - 2, X + 2).
  const REACH : f32 = 2.0;
  const CUBIC_A : f32 = -0.75;

  struct Point { xs : vec4<i32>, ys : vec4<i32>, cx : vec4<f32>, cy : vec4<f32>, sx : vec4<f32>, sy : vec4<f32> };

  fn cubicNear(x : f32) -> f32 { return ((CUBIC_A + 2.0) * x - (CUBIC_A + 3.0)) * x * x + 1.0; }
  fn cubicFar(x : f32) -> f32 { return ((CUBIC_A * x - 5.0 * CUBIC_A) * x + 8.0 * CUBIC_A) * x - 4.0 * CUBIC_A; }
  fn cubicNearSlope(x : f32) -> f32 { return (3.0 * (CUBIC_A + 2.0) * x - 2.0 * (CUBIC_A + 3.0)) * x; }
  fn cubicFarSlope(x : f32) -> f32 { return (3.0 * CUBIC_A * x - 10.0 * CUBIC_A) * x + 8.0 * CUBIC_A; }

  fn cubicWeights(t : f32) -> vec4<f32> {
    return vec4<f32>(cubicFar(t + 1.0), cubicNear(t), cubicNear(1.0 - t), cubicFar(2.0 - t));
  }
  fn cubicSlopes(t : f32) -> vec4<f32> {
    return vec4<f32>(cubicFarSlope(t + 1.0), cubicNearSlope(t), -cubicNearSlope(1.0 - t), -cubicFarSlope(2.0 - t));
  }

  fn point(ix : f32, iy : f32, W : i32, H : i32) -> Point {
    var px = ix;
    var py = iy;
    if (PADDING != 2) {
      // Beyond this band every tap is outside (zeros) or on the edge pixel (border) either way.
      px = clamp(ix, -3.0, f32(W) + 2.0);
      py = clamp(iy, -3.0, f32(H) + 2.0);
    }
    let x0 = floor(px);
    let y0 = floor(py);
    var p : Point;
    p.cx = cubicWeights(px - x0);
    p.cy = cubicWeights(py - y0);
    p.sx = cubicSlopes(px - x0);
    p.sy = cubicSlopes(py - y0);
    for (var q = 0; q < 4; q++) {
      p.xs[q] = padIndex(x0 - 1.0 + f32(q), W);
      p.ys[q] = padIndex(y0 - 1.0 + f32(q), H);
    }
    return p;
  }

  fn tap(p : Point, t : i32, W : i32, H : i32) -> Tap {
    let a = t & 3;
    let b = t >> 2u;
    var r : Tap;
    r.index = select(p.ys[b] * W + p.xs[a], -1, p.xs[a] < 0 || p.ys[b] < 0);
    r.w = p.cx[a] * p.cy[b];
    r.dx = p.sx[a] * p.cy[b];
    r.dy = p.cx[a] * p.sy[b];
    return r;
  }

  fn weightAt(p : Point, X : i32, Y : i32) -> f32 {
    let wx = dot(p.cx, select(vec4<f32>(0.0), vec4<f32>(1.0), p.xs == vec4<i32>(X)));
    let wy = dot(p.cy, select(vec4<f32>(0.0), vec4<f32>(1.0), p.ys == vec4<i32>(Y)));
    return wx * wy;
  }
`;
