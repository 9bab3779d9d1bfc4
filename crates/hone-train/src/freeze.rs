//! Which depths train at a given step: a fixed frozen bottom, a head-only
//! warm-up phase, and gradual unfreezing from the top (ULMFiT), all pure
//! functions of the optimizer step so that resume needs no extra state.

use serde::{Deserialize, Serialize};

/// Freezing plan over parameter depths (0 = embeddings, L+1 = head).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct FreezePlan {
    /// Depths below this stay frozen for the whole run (0: none; 1: the
    /// embeddings; k: embeddings and the first k−1 layers).
    pub frozen_below: usize,
    /// Steps at the start during which only the head trains.
    pub head_only_steps: usize,
    /// After the head-only phase, unfreeze one more depth from the top
    /// every this many steps (gradual unfreezing); `None`: all at once.
    pub unfreeze_every: Option<usize>,
}

impl FreezePlan {
    /// The lowest trainable depth at `step`, for a model whose head is at
    /// `head_depth`.
    pub fn min_depth(&self, step: usize, head_depth: usize) -> usize {
        let base = self.frozen_below.min(head_depth);
        if step < self.head_only_steps {
            return head_depth;
        }
        match self.unfreeze_every {
            Some(every) if every > 0 => {
                let unfrozen = 1 + (step - self.head_only_steps) / every;
                head_depth.saturating_sub(unfrozen).max(base)
            }
            _ => base,
        }
    }

    pub fn validate(&self) -> Result<(), String> {
        if self.unfreeze_every == Some(0) {
            return Err("unfreeze-every must be at least 1 step".into());
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_plan_trains_everything() {
        assert_eq!(FreezePlan::default().min_depth(0, 7), 0);
    }

    #[test]
    fn head_only_then_all() {
        let p = FreezePlan {
            head_only_steps: 10,
            ..Default::default()
        };
        assert_eq!(p.min_depth(9, 7), 7);
        assert_eq!(p.min_depth(10, 7), 0);
    }

    #[test]
    fn gradual_unfreezing_adds_one_depth_per_period_down_to_the_frozen_bottom() {
        let p = FreezePlan {
            frozen_below: 2,
            head_only_steps: 4,
            unfreeze_every: Some(3),
        };
        let depths: Vec<_> = (0..25).map(|s| p.min_depth(s, 7)).collect();
        assert_eq!(&depths[..4], &[7, 7, 7, 7]);
        assert_eq!(&depths[4..7], &[6, 6, 6]);
        assert_eq!(&depths[7..10], &[5, 5, 5]);
        assert_eq!(depths[24], 2, "never below frozen_below");
    }
}
