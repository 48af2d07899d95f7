//! The fused spatial transformer: PyTorch's `F.affine_grid` + `F.grid_sample(mode="bilinear")`,
//! forward (here) and backward (`spatial_transform/grad.rs`), as
//! `src/kernels/spatial_transform_spec.ts` states them.
//!
//! Layout: image `[N,H,W,C]`, theta `[M,6]` with `M = k·N` (row `m` samples image `m / k`), output
//! and upstream gradient `[M,h,w,C]`, all f32, row-major.
//!
//! Vectorisation: sampling coordinates are computed four output columns at a time (f32x4). With
//! C = 1 the blend (and, backward, the ∂θ terms) stay in those four lanes too, so only the 16
//! gathers of a quad are scalar; with C ≥ 2 each pixel's channel loop runs four channels at a
//! time (C ≥ 4) plus a scalar tail.
//!
//! Bounds safety does not depend on θ: a lane whose coordinates are not finite, or (zeros padding)
//! fall wholly outside the image, is marked invalid and its coordinates replaced by 0 *before* any
//! float→int conversion, and every tap index is clamped into the image. A tap outside the image is
//! therefore read at a clamped (valid) address and masked to 0, never read or written out of range;
//! masking the value rather than the weight keeps a NaN/Inf pixel from leaking into it.
//!
//! The kernels allocate nothing and run on one thread, so the ∂image scatter is a sequential,
//! deterministic sum. ∂θ is summed per output line in f32 lanes and across lines in f64.

use core::arch::wasm32::*;

mod grad;

