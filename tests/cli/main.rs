//! Black-box tests of the `procman` binary: real processes, real pipes, real signals. Every
//! wait is bounded and waits for an event; every process a test starts is found by a marker
//! and killed by pid (see `harness`).

mod harness;

mod acceptance_11;
mod acceptance_12;
mod acceptance_13;
mod acceptance_14;
mod app_env;
mod config_file;
// Linux-only mechanisms (cgroups, PID namespaces, the subreaper and its guard), proven by
// counting processes through /proc.
#[cfg(target_os = "linux")]
mod containment;
mod control;
mod dotforeman;
mod ergonomics;
mod exit_codes;
mod export;
mod formation_cmd;
#[cfg(target_os = "linux")]
mod guarantees;
#[cfg(target_os = "linux")]
mod guard;
mod hostile;
mod house;
mod lifecycle;
mod logs;
mod logs_gone;
mod parity;
mod ports;
mod procfile_errors;
mod readiness;
mod reload;
mod run_cmd;
mod start_output;
mod supervision;
mod terminals;
#[cfg(target_os = "linux")]
mod terminals_attach;
#[cfg(target_os = "linux")]
mod terminals_hostile;
#[cfg(target_os = "linux")]
mod terminals_jobs;
#[cfg(target_os = "linux")]
mod terminals_watch;
mod watch;
mod watch_hostile;
