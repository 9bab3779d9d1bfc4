//! Word-level operations: dropout, swaps with the next word, WordNet synonym
//! replacement and EDA-style insertion of a synonym of some word at a random
//! position (Wei & Zou 2019). As in EDA, stop words are never replaced and
//! their synonyms never inserted.
//!
//! A text is held as its leading whitespace, a list of words each with the
//! whitespace that preceded it, and its trailing whitespace, so rendering an
//! untouched text gives it back byte for byte. Dropped words take their
//! preceding whitespace with them; inserted words are preceded by one space.

use rand_chacha::ChaCha8Rng;

use super::stopwords::is_stop_word;
use super::wordnet::WordNet;
use super::{below, chance};

/// One word and the whitespace before it (empty for the first word).
#[derive(Debug, Clone)]
pub(crate) struct Word {
    pub sep: String,
    pub text: String,
}

/// A text split into whitespace-separated words.
#[derive(Debug, Clone)]
pub(crate) struct Words {
    prefix: String,
    pub words: Vec<Word>,
    suffix: String,
}

impl Words {
    /// Splits `text` at Unicode whitespace, keeping every separator.
    pub fn parse(text: &str) -> Self {
        let body = text.trim_start();
        let prefix = text[..text.len() - body.len()].to_string();
        let core = body.trim_end();
        let suffix = body[core.len()..].to_string();
        let mut words = Vec::new();
        let mut rest = core;
        let mut sep = String::new();
        while !rest.is_empty() {
            let end = rest.find(char::is_whitespace).unwrap_or(rest.len());
            words.push(Word {
                sep: std::mem::take(&mut sep),
                text: rest[..end].to_string(),
            });
            rest = &rest[end..];
            let next = rest.trim_start();
            sep = rest[..rest.len() - next.len()].to_string();
            rest = next;
        }
        Self {
            prefix,
            words,
            suffix,
        }
    }

    /// Joins the words back, restoring the whitespace invariants after
    /// drops and insertions (no separator before the first word, at least
    /// one space between two words).
    pub fn render(mut self) -> String {
        for (i, w) in self.words.iter_mut().enumerate() {
            if i == 0 {
                w.sep.clear();
            } else if w.sep.is_empty() {
                w.sep.push(' ');
            }
        }
        let mut out = self.prefix;
        for w in &self.words {
            out.push_str(&w.sep);
            out.push_str(&w.text);
        }
        out.push_str(&self.suffix);
        out
    }

    /// Drops each word with probability `p`, keeping one random word when
    /// all would go.
    pub fn dropout(&mut self, p: f64, rng: &mut ChaCha8Rng) {
        if p <= 0.0 || self.words.is_empty() {
            return;
        }
        let keep: Vec<bool> = self.words.iter().map(|_| !chance(rng, p)).collect();
        if !keep.contains(&true) {
            let survivor = self.words.swap_remove(below(rng, self.words.len()));
            self.words = vec![survivor];
            return;
        }
        let mut keep = keep.into_iter();
        self.words.retain(|_| keep.next().unwrap_or(true));
    }

    /// Left to right, swaps a word with the next one with probability `p`;
    /// a swapped pair is not swapped again. Separators stay in place.
    pub fn swap(&mut self, p: f64, rng: &mut ChaCha8Rng) {
        if p <= 0.0 {
            return;
        }
        let mut i = 0;
        while i + 1 < self.words.len() {
            if chance(rng, p) {
                let next = std::mem::take(&mut self.words[i + 1].text);
                let this = std::mem::replace(&mut self.words[i].text, next);
                self.words[i + 1].text = this;
                i += 2;
            } else {
                i += 1;
            }
        }
    }

    /// Replaces each word that has synonyms with a random one, with
    /// probability `p`; punctuation around the word is kept.
    pub fn replace_synonyms(&mut self, p: f64, wordnet: &WordNet, rng: &mut ChaCha8Rng) {
        if p <= 0.0 {
            return;
        }
        for w in &mut self.words {
            let Some((lead, core, trail)) = replaceable(&w.text) else {
                continue;
            };
            let synonyms = wordnet.synonyms(core);
            if synonyms.is_empty() || !chance(rng, p) {
                continue;
            }
            let synonym = &synonyms[below(rng, synonyms.len())];
            w.text = format!("{lead}{}{trail}", match_case(core, synonym));
        }
    }

