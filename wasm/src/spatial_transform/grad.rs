//! Backward pass of the spatial transformer: ∂image (a scatter) and ∂θ, from the upstream gradient.
//!
//! Per output pixel, with g the upstream gradient and v the tap values (0 outside the image),
//! PyTorch's grid_sampler_2d_backward gives
//!   ∂out/∂ix = Σ_c g·[(1-wy)(ne-nw) + wy(se-sw)],  ∂out/∂iy = Σ_c g·[(1-wx)(sw-nw) + wx(se-ne)],
//! then ∂gx = ∂out/∂ix · d(ix)/d(gx) and ∂θ = (∂gx·x, ∂gx·y, ∂gx, ∂gy·x, ∂gy·y, ∂gy).

use super::{from_f, gather, hsum, lanes_f, lanes_f4, lanes_i, theta_row, weights4, Geom, Quad};
use core::arch::wasm32::*;

/// Backward: ∂image (`[n,h,w,c]`, overwritten) and ∂θ (`[m,6]`, overwritten) from the upstream
/// gradient `dy` (`[m,oh,ow,c]`).
///
/// Returns 0, or 1 when `n` is 0 or `m` is not a multiple of `n` (nothing is written then).
///
/// # Safety
/// The pointers must address buffers of the sizes above in this module's memory; `dimage` and
/// `dtheta` must not overlap the inputs.
#[no_mangle]
pub unsafe extern "C" fn rnnspn_spatial_transform_grad(
    dy: *const f32,
    image: *const f32,
    theta: *const f32,
    dimage: *mut f32,
    dtheta: *mut f32,
    n: usize,
    h: usize,
    w: usize,
    c: usize,
    m: usize,
    oh: usize,
    ow: usize,
    align_corners: u32,
    zeros_padding: u32,
) -> i32 {
    let dims = [n, h, w, c, m, oh, ow];
    let g = match Geom::new(dims, align_corners != 0, zeros_padding != 0) {
        Some(g) => g,
        None => return 1,
    };
    core::ptr::write_bytes(dimage, 0, n * h * w * c);
    core::ptr::write_bytes(dtheta, 0, m * 6);
    if g.is_empty() {
        return 0;
    }
    for mi in 0..g.m {
        let t = theta_row(theta, mi);
        let offset = (mi / g.k) * g.h * g.w * g.c;
        let (img, dimg) = (image.add(offset), dimage.add(offset));
        // Σ ∂gx·x, Σ ∂gx·y, Σ ∂gx, Σ ∂gy·x, ... over the row, in f64 across output lines.
        let mut acc = [0f64; 6];
        for i in 0..g.oh {
            let y = g.y(i);
            let line = dy.add((mi * g.oh + i) * g.ow * g.c);
            let zero = f32x4_splat(0.0);
            let (mut sx_x, mut sx_1, mut sy_x, mut sy_1) = (zero, zero, zero, zero);
            let mut j = 0;
            while j < g.ow {
                let lanes = (g.ow - j).min(4);
                let xs = g.xs(j);
                let q = g.quad(&t, xs, y, lanes);
                let (gix, giy) = if g.c == 1 {
                    backward_c1(&q, img, dimg, line.add(j), lanes)
                } else {
                    backward_lanes(&g, &q, img, dimg, line.add(j * g.c), lanes)
                };
                // Invalid lanes have gix = giy = 0 but may hold NaN (g·0 with g = ±Inf): mask them.
                let dgx = v128_and(f32x4_mul(gix, q.mx), q.valid);
                let dgy = v128_and(f32x4_mul(giy, q.my), q.valid);
                sx_x = f32x4_add(sx_x, f32x4_mul(dgx, xs));
                sx_1 = f32x4_add(sx_1, dgx);
                sy_x = f32x4_add(sy_x, f32x4_mul(dgy, xs));
                sy_1 = f32x4_add(sy_1, dgy);
                j += 4;
            }
            let (bx, by) = (hsum(sx_1) as f64, hsum(sy_1) as f64);
            acc[0] += hsum(sx_x) as f64;
            acc[1] += bx * y as f64;
            acc[2] += bx;
            acc[3] += hsum(sy_x) as f64;
            acc[4] += by * y as f64;
            acc[5] += by;
        }
        for (e, v) in acc.iter().enumerate() {
            *dtheta.add(mi * 6 + e) = *v as f32;
        }
    }
    0
}

/// Adds the four lanes of `v` to `dst[idx[lane]]`, lane 0 first (lanes may hit the same pixel).
#[inline(always)]
unsafe fn scatter_add(dst: *mut f32, idx: v128, v: v128) {
    *dst.add(i32x4_extract_lane::<0>(idx) as usize) += f32x4_extract_lane::<0>(v);
    *dst.add(i32x4_extract_lane::<1>(idx) as usize) += f32x4_extract_lane::<1>(v);
    *dst.add(i32x4_extract_lane::<2>(idx) as usize) += f32x4_extract_lane::<2>(v);
    *dst.add(i32x4_extract_lane::<3>(idx) as usize) += f32x4_extract_lane::<3>(v);
}

