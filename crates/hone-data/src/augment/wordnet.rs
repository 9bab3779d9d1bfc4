//! WordNet 3.0 read as a synonym table: every lemma maps to the other lemmas
//! of the synsets it belongs to, taken from the database files `data.noun`,
//! `data.verb`, `data.adj` and `data.adv` (the `wordnet` asset).
//!
//! A data file starts with a license header whose lines begin with two
//! spaces; every other line is one synset:
//! `offset lex_filenum ss_type w_cnt word lex_id [word lex_id …] p_cnt …`,
//! with `w_cnt` in two hexadecimal digits. Lemmas are written with `_` for a
//! space, and adjectives may carry a syntactic marker (`(a)`, `(p)`, `(ip)`);
//! both are undone here. Only the word lists are read, so loading the whole
//! database is a single pass over its 22 MB.

use std::collections::HashMap;
use std::path::Path;

use crate::assets::{Cache, FetchOptions, fetch, find_asset};
use crate::{DataError, Result};

/// The data files read, in this order, when present.
pub const DATA_FILES: [&str; 4] = ["data.noun", "data.verb", "data.adj", "data.adv"];

/// Adjective position markers that WordNet appends to some lemmas.
const MARKERS: [&str; 3] = ["(a)", "(p)", "(ip)"];

/// Lowercase word → its synonyms, sorted and deduplicated.
#[derive(Debug, Clone, Default)]
pub struct WordNet {
    synonyms: HashMap<String, Vec<String>>,
}

impl WordNet {
    /// Reads the WordNet data files present in `dir`; at least one of
    /// [`DATA_FILES`] must exist.
    pub fn load(dir: &Path) -> Result<Self> {
        let mut builder = Builder::default();
        let mut found = 0;
        for name in DATA_FILES {
            let path = dir.join(name);
            if !path.is_file() {
                continue;
            }
            found += 1;
            let bytes = std::fs::read(&path).map_err(|e| DataError::io(&path, e))?;
            let text = std::str::from_utf8(&bytes).map_err(|e| DataError::BadData {
                path: path.clone(),
                detail: format!("not UTF-8 text: {e}"),
            })?;
            for (i, line) in text.lines().enumerate() {
                if line.starts_with("  ") || line.trim().is_empty() {
                    continue;
                }
                let lemmas = parse_synset(line).map_err(|detail| DataError::BadData {
                    path: path.clone(),
                    detail: format!("line {}: {detail}", i + 1),
                })?;
                builder.add(&lemmas);
            }
        }
        if found == 0 {
            return Err(DataError::MissingFile {
                path: dir.into(),
                what: format!("WordNet data files (any of {})", DATA_FILES.join(", ")),
                asset: "wordnet".into(),
            });
        }
        Ok(builder.finish())
    }

    /// Fetches the `wordnet` asset into `cache` if needed, then loads it.
    pub fn from_asset(cache: &Cache, opts: &FetchOptions) -> Result<Self> {
        let outcome = fetch(find_asset("wordnet")?, cache, opts)?;
        Self::load(outcome.path())
    }

    /// A table built from explicit synsets (lemmas in WordNet spelling, so
    /// `_` stands for a space); for tests and small custom thesauri.
    pub fn from_synsets(synsets: Vec<Vec<&str>>) -> Self {
        let mut builder = Builder::default();
        for synset in synsets {
            builder.add(&synset);
        }
        builder.finish()
    }

    /// The synonyms of `word` (case-insensitive), empty when it has none.
    pub fn synonyms(&self, word: &str) -> &[String] {
        self.synonyms
            .get(&word.to_lowercase())
            .map_or(&[], Vec::as_slice)
    }

    /// Number of words that have at least one synonym.
    pub fn len(&self) -> usize {
        self.synonyms.len()
    }

    pub fn is_empty(&self) -> bool {
        self.synonyms.is_empty()
    }
}

