//! Terraform's built-in functions over [`Value`]s.
//!
//! Every call goes through [`call`], which does what cty's function machinery does for
//! Terraform: checks arity, converts each argument to its parameter type, rejects nulls where
//! the parameter does not allow them, short-circuits to an unknown result when an argument is
//! not yet known, and carries the sensitive mark from any argument over to the result. The
//! individual functions therefore only ever see known, unmarked, converted arguments.

use std::collections::BTreeMap;
use std::path::PathBuf;

use crate::lang::types::{convert, TypeConstraint};
use crate::lang::value::Value;

mod collections;
#[cfg(test)]
mod corpus;
mod crypto;
mod encoding;
mod files;
mod network;
mod numeric;
mod strings;
mod time;

pub use time::{render_utc, Clock};

/// Renders a template string with the given variables.
pub type RenderTemplate<'a> = dyn Fn(&str, &BTreeMap<String, Value>) -> Result<Value, String> + 'a;

/// What functions may need from the outside world.
pub struct FuncContext<'a> {
    /// Relative paths given to `file()` / `templatefile()` resolve against this directory
    /// (the stack directory — never the process's working directory).
    pub base_dir: PathBuf,
    /// Renders a template string with the given variables (used by `templatefile`).
    pub render_template: &'a RenderTemplate<'a>,
    /// What `plantimestamp()` and `timestamp()` return.
    pub clock: Clock,
}

/// A function call failure: the message, and which argument (0-based) was at fault, if known.
#[derive(Debug, Clone, PartialEq)]
pub struct FuncError {
    pub message: String,
    pub arg: Option<usize>,
}

/// The type a parameter's argument is converted to before the function sees it.
#[derive(Clone, Copy, PartialEq, Debug)]
pub(crate) enum P {
    Any,
    Str,
    Num,
    /// A list, set or tuple; elements untouched.
    Seq,
    /// A list, set or tuple whose elements are converted to strings.
    SeqStr,
    SeqBool,
    /// A map or object; values untouched.
    Map,
}

#[derive(Clone, Copy, Debug)]
pub(crate) struct Param {
    name: &'static str,
    ty: P,
    nullable: bool,
}

const fn p(name: &'static str, ty: P) -> Param {
    Param { name, ty, nullable: false }
}

/// A parameter that accepts null.
const fn pn(name: &'static str, ty: P) -> Param {
    Param { name, ty, nullable: true }
}

type Impl = fn(&Call) -> Result<Value, FuncError>;

struct Spec {
    name: &'static str,
    params: &'static [Param],
    /// Trailing parameters that may repeat; also makes the last fixed parameter count optional
    /// for functions like `lookup` that list it in `optional`.
    variadic: Option<Param>,
    /// Trailing parameters (from `params`) that may be omitted.
    optional: usize,
    imp: Impl,
}

const fn f(name: &'static str, params: &'static [Param], imp: Impl) -> Spec {
    Spec { name, params, variadic: None, optional: 0, imp }
}

const fn fv(name: &'static str, params: &'static [Param], variadic: Param, imp: Impl) -> Spec {
    Spec { name, params, variadic: Some(variadic), optional: 0, imp }
}

const fn fo(name: &'static str, params: &'static [Param], optional: usize, imp: Impl) -> Spec {
    Spec { name, params, variadic: None, optional, imp }
}

use P::*;

