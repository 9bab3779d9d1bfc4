//! Concrete burn backends, chosen by cargo features and named only here.
//!
//! Library code is generic over `B: Backend`; a caller that wants to run it
//! writes a [`BackendJob`] (a generic method, since closures cannot be
//! generic) and [`dispatch`]es it on the backend the user picked. `ndarray`
//! is the default CPU backend because it measured fastest of the pure-Rust
//! backends for a MiniLM forward pass here (README, "CPU backends"). `tch`
//! runs burn's LibTorch backend on the CPU, on the libtorch of an installed
//! PyTorch (README, "LibTorch backend"): it is not pure Rust, but it trains
//! several times faster than ndarray here.

use std::fmt;
use std::str::FromStr;

use burn::prelude::Backend;
use burn::tensor::backend::AutodiffBackend;

use crate::{Error, Result};

/// The backends hone knows of; [`BackendKind::compiled`] lists those in this build.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BackendKind {
    NdArray,
    Flex,
    Wgpu,
    Cuda,
    LibTorch,
}

impl BackendKind {
    pub const ALL: [BackendKind; 5] = [
        Self::NdArray,
        Self::Flex,
        Self::Wgpu,
        Self::Cuda,
        Self::LibTorch,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Self::Flex => "flex",
            Self::NdArray => "ndarray",
            Self::Wgpu => "wgpu",
            Self::Cuda => "cuda",
            Self::LibTorch => "tch",
        }
    }

    /// The name benches and reports use: `ndarray+openblas` when the
    /// `blas` feature links ndarray to the system OpenBLAS.
    pub fn label(self) -> &'static str {
        if self == Self::NdArray && cfg!(feature = "blas") {
            "ndarray+openblas"
        } else {
            self.name()
        }
    }

    /// The error for asking this backend of a build that lacks it.
    pub fn unavailable(self) -> Error {
        Error::BackendUnavailable {
            requested: self.name().into(),
            available: Self::compiled()
                .iter()
                .map(|b| b.name())
                .collect::<Vec<_>>()
                .join(", "),
        }
    }

    /// Whether this build can run the backend.
    pub fn is_compiled(self) -> bool {
        match self {
            Self::Flex => cfg!(feature = "flex"),
            Self::NdArray => cfg!(feature = "ndarray"),
            Self::Wgpu => cfg!(feature = "wgpu"),
            Self::Cuda => cfg!(feature = "cuda"),
            Self::LibTorch => cfg!(feature = "tch"),
        }
    }

    /// The backends compiled into this build, in preference order.
    pub fn compiled() -> Vec<BackendKind> {
        Self::ALL.into_iter().filter(|b| b.is_compiled()).collect()
    }

    /// The default: the first compiled backend in preference order (ndarray, flex, wgpu, cuda, tch).
    pub fn default_compiled() -> Option<BackendKind> {
        Self::compiled().into_iter().next()
    }
}

impl fmt::Display for BackendKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for BackendKind {
    type Err = String;
    fn from_str(s: &str) -> std::result::Result<Self, String> {
        Self::ALL
            .into_iter()
            .find(|b| b.name() == s)
            .ok_or_else(|| {
                format!(
                    "unknown backend `{s}` (known: {})",
                    Self::ALL.map(|b| b.name()).join(", ")
                )
            })
    }
}

/// Work that runs on any backend.
pub trait BackendJob {
    type Output;
    fn run<B: Backend>(self, device: B::Device) -> Self::Output;
}

/// Runs `job` on `kind`, or explains that the backend is not compiled in.
pub fn dispatch<J: BackendJob>(kind: BackendKind, job: J) -> Result<J::Output> {
    #[allow(unreachable_patterns)]
    match kind {
        #[cfg(feature = "flex")]
        BackendKind::Flex => Ok(job.run::<burn::backend::Flex>(Default::default())),
        #[cfg(feature = "ndarray")]
        BackendKind::NdArray => Ok(job.run::<burn::backend::NdArray>(Default::default())),
        #[cfg(feature = "wgpu")]
        BackendKind::Wgpu => Ok(job.run::<burn::backend::Wgpu>(Default::default())),
        #[cfg(feature = "cuda")]
        BackendKind::Cuda => Ok(job.run::<burn::backend::Cuda>(Default::default())),
        #[cfg(feature = "tch")]
        BackendKind::LibTorch => Ok(job.run::<burn::backend::LibTorch>(Default::default())),
        other => Err(other.unavailable()),
    }
}

/// Work that trains, so needs gradients: it runs on burn's `Autodiff`
/// wrapper of the chosen backend.
pub trait TrainJob {
    type Output;
    fn run<B: AutodiffBackend>(self, device: B::Device) -> Self::Output;
}

/// Runs `job` on `Autodiff<kind>`, or explains that the backend is not compiled in.
pub fn dispatch_train<J: TrainJob>(kind: BackendKind, job: J) -> Result<J::Output> {
    use burn::backend::Autodiff;
    #[allow(unreachable_patterns)]
    match kind {
        #[cfg(feature = "flex")]
        BackendKind::Flex => Ok(job.run::<Autodiff<burn::backend::Flex>>(Default::default())),
        #[cfg(feature = "ndarray")]
        BackendKind::NdArray => Ok(job.run::<Autodiff<burn::backend::NdArray>>(Default::default())),
        #[cfg(feature = "wgpu")]
        BackendKind::Wgpu => Ok(job.run::<Autodiff<burn::backend::Wgpu>>(Default::default())),
        #[cfg(feature = "cuda")]
        BackendKind::Cuda => Ok(job.run::<Autodiff<burn::backend::Cuda>>(Default::default())),
        #[cfg(feature = "tch")]
        BackendKind::LibTorch => {
            Ok(job.run::<Autodiff<burn::backend::LibTorch>>(Default::default()))
        }
        other => Err(other.unavailable()),
    }
}
