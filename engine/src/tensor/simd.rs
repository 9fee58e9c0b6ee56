//! Elementwise loops compiled for the vector unit the CPU has, chosen at run time.
//!
//! The engine is built for the x86-64 baseline (SSE2: 4 f32 or 2 f64 lanes) so one binary
//! runs everywhere; [`vectorized`] runs a loop as a copy compiled for AVX-512 or AVX2 when
//! the CPU has them (16 or 8 f32 lanes). Rust never contracts `a·b + c` into an FMA, so
//! every copy computes bit-identical results: the choice changes speed only.

/// Runs `kernel` compiled for the widest vector unit available. `kernel` should be a loop
/// over slices whose body inlines (`#[inline(always)]` maths): the copy for each unit is
/// made by inlining the closure into a function with that unit's target features.
#[inline(always)]
pub fn vectorized<R>(kernel: impl FnOnce() -> R) -> R {
    #[cfg(target_arch = "x86_64")]
    {
        if std::arch::is_x86_feature_detected!("avx512f") {
            // SAFETY: the CPU has AVX-512F (checked above), all `avx512` enables.
            return unsafe { avx512(kernel) };
        }
        if std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma")
        {
            // SAFETY: the CPU has AVX2 and FMA (checked above), all `avx2` enables.
            return unsafe { avx2(kernel) };
        }
    }
    kernel()
}

/// `kernel` compiled with AVX-512F (and the AVX2 and FMA it implies).
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx2,fma")]
unsafe fn avx512<R>(kernel: impl FnOnce() -> R) -> R {
    kernel()
}

/// `kernel` compiled with AVX2 and FMA.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn avx2<R>(kernel: impl FnOnce() -> R) -> R {
    kernel()
}
