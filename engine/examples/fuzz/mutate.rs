//! The mutator: small, seeded edits of bytes and text that tend to reach the corners of a
//! parser (boundary numbers, truncation, repeated or missing pieces, swapped keywords).

use hyphae::Rng;

/// Integers at the edges of the types and sizes readers compute with.
pub const INTERESTING_INTS: &[u64] = &[
    0,
    1,
    2,
    3,
    4,
    5,
    7,
    8,
    16,
    28,
    31,
    32,
    63,
    64,
    100,
    255,
    256,
    1000,
    4096,
    65535,
    65536,
    100_000,
    1 << 24,
    (1 << 31) - 1,
    1 << 31,
    (1 << 32) - 1,
    1 << 32,
    (1 << 32) + 1,
    1 << 40,
    1 << 53,
    1 << 62,
    1 << 63,
    u64::MAX,
];

/// Floats that break arithmetic: signs, zeros, tiny, huge, non-finite.
pub const INTERESTING_FLOATS: &[&str] = &[
    "0.0",
    "-0.0",
    "1.0",
    "-1.0",
    "0.5",
    "2.0",
    "1e-8",
    "1e-45",
    "0.999999",
    "1.0000001",
    "1e10",
    "3.4e38",
    "-3.4e38",
    "1e39",
    "NaN",
    "inf",
    "-inf",
];

/// One of `items`.
pub fn pick<'a, T>(rng: &mut Rng, items: &'a [T]) -> &'a T {
    &items[rng.below(items.len())]
}

/// An integer from [`INTERESTING_INTS`], sometimes nudged by one.
pub fn interesting_int(rng: &mut Rng) -> u64 {
    let v = *pick(rng, INTERESTING_INTS);
    match rng.below(4) {
        0 => v.wrapping_add(1),
        1 => v.wrapping_sub(1),
        _ => v,
    }
}

/// A replacement for a number in text: an interesting integer, float or a negative.
pub fn interesting_number(rng: &mut Rng) -> String {
    match rng.below(5) {
        0 | 1 => interesting_int(rng).to_string(),
        2 => format!("-{}", interesting_int(rng)),
        _ => pick(rng, INTERESTING_FLOATS).to_string(),
    }
}

/// Byte ranges of the numeric literals in `text` (digits, with sign, point and exponent).
pub fn number_spans(text: &str) -> Vec<(usize, usize)> {
    let b = text.as_bytes();
    let mut spans = Vec::new();
    let mut i = 0;
    while i < b.len() {
        let starts = b[i].is_ascii_digit()
            && (i == 0 || !(b[i - 1].is_ascii_alphanumeric() || b[i - 1] == b'_'));
        if !starts {
            i += 1;
            continue;
        }
        let start = if i > 0 && b[i - 1] == b'-' { i - 1 } else { i };
        let mut j = i;
        while j < b.len() && (b[j].is_ascii_digit() || matches!(b[j], b'.' | b'e' | b'E')) {
            j += 1;
        }
        spans.push((start, j));
        i = j;
    }
    spans
}

/// Replaces one numeric literal of `text` with an interesting number (None: no numbers).
pub fn replace_number(rng: &mut Rng, text: &str) -> Option<String> {
    let spans = number_spans(text);
    if spans.is_empty() {
        return None;
    }
    let (s, e) = *pick(rng, &spans);
    Some(format!(
        "{}{}{}",
        &text[..s],
        interesting_number(rng),
        &text[e..]
    ))
}

/// Replaces one occurrence of a word of `words` in `text` with another word of `words`.
pub fn swap_word(rng: &mut Rng, text: &str, words: &[&str]) -> Option<String> {
    let hits: Vec<(usize, &str)> = words
        .iter()
        .flat_map(|w| text.match_indices(w).map(|(i, _)| (i, *w)).take(8))
        .collect();
    if hits.is_empty() {
        return None;
    }
    let (at, old) = *pick(rng, &hits);
    let new = pick(rng, words);
    Some(format!("{}{new}{}", &text[..at], &text[at + old.len()..]))
}

/// Generic byte edits: flip, set, insert, delete, duplicate, truncate, splice.
pub fn mutate_bytes(rng: &mut Rng, data: &mut Vec<u8>, alphabet: &[u8], other: &[u8]) {
    let len = data.len();
    let at = |rng: &mut Rng| rng.below(len.max(1));
    match rng.below(9) {
        0 if len > 0 => {
            let i = at(rng);
            data[i] ^= 1 << rng.below(8);
        }
        1 if len > 0 => {
            let i = at(rng);
            data[i] = *pick(rng, &[0u8, 1, 0x7f, 0x80, 0xff, b'0', b'9', b'-', b'"']);
        }
        2 => {
            let i = rng.below(len + 1);
            let c = if alphabet.is_empty() {
                rng.next_u64() as u8
            } else {
                *pick(rng, alphabet)
            };
            data.insert(i, c);
        }
        3 if len > 0 => {
            let i = at(rng);
            let n = 1 + rng.below(16.min(len - i));
            data.drain(i..i + n);
        }
        4 if len > 0 => {
            let i = at(rng);
            let n = 1 + rng.below(64.min(len - i));
            let piece: Vec<u8> = data[i..i + n].to_vec();
            let j = rng.below(len + 1);
            data.splice(j..j, piece);
        }
        5 if len > 0 => data.truncate(at(rng)),
        6 if !other.is_empty() => {
            // Splice: our head, another input's tail.
            let cut = rng.below(len + 1);
            let from = rng.below(other.len());
            data.truncate(cut);
            data.extend_from_slice(&other[from..]);
        }
        7 if len >= 4 => {
            // An interesting little- or big-endian u32 over four bytes.
            let i = rng.below(len - 3);
            let v = interesting_int(rng) as u32;
            let bytes = if rng.below(2) == 0 {
                v.to_le_bytes()
            } else {
                v.to_be_bytes()
            };
            data[i..i + 4].copy_from_slice(&bytes);
        }
        _ => data.extend(std::iter::repeat_n(
            *pick(rng, alphabet.get(..1).unwrap_or(b"0")),
            1 + rng.below(8),
        )),
    }
}

/// Text edits: numbers and keywords first (they reach deepest), then raw bytes.
pub fn mutate_text(rng: &mut Rng, text: &str, words: &[&str], other: &str) -> String {
    let edited = match rng.below(4) {
        0 => replace_number(rng, text),
        1 => swap_word(rng, text, words),
        _ => None,
    };
    edited.unwrap_or_else(|| {
        let mut bytes = text.as_bytes().to_vec();
        mutate_bytes(rng, &mut bytes, TEXT_ALPHABET, other.as_bytes());
        String::from_utf8_lossy(&bytes).into_owned()
    })
}

/// Characters that matter to RON, CSV and JSON.
pub const TEXT_ALPHABET: &[u8] = b"()[]{},:;\"' \n\r\t0123456789.-+eE_aZxN#/\\";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_numbers_but_not_digits_in_names() {
        let t = "(fc1: 12, x: -3.5e2, y: [4,5])";
        let spans: Vec<&str> = number_spans(t).iter().map(|&(s, e)| &t[s..e]).collect();
        assert_eq!(spans, ["12", "-3.5e2", "4", "5"]);
    }
}
