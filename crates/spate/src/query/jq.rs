//! jq programs, compiled once with the jaq crates (jq syntax and standard library).

use super::val::{BuildError, MAX_VALUE_DEPTH};
use std::fmt;

use jaq_core::load::{Arena, File, Loader};
use jaq_core::{data, Compiler, Ctx, Vars};
use jaq_json::Val;

type Data = data::JustLut<Val>;
type Filter = jaq_core::Filter<Data>;

/// A compiled jq program.
pub struct JqProgram {
    code: String,
    filter: Filter,
    /// The parts of an input the program can read (see [`super::projection`]).
    need: super::projection::Need,
    /// The program compiled for the byte route, when it is of that grammar.
    bytes: Option<super::bytefilter::ByteFilter>,
}

impl fmt::Debug for JqProgram {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JqProgram")
            .field("code", &self.code)
            .finish()
    }
}

/// A jq program that does not compile: what jaq says, and where.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JqCompileError {
    /// The program as given.
    pub code: String,
    /// Character offset (from 0) of the problem in the program.
    pub at: usize,
    /// jaq's message.
    pub message: String,
}

impl fmt::Display for JqCompileError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "jq program does not compile: {} at character {}\n  {}\n  {}^",
            self.message,
            self.at,
            self.code,
            " ".repeat(self.code[..self.at.min(self.code.len())].chars().count())
        )
    }
}

impl std::error::Error for JqCompileError {}

/// A jq runtime error (e.g. `.a` on a number).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JqRuntimeError(pub String);

impl fmt::Display for JqRuntimeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for JqRuntimeError {}

impl JqProgram {
    /// Compiles `code` with the jq standard library.
    pub fn compile(code: &str) -> Result<JqProgram, JqCompileError> {
        let defs = jaq_core::defs()
            .chain(jaq_std::defs())
            .chain(jaq_json::defs());
        let funs = jaq_core::funs()
            .chain(jaq_std::funs())
            .chain(jaq_json::funs());
        let loader = Loader::new(defs);
        let arena = Arena::default();
        let program = File { code, path: () };
        let fail = |part: &str, message: String| JqCompileError {
            code: code.to_owned(),
            at: char_offset(code, part),
            message,
        };
        let modules = loader.load(&arena, program).map_err(|errs| {
            use jaq_core::load::Error;
            match errs.into_iter().next().map(|(_, e)| e) {
                Some(Error::Lex(errs)) => match errs.into_iter().next() {
                    Some((expect, found)) => fail(found, format!("expected {}", expect.as_str())),
                    None => fail("", "lexing failed".to_owned()),
                },
                Some(Error::Parse(errs)) => match errs.into_iter().next() {
                    Some((expect, found)) => fail(found, format!("expected {}", expect.as_str())),
                    None => fail("", "parsing failed".to_owned()),
                },
                Some(Error::Io(errs)) => {
                    let msg = errs.into_iter().next().map_or_else(
                        || "cannot load a module".to_owned(),
                        |(p, e)| format!("{p}: {e}"),
                    );
                    fail("", msg)
                }
                None => fail("", "loading failed".to_owned()),
            }
        })?;
        let filter = Compiler::default()
            .with_funs(funs)
            .compile(modules)
            .map_err(|errs| {
                match errs
                    .into_iter()
                    .next()
                    .and_then(|(_, e)| e.into_iter().next())
                {
                    Some((found, undefined)) => {
                        fail(found, format!("undefined {} '{found}'", undefined.as_str()))
                    }
                    None => fail("", "compiling failed".to_owned()),
                }
            })?;
        Ok(JqProgram {
            code: code.to_owned(),
            filter,
            need: super::projection::needed(code),
            bytes: super::bytefilter::ByteFilter::compile(code),
        })
    }

