//! A module made ready for an engine without wasmi's store limiter (the browser's
//! `WebAssembly`): its memory capped at the scenario's limit, and every `memory.grow` routed
//! through a function that remembers a refused growth, so that the failure names it as on
//! wasmi. Plain bytes in, bytes out: it depends on no other module of the host.

use wasmparser::{Parser, Payload};

/// The exports of a [`prepare`]d module that hold the last `memory.grow` it refused: the size
/// in pages then, and the size it asked for (both 0 when none was refused).
pub const REFUSED_FROM: &str = "__pwp_refused_growth_from";
/// See [`REFUSED_FROM`].
pub const REFUSED_TO: &str = "__pwp_refused_growth_to";

/// `bytes` made ready for an engine without wasmi's store limiter: every defined memory's
/// maximum lowered to `pages` (64 KiB each), so that `memory.grow` past the scenario's memory
/// limit answers -1 exactly where the limiter refuses it; and every `memory.grow` routed
/// through a function appended to the module that remembers a refused growth in two exported
/// globals ([`REFUSED_FROM`], [`REFUSED_TO`]), so that the failure names it as on wasmi. The
/// appended function, type and globals come after every existing one: no index moves.
/// `None` when there is nothing to change, or the module cannot be read (the engine then
/// reports why it refuses it).
pub fn prepare(bytes: &[u8], pages: u32) -> Option<Vec<u8>> {
    let module = Module::read(bytes)?;
    let capped = module.memory_section(pages);
    let grows = module.has_grow();
    if capped.is_none() && !grows {
        return None;
    }
    let mut sections: Vec<(u8, Part)> = module
        .sections
        .iter()
        .map(|&(id, ref r)| (id, Part::Kept(r.clone())))
        .collect();
    if let Some(memory) = capped {
        replace(&mut sections, 5, memory);
    }
    if grows {
        module.route_grows(bytes, &mut sections)?;
    }
    // One copy of the module, into a buffer of its final size: a Go plugin is megabytes.
    let size = |part: &Part| part.bytes(bytes).len();
    let total = 8 + sections
        .iter()
        .map(|(_, part)| 1 + leb_len(size(part) as u64) + size(part))
        .sum::<usize>();
    let mut out = Vec::with_capacity(total);
    out.extend_from_slice(&bytes[..8]);
    for (id, part) in &sections {
        let content = part.bytes(bytes);
        out.push(*id);
        leb(&mut out, content.len() as u64);
        out.extend_from_slice(content);
    }
    Some(out)
}

/// A section's content in the prepared module: as it was, or rewritten.
enum Part {
    /// This range of the original module.
    Kept(std::ops::Range<usize>),
    New(Vec<u8>),
}

impl Part {
    fn bytes<'a>(&'a self, module: &'a [u8]) -> &'a [u8] {
        match self {
            Part::Kept(range) => &module[range.clone()],
            Part::New(content) => content,
        }
    }
}

/// What [`prepare`] reads of a module: its sections' contents, and the counts it appends to.
struct Module {
    /// (id, content range) in order.
    sections: Vec<(u8, std::ops::Range<usize>)>,
    types: u32,
    functions: u32,
    imported_functions: u32,
    globals: u32,
    imported_globals: u32,
    memories: Vec<wasmparser::MemoryType>,
    /// Each function body's range (after its size) and its `memory.grow` operators' ranges.
    bodies: Vec<(std::ops::Range<usize>, Vec<std::ops::Range<usize>>)>,
}

