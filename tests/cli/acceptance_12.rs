//! Issue 12, acceptance: behaviours that worked at the audit but that no test held.

use crate::harness::{Dir, assert_code};

/// `run NAME` runs a type as `start` runs its first instance: the config file's `umask` too
/// (docs/foreman.md says so), and a type only the config file defines gets the PORT of its
/// slot, after the Procfile's entries (docs/config.md).
#[test]
fn run_name_applies_the_config_umask_and_gives_config_only_types_their_slot() {
    let dir = Dir::new();
    dir.write("Procfile", "web: echo web\nworker: echo worker\n");
    dir.write(
        "procman.json",
        r#"{"processes": {
            "worker": {"command": "sh -c umask", "umask": "027"},
            "clock": {"command": "echo clock $PORT $PS"}
        }}"#,
    );
    let finished = dir.run(&["run", "worker"]);
    assert_code(&finished, 0);
    assert_eq!(finished.stdout(), "0027\n");
    let finished = dir.run(&["run", "clock"]);
    assert_code(&finished, 0);
    assert_eq!(finished.stdout(), "clock 5200 clock.1\n");
    let finished = dir.run(&["run", "-p", "6000", "clock"]);
    assert_code(&finished, 0);
    assert_eq!(finished.stdout(), "clock 6200 clock.1\n");
}