/// Shapes and options of one call, with the per-axis constants derived from them.
pub(crate) struct Geom {
    pub h: usize,
    pub w: usize,
    pub c: usize,
    pub m: usize,
    pub k: usize,
    pub oh: usize,
    pub ow: usize,
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
pub(crate) struct Quad {
    /// Element offset `(y·W + x)·C` of each tap, always inside the image (clamped).
    pub idx: [v128; 4],
    /// All-ones where the tap lies inside the image and the lane is valid.
    pub mask: [v128; 4],
    /// All-ones where the lane is a real column whose coordinates are finite (and, zeros
    /// padding, not wholly outside the image).
    pub valid: v128,
    pub wx: v128,
    pub wy: v128,
    /// d(ix)/d(gx) and d(iy)/d(gy): 0 for invalid lanes and for coordinates clamped to the border.
    pub mx: v128,
    pub my: v128,
}

/// (step, start, scale, offset) of one axis: `out` output pixels sampling `size` input pixels.
fn axis(out: usize, size: usize, align: bool) -> (f32, f32, f32, f32) {
    let (step, start) = match (align, out > 1) {
        (true, true) => (2.0 / (out as f32 - 1.0), -1.0),
        (true, false) => (0.0, 0.0),
        (false, _) => (2.0 / out as f32, 1.0 / out as f32 - 1.0),
    };
    let offset = (size as f32 - 1.0) / 2.0;
    let scale = if align { offset } else { size as f32 / 2.0 };
    (step, start, scale, offset)
}

impl Geom {
    /// `dims` = [n, h, w, c, m, oh, ow]; None when n is 0 or m is not a multiple of n.
    pub fn new(dims: [usize; 7], align: bool, zeros: bool) -> Option<Geom> {
        let [n, h, w, c, m, oh, ow] = dims;
        if n == 0 || m % n != 0 {
            return None;
        }
        let (step_x, start_x, scale_x, offset_x) = axis(ow, w, align);
        let (step_y, start_y, scale_y, offset_y) = axis(oh, h, align);
        let k = m / n;
        Some(Geom {
            h,
            w,
            c,
            m,
            k,
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

    pub fn is_empty(&self) -> bool {
        self.h == 0 || self.w == 0 || self.c == 0 || self.m == 0 || self.oh == 0 || self.ow == 0
    }

    /// Normalised x of output columns j..j+3.
    #[inline(always)]
    pub fn xs(&self, j: usize) -> v128 {
        let jf = f32x4_add(f32x4_splat(j as f32), f32x4(0.0, 1.0, 2.0, 3.0));
        f32x4_add(
            f32x4_mul(jf, f32x4_splat(self.step_x)),
            f32x4_splat(self.start_x),
        )
    }

    #[inline(always)]
    pub fn y(&self, i: usize) -> f32 {
        i as f32 * self.step_y + self.start_y
    }

    /// Sampling coordinates of output pixels (y, xs) under θ = t; lanes ≥ `lanes` are invalid.
    #[inline(always)]
    pub fn quad(&self, t: &[f32; 6], xs: v128, y: f32, lanes: usize) -> Quad {
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
        let live = i32x4_lt(i32x4(0, 1, 2, 3), i32x4_splat(lanes as i32));
        let scale_x = f32x4_splat(self.scale_x);
        let scale_y = f32x4_splat(self.scale_y);
        let mut ix = f32x4_add(f32x4_mul(gx, scale_x), f32x4_splat(self.offset_x));
        let mut iy = f32x4_add(f32x4_mul(gy, scale_y), f32x4_splat(self.offset_y));
        let (mut mx, mut my) = (scale_x, scale_y);
        let wf = f32x4_splat(self.w as f32);
        let hf = f32x4_splat(self.h as f32);
        let valid = if self.zeros {
            // Outside [-1, W] no tap is inside the image (also false for NaN and ±Inf).
            let in_x = v128_and(f32x4_ge(ix, f32x4_splat(-1.0)), f32x4_le(ix, wf));
            let in_y = v128_and(f32x4_ge(iy, f32x4_splat(-1.0)), f32x4_le(iy, hf));
            v128_and(v128_and(finite, live), v128_and(in_x, in_y))
        } else {
            // PyTorch's clip_coordinates_set_grad: a coordinate at or beyond the border has gradient 0.
            let max_x = f32x4_sub(wf, f32x4_splat(1.0));
            let max_y = f32x4_sub(hf, f32x4_splat(1.0));
            mx = v128_and(mx, v128_and(f32x4_gt(ix, zero), f32x4_lt(ix, max_x)));
            my = v128_and(my, v128_and(f32x4_gt(iy, zero), f32x4_lt(iy, max_y)));
            // pmax/pmin send NaN to a bound, so the result is always inside [0, max].
            ix = f32x4_pmin(max_x, f32x4_pmax(zero, ix));
            iy = f32x4_pmin(max_y, f32x4_pmax(zero, iy));
            v128_and(finite, live)
        };
        // Invalid lanes: coordinates 0 (so floor and convert are well defined), no gradient, no taps.
        ix = v128_and(ix, valid);
        iy = v128_and(iy, valid);
        let fx = f32x4_floor(ix);
        let fy = f32x4_floor(iy);
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
        let xc1 = i32x4_min(x1, wm1);
        let wi = i32x4_splat(self.w as i32);
        let row0 = i32x4_mul(i32x4_min(i32x4_max(y0, zero_i), hm1), wi);
        let row1 = i32x4_mul(i32x4_min(y1, hm1), wi);
        let ci = i32x4_splat(self.c as i32);
        let at = |row: v128, col: v128| i32x4_mul(i32x4_add(row, col), ci);
        Quad {
            idx: [at(row0, xc0), at(row0, xc1), at(row1, xc0), at(row1, xc1)],
            mask: [
                v128_and(vx0, vy0),
                v128_and(vx1, vy0),
                v128_and(vx0, vy1),
                v128_and(vx1, vy1),
            ],
            valid,
            wx: f32x4_sub(ix, fx),
            wy: f32x4_sub(iy, fy),
            mx: v128_and(mx, valid),
            my: v128_and(my, valid),
        }
    }
}

#[inline(always)]
pub(crate) fn lanes_i(v: v128) -> [i32; 4] {
    // SAFETY: v128 and [i32; 4] have the same size and every bit pattern is valid for both.
    unsafe { core::mem::transmute(v) }
}

#[inline(always)]
pub(crate) fn lanes_f(v: v128) -> [f32; 4] {
    // SAFETY: as above.
    unsafe { core::mem::transmute(v) }
}

#[inline(always)]
pub(crate) fn from_f(a: [f32; 4]) -> v128 {
    // SAFETY: as above.
    unsafe { core::mem::transmute(a) }
}

#[inline(always)]
pub(crate) fn hsum(v: v128) -> f32 {
    let a = lanes_f(v);
    (a[0] + a[1]) + (a[2] + a[3])
}

/// Bilinear weights (nw, ne, sw, se) of four lanes.
#[inline(always)]
pub(crate) fn weights4(wx: v128, wy: v128) -> [v128; 4] {
    let one = f32x4_splat(1.0);
    let (ux, uy) = (f32x4_sub(one, wx), f32x4_sub(one, wy));
    [
        f32x4_mul(ux, uy),
        f32x4_mul(wx, uy),
        f32x4_mul(ux, wy),
        f32x4_mul(wx, wy),
    ]
}

/// The four lanes' values of one tap (C = 1 layout or channel 0 of `img`), 0 where masked out.
/// Offsets are clamped into the image, so every read is in range.
#[inline(always)]
pub(crate) unsafe fn gather(img: *const f32, idx: v128, mask: v128) -> v128 {
    let v = f32x4(
        *img.add(i32x4_extract_lane::<0>(idx) as usize),
        *img.add(i32x4_extract_lane::<1>(idx) as usize),
        *img.add(i32x4_extract_lane::<2>(idx) as usize),
        *img.add(i32x4_extract_lane::<3>(idx) as usize),
    );
    v128_and(v, mask)
}

#[inline(always)]
pub(crate) unsafe fn theta_row(theta: *const f32, m: usize) -> [f32; 6] {
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
    let dims = [n, h, w, c, m, oh, ow];
    let g = match Geom::new(dims, align_corners != 0, zeros_padding != 0) {
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
                let lanes = (g.ow - j).min(4);
                let q = g.quad(&t, g.xs(j), y, lanes);
                if g.c == 1 {
                    forward_c1(&q, img, line.add(j), lanes);
                } else {
                    let wt = lanes_f4(weights4(q.wx, q.wy));
                    let valid = lanes_i(q.valid);
                    for l in 0..lanes {
                        let o = line.add((j + l) * g.c);
                        if valid[l] == 0 {
                            core::ptr::write_bytes(o, 0, g.c);
                        } else {
                            let tw = [wt[0][l], wt[1][l], wt[2][l], wt[3][l]];
                            forward_lane(g.c, &q, l, tw, img, o);
                        }
                    }
                }
                j += 4;
            }
        }
    }
    0
}

#[inline(always)]
pub(crate) fn lanes_f4(v: [v128; 4]) -> [[f32; 4]; 4] {
    [lanes_f(v[0]), lanes_f(v[1]), lanes_f(v[2]), lanes_f(v[3])]
}

/// One channel: gather the four taps of four lanes, blend the lanes at once.
#[inline(always)]
unsafe fn forward_c1(q: &Quad, img: *const f32, out: *mut f32, lanes: usize) {
    let wt = weights4(q.wx, q.wy);
    let s = f32x4_add(
        f32x4_add(
            f32x4_mul(wt[0], gather(img, q.idx[0], q.mask[0])),
            f32x4_mul(wt[1], gather(img, q.idx[1], q.mask[1])),
        ),
        f32x4_add(
            f32x4_mul(wt[2], gather(img, q.idx[2], q.mask[2])),
            f32x4_mul(wt[3], gather(img, q.idx[3], q.mask[3])),
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

/// All channels of one valid lane: four channels at a time, then the rest.
#[inline(always)]
unsafe fn forward_lane(c: usize, q: &Quad, l: usize, wt: [f32; 4], img: *const f32, out: *mut f32) {
    let p = [
        img.add(lanes_i(q.idx[0])[l] as usize),
        img.add(lanes_i(q.idx[1])[l] as usize),
        img.add(lanes_i(q.idx[2])[l] as usize),
        img.add(lanes_i(q.idx[3])[l] as usize),
    ];
    let mk = [
        lanes_i(q.mask[0])[l],
        lanes_i(q.mask[1])[l],
        lanes_i(q.mask[2])[l],
        lanes_i(q.mask[3])[l],
    ];
    let mut ch = 0;
    while ch + 4 <= c {
        let mut acc = f32x4_splat(0.0);
        for t in 0..4 {
            if mk[t] != 0 {
                let v = v128_load(p[t].add(ch) as *const v128);
                acc = f32x4_add(acc, f32x4_mul(f32x4_splat(wt[t]), v));
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
