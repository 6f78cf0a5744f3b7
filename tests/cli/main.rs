//! Black-box tests of the `procman` binary: real processes, real pipes, real signals. Every
//! wait is bounded and every process a test starts is found by a marker and killed by pid.

// Each test module uses part of the harness.
mod config_file;
// Linux-only mechanisms (cgroups, PID namespaces, the subreaper and its guard), proven by
// counting processes through /proc.
#[cfg(target_os = "linux")]
mod containment;
mod control;
mod export;
#[cfg(target_os = "linux")]
mod guarantees;
#[cfg(target_os = "linux")]
mod guard;
mod hostile;
mod live;
mod supervision;
#[allow(dead_code)]
mod util;

mod app_env;
mod dotforeman;
mod ergonomics;
mod exit_codes;
mod formation_cmd;
mod lifecycle;
mod logs;
mod parity;
mod ports;
mod procfile_errors;
mod run_cmd;
mod start_output;
#[allow(dead_code)]
mod support;
mod terminals;
mod watch;