static SPECS: &[Spec] = &[
    // Numbers.
    f("abs", &[p("num", Num)], numeric::abs),
    f("ceil", &[p("num", Num)], numeric::ceil),
    f("floor", &[p("num", Num)], numeric::floor),
    f("log", &[p("num", Num), p("base", Num)], numeric::log),
    f("pow", &[p("num", Num), p("power", Num)], numeric::pow),
    f("signum", &[p("num", Num)], numeric::signum),
    f("parseint", &[p("number", Any), p("base", Num)], numeric::parseint),
    fv("min", &[], p("numbers", Num), numeric::min),
    fv("max", &[], p("numbers", Num), numeric::max),
    f("sum", &[p("list", Seq)], numeric::sum),
    // Strings.
    f("chomp", &[p("str", Str)], strings::chomp),
    f("endswith", &[p("str", Str), p("suffix", Str)], strings::endswith),
    fv("format", &[p("format", Str)], pn("args", Any), strings::format),
    fv("formatlist", &[p("format", Str)], pn("args", Any), strings::formatlist),
    f("indent", &[p("spaces", Num), p("str", Str)], strings::indent),
    fv("join", &[p("separator", Str)], p("lists", SeqStr), strings::join),
    f("lower", &[p("str", Str)], strings::lower),
    f("regex", &[p("pattern", Str), p("string", Str)], strings::regex),
    f("regexall", &[p("pattern", Str), p("string", Str)], strings::regexall),
    f("replace", &[p("str", Str), p("substr", Str), p("replace", Str)], strings::replace),
    f("split", &[p("separator", Str), p("str", Str)], strings::split),
    f("startswith", &[p("str", Str), p("prefix", Str)], strings::startswith),
    f("strcontains", &[p("str", Str), p("substr", Str)], strings::strcontains),
    f("strrev", &[p("str", Str)], strings::strrev),
    f("substr", &[p("str", Str), p("offset", Num), p("length", Num)], strings::substr),
    f("title", &[p("str", Str)], strings::title),
    f("trim", &[p("str", Str), p("cutset", Str)], strings::trim),
    f("trimprefix", &[p("str", Str), p("prefix", Str)], strings::trimprefix),
    f("trimsuffix", &[p("str", Str), p("suffix", Str)], strings::trimsuffix),
    f("trimspace", &[p("str", Str)], strings::trimspace),
    f("upper", &[p("str", Str)], strings::upper),
    // Collections.
    f("alltrue", &[p("list", SeqBool)], collections::alltrue),
    f("anytrue", &[p("list", SeqBool)], collections::anytrue),
    f("chunklist", &[p("list", Seq), p("size", Num)], collections::chunklist),
    fv("coalesce", &[], pn("vals", Any), collections::coalesce),
    fv("coalescelist", &[], p("vals", Seq), collections::coalescelist),
    f("compact", &[p("list", SeqStr)], collections::compact),
    fv("concat", &[], p("seqs", Seq), collections::concat),
    f("contains", &[p("list", Seq), pn("value", Any)], collections::contains),
    f("distinct", &[p("list", Seq)], collections::distinct),
    f("element", &[p("list", Seq), p("index", Num)], collections::element),
    f("flatten", &[p("list", Seq)], collections::flatten),
    f("index", &[p("list", Seq), pn("value", Any)], collections::index),
    f("keys", &[p("inputMap", Map)], collections::keys),
    f("length", &[p("value", Any)], collections::length),
    f("matchkeys", &[p("values", Seq), p("keys", Seq), p("searchset", Seq)], collections::matchkeys),
    fo("lookup", &[p("inputMap", Map), p("key", Str), pn("default", Any)], 1, collections::lookup),
    fv("merge", &[], pn("maps", Any), collections::merge),
    f("one", &[p("list", Seq)], collections::one),
    fv("range", &[], p("params", Num), collections::range),
    f("reverse", &[p("list", Seq)], collections::reverse),
    fv("setintersection", &[p("first_set", Seq)], p("other_sets", Seq), collections::setintersection),
    fv("setproduct", &[], p("sets", Seq), collections::setproduct),
    fv("setsubtract", &[p("a", Seq)], p("b", Seq), collections::setsubtract),
    fv("setunion", &[p("first_set", Seq)], p("other_sets", Seq), collections::setunion),
    f("slice", &[p("list", Seq), p("start_index", Num), p("end_index", Num)], collections::slice),
    f("sort", &[p("list", SeqStr)], collections::sort),
    f("transpose", &[p("values", Map)], collections::transpose),
    f("values", &[p("mapping", Map)], collections::values),
    f("zipmap", &[p("keys", SeqStr), p("values", Seq)], collections::zipmap),
    // Type conversion.
    f("tobool", &[pn("v", Any)], collections::tobool),
    f("tolist", &[pn("v", Any)], collections::tolist),
    f("tomap", &[pn("v", Any)], collections::tomap),
    f("tonumber", &[pn("v", Any)], collections::tonumber),
    f("toset", &[pn("v", Any)], collections::toset),
    f("tostring", &[pn("v", Any)], collections::tostring),
    // Sensitivity: handled in `call` before the generic path; listed for arity and names.
    f("sensitive", &[pn("value", Any)], unreachable_mark_fn),
    f("nonsensitive", &[pn("value", Any)], unreachable_mark_fn),
    f("issensitive", &[pn("value", Any)], unreachable_mark_fn),
    // Cairn has no ephemeral values, so nothing is ephemeral to replace with null.
    f("ephemeralasnull", &[pn("value", Any)], unreachable_mark_fn),
    // Encoding and hashing.
    f("base64decode", &[p("str", Str)], encoding::base64decode),
    f("base64encode", &[p("str", Str)], encoding::base64encode),
    f("base64sha256", &[p("str", Str)], encoding::base64sha256),
    f("base64sha512", &[p("str", Str)], encoding::base64sha512),
    f("base64gzip", &[p("str", Str)], encoding::base64gzip),
    f("csvdecode", &[p("str", Str)], encoding::csvdecode),
    f("textencodebase64", &[p("string", Str), p("encoding", Str)], encoding::textencodebase64),
    f("textdecodebase64", &[p("source", Str), p("encoding", Str)], encoding::textdecodebase64),
    f("yamldecode", &[p("src", Str)], encoding::yamldecode),
    f("yamlencode", &[pn("value", Any)], encoding::yamlencode),
    // Crypto and identifiers.
    fv("bcrypt", &[p("str", Str)], p("cost", Num), crypto::bcrypt),
    f("rsadecrypt", &[p("ciphertext", Str), p("privatekey", Str)], crypto::rsadecrypt),
    f("uuid", &[], crypto::uuid),
    f("uuidv5", &[p("namespace", Str), p("name", Str)], crypto::uuidv5),
    f("jsondecode", &[p("str", Str)], encoding::jsondecode),
    f("jsonencode", &[pn("val", Any)], encoding::jsonencode),
    f("md5", &[p("str", Str)], encoding::md5),
    f("sha1", &[p("str", Str)], encoding::sha1),
    f("sha256", &[p("str", Str)], encoding::sha256),
    f("sha512", &[p("str", Str)], encoding::sha512),
    f("urlencode", &[p("str", Str)], encoding::urlencode),
    // Networks.
    f("cidrhost", &[p("prefix", Str), p("hostnum", Num)], network::cidrhost),
    f("cidrnetmask", &[p("prefix", Str)], network::cidrnetmask),
    f("cidrsubnet", &[p("prefix", Str), p("newbits", Num), p("netnum", Num)], network::cidrsubnet),
    fv("cidrsubnets", &[p("prefix", Str)], p("newbits", Num), network::cidrsubnets),
    // Files.
    f("abspath", &[p("path", Str)], files::abspath),
    f("basename", &[p("path", Str)], files::basename),
    f("dirname", &[p("path", Str)], files::dirname),
    f("file", &[p("path", Str)], files::file),
    f("filebase64", &[p("path", Str)], files::filebase64),
    f("fileexists", &[p("path", Str)], files::fileexists),
    f("filesha256", &[p("path", Str)], files::filesha256),
    f("filesha512", &[p("path", Str)], files::filesha512),
    f("filesha1", &[p("path", Str)], files::filesha1),
    f("filemd5", &[p("path", Str)], files::filemd5),
    f("filebase64sha256", &[p("path", Str)], files::filebase64sha256),
    f("filebase64sha512", &[p("path", Str)], files::filebase64sha512),
    f("fileset", &[p("path", Str), p("pattern", Str)], files::fileset),
    f("pathexpand", &[p("path", Str)], files::pathexpand),
    f("templatefile", &[p("path", Str), p("vars", Map)], files::templatefile),
    // Date and time.
    f("formatdate", &[p("format", Str), p("time", Str)], time::formatdate),
    f("plantimestamp", &[], time::plantimestamp),
    f("timestamp", &[], time::timestamp),
    f("timeadd", &[p("timestamp", Str), p("duration", Str)], time::timeadd),
    f("timecmp", &[p("timestamp_a", Str), p("timestamp_b", Str)], time::timecmp),
];