/// One channel, four lanes at once: scatter w·g (masked taps add exactly 0 at a clamped, valid
/// address) and return (∂out/∂ix, ∂out/∂iy) per lane.
#[inline(always)]
unsafe fn backward_c1(
    q: &Quad,
    img: *const f32,
    dimg: *mut f32,
    dy: *const f32,
    lanes: usize,
) -> (v128, v128) {
    let gv = if lanes == 4 {
        v128_load(dy as *const v128)
    } else {
        let mut a = [0f32; 4];
        for (l, value) in a.iter_mut().enumerate().take(lanes) {
            *value = *dy.add(l);
        }
        from_f(a)
    };
    let wt = weights4(q.wx, q.wy);
    for t in 0..4 {
        scatter_add(dimg, q.idx[t], v128_and(f32x4_mul(wt[t], gv), q.mask[t]));
    }
    let v = [
        gather(img, q.idx[0], q.mask[0]),
        gather(img, q.idx[1], q.mask[1]),
        gather(img, q.idx[2], q.mask[2]),
        gather(img, q.idx[3], q.mask[3]),
    ];
    let one = f32x4_splat(1.0);
    let (ux, uy) = (f32x4_sub(one, q.wx), f32x4_sub(one, q.wy));
    let dx = f32x4_add(
        f32x4_mul(uy, f32x4_sub(v[1], v[0])),
        f32x4_mul(q.wy, f32x4_sub(v[3], v[2])),
    );
    let dyv = f32x4_add(
        f32x4_mul(ux, f32x4_sub(v[2], v[0])),
        f32x4_mul(q.wx, f32x4_sub(v[3], v[1])),
    );
    (f32x4_mul(gv, dx), f32x4_mul(gv, dyv))
}

/// C ≥ 2: each valid lane on its own, channels four at a time; returns per-lane (∂out/∂ix, ∂out/∂iy).
#[inline(always)]
unsafe fn backward_lanes(
    g: &Geom,
    q: &Quad,
    img: *const f32,
    dimg: *mut f32,
    dy: *const f32,
    lanes: usize,
) -> (v128, v128) {
    let wt = lanes_f4(weights4(q.wx, q.wy));
    let (wx, wy) = (lanes_f(q.wx), lanes_f(q.wy));
    let valid = lanes_i(q.valid);
    let (mut gix, mut giy) = ([0f32; 4], [0f32; 4]);
    for l in 0..lanes {
        if valid[l] != 0 {
            let tw = [wt[0][l], wt[1][l], wt[2][l], wt[3][l]];
            let lane = backward_lane(g.c, q, l, tw, wx[l], wy[l], img, dimg, dy.add(l * g.c));
            gix[l] = lane.0;
            giy[l] = lane.1;
        }
    }
    (from_f(gix), from_f(giy))
}

/// One valid lane: scatters w·dy into ∂image and returns (∂out/∂ix, ∂out/∂iy) summed over channels.
#[allow(clippy::too_many_arguments)]
#[inline(always)]
unsafe fn backward_lane(
    c: usize,
    q: &Quad,
    l: usize,
    wt: [f32; 4],
    wx: f32,
    wy: f32,
    img: *const f32,
    dimg: *mut f32,
    dy: *const f32,
) -> (f32, f32) {
    let idx = [
        lanes_i(q.idx[0])[l] as usize,
        lanes_i(q.idx[1])[l] as usize,
        lanes_i(q.idx[2])[l] as usize,
        lanes_i(q.idx[3])[l] as usize,
    ];
    let mk = [
        lanes_i(q.mask[0])[l],
        lanes_i(q.mask[1])[l],
        lanes_i(q.mask[2])[l],
        lanes_i(q.mask[3])[l],
    ];
    let (ux, uy) = (1.0 - wx, 1.0 - wy);
    let mut ch = 0;
    let (mut gx, mut gy) = (0f32, 0f32);
    if c >= 4 {
        let (vwx, vwy) = (f32x4_splat(wx), f32x4_splat(wy));
        let (vux, vuy) = (f32x4_splat(ux), f32x4_splat(uy));
        let (mut ax, mut ay) = (f32x4_splat(0.0), f32x4_splat(0.0));
        while ch + 4 <= c {
            let gv = v128_load(dy.add(ch) as *const v128);
            let mut v = [f32x4_splat(0.0); 4];
            for t in 0..4 {
                if mk[t] != 0 {
                    v[t] = v128_load(img.add(idx[t] + ch) as *const v128);
                    let p = dimg.add(idx[t] + ch) as *mut v128;
                    v128_store(
                        p,
                        f32x4_add(v128_load(p), f32x4_mul(f32x4_splat(wt[t]), gv)),
                    );
                }
            }
            let dx = f32x4_add(
                f32x4_mul(vuy, f32x4_sub(v[1], v[0])),
                f32x4_mul(vwy, f32x4_sub(v[3], v[2])),
            );
            let dyv = f32x4_add(
                f32x4_mul(vux, f32x4_sub(v[2], v[0])),
                f32x4_mul(vwx, f32x4_sub(v[3], v[1])),
            );
            ax = f32x4_add(ax, f32x4_mul(gv, dx));
            ay = f32x4_add(ay, f32x4_mul(gv, dyv));
            ch += 4;
        }
        gx = hsum(ax);
        gy = hsum(ay);
    }
    while ch < c {
        let gv = *dy.add(ch);
        let mut v = [0f32; 4];
        for t in 0..4 {
            if mk[t] != 0 {
                v[t] = *img.add(idx[t] + ch);
                *dimg.add(idx[t] + ch) += wt[t] * gv;
            }
        }
        gx += gv * (uy * (v[1] - v[0]) + wy * (v[3] - v[2]));
        gy += gv * (ux * (v[2] - v[0]) + wx * (v[3] - v[1]));
        ch += 1;
    }
    (gx, gy)
}
