//! Classification as a [`TrainTask`]: length-bucketed, seeded batches of
//! the training split with on-the-fly augmentation (and, when the tokenizer
//! reads windows, a seeded window of each long text per epoch, or every
//! window of it as its own training example, or every window of it pooled
//! into the text's one vector), cross-entropy with class
//! weights and label smoothing (burn's `CrossEntropyLoss`), and validation
//! accuracy / macro-F1. With a [`FrozenPrefix`] a batch also carries the
//! frozen bottom's cached activations and the loss runs only the layers
//! above them.

use burn::module::AutodiffModule;
use burn::nn::loss::{CrossEntropyLoss, CrossEntropyLossConfig};
use burn::prelude::*;
use burn::tensor::backend::AutodiffBackend;
use hone_data::augment::Augmenter;
use hone_data::batching::{bucketed_batches, shuffled_batches};
use hone_data::tokenize::{EncodedBatch, TextTokenizer};
use hone_data::windows::Pieces;
use hone_model::{BertInput, InputLimits};
use hone_train::{Metrics, TrainError, TrainTask};

use super::data::ClassifyData;
use super::frozen_prefix::{FrozenPrefix, predict_proba_from_prefix};
use super::model::TextClassifier;
use super::predict::{encoded_input, evaluate, score_probabilities};

/// How training examples are grouped into batches and padded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Batching {
    /// Similar lengths together (pools of 50 batches), padded per batch.
    #[default]
    Bucketed,
    /// Random batches, padded to their longest text.
    Random,
    /// Random batches, every text padded to the maximum length (the baseline
    /// bucketing is measured against).
    PadToMax,
}

impl std::str::FromStr for Batching {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "bucketed" => Ok(Self::Bucketed),
            "random" => Ok(Self::Random),
            "pad-to-max" => Ok(Self::PadToMax),
            o => Err(format!(
                "unknown batching {o:?} (expected bucketed, random or pad-to-max)"
            )),
        }
    }
}

/// One training batch on the device.
pub struct ClassifyBatch<B: Backend> {
    pub input: BertInput<B>,
    pub targets: Tensor<B, 1, Int>,
    pub tokens: usize,
    /// The output of the encoder's frozen bottom for `input`, when the task
    /// caches it: the loss starts from it above the frozen layers.
    pub frozen: Option<FrozenHidden<B>>,
    /// When the windows of a text are pooled into one example: the
    /// averaging matrix `[texts, pieces]` from the rows of `input` (every
    /// window of each text) to the batch's texts.
    pub groups: Option<Tensor<B, 2>>,
}

/// Cached activations of a batch after the encoder's first `layers` layers.
pub struct FrozenHidden<B: Backend> {
    pub layers: usize,
    pub hidden: Tensor<B, 3>,
}

/// What one training example of an epoch reads: a text of the training
/// split, and which of its windows when the tokenizer reads windows (`None`:
/// a seeded draw per epoch).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct TrainUnit {
    example: usize,
    window: Option<u64>,
}

/// How many windows of each long text an epoch of training reads, when the
/// tokenizer reads windows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum TrainWindows {
    /// One per epoch, drawn by the seed: an epoch costs what it does without
    /// windows, and successive epochs see other parts of a text.
    #[default]
    One,
    /// Every window, each a training example of its own with the text's
    /// label: an epoch reads every text whole (and costs as many times more
    /// as a text has windows).
    All,
}

impl std::str::FromStr for TrainWindows {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "one" => Ok(Self::One),
            "all" => Ok(Self::All),
            o => Err(format!(
                "unknown training windows {o:?} (expected one or all)"
            )),
        }
    }
}

/// The training side of classification.
pub struct ClassifyTask<'a, B: AutodiffBackend> {
    pub data: &'a ClassifyData,
    pub tokenizer: &'a TextTokenizer,
    pub augmenter: Option<Augmenter>,
    pub limits: InputLimits,
    pub loss: CrossEntropyLoss<B>,
    pub batch_size: usize,
    pub eval_batch_size: usize,
    pub seed: u64,
    pub batching: Batching,
    pub device: B::Device,
    /// The examples an epoch reads (one per training text unless every
    /// window is read), and their token lengths, which batching sorts by.
    units: Vec<TrainUnit>,
    train_lengths: Vec<usize>,
    frozen: Option<FrozenPrefix>,
    /// When every window of a text is read and pooled into the text's one
    /// example: each training text's window count.
    pooled_windows: Option<Vec<usize>>,
    /// The validation split's pieces and their frozen activations.
    frozen_validation: Option<(Pieces, FrozenPrefix)>,
}

