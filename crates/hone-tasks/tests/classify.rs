//! Classification on a tiny randomly initialised BERT with MiniLM's real
//! tokenizer: the training loop drives a tiny data set to zero error
//! (overfitting proves that loss, gradients, optimizer and batching are
//! wired together), the class-weighted, label-smoothed loss equals its
//! closed form computed by hand from the logits, and a linear-probe head
//! predicts what the probe fitted (its features cached by exactly what they
//! depend on).

use burn::backend::{Autodiff, NdArray};
use burn::module::{AutodiffModule, ModuleVisitor, Param};
use burn::prelude::*;
use hone_data::assets::{Cache, FetchOptions, resolve_model_dir};
use hone_data::augment::{AugmentConfig, Augmenter};
use hone_data::datasets::Example;
use hone_data::tokenize::TextTokenizer;
use hone_model::{BertConfig, BertModel};
use hone_tasks::classify::{
    ClassifyData, ClassifyTask, FrozenPrefix, Pooling, TextClassifier, WindowPooling, evaluate,
    fit_probe_head, pooled_features, predict_logits, predict_proba, predict_proba_from_prefix,
};
use hone_train::{OptimConfig, RunOptions, TrainConfig, TrainTask};

type B = Autodiff<NdArray>;

fn tokenizer() -> TextTokenizer {
    tokenizer_of_length(24)
}

fn tokenizer_of_length(max_len: usize) -> TextTokenizer {
    let dir = resolve_model_dir(
        "minilm-l6",
        &Cache::from_env().unwrap(),
        &FetchOptions::default(),
    )
    .expect("MiniLM is fetched by `cargo xtask fetch` / .ci/run");
    TextTokenizer::from_file(&dir.join("tokenizer.json"), max_len).unwrap()
}

fn tiny_config() -> BertConfig {
    serde_json::from_str(
        r#"{"vocab_size":30522,"hidden_size":32,"num_hidden_layers":2,"num_attention_heads":2,
            "intermediate_size":64,"max_position_embeddings":64,"type_vocab_size":2,
            "hidden_act":"gelu","hidden_dropout_prob":0.0}"#,
    )
    .unwrap()
}

/// Three labels told apart by their words.
fn tiny_data() -> ClassifyData {
    let words = [
        ["wonderful", "great", "superb", "delightful"],
        ["awful", "boring", "terrible", "dull"],
        ["budget", "market", "shares", "economy"],
    ];
    let mut examples = Vec::new();
    for (label, ws) in words.iter().enumerate() {
        for (i, a) in ws.iter().enumerate() {
            for b in ws.iter().skip(i) {
                examples.push(Example {
                    text: format!("the film was {a} and {b}"),
                    label,
                });
            }
        }
    }
    ClassifyData {
        name: "tiny".into(),
        labels: vec!["pos".into(), "neg".into(), "biz".into()],
        train: examples.clone(),
        validation: examples.clone(),
        test: examples,
    }
}

