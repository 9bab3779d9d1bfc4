//! Structured pruning on a tiny random BERT: cutting out heads and neurons
//! whose contribution was zeroed changes nothing, burn and the engine agree
//! on a pruned model, activation importance finds a dead head, the pruned
//! folder reloads with its smaller shapes, and bad plans are clear errors
//! that write nothing. Width pruning (fewer hidden channels) moves exactly
//! the kept channels and builds in burn and the engine alike.

use std::path::{Path, PathBuf};

use burn::backend::Flex;
use burn::prelude::*;
use hone_compress::SourceModel;
use hone_compress::prune::{self, Importance, Keep, PrunePlan, width};
use hone_compress::quant::Batch;
use hone_model::engine::Storage;
use hone_model::{BertConfig, BertModel};

const HEADS: usize = 4;
const HEAD_DIM: usize = 16;
const HIDDEN: usize = HEADS * HEAD_DIM;
const FFN: usize = 128;

fn model_folder(dir: &Path) -> PathBuf {
    let config: BertConfig = serde_json::from_str(
        r#"{"vocab_size":100,"hidden_size":64,"num_hidden_layers":2,"num_attention_heads":4,
            "intermediate_size":128,"max_position_embeddings":32,"type_vocab_size":2,"hidden_act":"gelu"}"#,
    )
    .unwrap();
    let device = Default::default();
    Flex::seed(&device, 5);
    let out = dir.join("f32");
    BertModel::<Flex>::init(&config, true, &device)
        .unwrap()
        .write_dir(&config, &out)
        .unwrap();
    out
}

fn batch() -> Batch {
    let (b, s) = (3, 11);
    Batch {
        ids: (0..b * s).map(|i| (i as u32 * 37 + 5) % 100).collect(),
        // Row r has s - 2r real tokens, so padding is exercised.
        mask: (0..b * s)
            .map(|i| u32::from(i % s < s - 2 * (i / s)))
            .collect(),
        types: vec![0; b * s],
        batch: b,
        seq: s,
    }
}

fn run(model: &SourceModel, b: &Batch) -> Vec<f32> {
    model
        .engine(|_| Storage::F32)
        .unwrap()
        .forward(b.tokens())
        .unwrap()
}

fn max_diff(a: &[f32], b: &[f32]) -> f32 {
    assert_eq!(a.len(), b.len());
    a.iter()
        .zip(b)
        .map(|(x, y)| (x - y).abs())
        .fold(0.0, f32::max)
}

/// burn's model built from the folder `dir` computes what the engine
/// computes from `reloaded` (the same folder read back).
fn assert_burn_matches_engine(dir: &Path, reloaded: &SourceModel) {
    let device = Default::default();
    let (model, _) = BertModel::<Flex>::from_dir(dir, &device).unwrap();
    let b = batch();
    let input = model
        .input(b.batch, b.seq, &b.ids, &b.mask, &b.types, &device)
        .unwrap();
    let burn_out: Vec<f32> = model.forward(&input).into_data().to_vec().unwrap();
    let diff = max_diff(&burn_out, &run(reloaded, &b));
    assert!(diff < 2e-5, "burn and engine differ by {diff}");
}

/// Zeroes head `head`'s columns of the attention output projection.
fn silence_head(m: &mut SourceModel, layer: usize, head: usize) {
    let w = m
        .encoder
        .get_mut(&format!(
            "encoder.layer.{layer}.attention.output.dense.weight"
        ))
        .unwrap();
    for row in w.chunks_exact_mut(HIDDEN) {
        row[head * HEAD_DIM..(head + 1) * HEAD_DIM].fill(0.0);
    }
}

/// Zeroes neuron `j`'s column of the feed-forward output layer.
fn silence_neuron(m: &mut SourceModel, layer: usize, j: usize) {
    let w = m
        .encoder
        .get_mut(&format!("encoder.layer.{layer}.output.dense.weight"))
        .unwrap();
    for row in w.chunks_exact_mut(FFN) {
        row[j] = 0.0;
    }
}

