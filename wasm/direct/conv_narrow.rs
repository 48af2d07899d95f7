//! Stride-1 convolutions whose input has few channels, and both their gradients: the first layer of
//! a classifier behind the spatial transformer and of the localisation net (one channel in, 20–96
//! out), which XNNPACK runs at a third of the SIMD rate, and whose gradients are dominated by
//! streaming the wide `dy` (so they run here, on tfjs's heap, with no copy of it).
//!
//! All of them run SIMD over the output channels `co` (contiguous in `y`/`dy` and in the filter's
//! last axis), so the narrow input is only ever splatted and no transposed filter is needed.
//! `conv_narrow_backprop_input_f32` takes any filter size, ≤ 4 input channels and padding;
//! the `conv3x3_c1_*` kernels are the one-channel 3×3 `valid` case of a training step, with the
//! nine taps' weights or sums in registers. No arrays that outlive inlining, no stack (see `lib.rs`).

use core::arch::wasm32::*;

/// ∂x of a stride-1 convolution `x` [b, h, wd, ci] ⊛ `w` [kh, kw, ci, co] with `pt`/`pl` zero rows
/// above / columns left of x: `dy` [b, oh, ow, co], `w` [kh, kw, ci, co] → `dx` [b, h, wd, ci]
/// (overwritten), dx[b, iy, ix, i] = Σ_{u, v} dy[b, iy + pt − u, ix + pl − v, :] · w[u, v, i, :].
///
/// # Safety
/// The pointers must address buffers of the sizes the shapes imply.
#[no_mangle]
#[allow(clippy::too_many_arguments)]
pub unsafe extern "C" fn conv_narrow_backprop_input_f32(
    dy: *const f32,
    w: *const f32,
    dx: *mut f32,
    b: usize,
    h: usize,
    wd: usize,
    ci: usize,
    oh: usize,
    ow: usize,
    co: usize,
    kh: usize,
    kw: usize,
    pt: usize,
    pl: usize,
) {
    for bi in 0..b {
        for iy in 0..h {
            for ix in 0..wd {
                let out = dx.add(((bi * h + iy) * wd + ix) * ci);
                input_pixel(dy, w, out, bi, iy, ix, ci, oh, ow, co, kh, kw, pt, pl);
            }
        }
    }
}

/// One pixel's `ci` values of [`conv_narrow_backprop_input_f32`], written to `out`.
#[inline(always)]
#[allow(clippy::too_many_arguments)]
unsafe fn input_pixel(
    dy: *const f32,
    w: *const f32,
    out: *mut f32,
    bi: usize,
    iy: usize,
    ix: usize,
    ci: usize,
    oh: usize,
    ow: usize,
    co: usize,
    kh: usize,
    kw: usize,
    pt: usize,
    pl: usize,
) {
    // The taps reaching dy row oy = iy + pt − u lie in `0..oh`: u in (iy + pt + 1 − oh)..=(iy + pt).
    let range = |i: usize, pad: usize, kn: usize, on: usize| {
        let t = i + pad;
        let lo = (t + 1).saturating_sub(on);
        (lo, kn.min(t + 1).max(lo))
    };
    let (u0, u1) = range(iy, pt, kh, oh);
    let (v0, v1) = range(ix, pl, kw, ow);
    for i in 0..ci {
        let mut s0 = f32x4_splat(0.0);
        let mut s1 = f32x4_splat(0.0);
        let mut t = 0f32;
        for u in u0..u1 {
            for v in v0..v1 {
                let d = dy.add(((bi * oh + iy + pt - u) * ow + ix + pl - v) * co);
                let f = w.add(((u * kw + v) * ci + i) * co);
                let mut c = 0;
                while c + 8 <= co {
                    s0 = f32x4_add(
                        s0,
                        f32x4_mul(v128_load(d.add(c) as *const v128), v128_load(f.add(c) as *const v128)),
                    );
                    s1 = f32x4_add(
                        s1,
                        f32x4_mul(v128_load(d.add(c + 4) as *const v128), v128_load(f.add(c + 4) as *const v128)),
                    );
                    c += 8;
                }
                if c + 4 <= co {
                    s0 = f32x4_add(
                        s0,
                        f32x4_mul(v128_load(d.add(c) as *const v128), v128_load(f.add(c) as *const v128)),
                    );
                    c += 4;
                }
                while c < co {
                    t += *d.add(c) * *f.add(c);
                    c += 1;
                }
            }
        }
        *out.add(i) = hsum(f32x4_add(s0, s1)) + t;
    }
}

