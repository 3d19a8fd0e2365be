//! Planning: refresh, evaluate, diff; the [`Plan`] model.

pub mod env;
pub mod file;
pub mod genconfig;
pub mod instance;
pub mod model;
pub mod planner;
pub mod review;

pub use model::*;
