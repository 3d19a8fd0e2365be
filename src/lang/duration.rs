//! Go's `time.ParseDuration` format, which Terraform uses for `timeouts` blocks and the
//! google provider for `request_timeout`: decimal numbers with units (`ns`, `us`, `µs`, `ms`,
//! `s`, `m`, `h`), e.g. `"1m30s"`, `"1.5h"`. One parser for every caller, each of which adds
//! its own context to the error.

use std::time::Duration;

/// Parses a Go duration ("1h30m", "90s", "20m", "1.5h").
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    let s = s.trim();
    if s == "0" {
        return Ok(Duration::ZERO);
    }
    if s.is_empty() {
        return Err("the duration is empty".into());
    }
    if s.starts_with('-') {
        return Err("a duration can't be negative".into());
    }
    let mut rest = s.strip_prefix('+').unwrap_or(s);
    let mut total = 0f64;
    while !rest.is_empty() {
        let num_len = rest.find(|c: char| !(c.is_ascii_digit() || c == '.')).unwrap_or(rest.len());
        let (num, after) = rest.split_at(num_len);
        let value: f64 = num.parse().map_err(|_| format!("expected a number before the unit in {s:?}"))?;
        let unit_len = after.find(|c: char| c.is_ascii_digit() || c == '.').unwrap_or(after.len());
        let (unit, after) = after.split_at(unit_len);
        let seconds = match unit {
            "ns" => 1e-9,
            "us" | "µs" | "μs" => 1e-6,
            "ms" => 1e-3,
            "s" => 1.0,
            "m" => 60.0,
            "h" => 3600.0,
            "" => return Err(format!("missing unit in {s:?}")),
            other => return Err(format!("unknown unit \"{other}\" in {s:?}")),
        };
        total += value * seconds;
        rest = after;
    }
    Duration::try_from_secs_f64(total).map_err(|_| format!("{s:?} is out of range"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_durations() {
        assert_eq!(parse_duration("90s"), Ok(Duration::from_secs(90)));
        assert_eq!(parse_duration("1h30m"), Ok(Duration::from_secs(5400)));
        assert_eq!(parse_duration("1.5h"), Ok(Duration::from_secs(5400)));
        assert_eq!(parse_duration("250ms"), Ok(Duration::from_millis(250)));
        assert_eq!(parse_duration("0"), Ok(Duration::ZERO));
        for bad in ["", "20", "20 m", "-5m", "5d", "m"] {
            assert!(parse_duration(bad).is_err(), "{bad:?}");
        }
    }
}
