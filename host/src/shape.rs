//! A module's outside: what it imports and exports, with their types. Both engines link by
//! it. On wasmi it comes from the compiled module; for a foreign engine it is read from the
//! bytes (four small sections, no function body), so that a run on the browser's engine does
//! not wait for wasmi to compile a module it will not run.

use wasmi::{FuncType, ValType};
use wasmparser::{Parser, Payload, TypeRef};

/// What an import or export is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Extern {
    Func(FuncType),
    Memory {
        minimum: u32,
        maximum: Option<u32>,
    },
    Global,
    Table,
    /// Anything else a newer proposal adds (tags).
    Other,
}

/// The imports (in the module's order) and exports of a module.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Shape {
    pub imports: Vec<(String, String, Extern)>,
    pub exports: Vec<(String, Extern)>,
}

impl Shape {
    /// The shape of a module wasmi compiled.
    pub fn of(module: &wasmi::Module) -> Shape {
        let ext = |ty: &wasmi::ExternType| match ty {
            wasmi::ExternType::Func(f) => Extern::Func(f.clone()),
            wasmi::ExternType::Memory(m) => Extern::Memory {
                minimum: u32::try_from(m.minimum()).unwrap_or(u32::MAX),
                maximum: m.maximum().map(|x| u32::try_from(x).unwrap_or(u32::MAX)),
            },
            wasmi::ExternType::Global(_) => Extern::Global,
            wasmi::ExternType::Table(_) => Extern::Table,
        };
        Shape {
            imports: module
                .imports()
                .map(|i| (i.module().to_string(), i.name().to_string(), ext(i.ty())))
                .collect(),
            exports: module
                .exports()
                .map(|e| (e.name().to_string(), ext(e.ty())))
                .collect(),
        }
    }

    /// The shape `bytes` declare, read without compiling them; `Err` names what could not be
    /// read (the engine that compiles the module then says what is wrong with it).
    pub fn read(bytes: &[u8]) -> Result<Shape, String> {
        let err = |e: wasmparser::BinaryReaderError| e.to_string();
        let mut types: Vec<Option<FuncType>> = Vec::new();
        let mut funcs: Vec<u32> = Vec::new();
        let mut shape = Shape::default();
        let mut exports = Vec::new();
        for payload in Parser::new(0).parse_all(bytes) {
            match payload.map_err(err)? {
                Payload::TypeSection(r) => {
                    for group in r {
                        for ty in group.map_err(err)?.into_types() {
                            types.push(func_type(&ty));
                        }
                    }
                }
                Payload::ImportSection(r) => {
                    for i in r {
                        let i = i.map_err(err)?;
                        let ty = match i.ty {
                            TypeRef::Func(t) => {
                                funcs.push(t);
                                func_of(&types, t)
                            }
                            TypeRef::Memory(m) => memory(&m),
                            TypeRef::Global(_) => Extern::Global,
                            TypeRef::Table(_) => Extern::Table,
                            TypeRef::Tag(_) => Extern::Other,
                        };
                        shape
                            .imports
                            .push((i.module.to_string(), i.name.to_string(), ty));
                    }
                }
                Payload::FunctionSection(r) => {
                    for f in r {
                        funcs.push(f.map_err(err)?);
                    }
                }
                Payload::ExportSection(r) => {
                    for e in r {
                        let e = e.map_err(err)?;
                        exports.push((e.name.to_string(), e.kind, e.index));
                    }
                }
                // Everything the shape needs comes before the code.
                Payload::CodeSectionStart { .. } => break,
                _ => {}
            }
        }
        shape.exports = exports
            .into_iter()
            .map(|(name, kind, index)| {
                let ty = match kind {
                    wasmparser::ExternalKind::Func => funcs
                        .get(index as usize)
                        .map_or(Extern::Other, |&t| func_of(&types, t)),
                    wasmparser::ExternalKind::Memory => Extern::Memory {
                        minimum: 0,
                        maximum: None,
                    },
                    wasmparser::ExternalKind::Global => Extern::Global,
                    wasmparser::ExternalKind::Table => Extern::Table,
                    wasmparser::ExternalKind::Tag => Extern::Other,
                };
                (name, ty)
            })
            .collect();
        Ok(shape)
    }

