//! Terraform's time functions over RFC 3339 timestamps: `timeadd`, `timecmp` (Terraform's own
//! functions, `internal/lang/funcs/datetime.go`) and `formatdate` (cty's stdlib,
//! `function/stdlib/datetime.go`). Timestamps keep the UTC offset they were written with, as
//! Go's `time.Time` does; results are formatted as Go's `time.RFC3339`, which has no fractional
//! seconds.
//!
//! The two clocks, `plantimestamp()` and `timestamp()`, read the [`Clock`] of the evaluation
//! (the resolver's, see `Resolver::clock`): the plan's time, known during plan and the same
//! everywhere in one plan; and the wall clock, which is unknown until apply.
//!
//! Documentation: https://developer.hashicorp.com/terraform/language/functions/timeadd,
//! …/timecmp, …/formatdate, …/plantimestamp, …/timestamp.

use chrono::{DateTime, Datelike, FixedOffset, NaiveDate, SubsecRound, TimeDelta, Timelike, Utc};

use super::{Call, FuncError};
use crate::lang::value::Value;

/// What `plantimestamp()` and `timestamp()` return in one evaluation.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Clock {
    /// `plantimestamp()`: when the plan was made. `None` where there is no plan (`validate`):
    /// the function is unknown there, as in Terraform (hashicorp/terraform#35902).
    pub plan_time: Option<DateTime<Utc>>,
    /// Whether this evaluation is an apply. `timestamp()` reads the wall clock then; during
    /// plan and validate it is unknown ("known after apply"), as Terraform makes its impure
    /// functions unpredictable while planning.
    pub applying: bool,
}

impl Clock {
    /// The clock of a plan made at `plan_time`.
    pub fn planning(plan_time: DateTime<Utc>) -> Clock {
        Clock { plan_time: Some(plan_time), applying: false }
    }

    /// The clock of an apply of a plan made at `plan_time`.
    pub fn applying(plan_time: Option<DateTime<Utc>>) -> Clock {
        Clock { plan_time, applying: true }
    }

    /// The current time in whole seconds: what a timestamp shows is exactly what is kept, so
    /// a plan's time written to a plan file reads back equal.
    pub fn now() -> DateTime<Utc> {
        Utc::now().trunc_subsecs(0)
    }
}

/// A UTC time as Terraform renders one (`time.RFC3339`): `2026-12-02T14:43:29Z`.
pub fn render_utc(t: &DateTime<Utc>) -> String {
    format_rfc3339(&t.fixed_offset())
}

pub fn plantimestamp(c: &Call) -> Result<Value, FuncError> {
    Ok(c.ctx.clock.plan_time.map_or_else(Value::unknown, |t| Value::string(render_utc(&t))))
}

pub fn timestamp(c: &Call) -> Result<Value, FuncError> {
    Ok(if c.ctx.clock.applying { Value::string(render_utc(&Utc::now())) } else { Value::unknown() })
}