#[inline(always)]
fn hsum(s: v128) -> f32 {
    f32x4_extract_lane::<0>(s) + f32x4_extract_lane::<1>(s) + f32x4_extract_lane::<2>(s) + f32x4_extract_lane::<3>(s)
}

/// The nine taps of a 3×3 filter for output channels `c..c + 4`: `w` [3, 3, 1, co].
#[inline(always)]
unsafe fn taps3x3(w: *const f32, co: usize, c: usize) -> [v128; 9] {
    let f = |t: usize| v128_load(w.add(t * co + c) as *const v128);
    [f(0), f(1), f(2), f(3), f(4), f(5), f(6), f(7), f(8)]
}

/// y = act(conv(x, w) + bias) for one input channel, 3×3, `valid`: `x` [b, h, wd, 1], `w`
/// [3, 3, 1, co], `bias` [co] (read only when `has_bias` ≠ 0), `y` [b, h − 2, wd − 2, co]; `relu`
/// ≠ 0 applies tfjs's relu (`x < 0 ? 0 : x`, so NaN stays NaN). For each row of output and each
/// group of 4 output channels the nine taps' weights stay in registers, so a pixel costs three
/// splat loads and nine multiplies and adds per 4 channels. `co` need not be a multiple of 4 (the
/// last channels run scalar).
///
/// # Safety
/// The pointers must address buffers of the sizes the shapes imply; h, wd ≥ 3.
#[no_mangle]
#[allow(clippy::too_many_arguments)]
pub unsafe extern "C" fn conv3x3_c1_f32(
    x: *const f32,
    w: *const f32,
    bias: *const f32,
    y: *mut f32,
    b: usize,
    h: usize,
    wd: usize,
    co: usize,
    has_bias: usize,
    relu: usize,
) {
    let (oh, ow) = (h - 2, wd - 2);
    let zero = f32x4_splat(0.0);
    for bi in 0..b {
        for oy in 0..oh {
            let r0 = x.add((bi * h + oy) * wd);
            let (r1, r2) = (r0.add(wd), r0.add(2 * wd));
            let out = y.add((bi * oh + oy) * ow * co);
            let mut c = 0;
            while c + 4 <= co {
                let [k0, k1, k2, k3, k4, k5, k6, k7, k8] = taps3x3(w, co, c);
                let b0 = if has_bias != 0 { v128_load(bias.add(c) as *const v128) } else { zero };
                let s = |p: *const f32| v128_load32_splat(p as *const u32);
                // Along the row, each column of x (three values, one per row) is splatted once and
                // feeds the three outputs it reaches: y[j − 2] is complete after column j, and the
                // partial sums of y[j − 1] and y[j] ride along in registers.
                let (mut q1, mut q2) = (zero, zero);
                for j in 0..wd {
                    let (s0, s1, s2) = (s(r0.add(j)), s(r1.add(j)), s(r2.add(j)));
                    let mut a = f32x4_add(q2, f32x4_add(f32x4_mul(s0, k2), f32x4_add(f32x4_mul(s1, k5), f32x4_mul(s2, k8))));
                    q2 = f32x4_add(q1, f32x4_add(f32x4_mul(s0, k1), f32x4_add(f32x4_mul(s1, k4), f32x4_mul(s2, k7))));
                    q1 = f32x4_add(f32x4_mul(s0, k0), f32x4_add(f32x4_mul(s1, k3), f32x4_mul(s2, k6)));
                    if j >= 2 {
                        a = f32x4_add(a, b0);
                        if relu != 0 {
                            a = f32x4_pmax(a, zero);
                        }
                        v128_store(out.add((j - 2) * co + c) as *mut v128, a);
                    }
                }
                c += 4;
            }
            while c < co {
                let b0 = if has_bias != 0 { *bias.add(c) } else { 0.0 };
                for ox in 0..ow {
                    let mut a = b0;
                    for u in 0..3 {
                        let r = r0.add(u * wd + ox);
                        for v in 0..3 {
                            a += *r.add(v) * *w.add((u * 3 + v) * co + c);
                        }
                    }
                    *out.add(ox * co + c) = if relu != 0 && a < 0.0 { 0.0 } else { a };
                }
                c += 1;
            }
        }
    }
}

