//! Terraform's numbers: arbitrary-precision, not f64.
//!
//! Terraform keeps numbers as cty values over Go's `big.Float` with a 512-bit mantissa, parsed
//! from the decimal text of a literal, a string or a JSON document, and prints them with
//! `Text('f', -1)`: never an exponent, no trailing zeros, `+Inf`/`-Inf` for the infinities that
//! `x / 0` makes. So `0.1 + 0.2` is `0.3`, a 64-bit Compute id keeps every digit and `1e30`
//! prints as `1000000000000000000000000000000`.
//!
//! Cairn holds the same values as decimals: exact for `+ - *` on anything written in decimal
//! (which is every number a configuration, a state file or an API gives), with each result
//! rounded to [`PRECISION_DIGITS`] significant digits (512 bits is 154.1 decimal digits), so a
//! long chain of operations cannot grow a number without bound. A quotient that does not
//! terminate (`1 / 3`) is rounded to that precision too; its last digits may differ from
//! Terraform's binary rounding, which only shows past the 150th digit.
//!
//! Most numbers are small integers (ports, sizes, counts, ids): those are an `i64` inline and
//! cost what an f64 did; only the rest take a shared heap decimal.

use std::cmp::Ordering;
use std::fmt;
use std::num::NonZeroU64;
use std::sync::Arc;

use bigdecimal::num_bigint::BigInt;
use bigdecimal::{BigDecimal, Context, RoundingMode, Signed, ToPrimitive, Zero};

/// Significant decimal digits a result keeps: every integer below 2^512 (Terraform's mantissa)
/// has at most 155 digits, so those stay exact here as they do there.
pub const PRECISION_DIGITS: u64 = 155;

/// The largest decimal exponent a number may have, either way (`1e10000`, `1e-10000`). Go's
/// big.Float reaches much further, but printing such a number without an exponent, as
/// Terraform does, is a string of that many digits; no configuration or API needs more.
pub const MAX_DECIMAL_EXPONENT: i64 = 10_000;

/// Why a number could not be made.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NumberError {
    /// Not a number in Terraform's syntax (Go's `big.ParseFloat` in base 10).
    #[error("a number is required")]
    Syntax,
    /// Beyond [`MAX_DECIMAL_EXPONENT`].
    #[error("the number is out of range (magnitudes from 1e-{MAX_DECIMAL_EXPONENT} to 1e{MAX_DECIMAL_EXPONENT} are supported)")]
    OutOfRange,
    /// `0 / 0`, `inf / inf`: the text is go-cty's (stdlib `DivideFunc`).
    #[error("can't divide zero by zero or infinity by infinity")]
    DivideUndefined,
    /// `inf % 0` and the like: go-cty's `ModuloFunc` text.
    #[error("can't use modulo with zero and infinity")]
    ModuloUndefined,
    /// `0 * inf`: go-cty's `MultiplyFunc` text.
    #[error("can't multiply zero by infinity")]
    MultiplyUndefined,
    /// `inf - inf`, which big.Float refuses (go-cty has no message of its own).
    #[error("can't add or subtract infinities of opposite sign")]
    InfinityDifference,
}

/// A Terraform number. Compare with `==`/`<` directly: equality is by value (`1.50 == 1.5`).
#[derive(Clone)]
pub struct Number(Repr);

#[derive(Clone)]
enum Repr {
    /// Every whole number that fits; no other variant ever holds one.
    Int(i64),
    /// Any other finite number, without trailing zeros.
    Dec(Arc<BigDecimal>),
    PosInf,
    NegInf,
}

fn context() -> Context {
    Context::new(NonZeroU64::new(PRECISION_DIGITS).unwrap_or(NonZeroU64::MIN), RoundingMode::HalfEven)
}

/// `true` when `s` is a base-10 number as Go's `big.ParseFloat` reads one (which is what
/// cty's `ParseNumberVal` uses): an optional sign, digits with an optional fraction (`5.`,
/// `.5`), an optional exponent. No spaces, underscores, hex or leading `+` on the exponent's
/// digits only.
fn is_decimal_syntax(s: &str) -> bool {
    let b = s.as_bytes();
    let mut i = 0;
    if matches!(b.first(), Some(b'+' | b'-')) {
        i += 1;
    }
    let int_start = i;
    while i < b.len() && b[i].is_ascii_digit() {
        i += 1;
    }
    let mut digits = i - int_start;
    if i < b.len() && b[i] == b'.' {
        i += 1;
        let frac_start = i;
        while i < b.len() && b[i].is_ascii_digit() {
            i += 1;
        }
        digits += i - frac_start;
    }
    if digits == 0 {
        return false;
    }
    if i < b.len() && matches!(b[i], b'e' | b'E') {
        i += 1;
        if i < b.len() && matches!(b[i], b'+' | b'-') {
            i += 1;
        }
        let exp_start = i;
        while i < b.len() && b[i].is_ascii_digit() {
            i += 1;
        }
        if i == exp_start {
            return false;
        }
    }
    i == b.len()
}