    /// Every exported function and its type.
    pub fn func_exports(&self) -> std::collections::HashMap<String, FuncType> {
        self.exports
            .iter()
            .filter_map(|(name, e)| match e {
                Extern::Func(f) => Some((name.clone(), f.clone())),
                _ => None,
            })
            .collect()
    }

    /// The type of exported function `name`.
    pub fn export_func(&self, name: &str) -> Option<&FuncType> {
        self.exports.iter().find_map(|(n, e)| match e {
            Extern::Func(f) if n == name => Some(f),
            _ => None,
        })
    }
}

fn func_of(types: &[Option<FuncType>], index: u32) -> Extern {
    types
        .get(index as usize)
        .cloned()
        .flatten()
        .map_or(Extern::Other, Extern::Func)
}

fn memory(m: &wasmparser::MemoryType) -> Extern {
    Extern::Memory {
        minimum: u32::try_from(m.initial).unwrap_or(u32::MAX),
        maximum: m.maximum.map(|x| u32::try_from(x).unwrap_or(u32::MAX)),
    }
}

fn func_type(ty: &wasmparser::SubType) -> Option<FuncType> {
    let wasmparser::CompositeInnerType::Func(f) = &ty.composite_type.inner else {
        return None;
    };
    let vals = |v: &[wasmparser::ValType]| -> Option<Vec<ValType>> {
        v.iter()
            .map(|t| match t {
                wasmparser::ValType::I32 => Some(ValType::I32),
                wasmparser::ValType::I64 => Some(ValType::I64),
                wasmparser::ValType::F32 => Some(ValType::F32),
                wasmparser::ValType::F64 => Some(ValType::F64),
                wasmparser::ValType::V128 => Some(ValType::V128),
                wasmparser::ValType::Ref(r) if r.is_func_ref() => Some(ValType::FuncRef),
                wasmparser::ValType::Ref(r) if r.is_extern_ref() => Some(ValType::ExternRef),
                wasmparser::ValType::Ref(_) => None,
            })
            .collect()
    };
    Some(FuncType::new(vals(f.params())?, vals(f.results())?))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The shape read from the bytes is the one wasmi compiles, on every example plugin
    /// (imports with their types, memory imports, exports).
    #[test]
    fn read_from_bytes_equals_wasmis() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../public/examples");
        let mut seen = 0;
        for entry in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
            let path = entry.path();
            if path.extension().is_none_or(|e| e != "wasm") {
                continue;
            }
            let bytes = std::fs::read(&path).expect("readable example");
            let engine = wasmi::Engine::default();
            let module = wasmi::Module::new(&engine, &bytes).expect("examples compile");
            let ours = Shape::read(&bytes).expect("readable");
            let theirs = Shape::of(&module);
            // wasmi does not say an exported memory's limits; the host needs none.
            let theirs_exports: Vec<_> = theirs
                .exports
                .iter()
                .map(|(n, e)| match e {
                    Extern::Memory { .. } => (
                        n.clone(),
                        Extern::Memory {
                            minimum: 0,
                            maximum: None,
                        },
                    ),
                    other => (n.clone(), other.clone()),
                })
                .collect();
            // wasmi lists exports by name; their order means nothing.
            let (mut ours_exports, mut theirs_exports) = (ours.exports, theirs_exports);
            ours_exports.sort_by(|a, b| a.0.cmp(&b.0));
            theirs_exports.sort_by(|a, b| a.0.cmp(&b.0));
            assert_eq!(ours.imports, theirs.imports, "{}", path.display());
            assert_eq!(ours_exports, theirs_exports, "{}", path.display());
            seen += 1;
        }
        assert!(
            seen >= 5,
            "the examples are built (examples/build.sh): {seen}"
        );
    }

    #[test]
    fn unreadable_bytes_are_named() {
        assert!(Shape::read(b"\0asm\x01\0\0\0\x01\xff").is_err());
    }
}