/// ∂W of [`conv3x3_c1_f32`]: `x` [b, h, wd, 1], `dy` [b, h − 2, wd − 2, co] → `dw` [3, 3, 1, co]
/// (overwritten), dw[u, v, 0, :] = Σ_{b, oy, ox} x[b, oy + u, ox + v] · dy[b, oy, ox, :]. For each
/// row of `dy` and each group of 4 output channels the nine taps' sums stay in registers over the
/// row, then go to the image's float32 partials `part` ([9, co], scratch) and, per image, into the
/// float64 totals `total` (9·co doubles, 8-byte aligned, scratch), so the rounding error does not
/// grow with the batch.
///
/// # Safety
/// The pointers must address buffers of the sizes the shapes imply; h, wd ≥ 3.
#[no_mangle]
#[allow(clippy::too_many_arguments)]
pub unsafe extern "C" fn conv3x3_c1_backprop_filter_f32(
    x: *const f32,
    dy: *const f32,
    dw: *mut f32,
    part: *mut f32,
    total: *mut f64,
    b: usize,
    h: usize,
    wd: usize,
    co: usize,
) {
    let (oh, ow) = (h - 2, wd - 2);
    let n = 9 * co;
    core::ptr::write_bytes(total, 0, n);
    for bi in 0..b {
        core::ptr::write_bytes(part, 0, n);
        for oy in 0..oh {
            let r0 = x.add((bi * h + oy) * wd);
            let (r1, r2) = (r0.add(wd), r0.add(2 * wd));
            let g = dy.add((bi * oh + oy) * ow * co);
            let mut c = 0;
            while c + 4 <= co {
                let z = f32x4_splat(0.0);
                let (mut a0, mut a1, mut a2, mut a3, mut a4) = (z, z, z, z, z);
                let (mut a5, mut a6, mut a7, mut a8) = (z, z, z, z);
                let s = |p: *const f32| v128_load32_splat(p as *const u32);
                // Two pixels at a time: they share two of each row's three input values.
                let mut ox = 0;
                while ox + 2 <= ow {
                    let d = v128_load(g.add(ox * co + c) as *const v128);
                    let e = v128_load(g.add((ox + 1) * co + c) as *const v128);
                    let (p0, p1, p2) = (r0.add(ox), r1.add(ox), r2.add(ox));
                    let (x0, x1, x2, x3) = (s(p0), s(p0.add(1)), s(p0.add(2)), s(p0.add(3)));
                    a0 = f32x4_add(a0, f32x4_add(f32x4_mul(x0, d), f32x4_mul(x1, e)));
                    a1 = f32x4_add(a1, f32x4_add(f32x4_mul(x1, d), f32x4_mul(x2, e)));
                    a2 = f32x4_add(a2, f32x4_add(f32x4_mul(x2, d), f32x4_mul(x3, e)));
                    let (x0, x1, x2, x3) = (s(p1), s(p1.add(1)), s(p1.add(2)), s(p1.add(3)));
                    a3 = f32x4_add(a3, f32x4_add(f32x4_mul(x0, d), f32x4_mul(x1, e)));
                    a4 = f32x4_add(a4, f32x4_add(f32x4_mul(x1, d), f32x4_mul(x2, e)));
                    a5 = f32x4_add(a5, f32x4_add(f32x4_mul(x2, d), f32x4_mul(x3, e)));
                    let (x0, x1, x2, x3) = (s(p2), s(p2.add(1)), s(p2.add(2)), s(p2.add(3)));
                    a6 = f32x4_add(a6, f32x4_add(f32x4_mul(x0, d), f32x4_mul(x1, e)));
                    a7 = f32x4_add(a7, f32x4_add(f32x4_mul(x1, d), f32x4_mul(x2, e)));
                    a8 = f32x4_add(a8, f32x4_add(f32x4_mul(x2, d), f32x4_mul(x3, e)));
                    ox += 2;
                }
                if ox < ow {
                    let d = v128_load(g.add(ox * co + c) as *const v128);
                    let (p0, p1, p2) = (r0.add(ox), r1.add(ox), r2.add(ox));
                    a0 = f32x4_add(a0, f32x4_mul(s(p0), d));
                    a1 = f32x4_add(a1, f32x4_mul(s(p0.add(1)), d));
                    a2 = f32x4_add(a2, f32x4_mul(s(p0.add(2)), d));
                    a3 = f32x4_add(a3, f32x4_mul(s(p1), d));
                    a4 = f32x4_add(a4, f32x4_mul(s(p1.add(1)), d));
                    a5 = f32x4_add(a5, f32x4_mul(s(p1.add(2)), d));
                    a6 = f32x4_add(a6, f32x4_mul(s(p2), d));
                    a7 = f32x4_add(a7, f32x4_mul(s(p2.add(1)), d));
                    a8 = f32x4_add(a8, f32x4_mul(s(p2.add(2)), d));
                }
                let add = |t: usize, a: v128| {
                    let q = part.add(t * co + c) as *mut v128;
                    v128_store(q, f32x4_add(v128_load(q), a));
                };
                add(0, a0);
                add(1, a1);
                add(2, a2);
                add(3, a3);
                add(4, a4);
                add(5, a5);
                add(6, a6);
                add(7, a7);
                add(8, a8);
                c += 4;
            }
            while c < co {
                for ox in 0..ow {
                    let d = *g.add(ox * co + c);
                    for u in 0..3 {
                        let r = r0.add(u * wd + ox);
                        for v in 0..3 {
                            *part.add((u * 3 + v) * co + c) += *r.add(v) * d;
                        }
                    }
                }
                c += 1;
            }
        }
        for j in 0..n {
            *total.add(j) += *part.add(j) as f64;
        }
    }
    for j in 0..n {
        *dw.add(j) = *total.add(j) as f32;
    }
}

