//! Statistical behaviour of the bootstrap and paired tests (exact random
//! streams cannot match numpy's, so these check properties, seeding and the
//! signature fields rather than golden numbers).

use hone_metrics::{
    Bleu, BootstrapConfig, Chrf, ClassMetric, ClassificationStatistic, LogProbSum, McNemarMethod,
    Mean, NRefs, Perplexity, ResamplingInfo, bootstrap_ci, mcnemar,
    paired_approximate_randomization, paired_bootstrap,
};

fn corpus(n: usize, seed: u64) -> (Vec<String>, Vec<String>) {
    // A small deterministic generator so the test needs no RNG crate API.
    let mut x = seed;
    let mut next = || {
        x = x
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (x >> 33) as usize
    };
    let words = [
        "the", "cat", "sat", "on", "a", "mat", "dog", "ran", "far", "away",
    ];
    let mut refs = Vec::new();
    let mut hyps = Vec::new();
    for _ in 0..n {
        let r: Vec<&str> = (0..8).map(|_| words[next() % words.len()]).collect();
        let h: Vec<&str> = r
            .iter()
            .map(|w| {
                if next() % 4 == 0 {
                    words[next() % words.len()]
                } else {
                    w
                }
            })
            .collect();
        refs.push(r.join(" "));
        hyps.push(h.join(" "));
    }
    (hyps, refs)
}

#[test]
fn bootstrap_ci_brackets_score_and_is_seeded() {
    let (hyps, refs) = corpus(200, 1);
    let bleu = Bleu::default();
    let stats = bleu
        .corpus_stats(&hyps, std::slice::from_ref(&refs))
        .unwrap();
    let cfg = BootstrapConfig::default();
    let ci = bootstrap_ci(&bleu, &stats, &cfg).unwrap();
    let full = bleu.corpus_score(&hyps, &[refs]).unwrap().score;
    assert!((ci.score - full).abs() < 1e-12);
    assert!(ci.lower <= ci.score && ci.score <= ci.upper, "{ci:?}");
    assert!(
        ci.lower < ci.upper && (ci.mean - full).abs() < 2.0,
        "{ci:?}"
    );
    assert_eq!(
        ci,
        bootstrap_ci(&bleu, &stats, &cfg).unwrap(),
        "same seed, same result"
    );
    let other = bootstrap_ci(&bleu, &stats, &BootstrapConfig { seed: 7, ..cfg }).unwrap();
    assert_ne!(
        ci.lower.to_bits() ^ ci.upper.to_bits(),
        other.lower.to_bits() ^ other.upper.to_bits()
    );
    let narrow = bootstrap_ci(
        &bleu,
        &stats,
        &BootstrapConfig {
            confidence: 0.5,
            ..cfg
        },
    )
    .unwrap();
    assert!(narrow.upper - narrow.lower < ci.upper - ci.lower);
}

#[test]
fn bootstrap_ci_of_mean_covers_known_value() {
    let values: Vec<f64> = (0..400).map(|i| (i % 10) as f64).collect();
    let ci = bootstrap_ci(&Mean, &values, &BootstrapConfig::default()).unwrap();
    assert!(ci.lower < 4.5 && 4.5 < ci.upper, "{ci:?}");
    // Standard error of the mean is ~0.14, so the 95 % interval is ~0.56 wide.
    assert!((ci.upper - ci.lower - 0.56).abs() < 0.15, "{ci:?}");
}

#[test]
fn identical_systems_are_not_significant() {
    let (hyps, refs) = corpus(100, 2);
    let bleu = Bleu::default();
    let s = bleu.corpus_stats(&hyps, &[refs]).unwrap();
    let bs = paired_bootstrap(&bleu, &s, &s, &BootstrapConfig::default()).unwrap();
    let ar = paired_approximate_randomization(&bleu, &s, &s, 1000, 3).unwrap();
    assert_eq!(bs.difference, 0.0);
    // sacrebleu's statistic is "strictly greater than observed": with identical
    // systems every sample equals the observed 0, so both tests give 1/(n+1).
    assert!((bs.p_value - 1.0 / 1001.0).abs() < 1e-12, "{bs:?}");
    assert!((ar.p_value - 1.0 / 1001.0).abs() < 1e-12, "{ar:?}");
}

#[test]
fn equally_noisy_systems_are_rarely_significant() {
    // Both systems corrupt the same references with the same noise rate, so
    // the null hypothesis holds; at the 5 % level few seeds should reject.
    let (_, refs) = corpus(120, 6);
    let bleu = Bleu::default();
    let mut rejections = 0;
    for k in 0..10u64 {
        let a = bleu
            .corpus_stats(&noisy(&refs, 100 + k), std::slice::from_ref(&refs))
            .unwrap();
        let b = bleu
            .corpus_stats(&noisy(&refs, 200 + k), std::slice::from_ref(&refs))
            .unwrap();
        let ar = paired_approximate_randomization(&bleu, &a, &b, 1000, k).unwrap();
        if ar.p_value < 0.05 {
            rejections += 1;
        }
    }
    assert!(rejections <= 3, "{rejections} of 10 rejected");
}

