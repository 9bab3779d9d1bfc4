//! Distillation pieces on known values: the soft-target loss equals its
//! closed form (T² · KL, batch mean), the hidden-state loss counts only
//! real tokens, and a student cut from teacher layers holds exactly those
//! layers' weights.

use std::path::Path;

use burn::backend::Flex;
use burn::prelude::*;
use hone_compress::SourceModel;
use hone_compress::distill::loss::{hidden_state_loss, soft_target_loss};
use hone_compress::distill::{from_teacher_layers, spaced_layers};
use hone_model::{BertConfig, BertModel};

type B = Flex;

fn softmax(row: &[f64], t: f64) -> Vec<f64> {
    let max = row.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let e: Vec<f64> = row.iter().map(|v| ((v - max) / t).exp()).collect();
    let s: f64 = e.iter().sum();
    e.into_iter().map(|v| v / s).collect()
}

#[test]
fn soft_target_loss_is_t_squared_times_the_mean_kl() {
    let student = [[1.0, -0.5, 2.0], [0.3, 0.2, -1.0]];
    let teacher = [[2.5, 0.0, 1.0], [-0.4, 1.1, 0.0]];
    let device = Default::default();
    let tensor = |rows: &[[f64; 3]; 2]| {
        let flat: Vec<f32> = rows.iter().flatten().map(|&v| v as f32).collect();
        Tensor::<B, 2>::from_data(TensorData::new(flat, [2, 3]), &device)
    };
    for t in [1.0, 2.0, 4.0] {
        let mut kl = 0.0;
        for (s, q) in student.iter().zip(&teacher) {
            let (ps, pt) = (softmax(s, t), softmax(q, t));
            kl += pt
                .iter()
                .zip(&ps)
                .map(|(a, b)| a * (a / b).ln())
                .sum::<f64>();
        }
        let expected = t * t * kl / 2.0;
        let got = soft_target_loss(tensor(&student), tensor(&teacher), t as f32).into_scalar();
        assert!(
            (got as f64 - expected).abs() < 1e-5,
            "T={t}: {got} vs {expected}"
        );
    }
    // Identical logits: no loss.
    let same = soft_target_loss(tensor(&student), tensor(&student), 3.0).into_scalar();
    assert!(same.abs() < 1e-6);
}

#[test]
fn hidden_state_loss_ignores_padding() {
    let device = Default::default();
    // Batch 1, 3 positions, width 2; the last position is padding.
    let s = Tensor::<B, 3>::from_data(
        TensorData::new(vec![1.0f32, 2.0, 0.0, 0.0, 9.0, 9.0], [1, 3, 2]),
        &device,
    );
    let t = Tensor::<B, 3>::from_data(
        TensorData::new(vec![0.0f32, 0.0, 1.0, 1.0, 0.0, 0.0], [1, 3, 2]),
        &device,
    );
    let mask = Tensor::<B, 2, Int>::from_data(TensorData::new(vec![1i64, 1, 0], [1, 3]), &device);
    // (1 + 4 + 1 + 1) / (2 tokens × 2 wide)
    let got = hidden_state_loss(s, t, mask).into_scalar();
    assert!((got - 7.0 / 4.0).abs() < 1e-6, "{got}");
}

fn teacher_folder(dir: &Path) -> std::path::PathBuf {
    let config: BertConfig = serde_json::from_str(
        r#"{"vocab_size":50,"hidden_size":32,"num_hidden_layers":4,"num_attention_heads":2,
            "intermediate_size":64,"max_position_embeddings":16,"type_vocab_size":2,"hidden_act":"gelu"}"#,
    )
    .unwrap();
    let device = Default::default();
    B::seed(&device, 9);
    let out = dir.join("teacher");
    BertModel::<B>::init(&config, true, &device)
        .unwrap()
        .write_dir(&config, &out)
        .unwrap();
    out
}

#[test]
fn a_student_from_teacher_layers_holds_exactly_those_layers() {
    assert_eq!(spaced_layers(6, 3).unwrap(), [1, 3, 5]);
    assert_eq!(spaced_layers(4, 2).unwrap(), [1, 3]);
    assert_eq!(spaced_layers(6, 6).unwrap(), [0, 1, 2, 3, 4, 5]);
    assert!(spaced_layers(6, 7).is_err());
    assert!(spaced_layers(6, 0).is_err());

    let tmp = tempfile::tempdir().unwrap();
    let teacher = SourceModel::open(&teacher_folder(tmp.path())).unwrap();
    let student = from_teacher_layers(&teacher, &[0, 3]).unwrap();
    assert_eq!(student.config.num_hidden_layers, 2);
    for (new, old) in [(0, 0), (1, 3)] {
        for part in [
            "attention.self.query.weight",
            "output.dense.bias",
            "output.LayerNorm.weight",
        ] {
            assert_eq!(
                student.encoder[&format!("encoder.layer.{new}.{part}")],
                teacher.encoder[&format!("encoder.layer.{old}.{part}")]
            );
        }
    }
    assert!(
        !student
            .encoder
            .contains_key("encoder.layer.2.output.dense.bias")
    );
    assert_eq!(
        student.encoder["embeddings.word_embeddings.weight"],
        teacher.encoder["embeddings.word_embeddings.weight"]
    );
    // Written and reloaded, it is a 2-layer model burn can build.
    let out = tmp.path().join("student");
    std::fs::create_dir_all(&out).unwrap();
    student.write_f32(&out).unwrap();
    let (model, config) = BertModel::<B>::from_dir(&out, &Default::default()).unwrap();
    assert_eq!(model.layers.len(), 2);
    assert_eq!(config.num_hidden_layers, 2);

    for bad in [vec![], vec![2, 1], vec![0, 4]] {
        assert!(from_teacher_layers(&teacher, &bad).is_err(), "{bad:?}");
    }
}

#[test]
fn attention_map_loss_averages_over_heads_and_real_queries() {
    use hone_compress::distill::loss::attention_map_loss;
    let device = Default::default();
    // Batch 1, 2 heads, 2 positions (the second is padding).
    let s = Tensor::<B, 4>::from_data(
        TensorData::new(
            vec![1.0f32, 0.0, 0.5, 0.5, 0.0, 1.0, 0.3, 0.7],
            [1, 2, 2, 2],
        ),
        &device,
    );
    let t = Tensor::<B, 4>::from_data(
        TensorData::new(
            vec![0.5f32, 0.5, 0.0, 1.0, 1.0, 0.0, 0.0, 1.0],
            [1, 2, 2, 2],
        ),
        &device,
    );
    let mask = Tensor::<B, 2, Int>::from_data(TensorData::new(vec![1i64, 0], [1, 2]), &device);
    // Query 0 only: head 0 (0.25 + 0.25) + head 1 (1 + 1), over 1 query × 2 heads.
    let got = attention_map_loss(s.clone(), t, mask).into_scalar();
    assert!((got - 2.5 / 2.0).abs() < 1e-6, "{got}");
    let mask = Tensor::<B, 2, Int>::from_data(TensorData::new(vec![1i64, 1], [1, 2]), &device);
    assert!(attention_map_loss(s.clone(), s, mask).into_scalar().abs() < 1e-7);
}
