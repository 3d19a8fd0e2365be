//! Planning: refresh, evaluate, diff; the [`Plan`] model.

pub mod diff;
pub mod env;
pub mod file;
pub mod model;
pub mod planner;
pub mod propose;
pub mod review;

pub use model::*;