/// Parses an RFC 3339 timestamp as Go's `time.Parse(time.RFC3339, …)` does, with the errors
/// Terraform's `parseTimestamp` words from Go's: "not a valid RFC3339 timestamp: …".
pub(crate) fn parse_timestamp(ts: &str) -> Result<DateTime<FixedOffset>, String> {
    let bad = |why: String| format!("not a valid RFC3339 timestamp: {why}");
    let mut rest = ts;
    // Go reports the value from where the failing element starts.
    let number = |rest: &mut &str, digits: usize, what: &str| -> Result<u32, String> {
        let ok = rest.len() >= digits && rest.as_bytes()[..digits].iter().all(u8::is_ascii_digit);
        if !ok {
            return Err(if rest.is_empty() {
                bad(format!("end of string before {what}"))
            } else {
                bad(format!("cannot use {:?} as {what}", *rest))
            });
        }
        let n = rest[..digits].parse().unwrap_or(0);
        *rest = &rest[digits..];
        Ok(n)
    };
    let literal = |rest: &mut &str, sep: char| -> Result<(), String> {
        match rest.strip_prefix(sep) {
            Some(r) => {
                *rest = r;
                Ok(())
            }
            None if sep == 'T' => Err(bad("missing required time introducer 'T'".into())),
            None if rest.is_empty() => Err(bad(format!("end of string where {:?} is expected", sep.to_string()))),
            None => Err(bad(format!("found {:?} where {:?} is expected", *rest, sep.to_string()))),
        }
    };
    let year = number(&mut rest, 4, "year")?;
    literal(&mut rest, '-')?;
    let month = number(&mut rest, 2, "month")?;
    if !(1..=12).contains(&month) {
        return Err(bad("month out of range".into()));
    }
    literal(&mut rest, '-')?;
    let day = number(&mut rest, 2, "day of month")?;
    literal(&mut rest, 'T')?;
    let hour = number(&mut rest, 2, "hour")?;
    if hour >= 24 {
        return Err(bad("hour out of range".into()));
    }
    literal(&mut rest, ':')?;
    let minute = number(&mut rest, 2, "minute")?;
    if minute >= 60 {
        return Err(bad("minute out of range".into()));
    }
    literal(&mut rest, ':')?;
    let second = number(&mut rest, 2, "second")?;
    if second >= 60 {
        return Err(bad("second out of range".into()));
    }
    let mut nanos = 0u32;
    if let Some(frac) = rest.strip_prefix('.') {
        let digits = frac.bytes().take_while(u8::is_ascii_digit).count();
        if digits == 0 {
            return Err(bad(format!("cannot use {rest:?} as UTC offset")));
        }
        // Go keeps nanoseconds: digits past the ninth are dropped.
        let kept = &frac[..digits.min(9)];
        nanos = kept.parse::<u32>().unwrap_or(0) * 10u32.pow(9 - kept.len() as u32);
        rest = &frac[digits..];
    }
    let offset_seconds: i32 = if let Some(r) = rest.strip_prefix('Z') {
        rest = r;
        0
    } else {
        let sign = match rest.chars().next() {
            Some('+') => 1,
            Some('-') => -1,
            _ if rest.is_empty() => return Err(bad("end of string before UTC offset".into())),
            _ => return Err(bad(format!("cannot use {rest:?} as UTC offset"))),
        };
        let zone = rest;
        let shape = zone.len() >= 6
            && zone.as_bytes()[1..3].iter().all(u8::is_ascii_digit)
            && zone.as_bytes()[3] == b':'
            && zone.as_bytes()[4..6].iter().all(u8::is_ascii_digit);
        if !shape {
            return Err(bad(format!("cannot use {zone:?} as UTC offset")));
        }
        let (h, m): (i32, i32) = (zone[1..3].parse().unwrap_or(0), zone[4..6].parse().unwrap_or(0));
        if h >= 24 || m >= 60 {
            return Err(bad("UTC offset out of range".into()));
        }
        rest = &zone[6..];
        sign * (h * 3600 + m * 60)
    };
    if !rest.is_empty() {
        return Err(bad(format!("extra text: {rest:?}")));
    }
    let date = NaiveDate::from_ymd_opt(year as i32, month, day).ok_or_else(|| bad("day out of range".into()))?;
    let time = date.and_hms_nano_opt(hour, minute, second, nanos).ok_or_else(|| bad("second out of range".into()))?;
    let offset = FixedOffset::east_opt(offset_seconds).ok_or_else(|| bad("UTC offset out of range".into()))?;
    time.and_local_timezone(offset).single().ok_or_else(|| bad("UTC offset out of range".into()))
}

/// Go's `t.Format(time.RFC3339)`: whole seconds, `Z` for a zero offset.
pub(crate) fn format_rfc3339(t: &DateTime<FixedOffset>) -> String {
    format!("{}{}", t.format("%Y-%m-%dT%H:%M:%S"), zone(t, true, true))
}

/// The UTC offset as Go formats it: `Z07:00` (`z_for_utc`), `-07:00` (`colon`) or `-0700`.
fn zone(t: &DateTime<FixedOffset>, z_for_utc: bool, colon: bool) -> String {
    let secs = t.offset().local_minus_utc();
    if z_for_utc && secs == 0 {
        return "Z".into();
    }
    let sign = if secs < 0 { '-' } else { '+' };
    let (h, m) = (secs.abs() / 3600, secs.abs() % 3600 / 60);
    if colon {
        format!("{sign}{h:02}:{m:02}")
    } else {
        format!("{sign}{h:02}{m:02}")
    }
}

