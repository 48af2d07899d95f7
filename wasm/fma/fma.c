// Fused multiply-add (relaxed SIMD) variants of @rnnspn/core's compute-bound WASM kernels.
//
// Each is the SIMD128 kernel of the same name in ../src or ../direct with every `acc + x·y` (an
// f32x4.mul and an f32x4.add, two roundings) replaced by f32x4.relaxed_madd, which V8 compiles to
// one vfmadd on x86 with FMA (fmla on ARM): half the arithmetic instructions in the inner loops and
// one rounding instead of two. Loop order, tiling and summation order are the originals', so only
// that rounding differs. Debian's rustc 1.63 cannot emit relaxed SIMD, hence C (clang-19).
//
// The module imports its memory and owns none, like ../direct: no statics, no stack frames
// (register tiles are named or fully unrolled locals), a stack of size 0 (see build.sh). So one
// binary serves both memories: instantiated on tfjs-backend-wasm's heap it runs `gemm_f32` (BatchMatMul),
// instantiated on ../src's memory it runs `conv2d_backprop_filter_f32` and the Winograd tile
// GEMMs, which ../src/winograd.rs calls through its `rnnspn_fma` imports.
//
// Engines without relaxed SIMD (Safari, Node < 22) reject the whole module; the TypeScript side
// validates it once and keeps the SIMD128 kernels then (src/kernels/wasm/fma.ts).

#include <stddef.h>
#include <wasm_simd128.h>

#define EXPORT(name) __attribute__((export_name(#name))) name
#define INLINE static inline __attribute__((always_inline))

// acc + x·y, fused where the engine fuses (relaxed: an engine may also round twice).
#define MADD(acc, x, y) ((acc) = wasm_f32x4_relaxed_madd((x), (y), (acc)))

// Lane l of x in all four lanes (l a constant once the tiles are unrolled).
#define LANE(x, l)                                                                                         \
  ((l) == 0   ? wasm_i32x4_shuffle((x), (x), 0, 0, 0, 0)                                                 \
   : (l) == 1 ? wasm_i32x4_shuffle((x), (x), 1, 1, 1, 1)                                                 \
   : (l) == 2 ? wasm_i32x4_shuffle((x), (x), 2, 2, 2, 2)                                                 \
              : wasm_i32x4_shuffle((x), (x), 3, 3, 3, 3))

// ---------------------------------------------------------------------------------------------
// BatchMatMul's GEMM (../direct/gemm.rs): out [m, n] = A · b, A[i, l] at a[i·a_row + l·a_step].

// A [GEMM_MC, GEMM_KC] block of A (128 KB) stays in L2 while every 8-column panel of b passes it;
// without the row blocks a tall A ([14112, 300], a dense layer's ∂W) streamed from L3 once per panel.
enum { GEMM_KC = 256, GEMM_MC = 128 };

// How a 4-row tile reads A. Broadcast loads (GEMM_SPLAT) cost one load each; where four values a
// tile needs are adjacent, one vector load and lane broadcasts (a shuffle port the multiply-adds do
// not use) replace four of them: the tile's four rows at one k when A is stored transposed
// (GEMM_ROWS, a_row = 1), or four k steps of one row when A is row-major (GEMM_STEPS, a_step = 1).
enum { GEMM_SPLAT, GEMM_ROWS, GEMM_STEPS };

#define GEMM_K_STEP(x0, x1, x2, x3)                                                                        \
  do {                                                                                                     \
    v128_t b0 = wasm_v128_load(bp), b1 = wasm_v128_load(bp + 4);                                           \
    MADD(r00, (x0), b0);                                                                                   \
    MADD(r01, (x0), b1);                                                                                   \
    MADD(r10, (x1), b0);                                                                                   \
    MADD(r11, (x1), b1);                                                                                   \
    MADD(r20, (x2), b0);                                                                                   \
    MADD(r21, (x2), b1);                                                                                   \
    MADD(r30, (x3), b0);                                                                                   \
    MADD(r31, (x3), b1);                                                                                   \
    bp += n;                                                                                               \
  } while (0)

