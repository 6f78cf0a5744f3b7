//! Black-box tests of the `procman` binary: real processes, real pipes, real signals. Every
//! wait is bounded and every process a test starts is found by a marker and killed by pid.

// Each test module uses part of the harness.
mod config_file;
mod containment;
mod control;
mod export;
mod guarantees;
mod live;
mod supervision;
#[allow(dead_code)]
mod util;

mod app_env;
mod dotforeman;
mod ergonomics;
mod formation_cmd;
mod lifecycle;
mod ports;
mod procfile_errors;
mod run_cmd;
mod start_output;
#[allow(dead_code)]
mod support;
mod terminals;