/// Go's `time.ParseDuration`, signed, with Go's error messages.
pub(crate) fn parse_go_duration(s: &str) -> Result<TimeDelta, String> {
    let invalid = || format!("time: invalid duration {s:?}");
    let (negative, mut rest) = match s.as_bytes().first() {
        Some(b'-') => (true, &s[1..]),
        Some(b'+') => (false, &s[1..]),
        _ => (false, s),
    };
    if rest == "0" {
        return Ok(TimeDelta::zero());
    }
    if rest.is_empty() {
        return Err(invalid());
    }
    let mut total_nanos: i128 = 0;
    while !rest.is_empty() {
        let int_len = rest.bytes().take_while(u8::is_ascii_digit).count();
        let (int_part, after) = rest.split_at(int_len);
        let (frac_part, after) = match after.strip_prefix('.') {
            Some(a) => {
                let n = a.bytes().take_while(u8::is_ascii_digit).count();
                a.split_at(n)
            }
            None => ("", after),
        };
        if int_part.is_empty() && frac_part.is_empty() {
            return Err(invalid());
        }
        let unit_len = after.find(|c: char| c.is_ascii_digit() || c == '.').unwrap_or(after.len());
        let (unit, after) = after.split_at(unit_len);
        let unit_nanos: i128 = match unit {
            "ns" => 1,
            "us" | "µs" | "μs" => 1_000,
            "ms" => 1_000_000,
            "s" => 1_000_000_000,
            "m" => 60_000_000_000,
            "h" => 3_600_000_000_000,
            "" => return Err(format!("time: missing unit in duration {s:?}")),
            other => return Err(format!("time: unknown unit {other:?} in duration {s:?}")),
        };
        let whole: i128 = if int_part.is_empty() { 0 } else { int_part.parse().map_err(|_| invalid())? };
        let mut nanos = whole.checked_mul(unit_nanos).ok_or_else(invalid)?;
        if !frac_part.is_empty() {
            let digits = &frac_part[..frac_part.len().min(30)];
            let frac: i128 = digits.parse().map_err(|_| invalid())?;
            nanos += frac * unit_nanos / 10i128.pow(digits.len() as u32);
        }
        total_nanos = total_nanos.checked_add(nanos).ok_or_else(invalid)?;
        // Go's Duration is an int64 of nanoseconds.
        if total_nanos > i64::MAX as i128 {
            return Err(invalid());
        }
        rest = after;
    }
    let signed = if negative { -total_nanos } else { total_nanos };
    Ok(TimeDelta::nanoseconds(signed as i64))
}

pub fn timeadd(c: &Call) -> Result<Value, FuncError> {
    let t = parse_timestamp(c.str(0)).map_err(|e| c.err(0, e))?;
    let d = parse_go_duration(c.str(1)).map_err(|e| c.err(1, e))?;
    let sum = t.checked_add_signed(d).ok_or_else(|| c.fail("the resulting time is out of range"))?;
    Ok(Value::string(format_rfc3339(&sum)))
}

pub fn timecmp(c: &Call) -> Result<Value, FuncError> {
    let a = parse_timestamp(c.str(0)).map_err(|e| c.err(0, e))?;
    let b = parse_timestamp(c.str(1)).map_err(|e| c.err(1, e))?;
    Ok(Value::from(match a.cmp(&b) {
        std::cmp::Ordering::Less => -1,
        std::cmp::Ordering::Equal => 0,
        std::cmp::Ordering::Greater => 1,
    }))
}

