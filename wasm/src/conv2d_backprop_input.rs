//! `Conv2DBackpropInput` (NHWC) for inputs with few channels, as a gather:
//!
//! dx[b, iy, ix, c] = Σ_{u, v} dy[b, oy, ox, :] · W[u, v, c, :]  where oy·sh = iy + pt − u and
//! ox·sw = ix + pl − v (only the (u, v) for which those are whole, in-range pixels count).
//!
//! Both vectors of the dot product are contiguous in `co`, so it runs SIMD over `co` with no
//! transposed filter. This is the case XNNPACK's convolution handles worst (one output channel
//! from 32–96 inputs: the classifier's first layer behind the spatial transformer); wide inputs
//! go through XNNPACK instead (see `src/kernels/wasm/conv2d_backprop_input.ts`).

use core::arch::wasm32::*;

/// `dy` [b, oh, ow, co], `w` [kh, kw, ci, co] → `dx` [b, h, wd, ci] (overwritten).
///
/// # Safety
/// The pointers must address buffers of the sizes the shapes imply.
#[no_mangle]
pub unsafe extern "C" fn conv2d_backprop_input_f32(
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
    sh: usize,
    sw: usize,
    pt: usize,
    pl: usize,
) {
    for bi in 0..b {
        for iy in 0..h {
            // The u with a whole oy = (iy + pt − u) / sh are u0, u0 + sh, …; oy falls by 1 each step.
            let ty = iy + pt;
            let u0 = ty % sh;
            let oy0 = ty / sh;
            for ix in 0..wd {
                let tx = ix + pl;
                let v0 = tx % sw;
                let ox0 = tx / sw;
                let out = dx.add(((bi * h + iy) * wd + ix) * ci);
                for c in 0..ci {
                    let mut acc = f32x4_splat(0.0);
                    let mut tail = 0f32;
                    let (mut u, mut oy) = (u0, oy0);
                    while u < kh && u <= ty {
                        if oy < oh {
                            let (mut v, mut ox) = (v0, ox0);
                            while v < kw && v <= tx {
                                if ox < ow {
                                    let d = dy.add(((bi * oh + oy) * ow + ox) * co);
                                    let f = w.add(((u * kw + v) * ci + c) * co);
                                    let (a, t) = dot(d, f, co);
                                    acc = f32x4_add(acc, a);
                                    tail += t;
                                }
                                v += sw;
                                ox = ox.wrapping_sub(1);
                            }
                        }
                        u += sh;
                        oy = oy.wrapping_sub(1);
                    }
                    *out.add(c) = f32x4_extract_lane::<0>(acc)
                        + f32x4_extract_lane::<1>(acc)
                        + f32x4_extract_lane::<2>(acc)
                        + f32x4_extract_lane::<3>(acc)
                        + tail;
                }
            }
        }
    }
}

/// a·b over `n` floats: four lanes of partial sums (two independent chains), plus the scalar tail.
#[inline(always)]
unsafe fn dot(a: *const f32, b: *const f32, n: usize) -> (v128, f32) {
    let mut s0 = f32x4_splat(0.0);
    let mut s1 = f32x4_splat(0.0);
    let mut i = 0;
    while i + 8 <= n {
        s0 = f32x4_add(s0, f32x4_mul(v128_load(a.add(i) as *const v128), v128_load(b.add(i) as *const v128)));
        s1 = f32x4_add(
            s1,
            f32x4_mul(v128_load(a.add(i + 4) as *const v128), v128_load(b.add(i + 4) as *const v128)),
        );
        i += 8;
    }
    if i + 4 <= n {
        s0 = f32x4_add(s0, f32x4_mul(v128_load(a.add(i) as *const v128), v128_load(b.add(i) as *const v128)));
        i += 4;
    }
    let mut t = 0f32;
    while i < n {
        t += *a.add(i) * *b.add(i);
        i += 1;
    }
    (f32x4_add(s0, s1), t)
}
