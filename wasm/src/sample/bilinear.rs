//! Bilinear taps for the general sampler (reflection padding, projective θ): four taps around the
//! padded coordinate, PyTorch's grid_sampler_2d bilinear branch.

use super::{inside, Footprint, Pad};

pub(crate) fn fill(ix: f64, iy: f64, w: usize, h: usize, pad: Pad, f: &mut Footprint) {
    let (px, gx) = pad.coord(ix, w);
    let (py, gy) = pad.coord(iy, h);
    let (x0, y0) = (px.floor(), py.floor());
    let (wx, wy) = (px - x0, py - y0);
    f.count = 4;
    for t in 0..4 {
        let (ox, oy) = (t & 1, t >> 1);
        let ax = if ox == 1 { wx } else { 1.0 - wx };
        let ay = if oy == 1 { wy } else { 1.0 - wy };
        let sx = if ox == 1 { 1.0 } else { -1.0 };
        let sy = if oy == 1 { 1.0 } else { -1.0 };
        f.index[t] = match (inside(x0 + ox as f64, w), inside(y0 + oy as f64, h)) {
            (Some(x), Some(y)) => Some(y * w + x),
            _ => None,
        };
        f.weight[t] = ax * ay;
        f.dx[t] = sx * ay * gx;
        f.dy[t] = sy * ax * gy;
    }
}