impl<'a, B: AutodiffBackend> ClassifyTask<'a, B> {
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        data: &'a ClassifyData,
        tokenizer: &'a TextTokenizer,
        augmenter: Option<Augmenter>,
        limits: InputLimits,
        class_weights: Option<Vec<f32>>,
        label_smoothing: f32,
        batch_size: usize,
        seed: u64,
        device: &B::Device,
    ) -> crate::Result<Self> {
        let texts: Vec<&str> = data.train.iter().map(|e| e.text.as_str()).collect();
        let train_lengths = tokenizer.token_lengths(&texts)?;
        let loss = CrossEntropyLossConfig::new()
            .with_weights(class_weights)
            .with_smoothing((label_smoothing > 0.0).then_some(label_smoothing))
            .init(device);
        Ok(Self {
            data,
            tokenizer,
            augmenter,
            limits,
            loss,
            batch_size,
            eval_batch_size: 64,
            seed,
            batching: Batching::Bucketed,
            device: device.clone(),
            units: (0..train_lengths.len())
                .map(|example| TrainUnit {
                    example,
                    window: None,
                })
                .collect(),
            train_lengths,
            frozen: None,
            pooled_windows: None,
            frozen_validation: None,
        })
    }

    /// Reads the frozen bottom's activations from `prefix` (computed over
    /// this task's training texts) instead of running those layers every
    /// step. Augmentation changes a text every epoch, so it cannot be used
    /// with a cache.
    pub fn with_frozen_prefix(mut self, prefix: FrozenPrefix) -> crate::Result<Self> {
        if self.augmenter.is_some() {
            return Err(crate::TaskError::Config(
                "augmentation changes the texts every epoch, so their frozen activations cannot be cached (drop --cache-frozen or the augmentation)".into(),
            ));
        }
        if prefix.n_texts() != self.data.train.len() {
            return Err(crate::TaskError::Config(format!(
                "the frozen-activation cache covers {} texts but the training split has {}",
                prefix.n_texts(),
                self.data.train.len()
            )));
        }
        self.frozen = Some(prefix);
        Ok(self)
    }

    /// Validates from `prefix`, the frozen activations of `pieces` (the
    /// validation texts as the tokenizer reads them), running only the
    /// layers above them.
    pub fn with_frozen_validation(
        mut self,
        pieces: Pieces,
        prefix: FrozenPrefix,
    ) -> crate::Result<Self> {
        if pieces.n_texts() != self.data.validation.len() {
            return Err(crate::TaskError::Config(format!(
                "the frozen validation activations cover {} texts but the validation split has {}",
                pieces.n_texts(),
                self.data.validation.len()
            )));
        }
        self.frozen_validation = Some((pieces, prefix));
        Ok(self)
    }

    /// Makes every window of a long training text an example of its own
    /// ([`TrainWindows::All`]); texts that fit one window stay one example.
    /// Without windows in the tokenizer nothing changes.
    pub fn read_every_window(mut self) -> crate::Result<Self> {
        let texts: Vec<&str> = self.data.train.iter().map(|e| e.text.as_str()).collect();
        let counts = self.tokenizer.piece_counts(&texts)?;
        // Per text, so a second call expands from the texts again.
        let text_lengths = self.tokenizer.token_lengths(&texts)?;
        let mut units = Vec::with_capacity(counts.iter().sum());
        let mut lengths = Vec::with_capacity(units.capacity());
        for (example, &n) in counts.iter().enumerate() {
            if n == 1 {
                units.push(TrainUnit {
                    example,
                    window: None,
                });
                lengths.push(text_lengths[example]);
                continue;
            }
            for window in 0..n as u64 {
                units.push(TrainUnit {
                    example,
                    window: Some(window),
                });
                // A window of a long text fills the whole length.
                lengths.push(self.tokenizer.max_len());
            }
        }
        self.units = units;
        self.train_lengths = lengths;
        Ok(self)
    }

    /// Makes each training text one example read as all its windows, whose
    /// pooled vectors are averaged before the head (the training side of
    /// [`super::model::WindowPooling::Features`]). An epoch costs what
    /// [`Self::read_every_window`]'s does, but the loss is one per text.
    /// An augmented text is read as the original's number of windows
    /// (wrapping round when augmentation made it shorter).
    pub fn pool_every_window(mut self) -> crate::Result<Self> {
        let texts: Vec<&str> = self.data.train.iter().map(|e| e.text.as_str()).collect();
        let counts = self.tokenizer.piece_counts(&texts)?;
        let text_lengths = self.tokenizer.token_lengths(&texts)?;
        self.units = (0..counts.len())
            .map(|example| TrainUnit {
                example,
                window: None,
            })
            .collect();
        // Batching sorts by the tokens a text's windows hold together, so
        // texts of as many windows share a batch.
        self.train_lengths = counts
            .iter()
            .zip(&text_lengths)
            .map(|(&n, &len)| {
                if n > 1 {
                    n * self.tokenizer.max_len()
                } else {
                    len
                }
            })
            .collect();
        self.pooled_windows = Some(counts);
        Ok(self)
    }

    /// Token lengths of the examples an epoch reads (after truncation; one
    /// per training text unless every window is read).
    pub fn train_lengths(&self) -> &[usize] {
        &self.train_lengths
    }

    /// The training text each of `units` reads (what a cache of per-text
    /// values, such as a teacher's logits, is indexed by).
    pub fn unit_examples(&self, units: &[usize]) -> Vec<usize> {
        units.iter().map(|&u| self.units[u].example).collect()
    }
}

