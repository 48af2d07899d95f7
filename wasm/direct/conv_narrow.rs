//! Stride-1 convolutions (NHWC, any filter size and non-negative padding) whose input has few
//! channels, and both their gradients: the first layer of a classifier behind the spatial
//! transformer (one channel in, 20–96 out), which XNNPACK runs at a third of the SIMD rate and
//! whose ∂x and ∂W are dominated by streaming the wide `dy`.
//!
//! All three run SIMD over the output channels `co` (contiguous in `y`/`dy` and in the filter's
//! last axis), so the one-channel input is only ever splatted, and no transposed copy is needed.
//! Taps that fall into the padding are skipped (the tap ranges are computed per row and column),
//! so `same` costs nothing over `valid`. They run on tfjs's heap (no copy of `dy` or `y`), so they
//! keep to wasm locals: no arrays, no stack.

use core::arch::wasm32::*;

/// The taps `k` of a filter of size `kn` whose input index `o + k − pad` lies in `0..n`.
#[inline(always)]
fn taps(o: usize, pad: usize, kn: usize, n: usize) -> (usize, usize) {
    let lo = pad.saturating_sub(o);
    let hi = kn.min((n + pad).saturating_sub(o));
    (lo, hi.max(lo))
}

/// y = act(conv(x, w) + bias): `x` [b, h, wd, ci], `w` [kh, kw, ci, co], `bias` [co] (read only
/// when `has_bias` ≠ 0), `y` [b, oh, ow, co]; `relu` ≠ 0 applies tfjs's relu (`x < 0 ? 0 : x`,
/// so NaN stays NaN).
///
/// # Safety
/// The pointers must address buffers of the sizes the shapes imply.
#[no_mangle]
#[allow(clippy::too_many_arguments)]
pub unsafe extern "C" fn conv_narrow_f32(
    x: *const f32,
    w: *const f32,
    bias: *const f32,
    y: *mut f32,
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
    has_bias: usize,
    relu: usize,
) {
    let zero = f32x4_splat(0.0);
    for bi in 0..b {
        for oy in 0..oh {
            let (u0, u1) = taps(oy, pt, kh, h);
            for ox in 0..ow {
                let (v0, v1) = taps(ox, pl, kw, wd);
                let out = y.add(((bi * oh + oy) * ow + ox) * co);
                // x[bi, oy + u − pt, ox + v − pl, i] for tap (u, v), channel i.
                let px = |u: usize, v: usize| x.add(((bi * h + oy + u - pt) * wd + ox + v - pl) * ci);
                let mut c = 0;
                while c + 8 <= co {
                    let (mut a0, mut a1) = if has_bias != 0 {
                        (v128_load(bias.add(c) as *const v128), v128_load(bias.add(c + 4) as *const v128))
                    } else {
                        (zero, zero)
                    };
                    for u in u0..u1 {
                        for v in v0..v1 {
                            let xp = px(u, v);
                            let wp = w.add((u * kw + v) * ci * co + c);
                            for i in 0..ci {
                                let xv = v128_load32_splat(xp.add(i) as *const u32);
                                let f = wp.add(i * co);
                                a0 = f32x4_add(a0, f32x4_mul(xv, v128_load(f as *const v128)));
                                a1 = f32x4_add(a1, f32x4_mul(xv, v128_load(f.add(4) as *const v128)));
                            }
                        }
                    }
                    if relu != 0 {
                        a0 = f32x4_pmax(a0, zero);
                        a1 = f32x4_pmax(a1, zero);
                    }
                    v128_store(out.add(c) as *mut v128, a0);
                    v128_store(out.add(c + 4) as *mut v128, a1);
                    c += 8;
                }
                while c + 4 <= co {
                    let mut a0 = if has_bias != 0 { v128_load(bias.add(c) as *const v128) } else { zero };
                    for u in u0..u1 {
                        for v in v0..v1 {
                            let xp = px(u, v);
                            let wp = w.add((u * kw + v) * ci * co + c);
                            for i in 0..ci {
                                let xv = v128_load32_splat(xp.add(i) as *const u32);
                                a0 = f32x4_add(a0, f32x4_mul(xv, v128_load(wp.add(i * co) as *const v128)));
                            }
                        }
                    }
                    if relu != 0 {
                        a0 = f32x4_pmax(a0, zero);
                    }
                    v128_store(out.add(c) as *mut v128, a0);
                    c += 4;
                }
                while c < co {
                    let mut a = if has_bias != 0 { *bias.add(c) } else { 0.0 };
                    for u in u0..u1 {
                        for v in v0..v1 {
                            let xp = px(u, v);
                            let wp = w.add((u * kw + v) * ci * co + c);
                            for i in 0..ci {
                                a += *xp.add(i) * *wp.add(i * co);
                            }
                        }
                    }
                    // `a < 0 ? 0 : a`, as tfjs's relu (NaN stays NaN).
                    *out.add(c) = if relu != 0 && a < 0.0 { 0.0 } else { a };
                    c += 1;
                }
            }
        }
    }
}