fn unreachable_mark_fn(c: &Call) -> Result<Value, FuncError> {
    Err(c.fail("internal error: sensitivity functions are dispatched before argument handling"))
}

/// One call in progress: known, unmarked, converted arguments plus what the function needs to
/// report errors well.
pub(crate) struct Call<'a> {
    pub args: Vec<Value>,
    /// Which arguments carried a sensitive mark (before unmarking): their content must not
    /// appear in error messages.
    pub sensitive: Vec<bool>,
    pub ctx: &'a FuncContext<'a>,
    spec: &'static Spec,
}

impl Call<'_> {
    fn param(&self, i: usize) -> Option<&'static Param> {
        self.spec.params.get(i).or(self.spec.variadic.as_ref())
    }

    /// An error blamed on argument `i`, worded as Terraform words it.
    pub fn err(&self, i: usize, msg: impl std::fmt::Display) -> FuncError {
        let name = self.param(i).map(|p| p.name).unwrap_or("argument");
        FuncError { message: format!("Invalid value for \"{name}\" parameter: {msg}."), arg: Some(i) }
    }

    /// An error not blamed on one argument.
    pub fn fail(&self, msg: impl std::fmt::Display) -> FuncError {
        FuncError { message: format!("Call to function \"{}\" failed: {msg}.", self.spec.name), arg: None }
    }

    /// Quotes argument `i`'s text for a message, unless the argument is sensitive.
    pub fn shown(&self, i: usize, text: &str) -> String {
        if self.sensitive.get(i).copied().unwrap_or(false) {
            "(sensitive value)".to_string()
        } else {
            format!("{text:?}")
        }
    }

    pub fn arg(&self, i: usize) -> &Value {
        static NULL: Value = Value::Null;
        self.args.get(i).unwrap_or(&NULL)
    }

    pub fn str(&self, i: usize) -> &str {
        self.arg(i).as_str().unwrap_or("")
    }

    /// A number argument as the nearest f64 (for what Terraform also computes in float64).
    pub fn num(&self, i: usize) -> f64 {
        self.arg(i).as_f64().unwrap_or(0.0)
    }

    /// A number argument, exactly.
    pub fn number(&self, i: usize) -> crate::lang::number::Number {
        self.arg(i).as_number().cloned().unwrap_or(crate::lang::number::Number::ZERO)
    }

    /// A whole-number argument (exact: no rounding of what an i64 cannot hold).
    pub fn int(&self, i: usize) -> Result<i64, FuncError> {
        self.arg(i).as_i64().ok_or_else(|| self.err(i, "a whole number is required"))
    }

    pub fn seq(&self, i: usize) -> &[Value] {
        self.arg(i).as_list().unwrap_or(&[])
    }

    pub fn map(&self, i: usize) -> Option<&BTreeMap<String, Value>> {
        self.arg(i).as_map()
    }
}

