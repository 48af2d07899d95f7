//! The fused spatial transformer: PyTorch's `F.affine_grid` + `F.grid_sample(mode="bilinear")`,
//! forward and backward, as `src/kernels/spatial_transform_spec.ts` states them.
//!
//! Layout: image `[N,H,W,C]`, theta `[M,6]` with `M = k·N` (row `m` samples image `m / k`), output
//! and upstream gradient `[M,h,w,C]`, all f32, row-major.
//!
//! Vectorisation: sampling coordinates are computed four output columns at a time (f32x4), which
//! is the whole arithmetic of a C = 1 image besides the four gathers; the channel loops run four
//! channels at a time when C ≥ 4. Bounds safety does not depend on θ: a lane whose coordinates are
//! not finite, or (zeros padding) fall wholly outside the image, is marked invalid and its
//! coordinates replaced by 0 *before* any float→int conversion, and every tap index is clamped
//! into the image, so a tap that is out of range is skipped by its mask, never read or written.
//!
//! The kernels allocate nothing and run on one thread, so the ∂image scatter is a sequential,
//! deterministic sum. ∂θ is summed per output line in f32 lanes and across lines in f64.

use core::arch::wasm32::*;

/// Shapes and options of one call, with the per-axis constants derived from them.
struct Geom {
    h: usize,
    w: usize,
    c: usize,
    m: usize,
    k: usize,
    oh: usize,
    ow: usize,
    zeros: bool,
    /// Normalised output x of column j is `j·step_x + start_x` (PyTorch's affine_grid base).
    step_x: f32,
    start_x: f32,
    step_y: f32,
    start_y: f32,
    /// Pixel coordinate `ix = gx·scale_x + offset_x`; `scale_x` is also d(ix)/d(gx).
    scale_x: f32,
    offset_x: f32,
    scale_y: f32,
    offset_y: f32,
}

/// Coordinates and bilinear taps of four adjacent output pixels (one lane each).
/// Taps are ordered nw (x0,y0), ne (x1,y0), sw (x0,y1), se (x1,y1), as in PyTorch.
struct Quad {
    /// Pixel index `y·W + x` of each tap, always inside the image.
    idx: [[i32; 4]; 4],
    /// All-ones where the tap lies inside the image and the lane is valid.
    mask: [[i32; 4]; 4],
    /// All-ones where the lane's coordinates are finite (and, zeros padding, in range).
    valid: [i32; 4],
    wx: v128,
    wy: v128,
    /// d(ix)/d(gx) and d(iy)/d(gy): 0 for invalid lanes and for coordinates clamped to the border.
    mx: v128,
    my: v128,
}

fn axis(out: usize, size: usize, align: bool) -> (f32, f32, f32, f32) {
    let (step, start) = if align {
        if out > 1 {
            (2.0 / (out as f32 - 1.0), -1.0)
        } else {
            (0.0, 0.0)
        }
    } else {
        (2.0 / out as f32, 1.0 / out as f32 - 1.0)
    };
    let offset = (size as f32 - 1.0) / 2.0;
    let scale = if align { offset } else { size as f32 / 2.0 };
    (step, start, scale, offset)
}

impl Geom {
    #[allow(clippy::too_many_arguments)]
    fn new(
        n: usize,
        h: usize,
        w: usize,
        c: usize,
        m: usize,
        oh: usize,
        ow: usize,
        align: bool,
        zeros: bool,
    ) -> Option<Geom> {
        if n == 0 || m % n != 0 {
            return None;
        }
        let (step_x, start_x, scale_x, offset_x) = axis(ow, w, align);
        let (step_y, start_y, scale_y, offset_y) = axis(oh, h, align);
        Some(Geom {
            h,
            w,
            c,
            m,
            k: m / n,
            oh,
            ow,
            zeros,
            step_x,
            start_x,
            step_y,
            start_y,
            scale_x,
            offset_x,
            scale_y,
            offset_y,
        })
    }

    fn is_empty(&self) -> bool {
        self.h == 0 || self.w == 0 || self.c == 0 || self.m == 0 || self.oh == 0 || self.ow == 0
    }

