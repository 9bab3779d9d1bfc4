//! Text classification: a head on a pretrained encoder's pooled output
//! ([`model`]), data checks and class weights ([`data`]), the training task
//! ([`task`]), inference and metrics ([`predict`]), a linear-probe head
//! ([`probe`], fitted by [`softmax_regression`] on features [`probe_cache`]
//! keeps between runs), a cache of the frozen bottom's activations
//! ([`frozen_prefix`]), the end-to-end
//! fine-tuning recipe ([`recipe`]) and weight-averaged model soups
//! ([`soup`]).

pub mod data;
pub mod frozen_prefix;
pub mod model;
pub mod predict;
pub mod probe;
pub mod probe_cache;
pub mod recipe;
pub mod softmax_regression;
pub mod soup;
pub mod task;

pub use data::{ClassWeights, ClassifyData};
pub use frozen_prefix::{FrozenPrefix, predict_proba_from_prefix};
pub use model::{
    ClassifierInfo, INFO_FILE, LayerOutputs, Pooling, TextClassifier, WindowPooling, read_info,
};
pub use predict::{
    Evaluation, argmax, evaluate, pooled_features, pooled_features_of_pieces, predict_logits,
    predict_proba, softmax_in_place,
};
pub use probe::{HeadInit, ProbeReport, fit_probe_head};
pub use recipe::{
    AutoBatch, ClassifierTask, FinetuneConfig, FinetuneJob, FinetuneMetrics, PROBE_FILE, RecipeRun,
    classify_task, finetune, initial_model, prepare, train_and_save,
};
pub use soup::{GreedyStep, IngredientScores, SoupJob, SoupMetrics, SoupRecipe, make_soup};
pub use task::{Batching, ClassifyTask, TrainWindows};
