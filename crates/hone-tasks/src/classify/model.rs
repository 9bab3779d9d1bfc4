//! The classifier: a BERT encoder, a pooled sentence vector (mean over real
//! tokens, or the first token through the encoder's pooler) and a linear
//! head. Saved as a Hugging Face–style folder: `model.safetensors` (encoder
//! under `bert.`, head as `classifier.weight/bias`), `config.json`,
//! `tokenizer.json` and `hone_classifier.json` (labels, pooling, length).
//!
//! A long text read as several windows is classified either by the mean of
//! the windows' probabilities, or by the head over the mean of the windows'
//! pooled vectors ([`WindowPooling::Features`]: the text is one example,
//! whose vector is made of all its windows, in training as at inference).

use std::path::Path;

use burn::module::Param;
use burn::nn::{Dropout, DropoutConfig, Linear, LinearConfig};
use burn::prelude::*;
use hone_data::tokenize::{TextTokenizer, Truncation};
use hone_data::view::TextView;
use hone_model::bert::{BertInput, linear_tensors};
use hone_model::pooling::mean_pool;
use hone_model::{BertConfig, BertModel, Checkpoint};
use serde::{Deserialize, Serialize};

use crate::{Result, TaskError};

/// How the encoder's output becomes one vector per text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Pooling {
    /// Mean over real tokens (what MiniLM's sentence embeddings use).
    #[default]
    Mean,
    /// The first token ([CLS]) through the encoder's tanh pooler when it has one.
    Cls,
}

impl std::str::FromStr for Pooling {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "mean" => Ok(Self::Mean),
            "cls" => Ok(Self::Cls),
            o => Err(format!("unknown pooling {o:?} (expected mean or cls)")),
        }
    }
}

/// How the windows of a long text become one prediction.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum WindowPooling {
    /// The mean of the windows' class probabilities (each window is
    /// classified on its own).
    #[default]
    Probabilities,
    /// The head over the mean of the windows' pooled vectors: one vector per
    /// text, as a linear probe on window-averaged features reads it.
    Features,
}

impl std::str::FromStr for WindowPooling {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "probabilities" => Ok(Self::Probabilities),
            "features" => Ok(Self::Features),
            o => Err(format!(
                "unknown window pooling {o:?} (expected probabilities or features)"
            )),
        }
    }
}

/// What `hone_classifier.json` holds besides the weights.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ClassifierInfo {
    pub labels: Vec<String>,
    pub pooling: Pooling,
    pub max_len: usize,
    #[serde(default)]
    pub truncation: Truncation,
    /// What part of each text the model reads (e-mails: subject, sender, body).
    #[serde(default)]
    pub text_view: TextView,
    /// Windows a long text is read as at inference (1: one truncated piece;
    /// see `hone_data::windows`).
    #[serde(default = "one_window")]
    pub windows: usize,
    /// How those windows' outputs are combined (folders written before it
    /// existed average probabilities).
    #[serde(default)]
    pub window_pooling: WindowPooling,
    /// The model folder or name it was fine-tuned from.
    pub base_model: String,
}

pub const INFO_FILE: &str = "hone_classifier.json";

impl ClassifierInfo {
    /// The tokenizer of the classifier folder `dir`, reading texts as the
    /// classifier was trained to (length, truncation, text view, windows).
    pub fn tokenizer(&self, dir: &Path) -> Result<TextTokenizer> {
        Ok(
            TextTokenizer::from_file(&dir.join("tokenizer.json"), self.max_len)?
                .with_truncation(self.truncation)
                .with_view(self.text_view)
                .with_windows(self.windows),
        )
    }
}

/// Folders written before windows existed read one piece per text.
fn one_window() -> usize {
    1
}

/// Reads `hone_classifier.json` from a classifier folder (f32 or quantized).
pub fn read_info(dir: &Path) -> Result<ClassifierInfo> {
    let info_path = dir.join(INFO_FILE);
    let text = std::fs::read_to_string(&info_path).map_err(|e| TaskError::BadModelDir {
        path: dir.into(),
        detail: format!("not a fine-tuned classifier ({INFO_FILE}: {e})"),
    })?;
    serde_json::from_str(&text).map_err(|e| TaskError::BadModelDir {
        path: info_path,
        detail: e.to_string(),
    })
}