#[test]
fn a_tiny_model_overfits_a_tiny_data_set() {
    let device = Default::default();
    B::seed(&device, 3);
    let tokenizer = tokenizer();
    let data = tiny_data();
    let encoder = BertModel::<B>::init(&tiny_config(), false, &device).unwrap();
    let limits = encoder.limits();
    let model = TextClassifier::new(encoder, 3, Pooling::Mean, 0.0);
    let task =
        ClassifyTask::<B>::new(&data, &tokenizer, None, limits, None, 0.0, 8, 1, &device).unwrap();
    let config = TrainConfig {
        epochs: 40,
        batch_size: 8,
        optim: OptimConfig {
            lr: 3e-3,
            ..OptimConfig::default()
        },
        seed: 1,
        ..TrainConfig::default()
    };
    let run = tempfile::tempdir().unwrap();
    let outcome = hone_train::train::<B, _>(
        &task,
        model,
        &config,
        run.path(),
        &RunOptions::default(),
        &device,
    )
    .unwrap();
    let report = evaluate(
        &outcome.model,
        &tokenizer,
        &data.train,
        &data.labels,
        16,
        &device,
    )
    .unwrap()
    .report;
    assert_eq!(report.accuracy, 1.0, "training accuracy after overfitting");
    let log = hone_train::log::read_log(&outcome.log_path).unwrap();
    let losses: Vec<f64> = log
        .iter()
        .filter_map(|e| match e {
            hone_train::log::LogEntry::Train { loss, .. } => Some(*loss),
            _ => None,
        })
        .collect();
    assert!(losses[0] > 0.9, "starts near ln 3: {}", losses[0]);
    assert!(
        *losses.last().unwrap() < 0.05,
        "ends near 0: {:?}",
        &losses[losses.len() - 5..]
    );
    assert!(run.path().join("curves.svg").is_file());

    // Early stopping: two validations without a higher accuracy end the run
    // (here the first three validations all score 1 of 3 while the loss
    // falls). Among the validations at the best accuracy the one with the
    // lowest validation log loss is kept — here the last, where keeping the
    // first best would return step 2 — and that model is returned.
    B::seed(&device, 3);
    let encoder = BertModel::<B>::init(&tiny_config(), false, &device).unwrap();
    let model = TextClassifier::new(encoder, 3, Pooling::Mean, 0.0);
    let config = TrainConfig {
        eval_every: Some(2),
        patience: Some(2),
        ..config
    };
    let run = tempfile::tempdir().unwrap();
    let outcome = hone_train::train::<B, _>(
        &task,
        model,
        &config,
        run.path(),
        &RunOptions::default(),
        &device,
    )
    .unwrap();
    let s = &outcome.state;
    assert!(s.stopped_early, "stopped early");
    assert!(s.step < 40 * 4, "before the last epoch: {}", s.step);
    let evals: Vec<(usize, f64, f64)> = hone_train::log::read_log(&outcome.log_path)
        .unwrap()
        .into_iter()
        .filter_map(|e| match e {
            hone_train::log::LogEntry::Eval { step, metrics, .. } => {
                Some((step, metrics["accuracy"], metrics["log_loss"]))
            }
            _ => None,
        })
        .collect();
    let top = evals.iter().map(|e| e.1).fold(f64::MIN, f64::max);
    let first_top = evals.iter().find(|e| e.1 == top).unwrap().0;
    assert_eq!(
        first_top + 4,
        s.step,
        "two evaluations (4 steps) after the accuracy peaked: {evals:?}"
    );
    let (winner, _, winner_loss) = evals
        .iter()
        .filter(|e| e.1 == top)
        .copied()
        .min_by(|a, b| a.2.total_cmp(&b.2))
        .unwrap();
    assert_eq!(
        s.best_step,
        Some(winner),
        "ties go to the lowest loss: {evals:?}"
    );
    // Scored as the in-training validation scored it (same batches, so the
    // same padding and summation order): a near-tie example could otherwise
    // flip on a CPU with other SIMD widths.
    let scored = evaluate(
        &outcome.model,
        &tokenizer,
        &data.validation,
        &data.labels,
        task.eval_batch_size,
        &device,
    )
    .unwrap();
    assert_eq!(
        scored.report.accuracy,
        s.best_metric.unwrap(),
        "the best model is returned"
    );
    assert!(
        (scored.log_loss - winner_loss).abs() < 1e-4,
        "the tie's winner is returned: {} vs {winner_loss}",
        scored.log_loss
    );
}

#[test]
fn a_probe_head_is_fitted_to_the_frozen_features_and_put_in_place() {
    let device = Default::default();
    B::seed(&device, 5);
    let tokenizer = tokenizer();
    let data = tiny_data();
    let encoder = BertModel::<B>::init(&tiny_config(), false, &device).unwrap();
    let mut model = TextClassifier::new(encoder, 3, Pooling::Mean, 0.1);
    let accuracy = |m: &TextClassifier<B>| {
        evaluate(
            &m.valid(),
            &tokenizer,
            &data.train,
            &data.labels,
            16,
            &device,
        )
        .unwrap()
        .report
        .accuracy
    };
    let random_head = accuracy(&model);
    let encoder_before = model.encoder.embeddings.word.weight.val().into_data();
    let report = fit_probe_head(&mut model, &tokenizer, &data, None, &device).unwrap();
    assert!(report.gradient < 1e-6, "the fit converged: {report:?}");
    assert!(
        report.train_accuracy > random_head && report.train_accuracy >= 0.9,
        "a random 32-wide encoder still separates 3 word lists: {report:?} vs random head {random_head}"
    );
    // The probe scored its f64 fit on the features; the head in place runs
    // in f32 through burn. An example within float noise of a tie between two
    // classes may go either way, so they may differ by one example, no more.
    let in_place = accuracy(&model);
    assert!(
        (in_place - report.train_accuracy).abs() * data.train.len() as f64 <= 1.0 + 1e-9,
        "the head in place predicts as the probe did: {in_place} vs {}",
        report.train_accuracy
    );
    assert_eq!(
        model.encoder.embeddings.word.weight.val().into_data(),
        encoder_before,
        "the encoder is untouched"
    );
}

