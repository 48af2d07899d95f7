//! `UnsortedSegmentSum`: out[s, :] = Σ_{i : ids[i] = s} x[i, :], ids outside [0, segments) dropped
//! (TensorFlow's rule). It is what the gradient of `gather` runs, so it must be linear in the input
//! size: one pass over x, SIMD over the inner dimension.

use core::arch::wasm32::*;

/// float32: `x` [n, inner], `ids` [n], `out` [segments, inner] (overwritten).
///
/// # Safety
/// The pointers must address buffers of the sizes the shapes imply.
#[no_mangle]
pub unsafe extern "C" fn unsorted_segment_sum_f32(
    x: *const f32,
    ids: *const i32,
    out: *mut f32,
    n: usize,
    inner: usize,
    segments: usize,
) {
    core::ptr::write_bytes(out, 0, segments * inner);
    for i in 0..n {
        let s = *ids.add(i);
        if s < 0 || s as usize >= segments {
            continue;
        }
        let src = x.add(i * inner);
        let dst = out.add(s as usize * inner);
        let mut j = 0;
        while j + 4 <= inner {
            let p = dst.add(j) as *mut v128;
            v128_store(p, f32x4_add(v128_load(p), v128_load(src.add(j) as *const v128)));
            j += 4;
        }
        while j < inner {
            *dst.add(j) += *src.add(j);
            j += 1;
        }
    }
}

/// int32 (wrapping, like TensorFlow): same layout as [`unsorted_segment_sum_f32`].
///
/// # Safety
/// The pointers must address buffers of the sizes the shapes imply.
#[no_mangle]
pub unsafe extern "C" fn unsorted_segment_sum_i32(
    x: *const i32,
    ids: *const i32,
    out: *mut i32,
    n: usize,
    inner: usize,
    segments: usize,
) {
    core::ptr::write_bytes(out, 0, segments * inner);
    for i in 0..n {
        let s = *ids.add(i);
        if s < 0 || s as usize >= segments {
            continue;
        }
        let src = x.add(i * inner);
        let dst = out.add(s as usize * inner);
        let mut j = 0;
        while j + 4 <= inner {
            let p = dst.add(j) as *mut v128;
            v128_store(p, i32x4_add(v128_load(p), v128_load(src.add(j) as *const v128)));
            j += 4;
        }
        while j < inner {
            *dst.add(j) = (*dst.add(j)).wrapping_add(*src.add(j));
            j += 1;
        }
    }
}
