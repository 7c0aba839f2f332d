//! Host functions as plain Rust functions with named, typed parameters.
//!
//! A body is `fn(&mut dyn Guest, ptr: u32, len: u32, …) -> HostResult` (or `-> ()` for an
//! import without results). Its Rust signature is the only declaration of the import's type:
//! [`HostFn`] derives from it the wasm parameter and result types (for linking, for checking a
//! plugin's imports and for the import report), the arguments' trace values, and two ways in
//! that run the body between the checks and the record every host call shares (`begin` and
//! `finish` in the parent module): a typed wasmi host function (wasmi decodes the arguments),
//! and [`HostFn::call`] with the arguments as raw `i64`s, for another engine.

use std::marker::PhantomData;

use wasmi::{Caller, Linker, ValType, WasmRet, WasmTy};

use super::Spec;
use crate::ctx::Ctx;
use crate::memory::{Guest, HostResult};

/// A parameter type of a host function.
pub trait Param: WasmTy + Copy {
    /// Its wasm type.
    const TYPE: ValType;
    /// The value as the trace records it: an `i32` zero-extended (they are pointers, sizes
    /// and enums), an `i64` as it is.
    fn raw(self) -> i64;
    /// The value from an argument another engine passed as an `i64` (an `i32` in its low
    /// 32 bits).
    fn from_raw(v: i64) -> Self;
}

impl Param for u32 {
    const TYPE: ValType = ValType::I32;
    fn raw(self) -> i64 {
        i64::from(self)
    }
    fn from_raw(v: i64) -> Self {
        v as u32
    }
}

impl Param for i32 {
    const TYPE: ValType = ValType::I32;
    fn raw(self) -> i64 {
        i64::from(self as u32)
    }
    fn from_raw(v: i64) -> Self {
        v as i32
    }
}

impl Param for u64 {
    const TYPE: ValType = ValType::I64;
    fn raw(self) -> i64 {
        self as i64
    }
    fn from_raw(v: i64) -> Self {
        v as u64
    }
}

impl Param for i64 {
    const TYPE: ValType = ValType::I64;
    fn raw(self) -> i64 {
        self
    }
    fn from_raw(v: i64) -> Self {
        v
    }
}

/// What a host function body returns: a status or errno (`HostResult`, one `i32` result), or
/// nothing (`()`, no result).
pub trait Ret {
    /// The wasm result types.
    const RESULTS: &'static [ValType];
    /// The value handed back to the guest, as wasmi takes it.
    type Wasm;
    /// The body's outcome as a value or an early end.
    fn outcome(self) -> HostResult;
    /// The guest's result for the recorded return value.
    fn wasm(ret: i32) -> Self::Wasm;
}

impl Ret for HostResult {
    const RESULTS: &'static [ValType] = &[ValType::I32];
    type Wasm = i32;
    fn outcome(self) -> HostResult {
        self
    }
    fn wasm(ret: i32) -> i32 {
        ret
    }
}

impl Ret for () {
    const RESULTS: &'static [ValType] = &[];
    type Wasm = ();
    fn outcome(self) -> HostResult {
        Ok(0)
    }
    fn wasm(_: i32) {}
}

/// A host function body with parameters `Args` (a tuple of [`Param`]s) returning `R`.
/// Implemented for every `fn(&mut dyn Guest, A1, …, An) -> R` up to 12 parameters.
pub trait HostFn<Args, R: Ret>: Copy + Send + Sync + 'static {
    /// The wasm parameter types.
    const PARAMS: &'static [ValType];
    /// Defines the import `module`.`spec.name` in `linker` as this body.
    ///
    /// # Errors
    ///
    /// As [`Linker::func_wrap`].
    fn define(
        self,
        linker: &mut Linker<Ctx>,
        module: &str,
        spec: &'static Spec,
    ) -> Result<(), wasmi::Error>;

    /// Runs this body for `spec` on `guest` with `args` (one per parameter, as raw `i64`s),
    /// between the shared checks and record; the guest's result, if the import has one.
    ///
    /// # Errors
    ///
    /// The trap the call ends in (or the pause, when stepping).
    fn call(
        self,
        guest: &mut dyn Guest,
        spec: &'static Spec,
        args: &[i64],
    ) -> Result<Option<i32>, wasmi::Error>;
}

macro_rules! host_fn {
    ($($arg:ident)*) => {
        impl<F, R, $($arg),*> HostFn<($($arg,)*), R> for F
        where
            F: Fn(&mut dyn Guest, $($arg),*) -> R + Copy + Send + Sync + 'static,
            R: Ret,
            Result<R::Wasm, wasmi::Error>: WasmRet,
            $($arg: Param,)*
        {
            const PARAMS: &'static [ValType] = &[$(<$arg as Param>::TYPE),*];

            #[allow(non_snake_case)]
            fn define(
                self,
                linker: &mut Linker<Ctx>,
                module: &str,
                spec: &'static Spec,
            ) -> Result<(), wasmi::Error> {
                linker.func_wrap(
                    module,
                    spec.name,
                    move |mut caller: Caller<'_, Ctx>, $($arg: $arg),*| -> Result<R::Wasm, wasmi::Error> {
                        let args: &[i64] = &[$(Param::raw($arg)),*];
                        super::begin(&mut caller, spec.name, Some(spec))?;
                        let outcome = self(&mut caller, $($arg),*).outcome();
                        let ret =
                            super::finish(&mut caller, spec.name, Some(spec), args, outcome, R::RESULTS)?;
                        Ok(R::wasm(ret))
                    },
                )?;
                Ok(())
            }

            #[allow(non_snake_case, unused_variables, unused_mut, unused_assignments)]
            fn call(
                self,
                guest: &mut dyn Guest,
                spec: &'static Spec,
                args: &[i64],
            ) -> Result<Option<i32>, wasmi::Error> {
                let mut raw = args.iter().copied().chain(std::iter::repeat(0));
                $(let $arg = <$arg as Param>::from_raw(raw.next().unwrap_or(0));)*
                let args: &[i64] = &[$(Param::raw($arg)),*];
                super::begin(guest, spec.name, Some(spec))?;
                let outcome = self(guest, $($arg),*).outcome();
                let ret = super::finish(guest, spec.name, Some(spec), args, outcome, R::RESULTS)?;
                Ok((!R::RESULTS.is_empty()).then_some(ret))
            }
        }
    };
}

