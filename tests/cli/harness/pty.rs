//! `procman` with its standard output on a pseudo-terminal, for color detection.

use std::fs::File;
use std::io::Read;
use std::process::{ExitStatus, Stdio};
use std::thread;

use nix::pty::{OpenptyResult, openpty};

use super::app::Dir;

/// Runs `procman args` with standard output on a pseudo-terminal (and standard error piped);
/// returns everything written to the terminal and the exit status. `env` is added to the
/// environment; `TERM` is set to `xterm` unless `env` sets it.
pub(crate) fn run_on_pty(dir: &Dir, args: &[&str], env: &[(&str, &str)]) -> (Vec<u8>, ExitStatus) {
    let OpenptyResult { master, slave } = openpty(None, None).expect("openpty");
    let mut command = dir.command(args);
    command.env("TERM", "xterm");
    for (key, value) in env {
        command.env(key, value);
    }
    command.stdout(Stdio::from(slave)).stderr(Stdio::null());
    let mut procman = dir.start(command);
    // The child holds the only copy of the slave now (the command, dropped with it, held the
    // other): reading the master ends (EIO) when procman and its children are gone.
    let reader = thread::spawn(move || {
        let mut file = File::from(master);
        let mut out = Vec::new();
        let mut buf = [0u8; 4096];
        loop {
            match file.read(&mut buf) {
                Ok(0) | Err(_) => break,
                Ok(n) => out.extend_from_slice(&buf[..n]),
            }
        }
        out
    });
    let status = procman.wait();
    procman.end();
    assert!(procman.marked().is_empty(), "left running after procman on a terminal");
    let out = reader.join().unwrap_or_default();
    (out, status)
}
