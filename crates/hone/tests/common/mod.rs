//! Helpers shared by the CLI integration tests: running the `hone` binary
//! and a tiny random BERT model folder with MiniLM's real tokenizer.

#![allow(dead_code)] // each test file uses a subset

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use burn::backend::NdArray;
use burn::prelude::Backend;
use hone::data::assets::{Cache, FetchOptions, resolve_model_dir};
use hone::model::{BertConfig, BertModel};

/// The `hone` binary with `args`, quiet, reading nothing from stdin.
fn hone_command(args: &[&str]) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_hone"));
    command.args(args).arg("--quiet").stdin(Stdio::null());
    command
}

pub fn hone(args: &[&str]) -> Output {
    hone_command(args).output().unwrap()
}

/// [`hone`] with its own cache folder (what a run leaves in the cache is
/// then the test's to inspect, and the user's cache is not touched).
pub fn hone_with_cache(cache: &Path, args: &[&str]) -> Output {
    hone_command(args)
        .env("HONE_CACHE", cache)
        .output()
        .unwrap()
}

pub fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// A 2-layer, 32-wide BERT with random weights and MiniLM's tokenizer.
pub fn tiny_model(dir: &Path) -> PathBuf {
    let model_dir = dir.join("tiny-bert");
    let config: BertConfig = serde_json::from_str(
        r#"{"vocab_size":30522,"hidden_size":32,"num_hidden_layers":2,"num_attention_heads":2,
            "intermediate_size":64,"max_position_embeddings":64,"type_vocab_size":2,"hidden_act":"gelu"}"#,
    )
    .unwrap();
    let device = Default::default();
    NdArray::<f32>::seed(&device, 11);
    BertModel::<NdArray>::init(&config, true, &device)
        .unwrap()
        .write_dir(&config, &model_dir)
        .unwrap();
    let minilm = resolve_model_dir(
        "minilm-l6",
        &Cache::from_env().unwrap(),
        &FetchOptions::default(),
    )
    .expect("MiniLM is fetched by `cargo xtask fetch` / .ci/run");
    std::fs::copy(
        minilm.join("tokenizer.json"),
        model_dir.join("tokenizer.json"),
    )
    .unwrap();
    model_dir
}

/// 93 rows, three labels told apart by their words.
pub fn tiny_csv(dir: &Path) -> PathBuf {
    let words = [
        (
            "pos",
            [
                "wonderful",
                "great",
                "superb",
                "delightful",
                "moving",
                "brilliant",
            ],
        ),
        (
            "neg",
            ["awful", "boring", "terrible", "dull", "clumsy", "tedious"],
        ),
        (
            "biz",
            ["budget", "market", "shares", "economy", "profit", "bank"],
        ),
    ];
    let mut csv = String::from("text,label\n");
    for (label, ws) in words {
        for (i, a) in ws.iter().enumerate() {
            for (_, b) in ws.iter().enumerate().filter(|&(j, _)| j != i) {
                csv.push_str(&format!("\"the {a} film, {b} too\",{label}\n"));
            }
        }
        csv.push_str(&format!("\"{} and {}\",{label}\n", ws[0], ws[5]));
    }
    let path = dir.join("tiny.csv");
    std::fs::write(&path, csv).unwrap();
    path
}

/// [`tiny_model`] fine-tuned for one epoch on [`tiny_csv`] (32 tokens).
pub fn tiny_classifier(dir: &Path) -> PathBuf {
    let model = tiny_model(dir);
    let data = tiny_csv(dir);
    let out = dir.join("tiny-classifier");
    let o = hone(&[
        "finetune",
        "--model",
        model.to_str().unwrap(),
        "--data",
        data.to_str().unwrap(),
        "--epochs",
        "1",
        "--max-len",
        "32",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    out
}
