//! Numeric functions. Exact on Terraform's arbitrary-precision numbers, except `log` and `pow`,
//! which Terraform itself computes in float64.

use super::{Call, FuncError};
use crate::lang::number::Number;
use crate::lang::value::Value;

pub fn abs(c: &Call) -> Result<Value, FuncError> {
    Ok(Value::Number(c.number(0).abs()))
}

pub fn ceil(c: &Call) -> Result<Value, FuncError> {
    Ok(Value::Number(c.number(0).ceil()))
}

pub fn floor(c: &Call) -> Result<Value, FuncError> {
    Ok(Value::Number(c.number(0).floor()))
}

pub fn log(c: &Call) -> Result<Value, FuncError> {
    finite(c, c.num(0).ln() / c.num(1).ln())
}

pub fn pow(c: &Call) -> Result<Value, FuncError> {
    finite(c, c.num(0).powf(c.num(1)))
}

fn finite(c: &Call, n: f64) -> Result<Value, FuncError> {
    match Number::from_f64(n) {
        Some(n) if !n.is_infinite() => Ok(Value::Number(n)),
        _ => Err(c.fail("the result is not a finite number")),
    }
}

pub fn signum(c: &Call) -> Result<Value, FuncError> {
    Ok(Value::from(c.number(0).signum()))
}

/// `parseint(number, base)`: digits 0-9, then a-z, then A-Z for bases above 36, like Go's
/// `big.Int.SetString` that Terraform uses; the result is exact however long.
pub fn parseint(c: &Call) -> Result<Value, FuncError> {
    let base = match c.arg(1).as_i64() {
        Some(b @ 2..=62) => b as u32,
        _ => return Err(c.err(1, "base must be a whole number between 2 and 62 inclusive")),
    };
    let text = match c.arg(0) {
        Value::String(s) => s.clone(),
        Value::Number(n) if n.is_integer() => n.to_string(),
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
    let mut total = bigdecimal::num_bigint::BigInt::from(0u8);
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
        total = total * base + d;
    }
    if negative {
        total = -total;
    }
    Number::parse(&total.to_string()).map(Value::Number).map_err(|e| c.err(0, e.to_string()))
}

fn extreme(c: &Call, wanted: std::cmp::Ordering) -> Result<Value, FuncError> {
    if c.args.is_empty() {
        return Err(c.fail("must pass at least one number"));
    }
    let mut best = c.number(0);
    for i in 1..c.args.len() {
        let n = c.number(i);
        if n.cmp(&best) == wanted {
            best = n;
        }
    }
    Ok(Value::Number(best))
}

pub fn min(c: &Call) -> Result<Value, FuncError> {
    extreme(c, std::cmp::Ordering::Less)
}

pub fn max(c: &Call) -> Result<Value, FuncError> {
    extreme(c, std::cmp::Ordering::Greater)
}

pub fn sum(c: &Call) -> Result<Value, FuncError> {
    let items = c.seq(0);
    if items.is_empty() {
        return Err(c.fail("cannot sum an empty list"));
    }
    let mut total = Number::ZERO;
    for (i, item) in items.iter().enumerate() {
        let n = match item {
            Value::Number(n) => n.clone(),
            Value::String(s) => crate::lang::types::parse_number(s)
                .ok_or_else(|| c.err(0, format!("element {i}: a number is required")))?,
            Value::Null => return Err(c.err(0, format!("element {i} is null; cannot sum null values"))),
            _ => return Err(c.err(0, format!("element {i}: a number is required"))),
        };
        total = total.add(&n).map_err(|e| c.fail(e.to_string()))?;
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
    fn exact_beyond_f64() {
        let big = |t: &str| Value::Number(t.parse().unwrap());
        assert_eq!(ok("parseint", vec![s("9007199254740993"), n(10.0)]), big("9007199254740993"));
        assert_eq!(ok("parseint", vec![s("ffffffffffffffffff"), n(16.0)]), big("4722366482869645213695"));
        assert_eq!(ok("sum", vec![list(vec![big("0.1"), big("0.2")])]).to_string(), "0.3");
        assert_eq!(ok("max", vec![big("9007199254740993"), big("9007199254740992")]), big("9007199254740993"));
        assert_eq!(ok("floor", vec![big("-4.5")]), n(-5.0));
        assert_eq!(ok("abs", vec![big("-9007199254740993")]), big("9007199254740993"));
    }

    #[test]
    fn marks() {
        assert!(ok("abs", vec![n(-1.0).sensitive()]).is_sensitive());
        assert!(ok("max", vec![n(1.0), Value::unknown()]).is_unknown());
    }
}
