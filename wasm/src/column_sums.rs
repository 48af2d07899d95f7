//! Column sums of a row-major [rows, c] matrix: the bias gradients of a training step (`Sum` over
//! the leading axes of [B, H, W, C] or [B, C]).
//!
//! Accurate and fast at once: each row is added into float32 partial sums (one SIMD add per four
//! columns), which are folded into float64 totals every [`BLOCK`] rows. A float32 partial of at
//! most `BLOCK` terms loses little, and the float64 totals keep the error from growing with `rows`:
//! at least as accurate as tfjs's float32 sums, with half the work of adding every element in f64.

use core::arch::wasm32::*;

/// Rows per float32 partial sum.
const BLOCK: usize = 32;

/// `out` [c] = Σ_r `x`[r, :] for `x` [rows, c]; `part` (c float32) and `total` (c float64) are
/// scratch.
///
/// # Safety
/// The pointers must address buffers of the sizes given; `total` 8-byte aligned.
#[no_mangle]
pub unsafe extern "C" fn column_sums_f32(
    x: *const f32,
    out: *mut f32,
    part: *mut f32,
    total: *mut f64,
    rows: usize,
    c: usize,
) {
    core::ptr::write_bytes(total, 0, c);
    let mut r = 0;
    while r < rows {
        core::ptr::write_bytes(part, 0, c);
        let end = rows.min(r + BLOCK);
        while r < end {
            let row = x.add(r * c);
            let mut j = 0;
            while j + 4 <= c {
                let p = part.add(j) as *mut v128;
                v128_store(p, f32x4_add(v128_load(p), v128_load(row.add(j) as *const v128)));
                j += 4;
            }
            while j < c {
                *part.add(j) += *row.add(j);
                j += 1;
            }
            r += 1;
        }
        for j in 0..c {
            *total.add(j) += *part.add(j) as f64;
        }
    }
    for j in 0..c {
        *out.add(j) = *total.add(j) as f32;
    }
}
