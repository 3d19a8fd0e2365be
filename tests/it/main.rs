//! Cairn's one integration test binary. Modules by concern; `support` has the shared pieces.

mod support;

mod crash;
mod drift;
mod emulator_compute;
mod emulator_logging;
mod emulator_secretmanager;
mod engine;
mod lifecycle;
mod locking;
mod malformed;
mod planfile;
mod secrets;
