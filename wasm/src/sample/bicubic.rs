//! Bicubic taps: PyTorch's grid_sampler_2d bicubic branch. The 4×4 taps around the unpadded
//! coordinate get Keys' cubic convolution weights (A = -0.75); each tap is padded on its own.

use super::{Footprint, Pad};

const A: f64 = -0.75;

/// Weights of the taps at offsets -1, 0, 1, 2 for fraction t, and their derivatives in t.
fn weights(t: f64) -> ([f64; 4], [f64; 4]) {
    let near = |x: f64| ((A + 2.0) * x - (A + 3.0)) * x * x + 1.0;
    let far = |x: f64| ((A * x - 5.0 * A) * x + 8.0 * A) * x - 4.0 * A;
    let near_slope = |x: f64| (3.0 * (A + 2.0) * x - 2.0 * (A + 3.0)) * x;
    let far_slope = |x: f64| (3.0 * A * x - 10.0 * A) * x + 8.0 * A;
    (
        [far(t + 1.0), near(t), near(1.0 - t), far(2.0 - t)],
        [
            far_slope(t + 1.0),
            near_slope(t),
            -near_slope(1.0 - t),
            -far_slope(2.0 - t),
        ],
    )
}

pub(crate) fn fill(ix: f64, iy: f64, w: usize, h: usize, pad: Pad, f: &mut Footprint) {
    let (x0, y0) = (ix.floor(), iy.floor());
    let (cx, sx) = weights(ix - x0);
    let (cy, sy) = weights(iy - y0);
    let mut xs = [None; 4];
    let mut ys = [None; 4];
    for q in 0..4 {
        xs[q] = pad.index(x0 - 1.0 + q as f64, w);
        ys[q] = pad.index(y0 - 1.0 + q as f64, h);
    }
    f.count = 16;
    for b in 0..4 {
        for a in 0..4 {
            let t = b * 4 + a;
            f.index[t] = match (xs[a], ys[b]) {
                (Some(x), Some(y)) => Some(y * w + x),
                _ => None,
            };
            f.weight[t] = cx[a] * cy[b];
            f.dx[t] = sx[a] * cy[b];
            f.dy[t] = cx[a] * sy[b];
        }
    }
}
