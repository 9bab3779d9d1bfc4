//! sacrebleu's BLEU tokenizers (`13a`, `intl`, `none`, `char`), reproduced
//! rule for rule so token counts, and therefore scores, match sacrebleu 2.6.

use std::str::FromStr;
use std::sync::LazyLock;

use regex::Regex;

use crate::error::{MetricsError, invalid};
use crate::pytext::{is_py_space, py_normalize_space, py_split};

/// Which sacrebleu tokenizer to apply before counting n-grams.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum BleuTokenizer {
    /// mteval-v13a.pl rules; sacrebleu's default.
    #[default]
    Tok13a,
    /// mteval-v14 "international" rules on Unicode punctuation and symbols.
    Intl,
    /// Whitespace split only.
    None,
    /// Every non-space character is a token.
    Char,
}

impl BleuTokenizer {
    /// The name sacrebleu puts in the signature (`tok:13a`).
    pub fn name(self) -> &'static str {
        match self {
            BleuTokenizer::Tok13a => "13a",
            BleuTokenizer::Intl => "intl",
            BleuTokenizer::None => "none",
            BleuTokenizer::Char => "char",
        }
    }

    /// Tokenizes one line into sacrebleu's space-joined form.
    pub fn tokenize(self, line: &str) -> String {
        match self {
            BleuTokenizer::Tok13a => tokenize_13a(line),
            BleuTokenizer::Intl => tokenize_intl(line),
            BleuTokenizer::None => line.to_string(),
            // sacrebleu joins every character with spaces; the later split drops
            // the whitespace characters themselves.
            BleuTokenizer::Char => {
                let chars: Vec<String> = line
                    .chars()
                    .filter(|c| !is_py_space(*c))
                    .map(String::from)
                    .collect();
                chars.join(" ")
            }
        }
    }
}

impl FromStr for BleuTokenizer {
    type Err = MetricsError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "13a" => Ok(BleuTokenizer::Tok13a),
            "intl" => Ok(BleuTokenizer::Intl),
            "none" => Ok(BleuTokenizer::None),
            "char" => Ok(BleuTokenizer::Char),
            other => Err(invalid(
                "tokenize",
                format!("unknown tokenizer {other:?} (expected 13a, intl, none or char)"),
            )),
        }
    }
}

fn re(pattern: &str) -> Regex {
    Regex::new(pattern).expect("static tokenizer pattern is valid")
}

/// sacrebleu's `TokenizerRegexp` rules, applied in order.
static RULES_13A: LazyLock<[(Regex, &'static str); 4]> = LazyLock::new(|| {
    [
        // Python class [\{-\~\[-\` -\&\(-\+\:-\@\/], written as explicit ranges.
        (
            re(r"([\x7B-\x7E\x5B-\x60\x20-\x26\x28-\x2B\x3A-\x40/])"),
            " ${1} ",
        ),
        (re(r"([^0-9])([\.,])"), "${1} ${2} "),
        (re(r"([\.,])([^0-9])"), " ${1} ${2}"),
        (re(r"([0-9])(-)"), "${1} ${2} "),
    ]
});

static RULES_INTL: LazyLock<[(Regex, &'static str); 3]> = LazyLock::new(|| {
    [
        (re(r"(\P{N})(\p{P})"), "${1} ${2} "),
        (re(r"(\p{P})(\P{N})"), " ${1} ${2}"),
        (re(r"(\p{S})"), " ${1} "),
    ]
});

fn apply_rules(mut line: String, rules: &[(Regex, &'static str)]) -> String {
    for (pattern, replacement) in rules {
        line = pattern.replace_all(&line, *replacement).into_owned();
    }
    py_normalize_space(&line)
}

fn tokenize_13a(line: &str) -> String {
    let mut line = line
        .replace("<skipped>", "")
        .replace("-\n", "")
        .replace('\n', " ");
    if line.contains('&') {
        line = line
            .replace("&quot;", "\"")
            .replace("&amp;", "&")
            .replace("&lt;", "<")
            .replace("&gt;", ">");
    }
    // The padding lets the period/comma rules see a non-digit at both ends.
    apply_rules(format!(" {line} "), &*RULES_13A)
}

fn tokenize_intl(line: &str) -> String {
    apply_rules(line.to_string(), &*RULES_INTL)
}

/// Splits a tokenized line into tokens (Python `str.split()`).
pub(crate) fn tokens(tokenized: &str) -> Vec<&str> {
    py_split(tokenized).collect()
}