    /// The jq value of an input's JSON text, with only the parts the program can read
    /// (the fields of objects it never looks at are skipped: see [`super::projection`]).
    pub fn parse_input(&self, json: &[u8]) -> Result<Val, JqRuntimeError> {
        parse_with_need(json, &self.need)
    }

    /// The parts of an input the program can read.
    pub(crate) fn need(&self) -> &super::projection::Need {
        &self.need
    }

    /// The program compiled for the byte route (see [`super::bytefilter`]).
    pub(crate) fn byte_filter(&self) -> Option<&super::bytefilter::ByteFilter> {
        self.bytes.as_ref()
    }

    /// Whether the program is of the shapes that run on an item's bytes, building no jq
    /// value (its answers are the same either way).
    pub fn runs_on_bytes(&self) -> bool {
        self.bytes.is_some()
    }

    /// The program as given.
    pub fn code(&self) -> &str {
        &self.code
    }

    /// Runs the program on `input`, calling `f` for each output; stops at the first error.
    /// A program that halts (`halt`, `halt_error`) is an error here; [`JqProgram::run_halting`]
    /// tells it apart.
    pub fn run(
        &self,
        input: Val,
        f: impl FnMut(Val) -> Result<(), JqRuntimeError>,
    ) -> Result<(), JqRuntimeError> {
        self.run_halting(input, f).map_err(JqRuntimeError::from)
    }

    /// [`JqProgram::run`], saying when the program halted: the process is never ended from
    /// here (the caller decides what a halt means).
    pub fn run_halting(
        &self,
        input: Val,
        mut f: impl FnMut(Val) -> Result<(), JqRuntimeError>,
    ) -> Result<(), JqFailure> {
        let ctx = Ctx::<Data>::new(&self.filter.lut, Vars::new([]));
        for out in self.filter.id.run((ctx, input)) {
            match out {
                Ok(v) => f(v).map_err(JqFailure::Error)?,
                Err(exn) => return Err(failure(exn)),
            }
        }
        Ok(())
    }

    /// The first output of the program on `input` (`null` when there is none). A halt is
    /// an error here.
    pub fn first(&self, input: Val) -> Result<Val, JqRuntimeError> {
        let ctx = Ctx::<Data>::new(&self.filter.lut, Vars::new([]));
        match self.filter.id.run((ctx, input)).next() {
            Some(Ok(v)) => Ok(v),
            Some(Err(exn)) => Err(failure(exn).into()),
            None => Ok(Val::Null),
        }
    }
}

/// Why a program stopped before its end.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum JqFailure {
    /// A runtime error.
    Error(JqRuntimeError),
    /// `halt` / `halt_error`: the program asks to end with this exit code.
    Halt(i32),
}

/// Where a halt cannot end the run, it is an error of the item.
impl From<JqFailure> for JqRuntimeError {
    fn from(failure: JqFailure) -> Self {
        match failure {
            JqFailure::Error(e) => e,
            JqFailure::Halt(code) => {
                JqRuntimeError(format!("the program halted with exit code {code}"))
            }
        }
    }
}

/// The longest jq error message kept: jq's messages quote the value (`cannot index
/// "…" with "x"`), which may be a 50 MB string.
const MAX_MESSAGE: usize = 300;

/// `message`, cut to [`MAX_MESSAGE`] bytes (on a character boundary) with a note of how
/// much was left out.
fn excerpt(mut message: String) -> String {
    if message.len() <= MAX_MESSAGE {
        return message;
    }
    let mut cut = MAX_MESSAGE;
    while !message.is_char_boundary(cut) {
        cut -= 1;
    }
    let left = message.len() - cut;
    message.truncate(cut);
    message.push_str(&format!("… ({left} more bytes)"));
    message
}

/// A jaq exception as a [`JqFailure`] (jaq's own helper would end the process on a halt).
fn failure(exn: jaq_core::Exn<Val>) -> JqFailure {
    match exn.get_err() {
        Ok(e) => JqFailure::Error(JqRuntimeError(excerpt(e.to_string()))),
        Err(exn) => match exn.get_halt() {
            Ok(code) => JqFailure::Halt(code),
            Err(_) => JqFailure::Error(JqRuntimeError("internal jq control flow escaped".into())),
        },
    }
}

