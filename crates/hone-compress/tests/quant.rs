//! Quantization on a tiny random BERT written as a model folder: every
//! scheme saves and reloads bit-exactly (same engine, same outputs), stays
//! close to f32, keeps what the plan keeps in f32, and bad input — an empty
//! calibration set, a corrupt or truncated file, an existing output folder —
//! is a clear error that leaves nothing behind. Smoothing (int8-dynamic)
//! is recorded, saved and reloaded, and refused where it does not apply.

use std::path::{Path, PathBuf};

use burn::backend::Flex;
use burn::prelude::Backend;
use hone_compress::CompressError;
use hone_compress::quant::fallback::Candidate;
use hone_compress::quant::{self, Batch, Method, Plan, Scheme, Smoothing, SourceModel};
use hone_model::engine::{Format, LinearId, Role, Storage, Tokens, WeightBits, Weights};
use hone_model::{BertConfig, BertModel};

fn model_folder(dir: &Path) -> PathBuf {
    let config: BertConfig = serde_json::from_str(
        r#"{"vocab_size":100,"hidden_size":64,"num_hidden_layers":2,"num_attention_heads":4,
            "intermediate_size":128,"max_position_embeddings":32,"type_vocab_size":2,"hidden_act":"gelu"}"#,
    )
    .unwrap();
    let device = Default::default();
    Flex::seed(&device, 3);
    let out = dir.join("f32");
    BertModel::<Flex>::init(&config, true, &device)
        .unwrap()
        .write_dir(&config, &out)
        .unwrap();
    out
}

fn batch(seed: u32) -> Batch {
    let (b, s) = (4, 9);
    Batch {
        ids: (0..b * s)
            .map(|i| (i as u32 * 31 + seed * 7) % 100)
            .collect(),
        mask: (0..b * s).map(|i| u32::from(i % s < s - (i / s))).collect(),
        types: vec![0; b * s],
        batch: b,
        seq: s,
    }
}

fn cosine(a: &[f32], b: &[f32]) -> f32 {
    let dot: f32 = a.iter().zip(b).map(|(x, y)| x * y).sum();
    let n = |v: &[f32]| v.iter().map(|x| x * x).sum::<f32>().sqrt();
    dot / (n(a) * n(b))
}

fn pooled(engine: &hone_model::engine::FastBert, t: Tokens<'_>) -> Vec<f32> {
    let h = engine.forward(t).unwrap();
    engine.mean_pool(&h, t)
}

fn schemes() -> Vec<Scheme> {
    vec![
        Scheme::Int8Dynamic,
        Scheme::Int8Static {
            method: Method::MinMax,
        },
        Scheme::Int8Static {
            method: Method::Percentile { percentile: 99.9 },
        },
        Scheme::Int8Static {
            method: Method::Mse,
        },
        Scheme::Int4Weight { group: 32 },
    ]
}

#[test]
fn every_scheme_saves_reloads_bit_exactly_and_stays_close_to_f32() {
    let tmp = tempfile::tempdir().unwrap();
    let source = SourceModel::open(&model_folder(tmp.path())).unwrap();
    let reference = source.engine(|_| Storage::F32).unwrap();
    let input = batch(9);
    let want = pooled(&reference, input.tokens());
    for (i, scheme) in schemes().into_iter().enumerate() {
        let mut plan = Plan::new(scheme);
        plan.calibration = vec![batch(1), batch(2)];
        let model = quant::quantize(&source, &plan).unwrap();
        let dir = tmp.path().join(format!("q{i}"));
        let bytes = quant::save(&model, &source.dir, &dir).unwrap();
        assert!(bytes < source.file_bytes() / 2, "{scheme:?}: {bytes} bytes");
        let back = quant::load(&dir).unwrap();
        assert_eq!(back.info, model.info, "{scheme:?}");
        assert_eq!(
            back.engine, model.engine,
            "{scheme:?}: the engine differs after reload"
        );
        assert_eq!(
            back.extras, model.extras,
            "{scheme:?}: the pooler was not carried"
        );
        let got = pooled(&back.engine, input.tokens());
        assert_eq!(got, pooled(&model.engine, input.tokens()), "{scheme:?}");
        for (a, b) in want.chunks_exact(64).zip(got.chunks_exact(64)) {
            let floor = if matches!(scheme, Scheme::Int4Weight { .. }) {
                0.97
            } else {
                0.99
            };
            assert!(cosine(a, b) > floor, "{scheme:?}: cosine {}", cosine(a, b));
        }
    }
}

