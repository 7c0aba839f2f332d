//! What a callback changed in the stream's headers, bodies and trailers, for the trace.
//!
//! Copy on write: host calls change a map or body only through
//! [`HttpStream::map_to_change`] and [`HttpStream::body_to_change`], which keep what it was
//! before the callback's first change. After the callback only the maps and bodies kept that
//! way are compared, so a callback that changes nothing costs neither a copy nor a comparison.

use super::Pair;
use super::{HttpStream, StreamMap};
use crate::trace::{Change, ChangeOp, ChangeTarget};

/// The maps (in [`StreamMap::ALL`] order) and bodies (request, response) as they were before
/// the current callback first changed them; `None` while untouched.
#[derive(Debug, Clone, Default)]
pub struct Originals {
    maps: [Option<FlatPairs>; 4],
    bodies: [Option<Vec<u8>>; 2],
}

impl HttpStream {
    /// A map for a host call to change. What it was before the current callback's first change
    /// is kept for [`HttpStream::take_changes`].
    pub fn map_to_change(&mut self, m: StreamMap) -> &mut Vec<Pair> {
        let (map, original) = match m {
            StreamMap::RequestHeaders => (&mut self.request_headers, &mut self.originals.maps[0]),
            StreamMap::ResponseHeaders => (&mut self.response_headers, &mut self.originals.maps[1]),
            StreamMap::RequestTrailers => (&mut self.request_trailers, &mut self.originals.maps[2]),
            StreamMap::ResponseTrailers => {
                (&mut self.response_trailers, &mut self.originals.maps[3])
            }
        };
        original.get_or_insert_with(|| FlatPairs::of(map));
        map
    }

    /// The request (or response) body for a host call to change, kept like
    /// [`HttpStream::map_to_change`] keeps maps.
    pub fn body_to_change(&mut self, request: bool) -> &mut Vec<u8> {
        let (body, original) = if request {
            (&mut self.request_body, &mut self.originals.bodies[0])
        } else {
            (&mut self.response_body, &mut self.originals.bodies[1])
        };
        original.get_or_insert_with(|| body.clone());
        body
    }

    /// Starts a callback: changes are recorded from here.
    pub fn forget_changes(&mut self) {
        self.originals = Originals::default();
    }

    /// What the host calls changed since [`HttpStream::forget_changes`] (maps, then bodies),
    /// as the trace shows it; starts over.
    pub fn take_changes(&mut self) -> Vec<Change> {
        let Originals { maps, bodies } = std::mem::take(&mut self.originals);
        let mut out = Vec::new();
        for (m, before) in StreamMap::ALL.into_iter().zip(maps) {
            if let Some(before) = before {
                diff_map(m.target(), before.iter(), entries(self.map(m)), &mut out);
            }
        }
        let [request, response] = bodies;
        out.extend(buffer_change(
            ChangeTarget::RequestBody,
            request,
            &self.request_body,
        ));
        out.extend(buffer_change(
            ChangeTarget::ResponseBody,
            response,
            &self.response_body,
        ));
        out
    }
}

/// The change of a body or connection buffer that was `before` when the callback first
/// changed it (`None`: untouched) and is `after` now; `None` when it is as it was.
pub(super) fn buffer_change(
    target: ChangeTarget,
    before: Option<Vec<u8>>,
    after: &[u8],
) -> Option<Change> {
    let before = before.filter(|b| b != after)?;
    Some(Change {
        target,
        op: ChangeOp::Changed,
        name: String::new(),
        old: Some(String::from_utf8_lossy(&before).into_owned()),
        new: Some(String::from_utf8_lossy(after).into_owned()),
    })
}

/// A copy of a header list in one buffer: two allocations whatever the number of entries
/// (a clone of the pairs takes two per entry).
#[derive(Debug, Clone, Default)]
struct FlatPairs {
    bytes: Vec<u8>,
    /// Per entry: where its name ends and where its value ends in `bytes`.
    ends: Vec<(usize, usize)>,
}