/// cty's `splitDateFormat`: a quoted literal (`''` inside it is a quote), a run of one
/// repeated letter (a verb), or a run of other characters.
fn date_format_tokens(spec: &str) -> Vec<&str> {
    let b = spec.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        let start = i;
        if b[i] == b'\'' {
            if b.get(i + 1) == Some(&b'\'') {
                i += 2;
            } else {
                i += 1;
                loop {
                    match b.get(i) {
                        None => break,
                        Some(b'\'') if b.get(i + 1) == Some(&b'\'') => i += 2,
                        Some(b'\'') => {
                            i += 1;
                            break;
                        }
                        Some(_) => i += 1,
                    }
                }
            }
        } else if b[i].is_ascii_alphabetic() {
            while i < b.len() && b[i] == b[start] {
                i += 1;
            }
        } else {
            i += 1;
            while i < b.len() && b[i] != b'\'' && !b[i].is_ascii_alphabetic() {
                i += 1;
            }
        }
        out.push(&spec[start..i]);
    }
    out
}

const MONTHS: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];
const WEEKDAYS: [&str; 7] = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"];

pub fn formatdate(c: &Call) -> Result<Value, FuncError> {
    let t = parse_timestamp(c.str(1)).map_err(|e| c.err(1, e))?;
    let mut out = String::new();
    for tok in date_format_tokens(c.str(0)) {
        let verb_err = |why: &str| c.err(0, format!("invalid date format verb {tok:?}: {why}"));
        let first = tok.as_bytes()[0];
        if first == b'\'' {
            if tok.len() == 1 || !tok.ends_with('\'') {
                return Err(c.err(0, "unterminated literal '"));
            }
            if tok == "''" {
                out.push('\'');
            } else {
                out.push_str(&tok[1..tok.len() - 1].replace("''", "'"));
            }
            continue;
        }
        if !first.is_ascii_alphabetic() {
            out.push_str(tok);
            continue;
        }
        let n = tok.len();
        let num = |v: u32, out: &mut String, what: &str| -> Result<(), FuncError> {
            match n {
                1 => out.push_str(&v.to_string()),
                2 => out.push_str(&format!("{v:02}")),
                _ => return Err(verb_err(what)),
            }
            Ok(())
        };
        match first {
            b'Y' => match n {
                2 => out.push_str(&format!("{:02}", t.year().rem_euclid(100))),
                4 => out.push_str(&format!("{:04}", t.year())),
                _ => return Err(verb_err("year must either be \"YY\" or \"YYYY\"")),
            },
            b'M' => match n {
                1 | 2 => num(t.month(), &mut out, "")?,
                3 => out.push_str(&MONTHS[t.month0() as usize][..3]),
                4 => out.push_str(MONTHS[t.month0() as usize]),
                _ => return Err(verb_err("month must be \"M\", \"MM\", \"MMM\", or \"MMMM\"")),
            },
            b'D' => num(t.day(), &mut out, "day of month must either be \"D\" or \"DD\"")?,
            b'E' => {
                let day = WEEKDAYS[t.weekday().num_days_from_monday() as usize];
                match n {
                    3 => out.push_str(&day[..3]),
                    4 => out.push_str(day),
                    _ => return Err(verb_err("day of week must either be \"EEE\" or \"EEEE\"")),
                }
            }
            b'h' => num(t.hour(), &mut out, "24-hour must either be \"h\" or \"hh\"")?,
            b'H' => {
                let h = match t.hour() % 12 {
                    0 => 12,
                    h => h,
                };
                num(h, &mut out, "12-hour must either be \"H\" or \"HH\"")?
            }
            b'A' | b'a' => {
                if n != 2 {
                    let l = first as char;
                    return Err(verb_err(&format!("must be \"{l}{l}\"")));
                }
                let pm = t.hour() >= 12;
                out.push_str(match (first == b'A', pm) {
                    (true, false) => "AM",
                    (true, true) => "PM",
                    (false, false) => "am",
                    (false, true) => "pm",
                });
            }
            b'm' => num(t.minute(), &mut out, "minute must either be \"m\" or \"mm\"")?,
            b's' => num(t.second(), &mut out, "second must either be \"s\" or \"ss\"")?,
            b'Z' => match n {
                1 => out.push_str(&zone(&t, true, true)),
                3 => match zone(&t, false, false).as_str() {
                    "+0000" => out.push_str("UTC"),
                    z => out.push_str(z),
                },
                4 => out.push_str(&zone(&t, false, false)),
                5 => out.push_str(&zone(&t, false, true)),
                _ => return Err(verb_err("timezone must be Z, ZZZZ, or ZZZZZ")),
            },
            _ => return Err(c.err(0, format!("invalid date format verb {tok:?}"))),
        }
    }
    Ok(Value::string(out))
}

