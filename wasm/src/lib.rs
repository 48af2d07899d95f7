//! WebAssembly (SIMD128) kernels for @rnnspn/core.
//!
//! The module owns its own linear memory. TypeScript copies tensor data from tfjs-backend-wasm's
//! heap into buffers allocated here (`rnnspn_alloc`), calls a kernel, and copies the result back.
//! Kernels take raw pointers and sizes, allocate nothing on their hot path, and never read or
//! write outside the buffers they are given.

use std::alloc::{alloc, dealloc, Layout};

mod column_sums;
mod conv2d_backprop_filter;
mod conv2d_backprop_input;
mod max_pool_grad;
mod rmsprop;
mod sample;
mod spatial_transform;
mod unsorted_segment_sum;
mod winograd;

/// Allocates `bytes` bytes aligned to 16 and returns the offset, or 0 when memory is exhausted.
#[no_mangle]
pub extern "C" fn rnnspn_alloc(bytes: usize) -> *mut u8 {
    unsafe { alloc(Layout::from_size_align_unchecked(bytes.max(1), 16)) }
}

/// Frees a buffer from [`rnnspn_alloc`]; `bytes` must be the size it was allocated with.
#[no_mangle]
pub extern "C" fn rnnspn_free(ptr: *mut u8, bytes: usize) {
    if !ptr.is_null() {
        unsafe { dealloc(ptr, Layout::from_size_align_unchecked(bytes.max(1), 16)) }
    }
}
