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