/// What [`TextClassifier::forward_layers`] returns.
pub struct LayerOutputs<B: Backend> {
    pub logits: Tensor<B, 2>,
    /// `[batch, seq, hidden]` per layer.
    pub layers: Vec<Tensor<B, 3>>,
    /// `[batch, heads, seq, seq]` per layer, when asked for.
    pub attention: Vec<Tensor<B, 4>>,
}

#[derive(Module, Debug)]
pub struct TextClassifier<B: Backend> {
    pub encoder: BertModel<B>,
    pub dropout: Dropout,
    pub head: Linear<B>,
    /// true: mean pooling; false: first token.
    pub mean_pool: bool,
    /// true: a text read as several windows is classified by the head over
    /// the mean of their pooled vectors ([`WindowPooling::Features`]).
    pub pool_windows: bool,
    /// A trainable map from this encoder's hidden width to a wider model's,
    /// for training objectives that compare hidden states with it
    /// (distillation into a narrower student). Not part of the classifier:
    /// never saved, absent when loaded.
    pub hidden_projection: Option<Linear<B>>,
}

impl<B: Backend> TextClassifier<B> {
    /// A new head (seed the backend first for a reproducible init) on `encoder`.
    pub fn new(encoder: BertModel<B>, classes: usize, pooling: Pooling, dropout: f64) -> Self {
        let hidden = encoder.embeddings.word.weight.dims()[1];
        let device = encoder.embeddings.word.weight.device();
        Self {
            encoder,
            dropout: DropoutConfig::new(dropout).init(),
            head: LinearConfig::new(hidden, classes).init(&device),
            mean_pool: pooling == Pooling::Mean,
            pool_windows: false,
            hidden_projection: None,
        }
    }

    /// The same model combining a long text's windows as `pooling` says.
    pub fn with_window_pooling(mut self, pooling: WindowPooling) -> Self {
        self.pool_windows = pooling == WindowPooling::Features;
        self
    }

    /// How this model combines a long text's windows.
    pub fn window_pooling(&self) -> WindowPooling {
        if self.pool_windows {
            WindowPooling::Features
        } else {
            WindowPooling::Probabilities
        }
    }

    /// Logits `[batch, classes]`.
    pub fn forward(&self, input: &BertInput<B>) -> Tensor<B, 2> {
        self.logits(self.encoder.forward(input), input)
    }

    /// The encoder's last hidden state from `hidden`, the output of its
    /// first `first_layer` layers for `input` (a cache of a frozen bottom's
    /// activations): only the layers above run. Through [`Self::logits`],
    /// equal to [`Self::forward`] on `input`.
    pub fn hidden_from(
        &self,
        first_layer: usize,
        hidden: Tensor<B, 3>,
        input: &BertInput<B>,
    ) -> Tensor<B, 3> {
        self.encoder
            .forward_from(first_layer, hidden, &input.key_padding)
    }

    /// Logits, the output of every encoder layer and, with `attention`,
    /// every layer's attention probabilities (for distillation).
    pub fn forward_layers(&self, input: &BertInput<B>, attention: bool) -> LayerOutputs<B> {
        let (layers, attention) = self.encoder.forward_layers(input, attention);
        let last = layers.last().expect("an encoder has layers").clone();
        LayerOutputs {
            logits: self.logits(last, input),
            layers,
            attention,
        }
    }

    /// The head over the encoder's last hidden state.
    pub fn logits(&self, hidden: Tensor<B, 3>, input: &BertInput<B>) -> Tensor<B, 2> {
        self.head_logits(self.pool(hidden, input))
    }

    /// The head (after its dropout) over pooled vectors `[rows, hidden]`.
    pub fn head_logits(&self, pooled: Tensor<B, 2>) -> Tensor<B, 2> {
        self.head.forward(self.dropout.forward(pooled))
    }

