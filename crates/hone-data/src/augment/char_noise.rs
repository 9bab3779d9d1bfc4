//! Character noise inside one word: swaps of neighbouring characters,
//! deletions, insertions of a random letter, and keyboard typos (a letter
//! replaced by one of its QWERTY neighbours, keeping its case).
//!
//! The operations work on `char`s, so a multi-byte character is moved or
//! dropped whole and never split. A word is never emptied: when every
//! character would be deleted, its first character stays.

use rand_chacha::ChaCha8Rng;

use super::{AugmentConfig, below, chance};

/// The letters a random insertion draws from.
const ALPHABET: &[u8; 26] = b"abcdefghijklmnopqrstuvwxyz";

/// Applies the character operations of `config` to `word`, in this order:
/// one left-to-right pass of pairwise swaps (a swapped pair is not swapped
/// again), then, per character, deletion, else substitution, then insertion
/// of a random letter after it.
pub(crate) fn noise_word(word: &str, config: &AugmentConfig, rng: &mut ChaCha8Rng) -> String {
    let mut chars: Vec<char> = word.chars().collect();
    if config.char_swap > 0.0 {
        let mut i = 0;
        while i + 1 < chars.len() {
            if chance(rng, config.char_swap) {
                chars.swap(i, i + 1);
                i += 2;
            } else {
                i += 1;
            }
        }
    }
    let mut out = String::with_capacity(word.len() + 4);
    for &c in &chars {
        if chance(rng, config.char_delete) {
            continue;
        }
        if chance(rng, config.char_substitute) {
            out.push(keyboard_typo(c, rng));
        } else {
            out.push(c);
        }
        if chance(rng, config.char_insert) {
            out.push(char::from(ALPHABET[below(rng, ALPHABET.len())]));
        }
    }
    if out.is_empty()
        && let Some(&first) = chars.first()
    {
        out.push(first);
    }
    out
}

/// A QWERTY neighbour of `c` in the same case; `c` itself when it is not an
/// ASCII letter.
fn keyboard_typo(c: char, rng: &mut ChaCha8Rng) -> char {
    let lower = c.to_ascii_lowercase();
    let Some(near) = neighbours(lower) else {
        return c;
    };
    let typo = char::from(near.as_bytes()[below(rng, near.len())]);
    if c.is_ascii_uppercase() {
        typo.to_ascii_uppercase()
    } else {
        typo
    }
}

/// Keys next to a lowercase letter on a QWERTY keyboard.
fn neighbours(c: char) -> Option<&'static str> {
    Some(match c {
        'a' => "qwsz",
        'b' => "vghn",
        'c' => "xdfv",
        'd' => "serfcx",
        'e' => "wsdr",
        'f' => "drtgvc",
        'g' => "ftyhbv",
        'h' => "gyujnb",
        'i' => "ujko",
        'j' => "huikmn",
        'k' => "jiolm",
        'l' => "kop",
        'm' => "njk",
        'n' => "bhjm",
        'o' => "iklp",
        'p' => "ol",
        'q' => "wa",
        'r' => "edft",
        's' => "awedxz",
        't' => "rfgy",
        'u' => "yhji",
        'v' => "cfgb",
        'w' => "qase",
        'x' => "zsdc",
        'y' => "tghu",
        'z' => "asx",
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use rand::SeedableRng;

    use super::*;

    fn with(f: impl FnOnce(&mut AugmentConfig)) -> AugmentConfig {
        let mut config = AugmentConfig::default();
        f(&mut config);
        config
    }

    #[test]
    fn swap_with_certainty_swaps_pairs() {
        let config = with(|c| c.char_swap = 1.0);
        let mut rng = ChaCha8Rng::seed_from_u64(0);
        assert_eq!(noise_word("ab", &config, &mut rng), "ba");
        assert_eq!(noise_word("abcde", &config, &mut rng), "badce");
        assert_eq!(noise_word("éß", &config, &mut rng), "ßé");
    }

    #[test]
    fn delete_with_certainty_keeps_the_first_char() {
        let config = with(|c| c.char_delete = 1.0);
        let mut rng = ChaCha8Rng::seed_from_u64(0);
        assert_eq!(noise_word("word", &config, &mut rng), "w");
    }

    #[test]
    fn typos_are_keyboard_neighbours_in_the_same_case() {
        let config = with(|c| c.char_substitute = 1.0);
        let mut rng = ChaCha8Rng::seed_from_u64(3);
        let out: Vec<char> = noise_word("Gp7é", &config, &mut rng).chars().collect();
        assert!("FTYHBV".contains(out[0]), "{out:?}");
        assert!("ol".contains(out[1]), "{out:?}");
        assert_eq!(&out[2..], ['7', 'é']);
    }

    #[test]
    fn insert_with_certainty_doubles_the_length() {
        let config = with(|c| c.char_insert = 1.0);
        let mut rng = ChaCha8Rng::seed_from_u64(0);
        let out: Vec<char> = noise_word("abc", &config, &mut rng).chars().collect();
        assert_eq!(out.len(), 6);
        assert_eq!([out[0], out[2], out[4]], ['a', 'b', 'c']);
        assert!(out.iter().all(char::is_ascii_lowercase));
    }
}
