//! Numeric functions.

use super::{Call, FuncError};
use crate::lang::value::Value;

pub fn abs(c: &Call) -> Result<Value, FuncError> {
    Ok(Value::Number(c.num(0).abs()))
}

pub fn ceil(c: &Call) -> Result<Value, FuncError> {
    Ok(Value::Number(c.num(0).ceil()))
}

pub fn floor(c: &Call) -> Result<Value, FuncError> {
    Ok(Value::Number(c.num(0).floor()))
}

pub fn log(c: &Call) -> Result<Value, FuncError> {
    finite(c, c.num(0).ln() / c.num(1).ln())
}

pub fn pow(c: &Call) -> Result<Value, FuncError> {
    finite(c, c.num(0).powf(c.num(1)))
}

fn finite(c: &Call, n: f64) -> Result<Value, FuncError> {
    if n.is_finite() {
        Ok(Value::Number(n))
    } else {
        Err(c.fail("the result is not a finite number"))
    }
}

pub fn signum(c: &Call) -> Result<Value, FuncError> {
    let n = c.num(0);
    Ok(Value::Number(if n > 0.0 {
        1.0
    } else if n < 0.0 {
        -1.0
    } else {
        0.0
    }))
}

/// `parseint(number, base)`: digits 0-9, then a-z, then A-Z for bases above 36, like Go's
/// `big.Int.SetString` that Terraform uses.
pub fn parseint(c: &Call) -> Result<Value, FuncError> {
    let base = c.num(1);
    if base.fract() != 0.0 || !(2.0..=62.0).contains(&base) {
        return Err(c.err(1, "base must be a whole number between 2 and 62 inclusive"));
    }
    let base = base as u32;
    let text = match c.arg(0) {
        Value::String(s) => s.clone(),
        Value::Number(n) if n.fract() == 0.0 => crate::lang::value::format_number(*n),
        _ => return Err(c.err(0, "first argument must be a string, not a number")),
    };
    let (negative, digits) = match text.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, text.strip_prefix('+').unwrap_or(&text)),
    };
    let cannot = || c.err(0, format!("cannot parse {} as a base {base} integer", c.shown(0, &text)));
    if digits.is_empty() {
        return Err(cannot());
    }
    let mut total: f64 = 0.0;
    for ch in digits.chars() {
        let d = match ch {
            '0'..='9' => ch as u32 - '0' as u32,
            'a'..='z' => ch as u32 - 'a' as u32 + 10,
            'A'..='Z' if base <= 36 => ch as u32 - 'A' as u32 + 10,
            'A'..='Z' => ch as u32 - 'A' as u32 + 36,
            _ => return Err(cannot()),
        };
        if d >= base {
            return Err(cannot());
        }
        total = total * base as f64 + d as f64;
    }
    Ok(Value::Number(if negative { -total } else { total }))
}

fn extreme(c: &Call, pick: fn(f64, f64) -> f64) -> Result<Value, FuncError> {
    if c.args.is_empty() {
        return Err(c.fail("must pass at least one number"));
    }
    let mut best = c.num(0);
    for i in 1..c.args.len() {
        best = pick(best, c.num(i));
    }
    Ok(Value::Number(best))
}

pub fn min(c: &Call) -> Result<Value, FuncError> {
    extreme(c, f64::min)
}

pub fn max(c: &Call) -> Result<Value, FuncError> {
    extreme(c, f64::max)
}

pub fn sum(c: &Call) -> Result<Value, FuncError> {
    let items = c.seq(0);
    if items.is_empty() {
        return Err(c.fail("cannot sum an empty list"));
    }
    let mut total = 0.0;
    for (i, item) in items.iter().enumerate() {
        let n = match item {
            Value::Number(n) => *n,
            Value::String(s) => crate::lang::types::parse_number(s)
                .ok_or_else(|| c.err(0, format!("element {i}: a number is required")))?,
            Value::Null => return Err(c.err(0, format!("element {i} is null; cannot sum null values"))),
            _ => return Err(c.err(0, format!("element {i}: a number is required"))),
        };
        total += n;
    }
    Ok(Value::Number(total))
}

#[cfg(test)]
mod tests {
    use super::super::testutil::*;
    use crate::lang::value::Value;

    #[test]
    fn basics() {
        assert_eq!(ok("abs", vec![n(-2.5)]), n(2.5));
        assert_eq!(ok("ceil", vec![n(4.1)]), n(5.0));
        assert_eq!(ok("floor", vec![n(-4.1)]), n(-5.0));
        assert_eq!(ok("pow", vec![n(3.0), n(2.0)]), n(9.0));
        assert_eq!(ok("signum", vec![n(-7.0)]), n(-1.0));
        assert_eq!(ok("signum", vec![n(0.0)]), n(0.0));
        assert_eq!(ok("log", vec![n(16.0), n(2.0)]), n(4.0));
    }

    #[test]
    fn min_max_sum() {
        assert_eq!(ok("min", vec![n(12.0), n(54.0), n(3.0)]), n(3.0));
        assert_eq!(ok("max", vec![n(12.0), s("54"), n(3.0)]), n(54.0));
        assert!(err("max", vec![]).message.contains("at least one number"));
        assert_eq!(ok("sum", vec![nums(&[10.0, 13.0, 6.0, 4.5])]), n(33.5));
        assert!(err("sum", vec![list(vec![])]).message.contains("empty list"));
        assert!(err("sum", vec![strs(&["x"])]).message.contains("number is required"));
    }

    #[test]
    fn parseint_bases() {
        assert_eq!(ok("parseint", vec![s("100"), n(10.0)]), n(100.0));
        assert_eq!(ok("parseint", vec![s("FF"), n(16.0)]), n(255.0));
        assert_eq!(ok("parseint", vec![s("-10"), n(16.0)]), n(-16.0));
        assert_eq!(ok("parseint", vec![s("1011111011101111"), n(2.0)]), n(48879.0));
        assert_eq!(ok("parseint", vec![s("aA"), n(62.0)]), n(656.0));
        let e = err("parseint", vec![s("12"), n(1.0)]);
        assert_eq!(e.arg, Some(1));
        let e = err("parseint", vec![s("xyz"), n(10.0)]);
        assert!(e.message.contains("cannot parse \"xyz\" as a base 10 integer"), "{}", e.message);
    }

    #[test]
    fn marks() {
        assert!(ok("abs", vec![n(-1.0).sensitive()]).is_sensitive());
        assert!(ok("max", vec![n(1.0), Value::unknown()]).is_unknown());
    }
}
