//! The terminal features tried as a hostile or unlucky user would: signal storms at the worst
//! moment, an attached client that stops reading or floods input, connections that send half
//! a request and then nothing.

use std::time::Duration;

use crate::harness::*;

/// Ctrl-Z and `fg` pressed over and over (with SIGWINCH between) while 200 instances start:
/// the last signal was SIGCONT, so the whole app runs when the storm is over, and a shutdown
/// under a second storm still ends the run with nothing left.
#[test]
fn a_storm_of_sigtstp_and_sigcont_ends_as_its_last_signal_says() {
    let dir = Dir::with_procfile("web: exec sleep 300\n");
    let mut run = dir.spawn(&["start", "--no-timestamp", "--tty=always", "-m", "web=200"]);
    run.started("web.1");
    storm(&run, 100);
    run.signal(Signal::SIGCONT);
    run.started("web.200");
    let mut everything: Vec<u32> =
        started_pids(&run.transcript()).into_iter().map(|(_, pid)| pid).collect();
    assert_eq!(everything.len(), 200, "{}", run.transcript());
    let supervisor = parent_of(everything[0]).expect("the supervisor");
    everything.extend([supervisor, run.pid()]);
    // Before: a SIGTSTP taken after the SIGCONT that followed it left the app stopped.
    wait_states(&everything, false);

    // A storm during the shutdown: it ends anyway, and nothing is left.
    run.signal(Signal::SIGTERM);
    storm(&run, 100);
    run.signal(Signal::SIGCONT);
    assert_eq!(run.wait_exit().code(), Some(143), "{}", run.transcript());
    assert!(wait_gone(&everything, WAIT).is_empty(), "left: {}", describe(&everything));
}

/// `rounds` of SIGTSTP, SIGWINCH and SIGCONT to the pid the shell knows, a moment apart
/// (spacing, not a wait: the storm needs no event).
fn storm(run: &Running, rounds: u32) {
    for round in 0..rounds {
        run.signal(Signal::SIGTSTP);
        run.signal(Signal::SIGWINCH);
        std::thread::sleep(Duration::from_micros(u64::from(round % 4) * 500));
        run.signal(Signal::SIGCONT);
    }
}