/// `model` with every parameter drawn now: burn initializes parameters
/// lazily, at first use, and a clone of a parameter not yet drawn draws its
/// own values — two clones of one fresh encoder would be two encoders.
fn initialized<M: Module<B>>(model: M) -> M {
    struct Draw;
    impl ModuleVisitor<B> for Draw {
        fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<B, D>>) {
            let _ = param.val();
        }
    }
    model.visit(&mut Draw);
    model
}

#[test]
fn probe_features_are_cached_by_exactly_what_they_depend_on() {
    let device = Default::default();
    let cache = tempfile::tempdir().unwrap();
    let cache = Some(cache.path());
    let tokenizer = tokenizer();
    let data = tiny_data();
    B::seed(&device, 5);
    let encoder = initialized(BertModel::<B>::init(&tiny_config(), false, &device).unwrap());
    let with_head = |seed, pooling| {
        B::seed(&device, seed);
        TextClassifier::new(encoder.clone(), 3, pooling, 0.1)
    };
    let head = |m: &TextClassifier<B>| m.head.weight.val().into_data();
    let fit = |model: &mut TextClassifier<B>, data: &ClassifyData, cache| {
        fit_probe_head(model, &tokenizer, data, cache, &device).unwrap()
    };
    let files = || std::fs::read_dir(cache.unwrap()).unwrap().count();

    let mut computed = with_head(1, Pooling::Mean);
    let plain = fit(&mut computed, &data, None);
    let mut first = with_head(1, Pooling::Mean);
    assert!(!fit(&mut first, &data, cache).features_from_cache);
    assert_eq!(files(), 1);
    // Another seed starts from another random head; the features are the
    // same, so they are read back and give the head computing them gives.
    let mut second = with_head(2, Pooling::Mean);
    assert_ne!(head(&second), head(&with_head(1, Pooling::Mean)));
    let hit = fit(&mut second, &data, cache);
    assert!(hit.features_from_cache, "{hit:?}");
    assert_eq!(head(&second), head(&computed));
    assert_eq!(
        (hit.iterations, hit.train_accuracy),
        (plain.iterations, plain.train_accuracy)
    );

    // Other pooling, other texts or other encoder weights: computed anew.
    let mut cls = with_head(1, Pooling::Cls);
    assert!(!fit(&mut cls, &data, cache).features_from_cache);
    let mut fewer = data.clone();
    fewer.train.pop();
    assert!(!fit(&mut with_head(1, Pooling::Mean), &fewer, cache).features_from_cache);
    B::seed(&device, 6);
    let other = initialized(BertModel::<B>::init(&tiny_config(), false, &device).unwrap());
    let mut other = TextClassifier::new(other, 3, Pooling::Mean, 0.1);
    assert!(!fit(&mut other, &data, cache).features_from_cache);
    assert_eq!(files(), 4);

    // A damaged file is not trusted: recomputed and written whole again.
    let entries: Vec<_> = std::fs::read_dir(cache.unwrap())
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    for path in &entries {
        let bytes = std::fs::read(path).unwrap();
        std::fs::write(path, &bytes[..bytes.len() / 2]).unwrap();
    }
    let mut again = with_head(3, Pooling::Mean);
    assert!(!fit(&mut again, &data, cache).features_from_cache);
    assert_eq!(head(&again), head(&computed));
    assert!(fit(&mut with_head(4, Pooling::Mean), &data, cache).features_from_cache);

    // A cache that cannot be written (its folder is a file) costs the time
    // it would have saved, and says why; the fit goes on.
    let blocked = tempfile::NamedTempFile::new().unwrap();
    let mut unblocked = with_head(5, Pooling::Mean);
    let report = fit_probe_head(
        &mut unblocked,
        &tokenizer,
        &data,
        Some(blocked.path()),
        &device,
    )
    .unwrap();
    assert!(!report.features_from_cache);
    assert!(report.cache_error.is_some(), "{report:?}");
    assert_eq!(head(&unblocked), head(&computed));
}

