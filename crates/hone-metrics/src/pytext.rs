//! Python `str` semantics the reference tools rely on (`split()`, `rstrip()`),
//! so tokenisation splits on exactly the characters CPython treats as space.

/// CPython's `str.isspace`: Unicode White_Space plus the four ASCII
/// information separators U+001C..U+001F, which Rust does not count.
pub(crate) fn is_py_space(c: char) -> bool {
    c.is_whitespace() || ('\u{1c}'..='\u{1f}').contains(&c)
}

/// `str.split()` with no argument.
pub(crate) fn py_split(s: &str) -> impl Iterator<Item = &str> {
    s.split(is_py_space).filter(|t| !t.is_empty())
}

/// `str.rstrip()` with no argument.
pub(crate) fn py_rstrip(s: &str) -> &str {
    s.trim_end_matches(is_py_space)
}

/// `' '.join(s.split())`.
pub(crate) fn py_normalize_space(s: &str) -> String {
    py_split(s).collect::<Vec<_>>().join(" ")
}
