//! Checks on eight bytes at once ("SIMD within a register"), for the two scans that touch every
//! byte of the text: JSON escaping and looking for bare URLs.

const ONES: u64 = 0x0101_0101_0101_0101;
const HIGHS: u64 = 0x8080_8080_8080_8080;

/// The eight bytes at `at` as one word, or None when fewer than eight are left.
pub(crate) fn word_at(bytes: &[u8], at: usize) -> Option<u64> {
    let chunk: [u8; 8] = bytes.get(at..at.checked_add(8)?)?.try_into().ok()?;
    Some(u64::from_le_bytes(chunk))
}

/// Up to eight bytes at `at` as one word, zero-padded past the end.
pub(crate) fn padded_word_at(bytes: &[u8], at: usize) -> u64 {
    let rest = bytes.get(at..).unwrap_or_default();
    let taken = rest.len().min(8);
    let mut chunk = [0u8; 8];
    chunk[..taken].copy_from_slice(&rest[..taken]);
    u64::from_le_bytes(chunk)
}

/// Whether any byte of `word` is `byte`.
pub(crate) fn has_byte(word: u64, byte: u8) -> bool {
    let zeroed = word ^ (ONES * u64::from(byte));
    zeroed.wrapping_sub(ONES) & !zeroed & HIGHS != 0
}

/// The high bit of every byte of `word` that is `byte`, and no other bit. Exact per byte (the
/// additions cannot carry across bytes), so the set bits can be walked.
pub(crate) fn byte_mask(word: u64, byte: u8) -> u64 {
    const LOWS: u64 = 0x7f7f_7f7f_7f7f_7f7f;
    let zeroed = word ^ (ONES * u64::from(byte));
    !(((zeroed & LOWS) + LOWS) | zeroed | LOWS)
}

/// Whether any byte of `word` is below `bound` (exact for `bound` <= 128).
pub(crate) fn has_less(word: u64, bound: u8) -> bool {
    word.wrapping_sub(ONES * u64::from(bound)) & !word & HIGHS != 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn word_checks_agree_with_byte_checks() {
        let samples: [&[u8; 8]; 6] = [
            b"abcdefgh",
            b"abc\"efgh",
            b"\x1fbcdefgh",
            b"abcdefg\\",
            b"\x80\xff\x7f ~:w.",
            b"\x00\x00\x00\x00\x00\x00\x00\x00",
        ];
        for sample in samples {
            let word = u64::from_le_bytes(*sample);
            for probe in [b'"', b'\\', b':', b'w', 0u8, 0x80, 0xff] {
                assert_eq!(has_byte(word, probe), sample.contains(&probe), "{sample:?} has {probe}");
                let positions: Vec<usize> = (0..8).filter(|&i| byte_mask(word, probe) >> (8 * i) & 0xff != 0).collect();
                let expected: Vec<usize> = (0..8).filter(|&i| sample[i] == probe).collect();
                assert_eq!(positions, expected, "{sample:?} mask of {probe}");
                assert_eq!(byte_mask(word, probe) & !HIGHS, 0);
            }
            for bound in [0u8, 1, 0x20, 0x80] {
                assert_eq!(has_less(word, bound), sample.iter().any(|&b| b < bound), "{sample:?} below {bound}");
            }
        }
        assert_eq!(word_at(b"0123456789", 2), Some(u64::from_le_bytes(*b"23456789")));
        assert_eq!(word_at(b"0123456789", 3), None);
        assert_eq!(padded_word_at(b"0123456789", 7), u64::from_le_bytes(*b"789\0\0\0\0\0"));
        assert_eq!(padded_word_at(b"0123456789", 10), 0);
    }
}