/// The lemmas of one synset line, as written in the file.
fn parse_synset(line: &str) -> std::result::Result<Vec<&str>, String> {
    let mut fields = line.split(' ');
    let offset = fields.next().unwrap_or_default();
    if offset.is_empty() || !offset.bytes().all(|b| b.is_ascii_digit()) {
        return Err(format!("expected a synset offset, found `{offset}`"));
    }
    let w_cnt = fields.nth(2).ok_or("line ends before the word count")?;
    let count = usize::from_str_radix(w_cnt, 16)
        .map_err(|_| format!("word count `{w_cnt}` is not hexadecimal"))?;
    let mut lemmas = Vec::with_capacity(count);
    for _ in 0..count {
        let word = fields.next().filter(|w| !w.is_empty());
        let lex_id = fields.next();
        match (word, lex_id) {
            (Some(word), Some(_)) => lemmas.push(word),
            _ => return Err(format!("line ends before its {count} words")),
        }
    }
    Ok(lemmas)
}

/// `good_will` → `good will`, `outback(a)` → `outback`.
fn normalize_lemma(lemma: &str) -> String {
    let bare = MARKERS
        .iter()
        .find_map(|m| lemma.strip_suffix(m))
        .unwrap_or(lemma);
    bare.replace('_', " ")
}

/// Accumulates synsets, then sorts and deduplicates once.
#[derive(Default)]
struct Builder {
    synonyms: HashMap<String, Vec<String>>,
}

impl Builder {
    fn add(&mut self, synset: &[&str]) {
        if synset.len() < 2 {
            return;
        }
        let lemmas: Vec<(String, String)> = synset
            .iter()
            .map(|l| {
                let lemma = normalize_lemma(l);
                (lemma.to_lowercase(), lemma)
            })
            .collect();
        for (key, _) in &lemmas {
            let others = lemmas
                .iter()
                .filter(|(other, _)| other != key)
                .map(|(_, lemma)| lemma.clone());
            let mut others = others.peekable();
            if others.peek().is_some() {
                self.synonyms.entry(key.clone()).or_default().extend(others);
            }
        }
    }

    fn finish(mut self) -> WordNet {
        for list in self.synonyms.values_mut() {
            list.sort_unstable();
            list.dedup();
        }
        WordNet {
            synonyms: self.synonyms,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOUN: &str = concat!(
        "  1 This software and database is being provided to you, the LICENSEE, by  \n",
        "  2 Princeton University under the following license.  \n",
        "06613686 10 n 03 movie 0 film 0 motion_picture 0 001 @ 06613056 n 0000 | a form of entertainment\n",
        "00049003 04 n 02 entrance 0 Entry 0 000 | the act of entering\n",
    );
    const ADJ: &str = concat!(
        "00020103 00 s 02 outback(a) 0 remote 0 000 | inaccessible\n",
        "01123148 00 a 02 good 0 well(p) 0 000 | having desirable qualities\n",
    );

    fn database() -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("data.noun"), NOUN).unwrap();
        std::fs::write(dir.path().join("data.adj"), ADJ).unwrap();
        dir
    }

    #[test]
    fn reads_synsets_and_skips_the_license() {
        let wn = WordNet::load(database().path()).unwrap();
        assert_eq!(wn.synonyms("movie"), ["film", "motion picture"]);
        assert_eq!(wn.synonyms("Motion Picture"), ["film", "movie"]);
        assert_eq!(wn.synonyms("outback"), ["remote"]);
        assert_eq!(wn.synonyms("good"), ["well"]);
        assert_eq!(wn.synonyms("entry"), ["entrance"]);
        assert!(wn.synonyms("this").is_empty());
        assert!(wn.synonyms("unknown").is_empty());
    }

    #[test]
    fn merges_synsets_without_duplicates_or_self() {
        let wn = WordNet::from_synsets(vec![
            vec!["good", "well", "Good"],
            vec!["good", "well", "full"],
        ]);
        assert_eq!(wn.synonyms("good"), ["full", "well"]);
        assert_eq!(wn.synonyms("well"), ["Good", "full", "good"]);
    }

    #[test]
    fn a_folder_without_data_files_is_named() {
        let dir = tempfile::tempdir().unwrap();
        let err = WordNet::load(dir.path()).unwrap_err().to_string();
        assert!(err.contains(&dir.path().display().to_string()), "{err}");
        assert!(err.contains("data.noun"), "{err}");
    }

    #[test]
    fn a_corrupt_line_is_reported_with_its_number() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("data.verb"),
            "  header\n00001 29 v zz walk 0\n",
        )
        .unwrap();
        let err = WordNet::load(dir.path()).unwrap_err().to_string();
        assert!(err.contains("data.verb") && err.contains("line 2"), "{err}");
    }
}
