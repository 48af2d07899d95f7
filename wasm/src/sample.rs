//! The general sampler: every mode (`sample/{bilinear,nearest,bicubic}.rs`), every padding, affine
//! or projective θ, forward and backward, as `src/kernels/spatial_transform_spec.ts` states them.
//! Bilinear affine sampling with zeros or border padding keeps its SIMD kernels
//! (`spatial_transform.rs`); this path is scalar and runs its geometry in f64, like the cpu kernels.
//!
//! Layout: image `[N,H,W,C]`, theta `[M,P]` (P = 6 affine, 9 projective), output and upstream
//! gradient `[M,h,w,C]`, all f32, row-major; row `m` samples image `m / k`, `k = M / N`.
//!
//! Bounds safety does not depend on θ: non-finite coordinates are skipped, and every tap is checked
//! against the image in f64 before it becomes an index. The backward pass runs on one thread in a
//! fixed order, so its ∂image scatter and ∂θ sums are deterministic.

mod bicubic;
mod bilinear;
mod nearest;

/// Padding of one call: 0 zeros, 1 border, 2 reflection (PyTorch's GridSamplerPadding order).
#[derive(Clone, Copy)]
pub(crate) struct Pad {
    mode: u32,
    align: bool,
}

const ZEROS: u32 = 0;
const REFLECTION: u32 = 2;

impl Pad {
    /// PyTorch's reflect_coordinates_set_grad: (reflected coordinate, derivative).
    fn reflect(p: f64, twice_low: f64, twice_high: f64) -> (f64, f64) {
        if twice_low == twice_high {
            return (0.0, 0.0);
        }
        let min = twice_low / 2.0;
        let span = (twice_high - twice_low) / 2.0;
        let (mut v, mut sign) = (p - min, 1.0);
        if v < 0.0 {
            v = -v;
            sign = -1.0;
        }
        let extra = v % span;
        let flips = (v / span).floor();
        if flips % 2.0 == 0.0 {
            (extra + min, sign)
        } else {
            (span - extra + min, -sign)
        }
    }

    /// A pixel coordinate padded as compute_source_index_set_grad: (coordinate, derivative).
    pub(crate) fn coord(self, p: f64, size: usize) -> (f64, f64) {
        if self.mode == ZEROS {
            return (p, 1.0);
        }
        let s = size as f64;
        let (p, g) = if self.mode == REFLECTION {
            if self.align {
                Pad::reflect(p, 0.0, 2.0 * (s - 1.0))
            } else {
                Pad::reflect(p, -1.0, 2.0 * s - 1.0)
            }
        } else {
            (p, 1.0)
        };
        if p <= 0.0 {
            (0.0, 0.0)
        } else if p >= s - 1.0 {
            (s - 1.0, 0.0)
        } else {
            (p, g)
        }
    }

    /// A whole-pixel tap padded as compute_coordinates (bicubic): its index, or None outside.
    pub(crate) fn index(self, t: f64, size: usize) -> Option<usize> {
        let p = if self.mode == ZEROS {
            t
        } else {
            self.coord(t, size).0
        };
        inside(p.trunc(), size)
    }
}

/// `v` (a whole number) as an index into an axis of `size`, or None outside (NaN too).
#[inline(always)]
pub(crate) fn inside(v: f64, size: usize) -> Option<usize> {
    if v >= 0.0 && v < size as f64 {
        Some(v as usize)
    } else {
        None
    }
}

/// The taps of one sampling point: pixel `index` (`y·W + x`; None outside the image, reading 0),
/// `weight`, and the weight's derivatives `dx`, `dy` with respect to the unpadded coordinates.
pub(crate) struct Footprint {
    pub count: usize,
    pub index: [Option<usize>; 16],
    pub weight: [f64; 16],
    pub dx: [f64; 16],
    pub dy: [f64; 16],
}

/// Shapes and options of one call.
struct Call {
    h: usize,
    w: usize,
    c: usize,
    m: usize,
    k: usize,
    oh: usize,
    ow: usize,
    params: usize,
    align: bool,
    pad: Pad,
    mode: u32,
}

