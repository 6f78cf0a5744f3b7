//! The harness keeps its own promises: a procman that does not finish fails the test, with
//! what it wrote, instead of hanging it, and nothing it started is left.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::time::Duration;

use super::{Dir, alive, read_pid_file};

#[test]
fn a_procman_that_does_not_finish_is_killed_and_fails_the_test_with_its_output() {
    let dir = Dir::new();
    // `procman run` becomes the shell, which writes `up` before it records its pid (whole, by
    // a rename).
    let script = "echo up; echo $$ > sh.tmp; mv sh.tmp sh.pid; exec sleep 300";
    let command = dir.command(&["run", "sh", "-c", script]);
    let limit = Duration::from_secs(2);
    let outcome = catch_unwind(AssertUnwindSafe(|| dir.run_within(command, limit)));
    let Err(panic) = outcome else { panic!("a procman running sleep 300 finished in {limit:?}") };
    let message = panic.downcast_ref::<String>().cloned().unwrap_or_default();
    assert!(
        message.starts_with("procman did not finish within 2s and was killed\nstdout:\n"),
        "{message}"
    );
    // On a loaded machine the shell may not have started within the limit; if it did, what it
    // wrote is in the message and it is gone.
    let pid_file = dir.path().join("sh.pid");
    if pid_file.exists() {
        let sh = read_pid_file(&pid_file);
        assert!(message.contains("stdout:\nup\n"), "{message}");
        assert!(!alive(sh), "the program {sh} outlived the failed test");
    }
}