#[test]
fn every_window_of_a_long_text_is_a_training_example_of_its_own() {
    let device = Default::default();
    let tokenizer = tokenizer().with_windows(4);
    let long = "the film was wonderful and the cast was superb ".repeat(6);
    let example = |text: &str, label| Example {
        text: text.into(),
        label,
    };
    let split = vec![example(&long, 0), example("dull", 1), example(&long, 1)];
    let data = ClassifyData {
        name: "windows".into(),
        labels: vec!["pos".into(), "neg".into()],
        train: split.clone(),
        validation: split.clone(),
        test: split,
    };
    let texts: Vec<&str> = data.train.iter().map(|e| e.text.as_str()).collect();
    let counts = tokenizer.piece_counts(&texts).unwrap();
    let n = counts[0];
    assert!(n > 1 && counts == [n, 1, n], "{counts:?}");
    let limits = BertModel::<B>::init(&tiny_config(), false, &device)
        .unwrap()
        .limits();
    let task =
        ClassifyTask::<B>::new(&data, &tokenizer, None, limits, None, 0.0, 4, 7, &device).unwrap();
    assert_eq!(task.train_lengths().len(), 3, "one example per text");
    let task = task.read_every_window().unwrap();
    let lengths = task.train_lengths().to_vec();
    let task = task.read_every_window().unwrap();
    assert_eq!(
        task.train_lengths(),
        lengths,
        "expanding twice is expanding once"
    );
    let units: Vec<usize> = (0..2 * n + 1).collect();
    assert_eq!(task.train_lengths().len(), units.len());
    let mut examples = vec![0; n];
    examples.push(1);
    examples.extend(vec![2; n]);
    assert_eq!(task.unit_examples(&units), examples);
    for epoch in 0..2 {
        let mut read = task.epoch_batches(epoch).concat();
        read.sort_unstable();
        assert_eq!(read, units, "epoch {epoch} reads every window once");
    }
    // The units read exactly the pieces validation scores, with their
    // text's label.
    let batch = task.batch(&units, 1, &device).unwrap();
    let pieces = tokenizer.encode_pieces(&texts).unwrap();
    let expected = pieces.batch(&units).unwrap();
    let ids = batch.input.input_ids.into_data().convert::<i64>();
    let expected_ids: Vec<i64> = expected.input_ids.iter().map(|&t| i64::from(t)).collect();
    assert_eq!(ids.to_vec::<i64>().unwrap(), expected_ids);
    let targets = batch.targets.into_data().convert::<i64>().to_vec::<i64>();
    let labels: Vec<i64> = examples
        .iter()
        .map(|&e| data.train[e].label as i64)
        .collect();
    assert_eq!(targets.unwrap(), labels);
}