INLINE void gemm_tile_4x8(int mode, const float *a, size_t a_row, size_t a_step, const float *b, size_t n,
                          float *c, size_t kc, int add) {
  float *c0 = c, *c1 = c + n, *c2 = c + 2 * n, *c3 = c + 3 * n;
  v128_t z = wasm_f32x4_splat(0.0f);
  v128_t r00 = add ? wasm_v128_load(c0) : z, r01 = add ? wasm_v128_load(c0 + 4) : z;
  v128_t r10 = add ? wasm_v128_load(c1) : z, r11 = add ? wasm_v128_load(c1 + 4) : z;
  v128_t r20 = add ? wasm_v128_load(c2) : z, r21 = add ? wasm_v128_load(c2 + 4) : z;
  v128_t r30 = add ? wasm_v128_load(c3) : z, r31 = add ? wasm_v128_load(c3 + 4) : z;
  const float *ap = a, *bp = b;
  size_t l = 0;
  if (mode == GEMM_ROWS) {
    for (; l < kc; l++, ap += a_step) {
      v128_t x = wasm_v128_load(ap);
      GEMM_K_STEP(LANE(x, 0), LANE(x, 1), LANE(x, 2), LANE(x, 3));
    }
  } else if (mode == GEMM_STEPS) {
    for (; l + 4 <= kc; l += 4, ap += 4) {
      v128_t x0 = wasm_v128_load(ap), x1 = wasm_v128_load(ap + a_row);
      v128_t x2 = wasm_v128_load(ap + 2 * a_row), x3 = wasm_v128_load(ap + 3 * a_row);
      GEMM_K_STEP(LANE(x0, 0), LANE(x1, 0), LANE(x2, 0), LANE(x3, 0));
      GEMM_K_STEP(LANE(x0, 1), LANE(x1, 1), LANE(x2, 1), LANE(x3, 1));
      GEMM_K_STEP(LANE(x0, 2), LANE(x1, 2), LANE(x2, 2), LANE(x3, 2));
      GEMM_K_STEP(LANE(x0, 3), LANE(x1, 3), LANE(x2, 3), LANE(x3, 3));
    }
  }
  for (; l < kc; l++, ap += a_step) {
    GEMM_K_STEP(wasm_v128_load32_splat(ap), wasm_v128_load32_splat(ap + a_row),
                wasm_v128_load32_splat(ap + 2 * a_row), wasm_v128_load32_splat(ap + 3 * a_row));
  }
  wasm_v128_store(c0, r00);
  wasm_v128_store(c0 + 4, r01);
  wasm_v128_store(c1, r10);
  wasm_v128_store(c1 + 4, r11);
  wasm_v128_store(c2, r20);
  wasm_v128_store(c2 + 4, r21);
  wasm_v128_store(c3, r30);
  wasm_v128_store(c3 + 4, r31);
}
#undef GEMM_K_STEP

INLINE void gemm_tile_1x8(const float *a, size_t a_step, const float *b, size_t n, float *c, size_t kc,
                          int add) {
  v128_t z = wasm_f32x4_splat(0.0f);
  v128_t r0 = add ? wasm_v128_load(c) : z, r1 = add ? wasm_v128_load(c + 4) : z;
  const float *ap = a, *bp = b;
  for (size_t l = 0; l < kc; l++) {
    v128_t x = wasm_v128_load32_splat(ap);
    MADD(r0, x, wasm_v128_load(bp));
    MADD(r1, x, wasm_v128_load(bp + 4));
    ap += a_step;
    bp += n;
  }
  wasm_v128_store(c, r0);
  wasm_v128_store(c + 4, r1);
}