/// Functions whose result is built from their arguments' structure without inspecting nested
/// values, so nested unknowns and sensitive marks pass through instead of spreading.
const STRUCTURAL: &[&str] =
    &["keys", "values", "merge", "concat", "length", "lookup", "element", "slice", "zipmap", "tolist", "tomap"];

/// Calls the function `name`. `try` and `can` are not here: they need unevaluated arguments and
/// live in the evaluator.
pub fn call(name: &str, args: Vec<Value>, ctx: &FuncContext) -> Result<Value, FuncError> {
    let Some(spec) = SPECS.iter().find(|s| s.name == name) else {
        return Err(FuncError { message: format!("There is no function named \"{name}\"."), arg: None });
    };
    check_arity(spec, args.len())?;
    match name {
        "sensitive" => return Ok(args.into_iter().next().unwrap_or(Value::Null).sensitive()),
        "nonsensitive" => return Ok(args.into_iter().next().unwrap_or(Value::Null).unmark_deep().0),
        // Terraform looks at the top-level mark only, and answers even for an unknown value.
        "issensitive" => return Ok(Value::Bool(args.first().is_some_and(Value::is_sensitive))),
        "ephemeralasnull" => return Ok(args.into_iter().next().unwrap_or(Value::Null)),
        _ => {}
    }

    // Functions that only rearrange collections keep what they do not look at: a map whose
    // values are unknown or secret still has known, non-secret keys, as in Terraform. This is
    // what lets `for_each = keys(merge(...))` plan before the values exist.
    let structural = STRUCTURAL.contains(&name);
    // zipmap turns list elements into map keys, which carry no marks of their own: a secret
    // key would come out bare, so it marks the whole map.
    let secret_keys = name == "zipmap" && args.first().is_some_and(Value::contains_sensitive);
    let mut sensitive = Vec::with_capacity(args.len());
    let mut converted = Vec::with_capacity(args.len());
    for (i, arg) in args.into_iter().enumerate() {
        let (arg, marked) =
            if structural { (arg.clone().into_peeled(), arg.is_sensitive()) } else { arg.unmark_deep() };
        sensitive.push(marked);
        let param = spec.params.get(i).or(spec.variadic.as_ref());
        let Some(param) = param else { break };
        converted.push(convert_arg(spec, i, param, arg, marked)?);
    }
    let any_sensitive = secret_keys || sensitive.iter().any(|s| *s);

    let blocked = if structural {
        converted.iter().any(Value::is_unknown)
    } else {
        converted.iter().any(Value::contains_unknown)
    };
    if blocked {
        if name == "length" {
            if let Some(n) = converted.first().and_then(|v| match v {
                Value::List(xs) | Value::Set(xs) => Some(xs.len()),
                Value::Map(m) => Some(m.len()),
                _ => None,
            }) {
                return Ok(Value::from(n).mark_if(any_sensitive));
            }
        }
        return Ok(Value::unknown().mark_if(any_sensitive));
    }

    let c = Call { args: converted, sensitive, ctx, spec };
    match (spec.imp)(&c) {
        Ok(v) => Ok(v.mark_if(any_sensitive)),
        Err(e) => Err(redact_error(e, &c)),
    }
}

fn check_arity(spec: &Spec, given: usize) -> Result<(), FuncError> {
    let required = spec.params.len() - spec.optional;
    if given < required {
        let missing = spec.params.get(given).map(|p| p.name).unwrap_or("argument");
        return Err(FuncError {
            message: format!(
                "Not enough function arguments: function \"{}\" expects {}{} argument(s). Missing value for \"{missing}\".",
                spec.name,
                if spec.variadic.is_some() || spec.optional > 0 { "at least " } else { "" },
                required
            ),
            arg: None,
        });
    }
    if spec.variadic.is_none() && given > spec.params.len() {
        return Err(FuncError {
            message: format!(
                "Too many function arguments: function \"{}\" expects only {} argument(s).",
                spec.name,
                spec.params.len()
            ),
            arg: Some(spec.params.len()),
        });
    }
    Ok(())
}

