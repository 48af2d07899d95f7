//! `Conv2DBackpropFilter` (NHWC): the weight gradient of a 2-D convolution.
//!
//! dW[kh, kw, ci, co] = Σ_{b, oy, ox} x[b, oy·sh + kh − pt, ox·sw + kw − pl, ci] · dy[b, oy, ox, co]
//!
//! This is a GEMM with M = KH·KW·CI rows, N = CO columns and K = B·OH·OW pixels. The caller hands
//! us `x` already zero-padded (so no bounds checks on the hot path), which also makes every row of
//! the GEMM a fixed offset from a pixel's base address: row m = (kh, kw, ci) reads
//! `x[pixel + kh·WP·CI + kw·CI + ci]`. No im2col matrix is built: a register tile of up to 4 rows
//! × 12 columns accumulates over one output row (OW pixels), whose `x` and `dy` lines stay in L1,
//! then adds into dW. SIMD runs over co, where `dy` is contiguous.

use core::arch::wasm32::*;

/// Rows (kh, kw, ci) per register tile; one broadcast of x per row per pixel.
const ROWS: usize = 4;

/// Computes dW for NHWC `x_padded` [b, hp, wp, ci] and `dy` [b, oh, ow, co] into `dw`
/// [kh, kw, ci, co] (overwritten). `x_padded` already includes the convolution's zero padding, so
/// pixel (oy, ox) reads rows `oy·sh ..` and columns `ox·sw ..` of it. Dilation is 1.
///
/// # Safety
/// The pointers must address buffers of the sizes the shapes imply, with `(oh−1)·sh + kh ≤ hp` and
/// `(ow−1)·sw + kw ≤ wp`.
#[no_mangle]
pub unsafe extern "C" fn conv2d_backprop_filter_f32(
    x_padded: *const f32,
    dy: *const f32,
    dw: *mut f32,
    b: usize,
    hp: usize,
    wp: usize,
    ci: usize,
    oh: usize,
    ow: usize,
    co: usize,
    kh: usize,
    kw: usize,
    sh: usize,
    sw: usize,
) {
    let m = kh * kw * ci;
    core::ptr::write_bytes(dw, 0, m * co);
    if b == 0 || oh == 0 || ow == 0 {
        return;
    }
    let row_span = kw * ci; // one kh's rows are contiguous in x: (kw, ci) flattened
    let x_step = sw * ci; // next pixel along ox
    for bi in 0..b {
        for oy in 0..oh {
            let x_line = x_padded.add((bi * hp + oy * sh) * wp * ci);
            let dy_line = dy.add((bi * oh + oy) * ow * co);
            let mut m0 = 0;
            while m0 < m {
                let rows = (m - m0).min(ROWS);
                let mut offs = [0usize; ROWS];
                for (j, off) in offs.iter_mut().enumerate().take(rows) {
                    let row = m0 + j;
                    *off = (row / row_span) * wp * ci + row % row_span;
                }
                let dw_tile = dw.add(m0 * co);
                match rows {
                    4 => row_block::<4>(x_line, &offs, x_step, dy_line, co, ow, dw_tile),
                    3 => row_block::<3>(x_line, &offs, x_step, dy_line, co, ow, dw_tile),
                    2 => row_block::<2>(x_line, &offs, x_step, dy_line, co, ow, dw_tile),
                    _ => row_block::<1>(x_line, &offs, x_step, dy_line, co, ow, dw_tile),
                }
                m0 += rows;
            }
        }
    }
}

/// All columns of `R` rows over one output row: 12-, 8- and 4-wide SIMD tiles, then scalars.
#[inline(always)]
unsafe fn row_block<const R: usize>(
    x_line: *const f32,
    offs: &[usize; ROWS],
    x_step: usize,
    dy_line: *const f32,
    co: usize,
    n: usize,
    dw: *mut f32,
) {
    let mut c0 = 0;
    while c0 + 12 <= co {
        tile::<R, 3>(x_line, offs, x_step, dy_line.add(c0), co, n, dw.add(c0));
        c0 += 12;
    }
    if c0 + 8 <= co {
        tile::<R, 2>(x_line, offs, x_step, dy_line.add(c0), co, n, dw.add(c0));
        c0 += 8;
    }
    if c0 + 4 <= co {
        tile::<R, 1>(x_line, offs, x_step, dy_line.add(c0), co, n, dw.add(c0));
        c0 += 4;
    }
    while c0 < co {
        let mut acc = [0f32; R];
        let mut xp = x_line;
        let mut dp = dy_line.add(c0);
        for _ in 0..n {
            let d = *dp;
            for r in 0..R {
                acc[r] += *xp.add(offs[r]) * d;
            }
            xp = xp.add(x_step);
            dp = dp.add(co);
        }
        for (r, a) in acc.iter().enumerate() {
            *dw.add(r * co + c0) += *a;
        }
        c0 += 1;
    }
}

/// An R × 4·V register tile: for each of `n` pixels, V vectors of dy times R broadcast x values.
#[inline(always)]
unsafe fn tile<const R: usize, const V: usize>(
    x_line: *const f32,
    offs: &[usize; ROWS],
    x_step: usize,
    dy: *const f32,
    co: usize,
    n: usize,
    dw: *mut f32,
) {
    let mut acc = [[f32x4_splat(0.0); V]; R];
    let mut xp = x_line;
    let mut dp = dy;
    for _ in 0..n {
        let mut d = [f32x4_splat(0.0); V];
        for (v, dv) in d.iter_mut().enumerate() {
            *dv = v128_load(dp.add(4 * v) as *const v128);
        }
        for r in 0..R {
            let s = f32x4_splat(*xp.add(offs[r]));
            for v in 0..V {
                acc[r][v] = f32x4_add(acc[r][v], f32x4_mul(s, d[v]));
            }
        }
        xp = xp.add(x_step);
        dp = dp.add(co);
    }
    for r in 0..R {
        for v in 0..V {
            let p = dw.add(r * co + 4 * v) as *mut v128;
            v128_store(p, f32x4_add(v128_load(p), acc[r][v]));
        }
    }
}