/// Training from the frozen bottom's cached activations computes the loss
/// the full model computes (the tiny model has no dropout, so the frozen
/// layers' inference mode changes nothing), for every depth of the cache,
/// for a seeded window per epoch, for every window, and for every window
/// pooled into its text's one example, and validation from cached
/// activations scores what the full model scores (also when windows'
/// features are pooled); a cache computed from other inputs is refused, and
/// so is augmentation.
#[test]
fn cached_frozen_activations_give_the_losses_and_scores_of_the_full_model() {
    let device = Default::default();
    B::seed(&device, 21);
    let tokenizer = tokenizer().with_windows(3);
    let long =
        "the market was wonderful but the shares were dull and the economy superb ".repeat(4);
    let mut data = tiny_data();
    data.train[0].text = long.clone();
    data.train[5].text = format!("{long} awful");
    data.validation[2].text = format!("dull {long}");
    let texts: Vec<&str> = data.train.iter().map(|e| e.text.as_str()).collect();
    let counts = tokenizer.piece_counts(&texts).unwrap();
    assert!(counts[0] > 1 && counts[5] > 1, "{counts:?}");
    let encoder = BertModel::<B>::init(&tiny_config(), false, &device).unwrap();
    let limits = encoder.limits();
    // Drawn before the clone below, which would otherwise draw its own.
    let model = initialized(TextClassifier::new(encoder, 3, Pooling::Mean, 0.0));
    let pieces = tokenizer.encode_pieces(&texts).unwrap();
    let new_task = || {
        ClassifyTask::<B>::new(&data, &tokenizer, None, limits, None, 0.0, 4, 5, &device).unwrap()
    };
    let pooled_model = model.clone().with_window_pooling(WindowPooling::Features);
    let loss_of = |task: &ClassifyTask<B>, model: &TextClassifier<B>, units: &[usize], epoch| {
        let batch = task.batch(units, epoch, &device).unwrap();
        task.loss(model, batch).into_scalar()
    };
    for layers in 0..=2 {
        for windows in ["one", "every", "pooled"] {
            let prefix =
                FrozenPrefix::compute(&model.valid(), layers, &pieces, 3, &device).unwrap();
            assert_eq!(prefix.layers, layers);
            let mut plain = new_task();
            let mut cached = new_task().with_frozen_prefix(prefix).unwrap();
            let mut trained = &model;
            if windows == "every" {
                plain = plain.read_every_window().unwrap();
                cached = cached.read_every_window().unwrap();
            } else if windows == "pooled" {
                plain = plain.pool_every_window().unwrap();
                cached = cached.pool_every_window().unwrap();
                trained = &pooled_model;
            }
            for epoch in 0..2 {
                for units in plain.epoch_batches(epoch) {
                    let batch = cached.batch(&units, epoch, &device).unwrap();
                    assert!(batch.frozen.is_some(), "the cached task reads the cache");
                    let (a, b) = (
                        loss_of(&plain, trained, &units, epoch),
                        loss_of(&cached, trained, &units, epoch),
                    );
                    assert!(
                        (a - b).abs() < 1e-5,
                        "{layers} cached layers, {windows} windows, epoch {epoch}, units {units:?}: {a} vs {b}"
                    );
                }
            }
        }
    }

    // Validation from the cache scores what the full model scores, whether
    // windows' probabilities or features are averaged.
    for trained in [&model, &pooled_model] {
        validation_from_the_cache_is_the_full_models(trained, &data, &tokenizer, &new_task);
    }
    let inner = model.valid();
    let val_texts: Vec<&str> = data.validation.iter().map(|e| e.text.as_str()).collect();

    // A cache of other pieces (shorter windows) is out of step with the
    // batches and fails loudly rather than training on the wrong rows.
    let short = tokenizer_of_length(16).with_windows(3);
    let other = FrozenPrefix::compute(
        &model.valid(),
        1,
        &short.encode_pieces(&texts).unwrap(),
        3,
        &device,
    )
    .unwrap();
    let task = new_task().with_frozen_prefix(other).unwrap();
    let err = task.batch(&[0, 1], 0, &device).err().unwrap().to_string();
    assert!(err.contains("frozen-activation cache"), "{err}");
    let val_pieces = tokenizer.encode_pieces(&val_texts).unwrap();
    let other = FrozenPrefix::compute(&inner, 1, &pieces, 4, &device).unwrap();
    let err = predict_proba_from_prefix(&inner, &val_pieces, &other, 4, &device)
        .err()
        .unwrap()
        .to_string();
    assert!(err.contains("frozen-activation cache"), "{err}");

    // Augmentation changes the texts every epoch: no cache.
    let config = AugmentConfig {
        word_dropout: 0.1,
        ..AugmentConfig::default()
    };
    let augmenter = Augmenter::new(config, None).unwrap();
    let augmented = ClassifyTask::<B>::new(
        &data,
        &tokenizer,
        Some(augmenter),
        limits,
        None,
        0.0,
        4,
        5,
        &device,
    )
    .unwrap();
    let prefix = FrozenPrefix::compute(&model.valid(), 1, &pieces, 3, &device).unwrap();
    let err = augmented
        .with_frozen_prefix(prefix)
        .err()
        .unwrap()
        .to_string();
    assert!(err.contains("augmentation"), "{err}");
}

/// Validation of `model` from the frozen bottom's cached activations of the
/// validation split, at every depth, gives the full model's probabilities
/// and metrics.
fn validation_from_the_cache_is_the_full_models<'a>(
    model: &TextClassifier<B>,
    data: &ClassifyData,
    tokenizer: &TextTokenizer,
    new_task: &dyn Fn() -> ClassifyTask<'a, B>,
) {
    let device = Default::default();
    let inner = model.valid();
    let val_texts: Vec<&str> = data.validation.iter().map(|e| e.text.as_str()).collect();
    let full = predict_proba(&inner, tokenizer, &val_texts, 4, &device).unwrap();
    for layers in 0..=2 {
        let val_pieces = tokenizer.encode_pieces(&val_texts).unwrap();
        assert!(val_pieces.len() > val_texts.len(), "a long validation text");
        let prefix = FrozenPrefix::compute(&inner, layers, &val_pieces, 4, &device).unwrap();
        let cached = predict_proba_from_prefix(&inner, &val_pieces, &prefix, 4, &device).unwrap();
        for (a, b) in full.iter().zip(&cached) {
            for (x, y) in a.iter().zip(b) {
                assert!((x - y).abs() < 1e-5, "{layers} layers: {a:?} vs {b:?}");
            }
        }
        let task = new_task()
            .with_frozen_validation(val_pieces, prefix)
            .unwrap();
        let (a, b) = (
            new_task().validate(&inner).unwrap(),
            task.validate(&inner).unwrap(),
        );
        assert_eq!(a["accuracy"], b["accuracy"]);
        assert!(
            (a["log_loss"] - b["log_loss"]).abs() < 1e-6,
            "{a:?} vs {b:?}"
        );
    }
}

