//! The backward pass of `relu(z)`, `z = conv(x, W) + bias`, up to the convolution, in one pass:
//! dz = dy · step(y) and the bias gradient Σ_rows dz, where y = relu(z) is the saved output.
//!
//! `step(y)` is tfjs's `Step` (1 where y > 0, 0 elsewhere, NaN where y is NaN) and dz is the
//! product, so dz is bit for bit tfjs's unfused `mul(dy, step(·))` (y > 0 ⇔ z > 0 since
//! y = relu(z)). The bias sum is accumulated like `column_sums_f32`'s: float32 partials over
//! `BLOCK` rows, folded into float64 totals.

use core::arch::wasm32::*;

/// Rows per float32 partial sum (as in `column_sums.rs`).
const BLOCK: usize = 32;

/// `dy`, `y` and `dz` are [rows, c]; `db` [c] receives the column sums of dz; `part` (c float32)
/// and `total` (c float64) are scratch.
///
/// # Safety
/// The pointers must address buffers of the sizes the shapes imply; `total` 8-byte aligned.
#[no_mangle]
#[allow(clippy::too_many_arguments)]
pub unsafe extern "C" fn relu_bias_grad_f32(
    dy: *const f32,
    y: *const f32,
    dz: *mut f32,
    db: *mut f32,
    part: *mut f32,
    total: *mut f64,
    rows: usize,
    c: usize,
) {
    let zero = f32x4_splat(0.0);
    let one = f32x4_splat(1.0);
    let nan = f32x4_splat(f32::NAN);
    core::ptr::write_bytes(total, 0, c);
    let mut r = 0;
    while r < rows {
        core::ptr::write_bytes(part, 0, c);
        let end = rows.min(r + BLOCK);
        while r < end {
            let (gy, yy, out) = (dy.add(r * c), y.add(r * c), dz.add(r * c));
            let mut j = 0;
            while j + 4 <= c {
                let yv = v128_load(yy.add(j) as *const v128);
                let s = v128_bitselect(one, zero, f32x4_gt(yv, zero));
                let s = v128_bitselect(nan, s, f32x4_ne(yv, yv));
                let v = f32x4_mul(v128_load(gy.add(j) as *const v128), s);
                v128_store(out.add(j) as *mut v128, v);
                let p = part.add(j) as *mut v128;
                v128_store(p, f32x4_add(v128_load(p), v));
                j += 4;
            }
            while j < c {
                let yv = *yy.add(j);
                let s = if yv > 0.0 {
                    1.0
                } else if yv.is_nan() {
                    f32::NAN
                } else {
                    0.0
                };
                let v = *gy.add(j) * s;
                *out.add(j) = v;
                *part.add(j) += v;
                j += 1;
            }
            r += 1;
        }
        for j in 0..c {
            *total.add(j) += *part.add(j) as f64;
        }
    }
    for j in 0..c {
        *db.add(j) = *total.add(j) as f32;
    }
}
