//! Winograd F(m×m, 3×3) convolution, m = 2, 3 or 4 (NHWC, 3×3 filter, stride 1, dilation 1), and
//! its two gradients, for training: (m+2)² multiplies per m×m output tile and channel pair
//! instead of 9·m² (16 against 36 for m = 2, 25 against 81 for m = 3, 36 against 144 for m = 4).
//!
//! With Lavin & Gray's matrices (correlation, as tfjs's conv2d computes)
//!   U = G g Gᵀ per (ci, co),  V = Bᵀ d B per (m+2)×(m+2) input tile d (tiles step by m) and
//!   channel,  M[k] = V[k] · U[k] for each of the (m+2)² tile positions k (a GEMM over ci),
//!   Y = Aᵀ M A.
//! The gradients are those of this bilinear map, which equals direct convolution on the valid
//! outputs:
//!   ∂M = A ∂Y Aᵀ (∂Y zero where a tile overhangs the output),
//!   ∂V[k] = ∂M[k] · U[k]ᵀ and ∂d = B ∂V Bᵀ summed over the overlapping tiles,
//!   ∂U[k] = Σ_tiles V[k]ᵀ · ∂M[k] and ∂g = Gᵀ ∂U G.
//!
//! Tiles run in chunks (`chunk` of them, chosen by the caller) so that the transformed tiles of a
//! chunk stay in cache between the transforms and the GEMMs. The caller hands in `x` zero-padded
//! to `hp = m·⌈oh/m⌉ + 2` rows and `wp = m·⌈ow/m⌉ + 2` columns (its own convolution padding
//! included), so every input tile lies inside and the transforms have no bounds checks.
//! Transforms are SIMD over channels (contiguous in NHWC), with a scalar tail for channel counts
//! that are not multiples of 4.

use core::arch::wasm32::*;

