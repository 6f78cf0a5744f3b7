//! Black-box tests of the `procman` binary: real processes, real pipes, real signals. Every
//! wait is bounded and every process a test starts is found by a marker and killed by pid.

// Each test module uses part of the harness.
mod export;
mod guarantees;
#[allow(dead_code)]
mod util;
