//! BLEU and chrF against sacrebleu 2.6.0's own numbers (fixtures/metrics/golden.json),
//! including the cases of sacrebleu's test_bleu.py, test_sentence_bleu.py and test_chrf.py.

mod common;

use common::{close, golden, texts};
use hone_metrics::{Bleu, BleuTokenizer, Chrf, Smoothing, compute_bleu};
use serde_json::Value;

fn bleu_config(p: &Value) -> Bleu {
    let mut b = Bleu::default();
    if let Some(t) = p.get("tokenize").and_then(Value::as_str) {
        b.tokenizer = t.parse::<BleuTokenizer>().unwrap();
    }
    if let Some(l) = p.get("lowercase").and_then(Value::as_bool) {
        b.lowercase = l;
    }
    if let Some(e) = p.get("effective_order").and_then(Value::as_bool) {
        b.effective_order = e;
    }
    if let Some(o) = p.get("max_ngram_order").and_then(Value::as_u64) {
        b.max_ngram_order = o as usize;
    }
    let method = p
        .get("smooth_method")
        .and_then(Value::as_str)
        .unwrap_or("exp");
    let value = p.get("smooth_value").and_then(Value::as_f64);
    b.smoothing = Smoothing::from_name(method, value).unwrap();
    b
}

#[test]
fn bleu_matches_sacrebleu() {
    let g = golden();
    let entries = g["bleu"].as_array().unwrap();
    assert!(entries.len() > 100);
    for e in entries {
        let name = e["name"].as_str().unwrap();
        let cfg = bleu_config(&e["params"]);
        let (hyps, refs) = texts(&g, e);
        let s = if e["mode"] == "sentence" {
            let r: Vec<&str> = refs.iter().map(|s| s[0].as_str()).collect();
            cfg.sentence_score(&hyps[0], &r).unwrap()
        } else {
            cfg.corpus_score(&hyps, &refs).unwrap()
        };
        let x = &e["expected"];
        close(name, "score", s.score, x["score"].as_f64().unwrap());
        close(name, "bp", s.bp, x["bp"].as_f64().unwrap());
        assert_eq!(s.sys_len, x["sys_len"].as_u64().unwrap(), "{name}: sys_len");
        assert_eq!(s.ref_len, x["ref_len"].as_u64().unwrap(), "{name}: ref_len");
        assert_eq!(
            s.signature,
            x["signature"].as_str().unwrap(),
            "{name}: signature"
        );
        // sacrebleu reports add-k counts/totals with k already added to
        // orders >= 2 (unless nothing matched); ours are the raw counts.
        let k = match cfg.smoothing {
            Smoothing::AddK(k) if s.counts.iter().any(|&c| c > 0) => k,
            _ => 0.0,
        };
        for (i, (c, t)) in s.counts.iter().zip(&s.totals).enumerate() {
            let add = if i > 0 { k } else { 0.0 };
            close(
                name,
                "counts",
                *c as f64 + add,
                x["counts"][i].as_f64().unwrap(),
            );
            close(
                name,
                "totals",
                *t as f64 + add,
                x["totals"][i].as_f64().unwrap(),
            );
            close(
                name,
                "precisions",
                s.precisions[i],
                x["precisions"][i].as_f64().unwrap(),
            );
        }
    }
}

#[test]
fn compute_bleu_matches_sacrebleu() {
    let g = golden();
    for (i, e) in g["bleu_compute"].as_array().unwrap().iter().enumerate() {
        let u = |k: &str| -> Vec<u64> {
            e[k].as_array()
                .unwrap()
                .iter()
                .map(|x| x.as_u64().unwrap())
                .collect()
        };
        let sm = Smoothing::from_name(
            e["smooth_method"].as_str().unwrap(),
            e["smooth_value"].as_f64(),
        )
        .unwrap();
        let (score, precisions, bp) = compute_bleu(
            &u("correct"),
            &u("total"),
            e["sys_len"].as_u64().unwrap(),
            e["ref_len"].as_u64().unwrap(),
            sm,
            false,
        );
        let name = format!("compute_{i}");
        close(&name, "score", score, e["score"].as_f64().unwrap());
        close(&name, "bp", bp, e["bp"].as_f64().unwrap());
        for (j, p) in precisions.iter().enumerate() {
            close(&name, "precision", *p, e["precisions"][j].as_f64().unwrap());
        }
    }
}

fn chrf_config(p: &Value) -> Chrf {
    let mut c = Chrf::default();
    let u = |k: &str| p.get(k).and_then(Value::as_u64);
    let b = |k: &str| p.get(k).and_then(Value::as_bool);
    if let Some(v) = u("char_order") {
        c.char_order = v as usize;
    }
    if let Some(v) = u("word_order") {
        c.word_order = v as usize;
    }
    if let Some(v) = u("beta") {
        c.beta = v as u32;
    }
    if let Some(v) = b("lowercase") {
        c.lowercase = v;
    }
    if let Some(v) = b("whitespace") {
        c.whitespace = v;
    }
    if let Some(v) = b("eps_smoothing") {
        c.eps_smoothing = v;
    }
    c
}

#[test]
fn chrf_matches_sacrebleu() {
    let g = golden();
    let entries = g["chrf"].as_array().unwrap();
    assert!(entries.len() > 50);
    for e in entries {
        let name = e["name"].as_str().unwrap();
        let cfg = chrf_config(&e["params"]);
        let (hyps, refs) = texts(&g, e);
        let s = if e["mode"] == "sentence" {
            let r: Vec<&str> = refs.iter().map(|s| s[0].as_str()).collect();
            cfg.sentence_score(&hyps[0], &r).unwrap()
        } else {
            cfg.corpus_score(&hyps, &refs).unwrap()
        };
        let x = &e["expected"];
        close(name, "score", s.score, x["score"].as_f64().unwrap());
        assert_eq!(s.name, x["name"].as_str().unwrap(), "{name}: name");
        assert_eq!(
            s.signature,
            x["signature"].as_str().unwrap(),
            "{name}: signature"
        );
    }
}