/// The jq value of `json` with only the parts `need` names.
pub(crate) fn parse_with_need(
    json: &[u8],
    need: &super::projection::Need,
) -> Result<Val, JqRuntimeError> {
    match need {
        super::projection::Need::All => parse_val(json),
        need => match super::val::build_projected(json, need) {
            Ok(v) => Ok(v),
            Err(BuildError::TooDeep) => Err(too_deep()),
            Err(BuildError::NumberTooLong) => Err(too_long()),
            Err(BuildError::NotJson) => parse_val(json),
        },
    }
}

fn too_deep() -> JqRuntimeError {
    JqRuntimeError(format!(
        "the item nests deeper than {MAX_VALUE_DEPTH} levels, the most a filter or an \
         aggregate takes"
    ))
}

fn too_long() -> JqRuntimeError {
    JqRuntimeError(format!(
        "the item holds a number of more than {} digits, the most a filter or an aggregate \
         takes",
        super::decimal::MAX_DIGITS
    ))
}

/// Parses one JSON text into a jq value (see [`super::val`]; text it does not take is
/// left to jaq's reader, whose answer, value or error, is then the one given). A value
/// nested deeper than [`MAX_VALUE_DEPTH`] is an error naming that limit.
pub fn parse_val(json: &[u8]) -> Result<Val, JqRuntimeError> {
    match super::val::build(json) {
        Ok(v) => Ok(v),
        Err(BuildError::TooDeep) => Err(too_deep()),
        Err(BuildError::NumberTooLong) => Err(too_long()),
        Err(BuildError::NotJson) if super::val::too_deep(json) => Err(too_deep()),
        Err(BuildError::NotJson) => jaq_json::read::parse_single(json)
            .map_err(|e| JqRuntimeError(format!("cannot read the item: {e}"))),
    }
}

/// Character offset of `part` (a sub-slice of `code`, as jaq reports) in `code`.
fn char_offset(code: &str, part: &str) -> usize {
    let base = code.as_ptr() as usize;
    let at = part.as_ptr() as usize;
    if at >= base && at <= base + code.len() {
        code[..at - base].chars().count()
    } else {
        code.chars().count()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn outputs(code: &str, input: &str) -> Vec<String> {
        let p = JqProgram::compile(code).unwrap();
        let mut out = Vec::new();
        p.run(parse_val(input.as_bytes()).unwrap(), |v| {
            out.push(v.to_string());
            Ok(())
        })
        .unwrap();
        out
    }

    #[test]
    fn runs_programs_with_the_standard_library() {
        assert_eq!(outputs(".[]", "[1, 2]"), ["1", "2"]);
        assert_eq!(
            outputs("select(.n > 1) | .id", r#"{"id": "x", "n": 2}"#),
            [r#""x""#]
        );
        assert_eq!(outputs("map(. * 2) | add", "[1, 2, 3]"), ["12"]);
        assert_eq!(outputs(".a | length", r#"{"a": [1, 2, 3]}"#), ["3"]);
    }

    #[test]
    fn compile_errors_say_where() {
        let e = JqProgram::compile(".a | nosuchfn(1)").unwrap_err();
        assert!(e.message.contains("undefined"), "{e}");
        assert_eq!(e.at, 5);
        let e = JqProgram::compile(".a |").unwrap_err();
        assert!(e.message.starts_with("expected"), "{e}");
    }

    #[test]
    fn runtime_errors_are_reported() {
        let p = JqProgram::compile(".a").unwrap();
        let err = p.run(parse_val(b"5").unwrap(), |_| Ok(())).unwrap_err();
        assert!(err.0.contains("cannot index"), "{err}");
    }
}
