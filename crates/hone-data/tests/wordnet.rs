//! The real WordNet 3.0 (the `wordnet` asset) read as a synonym table and
//! used for augmentation; skipped with a note when the asset is not cached.

use std::path::PathBuf;
use std::time::Instant;

use hone_data::assets::{Cache, find_asset};
use hone_data::augment::{AugmentConfig, Augmenter, WordNet};

fn cached_wordnet() -> Option<PathBuf> {
    let asset = find_asset("wordnet").unwrap();
    let dir = Cache::from_env()
        .ok()?
        .asset_dir(asset.name)
        .join(asset.root);
    if dir.join("data.noun").is_file() {
        Some(dir)
    } else {
        eprintln!("skipped: the wordnet asset is not cached (run `hone fetch wordnet`)");
        None
    }
}

#[test]
fn real_wordnet_has_the_expected_synonyms() {
    let Some(dir) = cached_wordnet() else {
        return;
    };
    let start = Instant::now();
    let wn = WordNet::load(&dir).unwrap();
    eprintln!(
        "WordNet loaded in {:.3} s: {} words with synonyms",
        start.elapsed().as_secs_f64(),
        wn.len()
    );
    assert!(wn.len() > 50_000, "{}", wn.len());
    assert!(wn.synonyms("movie").iter().any(|s| s == "film"));
    assert!(wn.synonyms("Movie").iter().any(|s| s == "motion picture"));
    assert!(!wn.synonyms("good").is_empty());
    assert!(wn.synonyms("good").iter().all(|s| s != "good"));
    // Adjective markers are stripped: `outback(a)` is listed as `outback`.
    assert!(wn.synonyms("outback").iter().any(|s| s == "remote"));
    assert!(wn.synonyms("remote").iter().all(|s| !s.contains('(')));
    let sorted = |v: &[String]| v.windows(2).all(|w| w[0] < w[1]);
    assert!(sorted(wn.synonyms("good")) && sorted(wn.synonyms("run")));
}

#[test]
fn augments_a_review_with_real_synonyms() {
    let Some(dir) = cached_wordnet() else {
        return;
    };
    let aug = Augmenter::new(
        AugmentConfig {
            synonym: 0.5,
            word_insert: 0.1,
            char_substitute: 0.02,
            ..Default::default()
        },
        Some(WordNet::load(&dir).unwrap()),
    )
    .unwrap();
    let text = "The movie is a good, funny story about a quiet town.";
    let out = aug.augment(text, 11);
    eprintln!("{text}\n→ {out}");
    assert_ne!(out, text);
    assert_eq!(out, aug.augment(text, 11));
}