void EXPORT(gemm_f32)(const float *a, const float *b, float *out, size_t m, size_t n, size_t k, size_t a_row,
                      size_t a_step) {
  size_t n8 = n - n % 8;
  for (size_t k0 = 0; k0 < k; k0 += GEMM_KC) {
    size_t kc = k - k0 < GEMM_KC ? k - k0 : GEMM_KC;
    int add = k0 > 0;
    int mode = a_row == 1 ? GEMM_ROWS : a_step == 1 ? GEMM_STEPS : GEMM_SPLAT;
    for (size_t i0 = 0; i0 < m; i0 += GEMM_MC) {
      size_t i1 = m - i0 < GEMM_MC ? m : i0 + GEMM_MC;
      for (size_t j = 0; j < n8; j += 8) {
        const float *bp = b + k0 * n + j;
        size_t i = i0;
        for (; i + 4 <= i1; i += 4) {
          const float *ap = a + i * a_row + k0 * a_step;
          float *cp = out + i * n + j;
          switch (mode) {
          case GEMM_ROWS: gemm_tile_4x8(GEMM_ROWS, ap, a_row, a_step, bp, n, cp, kc, add); break;
          case GEMM_STEPS: gemm_tile_4x8(GEMM_STEPS, ap, a_row, a_step, bp, n, cp, kc, add); break;
          default: gemm_tile_4x8(GEMM_SPLAT, ap, a_row, a_step, bp, n, cp, kc, add); break;
          }
        }
        for (; i < i1; i++) gemm_tile_1x8(a + i * a_row + k0 * a_step, a_step, bp, n, out + i * n + j, kc, add);
      }
    }
    for (size_t i = 0; i < m; i++) {
      const float *ar = a + i * a_row + k0 * a_step;
      size_t j = n8;
      for (; j + 4 <= n; j += 4) {
        float *c = out + i * n + j;
        v128_t r = add ? wasm_v128_load(c) : wasm_f32x4_splat(0.0f);
        for (size_t l = 0; l < kc; l++) {
          MADD(r, wasm_f32x4_splat(ar[l * a_step]), wasm_v128_load(b + (k0 + l) * n + j));
        }
        wasm_v128_store(c, r);
      }
      for (; j < n; j++) {
        float s = add ? out[i * n + j] : 0.0f;
        for (size_t l = 0; l < kc; l++) s += ar[l * a_step] * b[(k0 + l) * n + j];
        out[i * n + j] = s;
      }
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Conv2DBackpropFilter (../src/conv2d_backprop_filter.rs): a GEMM over pixels, R rows (kh, kw, ci)
// × 4·V columns (co) per register tile, accumulated over one output row, then added into dW.

enum { BPF_ROWS = 4 };

INLINE void bpf_tile(int R, int V, const float *x_line, size_t o0, size_t o1, size_t o2, size_t o3,
                     size_t x_step, const float *dy, size_t co, size_t n, float *dw) {
  v128_t acc[BPF_ROWS][3];
  for (int r = 0; r < R; r++)
    for (int v = 0; v < V; v++) acc[r][v] = wasm_f32x4_splat(0.0f);
  size_t offs[BPF_ROWS] = {o0, o1, o2, o3};
  const float *xp = x_line, *dp = dy;
  for (size_t p = 0; p < n; p++) {
    v128_t d[3];
    for (int v = 0; v < V; v++) d[v] = wasm_v128_load(dp + 4 * v);
    for (int r = 0; r < R; r++) {
      v128_t s = wasm_f32x4_splat(xp[offs[r]]);
      for (int v = 0; v < V; v++) MADD(acc[r][v], s, d[v]);
    }
    xp += x_step;
    dp += co;
  }
  for (int r = 0; r < R; r++)
    for (int v = 0; v < V; v++) {
      float *q = dw + r * co + 4 * v;
      wasm_v128_store(q, wasm_f32x4_add(wasm_v128_load(q), acc[r][v]));
    }
}

INLINE void bpf_row_block(int R, const float *x_line, size_t o0, size_t o1, size_t o2, size_t o3,
                          size_t x_step, const float *dy_line, size_t co, size_t n, float *dw) {
  size_t c0 = 0;
  for (; c0 + 12 <= co; c0 += 12) bpf_tile(R, 3, x_line, o0, o1, o2, o3, x_step, dy_line + c0, co, n, dw + c0);
  if (c0 + 8 <= co) {
    bpf_tile(R, 2, x_line, o0, o1, o2, o3, x_step, dy_line + c0, co, n, dw + c0);
    c0 += 8;
  }
  if (c0 + 4 <= co) {
    bpf_tile(R, 1, x_line, o0, o1, o2, o3, x_step, dy_line + c0, co, n, dw + c0);
    c0 += 4;
  }
  size_t offs[BPF_ROWS] = {o0, o1, o2, o3};
  for (; c0 < co; c0++) {
    for (int r = 0; r < R; r++) {
      float acc = 0.0f;
      const float *xp = x_line, *dp = dy_line + c0;
      for (size_t p = 0; p < n; p++) {
        acc += xp[offs[r]] * *dp;
        xp += x_step;
        dp += co;
      }
      dw[r * co + c0] += acc;
    }
  }
}

void EXPORT(conv2d_backprop_filter_f32)(const float *x_padded, const float *dy, float *dw, size_t b, size_t hp,
                                        size_t wp, size_t ci, size_t oh, size_t ow, size_t co, size_t kh,
                                        size_t kw, size_t sh, size_t sw) {
  size_t m = kh * kw * ci;
  for (size_t i = 0; i < m * co; i++) dw[i] = 0.0f;
  if (b == 0 || oh == 0 || ow == 0) return;
  size_t row_span = kw * ci, x_step = sw * ci;
  for (size_t bi = 0; bi < b; bi++) {
    for (size_t oy = 0; oy < oh; oy++) {
      const float *x_line = x_padded + (bi * hp + oy * sh) * wp * ci;
      const float *dy_line = dy + (bi * oh + oy) * ow * co;
      for (size_t m0 = 0; m0 < m; m0 += BPF_ROWS) {
        size_t rows = m - m0 < BPF_ROWS ? m - m0 : BPF_ROWS;
        size_t o[BPF_ROWS] = {0, 0, 0, 0};
        for (size_t j = 0; j < rows; j++) {
          size_t row = m0 + j;
          o[j] = (row / row_span) * wp * ci + row % row_span;
        }
        float *dw_tile = dw + m0 * co;
        switch (rows) {
        case 4: bpf_row_block(4, x_line, o[0], o[1], o[2], o[3], x_step, dy_line, co, ow, dw_tile); break;
        case 3: bpf_row_block(3, x_line, o[0], o[1], o[2], o[3], x_step, dy_line, co, ow, dw_tile); break;
        case 2: bpf_row_block(2, x_line, o[0], o[1], o[2], o[3], x_step, dy_line, co, ow, dw_tile); break;
        default: bpf_row_block(1, x_line, o[0], o[1], o[2], o[3], x_step, dy_line, co, ow, dw_tile); break;
        }
      }
    }
  }
}

// ---------------------------------------------------------------------------------------------
// The Winograd tile GEMMs (../src/winograd.rs gemm_nn and gemm_tn), called by that module through
// its imports while its FMA switch is on.

// B comes packed in panels of 8 columns (../src/winograd.rs winograd_filter_f32): a tile reads its
// B rows from one pointer stepping by 8 floats, so the unrolled loop body below addresses B with
// constant offsets only.
enum { PANEL = 8, NN_ROWS = 6 };

// An R × 8 register tile of C = A·B over one panel `bp`, storing its first `cols` columns. Four
// steps of k at a time: each row of A gives one vector load and four lane broadcasts (a shuffle
// port the multiply-adds do not use) instead of four broadcast loads.
INLINE void nn_tile(int R, const float *a, size_t k, const float *bp, float *c, size_t n, size_t cols) {
  v128_t acc[NN_ROWS][2];
  for (int r = 0; r < R; r++) acc[r][0] = acc[r][1] = wasm_f32x4_splat(0.0f);
  size_t kk = 0;
  for (; kk + 4 <= k; kk += 4) {
    v128_t av[NN_ROWS];
    for (int r = 0; r < R; r++) av[r] = wasm_v128_load(a + r * k + kk);
    for (int l = 0; l < 4; l++) {
      v128_t b0 = wasm_v128_load(bp + PANEL * l), b1 = wasm_v128_load(bp + PANEL * l + 4);
      for (int r = 0; r < R; r++) {
        v128_t s = LANE(av[r], l);
        MADD(acc[r][0], s, b0);
        MADD(acc[r][1], s, b1);
      }
    }
    bp += 4 * PANEL;
  }
  for (; kk < k; kk++) {
    v128_t b0 = wasm_v128_load(bp), b1 = wasm_v128_load(bp + 4);
    for (int r = 0; r < R; r++) {
      v128_t s = wasm_v128_load32_splat(a + r * k + kk);
      MADD(acc[r][0], s, b0);
      MADD(acc[r][1], s, b1);
    }
    bp += PANEL;
  }
  for (int r = 0; r < R; r++) {
    float *q = c + r * n;
    if (cols == PANEL) {
      wasm_v128_store(q, acc[r][0]);
      wasm_v128_store(q + 4, acc[r][1]);
    } else {
      // Lane by lane, as this module has no stack to spill a vector to.
      v128_t x = acc[r][0];
      size_t left = cols;
      if (left >= 4) {
        wasm_v128_store(q, x);
        x = acc[r][1], q += 4, left -= 4;
      }
      if (left >= 1) q[0] = wasm_f32x4_extract_lane(x, 0);
      if (left >= 2) q[1] = wasm_f32x4_extract_lane(x, 1);
      if (left >= 3) q[2] = wasm_f32x4_extract_lane(x, 2);
    }
  }
}

/// C [m, n] = A [m, k] · B [k, n]: A and C row-major, B packed in panels of 8 columns.
void EXPORT(winograd_gemm_nn)(const float *a, const float *b, float *c, size_t m, size_t k, size_t n) {
  for (size_t c0 = 0; c0 < n; c0 += PANEL) {
    size_t cols = n - c0 < PANEL ? n - c0 : PANEL;
    const float *bp = b + c0 * k;
    for (size_t r0 = 0; r0 < m;) {
      size_t rows = m - r0 < NN_ROWS ? m - r0 : NN_ROWS;
      const float *ar = a + r0 * k;
      float *cc = c + r0 * n + c0;
      switch (rows) {
      case 6: nn_tile(6, ar, k, bp, cc, n, cols); break;
      case 5: nn_tile(5, ar, k, bp, cc, n, cols); break;
      case 4: nn_tile(4, ar, k, bp, cc, n, cols); break;
      case 3: nn_tile(3, ar, k, bp, cc, n, cols); break;
      case 2: nn_tile(2, ar, k, bp, cc, n, cols); break;
      default: nn_tile(1, ar, k, bp, cc, n, cols); break;
      }
      r0 += rows;
    }
  }
}

// An R × 4·V register tile of C += Aᵀ·B over the t rows of A (lda apart) and B.
INLINE void tn_tile(int R, int V, const float *a, size_t lda, const float *b, float *c, size_t t, size_t n) {
  v128_t acc[4][3];
  for (int r = 0; r < R; r++)
    for (int v = 0; v < V; v++) acc[r][v] = wasm_f32x4_splat(0.0f);
  const float *ap = a, *bp = b;
  for (size_t tt = 0; tt < t; tt++) {
    v128_t bv[3];
    for (int v = 0; v < V; v++) bv[v] = wasm_v128_load(bp + 4 * v);
    // A whole row block is four adjacent floats: one load and lane broadcasts (a shuffle port that
    // the multiply-adds do not use) instead of four broadcast loads, measured 1.3× on 12×96×96.
    // Fewer rows keep the broadcast loads, which read nothing past the block.
    v128_t av = R == 4 ? wasm_v128_load(ap) : wasm_f32x4_splat(0.0f);
    for (int r = 0; r < R; r++) {
      v128_t s = R == 4 ? LANE(av, r) : wasm_v128_load32_splat(ap + r);
      for (int v = 0; v < V; v++) MADD(acc[r][v], s, bv[v]);
    }
    ap += lda;
    bp += n;
  }
  for (int r = 0; r < R; r++)
    for (int v = 0; v < V; v++) {
      float *q = c + r * n + 4 * v;
      wasm_v128_store(q, wasm_f32x4_add(wasm_v128_load(q), acc[r][v]));
    }
}

INLINE void tn_rows(int R, const float *a, size_t lda, const float *b, float *c, size_t t, size_t n) {
  size_t c0 = 0;
  for (; c0 + 12 <= n; c0 += 12) tn_tile(R, 3, a, lda, b + c0, c + c0, t, n);
  if (c0 + 8 <= n) {
    tn_tile(R, 2, a, lda, b + c0, c + c0, t, n);
    c0 += 8;
  }
  if (c0 + 4 <= n) {
    tn_tile(R, 1, a, lda, b + c0, c + c0, t, n);
    c0 += 4;
  }
  for (; c0 < n; c0++) {
    for (int r = 0; r < R; r++) {
      float acc = 0.0f;
      for (size_t tt = 0; tt < t; tt++) acc += a[tt * lda + r] * b[tt * n + c0];
      c[r * n + c0] += acc;
    }
  }
}

/// C [m, n] += A [t, m]ᵀ · B [t, n], all row-major and dense.
void EXPORT(winograd_gemm_tn)(const float *a, const float *b, float *c, size_t t, size_t m, size_t n) {
  for (size_t r0 = 0; r0 < m;) {
    size_t rows = m - r0 < 4 ? m - r0 : 4;
    switch (rows) {
    case 4: tn_rows(4, a + r0, m, b, c + r0 * n, t, n); break;
    case 3: tn_rows(3, a + r0, m, b, c + r0 * n, t, n); break;
    case 2: tn_rows(2, a + r0, m, b, c + r0 * n, t, n); break;
    default: tn_rows(1, a + r0, m, b, c + r0 * n, t, n); break;
    }
    r0 += rows;
  }
}

// ---------------------------------------------------------------------------------------------
// The one-input-channel 3×3 `valid` convolutions (../direct/conv_narrow.rs conv3x3_c1_*), on
// tfjs's heap: SIMD over 4 output channels, the nine taps' weights or sums in registers.

#define SPLAT(p) wasm_v128_load32_splat(p)

void EXPORT(conv3x3_c1_f32)(const float *x, const float *w, const float *bias, float *y, size_t b, size_t h,
                            size_t wd, size_t co, size_t has_bias, size_t relu) {
  size_t oh = h - 2, ow = wd - 2;
  v128_t zero = wasm_f32x4_splat(0.0f);
  for (size_t bi = 0; bi < b; bi++) {
    for (size_t oy = 0; oy < oh; oy++) {
      const float *r0 = x + (bi * h + oy) * wd, *r1 = r0 + wd, *r2 = r0 + 2 * wd;
      float *out = y + (bi * oh + oy) * ow * co;
      size_t c = 0;
      for (; c + 4 <= co; c += 4) {
        v128_t k0 = wasm_v128_load(w + c), k1 = wasm_v128_load(w + co + c), k2 = wasm_v128_load(w + 2 * co + c);
        v128_t k3 = wasm_v128_load(w + 3 * co + c), k4 = wasm_v128_load(w + 4 * co + c);
        v128_t k5 = wasm_v128_load(w + 5 * co + c), k6 = wasm_v128_load(w + 6 * co + c);
        v128_t k7 = wasm_v128_load(w + 7 * co + c), k8 = wasm_v128_load(w + 8 * co + c);
        v128_t b0 = has_bias ? wasm_v128_load(bias + c) : zero;
        // Each column of x (three values, one per row) is splatted once and feeds the three
        // outputs it reaches: y[j − 2] is complete after column j; y[j − 1] and y[j] ride along.
        v128_t q1 = zero, q2 = zero;
        for (size_t j = 0; j < wd; j++) {
          v128_t s0 = SPLAT(r0 + j), s1 = SPLAT(r1 + j), s2 = SPLAT(r2 + j);
          v128_t a = q2;
          MADD(a, s0, k2);
          MADD(a, s1, k5);
          MADD(a, s2, k8);
          q2 = q1;
          MADD(q2, s0, k1);
          MADD(q2, s1, k4);
          MADD(q2, s2, k7);
          q1 = wasm_f32x4_mul(s0, k0);
          MADD(q1, s1, k3);
          MADD(q1, s2, k6);
          if (j >= 2) {
            a = wasm_f32x4_add(a, b0);
            if (relu) a = wasm_f32x4_pmax(a, zero);
            wasm_v128_store(out + (j - 2) * co + c, a);
          }
        }
      }
      for (; c < co; c++) {
        float b0 = has_bias ? bias[c] : 0.0f;
        for (size_t ox = 0; ox < ow; ox++) {
          float a = b0;
          for (size_t u = 0; u < 3; u++)
            for (size_t v = 0; v < 3; v++) a += r0[u * wd + ox + v] * w[(u * 3 + v) * co + c];
          out[ox * co + c] = relu && a < 0.0f ? 0.0f : a;
        }
      }
    }
  }
}

void EXPORT(conv3x3_c1_backprop_filter_f32)(const float *x, const float *dy, float *dw, float *part, double *total,
                                            size_t b, size_t h, size_t wd, size_t co) {
  size_t oh = h - 2, ow = wd - 2, n = 9 * co;
  for (size_t j = 0; j < n; j++) total[j] = 0.0;
  for (size_t bi = 0; bi < b; bi++) {
    for (size_t j = 0; j < n; j++) part[j] = 0.0f;
    for (size_t oy = 0; oy < oh; oy++) {
      const float *r0 = x + (bi * h + oy) * wd, *r1 = r0 + wd, *r2 = r0 + 2 * wd;
      const float *g = dy + (bi * oh + oy) * ow * co;
      size_t c = 0;
      for (; c + 4 <= co; c += 4) {
        v128_t z = wasm_f32x4_splat(0.0f);
        v128_t a0 = z, a1 = z, a2 = z, a3 = z, a4 = z, a5 = z, a6 = z, a7 = z, a8 = z;
        size_t ox = 0;
        // Two pixels at a time: they share two of each row's three input values.
        for (; ox + 2 <= ow; ox += 2) {
          v128_t d = wasm_v128_load(g + ox * co + c), e = wasm_v128_load(g + (ox + 1) * co + c);
          const float *p0 = r0 + ox, *p1 = r1 + ox, *p2 = r2 + ox;
          v128_t x0 = SPLAT(p0), x1 = SPLAT(p0 + 1), x2 = SPLAT(p0 + 2), x3 = SPLAT(p0 + 3);
          MADD(a0, x0, d), MADD(a0, x1, e);
          MADD(a1, x1, d), MADD(a1, x2, e);
          MADD(a2, x2, d), MADD(a2, x3, e);
          x0 = SPLAT(p1), x1 = SPLAT(p1 + 1), x2 = SPLAT(p1 + 2), x3 = SPLAT(p1 + 3);
          MADD(a3, x0, d), MADD(a3, x1, e);
          MADD(a4, x1, d), MADD(a4, x2, e);
          MADD(a5, x2, d), MADD(a5, x3, e);
          x0 = SPLAT(p2), x1 = SPLAT(p2 + 1), x2 = SPLAT(p2 + 2), x3 = SPLAT(p2 + 3);
          MADD(a6, x0, d), MADD(a6, x1, e);
          MADD(a7, x1, d), MADD(a7, x2, e);
          MADD(a8, x2, d), MADD(a8, x3, e);
        }
        if (ox < ow) {
          v128_t d = wasm_v128_load(g + ox * co + c);
          const float *p0 = r0 + ox, *p1 = r1 + ox, *p2 = r2 + ox;
          MADD(a0, SPLAT(p0), d), MADD(a1, SPLAT(p0 + 1), d), MADD(a2, SPLAT(p0 + 2), d);
          MADD(a3, SPLAT(p1), d), MADD(a4, SPLAT(p1 + 1), d), MADD(a5, SPLAT(p1 + 2), d);
          MADD(a6, SPLAT(p2), d), MADD(a7, SPLAT(p2 + 1), d), MADD(a8, SPLAT(p2 + 2), d);
        }
#define ADD_PART(t, a) wasm_v128_store(part + (t) * co + c, wasm_f32x4_add(wasm_v128_load(part + (t) * co + c), (a)))
        ADD_PART(0, a0), ADD_PART(1, a1), ADD_PART(2, a2), ADD_PART(3, a3), ADD_PART(4, a4);
        ADD_PART(5, a5), ADD_PART(6, a6), ADD_PART(7, a7), ADD_PART(8, a8);
#undef ADD_PART
      }
      for (; c < co; c++) {
        for (size_t ox = 0; ox < ow; ox++) {
          float d = g[ox * co + c];
          for (size_t u = 0; u < 3; u++)
            for (size_t v = 0; v < 3; v++) part[(u * 3 + v) * co + c] += r0[u * wd + ox + v] * d;
        }
      }
    }
    // Per image into float64, so the rounding error does not grow with the batch.
    for (size_t j = 0; j < n; j++) total[j] += (double)part[j];
  }
  for (size_t j = 0; j < n; j++) dw[j] = (float)total[j];
}

static inline float hsum(v128_t s) {
  return wasm_f32x4_extract_lane(s, 0) + wasm_f32x4_extract_lane(s, 1) + wasm_f32x4_extract_lane(s, 2) +
         wasm_f32x4_extract_lane(s, 3);
}

// Finishes a row of conv3x3_c1_backprop_input_f32: each pixel's four lanes from `row`, plus the
// output channels past the last multiple of 4, over the taps' rows u0..u1.
INLINE void c1_tail_and_sum(const float *dy, const float *w, float *out, const float *row, size_t bi, size_t iy,
                            size_t u0, size_t u1, size_t oh, size_t ow, size_t co) {
  for (size_t ix = 0; ix < ow + 2; ix++) {
    size_t v0 = ix >= ow - 1 ? ix - (ow - 1) : 0, v1 = ix + 1 < 3 ? ix + 1 : 3;
    float t = 0.0f;
    for (size_t c = co & ~(size_t)3; c < co; c++)
      for (size_t u = u0; u < u1; u++) {
        const float *d = dy + (bi * oh + iy - u) * ow * co;
        for (size_t v = v0; v < v1; v++) t += d[(ix - v) * co + c] * w[(u * 3 + v) * co + c];
      }
    out[ix] = hsum(wasm_v128_load(row + 4 * ix)) + t;
  }
}

#define ROW_ACC(ix, a) wasm_v128_store(row + 4 * (ix), wasm_f32x4_add(wasm_v128_load(row + 4 * (ix)), (a)))

void EXPORT(conv3x3_c1_backprop_input_f32)(const float *dy, const float *w, float *dx, float *row, size_t b,
                                           size_t h, size_t wd, size_t co) {
  size_t oh = h - 2, ow = wd - 2, c4 = co & ~(size_t)3;
  v128_t zero = wasm_f32x4_splat(0.0f);
  for (size_t bi = 0; bi < b; bi++) {
    for (size_t iy = 0; iy < h; iy++) {
      float *out = dx + (bi * h + iy) * wd;
      for (size_t ix = 0; ix < wd; ix++) wasm_v128_store(row + 4 * ix, zero);
      if (iy < 2 || iy >= oh) {
        // The two rows at the top and at the bottom, which fewer than three rows of dy reach, go
        // one row of dy (three taps) at a time.
        size_t u0 = iy + 1 > oh ? iy + 1 - oh : 0, u1 = iy + 1 < 3 ? iy + 1 : 3;
        for (size_t u = u0; u < u1; u++) {
          const float *d = dy + (bi * oh + iy - u) * ow * co;
          for (size_t c = 0; c < c4; c += 4) {
            v128_t k0 = wasm_v128_load(w + (u * 3) * co + c), k1 = wasm_v128_load(w + (u * 3 + 1) * co + c);
            v128_t k2 = wasm_v128_load(w + (u * 3 + 2) * co + c);
            v128_t p1 = zero, p2 = zero;
            for (size_t j = 0; j < ow; j++) {
              v128_t yv = wasm_v128_load(d + j * co + c);
              v128_t a = p1;
              MADD(a, yv, k0);
              ROW_ACC(j, a);
              p1 = p2;
              MADD(p1, yv, k1);
              p2 = wasm_f32x4_mul(yv, k2);
            }
            ROW_ACC(ow, p1);
            ROW_ACC(ow + 1, p2);
          }
        }
        c1_tail_and_sum(dy, w, out, row, bi, iy, u0, u1, oh, ow, co);
        continue;
      }
      const float *d0 = dy + (bi * oh + iy) * ow * co, *d1 = d0 - ow * co, *d2 = d0 - 2 * ow * co;
      // Each dy column (three vectors, one per row of dy) is loaded once and feeds the three
      // pixels it reaches: dx[j] is complete after column j; dx[j + 1] and dx[j + 2] ride along.
      for (size_t c = 0; c < c4; c += 4) {
        v128_t k0 = wasm_v128_load(w + c), k1 = wasm_v128_load(w + co + c), k2 = wasm_v128_load(w + 2 * co + c);
        v128_t k3 = wasm_v128_load(w + 3 * co + c), k4 = wasm_v128_load(w + 4 * co + c);
        v128_t k5 = wasm_v128_load(w + 5 * co + c), k6 = wasm_v128_load(w + 6 * co + c);
        v128_t k7 = wasm_v128_load(w + 7 * co + c), k8 = wasm_v128_load(w + 8 * co + c);
        v128_t p1 = zero, p2 = zero;
        for (size_t j = 0; j < ow; j++) {
          v128_t y0 = wasm_v128_load(d0 + j * co + c), y1 = wasm_v128_load(d1 + j * co + c);
          v128_t y2 = wasm_v128_load(d2 + j * co + c);
          v128_t a = p1;
          MADD(a, y0, k0);
          MADD(a, y1, k3);
          MADD(a, y2, k6);
          p1 = p2;
          MADD(p1, y0, k1);
          MADD(p1, y1, k4);
          MADD(p1, y2, k7);
          p2 = wasm_f32x4_mul(y0, k2);
          MADD(p2, y1, k5);
          MADD(p2, y2, k8);
          ROW_ACC(j, a);
        }
        ROW_ACC(ow, p1);
        ROW_ACC(ow + 1, p2);
      }
      c1_tail_and_sum(dy, w, out, row, bi, iy, 0, 3, oh, ow, co);
    }
  }
}
#undef ROW_ACC
