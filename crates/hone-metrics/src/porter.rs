//! The Porter stemmer exactly as nltk's `PorterStemmer()` runs it in its
//! default `NLTK_EXTENSIONS` mode (irregular-form table, the extra step-1/2
//! rules), because rouge-score stems with it.

/// nltk's irregular forms: word -> stem, checked before any rule.
const IRREGULAR: &[(&str, &str)] = &[
    ("sky", "sky"),
    ("skies", "sky"),
    ("dying", "die"),
    ("lying", "lie"),
    ("tying", "tie"),
    ("news", "news"),
    ("innings", "inning"),
    ("inning", "inning"),
    ("outings", "outing"),
    ("outing", "outing"),
    ("cannings", "canning"),
    ("canning", "canning"),
    ("howe", "howe"),
    ("proceed", "proceed"),
    ("exceed", "exceed"),
    ("succeed", "succeed"),
];

fn is_vowel(c: char) -> bool {
    matches!(c, 'a' | 'e' | 'i' | 'o' | 'u')
}

/// A `y` is a consonant at the start or after a vowel, so a run of `y`s
/// alternates, anchored on the first non-`y` before it.
fn is_consonant(w: &[char], mut i: usize) -> bool {
    if is_vowel(w[i]) {
        return false;
    }
    if w[i] != 'y' {
        return true;
    }
    let mut negate = false;
    while i > 0 && w[i] == 'y' {
        negate = !negate;
        i -= 1;
    }
    is_vowel(w[i]) == negate
}

/// Porter's m: the number of vowel-consonant sequences.
fn measure(stem: &[char]) -> usize {
    let flags: Vec<bool> = (0..stem.len()).map(|i| is_consonant(stem, i)).collect();
    flags.windows(2).filter(|p| !p[0] && p[1]).count()
}

fn contains_vowel(stem: &[char]) -> bool {
    (0..stem.len()).any(|i| !is_consonant(stem, i))
}

fn ends_double_consonant(w: &[char]) -> bool {
    let n = w.len();
    n >= 2 && w[n - 1] == w[n - 2] && is_consonant(w, n - 1)
}

fn ends_cvc(w: &[char]) -> bool {
    let n = w.len();
    (n >= 3
        && is_consonant(w, n - 3)
        && !is_consonant(w, n - 2)
        && is_consonant(w, n - 1)
        && !matches!(w[n - 1], 'w' | 'x' | 'y'))
        // NLTK extension: two-letter words such as "at" count as cvc.
        || (n == 2 && !is_consonant(w, 0) && is_consonant(w, 1))
}

fn ends_with(w: &[char], suffix: &str) -> bool {
    let s: Vec<char> = suffix.chars().collect();
    w.len() >= s.len() && w[w.len() - s.len()..] == s[..]
}

fn strip<'a>(w: &'a [char], suffix: &str) -> &'a [char] {
    &w[..w.len() - suffix.chars().count()]
}

fn join(stem: &[char], tail: &str) -> Vec<char> {
    stem.iter().copied().chain(tail.chars()).collect()
}

type Cond<'a> = &'a dyn Fn(&[char]) -> bool;