impl Number {
    pub const ZERO: Number = Number(Repr::Int(0));
    pub const ONE: Number = Number(Repr::Int(1));
    pub const INFINITY: Number = Number(Repr::PosInf);
    pub const NEG_INFINITY: Number = Number(Repr::NegInf);

    /// Parses Terraform's number syntax, as a string converted to a number is read:
    /// `"5"`, `"-1.5e2"`, `".5"`, `"Inf"`. Exact up to [`PRECISION_DIGITS`] digits.
    pub fn parse(s: &str) -> Result<Number, NumberError> {
        if let Ok(n) = s.parse::<i64>() {
            // i64's parser also takes a leading '+', as Go does.
            return Ok(Number(Repr::Int(n)));
        }
        match s {
            "Inf" | "inf" | "+Inf" | "+inf" => return Ok(Number::INFINITY),
            "-Inf" | "-inf" => return Ok(Number::NEG_INFINITY),
            _ => {}
        }
        if !is_decimal_syntax(s) {
            return Err(NumberError::Syntax);
        }
        // Refuse an absurd exponent before building anything from it.
        if let Some(at) = s.find(['e', 'E']) {
            let exp: i128 = s[at + 1..].parse().map_err(|_| NumberError::OutOfRange)?;
            if exp.unsigned_abs() > (MAX_DECIMAL_EXPONENT as u128) * 2 + s.len() as u128 {
                let mantissa_is_zero = s[..at].bytes().all(|c| matches!(c, b'0' | b'.' | b'+' | b'-'));
                return if mantissa_is_zero { Ok(Number::ZERO) } else { Err(NumberError::OutOfRange) };
            }
        }
        let text = s.strip_prefix('+').unwrap_or(s);
        let d: BigDecimal = text.parse().map_err(|_| NumberError::Syntax)?;
        Number::from_decimal(d)
    }

    /// A finite f64 exactly as Terraform's `NumberFloatVal` holds it for printing: its
    /// shortest decimal form (`0.1`, not 0.1000000000000000055…). None for NaN.
    pub fn from_f64(f: f64) -> Option<Number> {
        if f.is_nan() {
            return None;
        }
        if f.is_infinite() {
            return Some(if f > 0.0 { Number::INFINITY } else { Number::NEG_INFINITY });
        }
        if f.fract() == 0.0 && f.abs() < 9.0e18 {
            return Some(Number(Repr::Int(f as i64)));
        }
        // Rust's Display prints the shortest digits that read back as `f`, without an exponent.
        Number::parse(&format!("{f}")).ok()
    }

    /// Makes the canonical form of a decimal: rounded to the precision, trailing zeros gone,
    /// inline when it is a whole number that fits an i64.
    fn from_decimal(d: BigDecimal) -> Result<Number, NumberError> {
        if d.is_zero() {
            return Ok(Number::ZERO);
        }
        let d = if d.digits() > PRECISION_DIGITS { context().round_decimal(d) } else { d };
        let d = d.normalized();
        // The decimal exponent of the leading digit.
        let magnitude = d.digits() as i64 - 1 - d.fractional_digit_count();
        if !(-MAX_DECIMAL_EXPONENT..=MAX_DECIMAL_EXPONENT).contains(&magnitude) {
            return Err(NumberError::OutOfRange);
        }
        if d.fractional_digit_count() <= 0 {
            if let Some(i) = d.to_i64() {
                return Ok(Number(Repr::Int(i)));
            }
        }
        Ok(Number(Repr::Dec(Arc::new(d))))
    }

    fn decimal(&self) -> Option<BigDecimal> {
        match &self.0 {
            Repr::Int(i) => Some(BigDecimal::from(*i)),
            Repr::Dec(d) => Some((**d).clone()),
            Repr::PosInf | Repr::NegInf => None,
        }
    }

