//! sacrebleu's BLEU tokenizers (`13a`, `intl`, `none`, `char`), reproduced
//! rule for rule so token counts, and therefore scores, match sacrebleu 2.6.

use std::borrow::Cow;
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
            BleuTokenizer::Tok13a => py_normalize_space(&tokenize_13a(line)),
            BleuTokenizer::Intl => tokenize_intl(line),
            BleuTokenizer::None => line.to_string(),
            // sacrebleu joins every character with spaces; the later split drops
            // the whitespace characters themselves.
            BleuTokenizer::Char => {
                let mut out = String::with_capacity(2 * line.len());
                for c in line.chars().filter(|c| !is_py_space(*c)) {
                    if !out.is_empty() {
                        out.push(' ');
                    }
                    out.push(c);
                }
                out
            }
        }
    }

    /// What [`BleuTokenizer::tokenize`] returns up to whitespace: the same
    /// tokens under `str.split()`, without the final normalisation pass
    /// (BLEU only splits the result).
    pub(crate) fn tokenize_for_split(self, line: &str) -> String {
        match self {
            BleuTokenizer::Tok13a => tokenize_13a(line),
            other => other.tokenize(line),
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

/// mteval-v13a's rules, hand-written for speed, up to whitespace (see
/// `tokenize_for_split`). sacrebleu applies four regex substitutions in
/// turn; each is a one- or two-character pattern replaced left to right
/// without overlap, which the byte passes below reproduce exactly (the
/// patterns' fixed characters are ASCII, and a multi-byte character is never
/// an ASCII digit, so scanning bytes finds the same matches as scanning
/// characters). `tests::same_as_regex_rules` checks them against the regexes.
fn tokenize_13a(line: &str) -> String {
    let mut line = Cow::Borrowed(line);
    if line.contains("<skipped>") {
        line = line.replace("<skipped>", "").into();
    }
    if line.contains('\n') {
        line = line.replace("-\n", "").replace('\n', " ").into();
    }
    if line.contains('&') {
        line = line
            .replace("&quot;", "\"")
            .replace("&amp;", "&")
            .replace("&lt;", "<")
            .replace("&gt;", ">")
            .into();
    }
    // ([\{-\~\[-\` -\&\(-\+\:-\@\/]) -> " $1 ", on the line padded with a
    // space at both ends so the period/comma rules see a non-digit there.
    // The class includes the space itself; one space is kept instead of
    // three, because no later rule matches a pair of spaces, so the length
    // of a run of spaces changes nothing but the whitespace.
    let mut s = Vec::with_capacity(2 * line.len() + 2);
    s.push(b' ');
    for &b in line.as_bytes() {
        if b != b' '
            && matches!(b, 0x7B..=0x7E | 0x5B..=0x60 | 0x20..=0x26 | 0x28..=0x2B | 0x3A..=0x40 | b'/')
        {
            s.extend_from_slice(&[b' ', b, b' ']);
        } else {
            s.push(b);
        }
    }
    s.push(b' ');
    let is_period_or_comma = |b: u8| b == b'.' || b == b',';
    // The pair rules are skipped where they cannot match.
    if s.iter().any(|&b| is_period_or_comma(b)) {
        // ([^0-9])([\.,]) -> "$1 $2 "
        s = replace_pairs(
            &s,
            |a, b| !a.is_ascii_digit() && is_period_or_comma(b),
            |a, b| [a, b' ', b, b' '],
        );
        // ([\.,])([^0-9]) -> " $1 $2"
        s = replace_pairs(
            &s,
            |a, b| is_period_or_comma(a) && !b.is_ascii_digit(),
            |a, b| [b' ', a, b' ', b],
        );
    }
    if s.contains(&b'-') {
        // ([0-9])(-) -> "$1 $2 "
        s = replace_pairs(
            &s,
            |a, b| a.is_ascii_digit() && b == b'-',
            |a, b| [a, b' ', b, b' '],
        );
    }
    String::from_utf8(s).expect("the rules only insert ASCII spaces between characters")
}

/// One regex substitution of a two-character pattern: scanning left to
/// right, each non-overlapping pair `(a, b)` that `hit` accepts becomes `put(a, b)`.
fn replace_pairs(
    s: &[u8],
    hit: impl Fn(u8, u8) -> bool,
    put: impl Fn(u8, u8) -> [u8; 4],
) -> Vec<u8> {
    let mut out = Vec::with_capacity(s.len() + s.len() / 4);
    let mut i = 0;
    while i < s.len() {
        if i + 1 < s.len() && hit(s[i], s[i + 1]) {
            out.extend_from_slice(&put(s[i], s[i + 1]));
            i += 2;
        } else {
            out.push(s[i]);
            i += 1;
        }
    }
    out
}

fn tokenize_intl(line: &str) -> String {
    apply_rules(line.to_string(), &*RULES_INTL)
}

/// Splits a tokenized line into tokens (Python `str.split()`).
pub(crate) fn tokens(tokenized: &str) -> Vec<&str> {
    py_split(tokenized).collect()
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    /// sacrebleu's `TokenizerRegexp` rules as regexes: the reference the
    /// hand-written passes must reproduce.
    fn tokenize_13a_regex(line: &str) -> String {
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
        let rules = [
            (
                re(r"([\x7B-\x7E\x5B-\x60\x20-\x26\x28-\x2B\x3A-\x40/])"),
                " ${1} ",
            ),
            (re(r"([^0-9])([\.,])"), "${1} ${2} "),
            (re(r"([\.,])([^0-9])"), " ${1} ${2}"),
            (re(r"([0-9])(-)"), "${1} ${2} "),
        ];
        apply_rules(format!(" {line} "), &rules)
    }

    #[test]
    fn same_as_regex_rules_on_tricky_cases() {
        for s in [
            "",
            " ",
            "a.b",
            "1.5",
            "1,000.50",
            "a..b",
            ".,",
            ",.",
            "é.",
            ".é",
            "日本.x",
            "3-4",
            "a-b",
            "9--",
            "&quot;x&quot; &amp; &lt;b&gt;",
            "<skipped> hy-\nphen",
            "Mr. Smith's U.S.A. ... !!!",
            "\u{a0}.\u{3000},",
            "x.\u{301}",
            "1.\u{20ac}",
            "(a)[b]{c}|d~e^f_g`h",
            "2000s, 12.5% & $40.",
        ] {
            assert_eq!(
                BleuTokenizer::Tok13a.tokenize(s),
                tokenize_13a_regex(s),
                "{s:?}"
            );
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2000))]
        #[test]
        fn same_as_regex_rules(s in "[a-c0-9.,\\-&;<>'\" \t\n/()\\[\\]{}|~^_`!?@:=+*#$%é日\u{a0}\u{300}-]{0,24}") {
            prop_assert_eq!(BleuTokenizer::Tok13a.tokenize(&s), tokenize_13a_regex(&s));
        }
    }
}