#[test]
fn removing_silenced_heads_and_neurons_leaves_outputs_unchanged() {
    let tmp = tempfile::tempdir().unwrap();
    let mut source = SourceModel::open(&model_folder(tmp.path())).unwrap();
    silence_head(&mut source, 0, 1);
    silence_head(&mut source, 1, 0);
    silence_head(&mut source, 1, 3);
    let dead = [0usize, 5, 7, 127];
    for &j in &dead {
        silence_neuron(&mut source, 0, j);
    }
    silence_neuron(&mut source, 1, 64);
    let keep = Keep {
        heads: vec![vec![0, 2, 3], vec![1, 2]],
        ffn: vec![
            (0..FFN).filter(|j| !dead.contains(j)).collect(),
            (0..FFN).filter(|&j| j != 64).collect(),
        ],
    };
    let pruned = prune::remove(&source, &keep).unwrap();
    assert_eq!(pruned.config.layer(0).heads, 3);
    assert_eq!(pruned.config.layer(1).heads, 2);
    assert_eq!(pruned.config.layer(0).intermediate_size, FFN - dead.len());
    assert!(pruned.parameters() < source.parameters());
    let b = batch();
    let (before, after) = (run(&source, &b), run(&pruned, &b));
    // The removed terms were exact zeros; only the summation order of the
    // remaining ones can differ.
    let diff = max_diff(&before, &after);
    assert!(diff < 1e-5, "outputs moved by {diff}");
}

#[test]
fn burn_and_the_engine_agree_on_a_pruned_folder_that_reloads_smaller() {
    let tmp = tempfile::tempdir().unwrap();
    let source = SourceModel::open(&model_folder(tmp.path())).unwrap();
    let plan = PrunePlan {
        heads: 0.5,
        ffn: 0.25,
        importance: Importance::Magnitude,
    };
    let (pruned, report) = prune::prune(&source, &plan, &[]).unwrap();
    assert_eq!(
        report.kept_heads.iter().map(Vec::len).collect::<Vec<_>>(),
        [2, 2]
    );
    assert_eq!(report.kept_ffn, [96, 96]);
    let out = tmp.path().join("pruned");
    prune::save(&pruned, &report, &out).unwrap();
    assert!(out.join(prune::REPORT_FILE).is_file());

    // The saved tensors are physically smaller.
    let reloaded = SourceModel::open(&out).unwrap();
    assert_eq!(reloaded.config, pruned.config);
    assert_eq!(reloaded.encoder, pruned.encoder);
    let q = &reloaded.encoder["encoder.layer.0.attention.self.query.weight"];
    assert_eq!(q.len(), 2 * HEAD_DIM * HIDDEN);
    let ffn_in = &reloaded.encoder["encoder.layer.1.intermediate.dense.weight"];
    assert_eq!(ffn_in.len(), 96 * HIDDEN);

    // burn builds the narrower layers from config.json and computes what
    // the engine computes.
    assert_burn_matches_engine(&out, &reloaded);
}

#[test]
fn activation_importance_ranks_a_silenced_head_and_neuron_last() {
    let tmp = tempfile::tempdir().unwrap();
    let mut source = SourceModel::open(&model_folder(tmp.path())).unwrap();
    silence_head(&mut source, 1, 2);
    silence_neuron(&mut source, 0, 9);
    let scores = prune::score(&source, Importance::Activation, &[batch()]).unwrap();
    assert_eq!(scores.heads[1][2], 0.0);
    assert!(
        scores.heads[1]
            .iter()
            .enumerate()
            .all(|(h, &s)| h == 2 || s > 0.0)
    );
    assert_eq!(scores.ffn[0][9], 0.0);
    let keep = prune::select(&scores.heads, 0.25);
    assert_eq!(keep[1], vec![0, 1, 3]);
    // Without texts, activation importance cannot be measured.
    let err = prune::score(&source, Importance::Activation, &[]).unwrap_err();
    assert!(err.to_string().contains("sample texts"), "{err}");
}

#[test]
fn bad_plans_are_refused_and_write_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let source = SourceModel::open(&model_folder(tmp.path())).unwrap();
    let plan = PrunePlan {
        heads: 1.0,
        ffn: 0.0,
        importance: Importance::Magnitude,
    };
    assert!(prune::prune(&source, &plan, &[]).is_err());
    // Keep lists that do not fit the model.
    let all_ffn: Vec<usize> = (0..FFN).collect();
    for heads in [
        vec![vec![], vec![0]],
        vec![vec![0, 4], vec![0]],
        vec![vec![1, 0], vec![0]],
        vec![vec![0]],
    ] {
        let keep = Keep {
            heads,
            ffn: vec![all_ffn.clone(), all_ffn.clone()],
        };
        assert!(prune::remove(&source, &keep).is_err(), "{keep:?}");
    }
    // An existing output folder is not overwritten.
    let out = tmp.path().join("exists");
    std::fs::create_dir_all(&out).unwrap();
    let ok = PrunePlan { heads: 0.5, ..plan };
    let (pruned, report) = prune::prune(&source, &ok, &[]).unwrap();
    let err = prune::save(&pruned, &report, &out).unwrap_err();
    assert!(err.to_string().contains("already exists"), "{err}");
    assert_eq!(std::fs::read_dir(&out).unwrap().count(), 0);
    // No temporary folder is left beside it.
    let leftovers = std::fs::read_dir(tmp.path())
        .unwrap()
        .filter(|e| {
            e.as_ref()
                .unwrap()
                .file_name()
                .to_string_lossy()
                .starts_with(".hone")
        })
        .count();
    assert_eq!(leftovers, 0);
}

