//! Tests of the augmenter as a whole: the identity, determinism and
//! non-emptiness invariants on arbitrary Unicode, and the documented effect
//! of single operations.

use proptest::prelude::*;

use super::*;

fn small_wordnet() -> WordNet {
    WordNet::from_synsets(vec![
        vec!["movie", "film", "motion_picture"],
        vec!["good", "well", "full"],
        vec!["funny", "amusing", "comic"],
        vec!["café", "coffee_shop"],
    ])
}

fn everything(p: f64) -> AugmentConfig {
    AugmentConfig {
        char_delete: p,
        char_swap: p,
        char_insert: p,
        char_substitute: p,
        word_dropout: p,
        word_swap: p,
        synonym: p,
        word_insert: p,
    }
}

fn augmenter(config: AugmentConfig) -> Augmenter {
    Augmenter::new(config, Some(small_wordnet())).unwrap()
}

/// Arbitrary strings, and strings rich in what breaks byte-level code:
/// combining marks, emoji, odd whitespace and words the small WordNet knows.
fn texts() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<String>(),
        "[a-zA-Zé\u{301}\u{308}\u{1F600}-\u{1F64F}\u{200D}ß,.!? \t\n\u{3000}]{0,60}",
        "((movie|Film|good|funny|café|the|42|\\(ok\\)|\u{1F44D}\u{1F3FD}|e\u{301})[ ,.]{1,2}){0,15}",
    ]
}

const LONG: &str = "the movie was good and funny , though the film dragged in \
    places and the ending felt like a good idea that nobody quite finished .";

proptest! {
    #[test]
    fn all_zero_is_the_identity(text in texts(), seed in any::<u64>()) {
        let out = augmenter(AugmentConfig::default()).augment(&text, seed);
        prop_assert_eq!(out, text);
    }

    #[test]
    fn same_seed_same_output(text in texts(), seed in any::<u64>()) {
        let aug = augmenter(everything(0.3));
        prop_assert_eq!(aug.augment(&text, seed), aug.augment(&text, seed));
    }

    #[test]
    fn arbitrary_text_never_panics_or_empties(text in texts(), seed in any::<u64>(), p in prop_oneof![Just(0.3), Just(1.0), 0.0..=1.0f64]) {
        let out = augmenter(everything(p)).augment(&text, seed);
        if !text.is_empty() {
            prop_assert!(!out.is_empty());
        }
        if !text.trim().is_empty() {
            prop_assert!(!out.trim().is_empty());
        }
    }
}

#[test]
fn certain_dropout_keeps_exactly_one_word() {
    let aug = augmenter(AugmentConfig {
        word_dropout: 1.0,
        ..Default::default()
    });
    for seed in 0..20 {
        let out = aug.augment(" one two  three\tfour ", seed);
        let words: Vec<&str> = out.split_whitespace().collect();
        assert_eq!(words.len(), 1, "{out:?}");
        assert!(["one", "two", "three", "four"].contains(&words[0]));
        assert_eq!(out, format!(" {} ", words[0]));
    }
}

#[test]
fn certain_char_swap_reverses_a_pair() {
    let aug = augmenter(AugmentConfig {
        char_swap: 1.0,
        ..Default::default()
    });
    assert_eq!(aug.augment("ab", 7), "ba");
}

#[test]
fn certain_word_swap_swaps_pairs_and_keeps_whitespace() {
    let aug = augmenter(AugmentConfig {
        word_swap: 1.0,
        ..Default::default()
    });
    assert_eq!(aug.augment("a b\tc d e", 0), "b a\td c e");
}

#[test]
fn certain_synonym_replaces_every_known_word() {
    let aug = augmenter(AugmentConfig {
        synonym: 1.0,
        ..Default::default()
    });
    let out = aug.augment("A good Movie, 42!", 0);
    let expected = ["well", "full"].iter().any(|good| {
        ["Film,", "Motion picture,"]
            .iter()
            .any(|movie| out == format!("A {good} {movie} 42!"))
    });
    assert!(expected, "{out}");
}

#[test]
fn another_seed_gives_another_text() {
    let aug = augmenter(everything(0.3));
    let outputs: std::collections::HashSet<String> =
        (0..5).map(|seed| aug.augment(LONG, seed)).collect();
    assert_eq!(outputs.len(), 5);
    assert!(!outputs.contains(LONG));
}

#[test]
fn validate_names_the_bad_knob() {
    let bad = AugmentConfig {
        word_swap: 1.5,
        ..Default::default()
    };
    let err = bad.validate().unwrap_err().to_string();
    assert!(err.contains("word_swap") && err.contains("1.5"), "{err}");
    let nan = AugmentConfig {
        char_insert: f64::NAN,
        ..Default::default()
    };
    assert!(
        nan.validate()
            .unwrap_err()
            .to_string()
            .contains("char_insert")
    );
    let negative = AugmentConfig {
        synonym: -0.1,
        ..Default::default()
    };
    assert!(negative.validate().is_err());
    assert!(everything(1.0).validate().is_ok());
    assert!(Augmenter::new(bad, None).is_err());
}

#[test]
fn synonym_operations_require_wordnet() {
    for config in [
        AugmentConfig {
            synonym: 0.1,
            ..Default::default()
        },
        AugmentConfig {
            word_insert: 0.1,
            ..Default::default()
        },
    ] {
        let err = Augmenter::new(config, None).unwrap_err().to_string();
        assert!(err.contains("WordNet"), "{err}");
    }
    let chars_only = AugmentConfig {
        char_delete: 0.1,
        ..Default::default()
    };
    assert!(Augmenter::new(chars_only, None).is_ok());
}

#[test]
fn identity_flag_and_serde_defaults() {
    assert!(AugmentConfig::default().is_identity());
    assert!(!everything(0.1).is_identity());
    let config: AugmentConfig = serde_json::from_str(r#"{"synonym": 0.2}"#).unwrap();
    assert_eq!(config.synonym, 0.2);
    assert_eq!(config.char_delete, 0.0);
    assert!(serde_json::from_str::<AugmentConfig>(r#"{"synonyms": 0.2}"#).is_err());
    let round: AugmentConfig =
        serde_json::from_str(&serde_json::to_string(&everything(0.25)).unwrap()).unwrap();
    assert_eq!(round, everything(0.25));
}