    /// The pooled vector `[batch, hidden]` the head reads.
    pub fn pooled(&self, input: &BertInput<B>) -> Tensor<B, 2> {
        self.pool(self.encoder.forward(input), input)
    }

    /// The pooled vector `[batch, hidden]` of the encoder's last hidden state.
    pub fn pool(&self, hidden: Tensor<B, 3>, input: &BertInput<B>) -> Tensor<B, 2> {
        if self.mean_pool {
            mean_pool(hidden, input.attention_mask.clone())
        } else {
            match self.encoder.pool_first_token(hidden.clone()) {
                Some(p) => p,
                None => {
                    let [b, _, h] = hidden.dims();
                    hidden.slice([0..b, 0..1, 0..h]).reshape([b, h])
                }
            }
        }
    }

    /// Replaces the head by `weight` (`[hidden][classes]`, row-major) and
    /// `bias` (`[classes]`).
    pub fn set_head(&mut self, weight: Vec<f32>, bias: Vec<f32>) -> Result<()> {
        let [h, c] = self.head.weight.dims();
        if weight.len() != h * c || bias.len() != c {
            return Err(TaskError::Config(format!(
                "a head of {} weights and {} biases for {h} features × {c} classes",
                weight.len(),
                bias.len()
            )));
        }
        let device = self.head.weight.device();
        self.head = Linear {
            weight: Param::from_tensor(Tensor::from_data(TensorData::new(weight, [h, c]), &device)),
            bias: Some(Param::from_tensor(Tensor::from_data(
                TensorData::new(bias, [c]),
                &device,
            ))),
        };
        Ok(())
    }

    /// Hidden states `[batch, seq, hidden]` mapped through
    /// [`Self::hidden_projection`] when there is one.
    pub fn project_hidden(&self, hidden: Tensor<B, 3>) -> Tensor<B, 3> {
        match &self.hidden_projection {
            Some(p) => p.forward(hidden),
            None => hidden,
        }
    }

    pub fn classes(&self) -> usize {
        self.head.weight.dims()[1]
    }

    /// Width of the pooled vector the head reads.
    pub fn feature_width(&self) -> usize {
        self.head.weight.dims()[0]
    }

    /// Writes `model.safetensors` into `dir` (the caller copies the base
    /// model's `config.json` and `tokenizer.json` beside it).
    pub fn save_weights(&self, dir: &Path) -> Result<()> {
        let mut tensors = self.encoder.named_tensors("bert.");
        linear_tensors("classifier", &self.head, &mut tensors);
        Ok(hone_model::write_safetensors(
            &dir.join("model.safetensors"),
            &tensors,
        )?)
    }

    /// Loads a folder written by [`Self::save_weights`] plus its info file.
    pub fn load(dir: &Path, device: &B::Device) -> Result<(Self, BertConfig, ClassifierInfo)> {
        let info = read_info(dir)?;
        let (encoder, config) = BertModel::<B>::from_dir(dir, device)?;
        let ckpt = Checkpoint::open(&dir.join("model.safetensors"))?;
        let (h, c) = (config.hidden_size, info.labels.len());
        let reason = format!("{INFO_FILE} labels × hidden_size");
        let w = ckpt.head_tensor_f32("classifier.weight", &[c, h], &reason)?;
        let b = ckpt.head_tensor_f32("classifier.bias", &[c], &reason)?;
        let mut wt = vec![0f32; w.len()];
        for o in 0..c {
            for i in 0..h {
                wt[i * c + o] = w[o * h + i];
            }
        }
        let head = Linear {
            weight: Param::from_tensor(Tensor::from_data(TensorData::new(wt, [h, c]), device)),
            bias: Some(Param::from_tensor(Tensor::from_data(
                TensorData::new(b, [c]),
                device,
            ))),
        };
        let model = Self {
            encoder,
            dropout: DropoutConfig::new(0.0).init(),
            head,
            mean_pool: info.pooling == Pooling::Mean,
            pool_windows: info.window_pooling == WindowPooling::Features,
            hidden_projection: None,
        };
        Ok((model, config, info))
    }
}
