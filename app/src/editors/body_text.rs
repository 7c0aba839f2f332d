//! A message body as the body editor shows it: text or hex, in one piece or as DATA chunks
//! separated by a `--- chunk ---` line. Plain logic, tested natively.

use pwp_model::scenario::Body;

use crate::paste::{from_hex, to_hex};

/// The line between two chunks.
pub const CHUNK_MARKER: &str = "--- chunk ---";

/// A body as the scenario keeps it: `body` in one piece, or `chunks`.
pub type BodyParts = (Option<Body>, Vec<Body>);

/// What the body editor shows.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct BodyDraft {
    /// The text in the textarea.
    pub text: String,
    /// Hex digits instead of text.
    pub hex: bool,
    /// One chunk per block.
    pub chunked: bool,
}

fn bytes_of(b: &Body) -> Vec<u8> {
    b.bytes().unwrap_or_default()
}

/// The bytes of each part: the chunks, or the body (if any) as one part.
fn part_bytes(parts: &BodyParts) -> Vec<Vec<u8>> {
    if parts.1.is_empty() {
        parts.0.iter().map(bytes_of).collect()
    } else {
        parts.1.iter().map(bytes_of).collect()
    }
}

/// The editor's view of a body; binary bodies are always shown as hex.
pub fn draft_of(parts: &BodyParts, hex: bool) -> BodyDraft {
    let bytes = part_bytes(parts);
    let hex = hex || bytes.iter().any(|b| std::str::from_utf8(b).is_err());
    let shown: Vec<String> = bytes
        .iter()
        .map(|b| {
            if hex {
                to_hex(b)
            } else {
                String::from_utf8_lossy(b).into_owned()
            }
        })
        .collect();
    BodyDraft {
        text: join_chunks(&shown),
        hex,
        chunked: !parts.1.is_empty(),
    }
}

/// Reads the editor back into a body.
///
/// # Errors
///
/// Bad hex, naming the chunk.
pub fn parse_draft(d: &BodyDraft) -> Result<BodyParts, String> {
    let blocks = if d.chunked {
        split_chunks(&d.text)
    } else {
        vec![d.text.clone()]
    };
    let mut bodies = Vec::new();
    for (i, block) in blocks.iter().enumerate() {
        bodies.push(if d.hex {
            let bytes = from_hex(block).map_err(|e| {
                if d.chunked {
                    format!("chunk {}: {e}", i + 1)
                } else {
                    e
                }
            })?;
            Body::from_bytes(&bytes)
        } else {
            Body::Text(block.clone())
        });
    }
    if d.text.is_empty() {
        return Ok((None, Vec::new()));
    }
    Ok(if d.chunked {
        (None, bodies)
    } else {
        (bodies.pop().filter(|b| !bytes_of(b).is_empty()), Vec::new())
    })
}

/// Whether two bodies carry the same bytes in the same chunks.
pub fn same_parts(a: &BodyParts, b: &BodyParts) -> bool {
    a.1.is_empty() == b.1.is_empty() && part_bytes(a) == part_bytes(b)
}

/// Switches the draft between text and hex, converting what it shows.
///
/// # Errors
///
/// When the current text does not parse, or a binary body is to be shown as text.
pub fn switch_mode(d: &BodyDraft, hex: bool) -> Result<BodyDraft, String> {
    if d.hex == hex {
        return Ok(d.clone());
    }
    let parts = parse_draft(d)?;
    if !hex
        && part_bytes(&parts)
            .iter()
            .any(|b| std::str::from_utf8(b).is_err())
    {
        return Err("the body is binary (not UTF-8): it can only be edited as hex".into());
    }
    let mut next = draft_of(&parts, hex);
    next.chunked = d.chunked;
    if d.chunked && parts.1.is_empty() {
        next.text = String::new();
    }
    Ok(next)
}

/// Splits text at `--- chunk ---` lines; the newline before a marker belongs to the marker.
pub fn split_chunks(text: &str) -> Vec<String> {
    let mut parts = Vec::new();
    let mut cur = String::new();
    for line in text.split_inclusive('\n') {
        if line.trim_end_matches(['\n', '\r']) == CHUNK_MARKER {
            if cur.ends_with('\n') {
                cur.pop();
            }
            parts.push(std::mem::take(&mut cur));
        } else {
            cur.push_str(line);
        }
    }
    parts.push(cur);
    parts
}

/// Joins chunks with marker lines ([`split_chunks`] reads them back).
pub fn join_chunks(parts: &[String]) -> String {
    parts.join(&format!("\n{CHUNK_MARKER}\n"))
}

/// `12 bytes in 3 chunks`.
pub fn size_note(parts: &BodyParts) -> String {
    let bytes = part_bytes(parts);
    let total: usize = bytes.iter().map(Vec::len).sum();
    match (parts.1.len(), total) {
        (0, 0) => "no body".into(),
        (0, n) => format!("{n} bytes"),
        (1, n) => format!("{n} bytes in 1 chunk"),
        (c, n) => format!("{n} bytes in {c} chunks"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(s: &str) -> Body {
        Body::Text(s.into())
    }

    #[test]
    fn chunks_round_trip_through_marker_lines() {
        for parts in [vec!["a\n", "b"], vec!["", "b"], vec!["a", ""], vec!["x"]] {
            let parts: Vec<String> = parts.into_iter().map(String::from).collect();
            assert_eq!(split_chunks(&join_chunks(&parts)), parts);
        }
        assert_eq!(split_chunks("a\n--- chunk ---\r\nb"), ["a", "b"]);
    }

    #[test]
    fn a_draft_reads_back_to_its_body() {
        let cases: Vec<BodyParts> = vec![
            (None, vec![]),
            (Some(text("hello")), vec![]),
            (None, vec![text("a"), text("b\n")]),
            (Some(Body::from_bytes(&[0xff, 0])), vec![]),
        ];
        for parts in cases {
            let d = draft_of(&parts, false);
            assert!(
                same_parts(&parse_draft(&d).unwrap(), &parts),
                "{parts:?} via {d:?}"
            );
        }
        assert!(draft_of(&(Some(Body::from_bytes(&[0xff])), vec![]), false).hex);
    }

    #[test]
    fn hex_and_text_switch_both_ways_and_errors_name_the_chunk() {
        let d = BodyDraft {
            text: "AB\n--- chunk ---\nC".into(),
            hex: false,
            chunked: true,
        };
        let h = switch_mode(&d, true).unwrap();
        assert_eq!(h.text, "41 42\n--- chunk ---\n43");
        assert_eq!(switch_mode(&h, false).unwrap(), d);
        let bad = BodyDraft {
            text: "41\n--- chunk ---\nzz".into(),
            hex: true,
            chunked: true,
        };
        assert!(parse_draft(&bad).unwrap_err().starts_with("chunk 2:"));
        let bin = BodyDraft {
            text: "ff".into(),
            hex: true,
            chunked: false,
        };
        assert!(switch_mode(&bin, false).unwrap_err().contains("binary"));
    }

    #[test]
    fn sizes_are_summarised() {
        assert_eq!(size_note(&(None, vec![])), "no body");
        assert_eq!(
            size_note(&(None, vec![text("ab"), text("c")])),
            "3 bytes in 2 chunks"
        );
    }
}
