//! Assertions on procman's output and exit, and the rule for tests that need a tool this
//! machine may lack.

use super::app::{Finished, Running};

/// Asserts the process exited with `code`, showing the output otherwise.
#[track_caller]
pub(crate) fn assert_code(finished: &Finished, code: i32) {
    assert_eq!(
        finished.code(),
        Some(code),
        "exit status {:?}\nstdout:\n{}\nstderr:\n{}",
        finished.status,
        finished.stdout(),
        finished.stderr()
    );
}

/// Asserts a running procman ended with `code`.
#[track_caller]
pub(crate) fn assert_exit(run: &mut Running, code: i32) {
    let status = run.wait_exit();
    assert_eq!(status.code(), Some(code), "status {status:?}; seen:\n{}", run.transcript());
}

/// Asserts that `lines` holds each of `expected` in this order (other lines may come between).
#[track_caller]
pub(crate) fn assert_in_order(lines: &[String], expected: &[&str]) {
    let mut at = 0;
    for want in expected {
        match lines[at..].iter().position(|l| l == want) {
            Some(found) => at += found + 1,
            None => panic!("{want:?} missing (or out of order) in:\n{}", lines.join("\n")),
        }
    }
}

/// Whether `haystack` contains `needle`.
pub(crate) fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

/// Reports a test that cannot run on this machine (a tool is missing, or a privilege). CI
/// sets `PROCMAN_REQUIRE_VALIDATORS=1` (`.ci/run`), and there it fails instead of skipping.
pub(crate) fn skip(why: &str) {
    assert!(
        std::env::var_os("PROCMAN_REQUIRE_VALIDATORS").is_none(),
        "required by PROCMAN_REQUIRE_VALIDATORS, but {why}"
    );
    println!("SKIPPED: {why}");
}

#[cfg(target_os = "linux")]
/// Whether this process runs as root; says why not (see [`skip`]) when it does not.
pub(crate) fn root_or_skip(needed_for: &str) -> bool {
    let root = nix::unistd::geteuid().is_root();
    if !root {
        skip(&format!("{needed_for} needs root"));
    }
    root
}

/// Whether a PID namespace can be created here (`unshare`, as root or with user namespaces);
/// says why not when it cannot.
#[cfg(target_os = "linux")]
pub(crate) fn unshare_or_skip() -> bool {
    let works = std::process::Command::new("unshare")
        .args(["--pid", "--fork", "--mount-proc", "true"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !works {
        skip("cannot create a PID namespace here (needs root or user namespaces)");
    }
    works
}