impl Call {
    #[allow(clippy::too_many_arguments)]
    fn new(dims: [usize; 7], align: u32, padding: u32, mode: u32, params: u32) -> Option<Call> {
        let [n, h, w, c, m, oh, ow] = dims;
        if n == 0 || m % n != 0 || padding > 2 || mode > 2 || (params != 6 && params != 9) {
            return None;
        }
        let align = align != 0;
        Some(Call {
            h,
            w,
            c,
            m,
            k: m / n,
            oh,
            ow,
            params: params as usize,
            align,
            pad: Pad {
                mode: padding,
                align,
            },
            mode,
        })
    }

    fn is_empty(&self) -> bool {
        self.h == 0 || self.w == 0 || self.c == 0 || self.m == 0 || self.oh == 0 || self.ow == 0
    }

    /// Normalised output coordinate of pixel `i` of `n` (PyTorch's affine_grid base grid).
    fn base(&self, i: usize, n: usize) -> f64 {
        if self.align {
            if n > 1 {
                -1.0 + 2.0 * i as f64 / (n as f64 - 1.0)
            } else {
                0.0
            }
        } else {
            (2.0 * i as f64 + 1.0) / n as f64 - 1.0
        }
    }

    /// d(pixel)/d(normalised) along an axis of `size` pixels.
    fn scale(&self, size: usize) -> f64 {
        if self.align {
            (size as f64 - 1.0) / 2.0
        } else {
            size as f64 / 2.0
        }
    }

    fn fill(&self, ix: f64, iy: f64, f: &mut Footprint) {
        match self.mode {
            0 => bilinear::fill(ix, iy, self.w, self.h, self.pad, f),
            1 => nearest::fill(ix, iy, self.w, self.h, self.pad, f),
            _ => bicubic::fill(ix, iy, self.w, self.h, self.pad, f),
        }
    }

    /// Calls `visit(o, ix, iy, x, y, gx, gy, den)` for every output pixel of θ row `mi` whose
    /// sampling point is finite: output element offset, unpadded pixel coordinates, normalised
    /// output and sampling coordinates, projective denominator (1 for affine).
    unsafe fn for_each_point(
        &self,
        theta: *const f32,
        mi: usize,
        mut visit: impl FnMut(usize, f64, f64, f64, f64, f64, f64, f64),
    ) {
        let mut t = [0f64; 9];
        for (e, v) in t.iter_mut().enumerate().take(self.params) {
            *v = *theta.add(mi * self.params + e) as f64;
        }
        let (sx, sy) = (self.scale(self.w), self.scale(self.h));
        let (ox, oy) = ((self.w as f64 - 1.0) / 2.0, (self.h as f64 - 1.0) / 2.0);
        for i in 0..self.oh {
            let y = self.base(i, self.oh);
            for j in 0..self.ow {
                let x = self.base(j, self.ow);
                let den = if self.params == 9 {
                    t[6] * x + t[7] * y + t[8]
                } else {
                    1.0
                };
                let gx = (t[0] * x + t[1] * y + t[2]) / den;
                let gy = (t[3] * x + t[4] * y + t[5]) / den;
                // A non-finite denominator counts as non-finite coordinates, not as gx = 0.
                if !gx.is_finite() || !gy.is_finite() || !den.is_finite() {
                    continue;
                }
                let o = ((mi * self.oh + i) * self.ow + j) * self.c;
                visit(o, sx * gx + ox, sy * gy + oy, x, y, gx, gy, den);
            }
        }
    }
}

fn empty_footprint() -> Footprint {
    Footprint {
        count: 0,
        index: [None; 16],
        weight: [0.0; 16],
        dx: [0.0; 16],
        dy: [0.0; 16],
    }
}

