//! The paper's optimizer step fused: sum of the data-parallel shards' gradients, clip of each
//! element to ±clip_value, global-norm clip, non-centered RMSprop — two passes over the parameters
//! instead of the ~12 tfjs kernels per variable of `clipGradients` + `RMSPropOptimizer`.
//!
//! Every float operation is the one tfjs performs, in tfjs's order and in float32, so the result
//! is bitwise the unfused path's: in particular the sum of squares is a sequential float32 sum per
//! variable (what tfjs-backend-wasm's `Sum` does), not a faster reassociated one.

use core::arch::wasm32::*;

/// `x` clamped to [lo, hi] the way tfjs-backend-wasm's `ClipByValue` (XNNPACK) does it, NaN
/// included: `pmin(hi, pmax(lo, x))` maps NaN to `lo`. Branch-free: the data's signs are random.
#[inline(always)]
fn clamp4(x: v128, lo: v128, hi: v128) -> v128 {
    f32x4_pmin(hi, f32x4_pmax(lo, x))
}

/// Pass 1. `grads` holds `shards` gradient arrays of `total` floats each, back to back, every one
/// laid out as the variables concatenated (`sizes[v]` floats for variable v). Overwrites the first
/// array with `clamp(grads[0] · scales[0] + grads[1] · scales[1] + …)` (sums left to right)
/// and writes, per variable, the sequential float32 sum of the squares of those values to
/// `sums[v]`. `clip` 0: no element-wise clip.
///
/// # Safety
/// `grads` must hold `shards · total` floats, `scales` `shards` floats, `sizes` `vars` sizes
/// adding up to `total`, `sums` room for `vars` floats.
#[no_mangle]
pub unsafe extern "C" fn rmsprop_clip_sumsq(
    grads: *mut f32,
    shards: usize,
    total: usize,
    sizes: *const u32,
    vars: usize,
    scales: *const f32,
    clip: u32,
    clip_value: f32,
    sums: *mut f32,
) {
    let (lo, hi) = (f32x4_splat(-clip_value), f32x4_splat(clip_value));
    let mut at = 0usize;
    for v in 0..vars {
        let n = *sizes.add(v) as usize;
        let end = at + n;
        let mut sum = 0f32;
        let mut i = at;
        // Four elements at a time, but their squares still added to `sum` one by one, in order.
        while i + 4 <= end {
            let p = grads.add(i) as *mut v128;
            let mut g = f32x4_mul(v128_load(p), f32x4_splat(*scales));
            for s in 1..shards {
                let part = v128_load(grads.add(s * total + i) as *const v128);
                g = f32x4_add(g, f32x4_mul(part, f32x4_splat(*scales.add(s))));
            }
            if clip != 0 {
                g = clamp4(g, lo, hi);
            }
            v128_store(p, g);
            let sq = f32x4_mul(g, g);
            sum += f32x4_extract_lane::<0>(sq);
            sum += f32x4_extract_lane::<1>(sq);
            sum += f32x4_extract_lane::<2>(sq);
            sum += f32x4_extract_lane::<3>(sq);
            i += 4;
        }
        while i < end {
            let mut g = *grads.add(i) * *scales;
            for s in 1..shards {
                g += *grads.add(s * total + i) * *scales.add(s);
            }
            if clip != 0 {
                g = f32x4_extract_lane::<0>(clamp4(f32x4_splat(g), lo, hi));
            }
            *grads.add(i) = g;
            sum += g * g;
            i += 1;
        }
        *sums.add(v) = sum;
        at = end;
    }
}

/// Pass 2 over `n` parameters, in place: `g = grads · scale`;
/// `ms = ms · decay + g² · (1 − decay)`; `mom = mom · momentum + g · lr / √(ms + ε)`;
/// `w = w − mom` — tfjs's `RMSPropOptimizer` (non-centered), operation for operation.
/// `one_minus_decay` is passed in: tfjs rounds the float64 `1 − decay` to float32.
///
/// # Safety
/// Each pointer must address `n` floats.
#[no_mangle]
pub unsafe extern "C" fn rmsprop_update(
    grads: *const f32,
    weights: *mut f32,
    mean_squares: *mut f32,
    moments: *mut f32,
    n: usize,
    scale: f32,
    decay: f32,
    one_minus_decay: f32,
    momentum: f32,
    learning_rate: f32,
    epsilon: f32,
) {
    let (vscale, vdecay, vomd) = (f32x4_splat(scale), f32x4_splat(decay), f32x4_splat(one_minus_decay));
    let (vmom, vlr, veps) = (f32x4_splat(momentum), f32x4_splat(learning_rate), f32x4_splat(epsilon));
    let mut i = 0;
    while i + 4 <= n {
        let g = f32x4_mul(v128_load(grads.add(i) as *const v128), vscale);
        let pms = mean_squares.add(i) as *mut v128;
        let ms = f32x4_add(f32x4_mul(v128_load(pms), vdecay), f32x4_mul(f32x4_mul(g, g), vomd));
        let pmo = moments.add(i) as *mut v128;
        let step = f32x4_div(f32x4_mul(g, vlr), f32x4_sqrt(f32x4_add(ms, veps)));
        let mo = f32x4_add(f32x4_mul(v128_load(pmo), vmom), step);
        let pw = weights.add(i) as *mut v128;
        v128_store(pms, ms);
        v128_store(pmo, mo);
        v128_store(pw, f32x4_sub(v128_load(pw), mo));
        i += 4;
    }
    while i < n {
        let g = *grads.add(i) * scale;
        let ms = *mean_squares.add(i) * decay + g * g * one_minus_decay;
        let mo = *moments.add(i) * momentum + g * learning_rate / (ms + epsilon).sqrt();
        *mean_squares.add(i) = ms;
        *moments.add(i) = mo;
        *weights.add(i) -= mo;
        i += 1;
    }
}
