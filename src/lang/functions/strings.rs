//! String functions, including `format`/`formatlist` and the regular-expression functions.

use std::collections::BTreeMap;

use unicode_segmentation::UnicodeSegmentation;

use super::{Call, FuncError};
use crate::lang::limits::{MAX_FORMAT_WIDTH, MAX_STRING_LEN};
use crate::lang::types::{convert, TypeConstraint};
use crate::lang::value::{Number, Value};

fn string(s: impl Into<String>) -> Result<Value, FuncError> {
    Ok(Value::String(s.into()))
}

pub fn chomp(c: &Call) -> Result<Value, FuncError> {
    let mut s = c.str(0);
    while let Some(rest) = s.strip_suffix("\r\n").or_else(|| s.strip_suffix('\n')).or_else(|| s.strip_suffix('\r')) {
        s = rest;
    }
    string(s)
}

pub fn endswith(c: &Call) -> Result<Value, FuncError> {
    Ok(Value::Bool(c.str(0).ends_with(c.str(1))))
}

pub fn startswith(c: &Call) -> Result<Value, FuncError> {
    Ok(Value::Bool(c.str(0).starts_with(c.str(1))))
}

pub fn strcontains(c: &Call) -> Result<Value, FuncError> {
    Ok(Value::Bool(c.str(0).contains(c.str(1))))
}

pub fn indent(c: &Call) -> Result<Value, FuncError> {
    let spaces = c.int(0)?;
    if spaces < 0 {
        return Err(c.err(0, "must not be negative"));
    }
    let spaces = usize::try_from(spaces).unwrap_or(usize::MAX);
    let lines = c.str(1).matches('\n').count();
    if lines == 0 {
        // Only lines after the first are indented: a one-line string comes back as it is,
        // whatever the count, and no padding is built for it.
        return string(c.str(1).to_string());
    }
    if spaces.saturating_mul(lines).saturating_add(c.str(1).len()) > MAX_STRING_LEN {
        return Err(
            c.err(0, format!("the result would be longer than the {MAX_STRING_LEN} characters a string may have"))
        );
    }
    let pad = " ".repeat(spaces);
    string(c.str(1).replace('\n', &format!("\n{pad}")))
}

pub fn join(c: &Call) -> Result<Value, FuncError> {
    if c.args.len() < 2 {
        return Err(c.fail("at least one list is required"));
    }
    let mut parts = Vec::new();
    for i in 1..c.args.len() {
        for (j, item) in c.seq(i).iter().enumerate() {
            match item.as_str() {
                Some(s) => parts.push(s),
                None => return Err(c.err(i, format!("element {j} is null; cannot concatenate null values"))),
            }
        }
    }
    string(parts.join(c.str(0)))
}

pub fn lower(c: &Call) -> Result<Value, FuncError> {
    string(c.str(0).to_lowercase())
}

pub fn upper(c: &Call) -> Result<Value, FuncError> {
    string(c.str(0).to_uppercase())
}

/// Reverses user-perceived characters, so a combining mark or skin-tone modifier stays with
/// its base character (cty's `reverse` works on grapheme clusters).
pub fn strrev(c: &Call) -> Result<Value, FuncError> {
    string(c.str(0).graphemes(true).rev().collect::<String>())
}

pub fn title(c: &Call) -> Result<Value, FuncError> {
    // Go's strings.Title: a letter starts a word when the previous character is a separator
    // (anything but a letter, digit or underscore).
    let mut out = String::with_capacity(c.str(0).len());
    let mut at_word_start = true;
    for ch in c.str(0).chars() {
        if at_word_start {
            out.extend(ch.to_uppercase());
        } else {
            out.push(ch);
        }
        at_word_start = !(ch.is_alphanumeric() || ch == '_');
    }
    string(out)
}

pub fn trim(c: &Call) -> Result<Value, FuncError> {
    let cutset: Vec<char> = c.str(1).chars().collect();
    string(c.str(0).trim_matches(|ch| cutset.contains(&ch)))
}