/// One lane group of the transforms: 4 channels (`v128`) or the scalar tail (`f32`).
trait Lane: Copy {
    unsafe fn ld(p: *const f32) -> Self;
    unsafe fn st(self, p: *mut f32);
    fn add(self, o: Self) -> Self;
    fn sub(self, o: Self) -> Self;
    fn scale(self, s: f32) -> Self;
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
    fn scale(self, s: f32) -> Self {
        self * s
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
    fn scale(self, s: f32) -> Self {
        f32x4_mul(self, f32x4_splat(s))
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
    ($n:expr, $c:ident, $f:ident::<$t:ty, _> ( $($arg:expr),* )) => {{
        let n = $n;
        let mut $c = 0;
        while $c + 4 <= n {
            $f::<$t, v128>($($arg),*);
            $c += 4;
        }
        while $c < n {
            $f::<$t, f32>($($arg),*);
            $c += 1;
        }
    }};
}

/// One Winograd F(m×m, 3×3) variant: its 1-D transforms on vectors padded to 6 entries (the first
/// `ALPHA` of an input-side vector and the first `M` of an output-side one are used).
trait Tiling {
    /// Outputs per tile side.
    const M: usize;
    /// Input tile side, M + 2.
    const ALPHA: usize;
    /// Bᵀ·v (input transform).
    fn bt<L: Lane>(v: &[L; 6]) -> [L; 6];
    /// B·v, the transpose of `bt` (its gradient).
    fn b<L: Lane>(v: &[L; 6]) -> [L; 6];
    /// Aᵀ·v (output transform): ALPHA → M.
    fn at<L: Lane>(v: &[L; 6]) -> [L; 6];
    /// A·v, the transpose of `at`: M → ALPHA.
    fn a<L: Lane>(v: &[L; 6]) -> [L; 6];
    /// G·g (filter transform): 3 → ALPHA.
    fn g(v: [f32; 3]) -> [f32; 6];
    /// Gᵀ·u, the transpose of `g`: ALPHA → 3.
    fn gt(u: &[f32; 6]) -> [f32; 3];
}

/// F(2×2, 3×3): 16 multiplies per 2×2 outputs (2.25× fewer than direct), rounding close to direct's.
struct F2;

impl Tiling for F2 {
    const M: usize = 2;
    const ALPHA: usize = 4;
    #[inline(always)]
    fn bt<L: Lane>(d: &[L; 6]) -> [L; 6] {
        let z = L::zero();
        [d[0].sub(d[2]), d[1].add(d[2]), d[2].sub(d[1]), d[1].sub(d[3]), z, z]
    }
    #[inline(always)]
    fn b<L: Lane>(v: &[L; 6]) -> [L; 6] {
        let z = L::zero();
        [v[0], v[1].sub(v[2]).add(v[3]), v[1].add(v[2]).sub(v[0]), z.sub(v[3]), z, z]
    }
    #[inline(always)]
    fn at<L: Lane>(m: &[L; 6]) -> [L; 6] {
        let z = L::zero();
        [m[0].add(m[1]).add(m[2]), m[1].sub(m[2]).sub(m[3]), z, z, z, z]
    }
    #[inline(always)]
    fn a<L: Lane>(y: &[L; 6]) -> [L; 6] {
        let z = L::zero();
        [y[0], y[0].add(y[1]), y[0].sub(y[1]), z.sub(y[1]), z, z]
    }
    #[inline(always)]
    fn g([g0, g1, g2]: [f32; 3]) -> [f32; 6] {
        [g0, 0.5 * (g0 + g1 + g2), 0.5 * (g0 - g1 + g2), g2, 0.0, 0.0]
    }
    #[inline(always)]
    fn gt(u: &[f32; 6]) -> [f32; 3] {
        [u[0] + 0.5 * (u[1] + u[2]), 0.5 * (u[1] - u[2]), 0.5 * (u[1] + u[2]) + u[3]]
    }
}

/// F(4×4, 3×3) with interpolation points 0, ±1, ±2, ∞: 36 multiplies per 4×4 outputs (4× fewer
/// than direct), at the price of larger transforms and float32 rounding a few times F2's.
struct F4;

impl Tiling for F4 {
    const M: usize = 4;
    const ALPHA: usize = 6;
    #[inline(always)]
    fn bt<L: Lane>(d: &[L; 6]) -> [L; 6] {
        let (d13, d24) = (d[3].sub(d[1]), d[4].sub(d[2]));
        [
            d[0].scale(4.0).sub(d[2].scale(5.0)).add(d[4]),
            d[3].add(d[4]).sub(d[1].add(d[2]).scale(4.0)),
            d[4].sub(d[3]).add(d[1].sub(d[2]).scale(4.0)),
            d24.add(d13.scale(2.0)),
            d24.sub(d13.scale(2.0)),
            d[1].scale(4.0).sub(d[3].scale(5.0)).add(d[5]),
        ]
    }
    #[inline(always)]
    fn b<L: Lane>(v: &[L; 6]) -> [L; 6] {
        let (v12m, v34m) = (v[1].sub(v[2]), v[3].sub(v[4]));
        let (v12p, v34p) = (v[1].add(v[2]), v[3].add(v[4]));
        [
            v[0].scale(4.0),
            v[5].sub(v12m).scale(4.0).sub(v34m.scale(2.0)),
            L::zero().sub(v[0].scale(5.0)).sub(v12p.scale(4.0)).sub(v34p),
            v12m.add(v34m.scale(2.0)).sub(v[5].scale(5.0)),
            v[0].add(v12p).add(v34p),
            v[5],
        ]
    }
    #[inline(always)]
    fn at<L: Lane>(m: &[L; 6]) -> [L; 6] {
        let z = L::zero();
        let (p12, m12, p34, m34) = (m[1].add(m[2]), m[1].sub(m[2]), m[3].add(m[4]), m[3].sub(m[4]));
        [
            m[0].add(p12).add(p34),
            m12.add(m34.scale(2.0)),
            p12.add(p34.scale(4.0)),
            m12.add(m34.scale(8.0)).add(m[5]),
            z,
            z,
        ]
    }
    #[inline(always)]
    fn a<L: Lane>(y: &[L; 6]) -> [L; 6] {
        let (p02, p13) = (y[0].add(y[2]), y[1].add(y[3]));
        let (q02, q13) = (y[0].add(y[2].scale(4.0)), y[1].scale(2.0).add(y[3].scale(8.0)));
        [y[0], p02.add(p13), p02.sub(p13), q02.add(q13), q02.sub(q13), y[3]]
    }
    #[inline(always)]
    fn g([g0, g1, g2]: [f32; 3]) -> [f32; 6] {
        [
            0.25 * g0,
            -(g0 + g1 + g2) / 6.0,
            -(g0 - g1 + g2) / 6.0,
            g0 / 24.0 + g1 / 12.0 + g2 / 6.0,
            g0 / 24.0 - g1 / 12.0 + g2 / 6.0,
            g2,
        ]
    }
    #[inline(always)]
    fn gt(u: &[f32; 6]) -> [f32; 3] {
        [
            0.25 * u[0] - (u[1] + u[2]) / 6.0 + (u[3] + u[4]) / 24.0,
            (u[2] - u[1]) / 6.0 + (u[3] - u[4]) / 12.0,
            (u[3] + u[4] - u[1] - u[2]) / 6.0 + u[5],
        ]
    }
}

/// F(3×3, 3×3) with interpolation points 0, ±1, 2, ∞: 25 multiplies per 3×3 outputs (3.24× fewer
/// than direct). It covers 9×9, 6×6 and 3×3 outputs with whole tiles, where F(4×4)'s partial edge
/// tiles would waste up to 44 % of its multiplies (9×9: 9 · 25 = 225 against 9 · 36 = 324).
struct F3;

impl Tiling for F3 {
    const M: usize = 3;
    const ALPHA: usize = 5;
    #[inline(always)]
    fn bt<L: Lane>(d: &[L; 6]) -> [L; 6] {
        let z = L::zero();
        let d31 = d[3].sub(d[1]);
        [
            d[0].sub(d[2]).scale(2.0).add(d31),
            d31.sub(d[1].add(d[2])),
            d[1].scale(2.0).sub(d[2].scale(3.0)).add(d[3]),
            d31,
            d[1].sub(d[3]).scale(2.0).sub(d[2]).add(d[4]),
            z,
        ]
    }
    #[inline(always)]
    fn b<L: Lane>(v: &[L; 6]) -> [L; 6] {
        let z = L::zero();
        [
            v[0].scale(2.0),
            v[2].sub(v[1]).add(v[4]).scale(2.0).sub(v[0].add(v[3])),
            z.sub(v[0].scale(2.0)).sub(v[1]).sub(v[2].scale(3.0)).sub(v[4]),
            v[0].add(v[1]).add(v[2]).add(v[3]).sub(v[4].scale(2.0)),
            v[4],
            z,
        ]
    }
    #[inline(always)]
    fn at<L: Lane>(m: &[L; 6]) -> [L; 6] {
        let z = L::zero();
        [
            m[0].add(m[1]).add(m[2]).add(m[3]),
            m[1].sub(m[2]).add(m[3].scale(2.0)),
            m[1].add(m[2]).add(m[3].scale(4.0)).add(m[4]),
            z,
            z,
            z,
        ]
    }
    #[inline(always)]
    fn a<L: Lane>(y: &[L; 6]) -> [L; 6] {
        let z = L::zero();
        let p02 = y[0].add(y[2]);
        [
            y[0],
            p02.add(y[1]),
            p02.sub(y[1]),
            y[0].add(y[1].scale(2.0)).add(y[2].scale(4.0)),
            y[2],
            z,
        ]
    }
    #[inline(always)]
    fn g([g0, g1, g2]: [f32; 3]) -> [f32; 6] {
        [
            0.5 * g0,
            -0.5 * (g0 + g1 + g2),
            (g1 - g0 - g2) / 6.0,
            (g0 + 2.0 * g1 + 4.0 * g2) / 6.0,
            g2,
            0.0,
        ]
    }
    #[inline(always)]
    fn gt(u: &[f32; 6]) -> [f32; 3] {
        [
            0.5 * (u[0] - u[1]) + (u[3] - u[2]) / 6.0,
            -0.5 * u[1] + u[2] / 6.0 + u[3] / 3.0,
            -0.5 * u[1] - u[2] / 6.0 + 2.0 * u[3] / 3.0 + u[4],
        ]
    }
}

/// V = Bᵀ d B for the ALPHA×ALPHA tile at `src` (rows `rs` apart, columns `cs` apart), channel
/// `c`, into the ALPHA² planes of `dst` (`ks` apart).
#[inline(always)]
unsafe fn input_tile<T: Tiling, L: Lane>(
    src: *const f32,
    rs: usize,
    cs: usize,
    dst: *mut f32,
    ks: usize,
    c: usize,
) {
    let n = T::ALPHA;
    let mut t = [[L::zero(); 6]; 6];
    for j in 0..n {
        let mut col = [L::zero(); 6];
        for (i, v) in col.iter_mut().enumerate().take(n) {
            *v = L::ld(src.add(i * rs + j * cs + c));
        }
        let col = T::bt(&col);
        for i in 0..n {
            t[i][j] = col[i];
        }
    }
    for (i, row) in t.iter().enumerate().take(n) {
        let v = T::bt(row);
        for (j, vj) in v.iter().enumerate().take(n) {
            vj.st(dst.add((n * i + j) * ks + c));
        }
    }
}

/// Y = Aᵀ M A (+ bias, relu) for one tile, channel `c`, storing the `rows`×`cols` valid outputs.
#[inline(always)]
#[allow(clippy::too_many_arguments)]
unsafe fn output_tile<T: Tiling, L: Lane>(
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
    let n = T::ALPHA;
    let mut s = [[L::zero(); 6]; 4];
    for j in 0..n {
        let mut col = [L::zero(); 6];
        for (i, v) in col.iter_mut().enumerate().take(n) {
            *v = L::ld(m.add((n * i + j) * ks + c));
        }
        let col = T::at(&col);
        for r in 0..T::M {
            s[r][j] = col[r];
        }
    }
    let bv = if bias.is_null() { L::zero() } else { L::ld(bias.add(c)) };
    for (r, row) in s.iter().enumerate().take(rows) {
        let out = T::at(row);
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
unsafe fn grad_output_tile<T: Tiling, L: Lane>(
    dy: *const f32,
    rs: usize,
    cs: usize,
    rows: usize,
    cols: usize,
    dst: *mut f32,
    ks: usize,
    c: usize,
) {
    let n = T::ALPHA;
    // t[i][q] = (A ∂Y)[i][q]: the columns of ∂Y, each taken to ALPHA entries.
    let mut t = [[L::zero(); 6]; 6];
    for q in 0..cols {
        let mut col = [L::zero(); 6];
        for (r, v) in col.iter_mut().enumerate().take(rows) {
            *v = L::ld(dy.add(r * rs + q * cs + c));
        }
        let col = T::a(&col);
        for i in 0..n {
            t[i][q] = col[i];
        }
    }
    for (i, row) in t.iter().enumerate().take(n) {
        let v = T::a(row);
        for (j, vj) in v.iter().enumerate().take(n) {
            vj.st(dst.add((n * i + j) * ks + c));
        }
    }
}

/// ∂d += B ∂V Bᵀ for one tile, channel `c`, into the ALPHA×ALPHA window at `dx`.
#[inline(always)]
unsafe fn grad_input_tile<T: Tiling, L: Lane>(
    dv: *const f32,
    ks: usize,
    dx: *mut f32,
    rs: usize,
    cs: usize,
    c: usize,
) {
    let n = T::ALPHA;
    let mut t = [[L::zero(); 6]; 6];
    for j in 0..n {
        let mut col = [L::zero(); 6];
        for (i, v) in col.iter_mut().enumerate().take(n) {
            *v = L::ld(dv.add((n * i + j) * ks + c));
        }
        let col = T::b(&col);
        for i in 0..n {
            t[i][j] = col[i];
        }
    }
    for (i, row) in t.iter().enumerate().take(n) {
        let d = T::b(row);
        for (j, dj) in d.iter().enumerate().take(n) {
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

/// Tiles per side for `o` outputs.
#[inline(always)]
fn tiles_for<T: Tiling>(o: usize) -> usize {
    (o + T::M - 1) / T::M
}

/// Dispatches an entry point on the tile size `m` (4 → F4, 3 → F3, otherwise F2).
macro_rules! by_tile {
    ($m:expr, $f:ident ( $($arg:expr),* )) => {
        if $m == 4 {
            $f::<F4>($($arg),*)
        } else if $m == 3 {
            $f::<F3>($($arg),*)
        } else {
            $f::<F2>($($arg),*)
        }
    };
}

/// Columns per panel of a packed GEMM right-hand side (see [`winograd_filter_f32`]).
pub const PANEL: usize = 8;

/// U for `g` [3, 3, ci, co] and tile size `m` (2, 3 or 4), as the right-hand sides of the tile
/// GEMMs: plane k of the (m+2)² is B = U[k] as [ci, co] (or its transpose [co, ci] when
/// `transpose` ≠ 0), packed in panels of [`PANEL`] columns, each panel [rows, PANEL] contiguous and
/// the last one padded with zeros. A register tile then reads its B rows from one pointer that
/// steps by PANEL floats, with no per-row address arithmetic. A plane holds rows·⌈cols/8⌉·8 floats.
///
/// # Safety
/// `g` holds 9·ci·co floats and `u` (m+2)²·rows·⌈cols/8⌉·8.
#[no_mangle]
pub unsafe extern "C" fn winograd_filter_f32(m: usize, g: *const f32, u: *mut f32, ci: usize, co: usize, transpose: u32) {
    by_tile!(m, filter(g, u, ci, co, transpose != 0))
}

/// Floats in one packed plane of `rows` × `cols`.
fn packed_len(rows: usize, cols: usize) -> usize {
    rows * ((cols + PANEL - 1) / PANEL) * PANEL
}

unsafe fn filter<T: Tiling>(g: *const f32, u: *mut f32, ci: usize, co: usize, transpose: bool) {
    let (n, plane) = (T::ALPHA, ci * co);
    let (rows, cols) = if transpose { (co, ci) } else { (ci, co) };
    let packed = packed_len(rows, cols);
    if cols % PANEL != 0 {
        core::ptr::write_bytes(u, 0, n * n * packed);
    }
    for i in 0..ci {
        for o in 0..co {
            let at_k = |k: usize| *g.add(k * plane + i * co + o);
            let mut t = [[0f32; 3]; 6];
            for kx in 0..3 {
                let col = T::g([at_k(kx), at_k(3 + kx), at_k(6 + kx)]);
                for r in 0..n {
                    t[r][kx] = col[r];
                }
            }
            let (row, col) = if transpose { (o, i) } else { (i, o) };
            let at = (col / PANEL) * rows * PANEL + row * PANEL + col % PANEL;
            for (r, tr) in t.iter().enumerate().take(n) {
                for (q, v) in T::g(*tr).iter().enumerate().take(n) {
                    *u.add((n * r + q) * packed + at) = *v;
                }
            }
        }
    }
}

/// Forward with tile size `m`: `y` [b, oh, ow, co] = conv(`xp` [b, hp, wp, ci], U) + `bias`
/// (null for none), then relu if `relu` ≠ 0. `u` is U packed as [`winograd_filter_f32`] writes it.
///
/// # Safety
/// Buffers of the sizes the shapes imply; `hp ≥ m·⌈oh/m⌉ + 2`, `wp ≥ m·⌈ow/m⌉ + 2`; `scratch`
/// holds (m+2)²·chunk·(ci + co) floats; chunk ≥ 1.
#[no_mangle]
#[allow(clippy::too_many_arguments)]
pub unsafe extern "C" fn winograd_conv2d_f32(
    m: usize,
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
    let chunk = chunk.max(1);
    by_tile!(m, conv2d(xp, u, bias, y, scratch, b, hp, wp, ci, oh, ow, co, relu != 0, chunk))
}

#[allow(clippy::too_many_arguments)]
unsafe fn conv2d<T: Tiling>(
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
    relu: bool,
    chunk: usize,
) {
    let (mt, planes) = (T::M, T::ALPHA * T::ALPHA);
    let (th, tw) = (tiles_for::<T>(oh), tiles_for::<T>(ow));
    let tiles = b * th * tw;
    let v = scratch;
    let mm = scratch.add(planes * chunk * ci);
    let mut t0 = 0;
    while t0 < tiles {
        let nt = chunk.min(tiles - t0);
        for tl in 0..nt {
            let (bi, ty, tx) = tile_at(t0 + tl, th, tw);
            let src = xp.add(((bi * hp + mt * ty) * wp + mt * tx) * ci);
            per_lane!(ci, c, input_tile::<T, _>(src, wp * ci, ci, v.add(tl * ci), nt * ci, c));
        }
        for k in 0..planes {
            tile_gemm_nn(v.add(k * nt * ci), u.add(k * packed_len(ci, co)), mm.add(k * nt * co), nt, ci, co);
        }
        for tl in 0..nt {
            let (bi, ty, tx) = tile_at(t0 + tl, th, tw);
            let dst = y.add(((bi * oh + mt * ty) * ow + mt * tx) * co);
            let (rows, cols) = ((oh - mt * ty).min(mt), (ow - mt * tx).min(mt));
            per_lane!(
                co,
                c,
                output_tile::<T, _>(mm.add(tl * co), nt * co, dst, ow * co, co, rows, cols, bias, relu, c)
            );
        }
        t0 += nt;
    }
}

/// ∂x with tile size `m`, padded: `dxp` [b, hp, wp, ci] (overwritten) from `dy` [b, oh, ow, co]
/// and `ut`, Uᵀ packed as [`winograd_filter_f32`] writes it (`transpose` ≠ 0). The caller crops its
/// padding.
///
/// # Safety
/// As `winograd_conv2d_f32`.
#[no_mangle]
#[allow(clippy::too_many_arguments)]
pub unsafe extern "C" fn winograd_backprop_input_f32(
    m: usize,
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
    let chunk = chunk.max(1);
    by_tile!(m, backprop_input(dy, ut, dxp, scratch, b, hp, wp, ci, oh, ow, co, chunk))
}

#[allow(clippy::too_many_arguments)]
unsafe fn backprop_input<T: Tiling>(
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
    let (mt, planes) = (T::M, T::ALPHA * T::ALPHA);
    let (th, tw) = (tiles_for::<T>(oh), tiles_for::<T>(ow));
    let tiles = b * th * tw;
    let dm = scratch;
    let dv = scratch.add(planes * chunk * co);
    let mut t0 = 0;
    while t0 < tiles {
        let nt = chunk.min(tiles - t0);
        for tl in 0..nt {
            let (bi, ty, tx) = tile_at(t0 + tl, th, tw);
            let src = dy.add(((bi * oh + mt * ty) * ow + mt * tx) * co);
            let (rows, cols) = ((oh - mt * ty).min(mt), (ow - mt * tx).min(mt));
            per_lane!(
                co,
                c,
                grad_output_tile::<T, _>(src, ow * co, co, rows, cols, dm.add(tl * co), nt * co, c)
            );
        }
        for k in 0..planes {
            tile_gemm_nn(dm.add(k * nt * co), ut.add(k * packed_len(co, ci)), dv.add(k * nt * ci), nt, co, ci);
        }
        for tl in 0..nt {
            let (bi, ty, tx) = tile_at(t0 + tl, th, tw);
            let dst = dxp.add(((bi * hp + mt * ty) * wp + mt * tx) * ci);
            per_lane!(ci, c, grad_input_tile::<T, _>(dv.add(tl * ci), nt * ci, dst, wp * ci, ci, c));
        }
        t0 += nt;
    }
}

/// ∂g with tile size `m`: `dg` [3, 3, ci, co] (overwritten) from `xp` [b, hp, wp, ci] and `dy`
/// [b, oh, ow, co].
///
/// # Safety
/// As `winograd_conv2d_f32`, with `scratch` holding (m+2)²·(ci·co + chunk·(ci + co)) floats.
#[no_mangle]
#[allow(clippy::too_many_arguments)]
pub unsafe extern "C" fn winograd_backprop_filter_f32(
    m: usize,
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
    let chunk = chunk.max(1);
    by_tile!(m, backprop_filter(xp, dy, dg, scratch, b, hp, wp, ci, oh, ow, co, chunk))
}

#[allow(clippy::too_many_arguments)]
unsafe fn backprop_filter<T: Tiling>(
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
    let (mt, n) = (T::M, T::ALPHA);
    let (plane, planes) = (ci * co, n * n);
    let du = scratch;
    core::ptr::write_bytes(du, 0, planes * plane);
    let v = du.add(planes * plane);
    let dm = v.add(planes * chunk * ci);
    let (th, tw) = (tiles_for::<T>(oh), tiles_for::<T>(ow));
    let tiles = b * th * tw;
    let mut t0 = 0;
    while t0 < tiles {
        let nt = chunk.min(tiles - t0);
        for tl in 0..nt {
            let (bi, ty, tx) = tile_at(t0 + tl, th, tw);
            let src = xp.add(((bi * hp + mt * ty) * wp + mt * tx) * ci);
            per_lane!(ci, c, input_tile::<T, _>(src, wp * ci, ci, v.add(tl * ci), nt * ci, c));
            let src = dy.add(((bi * oh + mt * ty) * ow + mt * tx) * co);
            let (rows, cols) = ((oh - mt * ty).min(mt), (ow - mt * tx).min(mt));
            per_lane!(
                co,
                c,
                grad_output_tile::<T, _>(src, ow * co, co, rows, cols, dm.add(tl * co), nt * co, c)
            );
        }
        for k in 0..planes {
            tile_gemm_tn(v.add(k * nt * ci), dm.add(k * nt * co), du.add(k * plane), nt, ci, co);
        }
        t0 += nt;
    }
    // ∂g = Gᵀ ∂U G.
    for e in 0..plane {
        let mut t = [[0f32; 6]; 3];
        for j in 0..n {
            let mut col = [0f32; 6];
            for (i, v) in col.iter_mut().enumerate().take(n) {
                *v = *du.add((n * i + j) * plane + e);
            }
            let col = T::gt(&col);
            for r in 0..3 {
                t[r][j] = col[r];
            }
        }
        for (r, row) in t.iter().enumerate() {
            for (q, v) in T::gt(row).iter().enumerate() {
                *dg.add((3 * r + q) * plane + e) = *v;
            }
        }
    }
}

// The same tile GEMMs with fused multiply-adds (relaxed SIMD), in `../fma/fma.c`: Debian's rustc
// cannot emit relaxed SIMD. `src/kernels/wasm/module.ts` supplies them as imports (bound to this
// module's memory), or stubs that trap where the engine lacks relaxed SIMD; they are called only
// while `winograd_set_fma` has turned them on.
#[link(wasm_import_module = "rnnspn_fma")]
extern "C" {
    fn winograd_gemm_nn(a: *const f32, b: *const f32, c: *mut f32, m: usize, k: usize, n: usize);
    fn winograd_gemm_tn(a: *const f32, b: *const f32, c: *mut f32, t: usize, m: usize, n: usize);
}

static mut FMA: bool = false;

/// Routes the Winograd tile GEMMs to the imported FMA kernels (`on` ≠ 0) or to this module's own.
///
/// # Safety
/// With `on` ≠ 0 the `rnnspn_fma` imports must be the kernels of `../fma/fma.c` on this memory.
#[no_mangle]
pub unsafe extern "C" fn winograd_set_fma(on: u32) {
    FMA = on != 0;
}

unsafe fn tile_gemm_nn(a: *const f32, b: *const f32, c: *mut f32, m: usize, k: usize, n: usize) {
    if FMA {
        winograd_gemm_nn(a, b, c, m, k, n)
    } else {
        gemm_nn(a, b, c, m, k, n)
    }
}

unsafe fn tile_gemm_tn(a: *const f32, b: *const f32, c: *mut f32, t: usize, m: usize, n: usize) {
    if FMA {
        winograd_gemm_tn(a, b, c, t, m, n)
    } else {
        gemm_tn(a, b, c, t, m, n)
    }
}

/// C [m, n] = A [m, k] · B [k, n], A and C row-major, B packed in panels of [`PANEL`] columns (as
/// [`winograd_filter_f32`] writes it). Panels run outermost so that one (k × 8 floats) stays in L1
/// while every row block of A streams past it.
unsafe fn gemm_nn(a: *const f32, b: *const f32, c: *mut f32, m: usize, k: usize, n: usize) {
    let mut c0 = 0;
    while c0 < n {
        let (cols, bp) = ((n - c0).min(PANEL), b.add(c0 * k));
        let mut r0 = 0;
        while r0 < m {
            let rows = (m - r0).min(4);
            let (ar, cc) = (a.add(r0 * k), c.add(r0 * n + c0));
            match rows {
                4 => nn_tile::<4>(ar, k, bp, cc, n, cols),
                3 => nn_tile::<3>(ar, k, bp, cc, n, cols),
                2 => nn_tile::<2>(ar, k, bp, cc, n, cols),
                _ => nn_tile::<1>(ar, k, bp, cc, n, cols),
            }
            r0 += rows;
        }
        c0 += PANEL;
    }
}

/// An R × 8 register tile of C = A·B over one panel `bp` of B, storing its first `cols` columns.
#[inline(always)]
unsafe fn nn_tile<const R: usize>(a: *const f32, k: usize, bp: *const f32, c: *mut f32, n: usize, cols: usize) {
    let mut acc = [[f32x4_splat(0.0); 2]; R];
    let mut bp = bp;
    for kk in 0..k {
        let (b0, b1) = (v128_load(bp as *const v128), v128_load(bp.add(4) as *const v128));
        for (r, row) in acc.iter_mut().enumerate() {
            let s = v128_load32_splat(a.add(r * k + kk) as *const u32);
            row[0] = f32x4_add(row[0], f32x4_mul(s, b0));
            row[1] = f32x4_add(row[1], f32x4_mul(s, b1));
        }
        bp = bp.add(PANEL);
    }
    for (r, row) in acc.iter().enumerate() {
        let q = c.add(r * n);
        if cols == PANEL {
            v128_store(q as *mut v128, row[0]);
            v128_store(q.add(4) as *mut v128, row[1]);
        } else {
            let mut lanes = [0f32; PANEL];
            v128_store(lanes.as_mut_ptr() as *mut v128, row[0]);
            v128_store(lanes.as_mut_ptr().add(4) as *mut v128, row[1]);
            core::ptr::copy_nonoverlapping(lanes.as_ptr(), q, cols);
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
        // A whole row block is four adjacent floats: one load and lane broadcasts (a shuffle port
        // the multiplies and adds do not use) instead of four broadcast loads. Fewer rows keep the
        // broadcast loads, which read nothing past the block.
        let av = if R == 4 { v128_load(ap as *const v128) } else { f32x4_splat(0.0) };
        for r in 0..R {
            let s = if R == 4 { lane(av, r) } else { v128_load32_splat(ap.add(r) as *const u32) };
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

/// Lane `l` of `x` in all four lanes (`l` a constant once the tiles are unrolled).
#[inline(always)]
fn lane(x: v128, l: usize) -> v128 {
    match l {
        0 => i32x4_shuffle::<0, 0, 0, 0>(x, x),
        1 => i32x4_shuffle::<1, 1, 1, 1>(x, x),
        2 => i32x4_shuffle::<2, 2, 2, 2>(x, x),
        _ => i32x4_shuffle::<3, 3, 3, 3>(x, x),
    }
}
