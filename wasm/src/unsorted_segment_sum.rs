//! `UnsortedSegmentSum`: out[s, :] = Σ_{i : ids[i] = s} x[i, :], ids outside [0, segments) dropped
//! (TensorFlow's rule). It is what the gradient of `gather` runs, so it must be linear in the input
//! size: one pass over x, SIMD over the inner dimension.

use core::arch::wasm32::*;

/// One exported kernel per dtype: the loops are identical, only the element type and the lane and
/// scalar additions differ (float32 adds; int32 wraps, like TensorFlow).
macro_rules! unsorted_segment_sum {
    ($(#[$doc:meta])* $name:ident, $t:ty, $simd_add:ident, |$a:ident, $b:ident| $scalar_add:expr) => {
        $(#[$doc])*
        ///
        /// # Safety
        /// The pointers must address buffers of the sizes the shapes imply.
        #[no_mangle]
        pub unsafe extern "C" fn $name(
            x: *const $t,
            ids: *const i32,
            out: *mut $t,
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
                    v128_store(p, $simd_add(v128_load(p), v128_load(src.add(j) as *const v128)));
                    j += 4;
                }
                while j < inner {
                    let ($a, $b) = (*dst.add(j), *src.add(j));
                    *dst.add(j) = $scalar_add;
                    j += 1;
                }
            }
        }
    };
}

unsorted_segment_sum!(
    /// float32: `x` [n, inner], `ids` [n], `out` [segments, inner] (overwritten).
    unsorted_segment_sum_f32, f32, f32x4_add, |a, b| a + b
);

unsorted_segment_sum!(
    /// int32 (wrapping, like TensorFlow): same layout as [`unsorted_segment_sum_f32`].
    unsorted_segment_sum_i32, i32, i32x4_add, |a, b| a.wrapping_add(b)
);
