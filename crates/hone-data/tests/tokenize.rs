//! Truncation strategies and dynamic padding with the real MiniLM tokenizer
//! (the `minilm-l6` asset), and the padding that length bucketing saves on the
//! Pang & Lee sentences; skipped with a note when an asset is not cached.

use std::path::PathBuf;

use hone_data::assets::{Cache, FetchOptions, find_asset};
use hone_data::batching::{bucketed_batches, pad_to_max_tokens, padding_stats, shuffled_batches};
use hone_data::datasets::{BuiltinDataset, load_builtin};
use hone_data::tokenize::{TextTokenizer, Truncation};

const CLS: u32 = 101;
const SEP: u32 = 102;

fn cached(asset: &str, file: &str) -> Option<PathBuf> {
    let asset = find_asset(asset).unwrap();
    let root = Cache::from_env()
        .ok()?
        .asset_dir(asset.name)
        .join(asset.root);
    if root.join(file).exists() {
        Some(root)
    } else {
        eprintln!("skipped: the {} asset is not cached", asset.name);
        None
    }
}

fn minilm(max_len: usize) -> Option<TextTokenizer> {
    let dir = cached("minilm-l6", "tokenizer.json")?;
    Some(TextTokenizer::from_file(&dir.join("tokenizer.json"), max_len).unwrap())
}

const WORDS: [&str; 20] = [
    "one",
    "two",
    "three",
    "four",
    "five",
    "six",
    "seven",
    "eight",
    "nine",
    "ten",
    "eleven",
    "twelve",
    "thirteen",
    "fourteen",
    "fifteen",
    "sixteen",
    "seventeen",
    "eighteen",
    "nineteen",
    "twenty",
];

/// The content ids (no special tokens) of `words`, untruncated.
fn content(tok: &TextTokenizer, words: &[&str]) -> Vec<u32> {
    let ids = tok.encode_batch(&[&words.join(" ")]).unwrap().input_ids;
    ids[1..ids.len() - 1].to_vec()
}

#[test]
fn strategies_keep_head_tail_or_both() {
    let Some(tok) = minilm(16) else {
        return;
    };
    let full = minilm(64).unwrap();
    let numbers = content(&full, &WORDS);
    assert_eq!(numbers.len(), 20, "each number word is one token");
    let text = WORDS.join(" ");
    let ids = |t: Truncation| {
        let tok = minilm(16).unwrap().with_truncation(t);
        let batch = tok.encode_batch(&[&text]).unwrap();
        assert_eq!((batch.batch, batch.seq_len), (1, 16), "{t}");
        assert_eq!((batch.input_ids[0], batch.input_ids[15]), (CLS, SEP), "{t}");
        batch.input_ids[1..15].to_vec()
    };
    assert_eq!(tok.truncation(), Truncation::Head);
    assert_eq!(ids(Truncation::Head), numbers[..14]);
    assert_eq!(ids(Truncation::Tail), numbers[6..]);
    let both = [&numbers[..4], &numbers[10..]].concat();
    assert_eq!(ids(Truncation::HeadTail { head: None }), both);
    let both = [&numbers[..10], &numbers[16..]].concat();
    assert_eq!(ids(Truncation::HeadTail { head: Some(10) }), both);
    assert_eq!(
        tok.token_lengths(&[&text, "one two", ""]).unwrap(),
        [16, 4, 2]
    );
}

#[test]
fn batches_pad_to_their_longest_member() {
    let Some(tok) = minilm(16) else {
        return;
    };
    let tok = tok.with_truncation(Truncation::Tail);
    let long = WORDS.join(" ");
    let batch = tok.encode_batch(&["one two", &long, ""]).unwrap();
    assert_eq!((batch.batch, batch.seq_len), (3, 16));
    assert_eq!(
        &batch.input_ids[..5],
        [
            CLS,
            content(&tok, &["one"])[0],
            content(&tok, &["two"])[0],
            SEP,
            0
        ]
    );
    assert_eq!(batch.attention_mask[..16].iter().sum::<u32>(), 4);
    assert_eq!(batch.attention_mask[16..32].iter().sum::<u32>(), 16);
    assert_eq!(&batch.input_ids[32..35], [CLS, SEP, 0]);
    assert!(batch.token_type_ids.iter().all(|&t| t == 0));
    let lengths = tok.token_lengths(&["one two", &long, ""]).unwrap();
    assert_eq!(lengths, [4, 16, 2]);
    assert_eq!(tok.encode_batch(&[]).unwrap().batch, 0);
}

