//! Winograd F(2×2, 3×3) convolution (NHWC, 3×3 filter, stride 1, dilation 1) and its two
//! gradients, for training: 16 multiplies per 2×2 output tile and channel pair instead of 36.
//!
//! With Lavin & Gray's matrices (correlation, as tfjs's conv2d computes)
//!   U = G g Gᵀ per (ci, co),  V = Bᵀ d Bᵀᵀ per 4×4 input tile d (tiles step by 2) and channel,
//!   M[k] = V[k] · U[k] for each of the 16 tile positions k (a GEMM over ci),  Y = Aᵀ M A.
//! The gradients are those of this bilinear map, which equals direct convolution on the valid
//! outputs:
//!   ∂M = A ∂Y Aᵀ (∂Y zero where a tile overhangs the output),
//!   ∂V[k] = ∂M[k] · U[k]ᵀ and ∂d = B ∂V Bᵀ summed over the overlapping tiles,
//!   ∂U[k] = Σ_tiles V[k]ᵀ · ∂M[k] and ∂g = Gᵀ ∂U G.
//!
//! Tiles run in chunks (`chunk` of them, chosen by the caller) so that the transformed tiles of a
//! chunk stay in cache between the transforms and the 16 GEMMs. The caller hands in `x` zero-padded
//! to `hp = 2·⌈oh/2⌉ + 2` rows and `wp = 2·⌈ow/2⌉ + 2` columns (its own convolution padding
//! included), so every 4×4 tile lies inside and the transforms have no bounds checks.
//! Transforms are SIMD over channels (contiguous in NHWC), with a scalar tail for channel counts
//! that are not multiples of 4.

use core::arch::wasm32::*;

/// One lane group of the transforms: 4 channels (`v128`) or the scalar tail (`f32`).
trait Lane: Copy {
    unsafe fn ld(p: *const f32) -> Self;
    unsafe fn st(self, p: *mut f32);
    fn add(self, o: Self) -> Self;
    fn sub(self, o: Self) -> Self;
    fn zero() -> Self;
    fn relu(self) -> Self;
}

impl Lane for f32 {
    #[inline(always)]
    unsafe fn ld(p: *const f32) -> Self {
        *p
    }
    #[inline(always)]
    unsafe fn st(self, p: *mut f32) {
        *p = self;
    }
    #[inline(always)]
    fn add(self, o: Self) -> Self {
        self + o
    }
    #[inline(always)]
    fn sub(self, o: Self) -> Self {
        self - o
    }
    #[inline(always)]
    fn zero() -> Self {
        0.0
    }
    #[inline(always)]
    fn relu(self) -> Self {
        // As tfjs's relu: NaN stays NaN.
        if self < 0.0 {
            0.0
        } else {
            self
        }
    }
}

impl Lane for v128 {
    #[inline(always)]
    unsafe fn ld(p: *const f32) -> Self {
        v128_load(p as *const v128)
    }
    #[inline(always)]
    unsafe fn st(self, p: *mut f32) {
        v128_store(p as *mut v128, self)
    }
    #[inline(always)]
    fn add(self, o: Self) -> Self {
        f32x4_add(self, o)
    }
    #[inline(always)]
    fn sub(self, o: Self) -> Self {
        f32x4_sub(self, o)
    }
    #[inline(always)]
    fn zero() -> Self {
        f32x4_splat(0.0)
    }
    #[inline(always)]
    fn relu(self) -> Self {
        // Keeps NaN (a NaN compares false, so the select takes `self`).
        v128_bitselect(f32x4_splat(0.0), self, f32x4_lt(self, f32x4_splat(0.0)))
    }
}

/// Runs `$f::<v128>` on channels in groups of 4, then `$f::<f32>` on the rest; `$c` is the channel.
macro_rules! per_lane {
    ($n:expr, $c:ident, $f:ident ( $($arg:expr),* )) => {{
        let n = $n;
        let mut $c = 0;
        while $c + 4 <= n {
            $f::<v128>($($arg),*);
            $c += 4;
        }
        while $c < n {
            $f::<f32>($($arg),*);
            $c += 1;
        }
    }};
}