impl Module {
    fn read(bytes: &[u8]) -> Option<Module> {
        let mut m = Module {
            sections: Vec::new(),
            types: 0,
            functions: 0,
            imported_functions: 0,
            globals: 0,
            imported_globals: 0,
            memories: Vec::new(),
            bodies: Vec::new(),
        };
        for payload in Parser::new(0).parse_all(bytes) {
            match payload.ok()? {
                Payload::TypeSection(r) => {
                    for group in r {
                        m.types += group.ok()?.types().len() as u32;
                    }
                }
                Payload::ImportSection(r) => {
                    for import in r {
                        match import.ok()?.ty {
                            wasmparser::TypeRef::Func(_) => m.imported_functions += 1,
                            wasmparser::TypeRef::Global(_) => m.imported_globals += 1,
                            _ => {}
                        }
                    }
                }
                Payload::FunctionSection(r) => m.functions = r.count(),
                Payload::GlobalSection(r) => m.globals = r.count(),
                Payload::MemorySection(r) => {
                    for memory in r {
                        m.memories.push(memory.ok()?);
                    }
                }
                Payload::CodeSectionEntry(body) => {
                    // Most bodies cannot hold a `memory.grow` of memory 0 (0x40, then 0 as a
                    // LEB: 0x00, or up to four 0x80 and then 0x00): only the few that hold
                    // those bytes are decoded (13 of 2,245 in a Go plugin).
                    let raw = &bytes[body.range()];
                    let maybe = memchr::memchr_iter(0x40, raw).any(|at| {
                        let index = &raw[at + 1..];
                        let long = index.iter().take(4).take_while(|&&b| b == 0x80).count();
                        index.get(long) == Some(&0)
                    });
                    if !maybe {
                        m.bodies.push((body.range(), Vec::new()));
                        continue;
                    }
                    let mut ops = body.get_operators_reader().ok()?;
                    let mut grows = Vec::new();
                    while !ops.eof() {
                        let (op, at) = ops.read_with_offset().ok()?;
                        if matches!(op, wasmparser::Operator::MemoryGrow { mem: 0 }) {
                            grows.push(at..ops.original_position());
                        }
                    }
                    m.bodies.push((body.range(), grows));
                }
                _ => {}
            }
        }
        let mut at = 8;
        while at < bytes.len() {
            let id = bytes[at];
            let (size, n) = read_leb(bytes.get(at + 1..)?)?;
            let start = at + 1 + n;
            let end = start.checked_add(usize::try_from(size).ok()?)?;
            m.sections.push((id, start..end));
            at = end;
        }
        Some(m)
    }

    /// The memory section with each maximum capped at `pages`; `None` without one (or with a
    /// memory64 or shared memory, which Envoy runs neither of).
    fn memory_section(&self, pages: u32) -> Option<Vec<u8>> {
        if self.memories.is_empty() || self.memories.iter().any(|m| m.memory64 || m.shared) {
            return None;
        }
        let mut body = Vec::new();
        leb(&mut body, self.memories.len() as u64);
        for memory in &self.memories {
            let maximum = memory
                .maximum
                .map_or(u64::from(pages), |m| m.min(u64::from(pages)));
            body.push(0x01);
            leb(&mut body, memory.initial);
            leb(&mut body, maximum);
        }
        Some(body)
    }

    fn has_grow(&self) -> bool {
        self.bodies.iter().any(|(_, g)| !g.is_empty())
    }

    /// Appends the recording function (its type, two globals and their exports) and calls it
    /// wherever a body had `memory.grow`.
    fn route_grows(&self, bytes: &[u8], sections: &mut Vec<(u8, Part)>) -> Option<()> {
        let grow_fn = self.imported_functions + self.functions;
        let (from, to) = (
            self.imported_globals + self.globals,
            self.imported_globals + self.globals + 1,
        );
        // Type: (i32) -> i32, after every other.
        append(sections, bytes, 1, |count, body| {
            *count += 1;
            body.extend_from_slice(&[0x60, 0x01, 0x7f, 0x01, 0x7f]);
        })?;
        append(sections, bytes, 3, |count, body| {
            *count += 1;
            leb(body, u64::from(self.types));
        })?;
        append(sections, bytes, 6, |count, body| {
            *count += 2;
            // Two mutable i32 globals, 0.
            body.extend_from_slice(&[0x7f, 0x01, 0x41, 0x00, 0x0b, 0x7f, 0x01, 0x41, 0x00, 0x0b]);
        })?;
        append(sections, bytes, 7, |count, body| {
            *count += 2;
            for (name, index) in [(REFUSED_FROM, from), (REFUSED_TO, to)] {
                leb(body, name.len() as u64);
                body.extend_from_slice(name.as_bytes());
                body.push(0x03);
                leb(body, u64::from(index));
            }
        })?;
        // The code: every body again, `memory.grow` replaced by a call; then the new one.
        // Written straight into the section, each body's new size computed first.
        let call = 1 + leb_len(u64::from(grow_fn));
        let code_len: usize = self
            .bodies
            .iter()
            .map(|(r, g)| r.len() + 5 + call * g.len())
            .sum();
        let mut code = Vec::with_capacity(code_len + 64);
        leb(&mut code, self.bodies.len() as u64 + 1);
        for (range, body_grows) in &self.bodies {
            let removed: usize = body_grows.iter().map(|g| g.len()).sum();
            leb(
                &mut code,
                (range.len() - removed + call * body_grows.len()) as u64,
            );
            let mut at = range.start;
            for g in body_grows {
                code.extend_from_slice(&bytes[at..g.start]);
                code.push(0x10);
                leb(&mut code, u64::from(grow_fn));
                at = g.end;
            }
            code.extend_from_slice(&bytes[at..range.end]);
        }
        let mut recorder = vec![0x01, 0x01, 0x7f]; // one local: the result
        recorder.extend_from_slice(&[0x20, 0x00, 0x40, 0x00, 0x22, 0x01]); // grow, keep result
        recorder.extend_from_slice(&[0x41, 0x7f, 0x46, 0x04, 0x40]); // if result == -1
        recorder.extend_from_slice(&[0x3f, 0x00, 0x24]); //   from = memory.size
        leb(&mut recorder, u64::from(from));
        recorder.extend_from_slice(&[0x3f, 0x00, 0x20, 0x00, 0x6a, 0x24]); //   to = size + delta
        leb(&mut recorder, u64::from(to));
        recorder.extend_from_slice(&[0x0b, 0x20, 0x01, 0x0b]); // end; result
        leb(&mut code, recorder.len() as u64);
        code.extend_from_slice(&recorder);
        replace(sections, 10, code);
        Some(())
    }
}

