//! Planning: refresh, evaluate, diff; the [`Plan`] model.

pub mod diff;
pub mod model;
pub mod propose;

pub use model::*;