/// Bᵀ·v for a 4-vector.
#[inline(always)]
fn bt4<L: Lane>(v: [L; 4]) -> [L; 4] {
    [v[0].sub(v[2]), v[1].add(v[2]), v[2].sub(v[1]), v[1].sub(v[3])]
}

/// B·v for a 4-vector (the transpose of `bt4`).
#[inline(always)]
fn b4<L: Lane>(v: [L; 4]) -> [L; 4] {
    [v[0], v[1].sub(v[2]).add(v[3]), v[1].add(v[2]).sub(v[0]), L::zero().sub(v[3])]
}

/// Aᵀ·v: 4 → 2.
#[inline(always)]
fn at4<L: Lane>(v: [L; 4]) -> [L; 2] {
    [v[0].add(v[1]).add(v[2]), v[1].sub(v[2]).sub(v[3])]
}

/// A·v: 2 → 4 (the transpose of `at4`).
#[inline(always)]
fn a2<L: Lane>(v: [L; 2]) -> [L; 4] {
    [v[0], v[0].add(v[1]), v[0].sub(v[1]), L::zero().sub(v[1])]
}

/// V = Bᵀ d B for the 4×4 tile at `src` (rows `rs` apart, columns `cs` apart), channel `c`, into
/// the 16 planes of `dst` (`ks` apart).
#[inline(always)]
unsafe fn input_tile<L: Lane>(src: *const f32, rs: usize, cs: usize, dst: *mut f32, ks: usize, c: usize) {
    let mut t = [[L::zero(); 4]; 4];
    for j in 0..4 {
        let col = bt4([
            L::ld(src.add(j * cs + c)),
            L::ld(src.add(rs + j * cs + c)),
            L::ld(src.add(2 * rs + j * cs + c)),
            L::ld(src.add(3 * rs + j * cs + c)),
        ]);
        for i in 0..4 {
            t[i][j] = col[i];
        }
    }
    for (i, row) in t.iter().enumerate() {
        let v = bt4(*row);
        for (j, vj) in v.iter().enumerate() {
            vj.st(dst.add((4 * i + j) * ks + c));
        }
    }
}

/// Y = Aᵀ M A (+ bias, relu) for one tile, channel `c`, storing the `rows`×`cols` valid outputs.
#[inline(always)]
#[allow(clippy::too_many_arguments)]
unsafe fn output_tile<L: Lane>(
    m: *const f32,
    ks: usize,
    y: *mut f32,
    rs: usize,
    cs: usize,
    rows: usize,
    cols: usize,
    bias: *const f32,
    relu: bool,
    c: usize,
) {
    let mut s = [[L::zero(); 4]; 2];
    for j in 0..4 {
        let col = at4([
            L::ld(m.add(j * ks + c)),
            L::ld(m.add((4 + j) * ks + c)),
            L::ld(m.add((8 + j) * ks + c)),
            L::ld(m.add((12 + j) * ks + c)),
        ]);
        s[0][j] = col[0];
        s[1][j] = col[1];
    }
    let bv = if bias.is_null() { L::zero() } else { L::ld(bias.add(c)) };
    for (r, row) in s.iter().enumerate().take(rows) {
        let out = at4(*row);
        for (q, o) in out.iter().enumerate().take(cols) {
            let mut v = o.add(bv);
            if relu {
                v = v.relu();
            }
            v.st(y.add(r * rs + q * cs + c));
        }
    }
}

/// ∂M = A ∂Y Aᵀ for the tile whose `rows`×`cols` valid outputs are at `dy` (the rest count as 0).
#[inline(always)]
#[allow(clippy::too_many_arguments)]
unsafe fn grad_output_tile<L: Lane>(
    dy: *const f32,
    rs: usize,
    cs: usize,
    rows: usize,
    cols: usize,
    dst: *mut f32,
    ks: usize,
    c: usize,
) {
    let mut g = [[L::zero(); 2]; 2];
    for (r, row) in g.iter_mut().enumerate().take(rows) {
        for (q, v) in row.iter_mut().enumerate().take(cols) {
            *v = L::ld(dy.add(r * rs + q * cs + c));
        }
    }
    let c0 = a2([g[0][0], g[1][0]]);
    let c1 = a2([g[0][1], g[1][1]]);
    for i in 0..4 {
        let row = a2([c0[i], c1[i]]);
        for (j, v) in row.iter().enumerate() {
            v.st(dst.add((4 * i + j) * ks + c));
        }
    }
}