fn convert_arg(spec: &Spec, i: usize, param: &Param, arg: Value, marked: bool) -> Result<Value, FuncError> {
    let blame = |msg: String| FuncError {
        message: format!("Invalid value for \"{}\" parameter: {msg}.", param.name),
        arg: Some(i),
    };
    if arg.is_null() {
        return if param.nullable { Ok(arg) } else { Err(blame("argument must not be null".into())) };
    }
    if arg.is_unknown() {
        return Ok(arg);
    }
    let elem = match param.ty {
        Any => return Ok(arg),
        Str => return convert(arg, &TypeConstraint::String).map_err(|e| blame(conv_msg(e, marked))),
        Num => return convert(arg, &TypeConstraint::Number).map_err(|e| blame(conv_msg(e, marked))),
        Map => {
            return match arg {
                Value::Map(_) => Ok(arg),
                _ => Err(blame(format!("map or object required, but got {}", crate::lang::types::type_of(&arg)))),
            }
        }
        Seq => None,
        SeqStr => Some(TypeConstraint::String),
        SeqBool => Some(TypeConstraint::Bool),
    };
    let (Value::List(_) | Value::Set(_)) = arg else {
        let what = match elem {
            Some(t) => format!("list of {t}"),
            None => "list, set, or tuple".into(),
        };
        return Err(blame(format!("{what} required, but got {}", crate::lang::types::type_of(&arg))));
    };
    let _ = spec;
    match elem {
        None => Ok(arg),
        Some(t) => {
            let was_set = matches!(arg, Value::Set(_));
            let ty = if was_set { TypeConstraint::Set(Box::new(t)) } else { TypeConstraint::List(Box::new(t)) };
            convert(arg, &ty).map_err(|e| blame(conv_msg(e, marked)))
        }
    }
}

/// Conversion messages never quote the value, but keep the guarantee explicit for secrets.
fn conv_msg(msg: String, marked: bool) -> String {
    if marked {
        format!("{msg} (the value is sensitive)")
    } else {
        msg
    }
}

/// Last line of defence: no string content of a sensitive argument may reach a message, even
/// if a function forgot to use [`Call::shown`].
fn redact_error(mut e: FuncError, c: &Call) -> FuncError {
    fn strings<'v>(v: &'v Value, out: &mut Vec<&'v str>) {
        match v {
            Value::String(s) => out.push(s),
            Value::List(xs) | Value::Set(xs) => xs.iter().for_each(|x| strings(x, out)),
            Value::Map(m) => m.values().for_each(|x| strings(x, out)),
            _ => {}
        }
    }
    let mut secrets = Vec::new();
    for (arg, marked) in c.args.iter().zip(&c.sensitive) {
        if *marked {
            strings(arg, &mut secrets);
        }
    }
    for secret in secrets {
        if secret.chars().count() >= 3 && e.message.contains(secret) {
            e.message = e.message.replace(secret, "(sensitive value)");
        }
    }
    e
}

/// A value's type as Terraform's console prints the result of `type(...)`: `string`,
/// `tuple([\n    number,\n])`, `object({\n    a: string,\n})`, four spaces a level.
///
/// Cairn's values carry no static type, so a literal's type is what Terraform gives literals:
/// brackets make a tuple and braces an object (a `tolist`/`tomap` result reads the same way),
/// and a null or unknown value is `dynamic`.
pub fn type_string(v: &Value) -> String {
    fn write(v: &Value, indent: usize, out: &mut String) {
        let pad = " ".repeat(indent + 4);
        match v.peel() {
            Value::Null | Value::Unknown(_) => out.push_str("dynamic"),
            Value::Bool(_) => out.push_str("bool"),
            Value::Number(_) => out.push_str("number"),
            Value::String(_) => out.push_str("string"),
            Value::List(xs) if xs.is_empty() => out.push_str("tuple([])"),
            Value::List(xs) => {
                out.push_str("tuple([\n");
                for x in xs {
                    out.push_str(&pad);
                    write(x, indent + 4, out);
                    out.push_str(",\n");
                }
                out.push_str(&" ".repeat(indent));
                out.push_str("])");
            }
            Value::Set(xs) => {
                out.push_str("set(");
                match xs.first() {
                    Some(x) => write(x, indent, out),
                    None => out.push_str("dynamic"),
                }
                out.push(')');
            }
            Value::Map(m) if m.is_empty() => out.push_str("object({})"),
            Value::Map(m) => {
                out.push_str("object({\n");
                for (k, x) in m.iter() {
                    out.push_str(&pad);
                    out.push_str(k);
                    out.push_str(": ");
                    write(x, indent + 4, out);
                    out.push_str(",\n");
                }
                out.push_str(&" ".repeat(indent));
                out.push_str("})");
            }
            Value::Sensitive(_) => out.push_str("dynamic"),
        }
    }
    let mut out = String::new();
    write(v, 0, &mut out);
    out
}

/// Names of every function `call` knows, for "did you mean" suggestions.
pub fn names() -> &'static [&'static str] {
    static NAMES: std::sync::OnceLock<Vec<&'static str>> = std::sync::OnceLock::new();
    NAMES.get_or_init(|| SPECS.iter().map(|s| s.name).collect())
}

#[cfg(test)]
pub(crate) mod testutil {
    use super::*;

    pub fn no_template(_: &str, _: &BTreeMap<String, Value>) -> Result<Value, String> {
        Err("templates are not available in this test".into())
    }

