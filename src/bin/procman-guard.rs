//! `procman-guard`: the guard process of `procman start`, and nothing else.
//!
//! `procman start` forks; the original process, the pid the shell knows, executes this program
//! to become the guard: it forwards signals to the supervisor and, if the supervisor dies,
//! kills what the app left (docs/guarantees.md). It is a program of its own so that the guard
//! maps little: none of the command line, the Procfile parsers or the output code of procman.
//! Where it is missing (a lone copy of `procman`), the guard executes procman itself instead.

use std::process::ExitCode;

fn main() -> ExitCode {
    match supervise::guard::run_if_guard() {
        Some(code) => ExitCode::from(code),
        None => {
            eprintln!(
                "procman-guard: this is the guard process of `procman start`, which runs it; it \
                 does nothing on its own"
            );
            ExitCode::from(2)
        }
    }
}