/// ∂d += B ∂V Bᵀ for one tile, channel `c`, into the 4×4 window at `dx`.
#[inline(always)]
unsafe fn grad_input_tile<L: Lane>(dv: *const f32, ks: usize, dx: *mut f32, rs: usize, cs: usize, c: usize) {
    let mut t = [[L::zero(); 4]; 4];
    for j in 0..4 {
        let col = b4([
            L::ld(dv.add(j * ks + c)),
            L::ld(dv.add((4 + j) * ks + c)),
            L::ld(dv.add((8 + j) * ks + c)),
            L::ld(dv.add((12 + j) * ks + c)),
        ]);
        for i in 0..4 {
            t[i][j] = col[i];
        }
    }
    for (i, row) in t.iter().enumerate() {
        let d = b4(*row);
        for (j, dj) in d.iter().enumerate() {
            let p = dx.add(i * rs + j * cs + c);
            L::ld(p).add(*dj).st(p);
        }
    }
}

/// Which tile (batch, tile row, tile column) the flat tile index `t` is.
#[inline(always)]
fn tile_at(t: usize, th: usize, tw: usize) -> (usize, usize, usize) {
    (t / (th * tw), (t / tw) % th, t % tw)
}

/// U for `g` [3, 3, ci, co]: plane k holds (G g Gᵀ)[k] at `u[k·ci·co + i·si + o·so]`, so
/// (si, so) = (co, 1) lays out U[k] as [ci, co] and (1, ci) as its transpose [co, ci].
///
/// # Safety
/// `g` holds 9·ci·co floats and `u` 16·ci·co.
#[no_mangle]
pub unsafe extern "C" fn winograd_filter_f32(g: *const f32, u: *mut f32, ci: usize, co: usize, si: usize, so: usize) {
    let plane = ci * co;
    for i in 0..ci {
        for o in 0..co {
            let at_k = |k: usize| *g.add(k * plane + i * co + o);
            let mut t = [[0f32; 3]; 4];
            for kx in 0..3 {
                let (g0, g1, g2) = (at_k(kx), at_k(3 + kx), at_k(6 + kx));
                t[0][kx] = g0;
                t[1][kx] = 0.5 * (g0 + g1 + g2);
                t[2][kx] = 0.5 * (g0 - g1 + g2);
                t[3][kx] = g2;
            }
            for (r, row) in t.iter().enumerate() {
                let [g0, g1, g2] = *row;
                let out = [g0, 0.5 * (g0 + g1 + g2), 0.5 * (g0 - g1 + g2), g2];
                for (q, v) in out.iter().enumerate() {
                    *u.add((4 * r + q) * plane + i * si + o * so) = *v;
                }
            }
        }
    }
}

