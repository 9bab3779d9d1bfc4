//! Shared helpers for the integration tests: loading the golden file that
//! fixtures/metrics/make_golden.py produced from the reference tools.

#![allow(dead_code)]

use serde_json::Value;

/// Absolute tolerance on the tools' own scale (BLEU/chrF 0-100, others 0-1).
pub const TOL: f64 = 1e-6;

pub fn golden() -> Value {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../fixtures/metrics/golden.json"
    );
    let text = std::fs::read_to_string(path).expect("golden.json is committed");
    serde_json::from_str(&text).expect("golden.json parses")
}

pub fn strs(v: &Value) -> Vec<String> {
    v.as_array()
        .expect("array")
        .iter()
        .map(|s| s.as_str().expect("string").to_string())
        .collect()
}

pub fn f64s(v: &Value) -> Vec<f64> {
    v.as_array()
        .expect("array")
        .iter()
        .map(|x| x.as_f64().expect("number"))
        .collect()
}

pub fn close(name: &str, what: &str, got: f64, want: f64) {
    assert!(
        (got - want).abs() <= TOL,
        "{name}: {what} = {got}, reference {want} (diff {})",
        (got - want).abs()
    );
}

/// The hypotheses and reference streams of a golden entry, resolving
/// shared corpora. Sentence entries yield one hypothesis.
pub fn texts(g: &Value, e: &Value) -> (Vec<String>, Vec<Vec<String>>) {
    if let Some(corpus) = e.get("corpus").and_then(Value::as_str) {
        let c = &g["corpora"][corpus];
        let hyps = strs(&c["hyps"]);
        let refs: Vec<Vec<String>> = c["refs"].as_array().unwrap().iter().map(strs).collect();
        if let Some(i) = e.get("index").and_then(Value::as_u64) {
            let i = i as usize;
            return (
                vec![hyps[i].clone()],
                refs.iter().map(|s| vec![s[i].clone()]).collect(),
            );
        }
        let n = e["nrefs"].as_u64().unwrap() as usize;
        return (hyps, refs[..n].to_vec());
    }
    if e["mode"] == "sentence" {
        let refs = strs(&e["refs"]);
        return (
            vec![e["hyps"].as_str().unwrap().to_string()],
            refs.into_iter().map(|r| vec![r]).collect(),
        );
    }
    (
        strs(&e["hyps"]),
        e["refs"].as_array().unwrap().iter().map(strs).collect(),
    )
}