    pub fn ctx() -> FuncContext<'static> {
        FuncContext { base_dir: PathBuf::from("."), render_template: &no_template, clock: Clock::default() }
    }

    pub fn run(name: &str, args: Vec<Value>) -> Result<Value, FuncError> {
        call(name, args, &ctx())
    }

    /// Calls and expects success.
    pub fn ok(name: &str, args: Vec<Value>) -> Value {
        match run(name, args) {
            Ok(v) => v,
            Err(e) => panic!("{name} failed: {}", e.message),
        }
    }

    /// Calls and expects failure; returns the message.
    pub fn err(name: &str, args: Vec<Value>) -> FuncError {
        match run(name, args) {
            Ok(v) => panic!("{name} unexpectedly returned {v}"),
            Err(e) => e,
        }
    }

    pub fn s(x: &str) -> Value {
        Value::string(x)
    }

    pub fn n(x: f64) -> Value {
        Value::from(x)
    }

    pub fn list(xs: Vec<Value>) -> Value {
        Value::List(xs)
    }

    pub fn strs(xs: &[&str]) -> Value {
        Value::List(xs.iter().map(|x| Value::string(*x)).collect())
    }

    pub fn nums(xs: &[f64]) -> Value {
        Value::List(xs.iter().map(|x| Value::from(*x)).collect())
    }
}

#[cfg(test)]
mod tests {
    use super::testutil::*;
    use super::*;

    #[test]
    fn every_name_is_callable_and_unique() {
        let mut seen = std::collections::BTreeSet::new();
        for name in names() {
            assert!(seen.insert(*name), "duplicate function {name}");
        }
        assert!(names().contains(&"cidrsubnet"));
        assert!(!names().contains(&"try"), "try is the evaluator's");
    }

    #[test]
    fn type_string_is_the_consoles() {
        // developer.hashicorp.com/terraform/language/functions/type
        let v = list(vec![
            Value::map([("foo", s("bar")), ("map", Value::map([("bleep", s("bloop"))]))]),
            Value::map([("beep", s("boop"))]),
        ]);
        assert_eq!(
            type_string(&v),
            "tuple([\n    object({\n        foo: string,\n        map: object({\n            bleep: string,\n        }),\n    }),\n    object({\n        beep: string,\n    }),\n])"
        );
        assert_eq!(type_string(&list(vec![])), "tuple([])");
        assert_eq!(type_string(&Value::set(vec![n(1.0)])), "set(number)");
        assert_eq!(type_string(&Value::Null), "dynamic");
        assert_eq!(type_string(&s("x").sensitive()), "string");
    }

    #[test]
    fn issensitive_answers_from_the_mark_even_when_unknown() {
        assert_eq!(ok("issensitive", vec![Value::unknown().sensitive()]), Value::Bool(true));
        assert_eq!(ok("issensitive", vec![Value::unknown()]), Value::Bool(false));
        assert!(!ok("issensitive", vec![s("x").sensitive()]).is_sensitive());
    }

    #[test]
    fn unknown_function_is_an_error() {
        let e = err("frobnicate", vec![]);
        assert_eq!(e.message, "There is no function named \"frobnicate\".");
    }

    #[test]
    fn arity_errors_name_the_missing_parameter() {
        let e = err("upper", vec![]);
        assert!(e.message.contains("Missing value for \"str\""), "{}", e.message);
        let e = err("upper", vec![s("a"), s("b")]);
        assert!(e.message.starts_with("Too many function arguments"), "{}", e.message);
        assert_eq!(e.arg, Some(1));
        let e = err("lookup", vec![Value::map([("a", s("b"))])]);
        assert!(e.message.contains("\"key\""), "{}", e.message);
    }

    #[test]
    fn type_errors_point_at_the_argument() {
        let e = err("upper", vec![strs(&["a"])]);
        assert_eq!(e.arg, Some(0));
        assert_eq!(e.message, "Invalid value for \"str\" parameter: string required.");
        let e = err("abs", vec![s("x")]);
        assert_eq!(e.message, "Invalid value for \"num\" parameter: a number is required.");
        let e = err("keys", vec![s("x")]);
        assert!(
            e.message.starts_with("Invalid value for \"inputMap\" parameter: map or object required"),
            "{}",
            e.message
        );
    }

    #[test]
    fn arguments_are_converted_like_terraform() {
        assert_eq!(ok("upper", vec![n(5.0)]), s("5"));
        assert_eq!(ok("abs", vec![s("-3")]), n(3.0));
        assert_eq!(ok("join", vec![s(","), nums(&[1.0, 2.0])]), s("1,2"));
    }

    #[test]
    fn null_arguments_are_rejected_unless_allowed() {
        let e = err("upper", vec![Value::Null]);
        assert_eq!(e.message, "Invalid value for \"str\" parameter: argument must not be null.");
        assert_eq!(ok("coalesce", vec![Value::Null, s("x")]), s("x"));
    }

