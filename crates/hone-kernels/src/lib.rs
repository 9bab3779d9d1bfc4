//! hone-kernels — layer 0: the CPU kernels that hone's fast inference path
//! needs and burn does not have. burn stores quantized weights but
//! dequantizes them before every operation, so it saves memory and no time;
//! these kernels multiply int8 by int8 into i32 (and 4-bit weights by f32)
//! with the dequantization fused into the epilogue, which is what makes a
//! quantized model faster. They work on plain slices (no burn dependency):
//! each kernel has a scalar reference, a portable blocked path and, chosen at
//! run time, an AVX2 path; tests hold every fast path to its reference
//! (exact integer equality for the i32 accumulation).

pub mod error;
pub mod f32ops;
pub mod int4;
pub mod int8;
pub mod isa;
pub mod quantize;

pub use error::KernelError;
pub use isa::Isa;