    /// Normalised x of output columns j..j+3.
    #[inline(always)]
    fn xs(&self, j: usize) -> v128 {
        let jf = f32x4_add(f32x4_splat(j as f32), f32x4(0.0, 1.0, 2.0, 3.0));
        f32x4_add(
            f32x4_mul(jf, f32x4_splat(self.step_x)),
            f32x4_splat(self.start_x),
        )
    }

    #[inline(always)]
    fn y(&self, i: usize) -> f32 {
        i as f32 * self.step_y + self.start_y
    }

    /// Sampling coordinates of output pixels (y, xs) under θ = t.
    #[inline(always)]
    fn quad(&self, t: &[f32; 6], xs: v128, y: f32) -> Quad {
        let zero = f32x4_splat(0.0);
        let gx = f32x4_add(
            f32x4_mul(f32x4_splat(t[0]), xs),
            f32x4_splat(t[1] * y + t[2]),
        );
        let gy = f32x4_add(
            f32x4_mul(f32x4_splat(t[3]), xs),
            f32x4_splat(t[4] * y + t[5]),
        );
        // v - v is 0 exactly when v is finite (NaN for NaN and ±Inf).
        let finite = v128_and(
            f32x4_eq(f32x4_sub(gx, gx), zero),
            f32x4_eq(f32x4_sub(gy, gy), zero),
        );
        let mut ix = f32x4_add(
            f32x4_mul(gx, f32x4_splat(self.scale_x)),
            f32x4_splat(self.offset_x),
        );
        let mut iy = f32x4_add(
            f32x4_mul(gy, f32x4_splat(self.scale_y)),
            f32x4_splat(self.offset_y),
        );
        let mut mx = f32x4_splat(self.scale_x);
        let mut my = f32x4_splat(self.scale_y);
        let wf = f32x4_splat(self.w as f32);
        let hf = f32x4_splat(self.h as f32);
        let valid = if self.zeros {
            // Outside [-1, W] no tap is inside the image (also false for NaN and ±Inf).
            let in_x = v128_and(f32x4_ge(ix, f32x4_splat(-1.0)), f32x4_le(ix, wf));
            let in_y = v128_and(f32x4_ge(iy, f32x4_splat(-1.0)), f32x4_le(iy, hf));
            v128_and(finite, v128_and(in_x, in_y))
        } else {
            // PyTorch's clip_coordinates_set_grad: a coordinate at or beyond the border has gradient 0.
            let max_x = f32x4_sub(wf, f32x4_splat(1.0));
            let max_y = f32x4_sub(hf, f32x4_splat(1.0));
            mx = v128_and(mx, v128_and(f32x4_gt(ix, zero), f32x4_lt(ix, max_x)));
            my = v128_and(my, v128_and(f32x4_gt(iy, zero), f32x4_lt(iy, max_y)));
            // pmax/pmin send NaN to the bound, so the result is always inside [0, max].
            ix = f32x4_pmin(max_x, f32x4_pmax(zero, ix));
            iy = f32x4_pmin(max_y, f32x4_pmax(zero, iy));
            finite
        };
        // Invalid lanes: coordinates 0 (so floor/convert are well defined), no gradient, no taps.
        ix = v128_and(ix, valid);
        iy = v128_and(iy, valid);
        mx = v128_and(mx, valid);
        my = v128_and(my, valid);
        let fx = f32x4_floor(ix);
        let fy = f32x4_floor(iy);
        let wx = f32x4_sub(ix, fx);
        let wy = f32x4_sub(iy, fy);
        // ix, iy ∈ [-1, W] × [-1, H] here, so the conversions are exact.
        let x0 = i32x4_trunc_sat_f32x4(fx);
        let y0 = i32x4_trunc_sat_f32x4(fy);
        let one = i32x4_splat(1);
        let zero_i = i32x4_splat(0);
        let wm1 = i32x4_splat(self.w as i32 - 1);
        let hm1 = i32x4_splat(self.h as i32 - 1);
        let x1 = i32x4_add(x0, one);
        let y1 = i32x4_add(y0, one);
        let vx0 = v128_and(i32x4_ge(x0, zero_i), valid);
        let vx1 = v128_and(i32x4_le(x1, wm1), valid);
        let vy0 = i32x4_ge(y0, zero_i);
        let vy1 = i32x4_le(y1, hm1);
        let xc0 = i32x4_min(i32x4_max(x0, zero_i), wm1);
        let xc1 = i32x4_min(i32x4_max(x1, zero_i), wm1);
        let wi = i32x4_splat(self.w as i32);
        let row0 = i32x4_mul(i32x4_min(i32x4_max(y0, zero_i), hm1), wi);
        let row1 = i32x4_mul(i32x4_min(i32x4_max(y1, zero_i), hm1), wi);
        Quad {
            idx: [
                lanes_i(i32x4_add(row0, xc0)),
                lanes_i(i32x4_add(row0, xc1)),
                lanes_i(i32x4_add(row1, xc0)),
                lanes_i(i32x4_add(row1, xc1)),
            ],
            mask: [
                lanes_i(v128_and(vx0, vy0)),
                lanes_i(v128_and(vx1, vy0)),
                lanes_i(v128_and(vx0, vy1)),
                lanes_i(v128_and(vx1, vy1)),
            ],
            valid: lanes_i(valid),
            wx,
            wy,
            mx,
            my,
        }
    }
}