    #[test]
    fn unknown_in_unknown_out() {
        assert!(ok("upper", vec![Value::unknown()]).is_unknown());
        assert!(ok("join", vec![s(","), list(vec![s("a"), Value::unknown()])]).is_unknown());
        assert!(ok("cidrsubnet", vec![Value::unknown(), n(8.0), n(1.0)]).is_unknown());
    }

    #[test]
    fn length_of_known_collection_with_unknown_elements_is_known() {
        assert_eq!(ok("length", vec![list(vec![Value::unknown(), s("a")])]), n(2.0));
        assert!(ok("length", vec![Value::unknown()]).is_unknown());
    }

    #[test]
    fn sensitive_in_sensitive_out() {
        let v = ok("upper", vec![s("a").sensitive()]);
        assert!(v.is_sensitive());
        assert_eq!(v.peel(), &s("A"));
        let v = ok("join", vec![s("-"), list(vec![s("a"), s("b").sensitive()])]);
        assert!(v.is_sensitive());
        let v = ok("upper", vec![Value::unknown().sensitive()]);
        assert!(v.is_sensitive() && v.is_unknown());
    }

    #[test]
    fn sensitive_and_nonsensitive() {
        let v = ok("sensitive", vec![s("x")]);
        assert!(v.is_sensitive());
        let v = ok("nonsensitive", vec![Value::map([("a", s("x").sensitive())])]);
        assert!(!v.contains_sensitive());
        assert!(ok("sensitive", vec![Value::unknown()]).is_unknown());
        assert!(ok("nonsensitive", vec![Value::unknown().sensitive()]).is_unknown());
    }

    #[test]
    fn errors_never_show_sensitive_content() {
        let e = err("lookup", vec![Value::map([("a", s("b"))]), s("hunter2").sensitive()]);
        assert!(!e.message.contains("hunter2"), "{}", e.message);
        let e = err("parseint", vec![s("hunter2").sensitive(), n(10.0)]);
        assert!(!e.message.contains("hunter2"), "{}", e.message);
        let e = err("base64decode", vec![s("hunter2!!").sensitive()]);
        assert!(!e.message.contains("hunter2"), "{}", e.message);
        let e = err("cidrhost", vec![s("hunter2/8").sensitive(), n(1.0)]);
        assert!(!e.message.contains("hunter2"), "{}", e.message);
    }
}

#[cfg(test)]
mod structural_tests {
    use super::*;
    use std::collections::BTreeMap;

    fn ctx_call(name: &str, args: Vec<Value>) -> Value {
        let render = |_: &str, _: &BTreeMap<String, Value>| -> Result<Value, String> { Ok(Value::Null) };
        let ctx =
            FuncContext { base_dir: std::path::PathBuf::from("."), render_template: &render, clock: Clock::default() };
        call(name, args, &ctx).expect("call succeeds")
    }

    #[test]
    fn keys_of_a_map_with_unknown_or_secret_values_are_known_and_plain() {
        let m = Value::map([("a", Value::unknown()), ("b", Value::from("x").sensitive())]);
        let k = ctx_call("keys", vec![m.clone()]);
        assert_eq!(k, Value::List(vec!["a".into(), "b".into()]));
        let merged = ctx_call("merge", vec![m, Value::map([("c", Value::from(1))])]);
        assert!(!merged.is_sensitive() && !merged.is_unknown());
        assert!(merged.get("b").unwrap().is_sensitive(), "the secret keeps its own mark");
        assert!(merged.get("a").unwrap().is_unknown());
        // A wholly sensitive or unknown argument still marks the result.
        assert!(ctx_call("keys", vec![Value::map([("a", Value::from(1))]).sensitive()]).is_sensitive());
        assert!(ctx_call("keys", vec![Value::unknown()]).is_unknown());
    }
}

/// Issue 14 §2: every argument that sizes an allocation, or that a conversion could truncate,
/// is checked; each of these panicked, aborted or returned a wrong value before.
#[cfg(test)]
mod bounds {
    use super::testutil::*;
    use crate::lang::limits::{MAX_COLLECTION_LEN, MAX_FORMAT_WIDTH};

    #[test]
    fn format_precision_past_the_bound_is_an_error_not_a_panic() {
        let e = err("format", vec![s("%.70000f"), n(1.0)]);
        assert!(e.message.contains("precision 70000"), "{}", e.message);
        let e = err("format", vec![s("%.70000e"), n(1.0)]);
        assert!(e.message.contains("precision 70000"), "{}", e.message);
        let e = err("format", vec![s("%.70000g"), n(1.0)]);
        assert!(e.message.contains("precision 70000"), "{}", e.message);
        let e = err("format", vec![s("%.70000s"), s("x")]);
        assert!(e.message.contains("precision 70000"), "{}", e.message);
        // The largest allowed still works.
        let out = ok("format", vec![s(&format!("%.{MAX_FORMAT_WIDTH}f")), n(1.0)]);
        assert_eq!(out.as_str().map(str::len), Some(MAX_FORMAT_WIDTH + 2));
    }

