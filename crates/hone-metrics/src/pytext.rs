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

/// Calls `f` on each token of `str.split()`, in order. ASCII text is split
/// byte by byte (the ASCII characters CPython counts as space are `\t`
/// through `\r`, U+001C through U+001F and the space), which is much faster
/// than decoding characters.
pub(crate) fn for_each_py_token<'a>(s: &'a str, mut f: impl FnMut(&'a str)) {
    if !s.is_ascii() {
        py_split(s).for_each(f);
        return;
    }
    let bytes = s.as_bytes();
    let mut start = None;
    for (i, &b) in bytes.iter().enumerate() {
        let space = matches!(b, b'\t'..=b'\r' | 0x1c..=0x1f | b' ');
        match (space, start) {
            (true, Some(st)) => {
                f(&s[st..i]);
                start = None;
            }
            (false, None) => start = Some(i),
            _ => {}
        }
    }
    if let Some(st) = start {
        f(&s[st..]);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ascii_fast_split_agrees_with_py_split() {
        let all_ascii: String = (0u8..128).map(char::from).collect();
        for s in [
            "",
            " ",
            "a",
            " a  b\tc\n",
            "x\u{1c}y\u{1f}z\u{0b}w\u{0c}v\r",
            &all_ascii,
            "é a\u{a0}b",
        ] {
            let mut fast = Vec::new();
            for_each_py_token(s, |t| fast.push(t));
            assert_eq!(fast, py_split(s).collect::<Vec<_>>(), "{s:?}");
        }
    }
}
