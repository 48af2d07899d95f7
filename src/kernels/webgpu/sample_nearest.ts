/**
 * Nearest-neighbour sampling in WGSL: one tap at the padded coordinate rounded half to even
 * (WGSL's `round`, as PyTorch's nearbyint). Constant weight: no gradient to the coordinates or θ.
 *
 * @module
 */

/** The mode's WGSL (interface in `sample_wgsl.ts`). */
export const NEAREST_WGSL = `
  const TAPS : i32 = 1;
  // Unpadded: round(ix) is X exactly for ix in [X - 0.5, X + 0.5].
  const REACH : f32 = 0.5;

  struct Point { x : f32, y : f32 };

  fn point(ix : f32, iy : f32, W : i32, H : i32) -> Point {
    return Point(round(padCoord(ix, W).x), round(padCoord(iy, H).x));
  }

  fn tap(p : Point, t : i32, W : i32, H : i32) -> Tap {
    return Tap(pixelIndex(p.x, p.y, W, H), 1.0, 0.0, 0.0);
  }

  fn weightAt(p : Point, X : i32, Y : i32) -> f32 {
    return select(0.0, 1.0, p.x == f32(X) && p.y == f32(Y));
  }
`;
