//! A dense matrix product without packing: out [m, n] = A · b, b row-major [k, n], where A is
//! [m, k] given by strides, so one kernel serves `a·b` (row stride k, step 1) and `aᵀ·b` of an a
//! stored [k, m] (row stride 1, step m).
//!
//! Why not XNNPACK (tfjs-backend-wasm's path): it packs b into its panel layout whenever b is a
//! tensor it has not seen, and a weight matrix is a new tensor after every optimizer step; for a
//! wide layer ([100, 1620] · [1620, 768]) that packing costs as much as the product. Here b is read
//! where it lies: an 8-column panel of `KC` rows (8 KB) stays in L1 while every 4-row tile of A
//! streams past it, and each k step of a tile is 4 broadcasts of A times 2 vectors of b (8
//! accumulators; 4×16 needs 21 live vectors, more than x86 has registers, and ran slower; 6×8 ran
//! no faster).
//!
//! Lives in the direct module (tfjs's heap, no copies): the accumulators are named locals, not an
//! array, so no kernel needs a stack frame.

use core::arch::wasm32::*;

/// Rows of b per pass: a [KC, 8] panel is 8 KB (1024 measured no faster).
const KC: usize = 256;

/// Rows of A per block: an [MC, KC] block (128 KB) stays in L2 while every panel of b passes it;
/// without the row blocks a tall A ([14112, 300], a dense layer's ∂W) streamed from L3 once per panel.
const MC: usize = 128;

macro_rules! madd {
    ($acc:ident, $x:expr, $y:expr) => {
        $acc = f32x4_add($acc, f32x4_mul($x, $y))
    };
}

// How a 4-row tile reads A. Broadcast loads (SPLAT) cost one load each; where four values a tile
// needs are adjacent, one vector load and lane broadcasts (a shuffle port the multiplies and adds
// do not use) replace four of them: the tile's four rows at one k when A is stored transposed
// (ROWS, a_row = 1), or four k steps of one row when A is row-major (STEPS, a_step = 1).
const SPLAT: u32 = 0;
const ROWS: u32 = 1;
const STEPS: u32 = 2;

/// Lane `L` of `x` in all four lanes.
#[inline(always)]
fn lane<const L: usize>(x: v128) -> v128 {
    i32x4_shuffle::<L, L, L, L>(x, x)
}

/// out[i.., j..] (+)= A[i..i+4, k0..k0+kc] · b[k0.., j..j+8]; `a` points at A[i, k0], `b` at
/// b[k0, j], `c` at out[i, j]; `add` keeps what `c` holds (a later k pass).
#[inline(always)]
#[allow(clippy::too_many_arguments)]
unsafe fn tile_4x8<const MODE: u32>(
    a: *const f32,
    a_row: usize,
    a_step: usize,
    b: *const f32,
    n: usize,
    c: *mut f32,
    kc: usize,
    add: bool,
) {
    let (c0, c1, c2, c3) = (c, c.add(n), c.add(2 * n), c.add(3 * n));
    let ld = |p: *mut f32, q: usize| {
        if add {
            v128_load(p.add(4 * q) as *const v128)
        } else {
            f32x4_splat(0.0)
        }
    };
    let (mut r00, mut r01) = (ld(c0, 0), ld(c0, 1));
    let (mut r10, mut r11) = (ld(c1, 0), ld(c1, 1));
    let (mut r20, mut r21) = (ld(c2, 0), ld(c2, 1));
    let (mut r30, mut r31) = (ld(c3, 0), ld(c3, 1));
    let (mut ap, mut bp) = (a, b);
    macro_rules! k_step {
        ($x0:expr, $x1:expr, $x2:expr, $x3:expr) => {{
            let b0 = v128_load(bp as *const v128);
            let b1 = v128_load(bp.add(4) as *const v128);
            let x = $x0;
            madd!(r00, x, b0);
            madd!(r01, x, b1);
            let x = $x1;
            madd!(r10, x, b0);
            madd!(r11, x, b1);
            let x = $x2;
            madd!(r20, x, b0);
            madd!(r21, x, b1);
            let x = $x3;
            madd!(r30, x, b0);
            madd!(r31, x, b1);
            bp = bp.add(n);
        }};
    }
    let mut l = 0;
    if MODE == ROWS {
        while l < kc {
            let x = v128_load(ap as *const v128);
            k_step!(lane::<0>(x), lane::<1>(x), lane::<2>(x), lane::<3>(x));
            ap = ap.add(a_step);
            l += 1;
        }
    } else if MODE == STEPS {
        while l + 4 <= kc {
            let x0 = v128_load(ap as *const v128);
            let x1 = v128_load(ap.add(a_row) as *const v128);
            let x2 = v128_load(ap.add(2 * a_row) as *const v128);
            let x3 = v128_load(ap.add(3 * a_row) as *const v128);
            k_step!(lane::<0>(x0), lane::<0>(x1), lane::<0>(x2), lane::<0>(x3));
            k_step!(lane::<1>(x0), lane::<1>(x1), lane::<1>(x2), lane::<1>(x3));
            k_step!(lane::<2>(x0), lane::<2>(x1), lane::<2>(x2), lane::<2>(x3));
            k_step!(lane::<3>(x0), lane::<3>(x1), lane::<3>(x2), lane::<3>(x3));
            ap = ap.add(4);
            l += 4;
        }
    }
    while l < kc {
        k_step!(
            v128_load32_splat(ap as *const u32),
            v128_load32_splat(ap.add(a_row) as *const u32),
            v128_load32_splat(ap.add(2 * a_row) as *const u32),
            v128_load32_splat(ap.add(3 * a_row) as *const u32)
        );
        ap = ap.add(a_step);
        l += 1;
    }
    let st = |p: *mut f32, q: usize, v: v128| v128_store(p.add(4 * q) as *mut v128, v);
    st(c0, 0, r00);
    st(c0, 1, r01);
    st(c1, 0, r10);
    st(c1, 1, r11);
    st(c2, 0, r20);
    st(c2, 1, r21);
    st(c3, 0, r30);
    st(c3, 1, r31);
}