impl FlatPairs {
    fn of(pairs: &[Pair]) -> FlatPairs {
        let size = pairs.iter().map(|(k, v)| k.len() + v.len()).sum();
        let mut bytes = Vec::with_capacity(size);
        let mut ends = Vec::with_capacity(pairs.len());
        for (k, v) in pairs {
            bytes.extend_from_slice(k);
            let name_end = bytes.len();
            bytes.extend_from_slice(v);
            ends.push((name_end, bytes.len()));
        }
        FlatPairs { bytes, ends }
    }

    /// The entries, in order: name and value.
    fn iter(&self) -> impl ExactSizeIterator<Item = (&[u8], &[u8])> + Clone {
        let mut start = 0;
        self.ends.iter().map(move |&(name_end, end)| {
            let entry = (&self.bytes[start..name_end], &self.bytes[name_end..end]);
            start = end;
            entry
        })
    }
}

/// The entries of a live map, as [`FlatPairs::iter`] gives them.
fn entries(pairs: &[Pair]) -> impl ExactSizeIterator<Item = (&[u8], &[u8])> + Clone {
    pairs.iter().map(|(k, v)| (k.as_slice(), v.as_slice()))
}

/// The changes from `before` to `after`, one per header name (in order of first appearance,
/// `before` first) whose values, as text, differ; several values are joined with ", ".
fn diff_map<'a>(
    target: ChangeTarget,
    before: impl ExactSizeIterator<Item = (&'a [u8], &'a [u8])> + Clone,
    after: impl ExactSizeIterator<Item = (&'a [u8], &'a [u8])> + Clone,
    out: &mut Vec<Change>,
) {
    if before.clone().eq(after.clone()) {
        return;
    }
    // Both lists in one (borrowed) vector: before, then after.
    let split = before.len();
    let mut all: Vec<(&[u8], &[u8])> = Vec::with_capacity(split + after.len());
    all.extend(before);
    all.extend(after);
    let (old_map, new_map) = all.split_at(split);
    for (i, &(name, _)) in all.iter().enumerate() {
        // Each name once, where it first appears.
        if all[..i].iter().any(|&(k, _)| k == name) {
            continue;
        }
        if values_of(old_map, name).eq(values_of(new_map, name)) {
            continue;
        }
        // Values are compared as text: bytes that differ only in invalid UTF-8 are no change.
        let text = |m| {
            values_of(m, name)
                .map(String::from_utf8_lossy)
                .collect::<Vec<_>>()
        };
        let (old, new) = (text(old_map), text(new_map));
        if old != new {
            out.push(change(target, name, &old, &new));
        }
    }
}

/// How header `name` went from the values `old` to `new` (which differ).
fn change<S: AsRef<str>>(target: ChangeTarget, name: &[u8], old: &[S], new: &[S]) -> Change {
    let joined = |v: &[S]| {
        (!v.is_empty()).then(|| v.iter().map(AsRef::as_ref).collect::<Vec<_>>().join(", "))
    };
    let op = match (old.is_empty(), new.is_empty()) {
        (true, _) => ChangeOp::Added,
        (_, true) => ChangeOp::Removed,
        _ => ChangeOp::Changed,
    };
    Change {
        target,
        op,
        name: String::from_utf8_lossy(name).into_owned(),
        old: joined(old),
        new: joined(new),
    }
}