#[test]
fn seven_bit_weights_are_recorded_reload_onto_the_quad_kernel_and_stay_close() {
    let tmp = tempfile::tempdir().unwrap();
    let source = SourceModel::open(&model_folder(tmp.path())).unwrap();
    let reference = source.engine(|_| Storage::F32).unwrap();
    let input = batch(9);
    let want = pooled(&reference, input.tokens());
    for scheme in [
        Scheme::Int8Dynamic,
        Scheme::Int8Static {
            method: Method::MinMax,
        },
    ] {
        let mut plan = Plan::new(scheme);
        plan.calibration = vec![batch(1), batch(2)];
        plan.weight_bits = WeightBits::Seven;
        let model = quant::quantize(&source, &plan).unwrap();
        assert_eq!(model.info.weight_bits, WeightBits::Seven);
        let dir = tmp.path().join(format!("q7-{}", scheme.name()));
        quant::save(&model, &source.dir, &dir).unwrap();
        let back = quant::load(&dir).unwrap();
        assert_eq!(back.info, model.info);
        assert_eq!(back.engine, model.engine, "{scheme:?}: reload differs");
        for block in &back.engine.blocks {
            for role in Role::ALL {
                let Weights::Int8 { packed, .. } = &block.linear(role).weights else {
                    panic!("{role:?} is not int8")
                };
                assert!(packed.is_quads(), "{role:?}: not on the 7-bit grid");
                assert!(packed.to_nk().iter().all(|w| w.abs() <= 64));
            }
        }
        let got = pooled(&back.engine, input.tokens());
        for (a, b) in want.chunks_exact(64).zip(got.chunks_exact(64)) {
            assert!(cosine(a, b) > 0.99, "{scheme:?}: cosine {}", cosine(a, b));
        }
    }
    // QAT simulated 8-bit weights: 7 is refused rather than silently changed.
    let mut plan = Plan::new(Scheme::Int8Qat);
    plan.weight_bits = WeightBits::Seven;
    let err = quant::quantize(&source, &plan).unwrap_err();
    assert!(err.to_string().contains("8-bit weights"), "{err}");
}

#[test]
fn static_scales_are_recorded_and_used() {
    let tmp = tempfile::tempdir().unwrap();
    let source = SourceModel::open(&model_folder(tmp.path())).unwrap();
    let mut plan = Plan::new(Scheme::Int8Static {
        method: Method::MinMax,
    });
    plan.calibration = vec![batch(1)];
    let model = quant::quantize(&source, &plan).unwrap();
    assert!(
        model
            .info
            .layers
            .iter()
            .all(|l| l.activation_scale.is_some_and(|s| s > 0.0))
    );
    assert_eq!(model.info.calibration.as_ref().unwrap().texts, 4);
    // Percentile clips no wider than min-max.
    plan.scheme = Scheme::Int8Static {
        method: Method::Percentile { percentile: 99.0 },
    };
    let clipped = quant::quantize(&source, &plan).unwrap();
    for (a, b) in model.info.layers.iter().zip(&clipped.info.layers) {
        assert!(b.activation_scale.unwrap() <= a.activation_scale.unwrap() * 1.0001);
    }
}

#[test]
fn kept_layers_stay_f32() {
    let tmp = tempfile::tempdir().unwrap();
    let source = SourceModel::open(&model_folder(tmp.path())).unwrap();
    let mut plan = Plan::new(Scheme::Int8Dynamic);
    let kept = LinearId {
        layer: 1,
        role: Role::FfnOut,
    };
    plan.keep_f32.insert(kept);
    let model = quant::quantize(&source, &plan).unwrap();
    assert_eq!(model.engine.blocks[1].ffn_out.format(), Format::F32);
    assert_eq!(model.engine.blocks[1].ffn_in.format(), Format::Int8);
    let reference = source.engine(|_| Storage::F32).unwrap();
    assert_eq!(model.engine.blocks[1].ffn_out, reference.blocks[1].ffn_out);
    plan.keep_f32.insert(LinearId {
        layer: 7,
        role: Role::Qkv,
    });
    assert!(
        matches!(quant::quantize(&source, &plan), Err(CompressError::Invalid(m)) if m.contains("2 layers"))
    );
}

