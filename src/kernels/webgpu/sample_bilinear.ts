/**
 * Bilinear sampling in WGSL for the general webgpu sampler (`sample_general.ts`: reflection
 * padding, projective θ): four taps around the padded coordinate. Bilinear affine sampling with
 * zeros or border padding keeps its own kernels (`spatial_transform*.ts`).
 *
 * @module
 */

/**
 * The mode's WGSL (see `sample_wgsl.ts` for the interface): `point` pads the coordinates and splits
 * them into the top-left tap and fractions; `tap` is tap t of 4 (nw, ne, sw, se); `weightAt` the
 * weight the point gives pixel (X, Y), which the caller knows lies in the image.
 */
export const BILINEAR_WGSL = `
  const TAPS : i32 = 4;
  // Unpadded: taps floor(ix), floor(ix) + 1 reach X exactly for ix in (X - 1, X + 1).
  const REACH : f32 = 1.0;

  struct Point { x0 : f32, y0 : f32, wx : f32, wy : f32, gxm : f32, gym : f32 };

  fn point(ix : f32, iy : f32, W : i32, H : i32) -> Point {
    let px = padCoord(ix, W);
    let py = padCoord(iy, H);
    var p : Point;
    p.x0 = floor(px.x);
    p.y0 = floor(py.x);
    p.wx = px.x - p.x0;
    p.wy = py.x - p.y0;
    p.gxm = px.y;
    p.gym = py.y;
    return p;
  }

  fn tap(p : Point, t : i32, W : i32, H : i32) -> Tap {
    let ox = (t & 1) == 1;
    let oy = (t >> 1u) == 1;
    let ax = select(1.0 - p.wx, p.wx, ox);
    let ay = select(1.0 - p.wy, p.wy, oy);
    var r : Tap;
    r.index = pixelIndex(p.x0 + select(0.0, 1.0, ox), p.y0 + select(0.0, 1.0, oy), W, H);
    r.w = ax * ay;
    r.dx = select(-1.0, 1.0, ox) * ay * p.gxm;
    r.dy = select(-1.0, 1.0, oy) * ax * p.gym;
    return r;
  }

  fn axisWeight(p0 : f32, frac : f32, P : i32) -> f32 {
    let d = f32(P) - p0;
    if (d == 0.0) { return 1.0 - frac; }
    if (d == 1.0) { return frac; }
    return 0.0;
  }

  fn weightAt(p : Point, X : i32, Y : i32) -> f32 {
    return axisWeight(p.x0, p.wx, X) * axisWeight(p.y0, p.wy, Y);
  }
`;