#[cfg(test)]
mod tests {
    use super::super::testutil::*;
    use super::super::{call, Clock, FuncContext};
    use crate::lang::value::Value;

    fn at(clock: Clock, name: &str) -> Value {
        let ctx = FuncContext { base_dir: ".".into(), render_template: &no_template, clock };
        match call(name, vec![], &ctx) {
            Ok(v) => v,
            Err(e) => panic!("{name} failed: {}", e.message),
        }
    }

    /// Terraform's rendering: `time.RFC3339` in UTC, so `Z` and whole seconds.
    fn assert_rfc3339_utc(v: &Value) {
        let text = v.as_str().unwrap_or_else(|| panic!("not a string: {v:?}"));
        let parsed = super::parse_timestamp(text).unwrap_or_else(|e| panic!("{text}: {e}"));
        assert_eq!(parsed.offset().local_minus_utc(), 0, "{text}");
        assert!(text.len() == 20 && text.ends_with('Z') && !text.contains('.'), "{text}");
    }

    #[test]
    fn plantimestamp_is_the_plans_time_rendered_as_terraform_does() {
        let plan_time = chrono::DateTime::from_timestamp(1_796_222_609, 0).expect("in range");
        let clock = Clock::planning(plan_time);
        let v = at(clock, "plantimestamp");
        assert_eq!(v, Value::string("2026-12-02T14:43:29Z"));
        assert_eq!(at(clock, "plantimestamp"), v, "the same value every time in one plan");
        // The apply of that plan still says when the plan was made.
        assert_eq!(at(Clock::applying(Some(plan_time)), "plantimestamp"), v);
        // Now, in whole seconds: what a plan file keeps is what was shown.
        let now = Clock::now();
        assert_rfc3339_utc(&at(Clock::planning(now), "plantimestamp"));
        assert_eq!(now.timestamp_subsec_nanos(), 0);
    }

    #[test]
    fn plantimestamp_is_unknown_without_a_plan() {
        // `validate`, as Terraform since hashicorp/terraform#35902.
        assert!(at(Clock::default(), "plantimestamp").is_unknown());
    }

    #[test]
    fn timestamp_is_unknown_until_apply_then_the_wall_clock() {
        assert!(at(Clock::default(), "timestamp").is_unknown());
        assert!(at(Clock::planning(Clock::now()), "timestamp").is_unknown(), "known after apply");
        let before = Clock::now();
        let v = at(Clock::applying(Some(before)), "timestamp");
        assert_rfc3339_utc(&v);
        let t = super::parse_timestamp(v.as_str().unwrap_or_default()).expect("parses");
        assert!(t >= before && t <= Clock::now() + chrono::TimeDelta::seconds(1), "{t} is now");
    }

    #[test]
    fn the_clocks_take_no_arguments() {
        for name in ["plantimestamp", "timestamp"] {
            let e = run(name, vec![s("x")]).expect_err("too many");
            assert!(e.message.contains("expects only 0 argument(s)"), "{}", e.message);
        }
    }

    fn fmt(spec: &str, ts: &str) -> String {
        ok("formatdate", vec![s(spec), s(ts)]).as_str().unwrap().to_string()
    }

    #[test]
    fn formatdate_matches_terraforms_documented_examples() {
        // https://developer.hashicorp.com/terraform/language/functions/formatdate#examples
        for (spec, ts, want) in [
            ("DD MMM YYYY hh:mm ZZZ", "2018-01-02T23:12:01Z", "02 Jan 2018 23:12 UTC"),
            ("EEEE, DD-MMM-YY hh:mm:ss ZZZ", "2018-01-02T23:12:01Z", "Tuesday, 02-Jan-18 23:12:01 UTC"),
            ("EEE, DD MMM YYYY hh:mm:ss ZZZ", "2018-01-02T23:12:01-08:00", "Tue, 02 Jan 2018 23:12:01 -0800"),
            ("MMM DD, YYYY", "2018-01-02T23:12:01Z", "Jan 02, 2018"),
            ("HH:mmaa", "2018-01-02T23:12:01Z", "11:12pm"),
            ("h'h'mm", "2018-01-02T23:12:01-08:00", "23h12"),
            ("H 'o''clock'", "2018-01-02T23:12:01-08:00", "11 o'clock"),
        ] {
            assert_eq!(fmt(spec, ts), want, "{spec}");
        }
    }

