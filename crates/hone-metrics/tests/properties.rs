//! Property tests: perfect hypotheses score perfectly, scores stay in range,
//! F lies between P and R, and streaming equals one-shot scoring.

use hone_metrics::{
    Bleu, BleuAccumulator, Chrf, ChrfAccumulator, ClassificationAccumulator, ConfusionMatrix,
    PerplexityAccumulator, Rouge, RougeAccumulator, perplexity,
};
use proptest::prelude::*;

fn sentence() -> impl Strategy<Value = String> {
    prop::collection::vec("[a-zA-Z0-9.,!?é日]{1,8}", 0..12).prop_map(|w| w.join(" "))
}

fn corpus() -> impl Strategy<Value = Vec<(String, String)>> {
    prop::collection::vec((sentence(), sentence()), 1..12)
}

fn between(f: f64, p: f64, r: f64) -> bool {
    f >= p.min(r) - 1e-12 && f <= p.max(r) + 1e-12
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn identical_text_is_perfect(s in prop::collection::vec("[a-z]{1,6}", 4..15)) {
        let s = s.join(" ");
        let b = Bleu::default().corpus_score(&[&s], &[vec![&s]]).unwrap();
        prop_assert!((b.score - 100.0).abs() < 1e-9);
        let r = Rouge::default().score(&s, &s);
        for v in [r.rouge1, r.rouge2, r.rouge_l, r.rouge_lsum] {
            prop_assert!((v.fmeasure - 1.0).abs() < 1e-12);
        }
        let c = Chrf::default().corpus_score(&[&s], &[vec![&s]]).unwrap();
        prop_assert!((c.score - 100.0).abs() < 1e-9);
    }

    #[test]
    fn scores_in_range_and_f_between(pairs in corpus()) {
        let (hyps, refs): (Vec<String>, Vec<String>) = pairs.into_iter().unzip();
        let b = Bleu::default().corpus_score(&hyps, std::slice::from_ref(&refs)).unwrap();
        prop_assert!((0.0..=100.0 + 1e-9).contains(&b.score));
        prop_assert!((0.0..=1.0).contains(&b.bp));
        let s = Bleu::sentence().sentence_score(&hyps[0], &[&refs[0]]).unwrap();
        prop_assert!((0.0..=100.0 + 1e-9).contains(&s.score));
        let c = Chrf::plus_plus().corpus_score(&hyps, std::slice::from_ref(&refs)).unwrap();
        prop_assert!((0.0..=100.0 + 1e-9).contains(&c.score));
        for (h, r) in hyps.iter().zip(&refs) {
            let x = Rouge { use_stemmer: true }.score(r, h);
            for v in [x.rouge1, x.rouge2, x.rouge_l, x.rouge_lsum] {
                prop_assert!((0.0..=1.0).contains(&v.precision));
                prop_assert!((0.0..=1.0).contains(&v.recall));
                prop_assert!(between(v.fmeasure, v.precision, v.recall));
            }
        }
    }

    #[test]
    fn classification_f_between_p_and_r(
        pairs in prop::collection::vec((0usize..5, 0usize..5), 1..60)
    ) {
        let (t, p): (Vec<usize>, Vec<usize>) = pairs.into_iter().unzip();
        let cm = ConfusionMatrix::new(&t, &p).unwrap();
        let r = cm.prf(1.0).unwrap();
        for c in &r.per_class {
            prop_assert!(between(c.fscore, c.precision, c.recall));
        }
        prop_assert!(between(r.micro.fscore, r.micro.precision, r.micro.recall));
        prop_assert!((r.micro.fscore - cm.accuracy()).abs() < 1e-12);
        prop_assert!((-1.0 - 1e-12..=1.0 + 1e-12).contains(&cm.mcc()));
        for a in [r.macro_avg, r.weighted] {
            prop_assert!((0.0..=1.0).contains(&a.precision) && (0.0..=1.0).contains(&a.fscore));
        }
    }

    #[test]
    fn streaming_equals_one_shot(pairs in corpus(), cut in 0usize..12) {
        let (hyps, refs): (Vec<String>, Vec<String>) = pairs.into_iter().unzip();
        let cut = cut.min(hyps.len());
        let batches = [(&hyps[..cut], &refs[..cut]), (&hyps[cut..], &refs[cut..])];

        let mut bleu = BleuAccumulator::new(Bleu::default()).unwrap();
        let mut chrf = ChrfAccumulator::new(Chrf::plus_plus()).unwrap();
        let mut rouge = RougeAccumulator::new(Rouge::default());
        for (h, r) in batches {
            if h.is_empty() { continue; }
            bleu.add_batch(h, &[r.to_vec()]).unwrap();
            chrf.add_batch(h, &[r.to_vec()]).unwrap();
            let targets: Vec<Vec<String>> = r.iter().map(|x| vec![x.clone()]).collect();
            rouge.add_batch(&targets, h).unwrap();
        }
        prop_assert_eq!(bleu.finish().unwrap(), Bleu::default().corpus_score(&hyps, std::slice::from_ref(&refs)).unwrap());
        prop_assert_eq!(chrf.finish().unwrap(), Chrf::plus_plus().corpus_score(&hyps, std::slice::from_ref(&refs)).unwrap());
        let targets: Vec<Vec<String>> = refs.iter().map(|x| vec![x.clone()]).collect();
        let one = Rouge::default().corpus_score(&targets, &hyps).unwrap();
        let streamed = rouge.finish().unwrap();
        prop_assert!((one.rouge_l.fmeasure - streamed.rouge_l.fmeasure).abs() < 1e-12);
    }

    #[test]
    fn streaming_classification_and_perplexity(
        labels in prop::collection::vec((0usize..4, 0usize..4), 1..40),
        lps in prop::collection::vec(-20.0f64..0.0, 1..40),
        cut in 0usize..40,
    ) {
        let (t, p): (Vec<usize>, Vec<usize>) = labels.into_iter().unzip();
        let c = cut.min(t.len());
        let mut acc = ClassificationAccumulator::new();
        acc.add_batch(&t[..c], &p[..c]).unwrap();
        acc.add_batch(&t[c..], &p[c..]).unwrap();
        prop_assert_eq!(acc.confusion_matrix().unwrap(), ConfusionMatrix::new(&t, &p).unwrap());

        let c = cut.min(lps.len());
        let mut pp = PerplexityAccumulator::default();
        pp.add(&lps[..c]).unwrap();
        pp.add(&lps[c..]).unwrap();
        prop_assert_eq!(pp.finish().unwrap(), perplexity(&lps).unwrap());
    }
}
