//! Static activation scales for int8: run the f32 engine over calibration
//! texts, record what each dense layer sees, and choose one symmetric
//! per-tensor clipping range per layer by min-max, a percentile of |x|, or
//! the clip that minimizes the expected squared quantization error.
//!
//! Two passes: the first finds each layer's largest |x|, the second fills a
//! fixed 2,048-bin histogram of |x| over `[0, max]`, from which percentile
//! and MSE are read (exactly, up to the bin width).

use std::collections::HashMap;

use hone_model::engine::{FastBert, LinearId, Tokens};

use crate::{CompressError, Result};

const BINS: usize = 2048;

/// How a clipping range is chosen from the observed activations.
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case", tag = "method")]
pub enum Method {
    /// The largest |x| seen.
    MinMax,
    /// The given percentile of |x| (e.g. 99.99).
    Percentile { percentile: f64 },
    /// The clip minimizing rounding error inside plus clipping error outside.
    Mse,
}

impl std::str::FromStr for Method {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "minmax" | "min-max" => Ok(Method::MinMax),
            "mse" => Ok(Method::Mse),
            _ => match s.strip_prefix("percentile") {
                Some(rest) => {
                    let p = rest.trim_start_matches(':');
                    let percentile = if p.is_empty() {
                        99.99
                    } else {
                        p.parse().map_err(|_| format!("bad percentile `{p}`"))?
                    };
                    if !(50.0..=100.0).contains(&percentile) {
                        return Err(format!("percentile {percentile} is outside [50, 100]"));
                    }
                    Ok(Method::Percentile { percentile })
                }
                None => Err(format!(
                    "unknown calibration method `{s}` (minmax, percentile[:P], mse)"
                )),
            },
        }
    }
}

/// An owned batch of tokens.
#[derive(Clone, Debug)]
pub struct Batch {
    pub ids: Vec<u32>,
    pub mask: Vec<u32>,
    pub types: Vec<u32>,
    pub batch: usize,
    pub seq: usize,
}

impl Batch {
    pub fn tokens(&self) -> Tokens<'_> {
        Tokens {
            ids: &self.ids,
            mask: &self.mask,
            types: &self.types,
            batch: self.batch,
            seq: self.seq,
        }
    }
}

/// The per-layer activation scale (clip / 127) chosen by `method`.
pub fn calibrate(
    engine: &FastBert,
    batches: &[Batch],
    method: Method,
) -> Result<HashMap<LinearId, f32>> {
    if batches.iter().all(|b| b.batch == 0) {
        return Err(CompressError::Invalid(
            "the calibration set is empty: give at least one text".into(),
        ));
    }
    // Padding rows are not activations the model will see; count real tokens only.
    let real_rows = |b: &Batch| -> Vec<bool> { b.mask.iter().map(|&m| m != 0).collect() };
    let mut max: HashMap<LinearId, f32> = HashMap::new();
    for b in batches.iter().filter(|b| b.batch * b.seq > 0) {
        let keep = real_rows(b);
        engine.forward_observed(b.tokens(), &mut |id, x| {
            let width = x.len() / keep.len();
            let m = x
                .chunks_exact(width)
                .zip(&keep)
                .filter(|(_, k)| **k)
                .flat_map(|(r, _)| r.iter())
                .fold(0.0f32, |m, v| m.max(v.abs()));
            let e = max.entry(id).or_insert(0.0);
            *e = e.max(m);
        })?;
    }
    if method == Method::MinMax {
        return Ok(max.into_iter().map(|(id, m)| (id, scale_for(m))).collect());
    }
    let mut hist: HashMap<LinearId, Vec<u64>> = HashMap::new();
    for b in batches.iter().filter(|b| b.batch * b.seq > 0) {
        let keep = real_rows(b);
        engine.forward_observed(b.tokens(), &mut |id, x| {
            let width = x.len() / keep.len();
            let top = max[&id];
            let h = hist.entry(id).or_insert_with(|| vec![0; BINS]);
            for (row, _) in x.chunks_exact(width).zip(&keep).filter(|(_, k)| **k) {
                for v in row {
                    let bin = ((v.abs() / top) * BINS as f32) as usize;
                    h[bin.min(BINS - 1)] += 1;
                }
            }
        })?;
    }
    Ok(hist
        .into_iter()
        .map(|(id, h)| {
            let top = max[&id];
            let clip = match method {
                Method::Percentile { percentile } => percentile_clip(&h, top, percentile),
                Method::Mse => mse_clip(&h, top),
                Method::MinMax => top,
            };
            (id, scale_for(clip))
        })
        .collect())
}

fn scale_for(clip: f32) -> f32 {
    if clip > 0.0 && clip.is_finite() {
        clip / 127.0
    } else {
        1.0
    }
}

fn bin_upper(i: usize, top: f32) -> f32 {
    (i + 1) as f32 / BINS as f32 * top
}

/// The smallest bin edge below which `percentile` % of |x| lie.
pub fn percentile_clip(hist: &[u64], top: f32, percentile: f64) -> f32 {
    let total: u64 = hist.iter().sum();
    let target = (total as f64 * percentile / 100.0).ceil() as u64;
    let mut seen = 0;
    for (i, &c) in hist.iter().enumerate() {
        seen += c;
        if seen >= target {
            return bin_upper(i, top);
        }
    }
    top
}

/// The bin edge minimizing `Σ_inside step²/12 + Σ_outside (|x| − clip)²`,
/// with each bin's values at its centre.
pub fn mse_clip(hist: &[u64], top: f32) -> f32 {
    let centre = |i: usize| (i as f32 + 0.5) / hist.len() as f32 * top;
    let mut best = (f64::INFINITY, top);
    // Candidates from 1 % of the range up: a clip near zero is never right.
    for c in (hist.len() / 100).max(1)..=hist.len() {
        let clip = c as f32 / hist.len() as f32 * top;
        let step = clip as f64 / 127.0;
        let mut err = 0.0f64;
        for (i, &n) in hist.iter().enumerate() {
            if n == 0 {
                continue;
            }
            let x = centre(i);
            err += n as f64
                * if x <= clip {
                    step * step / 12.0
                } else {
                    ((x - clip) as f64).powi(2)
                };
        }
        if err < best.0 {
            best = (err, clip);
        }
    }
    best.1
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentile_finds_the_bin_holding_the_mass() {
        let mut h = vec![0u64; BINS];
        h[9] = 999;
        h[BINS - 1] = 1;
        assert_eq!(percentile_clip(&h, 2048.0, 99.9), 10.0);
        assert_eq!(percentile_clip(&h, 2048.0, 100.0), 2048.0);
    }

    #[test]
    fn mse_clips_a_lone_outlier_but_not_a_uniform_range() {
        let mut outlier = vec![0u64; BINS];
        outlier[100] = 10_000_000;
        outlier[BINS - 1] = 1;
        assert!(mse_clip(&outlier, 1.0) < 0.1);
        let uniform = vec![10u64; BINS];
        assert!(mse_clip(&uniform, 1.0) > 0.95);
    }

    #[test]
    fn methods_parse() {
        assert_eq!("mse".parse::<Method>(), Ok(Method::Mse));
        assert_eq!(
            "percentile:99.9".parse::<Method>(),
            Ok(Method::Percentile { percentile: 99.9 })
        );
        assert!("percentile:20".parse::<Method>().is_err());
        assert!("best".parse::<Method>().is_err());
    }
}