pub fn trimprefix(c: &Call) -> Result<Value, FuncError> {
    string(c.str(0).strip_prefix(c.str(1)).unwrap_or(c.str(0)))
}

pub fn trimsuffix(c: &Call) -> Result<Value, FuncError> {
    string(c.str(0).strip_suffix(c.str(1)).unwrap_or(c.str(0)))
}

pub fn trimspace(c: &Call) -> Result<Value, FuncError> {
    string(c.str(0).trim())
}

pub fn split(c: &Call) -> Result<Value, FuncError> {
    let (sep, s) = (c.str(0), c.str(1));
    let parts: Vec<Value> = if sep.is_empty() {
        s.chars().map(|ch| Value::String(ch.to_string())).collect()
    } else {
        s.split(sep).map(Value::string).collect()
    };
    Ok(Value::List(parts))
}

/// Offsets and lengths count grapheme clusters, as cty's `substr` does.
pub fn substr(c: &Call) -> Result<Value, FuncError> {
    let chars: Vec<&str> = c.str(0).graphemes(true).collect();
    let len = chars.len() as i64;
    let mut offset = c.int(1)?;
    let length = c.int(2)?;
    if offset < 0 {
        offset += len;
        if offset < 0 {
            offset = 0;
        }
    }
    if offset > len {
        return string("");
    }
    let end = if length < 0 { len } else { (offset + length).min(len) };
    let (start, end) = (offset as usize, end.max(offset) as usize);
    string(chars.get(start..end).unwrap_or(&[]).concat())
}

fn compile(c: &Call, i: usize, pattern: &str) -> Result<regex::Regex, FuncError> {
    regex::Regex::new(pattern).map_err(|e| {
        let detail = if c.sensitive.get(i).copied().unwrap_or(false) {
            "the pattern is not valid".to_string()
        } else {
            e.to_string()
        };
        c.err(i, format!("invalid regexp pattern: {detail}"))
    })
}

/// Terraform's shape for one match: the whole match without groups, a list with unnamed
/// groups, a map when every group is named. Groups that did not take part are null.
fn match_value(re: &regex::Regex, caps: &regex::Captures) -> Value {
    let group = |i: usize| caps.get(i).map(|m| Value::string(m.as_str())).unwrap_or(Value::Null);
    let names: Vec<Option<&str>> = re.capture_names().skip(1).collect();
    if names.is_empty() {
        return group(0);
    }
    if names.iter().all(Option::is_some) {
        let mut m = BTreeMap::new();
        for (i, name) in names.iter().enumerate() {
            if let Some(name) = name {
                m.insert(name.to_string(), group(i + 1));
            }
        }
        return Value::object(m);
    }
    Value::List((1..=names.len()).map(group).collect())
}

/// cty refuses a pattern mixing named and unnamed groups: its result would be neither a list
/// nor an object.
fn compile_for_matching(c: &Call) -> Result<regex::Regex, FuncError> {
    let re = compile(c, 0, c.str(0))?;
    let names: Vec<Option<&str>> = re.capture_names().skip(1).collect();
    if names.iter().any(Option::is_some) && names.iter().any(Option::is_none) {
        return Err(c.err(0, "invalid regular expression: cannot use both named and unnamed capture groups"));
    }
    Ok(re)
}

pub fn regex(c: &Call) -> Result<Value, FuncError> {
    let re = compile_for_matching(c)?;
    match re.captures(c.str(1)) {
        Some(caps) => Ok(match_value(&re, &caps)),
        None => Err(c.fail("pattern did not match any part of the given string")),
    }
}

pub fn regexall(c: &Call) -> Result<Value, FuncError> {
    let re = compile_for_matching(c)?;
    Ok(Value::List(re.captures_iter(c.str(1)).map(|caps| match_value(&re, &caps)).collect()))
}