/// One row, 8 columns: the rows left over when m is not a multiple of 4.
#[inline(always)]
unsafe fn tile_1x8(a: *const f32, a_step: usize, b: *const f32, n: usize, c: *mut f32, kc: usize, add: bool) {
    let ld = |q: usize| {
        if add {
            v128_load(c.add(4 * q) as *const v128)
        } else {
            f32x4_splat(0.0)
        }
    };
    let (mut r0, mut r1) = (ld(0), ld(1));
    let (mut ap, mut bp) = (a, b);
    for _ in 0..kc {
        let x = v128_load32_splat(ap as *const u32);
        madd!(r0, x, v128_load(bp as *const v128));
        madd!(r1, x, v128_load(bp.add(4) as *const v128));
        ap = ap.add(a_step);
        bp = bp.add(n);
    }
    v128_store(c as *mut v128, r0);
    v128_store(c.add(4) as *mut v128, r1);
}

/// out [m, n] = A · b with A[i, l] at `a[i * a_row + l * a_step]`, b [k, n] and out row-major.
/// Columns past the last multiple of 8 take a 4-wide, then a scalar path (slow, meant for a few).
///
/// # Safety
/// The pointers must address buffers of the sizes the shapes and strides imply; `out` must not
/// overlap `a` or `b`; k ≥ 1.
#[no_mangle]
#[allow(clippy::too_many_arguments)]
pub unsafe extern "C" fn gemm_f32(
    a: *const f32,
    b: *const f32,
    out: *mut f32,
    m: usize,
    n: usize,
    k: usize,
    a_row: usize,
    a_step: usize,
) {
    let n8 = n - n % 8;
    let mut k0 = 0;
    while k0 < k {
        let kc = KC.min(k - k0);
        let add = k0 > 0;
        let mode = if a_row == 1 {
            ROWS
        } else if a_step == 1 {
            STEPS
        } else {
            SPLAT
        };
        let mut i0 = 0;
        while i0 < m {
            let i1 = m.min(i0 + MC);
            let mut j = 0;
            while j < n8 {
                let bp = b.add(k0 * n + j);
                let mut i = i0;
                while i + 4 <= i1 {
                    let (ap, cp) = (a.add(i * a_row + k0 * a_step), out.add(i * n + j));
                    match mode {
                        ROWS => tile_4x8::<ROWS>(ap, a_row, a_step, bp, n, cp, kc, add),
                        STEPS => tile_4x8::<STEPS>(ap, a_row, a_step, bp, n, cp, kc, add),
                        _ => tile_4x8::<SPLAT>(ap, a_row, a_step, bp, n, cp, kc, add),
                    }
                    i += 4;
                }
                while i < i1 {
                    tile_1x8(a.add(i * a_row + k0 * a_step), a_step, bp, n, out.add(i * n + j), kc, add);
                    i += 1;
                }
                j += 8;
            }
            i0 = i1;
        }
        for i in 0..m {
            let ar = a.add(i * a_row + k0 * a_step);
            let mut j = n8;
            while j + 4 <= n {
                let c = out.add(i * n + j) as *mut v128;
                let mut r = if add { v128_load(c) } else { f32x4_splat(0.0) };
                for l in 0..kc {
                    madd!(r, f32x4_splat(*ar.add(l * a_step)), v128_load(b.add((k0 + l) * n + j) as *const v128));
                }
                v128_store(c, r);
                j += 4;
            }
            while j < n {
                let mut s = if add { *out.add(i * n + j) } else { 0.0 };
                for l in 0..kc {
                    s += *ar.add(l * a_step) * *b.add((k0 + l) * n + j);
                }
                *out.add(i * n + j) = s;
                j += 1;
            }
        }
        k0 += kc;
    }
}