#[inline(always)]
fn lanes_i(v: v128) -> [i32; 4] {
    // SAFETY: v128 and [i32; 4] have the same size and every bit pattern is valid for both.
    unsafe { core::mem::transmute(v) }
}

#[inline(always)]
fn lanes_f(v: v128) -> [f32; 4] {
    // SAFETY: as above.
    unsafe { core::mem::transmute(v) }
}

#[inline(always)]
fn from_f(a: [f32; 4]) -> v128 {
    // SAFETY: as above.
    unsafe { core::mem::transmute(a) }
}

#[inline(always)]
fn hsum(v: v128) -> f32 {
    let a = lanes_f(v);
    (a[0] + a[1]) + (a[2] + a[3])
}

/// Bilinear weights (nw, ne, sw, se) of one lane.
#[inline(always)]
fn weights(wx: f32, wy: f32) -> [f32; 4] {
    [
        (1.0 - wx) * (1.0 - wy),
        wx * (1.0 - wy),
        (1.0 - wx) * wy,
        wx * wy,
    ]
}

/// A tap's value, 0 when the tap is outside the image. `idx` is in range, so the read is safe
/// even for masked taps; the select keeps a NaN/Inf pixel from leaking into masked-out taps.
#[inline(always)]
unsafe fn tap(img: *const f32, idx: i32, mask: i32, c: usize) -> f32 {
    let v = *img.add(idx as usize * c);
    if mask != 0 {
        v
    } else {
        0.0
    }
}

#[inline(always)]
unsafe fn tap4(img: *const f32, idx: i32, mask: i32, c: usize) -> v128 {
    if mask != 0 {
        v128_load(img.add(idx as usize * c) as *const v128)
    } else {
        f32x4_splat(0.0)
    }
}

#[inline(always)]
unsafe fn theta_row(theta: *const f32, m: usize) -> [f32; 6] {
    let t = theta.add(m * 6);
    [*t, *t.add(1), *t.add(2), *t.add(3), *t.add(4), *t.add(5)]
}

/// Forward: `out[m,i,j,:]` = bilinear sample of image `m / k` at the affine-mapped coordinates.
///
/// Returns 0, or 1 when `n` is 0 or `m` is not a multiple of `n` (nothing is written then).
///
/// # Safety
/// The pointers must address `n·h·w·c`, `m·6` and `m·oh·ow·c` f32s of this module's memory.
#[no_mangle]
pub unsafe extern "C" fn rnnspn_spatial_transform(
    image: *const f32,
    theta: *const f32,
    out: *mut f32,
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
    let g = match Geom::new(
        n,
        h,
        w,
        c,
        m,
        oh,
        ow,
        align_corners != 0,
        zeros_padding != 0,
    ) {
        Some(g) => g,
        None => return 1,
    };
    if g.is_empty() {
        core::ptr::write_bytes(out, 0, m * oh * ow * c);
        return 0;
    }
    for mi in 0..g.m {
        let t = theta_row(theta, mi);
        let img = image.add((mi / g.k) * g.h * g.w * g.c);
        for i in 0..g.oh {
            let y = g.y(i);
            let line = out.add((mi * g.oh + i) * g.ow * g.c);
            let mut j = 0;
            while j < g.ow {
                let q = g.quad(&t, g.xs(j), y);
                let lanes = (g.ow - j).min(4);
                if g.c == 1 {
                    forward_c1(&q, img, line.add(j), lanes);
                } else {
                    let wx = lanes_f(q.wx);
                    let wy = lanes_f(q.wy);
                    for l in 0..lanes {
                        forward_lane(
                            &g,
                            &q,
                            l,
                            weights(wx[l], wy[l]),
                            img,
                            line.add((j + l) * g.c),
                        );
                    }
                }
                j += 4;
            }
        }
    }
    0
}