pub fn replace(c: &Call) -> Result<Value, FuncError> {
    let (s, substr, replacement) = (c.str(0), c.str(1), c.str(2));
    // A plain replacement's result length is known exactly before it is built (each match
    // swaps `substr` for `replacement`), so two megabyte-long arguments cannot ask for terabytes.
    let too_long =
        || c.fail(format!("the result would be longer than the {MAX_STRING_LEN} characters a string may have"));
    if substr.len() >= 2 && substr.starts_with('/') && substr.ends_with('/') {
        let re = compile(c, 1, &substr[1..substr.len() - 1])?;
        // `$1` in the replacement expands to a capture, so the replacement's own length says
        // little. A capture lies inside its match, so one expansion is at most the replacement
        // plus the match once per `$`: checked before each expansion, the result can never
        // pass the limit, however the arguments are chosen.
        let dollars = replacement.matches('$').count();
        let mut out = String::new();
        let mut last = 0;
        for caps in re.captures_iter(s) {
            let Some(m) = caps.get(0) else { continue };
            let most = replacement.len().saturating_add(dollars.saturating_mul(m.len()));
            let needed =
                out.len().saturating_add(m.start() - last).saturating_add(most).saturating_add(s.len() - m.end());
            if needed > MAX_STRING_LEN {
                return Err(too_long());
            }
            out.push_str(&s[last..m.start()]);
            caps.expand(replacement, &mut out);
            last = m.end();
        }
        out.push_str(&s[last..]);
        return string(out);
    }
    let result_len = if substr.is_empty() {
        // One replacement before every character and one at the end.
        (s.chars().count() + 1).checked_mul(replacement.len()).and_then(|r| r.checked_add(s.len()))
    } else {
        let matches = s.matches(substr).count();
        matches.checked_mul(replacement.len()).and_then(|r| r.checked_add(s.len() - matches * substr.len()))
    };
    if result_len.is_none_or(|n| n > MAX_STRING_LEN) {
        return Err(too_long());
    }
    if substr.is_empty() {
        // Go's strings.Replace with an empty needle inserts between every character.
        let mut out = String::from(replacement);
        for ch in s.chars() {
            out.push(ch);
            out.push_str(replacement);
        }
        return string(out);
    }
    string(s.replace(substr, replacement))
}

// ---- format / formatlist ----

#[derive(Default)]
struct Verb {
    plus: bool,
    minus: bool,
    sharp: bool,
    space: bool,
    zero: bool,
    width: Option<usize>,
    precision: Option<usize>,
    verb: char,
}

/// Formats per Terraform's `format` spec (a subset of Go's fmt verbs). Errors are plain
/// messages; callers wrap them.
fn format_with(spec: &str, args: &[Value]) -> Result<String, String> {
    let mut out = String::new();
    let mut chars = spec.char_indices().peekable();
    let mut next_arg = 0usize;
    let mut max_used = 0usize;
    while let Some((offset, ch)) = chars.next() {
        if ch != '%' {
            out.push(ch);
            continue;
        }
        let mut v = Verb::default();
        while let Some(&(_, flag)) = chars.peek() {
            match flag {
                '+' => v.plus = true,
                '-' => v.minus = true,
                '#' => v.sharp = true,
                ' ' => v.space = true,
                '0' => v.zero = true,
                _ => break,
            }
            chars.next();
        }
        if let Some(&(_, '[')) = chars.peek() {
            chars.next();
            let mut digits = String::new();
            while let Some(&(_, d)) = chars.peek() {
                chars.next();
                if d == ']' {
                    break;
                }
                digits.push(d);
            }
            let index: usize = digits.parse().map_err(|_| format!("invalid argument index [{digits}] at {offset}"))?;
            if index == 0 {
                return Err(format!("invalid argument index [0] at {offset}: indices start at 1"));
            }
            next_arg = index - 1;
        }
        let mut width = String::new();
        while let Some(&(_, d)) = chars.peek().filter(|(_, d)| d.is_ascii_digit()) {
            width.push(d);
            chars.next();
        }
        v.width = if width.is_empty() { None } else { Some(format_size(&width, "width", offset)?) };
        if let Some(&(_, '.')) = chars.peek() {
            chars.next();
            let mut precision = String::new();
            while let Some(&(_, d)) = chars.peek().filter(|(_, d)| d.is_ascii_digit()) {
                precision.push(d);
                chars.next();
            }
            v.precision = Some(if precision.is_empty() { 0 } else { format_size(&precision, "precision", offset)? });
        }
        let Some((_, verb)) = chars.next() else {
            return Err(format!("format string ends with an incomplete verb at {offset}"));
        };
        v.verb = verb;
        if verb == '%' {
            out.push('%');
            continue;
        }
        let Some(arg) = args.get(next_arg) else {
            return Err(format!(
                "not enough arguments for \"%{verb}\" at {offset}: need index {} but have {} total",
                next_arg + 1,
                args.len()
            ));
        };
        next_arg += 1;
        max_used = max_used.max(next_arg);
        let text = format_one(&v, arg).map_err(|e| format!("unsupported value for \"%{verb}\" at {offset}: {e}"))?;
        out.push_str(&text);
    }
    if max_used < args.len() {
        return Err(if max_used == 0 {
            "too many arguments; no verbs in format string".to_string()
        } else {
            format!("too many arguments; only {max_used} used by format string")
        });
    }
    Ok(out)
}