    /// For each word, with probability `p`, inserts a synonym of a random
    /// word of the text at a random position.
    pub fn insert_synonyms(&mut self, p: f64, wordnet: &WordNet, rng: &mut ChaCha8Rng) {
        if p <= 0.0 {
            return;
        }
        let candidates: Vec<&[String]> = self
            .words
            .iter()
            .filter_map(|w| replaceable(&w.text))
            .map(|(_, core, _)| wordnet.synonyms(core))
            .filter(|s| !s.is_empty())
            .collect();
        if candidates.is_empty() {
            return;
        }
        for _ in 0..self.words.len() {
            if !chance(rng, p) {
                continue;
            }
            let synonyms = candidates[below(rng, candidates.len())];
            let text = synonyms[below(rng, synonyms.len())].clone();
            let at = below(rng, self.words.len() + 1);
            self.words.insert(
                at,
                Word {
                    sep: " ".into(),
                    text,
                },
            );
        }
    }
}

/// The parts of a token whose letters synonyms may replace: not a stop word.
fn replaceable(token: &str) -> Option<(&str, &str, &str)> {
    split_punctuation(token).filter(|(_, core, _)| !is_stop_word(core))
}

/// `"(Movie),"` → `("(", "Movie", "),")`; `None` unless what is left after
/// stripping non-letters at both ends is letters only.
fn split_punctuation(token: &str) -> Option<(&str, &str, &str)> {
    let start = token.find(char::is_alphabetic)?;
    let end = token
        .char_indices()
        .rev()
        .find(|(_, c)| c.is_alphabetic())
        .map(|(i, c)| i + c.len_utf8())?;
    let core = &token[start..end];
    core.chars()
        .all(char::is_alphabetic)
        .then(|| (&token[..start], core, &token[end..]))
}

/// `synonym` with its first letter upper-cased when `original`'s is.
fn match_case(original: &str, synonym: &str) -> String {
    let capital = original.chars().next().is_some_and(char::is_uppercase);
    let mut chars = synonym.chars();
    match chars.next() {
        Some(first) if capital => first.to_uppercase().chain(chars).collect(),
        _ => synonym.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use rand::SeedableRng;

    use super::*;

    #[test]
    fn parse_render_round_trips() {
        for text in ["", "  ", "a", " a  b\tc\n", "one two", "\u{3000}x\u{3000}"] {
            assert_eq!(Words::parse(text).render(), text);
        }
    }

    #[test]
    fn punctuation_is_split_off_letters_only() {
        assert_eq!(split_punctuation("(Movie),"), Some(("(", "Movie", "),")));
        assert_eq!(split_punctuation("don't"), None);
        assert_eq!(split_punctuation("42"), None);
        assert_eq!(split_punctuation("..."), None);
        assert_eq!(split_punctuation("café!"), Some(("", "café", "!")));
    }

    #[test]
    fn synonyms_keep_capital_and_punctuation() {
        let wn = WordNet::from_synsets(vec![vec!["movie", "film"], vec!["a", "axerophthol"]]);
        let mut words = Words::parse("\"Movie!\" a movie.");
        words.replace_synonyms(1.0, &wn, &mut ChaCha8Rng::seed_from_u64(0));
        assert_eq!(words.render(), "\"Film!\" a film.");
        assert_eq!(match_case("Ok", "éclair"), "Éclair");
    }

    #[test]
    fn dropping_the_first_word_leaves_no_leading_space() {
        let mut words = Words::parse(" a b");
        words.words.remove(0);
        assert_eq!(words.render(), " b");
    }

    #[test]
    fn insertion_adds_synonyms_of_present_words() {
        let wn = WordNet::from_synsets(vec![vec!["movie", "film"]]);
        let mut words = Words::parse("a movie");
        words.insert_synonyms(1.0, &wn, &mut ChaCha8Rng::seed_from_u64(1));
        let out = words.render();
        assert_eq!(out.split(' ').filter(|w| *w == "film").count(), 2, "{out}");
        assert_eq!(out.split(' ').count(), 4, "{out}");
    }
}
