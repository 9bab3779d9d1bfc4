//! hone-metrics — layer 1 of hone, plain Rust with no burn dependency:
//! classification metrics and log loss, BLEU/chrF and ROUGE with exact parity to the
//! reference tools, and uncertainty/significance for A/B comparisons.
//!
//! Reference behaviour: scikit-learn (classification), sacrebleu 2.6.0
//! (BLEU, chrF/chrF++), rouge-score 0.1.2 with nltk's Porter stemmer
//! (ROUGE), sacrebleu's `significance` module (bootstrap, paired tests) and
//! statsmodels' `mcnemar`. Every corpus metric also has a streaming
//! accumulator whose result equals the one-shot score.

mod accumulate;
mod bleu;
mod bleu_tokenize;
mod chrf;
mod classify;
mod error;
mod fasthash;
mod log_loss;
mod mcnemar;
mod perplexity;
mod porter;
mod pytext;
mod resample;
mod rouge;
mod signature;

pub use accumulate::{StreamingAccumulator, SummedStatistic};
pub use bleu::{
    Bleu, BleuAccumulator, BleuScore, BleuStats, MAX_NGRAM_ORDER, Smoothing, compute_bleu,
};
pub use bleu_tokenize::BleuTokenizer;
pub use chrf::{Chrf, ChrfAccumulator, ChrfScore, ChrfStats};
pub use classify::{
    Averages, ClassPrf, ClassScores, ClassificationAccumulator, ClassificationReport,
    ConfusionMatrix, Prf, PrfReport, accuracy, classification_report,
};
pub use error::{MetricsError, Result};
pub use log_loss::log_loss;
pub use mcnemar::{EXACT_BELOW, McNemarMethod, McNemarResult, mcnemar, mcnemar_from_counts};
pub use perplexity::{LogProbSum, Perplexity, PerplexityAccumulator, PerplexityScore, perplexity};
pub use porter::porter_stem;
pub use resample::{
    BootstrapConfig, ClassMetric, ClassificationStatistic, ConfidenceInterval, CorpusStatistic,
    DEFAULT_AR_TRIALS, DEFAULT_SEED, Mean, PairedResult, PairedTest, bootstrap_ci, p_value,
    paired_approximate_randomization, paired_bootstrap, percentile_interval,
};
pub use rouge::{
    PrfScore, Rouge, RougeAccumulator, RougeScores, RougeType, rouge_l, rouge_lsum, rouge_n,
    rouge_tokenize,
};
pub use signature::{NRefs, ResamplingInfo, SACREBLEU_VERSION};
