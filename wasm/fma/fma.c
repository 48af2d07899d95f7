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

// ---------------------------------------------------------------------------------------------
// BatchMatMul's GEMM (../direct/gemm.rs): out [m, n] = A · b, A[i, l] at a[i·a_row + l·a_step].

enum { GEMM_KC = 256 };

INLINE void gemm_tile_4x8(const float *a, size_t a_row, size_t a_step, const float *b, size_t n, float *c,
                          size_t kc, int add) {
  float *c0 = c, *c1 = c + n, *c2 = c + 2 * n, *c3 = c + 3 * n;
  v128_t z = wasm_f32x4_splat(0.0f);
  v128_t r00 = add ? wasm_v128_load(c0) : z, r01 = add ? wasm_v128_load(c0 + 4) : z;
  v128_t r10 = add ? wasm_v128_load(c1) : z, r11 = add ? wasm_v128_load(c1 + 4) : z;
  v128_t r20 = add ? wasm_v128_load(c2) : z, r21 = add ? wasm_v128_load(c2 + 4) : z;
  v128_t r30 = add ? wasm_v128_load(c3) : z, r31 = add ? wasm_v128_load(c3 + 4) : z;
  const float *ap = a, *bp = b;
  for (size_t l = 0; l < kc; l++) {
    v128_t b0 = wasm_v128_load(bp), b1 = wasm_v128_load(bp + 4);
    v128_t x = wasm_v128_load32_splat(ap);
    MADD(r00, x, b0);
    MADD(r01, x, b1);
    x = wasm_v128_load32_splat(ap + a_row);
    MADD(r10, x, b0);
    MADD(r11, x, b1);
    x = wasm_v128_load32_splat(ap + 2 * a_row);
    MADD(r20, x, b0);
    MADD(r21, x, b1);
    x = wasm_v128_load32_splat(ap + 3 * a_row);
    MADD(r30, x, b0);
    MADD(r31, x, b1);
    ap += a_step;
    bp += n;
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
    for (size_t j = 0; j < n8; j += 8) {
      const float *bp = b + k0 * n + j;
      size_t i = 0;
      for (; i + 4 <= m; i += 4) {
        gemm_tile_4x8(a + i * a_row + k0 * a_step, a_row, a_step, bp, n, out + i * n + j, kc, add);
      }
      for (; i < m; i++) gemm_tile_1x8(a + i * a_row + k0 * a_step, a_step, bp, n, out + i * n + j, kc, add);
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

// An R × 4·V register tile of C = A·B (A [.., k] row-major, B and C rows n apart).
INLINE void nn_tile(int R, int V, const float *a, const float *b, float *c, size_t k, size_t n) {
  v128_t acc[4][3];
  for (int r = 0; r < R; r++)
    for (int v = 0; v < V; v++) acc[r][v] = wasm_f32x4_splat(0.0f);
  const float *bp = b;
  for (size_t kk = 0; kk < k; kk++) {
    v128_t bv[3];
    for (int v = 0; v < V; v++) bv[v] = wasm_v128_load(bp + 4 * v);
    for (int r = 0; r < R; r++) {
      v128_t s = wasm_v128_load32_splat(a + r * k + kk);
      for (int v = 0; v < V; v++) MADD(acc[r][v], s, bv[v]);
    }
    bp += n;
  }
  for (int r = 0; r < R; r++)
    for (int v = 0; v < V; v++) wasm_v128_store(c + r * n + 4 * v, acc[r][v]);
}

INLINE void nn_block(int R, const float *a, const float *b, float *c, size_t k, size_t n, size_t cols) {
  switch (cols) {
  case 12: nn_tile(R, 3, a, b, c, k, n); break;
  case 8: nn_tile(R, 2, a, b, c, k, n); break;
  case 4: nn_tile(R, 1, a, b, c, k, n); break;
  default:
    for (int r = 0; r < R; r++) {
      float acc = 0.0f;
      for (size_t kk = 0; kk < k; kk++) acc += a[r * k + kk] * b[kk * n];
      c[r * n] = acc;
    }
  }
}

/// C [m, n] = A [m, k] · B [k, n], all row-major and dense.
void EXPORT(winograd_gemm_nn)(const float *a, const float *b, float *c, size_t m, size_t k, size_t n) {
  for (size_t c0 = 0; c0 < n;) {
    size_t w = n - c0, cols = w >= 12 ? 12 : w >= 8 ? 8 : w >= 4 ? 4 : 1;
    for (size_t r0 = 0; r0 < m;) {
      size_t rows = m - r0 < 4 ? m - r0 : 4;
      const float *ar = a + r0 * k, *bc = b + c0;
      float *cc = c + r0 * n + c0;
      switch (rows) {
      case 4: nn_block(4, ar, bc, cc, k, n, cols); break;
      case 3: nn_block(3, ar, bc, cc, k, n, cols); break;
      case 2: nn_block(2, ar, bc, cc, k, n, cols); break;
      default: nn_block(1, ar, bc, cc, k, n, cols); break;
      }
      r0 += rows;
    }
    c0 += cols;
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
    for (int r = 0; r < R; r++) {
      v128_t s = wasm_v128_load32_splat(ap + r);
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
