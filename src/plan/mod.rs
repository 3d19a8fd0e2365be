//! Planning: refresh, evaluate, diff; the [`Plan`] model.

pub mod model;

pub use model::*;