/// One channel: gather the four taps of each lane, blend all lanes at once.
#[inline(always)]
unsafe fn forward_c1(q: &Quad, img: *const f32, out: *mut f32, lanes: usize) {
    let mut v = [[0f32; 4]; 4];
    for t in 0..4 {
        for l in 0..4 {
            v[t][l] = tap(img, q.idx[t][l], q.mask[t][l], 1);
        }
    }
    let one = f32x4_splat(1.0);
    let (wx, wy) = (q.wx, q.wy);
    let (ux, uy) = (f32x4_sub(one, wx), f32x4_sub(one, wy));
    let s = f32x4_add(
        f32x4_add(
            f32x4_mul(f32x4_mul(ux, uy), from_f(v[0])),
            f32x4_mul(f32x4_mul(wx, uy), from_f(v[1])),
        ),
        f32x4_add(
            f32x4_mul(f32x4_mul(ux, wy), from_f(v[2])),
            f32x4_mul(f32x4_mul(wx, wy), from_f(v[3])),
        ),
    );
    if lanes == 4 {
        v128_store(out as *mut v128, s);
    } else {
        let s = lanes_f(s);
        for (l, value) in s.iter().enumerate().take(lanes) {
            *out.add(l) = *value;
        }
    }
}

/// Several channels of one lane: four channels at a time, then the rest.
#[inline(always)]
unsafe fn forward_lane(g: &Geom, q: &Quad, l: usize, wt: [f32; 4], img: *const f32, out: *mut f32) {
    let c = g.c;
    if q.valid[l] == 0 {
        core::ptr::write_bytes(out, 0, c);
        return;
    }
    let p = [
        img.add(q.idx[0][l] as usize * c),
        img.add(q.idx[1][l] as usize * c),
        img.add(q.idx[2][l] as usize * c),
        img.add(q.idx[3][l] as usize * c),
    ];
    let mk = [q.mask[0][l], q.mask[1][l], q.mask[2][l], q.mask[3][l]];
    let wv = [
        f32x4_splat(wt[0]),
        f32x4_splat(wt[1]),
        f32x4_splat(wt[2]),
        f32x4_splat(wt[3]),
    ];
    let mut ch = 0;
    while ch + 4 <= c {
        let mut acc = f32x4_splat(0.0);
        for t in 0..4 {
            if mk[t] != 0 {
                acc = f32x4_add(
                    acc,
                    f32x4_mul(wv[t], v128_load(p[t].add(ch) as *const v128)),
                );
            }
        }
        v128_store(out.add(ch) as *mut v128, acc);
        ch += 4;
    }
    while ch < c {
        let mut acc = 0f32;
        for t in 0..4 {
            if mk[t] != 0 {
                acc += wt[t] * *p[t].add(ch);
            }
        }
        *out.add(ch) = acc;
        ch += 1;
    }
}

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
    let g = match Geom::new(
        n,
        h,
        w,
        c,
        m,
        oh,
        ow,
        align_corners != 0,
        zeros_padding != 0,
    ) {
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
        let img = image.add(offset);
        let dimg = dimage.add(offset);
        // Σ over the row of ∂gx·x, ∂gx, ∂gy·x, ∂gy·y... kept in f64 across output lines.
        let mut acc = [0f64; 6];
        for i in 0..g.oh {
            let y = g.y(i);
            let line = dy.add((mi * g.oh + i) * g.ow * g.c);
            let (mut sx_x, mut sx_1, mut sy_x, mut sy_1) = (
                f32x4_splat(0.0),
                f32x4_splat(0.0),
                f32x4_splat(0.0),
                f32x4_splat(0.0),
            );
            let mut j = 0;
            while j < g.ow {
                let xs = g.xs(j);
                let q = g.quad(&t, xs, y);
                let lanes = (g.ow - j).min(4);
                let wx = lanes_f(q.wx);
                let wy = lanes_f(q.wy);
                // ∂out/∂ix and ∂out/∂iy summed over channels, per lane (0 for lanes not computed).
                let mut gix = [0f32; 4];
                let mut giy = [0f32; 4];
                for l in 0..lanes {
                    if q.valid[l] != 0 {
                        let (a, b) = backward_lane(
                            &g,
                            &q,
                            l,
                            wx[l],
                            wy[l],
                            img,
                            dimg,
                            line.add((j + l) * g.c),
                        );
                        gix[l] = a;
                        giy[l] = b;
                    }
                }
                let dgx = f32x4_mul(from_f(gix), q.mx);
                let dgy = f32x4_mul(from_f(giy), q.my);
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

/// One valid lane: scatters w·dy into ∂image and returns (∂out/∂ix, ∂out/∂iy) summed over channels.
#[inline(always)]
unsafe fn backward_lane(
    g: &Geom,
    q: &Quad,
    l: usize,
    wx: f32,
    wy: f32,
    img: *const f32,
    dimg: *mut f32,
    dy: *const f32,
) -> (f32, f32) {
    let c = g.c;
    let wt = weights(wx, wy);
    let idx = [
        q.idx[0][l] as usize * c,
        q.idx[1][l] as usize * c,
        q.idx[2][l] as usize * c,
        q.idx[3][l] as usize * c,
    ];
    let mk = [q.mask[0][l], q.mask[1][l], q.mask[2][l], q.mask[3][l]];
    let (ux, uy) = (1.0 - wx, 1.0 - wy);
    let mut ch = 0;
    let (mut gx, mut gy) = (0f32, 0f32);
    if c >= 4 {
        let (vwx, vwy, vux, vuy) = (
            f32x4_splat(wx),
            f32x4_splat(wy),
            f32x4_splat(ux),
            f32x4_splat(uy),
        );
        let (mut ax, mut ay) = (f32x4_splat(0.0), f32x4_splat(0.0));
        while ch + 4 <= c {
            let gv = v128_load(dy.add(ch) as *const v128);
            let v = [
                tap4(img.add(ch), q.idx[0][l], mk[0], c),
                tap4(img.add(ch), q.idx[1][l], mk[1], c),
                tap4(img.add(ch), q.idx[2][l], mk[2], c),
                tap4(img.add(ch), q.idx[3][l], mk[3], c),
            ];
            for t in 0..4 {
                if mk[t] != 0 {
                    let p = dimg.add(idx[t] + ch) as *mut v128;
                    v128_store(
                        p,
                        f32x4_add(v128_load(p), f32x4_mul(f32x4_splat(wt[t]), gv)),
                    );
                }
            }
            // PyTorch: gix = Σ g·[(1-wy)(ne-nw) + wy(se-sw)], giy = Σ g·[(1-wx)(sw-nw) + wx(se-ne)].
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
        let im = img.add(ch);
        let v = [
            tap(im, q.idx[0][l], mk[0], c),
            tap(im, q.idx[1][l], mk[1], c),
            tap(im, q.idx[2][l], mk[2], c),
            tap(im, q.idx[3][l], mk[3], c),
        ];
        for t in 0..4 {
            if mk[t] != 0 {
                *dimg.add(idx[t] + ch) += wt[t] * gv;
            }
        }
        gx += gv * (uy * (v[1] - v[0]) + wy * (v[3] - v[2]));
        gy += gv * (ux * (v[2] - v[0]) + wx * (v[3] - v[1]));
        ch += 1;
    }
    (gx, gy)
}
