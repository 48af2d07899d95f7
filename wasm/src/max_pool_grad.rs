//! `MaxPoolGrad` for the paper's pools: 2×2 windows, stride 2, no padding (NHWC).
//!
//! Each window routes its dy to the first maximum in row-major order (strict `>`, so ties go to
//! the earliest element and NaN or −∞ is never picked; a window of only those gets no gradient) —
//! the rule of tfjs's cpu kernel. Windows are disjoint, so every dx element is written exactly
//! once (no zero-fill pass), and the choice is made with lane masks rather than branches: on
//! random data the four-way argmax mispredicts most branches, which made a scalar loop ~5× slower
//! than memory.

use core::arch::wasm32::*;

/// dx for `x` [b, h, w, c] and `dy` [b, h/2, w/2, c] (floor) into `dx` [b, h, w, c] (overwritten,
/// including the last row and column of odd sizes, which no window covers).
///
/// # Safety
/// The pointers must address buffers of the sizes the shapes imply.
#[no_mangle]
pub unsafe extern "C" fn max_pool_grad_2x2_f32(
    x: *const f32,
    dy: *const f32,
    dx: *mut f32,
    b: usize,
    h: usize,
    w: usize,
    c: usize,
) {
    let (oh, ow) = (h / 2, w / 2);
    let row = w * c;
    let ninf = f32x4_splat(f32::NEG_INFINITY);
    for bi in 0..b {
        let image = bi * h * row;
        for yr in 0..oh {
            let top = image + 2 * yr * row;
            for yc in 0..ow {
                let i0 = top + 2 * yc * c;
                let (i1, i2, i3) = (i0 + c, i0 + row, i0 + row + c);
                let g = dy.add(((bi * oh + yr) * ow + yc) * c);
                let mut d = 0;
                while d + 4 <= c {
                    let a = v128_load(x.add(i0 + d) as *const v128);
                    let p = v128_load(x.add(i1 + d) as *const v128);
                    let q = v128_load(x.add(i2 + d) as *const v128);
                    let r = v128_load(x.add(i3 + d) as *const v128);
                    // The same sequence of strict comparisons as the scalar rule, per lane.
                    let wa = f32x4_gt(a, ninf);
                    let best = v128_bitselect(a, ninf, wa);
                    let wp = f32x4_gt(p, best);
                    let best = v128_bitselect(p, best, wp);
                    let wq = f32x4_gt(q, best);
                    let best = v128_bitselect(q, best, wq);
                    let wr = f32x4_gt(r, best);
                    // The last window element that improved on the running maximum is the winner.
                    let later = wr;
                    let mq = v128_andnot(wq, later);
                    let later = v128_or(later, wq);
                    let mp = v128_andnot(wp, later);
                    let later = v128_or(later, wp);
                    let ma = v128_andnot(wa, later);
                    let gv = v128_load(g.add(d) as *const v128);
                    v128_store(dx.add(i0 + d) as *mut v128, v128_and(gv, ma));
                    v128_store(dx.add(i1 + d) as *mut v128, v128_and(gv, mp));
                    v128_store(dx.add(i2 + d) as *mut v128, v128_and(gv, mq));
                    v128_store(dx.add(i3 + d) as *mut v128, v128_and(gv, wr));
                    d += 4;
                }
                while d < c {
                    // Scalar tail, the same rule; no arrays, so no stack frame (see wasm/direct).
                    let (a, p, q, r) = (*x.add(i0 + d), *x.add(i1 + d), *x.add(i2 + d), *x.add(i3 + d));
                    let wa = a > f32::NEG_INFINITY;
                    let best = if wa { a } else { f32::NEG_INFINITY };
                    let wp = p > best;
                    let best = if wp { p } else { best };
                    let wq = q > best;
                    let best = if wq { q } else { best };
                    let wr = r > best;
                    let gv = *g.add(d);
                    *dx.add(i0 + d) = if wa && !wp && !wq && !wr { gv } else { 0.0 };
                    *dx.add(i1 + d) = if wp && !wq && !wr { gv } else { 0.0 };
                    *dx.add(i2 + d) = if wq && !wr { gv } else { 0.0 };
                    *dx.add(i3 + d) = if wr { gv } else { 0.0 };
                    d += 1;
                }
            }
            if 2 * ow < w {
                for r in 0..2 {
                    let start = top + r * row + 2 * ow * c;
                    core::ptr::write_bytes(dx.add(start), 0, (w - 2 * ow) * c);
                }
            }
        }
        if 2 * oh < h {
            core::ptr::write_bytes(dx.add(image + 2 * oh * row), 0, (h - 2 * oh) * row);
        }
    }
}