/// Channels 0..16 and 40..56: two head sizes, not contiguous.
fn kept_channels() -> Vec<usize> {
    (0..16).chain(40..56).collect()
}

#[test]
fn narrowing_moves_exactly_the_kept_channels_and_burn_agrees() {
    let tmp = tempfile::tempdir().unwrap();
    let source = SourceModel::open(&model_folder(tmp.path())).unwrap();
    let keep = kept_channels();
    let narrow = width::narrow(&source, &keep).unwrap();
    let c = &narrow.config;
    assert_eq!(c.hidden_size, 32);
    assert_eq!(c.head_dim(), HEAD_DIM, "heads keep their size");
    assert_eq!(c.layer(0).heads, HEADS, "and their count");
    assert_eq!(c.layer(1).intermediate_size, FFN);
    // A table row keeps the kept columns.
    let words = &source.encoder["embeddings.word_embeddings.weight"];
    let narrow_words = &narrow.encoder["embeddings.word_embeddings.weight"];
    let row: Vec<f32> = keep.iter().map(|&k| words[7 * HIDDEN + k]).collect();
    assert_eq!(&narrow_words[7 * 32..8 * 32], &row[..]);
    // A matrix writing the stream keeps the kept rows, whole.
    let out = &source.encoder["encoder.layer.1.output.dense.weight"];
    let narrow_out = &narrow.encoder["encoder.layer.1.output.dense.weight"];
    assert_eq!(narrow_out.len(), 32 * FFN);
    assert_eq!(&narrow_out[16 * FFN..17 * FFN], &out[40 * FFN..41 * FFN]);
    // A matrix reading the stream keeps the kept columns of every row.
    let q = &source.encoder["encoder.layer.0.attention.self.query.weight"];
    let narrow_q = &narrow.encoder["encoder.layer.0.attention.self.query.weight"];
    assert_eq!(narrow_q.len(), HIDDEN * 32);
    assert_eq!(narrow_q[3 * 32 + 17], q[3 * HIDDEN + 41]);
    // The pooler is cut on both sides.
    let pooler = narrow
        .extras
        .iter()
        .find(|e| e.name == "pooler.dense.weight")
        .unwrap();
    assert_eq!(pooler.shape, [32, 32]);
    assert!(narrow.parameters() < source.parameters());

    // Saved, it reloads in burn, which computes what the engine computes.
    let dir = tmp.path().join("narrow");
    std::fs::create_dir_all(&dir).unwrap();
    narrow.write_f32(&dir).unwrap();
    let reloaded = SourceModel::open(&dir).unwrap();
    assert_eq!(reloaded.config, narrow.config);
    assert_burn_matches_engine(&dir, &reloaded);

    // Widths that would split a head, and unordered or out-of-range channels.
    for bad in [
        (0..20).collect::<Vec<_>>(),
        vec![],
        (1..17).rev().collect(),
        (50..66).collect(),
    ] {
        assert!(width::narrow(&source, &bad).is_err(), "{bad:?}");
    }
}

#[test]
fn hidden_channel_importance_ranks_a_dead_channel_last() {
    let tmp = tempfile::tempdir().unwrap();
    let mut source = SourceModel::open(&model_folder(tmp.path())).unwrap();
    // Channel 5 leaves every LayerNorm as zero, so every block reads 0 there.
    for (name, t) in source.encoder.iter_mut() {
        if name.contains("LayerNorm") {
            t[5] = 0.0;
        }
    }
    let scores = prune::importance::hidden_channels(&source, &[batch()]).unwrap();
    assert_eq!(scores[5], 0.0);
    assert!(scores.iter().enumerate().all(|(i, &s)| i == 5 || s > 0.0));
    let keep = width::select_channels(&scores, HIDDEN - HEAD_DIM);
    assert!(!keep.contains(&5) && keep.len() == HIDDEN - HEAD_DIM);
    let err = prune::importance::hidden_channels(&source, &[]).unwrap_err();
    assert!(err.to_string().contains("sample texts"), "{err}");
}