/// The values of header `name` in `entries`, in order.
fn values_of<'m>(entries: &'m [(&[u8], &[u8])], name: &'m [u8]) -> impl Iterator<Item = &'m [u8]> {
    entries
        .iter()
        .filter(move |&&(k, _)| k == name)
        .map(|&(_, v)| v)
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use std::collections::BTreeSet;

    use super::*;

    /// The diff as the driver first wrote it (a clone of every name and value): the reference
    /// the cheaper [`diff_map`] must agree with, change for change. (Both build the `Change`
    /// with [`change`]; what they differ in is finding which names changed.)
    fn reference_diff(target: ChangeTarget, before: &[Pair], after: &[Pair]) -> Vec<Change> {
        let mut out = Vec::new();
        let mut names: Vec<&Vec<u8>> = before.iter().chain(after.iter()).map(|(k, _)| k).collect();
        names.dedup();
        let mut seen = BTreeSet::new();
        for name in names {
            if !seen.insert(name.clone()) {
                continue;
            }
            let values = |m: &[Pair]| -> Vec<String> {
                m.iter()
                    .filter(|(k, _)| k == name)
                    .map(|(_, v)| String::from_utf8_lossy(v).into_owned())
                    .collect()
            };
            let (old, new) = (values(before), values(after));
            if old != new {
                out.push(change(target, name, &old, &new));
            }
        }
        out
    }

    /// Few names and values (some not UTF-8), so that maps share, repeat and drop entries.
    fn map() -> impl Strategy<Value = Vec<Pair>> {
        let name = prop::sample::select(vec![&b"a"[..], b"b", b"c", b"\xff", b"\xfe"]);
        let value = prop::sample::select(vec![&b""[..], b"1", b"2", b"\xff", b"\xfe", b"x y"]);
        prop::collection::vec((name, value), 0..6).prop_map(|m| {
            m.into_iter()
                .map(|(k, v)| (k.to_vec(), v.to_vec()))
                .collect()
        })
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 2000, failure_persistence: None, ..ProptestConfig::default() })]

        #[test]
        fn diff_map_reports_what_the_reference_diff_reports(before in map(), after in map()) {
            let want = reference_diff(ChangeTarget::RequestHeaders, &before, &after);
            let mut got = Vec::new();
            diff_map(ChangeTarget::RequestHeaders, entries(&before), entries(&after), &mut got);
            prop_assert_eq!(&got, &want);
            // The same from the flat copy that map_to_change keeps.
            let mut got = Vec::new();
            diff_map(ChangeTarget::RequestHeaders, FlatPairs::of(&before).iter(), entries(&after), &mut got);
            prop_assert_eq!(&got, &want);
        }
    }

    fn pair(k: &str, v: &str) -> Pair {
        (k.as_bytes().to_vec(), v.as_bytes().to_vec())
    }

    #[test]
    fn only_what_host_calls_changed_since_the_callback_began_is_reported() {
        let mut s = HttpStream {
            request_headers: vec![pair(":path", "/"), pair("a", "1")],
            response_body: b"old".to_vec(),
            ..HttpStream::default()
        };
        // The driver's own edits between callbacks are not the plugin's.
        s.forget_changes();
        s.request_headers.push(pair("b", "2"));
        assert!(s.take_changes().is_empty());

        s.forget_changes();
        s.map_to_change(StreamMap::RequestHeaders)
            .retain(|(k, _)| k != b"a");
        s.map_to_change(StreamMap::RequestHeaders)
            .push(pair("a", "3"));
        s.map_to_change(StreamMap::ResponseTrailers)
            .push(pair("t", "x"));
        s.body_to_change(false).extend_from_slice(b" new");
        let changes: Vec<_> = s
            .take_changes()
            .into_iter()
            .map(|c| format!("{} {} {} {:?} {:?}", c.target, c.op, c.name, c.old, c.new))
            .collect();
        assert_eq!(
            changes,
            [
                r#"request_headers changed a Some("1") Some("3")"#,
                r#"response_trailers added t None Some("x")"#,
                r#"response_body changed  Some("old") Some("old new")"#,
            ]
        );
        // Taken: the next callback starts clean.
        assert!(s.take_changes().is_empty());

        // Changed and changed back is no change.
        s.forget_changes();
        let m = s.map_to_change(StreamMap::RequestHeaders);
        let saved = m.clone();
        m.clear();
        *m = saved;
        assert!(s.take_changes().is_empty());
    }
}