fn noisy(refs: &[String], seed: u64) -> Vec<String> {
    let mut x = seed;
    refs.iter()
        .map(|r| {
            r.split(' ')
                .map(|w| {
                    x = x
                        .wrapping_mul(6364136223846793005)
                        .wrapping_add(1442695040888963407);
                    if (x >> 33).is_multiple_of(4) {
                        "zzz"
                    } else {
                        w
                    }
                })
                .collect::<Vec<_>>()
                .join(" ")
        })
        .collect()
}

#[test]
fn clearly_better_system_is_significant() {
    let (hyps, refs) = corpus(150, 4);
    let chrf = Chrf::default();
    let base = chrf
        .corpus_stats(&hyps, std::slice::from_ref(&refs))
        .unwrap();
    let better = chrf
        .corpus_stats(&refs, std::slice::from_ref(&refs))
        .unwrap();
    let bs = paired_bootstrap(&chrf, &base, &better, &BootstrapConfig::default()).unwrap();
    let ar = paired_approximate_randomization(&chrf, &base, &better, 2000, 5).unwrap();
    assert!(bs.difference > 10.0 && bs.p_value < 0.01, "{bs:?}");
    assert!(ar.p_value < 0.01, "{ar:?}");
    assert!(bs.system_ci.is_some());
}

#[test]
fn ar_p_value_is_roughly_uniform_under_null() {
    // Two systems with exchangeable per-item scores: p < 0.05 should be rare.
    let mut rejections = 0;
    for k in 0..40u64 {
        let a: Vec<f64> = (0..60).map(|i| ((i * 7 + k * 13) % 11) as f64).collect();
        let b: Vec<f64> = (0..60).map(|i| ((i * 5 + k * 3) % 11) as f64).collect();
        let r = paired_approximate_randomization(&Mean, &a, &b, 500, k).unwrap();
        assert!(r.p_value > 0.0 && r.p_value <= 1.0);
        if r.p_value < 0.05 {
            rejections += 1;
        }
    }
    assert!(rejections <= 8, "{rejections} of 40 rejected");
}

#[test]
fn classification_and_perplexity_resample() {
    let gold: Vec<u8> = (0..120).map(|i| (i % 3) as u8).collect();
    let pred: Vec<u8> = gold
        .iter()
        .enumerate()
        .map(|(i, &g)| if i % 5 == 0 { (g + 1) % 3 } else { g })
        .collect();
    let pairs: Vec<(u8, u8)> = gold.iter().copied().zip(pred.iter().copied()).collect();
    for m in [
        ClassMetric::Accuracy,
        ClassMetric::MacroF1,
        ClassMetric::MicroF1,
        ClassMetric::WeightedF1,
        ClassMetric::Mcc,
    ] {
        let ci = bootstrap_ci(
            &ClassificationStatistic::new(m),
            &pairs,
            &BootstrapConfig::default(),
        )
        .unwrap();
        assert!(ci.lower <= ci.score && ci.score <= ci.upper, "{m:?} {ci:?}");
    }
    let seqs: Vec<LogProbSum> = (1..50)
        .map(|i| {
            LogProbSum::from_logprobs(&vec![-(i as f64 % 7.0) / 3.0 - 0.1; i % 9 + 1]).unwrap()
        })
        .collect();
    let ci = bootstrap_ci(&Perplexity, &seqs, &BootstrapConfig::default()).unwrap();
    assert!(ci.lower <= ci.score && ci.score <= ci.upper);
}

#[test]
fn mcnemar_counts_discordant_pairs() {
    let gold = [1, 1, 1, 1, 0, 0, 0, 0];
    let a = [1, 1, 1, 1, 0, 0, 0, 1];
    let b = [0, 0, 0, 1, 0, 0, 1, 1];
    let r = mcnemar(&gold, &a, &b, McNemarMethod::Auto).unwrap();
    assert_eq!((r.b, r.c, r.method), (4, 0, "exact"));
    assert!((r.p_value - 0.125).abs() < 1e-12);
}

#[test]
fn signature_records_resampling() {
    let s = Bleu::default().signature(
        NRefs::Fixed(1),
        ResamplingInfo {
            bootstrap: Some(1000),
            approximate_randomization: None,
            seed: Some(12345),
        },
    );
    assert_eq!(
        s,
        "nrefs:1|bs:1000|seed:12345|case:mixed|eff:no|tok:13a|smooth:exp|version:2.6.0"
    );
    assert_eq!(
        Chrf::plus_plus().signature(NRefs::Variable, ResamplingInfo::default()),
        "nrefs:var|case:mixed|eff:yes|nc:6|nw:2|space:no|version:2.6.0"
    );
}