    #[test]
    fn formatdate_covers_every_verb() {
        let ts = "2024-02-29T04:05:06.789+05:30";
        assert_eq!(fmt("YYYY YY MMMM MMM MM M DD D", ts), "2024 24 February Feb 02 2 29 29");
        assert_eq!(fmt("EEEE EEE hh h HH H AA aa mm m ss s", ts), "Thursday Thu 04 4 04 4 AM am 05 5 06 6");
        assert_eq!(fmt("ZZZZZ|ZZZZ|ZZZ|Z", ts), "+05:30|+0530|+0530|+05:30");
        assert_eq!(fmt("ZZZZZ|ZZZZ|ZZZ|Z", "2024-01-01T00:00:00Z"), "+00:00|+0000|UTC|Z");
        // Midnight and noon on the 12-hour clock.
        assert_eq!(fmt("H aa", "2024-01-01T00:30:00Z"), "12 am");
        assert_eq!(fmt("H AA", "2024-01-01T12:30:00Z"), "12 PM");
        assert_eq!(fmt("''", "2024-01-01T00:00:00Z"), "'");
        assert_eq!(fmt("YYYY-MM-DD'T'hh:mm:ssZ", "2024-01-01T00:00:00Z"), "2024-01-01T00:00:00Z");
    }

    #[test]
    fn formatdate_refuses_bad_verbs_and_literals() {
        for (spec, msg) in [
            ("YYY", "invalid date format verb \"YYY\": year must either be \"YY\" or \"YYYY\""),
            ("MMMMM", "invalid date format verb \"MMMMM\": month must be"),
            ("DDD", "day of month must either be \"D\" or \"DD\""),
            ("EE", "day of week must either be \"EEE\" or \"EEEE\""),
            ("A", "invalid date format verb \"A\": must be \"AA\""),
            ("ZZ", "timezone must be Z, ZZZZ, or ZZZZZ"),
            ("x", "invalid date format verb \"x\""),
            ("'open", "unterminated literal '"),
        ] {
            let e = err("formatdate", vec![s(spec), s("2024-01-01T00:00:00Z")]);
            assert!(e.message.contains(msg), "{spec}: {}", e.message);
            assert_eq!(e.arg, Some(0));
        }
    }

    #[test]
    fn timestamps_are_parsed_and_refused_as_go_does() {
        for (ts, msg) in [
            ("2017-11-22", "not a valid RFC3339 timestamp: missing required time introducer 'T'"),
            ("2017-11-22 00:00:00Z", "missing required time introducer 'T'"),
            ("17-11-22T00:00:00Z", "cannot use \"17-11-22T00:00:00Z\" as year"),
            ("2017-13-01T00:00:00Z", "month out of range"),
            ("2023-02-29T00:00:00Z", "day out of range"),
            ("2017-11-22T24:00:00Z", "hour out of range"),
            ("2017-11-22T00:60:00Z", "minute out of range"),
            ("2017-11-22T00:00:60Z", "second out of range"),
            ("2017-11-22T00:00:00", "end of string before UTC offset"),
            ("2017-11-22T00:00:00+0100", "cannot use \"+0100\" as UTC offset"),
            ("2017-11-22T00:00:00Zjunk", "extra text: \"junk\""),
            ("2017-11-22T00:00", "end of string where \":\" is expected"),
            ("2017/11/22T00:00:00Z", "found \"/11/22T00:00:00Z\" where \"-\" is expected"),
            ("", "end of string before year"),
        ] {
            let e = err("timeadd", vec![s(ts), s("1h")]);
            assert!(e.message.contains(msg), "{ts}: {}", e.message);
            assert!(e.message.contains("not a valid RFC3339 timestamp"), "{ts}: {}", e.message);
            assert_eq!(e.arg, Some(0), "{ts}");
        }
        // A leap day in a leap year is a date.
        assert_eq!(ok("timeadd", vec![s("2024-02-29T00:00:00Z"), s("24h")]), s("2024-03-01T00:00:00Z"));
    }