/// The order sections must come in (custom sections, id 0, stay where they are).
fn rank(id: u8) -> u8 {
    match id {
        1 => 1,
        2 => 2,
        3 => 3,
        4 => 4,
        5 => 5,
        13 => 6,
        6 => 7,
        7 => 8,
        8 => 9,
        9 => 10,
        12 => 11,
        10 => 12,
        11 => 13,
        _ => 0,
    }
}

/// Puts `content` in section `id`, replacing it or inserting it in its place.
fn replace(sections: &mut Vec<(u8, Part)>, id: u8, content: Vec<u8>) {
    if let Some(s) = sections.iter_mut().find(|(i, _)| *i == id) {
        s.1 = Part::New(content);
        return;
    }
    let at = sections
        .iter()
        .position(|(i, _)| rank(*i) > rank(id))
        .unwrap_or(sections.len());
    sections.insert(at, (id, Part::New(content)));
}

/// Appends to the vector section `id` (a count, then items), creating it when absent: `add`
/// gets the count to raise and the items' bytes to extend.
fn append(
    sections: &mut Vec<(u8, Part)>,
    module: &[u8],
    id: u8,
    add: impl FnOnce(&mut u64, &mut Vec<u8>),
) -> Option<()> {
    let old = sections
        .iter()
        .find(|(i, _)| *i == id)
        .map_or(&[0][..], |(_, part)| part.bytes(module));
    let (mut count, n) = read_leb(old)?;
    let mut items = old[n..].to_vec();
    add(&mut count, &mut items);
    let mut content = Vec::with_capacity(items.len() + 5);
    leb(&mut content, count);
    content.extend_from_slice(&items);
    replace(sections, id, content);
    Some(())
}

/// How many bytes [`leb`] writes for `v`.
fn leb_len(v: u64) -> usize {
    (64 - (v | 1).leading_zeros() as usize).div_ceil(7)
}

fn leb(out: &mut Vec<u8>, mut v: u64) {
    loop {
        let byte = (v & 0x7f) as u8;
        v >>= 7;
        if v == 0 {
            out.push(byte);
            return;
        }
        out.push(byte | 0x80);
    }
}