host_fn!();
host_fn!(A1);
host_fn!(A1 A2);
host_fn!(A1 A2 A3);
host_fn!(A1 A2 A3 A4);
host_fn!(A1 A2 A3 A4 A5);
host_fn!(A1 A2 A3 A4 A5 A6);
host_fn!(A1 A2 A3 A4 A5 A6 A7);
host_fn!(A1 A2 A3 A4 A5 A6 A7 A8);
host_fn!(A1 A2 A3 A4 A5 A6 A7 A8 A9);
host_fn!(A1 A2 A3 A4 A5 A6 A7 A8 A9 A10);
host_fn!(A1 A2 A3 A4 A5 A6 A7 A8 A9 A10 A11);
host_fn!(A1 A2 A3 A4 A5 A6 A7 A8 A9 A10 A11 A12);

/// A [`HostFn`] with its types erased, so that one table holds bodies of every signature.
pub(super) trait Body: Sync {
    fn define(
        &self,
        linker: &mut Linker<Ctx>,
        module: &str,
        spec: &'static Spec,
    ) -> Result<(), wasmi::Error>;

    fn call(
        &self,
        guest: &mut dyn Guest,
        spec: &'static Spec,
        args: &[i64],
    ) -> Result<Option<i32>, wasmi::Error>;
}

/// A body and the parameter and result types it was declared with.
pub(super) struct Typed<F, A, R>(F, PhantomData<fn() -> (A, R)>);

/// `f` as a table entry (its types are inferred from its signature).
pub(super) const fn body<F: HostFn<A, R>, A, R: Ret>(f: F) -> Typed<F, A, R> {
    Typed(f, PhantomData)
}

/// The wasm parameter types of `f`, at compile time: the table of types (which `inspect`
/// reads, also on the page, which has no engine) stays apart from the bodies (which only
/// linking reaches), so that reading a type never pulls the interpreter in.
pub(super) const fn params_of<F: HostFn<A, R>, A, R: Ret>(f: F) -> &'static [ValType] {
    let _ = f;
    F::PARAMS
}

/// The wasm result types of `f`, at compile time (see [`params_of`]).
pub(super) const fn results_of<F: HostFn<A, R>, A, R: Ret>(f: F) -> &'static [ValType] {
    let _ = f;
    R::RESULTS
}

impl<F: HostFn<A, R>, A, R: Ret> Body for Typed<F, A, R> {
    fn define(
        &self,
        linker: &mut Linker<Ctx>,
        module: &str,
        spec: &'static Spec,
    ) -> Result<(), wasmi::Error> {
        self.0.define(linker, module, spec)
    }

    fn call(
        &self,
        guest: &mut dyn Guest,
        spec: &'static Spec,
        args: &[i64],
    ) -> Result<Option<i32>, wasmi::Error> {
        self.0.call(guest, spec, args)
    }
}

/// A function type as the import report and load problems show it: `func (i32 i64) -> i32`.
/// Reference and vector types show as `ref`.
pub fn signature(params: &[ValType], results: &[ValType]) -> String {
    fn name(t: &ValType) -> &'static str {
        match t {
            ValType::I32 => "i32",
            ValType::I64 => "i64",
            ValType::F32 => "f32",
            ValType::F64 => "f64",
            _ => "ref",
        }
    }
    let ps: Vec<&str> = params.iter().map(name).collect();
    let rs: Vec<&str> = results.iter().map(name).collect();
    if rs.is_empty() {
        format!("func ({})", ps.join(" "))
    } else {
        format!("func ({}) -> {}", ps.join(" "), rs.join(" "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parameter_types_agree_with_wasmi() {
        assert_eq!(<u32 as Param>::TYPE, <u32 as WasmTy>::ty());
        assert_eq!(<i32 as Param>::TYPE, <i32 as WasmTy>::ty());
        assert_eq!(<u64 as Param>::TYPE, <u64 as WasmTy>::ty());
        assert_eq!(<i64 as Param>::TYPE, <i64 as WasmTy>::ty());
        assert_eq!(Param::raw(-1i32), 0xffff_ffff);
        assert_eq!(Param::raw(u64::MAX), -1);
    }

    #[test]
    fn signatures_read_like_wat() {
        use ValType::{F64, I32, I64};
        assert_eq!(signature(&[I32, I64], &[I32]), "func (i32 i64) -> i32");
        assert_eq!(signature(&[], &[]), "func ()");
        assert_eq!(signature(&[F64, ValType::FuncRef], &[]), "func (f64 ref)");
    }
}