    #[test]
    fn timeadd_follows_terraform_and_go() {
        // https://developer.hashicorp.com/terraform/language/functions/timeadd#examples
        assert_eq!(ok("timeadd", vec![s("2017-11-22T00:00:00Z"), s("10m")]), s("2017-11-22T00:10:00Z"));
        for (ts, d, want) in [
            ("2017-11-22T00:00:00Z", "1h30m", "2017-11-22T01:30:00Z"),
            ("2017-11-22T00:00:00Z", "-10m", "2017-11-21T23:50:00Z"),
            ("2017-11-22T00:00:00Z", "720h", "2017-12-22T00:00:00Z"),
            ("2017-11-22T00:00:00Z", "1.5h", "2017-11-22T01:30:00Z"),
            ("2017-11-22T00:00:00Z", "+5s", "2017-11-22T00:00:05Z"),
            ("2017-11-22T00:00:00Z", "0", "2017-11-22T00:00:00Z"),
            ("2017-11-22T00:00:00Z", "1500ms", "2017-11-22T00:00:01Z"),
            ("2017-11-22T00:00:00Z", "2000000us", "2017-11-22T00:00:02Z"),
            ("2017-11-22T00:00:00Z", "3000000µs", "2017-11-22T00:00:03Z"),
            ("2017-11-22T00:00:00Z", "4000000000ns", "2017-11-22T00:00:04Z"),
            // The offset is kept; fractional seconds are dropped, as Go's RFC3339 layout does.
            ("2017-11-22T00:00:00+05:00", "1h", "2017-11-22T01:00:00+05:00"),
            ("2017-11-22T00:00:00.9Z", "0s", "2017-11-22T00:00:00Z"),
            ("2017-11-22T00:00:00+00:00", "0s", "2017-11-22T00:00:00Z"),
            ("2024-02-28T12:00:00Z", "24h", "2024-02-29T12:00:00Z"),
            ("2023-02-28T12:00:00Z", "24h", "2023-03-01T12:00:00Z"),
        ] {
            assert_eq!(ok("timeadd", vec![s(ts), s(d)]), s(want), "{ts} + {d}");
        }
        for (d, msg) in [
            ("1d", "time: unknown unit \"d\" in duration \"1d\""),
            ("10", "time: missing unit in duration \"10\""),
            ("", "time: invalid duration \"\""),
            ("h", "time: invalid duration \"h\""),
            ("-", "time: invalid duration \"-\""),
            ("99999999999h", "time: invalid duration \"99999999999h\""),
        ] {
            let e = err("timeadd", vec![s("2017-11-22T00:00:00Z"), s(d)]);
            assert!(e.message.contains(msg), "{d}: {}", e.message);
            assert_eq!(e.arg, Some(1));
        }
    }

    #[test]
    fn timecmp_compares_instants_across_offsets() {
        // https://developer.hashicorp.com/terraform/language/functions/timecmp#examples
        for (a, b, want) in [
            ("2017-11-22T00:00:00Z", "2017-11-22T00:00:00Z", 0.0),
            ("2017-11-22T00:00:00Z", "2017-11-22T01:00:00Z", -1.0),
            ("2017-11-22T01:00:00Z", "2017-11-22T00:00:00Z", 1.0),
            ("2017-11-22T01:00:00Z", "2017-11-22T00:00:00-01:00", 0.0),
            ("2017-11-22T00:00:00.5Z", "2017-11-22T00:00:00Z", 1.0),
        ] {
            assert_eq!(ok("timecmp", vec![s(a), s(b)]), n(want), "{a} vs {b}");
        }
        let e = err("timecmp", vec![s("2017-11-22T00:00:00Z"), s("tomorrow")]);
        assert_eq!(e.arg, Some(1));
        assert!(e.message.starts_with("Invalid value for \"timestamp_b\" parameter: not a valid RFC3339 timestamp"));
    }
}