/// ∂x of [`conv_narrow_f32`]: `dy` [b, oh, ow, co], `w` [kh, kw, ci, co] → `dx` [b, h, wd, ci]
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
    // The taps reaching dy row oy = iy + pt − u lie in `0..oh`: u in (iy + pt + 1 − oh)..=(iy + pt).
    let range = |i: usize, pad: usize, kn: usize, on: usize| {
        let t = i + pad;
        let lo = (t + 1).saturating_sub(on);
        (lo, kn.min(t + 1).max(lo))
    };
    for bi in 0..b {
        for iy in 0..h {
            let (u0, u1) = range(iy, pt, kh, oh);
            for ix in 0..wd {
                let (v0, v1) = range(ix, pl, kw, ow);
                let out = dx.add(((bi * h + iy) * wd + ix) * ci);
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
                                    f32x4_mul(
                                        v128_load(d.add(c + 4) as *const v128),
                                        v128_load(f.add(c + 4) as *const v128),
                                    ),
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
                    let s = f32x4_add(s0, s1);
                    *out.add(i) = f32x4_extract_lane::<0>(s)
                        + f32x4_extract_lane::<1>(s)
                        + f32x4_extract_lane::<2>(s)
                        + f32x4_extract_lane::<3>(s)
                        + t;
                }
            }
        }
    }
}

/// ∂W of [`conv_narrow_f32`]: `x` [b, h, wd, ci], `dy` [b, oh, ow, co] → `dw` [kh, kw, ci, co]
/// (overwritten), dw[u, v, i, :] = Σ_{b, oy, ox} x[b, oy + u − pt, ox + v − pl, i] · dy[b, oy, ox, :].
/// Each image's sum is accumulated in float32 in `part` (kh·kw·ci·co floats, scratch) and folded
/// into float64 totals in `total` (as many doubles, 8-byte aligned, scratch), so the error does not
/// grow with the batch.
///
/// # Safety
/// The pointers must address buffers of the sizes the shapes imply.
#[no_mangle]
#[allow(clippy::too_many_arguments)]
pub unsafe extern "C" fn conv_narrow_backprop_filter_f32(
    x: *const f32,
    dy: *const f32,
    dw: *mut f32,
    part: *mut f32,
    total: *mut f64,
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
    let n = kh * kw * ci * co;
    core::ptr::write_bytes(total, 0, n);
    for bi in 0..b {
        core::ptr::write_bytes(part, 0, n);
        for oy in 0..oh {
            let (u0, u1) = taps(oy, pt, kh, h);
            for ox in 0..ow {
                let (v0, v1) = taps(ox, pl, kw, wd);
                let d = dy.add(((bi * oh + oy) * ow + ox) * co);
                for u in u0..u1 {
                    for v in v0..v1 {
                        let xp = x.add(((bi * h + oy + u - pt) * wd + ox + v - pl) * ci);
                        let pp = part.add((u * kw + v) * ci * co);
                        for i in 0..ci {
                            let xs = *xp.add(i);
                            let xv = f32x4_splat(xs);
                            let p = pp.add(i * co);
                            let mut c = 0;
                            while c + 8 <= co {
                                let (q0, q1) = (p.add(c) as *mut v128, p.add(c + 4) as *mut v128);
                                let g0 = v128_load(d.add(c) as *const v128);
                                let g1 = v128_load(d.add(c + 4) as *const v128);
                                v128_store(q0, f32x4_add(v128_load(q0), f32x4_mul(xv, g0)));
                                v128_store(q1, f32x4_add(v128_load(q1), f32x4_mul(xv, g1)));
                                c += 8;
                            }
                            if c + 4 <= co {
                                let q = p.add(c) as *mut v128;
                                let g = v128_load(d.add(c) as *const v128);
                                v128_store(q, f32x4_add(v128_load(q), f32x4_mul(xv, g)));
                                c += 4;
                            }
                            while c < co {
                                *p.add(c) += xs * *d.add(c);
                                c += 1;
                            }
                        }
                    }
                }
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