/// A verb's width or precision: digits that would overflow or exceed the bound are an error,
/// never dropped (a width silently ignored) nor passed on (Rust's formatter panics past 65535).
fn format_size(digits: &str, what: &str, offset: usize) -> Result<usize, String> {
    match digits.parse::<usize>() {
        Ok(n) if n <= MAX_FORMAT_WIDTH => Ok(n),
        _ => Err(format!("{what} {digits} at {offset} is more than the {MAX_FORMAT_WIDTH} a format verb may have")),
    }
}

/// Pads to the verb's width, counted in grapheme clusters as cty's `formatPadWidth` does.
/// For strings (not numbers) cty pads with `0` under the zero flag even on the right.
fn pad(v: &Verb, body: String, numeric: bool) -> String {
    let len = body.graphemes(true).count();
    let Some(width) = v.width.filter(|w| *w > len) else { return body };
    let fill = width - len;
    if !numeric {
        let pads = if v.zero { "0" } else { " " }.repeat(fill);
        return if v.minus { format!("{body}{pads}") } else { format!("{pads}{body}") };
    }
    if v.minus {
        format!("{body}{}", " ".repeat(fill))
    } else if v.zero && numeric {
        // Zero padding goes between the sign and the digits.
        let (sign, digits) = match body.chars().next() {
            Some(s @ ('-' | '+' | ' ')) => (s.to_string(), body[1..].to_string()),
            _ => (String::new(), body),
        };
        format!("{sign}{}{digits}", "0".repeat(fill))
    } else {
        format!("{}{body}", " ".repeat(fill))
    }
}

fn signed(v: &Verb, n: f64, digits: String) -> String {
    if n.is_sign_negative() && n != 0.0 {
        format!("-{digits}")
    } else if v.plus {
        format!("+{digits}")
    } else if v.space {
        format!(" {digits}")
    } else {
        digits
    }
}