/// A model that pools its windows' features classifies a long text by the
/// head over the mean of the windows' pooled vectors (not by the mean of
/// their probabilities), and its training task reads every window of a text
/// as the text's one example, whose loss is the cross-entropy of those
/// logits.
#[test]
fn pooled_window_features_classify_a_text_by_the_head_over_their_mean() {
    let device = Default::default();
    B::seed(&device, 8);
    let tokenizer = tokenizer().with_windows(3);
    let long =
        "the market was wonderful but the shares were dull and the economy superb ".repeat(4);
    let mut data = tiny_data();
    data.train[0].text = long.clone();
    data.train[7].text = format!("awful {long}");
    let texts: Vec<&str> = data.train.iter().map(|e| e.text.as_str()).collect();
    let counts = tokenizer.piece_counts(&texts).unwrap();
    assert!(counts[0] == 3 && counts[7] == 3, "{counts:?}");
    let encoder = BertModel::<B>::init(&tiny_config(), false, &device).unwrap();
    let limits = encoder.limits();
    let plain = initialized(TextClassifier::new(encoder, 3, Pooling::Mean, 0.0));
    let model = plain.clone().with_window_pooling(WindowPooling::Features);
    assert_eq!(model.window_pooling(), WindowPooling::Features);
    let inner = model.valid();

    // Logits: the head over the window-averaged pooled features.
    let features = pooled_features(&inner, &tokenizer, &texts, 4, &device).unwrap();
    let logits = predict_logits(&inner, &tokenizer, &texts, 4, &device).unwrap();
    let weight = inner.head.weight.val().into_data().to_vec::<f32>().unwrap();
    let bias = inner.head.bias.as_ref().unwrap().val().into_data();
    let bias = bias.to_vec::<f32>().unwrap();
    for (f, l) in features.iter().zip(&logits) {
        for (k, &got) in l.iter().enumerate() {
            let want: f32 = bias[k]
                + f.iter()
                    .enumerate()
                    .map(|(i, x)| x * weight[i * 3 + k])
                    .sum::<f32>();
            assert!((got - want).abs() < 1e-4, "class {k}: {got} vs {want}");
        }
    }
    let probs = predict_proba(&inner, &tokenizer, &texts, 4, &device).unwrap();
    let mut softmax = logits.clone();
    softmax
        .iter_mut()
        .for_each(|r| hone_tasks::classify::softmax_in_place(r));
    for (p, q) in probs.iter().zip(&softmax) {
        for (x, y) in p.iter().zip(q) {
            assert!((x - y).abs() < 1e-6, "{p:?} vs {q:?}");
        }
    }
    // The same weights averaging probabilities give another answer for a
    // long text, and the same for a one-window text.
    let averaged = predict_proba(&plain.valid(), &tokenizer, &texts, 4, &device).unwrap();
    let gap = |i: usize| -> f32 {
        probs[i]
            .iter()
            .zip(&averaged[i])
            .map(|(a, b)| (a - b).abs())
            .sum()
    };
    // (Small, as a random tiny model's windows are all read alike, but far
    // above rounding.)
    assert!(
        gap(0) > 1e-5,
        "pooling changes a long text: {:?} vs {:?}",
        probs[0],
        averaged[0]
    );
    assert!(gap(1) < 1e-6, "and not a short one");

    // Training: one example per text, every window of it read, one label.
    let task = ClassifyTask::<B>::new(&data, &tokenizer, None, limits, None, 0.0, 4, 5, &device)
        .unwrap()
        .pool_every_window()
        .unwrap();
    assert_eq!(task.train_lengths().len(), data.train.len());
    for epoch in 0..2 {
        let mut read = task.epoch_batches(epoch).concat();
        read.sort_unstable();
        assert_eq!(read, (0..data.train.len()).collect::<Vec<_>>());
    }
    let units = [0, 1, 7];
    let batch = task.batch(&units, 1, &device).unwrap();
    let pieces = tokenizer.encode_pieces(&texts).unwrap();
    let mut rows: Vec<usize> = (0..3).collect();
    rows.push(3);
    rows.extend(9..12);
    assert_eq!(pieces.owners()[9..12], [7, 7, 7], "text 7's windows");
    let expected = pieces.batch(&rows).unwrap();
    let ids = batch.input.input_ids.clone().into_data().convert::<i64>();
    let expected_ids: Vec<i64> = expected.input_ids.iter().map(|&t| i64::from(t)).collect();
    assert_eq!(ids.to_vec::<i64>().unwrap(), expected_ids);
    let targets = batch.targets.clone().into_data().convert::<i64>();
    let labels: Vec<i64> = units.iter().map(|&u| data.train[u].label as i64).collect();
    assert_eq!(targets.to_vec::<i64>().unwrap(), labels);
    let loss: f32 = task.loss(&model, batch).into_scalar();
    let want = units
        .iter()
        .map(|&u| {
            let p = &probs[u];
            -f64::from(p[data.train[u].label]).ln()
        })
        .sum::<f64>()
        / units.len() as f64;
    assert!((f64::from(loss) - want).abs() < 1e-5, "{loss} vs {want}");
}