/// nltk's `_apply_rule_list`: the first rule whose suffix matches decides,
/// whether or not its condition holds.
fn apply_rules(w: &[char], rules: &[(&str, &str, Option<Cond<'_>>)]) -> Vec<char> {
    for &(suffix, replacement, cond) in rules {
        if suffix == "*d" && ends_double_consonant(w) {
            let stem = &w[..w.len() - 2];
            return if cond.is_none_or(|c| c(stem)) {
                join(stem, replacement)
            } else {
                w.to_vec()
            };
        }
        if ends_with(w, suffix) {
            let stem = strip(w, suffix);
            return if cond.is_none_or(|c| c(stem)) {
                join(stem, replacement)
            } else {
                w.to_vec()
            };
        }
    }
    w.to_vec()
}

fn m_gt0(s: &[char]) -> bool {
    measure(s) > 0
}

fn m_gt1(s: &[char]) -> bool {
    measure(s) > 1
}

fn step1a(w: &[char]) -> Vec<char> {
    if ends_with(w, "ies") && w.len() == 4 {
        return join(strip(w, "ies"), "ie");
    }
    apply_rules(
        w,
        &[
            ("sses", "ss", None),
            ("ies", "i", None),
            ("ss", "ss", None),
            ("s", "", None),
        ],
    )
}

fn step1b(w: &[char]) -> Vec<char> {
    if ends_with(w, "ied") {
        let tail = if w.len() == 4 { "ie" } else { "i" };
        return join(strip(w, "ied"), tail);
    }
    if ends_with(w, "eed") {
        let stem = strip(w, "eed");
        return if measure(stem) > 0 {
            join(stem, "ee")
        } else {
            w.to_vec()
        };
    }
    let mut inter: Option<&[char]> = None;
    for suffix in ["ed", "ing"] {
        if ends_with(w, suffix) {
            let s = strip(w, suffix);
            if contains_vowel(s) {
                inter = Some(s);
                break;
            }
        }
    }
    let Some(stem) = inter else {
        return w.to_vec();
    };
    let last = stem.last().copied();
    let last_str = last.map(String::from).unwrap_or_default();
    let not_lsz = |_: &[char]| !matches!(last, Some('l' | 's' | 'z'));
    let short = |s: &[char]| measure(s) == 1 && ends_cvc(s);
    apply_rules(
        stem,
        &[
            ("at", "ate", None),
            ("bl", "ble", None),
            ("iz", "ize", None),
            ("*d", &last_str, Some(&not_lsz)),
            ("", "e", Some(&short)),
        ],
    )
}

fn step1c(w: &[char]) -> Vec<char> {
    let cond = |s: &[char]| s.len() > 1 && is_consonant(s, s.len() - 1);
    apply_rules(w, &[("y", "i", Some(&cond))])
}

fn step2(w: &[char]) -> Vec<char> {
    if ends_with(w, "alli") && m_gt0(strip(w, "alli")) {
        return step2(&join(strip(w, "alli"), "al"));
    }
    let logi = |_: &[char]| m_gt0(&w[..w.len() - 3]);
    let m: Cond<'_> = &m_gt0;
    apply_rules(
        w,
        &[
            ("ational", "ate", Some(m)),
            ("tional", "tion", Some(m)),
            ("enci", "ence", Some(m)),
            ("anci", "ance", Some(m)),
            ("izer", "ize", Some(m)),
            ("bli", "ble", Some(m)),
            ("alli", "al", Some(m)),
            ("entli", "ent", Some(m)),
            ("eli", "e", Some(m)),
            ("ousli", "ous", Some(m)),
            ("ization", "ize", Some(m)),
            ("ation", "ate", Some(m)),
            ("ator", "ate", Some(m)),
            ("alism", "al", Some(m)),
            ("iveness", "ive", Some(m)),
            ("fulness", "ful", Some(m)),
            ("ousness", "ous", Some(m)),
            ("aliti", "al", Some(m)),
            ("iviti", "ive", Some(m)),
            ("biliti", "ble", Some(m)),
            ("fulli", "ful", Some(m)),
            ("logi", "log", Some(&logi)),
        ],
    )
}

fn step3(w: &[char]) -> Vec<char> {
    let m: Cond<'_> = &m_gt0;
    apply_rules(
        w,
        &[
            ("icate", "ic", Some(m)),
            ("ative", "", Some(m)),
            ("alize", "al", Some(m)),
            ("iciti", "ic", Some(m)),
            ("ical", "ic", Some(m)),
            ("ful", "", Some(m)),
            ("ness", "", Some(m)),
        ],
    )
}

fn step4(w: &[char]) -> Vec<char> {
    let m: Cond<'_> = &m_gt1;
    let ion = |s: &[char]| m_gt1(s) && matches!(s.last(), Some('s' | 't'));
    apply_rules(
        w,
        &[
            ("al", "", Some(m)),
            ("ance", "", Some(m)),
            ("ence", "", Some(m)),
            ("er", "", Some(m)),
            ("ic", "", Some(m)),
            ("able", "", Some(m)),
            ("ible", "", Some(m)),
            ("ant", "", Some(m)),
            ("ement", "", Some(m)),
            ("ment", "", Some(m)),
            ("ent", "", Some(m)),
            ("ion", "", Some(&ion)),
            ("ou", "", Some(m)),
            ("ism", "", Some(m)),
            ("ate", "", Some(m)),
            ("iti", "", Some(m)),
            ("ous", "", Some(m)),
            ("ive", "", Some(m)),
            ("ize", "", Some(m)),
        ],
    )
}

fn step5a(w: &[char]) -> Vec<char> {
    if ends_with(w, "e") {
        let stem = strip(w, "e");
        let m = measure(stem);
        if m > 1 || (m == 1 && !ends_cvc(stem)) {
            return stem.to_vec();
        }
    }
    w.to_vec()
}

fn step5b(w: &[char]) -> Vec<char> {
    let cond = |_: &[char]| m_gt1(&w[..w.len() - 1]);
    apply_rules(w, &[("ll", "l", Some(&cond))])
}

/// Stems one word as `nltk.stem.PorterStemmer().stem(word)` does
/// (lowercasing first).
pub fn porter_stem(word: &str) -> String {
    let lower = word.to_lowercase();
    if let Some((_, stem)) = IRREGULAR.iter().find(|(w, _)| *w == lower) {
        return (*stem).to_string();
    }
    // nltk tests the length of the word as given, before lowercasing.
    if word.chars().count() <= 2 {
        return lower;
    }
    let w: Vec<char> = lower.chars().collect();
    let w = step1a(&w);
    let w = step1b(&w);
    let w = step1c(&w);
    let w = step2(&w);
    let w = step3(&w);
    let w = step4(&w);
    let w = step5a(&w);
    let w = step5b(&w);
    w.into_iter().collect()
}
