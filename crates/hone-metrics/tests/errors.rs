//! Bad input yields a clear `MetricsError`, never a panic.

use hone_metrics::{
    Bleu, BleuAccumulator, BleuTokenizer, BootstrapConfig, Chrf, ChrfAccumulator, ClassMetric,
    ClassificationAccumulator, ClassificationStatistic, ConfusionMatrix, McNemarMethod, Mean,
    MetricsError, PerplexityAccumulator, Rouge, RougeAccumulator, Smoothing, bootstrap_ci,
    classification_report, mcnemar, paired_approximate_randomization, paired_bootstrap, perplexity,
};

#[test]
fn mismatched_lengths() {
    let e = Bleu::default()
        .corpus_score(&["a", "b"], &[vec!["a"]])
        .unwrap_err();
    assert!(
        matches!(
            e,
            MetricsError::LengthMismatch {
                expected: 2,
                got: 1,
                ..
            }
        ),
        "{e}"
    );
    assert!(
        Chrf::default()
            .corpus_score(&["a"], &[vec!["a"], vec!["a", "b"]])
            .is_err()
    );
    let e = ConfusionMatrix::new(&[1, 2], &[1]).unwrap_err();
    assert!(e.to_string().contains("length mismatch"), "{e}");
    assert!(
        Rouge::default()
            .corpus_score(&[vec!["a"]], &["a", "b"])
            .is_err()
    );
    assert!(mcnemar(&[1, 2], &[1, 2], &[1], McNemarMethod::Auto).is_err());
    assert!(paired_bootstrap(&Mean, &[1.0, 2.0], &[1.0], &BootstrapConfig::default()).is_err());
    assert!(paired_approximate_randomization(&Mean, &[1.0], &[], 100, 1).is_err());
}

#[test]
fn empty_inputs() {
    let none: [&str; 0] = [];
    assert_eq!(
        Bleu::default()
            .corpus_score(&none, &[Vec::<&str>::new()])
            .unwrap_err(),
        MetricsError::Empty("hypotheses")
    );
    assert!(matches!(
        Bleu::default().corpus_score(&["a"], &Vec::<Vec<&str>>::new()),
        Err(MetricsError::Empty(_))
    ));
    assert!(Bleu::sentence().sentence_score("a", &none).is_err());
    assert!(Chrf::default().sentence_score("a", &none).is_err());
    assert!(Rouge::default().score_multi(&none, "a").is_err());
    assert!(
        BleuAccumulator::new(Bleu::default())
            .unwrap()
            .finish()
            .is_err()
    );
    assert!(
        ChrfAccumulator::new(Chrf::default())
            .unwrap()
            .finish()
            .is_err()
    );
    assert!(RougeAccumulator::new(Rouge::default()).finish().is_err());
    assert!(
        ClassificationAccumulator::<u8>::new()
            .confusion_matrix()
            .is_err()
    );
    assert!(classification_report::<&str>(&[], &[]).is_err());
    assert!(perplexity(&[]).is_err());
    assert!(PerplexityAccumulator::default().finish().is_err());
    assert!(bootstrap_ci(&Mean, &[], &BootstrapConfig::default()).is_err());
}

#[test]
fn invalid_parameters() {
    assert!("moses".parse::<BleuTokenizer>().is_err());
    assert!(Smoothing::from_name("laplace", None).is_err());
    assert!(Smoothing::from_name("floor", Some(-1.0)).is_err());
    assert!(Smoothing::from_name("add-k", Some(f64::NAN)).is_err());
    let bad = Bleu {
        max_ngram_order: 0,
        ..Bleu::default()
    };
    assert!(matches!(
        bad.corpus_score(&["a"], &[vec!["a"]]),
        Err(MetricsError::InvalidParameter {
            name: "max_ngram_order",
            ..
        })
    ));
    let bad = Chrf {
        char_order: 0,
        word_order: 0,
        ..Chrf::default()
    };
    assert!(bad.corpus_score(&["a"], &[vec!["a"]]).is_err());
    let cm = ConfusionMatrix::new(&[1], &[1]).unwrap();
    assert!(cm.prf(0.0).is_err() && cm.prf(f64::INFINITY).is_err());
    assert!(hone_metrics::rouge_n(&[], &[], 0).is_err());
    let cfg = BootstrapConfig {
        n_resamples: 0,
        ..BootstrapConfig::default()
    };
    assert!(bootstrap_ci(&Mean, &[1.0], &cfg).is_err());
    let cfg = BootstrapConfig {
        confidence: 1.0,
        ..BootstrapConfig::default()
    };
    assert!(bootstrap_ci(&Mean, &[1.0], &cfg).is_err());
    assert!(paired_approximate_randomization(&Mean, &[1.0], &[1.0], 0, 1).is_err());
    let stat = ClassificationStatistic::<u8>::new(ClassMetric::Accuracy);
    assert!(bootstrap_ci(&stat, &[], &BootstrapConfig::default()).is_err());
}

#[test]
fn invalid_values() {
    for bad in [0.5, f64::NAN, f64::NEG_INFINITY] {
        let e = perplexity(&[-1.0, bad]).unwrap_err();
        assert!(matches!(e, MetricsError::InvalidInput(_)), "{e}");
    }
}