#[test]
fn an_empty_calibration_set_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let source = SourceModel::open(&model_folder(tmp.path())).unwrap();
    let plan = Plan::new(Scheme::Int8Static {
        method: Method::Mse,
    });
    let err = quant::quantize(&source, &plan).unwrap_err();
    assert!(
        err.to_string().contains("calibration set is empty"),
        "{err}"
    );
}

#[test]
fn corrupt_files_and_existing_folders_are_clear_errors() {
    let tmp = tempfile::tempdir().unwrap();
    let source = SourceModel::open(&model_folder(tmp.path())).unwrap();
    let model = quant::quantize(&source, &Plan::new(Scheme::Int8Dynamic)).unwrap();
    let dir = tmp.path().join("q");
    quant::save(&model, &source.dir, &dir).unwrap();

    // Saving over an existing folder is refused and leaves it as it was.
    let before = std::fs::read(dir.join(quant::WEIGHTS_FILE)).unwrap();
    assert!(matches!(
        quant::save(&model, &source.dir, &dir),
        Err(CompressError::Invalid(_))
    ));
    assert_eq!(
        std::fs::read(dir.join(quant::WEIGHTS_FILE)).unwrap(),
        before
    );
    let leftovers: Vec<_> = std::fs::read_dir(tmp.path())
        .unwrap()
        .filter_map(|e| e.ok())
        .map(|e| e.file_name())
        .collect();
    assert!(
        leftovers
            .iter()
            .all(|n| !n.to_string_lossy().starts_with(".hone-quant")),
        "{leftovers:?}"
    );

    // A truncated weights file.
    let weights = dir.join(quant::WEIGHTS_FILE);
    std::fs::write(&weights, &before[..before.len() / 2]).unwrap();
    let err = quant::load(&dir).unwrap_err();
    assert!(
        matches!(&err, CompressError::Corrupt { path, .. } if path == &weights),
        "{err}"
    );

    // A record that names a format the tensors do not have.
    std::fs::write(&weights, &before).unwrap();
    let info_path = dir.join(quant::QUANT_FILE);
    let info = std::fs::read_to_string(&info_path).unwrap();
    std::fs::write(&info_path, info.replacen("\"int8\"", "\"f32\"", 1)).unwrap();
    let err = quant::load(&dir).unwrap_err();
    assert!(
        err.to_string().contains("is missing") || err.to_string().contains("expected"),
        "{err}"
    );

    // Not JSON at all.
    std::fs::write(&info_path, "{").unwrap();
    assert!(matches!(
        quant::load(&dir),
        Err(CompressError::Corrupt { .. })
    ));
}

#[test]
fn smoothing_is_recorded_saved_reloaded_and_refused_where_it_does_not_apply() {
    let tmp = tempfile::tempdir().unwrap();
    let source = SourceModel::open(&model_folder(tmp.path())).unwrap();
    let reference = source.engine(|_| Storage::F32).unwrap();
    let smoothing =
        Smoothing::measure(&source, &[batch(1), batch(2)], 0.5, "two batches".into()).unwrap();
    let mut plan = Plan::new(Scheme::Int8Dynamic);
    let kept = LinearId {
        layer: 0,
        role: Role::Qkv,
    };
    plan.keep_f32.insert(kept);
    plan.smoothing = Some(smoothing.clone());
    let model = quant::quantize(&source, &plan).unwrap();
    let record = model.info.smoothing.as_ref().unwrap();
    assert_eq!((record.alpha, record.texts), (0.5, 8));
    for l in &model.info.layers {
        let want = l.id != kept && matches!(l.id.role, Role::Qkv | Role::FfnIn);
        assert_eq!(l.smoothed, want, "{}", l.id);
    }
    assert_eq!(model.engine.blocks[0].qkv, reference.blocks[0].qkv);

    let dir = tmp.path().join("smoothed");
    quant::save(&model, &source.dir, &dir).unwrap();
    let back = quant::load(&dir).unwrap();
    assert_eq!(back.engine, model.engine);
    assert_eq!(back.info, model.info);
    let input = batch(9);
    let want = pooled(&reference, input.tokens());
    let got = pooled(&back.engine, input.tokens());
    for (a, b) in want.chunks_exact(64).zip(got.chunks_exact(64)) {
        assert!(cosine(a, b) > 0.99, "cosine {}", cosine(a, b));
    }

    // A record claiming smoothing the tensors do not have, and a format
    // version from the future, are clear errors.
    let info_path = dir.join(quant::QUANT_FILE);
    let text = std::fs::read_to_string(&info_path).unwrap();
    let mut info: serde_json::Value = serde_json::from_str(&text).unwrap();
    let out = info["layers"]
        .as_array_mut()
        .unwrap()
        .iter_mut()
        .find(|l| l["role"] == "ffn-out")
        .unwrap();
    out["smoothed"] = true.into();
    std::fs::write(&info_path, info.to_string()).unwrap();
    let err = quant::load(&dir).unwrap_err();
    assert!(err.to_string().contains("input_scale"), "{err}");
    std::fs::write(
        &info_path,
        text.replace("\"format_version\": 2", "\"format_version\": 3"),
    )
    .unwrap();
    let err = quant::load(&dir).unwrap_err();
    assert!(err.to_string().contains("format version 3"), "{err}");

    // Only int8-dynamic is smoothed; the statistics need texts and α in [0, 1].
    plan.scheme = Scheme::Int4Weight { group: 32 };
    let err = quant::quantize(&source, &plan).unwrap_err();
    assert!(
        err.to_string().contains("smoothing is for int8-dynamic"),
        "{err}"
    );
    let empty = Smoothing::measure(&source, &[], 0.5, String::new()).unwrap_err();
    assert!(empty.to_string().contains("calibration texts"), "{empty}");
    let strong = Smoothing::measure(&source, &[batch(1)], 1.5, String::new()).unwrap_err();
    assert!(strong.to_string().contains("[0, 1]"), "{strong}");
}