    #[test]
    fn format_width_past_the_bound_is_an_error_not_ignored() {
        // 2^64 and more used to parse as "no width" and be dropped silently.
        let e = err("format", vec![s("%99999999999999999999d"), n(1.0)]);
        assert!(e.message.contains("width 99999999999999999999"), "{}", e.message);
        let e = err("format", vec![s("%9000000000s"), s("x")]);
        assert!(e.message.contains("width 9000000000"), "{}", e.message);
        let e = err("formatlist", vec![s("%.70000f"), nums(&[1.0])]);
        assert!(e.message.contains("precision 70000"), "{}", e.message);
    }

    #[test]
    fn format_integer_verbs_refuse_numbers_past_i128() {
        // A cast to i128 saturated: format("%d", 1e300) printed 170141183460469231731687303715884105727.
        let e = err("format", vec![s("%d"), n(1e300)]);
        assert!(e.message.contains("too large"), "{}", e.message);
        let e = err("format", vec![s("%x"), n(-1e300)]);
        assert!(e.message.contains("too large"), "{}", e.message);
        assert_eq!(ok("format", vec![s("%d"), n(1e20)]), s("100000000000000000000"));
    }

    #[test]
    fn indent_past_the_string_bound_is_an_error_not_an_abort() {
        let e = err("indent", vec![n(9e15), s("a\nb")]);
        assert!(e.message.contains("longer than"), "{}", e.message);
        assert_eq!(ok("indent", vec![n(2.0), s("a\nb")]), s("a\n  b"));
    }

    #[test]
    fn cidrsubnet_newbits_that_would_wrap_are_refused() {
        // 4294967295 as u32 wrapped the new prefix and returned a larger network.
        let e = err("cidrsubnet", vec![s("10.0.0.0/24"), n(4294967295.0), n(0.0)]);
        assert!(e.message.contains("insufficient address space"), "{}", e.message);
        let e = err("cidrsubnet", vec![s("10.0.0.0/24"), n(4294967296.0 + 8.0), n(0.0)]);
        assert!(e.message.contains("insufficient address space"), "{}", e.message);
        let e = err("cidrsubnet", vec![s("fd00::/8"), n(9e15), n(0.0)]);
        assert!(e.message.contains("insufficient address space"), "{}", e.message);
        assert_eq!(ok("cidrsubnet", vec![s("10.0.0.0/24"), n(8.0), n(255.0)]), s("10.0.0.255/32"));
    }

    #[test]
    fn cidrhost_and_cidrsubnets_refuse_huge_numbers() {
        assert!(run("cidrhost", vec![s("10.0.0.0/24"), n(4294967296.0)]).is_err());
        assert!(run("cidrhost", vec![s("10.0.0.0/24"), n(-4294967296.0)]).is_err());
        assert!(run("cidrhost", vec![s("10.0.0.0/24"), n(1e19)]).is_err());
        assert!(run("cidrsubnets", vec![s("10.0.0.0/24"), n(4294967295.0)]).is_err());
        assert!(run("cidrsubnets", vec![s("10.0.0.0/24"), n(1e19)]).is_err());
    }

    #[test]
    fn replace_whose_result_would_pass_the_string_bound_is_refused() {
        let long = "a".repeat(5_000);
        for needle in ["a", "", "/a/"] {
            let e = err("replace", vec![s(&long), s(needle), s(&long)]);
            assert!(e.message.contains("longer than"), "{needle}: {}", e.message);
        }
        assert_eq!(ok("replace", vec![s("aXa"), s("a"), s("bb")]), s("bbXbb"));
    }

    #[test]
    fn setproduct_larger_than_the_bound_is_refused_before_it_is_built() {
        let hundred = nums(&(0..100).map(f64::from).collect::<Vec<_>>());
        let e = err("setproduct", vec![hundred.clone(), hundred.clone(), hundred.clone(), hundred.clone()]);
        assert!(e.message.contains(&MAX_COLLECTION_LEN.to_string()), "{}", e.message);
        let small = ok("setproduct", vec![hundred.clone(), hundred]);
        assert_eq!(small.as_list().map(<[_]>::len), Some(10_000));
    }

    #[test]
    fn whole_number_arguments_past_2_pow_53_are_refused() {
        // Past 2^53 a "whole" f64 is already rounded; before, 1e19 reached `as` casts.
        for (name, args) in [
            ("chunklist", vec![nums(&[1.0]), n(1e19)]),
            ("element", vec![nums(&[1.0]), n(1e19)]),
            ("slice", vec![nums(&[1.0]), n(0.0), n(1e19)]),
            ("substr", vec![s("abc"), n(1e19), n(1.0)]),
            ("substr", vec![s("abc"), n(0.0), n(-1e19)]),
            ("indent", vec![n(f64::INFINITY), s("x")]),
        ] {
            let e = err(name, args);
            assert!(e.message.contains("whole number"), "{name}: {}", e.message);
        }
    }
}
