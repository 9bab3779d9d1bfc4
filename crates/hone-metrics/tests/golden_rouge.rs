//! ROUGE and the Porter stemmer against rouge-score 0.1.2 and nltk's
//! PorterStemmer (fixtures/metrics/golden.json), including the cases of
//! rouge-score's rouge_scorer_test.py.

mod common;

use common::{close, golden, strs};
use hone_metrics::{PrfScore, Rouge, porter_stem};

#[test]
fn porter_matches_nltk() {
    let g = golden();
    let words = g["porter"].as_array().unwrap();
    assert!(words.len() > 3000);
    let mut wrong = Vec::new();
    for w in words {
        let (word, stem) = (w[0].as_str().unwrap(), w[1].as_str().unwrap());
        if porter_stem(word) != stem {
            wrong.push(format!("{word}: got {}, nltk {stem}", porter_stem(word)));
        }
    }
    assert!(
        wrong.is_empty(),
        "{} mismatches: {:?}",
        wrong.len(),
        &wrong[..wrong.len().min(20)]
    );
}

#[test]
fn rouge_matches_rouge_score() {
    let g = golden();
    let entries = g["rouge"].as_array().unwrap();
    assert!(entries.len() > 50);
    for e in entries {
        let name = e["name"].as_str().unwrap();
        let scorer = Rouge {
            use_stemmer: e["use_stemmer"].as_bool().unwrap(),
        };
        let s = scorer
            .score_multi(&strs(&e["targets"]), e["prediction"].as_str().unwrap())
            .unwrap();
        let x = &e["expected"];
        let check = |key: &str, got: PrfScore| {
            close(
                name,
                &format!("{key}.precision"),
                got.precision,
                x[key]["precision"].as_f64().unwrap(),
            );
            close(
                name,
                &format!("{key}.recall"),
                got.recall,
                x[key]["recall"].as_f64().unwrap(),
            );
            close(
                name,
                &format!("{key}.fmeasure"),
                got.fmeasure,
                x[key]["fmeasure"].as_f64().unwrap(),
            );
        };
        check("rouge1", s.rouge1);
        check("rouge2", s.rouge2);
        check("rougeL", s.rouge_l);
        check("rougeLsum", s.rouge_lsum);
    }
}

#[test]
fn rouge_json_keys_follow_rouge_score() {
    let s = Rouge::default().score("a b", "a b");
    let v = serde_json::to_value(s).unwrap();
    for k in ["rouge1", "rouge2", "rougeL", "rougeLsum"] {
        for f in ["precision", "recall", "fmeasure"] {
            assert!(v[k][f].is_number(), "missing {k}.{f}");
        }
    }
}