/// Forward: `y` [b, oh, ow, co] = conv(`xp` [b, hp, wp, ci], U) + `bias` (null for none), then
/// relu if `relu` ≠ 0. `u` is U as [16, ci, co] (`winograd_filter_f32` with si = co, so = 1).
///
/// # Safety
/// Buffers of the sizes the shapes imply; `hp ≥ 2·⌈oh/2⌉ + 2`, `wp ≥ 2·⌈ow/2⌉ + 2`; `scratch` holds
/// 16·chunk·(ci + co) floats; chunk ≥ 1.
#[no_mangle]
#[allow(clippy::too_many_arguments)]
pub unsafe extern "C" fn winograd_conv2d_f32(
    xp: *const f32,
    u: *const f32,
    bias: *const f32,
    y: *mut f32,
    scratch: *mut f32,
    b: usize,
    hp: usize,
    wp: usize,
    ci: usize,
    oh: usize,
    ow: usize,
    co: usize,
    relu: u32,
    chunk: usize,
) {
    let (th, tw) = ((oh + 1) / 2, (ow + 1) / 2);
    let tiles = b * th * tw;
    let v = scratch;
    let m = scratch.add(16 * chunk * ci);
    let mut t0 = 0;
    while t0 < tiles {
        let nt = chunk.min(tiles - t0);
        for tl in 0..nt {
            let (bi, ty, tx) = tile_at(t0 + tl, th, tw);
            let src = xp.add(((bi * hp + 2 * ty) * wp + 2 * tx) * ci);
            per_lane!(ci, c, input_tile(src, wp * ci, ci, v.add(tl * ci), nt * ci, c));
        }
        for k in 0..16 {
            gemm_nn(v.add(k * nt * ci), u.add(k * ci * co), m.add(k * nt * co), nt, ci, co);
        }
        for tl in 0..nt {
            let (bi, ty, tx) = tile_at(t0 + tl, th, tw);
            let dst = y.add(((bi * oh + 2 * ty) * ow + 2 * tx) * co);
            let (rows, cols) = ((oh - 2 * ty).min(2), (ow - 2 * tx).min(2));
            per_lane!(
                co,
                c,
                output_tile(m.add(tl * co), nt * co, dst, ow * co, co, rows, cols, bias, relu != 0, c)
            );
        }
        t0 += nt;
    }
}

/// ∂x, padded: `dxp` [b, hp, wp, ci] (overwritten) from `dy` [b, oh, ow, co] and `ut`, U as
/// [16, co, ci] (`winograd_filter_f32` with si = 1, so = ci). The caller crops its padding.
///
/// # Safety
/// As `winograd_conv2d_f32`.
#[no_mangle]
#[allow(clippy::too_many_arguments)]
pub unsafe extern "C" fn winograd_backprop_input_f32(
    dy: *const f32,
    ut: *const f32,
    dxp: *mut f32,
    scratch: *mut f32,
    b: usize,
    hp: usize,
    wp: usize,
    ci: usize,
    oh: usize,
    ow: usize,
    co: usize,
    chunk: usize,
) {
    core::ptr::write_bytes(dxp, 0, b * hp * wp * ci);
    let (th, tw) = ((oh + 1) / 2, (ow + 1) / 2);
    let tiles = b * th * tw;
    let dm = scratch;
    let dv = scratch.add(16 * chunk * co);
    let mut t0 = 0;
    while t0 < tiles {
        let nt = chunk.min(tiles - t0);
        for tl in 0..nt {
            let (bi, ty, tx) = tile_at(t0 + tl, th, tw);
            let src = dy.add(((bi * oh + 2 * ty) * ow + 2 * tx) * co);
            let (rows, cols) = ((oh - 2 * ty).min(2), (ow - 2 * tx).min(2));
            per_lane!(co, c, grad_output_tile(src, ow * co, co, rows, cols, dm.add(tl * co), nt * co, c));
        }
        for k in 0..16 {
            gemm_nn(dm.add(k * nt * co), ut.add(k * co * ci), dv.add(k * nt * ci), nt, co, ci);
        }
        for tl in 0..nt {
            let (bi, ty, tx) = tile_at(t0 + tl, th, tw);
            let dst = dxp.add(((bi * hp + 2 * ty) * wp + 2 * tx) * ci);
            per_lane!(ci, c, grad_input_tile(dv.add(tl * ci), nt * ci, dst, wp * ci, ci, c));
        }
        t0 += nt;
    }
}

