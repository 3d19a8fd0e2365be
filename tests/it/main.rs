//! Cairn's one integration test binary. Modules by concern; `support` has the shared pieces.

mod support;

mod certificate_module;
mod ci_markdown;
mod corpus;
mod crash;
mod deletion_policy;
mod drift;
mod emulator_compute;
mod emulator_logging;
mod emulator_monitoring;
mod emulator_run;
mod emulator_secretmanager;
mod emulator_sqladmin;
mod emulator_vpcaccess;
mod engine;
mod gcs;
mod google_cli;
mod google_lb;
mod google_lb_front;
mod google_monitoring;
mod google_run;
mod google_secrets;
mod google_sql_vpc;
mod ignored;
mod lifecycle;
mod locking;
mod malformed;
mod metric_filters;
mod planfile;
mod secrets;
mod staging;
mod tidy;
mod time_functions;