#[test]
fn pooled_features_through_the_head_are_the_logits() {
    let device = Default::default();
    B::seed(&device, 9);
    let tokenizer = tokenizer();
    let encoder = BertModel::<B>::init(&tiny_config(), false, &device).unwrap();
    let model = TextClassifier::new(encoder, 3, Pooling::Mean, 0.1).valid();
    // Lengths differ, so the batches are sorted and padded: the rows must
    // still come back in input order.
    let texts = [
        "a superb and delightful film that was great from start to end",
        "dull",
        "the economy and the market",
    ];
    let features = pooled_features(&model, &tokenizer, &texts, 2, &device).unwrap();
    let logits = predict_logits(&model, &tokenizer, &texts, 2, &device).unwrap();
    let weight = model.head.weight.val().into_data().to_vec::<f32>().unwrap();
    let bias = model.head.bias.as_ref().unwrap().val().into_data();
    let bias = bias.to_vec::<f32>().unwrap();
    assert_eq!(features.len(), texts.len());
    assert_ne!(
        features[0], features[1],
        "different texts, different features"
    );
    for (f, l) in features.iter().zip(&logits) {
        assert_eq!(f.len(), 32, "one value per hidden unit");
        for c in 0..3 {
            let z: f32 = bias[c]
                + f.iter()
                    .enumerate()
                    .map(|(h, v)| v * weight[h * 3 + c])
                    .sum::<f32>();
            assert!((z - l[c]).abs() < 1e-4, "class {c}: {z} vs {}", l[c]);
        }
    }
}

/// Hand-computed cross-entropy as PyTorch's `cross_entropy(weight=w,
/// label_smoothing=ε)` defines it: Σ_i Σ_k w_k q_ik (−log p_ik) / Σ_i w_{y_i},
/// with q_i = (1−ε)·onehot(y_i) + ε/C (without smoothing: Σ_i w_{y_i} ·
/// (−log p_{i,y_i}) / Σ_i w_{y_i}).
fn expected_loss(logits: &[Vec<f64>], targets: &[usize], weights: &[f64], eps: f64) -> f64 {
    let c = logits[0].len() as f64;
    let (mut num, mut den) = (0.0, 0.0);
    for (z, &y) in logits.iter().zip(targets) {
        let max = z.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
        let lse = max + z.iter().map(|v| (v - max).exp()).sum::<f64>().ln();
        let h: f64 = z
            .iter()
            .enumerate()
            .map(|(k, v)| {
                let q = if k == y { 1.0 - eps + eps / c } else { eps / c };
                -weights[k] * q * (v - lse)
            })
            .sum();
        num += h;
        den += weights[y];
    }
    num / den
}

