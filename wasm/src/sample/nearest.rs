//! Nearest taps: the one pixel at the padded coordinate rounded half to even (PyTorch's nearbyint).
//! Its weight is constant, so no gradient reaches the coordinates or θ.

use super::{inside, Footprint, Pad};

/// Rounds half to even (rustc 1.63 has no `round_ties_even`).
fn round_half_even(v: f64) -> f64 {
    let f = v.floor();
    let d = v - f;
    if d < 0.5 || (d == 0.5 && f % 2.0 == 0.0) {
        f
    } else {
        f + 1.0
    }
}

pub(crate) fn fill(ix: f64, iy: f64, w: usize, h: usize, pad: Pad, f: &mut Footprint) {
    let x = round_half_even(pad.coord(ix, w).0);
    let y = round_half_even(pad.coord(iy, h).0);
    f.count = 1;
    f.index[0] = match (inside(x, w), inside(y, h)) {
        (Some(x), Some(y)) => Some(y * w + x),
        _ => None,
    };
    f.weight[0] = 1.0;
    f.dx[0] = 0.0;
    f.dy[0] = 0.0;
}