fn read_leb(bytes: &[u8]) -> Option<(u64, usize)> {
    let mut v = 0u64;
    for (i, b) in bytes.iter().enumerate().take(10) {
        v |= u64::from(b & 0x7f) << (7 * i);
        if b & 0x80 == 0 {
            return Some((v, i + 1));
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `memory.grow` with its memory index as a two-byte LEB (`0x40 0x80 0x00`, valid if
    /// unusual) is found like the usual `0x40 0x00`; a body without either is not decoded.
    #[test]
    fn a_grow_with_a_long_memory_index_is_found() {
        let module = |grow: &[u8]| {
            let body = [&[0x00, 0x20, 0x00][..], grow, &[0x0b]].concat();
            let mut code = vec![0x01, body.len() as u8];
            code.extend_from_slice(&body);
            let mut bytes = b"\0asm\x01\0\0\0".to_vec();
            bytes.extend_from_slice(&[0x01, 0x06, 0x01, 0x60, 0x01, 0x7f, 0x01, 0x7f]);
            bytes.extend_from_slice(&[0x03, 0x02, 0x01, 0x00]);
            bytes.extend_from_slice(&[0x05, 0x04, 0x01, 0x01, 0x01, 0x04]);
            bytes.extend_from_slice(&[0x07, 0x05, 0x01, 0x01, b'g', 0x00, 0x00]);
            bytes.extend_from_slice(&[0x0a, code.len() as u8]);
            bytes.extend_from_slice(&code);
            bytes
        };
        let longest = [0x40, 0x80, 0x80, 0x80, 0x80, 0x00];
        for grow in [&[0x40, 0x00][..], &[0x40, 0x80, 0x00], &longest] {
            let bytes = module(grow);
            let read = Module::read(&bytes).expect("a valid module");
            assert_eq!(read.bodies[0].1.len(), 1, "{grow:x?}");
        }
        // `local.get 0; drop; local.get 0`: no grow, nothing to route.
        let bytes = module(&[0x1a, 0x20, 0x00]);
        assert!(Module::read(&bytes).unwrap().bodies[0].1.is_empty());
    }

    #[test]
    fn leb_len_counts_what_leb_writes() {
        for v in [
            0,
            1,
            127,
            128,
            16_383,
            16_384,
            u64::from(u32::MAX),
            u64::MAX,
        ] {
            let mut out = Vec::new();
            leb(&mut out, v);
            assert_eq!(leb_len(v), out.len(), "{v}");
        }
    }

    fn memory_limits(bytes: &[u8]) -> Vec<(u64, Option<u64>)> {
        let mut out = Vec::new();
        for payload in Parser::new(0).parse_all(bytes) {
            if let Payload::MemorySection(r) = payload.unwrap() {
                out.extend(r.into_iter().map(|m| {
                    let m = m.unwrap();
                    (m.initial, m.maximum)
                }));
            }
        }
        out
    }

    #[test]
    fn preparing_lowers_or_adds_the_maximum_and_keeps_the_module_valid() {
        let open =
            wat::parse_str(r#"(module (memory (export "memory") 2) (func (export "f")))"#).unwrap();
        let capped = prepare(&open, 16).unwrap();
        assert_eq!(memory_limits(&capped), vec![(2, Some(16))]);
        wasmparser::validate(&capped).unwrap();

        let bounded =
            wat::parse_str(r#"(module (memory 1 300) (data (i32.const 0) "hi"))"#).unwrap();
        assert_eq!(
            memory_limits(&prepare(&bounded, 1024).unwrap()),
            vec![(1, Some(300))]
        );
        assert_eq!(
            memory_limits(&prepare(&bounded, 64).unwrap()),
            vec![(1, Some(64))]
        );
        wasmparser::validate(&prepare(&bounded, 64).unwrap()).unwrap();

        let none = wat::parse_str(r#"(module (func (export "f")))"#).unwrap();
        assert!(prepare(&none, 64).is_none());
    }

    /// Runs `grow` of a prepared module on wasmi without limits: the cap alone refuses growth.
    fn grow_on_prepared(wat: &str, pages: u32, delta: i32) -> (i32, i32, i32) {
        let bytes = prepare(&wat::parse_str(wat).unwrap(), pages).unwrap();
        wasmparser::validate(&bytes).unwrap();
        let engine = wasmi::Engine::default();
        let module = wasmi::Module::new(&engine, &bytes).unwrap();
        let mut store = wasmi::Store::new(&engine, ());
        let instance = wasmi::Linker::new(&engine)
            .instantiate_and_start(&mut store, &module)
            .unwrap();
        let f = instance.get_typed_func::<i32, i32>(&store, "grow").unwrap();
        let got = f.call(&mut store, delta).unwrap();
        let global = |name| {
            let g = instance.get_global(&store, name).unwrap();
            g.get(&store).i32().unwrap()
        };
        (got, global(REFUSED_FROM), global(REFUSED_TO))
    }

    #[test]
    fn a_refused_growth_is_remembered_and_indices_stay() {
        // Globals, a type and an export exist already; the function calls another by index.
        let wat = r#"(module
            (type (func (param i32) (result i32)))
            (global $g (mut i32) (i32.const 7))
            (memory (export "memory") 1)
            (func $id (param i32) (result i32) (local.get 0))
            (func (export "grow") (param i32) (result i32)
                (call $id (memory.grow (local.get 0))))
            (export "g" (global $g)))"#;
        assert_eq!(
            grow_on_prepared(wat, 4, 2),
            (1, 0, 0),
            "allowed: the old size"
        );
        assert_eq!(
            grow_on_prepared(wat, 4, 10),
            (-1, 1, 11),
            "refused: 1 page to 11"
        );
        // No global, type or export section before.
        let bare = r#"(module (memory 1)
            (func (export "grow") (param i32) (result i32) (memory.grow (local.get 0))))"#;
        assert_eq!(grow_on_prepared(bare, 2, 5), (-1, 1, 6));
    }
}