    pub fn is_infinite(&self) -> bool {
        matches!(self.0, Repr::PosInf | Repr::NegInf)
    }
    pub fn is_zero(&self) -> bool {
        matches!(self.0, Repr::Int(0))
    }
    /// True for whole numbers (not infinities).
    pub fn is_integer(&self) -> bool {
        match &self.0 {
            Repr::Int(_) => true,
            Repr::Dec(d) => d.fractional_digit_count() <= 0,
            Repr::PosInf | Repr::NegInf => false,
        }
    }
    /// -1, 0 or 1.
    pub fn signum(&self) -> i64 {
        match &self.0 {
            Repr::Int(i) => i.signum(),
            Repr::Dec(d) => {
                if d.is_negative() {
                    -1
                } else {
                    1
                }
            }
            Repr::PosInf => 1,
            Repr::NegInf => -1,
        }
    }

    /// The number as an i64 when it is a whole number in range; None otherwise (never rounds,
    /// saturates or wraps).
    pub fn to_i64(&self) -> Option<i64> {
        match self.0 {
            Repr::Int(i) => Some(i),
            _ => None,
        }
    }
    /// The number as a u64 when it is a whole non-negative number in range.
    pub fn to_u64(&self) -> Option<u64> {
        match &self.0 {
            Repr::Int(i) => u64::try_from(*i).ok(),
            Repr::Dec(d) if d.fractional_digit_count() <= 0 => d.to_u64(),
            _ => None,
        }
    }
    /// The nearest f64 (for functions that Terraform also computes in float64: `log`, `pow`).
    pub fn to_f64(&self) -> f64 {
        match &self.0 {
            Repr::Int(i) => *i as f64,
            // Through the text: Rust's float parser rounds correctly.
            Repr::Dec(d) => d.to_plain_string().parse().unwrap_or(f64::NAN),
            Repr::PosInf => f64::INFINITY,
            Repr::NegInf => f64::NEG_INFINITY,
        }
    }

    pub fn neg(&self) -> Number {
        match &self.0 {
            Repr::Int(i) => match i.checked_neg() {
                Some(n) => Number(Repr::Int(n)),
                None => Number(Repr::Dec(Arc::new(-BigDecimal::from(*i)))),
            },
            Repr::Dec(d) => Number(Repr::Dec(Arc::new(-(**d).clone()))),
            Repr::PosInf => Number::NEG_INFINITY,
            Repr::NegInf => Number::INFINITY,
        }
    }
    pub fn abs(&self) -> Number {
        if self.signum() < 0 {
            self.neg()
        } else {
            self.clone()
        }
    }

    pub fn add(&self, other: &Number) -> Result<Number, NumberError> {
        match (&self.0, &other.0) {
            (Repr::Int(a), Repr::Int(b)) if a.checked_add(*b).is_some() => Ok(Number(Repr::Int(a + b))),
            (Repr::PosInf, Repr::NegInf) | (Repr::NegInf, Repr::PosInf) => Err(NumberError::InfinityDifference),
            (Repr::PosInf | Repr::NegInf, _) => Ok(self.clone()),
            (_, Repr::PosInf | Repr::NegInf) => Ok(other.clone()),
            _ => Number::from_decimal(self.finite() + other.finite()),
        }
    }
    pub fn sub(&self, other: &Number) -> Result<Number, NumberError> {
        self.add(&other.neg())
    }
    pub fn mul(&self, other: &Number) -> Result<Number, NumberError> {
        match (&self.0, &other.0) {
            (Repr::Int(a), Repr::Int(b)) if a.checked_mul(*b).is_some() => Ok(Number(Repr::Int(a * b))),
            _ if self.is_infinite() || other.is_infinite() => match self.signum() * other.signum() {
                0 => Err(NumberError::MultiplyUndefined),
                s => Ok(if s > 0 { Number::INFINITY } else { Number::NEG_INFINITY }),
            },
            _ => Number::from_decimal(self.finite() * other.finite()),
        }
    }
    /// Terraform's `/`: `x / 0` is an infinity of x's sign; `0 / 0` and `inf / inf` fail.
    pub fn div(&self, other: &Number) -> Result<Number, NumberError> {
        match (&self.0, &other.0) {
            (Repr::Int(a), Repr::Int(b)) if *b != 0 && a.checked_rem(*b) == Some(0) => {
                return Ok(Number(Repr::Int(a / b)))
            }
            _ => {}
        }
        let (sa, sb) = (self.signum(), other.signum());
        match (self.is_infinite(), other.is_infinite()) {
            (true, true) => return Err(NumberError::DivideUndefined),
            (true, false) => {
                let s = if sb == 0 { sa } else { sa * sb };
                return Ok(if s > 0 { Number::INFINITY } else { Number::NEG_INFINITY });
            }
            (false, true) => return Ok(Number::ZERO),
            (false, false) => {}
        }
        if sb == 0 {
            return match sa {
                0 => Err(NumberError::DivideUndefined),
                s if s > 0 => Ok(Number::INFINITY),
                _ => Ok(Number::NEG_INFINITY),
            };
        }
        Number::from_decimal(divide(&self.finite(), &other.finite()))
    }
    /// Terraform's `%` (cty's `Modulo`): the remainder of the division truncated toward zero,
    /// so it takes the dividend's sign (`-5 % 3 == -2`); `x % 0` is `x`; with an infinity,
    /// the product's infinity.
    pub fn rem(&self, other: &Number) -> Result<Number, NumberError> {
        if self.is_infinite() || other.is_infinite() {
            return self.mul(other).map_err(|_| NumberError::ModuloUndefined);
        }
        if other.is_zero() {
            return Ok(self.clone());
        }
        if let (Repr::Int(a), Repr::Int(b)) = (&self.0, &other.0) {
            if let Some(r) = a.checked_rem(*b) {
                return Ok(Number(Repr::Int(r)));
            }
        }
        let (a, b) = (self.finite(), other.finite());
        let scale = a.fractional_digit_count().max(b.fractional_digit_count());
        let (ia, _) = a.with_scale(scale).into_bigint_and_exponent();
        let (ib, _) = b.with_scale(scale).into_bigint_and_exponent();
        Number::from_decimal(BigDecimal::new(ia % ib, scale))
    }

