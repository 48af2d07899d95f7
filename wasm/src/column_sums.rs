//! Column sums of a row-major [rows, c] matrix: the bias gradients of a training step (`Sum` over
//! the leading axes of [B, H, W, C] or [B, C]).
//!
//! Accurate and fast at once: each row is added into float32 partial sums (one SIMD add per four
//! columns), which are folded into float64 totals every [`BLOCK`] rows. An f32 partial of at most
//! `BLOCK` terms loses little, and the f64 totals keep the error from growing with `rows` — at
//! least as accurate as tfjs's float32 sums, with half the work of adding every element in f64.

use core::arch::wasm32::*;

/// Rows per float32 partial sum.
pub const BLOCK: usize = 32;

/// Scratch for [`ColumnSums`]: `part` c float32, `total` c float64 (8-byte aligned).
pub struct ColumnSums {
    part: *mut f32,
    total: *mut f64,
    c: usize,
    rows_in_part: usize,
}

impl ColumnSums {
    /// Zeroes the scratch.
    ///
    /// # Safety
    /// `part` and `total` must address `c` elements each.
    pub unsafe fn new(part: *mut f32, total: *mut f64, c: usize) -> Self {
        core::ptr::write_bytes(part, 0, c);
        core::ptr::write_bytes(total, 0, c);
        ColumnSums { part, total, c, rows_in_part: 0 }
    }

    /// Adds four columns `j..j+4` of the current row.
    ///
    /// # Safety
    /// `j + 4 <= c`.
    #[inline(always)]
    pub unsafe fn add4(&mut self, j: usize, v: v128) {
        let p = self.part.add(j) as *mut v128;
        v128_store(p, f32x4_add(v128_load(p), v));
    }

    /// Adds one column `j` of the current row.
    ///
    /// # Safety
    /// `j < c`.
    #[inline(always)]
    pub unsafe fn add1(&mut self, j: usize, v: f32) {
        *self.part.add(j) += v;
    }

    /// Marks the end of a row, folding the partials into the totals every `BLOCK` rows.
    ///
    /// # Safety
    /// The scratch must still be valid.
    #[inline(always)]
    pub unsafe fn end_row(&mut self) {
        self.rows_in_part += 1;
        if self.rows_in_part == BLOCK {
            self.fold();
        }
    }

    unsafe fn fold(&mut self) {
        for j in 0..self.c {
            *self.total.add(j) += *self.part.add(j) as f64;
            *self.part.add(j) = 0.0;
        }
        self.rows_in_part = 0;
    }

    /// Writes the column sums (rounded to float32) to `out`.
    ///
    /// # Safety
    /// `out` must address `c` floats.
    pub unsafe fn finish(mut self, out: *mut f32) {
        self.fold();
        for j in 0..self.c {
            *out.add(j) = *self.total.add(j) as f32;
        }
    }
}

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
    let mut sums = ColumnSums::new(part, total, c);
    for r in 0..rows {
        let row = x.add(r * c);
        let mut j = 0;
        while j + 4 <= c {
            sums.add4(j, v128_load(row.add(j) as *const v128));
            j += 4;
        }
        while j < c {
            sums.add1(j, *row.add(j));
            j += 1;
        }
        sums.end_row();
    }
    sums.finish(out);
}
