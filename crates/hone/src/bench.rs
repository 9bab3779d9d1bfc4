//! Latency measurement shared by `hone bench` and the criterion benches: the
//! standard input (rows of exactly `seq` real tokens cut from English text,
//! the same rows `benches/ort/ort_bench.py` feeds ONNX Runtime) and a timer
//! reporting the median and minimum over repeated runs.

use std::path::Path;
use std::time::Instant;

use hone_compress::quant::Batch;
use hone_data::tokenize::TextTokenizer;

use crate::Result;

/// `batch` rows of exactly `seq` real tokens (no padding).
pub fn full_batch(model_dir: &Path, batch: usize, seq: usize) -> Result<Batch> {
    let tokenizer = TextTokenizer::from_file(&model_dir.join("tokenizer.json"), seq)?;
    let text = "The committee met every Tuesday to review the budget, the hiring plan, the roadmap and the \
                incidents of the previous week, but as the company grew the meetings stretched longer. "
        .repeat(40); // about 1,400 tokens: fills any sequence up to BERT's 512
    let texts: Vec<String> = (0..batch).map(|i| format!("{i} {text}")).collect();
    let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
    let batch = crate::fast::encode(&tokenizer, &refs)?;
    assert_eq!(batch.seq, seq, "the bench text fills the sequence");
    Ok(batch)
}

/// Milliseconds per run.
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize)]
pub struct Timing {
    pub runs: usize,
    pub median_ms: f64,
    pub min_ms: f64,
}

/// Runs `f` once to warm up, then `runs` times.
pub fn time(runs: usize, mut f: impl FnMut()) -> Timing {
    f();
    let mut ms: Vec<f64> = (0..runs.max(1))
        .map(|_| {
            let start = Instant::now();
            f();
            start.elapsed().as_secs_f64() * 1e3
        })
        .collect();
    ms.sort_by(f64::total_cmp);
    Timing {
        runs: ms.len(),
        median_ms: ms[ms.len() / 2],
        min_ms: ms[0],
    }
}