/// Forward of any mode: `out[m,i,j,:]` samples image `m / k`. `padding`: 0 zeros, 1 border,
/// 2 reflection; `mode`: 0 bilinear, 1 nearest, 2 bicubic; `params`: θ values per row (6 or 9).
///
/// Returns 0, or 1 when the arguments are inconsistent (nothing is written then).
///
/// # Safety
/// The pointers must address `n·h·w·c`, `m·params` and `m·oh·ow·c` f32s of this module's memory.
#[no_mangle]
pub unsafe extern "C" fn rnnspn_sample(
    image: *const f32,
    theta: *const f32,
    out: *mut f32,
    n: usize,
    h: usize,
    w: usize,
    c: usize,
    m: usize,
    oh: usize,
    ow: usize,
    align_corners: u32,
    padding: u32,
    mode: u32,
    params: u32,
) -> i32 {
    let g = match Call::new([n, h, w, c, m, oh, ow], align_corners, padding, mode, params) {
        Some(g) => g,
        None => return 1,
    };
    core::ptr::write_bytes(out, 0, m * oh * ow * c);
    if g.is_empty() {
        return 0;
    }
    let mut f = empty_footprint();
    for mi in 0..g.m {
        let img = image.add((mi / g.k) * g.h * g.w * g.c);
        g.for_each_point(theta, mi, |o, ix, iy, _, _, _, _, _| {
            g.fill(ix, iy, &mut f);
            for ch in 0..g.c {
                let mut v = 0f64;
                for t in 0..f.count {
                    if let Some(p) = f.index[t] {
                        v += f.weight[t] * *img.add(p * g.c + ch) as f64;
                    }
                }
                *out.add(o + ch) = v as f32;
            }
        });
    }
    0
}

/// Backward of any mode: ∂image (`[n,h,w,c]`, overwritten) and ∂θ (`[m,params]`, overwritten) from
/// the upstream gradient `dy`; arguments as [`rnnspn_sample`].
///
/// # Safety
/// As [`rnnspn_sample`], with `dy` the size of its output; `dimage`, `dtheta` must not overlap.
#[no_mangle]
pub unsafe extern "C" fn rnnspn_sample_grad(
    dy: *const f32,
    image: *const f32,
    theta: *const f32,
    dimage: *mut f32,
    dtheta: *mut f32,
    n: usize,
    h: usize,
    w: usize,
    c: usize,
    m: usize,
    oh: usize,
    ow: usize,
    align_corners: u32,
    padding: u32,
    mode: u32,
    params: u32,
) -> i32 {
    let g = match Call::new([n, h, w, c, m, oh, ow], align_corners, padding, mode, params) {
        Some(g) => g,
        None => return 1,
    };
    core::ptr::write_bytes(dimage, 0, n * h * w * c);
    core::ptr::write_bytes(dtheta, 0, m * g.params);
    if g.is_empty() {
        return 0;
    }
    let (sx, sy) = (g.scale(g.w), g.scale(g.h));
    let mut f = empty_footprint();
    for mi in 0..g.m {
        let offset = (mi / g.k) * g.h * g.w * g.c;
        let (img, dimg) = (image.add(offset), dimage.add(offset));
        let mut acc = [0f64; 9];
        g.for_each_point(theta, mi, |o, ix, iy, x, y, gx, gy, den| {
            g.fill(ix, iy, &mut f);
            let (mut gix, mut giy) = (0f64, 0f64);
            for t in 0..f.count {
                if let Some(p) = f.index[t] {
                    for ch in 0..g.c {
                        let go = *dy.add(o + ch) as f64;
                        let v = *img.add(p * g.c + ch) as f64;
                        let d = dimg.add(p * g.c + ch);
                        *d = (*d as f64 + f.weight[t] * go) as f32;
                        gix += f.dx[t] * v * go;
                        giy += f.dy[t] * v * go;
                    }
                }
            }
            // ∂L/∂gx, ∂L/∂gy; a projective θ also sees the division by den.
            let (ggx, ggy) = (gix * sx / den, giy * sy / den);
            acc[0] += ggx * x;
            acc[1] += ggx * y;
            acc[2] += ggx;
            acc[3] += ggy * x;
            acc[4] += ggy * y;
            acc[5] += ggy;
            if g.params == 9 {
                let gd = -(ggx * gx + ggy * gy);
                acc[6] += gd * x;
                acc[7] += gd * y;
                acc[8] += gd;
            }
        });
        for (e, v) in acc.iter().enumerate().take(g.params) {
            *dtheta.add(mi * g.params + e) = *v as f32;
        }
    }
    0
}