#[test]
fn windows_read_a_long_text_whole_and_short_texts_once() {
    let Some(tok) = minilm(16) else {
        return;
    };
    let full = minilm(64).unwrap();
    let numbers = content(&full, &WORDS);
    let long = WORDS.join(" ");
    // 20 content tokens, 14 per window: windows at 0 and 6 (end-aligned).
    let tok = tok.with_truncation(Truncation::Tail).with_windows(4);
    assert_eq!(tok.windows(), 4);
    let pieces = tok.encode_pieces(&["one two", &long, ""]).unwrap();
    assert_eq!(pieces.owners(), [0, 1, 1, 2]);
    assert_eq!(pieces.n_texts(), 3);
    // piece_counts says how many pieces each text is read as.
    assert_eq!(
        tok.piece_counts(&["one two", &long, ""]).unwrap(),
        [1, 2, 1]
    );
    assert_eq!(pieces.lengths(), [4, 16, 16, 2]);
    let batch = pieces.batch(&[1, 2]).unwrap();
    assert_eq!((batch.batch, batch.seq_len), (2, 16));
    assert_eq!(batch.input_ids[1..15], numbers[..14]);
    assert_eq!(batch.input_ids[17..31], numbers[6..]);
    assert_eq!((batch.input_ids[16], batch.input_ids[31]), (CLS, SEP));
    // Training reads the window a pick chooses, modulo the text's windows.
    let picked = tok
        .encode_batch_windows(&[&long, &long, "one two"], &[0, 3, 1])
        .unwrap();
    assert_eq!(picked.input_ids[1..15], numbers[..14]);
    assert_eq!(picked.input_ids[17..31], numbers[6..]);
    assert_eq!(picked.input_ids[32..36], [CLS, numbers[0], numbers[1], SEP]);
    // One window: the truncation strategy decides, as in encode_batch.
    let once = tok.with_windows(1).encode_pieces(&[&long]).unwrap();
    assert_eq!(once.owners(), [0]);
    assert_eq!(
        once.batch(&[0]).unwrap(),
        minilm(16)
            .unwrap()
            .with_truncation(Truncation::Tail)
            .encode_batch(&[&long])
            .unwrap()
    );
    // Three windows of a text that needs two: still two.
    let twice = minilm(16).unwrap().with_windows(3);
    assert_eq!(twice.encode_pieces(&[&long]).unwrap().len(), 2);
    assert_eq!(twice.piece_counts(&[&long]).unwrap(), [2]);
}

#[test]
fn the_pieces_digest_changes_exactly_when_the_encoder_inputs_do() {
    let Some(tok) = minilm(16) else {
        return;
    };
    let long = WORDS.join(" ");
    let digest = |tok: &TextTokenizer, texts: &[&str]| tok.encode_pieces(texts).unwrap().digest();
    let base = digest(&tok, &["one two", &long]);
    assert_eq!(base, digest(&minilm(16).unwrap(), &["one two", &long]));
    // Same tokens by another route: a short text reads the same with windows.
    assert_eq!(
        digest(&tok, &["one two"]),
        digest(&minilm(16).unwrap().with_windows(4), &["one two"])
    );
    for other in [
        digest(&tok, &["one three", &long]),
        digest(&tok, &[&long, "one two"]),
        digest(&tok, &["one two"]),
        digest(&minilm(17).unwrap(), &["one two", &long]),
        digest(
            &minilm(16).unwrap().with_truncation(Truncation::Tail),
            &["one two", &long],
        ),
        digest(&minilm(16).unwrap().with_windows(2), &["one two", &long]),
    ] {
        assert_ne!(other, base);
    }
}

#[test]
fn max_len_must_leave_room_for_text() {
    let Some(dir) = cached("minilm-l6", "tokenizer.json") else {
        return;
    };
    let err = TextTokenizer::from_file(&dir.join("tokenizer.json"), 2)
        .err()
        .unwrap()
        .to_string();
    assert!(err.contains("max_len 2"), "{err}");
}

#[test]
fn bucketing_saves_padding_on_pang_lee() {
    let (Some(tok), Some(_)) = (minilm(128), cached("pang-lee", "")) else {
        return;
    };
    let cache = Cache::from_env().unwrap();
    let data = load_builtin(BuiltinDataset::PangLee, &cache, &FetchOptions::default())
        .unwrap()
        .dataset;
    let texts: Vec<&str> = data.examples.iter().map(|e| e.text.as_str()).collect();
    let lengths = tok.token_lengths(&texts).unwrap();
    let batch = 32;
    let fixed = pad_to_max_tokens(&lengths, 128);
    let shuffled = padding_stats(
        &lengths,
        &shuffled_batches(lengths.len(), batch, 0).unwrap(),
    );
    let bucketed = padding_stats(&lengths, &bucketed_batches(&lengths, batch, 0).unwrap());
    for (name, s) in [
        ("max_len 128", fixed),
        ("shuffled", shuffled),
        ("bucketed", bucketed),
    ] {
        eprintln!(
            "pang-lee, {} texts, batch {batch}, {name}: {} real / {} padded tokens ({:.1}% real)",
            lengths.len(),
            s.real_tokens,
            s.padded_tokens,
            100.0 * s.efficiency()
        );
    }
    assert!(bucketed.padded_tokens < shuffled.padded_tokens);
    assert!(shuffled.padded_tokens < fixed.padded_tokens);
}

#[test]
fn vocabulary_texts_are_seeded_whole_words_of_the_vocabulary() {
    let Some(tok) = minilm(128) else { return };
    let texts = tok.vocabulary_texts(20, 7).unwrap();
    assert_eq!(texts, tok.vocabulary_texts(20, 7).unwrap());
    assert_ne!(texts, tok.vocabulary_texts(20, 8).unwrap());
    assert_eq!(texts.len(), 20);
    for text in &texts {
        let words: Vec<&str> = text.split(' ').collect();
        assert!((4..=40).contains(&words.len()), "{text}");
        for w in words {
            assert!(
                w.len() >= 2 && w.chars().all(|c| c.is_ascii_alphabetic()),
                "{w}"
            );
            // A whole vocabulary word encodes to one token.
            assert_eq!(tok.token_lengths(&[w]).unwrap(), vec![3], "{w}");
        }
    }
}
