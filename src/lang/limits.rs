//! Bounds on what a stack's own values may make Cairn build: every number that sizes an
//! allocation, a loop or a recursion is checked against one of these before it is used, so that
//! a typo (`count = 9e15`) is a located error instead of an allocation abort or a hang.
//!
//! The bounds sit far above any real configuration and far below what exhausts memory.

/// Instances one `count` or `for_each` may expand to.
pub const MAX_INSTANCES: usize = 100_000;

/// Elements a function may build into one list (`chunklist`, `setproduct`, `formatlist`, …).
pub const MAX_COLLECTION_LEN: usize = 1_000_000;

/// Characters a function may build into one string (`indent`, format padding, `join`, …).
pub const MAX_STRING_LEN: usize = 16 * 1024 * 1024;

/// A `format` verb's width or precision (Rust's formatter refuses more than 65535).
pub const MAX_FORMAT_WIDTH: usize = 10_000;

/// Templates rendered inside templates (`templatefile` calling `templatefile`).
pub const MAX_TEMPLATE_DEPTH: usize = 16;

/// The largest magnitude at which every whole f64 is exact (2^53): beyond it a "whole number"
/// is already rounded, so converting it to an integer would silently use a different value.
pub const MAX_EXACT_INTEGER: f64 = 9_007_199_254_740_992.0;

/// `n` as an i64 if it is a whole number that f64 holds exactly; None for fractions, NaN,
/// infinities and magnitudes past 2^53, where an `as` cast would round, saturate or wrap.
pub fn exact_i64(n: f64) -> Option<i64> {
    (n.is_finite() && n.fract() == 0.0 && n.abs() <= MAX_EXACT_INTEGER).then_some(n as i64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exact_i64_refuses_what_a_cast_would_change() {
        assert_eq!(exact_i64(3.0), Some(3));
        assert_eq!(exact_i64(-3.0), Some(-3));
        assert_eq!(exact_i64(MAX_EXACT_INTEGER), Some(9_007_199_254_740_992));
        assert_eq!(exact_i64(1e19), None);
        assert_eq!(exact_i64(-1e19), None);
        assert_eq!(exact_i64(2.5), None);
        assert_eq!(exact_i64(f64::NAN), None);
        assert_eq!(exact_i64(f64::INFINITY), None);
    }
}