/// Pads every row of `enc` to `len` tokens (pad id 0, mask 0), as static
/// padding would.
fn pad_to(enc: EncodedBatch, len: usize) -> EncodedBatch {
    if enc.seq_len >= len {
        return enc;
    }
    let widen = |v: &[u32]| -> Vec<u32> {
        v.chunks(enc.seq_len)
            .flat_map(|row| {
                row.iter()
                    .copied()
                    .chain(std::iter::repeat_n(0, len - enc.seq_len))
            })
            .collect()
    };
    EncodedBatch {
        batch: enc.batch,
        seq_len: len,
        input_ids: widen(&enc.input_ids),
        attention_mask: widen(&enc.attention_mask),
        token_type_ids: widen(&enc.token_type_ids),
    }
}

/// Kept apart from the augmentation stream, so drawing windows does not
/// change which augmentations a text gets.
const WINDOW_STREAM: u64 = 0x57_494E_444F_5753;

/// A 64-bit mix of the run seed, epoch and example index (SplitMix64), so
/// each example's augmentation is fixed by its position, not by history.
fn example_seed(seed: u64, epoch: usize, index: usize) -> u64 {
    let mut z = seed ^ ((epoch as u64) << 40) ^ index as u64;
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

impl<B: AutodiffBackend> TrainTask<B> for ClassifyTask<'_, B> {
    type Model = TextClassifier<B>;
    type Batch = ClassifyBatch<B>;

    fn epoch_batches(&self, epoch: usize) -> Vec<Vec<usize>> {
        let seed = example_seed(self.seed, epoch, usize::MAX);
        match self.batching {
            Batching::Bucketed => bucketed_batches(&self.train_lengths, self.batch_size, seed),
            Batching::Random | Batching::PadToMax => {
                shuffled_batches(self.train_lengths.len(), self.batch_size, seed)
            }
        }
        .expect("batch size validated by the trainer")
    }

    fn batch(
        &self,
        indices: &[usize],
        epoch: usize,
        device: &B::Device,
    ) -> hone_train::Result<Self::Batch> {
        let units: Vec<TrainUnit> = match &self.pooled_windows {
            None => indices.iter().map(|&u| self.units[u]).collect(),
            Some(counts) => indices
                .iter()
                .flat_map(|&u| {
                    let example = self.units[u].example;
                    (0..counts[example] as u64).map(move |w| TrainUnit {
                        example,
                        window: Some(w),
                    })
                })
                .collect(),
        };
        let texts: Vec<String> = units
            .iter()
            .map(|&TrainUnit { example: i, .. }| {
                let text = &self.data.train[i].text;
                match &self.augmenter {
                    Some(a) => a.augment(text, example_seed(self.seed, epoch, i)),
                    None => text.clone(),
                }
            })
            .collect();
        let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
        let task_err = |e: String| TrainError::Task(e);
        // With windows, each epoch reads another (seeded) window of a long
        // text, or the window its unit names.
        let picks: Vec<u64> = units
            .iter()
            .map(|u| {
                u.window
                    .unwrap_or_else(|| example_seed(self.seed ^ WINDOW_STREAM, epoch, u.example))
            })
            .collect();
        let mut enc = self
            .tokenizer
            .encode_batch_windows(&refs, &picks)
            .map_err(|e| task_err(e.to_string()))?;
        if self.batching == Batching::PadToMax {
            enc = pad_to(enc, self.tokenizer.max_len());
        }
        let input =
            encoded_input(&self.limits, &enc, device).map_err(|e| task_err(e.to_string()))?;
        // One label per example: per text when windows are pooled.
        let labels: Vec<i64> = indices
            .iter()
            .map(|&u| self.data.train[self.units[u].example].label as i64)
            .collect();
        let groups = self.pooled_windows.as_ref().map(|counts| {
            let (texts, rows) = (indices.len(), units.len());
            let mut weights = vec![0f32; texts * rows];
            let mut row = 0;
            for (text, &u) in indices.iter().enumerate() {
                let n = counts[self.units[u].example];
                for r in row..row + n {
                    weights[text * rows + r] = 1.0 / n as f32;
                }
                row += n;
            }
            Tensor::from_data(TensorData::new(weights, [texts, rows]), device)
        });
        let frozen = match &self.frozen {
            Some(prefix) => {
                let examples: Vec<usize> = units.iter().map(|u| u.example).collect();
                Some(FrozenHidden {
                    layers: prefix.layers,
                    hidden: prefix
                        .batch(&examples, &picks, &enc, device)
                        .map_err(task_err)?,
                })
            }
            None => None,
        };
        Ok(ClassifyBatch {
            input,
            targets: Tensor::from_data(TensorData::new(labels, [indices.len()]), device),
            tokens: enc.attention_mask.iter().filter(|&&m| m != 0).count(),
            frozen,
            groups,
        })
    }

    fn tokens(&self, batch: &Self::Batch) -> usize {
        batch.tokens
    }

    fn loss(&self, model: &Self::Model, batch: Self::Batch) -> Tensor<B, 1> {
        let last = match batch.frozen {
            Some(FrozenHidden { layers, hidden }) => {
                // In the compute precision of the (possibly cast) model.
                let hidden = hidden.cast(model.head.weight.val().dtype());
                model.hidden_from(layers, hidden, &batch.input)
            }
            None => model.encoder.forward(&batch.input),
        };
        let logits = match batch.groups {
            Some(groups) => {
                let pooled = model.pool(last, &batch.input);
                model.head_logits(groups.cast(pooled.dtype()).matmul(pooled))
            }
            None => model.logits(last, &batch.input),
        };
        // The loss is computed in f32 whatever the compute precision.
        let logits = logits.cast(burn::tensor::DType::F32);
        self.loss.forward(logits, batch.targets)
    }

    fn validate(
        &self,
        model: &<Self::Model as AutodiffModule<B>>::InnerModule,
    ) -> hone_train::Result<Metrics> {
        let split = &self.data.validation;
        let scored = match &self.frozen_validation {
            Some((pieces, prefix)) => {
                predict_proba_from_prefix(model, pieces, prefix, self.eval_batch_size, &self.device)
                    .and_then(|probs| score_probabilities(&probs, split, &self.data.labels))
            }
            None => evaluate(
                model,
                self.tokenizer,
                split,
                &self.data.labels,
                self.eval_batch_size,
                &self.device,
            ),
        }
        .map_err(|e| TrainError::Task(e.to_string()))?;
        Ok(Metrics::from([
            ("accuracy".to_string(), scored.report.accuracy),
            ("macro_f1".to_string(), scored.report.macro_avg.f1),
            ("log_loss".to_string(), scored.log_loss),
        ]))
    }

    fn primary_metric(&self) -> &str {
        "accuracy"
    }

    fn tie_break_metric(&self) -> Option<&str> {
        Some("log_loss")
    }

    fn longest(&self, n: usize) -> Vec<usize> {
        let mut order: Vec<usize> = (0..self.train_lengths.len()).collect();
        order.sort_by_key(|&i| std::cmp::Reverse(self.train_lengths[i]));
        order.truncate(n);
        order
    }
}
