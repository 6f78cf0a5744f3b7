//! procman's input parsers, as a library: the Procfile, env files, the formation, `.foreman`,
//! command lines, control requests and the diagnostics they report.
//!
//! The `procman` binary (`src/main.rs`) is the product; this library holds only its pure parsing
//! modules (no I/O beyond reading the named files, no processes, no terminal), so that the fuzz
//! targets in `fuzz/`, tests and benchmarks can reach them. It is not a stable API: everything here
//! may change with any release.

#![doc(hidden)]

/// The control socket's protocol (its parser is fuzzed; the socket itself is the binary's).
pub mod control {
    pub mod proto;
}
pub mod diagnostic;
pub mod dotforeman;
pub mod envfile;
pub mod formation;
pub mod input;
pub mod procfile;
pub mod shell;