    /// Rounds toward negative infinity (`floor`); infinities stay.
    pub fn floor(&self) -> Number {
        self.round_to_integer(RoundingMode::Floor)
    }
    /// Rounds toward positive infinity (`ceil`); infinities stay.
    pub fn ceil(&self) -> Number {
        self.round_to_integer(RoundingMode::Ceiling)
    }
    /// Drops the fraction (Terraform's `floor` toward zero is `trunc`; used by indexes).
    pub fn trunc(&self) -> Number {
        self.round_to_integer(RoundingMode::Down)
    }
    fn round_to_integer(&self, mode: RoundingMode) -> Number {
        match &self.0 {
            Repr::Dec(d) if d.fractional_digit_count() > 0 => {
                Number::from_decimal(d.with_scale_round(0, mode)).unwrap_or_else(|_| self.clone())
            }
            _ => self.clone(),
        }
    }

    /// The value of a finite number as a decimal (0 for infinities, which callers rule out).
    fn finite(&self) -> BigDecimal {
        self.decimal().unwrap_or_default()
    }

    /// JSON for this number. Whole numbers within 64 bits are written exactly; others as the
    /// nearest f64 (serde_json's number model), and infinities, which JSON cannot hold, as null.
    pub fn to_json(&self) -> serde_json::Value {
        match &self.0 {
            Repr::Int(i) => serde_json::Value::Number((*i).into()),
            Repr::Dec(_) => match self.to_u64() {
                Some(u) => serde_json::Value::Number(u.into()),
                None => serde_json::Number::from_f64(self.to_f64())
                    .map(serde_json::Value::Number)
                    .unwrap_or(serde_json::Value::Null),
            },
            Repr::PosInf | Repr::NegInf => serde_json::Value::Null,
        }
    }

    /// A JSON number as Terraform reads one: from its text, exactly.
    pub fn from_json(n: &serde_json::Number) -> Number {
        if let Some(i) = n.as_i64() {
            return Number(Repr::Int(i));
        }
        Number::parse(&n.to_string())
            .unwrap_or_else(|_| Number::from_f64(n.as_f64().unwrap_or(0.0)).unwrap_or(Number::ZERO))
    }
}