/// ∂g: `dg` [3, 3, ci, co] (overwritten) from `xp` [b, hp, wp, ci] and `dy` [b, oh, ow, co].
///
/// # Safety
/// As `winograd_conv2d_f32`, with `scratch` holding 16·(ci·co + chunk·(ci + co)) floats.
#[no_mangle]
#[allow(clippy::too_many_arguments)]
pub unsafe extern "C" fn winograd_backprop_filter_f32(
    xp: *const f32,
    dy: *const f32,
    dg: *mut f32,
    scratch: *mut f32,
    b: usize,
    hp: usize,
    wp: usize,
    ci: usize,
    oh: usize,
    ow: usize,
    co: usize,
    chunk: usize,
) {
    let plane = ci * co;
    let du = scratch;
    core::ptr::write_bytes(du, 0, 16 * plane);
    let v = du.add(16 * plane);
    let dm = v.add(16 * chunk * ci);
    let (th, tw) = ((oh + 1) / 2, (ow + 1) / 2);
    let tiles = b * th * tw;
    let mut t0 = 0;
    while t0 < tiles {
        let nt = chunk.min(tiles - t0);
        for tl in 0..nt {
            let (bi, ty, tx) = tile_at(t0 + tl, th, tw);
            let src = xp.add(((bi * hp + 2 * ty) * wp + 2 * tx) * ci);
            per_lane!(ci, c, input_tile(src, wp * ci, ci, v.add(tl * ci), nt * ci, c));
            let src = dy.add(((bi * oh + 2 * ty) * ow + 2 * tx) * co);
            let (rows, cols) = ((oh - 2 * ty).min(2), (ow - 2 * tx).min(2));
            per_lane!(co, c, grad_output_tile(src, ow * co, co, rows, cols, dm.add(tl * co), nt * co, c));
        }
        for k in 0..16 {
            gemm_tn(v.add(k * nt * ci), dm.add(k * nt * co), du.add(k * plane), nt, ci, co);
        }
        t0 += nt;
    }
    // ∂g = Gᵀ ∂U G, with Gᵀ·u = (u0 + (u1 + u2)/2, (u1 − u2)/2, (u1 + u2)/2 + u3).
    let gt = |u: [f32; 4]| [u[0] + 0.5 * (u[1] + u[2]), 0.5 * (u[1] - u[2]), 0.5 * (u[1] + u[2]) + u[3]];
    for e in 0..plane {
        let mut t = [[0f32; 4]; 3];
        for j in 0..4 {
            let col = gt([
                *du.add(j * plane + e),
                *du.add((4 + j) * plane + e),
                *du.add((8 + j) * plane + e),
                *du.add((12 + j) * plane + e),
            ]);
            for r in 0..3 {
                t[r][j] = col[r];
            }
        }
        for (r, row) in t.iter().enumerate() {
            for (q, v) in gt(*row).iter().enumerate() {
                *dg.add((3 * r + q) * plane + e) = *v;
            }
        }
    }
}

/// C [m, n] = A [m, k] · B [k, n], all row-major and dense. Column panels run outermost so that
/// a panel of B (k × 12 floats) stays in L1 while every row block of A streams past it.
unsafe fn gemm_nn(a: *const f32, b: *const f32, c: *mut f32, m: usize, k: usize, n: usize) {
    let mut c0 = 0;
    while c0 < n {
        let cols = match n - c0 {
            w if w >= 12 => 12,
            w if w >= 8 => 8,
            w if w >= 4 => 4,
            _ => 1,
        };
        let mut r0 = 0;
        while r0 < m {
            let rows = (m - r0).min(4);
            let (ar, bc, cc) = (a.add(r0 * k), b.add(c0), c.add(r0 * n + c0));
            match rows {
                4 => nn_block::<4>(ar, bc, cc, k, n, cols),
                3 => nn_block::<3>(ar, bc, cc, k, n, cols),
                2 => nn_block::<2>(ar, bc, cc, k, n, cols),
                _ => nn_block::<1>(ar, bc, cc, k, n, cols),
            }
            r0 += rows;
        }
        c0 += cols;
    }
}

/// One R × `cols` block of C = A·B.
#[inline(always)]
unsafe fn nn_block<const R: usize>(a: *const f32, b: *const f32, c: *mut f32, k: usize, n: usize, cols: usize) {
    match cols {
        12 => nn_tile::<R, 3>(a, b, c, k, n),
        8 => nn_tile::<R, 2>(a, b, c, k, n),
        4 => nn_tile::<R, 1>(a, b, c, k, n),
        _ => {
            for r in 0..R {
                let mut acc = 0f32;
                for kk in 0..k {
                    acc += *a.add(r * k + kk) * *b.add(kk * n);
                }
                *c.add(r * n) = acc;
            }
        }
    }
}