#[test]
fn class_weights_and_label_smoothing_change_the_loss_as_defined() {
    let device = Default::default();
    B::seed(&device, 5);
    let tokenizer = tokenizer();
    let data = tiny_data();
    let encoder = BertModel::<B>::init(&tiny_config(), false, &device).unwrap();
    let limits = encoder.limits();
    let model = TextClassifier::new(encoder, 3, Pooling::Mean, 0.0);
    let indices: Vec<usize> = vec![0, 3, 11, 12, 20, 29];
    let targets: Vec<usize> = indices.iter().map(|&i| data.train[i].label).collect();
    let loss_with = |weights: Option<Vec<f32>>, eps: f32| {
        let task =
            ClassifyTask::<B>::new(&data, &tokenizer, None, limits, weights, eps, 8, 1, &device)
                .unwrap();
        let batch = task.batch(&indices, 0, &device).unwrap();
        let logits = model.forward(&batch.input);
        let rows: Vec<Vec<f64>> = logits
            .clone()
            .into_data()
            .convert::<f64>()
            .into_vec::<f64>()
            .unwrap()
            .chunks(3)
            .map(<[f64]>::to_vec)
            .collect();
        let loss = task.loss(&model, batch).into_scalar().elem::<f64>();
        (loss, rows)
    };
    let (plain, rows) = loss_with(None, 0.0);
    let (weighted, _) = loss_with(Some(vec![1.0, 4.0, 0.5]), 0.0);
    let (smoothed, _) = loss_with(Some(vec![1.0, 4.0, 0.5]), 0.1);
    let close = |a: f64, b: f64| (a - b).abs() < 1e-5 * b.abs().max(1.0);
    assert!(
        close(plain, expected_loss(&rows, &targets, &[1.0, 1.0, 1.0], 0.0)),
        "{plain}"
    );
    assert!(
        close(
            weighted,
            expected_loss(&rows, &targets, &[1.0, 4.0, 0.5], 0.0)
        ),
        "{weighted}"
    );
    assert!(
        close(
            smoothed,
            expected_loss(&rows, &targets, &[1.0, 4.0, 0.5], 0.1)
        ),
        "{smoothed}"
    );
    assert!(
        (plain - weighted).abs() > 1e-4,
        "weights must change the loss"
    );
}

/// bf16 and f16 compute (f32 master weights, loss scaling for f16) on flex:
/// no NaN anywhere in the loss curve, and the model still learns.
#[test]
fn mixed_precision_trains_without_nan_on_flex() {
    use burn::backend::Flex;
    use hone_train::Precision;
    type F = Autodiff<Flex>;
    let device = Default::default();
    let tokenizer = tokenizer();
    let data = tiny_data();
    for precision in [Precision::Bf16, Precision::F16] {
        F::seed(&device, 3);
        let encoder = BertModel::<F>::init(&tiny_config(), false, &device).unwrap();
        let limits = encoder.limits();
        let model = TextClassifier::new(encoder, 3, Pooling::Mean, 0.0);
        let task =
            ClassifyTask::<F>::new(&data, &tokenizer, None, limits, None, 0.0, 8, 1, &device)
                .unwrap();
        let config = TrainConfig {
            epochs: 25,
            batch_size: 8,
            precision,
            optim: OptimConfig {
                lr: 3e-3,
                ..OptimConfig::default()
            },
            seed: 1,
            ..TrainConfig::default()
        };
        let run = tempfile::tempdir().unwrap();
        let outcome = hone_train::train::<F, _>(
            &task,
            model,
            &config,
            run.path(),
            &RunOptions::default(),
            &device,
        )
        .unwrap();
        let log = hone_train::log::read_log(&outcome.log_path).unwrap();
        let mut losses = Vec::new();
        let mut scales = Vec::new();
        for e in &log {
            if let hone_train::log::LogEntry::Train {
                loss,
                loss_scale,
                skipped,
                ..
            } = e
            {
                assert!(
                    loss.is_finite(),
                    "{precision:?}: non-finite loss in {log:?}"
                );
                if !skipped {
                    losses.push(*loss);
                }
                scales.push(*loss_scale);
            }
        }
        let first: f64 = losses[..5].iter().sum::<f64>() / 5.0;
        let last: f64 = losses[losses.len() - 5..].iter().sum::<f64>() / 5.0;
        assert!(last < 0.5 * first, "{precision:?} learns: {first} → {last}");
        match precision {
            Precision::F16 => assert!(scales.iter().all(|s| s.is_some_and(|s| s >= 1.0))),
            _ => assert!(
                scales.iter().all(Option::is_none),
                "bf16 needs no loss scale"
            ),
        }
        let report = evaluate(
            &outcome.model,
            &tokenizer,
            &data.train,
            &data.labels,
            16,
            &device,
        )
        .unwrap()
        .report;
        assert!(report.accuracy > 0.9, "{precision:?}: {}", report.accuracy);
    }
}
