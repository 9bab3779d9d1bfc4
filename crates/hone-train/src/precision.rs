//! Mixed precision: the model's master weights stay in f32; each forward
//! pass runs on a copy cast to bf16 or f16 (the cast is part of the
//! autodiff graph, so gradients arrive in f32 on the master weights), and a
//! dynamic loss scale keeps small f16 gradients from underflowing.
//!
//! Backend support is checked, not assumed: burn's ndarray backend has no
//! f16/bf16 (it panics), flex runs both, WGPU reports what its adapter
//! supports. bf16 has f32's exponent range, so its loss scale stays at 1.

use burn::module::{Module, ModuleMapper, Param};
use burn::prelude::*;
use burn::tensor::DType;
use serde::{Deserialize, Serialize};

use crate::TrainError;

/// Compute precision of the forward and backward passes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Precision {
    #[default]
    F32,
    Bf16,
    F16,
}

impl Precision {
    pub fn dtype(self) -> DType {
        match self {
            Self::F32 => DType::F32,
            Self::Bf16 => DType::BF16,
            Self::F16 => DType::F16,
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Self::F32 => "f32",
            Self::Bf16 => "bf16",
            Self::F16 => "f16",
        }
    }

    /// Errors when backend `B` cannot compute in this precision on `device`.
    pub fn check<B: Backend>(self, device: &B::Device, backend: &str) -> Result<(), TrainError> {
        if self == Self::F32 || B::supports_dtype(device, self.dtype()) {
            Ok(())
        } else {
            Err(TrainError::Unsupported(format!(
                "the {backend} backend cannot compute in {} (ndarray has no half \
                 precision; use --backend flex, or wgpu/cuda where the device supports it)",
                self.label()
            )))
        }
    }
}

impl std::str::FromStr for Precision {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "f32" | "fp32" => Ok(Self::F32),
            "bf16" => Ok(Self::Bf16),
            "f16" | "fp16" => Ok(Self::F16),
            other => Err(format!(
                "unknown precision {other:?} (expected f32, bf16 or f16)"
            )),
        }
    }
}

/// A copy of `module` with every float tensor cast to `dtype`, still linked
/// to the original tensors in the autodiff graph.
pub fn cast_module<B: Backend, M: Module<B>>(module: M, dtype: DType) -> M {
    struct Cast(DType);
    impl<B: Backend> ModuleMapper<B> for Cast {
        fn map_float<const D: usize>(&mut self, param: Param<Tensor<B, D>>) -> Param<Tensor<B, D>> {
            let (id, tensor, mapper) = param.consume();
            Param::from_mapped_value(id, tensor.cast(self.0), mapper)
        }
    }
    module.map(&mut Cast(dtype))
}

/// Dynamic loss scaling (as in NVIDIA's AMP): the loss is multiplied by
/// `scale` before backward; a step whose gradients overflow is skipped and
/// the scale halved; after `growth_interval` clean steps it doubles.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LossScaler {
    pub scale: f64,
    pub growth_interval: usize,
    pub clean_steps: usize,
    pub enabled: bool,
}

impl LossScaler {
    pub const MIN_SCALE: f64 = 1.0;

    /// Enabled (initial scale 2^16) for f16 only.
    pub fn for_precision(precision: Precision) -> Self {
        let enabled = precision == Precision::F16;
        Self {
            scale: if enabled { 65536.0 } else { 1.0 },
            growth_interval: 200,
            clean_steps: 0,
            enabled,
        }
    }

    /// Records whether the step's gradients were finite; returns whether the
    /// optimizer step should be applied.
    pub fn update(&mut self, grads_finite: bool) -> bool {
        if !self.enabled {
            return grads_finite;
        }
        if grads_finite {
            self.clean_steps += 1;
            if self.clean_steps >= self.growth_interval {
                self.scale *= 2.0;
                self.clean_steps = 0;
            }
            true
        } else {
            self.scale = (self.scale / 2.0).max(Self::MIN_SCALE);
            self.clean_steps = 0;
            false
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn overflow_skips_the_step_and_halves_the_scale() {
        let mut s = LossScaler::for_precision(Precision::F16);
        s.growth_interval = 3;
        assert!(!s.update(false));
        assert_eq!(s.scale, 32768.0);
        assert!(s.update(true));
        assert!(s.update(true));
        assert_eq!(s.scale, 32768.0);
        assert!(s.update(true));
        assert_eq!(
            s.scale, 65536.0,
            "doubles after growth_interval clean steps"
        );
        assert!(!s.update(false));
        assert_eq!(s.clean_steps, 0);
    }

    #[test]
    fn scale_never_drops_below_one() {
        let mut s = LossScaler::for_precision(Precision::F16);
        for _ in 0..40 {
            s.update(false);
        }
        assert_eq!(s.scale, 1.0);
    }

    #[test]
    fn f32_and_bf16_do_not_scale_but_still_skip_non_finite_steps() {
        for p in [Precision::F32, Precision::Bf16] {
            let mut s = LossScaler::for_precision(p);
            assert_eq!(s.scale, 1.0);
            assert!(!s.update(false));
            assert_eq!(s.scale, 1.0);
        }
    }

    #[test]
    fn ndarray_refuses_half_precision_with_a_clear_error() {
        type B = burn::backend::NdArray;
        let dev = Default::default();
        let err = Precision::Bf16.check::<B>(&dev, "ndarray").unwrap_err();
        assert!(err.to_string().contains("flex"), "{err}");
        Precision::F32.check::<B>(&dev, "ndarray").unwrap();
    }
}