/// An R × 4·V register tile of C = A·B: per step of k, V vectors of B times R broadcasts of A.
#[inline(always)]
unsafe fn nn_tile<const R: usize, const V: usize>(a: *const f32, b: *const f32, c: *mut f32, k: usize, n: usize) {
    let mut acc = [[f32x4_splat(0.0); V]; R];
    let mut bp = b;
    for kk in 0..k {
        let mut bv = [f32x4_splat(0.0); V];
        for (v, x) in bv.iter_mut().enumerate() {
            *x = v128_load(bp.add(4 * v) as *const v128);
        }
        for r in 0..R {
            let s = v128_load32_splat(a.add(r * k + kk) as *const u32);
            for v in 0..V {
                acc[r][v] = f32x4_add(acc[r][v], f32x4_mul(s, bv[v]));
            }
        }
        bp = bp.add(n);
    }
    for r in 0..R {
        for v in 0..V {
            v128_store(c.add(r * n + 4 * v) as *mut v128, acc[r][v]);
        }
    }
}

/// C [m, n] += A [t, m]ᵀ · B [t, n], all row-major and dense.
unsafe fn gemm_tn(a: *const f32, b: *const f32, c: *mut f32, t: usize, m: usize, n: usize) {
    let mut r0 = 0;
    while r0 < m {
        let rows = (m - r0).min(4);
        let (ar, cr) = (a.add(r0), c.add(r0 * n));
        match rows {
            4 => tn_rows::<4>(ar, m, b, cr, t, n),
            3 => tn_rows::<3>(ar, m, b, cr, t, n),
            2 => tn_rows::<2>(ar, m, b, cr, t, n),
            _ => tn_rows::<1>(ar, m, b, cr, t, n),
        }
        r0 += rows;
    }
}

#[inline(always)]
unsafe fn tn_rows<const R: usize>(a: *const f32, lda: usize, b: *const f32, c: *mut f32, t: usize, n: usize) {
    let mut c0 = 0;
    while c0 + 12 <= n {
        tn_tile::<R, 3>(a, lda, b.add(c0), c.add(c0), t, n);
        c0 += 12;
    }
    if c0 + 8 <= n {
        tn_tile::<R, 2>(a, lda, b.add(c0), c.add(c0), t, n);
        c0 += 8;
    }
    if c0 + 4 <= n {
        tn_tile::<R, 1>(a, lda, b.add(c0), c.add(c0), t, n);
        c0 += 4;
    }
    while c0 < n {
        for r in 0..R {
            let mut acc = 0f32;
            for tt in 0..t {
                acc += *a.add(tt * lda + r) * *b.add(tt * n + c0);
            }
            *c.add(r * n + c0) += acc;
        }
        c0 += 1;
    }
}

/// An R × 4·V register tile of C += Aᵀ·B over the t rows of A and B.
#[inline(always)]
unsafe fn tn_tile<const R: usize, const V: usize>(
    a: *const f32,
    lda: usize,
    b: *const f32,
    c: *mut f32,
    t: usize,
    n: usize,
) {
    let mut acc = [[f32x4_splat(0.0); V]; R];
    let (mut ap, mut bp) = (a, b);
    for _ in 0..t {
        let mut bv = [f32x4_splat(0.0); V];
        for (v, x) in bv.iter_mut().enumerate() {
            *x = v128_load(bp.add(4 * v) as *const v128);
        }
        for r in 0..R {
            let s = v128_load32_splat(ap.add(r) as *const u32);
            for v in 0..V {
                acc[r][v] = f32x4_add(acc[r][v], f32x4_mul(s, bv[v]));
            }
        }
        ap = ap.add(lda);
        bp = bp.add(n);
    }
    for r in 0..R {
        for v in 0..V {
            let p = c.add(r * n + 4 * v) as *mut v128;
            v128_store(p, f32x4_add(v128_load(p), acc[r][v]));
        }
    }
}