/// `a / b` (b nonzero) to [`PRECISION_DIGITS`] significant digits, rounded half to even; exact
/// when the quotient terminates within them.
fn divide(a: &BigDecimal, b: &BigDecimal) -> BigDecimal {
    let (ia, sa) = a.as_bigint_and_exponent();
    let (ib, sb) = b.as_bigint_and_exponent();
    // Scale the numerator so the integer quotient has two digits more than the precision.
    let digits = |i: &BigInt| i.magnitude().to_string().len() as i64;
    let shift = (PRECISION_DIGITS as i64 + 2 + digits(&ib) - digits(&ia)).max(0);
    let numerator = ia * BigInt::from(10u8).pow(shift as u32);
    let quotient = &numerator / &ib;
    let remainder = &numerator % &ib;
    let scale = sa - sb + shift;
    if remainder.is_zero() {
        return BigDecimal::new(quotient, scale);
    }
    // A nonzero remainder: one more digit that is neither 0 nor 5 makes half-even rounding
    // see that the true quotient lies strictly between two candidates.
    let sticky = if (numerator.is_negative()) != (ib.is_negative()) { -1 } else { 1 };
    context().round_decimal(BigDecimal::new(quotient * 10 + sticky, scale + 1))
}

impl PartialEq for Number {
    fn eq(&self, other: &Number) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}
impl Eq for Number {}

impl PartialOrd for Number {
    fn partial_cmp(&self, other: &Number) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Number {
    fn cmp(&self, other: &Number) -> Ordering {
        match (&self.0, &other.0) {
            (Repr::Int(a), Repr::Int(b)) => a.cmp(b),
            (Repr::PosInf, Repr::PosInf) | (Repr::NegInf, Repr::NegInf) => Ordering::Equal,
            (Repr::PosInf, _) | (_, Repr::NegInf) => Ordering::Greater,
            (Repr::NegInf, _) | (_, Repr::PosInf) => Ordering::Less,
            _ => self.finite().cmp(&other.finite()),
        }
    }
}

/// Terraform's text for a number (`Text('f', -1)`): `42`, `0.3`, `-1.5`,
/// `1000000000000000000000000000000`, `+Inf`.
impl fmt::Display for Number {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.0 {
            Repr::Int(i) => write!(f, "{i}"),
            Repr::Dec(d) => {
                let (int, scale) = d.as_bigint_and_exponent();
                let digits = int.magnitude().to_string();
                if int.is_negative() {
                    f.write_str("-")?;
                }
                if scale <= 0 {
                    f.write_str(&digits)?;
                    for _ in 0..-scale {
                        f.write_str("0")?;
                    }
                    Ok(())
                } else {
                    let scale = scale as usize;
                    if digits.len() > scale {
                        let (whole, frac) = digits.split_at(digits.len() - scale);
                        write!(f, "{whole}.{frac}")
                    } else {
                        f.write_str("0.")?;
                        for _ in 0..scale - digits.len() {
                            f.write_str("0")?;
                        }
                        f.write_str(&digits)
                    }
                }
            }
            Repr::PosInf => f.write_str("+Inf"),
            Repr::NegInf => f.write_str("-Inf"),
        }
    }
}

impl fmt::Debug for Number {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl std::str::FromStr for Number {
    type Err = NumberError;
    fn from_str(s: &str) -> Result<Number, NumberError> {
        Number::parse(s)
    }
}

macro_rules! from_integer {
    ($($t:ty),*) => {$(
        impl From<$t> for Number {
            fn from(n: $t) -> Number {
                match i64::try_from(n) {
                    Ok(i) => Number(Repr::Int(i)),
                    // Only u64/usize/i128 values past i64::MAX get here: whole, so exact.
                    Err(_) => Number(Repr::Dec(Arc::new(BigDecimal::from(n as i128)))),
                }
            }
        }
    )*};
}
from_integer!(i8, i16, i32, i64, u8, u16, u32, u64, usize, isize);

#[cfg(test)]
mod tests {
    use super::*;

    fn n(s: &str) -> Number {
        Number::parse(s).unwrap_or_else(|e| panic!("{s}: {e}"))
    }

    #[test]
    fn decimal_arithmetic_is_exact() {
        // The issue's own example: Terraform prints 0.3 and `0.1 + 0.2 == 0.3` is true.
        assert_eq!(n("0.1").add(&n("0.2")).unwrap(), n("0.3"));
        assert_eq!(n("0.1").add(&n("0.2")).unwrap().to_string(), "0.3");
        // terraform#19380: Terraform 0.12+ prints 0.15 where float64 gives 0.15000000000000002.
        assert_eq!(n("0.10").mul(&n("1.5")).unwrap().to_string(), "0.15");
        assert_eq!(n("10").div(&n("4")).unwrap().to_string(), "2.5");
        assert_eq!(n("1.50"), n("1.5"));
    }