#[test]
fn fallback_keeps_the_most_sensitive_layers_until_within_budget() {
    let tmp = tempfile::tempdir().unwrap();
    let source = SourceModel::open(&model_folder(tmp.path())).unwrap();
    let input = batch(5);
    let reference = pooled(&source.engine(|_| Storage::F32).unwrap(), input.tokens());
    // Higher is better: minus the mean absolute error of the pooled output.
    let mut metric = |e: &hone_model::engine::FastBert| -> hone_compress::Result<f64> {
        let got = pooled(e, input.tokens());
        Ok(-got
            .iter()
            .zip(&reference)
            .map(|(a, b)| (a - b).abs() as f64)
            .sum::<f64>()
            / got.len() as f64)
    };
    let plan = Plan::new(Scheme::Int4Weight { group: 32 });
    let all = quant::quantize(&source, &plan).unwrap();
    let loss = -metric(&all.engine).unwrap();
    assert!(loss > 0.0);
    let budget = loss / 3.0;
    let (model, report) =
        quant::fallback::quantize_within_budget(&source, &plan, budget, &mut metric, &mut |_| {})
            .unwrap();
    assert!(!report.kept.is_empty(), "{report:?}");
    assert!(report.f32_metric - report.final_metric <= budget);
    // It stops at the first point within budget: one candidate fewer is not.
    let mut fewer = plan.clone();
    for c in &report.kept[..report.kept.len() - 1] {
        match c {
            Candidate::Linear(id) => {
                fewer.keep_f32.insert(*id);
            }
            Candidate::WordEmbeddings => fewer.keep_f32_embeddings = true,
        }
    }
    let before_last = metric(&quant::quantize(&source, &fewer).unwrap().engine).unwrap();
    assert!(report.f32_metric - before_last > budget, "{report:?}");
    assert_eq!(
        report.sensitivity.len(),
        9,
        "8 dense layers and the word embeddings"
    );
    for c in &report.kept {
        match c {
            Candidate::Linear(id) => assert_eq!(
                model.engine.blocks[id.layer].linear(id.role).format(),
                Format::F32,
                "{id}"
            ),
            Candidate::WordEmbeddings => assert_eq!(model.engine.word.storage(), Storage::F32),
        }
    }
    let kept_sensitivity: Vec<f64> = report
        .kept
        .iter()
        .map(|c| report.sensitivity.iter().find(|(s, _)| s == c).unwrap().1)
        .collect();
    assert!(
        kept_sensitivity.windows(2).all(|w| w[0] >= w[1]),
        "kept out of order: {kept_sensitivity:?}"
    );
    // A budget already met keeps nothing.
    let (_, easy) = quant::fallback::quantize_within_budget(
        &source,
        &plan,
        loss * 2.0,
        &mut metric,
        &mut |_| {},
    )
    .unwrap();
    assert!(easy.kept.is_empty() && easy.sensitivity.is_empty());
}
