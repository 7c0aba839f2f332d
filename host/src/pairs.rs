//! The header-map wire format ("pairs"), as cpp-host reads and writes it:
//!
//! ```text
//! u32 count
//! count × { u32 key_len, u32 value_len }
//! count × { key bytes, 0x00, value bytes, 0x00 }
//! ```
//!
//! Little-endian. Decoding is strict like cpp-host's: any malformed input, more than 1024
//! entries or more than 1 MiB decodes as an *empty* list, never an error.

pub use pwp_model::stream::Pair;

const MAX_PAIRS: usize = 1024;
const MAX_BYTES: usize = 1 << 20;

/// Encodes pairs; an empty list is the empty byte string (cpp-host returns pointer 0, size 0).
pub fn encode<K: AsRef<[u8]>, V: AsRef<[u8]>>(pairs: &[(K, V)]) -> Vec<u8> {
    if pairs.is_empty() {
        return Vec::new();
    }
    let data: usize = pairs
        .iter()
        .map(|(k, v)| k.as_ref().len() + v.as_ref().len() + 2)
        .sum();
    let mut out = Vec::with_capacity(4 + pairs.len() * 8 + data);
    out.extend_from_slice(&(pairs.len() as u32).to_le_bytes());
    for (k, v) in pairs {
        out.extend_from_slice(&(k.as_ref().len() as u32).to_le_bytes());
        out.extend_from_slice(&(v.as_ref().len() as u32).to_le_bytes());
    }
    for (k, v) in pairs {
        out.extend_from_slice(k.as_ref());
        out.push(0);
        out.extend_from_slice(v.as_ref());
        out.push(0);
    }
    out
}

/// Decodes pairs. Returns `None` for malformed input (which Envoy treats as an empty list);
/// the empty slice, a single `0x00` and a zero count are all the empty list.
pub fn decode(bytes: &[u8]) -> Option<Vec<Pair>> {
    if bytes.is_empty() || bytes == [0] {
        return Some(Vec::new());
    }
    if bytes.len() > MAX_BYTES || bytes.len() < 4 {
        return None;
    }
    let word = |at: usize| -> Option<usize> {
        let b = bytes.get(at..at + 4)?;
        Some(u32::from_le_bytes([b[0], b[1], b[2], b[3]]) as usize)
    };
    let count = word(0)?;
    if count > MAX_PAIRS {
        return None;
    }
    let mut sizes = Vec::with_capacity(count);
    for i in 0..count {
        sizes.push((word(4 + i * 8)?, word(8 + i * 8)?));
    }
    let mut at = 4 + count * 8;
    let mut take = |len: usize| -> Option<Vec<u8>> {
        let end = at.checked_add(len)?;
        let data = bytes.get(at..end)?.to_vec();
        if *bytes.get(end)? != 0 {
            return None;
        }
        at = end + 1;
        Some(data)
    };
    let mut out = Vec::with_capacity(count);
    for (k, v) in sizes {
        let key = take(k)?;
        let value = take(v)?;
        out.push((key, value));
    }
    if at != bytes.len() {
        return None;
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[rustfmt::skip]
    const A1_B22: &[u8] = &[
        2, 0, 0, 0,                 // two entries
        1, 0, 0, 0,  1, 0, 0, 0,    // "a" -> "1"
        1, 0, 0, 0,  2, 0, 0, 0,    // "b" -> "22"
        b'a', 0, b'1', 0,
        b'b', 0, b'2', b'2', 0,
    ];

    #[test]
    fn encodes_the_reference_example() {
        assert_eq!(encode(&[("a", "1"), ("b", "22")]), A1_B22);
        assert_eq!(encode::<&str, &str>(&[]), b"");
    }

    #[test]
    fn decodes_what_it_encodes_and_every_empty_form() {
        let pairs = decode(A1_B22).unwrap();
        assert_eq!(
            pairs,
            vec![
                (b"a".to_vec(), b"1".to_vec()),
                (b"b".to_vec(), b"22".to_vec())
            ]
        );
        assert_eq!(decode(&[]), Some(vec![]));
        assert_eq!(decode(&[0]), Some(vec![]));
        assert_eq!(decode(&[0, 0, 0, 0]), Some(vec![]));
    }

    #[test]
    fn malformed_input_is_refused_not_misread() {
        assert_eq!(decode(&A1_B22[..A1_B22.len() - 1]), None, "truncated");
        let mut garbage = A1_B22.to_vec();
        garbage.push(7);
        assert_eq!(decode(&garbage), None, "trailing bytes");
        let mut no_nul = A1_B22.to_vec();
        no_nul[21] = b'x';
        assert_eq!(decode(&no_nul), None, "missing NUL");
        assert_eq!(decode(&[0xff, 0xff, 0xff, 0xff]), None, "absurd count");
    }

    #[test]
    fn no_prefix_of_any_encoding_panics() {
        let bytes = encode(&[("key", "value"), ("k2", ""), ("", "v3")]);
        for end in 0..=bytes.len() {
            let _ = decode(&bytes[..end]);
        }
        for b in 0..=255u8 {
            let mut flipped = bytes.clone();
            flipped[4] = b;
            let _ = decode(&flipped);
        }
    }
}
