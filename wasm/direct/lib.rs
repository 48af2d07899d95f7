//! Kernels that run directly on tfjs-backend-wasm's heap: this module imports tfjs's
//! `WebAssembly.Memory` instead of owning one, so a memory-bound kernel reads its inputs and writes
//! its outputs where tfjs keeps them, with no copy in or out of `../src`'s module (copies that cost
//! more than such a kernel's own pass).
//!
//! That is only sound because nothing here uses memory of its own: no `std`, no allocator, no
//! statics (no data section) and no stack frames (locals stay in wasm locals; no arrays). LLVM folds
//! the stack pointer into constant addresses, so a frame would not even show as a global access:
//! `build.sh` links with a stack of size 0, which puts any frame at the top of the address space,
//! where it traps instead of overwriting tfjs's data. `tests/wasm_direct_kernels_test.ts`
//! checks the binary for that and runs every kernel in a sentinel-filled memory. Only leaf kernels
//! whose scratch the caller hands in belong here. Most are the same source files as in `../src`,
//! compiled a second time; `relu_bias_grad` and `conv_narrow` are only here, as they pay only without
//! copies.

#![no_std]

#[path = "../src/column_sums.rs"]
mod column_sums;
mod gemm;
#[path = "../src/max_pool_grad.rs"]
mod max_pool_grad;
mod conv_narrow;
mod relu_bias_grad;

#[panic_handler]
fn panic(_: &core::panic::PanicInfo) -> ! {
    core::arch::wasm32::unreachable()
}