/// [`conv_narrow_backprop_input_f32`] for one input channel, 3×3, `valid`: in the rows that all
/// three rows of taps reach, for each group of 4 output channels the nine taps' weights stay in
/// registers and each pixel's partial dot products gather in `row` (4·wd floats, scratch) across
/// the groups.
///
/// # Safety
/// The pointers must address buffers of the sizes the shapes imply; h, wd ≥ 3.
#[no_mangle]
#[allow(clippy::too_many_arguments)]
pub unsafe extern "C" fn conv3x3_c1_backprop_input_f32(
    dy: *const f32,
    w: *const f32,
    dx: *mut f32,
    row: *mut f32,
    b: usize,
    h: usize,
    wd: usize,
    co: usize,
) {
    let (oh, ow) = (h - 2, wd - 2);
    let c4 = co & !3;
    for bi in 0..b {
        for iy in 0..h {
            let out = dx.add((bi * h + iy) * wd);
            // The two rows at the top and at the bottom, which fewer than three rows of dy reach,
            // go one row of dy (three taps) at a time.
            if iy < 2 || iy >= oh {
                for ix in 0..wd {
                    v128_store(row.add(4 * ix) as *mut v128, f32x4_splat(0.0));
                }
                let (u0, u1) = ((iy + 1).saturating_sub(oh), 3.min(iy + 1));
                for u in u0..u1 {
                    let d = dy.add((bi * oh + iy - u) * ow * co);
                    let mut c = 0;
                    while c < c4 {
                        let f = |v: usize| v128_load(w.add((u * 3 + v) * co + c) as *const v128);
                        let (k0, k1, k2) = (f(0), f(1), f(2));
                        let acc = |ix: usize, a: v128| {
                            let r = row.add(4 * ix) as *mut v128;
                            v128_store(r, f32x4_add(v128_load(r), a));
                        };
                        let (mut p1, mut p2) = (f32x4_splat(0.0), f32x4_splat(0.0));
                        for j in 0..ow {
                            let y = v128_load(d.add(j * co + c) as *const v128);
                            acc(j, f32x4_add(p1, f32x4_mul(y, k0)));
                            p1 = f32x4_add(p2, f32x4_mul(y, k1));
                            p2 = f32x4_mul(y, k2);
                        }
                        acc(ow, p1);
                        acc(ow + 1, p2);
                        c += 4;
                    }
                }
                tail_and_sum(dy, w, out, row, bi, iy, u0, u1, oh, ow, co);
                continue;
            }
            let d0 = dy.add((bi * oh + iy) * ow * co);
            let (d1, d2) = (d0.sub(ow * co), d0.sub(2 * ow * co));
            for ix in 0..wd {
                v128_store(row.add(4 * ix) as *mut v128, f32x4_splat(0.0));
            }
            // Along the row, each dy column (three vectors, one per row of dy) is loaded once and
            // feeds the three pixels it reaches: dx[j] is complete after column j, and the partial
            // sums of dx[j + 1] and dx[j + 2] ride along in registers.
            let mut c = 0;
            while c < c4 {
                let [k0, k1, k2, k3, k4, k5, k6, k7, k8] = taps3x3(w, co, c);
                let l = |p: *const f32, x: usize| v128_load(p.add(x * co + c) as *const v128);
                let acc = |ix: usize, a: v128| {
                    let r = row.add(4 * ix) as *mut v128;
                    v128_store(r, f32x4_add(v128_load(r), a));
                };
                let (mut p1, mut p2) = (f32x4_splat(0.0), f32x4_splat(0.0));
                for j in 0..ow {
                    let (y0, y1, y2) = (l(d0, j), l(d1, j), l(d2, j));
                    let a = f32x4_add(p1, f32x4_add(f32x4_mul(y0, k0), f32x4_add(f32x4_mul(y1, k3), f32x4_mul(y2, k6))));
                    p1 = f32x4_add(p2, f32x4_add(f32x4_mul(y0, k1), f32x4_add(f32x4_mul(y1, k4), f32x4_mul(y2, k7))));
                    p2 = f32x4_add(f32x4_mul(y0, k2), f32x4_add(f32x4_mul(y1, k5), f32x4_mul(y2, k8)));
                    acc(j, a);
                }
                acc(ow, p1);
                acc(ow + 1, p2);
                c += 4;
            }
            tail_and_sum(dy, w, out, row, bi, iy, 0, 3, oh, ow, co);
        }
    }
}

/// Finishes a row of [`conv3x3_c1_backprop_input_f32`]: each pixel's four lanes from `row`, plus the
/// output channels past the last multiple of 4, over the taps' rows `u0..u1`.
#[inline(always)]
#[allow(clippy::too_many_arguments)]
unsafe fn tail_and_sum(
    dy: *const f32,
    w: *const f32,
    out: *mut f32,
    row: *const f32,
    bi: usize,
    iy: usize,
    u0: usize,
    u1: usize,
    oh: usize,
    ow: usize,
    co: usize,
) {
    for ix in 0..ow + 2 {
        // The columns of dy that reach pixel ix: ix − v for v in v0..v1.
        let (v0, v1) = (ix.saturating_sub(ow - 1), 3.min(ix + 1));
        let mut t = 0f32;
        for c in (co & !3)..co {
            for u in u0..u1 {
                let d = dy.add((bi * oh + iy - u) * ow * co);
                for v in v0..v1 {
                    t += *d.add((ix - v) * co + c) * *w.add((u * 3 + v) * co + c);
                }
            }
        }
        *out.add(ix) = hsum(v128_load(row.add(4 * ix) as *const v128)) + t;
    }
}
