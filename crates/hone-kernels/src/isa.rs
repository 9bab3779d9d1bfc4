//! Instruction-set selection at run time: the fastest path this CPU has,
//! or a named one (tests and benches run every path the CPU supports).

use crate::KernelError;

/// A family of kernel implementations.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Isa {
    /// Plain Rust over the packed layouts; runs everywhere.
    Portable,
    /// x86-64 AVX2 intrinsics (256-bit integer multiply-add).
    Avx2,
}

impl Isa {
    /// The fastest implementation this CPU supports.
    pub fn best() -> Isa {
        if Isa::Avx2.is_supported() {
            Isa::Avx2
        } else {
            Isa::Portable
        }
    }

    /// Every implementation this CPU can run, slowest first.
    pub fn available() -> Vec<Isa> {
        [Isa::Portable, Isa::Avx2]
            .into_iter()
            .filter(|isa| isa.is_supported())
            .collect()
    }

    /// Whether this CPU can run it.
    pub fn is_supported(self) -> bool {
        match self {
            Isa::Portable => true,
            #[cfg(target_arch = "x86_64")]
            Isa::Avx2 => is_x86_feature_detected!("avx2") && is_x86_feature_detected!("fma"),
            #[cfg(not(target_arch = "x86_64"))]
            Isa::Avx2 => false,
        }
    }

    /// `Ok(self)` where supported, else a clear error.
    pub fn checked(self) -> Result<Isa, KernelError> {
        if self.is_supported() {
            Ok(self)
        } else {
            Err(KernelError::Unsupported(self.name()))
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Isa::Portable => "portable",
            Isa::Avx2 => "avx2",
        }
    }
}

impl std::fmt::Display for Isa {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}