    #[test]
    fn big_integers_keep_every_digit_and_print_without_exponent() {
        assert_eq!(n("9007199254740993").to_string(), "9007199254740993");
        assert_eq!(n("9007199254740993").to_i64(), Some(9_007_199_254_740_993));
        assert_eq!(n("18446744073709551615").to_u64(), Some(u64::MAX));
        assert_eq!(n("1e30").to_string(), "1000000000000000000000000000000");
        assert_eq!(
            n("123456789012345678901234567890").add(&Number::ONE).unwrap().to_string(),
            "123456789012345678901234567891"
        );
        assert_eq!(Number::from(i64::MAX).add(&Number::ONE).unwrap().to_string(), "9223372036854775808");
        assert_eq!(Number::from(i64::MIN).neg().to_string(), "9223372036854775808");
        assert_eq!(n("1e-7").to_string(), "0.0000001");
        assert_eq!(n("-2.50e1").to_string(), "-25");
    }

    #[test]
    fn parse_follows_go_big_float_syntax() {
        for ok in ["5", "+5", "-5", "5.", ".5", "1e3", "1E+3", "1.5e-3", "Inf", "-Inf", "007"] {
            assert!(Number::parse(ok).is_ok(), "{ok}");
        }
        for bad in ["", " 5", "5 ", "1_000", "0x10", "1e", "e5", ".", "-", "five", "1.2.3", "INF", "NaN"] {
            assert_eq!(Number::parse(bad), Err(NumberError::Syntax), "{bad}");
        }
        assert_eq!(Number::parse("1e100000"), Err(NumberError::OutOfRange));
        assert_eq!(Number::parse("1e-100000"), Err(NumberError::OutOfRange));
        assert_eq!(Number::parse("0e99999999999999"), Ok(Number::ZERO));
    }

    #[test]
    fn division_and_modulo_follow_cty() {
        // Measured with `terraform console`: 1/0 is +Inf, -1/0 is -Inf, 0/0 fails.
        assert_eq!(n("1").div(&Number::ZERO).unwrap().to_string(), "+Inf");
        assert_eq!(n("-1").div(&Number::ZERO).unwrap().to_string(), "-Inf");
        assert_eq!(Number::ZERO.div(&Number::ZERO), Err(NumberError::DivideUndefined));
        // cty's Modulo: truncated division's remainder; x % 0 is x.
        assert_eq!(n("-5").rem(&n("3")).unwrap(), n("-2"));
        assert_eq!(n("5").rem(&n("-3")).unwrap(), n("2"));
        assert_eq!(n("5").rem(&Number::ZERO).unwrap(), n("5"));
        assert_eq!(n("5.5").rem(&n("2")).unwrap(), n("1.5"));
        assert_eq!(Number::INFINITY.rem(&Number::ZERO), Err(NumberError::ModuloUndefined));
        let third = n("1").div(&n("3")).unwrap().to_string();
        assert_eq!(third.len(), 2 + PRECISION_DIGITS as usize, "{third}");
        assert!(third.starts_with("0.3333") && third.ends_with('3'), "{third}");
        assert_eq!(n("2").div(&n("3")).unwrap().to_string().chars().last(), Some('7'));
    }

    #[test]
    fn ordering_and_rounding() {
        assert!(n("9007199254740993") > n("9007199254740992"));
        assert!(n("0.30000000000000004") > n("0.3"));
        assert!(Number::NEG_INFINITY < n("-1e1000") && n("1e1000") < Number::INFINITY);
        assert_eq!(n("-4.1").floor(), n("-5"));
        assert_eq!(n("4.1").ceil(), n("5"));
        assert_eq!(n("-4.9").trunc(), n("-4"));
    }

    #[test]
    fn f64_and_json_round_trips() {
        assert_eq!(Number::from_f64(0.1).unwrap().to_string(), "0.1");
        assert_eq!(Number::from_f64(1e21).unwrap().to_string(), "1000000000000000000000");
        assert_eq!(Number::from_f64(f64::NAN), None);
        let json: serde_json::Value = serde_json::from_str("[9007199254740993, 0.1, 18446744073709551615]").unwrap();
        let back: Vec<String> =
            json.as_array().unwrap().iter().map(|j| Number::from_json(j.as_number().unwrap()).to_string()).collect();
        assert_eq!(back, ["9007199254740993", "0.1", "18446744073709551615"]);
        assert_eq!(n("9007199254740993").to_json().to_string(), "9007199254740993");
        assert_eq!(n("0.3").to_json().to_string(), "0.3");
    }
}