/// Go's `%e`: mantissa, then a signed exponent of at least two digits.
fn exp_format(n: f64, precision: usize, upper: bool) -> String {
    let s = format!("{:.*e}", precision, n.abs());
    let (mantissa, exp) = s.split_once('e').unwrap_or((&s, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    let e = if upper { 'E' } else { 'e' };
    format!("{mantissa}{e}{}{:02}", if exp < 0 { '-' } else { '+' }, exp.abs())
}

fn g_format(n: f64, precision: Option<usize>, upper: bool) -> String {
    let a = n.abs();
    if a == 0.0 {
        return "0".into();
    }
    let exp = a.log10().floor() as i32;
    let limit = precision.map(|p| p.max(1) as i32).unwrap_or(21);
    if exp < -4 || exp >= limit {
        let shortest = format!("{:e}", a);
        let (mantissa, _) = shortest.split_once('e').unwrap_or((&shortest, ""));
        let digits = mantissa.replace('.', "").len().saturating_sub(1);
        let p = precision.map(|p| p.saturating_sub(1)).unwrap_or(digits);
        let s = exp_format(a, p, upper);
        return trim_fraction_zeros(&s);
    }
    match precision {
        Some(p) => {
            let decimals = (p as i32 - 1 - exp).max(0) as usize;
            trim_fraction_zeros(&format!("{:.*}", decimals, a))
        }
        None => format!("{a}"),
    }
}

fn trim_fraction_zeros(s: &str) -> String {
    let (num, exp) = match s.find(['e', 'E']) {
        Some(i) => (&s[..i], &s[i..]),
        None => (s, ""),
    };
    if !num.contains('.') {
        return s.to_string();
    }
    let num = num.trim_end_matches('0').trim_end_matches('.');
    format!("{num}{exp}")
}

fn format_one(v: &Verb, arg: &Value) -> Result<String, String> {
    if arg.is_null() && v.verb != 'v' {
        return Err("null value cannot be formatted".into());
    }
    let as_exact = || -> Result<Number, String> {
        match convert(arg.clone(), &TypeConstraint::Number) {
            Ok(Value::Number(n)) => Ok(n),
            _ => Err("a number is required".into()),
        }
    };
    let as_string = || -> Result<String, String> {
        match convert(arg.clone(), &TypeConstraint::String) {
            Ok(Value::String(s)) => Ok(s),
            _ => Err("a string is required".into()),
        }
    };
    let as_number = || as_exact().map(|n| n.to_f64());
    // Integer verbs take the exact digits (a 64-bit id stays whole); i128 holds up to 2^127.
    let whole = |n: &Number| -> Result<i128, String> {
        if !n.is_integer() {
            Err("a whole number is required".into())
        } else {
            n.to_string().parse::<i128>().map_err(|_| format!("{n} is too large to format as an integer"))
        }
    };
    // cty cuts strings to the precision in grapheme clusters, and only a positive one.
    let truncate = |s: String| match v.precision {
        Some(p) if p > 0 => s.graphemes(true).take(p).collect(),
        _ => s,
    };
    match v.verb {
        'v' => {
            let body = match arg {
                _ if v.sharp => json(arg),
                Value::Null => "null".into(),
                Value::String(s) => s.clone(),
                Value::Number(n) => n.to_string(),
                Value::Bool(b) => b.to_string(),
                _ => json(arg),
            };
            Ok(pad(v, body, false))
        }
        's' => Ok(pad(v, truncate(as_string()?), false)),
        'q' => Ok(pad(v, serde_json::Value::String(truncate(as_string()?)).to_string(), false)),
        't' => match convert(arg.clone(), &TypeConstraint::Bool) {
            Ok(Value::Bool(b)) => Ok(pad(v, b.to_string(), false)),
            _ => Err("a bool is required".into()),
        },
        'd' => {
            let n = as_exact()?;
            let i = whole(&n)?;
            Ok(pad(v, signed(v, n.to_f64(), i.unsigned_abs().to_string()), true))
        }
        'b' | 'o' | 'x' | 'X' => {
            let exact = as_exact()?;
            let (n, i) = (exact.to_f64(), whole(&exact)?.unsigned_abs());
            let (digits, prefix) = match v.verb {
                'b' => (format!("{i:b}"), "0b"),
                'o' => (format!("{i:o}"), "0"),
                'x' => (format!("{i:x}"), "0x"),
                _ => (format!("{i:X}"), "0X"),
            };
            let digits = if v.sharp { format!("{prefix}{digits}") } else { digits };
            Ok(pad(v, signed(v, n, digits), true))
        }
        'f' | 'F' => {
            let n = as_number()?;
            let digits = format!("{:.*}", v.precision.unwrap_or(6), n.abs());
            Ok(pad(v, signed(v, n, digits), true))
        }
        'e' | 'E' => {
            let n = as_number()?;
            let digits = exp_format(n, v.precision.unwrap_or(6), v.verb == 'E');
            Ok(pad(v, signed(v, n, digits), true))
        }
        'g' | 'G' => {
            let n = as_number()?;
            let digits = g_format(n, v.precision, v.verb == 'G');
            Ok(pad(v, signed(v, n, digits), true))
        }
        other => Err(format!("unrecognized format verb '{other}'")),
    }
}

/// JSON as `jsonencode` writes it.
fn json(v: &Value) -> String {
    super::encoding::json_text(v)
}

pub fn format(c: &Call) -> Result<Value, FuncError> {
    let text = format_with(c.str(0), &c.args[1..]).map_err(|e| c.fail(e))?;
    string(text)
}

pub fn formatlist(c: &Call) -> Result<Value, FuncError> {
    let rest = &c.args[1..];
    let mut length: Option<(usize, usize)> = None;
    for (i, arg) in rest.iter().enumerate() {
        if let Value::List(xs) | Value::Set(xs) = arg {
            match length {
                None => length = Some((i, xs.len())),
                Some((first, len)) if len != xs.len() => {
                    return Err(c.err(
                        i + 1,
                        format!(
                            "argument {} has length {}, which is inconsistent with argument {} of length {len}",
                            i + 1,
                            xs.len(),
                            first + 1
                        ),
                    ));
                }
                Some(_) => {}
            }
        }
    }
    let iterations = length.map(|(_, len)| len).unwrap_or(1);
    let mut out = Vec::with_capacity(iterations);
    for n in 0..iterations {
        let args: Vec<Value> = rest
            .iter()
            .map(|a| match a {
                Value::List(xs) | Value::Set(xs) => xs.get(n).cloned().unwrap_or(Value::Null),
                other => other.clone(),
            })
            .collect();
        let text = format_with(c.str(0), &args).map_err(|e| c.fail(format!("error on format iteration {n}: {e}")))?;
        out.push(Value::String(text));
    }
    Ok(Value::List(out))
}

#[cfg(test)]
mod tests {
    use super::super::testutil::*;
    use crate::lang::value::Value;

    fn fmt(spec: &str, args: Vec<Value>) -> String {
        let mut all = vec![s(spec)];
        all.extend(args);
        match ok("format", all) {
            Value::String(s) => s,
            other => panic!("not a string: {other}"),
        }
    }

    #[test]
    fn format_verbs() {
        assert_eq!(fmt("Hello, %s!", vec![s("Ander")]), "Hello, Ander!");
        assert_eq!(fmt("There are %d lights", vec![n(4.0)]), "There are 4 lights");
        assert_eq!(fmt("%f", vec![n(3.5)]), "3.500000");
        assert_eq!(fmt("%.2f", vec![n(1.23456)]), "1.23");
        assert_eq!(fmt("%q", vec![s("a\"b")]), "\"a\\\"b\"");
        assert_eq!(fmt("%v %v %v", vec![s("x"), n(1.5), Value::Bool(true)]), "x 1.5 true");
        assert_eq!(fmt("%v", vec![strs(&["a"])]), "[\"a\"]");
        assert_eq!(fmt("%#v", vec![s("a")]), "\"a\"");
        assert_eq!(fmt("%t", vec![Value::Bool(false)]), "false");
        assert_eq!(fmt("100%%", vec![]), "100%");
        assert_eq!(fmt("[%5d]", vec![n(42.0)]), "[   42]");
        assert_eq!(fmt("[%-5s]", vec![s("ab")]), "[ab   ]");
        assert_eq!(fmt("[%05d]", vec![n(-42.0)]), "[-0042]");
        assert_eq!(fmt("%+d", vec![n(3.0)]), "+3");
        assert_eq!(fmt("%.3s", vec![s("abcdef")]), "abc");
        assert_eq!(fmt("%x %X %o %b %#x", vec![n(255.0), n(255.0), n(8.0), n(5.0), n(255.0)]), "ff FF 10 101 0xff");
        assert_eq!(fmt("%e", vec![n(1234.5678)]), "1.234568e+03");
        assert_eq!(fmt("%g", vec![n(0.5)]), "0.5");
        assert_eq!(fmt("%[2]s %[1]s", vec![s("a"), s("b")]), "b a");
        assert_eq!(fmt("%s", vec![n(5.0)]), "5");
        assert_eq!(fmt("%d", vec![s("12")]), "12");
    }

    #[test]
    fn format_errors() {
        let e = err("format", vec![s("%s %s"), s("a")]);
        assert!(e.message.contains("not enough arguments"), "{}", e.message);
        let e = err("format", vec![s("plain"), s("a")]);
        assert!(e.message.contains("too many arguments"), "{}", e.message);
        let e = err("format", vec![s("%d"), n(1.5)]);
        assert!(e.message.contains("whole number"), "{}", e.message);
        let e = err("format", vec![s("%s"), strs(&["a"])]);
        assert!(e.message.contains("string is required"), "{}", e.message);
        let e = err("format", vec![s("%z"), n(1.0)]);
        assert!(e.message.contains("unrecognized format verb"), "{}", e.message);
        assert!(ok("format", vec![s("%s"), Value::unknown()]).is_unknown());
    }

    #[test]
    fn formatlist_iterates_lists_and_repeats_scalars() {
        assert_eq!(
            ok("formatlist", vec![s("Hello, %s!"), strs(&["Valentina", "Ander"])]),
            strs(&["Hello, Valentina!", "Hello, Ander!"])
        );
        assert_eq!(
            ok("formatlist", vec![s("%s, %s!"), s("Salutations"), strs(&["a", "b"])]),
            strs(&["Salutations, a!", "Salutations, b!"])
        );
        let e = err("formatlist", vec![s("%s%s"), strs(&["a"]), strs(&["a", "b"])]);
        assert!(e.message.contains("inconsistent"), "{}", e.message);
    }

    #[test]
    fn simple_string_functions() {
        assert_eq!(ok("chomp", vec![s("hello\n\r\n")]), s("hello"));
        assert_eq!(ok("indent", vec![n(2.0), s("a\nb")]), s("a\n  b"));
        // Found by the fuzzer: a one-line string with a huge count built the padding first and
        // aborted on the allocation. Nothing is padded, so it comes back unchanged.
        assert_eq!(ok("indent", vec![n(9e15), s("a")]), s("a"));
        assert!(err("indent", vec![n(9e15), s("a\nb")]).message.contains("longer than"));
        assert_eq!(ok("join", vec![s(", "), strs(&["foo", "bar"]), strs(&["baz"])]), s("foo, bar, baz"));
        assert!(err("join", vec![s(",")]).message.contains("at least one list"));
        assert_eq!(ok("lower", vec![s("HÉLLO")]), s("héllo"));
        assert_eq!(ok("upper", vec![s("héllo")]), s("HÉLLO"));
        assert_eq!(ok("title", vec![s("hello world-wide web_x")]), s("Hello World-Wide Web_x"));
        assert_eq!(ok("strrev", vec![s("héllo")]), s("olléh"));
        assert_eq!(ok("trim", vec![s("?!hello?!"), s("!?")]), s("hello"));
        assert_eq!(ok("trimprefix", vec![s("helloworld"), s("hello")]), s("world"));
        assert_eq!(ok("trimsuffix", vec![s("helloworld"), s("world")]), s("hello"));
        assert_eq!(ok("trimspace", vec![s("  hi\n")]), s("hi"));
        assert_eq!(ok("startswith", vec![s("hello"), s("he")]), Value::Bool(true));
        assert_eq!(ok("endswith", vec![s("hello"), s("he")]), Value::Bool(false));
        assert_eq!(ok("strcontains", vec![s("hello"), s("ll")]), Value::Bool(true));
        assert_eq!(ok("split", vec![s(","), s("a,b,c")]), strs(&["a", "b", "c"]));
        assert_eq!(ok("split", vec![s(","), s("")]), strs(&[""]));
    }

    #[test]
    fn substr_bounds() {
        assert_eq!(ok("substr", vec![s("hello world"), n(1.0), n(4.0)]), s("ello"));
        assert_eq!(ok("substr", vec![s("🤔🤷"), n(0.0), n(1.0)]), s("🤔"));
        assert_eq!(ok("substr", vec![s("hello world"), n(-5.0), n(-1.0)]), s("world"));
        assert_eq!(ok("substr", vec![s("hello"), n(10.0), n(2.0)]), s(""));
        assert_eq!(ok("substr", vec![s("hello"), n(3.0), n(100.0)]), s("lo"));
    }

    #[test]
    fn regex_shapes() {
        assert_eq!(ok("regex", vec![s("[a-z]+"), s("53453453.345345aaabbbccc23454")]), s("aaabbbccc"));
        assert_eq!(
            ok("regex", vec![s("(\\d\\d\\d\\d)-(\\d\\d)-(\\d\\d)"), s("2019-02-01")]),
            strs(&["2019", "02", "01"])
        );
        assert_eq!(
            ok("regex", vec![s("^(?:(?P<scheme>[^:/?#]+):)?(?://(?P<authority>[^/?#]*))?"), s("https://x.io")]),
            Value::map([("authority", s("x.io")), ("scheme", s("https"))])
        );
        assert_eq!(ok("regexall", vec![s("[a-z]+"), s("1234abcd5678efgh9")]), strs(&["abcd", "efgh"]));
        assert_eq!(ok("regexall", vec![s("z"), s("abc")]), list(vec![]));
        let e = err("regex", vec![s("z"), s("abc")]);
        assert!(e.message.contains("did not match"), "{}", e.message);
        let e = err("regex", vec![s("("), s("abc")]);
        assert_eq!(e.arg, Some(0));
    }

    #[test]
    fn replace_plain_and_regex() {
        assert_eq!(ok("replace", vec![s("1 + 2 + 3"), s("+"), s("-")]), s("1 - 2 - 3"));
        assert_eq!(ok("replace", vec![s("hello world"), s("/w.*d/"), s("everybody")]), s("hello everybody"));
        assert_eq!(ok("replace", vec![s("hello world"), s("/(h)(e)/"), s("$2$1")]), s("ehllo world"));
        assert_eq!(ok("replace", vec![s("a-b"), s("/(?P<x>\\w)/"), s("[${x}]$$")]), s("[a]$-[b]$"));
        assert_eq!(ok("replace", vec![s("ab"), s(""), s("-")]), s("-a-b-"));
    }

    #[test]
    fn replace_results_are_bounded_exactly() {
        use crate::lang::limits::MAX_STRING_LEN;
        // Each `$1` expands to the whole megabyte: the short replacement asks for 20 MB.
        let mega = "a".repeat(1024 * 1024);
        let e = err("replace", vec![s(&mega), s("/(a+)/"), s(&"$1".repeat(20))]);
        assert!(e.message.contains("longer than"), "{}", e.message);
        // Plain replacement: exactly at the limit is allowed, one byte more is not.
        let at_limit = "x".repeat(MAX_STRING_LEN / 2);
        let out = ok("replace", vec![s(&at_limit), s("x"), s("yy")]);
        assert_eq!(out.as_str().map(str::len), Some(MAX_STRING_LEN));
        let over = "x".repeat(MAX_STRING_LEN / 2 + 1);
        assert!(err("replace", vec![s(&over), s("x"), s("yy")]).message.contains("longer than"));
        // Shrinking replacements of a long input are fine however many matches there are.
        let shrink = ok("replace", vec![s(&"ab".repeat(MAX_STRING_LEN / 2)), s("ab"), s("")]);
        assert_eq!(shrink, s(""));
    }

    #[test]
    fn marks() {
        assert!(ok("upper", vec![s("a").sensitive()]).is_sensitive());
        assert!(ok("format", vec![s("%s-%s"), s("a"), s("b").sensitive()]).is_sensitive());
        assert!(ok("replace", vec![Value::unknown(), s("a"), s("b")]).is_unknown());
    }
}
